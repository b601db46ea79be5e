"""The ``counts`` format (alias ``answer_counts``): how often each answer came up, one JSON line per
(checkpoint ×) problem, e.g. ``{"problem_id": 17, "gold": "18", "answer_counts": {"18": 7, "12": 2,
"null": 1}}`` (the form of ``../shared/data/gsm8k-codex-k10/answers.jsonl``). JSON lines only.

Fields:
  ``problem_id`` (int or non-empty string), ``answer_counts`` (answer -> non-negative count; the key
  ``"null"`` or ``""`` holds unparsed samples), the correct answer in ``gold`` (or ``correct_answer``);
  optional ``n_null`` (more unparsed samples), ``n_samples`` (must equal the counts' sum including unparsed
  samples), ``checkpoint`` (default: the ``checkpoint`` argument, else the file stem; a note says so) and
  ``run``.
An answer string equal to the gold fills slot 0 (with ``equivalence=``: every answer equivalent to it).
Rejected lines: a repeated (run, checkpoint, problem_id) (the first line wins) and a gold different from
the problem's first gold (across files), besides wrong types and missing fields.
"""

from __future__ import annotations

from real.logs.formats.files import file_kind, json_lines, peek_fields
from real.logs.formats.mapped import our_names, renamed
from real.logs.schema import ImportReport, NoRecordsError, RowError, as_answer, cell_axes, convert_field, label_field, require_fields
from real.logs.table import CountsTable, from_answer_counts


def load_answer_counts(files, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> CountsTable:
    """Read answer-count JSON-lines ``files`` (in order) into one CountsTable; rejections and notes into
    ``report``. ``equivalence``: an ``AnswerEquivalence`` merging each line's answer strings (None or
    False: exact strings). ValueError for a file that is not JSON lines; :class:`NoRecordsError` when no
    line is accepted."""
    cells: dict = {}  # (run, checkpoint, problem_id) -> (answer counts, gold, "file:line")
    golds: dict = {}  # problem_id -> (its first gold, "file:line")
    eq = equivalence if equivalence not in (None, False) else None
    for f in files:
        if file_kind(f) != "jsonl":
            raise ValueError(f"{f}: the counts format (answer_counts per line) is read from JSON lines only")
        default = str(checkpoint) if checkpoint is not None else f.stem
        before = len(cells)
        for no, obj in renamed(json_lines(f, report), mapping):
            report.rows_read += 1
            try:
                key, counts, gold = _line(obj, default, cells, golds, eq)
            except RowError as e:
                report.reject(f, no, str(e))
                continue
            cells[key] = (counts, gold, f"{f}:{no}")
            golds.setdefault(key[2], (gold, f"{f}:{no}"))
            report.rows_accepted += 1
        if "checkpoint" not in our_names(peek_fields(f), mapping) and len(cells) > before:
            report.notes.append(f"{f}: no checkpoint field in its first line; rows without one are labelled {default!r}")
    if not cells:
        raise NoRecordsError("counts: no valid rows (see the import report)", report)
    rc, labels, steps, pids, ci, pi = cell_axes(cells)
    counts = [[{} for _ in pids] for _ in rc]
    gold_of = [[None] * len(pids) for _ in rc]
    for (r, c, p), (cnt, gold, _) in cells.items():
        counts[ci[(r, c)]][pi[p]] = cnt
        gold_of[ci[(r, c)]][pi[p]] = gold
    return from_answer_counts(labels, pids, counts, gold_of, steps=steps)


def _line(obj, default_ck: str, cells: dict, golds: dict, eq) -> tuple:
    """(key, {answer or None: count}, gold) of one valid line (renamed to our fields); RowError otherwise."""
    require_fields(obj, ())
    gold_key = "gold" if obj.get("gold") is not None else "correct_answer"
    miss = [k for k, present in (("problem_id", "problem_id" in obj), ("answer_counts", "answer_counts" in obj),
                                 ("gold (or correct_answer)", obj.get(gold_key) is not None)) if not present]
    if miss:
        raise RowError(f"missing field: {', '.join(miss)}")
    pid = label_field(obj, "problem_id")
    gold = convert_field(obj, gold_key, as_answer, "a string")
    ac = obj["answer_counts"]
    if not isinstance(ac, dict):
        raise RowError(f"wrong type: answer_counts must be an object answer -> count, got {ac!r}")
    bad = [(k, v) for k, v in ac.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0]
    if bad:
        raise RowError(f"wrong type: answer_counts[{bad[0][0]!r}] must be a non-negative integer, got {bad[0][1]!r}")
    extra_null = obj.get("n_null", 0)
    if isinstance(extra_null, bool) or not isinstance(extra_null, int) or extra_null < 0:
        raise RowError(f"wrong type: n_null must be a non-negative integer, got {extra_null!r}")
    total = sum(ac.values()) + extra_null
    ns = obj.get("n_samples")
    if ns is not None and (isinstance(ns, bool) or not isinstance(ns, int) or ns != total):
        raise RowError(f"inconsistent counts: n_samples = {ns!r} but answer_counts (with unparsed) sum to {total}")
    ck = label_field(obj, "checkpoint") if "checkpoint" in obj else default_ck
    run = None if obj.get("run") is None else label_field(obj, "run")
    key = (run, ck, pid)
    if key in cells:
        raise RowError(f"duplicate key: (checkpoint {ck!r}, problem_id {pid!r}) first seen at {cells[key][2]}")
    g0 = golds.get(pid)
    if g0 is not None and g0[0] != gold:
        raise RowError(f"inconsistent gold: problem_id {pid!r} has gold {gold!r} here, but {g0[0]!r} first at {g0[1]}")
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
    return key, counts, gold
