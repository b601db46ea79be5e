"""The OpenCompass formats (https://github.com/open-compass/opencompass): the JSON documents its tasks write under
``<work_dir>/<timestamp>/``, one per model and dataset, with ``json.dump(..., indent=4)``.

``opencompass-predictions``: ``predictions/<model abbr>/<dataset abbr>.json`` (``GenInferencerOutputHandler.
write_to_json`` in opencompass/openicl/icl_inferencer/icl_base_inferencer.py): one object
``{"<index>": {"origin_prompt": ..., "prediction": ..., "gold": ...}}``. With ``n`` > 1 in the dataset config the
test set is repeated n times (``BaseDataset``, opencompass/datasets/base.py): entry i and entry i + P are the same
problem. ``prediction`` is a string (a list when the model returns several sequences); ``gold`` is the dataset's
raw output column (absent when the dataset has none). Sample records: problem_id = sha1(origin_prompt as JSON,
keys sorted) hex, first 12 characters (the file does not say n, so repeated problems are recognised by their
prompt: identical prompts merge, a note says so); sample_index = order of appearance within (checkpoint,
problem); answer = ``real.logs.answers.extract_answer(prediction)``; gold = ``gold`` (a worked solution with
"####", "\\boxed" or "answer" reduced as lm-eval targets are: ``lm_eval_harness.target_answer``); correct = the
answer is equivalent to the gold (``AnswerEquivalence.group``). An entry without ``gold`` is rejected (nothing
to grade against).

``opencompass-results``: ``results/<model abbr>/<dataset abbr>.json`` (``OpenICLEvalTask._save_results`` in
opencompass/tasks/openicl_eval.py, with details dumped: ``-dump-eval-details``): the metrics (e.g.
``"accuracy"``, with n > 1 ``"accuracy (n runs average)"`` and ``"G-Pass@k_t"`` x 100, of which
G-Pass@k_0.0 is the unbiased pass@k) and ``details``: in OpenCompass 0.4 and later a list with one entry per
problem (``BaseEvaluator.evaluate``, opencompass/openicl/icl_evaluator/icl_base_evaluator.py):
``{"example_abbr": "<dataset>_<idx>", "pred": [n], "answer": [n], "correct": [n], ...}``; in older versions an
object ``{"<index>": {"pred": ..., "answer": ..., "correct": ...}}`` of single samples. Sample records: problem_id
= ``example_abbr`` (else the entry's key or position); sample_index = position in the lists (0 for single
values); answer = ``pred`` (null when empty, or "NULL", ``gsm8k_postprocess``'s placeholder for no number);
correct = ``correct`` (else ``is_correct``, else ``cascade_correct``, in the order OpenCompass reads them: the
evaluator's verdict, authoritative); gold = ``answer`` when it is one string or number (null for a list of
references). ``details`` entries that carry no
verdict (``format_details`` without an evaluator's details) are rejected, reason "missing field: correct".

Both: checkpoint = the ``checkpoint`` argument, else the parent folder (the model abbr). Report rows are sample
records (a results entry with n samples counts n rows; a rejected entry one).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from real.logs.formats.files import json_document
from real.logs.formats.mapped import renamer
from real.logs.schema import Batch, ImportReport, RowError, label_field, record_lists_batch

PREDICTION_FIELDS = ("origin_prompt", "prediction")
VERDICT_FIELDS = ("correct", "is_correct", "cascade_correct")


def is_predictions(fields: dict) -> bool:
    """True when a JSON document's top-level fields look like OpenCompass predictions: every key an index and the
    first entry an object with ``origin_prompt`` and ``prediction``."""
    if not fields or not all(isinstance(k, str) and k.isdigit() for k in fields):
        return False
    first = next(iter(fields.values()))
    return isinstance(first, dict) and all(k in first for k in PREDICTION_FIELDS)


def is_results(fields: dict) -> bool:
    """True when a JSON document's top-level fields hold OpenCompass ``details`` (a list or an object)."""
    return isinstance(fields.get("details"), (list, dict))


NO_ANSWER = ("", "NULL")  # "NULL": gsm8k_postprocess's placeholder when a prediction holds no number


def _answer_text(v, what: str) -> str | None:
    """A prediction / reference value as a string (numbers as their text; null, blank or "NULL" -> None)."""
    if v is None:
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return str(int(v)) if float(v).is_integer() else str(v)
    if not isinstance(v, str):
        raise RowError(f"wrong type: {what} must be a string or number, got {v!r:.80}")
    return None if v.strip() in NO_ANSWER else v.strip()


