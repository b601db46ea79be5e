"""pass@k, coverage and beta-binomial difficulty models.

All functions are small, pure and vectorised: inputs may be NumPy arrays, JAX arrays, nested lists or
Python scalars; they are broadcast against each other and the result is a float64 NumPy array (a NumPy
float64 scalar when every input was a scalar). Every quantity returned is a probability (unitless, in
[0, 1]) unless the docstring says otherwise; counts (n, c, k) are numbers of samples.

Notation: a problem was sampled ``n`` times and ``c`` of the samples are correct; ``k`` is the number of
samples drawn to solve it; ``p`` is a per-sample success probability.

References
----------
- Chen et al. 2021, "Evaluating Large Language Models Trained on Code" (Codex paper): the unbiased
  pass@k estimator 1 − C(n−c, k)/C(n, k).
- Brown et al. 2024, "Large Language Monkeys": coverage (fraction of problems solved by any sample).
- Schaeffer et al. 2025, "How Do Large Language Monkeys Get Their Power (Laws)?": if p ~ Beta(α, β)
  across problems then 1 − pass_D@k = B(α, β + k)/B(α, β) ~ Γ(α+β)/Γ(β) · k^(−α).
- Efron 2016, "Empirical Bayes deconvolution estimates" (Biometrika 103: 1-20): g-modeling, a discrete prior
  g = softmax(Q a) on a grid (Q a natural-spline basis) fitted by penalised marginal likelihood (penalty c0 ||a||,
  deconvolveR's defaults df = 5, c0 = 1); here on logit p for binomial counts, with Rasch 1960's shift of one
  shape per checkpoint for the pooled variant.
- Nemhauser, Wolsey and Fisher 1978: greedy maximisation of a monotone submodular function under a
  cardinality constraint reaches at least 1 − (1 − 1/K)^K ≥ 1 − 1/e of the optimum.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
from scipy import optimize, special

from common.checks import as_count_array, as_float_array, check_not_above

__all__ = [
    "pass_at_k",
    "log_fail_at_k",
    "pass_at_k_curve",
    "pass_at_k_from_p",
    "coverage",
    "beta_binomial_logpmf",
    "BetaBinomialFit",
    "fit_beta_binomial",
    "predicted_pass_at_k",
    "predicted_log_fail_at_k",
    "power_law",
    "zero_inflated_beta_binomial_logpmf",
    "ZeroInflatedFit",
    "fit_zero_inflated_beta_binomial",
    "posterior_prob_solvable",
    "posterior_pass_at_k",
    "posterior_pass_at_k_sd",
    "posterior_pass_at_k_quantile",
    "PooledBetaBinomialFit",
    "fit_pooled_beta_binomial",
    "deconvolution_grid",
    "DeconvolutionFit",
    "fit_deconvolution_prior",
    "PooledDeconvolutionFit",
    "fit_pooled_deconvolution_prior",
    "select_deconvolution_prior",
    "deconvolution_posterior",
    "deconvolution_pass_at_k",
    "deconvolution_pass_at_k_sd",
    "deconvolution_pass_at_k_quantile",
    "deconvolution_prior_pass_at_k",
    "union_pass_at_k",
    "union_pass_at_k_from_p",
    "GreedyAllocation",
    "greedy_budget_allocation",
    "greedy_budget_allocation_from_p",
]

# exp(-750) underflows to 0.0 in float64, so once log C(n−c,k)/C(n,k) ≤ −k·c/n < −750 the ratio is 0.
_UNDERFLOW_LOG = 750.0
# Work arrays of the pass@k kernel hold at most this many float64 entries (8 MiB).
_CHUNK = 1 << 20


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def _unit_interval(x, name: str) -> np.ndarray:
    """Independent probabilities: finite floats in [0, 1] (no sum constraint)."""
    arr = as_float_array(x, name)
    for bad, what in ((arr < 0, ">= 0"), (arr > 1, "<= 1")):
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name}: probabilities must be {what}, got {arr[bad].flat[0]} at index {idx}")
    return arr


def _positive(x, name: str) -> np.ndarray:
    arr = as_float_array(x, name)
    bad = arr <= 0
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name}: must be > 0, got {arr[bad].flat[0]} at index {idx}")
    return arr


def _out(arr: np.ndarray):
    """float64 array, or a NumPy float64 scalar for 0-d results."""
    arr = np.asarray(arr, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


def _log_ratio_terms(n: np.ndarray, m: np.ndarray, big: np.ndarray) -> np.ndarray:
    """Σ_{i<m} log(1 − big/(n−i)) for 1-d int64 arrays (m >= 1), each row summed pairwise (np.sum).

    Rows are grouped by m so that no row is padded: the result of a row is then bitwise independent
    of the other rows in the batch.
    """
    out = np.empty(n.shape, dtype=np.float64)
    if n.size == 0:
        return out
    order = np.argsort(m, kind="stable")
    n_s, m_s, b_s = n[order].astype(np.float64), m[order], big[order].astype(np.float64)
    res = np.empty(n.shape, dtype=np.float64)
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(m_s)) + 1, [n.size]])
    for g0, g1 in zip(bounds[:-1], bounds[1:]):
        width = int(m_s[g0])
        i = np.arange(width, dtype=np.float64)
        step = max(1, _CHUNK // width)
        for start in range(g0, g1, step):
            stop = min(g1, start + step)
            den = n_s[start:stop, None] - i  # n − i: exact integers in float64, all >= 1
            bb = b_s[start:stop, None]
            x = bb / den  # correctly rounded
            with np.errstate(divide="ignore"):
                # log1p(−x) is accurate to ~1 ulp relative while x <= 1/2; beyond, log of the correctly
                # rounded q = (n − i − big)/(n − i) = 1 − x is (|term| >= log 2 there).
                term = np.where(x <= 0.5, np.log1p(-x), np.log((den - bb) / den))
            res[start:stop] = np.sum(term, axis=1)
    out[order] = res
    return out


def _log_fail(n: np.ndarray, c: np.ndarray, k: np.ndarray, *, cutoff: bool) -> np.ndarray:
    """log[C(n−c, k)/C(n, k)] for validated, broadcast int64 arrays (0 <= c, k <= n).

    Uses the symmetric product C(n−c,k)/C(n,k) = ∏_{i<m} (1 − M/(n−i)), m = min(c,k), M = max(c,k),
    summed in log space over m terms (pairwise). −inf where n − c < k. With ``cutoff`` the value is
    reported as −inf once the bound log ratio <= −c·k/n certifies that exp() underflows to 0.
    """
    shape = n.shape
    n, c, k = n.ravel(), c.ravel(), k.ravel()
    out = np.zeros(n.shape, dtype=np.float64)
    m = np.minimum(c, k)
    big = np.maximum(c, k)
    zero = n - c < k
    out[zero] = -np.inf
    active = ~zero & (m > 0)
    if cutoff:
        far = active & (m.astype(np.float64) * big.astype(np.float64) > _UNDERFLOW_LOG * n.astype(np.float64))
        out[far] = -np.inf
        active &= ~far
    idx = np.flatnonzero(active)
    if idx.size:
        triples = np.stack([n[idx], m[idx], big[idx]], axis=1)
        uniq, inv = np.unique(triples, axis=0, return_inverse=True)
        vals = _log_ratio_terms(uniq[:, 0], uniq[:, 1], uniq[:, 2])
        out[idx] = vals[np.asarray(inv).ravel()]
    return out.reshape(shape)


def _counts_nck(n, c, k, *, k_min: int):
    n_a = as_count_array(n, "n")
    c_a = as_count_array(c, "c")
    k_a = as_count_array(k, "k", minimum=k_min)
    check_not_above(c_a, n_a, "c", "n")
    check_not_above(k_a, n_a, "k", "n")
    return np.broadcast_arrays(n_a, c_a, k_a)


# ----------------------------------------------------------------------------------------------------
# pass@k
# ----------------------------------------------------------------------------------------------------


def pass_at_k(n, c, k):
    """Unbiased pass@k estimator of Chen et al. 2021 (Codex paper, eq. 1): 1 − C(n−c, k)/C(n, k).

    The probability (unitless) that a uniformly random k-subset of the n observed samples, c of them
    correct, holds at least one correct sample; 1 when n − c < k. Computed as
    1 − exp(Σ_{i<m} log(1 − M/(n−i))) with m = min(c, k), M = max(c, k) (the ratio is symmetric in c
    and k), i.e. m log-terms summed pairwise, each accurate to about one ulp; absolute error ~1e-15 for
    n up to 10^6. Terms are only formed for distinct (n, c, k) and only while c·k/n <= 750 (beyond that
    the ratio underflows to 0), so batches of 10^5 problems are fast.

    Args:
      n: samples per problem (int >= 1), c: correct samples (0 <= c <= n), k: draws (1 <= k <= n).
        Broadcast against each other.
    Returns:
      pass@k, float64 array of the broadcast shape (a float64 scalar for scalar inputs).
    """
    n_a, c_a, k_a = _counts_nck(n, c, k, k_min=1)
    return _out(-np.expm1(_log_fail(n_a, c_a, k_a, cutoff=True)))


def log_fail_at_k(n, c, k):
    """Natural log of 1 − pass@k = log[C(n−c, k)/C(n, k)] (Chen et al. 2021), in nats, <= 0.

    Accurate in relative terms even where pass@k rounds to 1 (−inf when n − c < k); costs min(c, k)
    log-terms per distinct (n, c, k). Arguments as in :func:`pass_at_k` except that k = 0 is allowed (0).
    """
    n_a, c_a, k_a = _counts_nck(n, c, k, k_min=0)
    return _out(_log_fail(n_a, c_a, k_a, cutoff=False))


def pass_at_k_curve(n, c, ks):
    """Mean over problems of the unbiased pass@k (Chen et al. 2021), for each k in ``ks``.

    Args:
      n, c: per-problem counts, broadcast to shape [P] (or any shape; all entries are problems).
      ks: draws, shape [K]; each must be <= every n.
    Returns:
      float64 array [K] (the coverage curve estimate of Brown et al. 2024), unitless.
    """
    n_a = as_count_array(n, "n")
    c_a = as_count_array(c, "c")
    k_a = np.atleast_1d(as_count_array(ks, "ks", minimum=1))
    if k_a.ndim != 1:
        raise ValueError(f"ks: must be a scalar or 1-d, got shape {k_a.shape}")
    n_b, c_b = (a.ravel() for a in np.broadcast_arrays(n_a, c_a))
    check_not_above(c_b, n_b, "c", "n")
    if n_b.size == 0:
        raise ValueError("n: need at least one problem")
    check_not_above(k_a, np.full(k_a.shape, n_b.min()), "ks", "min(n)")
    vals = _log_fail(*np.broadcast_arrays(n_b[None, :], c_b[None, :], k_a[:, None]), cutoff=True)
    return -np.expm1(vals).mean(axis=1)


def pass_at_k_from_p(p, k):
    """pass@k of a problem with known per-sample success probability p: 1 − (1 − p)^k.

    Sampling with replacement (iid samples); computed as −expm1(k · log1p(−p)), accurate for tiny p.
    Args: p in [0, 1]; k integer >= 0 (k = 0 gives 0). Broadcast. Returns a probability (unitless).
    """
    p_a = _unit_interval(p, "p")
    k_a = as_count_array(k, "k")
    p_a, k_a = np.broadcast_arrays(p_a, k_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = -np.expm1(k_a * np.log1p(-p_a))
    return _out(np.where(k_a == 0, 0.0, val))


def coverage(c, axis=0):
    """Coverage (Brown et al. 2024): fraction of problems with at least one correct sample, c >= 1.

    Args: c: correct counts, problems along ``axis`` (default 0; None = all entries). Returns a
    fraction in [0, 1] (array over the remaining axes, e.g. per checkpoint for c of shape [P, J]).
    """
    c_a = as_count_array(c, "c")
    if c_a.size == 0:
        raise ValueError("c: need at least one problem")
    return _out(np.mean(c_a > 0, axis=axis))


# ----------------------------------------------------------------------------------------------------
# beta-binomial difficulty model
# ----------------------------------------------------------------------------------------------------


def beta_binomial_logpmf(c, n, alpha, beta):
    """log P(c | n, α, β) of the beta-binomial, in nats.

    P(c) = C(n, c) B(c + α, n − c + β)/B(α, β): c correct of n samples when the problem's success
    probability is p ~ Beta(α, β). Broadcast; α, β > 0; 0 <= c <= n.
    """
    c_a = as_count_array(c, "c")
    n_a = as_count_array(n, "n")
    a = _positive(alpha, "alpha")
    b = _positive(beta, "beta")
    check_not_above(c_a, n_a, "c", "n")
    log_binom = special.gammaln(n_a + 1.0) - special.gammaln(c_a + 1.0) - special.gammaln(n_a - c_a + 1.0)
    return _out(log_binom + special.betaln(c_a + a, n_a - c_a + b) - special.betaln(a, b))


@dataclasses.dataclass(frozen=True)
class BetaBinomialFit:
    """Maximum-likelihood Beta(alpha, beta) fit of per-problem success probabilities.

    log_likelihood: Σ_i log P(c_i | n_i, α, β) in nats, including the log C(n_i, c_i) terms (so it is
    comparable to ``scipy.stats.betabinom.logpmf(c, n, a, b).sum()``). n_problems: problems with
    n_i >= 1 used in the fit; n_skipped: problems with n_i = 0 (no samples), left out and counted.
    converged: the optimiser reported success and no bound is active
    (an active upper bound means the data are not over-dispersed: the MLE is the binomial limit).
    """

    alpha: float
    beta: float
    log_likelihood: float
    n_problems: int
    converged: bool
    n_skipped: int = 0


_LOG_BOUNDS = (-12.0, 16.0)  # log α, log β search box: α, β ∈ [6e-6, 8.9e6]


def _moment_start(n: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Method-of-moments start (log α, log β) for unequal n_i: var(c/n) = μ(1−μ)(1/n + (1 − 1/n)ρ)."""
    mu = float(np.sum(w * c) / np.sum(w * n))
    mu = min(max(mu, 1e-6), 1 - 1e-6)
    phat = c / n
    s2 = float(np.sum(w * (phat - mu) ** 2) / np.sum(w))
    inv_n = float(np.sum(w / n) / np.sum(w))
    if 1 - inv_n > 1e-12:
        rho = (s2 / (mu * (1 - mu)) - inv_n) / (1 - inv_n)
    else:
        rho = 0.5
    rho = min(max(rho, 1e-4), 1 - 1e-4)
    s = 1 / rho - 1  # α + β
    start = np.log([mu * s, (1 - mu) * s])
    return np.clip(start, _LOG_BOUNDS[0] + 1, _LOG_BOUNDS[1] - 1)


