"""Analyses of real sample logs (a ``real.logs.table.CountsTable``): the questions users ask of checkpoints.

Every function takes a table of answer counts per (checkpoint c, problem p) and returns plain dicts of
NumPy arrays plus ``rows``: a tidy table as a list of flat dicts (one observation per row), which
``real.logs.report`` writes to Parquet/CSV. All quantities are probabilities or fractions (unitless) unless
stated; entropies are in nats.

Estimators
----------
* pass@k per cell: the unbiased estimator of Chen et al. 2021 (Codex paper, eq. 1),
  1 − C(n−c, k)/C(n, k) (``theory.passk.pass_at_k``).
* maj@k per cell: the exact unbiased estimator ``theory.voting.maj_at_k``, the mean plurality vote over
  all C(n, k) k-subsets of the n samples (multivariate hypergeometric law; a t-way tie at the top gives
  the correct answer credit 1/t; null answers form an abstention class that never wins). maj@1 = c/n
  and cells where the vote is decided (the correct answer wins or loses in every k-subset) or has no
  wrong answer (maj@k = pass@k) are taken in closed form; identical count vectors are evaluated once.
* SC gain at k per cell: maj@k − pass@1 with pass@1 = c/n (nulls count as wrong), i.e. the exact unbiased
  estimate of Wang et al. 2023's self-consistency gain (``theory.voting.sc_gain_from_counts``).
* Checkpoint values are means over problems; 95% intervals are percentile bootstrap intervals over
  problems (``common.bootstrap``): ``n_boot`` resamples of P problem indices drawn with replacement
  (one seeded set shared by every checkpoint, k and metric, so differences are paired), each
  resample's mean of the precomputed per-problem values (problems without a value, e.g. n < k, are
  left out of both the estimate and each resample's mean).

Budgets
-------
A cell with n samples enters an analysis at k only when n ≥ k. Where budgets differ between checkpoints
(or problems), checkpoints are compared at equal k: every metric is indexed by k, coverage uses one equal
k for all checkpoints, and each result carries a ``note`` saying which budgets were seen.

Answer classes (attribution of SC gain; m = parsed samples n − n_null, c0 = correct count, w1 = the
largest wrong-answer count, 0 if none):
* ``confidently_right``: 2·c0 > m — the correct answer holds a strict majority of the parsed answers, so
  it strictly leads every wrong answer and all of them together;
* ``consistent_wrong``: w1 ≥ max(c0, 1) — a wrong answer leads: strict plurality of a wrong answer, or a
  wrong answer ties the correct one at the top;
* ``scattered``: otherwise — no wrong answer leads (c0 > w1: the correct answer is the strict plurality)
  but it does not dominate (2·c0 ≤ m: the errors, spread over several answers, outnumber it); also cells
  with no parsed answer at all (m = 0, whose SC contribution is exactly 0).
The three are mutually exclusive (2·c0 > m implies c0 > m − c0 ≥ w1) and exhaustive.

Evaluation protocol (issue 14)
------------------------------
Users often report the SC gain as maj@K at a sampling temperature T minus GREEDY accuracy (T = 0) rather
than minus pass@1 at the same T. :func:`protocol_table` puts both side by side on records of several
temperatures: (maj@K(T) − greedy) − (maj@K(T) − pass@1(T)) = pass@1(T) − greedy, the "H0 share", so the
mixed definition's sign can come from the gap between sampled and greedy accuracy alone (greedy decoding
follows the token-level argmax path, which need not end in the mode of the answer distribution:
``theory.greedy_decoding``). Difficulty splits (:func:`split_masks`, :func:`split_metrics`,
:func:`splits_from_calibration`) report every number per split as well as overall.

Public functions: :func:`checkpoint_metrics`, :func:`attribution`, :func:`answer_diagnostics`,
:func:`negative_sc_checkpoints`, :func:`coverage`, :func:`cross_checkpoint_majority`, :func:`analyze`,
:func:`split_metrics`, :func:`splits_from_calibration`, :func:`protocol_table`, :func:`analyze_temperatures`.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from common.bootstrap import bootstrap_mean, bootstrap_weights
from real.logs.schema import temperature_label
from real.logs.table import CountsTable
from theory.coverage import cumulative_coverage, even_split, evenly_spaced, jaccard_matrix, nestedness, rotation, transitions
from theory.passk import greedy_budget_allocation, pass_at_k, union_pass_at_k
from theory.voting import maj_at_k

CLASS_NAMES = ("confidently_right", "consistent_wrong", "scattered")


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def _require_answers(table: CountsTable, what: str) -> None:
    if not table.has_answers:
        raise ValueError(
            f"{what}: needs per-answer counts, but this is a count-only table (answer_counts is None: only "
            "n_samples and n_correct are known); vote analyses (maj@k, SC gain, attribution, answer "
            "diagnostics, cross-checkpoint majority) are unavailable, pass@k and coverage still work")


def _check_k(k, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or int(k) < 1:
        raise ValueError(f"{name}: must be an integer >= 1, got {k!r}")
    return int(k)


def _evaluated_budgets(table: CountsTable) -> np.ndarray:
    n = table.n_samples[table.n_samples > 0]
    if n.size == 0:
        raise ValueError("table: no evaluated cell (every n_samples is 0)")
    return n


def _labels(seq) -> list[str]:
    return [str(x) for x in seq]


def default_ks(n_max: int) -> list[int]:
    """Default k grid: 1, 2, 4, ... up to ``n_max`` (the largest budget), plus ``n_max`` itself."""
    n_max = _check_k(n_max, "n_max")
    ks, k = [], 1
    while k <= n_max:
        ks.append(k)
        k *= 2
    if ks[-1] != n_max:
        ks.append(n_max)
    return ks


def resolve_ks(table: CountsTable, ks=None) -> list[int]:
    """Sorted distinct k values, each in [1, largest n of any cell]; default :func:`default_ks`."""
    n_max = int(_evaluated_budgets(table).max())
    if ks is None:
        return default_ks(n_max)
    out = sorted({_check_k(k, "ks") for k in ks})
    if not out:
        raise ValueError("ks: empty")
    too_big = [k for k in out if k > n_max]
    if too_big:
        raise ValueError(f"ks: {too_big} exceed the largest budget of any cell (n = {n_max}); no cell has that many samples")
    return out


def budget_note(table: CountsTable) -> dict:
    """Which budgets (samples per evaluated cell) the table holds, and the resulting comparison rule."""
    n = _evaluated_budgets(table)
    per_ck = np.array([int(row[row > 0].max()) if (row > 0).any() else 0 for row in table.n_samples])
    lo, hi = int(n.min()), int(n.max())
    if lo == hi:
        text = f"equal budgets: every evaluated cell has n = {lo} samples; all checkpoints are compared at the same k"
    else:
        text = (f"budgets differ (n from {lo} to {hi} samples per cell; largest per checkpoint from {int(per_ck[per_ck > 0].min())} "
                f"to {int(per_ck.max())}): each k uses only cells with n >= k, so checkpoints are compared at equal k "
                "(the n_problems column says how many problems entered each value)")
    return {"n_min": lo, "n_max": hi, "equal": lo == hi, "n_max_per_checkpoint": per_ck, "note": text}


def _scalar_ci(b: dict, idx=()) -> dict:
    return {key: float(b[key][idx]) for key in ("estimate", "low", "high")}


# ----------------------------------------------------------------------------------------------------
# per-cell estimators
# ----------------------------------------------------------------------------------------------------


def pass1(table: CountsTable) -> np.ndarray:
    """pass@1 = n_correct / n_samples per cell [C, P] (null answers count as wrong); NaN where n = 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(table.n_samples > 0, table.n_correct / np.maximum(table.n_samples, 1), np.nan)


def per_problem_pass_at_k(table: CountsTable, k: int) -> np.ndarray:
    """Unbiased pass@k (Chen et al. 2021) per cell [C, P]; NaN where n < k (too few samples)."""
    k = _check_k(k)
    n, c = table.n_samples, table.n_correct
    out = np.full(n.shape, np.nan)
    ok = n >= k
    if ok.any():
        out[ok] = pass_at_k(n[ok], c[ok], k)
    return out


MAJ_BLOCK_ROWS = 4096  # distinct count vectors per exact maj@k call (bounds its working memory)


