"""Percentile bootstrap over problems: the one resampling scheme every analysis uses.

The unit of resampling is the problem (an evaluation set is a sample of problems; samples within a
problem are not resampled). A resample draws P problem indices uniformly with replacement; it is stored
as a weight row (how often each problem was drawn), so a resample's mean of per-problem values v is
Σ_p w_p v_p / Σ_p w_p and B resamples are one matrix product. The interval at level L is the percentile
interval [q_(1−L)/2, q_(1+L)/2] of the B resampled means (Efron and Tibshirani 1993, ch. 13).

Paired comparisons: use the same weights for every quantity (checkpoints, k, metrics). The bootstrap
of a difference of two checkpoints' means is then the bootstrap of the mean of the per-problem
differences (:func:`bootstrap_mean` of ``v_a − v_b``), and intervals of different quantities come
from the same resampled problem sets.

Public: :data:`CI_LEVEL`, :func:`bootstrap_weights`, :func:`bootstrap_mean`.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["CI_LEVEL", "bootstrap_weights", "bootstrap_mean"]

CI_LEVEL = 0.95


def _positive_int(x, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {x!r}")
    return int(x)


def bootstrap_weights(n_problems: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """Resampling weights [n_boot, P] of the percentile bootstrap over problems.

    Row b counts how often problem i was drawn when P = ``n_problems`` problem indices are drawn
    uniformly with replacement (``numpy.random.default_rng(seed).integers(0, P, size=(n_boot, P))``),
    so every row sums to P (float64 counts, unitless). Deterministic given ``seed``; pass the same
    array to every :func:`bootstrap_mean` call whose intervals should be paired.
    """
    P = _positive_int(n_problems, "n_problems")
    B = _positive_int(n_boot, "n_boot")
    idx = np.random.default_rng(seed).integers(0, P, size=(B, P))
    flat = (idx + P * np.arange(B)[:, None]).ravel()
    return np.bincount(flat, minlength=B * P).reshape(B, P).astype(np.float64)


def bootstrap_mean(values, weights: np.ndarray, level: float = CI_LEVEL) -> dict:
    """Mean over problems (last axis) with a percentile bootstrap interval.

    values: [..., P] per-problem values (any unit; the results carry the same unit); NaN = no value for
    that problem, left out of the estimate and of every resample's mean (each resample's mean is
    Σ_p w_bp v_p / Σ_p w_bp over the problems with a value). weights: [B, P] from
    :func:`bootstrap_weights`. level: coverage of the two-sided interval (default 0.95).

    Returns ``estimate`` (plain mean), ``low`` / ``high`` (the (1 − level)/2 and (1 + level)/2
    percentiles of the B resampled means) and ``se`` (their standard deviation, ddof 1; 0 when B = 1),
    arrays of shape values.shape[:-1]; NaN where no problem has a value. Paired when the same weights
    serve two checkpoints (see the module docstring).
    """
    v = np.asarray(values, np.float64)
    weights = np.asarray(weights, np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights: must be [n_boot, n_problems], got shape {weights.shape}")
    if v.shape[-1:] != weights.shape[1:]:
        raise ValueError(f"values: last axis must have one entry per problem ({weights.shape[1]}), got {v.shape}")
    shape = v.shape[:-1]
    flat = v.reshape(-1, v.shape[-1])
    mask = np.isfinite(flat)
    fv = np.where(mask, flat, 0.0)
    fm = mask.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = fv.sum(1) / fm.sum(1)
        boot = (weights @ fv.T) / (weights @ fm.T)  # [B, rows]
    a = 100 * (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no value stay NaN
        if np.isnan(boot).any():
            low, high = np.nanpercentile(boot, [a, 100 - a], axis=0)
            se = np.nanstd(boot, axis=0, ddof=1)
        else:
            low, high = np.percentile(boot, [a, 100 - a], axis=0)
            se = boot.std(axis=0, ddof=1) if boot.shape[0] > 1 else np.zeros(boot.shape[1])
    return {"estimate": est.reshape(shape), "low": np.asarray(low).reshape(shape),
            "high": np.asarray(high).reshape(shape), "se": np.asarray(se).reshape(shape)}
