"""Experiment ``real_rlvr``: the small real RLVR run end to end (see ``real/pipeline.py`` for the setting).

Writes ``results/real_rlvr/`` (base model, RL checkpoints, samples.jsonl, analysis/, validation.png,
summary.json with claims). Same as ``python -m real rlvr [--quick]``.
"""

from __future__ import annotations

from pathlib import Path

from common.results import RESULTS_DIR

NAME = "real_rlvr"


def run(quick: bool = False, results_dir=None) -> dict:
    from real.lab.run import run_rlvr

    # results/ is output: a folder left by a run of the other mode is replaced, not resumed
    return run_rlvr(Path(results_dir or RESULTS_DIR) / NAME, quick=quick, replace_stale=True)
