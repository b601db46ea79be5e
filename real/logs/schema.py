"""Sample records (one row per sample), their validation, the import report, and records -> CountsTable.

The record format (JSONL, Parquet, or CSV through ``real.logs.importers``; one object/row per sample):
  required: ``checkpoint`` (step number or name: int or non-empty str), ``problem_id`` (int or non-empty
            str; kept as a str), ``sample_index`` (int ≥ 0), ``answer`` (canonical string, or null when no
            answer could be parsed), ``correct`` (bool);
  optional: ``run`` (int or str), ``gold`` (str or null), ``text`` (not checked), ``n_tokens``, ``logprob``,
            ``mean_token_entropy`` (numbers or null), ``temperature`` (the sampling temperature that produced
            the sample: a finite number ≥ 0, 0 = greedy decoding; or null = not recorded).
Records of several temperatures are grouped into one table per temperature
(``real.logs.importers.load_counts_by_temperature``): pass@k and votes never mix temperatures, so
:func:`batches_to_counts` refuses records of more than one temperature (a missing temperature counts as
one value of its own) with an error naming the temperatures.
An integer ``answer`` or ``gold`` (a bare JSON number) is taken as its decimal string; an integral float
``checkpoint``/``problem_id`` (e.g. 10.0 from a pandas column with gaps) as the integer's string.

Nothing is dropped silently: every row that fails validation becomes a :class:`Rejection` (file, line,
reason) in the :class:`ImportReport`, and the report's counts add up: rows read = accepted + rejected.
A reason reads ``"<category>: <detail>"``; the categories are counted in :meth:`ImportReport.reasons`.

Rules applied when rows become a table (:func:`records_to_counts`), in this order:
1. row checks (:func:`validate_record`): missing field, wrong type, negative sample_index, a negative or
   non-finite temperature ("wrong value"), a null answer marked correct ("inconsistent correctness");
2. duplicate (run, checkpoint, problem_id, sample_index): the first row (file order, then line order) is
   kept, later ones are rejected naming the file and line of the first;
3. inconsistent gold: per problem (across runs and checkpoints) the first non-null gold wins; rows with
   another gold string are rejected naming the first gold and where it was seen;
4. with ``equivalence`` (a ``real.logs.answers.AnswerEquivalence``): the distinct answer strings of each
   (checkpoint, problem) cell are merged by ``equivalence.group(answers, gold)`` (an answer equivalent to
   the gold becomes exactly the gold string). Without it, ``answer`` is trusted as already canonical;
5. inconsistent correctness, never resolved by guessing: if within one cell the same answer string is
   marked correct on some rows and incorrect on others, *all* rows of that answer in that cell are
   rejected. Different answer strings of one cell that are all marked correct (``"0.5"`` and ``"1/2"``)
   count together as the correct answer, slot 0: ``correct`` is the verifier's verdict and is
   authoritative (rejecting them would bias that cell's pass@1 toward 0);
6. the table: checkpoints ordered by step when every checkpoint label names one (``steps`` filled; a number or
   a usual checkpoint name, ``global_step_140``, ``checkpoint-140``, ``step_100``, ``ckpt140``, ``140.jsonl``:
   ``real.logs.table.checkpoint_step``), else by first appearance; with more than one distinct ``run`` value (a missing run counts
   as one) the labels become "run/checkpoint" (rows without a run keep the bare label), ordered by run (first
   appearance) then step when every checkpoint label names a step (``steps`` = that step), else by first
   appearance (``steps`` NaN where the label names none). Problems in first-appearance order. A (checkpoint, problem) cell without
   rows has n_samples 0. Null answers go to ``n_null``; the answer marked correct fills slot 0; wrong
   answers fill slots 1… largest count first, ties by answer string (code-point order).
Checkpoints or problems whose rows were all rejected do not appear in the table.

The row-check pieces are public for the format readers (``real.logs.formats``), so that every format
words its rejections alike: :class:`RowError` (a reason, raised by a row check), :func:`require_fields`,
:func:`convert_field`, :func:`label_field`, :func:`as_label`, :func:`as_answer`; and :func:`cell_axes`
(the table axes of the count formats).

Everything after the row checks is vectorized (NumPy on integer codes; strings are dictionary-encoded by
pyarrow); Python loops run only over rejected rows and over distinct labels.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from real.logs.table import CountsTable, checkpoint_steps

REQUIRED = ("checkpoint", "problem_id", "sample_index", "answer", "correct")
OPTIONAL = ("run", "gold", "text", "n_tokens", "logprob", "mean_token_entropy", "temperature")
NUMERIC_OPTIONAL = ("n_tokens", "logprob", "mean_token_entropy", "temperature")
CATEGORICAL = ("run", "checkpoint", "problem_id", "answer", "gold")


# ------------------------------------------------------------------------------------------ report
@dataclass(frozen=True, slots=True)
class Rejection:
    """One rejected row: ``file`` (path as given), ``line`` (1-based line of a text file; for Parquet the
    1-based row number; for in-memory records the 1-based position), ``reason`` ("category: detail")."""

    file: str
    line: int
    reason: str

    @property
    def category(self) -> str:
        """The reason's category: the text before the first ':'."""
        return self.reason.split(":", 1)[0]

    def as_dict(self) -> dict:
        """``{"file", "line", "reason"}`` (JSON-ready)."""
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass
class ImportReport:
    """What an import read, accepted and rejected, and why.

    Attributes:
      files: the input files, in reading order.
      rows_read: data rows seen (non-blank lines, Parquet rows, CSV records after the header).
      rows_accepted: rows that went into the table.
      rejected: every :class:`Rejection` (also available as ``rejections``).
      notes: free-text remarks (e.g. which lm-eval filter was used, empty files, defaults applied).
      empty_files: files that held no data rows (also in ``notes``).
    Invariant after an import: ``rows_read == rows_accepted + n_rejected``.
    """

    files: list = field(default_factory=list)
    rows_read: int = 0
    rows_accepted: int = 0
    rejected: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    empty_files: list = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        """Number of rejected rows."""
        return len(self.rejected)

    @property
    def rejections(self) -> list:
        """The rejected rows (same list as ``rejected``)."""
        return self.rejected

    def reject(self, file, line: int, reason: str) -> None:
        """Record one rejected row."""
        self.rejected.append(Rejection(str(file), int(line), reason))

    def reasons(self) -> dict:
        """Rejected rows per reason category (the text before the first ':'), e.g. ``{"duplicate key": 3}``."""
        return dict(Counter(r.category for r in self.rejected))

    counts_by_reason = property(reasons, doc="Rejected rows per reason category (same as :meth:`reasons`).")

    def sort(self) -> None:
        """Order the rejections by file (reading order) and line."""
        rank = {f: i for i, f in enumerate(map(str, self.files))}
        self.rejected.sort(key=lambda r: (rank.get(r.file, len(rank)), r.line))

    def to_dict(self, max_listed: int = 1000) -> dict:
        """JSON-ready dict: files, rows_read, rows_accepted, rows_rejected, rejections_by_reason, the first
        ``max_listed`` rejections (``rejected``, with ``rejected_listed``), notes and empty_files."""
        return {"files": [str(f) for f in self.files], "rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                "rows_rejected": self.n_rejected, "rejections_by_reason": self.reasons(),
                "rejected": [r.as_dict() for r in self.rejected[:max_listed]],
                "rejected_listed": min(self.n_rejected, max_listed), "notes": list(self.notes),
                "empty_files": [str(f) for f in self.empty_files]}

    def summary(self, max_examples: int = 5) -> str:
        """Human-readable text: totals, rejected rows per reason, the first few rejections, notes."""
        lines = [f"import: {len(self.files)} file(s), {self.rows_read} rows read, {self.rows_accepted} accepted, "
                 f"{self.n_rejected} rejected"]
        for reason, n in sorted(self.reasons().items(), key=lambda t: (-t[1], t[0])):
            lines.append(f"  {n:8d} x {reason}")
        for r in self.rejected[:max_examples]:
            lines.append(f"  e.g. {r.file}:{r.line}: {r.reason}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class NoRecordsError(ValueError):
    """No row survived the import; ``report`` holds the rejections (a ValueError)."""

    def __init__(self, message: str, report: ImportReport | None = None):
        super().__init__(message)
        self.report = report


# ------------------------------------------------------------------------------------------ row validation
def as_label(v) -> str:
    """Checkpoint / problem / run labels: ints and strings as strings; floats only when integral. TypeError
    for anything else (bool, a non-integral or non-finite float, a blank string, None)."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if np.isfinite(v) and float(v).is_integer():
            return str(int(v))
        raise TypeError
    if isinstance(v, str) and v.strip():
        return v
    raise TypeError


def as_answer(v):
    """str or None for answer/gold; a bare integer becomes its decimal string; TypeError otherwise."""
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return str(int(v))
    raise TypeError


class RowError(ValueError):
    """A row failed a check; the message is its rejection reason ("category: detail"). Row readers raise it
    and their loop turns it into one :class:`Rejection`."""


def require_fields(obj, fields) -> dict:
    """``obj`` when it is a dict holding every one of ``fields``; else :class:`RowError` "not an object: got
    <type>" or "missing field: <the missing ones, in the order of fields>"."""
    if not isinstance(obj, dict):
        raise RowError(f"not an object: got {type(obj).__name__}")
    missing = [k for k in fields if k not in obj]
    if missing:
        raise RowError(f"missing field: {', '.join(missing)}")
    return obj


def convert_field(obj: dict, key: str, convert, expected: str):
    """``convert(obj.get(key))`` (e.g. :func:`as_answer`); when that raises TypeError, :class:`RowError`
    "wrong type: <key> must be <expected>, got <the value's repr>"."""
    v = obj.get(key)
    try:
        return convert(v)
    except TypeError:
        raise RowError(f"wrong type: {key} must be {expected}, got {v!r}") from None


def label_field(obj: dict, key: str) -> str:
    """``obj.get(key)`` as a label (:func:`as_label`); :class:`RowError` "wrong type: <key> must be an int or
    non-empty string, got <the value's repr>" otherwise."""
    return convert_field(obj, key, as_label, "an int or non-empty string")


class Columns:
    """Row-by-row accumulator of validated sample records of one file (see :meth:`to_batch`)."""

    def __init__(self):
        self.cols = {k: [] for k in ("run", "checkpoint", "problem_id", "sample_index", "answer", "correct", "gold", "line",
                                     "temperature")}

    def append(self, run, checkpoint, problem_id, sample_index, answer, correct, gold, line, temperature=None):
        """Append one validated record (labels as str, answer/gold str or None, run str or None, temperature a
        float ≥ 0 or None)."""
        c = self.cols
        c["temperature"].append(np.nan if temperature is None else float(temperature))
        c["run"].append(run)
        c["checkpoint"].append(checkpoint)
        c["problem_id"].append(problem_id)
        c["sample_index"].append(sample_index)
        c["answer"].append(answer)
        c["correct"].append(correct)
        c["gold"].append(gold)
        c["line"].append(line)

    def __len__(self):
        return len(self.cols["checkpoint"])

    def to_batch(self, file: str) -> Batch:
        """The accumulated rows as a :class:`Batch` of ``file``."""
        c = self.cols
        return Batch(str(file), np.asarray(c["line"], np.int64), np.asarray(c["sample_index"], np.int64),
                     np.asarray(c["correct"], bool), {k: _encode_list(c[k]) for k in CATEGORICAL},
                     np.asarray(c["temperature"], np.float64))


def validate_record(obj, file, line: int, report: ImportReport, out: Columns) -> bool:
    """Check one sample record (a dict, after any field mapping); append it to ``out`` or add a
    :class:`Rejection` to ``report``. Returns True when accepted. Rules: the module docstring, item 1."""
    try:
        values = _record_values(obj)
    except RowError as e:
        report.reject(file, line, str(e))
        return False
    *values, temperature = values
    out.append(*values, int(line), temperature=temperature)
    return True


def _record_values(obj) -> tuple:
    """(run, checkpoint, problem_id, sample_index, answer, correct, gold, temperature) of a valid record; RowError naming the
    first failed check otherwise (checks in the order of the module docstring, item 1)."""
    require_fields(obj, REQUIRED)
    ckpt = label_field(obj, "checkpoint")
    pid = label_field(obj, "problem_id")
    si = obj["sample_index"]
    if isinstance(si, (bool, np.bool_)) or not isinstance(si, (int, np.integer)):
        raise RowError(f"wrong type: sample_index must be an integer, got {si!r}")
    if si < 0:
        raise RowError(f"negative sample_index: {si}")
    if si >= 2**62:
        raise RowError(f"wrong type: sample_index must be below 2**62, got {si}")
    ans = convert_field(obj, "answer", as_answer, "a string or null")
    ok = obj["correct"]
    if not isinstance(ok, (bool, np.bool_)):
        raise RowError(f"wrong type: correct must be true/false, got {ok!r}")
    if ans is None and ok:
        raise RowError("inconsistent correctness: answer is null but correct is true")
    gold = convert_field(obj, "gold", as_answer, "a string or null")
    run = None if obj.get("run") is None else label_field(obj, "run")
    for k in NUMERIC_OPTIONAL:
        v = obj.get(k)
        if v is not None and (isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating))):
            raise RowError(f"wrong type: {k} must be a number or null, got {v!r}")
    temp = obj.get("temperature")
    if temp is not None and not (abs(temp) < 1e300 and np.isfinite(temp) and temp >= 0):
        raise RowError(f"wrong value: temperature must be a finite number >= 0 (0 = greedy), got {temp!r}")
    return run, ckpt, pid, int(si), ans, bool(ok), gold, None if temp is None else float(temp)