def maj_at_k_rows(rows, k: int) -> np.ndarray:
    """Exact unbiased maj@k (``theory.voting.maj_at_k``) of count vectors [N, 1 + W + 1]:
    column 0 the correct answer, columns 1..W wrong answers (any order), the last column null answers
    (abstain). Every row needs n = row sum ≥ k.

    Exact shortcuts, each the value maj_at_k returns (tests check them against k-subset enumeration):
    k = 1 gives c0/n (one vote, correct with probability c0/n); with w1 the largest wrong count, every
    k-subset holds at least max(0, k − (n − c0)) correct samples and at most min(w1, k) of any one wrong
    answer, so the correct answer always wins (1) when the first exceeds the second, and always loses (0)
    when min(c0, k) < k − (n − w1) (the top wrong answer always has more votes), in particular when
    c0 = 0; rows without any wrong answer give pass@k (the correct answer wins iff it gets ≥ 1 vote). The
    remaining rows are deduplicated (wrong answers sorted) and evaluated in batched calls of at most
    ``MAJ_BLOCK_ROWS`` rows (memory stays bounded at 10^5+ cells)."""
    k = _check_k(k)
    rows = np.asarray(rows)
    if rows.ndim != 2 or rows.shape[1] < 2:
        raise ValueError(f"rows: expected [N, >= 2] count vectors (correct, wrong..., null), got shape {rows.shape}")
    rows = rows.astype(np.int64)
    n = rows.sum(1)
    if (n < k).any():
        bad = int(np.flatnonzero(n < k)[0])
        raise ValueError(f"k: maj@{k} needs n >= k samples, row {bad} has n = {int(n[bad])}")
    if k == 1:
        return rows[:, 0] / n
    c0, null = rows[:, 0], rows[:, -1]
    wrong = -np.sort(-rows[:, 1:-1], axis=1)  # largest first: equal cells dedupe, live classes come first
    w1 = wrong[:, 0] if wrong.shape[1] else np.zeros_like(c0)
    out = np.zeros(rows.shape[0])
    always_win = np.maximum(0, k - (n - c0)) > np.minimum(w1, k)
    always_lose = np.minimum(c0, k) < k - (n - w1)
    out[always_win] = 1.0
    only_c = (w1 == 0) & ~always_win & (c0 > 0)
    if only_c.any():
        out[only_c] = pass_at_k(n[only_c], c0[only_c], k)
    todo = ~always_win & ~always_lose & ~only_c & (c0 > 0)
    if todo.any():
        width = int((wrong[todo] > 0).sum(1).max())
        packed = np.concatenate([c0[todo, None], wrong[todo, :width], null[todo, None]], axis=1)
        uniq, inv = np.unique(packed, axis=0, return_inverse=True)
        # in blocks: maj_at_k's working memory grows with rows x answers x k (one call on 10^5+ rows needs GBs)
        vals = np.concatenate([maj_at_k(uniq[i:i + MAJ_BLOCK_ROWS], k, abstain=1 + width) for i in range(0, len(uniq), MAJ_BLOCK_ROWS)])
        out[np.flatnonzero(todo)] = vals[inv.reshape(-1)]
    return out


def per_problem_maj_at_k(table: CountsTable, k: int) -> np.ndarray:
    """Exact unbiased maj@k per cell [C, P] (null answers abstain); NaN where n < k."""
    _require_answers(table, f"maj@{k}")
    k = _check_k(k)
    vc, _ = table.vote_counts()
    out = np.full(table.n_samples.shape, np.nan)
    ok = table.n_samples >= k
    if ok.any():
        out[ok] = maj_at_k_rows(vc[ok], k)
    return out


# ----------------------------------------------------------------------------------------------------
# 1. per-checkpoint curves
# ----------------------------------------------------------------------------------------------------


def checkpoint_metrics(table: CountsTable, ks=None, *, n_boot: int = 1000, seed: int = 0, weights=None) -> dict:
    """Per checkpoint: pass@k curve, maj@k and SC gain = maj@k − pass@1, with 95% bootstrap intervals.

    Estimators and bootstrap as in the module docstring. At each k only cells with n ≥ k enter (SC gain
    uses the same cells for maj@k and pass@1). Count-only tables give pass@k only (``votes`` says why).

    Returns a dict:
      ks: list of k; pass_at_k, maj_at_k, sc_gain: {estimate, low, high, se} arrays [C, len(ks)];
      pass_at_1: {estimate, low, high, se} [C] over all evaluated cells; n_problems: int [C, len(ks)]
      (problems with n ≥ k); per_problem: {pass_at_k, maj_at_k, sc_gain} [C, P, len(ks)] (NaN = n < k);
      budget: :func:`budget_note`; note: str; votes: "available" or the reason they are not;
      rows: tidy list of {checkpoint, step, metric, k, estimate, low, high, n_problems}.
    """
    ks = resolve_ks(table, ks)
    P = len(table.problem_ids)
    W = bootstrap_weights(P, n_boot, seed) if weights is None else weights
    pk = np.stack([per_problem_pass_at_k(table, k) for k in ks], axis=-1)  # [C, P, nk]
    p1 = pass1(table)
    budget = budget_note(table)
    out = {"ks": ks, "pass_at_k": bootstrap_mean(np.moveaxis(pk, 1, -1), W), "pass_at_1": bootstrap_mean(p1, W),
           "n_problems": np.isfinite(pk).sum(axis=1), "per_problem": {"pass_at_k": pk}, "budget": budget,
           "note": budget["note"]}
    if table.has_answers:
        mk = np.stack([per_problem_maj_at_k(table, k) for k in ks], axis=-1)
        sc = mk - p1[..., None]
        out["maj_at_k"] = bootstrap_mean(np.moveaxis(mk, 1, -1), W)
        out["sc_gain"] = bootstrap_mean(np.moveaxis(sc, 1, -1), W)
        out["per_problem"].update(maj_at_k=mk, sc_gain=sc)
        out["votes"] = "available"
    else:
        out["votes"] = "unavailable: count-only table (no per-answer counts), so maj@k and SC gain are not computed"
    rows = []
    names = [m for m in ("pass_at_k", "maj_at_k", "sc_gain") if m in out]
    ck, st = _labels(table.checkpoints), table.steps
    for c in range(len(ck)):
        for j, k in enumerate(ks):
            for m in names:
                rows.append({"checkpoint": ck[c], "step": float(st[c]), "metric": m, "k": int(k),
                             "estimate": float(out[m]["estimate"][c, j]), "low": float(out[m]["low"][c, j]),
                             "high": float(out[m]["high"][c, j]), "n_problems": int(out["n_problems"][c, j])})
    out["rows"] = rows
    return out


# ----------------------------------------------------------------------------------------------------
# 2. attribution of SC gain
# ----------------------------------------------------------------------------------------------------


def answer_classes(table: CountsTable) -> np.ndarray:
    """Answer class per cell [C, P]: 0 confidently_right, 1 consistent_wrong, 2 scattered (module
    docstring), −1 for cells that were not evaluated (n = 0)."""
    _require_answers(table, "answer_classes")
    ac = table.answer_counts
    c0 = ac[..., 0]
    w1 = ac[..., 1:].max(axis=-1) if ac.shape[-1] > 1 else np.zeros_like(c0)
    m = table.n_samples - table.n_null
    cls = np.where(2 * c0 > m, 0, np.where(w1 >= np.maximum(c0, 1), 1, 2))
    return np.where(table.n_samples > 0, cls, -1)


def attribution(table: CountsTable, K: int, *, sc_per_problem=None) -> dict:
    """Each problem's contribution to checkpoint c's SC gain at K, summed by answer class.

    contribution[c, p] = (maj@K − pass@1)[c, p] / P_K(c), with P_K(c) the number of problems with n ≥ K
    at checkpoint c, so Σ_p contribution[c, p] is the checkpoint's SC gain estimate at K and the class
    sums add up to it (up to floating-point rounding). Classes: :func:`answer_classes`.

    Args: sc_per_problem: optional precomputed SC gain at K [C, P] (NaN = n < K), e.g. from
      :func:`checkpoint_metrics`; computed with :func:`per_problem_maj_at_k` otherwise.
    Returns {K, contribution [C, P] (NaN = n < K), classes [C, P], by_class {name: [C]},
      n_by_class {name: [C]}, total [C] (NaN where no problem has n ≥ K), rows (checkpoint, step, K,
      class, n_problems, contribution, share_of_abs)}.
    """
    _require_answers(table, "attribution")
    K = _check_k(K, "K")
    if sc_per_problem is None:
        sc = per_problem_maj_at_k(table, K) - pass1(table)
    else:
        sc = np.asarray(sc_per_problem, np.float64)
        if sc.shape != table.shape:
            raise ValueError(f"sc_per_problem: expected shape {table.shape}, got {sc.shape}")
    valid = np.isfinite(sc)
    if not valid.any():
        raise ValueError(f"K: no cell has n >= {K} samples (largest n = {int(table.n_samples.max())})")
    n_valid = valid.sum(axis=1)
    contrib = np.where(valid, sc, np.nan) / np.maximum(n_valid, 1)[:, None]
    cls = answer_classes(table)
    total = np.where(n_valid > 0, np.where(valid, contrib, 0.0).sum(axis=1), np.nan)
    out = {"K": K, "contribution": contrib, "classes": cls, "by_class": {}, "n_by_class": {}, "total": total}
    for i, name in enumerate(CLASS_NAMES):
        m = valid & (cls == i)
        out["by_class"][name] = np.where(m, contrib, 0.0).sum(axis=1)
        out["n_by_class"][name] = m.sum(axis=1)
    rows = []
    ck = _labels(table.checkpoints)
    for c in range(len(ck)):
        if n_valid[c] == 0:
            continue
        for name in CLASS_NAMES:
            rows.append({"checkpoint": ck[c], "step": float(table.steps[c]), "K": K, "class": name,
                         "n_problems": int(out["n_by_class"][name][c]), "contribution": float(out["by_class"][name][c]),
                         "total_sc_gain": float(total[c])})
    out["rows"] = rows
    return out


# ----------------------------------------------------------------------------------------------------
# 3. answer diagnostics and negative-SC checkpoints
# ----------------------------------------------------------------------------------------------------


