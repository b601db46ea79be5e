"""Probability rewards and the adaptive std filter of RLPR (Yu et al. 2025, "RLPR: Extrapolating RLVR
to General Domains without Verifiers", arXiv:2506.18254).

RLPR replaces a verifier by the policy's own probability of the reference answer y* given its
reasoning z: the generated answer is swapped for y*, the sequence is scored by the policy, and the
per-token probabilities of the y* tokens are aggregated (Sec. 2.2, eq. 2). The reward is debiased by
the same score computed without reasoning (Sec. 2.3, eq. 4), and prompts whose rewards barely vary are
filtered with a threshold tracking an exponential moving average of the batch's mean reward std
(Sec. 2.4; the scale beta = 0.5 is from Sec. 3.1).

Shapes: token arrays are [..., T] with the tokens on the last axis; group rewards are [..., n] with
the n rollouts of a prompt on the last axis. Everything is pure jax.numpy (jittable, vmappable) and
accepts NumPy inputs; value checks (``ValueError`` starting with the argument name) run on concrete
inputs only. Units: rewards are probabilities in [0, 1].
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from common.checks import as_float_array
from common.checks import is_concrete as _is_concrete

__all__ = [
    "mean_probability_reward",
    "geometric_probability_reward",
    "debiased_reward",
    "StdFilterState",
    "std_filter_init",
    "std_filter",
]


def _tokens(token_logprobs, mask):
    if _is_concrete(token_logprobs):
        arr = np.asarray(token_logprobs, dtype=np.float64)
        if np.isnan(arr).any() or np.isposinf(arr).any():
            raise ValueError("token_logprobs: must be log-probabilities (<= 0, -inf allowed), got nan or +inf")
        if (arr > 1e-6).any():
            raise ValueError(f"token_logprobs: must be log-probabilities <= 0, got {arr[arr > 1e-6].flat[0]}")
    if _is_concrete(mask):
        m_arr = as_float_array(mask, "mask")
        if ((m_arr != 0) & (m_arr != 1)).any():
            raise ValueError("mask: must be boolean or 0/1")
    lp = jnp.asarray(token_logprobs)
    if not jnp.issubdtype(lp.dtype, jnp.floating):
        lp = lp.astype(jnp.result_type(float))
    m = jnp.asarray(mask).astype(bool)
    if lp.ndim == 0 or m.shape != lp.shape:
        raise ValueError(f"mask: must have the shape of token_logprobs [..., T] {lp.shape}, got {m.shape}")
    count = jnp.sum(m, axis=-1).astype(lp.dtype)
    return lp, m, count


def mean_probability_reward(token_logprobs, mask) -> jax.Array:
    """RLPR probability reward: mean per-token probability of the reference-answer tokens (eq. 2 with
    f_seq = (1/|y*|) sum, the paper's choice).

    Args:
      token_logprobs: log pi(o'_t | o'_<t) for the sequence with the reference answer, [..., T].
      mask: True/1 on the tokens of the reference answer y*, same shape.

    Returns:
      ``sum_t mask_t exp(logp_t) / sum_t mask_t``, a probability in [0, 1], shape [...]; 0 where the
      mask is empty.
    """
    lp, m, count = _tokens(token_logprobs, mask)
    total = jnp.sum(jnp.where(m, jnp.exp(jnp.where(m, lp, 0.0)), 0.0), axis=-1)
    return jnp.where(count > 0, total / jnp.maximum(count, 1.0), 0.0)


def geometric_probability_reward(token_logprobs, mask) -> jax.Array:
    """Length-normalised sequence likelihood ``exp(mean_t logp_t)`` over the reference-answer tokens
    (eq. 2 with f_seq = the |y*|-th root of the product; the likelihood-style alternative the paper
    compares against). Same arguments as ``mean_probability_reward``; 0 where the mask is empty.
    Never exceeds the mean-probability reward (AM-GM)."""
    lp, m, count = _tokens(token_logprobs, mask)
    total = jnp.sum(jnp.where(m, lp, 0.0), axis=-1)
    return jnp.where(count > 0, jnp.exp(total / jnp.maximum(count, 1.0)), 0.0)


def debiased_reward(r, r_no_reasoning) -> jax.Array:
    """Debiased probability reward ``clip(r - r', 0, 1)`` (RLPR eq. 4).

    Args:
      r: probability reward with the model's reasoning, any shape.
      r_no_reasoning: r', the same score for the reference answer decoded directly without
        reasoning (broadcast against ``r``, e.g. one value per prompt with a trailing axis).
    """
    if _is_concrete(r):
        as_float_array(r, "r")
    if _is_concrete(r_no_reasoning):
        as_float_array(r_no_reasoning, "r_no_reasoning")
    a = jnp.asarray(r)
    b = jnp.asarray(r_no_reasoning)
    return jnp.clip(a - b, 0.0, 1.0)


class StdFilterState(NamedTuple):
    """State of ``std_filter``: the EMA of the batch-mean reward std, and whether it has been set."""

    ema_std: jax.Array  # scalar, reward units
    initialized: jax.Array  # scalar bool


def std_filter_init() -> StdFilterState:
    """Initial ``std_filter`` state: no EMA yet (the first batch initialises it, see ``std_filter``)."""
    return StdFilterState(ema_std=jnp.zeros((), jnp.result_type(float)), initialized=jnp.zeros((), bool))


def std_filter(group_rewards, state: StdFilterState | None = None, *, beta: float = 0.5, ema_weight: float = 0.01):
    """RLPR standard-deviation filtering with an EMA threshold (Sec. 2.4).

    Per prompt, ``s = std(group_rewards, axis=-1)`` (population std over its n rollouts). The batch
    statistic ``m = mean(s)`` over all prompts (all leading axes) updates the EMA,
    ``ema' = (1 - ema_weight) * ema + ema_weight * m``; on the first call (``state`` None or fresh
    from ``std_filter_init``) the EMA is initialised to m itself. A prompt is kept iff
    ``s >= beta * ema'`` (the updated EMA, so the threshold already reflects the current batch; on
    the first batch the threshold is beta times its own mean std). If every prompt has zero std the
    threshold is 0 and everything is kept (such prompts carry no group-relative signal anyway).
    The paper gives beta = 0.5; ema_weight = 0.01 (weight of the new value) follows the project notes.

    Args:
      group_rewards: rewards, shape [..., n].
      state: previous ``StdFilterState`` or None.
      beta: threshold scale (>= 0).
      ema_weight: weight of the new batch statistic in the EMA, in (0, 1].

    Returns:
      ``(keep, new_state)``: boolean mask of shape ``group_rewards.shape[:-1]`` and the new state.
    """
    if _is_concrete(beta) and not (math.isfinite(float(beta)) and float(beta) >= 0):
        raise ValueError(f"beta: must be finite and >= 0, got {beta!r}")
    if _is_concrete(ema_weight) and not (0 < float(ema_weight) <= 1):
        raise ValueError(f"ema_weight: must lie in (0, 1], got {ema_weight!r}")
    if _is_concrete(group_rewards):
        as_float_array(group_rewards, "group_rewards")
    r = jnp.asarray(group_rewards)
    if r.ndim == 0 or r.shape[-1] < 1:
        raise ValueError(f"group_rewards: must have shape [..., n] with n >= 1, got {r.shape}")
    if not jnp.issubdtype(r.dtype, jnp.floating):
        r = r.astype(jnp.result_type(float))
    if state is None:
        state = std_filter_init()
    s = jnp.std(r, axis=-1)
    old = jnp.asarray(state.ema_std)
    m = jnp.mean(s).astype(old.dtype)  # keep the state's dtype fixed (lax.scan carries)
    new_ema = jnp.where(state.initialized, (1.0 - ema_weight) * old + ema_weight * m, m)
    keep = s >= beta * new_ema.astype(s.dtype)
    return keep, StdFilterState(ema_std=new_ema, initialized=jnp.ones((), bool))
