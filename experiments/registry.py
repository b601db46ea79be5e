"""Named experiments and benchmarks: name -> (callable(quick=...), one-line description)."""

from __future__ import annotations


def _symbolic(quick: bool = False):
    from experiments import symbolic_report

    return symbolic_report.run(quick=quick)


def _bench_theory(quick: bool = False):
    from experiments import bench_theory

    return bench_theory.run(quick=quick)


def _experiment(module: str):
    def run(quick: bool = False):
        import importlib

        return importlib.import_module(f"experiments.{module}").run(quick=quick)

    return run


EXPERIMENTS = {
    "symbolic": (_symbolic, "sympy derivations of every closed form (theory/symbolic.py) as claims + LaTeX"),
    "sc_negative_gain": (_experiment("sc_negative_gain"), "map of SC gain over error consistency x temperature; an RL run where SC gain turns negative, diagnosed"),
    "passk_eta": (_experiment("passk_eta"), "eta of Pass@k advantages measured on sim rollouts vs theory; Pass@1 vs Pass@k on a trap bank"),
    "sweep": (_experiment("sweep"), "grid: error consistency x temperature x advantage x seeds, exact metrics per checkpoint, to Parquet"),
    "coverage_rotation": (_experiment("coverage_rotation"), "solved sets rotate across checkpoints; union pass@K vs best single at matched budget"),
}
def _bench_sim(quick: bool = False):
    from experiments import bench_sim

    return bench_sim.run(quick=quick)


BENCHMARKS = {
    "theory": (_bench_theory, "exact plurality accuracy vs Monte Carlo; other exact kernels at scale"),
    "sim": (_bench_sim, "a full simulator run in JAX vs the vectorized NumPy reference and a per-rollout loop baseline; vmapped vs sequential seeds"),
}