def answer_diagnostics(table: CountsTable) -> dict:
    """Per cell [C, P] (NaN / 0 where not evaluated):

    entropy: plug-in (maximum-likelihood) entropy in nats of the empirical answer distribution over the
      n samples, each distinct parsed answer one class and the null answers one more class (biased low by
      about (classes − 1)/(2n));
    top1_share: largest parsed-answer count / n;
    wrong_collision: unbiased estimate Σ_j c_j(c_j − 1) / (W(W − 1)) of Σ_j q_j², q the distribution of
      the parsed wrong answers (conditional on a wrong, parsed answer), from the W ≥ 2 wrong samples with
      counts c_j (NaN where W < 2). 1 = every error is the same answer; the plug-in Σ (c_j/W)² is biased up;
    n_wrong: W, parsed wrong samples;
    leader: +1 where the correct answer is the strict top parsed answer, −1 where a wrong answer is, 0 for
      a tie at the top or no parsed answer.
    """
    _require_answers(table, "answer_diagnostics")
    vc, _ = table.vote_counts()
    vc = vc.astype(np.float64)
    n = table.n_samples.astype(np.float64)
    ev = n > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        q = vc / n[..., None]
        ent = -np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0).sum(-1)
        parsed = vc[..., :-1]
        top = parsed.max(-1) / n
        wrong = parsed[..., 1:]
        Wn = wrong.sum(-1)
        coll = np.where(Wn >= 2, (wrong * (wrong - 1)).sum(-1) / (Wn * (Wn - 1)), np.nan)
    c0 = parsed[..., 0]
    w1 = wrong.max(-1) if wrong.shape[-1] else np.zeros_like(c0)
    leader = np.where(c0 > w1, 1, np.where(w1 > c0, -1, 0))
    return {"entropy": np.where(ev, ent, np.nan), "top1_share": np.where(ev, top, np.nan),
            "wrong_collision": np.where(ev, coll, np.nan), "n_wrong": Wn.astype(np.int64),
            "leader": np.where(ev, leader, 0).astype(np.int64)}


def _nanmean_rows(x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=-1)


def negative_sc_checkpoints(table: CountsTable, K: int, metrics: dict, attr: dict | None = None) -> dict:
    """Checkpoints whose SC gain at K is < 0, with diagnostics, and the same diagnostics for every checkpoint.

    Per checkpoint (means over evaluated problems): pass@1, SC gain at K with its 95% bootstrap interval
    (``metrics`` from :func:`checkpoint_metrics` with K in its ks), mean answer entropy, mean top-1 share,
    mean wrong-answer collision probability (unbiased, problems with ≥ 2 wrong samples; see
    :func:`answer_diagnostics`), the attribution class sums (``attr`` from :func:`attribution` at K), and
    since the previous checkpoint: paired deltas over the problems evaluated at both (pass@1, entropy;
    SC gain over problems with n ≥ K at both) and the number of problems whose leading answer flipped
    correct → wrong and wrong → correct (leader = strict top parsed answer; ties lead nowhere).

    Returns {K, flagged: list of dicts (one per checkpoint with SC gain < 0, the row below plus
    ``attribution`` and ``n_by_class`` dicts), rows: per-checkpoint tidy rows (``negative`` marks flagged
    ones; ``ci_excludes_zero``: the 95% interval excludes 0, i.e. for a flagged checkpoint it lies
    entirely below 0), note}.
    """
    _require_answers(table, "negative_sc_checkpoints")
    K = _check_k(K, "K")
    ks = metrics["ks"]
    if "sc_gain" not in metrics:
        raise ValueError("metrics: has no sc_gain (computed on a count-only table?)")
    if K not in ks:
        raise ValueError(f"K: {K} is not among the ks of metrics {ks}; run checkpoint_metrics with K in ks")
    j = ks.index(K)
    if attr is None:
        attr = attribution(table, K, sc_per_problem=metrics["per_problem"]["sc_gain"][..., j])
    elif attr["K"] != K:
        raise ValueError(f"attr: computed at K = {attr['K']}, expected K = {K}")
    diag = answer_diagnostics(table)
    p1 = pass1(table)
    scp = metrics["per_problem"]["sc_gain"][..., j]
    sc = metrics["sc_gain"]
    ev = table.n_samples > 0
    ent_m, top_m, coll_m = (_nanmean_rows(diag[x]) for x in ("entropy", "top1_share", "wrong_collision"))
    n_coll = np.isfinite(diag["wrong_collision"]).sum(1)
    C = len(table.checkpoints)
    ck = _labels(table.checkpoints)
    rows, flagged = [], []
    for c in range(C):
        est = float(sc["estimate"][c, j])
        row = {"checkpoint": ck[c], "step": float(table.steps[c]), "K": K, "n_problems_K": int(np.isfinite(scp[c]).sum()),
               "pass_at_1": float(_nanmean_rows(p1[c])), "sc_gain": est, "sc_low": float(sc["low"][c, j]),
               "sc_high": float(sc["high"][c, j]), "negative": bool(np.isfinite(est) and est < 0),
               "ci_excludes_zero": bool(sc["high"][c, j] < 0 or sc["low"][c, j] > 0),
               "entropy": float(ent_m[c]), "top1_share": float(top_m[c]), "wrong_collision": float(coll_m[c]),
               "n_problems_collision": int(n_coll[c]),
               "leader_correct": int((ev[c] & (diag["leader"][c] == 1)).sum()),
               "leader_wrong": int((ev[c] & (diag["leader"][c] == -1)).sum()),
               "leader_none": int((ev[c] & (diag["leader"][c] == 0)).sum())}
        for name in CLASS_NAMES:
            row[f"attr_{name}"] = float(attr["by_class"][name][c])
            row[f"n_{name}"] = int(attr["n_by_class"][name][c])
        prev = {"previous": None, "d_pass_at_1": np.nan, "d_sc_gain": np.nan, "d_entropy": np.nan,
                "flips_correct_to_wrong": 0, "flips_wrong_to_correct": 0, "n_problems_both": 0}
        if c > 0:
            both = ev[c] & ev[c - 1]
            bothK = np.isfinite(scp[c]) & np.isfinite(scp[c - 1])
            prev["previous"] = ck[c - 1]
            prev["n_problems_both"] = int(both.sum())
            if both.any():
                prev["d_pass_at_1"] = float(np.mean(p1[c][both] - p1[c - 1][both]))
                prev["d_entropy"] = float(np.mean(diag["entropy"][c][both] - diag["entropy"][c - 1][both]))
            if bothK.any():
                prev["d_sc_gain"] = float(np.mean(scp[c][bothK]) - np.mean(scp[c - 1][bothK]))
            lp, lc = diag["leader"][c - 1], diag["leader"][c]
            prev["flips_correct_to_wrong"] = int((both & (lp == 1) & (lc == -1)).sum())
            prev["flips_wrong_to_correct"] = int((both & (lp == -1) & (lc == 1)).sum())
        row.update(prev)
        rows.append(row)
        if row["negative"]:
            d = dict(row)
            d["attribution"] = {name: row[f"attr_{name}"] for name in CLASS_NAMES}
            d["n_by_class"] = {name: row[f"n_{name}"] for name in CLASS_NAMES}
            flagged.append(d)
    note = (f"SC gain at K = {K} (maj@{K} - pass@1, exact unbiased, cells with n >= {K}); flagged when the estimate is < 0, "
            "ci_excludes_zero when the 95% bootstrap interval lies entirely below 0. Entropy: plug-in, nats, null answers "
            "one class; wrong_collision: unbiased c(c-1)/(W(W-1)) form over parsed wrong answers (problems with W >= 2).")
    return {"K": K, "flagged": flagged, "rows": rows, "note": note}


def negative_sc_problems(table: CountsTable, attr: dict, checkpoints) -> list[dict]:
    """Per-problem detail at the given checkpoint indices: class, SC contribution at K, counts of the correct
    and the top wrong answer (with its label when the table has them), null count. Sorted by contribution."""
    _require_answers(table, "negative_sc_problems")
    ac = table.answer_counts
    rows = []
    for c in checkpoints:
        for p in np.flatnonzero(np.isfinite(attr["contribution"][c])):
            w1 = int(ac[c, p, 1:].max()) if ac.shape[-1] > 1 else 0
            lab = None
            if w1 > 0 and table.wrong_answers is not None:
                lab = table.wrong_answers[c, p, int(np.argmax(ac[c, p, 1:]))]
            rows.append({"checkpoint": str(table.checkpoints[c]), "problem_id": str(table.problem_ids[p]),
                         "class": CLASS_NAMES[int(attr["classes"][c, p])], "contribution": float(attr["contribution"][c, p]),
                         "n_samples": int(table.n_samples[c, p]), "n_correct": int(ac[c, p, 0]), "top_wrong_count": w1,
                         "top_wrong_answer": None if lab is None else str(lab), "n_null": int(table.n_null[c, p])})
    rows.sort(key=lambda r: (r["checkpoint"], r["contribution"]))
    return rows


# ----------------------------------------------------------------------------------------------------
# 4. coverage
# ----------------------------------------------------------------------------------------------------


