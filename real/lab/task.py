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
"""

from __future__ import annotations

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


def apply_op(a: int, op: str, d: int) -> int:
    """(a op d) mod 10 for op in + - *."""
    if op == "+":
        return (a + d) % MOD
    if op == "-":
        return (a - d) % MOD
    if op == "*":
        return (a * d) % MOD
    raise ValueError(f"op: must be one of {OPS!r}, got {op!r}")


def make_problems(n: int, n_ops, *, seed: int, prefix: str = "p") -> list[Problem]:
    """``n`` random problems; ``n_ops`` an int or a sequence of lengths drawn uniformly per problem.

    Deterministic given ``seed``. Problem ids are ``f"{prefix}{index}"``.
    """
    rng = np.random.default_rng(seed)
    lengths = np.atleast_1d(np.asarray(n_ops, dtype=int))
    if lengths.min() < 1:
        raise ValueError(f"n_ops: lengths must be >= 1, got {lengths.tolist()}")
    out = []
    for i in range(n):
        L = int(rng.choice(lengths))
        digits = tuple(int(x) for x in rng.integers(0, MOD, L + 1))
        ops = tuple(OPS[int(j)] for j in rng.integers(0, len(OPS), L))
        out.append(Problem(f"{prefix}{i}", digits, ops))
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
