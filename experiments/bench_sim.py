"""Benchmark ``bench sim``: the jitted JAX training run vs NumPy baselines (issue 3, "Performance").

Setting (full mode; every knob):
- bank: ``BankConfig(n_problems=512, n_strategies=16, n_answers=8)`` (other fields at their defaults:
  8 clusters, 2 per strategy, q_hi 0.9, q_lo 0.02, attractor 0.8, epsilon 0.1), key ``seed``;
  base policy ``PolicyConfig()`` (u ~ N(0, 1), v ~ N(0, 2^2)), key ``seed + 1``;
- training: ``TrainConfig(n_steps=500, batch_size=64, n_rollouts=16, checkpoint_every=10,
  advantage="grpo", optimizer="adam")`` with the default numeric knobs (lr 0.05, T 1, sharing 0.5).
  This is the P = 512, S = 16, m = 8, n = 16, 500-step, checkpoint-every-10 run the issue names.

Measured, in one process:
1. JAX (``sim.train.make_run``, float32, the default JAX dtype): compile time (``lower().compile()``)
   reported separately; steady-state run time = best of 3 calls of the compiled function.
2. Vectorized NumPy reference (``sim.reference.reference_run``, float64): one full run (best of 1;
   it takes seconds).
3. Plain per-rollout NumPy baseline (``loop_run`` below, float64): the way a researcher would first
   write the step: Python loops over the batch problems and their rollouts for sampling, rewards,
   the answer table, GRPO advantages and the per-rollout policy-gradient term; NumPy for the
   per-problem softmax and gradient vectors and for Adam. Full mode times the whole 500-step run
   (it takes a few seconds); quick mode times ``loop_steps = 5`` steps and **extrapolates linearly**
   to ``n_steps`` (its cost per step is constant: no step depends on the step index beyond Adam's
   bias correction); ``timings.json`` records which (``numpy_loop.extrapolated``). ``loop_update`` is checked
   against ``sim.reference.reference_update`` on identical rollouts (max |difference| of u, v,
   counts and advantages; the test asks for <= 1e-9).
4. ``n_seeds`` seeds (64 full / 8 quick) vmapped (``sim.train.run_many``; compile reported
   separately, steady = best of 2) vs ``n_seeds`` sequential calls of the already compiled
   single-run function.

Claims: "JAX >= 50x faster than the plain per-rollout NumPy baseline" (threshold 50, the issue's
target written against "a plain NumPy reference"); "JAX faster than the vectorized NumPy reference"
(threshold 1; the ratio is reported whatever it is); "the loop baseline's update equals the
reference update" (threshold 1e-9); "vmapping the seeds is faster than running them sequentially"
(threshold 1). Timings are steady-state wall-clock seconds on a shared 2-core CPU (other jobs run
beside it), so ratios are noisy; the JAX side is float32 and the NumPy sides float64, as each is
used in the project.

Quick mode: the same P, S, m, n, B with 100 steps, 8 seeds, 5 loop steps extrapolated (~5 s).
Full mode takes ~15 s on an idle machine.
Writes ``results/bench-sim/summary.json`` (claims + timings), ``timings.json`` and ``timings.csv``
(long format: one row per measured quantity).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time

import jax
import numpy as np

from common.atomic import atomic_write_text
from common.results import RESULTS_DIR, Claim, print_claims, write_summary
from sim.bank import BankConfig, make_bank
from sim.policy import PolicyConfig, init_policy
from sim.reference import RefState, apply_update, reference_run, reference_update
from sim.train import TrainConfig, make_run, run_many

NAME = "bench-sim"
_GRPO_EPS = 1e-6


# ----------------------------------------------------------------------------------------------
# plain per-rollout NumPy baseline
# ----------------------------------------------------------------------------------------------


def _softmax_row(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def loop_update(state: RefState, problem_ids, strategies, answers, hyper: dict) -> tuple[RefState, np.ndarray]:
    """One GRPO + Adam step on given rollouts, written with Python loops over problems and rollouts.

    Same equations as ``sim.reference.reference_update(..., advantage="grpo", optimizer="adam")``;
    returns (new state, advantages [B, n]); does not modify ``state``.
    """
    T = float(hyper["temperature"])
    B, n = len(strategies), len(strategies[0])
    counts = state.counts.copy()
    g_v = np.zeros_like(state.v)
    adv_all = np.zeros((B, n))
    for b in range(B):
        p = int(problem_ids[b])
        # rewards and the answer table
        rewards = []
        for j in range(n):
            a = int(answers[b][j])
            counts[p, a] += 1.0
            rewards.append(1.0 if a == 0 else 0.0)
        # GRPO advantages: (r - mean) / (std + eps), 0 when all rewards are equal
        mean = sum(rewards) / n
        std = (sum((r - mean) ** 2 for r in rewards) / n) ** 0.5
        adv = [(r - mean) / (std + _GRPO_EPS) if std > 0 else 0.0 for r in rewards]
        # per-problem policy and per-rollout gradient of -A log pi(s | p) / (B n)
        pi = _softmax_row((state.u + state.v[p]) / T)
        for j in range(n):
            adv_all[b, j] = adv[j]
            if adv[j] == 0.0:
                continue
            e_s = np.zeros_like(pi)
            e_s[int(strategies[b][j])] = 1.0
            g_v[p] -= adv[j] * (e_s - pi) / (T * B * n)
    g_u = g_v.sum(axis=0)
    new = dataclasses.replace(state, counts=counts, t=state.t + 1)
    apply_update(new, state, g_u, g_v, hyper)  # the same Adam step as the vectorized reference
    return new, adv_all


def loop_rollouts(rng: np.random.Generator, state: RefState, bank_answers: np.ndarray, epsilon: float, n_answers: int, T: float, n: int,
                  batch_size: int):
    """Step 1 with Python loops: B distinct problems, then per rollout a strategy by inverse CDF and
    an answer (the bank's, or with probability epsilon a uniformly random wrong one)."""
    P, S = bank_answers.shape
    pids = rng.choice(P, size=batch_size, replace=False)
    strategies, answers = [], []
    for p in pids:
        cum = np.cumsum(_softmax_row((state.u + state.v[p]) / T))
        s_row, a_row = [], []
        for _ in range(n):
            s = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), S - 1)
            a = int(bank_answers[p, s])
            if rng.random() < epsilon:
                a = int(rng.integers(1, n_answers))
            s_row.append(s)
            a_row.append(a)
        strategies.append(s_row)
        answers.append(a_row)
    return pids, strategies, answers


