"""Tests for the empirical-Bayes deconvolution prior of theory.passk (Efron 2016 g-modeling).

References used (never outputs of the code under test): explicit Python loops over the grid with ``math``
(Bayes' rule term by term), exact enumeration of the binomial counts c = 0..n (the tower property
Σ_c P(c) E[Y | c] = E[Y]), the known prior of synthetic binomial data (its CDF and its pass@k, averaged over the
drawn p), central finite differences, and the shifts used to simulate pooled data.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from theory import passk
from theory.passk import (
    DeconvolutionFit,
    deconvolution_grid,
    deconvolution_pass_at_k,
    deconvolution_pass_at_k_quantile,
    deconvolution_pass_at_k_sd,
    deconvolution_posterior,
    deconvolution_prior_pass_at_k,
    fit_beta_binomial,
    fit_deconvolution_prior,
    fit_pooled_deconvolution_prior,
    posterior_pass_at_k,
    select_deconvolution_prior,
)

SETTINGS = settings(max_examples=40, deadline=None)


def _brute(grid, g, n, c, k):
    """Posterior weights, mean, E[Y²] and the sorted (Y, weight) pairs by explicit loops (math, no numpy)."""
    terms = [gj * (pj**c if c else 1.0) * ((1 - pj) ** (n - c) if n - c else 1.0) for pj, gj in zip(grid, g)]
    tot = sum(terms)
    w = [t / tot for t in terms]
    y = [1 - (1 - pj) ** k for pj in grid]
    m1 = sum(wj * yj for wj, yj in zip(w, y))
    m2 = sum(wj * yj * yj for wj, yj in zip(w, y))
    return w, m1, m2, y


def _lower_quantile(y, w, q):
    cum = 0.0
    for yj, wj in zip(y, w):  # grid increasing, so y increasing
        cum += wj
        if cum >= q - 1e-12:
            return yj
    return y[-1]


@st.composite
def _prior(draw):
    J = draw(st.integers(2, 6))
    pts = sorted(set(draw(st.lists(st.floats(0.001, 0.999), min_size=J, max_size=J))))
    if draw(st.booleans()):
        pts = [0.0] + pts  # an atom at p = 0
    w = draw(st.lists(st.floats(0.05, 1.0), min_size=len(pts), max_size=len(pts)))
    s = sum(w)
    return pts, [x / s for x in w]


@SETTINGS
@given(_prior(), st.integers(1, 12), st.data(), st.integers(0, 60), st.floats(0.0, 1.0))
def test_posterior_matches_brute_force(prior, n, data, k, q):
    grid, g = prior
    c = data.draw(st.integers(0, n))
    w_ref, m1, m2, y = _brute(grid, g, n, c, k)
    np.testing.assert_allclose(deconvolution_posterior(n, c, grid, g), w_ref, rtol=1e-10, atol=1e-14)
    assert deconvolution_pass_at_k(n, c, k, grid, g) == pytest.approx(m1, rel=1e-10, abs=1e-13)
    assert deconvolution_pass_at_k_sd(n, c, k, grid, g) == pytest.approx(math.sqrt(max(m2 - m1 * m1, 0.0)), rel=1e-7, abs=1e-7)
    assert deconvolution_pass_at_k_quantile(n, c, k, q, grid, g) == pytest.approx(_lower_quantile(y, w_ref, q), abs=1e-12)


def test_broadcasting_and_prior_pass_at_k():
    grid, g = [0.0, 0.01, 0.2, 0.7], [0.1, 0.4, 0.3, 0.2]
    n, c, k = np.array([[5], [8]]), np.array([[0], [3]]), np.array([1, 10, 1000])
    out = deconvolution_pass_at_k(n, c, k, grid, g)
    assert out.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert out[i, j] == pytest.approx(_brute(grid, g, int(n[i, 0]), int(c[i, 0]), int(k[j]))[1], rel=1e-12)
    assert deconvolution_pass_at_k(5, 0, 10, grid, g).shape == ()
    assert deconvolution_pass_at_k_quantile(n, c, k, 0.5, grid, g).shape == (2, 3)
    ref = [sum(gj * (1 - (1 - pj) ** kk) for pj, gj in zip(grid, g)) for kk in (1, 10, 1000)]
    np.testing.assert_allclose(deconvolution_prior_pass_at_k(grid, g, [1, 10, 1000]), ref, rtol=1e-12)


@pytest.mark.parametrize("k", [1, 7, 300, 10**4])
def test_tower_property_by_enumeration(k):
    """Σ_c P(c) E[pass@k | c] = E_g[pass@k] for the n + 1 counts of one problem (exact enumeration)."""
    grid = deconvolution_grid(41, 1e-4)
    eta = -0.5 * ((special.logit(grid) + 3) / 1.5) ** 2
    g = np.exp(eta) / np.exp(eta).sum()
    n = 30
    cs = np.arange(n + 1)
    pc = np.array([sum(gj * math.comb(n, int(cc)) * pj**cc * (1 - pj) ** (n - cc) for pj, gj in zip(grid, g)) for cc in cs])
    post = deconvolution_pass_at_k(n, cs, k, grid, g)
    prior_val = sum(gj * (1 - (1 - pj) ** k) for pj, gj in zip(grid, g))
    assert float(pc @ post) == pytest.approx(prior_val, rel=1e-9)


def _two_component(rng, P, near0=0.35, centre=2e-3):
    """p: a share ``near0`` logit-normal around ``centre`` (sd 1 in logit), the rest Beta(2, 5)."""
    low = special.expit(rng.normal(special.logit(centre), 1.0, P))
    return np.where(rng.random(P) < near0, low, rng.beta(2.0, 5.0, P))


def test_recovers_a_two_component_prior_with_mass_near_zero():
    """Synthetic counts from a known prior (35% logit-normal around p = 2e-3, 65% Beta(2, 5)), n = 2000 per problem:
    the fitted prior's CDF (away from the low mode's steep rise, which a spline of a few df smooths over about one
    knot spacing) and its dataset pass@k match the truth (Monte Carlo over the drawn p)."""
    rng = np.random.default_rng(3)
    P, n = 1500, 2000
    p = _two_component(rng, P)
    c = rng.binomial(n, p)
    fit = select_deconvolution_prior(np.full(P, n), c, seed=0)
    assert isinstance(fit, DeconvolutionFit) and fit.converged and fit.g.sum() == pytest.approx(1.0)
    assert fit.n_problems == P and 0 < fit.info_ratio < 0.2
    cdf = np.cumsum(fit.g)
    for x in (1e-5, 1e-4, 0.02, 0.05, 0.2, 0.4, 0.6):
        assert cdf[np.searchsorted(fit.grid, x, side="right") - 1] == pytest.approx(np.mean(p <= x), abs=0.04), x
    for k in (10, 100, 1000, 10**4):
        assert fit.pass_at_k(k) == pytest.approx(np.mean(1 - (1 - p) ** k), abs=0.03), k


def test_large_k_pass_at_k_from_few_samples_beats_a_beta_where_the_truth_is_not_a_beta():
    """128 samples per problem, truth = the two-component prior with its low mode at p = 0.01 (reachable: c = 0 has
    probability 0.28 there). The mean posterior pass@k at k = 10^3 and 10^4 is within 0.03 of the truth (the mean
    over the drawn p of 1 − (1 − p)^k), and closer than the beta-binomial posterior's."""
    rng = np.random.default_rng(5)
    P, n = 1000, 128
    p = _two_component(rng, P, near0=0.4, centre=1e-2)
    c = rng.binomial(n, p)
    fit = select_deconvolution_prior(np.full(P, n), c, seed=1)
    bb = fit_beta_binomial(np.full(P, n), c)
    for k in (1000, 10**4):
        true = float(np.mean(1 - (1 - p) ** k))
        pred = float(np.mean(deconvolution_pass_at_k(n, c, k, fit.grid, fit.g)))
        beta = float(np.mean(posterior_pass_at_k(n, c, k, 0.0, bb.alpha, bb.beta)))
        assert abs(pred - true) < 0.03, (k, pred, true)
        assert abs(pred - true) < abs(beta - true), (k, pred, beta, true)


