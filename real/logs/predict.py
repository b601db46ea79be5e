"""Predicting maj@K and the SC gain for K beyond the n samples observed per problem, with 95% intervals.

A problem's observed answers are counts: slot 0 the correct answer, then the distinct wrong answers, and
an abstention class (unparsed samples; ``CountsTable.vote_counts()`` puts it last) that never wins a
vote. For K fresh votes, maj@K is the probability that the correct answer wins the plurality vote (a
t-way tie at the top earns 1/t, ``tie="random"``, or nothing, ``tie="strict"``) — self-consistency
accuracy (Wang et al. 2023, "Self-Consistency Improves Chain of Thought Reasoning"); the SC gain is
maj@K − pass@1. Unlike the exact unbiased estimator ``theory.voting.maj_at_k`` (which needs K ≤ n), a
predictor needs a model of the answer distribution. Five, same interface (``MODELS``):

* ``plugin`` — the plug-in multinomial: p̂ = counts / n, maj@K = ``theory.voting.plurality_accuracy(p̂, K)``
  (multinomial count law). Its pass@1 is c₀/n. With n of 3-5 a wrong answer seen once gets p̂ = 1/n, as
  much as a correct answer seen once, although real wrong answers are spread over many values: the
  plug-in treats the scatter it has not seen as concentrated and under-predicts maj@K (on GSM8K by about
  0.08 from 3-5 samples; ``experiments/real_validation.py`` measures it).

* ``dirichlet`` — a hierarchical Bayesian (Pólya-urn) model with a distinguished correct answer. The
  answer distribution of a problem is a Dirichlet process whose base measure puts weight ``a`` on the
  correct answer and weight ``θ`` on a diffuse continuum of wrong answers (and unparsed output). After
  observing the counts, the posterior of the probabilities of the partition
  (correct, each observed wrong answer, everything else) is

      Dirichlet(c₀ + a, c₁, …, c_m, n_null + θ)                                   (Ferguson 1973)

  and the K future votes are Dirichlet-multinomial with these parameters (the Pólya urn of Blackwell and
  MacQueen 1973 started from them). Votes landing in the last class are new, *scattered* answers,
  treated as abstentions: they never win (this ignores that two future votes could repeat the same new
  answer). A Dirichlet-multinomial with parameters α has mean α/Σα and intraclass correlation
  ρ = 1/(1 + Σα), so the posterior-predictive maj@K is exactly

      theory.voting.correlated_plurality_accuracy(mean = α/Σα, ρ = 1/(1 + n + a + θ), K, abstain = last),

  and its pass@1 (P(next sample correct)) is (c₀ + a)/(n + a + θ). The prior weights are chosen by
  empirical Bayes across the problems of one checkpoint (Robbins 1956; Efron and Morris 1975): the
  marginal law of the correct count under this model is beta-binomial, c₀ ~ BetaBinomial(n, a, θ), so
  (a, θ) = (α̂, β̂), the maximum-likelihood beta-binomial fit of (n, c₀) across problems
  (``theory.passk.fit_beta_binomial``, ``fit_dirichlet_prior(method="marginal")``). pass@1 is then the
  beta-binomial posterior mean (shrinkage toward the population of problems).

* ``dirichlet_loo`` — the same model with (a, θ) chosen instead by maximizing the leave-one-sample-out
  predictive log-likelihood of each held-out sample's *category* (correct / a wrong answer seen among
  the other samples / a new answer or unparsed), ``fit_dirichlet_prior(method="loo")``: a pseudo-
  likelihood that also rewards predicting repeats of wrong answers. Kept beside the marginal fit because
  the choice matters and is measured: on GSM8K it picks a ≈ θ ≈ 3 and over-predicts maj@K (see
  ``experiments/real_validation.py``).

* ``beta_binomial`` — the binary view: success probabilities p ~ Beta(α, β) fitted across problems
  (``theory.passk.fit_beta_binomial`` on (n, c₀); unparsed samples count as wrong), per problem the
  posterior Beta(α + c₀, β + n − c₀), and maj@K = P(X > K/2) + ½ P(X = K/2) (strict: no ½ term) for
  X ~ BetaBinomial(K, α + c₀, β + n − c₀). All wrong answers vote as one bloc, so this is a *binary
  majority* accuracy, a different quantity from plurality accuracy: for the same votes it is never
  above it (a wrong bloc is at least as strong as any single wrong answer), and it is what one can say
  from correctness counts alone (count-only tables accept only this model). Its pass@1 is (α + c₀)/(α + β + n).

* ``pitman_yor`` — the urn with the wrong answers modelled apart (:func:`predict_pitman_yor`): p₀ ~ Beta(a, b)
  for the correct answer, and the wrong answers follow a Pitman-Yor process PY(d, θ_w) (Pitman and Yor
  1997) with their own concentration θ_w and a discount d, each fitted by maximum likelihood across
  problems ((a, b) as for ``dirichlet``; (d, θ_w) from the exchangeable partition probability function
  of each problem's wrong answers, :func:`fit_pitman_yor_prior`). The ``dirichlet`` model ties the
  wrong answers' concentration to b (≈ 0.7 on GSM8K, where the wrong answers alone fit θ ≈ 5 as a
  Dirichlet process, or d ≈ 0.7 as Pitman-Yor): it predicts that a wrong answer seen once will recur
  far more than it does, and that new answers never win. The Pitman-Yor posterior gives a seen wrong
  answer weight c_j − d, moves d per distinct answer to new ones, and lets new answers repeat and win
  (the exact maj@K sums over the partitions of the future wrong votes by the exponential formula).
  With d = 0, θ_w = b and new answers abstaining it is the ``dirichlet`` model. Its 95% *predictive*
  interval for the maj@K that a fresh evaluation will realize is :func:`predictive_maj_interval`.

For every model maj@1 = pass@1, so the predicted SC gain at K = 1 is exactly 0; the SC gain is the
model's maj@K minus the model's pass@1, per problem.

Intervals. The dataset-level value (mean over the problems evaluated at a checkpoint, n > 0) gets a 95%
percentile bootstrap interval over problems (``common.bootstrap.bootstrap_weights``: problems resampled with
replacement, the fitted prior held fixed); pass@1, maj@K and SC gain use the same resamples. The interval
describes problem-sampling variability of the prediction, not model error, and not the noise of the value a
later evaluation will realize; for that, :func:`predictive_maj_interval` (posterior predictive of the realized
value from a given number of fresh samples, with the prior's uncertainty by a Laird-Louis bootstrap).

pass@k beyond n: :func:`predict_pass_at_k` gives per-problem posterior pass@k under an empirical-Bayes prior
on p (pooled-shape beta, zero-inflated beta, or plain beta; the math is in ``theory.passk``) with
posterior intervals per problem and bootstrap intervals for the dataset mean.

Speed: predictions depend only on a problem's count pattern (wrong answers are exchangeable), so rows are
reduced to canonical patterns (wrong counts sorted) and each distinct pattern is evaluated once by the
batched exact engines of ``theory.voting``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import optimize, special

from common.bootstrap import CI_LEVEL, bootstrap_mean, bootstrap_weights
from common.checks import as_count_array
from real.logs.table import CountsTable
from theory.passk import BetaBinomialFit, fit_beta_binomial
from theory.voting import TIE_RULES, correlated_plurality_accuracy, plurality_accuracy

MODELS = ("plugin", "dirichlet", "dirichlet_loo", "beta_binomial", "pitman_yor")
PRIOR_METHODS = ("marginal", "loo")
_LOO_BOUNDS = (-9.0, 9.0)  # log a, log θ search box for the leave-one-out fit

__all__ = [
    "MODELS",
    "vote_counts_at",
    "predict_plugin",
    "fit_dirichlet_prior",
    "dirichlet_loo_loglik",
    "dirichlet_parameters",
    "predict_dirichlet",
    "predict_beta_binomial",
    "predict_per_problem",
    "predict_maj_at_k",
    "predict_sc",
    "pitman_yor_log_eppf",
    "fit_pitman_yor_prior",
    "predict_pitman_yor",
    "simulate_pitman_yor_future",
    "predictive_maj_interval",
    "PASSK_MODELS",
    "predict_pass_at_k",
    "write_pass_at_k",
]


# ----------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------


def _check_model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"model: must be one of {MODELS}, got {model!r}")
    return model


def _check_tie(tie: str) -> str:
    if tie not in TIE_RULES:
        raise ValueError(f"tie: must be one of {TIE_RULES}, got {tie!r}")
    return tie


def _check_K(K, name: str = "K") -> int:
    if isinstance(K, (bool, np.bool_)) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"{name}: must be an integer >= 1 (votes), got {K!r}")
    return int(K)


def _check_ks(ks) -> list[int]:
    if isinstance(ks, (int, np.integer)) and not isinstance(ks, (bool, np.bool_)):
        ks = [ks]
    try:
        ks = list(ks)
    except TypeError:
        raise ValueError(f"ks: must be an integer or a list of integers >= 1, got {ks!r}") from None
    if not ks:
        raise ValueError("ks: need at least one K")
    out = [_check_K(k, "ks") for k in ks]
    if len(set(out)) != len(out):
        raise ValueError(f"ks: duplicate values in {out}")
    return out


def _check_vote_counts(vc, name: str = "vc") -> np.ndarray:
    """[P, A] non-negative integer counts, A ≥ 2 (slot 0 correct, last slot abstention)."""
    arr = as_count_array(vc, name)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"{name}: expected counts of shape [problems, answers + 1] with the correct answer in slot 0 and "
                         f"the abstention (unparsed) class last, got shape {arr.shape}")
    return arr.astype(np.int64)


def _canonical(vc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct count patterns and the inverse index: wrong slots sorted (descending), empty ones dropped.

    Plurality accuracy is symmetric in the wrong answers, so rows with the same pattern predict the same.
    """
    wrong = -np.sort(-vc[:, 1:-1], axis=1)
    width = int(np.max(np.sum(wrong > 0, axis=1), initial=0))
    canon = np.concatenate([vc[:, :1], wrong[:, :width], vc[:, -1:]], axis=1)
    u, inv = np.unique(canon, axis=0, return_inverse=True)
    return u, np.asarray(inv).ravel()


