"""The answer-count table every real/ analysis reads: checkpoint × problem × answer counts.

Sample logs (one row per sample) and count-only data sets both reduce to this table. Layout of
``answer_counts[c, p, :]`` for checkpoint c and problem p:

* slot 0: how many samples gave the correct answer (0 if none did);
* slots 1 … A−1: the distinct wrong answers' counts, largest first, zero-padded;
* unparsed samples (answer = null) are not in ``answer_counts``; they are in ``n_null`` and vote as an
  abstention class that never wins (theory.voting's ``abstain``).

So ``n_samples = answer_counts.sum(-1) + n_null`` and ``n_correct = answer_counts[..., 0]``. A cell with
``n_samples == 0`` was not evaluated at that checkpoint. Count-only data (just ``n_samples`` and
``n_correct``, e.g. the Pythia MATH coverage data) has ``answer_counts is None``: pass@k analyses work on
it, vote analyses refuse it with a clear error.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CountsTable:
    """Answer counts per (checkpoint, problem); see the module docstring for the slot layout.

    Attributes:
      checkpoints: checkpoint labels in training order (length C).
      steps: training step per checkpoint (float; NaN where the label names no step: :func:`checkpoint_step`), length C.
      problem_ids: problem labels (length P).
      n_samples: int [C, P] samples per cell (0 = not evaluated).
      n_correct: int [C, P] correct samples per cell.
      answer_counts: int [C, P, A] or None (count-only data); slot 0 = correct answer.
      n_null: int [C, P] samples with no parsable answer (zeros for count-only data).
      wrong_answers: optional object array [C, P, A−1] of the wrong answers' strings aligned with slots
        1 … A−1 (None where padded), for diagnostics such as "which wrong answer leads".
    """

    checkpoints: tuple
    steps: np.ndarray
    problem_ids: tuple
    n_samples: np.ndarray
    n_correct: np.ndarray
    answer_counts: np.ndarray | None = None
    n_null: np.ndarray | None = None
    wrong_answers: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self):
        C, P = len(self.checkpoints), len(self.problem_ids)
        if len(set(map(str, self.checkpoints))) != C:
            raise ValueError("checkpoints: labels must be unique")
        if len(set(map(str, self.problem_ids))) != P:
            raise ValueError("problem_ids: labels must be unique")
        steps = np.asarray(self.steps, dtype=float)
        if steps.shape != (C,):
            raise ValueError(f"steps: expected shape ({C},), got {steps.shape}")
        object.__setattr__(self, "steps", steps)
        for name in ("n_samples", "n_correct"):
            arr = np.asarray(getattr(self, name))
            if arr.shape != (C, P):
                raise ValueError(f"{name}: expected shape ({C}, {P}), got {arr.shape}")
            if not np.issubdtype(arr.dtype, np.integer) or (arr < 0).any():
                raise ValueError(f"{name}: must be non-negative integers")
            object.__setattr__(self, name, arr.astype(np.int64))
        if (self.n_correct > self.n_samples).any():
            c, p = np.argwhere(self.n_correct > self.n_samples)[0]
            raise ValueError(f"n_correct exceeds n_samples at checkpoint {self.checkpoints[c]!r}, problem {self.problem_ids[p]!r}")
        null = np.zeros((C, P), np.int64) if self.n_null is None else np.asarray(self.n_null)
        if null.shape != (C, P) or (null < 0).any():
            raise ValueError(f"n_null: expected non-negative integers of shape ({C}, {P})")
        object.__setattr__(self, "n_null", null.astype(np.int64))
        if self.answer_counts is not None:
            ac = np.asarray(self.answer_counts)
            if ac.ndim != 3 or ac.shape[:2] != (C, P) or ac.shape[2] < 1:
                raise ValueError(f"answer_counts: expected shape ({C}, {P}, A ≥ 1), got {ac.shape}")
            if not np.issubdtype(ac.dtype, np.integer) or (ac < 0).any():
                raise ValueError("answer_counts: must be non-negative integers")
            ac = ac.astype(np.int64)
            if not np.array_equal(ac[..., 0], self.n_correct):
                raise ValueError("answer_counts[..., 0] must equal n_correct (slot 0 is the correct answer)")
            if not np.array_equal(ac.sum(-1) + null, self.n_samples):
                raise ValueError("answer_counts.sum(-1) + n_null must equal n_samples")
            object.__setattr__(self, "answer_counts", ac)
            if self.wrong_answers is not None:
                wa = np.asarray(self.wrong_answers, dtype=object)
                if wa.shape != (C, P, ac.shape[2] - 1):
                    raise ValueError(f"wrong_answers: expected shape ({C}, {P}, {ac.shape[2] - 1}), got {wa.shape}")
                object.__setattr__(self, "wrong_answers", wa)
        elif (null > 0).any():
            raise ValueError("n_null: count-only data (answer_counts=None) cannot have null answers separately")

    @property
    def has_answers(self) -> bool:
        """True when per-answer counts are known (vote analyses possible)."""
        return self.answer_counts is not None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.checkpoints), len(self.problem_ids)

    def vote_counts(self) -> tuple[np.ndarray, int]:
        """Counts [C, P, A+1] with the null answers appended as the last slot, and that slot's index.

        Feed them to ``theory.voting.maj_at_k(counts, k, correct=0, abstain=index)``.
        """
        if self.answer_counts is None:
            raise ValueError("answer_counts: this table holds only n_samples/n_correct; majority-vote analyses need per-answer counts")
        return np.concatenate([self.answer_counts, self.n_null[..., None]], axis=-1), self.answer_counts.shape[2]

    def with_steps(self, steps) -> CountsTable:
        """This table with training steps given explicitly, checkpoints then in step order.

        ``steps``: a mapping checkpoint label -> step (labels compared as strings; checkpoints it does not name keep
        their step) or a sequence of one step per checkpoint. Steps must be finite numbers. When every step is then
        finite the checkpoints are ordered by step (ties keep their order), else the order is kept. ValueError naming
        the labels that are not checkpoints of the table, or a step that is not a finite number.
        """
        labels = [str(c) for c in self.checkpoints]
        if isinstance(steps, dict):
            unknown = sorted(str(k) for k in steps if str(k) not in labels)
            if unknown:
                raise ValueError(f"steps: {', '.join(map(repr, unknown))} not among the checkpoints ({', '.join(labels[:12])}"
                                 + (" ..." if len(labels) > 12 else "") + ")")
            given = {str(k): v for k, v in steps.items()}
            new = [given.get(lab, s) for lab, s in zip(labels, self.steps.tolist())]
            check = list(given.items())
        else:
            new = list(steps)
            if len(new) != len(labels):
                raise ValueError(f"steps: expected {len(labels)} steps (one per checkpoint), got {len(new)}")
            check = list(zip(labels, new))
        for lab, v in check:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
                raise ValueError(f"steps: checkpoint {lab!r} needs a finite number, got {v!r}")
        arr = np.asarray(new, float)
        order = np.argsort(arr, kind="stable") if np.isfinite(arr).all() else np.arange(len(arr))
        out = self.select(checkpoints=order)
        object.__setattr__(out, "steps", arr[order])
        return out

    def select(self, checkpoints=None, problems=None) -> CountsTable:
        """Sub-table on the given checkpoint and problem indices (integer arrays or slices)."""
        ci = np.arange(len(self.checkpoints))[checkpoints if checkpoints is not None else slice(None)]
        pi = np.arange(len(self.problem_ids))[problems if problems is not None else slice(None)]
        ci, pi = np.atleast_1d(ci), np.atleast_1d(pi)
        grid = np.ix_(ci, pi)
        return CountsTable(
            checkpoints=tuple(self.checkpoints[i] for i in ci),
            steps=self.steps[ci],
            problem_ids=tuple(self.problem_ids[i] for i in pi),
            n_samples=self.n_samples[grid],
            n_correct=self.n_correct[grid],
            answer_counts=None if self.answer_counts is None else self.answer_counts[grid],
            n_null=self.n_null[grid],
            wrong_answers=None if self.wrong_answers is None else self.wrong_answers[grid],
        )


def tables_with_steps(tables: dict, steps: dict) -> dict:
    """``{key: CountsTable}`` (one per temperature) with training steps given explicitly: each table takes the labels
    of ``steps`` (label -> step, compared as strings) that are its checkpoints (:meth:`CountsTable.with_steps`).
    ValueError naming the labels that are a checkpoint of none of the tables."""
    labels = {str(c) for t in tables.values() for c in t.checkpoints}
    unknown = sorted(str(k) for k in steps if str(k) not in labels)
    if unknown:
        raise ValueError(f"steps: {', '.join(map(repr, unknown))} not among the checkpoints ({', '.join(sorted(labels)[:12])})")
    return {t: tab.with_steps({k: v for k, v in steps.items() if str(k) in {str(c) for c in tab.checkpoints}})
            for t, tab in tables.items()}


def from_answer_counts(checkpoints, problem_ids, counts, correct_answer, *, steps=None) -> CountsTable:
    """Build a table from per-cell dicts ``{answer string or None: count}`` and the correct answer.

    Args:
      checkpoints: labels (length C); problem_ids: labels (length P).
      counts: nested list [C][P] of dicts answer → count (None key = unparsed samples); an empty dict or
        None marks a cell that was not evaluated.
      correct_answer: nested list [C][P] (or list [P], shared by all checkpoints) of the correct answer
        string; answers equal to it fill slot 0.
      steps: optional training steps (default: :func:`checkpoint_step` of each label, NaN where it names none).
    """
    C, P = len(checkpoints), len(problem_ids)
    if len(counts) != C or any(len(row) != P for row in counts):
        raise ValueError(f"counts: expected a nested list of shape [{C}][{P}]")
    shared_gold = len(correct_answer) == P and (C != P or not isinstance(correct_answer[0], (list, tuple)))
    cells, width = [], 1
    for c in range(C):
        row = []
        for p in range(P):
            d = counts[c][p] or {}
            gold = correct_answer[p] if shared_gold else correct_answer[c][p]
            n_null, n_ok, wrong = 0, 0, []
            for ans, cnt in d.items():
                if isinstance(cnt, bool) or not isinstance(cnt, (int, np.integer)) or cnt < 0:
                    raise ValueError(f"counts[{c}][{p}][{ans!r}]: count must be a non-negative integer, got {cnt!r}")
                if ans is None:
                    n_null += int(cnt)
                elif ans == gold:
                    n_ok += int(cnt)
                elif cnt > 0:
                    wrong.append((int(cnt), str(ans)))
            wrong.sort(key=lambda t: (-t[0], t[1]))
            width = max(width, 1 + len(wrong))
            row.append((n_ok, wrong, n_null))
        cells.append(row)
    ac = np.zeros((C, P, width), np.int64)
    wa = np.full((C, P, width - 1), None, dtype=object)
    nn = np.zeros((C, P), np.int64)
    for c in range(C):
        for p in range(P):
            n_ok, wrong, n_null = cells[c][p]
            ac[c, p, 0] = n_ok
            nn[c, p] = n_null
            for j, (cnt, ans) in enumerate(wrong):
                ac[c, p, 1 + j] = cnt
                wa[c, p, j] = ans
    if steps is None:
        steps = [_as_step(x) for x in checkpoints]
    return CountsTable(tuple(checkpoints), np.asarray(steps, float), tuple(problem_ids),
                       ac.sum(-1) + nn, ac[..., 0].copy(), ac, nn, wa)


# the usual checkpoint names: an optional prefix ending in a separator, a step keyword, an optional separator, digits
_STEP_NAME = re.compile(r"(?:.*[-_.=])?(?:global_step|step|ckpt|checkpoint|iter|iteration)[-_=]?([0-9]+)", re.IGNORECASE | re.ASCII)
_NAME_SUFFIXES = (".jsonl", ".json", ".ndjson", ".parquet", ".pq", ".csv", ".ckpt", ".pt", ".pth", ".safetensors", ".bin")


def checkpoint_step(label, steps: dict | None = None) -> float:
    """The training step of a checkpoint label (float; NaN when the label names no step).

    Rules, first match wins:

    1. ``steps`` (optional): an explicit mapping label -> step (keys compared as strings); its value is used as is;
    2. a number: an int, a finite float, or a string that Python's ``float`` reads (``"140"``, ``"1.5"``);
       non-finite numbers, booleans and other types give NaN;
    3. a name: the last path component (``/`` or ``\\``), less one file extension of
       ``.jsonl .json .ndjson .parquet .pq .csv .ckpt .pt .pth .safetensors .bin``, that is all ASCII digits
       (``140.jsonl``, verl's validation dumps) or reads ``[prefix<sep>]KEYWORD[sep]DIGITS`` in full, with KEYWORD one of
       ``global_step step ckpt checkpoint iter iteration`` (any case), sep one of ``- _ =`` (``.`` also ends a prefix):
       ``global_step_140`` (verl), ``checkpoint-140`` (Hugging Face Trainer / TRL), ``step_100``, ``step-100``,
       ``ckpt140``, ``iter_0000140`` (Megatron), ``epoch=2-step=140.ckpt`` (Lightning), ``run1/global_step_140``.

    Not steps (NaN): ``best``, ``final``, ``step``, ``checkpoint-``, ``epoch_3`` (an epoch), ``qwen2.5-7b``, ``v2``,
    ``laststep100`` (no separator before the keyword), ``step_1.5``, ``step_-5``, ``checkpoint-140-merged``,
    ``global_step_140/actor`` (the last component is ``actor``).
    """
    if steps is not None:
        key = str(label)
        hit = {str(k): v for k, v in steps.items()}.get(key)
        if hit is not None:
            return float(hit)
    if isinstance(label, (bool, np.bool_)):
        return float("nan")
    if isinstance(label, (int, np.integer, float, np.floating)):
        v = float(label)
        return v if math.isfinite(v) else float("nan")
    if not isinstance(label, str):
        return float("nan")
    text = label.strip()
    try:
        v = float(text)
        return v if math.isfinite(v) else float("nan")
    except ValueError:
        pass
    name = re.split(r"[\\/]", text)[-1]
    low = name.lower()
    for suffix in _NAME_SUFFIXES:
        if low.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    if name and name.isascii() and name.isdigit():
        return float(int(name))
    m = _STEP_NAME.fullmatch(name)
    return float(int(m.group(1))) if m else float("nan")


def checkpoint_steps(labels, steps: dict | None = None) -> np.ndarray:
    """:func:`checkpoint_step` of every label (float array, NaN where a label names no step)."""
    return np.array([checkpoint_step(x, steps) for x in labels], float)


def _as_step(label) -> float:
    return checkpoint_step(label)
