"""Coverage across checkpoints: statistics of solved sets and of per-problem solve probabilities.

A *solved set* of checkpoint t over P problems is a row S[t] of an array S [C, P] (C checkpoints in
training order): binary (bool: problem p solved or not) or *soft* (s[t, p] in [0, 1], the probability
that an evaluation of checkpoint t solves p, e.g. a pass@k estimate; different problems and checkpoints
independent). Every formula below reduces to the usual set formula on binary sets; on soft sets it is
the expectation of the set formula's numerator and denominator over independent Bernoulli sets (the
ratio of expectations), except :func:`expected_jaccard`, which is the exact expectation of the ratio.

Units: sizes, gains and losses are numbers of problems, or fractions of P where said; Jaccard,
retention and rotation are unitless ratios in [0, 1]; probabilities are unitless.

Conventions (parameters where callers differ): the Jaccard of two empty sets is ``empty`` (default 1:
two evaluations that both solve nothing agree); retention of an empty set is NaN (nothing to retain);
the rotation of fewer than two checkpoints is 0.

Matched budgets: :func:`even_split` and :func:`evenly_spaced` choose how a total budget of K samples is
spread over checkpoints; the union pass@K itself and the greedy allocation are
``theory.passk.union_pass_at_k`` (``_from_p``) and ``theory.passk.greedy_budget_allocation`` (``_from_p``).

Public: :func:`jaccard`, :func:`jaccard_matrix`, :func:`consecutive_jaccard`, :func:`rotation`,
:func:`transitions`, :func:`cumulative_coverage`, :func:`nestedness`, :func:`even_split`,
:func:`evenly_spaced`, :func:`expected_jaccard_joint`, :func:`expected_jaccard`,
:func:`solve_probabilities`, :func:`expected_churn`, :func:`noise_floor`.
"""

from __future__ import annotations

import numpy as np

from common.checks import as_count_array, as_float_array, as_probabilities
from theory.passk import log_fail_at_k

__all__ = [
    "jaccard",
    "jaccard_matrix",
    "consecutive_jaccard",
    "rotation",
    "transitions",
    "cumulative_coverage",
    "nestedness",
    "even_split",
    "evenly_spaced",
    "expected_jaccard_joint",
    "expected_jaccard",
    "solve_probabilities",
    "expected_churn",
    "noise_floor",
]


def _sets(S, name: str = "S") -> np.ndarray:
    """S [C, P] of solved sets, binary or soft, as float64 in [0, 1]."""
    arr = as_probabilities(S, name, axis=None)
    if arr.ndim != 2:
        raise ValueError(f"{name}: must be [checkpoints, problems], got shape {arr.shape}")
    return arr


def _binary(U, name: str) -> np.ndarray:
    arr = np.asarray(U)
    if arr.dtype != bool:
        if not np.isin(arr, (0, 1)).all():
            raise ValueError(f"{name}: must be binary (bool or 0/1), got dtype {arr.dtype}")
        arr = arr.astype(bool)
    if arr.ndim != 2:
        raise ValueError(f"{name}: must be [checkpoints, problems], got shape {arr.shape}")
    return arr


# ----------------------------------------------------------------------------------------------------
# overlap of solved sets
# ----------------------------------------------------------------------------------------------------


def jaccard(a, b, *, empty: float = 1.0) -> float:
    """Jaccard index of two solved sets a, b [P]: J = Σ_p a_p b_p / Σ_p (a_p + b_p − a_p b_p).

    Binary sets: |A∩B| / |A∪B|. Soft sets: expected intersection / expected union of two independent
    evaluations (ratio of expectations). ``empty`` where the union is 0 (both sets empty). Unitless.
    """
    a = as_probabilities(a, "a", axis=None)
    b = as_probabilities(b, "b", axis=None)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a, b: must be two [P] vectors of equal length, got {a.shape} and {b.shape}")
    union = np.sum(a + b - a * b)
    return float(np.sum(a * b) / union) if union > 0 else float(empty)


def jaccard_matrix(S, *, empty: float = 1.0) -> np.ndarray:
    """Jaccard index of every pair of rows of S [C, P]: J[a, b] = Σ_p s_a s_b / Σ_p (s_a + s_b − s_a s_b).

    Computed as I / (|S_a| + |S_b| − I) with I = S Sᵀ. Binary rows: |A∩B| / |A∪B| (diagonal 1). Soft
    rows: ratio of expected intersection to expected union of independent evaluations; the diagonal
    is < 1 where solving is uncertain (two evaluations of one checkpoint differ). ``empty`` where the
    union is 0. Returns float64 [C, C], unitless.
    """
    S = _sets(S)
    inter = S @ S.T
    tot = S.sum(1)
    union = tot[:, None] + tot[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), float(empty))


