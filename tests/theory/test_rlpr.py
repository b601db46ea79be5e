"""Tests for theory.rlpr (RLPR probability rewards and the EMA std filter) against NumPy references."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.rlpr import (
    StdFilterState,
    debiased_reward,
    geometric_probability_reward,
    mean_probability_reward,
    std_filter,
    std_filter_init,
)

x64 = functools.partial(jax.enable_x64, True)


def _loop_rewards(logp, mask):
    mean_p, geo = np.zeros(logp.shape[:-1]), np.zeros(logp.shape[:-1])
    for idx in np.ndindex(logp.shape[:-1]):
        sel = logp[idx][mask[idx].astype(bool)]
        if sel.size:
            mean_p[idx] = np.mean(np.exp(sel))
            geo[idx] = np.exp(np.mean(sel))
    return mean_p, geo


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_probability_rewards_match_loop(seed):
    rng = np.random.default_rng(seed)
    logp = np.log(rng.uniform(1e-4, 1.0, size=(3, 5, 7)))
    mask = rng.random((3, 5, 7)) < 0.5
    mask[0, 0] = False  # an empty answer span
    logp[~mask] = rng.choice([-np.inf, 0.0, -50.0], size=(~mask).sum())  # garbage outside the span
    ref_mean, ref_geo = _loop_rewards(logp, mask)
    with x64():
        got_mean = np.asarray(mean_probability_reward(logp, mask))
        got_geo = np.asarray(geometric_probability_reward(logp, mask.astype(np.int32)))
    np.testing.assert_allclose(got_mean, ref_mean, atol=1e-12)
    np.testing.assert_allclose(got_geo, ref_geo, atol=1e-12)
    assert got_mean[0, 0] == 0 and got_geo[0, 0] == 0
    assert np.all(got_geo <= got_mean + 1e-12)  # AM-GM
    assert np.all((got_mean >= 0) & (got_mean <= 1))


def test_paper_example_mean_is_robust_to_one_low_token():
    # Sec. 2.2: (0.01, 0.7, 0.9) vs (0.05, 0.7, 0.9) differ a lot under the likelihood, little under the mean
    a = np.log([[0.01, 0.7, 0.9], [0.05, 0.7, 0.9]])
    m = np.ones_like(a, dtype=bool)
    with x64():
        mean = np.asarray(mean_probability_reward(a, m))
        geo = np.asarray(geometric_probability_reward(a, m))
    np.testing.assert_allclose(mean, [1.61 / 3, 1.65 / 3], rtol=1e-12)
    np.testing.assert_allclose(geo, np.cbrt([0.0063, 0.0315]), rtol=1e-12)
    assert mean[1] / mean[0] < 1.03 and geo[1] / geo[0] > 1.7


def test_debiased_reward_clips():
    r = np.array([[0.9, 0.2, 0.5]])
    r0 = np.array([[0.3], [0.6]])
    np.testing.assert_allclose(debiased_reward(r, r0), np.clip(r - r0, 0, 1), atol=1e-7)
    np.testing.assert_allclose(debiased_reward(0.4, 0.7), 0.0)


def test_std_filter_init_and_ema_updates():
    rng = np.random.default_rng(0)
    batches = [rng.random((6, 8)) ** p for p in (1, 3, 0.3)]
    with x64():
        keep, state = std_filter(batches[0], None)
        s0 = batches[0].std(-1)
        ema = s0.mean()  # documented init: the first batch's mean std
        np.testing.assert_allclose(state.ema_std, ema, rtol=1e-12)
        np.testing.assert_array_equal(keep, s0 >= 0.5 * ema)
        for b in batches[1:]:
            keep, state = std_filter(b, state, beta=0.5, ema_weight=0.01)
            s = b.std(-1)
            ema = 0.99 * ema + 0.01 * s.mean()
            np.testing.assert_allclose(state.ema_std, ema, rtol=1e-12)
            np.testing.assert_array_equal(keep, s >= 0.5 * ema)
        # explicit init state behaves like None
        k1, s1 = std_filter(batches[1], std_filter_init())
        k2, s2 = std_filter(batches[1], None)
        np.testing.assert_array_equal(k1, k2)
        np.testing.assert_allclose(s1.ema_std, s2.ema_std)


def test_std_filter_drops_constant_prompts_and_keeps_diverse_ones():
    r = np.array([[0.5] * 8, [0.0, 1.0] * 4, [0.9, 0.95] * 4, [0.1, 0.8, 0.3, 0.6] * 2])
    keep, _ = std_filter(r, None, beta=0.5)
    np.testing.assert_array_equal(keep, [False, True, False, True])
    keep, _ = std_filter(np.ones((3, 4)), None)
    assert np.all(np.asarray(keep))  # threshold 0: documented degenerate case


def test_std_filter_under_jit_and_scan():
    rng = np.random.default_rng(4)
    stream = rng.random((10, 5, 8)).astype(np.float32) ** rng.uniform(0.2, 3, size=(10, 5, 1)).astype(np.float32)

    def step(state, batch):
        keep, state = std_filter(batch, state, beta=0.5, ema_weight=0.1)
        return state, keep

    final, keeps = jax.jit(lambda s: jax.lax.scan(step, s, stream))(std_filter_init())
    state = None
    for t in range(10):
        keep, state = std_filter(stream[t], state, beta=0.5, ema_weight=0.1)
        np.testing.assert_array_equal(keeps[t], keep)
    np.testing.assert_allclose(final.ema_std, state.ema_std, rtol=1e-6)
    assert isinstance(final, StdFilterState)
    logp = np.log(rng.uniform(0.01, 1, size=(4, 6))).astype(np.float32)
    mask = rng.random((4, 6)) < 0.7
    np.testing.assert_allclose(jax.jit(jax.vmap(mean_probability_reward))(logp, mask), mean_probability_reward(logp, mask), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(geometric_probability_reward)(logp, mask), geometric_probability_reward(logp, mask), rtol=1e-6)
    np.testing.assert_allclose(jax.jit(debiased_reward)(jnp.float32(0.7), jnp.float32(0.2)), 0.5, rtol=1e-6)


def test_value_errors_name_the_argument():
    with pytest.raises(ValueError, match="^token_logprobs"):
        mean_probability_reward(np.array([0.5, -1.0]), np.array([True, True]))
    with pytest.raises(ValueError, match="^token_logprobs"):
        mean_probability_reward(np.array([np.nan, -1.0]), np.array([True, True]))
    with pytest.raises(ValueError, match="^mask"):
        mean_probability_reward(np.array([-0.5, -1.0]), np.array([True]))
    with pytest.raises(ValueError, match="^mask"):
        geometric_probability_reward(np.array([-0.5, -1.0]), np.array([2, 0]))
    with pytest.raises(ValueError, match="^r_no_reasoning"):
        debiased_reward(0.5, np.nan)
    with pytest.raises(ValueError, match="^beta"):
        std_filter(np.ones((2, 3)), None, beta=-1.0)
    with pytest.raises(ValueError, match="^ema_weight"):
        std_filter(np.ones((2, 3)), None, ema_weight=0.0)
    with pytest.raises(ValueError, match="^group_rewards"):
        std_filter(np.array([[0.1, np.inf]]), None)
    with pytest.raises(ValueError, match="^group_rewards"):
        std_filter(np.float64(0.3), None)
