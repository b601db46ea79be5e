"""Tests of the theory.advantage_registry registry: uniform signature under jit, links to the theory core,
bonus conventions, and the entropy-bonus gradient claim."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sim.policy import strategy_entropy
from theory.advantage import grpo_advantage, passk_analytic_advantage
from theory.advantage_registry import ADVANTAGES, get_advantage, make_context
from theory.exploration import batch_bonus, ucb_bonus

REQUIRED = {
    "grpo", "drgrpo", "passk_analytic", "passk_bootstrap", "passk_full", "combination", "exceed_passk",
    "adaptive_entropy", "ucb", "ucb_mean", "ucb_con", "batch", "entropy_regularized", "noisy_reward",
}
B, N, K = 5, 8, 4


@pytest.fixture(scope="module")
def batch_inputs():
    rng = np.random.default_rng(0)
    answers = rng.integers(0, 4, size=(B, N))
    answers[0] = 0  # an all-correct group
    answers[1] = rng.integers(1, 4, size=N)  # an all-wrong group
    rewards = (answers == 0).astype(np.float32)
    ctx = make_context(
        rewards,
        entropy=rng.uniform(0, 2, size=B),
        answer_counts=rng.integers(1, 20, size=(B, N)),
        log_probs=np.log(rng.uniform(0.05, 1, size=(B, N))),
    )
    return jnp.asarray(rewards), jnp.asarray(answers, jnp.int32), ctx


def test_registry_has_every_required_name():
    assert REQUIRED <= set(ADVANTAGES)
    with pytest.raises(ValueError, match="^advantage:"):
        get_advantage("nope")


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_advantage_runs_under_jit_finite_right_shape(name, batch_inputs):
    rewards, answers, ctx = batch_inputs
    fn = jax.jit(functools.partial(ADVANTAGES[name], k=K))
    out = fn(jax.random.key(0), rewards, answers, ctx)
    assert out.shape == (B, N)
    assert bool(jnp.all(jnp.isfinite(out)))


def test_entries_equal_theory_functions(batch_inputs):
    rewards, answers, ctx = batch_inputs
    key = jax.random.key(0)
    np.testing.assert_allclose(ADVANTAGES["grpo"](key, rewards, answers, ctx, k=K), grpo_advantage(rewards), atol=1e-6)
    np.testing.assert_allclose(ADVANTAGES["passk_analytic"](key, rewards, answers, ctx, k=K), passk_analytic_advantage(rewards, k=K), atol=1e-6)
    g = np.asarray(grpo_advantage(rewards))
    c = float(ctx.bonus_coef)
    ucb = np.asarray(ADVANTAGES["ucb"](key, rewards, answers, ctx, k=K))
    bat = np.asarray(ADVANTAGES["batch"](key, rewards, answers, ctx, k=K))
    # bonus added with coefficient, zeroed on the all-correct group (row 0)
    np.testing.assert_allclose(ucb[1:], g[1:] + c * np.asarray(ucb_bonus(ctx.answer_counts))[1:], atol=1e-6)
    np.testing.assert_allclose(bat[1:], g[1:] + c * np.asarray(batch_bonus(answers))[1:], atol=1e-6)
    np.testing.assert_allclose(ucb[0], g[0], atol=0)
    np.testing.assert_allclose(bat[0], g[0], atol=0)


def test_noisy_reward_extremes(batch_inputs):
    rewards, answers, ctx = batch_inputs
    key = jax.random.key(1)
    off = ADVANTAGES["noisy_reward"](key, rewards, answers, ctx._replace(noise_rate=jnp.asarray(0.0)), k=K)
    np.testing.assert_allclose(off, grpo_advantage(rewards), atol=1e-6)
    full = ADVANTAGES["noisy_reward"](key, rewards, answers, ctx._replace(noise_rate=jnp.asarray(1.0)), k=K)
    np.testing.assert_allclose(full, 0.0, atol=0)  # every reward becomes 1 -> no signal


def test_entropy_bonus_policy_gradient_matches_entropy_gradient():
    """With zero rewards the entropy_regularized surrogate gradient is entropy_coef * grad H (x (N-1)/N)."""
    T, coef, n = 0.7, 0.5, 20000
    z = jnp.array([0.3, -1.0, 1.2, 0.0])
    s = jax.random.categorical(jax.random.key(2), z / T, shape=(n,))

    def surrogate(zz):
        logp = jax.nn.log_softmax(zz / T)[s][None, :]
        ctx = make_context(jnp.zeros((1, n)), log_probs=jax.lax.stop_gradient(logp), entropy_coef=coef)
        adv = ADVANTAGES["entropy_regularized"](None, jnp.zeros((1, n)), jnp.ones((1, n), jnp.int32), ctx, k=1)
        return jnp.mean(jax.lax.stop_gradient(adv) * logp)  # ascent objective

    g_mc = np.asarray(jax.grad(surrogate)(z))
    g_true = np.asarray(coef * (n - 1) / n * jax.grad(lambda zz: strategy_entropy(zz, T))(z))
    # standard error from the per-rollout terms coef * (h_j - mean h) * (e_s - pi) / T
    pi = np.asarray(jax.nn.softmax(z / T))
    h = -np.log(pi[np.asarray(s)])
    terms = coef * (h - h.mean())[:, None] * (np.eye(4)[np.asarray(s)] - pi) / T
    se = terms.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(g_mc - g_true) < 5 * se + 1e-6), (g_mc, g_true, se)
