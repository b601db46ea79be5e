"""Experiment ``passk_eta``: Pass@k training in the strategy-bandit simulator (issue 3, reproduction 3).

Parts
-----
1. **eta curves.** eta = sum_j |A_j| of one group (Chen et al. 2025, eq. 16) is recorded by the
   simulator for every group of every training step (``StepSignals.n_pos``, ``StepSignals.eta``).
   For the analytic advantages it is a deterministic function of N_pos, so the measured per-group eta
   must equal ``theory.advantage.eta(passk_analytic_advantage, N, k=k)`` at that N_pos up to float32
   rounding. Measured from the training runs of GRPO (k = 1; the sim's GRPO uses std + 1e-6, a
   relative difference <= 1e-6 / std(r) <= 5e-6 from the eps-free k = 1 analytic curve) and of the
   analytic Pass@k advantage at k = 4 and k = 8. Claim: max relative deviation over all recorded
   groups <= 1e-4 (relative to max(eta_theory, 1e-6); where theory is 0 the measured value is 0 too).
2. **Trap bank.** ``BankConfig(trap_fraction=0.5)``: strategy 0 solves the easiest half of the
   problems and answers the attractor on the rest, a shared skill that GRPO's shared-logit learning
   promotes everywhere (crowding out the other strategies, i.e. exploration). Arms (same bank, same
   base policy, the same training keys per seed):
   - ``grpo`` (Pass@1), ``passk_k8`` (analytic Pass@k, k = 8), ``passk_k4`` (k = 4), ``combination``
     (eq. 18, k = 8);
   - ``passk_then_grpo``: the first half of the ``passk_k8`` run, then GRPO for the remaining steps
     from the Pass@k policy at the half-way checkpoint (continued as Policy(u = 0, v = z_half): the
     dynamics depend only on z = u + v, because the sharing knob scales the *steps* of u and v, and
     Adam's direction does not depend on parameter values; the optimizer state and answer table are
     fresh at the switch, as when a new training job is started from a saved checkpoint);
   - controls (full mode only, see "Quick mode"): ``noisy_reward`` (negative rewards flipped with
     probability 0.1), ``entropy_regularized`` (entropy_coef = 0.05), and the exploration bonuses
     ``ucb_con`` (bonus 0.2, b0 = 0.5) and ``batch`` (bonus 0.2).
   Exact metrics at every checkpoint (eval temperature = training temperature = 1): mean strategy
   entropy (nats), pass@1 and pass@16 (1 - (1 - p0)^16, iid) averaged over problems and seeds.
   Claims: Pass@k (k = 8) ends with higher entropy than Pass@1; ends with higher pass@16 (reported
   either way); Pass@k-then-Pass@1 recovers pass@1: final pass@1 >= GRPO's final pass@1 - 0.02 (2
   points, a tolerance stated before the runs; the seed-to-seed standard error of the mean final
   pass@1 is about 0.002 here, so it is not a noise allowance but a "close to GRPO" criterion), plus
   two direction claims: the two-phase run ends above Pass@k alone in pass@1, and at least at GRPO's
   pass@16.
   Full mode adds: the entropy-regularised and noisy-reward controls end with higher entropy than
   GRPO (reported either way).
3. **Answer diversity on unsolved problems.** Unsolved = exact p_correct < 0.1 under GRPO's final
   policy (per seed). On that common set, the expected number of distinct answers in 8 samples,
   D8 = sum_a 1 - (1 - p_a)^8 (exact, from the answer distribution; it includes the epsilon noise
   floor), for the base policy and each arm's final policy. Claims: GRPO reduces D8 below the base
   policy (transfer of diversity degradation: the problems were not solved, so what changed them is
   learning on other problems through the shared logits); in full mode, UCB-Con and the batch bonus
   end with D8 above GRPO's (direction reported; the facts file's numbers 4.81 / 4.86 / 5.39 are not
   targets).

Setting (every knob)
--------------------
Bank: P = 128 problems, S = 16 strategies, m = 8 answers, 8 clusters, 2 clusters per strategy,
q_hi = 0.9, q_lo = 0.02, min_solvers = 0, attractor = 0.8, epsilon = 0.1, trap_fraction = 0.5
(bank key = seed). Base policy: shared_scale 1, problem_scale 2, rescaled to mean strategy entropy
2.0 nats at T = 1 (max log 16 = 2.77; a base model that is diverse but not uniform; policy key =
seed + 1). Training: Adam, learning_rate 0.05, sharing 0.5, T = 1, B = 32 problems per step,
N = 16 rollouts per problem. Full: 300 steps, checkpoint every 10, 16 training seeds (vmapped with
``sim.train.run_many``). Quick: 60 steps, checkpoint every 6, 4 seeds.
Why plausible: 16 rollouts and k = 4..8 are the paper's regime (Chen et al. use N = 32, k = 4..8);
a shared "trap" skill that solves easy problems is the documented way GRPO collapses exploration; a
2-nat base entropy leaves room for both exploitation and exploration.

Quick mode compiles one run per arm (about 3 s each on this machine), so it runs only grpo,
passk_k8, passk_k4, combination and passk_then_grpo (which reuses the GRPO compilation); the
controls and the exploration bonuses are full mode only, and their claims appear only there.

Outputs in results/passk_eta/: summary.json (claims + setting), data.csv (tidy: one row per
observation), checkpoints.npz (GRPO, seed 0) and arms/<arm>/checkpoints.npz (seed 0 of each arm),
eta.png, training.png, diversity.png.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from common.atomic import atomic_write_text
from common.figures import pyplot, save_figure
from common.results import RESULTS_DIR, Claim, print_claims, write_summary
from sim.bank import BankConfig, make_bank
from sim.checkpoints import save_checkpoints
from sim.policy import Policy, PolicyConfig, init_policy
from sim.train import TrainConfig, make_run, run_many
from theory.advantage import eta as theory_eta
from theory.advantage import passk_analytic_advantage
from theory.passk import pass_at_k_from_p

NAME = "passk_eta"

BANK = BankConfig(n_problems=128, n_strategies=16, n_answers=8, n_clusters=8, clusters_per_strategy=2, q_hi=0.9, q_lo=0.02,
                  min_solvers=0, attractor=0.8, epsilon=0.1, trap_fraction=0.5)
POLICY = PolicyConfig(shared_scale=1.0, problem_scale=2.0, target_entropy=2.0)
COMMON = dict(batch_size=32, n_rollouts=16, optimizer="adam", learning_rate=0.05, temperature=1.0, sharing=0.5)
EVAL_K = 16  # exact pass@k reported over training
DIV_SAMPLES = 8  # distinct answers expected in this many samples
UNSOLVED_THRESHOLD = 0.1  # exact p_correct below this at the end of GRPO training = unsolved
ETA_TOL = 1e-4
RECOVER_TOL = 0.02

# arm -> (advantage, k, extra TrainConfig knobs); passk_then_grpo is built from passk_k8 and grpo
ARMS_QUICK = {
    "grpo": ("grpo", 1, {}),
    "passk_k8": ("passk_analytic", 8, {}),
    "passk_k4": ("passk_analytic", 4, {}),
    "combination": ("combination", 8, {}),
}
ARMS_FULL_EXTRA = {
    "noisy_reward": ("noisy_reward", 1, {"noise_rate": 0.1}),
    "entropy_regularized": ("entropy_regularized", 1, {"entropy_coef": 0.05}),
    "ucb_con": ("ucb_con", 1, {"bonus_coef": 0.2, "ucb_b0": 0.5}),
    "batch": ("batch", 1, {"bonus_coef": 0.2}),
}
ETA_ARMS = {1: "grpo", 4: "passk_k4", 8: "passk_k8"}


def _setting(quick: bool):
    return dict(n_steps=60, checkpoint_every=6, n_seeds=4) if quick else dict(n_steps=300, checkpoint_every=10, n_seeds=16)


def _config(adv: str, k: int, extra: dict, st: dict) -> TrainConfig:
    return TrainConfig(n_steps=st["n_steps"], checkpoint_every=st["checkpoint_every"], advantage=adv, k=k, **COMMON, **extra)


def _stack_policy(policies: list[Policy]) -> Policy:
    return Policy(u=jnp.stack([p.u for p in policies]), v=jnp.stack([p.v for p in policies]))


def _np_run(out) -> dict:
    ck = out.checkpoints
    return {
        "steps": np.asarray(out.steps[0]),
        "answer_probs": np.asarray(ck.answer_probs, dtype=np.float64),  # [G, C, P, m]
        "strategy_entropy": np.asarray(ck.strategy_entropy, dtype=np.float64),  # [G, C, P]
        "logits": np.asarray(ck.logits),
        "n_pos": np.asarray(out.signals.n_pos),  # [G, steps, B]
        "eta": np.asarray(out.signals.eta),
    }


def _slice(run: dict, sl) -> dict:
    return {k: (v if k == "steps" else v[sl]) for k, v in run.items()}


def distinct_answers(probs: np.ndarray, n: int) -> np.ndarray:
    """Expected number of distinct answers among n iid samples: sum_a 1 - (1 - p_a)^n (last axis)."""
    return np.sum(pass_at_k_from_p(np.clip(probs, 0.0, 1.0), n), axis=-1)


def _curves(run: dict) -> dict:
    """Per-seed curves [G, C] of the exact metrics (means over problems)."""
    p0 = run["answer_probs"][..., 0]
    return {
        "strategy_entropy": run["strategy_entropy"].mean(-1),
        "pass@1": p0.mean(-1),
        f"pass@{EVAL_K}": pass_at_k_from_p(np.clip(p0, 0.0, 1.0), EVAL_K).mean(-1),
    }


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    t_start = time.perf_counter()
    st = _setting(quick)
    G, n_steps = st["n_seeds"], st["n_steps"]
    half = n_steps // 2
    if half % st["checkpoint_every"]:
        raise ValueError("checkpoint_every must divide n_steps / 2 (the Pass@k -> Pass@1 switch)")
    out_dir = Path(results_dir or RESULTS_DIR) / NAME
    N = COMMON["n_rollouts"]

    bank = make_bank(BANK, jax.random.key(seed))
    base = init_policy(POLICY, jax.random.key(seed + 1), BANK.n_problems, BANK.n_strategies, COMMON["temperature"])
    keys = jax.random.split(jax.random.key(seed + 2), G)  # the same training keys for every arm
    arms = dict(ARMS_QUICK) if quick else {**ARMS_QUICK, **ARMS_FULL_EXTRA}

    runs: dict[str, dict] = {}
    # passk_k8 first: its half-way checkpoints seed the GRPO continuation, which shares GRPO's compilation
    order = ["passk_k8"] + [a for a in arms if a != "passk_k8"]
    for arm in order:
        adv, k, extra = arms[arm]
        cfg = _config(adv, k, extra, st)
        run_fn = make_run(cfg)
        if arm == "grpo":
            ih = half // st["checkpoint_every"]
            z_half = jnp.asarray(runs["passk_k8"]["logits"][:, ih])  # [G, P, S]
            pol = _stack_policy([base] * G + [Policy(u=jnp.zeros(BANK.n_strategies, z_half.dtype), v=z_half[g]) for g in range(G)])
            k2 = jnp.concatenate([keys, jax.random.split(jax.random.key(seed + 3), G)])
            both = _np_run(run_many(run_fn, k2, bank, pol, cfg.hyper(), vary=("policy",)))
            runs["grpo"] = _slice(both, slice(0, G))
            cont = _slice(both, slice(G, 2 * G))
            pk = runs["passk_k8"]
            nc = ih + 1  # continuation checkpoints 0..ih = steps half..n_steps; its checkpoint 0 = passk's ih
            runs["passk_then_grpo"] = {
                "steps": pk["steps"],
                "answer_probs": np.concatenate([pk["answer_probs"][:, :ih], cont["answer_probs"][:, :nc]], axis=1),
                "strategy_entropy": np.concatenate([pk["strategy_entropy"][:, :ih], cont["strategy_entropy"][:, :nc]], axis=1),
                "logits": np.concatenate([pk["logits"][:, :ih], cont["logits"][:, :nc]], axis=1),
                "n_pos": np.concatenate([pk["n_pos"][:, :half], cont["n_pos"][:, :half]], axis=1),
                "eta": np.concatenate([pk["eta"][:, :half], cont["eta"][:, :half]], axis=1),
            }
        else:
            pol = _stack_policy([base] * G)
            runs[arm] = _np_run(run_many(run_fn, keys, bank, pol, cfg.hyper(), vary=("policy",)))
    t_train = time.perf_counter() - t_start
    arm_names = [a for a in ["grpo", "passk_k8", "passk_k4", "combination", "passk_then_grpo", *ARMS_FULL_EXTRA] if a in runs]
    steps = runs["grpo"]["steps"]

    rows: list[dict] = []

    # ---- part 1: eta
    eta_res = {}
    for k, arm in ETA_ARMS.items():
        theory = np.asarray(theory_eta(lambda r, k=k: passk_analytic_advantage(r, k=k), N), dtype=np.float64)
        npos = runs[arm]["n_pos"].ravel()
        meas = runs[arm]["eta"].ravel().astype(np.float64)
        th = theory[npos]
        rel = np.abs(meas - th) / np.maximum(np.abs(th), 1e-6)
        per = {}
        for c in range(N + 1):
            sel = npos == c
            per[c] = (int(sel.sum()), float(meas[sel].mean()) if sel.any() else float("nan"),
                      float(rel[sel].max()) if sel.any() else float("nan"))
            rows.append(dict(part="eta", method=arm, k=k, n_pos=c, seed="", step="", metric="eta_theory", value=float(theory[c])))
            if sel.any():
                rows.append(dict(part="eta", method=arm, k=k, n_pos=c, seed="", step="", metric="eta_measured_mean", value=per[c][1]))
                rows.append(dict(part="eta", method=arm, k=k, n_pos=c, seed="", step="", metric="n_groups", value=per[c][0]))
                rows.append(dict(part="eta", method=arm, k=k, n_pos=c, seed="", step="", metric="max_rel_dev", value=per[c][2]))
        eta_res[k] = dict(arm=arm, theory=theory, per=per, max_rel=float(rel.max()), n_groups=int(npos.size))

    # ---- part 2: training curves
    curves = {a: _curves(runs[a]) for a in arm_names}
    for a in arm_names:
        for metric, arr in curves[a].items():
            for g in range(G):
                for ci, s in enumerate(steps):
                    rows.append(dict(part="training", method=a, k="", n_pos="", seed=g, step=int(s), metric=metric, value=float(arr[g, ci])))
    final = {a: {m: float(v[:, -1].mean()) for m, v in curves[a].items()} for a in arm_names}
    final_se = {a: {m: float(v[:, -1].std(ddof=1) / np.sqrt(G)) for m, v in curves[a].items()} for a in arm_names}

    # ---- part 3: answer diversity on problems still unsolved by GRPO
    p_grpo_end = runs["grpo"]["answer_probs"][:, -1]  # [G, P, m]
    unsolved = p_grpo_end[..., 0] < UNSOLVED_THRESHOLD  # [G, P]
    div = {}
    base_probs = runs["grpo"]["answer_probs"][:, 0]
    d_base = distinct_answers(base_probs, DIV_SAMPLES)
    div["base"] = float(d_base[unsolved].mean()) if unsolved.any() else float("nan")
    div_own = {}
    for a in arm_names:
        pa = runs[a]["answer_probs"][:, -1]
        d = distinct_answers(pa, DIV_SAMPLES)
        div[a] = float(d[unsolved].mean()) if unsolved.any() else float("nan")
        own = pa[..., 0] < UNSOLVED_THRESHOLD
        div_own[a] = {"d8": float(d[own].mean()) if own.any() else float("nan"), "n_unsolved_per_seed": float(own.sum(1).mean())}
    for a, v in div.items():
        rows.append(dict(part="diversity", method=a, k="", n_pos="", seed="", step=int(steps[0] if a == "base" else steps[-1]),
                         metric=f"distinct_answers@{DIV_SAMPLES}_on_grpo_unsolved", value=v))
    n_unsolved = float(unsolved.sum(1).mean())

    # ---- claims
    claims = []
    for k, r in eta_res.items():
        claims.append(Claim(f"eta measured from the sim's rollouts ({r['arm']}, {r['n_groups']} groups, N={N}) equals theory's "
                            f"eta(passk_analytic, k={k}) at each group's N_pos: max relative deviation <= {ETA_TOL:g}",
                            r["max_rel"] <= ETA_TOL, r["max_rel"], ETA_TOL))
    e_pk, e_g = final["passk_k8"]["strategy_entropy"], final["grpo"]["strategy_entropy"]
    claims.append(Claim("trap bank: Pass@k (k=8) training ends with higher mean strategy entropy than Pass@1/GRPO "
                        "(value = entropy difference, nats)", e_pk > e_g, e_pk - e_g, 0.0))
    pk_pk, pk_g = final["passk_k8"][f"pass@{EVAL_K}"], final["grpo"][f"pass@{EVAL_K}"]
    claims.append(Claim(f"trap bank: Pass@k (k=8) training ends with higher exact pass@{EVAL_K} than Pass@1/GRPO "
                        "(value = difference)", pk_pk > pk_g, pk_pk - pk_g, 0.0))
    gap = final["grpo"]["pass@1"] - final["passk_then_grpo"]["pass@1"]
    claims.append(Claim(f"trap bank: Pass@k-then-Pass@1 recovers pass@1: GRPO final pass@1 minus two-phase final pass@1 "
                        f"<= {RECOVER_TOL}", gap <= RECOVER_TOL, gap, RECOVER_TOL))
    d = final["passk_then_grpo"]["pass@1"] - final["passk_k8"]["pass@1"]
    claims.append(Claim("trap bank: Pass@k-then-Pass@1 ends with higher pass@1 than Pass@k alone (value = difference)", d > 0, d, 0.0))
    d = final["passk_then_grpo"][f"pass@{EVAL_K}"] - pk_g
    claims.append(Claim(f"trap bank: Pass@k-then-Pass@1 ends with pass@{EVAL_K} at least GRPO's (value = difference)", d >= 0, d, 0.0))
    claims.append(Claim(f"GRPO reduces answer diversity on problems it leaves unsolved (p_correct < {UNSOLVED_THRESHOLD}): "
                        f"expected distinct answers in {DIV_SAMPLES} samples, base minus GRPO final > 0",
                        bool(div["base"] - div["grpo"] > 0), div["base"] - div["grpo"], 0.0))
    if not quick:
        for a in ("entropy_regularized", "noisy_reward"):
            d = final[a]["strategy_entropy"] - e_g
            claims.append(Claim(f"control {a}: ends with higher mean strategy entropy than GRPO (value = difference, nats)", d > 0, d, 0.0))
        for a in ("ucb_con", "batch"):
            d = div[a] - div["grpo"]
            claims.append(Claim(f"{a}: higher answer diversity than GRPO on GRPO-unsolved problems (distinct answers in "
                                f"{DIV_SAMPLES} samples, value = difference)", d > 0, d, 0.0))

    # ---- outputs
    out_dir.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["part", "method", "k", "n_pos", "seed", "step", "metric", "value"])
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(out_dir / "data.csv", buf.getvalue())

    def ck(a):
        r = runs[a]
        return {"answer_probs": r["answer_probs"][0], "steps": r["steps"].astype(np.int64),
                "strategy_entropy": r["strategy_entropy"][0], "logits": r["logits"][0]}

    save_checkpoints(out_dir, ck("grpo"))
    for a in arm_names:
        save_checkpoints(out_dir / "arms" / a, ck(a))

    _figures(out_dir, eta_res, curves, steps, arm_names, div, N)

    setting = {
        "bank": BANK.__dict__, "policy": POLICY.__dict__, "train": {**COMMON, **st},
        "arms": {a: {"advantage": v[0], "k": v[1], **v[2]} for a, v in arms.items()},
        "passk_then_grpo": f"passk_k8 for {half} steps, then grpo for {n_steps - half} steps from the passk policy at step {half}",
        "eval": {"temperature": COMMON["temperature"], "pass_k": EVAL_K, "diversity_samples": DIV_SAMPLES,
                 "unsolved_threshold": UNSOLVED_THRESHOLD}, "seed": seed,
    }
    results = {
        "final_means": final, "final_standard_errors": final_se,
        "diversity_on_grpo_unsolved": div, "diversity_on_own_unsolved": div_own, "n_grpo_unsolved_per_seed": n_unsolved,
        "eta_max_rel_dev": {str(k): r["max_rel"] for k, r in eta_res.items()},
        "runtime_s": time.perf_counter() - t_start, "train_s": t_train,
    }
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, setting=setting, results=results)

    print(f"passk_eta ({'quick' if quick else 'full'}): {G} seeds x {n_steps} steps, {len(arm_names)} arms, "
          f"{results['runtime_s']:.1f} s (training incl. compilation {t_train:.1f} s)")
    for k, r in eta_res.items():
        print(f"  eta k={k}: max rel deviation {r['max_rel']:.2e} over {r['n_groups']} groups")
    for a in arm_names:
        f = final[a]
        print(f"  {a:20s} final entropy {f['strategy_entropy']:.3f}  pass@1 {f['pass@1']:.3f}  pass@{EVAL_K} {f[f'pass@{EVAL_K}']:.3f}"
              f"  D{DIV_SAMPLES}(GRPO-unsolved) {div[a]:.2f}")
    print(f"  base D{DIV_SAMPLES} on GRPO-unsolved ({n_unsolved:.1f} problems/seed): {div['base']:.2f}")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "setting": setting, "results": results}


def _figures(out_dir: Path, eta_res, curves, steps, arm_names, div, N) -> None:
    plt = pyplot()

    colors = {1: "C0", 4: "C2", 8: "C1"}
    fig, ax = plt.subplots(figsize=(5.5, 4))
    x = np.arange(N + 1)
    for k, r in eta_res.items():
        ax.plot(x / N, r["theory"], "-", color=colors[k], label=f"theory k={k}" + (" (GRPO)" if k == 1 else ""))
        pts = [(c, v[1]) for c, v in r["per"].items() if v[0] > 0]
        ax.plot([c / N for c, _ in pts], [v for _, v in pts], "o", mfc="none", color=colors[k], label=f"measured mean ({r['arm']})")
    ax.set_xlabel(f"rollout accuracy N_pos / N (N = {N})")
    ax.set_ylabel("eta = sum |A| per group")
    ax.legend(fontsize=7)
    ax.set_title("eta: sim rollouts vs theory")
    save_figure(fig, out_dir / "eta.png")
    plt.close(fig)

    metrics = list(next(iter(curves.values())).keys())
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, m in zip(axes, metrics):
        for a in arm_names:
            mean = curves[a][m].mean(0)
            ls = "--" if a in ARMS_FULL_EXTRA else "-"
            ax.plot(steps, mean, ls, label=a)
        ax.set_xlabel("training step")
        ax.set_title(m + (" (nats)" if m == "strategy_entropy" else " (exact)"))
    axes[0].legend(fontsize=7)
    fig.suptitle("trap bank: mean over problems and seeds")
    save_figure(fig, out_dir / "training.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    names = list(div.keys())
    ax.bar(range(len(names)), [div[n] for n in names], color=["grey"] + [f"C{i}" for i in range(len(names) - 1)])
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"E[# distinct answers in {DIV_SAMPLES} samples]")
    ax.set_title(f"answer diversity on problems GRPO leaves unsolved (p_correct < {UNSOLVED_THRESHOLD})")
    save_figure(fig, out_dir / "diversity.png")
    plt.close(fig)

