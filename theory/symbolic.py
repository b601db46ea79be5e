"""Sympy-checked derivations of the closed forms used in the testbed.

Run ``python -m theory.symbolic`` to re-derive every result: each one prints its name, statement,
PASS/FAIL and a line saying what was checked; the exit status is non-zero if any check fails.
``python -m theory.symbolic --latex`` prints one LaTeX block per result (statement plus the derived
identity); ``--latex FILE`` writes the blocks to ``FILE`` instead.

Every check is exact: identities are proved by sympy (``simplify``/``expand``/``combsimp``/
``gammasimp``/``integrate``/``solve``/``limit``) on general symbols, and where a fully general proof
is not tractable the identity is proved for general symbols as far as possible and additionally
verified with exact rational arithmetic over a whole range of integer parameters.  The only
floating-point comparisons are the ones the statements themselves are about (a root located against
a dense grid maximum, and the quoted value m* ~ 4.17).

The checking primitives (:func:`check_identity`, :func:`check_exact_cases`, :func:`check_limit`,
:func:`check_argmax_on_grid`) are public so that the tests can feed them deliberately wrong formulas
and show that they fail.

Results (see ``DERIVATIONS``):

1. ``passk_advantages``      Pass@k-training advantages (Chen et al. 2025, arXiv 2508.10751, eqs. 11-15).
2. ``pass1_eta``             Pass@1 / GRPO with population std: eta = 2N sqrt(rho(1 - rho)).
3. ``large_n_eta``           Large-N limit eta/N -> 2 rho sqrt(q^k/(1 - q^k)) and its argmax equation.
4. ``majority_step``         Binary majority: P_{K+2} - P_K and P_K = I_p((K+1)/2, (K+1)/2).
5. ``mixture_peak``          Easy/hard mixture (Chen et al. 2024, "Are More LLM Calls All You Need?").
6. ``batch_bonus``           Batch exploration bonus (Song, Kempe, Munos 2025, arXiv 2509.06941).
7. ``beta_binomial_passk``   pass@k under p ~ Beta(a, b) and its power-law tail.
8. ``softmax_entropy``       Softmax entropy gradient and Delta H ~ -Cov(log pi, Delta z).
9. ``product_forms``         Multinomial / hypergeometric / Dirichlet-multinomial count laws, ICC.
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache, lru_cache

import numpy as np
import sympy as sp

__all__ = [
    "SymbolicResult",
    "Check",
    "check_identity",
    "check_exact_cases",
    "check_limit",
    "check_argmax_on_grid",
    "passk_mean_reward",
    "passk_neg_ratio",
    "passk_adv_numerators",
    "brute_force_passk_group_stats",
    "majority_prob",
    "majority_step",
    "mixture_m_star",
    "derive_passk_advantages",
    "derive_pass1_eta",
    "derive_large_n_eta",
    "derive_majority_step",
    "derive_mixture_peak",
    "derive_batch_bonus",
    "derive_beta_binomial_passk",
    "derive_softmax_entropy",
    "derive_product_forms",
    "DERIVATIONS",
    "run_all",
    "results_to_latex",
    "main",
]


# --------------------------------------------------------------------------------------------
# Result type and checking machinery
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SymbolicResult:
    """One derivation: its name, plain-text statement, verdict, what was checked, and LaTeX."""

    name: str
    statement: str
    passed: bool
    detail: str
    latex: str


@dataclass(frozen=True)
class Check:
    """Outcome of one exact check; truthy iff it passed.  ``info`` says what was compared."""

    ok: bool
    info: str = ""

    def __bool__(self) -> bool:  # pragma: no cover - trivial
        return self.ok


_SIMPLIFIERS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "simplify": sp.simplify,
    "expand": sp.expand,
    "combsimp": lambda e: sp.combsimp(sp.expand_func(e)) if e.has(sp.binomial) else sp.combsimp(e),
    "gammasimp": sp.gammasimp,
    "cancel": lambda e: sp.cancel(sp.together(e)),
    "expand_func": lambda e: sp.simplify(sp.expand_func(e)),
    "logcombine": lambda e: sp.simplify(sp.expand_log(e, force=True)),
}


def check_identity(lhs, rhs, *, method: str | Sequence[str] = "simplify") -> Check:
    """Prove ``lhs == rhs`` symbolically: the residual ``lhs - rhs`` must reduce to exactly 0.

    ``method`` names one simplifier (``simplify``, ``expand``, ``combsimp``, ``gammasimp``,
    ``cancel``, ``expand_func``, ``logcombine``) or a sequence tried in order (applied to the
    residual; the first that yields 0 proves the identity).  Fail-closed: if no simplifier reaches
    0 the identity is reported as not proved.  Shared by every derivation in this module
    (Chen et al. 2025 eq. 15, majority-vote steps, Beta integrals, ...).
    """
    methods = [method] if isinstance(method, str) else list(method)
    residual = sp.sympify(lhs) - sp.sympify(rhs)
    last = residual
    for name in methods:
        try:
            reduced = _SIMPLIFIERS[name](residual)
        except KeyError:
            raise ValueError(f"method: unknown simplifier {name!r}") from None
        if reduced == 0:
            return Check(True, f"residual -> 0 by {name}")
        last = reduced
    return Check(False, f"residual not zero: {sp.sstr(last)[:200]}")


def _exact(x) -> sp.Rational:
    """Convert an exact rational (int, Fraction, sympy Rational) to sympy; reject anything else."""
    if isinstance(x, bool):
        return sp.Integer(int(x))
    if isinstance(x, int):
        return sp.Integer(x)
    if isinstance(x, Fraction):
        return sp.Rational(x.numerator, x.denominator)
    if isinstance(x, sp.Basic):
        x = sp.sympify(x)
        if x.is_Rational:
            return x
        raise TypeError(f"not an exact rational: {x}")
    raise TypeError(f"not an exact rational: {x!r} ({type(x).__name__})")


def check_exact_cases(cases: Iterable[tuple], lhs: Callable, rhs: Callable) -> Check:
    """Verify ``lhs(*case) == rhs(*case)`` exactly (rational arithmetic) for every case.

    Both sides must evaluate to exact rationals (``int``, ``Fraction`` or sympy ``Rational``); a
    float or an irrational sympy value raises ``TypeError`` rather than being compared
    approximately.  Used for the range checks (e.g. all N <= 14, 1 <= k <= N of Chen et al. 2025
    eqs. 11-15; odd K of majority voting).
    """
    n = 0
    for case in cases:
        a, b = _exact(lhs(*case)), _exact(rhs(*case))
        n += 1
        if a != b:
            return Check(False, f"mismatch at {case}: {a} != {b} (after {n} cases)")
    if n == 0:
        return Check(False, "no cases")
    return Check(True, f"{n} cases equal exactly")


def check_limit(expr, var: sp.Symbol, expected, point=sp.oo) -> Check:
    """Prove ``lim_{var -> point} expr == expected`` with ``sympy.limit`` (exact result compared).

    Used for the large-N limits of Chen et al. 2025 (eq. 15 as N -> oo) and the Beta-tail
    asymptotics (ratio of Gammas).
    """
    lim = sp.limit(expr, var, point)
    ok = check_identity(lim, expected, method=("simplify", "expand", "gammasimp"))
    return Check(ok.ok, f"limit = {sp.sstr(lim)[:120]}; {ok.info}")


def check_argmax_on_grid(f: Callable[[np.ndarray], np.ndarray], root: float, lo: float, hi: float,
                         n_grid: int = 200_001) -> Check:
    """Numeric cross-check: ``root`` must be within two grid spacings of the dense-grid argmax of ``f``.

    Used for the argmax of the large-N eta curve (Chen et al. 2025, Pass@k training).  The root
    itself is derived exactly; this only confirms it is the maximum and not another critical point.
    """
    grid = np.linspace(lo, hi, n_grid)
    vals = f(grid)
    best = float(grid[int(np.nanargmax(vals))])
    h = (hi - lo) / (n_grid - 1)
    ok = abs(best - float(root)) <= 2 * h
    return Check(ok, f"root {float(root):.6f} vs grid argmax {best:.6f} (spacing {h:.1e})")


def _all(checks: Sequence[tuple[str, Check]]) -> tuple[bool, str]:
    """Combine named checks into (passed, detail) where failures are listed first."""
    bad = [f"FAILED {name}: {c.info}" for name, c in checks if not c.ok]
    return (not bad), ("; ".join(bad) if bad else "")


def _result(name: str, statement: str, checks: Sequence[tuple[str, Check]], detail: str,
            latex: str) -> SymbolicResult:
    ok, failures = _all(checks)
    summary = f"{sum(c.ok for _, c in checks)}/{len(checks)} checks passed. "
    return SymbolicResult(name, statement, ok, (failures + " | " if failures else "") + summary + detail,
                          latex)


# --------------------------------------------------------------------------------------------
# 1. Pass@k-training advantages (Chen et al. 2025, arXiv 2508.10751, eqs. 11-15)
# --------------------------------------------------------------------------------------------

_N, _NNEG, _K = sp.symbols("N N_neg k", positive=True, integer=True)


def passk_mean_reward(N, n_neg, k):
    """Mean group reward R̄ = 1 - C(N_neg, k)/C(N, k) over all C(N, k) groups (Chen et al. 2025, eq. 12)."""
    return 1 - sp.binomial(n_neg, k) / sp.binomial(N, k)


def passk_neg_ratio(N, n_neg, k):
    """r = C(N_neg - 1, k - 1)/C(N - 1, k - 1): share of all-negative groups among those holding a
    given negative response (Chen et al. 2025, eq. 15)."""
    return sp.binomial(n_neg - 1, k - 1) / sp.binomial(N - 1, k - 1)


def passk_adv_numerators(N, n_neg, k):
    """(σ·Â_pos, σ·Â_neg) = (1 - R̄, 1 - R̄ - r) (Chen et al. 2025, eqs. 14-15; σ = sqrt(R̄(1 - R̄)))."""
    rbar = passk_mean_reward(N, n_neg, k)
    return 1 - rbar, 1 - rbar - passk_neg_ratio(N, n_neg, k)


@cache
def _group_tallies(N: int, k: int) -> tuple[int, tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Enumerate every k-subset of N labelled rollouts once.

    Returns (number of groups, count of groups by their largest index, per-response count of the
    groups holding it by largest index).  With the N_neg negatives labelled 0..N_neg-1, a group
    has reward max_i R_i = 1 iff its largest index is >= N_neg, so one enumeration serves every N_neg.
    """
    by_max = [0] * N
    per = [[0] * N for _ in range(N)]
    n = 0
    for g in itertools.combinations(range(N), k):
        m = g[-1]
        n += 1
        by_max[m] += 1
        for i in g:
            per[i][m] += 1
    return n, tuple(by_max), tuple(tuple(r) for r in per)


