"""theory/voting.py against independent references: enumeration, the textbook pmfs, Monte Carlo."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from theory import brute_force as BF
from theory import voting as V

# ---------------------------------------------------------------- references (theory/brute_force.py)

credit = BF.vote_credit
brute_plurality = BF.plurality_by_enumeration
brute_maj_at_k = BF.maj_at_k_by_enumeration
brute_dirichlet_multinomial = BF.dirichlet_multinomial_by_enumeration


def mc_plurality(rng, p, n, tie, draws, rho=None, correct=0):
    m = len(p)
    if rho is None:
        counts = rng.multinomial(n, p, size=draws)
    else:
        pis = rng.dirichlet(np.asarray(p) * (1 - rho) / rho, size=draws)
        counts = np.array([rng.multinomial(n, pi) for pi in pis])
    top = counts.max(axis=1)
    win = counts[:, correct] == top
    t = (counts == top[:, None]).sum(axis=1)
    vals = np.where(win, 1.0 / t if tie == "random" else (t == 1).astype(float), 0.0)
    del m
    return vals.mean(), vals.std() / np.sqrt(draws)


prob_vectors = st.integers(2, 4).flatmap(
    lambda m: st.lists(st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False), min_size=m, max_size=m).filter(lambda v: sum(v) > 0.05)
)


# ---------------------------------------------------------------- exactness vs enumeration


@settings(max_examples=40, deadline=None)
@given(raw=prob_vectors, n=st.integers(1, 6), tie=st.sampled_from(V.TIE_RULES), data=st.data())
def test_plurality_matches_enumeration(raw, n, tie, data):
    p = np.array(raw) / sum(raw)
    correct = data.draw(st.integers(0, len(p) - 1))
    ref = brute_plurality(p, n, tie, correct)
    for method in ("direct", "fourier"):
        got = V.plurality_accuracy(p, n, tie=tie, correct=correct, method=method)
        assert abs(got - ref) < 1e-12, (method, got, ref)


@settings(max_examples=25, deadline=None)
@given(raw=prob_vectors, n=st.integers(1, 5), tie=st.sampled_from(V.TIE_RULES), missing=st.floats(0.05, 0.6))
def test_abstention_never_wins(raw, n, tie, missing):
    # abstention as leftover mass, and the same distribution with an explicit abstention class
    p = np.array(raw) / sum(raw) * (1 - missing)
    full = np.append(p, missing)
    ref = brute_plurality(full, n, tie, 0, abstain=len(p))
    got_left = V.plurality_accuracy(p, n, tie=tie)
    got_idx = V.plurality_accuracy(full, n, tie=tie, abstain=len(p))
    assert abs(got_left - ref) < 1e-12 and abs(got_idx - ref) < 1e-12


@settings(max_examples=40, deadline=None)
@given(counts=st.lists(st.integers(0, 4), min_size=2, max_size=4).filter(lambda c: 1 <= sum(c) <= 9), tie=st.sampled_from(V.TIE_RULES),
       data=st.data())
def test_maj_at_k_matches_subset_enumeration(counts, tie, data):
    k = data.draw(st.integers(1, sum(counts)))
    correct = data.draw(st.integers(0, len(counts) - 1))
    ref = brute_maj_at_k(counts, k, tie, correct)
    for method in ("direct", "fourier"):
        got = V.maj_at_k(counts, k, tie=tie, correct=correct, method=method)
        assert abs(got - ref) < 1e-12, (method, got, ref)


def test_maj_at_k_with_abstentions_and_ragged_batch():
    counts = [[3, 2, 0, 4], [1, 1, 1], [5, 0]]
    got = V.maj_at_k(counts, 3, abstain=None, tie="random")
    ref = [brute_maj_at_k(c, 3, "random") for c in counts]
    np.testing.assert_allclose(got, ref, atol=1e-12)
    # class 3 of the first problem is "no answer": it must never win
    got_ab = V.maj_at_k([3, 2, 0, 4], 5, abstain=3, tie="strict")
    assert abs(got_ab - brute_maj_at_k([3, 2, 0, 4], 5, "strict", abstain=3)) < 1e-12


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 4), min_size=2, max_size=5).filter(lambda c: sum(c) >= 1), tie=st.sampled_from(V.TIE_RULES), data=st.data())
def test_maj_at_k_with_k_equal_n_matches_enumeration_with_abstention(counts, tie, data):
    """k = n takes a shortcut (the vote of the observed counts); check it against subset enumeration."""
    correct = data.draw(st.integers(0, len(counts) - 1))
    abstain = data.draw(st.sampled_from([None] + [i for i in range(len(counts)) if i != correct]))
    ref = brute_maj_at_k(counts, sum(counts), tie, correct, abstain=abstain)
    got = V.maj_at_k(counts, sum(counts), tie=tie, correct=correct, abstain=abstain)
    assert abs(got - ref) < 1e-12


def test_maj_at_k_equals_plurality_of_full_sample_when_k_is_n():
    counts = np.array([4, 4, 1])
    assert V.maj_at_k(counts, 9, tie="random") == pytest.approx(0.5, abs=1e-12)
    assert V.maj_at_k(counts, 9, tie="strict") == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(raw=prob_vectors, rho=st.floats(0.02, 0.98), n=st.integers(1, 6), tie=st.sampled_from(V.TIE_RULES))
def test_correlated_matches_dirichlet_multinomial_pmf(raw, rho, n, tie):
    # the enumeration reference sums Gamma-function ratios in floating point: a class probability of
    # ~1e-308 makes it inf - inf = NaN (the reference fails, not the engine), so keep classes either 0
    # or >= 1e-12
    assume(all(x == 0 or x >= 1e-12 for x in raw))
    p = np.array(raw) / sum(raw)
    ref = brute_dirichlet_multinomial(p, rho, n, tie)
    for method in ("direct", "fourier"):
        got = V.correlated_plurality_accuracy(p, rho, n, tie=tie, method=method)
        assert abs(got - ref) < 1e-12, (method, got, ref)


def test_correlated_limits():
    p = np.array([0.5, 0.3, 0.2])
    assert V.correlated_plurality_accuracy(p, 0.0, 7) == pytest.approx(V.plurality_accuracy(p, 7), abs=1e-15)
    assert V.correlated_plurality_accuracy(p, 1.0, 7) == pytest.approx(0.5, abs=1e-15)
    # shared evidence: majority accuracy stays far below the iid value and decreases with rho
    accs = [V.correlated_plurality_accuracy(p, r, 51) for r in (0.01, 0.1, 0.3, 0.6)]
    assert all(a > b for a, b in zip(accs, accs[1:]))


# ---------------------------------------------------------------- Monte Carlo on larger cases


@pytest.mark.parametrize("tie", V.TIE_RULES)
def test_plurality_monte_carlo_moderate_n(tie):
    rng = np.random.default_rng(7)
    p = np.array([0.22, 0.24, 0.18, 0.12, 0.1, 0.08, 0.06])
    n = 40
    est, se = mc_plurality(rng, p, n, tie, 200_000)
    got = V.plurality_accuracy(p, n, tie=tie)
    assert abs(got - est) < 5 * se + 1e-4


def test_correlated_monte_carlo():
    rng = np.random.default_rng(3)
    p = np.array([0.4, 0.35, 0.25])
    est, se = mc_plurality(rng, p, 25, "random", 60_000, rho=0.15)
    assert abs(V.correlated_plurality_accuracy(p, 0.15, 25) - est) < 5 * se


def test_large_n_many_classes_exact_and_finite():
    # n = 10^4 votes over 64 answers, a close call between the correct and one wrong answer
    rng = np.random.default_rng(11)
    p = rng.dirichlet(np.ones(64))
    p[1] = p.max()
    p[0] = p[1] * 1.01
    p /= p.sum()
    n = 10_000
    got = V.plurality_accuracy(p, n, tie="random")
    assert np.isfinite(got) and 0.0 < got < 1.0
    est, se = mc_plurality(rng, p, n, "random", 40_000)
    assert abs(got - est) < 5 * se


def test_direct_and_fourier_engines_agree_beyond_enumeration():
    rng = np.random.default_rng(5)
    P = rng.dirichlet(np.ones(12) * 0.7, size=6)
    for n in (33, 64):
        for tie in V.TIE_RULES:
            d = V.plurality_accuracy(P, n, tie=tie, method="direct")
            f = V.plurality_accuracy(P, n, tie=tie, method="fourier")
            np.testing.assert_allclose(d, f, atol=1e-12)


# ---------------------------------------------------------------- binary majority, SC gain, limits


def binom_majority_reference(p, n, tie):
    out = sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(n // 2 + 1, n + 1))
    if tie == "random" and n % 2 == 0:
        out += 0.5 * math.comb(n, n // 2) * (p * (1 - p)) ** (n // 2)
    return out


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0, 1), n=st.integers(1, 60), tie=st.sampled_from(V.TIE_RULES))
def test_majority_accuracy_binary(p, n, tie):
    assert abs(V.majority_accuracy(p, n, tie=tie) - binom_majority_reference(p, n, tie)) < 1e-12


def test_binary_majority_equals_two_class_plurality():
    ps = np.linspace(0.05, 0.95, 7)
    for n in (1, 4, 9, 30):
        got = V.plurality_accuracy(np.stack([ps, 1 - ps], axis=-1), n, tie="random")
        np.testing.assert_allclose(got, V.majority_accuracy(ps, n), atol=1e-12)


def test_sc_gain_sign_consistent_vs_scattered_errors():
    # p_correct = 0.4 with scattered errors: voting helps; with one dominant wrong answer: it hurts
    scattered = np.array([0.4] + [0.06] * 10)
    consistent = np.array([0.35, 0.55, 0.1])
    assert V.sc_gain(scattered, 15) > 0.2
    assert V.sc_gain(consistent, 15) < -0.1
    assert V.sc_gain(scattered, 15) == pytest.approx(V.plurality_accuracy(scattered, 15) - 0.4, abs=1e-15)


def test_sc_gain_from_counts_is_unbiased_estimate():
    counts = np.array([5, 3, 2])
    assert V.sc_gain_from_counts(counts, 3) == pytest.approx(brute_maj_at_k([5, 3, 2], 3, "random") - 0.5, abs=1e-12)


def test_large_n_limit():
    probs = np.array([[0.45, 0.3, 0.25], [0.3, 0.45, 0.25], [0.4, 0.4, 0.2], [0.3, 0.3, 0.3]])
    lim = V.plurality_accuracy_limit(probs)
    np.testing.assert_array_equal(lim, [1.0, 0.0, 0.5, 1 / 3])
    exact = V.plurality_accuracy(probs, 3000)
    assert exact[0] > 0.999 and exact[1] < 1e-3 and abs(exact[2] - 0.5) < 1e-3


def test_easy_hard_turning_point_brute_force():
    p1, p2, alpha = 0.85, 0.4, 0.8
    tp = V.easy_hard_turning_point(p1, p2, alpha)
    assert tp["m_star"] == pytest.approx(4.17, abs=0.01)
    Ks = np.arange(1, 41, 2)
    F = [alpha * binom_majority_reference(p1, K, "strict") + (1 - alpha) * binom_majority_reference(p2, K, "strict") for K in Ks]
    assert tp["kind"] == "peak" and tp["K_star"] == Ks[int(np.argmax(F))] == 9
    np.testing.assert_allclose(V.easy_hard_mixture_accuracy(Ks, p1, p2, alpha), F, atol=1e-12)
    # p1 + p2 < 1: falls then rises
    # (0.6, 0.3, 0.3): m* = ln(0.06/0.28)/ln(0.21/0.24) = 11.5 by hand, so the minimum sits at K = 23
    Ks = np.arange(1, 81, 2)
    tp2 = V.easy_hard_turning_point(0.6, 0.3, 0.3)
    F2 = [0.3 * binom_majority_reference(0.6, K, "strict") + 0.7 * binom_majority_reference(0.3, K, "strict") for K in Ks]
    assert tp2["m_star"] == pytest.approx(np.log(0.06 / 0.28) / np.log(0.21 / 0.24))
    assert tp2["kind"] == "valley" and tp2["K_star"] == Ks[int(np.argmin(F2))]


# ---------------------------------------------------------------- batching and input handling


def test_batch_shapes_and_array_types():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(5), size=(2, 3))
    out = V.plurality_accuracy(P, 7)
    assert out.shape == (2, 3)
    ref = np.array([[brute_plurality(P[i, j], 7, "random") for j in range(3)] for i in range(2)])
    np.testing.assert_allclose(out, ref, atol=1e-12)
    np.testing.assert_allclose(V.plurality_accuracy(jnp.asarray(P, dtype=jnp.float32), 7), ref, atol=1e-6)
    # per-problem correct index
    corr = np.array([[0, 1, 2], [3, 4, 0]])
    out2 = V.plurality_accuracy(P, 4, correct=corr)
    ref2 = [[brute_plurality(P[i, j], 4, "random", corr[i, j]) for j in range(3)] for i in range(2)]
    np.testing.assert_allclose(out2, ref2, atol=1e-12)


@pytest.mark.parametrize(
    "call, field",
    [
        (lambda: V.plurality_accuracy([0.5, -0.1, 0.6], 3), "probs"),
        (lambda: V.plurality_accuracy([0.5, float("nan")], 3), "probs"),
        (lambda: V.plurality_accuracy([0.7, 0.6], 3), "probs"),
        (lambda: V.plurality_accuracy([0.5, 0.5], 0), "n"),
        (lambda: V.plurality_accuracy([0.5, 0.5], 2.5), "n"),
        (lambda: V.plurality_accuracy([0.5, 0.5], 3, tie="first"), "tie"),
        (lambda: V.plurality_accuracy([0.5, 0.5], 3, correct=2), "correct"),
        (lambda: V.maj_at_k([2, 1], 4), "k"),
        (lambda: V.maj_at_k([2, 1.5], 2), "counts"),
        (lambda: V.maj_at_k([2, -1], 1), "counts"),
        (lambda: V.correlated_plurality_accuracy([0.5, 0.5], 1.5, 3), "rho"),
        (lambda: V.majority_accuracy(1.2, 3), "p"),
        (lambda: V.easy_hard_turning_point(0.4, 0.3, 0.5), "p_easy"),
    ],
)
def test_bad_input_names_the_argument(call, field):
    with pytest.raises(ValueError, match=rf"^{field}:"):
        call()
