"""Benchmark ``signals``: what the training signals cost an RL step (``real.lab.signals``).

The same RL steps (the quick setting's model and RL config, the quick run's base model when
``results/real_rlvr/base`` exists, else a fresh initialisation) run with and without ``signals_path``, in
one process, after a one-step warm-up run of each (compilation); the runs alternate in pairs (without, with).
The overhead is the median over pairs of (with / without - 1): runs here vary by up to 15% from one to the
next (a fastest-run estimate compared one lucky run with the rest: +15% where the medians differed by 2%),
and a pair's two runs are neighbours in time. Reported beside it: the fastest-run ratio, and the signal code
timed directly inside the "with" runs (``policy_shift``, ``step_signals``, ``write_signals`` per step). A
run's step time is measured
from the end of its first step to the end of its last, divided by the steps in between: the steady-state
step, which includes every step's signal work and the signals file written at the run's last checkpoint,
but not ``train_rl``'s one-time start (loading the base model for ``kl_base``). With signals, the sampler
also returns per-token entropy and branching factor and the trainer runs one extra forward pass each for
the updated policy and the base model on a subsample (``real.lab.rl.policy_shift``). Claim: signals cost
at most 10% of the step time. Quick: 3 steps per run, 3 pairs; full: 8 steps, 5 pairs.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import jax
import numpy as np

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

    steps, repeats = (3, 3) if quick else (8, 5)
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
    signal_code = []  # seconds per step inside the signal-only functions, "with" runs
    import real.lab.rl as rl_mod
    import real.lab.signals as sig_mod

    def timed(module, name, acc):
        f = getattr(module, name)

        def wrapper(*a, **k):
            t = time.perf_counter()
            out = jax.block_until_ready(f(*a, **k)) if name == "policy_shift" else f(*a, **k)
            acc[0] += time.perf_counter() - t
            return out
        return f, wrapper

    with tempfile.TemporaryDirectory() as tmp:
        def once(variant: str, i: int, rl=cfg) -> float:
            folder = Path(tmp) / f"{variant}_{i}"
            ends = []  # perf_counter at the end of each step (train_rl logs "rl step N: ..." last in a step)

            def log(msg):
                if msg.startswith("rl step "):
                    ends.append(time.perf_counter())

            t0 = time.perf_counter()
            train_rl(params, config, problems, rl, folder / "rl", seed=seed, tokenizer=tk, log=log,
                     signals_path=folder / "signals.parquet" if variant == "with" else None)
            if rl.steps < 2:
                return time.perf_counter() - t0
            return (ends[-1] - ends[0]) / (rl.steps - 1)

        once("without", -1, warm), once("with", -1, warm)  # compile both (one step each)
        for i in range(repeats):
            times["without"].append(once("without", i))
            acc = [0.0]
            originals = [(m, n, *timed(m, n, acc)) for m, n in ((rl_mod, "policy_shift"), (sig_mod, "step_signals"),
                                                                (sig_mod, "write_signals"))]
            for m, n, _, w in originals:
                setattr(m, n, w)
            try:
                times["with"].append(once("with", i))
            finally:
                for m, n, f, _ in originals:
                    setattr(m, n, f)
            signal_code.append(acc[0] / steps)
    ratios = [w / wo - 1 for wo, w in zip(times["without"], times["with"])]
    overhead = float(np.median(ratios))
    per_step = {k: float(np.median(v)) for k, v in times.items()}
    fastest = min(times["with"]) / min(times["without"]) - 1
    direct = float(np.median(signal_code)) / per_step["without"]
    claims = [Claim(f"training signals cost <= {MAX_OVERHEAD:.0%} of an RL step ({cfg.batch_problems} problems x {cfg.n_rollouts} "
                    f"rollouts; steady-state step, median over {repeats} alternating pairs of runs of {steps} steps, same process; "
                    f"fastest-run ratio {fastest:+.1%}, signal code timed directly {direct:.1%} of a step)",
                    overhead <= MAX_OVERHEAD, overhead, MAX_OVERHEAD)]
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, checkpoint=source, seconds_per_step=per_step, runs=times,
                  steps_per_run=steps, pair_overheads=ratios, overhead_fastest_runs=fastest, signal_code_seconds_per_step=signal_code,
                  overhead_signal_code=direct)
    print(f"bench signals ({'quick' if quick else 'full'}; {source}): median {per_step['without']:.2f} s/step without signals, "
          f"{per_step['with']:.2f} with; overhead (median of pairs) {overhead:+.1%}, fastest runs {fastest:+.1%}, "
          f"signal code {direct:.1%} of a step")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "seconds_per_step": per_step}
