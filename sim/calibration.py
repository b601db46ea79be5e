"""Calibrating the strategy bandit to a measured base model: bank and policy from per-problem strategy counts.

A real base model's samples, classified by the strategy their written steps show (e.g. the lab task's
``real.lab.task.classify_completion``), give per problem i the counts c[i, s] of samples that followed
strategy s, and the answer each strategy reaches on i, ``answers[i, s]`` (0 = correct, as in ``sim.bank``).
This module turns them into the simulator's objects:

- the bank: ``Bank(answers, cluster = 0, strong = True, epsilon = 0)`` — every deviation the samples show
  is a strategy of its own, so no per-rollout noise is added;
- the base policy: shared logits u = 0 and per-problem logits
      v[i, s] = log((c[i, s] + a) / (n_i + a S_i))                        (additive smoothing, Lidstone 1920)
  over the strategies available on problem i (``available[i, s]``; S_i of them), and v = ``MASKED``
  (probability ~e^-30) where a strategy is not available: its probability and its gradient are then 0,
  so a strategy that does not exist on a problem is neither sampled nor taught there.

At temperature 1 the calibrated policy's strategy distribution on problem i is the smoothed empirical
one, so the exact answer distribution ``sim.metrics.answer_probs`` reproduces the measured one up to the
smoothing. Units: logits in nats; counts are sample counts.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from sim.bank import Bank
from sim.policy import Policy

__all__ = ["MASKED", "calibrated_bank", "calibrated_policy"]

MASKED = -30.0  # logit of a strategy that does not exist on a problem (probability ~1e-13 relative)


def calibrated_bank(answers, n_answers: int) -> Bank:
    """A bank with the given answers int [P, S] (0 = correct, values in [0, n_answers)), one cluster, no noise."""
    a = np.asarray(answers)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"answers: must be an integer array [P, S], got shape {a.shape} dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n_answers):
        raise ValueError(f"answers: values must lie in [0, n_answers = {n_answers}), got [{a.min()}, {a.max()}]")
    P, S = a.shape
    return Bank(answers=jnp.asarray(a, jnp.int32), cluster=jnp.zeros(P, jnp.int32), strong=jnp.ones((S, 1), bool),
                epsilon=jnp.asarray(0.0, jnp.result_type(float)), n_answers=int(n_answers))


def calibrated_policy(counts, available=None, smoothing: float = 0.5) -> Policy:
    """Base policy whose strategy distribution per problem is the smoothed empirical one (module docstring).

    counts: [P, S] sample counts per strategy; available: bool [P, S] (default: all); smoothing a > 0 (pseudo-count)."""
    c = np.asarray(counts, np.float64)
    if c.ndim != 2 or (c < 0).any():
        raise ValueError(f"counts: must be a non-negative array [P, S], got shape {c.shape}")
    av = np.ones_like(c, bool) if available is None else np.asarray(available, bool)
    if av.shape != c.shape:
        raise ValueError(f"available: must have the shape of counts {c.shape}, got {av.shape}")
    if not av.any(axis=1).all():
        raise ValueError(f"available: problem {int(np.flatnonzero(~av.any(axis=1))[0])} has no available strategy")
    if ((c > 0) & ~av).any():
        i, s = np.argwhere((c > 0) & ~av)[0]
        raise ValueError(f"counts: problem {i} has samples of strategy {s}, which is not available there")
    if not smoothing > 0:
        raise ValueError(f"smoothing: must be > 0, got {smoothing!r}")
    num = np.where(av, c + smoothing, 1.0)
    den = c.sum(1, keepdims=True) + smoothing * av.sum(1, keepdims=True)
    v = np.where(av, np.log(num / den), MASKED)
    f = jnp.result_type(float)
    return Policy(u=jnp.zeros(c.shape[1], f), v=jnp.asarray(v, f))