def test_selection_reports_every_candidate_and_is_reproducible():
    rng = np.random.default_rng(7)
    p = rng.beta(0.6, 4.0, 300)
    c = rng.binomial(64, p)
    f1 = select_deconvolution_prior(np.full(300, 64), c, dfs=(3, 5), c0s=(0.1, 1.0), seed=4)
    f2 = select_deconvolution_prior(np.full(300, 64), c, dfs=(3, 5), c0s=(0.1, 1.0), seed=4)
    assert [s[:2] for s in f1.selection] == [(3, 0.1), (3, 1.0), (5, 0.1), (5, 1.0)]
    best = max(f1.selection, key=lambda s: s[2])
    assert (f1.df, f1.c0) == best[:2] and np.isfinite(best[2])
    np.testing.assert_array_equal(f1.g, f2.g)
    ref = fit_deconvolution_prior(np.full(300, 64), c, df=f1.df, c0=f1.c0)
    np.testing.assert_allclose(f1.g, ref.g)


def test_objective_gradient_and_hessian_by_finite_differences():
    """The analytic gradient/Hessian handed to the optimiser (single and pooled) against central differences."""
    rng = np.random.default_rng(1)
    grid = deconvolution_grid(61)
    caught = []
    real = passk._damped_newton

    def spy(f, h, x0, **kw):
        caught.append((f, h, np.asarray(x0)))
        return real(f, h, x0, **kw)

    passk._damped_newton = spy
    try:
        c = rng.binomial(40, rng.beta(0.7, 3.0, 200))
        fit_deconvolution_prior(np.full(200, 40), c, df=5, c0=1.0, grid=grid)
        gg = np.repeat([0, 1, 2], 80)
        c2 = rng.binomial(40, special.expit(rng.normal(-3, 1.5, 240) + np.array([-1.0, 0.0, 1.0])[gg]))
        fit_pooled_deconvolution_prior(np.full(240, 40), c2, gg, df=4, c0=1.0, grid=grid)
    finally:
        passk._damped_newton = real
    for f, h, x0 in caught:
        x = x0 + rng.normal(0, 0.3, len(x0))
        eps = 1e-6
        eye = np.eye(len(x))
        num_g = np.array([(f(x + eps * e)[0] - f(x - eps * e)[0]) / (2 * eps) for e in eye])
        num_h = np.array([(f(x + eps * e)[1] - f(x - eps * e)[1]) / (2 * eps) for e in eye])
        np.testing.assert_allclose(f(x)[1], num_g, atol=1e-5 * (1 + np.abs(num_g).max()))
        np.testing.assert_allclose(h(x), num_h, atol=1e-5 * (1 + np.abs(num_h).max()))