def consecutive_jaccard(S, *, empty: float = 1.0) -> np.ndarray:
    """J(S_t, S_t+1) for t = 0 … C−2 (the superdiagonal of :func:`jaccard_matrix`), float64 [C−1]."""
    return np.diag(jaccard_matrix(S, empty=empty), 1).copy()


def rotation(S, *, empty: float = 1.0) -> float:
    """Rotation of the solved sets: 1 − mean_t J(S_t, S_t+1) over consecutive checkpoints (unitless).

    0 when every checkpoint solves the same set, 1 when consecutive sets are disjoint; 0 for C < 2.
    """
    consec = consecutive_jaccard(S, empty=empty)
    return float(1 - np.mean(consec)) if consec.size else 0.0


def transitions(S, *, fraction: bool = True) -> dict:
    """What consecutive checkpoints keep, gain and lose, for S [C, P] (binary or soft).

    retention_t = Σ_p s_t s_t+1 / Σ_p s_t (fraction of the solved set still solved; NaN where S_t is
    empty); acquisition_t = Σ_p (1 − s_t) s_t+1 and loss_t = Σ_p s_t (1 − s_t+1): problems gained and
    lost (expected numbers for soft sets), divided by P when ``fraction`` (fractions of the problems).
    Returns {"retention", "acquisition", "loss"}, float64 [C−1] each.
    """
    S = _sets(S)
    P = S.shape[1]
    a, b = S[:-1], S[1:]
    kept = (a * b).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        retention = np.where(a.sum(1) > 0, kept / a.sum(1), np.nan)
    gained, lost = ((1 - a) * b).sum(1), (a * (1 - b)).sum(1)
    if fraction:
        gained, lost = gained / P, lost / P
    return {"retention": retention, "acquisition": gained, "loss": lost}


def cumulative_coverage(S) -> np.ndarray:
    """Fraction of problems solved by some checkpoint up to t: mean_p [1 − Π_{u ≤ t} (1 − s_u,p)], [C].

    Binary sets: |S_0 ∪ … ∪ S_t| / P. Soft sets: the expected fraction (independent evaluations).
    """
    arr = np.asarray(S)
    if arr.dtype == bool and arr.ndim == 2:
        return np.logical_or.accumulate(arr, axis=0).mean(1)
    S = _sets(S)
    return (1 - np.cumprod(1 - S, axis=0)).mean(1)


def nestedness(U) -> dict:
    """Nestedness of binary sets U [C, P] (e.g. unsolvable sets): nested when U_t+1 ⊆ U_t for every t.

    Returns size (int64 [C], |U_t|), fraction ([C], |U_t| / P), violations (int64 [C−1], |U_t+1 ∖ U_t|:
    problems in the set again or anew), nested_consecutive (bool [C−1], violations = 0), nested (bool:
    all consecutive pairs nested, so each set is a subset of every earlier one), always (int: problems
    in every U_t) and ever (int: in some U_t).
    """
    U = _binary(U, "U")
    viol = (U[1:] & ~U[:-1]).sum(1)
    return {"size": U.sum(1).astype(np.int64), "fraction": U.mean(1), "violations": viol.astype(np.int64),
            "nested_consecutive": viol == 0, "nested": bool(np.all(viol == 0)),
            "always": int(U.all(axis=0).sum()), "ever": int(U.any(axis=0).sum())}


# ----------------------------------------------------------------------------------------------------
# matched budgets
# ----------------------------------------------------------------------------------------------------


