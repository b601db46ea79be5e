"""theory.passk: the zero-inflated beta-binomial, per-problem posterior pass@k and the pooled-shape fit, against
numerical integration (scipy.integrate.quad), exact rational Bayes' rule (sympy), Monte Carlo draws from the
posterior, scipy.stats.betabinom and a brute-force optimiser."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize, stats

from theory.passk import (
    beta_binomial_logpmf,
    fit_beta_binomial,
    fit_pooled_beta_binomial,
    fit_zero_inflated_beta_binomial,
    posterior_pass_at_k,
    posterior_pass_at_k_quantile,
    posterior_pass_at_k_sd,
    posterior_prob_solvable,
    predicted_pass_at_k,
    zero_inflated_beta_binomial_logpmf,
)


def test_logpmf_is_the_integral_of_the_binomial_over_the_prior():
    for n, c, pi0, a, b in ((10, 0, 0.3, 0.7, 2.5), (10, 3, 0.3, 0.7, 2.5), (40, 0, 0.05, 0.2, 9.0), (7, 7, 0.6, 3.0, 0.4)):
        beta_part, _ = integrate.quad(lambda p: stats.binom.pmf(c, n, p) * stats.beta.pdf(p, a, b), 0, 1, epsabs=1e-14, limit=200)
        ref = pi0 * (c == 0) + (1 - pi0) * beta_part
        assert float(zero_inflated_beta_binomial_logpmf(c, n, pi0, a, b)) == pytest.approx(np.log(ref), abs=1e-8)
    # π₀ = 0 is the beta-binomial; the pmf sums to 1
    c = np.arange(13)
    np.testing.assert_allclose(zero_inflated_beta_binomial_logpmf(c, 12, 0.0, 1.3, 0.4), stats.betabinom.logpmf(c, 12, 1.3, 0.4), atol=1e-12)
    np.testing.assert_allclose(np.exp(zero_inflated_beta_binomial_logpmf(c, 12, 0.25, 1.3, 0.4)).sum(), 1.0, atol=1e-12)
    with pytest.raises(ValueError, match="pi0"):
        zero_inflated_beta_binomial_logpmf(0, 5, 1.0, 1.0, 1.0)


def test_posterior_solvable_is_exact_bayes_rule():
    # integer α, β: B(α, β + n)/B(α, β) is rational, so P(p > 0 | c = 0) is an exact fraction
    a, b, n = 2, 3, 6
    pi0 = sp.Rational(1, 4)
    p = sp.symbols("p")
    marg = sp.integrate(p ** (a - 1) * (1 - p) ** (b - 1) * (1 - p) ** n, (p, 0, 1)) / sp.integrate(p ** (a - 1) * (1 - p) ** (b - 1), (p, 0, 1))
    exact = (1 - pi0) * marg / (pi0 + (1 - pi0) * marg)
    assert float(posterior_prob_solvable(n, 0, 0.25, a, b)) == pytest.approx(float(exact), rel=1e-13)
    assert float(posterior_prob_solvable(n, 2, 0.25, a, b)) == 1.0
    assert float(posterior_prob_solvable(n, 0, 0.0, a, b)) == 1.0


def _posterior_density_moments(n, c, k, pi0, a, b):
    """E[Y], E[Y²] of Y = 1 − (1 − p)^k by quadrature of prior × likelihood (Bayes' rule, not the closed form)."""
    lik = lambda p: p**c * (1 - p) ** (n - c)  # noqa: E731
    prior = lambda p: stats.beta.pdf(p, a, b)  # noqa: E731
    z = integrate.quad(lambda p: lik(p) * prior(p), 0, 1, epsabs=0, epsrel=1e-12, limit=400)[0] * (1 - pi0) + pi0 * (c == 0)
    m = [integrate.quad(lambda p: (1 - (1 - p) ** k) ** j * lik(p) * prior(p), 0, 1, epsabs=0, epsrel=1e-12, limit=400)[0] * (1 - pi0) / z
         for j in (1, 2)]
    return m[0], m[1]


def test_posterior_pass_at_k_and_sd_by_quadrature():
    for n, c, k, pi0, a, b in ((20, 0, 50, 0.4, 0.6, 4.0), (20, 2, 5, 0.4, 0.6, 4.0), (8, 0, 1000, 0.1, 0.3, 30.0), (5, 5, 3, 0.2, 2.0, 1.0)):
        m1, m2 = _posterior_density_moments(n, c, k, pi0, a, b)
        assert float(posterior_pass_at_k(n, c, k, pi0, a, b)) == pytest.approx(m1, abs=1e-9)
        assert float(posterior_pass_at_k_sd(n, c, k, pi0, a, b)) == pytest.approx(np.sqrt(max(m2 - m1 * m1, 0)), abs=1e-7)


def test_pi0_zero_limit_is_the_beta_binomial_posterior_prediction():
    n, c = np.array([10, 10, 50, 3]), np.array([0, 4, 1, 3])
    for k in (1, 7, 10**3, 10**6):
        np.testing.assert_allclose(posterior_pass_at_k(n, c, k, 0.0, 0.4, 3.0), predicted_pass_at_k(0.4 + c, 3.0 + n - c, k), rtol=1e-13)


def test_posterior_against_monte_carlo_draws_and_quantiles():
    rng = np.random.default_rng(4)
    n, c, pi0, a, b, k = 30, 0, 0.35, 0.5, 6.0, 200
    w = float(posterior_prob_solvable(n, c, pi0, a, b))
    S = 200000
    p = np.where(rng.random(S) < w, rng.beta(a + c, b + n - c, S), 0.0)
    y = 1 - (1 - p) ** k
    assert float(posterior_pass_at_k(n, c, k, pi0, a, b)) == pytest.approx(y.mean(), abs=4.5 * y.std() / np.sqrt(S))
    assert 0.3 < 1 - w < 0.8  # a real atom at p = 0 in this case
    for q in (0.1, 1 - w + 0.05, 0.8, 0.9, 0.975):  # the quantile: P(Y < y_q) <= q <= P(Y <= y_q) (the atom makes it a jump)
        got = float(posterior_pass_at_k_quantile(n, c, k, q, pi0, a, b))
        assert np.mean(y < got - 1e-12) - 0.005 <= q <= np.mean(y <= got + 1e-12) + 0.005, (q, got)
    assert float(posterior_pass_at_k_quantile(n, c, k, 0.5 * (1 - w), pi0, a, b)) == 0.0  # inside the atom at p = 0


def _simulate(P, n, pi0, a, b, rng):
    p = np.where(rng.random(P) < pi0, 0.0, rng.beta(a, b, P))
    return np.full(P, n), rng.binomial(n, p)


def test_zero_inflated_fit_recovers_parameters_and_maximizes_the_likelihood():
    rng = np.random.default_rng(0)
    n, c = _simulate(4000, 40, 0.3, 0.8, 4.0, rng)
    fit = fit_zero_inflated_beta_binomial(n, c)
    assert fit.converged and fit.n_problems == 4000
    assert fit.pi0 == pytest.approx(0.3, abs=0.05) and fit.alpha == pytest.approx(0.8, rel=0.2) and fit.beta == pytest.approx(4.0, rel=0.25)
    ll = lambda x: float(np.sum(zero_inflated_beta_binomial_logpmf(c, n, x[0], x[1], x[2])))  # noqa: E731
    assert fit.log_likelihood == pytest.approx(ll([fit.pi0, fit.alpha, fit.beta]), rel=1e-12)
    nm = optimize.minimize(lambda x: -ll([1 / (1 + np.exp(-x[0])), np.exp(x[1]), np.exp(x[2])]), [0.0, 0.0, 1.0], method="Nelder-Mead",
                           options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 5000})
    assert fit.log_likelihood >= -nm.fun - 1e-6
    # no zero inflation in the data: π̂₀ near 0 and the fit close to the plain beta-binomial's likelihood
    n2, c2 = _simulate(3000, 30, 0.0, 1.5, 3.0, rng)
    f2, plain = fit_zero_inflated_beta_binomial(n2, c2), fit_beta_binomial(n2, c2)
    assert f2.pi0 < 0.02 and f2.log_likelihood >= plain.log_likelihood - 1e-8 and f2.log_likelihood - plain.log_likelihood < 2.0
    with pytest.raises(ValueError, match="every problem has c = 0"):
        fit_zero_inflated_beta_binomial([5, 5], [0, 0])


