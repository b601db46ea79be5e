"""Importers: every supported log format -> (CountsTable, ImportReport). One entry point, :func:`load_counts`.

Formats (``format=`` or auto-detected, see :func:`detect_format`):
- ``records``: sample records (``real.records`` schema), JSONL or Parquet (or CSV with ``mapping``).
- ``generic``: JSONL/CSV with a field mapping ``{our_field: their_field}``, then the records rules. CSV
  cells are text: ``correct`` accepts true/false/1/0, ``sample_index`` an integer, an empty ``answer``
  cell means null.
- ``counts``: one row per checkpoint × problem with ``answer_counts`` (answer -> count; key "null" or
  "" holds unparsed samples) and ``gold`` (or ``correct_answer``); optional ``checkpoint`` (default: the
  ``checkpoint`` argument, else the file stem) and ``n_samples`` (checked against the sum).
- ``binary``: ``n_samples`` and ``n_correct`` per checkpoint × problem (CSV, JSONL or Parquet); the
  checkpoint column is ``checkpoint`` or named by ``mapping={"checkpoint": "model"}``.
- ``lm-eval``: lm-evaluation-harness ``--log_samples`` JSONL (``doc_id``, ``target``, ``resps``,
  ``filtered_resps``, ``filter``). Each doc may appear once per filter: the first filter seen is used
  (or ``lm_eval_filter=``); rows of other filters are rejected with reason "filter not selected" (counted,
  not silent). Per-sample answers are the filtered responses when they are one string per sample, else
  extracted from the raw responses with ``real.answers.extract_answer``; correct = equivalent to
  ``target`` (``real.answers.AnswerEquivalence``). Checkpoint label: ``checkpoint`` argument, else the
  parent folder name.
- ``verl``: verl validation dumps ``<step>.jsonl`` with ``input``, ``output``, ``gts``, ``score``,
  ``step``: one line per sample; problem_id = sha1(input)[:12]; sample_index = order of appearance within
  (step, problem); answer = extract_answer(output); correct = score > ``verl_threshold`` (default 0);
  gold = gts.

Every row that cannot be used is a Rejection with file, line and reason. Files are read as bytes and
decoded line by line, so a line with invalid UTF-8 is rejected alone. Parquet sample records take a
vectorized path (no per-row Python) when their column types are right.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np

from real.counts import CountsTable, from_answer_counts
from real.records import REQUIRED, Columns, ImportReport, records_to_counts, validate_record

FORMATS = ("auto", "records", "generic", "counts", "binary", "lm-eval", "verl")
_EXTS = (".jsonl", ".json", ".parquet", ".csv")


def _expand(paths) -> list[Path]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(f for f in p.iterdir() if f.suffix in _EXTS and f.is_file())
            if not files:
                raise ValueError(f"{p}: folder holds no {', '.join(_EXTS)} files")
            out += files
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def _json_lines(path: Path, report: ImportReport):
    """(line number, object) for each non-blank line; bad bytes / bad JSON are rejected here."""
    data = path.read_bytes()
    for no, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            report.rows_read += 1
            report.reject(path, no, f"invalid UTF-8: byte {raw[e.start]:#04x} at column {e.start + 1}")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            report.rows_read += 1
            report.reject(path, no, f"invalid JSON: {e.msg} at column {e.colno}")
            continue
        report.rows_read += 1
        yield no, obj


def _csv_rows(path: Path, report: ImportReport):
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:  # decode line by line so only the bad lines are lost
        lines = []
        for no, raw in enumerate(data.split(b"\n"), start=1):
            try:
                lines.append((no, raw.decode("utf-8")))
            except UnicodeDecodeError as e:
                if no == 1:
                    raise ValueError(f"{path}: header line is not valid UTF-8") from None
                report.rows_read += 1
                report.reject(path, no, f"invalid UTF-8: byte {raw[e.start]:#04x} at column {e.start + 1}")
    else:
        lines = list(enumerate(text.split("\n"), start=1))
    lines = [(no, ln.rstrip("\r")) for no, ln in lines]
    if not lines or not lines[0][1].strip():
        return
    header = next(csv.reader([lines[0][1]]))
    for no, ln in lines[1:]:
        if not ln.strip():
            continue
        report.rows_read += 1
        vals = next(csv.reader([ln]))
        if len(vals) != len(header):
            report.reject(path, no, f"wrong column count: {len(vals)} values for {len(header)} columns")
            continue
        yield no, dict(zip(header, vals))


def _peek(path: Path) -> dict | None:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return {name: None for name in pq.read_schema(path).names}
    if path.suffix == ".csv":
        with open(path, "rb") as fh:
            first = fh.readline().decode("utf-8", "replace")
        return {name: None for name in next(csv.reader([first]), [])}
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    obj = json.loads(raw)
                    return obj if isinstance(obj, dict) else None
                except (json.JSONDecodeError, UnicodeDecodeError):
                    continue
    return None


def detect_format(path, mapping=None) -> str:
    """Guess a file's format from its fields (the first parsable line / the header / the schema):
    answer_counts -> counts; n_samples + n_correct -> binary; doc_id + resps -> lm-eval;
    input + output + score -> verl; all required record fields -> records; a mapping given -> generic."""
    path = Path(path)
    keys = set(_peek(path) or {})
    mapped = {mapping.get(k, k) for k in ("n_samples", "n_correct")} if mapping else {"n_samples", "n_correct"}
    if "answer_counts" in keys:
        return "counts"
    if mapped <= keys and "answer" not in keys:
        return "binary"
    if {"doc_id", "resps"} <= keys:
        return "lm-eval"
    if {"input", "output", "score"} <= keys:
        return "verl"
    if set(REQUIRED) <= keys:
        return "records"
    if mapping:
        return "generic"
    raise ValueError(f"{path}: cannot tell the format from fields {sorted(keys)[:12]}; pass format= "
                     f"(one of {', '.join(FORMATS[1:])}) and, for other field names, mapping=")


# ------------------------------------------------------------------------------------------ records
def _coerce_csv(obj: dict) -> dict:
    out = dict(obj)
    if "sample_index" in out and isinstance(out["sample_index"], str):
        try:
            out["sample_index"] = int(out["sample_index"])
        except ValueError:
            pass
    if "correct" in out and isinstance(out["correct"], str):
        v = out["correct"].strip().lower()
        out["correct"] = {"true": True, "1": True, "false": False, "0": False}.get(v, out["correct"])
    for k in ("answer", "gold", "run"):
        if k in out and out[k] == "":
            out[k] = None
    return out


def _records_from_rows(path: Path, rows, report: ImportReport, cols: Columns, mapping=None, csv_text=False):
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    for no, obj in rows:
        if mapping and isinstance(obj, dict):
            obj = {inv.get(k, k): v for k, v in obj.items()}
        if csv_text and isinstance(obj, dict):
            obj = _coerce_csv(obj)
        validate_record(obj, str(path), no, report, cols)


def _parquet_records(path: Path, report: ImportReport, cols_list: list, mapping=None) -> None:
    """Sample records from Parquet: vectorized when the column types are right, else row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    if mapping:
        inv = {theirs: ours for ours, theirs in mapping.items()}
        table = table.rename_columns([inv.get(n, n) for n in table.column_names])
    n = table.num_rows
    report.rows_read += n
    if n == 0:
        report.notes.append(f"{path}: empty Parquet file (0 rows)")
        return
    missing = [k for k in REQUIRED if k not in table.column_names]
    if missing:
        for i in range(n):
            report.reject(path, i + 1, f"missing field: {', '.join(missing)}")
        return
    t = {k: table.column(k) for k in table.column_names}
    ok_types = (pa.types.is_integer(t["sample_index"].type) and pa.types.is_boolean(t["correct"].type)
                and (pa.types.is_string(t["answer"].type) or pa.types.is_large_string(t["answer"].type) or pa.types.is_null(t["answer"].type))
                and (pa.types.is_string(t["problem_id"].type) or pa.types.is_integer(t["problem_id"].type))
                and (pa.types.is_string(t["checkpoint"].type) or pa.types.is_integer(t["checkpoint"].type))
                and t["sample_index"].null_count == 0 and t["correct"].null_count == 0
                and t["checkpoint"].null_count == 0 and t["problem_id"].null_count == 0)
    if not ok_types:  # row-by-row validation names every bad row
        cols = Columns()
        _records_from_rows(path, enumerate(table.to_pylist(), start=1), report, cols)
        cols_list.append(cols.arrays())
        return
    si = t["sample_index"].to_numpy()
    correct = t["correct"].to_numpy(zero_copy_only=False).astype(bool)
    answer = t["answer"].cast(pa.string()).to_numpy(zero_copy_only=False)
    bad = np.zeros(n, bool)
    reasons = {}
    neg = si < 0
    if neg.any():
        bad |= neg
        reasons.update({i: f"negative sample_index: {si[i]}" for i in np.flatnonzero(neg)})
    null_ok = np.array([a is None for a in answer.tolist()]) & correct
    if null_ok.any():
        bad |= null_ok
        reasons.update({i: "inconsistent correctness: answer is null but correct is true" for i in np.flatnonzero(null_ok)})
    empty_ck = pc.equal(t["checkpoint"].cast(pa.string()), "").to_numpy(zero_copy_only=False) if pa.types.is_string(t["checkpoint"].type) else np.zeros(n, bool)
    if empty_ck.any():
        bad |= empty_ck
        reasons.update({i: "wrong type: checkpoint must be an int or non-empty string, got ''" for i in np.flatnonzero(empty_ck)})
    for i in sorted(reasons):
        report.reject(path, i + 1, reasons[i])
    keep = ~bad

    def col(name, default=None):
        if name in t:
            return t[name].cast(pa.string()).to_numpy(zero_copy_only=False)[keep]
        return np.full(int(keep.sum()), default, dtype=object)

    cols_list.append({"run": col("run"), "checkpoint": col("checkpoint"), "problem_id": col("problem_id"),
                      "sample_index": si[keep].astype(np.int64), "answer": answer[keep], "correct": correct[keep],
                      "gold": col("gold"), "file": np.full(int(keep.sum()), str(path), dtype=object),
                      "line": (np.flatnonzero(keep) + 1).astype(np.int64)})


