"""Benchmark ``bench theory``: exact plurality accuracy vs a plain Monte Carlo reference.

Measures, in one process:
- wall time of the exact plurality accuracy (theory/voting.py) for 10,000 problems × 16 answer classes
  × n = 64 votes (first call, which includes XLA compilation, and warm calls; both tie rules);
- the same quantity by Monte Carlo with 10^5 vote draws per problem (plain NumPy: multinomial counts,
  plurality with the same tie rule), timed on a 100-problem subset and reported per problem;
- their per-problem time ratio and the largest difference on the subset, in Monte Carlo standard
  errors;
- a few other exact kernels at scale (maj@k, pass@k at n = 10^6, n = 10^4 votes over 64 classes).
Writes ``results/bench-theory/summary.json`` (claims) and ``timings.json``.
"""

from __future__ import annotations

import json
import time

import numpy as np

from common.atomic import atomic_write_text
from common.results import RESULTS_DIR, Claim, write_summary
from theory import brute_force, passk, voting

NAME = "bench-theory"


def monte_carlo_plurality(rng: np.random.Generator, p: np.ndarray, n: int, draws: int, tie: str) -> tuple[float, float]:
    """Plain Monte Carlo reference: sample ``draws`` vote-count vectors, average the vote credit."""
    counts = rng.multinomial(n, p, size=draws)
    top = counts.max(axis=1)
    t = (counts == top[:, None]).sum(axis=1)
    win = counts[:, 0] == top
    credit = np.where(win, 1.0 / t if tie == "random" else (t == 1).astype(float), 0.0)
    return float(credit.mean()), float(credit.std(ddof=1) / np.sqrt(draws))


def enumeration_errors(rng: np.random.Generator, cases: int) -> dict:
    """Largest |exact − enumeration| of plurality_accuracy and maj_at_k, per tie rule and engine."""
    errs: dict = {}
    for _ in range(cases):
        m, n = int(rng.integers(2, 5)), int(rng.integers(1, 7))
        p = rng.dirichlet(np.ones(m) * rng.choice([0.3, 1.0, 3.0]))
        correct = int(rng.integers(m))
        counts = rng.integers(0, 4, size=m)
        counts[0] += counts.sum() == 0
        k = int(rng.integers(1, counts.sum() + 1))
        for tie in voting.TIE_RULES:
            ref_p = brute_force.plurality_by_enumeration(p, n, tie, correct)
            ref_m = brute_force.maj_at_k_by_enumeration(list(counts), k, tie, correct)
            for method in ("direct", "fourier"):
                e_p = abs(float(voting.plurality_accuracy(p, n, tie=tie, correct=correct, method=method)) - ref_p)
                e_m = abs(float(voting.maj_at_k(counts, k, tie=tie, correct=correct, method=method)) - ref_m)
                errs[f"plurality_{tie}_{method}"] = max(errs.get(f"plurality_{tie}_{method}", 0.0), e_p)
                errs[f"maj_at_k_{tie}_{method}"] = max(errs.get(f"maj_at_k_{tie}_{method}", 0.0), e_m)
    return errs