def _canonical_fast(vc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``_canonical`` for many rows of small counts: each canonical row is coded as one integer (base
    max count + 1) and the codes are made unique; falls back to ``_canonical`` when a code would not fit
    in 62 bits."""
    wrong = -np.sort(-vc[:, 1:-1], axis=1)
    width = int(np.max(np.sum(wrong > 0, axis=1), initial=0))
    canon = np.concatenate([vc[:, :1], wrong[:, :width], vc[:, -1:]], axis=1)
    base = int(canon.max(initial=0)) + 1
    if canon.shape[1] * np.log2(base) > 62:
        u, inv = _canonical(vc)
        return u, np.asarray(inv).ravel()
    code = np.zeros(len(canon), np.int64)
    for j in range(canon.shape[1]):
        code = code * base + canon[:, j]
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    return canon[first], np.asarray(inv).ravel()


_SUBSET_MAX = 4096  # below this many K-subsets the unbiased maj@K is summed over all subsets directly


def _maj_at_k_by_subsets(u: np.ndarray, K: int, tie: str) -> np.ndarray | None:
    """Exact unbiased maj@K (the mean credit over all C(N, K) K-subsets of a row's N samples; slot 0 correct,
    last slot unparsed, as ``theory.voting.maj_at_k``) by listing the subsets, for rows with a common small N;
    None when the rows' N differ or C(N, K) > 4096 (use ``theory.voting.maj_at_k`` then)."""
    import itertools
    import math

    N = u.sum(axis=1)
    if len(u) == 0 or np.any(N != N[0]) or N[0] < K or math.comb(int(N[0]), K) > _SUBSET_MAX:
        return None
    N = int(N[0])
    A = u.shape[1]
    labels = np.stack([np.repeat(np.arange(A), row) for row in u])  # [U, N] the class of each sample
    sub = np.asarray(list(itertools.combinations(range(N), K)), np.int64)  # [S, K]
    lab = labels[:, sub]  # [U, S, K]
    cnt = np.stack([(lab == a).sum(axis=2) for a in range(A)], axis=2)  # [U, S, A]
    c0 = cnt[..., 0]
    wrong = cnt[..., 1:-1]
    top = wrong.max(axis=2) if wrong.shape[2] else np.zeros_like(c0)
    credit = np.where(c0 > top, 1.0, 0.0)
    if tie == "random":
        credit = np.where(c0 == top, 1.0 / (1 + (wrong == c0[..., None]).sum(axis=2)), credit)
    return np.where(c0 >= 1, credit, 0.0).mean(axis=1)


def vote_counts_at(table_or_counts, checkpoint=0, abstain=None) -> dict:
    """Counts of one checkpoint, evaluated problems only: {"vc" [P, A] (abstention last) or None,
    "n", "c" [P], "problems" (indices), "problem_ids" (labels or None), "checkpoint" (label or None)}.

    ``table_or_counts``: a ``CountsTable`` (``checkpoint`` = index or label; ``vote_counts()`` gives the
    abstention slot; count-only tables give vc = None) or an integer array [P, m] of answer counts with the
    correct answer in slot 0 and ``abstain`` = index of the unparsed class (or None: no such class).
    Problems with no samples (n = 0) are left out.
    """
    if isinstance(table_or_counts, CountsTable):
        t = table_or_counts
        if abstain is not None:
            raise ValueError("abstain: a CountsTable already marks its unparsed samples (n_null); leave abstain=None")
        labels = [str(c) for c in t.checkpoints]
        if isinstance(checkpoint, (int, np.integer)) and not isinstance(checkpoint, (bool, np.bool_)):
            if not -len(labels) <= checkpoint < len(labels):
                raise ValueError(f"checkpoint: index {checkpoint} out of range for {len(labels)} checkpoint(s)")
            ci = int(checkpoint) % len(labels)
        elif str(checkpoint) in labels:
            ci = labels.index(str(checkpoint))
        else:
            raise ValueError(f"checkpoint: {checkpoint!r} is neither an index nor one of the labels {labels[:10]}")
        ev = np.flatnonzero(t.n_samples[ci] > 0)
        vc = t.vote_counts()[0][ci, ev] if t.has_answers else None
        return {"vc": vc, "n": t.n_samples[ci, ev], "c": t.n_correct[ci, ev], "problems": ev,
                "problem_ids": [t.problem_ids[i] for i in ev], "checkpoint": t.checkpoints[ci]}
    arr = as_count_array(table_or_counts, "counts")
    if arr.ndim != 2 or arr.shape[1] < 1:
        raise ValueError(f"counts: expected an integer array [problems, answers] (slot 0 = correct answer), got shape {arr.shape}")
    m = arr.shape[1]
    if abstain is None:
        vc = np.concatenate([arr, np.zeros((arr.shape[0], 1), np.int64)], axis=1)
    else:
        if isinstance(abstain, (bool, np.bool_)) or not isinstance(abstain, (int, np.integer)) or not 1 <= abstain < m:
            raise ValueError(f"abstain: must be the index (1 … {m - 1}) of the unparsed-answer class, got {abstain!r}")
        order = [j for j in range(m) if j != abstain] + [int(abstain)]
        vc = arr[:, order]
    n = vc.sum(axis=1)
    ev = np.flatnonzero(n > 0)
    return {"vc": vc[ev].astype(np.int64), "n": n[ev], "c": vc[ev, 0], "problems": ev, "problem_ids": None, "checkpoint": None}


# ----------------------------------------------------------------------------------------------------
# predictors on count arrays (vc [P, A]: slot 0 correct, last slot abstention)
# ----------------------------------------------------------------------------------------------------


def predict_plugin(vc, K: int, *, tie: str = "random") -> np.ndarray:
    """Plug-in maj@K per problem: ``plurality_accuracy(counts / n, K)`` (multinomial), last slot abstains."""
    vc = _check_vote_counts(vc)
    K, tie = _check_K(K), _check_tie(tie)
    if (vc.sum(axis=1) == 0).any():
        raise ValueError(f"vc: row {int(np.flatnonzero(vc.sum(axis=1) == 0)[0])} has no samples (n = 0); leave such problems out")
    u, inv = _canonical(vc)
    p = u / u.sum(axis=1, keepdims=True)
    return np.asarray(plurality_accuracy(p, K, tie=tie, abstain=u.shape[1] - 1), np.float64)[inv]


def _loo_stats(vc: np.ndarray) -> np.ndarray:
    """Per-problem sufficient statistics of the leave-one-sample-out likelihood (see ``_loo_loglik``)."""
    c0, null = vc[:, 0].astype(np.float64), vc[:, -1].astype(np.float64)
    w = vc[:, 1:-1].astype(np.float64)
    n = vc.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore"):
        rep = np.sum(np.where(w >= 2, w * np.log(np.maximum(w - 1, 1)), 0.0), axis=1)  # Σ_{c_j ≥ 2} c_j log(c_j − 1)
    single = np.sum(w == 1, axis=1).astype(np.float64)
    return np.stack([n, c0, null, single, rep], axis=1)


def _loo_loglik(theta: np.ndarray, stats: np.ndarray, weights: np.ndarray):
    """Leave-one-sample-out log-likelihood of the samples' categories and its gradient in (log a, log θ).

    Removing one sample from a problem with n samples, the urn of the other n − 1 predicts it with
    probability (c₀ − 1 + a)/(n − 1 + a + θ) if correct, (c_j − 1)/(…) if it is a wrong answer j that
    the others also gave (c_j ≥ 2), (n_null + θ)/(…) if it is a wrong answer the others never gave (a new,
    scattered answer: c_j = 1), and (n_null − 1 + θ)/(…) if unparsed.
    """
    a, t = np.exp(theta)
    n, c0, null, single, rep = stats.T
    den = n - 1 + a + t
    with np.errstate(divide="ignore", invalid="ignore"):
        l_c = np.where(c0 > 0, c0 * np.log(c0 - 1 + a), 0.0)
        l_s = np.where(single > 0, single * np.log(null + t), 0.0)
        l_n = np.where(null > 0, null * np.log(null - 1 + t), 0.0)
        ll = np.sum(weights * (l_c + rep + l_s + l_n - n * np.log(den)))
        ga = np.sum(weights * (np.where(c0 > 0, c0 / (c0 - 1 + a), 0.0) - n / den))
        gt = np.sum(weights * (np.where(single > 0, single / (null + t), 0.0) + np.where(null > 0, null / (null - 1 + t), 0.0) - n / den))
    return ll, np.array([ga * a, gt * t])


def fit_dirichlet_prior(vc, *, method: str = "marginal") -> dict:
    """Empirical-Bayes prior weights (a on the correct answer, θ on new/scattered answers) across problems.

    method="marginal": (a, θ) = (α̂, β̂) of the maximum-likelihood beta-binomial fit of (n, c₀) — the
      marginal likelihood of the correct counts under the model (module docstring).
    method="loo": maximizes the leave-one-sample-out predictive log-likelihood of the samples' categories
      (correct / repeated wrong answer / new answer or unparsed) over log a, log θ ∈ [−9, 9] (L-BFGS-B,
      analytic gradient); ``converged`` is False when a bound is active.
    vc [P, A]: slot 0 correct, last slot unparsed; rows with n = 0 are ignored.
    Returns {"a", "theta", "method", "converged", "n_problems"}. Raises ValueError (naming ``vc``) when
    the fit is degenerate (every sample correct, or none).
    """
    vc = _check_vote_counts(vc)
    if method not in PRIOR_METHODS:
        raise ValueError(f"method: must be one of {PRIOR_METHODS}, got {method!r}")
    n = vc.sum(axis=1)
    vc = vc[n > 0]
    n = n[n > 0]
    if vc.shape[0] == 0:
        raise ValueError("vc: no problem has any sample (n = 0 everywhere)")
    if np.all(vc[:, 0] == 0) or np.all(vc[:, 0] == n):
        what = "no sample is correct" if np.all(vc[:, 0] == 0) else "every sample is correct"
        raise ValueError(f"vc: {what} in all {len(n)} problems: the empirical-Bayes prior is degenerate "
                         "(pass prior={'a': ..., 'theta': ...} or use model='plugin')")
    if method == "marginal":
        fit = fit_beta_binomial(n, vc[:, 0])
        return {"a": float(fit.alpha), "theta": float(fit.beta), "method": method, "converged": bool(fit.converged),
                "n_problems": int(len(n))}
    stats, w = np.unique(_loo_stats(vc), axis=0, return_counts=True)
    w = w.astype(np.float64)

    def f(x):
        ll, g = _loo_loglik(x, stats, w)
        return -ll, -g

    res = optimize.minimize(f, np.zeros(2), jac=True, method="L-BFGS-B", bounds=[_LOO_BOUNDS, _LOO_BOUNDS])
    at_bound = bool(np.any(np.isclose(res.x, _LOO_BOUNDS, atol=1e-6)))
    a, t = (float(v) for v in np.exp(res.x))
    return {"a": a, "theta": t, "method": method, "converged": bool(res.success) and not at_bound, "n_problems": int(len(n)),
            "loo_loglik": float(-res.fun)}


def dirichlet_loo_loglik(vc, prior: dict) -> float:
    """The leave-one-sample-out log-likelihood that ``fit_dirichlet_prior(method="loo")`` maximizes, at
    ``prior`` = {"a", "theta"} (nats; rows with n = 0 contribute nothing)."""
    vc = _check_vote_counts(vc)
    a, t = _check_prior(prior)
    if not (isinstance(a, float) and isinstance(t, float)):
        raise ValueError("prior: the leave-one-out likelihood needs one (a, theta) for all problems (scalars)")
    vc = vc[vc.sum(axis=1) > 0]
    with np.errstate(divide="ignore"):
        ll, _ = _loo_loglik(np.log([a, t]), _loo_stats(vc), np.ones(len(vc)))
    return float(ll)


def _check_prior(prior, n_rows: int | None = None):
    """(a, θ) as floats, or as arrays [n_rows] when the prior is given per problem."""
    if not isinstance(prior, dict) or "a" not in prior or "theta" not in prior:
        raise ValueError(f"prior: expected a dict with keys 'a' and 'theta' (from fit_dirichlet_prior), got {prior!r}")
    out = []
    for key in ("a", "theta"):
        try:
            v = np.asarray(prior[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"prior: {key} must be a number or an array of numbers, got {prior[key]!r}") from None
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"prior: {key} must be finite and >= 0, got {prior[key]!r}")
        if v.ndim > 1 or (v.ndim == 1 and n_rows is not None and len(v) != n_rows):
            raise ValueError(f"prior: {key} must be a scalar or one value per problem ({n_rows}), got shape {v.shape}")
        out.append(float(v) if v.ndim == 0 else v)
    return out[0], out[1]


def dirichlet_parameters(vc, prior: dict) -> np.ndarray:
    """Posterior Dirichlet parameters [P, A]: counts, + a on slot 0 (correct), + θ on the last slot
    (new/scattered answers merged with the unparsed ones). ``prior`` values may be scalars or arrays [P]
    (one prior per problem, e.g. problems of several checkpoints stacked)."""
    vc = _check_vote_counts(vc)
    a, t = _check_prior(prior, vc.shape[0])
    params = vc.astype(np.float64)
    params[:, 0] += a
    params[:, -1] += t
    return params


def predict_dirichlet(vc, K: int, prior: dict | None = None, *, tie: str = "random") -> np.ndarray:
    """Posterior-predictive maj@K per problem under the Pólya-urn model (module docstring): exactly
    ``correlated_plurality_accuracy(α/Σα, 1/(1 + Σα), K)`` with α = ``dirichlet_parameters(vc, prior)``.
    ``prior`` defaults to ``fit_dirichlet_prior(vc)`` (marginal empirical Bayes on these rows); its
    values may be arrays [P] (one prior per row), so that many fits are evaluated in one batched call."""
    vc = _check_vote_counts(vc)
    K, tie = _check_K(K), _check_tie(tie)
    prior = fit_dirichlet_prior(vc) if prior is None else prior
    u, inv = _canonical(vc)
    params = dirichlet_parameters(u[inv], prior)  # rows in input order, wrong answers sorted
    params, inv = np.unique(params, axis=0, return_inverse=True)  # distinct (pattern, prior) rows
    total = params.sum(axis=1)
    if (total <= 0).any():
        raise ValueError("prior: a row with no samples and a = theta = 0 has no predictive distribution")
    out = correlated_plurality_accuracy(params / total[:, None], 1.0 / (1.0 + total), K, tie=tie, abstain=params.shape[1] - 1)
    return np.asarray(out, np.float64)[np.asarray(inv).ravel()]


# ----------------------------------------------------------------------------------------------------
# the Pitman-Yor model: a distinguished correct answer, a two-parameter process for the wrong answers
# ----------------------------------------------------------------------------------------------------

_PY_D_MAX = 0.995  # discount search box d ∈ [0, 0.995]
_PY_LOG_BOUNDS = (-9.0, 9.0)  # log(θ_w + d) search box
_PY_KEYS = ("a", "b", "d", "theta_w", "eta", "zeta")
NEW_ANSWER_RULES = ("vote", "abstain")


def _wrong_partition(vc: np.ndarray) -> np.ndarray:
    """Wrong-answer counts [P, M], sorted descending, empty columns dropped (M ≥ 1)."""
    wrong = -np.sort(-vc[:, 1:-1], axis=1)
    width = max(1, int(np.max(np.sum(wrong > 0, axis=1), initial=0)))
    return wrong[:, :width]


def pitman_yor_log_eppf(wrong_counts, d, theta_w) -> np.ndarray:
    """log EPPF of the wrong answers of each problem under a Pitman-Yor process PY(d, θ_w), in nats.

    The exchangeable partition probability function (Pitman 1995, "Exchangeable and partially
    exchangeable random partitions"; Pitman and Yor 1997): n_w wrong samples falling on m
    distinct answers with counts c_1 … c_m, *in one given order*, have probability

        p(c_1, …, c_m) = [∏_{i=1}^{m−1} (θ_w + i d)] / (θ_w + 1)_{n_w − 1} · ∏_j (1 − d)_{c_j − 1},

    (x)_k the rising factorial; d ∈ [0, 1), θ_w > −d; d = 0 is the Dirichlet process / Ewens (1972)
    sampling formula. A problem with n_w ≤ 1 wrong samples contributes 0 (its partition is certain).
    The number of orders with the same counts does not depend on (d, θ_w), so this is the likelihood
    that :func:`fit_pitman_yor_prior` maximizes. ``wrong_counts`` [P, M]: non-negative counts per wrong
    answer (zeros = absent answers, any order). Returns float64 [P].
    """
    w = as_count_array(wrong_counts, "wrong_counts")
    if w.ndim != 2:
        raise ValueError(f"wrong_counts: expected shape [problems, wrong answers], got {w.shape}")
    d_a, t_a = float(d), float(theta_w)
    if not (0.0 <= d_a < 1.0) or not np.isfinite(t_a) or t_a <= -d_a:
        raise ValueError(f"d, theta_w: need 0 <= d < 1 and theta_w > -d (Pitman-Yor), got d={d!r}, theta_w={theta_w!r}")
    return _py_log_eppf(w.astype(np.float64), d_a, t_a)[0]


def _py_log_eppf(w: np.ndarray, d: float, t: float, grad: bool = False):
    """log EPPF per row (and its gradient in (d, θ_w) when ``grad``); w float [P, M]."""
    n = w.sum(axis=1)
    m = np.sum(w > 0, axis=1)
    M = w.shape[1]
    i = np.arange(1, M, dtype=np.float64)
    use = i[None, :] < m[:, None]  # i = 1 … m − 1
    with np.errstate(divide="ignore", invalid="ignore"):
        li = np.where(use, np.log(t + i * d), 0.0)
        occ = w > 0
        lt = np.where(occ, special.gammaln(np.where(occ, w, 1.0) - d) - special.gammaln(1.0 - d), 0.0)
    nz = n > 0
    den = np.where(nz, special.gammaln(t + np.maximum(n, 1.0)) - special.gammaln(t + 1.0), 0.0)
    ll = li.sum(axis=1) - den + lt.sum(axis=1)
    if not grad:
        return ll, None
    inv = np.where(use, 1.0 / (t + i * d), 0.0)
    g_t = inv.sum(axis=1) - np.where(nz, special.digamma(t + np.maximum(n, 1.0)) - special.digamma(t + 1.0), 0.0)
    g_d = (inv * i).sum(axis=1) - np.where(occ, special.digamma(np.where(occ, w, 1.0) - d) - special.digamma(1.0 - d), 0.0).sum(axis=1)
    return ll, np.stack([g_d, g_t], axis=1)


def _fit_py(w: np.ndarray, weights: np.ndarray, start=None) -> dict:
    """Maximum-likelihood (d, θ_w) of the Pitman-Yor EPPF, over d ∈ [0, 0.995], log(θ_w + d) ∈ [−9, 9]
    (from d = 0 and d = 0.5, or only from ``start`` = (d, θ_w) when given: a warm start for refits)."""

    def f(x):
        d, t = x[0], np.exp(x[1]) - x[0]
        ll, g = _py_log_eppf(w, d, t, grad=True)
        gd, gt = np.sum(weights[:, None] * g, axis=0)
        # θ_w = e^φ − d: ∂/∂d at fixed φ = ∂_d − ∂_θ; ∂/∂φ = e^φ ∂_θ
        return -float(np.sum(weights * ll)), -np.array([gd - gt, gt * np.exp(x[1])])

    best = None
    starts = [np.array([d0, np.log(1.0 + d0)]) for d0 in (0.0, 0.5)] if start is None else \
        [np.clip([start[0], np.log(start[1] + start[0])], [0.0, _PY_LOG_BOUNDS[0]], [_PY_D_MAX, _PY_LOG_BOUNDS[1]])]
    for x0 in starts:
        res = optimize.minimize(f, x0, jac=True, method="L-BFGS-B", bounds=[(0.0, _PY_D_MAX), _PY_LOG_BOUNDS])
        if best is None or res.fun < best.fun:
            best = res
    d, phi = float(best.x[0]), float(best.x[1])
    at_bound = d >= _PY_D_MAX - 1e-6 or np.isclose(phi, _PY_LOG_BOUNDS, atol=1e-6).any()
    return {"d": d, "theta_w": float(np.exp(phi) - d), "eppf_loglik": float(-best.fun), "converged": bool(best.success) and not at_bound}


def _bb_refit(n: np.ndarray, c: np.ndarray, weights: np.ndarray, start) -> tuple[float, float]:
    """Weighted maximum-likelihood Beta(α, β) of counts (c of n), warm-started at ``start`` = (α, β): the
    beta-binomial likelihood of ``theory.passk.fit_beta_binomial`` with problem weights (bootstrap refits)."""
    nn, cc = n.astype(np.float64), c.astype(np.float64)

    def f(x):
        a, b = np.exp(x)
        ab = special.digamma(nn + a + b) - special.digamma(a + b)
        ll = np.sum(weights * (special.betaln(cc + a, nn - cc + b) - special.betaln(a, b)))
        ga = np.sum(weights * (special.digamma(cc + a) - special.digamma(a) - ab)) * a
        gb = np.sum(weights * (special.digamma(nn - cc + b) - special.digamma(b) - ab)) * b
        return -float(ll), -np.array([ga, gb])

    res = optimize.minimize(f, np.log(np.asarray(start, np.float64)), jac=True, method="L-BFGS-B", bounds=[(-12.0, 16.0)] * 2)
    return float(np.exp(res.x[0])), float(np.exp(res.x[1]))


def _prior_refits(vc: np.ndarray, prior: dict, n_refits: int, rng) -> list[dict]:
    """``fit_pitman_yor_prior`` on ``n_refits`` bootstrap resamples of the problems (rows drawn with replacement),
    as multinomial weights on the distinct rows, every fit warm-started at ``prior`` (Laird and Louis 1987)."""
    u, inv = _canonical(vc)
    inv = np.asarray(inv).ravel()
    P = len(vc)
    freq = np.bincount(inv, minlength=len(u)) / P
    n, c0, null = u.sum(axis=1), u[:, 0], u[:, -1]
    w = _wrong_partition(u).astype(np.float64)
    inform = w.sum(axis=1) >= 2
    pr = _check_py_prior(prior, 1)
    a0, b0, d0, t0, e0, z0 = (float(pr[k][0]) for k in _PY_KEYS)
    nc = n - c0
    refit_null = e0 > 0 and z0 > 0
    out = []
    for _ in range(n_refits):
        wt = rng.multinomial(P, freq).astype(np.float64)
        if np.sum(wt * c0) == 0 or np.sum(wt * c0) == np.sum(wt * n):
            out.append(prior)  # a degenerate resample: keep the fitted prior
            continue
        a, b = _bb_refit(n, c0, wt, (a0, b0))
        e, z = e0, z0
        if refit_null:
            k = nc > 0
            if 0 < np.sum(wt[k] * null[k]) < np.sum(wt[k] * nc[k]):
                e, z = _bb_refit(nc[k], null[k], wt[k], (e0, z0))
        d, t = d0, t0
        if inform.any() and np.sum(wt[inform]) > 0:
            py = _fit_py(w[inform], wt[inform], start=(d0, t0))
            d, t = py["d"], py["theta_w"]
        out.append({"a": a, "b": b, "d": d, "theta_w": t, "eta": e, "zeta": z})
    return out


def fit_pitman_yor_prior(vc) -> dict:
    """Empirical-Bayes prior of the ``pitman_yor`` model across the problems of one checkpoint.

    The model (see :func:`predict_pitman_yor`) has three independent parts, so its marginal likelihood
    factorizes and each part is a separate maximum-likelihood fit:
      * p₀ ~ Beta(a, b), the correct-answer probability: (a, b) = ``fit_beta_binomial(n, c₀)`` (the same
        fit as the ``dirichlet`` model's (a, θ), so the two share pass@1);
      * the unparsed share of the non-correct mass ~ Beta(η, ζ): ``fit_beta_binomial(n − c₀, n_null)``
        over problems with a non-correct sample; η = 0 (no unparsed class) when no sample is unparsed,
        ζ = 0 when every non-correct sample is;
      * the wrong answers ~ PY(d, θ_w) (Pitman and Yor 1997): (d, θ_w) maximize Σ_problems
        :func:`pitman_yor_log_eppf` (L-BFGS-B, analytic digamma gradient, d ∈ [0, 0.995],
        θ_w + d ∈ [e^−9, e^9]); when no problem has two wrong samples the partition carries no
        information and the fit falls back to the ``dirichlet`` model's tie, d = 0, θ_w = b (flagged).
    vc [P, A]: slot 0 correct, last slot unparsed; rows with n = 0 are ignored. Returns {"a", "b", "d",
    "theta_w", "eta", "zeta", "method", "converged", "py_identified", "eppf_loglik", "n_problems"}.
    Raises ValueError (naming ``vc``) when every sample is correct or none is.
    """
    vc = _check_vote_counts(vc)
    n = vc.sum(axis=1)
    vc, n = vc[n > 0], n[n > 0]
    if vc.shape[0] == 0:
        raise ValueError("vc: no problem has any sample (n = 0 everywhere)")
    c0, null = vc[:, 0], vc[:, -1]
    if np.all(c0 == 0) or np.all(c0 == n):
        what = "no sample is correct" if np.all(c0 == 0) else "every sample is correct"
        raise ValueError(f"vc: {what} in all {len(n)} problems: the empirical-Bayes prior is degenerate "
                         "(pass prior={'a': ..., 'b': ..., 'd': ..., 'theta_w': ...} or use model='plugin')")
    fit = fit_beta_binomial(n, c0)
    out = {"a": float(fit.alpha), "b": float(fit.beta), "method": "marginal", "n_problems": int(len(n))}
    conv = bool(fit.converged)
    nc = n - c0
    if not np.any(null > 0):
        out["eta"], out["zeta"] = 0.0, 1.0
    elif np.all(null[nc > 0] == nc[nc > 0]):
        out["eta"], out["zeta"] = 1.0, 0.0
    else:
        f2 = fit_beta_binomial(nc[nc > 0], null[nc > 0])
        out["eta"], out["zeta"] = float(f2.alpha), float(f2.beta)
        conv = conv and bool(f2.converged)
    w = _wrong_partition(vc)
    inform = w.sum(axis=1) >= 2
    if not inform.any():
        out.update(d=0.0, theta_w=out["b"], py_identified=False, eppf_loglik=0.0)
    else:
        pat, cnt = np.unique(w[inform], axis=0, return_counts=True)
        py = _fit_py(pat.astype(np.float64), cnt.astype(np.float64))
        out.update(d=py["d"], theta_w=py["theta_w"], py_identified=True, eppf_loglik=py["eppf_loglik"])
        conv = conv and py["converged"]
    out["converged"] = conv
    return out


def _check_py_prior(prior, n_rows: int) -> dict:
    """The six prior values as float arrays [n_rows] (scalars broadcast), validated."""
    if not isinstance(prior, dict) or any(k not in prior for k in ("a", "b", "d", "theta_w")):
        raise ValueError(f"prior: expected a dict with keys 'a', 'b', 'd', 'theta_w' (and optionally 'eta', 'zeta'; from "
                         f"fit_pitman_yor_prior), got {prior!r}")
    out = {}
    for key in _PY_KEYS:
        raw = prior.get(key, {"eta": 0.0, "zeta": 1.0}.get(key))
        try:
            v = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"prior: {key} must be a number or an array of numbers, got {raw!r}") from None
        if v.ndim > 1 or (v.ndim == 1 and len(v) != n_rows):
            raise ValueError(f"prior: {key} must be a scalar or one value per problem ({n_rows}), got shape {v.shape}")
        if not np.all(np.isfinite(v)):
            raise ValueError(f"prior: {key} must be finite, got {raw!r}")
        out[key] = np.broadcast_to(v, (n_rows,)).astype(np.float64)
    for key in ("a", "b"):
        if np.any(out[key] <= 0):
            raise ValueError(f"prior: {key} must be > 0, got {prior[key]!r}")
    for key in ("eta", "zeta"):
        if np.any(out[key] < 0):
            raise ValueError(f"prior: {key} must be >= 0, got {prior.get(key)!r}")
    if np.any(out["d"] < 0) or np.any(out["d"] >= 1):
        raise ValueError(f"prior: d must be in [0, 1) (Pitman-Yor discount), got {prior['d']!r}")
    if np.any(out["theta_w"] <= -out["d"]):
        raise ValueError(f"prior: theta_w must be > -d (Pitman-Yor), got theta_w={prior['theta_w']!r}, d={prior['d']!r}")
    return out


