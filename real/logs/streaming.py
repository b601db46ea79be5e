"""Streaming import of our sample records: logs of 10^8 rows -> the same CountsTable in bounded memory.

``real.logs.importers.load_counts`` holds every row (about 230 bytes each at its peak) before it groups them;
:func:`stream_counts` reads a batch of rows at a time, validates it with the same row checks
(``real.logs.schema.batch_from_arrow`` / ``validate_record``; Parquet by ``pyarrow.parquet.ParquetFile.iter_batches``,
JSONL in chunks of whole lines through ``real.logs.formats.records.jsonl_fast`` / ``rows_to_batch``) and folds it
into per-(cell, answer, correct) counts. Memory holds, besides one batch: the counts (one entry per
distinct answer of a cell, as the table itself), the label dictionaries, one bit per (cell, sample index) slot for
the duplicate check, one entry per problem for its gold answer, and the rejected rows of the report.

Formats: our sample records (``records``; ``generic`` with ``mapping=``) as Parquet (.parquet/.pq) or JSON lines
(any other extension but .csv). CSV is not streamed (``real.logs.formats.files.csv_rows`` reads a whole file; a
CSV record may span lines, so it cannot be cut at newlines): ValueError naming the file; use ``load_counts``.
Other formats (answer counts, lm-eval, verl) are ValueError too.

The rules are those of ``real.logs.schema`` (its docstring, items 1-6), with the same result: the same table
(checkpoints, steps, problems, counts, slots, wrong-answer strings) and the same rejections (file, line and reason
text) as ``load_counts(paths)``:
1. row checks: the shared functions above, batch by batch;
2. duplicates of (run, checkpoint, problem_id, sample_index): exact, on every type-valid row in file and line
   order, the first row kept. Sample indices are coded densely (first appearance); codes below ``dense_width``
   are kept as bits per cell, others as sorted 64-bit keys (8 bytes per row: logs whose sample indices are
   global sample ids, not 0..n-1 per cell, cost that much more memory). The reason names the first row's file
   and line; where a duplicate exists, a second read of the files (up to the last duplicate) finds them;
3. inconsistent gold: per problem the first non-null gold of the rows kept so far wins, rows with another gold
   are rejected (one entry per problem: gold and where it was first seen);
4. answer equivalence is not applied: answers are exact strings (the records format's default);
   ``equivalence`` other than None/False is a ValueError;
5. inconsistent correctness: counted per (cell, answer, correct) group; a (cell, answer) marked both ways has
   all its rows rejected. The counts and the first row come from the groups; the rows' lines from a second read
   (only when such a cell exists), skipping rows already rejected by rules 2-3;
6. the table: the same order rules (``real.logs.schema.checkpoint_order``), from the first accepted row of each
   checkpoint and problem, kept per group.
Several temperatures in one import are refused after the read, with the in-memory path's message;
:func:`stream_counts_by_temperature` gives one table per temperature, the rules applied within each, as
``real.logs.importers.load_counts_by_temperature`` does.

Cost: one read of every file; a second read (of the files up to the last duplicate, or of every file when an
answer is marked both ways in a cell) only when such rows exist. Everything per row is vectorized (NumPy); Python
loops run over distinct labels and rejected rows only. Memory: one batch (about 70 MiB per 2^18 Parquet rows),
the groups (3 int64 per (cell, distinct answer, correct) group, more while the table is assembled: 10^8 records
in 5.3 M groups peaked at 1.1 GiB above the libraries), one bit per (cell, sample index) slot, and the report's
rejections (one object per rejected row).
It does not depend on the number of rows beyond that: a log with 10x the samples per cell and the same table costs
the same (tests/real/logs/test_streaming.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from real.logs.formats.files import expand_paths, file_kind, is_empty
from real.logs.formats.records import jsonl_fast, rows_to_batch
from real.logs.schema import (
    NUMERIC_OPTIONAL,
    REQUIRED,
    Batch,
    Columns,
    ImportReport,
    NoRecordsError,
    all_rejected_error,
    arrow_types_ok,
    batch_from_arrow,
    checkpoint_order,
    finish_report,
    table_from_cell_rows,
    temperature_label,
    validate_record,
)
from real.logs.table import CountsTable, tables_with_steps

__all__ = ["BATCH_ROWS", "BATCH_BYTES", "DENSE_WIDTH", "stream_counts", "stream_counts_by_temperature"]

BATCH_ROWS = 1 << 18  # Parquet rows per batch (about 70 MiB of working memory per 2^18 rows)
BATCH_BYTES = 8 << 20  # JSONL bytes per chunk (whole lines; about 80k rows, 150 MiB of working memory)
DENSE_WIDTH = 4096  # sample-index codes below this are kept as bits per cell in the duplicate check
_LINE_BITS = 40  # ordinal of a row = file index << 40 | line: the file and line order as one int64
_LOW32 = (1 << 32) - 1
_NEVER = np.iinfo(np.int64).max


# ------------------------------------------------------------------------------------------ entry points
def stream_counts(paths, *, format: str = "auto", mapping: dict | None = None, equivalence=None, fast: bool = True,
                  steps: dict | None = None, batch_rows: int = BATCH_ROWS, batch_bytes: int = BATCH_BYTES,
                  dense_width: int = DENSE_WIDTH) -> tuple[CountsTable, ImportReport]:
    """Sample records (Parquet or JSONL files, or folders of them) -> (CountsTable, ImportReport), streaming.

    The result equals ``real.logs.importers.load_counts(paths, format=format, mapping=mapping, fast=fast,
    steps=steps)`` (the module docstring says what is covered and what is refused) with peak memory that does not
    grow with the number of rows beyond the counts themselves. Rejected rows are listed in the report with file,
    line (Parquet: 1-based row number) and reason; ``rows_read == rows_accepted + n_rejected``.

    Args:
      paths: a file or folder, or a list of them (``real.logs.formats.files.expand_paths``: a folder's files
        sorted, numeric stems numerically). Empty files are noted; if all are, ValueError naming them.
      format: "auto" (each file must be detected as records or generic), "records" or "generic".
      mapping: ``{our_field: their_field}``, as in ``load_counts``.
      equivalence: None or False only (exact answer strings).
      fast: False validates JSONL line by line (same result, slower), as in ``load_counts``.
      steps: optional ``{checkpoint label: step}`` (``CountsTable.with_steps``).
      batch_rows: Parquet rows per batch; batch_bytes: JSONL bytes per chunk; dense_width: sample-index codes
        below it are duplicate-checked with one bit per (cell, code) slot, the others with 8-byte keys.
    Raises ValueError (bad arguments, a file that is not sample records, CSV, records of several temperatures:
    see :func:`stream_counts_by_temperature`), FileNotFoundError, and ``real.logs.schema.NoRecordsError`` (a
    ValueError carrying ``.report``) when no row is accepted.
    """
    tables, report = _stream(paths, False, format, mapping, equivalence, fast, batch_rows, batch_bytes, dense_width)
    table = tables[None]
    return (table if steps is None else table.with_steps(steps)), report


def stream_counts_by_temperature(paths, *, format: str = "auto", mapping: dict | None = None, equivalence=None,
                                 fast: bool = True, steps: dict | None = None, batch_rows: int = BATCH_ROWS,
                                 batch_bytes: int = BATCH_BYTES, dense_width: int = DENSE_WIDTH) -> tuple[dict, ImportReport]:
    """As :func:`stream_counts`, one CountsTable per sampling temperature: ``({T: table}, report)``, the result of
    ``real.logs.importers.load_counts_by_temperature`` (T a float, or None for records without a temperature; keys
    sorted, None last; the rules applied within each temperature; a temperature whose rows are all rejected has no
    table and a note says so). ``steps``: applied to every table; a label that is a checkpoint of none of them is
    a ValueError."""
    tables, report = _stream(paths, True, format, mapping, equivalence, fast, batch_rows, batch_bytes, dense_width)
    return (tables if steps is None else tables_with_steps(tables, steps)), report


def _stream(paths, by_temperature: bool, format, mapping, equivalence, fast, batch_rows, batch_bytes,
            dense_width) -> tuple[dict, ImportReport]:
    for name, v in (("batch_rows", batch_rows), ("batch_bytes", batch_bytes), ("dense_width", dense_width)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name}: must be an integer >= 1, got {v!r}")
    if equivalence not in (None, False):
        raise ValueError("equivalence: the streaming importer compares answer strings exactly (the records format's default); "
                         "use real.logs.importers.load_counts to merge equivalent answers")
    if format not in ("auto", "records", "generic"):
        raise ValueError(f"format: the streaming importer reads sample records only (auto, records, generic), got {format!r}")
    from real.logs.formats.mapped import check_mapping

    check_mapping(mapping)
    files = expand_paths(paths)
    report = ImportReport(files=[str(f) for f in files])
    todo = []
    for i, f in enumerate(files):
        if file_kind(f) == "csv":
            raise ValueError(f"{f}: CSV is not streamed (a CSV record may span lines); use real.logs.importers.load_counts, "
                             "or convert it to Parquet")
        if is_empty(f):
            report.empty_files.append(str(f))
            report.notes.append(f"{f}: empty file (no data rows)")
            continue
        if format == "auto":
            from real.logs.importers import detect_format  # here: importers may import this module

            kind = detect_format(f, mapping)
            if kind not in ("records", "generic"):
                raise ValueError(f"{f}: format {kind!r}: the streaming importer reads sample records only "
                                 "(records, generic); use real.logs.importers.load_counts")
        todo.append((i, f))
    if not todo:
        raise ValueError(f"no data: every input file is empty ({', '.join(map(str, files))})")
    reader = _Reader(mapping, fast, int(batch_rows), int(batch_bytes))
    try:
        tables = _Aggregation(report, [str(f) for f in files], int(dense_width), by_temperature).run(reader, todo)
    except NoRecordsError as e:
        raise all_rejected_error(report, [f for _, f in todo]) from e
    return tables, finish_report(report)


# ------------------------------------------------------------------------------------------ reading batches
class _Reader:
    """Type-valid :class:`Batch` es of one file, a batch at a time, with absolute line numbers; row-check
    rejections and ``rows_read`` go to the report given."""

    def __init__(self, mapping, fast: bool, batch_rows: int, batch_bytes: int):
        self.mapping, self.fast, self.batch_rows, self.batch_bytes = mapping, fast, batch_rows, batch_bytes

    def batches(self, path: Path, report: ImportReport):
        if file_kind(path) == "parquet":
            yield from self._parquet(path, report)
        else:
            yield from self._jsonl(path, report)

    def _parquet(self, path: Path, report: ImportReport):
        """As ``real.logs.formats.records.parquet_records``, one record batch at a time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        m = dict(self.mapping or {})
        fields = list(REQUIRED) + ["run", "gold"] + list(NUMERIC_OPTIONAL)
        pf = pq.ParquetFile(path)
        names = pf.schema_arrow.names
        theirs = {k: m.get(k, k) for k in fields if m.get(k, k) in names}
        cols = list(dict.fromkeys(theirs.values()))
        schema = pf.schema_arrow
        head = pa.table({c: pa.array([], schema.field(c).type) for c in cols}).select(list(theirs.values())).rename_columns(list(theirs))
        types_ok = arrow_types_ok(head)
        missing = [k for k in REQUIRED if k not in theirs]
        offset = 0
        for rb in pf.iter_batches(batch_size=self.batch_rows, columns=cols):
            table = pa.Table.from_batches([rb]).select(list(theirs.values())).rename_columns(list(theirs))
            n = table.num_rows
            lines = np.arange(offset + 1, offset + n + 1, dtype=np.int64)
            report.rows_read += n
            if types_ok:
                batch = batch_from_arrow(table, str(path), report, lines=lines)
            elif missing:  # the same reason for every row, one rejection per row
                why = f"missing field: {', '.join(missing)}"
                for line in lines.tolist():
                    report.reject(path, line, why)
                batch = Columns().to_batch(str(path))
            else:
                cols_ = Columns()
                for line, obj in zip(lines.tolist(), table.to_pylist()):
                    validate_record(obj, str(path), line, report, cols_)
                batch = cols_.to_batch(str(path))
            offset += n
            yield batch

    def _jsonl(self, path: Path, report: ImportReport):
        """As ``real.logs.formats.records.read_records`` on JSONL, one chunk of whole lines at a time (the fast
        path or line-by-line validation decided per chunk: the same result either way)."""
        from real.logs.formats.files import json_lines

        for offset, data in _line_chunks(path, self.batch_bytes):
            sub = ImportReport(files=[str(path)])
            batch = jsonl_fast(path, data, sub, self.mapping) if self.fast else None
            if batch is None:
                batch = rows_to_batch(path, json_lines(path, sub, data), sub, self.mapping)
            batch.lines = batch.lines + offset
            report.rows_read += sub.rows_read
            for r in sub.rejected:
                report.reject(r.file, r.line + offset, r.reason)
            yield batch


