"""Tests for theory.stability (pass^k, G-Pass@k_τ, mG-Pass@k) against independent references.

References (never outputs of the code under test): enumeration of all k-subsets (itertools.combinations),
exact rational arithmetic (fractions.Fraction, math.comb), Monte Carlo k-subsets drawn without replacement
and Binomial(n, p) sample counts, a sympy proof of unbiasedness, and ``theory.passk.pass_at_k``.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from theory import stability as S
from theory.passk import pass_at_k
from theory.symbolic import check_identity

SETTINGS = settings(max_examples=60, deadline=None)


def exact_tail(n: int, c: int, k: int, m: int) -> Fraction:
    """Σ_{j >= m} C(c, j) C(n − c, k − j)/C(n, k) as an exact rational."""
    return Fraction(sum(math.comb(c, j) * math.comb(n - c, k - j) for j in range(max(m, 0), min(c, k) + 1)), math.comb(n, k))


def exact_mg(n: int, c: int, k: int) -> Fraction:
    """The paper's mG-Pass@k, (2/k) Σ_{i=⌈k/2⌉+1}^{k} G-Pass@k_{i/k}, as an exact rational."""
    h = -(-k // 2)
    return Fraction(2, k) * sum((exact_tail(n, c, k, i) for i in range(h + 1, k + 1)), Fraction(0))


def rel_err(value: float, exact: Fraction) -> float:
    return abs(value - float(exact)) / float(exact) if exact else abs(value)


# ----------------------------------------------------------------------------------------------------
# brute force over every k-subset
# ----------------------------------------------------------------------------------------------------


def test_all_metrics_equal_k_subset_enumeration():
    """Every (n, c, k) with n <= 8: the mean over all C(n, k) subsets of the indicator, exactly."""
    rows, want_hat, want_g, want_mg = [], [], {}, []
    taus = (0.1, 0.25, 0.5, 0.6, 0.75, 1.0)
    for n in range(1, 9):
        for c in range(n + 1):
            samples = [1] * c + [0] * (n - c)
            for k in range(1, n + 1):
                hits = [sum(samples[i] for i in s) for s in itertools.combinations(range(n), k)]
                total = len(hits)
                rows.append((n, c, k))
                want_hat.append(Fraction(sum(h == k for h in hits), total))
                for tau in taus:
                    m = math.ceil(Fraction(str(tau)) * k)  # decimal τ, exact ceiling
                    want_g.setdefault(tau, []).append(Fraction(sum(h >= m for h in hits), total))
                half = -(-k // 2)
                want_mg.append(Fraction(2, k) * sum(Fraction(sum(h >= i for h in hits), total) for i in range(half + 1, k + 1)))
    n, c, k = (np.array(x) for x in zip(*rows))
    np.testing.assert_allclose(S.pass_hat_k(n, c, k), [float(x) for x in want_hat], rtol=1e-14, atol=0)
    for tau in taus:
        np.testing.assert_allclose(S.g_pass_at_k(n, c, k, tau), [float(x) for x in want_g[tau]], rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(S.mg_pass_at_k(n, c, k), [float(x) for x in want_mg], rtol=1e-14, atol=1e-300)


def test_tail_matches_exact_rationals_small_and_large_n():
    rng = np.random.default_rng(0)
    cases = []
    for _ in range(300):
        n = int(rng.integers(1, 121))
        c, k = int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))
        cases.append((n, c, k, int(rng.integers(0, k + 2))))
    # large n: tiny and near-one tails, long walks from either end, the τ = 1 and m = 1 special cases
    cases += [(10**6, 999_000, 1000, 990), (10**6, 500_000, 64, 40), (10**6, 600, 1000, 2), (10**5, 99_990, 200, 199),
              (10**6, 10**6 - 3, 500, 498), (10**6, 400_000, 300, 150), (10**6, 999_000, 1000, 1000), (10**6, 7, 1000, 1)]
    n, c, k, m = (np.array(x) for x in zip(*cases))
    got = S.at_least_m_of_k(n, c, k, m)
    errs = [rel_err(float(g), exact_tail(*cs)) for g, cs in zip(got, cases)]
    assert max(errs) < 1e-13, cases[int(np.argmax(errs))]


def test_mg_matches_exact_rationals():
    rng = np.random.default_rng(1)
    cases = [(int(n), int(rng.integers(0, n + 1)), int(rng.integers(1, n + 1))) for n in rng.integers(1, 80, size=150)]
    cases += [(10**5, 60_000, 64), (10**5, 30, 200), (10**5, 99_999, 101)]
    n, c, k = (np.array(x) for x in zip(*cases))
    got = S.mg_pass_at_k(n, c, k)
    errs = [rel_err(float(g), exact_mg(*cs)) for g, cs in zip(got, cases)]
    assert max(errs) < 1e-13, cases[int(np.argmax(errs))]


def test_pass_hat_k_keeps_relative_accuracy_where_it_underflows_in_linear_space():
    n, c, k = 10**6, 500_000, 1000
    exact = Fraction(math.comb(c, k), math.comb(n, k))
    log_exact = math.log(exact.numerator) - math.log(exact.denominator)
    assert abs(S.log_pass_hat_k(n, c, k) - log_exact) < 1e-11 * abs(log_exact)
    assert S.pass_hat_k(n, c, k) == 0.0 or rel_err(S.pass_hat_k(n, c, k), exact) < 1e-12
    assert np.isneginf(S.log_pass_hat_k(10, 3, 4)) and S.pass_hat_k(10, 3, 4) == 0.0


# ----------------------------------------------------------------------------------------------------
# Monte Carlo
# ----------------------------------------------------------------------------------------------------


def test_monte_carlo_k_subsets_without_replacement():
    """Random k-subsets of one fixed sample of n = 300 (c = 120 correct): the fraction of subsets meeting each
    threshold is within 5 standard errors of the estimator."""
    rng = np.random.default_rng(2)
    n, c, k, B = 300, 120, 24, 20_000
    correct = np.zeros(n, bool)
    correct[:c] = True
    subsets = np.argsort(rng.random((B, n)), axis=1)[:, :k]
    x = correct[subsets].sum(axis=1)
    for tau in (0.25, 0.5, 0.75):
        m = math.ceil(Fraction(str(tau)) * k)
        est = S.g_pass_at_k(n, c, k, tau)
        mc = np.mean(x >= m)
        assert abs(mc - est) < 5 * math.sqrt(est * (1 - est) / B) + 1e-12, (tau, mc, est)
    h = -(-k // 2)
    mc_mg = np.mean(2 / k * np.maximum(x - h, 0))
    se = np.std(2 / k * np.maximum(x - h, 0)) / math.sqrt(B)
    assert abs(mc_mg - S.mg_pass_at_k(n, c, k)) < 5 * se + 1e-12
    # pass^k with many correct samples (an all-correct subset must be likely enough to be seen)
    x2 = np.ones(n, bool)
    x2[:6] = False
    est = S.pass_hat_k(n, n - 6, k)
    mc = np.mean(x2[subsets].all(axis=1))
    assert abs(mc - est) < 5 * math.sqrt(est * (1 - est) / B)


def test_unbiased_under_binomial_counts_monte_carlo():
    """c ~ Binomial(n, p): the mean estimate over many draws is the population value (``*_from_p``)."""
    rng = np.random.default_rng(3)
    n, k, R = 40, 8, 40_000
    for p in (0.2, 0.55, 0.9):
        c = rng.binomial(n, p, size=R)
        for est, pop in [(S.pass_hat_k(n, c, k), S.pass_hat_k_from_p(p, k)),
                         (S.g_pass_at_k(n, c, k, 0.5), S.g_pass_at_k_from_p(p, k, 0.5)),
                         (S.g_pass_at_k(n, c, k, 0.75), S.g_pass_at_k_from_p(p, k, 0.75)),
                         (S.mg_pass_at_k(n, c, k), S.mg_pass_at_k_from_p(p, k))]:
            assert abs(est.mean() - pop) < 5 * est.std() / math.sqrt(R) + 1e-12, (p, est.mean(), pop)


def test_population_values_against_direct_binomial_sums():
    for p in (0.0, 0.3, 0.77, 1.0):
        for k in (1, 2, 5, 8):
            pmf = [math.comb(k, j) * p**j * (1 - p) ** (k - j) for j in range(k + 1)]
            assert S.pass_hat_k_from_p(p, k) == pytest.approx(p**k, abs=1e-15)
            for tau in (0.3, 0.5, 1.0):
                m = math.ceil(Fraction(str(tau)) * k)
                assert S.g_pass_at_k_from_p(p, k, tau) == pytest.approx(sum(pmf[m:]), abs=1e-14)
            h = -(-k // 2)
            assert S.mg_pass_at_k_from_p(p, k) == pytest.approx(2 / k * sum(max(j - h, 0) * pmf[j] for j in range(k + 1)), abs=1e-14)


# ----------------------------------------------------------------------------------------------------
# identities
# ----------------------------------------------------------------------------------------------------


def test_g_pass_at_first_threshold_is_pass_at_k_and_at_one_is_pass_hat_k():
    rng = np.random.default_rng(4)
    n = np.concatenate([rng.integers(1, 200, 500), np.full(20, 10**6)])
    c = (rng.random(n.size) * (n + 1)).astype(np.int64)
    k = np.maximum(1, (rng.random(n.size) * (n + 1)).astype(np.int64).clip(max=n))
    k[-20:] = rng.integers(1, 2000, 20)
    tau_first = 1.0 / k  # ⌈τk⌉ = 1
    np.testing.assert_array_equal(S.g_pass_at_k(n, c, k, tau_first), pass_at_k(n, c, k))
    np.testing.assert_array_equal(S.at_least_m_of_k(n, c, k, 1), pass_at_k(n, c, k))
    # k >= 2 bitwise; at k = 1 (both are c/n) m = 1 takes pass@k's kernel, within an ulp of pass^1's
    big = k >= 2
    np.testing.assert_array_equal(S.g_pass_at_k(n, c, k, 1.0)[big], S.pass_hat_k(n, c, k)[big])
    np.testing.assert_array_equal(S.at_least_m_of_k(n, c, k, k)[big], S.pass_hat_k(n, c, k)[big])
    np.testing.assert_allclose(S.g_pass_at_k(n, c, k, 1.0), S.pass_hat_k(n, c, k), rtol=1e-15, atol=0)
    # any τ <= 1/k has the same threshold
    np.testing.assert_array_equal(S.g_pass_at_k(n, c, k, 0.5 / k), pass_at_k(n, c, k))


def test_k_equals_one_and_edges():
    n, c = np.arange(1, 30), np.arange(1, 30) // 3
    np.testing.assert_allclose(S.pass_hat_k(n, c, 1), c / n, rtol=1e-15)
    np.testing.assert_allclose(S.g_pass_at_k(n, c, 1, 0.3), c / n, rtol=1e-15)
    assert np.all(S.mg_pass_at_k(n, c, 1) == 0)  # the paper's sum is empty at k = 1
    assert S.at_least_m_of_k(10, 4, 5, 0) == 1.0 and S.at_least_m_of_k(10, 4, 5, 6) == 0.0
    assert S.g_pass_at_k(10, 10, 7, 0.9) == 1.0 and S.g_pass_at_k(10, 0, 7, 0.2) == 0.0
    assert S.mg_pass_at_k(10, 10, 6) == pytest.approx(2 / 6 * 3)  # X = 6 always: (2/k)(k − ⌈k/2⌉)


def test_mg_is_the_papers_sum_of_g_pass_and_the_integral_for_even_k():
    rng = np.random.default_rng(5)
    for k in (2, 3, 7, 8, 16, 33):
        n = np.full(40, 64)
        c = rng.integers(0, 65, 40)
        g = {i: S.g_pass_at_k(n, c, k, i / k) for i in range(1, k + 1)}
        h = -(-k // 2)
        paper = 2 / k * sum((g[i] for i in range(h + 1, k + 1)), np.zeros(40))
        np.testing.assert_allclose(S.mg_pass_at_k(n, c, k), paper, rtol=1e-13, atol=1e-15)
        # 2 ∫_{1/2}^{1} G-Pass@k_τ dτ of the step function (⌈τk⌉ = i on τ ∈ ((i − 1)/k, i/k])
        integral = 2 * sum((g[i] * (min(i / k, 1) - max((i - 1) / k, 0.5)) for i in range(h, k + 1)), np.zeros(40))
        if k % 2 == 0:
            np.testing.assert_allclose(S.mg_pass_at_k(n, c, k), integral, rtol=1e-13, atol=1e-15)
        else:  # the sum leaves out the slice (1/2, ⌈k/2⌉/k] of width 1/(2k)
            np.testing.assert_allclose(S.mg_pass_at_k(n, c, k) + g[h] / k, integral, rtol=1e-13, atol=1e-15)


def test_threshold_count_is_the_decimal_ceiling():
    assert S.threshold_count(100, 0.07) == 7  # 0.07 * 100 = 7.000000000000001 in floating point
    assert S.threshold_count(10, 0.9) == 9 and S.threshold_count(10, 0.91) == 10 and S.threshold_count(3, 0.5) == 2
    for k in range(1, 120):
        np.testing.assert_array_equal(S.threshold_count(k, np.arange(1, k + 1) / k), np.arange(1, k + 1))
    assert S.threshold_count(5, 1e-12) == 1


def test_unbiasedness_proved_with_sympy():
    """E_{c ~ Binomial(n, p)}[estimator] is the Binomial(k, p) tail, as a polynomial identity in p (sympy),
    for every n <= 6, k <= n, m <= k; the tail estimators are the exact rationals that the functions match."""
    p = sp.Symbol("p")
    for n in range(1, 7):
        for k in range(1, n + 1):
            for m in range(1, k + 1):
                lhs = sum(sp.binomial(n, c) * p**c * (1 - p) ** (n - c) * sp.Rational(*_frac(exact_tail(n, c, k, m)))
                          for c in range(n + 1))
                rhs = sum(sp.binomial(k, j) * p**j * (1 - p) ** (k - j) for j in range(m, k + 1))
                chk = check_identity(lhs, rhs, method="expand")
                assert chk, (n, k, m, chk.info)
                got = S.at_least_m_of_k(n, np.arange(n + 1), k, m)
                np.testing.assert_allclose(got, [float(exact_tail(n, c, k, m)) for c in range(n + 1)], rtol=1e-14)
    # negative control: pass^k is not unbiased for p^k with the biased plug-in (c/n)^k
    lhs = sum(sp.binomial(4, c) * p**c * (1 - p) ** (4 - c) * sp.Rational(c, 4) ** 2 for c in range(5))
    assert not check_identity(lhs, p**2, method="expand")


def _frac(x: Fraction) -> tuple[int, int]:
    return x.numerator, x.denominator


# ----------------------------------------------------------------------------------------------------
# properties
# ----------------------------------------------------------------------------------------------------


@st.composite
def n_k_tau(draw, n_max=300):
    n = draw(st.integers(1, n_max))
    k = draw(st.integers(1, n))
    tau = draw(st.floats(1e-6, 1.0))
    return n, k, tau


@SETTINGS
@given(n_k_tau())
def test_monotone_in_c_and_bounded(args):
    n, k, tau = args
    c = np.arange(n + 1)
    for f in (S.pass_hat_k(n, c, k), S.g_pass_at_k(n, c, k, tau), S.mg_pass_at_k(n, c, k)):
        assert np.all((f >= 0) & (f <= 1))
        assert np.all(np.diff(f) >= -1e-15)
    assert S.pass_hat_k(n, 0, k) == 0.0 and S.g_pass_at_k(n, n, k, tau) == 1.0


@SETTINGS
@given(n_k_tau(), st.floats(1e-6, 1.0))
def test_ordered_in_tau_and_between_pass_hat_k_and_pass_at_k(args, tau2):
    n, k, tau = args
    c = np.arange(n + 1)
    lo_t, hi_t = min(tau, tau2), max(tau, tau2)
    g_lo, g_hi = S.g_pass_at_k(n, c, k, lo_t), S.g_pass_at_k(n, c, k, hi_t)
    assert np.all(g_hi <= g_lo + 1e-15)
    assert np.all(S.pass_hat_k(n, c, k) <= g_hi + 1e-15) and np.all(g_lo <= pass_at_k(n, c, k) + 1e-15)
    assert np.all(S.mg_pass_at_k(n, c, k) <= S.g_pass_at_k(n, c, k, 0.5) + 1e-15)


@SETTINGS
@given(st.integers(1, 60), st.data())
def test_scalar_and_broadcast_shapes(n, data):
    k = data.draw(st.integers(1, n))
    c = data.draw(st.integers(0, n))
    v = S.g_pass_at_k(n, c, k, 0.5)
    assert isinstance(v, np.float64) and np.ndim(v) == 0
    grid = S.g_pass_at_k(n, np.array([[c], [c]]), k, np.array([0.25, 0.5, 1.0]))
    assert grid.shape == (2, 3) and grid[0, 1] == v
    assert S.mg_pass_at_k([n, n], c, k).shape == (2,)


def test_jax_arrays_are_accepted():
    jnp = pytest.importorskip("jax.numpy")
    np.testing.assert_allclose(S.g_pass_at_k(jnp.array([10, 20]), jnp.array([3, 15]), 4, 0.5),
                               S.g_pass_at_k([10, 20], [3, 15], 4, 0.5), rtol=0)


# ----------------------------------------------------------------------------------------------------
# bad input
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, match", [
    (lambda: S.pass_hat_k(5, 2, 6), r"^k: must be <= n, got k=6 > n=5"),
    (lambda: S.g_pass_at_k(5, 6, 2, 0.5), r"^c: must be <= n, got c=6 > n=5"),
    (lambda: S.mg_pass_at_k(5, -1, 2), r"^c: counts must be >= 0, got -1"),
    (lambda: S.pass_hat_k(0, 0, 1), r"^n: counts must be >= 1, got 0"),
    (lambda: S.g_pass_at_k(5, 2, 0, 0.5), r"^k: counts must be >= 1, got 0"),
    (lambda: S.g_pass_at_k(5, 2, 2.5, 0.5), r"^k: counts must be integers, got 2.5"),
    (lambda: S.g_pass_at_k(5, 2, 3, 0.0), r"^tau: must lie in \(0, 1\], got 0.0"),
    (lambda: S.g_pass_at_k(5, 2, 3, [0.5, 1.5]), r"^tau: must lie in \(0, 1\], got 1.5 at index \(1,\)"),
    (lambda: S.g_pass_at_k(5, 2, 3, float("nan")), r"^tau: entries must be finite, got nan"),
    (lambda: S.threshold_count(4, -0.2), r"^tau: must lie in \(0, 1\], got -0.2"),
    (lambda: S.at_least_m_of_k(5, 2, 3, -1), r"^m: counts must be >= 0, got -1"),
    (lambda: S.g_pass_at_k_from_p(1.2, 3, 0.5), r"^p: probabilities must lie in \[0, 1\], got 1.2"),
    (lambda: S.pass_hat_k_from_p(0.5, 0), r"^k: counts must be >= 1, got 0"),
])
def test_bad_input_names_the_argument_and_value(call, match):
    with pytest.raises(ValueError, match=match):
        call()
