"""Sweep ``sweep``: a grid error consistency epsilon x temperature T x advantage x seeds, to Parquet.

``python -m experiments sweep [--epsilon 0,0.1,0.3] [--temperature 0.7,1] [--advantage grpo,passk_analytic]
[--seeds N] [--steps N] [--checkpoint-every N] [--problems P] [--out PATH] [--quick]`` trains one
policy per grid cell and writes a tidy (long) table, one row per observation:

    advantage (str), epsilon (float), temperature (float), seed (int), checkpoint (int), step (int),
    metric (str), value (float)

Setting (every knob; CLI flags override the first five):
- Bank: ``BankConfig(n_problems=P, attractor=0.8)`` (S = 16 strategies, m = 8 answers, 8 clusters,
  each strategy strong on 2, q_hi = 0.9, q_lo = 0.02, no trap), bank key ``PRNGKey(1)``; the same
  bank answers for every cell, only ``bank.epsilon`` changes (``Bank.replace(epsilon=...)``, a traced
  leaf). attractor = 0.8 is the "consistent misconception" regime of ``sc_negative_gain`` where the
  sign of SC gain depends on (epsilon, T), i.e. where a sweep is informative.
- Base policy: ``PolicyConfig()`` (u ~ N(0, 1), v ~ N(0, 2^2)), key ``PRNGKey(2)``, the same for
  every cell (so cells differ only by epsilon, T, advantage and training randomness).
- Training (``sim.train.TrainConfig``): batch 32 problems x 8 rollouts, Adam, learning rate 0.05,
  sharing 0.5, k = 4 for the Pass@k advantages, other advantage knobs at their ``TrainConfig``
  defaults; training temperature = evaluation temperature = T (both in ``Hyper``, traced). Defaults:
  200 steps, a checkpoint every 10 (21 checkpoints, the initial policy included), P = 256.
- Seeds: training key ``fold_in(PRNGKey(3), seed)`` for seed in 0..N-1, shared by every (advantage,
  epsilon, T) cell of that seed (common random numbers make cells comparable).
- Default grid: epsilon in {0, 0.1, 0.3, 0.5}, T in {0.5, 1, 2}, advantages grpo, passk_analytic,
  ucb, entropy_regularized, 4 seeds. ``--quick``: epsilon {0, 0.3} x T {0.7, 1.0} x (grpo,
  passk_analytic) x 2 seeds, 40 steps, a checkpoint every 10, P = 64.

Execution: per advantage one ``make_run`` (one compilation) and one ``run_many`` call vmapped over
the flattened seeds x epsilon x T axis (``vary=("bank", "hyper")``: epsilon lives in the bank,
temperature in ``Hyper``; both are numeric, so nothing is recompiled per value). ``chunk`` > 0 splits
that axis into equal chunks (the last padded by repeating a cell, then dropped) to bound memory with
one compilation. A tqdm bar advances per (advantage, chunk).

Metrics (exact, from the exact answer distribution ``Checkpoint.answer_probs`` at T, via
``sim.metrics.exact_metrics`` computed on all rows of an advantage at once; value = mean over the P
problems): ``pass@1``, ``pass@8`` (1 - (1 - p0)^8), ``maj@5`` (exact plurality accuracy,
``theory.voting.plurality_accuracy``, random tie-break), ``sc_gain@5`` = maj@5 - pass@1,
``strategy_entropy`` (H(pi(.|i)) at T, nats), ``answer_entropy`` (nats).

Outputs: the Parquet table (default ``results/sweep/sweep.parquet``, written with pyarrow to a temp
file then ``os.replace``) and ``summary.json`` beside it with the setting, timings and claims:
(1) every (advantage, epsilon, T, seed) cell produced all checkpoints with finite metrics in their
ranges (value = complete cells, threshold = number of cells); (2) the table has exactly cells x
checkpoints x metrics rows (value = rows, threshold = the expected count). These are integrity checks of
the sweep, not findings; findings are for the analyses that read the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from common.atomic import atomic_path
from common.results import RESULTS_DIR, Claim, print_claims, write_summary
from sim.bank import BankConfig, make_bank
from sim.metrics import exact_metrics
from sim.policy import PolicyConfig, init_policy
from sim.train import TrainConfig, make_run, run_many, stack_hypers
from theory.advantage_registry import ADVANTAGES

__all__ = ["run_sweep", "add_arguments", "main", "run", "METRICS", "COLUMNS", "cell_metrics", "train_config", "bank_and_policy", "seed_key"]

NAME = "sweep"
METRICS = ("pass@1", "pass@8", "maj@5", "sc_gain@5", "strategy_entropy", "answer_entropy")
COLUMNS = ("advantage", "epsilon", "temperature", "seed", "checkpoint", "step", "metric", "value")
BANK = BankConfig(attractor=0.8)
POLICY = PolicyConfig()
TRAIN = dict(batch_size=32, n_rollouts=8, k=4, optimizer="adam", learning_rate=0.05, sharing=0.5)
DEFAULTS = dict(epsilons=(0.0, 0.1, 0.3, 0.5), temperatures=(0.5, 1.0, 2.0),
                advantages=("grpo", "passk_analytic", "ucb", "entropy_regularized"), n_seeds=4,
                n_steps=200, checkpoint_every=10, n_problems=256)
QUICK = dict(epsilons=(0.0, 0.3), temperatures=(0.7, 1.0), advantages=("grpo", "passk_analytic"), n_seeds=2,
             n_steps=40, checkpoint_every=10, n_problems=64)
BANK_KEY, POLICY_KEY, TRAIN_KEY = 1, 2, 3


def train_config(advantage: str, n_steps: int, checkpoint_every: int, batch_size: int | None = None) -> TrainConfig:
    """The static training config of one advantage (see the module doc)."""
    kw = dict(TRAIN)
    if batch_size is not None:
        kw["batch_size"] = batch_size
    return TrainConfig(n_steps=n_steps, checkpoint_every=checkpoint_every, advantage=advantage, **kw)


def bank_and_policy(n_problems: int):
    """The shared bank (epsilon to be replaced per cell) and base policy."""
    cfg = dataclasses.replace(BANK, n_problems=n_problems)
    bank = make_bank(cfg, jax.random.PRNGKey(BANK_KEY))
    pol = init_policy(POLICY, jax.random.PRNGKey(POLICY_KEY), n_problems, cfg.n_strategies)
    return bank, pol


def seed_key(seed: int):
    """Training key of a seed (shared by all cells of that seed)."""
    return jax.random.fold_in(jax.random.PRNGKey(TRAIN_KEY), seed)


def cell_metrics(answer_probs, strategy_entropy) -> dict:
    """Mean-over-problems metrics per checkpoint: answer_probs [..., P, m], strategy_entropy [..., P]
    -> {metric: float64 [...]} (one exact_metrics call for all rows)."""
    ap = np.asarray(answer_probs, np.float64)
    lead, (P, m) = ap.shape[:-2], ap.shape[-2:]
    em = exact_metrics(ap.reshape(-1, m), ks=(1, 8), maj_ks=(5,))
    out = {name: em[name].reshape(lead + (P,)).mean(axis=-1) for name in METRICS if name != "strategy_entropy"}
    out["strategy_entropy"] = np.asarray(strategy_entropy, np.float64).mean(axis=-1)
    return {name: out[name] for name in METRICS}


def _bounds(n_strategies: int, n_answers: int) -> dict:
    tol = 1e-6
    return {"pass@1": (-tol, 1 + tol), "pass@8": (-tol, 1 + tol), "maj@5": (-tol, 1 + tol), "sc_gain@5": (-1 - tol, 1 + tol),
            "strategy_entropy": (-tol, math.log(n_strategies) + tol), "answer_entropy": (-tol, math.log(n_answers) + tol)}


def _check_grid(epsilons, temperatures, advantages, n_seeds):
    if not epsilons or any(not (isinstance(e, (int, float)) and 0 <= e <= 1) for e in epsilons):
        raise ValueError(f"epsilon: need a non-empty list of numbers in [0, 1], got {list(epsilons)!r}")
    if not temperatures or any(not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0) for t in temperatures):
        raise ValueError(f"temperature: need a non-empty list of finite numbers > 0, got {list(temperatures)!r}")
    bad = [a for a in advantages if a not in ADVANTAGES]
    if not advantages or bad:
        raise ValueError(f"advantage: unknown name(s) {bad!r}; known: {sorted(ADVANTAGES)}")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise ValueError(f"seeds: must be an integer >= 1, got {n_seeds!r}")


def run_sweep(epsilons, temperatures, advantages, n_seeds: int, *, n_steps: int = 200, checkpoint_every: int = 10,
              n_problems: int = 256, batch_size: int | None = None, chunk: int = 0, out_path=None,
              progress: bool = True, results_dir=None, quick: bool | None = None) -> dict:
    """Run the grid; return the tidy table as {column: numpy array} (see the module doc for columns).
    ``quick``: recorded in summary.json (True: the embedded quick grid; None: not said).

    With ``out_path`` also write it as Parquet (atomically) and ``summary.json`` beside it. The
    returned dict carries the table only; timings and claims go to summary.json.
    """
    epsilons = [float(e) for e in epsilons]
    temperatures = [float(t) for t in temperatures]
    advantages = list(advantages)
    _check_grid(epsilons, temperatures, advantages, n_seeds)
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    bank, pol = bank_and_policy(n_problems)
    # flattened grid, order (seed, epsilon, temperature)
    grid = [(s, e, t) for s in range(n_seeds) for e in epsilons for t in temperatures]
    G = len(grid)
    size = G if chunk <= 0 else min(chunk, G)
    n_chunks = -(-G // size)
    f = jnp.result_type(float)
    keys = jnp.stack([seed_key(s) for s, _, _ in grid])
    eps_arr = jnp.asarray([e for _, e, _ in grid], f)
    banks = jax.tree.map(lambda x: jnp.broadcast_to(x, (G,) + x.shape), bank)
    banks = dataclasses.replace(banks, epsilon=eps_arr)

    cols = {c: [] for c in COLUMNS}
    timings = {}
    bounds = _bounds(bank.answers.shape[1], bank.n_answers)
    complete = 0
    bar = tqdm(total=len(advantages) * n_chunks, desc="sweep", unit="chunk", disable=not progress)
    for adv in advantages:
        cfg = train_config(adv, n_steps, checkpoint_every, batch_size)
        hypers = stack_hypers([dataclasses.replace(cfg, temperature=t).hyper() for _, _, t in grid])
        run_fn = make_run(cfg)
        t0 = time.perf_counter()
        aps, ents, steps = [], [], None
        for c in range(n_chunks):
            idx = np.arange(c * size, (c + 1) * size)
            idx = np.where(idx < G, idx, G - 1)  # pad the last chunk (same shape: one compilation)
            take = lambda x: x[idx]  # noqa: E731
            out = run_many(run_fn, keys[idx], jax.tree.map(take, banks), pol, jax.tree.map(take, hypers),
                           vary=("bank", "hyper"))
            n_real = min(size, G - c * size)
            aps.append(np.asarray(out.checkpoints.answer_probs)[:n_real])
            ents.append(np.asarray(out.checkpoints.strategy_entropy)[:n_real])
            steps = np.asarray(out.steps)[0]
            bar.update(1)
        ap, ent = np.concatenate(aps), np.concatenate(ents)  # [G, C, P, m], [G, C, P]
        timings[adv] = time.perf_counter() - t0
        met = cell_metrics(ap, ent)  # {metric: [G, C]}
        C = ap.shape[1]
        for g, (s, e, t) in enumerate(grid):
            ok = C == cfg.n_checkpoints
            for name in METRICS:
                v = met[name][g]
                lo, hi = bounds[name]
                ok = ok and bool(np.all(np.isfinite(v)) and np.all((v >= lo) & (v <= hi)))
                cols["advantage"] += [adv] * C
                cols["epsilon"].append(np.full(C, e))
                cols["temperature"].append(np.full(C, t))
                cols["seed"].append(np.full(C, s, np.int64))
                cols["checkpoint"].append(np.arange(C, dtype=np.int64))
                cols["step"].append(steps.astype(np.int64))
                cols["metric"] += [name] * C
                cols["value"].append(v)
            complete += ok
    bar.close()
    table = {c: (np.asarray(cols[c], dtype=object) if c in ("advantage", "metric") else np.concatenate(cols[c]))
             for c in COLUMNS}
    total = time.perf_counter() - t_start

    if out_path is not None:
        n_cells = len(advantages) * G
        n_ckpt = n_steps // checkpoint_every + 1
        expected_rows = n_cells * n_ckpt * len(METRICS)
        n_rows = len(table["value"])
        claims = [
            Claim(f"every (advantage, epsilon, T, seed) cell ({n_cells}) produced all {n_ckpt} checkpoints with finite, "
                  "in-range metrics (value = complete cells)", complete == n_cells, complete, n_cells),
            Claim("the table has cells x checkpoints x metrics rows (value = rows)", n_rows == expected_rows, n_rows,
                  expected_rows),
        ]
        setting = dict(epsilons=epsilons, temperatures=temperatures, advantages=advantages, n_seeds=n_seeds,
                       n_steps=n_steps, checkpoint_every=checkpoint_every, n_problems=n_problems, chunk=chunk,
                       bank={**dataclasses.asdict(BANK), "n_problems": n_problems, "key": BANK_KEY},
                       policy={**dataclasses.asdict(POLICY), "key": POLICY_KEY},
                       train={**TRAIN, **({"batch_size": batch_size} if batch_size else {}),
                              "temperature": "= eval_temperature = T", "key": f"fold_in(PRNGKey({TRAIN_KEY}), seed)"},
                       metrics=list(METRICS), columns=list(COLUMNS))
        out_path = Path(out_path)
        write_table(table, out_path)
        _write_summary(out_path, claims, results_dir, quick=quick, setting=setting, table=str(out_path), rows=n_rows,
                       seconds={"total": total, "per_advantage_incl_compile": timings})
        print(f"sweep: {n_cells} cells x {n_ckpt} checkpoints x {len(METRICS)} metrics = {n_rows} rows -> {out_path} "
              f"({total:.1f} s)")
        print_claims(claims)
    return table


def _write_summary(out_path: Path, claims, results_dir, **extra) -> Path:
    """summary.json beside the table (in ``results_dir/sweep/`` when given, else in the table's folder)."""
    folder = Path(results_dir) / NAME if results_dir is not None else out_path.parent
    return write_summary(NAME, claims, folder=folder, **extra)


def write_table(table: dict, path) -> None:
    """Write the tidy table as Parquet atomically (temp file in the same folder, then os.replace)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("advantage", pa.string()), ("epsilon", pa.float64()), ("temperature", pa.float64()),
                        ("seed", pa.int64()), ("checkpoint", pa.int64()), ("step", pa.int64()),
                        ("metric", pa.string()), ("value", pa.float64())])
    tbl = pa.Table.from_pydict({c: list(table[c]) if c in ("advantage", "metric") else table[c] for c in COLUMNS},
                               schema=schema)
    with atomic_path(path) as tmp:
        pq.write_table(tbl, tmp)


def _floats(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _names(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    bad = [n for n in names if n not in ADVANTAGES]
    if bad:
        raise argparse.ArgumentTypeError(f"unknown advantage(s) {bad}; known: {', '.join(sorted(ADVANTAGES))}")
    return names


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the sweep's options to ``parser`` (e.g. a ``sweep`` sub-parser)."""
    d = DEFAULTS
    parser.add_argument("--epsilon", type=_floats, default=None, metavar="LIST",
                        help=f"error-consistency values, comma-separated (default {','.join(map(str, d['epsilons']))})")
    parser.add_argument("--temperature", type=_floats, default=None, metavar="LIST",
                        help=f"temperatures, comma-separated (default {','.join(map(str, d['temperatures']))})")
    parser.add_argument("--advantage", type=_names, default=None, metavar="LIST",
                        help=f"advantage names from theory.advantage_registry.ADVANTAGES (default {','.join(d['advantages'])})")
    parser.add_argument("--seeds", type=int, default=None, metavar="N", help=f"training seeds 0..N-1 (default {d['n_seeds']})")
    parser.add_argument("--steps", type=int, default=None, help=f"training steps (default {d['n_steps']})")
    parser.add_argument("--checkpoint-every", type=int, default=None, help=f"steps per checkpoint (default {d['checkpoint_every']})")
    parser.add_argument("--problems", type=int, default=None, help=f"problems in the bank (default {d['n_problems']})")
    parser.add_argument("--chunk", type=int, default=0, help="cells per vmapped call (0 = all cells of an advantage at once)")
    parser.add_argument("--out", type=Path, default=None, help=f"Parquet path (default {RESULTS_DIR / NAME / 'sweep.parquet'})")
    parser.add_argument("--quick", action="store_true", help="small embedded grid (seconds); explicit flags still override")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(args: argparse.Namespace) -> int:
    """Run the sweep from parsed ``add_arguments`` options; 0 if every claim holds, else 1."""
    base = QUICK if args.quick else DEFAULTS
    pick = lambda v, k: base[k] if v is None else v  # noqa: E731
    out = args.out if args.out is not None else RESULTS_DIR / NAME / "sweep.parquet"
    run_sweep(pick(args.epsilon, "epsilons"), pick(args.temperature, "temperatures"), pick(args.advantage, "advantages"),
              pick(args.seeds, "n_seeds"), n_steps=pick(args.steps, "n_steps"),
              checkpoint_every=pick(args.checkpoint_every, "checkpoint_every"), n_problems=pick(args.problems, "n_problems"),
              chunk=args.chunk, out_path=out, progress=not args.no_progress, quick=args.quick)
    import json

    summary = json.loads((out.parent / "summary.json").read_text()) if (out.parent / "summary.json").exists() else None
    return 0 if summary is None or all(c["holds"] for c in summary["claims"]) else 1


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    """Registry entry: the default (or quick) grid into ``<results_dir>/sweep/``; ``seed`` offsets nothing
    but is accepted for the common signature (seeds are 0..N-1 of the grid)."""
    import json

    base = QUICK if quick else DEFAULTS
    rd = Path(results_dir or RESULTS_DIR)
    out = rd / NAME / "sweep.parquet"
    run_sweep(base["epsilons"], base["temperatures"], base["advantages"], base["n_seeds"], n_steps=base["n_steps"],
              checkpoint_every=base["checkpoint_every"], n_problems=base["n_problems"], out_path=out, results_dir=rd,
              progress=False, quick=quick)
    return json.loads((rd / NAME / "summary.json").read_text())

