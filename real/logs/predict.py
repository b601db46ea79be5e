"""Predicting maj@K and the SC gain for K beyond the n samples observed per problem, with 95% intervals.

A problem's observed answers are counts: slot 0 the correct answer, then the distinct wrong answers, and
an abstention class (unparsed samples; ``CountsTable.vote_counts()`` puts it last) that never wins a
vote. For K fresh votes, maj@K is the probability that the correct answer wins the plurality vote (a
t-way tie at the top earns 1/t, ``tie="random"``, or nothing, ``tie="strict"``) — self-consistency
accuracy (Wang et al. 2023, "Self-Consistency Improves Chain of Thought Reasoning"); the SC gain is
maj@K − pass@1. Unlike the exact unbiased estimator ``theory.voting.maj_at_k`` (which needs K ≤ n), a
predictor needs a model of the answer distribution. Four, same interface (``MODELS``):

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

For every model maj@1 = pass@1, so the predicted SC gain at K = 1 is exactly 0; the SC gain is the
model's maj@K minus the model's pass@1, per problem.

Intervals. The dataset-level value (mean over the problems evaluated at a checkpoint, n > 0) gets a 95%
percentile bootstrap interval over problems (``common.bootstrap.bootstrap_weights``: problems resampled with
replacement, the fitted prior held fixed); pass@1, maj@K and SC gain use the same resamples. The interval
describes problem-sampling variability of the prediction, not model error.

Speed: predictions depend only on a problem's count pattern (wrong answers are exchangeable), so rows are
reduced to canonical patterns (wrong counts sorted) and each distinct pattern is evaluated once by the
batched exact engines of ``theory.voting``.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from common.bootstrap import CI_LEVEL, bootstrap_mean, bootstrap_weights
from common.checks import as_count_array
from real.logs.table import CountsTable
from theory.passk import BetaBinomialFit, fit_beta_binomial
from theory.voting import TIE_RULES, correlated_plurality_accuracy, plurality_accuracy

MODELS = ("plugin", "dirichlet", "dirichlet_loo", "beta_binomial")
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
        marginal / leave-one-out empirical Bayes); for "beta_binomial" a ``BetaBinomialFit`` or
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