def loop_run(seed: int, u0, v0, bank_answers, epsilon: float, n_answers: int, hyper: dict, *, n_steps: int, batch_size: int, n_rollouts: int,
             checkpoint_every: int):
    """A whole run of the loop baseline (GRPO + Adam): returns (answer_probs [C, P, m], final state)."""
    rng = np.random.default_rng(seed)
    bank_answers = np.asarray(bank_answers)
    P, S = bank_answers.shape
    T = float(hyper["temperature"])
    state = RefState(u=np.array(u0, np.float64), v=np.array(v0, np.float64), counts=np.zeros((P, n_answers)))

    def probs(st):
        out = np.zeros((P, n_answers))
        for p in range(P):
            pi = _softmax_row((st.u + st.v[p]) / T)
            for s in range(S):
                out[p, bank_answers[p, s]] += (1 - epsilon) * pi[s]
            out[p, 1:] += epsilon / (n_answers - 1)
        return out

    ckpts = [probs(state)]
    for step in range(1, n_steps + 1):
        ro = loop_rollouts(rng, state, bank_answers, epsilon, n_answers, T, n_rollouts, batch_size)
        state, _ = loop_update(state, *ro, hyper)
        if step % checkpoint_every == 0:
            ckpts.append(probs(state))
    return np.stack(ckpts), state


