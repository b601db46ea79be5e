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

Tool outputs (issue 15; each module names the tool's file that writes it; sample-level):

======================  ============================  ======================================================
format                  module                        what it reads
======================  ============================  ======================================================
verl-generation         ``formats.verl_generation``   verl's offline generation Parquet (``responses`` lists)
qwen-math               ``formats.qwen_math``         Qwen2.5-Math ``math_eval.py`` output JSONL (``pred`` /
                                                      ``score`` lists per problem)
opencompass-predictions ``formats.opencompass``       OpenCompass ``predictions/<model>/<dataset>.json``
opencompass-results     ``formats.opencompass``       OpenCompass ``results/<model>/<dataset>.json`` with
                                                      ``details``
lighteval               ``formats.lighteval``         lighteval ``--save-details`` Parquet, one row per doc
                                                      (answers re-extracted and re-graded: no per-sample verdict)
evalscope               ``formats.evalscope``         evalscope review JSONL ``reviews/<model>/<benchmark>_<subset>.jsonl``
                                                      (evalscope's own verdict per generation)
trl-completions         ``formats.trl_completions``   TRL ``GRPOTrainer`` completions log (``log_completions=True``):
                                                      ``completions/completions_<step>.parquet``, checkpoint = step,
                                                      correct = reward > ``trl_threshold``
======================  ============================  ======================================================

Shared by all: ``formats.files`` (which files, which reader: the extension; JSON lines and CSV records
decoded line by line, so a line with invalid UTF-8 is rejected alone) and ``formats.mapped`` (the field
mapping ``{our_field: their_field}`` any format takes, e.g. ``{"problem_id": "qid"}``).

Levels: records, generic, lm-eval, verl and the tool outputs are sample-level and mix freely in one import; their records
go through ``real.logs.schema.batches_to_counts`` (duplicates, inconsistent gold, inconsistent correctness:
see that module's docstring). counts and binary are cell-level and each stands alone. Summary files found among
the inputs (Qwen2.5-Math's ``*_metrics.json``) are skipped with a note quoting their accuracy.

Temperatures: sample records may carry ``temperature`` (``real.logs.schema``). :func:`load_counts` builds one
table and refuses records of several temperatures; :func:`load_counts_by_temperature` builds one table per
temperature (the same rules applied within each temperature: a sample index may repeat across temperatures,
as ``real evaluate --temperatures`` writes it), with one import report for all.

Checkpoint steps: every format's checkpoint labels get a training step from ``real.logs.table.checkpoint_step``
(a number, or a usual name: ``global_step_140``, ``checkpoint-140``, ``step_100``, ``step-100``, ``ckpt140``,
``140.jsonl``), and checkpoints are ordered by it when every label names one; ``steps=`` gives them explicitly.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from real.logs.formats import evalscope, lighteval, opencompass, qwen_math, trl_completions, verl_generation
from real.logs.formats.answer_counts import load_answer_counts
from real.logs.formats.binary_counts import load_binary_counts
from real.logs.formats.files import expand_paths, is_empty, peek_fields
from real.logs.formats.lm_eval_harness import LmEvalImport
from real.logs.formats.mapped import check_mapping, our_names
from real.logs.formats.records import read_records
from real.logs.formats.verl import VerlImport
from real.logs.schema import (
    REQUIRED,
    ImportReport,
    NoRecordsError,
    all_rejected_error,
    batches_to_counts,
    distinct_temperatures,
    finish_report,
    temperature_label,
)
from real.logs.table import CountsTable, tables_with_steps

__all__ = ["ALIASES", "FORMATS", "LEVELS", "detect_format", "load_counts", "load_counts_by_temperature", "load_splits"]

# the tools' own outputs (verl generation, Qwen2.5-Math, OpenCompass, lighteval, evalscope, TRL), read by _ToolImports
TOOL_FORMATS = ("verl-generation", "qwen-math", "opencompass-predictions", "opencompass-results", "lighteval", "evalscope",
                "trl-completions")
FORMATS = ("auto", "records", "generic", "counts", "binary", "lm-eval", "verl", *TOOL_FORMATS)
ALIASES = {"answer_counts": "counts", "lm_eval": "lm-eval", "lmeval": "lm-eval", "correctness": "binary",
           "verl_generation": "verl-generation", "main_generation": "verl-generation", "qwen_math": "qwen-math",
           "qwen2.5-math": "qwen-math", "opencompass_predictions": "opencompass-predictions",
           "opencompass_results": "opencompass-results", "lighteval_details": "lighteval", "evalscope_reviews": "evalscope",
           "trl_completions": "trl-completions", "trl": "trl-completions"}
LEVELS = {"records": "samples", "generic": "samples", "lm-eval": "samples", "verl": "samples",
          **{k: "samples" for k in TOOL_FORMATS}, "counts": "counts", "binary": "binary",
          "qwen-math-metrics": "summary"}  # files of one import must share a level; a summary is found by detection only


def _has(*fields):
    return lambda keys, raw: set(fields) <= keys


# Detection rules, in order (the first that matches wins): (format, the fields it needs, in words; test of the
# file's field names in ours ``keys`` and its first record ``raw``). Listed in the error for a file no rule matches.
DETECTION = [
    ("counts", "answer_counts (and problem_id, gold)", _has("answer_counts")),
    ("lm-eval", "doc_id, resps (and target, filtered_resps, filter)", _has("doc_id", "resps")),
    ("verl", "input, output, score (and gts, step, acc, pred)", _has("input", "output", "score")),
    ("verl-generation", "responses, reward_model.ground_truth (Parquet; and data_source, extra_info.index)",
     _has(*verl_generation.DETECT_FIELDS)),
    ("qwen-math", "idx, gt, pred (list), score (list)", _has(*qwen_math.DETECT_FIELDS)),
    ("qwen-math-metrics", "acc, num_samples, num_scores (a *_metrics.json summary: skipped)",
     lambda keys, raw: set(qwen_math.METRICS_FIELDS) <= keys),
    ("opencompass-predictions", 'one JSON object {"<index>": {origin_prompt, prediction, gold}}',
     lambda keys, raw: opencompass.is_predictions(raw)),
    ("opencompass-results", "details: [{pred, answer, correct}] (a JSON object; and example_abbr)",
     lambda keys, raw: opencompass.is_results(raw)),
    ("lighteval", "doc, model_response, metric (Parquet, lighteval --save-details)", _has(*lighteval.DETECT_FIELDS)),
    ("evalscope", "index, sample_score (and target, messages: an evalscope review line)", _has(*evalscope.DETECT_FIELDS)),
    ("trl-completions", "step, prompt, completion (Parquet; and a column per reward function, advantage: TRL GRPOTrainer "
     "log_completions)", _has(*trl_completions.DETECT_FIELDS)),
    ("binary", "n_samples, n_correct, no sample_index (and problem_id, checkpoint)",
     lambda keys, raw: {"n_samples", "n_correct"} <= keys and "sample_index" not in keys),
    ("records", ", ".join(REQUIRED) + " (generic: the same under other names, with mapping=)", _has(*REQUIRED)),
]


def detect_format(path, mapping=None) -> str:
    """Guess a file's format from its fields (the first parsable JSON line, a JSON document's top-level object,
    the CSV header, or the Parquet schema), after renaming with ``mapping``; the first rule of ``DETECTION`` that
    matches wins:

    1. ``answer_counts`` -> "counts";
    2. ``doc_id`` and ``resps`` -> "lm-eval";
    3. ``input``, ``output`` and ``score`` -> "verl";
    4. ``responses`` and ``reward_model`` -> "verl-generation";
    5. ``idx``, ``gt``, ``pred`` and ``score`` -> "qwen-math"; ``acc``, ``num_samples``, ``num_scores`` ->
       "qwen-math-metrics" (a summary, skipped by the importer with a note);
    6. a JSON object of index keys whose first entry has ``origin_prompt`` and ``prediction`` ->
       "opencompass-predictions"; a JSON object with ``details`` -> "opencompass-results";
    7. ``doc``, ``model_response`` and ``metric`` -> "lighteval"; ``index`` and ``sample_score`` -> "evalscope";
       ``step``, ``prompt`` and ``completion`` -> "trl-completions";
    8. ``n_samples`` and ``n_correct`` but no ``sample_index`` -> "binary";
    9. all of checkpoint, problem_id, sample_index, answer, correct -> "records" ("generic" when a
       mapping renamed any of them).
    Otherwise ValueError naming the file, the fields seen, and every format with the fields it needs. The
    extension only picks the reader (.parquet/.pq: Parquet; .csv: CSV; anything else: JSON lines, or one JSON
    document for a .json file whose first line is not JSON).
    """
    path = Path(path)
    fields = peek_fields(path)
    raw = set(fields)
    keys = our_names(raw, mapping)
    for name, _, test in DETECTION:
        if test(keys, fields):
            if name == "records":
                return "generic" if mapping and not set(REQUIRED) <= raw else "records"
            return name
    raise ValueError(undetected_message(path, raw))


def undetected_message(path, raw) -> str:
    """The error for a file no detection rule matches: the fields seen and, per format, the fields it needs."""
    seen = ", ".join(sorted(map(str, raw))[:16]) or "none"
    needs = "; ".join(f"{name}: {fields}" for name, fields, _ in DETECTION if name in FORMATS)
    return (f"{path}: cannot tell the format from its fields ({seen}). Each format needs: {needs}. Pass format= (one of "
            f"{', '.join(FORMATS[1:])}) and, for other field names, mapping={{our_field: their_field}}")


def load_counts(paths, *, format: str = "auto", mapping: dict | None = None, checkpoint=None, equivalence=None,
                lm_eval_filter: str | None = None, verl_threshold: float = 0.0,
                fast: bool = True, steps: dict | None = None, trl_reward: str | None = None,
                trl_threshold: float = 0.0, stream: bool = False) -> tuple[CountsTable, ImportReport]:
    """Read log files (or folders of them) into a CountsTable plus an ImportReport (formats and rules:
    the module docstring, the ``real.logs.formats`` modules and ``real.logs.schema``).

    Args:
      paths: a file or folder, or a list of them; files are concatenated in order (a folder's files
        sorted, numeric stems numerically). Empty files are noted in the report; if every file is empty,
        ValueError naming them.
      format: "auto" (per file, :func:`detect_format`), or one of records, generic, counts, binary,
        lm-eval, verl, verl-generation, qwen-math, opencompass-predictions, opencompass-results, lighteval, evalscope,
        trl-completions (or an alias: answer_counts, lm_eval, lmeval, correctness, verl_generation, main_generation, qwen_math,
        qwen2.5-math, opencompass_predictions, opencompass_results, lighteval_details, evalscope_reviews, trl_completions,
        trl). All files
        must hold the same level of data (sample-level formats mix freely; counts and binary each stand alone).
      mapping: ``{our_field: their_field}`` renaming applied before validation (any format).
      checkpoint: label for data that carries none (counts/binary without a checkpoint field, lm-eval, and the tool
        outputs); defaults: file stem (counts, binary, verl-generation), parent folder name (lm-eval, opencompass-*:
        the model abbr), the harness's output folder (qwen-math: see ``formats.qwen_math``), the model folder
        (lighteval: the folder above its date folder; evalscope: the ``reviews/<model>/`` folder); trl-completions
        carries its own (the ``step`` column) and ignores it.
      equivalence: a ``real.logs.answers.AnswerEquivalence`` to merge equivalent answer strings; None = the
        format's default (records/generic/counts and the tools' own verdicts, qwen-math and opencompass-results:
        exact strings, trusted as canonical; lm-eval/verl/verl-generation/opencompass-predictions/lighteval: an
        AnswerEquivalence() made and closed here; evalscope: its verdicts and answer strings are kept, and the
        AnswerEquivalence only cross-checks them (notes); when verl, verl-generation, opencompass-predictions or
        trl-completions files are read it merges the answers of every sample file); False = exact strings everywhere.
      lm_eval_filter: the lm-eval filter to use (default: the first seen).
      verl_threshold: a verl sample is correct when score > verl_threshold.
      fast: False forces line-by-line validation of JSONL sample records (same result, slower; for checks).
      steps: optional ``{checkpoint label: training step}`` given explicitly (``CountsTable.with_steps``: the
        checkpoints are then ordered by step). Without it a checkpoint's step comes from its label
        (``real.logs.table.checkpoint_step``: a number, ``global_step_140``, ``checkpoint-140``, ``step_100``,
        ``ckpt140``, ``140.jsonl``, ...), NaN when the label names none.
      trl_reward: trl-completions: the reward column whose value decides correctness (default: the only reward column;
        several are an error listing them; ``formats.trl_completions``).
      trl_threshold: trl-completions: a sample is correct when its reward > trl_threshold (a finite number).
      stream: True reads our sample records (records/generic; Parquet or JSONL) batch by batch in bounded memory
        (``real.logs.streaming.stream_counts``): the same table and report, for logs larger than memory; ValueError
        for other formats, CSV, or an ``equivalence``.
    Returns (table, report); ``report.rows_read == report.rows_accepted + report.n_rejected``.
    Raises ValueError (bad arguments, unknown format, all files empty, a file of the wrong level, records of
    several temperatures: see :func:`load_counts_by_temperature`), FileNotFoundError, and NoRecordsError (a
    ValueError carrying ``.report``) when no row is accepted.
    """
    if stream:
        from real.logs.streaming import stream_counts

        return stream_counts(paths, format=format, mapping=mapping, equivalence=equivalence, fast=fast, steps=steps)
    tables, report = _import(paths, format, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold, fast, False,
                             trl_reward, trl_threshold)
    table = tables[None]
    return (table if steps is None else table.with_steps(steps)), report


def load_counts_by_temperature(paths, *, format: str = "auto", mapping: dict | None = None, checkpoint=None, equivalence=None,
                               lm_eval_filter: str | None = None, verl_threshold: float = 0.0,
                               fast: bool = True, steps: dict | None = None, trl_reward: str | None = None,
                               trl_threshold: float = 0.0, stream: bool = False) -> tuple[dict, ImportReport]:
    """As :func:`load_counts`, but one CountsTable per sampling temperature: returns ``({T: table}, report)``
    with T a float (0 = greedy decoding) or None for records without a ``temperature`` field (and for the
    count-level formats, which carry none), keys sorted (None last).

    The sample records are read once; each temperature's rows then go through the rules of
    ``real.logs.schema.batches_to_counts`` on their own (duplicates, gold and correctness consistency are
    checked within a temperature, so a ``(checkpoint, problem_id, sample_index)`` may repeat across
    temperatures). A temperature whose rows are all rejected has no table (a note says so). The report
    covers every temperature: ``rows_read == rows_accepted + n_rejected``. ``trl_reward``, ``trl_threshold``: as in
    :func:`load_counts`. ``steps``: as in :func:`load_counts`, applied
    to every table (a label that is a checkpoint of none of them is an error). ``stream``: as in :func:`load_counts`
    (``real.logs.streaming.stream_counts_by_temperature``).
    """
    if stream:
        from real.logs.streaming import stream_counts_by_temperature

        return stream_counts_by_temperature(paths, format=format, mapping=mapping, equivalence=equivalence, fast=fast, steps=steps)
    tables, report = _import(paths, format, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold, fast, True,
                             trl_reward, trl_threshold)
    return (tables if steps is None else tables_with_steps(tables, steps)), report


def _import(paths, format, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold, fast,
            by_temperature: bool, trl_reward: str | None = None, trl_threshold: float = 0.0) -> tuple[dict, ImportReport]:
    fmt = ALIASES.get(format, format)
    if fmt not in FORMATS:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {format!r}")
    check_mapping(mapping)
    if not isinstance(verl_threshold, (int, float)) or isinstance(verl_threshold, bool) or math.isnan(verl_threshold):
        raise ValueError(f"verl_threshold: must be a number, got {verl_threshold!r}")
    trl_completions.check_arguments(trl_reward, trl_threshold)
    files = expand_paths(paths)
    report = ImportReport(files=[str(f) for f in files])
    kinds: dict = {}
    for f in files:
        if is_empty(f):
            report.empty_files.append(str(f))
            report.notes.append(f"{f}: empty file (no data rows)")
            continue
        kinds[f] = detect_format(f, mapping) if fmt == "auto" else fmt
    # summary files found beside the samples (Qwen2.5-Math's *_metrics.json) are noted and skipped
    for f in [f for f, k in kinds.items() if LEVELS[k] == "summary"]:
        del kinds[f]
        doc = qwen_math.is_metrics_file(f) or {}
        report.notes.append(f"{f}: Qwen2.5-Math metrics summary (acc {doc.get('acc')!r} = 100 x first-sample accuracy, "
                            f"{doc.get('num_samples')!r} problems), not samples: skipped")
        if not kinds and not report.empty_files:
            raise ValueError(f"no sample data: {f} is a Qwen2.5-Math metrics summary; import the samples JSONL beside it")
    if not kinds:
        raise ValueError(f"no data: every input file is empty ({', '.join(map(str, files))})")
    levels = {LEVELS[k] for k in kinds.values()}
    if len(levels) > 1:
        raise ValueError("format: files mix levels of data ("
                         + ", ".join(f"{f.name}: {k}" for f, k in kinds.items()) + "); import them separately")
    level = levels.pop()
    try:
        if level == "counts":
            tables = {None: load_answer_counts(kinds, report, mapping, checkpoint, equivalence)}
        elif level == "binary":
            tables = {None: load_binary_counts(kinds, report, mapping, checkpoint)}
        else:
            tables = _load_samples(kinds, report, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold, fast,
                                   by_temperature, trl_reward, trl_threshold)
    except NoRecordsError as e:
        raise all_rejected_error(report, kinds) from e
    return tables, finish_report(report)


def _load_samples(kinds: dict, report: ImportReport, mapping, checkpoint, equivalence, lm_eval_filter, verl_threshold,
                  fast, by_temperature: bool = False, trl_reward: str | None = None, trl_threshold: float = 0.0) -> dict:
    """Sample-level files (``kinds``: file -> format, in order) -> {None: one table} (or, ``by_temperature``,
    {T: table}): each file becomes a batch of sample records, in file order, and the batches are grouped
    together (so duplicates across files count)."""
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
    tools = _ToolImports(kinds, trl_reward, trl_threshold)
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
            elif kind in TOOL_FORMATS:
                batches.append(tools.read(f, kind, report, mapping, checkpoint, get_eq))
                if kind in ("verl-generation", "opencompass-predictions", "trl-completions"):  # answers we extracted: merge them
                    core_eq = get_eq()
            else:  # pragma: no cover - levels are checked by the caller
                raise ValueError(f"{f}: format {kind!r} is not sample-level")
        report.notes += lm_eval.notes() + verl.notes() + tools.notes()
        if not by_temperature:
            return {None: batches_to_counts(batches, report, core_eq)}
        return _tables_by_temperature(batches, report, core_eq)
    finally:
        if own_eq is not None:
            own_eq.close()


class _ToolImports:
    """The readers of the tool-output formats for one import (each keeps the state its files share)."""

    def __init__(self, kinds: dict, trl_reward: str | None = None, trl_threshold: float = 0.0):
        self.verl_generation = verl_generation.VerlGenerationImport()
        self.qwen_math = qwen_math.QwenMathImport([f for f, k in kinds.items() if k == "qwen-math"])
        self.opencompass = opencompass.OpenCompassImport()
        self.lighteval = lighteval.LightevalImport([f for f, k in kinds.items() if k == "lighteval"])
        self.evalscope = evalscope.EvalscopeImport([f for f, k in kinds.items() if k == "evalscope"])
        self.trl = trl_completions.TrlCompletionsImport(trl_reward, trl_threshold)

    def read(self, f: Path, kind: str, report: ImportReport, mapping, checkpoint, get_eq):
        """The Batch of one file of a tool-output format (``get_eq()``: the AnswerEquivalence, or None)."""
        if kind == "verl-generation":
            return self.verl_generation.read(f, report, mapping, checkpoint, get_eq())
        if kind == "qwen-math":
            return self.qwen_math.read(f, report, mapping, checkpoint)
        if kind == "opencompass-predictions":
            return self.opencompass.read_predictions(f, report, mapping, checkpoint, get_eq())
        if kind == "lighteval":
            return self.lighteval.read(f, report, mapping, checkpoint, get_eq())
        if kind == "evalscope":
            return self.evalscope.read(f, report, mapping, checkpoint, get_eq())
        if kind == "trl-completions":
            return self.trl.read(f, report, mapping)
        return self.opencompass.read_results(f, report, mapping, checkpoint)

    def notes(self) -> list[str]:
        """The readers' import notes."""
        return (self.verl_generation.notes() + self.qwen_math.notes() + self.opencompass.notes() + self.lighteval.notes()
                + self.evalscope.notes() + self.trl.notes())


def _tables_by_temperature(batches: list, report: ImportReport, equivalence) -> dict:
    """{T: table} from type-valid batches, each temperature's rows (file order kept) grouped on their own."""
    temps = distinct_temperatures(np.concatenate([b.temperatures() for b in batches])) if batches else []
    out = {}
    for t in temps:
        parts = []
        for b in batches:
            bt = b.temperatures()
            parts.append(b.take(np.flatnonzero(np.isnan(bt) if t is None else bt == t)))
        try:
            out[t] = batches_to_counts(parts, report, equivalence)
        except NoRecordsError:
            report.notes.append(f"{temperature_label(t)}: every record was rejected; no table for this temperature")
    if not out:
        raise NoRecordsError("records: no valid sample records (see the import report for rejected rows)", report)
    return out


def json_object_lines(path):
    """(line number, object) for every non-blank line of a JSON Lines file; a line that is not JSON, or not an
    object, is an error naming the file and line."""
    import json

    with open(path, encoding="utf-8") as f:
        for line, text in enumerate(f, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line}: not JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{path}:{line}: expected an object, got {type(obj).__name__}")
            yield line, obj


def load_splits(path) -> dict:
    """A difficulty-split file -> {problem_id (str): split name (str)}, by extension:

    * ``.json``: one object ``{"problem_id": "split name", ...}``;
    * ``.csv``: a header with ``problem_id`` and ``split`` columns (others ignored), one problem per record;
    * anything else: JSON lines, one object per line with ``problem_id`` and ``split`` (other fields ignored,
      so a problems file whose lines carry a ``split`` field serves as is).
    Errors (ValueError) name the file, the line and the field: a missing or blank field, a problem id that is not
    a string or integer, a problem listed twice with different splits.
    """
    import csv
    import json

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such splits file")
    out, where = {}, {}

    def add(pid, split, line):
        if pid is None or isinstance(pid, bool) or not isinstance(pid, (str, int)) or (isinstance(pid, str) and not pid.strip()):
            raise ValueError(f"{path}:{line}: field 'problem_id' must be a non-empty string or integer, got {pid!r}")
        if not isinstance(split, str) or not split.strip():
            raise ValueError(f"{path}:{line}: field 'split' must be a non-empty string, got {split!r}")
        pid = str(pid)
        if pid in out and out[pid] != split:
            raise ValueError(f"{path}:{line}: problem_id {pid!r} has split {split!r} here but {out[pid]!r} at line {where[pid]}")
        out[pid], where[pid] = split, line

    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected one JSON object problem_id -> split name, got {type(doc).__name__}")
        for pid, split in doc.items():
            add(pid, split, 1)
    elif suffix == ".csv":
        with open(path, encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            missing = [k for k in ("problem_id", "split") if k not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}:1: the header lacks field(s) {', '.join(missing)} (has {reader.fieldnames})")
            for line, row in enumerate(reader, start=2):
                add(row["problem_id"], row["split"], line)
    else:
        for line, obj in json_object_lines(path):
            for k in ("problem_id", "split"):
                if k not in obj:
                    raise ValueError(f"{path}:{line}: field {k!r} is missing")
            add(obj["problem_id"], obj["split"], line)
    if not out:
        raise ValueError(f"{path}: no splits")
    return out