def coverage(table: CountsTable, *, k: int | None = None, K: int | None = None, ks=None, windows=(3, 5),
             n_boot: int = 1000, seed: int = 0, weights=None) -> dict:
    """Coverage across checkpoints at an equal budget (count-only tables work too).

    Problems: those evaluated at every checkpoint with n ≥ k there (``problems``). ``k`` defaults to the
    smallest budget among those cells (the largest equal k), ``K`` (the matched total budget of union
    pass@K) to the same value, since the single checkpoint's pass@K needs K ≤ n.

    Solved sets, two definitions:
      soft: s[c, p] = pass@k estimate (Chen et al. 2021), the probability that k samples include a
        correct one — budgets are comparable because every checkpoint uses the same k;
      binary: "any of k samples correct" — exactly n_correct ≥ 1 where the cell has n = k samples; where
        n > k, on a seeded random k-subset of the cell's samples (hypergeometric draw), so its expectation
        is the soft value.
    Jaccard J(a, b) = Σ_p s_a s_b / Σ_p (s_a + s_b − s_a s_b): for binary sets the usual |A∩B|/|A∪B|; for
    soft ones the ratio of the expected intersection to the expected union of two independent k-sample
    evaluations (not the expectation of the ratio). The soft diagonal is < 1 where solving is uncertain:
    it is the Jaccard of two independent evaluations of one checkpoint, the noise floor for the rest.
    rotation = 1 − mean consecutive Jaccard. Retention_t = Σ s_t s_t+1 / Σ s_t (fraction of the solved
    set still solved), acquisition_t = Σ (1 − s_t) s_t+1 / P, loss_t = Σ s_t (1 − s_t+1) / P; cumulative
    (binary) = fraction solved by some checkpoint up to t.
    Unsolvable sets: full_budget: n_correct = 0 (pass@k estimate 0 for every k ≤ n; budgets may differ),
      equal_k: the complement of the binary solved set at k; nested when each is a subset of the one before.
    Union vs single at matched total budget K: single[c] = mean pass@K of checkpoint c; union of s
      evenly spaced checkpoints (first and last included; s = 2, 4, 8, ... and all C when C ≤ K) and of the
      last w checkpoints (``windows``), K split evenly (remainder one each to the earliest) and evaluated
      exactly with ``theory.passk.union_pass_at_k``; plus ``theory.passk.greedy_budget_allocation`` over all
      checkpoints (a heuristic that picks the allocation on the same data, so optimistic, like the
      in-sample choice of the best single checkpoint). excess = union − best single, with a paired 95%
      bootstrap interval (best checkpoint held fixed). ``curve``: the same at every K in ``ks`` with
      2 ≤ K' ≤ K (union of min(C, K') evenly spaced checkpoints).

    The set statistics are ``theory.coverage`` (jaccard_matrix, rotation, transitions, cumulative_coverage,
    nestedness, even_split, evenly_spaced).

    Returns a dict (binary definition under the plain names, soft under ``*_soft``): k, K, problems
    (indices into the table's problems), n_problems; solved bool [C, P'] and solved_soft [C, P'];
    solved_fraction / solved_fraction_soft (lists [C]); jaccard / jaccard_soft [C, C]; rotation /
    rotation_soft (floats); retention, acquisition, loss and their *_soft [C−1]; cumulative_binary [C];
    unsolvable {"full_budget", "equal_k" (also under the integer key k): {size, fraction, violations
    [C−1] (problems unsolvable again), nested_consecutive [C−1], nested, always, ever}};
    single_pass_at_K [C]; best_single {checkpoint, index, pass_at_K}; unions (list of dicts); greedy;
    curve {K, best_single, best_checkpoint, union_even, n_union, union_greedy}; note; and the tidy
    tables rows (per checkpoint), jaccard_rows, union_rows, curve_rows.
    """
    C, P = table.shape
    W = bootstrap_weights(P, n_boot, seed) if weights is None else weights
    ev_all = (table.n_samples > 0).all(axis=0)
    if not ev_all.any():
        raise ValueError("coverage: no problem is evaluated at every checkpoint; select a sub-table with CountsTable.select")
    n_common = int(table.n_samples[:, ev_all].min())
    k = n_common if k is None else _check_k(k)
    K = k if K is None else _check_k(K, "K")
    keep = ev_all & (table.n_samples >= max(k, K)).all(axis=0)
    if not keep.any():
        raise ValueError(f"k, K: no problem has n >= {max(k, K)} at every checkpoint (largest equal budget: {n_common})")
    probs = np.flatnonzero(keep)
    n, c = table.n_samples[:, keep], table.n_correct[:, keep]  # [C, P']
    Pk = len(probs)
    soft = pass_at_k(n, c, k)
    rng = np.random.default_rng(seed)
    x = np.where(n == k, c, rng.hypergeometric(c, n - c, np.full(n.shape, k)))  # correct among a random k-subset
    binary = x >= 1
    sets = {"soft": soft, "binary": binary}
    jac = {name: jaccard_matrix(S) for name, S in sets.items()}
    trans = {name: transitions(S) for name, S in sets.items()}
    rot = {name: rotation(S) for name, S in sets.items()}
    cumulative = cumulative_coverage(binary)
    unsolv = {"full_budget": nestedness(c == 0), "equal_k": nestedness(~binary)}

    # union vs single at matched total budget
    nT, cT = n.T, c.T  # [P', C]

    def single_vals(KK):
        return pass_at_k(nT, cT, KK)  # [P', C]

    sv = single_vals(K)
    single = sv.mean(0)
    best = int(np.argmax(single))
    ck = _labels(table.checkpoints)
    unions = []

    def add_union(kind, idx):
        kvec = even_split(K, idx, C)
        u = union_pass_at_k(nT, cT, kvec)
        b = bootstrap_mean(_spread(u - sv[:, best], probs, P), W)
        unions.append({"kind": kind, "n_checkpoints": int(len(idx)), "checkpoints": [ck[i] for i in idx],
                       "per_checkpoint_k": kvec[idx].tolist(), "K": K, "pass_at_K": float(u.mean()),
                       "best_single": float(single[best]), "excess": float(b["estimate"]), "excess_low": float(b["low"]),
                       "excess_high": float(b["high"])})

    s = 2
    while s <= min(C, K):
        add_union("evenly_spaced", evenly_spaced(C, s))
        s *= 2
    if 2 < C <= K and (C & (C - 1)):
        add_union("evenly_spaced", np.arange(C))
    for w in windows:
        if 2 <= w <= min(C, K):
            add_union(f"last_{w}", np.arange(C - w, C))
    greedy = None
    if C > 1:
        g = greedy_budget_allocation(nT, cT, K)
        greedy = {"kind": "greedy", "allocation": g.allocation, "pass_at_K": float(g.value), "K": K,
                  "excess": float(g.value - single[best]),
                  "checkpoints": [ck[i] for i in np.flatnonzero(g.allocation)],
                  "per_checkpoint_k": g.allocation[g.allocation > 0].tolist()}
    curve = {"K": [], "best_single": [], "best_checkpoint": [], "union_even": [], "n_union": [], "union_greedy": []}
    for KK in sorted({kk for kk in resolve_ks(table, ks) if 2 <= kk <= K} | ({K} if K >= 2 else set())):
        svK = single_vals(KK).mean(0)
        idx = evenly_spaced(C, min(C, KK))
        curve["K"].append(KK)
        curve["best_single"].append(float(svK.max()))
        curve["best_checkpoint"].append(ck[int(np.argmax(svK))])
        curve["union_even"].append(float(union_pass_at_k(nT, cT, even_split(KK, idx, C)).mean()))
        curve["n_union"].append(int(len(idx)))
        curve["union_greedy"].append(float(greedy_budget_allocation(nT, cT, KK).value) if C > 1 else float(svK.max()))

    budget = budget_note(table)
    note = (f"equal budget: solved sets at k = {k} for every checkpoint, on the {Pk} of {P} problems evaluated at every "
            f"checkpoint with n >= {max(k, K)}; union vs best single at the same total K = {K} samples"
            + ("" if budget["equal"] else " (budgets differ between cells; these problems are compared at equal k)"))
    out = {"k": k, "K": K, "problems": probs, "n_problems": Pk,
           "solved": binary, "solved_soft": soft,
           "solved_fraction": binary.mean(1).tolist(), "solved_fraction_soft": soft.mean(1).tolist(),
           "jaccard": jac["binary"], "jaccard_soft": jac["soft"], "rotation": rot["binary"], "rotation_soft": rot["soft"],
           **trans["binary"], **{f"{q}_soft": v for q, v in trans["soft"].items()},
           "cumulative_binary": cumulative, "unsolvable": {**unsolv, k: unsolv["equal_k"]}, "single_pass_at_K": single,
           "best_single": {"checkpoint": ck[best], "index": best, "pass_at_K": float(single[best])},
           "unions": unions, "greedy": greedy, "curve": curve, "note": note}
    rows = []
    for t in range(C):
        r = {"checkpoint": ck[t], "step": float(table.steps[t]), "k": k, "K": K, "n_problems": Pk,
             "solved_soft": float(soft[t].mean()), "solved_binary": float(binary[t].mean()),
             "cumulative_binary": float(cumulative[t]), "single_pass_at_K": float(single[t]),
             "unsolvable_full_budget": int(unsolv["full_budget"]["size"][t]),
             "unsolvable_equal_k": int(unsolv["equal_k"]["size"][t])}
        for name in ("soft", "binary"):
            for q in ("retention", "acquisition", "loss"):
                r[f"{q}_{name}"] = float(trans[name][q][t - 1]) if t > 0 else float("nan")
            r[f"jaccard_prev_{name}"] = float(jac[name][t, t - 1]) if t > 0 else float("nan")
        r["new_unsolvable_full_budget"] = int(unsolv["full_budget"]["violations"][t - 1]) if t > 0 else 0
        r["new_unsolvable_equal_k"] = int(unsolv["equal_k"]["violations"][t - 1]) if t > 0 else 0
        rows.append(r)
    out["rows"] = rows
    ii, jj = np.meshgrid(np.arange(C), np.arange(C), indexing="ij")
    out["jaccard_rows"] = [{"checkpoint_a": ck[a], "checkpoint_b": ck[b], "jaccard_binary": float(jac["binary"][a, b]),
                            "jaccard_soft": float(jac["soft"][a, b])} for a, b in zip(ii.ravel(), jj.ravel())]
    urows = [{"kind": "best_single", "n_checkpoints": 1, "checkpoints": ck[best], "per_checkpoint_k": str(K), "K": K,
              "pass_at_K": float(single[best]), "excess": 0.0, "excess_low": 0.0, "excess_high": 0.0}]
    for u in unions:
        urows.append({**u, "checkpoints": " ".join(u["checkpoints"]), "per_checkpoint_k": " ".join(map(str, u["per_checkpoint_k"]))})
    if greedy is not None:
        urows.append({"kind": "greedy", "n_checkpoints": int((greedy["allocation"] > 0).sum()),
                      "checkpoints": " ".join(greedy["checkpoints"]), "per_checkpoint_k": " ".join(map(str, greedy["per_checkpoint_k"])),
                      "K": K, "pass_at_K": greedy["pass_at_K"], "excess": greedy["excess"],
                      "excess_low": float("nan"), "excess_high": float("nan")})
    out["union_rows"] = [{key: r.get(key) for key in ("kind", "n_checkpoints", "checkpoints", "per_checkpoint_k", "K", "pass_at_K",
                                                      "excess", "excess_low", "excess_high")} for r in urows]
    out["curve_rows"] = [dict(zip(curve.keys(), vals)) for vals in zip(*curve.values())]
    return out