def _concat(cols_list: list) -> dict:
    keys = ("run", "checkpoint", "problem_id", "sample_index", "answer", "correct", "gold", "file", "line")
    return {k: np.concatenate([np.asarray(c[k], dtype=object if c[k].dtype == object else None) for c in cols_list])
            for k in keys}


# ------------------------------------------------------------------------------------------ counts forms
def _counts_rows(path, rows, report, checkpoint, store):
    for no, obj in rows:
        if not isinstance(obj, dict):
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        ac = obj.get("answer_counts")
        gold = obj.get("gold", obj.get("correct_answer"))
        pid = obj.get("problem_id")
        if ac is None or pid is None or gold is None:
            miss = [k for k, v in (("answer_counts", ac), ("problem_id", pid), ("gold", gold)) if v is None]
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        if not isinstance(ac, dict):
            report.reject(path, no, f"wrong type: answer_counts must be an object answer -> count, got {type(ac).__name__}")
            continue
        bad = [(k, v) for k, v in ac.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0]
        if bad:
            report.reject(path, no, f"wrong type: answer_counts[{bad[0][0]!r}] must be a non-negative integer, got {bad[0][1]!r}")
            continue
        total = sum(ac.values())
        if "n_samples" in obj and obj["n_samples"] != total:
            report.reject(path, no, f"inconsistent counts: n_samples = {obj['n_samples']!r} but answer_counts sum to {total}")
            continue
        ck = obj.get("checkpoint", checkpoint)
        key = (str(ck), str(pid))
        if key in store:
            report.reject(path, no, f"duplicate key: (checkpoint {key[0]!r}, problem {key[1]!r}) first seen at {store[key][2]}:{store[key][3]}")
            continue
        counts = {(None if k in ("null", "") else str(k)): v for k, v in ac.items()}
        store[key] = (counts, str(gold), str(path), no)
        report.rows_accepted += 1


