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
unparsed (null). Generator ``default_rng(seed)``. Beside the timing, the streaming importer
(``real.logs.streaming.stream_counts``) reads the same file and must give the same table (under a second).

Scale mode (``--scale``, issue 15): logs at the size users have. Full: 500 checkpoints × 1,000 problems × 200
samples = 10^8 records; quick: 50 checkpoints (10^7). The same synthetic law (with a ``gold`` column), written
in chunks of 10 checkpoints per Parquet file (:func:`write_scale_log`, bounded memory) to a temporary folder
that is deleted afterwards. Each measured path runs in a child process (``python -m experiments.bench_real
--child``) that reports its own peak resident set size (``VmHWM``, Linux) after the import and after the
analyses: the streaming import (``stream_counts``) of all records followed by ``real.logs.analysis.analyze``
(``SCALE_ANALYZE``: 1,000 bootstrap resamples, k in {1, 4, 16}, K = 16; larger k is not run at this size, see
there), and, at a size today's path still holds (the first 50 checkpoints, 10^7 records),
``real.logs.importers.load_counts`` against ``stream_counts`` on the same files: rows/s, peak RSS, their
ratios, and a digest of each table (equal digests = equal tables). Writes
``results/bench-real-scale/summary.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common.results import Claim, print_claims, write_summary

NAME = "bench-real"
TARGET_S = 60.0
SCALE_NAME = "bench-real-scale"
SCALE_SHAPE = {False: (500, 1000, 200), True: (50, 1000, 200)}  # checkpoints, problems, samples: 10^8 / 10^7 records
COMPARE_CHECKPOINTS = 50  # load_counts vs stream_counts on the first 50 checkpoints (10^7 records)
CHECKPOINTS_PER_FILE = 10
RSS_LIMIT = 4e9  # bytes: the 4 GB
# analyze() at scale: k in {1, 4, 16}, K = 16. Exact maj@k runs in blocks of real.logs.analysis.MAJ_BLOCK_ROWS count
# vectors (one call over 500k cells needed ~11 GB at k = 16); the default k grid up to n = 200 is not run here: k = 64
# costs ~12 s per 2,000 cells (about 50 min at 500k cells)
SCALE_ANALYZE = {"n_boot": 1000, "ks": [1, 4, 16], "K": 16}
CHILD_TIMEOUT_S = 1800


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


def run(quick: bool = False, results_dir=None, seed: int = 0, scale: bool = False) -> dict:
    """The benchmark (module docstring); ``scale``: the scale mode (:func:`run_scale`)."""
    from real.logs.analysis import analyze
    from real.logs.importers import load_counts
    from real.logs.streaming import stream_counts
    from theory.voting import maj_at_k

    if scale:
        return run_scale(quick=quick, results_dir=results_dir, seed=seed)
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
        streamed, s_report = stream_counts(path)
        t_stream = time.perf_counter() - t0
    same = table_digest(table, report) == table_digest(streamed, s_report)
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
        Claim(f"the streaming importer gives the same table and import report as load_counts on the {n:,} records "
              f"(streaming {t_stream:.1f} s, in memory {t_load:.1f} s)", same, float(same), 1.0),
    ]
    timings = {"generate_s": t_gen, "import_s": t_load, "analyze_s": t_an, "total_s": total, "exact_maj_s": t_exact,
               "monte_carlo_maj_s": t_mc, "ratio_mc_over_exact": t_mc / t_exact, "stream_import_s": t_stream}
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, shape=[C, P, S], records=n, rejected=report.n_rejected,
                  timings=timings, note="2-core CI-class machine; timings vary with load")
    print(f"bench real ({'quick' if quick else 'full'}): {n:,} records; import {t_load:.1f} s, analyze {t_an:.1f} s, total {total:.1f} s")
    print(f"  exact maj@{k} on {len(sub)} problems {t_exact:.2f} s vs Monte Carlo ({draws} subsets) {t_mc:.1f} s: "
          f"ratio {t_mc / t_exact:.0f}x; max |z| {np.abs(z).max():.2f}")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "timings": timings}



