"""Benchmark ``real``: sample-log analysis at scale, and the exact estimators against a plain reference.

Full mode: a synthetic log of 200 checkpoints × 500 problems × 64 samples (6.4 M sample records, ~12
distinct answers per cell, 2% unparsed) written as Parquet, then timed: ``real.logs.importers.load_counts``
(import + validation + grouping) and ``real.logs.analysis.analyze`` (pass@k and exact maj@k curves with
1,000 paired bootstrap resamples, attribution, negative-SC diagnosis, coverage). Target (issue 4): under
a minute together on this 2-core machine. Quick mode: 20 checkpoints (640 k records).

Beside it, in the same process, the exact maj@k estimator is compared with a plain Monte Carlo
reference (1,000 random k-subsets per problem) on 2,000 problems: time and agreement (per-problem z with
a variance floor of one event in 1,000 draws).

Synthetic data: per cell a success probability p ~ Beta(2, 2); a sample is correct with probability p,
else a wrong answer 1 + Geometric(0.4) (so wrong answers concentrate on a few values); 2% of samples are
unparsed (null). Generator ``default_rng(seed)``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from common.results import Claim, print_claims, write_summary

NAME = "bench-real"
TARGET_S = 60.0


def synthetic_parquet(path: Path, n_checkpoints: int, n_problems: int, n_samples: int, seed: int = 0) -> int:
    """Write the synthetic sample log (module docstring); returns the number of records."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    C, P, S = n_checkpoints, n_problems, n_samples
    n = C * P * S
    ck = np.repeat(np.arange(C) * 10, P * S)
    pid = np.tile(np.repeat(np.arange(P), S), C)
    p = rng.beta(2, 2, (C, P))
    correct = rng.random(n) < p[ck // 10, pid]
    wrong = rng.geometric(0.4, n)
    answer = np.where(correct, 0, wrong).astype(str).astype(object)
    null = rng.random(n) < 0.02
    answer[null] = None
    correct &= ~null
    table = pa.table({"checkpoint": pa.array(ck), "problem_id": pa.array(np.char.add("q", pid.astype(str))),
                      "sample_index": pa.array(np.tile(np.arange(S), C * P)),
                      "answer": pa.array(answer.tolist(), type=pa.string()), "correct": pa.array(correct)})
    pq.write_table(table, path)
    return n


def monte_carlo_maj(counts: np.ndarray, k: int, abstain: int, draws: int, rng) -> np.ndarray:
    """Plain reference: mean plurality credit over random k-subsets of each problem's samples."""
    out = np.empty(len(counts))
    for i, row in enumerate(counts):
        pool = np.repeat(np.arange(len(row)), row)
        total = 0.0
        for _ in range(draws):
            v = np.bincount(rng.choice(pool, k, replace=False), minlength=len(row)).astype(float)
            v[abstain] = -1
            if v[0] > 0 and v[0] >= v.max():
                total += 1.0 / np.sum(v == v[0])
        out[i] = total / draws
    return out


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    from real.logs.analysis import analyze
    from real.logs.importers import load_counts
    from theory.voting import maj_at_k

    C, P, S = (20 if quick else 200), 500, 64
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "samples.parquet"
        t0 = time.perf_counter()
        n = synthetic_parquet(path, C, P, S, seed)
        t_gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        table, report = load_counts(path)
        t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    analyze(table, n_boot=1000, seed=seed)
    t_an = time.perf_counter() - t0
    total = t_load + t_an

    # exact maj@k vs a Monte Carlo reference on 2,000 problems of the last checkpoint
    vc, ab = table.vote_counts()
    sub = vc[-1][:400] if quick else np.concatenate([vc[-1], vc[-2], vc[-3], vc[-4]])[:2000]
    k = 16
    t0 = time.perf_counter()
    exact = np.asarray(maj_at_k(sub, k, abstain=ab))
    t_exact = time.perf_counter() - t0
    draws = 1000
    t0 = time.perf_counter()
    mc = monte_carlo_maj(sub, k, ab, draws, np.random.default_rng(seed + 1))
    t_mc = time.perf_counter() - t0
    # per-problem z of the Monte Carlo mean; the variance p(1 - p)/draws gets a floor of one event in
    # `draws` (1/draws^2), else a problem with exact maj = 0.99999 and one unlucky draw reads as z ~ 5
    z = (mc - exact) / np.sqrt(np.maximum(exact * (1 - exact), 1.0 / draws) / draws)
    claims = [
        Claim(f"import + every analysis of {C} checkpoints x {P} problems x {S} samples ({n:,} records, Parquet) "
              f"takes < {TARGET_S:.0f} s (import {t_load:.1f} s, analyses {t_an:.1f} s)", total < TARGET_S, total, TARGET_S),
        Claim(f"exact maj@{k} agrees with a {draws}-subset Monte Carlo reference on {len(sub)} problems: max |z| <= 5 "
              f"(exact {t_exact:.2f} s vs Monte Carlo {t_mc:.1f} s: {t_mc / t_exact:.0f}x)", float(np.abs(z).max()) <= 5.0,
              float(np.abs(z).max()), 5.0),
    ]
    timings = {"generate_s": t_gen, "import_s": t_load, "analyze_s": t_an, "total_s": total, "exact_maj_s": t_exact,
               "monte_carlo_maj_s": t_mc, "ratio_mc_over_exact": t_mc / t_exact}
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, shape=[C, P, S], records=n, rejected=report.n_rejected,
                  timings=timings, note="2-core CI-class machine; timings vary with load")
    print(f"bench real ({'quick' if quick else 'full'}): {n:,} records; import {t_load:.1f} s, analyze {t_an:.1f} s, total {total:.1f} s")
    print(f"  exact maj@{k} on {len(sub)} problems {t_exact:.2f} s vs Monte Carlo ({draws} subsets) {t_mc:.1f} s: "
          f"ratio {t_mc / t_exact:.0f}x; max |z| {np.abs(z).max():.2f}")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "timings": timings}