def _count_pairs(n, c, all_zero: str, all_full: str):
    """Validated (n, c) per problem reduced to distinct pairs: (pairs int [U, 2], their counts [U], problems with
    n = 0 left out). Errors name ``n`` or ``c``; ``all_zero`` / ``all_full`` say why a fit degenerates when every
    problem has c = 0 / c = n."""
    n_a = as_count_array(n, "n")
    c_a = as_count_array(c, "c")
    check_not_above(c_a, n_a, "c", "n")
    n_b, c_b = (a.ravel() for a in np.broadcast_arrays(n_a, c_a))
    keep = n_b > 0
    n_b, c_b = n_b[keep], c_b[keep]
    if n_b.size == 0:
        raise ValueError("n: need at least one problem with n >= 1")
    if np.all(c_b == 0):
        raise ValueError(f"c: every problem has c = 0; {all_zero}")
    if np.all(c_b == n_b):
        raise ValueError(f"c: every problem has c = n; {all_full}")
    pairs, counts = np.unique(np.stack([n_b, c_b], axis=1), axis=0, return_counts=True)
    return pairs, counts, int((~keep).sum())


def fit_beta_binomial(n, c) -> BetaBinomialFit:
    """Maximum-likelihood fit of p ~ Beta(α, β) from per-problem counts (c_i correct of n_i).

    Maximises Σ_i log BetaBinom(c_i | n_i, α, β) over (log α, log β) with L-BFGS-B and the analytic
    (digamma) gradient, started at the method of moments, falling back to Nelder-Mead. Problems
    with n_i = 0 carry no information: they are left out and counted in ``n_skipped``. This is the difficulty model of Schaeffer et
    al. 2025 (α is the power-law exponent of 1 − pass_D@k).

    Raises ValueError (naming ``c``) when every problem has c_i = 0 or every problem has c_i = n_i:
    the likelihood then increases without bound towards a point mass at p = 0 (resp. 1).
    Data that are under-dispersed relative to the binomial put the MLE at α, β → ∞; the fit then
    stops at the search box (α, β <= 8.9e6) with ``converged=False``.
    """
    pairs, counts, n_skipped = _count_pairs(n, c, "the beta-binomial MLE is degenerate (alpha -> 0, point mass at p = 0)",
                                            "the beta-binomial MLE is degenerate (beta -> 0, point mass at p = 1)")
    nn = pairs[:, 0].astype(np.float64)
    cc = pairs[:, 1].astype(np.float64)
    w = counts.astype(np.float64)
    const = float(np.sum(w * (special.gammaln(nn + 1) - special.gammaln(cc + 1) - special.gammaln(nn - cc + 1))))

    def nll(theta):
        a, b = np.exp(theta)
        ll = special.betaln(cc + a, nn - cc + b) - special.betaln(a, b)
        return -float(np.sum(w * ll))

    def nll_grad(theta):
        a, b = np.exp(theta)
        ab = special.digamma(nn + a + b) - special.digamma(a + b)
        ga = np.sum(w * (special.digamma(cc + a) - special.digamma(a) - ab))
        gb = np.sum(w * (special.digamma(nn - cc + b) - special.digamma(b) - ab))
        return nll(theta), -np.array([ga * a, gb * b])

    start = _moment_start(nn, cc, w)
    bounds = [_LOG_BOUNDS, _LOG_BOUNDS]
    res = optimize.minimize(nll_grad, start, jac=True, method="L-BFGS-B", bounds=bounds,
                            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 1000})
    best, success = res.x, bool(res.success)
    if not success or not np.all(np.isfinite(best)):
        res2 = optimize.minimize(nll, start, method="Nelder-Mead",
                                 options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000})
        x2 = np.clip(res2.x, *_LOG_BOUNDS)
        if not np.all(np.isfinite(best)) or nll(x2) < nll(best):
            best, success = x2, bool(res2.success)
    at_bound = bool(np.any(np.isclose(best, _LOG_BOUNDS[1], atol=1e-6)) or np.any(np.isclose(best, _LOG_BOUNDS[0], atol=1e-6)))
    a, b = (float(v) for v in np.exp(best))
    return BetaBinomialFit(alpha=a, beta=b, log_likelihood=const - nll(best), n_problems=int(counts.sum()), n_skipped=n_skipped,
                           converged=success and not at_bound)


_ASYM_X = 30.0  # Stirling series for log Γ used for arguments >= this
_DIRECT_K = 64  # below this many factors, log B(α, β+k)/B(α, β) is summed factor by factor
# Stirling series S(x) = Σ B_2n / (2n (2n−1) x^(2n−1)), n = 1..6; truncation < 1e-19 at x >= 30
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360)


def _stirling_tail(x: np.ndarray) -> np.ndarray:
    """log Γ(x) − [(x − ½) log x − x + ½ log 2π] for x >= 30."""
    z = 1.0 / (x * x)
    acc = np.zeros_like(x)
    for coef in reversed(_STIRLING):
        acc = acc * z + coef
    return acc / x


def _phi(t: np.ndarray) -> np.ndarray:
    """(1 + t) log1p(t) − t for t >= 0, without cancellation for small t (series Σ (−t)^n/(n(n−1)))."""
    small = t < 0.1
    ts = np.where(small, t, 0.0)
    series = np.zeros_like(ts)
    for n in range(20, 1, -1):  # Horner in t: Σ_{n=2}^{20} (−1)^n t^n / (n (n−1))
        series = series * ts + (-1) ** n / (n * (n - 1))
    series = series * ts * ts
    with np.errstate(invalid="ignore"):
        direct = (1 + t) * np.log1p(t) - t
    return np.where(small, series, direct)


def _lgamma_ratio_rest(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """log Γ(x + a) − log Γ(x) − a log x, for x >= 30 (Stirling, no cancellation)."""
    t = a / x
    return x * _phi(t) - 0.5 * np.log1p(t) + _stirling_tail(x + a) - _stirling_tail(x)


def _log_fail_beta(a: np.ndarray, b: np.ndarray, k: np.ndarray) -> np.ndarray:
    """log[B(a, b + k)/B(a, b)] = −[log Γ(a+b+k) − log Γ(b+k)] + [log Γ(a+b) − log Γ(b)], accurately.

    k < 64: Σ_{j<k} log1p(−a/(a+b+j)) directly. Otherwise the two log-gamma ratios are expanded with
    Stirling's series (arguments >= 30) so that the large a·log(b+k) parts cancel analytically.
    """
    a, b, k = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float), np.asarray(k, float))
    out = np.empty(a.shape)
    x1, x2 = b, b + k
    direct = k < _DIRECT_K
    both = ~direct & (x1 >= _ASYM_X)
    one = ~direct & ~both  # x1 < 30 <= x2 since k >= 64 > 30
    if direct.any():
        j = np.arange(_DIRECT_K, dtype=float)
        aa, bb, kk = a[direct][:, None], b[direct][:, None], k[direct][:, None]
        den = aa + bb + j
        x = aa / den
        # log1p(−x) while x <= 1/2, else log((b + j)/(a + b + j)) (no cancellation near x = 1)
        term = np.where(x <= 0.5, np.log1p(-x), np.log((bb + j) / den))
        out[direct] = np.sum(np.where(j < kk, term, 0.0), axis=1)
    if both.any():
        aa, u1, u2, kk = a[both], x1[both], x2[both], k[both]
        out[both] = -(aa * np.log1p(kk / u1) + _lgamma_ratio_rest(u2, aa) - _lgamma_ratio_rest(u1, aa))
    if one.any():
        aa, u1, u2 = a[one], x1[one], x2[one]
        g1 = special.gammaln(u1 + aa) - special.gammaln(u1)
        out[one] = -(aa * np.log(u2) + _lgamma_ratio_rest(u2, aa) - g1)
    return out


