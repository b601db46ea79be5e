"""The ``records`` format: our sample records, one object/row per sample (what ``real evaluate`` writes,
``real.lab.evaluate.completion_record``; the schema, its validation and the rules that turn records into a
table: ``real.logs.schema``), as JSON lines (.jsonl/.json/.ndjson), Parquet (.parquet/.pq) or CSV (.csv;
text cells read by ``real.logs.formats.mapped.coerce_csv_cells``). Also the reader of ``generic`` (the
same under other field names, with a mapping).

Fields: required ``checkpoint``, ``problem_id``, ``sample_index``, ``answer``, ``correct``; optional
``run``, ``gold``, ``text``, ``n_tokens``, ``logprob``, ``mean_token_entropy``.

Speed without a second rulebook: Parquet files, and JSONL files whose lines all parse with consistent types
(pyarrow's JSON reader, :func:`jsonl_fast`), are validated and grouped without per-row Python
(``real.logs.schema.batch_from_arrow``; rows that might be invalid, and JSONL rows with a null answer, are
re-checked one by one, so the reasons are the same as line-by-line validation). A JSONL file with any line
pyarrow cannot take (invalid UTF-8 or JSON, a field whose type changes between lines, a non-object line) is
validated line by line instead (:func:`rows_to_batch`; same result, about 3-4x slower).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from real.logs.formats.files import csv_rows, file_kind, json_lines
from real.logs.formats.mapped import coerce_csv_cells, renamer
from real.logs.schema import NUMERIC_OPTIONAL, REQUIRED, Batch, Columns, ImportReport, arrow_types_ok, batch_from_arrow, validate_record


def read_records(path: Path, report: ImportReport, mapping=None, fast: bool = True) -> Batch:
    """The valid sample records of one file as a :class:`Batch` (rejections into ``report``): Parquet by
    :func:`parquet_records`, CSV row by row, JSONL by :func:`jsonl_fast` unless ``fast`` is False or the file
    needs line-by-line validation."""
    kind = file_kind(path)
    if kind == "parquet":
        return parquet_records(path, report, mapping)
    if kind == "csv":
        return rows_to_batch(path, csv_rows(path, report), report, mapping, csv_text=True)
    data = path.read_bytes()
    batch = jsonl_fast(path, data, report, mapping) if fast else None
    if batch is None:
        batch = rows_to_batch(path, json_lines(path, report, data), report, mapping)
    return batch


def rows_to_batch(path: Path, rows, report: ImportReport, mapping=None, csv_text: bool = False) -> Batch:
    """Row-by-row validation of (line, object) pairs (objects in the file's field names; ``csv_text``: the
    cells are CSV text, and ``rows`` counted ``rows_read`` itself, as ``csv_rows`` does)."""
    rename = renamer(mapping)
    cols = Columns()
    for no, obj in rows:
        if not csv_text:
            report.rows_read += 1
        obj = rename(obj)
        if csv_text and isinstance(obj, dict):
            obj = coerce_csv_cells(obj)
        validate_record(obj, str(path), no, report, cols)
    return cols.to_batch(str(path))


_JSON_TYPES = {bool: "bool", int: "int", str: "str", float: "float", type(None): "null"}
_WS = (9, 10, 11, 12, 13, 32)  # bytes.strip() whitespace


def jsonl_fast(path: Path, data: bytes, report: ImportReport, mapping=None) -> Batch | None:
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
    rename = renamer({o: t for o, t in theirs.items() if t != o})
    lines = nonblank + 1

    def row_of(i):
        j = nonblank[i]
        return rename(json.loads(data[starts[j]:ends[j]]))

    report.rows_read += table.num_rows
    return batch_from_arrow(table, str(path), report, lines=lines, row_of=row_of, recheck_null_answers=True)


def parquet_records(path: Path, report: ImportReport, mapping=None) -> Batch:
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
