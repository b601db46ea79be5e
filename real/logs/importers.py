"""Importers: every supported log format -> (CountsTable, ImportReport). One entry point, :func:`load_counts`.

Formats (``format=``, or ``"auto"``: see :func:`detect_format`):

- ``records``: sample records (the ``real.logs.schema`` schema), JSONL, Parquet or CSV.
- ``generic``: the same with a field mapping ``mapping={our_field: their_field}`` (e.g. ``{"problem_id":
  "qid", "correct": "is_correct"}``); any format takes a mapping, ``generic`` is ``records`` with one.
  CSV cells are text: ``sample_index`` must read as an integer, ``correct`` as true/false/1/0
  (case-insensitive), and an empty ``answer``/``gold``/``run`` cell means null.
- ``counts``: one JSONL line per (checkpoint ×) problem with ``answer_counts`` (answer -> count; the key
  "null" or "" holds unparsed samples, as does an optional ``n_null`` field) and the correct answer in
  ``gold`` (or ``correct_answer``); optional ``checkpoint`` (default: the ``checkpoint`` argument, else the
  file stem), ``run``, and ``n_samples`` (must equal the counts' sum including unparsed samples). An
  answer string equal to the gold fills slot 0 (with ``equivalence=``: every answer equivalent to it).
- ``binary``: ``n_samples`` and ``n_correct`` per (checkpoint ×) problem, CSV, JSONL or Parquet; the
  checkpoint column is ``checkpoint`` or named by ``mapping={"checkpoint": "model"}`` (without one, every
  row gets the ``checkpoint`` argument or the file stem, and a note says so). -> ``answer_counts=None``.
- ``lm-eval``: lm-evaluation-harness ``--log_samples`` JSONL (``samples_<task>_<date>.jsonl``): per line a
  doc with ``doc_id``, ``target``, ``resps`` (list of lists of generations), ``filtered_resps``,
  ``filter``. A doc appears once per filter: the ``lm_eval_filter`` argument selects one (default: the
  first seen); the other filters' lines are rejected, reason "filter not selected" (counted, not silent).
  Answers: ``filtered_resps`` when it holds one string per generation (lm-eval's "[invalid]" = null),
  else ``real.logs.answers.extract_answer`` on each raw generation (e.g. a majority-vote filter leaves one
  string for n generations). Gold: ``target`` (a worked solution with "####", "\\boxed" or "answer" is
  reduced with extract_answer). Answers of a doc are grouped with ``AnswerEquivalence.group`` and
  correct = equivalent to the gold (exact string match when ``equivalence=False``). problem_id =
  ``doc_id``, or "task/doc_id" when the files hold several tasks; sample_index = position of the
  generation; checkpoint = the ``checkpoint`` argument, else the file's parent folder name. Report rows
  are sample records: a doc line with n generations counts n rows, a rejected doc line counts one.
- ``verl``: verl validation dumps ``<step>.jsonl``, one line per sample with ``input``, ``output``,
  ``gts``, ``score``, ``step``: problem_id = sha1(input) hex, first 12 characters; sample_index = order of
  appearance within (step, problem), files read in order; answer = extract_answer(output); correct =
  score > ``verl_threshold`` (default 0.0: any positive reward counts as solved); gold = gts (str or
  number); checkpoint = ``step`` (else the file stem). A correct-scored output with no extractable
  answer is counted as the gold answer (the number of such rows is in the notes). Answers are merged
  per cell with ``AnswerEquivalence`` unless ``equivalence=False``.

Then the sample-level formats go through ``real.logs.schema.records_to_counts`` (duplicates, inconsistent
gold, inconsistent correctness: see its module docstring). Files are read as bytes and decoded line by
line, so a line with invalid UTF-8 is rejected alone. Sample records from Parquet, and from JSONL whose
lines all parse with consistent types (pyarrow's JSON reader), are validated and grouped without
per-row Python (rows that might be invalid, and JSONL rows with a null answer, are re-checked one by one,
so the reasons are the same as line-by-line validation). A JSONL file with any line pyarrow cannot take
(invalid UTF-8 or JSON, a field whose type changes between lines, a non-object line) is validated line by
line instead (same result, about 3-4x slower).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path

import numpy as np

from real.logs.table import CountsTable, from_answer_counts
from real.logs.schema import (NUMERIC_OPTIONAL, REQUIRED, Batch, Columns, ImportReport, NoRecordsError, _answer_str, _label,
                          _records_core, arrow_types_ok, batch_from_arrow, checkpoint_order, validate_record)

FORMATS = ("auto", "records", "generic", "counts", "binary", "lm-eval", "verl")
_ALIASES = {"answer_counts": "counts", "lm_eval": "lm-eval", "lmeval": "lm-eval", "correctness": "binary"}
_EXTS = (".jsonl", ".json", ".ndjson", ".parquet", ".pq", ".csv")
_WS = (9, 10, 11, 12, 13, 32)  # bytes.strip() whitespace


def _kind_of_ext(path: Path) -> str:
    s = path.suffix.lower()
    return "parquet" if s in (".parquet", ".pq") else "csv" if s == ".csv" else "jsonl"


def _expand(paths) -> list[Path]:
    """Files of ``paths`` (a path or a list; a folder gives its data files, numeric stems in numeric order)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in _EXTS]
            if not files:
                raise ValueError(f"{p}: folder holds no {', '.join(_EXTS)} files")
            out += sorted(files, key=lambda f: (0, int(f.stem), "") if f.stem.isdigit() else (1, 0, f.name))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not out:
        raise ValueError("paths: no input files given")
    return out