def predicted_log_fail_at_k(alpha, beta, k):
    """log(1 − pass_D@k) = log[B(α, β + k)/B(α, β)] for p ~ Beta(α, β), in nats (<= 0).

    Schaeffer et al. 2025. Relative error <~ 1e-11 (against 40-digit mpmath over α ∈ [1e-3, 1e6],
    β ∈ [1e-3, 1e8], k <= 1e9), also where pass_D@k rounds to 1, so it is the quantity to fit the power
    law k^(−α) on; the naive scipy betaln difference loses up to ~3e-7 absolute on that grid.
    Broadcast over α, β > 0 and integer k >= 0.
    """
    a = _positive(alpha, "alpha")
    b = _positive(beta, "beta")
    k_a = as_count_array(k, "k")
    return _out(_log_fail_beta(a, b, k_a))


def predicted_pass_at_k(alpha, beta, k):
    """Dataset pass@k when p ~ Beta(α, β): pass_D@k = E[1 − (1 − p)^k] = 1 − B(α, β + k)/B(α, β).

    Schaeffer et al. 2025 (beta difficulty distribution); computed as −expm1(log B(α, β+k) − log B(α, β))
    with the log-ratio from :func:`predicted_log_fail_at_k` (a cancellation-free Stirling form of the
    betaln difference). Broadcast over α, β > 0 and integer k >= 0. Unitless.
    """
    return _out(-np.expm1(predicted_log_fail_at_k(alpha, beta, k)))


def power_law(alpha, beta):
    """Large-k power law of a Beta(α, β) difficulty distribution (Schaeffer et al. 2025, Thm 3.1).

    −log pass_D@k ≈ 1 − pass_D@k = Γ(α+β)Γ(β+k)/(Γ(β)Γ(α+β+k)) ~ prefactor · k^(−exponent) as k → ∞,
    with prefactor = Γ(α+β)/Γ(β) (unitless) and exponent = α (the Beta's first shape parameter: the
    density near p = 0 behaves as p^(α−1)). Returns ``(prefactor, exponent)``, broadcast.
    """
    a = _positive(alpha, "alpha")
    b = _positive(beta, "beta")
    a, b = np.broadcast_arrays(a, b)
    return _out(np.exp(special.gammaln(a + b) - special.gammaln(b))), _out(a.copy())


# ----------------------------------------------------------------------------------------------------
# zero-inflated beta-binomial: some problems are unsolvable (p = 0 exactly)
# ----------------------------------------------------------------------------------------------------


def _zi_params(pi0, alpha, beta):
    p0 = as_float_array(pi0, "pi0")
    bad = (p0 < 0) | (p0 >= 1)
    if bad.any():
        raise ValueError(f"pi0: the point mass at p = 0 must be in [0, 1), got {p0[bad].flat[0]}")
    return p0, _positive(alpha, "alpha"), _positive(beta, "beta")


def zero_inflated_beta_binomial_logpmf(c, n, pi0, alpha, beta):
    """log P(c | n, π₀, α, β) of the zero-inflated beta-binomial, in nats.

    The success probability is p ~ π₀ δ₀ + (1 − π₀) Beta(α, β) (a point mass π₀ at p = 0: problems the
    model never solves; Lambert 1992 for zero-inflated counts), so

        P(c) = π₀ 1[c = 0] + (1 − π₀) C(n, c) B(c + α, n − c + β)/B(α, β).

    π₀ = 0 is :func:`beta_binomial_logpmf`. Broadcast; π₀ ∈ [0, 1), α, β > 0, 0 <= c <= n.
    """
    p0, a, b = _zi_params(pi0, alpha, beta)
    bb = np.asarray(beta_binomial_logpmf(c, n, a, b), np.float64)
    c_a = as_count_array(c, "c")
    c_a, p0, bb = np.broadcast_arrays(c_a, p0, bb)
    with np.errstate(divide="ignore"):
        out = np.where(c_a == 0, np.logaddexp(np.log(p0), np.log1p(-p0) + bb), np.log1p(-p0) + bb)
    return _out(out)


@dataclasses.dataclass(frozen=True)
class ZeroInflatedFit:
    """Maximum-likelihood fit of p ~ π₀ δ₀ + (1 − π₀) Beta(α, β) from per-problem counts.

    log_likelihood: Σ_i log P(c_i | n_i, π₀, α, β) in nats (with the log C(n_i, c_i) terms), comparable
    to :class:`BetaBinomialFit`'s. n_problems / n_skipped as there. converged: the optimiser reported
    success and no bound of the search box is active (π₀ = 0 is an allowed boundary, not a failure).
    """

    pi0: float
    alpha: float
    beta: float
    log_likelihood: float
    n_problems: int
    converged: bool
    n_skipped: int = 0


_PI0_MAX = 1 - 1e-9


