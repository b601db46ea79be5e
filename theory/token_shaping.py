"""Advantage shaping from token-level quantities of a real language model: perplexity reweighting and a
position bonus (Deng et al. 2025, "Decomposing the Entropy-Performance Exchange: The Missing Keys to
Unlocking Effective Reinforcement Learning", arXiv:2508.02260, and its extension "From Trial-and-Error to
Improvement: A Systematic Analysis of LLM Exploration Mechanisms in RLVR", arXiv:2508.07534).

Both papers find that, in the plateau stage of RLVR, learning concentrates on high-entropy tokens of
*low-perplexity* responses and on tokens near the *end* of a response, and propose to reshape the GRPO
advantage accordingly. The exact functional forms could not be retrieved from the papers here; the two
functions below are our reading of the two proposals, each with its parameter exposed and its properties
stated (and tested):

- :func:`ppl_reweighted_advantage` (response level): ``A'_i = A_i * (1 - alpha * z_i)`` with ``z_i`` the
  within-group standardised log-perplexity of response i, ``ln PPL_i = -(1/L_i) sum_t log pi(o_i,t)``.
  Lower perplexity -> larger weight. For population-std standardisation ``|z_i| <= sqrt(N - 1)``, so
  ``0 <= alpha <= 1/sqrt(N - 1)`` keeps every weight >= 0 (no advantage changes sign); ``alpha = 0`` is
  the unshaped advantage.
- :func:`position_bonus_advantage` (token level): ``A'_{i,t} = A_i * (1 + beta * rho_t)`` with
  ``rho_t = t / (L_i - 1)`` the relative position of token t in its response (0 at the first token, 1 at
  the last; 1 for a one-token response). Later tokens get a larger update in the direction the response's
  advantage already points; ``beta = 0`` is the unshaped advantage; zero advantages stay zero.

Shapes: group arrays are [..., N] (rollouts on the last axis), token arrays [R, T] (tokens on the last
axis, ``mask`` 1 on the response's tokens). Pure jax.numpy; value checks (``ValueError`` naming the
argument) run on concrete inputs. Units: advantages keep the units of the input advantage.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from common.checks import is_concrete

__all__ = ["log_perplexity", "ppl_reweighted_advantage", "position_bonus_advantage", "max_ppl_alpha"]


def log_perplexity(log_probs, lengths) -> jax.Array:
    """ln PPL = -(sum of token log-probs) / (number of tokens), per response (nats per token).

    ``log_probs``: summed log pi(response) [..., N] (nats); ``lengths`` token counts, same shape, >= 1."""
    if is_concrete(lengths) and np.any(np.asarray(lengths) < 1):
        raise ValueError(f"lengths: every response needs >= 1 token, got min {np.min(np.asarray(lengths))}")
    lp = jnp.asarray(log_probs)
    return -lp / jnp.asarray(lengths, lp.dtype)


def max_ppl_alpha(n: int) -> float:
    """The largest ``alpha`` for which :func:`ppl_reweighted_advantage` never flips an advantage's sign with
    n rollouts per group: 1/sqrt(n - 1) (|z| <= sqrt(n - 1) for population-std z-scores; inf for n = 1)."""
    return math.inf if n <= 1 else 1.0 / math.sqrt(n - 1)


def ppl_reweighted_advantage(adv, log_probs, lengths, *, alpha: float, eps: float = 1e-6) -> jax.Array:
    """PPL-based advantage reweighting (Deng et al. 2025; module docstring): ``A * (1 - alpha * z)``.

    Args:
      adv: group advantages [..., N] (e.g. GRPO's, std units).
      log_probs: summed token log-probs of each response [..., N] (nats).
      lengths: token count of each response [..., N].
      alpha: reweighting strength, 0 <= alpha <= 1/sqrt(N - 1) (:func:`max_ppl_alpha`).
      eps: added to the group std of ln PPL; groups whose ln PPL are all equal get z = 0.
    """
    a = jnp.asarray(adv)
    n = a.shape[-1]
    if is_concrete(alpha) and not (0 <= float(alpha) <= max_ppl_alpha(n) + 1e-12):
        raise ValueError(f"alpha: must lie in [0, 1/sqrt(N - 1)] = [0, {max_ppl_alpha(n):.4g}] for N = {n} rollouts, got {alpha!r}")
    x = log_perplexity(log_probs, lengths).astype(a.dtype)
    mean = jnp.mean(x, axis=-1, keepdims=True)
    std = jnp.std(x, axis=-1, keepdims=True)
    ok = jnp.max(x, axis=-1, keepdims=True) > jnp.min(x, axis=-1, keepdims=True)
    z = jnp.where(ok, (x - mean) / jnp.where(ok, std + eps, 1.0), 0.0)
    return a * (1.0 - alpha * z)


def position_bonus_advantage(token_adv, mask, *, beta: float) -> jax.Array:
    """Position-based advantage bonus (Deng et al. 2025; module docstring): ``A_t * (1 + beta * rho_t)``.

    Args:
      token_adv: per-token advantages [R, T] (the response's advantage on each of its tokens).
      mask: 1 on the response tokens of each row, 0 elsewhere [R, T]; a row's response tokens are its
        masked positions in order (t = 0 the first masked position).
      beta: bonus strength, >= 0.
    Returns [R, T]; unmasked positions unchanged."""
    if is_concrete(beta) and not (math.isfinite(float(beta)) and float(beta) >= 0):
        raise ValueError(f"beta: must be finite and >= 0, got {beta!r}")
    a = jnp.asarray(token_adv)
    m = jnp.asarray(mask).astype(a.dtype)
    t = jnp.cumsum(m, axis=-1) - 1.0  # index of each masked token within its response
    L = jnp.sum(m, axis=-1, keepdims=True)
    rho = jnp.where(L > 1, t / jnp.maximum(L - 1.0, 1.0), 1.0)
    return jnp.where(m > 0, a * (1.0 + beta * rho), a)