def _table_from_counts_store(store: dict) -> CountsTable:
    if not store:
        raise ValueError("counts: no valid rows (see the import report)")
    cks = list(dict.fromkeys(k[0] for k in store))
    pids = list(dict.fromkeys(k[1] for k in store))
    steps = np.array([_num(c) for c in cks])
    if np.all(np.isfinite(steps)):
        cks = [cks[i] for i in np.argsort(steps, kind="stable")]
    golds = [[None] * len(pids) for _ in cks]
    counts = [[{} for _ in pids] for _ in cks]
    ci = {c: i for i, c in enumerate(cks)}
    pi = {p: i for i, p in enumerate(pids)}
    for (c, p), (cnt, gold, _, _) in store.items():
        counts[ci[c]][pi[p]] = cnt
        golds[ci[c]][pi[p]] = gold
    return from_answer_counts(cks, pids, counts, golds)


def _binary_rows(path, rows, report, checkpoint, mapping, store):
    ck_field = (mapping or {}).get("checkpoint", "checkpoint")
    pid_field = (mapping or {}).get("problem_id", "problem_id")
    ns_field = (mapping or {}).get("n_samples", "n_samples")
    nc_field = (mapping or {}).get("n_correct", "n_correct")
    for no, obj in rows:
        if not isinstance(obj, dict):
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        miss = [f for f in (pid_field, ns_field, nc_field) if f not in obj]
        if miss:
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        vals = []
        for f in (ns_field, nc_field):
            v = obj[f]
            if isinstance(v, str):
                try:
                    v = int(v)
                except ValueError:
                    pass
            if isinstance(v, float) and v.is_integer():
                v = int(v)
            vals.append(v)
        if any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in vals):
            report.reject(path, no, f"wrong type: {ns_field}/{nc_field} must be non-negative integers, got {obj[ns_field]!r}/{obj[nc_field]!r}")
            continue
        ns, nc = vals
        if nc > ns:
            report.reject(path, no, f"inconsistent counts: {nc_field} = {nc} exceeds {ns_field} = {ns}")
            continue
        ck = obj.get(ck_field, checkpoint)
        if ck is None or ck == "":
            report.reject(path, no, f"missing field: {ck_field}")
            continue
        key = (str(ck), str(obj[pid_field]))
        if key in store:
            report.reject(path, no, f"duplicate key: (checkpoint {key[0]!r}, problem {key[1]!r}) first seen at {store[key][2]}:{store[key][3]}")
            continue
        store[key] = (ns, nc, str(path), no)
        report.rows_accepted += 1