def fit_zero_inflated_beta_binomial(n, c, *, start=None) -> ZeroInflatedFit:
    """Maximum-likelihood fit of the zero-inflated beta-binomial (:func:`zero_inflated_beta_binomial_logpmf`).

    Maximises Σ_i log P(c_i | n_i, π₀, α, β) over π₀ ∈ [0, 1 − 1e-9] and (log α, log β) in the box of
    :func:`fit_beta_binomial` (L-BFGS-B, analytic digamma gradient), started from the method of moments at
    π₀ = 0 and at π₀ = 0.9 × the fraction of problems with c = 0 (the better of the two is kept), or only from
    ``start`` = (π₀, α, β) when given (a warm start, e.g. for bootstrap refits). The
    likelihood is that of the counts, so π₀ is identified through the excess of c = 0 over what the beta
    part predicts; problems with c > 0 pin π₀ below 1 − (their fraction). Problems with n = 0 are left out
    (``n_skipped``). Raises ValueError (naming ``c``) when every problem has c = 0 (the MLE is the point
    mass at p = 0) or every problem has c = n.
    """
    pairs, counts, n_skipped = _count_pairs(n, c, "the zero-inflated MLE is degenerate (pi0 -> 1, point mass at p = 0)",
                                            "the zero-inflated MLE is degenerate (point mass at p = 1)")
    nn, cc = pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64)
    w = counts.astype(np.float64)
    zero = cc == 0
    const = float(np.sum(w * (special.gammaln(nn + 1) - special.gammaln(cc + 1) - special.gammaln(nn - cc + 1))))

    def f(x):
        p0, (a, b) = x[0], np.exp(x[1:])
        lf = special.betaln(cc + a, nn - cc + b) - special.betaln(a, b)  # log of the beta part, without C(n, c)
        ab = special.digamma(nn + a + b) - special.digamma(a + b)
        ga = special.digamma(cc + a) - special.digamma(a) - ab
        gb = special.digamma(nn - cc + b) - special.digamma(b) - ab
        with np.errstate(divide="ignore"):
            l_zero = np.logaddexp(np.log(p0), np.log1p(-p0) + lf)  # c = 0: C(n, 0) = 1
        ll = np.where(zero, l_zero, np.log1p(-p0) + lf)
        r = np.where(zero, np.exp(np.log1p(-p0) + lf - l_zero), 1.0)  # share of the beta part in P(c)
        g0 = np.where(zero, np.exp(np.minimum(-l_zero, 700.0)) - np.exp(np.minimum(lf - l_zero, 700.0)), -1.0 / (1 - p0))  # ∂/∂π₀
        grad = np.array([np.sum(w * g0), np.sum(w * r * ga) * a, np.sum(w * r * gb) * b])
        return -float(np.sum(w * ll)), -grad

    bounds = [(0.0, _PI0_MAX), _LOG_BOUNDS, _LOG_BOUNDS]
    if start is not None:
        st = np.asarray(start, np.float64)
        if st.shape != (3,) or not (0 <= st[0] < 1 and st[1] > 0 and st[2] > 0):
            raise ValueError(f"start: expected (pi0 in [0, 1), alpha > 0, beta > 0), got {start!r}")
        starts = [np.array([st[0], np.log(st[1]), np.log(st[2])])]
    else:
        ms = _moment_start(nn, cc, w)
        frac0 = float(np.sum(w[zero]) / np.sum(w))
        starts = [np.array([0.0, *ms])] + ([np.array([0.9 * frac0, *ms])] if frac0 > 0 else [])
    best = None
    for x0 in starts:
        x0 = np.clip(x0, [b[0] for b in bounds], [b[1] for b in bounds])
        res = optimize.minimize(f, x0, jac=True, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
        if best is None or res.fun < best.fun:
            best = res
    x = best.x
    at_bound = bool(x[0] >= _PI0_MAX - 1e-12 or np.any(np.isclose(x[1:], _LOG_BOUNDS[0], atol=1e-6)) or
                    np.any(np.isclose(x[1:], _LOG_BOUNDS[1], atol=1e-6)))
    return ZeroInflatedFit(pi0=float(x[0]), alpha=float(np.exp(x[1])), beta=float(np.exp(x[2])), log_likelihood=const - float(best.fun),
                           n_problems=int(counts.sum()), converged=bool(best.success) and not at_bound, n_skipped=n_skipped)


def _zi_posterior(n, c, pi0, alpha, beta):
    """(w = P(p > 0 | c), a' = α + c, b' = β + n − c), broadcast, validated."""
    n_a = as_count_array(n, "n")
    c_a = as_count_array(c, "c")
    check_not_above(c_a, n_a, "c", "n")
    p0, a, b = _zi_params(pi0, alpha, beta)
    n_a, c_a, p0, a, b = np.broadcast_arrays(n_a, c_a, p0, a, b)
    # c = 0: P(p > 0 | c = 0) = (1 − π₀) B(α, β + n)/B(α, β) / [π₀ + (1 − π₀) B(α, β + n)/B(α, β)]
    lfail = _log_fail_beta(a, b, n_a.astype(np.float64))  # log B(α, β + n)/B(α, β)
    with np.errstate(divide="ignore"):
        l_pos = np.log1p(-p0) + lfail
        w0 = np.exp(l_pos - np.logaddexp(np.log(p0), l_pos))
    w = np.where(c_a > 0, 1.0, w0)
    return w, a + c_a, b + (n_a - c_a)


def posterior_prob_solvable(n, c, pi0, alpha, beta):
    """P(p > 0 | c of n correct) under the prior π₀ δ₀ + (1 − π₀) Beta(α, β) (Bayes' rule).

    1 when c > 0; for c = 0 it is (1 − π₀) B(α, β + n)/B(α, β) / [π₀ + (1 − π₀) B(α, β + n)/B(α, β)]
    (B(α, β + n)/B(α, β) = P(c = 0 | p ~ Beta(α, β)), computed by the cancellation-free log-ratio of
    :func:`predicted_log_fail_at_k`). Broadcast; unitless.
    """
    return _out(_zi_posterior(n, c, pi0, alpha, beta)[0])


def posterior_pass_at_k(n, c, k, pi0, alpha, beta):
    """Per-problem posterior pass@k beyond the n samples: E[1 − (1 − p)^k | c of n correct].

    Prior p ~ π₀ δ₀ + (1 − π₀) Beta(α, β) (e.g. :func:`fit_zero_inflated_beta_binomial` across problems:
    empirical Bayes). The posterior is P(p > 0 | c) (:func:`posterior_prob_solvable`) times
    Beta(α + c, β + n − c), and p = 0 never solves, so

        pass@k | c = P(p > 0 | c) · [1 − B(α + c, β + n − c + k)/B(α + c, β + n − c)],

    the bracket by :func:`predicted_pass_at_k` (Schaeffer et al. 2025's form on the posterior Beta). k
    may exceed n (iid samples, with replacement). π₀ = 0 gives the plain beta-binomial posterior
    prediction. Broadcast over n, c, k, π₀, α, β; unitless.
    """
    w, a, b = _zi_posterior(n, c, pi0, alpha, beta)
    k_a = as_count_array(k, "k")
    return _out(w * -np.expm1(_log_fail_beta(*np.broadcast_arrays(a, b, k_a.astype(np.float64)))))


def posterior_pass_at_k_sd(n, c, k, pi0, alpha, beta):
    """Posterior standard deviation of a problem's pass@k, Y = 1 − (1 − p)^k, under the model of
    :func:`posterior_pass_at_k`: with w = P(p > 0 | c), a = α + c, b = β + n − c and
    F_j = B(a, b + j)/B(a, b) = E[(1 − p)^j | p > 0],

        E[Y] = w (1 − F_k),   E[Y²] = w (1 − 2 F_k + F_{2k}),   sd = √(E[Y²] − E[Y]²).

    Broadcast; unitless."""
    w, a, b = _zi_posterior(n, c, pi0, alpha, beta)
    k_a = as_count_array(k, "k").astype(np.float64)
    a, b, k_a = np.broadcast_arrays(a, b, k_a)
    f1 = np.exp(_log_fail_beta(a, b, k_a))
    f2 = np.exp(_log_fail_beta(a, b, 2 * k_a))
    # E[Y²] − E[Y]² = w(1 − 2F_k + F_2k) − w²(1 − F_k)² = w[(F_2k − F_k²) + (1 − w)(1 − F_k)²]
    var = w * ((f2 - f1 * f1) + (1 - w) * (1 - f1) ** 2)
    return _out(np.sqrt(np.maximum(var, 0.0)))


def posterior_pass_at_k_quantile(n, c, k, q, pi0, alpha, beta):
    """q-quantile of a problem's posterior pass@k, Y = 1 − (1 − p)^k (model of :func:`posterior_pass_at_k`).

    Y is increasing in p, so its quantile is 1 − (1 − p_q)^k with p_q the q-quantile of the posterior of
    p: p_q = 0 when q <= 1 − w (w = P(p > 0 | c): the atom at 0), else the Beta(α + c, β + n − c) quantile
    at (q − (1 − w))/w (``scipy.special.betaincinv``). Broadcast; q ∈ [0, 1]; unitless.
    """
    w, a, b = _zi_posterior(n, c, pi0, alpha, beta)
    q_a = _unit_interval(q, "q")
    k_a = as_count_array(k, "k")
    w, a, b, q_a, k_a = np.broadcast_arrays(w, a, b, q_a, k_a)
    with np.errstate(divide="ignore", invalid="ignore"):
        qq = np.clip((q_a - (1 - w)) / np.where(w > 0, w, 1.0), 0.0, 1.0)
        p = np.where(q_a <= 1 - w, 0.0, special.betaincinv(a, b, qq))
    return _out(pass_at_k_from_p(p, k_a))


@dataclasses.dataclass(frozen=True)
class PooledBetaBinomialFit:
    """Maximum-likelihood beta-binomial fit with a shape α shared by groups and one β per group.

    groups: the group labels (sorted); beta: β_g per group (NaN for a degenerate group: every problem
    c = 0, or every problem c = n; such groups are left out of the fit and listed in ``degenerate``).
    log_likelihood: Σ over the fitted groups' problems of log BetaBinom(c | n, α, β_g) in nats (with the
    log C(n, c) terms). n_problems: problems in the fitted groups (n >= 1). converged as in
    :class:`BetaBinomialFit`.
    """

    alpha: float
    beta: tuple
    groups: tuple
    log_likelihood: float
    n_problems: int
    converged: bool
    degenerate: tuple = ()

    def beta_of(self, group) -> float:
        """β of one group (NaN when that group is degenerate); ValueError naming ``group`` if unknown."""
        if group not in self.groups:
            raise ValueError(f"group: {group!r} is not one of the fitted groups {list(self.groups)[:10]}")
        return self.beta[self.groups.index(group)]


def fit_pooled_beta_binomial(n, c, groups, *, start=None) -> PooledBetaBinomialFit:
    """Beta-binomial fit across groups (e.g. checkpoints) with a shared shape: p ~ Beta(α, β_g) in group g.

    Maximises Σ_g Σ_{i ∈ g} log BetaBinom(c_i | n_i, α, β_g) over log α and every log β_g (L-BFGS-B,
    analytic digamma gradient, the box of :func:`fit_beta_binomial`). α sets the density of p near 0,
    p^(α − 1), which governs pass@k at large k (1 − pass_D@k ~ Γ(α + β)/Γ(β) k^(−α), Schaeffer et al.
    2025) and is the parameter a few samples per problem identify worst; pooling it over groups is
    empirical Bayes at the level of groups (a shared hyperparameter, Efron and Morris 1975), while β_g
    keeps each group's mean α/(α + β_g). A group where every problem has c = 0 (or every c = n) has its
    maximum at β_g → ∞ (resp. 0): it is left out of the fit and reported in ``degenerate``.

    Args: n, c: per-problem counts [N]; groups: a label per problem [N] (anything ``numpy.unique``
    sorts). Problems with n = 0 are ignored. start: optional (α, {group: β}) warm start (e.g. the full-data
    fit for bootstrap refits; groups missing from it start at the method of moments). Raises ValueError (naming ``c``) when every group is
    degenerate.
    """
    n_a, c_a, gi, labels, ok = _group_triples(n, c, groups, "the pooled beta-binomial MLE is degenerate")
    G = len(labels)
    tot_c = np.bincount(gi, weights=c_a, minlength=G)
    tot_n = np.bincount(gi, weights=n_a, minlength=G)
    slot = np.cumsum(ok) - 1  # parameter index of each fitted group
    use = ok[gi]
    trip, w = np.unique(np.stack([slot[gi[use]], n_a[use], c_a[use]], axis=1), axis=0, return_counts=True)
    gg, nn, cc = trip[:, 0], trip[:, 1].astype(np.float64), trip[:, 2].astype(np.float64)
    w = w.astype(np.float64)
    Gf = int(ok.sum())
    const = float(np.sum(w * (special.gammaln(nn + 1) - special.gammaln(cc + 1) - special.gammaln(nn - cc + 1))))

    def f(x):
        a, b = np.exp(x[0]), np.exp(x[1:])[gg]
        ll = special.betaln(cc + a, nn - cc + b) - special.betaln(a, b)
        ab = special.digamma(nn + a + b) - special.digamma(a + b)
        ga = np.sum(w * (special.digamma(cc + a) - special.digamma(a) - ab)) * a
        gb = np.bincount(gg, weights=w * (special.digamma(nn - cc + b) - special.digamma(b) - ab), minlength=Gf) * np.exp(x[1:])
        return -float(np.sum(w * ll)), -np.concatenate([[ga], gb])

    mu = (tot_c / np.maximum(tot_n, 1))[ok]
    a0 = 0.5 if start is None else float(start[0])
    b0 = a0 * (1 - mu) / mu
    if start is not None:
        given = start[1]
        b0 = np.array([float(given[g]) if g in given and np.isfinite(given[g]) else v for g, v in zip(labels[ok].tolist(), b0)])
    x0 = np.clip(np.log(np.concatenate([[a0], b0])), _LOG_BOUNDS[0] + 1, _LOG_BOUNDS[1] - 1)
    res = optimize.minimize(f, x0, jac=True, method="L-BFGS-B", bounds=[_LOG_BOUNDS] * (Gf + 1),
                            options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 5000})
    at_bound = bool(np.any(np.isclose(res.x, _LOG_BOUNDS[0], atol=1e-6)) or np.any(np.isclose(res.x, _LOG_BOUNDS[1], atol=1e-6)))
    beta = np.full(G, np.nan)
    beta[ok] = np.exp(res.x[1:])
    return PooledBetaBinomialFit(alpha=float(np.exp(res.x[0])), beta=tuple(float(b) for b in beta), groups=tuple(labels.tolist()),
                                 log_likelihood=const - float(res.fun), n_problems=int(use.sum()),
                                 converged=bool(res.success) and not at_bound,
                                 degenerate=tuple(labels[~ok].tolist()))


# ----------------------------------------------------------------------------------------------------
# empirical-Bayes deconvolution (g-modeling) prior on a grid of p
# ----------------------------------------------------------------------------------------------------

DECONV_P_MIN = 1e-6  # default grid: logit-spaced from 1e-6 to 1 − 1e-6
DECONV_GRID_POINTS = 201  # spacing 0.138 in logit p
DECONV_DFS = (3, 5, 7)  # candidate spline degrees of freedom (Efron's default 5, and 2 either side)
DECONV_C0S = (0.1, 1.0, 10.0)  # candidate penalties c0 (Efron's default 1, and a decade either side)


def deconvolution_grid(n_points: int = DECONV_GRID_POINTS, p_min: float = DECONV_P_MIN, *, atom: bool = False) -> np.ndarray:
    """Support of the discrete deconvolution prior: ``n_points`` values of p equally spaced in logit p over
    [p_min, 1 − p_min], increasing; with ``atom`` a point p = 0 (problems never solved) is put first.

    Below p_min the model cannot place mass: (1 − p_min)^k stays within k·p_min of 1, so at the default
    p_min = 1e-6 the lowest grid point solves with probability 1 − (1 − 1e-6)^k ≈ 0.01 at k = 10^4 (unitless)."""
    if isinstance(n_points, (bool, np.bool_)) or not isinstance(n_points, (int, np.integer)) or n_points < 8:
        raise ValueError(f"n_points: must be an integer >= 8, got {n_points!r}")
    if not (isinstance(p_min, (int, float, np.floating)) and 0 < p_min < 0.5):
        raise ValueError(f"p_min: must be a number in (0, 0.5), got {p_min!r}")
    lo = np.log(p_min) - np.log1p(-p_min)
    p = special.expit(np.linspace(lo, -lo, int(n_points)))
    return np.concatenate([[0.0], p]) if atom else p


def _check_grid(grid) -> np.ndarray:
    """Validated grid [J]: a non-empty, strictly increasing 1-d array of probabilities in [0, 1]."""
    p = _unit_interval(grid, "grid")
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"grid: expected a non-empty 1-d array of success probabilities, got shape {p.shape}")
    if p.size > 1 and np.any(np.diff(p) <= 0):
        raise ValueError("grid: must be strictly increasing")
    return p


def _check_prior(grid, g) -> tuple[np.ndarray, np.ndarray]:
    """Validated (grid [J], g [J]): grid as :func:`_check_grid`, g >= 0 summing to 1 (1e-9)."""
    p = _check_grid(grid)
    w = as_float_array(g, "g")
    if w.shape != p.shape:
        raise ValueError(f"g: expected one prior mass per grid point, shape {p.shape}, got {w.shape}")
    if np.any(w < 0):
        raise ValueError(f"g: prior masses must be >= 0, got {w[w < 0][0]}")
    if abs(w.sum() - 1) > 1e-9:
        raise ValueError(f"g: prior masses must sum to 1, got {w.sum()!r}")
    return p, w