def brute_force_passk_group_stats(N: int, n_neg: int, k: int) -> dict:
    """Exact brute force over all C(N, k) groups of the Pass@k-training statistics (Chen et al. 2025).

    Rollouts 0..n_neg-1 are negative (reward 0), the rest positive; a group's reward is the max over
    its k members.  Returns exact ``Fraction`` values: ``mean`` (R̄), ``var`` (population variance
    of the group rewards), and ``avg_centered[i]`` = mean of (R_g - R̄) over the groups g containing
    response i, i.e. σ times the response-level advantage of eq. 15.
    """
    n_groups, by_max, per = _group_tallies(N, k)
    n_win = sum(by_max[n_neg:])
    mean = Fraction(n_win, n_groups)
    var = (n_win * (1 - mean) ** 2 + (n_groups - n_win) * mean ** 2) / n_groups
    avg = []
    for i in range(N):
        holding = sum(per[i])
        avg.append(Fraction(sum(per[i][n_neg:]), holding) - mean)
    return {"mean": mean, "var": var, "avg_centered": avg, "n_groups": n_groups}


def _passk_range_cases(n_max: int):
    return [(N, k, nn) for N in range(1, n_max + 1) for k in range(1, N + 1) for nn in range(0, N + 1)]


def derive_passk_advantages(quick: bool = False, n_max: int | None = None) -> SymbolicResult:
    """Chen et al. 2025 (arXiv 2508.10751) eqs. 11-15: Pass@k-training advantages.

    Proves symbolically (general N, N_neg, k) that
    C(N_neg-1, k-1)/C(N-1, k-1) = N·C(N_neg, k)/(N_neg·C(N, k)) and hence
    N_pos·Â_pos + N_neg·Â_neg = 0; verifies by brute force over all C(N, k) groups, exactly, for
    every N <= 14 (10 if ``quick``), 1 <= k <= N and 0 <= N_neg <= N that R̄, σ² and the
    group-averaged advantages equal the closed forms of eqs. 12-15.
    """
    n_max = n_max or (10 if quick else 14)
    N, Nn, k = _N, _NNEG, _K
    rbar = passk_mean_reward(N, Nn, k)
    num_pos, num_neg = passk_adv_numerators(N, Nn, k)
    sigma = sp.sqrt(rbar * (1 - rbar))
    a_pos, a_neg = num_pos / sigma, num_neg / sigma
    checks = []
    # (a) the binomial ratio, by absorption C(n-1, k-1) = (k/n) C(n, k)
    ratio_rhs = N * sp.binomial(Nn, k) / (Nn * sp.binomial(N, k))
    checks.append(("ratio", check_identity(passk_neg_ratio(N, Nn, k), ratio_rhs, method="combsimp")))
    # (b) sum to zero; sigma is a common positive factor, so prove it on sigma * (sum)
    checks.append(("sum-to-zero", check_identity(sp.expand(sigma * ((N - Nn) * a_pos + Nn * a_neg)), 0,
                                                 method="combsimp")))
    # (c) pass@k reduces to GRPO at k = 1: R̄ = rho, r = 1
    checks.append(("k=1", check_identity(passk_neg_ratio(N, Nn, 1), 1, method="combsimp")))

    cases = _passk_range_cases(n_max)
    stats = {c: brute_force_passk_group_stats(c[0], c[2], c[1]) for c in cases}
    subs = lambda e, c: e.subs({N: c[0], k: c[1], Nn: c[2]})  # noqa: E731
    checks.append(("mean", check_exact_cases(cases, lambda *c: stats[c]["mean"], lambda *c: subs(rbar, c))))
    checks.append(("variance", check_exact_cases(
        cases, lambda *c: stats[c]["var"], lambda *c: subs(rbar * (1 - rbar), c))))
    pos_cases = [(N_, k_, nn, i) for (N_, k_, nn) in cases for i in range(nn, N_)]
    neg_cases = [(N_, k_, nn, i) for (N_, k_, nn) in cases for i in range(0, nn)]
    checks.append(("positive adv", check_exact_cases(
        pos_cases, lambda N_, k_, nn, i: stats[(N_, k_, nn)]["avg_centered"][i],
        lambda N_, k_, nn, i: subs(num_pos, (N_, k_, nn)))))
    checks.append(("negative adv", check_exact_cases(
        neg_cases, lambda N_, k_, nn, i: stats[(N_, k_, nn)]["avg_centered"][i],
        lambda N_, k_, nn, i: subs(num_neg, (N_, k_, nn)))))
    # degenerate groups (sigma = 0): both numerators vanish, so "advantage 0" is consistent
    degen = [c for c in cases if stats[c]["var"] == 0]
    checks.append(("sigma=0 => numerators 0", check_exact_cases(
        [c + (s,) for c in degen for s in (0, 1)
         if (s == 0 and c[2] < c[0]) or (s == 1 and c[2] > 0)],
        lambda N_, k_, nn, s: subs((num_pos, num_neg)[s], (N_, k_, nn)), lambda *c: 0)))
    n_groups = sum(stats[c]["n_groups"] for c in cases)
    detail = (
        "SYMBOLIC (general N, N_neg, k; combsimp): C(N_neg-1,k-1)/C(N-1,k-1) = N·C(N_neg,k)/(N_neg·C(N,k)) "
        "[absorption C(n-1,k-1)=(k/n)C(n,k); note the k cancels, it is N/N_neg not k/N_neg], hence "
        "N_pos(1-R̄) + N_neg(1-R̄-r) = N·C(N_neg,k)/C(N,k) - N_neg·r = 0, i.e. the advantages sum to 0; "
        "k=1 gives r=1, R̄=N_pos/N (GRPO). Counting argument for eq. 15: C(N-1,k-1) groups hold a given "
        "negative, C(N_neg-1,k-1) of them are all-negative (reward 0), so their mean reward is 1-r; every "
        "group holding a positive has reward 1. EXACT RANGE (Fraction arithmetic, brute force over all "
        f"groups): all N<={n_max}, 1<=k<=N, 0<=N_neg<=N ({len(cases)} settings, {n_groups} groups in all): "
        "mean R̄, population variance = R̄(1-R̄) = σ², and for EVERY response the mean of (R_g-R̄) over the "
        f"groups holding it equals σ·Â_pos ({len(pos_cases)} responses) / σ·Â_neg ({len(neg_cases)}); where "
        f"σ=0 ({len(degen)} settings: N_neg<k or N_neg=N) both numerators are 0, so Â=0 is consistent."
    )
    latex = (
        r"\paragraph{Pass@$k$-training advantages (Chen et al.\ 2025, eqs.~11--15).}" "\n"
        r"With $N$ rollouts of which $N_{\mathrm{neg}}$ are wrong and group reward $\max$ over a $k$-subset, "
        r"over all $\binom{N}{k}$ groups $\bar R = 1-\binom{N_{\mathrm{neg}}}{k}/\binom{N}{k}$, "
        r"$\sigma=\sqrt{\bar R(1-\bar R)}$, $\hat A_{\mathrm{pos}} = (1-\bar R)/\sigma$ and "
        r"$\hat A_{\mathrm{neg}} = \bigl(1-\bar R-\binom{N_{\mathrm{neg}}-1}{k-1}/\binom{N-1}{k-1}\bigr)/\sigma$ "
        r"are the averages of $(R_g-\bar R)/\sigma$ over the groups containing the response. Since" "\n"
        r"\begin{equation}" "\n"
        r"\frac{\binom{N_{\mathrm{neg}}-1}{k-1}}{\binom{N-1}{k-1}} = \frac{N\binom{N_{\mathrm{neg}}}{k}}"
        r"{N_{\mathrm{neg}}\binom{N}{k}},\qquad N_{\mathrm{pos}}\hat A_{\mathrm{pos}} + "
        r"N_{\mathrm{neg}}\hat A_{\mathrm{neg}} = 0." "\n"
        r"\end{equation}" "\n"
        r"Proved symbolically (sympy \texttt{combsimp}); the group averages were verified exactly by brute "
        rf"force for all $N\le {n_max}$, $1\le k\le N$, $0\le N_{{\mathrm{{neg}}}}\le N$." "\n"
    )
    return _result(
        "passk_advantages",
        "Pass@k training (Chen et al. 2025, eqs. 11-15): R̄ = 1 - C(N_neg,k)/C(N,k), σ = sqrt(R̄(1-R̄)), "
        "Â_pos = (1-R̄)/σ, Â_neg = (1-R̄-C(N_neg-1,k-1)/C(N-1,k-1))/σ are the group-averaged advantages, "
        "and N_pos·Â_pos + N_neg·Â_neg = 0.",
        checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 2. Pass@1 (GRPO with population std)
# --------------------------------------------------------------------------------------------


def _eta_squared_exact(N: int, n_neg: int, k: int) -> Fraction:
    """η² = (N_pos|σÂ_pos| + N_neg|σÂ_neg|)² / σ² from the eq. 15 closed forms, exactly (0 if σ = 0)."""
    rb = _exact(passk_mean_reward(sp.Integer(N), sp.Integer(n_neg), sp.Integer(k)))
    var = rb * (1 - rb)
    if var == 0:
        return Fraction(0)
    r = _exact(passk_neg_ratio(sp.Integer(N), sp.Integer(n_neg), sp.Integer(k)))
    s = (N - n_neg) * abs(1 - rb) + n_neg * abs(1 - rb - r)
    v = s ** 2 / var
    return Fraction(int(v.p), int(v.q))


def derive_pass1_eta(quick: bool = False, n_max: int | None = None) -> SymbolicResult:
    """Chen et al. 2025 (arXiv 2508.10751), Pass@1 baseline = GRPO with population std.

    Proves symbolically that with ρ = N_pos/N, σ = sqrt(ρ(1-ρ)), Â_pos = (1-ρ)/σ, Â_neg = -ρ/σ the
    total advantage mass η = N_pos|Â_pos| + N_neg|Â_neg| = 2N·sqrt(ρ(1-ρ)) (maximal at ρ = 1/2),
    and checks η² exactly against the k = 1 case of eq. 15 for all N <= 14, 0 < N_pos < N.
    """
    n_max = n_max or (10 if quick else 14)
    N, rho = sp.symbols("N rho", positive=True)
    q = 1 - rho
    sigma = sp.sqrt(rho * q)
    a_pos, a_neg = q / sigma, -rho / sigma
    # valid for 0 < rho < 1: |a_pos| = a_pos, |a_neg| = -a_neg
    eta = rho * N * a_pos + q * N * (-a_neg)
    checks = [
        ("eta", check_identity(eta, 2 * N * sp.sqrt(rho * (1 - rho)), method="simplify")),
        ("sum-to-zero", check_identity(rho * N * a_pos + q * N * a_neg, 0, method="simplify")),
        # k = 1 of eq. 15 is GRPO: R̄ = rho and the negative numerator is -rho
        ("k=1 mean", check_identity(passk_mean_reward(_N, _NNEG, 1), 1 - _NNEG / _N, method="combsimp")),
        ("k=1 neg", check_identity(passk_adv_numerators(_N, _NNEG, 1)[1], -(_N - _NNEG) / _N,
                                   method="combsimp")),
        ("argmax 1/2", Check(sp.solve(sp.diff(rho * (1 - rho), rho), rho) == [sp.Rational(1, 2)],
                             "d/dρ ρ(1-ρ) = 0 at ρ = 1/2 only")),
    ]
    cases = [(n, n - npos) for n in range(2, n_max + 1) for npos in range(1, n)]
    checks.append(("exact range", check_exact_cases(
        cases, lambda n, nn: _eta_squared_exact(n, nn, 1),
        lambda n, nn: 4 * n * n * Fraction(n - nn, n) * Fraction(nn, n))))
    detail = (
        "SYMBOLIC (general N, 0<ρ<1; simplify): N_pos(1-ρ)/σ + N_neg·ρ/σ = 2Nρ(1-ρ)/σ = 2N·sqrt(ρ(1-ρ)); "
        "N_pos·Â_pos + N_neg·Â_neg = 0; eq. 15 at k=1 reduces to GRPO (R̄ = N_pos/N, σ·Â_neg = -ρ); the "
        "maximum of ρ(1-ρ) is at ρ = 1/2. EXACT RANGE: η² from the eq. 15 closed forms equals 4N²ρ(1-ρ) "
        f"for all 2<=N<={n_max}, 0<N_pos<N ({len(cases)} cases; squares compared since both sides are >= 0)."
    )
    latex = (
        r"\paragraph{Pass@1 (GRPO, population std).}" "\n"
        r"With $\rho=N_{\mathrm{pos}}/N$, $\hat A_{\mathrm{pos}}=(1-\rho)/\sigma$, "
        r"$\hat A_{\mathrm{neg}}=-\rho/\sigma$, $\sigma=\sqrt{\rho(1-\rho)}$:" "\n"
        r"\begin{equation}" "\n"
        r"\eta = N_{\mathrm{pos}}|\hat A_{\mathrm{pos}}| + N_{\mathrm{neg}}|\hat A_{\mathrm{neg}}| "
        r"= \frac{2N\rho(1-\rho)}{\sigma} = " + sp.latex(2 * N * sp.sqrt(rho * (1 - rho))) + r","
        "\n" r"\end{equation}" "\n"
        r"maximal at $\rho=1/2$ (symbolic; exact check for all $N\le " + str(n_max) + r"$)." "\n"
    )
    return _result("pass1_eta",
                   "Pass@1 / GRPO with population std: η = Σ|Â| = 2N·sqrt(ρ(1-ρ)), ρ = N_pos/N (peak at ρ = 1/2).",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 3. Large-N limit of eta for Pass@k training and its argmax
# --------------------------------------------------------------------------------------------


def large_n_eta(rho, k):
    """Large-N limit of η/N for Pass@k training (Chen et al. 2025): 2ρ·sqrt(q^k/(1 - q^k)), q = 1 - ρ."""
    q = 1 - rho
    return 2 * rho * sp.sqrt(q ** k / (1 - q ** k))


def derive_large_n_eta(quick: bool = False, n_max: int | None = None) -> SymbolicResult:
    """Chen et al. 2025 (arXiv 2508.10751), η of Pass@k training: exact finite-N form, N -> oo limit, argmax.

    Proves (general symbols) η = 2·N_pos·sqrt(s/(1-s)), s = C(N_neg,k)/C(N,k), from the sum-to-zero
    identity and Â_neg <= 0; proves with ``sympy.limit`` that s -> q^k and C(N_neg-1,k-1)/C(N-1,k-1)
    -> q^(k-1) for k = 1..8, so η/N -> 2ρ·sqrt(q^k/(1-q^k)); proves for general k that the
    stationarity condition is 2q(1 - q^k) = k(1 - q) ⇔ 2(q + ... + q^k) = k, solves it exactly for
    k = 1 (ρ = 1/2) and k = 2 (q = (√5-1)/2), and checks the root against a dense grid for k = 1,2,4,8,16.
    """
    n_max = n_max or (10 if quick else 14)
    N, q, s = sp.symbols("N q s", positive=True)
    rho, kk = sp.symbols("rho k", positive=True)
    checks = []
    # (a) exact finite-N eta: eta = 2 N_pos A_pos (sum to zero, A_neg <= 0) = 2 N_pos s / sqrt(s(1-s))
    u = sp.symbols("u", positive=True)  # u = 1 - s
    checks.append(("finite-N form", check_identity(s / sp.sqrt(s * u), sp.sqrt(s / u), method="simplify")))
    num_pos, num_neg = passk_adv_numerators(_N, _NNEG, _K)
    checks.append(("A_neg sign", check_identity(
        num_neg, -(_N - _NNEG) / _NNEG * sp.binomial(_NNEG, _K) / sp.binomial(_N, _K), method="combsimp")))
    cases = [(n, nn, k_) for n in range(1, n_max + 1) for k_ in range(1, n + 1) for nn in range(0, n + 1)]

    def eta_sq_closed(n, nn, k_):
        sv = Fraction(math.comb(nn, k_), math.comb(n, k_))
        return Fraction(0) if sv in (0, 1) else 4 * (n - nn) ** 2 * sv / (1 - sv)

    checks.append(("finite-N exact range", check_exact_cases(cases, _eta_squared_exact, eta_sq_closed)))
    # (b) limits, k = 1..8 (N_neg = qN)
    lim_ok = []
    for k_ in range(1, 9):
        s_expr = sp.expand_func(sp.binomial(q * N, k_) / sp.binomial(N, k_))
        r_expr = sp.expand_func(sp.binomial(q * N - 1, k_ - 1) / sp.binomial(N - 1, k_ - 1))
        lim_ok.append(check_limit(s_expr, N, q ** k_))
        lim_ok.append(check_limit(r_expr, N, q ** (k_ - 1)))
    checks.append(("limits k=1..8", Check(all(c.ok for c in lim_ok),
                                          "; ".join(c.info for c in lim_ok if not c.ok) or "all 16 limits")))
    f = large_n_eta(rho, kk)
    # both sides are >= 0, so comparing squares is exact
    checks.append(("limit form", check_identity((2 * rho * sp.sqrt(s / (1 - s)).subs(s, (1 - rho) ** kk)) ** 2,
                                                f ** 2, method=("simplify", "cancel"))))
    # finite N = 32 (the paper's setting): exact argmax of eta over N_pos, and eta = 0 iff N_pos > N - k
    n32 = {}
    for k_ in (1, 4, 8, 16):
        vals = {npos: _eta_squared_exact(32, 32 - npos, k_) for npos in range(0, 33)}
        n32[k_] = max(vals, key=vals.get)
        zero_ok = all((vals[npos] == 0) == (npos == 0 or npos > 32 - k_) for npos in vals)
        checks.append((f"N=32 k={k_} zeros", Check(zero_ok, "η = 0 iff N_pos = 0 or N_pos > N - k")))
    checks.append(("N=32 argmax", Check(n32 == {1: 16, 4: 8, 8: 4, 16: 2}, f"argmax N_pos by k: {n32}")))
    # (c) stationarity, general k: (d/drho log f) * 2 rho q (1 - q^k) = 2 q (1 - q^k) - k rho
    qq = 1 - rho
    dlog = sp.diff(sp.log(f), rho)
    stationary = 2 * qq * (1 - qq ** kk) - kk * rho
    checks.append(("stationarity (general k)", check_identity(dlog * 2 * rho * qq * (1 - qq ** kk), stationary)))
    poly_forms = []
    for k_ in range(1, 17):
        lhs = 2 * q * (1 - q ** k_) - k_ * (1 - q)
        rhs = (1 - q) * (2 * sum(q ** j for j in range(1, k_ + 1)) - k_)
        poly_forms.append(check_identity(lhs, rhs, method="expand"))
    checks.append(("2Σq^j = k form, k=1..16", Check(all(c.ok for c in poly_forms), "geometric sum")))
    # (d) roots: exact for k = 1, 2; unique real root in (0,1) vs grid maximum for k = 1, 2, 4, 8, 16
    root1 = sp.solve(2 * q - 1, q)
    root2 = [r for r in sp.solve(2 * q + 2 * q ** 2 - 2, q) if r.is_positive]
    checks.append(("k=1 root rho=1/2", Check(root1 == [sp.Rational(1, 2)], f"q = {root1}")))
    checks.append(("k=2 root", check_identity(root2[0], (sp.sqrt(5) - 1) / 2, method="simplify")
                   if len(root2) == 1 else Check(False, f"roots {root2}")))
    root_info = []
    for k_ in (1, 2, 4, 8, 16):
        poly = sp.Poly(2 * sum(q ** j for j in range(1, k_ + 1)) - k_, q)
        roots = [r for r in sp.real_roots(poly) if 0 < r < 1]
        if len(roots) != 1:
            checks.append((f"k={k_} unique root", Check(False, f"{len(roots)} roots in (0,1)")))
            continue
        rho_star = 1 - sp.Float(sp.N(roots[0], 30), 30)
        fn = sp.lambdify(rho, f.subs(kk, k_), "numpy")
        with np.errstate(divide="ignore", invalid="ignore"):
            c = check_argmax_on_grid(fn, float(rho_star), 1e-9, 1 - 1e-9)
        checks.append((f"k={k_} grid argmax", c))
        root_info.append((k_, f"{float(rho_star):.4f}"))
    detail = (
        "SYMBOLIC: η = N_pos|Â_pos| + N_neg|Â_neg| = 2N_pos·Â_pos because the advantages sum to 0 and "
        "σ·Â_neg = -(N-N_neg)/N_neg·C(N_neg,k)/C(N,k) <= 0 (combsimp, general symbols), so "
        "η = 2N_pos·s/sqrt(s(1-s)) = 2N_pos·sqrt(s/(1-s)), s = C(N_neg,k)/C(N,k) (simplify); EXACT RANGE: "
        f"this matches η² from eq. 15 for all N<={n_max}, k<=N, N_neg<=N ({len(cases)} cases); at N = 32 the "
        f"exact argmax over N_pos is {n32} (k -> N_pos) and η = 0 exactly iff N_pos = 0 or N_pos > N-k. LIMIT "
        "(sympy.limit, N_neg = qN, k = 1..8): s -> q^k, C(N_neg-1,k-1)/C(N-1,k-1) -> q^(k-1) (for general k, "
        "s = ∏_{i<k}(qN-i)/(N-i), each factor -> q), so η/N -> 2ρ·sqrt(q^k/(1-q^k)). ARGMAX (general symbolic "
        "k): d/dρ log(η/N)·2ρq(1-q^k) = 2q(1-q^k) - kρ, so the argmax solves 2q(1-q^k) = k(1-q) ⇔ "
        "2(q+q²+...+q^k) = k (expand, k=1..16). The left side rises strictly from 0 to 2k on (0,1) and "
        "η/N -> 0 at both ends, so the unique root is the maximum. Exact roots: k=1 q=1/2 (ρ=1/2); k=2 "
        "q=(√5-1)/2 (ρ≈0.382). NUMERIC cross-check vs 200001-point grid argmax: "
        + ", ".join(f"k={k_}: ρ*={v}" for k_, v in root_info) + "."
    )
    latex = (
        r"\paragraph{Large-$N$ limit of $\eta$ for Pass@$k$ training.}" "\n"
        r"Because the advantages sum to zero and $\hat A_{\mathrm{neg}}\le 0$, "
        r"$\eta = 2N_{\mathrm{pos}}\sqrt{s/(1-s)}$ with $s=\binom{N_{\mathrm{neg}}}{k}/\binom{N}{k}\to q^k$, so "
        r"with $q=1-\rho$" "\n"
        r"\begin{equation}" "\n"
        r"\frac{\eta}{N} \to " + sp.latex(large_n_eta(rho, kk)) + r",\qquad "
        r"\frac{d}{d\rho}\log\frac{\eta}{N}=0 \iff 2q(1-q^k)=k(1-q) \iff 2\sum_{j=1}^{k} q^j = k." "\n"
        r"\end{equation}" "\n"
        r"The root is $\rho^*=1/2$ for $k=1$ and $\rho^*=(3-\sqrt5)/2$ for $k=2$; numerically "
        + ", ".join(f"$k={k_}$: $\\rho^*={v}$" for k_, v in root_info)
        + "." "\n"
    )
    return _result("large_n_eta",
                   "Pass@k training: η = 2N_pos·sqrt(s/(1-s)) exactly (s = C(N_neg,k)/C(N,k)); η/N -> 2ρ·sqrt(q^k/(1-q^k)) "
                   "as N -> oo (q = 1-ρ); its argmax over ρ solves 2q(1-q^k) = k(1-q), i.e. 2(q+...+q^k) = k.",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 4. Binary majority voting
# --------------------------------------------------------------------------------------------


def majority_prob(K: int, p):
    """P_K = Σ_{j > K/2} C(K, j) p^j q^(K-j): accuracy of a majority of K (odd) iid binary votes (Condorcet)."""
    if K < 1 or K % 2 == 0:
        raise ValueError(f"K: must be a positive odd integer, got {K}")
    q = 1 - p
    return sum(sp.binomial(K, j) * p ** j * q ** (K - j) for j in range((K + 1) // 2, K + 1))


def majority_step(K, p):
    """Closed form P_{K+2} - P_K = C(K, (K-1)/2)·(pq)^((K+1)/2)·(2p - 1) (binary majority, K odd)."""
    return sp.binomial(K, (K - 1) / sp.Integer(2)) * (p * (1 - p)) ** ((K + 1) / sp.Integer(2)) * (2 * p - 1)


def derive_majority_step(quick: bool = False, k_max: int | None = None) -> SymbolicResult:
    """Binary majority vote (Condorcet jury theorem; Chen et al. 2024 use it for "More LLM Calls").

    Proves by ``expand`` in symbolic p for K = 1, 3, ..., 21 that
    P_{K+2} - P_K = C(K,(K-1)/2)(pq)^((K+1)/2)(2p-1) (combinatorial argument for general K in
    ``detail``), proves the pieces of that argument for general symbolic K, and proves
    P_K = I_p((K+1)/2, (K+1)/2) for K = 1..15 by integrating sympy's regularized incomplete beta.
    """
    k_max = k_max or (13 if quick else 21)
    p = sp.symbols("p", positive=True)
    q = 1 - p
    steps = [check_identity(majority_prob(K + 2, p) - majority_prob(K, p), majority_step(K, p), method="expand")
             for K in range(1, k_max + 1, 2)]
    checks = [(f"step K=1..{k_max}", Check(all(c.ok for c in steps),
                                           "; ".join(c.info for c in steps if not c.ok) or f"{len(steps)} K"))]
    # general-K pieces of the combinatorial argument: with m = (K+1)/2 (K = 2m - 1),
    # gain = C(K, m-1) p^(m-1) q^m p^2, loss = C(K, m) p^m q^(m-1) q^2, and C(K, m) = C(K, m-1)
    m = sp.symbols("m", positive=True, integer=True)
    Kg = 2 * m - 1
    gain = sp.binomial(Kg, m - 1) * p ** (m - 1) * q ** m * p ** 2
    loss = sp.binomial(Kg, m) * p ** m * q ** (m - 1) * q ** 2
    checks.append(("symmetry C(K,m)=C(K,m-1)", check_identity(sp.binomial(Kg, m), sp.binomial(Kg, m - 1),
                                                              method="combsimp")))
    checks.append(("gain - loss (general K)", check_identity(
        sp.powsimp(sp.expand_power_base(gain - loss.subs(sp.binomial(Kg, m), sp.binomial(Kg, m - 1)),
                                        force=True)),
        sp.binomial(Kg, m - 1) * p ** (m + 1) * q ** (m + 1) * (2 * p - 1) / (p * q), method="simplify")))
    # incomplete beta
    ib = []
    for K in range(1, 16, 2):
        a = sp.Integer((K + 1) // 2)
        ip = sp.betainc_regularized(a, a, 0, p).rewrite(sp.Integral).doit()
        ib.append(check_identity(ip, majority_prob(K, p), method="expand"))
    checks.append(("I_p K=1..15", Check(all(c.ok for c in ib), f"{len(ib)} K")))
    # sign theorem: the factor C(K,(K-1)/2)(pq)^((K+1)/2) is positive on 0<p<1
    pp = sp.symbols("pp", positive=True)
    checks.append(("sign", Check(bool(sp.ask(sp.Q.positive(pp * (1 - pp)), sp.Q.positive(pp) & sp.Q.positive(1 - pp))),
                                 "pq > 0 on (0,1) so sign(step) = sign(2p - 1)")))
    detail = (
        f"SYMBOLIC for each odd K = 1..{k_max} (expand in p, exact polynomial identity) that "
        "P_{K+2}-P_K = C(K,(K-1)/2)(pq)^((K+1)/2)(2p-1); P_K = I_p((K+1)/2,(K+1)/2) for K = 1..15 (sympy "
        "betainc_regularized rewritten as ∫_0^p t^(a-1)(1-t)^(a-1)dt / B(a,a), integrated, expanded). GENERAL K "
        "(combinatorial argument): view K+2 votes as the first K plus two more; the majority can change only "
        "when the first K are decided by a margin of one. With m = (K+1)/2: the first K have m-1 correct and "
        "both new votes are correct (gain, prob C(K,m-1)p^(m-1)q^m·p²) or m correct and both new wrong (loss, "
        "prob C(K,m)p^m q^(m-1)·q²); C(K,m) = C(K,m-1) (combsimp, symbolic m) and gain - loss = "
        "C(K,m-1)(pq)^m(p-q) (simplify, symbolic m), with p - q = 2p - 1. Since C(...)(pq)^m > 0 on (0,1), "
        "sign(P_{K+2}-P_K) = sign(2p-1): more votes help iff p > 1/2 (and P_K is then increasing in K)."
    )
    latex = (
        r"\paragraph{Binary majority vote.}" "\n"
        r"For $K$ odd, $P_K(p)=\sum_{j>K/2}\binom{K}{j}p^j q^{K-j} = I_p\!\left(\tfrac{K+1}{2},\tfrac{K+1}{2}\right)$ and" "\n"
        r"\begin{equation}" "\n"
        r"P_{K+2}-P_K = \binom{K}{\frac{K-1}{2}}(pq)^{\frac{K+1}{2}}(2p-1)," "\n"
        r"\end{equation}" "\n"
        r"so more votes help iff $p>1/2$ (verified by exact polynomial expansion for $K\le " + str(k_max)
        + r"$ and by a margin-of-one argument for general $K$)." "\n"
    )
    return _result("majority_step",
                   "Binary majority, K odd: P_{K+2} - P_K = C(K,(K-1)/2)·(pq)^((K+1)/2)·(2p-1) (more votes help iff "
                   "p > 1/2), and P_K = I_p((K+1)/2, (K+1)/2).",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 5. Easy/hard mixture (Chen et al. 2024, "Are More LLM Calls All You Need?")
# --------------------------------------------------------------------------------------------


def mixture_m_star(p1, p2, alpha):
    """m* = ln[α(2p1-1)/((1-α)(1-2p2))] / ln[p2 q2/(p1 q1)] (Chen et al. 2024, easy/hard mixture, K = 2m-1)."""
    q1, q2 = 1 - p1, 1 - p2
    return sp.log(alpha * (2 * p1 - 1) / ((1 - alpha) * (1 - 2 * p2))) / sp.log(p2 * q2 / (p1 * q1))


def derive_mixture_peak(quick: bool = False, k_max: int | None = None) -> SymbolicResult:
    """Chen et al. 2024 ("Are More LLM Calls All You Need?"): F(K) = α P_K(p1) + (1-α) P_K(p2).

    Derives from the majority step (item 4) that, with K = 2m - 1, the step F(K+2) - F(K) has the
    sign of α(2p1-1)(p1q1)^m - (1-α)(1-2p2)(p2q2)^m and vanishes at m* (``sympy.solve``), proves
    p1q1 - p2q2 = (p1-p2)(1-p1-p2), checks the step formula by ``expand`` for K <= 21, and checks the
    example (0.85, 0.4, 0.8): m* ≈ 4.17 and the peak of the exact rational F over odd K at K = 9.
    """
    k_max = k_max or (13 if quick else 21)
    p1, p2, alpha, m = sp.symbols("p1 p2 alpha m", positive=True)
    q1, q2 = 1 - p1, 1 - p2
    checks = []
    F = lambda K, a, x, y: a * majority_prob(K, x) + (1 - a) * majority_prob(K, y)  # noqa: E731
    step_sym = [check_identity(F(K + 2, alpha, p1, p2) - F(K, alpha, p1, p2),
                               alpha * majority_step(K, p1) + (1 - alpha) * majority_step(K, p2), method="expand")
                for K in range(1, k_max + 1, 2)]
    checks.append((f"F step K<={k_max}", Check(all(c.ok for c in step_sym), f"{len(step_sym)} K")))
    # step / C(K, m-1) = alpha (p1q1)^m (2p1-1) - (1-alpha)(p2q2)^m (1-2p2); solve for the sign change
    A, B, x, y = sp.symbols("A B x y", positive=True)   # A = α(2p1-1), B = (1-α)(1-2p2), x = p1q1, y = p2q2
    sol = sp.solve(sp.Eq(A * x ** m, B * y ** m), m)
    target = sp.log(A / B) / sp.log(y / x)
    checks.append(("solve m*", Check(len(sol) == 1 and check_identity(sol[0], target, method="logcombine").ok,
                                     f"solve -> {sol}")))
    checks.append(("m* root", check_identity((y / x) ** target, A / B, method=("simplify", "logcombine"))))
    checks.append(("m* formula", check_identity(
        target.subs({A: alpha * (2 * p1 - 1), B: (1 - alpha) * (1 - 2 * p2), x: p1 * q1, y: p2 * q2}),
        mixture_m_star(p1, p2, alpha), method="simplify")))
    checks.append(("p1q1 - p2q2", check_identity(p1 * q1 - p2 * q2, (p1 - p2) * (1 - p1 - p2), method="expand")))
    # example
    e1, e2, ea = sp.Rational(17, 20), sp.Rational(2, 5), sp.Rational(4, 5)
    ms = mixture_m_star(e1, e2, ea)
    ms_f = float(sp.N(ms, 30))
    checks.append(("m* ≈ 4.17", Check(round(ms_f, 2) == 4.17, f"m* = {ms_f:.6f} = ln 14/ln(32/17)")))
    checks.append(("m* = ln14/ln(32/17)", check_identity(ms, sp.log(14) / sp.log(sp.Rational(32, 17)),
                                                         method="logcombine")))
    pe = sp.symbols("pe", positive=True)
    polys = {K: sp.Poly(majority_prob(K, pe), pe) for K in range(1, 42, 2)}
    Fv = {K: ea * polys[K].eval(e1) + (1 - ea) * polys[K].eval(e2) for K in polys}
    peak = max(Fv, key=lambda K: Fv[K])
    checks.append(("peak K = 9", Check(peak == 9 and 2 * math.ceil(ms_f) - 1 == 9,
                                       f"argmax over odd K<=41 of exact F is {peak}; 2⌈m*⌉-1 = {2 * math.ceil(ms_f) - 1}")))
    # exact sign of every step agrees with sign(m* - m)
    sign_ok = all(
        bool((Fv[2 * mm + 1] - Fv[2 * mm - 1]) > 0) == (mm < ms_f) and Fv[2 * mm + 1] != Fv[2 * mm - 1]
        for mm in range(1, 20))
    checks.append(("step signs", Check(sign_ok, "F(2m+1) - F(2m-1) > 0 iff m < m* for m = 1..19, exact")))
    detail = (
        "SYMBOLIC: F(K+2)-F(K) = α·Δ_K(p1) + (1-α)·Δ_K(p2) with item 4's Δ_K (expand, symbolic α,p1,p2, "
        f"K<={k_max}) = C(K,m-1)[α(2p1-1)(p1q1)^m - (1-α)(1-2p2)(p2q2)^m], K = 2m-1; sympy.solve of "
        "A·x^m = B·y^m gives m* = ln(A/B)/ln(y/x) (verified as a root), i.e. m* = ln[α(2p1-1)/((1-α)(1-2p2))] / "
        "ln[p2q2/(p1q1)]; p1q1-p2q2 = (p1-p2)(1-p1-p2) (expand). For p1 > 1/2 > p2 the bracket is "
        "(p1q1)^m[A - B(y/x)^m]: if p1+p2 > 1 then y > x and the steps go + then - (rise then fall, peak at "
        "K = 2⌈m*⌉-1); if p1+p2 < 1 they go - then + (fall then rise). EXAMPLE (exact rationals 17/20, 2/5, "
        f"4/5): m* = ln 14/ln(32/17) = {ms_f:.4f}; exact F over odd K <= 41 peaks at K = {peak}; the exact sign "
        "of every step m = 1..19 matches sign(m* - m)."
    )
    latex = (
        r"\paragraph{Easy/hard mixture (Chen et al.\ 2024).}" "\n"
        r"For $F(K)=\alpha P_K(p_1)+(1-\alpha)P_K(p_2)$ with $p_1>\tfrac12>p_2$ and $K=2m-1$, "
        r"$F(K+2)-F(K)=\binom{K}{m-1}\bigl[\alpha(2p_1-1)(p_1q_1)^m-(1-\alpha)(1-2p_2)(p_2q_2)^m\bigr]$ changes sign at" "\n"
        r"\begin{equation}" "\n"
        r"m^* = \frac{\ln\frac{\alpha(2p_1-1)}{(1-\alpha)(1-2p_2)}}{\ln\frac{p_2q_2}{p_1q_1}},\qquad "
        r"p_1q_1-p_2q_2=(p_1-p_2)(1-p_1-p_2)." "\n"
        r"\end{equation}" "\n"
        rf"For $(p_1,p_2,\alpha)=(0.85,0.4,0.8)$, $m^*=\ln 14/\ln(32/17)\approx {ms_f:.2f}$ and $F$ peaks at $K={peak}$ "
        r"(exact rational evaluation)." "\n"
    )
    return _result("mixture_peak",
                   "Easy/hard mixture (Chen et al. 2024): F(K+2) - F(K) changes sign at m* = ln[α(2p1-1)/((1-α)(1-2p2))] / "
                   "ln[p2q2/(p1q1)] (K = 2m-1); (0.85, 0.4, 0.8) gives m* ≈ 4.17 and peak K = 9.",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 6. Batch exploration bonus (Song, Kempe, Munos 2025)
# --------------------------------------------------------------------------------------------


def derive_batch_bonus(quick: bool = False) -> SymbolicResult:
    """Song, Kempe, Munos 2025 (arXiv 2509.06941), batch exploration bonus b_i = -(1/n) Σ_{j≠i} 1{a_i = a_j}.

    Computes E[b_i] exactly by enumerating all M^n answer tuples with symbolic outcome probabilities
    p_1..p_M and proves E[b_i] = -(n-1)/n·(Σ_o p_o²)(Σ_o p_o)^(n-2), hence -(n-1)/n·Σ_o p_o² on the simplex,
    for every i, M = 2..4 and n = 2..4 (n <= 3 if ``quick``).
    """
    n_top = 3 if quick else 4
    checks = []
    covered = []
    for M in (2, 3, 4):
        ps = sp.symbols(f"p1:{M + 1}", positive=True)
        S, S2 = sum(ps), sum(x ** 2 for x in ps)
        for n in range(2, n_top + 1):
            exp_b = [sp.Integer(0)] * n
            for tup in itertools.product(range(M), repeat=n):
                w = sp.Mul(*[ps[t] for t in tup])
                for i in range(n):
                    exp_b[i] += w * sp.Rational(-sum(tup[i] == tup[j] for j in range(n) if j != i), n)
            for i in range(n):
                checks.append((f"M={M} n={n} i={i} homogeneous", check_identity(
                    exp_b[i], -sp.Rational(n - 1, n) * S2 * S ** (n - 2), method="expand")))
                on_simplex = exp_b[i].subs(ps[-1], 1 - sum(ps[:-1]))
                checks.append((f"M={M} n={n} i={i} simplex", check_identity(
                    on_simplex, (-sp.Rational(n - 1, n) * S2).subs(ps[-1], 1 - sum(ps[:-1])), method="expand")))
            covered.append(f"(M={M},n={n})")
    detail = (
        "SYMBOLIC, exact expectation by enumeration: for each number of outcomes M in {2,3,4} and batch size "
        f"n in 2..{n_top}, the sum over all M^n answer tuples of ∏p_(a_j)·b_i, with symbolic p_1..p_M, equals "
        "-(n-1)/n·(Σp_o²)(Σp_o)^(n-2) as a polynomial identity (expand) for every position i, and "
        "-(n-1)/n·Σp_o² after substituting p_M = 1 - Σ_{o<M} p_o. General argument: by linearity "
        "E[b_i] = -(1/n)Σ_{j≠i} P(a_i = a_j) = -(n-1)/n·Σ_o p_o². Cases: " + " ".join(covered) + "."
    )
    latex = (
        r"\paragraph{Batch exploration bonus (Song, Kempe, Munos 2025).}" "\n"
        r"For $n$ i.i.d.\ answers $a_j\sim p$ and $b_i=-\frac1n\sum_{j\ne i}\mathbf 1\{a_i=a_j\}$," "\n"
        r"\begin{equation}" "\n"
        r"\mathbb E[b_i] = -\frac{n-1}{n}\sum_o p_o^2," "\n"
        r"\end{equation}" "\n"
        r"a collision penalty (exact symbolic enumeration for up to 4 outcomes and $n\le " + str(n_top) + r"$)." "\n"
    )
    return _result("batch_bonus",
                   "Batch bonus (Song, Kempe, Munos 2025): b_i = -(1/n)Σ_{j≠i} 1{a_i = a_j} has E[b_i] = -(n-1)/n·Σ_o p_o².",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 7. Beta-binomial pass@k and its tail
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _beta_integral():
    """∫_0^1 t^(x-1)(1-t)^(y-1) dt computed by sympy for positive symbols x, y (Euler's Beta integral)."""
    x, y, t = sp.symbols("x y t", positive=True)
    val = sp.hyperexpand(sp.integrate(t ** (x - 1) * (1 - t) ** (y - 1), (t, 0, 1), meijerg=True))
    return x, y, val


def derive_beta_binomial_passk(quick: bool = False) -> SymbolicResult:
    """pass@k when the per-problem accuracy p ~ Beta(a, b) (Schaeffer et al. 2025, Thm 3.1; Brown et al. 2024).

    Proves with ``sympy.integrate`` (general positive a, b, k) that ∫_0^1 (1-(1-p)^k) Beta(p; a, b) dp
    = 1 - B(a, b+k)/B(a, b), checks it exactly for integer a, b <= 4 and k <= 8 by integrating the
    polynomial, and proves with ``sympy.limit`` that k^a·Γ(b+k)/Γ(a+b+k) -> 1, so
    1 - pass_D@k ~ Γ(a+b)/Γ(b)·k^(-a) (and hence -log pass_D@k ~ the same).
    """
    a, b, k, p = sp.symbols("a b k p", positive=True)
    x, y, beta_int = _beta_integral()
    checks = [("Beta integral", check_identity(beta_int, sp.gamma(x) * sp.gamma(y) / sp.gamma(x + y),
                                               method="gammasimp"))]
    Bab = beta_int.subs({x: a, y: b})
    Babk = beta_int.subs({x: a, y: b + k})       # ∫ p^(a-1)(1-p)^(b+k-1) dp
    pass_k = (Bab - Babk) / Bab                   # linearity of the integral
    checks.append(("pass_D@k", check_identity(pass_k, 1 - sp.beta(a, b + k) / sp.beta(a, b),
                                              method=("gammasimp", "expand_func"))))
    tail = sp.beta(a, b + k) / sp.beta(a, b)
    checks.append(("tail prefactor", check_identity(
        sp.expand_func(tail), sp.gamma(a + b) / sp.gamma(b) * sp.gamma(b + k) / sp.gamma(a + b + k), method="gammasimp")))
    checks.append(("Gamma ratio limit", check_limit(k ** a * sp.gamma(b + k) / sp.gamma(a + b + k), k, 1)))
    checks.append(("-log(1-x)/x -> 1", check_limit(-sp.log(1 - x) / x, x, 1, point=0)))
    top = 3 if quick else 4
    cases = [(aa, bb, kk) for aa in range(1, top + 1) for bb in range(1, top + 1) for kk in range(1, 9)]

    def lhs(aa, bb, kk):
        dens = p ** (aa - 1) * (1 - p) ** (bb - 1) * sp.gamma(aa + bb) / (sp.gamma(aa) * sp.gamma(bb))
        return sp.integrate(sp.expand((1 - (1 - p) ** kk) * dens), (p, 0, 1))

    checks.append(("integer a,b,k exact", check_exact_cases(
        cases, lhs, lambda aa, bb, kk: sp.Integer(1) - sp.gamma(aa) * sp.gamma(bb + kk) / sp.gamma(aa + bb + kk)
        * sp.gamma(aa + bb) / (sp.gamma(aa) * sp.gamma(bb)))))
    detail = (
        "SYMBOLIC (general positive a, b, k): sympy integrates Euler's Beta integral ∫t^(x-1)(1-t)^(y-1)dt = "
        "Γ(x)Γ(y)/Γ(x+y) (gammasimp); by linearity ∫(1-(1-p)^k)Beta(p;a,b)dp = (B(a,b) - B(a,b+k))/B(a,b) = "
        "1 - B(a,b+k)/B(a,b); B(a,b+k)/B(a,b) = Γ(a+b)/Γ(b)·Γ(b+k)/Γ(a+b+k) (gammasimp) and sympy.limit proves "
        "k^a·Γ(b+k)/Γ(a+b+k) -> 1 as k -> oo for symbolic a, b > 0, so 1 - pass_D@k ~ Γ(a+b)/Γ(b)·k^(-a); since "
        "-log(1-x)/x -> 1 (limit), -log pass_D@k has the same asymptotic: the exponent is the first shape "
        f"parameter a. EXACT RANGE: direct polynomial integration for integer a, b <= {top}, k <= 8 "
        f"({len(cases)} cases, Rational)."
    )
    latex = (
        r"\paragraph{Beta-binomial pass@$k$.}" "\n"
        r"If $p\sim\mathrm{Beta}(a,b)$," "\n"
        r"\begin{equation}" "\n"
        r"\begin{gathered}\int_0^1\bigl(1-(1-p)^k\bigr)\frac{p^{a-1}(1-p)^{b-1}}{B(a,b)}\,dp = 1-\frac{B(a,b+k)}{B(a,b)},\\ "
        r"1-\mathrm{pass}_D@k = \frac{\Gamma(a+b)}{\Gamma(b)}\frac{\Gamma(b+k)}{\Gamma(a+b+k)} \sim "
        r"\frac{\Gamma(a+b)}{\Gamma(b)}\,k^{-a}.\end{gathered}" "\n"
        r"\end{equation}" "\n"
        r"Both proved symbolically for general $a,b,k>0$ (sympy integration and limit)." "\n"
    )
    return _result("beta_binomial_passk",
                   "p ~ Beta(a,b): pass_D@k = 1 - B(a,b+k)/B(a,b), and 1 - pass_D@k ~ Γ(a+b)/Γ(b)·k^(-a) as k -> oo.",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 8. Softmax entropy dynamics
# --------------------------------------------------------------------------------------------


def derive_softmax_entropy(quick: bool = False) -> SymbolicResult:
    """Entropy of a softmax policy (Cui et al. 2025, "The Entropy Mechanism of RL for Reasoning LMs").

    Proves for n = 2, 3, 4 actions (n <= 3 if ``quick``), with symbolic logits z and update Δz, that
    ∂H/∂z_a = -π_a(log π_a + H) and d/dt H(z + tΔz)|_{t=0} = -Cov_{a~π}(log π_a, Δz_a).
    """
    sizes = (2, 3) if quick else (2, 3, 4)
    checks = []
    t = sp.symbols("t", real=True)
    for n in sizes:
        z = sp.symbols(f"z1:{n + 1}", real=True)
        d = sp.symbols(f"d1:{n + 1}", real=True)
        Z = sum(sp.exp(v) for v in z)
        pi = [sp.exp(v) / Z for v in z]
        H = -sum(x * sp.log(x) for x in pi)
        grads = [check_identity(sp.diff(H, z[a]), -pi[a] * (sp.log(pi[a]) + H)) for a in range(n)]
        checks.append((f"n={n} gradient", Check(all(c.ok for c in grads), f"{n} components")))
        Ht = H.subs({z[i]: z[i] + t * d[i] for i in range(n)}, simultaneous=True)
        dH = sp.diff(Ht, t).subs(t, 0)
        lp = [sp.log(x) for x in pi]
        E = lambda f: sum(pi[i] * f[i] for i in range(n))  # noqa: E731
        cov = E([lp[i] * d[i] for i in range(n)]) - E(lp) * E(list(d))
        checks.append((f"n={n} directional", check_identity(dH, -cov)))
    detail = (
        f"SYMBOLIC for n = {', '.join(map(str, sizes))} actions, symbolic real logits z_a and update Δz_a (simplify): "
        "∂H/∂z_a = -π_a(log π_a + H) for every a, and the directional derivative d/dt H(z+tΔz) at t=0 equals "
        "-(E_π[log π·Δz] - E_π[log π]E_π[Δz]) = -Cov_π(log π, Δz); so ΔH = -Cov_π(log π_a, Δz_a) + O(|Δz|²). "
        "For vanilla PG on logits Δz_a = η π_a A_a this is ΔH ≈ -η Cov(log π, π A)."
    )
    latex = (
        r"\paragraph{Softmax entropy dynamics.}" "\n"
        r"For $\pi=\mathrm{softmax}(z)$ and $H=-\sum_a\pi_a\log\pi_a$," "\n"
        r"\begin{equation}" "\n"
        r"\frac{\partial H}{\partial z_a} = -\pi_a(\log\pi_a + H),\qquad "
        r"\Delta H = -\operatorname{Cov}_{a\sim\pi}(\log\pi_a,\Delta z_a) + O(\|\Delta z\|^2)" "\n"
        r"\end{equation}" "\n"
        r"(symbolic for $n\le " + str(max(sizes)) + r"$ actions)." "\n"
    )
    return _result("softmax_entropy",
                   "Softmax π = softmax(z): ∂H/∂z_a = -π_a(log π_a + H), hence ΔH ≈ -Cov_{a~π}(log π_a, Δz_a).",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# 9. Product-form count laws and the Dirichlet-multinomial intraclass correlation
# --------------------------------------------------------------------------------------------


def _compositions(n: int, parts: int):
    """All tuples of ``parts`` non-negative integers summing to ``n``."""
    if parts == 1:
        yield (n,)
        return
    for first in range(n + 1):
        for rest in _compositions(n - first, parts - 1):
            yield (first,) + rest


def derive_product_forms(quick: bool = False) -> SymbolicResult:
    """Product-form vote-count laws (multinomial, multivariate hypergeometric, Dirichlet-multinomial).

    Proves the multinomial law by enumerating sequences (symbolic p), checks the hypergeometric law
    ∏C(K_i, c_i)/C(n, k) of a uniformly random k-subset exactly by enumerating all subsets, derives the
    Dirichlet-multinomial pmf from the Beta integral (2 classes, symbolic a, b, n, c), proves it sums to
    1 for 3 classes (n <= 4), and proves the intraclass correlation of two votes is 1/(1 + Σα)
    (so Σα = (1-ρ)/ρ; Ladha 1992 correlated Condorcet voters).
    """
    checks = []
    # multinomial: sum over sequences with counts c of prod p = n!/prod c! prod p^c
    M = 3
    ps = sp.symbols(f"p1:{M + 1}", positive=True)
    ok = True
    n_top = 4 if quick else 5
    for n in range(1, n_top + 1):
        seqsum: dict[tuple, sp.Expr] = {}
        for tup in itertools.product(range(M), repeat=n):
            c = tuple(tup.count(i) for i in range(M))
            seqsum[c] = seqsum.get(c, 0) + sp.Mul(*[ps[t] for t in tup])
        for c, v in seqsum.items():
            form = sp.factorial(n) / sp.Mul(*[sp.factorial(ci) for ci in c]) * sp.Mul(*[ps[i] ** c[i] for i in range(M)])
            ok &= check_identity(v, form, method="expand").ok
    checks.append(("multinomial", Check(ok, f"3 classes, n<={n_top}")))
    # hypergeometric: uniformly random k-subset of n labelled samples with class counts K_i
    count_vecs = [(2, 2, 1), (4, 3, 2, 1)] if quick else [(2, 2, 1), (4, 3, 2, 1), (5, 3, 3, 1), (6, 2, 2, 2)]
    cases = []
    tallies: dict[tuple, Fraction] = {}
    for Ks in count_vecs:
        labels = [i for i, Ki in enumerate(Ks) for _ in range(Ki)]
        n = len(labels)
        for k in range(0, n + 1):
            cnt: dict[tuple, int] = {}
            for sub in itertools.combinations(range(n), k):
                c = tuple(sum(labels[s] == i for s in sub) for i in range(len(Ks)))
                cnt[c] = cnt.get(c, 0) + 1
            for c in _compositions(k, len(Ks)):
                tallies[(Ks, k, c)] = Fraction(cnt.get(c, 0), math.comb(n, k))
                cases.append((Ks, k, c))
    checks.append(("hypergeometric", check_exact_cases(
        cases, lambda Ks, k, c: tallies[(Ks, k, c)],
        lambda Ks, k, c: sp.Mul(*[sp.binomial(Ks[i], c[i]) for i in range(len(Ks))]) / sp.binomial(sum(Ks), k))))
    # Dirichlet-multinomial, 2 classes: ∫ C(n,c) p^c (1-p)^(n-c) Beta(p; a, b) dp, general symbolic n, c
    a, b, n_, c_ = sp.symbols("a b n c", positive=True)
    x, y, beta_int = _beta_integral()
    mixed = sp.binomial(n_, c_) * beta_int.subs({x: a + c_, y: b + n_ - c_}) / beta_int.subs({x: a, y: b})
    pform = (sp.gamma(n_ + 1) / (sp.gamma(c_ + 1) * sp.gamma(n_ - c_ + 1)) * sp.gamma(a + b) / sp.gamma(a + b + n_)
             * sp.gamma(c_ + a) / sp.gamma(a) * sp.gamma(n_ - c_ + b) / sp.gamma(b))
    checks.append(("Dirichlet-multinomial (Beta mixture)", check_identity(
        mixed, pform, method=("gammasimp", "expand_func"))))
    # 3 classes: pmf n!/prod c_i! * prod rf(alpha_i, c_i) / rf(A, n) sums to 1
    al = sp.symbols("alpha1:4", positive=True)
    A = sum(al)
    ok = True
    for n in range(1, 5 if not quick else 4):
        tot = sum(sp.factorial(n) / sp.Mul(*[sp.factorial(ci) for ci in c])
                  * sp.Mul(*[sp.expand_func(sp.rf(al[i], c[i])) for i in range(3)]) for c in _compositions(n, 3))
        ok &= check_identity(tot, sp.expand_func(sp.rf(A, n)), method="expand").ok
    checks.append(("DM sums to 1 (3 classes)", Check(ok, "Σ_c n!/∏c_i! ∏(α_i)_(c_i) = (Σα)_n")))
    # intraclass correlation of two votes for class 1 from the pmf with n = 2
    pmf2 = lambda c: (sp.factorial(2) / sp.Mul(*[sp.factorial(ci) for ci in c])  # noqa: E731
                      * sp.Mul(*[sp.gamma(c[i] + al[i]) / sp.gamma(al[i]) for i in range(3)])
                      * sp.gamma(A) / sp.gamma(A + 2))
    p_both = pmf2((2, 0, 0))                       # both votes are class 1
    p_one = sp.Rational(1, 2) * (2 * pmf2((2, 0, 0)) + pmf2((1, 1, 0)) + pmf2((1, 0, 1)))  # P(vote 1 = class 1)
    icc = (p_both - p_one ** 2) / (p_one * (1 - p_one))
    checks.append(("marginal α1/A", check_identity(p_one, al[0] / A, method=("gammasimp", "simplify"))))
    checks.append(("ICC = 1/(1+Σα)", check_identity(icc, 1 / (1 + A), method=("gammasimp", "simplify"))))
    rho_ = sp.symbols("rho", positive=True)
    S = sp.symbols("S", positive=True)
    sol = sp.solve(sp.Eq(1 / (1 + S), rho_), S)
    checks.append(("Σα = (1-ρ)/ρ", Check(len(sol) == 1 and check_identity(sol[0], (1 - rho_) / rho_).ok,
                                         f"solve -> {sol}")))
    detail = (
        f"MULTINOMIAL: summing ∏p over all 3^n sequences with counts c gives n!/∏c_i!·∏p_i^c_i (expand, n<={n_top}). "
        "HYPERGEOMETRIC: exact enumeration of every k-subset of n labelled samples with class counts "
        f"{count_vecs} (all k) gives P(c) = ∏C(K_i,c_i)/C(n,k) ({len(cases)} (K,k,c) cases, Fraction). "
        "DIRICHLET-MULTINOMIAL: from Euler's Beta integral (sympy.integrate), C(n,c)B(a+c,b+n-c)/B(a,b) = "
        "n!/(c!(n-c)!)·Γ(A)/Γ(A+n)·∏Γ(c_i+α_i)/Γ(α_i) for symbolic a, b, n, c (gammasimp); with 3 classes the "
        "pmf n!/∏c_i!·∏(α_i)_{c_i}/(A)_n sums to 1 for n<=4 (rising-factorial multinomial theorem, expand). "
        "ICC: from the n=2 pmf, P(vote=1) = α1/A and P(both=1) = α1(α1+1)/(A(A+1)), so corr(1{v1=1},1{v2=1}) "
        "= 1/(1+A) (gammasimp, symbolic α); solving 1/(1+A) = ρ gives A = Σα = (1-ρ)/ρ. All three laws have "
        "P(c) ∝ ∏_i w_i(c_i) with Σc fixed."
    )
    latex = (
        r"\paragraph{Product-form vote counts.}" "\n"
        r"Multinomial, random-$k$-subset (multivariate hypergeometric) and Dirichlet-multinomial counts are all "
        r"of the form $P(c)\propto\prod_i w_i(c_i)$ with $\sum_i c_i$ fixed:" "\n"
        r"\begin{equation}" "\n"
        r"\begin{gathered}\frac{n!}{\prod_i c_i!}\prod_i p_i^{c_i},\qquad \frac{\prod_i\binom{K_i}{c_i}}{\binom{n}{k}},\qquad "
        r"\frac{n!\,\Gamma(A)}{\Gamma(A+n)}\prod_i\frac{\Gamma(c_i+\alpha_i)}{\Gamma(\alpha_i)\,c_i!},\\ "
        r"\operatorname{corr}(\mathbf 1\{v_1=i\},\mathbf 1\{v_2=i\}) = \frac{1}{1+A},\ A=\sum_i\alpha_i.\end{gathered}" "\n"
        r"\end{equation}" "\n"
        r"Hence an intraclass correlation $\rho$ corresponds to $\sum_i\alpha_i=(1-\rho)/\rho$." "\n"
    )
    return _result("product_forms",
                   "Vote counts are product-form: multinomial n!∏p_i^c_i/c_i!, random k-subset ∏C(K_i,c_i)/C(n,k), "
                   "Dirichlet-multinomial ∝ ∏Γ(c_i+α_i)/(Γ(α_i)c_i!); two DM votes have intraclass correlation 1/(1+Σα).",
                   checks, detail, latex)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------

DERIVATIONS: list[Callable[..., SymbolicResult]] = [
    derive_passk_advantages,
    derive_pass1_eta,
    derive_large_n_eta,
    derive_majority_step,
    derive_mixture_peak,
    derive_batch_bonus,
    derive_beta_binomial_passk,
    derive_softmax_entropy,
    derive_product_forms,
]


def run_all(quick: bool = False, *, timings: dict | None = None) -> list[SymbolicResult]:
    """Run every derivation in ``DERIVATIONS`` (reduced parameter ranges if ``quick``).

    An exception inside a derivation becomes a failed result rather than aborting the run.  If a dict
    is passed as ``timings`` it receives the seconds each derivation took, by name.
    """
    out = []
    for fn in DERIVATIONS:
        t0 = time.perf_counter()
        try:
            res = fn(quick=quick)
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            name = fn.__name__.removeprefix("derive_")
            res = SymbolicResult(name, (fn.__doc__ or name).strip().splitlines()[0], False,
                                 f"error: {type(exc).__name__}: {exc}", "")
        if timings is not None:
            timings[res.name] = time.perf_counter() - t0
        out.append(res)
    return out


def results_to_latex(results: Sequence[SymbolicResult]) -> str:
    """Concatenate the LaTeX blocks of ``results`` (one per derivation, with a ``% name: PASS`` header)."""
    parts = ["% Generated by `python -m theory.symbolic --latex`; every identity below was checked by sympy.\n"]
    for r in results:
        parts.append(f"% {r.name}: {'PASS' if r.passed else 'FAIL'}\n{r.latex}")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: print every derivation (name, statement, PASS/FAIL, what was checked); ``--latex [FILE]`` emits LaTeX.

    Returns 0 if all derivations pass, 1 otherwise.
    """
    ap = argparse.ArgumentParser(prog="python -m theory.symbolic", description=__doc__.splitlines()[0])
    ap.add_argument("--latex", nargs="?", const="-", metavar="FILE",
                    help="emit LaTeX (one block per result) to stdout, or to FILE if given")
    ap.add_argument("--quick", action="store_true", help="reduced parameter ranges (for tests)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    results = run_all(quick=args.quick, timings=timings)
    total = time.perf_counter() - t0
    n_pass = sum(r.passed for r in results)
    if args.latex == "-":
        print(results_to_latex(results))
        print(f"% {n_pass}/{len(results)} derivations passed", file=sys.stderr)
    else:
        for r in results:
            print(f"[{'PASS' if r.passed else 'FAIL'}] {r.name}  ({timings.get(r.name, 0):.1f} s)")
            print(f"    statement: {r.statement}")
            print(f"    checked:   {r.detail}")
            print()
        print(f"{n_pass}/{len(results)} derivations passed in {total:.1f} s")
        if args.latex:
            with open(args.latex, "w", encoding="utf-8") as fh:
                fh.write(results_to_latex(results))
            print(f"LaTeX written to {args.latex}")
    return 0 if n_pass == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
