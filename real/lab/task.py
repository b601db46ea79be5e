"""A verifiable task family for the small real RLVR run: chained digit arithmetic modulo 10.

A problem is a chain of single digits and operators, evaluated left to right modulo 10, e.g.

    prompt:      Q:3+4*2-5=
    completion:  3+4=7;7*2=4;4-5=9;#### 9

Each written step applies one operator to the running value and the next digit (mod 10); the final
answer follows ``#### `` (the GSM8K convention, read by ``real.logs.answers.extract_answer``). The
difficulty knob is the number of operations ``n_ops``: a model that gets each step right with
probability q solves a chain with probability about q^n_ops, so a mix of lengths spreads per-problem
success rates over (0, 1). Mistakes are systematic: a wrong entry in a learned operator table gives the
same wrong value every time that step occurs, so wrong answers of one problem concentrate (consistent
errors, as in real reasoning models). Answers are discrete (ten values).

Systematic error structure (issue 14): the *zero-absorbs shortcut*. A chain whose running value hits 0
before its last step (``Problem.zero_step``) can be "solved" by stopping there and answering 0 — the
misconception that 0 absorbs whatever follows (true only for multiplications). The shortcut is shorter
than the full solution and right exactly when the true answer is 0, so problems fall into three classes
(``Problem.trap_class``): ``none`` (never hits 0 early: shortcut = full solution), ``trap_right`` (hits 0
and ends at 0) and ``trap_wrong`` (hits 0, ends elsewhere: the shortcut is consistently wrong, always
with answer 0). A base model learns the shortcut from a share of SFT solutions that take it
(``sft_examples``); a training pool with a chosen class mix (``make_problems(class_shares=...)``) decides
whether RL rewards it. Every completion's written steps identify its strategy and its first error
exactly (``classify_completion``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

OPS = "+-*"
MOD = 10


@dataclass(frozen=True)
class Problem:
    """One problem: digits d0..dn, operators o1..on; ``prompt``, reference ``completion``, ``answer``."""

    problem_id: str
    digits: tuple
    ops: tuple

    @property
    def n_ops(self) -> int:
        return len(self.ops)

    @property
    def prompt(self) -> str:
        chain = str(self.digits[0]) + "".join(f"{o}{d}" for o, d in zip(self.ops, self.digits[1:]))
        return f"Q:{chain}="

    @property
    def steps(self) -> list[tuple[int, str, int, int]]:
        """(running value, operator, digit, new value) per step."""
        out, acc = [], self.digits[0]
        for o, d in zip(self.ops, self.digits[1:]):
            new = apply_op(acc, o, d)
            out.append((acc, o, d, new))
            acc = new
        return out

    @property
    def answer(self) -> str:
        return str(self.steps[-1][3] if self.ops else self.digits[0])

    @property
    def completion(self) -> str:
        body = "".join(f"{a}{o}{d}={n};" for a, o, d, n in self.steps)
        return f"{body}#### {self.answer}"

    @property
    def zero_step(self) -> int | None:
        """Index (0-based) of the first step whose new value is 0 while steps remain after it; None if none."""
        for j, (_, _, _, new) in enumerate(self.steps[:-1]):
            if new == 0:
                return j
        return None

    @property
    def trap_class(self) -> str:
        """``none`` (no early 0), ``trap_right`` (early 0, answer 0) or ``trap_wrong`` (early 0, answer != 0)."""
        if self.zero_step is None:
            return "none"
        return "trap_right" if self.answer == "0" else "trap_wrong"

    @property
    def shortcut_completion(self) -> str:
        """The zero-absorbs shortcut: the steps up to the first early 0, then ``#### 0`` (the full completion
        when the chain never hits 0 early)."""
        j = self.zero_step
        if j is None:
            return self.completion
        body = "".join(f"{a}{o}{d}={n};" for a, o, d, n in self.steps[: j + 1])
        return f"{body}#### 0"


def apply_op(a: int, op: str, d: int) -> int:
    """(a op d) mod 10 for op in + - *."""
    if op == "+":
        return (a + d) % MOD
    if op == "-":
        return (a - d) % MOD
    if op == "*":
        return (a * d) % MOD
    raise ValueError(f"op: must be one of {OPS!r}, got {op!r}")


TRAP_CLASSES = ("none", "trap_right", "trap_wrong")


def class_counts(n: int, shares) -> dict:
    """Problems per trap class for ``n`` problems and ``shares`` (none, trap_right, trap_wrong), summing to 1:
    floor(n * share) each, the remainder given to the largest fractional parts (ties: class order)."""
    shares = check_class_shares("class_shares", shares)
    raw = [n * s for s in shares]
    base = [int(np.floor(r)) for r in raw]
    order = sorted(range(3), key=lambda k: (-(raw[k] - base[k]), k))
    for k in order[: n - sum(base)]:
        base[k] += 1
    return dict(zip(TRAP_CLASSES, base))


def check_class_shares(name: str, shares) -> tuple:
    """``shares`` as a tuple of three probabilities (none, trap_right, trap_wrong) summing to 1, else an error naming ``name``."""
    vals = tuple(shares)
    if len(vals) != 3 or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1 for v in vals) \
            or abs(sum(vals) - 1) > 1e-9:
        raise ValueError(f"{name}: must be three shares in [0, 1] of the classes {TRAP_CLASSES} summing to 1, got {list(vals)!r}")
    return tuple(float(v) for v in vals)


def make_problems(n: int, n_ops, *, seed: int, prefix: str = "p", class_shares=None) -> list[Problem]:
    """``n`` random problems; ``n_ops`` an int or a sequence of lengths drawn uniformly per problem.

    ``class_shares`` (none, trap_right, trap_wrong), when given: random chains are drawn until each trap class
    (``Problem.trap_class``) has its count (:func:`class_counts`), then the problems are shuffled (ids follow
    the shuffled order). Without it the classes come as random chains give them (about 3 in 4 chains of 2-6
    operations are ``none``, and ``trap_wrong`` is about three times as common as ``trap_right``).
    Deterministic given ``seed``. Problem ids are ``f"{prefix}{index}"``.
    """
    rng = np.random.default_rng(seed)
    lengths = np.atleast_1d(np.asarray(n_ops, dtype=int))
    if lengths.min() < 1:
        raise ValueError(f"n_ops: lengths must be >= 1, got {lengths.tolist()}")
    want = class_counts(n, class_shares) if class_shares is not None else None
    if want is not None and lengths.max() < 2 and (want["trap_right"] or want["trap_wrong"]):
        raise ValueError("class_shares: chains of 1 operation never hit 0 early; trap classes need n_ops >= 2")
    out, tries = [], 0
    while len(out) < n:
        L = int(rng.choice(lengths))
        digits = tuple(int(x) for x in rng.integers(0, MOD, L + 1))
        ops = tuple(OPS[int(j)] for j in rng.integers(0, len(OPS), L))
        p = Problem(f"{prefix}{len(out)}", digits, ops)
        if want is not None:
            tries += 1
            if tries > 1000 * max(n, 1):
                raise ValueError(f"class_shares: could not draw {want} problems of n_ops {lengths.tolist()} in {tries} chains")
            if want[p.trap_class] == 0:
                continue
            want[p.trap_class] -= 1
        out.append(p)
    if want is not None:  # drawn until each class was full: shuffle so that any prefix has the class mix too
        out = [Problem(f"{prefix}{i}", p.digits, p.ops) for i, p in enumerate(out[j] for j in rng.permutation(n))]
    return out


@dataclass(frozen=True)
class Example:
    """One SFT example: a problem's prompt and the completion taught for it (the full solution or the shortcut)."""

    problem_id: str
    prompt: str
    completion: str
    shortcut: bool


