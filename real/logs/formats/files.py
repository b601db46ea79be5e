"""Input files, read the same way by every format: which files, which reader, and the rows they hold.

- :func:`expand_paths`: a path or list of paths (files or folders) -> the data files, in order;
- :func:`file_kind`: the reader a file gets, from its extension alone (.parquet/.pq: Parquet; .csv: CSV;
  anything else: JSON lines);
- :func:`json_lines` / :func:`csv_rows`: (line number, row) pairs. Files are read as bytes and decoded
  line by line, so a line with invalid UTF-8 (or invalid JSON, or a CSV record with the wrong number of
  fields) is rejected alone, naming its line, and the rest of the file is read;
- :func:`json_document`: the entries of one JSON document (an object of entries, or an object whose member
  holds them, as OpenCompass writes its predictions and results), each with the line it starts on; an entry
  with invalid UTF-8 or a duplicated key is rejected alone, and a syntax error rejects the rest of the document
  as one row naming its line (the entries before it are kept);
- :func:`peek_fields` (the field names of a file, for format detection) and :func:`is_empty`.
"""

from __future__ import annotations

import csv
import json
import re
from json.decoder import scanstring
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
        except ValueError as e:  # json raises a plain ValueError for an integer literal beyond Python's digit limit
            report.rows_read += 1
            report.reject(path, no, f"invalid JSON: {e}")
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


_WS_RE = re.compile(r"[ \t\n\r]*")
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # invalid UTF-8 bytes, decoded with surrogateescape


class _Syntax(ValueError):
    """A syntax error of a JSON document at character ``pos``."""

    def __init__(self, msg: str, pos: int):
        super().__init__(msg)
        self.msg, self.pos = msg, pos


def _line_of(text: str, pos: int) -> tuple[int, int]:
    """(1-based line, 1-based column) of character ``pos``."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _container(text: str, pos: int, decoder: json.JSONDecoder):
    """(key or position, value start, value end, value) for each entry of the JSON object or array starting at ``pos``
    (white space skipped); _Syntax on a syntax error (entries before it were yielded)."""
    opener = text[pos:pos + 1]
    if opener not in ("{", "["):
        raise _Syntax("expected an object or an array", pos)
    close = "}" if opener == "{" else "]"
    pos = _WS_RE.match(text, pos + 1).end()
    if text[pos:pos + 1] == close:
        return
    i = 0
    while True:
        if opener == "{":
            if text[pos:pos + 1] != '"':
                raise _Syntax("expected a key in double quotes", pos)
            try:
                key, pos = scanstring(text, pos + 1)
            except json.JSONDecodeError as e:
                raise _Syntax(e.msg, e.pos) from None
            pos = _WS_RE.match(text, pos).end()
            if text[pos:pos + 1] != ":":
                raise _Syntax("expected ':'", pos)
            pos = _WS_RE.match(text, pos + 1).end()
        else:
            key = i
        try:
            val, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise _Syntax(e.msg, e.pos) from None
        except ValueError as e:  # an integer literal beyond Python's digit limit
            raise _Syntax(str(e), pos) from None
        yield key, pos, end, val
        i += 1
        pos = _WS_RE.match(text, end).end()
        sep = text[pos:pos + 1]
        if sep == close:
            return
        if sep != ",":
            raise _Syntax(f"expected ',' or '{close}'", pos)
        pos = _WS_RE.match(text, pos + 1).end()


def json_document(path: Path, report: ImportReport, member: str | None = None) -> tuple[dict, list]:
    """One JSON document (``.json``, e.g. ``json.dump(..., indent=4)``) -> ``(top, entries)``.

    ``entries``: ``(line, key, value)`` for each entry of the top-level object (``member=None``) or of its
    ``member`` field (an object, key = its key; or an array, key = the position), ``line`` = the line where the
    entry's value starts. ``top``: the other top-level fields (all of them when ``member`` is None: {}).
    Rejected here, each counted in ``rows_read``: an entry whose text holds invalid UTF-8 ("invalid UTF-8"); a key
    seen before in the same object ("duplicate key", naming the first line; ``json.load`` would keep the last one
    silently); a syntax error ("invalid JSON": the entries before it are kept, and the rest of the document,
    which cannot be split into entries, is one rejected row at the error's line). ``member`` missing or not an
    object/array, or a top level that is not an object: one rejected row. The caller counts the entries it gets.
    """
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    decoder = json.JSONDecoder()
    start = _WS_RE.match(text, 0).end()

    def reject(pos: int, why: str) -> None:
        report.rows_read += 1
        report.reject(path, _line_of(text, pos)[0], why)

    def entries_of(pos: int) -> list:
        out, first = [], {}
        try:
            for key, a, b, val in _container(text, pos, decoder):
                line = _line_of(text, a)[0]
                bad = _BAD_BYTE.search(text, a, b)
                if bad:
                    reject(a, f"invalid UTF-8: byte {ord(bad.group()) - 0xDC00:#04x} at line {_line_of(text, bad.start())[0]}, "
                              f"column {_line_of(text, bad.start())[1]}")
                elif key in first:
                    reject(a, f"duplicate key: {key!r} first seen at {path}:{first[key]}")
                else:
                    first[key] = line
                    out.append((line, key, val))
        except _Syntax as e:
            line, col = _line_of(text, e.pos)
            reject(e.pos, f"invalid JSON: {e.msg} at line {line}, column {col}; the rest of the document from there is "
                          "unreadable and counted as this one row")
        return out

    if member is None:
        return {}, entries_of(start)
    top, where = {}, None
    try:
        for key, a, b, val in _container(text, start, decoder):
            if key == member:
                where = a
            elif not _BAD_BYTE.search(text, a, b):
                top[key] = val
    except _Syntax as e:
        if where is None:
            line, col = _line_of(text, e.pos)
            reject(e.pos, f"invalid JSON: {e.msg} at line {line}, column {col}; no readable {member!r} field before it")
            return top, []
    if where is None:
        reject(start, f"missing field: {member}")
        return top, []
    return top, entries_of(where)


def peek_fields(path: Path) -> dict:
    """Field names (as dict keys) of the first parsable record: the first JSON line that is an object, the
    CSV header, or the Parquet schema; for a ``.json`` file whose first line is not JSON, the whole document
    when it is an object (its top-level fields with their values); {} when the file has none. ValueError for an
    unreadable Parquet file."""
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
            except ValueError:  # JSONDecodeError, UnicodeDecodeError, an integer beyond Python's digit limit
                if path.suffix.lower() == ".json":
                    return _peek_document(path)
                continue
    return {}


def _peek_document(path: Path) -> dict:
    """The top-level object of a JSON document (invalid UTF-8 replaced), or {} when it does not parse."""
    try:
        obj = json.loads(path.read_bytes().decode("utf-8", "replace"))
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


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