def _binary_table(store: dict) -> CountsTable:
    if not store:
        raise ValueError("binary counts: no valid rows (see the import report)")
    cks = list(dict.fromkeys(k[0] for k in store))
    pids = list(dict.fromkeys(k[1] for k in store))
    steps = np.array([_num(c) for c in cks])
    if np.all(np.isfinite(steps)):
        cks = [cks[i] for i in np.argsort(steps, kind="stable")]
    ci = {c: i for i, c in enumerate(cks)}
    pi = {p: i for i, p in enumerate(pids)}
    ns = np.zeros((len(cks), len(pids)), np.int64)
    nc = np.zeros_like(ns)
    for (c, p), (a, b, _, _) in store.items():
        ns[ci[c], pi[p]], nc[ci[c], pi[p]] = a, b
    return CountsTable(tuple(cks), np.array([_num(c) for c in cks]), tuple(pids), ns, nc)


# ------------------------------------------------------------------------------------------ lm-eval / verl
def _lm_eval_rows(path, rows, report, cols, checkpoint, equivalence, filt_state):
    from real.answers import extract_answer

    ck = checkpoint or path.parent.name or path.stem
    for no, obj in rows:
        if not isinstance(obj, dict) or "doc_id" not in obj or "resps" not in obj:
            report.reject(path, no, "missing field: doc_id/resps (not an lm-eval sample line)")
            continue
        filt = obj.get("filter", "none")
        if filt_state.get("filter") is None:
            filt_state["filter"] = filt
            report.notes.append(f"lm-eval: using filter {filt!r}")
        if filt != filt_state["filter"]:
            report.reject(path, no, f"filter not selected: {filt!r} (using {filt_state['filter']!r})")
            continue
        target = obj.get("target")
        if isinstance(target, (int, float)) and not isinstance(target, bool):
            target = str(target)
        if not isinstance(target, str):
            report.reject(path, no, f"wrong type: target must be a string, got {target!r}")
            continue
        resps = obj["resps"]
        raw = [x for group in resps for x in (group if isinstance(group, list) else [group])] if isinstance(resps, list) else None
        if not raw or not all(isinstance(x, str) for x in raw):
            report.reject(path, no, "wrong type: resps must be a list of lists of strings")
            continue
        filtered = obj.get("filtered_resps")
        flat = [x for g in filtered for x in (g if isinstance(g, list) else [g])] if isinstance(filtered, list) else None
        if flat is not None and len(flat) == len(raw) and all(isinstance(x, str) for x in flat):
            answers = [x.strip() or None for x in flat]
            answers = [None if a in ("[invalid]", "[no match]") else a for a in answers]
        else:
            answers = [extract_answer(x) for x in raw]
        gold_rep = _target_answer(target)
        reps = equivalence.group(answers, gold=gold_rep)
        for j, (a, r) in enumerate(zip(answers, reps)):
            validate_record({"checkpoint": ck, "problem_id": str(obj["doc_id"]), "sample_index": j, "answer": r,
                             "correct": r is not None and r == gold_rep, "gold": gold_rep}, str(path), no, report, cols)


