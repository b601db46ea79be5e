"""The ``lighteval`` format: Hugging Face lighteval's details files (``--save-details``), Parquet, one row per doc
(https://github.com/huggingface/lighteval).

Writer: ``EvaluationTracker.save`` / ``save_details`` in ``src/lighteval/logging/evaluation_tracker.py`` turns each
``DetailsLogger.Detail`` (``src/lighteval/logging/info_loggers.py``: ``doc``, ``model_response``, ``metric``) into a
row with ``dataclasses.asdict``, builds a ``datasets.Dataset`` and writes
``details/<model>/<date>/details_<task>_<date>.parquet``. Columns read (nested structs):
  ``doc.query`` (the prompt), ``doc.choices`` (list of strings) and ``doc.gold_index`` (an int, or a list of one int):
  the gold is ``choices[gold_index]``, reduced with ``real.logs.answers.extract_answer`` when it is a worked
  solution ("#### 9", "\\boxed{..}", "The answer is ..."; ``formats.lm_eval_harness.target_answer``);
  ``doc.id`` (lighteval's index of the doc in its task; sha1 of the query, 12 hex characters, when absent) and
  ``doc.task_name``; ``model_response.text`` (one string per sample) and ``model_response.text_post_processed``
  (what lighteval's metrics read, ``ModelResponse.final_text``; used when it holds one string per sample);
  ``metric`` (lighteval's own per-doc values, e.g. ``pass@k:k=1&n=8``).
lighteval stores no per-sample verdict: every sample's answer is re-extracted (``extract_answer``) and re-graded
against the gold (``AnswerEquivalence.group``, as for lm-eval; exact strings with ``equivalence=False``).
lighteval's own per-doc ``pass@k:k=K&n=N`` and ``avg@n:n=N`` values are then recomputed from our verdicts of the
doc's first N samples (``theory.passk.pass_at_k``; avg@n = c/N) and compared: the notes give the agreements per
metric and the first disagreeing docs (a disagreement means the two graders differ, e.g. lighteval's GSM8K
normalizer needs "#### " where ``extract_answer`` falls back to the last number; it is reported, never resolved).
Sample records: problem_id = doc id, or "task/doc id" when the import holds several tasks (task: ``doc.task_name``,
else the file name's ``<task>``); sample_index = position of the sample; checkpoint = the ``checkpoint``
argument, else the model folder (the parent of the date folder lighteval writes), else the file's folder name.
Temperature: not in the details (it is in lighteval's results JSON), so not recorded.
Report rows are sample records: a doc row with n samples counts n rows, a rejected doc row one; the line of a
rejection is the 1-based row number. An unreadable file (not Parquet, truncated) is a ValueError naming it.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

from real.logs.formats.files import file_kind
from real.logs.formats.lm_eval_harness import target_answer
from real.logs.formats.mapped import renamer
from real.logs.schema import Batch, ImportReport, RowError, as_label, record_lists_batch, require_fields

DETECT_FIELDS = ("doc", "model_response", "metric")
_FILE_NAME = re.compile(r"^details_(?P<task>.+?)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)$")
_DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}T[\d\-.:]+$")
_METRIC = re.compile(r"^(?P<name>pass@k|avg@n):(?P<params>[a-z]+=\d+(?:&[a-z]+=\d+)*)$")


def lighteval_task(path) -> str:
    """Task name of a ``details_<task>_<date>.parquet`` file (e.g. "arith|0"), else the file stem."""
    stem = Path(path).stem
    m = _FILE_NAME.match(stem)
    return m.group("task") if m else stem


def default_checkpoint(path) -> str:
    """The model folder of a details file (``details/<model>/<date>/file``: the date folder's parent), else the
    file's folder name, else its stem."""
    path = Path(path).resolve()
    if _DATE_DIR.match(path.parent.name) and path.parent.parent.name:
        return path.parent.parent.name
    return path.parent.name or path.stem


def read_rows(path: Path) -> list:
    """The rows of a details Parquet file as Python dicts; ValueError naming the file when it is not readable
    Parquet (wrong extension, truncated, not Parquet)."""
    if file_kind(path) != "parquet":
        raise ValueError(f"{path}: lighteval details are Parquet files (.parquet); got {path.suffix or 'no extension'}")
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as e:  # noqa: BLE001 - any reader error means "not readable Parquet"
        raise ValueError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e})") from None


