"""Benchmark ``signals``: what the training signals cost an RL step (``real.lab.signals``).

The same RL steps (the quick setting's model and RL config, the quick run's base model when
``results/real_rlvr/base`` exists, else a fresh initialisation) run with and without ``signals_path``, in
one process, after a one-step warm-up run of each (compilation); the runs alternate, and each variant's
time is that of its fastest run (timings here vary by 20%
from run to run). With signals, the sampler also returns per-token entropy and branching factor
and the trainer runs one extra forward pass each for the updated policy and the base model
(``real.lab.rl.policy_shift``). Claim: signals cost at most 10% of the step time.
Quick: 2 steps per run, 3 repeats; full: 6 steps, 3 repeats.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import jax

from common.results import RESULTS_DIR, Claim, print_claims, write_summary

NAME = "bench-signals"
MAX_OVERHEAD = 0.10


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    from real.lab.checkpoints import load_checkpoint
    from real.lab.config import QUICK
    from real.lab.model import init_params
    from real.lab.rl import train_rl
    from real.lab.run import make_problem_sets
    from real.lab.tokenizer import CharTokenizer

    steps, repeats = (2, 3) if quick else (6, 3)
    cfg = QUICK.replace(rl={"steps": steps, "checkpoint_every": steps}).rl
    warm = QUICK.replace(rl={"steps": 1, "checkpoint_every": 1}).rl
    base = Path(RESULTS_DIR) / "real_rlvr" / "base"
    if (base / "config.json").is_file():
        params, config = load_checkpoint(base)[:2]
        source = str(base)
    else:
        config = QUICK.model
        params, source = init_params(config, jax.random.key(seed)), "fresh initialisation (results/real_rlvr/base absent)"
    problems = make_problem_sets(QUICK)[0]["rl"]
    tk = CharTokenizer()
    times = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as tmp:
        def once(variant: str, i: int, rl=cfg) -> float:
            folder = Path(tmp) / f"{variant}_{i}"
            t0 = time.perf_counter()
            train_rl(params, config, problems, rl, folder / "rl", seed=seed, tokenizer=tk, log=lambda s: None,
                     signals_path=folder / "signals.parquet" if variant == "with" else None)
            return (time.perf_counter() - t0) / rl.steps

        once("without", -1, warm), once("with", -1, warm)  # compile both (one step each)
        for i in range(repeats):
            for variant in ("without", "with"):
                times[variant].append(once(variant, i))
    per_step = {k: min(v) for k, v in times.items()}  # the least disturbed run of each (a shared 2-core machine)
    overhead = per_step["with"] / per_step["without"] - 1
    claims = [Claim(f"training signals cost <= {MAX_OVERHEAD:.0%} of an RL step ({cfg.batch_problems} problems x {cfg.n_rollouts} "
                    f"rollouts; fastest of {repeats} runs of {steps} steps each, same process)", overhead <= MAX_OVERHEAD, overhead, MAX_OVERHEAD)]
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, checkpoint=source, seconds_per_step=per_step, runs=times,
                  steps_per_run=steps)
    print(f"bench signals ({'quick' if quick else 'full'}; {source}): {per_step['without']:.2f} s/step without signals, "
          f"{per_step['with']:.2f} with (overhead {overhead:+.1%})")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "seconds_per_step": per_step}