def _target_answer(target: str) -> str:
    """The reference answer of an lm-eval target: extracted when the target is a worked solution
    ("#### 18", "\\boxed{..}", "The answer is ..."), else the stripped target itself."""
    from real.answers import extract_answer

    t = target.strip()
    if "####" in t or "\\boxed" in t or "answer" in t.lower():
        return extract_answer(t) or t
    return t


def _verl_rows(path, rows, report, cols, threshold, counters):
    from real.answers import extract_answer

    for no, obj in rows:
        if not isinstance(obj, dict):
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        miss = [k for k in ("input", "output", "score") if k not in obj]
        if miss:
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        if not isinstance(obj["input"], str) or not isinstance(obj["output"], str):
            report.reject(path, no, "wrong type: input and output must be strings")
            continue
        score = obj["score"]
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            report.reject(path, no, f"wrong type: score must be a number, got {score!r}")
            continue
        step = obj.get("step", path.stem)
        pid = hashlib.sha1(obj["input"].encode("utf-8")).hexdigest()[:12]
        idx = counters.get((str(step), pid), 0)
        counters[(str(step), pid)] = idx + 1
        gts = obj.get("gts")
        gold = None if gts is None else str(gts)
        ans = extract_answer(obj["output"])
        correct = float(score) > threshold
        if ans is None and correct:
            ans = gold if gold is not None else "<unparsed correct answer>"
        validate_record({"checkpoint": step, "problem_id": pid, "sample_index": idx, "answer": ans, "correct": correct,
                         "gold": gold}, str(path), no, report, cols)


