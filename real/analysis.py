"""Analyses of real sample logs (a ``real.counts.CountsTable``): the questions users ask of checkpoints.

* :func:`checkpoint_metrics` — per checkpoint: unbiased pass@k (Chen et al. 2021), exact unbiased maj@k
  (``theory.voting.maj_at_k``: the mean plurality vote over all k-subsets of the n samples; null answers
  abstain) and SC gain = maj@k − pass@1, each with a 95% bootstrap interval over problems.
* :func:`attribution` — each problem's contribution to SC gain at K, by class:
  *confidently right* (the correct answer has strictly more samples than any wrong answer),
  *consistent-wrong* (some wrong answer has at least as many samples as the correct one and was given
  at least twice), *scattered* (otherwise: the correct answer does not lead, but no wrong answer repeats).
  Contributions are (maj@K − pass@1)/P per problem, so the class sums add up to the SC gain exactly.
* :func:`negative_sc_checkpoints` — checkpoints with SC gain@K < 0, with diagnostics: mean answer entropy
  (nats, empirical, null answers as one class), mean top-1 share, collision probability of wrong answers
  (unbiased Σ_j c_j(c_j − 1)/(W(W − 1)) over the W non-null wrong samples, problems with W ≥ 2), the
  attribution, and what changed since the previous checkpoint.
* :func:`coverage` — solved sets at an equal budget k (a problem is *solved* when its unbiased pass@k ≥
  1/2), their Jaccard matrix, retention and acquisition; k-rollout unsolvable sets (pass@k < 1/2) and
  whether they are nested; cross-checkpoint union pass@K at a matched total budget vs the best single
  checkpoint; cross-checkpoint majority over the last 3 and 5 checkpoints vs single-checkpoint SC.

Budgets may differ between checkpoints: metrics at k use only cells with n ≥ k, and coverage compares
checkpoints at one equal k (the smallest n among evaluated cells, unless given). Outputs say so.
Bootstrap: B multinomial weight vectors over problems, shared by all checkpoints and metrics (paired),
95% percentile intervals.
"""

from __future__ import annotations

import numpy as np

from real.counts import CountsTable
from theory.passk import pass_at_k, union_pass_at_k
from theory.voting import maj_at_k


def default_ks(n_max: int) -> list[int]:
    """1, 2, 4, ... up to n_max, plus n_max itself."""
    ks, k = [], 1
    while k <= n_max:
        ks.append(k)
        k *= 2
    if ks[-1] != n_max:
        ks.append(int(n_max))
    return ks


def bootstrap_weights(n_problems: int, n_boot: int, seed: int) -> np.ndarray:
    """Multinomial bootstrap weights [n_boot, P] (each row sums to P)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_problems, np.full(n_problems, 1.0 / n_problems), size=n_boot).astype(np.float64)


def bootstrap_mean(values: np.ndarray, weights: np.ndarray) -> dict:
    """Mean over problems (last axis; NaN = not available) with a 95% percentile bootstrap interval.

    values [..., P]; weights [B, P]. Returns estimate, low, high arrays of shape values.shape[:-1]."""
    v = np.asarray(values, np.float64)
    mask = np.isfinite(v)
    flat_v = np.where(mask, v, 0.0).reshape(-1, v.shape[-1])
    flat_m = mask.reshape(-1, v.shape[-1]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = flat_v.sum(1) / flat_m.sum(1)
        boot = (weights @ flat_v.T) / (weights @ flat_m.T)  # [B, rows]
    import warnings

    with warnings.catch_warnings():  # rows with no valid problem stay NaN, silently
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(boot, [2.5, 97.5], axis=0) if boot.size else (est, est)
    shape = v.shape[:-1]
    return {"estimate": est.reshape(shape), "low": np.asarray(low).reshape(shape), "high": np.asarray(high).reshape(shape)}


def per_problem_pass_at_k(table: CountsTable, k: int) -> np.ndarray:
    """Unbiased pass@k per cell [C, P]; NaN where n < k (not evaluated with enough samples)."""
    n, c = table.n_samples, table.n_correct
    out = np.full(n.shape, np.nan)
    ok = n >= k
    if ok.any():
        out[ok] = pass_at_k(n[ok], c[ok], k)
    return out


def per_problem_maj_at_k(table: CountsTable, k: int) -> np.ndarray:
    """Exact unbiased maj@k per cell [C, P] (null answers abstain); NaN where n < k."""
    vc, ab = table.vote_counts()
    n = table.n_samples
    out = np.full(n.shape, np.nan)
    ok = n >= k
    if ok.any():
        rows = vc[ok]
        width = int(np.max(np.flatnonzero(rows[:, :-1].any(axis=0)), initial=0)) + 1  # trim all-zero wrong slots
        trimmed = np.concatenate([rows[:, :width], rows[:, -1:]], axis=1)
        out[ok] = maj_at_k(trimmed, k, abstain=width)
    return out


def pass1(table: CountsTable) -> np.ndarray:
    """Per-cell pass@1 = n_correct / n [C, P]; NaN where not evaluated."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(table.n_samples > 0, table.n_correct / np.maximum(table.n_samples, 1), np.nan)