# ------------------------------------------------------------------------------------------ columnar batches
def _encode_list(values) -> tuple[np.ndarray, list]:
    """Codes (first-appearance order, -1 for None) and labels of a list of str/None."""
    import pyarrow as pa

    enc = pa.array(values, type=pa.string()).dictionary_encode()
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


@dataclass
class Batch:
    """Type-valid sample records of one file, columnar: ``lines`` (int64 line/row numbers),
    ``sample_index`` (int64), ``correct`` (bool), for run/checkpoint/problem_id/answer/gold a pair
    (int64 codes with -1 for null, list of str labels), and ``temperature`` (float64, NaN = not recorded;
    None: no row recorded one)."""

    file: str
    lines: np.ndarray
    sample_index: np.ndarray
    correct: np.ndarray
    cats: dict
    temperature: np.ndarray | None = None

    def temperatures(self) -> np.ndarray:
        """The rows' temperatures (float64, NaN where not recorded), whether or not ``temperature`` is set."""
        return np.full(len(self.lines), np.nan) if self.temperature is None else self.temperature

    def take(self, idx) -> Batch:
        """The rows ``idx`` (an integer index array) as a Batch of the same file (labels lists kept)."""
        idx = np.asarray(idx, np.int64)
        return Batch(self.file, self.lines[idx], self.sample_index[idx], self.correct[idx],
                     {k: (c[idx], lab) for k, (c, lab) in self.cats.items()}, self.temperatures()[idx])

    def __len__(self):
        return len(self.lines)