# ------------------------------------------------------------------------------------------ scale mode (issue 15)
def write_scale_log(folder: Path, n_checkpoints: int, n_problems: int, n_samples: int, seed: int = 0,
                    per_file: int = CHECKPOINTS_PER_FILE) -> list[Path]:
    """The synthetic law of the module docstring as Parquet files of ``per_file`` checkpoints each (rows in
    checkpoint, problem, sample order; checkpoint labels 0, 10, 20, ...; problem ids q0, q1, ...; gold "0", the
    correct answer), written one file at a time so memory holds one file's rows. File j uses
    ``default_rng([seed, j])``. Returns the paths, in order (names 0.parquet, 1.parquet, ...)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    P, S = n_problems, n_samples
    pid_dict = pa.array([f"q{i}" for i in range(P)])
    paths = []
    for j, c0 in enumerate(range(0, n_checkpoints, per_file)):
        rng = np.random.default_rng([seed, j])
        C = min(per_file, n_checkpoints - c0)
        n = C * P * S
        p = rng.beta(2, 2, C * P)
        correct = rng.random(n) < np.repeat(p, S)
        code = np.where(correct, 0, rng.geometric(0.4, n)).astype(np.int32)
        null = rng.random(n) < 0.02
        correct &= ~null
        answer = pa.DictionaryArray.from_arrays(pa.array(code, mask=null), pa.array([str(i) for i in range(int(code.max()) + 1)]))
        table = pa.table({
            "checkpoint": pa.array(np.repeat((c0 + np.arange(C)) * 10, P * S)),
            "problem_id": pa.DictionaryArray.from_arrays(pa.array(np.tile(np.repeat(np.arange(P, dtype=np.int32), S), C)), pid_dict),
            "sample_index": pa.array(np.tile(np.arange(S), C * P)), "answer": answer, "correct": pa.array(correct),
            "gold": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array(["0"]))})
        path = Path(folder) / f"{j}.parquet"
        pq.write_table(table, path, store_schema=False)  # read back as plain string columns, as most writers leave them
        paths.append(path)
    return paths


def table_digest(table, report=None) -> str:
    """SHA-256 of every field of a CountsTable (labels, steps, counts, slots, wrong-answer strings) and, when given,
    the import report's rows read / accepted / rejected: equal digests mean equal tables."""
    h = hashlib.sha256()
    h.update(json.dumps([list(map(str, table.checkpoints)), [repr(float(s)) for s in table.steps],
                         list(map(str, table.problem_ids))]).encode())
    for name in ("n_samples", "n_correct", "answer_counts", "n_null"):
        arr = getattr(table, name)
        h.update(name.encode() + repr(arr.shape).encode() + np.ascontiguousarray(arr, np.int64).tobytes())
    if table.wrong_answers is not None:
        h.update(json.dumps(table.wrong_answers.ravel().tolist()).encode())
    if report is not None:
        h.update(repr((report.rows_read, report.rows_accepted, report.n_rejected)).encode())
    return h.hexdigest()


def peak_rss_bytes() -> int:
    """This process's peak resident set size in bytes: ``VmHWM`` of /proc/self/status (Linux), else
    ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (KiB on Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def table_bytes(table) -> int:
    """Bytes of a CountsTable's arrays (the wrong-answer strings counted as 8-byte references)."""
    return int(sum(getattr(table, k).nbytes for k in ("n_samples", "n_correct", "answer_counts", "n_null", "wrong_answers")
                   if getattr(table, k) is not None))


def measure(files: list, how: str, analyze_kwargs: dict | None = None, digest: bool = True) -> dict:
    """Import ``files`` (``how``: "stream" = ``stream_counts``, "memory" = ``load_counts``) in this process, then
    optionally ``analyze``; seconds, rows/s and this process's peak RSS after the imports of the libraries, after the
    import and after the analyses. Meant for a fresh child process (:func:`measure_in_child`)."""
    from real.logs.analysis import analyze
    from real.logs.importers import load_counts
    from real.logs.streaming import stream_counts

    out = {"how": how, "files": len(files), "rss_baseline": peak_rss_bytes()}
    t0 = time.perf_counter()
    table, report = (stream_counts if how == "stream" else load_counts)([Path(f) for f in files])
    out["import_s"] = time.perf_counter() - t0
    out.update(rss_import=peak_rss_bytes(), rows_read=report.rows_read, rows_accepted=report.rows_accepted,
               rows_rejected=report.n_rejected, rows_per_s=report.rows_read / out["import_s"], shape=list(table.answer_counts.shape),
               table_bytes=table_bytes(table))
    if digest:
        out["digest"] = table_digest(table, report)
    if analyze_kwargs is not None:
        t0 = time.perf_counter()
        res = analyze(table, **analyze_kwargs)
        out["analyze_s"] = time.perf_counter() - t0
        out["analyze_timings_s"] = res["timings_s"]
        out["rss_total"] = peak_rss_bytes()
    return out


