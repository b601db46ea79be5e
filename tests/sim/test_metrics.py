"""Tests of sim.metrics: the exact answer distribution and the exact / sampled checkpoint metrics.

References: Monte Carlo of rollouts (sampling a strategy, then an answer), brute-force enumeration of
vote outcomes, closed forms, and the sampled estimators within standard errors.
"""

import itertools
import math

import jax
import numpy as np
import pytest

from sim.bank import BankConfig, make_bank
from sim.metrics import answer_probs, exact_metrics, sampled_metrics, summarize
from sim.policy import PolicyConfig, init_policy, logits
from sim.rollouts import sample_answer_counts

P, S, M = 6, 5, 4
EPS = 0.2
T = 0.8


@pytest.fixture(scope="module")
def setup():
    bank = make_bank(
        BankConfig(n_problems=P, n_strategies=S, n_answers=M, n_clusters=2, clusters_per_strategy=1, q_hi=0.7, q_lo=0.2, attractor=0.6, epsilon=EPS),
        jax.random.key(0),
    )
    pol = init_policy(PolicyConfig(shared_scale=0.5, problem_scale=1.0), jax.random.key(1), P, S)
    z = logits(pol)
    probs = np.asarray(answer_probs(z, bank, T), dtype=np.float64)
    probs /= probs.sum(axis=1, keepdims=True)  # float32 rounding -> exact float64 distribution
    return bank, z, probs


def test_exact_distribution_formula(setup):
    bank, z, probs = setup
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    pi = np.asarray(jax.nn.softmax(np.asarray(z) / T, axis=1), dtype=np.float64)
    ans = np.asarray(bank.answers)
    # p0 = (1 - eps) * policy mass on solving strategies
    np.testing.assert_allclose(probs[:, 0], (1 - EPS) * (pi * (ans == 0)).sum(axis=1), atol=1e-6)
    # per strategy: P(a) = (1 - eps) 1{a = bank answer} + eps 1{a != 0}/(m - 1), mixed by pi
    loop = np.zeros((P, M))
    for i in range(P):
        for s in range(S):
            for a in range(M):
                loop[i, a] += pi[i, s] * ((1 - EPS) * (ans[i, s] == a) + EPS * (a != 0) / (M - 1))
    np.testing.assert_allclose(probs, loop, atol=1e-6)


def test_exact_distribution_matches_monte_carlo_of_rollouts(setup):
    bank, z, probs = setup
    n = 20000
    counts = np.asarray(sample_answer_counts(jax.random.key(2), z, bank, T, n))
    assert counts.shape == (P, M) and (counts.sum(axis=1) == n).all()
    freq = counts / n
    se = np.sqrt(probs * (1 - probs) / n) + 1e-12
    assert np.all(np.abs(freq - probs) < 5 * se + 1e-4), np.max(np.abs(freq - probs) / se)


def _brute_force_maj(p, k):
    """P(answer 0 wins a plurality vote of k iid votes), ties broken uniformly, by enumeration."""
    total = 0.0
    for votes in itertools.product(range(len(p)), repeat=k):
        c = np.bincount(votes, minlength=len(p))
        top = c.max()
        if c[0] == top:
            total += np.prod([p[v] for v in votes]) / np.sum(c == top)
    return total


def test_exact_metrics_against_closed_forms_and_enumeration(setup):
    _, _, probs = setup
    met = exact_metrics(probs, ks=(1, 4), maj_ks=(3, 5))
    p0 = probs[:, 0]
    np.testing.assert_allclose(met["pass@1"], p0, atol=1e-12)
    np.testing.assert_allclose(met["pass@4"], 1 - (1 - p0) ** 4, atol=1e-12)
    for k in (3, 5):
        brute = np.array([_brute_force_maj(probs[i] / probs[i].sum(), k) for i in range(P)])
        np.testing.assert_allclose(met[f"maj@{k}"], brute, atol=1e-9)
        np.testing.assert_allclose(met[f"sc_gain@{k}"], brute - p0, atol=1e-9)
    q = probs[:, 1:] / (1 - p0[:, None])
    np.testing.assert_allclose(met["wrong_collision"], (q**2).sum(axis=1), atol=1e-9)
    np.testing.assert_allclose(met["answer_entropy"], -(probs * np.log(probs)).sum(axis=1), atol=1e-9)
    np.testing.assert_array_equal(met["wrong_beats_correct"], probs[:, 1:].max(axis=1) > p0)
    assert set(summarize(met)) == set(met)


def test_collision_extremes():
    # errors all on one answer -> 1; errors uniform over the m - 1 wrong answers -> 1/(m - 1)
    p = np.array([[0.4, 0.6, 0.0, 0.0], [0.4, 0.2, 0.2, 0.2]])
    met = exact_metrics(p, ks=(1,), maj_ks=(3,))
    np.testing.assert_allclose(met["wrong_collision"], [1.0, 1 / 3])
    assert np.isnan(exact_metrics(np.array([[1.0, 0.0]]), ks=(1,), maj_ks=(1,))["wrong_collision"][0])


def test_sampled_metrics_agree_with_exact_within_standard_errors(setup):
    bank, z, probs = setup
    n = 20000  # same n as above: one compilation
    counts = np.asarray(sample_answer_counts(jax.random.key(3), z, bank, T, n))
    ex = exact_metrics(probs, ks=(1, 4), maj_ks=(5,))
    sa = sampled_metrics(counts, ks=(1, 4), maj_ks=(5,))
    for name, k in (("pass@1", 1), ("pass@4", 4), ("maj@5", 5)):
        v = ex[name]
        # U-statistic of order k over n samples: variance <= (k/n) Var(kernel), kernel in [0, 1]
        se = np.sqrt(k * v * (1 - v) / n) + 1e-3
        assert np.all(np.abs(sa[name] - v) < 5 * se), (name, sa[name], v)
    wc_se = np.sqrt(4.0 / (n * (1 - probs[:, 0]))) + 1e-3  # crude bound for the collision U-statistic
    assert np.all(np.abs(sa["wrong_collision"] - ex["wrong_collision"]) < 5 * wc_se)


def test_sampled_metrics_on_hand_counts():
    counts = np.array([[3, 1, 0, 0], [0, 2, 2, 0], [1, 2, 1, 0]])
    sa = sampled_metrics(counts, ks=(1, 2), maj_ks=(1,))
    np.testing.assert_allclose(sa["pass@1"], [0.75, 0.0, 0.25])
    # pass@2 = 1 - C(n - c, 2) / C(4, 2)
    np.testing.assert_allclose(sa["pass@2"], [1.0, 0.0, 1 - math.comb(3, 2) / 6])
    np.testing.assert_allclose(sa["maj@1"], sa["pass@1"])
    # wrong collisions: row 0 W = 1 -> nan; row 1: (2*1 + 2*1) / (4*3); row 2: (2*1) / (3*2)
    assert np.isnan(sa["wrong_collision"][0])
    np.testing.assert_allclose(sa["wrong_collision"][1:], [4 / 12, 2 / 6])


def test_metric_input_validation():
    with pytest.raises(ValueError, match="^probs:"):
        exact_metrics(np.array([[0.5, 0.2]]))
    with pytest.raises(ValueError, match="^counts:"):
        sampled_metrics(np.array([[1, 2], [3, 3]]))
