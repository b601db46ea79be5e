"""Importers: every supported log format -> (CountsTable, ImportReport). One entry point, :func:`load_counts`.

Formats (``format=``, or ``"auto"``: see :func:`detect_format`); one module of ``real.logs.formats`` per
format, whose docstring gives its fields and rules:

=======  ===========================  ==============================================================
format   module                       what it reads
=======  ===========================  ==============================================================
records  ``formats.records``          our sample records (``real.logs.schema``): JSONL, Parquet, CSV
generic  ``formats.mapped``           the same under other field names, with ``mapping=``
counts   ``formats.answer_counts``    answer -> count per (checkpoint ×) problem, JSONL
binary   ``formats.binary_counts``    n_samples / n_correct per (checkpoint ×) problem, no answers
lm-eval  ``formats.lm_eval_harness``  lm-evaluation-harness ``--log_samples`` JSONL
verl     ``formats.verl``             verl validation dumps ``<step>.jsonl``
=======  ===========================  ==============================================================

Shared by all: ``formats.files`` (which files, which reader: the extension; JSON lines and CSV records
decoded line by line, so a line with invalid UTF-8 is rejected alone) and ``formats.mapped`` (the field
mapping ``{our_field: their_field}`` any format takes, e.g. ``{"problem_id": "qid"}``).

Levels: records, generic, lm-eval and verl are sample-level and mix freely in one import; their records
go through ``real.logs.schema.batches_to_counts`` (duplicates, inconsistent gold, inconsistent correctness:
see that module's docstring). counts and binary are cell-level and each stands alone.
"""

from __future__ import annotations

import math
from pathlib import Path

from real.logs.formats.answer_counts import load_answer_counts
from real.logs.formats.binary_counts import load_binary_counts
from real.logs.formats.files import expand_paths, is_empty, peek_fields
from real.logs.formats.lm_eval_harness import LmEvalImport
from real.logs.formats.mapped import check_mapping, our_names
from real.logs.formats.records import read_records
from real.logs.formats.verl import VerlImport
from real.logs.schema import REQUIRED, ImportReport, NoRecordsError, batches_to_counts
from real.logs.table import CountsTable

__all__ = ["ALIASES", "FORMATS", "LEVELS", "detect_format", "load_counts"]

FORMATS = ("auto", "records", "generic", "counts", "binary", "lm-eval", "verl")
ALIASES = {"answer_counts": "counts", "lm_eval": "lm-eval", "lmeval": "lm-eval", "correctness": "binary"}
LEVELS = {"records": "samples", "generic": "samples", "lm-eval": "samples", "verl": "samples",
          "counts": "counts", "binary": "binary"}  # files of one import must share a level


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
    raw = set(peek_fields(path))
    keys = our_names(raw, mapping)
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


def load_counts(paths, *, format: str = "auto", mapping: dict | None = None, checkpoint=None, equivalence=None,
                lm_eval_filter: str | None = None, verl_threshold: float = 0.0,
                fast: bool = True) -> tuple[CountsTable, ImportReport]:
    """Read log files (or folders of them) into a CountsTable plus an ImportReport (formats and rules:
    the module docstring, the ``real.logs.formats`` modules and ``real.logs.schema``).

    Args:
      paths: a file or folder, or a list of them; files are concatenated in order (a folder's files
        sorted, numeric stems numerically). Empty files are noted in the report; if every file is empty,
        ValueError naming them.
      format: "auto" (per file, :func:`detect_format`), or one of records, generic, counts, binary,
        lm-eval, verl (or an alias: answer_counts, lm_eval, lmeval, correctness). All files must hold the
        same level of data (sample-level formats mix freely; counts and binary each stand alone).
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
    fmt = ALIASES.get(format, format)
    if fmt not in FORMATS:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {format!r}")
    check_mapping(mapping)
    if not isinstance(verl_threshold, (int, float)) or isinstance(verl_threshold, bool) or math.isnan(verl_threshold):
        raise ValueError(f"verl_threshold: must be a number, got {verl_threshold!r}")
    files = expand_paths(paths)
    report = ImportReport(files=[str(f) for f in files])
    kinds: dict = {}
    for f in files:
        if is_empty(f):
            report.empty_files.append(str(f))
            report.notes.append(f"{f}: empty file (no data rows)")
            continue
        kinds[f] = detect_format(f, mapping) if fmt == "auto" else fmt
    if not kinds:
        raise ValueError(f"no data: every input file is empty ({', '.join(map(str, files))})")
    levels = {LEVELS[k] for k in kinds.values()}
    if len(levels) > 1:
        raise ValueError("format: files mix levels of data ("
                         + ", ".join(f"{f.name}: {k}" for f, k in kinds.items()) + "); import them separately")
    level = levels.pop()
    try:
        if level == "counts":
            table = load_answer_counts(kinds, report, mapping, checkpoint, equivalence)
        elif level == "binary":
            table = load_binary_counts(kinds, report, mapping, checkpoint)
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


def _load_samples(kinds: dict, report: ImportReport, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold,
                  fast) -> CountsTable:
    """Sample-level files (``kinds``: file -> format, in order) -> one table: each file becomes a batch of
    sample records, in file order, and the batches are grouped together (so duplicates across files count)."""
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

    lm_eval = LmEvalImport([f for f, k in kinds.items() if k == "lm-eval"], lm_eval_filter)
    verl = VerlImport(verl_threshold)
    core_eq = None
    try:
        for f, kind in kinds.items():
            if kind in ("records", "generic"):
                batches.append(read_records(f, report, mapping, fast))
                if equivalence not in (None, False):
                    core_eq = equivalence
            elif kind == "lm-eval":
                batches.append(lm_eval.read(f, report, mapping, checkpoint, get_eq()))
            elif kind == "verl":
                batches.append(verl.read(f, report, mapping))
                core_eq = get_eq()
            else:  # pragma: no cover - levels are checked by the caller
                raise ValueError(f"{f}: format {kind!r} is not sample-level")
        report.notes += lm_eval.notes() + verl.notes()
        return batches_to_counts(batches, report, core_eq)
    finally:
        if own_eq is not None:
            own_eq.close()