# ------------------------------------------------------------------------------------------ entry point
def load_counts(paths, *, format: str = "auto", mapping: dict | None = None, checkpoint=None, equivalence=None,
                lm_eval_filter: str | None = None, verl_threshold: float = 0.0) -> tuple[CountsTable, ImportReport]:
    """Read log files (or folders of them) into a CountsTable plus an ImportReport (see the module doc).

    All files must hold the same kind of data (sample-level or count-level). ``equivalence``: an
    ``AnswerEquivalence`` used by lm-eval imports (created with defaults when None) and, for sample
    records, to merge equivalent answer strings (off when None).
    """
    if format not in FORMATS:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {format!r}")
    files = _expand(paths)
    report = ImportReport(files=[str(f) for f in files])
    kinds = {}
    for f in files:
        if f.stat().st_size == 0:
            report.notes.append(f"{f}: empty file (0 bytes)")
            continue
        kinds[f] = detect_format(f, mapping) if format == "auto" else format
    if not kinds:
        raise ValueError(f"no data: every input file is empty ({', '.join(map(str, files))})")
    levels = {"binary" if k == "binary" else "counts" if k == "counts" else "samples" for k in kinds.values()}
    if len(levels) > 1:
        raise ValueError(f"format: files mix sample-level and count-level data ({sorted(set(kinds.values()))}); import them separately")
    level = levels.pop()

    if level == "counts":
        store: dict = {}
        for f in kinds:
            rows = _csv_rows(f, report) if f.suffix == ".csv" else _json_lines(f, report)
            _counts_rows(f, rows, report, checkpoint if checkpoint is not None else f.stem, store)
        return _table_from_counts_store(store), report
    if level == "binary":
        store = {}
        for f in kinds:
            if f.suffix == ".parquet":
                import pyarrow.parquet as pq

                recs = pq.read_table(f).to_pylist()
                report.rows_read += len(recs)
                rows = enumerate(recs, start=1)
            else:
                rows = _csv_rows(f, report) if f.suffix == ".csv" else _json_lines(f, report)
            _binary_rows(f, rows, report, checkpoint if checkpoint is not None else f.stem, mapping, store)
        return _binary_table(store), report

    cols_list = []
    own_eq = None
    filt_state = {"filter": lm_eval_filter}
    verl_counters: dict = {}
    for f, kind in kinds.items():
        if kind in ("records", "generic") and f.suffix == ".parquet":
            _parquet_records(f, report, cols_list, mapping if kind == "generic" else None)
            continue
        cols = Columns()
        rows = _csv_rows(f, report) if f.suffix == ".csv" else _json_lines(f, report)
        if kind in ("records", "generic"):
            _records_from_rows(f, rows, report, cols, mapping if kind == "generic" or mapping else None, csv_text=f.suffix == ".csv")
        elif kind == "lm-eval":
            if equivalence is None and own_eq is None:
                from real.answers import AnswerEquivalence

                own_eq = AnswerEquivalence()
            _lm_eval_rows(f, rows, report, cols, checkpoint, equivalence or own_eq, filt_state)
        elif kind == "verl":
            _verl_rows(f, rows, report, cols, verl_threshold, verl_counters)
        else:
            raise ValueError(f"format: {kind!r} is count-level; it cannot be mixed with sample files")
        if len(cols):
            cols_list.append(cols.arrays())
    if own_eq is not None:
        own_eq.close()
    if not cols_list or sum(len(c["checkpoint"]) for c in cols_list) == 0:
        raise ValueError(f"no valid sample records in {', '.join(map(str, kinds))}: {report.n_rejected} rows rejected "
                         f"({report.reasons()})")
    merged = _concat(cols_list)
    table = records_to_counts(merged, report, equivalence=equivalence if any(k in ("records", "generic") for k in kinds.values()) else None)
    return table, report


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")