def _timed(fn, repeats: int = 1):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    B, m, n = 10_000, 16, 64
    probs = rng.dirichlet(np.ones(m), size=B)
    mc_problems = 20 if quick else 100
    mc_draws = 100_000
    timings: dict = {"setting": {"problems": B, "classes": m, "votes": n, "mc_problems": mc_problems, "mc_draws": mc_draws, "seed": seed}}
    exact = {}
    for tie in ("random", "strict"):
        first, _ = _timed(lambda: voting.plurality_accuracy(probs, n, tie=tie))
        warm, exact[tie] = _timed(lambda: voting.plurality_accuracy(probs, n, tie=tie), repeats=1 if quick else 3)
        timings[f"exact_{tie}"] = {"first_call_s": first, "warm_s": warm, "per_problem_s": warm / B}

    tie = "random"
    sub = probs[:mc_problems]
    t0 = time.perf_counter()
    mc = np.array([monte_carlo_plurality(rng, p, n, mc_draws, tie) for p in sub])
    mc_time = time.perf_counter() - t0
    mc_per_problem = mc_time / mc_problems
    diff = np.abs(exact[tie][:mc_problems] - mc[:, 0])
    # the vote credit lies in [0, 1], so its variance is at most mu (1 - mu) with mu the exact mean;
    # this bounds the standard error even where every draw gave the same credit
    mu = exact[tie][:mc_problems]
    se = np.sqrt(np.maximum(mc[:, 1] ** 2, mu * (1 - mu) / mc_draws) + 1.0 / mc_draws**2)
    z = diff / se
    timings["monte_carlo"] = {"total_s": mc_time, "per_problem_s": mc_per_problem}
    ratio = mc_per_problem / timings["exact_random"]["per_problem_s"]
    timings["ratio_mc_over_exact_per_problem"] = ratio
    timings["max_abs_diff_subset"] = float(diff.max())
    timings["max_diff_in_mc_standard_errors"] = float(z.max())

    # other exact kernels at scale
    counts = rng.multinomial(64, probs[0], size=B)
    t_maj, _ = _timed(lambda: voting.maj_at_k(counts, 32))
    nn = np.full(100_000, 1_000_000)
    cc = rng.integers(0, 50, size=100_000)
    t_pass, _ = _timed(lambda: passk.pass_at_k(nn, cc, 1000))
    p64 = rng.dirichlet(np.ones(64))
    p64[0] = p64.max() * 1.02
    p64 /= p64.sum()
    t_big, big = _timed(lambda: voting.plurality_accuracy(p64, 10_000))
    timings["maj_at_k_10k_problems_n64_k32_s"] = t_maj
    timings["pass_at_k_1e5_problems_n1e6_s"] = t_pass
    timings["plurality_n1e4_64_classes_one_problem_s"] = t_big
    timings["plurality_n1e4_64_classes_value"] = float(big)

    n_cases = 30 if quick else 150
    errs = enumeration_errors(np.random.default_rng(seed + 1), n_cases)
    timings["enumeration_max_abs_error"] = {"cases": n_cases, **errs}
    worst = max(errs.values())

    warm = timings["exact_random"]["warm_s"]
    claims = [
        Claim(f"plurality_accuracy and maj_at_k agree with enumeration to 1e-12 ({n_cases} random small cases, both tie rules, both engines)",
              worst < 1e-12, worst, 1e-12),
        Claim("exact plurality accuracy, 10,000 problems x 16 classes x n=64 (random ties, warm), runs in under 1 s", warm < 1.0, warm, 1.0),
        Claim("same with strict ties, warm, under 1 s", timings["exact_strict"]["warm_s"] < 1.0, timings["exact_strict"]["warm_s"], 1.0),
        Claim("exact is faster per problem than Monte Carlo with 1e5 draws (ratio MC/exact > 1)", ratio > 1.0, ratio, 1.0),
        Claim("exact and Monte Carlo agree on the subset: max |diff| within 5 MC standard errors", z.max() < 5.0, float(z.max()), 5.0),
        Claim("n = 10^4 votes over 64 classes gives a finite probability in [0, 1]", bool(np.isfinite(big) and 0 <= big <= 1), float(big), None),
    ]
    out_dir = (results_dir or RESULTS_DIR) / NAME
    atomic_write_text(out_dir / "timings.json", json.dumps(timings, indent=2) + "\n")
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, timings=timings)
    print(f"exact plurality accuracy {B} x {m} x n={n}: random ties {warm:.3f} s warm "
          f"(first call {timings['exact_random']['first_call_s']:.2f} s incl. compilation), strict {timings['exact_strict']['warm_s']:.3f} s warm")
    print(f"Monte Carlo (1e5 draws): {mc_per_problem * 1e3:.1f} ms/problem on {mc_problems} problems; "
          f"exact {timings['exact_random']['per_problem_s'] * 1e6:.1f} us/problem; ratio {ratio:.0f}x")
    print(f"largest |exact - MC| on the subset: {diff.max():.2e} ({z.max():.2f} MC standard errors)")
    print(f"max |exact - enumeration| over {n_cases} random small cases x 2 tie rules x 2 engines: {worst:.1e}")
    print(f"maj@32 of 10k problems (64 samples): {t_maj:.3f} s; pass@k at n=1e6 for 1e5 problems: {t_pass:.3f} s; "
          f"n=1e4 votes x 64 classes, one problem: {t_big:.2f} s")
    return {"claims": [c.as_dict() for c in claims], "timings": timings}
