"""The ``qwen-math`` format: the per-dataset output of Qwen2.5-Math's evaluation harness
(https://github.com/QwenLM/Qwen2.5-Math, ``evaluation/math_eval.py`` with ``--save_outputs``): JSON lines written
by ``save_jsonl`` (evaluation/utils.py) to ``<output_dir>/<data_name>/<split>_<prompt_type>_<num_test_sample>_
seed<seed>_t<temperature>_s<start>_e<end>.jsonl``, one line per problem, after ``evaluate`` (evaluation/
evaluate.py) has added the scores.

Fields per line: ``idx`` (the problem's index), ``question``, ``gt_cot``, ``gt`` (the reference answer, normalized by
its ``strip_string``), dataset fields (``level``, ``type``, ``answer``, ...), and one list entry per sample
(``--n_sampling``): ``code`` (the generations), ``pred`` (its parsed answer per generation, ``extract_answer`` +
``strip_string``: "" or null when it found none), ``report`` and ``score`` (its verdict per generation,
``math_equal``: true/false). The harness writes beside it ``<same name>_<prompt_type>_metrics.json``, whose ``acc``
is 100 x the mean over problems of ``score[0]``, the *first* sample's accuracy, rounded to 0.1; that summary
file is skipped with a note when a folder is imported (:func:`is_metrics_file`).

Sample records, one per generation: problem_id = ``idx`` ("<data_name>/<idx>" when the import holds several data
names; the data name is the file's parent folder); sample_index = position in the lists; answer = ``pred[j]``
(null when empty); correct = ``score[j]`` (the harness's verdict, authoritative); gold = ``gt``; checkpoint = the
``checkpoint`` argument, else the folder above the data-name folder (the harness's ``--output_dir``), or the one
above that when it is named ``math_eval`` (its scripts write to ``<model>/math_eval``). Report rows are sample
records: a line with n generations counts n rows, a rejected line one. Rejected lines: ``idx``, ``gt``,
``pred`` or ``score`` missing, of the wrong type, or lists of different lengths.
"""

from __future__ import annotations

import json
from pathlib import Path

from real.logs.formats.files import json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, ImportReport, RowError, label_field, record_lists_batch, require_fields

DETECT_FIELDS = ("idx", "gt", "pred", "score")
METRICS_FIELDS = ("acc", "num_samples", "num_scores")


def is_metrics_file(path: Path) -> dict | None:
    """The harness's metrics summary (``..._metrics.json``: one JSON object with ``acc``, ``num_samples``,
    ``num_scores``) as a dict, else None."""
    if not path.name.endswith("_metrics.json"):
        return None
    try:
        doc = json.loads(path.read_bytes())
    except ValueError:  # not JSON, not UTF-8, or an integer beyond Python's digit limit
        return None
    return doc if isinstance(doc, dict) and all(k in doc for k in METRICS_FIELDS) else None


def data_name(path: Path) -> str:
    """The data name of an output file: its parent folder's name."""
    return path.parent.name or path.stem


def default_checkpoint(path: Path) -> str:
    """The folder above the data-name folder (the harness's output_dir), or the one above it when that folder is
    named ``math_eval``; the data name when the path has no such folder."""
    parts = path.resolve().parts[:-2]
    if parts and parts[-1] == "math_eval" and len(parts) > 1:
        return parts[-2]
    return parts[-1] if parts and parts[-1] not in ("", "/") else data_name(path)


class QwenMathImport:
    """The Qwen2.5-Math files of one import: they share the prefix rule and the counts behind the notes.
    :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, files):
        self.several = len({data_name(Path(f)) for f in files}) > 1
        self.samples = 0
        self.empty_pred = 0

    def read(self, path: Path, report: ImportReport, mapping=None, checkpoint=None) -> Batch:
        """The sample records of one file."""
        ck = str(checkpoint) if checkpoint is not None else default_checkpoint(path)
        prefix = data_name(path) if self.several else None

        def records(no, obj):
            pid, gold, preds, scores = self._line(obj)
            self.samples += len(preds)
            self.empty_pred += sum(p is None for p in preds)
            pid = pid if prefix is None else f"{prefix}/{pid}"
            return [{"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": p, "correct": ok, "gold": gold}
                    for j, (p, ok) in enumerate(zip(preds, scores))]

        return record_lists_batch(renamed(json_lines(path, report), mapping), path, report, records)

    @staticmethod
    def _line(obj) -> tuple:
        """(problem id, gold, answers, verdicts) of one line; RowError when it is malformed."""
        require_fields(obj, DETECT_FIELDS)
        pid = label_field(obj, "idx")
        gt = obj["gt"]
        if isinstance(gt, (int, float)) and not isinstance(gt, bool):
            gt = str(gt)
        if not isinstance(gt, str):
            raise RowError(f"wrong type: gt must be a string or number, got {gt!r}")
        preds, scores = obj["pred"], obj["score"]
        if not isinstance(preds, list) or not preds or not all(p is None or isinstance(p, str) for p in preds):
            raise RowError(f"wrong type: pred must be a non-empty list of strings, got {preds!r:.80}")
        if not isinstance(scores, list) or not all(isinstance(s, bool) for s in scores):
            raise RowError(f"wrong type: score must be a list of true/false, got {scores!r:.80}")
        if len(scores) != len(preds):
            raise RowError(f"inconsistent counts: {len(preds)} pred but {len(scores)} score entries")
        answers = [None if p is None or not p.strip() else p.strip() for p in preds]
        bad = [j for j, (a, s) in enumerate(zip(answers, scores)) if a is None and s]
        if bad:
            raise RowError(f"inconsistent correctness: pred[{bad[0]}] is empty but score[{bad[0]}] is true")
        return pid, gt.strip(), answers, scores

    def notes(self) -> list[str]:
        """The import note (none when nothing was read)."""
        if not self.samples:
            return []
        return [f"qwen-math: {self.samples} generation(s): correctness from the harness's score lists, answers from its "
                f"pred lists ({self.empty_pred} empty = no answer); the harness's own acc is the first sample's accuracy "
                "(score[0]), pass@1 here averages all samples"]
