"""The policy: a softmax over strategies with shared and per-problem logits.

    z[i, s] = u[s] + v[i, s],        pi(s | i) = softmax_s(z[i, :] / T)

u [S] are shared strategy preferences ("skills" that transfer across problems), v [P, S] per-problem
ones, T the sampling temperature. The *sharing* knob (in the training hyper-parameters, see
``sim.train``) scales the optimizer's step on u by ``sharing`` and on v by ``1 - sharing``: sharing = 1
learns only through u, sharing = 0 only through v. It scales steps, not gradients, so it acts the same
under SGD and Adam (Adam would undo a gradient scale).

Base model: u ~ N(0, shared_scale^2), v ~ N(0, problem_scale^2) independently; with ``target_entropy``
set, both are multiplied by one factor c > 0 chosen (by bisection on log c) so that the mean strategy
entropy over problems at temperature T equals the target (nats). This works because the entropy of
softmax(c x) decreases monotonically in c (dH/dc = -c Var_pi(x) <= 0).

Units: logits in nats; entropies in nats (max log S).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["PolicyConfig", "Policy", "logits", "strategy_probs", "strategy_log_probs", "strategy_entropy", "init_policy"]


class Policy(NamedTuple):
    """Policy parameters (a pytree): shared logits u [S] and per-problem logits v [P, S]."""

    u: jax.Array
    v: jax.Array


@dataclasses.dataclass(frozen=True)
class PolicyConfig:
    """Base-model logits: Gaussian scales, optionally rescaled to a target mean strategy entropy."""

    shared_scale: float = 1.0  # std of u (nats)
    problem_scale: float = 2.0  # std of v (nats)
    target_entropy: float | None = None  # mean H(pi(.|i)) at the given temperature (nats), in (0, log S)

    def __post_init__(self):
        for name in ("shared_scale", "problem_scale"):
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val) or val < 0:
                raise ValueError(f"{name}: must be a finite number >= 0, got {val!r}")
        t = self.target_entropy
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t <= 0):
            raise ValueError(f"target_entropy: must be None or a finite number > 0 (nats), got {t!r}")


def logits(policy: Policy) -> jax.Array:
    """z = u[None, :] + v, shape [P, S] (nats)."""
    return policy.u[None, :] + policy.v


def strategy_log_probs(z: jax.Array, temperature) -> jax.Array:
    """log pi(s | i) = log_softmax(z / T) along the last axis."""
    return jax.nn.log_softmax(z / temperature, axis=-1)


def strategy_probs(z: jax.Array, temperature) -> jax.Array:
    """pi(s | i) = softmax(z / T) along the last axis."""
    return jax.nn.softmax(z / temperature, axis=-1)


def strategy_entropy(z: jax.Array, temperature) -> jax.Array:
    """H(pi(. | i)) = -sum_s pi log pi in nats, shape z.shape[:-1] (0 log 0 = 0)."""
    logp = strategy_log_probs(z, temperature)
    return -jnp.sum(jnp.where(logp > -jnp.inf, jnp.exp(logp) * logp, 0.0), axis=-1)


def _scale_for_entropy(z: jax.Array, temperature, target, iters: int = 80) -> jax.Array:
    """c > 0 with mean_i H(softmax(c z_i / T)) = target, by bisection on log c in [-30, 30]."""

    def body(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        h = jnp.mean(strategy_entropy(jnp.exp(mid) * z, temperature))
        # entropy decreases in c: too high -> increase c
        return jnp.where(h > target, mid, lo), jnp.where(h > target, hi, mid)

    lo, hi = jax.lax.fori_loop(0, iters, body, (jnp.asarray(-30.0), jnp.asarray(30.0)))
    return jnp.exp(0.5 * (lo + hi))


def init_policy(config: PolicyConfig, key: jax.Array, n_problems: int, n_strategies: int, temperature=1.0) -> Policy:
    """Draw base-model logits (see the module docstring). Deterministic given ``key``; jittable with
    the config, sizes static. ``temperature`` only matters with ``target_entropy``."""
    if config.target_entropy is not None and config.target_entropy >= math.log(n_strategies):
        raise ValueError(
            f"target_entropy: must be < log(n_strategies) = {math.log(n_strategies):.4f} nats, got {config.target_entropy}"
        )
    return _init_policy_jit(config, key, n_problems, n_strategies, temperature)


@functools.partial(jax.jit, static_argnums=(0, 2, 3))
def _init_policy_jit(config: PolicyConfig, key, n_problems: int, n_strategies: int, temperature) -> Policy:
    ku, kv = jax.random.split(key)
    dtype = jnp.result_type(float)
    u = config.shared_scale * jax.random.normal(ku, (n_strategies,), dtype)
    v = config.problem_scale * jax.random.normal(kv, (n_problems, n_strategies), dtype)
    if config.target_entropy is not None:
        c = _scale_for_entropy(u[None, :] + v, temperature, config.target_entropy)
        u, v = c * u, c * v
    return Policy(u=u, v=v)