def _bb_pmf(N: int, al: np.ndarray, be: np.ndarray) -> np.ndarray:
    """BetaBinomial(x; N, α, β) for x = 0 … N, rows [B]; α = 0 is the point mass at 0, β = 0 at N."""
    x = np.arange(N + 1, dtype=np.float64)
    out = np.zeros((len(al), N + 1))
    out[al == 0, 0] = 1.0
    out[(be == 0) & (al > 0), N] = 1.0
    ok = (al > 0) & (be > 0)
    if ok.any():
        a, b = al[ok, None], be[ok, None]
        lb = special.gammaln(N + 1.0) - special.gammaln(x + 1) - special.gammaln(N - x + 1)
        out[ok] = np.exp(lb + special.betaln(x + a, N - x + b) - special.betaln(a, b))
    return out


def _negbin_log(y: np.ndarray, r: np.ndarray, t: np.ndarray) -> np.ndarray:
    """log NegBin(y; r, t) = log[Γ(r + y)/(Γ(r) y!) t^y (1 − t)^r]; r = 0 is the point mass at 0. Broadcast."""
    with np.errstate(divide="ignore", invalid="ignore"):
        val = special.gammaln(r + y) - special.gammaln(np.where(r > 0, r, 1.0)) - special.gammaln(y + 1.0) + y * np.log(t) + r * np.log1p(-t)
    return np.where(r > 0, val, np.where(y == 0, 0.0, -np.inf))


