"""Input files, read the same way by every format: which files, which reader, and the rows they hold.

- :func:`expand_paths`: a path or list of paths (files or folders) -> the data files, in order;
- :func:`file_kind`: the reader a file gets, from its extension alone (.parquet/.pq: Parquet; .csv: CSV;
  anything else: JSON lines);
- :func:`json_lines` / :func:`csv_rows`: (line number, row) pairs. Files are read as bytes and decoded
  line by line, so a line with invalid UTF-8 (or invalid JSON, or a CSV record with the wrong number of
  fields) is rejected alone, naming its line, and the rest of the file is read;
- :func:`peek_fields` (the field names of a file, for format detection) and :func:`is_empty`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from real.logs.schema import ImportReport

DATA_EXTENSIONS = (".jsonl", ".json", ".ndjson", ".parquet", ".pq", ".csv")


def file_kind(path: Path) -> str:
    """"parquet", "csv" or "jsonl": the reader for ``path``, from its extension."""
    s = path.suffix.lower()
    return "parquet" if s in (".parquet", ".pq") else "csv" if s == ".csv" else "jsonl"


def expand_paths(paths) -> list[Path]:
    """Files of ``paths`` (a path or a list; a folder gives its data files, numeric stems in numeric order).
    ValueError for a folder without data files or no paths; FileNotFoundError for a missing path."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = [f for f in p.iterdir() if f.is_file() and f.suffix.lower() in DATA_EXTENSIONS]
            if not files:
                raise ValueError(f"{p}: folder holds no {', '.join(DATA_EXTENSIONS)} files")
            out += sorted(files, key=lambda f: (0, int(f.stem), "") if f.stem.isdigit() else (1, 0, f.name))
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not out:
        raise ValueError("paths: no input files given")
    return out


def json_lines(path: Path, report: ImportReport, data: bytes | None = None):
    """(line number, object) for each non-blank line of a JSON-lines file (``data``: its bytes, when already
    read). Bad UTF-8 / bad JSON lines are rejected here and counted in ``rows_read``; the caller counts the
    lines it receives."""
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


def csv_rows(path: Path, report: ImportReport):
    """(line number where the record starts, dict of header -> text cell) per CSV record after the header;
    quoted fields may span lines. A physical line with invalid UTF-8 is rejected (and left out of the CSV
    stream); a record with the wrong number of fields is rejected. Counts ``rows_read`` for every record and
    bad line (unlike :func:`json_lines`)."""
    data = path.read_bytes()
    physical = data.split(b"\n")
    served: list[int] = []

    def stream():
        for no, raw in enumerate(physical, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                if not served:
                    raise ValueError(f"{path}: the header line is not valid UTF-8 "
                                     f"(byte {raw[e.start]:#04x} at column {e.start + 1})") from None
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


def peek_fields(path: Path) -> dict:
    """Field names (as dict keys) of the first parsable record: the first JSON line that is an object, the
    CSV header, or the Parquet schema; {} when the file has none. ValueError for an unreadable Parquet file."""
    kind = file_kind(path)
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


def is_empty(path: Path) -> bool:
    """True when a file holds no data rows (0 bytes, only blank lines, a CSV header only, 0 Parquet rows)."""
    if file_kind(path) == "parquet":
        import pyarrow.parquet as pq

        if path.stat().st_size == 0:
            return True
        try:
            return pq.ParquetFile(path).metadata.num_rows == 0
        except Exception as e:  # noqa: BLE001 - any reader error means "not Parquet"
            raise ValueError(f"{path}: not a readable Parquet file ({e})") from None
    need = 2 if file_kind(path) == "csv" else 1  # a CSV needs a header and a record
    seen = 0
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.strip():
                seen += 1
                if seen >= need:
                    return False
    return True
