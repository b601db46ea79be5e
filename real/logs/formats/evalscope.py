"""The ``evalscope`` format: ModelScope evalscope's review files, JSON lines, one line per generation
(https://github.com/modelscope/evalscope).

Writer: ``CacheManager.save_review_cache`` in ``evalscope/api/evaluator/cache.py`` writes each
``ReviewResult.from_score_state(...).model_dump()`` as one line of ``reviews/<model>/<benchmark>_<subset>.jsonl``
(``evalscope.utils.io_utils.JsonlWriter``). Fields read:
  ``index`` (evalscope's sample id of this generation), ``target`` (the accepted answers: a list of strings; older
  files: one string), ``sample_score.score.value`` (``{metric: number}``, evalscope's own per-generation verdict,
  e.g. ``{"acc": 1.0}``), ``sample_score.score.main_score_name`` (which metric is the verdict; else the first key,
  as ``Score.main_value`` does), ``sample_score.score.extracted_prediction`` (evalscope's extracted answer),
  ``sample_score.score.prediction`` (the generation), ``sample_score.score.status``, ``sample_score.group_id``
  (the question: repeats of one question share it) and ``sample_score.generation_index`` (the repeat's position).
The verdict is evalscope's and is used as it is: correct = main value == 1, wrong = main value == 0 (pass@k needs a
pass/fail verdict; any other value is rejected, naming it). A line whose score has no main value (evalscope's
``status`` is not "success": it leaves such samples out of its aggregates) is rejected, reason "no verdict".
Answer = ``extracted_prediction`` (stripped; empty = evalscope found none: a null answer), or, in files without that
field, ``real.logs.answers.extract_answer(prediction)``; a generation marked correct with no answer is counted as the
gold answer (notes give the number). Answer strings are kept as evalscope extracted them (its verdict decides
correctness, so nothing is merged); one answer string marked both correct and wrong within a question is rejected by
``real.logs.schema``'s rule 5 (never resolved by guessing).
Cross-check (notes): our own grade of each generation (``extract_answer(prediction)`` equivalent to the gold by
``AnswerEquivalence``; exact strings with ``equivalence=False``) against evalscope's verdict: agreements, and the
first disagreeing lines.
Sample records: problem_id = ``group_id`` (``index`` when absent, as evalscope's ``collect_planned_attempts``
groups), or "<file stem>/<id>" when the import holds several review files of different names (benchmarks /
subsets); sample_index = ``generation_index``, else the order of appearance within the question (evalscope's rule
for old files without it); gold = the first target; checkpoint = the ``checkpoint`` argument, else the model folder
(``reviews/<model>/``: the file's folder name).
"""

from __future__ import annotations

import math
from pathlib import Path

from real.logs.formats.files import json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, Columns, ImportReport, RowError, as_label, require_fields, validate_record

DETECT_FIELDS = ("index", "sample_score")


