"""Slow, obviously-correct enumeration references for small cases (tests and benchmarks use them).

Nothing here shares code with the exact engines of ``theory/voting.py``: every probability is summed
term by term over all vote sequences, all k-subsets of the samples, or all count vectors with the
Dirichlet-multinomial pmf written from its definition. Only for small m, n (m^n terms).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.special import gammaln


def vote_credit(counts, correct: int, tie: str, abstain: int | None = None) -> float:
    """Credit of one vote-count vector: 1, 1/t (random ties) or 0; abstentions never win."""
    c = np.array(counts, dtype=float)
    if abstain is not None:
        c[abstain] = -1
    top = c.max()
    if top <= 0 or c[correct] != top:
        return 0.0
    t = int((c == top).sum())
    return 1.0 / t if tie == "random" else float(t == 1)


def plurality_by_enumeration(p, n: int, tie: str, correct: int = 0, abstain: int | None = None) -> float:
    """Sum the credit over all m^n ordered sequences of n iid votes."""
    total, m = 0.0, len(p)
    for seq in itertools.product(range(m), repeat=n):
        prob = math.prod(p[a] for a in seq)
        if prob:
            total += prob * vote_credit(np.bincount(seq, minlength=m), correct, tie, abstain)
    return total


def maj_at_k_by_enumeration(counts, k: int, tie: str, correct: int = 0, abstain: int | None = None) -> float:
    """Average the credit over every k-subset of the n samples."""
    samples = [a for a, c in enumerate(counts) for _ in range(c)]
    vals = [vote_credit(np.bincount(sub, minlength=len(counts)), correct, tie, abstain) for sub in itertools.combinations(samples, k)]
    return float(np.mean(vals))


def compositions(n: int, m: int):
    """All vectors of m nonnegative integers summing to n."""
    for cuts in itertools.combinations(range(n + m - 1), m - 1):
        prev, out = -1, []
        for c in cuts + (n + m - 1,):
            out.append(c - prev - 1)
            prev = c
        yield out


def dirichlet_multinomial_by_enumeration(p, rho: float, n: int, tie: str, correct: int = 0) -> float:
    """Sum credit × Dirichlet-multinomial pmf (α = p (1 − ρ)/ρ) over all count vectors."""
    A = (1 - rho) / rho
    alpha = np.asarray(p) * A
    total = 0.0
    for c in compositions(n, len(p)):
        c = np.array(c)
        if np.any((alpha == 0) & (c > 0)):
            continue
        a, cc = alpha[alpha > 0], c[alpha > 0]
        logp = gammaln(n + 1) - gammaln(cc + 1).sum() + gammaln(A) - gammaln(n + A) + (gammaln(cc + a) - gammaln(a)).sum()
        total += np.exp(logp) * vote_credit(c, correct, tie)
    return total
