"""Experiment ``symbolic``: run every sympy derivation of theory/symbolic.py and record it as claims.

Writes ``results/symbolic/summary.json`` (one claim per derivation) and ``derivations.tex`` (the
LaTeX blocks the paper includes).
"""

from __future__ import annotations

import time

from common.atomic import atomic_write_text
from common.results import RESULTS_DIR, Claim, write_summary
from theory import symbolic

NAME = "symbolic"


def run(quick: bool = False, results_dir=None) -> dict:
    t0 = time.perf_counter()
    results = symbolic.run_all(quick=quick)
    elapsed = time.perf_counter() - t0
    claims = [Claim(f"{r.name}: {r.statement}", r.passed, 1.0 if r.passed else 0.0, None) for r in results]
    out_dir = (results_dir or RESULTS_DIR) / NAME
    atomic_write_text(out_dir / "derivations.tex", symbolic.results_to_latex(results))
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, seconds=elapsed,
                  details={r.name: r.detail for r in results})
    for r in results:
        print(f"{'PASS' if r.passed else 'FAIL'}  {r.name}")
    return {"claims": [c.as_dict() for c in claims]}