class OpenCompassImport:
    """The OpenCompass files of one import (the counts behind the notes). :meth:`read_predictions` /
    :meth:`read_results` each file in order, then :meth:`notes`."""

    def __init__(self):
        self.counters: dict = {}  # (checkpoint, problem) -> predictions seen
        self.predictions = 0
        self.results = 0
        self.reference_lists = 0

    # ---------------------------------------------------------------- predictions
    def read_predictions(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> Batch:
        """The sample records of one predictions file (``equivalence``: an AnswerEquivalence or None)."""
        from real.logs.answers import extract_answer
        from real.logs.formats.lm_eval_harness import target_answer

        ck = str(checkpoint) if checkpoint is not None else (path.parent.name or path.stem)
        rename = renamer(mapping)
        _, entries = json_document(path, report)

        def records(line, entry):
            key, obj = entry
            obj = rename(obj)
            if not isinstance(obj, dict):
                raise RowError(f"not an object: entry {key!r} is {type(obj).__name__}")
            missing = [k for k in (*PREDICTION_FIELDS, "gold") if k not in obj]
            if missing:
                raise RowError(f"missing field: {', '.join(missing)}")
            preds = obj["prediction"] if isinstance(obj["prediction"], list) else [obj["prediction"]]
            if not preds or not all(isinstance(p, str) for p in preds):
                raise RowError(f"wrong type: prediction must be a string or a list of strings, got {obj['prediction']!r:.80}")
            gold = _answer_text(obj["gold"], "gold")
            if gold is None:
                raise RowError("missing field: gold is empty")
            gold = target_answer(gold)
            prompt = json.dumps(obj["origin_prompt"], sort_keys=True, ensure_ascii=False, default=str)
            self.predictions += len(preds)
            pid = hashlib.sha1(prompt.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            answers = [extract_answer(p) for p in preds]
            reps = equivalence.group(answers, gold=gold) if equivalence is not None else answers
            out = []
            for a in reps:
                idx = self.counters.get((ck, pid), 0)
                self.counters[(ck, pid)] = idx + 1
                out.append({"checkpoint": ck, "problem_id": pid, "sample_index": idx, "answer": a,
                            "correct": a is not None and a == gold, "gold": gold})
            return out

        return record_lists_batch(((line, (key, obj)) for line, key, obj in entries), path, report, records)

    # ---------------------------------------------------------------- results
    def read_results(self, path: Path, report: ImportReport, mapping=None, checkpoint=None) -> Batch:
        """The sample records of one results file with details."""
        ck = str(checkpoint) if checkpoint is not None else (path.parent.name or path.stem)
        rename = renamer(mapping)
        _, entries = json_document(path, report, member="details")
        # format_details' marker "type" ("GEN"/"PPL") is not a sample
        details = ((line, (key, obj)) for line, key, obj in entries if not (key == "type" and isinstance(obj, str)))

        def records(line, entry):
            key, obj = entry
            pid, samples = self._detail(rename(obj), key)
            self.results += len(samples)
            return [{"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": a, "correct": ok, "gold": gold}
                    for j, (a, ok, gold) in enumerate(samples)]

        return record_lists_batch(details, path, report, records)

    def _detail(self, obj, key) -> tuple:
        """(problem id, [(answer, correct, gold)]) of one details entry; RowError when it is malformed."""
        if not isinstance(obj, dict):
            raise RowError(f"not an object: details entry {key!r} is {type(obj).__name__}")
        verdict = next((k for k in VERDICT_FIELDS if obj.get(k) is not None), None)
        if verdict is None:
            raise RowError("missing field: correct (the entry carries no evaluator verdict)")
        pred_key = "pred" if "pred" in obj else "predictions" if "predictions" in obj else None
        if pred_key is None:
            raise RowError("missing field: pred")
        ref_key = "answer" if "answer" in obj else "references" if "references" in obj else None
        pid = label_field(obj, "example_abbr") if "example_abbr" in obj else str(key)
        oks, preds, refs = obj[verdict], obj[pred_key], obj.get(ref_key) if ref_key else None
        if isinstance(oks, list):  # grouped: one list entry per sample
            n = len(oks)
            if not n or not isinstance(preds, list) or len(preds) != n:
                got = f"has {len(preds)}" if isinstance(preds, list) else "is not a list"
                raise RowError(f"inconsistent counts: {verdict} has {n} entries but {pred_key} {got}")
            if refs is not None and (not isinstance(refs, list) or len(refs) != n):
                raise RowError(f"inconsistent counts: {verdict} has {n} entries but {ref_key} does not")
            refs = refs if refs is not None else [None] * n
        else:
            oks, preds, refs = [oks], [preds], [refs]
        out = []
        for j, (ok, p, r) in enumerate(zip(oks, preds, refs)):
            if isinstance(ok, int) and not isinstance(ok, bool) and ok in (0, 1):
                ok = bool(ok)
            if not isinstance(ok, bool):
                raise RowError(f"wrong type: {verdict}[{j}] must be true/false, got {ok!r:.80}")
            if isinstance(r, list):
                self.reference_lists += 1
                r = None
            out.append((_answer_text(p, pred_key), ok, _answer_text(r, ref_key or "answer")))
        bad = [j for j, (a, ok, _) in enumerate(out) if a is None and ok]
        if bad:
            raise RowError(f"inconsistent correctness: {pred_key}[{bad[0]}] is empty but {verdict}[{bad[0]}] is true")
        return pid, out

    def notes(self) -> list[str]:
        """The import notes (none when nothing was read)."""
        out = []
        if self.predictions:
            out.append(f"opencompass: {self.predictions} prediction(s) grouped into {len({p for _, p in self.counters})} "
                       "problems by their origin_prompt (the predictions file does not say the dataset's n: identical "
                       "prompts merge); answers extracted from each prediction and graded against gold by answer equivalence")
        if self.results:
            out.append(f"opencompass: {self.results} sample(s) from results details; correctness is the evaluator's verdict")
        if self.reference_lists:
            out.append(f"opencompass: {self.reference_lists} sample(s) had a list of references: gold left null")
        return out