class _NaturalSpline:
    """Natural cubic spline basis of R's ``splines::ns(x, df)`` (no intercept; df − 1 interior knots at the
    quantiles of the grid x, boundary knots at its range; linear beyond them), with the scaling of Efron's
    ``deconvolveR``: columns centred over the grid and of unit Euclidean norm there. ``values(x)``, ``slopes(x)``:
    the basis and its derivative d/dx at any points, shape x.shape + (df,)."""

    def __init__(self, x: np.ndarray, df: int):
        from scipy.interpolate import BSpline

        lo, hi = float(x.min()), float(x.max())
        inner = np.quantile(x, np.linspace(0, 1, df + 1)[1:-1])
        t = np.concatenate([[lo] * 4, inner, [hi] * 4])
        nb = len(t) - 4
        curv = BSpline(t, np.eye(nb), 3).derivative(2)(np.array([lo, hi]))[:, 1:]  # [2, nb − 1]; first B-spline dropped
        q, _ = np.linalg.qr(curv.T, mode="complete")
        coef = np.vstack([np.zeros((1, df)), q[:, 2:]])  # B-spline coefficients of the df natural-spline columns
        self._f = BSpline(t, coef, 3)
        self._d = self._f.derivative(1)
        self._d2 = self._f.derivative(2)
        self._lo, self._hi = lo, hi
        self._f_lo, self._f_hi = self._f(lo), self._f(hi)
        self._d_lo, self._d_hi = self._d(lo), self._d(hi)
        raw = self._f(x)
        self._mean = raw.mean(axis=0)
        self._scale = np.sqrt(np.sum((raw - self._mean) ** 2, axis=0))

    def values(self, x: np.ndarray) -> np.ndarray:
        xi = np.clip(x, self._lo, self._hi)
        out = self._f(xi)
        out = out + np.where((x < self._lo)[..., None], self._d_lo * (x - self._lo)[..., None], 0.0)
        out = out + np.where((x > self._hi)[..., None], self._d_hi * (x - self._hi)[..., None], 0.0)
        return (out - self._mean) / self._scale

    def slopes(self, x: np.ndarray) -> np.ndarray:
        xi = np.clip(x, self._lo, self._hi)
        out = np.where((x < self._lo)[..., None], self._d_lo, np.where((x > self._hi)[..., None], self._d_hi, self._d(xi)))
        return out / self._scale

    def curvatures(self, x: np.ndarray) -> np.ndarray:
        xi = np.clip(x, self._lo, self._hi)
        out = np.where(((x < self._lo) | (x > self._hi))[..., None], 0.0, self._d2(xi))
        return out / self._scale


_DESIGNS: dict = {}  # (grid bytes, df) -> _design's result (the grids used are few; fits are many)


def _design(grid: np.ndarray, df: int):
    """(basis object, Q [J, p], logit grid, atom) for a grid (0 first = atom): spline columns over logit p of the
    non-zero points, and with an atom an indicator column for it (its spline entries 0), as Efron's ``deltaAt``
    (deconvolveR). Cached."""
    key = (grid.tobytes(), int(df))
    if key not in _DESIGNS:
        if len(_DESIGNS) > 64:
            _DESIGNS.clear()
        _DESIGNS[key] = _make_design(grid, df)
    return _DESIGNS[key]


def _make_design(grid: np.ndarray, df: int):
    atom = grid[0] == 0.0
    u = special.logit(grid[1:] if atom else grid)
    basis = _NaturalSpline(u, df)
    q = basis.values(u)
    if atom:
        q = np.vstack([np.zeros((1, df)), q])
        q = np.hstack([np.eye(len(grid), 1), q])
    return basis, q, u, atom


def _log_binom_matrix(nn: np.ndarray, cc: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """log Binom(c | n, p_j) [U, J] for distinct pairs (n, c) and grid points (0 · log 0 = 0)."""
    lc = special.gammaln(nn + 1) - special.gammaln(cc + 1) - special.gammaln(nn - cc + 1)
    with np.errstate(divide="ignore"):
        return lc[:, None] + special.xlogy(cc[:, None], grid[None, :]) + special.xlog1py((nn - cc)[:, None], -grid[None, :])


def _lse(x: np.ndarray, axis: int = -1) -> np.ndarray:
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis) + np.log(np.sum(np.exp(x - m), axis=axis))


def _penalty(a: np.ndarray, c0: float):
    """Efron 2016's penalty s(a) = c0 ||a|| and its gradient (0 at a = 0)."""
    nrm = float(np.sqrt(a @ a))
    return c0 * nrm, (c0 * a / nrm if nrm > 0 else np.zeros_like(a))


def _deconv_start(q: np.ndarray, grid: np.ndarray, nn: np.ndarray, cc: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Start: least-squares projection onto Q of the log density, on the grid of logit p, of a method-of-moments
    Beta(α, β) (p^α (1 − p)^β per unit logit p); an atom starts at log 0.05 relative mass."""
    la, lb = _moment_start(nn, cc, w)
    a, b = np.exp(la), np.exp(lb)
    with np.errstate(divide="ignore"):
        target = special.xlogy(a, grid) + special.xlog1py(b, -grid)
    fin = np.isfinite(target)
    target = np.where(fin, target, np.log(0.05) + np.max(target[fin]))
    x, *_ = np.linalg.lstsq(q - q.mean(axis=0), target - target.mean(), rcond=None)
    return x


def _scaled_likelihood(logp: np.ndarray):
    """(L [U, J], row max [U]): the likelihood matrix scaled row-wise, exp(log P_uj − max_j log P_uj), so that the
    marginal f_u = Σ_j P_uj g_j is exp(max_u) · (L g)_u with matrix-vector products only."""
    top = np.max(logp, axis=1)
    return np.exp(logp - top[:, None]), top


def _damped_newton(fun, hess, x0: np.ndarray, *, gtol: float = 1e-6, max_iter: int = 300):
    """Minimise a smooth function by Newton steps with Levenberg-Marquardt damping: solve (H + λ I) d = −∇f, accept
    the step if it lowers f (then λ /= 4), else λ *= 4 and retry. Stops when max |∇f| <= gtol, when the last accepted
    steps lowered f by less than 1e-12 (1 + |f|) nats three times running, or when λ exceeds 1e12 (no descent left).
    Returns ``scipy.optimize.OptimizeResult``(x, fun, jac, nit, success). The penalised g-model likelihoods here are
    not convex, and near-flat in the coefficients that move mass where no count can reach; damping keeps the steps
    from running along those directions, where a trust-region method creeps."""
    x = np.asarray(x0, np.float64).copy()
    f, g = fun(x)
    lam, small, it, success = 1e-3, 0, 0, False
    eye = np.eye(len(x))
    while it < max_iter:
        if np.max(np.abs(g)) <= gtol:
            success = True
            break
        h = hess(x)
        h = 0.5 * (h + h.T)
        stepped = False
        while lam <= 1e12:
            try:
                chol = np.linalg.cholesky(h + lam * (1.0 + np.abs(np.diag(h))).max() * eye)
            except np.linalg.LinAlgError:
                lam *= 4
                continue
            d = -np.linalg.solve(chol.T, np.linalg.solve(chol, g))
            f_new, g_new = fun(x + d)
            if np.isfinite(f_new) and f_new < f:
                small = small + 1 if f - f_new < 1e-12 * (1 + abs(f)) else 0
                x, f, g = x + d, f_new, g_new
                lam = max(lam / 4, 1e-12)
                stepped = True
                break
            lam *= 4
        it += 1
        if not stepped or small >= 3:
            success = stepped or np.max(np.abs(g)) <= 1e3 * gtol
            break
    return optimize.OptimizeResult(x=x, fun=f, jac=g, nit=it, success=bool(success))


def _fit_deconv_core(logp: np.ndarray, w: np.ndarray, q: np.ndarray, c0: float, start: np.ndarray):
    """Minimise −Σ_u w_u log Σ_j P_uj g_j(a) + c0 ||a||, g = softmax(Q a), by damped Newton steps
    (:func:`_damped_newton`) with the analytic gradient Qᵀ Σ_u w_u (post_u − g) (Efron
    2016 eq. 3.3 for the unpenalised part) and Hessian Qᵀ [diag(Σ_u w_u post_u) − Σ_u w_u post_u post_uᵀ
    − W (diag g − g gᵀ)] Q (W = Σ_u w_u) plus the penalty's c0/||a|| (I − a aᵀ/||a||²)."""
    wsum = float(w.sum())
    lik, top = _scaled_likelihood(logp)
    const = float(w @ top)
    cache = {}

    def parts(a):
        key = a.tobytes()
        if key not in cache:
            cache.clear()
            eta = q @ a
            log_g = eta - _lse(eta)
            g = np.exp(log_g)
            fu = lik @ g
            if np.all(fu > 1e-280):
                ll = const + float(w @ np.log(fu))
                post = lik * g[None, :] / fu[:, None]
            else:  # some marginal underflows at this trial point: log domain
                lj = logp + log_g
                log_f = _lse(lj)
                ll = float(w @ log_f)
                post = np.exp(lj - log_f[:, None])
            cache[key] = (ll, g, post)
        return cache[key]

    def f(a):
        ll, g, post = parts(a)
        pen, dpen = _penalty(a, c0)
        return -ll + pen, -(q.T @ (w @ post - wsum * g)) + dpen

    def hess(a):
        _, g, post = parts(a)
        v = post @ q  # [U, p]
        qg = q.T @ g
        h_ll = (q.T * (w @ post)) @ q - (v.T * w) @ v - wsum * ((q.T * g) @ q - np.outer(qg, qg))
        nrm = float(np.sqrt(a @ a))
        h_pen = c0 / nrm * (np.eye(len(a)) - np.outer(a, a) / nrm**2) if nrm > 0 else np.zeros((len(a), len(a)))
        return -h_ll + h_pen

    return _damped_newton(f, hess, start)


@dataclasses.dataclass(frozen=True, eq=False)
class DeconvolutionFit:
    """Empirical-Bayes deconvolution prior (Efron 2016) on a fixed grid of p, fitted by penalised marginal likelihood.

    grid: p_j [J] (increasing; 0 first when the prior has an atom at p = 0); g: prior masses [J] (sum 1);
    coef: the spline coefficients a (the atom's coefficient first when present); df: natural-spline degrees of
    freedom; c0: penalty weight (nats); log_likelihood: Σ_i log Σ_j Binom(c_i | n_i, p_j) g_j in nats with the
    log C(n, c) terms (comparable to :class:`BetaBinomialFit`'s); penalty: c0 ||a|| (nats); info_ratio: Efron's
    R(a) = tr(s̈(a))/tr(I(a)), the artificial (penalty) over the genuine (Fisher) information, small when the data
    dominate; n_problems / n_skipped as in :class:`BetaBinomialFit`; converged: the optimiser's report;
    selection: ((df, c0, held-out log-likelihood in nats), ...) when df and c0 were chosen by
    :func:`select_deconvolution_prior`, else ().
    """

    grid: np.ndarray
    g: np.ndarray
    coef: np.ndarray
    df: int
    c0: float
    log_likelihood: float
    penalty: float
    info_ratio: float
    n_problems: int
    converged: bool
    n_skipped: int = 0
    selection: tuple = ()

    def pass_at_k(self, k):
        """Dataset pass@k under the prior alone (a new problem): Σ_j g_j [1 − (1 − p_j)^k], unitless."""
        return deconvolution_prior_pass_at_k(self.grid, self.g, k)


def _info_ratio(logp, w, q, a, c0) -> float:
    """Efron 2016's R(a) = tr(s̈)/tr(I) with I = Σ_u w_u v_u v_uᵀ, v_u = Qᵀ(post_u − g) (deconvolveR's I(α))."""
    eta = q @ a
    log_g = eta - _lse(eta)
    lj = logp + log_g
    post = np.exp(lj - _lse(lj)[:, None])
    v = (post - np.exp(log_g)) @ q
    tr_i = float(np.sum(w * np.sum(v * v, axis=1)))
    nrm = float(np.sqrt(a @ a))
    tr_s = c0 / nrm * (len(a) - 1) if nrm > 0 else np.inf
    return tr_s / tr_i if tr_i > 0 else np.inf


def _check_df_c0(df, c0):
    if isinstance(df, (bool, np.bool_)) or not isinstance(df, (int, np.integer)) or not 2 <= df <= 20:
        raise ValueError(f"df: natural-spline degrees of freedom must be an integer in [2, 20], got {df!r}")
    if isinstance(c0, (bool, np.bool_)) or not isinstance(c0, (int, float, np.integer, np.floating)) or not (np.isfinite(c0) and c0 >= 0):
        raise ValueError(f"c0: the penalty weight must be a finite number >= 0, got {c0!r}")
    return int(df), float(c0)


def _deconv_from_pairs(nn, cc, w, grid, df, c0, n_skipped=0) -> DeconvolutionFit:
    _, q, _, _ = _design(grid, df)
    logp = _log_binom_matrix(nn, cc, grid)
    res = _fit_deconv_core(logp, w, q, c0, _deconv_start(q, grid, nn, cc, w))
    a = res.x
    eta = q @ a
    g = np.exp(eta - _lse(eta))
    pen = _penalty(a, c0)[0]
    return DeconvolutionFit(grid=grid, g=g / g.sum(), coef=a, df=df, c0=c0, log_likelihood=pen - float(res.fun),
                            penalty=pen, info_ratio=_info_ratio(logp, w, q, a, c0), n_problems=int(w.sum()),
                            converged=bool(res.success), n_skipped=n_skipped)


def fit_deconvolution_prior(n, c, *, df: int = 5, c0: float = 1.0, grid=None) -> DeconvolutionFit:
    """Empirical-Bayes deconvolution ("g-modeling") prior on p from per-problem counts (c_i correct of n_i).

    Efron 2016, "Empirical Bayes deconvolution estimates" (Biometrika 103: 1-20), §2-3: p takes the grid values p_j
    with prior masses g(a) = exp(Q a)/Σ exp(Q a) (eq. 2.4; Q: natural cubic spline basis of ``df`` columns in
    logit p, centred and scaled to unit norm as in Efron's R package deconvolveR), and a maximises the penalised
    marginal log-likelihood Σ_i log Σ_j Binom(c_i | n_i, p_j) g_j(a) − c0 ||a|| (eq. 3.9 with s(a) = c0 ||a||,
    the form and default c0 = 1, df = 5 of deconvolveR). Unlike a Beta, the log density over logit p is a free
    spline, so the mass near p = 0 — what sets pass@k at large k for problems never solved in n samples — is not
    tied to the shape above p ≈ 1/n. L-BFGS-B with the analytic gradient Qᵀ Σ_i (post_i − g), from the projection
    of a method-of-moments Beta and from a ≈ 0 (the better kept).

    Args: n, c: per-problem counts (broadcast; n = 0 problems are left out and counted in ``n_skipped``); df:
    integer in [2, 20]; c0 >= 0 (nats); grid: support (default :func:`deconvolution_grid`; with a leading 0 the
    prior has an atom at p = 0 with its own coefficient, Efron's ``deltaAt``). Raises ValueError naming ``c`` when
    every problem has c = 0 (or every c = n): the prior's shape would then be set by the penalty alone.
    Choose df and c0 with :func:`select_deconvolution_prior`.
    """
    df, c0 = _check_df_c0(df, c0)
    grid = deconvolution_grid() if grid is None else _check_grid(grid)
    pairs, counts, n_skipped = _count_pairs(n, c, "the deconvolution prior is then set by its penalty alone (all mass at the lowest p)",
                                            "the deconvolution prior is then set by its penalty alone (all mass at the highest p)")
    return _deconv_from_pairs(pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64), counts.astype(np.float64), grid, df, c0,
                              n_skipped)


