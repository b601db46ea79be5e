"""The ``verl-generation`` format: the Parquet file verl's offline generation writes
(https://github.com/volcengine/verl; ``verl/trainer/main_generation.py`` up to verl 0.6,
``verl/trainer/main_generation_server.py`` in verl 0.9): the input dataset (verl's RL-data layout, e.g.
examples/data_preprocess/gsm8k.py) read with ``pandas.read_parquet``, a ``responses`` column added (one list of
``n_samples`` generations per prompt) and written back with ``DataFrame.to_parquet``. verl's
``main_eval.py`` scores it: ``test_score/<data_source>`` = mean over prompts of the mean reward of its
responses (pass@1 for a 0/1 reward).

Columns per row (one prompt): ``responses`` (list of strings), ``reward_model`` (a struct with
``ground_truth``: a string or number), ``data_source`` (string), ``prompt`` (the chat messages), ``extra_info``
(a struct, often with ``index``), ``ability``. Parquet, or the same rows as JSON lines.

Sample records, one per response: problem_id = "<data_source>/<extra_info.index>" when the row has both
(``extra_info.index`` alone, or the data source with the row number when the other is missing), else sha1 of
the prompt (JSON, keys sorted) hex, first 12 characters; sample_index = position in ``responses``; answer =
``real.logs.answers.extract_answer(response)``; gold = ``reward_model.ground_truth`` (an integral float as the
integer); correct = the answer is equivalent to the gold (``AnswerEquivalence.group``; exact string equality when
``equivalence=False``); checkpoint = the ``checkpoint`` argument, else the file stem (``global_step_140.parquet``
is step 140). Report rows are sample records: a row with n responses counts n rows, a rejected row one. Rejected
rows: ``responses`` or ``reward_model.ground_truth`` missing or of the wrong type.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from real.logs.formats.files import file_kind, json_lines
from real.logs.formats.mapped import renamed
from real.logs.schema import Batch, ImportReport, RowError, record_lists_batch, require_fields

DETECT_FIELDS = ("responses", "reward_model")


def parquet_rows(path: Path):
    """(1-based row number, row dict) of a Parquet file, nested values as Python lists and dicts; ValueError naming
    the file when it does not decode."""
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as e:  # noqa: BLE001 - any reader or decoding error means "not readable Parquet"
        raise ValueError(f"{path}: not a readable Parquet file ({e})") from None
    yield from enumerate(rows, start=1)


class VerlGenerationImport:
    """The verl generation files of one import (the counts behind the notes). :meth:`read` each file, then
    :meth:`notes`."""

    def __init__(self):
        self.prompts = 0
        self.hashed = 0  # problem ids from the prompt's hash (no data_source / index)

    def read(self, path: Path, report: ImportReport, mapping=None, checkpoint=None, equivalence=None) -> Batch:
        """The sample records of one file (``equivalence``: an AnswerEquivalence, or None for exact strings)."""
        from real.logs.answers import extract_answer

        ck = str(checkpoint) if checkpoint is not None else path.stem
        rows = parquet_rows(path) if file_kind(path) == "parquet" else json_lines(path, report)

        def records(no, obj):
            pid, gold, responses = self._row(obj, no)
            self.prompts += 1
            answers = [extract_answer(r) for r in responses]
            reps = equivalence.group(answers, gold=gold) if equivalence is not None else answers
            return [{"checkpoint": ck, "problem_id": pid, "sample_index": j, "answer": a,
                     "correct": a is not None and a == gold, "gold": gold} for j, a in enumerate(reps)]

        return record_lists_batch(renamed(rows, mapping), path, report, records)

    def _row(self, obj, no: int) -> tuple:
        """(problem id, gold, responses) of one row; RowError when it is malformed."""
        require_fields(obj, DETECT_FIELDS)
        responses = obj["responses"]
        if not isinstance(responses, list) or not responses or not all(isinstance(r, str) for r in responses):
            raise RowError(f"wrong type: responses must be a non-empty list of strings, got {responses!r:.80}")
        rm = obj["reward_model"]
        if not isinstance(rm, dict) or "ground_truth" not in rm:
            raise RowError(f"missing field: reward_model.ground_truth (reward_model is {rm!r:.80})")
        gt = rm["ground_truth"]
        if isinstance(gt, float) and math.isfinite(gt) and gt.is_integer():
            gt = int(gt)
        if isinstance(gt, bool) or not isinstance(gt, (str, int, float)) or (isinstance(gt, str) and not gt.strip()):
            raise RowError(f"wrong type: reward_model.ground_truth must be a non-empty string or number, got {gt!r:.80}")
        source = obj.get("data_source")
        if source is not None and (not isinstance(source, str) or not source.strip()):
            raise RowError(f"wrong type: data_source must be a non-empty string, got {source!r:.80}")
        info = obj.get("extra_info")
        index = info.get("index") if isinstance(info, dict) else None
        if index is not None and (isinstance(index, bool) or not isinstance(index, (int, str))):
            raise RowError(f"wrong type: extra_info.index must be an int or string, got {index!r:.80}")
        if index is not None:
            pid = str(index) if source is None else f"{source}/{index}"
        elif source is not None:
            pid = f"{source}/row{no}"
        else:
            prompt = json.dumps(obj.get("prompt"), sort_keys=True, ensure_ascii=False, default=str)
            pid = hashlib.sha1(prompt.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            self.hashed += 1
        return pid, str(gt).strip(), responses

    def notes(self) -> list[str]:
        """The import note (none when nothing was read)."""
        if not self.prompts:
            return []
        out = [f"verl-generation: {self.prompts} prompt(s); answers extracted from each response and graded against "
               "reward_model.ground_truth by answer equivalence (verl's main_eval grades with the reward function instead)"]
        if self.hashed:
            out.append(f"verl-generation: {self.hashed} row(s) without data_source and extra_info.index: problem ids are "
                       "hashes of the prompt")
        return out
