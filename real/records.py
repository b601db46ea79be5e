"""Sample records (one row per sample), their validation, the import report, and records -> CountsTable.

The record format (JSONL or Parquet, one object/row per sample):
  required: ``checkpoint`` (step number or name), ``problem_id`` (int or str), ``sample_index`` (int ≥ 0),
            ``answer`` (canonical string, or null when no answer could be parsed), ``correct`` (bool);
  optional: ``run``, ``gold``, ``text``, ``n_tokens``, ``logprob``, ``mean_token_entropy``.

Nothing is dropped silently: every row that fails validation becomes a :class:`Rejection` (file, line,
reason) in the :class:`ImportReport`, and the report's counts add up: rows read = accepted + rejected.

Rules applied when rows become a table (:func:`records_to_counts`):
- duplicate (run, checkpoint, problem_id, sample_index): the first row is kept, later ones rejected,
  naming the line of the first;
- inconsistent gold: for one (run, problem) the first non-null gold wins; rows with another gold are
  rejected;
- inconsistent correctness: within one (checkpoint, problem) cell, a row whose ``correct`` flag differs
  from the first row with the same answer string is rejected; a null answer marked correct is rejected;
- different answer strings that are all marked correct count together as the correct answer (slot 0):
  ``correct`` is the verifier's verdict and is authoritative;
- with more than one distinct ``run``, checkpoint labels become "run/checkpoint".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from real.counts import CountsTable

REQUIRED = ("checkpoint", "problem_id", "sample_index", "answer", "correct")
OPTIONAL = ("run", "gold", "text", "n_tokens", "logprob", "mean_token_entropy")


@dataclass(frozen=True)
class Rejection:
    """One rejected record: file, 1-based line (row number for Parquet/CSV data rows), reason."""

    file: str
    line: int
    reason: str

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "reason": self.reason}


@dataclass
class ImportReport:
    """What an import read, accepted and rejected (and why)."""

    files: list = field(default_factory=list)
    rows_read: int = 0
    rows_accepted: int = 0
    rejected: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def n_rejected(self) -> int:
        return len(self.rejected)

    def reject(self, file: str, line: int, reason: str) -> None:
        self.rejected.append(Rejection(str(file), int(line), reason))

    def reasons(self) -> dict:
        """Rejections per reason category (the text before the first ':')."""
        return dict(Counter(r.reason.split(":")[0] for r in self.rejected))

    def to_dict(self, max_listed: int = 1000) -> dict:
        return {"files": [str(f) for f in self.files], "rows_read": self.rows_read, "rows_accepted": self.rows_accepted,
                "rows_rejected": self.n_rejected, "rejections_by_reason": self.reasons(),
                "rejected": [r.as_dict() for r in self.rejected[:max_listed]],
                "rejected_listed": min(self.n_rejected, max_listed), "notes": list(self.notes)}

    def summary(self) -> str:
        lines = [f"import: {len(self.files)} file(s), {self.rows_read} rows read, {self.rows_accepted} accepted, "
                 f"{self.n_rejected} rejected"]
        for reason, n in sorted(self.reasons().items(), key=lambda t: -t[1]):
            lines.append(f"  {n:8d} x {reason}")
        for r in self.rejected[:5]:
            lines.append(f"  e.g. {r.file}:{r.line}: {r.reason}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class Columns:
    """Accepted sample records as columns (NumPy arrays), with the file and line of every row."""

    def __init__(self):
        self.cols = {k: [] for k in ("run", "checkpoint", "problem_id", "sample_index", "answer", "correct", "gold", "file", "line")}

    def append(self, run, checkpoint, problem_id, sample_index, answer, correct, gold, file, line):
        c = self.cols
        c["run"].append(run)
        c["checkpoint"].append(checkpoint)
        c["problem_id"].append(problem_id)
        c["sample_index"].append(sample_index)
        c["answer"].append(answer)
        c["correct"].append(correct)
        c["gold"].append(gold)
        c["file"].append(file)
        c["line"].append(line)

    def __len__(self):
        return len(self.cols["checkpoint"])

    def arrays(self) -> dict:
        c = self.cols
        return {"run": np.array(c["run"], dtype=object), "checkpoint": np.array(c["checkpoint"], dtype=object),
                "problem_id": np.array(c["problem_id"], dtype=object), "sample_index": np.array(c["sample_index"], np.int64),
                "answer": np.array(c["answer"], dtype=object), "correct": np.array(c["correct"], bool),
                "gold": np.array(c["gold"], dtype=object), "file": np.array(c["file"], dtype=object),
                "line": np.array(c["line"], np.int64)}


def _label(v) -> str | None:
    """Checkpoint / problem / run labels: ints and strings as strings; floats only when integral."""
    if v is None:
        return None
    if isinstance(v, bool):
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


def validate_record(obj, file: str, line: int, report: ImportReport, out: Columns) -> bool:
    """Check one sample record (a dict); append it to ``out`` or add a Rejection. Returns accepted."""
    if not isinstance(obj, dict):
        report.reject(file, line, f"not an object: got {type(obj).__name__}")
        return False
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        report.reject(file, line, f"missing field: {', '.join(missing)}")
        return False
    try:
        ckpt = _label(obj["checkpoint"])
        if ckpt is None:
            raise TypeError
    except TypeError:
        report.reject(file, line, f"wrong type: checkpoint must be an int or non-empty string, got {obj['checkpoint']!r}")
        return False
    try:
        pid = _label(obj["problem_id"])
        if pid is None:
            raise TypeError
    except TypeError:
        report.reject(file, line, f"wrong type: problem_id must be an int or non-empty string, got {obj['problem_id']!r}")
        return False
    si = obj["sample_index"]
    if isinstance(si, bool) or not isinstance(si, (int, np.integer)):
        report.reject(file, line, f"wrong type: sample_index must be an integer, got {si!r}")
        return False
    if si < 0:
        report.reject(file, line, f"negative sample_index: {si}")
        return False
    ans = obj["answer"]
    if ans is not None and not isinstance(ans, str):
        if isinstance(ans, (int, np.integer)) and not isinstance(ans, bool):
            ans = str(int(ans))  # a bare JSON number is an unambiguous answer string
        else:
            report.reject(file, line, f"wrong type: answer must be a string or null, got {ans!r}")
            return False
    ok = obj["correct"]
    if not isinstance(ok, (bool, np.bool_)):
        report.reject(file, line, f"wrong type: correct must be true/false, got {ok!r}")
        return False
    if ans is None and ok:
        report.reject(file, line, "inconsistent correctness: answer is null but correct is true")
        return False
    gold = obj.get("gold")
    if gold is not None and not isinstance(gold, str):
        if isinstance(gold, (int, np.integer)) and not isinstance(gold, bool):
            gold = str(int(gold))
        else:
            report.reject(file, line, f"wrong type: gold must be a string or null, got {gold!r}")
            return False
    try:
        run = _label(obj.get("run"))
    except TypeError:
        report.reject(file, line, f"wrong type: run must be an int or non-empty string, got {obj.get('run')!r}")
        return False
    for k in ("n_tokens", "logprob", "mean_token_entropy"):
        v = obj.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating))):
            report.reject(file, line, f"wrong type: {k} must be a number or null, got {v!r}")
            return False
    out.append(run, ckpt, pid, int(si), ans, bool(ok), gold, file, line)
    return True


def _codes(values: np.ndarray):
    """Integer codes of a column in first-appearance order (-1 for None) and the distinct values.

    Hash-based (pyarrow ``dictionary_encode``), so it stays fast for millions of strings."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(np.asarray(values, dtype=object).tolist(), type=pa.string())
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks()
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, enc.dictionary.to_pylist()