def sft_examples(problems, shortcut_rate: float, *, seed: int) -> list[Example]:
    """SFT examples: each problem that hits 0 early (``Problem.zero_step``) is taught the zero-absorbs shortcut
    with probability ``shortcut_rate`` (independently, NumPy generator ``seed``), every other one its full
    solution. The shortcut is taught on ``trap_wrong`` problems too, where it is wrong: a misconception
    in the data, so the base model takes it about equally often on both trap classes."""
    if isinstance(shortcut_rate, bool) or not isinstance(shortcut_rate, (int, float)) or not 0 <= shortcut_rate <= 1:
        raise ValueError(f"shortcut_rate: must lie in [0, 1], got {shortcut_rate!r}")
    u = np.random.default_rng(seed).random(len(problems))
    out = []
    for p, x in zip(problems, u):
        take = p.zero_step is not None and x < shortcut_rate
        out.append(Example(p.problem_id, p.prompt, p.shortcut_completion if take else p.completion, bool(take)))
    return out


def grade(answer: str | None, gold: str) -> bool:
    """The task's exact verifier: is the extracted final answer (``real.logs.answers.extract_answer``) the gold digit?"""
    return answer is not None and answer.strip() == gold


def check_answer(problem: Problem, answer: str | None) -> bool:
    """The verifiable reward: does the extracted final answer equal the true value?"""
    return grade(answer, problem.answer)


def problem_records(problems) -> list[dict]:
    """Problems as the rows of a problems file (``real.lab.evaluate.load_problems``): problem_id, prompt, gold."""
    return [{"problem_id": p.problem_id, "prompt": p.prompt, "gold": p.answer} for p in problems]


ERROR_TYPES = ("copied_number", "skipped_step", "wrong_operation", "arithmetic_slip", "shortcut", "truncated", "extra_step",
               "final_answer", "malformed")
_STEP = re.compile(r"(\d)([+\-*])(\d)=(\d);")
_FINAL = re.compile(r"#### (\S*)")


