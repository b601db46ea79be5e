"""Named experiments and benchmarks: name -> (callable(quick=...), one-line description)."""

from __future__ import annotations


def _symbolic(quick: bool = False):
    from experiments import symbolic_report

    return symbolic_report.run(quick=quick)


def _bench_theory(quick: bool = False):
    from experiments import bench_theory

    return bench_theory.run(quick=quick)


EXPERIMENTS = {
    "symbolic": (_symbolic, "sympy derivations of every closed form (theory/symbolic.py) as claims + LaTeX"),
}
BENCHMARKS = {
    "theory": (_bench_theory, "exact plurality accuracy vs Monte Carlo; other exact kernels at scale"),
}