def _arrow_kind(t) -> str | None:
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    return None


_ARROW_OK = {"checkpoint": {"int", "str"}, "problem_id": {"int", "str"}, "run": {"int", "str", "null"},
             "sample_index": {"int"}, "answer": {"str", "int", "null"}, "gold": {"str", "int", "null"},
             "correct": {"bool"}, **{k: {"int", "float", "null"} for k in NUMERIC_OPTIONAL}}


def arrow_types_ok(table) -> bool:
    """True when the Arrow table's record columns (after mapping) have types the vectorized path takes:
    every required column present; checkpoint/problem_id/run int or string; sample_index int; answer/gold
    string, int or all-null; correct bool; n_tokens/logprob/mean_token_entropy/temperature numeric."""
    names = set(table.column_names)
    if not set(REQUIRED) <= names:
        return False
    return all(_arrow_kind(table.schema.field(k).type) in ok for k, ok in _ARROW_OK.items() if k in names)


def _encode_arrow(col) -> tuple[np.ndarray, list]:
    """Codes (first-appearance order, -1 for null) and str labels of an Arrow int/string/null column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    kind = _arrow_kind(col.type)
    if kind == "null":
        return np.full(len(col), -1, np.int64), []
    enc = pc.dictionary_encode(col)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    labels = enc.dictionary.to_pylist()
    if kind == "int":
        labels = [str(int(v)) for v in labels]
    return codes, labels


def batch_from_arrow(table, file, report: ImportReport, lines: np.ndarray | None = None, row_of=None,
                     recheck_null_answers: bool = False) -> Batch:
    """Vectorized validation of an Arrow table of sample records (types must pass :func:`arrow_types_ok`).

    Rows that may fail a row check (a null in a required column, negative sample_index, a blank label,
    a null answer marked correct, and, with ``recheck_null_answers``, every null answer) are re-checked
    one by one with :func:`validate_record` on ``row_of(i)`` (the original object of row i; default: the
    Arrow row), so they get exactly the row-by-row reasons; the other rows never touch Python.
    ``lines``: line/row number per row (default 1…n). Does not count ``rows_read``.
    """
    import pyarrow.compute as pc

    n = table.num_rows
    lines = np.arange(1, n + 1, dtype=np.int64) if lines is None else np.asarray(lines, np.int64)
    names = set(table.column_names)
    cats = {}
    suspicious = np.zeros(n, bool)
    for k in CATEGORICAL:
        if k in names:
            codes, labels = _encode_arrow(table.column(k))
        else:
            codes, labels = np.full(n, -1, np.int64), []
        cats[k] = (codes, labels)
        if k in ("checkpoint", "problem_id", "run") and labels:
            blank = [i for i, s in enumerate(labels) if not s.strip()]
            if blank:
                suspicious |= np.isin(codes, blank)
    suspicious |= cats["checkpoint"][0] < 0
    suspicious |= cats["problem_id"][0] < 0
    si_col = table.column("sample_index")
    correct_col = table.column("correct")
    si_null = pc.is_null(si_col).to_numpy(zero_copy_only=False)
    ok_null = pc.is_null(correct_col).to_numpy(zero_copy_only=False)
    si = pc.fill_null(si_col, 0).to_numpy(zero_copy_only=False)
    if si.dtype == np.uint64 and (si >= 2**62).any():
        suspicious |= si >= 2**62
        si = np.where(si >= 2**62, 0, si)
    si = si.astype(np.int64)
    correct = pc.fill_null(correct_col, False).to_numpy(zero_copy_only=False).astype(bool)
    suspicious |= si_null | ok_null | (si < 0) | (si >= 2**62)
    null_ans = cats["answer"][0] < 0
    suspicious |= null_ans & correct
    temperature = None
    if "temperature" in names:
        t_col = table.column("temperature")
        t_null = pc.is_null(t_col).to_numpy(zero_copy_only=False)
        tv = pc.fill_null(t_col, 0).to_numpy(zero_copy_only=False).astype(np.float64)
        with np.errstate(invalid="ignore"):
            suspicious |= ~t_null & ~(np.isfinite(tv) & (tv >= 0))
        temperature = np.where(t_null, np.nan, tv)
    if recheck_null_answers:
        suspicious |= null_ans
    keep = ~suspicious
    if suspicious.any():
        if row_of is None:
            def row_of(i, _t=table):
                return _t.slice(i, 1).to_pylist()[0]
        sink = Columns()
        for i in np.flatnonzero(suspicious).tolist():
            if validate_record(row_of(i), file, int(lines[i]), report, sink):
                keep[i] = True  # a valid row: its Arrow values are the validated values
    if not keep.all():
        idx = np.flatnonzero(keep)
        lines, si, correct = lines[idx], si[idx], correct[idx]
        cats = {k: (c[idx], lab) for k, (c, lab) in cats.items()}
        temperature = None if temperature is None else temperature[idx]
    return Batch(str(file), lines, si, correct, cats, temperature)


# ------------------------------------------------------------------------------------------ records -> table
def _dense(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of an int64 array in first-appearance order (hash-based), and their count."""
    import pyarrow as pa

    enc = pa.array(np.ascontiguousarray(x, np.int64)).dictionary_encode()
    return enc.indices.to_numpy(zero_copy_only=False).astype(np.int64), len(enc.dictionary)