def checkpoint_metrics(table: CountsTable, ks=None, *, n_boot: int = 1000, seed: int = 0, weights=None) -> dict:
    """pass@k, maj@k and SC gain per checkpoint with 95% bootstrap intervals over problems.

    Returns {"ks", "pass_at_k", "maj_at_k", "sc_gain" (dicts of estimate/low/high arrays [C, len(ks)]),
    "n_problems" [C, len(ks)] (problems with n ≥ k), "per_problem": {...}, "note"}. maj@k and SC gain
    are absent for count-only tables.
    """
    n_max = int(table.n_samples.max())
    ks = sorted(set(int(k) for k in (ks or default_ks(n_max)) if 1 <= int(k) <= n_max))
    if not ks:
        raise ValueError(f"ks: no k in [1, {n_max}] (the most samples any cell has)")
    W = bootstrap_weights(len(table.problem_ids), n_boot, seed) if weights is None else weights
    pk = np.stack([per_problem_pass_at_k(table, k) for k in ks], axis=-1)  # [C, P, K]
    out = {"ks": ks, "pass_at_k": bootstrap_mean(np.moveaxis(pk, 1, -1), W),
           "n_problems": np.isfinite(pk).sum(axis=1), "per_problem": {"pass_at_k": pk}}
    budgets = sorted(set(table.n_samples[table.n_samples > 0].ravel().tolist()))
    out["note"] = ("equal budget: every evaluated cell has n = %d samples" % budgets[0] if len(budgets) == 1 else
                   f"unequal budgets (n from {budgets[0]} to {budgets[-1]}): each k uses only cells with n >= k; "
                   "compare checkpoints at equal k")
    if table.has_answers:
        mk = np.stack([per_problem_maj_at_k(table, k) for k in ks], axis=-1)
        p1 = pass1(table)
        sc = mk - p1[..., None]
        out["maj_at_k"] = bootstrap_mean(np.moveaxis(mk, 1, -1), W)
        out["sc_gain"] = bootstrap_mean(np.moveaxis(sc, 1, -1), W)
        out["per_problem"].update(maj_at_k=mk, sc_gain=sc)
    return out


def answer_classes(table: CountsTable) -> np.ndarray:
    """Per cell [C, P]: 0 = confidently right, 1 = consistent-wrong, 2 = scattered (module docstring)."""
    ac = table.vote_counts()[0][..., :-1]
    c0 = ac[..., 0]
    lead_w = ac[..., 1:].max(axis=-1) if ac.shape[-1] > 1 else np.zeros_like(c0)
    return np.where(c0 > lead_w, 0, np.where(lead_w >= 2, 1, 2))


CLASS_NAMES = ("confidently_right", "consistent_wrong", "scattered")


