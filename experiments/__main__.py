"""Command line: ``python -m experiments {list, run NAME, bench NAME, sweep ..., all, paper} [--quick]``.

``all`` is the project's main job: it runs the quick version of every experiment and benchmark on
embedded defaults and writes ``results/index.html`` (and ``index.md``), which links every
``results/<name>/summary.json`` with its claims.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

from common.results import RESULTS_DIR
from experiments import registry
from experiments.index import write_index


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="list experiments and benchmarks")
    for cmd in ("run", "bench"):
        p = sub.add_parser(cmd, help=f"{cmd} one named {'experiment' if cmd == 'run' else 'benchmark'}")
        p.add_argument("name")
        p.add_argument("--quick", action="store_true", help="the quick version (embedded small defaults)")
        if cmd == "bench":
            p.add_argument("--scale", action="store_true",
                           help="bench real only: 10^8 sample records (10^7 with --quick), streamed, peak memory measured")
    p = sub.add_parser("sweep", help="grid: error consistency x temperature x advantage x seeds -> tidy Parquet")
    from experiments import sweep

    sweep.add_arguments(p)
    p = sub.add_parser("all", help="run every experiment and benchmark, then write results/index.html")
    p.add_argument("--quick", action="store_true")
    p = sub.add_parser("paper", help="write paper/generated/ from results/ (numbers, tables, derivations, figures), then build paper/build/paper.pdf")
    p.add_argument("--no-build", action="store_true", help="write the generated sources and check the prose; do not run LaTeX")
    args = ap.parse_args(argv)

    if args.cmd == "list":
        for kind, table in (("run", registry.EXPERIMENTS), ("bench", registry.BENCHMARKS)):
            for name, (_, doc) in table.items():
                print(f"{kind:5s} {name:20s} {doc}")
        return 0
    if args.cmd == "paper":
        from experiments.paper import run_cli

        code = run_cli(RESULTS_DIR, build=not args.no_build)
        write_index(RESULTS_DIR)  # links the PDF where it was built
        return code
    if args.cmd == "sweep":
        code = sweep.main(args)
        write_index(RESULTS_DIR)
        return code
    if args.cmd in ("run", "bench"):
        table = registry.EXPERIMENTS if args.cmd == "run" else registry.BENCHMARKS
        if args.name not in table:
            print(f"name: unknown {args.cmd} target {args.name!r}; known: {', '.join(table)}", file=sys.stderr)
            return 2
        run_fn = table[args.name][0]
        if getattr(args, "scale", False):
            if args.name != "real":
                print(f"--scale: only bench real has a scale mode, not {args.name!r}", file=sys.stderr)
                return 2
            from experiments import bench_real

            run_fn = functools.partial(bench_real.run, scale=True)
        out = run_fn(quick=args.quick)
        write_index(RESULTS_DIR)
        return 0 if all(c["holds"] for c in out["claims"]) else 1
    failed = []
    for kind, table in (("run", registry.EXPERIMENTS), ("bench", registry.BENCHMARKS)):
        for name, (fn, _) in table.items():
            print(f"== {kind} {name}{' --quick' if args.quick else ''}", flush=True)
            t0 = time.perf_counter()
            out = fn(quick=args.quick)
            print(f"   ({time.perf_counter() - t0:.1f} s)")
            failed += [f"{name}: {c['claim']}" for c in out["claims"] if not c["holds"]]
    index = write_index(RESULTS_DIR)
    print(f"index: {index}")
    if failed:
        print("claims that do not hold:\n  " + "\n  ".join(failed))
    return 0  # the main job reports claims; it fails only on errors


if __name__ == "__main__":
    sys.exit(main())
