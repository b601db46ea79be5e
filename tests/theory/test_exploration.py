"""Tests for theory.exploration (Song, Kempe, Munos 2025) against enumeration, Monte Carlo and NumPy loops."""

from __future__ import annotations

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.exploration import (
    batch_bonus,
    lookup_answer_counts,
    ucb_bonus,
    ucb_con_bonus,
    ucb_mean_bonus,
    update_answer_counts,
    zero_if_all_correct,
)

x64 = functools.partial(jax.enable_x64, True)


def batch_bonus_loop(answers):
    a = np.asarray(answers)
    out = np.zeros(a.shape)
    for idx in np.ndindex(a.shape[:-1]):
        row = a[idx]
        n = row.size
        for i in range(n):
            out[idx + (i,)] = -sum(row[i] == row[j] for j in range(n) if j != i) / n
    return out


def test_ucb_bonus_values():
    counts = np.array([[0, 1, 2, 4, 5, 100]])
    expected = [[1.0, 1.0, 1 / np.sqrt(2), 0.5, 1 / np.sqrt(5), 0.1]]
    with x64():
        np.testing.assert_allclose(ucb_bonus(counts), expected, rtol=1e-15)
        np.testing.assert_allclose(ucb_con_bonus(counts, b0=0.2), np.array(expected) - 0.2, rtol=1e-15)


def test_ucb_con_negative_exactly_after_four_visits():
    counts = np.arange(0, 50)
    b = np.asarray(ucb_con_bonus(counts[None, :], b0=0.5))[0]
    assert np.all(b[counts > 4] < 0)
    assert np.all(b[counts < 4] > 0)
    assert b[4] == 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=8))
def test_ucb_mean_is_bonus_minus_group_mean(counts):
    c = np.array([counts, counts[::-1]])
    b = np.minimum(1.0, 1.0 / np.sqrt(np.maximum(c, 1)))
    with x64():
        got = np.asarray(ucb_mean_bonus(c))
    np.testing.assert_allclose(got, b - b.mean(-1, keepdims=True), atol=1e-14)
    assert np.all(np.abs(got.sum(-1)) < 1e-12)


def test_batch_bonus_hand_example_and_loop():
    a = np.array([[3, 3, 7, 3, 1]])
    np.testing.assert_allclose(batch_bonus(a), [[-2 / 5, -2 / 5, 0, -2 / 5, 0]], atol=1e-7)
    rng = np.random.default_rng(0)
    b = rng.integers(0, 4, size=(2, 3, 6))
    np.testing.assert_allclose(batch_bonus(b), batch_bonus_loop(b), atol=1e-7)
    # float ids that are whole numbers are accepted
    np.testing.assert_allclose(batch_bonus(a.astype(float)), batch_bonus(a))


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_batch_bonus_expectation_exact_enumeration(n):
    p = np.array([0.5, 0.3, 0.15, 0.05])
    tuples = np.array(list(itertools.product(range(p.size), repeat=n)))  # all m^n answer tuples
    probs = np.prod(p[tuples], axis=1)
    with x64():
        bon = np.asarray(batch_bonus(tuples))  # one batched call, shape [m^n, n]
    expected = -(n - 1) / n * np.sum(p**2)
    np.testing.assert_allclose(probs @ bon, np.full(n, expected), rtol=0, atol=1e-12)


def test_batch_bonus_expectation_monte_carlo():
    n, samples = 16, 20_000
    p = np.array([0.4, 0.25, 0.2, 0.1, 0.05])
    rng = np.random.default_rng(1)
    answers = rng.choice(p.size, size=(samples, n), p=p)
    bon = np.asarray(batch_bonus(answers), dtype=np.float64)
    expected = -(n - 1) / n * np.sum(p**2)
    per_row = bon.mean(-1)
    se = per_row.std() / np.sqrt(samples)
    assert abs(per_row.mean() - expected) < 4 * se