def loop_vs_reference_error(seed: int = 0, steps: int = 3, P: int = 40, S: int = 6, m: int = 4, B: int = 8, n: int = 8) -> float:
    """Max |loop_update - reference_update| over u, v, counts and advantages after ``steps`` steps on
    identical random rollouts (float64)."""
    rng = np.random.default_rng(seed)
    hyper = {"learning_rate": 0.2, "temperature": 0.7, "sharing": 0.3, "bonus_coef": 0.0, "entropy_coef": 0.0, "ucb_b0": 0.0}
    u0, v0 = rng.normal(size=S), 2 * rng.normal(size=(P, S))
    bank = rng.integers(0, m, size=(P, S))
    a = RefState(u=u0.copy(), v=v0.copy(), counts=np.zeros((P, m)))
    b = RefState(u=u0.copy(), v=v0.copy(), counts=np.zeros((P, m)))
    worst = 0.0
    for _ in range(steps):
        pids, strat, ans = loop_rollouts(rng, a, bank, 0.2, m, hyper["temperature"], n, B)
        a, adv_a = loop_update(a, pids, strat, ans, hyper)
        b, adv_b = reference_update(b, pids, np.asarray(strat), np.asarray(ans), hyper, advantage="grpo", optimizer="adam")
        for x, y in ((a.u, b.u), (a.v, b.v), (a.counts, b.counts), (adv_a, adv_b)):
            worst = max(worst, float(np.abs(x - y).max()))
    if np.abs(a.v - v0).max() < 1e-3:
        raise RuntimeError("loop_vs_reference_error: the steps did not move the policy")
    return worst


# ----------------------------------------------------------------------------------------------
# benchmark
# ----------------------------------------------------------------------------------------------