def _spread(vals: np.ndarray, probs: np.ndarray, P: int) -> np.ndarray:
    """Per-problem values on a subset of problems -> a length-P array (NaN elsewhere) for the bootstrap."""
    out = np.full(P, np.nan)
    out[probs] = vals
    return out


# ----------------------------------------------------------------------------------------------------
# cross-checkpoint majority
# ----------------------------------------------------------------------------------------------------


def pooled_counts(table: CountsTable, checkpoints) -> np.ndarray:
    """Answer counts pooled over the given checkpoint indices, matched by answer string: [P, 1 + W + 1]
    (correct, wrong answers largest first, null). Needs ``table.wrong_answers`` (labels)."""
    _require_answers(table, "pooled_counts")
    if table.wrong_answers is None:
        raise ValueError("pooled_counts: the table has no wrong_answers labels, so answers cannot be matched across checkpoints")
    ci = np.asarray(list(checkpoints), np.int64)
    ac = table.answer_counts[ci]  # [w, P, A]
    lab = table.wrong_answers[ci]  # [w, P, A-1]
    cnt = ac[..., 1:]
    missing = (cnt > 0) & np.vectorize(lambda x: x is None, otypes=[bool])(lab)
    if missing.any():
        c_, p_, _ = np.argwhere(missing)[0]
        raise ValueError(f"wrong_answers: a wrong answer with samples has no label (checkpoint {table.checkpoints[ci[c_]]!r}, "
                         f"problem {table.problem_ids[p_]!r}); cannot pool answers across checkpoints")
    P = table.shape[1]
    pidx = np.broadcast_to(np.arange(P)[None, :, None], cnt.shape)
    m = cnt > 0
    labels = lab[m].astype(str)
    if labels.size:
        _, code = np.unique(labels, return_inverse=True)
        key = pidx[m].astype(np.int64) * (int(code.max()) + 1) + code.reshape(-1)
        ukey, inv = np.unique(key, return_inverse=True)
        sums = np.bincount(inv.reshape(-1), weights=cnt[m]).astype(np.int64)
        prob_of = ukey // (int(code.max()) + 1)
        order = np.lexsort((-sums, prob_of))
        prob_sorted, sums_sorted = prob_of[order], sums[order]
        start = np.searchsorted(prob_sorted, np.arange(P))
        rank = np.arange(len(order)) - start[prob_sorted]
        width = int(rank.max()) + 1
        wrong = np.zeros((P, width), np.int64)
        wrong[prob_sorted, rank] = sums_sorted
    else:
        wrong = np.zeros((P, 1), np.int64)
    return np.concatenate([ac[..., 0].sum(0)[:, None], wrong, table.n_null[ci].sum(0)[:, None]], axis=1)


def cross_checkpoint_majority(table: CountsTable, K: int, windows=(3, 5), *, maj_K=None, n_boot: int = 1000,
                              seed: int = 0, weights=None) -> dict:
    """Majority vote with K votes from the answers of the last w checkpoints pooled, vs single-checkpoint SC.

    For each window w: pool the samples of the last w checkpoints (answer strings matched through the
    table's wrong_answers labels; the correct answer is slot 0 everywhere; nulls pooled as abstentions)
    and take the exact unbiased maj@K of the pool (``theory.voting.maj_at_k``: K votes drawn without
    replacement from the pooled samples). Compared on the problems with n ≥ K at every window checkpoint
    with maj@K of the last checkpoint alone and of the best window checkpoint (chosen on the same data),
    with paired 95% bootstrap intervals of pooled − last. ``maj_K``: optional precomputed per-cell maj@K
    [C, P]. Without labels (or on a count-only table) returns {"available": False, "reason": ...}.
    """
    K = _check_k(K, "K")
    if not table.has_answers:
        return {"available": False, "reason": "count-only table: no per-answer counts to vote with"}
    if table.wrong_answers is None:
        return {"available": False, "reason": "the table has no wrong_answers labels, so answers cannot be matched across checkpoints"}
    C, P = table.shape
    W = bootstrap_weights(P, n_boot, seed) if weights is None else weights
    if maj_K is None:
        maj_K = per_problem_maj_at_k(table, K)
    p1 = pass1(table)
    ck = _labels(table.checkpoints)
    res, rows = {}, []
    todo = []
    for w in windows:
        w = _check_k(w, "windows")
        if w < 2 or w > C:
            continue
        ci = np.arange(C - w, C)
        ok = (table.n_samples[ci] >= K).all(axis=0)
        if not ok.any():
            continue
        try:
            todo.append((w, ci, ok, pooled_counts(table, ci)))
        except ValueError as e:
            return {"available": False, "reason": str(e)}
    # one batched maj@K call for all windows (one compiled program where the shapes allow)
    width = max([pool.shape[1] for *_, pool in todo], default=2)
    stacked = [np.concatenate([pool[ok, :-1], np.zeros((int(ok.sum()), width - pool.shape[1]), np.int64), pool[ok, -1:]], axis=1)
               for _, _, ok, pool in todo]
    maj_all = maj_at_k_rows(np.concatenate(stacked), K) if todo else np.zeros(0)
    offsets = np.cumsum([0] + [len(x) for x in stacked])
    for i, (w, ci, ok, pool) in enumerate(todo):
        pooled = _spread(maj_all[offsets[i]:offsets[i + 1]], np.flatnonzero(ok), P)
        single = np.where(ok[None, :], maj_K[ci], np.nan)  # [w, P]
        mean_single = _nanmean_rows(single)
        bi = int(np.argmax(mean_single))
        pool_p1 = _spread(pool[ok, 0] / pool[ok].sum(1), np.flatnonzero(ok), P)
        b_pool = bootstrap_mean(pooled, W)
        b_last = bootstrap_mean(single[-1], W)
        b_diff = bootstrap_mean(pooled - single[-1], W)
        b_diff_best = bootstrap_mean(pooled - single[bi], W)
        last_p1 = np.where(ok, p1[-1], np.nan)
        d = {"window": [ck[i] for i in ci], "K": K, "n_problems": int(ok.sum()),
             "pooled_maj_at_K": _scalar_ci(b_pool), "pooled_pass_at_1": float(np.nanmean(pool_p1)),
             "last_checkpoint": ck[-1], "last_maj_at_K": _scalar_ci(b_last),
             "last_sc_gain": float(np.nanmean(single[-1] - last_p1)),
             "best_in_window": ck[ci[bi]], "best_maj_at_K": float(mean_single[bi]),
             "pooled_minus_last": _scalar_ci(b_diff), "pooled_minus_best": _scalar_ci(b_diff_best)}
        res[w] = d
        rows.append({"window": w, "checkpoints": " ".join(d["window"]), "K": K, "n_problems": d["n_problems"],
                     "pooled_maj_at_K": d["pooled_maj_at_K"]["estimate"], "pooled_low": d["pooled_maj_at_K"]["low"],
                     "pooled_high": d["pooled_maj_at_K"]["high"], "pooled_pass_at_1": d["pooled_pass_at_1"],
                     "last_checkpoint": ck[-1], "last_maj_at_K": d["last_maj_at_K"]["estimate"],
                     "last_sc_gain": d["last_sc_gain"], "best_in_window": d["best_in_window"],
                     "best_maj_at_K": d["best_maj_at_K"], "pooled_minus_last": d["pooled_minus_last"]["estimate"],
                     "pooled_minus_last_low": d["pooled_minus_last"]["low"],
                     "pooled_minus_last_high": d["pooled_minus_last"]["high"],
                     "pooled_minus_best": d["pooled_minus_best"]["estimate"]})
    if not res:
        return {"available": False, "reason": f"no window in {tuple(windows)} fits {C} checkpoint(s) with n >= {K} samples"}
    return {"available": True, "K": K, "windows": res, "rows": rows,
            "note": f"pooled answers of the last w checkpoints, exact maj@{K} of the pool vs maj@{K} of single checkpoints, "
                    f"problems with n >= {K} at every window checkpoint"}


