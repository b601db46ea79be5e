"""Stability metrics from n samples of which c are correct: pass^k, G-Pass@k_τ and mG-Pass@k.

pass@k asks whether *some* of k attempts succeed; the metrics here ask whether *enough* of them do. Each
estimator is the exact mean, over all C(n, k) k-subsets of the n observed samples, of an indicator on the
number X of correct samples in the subset, so X is hypergeometric(n, c, k):

    P(X = j) = C(c, j) C(n − c, k − j) / C(n, k),   max(0, k − (n − c)) <= j <= min(c, k).

Unbiasedness: if the n samples are iid with success probability p (c ~ Binomial(n, p)), the k-subset is k
iid samples, so E_c[P(X = j)] = C(k, j) p^j (1 − p)^(k − j) and every estimator below is unbiased for the
same indicator under Binomial(k, p); the population values are the ``*_from_p`` functions
(tests/theory/test_stability.py proves the polynomial identity with sympy for small n, k).

All quantities are probabilities (unitless, in [0, 1]); n, c, k, m are numbers of samples. Inputs may be
NumPy arrays, concrete JAX arrays, nested lists or scalars; they are broadcast against each other and the
result is a float64 array (a float64 scalar when every input was a scalar). NumPy only: the functions are
not traceable under ``jax.jit`` (their inputs must be concrete).

Estimators
----------
- pass^k ("all k correct"; Yao et al. 2024, "τ-bench", arXiv 2406.12045, whose pass^k is
  E_task[C(c, k)/C(n, k)]): :func:`pass_hat_k`; population p^k.
- G-Pass@k_τ (Liu et al. 2024, "Are Your LLMs Capable of Stable Reasoning?", arXiv 2412.13147, their
  G-Pass@k_τ definition): P(X >= ⌈τk⌉) = Σ_{j=⌈τk⌉}^{min(c,k)} C(c, j) C(n−c, k−j)/C(n, k),
  τ ∈ (0, 1]; :func:`g_pass_at_k` (and :func:`at_least_m_of_k` for an integer threshold m). Any τ with
  ⌈τk⌉ = 1 gives pass@k (Chen et al. 2021), τ = 1 gives pass^k.
- mG-Pass@k (same paper, its definition): 2 ∫_{0.5}^{1} G-Pass@k_τ dτ, which the paper evaluates as
  (2/k) Σ_{i=⌈k/2⌉+1}^{k} G-Pass@k_{i/k}; :func:`mg_pass_at_k` implements that sum (the form of the paper
  and of its reference code, open-compass/GPassK). It equals 2 ∫ exactly for even k; for odd k the sum leaves out
  the slice τ ∈ (1/2, ⌈k/2⌉/k] of width 1/(2k), on which G-Pass@k_τ = P(X >= ⌈k/2⌉). mG-Pass@1 = 0 (empty
  sum). Computed as (2/k) E[(X − ⌈k/2⌉)₊], since Σ_{i>h} P(X >= i) = E[(X − h)₊].

The threshold m = ⌈τk⌉ is taken after rounding τk to 9 decimals, so that decimal thresholds mean what they
say (0.07 · 100 is 7.000000000000001 in floating point; ⌈·⌉ of it would be 8).

Numerics
--------
Both ends of the support have product forms that the stable log kernel of ``theory.passk`` evaluates
(one log1p term per factor): P(X = min(c, k)) = C(b, a)/C(n, a) with a = min(c, k), b = max(c, k), and
P(X = max(0, k − n + c)) the same with c replaced by n − c. A tail is summed from the nearer end of the
support, in log space: cumulative sums (in extended precision where NumPy has it) of the log ratios
P(X = j ± 1)/P(X = j), each a ratio of exactly formed integers, then a max-shifted log-sum-exp. From the
bottom end the tail is 1 − P(X < m); a result below 0.25 that way is recomputed from the top end, so small
tails (pass^k near 10^-300, say) keep their relative accuracy. m = 1 is pass@k's kernel itself and m = k
pass^k's, so those two identities hold bitwise (for k >= 2; at k = 1 both are c/n to an ulp). Cost: the
anchor's min(a, n − b) log terms plus the walk's length (at most the distance from m to the nearer end of
the support) per distinct (n, c, k, m); problems with equal n have at most n + 1 distinct c, so a table
costs little. Accuracy in the tests, against exact rationals: relative error < 1e-13 for n <= 120 and up to
n = 10^6 (scipy.stats.hypergeom.sf is off by up to 1e-10 there).

Public: :func:`pass_hat_k`, :func:`log_pass_hat_k`, :func:`threshold_count`, :func:`at_least_m_of_k`,
:func:`g_pass_at_k`, :func:`mg_pass_at_k`, :func:`pass_hat_k_from_p`, :func:`g_pass_at_k_from_p`,
:func:`mg_pass_at_k_from_p`.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from common.checks import as_count_array, as_float_array, check_not_above
from theory.passk import log_fail_at_k

__all__ = [
    "pass_hat_k",
    "log_pass_hat_k",
    "threshold_count",
    "at_least_m_of_k",
    "g_pass_at_k",
    "mg_pass_at_k",
    "pass_hat_k_from_p",
    "g_pass_at_k_from_p",
    "mg_pass_at_k_from_p",
]

# Work arrays of the tail kernel hold at most this many float64 entries (8 MiB).
_CHUNK = 1 << 20
# A tail computed as 1 − (the other side) below this is recomputed directly (relative accuracy).
_COMPLEMENT_MIN = 0.25
# τk is rounded to this many decimals before the ceiling (see the module docstring).
_TAU_DECIMALS = 9


# ----------------------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------------------


def _out(arr):
    arr = np.asarray(arr, dtype=np.float64)
    return arr[()] if arr.ndim == 0 else arr


def _counts(n, c, k, *extra):
    """Validated int64 arrays n >= 1, 0 <= c <= n, 1 <= k <= n (errors name the argument), broadcast with
    any ``extra`` arrays."""
    n_a = as_count_array(n, "n", minimum=1)
    c_a = as_count_array(c, "c")
    k_a = as_count_array(k, "k", minimum=1)
    check_not_above(c_a, n_a, "c", "n")
    check_not_above(k_a, n_a, "k", "n")
    return np.broadcast_arrays(n_a, c_a, k_a, *extra)


def _tau(tau) -> np.ndarray:
    t = as_float_array(tau, "tau")
    bad = (t <= 0) | (t > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"tau: must lie in (0, 1], got {float(t[bad].flat[0])!r} at index {idx}")
    return t


def threshold_count(k, tau):
    """m = ⌈τk⌉ (Liu et al. 2024): the number of correct samples among k that G-Pass@k_τ requires, an int64
    array (>= 1). τk is rounded to 9 decimals first (module docstring). k >= 1, τ ∈ (0, 1]; broadcast."""
    k_a = as_count_array(k, "k", minimum=1)
    t = _tau(tau)
    k_a, t = np.broadcast_arrays(k_a, t)
    m = np.ceil(np.round(t * k_a, _TAU_DECIMALS)).astype(np.int64)
    m = np.clip(m, 1, k_a)
    return m[()] if m.ndim == 0 else m


# ----------------------------------------------------------------------------------------------------
# kernel: sums of hypergeometric probabilities walked from one end of the support
# ----------------------------------------------------------------------------------------------------


def _log_pmf_top(n, c, k):
    """log P(X = min(c, k)) = log[C(b, a)/C(n, a)], a = min(c, k), b = max(c, k) (finite)."""
    a, b = np.minimum(c, k), np.maximum(c, k)
    return np.asarray(log_fail_at_k(n, n - b, a), np.float64)


def _log_pmf_bottom(n, c, k):
    """log P(X = max(0, k − (n − c))): the top of the wrong-sample count k − X ~ hypergeometric(n, n − c, k)."""
    return _log_pmf_top(n, n - c, k)


def _log_walk(n, c, k, anchor, length, down: bool, h=None):
    """log Σ_{t < length} g(j_t) P(X = j_t)/P(X = anchor) for 1-d int64 arrays (length >= 1), j_t = anchor − t
    (``down``) or anchor + t; g = 1, or with ``h`` the weight |j_t − h| (>= 1 on every walked term).

    Rows are sorted by length and processed in chunks padded to the chunk's longest row."""
    out = np.empty(n.shape, np.float64)
    if n.size == 0:
        return out
    order = np.argsort(length, kind="stable")
    nf, cf, kf = (x[order].astype(np.float64) for x in (n, c, k))
    af, lf = anchor[order].astype(np.float64), length[order]
    hf = None if h is None else h[order].astype(np.float64)
    res = np.empty(n.shape, np.float64)
    start, total = 0, n.size
    while start < total:  # rows [start, stop) padded to the width of their longest row, <= ~2 _CHUNK entries
        stop = min(total, start + max(1, _CHUNK // max(int(lf[start]), 1)))
        while stop - start > 1 and (stop - start) * int(lf[stop - 1]) > 2 * _CHUNK:
            stop = start + (stop - start) // 2
        width = int(lf[stop - 1])
        sl = slice(start, stop)
        t = np.arange(width, dtype=np.float64)
        N, Cc, K, A = nf[sl, None], cf[sl, None], kf[sl, None], af[sl, None]
        j = A - t if down else A + t  # the walked support points
        with np.errstate(divide="ignore", invalid="ignore"):
            if down:  # P(j − 1)/P(j) = j (n − c − k + j) / ((c − j + 1)(k − j + 1)), for the step j -> j − 1
                jp = j[:, :-1]
                ratio = (jp * (N - Cc - K + jp)) / ((Cc - jp + 1) * (K - jp + 1))
            else:  # P(j + 1)/P(j) = (c − j)(k − j) / ((j + 1)(n − c − k + j + 1))
                jp = j[:, :-1]
                ratio = ((Cc - jp) * (K - jp)) / ((jp + 1) * (N - Cc - K + jp + 1))
            steps = np.log(ratio)
        valid = t[None, :] < lf[sl, None]
        steps = np.where(valid[:, 1:], steps, 0.0)
        # partial sums in extended precision where the platform has it (x86: 64-bit mantissa): their rounding, not
        # the steps', dominates when a walk climbs from a tiny end of the support
        cum = np.cumsum(steps.astype(np.longdouble), axis=1).astype(np.float64)
        logs = np.concatenate([np.zeros((stop - start, 1)), cum], axis=1)
        if hf is not None:
            with np.errstate(divide="ignore"):
                logs = logs + np.log(np.abs(j - hf[sl, None]))
        logs = np.where(valid, logs, -np.inf)
        top = logs.max(axis=1, keepdims=True)
        res[sl] = top[:, 0] + np.log(np.exp(logs - top).sum(axis=1))
        start = stop
    out[order] = res
    return out


def _support(n, c, k):
    return np.maximum(0, k - (n - c)), np.minimum(c, k)


def _unique_rows(*cols):
    """Distinct rows of equal-length 1-d int64 columns: (tuple of distinct columns, inverse index), by one lexsort."""
    order = np.lexsort(cols[::-1])
    srt = [x[order] for x in cols]
    change = np.zeros(order.size, bool)
    change[0] = True
    for x in srt:
        change[1:] |= x[1:] != x[:-1]
    group = np.cumsum(change) - 1
    inv = np.empty(order.size, np.int64)
    inv[order] = group
    first = np.flatnonzero(change)
    return tuple(x[first] for x in srt), inv


def _tail(n, c, k, m):
    """P(X >= m) for validated 1-d int64 arrays (1 <= k <= n, 0 <= c <= n, m integer)."""
    if n.size == 0:
        return np.zeros(0)
    (n, c, k, m), inv = _unique_rows(n, c, k, m)
    lo, hi = _support(n, c, k)
    out = np.zeros(n.shape, np.float64)
    out[m <= lo] = 1.0
    first = (m == 1) & (lo < 1)  # pass@k's kernel: 1 − C(n − c, k)/C(n, k)
    if first.any():
        out[first] = -np.expm1(np.asarray(log_fail_at_k(n[first], c[first], k[first]), np.float64))
    last = (m == k) & (m <= hi) & ~first & (m > lo)  # pass^k's kernel: C(c, k)/C(n, k)
    if last.any():
        out[last] = np.exp(_log_pmf_top(n[last], c[last], k[last]))
    mid = (m > lo) & (m <= hi) & ~first & ~last
    n_top, n_bot = hi - m + 1, m - lo
    comp = mid & (n_bot < n_top)
    if comp.any():  # 1 − P(X < m), summed up from the bottom of the support
        s = comp
        log_rest = _log_pmf_bottom(n[s], c[s], k[s]) + _log_walk(n[s], c[s], k[s], lo[s], n_bot[s], down=False)
        out[s] = np.clip(-np.expm1(np.minimum(log_rest, 0.0)), 0.0, 1.0)
        comp[s] = out[s] >= _COMPLEMENT_MIN  # smaller tails lose relative digits: summed directly below
    direct = mid & ~comp
    if direct.any():
        s = direct
        out[s] = np.exp(_log_pmf_top(n[s], c[s], k[s]) + _log_walk(n[s], c[s], k[s], hi[s], n_top[s], down=True))
    return out[inv]


def _excess(n, c, k, h):
    """E[(X − h)₊] for validated 1-d int64 arrays (h >= 0), in samples."""
    if n.size == 0:
        return np.zeros(0)
    (n, c, k, h), inv = _unique_rows(n, c, k, h)
    lo, hi = _support(n, c, k)
    out = np.zeros(n.shape, np.float64)
    mean = (k * c) / n  # correctly rounded (k·c is an exact integer)
    below = h <= lo  # X >= h always: E[X] − h
    out[below] = np.maximum(mean[below] - h[below], 0.0)
    mid = (h > lo) & (h < hi)
    n_top, n_bot = hi - h, h - lo
    comp = mid & (n_bot < n_top)
    if comp.any():  # E[(X − h)₊] = E[X] − h + E[(h − X)₊], the last summed up from the bottom of the support
        s = comp
        rest = np.exp(_log_pmf_bottom(n[s], c[s], k[s]) + _log_walk(n[s], c[s], k[s], lo[s], n_bot[s], down=False, h=h[s]))
        out[s] = np.maximum(mean[s] - h[s] + rest, 0.0)
        comp[s] = out[s] >= _COMPLEMENT_MIN * np.maximum(h[s], 1)  # cancellation: summed directly below
    direct = mid & ~comp
    if direct.any():
        s = direct
        out[s] = np.exp(_log_pmf_top(n[s], c[s], k[s]) + _log_walk(n[s], c[s], k[s], hi[s], n_top[s], down=True, h=h[s]))
    return out[inv]


# ----------------------------------------------------------------------------------------------------
# estimators from (n, c)
# ----------------------------------------------------------------------------------------------------


def log_pass_hat_k(n, c, k):
    """Natural log of pass^k = log[C(c, k)/C(n, k)] (Yao et al. 2024, τ-bench), in nats, <= 0; −inf where c < k.

    Computed as Σ_{i<m} log(1 − (n − c)/(n − i)), m = min(n − c, k) terms (``theory.passk.log_fail_at_k`` with
    c replaced by n − c), each accurate to about one ulp: relative accuracy is kept where pass^k underflows.
    n >= 1, 0 <= c <= n, 1 <= k <= n; broadcast.
    """
    n_a, c_a, k_a = _counts(n, c, k)
    return _out(log_fail_at_k(n_a, n_a - c_a, k_a))


def pass_hat_k(n, c, k):
    """Unbiased pass^k estimator C(c, k)/C(n, k): the probability (unitless) that a uniformly random k-subset of
    the n samples, c of them correct, is all correct (Yao et al. 2024, "τ-bench", arXiv 2406.12045).

    Unbiased for p^k when the samples are iid with success probability p; 0 when c < k; pass^1 = c/n. Computed in
    log space (:func:`log_pass_hat_k`), stable for n up to 10^6 and beyond. Args: n >= 1 samples, c correct
    (0 <= c <= n), k draws (1 <= k <= n), broadcast. Returns float64 (a scalar for scalar inputs).
    """
    return _out(np.exp(log_pass_hat_k(n, c, k)))


def at_least_m_of_k(n, c, k, m):
    """P(at least m of a uniformly random k-subset of the n samples are correct), c of them correct: the
    hypergeometric tail Σ_{j=m}^{min(c,k)} C(c, j) C(n − c, k − j)/C(n, k) (unitless).

    Unbiased for P(Binomial(k, p) >= m) under iid samples. m = 1 is pass@k (Chen et al. 2021), m = k is pass^k;
    m = 0 gives 1 and m > k gives 0. Args: n >= 1, 0 <= c <= n, 1 <= k <= n, m >= 0 integer (broadcast).
    Numerics: module docstring.
    """
    n_a, c_a, k_a, m_a = _counts(n, c, k, as_count_array(m, "m"))
    shape = n_a.shape
    m_c = np.clip(m_a, 0, k_a + 1)
    return _out(_tail(n_a.ravel(), c_a.ravel(), k_a.ravel(), m_c.ravel()).reshape(shape))


def g_pass_at_k(n, c, k, tau):
    """Unbiased G-Pass@k_τ estimator (Liu et al. 2024, "Are Your LLMs Capable of Stable Reasoning?", arXiv
    2412.13147): Σ_{j=⌈τk⌉}^{min(c,k)} C(c, j) C(n − c, k − j)/C(n, k), the probability (unitless) that at
    least ⌈τk⌉ of a uniformly random k-subset of the n samples are correct.

    Unbiased for P(Binomial(k, p) >= ⌈τk⌉) (:func:`g_pass_at_k_from_p`). τ with ⌈τk⌉ = 1 (τ <= 1/k) gives pass@k
    exactly (``theory.passk.pass_at_k``), τ = 1 gives pass^k (:func:`pass_hat_k`). The threshold is
    :func:`threshold_count`. Args: n >= 1, 0 <= c <= n, 1 <= k <= n, τ ∈ (0, 1] (broadcast).
    """
    n_a, c_a, k_a, t = _counts(n, c, k, _tau(tau))
    m = np.asarray(threshold_count(k_a, t))
    shape = n_a.shape
    return _out(_tail(n_a.ravel(), c_a.ravel(), k_a.ravel(), np.asarray(m).ravel()).reshape(shape))


def mg_pass_at_k(n, c, k):
    """Unbiased mG-Pass@k estimator (Liu et al. 2024, arXiv 2412.13147): (2/k) Σ_{i=⌈k/2⌉+1}^{k}
    G-Pass@k_{i/k}, the paper's evaluation of 2 ∫_{0.5}^{1} G-Pass@k_τ dτ (exact for even k; for odd k the
    slice τ ∈ (1/2, ⌈k/2⌉/k] is left out, as in the paper). Unitless, in [0, 1]; mG-Pass@1 = 0.

    Computed as (2/k) E[(X − ⌈k/2⌉)₊] for X hypergeometric(n, c, k), one walk over the support. Unbiased for the
    same expression under Binomial(k, p) (:func:`mg_pass_at_k_from_p`). Args: n >= 1, 0 <= c <= n, 1 <= k <= n.
    """
    n_a, c_a, k_a = _counts(n, c, k)
    shape = n_a.shape
    nf, cf, kf = n_a.ravel(), c_a.ravel(), k_a.ravel()
    h = (kf + 1) // 2  # ⌈k/2⌉
    return _out((2.0 / kf * _excess(nf, cf, kf, h)).reshape(shape))


# ----------------------------------------------------------------------------------------------------
# population values under iid samples with success probability p
# ----------------------------------------------------------------------------------------------------


def _p(p) -> np.ndarray:
    arr = as_float_array(p, "p")
    bad = (arr < 0) | (arr > 1)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"p: probabilities must lie in [0, 1], got {float(arr[bad].flat[0])!r} at index {idx}")
    return arr


def pass_hat_k_from_p(p, k):
    """Population pass^k of a problem with per-sample success probability p: p^k (all of k iid samples correct).
    p ∈ [0, 1], k >= 1 integer; broadcast. Unitless."""
    p_a = _p(p)
    k_a = as_count_array(k, "k", minimum=1)
    p_a, k_a = np.broadcast_arrays(p_a, k_a)
    return _out(p_a ** k_a)


def g_pass_at_k_from_p(p, k, tau):
    """Population G-Pass@k_τ: P(Binomial(k, p) >= ⌈τk⌉) (Liu et al. 2024). p ∈ [0, 1], k >= 1, τ ∈ (0, 1];
    broadcast. Unitless."""
    p_a = _p(p)
    k_a = as_count_array(k, "k", minimum=1)
    t = _tau(tau)
    p_a, k_a, t = np.broadcast_arrays(p_a, k_a, t)
    m = np.asarray(threshold_count(k_a, t))
    return _out(stats.binom.sf(m - 1, k_a, p_a))


def mg_pass_at_k_from_p(p, k):
    """Population mG-Pass@k: (2/k) Σ_{i=⌈k/2⌉+1}^{k} P(Binomial(k, p) >= i) = (2/k) E[(Y − ⌈k/2⌉)₊], Y ~
    Binomial(k, p) (Liu et al. 2024). p ∈ [0, 1], k >= 1; broadcast. Unitless."""
    p_a = _p(p)
    k_a = as_count_array(k, "k", minimum=1)
    p_a, k_a = np.broadcast_arrays(p_a, k_a)
    shape = p_a.shape
    pf, kf = p_a.ravel(), k_a.ravel()
    out = np.zeros(pf.shape)
    for kk in np.unique(kf).tolist():
        sel = kf == kk
        h = (kk + 1) // 2
        i = np.arange(h + 1, kk + 1)
        if i.size:
            out[sel] = 2.0 / kk * stats.binom.sf(i[None, :] - 1, kk, pf[sel, None]).sum(axis=1)
    return _out(out.reshape(shape))