def _line_chunks(path: Path, size: int):
    """(lines before the chunk, bytes) of a file cut after a newline about every ``size`` bytes (a longer line
    is one chunk)."""
    offset, rest = 0, b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(size)
            if not block:
                break
            buf = rest + block
            cut = buf.rfind(b"\n")
            if cut < 0:
                rest = buf
                continue
            chunk, rest = buf[:cut + 1], buf[cut + 1:]
            yield offset, chunk
            offset += chunk.count(b"\n")
    if rest:
        yield offset, rest


# ------------------------------------------------------------------------------------------ dictionaries and key sets
class _Labels:
    """Global label -> code (first appearance), as ``real.logs.schema._merge`` codes a file's labels."""

    def __init__(self):
        self.index: dict = {}
        self.labels: list = []

    def remap(self, codes: np.ndarray, labels: list) -> np.ndarray:
        out = np.empty(len(labels) + 1, np.int64)
        for j, s in enumerate(labels):
            c = self.index.get(s)
            if c is None:
                c = self.index[s] = len(self.labels)
                self.labels.append(s)
            out[j] = c
        out[-1] = -1
        return out[codes]  # code -1 picks the trailing -1


def _runs(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start index of every run of equal consecutive values of ``x``, and the runs' values (O(n): logs are
    usually grouped by checkpoint and problem, so a batch has few runs)."""
    if x.size == 0:
        return np.zeros(0, np.int64), x
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    return starts, x[starts]


def _expand(starts: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.repeat(values, np.diff(np.r_[starts, n]))


class _Codes:
    """Dense codes of int64 keys in first-appearance order, kept across batches (sorted keys for lookups,
    and the key of every code)."""

    def __init__(self):
        self.sorted_keys = np.zeros(0, np.int64)
        self.sorted_codes = np.zeros(0, np.int64)
        self.keys = np.zeros(0, np.int64)

    def __len__(self):
        return len(self.keys)

    def encode(self, x: np.ndarray) -> np.ndarray:
        starts, rv = _runs(np.asarray(x, np.int64))
        u, first, inv = np.unique(rv, return_index=True, return_inverse=True)
        pos = np.minimum(np.searchsorted(self.sorted_keys, u), max(len(self.sorted_keys) - 1, 0))
        hit = self.sorted_keys[pos] == u if len(self.sorted_keys) else np.zeros(len(u), bool)
        code_u = np.empty(len(u), np.int64)
        code_u[hit] = self.sorted_codes[pos[hit]]
        new = np.flatnonzero(~hit)
        if new.size:
            new = new[np.argsort(first[new], kind="stable")]  # first-appearance order
            code_u[new] = len(self.keys) + np.arange(new.size)
            self.keys = np.concatenate([self.keys, u[new]])
            k = np.concatenate([self.sorted_keys, u[new]])
            o = np.argsort(k, kind="stable")
            self.sorted_keys, self.sorted_codes = k[o], np.concatenate([self.sorted_codes, code_u[new]])[o]
        return _expand(starts, code_u[inv.reshape(-1)], len(x))


def _member(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if sorted_keys.size == 0:
        return np.zeros(x.shape, bool)
    i = np.minimum(np.searchsorted(sorted_keys, x), sorted_keys.size - 1)
    return sorted_keys[i] == x


def _first_in_batch(x: np.ndarray) -> np.ndarray:
    """True where x[i] differs from every earlier x[j] (first occurrence within the array)."""
    if x.size < 2 or (x[1:] > x[:-1]).all():  # strictly increasing: every row is a first
        return np.ones(x.size, bool)
    first = np.zeros(x.size, bool)
    first[np.unique(x, return_index=True)[1]] = True
    return first


class _SeenKeys:
    """Exact set of (cell code, sample-index code) keys, for the duplicate rule: codes below ``width_max`` as
    bits (a [cells, width] bit matrix, width a power of two grown as needed), the rest as 64-bit keys
    cell << 32 | code in sorted levels (merged like a log-structured merge tree)."""

    def __init__(self, width_max: int):
        self.width_max = width_max
        self.width = 0
        self.rows = 0
        self.bits = np.zeros(0, np.uint8)
        self.levels: list = []

    def _grow(self, rows: int, width: int) -> None:
        if rows <= self.rows and width <= self.width:
            return
        new_r = self.rows if rows <= self.rows else max(rows, int(self.rows * 1.5) + 64)
        new_w = max(self.width, width)
        bits = np.zeros((new_r, new_w // 8), np.uint8)
        if self.rows:
            bits[:self.rows, :self.width // 8] = self.bits.reshape(self.rows, self.width // 8)
        self.bits, self.rows, self.width = bits.reshape(-1), new_r, new_w

    def add(self, cell: np.ndarray, code: np.ndarray) -> np.ndarray:
        """Insert the keys of a batch (rows in file order); returns True for rows whose key appeared before
        (in an earlier batch or an earlier row of this one)."""
        dup = np.zeros(cell.size, bool)
        if cell.size == 0:
            return dup
        dense = code < self.width_max
        if dense.any():
            need, top = max(self.width, 8), int(code[dense].max())
            while need <= top:
                need *= 2
            self._grow(int(cell[dense].max()) + 1, need)
            rows = np.flatnonzero(dense)
            bit = cell[rows] * self.width + code[rows]
            byte, mask = bit >> 3, (np.uint8(1) << (bit & 7).astype(np.uint8))
            before = (self.bits[byte] & mask) != 0
            dup[rows] = before | ~_first_in_batch(bit)
            np.bitwise_or.at(self.bits, byte, mask)
        if not dense.all():
            rows = np.flatnonzero(~dense)
            key = (cell[rows] << 32) | code[rows]
            before = np.zeros(rows.size, bool)
            for lv in self.levels:
                before |= _member(key, lv)
            dup[rows] = before | ~_first_in_batch(key)
            new = np.unique(key[~before])
            if new.size:
                self.levels.append(new)
                while len(self.levels) > 1 and self.levels[-2].size <= 2 * self.levels[-1].size:
                    b = self.levels.pop()
                    self.levels[-1] = np.sort(np.concatenate([self.levels[-1], b]), kind="stable")
        return dup


class _Groups:
    """Rows per (cell, answer, correct) group: key cell << 33 | (answer code + 1) << 1 | correct, with the row
    count and the first row's ordinal. Each batch's groups are appended; the parts are merged (sorted by key) when
    the pending ones reach half the merged size, by concatenation when they follow each other in key order (a log
    written checkpoint by checkpoint), else by one sort."""

    def __init__(self):
        self.keys = np.zeros(0, np.int64)
        self.count = np.zeros(0, np.int64)
        self.first = np.zeros(0, np.int64)
        self.pending: list = []
        self.n_pending = 0

    def add(self, key: np.ndarray, ordinal: np.ndarray) -> None:
        if key.size == 0:
            return
        if not (key[1:] >= key[:-1]).all():
            o = np.argsort(key, kind="stable")  # stable: within a group, rows stay in file order
            key, ordinal = key[o], ordinal[o]
        starts, u = _runs(key)
        self.pending.append((u, np.diff(np.r_[starts, key.size]), ordinal[starts]))
        self.n_pending += u.size
        if self.n_pending > max(self.keys.size // 2, 1 << 20):
            self.merge()

    def merge(self) -> None:
        if not self.pending:
            return
        parts = ([(self.keys, self.count, self.first)] if self.keys.size else []) + self.pending
        self.pending, self.n_pending = [], 0
        if all(parts[i][0][0] > parts[i - 1][0][-1] for i in range(1, len(parts))):
            self.keys, self.count, self.first = (np.concatenate([p[i] for p in parts]) for i in range(3))
            return
        k = np.concatenate([p[0] for p in parts])
        o = np.argsort(k, kind="stable")
        k = k[o]
        starts, self.keys = _runs(k)
        del k
        self.count = np.add.reduceat(np.concatenate([p[1] for p in parts])[o], starts)
        self.first = np.minimum.reduceat(np.concatenate([p[2] for p in parts])[o], starts)


# ------------------------------------------------------------------------------------------ the aggregation
@dataclass
class _Dup:
    ordinal: np.ndarray
    cell: np.ndarray
    si: np.ndarray
    key: np.ndarray


class _Aggregation:
    """Rules 2-6 of ``real.logs.schema`` over batches read in file order (module docstring)."""

    def __init__(self, report: ImportReport, files: list, dense_width: int, by_temperature: bool):
        self.report, self.files, self.by_temperature = report, files, by_temperature
        self.lab = {k: _Labels() for k in ("run", "checkpoint", "problem_id", "answer", "gold")}
        # codes: temperature (its float64 bits), (temperature, run), (that, checkpoint), cell = (that, problem);
        # (temperature, problem) for the gold rule; sample indices
        self.temp, self.tr, self.rck, self.cells, self.tp, self.si_codes = _Codes(), _Codes(), _Codes(), _Codes(), _Codes(), _Codes()
        self.seen = _SeenKeys(dense_width)
        self.groups = _Groups()
        self.prob_gold = np.full(0, -1, np.int64)
        self.gold_where = np.full(0, -1, np.int64)
        self.dups: list = []
        self.gold_rejected: list = []  # ordinals of rows rejected for gold
        self.n_valid = 0

    # -- one batch: codes
    def _codes(self, b: Batch, fi: int) -> dict:
        cat = {k: self.lab[k].remap(*b.cats[k]) for k in self.lab}
        t = b.temperatures()
        tc = self.temp.encode(np.where(np.isnan(t), np.nan, t + 0.0).view(np.int64))  # one NaN, one zero
        tg = tc if self.by_temperature else np.zeros_like(tc)  # one table: the cells ignore the temperature
        tr = self.tr.encode((tg << 32) | (cat["run"] + 1))
        rck = self.rck.encode((tr << 32) | cat["checkpoint"])
        cell = self.cells.encode((rck << 32) | cat["problem_id"])
        return {**cat, "cell": cell, "tp": self.tp.encode((tg << 32) | cat["problem_id"]), "si": b.sample_index,
                "sic": self.si_codes.encode(b.sample_index), "correct": b.correct,
                "ordinal": (np.int64(fi) << _LINE_BITS) | b.lines}

    def _temperature(self, code: int):
        v = float(self.temp.keys[code:code + 1].view(np.float64)[0])
        return None if np.isnan(v) else v

    def _where(self, ordinal: int) -> str:
        return f"{self.files[ordinal >> _LINE_BITS]}:{ordinal & ((1 << _LINE_BITS) - 1)}"

    def _cell_parts(self, cell) -> tuple:
        """(run code, checkpoint code, problem code, temperature group) of cell codes (the group: the temperature
        code by temperature, else 0)."""
        key = self.cells.keys[cell]
        rk = self.rck.keys[key >> 32]
        trk = self.tr.keys[rk >> 32]
        return (trk & _LOW32) - 1, rk & _LOW32, key & _LOW32, trk >> 32

    def _ck_name(self, run: int, ck: int) -> str:
        lab = self.lab["checkpoint"].labels[ck]
        return lab if run < 0 else f"{self.lab['run'].labels[run]}/{lab}"

    # -- pass 1
    def run(self, reader: _Reader, todo: list) -> dict:
        """{None: table}, or by temperature {T: table} (T sorted, None last)."""
        for fi, path in todo:
            for b in reader.batches(path, self.report):
                if len(b):
                    self._add(b, fi)
        if self.n_valid == 0:
            raise NoRecordsError("records: no valid sample records (see the import report for rejected rows)", self.report)
        codes = sorted(range(len(self.temp)), key=lambda c: (self._temperature(c) is None, self._temperature(c) or 0.0))
        temps = [self._temperature(c) for c in codes]
        if len(temps) > 1 and not self.by_temperature:
            raise ValueError(f"temperature: the records hold samples of {len(temps)} sampling temperatures "
                             f"({', '.join(temperature_label(t) for t in temps)}); pass@k and votes must not mix them: "
                             "group them by temperature (real.logs.importers.load_counts_by_temperature; python -m real analyze "
                             "does) or import one temperature's records at a time")
        self.groups.merge()
        g = self.groups
        pair = g.keys >> 1
        mixed_at = np.flatnonzero((pair[1:] == pair[:-1]) & ((pair[1:] & _LOW32) > 0))  # (cell, answer) both ways; not null
        dups = _Dup(*(np.concatenate([getattr(d, f) for d in self.dups]) if self.dups else np.zeros(0, np.int64)
                      for f in ("ordinal", "cell", "si", "key")))
        if dups.ordinal.size or mixed_at.size:
            self._second_read(reader, todo, dups, mixed_at)
        keep = np.ones(g.keys.size, bool)
        keep[mixed_at] = keep[mixed_at + 1] = False
        self.report.rows_accepted += int(g.count[keep].sum())
        if not self.by_temperature:
            if not keep.any():
                raise NoRecordsError("records: every record was rejected (see the import report)", self.report)
            return {None: self._assemble(g.keys[keep], g.count[keep], g.first[keep])}
        group_temp = self._cell_parts(g.keys >> 33)[3]
        out = {}
        for c, t in zip(codes, temps):
            sel = keep & (group_temp == c)
            if sel.any():
                out[t] = self._assemble(g.keys[sel], g.count[sel], g.first[sel])
            else:
                self.report.notes.append(f"{temperature_label(t)}: every record was rejected; no table for this temperature")
        if not out:
            raise NoRecordsError("records: no valid sample records (see the import report for rejected rows)", self.report)
        return out

    def _add(self, b: Batch, fi: int) -> None:
        c = self._codes(b, fi)
        self.n_valid += len(b)
        cell, ordinal = c["cell"], c["ordinal"]
        # 2. duplicates
        dup = self.seen.add(cell, c["sic"])
        if dup.any():
            r = np.flatnonzero(dup)
            self.dups.append(_Dup(ordinal[r], cell[r], c["si"][r], (cell[r] << 32) | c["sic"][r]))
        # 3. gold per problem: the first non-null gold of the rows kept so far
        keep = ~dup
        pid, tp, gold = c["problem_id"], c["tp"], c["gold"]
        rows = np.flatnonzero(keep & (gold >= 0))
        if rows.size:
            if self.prob_gold.size < len(self.tp):
                grow = len(self.tp) - self.prob_gold.size
                self.prob_gold = np.r_[self.prob_gold, np.full(grow, -1, np.int64)]
                self.gold_where = np.r_[self.gold_where, np.full(grow, -1, np.int64)]
            new = rows[self.prob_gold[tp[rows]] < 0]
            if new.size:
                up, first = np.unique(tp[new], return_index=True)
                self.prob_gold[up] = gold[new[first]]
                self.gold_where[up] = ordinal[new[first]]
            bad = rows[gold[rows] != self.prob_gold[tp[rows]]]
            if bad.size:
                pl, gl = self.lab["problem_id"].labels, self.lab["gold"].labels
                for i in bad.tolist():
                    q = int(tp[i])
                    self.report.reject(b.file, int(b.lines[i]), f"inconsistent gold: problem_id {pl[pid[i]]!r} has gold "
                                       f"{gl[gold[i]]!r} here, but {gl[self.prob_gold[q]]!r} first at {self._where(int(self.gold_where[q]))}")
                keep[bad] = False
                self.gold_rejected.append(ordinal[bad])
        # 5. counts per (cell, answer, correct) group of the rows kept
        r = np.flatnonzero(keep)
        key = (cell[r] << 33) | ((c["answer"][r] + 1) << 1) | c["correct"][r].astype(np.int64)
        self.groups.add(key, ordinal[r])

    # -- pass 2: name the rows only known by key
    def _second_read(self, reader: _Reader, todo: list, dups: _Dup, mixed_at: np.ndarray) -> None:
        g = self.groups
        dkeys = np.unique(dups.key)
        dfirst = np.full(dkeys.size, -1, np.int64)
        mixed = g.keys[mixed_at] >> 1  # cell << 32 | (answer + 1), sorted
        excluded = np.sort(np.concatenate([dups.ordinal] + self.gold_rejected))
        stop = _NEVER if mixed_at.size else int(dups.ordinal.max())  # rows of a mixed group may lie anywhere
        mixed_rows, mixed_pair = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for c in self._reread(reader, todo, stop):
            cell, ordinal = c["cell"], c["ordinal"]
            if dkeys.size and (dfirst < 0).any():
                key = (cell << 32) | c["sic"]
                r = np.flatnonzero(_member(key, dkeys))
                if r.size:
                    uk, first = np.unique(key[r], return_index=True)
                    j = np.searchsorted(dkeys, uk)
                    unset = dfirst[j] < 0
                    dfirst[j[unset]] = ordinal[r[first[unset]]]
            if mixed.size:
                pair = (cell << 32) | (c["answer"] + 1)
                r = np.flatnonzero(_member(pair, mixed) & ~_member(ordinal, excluded))
                mixed_rows.append(ordinal[r])
                mixed_pair.append(pair[r])
        self._reject_dups(dups, dkeys, dfirst)
        if mixed.size:
            self._reject_mixed(mixed_at, np.concatenate(mixed_rows), np.concatenate(mixed_pair))

    def _reread(self, reader: _Reader, todo: list, stop: int):
        """The codes of every batch again, in order, up to the batch holding row ordinal ``stop`` (row checks
        into a scratch report: pass 1 counted them)."""
        scratch = ImportReport()
        for fi, path in todo:
            if (fi << _LINE_BITS) > stop:
                return
            for b in reader.batches(path, scratch):
                if len(b):
                    c = self._codes(b, fi)
                    yield c
                    if int(c["ordinal"][-1]) >= stop:
                        return

    def _reject_dups(self, dups: _Dup, dkeys: np.ndarray, dfirst: np.ndarray) -> None:
        run, ck, pid, _ = self._cell_parts(dups.cell)
        where = dfirst[np.searchsorted(dkeys, dups.key)]
        pl = self.lab["problem_id"].labels
        for o, r_, c_, p_, s_, w in zip(dups.ordinal.tolist(), run.tolist(), ck.tolist(), pid.tolist(), dups.si.tolist(), where.tolist()):
            self.report.reject(self.files[o >> _LINE_BITS], o & ((1 << _LINE_BITS) - 1),
                               f"duplicate key: (checkpoint {self._ck_name(r_, c_)!r}, problem_id {pl[p_]!r}, sample_index {s_}) "
                               f"first seen at {self._where(w)}")

    def _reject_mixed(self, mixed_at: np.ndarray, rows: np.ndarray, pair: np.ndarray) -> None:
        g = self.groups
        mixed = g.keys[mixed_at] >> 1
        n_false, n_true = g.count[mixed_at], g.count[mixed_at + 1]  # correct bit 0 sorts first
        first = np.minimum(g.first[mixed_at], g.first[mixed_at + 1])
        run, ck, pid, _ = self._cell_parts(mixed >> 32)
        al, pl = self.lab["answer"].labels, self.lab["problem_id"].labels
        why = [f"inconsistent correctness: answer {al[(int(m) & _LOW32) - 1]!r} at (checkpoint {self._ck_name(r_, c_)!r}, "
               f"problem_id {pl[p_]!r}) is marked correct on {t} row(s) and incorrect on {f} (first at {self._where(w)}); "
               "all of them rejected"
               for m, r_, c_, p_, t, f, w in zip(mixed.tolist(), run.tolist(), ck.tolist(), pid.tolist(), n_true.tolist(),
                                                 n_false.tolist(), first.tolist())]
        j = np.searchsorted(mixed, pair)
        for o, jj in zip(rows.tolist(), j.tolist()):
            self.report.reject(self.files[o >> _LINE_BITS], o & ((1 << _LINE_BITS) - 1), why[jj])

    # -- rule 6: the table from the groups
    def _assemble(self, keys: np.ndarray, count: np.ndarray, first: np.ndarray) -> CountsTable:
        """As ``real.logs.schema._assemble``, from groups (count, first row ordinal) instead of rows."""
        cell = keys >> 33
        ans = ((keys >> 1) & _LOW32) - 1
        correct = (keys & 1).astype(bool)
        ncell = len(self.cells)
        cfirst = np.full(ncell, _NEVER, np.int64)
        np.minimum.at(cfirst, cell, first)
        used = np.flatnonzero(cfirst < _NEVER)
        c_run, c_ck, c_pid, _ = self._cell_parts(used)
        # checkpoints: (run, checkpoint) pairs of the used cells, by first accepted row, then checkpoint_order
        gk = ((c_run + 1) << 32) | c_ck
        ug, ginv = np.unique(gk, return_inverse=True)
        ginv = ginv.reshape(-1)
        gfirst = np.full(ug.size, _NEVER, np.int64)
        np.minimum.at(gfirst, ginv, cfirst[used])
        gapp = np.argsort(gfirst, kind="stable")
        rl, cl = self.lab["run"].labels, self.lab["checkpoint"].labels
        g_run, g_ck = (ug[gapp] >> 32) - 1, ug[gapp] & _LOW32
        order, labels, steps = checkpoint_order([None if r < 0 else rl[r] for r in g_run.tolist()], [cl[c] for c in g_ck.tolist()])
        C = len(order)
        g_to_c = np.empty(ug.size, np.int64)
        g_to_c[gapp[order]] = np.arange(C)
        # problems by first accepted row
        npid = max(len(self.lab["problem_id"].labels), 1)
        pfirst = np.full(npid, _NEVER, np.int64)
        np.minimum.at(pfirst, c_pid, cfirst[used])
        p_present = np.flatnonzero(pfirst < _NEVER)
        p_present = p_present[np.argsort(pfirst[p_present], kind="stable")]
        P = len(p_present)
        p_dense = np.full(npid, -1, np.int64)
        p_dense[p_present] = np.arange(P)
        out_of_cell = np.full(ncell, -1, np.int64)
        out_of_cell[used] = g_to_c[ginv] * P + p_dense[c_pid]
        oc = out_of_cell[cell]
        pl = self.lab["problem_id"].labels
        return table_from_cell_rows(oc, ans, correct, C, P, self.lab["answer"].labels, labels, steps,
                                    [pl[i] for i in p_present.tolist()], weight=count)