# ----------------------------------------------------------------------------------------------------
# 5. everything
# ----------------------------------------------------------------------------------------------------


def analyze(table: CountsTable, *, ks=None, K: int | None = None, n_boot: int = 1000, seed: int = 0, splits: dict | None = None) -> dict:
    """Run every analysis on one table with one shared, seeded bootstrap.

    ks: k grid (default :func:`default_ks` of the largest budget). K: votes for SC gain / attribution /
    negative-SC flags and the cross-checkpoint majority, and the matched total budget of union pass@K
    (capped by the coverage budget); default the largest k in ks that every evaluated cell reaches.

    Returns {checkpoints, steps, problem_ids, n_problems, has_answers, has_labels, ks, K, budget, notes
    (list of str), metrics (:func:`checkpoint_metrics`), attribution, negative_sc, cross_checkpoint_majority
    (vote analyses: dicts, or {"available": False, "reason"} for count-only tables), coverage
    (:func:`coverage`, or {"available": False, "reason"}), tables {name: tidy rows}, timings_s {name: seconds}}.

    splits: optional {problem_id: split name} (difficulty splits, e.g. :func:`splits_from_calibration`): adds
    ``splits`` (:func:`split_metrics`, paired with the overall numbers) and the tables ``split_metrics`` and
    ``split_coverage``; without it the result is unchanged.
    """
    timings = {}
    t0 = time.perf_counter()
    ks = resolve_ks(table, ks)
    budget = budget_note(table)
    if K is None:
        K = max([k for k in ks if k <= budget["n_min"]] or [budget["n_min"]])
    K = _check_k(K, "K")
    if K > budget["n_max"]:
        raise ValueError(f"K: {K} exceeds the largest budget of any cell (n = {budget['n_max']})")
    ks = sorted(set(ks) | {K})
    P = len(table.problem_ids)
    W = bootstrap_weights(P, n_boot, seed)
    notes = [budget["note"]]
    if K > budget["n_min"]:
        notes.append(f"K = {K} exceeds the smallest budget ({budget['n_min']}): cells with n < {K} are left out of SC gain at K")
    timings["setup"] = time.perf_counter() - t0

    t = time.perf_counter()
    metrics = checkpoint_metrics(table, ks, weights=W)
    timings["checkpoint_metrics"] = time.perf_counter() - t
    j = ks.index(K)
    res = {"checkpoints": list(table.checkpoints), "steps": table.steps.tolist(), "problem_ids": list(table.problem_ids),
           "n_problems": P, "has_answers": table.has_answers,
           "has_labels": table.has_answers and table.wrong_answers is not None, "ks": ks, "K": K, "budget": budget,
           "n_boot": n_boot, "seed": seed, "metrics": metrics}
    tables = {"metrics": metrics["rows"]}
    if table.has_answers:
        t = time.perf_counter()
        attr = attribution(table, K, sc_per_problem=metrics["per_problem"]["sc_gain"][..., j])
        timings["attribution"] = time.perf_counter() - t
        t = time.perf_counter()
        neg = negative_sc_checkpoints(table, K, metrics, attr)
        flagged_idx = [i for i, r in enumerate(neg["rows"]) if r["negative"]]
        tables["negative_sc_problems"] = negative_sc_problems(table, attr, flagged_idx)
        timings["negative_sc"] = time.perf_counter() - t
        t = time.perf_counter()
        cross = cross_checkpoint_majority(table, K, maj_K=metrics["per_problem"]["maj_at_k"][..., j], weights=W, seed=seed)
        timings["cross_checkpoint_majority"] = time.perf_counter() - t
        res.update(attribution=attr, negative_sc=neg, cross_checkpoint_majority=cross)
        tables.update(attribution=attr["rows"], checkpoint_diagnostics=neg["rows"])
        if cross.get("available"):
            tables["cross_checkpoint_majority"] = cross["rows"]
        else:
            notes.append(f"cross-checkpoint majority unavailable: {cross['reason']}")
    else:
        reason = "count-only table: no per-answer counts (vote analyses need them)"
        for name in ("attribution", "negative_sc", "cross_checkpoint_majority"):
            res[name] = {"available": False, "reason": reason}
        notes.append(f"vote analyses (maj@k, SC gain, attribution, negative-SC diagnostics, cross-checkpoint majority) unavailable: {reason}")
    t = time.perf_counter()
    try:
        ev_all = (table.n_samples > 0).all(axis=0)
        n_common = int(table.n_samples[:, ev_all].min()) if ev_all.any() else 0
        cov = coverage(table, K=min(K, n_common) if n_common else None, ks=ks, weights=W, seed=seed)
        cov["available"] = True
        tables.update(coverage=cov["rows"], jaccard=cov["jaccard_rows"], union=cov["union_rows"], union_curve=cov["curve_rows"])
        notes.append(cov["note"])
    except ValueError as e:
        cov = {"available": False, "reason": str(e)}
        notes.append(f"coverage unavailable: {e}")
    timings["coverage"] = time.perf_counter() - t
    res["coverage"] = cov
    if splits:
        t = time.perf_counter()
        sp = split_metrics(table, splits, K=K, ks=ks, metrics=metrics, coverage_K=cov.get("K") if cov.get("available") else None,
                           weights=W, seed=seed)
        res["splits"] = sp
        tables.update(split_metrics=sp["rows"], split_coverage=sp["coverage_rows"])
        notes.append(sp["note"])
        timings["splits"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    res.update(tables=tables, notes=notes, timings_s=timings)
    return res


# ----------------------------------------------------------------------------------------------------
# 6. difficulty splits
# ----------------------------------------------------------------------------------------------------


def split_masks(problem_ids, splits: dict | None) -> tuple[list[str], np.ndarray, dict]:
    """Problem masks of the difficulty splits: names ["all", split names in first-appearance order of the
    problems], mask bool [S, P] (row 0 all problems), and counts {unlabelled: problems of the table without a
    split, unknown: split entries naming no problem of the table}. ``splits``: {problem_id: split name}
    (ids compared as strings); None or {} gives only "all"."""
    pids = [str(p) for p in problem_ids]
    if not splits:
        return ["all"], np.ones((1, len(pids)), bool), {"unlabelled": 0, "unknown": 0}
    if not isinstance(splits, dict):
        raise ValueError(f"splits: expected a dict problem_id -> split name, got {type(splits).__name__}")
    lab = {str(k): v for k, v in splits.items()}
    for k, v in lab.items():
        if not isinstance(v, str) or not v.strip():
            raise ValueError(f"splits: the split of problem {k!r} must be a non-empty string, got {v!r}")
        if v == "all":
            raise ValueError(f"splits: 'all' is reserved for every problem (problem {k!r})")
    per = np.array([lab.get(p, "") for p in pids], dtype=object)
    names = list(dict.fromkeys(x for x in per.tolist() if x))
    mask = np.vstack([np.ones(len(pids), bool)] + [per == n for n in names])
    known = set(pids)
    return ["all"] + names, mask, {"unlabelled": int((per == "").sum()), "unknown": int(sum(k not in known for k in lab))}


def splits_from_calibration(table: CountsTable, *, checkpoint=None, threshold: float = 0.5) -> dict:
    """Difficulty splits from an INDEPENDENT calibration sample: {problem_id: "easy" | "hard"}, easy when the
    calibration checkpoint's measured pass rate c/n ≥ ``threshold`` (default ½), hard below; problems without
    calibration samples get no split.

    ``table``: the calibration records' table (e.g. the base checkpoint sampled with another seed than the
    evaluation); ``checkpoint``: its label (default the table's first checkpoint).

    Why independent: a split chosen on the same samples that are then evaluated selects on their noise.
    Problems labelled hard on a low measured pass rate are, on average, problems whose samples were unlucky,
    so their pass@1 (and everything built on those samples: SC gain, pass@k) is biased low within "hard" and
    high within "easy" (regression to the mean: the same samples decide membership and the estimate). With a
    fresh calibration sample the split depends only on the problems' true pass rates and the calibration
    noise, which is independent of the evaluation samples, so each split's estimates are unbiased for that
    (noisily defined) split. The bias is largest for few calibration samples and pass rates near the threshold.
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise ValueError(f"threshold: must lie in (0, 1), got {threshold!r}")
    check = float(threshold)
    labels = _labels(table.checkpoints)
    if checkpoint is None:
        c = 0
    elif str(checkpoint) in labels:
        c = labels.index(str(checkpoint))
    else:
        raise ValueError(f"checkpoint: {checkpoint!r} is not in the calibration table (checkpoints: {labels[:10]})")
    n, k = table.n_samples[c], table.n_correct[c]
    ok = n > 0
    rate = np.where(ok, k / np.maximum(n, 1), np.nan)
    return {str(p): ("easy" if r >= check else "hard") for p, r, o in zip(table.problem_ids, rate.tolist(), ok.tolist()) if o}


def split_metrics(table: CountsTable, splits: dict, *, K: int, ks=None, metrics: dict | None = None, coverage_K: int | None = None,
                  n_boot: int = 1000, seed: int = 0, weights=None) -> dict:
    """pass@k, maj@K, SC gain@K (maj@K − pass@1, same temperature) and coverage per difficulty split.

    The per-problem values are those of :func:`checkpoint_metrics` (``metrics``, computed when None) and the
    bootstrap is the shared one (``weights`` [B, P], paired with the overall numbers): a split's value in a
    resample is the weighted mean over that resample's problems of the split. Coverage per split:
    :func:`coverage` on the split's problems (the same resample rows, restricted to them) at a total budget
    ``coverage_K`` (default K): the union of checkpoints vs the best single checkpoint, with the excess's
    paired 95% interval. Splits: :func:`split_masks` ("all" = every problem).

    Returns {names, counts, metrics {split: {pass_at_k, maj_at_k, sc_gain: {estimate, low, high} [C, nk]
    (maj/SC only at K, [C, 1])}}, coverage {split: coverage summary or {"available": False, "reason"}},
    rows (split, checkpoint, step, metric, k, estimate, low, high, n_problems), coverage_rows, note}.
    """
    K = _check_k(K, "K")
    ks = resolve_ks(table, ks)
    if K not in ks:
        ks = sorted(set(ks) | {K})
    P = len(table.problem_ids)
    W = bootstrap_weights(P, n_boot, seed) if weights is None else weights
    if metrics is None or K not in metrics["ks"] or list(metrics["ks"]) != list(ks):
        metrics = checkpoint_metrics(table, ks, weights=W)
    ks = list(metrics["ks"])
    names, mask, counts = split_masks(table.problem_ids, splits)
    j = ks.index(K)
    pp = metrics["per_problem"]
    quantities = {"pass_at_k": pp["pass_at_k"]}  # [C, P, nk]
    if "maj_at_k" in pp:
        quantities.update(maj_at_k=pp["maj_at_k"][..., j:j + 1], sc_gain=pp["sc_gain"][..., j:j + 1])
    ck, st = _labels(table.checkpoints), table.steps
    res, rows = {}, []
    for name, m in zip(names, mask):
        res[name] = {}
        for q, v in quantities.items():
            vm = np.where(m[None, :, None], v, np.nan)
            b = bootstrap_mean(np.moveaxis(vm, 1, -1), W)
            npr = np.isfinite(vm).sum(axis=1)
            res[name][q] = {**{key: b[key] for key in ("estimate", "low", "high")}, "n_problems": npr}
            q_ks = ks if q == "pass_at_k" else [K]
            for c in range(len(ck)):
                for jj, k in enumerate(q_ks):
                    rows.append({"split": name, "checkpoint": ck[c], "step": float(st[c]), "metric": q, "k": int(k),
                                 "estimate": float(b["estimate"][c, jj]), "low": float(b["low"][c, jj]),
                                 "high": float(b["high"][c, jj]), "n_problems": int(npr[c, jj])})
    cov, cov_rows = {}, []
    for name, m in zip(names, mask):
        idx = np.flatnonzero(m)
        try:
            sub = table.select(problems=idx)
            ev_all = (sub.n_samples > 0).all(axis=0)
            n_common = int(sub.n_samples[:, ev_all].min()) if ev_all.any() else 0
            if not n_common:
                raise ValueError("no problem of this split is evaluated at every checkpoint")
            KK = min(coverage_K or K, n_common)
            cv = coverage(sub, K=KK, ks=[k for k in ks if k <= n_common], weights=W[:, idx], seed=seed)
        except ValueError as e:
            cov[name] = {"available": False, "reason": str(e)}
            continue
        cov[name] = {"available": True, "k": cv["k"], "K": cv["K"], "n_problems": cv["n_problems"], "best_single": cv["best_single"],
                     "unions": cv["unions"], "cumulative_binary": cv["cumulative_binary"][-1], "rotation": cv["rotation"]}
        for u in cv["unions"]:
            cov_rows.append({"split": name, "n_problems": cv["n_problems"], "kind": u["kind"], "n_checkpoints": u["n_checkpoints"],
                             "checkpoints": " ".join(u["checkpoints"]), "K": u["K"], "pass_at_K": u["pass_at_K"],
                             "best_single": u["best_single"], "best_checkpoint": cv["best_single"]["checkpoint"],
                             "excess": u["excess"], "excess_low": u["excess_low"], "excess_high": u["excess_high"]})
    note = (f"splits: {', '.join(f'{n} ({int(m.sum())} problems)' for n, m in zip(names, mask))}"
            + (f"; {counts['unlabelled']} problem(s) without a split (in 'all' only)" if counts["unlabelled"] else "")
            + (f"; {counts['unknown']} split entr(y/ies) name no problem of the logs" if counts["unknown"] else "")
            + "; the bootstrap resamples all problems (shared with the overall numbers), a split's value is the mean over "
              "its resampled problems")
    return {"names": names, "counts": counts, "n_per_split": [int(m.sum()) for m in mask], "K": K, "ks": ks, "metrics": res,
            "coverage": cov, "rows": rows, "coverage_rows": cov_rows, "note": note}


# ----------------------------------------------------------------------------------------------------
# 7. evaluation protocol: greedy vs sampled temperatures, SC gain under both definitions
# ----------------------------------------------------------------------------------------------------

PROTOCOL_QUANTITIES = ("greedy", "pass_at_1", "pass_at_K", "maj_at_K", "sc_gain_same", "sc_gain_mixed", "h0_share")


def _align(table: CountsTable, values: np.ndarray, ck_index: dict, p_index: dict, shape: tuple) -> np.ndarray:
    """Per-cell values [C_t, P_t, ...] of ``table`` placed on the universe axes (NaN where the table has no cell)."""
    out = np.full(shape + values.shape[2:], np.nan)
    r = np.array([ck_index[str(c)] for c in table.checkpoints], np.int64)
    c = np.array([p_index[str(p)] for p in table.problem_ids], np.int64)
    out[np.ix_(r, c)] = values
    return out


def protocol_table(tables: dict, *, K: int | None = None, ks=None, splits: dict | None = None, n_boot: int = 1000, seed: int = 0,
                   weights=None) -> dict:
    """The users' evaluation protocol beside ours: per checkpoint and sampled temperature T, greedy accuracy,
    pass@1(T), pass@k(T), maj@K(T) and the self-consistency gain under two definitions, with paired 95%
    bootstrap intervals over problems (``common.bootstrap``: one set of resamples for every quantity,
    temperature, checkpoint and split).

    tables: {T: CountsTable} as ``real.logs.importers.load_counts_by_temperature`` returns; T = 0.0 (greedy
    decoding, usually one sample per problem; with several, its accuracy is their mean) is required, and every
    T > 0 is a sampled temperature (a table without a recorded temperature, key None, is left out). Cells
    are matched by checkpoint label and problem id.

    Per problem p (pass@1 = c/n; maj@K the exact unbiased estimator, :func:`maj_at_k_rows`; g = greedy
    accuracy):
      same-T SC gain    = maj@K(T) − pass@1(T)                 (Wang et al. 2023's gain, our definition)
      mixed SC gain     = maj@K(T) − g                         (what many users report)
      H0 share          = pass@1(T) − g  = mixed − same        (exactly, per problem and per resample)
    so the interval of the difference of the two definitions is the H0 share's. Every quantity of a
    (checkpoint, T) uses the same problems: those with n ≥ K samples at T and a greedy sample. A checkpoint
    is "negative" under a definition when the whole 95% interval lies below 0. Also per (checkpoint, T): the
    fraction of problems where greedy is wrong but the plurality answer at T is correct, and the reverse
    (plurality = strict top parsed answer of the T samples; greedy correct = g > ½), the two ways greedy and
    the mode of the answer distribution part (``theory.greedy_decoding``).

    K default: the smallest budget of any evaluated cell at a sampled temperature; ks (pass@k grid, default
    powers of 2 up to K, and K). splits: optional {problem_id: split name} (:func:`split_masks`): every
    number also per split.

    Returns {temperatures (sampled), K, ks, checkpoints, steps, splits (names), n_per_split, values
    {quantity: {estimate, low, high} [S, T, C]}, n_problems [S, T, C], rows (one per split × T × checkpoint:
    estimates and intervals of :data:`PROTOCOL_QUANTITIES`, negative flags, greedy/mode disagreement),
    passk_rows (split, T, checkpoint, k, estimate, low, high), summary_rows (per split × T: checkpoints,
    how many negative under each definition, by point estimate and by interval), notes}.
    """
    if not isinstance(tables, dict) or 0.0 not in tables:
        raise ValueError("tables: no greedy (T = 0) records; the mixed SC-gain definition needs greedy accuracy "
                         "(evaluate with --temperatures 0,...)")
    sampled = sorted(t for t in tables if t is not None and t > 0)
    if not sampled:
        raise ValueError("tables: no sampled temperature (T > 0) beside greedy; nothing to compare")
    G = tables[0.0]
    for t in sampled:
        _require_answers(tables[t], f"protocol_table (T = {t:g})")
    n_min = min(int(_evaluated_budgets(tables[t]).min()) for t in sampled)
    K = n_min if K is None else _check_k(K, "K")
    ks = sorted({_check_k(k, "ks") for k in (default_ks(K) if ks is None else ks) if k <= K} | {K})
    notes = []
    if K > n_min:
        notes.append(f"K = {K} exceeds the smallest sampled budget ({n_min}): cells with n < {K} are left out")
    pids = list(dict.fromkeys(str(p) for tb in [G] + [tables[t] for t in sampled] for p in tb.problem_ids))
    cks, steps = [], {}
    for t in sampled:
        for c, s in zip(_labels(tables[t].checkpoints), tables[t].steps.tolist()):
            if c not in steps:
                cks.append(c)
                steps[c] = s
    st = np.array([steps[c] for c in cks], float)
    if np.all(np.isfinite(st)):
        order = np.argsort(st, kind="stable")
        cks, st = [cks[i] for i in order], st[order]
    ck_index = {c: i for i, c in enumerate(cks)}
    p_index = {p: i for i, p in enumerate(pids)}
    C, P = len(cks), len(pids)
    missing_g = [c for c in cks if c not in set(_labels(G.checkpoints))]
    if missing_g:
        notes.append(f"no greedy records for checkpoint(s) {', '.join(missing_g[:10])}: their mixed SC gain and H0 share are n/a")
    gk = {**ck_index, **{c: C + i for i, c in enumerate(c for c in _labels(G.checkpoints) if c not in ck_index)}}
    g = _align(G, pass1(G), gk, p_index, (len(gk), P))[:C]
    if (G.n_samples > 1).any():
        n_var = int(((G.n_correct > 0) & (G.n_correct < G.n_samples)).sum())
        notes.append("greedy cells with more than one sample: greedy accuracy is their mean"
                     + (f"; {n_var} cell(s) disagree on correctness (greedy decoding was not deterministic)" if n_var else ""))
    g_right = g > 0.5
    names, mask, counts = split_masks(pids, splits)
    T = len(sampled)
    Q = len(PROTOCOL_QUANTITIES)
    V = np.full((T, C, Q, P), np.nan)
    PK = np.full((T, C, len(ks), P), np.nan)
    parted = np.full((T, C, 2, P), np.nan)  # greedy wrong & mode right, greedy right & mode wrong
    for i, t in enumerate(sampled):
        tb = tables[t]
        shape = (C, P)
        p1 = _align(tb, pass1(tb), ck_index, p_index, shape)
        maj = _align(tb, per_problem_maj_at_k(tb, K), ck_index, p_index, shape)
        pk = _align(tb, np.stack([per_problem_pass_at_k(tb, k) for k in ks], -1), ck_index, p_index, shape)
        lead = _align(tb, answer_diagnostics(tb)["leader"].astype(float), ck_index, p_index, shape)
        valid = np.isfinite(maj) & np.isfinite(g)
        q = np.stack([g, p1, pk[..., ks.index(K)], maj, maj - p1, maj - g, p1 - g], axis=1)  # [C, Q, P]
        V[i] = np.where(valid[:, None, :], q, np.nan)
        PK[i] = np.where(valid[:, None, :], np.moveaxis(pk, -1, 1), np.nan)
        parted[i] = np.where(valid[:, None, :], np.stack([~g_right & (lead == 1), g_right & (lead == -1)], 1), np.nan)
    W = bootstrap_weights(P, n_boot, seed) if weights is None else weights
    if W.shape[1] != P:
        raise ValueError(f"weights: expected [n_boot, {P}] (the problems of all tables), got {W.shape}")
    M = mask[:, None, None, None, :]  # [S, 1, 1, 1, P]
    b = bootstrap_mean(np.where(M, V[None], np.nan), W)  # [S, T, C, Q]
    bk = bootstrap_mean(np.where(M, PK[None], np.nan), W)  # [S, T, C, nk]
    npr = np.isfinite(np.where(mask[:, None, None, :], V[None, :, :, 0, :], np.nan)).sum(-1)  # [S, T, C]
    part = _nanmean_rows(np.where(M, parted[None], np.nan))  # [S, T, C, 2]
    values = {q: {key: b[key][..., j] for key in ("estimate", "low", "high")} for j, q in enumerate(PROTOCOL_QUANTITIES)}
    rows, passk_rows, summary = [], [], []
    for s, name in enumerate(names):
        for i, t in enumerate(sampled):
            for c in range(C):
                r = {"split": name, "checkpoint": cks[c], "step": float(st[c]), "temperature": float(t), "K": K,
                     "n_problems": int(npr[s, i, c])}
                for j, q in enumerate(PROTOCOL_QUANTITIES):
                    r[q] = float(b["estimate"][s, i, c, j])
                    r[f"{q}_low"] = float(b["low"][s, i, c, j])
                    r[f"{q}_high"] = float(b["high"][s, i, c, j])
                r["negative_same"] = bool(r["sc_gain_same_high"] < 0)
                r["negative_mixed"] = bool(r["sc_gain_mixed_high"] < 0)
                r["greedy_wrong_mode_right"] = float(part[s, i, c, 0])
                r["greedy_right_mode_wrong"] = float(part[s, i, c, 1])
                rows.append(r)
                for j, k in enumerate(ks):
                    passk_rows.append({"split": name, "checkpoint": cks[c], "step": float(st[c]), "temperature": float(t), "k": int(k),
                                       "estimate": float(bk["estimate"][s, i, c, j]), "low": float(bk["low"][s, i, c, j]),
                                       "high": float(bk["high"][s, i, c, j])})
            mine = [r for r in rows[-C:] if r["n_problems"] > 0]
            summary.append({"split": name, "temperature": float(t), "K": K, "n_checkpoints": len(mine),
                            "negative_same_point": sum(r["sc_gain_same"] < 0 for r in mine),
                            "negative_mixed_point": sum(r["sc_gain_mixed"] < 0 for r in mine),
                            "negative_same_ci": sum(r["negative_same"] for r in mine),
                            "negative_mixed_ci": sum(r["negative_mixed"] for r in mine),
                            "negative_mixed_only_ci": sum(r["negative_mixed"] and not r["negative_same"] for r in mine),
                            "mean_h0_share": float(np.mean([r["h0_share"] for r in mine])) if mine else float("nan"),
                            "mean_sc_gain_same": float(np.mean([r["sc_gain_same"] for r in mine])) if mine else float("nan"),
                            "mean_sc_gain_mixed": float(np.mean([r["sc_gain_mixed"] for r in mine])) if mine else float("nan")})
    if splits:
        notes.append(f"splits: {', '.join(f'{n} ({int(m.sum())} problems)' for n, m in zip(names, mask))}"
                     + (f"; {counts['unlabelled']} problem(s) without a split" if counts["unlabelled"] else ""))
    return {"temperatures": [float(t) for t in sampled], "K": K, "ks": ks, "checkpoints": cks, "steps": st.tolist(),
            "splits": names, "n_per_split": [int(m.sum()) for m in mask], "values": values, "n_problems": npr,
            "rows": rows, "passk_rows": passk_rows, "summary_rows": summary, "notes": notes,
            "definitions": {"sc_gain_same": "maj@K(T) - pass@1(T)", "sc_gain_mixed": "maj@K(T) - greedy accuracy",
                            "h0_share": "pass@1(T) - greedy accuracy = mixed - same"}}


def primary_temperature(temperatures) -> float | None:
    """The temperature whose records get the full analysis when records hold several: the largest sampled
    temperature (T > 0); else the table without a recorded temperature (None); else greedy (0)."""
    ts = list(temperatures)
    pos = [t for t in ts if t is not None and t > 0]
    if pos:
        return max(pos)
    return None if None in ts else 0.0


def analyze_temperatures(tables: dict, *, primary=None, ks=None, K: int | None = None, splits: dict | None = None, n_boot: int = 1000,
                         seed: int = 0) -> dict:
    """:func:`analyze` of records of one or several sampling temperatures ({T: table}, as
    ``real.logs.importers.load_counts_by_temperature`` returns): every analysis on the ``primary``
    temperature's table (default :func:`primary_temperature`), plus, when greedy (T = 0) and a sampled
    temperature are present, the protocol comparison :func:`protocol_table` (same K where the budgets allow,
    same seed) under ``protocol``; ``temperature`` (the primary) and ``temperatures`` (all) are added. One
    table without temperatures gives exactly :func:`analyze`'s result."""
    keys = list(tables)
    if not keys:
        raise ValueError("tables: empty")
    if len(keys) == 1:
        res = analyze(tables[keys[0]], ks=ks, K=K, n_boot=n_boot, seed=seed, splits=splits)
        if keys[0] is not None:
            res.update(temperature=keys[0], temperatures=keys)
        return res
    if primary is None:
        primary = primary_temperature(keys)
    elif primary not in tables:
        raise ValueError(f"primary: no records at temperature {primary!r} (have {', '.join(map(str, keys))})")
    res = analyze(tables[primary], ks=ks, K=K, n_boot=n_boot, seed=seed, splits=splits)
    res["notes"].insert(0, f"records at {len(keys)} temperatures ({', '.join(temperature_label(t) for t in keys)}); every analysis "
                           f"except the protocol comparison is at the primary {temperature_label(primary)}")
    res.update(temperature=primary, temperatures=keys)
    sampled = [t for t in keys if t is not None and t > 0]
    if 0.0 in tables and sampled:
        n_min = min(int(_evaluated_budgets(tables[t]).min()) for t in sampled)
        pK = min(res["K"], n_min)
        t0 = time.perf_counter()
        prot = protocol_table(tables, K=pK, splits=splits, n_boot=n_boot, seed=seed)
        res["timings_s"]["protocol"] = time.perf_counter() - t0
        prot["available"] = True
        res["protocol"] = prot
        res["tables"].update(protocol=prot["rows"], protocol_summary=prot["summary_rows"], protocol_passk=prot["passk_rows"])
        res["notes"] += [n for n in prot["notes"] if not n.startswith("splits:")]  # split_metrics' note says it
    else:
        res["protocol"] = {"available": False, "reason": "needs greedy (T = 0) records and at least one sampled temperature"}
    return res