def attribution(table: CountsTable, K: int, *, sc_per_problem=None) -> dict:
    """Each problem's contribution to SC gain@K per checkpoint and the class sums (module docstring).

    Returns {"K", "contribution" [C, P] (NaN where n < K), "classes" [C, P], "by_class": {name: [C]},
    "n_by_class": {name: [C]}, "total" [C]}; by_class sums to total exactly."""
    sc = per_problem_maj_at_k(table, K) - pass1(table) if sc_per_problem is None else sc_per_problem
    valid = np.isfinite(sc)
    n_valid = valid.sum(axis=1)
    contrib = np.where(valid, sc, np.nan) / np.maximum(n_valid, 1)[:, None]
    cls = answer_classes(table)
    out = {"K": int(K), "contribution": contrib, "classes": cls, "by_class": {}, "n_by_class": {},
           "total": np.where(n_valid > 0, np.nansum(contrib, axis=1), np.nan)}
    for i, name in enumerate(CLASS_NAMES):
        m = valid & (cls == i)
        out["by_class"][name] = np.where(m, contrib, 0.0).sum(axis=1)
        out["n_by_class"][name] = m.sum(axis=1)
    return out


def answer_diagnostics(table: CountsTable) -> dict:
    """Per cell [C, P]: empirical answer entropy (nats), top-1 share, wrong-answer collision probability."""
    vc = table.vote_counts()[0].astype(np.float64)  # null answers as the last class
    n = vc.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = vc / n[..., None]
        ent = -np.where(q > 0, q * np.log(np.where(q > 0, q, 1.0)), 0.0).sum(-1)
        top = vc.max(-1) / n
        wrong = vc[..., 1:-1]
        W = wrong.sum(-1)
        coll = np.where(W >= 2, (wrong * (wrong - 1)).sum(-1) / (W * (W - 1)), np.nan)
    ev = n > 0
    return {"entropy": np.where(ev, ent, np.nan), "top1_share": np.where(ev, top, np.nan), "wrong_collision": coll}


def negative_sc_checkpoints(table: CountsTable, K: int, metrics: dict, attr: dict) -> list[dict]:
    """Checkpoints with SC gain@K < 0 and their diagnostics (module docstring)."""
    ks = metrics["ks"]
    if K not in ks or "sc_gain" not in metrics:
        raise ValueError(f"K: {K} is not among the analysed ks {ks} (or the table has no per-answer counts)")
    j = ks.index(K)
    sc = metrics["sc_gain"]
    diag = answer_diagnostics(table)
    p1 = pass1(table)
    cls = attr["classes"]
    lead_correct = cls == 0
    flagged = []
    for c in range(len(table.checkpoints)):
        est = sc["estimate"][c, j]
        if not (np.isfinite(est) and est < 0):
            continue
        d = {"checkpoint": table.checkpoints[c], "step": float(table.steps[c]), "K": K, "sc_gain": float(est),
             "low": float(sc["low"][c, j]), "high": float(sc["high"][c, j]), "ci_excludes_zero": bool(sc["high"][c, j] < 0),
             "pass_at_1": float(np.nanmean(p1[c])), "entropy": float(np.nanmean(diag["entropy"][c])),
             "top1_share": float(np.nanmean(diag["top1_share"][c])),
             "wrong_collision": float(np.nanmean(diag["wrong_collision"][c])) if np.isfinite(diag["wrong_collision"][c]).any() else None,
             "attribution": {name: float(attr["by_class"][name][c]) for name in CLASS_NAMES},
             "n_by_class": {name: int(attr["n_by_class"][name][c]) for name in CLASS_NAMES}}
        if c > 0:
            both = (table.n_samples[c] > 0) & (table.n_samples[c - 1] > 0)
            d["since_previous"] = {
                "previous": table.checkpoints[c - 1],
                "d_pass_at_1": float(np.nanmean(p1[c][both]) - np.nanmean(p1[c - 1][both])) if both.any() else None,
                "d_sc_gain": float(est - sc["estimate"][c - 1, j]) if np.isfinite(sc["estimate"][c - 1, j]) else None,
                "d_entropy": float(np.nanmean(diag["entropy"][c][both]) - np.nanmean(diag["entropy"][c - 1][both])) if both.any() else None,
                "leader_correct_to_wrong": int((both & lead_correct[c - 1] & ~lead_correct[c]).sum()),
                "leader_wrong_to_correct": int((both & ~lead_correct[c - 1] & lead_correct[c]).sum()),
            }
        flagged.append(d)
    return flagged


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    u = (a | b).sum()
    return 1.0 if u == 0 else float((a & b).sum() / u)