def _series_mul(f: np.ndarray, g: np.ndarray, width: int) -> np.ndarray:
    """Product of power series (last axis = coefficient), truncated to ``width`` coefficients."""
    out = np.zeros(np.broadcast_shapes(f.shape[:-1], g.shape[:-1]) + (width,))
    for c in range(min(g.shape[-1], width)):
        out[..., c:] += g[..., c : c + 1] * f[..., : width - c]
    return out


def _new_answer_series(h: np.ndarray, d: np.ndarray, theta_new: np.ndarray) -> np.ndarray:
    """Coefficients of (1 − d·h(z))^{−θ'/d} (exp(θ' h(z)) at d = 0) for a series h with h₀ = 0.

    Computed as exp(θ' L), L = −log(1 − d h)/d, through L' = h'/(1 − d h) and F' = θ' L' F (all
    coefficients stay non-negative: no cancellation). h [..., B, W]; d, θ' [B]."""
    W = h.shape[-1]
    hp = np.zeros_like(h)
    hp[..., : W - 1] = h[..., 1:] * np.arange(1, W)  # h'
    S = np.zeros_like(h)  # S = h'/(1 − d h):  S_n = h'_n + d Σ_{i=1..n} h_i S_{n−i}
    S[..., 0] = hp[..., 0]
    for k in range(1, W - 1):
        S[..., k] = hp[..., k] + d * np.sum(h[..., 1 : k + 1] * S[..., k - 1 :: -1], axis=-1)
    L = np.zeros_like(h)
    L[..., 1:] = S[..., : W - 1] / np.arange(1, W)  # L_n = S_{n−1}/n
    kL = L * np.arange(W)
    F = np.zeros_like(h)
    F[..., 0] = 1.0
    for k in range(1, W):  # n F_n = θ' Σ_{j=1..n} j L_j F_{n−j}
        F[..., k] = theta_new * np.sum(kL[..., 1 : k + 1] * F[..., k - 1 :: -1], axis=-1) / k
    return F


