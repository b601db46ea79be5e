"""Predicting maj@K and SC gain for K beyond the n samples observed per problem, with 95% intervals.

Three predictors of a problem's majority-vote accuracy with K fresh votes, from its observed answer
counts (correct answer in slot 0, wrong answers, unparsed samples):

* ``plugin`` — the plug-in multinomial: answer probabilities p̂ = counts / n, then the exact plurality
  accuracy of K iid votes (``theory.voting.plurality_accuracy``; unparsed samples abstain). With small n
  a wrong answer seen once gets p̂ = 1/n, as much as a correct answer seen once, although wrong answers
  are spread over many values: the plug-in over-states how concentrated the errors are and
  under-predicts majority accuracy (measured on GSM8K in ``experiments/real_validation.py``).
* ``dirichlet`` — a Bayesian Pólya-urn (Dirichlet-process) model with a distinguished correct answer:
  the next sample is correct with probability (c₀ + a)/(n + a + θ), repeats wrong answer j with
  probability c_j/(n + a + θ), and is a *new* wrong answer (or unparsed) with probability
  (θ + n_null)/(n + a + θ). The K future votes are then Dirichlet-multinomial with parameters
  (c₀ + a, c₁, …, c_m, θ + n_null), new answers scattered (they abstain); their plurality accuracy is
  exactly ``theory.voting.correlated_plurality_accuracy`` with mean = parameters / total and intraclass
  correlation ρ = 1 / (1 + total). The prior weights are empirical Bayes: (a, θ) = (α̂, β̂), the
  beta-binomial maximum-likelihood fit of the correctness counts across the checkpoint's problems, so
  P(next sample correct) is the beta-binomial posterior mean. (A leave-one-sample-out fit of (a, θ) was
  tried first: it chose a ≈ 3-4 and over-predicted GSM8K maj@K by ~0.09; see the session notes.)
* ``beta_binomial`` — the binary view: success probabilities p ~ Beta(α, β) fitted across problems
  (``theory.passk.fit_beta_binomial``), per problem the posterior Beta(α + c, β + n − c), and maj@K as
  the probability that the correct answer wins a *binary* majority of the K votes (more than K/2; a
  K/2 tie counts 1/2). Treating all wrong answers as one bloc makes this a lower-bound-like quantity,
  not plurality accuracy.

Intervals: the dataset-level value (mean over problems) gets a 95% percentile bootstrap interval over
problems; pass@1 and SC gain (maj@K − pass@1, per problem) likewise, with the same resamples.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from real.analysis import bootstrap_mean, bootstrap_weights
from real.counts import CountsTable
from theory.passk import fit_beta_binomial
from theory.voting import correlated_plurality_accuracy, plurality_accuracy

MODELS = ("plugin", "dirichlet", "beta_binomial")


def _trim(vc: np.ndarray) -> np.ndarray:
    """Drop all-zero wrong-answer slots (keeps slot 0 and the last, null, slot)."""
    used = vc[:, 1:-1].any(axis=0)
    return np.concatenate([vc[:, :1], vc[:, 1:-1][:, used], vc[:, -1:]], axis=1)


def predict_plugin(vc: np.ndarray, K: int) -> np.ndarray:
    """Plug-in plurality accuracy per problem; vc [P, A+1] counts (slot 0 correct, last slot null)."""
    vc = _trim(vc)
    p = vc / vc.sum(axis=1, keepdims=True)
    return np.asarray(plurality_accuracy(p, K, abstain=vc.shape[1] - 1), np.float64)


def fit_dirichlet_prior(vc: np.ndarray) -> dict:
    """Empirical-Bayes prior weights of the Pólya-urn model: a = α̂ and θ = β̂ of the beta-binomial
    maximum-likelihood fit of the correctness counts (c₀ of n) across problems.

    So the predicted probability that the next sample is correct is the beta-binomial posterior mean
    (c₀ + α̂)/(n + α̂ + β̂) (shrinkage toward the population of problems), and the prior wrong mass β̂
    goes to new, scattered answers. vc [P, A+1]: slot 0 correct, last slot null."""
    n = vc.sum(axis=1)
    ok = n > 0
    fit = safe_beta_binomial_fit(n[ok], vc[ok, 0])
    return {"a": float(fit.alpha), "theta": float(fit.beta), "converged": bool(fit.converged), "n_problems": int(ok.sum()),
            "fallback": fit.fallback}


class _Fit:
    def __init__(self, alpha, beta, converged, fallback):
        self.alpha, self.beta, self.converged, self.fallback = alpha, beta, converged, fallback


def safe_beta_binomial_fit(n, c):
    """``fit_beta_binomial``, except when every problem has c = 0 or every one has c = n (the MLE is then
    a point mass and does not exist): then the Jeffreys prior Beta(1/2, 1/2), flagged ``fallback=True``."""
    n, c = np.asarray(n), np.asarray(c)
    if n.size == 0 or np.all(c == 0) or np.all(c == n):
        return _Fit(0.5, 0.5, False, True)
    f = fit_beta_binomial(n, c)
    return _Fit(f.alpha, f.beta, f.converged, False)


def predict_dirichlet(vc: np.ndarray, K: int, prior: dict | None = None) -> np.ndarray:
    """Posterior-predictive plurality accuracy of K votes under the Pólya-urn model (module doc)."""
    prior = prior or fit_dirichlet_prior(vc)
    vc = _trim(vc).astype(np.float64)
    params = vc.copy()
    params[:, 0] += prior["a"]
    params[:, -1] += prior["theta"]
    total = params.sum(axis=1)
    return np.asarray(correlated_plurality_accuracy(params / total[:, None], 1.0 / (1.0 + total), K,
                                                    abstain=params.shape[1] - 1), np.float64)


def predict_beta_binomial(n: np.ndarray, c: np.ndarray, K: int, fit=None) -> np.ndarray:
    """P(correct wins a binary majority of K votes) under the posterior Beta(α + c, β + n − c)."""
    fit = fit or safe_beta_binomial_fit(n, c)
    a = fit.alpha + c
    b = fit.beta + (n - c)
    x = np.arange(K + 1)
    logpmf = (special.gammaln(K + 1) - special.gammaln(x + 1) - special.gammaln(K - x + 1))[None, :] + \
        special.betaln(x[None, :] + a[:, None], K - x[None, :] + b[:, None]) - special.betaln(a, b)[:, None]
    pmf = np.exp(logpmf)
    credit = np.where(2 * x > K, 1.0, np.where(2 * x == K, 0.5, 0.0))
    return pmf @ credit


def predict_maj_at_k(table: CountsTable, ks, *, model: str = "dirichlet", checkpoint: int = 0) -> dict:
    """Per-problem predicted maj@K for each K at one checkpoint (index): {"K": array [P_eval]}, plus
    "problems" (indices evaluated, n > 0), "pass_at_1" per problem and the fitted prior/fit."""
    if model not in MODELS:
        raise ValueError(f"model: must be one of {MODELS}, got {model!r}")
    ks = [int(k) for k in ks]
    if not ks or min(ks) < 1:
        raise ValueError(f"k: need integers >= 1, got {ks}")
    ev = np.flatnonzero(table.n_samples[checkpoint] > 0)
    n = table.n_samples[checkpoint, ev]
    c = table.n_correct[checkpoint, ev]
    out = {"problems": ev, "pass_at_1": c / n}
    if model == "beta_binomial":
        fit = safe_beta_binomial_fit(n, c)
        out["fit"] = {"alpha": fit.alpha, "beta": fit.beta, "converged": fit.converged, "fallback": fit.fallback}
        for K in ks:
            out[K] = predict_beta_binomial(n, c, K, fit)
        return out
    vc = table.vote_counts()[0][checkpoint, ev]
    if model == "plugin":
        for K in ks:
            out[K] = predict_plugin(vc, K)
        return out
    prior = fit_dirichlet_prior(vc)
    out["prior"] = prior
    for K in ks:
        out[K] = predict_dirichlet(vc, K, prior)
    return out


def _interval(est, low, high) -> dict:
    return {"estimate": float(est), "low": float(low), "high": float(high)}


def predict_sc(table: CountsTable, ks, *, model: str = "dirichlet", n_boot: int = 1000, seed: int = 0) -> dict:
    """The prediction contract of ``python -m real predict-sc``: per checkpoint n_problems, pass@1,
    maj@K and SC gain (maj@K − pass@1), each {"estimate", "low", "high"} with 95% bootstrap intervals."""
    if model != "beta_binomial" and not table.has_answers:
        raise ValueError(f"model: {model!r} needs per-answer counts; this table has only n_samples/n_correct (use beta_binomial)")
    out = {}
    for ci, ck in enumerate(table.checkpoints):
        pred = predict_maj_at_k(table, ks, model=model, checkpoint=ci)
        P = len(pred["problems"])
        if P == 0:
            continue
        W = bootstrap_weights(P, n_boot, seed)
        p1 = pred["pass_at_1"]
        rows = [p1] + [pred[int(K)] for K in ks] + [pred[int(K)] - p1 for K in ks]
        b = bootstrap_mean(np.stack(rows), W)
        nk = len(ks)
        entry = {"n_problems": int(P), "pass_at_1": _interval(b["estimate"][0], b["low"][0], b["high"][0]),
                 "maj_at_k": {str(K): _interval(b["estimate"][1 + j], b["low"][1 + j], b["high"][1 + j]) for j, K in enumerate(ks)},
                 "sc_gain": {str(K): _interval(b["estimate"][1 + nk + j], b["low"][1 + nk + j], b["high"][1 + nk + j]) for j, K in enumerate(ks)}}
        out[str(ck)] = entry
    return out