def coverage(table: CountsTable, *, k: int | None = None, K: int | None = None, windows=(3, 5)) -> dict:
    """Coverage across checkpoints at an equal budget (module docstring). ``k`` defaults to the smallest
    n among evaluated cells; ``K`` (the matched total budget) defaults to that too."""
    ev = table.n_samples > 0
    n_min = int(table.n_samples[ev].min())
    k = n_min if k is None else int(k)
    K = n_min if K is None else int(K)
    if not 1 <= k <= n_min or not 1 <= K <= n_min:
        raise ValueError(f"k, K: must be in [1, {n_min}] (the smallest budget of an evaluated cell), got k={k}, K={K}")
    C = len(table.checkpoints)
    both_eval = ev.all(axis=0)  # problems evaluated at every checkpoint
    pk = per_problem_pass_at_k(table, k)[:, both_eval]
    solved = pk >= 0.5
    jac = np.array([[_jaccard(solved[a], solved[b]) for b in range(C)] for a in range(C)])
    retention = np.array([(solved[t] & solved[t + 1]).sum() / max(solved[t].sum(), 1) for t in range(C - 1)])
    acquisition = np.array([(solved[t + 1] & ~solved[t]).sum() / solved.shape[1] for t in range(C - 1)])
    loss = np.array([(solved[t] & ~solved[t + 1]).sum() / solved.shape[1] for t in range(C - 1)])
    unsolv = {}
    for kk in sorted({1, k}):
        U = per_problem_pass_at_k(table, kk)[:, both_eval] < 0.5
        nested = [bool(np.all(U[t + 1] <= U[t])) for t in range(C - 1)]
        unsolv[kk] = {"size": U.sum(axis=1).tolist(), "nested_consecutive": nested, "nested": all(nested),
                      "ever_unsolvable_everywhere": int(U.all(axis=0).sum())}
    # union at a matched budget: s evenly spaced checkpoints, K // s samples each, vs best single at K
    n, c = table.n_samples[:, both_eval].T, table.n_correct[:, both_eval].T  # [P, C]
    single = np.array([np.mean(pass_at_k(n[:, j], c[:, j], K)) for j in range(C)])
    union = {}
    s = 2
    while s <= min(C, K):
        idx = np.unique(np.linspace(0, C - 1, s).round().astype(int))
        per = K // len(idx)
        kvec = np.zeros(C, int)
        kvec[idx] = per
        kvec[idx[: K - per * len(idx)]] += 1  # spread the remainder so the total is exactly K
        union[len(idx)] = {"checkpoints": [table.checkpoints[i] for i in idx], "per_checkpoint_k": kvec[idx].tolist(),
                           "pass_at_K": float(np.mean(union_pass_at_k(n, c, kvec)))}
        s *= 2
    all_idx = np.arange(C)
    if C <= K and C not in union:
        kvec = np.full(C, K // C)
        kvec[: K - (K // C) * C] += 1
        union[C] = {"checkpoints": list(table.checkpoints), "per_checkpoint_k": kvec.tolist(),
                    "pass_at_K": float(np.mean(union_pass_at_k(n, c, kvec)))}
    out = {"k": k, "K": K, "n_problems": int(both_eval.sum()), "solved_fraction": solved.mean(axis=1).tolist(),
           "jaccard": jac, "rotation": float(1 - np.mean([jac[t, t + 1] for t in range(C - 1)])) if C > 1 else 0.0,
           "retention": retention, "acquisition": acquisition, "loss": loss, "unsolvable": unsolv,
           "single_pass_at_K": single, "best_single": {"checkpoint": table.checkpoints[int(np.argmax(single))], "pass_at_K": float(single.max())},
           "union": union,
           "note": f"equal budget: pass@{k} per problem at every checkpoint (problems evaluated everywhere: {int(both_eval.sum())}); "
                   f"union vs best single at the same total K = {K} samples"}
    del all_idx
    if table.has_answers and table.wrong_answers is not None:
        out["cross_checkpoint_majority"] = {w: _window_majority(table, K, w) for w in windows if w <= C}
    else:
        out["cross_checkpoint_majority"] = "unavailable: needs per-answer counts with answer labels"
    return out


def _window_majority(table: CountsTable, K: int, w: int) -> dict:
    """maj@K of the pooled answers of the last w checkpoints (answer strings matched across checkpoints;
    K votes drawn without replacement from the pool) vs maj@K of the last checkpoint alone."""
    C, P = table.shape
    sel = range(C - w, C)
    pooled = []
    ok = []
    for p in range(P):
        cnt: dict = {}
        n0 = nnull = 0
        for c in sel:
            n0 += int(table.answer_counts[c, p, 0])
            nnull += int(table.n_null[c, p])
            for a, m in zip(table.wrong_answers[c, p], table.answer_counts[c, p, 1:]):
                if a is not None and m > 0:
                    cnt[a] = cnt.get(a, 0) + int(m)
        pooled.append([n0] + sorted(cnt.values(), reverse=True) + [nnull])
        ok.append(n0 + sum(cnt.values()) + nnull >= K)
    width = max(len(r) for r in pooled)
    arr = np.zeros((P, width), np.int64)
    for i, r in enumerate(pooled):
        arr[i, : len(r) - 1] = r[:-1]
        arr[i, -1] = r[-1]
    ok = np.array(ok) & (table.n_samples[-1] >= K)
    pooled_maj = maj_at_k(arr[ok], K, abstain=width - 1) if ok.any() else np.zeros(0)
    single = per_problem_maj_at_k(table, K)[-1][ok]
    p1 = pass1(table)[-1][ok]
    return {"window": [table.checkpoints[c] for c in sel], "K": K, "n_problems": int(ok.sum()),
            "pooled_maj_at_K": float(np.mean(pooled_maj)) if ok.any() else None,
            "last_checkpoint_maj_at_K": float(np.mean(single)) if ok.any() else None,
            "last_checkpoint_pass_at_1": float(np.mean(p1)) if ok.any() else None}


def analyze(table: CountsTable, *, ks=None, K: int | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """Every analysis above on one table. K (SC gain / attribution / negative flags) defaults to the
    largest analysed k that every evaluated cell reaches."""
    metrics = checkpoint_metrics(table, ks, n_boot=n_boot, seed=seed)
    n_min = int(table.n_samples[table.n_samples > 0].min())
    if K is None:
        K = max(k for k in metrics["ks"] if k <= n_min)
    if K not in metrics["ks"]:
        metrics = checkpoint_metrics(table, sorted(set(metrics["ks"]) | {K}), n_boot=n_boot, seed=seed)
    res = {"checkpoints": list(table.checkpoints), "steps": table.steps.tolist(), "n_problems": len(table.problem_ids),
           "has_answers": table.has_answers, "metrics": metrics, "K": K}
    if table.has_answers:
        j = metrics["ks"].index(K)
        attr = attribution(table, K, sc_per_problem=metrics["per_problem"]["sc_gain"][..., j])
        res["attribution"] = attr
        res["negative_sc"] = negative_sc_checkpoints(table, K, metrics, attr)
    res["coverage"] = coverage(table, K=min(K, n_min)) if len(table.checkpoints) > 1 else None
    return res


def tidy_rows(res: dict) -> list[dict]:
    """The per-checkpoint metrics as tidy rows: checkpoint, step, metric, k, estimate, low, high, n_problems."""
    rows = []
    m = res["metrics"]
    for name in ("pass_at_k", "maj_at_k", "sc_gain"):
        if name not in m:
            continue
        for c, ck in enumerate(res["checkpoints"]):
            for j, k in enumerate(m["ks"]):
                rows.append({"checkpoint": ck, "step": res["steps"][c], "metric": name, "k": k,
                             "estimate": float(m[name]["estimate"][c, j]), "low": float(m[name]["low"][c, j]),
                             "high": float(m[name]["high"][c, j]), "n_problems": int(m["n_problems"][c, j])})
    return rows
