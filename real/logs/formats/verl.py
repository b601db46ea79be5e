"""The ``verl`` format: verl's validation dumps (https://github.com/volcengine/verl; with
``trainer.validation_data_dir`` set, ``RayPPOTrainer._validate`` in verl/trainer/ppo/ray_trainer.py dumps every
validation through ``_dump_generations``, in verl 0.9 the static ``_write_generations``), one file
``<step>.jsonl`` per validation, one JSON line per sample.

Fields per line (as verl 0.4.1 to 0.9.1 write them): ``input`` (the decoded prompt), ``output`` (the
generation), ``score`` (the summed reward), ``step`` (the training step), ``gts`` (the ground truth; verl
0.6 and later), then every reward extra-info field with one value per sample: ``reward`` (the score again,
verl 0.9), ``acc`` (the verifier's verdict: DAPO's ``math_dapo.compute_score`` returns ``{"score": ±1.0,
"acc": bool, "pred": str}``; verl 0.9's reward loop sets ``acc`` = score for rewards that return a number)
and ``pred`` (the answer the reward function parsed; "[INVALID]" when it found none).

Sample records, one per line:
- problem_id = sha1(input) hex, first 12 characters. The dumps carry no uid and no data source: samples are
  grouped into problems by their prompt text, so identical prompts (of two data sources, or repeated in one
  validation set) become one problem (an import note says so);
- sample_index = order of appearance within (step, problem), files read in order (so a line repeated by mistake
  cannot be told from another sample of the same prompt: it counts as one);
- correct = ``acc`` when the line has it (true/false, or a number: > ``verl_threshold``), else ``score`` >
  ``verl_threshold`` (default 0.0: any positive reward counts as solved; DAPO's -1 for a wrong answer is not);
- answer = ``pred`` when the line has it (a string; "[INVALID]", "" or null mean no answer), else
  ``real.logs.answers.extract_answer(output)``. A correct row with no answer is counted as the gold answer
  (the number of such rows is in the notes);
- gold = ``gts`` (a string or number; absent before verl 0.6); checkpoint = ``step`` (else the file stem).
Answers are merged per cell with ``AnswerEquivalence`` unless ``equivalence=False``. Rejected lines: the
``input``/``output``/``score`` fields missing, or any of the fields above of the wrong type.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

from real.logs.formats.files import json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, ImportReport, RowError, label_field, records_batch, require_fields

DETECT_FIELDS = ("input", "output", "score")
NO_ANSWER = ("", "[INVALID]")  # what DAPO's reward writes as pred when it parsed no answer


def is_number(v) -> bool:
    """True for an int or a non-NaN float (not a bool)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not (isinstance(v, float) and math.isnan(v))


class VerlImport:
    """The verl files of one import: they share the sample counters of each (step, problem) and the counts behind
    the notes. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, threshold: float = 0.0):
        self.threshold = float(threshold)
        self.counters: dict = {}  # (step, problem_id) -> samples seen
        self.unparsed_correct = 0
        self.rows = 0  # lines that became sample records
        self.from_acc = 0  # of them, correctness from acc (else from score)
        self.from_pred = 0  # of them, the answer from pred (else extracted from output)

    def read(self, path: Path, report: ImportReport, mapping=None) -> Batch:
        """The sample records of one file."""
        return records_batch(renamed(json_lines(path, report), mapping), path, report, lambda obj: self._record(obj, path))

    def _record(self, obj, path: Path) -> dict:
        """The sample record of one line; RowError when the line is malformed."""
        from real.logs.answers import extract_answer

        require_fields(obj, DETECT_FIELDS)
        bad = [k for k in ("input", "output") if not isinstance(obj[k], str)]
        if bad:
            raise RowError(f"wrong type: {bad[0]} must be a string, got {type(obj[bad[0]]).__name__}")
        score = obj["score"]
        if not is_number(score):
            raise RowError(f"wrong type: score must be a number, got {score!r}")
        acc = obj.get("acc")
        if acc is not None and not (isinstance(acc, bool) or is_number(acc)):
            raise RowError(f"wrong type: acc must be true/false or a number, got {acc!r}")
        pred = obj.get("pred")
        if pred is not None and not isinstance(pred, str):
            raise RowError(f"wrong type: pred must be a string or null, got {pred!r}")
        gts = obj.get("gts")
        if isinstance(gts, float) and math.isfinite(gts) and gts.is_integer():
            gts = int(gts)
        if gts is not None and (isinstance(gts, bool) or not isinstance(gts, (str, int, float))):
            raise RowError(f"wrong type: gts must be a string or number, got {gts!r}")
        gold = None if gts is None else str(gts)
        step = label_field(obj, "step") if obj.get("step") is not None else path.stem
        if acc is not None:
            correct = acc if isinstance(acc, bool) else float(acc) > self.threshold
        else:
            correct = float(score) > self.threshold
        if "pred" in obj:
            ans = None if pred is None or pred.strip() in NO_ANSWER else pred.strip()
        else:
            ans = extract_answer(obj["output"])
        pid = hashlib.sha1(obj["input"].encode("utf-8")).hexdigest()[:12]
        idx = self.counters.get((step, pid), 0)
        self.counters[(step, pid)] = idx + 1
        if ans is None and correct:
            ans = gold if gold is not None else "<unparsed correct answer>"
            self.unparsed_correct += 1
        self.rows += 1
        self.from_acc += acc is not None
        self.from_pred += "pred" in obj
        return {"checkpoint": step, "problem_id": pid, "sample_index": idx, "answer": ans, "correct": correct, "gold": gold}

    def notes(self) -> list[str]:
        """The import notes: no uid in the dumps; where correctness and answers came from; correct rows without an
        answer (none when no verl line was read)."""
        if not self.rows:
            return []
        out = [f"verl: validation dumps carry no uid or data source: samples are grouped into problems by their "
               f"input text, so identical prompts (e.g. of two data sources) merged into one problem "
               f"({len({p for _, p in self.counters})} distinct prompts)",
               f"verl: correctness from acc for {self.from_acc} row(s), from score > {self.threshold:g} for "
               f"{self.rows - self.from_acc}; answers from pred for {self.from_pred} row(s), extracted from output for "
               f"{self.rows - self.from_pred}"]
        if self.unparsed_correct:
            out.append(f"verl: {self.unparsed_correct} row(s) scored correct with no extractable answer were counted as "
                       "the gold answer")
        return out