def test_pooled_fit_shares_alpha_and_matches_brute_force():
    rng = np.random.default_rng(2)
    g = np.repeat([10, 20, 30], 150)
    p = rng.beta(0.5, np.array([2.0, 8.0, 20.0])[g // 10 - 1])
    n = np.full(len(g), 60)
    c = rng.binomial(n, p)
    n[::37] = 0  # problems without samples are ignored
    c[::37] = 0
    fit = fit_pooled_beta_binomial(n, c, g)
    assert fit.groups == (10, 20, 30) and fit.degenerate == () and fit.converged

    def total(x):
        keep = n > 0
        return -float(np.sum(stats.betabinom.logpmf(c[keep], n[keep], np.exp(x[0]), np.exp(x[1:])[g[keep] // 10 - 1])))

    nm = optimize.minimize(total, np.log([0.5, 2.0, 8.0, 20.0]), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-11, "maxiter": 20000})
    assert fit.log_likelihood == pytest.approx(-total(np.log([fit.alpha, *fit.beta])), rel=1e-12)
    assert fit.log_likelihood >= -nm.fun - 1e-6
    assert fit.alpha == pytest.approx(np.exp(nm.x[0]), rel=1e-3)
    # one group: the plain beta-binomial fit; a group without any success is left out and listed
    one = fit_pooled_beta_binomial(n[g == 10], c[g == 10], g[g == 10])
    plain = fit_beta_binomial(n[g == 10], c[g == 10])
    assert one.alpha == pytest.approx(plain.alpha, rel=1e-5) and one.beta[0] == pytest.approx(plain.beta, rel=1e-5)
    g2 = np.concatenate([g, np.full(20, 99)])
    f3 = fit_pooled_beta_binomial(np.concatenate([n, np.full(20, 60)]), np.concatenate([c, np.zeros(20, int)]), g2)
    assert f3.degenerate == (99,) and np.isnan(f3.beta_of(99)) and f3.alpha == pytest.approx(fit.alpha, rel=1e-6)
    with pytest.raises(ValueError, match="group"):
        f3.beta_of(5)
    with pytest.raises(ValueError, match="n, c, groups"):
        fit_pooled_beta_binomial([5, 5], [1, 2], [0])


def test_zero_inflated_fit_reduces_large_k_predictions_for_unsolvable_problems():
    # 40% of the problems are unsolvable: the plain beta-binomial gives them p > 0 and over-predicts pass@k at
    # large k; the zero-inflated posterior comes close to the truth (mean of 1 − (1 − p)^k over the drawn p)
    rng = np.random.default_rng(9)
    P, n = 3000, 50
    p = np.where(rng.random(P) < 0.4, 0.0, rng.beta(1.0, 3.0, P))
    c = rng.binomial(n, p)
    k = 10**4
    truth = float(np.mean(1 - (1 - p) ** k))
    zi, bb = fit_zero_inflated_beta_binomial(np.full(P, n), c), fit_beta_binomial(np.full(P, n), c)
    pred_zi = float(np.mean(posterior_pass_at_k(n, c, k, zi.pi0, zi.alpha, zi.beta)))
    pred_bb = float(np.mean(predicted_pass_at_k(bb.alpha + c, bb.beta + n - c, k)))
    assert abs(pred_zi - truth) < 0.01 < pred_bb - truth
    assert float(beta_binomial_logpmf(0, 5, 1.0, 1.0)) == pytest.approx(np.log(1 / 6))