# ------------------------------------------------------------------------------------------ reading
def _json_lines(path: Path, report: ImportReport, data: bytes | None = None):
    """(line number, object) for each non-blank line. Bad UTF-8 / bad JSON lines are rejected here and
    counted in ``rows_read``; the caller counts the lines it receives."""
    data = path.read_bytes() if data is None else data
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
        yield no, obj


def _csv_rows(path: Path, report: ImportReport):
    """(line number where the record starts, dict) per CSV record after the header; quoted fields may
    span lines. A physical line with invalid UTF-8 is rejected (and left out of the CSV stream); a record
    with the wrong number of fields is rejected. Counts ``rows_read`` for every record and bad line."""
    data = path.read_bytes()
    physical = data.split(b"\n")
    served: list[int] = []

    def stream():
        for no, raw in enumerate(physical, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if not served:
                    raise ValueError(f"{path}: the header line is not valid UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})") from None
                report.rows_read += 1
                report.reject(path, no, f"invalid UTF-8: byte {raw[e.start]:#04x} at column {e.start + 1}")
                continue
            served.append(no)
            yield text + "\n"

    reader = csv.reader(stream())
    header = None
    while True:
        before = len(served)
        try:
            vals = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            report.rows_read += 1
            report.reject(path, served[before] if before < len(served) else served[-1], f"invalid CSV: {e}")
            continue
        start = served[before] if before < len(served) else served[-1]
        if header is None:
            if not vals or not any(v.strip() for v in vals):
                continue
            header = [h.strip().lstrip("\ufeff") for h in vals]
            continue
        if not vals or (len(vals) == 1 and not vals[0].strip()):
            continue  # blank line
        report.rows_read += 1
        if len(vals) != len(header):
            report.reject(path, start, f"wrong column count: {len(vals)} values for {len(header)} columns")
            continue
        yield start, dict(zip(header, vals))


def _peek(path: Path) -> dict | None:
    """Field names (as dict keys) of the first parsable record, or None when the file has no data."""
    kind = _kind_of_ext(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return {name: None for name in pq.read_schema(path).names}
        except Exception as e:  # noqa: BLE001 - any reader error means "not Parquet"
            raise ValueError(f"{path}: not a readable Parquet file ({e})") from None
    with open(path, "rb") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            if kind == "csv":
                return {name.strip().lstrip("\ufeff"): None for name in next(csv.reader([raw.decode("utf-8", "replace")]), [])}
            try:
                obj = json.loads(raw)
                if isinstance(obj, dict):
                    return obj
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
    return {}


def _is_empty(path: Path) -> bool:
    """True when a file holds no data rows (0 bytes, only blank lines, a CSV header only, 0 Parquet rows)."""
    if _kind_of_ext(path) == "parquet":
        import pyarrow.parquet as pq

        if path.stat().st_size == 0:
            return True
        try:
            return pq.ParquetFile(path).metadata.num_rows == 0
        except Exception as e:  # noqa: BLE001 - any reader error means "not Parquet"
            raise ValueError(f"{path}: not a readable Parquet file ({e})") from None
    need = 2 if _kind_of_ext(path) == "csv" else 1  # a CSV needs a header and a record
    seen = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip():
                seen += 1
                if seen >= need:
                    return False
    return True


def _ours(keys, mapping) -> set:
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    return {inv.get(k, k) for k in keys}


def detect_format(path, mapping=None) -> str:
    """Guess a file's format from its fields (the first parsable JSON line, the CSV header, or the
    Parquet schema), after renaming with ``mapping``; the first rule that matches wins:

    1. ``answer_counts`` -> "counts";
    2. ``doc_id`` and ``resps`` -> "lm-eval";
    3. ``input``, ``output`` and ``score`` -> "verl";
    4. ``n_samples`` and ``n_correct`` but no ``sample_index`` -> "binary";
    5. all of checkpoint, problem_id, sample_index, answer, correct -> "records" ("generic" when a
       mapping renamed any of them).
    Otherwise ValueError naming the file and the fields seen. The extension only picks the reader
    (.parquet/.pq: Parquet; .csv: CSV; anything else: JSON lines).
    """
    path = Path(path)
    raw = set(_peek(path) or {})
    keys = _ours(raw, mapping)
    if "answer_counts" in keys:
        return "counts"
    if {"doc_id", "resps"} <= keys:
        return "lm-eval"
    if {"input", "output", "score"} <= keys:
        return "verl"
    if {"n_samples", "n_correct"} <= keys and "sample_index" not in keys:
        return "binary"
    if set(REQUIRED) <= keys:
        return "generic" if mapping and not set(REQUIRED) <= raw else "records"
    miss = sorted(set(REQUIRED) - keys)
    raise ValueError(f"{path}: cannot tell the format from fields {sorted(raw)[:16]} (sample records lack {miss}); "
                     f"pass format= (one of {', '.join(FORMATS[1:])}) and, for other field names, mapping=")


# ------------------------------------------------------------------------------------------ sample records
def _coerce_csv(obj: dict) -> dict:
    """CSV text cells -> record values (rules in the module docstring); unparsable cells stay strings so
    validation names them."""
    out = dict(obj)
    si = out.get("sample_index")
    if isinstance(si, str) and re.fullmatch(r"\s*[+-]?\d+\s*", si):
        out["sample_index"] = int(si)
    ok = out.get("correct")
    if isinstance(ok, str):
        out["correct"] = {"true": True, "1": True, "false": False, "0": False}.get(ok.strip().lower(), ok)
    for k in ("answer", "gold", "run"):
        if out.get(k) == "":
            out[k] = None
    for k in NUMERIC_OPTIONAL:
        v = out.get(k)
        if isinstance(v, str):
            try:
                out[k] = None if v.strip() == "" else float(v)
            except ValueError:
                pass
    return out


def _rename(obj, inv: dict):
    return {inv.get(k, k): v for k, v in obj.items()} if inv and isinstance(obj, dict) else obj


def _rows_to_batch(path: Path, rows, report: ImportReport, mapping=None, csv_text=False) -> Batch:
    """Row-by-row validation of (line, object) pairs (objects in the file's field names)."""
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    cols = Columns()
    for no, obj in rows:
        if not csv_text:
            report.rows_read += 1  # _csv_rows counts its own records
        obj = _rename(obj, inv)
        if csv_text and isinstance(obj, dict):
            obj = _coerce_csv(obj)
        validate_record(obj, str(path), no, report, cols)
    return cols.to_batch(str(path))


_JSON_TYPES = {bool: "bool", int: "int", str: "str", float: "float", type(None): "null"}


def _jsonl_fast(path: Path, data: bytes, report: ImportReport, mapping=None) -> Batch | None:
    """pyarrow.json fast path for JSONL sample records; None when the file needs line-by-line validation
    (invalid UTF-8 or JSON anywhere, a field whose JSON type changes between lines, unexpected types)."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    m = dict(mapping or {})
    fields = list(REQUIRED) + ["run", "gold"] + list(NUMERIC_OPTIONAL)
    theirs = {k: m.get(k, k) for k in fields}
    first = next((ln for ln in data.split(b"\n", 50)[:50] if ln.strip()), None)
    try:
        obj = json.loads(first) if first is not None else None
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    arrow = {"bool": pa.bool_(), "int": pa.int64(), "str": pa.string(), "float": pa.float64()}
    allowed = {"checkpoint": ("int", "str"), "problem_id": ("int", "str"), "sample_index": ("int",),
               "answer": ("str", "int", "null"), "correct": ("bool",), "run": ("int", "str", "null"),
               "gold": ("str", "int", "null"), **{k: ("int", "float", "null") for k in NUMERIC_OPTIONAL}}
    schema = []
    for k in fields:
        if theirs[k] not in obj:
            if k in REQUIRED:
                return None
            t = "float" if k in NUMERIC_OPTIONAL else "str"
        else:
            t = _JSON_TYPES.get(type(obj[theirs[k]]))
            if t not in allowed[k]:
                return None
            if t == "null":
                t = "float" if k in NUMERIC_OPTIONAL else "str"
            if k in NUMERIC_OPTIONAL:
                t = "float"
        schema.append(pa.field(theirs[k], arrow[t]))
    if len({f.name for f in schema}) != len(schema):
        return None  # a mapping sends two of our fields to one of theirs
    try:
        table = pj.read_json(io.BytesIO(data), read_options=pj.ReadOptions(block_size=1 << 24),
                             parse_options=pj.ParseOptions(explicit_schema=pa.schema(schema), unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    arr = np.frombuffer(data, np.uint8)
    nl = np.flatnonzero(arr == 10)
    starts = np.r_[0, nl + 1]
    ends = np.r_[nl, arr.size]
    length = ends - starts
    first_byte = arr[np.minimum(starts, max(arr.size - 1, 0))]
    nonblank = (length > 0) & ~np.isin(first_byte, _WS)
    for j in np.flatnonzero((length > 0) & ~nonblank).tolist():  # lines starting with white space: rare
        nonblank[j] = bool(data[starts[j]:ends[j]].strip())
    nonblank = np.flatnonzero(nonblank)
    if nonblank.size != table.num_rows:
        return None
    table = table.rename_columns([{v: k for k, v in theirs.items()}.get(c, c) for c in table.column_names])
    inv = {t: o for o, t in theirs.items() if t != o}
    lines = nonblank + 1

    def row_of(i):
        j = nonblank[i]
        return _rename(json.loads(data[starts[j]:ends[j]]), inv)

    report.rows_read += table.num_rows
    return batch_from_arrow(table, str(path), report, lines=lines, row_of=row_of, recheck_null_answers=True)


def _parquet_records(path: Path, report: ImportReport, mapping=None) -> Batch:
    """Sample records from Parquet: vectorized when the column types are right, else row by row."""
    import pyarrow.parquet as pq

    m = dict(mapping or {})
    fields = list(REQUIRED) + ["run", "gold"] + list(NUMERIC_OPTIONAL)
    names = pq.read_schema(path).names
    theirs = {k: m.get(k, k) for k in fields if m.get(k, k) in names}
    table = pq.read_table(path, columns=list(dict.fromkeys(theirs.values())))
    table = table.select(list(theirs.values())).rename_columns(list(theirs))
    report.rows_read += table.num_rows
    if arrow_types_ok(table):
        return batch_from_arrow(table, str(path), report)
    missing = [k for k in REQUIRED if k not in theirs]
    if missing:  # the same reason for every row, one rejection per row
        why = f"missing field: {', '.join(missing)}"
        for i in range(table.num_rows):
            report.reject(path, i + 1, why)
        return Columns().to_batch(str(path))
    cols = Columns()
    for i, obj in enumerate(table.to_pylist(), start=1):
        validate_record(obj, str(path), i, report, cols)
    return cols.to_batch(str(path))


# ------------------------------------------------------------------------------------------ counts forms
def _counts_rows(path: Path, rows, report: ImportReport, default_ck: str, mapping, store: dict, eq):
    """Validate answer-count lines into ``store[(run, checkpoint, problem)] = (counts, gold, where)``."""
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    for no, obj in rows:
        report.rows_read += 1
        obj = _rename(obj, inv)
        if not isinstance(obj, dict):
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        gold_key = "gold" if obj.get("gold") is not None else "correct_answer"
        miss = [k for k, present in (("problem_id", "problem_id" in obj), ("answer_counts", "answer_counts" in obj),
                                     ("gold (or correct_answer)", obj.get(gold_key) is not None)) if not present]
        if miss:
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        try:
            pid = _label(obj["problem_id"])
        except TypeError:
            report.reject(path, no, f"wrong type: problem_id must be an int or non-empty string, got {obj['problem_id']!r}")
            continue
        try:
            gold = _answer_str(obj[gold_key])
        except TypeError:
            report.reject(path, no, f"wrong type: {gold_key} must be a string, got {obj[gold_key]!r}")
            continue
        ac = obj["answer_counts"]
        if not isinstance(ac, dict):
            report.reject(path, no, f"wrong type: answer_counts must be an object answer -> count, got {ac!r}")
            continue
        bad = [(k, v) for k, v in ac.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0]
        if bad:
            report.reject(path, no, f"wrong type: answer_counts[{bad[0][0]!r}] must be a non-negative integer, got {bad[0][1]!r}")
            continue
        extra_null = obj.get("n_null", 0)
        if isinstance(extra_null, bool) or not isinstance(extra_null, int) or extra_null < 0:
            report.reject(path, no, f"wrong type: n_null must be a non-negative integer, got {extra_null!r}")
            continue
        total = sum(ac.values()) + extra_null
        ns = obj.get("n_samples")
        if ns is not None and (isinstance(ns, bool) or not isinstance(ns, int) or ns != total):
            report.reject(path, no, f"inconsistent counts: n_samples = {ns!r} but answer_counts (with unparsed) sum to {total}")
            continue
        try:
            ck = _label(obj["checkpoint"]) if "checkpoint" in obj else default_ck
        except TypeError:
            report.reject(path, no, f"wrong type: checkpoint must be an int or non-empty string, got {obj['checkpoint']!r}")
            continue
        try:
            run = None if obj.get("run") is None else _label(obj["run"])
        except TypeError:
            report.reject(path, no, f"wrong type: run must be an int or non-empty string, got {obj['run']!r}")
            continue
        key = (run, ck, pid)
        if key in store:
            report.reject(path, no, f"duplicate key: (checkpoint {ck!r}, problem_id {pid!r}) first seen at {store[key][2]}")
            continue
        g0 = store.get(("gold", pid))
        if g0 is not None and g0[0] != gold:
            report.reject(path, no, f"inconsistent gold: problem_id {pid!r} has gold {gold!r} here, but {g0[0]!r} first at {g0[1]}")
            continue
        counts: dict = {}
        n_null = extra_null
        keys = []
        for k, v in ac.items():
            if k in ("null", ""):
                n_null += v
            else:
                keys.append((k, v))
        reps = eq.group([k for k, _ in keys], gold=gold) if eq is not None else [k for k, _ in keys]
        for (k, v), r in zip(keys, reps):
            counts[r] = counts.get(r, 0) + v
        if n_null:
            counts[None] = n_null
        store[key] = (counts, gold, f"{path}:{no}")
        store.setdefault(("gold", pid), (gold, f"{path}:{no}"))
        report.rows_accepted += 1


def _cell_axes(keys) -> tuple:
    """Axes of a table from (run, checkpoint, problem_id, ...) keys: the (run, checkpoint) pairs in
    ``checkpoint_order``, their labels and steps, the problem ids in first-appearance order, and the
    index maps of both."""
    rc = list(dict.fromkeys((k[0], k[1]) for k in keys))
    order, labels, steps = checkpoint_order([r for r, _ in rc], [c for _, c in rc])
    rc = [rc[i] for i in order]
    pids = list(dict.fromkeys(k[2] for k in keys))
    return rc, labels, steps, pids, {c: i for i, c in enumerate(rc)}, {p: i for i, p in enumerate(pids)}


def _table_from_counts_store(store: dict, report: ImportReport) -> CountsTable:
    cells = {k: v for k, v in store.items() if k[0] != "gold"}
    if not cells:
        raise NoRecordsError("counts: no valid rows (see the import report)", report)
    rc, labels, steps, pids, ci, pi = _cell_axes(cells)
    counts = [[{} for _ in pids] for _ in rc]
    golds = [[None] * len(pids) for _ in rc]
    for (r, c, p), (cnt, gold, _) in cells.items():
        counts[ci[(r, c)]][pi[p]] = cnt
        golds[ci[(r, c)]][pi[p]] = gold
    return from_answer_counts(labels, pids, counts, golds, steps=steps)


def _int_cell(v):
    """Integer from an int, an integral float, or a decimal string (CSV); None otherwise."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(v) and float(v).is_integer():
        return int(v)
    if isinstance(v, str) and re.fullmatch(r"\s*\d+\s*", v):
        return int(v)
    return None


def _binary_rows(path: Path, rows, report: ImportReport, default_ck: str, mapping, store: dict, count_rows: bool):
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    for no, obj in rows:
        if count_rows:
            report.rows_read += 1
        obj = _rename(obj, inv)
        if not isinstance(obj, dict):
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        miss = [f for f in ("problem_id", "n_samples", "n_correct") if f not in obj]
        if miss:
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        ns, nc = _int_cell(obj["n_samples"]), _int_cell(obj["n_correct"])
        if ns is None or ns < 0:
            report.reject(path, no, f"wrong type: n_samples must be a non-negative integer, got {obj['n_samples']!r}")
            continue
        if nc is None or nc < 0:
            report.reject(path, no, f"wrong type: n_correct must be a non-negative integer, got {obj['n_correct']!r}")
            continue
        if nc > ns:
            report.reject(path, no, f"inconsistent counts: n_correct = {nc} exceeds n_samples = {ns}")
            continue
        try:
            pid = _label(obj["problem_id"])
            ck = _label(obj["checkpoint"]) if "checkpoint" in obj else default_ck
            run = None if obj.get("run") in (None, "") else _label(obj["run"])
        except TypeError:
            report.reject(path, no, f"wrong type: problem_id/checkpoint/run must be ints or non-empty strings, got "
                                    f"{obj.get('problem_id')!r}/{obj.get('checkpoint', default_ck)!r}/{obj.get('run')!r}")
            continue
        key = (run, ck, pid)
        if key in store:
            report.reject(path, no, f"duplicate key: (checkpoint {ck!r}, problem_id {pid!r}) first seen at {store[key][2]}")
            continue
        store[key] = (ns, nc, f"{path}:{no}")
        report.rows_accepted += 1


def _binary_table(store: dict, report: ImportReport) -> CountsTable:
    if not store:
        raise NoRecordsError("binary counts: no valid rows (see the import report)", report)
    rc, labels, steps, pids, ci, pi = _cell_axes(store)
    ns = np.zeros((len(rc), len(pids)), np.int64)
    nc = np.zeros_like(ns)
    for (r, c, p), (a, b, _) in store.items():
        ns[ci[(r, c)], pi[p]], nc[ci[(r, c)], pi[p]] = a, b
    return CountsTable(tuple(labels), steps, tuple(pids), ns, nc)


# ------------------------------------------------------------------------------------------ lm-eval / verl
_LM_EVAL_NAME = re.compile(r"^samples_(?P<task>.+?)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)$")


def lm_eval_task(path) -> str:
    """Task name of an lm-eval ``samples_<task>_<date>.jsonl`` file (else the file stem)."""
    stem = Path(path).stem
    m = _LM_EVAL_NAME.match(stem)
    if m:
        return m.group("task")
    return stem[len("samples_"):] if stem.startswith("samples_") else stem


def _target_answer(target: str) -> str:
    """The reference answer of an lm-eval target: extracted when the target is a worked solution
    ("#### 18", "\\boxed{..}", "The answer is ..."), else the stripped target itself."""
    from real.logs.answers import extract_answer

    t = target.strip()
    if "####" in t or "\\boxed" in t or "answer" in t.lower():
        return extract_answer(t) or t
    return t


def _lm_eval_rows(path: Path, rows, report: ImportReport, cols: Columns, ck: str, task_prefix: str | None, eq, state: dict):
    from real.logs.answers import extract_answer

    for no, obj in rows:
        if not isinstance(obj, dict):
            report.rows_read += 1
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        miss = [k for k in ("doc_id", "target", "resps") if k not in obj]
        if miss:
            report.rows_read += 1
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        filt = obj.get("filter", "none")
        if state.get("filter") is None:
            state["filter"] = filt
            report.notes.append(f"lm-eval: using filter {filt!r} (the first seen; choose with lm_eval_filter=)")
        if filt != state["filter"]:
            report.rows_read += 1
            state["skipped"] = state.get("skipped", 0) + 1
            report.reject(path, no, f"filter not selected: {filt!r} (using {state['filter']!r})")
            continue
        try:
            doc = _label(obj["doc_id"])
        except TypeError:
            report.rows_read += 1
            report.reject(path, no, f"wrong type: doc_id must be an int or non-empty string, got {obj['doc_id']!r}")
            continue
        target = obj["target"]
        if isinstance(target, (int, float)) and not isinstance(target, bool):
            target = str(int(target)) if float(target).is_integer() else str(target)
        if not isinstance(target, str):
            report.rows_read += 1
            report.reject(path, no, f"wrong type: target must be a string or number, got {target!r}")
            continue
        resps = obj["resps"]
        raw = [x for grp in resps for x in (grp if isinstance(grp, list) else [grp])] if isinstance(resps, list) else None
        if not raw or not all(isinstance(x, str) for x in raw):
            report.rows_read += 1
            report.reject(path, no, "wrong type: resps must be a non-empty list of lists of strings (a generation task)")
            continue
        filtered = obj.get("filtered_resps")
        if isinstance(filtered, str):
            filtered = [filtered]
        flat = [x for grp in filtered for x in (grp if isinstance(grp, list) else [grp])] if isinstance(filtered, list) else None
        if flat is not None and len(flat) == len(raw) and all(isinstance(x, str) for x in flat):
            answers = [None if x.strip() in ("", "[invalid]", "[no match]") else x.strip() for x in flat]
            state["from_filtered"] = state.get("from_filtered", 0) + 1
        else:
            answers = [extract_answer(x) for x in raw]
            state["from_raw"] = state.get("from_raw", 0) + 1
        gold = _target_answer(target)
        if eq is not None:
            reps = eq.group(answers, gold=gold)
        else:
            reps = answers
        report.rows_read += len(raw)
        pid = doc if task_prefix is None else f"{task_prefix}/{doc}"
        for j, r in enumerate(reps):
            validate_record({"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": r,
                             "correct": r is not None and r == gold, "gold": gold}, str(path), no, report, cols)


def _verl_rows(path: Path, rows, report: ImportReport, cols: Columns, threshold: float, counters: dict, state: dict):
    from real.logs.answers import extract_answer

    for no, obj in rows:
        report.rows_read += 1
        if not isinstance(obj, dict):
            report.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        miss = [k for k in ("input", "output", "score") if k not in obj]
        if miss:
            report.reject(path, no, f"missing field: {', '.join(miss)}")
            continue
        bad = [k for k in ("input", "output") if not isinstance(obj[k], str)]
        if bad:
            report.reject(path, no, f"wrong type: {bad[0]} must be a string, got {type(obj[bad[0]]).__name__}")
            continue
        score = obj["score"]
        if not isinstance(score, (int, float)) or (isinstance(score, float) and math.isnan(score)):
            report.reject(path, no, f"wrong type: score must be a number, got {score!r}")
            continue
        gts = obj.get("gts")
        if isinstance(gts, float) and math.isfinite(gts) and gts.is_integer():
            gts = int(gts)
        if gts is not None and (isinstance(gts, bool) or not isinstance(gts, (str, int, float))):
            report.reject(path, no, f"wrong type: gts must be a string or number, got {gts!r}")
            continue
        gold = None if gts is None else str(gts)
        try:
            step = _label(obj["step"]) if obj.get("step") is not None else path.stem
        except TypeError:
            report.reject(path, no, f"wrong type: step must be an int or non-empty string, got {obj['step']!r}")
            continue
        pid = hashlib.sha1(obj["input"].encode("utf-8")).hexdigest()[:12]
        idx = counters.get((step, pid), 0)
        counters[(step, pid)] = idx + 1
        ans = extract_answer(obj["output"])
        correct = float(score) > threshold
        if ans is None and correct:
            ans = gold if gold is not None else "<unparsed correct answer>"
            state["unparsed_correct"] = state.get("unparsed_correct", 0) + 1
        validate_record({"checkpoint": step, "problem_id": pid, "sample_index": idx, "answer": ans, "correct": correct,
                         "gold": gold}, str(path), no, report, cols)


# ------------------------------------------------------------------------------------------ entry point
def load_counts(paths, *, format: str = "auto", mapping: dict | None = None, checkpoint=None, equivalence=None,
                lm_eval_filter: str | None = None, verl_threshold: float = 0.0,
                fast: bool = True) -> tuple[CountsTable, ImportReport]:
    """Read log files (or folders of them) into a CountsTable plus an ImportReport (formats and rules:
    the module docstring and ``real.logs.schema``).

    Args:
      paths: a file or folder, or a list of them; files are concatenated in order (a folder's files
        sorted, numeric stems numerically). Empty files are noted in the report; if every file is empty,
        ValueError naming them.
      format: "auto" (per file, :func:`detect_format`), or one of records, generic, counts, binary,
        lm-eval, verl. All files must hold the same level of data (sample-level formats mix freely;
        counts and binary each stand alone).
      mapping: ``{our_field: their_field}`` renaming applied before validation (any format).
      checkpoint: label for data that carries none (counts/binary without a checkpoint field, lm-eval);
        defaults: file stem (counts, binary), parent folder name (lm-eval).
      equivalence: a ``real.logs.answers.AnswerEquivalence`` to merge equivalent answer strings; None = the
        format's default (records/generic/counts: exact strings, trusted as canonical; lm-eval/verl: an
        AnswerEquivalence() made and closed here; when verl files are mixed with other sample files it
        merges their answers too); False = exact strings everywhere.
      lm_eval_filter: the lm-eval filter to use (default: the first seen).
      verl_threshold: a verl sample is correct when score > verl_threshold.
      fast: False forces line-by-line validation of JSONL sample records (same result, slower; for checks).
    Returns (table, report); ``report.rows_read == report.rows_accepted + report.n_rejected``.
    Raises ValueError (bad arguments, unknown format, all files empty, a file of the wrong level),
    FileNotFoundError, and NoRecordsError (a ValueError carrying ``.report``) when no row is accepted.
    """
    fmt = _ALIASES.get(format, format)
    if fmt not in FORMATS:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {format!r}")
    if mapping is not None and (not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())):
        raise ValueError(f"mapping: must be a dict of field name -> field name, got {mapping!r}")
    if not isinstance(verl_threshold, (int, float)) or isinstance(verl_threshold, bool) or math.isnan(verl_threshold):
        raise ValueError(f"verl_threshold: must be a number, got {verl_threshold!r}")
    files = _expand(paths)
    report = ImportReport(files=[str(f) for f in files])
    kinds: dict = {}
    for f in files:
        if _is_empty(f):
            report.empty_files.append(str(f))
            report.notes.append(f"{f}: empty file (no data rows)")
            continue
        kinds[f] = detect_format(f, mapping) if fmt == "auto" else fmt
    if not kinds:
        raise ValueError(f"no data: every input file is empty ({', '.join(map(str, files))})")
    level = {k: ("counts" if k == "counts" else "binary" if k == "binary" else "samples") for k in kinds.values()}
    if len(set(level.values())) > 1:
        raise ValueError("format: files mix levels of data ("
                         + ", ".join(f"{f.name}: {k}" for f, k in kinds.items()) + "); import them separately")
    lev = next(iter(level.values()))
    try:
        if lev == "counts":
            table = _load_counts_form(kinds, report, mapping, checkpoint, equivalence)
        elif lev == "binary":
            table = _load_binary(kinds, report, mapping, checkpoint)
        else:
            table = _load_samples(kinds, report, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold, fast)
    except NoRecordsError as e:
        report.sort()
        raise NoRecordsError(f"no valid rows in {', '.join(map(str, kinds))}: {report.rows_read} read, all rejected "
                             f"({report.reasons()}); first: "
                             + "; ".join(f"{r.file}:{r.line}: {r.reason}" for r in report.rejected[:3]), report) from e
    report.sort()
    if report.rows_read != report.rows_accepted + report.n_rejected:  # pragma: no cover - an accounting bug
        raise RuntimeError(f"import report does not add up: {report.rows_read} read != {report.rows_accepted} accepted "
                           f"+ {report.n_rejected} rejected")
    return table, report


def _text_rows(f: Path, report: ImportReport):
    return _csv_rows(f, report) if _kind_of_ext(f) == "csv" else _json_lines(f, report)


def _load_counts_form(kinds, report, mapping, checkpoint, equivalence) -> CountsTable:
    store: dict = {}
    eq = equivalence if equivalence not in (None, False) else None
    for f in kinds:
        if _kind_of_ext(f) != "jsonl":
            raise ValueError(f"{f}: the counts format (answer_counts per line) is read from JSON lines only")
        default = str(checkpoint) if checkpoint is not None else f.stem
        before = len(store)
        _counts_rows(f, _json_lines(f, report), report, default, mapping, store, eq)
        if "checkpoint" not in _ours(_peek(f) or {}, mapping) and len(store) > before:
            report.notes.append(f"{f}: no checkpoint field in its first line; rows without one are labelled {default!r}")
    return _table_from_counts_store(store, report)


def _load_binary(kinds, report, mapping, checkpoint) -> CountsTable:
    store: dict = {}
    for f in kinds:
        default = str(checkpoint) if checkpoint is not None else f.stem
        if "checkpoint" not in _ours(_peek(f) or {}, mapping):
            report.notes.append(f"{f}: no checkpoint column; every row labelled {default!r} "
                                f"(name the column with mapping={{'checkpoint': ...}})")
        if _kind_of_ext(f) == "parquet":
            import pyarrow.parquet as pq

            recs = pq.read_table(f).to_pylist()
            _binary_rows(f, enumerate(recs, start=1), report, default, mapping, store, count_rows=True)
        elif _kind_of_ext(f) == "csv":
            _binary_rows(f, _csv_rows(f, report), report, default, mapping, store, count_rows=False)
        else:
            _binary_rows(f, _json_lines(f, report), report, default, mapping, store, count_rows=True)
    return _binary_table(store, report)


def _load_samples(kinds, report, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold, fast) -> CountsTable:
    batches = []
    own_eq = None

    def get_eq():
        nonlocal own_eq
        if equivalence is False:
            return None
        if equivalence is not None:
            return equivalence
        if own_eq is None:
            from real.logs.answers import AnswerEquivalence

            own_eq = AnswerEquivalence()
        return own_eq

    tasks = {lm_eval_task(f) for f, k in kinds.items() if k == "lm-eval"}
    lm_state = {"filter": lm_eval_filter}
    verl_counters: dict = {}
    verl_state: dict = {}
    core_eq = None
    try:
        for f, kind in kinds.items():
            ext = _kind_of_ext(f)
            if kind in ("records", "generic"):
                if ext == "parquet":
                    batches.append(_parquet_records(f, report, mapping))
                elif ext == "csv":
                    batches.append(_rows_to_batch(f, _csv_rows(f, report), report, mapping, csv_text=True))
                else:
                    data = f.read_bytes()
                    b = _jsonl_fast(f, data, report, mapping) if fast else None
                    if b is None:
                        b = _rows_to_batch(f, _json_lines(f, report, data), report, mapping)
                    batches.append(b)
                if equivalence not in (None, False):
                    core_eq = equivalence
            elif kind == "lm-eval":
                cols = Columns()
                ck = str(checkpoint) if checkpoint is not None else (f.parent.name or f.stem)
                rows = ((no, _rename(obj, {t: o for o, t in (mapping or {}).items()})) for no, obj in _json_lines(f, report))
                _lm_eval_rows(f, rows, report, cols, ck, lm_eval_task(f) if len(tasks) > 1 else None, get_eq(), lm_state)
                batches.append(cols.to_batch(str(f)))
            elif kind == "verl":
                cols = Columns()
                rows = ((no, _rename(obj, {t: o for o, t in (mapping or {}).items()})) for no, obj in _json_lines(f, report))
                _verl_rows(f, rows, report, cols, float(verl_threshold), verl_counters, verl_state)
                batches.append(cols.to_batch(str(f)))
                core_eq = get_eq()
            else:  # pragma: no cover - levels are checked by the caller
                raise ValueError(f"{f}: format {kind!r} is not sample-level")
        if lm_state.get("skipped"):
            report.notes.append(f"lm-eval: {lm_state['skipped']} doc line(s) of other filters rejected (reason 'filter not selected')")
        if lm_state.get("from_filtered") or lm_state.get("from_raw"):
            report.notes.append(f"lm-eval: answers from filtered_resps for {lm_state.get('from_filtered', 0)} doc(s), extracted "
                                f"from raw resps for {lm_state.get('from_raw', 0)}; report rows are sample records")
        if verl_state.get("unparsed_correct"):
            report.notes.append(f"verl: {verl_state['unparsed_correct']} row(s) scored correct with no extractable answer "
                                f"were counted as the gold answer")
        return _records_core(batches, report, core_eq)
    finally:
        if own_eq is not None:
            own_eq.close()
