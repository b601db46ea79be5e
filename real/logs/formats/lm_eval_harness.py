"""The ``lm-eval`` format: EleutherAI lm-evaluation-harness ``--log_samples`` output, JSON lines named
``samples_<task>_<date>.jsonl`` in ``<output_path>/<model_name_sanitized>/`` (https://github.com/EleutherAI/
lm-evaluation-harness, docs/interface.md; layout checked on files lm-eval 0.4.13 wrote:
``tests/real/logs/fixtures/lm_eval/``).

One line per doc and filter (lm-eval's ``evaluator.evaluate``): ``doc_id`` (int), ``doc`` (the data row),
``target`` (``doc_to_target``: a string or number), ``arguments`` (the prompt and generation kwargs),
``resps`` (one list per request; a ``generate_until`` task with ``repeats: n`` has one request whose list holds
the n generations: ``[[g1, ..., gn]]``), ``filtered_resps`` (the filter's output per request: ``[[a1, ..., an]]``
when the filter keeps every generation's answer, e.g. ``regex`` alone; ``["a"]`` when it ends in ``take_first``,
e.g. ``majority_vote`` then ``take_first``), ``filter`` (its name), ``metrics`` (metric names) and each metric's
per-doc value (``exact_match``: with n answers kept, the fraction of them equal to the target, since lm-eval
compares the list to the target element-wise and averages), ``doc_hash``, ``prompt_hash``, ``target_hash``.
Every filter of the task repeats the same docs with the same ``resps``.

Reading rules:
- A doc appears once per filter: the ``lm_eval_filter`` argument selects one (default: the first seen); the
  other filters' lines are rejected, reason "filter not selected" (counted, not silent). ``filter`` must be a
  string (absent: "none").
- Answers: ``filtered_resps`` when it holds one string per generation (stripped; the regex filter's fallback
  "[invalid]", "[no match]" or "" = null), else ``real.logs.answers.extract_answer`` on each raw generation (a
  filter ending in ``take_first`` leaves one string for n generations: a vote is not a sample; the notes say
  which filters keep every generation's answer).
- Gold: ``target`` (a worked solution with "####", "\\boxed" or "answer" is reduced with extract_answer).
  Answers of a doc are grouped with ``AnswerEquivalence.group`` and correct = equivalent to the gold (exact
  string match, as lm-eval's ``exact_match``, when ``equivalence=False``).
- Sample records: problem_id = ``doc_id``, or "task/doc_id" when the files hold several tasks; sample_index =
  position of the generation; checkpoint = the ``checkpoint`` argument, else the file's parent folder name
  (lm-eval's ``model_name_sanitized``).
- Report rows are sample records: a doc line with n generations counts n rows, a rejected doc line one. The
  notes also give lm-eval's own per-doc metric values of every filter, averaged over the file's doc lines (lm-eval's
  ``results_*.json`` reports the same means), beside which ours can be read.

lm-eval's maj@k (:func:`lm_eval_majority`, :func:`lm_eval_maj_at_k`): the filters ``take_first_k`` (k) →
``regex`` → ``majority_vote`` → ``take_first`` (its ``gsm8k-cot-self-consistency`` task) vote over the *first*
k generations only, with ``collections.Counter.most_common``: ties go to the answer seen first, and the regex
fallback "[invalid]" is a candidate like any answer. Our exact maj@k (``real.logs.analysis``) is the mean over
all k-subsets of the n samples, ties broken at random and unparsed answers abstaining; the two differ.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path

from real.logs.formats.files import json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, Columns, ImportReport, RowError, label_field, require_fields, validate_record

_FILE_NAME = re.compile(r"^samples_(?P<task>.+?)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)$")
NO_ANSWER = ("", "[invalid]", "[no match]")  # lm-eval's extraction fallbacks (regex: "[invalid]")


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


def _flat(x) -> list | None:
    """``[[a, b], [c]]`` or ``[a, b]`` -> ``[a, b, c]`` (one level of request lists); None unless a list."""
    if not isinstance(x, list):
        return None
    return [y for grp in x for y in (grp if isinstance(grp, list) else [grp])]


def _target_text(target) -> str:
    """``target`` as text: a string, or a number (integral floats without ".0"); RowError otherwise."""
    if isinstance(target, int) and not isinstance(target, bool):
        return str(target)
    if isinstance(target, float) and math.isfinite(target):
        return str(int(target)) if target.is_integer() else str(target)
    if not isinstance(target, str):
        raise RowError(f"wrong type: target must be a string or number, got {target!r}"[:300])
    return target


class LmEvalImport:
    """The lm-eval files of one import: they share the filter in use, the task prefix rule and the counts
    behind the notes. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, files, lm_eval_filter: str | None = None):
        if lm_eval_filter is not None and not isinstance(lm_eval_filter, str):
            raise ValueError(f"lm_eval_filter: must be a filter name (a string) or None, got {lm_eval_filter!r}")
        self.filter = lm_eval_filter
        self.several_tasks = len({lm_eval_task(f) for f in files}) > 1
        self.skipped = 0  # doc lines of other filters
        self.from_filtered = 0  # docs answered from filtered_resps
        self.from_raw = 0  # docs answered by extracting from resps
        self.kept = {}  # filter -> [doc lines keeping one answer per generation, doc lines reducing them]
        self.scores = {}  # (task, filter, metric) -> [sum, doc lines]: lm-eval's own per-doc values

    def read(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> Batch:
        """The sample records of one file (``equivalence``: an AnswerEquivalence, or None for exact strings)."""
        cols = Columns()
        for no, ck, pid, gold, answers in self.docs(path, report, mapping, checkpoint, equivalence):
            report.rows_read += len(answers)
            for j, r in enumerate(answers):
                validate_record({"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": r,
                                 "correct": r is not None and r == gold, "gold": gold}, str(path), no, report, cols)
        return cols.to_batch(str(path))

    def docs(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None):
        """(line, checkpoint, problem_id, gold, answers in generation order) per accepted doc line of the selected
        filter, answers grouped by ``equivalence`` (None: exact strings); every other line is rejected in
        ``report`` (one row each)."""
        path = Path(path)
        ck = str(checkpoint) if checkpoint is not None else (path.parent.name or path.stem)
        task = lm_eval_task(path)
        prefix = task if self.several_tasks else None
        for no, obj in renamed(json_lines(path, report), mapping):
            try:
                doc, gold, answers = self._doc(obj, report, task)
            except RowError as e:
                report.rows_read += 1
                report.reject(path, no, str(e))
                continue
            reps = equivalence.group(answers, gold=gold) if equivalence is not None else answers
            yield no, ck, (doc if prefix is None else f"{prefix}/{doc}"), gold, reps

    def _doc(self, obj, report: ImportReport, task: str) -> tuple:
        """(doc label, gold, answer per generation) of one doc line of the selected filter; RowError otherwise."""
        from real.logs.answers import extract_answer

        require_fields(obj, ("doc_id", "target", "resps"))
        filt = obj.get("filter", "none")
        if not isinstance(filt, str):
            raise RowError(f"wrong type: filter must be a string, got {filt!r}"[:300])
        self._score(obj, task, filt)
        raw = _flat(obj["resps"])
        filtered = obj.get("filtered_resps")
        filtered = [filtered] if isinstance(filtered, str) else _flat(filtered)
        per_generation = bool(raw) and filtered is not None and len(filtered) == len(raw) and all(isinstance(x, str) for x in filtered)
        self.kept.setdefault(filt, [0, 0])[0 if per_generation else 1] += 1
        if self.filter is None:
            self.filter = filt
            report.notes.append(f"lm-eval: using filter {filt!r} (the first seen; choose with lm_eval_filter=)")
        if filt != self.filter:
            self.skipped += 1
            raise RowError(f"filter not selected: {filt!r} (using {self.filter!r})")
        doc = label_field(obj, "doc_id")
        target = _target_text(obj["target"])
        if not raw or not all(isinstance(x, str) for x in raw):
            raise RowError("wrong type: resps must be a non-empty list of lists of strings (a generation task)")
        if per_generation:
            answers = [None if x.strip() in NO_ANSWER else x.strip() for x in filtered]
            self.from_filtered += 1
        else:
            answers = [extract_answer(x) for x in raw]
            self.from_raw += 1
        return doc, target_answer(target), answers

    def _score(self, obj: dict, task: str, filt: str) -> None:
        """Add the line's own metric values (``metrics`` names them; finite numbers only) to :attr:`scores`."""
        names = obj.get("metrics")
        if not isinstance(names, list):
            return
        for m in names:
            v = obj.get(m) if isinstance(m, str) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                s = self.scores.setdefault((task, filt, m), [0.0, 0])
                s[0] += v
                s[1] += 1

    def notes(self) -> list[str]:
        """The import notes: skipped filters, where the answers came from, which filters keep every generation's
        answer, and lm-eval's own per-doc metric means per filter (none when nothing was read)."""
        out = []
        if self.skipped:
            out.append(f"lm-eval: {self.skipped} doc line(s) of other filters rejected (reason 'filter not selected')")
        if self.from_filtered or self.from_raw:
            out.append(f"lm-eval: answers from filtered_resps for {self.from_filtered} doc(s), extracted "
                       f"from raw resps for {self.from_raw}; report rows are sample records")
        if self.kept:
            out.append("lm-eval filters: " + ", ".join(
                f"{f!r} " + ("keeps every generation's answer" if r == 0 else "keeps fewer answers than generations (a vote "
                             "or take_first: not samples)" if k == 0 else f"keeps every answer on {k} doc(s), fewer on {r}")
                for f, (k, r) in self.kept.items()))
        if self.scores:
            out.append("lm-eval's own per-doc metrics, mean over doc lines (its results_*.json reports these): " + "; ".join(
                f"{task} {m} [{f}] = {s / n:.6g} ({n} docs)" for (task, f, m), (s, n) in self.scores.items()))
        return out


def _check_k(k) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k: must be an integer >= 1, got {k!r}")


def lm_eval_majority(answers, k: int):
    """lm-eval's maj@k vote of one doc: the filters ``take_first_k`` (k) then ``majority_vote`` then ``take_first``
    (lm_eval/filters/selection.py, 0.4.13): ``Counter(answers[:k]).most_common(1)[0][0]``. Ties go to the answer
    seen first (``most_common`` sorts by count, stably, and a Counter keeps first-insertion order); ``None``
    stands for the regex filter's fallback "[invalid]" and is a candidate like any answer. ``k`` ≥ 1; with fewer
    than k answers lm-eval refuses (an assertion), and so does this (ValueError)."""
    _check_k(k)
    answers = list(answers)
    if len(answers) < k:
        raise ValueError(f"k: lm-eval's take_first_k needs at least k = {k} answers, got {len(answers)}")
    return Counter(answers[:k]).most_common(1)[0][0]


def lm_eval_maj_at_k(paths, k: int, *, lm_eval_filter: str | None = None, checkpoint=None, equivalence=False,
                     mapping=None) -> tuple[dict, ImportReport]:
    """maj@k as lm-eval computes it (:func:`lm_eval_majority` on each doc's first k answers, then the mean over
    docs of [winner = gold]), per checkpoint, from lm-eval sample files (``paths``: files, read with the rules of
    this module and the selected filter's per-generation answers).

    ``equivalence=False`` (default) compares exact strings, as lm-eval's ``exact_match`` does (the same value as
    its results file when the target is the bare answer); an ``AnswerEquivalence`` merges equivalent answers
    before the vote instead. A doc of a checkpoint seen again (same problem id) is rejected, reason "duplicate
    key"; a doc with fewer than k answers is rejected, reason "too few samples"; report rows are doc lines here
    (``rows_read == rows_accepted + n_rejected``). Returns
    ``({checkpoint: {"maj_at_k", "n_problems", "k"}}, report)``; ValueError when no doc is accepted.
    """
    from real.logs.formats.files import expand_paths

    _check_k(k)
    files = expand_paths(paths)
    report = ImportReport(files=[str(f) for f in files])
    imp = LmEvalImport(files, lm_eval_filter)
    eq = None if equivalence is False else equivalence
    votes: dict = {}
    for f in files:
        for no, ck, pid, gold, answers in imp.docs(f, report, mapping, checkpoint, eq):
            report.rows_read += 1
            seen = votes.setdefault(ck, {})
            if pid in seen:
                report.reject(f, no, f"duplicate key: doc {pid!r} of checkpoint {ck!r} seen before")
            elif len(answers) < k:
                report.reject(f, no, f"too few samples: maj@{k} needs k answers, doc {pid!r} has {len(answers)}")
            else:
                winner = lm_eval_majority(answers, k)
                seen[pid] = winner is not None and winner == gold
                report.rows_accepted += 1
    report.notes += imp.notes()
    report.sort()
    out = {ck: {"maj_at_k": sum(v.values()) / len(v), "n_problems": len(v), "k": k} for ck, v in votes.items() if v}
    if not out:
        raise ValueError(f"no doc accepted for lm-eval maj@{k} in {', '.join(map(str, files))}: {report.reasons()}")
    return out, report
