"""Tests for theory.coverage against independent references.

References (never outputs of the code under test): Python ``set`` operations on binary solved sets;
enumeration of every joint outcome of independent random sets (itertools.product) for soft sets and
expectations; enumeration of all pairs of disjoint k-subsets (itertools.combinations) for the noise
floor; a round-robin deal of samples for the even split.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.coverage import (
    consecutive_jaccard,
    cumulative_coverage,
    even_split,
    evenly_spaced,
    expected_churn,
    expected_jaccard,
    expected_jaccard_joint,
    jaccard,
    jaccard_matrix,
    nestedness,
    noise_floor,
    rotation,
    solve_probabilities,
    transitions,
)

SETTINGS = settings(max_examples=40, deadline=None)


def binary_sets(max_c=5, max_p=7):
    """Hypothesis strategy: a bool array [C, P]."""
    return st.integers(1, max_c).flatmap(lambda C: st.integers(1, max_p).flatmap(
        lambda P: st.lists(st.lists(st.booleans(), min_size=P, max_size=P), min_size=C, max_size=C))).map(np.array)


def soft_sets(max_c=3, max_p=3):
    """Hypothesis strategy: an array [C, P] of solve probabilities (some exactly 0 or 1)."""
    prob = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0, 1))
    return st.integers(1, max_c).flatmap(lambda C: st.integers(1, max_p).flatmap(
        lambda P: st.lists(st.lists(prob, min_size=P, max_size=P), min_size=C, max_size=C))).map(np.array)


def as_sets(S) -> list[set]:
    return [{p for p, x in enumerate(row) if x} for row in S]


def py_jaccard(a: set, b: set, empty=1.0) -> float:
    return len(a & b) / len(a | b) if a | b else empty


def outcomes(S):
    """Every joint outcome of independent Bernoulli sets with probabilities S [C, P]: (probability,
    list of C Python sets)."""
    C, P = S.shape
    for bits in itertools.product([0, 1], repeat=C * P):
        x = np.array(bits).reshape(C, P)
        pr = float(np.prod(np.where(x == 1, S, 1 - S)))
        yield pr, as_sets(x)


def expect(S, f) -> float:
    return sum(pr * f(sets) for pr, sets in outcomes(S))


# ---------------------------------------------------------------------------------------------------- binary sets


@SETTINGS
@given(binary_sets())
def test_jaccard_matrix_of_binary_sets_is_intersection_over_union(S):
    sets = as_sets(S)
    J = jaccard_matrix(S)
    for a, b in itertools.product(range(len(sets)), repeat=2):
        assert J[a, b] == pytest.approx(py_jaccard(sets[a], sets[b]), abs=1e-15)
        assert jaccard(S[a], S[b]) == pytest.approx(py_jaccard(sets[a], sets[b]), abs=1e-15)
    consec = [py_jaccard(sets[t], sets[t + 1]) for t in range(len(sets) - 1)]
    np.testing.assert_allclose(consecutive_jaccard(S), consec, atol=1e-15)
    assert rotation(S) == pytest.approx(1 - np.mean(consec) if consec else 0.0, abs=1e-15)


def test_jaccard_conventions_for_empty_sets():
    S = np.zeros((2, 3), bool)
    assert jaccard_matrix(S)[0, 1] == 1.0 and np.isnan(jaccard_matrix(S, empty=np.nan)[0, 1])
    assert jaccard(S[0], S[1]) == 1.0 and np.isnan(jaccard(S[0], S[1], empty=np.nan))
    assert rotation(S) == 0.0 and rotation(S[:1]) == 0.0
    assert rotation(np.array([[1, 1, 0], [0, 0, 1]], bool)) == 1.0  # disjoint consecutive sets


@SETTINGS
@given(binary_sets())
def test_transitions_of_binary_sets(S):
    sets, P = as_sets(S), S.shape[1]
    tr, counts = transitions(S), transitions(S, fraction=False)
    for t in range(len(sets) - 1):
        a, b = sets[t], sets[t + 1]
        if a:
            assert tr["retention"][t] == pytest.approx(len(a & b) / len(a), abs=1e-15)
        else:
            assert np.isnan(tr["retention"][t])
        assert tr["acquisition"][t] == pytest.approx(len(b - a) / P, abs=1e-15) and counts["acquisition"][t] == len(b - a)
        assert tr["loss"][t] == pytest.approx(len(a - b) / P, abs=1e-15) and counts["loss"][t] == len(a - b)


@SETTINGS
@given(binary_sets())
def test_cumulative_coverage_and_nestedness_of_binary_sets(S):
    sets, P = as_sets(S), S.shape[1]
    union = set()
    for t, s in enumerate(sets):
        union |= s
        assert cumulative_coverage(S)[t] == pytest.approx(len(union) / P, abs=1e-15)
    np.testing.assert_allclose(cumulative_coverage(S.astype(float)), cumulative_coverage(S), atol=1e-15)
    nest = nestedness(S)
    assert nest["size"].tolist() == [len(s) for s in sets]
    np.testing.assert_allclose(nest["fraction"], [len(s) / P for s in sets], atol=1e-15)
    assert nest["violations"].tolist() == [len(sets[t + 1] - sets[t]) for t in range(len(sets) - 1)]
    assert nest["nested_consecutive"].tolist() == [sets[t + 1] <= sets[t] for t in range(len(sets) - 1)]
    assert nest["nested"] == all(sets[t] <= sets[u] for u in range(len(sets)) for t in range(u, len(sets)))
    assert nest["always"] == len(set.intersection(*sets)) and nest["ever"] == len(set.union(*sets))


def test_nestedness_needs_binary_sets_and_sets_need_two_axes():
    with pytest.raises(ValueError, match="^U:"):
        nestedness(np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="^S:"):
        jaccard_matrix(np.zeros(3))
    with pytest.raises(ValueError, match="^S:"):
        transitions(np.full((2, 2), 1.5))


# ---------------------------------------------------------------------------------------------------- soft sets


@SETTINGS
@given(soft_sets())
def test_soft_statistics_are_expectations_over_independent_sets(S):
    C, P = S.shape
    for a, b in itertools.product(range(C), repeat=2):
        # J(a, b) = E|A∩B| / E|A∪B| of two independent evaluations (a == b: two copies of one checkpoint)
        pair = np.stack([S[a], S[b]])
        inter, union = expect(pair, lambda s: len(s[0] & s[1])), expect(pair, lambda s: len(s[0] | s[1]))
        want = inter / union if union > 1e-12 else None
        if want is not None:
            assert jaccard_matrix(S)[a, b] == pytest.approx(want, abs=1e-9)
            assert jaccard(S[a], S[b]) == pytest.approx(want, abs=1e-9)
    tr, counts = transitions(S), transitions(S, fraction=False)
    for t in range(C - 1):
        pair = S[t:t + 2]
        gained, lost = expect(pair, lambda s: len(s[1] - s[0])), expect(pair, lambda s: len(s[0] - s[1]))
        assert counts["acquisition"][t] == pytest.approx(gained, abs=1e-9)
        assert tr["acquisition"][t] == pytest.approx(gained / P, abs=1e-9)
        assert counts["loss"][t] == pytest.approx(lost, abs=1e-9) and tr["loss"][t] == pytest.approx(lost / P, abs=1e-9)
        size = expect(pair, lambda s: len(s[0]))
        if size > 1e-12:
            assert tr["retention"][t] == pytest.approx(expect(pair, lambda s: len(s[0] & s[1])) / size, abs=1e-9)
    for t in range(C):
        want = expect(S[: t + 1], lambda s: len(set.union(*s))) / P
        assert cumulative_coverage(S)[t] == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------------------------------------------- budgets


@SETTINGS
@given(st.integers(1, 12), st.integers(0, 40), st.data())
def test_even_split_is_a_round_robin_deal(C, K, data):
    idx = sorted(data.draw(st.sets(st.integers(0, C - 1), min_size=1)))
    want = [0] * C
    for i in range(K):  # deal the K samples one by one over idx, earliest first
        want[idx[i % len(idx)]] += 1
    assert even_split(K, np.array(idx), C).tolist() == want


@SETTINGS
@given(st.integers(1, 40), st.integers(2, 40))
def test_evenly_spaced_includes_both_ends_and_is_even(C, s):
    idx = evenly_spaced(C, s)
    assert idx[0] == 0 and idx[-1] == C - 1 and np.all(np.diff(idx) > 0)
    if s <= C:
        assert len(idx) == s
        ideal = np.arange(s) * (C - 1) / (s - 1)
        assert np.all(np.abs(idx - ideal) <= 0.5 + 1e-9)
    else:
        assert idx.tolist() == list(range(C))


# ---------------------------------------------------------------------------------------------------- solve probabilities


def joint_outcomes(p_both, p_one):
    """Every joint outcome of independent problems, each in both sets / in exactly one / in none."""
    for states in itertools.product(range(3), repeat=len(p_both)):
        pr = np.prod([[b, o, 1 - b - o][s] for b, o, s in zip(p_both, p_one, states)])
        yield pr, sum(s == 0 for s in states), sum(s < 2 for s in states)  # probability, |A∩B|, |A∪B|


@SETTINGS
@given(st.integers(0, 5), st.integers(0, 10**6))
def test_expected_jaccard_by_enumeration(P, seed):
    rng = np.random.default_rng(seed)
    qa, qb = rng.random(P), rng.random(P)
    if P:
        qa[0] = 0.0
    ref = expect(np.stack([qa, qb]), lambda s: py_jaccard(s[0], s[1])) if P else 1.0
    assert expected_jaccard(qa, qb) == pytest.approx(ref, abs=1e-12)
    assert expected_jaccard(np.zeros(P), np.zeros(P), empty=0.0) == 0.0
    # joint form: arbitrary per-problem (P(both), P(exactly one))
    p_both = rng.random(P) * 0.6
    p_one = rng.random(P) * (1 - p_both)
    ref = sum(pr * (i / u if u else 1.0) for pr, i, u in joint_outcomes(p_both, p_one))
    assert expected_jaccard_joint(p_both, p_one) == pytest.approx(ref, abs=1e-12)


@pytest.mark.parametrize("n, c, k", [(6, 1, 3), (6, 2, 2), (7, 3, 2), (5, 0, 2), (8, 5, 4), (4, 4, 1), (9, 2, 1)])
def test_solve_probabilities_by_enumerating_disjoint_subsets(n, c, k):
    # q = P(a random k-subset holds a correct sample); q2 = P(two disjoint random k-subsets both do)
    samples = [1] * c + [0] * (n - c)
    hits, q_hits, total = 0, 0, 0
    for first in itertools.combinations(range(n), k):
        rest = [i for i in range(n) if i not in first]
        for second in itertools.combinations(rest, k):
            total += 1
            hits += any(samples[i] for i in first) and any(samples[i] for i in second)
            q_hits += any(samples[i] for i in first)
    q, q2 = solve_probabilities(np.array([n]), np.array([c]), k)
    assert q2[0] == pytest.approx(hits / total, abs=1e-12) and q[0] == pytest.approx(q_hits / total, abs=1e-12)
    assert q[0] == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k), abs=1e-12)


@SETTINGS
@given(st.integers(1, 4), st.integers(0, 10**6))
def test_expected_churn_by_enumeration(P, seed):
    rng = np.random.default_rng(seed)
    qa, qb = rng.random(P), rng.random(P)
    qa[0] = 1.0
    pair = np.stack([qa, qb])
    ch = expected_churn(qa, qb)
    assert ch["solved_a"] == pytest.approx(expect(pair, lambda s: len(s[0])), abs=1e-12)
    assert ch["solved_b"] == pytest.approx(expect(pair, lambda s: len(s[1])), abs=1e-12)
    assert ch["gained"] == pytest.approx(expect(pair, lambda s: len(s[1] - s[0])), abs=1e-12)
    assert ch["lost"] == pytest.approx(expect(pair, lambda s: len(s[0] - s[1])), abs=1e-12)
    union = expect(pair, lambda s: len(s[0] | s[1]))
    assert ch["union"] == pytest.approx(union, abs=1e-12)
    assert ch["jaccard"] == pytest.approx(expect(pair, lambda s: py_jaccard(s[0], s[1])), abs=1e-12)
    assert ch["ratio_of_expectations_jaccard"] == pytest.approx(expect(pair, lambda s: len(s[0] & s[1])) / union, abs=1e-12)
    assert expected_churn(np.zeros(P), np.zeros(P))["ratio_of_expectations_jaccard"] == 1.0


@SETTINGS
@given(st.integers(1, 4), st.integers(0, 10**6))
def test_noise_floor_by_enumerating_two_evaluations(P, seed):
    # two evaluations of one checkpoint: per problem P(both) = q2, P(first only) = P(second only) = q − q2
    rng = np.random.default_rng(seed)
    q = rng.random(P)
    lo = np.maximum(0.0, 2 * q - 1)  # any valid joint law: q2 in [max(0, 2q − 1), q]
    q2 = lo + (q - lo) * rng.random(P)
    fl = noise_floor(q, q2)
    ref_j = sum(pr * (i / u if u else 1.0) for pr, i, u in joint_outcomes(q2, 2 * (q - q2)))
    assert fl["jaccard"] == pytest.approx(ref_j, abs=1e-12)
    lost = 0.0
    for states in itertools.product(range(4), repeat=P):  # (first, second) in {11, 10, 01, 00}
        pr = np.prod([[b, qq - b, qq - b, 1 - 2 * qq + b][s] for b, qq, s in zip(q2, q, states)])
        lost += pr * sum(s == 1 for s in states)  # solved by the first evaluation only
    assert fl["lost"] == pytest.approx(lost, abs=1e-12)
    # independent evaluations with replacement: q2 = q², the floor is the churn of a set with itself
    ind = noise_floor(q, q * q)
    assert ind["jaccard"] == pytest.approx(expected_jaccard(q, q), abs=1e-12)
    assert ind["lost"] == pytest.approx(expected_churn(q, q)["lost"], abs=1e-12)