def _first_in_group(group: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each of ``rows`` (indices, ascending), the first row (in ``rows`` order) with the same group code."""
    uniq, first_pos, inv = np.unique(group[rows], return_index=True, return_inverse=True)
    return rows[first_pos][inv]


def _reject_rows(report: ImportReport, a: dict, keep: np.ndarray, rows: np.ndarray, reasons) -> None:
    for i, why in zip(rows.tolist(), reasons):
        report.reject(a["file"][i], int(a["line"][i]), why)
    keep[rows] = False


def records_to_counts(columns: Columns | dict, report: ImportReport, *, equivalence=None) -> CountsTable:
    """Group accepted records into a CountsTable (rules in the module docstring); vectorized.

    ``columns``: a :class:`Columns` or a dict of equal-length arrays with keys run, checkpoint (str),
    problem_id (str), sample_index (int), answer (str or None), correct (bool), gold (str or None), file,
    line. ``equivalence``: optional ``real.answers.AnswerEquivalence``; equivalent answer strings of
    one cell are merged (with the cell's gold, when given, as the representative).
    """
    a = columns.arrays() if isinstance(columns, Columns) else dict(columns)
    n = len(a["checkpoint"])
    if n == 0:
        raise ValueError("records: no valid sample records (see the import report for rejected rows)")
    keep = np.ones(n, bool)
    run_code, run_vals = _codes(a["run"])
    multi_run = len([r for r in run_vals if r is not None]) > 1
    if multi_run:
        ck_lab = np.array([f"{r}/{c}" if r is not None else str(c) for r, c in zip(a["run"].tolist(), a["checkpoint"].tolist())], dtype=object)
    else:
        ck_lab = np.asarray(a["checkpoint"], dtype=object)
    ck_code, _ = _codes(ck_lab)
    pid_code, pid_vals = _codes(a["problem_id"])
    P1 = len(pid_vals) + 1
    cell = ck_code * P1 + pid_code
    si = np.asarray(a["sample_index"], np.int64)
    correct = np.asarray(a["correct"], bool)

    # duplicates of (run, checkpoint, problem, sample_index): keep the first
    key = cell * (int(si.max()) + 1) + si
    all_rows = np.arange(n)
    first = _first_in_group(key, all_rows)
    dup = first != all_rows
    if dup.any():
        rows = np.flatnonzero(dup)
        _reject_rows(report, a, keep, rows, [
            f"duplicate key: (checkpoint {ck_lab[i]!r}, problem {a['problem_id'][i]!r}, sample {si[i]}) "
            f"first seen at {a['file'][first[i]]}:{a['line'][first[i]]}" for i in rows])

    # gold consistency per (run, problem): the first non-null gold wins
    gold_code, gold_vals = _codes(a["gold"])
    rows = np.flatnonzero(keep & (gold_code >= 0))
    if rows.size:
        pk = (run_code + 1) * P1 + pid_code
        first = _first_in_group(pk, rows)
        bad = gold_code[rows] != gold_code[first]
        if bad.any():
            br, bf = rows[bad], first[bad]
            _reject_rows(report, a, keep, br, [
                f"inconsistent gold: problem {a['problem_id'][i]!r} has gold {gold_vals[gold_code[i]]!r}, first seen "
                f"{gold_vals[gold_code[j]]!r} at {a['file'][j]}:{a['line'][j]}" for i, j in zip(br.tolist(), bf.tolist())])

    answers = np.asarray(a["answer"], dtype=object)
    if equivalence is not None:  # merge equivalent strings per cell (few distinct strings per cell)
        answers = answers.copy()
        order = np.argsort(cell, kind="stable")
        bounds = np.flatnonzero(np.r_[True, cell[order][1:] != cell[order][:-1], True])
        for s0, s1 in zip(bounds[:-1], bounds[1:]):
            rows = order[s0:s1]
            rows = rows[keep[rows]]
            if rows.size == 0:
                continue
            g = next((gold_vals[gold_code[i]] for i in rows if gold_code[i] >= 0), None)
            answers[rows] = np.array(equivalence.group(answers[rows].tolist(), gold=g), dtype=object)

    # correctness consistency per (cell, answer string)
    ans_code, ans_vals = _codes(answers)
    rows = np.flatnonzero(keep & (ans_code >= 0))
    if rows.size:
        first = _first_in_group(cell * (len(ans_vals) + 1) + ans_code, rows)
        bad = correct[rows] != correct[first]
        if bad.any():
            br, bf = rows[bad], first[bad]
            _reject_rows(report, a, keep, br, [
                f"inconsistent correctness: answer {answers[i]!r} marked {bool(correct[i])} here but {bool(correct[j])} "
                f"at {a['file'][j]}:{a['line'][j]}" for i, j in zip(br.tolist(), bf.tolist())])

    report.rows_accepted = int(keep.sum())
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        raise ValueError("records: every record was rejected (see the import report)")
    return _build_table(ck_lab[idx], np.asarray(a["problem_id"], dtype=object)[idx], answers[idx], correct[idx])


def _build_table(ck_lab, pids, answers, correct) -> CountsTable:
    """Vectorized grouping of clean rows into a CountsTable."""
    ck_code, ck_vals = _codes(ck_lab)
    pid_code, pid_vals = _codes(pids)
    C, P = len(ck_vals), len(pid_vals)
    steps = np.array([_num(x) for x in ck_vals])
    if np.all(np.isfinite(steps)):  # numeric labels: order by step
        order = np.argsort(steps, kind="stable")
        remap = np.empty(C, np.int64)
        remap[order] = np.arange(C)
        ck_code = remap[ck_code]
        ck_vals = [ck_vals[i] for i in order]
        steps = steps[order]
    cell = ck_code.astype(np.int64) * P + pid_code
    n_samples = np.bincount(cell, minlength=C * P).reshape(C, P)
    is_null = np.array([x is None for x in answers.tolist()])
    n_null = np.bincount(cell[is_null], minlength=C * P).reshape(C, P)
    n_correct = np.bincount(cell[correct], minlength=C * P).reshape(C, P)
    wrong = ~is_null & ~correct
    w_cell = cell[wrong]
    w_code, w_vals = _codes(answers[wrong]) if wrong.any() else (np.zeros(0, np.int64), [])
    pair = w_cell * max(len(w_vals), 1) + w_code
    upair, cnt = np.unique(pair, return_counts=True)
    p_cell = upair // max(len(w_vals), 1)
    p_ans = upair % max(len(w_vals), 1)
    # rank wrong answers within each cell by count (desc), then by answer string
    ans_str = np.array([w_vals[i] for i in p_ans.tolist()], dtype=object) if upair.size else np.zeros(0, object)
    order = np.lexsort((ans_str.astype(str), -cnt, p_cell)) if upair.size else np.zeros(0, np.int64)
    p_cell, cnt, ans_str = p_cell[order], cnt[order], ans_str[order]
    starts = np.r_[True, p_cell[1:] != p_cell[:-1]] if p_cell.size else np.zeros(0, bool)
    first = np.flatnonzero(starts)
    rank = np.arange(p_cell.size) - np.repeat(first, np.diff(np.r_[first, p_cell.size]))
    width = 1 + (int(rank.max()) + 1 if rank.size else 0)
    ac = np.zeros((C * P, width), np.int64)
    ac[:, 0] = n_correct.reshape(-1)
    wa = np.full((C * P, width - 1), None, dtype=object)
    if rank.size:
        ac[p_cell, 1 + rank] = cnt
        wa[p_cell, rank] = ans_str
    return CountsTable(tuple(str(x) for x in ck_vals), steps, tuple(str(x) for x in pid_vals), n_samples, n_correct,
                       ac.reshape(C, P, width), n_null, wa.reshape(C, P, width - 1))


def _num(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")