def even_split(K: int, idx, C: int) -> np.ndarray:
    """Samples per checkpoint when a total budget of K samples is split evenly over the checkpoints idx.

    Each of the s = len(idx) checkpoints gets ⌊K / s⌋ samples and the first K − s⌊K / s⌋ of idx one
    more (the remainder to the earliest); the other checkpoints of 0 … C−1 get 0. Returns int64 [C]
    summing to K (a number of samples per checkpoint).
    """
    idx = np.asarray(idx, np.int64)
    s = len(idx)
    if s == 0:
        raise ValueError("idx: need at least one checkpoint")
    K = int(as_count_array(K, "K"))
    kvec = np.zeros(int(C), np.int64)
    kvec[idx] = K // s
    kvec[idx[: K - (K // s) * s]] += 1
    return kvec


def evenly_spaced(C: int, s: int) -> np.ndarray:
    """Indices of s checkpoints evenly spaced over 0 … C−1, first and last included: the distinct values
    of round(linspace(0, C − 1, s)) (fewer than s when s > C), int64 sorted."""
    return np.unique(np.linspace(0, C - 1, s).round().astype(np.int64))


# ----------------------------------------------------------------------------------------------------
# independent solved sets with known solve probabilities
# ----------------------------------------------------------------------------------------------------


def expected_jaccard_joint(p_both, p_one, *, empty: float = 1.0) -> float:
    """Exact E[|A∩B| / |A∪B|] for random sets A, B over problems independent of each other, problem i
    in both sets with probability p_both[i] and in exactly one with probability p_one[i].

    The ratio is ``empty`` (default 1) when both sets are empty. Dynamic program over the joint law of
    (I, U) = (|A∩B|, |A∪B|): each problem adds (1, 1), (0, 1) or (0, 0); O(P³) time, O(P²) memory.
    Unitless; the expectation of the ratio, not the ratio of expectations.
    """
    p_both = as_float_array(p_both, "p_both").ravel()
    p_one = as_float_array(p_one, "p_one").ravel()
    if p_both.shape != p_one.shape:
        raise ValueError(f"p_one: must have one entry per problem ({p_both.size}), got {p_one.size}")
    P = len(p_both)
    S = np.zeros((P + 1, P + 1))
    S[0, 0] = 1.0
    for both, one in zip(p_both, p_one):
        new = (1 - both - one) * S
        new[:, 1:] += one * S[:, :-1]
        new[1:, 1:] += both * S[:-1, :-1]
        S = new
    i, u = np.meshgrid(np.arange(P + 1), np.arange(P + 1), indexing="ij")
    ratio = np.where(u > 0, i / np.maximum(u, 1), float(empty))
    return float(np.sum(S * ratio))


def expected_jaccard(qa, qb, *, empty: float = 1.0) -> float:
    """Exact E[Jaccard] of two independent solved sets, problem i in A with probability qa[i] and in B
    with probability qb[i]: :func:`expected_jaccard_joint` with p_both = qa qb, p_one = qa + qb − 2 qa qb."""
    qa, qb = as_float_array(qa, "qa"), as_float_array(qb, "qb")
    return expected_jaccard_joint(qa * qb, qa + qb - 2 * qa * qb, empty=empty)


def solve_probabilities(n, c, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem solve probabilities at k samples from n samples with c correct (Chen et al. 2021).

    q = P(a random k-subset of the samples holds a correct one) = 1 − C(n−c, k)/C(n, k) (the unbiased
    pass@k) and q2 = P(two disjoint random k-subsets both do) = 1 − 2 C(n−c, k)/C(n, k) + C(n−c, 2k)/C(n, 2k)
    (needs 2k ≤ n), the unbiased estimate of q² (two independent k-sample evaluations of one checkpoint).
    Returns (q, q2), float64 arrays of the broadcast shape of n and c; unitless.
    """
    f1 = np.exp(np.asarray(log_fail_at_k(n, c, k), float))
    f2 = np.exp(np.asarray(log_fail_at_k(n, c, 2 * k), float))
    return 1 - f1, np.clip(1 - 2 * f1 + f2, 0.0, None)


def expected_churn(qa, qb) -> dict:
    """Expected churn between independent solved sets A (checkpoint a) and B (checkpoint b) over the
    same problems, problem i in A with probability qa[i] and in B with probability qb[i].

    Returns expected numbers of problems: solved_a = Σ qa, solved_b = Σ qb, gained = Σ (1 − qa) qb,
    lost = Σ qa (1 − qb), union = Σ (qa + qb − qa qb); jaccard = the exact E[|A∩B| / |A∪B|]
    (:func:`expected_jaccard`, 1 when both are empty) and ratio_of_expectations_jaccard = Σ qa qb /
    Σ (qa + qb − qa qb) (:func:`jaccard` of the soft sets, 1 when the expected union is 0).
    """
    qa, qb = as_float_array(qa, "qa"), as_float_array(qb, "qb")
    return {"solved_a": float(qa.sum()), "solved_b": float(qb.sum()), "gained": float(np.sum((1 - qa) * qb)),
            "lost": float(np.sum(qa * (1 - qb))), "union": float(np.sum(qa + qb - qa * qb)),
            "jaccard": expected_jaccard_joint(qa * qb, qa + qb - 2 * qa * qb),
            "ratio_of_expectations_jaccard": jaccard(qa, qb)}


def noise_floor(q, q2) -> dict:
    """Churn between two independent evaluations of one checkpoint, the floor for :func:`expected_churn`.

    q[i]: P(an evaluation solves problem i); q2[i]: P(both evaluations do) (q² for independent
    evaluations with replacement; :func:`solve_probabilities` gives the without-replacement value).
    Returns jaccard = exact E[Jaccard] (:func:`expected_jaccard_joint` with p_both = q2 and p_one =
    2 (q − q2)) and lost = Σ (q − q2), the expected number of problems the second evaluation loses
    (equal to the number it gains).
    """
    q, q2 = as_float_array(q, "q"), as_float_array(q2, "q2")
    return {"jaccard": expected_jaccard_joint(q2, 2 * (q - q2)), "lost": float(np.sum(q - q2))}
