"""Sampling rollouts from the policy and the bank (jax.numpy, jittable, vmappable).

A rollout on problem i: draw a strategy s ~ pi(. | i) = softmax(z[i] / T); its answer is
``bank.answers[i, s]`` with probability 1 - epsilon, else uniform over the wrong answers 1..m-1
(see ``sim.bank``). Its reward is 1{answer = 0}.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from sim.bank import Bank

__all__ = ["Rollouts", "sample_rollouts", "sample_strategies", "sample_answer_counts", "rewards_of"]


class Rollouts(NamedTuple):
    """n rollouts on each of B problems: problem_ids int [B], strategies int [B, n], answers int [B, n]."""

    problem_ids: jax.Array
    strategies: jax.Array
    answers: jax.Array


def sample_rollouts(key: jax.Array, z: jax.Array, bank: Bank, temperature, n: int, problem_ids: jax.Array) -> Rollouts:
    """n iid rollouts on each problem in ``problem_ids`` from logits z [P, S] at temperature T."""
    k_s, k_noise, k_wrong = jax.random.split(key, 3)
    B = problem_ids.shape[0]
    strategies = sample_strategies(k_s, jax.nn.softmax(z[problem_ids] / temperature, axis=-1), n)
    bank_answer = bank.answers[problem_ids[:, None], strategies]
    noisy = jax.random.uniform(k_noise, (B, n)) < bank.epsilon
    random_wrong = jax.random.randint(k_wrong, (B, n), 1, bank.n_answers, dtype=jnp.int32)
    answers = jnp.where(noisy, random_wrong, bank_answer).astype(jnp.int32)
    return Rollouts(problem_ids=problem_ids.astype(jnp.int32), strategies=strategies, answers=answers)


def sample_strategies(key: jax.Array, pi: jax.Array, n: int) -> jax.Array:
    """n iid draws from each row of pi [B, S] by inverse CDF: s = #{s' : cdf[s'] <= U * cdf[S-1]}.

    One uniform per draw (a Gumbel-max ``jax.random.categorical`` needs S per draw, which dominated
    the run time on CPU); scaling U by the last CDF entry removes float rounding of the total mass.
    Returns int32 [B, n]."""
    cdf = jnp.cumsum(pi, axis=-1)  # [B, S]
    u = jax.random.uniform(key, (pi.shape[0], n), dtype=pi.dtype) * cdf[:, -1:]
    s = jnp.sum(cdf[:, None, :] <= u[:, :, None], axis=-1)
    return jnp.minimum(s, pi.shape[-1] - 1).astype(jnp.int32)


def rewards_of(answers: jax.Array) -> jax.Array:
    """Verifiable reward 1{answer = 0} (float, same shape)."""
    return (answers == 0).astype(jnp.result_type(float))


@functools.partial(jax.jit, static_argnames="n")
def sample_answer_counts(key: jax.Array, z: jax.Array, bank: Bank, temperature, n: int) -> jax.Array:
    """Evaluate every problem with n samples: answer counts int [P, m] (what a real eval sees)."""
    P = z.shape[0]
    ro = sample_rollouts(key, z, bank, temperature, n, jnp.arange(P))
    return jnp.sum(jax.nn.one_hot(ro.answers, bank.n_answers, dtype=jnp.int32), axis=1)