def measure_in_child(files: list, how: str, analyze_kwargs: dict | None = None, digest: bool = True,
                     timeout_s: float = CHILD_TIMEOUT_S) -> dict:
    """:func:`measure` in a fresh Python process (so that its peak RSS is that path's alone); its result."""
    spec = json.dumps({"files": [str(f) for f in files], "how": how, "analyze_kwargs": analyze_kwargs, "digest": digest})
    proc = subprocess.run([sys.executable, "-m", "experiments.bench_real", "--child", spec], capture_output=True, text=True,
                          timeout=timeout_s, env={**os.environ, "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu")})
    if proc.returncode != 0:
        raise RuntimeError(f"bench real --scale: the {how} child failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _mb(x: float) -> str:
    return f"{x / 2**20:,.0f} MiB"


def scale_analyze_settings(n_samples: int, seed: int) -> dict:
    """``SCALE_ANALYZE`` for a log of ``n_samples`` samples per cell: the k (and K) above the budget are dropped."""
    ks = [k for k in SCALE_ANALYZE["ks"] if k <= n_samples]
    return {**SCALE_ANALYZE, "ks": ks, "K": min(SCALE_ANALYZE["K"], n_samples), "seed": seed}


def run_scale(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    """Scale mode (module docstring): 10^8 records (quick 10^7) streamed and analysed with peak RSS <= 4 GB, and the
    streaming import against load_counts at 10^7 records in the same run."""
    C, P, S = SCALE_SHAPE[quick]
    n = C * P * S
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory(prefix="bench-real-scale-") as tmp:
        t0 = time.perf_counter()
        files = write_scale_log(Path(tmp), C, P, S, seed, per_file=CHECKPOINTS_PER_FILE)
        t_gen = time.perf_counter() - t0
        disk = sum(f.stat().st_size for f in files)
        m = COMPARE_CHECKPOINTS // CHECKPOINTS_PER_FILE
        mem = measure_in_child(files[:m], "memory")
        big = measure_in_child(files, "stream", analyze_kwargs=scale_analyze_settings(S, seed), digest=m >= len(files))
        small = big if m >= len(files) else measure_in_child(files[:m], "stream")  # quick: the comparison size is the whole log
    n_cmp = mem["rows_read"]
    same = mem["digest"] == small["digest"]
    speed = small["rows_per_s"] / mem["rows_per_s"]
    rss_ratio = mem["rss_import"] / small["rss_import"]
    claims = [
        Claim(f"{n:,} records ({C} checkpoints x {P} problems x {S} samples, Parquet) imported by streaming and analysed "
              f"with peak RSS <= 4 GB (import {big['import_s']:.0f} s at {big['rows_per_s'] / 1e6:.2f} M rows/s, peak "
              f"{_mb(big['rss_import'])}; analyses {big['analyze_s']:.0f} s, peak {_mb(big['rss_total'])})",
              big["rss_total"] <= RSS_LIMIT, big["rss_total"] / 1e9, RSS_LIMIT / 1e9),
        Claim(f"at {n_cmp:,} records the streaming import gives the same table and report as load_counts "
              f"(table digests {'equal' if same else 'differ'})", same, float(same), 1.0),
        Claim(f"at {n_cmp:,} records the streaming import's peak RSS is below load_counts' ({_mb(small['rss_import'])} vs "
              f"{_mb(mem['rss_import'])}: {rss_ratio:.1f}x less); rows/s {small['rows_per_s'] / 1e6:.2f} M vs "
              f"{mem['rows_per_s'] / 1e6:.2f} M", rss_ratio > 1, rss_ratio, 1.0),
        Claim(f"at {n_cmp:,} records the streaming import is at least as fast as load_counts (rows/s: streaming / in memory "
              f"= {speed:.2f})", speed >= 1, speed, 1.0),
    ]
    per_row = (mem["rss_import"] - mem["rss_baseline"]) / n_cmp
    timings = {"generate_s": t_gen, "load_avg_1_5_15": list(load) if load else None, "parquet_bytes": disk,
               "memory": mem, "stream_compare": small, "stream_scale": big, "throughput_ratio_stream_over_memory": speed,
               "rss_ratio_memory_over_stream": rss_ratio, "memory_bytes_per_record": per_row,
               "memory_extrapolated_rss_at_scale": mem["rss_baseline"] + per_row * n}
    write_summary(SCALE_NAME, claims, results_dir=results_dir, quick=quick, shape=[C, P, S], records=n,
                  compare_records=n_cmp, analyze_settings=scale_analyze_settings(S, seed), timings=timings,
                  note="2-core machine shared with other jobs (load average in timings); peak RSS = VmHWM of a child process "
                       "per path; the in-memory path at scale is extrapolated from its bytes per record at the comparison size")
    print(f"bench real --scale ({'quick' if quick else 'full'}): {n:,} records in {len(files)} Parquet files "
          f"({disk / 2**20:,.0f} MiB, written in {t_gen:.0f} s); load average {load}")
    for name, r in (("load_counts", mem), ("stream_counts", small)) + ((("stream_counts", big),) if big is not small else ()):
        extra = f", analyses {r['analyze_s']:.0f} s, peak RSS {_mb(r['rss_total'])}" if "analyze_s" in r else ""
        print(f"  {name:13s} {r['rows_read']:>12,} rows: {r['import_s']:6.1f} s, {r['rows_per_s'] / 1e6:5.2f} M rows/s, "
              f"peak RSS {_mb(r['rss_import'])} (libraries {_mb(r['rss_baseline'])}), table {_mb(r['table_bytes'])}{extra}")
    print(f"  streaming / in memory at {n_cmp:,} rows: rows/s x{speed:.2f}, peak RSS x{1 / rss_ratio:.2f}; load_counts: "
          f"{per_row:.0f} bytes per record" + (f", so ~{_mb(timings['memory_extrapolated_rss_at_scale'])} at {n:,} rows "
                                               "(extrapolated)" if n > n_cmp else ""))
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "timings": timings}


def _child(argv: list) -> int:
    spec = json.loads(argv[argv.index("--child") + 1])
    out = measure(spec["files"], spec["how"], spec.get("analyze_kwargs"), spec.get("digest", True))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