@dataclasses.dataclass(frozen=True, eq=False)
class PooledDeconvolutionFit:
    """Deconvolution prior with a shape shared by groups and a location per group (:func:`fit_pooled_deconvolution_prior`).

    grid: p_j [J]; g: prior masses [G, J] per group (rows of NaN for degenerate groups); shift: δ_g per group in
    logit p (mean 0 over the fitted groups; NaN when degenerate); groups: sorted labels; coef (the spline's a),
    df, c0, penalty (c0 ||(a, δ)||, nats),
    log_likelihood, n_problems, converged, selection as in :class:`DeconvolutionFit`; degenerate: groups left out
    (every problem c = 0, or every c = n).
    """

    grid: np.ndarray
    g: np.ndarray
    shift: tuple
    groups: tuple
    coef: np.ndarray
    df: int
    c0: float
    log_likelihood: float
    penalty: float
    n_problems: int
    converged: bool
    degenerate: tuple = ()
    selection: tuple = ()

    def prior_of(self, group) -> np.ndarray:
        """Prior masses [J] of one group (NaN when degenerate); ValueError naming ``group`` if unknown."""
        if group not in self.groups:
            raise ValueError(f"group: {group!r} is not one of the fitted groups {list(self.groups)[:10]}")
        return self.g[self.groups.index(group)]