def classify_completion(problem: Problem, text: str) -> dict:
    """The strategy and the first error of one completion, read exactly from its written steps.

    Returns ``{"strategy", "error", "error_step", "steps_written"}``:

    - ``strategy``: ``shortcut`` when the completion stops right after a written step whose value is 0 while
      the prompt has operations left, and answers 0 (the zero-absorbs shortcut); else ``full``;
    - ``error``: None when every written step is the problem's step and the final answer follows the last
      one; else the first deviation, in the order the steps are read, as one of :data:`ERROR_TYPES`:
      ``copied_number`` (a step's running value is not the previous result, or its digit is not the
      prompt's), ``skipped_step`` (the step is the prompt's next one: one operation left out),
      ``wrong_operation`` (right value and digit, another operator), ``arithmetic_slip`` (right operands,
      wrong result), then, with every written step right: ``shortcut`` (stopped at the first early 0 and
      answered 0), ``truncated`` (stopped early otherwise), ``extra_step`` (steps beyond the last
      operation), ``final_answer`` (the answer after ``#### `` is not the last result, or is missing), and
      ``malformed`` (text that is neither steps nor a final answer where one is due);
    - ``error_step``: the 0-based index of the step where the first error occurs (None when the error is
      not in a step), ``steps_written``: parsed steps.
    """
    expected = problem.steps
    pos, written = 0, []
    while (m := _STEP.match(text, pos)) is not None:
        written.append((int(m.group(1)), m.group(2), int(m.group(3)), int(m.group(4))))
        pos = m.end()
    final = _FINAL.match(text, pos)
    answer = final.group(1) if final else None
    last = written[-1][3] if written else problem.digits[0]
    zero_stop = bool(written) and last == 0 and len(written) < len(expected) and answer == "0"
    out = {"strategy": "shortcut" if zero_stop else "full", "error": None, "error_step": None, "steps_written": len(written)}
    for j, (a, o, d, n) in enumerate(written):
        if j >= len(expected):
            out.update(error="extra_step", error_step=j)
            return out
        ea, eo, ed, en = expected[j]
        if a != ea:
            kind = "copied_number"
        elif (o, d) != (eo, ed) and j + 1 < len(expected) and (o, d) == expected[j + 1][1:3]:
            kind = "skipped_step"
        elif d != ed:
            kind = "copied_number"
        elif o != eo:
            kind = "wrong_operation"
        elif n != en:
            kind = "arithmetic_slip"
        else:
            continue
        out.update(error=kind, error_step=j)
        return out
    if final is None:
        out["error"] = "malformed"
    elif len(written) < len(expected):
        out["error"] = "shortcut" if zero_stop and problem.zero_step == len(written) - 1 else "truncated"
    elif answer != str(last):
        out["error"] = "final_answer"
    return out


N_ANSWER_SLOTS = MOD + 1  # the correct digit, the nine wrong digits, no answer
STRATEGIES = ("shortcut", "full") + tuple(f"full->slot{a}" for a in range(1, N_ANSWER_SLOTS))


def answer_slot(problem: Problem, answer: str | None) -> int:
    """A final answer's slot on ``problem``: 0 the correct digit, 1..9 the wrong digits (the digit 0 first when it
    is wrong, i.e. the shortcut's answer, then the others in increasing order), 10 no digit answer."""
    gold = int(problem.answer)
    if answer is None or not (len(answer) == 1 and answer.isdigit()):
        return MOD
    d = int(answer)
    if d == gold:
        return 0
    wrong = [x for x in range(MOD) if x != gold]  # the digit 0 first whenever it is wrong
    return 1 + wrong.index(d)


def strategy_table(problems, records) -> dict:
    """Per-problem strategy counts of classified samples, in the simulator's terms (``sim.calibration``).

    Strategies (:data:`STRATEGIES`): 0 the zero-absorbs shortcut (available only on problems that hit 0 early;
    its answer is the digit 0), 1 the full procedure reaching the correct answer, 1 + a the full procedure
    ending in answer slot a (:func:`answer_slot`, a = 1..10; an arithmetic slip, a copied number, ...). A sample
    counts as the shortcut when ``classify_completion`` says so on a problem with a trap class, else by its
    answer. ``records``: sample records with ``problem_id`` and ``text``. Returns ``answers`` int [P, S] (each
    strategy's answer slot), ``counts`` int [P, S], ``available`` bool [P, S] and ``problem_ids``."""
    idx = {p.problem_id: i for i, p in enumerate(problems)}
    P, S = len(problems), len(STRATEGIES)
    counts = np.zeros((P, S), np.int64)
    for r in records:
        i = idx.get(r["problem_id"])
        if i is None:
            raise ValueError(f"records: problem_id {r['problem_id']!r} is not one of the problems")
        p = problems[i]
        if p.zero_step is not None and classify_completion(p, r["text"])["strategy"] == "shortcut":
            counts[i, 0] += 1
        else:
            counts[i, 1 + answer_slot(p, extract_final(r["text"]))] += 1
    answers = np.tile(np.arange(-1, S - 1), (P, 1))
    answers[:, 1] = 0
    for i, p in enumerate(problems):
        answers[i, 0] = answer_slot(p, "0")
    available = np.ones((P, S), bool)
    available[:, 0] = [p.zero_step is not None for p in problems]
    return {"answers": answers, "counts": counts, "available": available, "problem_ids": [p.problem_id for p in problems]}


def extract_final(text: str) -> str | None:
    """The final answer of a completion, by the project's one parser (``real.logs.answers.extract_answer``)."""
    from real.logs.answers import extract_answer

    return extract_answer(text)