def metric_expectation(name: str, n_total: int):
    """(kind, k, n) of a lighteval per-doc metric we can recompute from verdicts (``pass@k:k=K&n=N``,
    ``avg@n:n=N``; N defaults to the doc's number of samples), else None."""
    m = _METRIC.match(name)
    if not m:
        return None
    params = dict(p.split("=") for p in m.group("params").split("&"))
    n = int(params.get("n", n_total))
    if m.group("name") == "pass@k":
        if "k" not in params:
            return None
        return "pass@k", int(params["k"]), n
    return "avg@n", None, n


class LightevalImport:
    """The lighteval files of one import: they share the task prefix rule and the per-metric agreement counts
    behind the notes. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, files=(), tolerance: float = 1e-9):
        self.several_tasks = len({lighteval_task(f) for f in files}) > 1
        self.tolerance = float(tolerance)
        self.from_post_processed = 0  # docs answered from text_post_processed
        self.from_text = 0  # docs answered from text
        self.agree: dict = {}  # metric name -> docs whose value we reproduce
        self.disagree: dict = {}  # metric name -> [(file, row, doc, theirs, ours)]
        self.not_compared: set = set()  # metric names we cannot recompute

    def read(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> Batch:
        """The sample records of one details file (``equivalence``: an AnswerEquivalence, or None for exact strings)."""
        path = Path(path)
        rows = read_rows(path)
        ck = str(checkpoint) if checkpoint is not None else default_checkpoint(path)
        rename = renamer(mapping)

        def records(no, obj):
            obj = rename(obj)
            doc, task, gold, answers = self._doc(obj, path)
            reps = equivalence.group(answers, gold=gold) if equivalence is not None else answers
            verdicts = [r is not None and r == gold for r in reps]
            self._compare(obj.get("metric"), verdicts, path, no, doc)
            pid = doc if not self.several_tasks else f"{task}/{doc}"
            return [{"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": r, "correct": ok, "gold": gold}
                    for j, (r, ok) in enumerate(zip(reps, verdicts))]

        return record_lists_batch(enumerate(rows, start=1), path, report, records)

    def _doc(self, obj, path: Path) -> tuple:
        """(doc label, task, gold, answer per sample) of one row; RowError when the row is malformed."""
        from real.logs.answers import extract_answer

        require_fields(obj, ("doc", "model_response"))
        doc, resp = obj["doc"], obj["model_response"]
        for name, v in (("doc", doc), ("model_response", resp)):
            if not isinstance(v, dict):
                raise RowError(f"wrong type: {name} must be an object, got {type(v).__name__}")
        require_fields(doc, ("choices", "gold_index"))
        gold = self._gold(doc)
        texts = resp.get("text")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise RowError(f"wrong type: model_response.text must be a non-empty list of strings, got {_short(texts)}")
        post = resp.get("text_post_processed")
        if isinstance(post, list) and len(post) == len(texts) and all(isinstance(t, str) for t in post):
            final = post
            self.from_post_processed += 1
        else:
            final = texts
            self.from_text += 1
        label = self._doc_label(doc)
        task = doc.get("task_name")
        task = task if isinstance(task, str) and task.strip() else lighteval_task(path)
        return label, task, gold, [extract_answer(t) for t in final]

    @staticmethod
    def _gold(doc: dict) -> str:
        """The one gold answer of a doc: ``choices[gold_index]`` (reduced by ``target_answer``)."""
        choices, gi = doc["choices"], doc["gold_index"]
        if not isinstance(choices, list) or not choices or not all(isinstance(c, str) for c in choices):
            raise RowError(f"wrong type: doc.choices must be a non-empty list of strings, got {_short(choices)}")
        if isinstance(gi, list):
            if len(gi) != 1:
                raise RowError(f"wrong value: doc.gold_index must name one gold (pass@k grades against one), got {_short(gi)}")
            gi = gi[0]
        if isinstance(gi, bool) or not isinstance(gi, int):
            raise RowError(f"wrong type: doc.gold_index must be an integer, got {_short(gi)}")
        if not 0 <= gi < len(choices):
            raise RowError(f"wrong value: doc.gold_index {gi} is outside doc.choices (length {len(choices)})")
        return target_answer(choices[gi])

    @staticmethod
    def _doc_label(doc: dict) -> str:
        """``doc.id`` as a label, or sha1 of ``doc.query`` (12 hex characters) when the id is absent."""
        did = doc.get("id")
        if did is not None:
            try:
                return as_label(did)
            except TypeError:
                raise RowError(f"wrong type: doc.id must be an int or non-empty string, got {_short(did)}") from None
        query = doc.get("query")
        if not isinstance(query, str):
            raise RowError(f"missing field: doc.id (and doc.query is not a string: {_short(query)})")
        return hashlib.sha1(query.encode("utf-8")).hexdigest()[:12]

    def _compare(self, metric, verdicts: list, path: Path, row: int, doc: str) -> None:
        """Recompute lighteval's per-doc pass@k / avg@n from our verdicts and count agreements."""
        from theory.passk import pass_at_k

        if not isinstance(metric, dict):
            return
        for name, theirs in metric.items():
            spec = metric_expectation(str(name), len(verdicts))
            if spec is None or isinstance(theirs, bool) or not isinstance(theirs, (int, float)) or not math.isfinite(theirs):
                self.not_compared.add(str(name))
                continue
            kind, k, n = spec
            if not 1 <= n <= len(verdicts) or (k is not None and not 1 <= k <= n):
                self.not_compared.add(str(name))
                continue
            c = sum(verdicts[:n])
            ours = float(pass_at_k(n, c, k)) if kind == "pass@k" else c / n
            if abs(ours - float(theirs)) <= self.tolerance:
                self.agree[name] = self.agree.get(name, 0) + 1
            else:
                self.disagree.setdefault(name, []).append((str(path), row, doc, float(theirs), ours))

    def notes(self) -> list[str]:
        """Where the answers came from, and per lighteval metric how many docs' values our re-grading reproduces."""
        out = []
        if self.from_post_processed or self.from_text:
            out.append(f"lighteval: answers re-extracted (real.logs.answers.extract_answer) from model_response.text_post_processed "
                       f"for {self.from_post_processed} doc(s), from model_response.text for {self.from_text}, and re-graded "
                       f"against the gold (lighteval stores no per-sample verdict); report rows are sample records")
        for name in sorted(set(self.agree) | set(self.disagree)):
            bad = self.disagree.get(name, [])
            total = self.agree.get(name, 0) + len(bad)
            line = f"lighteval: its per-doc {name} matches our re-grading on {self.agree.get(name, 0)}/{total} doc(s)"
            if bad:
                line += "; differs on " + "; ".join(f"{f}:{r} doc {d} (lighteval {t:.6g}, ours {o:.6g})" for f, r, d, t, o in bad[:3])
                line += f"{' ...' if len(bad) > 3 else ''}"
            out.append(line)
        if self.not_compared:
            out.append(f"lighteval: per-doc metrics not recomputed (not pass@k/avg@n, or not numeric): {', '.join(sorted(self.not_compared)[:8])}")
        return out


def _short(v, limit: int = 60) -> str:
    """repr of a value cut to ``limit`` characters (for rejection reasons)."""
    s = repr(v)
    return s if len(s) <= limit else s[:limit - 3] + "..."
