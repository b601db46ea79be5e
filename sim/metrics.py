"""Exact and sampled metrics of a checkpoint.

Exact answer distribution (``answer_probs``, jax.numpy). With pi = softmax(z / T) and the bank,

    probs[i, a] = (1 - eps) * sum_s pi[i, s] * 1{answers[i, s] = a}  +  eps * 1{a != 0} / (m - 1)

(the second term is sum_s pi[i, s] * eps / (m - 1), since sum_s pi = 1). Hence
probs[i, 0] = (1 - eps) * (policy mass on strategies that solve i): noise never produces a correct
answer, and a correct strategy fails with probability eps.

Per-problem metrics (``exact_metrics``, NumPy float64, from probs [P, m]); every one is a probability
unless stated:
- ``pass@1`` = p0 = probs[:, 0];
- ``pass@k`` = 1 - (1 - p0)^k (``theory.passk.pass_at_k_from_p``; iid samples);
- ``maj@k`` = P(answer 0 wins a plurality vote of k iid samples), random tie-break
  (``theory.voting.plurality_accuracy``, exact);
- ``sc_gain@k`` = maj@k - pass@1 (self-consistency gain, Wang et al. 2023);
- ``answer_entropy`` = -sum_a p_a log p_a (nats);
- ``wrong_collision`` = sum_{a != 0} p_a^2 / (1 - p0)^2: the probability that two independent
  *wrong* answers coincide (1 = all errors on one answer, 1/(m-1) = errors uniformly scattered);
  NaN where p0 = 1 (no wrong answers);
- ``wrong_beats_correct`` = 1{max_{a != 0} p_a > p0} (a wrong answer wins the vote as k -> inf).

Sampled versions (``sampled_metrics``, from answer counts [P, m] of n samples per problem):
- ``pass@k``: the unbiased estimator 1 - C(n - c, k)/C(n, k) (``theory.passk.pass_at_k``);
- ``maj@k``: the exact unbiased estimator over all k-subsets (``theory.voting.maj_at_k``);
- ``sc_gain@k`` = maj@k - c/n; ``answer_entropy``: plug-in (biased low for small n);
- ``wrong_collision``: sum_{a != 0} c_a (c_a - 1) / (W (W - 1)), W = n - c wrong samples, unbiased
  for the exact one given W >= 2 (NaN otherwise);
- ``wrong_beats_correct``: 1{max wrong count > c}.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from sim.bank import Bank
from sim.policy import strategy_probs
from theory.passk import pass_at_k, pass_at_k_from_p
from theory.voting import maj_at_k, plurality_accuracy

__all__ = ["answer_probs", "exact_metrics", "sampled_metrics", "summarize", "DEFAULT_KS", "DEFAULT_MAJ_KS"]

DEFAULT_KS = (1, 4, 16)
DEFAULT_MAJ_KS = (5, 32)


def answer_probs(z: jax.Array, bank: Bank, temperature) -> jax.Array:
    """Exact answer distribution [P, m] of logits z [P, S] at temperature T (equation above)."""
    pi = strategy_probs(z, temperature)  # [P, S]
    m = bank.n_answers
    onehot = jax.nn.one_hot(bank.answers, m, dtype=pi.dtype)  # [P, S, m]
    consistent = jnp.einsum("ps,psa->pa", pi, onehot)
    noise = jnp.where(jnp.arange(m) == 0, 0.0, 1.0 / (m - 1)).astype(pi.dtype)
    return (1.0 - bank.epsilon) * consistent + bank.epsilon * noise


def _as_probs(probs) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise ValueError(f"probs: must have shape [problems, answers >= 2], got {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < -1e-6):
        raise ValueError("probs: entries must be finite and >= 0")
    p = np.clip(p, 0.0, None)
    s = p.sum(axis=1, keepdims=True)
    if np.any(np.abs(s - 1.0) > 1e-4):
        raise ValueError(f"probs: rows must sum to 1, got a row summing to {s[np.argmax(np.abs(s - 1))][0]}")
    return p / s  # remove float32 rounding before the exact float64 voting code


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def exact_metrics(probs, *, ks: Sequence[int] = DEFAULT_KS, maj_ks: Sequence[int] = DEFAULT_MAJ_KS, tie: str = "random") -> dict:
    """Exact per-problem metrics (float64 arrays [P]) from answer distributions [P, m]; see module doc."""
    p = _as_probs(probs)
    p0 = p[:, 0]
    out = {"pass@1": p0}
    for k in ks:
        out[f"pass@{k}"] = np.asarray(pass_at_k_from_p(p0, k), dtype=np.float64)
    for k in maj_ks:
        maj = np.asarray(plurality_accuracy(p, k, tie=tie), dtype=np.float64)
        out[f"maj@{k}"] = maj
        out[f"sc_gain@{k}"] = maj - p0
    out["answer_entropy"] = _entropy(p)
    wrong = 1.0 - p0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["wrong_collision"] = np.where(wrong > 1e-12, np.sum(p[:, 1:] ** 2, axis=1) / wrong**2, np.nan)
    out["wrong_beats_correct"] = (p[:, 1:].max(axis=1) > p0).astype(np.float64)
    return out


def sampled_metrics(counts, *, ks: Sequence[int] = DEFAULT_KS, maj_ks: Sequence[int] = DEFAULT_MAJ_KS, tie: str = "random") -> dict:
    """Per-problem estimates (float64 arrays [P]) from answer counts [P, m] of n samples each."""
    c = np.asarray(counts)
    if c.ndim != 2 or c.shape[1] < 2 or c.dtype.kind not in "iu" or np.any(c < 0):
        raise ValueError(f"counts: must be non-negative integer counts of shape [problems, answers >= 2], got {c.dtype} {c.shape}")
    c = c.astype(np.int64)
    n = c.sum(axis=1)
    if np.any(n != n[0]) or n[0] < 1:
        raise ValueError("counts: every problem must have the same number n >= 1 of samples")
    n0 = int(n[0])
    c0 = c[:, 0]
    p1 = c0 / n0
    out = {"pass@1": p1}
    for k in ks:
        out[f"pass@{k}"] = np.asarray(pass_at_k(n0, c0, k), dtype=np.float64)
    for k in maj_ks:
        maj = np.asarray(maj_at_k(c, k, tie=tie), dtype=np.float64)
        out[f"maj@{k}"] = maj
        out[f"sc_gain@{k}"] = maj - p1
    out["answer_entropy"] = _entropy(c / n0)
    W = n0 - c0
    with np.errstate(divide="ignore", invalid="ignore"):
        out["wrong_collision"] = np.where(W >= 2, np.sum(c[:, 1:] * (c[:, 1:] - 1), axis=1) / (W * (W - 1.0)), np.nan)
    out["wrong_beats_correct"] = (c[:, 1:].max(axis=1) > c0).astype(np.float64)
    return out


def summarize(metrics: dict) -> dict:
    """Mean over problems of each per-problem metric (NaNs ignored), as Python floats."""
    return {name: float(np.nanmean(v)) if np.any(np.isfinite(v)) else float("nan") for name, v in metrics.items()}