def _best(fn, repeats: int):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        jax.block_until_ready(out)
        best = min(best, time.perf_counter() - t0)
    return best, out


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    n_steps = 100 if quick else 500
    n_seeds = 8 if quick else 64
    loop_steps = 5 if quick else n_steps  # full mode times the whole run (no extrapolation)
    jax_repeats = 3
    bank_cfg = BankConfig(n_problems=512, n_strategies=16, n_answers=8)
    cfg = TrainConfig(n_steps=n_steps, batch_size=64, n_rollouts=16, checkpoint_every=10, advantage="grpo", optimizer="adam")
    bank = make_bank(bank_cfg, jax.random.key(seed))
    policy = init_policy(PolicyConfig(), jax.random.key(seed + 1), bank_cfg.n_problems, bank_cfg.n_strategies)
    hyper = cfg.hyper()
    hyper_np = {k: float(v) for k, v in hyper._asdict().items()}
    key = jax.random.key(seed + 2)

    setting = {
        "bank": dataclasses.asdict(bank_cfg), "policy": dataclasses.asdict(PolicyConfig()),
        "train": dataclasses.asdict(cfg), "n_seeds": n_seeds, "loop_steps": loop_steps,
        "jax_repeats": jax_repeats, "jax_dtype": str(jax.numpy.result_type(float)), "numpy_dtype": "float64",
        "seed": seed, "quick": quick, "devices": [str(d) for d in jax.devices()],
    }
    timings: dict = {"setting": setting}

    # 1. JAX single run
    run_fn = make_run(cfg)
    t0 = time.perf_counter()
    compiled = run_fn.lower(key, bank, policy, hyper).compile()
    t_compile = time.perf_counter() - t0
    t_jax, _ = _best(lambda: compiled(key, bank, policy, hyper), jax_repeats)
    timings["jax"] = {"compile_s": t_compile, "steady_s": t_jax, "steady_per_step_s": t_jax / n_steps}

    # 2. vectorized NumPy reference (one full run)
    u0, v0 = np.asarray(policy.u, np.float64), np.asarray(policy.v, np.float64)
    bank_ans, eps, m = np.asarray(bank.answers), float(bank.epsilon), bank.n_answers
    common = dict(n_steps=n_steps, batch_size=cfg.batch_size, n_rollouts=cfg.n_rollouts, checkpoint_every=cfg.checkpoint_every)
    t0 = time.perf_counter()
    reference_run(seed, u0, v0, bank_ans, eps, m, hyper_np, advantage="grpo", optimizer="adam", **common)
    t_ref = time.perf_counter() - t0
    timings["numpy_reference"] = {"run_s": t_ref, "per_step_s": t_ref / n_steps}

    # 3. plain per-rollout loop baseline: loop_steps steps, extrapolated linearly
    t0 = time.perf_counter()
    loop_run(seed, u0, v0, bank_ans, eps, m, hyper_np, n_steps=loop_steps, batch_size=cfg.batch_size, n_rollouts=cfg.n_rollouts,
             checkpoint_every=loop_steps)
    t_loop_meas = time.perf_counter() - t0
    t_loop = t_loop_meas / loop_steps * n_steps
    extrapolated = loop_steps != n_steps
    loop_err = loop_vs_reference_error(seed)
    timings["numpy_loop"] = {"measured_steps": loop_steps, "measured_s": t_loop_meas, "per_step_s": t_loop_meas / loop_steps,
                             "extrapolated_run_s": t_loop, "extrapolated": extrapolated, "max_abs_diff_vs_reference_update": loop_err}

    ratio_ref = t_ref / t_jax
    ratio_loop = t_loop / t_jax
    timings["ratio_reference_over_jax"] = ratio_ref
    timings["ratio_loop_over_jax"] = ratio_loop

    # 4. seeds vmapped vs sequential
    keys = jax.random.split(jax.random.key(seed + 3), n_seeds)
    t0 = time.perf_counter()
    jax.block_until_ready(run_many(run_fn, keys, bank, policy, hyper))
    t_vm_first = time.perf_counter() - t0
    t_vm, _ = _best(lambda: run_many(run_fn, keys, bank, policy, hyper), 2)
    t0 = time.perf_counter()
    for i in range(n_seeds):
        jax.block_until_ready(compiled(keys[i], bank, policy, hyper))
    t_seq = time.perf_counter() - t0
    timings["seeds"] = {"n_seeds": n_seeds, "vmapped_first_call_s": t_vm_first, "vmapped_compile_s_approx": max(t_vm_first - t_vm, 0.0),
                        "vmapped_steady_s": t_vm, "sequential_s": t_seq, "ratio_sequential_over_vmapped": t_seq / t_vm}

    claims = [
        Claim(f"JAX >= 50x faster than the plain per-rollout NumPy baseline ({n_steps} steps"
              + (f"; loop timed on {loop_steps} steps, extrapolated linearly)" if extrapolated else ", both timed in full)"),
              ratio_loop >= 50, ratio_loop, 50.0),
        Claim(f"JAX faster than the vectorized NumPy reference (sim.reference.reference_run, {n_steps} steps)", ratio_ref > 1, ratio_ref, 1.0),
        Claim("the loop baseline's GRPO+Adam update equals sim.reference.reference_update on identical rollouts (max abs diff)",
              loop_err <= 1e-9, loop_err, 1e-9),
        Claim(f"{n_seeds} seeds vmapped faster than {n_seeds} sequential runs of the compiled function (ratio sequential / vmapped)",
              t_seq / t_vm > 1, t_seq / t_vm, 1.0),
    ]

    out_dir = (results_dir or RESULTS_DIR) / NAME
    atomic_write_text(out_dir / "timings.json", json.dumps(timings, indent=2) + "\n")
    rows = [("jax", "compile_s", t_compile), ("jax", "steady_s", t_jax), ("numpy_reference", "run_s", t_ref),
            ("numpy_loop", "measured_s", t_loop_meas), ("numpy_loop", "extrapolated_run_s", t_loop),
            ("ratio", "reference_over_jax", ratio_ref), ("ratio", "loop_over_jax", ratio_loop),
            ("seeds", "vmapped_first_call_s", t_vm_first), ("seeds", "vmapped_steady_s", t_vm), ("seeds", "sequential_s", t_seq)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["implementation", "quantity", "value", "n_steps", "n_seeds", "quick"])
    for impl, q, v in rows:
        w.writerow([impl, q, f"{v:.6g}", n_steps, n_seeds if impl == "seeds" else 1, quick])
    atomic_write_text(out_dir / "timings.csv", buf.getvalue())
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, setting=setting, timings=timings)

    print(f"full run P=512 S=16 m=8 n=16 B=64, {n_steps} steps, checkpoint every 10:")
    print(f"  JAX: {t_jax:.3f} s steady (best of {jax_repeats}), compile {t_compile:.2f} s")
    print(f"  NumPy vectorized reference: {t_ref:.2f} s  -> ratio {ratio_ref:.1f}x")
    how = f"EXTRAPOLATED linearly from {loop_steps} steps = {t_loop_meas:.2f} s" if extrapolated else "whole run timed"
    print(f"  NumPy plain per-rollout loop: {t_loop:.2f} s ({how}) -> ratio {ratio_loop:.0f}x")
    print(f"  loop update vs reference_update: max |diff| {loop_err:.1e}")
    print(f"{n_seeds} seeds: vmapped {t_vm:.2f} s steady (first call {t_vm_first:.2f} s incl. compile), "
          f"sequential {t_seq:.2f} s -> ratio {t_seq / t_vm:.2f}x")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "timings": timings}