def test_pooled_recovers_shifts_and_shares_the_shape():
    """Three groups drawn from one logit-normal shape shifted by (−1.5, 0, +1.5): the fitted shifts' differences
    match (the fit's shifts sum to 0), and each group's prior reproduces its true pass@k."""
    rng = np.random.default_rng(11)
    P, n = 600, 256
    true_shift = np.array([-1.5, 0.0, 1.5])
    gg = np.repeat(np.arange(3), P)
    p = special.expit(rng.normal(-4.0, 1.2, 3 * P) + true_shift[gg])
    c = rng.binomial(n, p)
    fit = fit_pooled_deconvolution_prior(np.full(3 * P, n), c, gg, df=5, c0=1.0)
    assert fit.converged and fit.groups == (0, 1, 2) and sum(fit.shift) == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(np.diff(fit.shift), np.diff(true_shift), atol=0.25)
    for j in range(3):
        g = fit.prior_of(j)
        assert g.sum() == pytest.approx(1.0)
        for k in (100, 10**4):
            assert deconvolution_prior_pass_at_k(fit.grid, g, k) == pytest.approx(np.mean(1 - (1 - p[gg == j]) ** k), abs=0.03)
    with pytest.raises(ValueError, match="group"):
        fit.prior_of(7)


def test_pooled_leaves_out_degenerate_groups():
    rng = np.random.default_rng(2)
    gg = np.repeat(["a", "b", "z"], 100)
    c = np.concatenate([rng.binomial(32, 0.2, 100), rng.binomial(32, 0.05, 100), np.zeros(100, int)])
    fit = fit_pooled_deconvolution_prior(np.full(300, 32), c, gg, df=3, c0=1.0)
    assert fit.degenerate == ("z",) and np.all(np.isnan(fit.prior_of("z"))) and np.isnan(fit.shift[2])
    assert fit.n_problems == 200


