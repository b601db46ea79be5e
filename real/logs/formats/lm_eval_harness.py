"""The ``lm-eval`` format: EleutherAI lm-evaluation-harness ``--log_samples`` output, JSON lines named
``samples_<task>_<date>.jsonl`` (https://github.com/EleutherAI/lm-evaluation-harness, docs/interface.md).

Fields per line (one doc of a generation task):
  ``doc_id`` (int or non-empty string), ``target`` (the reference: a string or number), ``resps`` (list of
  lists of generations), ``filtered_resps`` (the answers after the task's filter), ``filter`` (its name).
A doc appears once per filter: the ``lm_eval_filter`` argument selects one (default: the first seen); the
other filters' lines are rejected, reason "filter not selected" (counted, not silent).
Answers: ``filtered_resps`` when it holds one string per generation (lm-eval's "[invalid]" or "[no match]"
= null), else ``real.logs.answers.extract_answer`` on each raw generation (e.g. a majority-vote filter
leaves one string for n generations). Gold: ``target`` (a worked solution with "####", "\\boxed" or
"answer" is reduced with extract_answer). Answers of a doc are grouped with ``AnswerEquivalence.group`` and
correct = equivalent to the gold (exact string match when ``equivalence=False``).
Sample records: problem_id = ``doc_id``, or "task/doc_id" when the files hold several tasks; sample_index =
position of the generation; checkpoint = the ``checkpoint`` argument, else the file's parent folder name.
Report rows are sample records: a doc line with n generations counts n rows, a rejected doc line one.
"""

from __future__ import annotations

import re
from pathlib import Path

from real.logs.formats.files import json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, Columns, ImportReport, RowError, label_field, require_fields, validate_record

_FILE_NAME = re.compile(r"^samples_(?P<task>.+?)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)$")


def lm_eval_task(path) -> str:
    """Task name of an lm-eval ``samples_<task>_<date>.jsonl`` file (else the file stem)."""
    stem = Path(path).stem
    m = _FILE_NAME.match(stem)
    if m:
        return m.group("task")
    return stem[len("samples_"):] if stem.startswith("samples_") else stem


def target_answer(target: str) -> str:
    """The reference answer of an lm-eval target: extracted when the target is a worked solution
    ("#### 18", "\\boxed{..}", "The answer is ..."), else the stripped target itself."""
    from real.logs.answers import extract_answer

    t = target.strip()
    if "####" in t or "\\boxed" in t or "answer" in t.lower():
        return extract_answer(t) or t
    return t


class LmEvalImport:
    """The lm-eval files of one import: they share the filter in use, the task prefix rule and the counts
    behind the notes. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, files, lm_eval_filter: str | None = None):
        self.filter = lm_eval_filter
        self.several_tasks = len({lm_eval_task(f) for f in files}) > 1
        self.skipped = 0  # doc lines of other filters
        self.from_filtered = 0  # docs answered from filtered_resps
        self.from_raw = 0  # docs answered by extracting from resps

    def read(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> Batch:
        """The sample records of one file (``equivalence``: an AnswerEquivalence, or None for exact strings)."""
        ck = str(checkpoint) if checkpoint is not None else (path.parent.name or path.stem)
        prefix = lm_eval_task(path) if self.several_tasks else None
        cols = Columns()
        for no, obj in renamed(json_lines(path, report), mapping):
            try:
                doc, gold, answers = self._doc(obj, report)
            except RowError as e:
                report.rows_read += 1
                report.reject(path, no, str(e))
                continue
            reps = equivalence.group(answers, gold=gold) if equivalence is not None else answers
            report.rows_read += len(answers)
            pid = doc if prefix is None else f"{prefix}/{doc}"
            for j, r in enumerate(reps):
                validate_record({"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": r,
                                 "correct": r is not None and r == gold, "gold": gold}, str(path), no, report, cols)
        return cols.to_batch(str(path))

    def _doc(self, obj, report: ImportReport) -> tuple:
        """(doc label, gold, answer per generation) of one doc line of the selected filter; RowError otherwise."""
        from real.logs.answers import extract_answer

        require_fields(obj, ("doc_id", "target", "resps"))
        filt = obj.get("filter", "none")
        if self.filter is None:
            self.filter = filt
            report.notes.append(f"lm-eval: using filter {filt!r} (the first seen; choose with lm_eval_filter=)")
        if filt != self.filter:
            self.skipped += 1
            raise RowError(f"filter not selected: {filt!r} (using {self.filter!r})")
        doc = label_field(obj, "doc_id")
        target = obj["target"]
        if isinstance(target, (int, float)) and not isinstance(target, bool):
            target = str(int(target)) if float(target).is_integer() else str(target)
        if not isinstance(target, str):
            raise RowError(f"wrong type: target must be a string or number, got {target!r}")
        resps = obj["resps"]
        raw = [x for grp in resps for x in (grp if isinstance(grp, list) else [grp])] if isinstance(resps, list) else None
        if not raw or not all(isinstance(x, str) for x in raw):
            raise RowError("wrong type: resps must be a non-empty list of lists of strings (a generation task)")
        filtered = obj.get("filtered_resps")
        if isinstance(filtered, str):
            filtered = [filtered]
        flat = [x for grp in filtered for x in (grp if isinstance(grp, list) else [grp])] if isinstance(filtered, list) else None
        if flat is not None and len(flat) == len(raw) and all(isinstance(x, str) for x in flat):
            answers = [None if x.strip() in ("", "[invalid]", "[no match]") else x.strip() for x in flat]
            self.from_filtered += 1
        else:
            answers = [extract_answer(x) for x in raw]
            self.from_raw += 1
        return doc, target_answer(target), answers

    def notes(self) -> list[str]:
        """The import notes on skipped filters and where the answers came from (none when nothing was read)."""
        out = []
        if self.skipped:
            out.append(f"lm-eval: {self.skipped} doc line(s) of other filters rejected (reason 'filter not selected')")
        if self.from_filtered or self.from_raw:
            out.append(f"lm-eval: answers from filtered_resps for {self.from_filtered} doc(s), extracted "
                       f"from raw resps for {self.from_raw}; report rows are sample records")
        return out