def _py_credit(beta: np.ndarray, theta_new: np.ndarray, d: np.ndarray, x: int, R: int, tie: str, new_vote: bool) -> np.ndarray:
    """E[credit of the correct answer | it has x votes, the wrong answers r votes], r = x … R, [B, R − x + 1].

    Wrong votes continue the posterior Pitman-Yor urn: observed answer j has weight β_j = c_j − d, new
    answers θ' = θ_w + m d (new answers then cluster by the Chinese restaurant rule). By the exponential
    formula the law of the wrong votes' configuration is r!/(n_w + θ_w)_r [z^r] ∏_j Σ_y (β_j)_y z^y/y! ·
    Σ_k ∏_{i<k}(θ' + i d)/k! · h(z)^k with h(z) = Σ_{s≥1} (1 − d)_{s−1} z^s/s! (one new answer with s
    votes); the correct answer wins iff every wrong answer has fewer than x votes (coefficients y, s < x
    kept), and a t-way tie at x earns ∫₀¹ u^{t−1} du = 1/t: a marker u on the y = x (s = x) coefficient,
    integrated with Gauss-Legendre nodes (exact: a polynomial of degree ≤ R // x in u). Weights are
    tilted by t^y (t = R/(R + n_w + θ_w)), which cancels against the normalizer NegBin(r; n_w + θ_w, t).
    """
    Bn, M = beta.shape
    total = beta.sum(axis=1) + theta_new  # n_w + θ_w
    W = R + 1
    t = np.where(total > 0, R / (R + np.where(total > 0, total, 1.0)), 0.5)
    deg = R // x if (new_vote or M > 0) else 0
    if tie == "strict" or deg == 0:
        us, gw = np.zeros(1), np.ones(1)
    else:
        us, gw = np.polynomial.legendre.leggauss(deg // 2 + 1)
        us, gw = (us + 1) / 2, gw / 2
    G = len(us)
    y = np.arange(x + 1, dtype=np.float64)
    # the new answers' part
    if new_vote:
        s = np.arange(W, dtype=np.float64)
        live = (s >= 1) & (s <= x)
        logh = special.gammaln(np.where(live, s, 1.0) - d[:, None]) - special.gammaln(1 - d[:, None]) - special.gammaln(s + 1) \
            + s * np.log(t[:, None])
        h1 = np.where(live, np.exp(logh), 0.0)  # (1 − d)_{s−1} t^s/s!, s = 1 … x
        h = np.broadcast_to(h1, (G, Bn, W)).copy()
        h[..., x] *= us[:, None]  # a new answer with exactly x votes ties
        state = _new_answer_series(h, d, theta_new) * np.exp(theta_new * np.log1p(-t))[None, :, None]
    else:  # new answers abstain: their votes have the full NegBin(θ', t) law
        state = np.broadcast_to(np.exp(_negbin_log(np.arange(W, dtype=np.float64)[None, :], theta_new[:, None], t[:, None])),
                                (G, Bn, W)).copy()
    for j in range(M):
        bj = beta[:, j]
        if not np.any(bj > 0):
            continue
        wj = np.exp(_negbin_log(y[None, :], bj[:, None], t[:, None]))  # [B, x + 1]
        ker = np.broadcast_to(wj, (G, Bn, x + 1)).copy()
        ker[..., x] *= us[:, None]
        state = _series_mul(state, ker, W)
    coef = np.tensordot(gw, state, axes=1)  # [B, W]
    rr = np.arange(x, W, dtype=np.float64)
    Z = np.exp(_negbin_log(rr[None, :], total[:, None], t[:, None]))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip(np.where(Z > 0, coef[:, x:] / np.where(Z > 0, Z, 1.0), 0.0), 0.0, 1.0)


def _py_rows(vc: np.ndarray, pr: dict) -> dict:
    """Posterior parameters per row: correct (A0, B0), unparsed share (E0, E1), tables β_j, θ', d."""
    n = vc.sum(axis=1).astype(np.float64)
    c0, null = vc[:, 0].astype(np.float64), vc[:, -1].astype(np.float64)
    w = _wrong_partition(vc).astype(np.float64)
    nw = w.sum(axis=1)
    m = np.sum(w > 0, axis=1)
    return {"A0": pr["a"] + c0, "B0": pr["b"] + n - c0, "E0": pr["eta"] + null, "E1": pr["zeta"] + nw,
            "beta": np.where(w > 0, w - pr["d"][:, None], 0.0), "theta_new": pr["theta_w"] + m * pr["d"], "d": pr["d"]}


def predict_pitman_yor(vc, K: int, prior: dict | None = None, *, tie: str = "random", new_answers: str = "vote") -> np.ndarray:
    """Posterior-predictive maj@K per problem under the Pitman-Yor model (exact).

    Model: a problem's answer distribution is G = p₀ δ_correct + (1 − p₀)[q δ_unparsed + (1 − q) H] with
    p₀ ~ Beta(a, b), q ~ Beta(η, ζ) and H ~ PY(d, θ_w) a Pitman-Yor (two-parameter Poisson-Dirichlet)
    process over wrong answers with a diffuse base (Pitman and Yor 1997; Ishwaran and James 2001 for
    its stick-breaking form V_k ~ Beta(1 − d, θ_w + k d)), all independent: a generalized-Dirichlet
    stick (Connor and Mosimann 1969). With d = 0 H is a Dirichlet process; with d = 0, θ_w = b, no
    unparsed samples and ``new_answers="abstain"`` the model is the ``dirichlet`` model exactly (its
    Dirichlet-process base a δ_correct + θ·diffuse splits into these sticks with b = θ_w = θ).
    Posterior given the counts (c₀, n_null, wrong counts c_1 … c_m summing to n_w): p₀ ~ Beta(a + c₀,
    b + n − c₀), q ~ Beta(η + n_null, ζ + n_w), and (Pitman 1996, Corollary 20) H = Σ_j W_j δ_j + W_new
    H' with (W_1, …, W_m, W_new) ~ Dirichlet(c_1 − d, …, c_m − d, θ_w + m d), H' ~ PY(d, θ_w + m d).
    K fresh votes: X₀ ~ BetaBinomial(K, a + c₀, b + n − c₀) correct, the unparsed ones
    X_null | X₀ ~ BetaBinomial(K − X₀, η + n_null, ζ + n_w), and the r = K − X₀ − X_null wrong votes
    continue the posterior urn (a discount d moves weight from seen wrong answers to new ones, and new
    answers can repeat and win). Then

        maj@K = Σ_{x ≥ 1} P(X₀ = x) Σ_{x_null} P(X_null = x_null | x) · C(x, K − x − x_null),

    C(x, r) the expected credit with r wrong votes (1 when r < x; exact generating-function form in
    ``_py_credit``; ties 1/t for ``tie="random"``, 0 for "strict"). ``new_answers="abstain"`` instead
    lets never-seen answers never win (as the ``dirichlet`` model does). pass@1 = (a + c₀)/(n + a + b).
    ``prior``: dict {"a", "b", "d", "theta_w", "eta" (default 0), "zeta" (default 1)}, scalars or arrays
    [P] (one prior per row); default ``fit_pitman_yor_prior(vc)``. Cost O(K³ · m) per distinct row.
    """
    vc = _check_vote_counts(vc)
    K, tie = _check_K(K), _check_tie(tie)
    if new_answers not in NEW_ANSWER_RULES:
        raise ValueError(f"new_answers: must be one of {NEW_ANSWER_RULES}, got {new_answers!r}")
    P = vc.shape[0]
    pr = _check_py_prior(fit_pitman_yor_prior(vc) if prior is None else prior, P)
    u, inv = _canonical(vc)
    key = np.concatenate([u[inv].astype(np.float64), np.stack([pr[k] for k in _PY_KEYS], axis=1)], axis=1)
    key, inv2 = np.unique(key, axis=0, return_inverse=True)
    A = u.shape[1]
    rows = _py_rows(key[:, :A].astype(np.int64), {k: key[:, A + i] for i, k in enumerate(_PY_KEYS)})
    px = _bb_pmf(K, rows["A0"], rows["B0"])  # [B, K + 1]
    out = np.zeros(len(key))
    for x in range(1, K + 1):
        R = K - x
        cred = np.ones((len(key), R + 1))
        if x <= R:
            cred[:, x:] = _py_credit(rows["beta"], rows["theta_new"], rows["d"], x, R, tie, new_answers == "vote")
        q = _bb_pmf(R, rows["E1"], rows["E0"])  # law of the wrong votes r among the R non-correct ones
        out += px[:, x] * np.sum(q * cred, axis=1)
    return np.clip(out, 0.0, 1.0)[np.asarray(inv2).ravel()]


def simulate_pitman_yor_future(vc, n_future: int, prior: dict | None = None, *, n_sim: int = 400, seed: int = 0) -> np.ndarray:
    """Monte Carlo draws of ``n_future`` fresh samples per problem from the ``pitman_yor`` posterior predictive.

    Each draw continues the posterior urns of :func:`predict_pitman_yor` one sample at a time (Blackwell
    and MacQueen 1973; Pitman 1996): after k fresh samples, x₀ of them correct and x_null unparsed, the
    next is correct with probability (a + c₀ + x₀)/(a + b + n + k), else unparsed with probability
    (η + n_null + x_null)/(η + ζ + n − c₀ + k − x₀), else a wrong answer: a seen one j (observed count
    c_j, fresh count y_j) with weight c_j + y_j − d, a new one with weight θ_w + d·(distinct wrong
    answers so far, observed and fresh). Marginally this is drawing (p₀, q, H) from the posterior and then
    ``n_future`` iid answers.

    Returns int64 [n_sim, P, A_f]: fresh counts, slot 0 correct, then the wrong answers (the observed
    ones first, in the row's descending order, then new ones in order of appearance), unparsed last.
    ``prior`` as in :func:`predict_pitman_yor` (default: fitted on ``vc``); seeded by ``seed``.
    """
    vc = _check_vote_counts(vc)
    F = _check_K(n_future, "n_future")
    if isinstance(n_sim, (bool, np.bool_)) or not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise ValueError(f"n_sim: must be an integer >= 1 (Monte Carlo draws), got {n_sim!r}")
    P = vc.shape[0]
    pr = _check_py_prior(fit_pitman_yor_prior(vc) if prior is None else prior, P)
    rows = _py_rows(vc, pr)
    M = rows["beta"].shape[1]
    N = int(n_sim) * P
    A0, B0, E0, E1, th, dd = (np.tile(rows[k], n_sim) for k in ("A0", "B0", "E0", "E1", "theta_new", "d"))
    # slots along axis 0 (fast cumulative sums across draws): correct, unparsed, then the wrong answers
    base = np.concatenate([np.tile(rows["beta"], (n_sim, 1)).T, np.zeros((F, N))], axis=0)  # c_j − d; new slots 0 until created
    fresh = np.zeros((2 + M + F, N), np.int64)
    k_new = np.zeros(N, np.int64)
    idx = np.arange(N)
    rng = np.random.default_rng(seed)
    for k in range(F):
        u = rng.random((3, N))
        x0, xn = fresh[0], fresh[1]
        corr = u[0] < (A0 + x0) / (A0 + B0 + k)
        null = ~corr & (u[1] * (E0 + E1 + k - x0) < E0 + xn)
        wrong = ~corr & ~null
        cum = np.cumsum(base + fresh[2:], axis=0)  # seen or created answers: count − d
        tot = cum[-1] + th + dd * k_new  # = n_w + θ_w + (wrong fresh samples so far)
        pick = np.sum(cum <= u[2] * tot, axis=0)  # M + F: a new answer
        is_new = wrong & (pick >= M + F)
        slot = np.where(is_new, M + k_new, np.minimum(pick, M + F - 1))
        fresh[0] += corr
        fresh[1] += null
        fresh[2 + slot[wrong], idx[wrong]] += 1  # one slot per draw: no repeated index
        base[slot[is_new], idx[is_new]] = -dd[is_new]
        k_new += is_new
    out = np.concatenate([fresh[:1], fresh[2:], fresh[1:2]], axis=0).T
    return out.reshape(int(n_sim), P, -1)


def predictive_maj_interval(vc, ks, n_future: int, prior: dict | None = None, *, n_sim: int = 400, n_prior_boot: int = 20,
                            seed: int = 0, tie: str = "random", level: float = CI_LEVEL) -> dict:
    """Predictive interval of the *realized* dataset maj@K that ``n_future`` fresh samples per problem will give.

    The realized value a later evaluation of the same problems reports is R_K = the mean over problems
    of the exact unbiased maj@K estimator (``theory.voting.maj_at_k``) on n_future fresh samples of
    each problem (K ≤ n_future). Under the ``pitman_yor`` model E[R_K | data] is the prediction itself
    (the estimator is unbiased for the posterior-predictive maj@K of :func:`predict_pitman_yor`, by
    exchangeability). Its spread has three sources, all included: the sampling noise of n_future
    samples, each problem's posterior uncertainty (both by :func:`simulate_pitman_yor_future`, one joint
    draw of every problem per simulation), and the uncertainty of the empirical-Bayes prior, by the
    bootstrap of Laird and Louis (1987, "Empirical Bayes confidence intervals based on bootstrap
    samples"): ``n_prior_boot`` priors refitted (:func:`fit_pitman_yor_prior`) on problems resampled with
    replacement, each driving n_sim / n_prior_boot simulations of the original problems (0: the prior
    is held fixed). The interval is the central ``level`` percentile interval of the n_sim simulated R_K.
    Problem sampling is not included: the interval is for these problems, not for a new problem set.

    ``prior`` (default: fitted on ``vc``) gives the estimate; an explicitly given prior is held fixed
    unless n_prior_boot > 0 (refits then replace it). Returns {"<K>": {"estimate" (the exact
    prediction), "low", "high", "sd" (of the simulated R_K)}, "interval": description}.
    """
    from theory.voting import maj_at_k

    vc = _check_vote_counts(vc)
    ks = _check_ks(ks)
    F = _check_K(n_future, "n_future")
    if max(ks) > F:
        raise ValueError(f"ks: the realized maj@K on n_future = {F} fresh samples needs K <= n_future, got {max(ks)}")
    for name, v, lo in (("n_sim", n_sim, 2), ("n_prior_boot", n_prior_boot, 0)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name}: must be an integer >= {lo}, got {v!r}")
    if n_prior_boot > n_sim:
        raise ValueError(f"n_prior_boot: at most n_sim = {n_sim} prior refits, got {n_prior_boot}")
    P = vc.shape[0]
    prior = fit_pitman_yor_prior(vc) if prior is None else prior
    rng = np.random.default_rng([seed, 1])
    if n_prior_boot == 0:
        draws = [(prior, n_sim)]
    else:
        sizes = np.full(n_prior_boot, n_sim // n_prior_boot)
        sizes[: n_sim % n_prior_boot] += 1
        draws = list(zip(_prior_refits(vc, prior, n_prior_boot, rng), sizes.tolist()))
    # the same rows in every call: every draw has the same slots (correct, the rows' wrong answers, F new, unparsed)
    sims = np.concatenate([simulate_pitman_yor_future(vc, F, pb, n_sim=size, seed=int(rng.integers(2**31)))
                           for pb, size in draws if size > 0], axis=0)
    u, inv = _canonical_fast(sims.reshape(-1, sims.shape[-1]))
    out = {}
    for K in ks:
        per = _maj_at_k_by_subsets(u, K, tie)
        per = np.asarray(maj_at_k(u, K, tie=tie, abstain=u.shape[1] - 1), np.float64) if per is None else per
        vals = per[inv].reshape(n_sim, P).mean(axis=1)
        lo, hi = np.quantile(vals, [(1 - level) / 2, (1 + level) / 2])
        out[str(K)] = {"estimate": float(predict_pitman_yor(vc, K, prior, tie=tie).mean()), "low": float(lo), "high": float(hi),
                       "sd": float(vals.std(ddof=1))}
    boot = f"prior refitted on {n_prior_boot} bootstrap resamples of the problems (Laird-Louis)" if n_prior_boot else "prior fixed"
    out["interval"] = (f"{int(100 * level)}% predictive interval of the realized dataset maj@K from {F} fresh samples per problem "
                       f"(pitman_yor posterior predictive, {n_sim} simulations, {boot}; seed {seed}; same problems)")
    return out

def _as_fit(fit) -> tuple[float, float]:
    if isinstance(fit, BetaBinomialFit):
        return fit.alpha, fit.beta
    if isinstance(fit, dict) and "alpha" in fit and "beta" in fit:
        a, b = float(fit["alpha"]), float(fit["beta"])
        if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0:
            return a, b
    raise ValueError(f"fit: expected a BetaBinomialFit or a dict with alpha > 0 and beta > 0, got {fit!r}")


def predict_beta_binomial(n, c, K: int, fit=None, *, tie: str = "random") -> np.ndarray:
    """Binary-majority maj@K per problem: P(X > K/2) (+ ½ P(X = K/2) for random ties), X ~ BetaBinomial(K,
    α + c, β + n − c), the posterior predictive of K votes when p ~ Beta(α, β) (``fit``; default
    ``fit_beta_binomial(n, c)``). All wrong answers vote as one bloc (module docstring)."""
    n_a = np.atleast_1d(as_count_array(n, "n"))
    c_a = np.atleast_1d(as_count_array(c, "c"))
    if n_a.shape != c_a.shape or n_a.ndim != 1:
        raise ValueError(f"n, c: expected two 1-d arrays of the same length, got shapes {n_a.shape} and {c_a.shape}")
    if (c_a > n_a).any():
        i = int(np.flatnonzero(c_a > n_a)[0])
        raise ValueError(f"c: must be <= n, got c={c_a[i]} > n={n_a[i]} at index {i}")
    K, tie = _check_K(K), _check_tie(tie)
    a0, b0 = _as_fit(fit_beta_binomial(n_a, c_a) if fit is None else fit)
    pairs, inv = np.unique(np.stack([n_a, c_a], axis=1), axis=0, return_inverse=True)
    a = a0 + pairs[:, 1]
    b = b0 + pairs[:, 0] - pairs[:, 1]
    x = np.arange(K + 1, dtype=np.float64)
    log_binom = special.gammaln(K + 1.0) - special.gammaln(x + 1) - special.gammaln(K - x + 1)
    credit = np.where(2 * x > K, 1.0, np.where((2 * x == K) & (tie == "random"), 0.5, 0.0))
    out = np.empty(len(pairs))
    step = max(1, (1 << 22) // (K + 1))
    for s in range(0, len(pairs), step):
        aa, bb = a[s : s + step, None], b[s : s + step, None]
        logpmf = log_binom + special.betaln(x + aa, K - x + bb) - special.betaln(aa, bb)
        out[s : s + step] = np.exp(logpmf) @ credit
    return np.clip(out, 0.0, 1.0)[np.asarray(inv).ravel()]


# ----------------------------------------------------------------------------------------------------
# per-problem predictions, dataset-level intervals, the prediction contract
# ----------------------------------------------------------------------------------------------------


def predict_per_problem(table_or_counts, ks, *, model: str = "dirichlet", checkpoint=0, abstain=None, prior=None,
                        tie: str = "random") -> dict:
    """Per-problem predictions at one checkpoint (no bootstrap).

    Args:
      table_or_counts, checkpoint, abstain: see :func:`vote_counts_at`.
      ks: K values (integers ≥ 1; K may exceed n).
      model: one of ``MODELS``.
      prior: for "dirichlet"/"dirichlet_loo" a dict {"a", "theta"} (default: fitted on these problems by
        marginal / leave-one-out empirical Bayes); for "pitman_yor" a dict {"a", "b", "d", "theta_w"[, "eta",
        "zeta"]} (default ``fit_pitman_yor_prior``); for "beta_binomial" a ``BetaBinomialFit`` or
        {"alpha", "beta"} (default: ``fit_beta_binomial`` on these problems); ignored by "plugin". When
        the default fit is degenerate (no sample correct in any problem, or every sample correct), the
        predictions are the fit's limit, 0 (resp. 1) for maj@K and pass@1, and params says so.
      tie: "random" or "strict".
    Returns a dict: model, ks, checkpoint, problems (indices of the evaluated problems), problem_ids, n,
      n_correct, observed_pass_at_1 (c₀/n), pass_at_1 (the model's P(next sample correct)), maj_at_k and
      sc_gain (float arrays [len(ks), P], sc_gain = maj_at_k − pass_at_1), params (the prior/fit used).
    """
    model, tie, ks = _check_model(model), _check_tie(tie), _check_ks(ks)
    d = vote_counts_at(table_or_counts, checkpoint, abstain)
    n, c, vc = d["n"], d["c"], d["vc"]
    P = len(n)
    label = "" if d["checkpoint"] is None else f"checkpoint {d['checkpoint']!r}: "
    if P == 0:
        raise ValueError(f"{label}no evaluated problem (every n_samples is 0)")
    if model != "beta_binomial" and vc is None:
        raise ValueError(f"model: {model!r} needs per-answer counts; this table has only n_samples/n_correct "
                         "(use model='beta_binomial')")
    maj = np.empty((len(ks), P))
    if prior is None and model != "plugin" and (np.all(c == 0) or np.all(c == n)):
        # every sample wrong (or every one right) at this checkpoint: the empirical-Bayes maximum-likelihood
        # prior is the point mass at p = 0 (p = 1) and does not exist as a proper prior; the predictions
        # are its limit (maj@K = pass@1 = 0, resp. 1; SC gain 0), flagged in params
        v = float(c[0] == n[0])
        maj[:] = v
        p1 = np.full(P, v)
        params = {"degenerate": "every sample is correct" if v else "no sample is correct", "limit": v}
    elif model == "beta_binomial":
        if prior is None:
            try:
                fit = fit_beta_binomial(n, c)
            except ValueError as exc:
                raise ValueError(f"{label}{exc} (pass prior={{'alpha': ..., 'beta': ...}})") from None
            params = {"alpha": fit.alpha, "beta": fit.beta, "converged": fit.converged}
        else:
            alpha, beta = _as_fit(prior)
            params = {"alpha": alpha, "beta": beta, "converged": None}
        for j, K in enumerate(ks):
            maj[j] = predict_beta_binomial(n, c, K, params, tie=tie)
        p1 = (params["alpha"] + c) / (params["alpha"] + params["beta"] + n)
    elif model == "plugin":
        params = {}
        for j, K in enumerate(ks):
            maj[j] = predict_plugin(vc, K, tie=tie)
        p1 = c / n
    elif model == "pitman_yor":
        if prior is None:
            try:
                params = fit_pitman_yor_prior(vc)
            except ValueError as exc:
                raise ValueError(f"{label}{exc}") from None
        else:
            _check_py_prior(prior, P)
            params = dict(prior, method="given", converged=None)
        for j, K in enumerate(ks):
            maj[j] = predict_pitman_yor(vc, K, params, tie=tie)
        p1 = (c + np.asarray(params["a"])) / (n + np.asarray(params["a"]) + np.asarray(params["b"]))
    else:
        if prior is None:
            try:
                params = fit_dirichlet_prior(vc, method="marginal" if model == "dirichlet" else "loo")
            except ValueError as exc:
                raise ValueError(f"{label}{exc}") from None
        else:
            a, t = _check_prior(prior, P)
            params = {"a": a, "theta": t, "method": "given", "converged": None}
        for j, K in enumerate(ks):
            maj[j] = predict_dirichlet(vc, K, params, tie=tie)
        p1 = (c + params["a"]) / (n + params["a"] + params["theta"])
    return {"model": model, "ks": ks, "checkpoint": d["checkpoint"], "problems": d["problems"], "problem_ids": d["problem_ids"],
            "n": n, "n_correct": c, "observed_pass_at_1": c / n, "pass_at_1": p1, "maj_at_k": maj, "sc_gain": maj - p1[None, :],
            "params": params}


def _interval(b: dict, i: int) -> dict:
    return {"estimate": float(b["estimate"][i]), "low": float(b["low"][i]), "high": float(b["high"][i])}


def _dataset_level(pred: dict, n_boot: int, seed: int) -> dict:
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot: must be an integer >= 1 (bootstrap resamples), got {n_boot!r}")
    P = len(pred["n"])
    W = bootstrap_weights(P, int(n_boot), seed)
    ks = pred["ks"]
    b = bootstrap_mean(np.concatenate([pred["pass_at_1"][None], pred["maj_at_k"], pred["sc_gain"]]), W, level=CI_LEVEL)
    nk = len(ks)
    return {"n_problems": int(P), "pass_at_1": _interval(b, 0),
            "maj_at_k": {str(K): _interval(b, 1 + j) for j, K in enumerate(ks)},
            "sc_gain": {str(K): _interval(b, 1 + nk + j) for j, K in enumerate(ks)}}


def predict_maj_at_k(table_or_counts, ks, *, model: str = "dirichlet", checkpoint=0, abstain=None, prior=None,
                     tie: str = "random", n_boot: int = 1000, seed: int = 0) -> dict:
    """Per-problem predictions (:func:`predict_per_problem`) plus ``dataset``: the mean over problems of
    pass@1, maj@K and SC gain, each {"estimate", "low", "high"} with a 95% percentile bootstrap interval
    over problems (``n_boot`` resamples, seeded by ``seed``; the fitted prior is held fixed)."""
    pred = predict_per_problem(table_or_counts, ks, model=model, checkpoint=checkpoint, abstain=abstain, prior=prior, tie=tie)
    pred["dataset"] = _dataset_level(pred, n_boot, seed)
    pred["interval"] = f"{int(100 * CI_LEVEL)}% percentile bootstrap over problems ({n_boot} resamples, seed {seed})"
    return pred


def predict_sc(table: CountsTable, ks, *, model: str = "dirichlet", n_boot: int = 1000, seed: int = 0,
               tie: str = "random") -> dict:
    """The prediction contract: for each checkpoint with at least one evaluated problem (n_samples > 0),

        {"<checkpoint>": {"n_problems": int, "pass_at_1": {"estimate", "low", "high"},
                          "maj_at_k": {"<K>": {...}}, "sc_gain": {"<K>": {...}}}}

    with the model's dataset-level values and 95% bootstrap intervals over problems (see
    :func:`predict_maj_at_k`; the prior is fitted per checkpoint). Checkpoints with no evaluated problem
    are left out. JSON-serializable."""
    if not isinstance(table, CountsTable):
        raise ValueError(f"table: expected a real.logs.table.CountsTable, got {type(table).__name__}")
    model, ks = _check_model(model), _check_ks(ks)
    if model != "beta_binomial" and not table.has_answers:
        raise ValueError(f"model: {model!r} needs per-answer counts; this table has only n_samples/n_correct (use beta_binomial)")
    out = {}
    for ci, ck in enumerate(table.checkpoints):
        if not (table.n_samples[ci] > 0).any():
            continue
        pred = predict_per_problem(table, ks, model=model, checkpoint=ci, tie=tie)
        out[str(ck)] = _dataset_level(pred, n_boot, seed)
    return out


# ----------------------------------------------------------------------------------------------------
# pass@k beyond the samples: per-problem posteriors under empirical-Bayes difficulty priors
# ----------------------------------------------------------------------------------------------------

PASSK_MODELS = ("pooled", "zero_inflated", "beta_binomial", "deconvolution")


def _passk_fits(model: str, n: np.ndarray, c: np.ndarray, start: list[dict] | None = None, seed: int = 0) -> list[dict]:
    """Prior per checkpoint for arrays n, c [C, P] (n = 0: not evaluated): {"pi0", "alpha", "beta"}, for
    "deconvolution" {"grid", "g", "df", "c0", ...} (a discrete prior), or {"degenerate": text, "limit": 0 or 1}
    (every evaluated sample wrong, resp. right). ``start``: the full-data fits, as warm starts (bootstrap refits;
    the deconvolution refits keep the full-data df and c0). ``seed``: of the deconvolution's held-out split."""
    from theory.passk import (
        fit_beta_binomial,
        fit_deconvolution_prior,
        fit_pooled_beta_binomial,
        fit_zero_inflated_beta_binomial,
        select_deconvolution_prior,
    )

    C = n.shape[0]
    out: list[dict] = [{} for _ in range(C)]
    live = []
    for ci in range(C):
        ev = n[ci] > 0
        if not ev.any():
            out[ci] = {"degenerate": "no evaluated problem", "limit": 0.0}
        elif np.all(c[ci, ev] == 0):
            out[ci] = {"degenerate": "no sample is correct", "limit": 0.0}
        elif np.all(c[ci, ev] == n[ci, ev]):
            out[ci] = {"degenerate": "every sample is correct", "limit": 1.0}
        else:
            live.append(ci)
    if not live:
        return out
    if model == "pooled":
        ci_rows, pi_rows = np.nonzero(n[live] > 0)
        labels = np.asarray(live)[ci_rows]
        warm = None
        if start is not None:
            fa = [start[ci]["alpha"] for ci in live if "alpha" in start[ci]]
            warm = (fa[0], {ci: start[ci]["beta"] for ci in live if "beta" in start[ci]}) if fa else None
        fit = fit_pooled_beta_binomial(n[labels, pi_rows], c[labels, pi_rows], labels, start=warm)
        for ci in live:
            out[ci] = {"pi0": 0.0, "alpha": fit.alpha, "beta": fit.beta_of(ci), "converged": fit.converged}
        return out
    if model == "deconvolution":
        for ci in live:
            ev = n[ci] > 0
            st = None if start is None or "g" not in start[ci] else start[ci]
            if st is None:
                f = select_deconvolution_prior(n[ci, ev], c[ci, ev], seed=(seed, ci))
            else:
                f = fit_deconvolution_prior(n[ci, ev], c[ci, ev], df=st["df"], c0=st["c0"], grid=np.asarray(st["grid"]))
            out[ci] = {"grid": f.grid.tolist(), "g": f.g.tolist(), "df": f.df, "c0": f.c0, "info_ratio": f.info_ratio,
                       "converged": f.converged}
        return out
    for ci in live:
        ev = n[ci] > 0
        st = None if start is None or "alpha" not in start[ci] else start[ci]
        if model == "zero_inflated":
            f = fit_zero_inflated_beta_binomial(n[ci, ev], c[ci, ev], start=None if st is None else (st["pi0"], st["alpha"], st["beta"]))
            out[ci] = {"pi0": f.pi0, "alpha": f.alpha, "beta": f.beta, "converged": f.converged}
        elif st is not None:
            a, b = _bb_refit(n[ci, ev], c[ci, ev], np.ones(int(ev.sum())), (st["alpha"], st["beta"]))
            out[ci] = {"pi0": 0.0, "alpha": a, "beta": b, "converged": None}
        else:
            f = fit_beta_binomial(n[ci, ev], c[ci, ev])
            out[ci] = {"pi0": 0.0, "alpha": f.alpha, "beta": f.beta, "converged": f.converged}
    return out


def _draw_pass_at_k(n, c, ks, prior: dict, n_draws: int, rng) -> np.ndarray:
    """[n_draws, len(ks)] dataset means of pass@k over problems, each problem's p drawn from its posterior."""
    from theory.passk import deconvolution_posterior, posterior_prob_solvable

    if "degenerate" in prior:
        return np.full((n_draws, len(ks)), prior["limit"])
    if "g" in prior:  # discrete posterior on the grid: inverse-CDF draws
        grid = np.asarray(prior["grid"])
        cdf = np.cumsum(np.asarray(deconvolution_posterior(n, c, grid, prior["g"])), axis=1)  # [P, J]
        u = rng.random((n_draws, len(n))) * cdf[:, -1]
        idx = np.minimum(np.sum(cdf[None, :, :] < u[:, :, None], axis=2), len(grid) - 1)
        p = grid[idx]
    else:
        w = np.asarray(posterior_prob_solvable(n, c, prior["pi0"], prior["alpha"], prior["beta"]))
        a, b = prior["alpha"] + c, prior["beta"] + n - c
        p = np.where(rng.random((n_draws, len(n))) < w, rng.beta(a, b, (n_draws, len(n))), 0.0)
    with np.errstate(divide="ignore"):
        lq = np.log1p(-np.minimum(p, 1.0))
    return np.stack([-np.expm1(k * lq).mean(axis=1) for k in ks], axis=1)


def predict_pass_at_k(table: CountsTable, ks, *, model: str = "pooled", n_boot: int = 200, seed: int = 0,
                      level: float = CI_LEVEL) -> dict:
    """Per-problem and dataset-level pass@k predictions for k beyond the n samples, per checkpoint.

    A problem with success probability p solves within k iid samples with probability 1 − (1 − p)^k.
    The prior on p is fitted across problems (empirical Bayes) by ``model``:
      * "pooled": p ~ Beta(α, β_ck), α shared by every checkpoint of the table, β per checkpoint
        (``theory.passk.fit_pooled_beta_binomial``; a single-checkpoint table is the plain fit);
      * "zero_inflated": p ~ π₀ δ₀ + (1 − π₀) Beta(α, β) per checkpoint
        (``theory.passk.fit_zero_inflated_beta_binomial``; unsolvable problems hold p = 0 exactly);
      * "beta_binomial": p ~ Beta(α, β) per checkpoint (``theory.passk.fit_beta_binomial``; π₀ = 0);
      * "deconvolution": a discrete prior on a grid of p (Efron 2016's g-model: log masses a natural spline in
        logit p, penalised marginal likelihood) per checkpoint, its df and penalty c0 chosen by 2-fold held-out
        likelihood of the problems' own samples (``theory.passk.select_deconvolution_prior``, seed (seed, checkpoint)).
    Per problem the estimate is the posterior pass@k, P(p > 0 | c) · [1 − B(α + c, β + n − c + k)/B(α + c,
    β + n − c)] (``theory.passk.posterior_pass_at_k``; for "deconvolution" Σ_j w_j [1 − (1 − p_j)^k] over the
    discrete posterior, ``theory.passk.deconvolution_pass_at_k``), and its interval the central ``level`` posterior
    interval of 1 − (1 − p)^k with the prior fixed (``posterior_pass_at_k_quantile``; the discrete posterior's
    lower quantiles, ``deconvolution_pass_at_k_quantile``, for "deconvolution"). The dataset value
    is the mean over the checkpoint's evaluated problems (n > 0); its interval is a Laird and Louis
    (1987) bootstrap: ``n_boot`` times, the problems are resampled with replacement (the same problems for
    every checkpoint), the prior is refitted on the resample, every original problem's p is drawn once from
    its posterior under the refitted prior and the mean of 1 − (1 − p)^k is taken; the interval is the
    central ``level`` percentile interval of these means (widened, if needed, to contain the estimate; a
    resample whose refit is degenerate keeps the full-data prior; "deconvolution" refits keep the full-data df and
    c0). It therefore includes the uncertainty of each
    problem's p and of the prior, for these problems (not a new problem set). n_boot = 0: no dataset
    interval (low = high = estimate). A checkpoint where no evaluated sample is correct gets the fit's
    limit (point mass at p = 0: pass@k = 0) and is flagged in ``params``; likewise all correct (1).

    Returns {"model", "ks", "interval", "problem_interval", "checkpoints": {"<label>": {"n_problems",
    "params", "dataset": {"<k>": {"estimate", "low", "high"}}, "problems": {"problem_id": [...], "n": [...],
    "n_correct": [...], "pass_at_k": {"<k>": {"estimate": [...], "low": [...], "high": [...]}}}}}} (JSON).
    """
    from theory.passk import deconvolution_pass_at_k, deconvolution_pass_at_k_quantile, posterior_pass_at_k, posterior_pass_at_k_quantile

    if not isinstance(table, CountsTable):
        raise ValueError(f"table: expected a real.logs.table.CountsTable, got {type(table).__name__}")
    if model not in PASSK_MODELS:
        raise ValueError(f"model: must be one of {PASSK_MODELS}, got {model!r}")
    ks = _check_ks(ks)
    if isinstance(n_boot, (bool, np.bool_)) or not isinstance(n_boot, (int, np.integer)) or n_boot < 0:
        raise ValueError(f"n_boot: must be an integer >= 0 (bootstrap resamples; 0 = no dataset interval), got {n_boot!r}")
    if not 0 < level < 1:
        raise ValueError(f"level: must be in (0, 1), got {level!r}")
    n, c = np.asarray(table.n_samples, np.int64), np.asarray(table.n_correct, np.int64)
    C, P = n.shape
    fits = _passk_fits(model, n, c, seed=seed)
    qs = ((1 - level) / 2, (1 + level) / 2)
    rng = np.random.default_rng([seed, 11])
    boot = np.zeros((n_boot, C, len(ks)))
    for b in range(n_boot):
        idx = rng.integers(0, P, P)
        try:
            fb = _passk_fits(model, n[:, idx], c[:, idx], start=fits, seed=seed)
        except ValueError:
            fb = fits
        for ci in range(C):
            ev = n[ci] > 0
            if ev.any():
                prior = fits[ci] if ("degenerate" in fb[ci]) != ("degenerate" in fits[ci]) else fb[ci]
                boot[b, ci] = _draw_pass_at_k(n[ci, ev], c[ci, ev], ks, prior, 1, rng)[0]
    out = {}
    for ci, ck in enumerate(table.checkpoints):
        ev = np.flatnonzero(n[ci] > 0)
        if ev.size == 0:
            continue
        nn, cc, pr = n[ci, ev], c[ci, ev], fits[ci]
        probs = {}
        ds = {}
        for j, k in enumerate(ks):
            if "degenerate" in pr:
                est = lo = hi = np.full(ev.size, pr["limit"])
            elif "g" in pr:
                gr, gm = np.asarray(pr["grid"]), np.asarray(pr["g"])
                est = np.asarray(deconvolution_pass_at_k(nn, cc, k, gr, gm), np.float64)
                lo, hi = (np.asarray(deconvolution_pass_at_k_quantile(nn, cc, k, q, gr, gm), np.float64) for q in qs)
            else:
                args = (pr["pi0"], pr["alpha"], pr["beta"])
                est = np.asarray(posterior_pass_at_k(nn, cc, k, *args), np.float64)
                lo, hi = (np.asarray(posterior_pass_at_k_quantile(nn, cc, k, q, *args), np.float64) for q in qs)
            probs[str(k)] = {"estimate": est.tolist(), "low": lo.tolist(), "high": hi.tolist()}
            m = float(est.mean())
            if n_boot:
                blo, bhi = np.quantile(boot[:, ci, j], qs)
                ds[str(k)] = {"estimate": m, "low": float(min(blo, m)), "high": float(max(bhi, m))}
            else:
                ds[str(k)] = {"estimate": m, "low": m, "high": m}
        out[str(ck)] = {"n_problems": int(ev.size), "params": pr, "dataset": ds,
                        "problems": {"problem_id": [str(table.problem_ids[i]) for i in ev], "n": nn.tolist(), "n_correct": cc.tolist(),
                                     "pass_at_k": probs}}
    pct = int(round(100 * level))
    return {"model": model, "ks": ks, "checkpoints": out,
            "interval": (f"dataset: {pct}% Laird-Louis bootstrap ({n_boot} resamples of the problems, prior refitted, each problem's p drawn "
                         f"from its posterior; seed {seed}); the estimate is the mean posterior pass@k" if n_boot else
                         "dataset: no interval (n_boot = 0)"),
            "problem_interval": f"{pct}% posterior interval of 1 - (1 - p)^k with the fitted prior held fixed"}


PASSK_CSV_COLUMNS = ("checkpoint", "level", "problem_id", "n", "n_correct", "k", "estimate", "low", "high")


def write_pass_at_k(pred: dict, path=None) -> str:
    """Write :func:`predict_pass_at_k`'s result: JSON (the dict itself), or CSV when ``path`` ends in ``.csv``
    (columns ``PASSK_CSV_COLUMNS``: one "dataset" row per checkpoint and k, then one "problem" row per
    problem and k). ``path`` None: nothing is written. Returns the text."""
    import json

    from common.atomic import atomic_write_text

    if not isinstance(pred, dict) or "checkpoints" not in pred or "ks" not in pred:
        raise ValueError("pred: expected the dict returned by predict_pass_at_k")
    if path is not None and str(path).lower().endswith(".csv"):
        lines = [",".join(PASSK_CSV_COLUMNS)]
        q = lambda v: '"' + str(v).replace('"', '""') + '"' if any(ch in str(v) for ch in ',"\n') else str(v)  # noqa: E731
        for ck, e in pred["checkpoints"].items():
            for k in pred["ks"]:
                d = e["dataset"][str(k)]
                lines.append(",".join([q(ck), "dataset", "", "", "", str(k), repr(d["estimate"]), repr(d["low"]), repr(d["high"])]))
            pp = e["problems"]
            for k in pred["ks"]:
                v = pp["pass_at_k"][str(k)]
                for i, pid in enumerate(pp["problem_id"]):
                    lines.append(",".join([q(ck), "problem", q(pid), str(pp["n"][i]), str(pp["n_correct"][i]), str(k),
                                           repr(v["estimate"][i]), repr(v["low"][i]), repr(v["high"][i])]))
        text = "\n".join(lines) + "\n"
    else:
        text = json.dumps(pred, indent=1) + "\n"
    if path is not None:
        atomic_write_text(Path(path), text)
    return text
