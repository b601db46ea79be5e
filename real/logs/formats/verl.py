"""The ``verl`` format: verl's validation dumps (https://github.com/volcengine/verl; with
``trainer.validation_data_dir`` set, ``RayPPOTrainer._dump_generations`` in verl/trainer/ppo/ray_trainer.py
writes one ``<step>.jsonl`` per validation), one JSON line per sample.

Fields per line: ``input`` (the prompt), ``output`` (the generation), ``score`` (the reward), ``gts`` (the
ground truth: a string or number; older verl versions write none), ``step`` (the training step).
Sample records: problem_id = sha1(input) hex, first 12 characters; sample_index = order of appearance
within (step, problem), files read in order; answer = ``real.logs.answers.extract_answer(output)``; correct
= score > ``verl_threshold`` (default 0.0: any positive reward counts as solved); gold = gts; checkpoint =
``step`` (else the file stem). A correct-scored output with no extractable answer is counted as the gold
answer (the number of such rows is in the notes). Answers are merged per cell with ``AnswerEquivalence``
unless ``equivalence=False``.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from real.logs.formats.files import json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, Columns, ImportReport, RowError, label_field, require_fields, validate_record


class VerlImport:
    """The verl files of one import: they share the sample counters of each (step, problem) and the count of
    correct rows without an answer. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, threshold: float = 0.0):
        self.threshold = float(threshold)
        self.counters: dict = {}  # (step, problem_id) -> samples seen
        self.unparsed_correct = 0

    def read(self, path: Path, report: ImportReport, mapping=None) -> Batch:
        """The sample records of one file."""
        cols = Columns()
        for no, obj in renamed(json_lines(path, report), mapping):
            report.rows_read += 1
            try:
                record = self._record(obj, path)
            except RowError as e:
                report.reject(path, no, str(e))
                continue
            validate_record(record, str(path), no, report, cols)
        return cols.to_batch(str(path))

    def _record(self, obj, path: Path) -> dict:
        """The sample record of one line; RowError when the line is malformed."""
        from real.logs.answers import extract_answer

        require_fields(obj, ("input", "output", "score"))
        bad = [k for k in ("input", "output") if not isinstance(obj[k], str)]
        if bad:
            raise RowError(f"wrong type: {bad[0]} must be a string, got {type(obj[bad[0]]).__name__}")
        score = obj["score"]
        if not isinstance(score, (int, float)) or (isinstance(score, float) and math.isnan(score)):
            raise RowError(f"wrong type: score must be a number, got {score!r}")
        gts = obj.get("gts")
        if isinstance(gts, float) and math.isfinite(gts) and gts.is_integer():
            gts = int(gts)
        if gts is not None and (isinstance(gts, bool) or not isinstance(gts, (str, int, float))):
            raise RowError(f"wrong type: gts must be a string or number, got {gts!r}")
        gold = None if gts is None else str(gts)
        step = label_field(obj, "step") if obj.get("step") is not None else path.stem
        pid = hashlib.sha1(obj["input"].encode("utf-8")).hexdigest()[:12]
        idx = self.counters.get((step, pid), 0)
        self.counters[(step, pid)] = idx + 1
        ans = extract_answer(obj["output"])
        correct = float(score) > self.threshold
        if ans is None and correct:
            ans = gold if gold is not None else "<unparsed correct answer>"
            self.unparsed_correct += 1
        return {"checkpoint": step, "problem_id": pid, "sample_index": idx, "answer": ans, "correct": correct, "gold": gold}

    def notes(self) -> list[str]:
        """The import note on correct rows without an answer (none when there were none)."""
        if not self.unparsed_correct:
            return []
        return [f"verl: {self.unparsed_correct} row(s) scored correct with no extractable answer were counted as the gold answer"]