def _pack(a: np.ndarray, na: int, b: np.ndarray, nb: int) -> tuple[np.ndarray, int]:
    """A dense-or-not combined key of codes a in [0, na) and b in [0, nb): a * nb + b when that fits in
    int64 (range na * nb), else the dense codes of the pairs (range = their number)."""
    if na * nb < 2**62:
        return a.astype(np.int64) * nb + b, na * nb
    a, na = _dense(a)
    b, nb = _dense(b)
    return _dense(a * nb + b)  # na * nb <= len(a)**2 < 2**62


def _uniq(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their counts (sort-based; fast for many distinct values)."""
    u, c = np.unique(x, return_counts=True)
    return u, c


def _first_index(codes: np.ndarray, size: int) -> np.ndarray:
    """For every code in [0, size): the index of its first row (len(codes) where absent)."""
    first = np.full(size, len(codes), np.int64)
    np.minimum.at(first, codes, np.arange(len(codes), dtype=np.int64))
    return first


def _member(x: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """Boolean mask: x[i] in sorted_keys (binary search)."""
    if sorted_keys.size == 0:
        return np.zeros(x.shape, bool)
    i = np.minimum(np.searchsorted(sorted_keys, x), sorted_keys.size - 1)
    return sorted_keys[i] == x


def _merge(batches: list) -> dict:
    """Concatenate batches; categorical codes re-coded against global label lists (first appearance)."""
    out = {"file": np.concatenate([np.full(len(b), i, np.int32) for i, b in enumerate(batches)]),
           "files": [b.file for b in batches],
           "line": np.concatenate([b.lines for b in batches]),
           "sample_index": np.concatenate([b.sample_index for b in batches]),
           "correct": np.concatenate([b.correct for b in batches]),
           "temperature": np.concatenate([b.temperatures() for b in batches])}
    for k in CATEGORICAL:
        index: dict = {}
        parts = []
        for b in batches:
            codes, labels = b.cats[k]
            remap = np.array([index.setdefault(s, len(index)) for s in labels] + [-1], np.int64)
            parts.append(remap[codes])  # code -1 picks the trailing -1
        out[k] = (np.concatenate(parts), list(index))
    return out


def _where(g: dict, i: int) -> str:
    return f"{g['files'][g['file'][i]]}:{int(g['line'][i])}"


def _reject(report: ImportReport, g: dict, keep: np.ndarray, rows: np.ndarray, reasons) -> None:
    files, fi, ln = g["files"], g["file"], g["line"]
    for i, why in zip(rows.tolist(), reasons):
        report.reject(files[fi[i]], int(ln[i]), why)
    keep[rows] = False


def _to_batches(records, report: ImportReport, source: str) -> list:
    import pyarrow as pa

    if isinstance(records, Batch):
        return [records]
    if isinstance(records, Columns):
        return [records.to_batch(source)]
    if isinstance(records, pa.Table):
        report.rows_read += records.num_rows
        if arrow_types_ok(records):
            return [batch_from_arrow(records, source, report)]
        records = records.to_pylist()
    elif isinstance(records, (list, tuple)) and records and all(isinstance(b, Batch) for b in records):
        return list(records)
    else:
        records = list(records)
        report.rows_read += len(records)
    cols = Columns()
    for i, obj in enumerate(records, start=1):
        validate_record(obj, source, i, report, cols)
    return [cols.to_batch(source)]


def records_to_counts(records, report: ImportReport | None = None, *, equivalence=None,
                      source: str = "<records>") -> CountsTable:
    """Group sample records into a :class:`CountsTable` (rules: module docstring), vectorized.

    Args:
      records: a :class:`Batch` or list of them (as the importers build), a :class:`Columns`, a
        ``pyarrow.Table`` with the record columns, or an iterable of dicts (validated row by row; the
        "line" of a rejected dict is its 1-based position, the file is ``source``).
      report: the :class:`ImportReport` that receives rejections and ``rows_accepted`` (and, for a table
        or dicts, ``rows_read``). When None, any rejected row raises ValueError (nothing is dropped
        silently).
      equivalence: optional ``real.logs.answers.AnswerEquivalence`` merging equivalent answer strings per cell.
    Returns the table. Raises :class:`NoRecordsError` (a ValueError) when no row is accepted.
    """
    strict = report is None
    report = ImportReport(files=[source]) if strict else report
    n_rej0 = report.n_rejected
    batches = [b for b in _to_batches(records, report, source)]
    table = batches_to_counts(batches, report, equivalence)
    if strict and report.n_rejected > n_rej0:
        report.sort()
        raise ValueError(f"records: {report.n_rejected - n_rej0} rejected row(s); pass an ImportReport to collect them. "
                         + "; ".join(f"{r.file}:{r.line}: {r.reason}" for r in report.rejected[n_rej0:n_rej0 + 5]))
    return table


def batches_to_counts(batches: list, report: ImportReport, equivalence=None) -> CountsTable:
    """Rules 2-6 of the module docstring on type-valid batches (:class:`Batch`, as the importers build them,
    in file order: the order decides which duplicate is kept, and first appearance); adds the accepted rows
    to ``report.rows_accepted``. ``equivalence``: as in :func:`records_to_counts`. Raises
    :class:`NoRecordsError` when no row is left."""
    batches = [b for b in batches if len(b)]
    if not batches:
        raise NoRecordsError("records: no valid sample records (see the import report for rejected rows)", report)
    g = _merge(batches)
    temps = distinct_temperatures(g["temperature"])
    if len(temps) > 1:
        raise ValueError(f"temperature: the records hold samples of {len(temps)} sampling temperatures "
                         f"({', '.join(temperature_label(t) for t in temps)}); pass@k and votes must not mix them: "
                         "group them by temperature (real.logs.importers.load_counts_by_temperature; python -m real analyze "
                         "does) or import one temperature's records at a time")
    n = len(g["line"])
    keep = np.ones(n, bool)
    run_c, run_lab = g["run"]
    ck_c, ck_lab = g["checkpoint"]
    pid_c, pid_lab = g["problem_id"]
    ans_c, ans_lab = g["answer"]
    gold_c, gold_lab = g["gold"]
    si, correct = g["sample_index"], g["correct"]
    npid = max(len(pid_lab), 1)

    # dense (run, checkpoint, problem) cells in first-appearance order, and what each cell is
    rck, n_rck = _pack(run_c + 1, len(run_lab) + 1, ck_c, max(len(ck_lab), 1))
    cell, ncell = _dense(_pack(rck, n_rck, pid_c, npid)[0])
    cell_row = _first_index(cell, ncell)
    cell_run, cell_ck, cell_pid = run_c[cell_row], ck_c[cell_row], pid_c[cell_row]

    def ck_name(i):
        r = run_c[i]
        return ck_lab[ck_c[i]] if r < 0 else f"{run_lab[r]}/{ck_lab[ck_c[i]]}"

    # 2. duplicate keys: the first row wins
    smax = int(si.max()) + 1
    key, _ = _pack(cell, ncell, si, smax)
    if not (key[1:] > key[:-1]).all():  # files sorted by key skip the sort
        s = np.sort(key)
        if (s[1:] == s[:-1]).any():
            order = np.argsort(key, kind="stable")
            ks = key[order]
            start = np.r_[True, ks[1:] != ks[:-1]]
            first = order[np.flatnonzero(start)[np.cumsum(start) - 1]]
            dup, first_of = order[~start], first[~start]
            srt = np.argsort(dup)
            dup, first_of = dup[srt], first_of[srt]
            _reject(report, g, keep, dup, [
                f"duplicate key: (checkpoint {ck_name(i)!r}, problem_id {pid_lab[pid_c[i]]!r}, sample_index {int(si[i])}) "
                f"first seen at {_where(g, j)}" for i, j in zip(dup.tolist(), first_of.tolist())])

    # 3. gold per problem: the first non-null gold wins
    prob_gold = np.full(npid, -1, np.int64)
    rows = np.flatnonzero(keep & (gold_c >= 0))
    if rows.size:
        fi = _first_index(pid_c[rows], npid)
        has = fi < rows.size
        first_row = np.full(npid, -1, np.int64)
        first_row[has] = rows[fi[has]]
        prob_gold[has] = gold_c[first_row[has]]
        bad = rows[gold_c[rows] != prob_gold[pid_c[rows]]]
        if bad.size:
            _reject(report, g, keep, bad, [
                f"inconsistent gold: problem_id {pid_lab[pid_c[i]]!r} has gold {gold_lab[gold_c[i]]!r} here, but "
                f"{gold_lab[prob_gold[pid_c[i]]]!r} first at {_where(g, first_row[pid_c[i]])}" for i in bad.tolist()])

    # 4. optional equivalence: merge equivalent answer strings within each cell
    if equivalence is not None:
        ans_c, ans_lab = _apply_equivalence(equivalence, keep, cell, ncell, cell_pid, ans_c, ans_lab, prob_gold, gold_lab)

    # 5a. the same answer marked correct and incorrect in one cell: reject all its rows there
    na = max(len(ans_lab), 1)
    rows = np.flatnonzero(keep & (ans_c >= 0))
    pk = cell[rows] * na + ans_c[rows]  # ncell * na <= n * (labels) < 2**62
    u2, _ = _uniq(pk * 2 + correct[rows])
    up = u2 >> 1
    mixed = up[1:][up[1:] == up[:-1]]
    if mixed.size:
        r = rows[_member(pk, mixed)]
        k = cell[r] * na + ans_c[r]
        o = np.argsort(k, kind="stable")
        ro, ko = r[o], k[o]
        start = np.flatnonzero(np.r_[True, ko[1:] != ko[:-1]])
        size = np.diff(np.r_[start, ko.size])
        n_true = np.add.reduceat(correct[ro].astype(np.int64), start)
        grp = np.repeat(np.arange(start.size), size)
        why = {i: (f"inconsistent correctness: answer {ans_lab[ans_c[i]]!r} at (checkpoint {ck_name(i)!r}, problem_id "
                   f"{pid_lab[pid_c[i]]!r}) is marked correct on {n_true[gi]} row(s) and incorrect on {size[gi] - n_true[gi]} "
                   f"(first at {_where(g, ro[start[gi]])}); all of them rejected") for i, gi in zip(ro.tolist(), grp.tolist())}
        r = np.sort(r)
        _reject(report, g, keep, r, [why[i] for i in r.tolist()])

    idx = np.flatnonzero(keep)
    report.rows_accepted += int(idx.size)
    if idx.size == 0:
        raise NoRecordsError("records: every record was rejected (see the import report)", report)
    return _assemble(cell[idx], ncell, cell_run, run_lab, cell_ck, ck_lab, cell_pid, pid_lab, ans_c[idx], ans_lab, correct[idx])


def distinct_temperatures(t) -> list:
    """The distinct values of a temperature array (float, NaN = not recorded), sorted, NaN as None (last)."""
    t = np.asarray(t, np.float64)
    vals = [float(x) for x in np.unique(t[np.isfinite(t)])]
    return vals + ([None] if np.isnan(t).any() else [])


def temperature_label(t) -> str:
    """``"T=0.7"``, ``"T=0 (greedy)"`` or ``"T not recorded"`` for a temperature (float or None)."""
    if t is None:
        return "T not recorded"
    return "T=0 (greedy)" if t == 0 else f"T={t:g}"


def _apply_equivalence(eq, keep, cell, ncell, cell_pid, ans_c, ans_lab, prob_gold, gold_lab):
    """New answer codes/labels after ``eq.group`` on each cell's distinct answers (gold first)."""
    rows = np.flatnonzero(keep & (ans_c >= 0))
    if rows.size == 0:
        return ans_c, ans_lab
    na = max(len(ans_lab), 1)
    pk = cell[rows] * na + ans_c[rows]
    upk, first = np.unique(pk, return_index=True)
    u_cell, u_ans = upk // na, upk % na
    order = np.lexsort((first, u_cell))  # per cell, its answers in first-appearance order
    index = {s: i for i, s in enumerate(ans_lab)}
    new_lab = list(ans_lab)
    new_code = np.empty(upk.size, np.int64)
    uc = u_cell[order]
    bounds = np.flatnonzero(np.r_[True, uc[1:] != uc[:-1], True])
    for s0, s1 in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        sel = order[s0:s1]
        gc = prob_gold[cell_pid[u_cell[sel[0]]]]
        reps = eq.group([ans_lab[a] for a in u_ans[sel].tolist()], gold=None if gc < 0 else gold_lab[gc])
        for j, rep in zip(sel.tolist(), reps):
            if rep not in index:
                index[rep] = len(new_lab)
                new_lab.append(rep)
            new_code[j] = index[rep]
    ans_new = ans_c.copy()
    ans_new[rows] = new_code[np.searchsorted(upk, pk)]
    return ans_new, new_lab


def checkpoint_order(run_labels: list, ck_labels: list) -> tuple[list, list, np.ndarray]:
    """Order (run or None, checkpoint label) pairs given in first-appearance order (rule 6 of the module
    docstring). Returns (order as indices into the input, display labels in that order, steps (float,
    NaN where unknown) in that order). A checkpoint's step is ``real.logs.table.checkpoint_step`` of its label (a
    number, or a usual checkpoint name such as ``global_step_140``, ``checkpoint-140`` or ``140.jsonl``)."""
    steps = checkpoint_steps(ck_labels)
    runs = list(dict.fromkeys(r for r in run_labels if r is not None))
    multi = len(set(run_labels)) > 1  # a missing run counts as a value of its own
    if len(steps) and np.all(np.isfinite(steps)):
        rrank = {r: i for i, r in enumerate(runs)}
        rk = np.array([-1 if r is None else rrank[r] for r in run_labels])
        order = np.lexsort((np.arange(len(steps)), steps, rk)).tolist()
        out_steps = steps[order]
    else:
        order = list(range(len(ck_labels)))
        out_steps = None
    labels = [ck_labels[i] if (not multi or run_labels[i] is None) else f"{run_labels[i]}/{ck_labels[i]}" for i in order]
    if out_steps is None:
        out_steps = checkpoint_steps(labels)
    return order, labels, out_steps


def cell_axes(keys) -> tuple:
    """Axes of a table from (run, checkpoint, problem_id, ...) keys in first-appearance order (the count
    formats' cells): the (run, checkpoint) pairs in :func:`checkpoint_order`, their labels and steps, the
    problem ids in first-appearance order, and the index maps of both (pair -> row, problem -> column)."""
    rc = list(dict.fromkeys((k[0], k[1]) for k in keys))
    order, labels, steps = checkpoint_order([r for r, _ in rc], [c for _, c in rc])
    rc = [rc[i] for i in order]
    pids = list(dict.fromkeys(k[2] for k in keys))
    return rc, labels, steps, pids, {c: i for i, c in enumerate(rc)}, {p: i for i, p in enumerate(pids)}


def _assemble(cell, ncell, cell_run, run_lab, cell_ck, ck_lab, cell_pid, pid_lab, ans_c, ans_lab, correct) -> CountsTable:
    """CountsTable from the accepted rows (their dense cell ids, answer codes, correct flags) and, per
    cell id, its run / checkpoint / problem codes."""
    n = len(cell)
    fk = _first_index(cell, ncell)  # first accepted row of each cell
    used = np.flatnonzero(fk < n)
    # checkpoints: (run, checkpoint) groups of the used cells, in first-appearance order
    gk = (cell_run[used] + 1) * max(len(ck_lab), 1) + cell_ck[used]
    ug, ginv = np.unique(gk, return_inverse=True)
    gfirst = np.full(ug.size, n, np.int64)
    np.minimum.at(gfirst, ginv, fk[used])
    gapp = np.argsort(gfirst, kind="stable")
    any_cell = np.empty(ug.size, np.int64)
    any_cell[ginv] = used  # all cells of a group share its run and checkpoint: any of them will do
    rep_cell = any_cell[gapp]
    order, labels, steps = checkpoint_order([None if r < 0 else run_lab[r] for r in cell_run[rep_cell].tolist()],
                                            [ck_lab[c] for c in cell_ck[rep_cell].tolist()])
    C = len(order)
    g_to_c = np.empty(ug.size, np.int64)
    g_to_c[gapp[order]] = np.arange(C)
    # problems of the used cells, in first-appearance order
    pfirst = np.full(max(len(pid_lab), 1), n, np.int64)
    np.minimum.at(pfirst, cell_pid[used], fk[used])
    p_present = np.flatnonzero(pfirst < n)
    p_present = p_present[np.argsort(pfirst[p_present], kind="stable")]
    P = len(p_present)
    p_dense = np.full(max(len(pid_lab), 1), -1, np.int64)
    p_dense[p_present] = np.arange(P)
    out_of_cell = np.full(ncell, -1, np.int64)
    out_of_cell[used] = g_to_c[ginv] * P + p_dense[cell_pid[used]]
    oc = out_of_cell[cell]
    return table_from_cell_rows(oc, ans_c, correct, C, P, ans_lab, labels, steps, tuple(pid_lab[i] for i in p_present.tolist()))


def table_from_cell_rows(oc: np.ndarray, ans: np.ndarray, correct: np.ndarray, C: int, P: int, ans_lab, labels, steps,
                         problem_ids, weight: np.ndarray | None = None) -> CountsTable:
    """The CountsTable of accepted rows already placed in their output cells (rule 6 of this module's docstring).

    ``oc[i]``: row i's cell, checkpoint-major (c * P + p); ``ans[i]``: its answer's index into ``ans_lab`` (< 0 =
    null, abstains); ``correct[i]``: its verdict; ``weight[i]``: how many identical rows it stands for (None: 1 each;
    the streaming importer passes aggregated groups). Per cell: slot 0 counts correct samples, then the distinct wrong
    answers by count (most first), ties by answer string. Shared by ``batches_to_counts`` and
    ``real.logs.streaming``, so both build the same table from the same rows."""
    n = C * P
    if weight is None:
        n_samples = np.bincount(oc, minlength=n)
        n_null = np.bincount(oc[ans < 0], minlength=n)
        n_correct = np.bincount(oc[correct], minlength=n)
    else:
        weight = np.asarray(weight, np.int64)
        n_samples = np.bincount(oc, weights=weight, minlength=n).astype(np.int64)
        n_null = np.bincount(oc[ans < 0], weights=weight[ans < 0], minlength=n).astype(np.int64)
        n_correct = np.bincount(oc[correct], weights=weight[correct], minlength=n).astype(np.int64)
    wrong = (ans >= 0) & ~correct
    na = max(len(ans_lab), 1)
    key = oc[wrong] * na + ans[wrong]
    if weight is None:
        upk, cnt = _uniq(key)
    else:
        upk, inv = np.unique(key, return_inverse=True)
        cnt = np.bincount(inv.reshape(-1), weights=weight[wrong], minlength=upk.size).astype(np.int64)
    p_cell, p_ans = upk // na, upk % na
    str_rank = np.zeros(na, np.int64)
    str_rank[sorted(range(len(ans_lab)), key=ans_lab.__getitem__)] = np.arange(len(ans_lab))
    o = np.lexsort((str_rank[p_ans], -cnt, p_cell))
    p_cell, p_ans, cnt = p_cell[o], p_ans[o], cnt[o]
    starts = np.flatnonzero(np.r_[True, p_cell[1:] != p_cell[:-1]]) if p_cell.size else np.zeros(0, np.int64)
    rank = np.arange(p_cell.size) - np.repeat(starts, np.diff(np.r_[starts, p_cell.size]))
    width = 1 + (int(rank.max()) + 1 if rank.size else 0)
    ac = np.zeros((n, width), np.int64)
    ac[:, 0] = n_correct
    wa = np.full((n, width - 1), None, dtype=object)
    if rank.size:
        ac[p_cell, 1 + rank] = cnt
        lab_arr = np.empty(len(ans_lab), dtype=object)
        lab_arr[:] = ans_lab
        wa[p_cell, rank] = lab_arr[p_ans]
    return CountsTable(tuple(labels), steps, tuple(problem_ids), n_samples.reshape(C, P), n_correct.reshape(C, P),
                       ac.reshape(C, P, width), n_null.reshape(C, P), wa.reshape(C, P, width - 1))


def all_rejected_error(report: ImportReport, files) -> NoRecordsError:
    """The error of an import in which every row was rejected: the files, the counts by reason and the first three
    rejections (file:line: reason); the report (sorted) travels with it."""
    report.sort()
    return NoRecordsError(f"no valid rows in {', '.join(map(str, files))}: {report.rows_read} read, all rejected "
                          f"({report.reasons()}); first: "
                          + "; ".join(f"{r.file}:{r.line}: {r.reason}" for r in report.rejected[:3]), report)


def finish_report(report: ImportReport) -> ImportReport:
    """Sort an import's report and check its accounting: rows read = accepted + rejected (RuntimeError otherwise)."""
    report.sort()
    if report.rows_read != report.rows_accepted + report.n_rejected:  # pragma: no cover - an accounting bug
        raise RuntimeError(f"import report does not add up: {report.rows_read} read != {report.rows_accepted} accepted "
                           f"+ {report.n_rejected} rejected")
    return report


def records_batch(numbered, path, report: ImportReport, to_record) -> Batch:
    """One file's sample records from ``(line or row number, object)`` pairs: each object becomes a record through
    ``to_record`` (a ``RowError`` rejects it with file, number and reason) and is then validated (``validate_record``);
    every pair counts as one row read."""
    return record_lists_batch(numbered, path, report, lambda no, obj: [to_record(obj)])


def record_lists_batch(numbered, path, report: ImportReport, to_records) -> Batch:
    """One file's sample records from ``(line or row number, object)`` pairs where an object may hold several samples
    (a problem's n generations on one line): ``to_records(number, object)`` gives its records. A ``RowError`` rejects
    the object with file, number and reason and counts it as one row read; otherwise each of its records counts as
    one row read and is validated (``validate_record``)."""
    cols = Columns()
    for no, obj in numbered:
        try:
            records = to_records(no, obj)
        except RowError as e:
            report.rows_read += 1
            report.reject(path, no, str(e))
            continue
        report.rows_read += len(records)
        for record in records:
            validate_record(record, str(path), no, report, cols)
    return cols.to_batch(str(path))