class EvalscopeImport:
    """The evalscope review files of one import: they share the question-prefix rule, the sample counters of files
    without ``generation_index`` and the counts behind the notes. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, files=()):
        self.several_files = len({Path(f).stem for f in files}) > 1
        self.counters: dict = {}  # (checkpoint, problem_id) -> generations seen (files without generation_index)
        self.unparsed_correct = 0
        self.from_extracted = 0
        self.from_prediction = 0
        self.agree = 0
        self.disagree: list = []  # (file, line, problem, evalscope verdict, ours)
        self.metrics: set = set()

    def read(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> Batch:
        """The sample records of one review file (``equivalence``: an AnswerEquivalence for the cross-check, or
        None for exact strings)."""
        path = Path(path)
        ck = str(checkpoint) if checkpoint is not None else (path.parent.name or path.stem)
        cols = Columns()
        for no, obj in renamed(json_lines(path, report), mapping):
            report.rows_read += 1
            try:
                record, raw_answer = self._record(obj, path, ck)
            except RowError as e:
                report.reject(path, no, str(e))
                continue
            if validate_record(record, str(path), no, report, cols):
                self._cross_check(record, raw_answer, equivalence, path, no)
        return cols.to_batch(str(path))

    def _record(self, obj, path: Path, ck: str) -> tuple:
        """(sample record, our own extraction of the generation) of one line; RowError when it is malformed."""
        from real.logs.answers import extract_answer

        require_fields(obj, ("index", "sample_score"))
        ss = obj["sample_score"]
        if not isinstance(ss, dict):
            raise RowError(f"wrong type: sample_score must be an object, got {type(ss).__name__}")
        require_fields(ss, ("score",))
        score = ss["score"]
        if not isinstance(score, dict):
            raise RowError(f"wrong type: sample_score.score must be an object, got {type(score).__name__}")
        correct = self._verdict(score)
        qid = self._label(ss.get("group_id"), "sample_score.group_id") if ss.get("group_id") is not None \
            else self._label(obj["index"], "index")
        pid = f"{path.stem}/{qid}" if self.several_files else qid
        idx = ss.get("generation_index")
        if idx is None:
            idx = self.counters.get((ck, pid), 0)
            self.counters[(ck, pid)] = idx + 1
        elif isinstance(idx, bool) or not isinstance(idx, int):
            raise RowError(f"wrong type: sample_score.generation_index must be an integer, got {idx!r}")
        gold = self._gold(obj.get("target"))
        pred = score.get("prediction")
        if pred is not None and not isinstance(pred, str):
            raise RowError(f"wrong type: sample_score.score.prediction must be a string, got {type(pred).__name__}")
        ext = score.get("extracted_prediction")
        if ext is not None and not isinstance(ext, str):
            raise RowError(f"wrong type: sample_score.score.extracted_prediction must be a string, got {type(ext).__name__}")
        ours = extract_answer(pred) if pred is not None else None
        if ext is not None:  # evalscope's own extraction, as it is ("" = it found none)
            answer = ext.strip() or None
            self.from_extracted += 1
        else:
            answer = ours
            self.from_prediction += 1
        if answer is None and correct:
            answer = gold if gold is not None else "<unparsed correct answer>"
            self.unparsed_correct += 1
        return ({"checkpoint": ck, "problem_id": pid, "sample_index": idx, "answer": answer, "correct": correct,
                 "gold": gold}, ours)

    def _verdict(self, score: dict) -> bool:
        """evalscope's verdict: the score's main value (``main_score_name``, else the first key) as pass/fail."""
        value = score.get("value")
        if not isinstance(value, dict):
            raise RowError(f"wrong type: sample_score.score.value must be an object, got {type(value).__name__}")
        name = score.get("main_score_name")
        if not (isinstance(name, str) and name in value):
            if not value:
                raise RowError(f"no verdict: sample_score.score.value is empty (status {score.get('status')!r}; "
                               "evalscope leaves such samples out of its aggregates)")
            name = next(iter(value))
        v = value[name]
        if isinstance(v, bool):
            v = float(v)
        if not isinstance(v, (int, float)) or (isinstance(v, float) and not math.isfinite(v)):
            raise RowError(f"wrong type: sample_score.score.value.{name} must be a number, got {v!r}")
        if v not in (0, 1):
            raise RowError(f"wrong value: sample_score.score.value.{name} must be 0 or 1 (a pass/fail verdict), got {v!r}")
        self.metrics.add(str(name))
        return v == 1

    @staticmethod
    def _label(v, name: str) -> str:
        try:
            return as_label(v)
        except TypeError:
            raise RowError(f"wrong type: {name} must be an int or non-empty string, got {v!r}") from None

    @staticmethod
    def _gold(target):
        """The first accepted answer of ``target`` (a list of strings, or one string / number), stripped; None when absent."""
        if target is None:
            return None
        if isinstance(target, list):
            if not target or not all(isinstance(t, str) for t in target):
                raise RowError(f"wrong type: target must be a non-empty list of strings, got {target!r}"[:160])
            target = target[0]
        if isinstance(target, bool) or not isinstance(target, (str, int)):
            raise RowError(f"wrong type: target must be a string or a list of strings, got {target!r}"[:160])
        return str(target).strip() or None

    def _cross_check(self, record: dict, ours, equivalence, path: Path, line: int) -> None:
        """Count whether our own grade of the generation agrees with evalscope's verdict."""
        gold = record["gold"]
        if gold is None:
            return
        if ours is None:
            mine = False
        elif equivalence is not None:
            mine = equivalence.equivalent(ours, gold)
        else:
            mine = ours == gold
        if mine == record["correct"]:
            self.agree += 1
        else:
            self.disagree.append((str(path), line, record["problem_id"], record["correct"], mine))

    def notes(self) -> list[str]:
        """Where the answers came from, and how often our own grading agrees with evalscope's verdicts."""
        out = []
        if self.from_extracted or self.from_prediction:
            out.append(f"evalscope: verdicts are evalscope's own ({', '.join(sorted(self.metrics)) or 'none'}); answers from "
                       f"extracted_prediction for {self.from_extracted} line(s), extracted from prediction for {self.from_prediction}")
        if self.agree or self.disagree:
            line = (f"evalscope: our own grading (extract_answer + equivalence to the gold) agrees with evalscope's verdict on "
                    f"{self.agree}/{self.agree + len(self.disagree)} line(s)")
            if self.disagree:
                line += "; differs on " + "; ".join(f"{f}:{n} problem {p} (evalscope {'correct' if t else 'wrong'}, ours "
                                                    f"{'correct' if o else 'wrong'})" for f, n, p, t, o in self.disagree[:3])
                line += " ..." if len(self.disagree) > 3 else ""
            out.append(line)
        if self.unparsed_correct:
            out.append(f"evalscope: {self.unparsed_correct} line(s) marked correct with no extractable answer were counted as the gold answer")
        return out