def _pooled_core(gg, nn, cc, w, grid, df, c0, n_groups):
    """Fit of the shift model on distinct (group slot, n, c) triples; returns (a, δ [n_groups], log g [G, J], result).

    Parameters x = (a, z), δ = B z with B an orthonormal basis of the shifts summing to 0. Damped Newton
    (:func:`_damped_newton`) with the analytic gradient and Hessian: with η_gj = Q(u_j − δ_g) a, the per-group Hessian in η
    is H_g = diag(Σ_{i∈g} w_i post_i) − Σ_{i∈g} w_i post_i post_iᵀ − W_g (diag g_g − g_g g_gᵀ), mapped by the
    Jacobian [Q(u − δ_g), −Q'(u − δ_g) a] plus the curvature terms Σ_j r_gj ∂²η_gj (r = ∂ll/∂η)."""
    basis, q, u, _ = _design(grid, df)
    logp = _log_binom_matrix(nn, cc, grid)
    lik, top = _scaled_likelihood(logp)
    const = float(w @ top)
    G = n_groups
    wg = np.bincount(gg, weights=w, minlength=G)
    bz = np.linalg.qr(np.ones((G, 1)), mode="complete")[0][:, 1:]  # [G, G − 1], columns orthogonal to 1
    onehot = np.zeros((len(gg), G))
    onehot[np.arange(len(gg)), gg] = 1.0
    cache = {}

    def parts(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            a, d = x[:df], bz @ x[df:]
            xs = u[None, :] - d[:, None]  # [G, J]
            qx = basis.values(xs)  # [G, J, df]
            eta = qx @ a
            log_g = eta - _lse(eta)[:, None]
            g = np.exp(log_g)
            fu = np.einsum("uj,uj->u", lik, g[gg])
            if np.all(fu > 1e-280):
                ll = const + float(w @ np.log(fu))
                post = lik * g[gg] / fu[:, None]
            else:  # some marginal underflows at this trial point: log domain
                lj = logp + log_g[gg]
                log_f = _lse(lj)
                ll = float(w @ log_f)
                post = np.exp(lj - log_f[:, None])
            dsum = onehot.T @ (w[:, None] * post)  # [G, J] Σ_{i∈g} w_i post_ij
            cache[key] = (a, d, xs, qx, log_g, g, ll, post, dsum, dsum - wg[:, None] * g)
        return cache[key]

    def f(x):
        a, d, xs, qx, log_g, g, ll, post, dsum, r = parts(x)
        s = basis.slopes(xs) @ a  # [G, J] ∂η/∂x
        ga = np.einsum("gj,gjd->d", r, qx)
        gd = -np.sum(r * s, axis=1)
        pen, dpen = _penalty(x, c0)
        return -ll + pen, -np.concatenate([ga, bz.T @ gd]) + dpen

    def hess(x):
        a, d, xs, qx, log_g, g, ll, post, dsum, r = parts(x)
        q1 = basis.slopes(xs)
        q2 = basis.curvatures(xs)
        jac = np.concatenate([qx, -(q1 @ a)[..., None]], axis=2)  # [G, J, df + 1]
        pa = np.einsum("uj,ujm->um", post, jac[gg])  # [U, df + 1]
        t2 = np.einsum("ug,um,un->gmn", onehot * w[:, None], pa, pa)
        ag = np.einsum("gjm,gj->gm", jac, g)
        m = (np.einsum("gjm,gj,gjn->gmn", jac, dsum, jac) - t2
             - wg[:, None, None] * (np.einsum("gjm,gj,gjn->gmn", jac, g, jac) - ag[:, :, None] * ag[:, None, :]))
        h_aa = m[:, :df, :df].sum(axis=0)
        h_ad = m[:, :df, df] - np.einsum("gj,gjd->gd", r, q1)  # [G, df]
        h_dd = m[:, df, df] + np.sum(r * (q2 @ a), axis=1)  # [G]
        nrm = float(np.sqrt(x @ x))
        h_pen = c0 / nrm * (np.eye(len(x)) - np.outer(x, x) / nrm**2) if nrm > 0 else np.zeros((len(x), len(x)))
        off = -(h_ad.T @ bz)  # [df, G − 1]
        return np.block([[-h_aa, off], [off.T, -(bz.T * h_dd) @ bz]]) + h_pen

    tot_c = np.bincount(gg, weights=w * cc, minlength=G)
    tot_n = np.bincount(gg, weights=w * nn, minlength=G)
    lr = special.logit(np.clip(tot_c / tot_n, 1e-6, 1 - 1e-6))
    start = np.concatenate([_deconv_start(q, grid, nn, cc, w), bz.T @ (lr - lr.mean())])
    res = _damped_newton(f, hess, start)
    a, d = res.x[:df], bz @ res.x[df:]
    log_g = parts(res.x)[4]
    return a, d, log_g, res


def _group_triples(n, c, groups, model: str):
    """Validated 1-d (n, c) with n >= 1, group index per problem, the group labels and which groups are fittable
    (neither all-0 nor all-n counts); ``model`` names the fit in the degenerate-input error."""
    n_a = np.atleast_1d(as_count_array(n, "n"))
    c_a = np.atleast_1d(as_count_array(c, "c"))
    g_a = np.atleast_1d(np.asarray(groups))
    if not (n_a.ndim == c_a.ndim == g_a.ndim == 1 and len(n_a) == len(c_a) == len(g_a)):
        raise ValueError(f"n, c, groups: expected three 1-d arrays of the same length, got shapes {n_a.shape}, {c_a.shape}, {g_a.shape}")
    check_not_above(c_a, n_a, "c", "n")
    keep = n_a > 0
    n_a, c_a, g_a = n_a[keep], c_a[keep], g_a[keep]
    if n_a.size == 0 and "deconvolution" in model:
        raise ValueError("n: need at least one problem with n >= 1")
    labels, gi = np.unique(g_a, return_inverse=True)
    gi = np.asarray(gi).ravel()
    G = len(labels)
    tot_c = np.bincount(gi, weights=c_a, minlength=G)
    tot_n = np.bincount(gi, weights=n_a, minlength=G)
    ok = (tot_c > 0) & (tot_c < tot_n)
    if not ok.any():
        raise ValueError(f"c: every group has c = 0 everywhere (or c = n everywhere); {model}")
    return n_a, c_a, gi, labels, ok


def fit_pooled_deconvolution_prior(n, c, groups, *, df: int = 5, c0: float = 1.0, grid=None) -> PooledDeconvolutionFit:
    """Deconvolution prior (:func:`fit_deconvolution_prior`) shared by groups up to a shift in logit p.

    Group g's prior masses are g_gj ∝ exp(Q(logit p_j − δ_g) a): one spline log density over logit p (Efron 2016's
    g-model, basis extended linearly beyond the grid as a natural spline is), translated by δ_g per group (Σ δ_g = 0).
    This is the marginal law of the Rasch model logit p_ig = θ_g − b_i (Rasch 1960): the problems' difficulties b_i
    share one distribution across checkpoints g and each checkpoint moves it by its ability θ_g. A strong group's
    observed range of p then informs a weak group's lower tail (p below 1/n, where its own counts are flat), which
    per-group fits leave to the penalty. Maximises Σ_g Σ_{i∈g} log Σ_j Binom(c_i | n_i, p_j) g_gj − c0 ||(a, δ)|| over
    a and δ (damped Newton, analytic gradient and Hessian, from the projection of a method-of-moments Beta and the
    groups' logit mean rates): Efron's penalty on every coefficient of the g-model, so that the shift of a group with
    one or two successes — nearly flat in its likelihood — stays finite. Groups where every problem has c = 0 (or every c = n) are left out
    (``degenerate``). Args as in :func:`fit_deconvolution_prior`, plus groups: a label per problem (1-d, same
    length as n and c; anything ``numpy.unique`` sorts). The grid may not carry an atom at 0 (an atom does not shift).
    """
    df, c0 = _check_df_c0(df, c0)
    grid = deconvolution_grid() if grid is None else _check_grid(grid)
    if grid[0] == 0.0:
        raise ValueError("grid: the pooled (shifted) deconvolution prior takes no atom at p = 0")
    n_a, c_a, gi, labels, ok = _group_triples(n, c, groups, "the pooled deconvolution prior is then set by its penalty")
    return _pooled_from(n_a, c_a, gi, labels, ok, grid, df, c0)


def _pooled_from(n_a, c_a, gi, labels, ok, grid, df, c0) -> PooledDeconvolutionFit:
    slot = np.cumsum(ok) - 1
    use = ok[gi]
    trip, w = np.unique(np.stack([slot[gi[use]], n_a[use], c_a[use]], axis=1), axis=0, return_counts=True)
    gg, nn, cc = trip[:, 0], trip[:, 1].astype(np.float64), trip[:, 2].astype(np.float64)
    Gf = int(ok.sum())
    a, d, log_g, res = _pooled_core(gg, nn, cc, w.astype(np.float64), grid, df, c0, Gf)
    G = len(labels)
    g = np.full((G, len(grid)), np.nan)
    gn = np.exp(log_g)
    g[ok] = gn / gn.sum(axis=1, keepdims=True)
    shift = np.full(G, np.nan)
    shift[ok] = d
    pen = _penalty(np.concatenate([a, d]), c0)[0]  # ||(a, z)|| = ||(a, δ)||: B is orthonormal and Σ δ = 0
    return PooledDeconvolutionFit(grid=grid, g=g, shift=tuple(float(s) for s in shift), groups=tuple(labels.tolist()), coef=a, df=df,
                                  c0=c0, log_likelihood=pen - float(res.fun), penalty=pen, n_problems=int(use.sum()),
                                  converged=bool(res.success), degenerate=tuple(labels[~ok].tolist()))


def _split_counts(n: np.ndarray, c: np.ndarray, rng):
    """Each problem's n samples split at random into n // 2 and the rest: (n1, c1, n2, c2), c1 hypergeometric."""
    n1 = n // 2
    c1 = np.zeros_like(c)
    live = n1 > 0
    if live.any():
        c1[live] = rng.hypergeometric(c[live], n[live] - c[live], n1[live])
    return n1, c1, n - n1, c - c1


def _heldout(grid, log_g, rows, n_fit, c_fit, n_new, c_new) -> float:
    """Σ_i log P(c_new,i | c_fit,i) = Σ_i log Σ_j post_ij Binom(c_new,i | n_new,i, p_j), in nats, the posterior of problem i
    under the prior row ``rows[i]`` of log_g [R, J]; computed once per distinct (row, n_fit, c_fit, n_new, c_new)."""
    key, cnt = np.unique(np.stack([rows, n_fit, c_fit, n_new, c_new], axis=1), axis=0, return_counts=True)
    r, nf, cf, nn, cn = (key[:, i] for i in range(5))
    nf, cf, nn, cn = (x.astype(np.float64) for x in (nf, cf, nn, cn))
    with np.errstate(divide="ignore"):
        lp = log_g[r] + special.xlogy(cf[:, None], grid) + special.xlog1py((nf - cf)[:, None], -grid)
    lpost = lp - _lse(lp)[:, None]
    return float(cnt @ _lse(lpost + _log_binom_matrix(nn, cn, grid)))


def select_deconvolution_prior(n, c, groups=None, *, dfs=DECONV_DFS, c0s=DECONV_C0S, grid=None, seed=0):
    """Deconvolution prior with df and c0 chosen by held-out predictive likelihood, then refitted on all the data.

    Each problem's n samples are split at random into halves (c1 of n // 2 hypergeometric, rng
    ``numpy.random.default_rng([*seed, 17])``; seed an integer or a sequence of integers). For every candidate
    (df, c0) of ``dfs`` × ``c0s`` the prior is fitted on one half of every problem and scored by the log posterior predictive of the other half,
    Σ_i log Σ_j P(p_j | c_i1) Binom(c_i2 | n_i2, p_j), and vice versa (2-fold, in nats); the candidate with the
    largest total is refitted on all samples. The criterion sees only the counts given — it is the model's own
    forecast of more samples of the same problems — so nothing outside them tunes it. Candidates whose half-sample
    fit is impossible (a half with no success at all) score −inf.

    groups None: :func:`fit_deconvolution_prior` (``grid`` as there); else :func:`fit_pooled_deconvolution_prior`
    with these labels. Returns the fit with ``selection`` = ((df, c0, held-out log-likelihood), ...).
    """
    dfs = tuple(dfs)
    c0s = tuple(c0s)
    if not dfs or not c0s:
        raise ValueError(f"dfs, c0s: need at least one candidate each, got {dfs!r}, {c0s!r}")
    for d, k in itertools.product(dfs, c0s):
        _check_df_c0(d, k)
    grid = deconvolution_grid() if grid is None else _check_grid(grid)
    try:
        seq = [int(s) for s in np.atleast_1d(seed)]
    except (TypeError, ValueError):
        raise ValueError(f"seed: expected an integer or a sequence of integers, got {seed!r}") from None
    rng = np.random.default_rng([*seq, 17])
    if groups is None:
        pairs, counts, _ = _count_pairs(n, c, "the deconvolution prior is then set by its penalty alone (all mass at the lowest p)",
                                        "the deconvolution prior is then set by its penalty alone (all mass at the highest p)")
        n_a, c_a = np.repeat(pairs[:, 0], counts), np.repeat(pairs[:, 1], counts)
        n1, c1, n2, c2 = _split_counts(n_a, c_a, rng)
        scores = []
        for d, k in itertools.product(dfs, c0s):
            tot = 0.0
            for (nf, cf), (nh, ch) in ((((n1, c1)), (n2, c2)), ((n2, c2), (n1, c1))):
                keep = nf > 0
                if not np.any(cf[keep] > 0) or np.all(cf[keep] == nf[keep]):
                    tot = -np.inf
                    break
                pr, ct = np.unique(np.stack([nf[keep], cf[keep]], axis=1), axis=0, return_counts=True)
                fit = _deconv_from_pairs(pr[:, 0].astype(float), pr[:, 1].astype(float), ct.astype(float), grid, int(d), float(k))
                with np.errstate(divide="ignore"):
                    tot += _heldout(grid, np.log(fit.g)[None, :], np.zeros(len(nf), np.int64), nf, cf, nh, ch)
            scores.append((int(d), float(k), tot))
        bd, bc, _ = max(scores, key=lambda s: s[2])
        return dataclasses.replace(fit_deconvolution_prior(n, c, df=bd, c0=bc, grid=grid), selection=tuple(scores))
    if grid[0] == 0.0:
        raise ValueError("grid: the pooled (shifted) deconvolution prior takes no atom at p = 0")
    n_a, c_a, gi, labels, ok = _group_triples(n, c, groups, "the pooled deconvolution prior is then set by its penalty")
    n1, c1, n2, c2 = _split_counts(n_a, c_a, rng)
    scores = []
    for d, k in itertools.product(dfs, c0s):
        tot = 0.0
        for (nf, cf), (nh, ch) in (((n1, c1), (n2, c2)), ((n2, c2), (n1, c1))):
            keep = nf > 0
            tc = np.bincount(gi[keep], weights=cf[keep], minlength=len(labels))
            tn = np.bincount(gi[keep], weights=nf[keep], minlength=len(labels))
            okf = ok & (tc > 0) & (tc < tn)
            if not okf.any():
                tot = -np.inf
                break
            fit = _pooled_from(nf[keep], cf[keep], gi[keep], labels, okf, grid, int(d), float(k))
            sel = keep & okf[gi]  # problems of groups fitted on this half
            with np.errstate(divide="ignore", invalid="ignore"):
                tot += _heldout(grid, np.log(fit.g), gi[sel], nf[sel], cf[sel], nh[sel], ch[sel])
        scores.append((int(d), float(k), tot))
    bd, bc, _ = max(scores, key=lambda s: s[2])
    return dataclasses.replace(_pooled_from(n_a, c_a, gi, labels, ok, grid, bd, bc), selection=tuple(scores))


def _posterior_log_weights(n, c, grid, g):
    """Distinct (n, c) pairs [U, 2], index of every broadcast entry into them, and log posterior weights [U, J]."""
    n_a = as_count_array(n, "n")
    c_a = as_count_array(c, "c")
    check_not_above(c_a, n_a, "c", "n")
    n_b, c_b = np.broadcast_arrays(n_a, c_a)
    pairs, inv = np.unique(np.stack([n_b.ravel(), c_b.ravel()], axis=1), axis=0, return_inverse=True)
    with np.errstate(divide="ignore"):
        cc, ff = pairs[:, 1:2].astype(float), (pairs[:, 0:1] - pairs[:, 1:2]).astype(float)
        lp = np.log(g)[None, :] + special.xlogy(cc, grid) + special.xlog1py(ff, -grid)
    fin = np.isfinite(lp).any(axis=1)
    if not fin.all():
        i = int(np.flatnonzero(~fin)[0])
        raise ValueError(f"c: {int(pairs[i, 1])} of {int(pairs[i, 0])} correct has probability 0 under the prior g (no mass where it could occur)")
    return pairs, np.asarray(inv).ravel(), lp - _lse(lp)[:, None], n_b.shape


def deconvolution_posterior(n, c, grid, g):
    """Posterior masses P(p = p_j | c of n correct) ∝ g_j p_j^c (1 − p_j)^(n − c) on the grid (Bayes' rule).

    Args: n, c: counts (broadcast, 0 <= c <= n); grid [J], g [J]: a discrete prior (e.g. a
    :class:`DeconvolutionFit`'s). Returns float64 [..., J] (the broadcast shape of n, c, then the grid), rows sum
    to 1. ValueError naming ``c`` when a count has probability 0 under g."""
    p, w = _check_prior(grid, g)
    pairs, inv, lw, shape = _posterior_log_weights(n, c, p, w)
    return np.exp(lw)[inv].reshape(shape + (len(p),))


def _fail_matrix(k, p: np.ndarray):
    """Distinct k [V], index of every entry of k into them, −expm1(k log1p(−p_j)) [V, J] = 1 − (1 − p_j)^k."""
    k_a = as_count_array(k, "k")
    kv, kinv = np.unique(k_a.ravel(), return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = -np.expm1(special.xlog1py(kv[:, None].astype(float), -p[None, :]))
    return k_a, kv, np.asarray(kinv).ravel(), y


def _deconv_moments(n, c, k, grid, g, second: bool):
    p, w = _check_prior(grid, g)
    pairs, inv, lw, shape = _posterior_log_weights(n, c, p, w)
    k_a, kv, kinv, y = _fail_matrix(k, p)
    out_shape = np.broadcast_shapes(shape, k_a.shape)
    iu = np.broadcast_to(inv.reshape(shape), out_shape).ravel()
    ik = np.broadcast_to(kinv.reshape(k_a.shape), out_shape).ravel()
    post = np.exp(lw)
    m1 = (post @ y.T)[iu, ik].reshape(out_shape)
    if not second:
        return m1
    m2 = (post @ (y * y).T)[iu, ik].reshape(out_shape)
    return m1, m2


def deconvolution_pass_at_k(n, c, k, grid, g):
    """Posterior pass@k of a problem with c of n correct under a discrete prior g on grid p_j (empirical Bayes):

        E[1 − (1 − p)^k | c] = Σ_j w_j [1 − (1 − p_j)^k],  w_j ∝ g_j p_j^c (1 − p_j)^(n − c)

    (:func:`deconvolution_posterior`; 1 − (1 − p)^k by −expm1(k log1p(−p))). k may exceed n (iid samples, with
    replacement). Broadcast over n, c, k; grid and g 1-d. Exact for the discrete prior; costs one [U, J] × [J, V]
    product for U distinct (n, c) and V distinct k. Unitless."""
    return _out(_deconv_moments(n, c, k, grid, g, second=False))


def deconvolution_pass_at_k_sd(n, c, k, grid, g):
    """Posterior standard deviation of Y = 1 − (1 − p)^k under the model of :func:`deconvolution_pass_at_k`:
    √(Σ_j w_j Y_j² − (Σ_j w_j Y_j)²). Broadcast; unitless."""
    m1, m2 = _deconv_moments(n, c, k, grid, g, second=True)
    return _out(np.sqrt(np.maximum(m2 - m1 * m1, 0.0)))


def deconvolution_pass_at_k_quantile(n, c, k, q, grid, g):
    """q-quantile of Y = 1 − (1 − p)^k under the discrete posterior of :func:`deconvolution_posterior`.

    Y is increasing in p, so its quantile is 1 − (1 − p_(q))^k with p_(q) = min{p_j : Σ_{l<=j} w_l >= q} (the
    lower quantile of a discrete law; q = 0 gives the smallest grid point). Broadcast over n, c, k, q ∈ [0, 1]."""
    p, w = _check_prior(grid, g)
    pairs, inv, lw, shape = _posterior_log_weights(n, c, p, w)
    q_a = _unit_interval(q, "q")
    k_a = as_count_array(k, "k")
    out_shape = np.broadcast_shapes(shape, q_a.shape, k_a.shape)
    cdf = np.cumsum(np.exp(lw), axis=1)
    cdf /= cdf[:, -1:]
    iu = np.broadcast_to(inv.reshape(shape), out_shape).ravel()
    qq = np.broadcast_to(q_a, out_shape).ravel()
    key, kinv = np.unique(np.stack([iu.astype(float), qq], axis=1), axis=0, return_inverse=True)
    ju = key[:, 0].astype(np.int64)
    idx = np.empty(len(key), dtype=np.int64)
    step = max(1, _CHUNK // len(p))
    for s in range(0, len(key), step):
        e = min(len(key), s + step)
        idx[s:e] = np.sum(cdf[ju[s:e]] < key[s:e, 1:2] - 1e-12, axis=1)
    pq = p[np.minimum(idx, len(p) - 1)][np.asarray(kinv).ravel()].reshape(out_shape)
    return _out(pass_at_k_from_p(pq, np.broadcast_to(k_a, out_shape)))


def deconvolution_prior_pass_at_k(grid, g, k):
    """Dataset pass@k under a discrete prior alone: Σ_j g_j [1 − (1 − p_j)^k] (a new problem). Broadcast over k."""
    p, w = _check_prior(grid, g)
    k_a, kv, kinv, y = _fail_matrix(k, p)
    return _out((y @ w)[kinv].reshape(k_a.shape))


# ----------------------------------------------------------------------------------------------------
# union over checkpoints
# ----------------------------------------------------------------------------------------------------


def union_pass_at_k(n, c, k):
    """Exact union pass@k over checkpoints: 1 − ∏_j C(n_j − c_j, k_j)/C(n_j, k_j).

    The probability (unitless) that at least one of the k_j samples drawn without replacement from
    checkpoint j's n_j samples (c_j correct), independently across checkpoints, is correct. The
    per-checkpoint factor is the Chen et al. 2021 failure ratio. The last axis indexes checkpoints
    j (e.g. shapes [P, J] for n, c and [J] for k); 0-d inputs are one checkpoint. k_j = 0 is allowed
    (the checkpoint contributes nothing). Returns an array of the broadcast shape without the last axis.
    """
    n_a, c_a, k_a = _counts_nck(n, c, k, k_min=0)
    n_a, c_a, k_a = (np.atleast_1d(x) for x in (n_a, c_a, k_a))
    log_fail = _log_fail(n_a, c_a, k_a, cutoff=True)
    return _out(-np.expm1(np.sum(log_fail, axis=-1)))


def union_pass_at_k_from_p(p, k):
    """Union pass@k over checkpoints with known success probabilities: 1 − ∏_j (1 − p_j)^{k_j}.

    k_j iid samples (with replacement) from checkpoint j, independent across checkpoints; last axis =
    checkpoints. p_j in [0, 1]; integer k_j >= 0 (k_j = 0 contributes nothing). Unitless.
    """
    p_a = _unit_interval(p, "p")
    k_a = as_count_array(k, "k")
    p_a, k_a = (np.atleast_1d(x) for x in np.broadcast_arrays(p_a, k_a))
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(k_a == 0, 0.0, k_a * np.log1p(-p_a))
    return _out(-np.expm1(np.sum(terms, axis=-1)))


# ----------------------------------------------------------------------------------------------------
# greedy allocation of a sampling budget across checkpoints
# ----------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GreedyAllocation:
    """Result of a greedy budget allocation.

    allocation: int64 [J], samples given to each checkpoint (sums to total_k). value: mean over
    problems of the union pass@k at ``allocation`` (unitless). order: int64 [total_k], the checkpoint
    chosen at each step. trajectory: float64 [total_k + 1], the mean union pass@k after 0, 1, ... steps.
    """

    allocation: np.ndarray
    value: float
    order: np.ndarray
    trajectory: np.ndarray


_TIE_TOL = 1e-12


def _greedy(step_log, caps: np.ndarray, total_k: int, n_problems: int) -> GreedyAllocation:
    """Generic greedy: step_log(kvec) -> [P, J] log-factor of one more sample per checkpoint."""
    J = caps.shape[0]
    kvec = np.zeros(J, dtype=np.int64)
    logf = np.zeros(n_problems, dtype=np.float64)
    traj = [0.0]
    order = []
    for _ in range(total_k):
        with np.errstate(invalid="ignore"):
            cand = logf[:, None] + step_log(kvec)  # [P, J]
        vals = np.mean(-np.expm1(cand), axis=0)
        vals = np.where(kvec < caps, vals, -np.inf)
        best = vals.max()
        j = int(np.flatnonzero(vals >= best - _TIE_TOL)[0])  # ties (to 1e-12) -> lowest index
        logf = cand[:, j]
        kvec[j] += 1
        order.append(j)
        traj.append(float(vals[j]))
    return GreedyAllocation(allocation=kvec, value=traj[-1], order=np.asarray(order, dtype=np.int64),
                            trajectory=np.asarray(traj))


def _budget(total_k) -> int:
    arr = as_count_array(total_k, "total_k")
    if arr.ndim:
        raise ValueError(f"total_k: must be a scalar, got shape {arr.shape}")
    return int(arr)


def _as_problems_by_checkpoints(arrays):
    arrays = np.broadcast_arrays(*arrays)
    if arrays[0].ndim == 1:
        arrays = [a[None, :] for a in arrays]
    if arrays[0].ndim != 2:
        raise ValueError(f"n: expected shape [J] or [P, J], got {arrays[0].shape}")
    return arrays


def greedy_budget_allocation(n, c, total_k) -> GreedyAllocation:
    """Greedy allocation of a budget of K samples across J checkpoints to maximise mean union pass@k.

    Objective: F(k) = mean_i [1 − ∏_j C(n_ij − c_ij, k_j)/C(n_ij, k_j)] (see :func:`union_pass_at_k`).
    Adds one sample at a time to the checkpoint whose extra sample raises F the most (ties within 1e-12
    go to the lowest index), subject to k_j <= min_i n_ij. Each step multiplies the failure ratio by
    (n − c − k_j)/(n − k_j), so a step costs O(P·J).

    This is a heuristic, not an exact optimiser. F is monotone and DR-submodular on the integer lattice
    (each failure ratio is convex and log-concave in k_j, and checkpoints interact through a product), so
    by Nemhauser et al. 1978 greedy attains F >= (1 − (1 − 1/K)^K) · max F >= (1 − 1/e) · max F; it can
    be strictly suboptimal (the tests exhibit cases).

    Args: n, c: int arrays [P, J] (or [J] for one problem); total_k: int >= 0, <= Σ_j min_i n_ij.
    Returns: :class:`GreedyAllocation`.
    """
    n_a = as_count_array(n, "n")
    c_a = as_count_array(c, "c")
    check_not_above(c_a, n_a, "c", "n")
    n2, c2 = _as_problems_by_checkpoints([n_a, c_a])
    K = _budget(total_k)
    caps = n2.min(axis=0)
    if K > caps.sum():
        raise ValueError(f"total_k: must be <= sum_j min_i n_ij = {int(caps.sum())}, got {K}")
    nf, cf = n2.astype(np.float64), c2.astype(np.float64)

    def step_log(kvec):
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (nf - cf - kvec) / (nf - kvec)
            return np.log(np.maximum(r, 0.0))

    return _greedy(step_log, caps, K, n2.shape[0])


def greedy_budget_allocation_from_p(p, total_k) -> GreedyAllocation:
    """Greedy allocation of K iid samples across J checkpoints with known success probabilities.

    Objective: F(k) = mean_i [1 − ∏_j (1 − p_ij)^{k_j}] (see :func:`union_pass_at_k_from_p`); no cap
    on k_j. Same greedy rule, tie-breaking and (1 − 1/e) guarantee as :func:`greedy_budget_allocation`;
    a heuristic. Args: p: [P, J] (or [J]) in [0, 1]; total_k: int >= 0.
    """
    p_a = _unit_interval(p, "p")
    (p2,) = _as_problems_by_checkpoints([p_a])
    K = _budget(total_k)
    with np.errstate(divide="ignore"):
        lq = np.log1p(-p2)
    caps = np.full(p2.shape[1], np.iinfo(np.int64).max)
    return _greedy(lambda kvec: lq, caps, K, p2.shape[0])
