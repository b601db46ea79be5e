"""Breakdowns users ask of real sample logs: stability curves, per-group numbers, and response lengths.

Three analyses beside ``real.logs.analysis`` (same conventions: plain dicts of NumPy arrays plus ``rows``, a
tidy list of flat dicts that ``real.logs.report.write_table`` writes to Parquet/CSV; probabilities and
fractions are unitless; 95% percentile bootstrap intervals over problems from ``common.bootstrap``, one
seeded set of resamples shared by every checkpoint, k, τ, group and quantity, so differences are paired):

* :func:`stability_metrics` — per checkpoint, pass^k (all k correct), G-Pass@k_τ (at least ⌈τk⌉ of k
  correct) and mG-Pass@k, the exact unbiased estimators of ``theory.stability``, for every k <= n, shaped as
  ``real.logs.analysis.checkpoint_metrics`` shapes pass@k (arrays [C, len(ks)]). Count-only tables work.
* :func:`group_breakdown` — pass@1, pass@k, maj@k and SC gain = maj@k − pass@1 per problem group (data
  source, subset, ...), from a mapping problem_id → group. maj@k is ``analysis.per_problem_maj_at_k`` (exact,
  unbiased; tie policy :data:`TIE_POLICY`, named in every output dict). Problem ids of the mapping that
  are not in the table are listed in the result (``unknown_problem_ids``; ``strict=True`` raises), and so
  are the table's problems without a group (``ungrouped_problem_ids``; they count in "all" only).
* :func:`length_breakdown` — response length and truncation rate of correct vs wrong samples per checkpoint,
  from the sample records themselves (the table keeps counts only). Fields, exactly:
  - ``chars``: ``len(record["text"])``, the completion text's length in Unicode code points (our record
    schema's ``text``; ``text_field`` names another field, e.g. ``"response"``; by default ``text`` if any
    record has it, else ``response``);
  - ``tokens``: the record's ``n_tokens`` (the sampler's completion token count, ``real.lab.evaluate``);
  - ``truncated``: a boolean ``truncated`` field where a record has one, else ``finish_reason`` ==
    ``"length"`` (the vLLM / OpenAI convention: generation stopped at the token limit) where it has that,
    else, only when ``max_tokens`` is given, ``n_tokens >= max_tokens`` (a completion that ended exactly at
    the limit counts as truncated: an upper bound). Our record schema (``real.logs.schema``) has neither
    field today, so without ``max_tokens`` truncation is reported unavailable, saying why, not guessed.
  A record without the field a quantity needs is left out of that quantity and counted (``n_missing``).
  Classes: ``correct`` (``correct`` true), ``wrong`` (false, unparsed answers included), ``unparsed`` (the
  wrong samples whose ``answer`` is null) and ``all``. A value is the mean over the class's samples
  (Σ over problems of the per-problem sums / Σ of the counts); its interval resamples problems (each
  resample's ratio of weighted sums), since the samples of one problem are not independent.

Public: :data:`TIE_POLICY`, :data:`DEFAULT_TAUS`, :func:`stability_metrics`, :func:`group_breakdown`,
:func:`length_breakdown`, :func:`read_sample_records`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np

from common.bootstrap import CI_LEVEL, bootstrap_mean, bootstrap_weights
from common.checks import check_number
from real.logs.analysis import budget_note, pass1, per_problem_maj_at_k, per_problem_pass_at_k, resolve_ks
from real.logs.formats.files import csv_rows, expand_paths, file_kind, json_lines
from real.logs.formats.mapped import coerce_csv_cells
from real.logs.schema import Columns, ImportReport, checkpoint_order, distinct_temperatures, temperature_label, validate_record
from real.logs.table import CountsTable
from theory.stability import g_pass_at_k, mg_pass_at_k, pass_hat_k, threshold_count

__all__ = ["TIE_POLICY", "DEFAULT_TAUS", "stability_metrics", "group_breakdown", "length_breakdown", "read_sample_records"]

# The maj@k tie policy of real.logs.analysis (its module docstring's wording).
TIE_POLICY = "a t-way tie at the top gives the correct answer credit 1/t; null answers form an abstention class that never wins"
DEFAULT_TAUS = (0.5, 0.75, 1.0)
LENGTH_CLASSES = ("correct", "wrong", "unparsed", "all")
LENGTH_QUANTITIES = ("chars", "tokens", "truncated")
_VOTES_UNAVAILABLE = ("unavailable: count-only table (no per-answer counts), so maj@k and SC gain are not computed; "
                      "pass@1 and pass@k are")


def _labels(seq) -> list[str]:
    return [str(x) for x in seq]


def _weights(P: int, n_boot: int, seed: int, weights) -> np.ndarray:
    if weights is None:
        return bootstrap_weights(P, n_boot, seed)
    W = np.asarray(weights, np.float64)
    if W.ndim != 2 or W.shape[1] != P:
        raise ValueError(f"weights: expected [n_boot, {P}] bootstrap weights (one column per problem), got shape {W.shape}")
    return W


def _ci(b: dict, idx=(...,)) -> dict:
    return {key: b[key][idx] for key in ("estimate", "low", "high", "se")}


def _check_taus(taus) -> list[float]:
    if isinstance(taus, (int, float)):
        taus = [taus]
    out = []
    for t in taus:
        check_number("taus", t, low=0, high=1, low_open=True)
        out.append(float(t))
    if not out:
        raise ValueError("taus: empty")
    return sorted(set(out))


# ----------------------------------------------------------------------------------------------------
# 1. stability curves
# ----------------------------------------------------------------------------------------------------


def stability_metrics(table: CountsTable, ks=None, taus=DEFAULT_TAUS, *, n_boot: int = 1000, seed: int = 0, weights=None) -> dict:
    """Per checkpoint: pass^k, G-Pass@k_τ for each τ in ``taus`` and mG-Pass@k, with 95% bootstrap intervals.

    Estimators (``theory.stability``; per cell from its n samples, c correct): pass^k = C(c, k)/C(n, k) (Yao et al.
    2024, τ-bench); G-Pass@k_τ = Σ_{j >= ⌈τk⌉} C(c, j) C(n − c, k − j)/C(n, k) (Liu et al. 2024, arXiv 2412.13147);
    mG-Pass@k = (2/k) Σ_{i=⌈k/2⌉+1}^{k} G-Pass@k_{i/k} (same paper; 0 at k = 1). Unparsed answers count as wrong,
    as in pass@k. At each k only cells with n >= k enter; checkpoint values are means over those problems, with
    the percentile bootstrap over problems (``weights`` [B, P] from ``common.bootstrap.bootstrap_weights``, e.g.
    the ones ``analysis.analyze`` uses, to pair with its numbers; drawn from ``n_boot``/``seed`` otherwise).

    Args: ks: k grid (default ``analysis.default_ks`` of the largest budget; every k <= the largest n); taus:
      thresholds τ ∈ (0, 1] (default 0.5, 0.75, 1).
    Returns the shape of ``analysis.checkpoint_metrics``: {ks, taus, pass_hat_k: {estimate, low, high, se} [C,
      len(ks)], g_pass_at_k: {τ: {estimate, low, high, se} [C, len(ks)]}, mg_pass_at_k: {...} [C, len(ks)],
      thresholds: {τ: [⌈τk⌉ per k]}, n_problems: int [C, len(ks)] (problems with n >= k), per_problem:
      {pass_hat_k, g_pass_at_k: {τ: ...}, mg_pass_at_k} [C, P, len(ks)] (NaN = n < k), budget
      (``analysis.budget_note``), note, rows: tidy {checkpoint, step, metric, k, tau, threshold, estimate, low,
      high, n_problems} (tau/threshold None for pass_hat_k and mg_pass_at_k)}.
    """
    ks = resolve_ks(table, ks)
    taus = _check_taus(taus)
    P = len(table.problem_ids)
    W = _weights(P, n_boot, seed, weights)
    n, c = table.n_samples, table.n_correct
    C = n.shape[0]
    shape = (C, P, len(ks))
    hat, mg = np.full(shape, np.nan), np.full(shape, np.nan)
    g = {t: np.full(shape, np.nan) for t in taus}
    for j, k in enumerate(ks):
        ok = n >= k
        if not ok.any():
            continue
        nn, cc = n[ok], c[ok]
        hat[ok, j] = pass_hat_k(nn, cc, k)
        mg[ok, j] = mg_pass_at_k(nn, cc, k)
        for t in taus:
            g[t][ok, j] = g_pass_at_k(nn, cc, k, t)

    def boot(v):  # [C, P, nk] -> {estimate, low, high, se} [C, nk]
        return bootstrap_mean(np.moveaxis(v, 1, -1), W)

    out = {"ks": ks, "taus": taus, "pass_hat_k": boot(hat), "g_pass_at_k": {t: boot(g[t]) for t in taus}, "mg_pass_at_k": boot(mg),
           "thresholds": {t: [int(threshold_count(k, t)) for k in ks] for t in taus},
           "n_problems": np.isfinite(hat).sum(axis=1), "per_problem": {"pass_hat_k": hat, "g_pass_at_k": g, "mg_pass_at_k": mg},
           "budget": budget_note(table)}
    out["note"] = ("pass^k = C(c,k)/C(n,k) (all k correct; Yao et al. 2024), G-Pass@k_tau = P(at least ceil(tau*k) of k correct) "
                   "(Liu et al. 2024), mG-Pass@k = (2/k) sum_{i=ceil(k/2)+1}^{k} G-Pass@k_{i/k}: exact unbiased means over all "
                   "k-subsets of each cell's samples (unparsed answers count as wrong), cells with n >= k; "
                   + out["budget"]["note"])
    rows = []
    ck, st = _labels(table.checkpoints), table.steps
    series = [("pass_hat_k", None, out["pass_hat_k"])] + [("g_pass_at_k", t, out["g_pass_at_k"][t]) for t in taus] \
        + [("mg_pass_at_k", None, out["mg_pass_at_k"])]
    for ci in range(C):
        for j, k in enumerate(ks):
            for name, t, b in series:
                rows.append({"checkpoint": ck[ci], "step": float(st[ci]), "metric": name, "k": int(k), "tau": t,
                             "threshold": None if t is None else out["thresholds"][t][j],
                             "estimate": float(b["estimate"][ci, j]), "low": float(b["low"][ci, j]), "high": float(b["high"][ci, j]),
                             "n_problems": int(out["n_problems"][ci, j])})
    out["rows"] = rows
    return out


# ----------------------------------------------------------------------------------------------------
# 2. per-group pass@1, pass@k, maj@k, SC gain
# ----------------------------------------------------------------------------------------------------


def _group_masks(problem_ids, groups) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """(names ["all", groups in first-appearance order over the table's problems], masks bool [G, P], unknown ids
    (mapping keys naming no problem of the table, in mapping order), ungrouped ids (table problems without a group))."""
    if not isinstance(groups, Mapping):
        raise ValueError(f"groups: expected a mapping problem_id -> group label, got {type(groups).__name__}")
    lab = {}
    for pid, g in groups.items():
        if isinstance(g, bool) or not isinstance(g, str) or not g.strip():
            raise ValueError(f"groups: the group of problem {pid!r} must be a non-empty string, got {g!r}")
        if g == "all":
            raise ValueError(f"groups: 'all' is reserved for every problem (problem {pid!r})")
        key = str(pid)
        if key in lab and lab[key] != g:
            raise ValueError(f"groups: problem {key!r} is given two groups, {lab[key]!r} and {g!r}")
        lab[key] = g
    pids = _labels(problem_ids)
    known = set(pids)
    per = [lab.get(p) for p in pids]
    names = list(dict.fromkeys(x for x in per if x is not None))
    per_a = np.array([x if x is not None else "" for x in per], dtype=object)
    mask = np.vstack([np.ones(len(pids), bool)] + [per_a == name for name in names])
    unknown = [k for k in lab if k not in known]
    ungrouped = [p for p, x in zip(pids, per) if x is None]
    return ["all"] + names, mask, unknown, ungrouped


def group_breakdown(table: CountsTable, groups: Mapping, ks=None, *, n_boot: int = 1000, seed: int = 0, weights=None,
                    metrics: dict | None = None, strict: bool = False) -> dict:
    """pass@1, pass@k, maj@k and SC gain at k (maj@k − pass@1, same cells) per problem group, per checkpoint.

    groups: {problem_id: group label} (ids compared as strings; labels non-empty strings, "all" reserved). Per cell:
    pass@1 = c/n (``analysis.pass1``), pass@k the unbiased estimator of Chen et al. 2021
    (``analysis.per_problem_pass_at_k``), maj@k the exact unbiased estimator (``analysis.per_problem_maj_at_k``:
    the mean plurality vote over all k-subsets; :data:`TIE_POLICY`). A group's value is the mean over its problems
    with n >= k; the bootstrap resamples all problems with the shared ``weights`` [B, P] (paired with the overall
    numbers and across groups) and a group's resampled value is the weighted mean over its resampled problems, as
    in ``analysis.split_metrics``.

    Bad input is reported, not dropped: problem ids of ``groups`` that the table does not hold are listed in
    ``unknown_problem_ids`` and the note (``strict=True``: ValueError naming them); the table's problems without a
    group are listed in ``ungrouped_problem_ids`` and enter "all" only.

    metrics: optional ``analysis.checkpoint_metrics`` result on the same table with the same ks (``analyze``'s
    ``metrics``): its per-problem pass@k / maj@k arrays (the same functions) are reused, not recomputed.

    Returns {ks, names (["all", groups...]), n_per_group {name: problems}, metrics {name: {pass_at_1: {estimate, low,
      high, se, n_problems} [C], pass_at_k / maj_at_k / sc_gain: {estimate, low, high, se, n_problems} [C, len(ks)]
      (maj/SC with "tie_policy")}}, unknown_problem_ids, ungrouped_problem_ids, votes ("available" or why not),
      tie_policy, note, rows: tidy {group, checkpoint, step, metric, k, estimate, low, high, n_problems, tie_policy}
      (tie_policy None on pass rows)}. Count-only tables give pass@1 and pass@k only (``votes`` says why).
    """
    ks = resolve_ks(table, ks)
    names, mask, unknown, ungrouped = _group_masks(table.problem_ids, groups)
    if strict and unknown:
        raise ValueError(f"groups: {len(unknown)} problem id(s) are not in the table: {unknown[:10]}"
                         + (" ..." if len(unknown) > 10 else ""))
    P = len(table.problem_ids)
    W = _weights(P, n_boot, seed, weights)
    p1 = pass1(table)  # [C, P]
    if metrics is not None and list(metrics.get("ks", [])) != list(ks):
        raise ValueError(f"metrics: computed at ks {list(metrics.get('ks', []))}, expected {list(ks)}")
    pp = metrics["per_problem"] if metrics is not None else {}
    if "pass_at_k" in pp:
        quantities = {"pass_at_k": pp["pass_at_k"]}
    else:
        quantities = {"pass_at_k": np.stack([per_problem_pass_at_k(table, k) for k in ks], axis=-1)}  # [C, P, nk]
    if table.has_answers:
        mk = pp["maj_at_k"] if "maj_at_k" in pp else np.stack([per_problem_maj_at_k(table, k) for k in ks], axis=-1)
        quantities.update(maj_at_k=mk, sc_gain=mk - p1[..., None])
        votes = "available"
    else:
        votes = _VOTES_UNAVAILABLE
    ck, st = _labels(table.checkpoints), table.steps
    res, rows = {}, []
    for name, m in zip(names, mask):
        res[name] = {}
        v1 = np.where(m[None, :], p1, np.nan)
        b1 = bootstrap_mean(v1, W)
        res[name]["pass_at_1"] = {**_ci(b1), "n_problems": np.isfinite(v1).sum(axis=1)}
        for ci in range(len(ck)):
            rows.append({"group": name, "checkpoint": ck[ci], "step": float(st[ci]), "metric": "pass_at_1", "k": 1,
                         "estimate": float(b1["estimate"][ci]), "low": float(b1["low"][ci]), "high": float(b1["high"][ci]),
                         "n_problems": int(res[name]["pass_at_1"]["n_problems"][ci]), "tie_policy": None})
        for q, v in quantities.items():
            vm = np.where(m[None, :, None], v, np.nan)
            b = bootstrap_mean(np.moveaxis(vm, 1, -1), W)
            npr = np.isfinite(vm).sum(axis=1)
            tie = None if q == "pass_at_k" else TIE_POLICY
            res[name][q] = {**_ci(b), "n_problems": npr}
            if tie:
                res[name][q]["tie_policy"] = tie
            for ci in range(len(ck)):
                for j, k in enumerate(ks):
                    rows.append({"group": name, "checkpoint": ck[ci], "step": float(st[ci]), "metric": q, "k": int(k),
                                 "estimate": float(b["estimate"][ci, j]), "low": float(b["low"][ci, j]), "high": float(b["high"][ci, j]),
                                 "n_problems": int(npr[ci, j]), "tie_policy": tie})
    n_per = {name: int(m.sum()) for name, m in zip(names, mask)}
    note = "groups: " + ", ".join(f"{k} ({v} problems)" for k, v in n_per.items())
    if ungrouped:
        note += f"; {len(ungrouped)} problem(s) of the table have no group (in 'all' only): {ungrouped[:5]}" + (" ..." if len(ungrouped) > 5 else "")
    if unknown:
        note += (f"; {len(unknown)} problem id(s) of the group map are not in the table (ignored, listed in unknown_problem_ids): "
                 f"{unknown[:5]}" + (" ..." if len(unknown) > 5 else ""))
    note += ("; maj@k exact unbiased (" + TIE_POLICY + "); SC gain = maj@k - pass@1 on the cells with n >= k"
             if votes == "available" else "; " + votes)
    note += "; the bootstrap resamples all problems (shared with the overall numbers); a group's value is the mean over its resampled problems"
    return {"ks": ks, "names": names, "n_per_group": n_per, "metrics": res, "unknown_problem_ids": unknown,
            "ungrouped_problem_ids": ungrouped, "votes": votes, "tie_policy": TIE_POLICY, "note": note, "rows": rows}


# ----------------------------------------------------------------------------------------------------
# 3. response length and truncation of correct vs wrong samples
# ----------------------------------------------------------------------------------------------------


def read_sample_records(paths) -> tuple[list[tuple[str, int, dict]], ImportReport]:
    """Sample records of JSONL / Parquet / CSV files (``real.logs.formats.files``), every field kept (the table
    importers keep only what counts need): ([(file, line, record dict)], report). Unreadable lines (bad UTF-8,
    JSON, CSV) are rejected into the report; row checks are :func:`length_breakdown`'s. CSV cells are read by
    ``real.logs.formats.mapped.coerce_csv_cells``, and a ``truncated`` cell "true"/"false"/"1"/"0" as a bool."""
    files = expand_paths(paths)
    report = ImportReport(files=[str(f) for f in files])
    out = []
    for path in files:
        kind = file_kind(path)
        if kind == "parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
            report.rows_read += len(rows)
            out += [(str(path), i, r) for i, r in enumerate(rows, start=1)]
        elif kind == "csv":
            for line, obj in csv_rows(path, report):
                obj = coerce_csv_cells(obj)
                tr = obj.get("truncated")
                if isinstance(tr, str):
                    obj["truncated"] = {"true": True, "1": True, "false": False, "0": False, "": None}.get(tr.strip().lower(), tr)
                out.append((str(path), line, obj))
        else:
            for line, obj in json_lines(path, report):
                report.rows_read += 1
                out.append((str(path), line, obj))
    return out, report


def _as_items(records, source: str) -> tuple[list[tuple[str, int, object]], int]:
    """(file, line, object) triples from any accepted records input, and the number of rows it adds to rows_read."""
    try:
        import pyarrow as pa

        if isinstance(records, pa.Table):
            records = records.to_pylist()
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    if hasattr(records, "to_dict") and hasattr(records, "columns"):  # a pandas DataFrame
        records = records.to_dict("records")
    items = list(records)
    if items and isinstance(items[0], tuple) and len(items[0]) == 3 and isinstance(items[0][2], dict):
        return items, 0  # from read_sample_records: rows_read already counted
    return [(source, i, obj) for i, obj in enumerate(items, start=1)], len(items)


def _truncation(obj: dict, max_tokens) -> tuple[bool | None, str]:
    """(truncated?, which field decided): ``truncated`` bool, else ``finish_reason``, else n_tokens >= max_tokens."""
    tr = obj.get("truncated")
    if isinstance(tr, (bool, np.bool_)):
        return bool(tr), "truncated"
    if isinstance(tr, (int, np.integer)) and int(tr) in (0, 1):
        return bool(tr), "truncated"
    fr = obj.get("finish_reason")
    if isinstance(fr, str) and fr.strip():
        return fr.strip() == "length", "finish_reason"
    nt = obj.get("n_tokens")
    if max_tokens is not None and nt is not None and not isinstance(nt, bool):
        return float(nt) >= max_tokens, "n_tokens>=max_tokens"
    return None, "missing"


def length_breakdown(records=None, *, paths=None, table: CountsTable | None = None, text_field: str | None = None,
                     max_tokens: int | None = None, temperature: float | None = None, n_boot: int = 1000, seed: int = 0,
                     weights=None) -> dict:
    """Response length (characters, tokens) and truncation rate of correct vs wrong samples per checkpoint.

    records: sample records (dicts in the ``real.logs.schema`` format, a pyarrow Table, a pandas DataFrame, or the
      output of :func:`read_sample_records`); or ``paths`` (files / folders, read by :func:`read_sample_records`).
      Each record passes the schema's row checks (``schema.validate_record``: rejected rows go to the import report
      with their reason) and a repeated (run, checkpoint, problem_id, sample_index) keeps the first row, as the
      table importers do; answers are not re-graded: ``correct`` is the verifier's verdict. The records used must
      hold one sampling temperature (ValueError naming them otherwise); ``temperature`` keeps only the valid records
      of that temperature (e.g. ``analyze_temperatures``' primary one; the others are counted in
      ``n_other_temperature``, not rejected).
    table: optional, the ``CountsTable`` of the same records (e.g. from ``importers.load_counts``): checkpoints are
      then reported in its order and the bootstrap weights are over its problems (``weights`` from ``analyze``
      pair with it); records of checkpoints / problems the table lacks are left out and listed.
    text_field: the field whose length is ``chars`` (default "text", else "response", whichever a record has).
    max_tokens: the sampler's token limit, to infer truncation from ``n_tokens`` where a record has neither a
      ``truncated`` nor a ``finish_reason`` field. Field rules: module docstring.

    Returns {checkpoints, steps, classes, quantities: {chars | tokens | truncated: {available, field, unit, reason
      (when unavailable), sources (truncated: records decided by each field)}}, values: {quantity: {class:
      {estimate, low, high} [C], n_samples [C], n_missing [C], n_problems [C]}}, difference: {quantity: {estimate,
      low, high} [C]} (wrong − correct, paired), import (the import report as a dict), checkpoints_not_in_table,
      problems_not_in_table, n_other_temperature, note, rows: tidy {checkpoint, step, quantity, class, field, estimate, low, high,
      n_samples, n_missing, n_problems} (class "wrong_minus_correct" for the differences)}. Units: chars in
      characters (Unicode code points), tokens in tokens, truncated a fraction of samples.
    """
    if (records is None) == (paths is None):
        raise ValueError("records: give exactly one of records or paths")
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, (int, np.integer)) or max_tokens < 1):
        raise ValueError(f"max_tokens: must be an integer >= 1, got {max_tokens!r}")
    if paths is not None:
        items, report = read_sample_records(paths)
    else:
        report = ImportReport(files=["<records>"])
        items, n_read = _as_items(records, "<records>")
        report.rows_read += n_read
    # row checks and duplicates
    sink = Columns()
    kept, first_seen = [], {}
    for file, line, obj in items:
        if not validate_record(obj, file, line, report, sink):
            continue
        run = sink.cols["run"][-1]
        key = (run, sink.cols["checkpoint"][-1], sink.cols["problem_id"][-1], sink.cols["sample_index"][-1])
        temp = sink.cols["temperature"][-1]  # samples of other temperatures reuse the indices: part of the key
        seen_key = key + (None if temp is None or temp != temp else float(temp),)
        if seen_key in first_seen:
            f0, l0 = first_seen[seen_key]
            report.reject(file, line, f"duplicate key: (checkpoint {key[1]!r}, problem_id {key[2]!r}, sample_index {key[3]}"
                                      + ("" if seen_key[-1] is None else f", temperature {seen_key[-1]:g}") + f") first seen at {f0}:{l0}")
            continue
        first_seen[seen_key] = (file, line)
        kept.append((key, sink.cols["answer"][-1], bool(sink.cols["correct"][-1]), sink.cols["temperature"][-1], obj))
    n_other = 0
    if temperature is not None:
        check_number("temperature", temperature, low=0)
        n_all = len(kept)
        kept = [x for x in kept if x[3] == float(temperature)]
        n_other = n_all - len(kept)
    temps = distinct_temperatures(np.array([t for *_, t, _ in kept], np.float64)) if kept else []
    if len(temps) > 1:
        raise ValueError(f"temperature: the records hold samples of {len(temps)} sampling temperatures "
                         f"({', '.join(temperature_label(t) for t in temps)}); lengths must not mix them: pass temperature= to keep one")
    report.rows_accepted += len(kept) + n_other
    if not kept:
        raise ValueError("records: no valid sample record" + (f" at temperature {temperature!r}" if temperature is not None else "")
                         + " (see the import report)")
    # checkpoint labels as the table importers make them
    pairs = list(dict.fromkeys((k[0], k[1]) for k, *_ in kept))
    order, labels, steps = checkpoint_order([r for r, _ in pairs], [c for _, c in pairs])
    label_of = {pairs[i]: lab for i, lab in zip(order, labels)}
    rec_ck = [label_of[(k[0], k[1])] for k, *_ in kept]
    rec_pid = [k[2] for k, *_ in kept]
    missing_ck, missing_pid = [], []
    if table is not None:
        ck_labels, st = _labels(table.checkpoints), np.asarray(table.steps, float)
        pids = _labels(table.problem_ids)
        missing_ck = [lab for lab in labels if lab not in set(ck_labels)]
        missing_pid = list(dict.fromkeys(p for p in rec_pid if p not in set(pids)))
    else:
        ck_labels, st = labels, np.asarray(steps, float)
        pids = list(dict.fromkeys(rec_pid))
    c_index = {lab: i for i, lab in enumerate(ck_labels)}
    p_index = {p: i for i, p in enumerate(pids)}
    C, P = len(ck_labels), len(pids)
    W = _weights(P, n_boot, seed, weights)
    # fields
    if text_field is None:
        has = {f: any(isinstance(obj.get(f), str) for *_, obj in kept) for f in ("text", "response")}
        text_field = "text" if has["text"] else ("response" if has["response"] else None)
    elif not isinstance(text_field, str) or not text_field:
        raise ValueError(f"text_field: must be a non-empty field name, got {text_field!r}")
    # per (checkpoint, problem, class, quantity): sums and counts
    G, Q = len(LENGTH_CLASSES), len(LENGTH_QUANTITIES)
    S = np.zeros((C, P, G, Q))
    N = np.zeros((C, P, G, Q))
    M = np.zeros((C, G, Q), np.int64)  # samples without the field
    sources = {"truncated": 0, "finish_reason": 0, "n_tokens>=max_tokens": 0, "missing": 0}
    for (key, answer, correct, _, obj), ck, pid in zip(kept, rec_ck, rec_pid):
        ci, pi = c_index.get(ck), p_index.get(pid)
        if ci is None or pi is None:
            continue
        classes = [LENGTH_CLASSES.index("correct" if correct else "wrong"), LENGTH_CLASSES.index("all")]
        if answer is None:
            classes.append(LENGTH_CLASSES.index("unparsed"))
        text = obj.get(text_field) if text_field else None
        nt = obj.get("n_tokens")
        tr, src = _truncation(obj, max_tokens)
        sources[src] += 1
        vals = (len(text) if isinstance(text, str) else None, None if nt is None else float(nt), None if tr is None else float(tr))
        for g in classes:
            for q, v in enumerate(vals):
                if v is None:
                    M[ci, g, q] += 1
                else:
                    S[ci, pi, g, q] += v
                    N[ci, pi, g, q] += 1
    quantities = {
        "chars": {"field": text_field, "unit": "characters (Unicode code points)"},
        "tokens": {"field": "n_tokens", "unit": "tokens"},
        "truncated": {"field": "truncated | finish_reason == 'length'" + (f" | n_tokens >= {max_tokens}" if max_tokens else ""),
                      "unit": "fraction of samples", "sources": {k: v for k, v in sources.items()}},
    }
    for q, info in enumerate(quantities.values()):
        info["available"] = bool(N[..., q].sum() > 0)
    if not quantities["chars"]["available"]:
        quantities["chars"]["reason"] = (f"no record has a string {text_field!r} field" if text_field else
                                         "records carry no 'text' or 'response' field (pass text_field to name the completion text)")
    if not quantities["tokens"]["available"]:
        quantities["tokens"]["reason"] = "no record has an 'n_tokens' value"
    if not quantities["truncated"]["available"]:
        quantities["truncated"]["reason"] = ("records carry no 'truncated' or 'finish_reason' field (the record schema of "
                                             "real.logs.schema has neither)" + ("" if max_tokens else
                                             " and max_tokens was not given to infer it from n_tokens >= max_tokens")
                                             + (" and no record has n_tokens" if max_tokens else ""))
    lo_q, hi_q = 100 * (1 - CI_LEVEL) / 2, 100 * (1 + CI_LEVEL) / 2
    values, diffs, rows = {}, {}, []

    def ratio_ci(s, n):  # s, n: [C, P] -> estimate [C], boot [B, C]
        with np.errstate(invalid="ignore", divide="ignore"):
            est = s.sum(1) / n.sum(1)
            boot = (W @ s.T) / (W @ n.T)
        return est, boot

    def pct(boot):  # percentile interval of [B, C] resampled values; NaN where no resample has a value
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanpercentile(boot, lo_q, axis=0), np.nanpercentile(boot, hi_q, axis=0)

    for q, qname in enumerate(LENGTH_QUANTITIES):
        values[qname], boots = {}, {}
        for g, gname in enumerate(LENGTH_CLASSES):
            est, boot = ratio_ci(S[:, :, g, q], N[:, :, g, q])
            low, high = pct(boot)
            boots[gname] = (est, boot)
            values[qname][gname] = {"estimate": est, "low": low, "high": high, "n_samples": N[:, :, g, q].sum(1).astype(np.int64),
                                    "n_missing": M[:, g, q], "n_problems": (N[:, :, g, q] > 0).sum(1)}
        (e_w, b_w), (e_c, b_c) = boots["wrong"], boots["correct"]
        d_low, d_high = pct(b_w - b_c)
        diffs[qname] = {"estimate": e_w - e_c, "low": d_low, "high": d_high}
        field = quantities[qname]["field"]
        for ci in range(C):
            for gname in LENGTH_CLASSES:
                v = values[qname][gname]
                rows.append({"checkpoint": ck_labels[ci], "step": float(st[ci]), "quantity": qname, "class": gname, "field": field,
                             "estimate": float(v["estimate"][ci]), "low": float(v["low"][ci]), "high": float(v["high"][ci]),
                             "n_samples": int(v["n_samples"][ci]), "n_missing": int(v["n_missing"][ci]), "n_problems": int(v["n_problems"][ci])})
            rows.append({"checkpoint": ck_labels[ci], "step": float(st[ci]), "quantity": qname, "class": "wrong_minus_correct",
                         "field": field, "estimate": float(diffs[qname]["estimate"][ci]), "low": float(diffs[qname]["low"][ci]),
                         "high": float(diffs[qname]["high"][ci]), "n_samples": int(values[qname]["all"]["n_samples"][ci]),
                         "n_missing": int(values[qname]["all"]["n_missing"][ci]), "n_problems": int(values[qname]["all"]["n_problems"][ci])})
    parts = [f"{q}: {info['field']} ({info['unit']})" if info["available"] else f"{q}: unavailable ({info['reason']})"
             for q, info in quantities.items()]
    note = ("per checkpoint, the mean over samples of each class (correct; wrong, unparsed answers included; unparsed; all); "
            "95% bootstrap intervals resample problems (ratio of weighted sums); " + "; ".join(parts))
    if missing_ck or missing_pid:
        note += (f"; left out: records of {len(missing_ck)} checkpoint(s) and {len(missing_pid)} problem(s) that the table "
                 "does not hold (listed in checkpoints_not_in_table / problems_not_in_table)")
    if report.n_rejected:
        note += f"; {report.n_rejected} record(s) rejected (see import)"
    if temperature is not None:
        note += f"; {temperature_label(float(temperature))} only ({n_other} valid record(s) of other or unrecorded temperatures left out)"
    return {"checkpoints": ck_labels, "steps": st.tolist(), "classes": list(LENGTH_CLASSES), "quantities": quantities,
            "values": values, "difference": diffs, "import": report.to_dict(), "checkpoints_not_in_table": missing_ck,
            "problems_not_in_table": missing_pid, "n_other_temperature": n_other, "note": note, "rows": rows}