def test_zero_if_all_correct():
    bonus = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
    rewards = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0]])
    out = np.asarray(zero_if_all_correct(bonus, rewards))
    np.testing.assert_allclose(out, [[0, 0, 0], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]], rtol=1e-7)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_answer_counts_match_numpy_add_at(seed):
    rng = np.random.default_rng(seed)
    table = rng.integers(0, 5, size=(6, 9))
    pid = rng.integers(0, 6, size=4)
    pid[1] = pid[0]  # the same question twice in a batch
    ans = rng.integers(0, 9, size=(4, 5))
    ref = table.copy()
    for b in range(4):
        for j in range(5):
            ref[pid[b], ans[b, j]] += 1
    new = np.asarray(update_answer_counts(table, pid, ans))
    np.testing.assert_array_equal(new, ref)
    np.testing.assert_array_equal(lookup_answer_counts(new, pid, ans), ref[pid[:, None], ans])


def test_jit_vmap_and_scan_training_history():
    """A small training loop under lax.scan: count, look up (counts include the current batch), bonus."""
    rng = np.random.default_rng(2)
    steps, batch, n, num_q, num_a = 5, 3, 4, 4, 6
    pids = rng.integers(0, num_q, size=(steps, batch))
    answers = rng.integers(0, num_a, size=(steps, batch, n))
    rewards = (answers == 0).astype(np.float32)

    def step(table, xs):
        pid, ans, rew = xs
        table = update_answer_counts(table, pid, ans)
        counts = lookup_answer_counts(table, pid, ans)
        bonus = zero_if_all_correct(ucb_con_bonus(counts, b0=0.5) + ucb_mean_bonus(counts) + batch_bonus(ans), rew)
        return table, (counts, bonus)

    table0 = jnp.zeros((num_q, num_a), jnp.int32)
    final, (counts, bonus) = jax.jit(lambda t: jax.lax.scan(step, t, (pids, answers, rewards)))(table0)
    # NumPy replay
    ref_table = np.zeros((num_q, num_a), int)
    for s in range(steps):
        for b in range(batch):
            for j in range(n):
                ref_table[pids[s, b], answers[s, b, j]] += 1
        np.testing.assert_array_equal(counts[s], ref_table[pids[s][:, None], answers[s]])
        c = ref_table[pids[s][:, None], answers[s]].astype(float)
        ub = 1 / np.sqrt(c)
        ref_bonus = (ub - 0.5) + (ub - ub.mean(-1, keepdims=True)) + batch_bonus_loop(answers[s])
        ref_bonus[np.all(rewards[s] == 1, axis=-1)] = 0
        np.testing.assert_allclose(bonus[s], ref_bonus, atol=1e-6)
    np.testing.assert_array_equal(final, ref_table)
    assert np.all(np.asarray(counts) >= 1)
    # vmap over a batch of groups
    a = rng.integers(0, 3, size=(7, 5))
    np.testing.assert_allclose(jax.vmap(batch_bonus)(a), batch_bonus(a), atol=1e-7)
    c = rng.integers(0, 10, size=(7, 5))
    np.testing.assert_allclose(jax.jit(jax.vmap(ucb_mean_bonus))(c), ucb_mean_bonus(c), atol=1e-7)


def test_value_errors_name_the_argument():
    with pytest.raises(ValueError, match="^counts"):
        ucb_bonus(np.array([1, -1]))
    with pytest.raises(ValueError, match="^counts"):
        ucb_bonus(np.array([1.5, 2.0]))
    with pytest.raises(ValueError, match="^counts"):
        ucb_bonus(3)
    with pytest.raises(ValueError, match="^b0"):
        ucb_con_bonus(np.array([1, 2]), b0=float("nan"))
    with pytest.raises(ValueError, match="^answers"):
        batch_bonus(np.array([1.0, 2.5]))
    with pytest.raises(ValueError, match="^rewards"):
        zero_if_all_correct(np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="^rewards"):
        zero_if_all_correct(np.zeros(3), np.array([0.0, 0.5, 1.0]))
    with pytest.raises(ValueError, match="^problem_ids"):
        update_answer_counts(np.zeros((2, 3), int), np.array([2]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="^answers"):
        update_answer_counts(np.zeros((2, 3), int), np.array([1]), np.array([[0, 3]]))
    with pytest.raises(ValueError, match="^answers"):
        lookup_answer_counts(np.zeros((2, 3), int), np.array([1, 0]), np.array([[0, 1]]))
    with pytest.raises(ValueError, match="^counts_table"):
        update_answer_counts(np.zeros(3, int), np.array([0]), np.array([[0]]))
