"""The ``binary`` format (alias ``correctness``): only how many samples were drawn and how many were
correct, ``n_samples`` and ``n_correct`` per (checkpoint ×) problem, as CSV, JSON lines or Parquet (the form
of coverage studies, e.g. ``../shared/data/pythia-math-coverage/counts.csv``). The table has no answers
(``answer_counts=None``): pass@k and coverage work, majority voting does not.

Fields:
  ``problem_id`` (int or non-empty string), ``n_samples``, ``n_correct`` (non-negative integers, also as
  integral floats or decimal text; ``n_correct`` ≤ ``n_samples``); optional ``checkpoint`` (or the column
  named by ``mapping={"checkpoint": "model"}``; without one, every row gets the ``checkpoint`` argument or
  the file stem, and a note says so) and ``run`` (an empty cell: none).
A repeated (run, checkpoint, problem_id) is rejected (the first row wins).
"""

from __future__ import annotations

import math
import re

import numpy as np

from real.logs.formats.files import csv_rows, file_kind, json_lines, peek_fields
from real.logs.formats.mapped import our_names, renamed
from real.logs.schema import ImportReport, NoRecordsError, RowError, as_label, cell_axes, require_fields
from real.logs.table import CountsTable


def load_binary_counts(files, report: ImportReport, mapping=None, checkpoint=None) -> CountsTable:
    """Read n_samples/n_correct ``files`` (in order) into one CountsTable without answers; rejections and
    notes into ``report``. :class:`NoRecordsError` when no row is accepted."""
    store: dict = {}  # (run, checkpoint, problem_id) -> (n_samples, n_correct, "file:line")
    for f in files:
        default = str(checkpoint) if checkpoint is not None else f.stem
        if "checkpoint" not in our_names(peek_fields(f), mapping):
            report.notes.append(f"{f}: no checkpoint column; every row labelled {default!r} "
                                f"(name the column with mapping={{'checkpoint': ...}})")
        kind = file_kind(f)
        if kind == "parquet":
            import pyarrow.parquet as pq

            rows, counted = enumerate(pq.read_table(f).to_pylist(), start=1), False
        elif kind == "csv":
            rows, counted = csv_rows(f, report), True  # csv_rows counts rows_read itself
        else:
            rows, counted = json_lines(f, report), False
        for no, obj in renamed(rows, mapping):
            if not counted:
                report.rows_read += 1
            try:
                key, ns, nc = _row(obj, default, store)
            except RowError as e:
                report.reject(f, no, str(e))
                continue
            store[key] = (ns, nc, f"{f}:{no}")
            report.rows_accepted += 1
    if not store:
        raise NoRecordsError("binary counts: no valid rows (see the import report)", report)
    rc, labels, steps, pids, ci, pi = cell_axes(store)
    ns = np.zeros((len(rc), len(pids)), np.int64)
    nc = np.zeros_like(ns)
    for (r, c, p), (a, b, _) in store.items():
        ns[ci[(r, c)], pi[p]], nc[ci[(r, c)], pi[p]] = a, b
    return CountsTable(tuple(labels), steps, tuple(pids), ns, nc)


def _row(obj, default_ck: str, store: dict) -> tuple:
    """(key, n_samples, n_correct) of one valid row (renamed to our fields); RowError otherwise."""
    require_fields(obj, ("problem_id", "n_samples", "n_correct"))
    ns, nc = _int_cell(obj["n_samples"]), _int_cell(obj["n_correct"])
    if ns is None or ns < 0:
        raise RowError(f"wrong type: n_samples must be a non-negative integer, got {obj['n_samples']!r}")
    if nc is None or nc < 0:
        raise RowError(f"wrong type: n_correct must be a non-negative integer, got {obj['n_correct']!r}")
    if nc > ns:
        raise RowError(f"inconsistent counts: n_correct = {nc} exceeds n_samples = {ns}")
    try:
        pid = as_label(obj["problem_id"])
        ck = as_label(obj["checkpoint"]) if "checkpoint" in obj else default_ck
        run = None if obj.get("run") in (None, "") else as_label(obj["run"])
    except TypeError:
        raise RowError(f"wrong type: problem_id/checkpoint/run must be ints or non-empty strings, got "
                       f"{obj.get('problem_id')!r}/{obj.get('checkpoint', default_ck)!r}/{obj.get('run')!r}") from None
    key = (run, ck, pid)
    if key in store:
        raise RowError(f"duplicate key: (checkpoint {ck!r}, problem_id {pid!r}) first seen at {store[key][2]}")
    return key, ns, nc


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
