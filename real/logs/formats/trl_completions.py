"""The ``trl-completions`` format: the completions log of TRL's ``GRPOTrainer`` (https://github.com/huggingface/trl).

Writer: with ``GRPOConfig(log_completions=True)``, ``GRPOTrainer.log`` (trl/trainer/grpo_trainer.py, TRL 1.16) writes,
at every logging step, ``<output_dir>/completions/completions_<global_step:05d>.parquet`` with
``pandas.DataFrame.to_parquet`` (the folder is made when the trainer starts). One row per completion of the last
generation batch (TRL keeps the batch in deques of ``generation_batch_size`` entries); columns, in order:
  ``step`` (``state.global_step`` when the log is written), ``prompt`` (a string, or a chat: a list of
  ``{"role", "content"}`` messages), ``completion`` (a string, or a list of assistant messages), one column per
  reward function named by the function's ``__name__`` (a float; NaN where the function returned None), the extra
  columns reward functions log through TRL's ``log_extra`` keyword (e.g. ``gold``), ``advantage``.
``trainer_state.json`` (``Trainer.save_state``) logs, for the same step, ``reward`` = the mean over the batch of the
weighted sum of the reward columns (NaN rows left out), ``reward_std``, ``rewards/<name>/mean``, ...

Sample records, one per row:
- checkpoint = ``step``. The completions labelled step s are the rollouts of optimizer step s: generated inside step
  s, before its update, by the policy after s - 1 updates (the weights a ``save_steps`` checkpoint would hold as
  ``checkpoint-<s-1>``), which is also the step under which ``trainer_state.json`` logs their reward, entropy and
  lengths, so ``analyze --signals trainer_state.json`` aligns them as TRL does;
- problem_id = sha1 of the prompt (the string; a chat as JSON with sorted keys and null fields left out), first 12 hex
  characters: the same prompt at different steps is the same problem at different checkpoints, and identical prompts
  (two data sources, or repeated in the dataset) are one problem (a note gives the number of distinct prompts);
- sample_index = order of appearance within (step, problem), files read in order;
- answer = ``real.logs.answers.extract_answer`` of the completion (a chat completion: the content of its last
  assistant message); gold = the ``gold`` column when the file has one (a string or number; TRL writes it only when a
  reward function logs it with ``log_extra("gold", ...)``), else none;
- correct = reward > ``threshold`` (default 0: any positive reward counts as solved) for the reward column named by
  ``reward``; by default the one column that is neither ``step``, ``prompt``, ``completion``, ``advantage`` nor
  ``gold``. Several candidates (several reward functions, or extra columns of your own) are an
  error listing them: pass ``reward=`` (``--trl-reward`` in ``python -m real analyze``). A correct row with no
  extractable answer counts as the gold answer (or ``"<unparsed correct answer>"`` without a gold; a note counts them).
With one 0/1 reward function of weight 1 and every prompt of a step sampled equally often (TRL samples each prompt
``num_generations`` times), the mean of a step's reward column, which TRL logs as ``reward``, is our pass@1 of that
checkpoint. That holds per step with ``logging_steps=1``: with L > 1 TRL writes a file every L steps holding only the
last generation batch, while the ``reward`` it logs averages the L steps. With evaluation on (``eval_strategy``), the
evaluation's own log rewrites the file of that step from the same deques, which then hold evaluation completions;
nothing in the file tells them apart.

A file whose rows (prompt, completion, reward) repeat an earlier file's, in order, is rejected row by row ("repeated
batch"): TRL writes its last generation batch again at logging steps that generate none (``num_iterations`` > 1 or
``steps_per_generation`` > 1), under the later step. Rejected rows: ``step`` / ``prompt`` / ``completion`` / the
reward missing, null or of the wrong type (a step must be an integer >= 0), a NaN or infinite reward, a ``gold`` of
the wrong type. A file that is not readable Parquet (truncated, another format) and a reward column that cannot be
chosen are ValueErrors naming the file. Report rows are Parquet rows; a rejection's line is the 1-based row number.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

from real.logs.formats.files import file_kind
from real.logs.formats.mapped import renamer
from real.logs.schema import Batch, Columns, ImportReport, RowError, as_answer, records_batch, require_fields

DETECT_FIELDS = ("step", "prompt", "completion")
FIXED_COLUMNS = ("step", "prompt", "completion", "advantage")
KNOWN_EXTRAS = ("gold",)  # the gold answer, when a reward function logs it with log_extra("gold", ...)
UNPARSED = "<unparsed correct answer>"


def read_parquet(path: Path) -> tuple[list, list]:
    """(column names, rows as dicts) of a completions file; ValueError naming the file when it is not Parquet or does not
    decode (e.g. truncated)."""
    if file_kind(path) != "parquet":
        raise ValueError(f"{path}: TRL writes its completions log as Parquet (completions_<step>.parquet); "
                         f"got {path.suffix or 'no extension'}")
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        return list(table.column_names), table.to_pylist()
    except Exception as e:  # noqa: BLE001 - any reader or decoding error means "not readable Parquet"
        raise ValueError(f"{path}: not a readable Parquet file ({e})") from None


def reward_column(path: Path, columns, reward: str | None) -> str:
    """The reward column that decides correctness: ``reward`` when given (it must be a column), else the single column
    that is not one of ``FIXED_COLUMNS``, ``KNOWN_EXTRAS`` or a pandas index; ValueError naming the file and the
    candidates otherwise."""
    cols = [str(c) for c in columns]
    if reward is not None:
        if reward not in cols:
            raise ValueError(f"{path}: reward column {reward!r} not found (columns: {', '.join(cols)})")
        return reward
    cands = [c for c in cols if c not in FIXED_COLUMNS + KNOWN_EXTRAS and not c.startswith("__index_level_")]
    if len(cands) == 1:
        return cands[0]
    if not cands:
        raise ValueError(f"{path}: no reward column (TRL writes one per reward function, between completion and advantage; "
                         f"columns: {', '.join(cols)})")
    raise ValueError(f"{path}: {len(cands)} candidate reward columns ({', '.join(cands)}): name the one whose value "
                     "decides correctness with reward= (python -m real analyze --trl-reward NAME)")


def prompt_key(prompt) -> str:
    """The text a problem id hashes: the prompt string, or a chat (list of message dicts) as JSON with sorted keys and
    null fields left out (Parquet gives every message the union of the fields); RowError for anything else."""
    if isinstance(prompt, str) and prompt:
        return prompt
    if isinstance(prompt, list) and prompt and all(isinstance(m, dict) for m in prompt):
        return json.dumps([{k: v for k, v in m.items() if v is not None} for m in prompt], sort_keys=True,
                          ensure_ascii=False, default=str)
    raise RowError(f"wrong type: prompt must be a non-empty string or a list of chat messages, got {prompt!r:.80}")


def _content_text(content):
    """A message's content as text: a string, or the text parts of a list of ``{"type": "text", "text"}`` parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content and all(isinstance(p, dict) for p in content):
        texts = [p.get("text") for p in content if p.get("type") == "text"]
        if texts and all(isinstance(t, str) for t in texts):
            return "".join(texts)
    return None