def test_atom_at_zero_is_supported():
    rng = np.random.default_rng(9)
    p = np.where(rng.random(800) < 0.3, 0.0, rng.beta(2, 3, 800))
    c = rng.binomial(256, p)
    grid = deconvolution_grid(atom=True)
    fit = fit_deconvolution_prior(np.full(800, 256), c, grid=grid)
    assert fit.grid[0] == 0.0 and len(fit.coef) == fit.df + 1
    # mass at or below 1e-4 (the atom plus what the counts cannot tell from it) is the unsolvable share
    assert np.sum(fit.g[fit.grid <= 1e-4]) == pytest.approx(0.3, abs=0.05)
    # a problem with a success has zero posterior mass on the atom
    assert deconvolution_posterior(256, 3, fit.grid, fit.g)[0] == 0.0


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: fit_deconvolution_prior([10, 10], [-1, 3]), "c"),
        (lambda: fit_deconvolution_prior([10, 10], [11, 3]), "c"),
        (lambda: fit_deconvolution_prior([], []), "n"),
        (lambda: fit_deconvolution_prior([0, 0], [0, 0]), "n"),
        (lambda: fit_deconvolution_prior([10, 10], [0, 0]), "c"),
        (lambda: fit_deconvolution_prior([10, 10], [10, 10]), "c"),
        (lambda: fit_deconvolution_prior([10, 10], [1, 3], df=1), "df"),
        (lambda: fit_deconvolution_prior([10, 10], [1, 3], df=2.5), "df"),
        (lambda: fit_deconvolution_prior([10, 10], [1, 3], c0=-1.0), "c0"),
        (lambda: fit_deconvolution_prior([10, 10], [1, 3], grid=[0.5, 0.2, 0.7]), "grid"),
        (lambda: fit_deconvolution_prior([10, 10], [1, 3], grid=[0.1, 1.5]), "grid"),
        (lambda: fit_pooled_deconvolution_prior([10, 10], [1, 3], [0]), "n, c, groups"),
        (lambda: fit_pooled_deconvolution_prior([10, 10], [0, 0], [0, 1]), "c"),
        (lambda: fit_pooled_deconvolution_prior([10, 10], [1, 3], [0, 1], grid=deconvolution_grid(atom=True)), "grid"),
        (lambda: select_deconvolution_prior([10, 10], [1, 3], dfs=()), "dfs"),
        (lambda: select_deconvolution_prior([10, 10], [1, 3], seed="x"), "seed"),
        (lambda: deconvolution_pass_at_k(5, 6, 10, [0.1, 0.5], [0.5, 0.5]), "c"),
        (lambda: deconvolution_pass_at_k(5, -1, 10, [0.1, 0.5], [0.5, 0.5]), "c"),
        (lambda: deconvolution_pass_at_k(5, 1, -3, [0.1, 0.5], [0.5, 0.5]), "k"),
        (lambda: deconvolution_pass_at_k(5, 1, 10, [0.1, 0.5], [0.6, 0.5]), "g"),
        (lambda: deconvolution_pass_at_k(5, 1, 10, [0.1, 0.5], [0.5, 0.25, 0.25]), "g"),
        (lambda: deconvolution_pass_at_k(5, 1, 10, [], []), "grid"),
        (lambda: deconvolution_pass_at_k(5, 1, 10, [0.0, 0.5], [1.0, 0.0]), "c"),  # c = 1 impossible under g
        (lambda: deconvolution_pass_at_k_quantile(5, 1, 10, 1.5, [0.1, 0.5], [0.5, 0.5]), "q"),
        (lambda: deconvolution_grid(3), "n_points"),
        (lambda: deconvolution_grid(50, 0.7), "p_min"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}"):
        call()