def completion_text(completion) -> str:
    """The completion's text: the string, or the content of the last assistant message of a chat completion;
    RowError otherwise."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and all(isinstance(m, dict) for m in completion):
        for m in reversed(completion):
            if m.get("role") == "assistant":
                text = _content_text(m.get("content"))
                if text is not None:
                    return text
                break
    raise RowError(f"wrong type: completion must be a string or a list of chat messages with an assistant message's "
                   f"text content, got {completion!r:.80}")


def _step(v) -> str:
    """A ``step`` cell as a checkpoint label (an integer >= 0, or an integral float); RowError otherwise."""
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise RowError(f"wrong type: step must be an integer >= 0, got {v!r:.80}")
    return str(v)


def check_arguments(reward, threshold) -> None:
    """ValueError naming the argument (``trl_reward``, ``trl_threshold``) unless ``reward`` is None or a column name and
    ``threshold`` a finite number."""
    if reward is not None and (not isinstance(reward, str) or not reward):
        raise ValueError(f"trl_reward: must be a column name (a non-empty string) or None, got {reward!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise ValueError(f"trl_threshold: must be a finite number, got {threshold!r}")


class TrlCompletionsImport:
    """The TRL completions files of one import: they share the sample counters of each (step, problem), the batches
    seen (for repeats) and the counts behind the notes. :meth:`read` each file in order, then :meth:`notes`."""

    def __init__(self, reward: str | None = None, threshold: float = 0.0):
        check_arguments(reward, threshold)
        self.reward, self.threshold = reward, float(threshold)
        self.counters: dict = {}  # (step, problem_id) -> samples seen
        self.batches: dict = {}  # fingerprint of a file's rows -> (file, steps)
        self.columns: dict = {}  # reward column -> files
        self.rows = self.with_gold = self.chats = self.unparsed_correct = self.repeated = 0
        self.steps: set = set()

    def read(self, path: Path, report: ImportReport, mapping=None) -> Batch:
        """The sample records of one completions file."""
        columns, rows = read_parquet(path)
        rename = renamer(mapping)
        col = reward_column(path, list(rename(dict.fromkeys(columns))), self.reward)
        self.columns.setdefault(col, []).append(str(path))
        rows = [rename(r) for r in rows]
        cols = Columns()
        first = self._repeat_of(rows, col, path)
        if first is not None:
            for no in range(1, len(rows) + 1):
                report.rows_read += 1
                report.reject(path, no, f"repeated batch: the same completions, in the same order, as {first[0]} (step "
                                        f"{first[1]}); TRL writes its last generation batch again at logging steps that "
                                        "generate none (num_iterations > 1 or steps_per_generation > 1)")
            self.repeated += 1
            return cols.to_batch(str(path))
        return records_batch(enumerate(rows, start=1), path, report, lambda obj: self._record(obj, col))

    def _repeat_of(self, rows: list, col: str, path: Path):
        """(file, step) of an earlier file with the same rows (prompt, completion, reward), else None (and remembers
        this one)."""
        if not rows:
            return None
        body = json.dumps([[r.get("prompt"), r.get("completion"), r.get(col)] for r in rows], default=str)
        key = hashlib.sha1(body.encode("utf-8", "surrogatepass")).hexdigest()
        if key in self.batches:
            return self.batches[key]
        self.batches[key] = (str(path), rows[0].get("step"))
        return None

    def _record(self, obj, col: str) -> dict:
        """The sample record of one row; RowError when the row is malformed."""
        from real.logs.answers import extract_answer

        require_fields(obj, (*DETECT_FIELDS, col))
        if any(obj[k] is None for k in (*DETECT_FIELDS, col)):
            raise RowError(f"missing value: {', '.join(k for k in (*DETECT_FIELDS, col) if obj[k] is None)} is null")
        step = _step(obj["step"])
        pid = hashlib.sha1(prompt_key(obj["prompt"]).encode("utf-8", "surrogatepass")).hexdigest()[:12]
        text = completion_text(obj["completion"])
        r = obj[col]
        if isinstance(r, bool) or not isinstance(r, (int, float)):
            raise RowError(f"wrong type: reward {col} must be a number, got {r!r:.80}")
        if not math.isfinite(r):
            raise RowError(f"wrong value: reward {col} is {r!r} (TRL writes NaN where the reward function returned None)")
        gold = obj.get("gold")
        if isinstance(gold, float) and math.isfinite(gold) and gold.is_integer():
            gold = int(gold)
        try:
            gold = as_answer(gold)
        except TypeError:
            raise RowError(f"wrong type: gold must be a string or number, got {gold!r:.80}") from None
        gold = (gold.strip() or None) if isinstance(gold, str) else gold
        correct = float(r) > self.threshold
        ans = extract_answer(text)
        if ans is None and correct:
            ans = gold if gold is not None else UNPARSED
            self.unparsed_correct += 1
        idx = self.counters.get((step, pid), 0)
        self.counters[(step, pid)] = idx + 1
        self.rows += 1
        self.with_gold += gold is not None
        self.chats += not isinstance(obj["completion"], str)
        self.steps.add(int(step))
        return {"checkpoint": step, "problem_id": pid, "sample_index": idx, "answer": ans, "correct": correct, "gold": gold}

    def notes(self) -> list[str]:
        """The import notes (none when no TRL row was read)."""
        if not self.rows and not self.repeated:
            return []
        steps = sorted(self.steps)
        span = f"steps {steps[0]}..{steps[-1]} ({len(steps)})" if steps else "no step"
        cols = "; ".join(f"{c} ({len(fs)} file(s))" for c, fs in self.columns.items())
        out = [f"trl-completions: {self.rows} completion(s), {span}; correct = reward > {self.threshold:g} for column {cols}; "
               f"answers extracted from the completion text; gold from the gold column for {self.with_gold} row(s)",
               "trl-completions: checkpoint = TRL's step: the rollouts of optimizer step s, sampled by the policy after s - 1 "
               "updates (checkpoint-<s-1>), as trainer_state.json labels that step's reward",
               f"trl-completions: problems are prompts ({len({p for _, p in self.counters})} distinct), grouped by their text"]
        if self.chats:
            out.append(f"trl-completions: {self.chats} chat completion(s): the last assistant message's content was read")
        if self.unparsed_correct:
            out.append(f"trl-completions: {self.unparsed_correct} row(s) rewarded with no extractable answer were counted as "
                       "the gold answer" + ("" if self.with_gold else f" (no gold column: as {UNPARSED!r})"))
        if self.repeated:
            out.append(f"trl-completions: {self.repeated} file(s) repeated an earlier file's batch and were rejected")
        return out
