"""Experiment ``sc_negative_gain``: where self-consistency (majority voting) loses to a single sample.

Question (issue 3, reproduction 1). Majority voting (SC, maj@K) sometimes scores *below* pass@1, and in
real RLVR runs this shows up at particular checkpoints while pass@1 rises. SC gain = maj@K - pass@1 is
negative on a problem exactly when some wrong answer is (nearly) as likely as the correct one; its sign
therefore depends on how consistent the errors are (error consistency epsilon, attractor answers) and
on how peaked the sampling distribution is (temperature T).

Part (a): a map of SC gain over epsilon x T, and a check that sampled SC gain agrees with theory.
- Bank (``sim.bank.BankConfig``): P = 256 problems (quick: 128), S = 16 strategies, m = 8 answers,
  8 clusters, each strategy strong on 2 (q_hi = 0.9, q_lo = 0.02), attractor = 0.8 (wrong strategies
  agree on answer 1 with probability 0.8: the "attractor wrong answer"), no trap. Bank key 1.
- Policy: a *fixed base policy* (not trained): ``PolicyConfig()`` defaults, u ~ N(0, 1), v ~ N(0, 2^2)
  per problem, policy key 2. A fixed policy isolates the effect of epsilon and T; part (b) covers
  training.
- Grid: epsilon in {0, 0.125, ..., 0.875} (8 values) x T in geomspace(0.25, 4, 8) (8 values);
  K in {5, 32}. ``bank.replace(epsilon=...)`` changes only the per-rollout noise, not the bank answers.
- Exact: per problem, answer distribution ``sim.metrics.answer_probs`` -> maj@K by
  ``theory.voting.plurality_accuracy`` (random tie-break) -> SC gain = maj@K - p0; cell value = mean
  over problems.
- Sampled: n = 64 samples per problem (``sim.rollouts.sample_answer_counts``, key
  fold_in(PRNGKey(5), seed) split per cell) -> unbiased maj@K from counts (``theory.voting.maj_at_k``,
  K <= n) minus c0 / n; cell value = mean over problems.
- Agreement: per problem d_i = sampled_i - exact_i is independent across problems with mean 0 (both
  estimators are unbiased for the exact per-problem values), so the cell difference D = mean_i d_i has
  standard error SE = sqrt(sum_i d_i^2) / P (plug-in, unbiased for Var(D)). z = D / SE per cell (z = 0
  where every d_i is 0, i.e. deterministic cells). Claim: max |z| over all 8 x 8 x 2 = 128 cells <= 4.
  Justification: under agreement z is ~ N(0, 1) (P >= 128 terms), and P(max of 128 |N(0,1)| > 4)
  ~ 128 * 6.3e-5 = 0.008, so 4 SE is a Bonferroni-style 1% family-wise test. Mean |D| is reported.
  A second claim: the map has negative cells and positive cells for both K (the sign really depends on
  (epsilon, T)), value = number of negative cells (K = 32).

Part (b): a GRPO run in which pass@1 rises while the exact SC gain is negative at some checkpoints.
- Mechanism (prototype notes): shared learning promoting a strategy that solves one group of problems
  but is consistently wrong, on the same attractor answer, on the others: the bank's trap option
  (strategy 0 solves the ``trap_fraction`` easiest problems and answers the attractor 1 on all others).
- Searched (full mode, one training seed, documented in summary.json ``search``): attractor in
  {0.3, 0.8} x trap_fraction in {0.4, 0.5} x sharing in {0.9, 1.0}; fixed: P = 256, epsilon = 0.02
  (a solving strategy is almost always right, so errors come from the strategies, i.e. are
  consistent), base policy u ~ N(0, 1), v ~ N(0, 2^2) (keys 1, 2), GRPO, Adam, learning rate 0.05,
  T_train = T_eval = 1, 32 problems x 8 rollouts per step, 200 steps, checkpoint every 10 (21
  checkpoints). Selection rule: among settings whose pass@1 rises by >= 0.10 with >= 80% increasing
  checkpoint steps, the smallest exact SC gain@32 at a checkpoint where pass@1 has risen by >= 0.05.
  An earlier exploratory search (not in this module: problem_scale in {1, 2, 3}, attractor in
  {0, 0.3, 0.5, 0.65, 0.8}, trap_fraction in {0.3, ..., 0.7}, learning rate in {0.05, 0.1, 0.2},
  T_eval in {0.7, 1}) found negative SC gain after a pass@1 rise only with a strong attractor (0.8);
  with scattered base errors (attractor <= 0.3) the trap makes SC gain dip (e.g. +0.12 -> +0.01) but
  not below 0, because problems solved by the trap keep a positive gain while the trapped problems'
  p0 collapses to ~0 (where the SC loss, at most p0, vanishes).
- Why the mid-run dip is small (a structural reason, measured and derived): for K -> infinity the
  per-problem SC gain is 1{correct answer leads} - p0, so a dataset-level negative needs problems
  whose errors *lead* while their p0 is still large, and these must outweigh the failure mass
  1 - p0 of the problems whose correct answer leads. In a two-group trap model (trap share t; easy
  problems, fraction f_e, solved by the trap and by a fraction a_e of the other mass; hard problems,
  f_h, solved by a fraction a_h of the non-trap mass, trap leading), SC gain@inf = f_e (1 - t)(1 - a_e)
  - f_h (1 - t) a_h = (1 - t) d pass@1 / dt: the dataset SC gain is negative exactly when pass@1 is
  *falling* along the trap direction. So with one shared direction, negative SC gain and rising
  pass@1 exclude each other; a negative SC gain with rising pass@1 needs several moving parts and
  stays a narrow, shallow window, as in real runs where SC gain "hovers near zero and at some
  checkpoints turns negative". Grids tried in session 3 (single training seed, P = 256, 200 steps):
  attractor {0, 0.3, ..., 0.95} x trap_fraction {0, 0.3, 0.4, 0.5, 0.7} x sharing {0, 0.5, 0.7, 0.8,
  0.9, 1} x problem_scale {0.5, 1, 2, 3} x clusters_per_strategy {2, 3, 4} x min_solvers {0, 4, 5, 6}
  x learning rate {0.05, 0.1}: either the base SC gain is already negative (strong attractor) and
  training raises it, or it stays positive (scattered errors); the deepest "turns negative after
  positive" dip stayed about -0.01.
- Chosen setting (``CHOSEN``; quick mode runs only it): attractor 0.8, trap_fraction 0.4, sharing 1.0
  (training key fold_in(PRNGKey(3), seed)).
- Diagnosis at each checkpoint with negative exact SC gain@K (K = 5 and 32): problems are split into
  *consistent* (a wrong answer overtook the correct one in plurality: max_{a != 0} p_a > p0) and
  *scattered* (p0 still the top answer; voting loses only through small-sample fluctuation or is
  near random). Contribution of a class = (1 / P) sum over its problems of the per-problem SC gain; the
  two contributions sum to the total SC gain (identity, checked to 1e-9). Also reported: each class's
  negative part (sum of per-problem gains < 0 / P) and problem counts, and how many consistent problems
  were not consistent at the base checkpoint ("newly consistent").

Claims (b): pass@1 rises: last - first >= 0.10 (a rise of ~40% over the ~0.25 base) and >= 80% of
consecutive checkpoint steps increase; the exact SC gain@32 is < 0 at >= 1 checkpoint where pass@1 has
already risen by >= 0.05 (value = the smallest such SC gain); a stricter reading of "turns negative":
SC gain@32 < 0 at a checkpoint after it was > 0 at an earlier checkpoint (value = 1 if so, else 0);
the diagnosis identity |consistent + scattered - total| <= 1e-9.

Why plausible: LLM errors concentrate on a few attractive wrong answers (a shared misconception);
shared "skills" learned on one group of problems transfer to others, where they may be a consistent
misconception; T = 1 is the usual RLVR sampling temperature. Outputs: summary.json, checkpoints.npz (the
chosen run), data.csv (tidy: part,setting,epsilon,T,K,checkpoint,step,metric,value), diagnosis.csv,
sc_gain_map.png, sampled_vs_exact.png, trajectory.png.
"""

from __future__ import annotations

import itertools
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
from sim.metrics import answer_probs
from sim.policy import PolicyConfig, init_policy, logits
from sim.rollouts import sample_answer_counts
from sim.train import TrainConfig, make_run, run_many, stack_hypers
from theory.voting import maj_at_k, plurality_accuracy

NAME = "sc_negative_gain"

KS = (5, 32)
# ---- part (a)
MAP_BANK = BankConfig(n_problems=256, attractor=0.8)
MAP_POLICY = PolicyConfig()
EPSILONS = tuple(float(x) for x in np.linspace(0.0, 0.875, 8))
TEMPS = tuple(float(x) for x in np.geomspace(0.25, 4.0, 8))
N_SAMPLES = 64
Z_MAX = 4.0
# ---- part (b)
TRAIN_P = 256
TRAIN_EPS = 0.02
TRAIN_POLICY = PolicyConfig(shared_scale=1.0, problem_scale=2.0)
CONFIG = TrainConfig(n_steps=200, batch_size=32, n_rollouts=8, checkpoint_every=10, advantage="grpo",
                     optimizer="adam", learning_rate=0.05, temperature=1.0, eval_temperature=1.0, sharing=1.0)
SEARCH = {"attractor": (0.3, 0.8), "trap_fraction": (0.4, 0.5), "sharing": (0.9, 1.0)}
CHOSEN = {"attractor": 0.8, "trap_fraction": 0.4, "sharing": 1.0}
RISE_MIN, MONO_MIN, RISEN_AT = 0.10, 0.8, 0.05
IDENTITY_TOL = 1e-9
K_MAIN = 32


# ----------------------------------------------------------------------------------------------- (a)
def sc_map(n_problems: int, seed: int = 0) -> dict:
    """Exact and sampled mean SC gain@K over the epsilon x T grid, with per-cell z-scores."""
    cfg = BankConfig(**{**MAP_BANK.__dict__, "n_problems": n_problems})
    bank = make_bank(cfg, jax.random.PRNGKey(1))
    z = logits(init_policy(MAP_POLICY, jax.random.PRNGKey(2), n_problems, cfg.n_strategies))
    f = jnp.result_type(float)
    eps = jnp.asarray(EPSILONS, f)
    temps = jnp.asarray(TEMPS, f)
    keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(5), seed), len(EPSILONS) * len(TEMPS))
    keys = keys.reshape((len(EPSILONS), len(TEMPS)) + keys.shape[1:])

    def cell(e, T, k):
        b = bank.replace(epsilon=e)
        return answer_probs(z, b, T), sample_answer_counts(k, z, b, T, N_SAMPLES)

    ap, counts = jax.jit(jax.vmap(jax.vmap(cell, (None, 0, 0)), (0, None, 0)))(eps, temps, keys)
    ap = np.asarray(ap, np.float64)
    ap /= ap.sum(-1, keepdims=True)
    counts = np.asarray(counts, np.int64)
    p0 = ap[..., 0]
    c0 = counts[..., 0] / N_SAMPLES
    out = {"pass1_exact": p0.mean(-1), "pass1_sampled": c0.mean(-1)}
    for K in KS:
        ex = np.asarray(plurality_accuracy(ap, K), np.float64) - p0  # [E, T, P]
        sa = np.asarray(maj_at_k(counts, K), np.float64) - c0
        d = sa - ex
        D = d.mean(-1)
        se = np.sqrt(np.sum(d ** 2, axis=-1)) / n_problems
        zs = np.where(se > 0, D / np.where(se > 0, se, 1.0), 0.0)
        out[K] = {"exact": ex.mean(-1), "sampled": sa.mean(-1), "diff": D, "se": se, "z": zs,
                  "neg_frac_exact": (ex < 0).mean(-1)}
    return out


def _map_figures(out_dir: Path, res: dict) -> list[str]:
    plt = pyplot()

    names = []
    fig, axes = plt.subplots(1, len(KS), figsize=(11, 4.4))
    E, T = np.array(EPSILONS), np.array(TEMPS)
    for ax, K in zip(axes, KS):
        g = res[K]["exact"]
        vmax = float(np.max(np.abs(g))) or 1.0
        im = ax.imshow(g, origin="lower", cmap="RdBu", vmin=-vmax, vmax=vmax, aspect="auto",
                       extent=(-0.5, len(T) - 0.5, -0.5, len(E) - 0.5))
        xx, yy = np.meshgrid(np.arange(len(T)), np.arange(len(E)))
        if g.min() < 0 < g.max():
            ax.contour(xx, yy, g, levels=[0.0], colors="k", linewidths=1.5)
        neg = g < 0
        ax.scatter(xx[neg], yy[neg], marker="x", c="k", s=25, label="SC gain < 0")
        ax.set_xticks(range(len(T)), [f"{t:.2g}" for t in T])
        ax.set_yticks(range(len(E)), [f"{e:.3g}" for e in E])
        ax.set_xlabel("sampling temperature T")
        ax.set_ylabel("error consistency knob epsilon (0 = consistent)")
        ax.set_title(f"exact SC gain maj@{K} - pass@1 (mean over problems)")
        fig.colorbar(im, ax=ax)
        if neg.any():
            ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    save_figure(fig, out_dir / "sc_gain_map.png")
    plt.close(fig)
    names.append("sc_gain_map.png")

    fig, axes = plt.subplots(1, len(KS), figsize=(10, 4))
    for ax, K in zip(axes, KS):
        ex, sa, se = res[K]["exact"].ravel(), res[K]["sampled"].ravel(), res[K]["se"].ravel()
        ax.errorbar(ex, sa, yerr=2 * se, fmt="o", ms=3, lw=0.8)
        lo, hi = min(ex.min(), sa.min()), max(ex.max(), sa.max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xlabel(f"exact SC gain@{K} (theory)")
        ax.set_ylabel(f"sampled SC gain@{K} (n = {N_SAMPLES}, ±2 SE)")
        ax.set_title(f"K = {K}: max |z| = {np.abs(res[K]['z']).max():.2f}")
    fig.tight_layout()
    save_figure(fig, out_dir / "sampled_vs_exact.png")
    plt.close(fig)
    names.append("sampled_vs_exact.png")
    return names


# ----------------------------------------------------------------------------------------------- (b)
def _train(attractor: float, trap_fraction: float, sharings, seed: int):
    """One GRPO run per sharing value on the trap bank; exact answer probs [G, C, P, m] (float64)."""
    bank = make_bank(BankConfig(n_problems=TRAIN_P, attractor=attractor, trap_fraction=trap_fraction,
                                epsilon=TRAIN_EPS), jax.random.PRNGKey(1))
    pol = init_policy(TRAIN_POLICY, jax.random.PRNGKey(2), TRAIN_P, 16, CONFIG.temperature)
    base = CONFIG.hyper()
    hyper = stack_hypers([base._replace(sharing=jnp.asarray(s, base.sharing.dtype)) for s in sharings])
    keys = jnp.stack([jax.random.fold_in(jax.random.PRNGKey(3), seed)] * len(sharings))
    out = run_many(make_run(CONFIG), keys, bank, pol, hyper, vary=("hyper",))
    ap = np.asarray(out.checkpoints.answer_probs, np.float64)
    ap /= ap.sum(-1, keepdims=True)
    return ap, np.asarray(out.checkpoints.strategy_entropy, np.float64), np.asarray(out.steps[0], np.int64)


def trajectory_stats(ap: np.ndarray) -> dict:
    """Per-checkpoint exact pass@1 and SC gain@K from answer probs [C, P, m], plus selection stats."""
    p1 = ap[..., 0].mean(-1)
    sc = {K: (np.asarray(plurality_accuracy(ap, K), np.float64) - ap[..., 0]) for K in KS}  # [C, P]
    risen = p1 - p1[0] >= RISEN_AT
    scm = sc[K_MAIN].mean(-1)
    return {"pass1": p1, "sc_per_problem": sc, "sc": {K: v.mean(-1) for K, v in sc.items()},
            "rise": float(p1[-1] - p1[0]), "mono": float(np.mean(np.diff(p1) > 0)),
            "min_sc_after_rise": float(scm[risen].min()) if risen.any() else float("nan"), "risen": risen}


def diagnose(ap: np.ndarray, sc_per_problem: np.ndarray) -> dict:
    """Split the SC gain of one checkpoint (probs [P, m], per-problem gain [P]) into two classes."""
    P = ap.shape[0]
    consistent = ap[:, 1:].max(axis=1) > ap[:, 0]
    out = {"total": float(sc_per_problem.mean())}
    for name, mask in (("consistent", consistent), ("scattered", ~consistent)):
        g = sc_per_problem[mask]
        out[name] = {"n": int(mask.sum()), "contribution": float(g.sum() / P), "loss": float(np.minimum(g, 0).sum() / P)}
    out["identity_error"] = abs(out["consistent"]["contribution"] + out["scattered"]["contribution"] - out["total"])
    out["mask"] = consistent
    return out


def _traj_figure(out_dir: Path, steps, st: dict, diags: dict) -> str:
    plt = pyplot()

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4))
    a1.plot(steps, st["pass1"], "k-o", ms=3, label="pass@1 (exact)")
    a1.set_xlabel("training step")
    a1.set_ylabel("pass@1")
    b = a1.twinx()
    for K, c in zip(KS, ("tab:blue", "tab:red")):
        b.plot(steps, st["sc"][K], "-", color=c, label=f"SC gain@{K}")
        neg = st["sc"][K] < 0
        b.scatter(steps[neg], st["sc"][K][neg], color=c, marker="v", s=40, zorder=3)
    b.axhline(0, color="gray", lw=0.8, ls=":")
    b.set_ylabel("SC gain = maj@K - pass@1 (exact); ▼ negative")
    h1, l1 = a1.get_legend_handles_labels()
    h2, l2 = b.get_legend_handles_labels()
    a1.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    a1.set_title("GRPO run on the trap bank")

    ts = sorted(diags)
    if ts:
        x = np.arange(len(ts))
        cons = np.array([diags[t]["consistent"]["contribution"] for t in ts])
        scat = np.array([diags[t]["scattered"]["contribution"] for t in ts])
        tot = np.array([diags[t]["total"] for t in ts])
        pos_base, neg_base = np.zeros(len(ts)), np.zeros(len(ts))
        for vals, lab, col in ((cons, "consistent errors (max wrong > p0)", "tab:red"),
                               (scat, "scattered (p0 still top)", "tab:blue")):
            bottom = np.where(vals >= 0, pos_base, neg_base)
            a2.bar(x, vals, bottom=bottom, color=col, label=lab)
            pos_base += np.maximum(vals, 0)
            neg_base += np.minimum(vals, 0)
        a2.plot(x, tot, "k_", ms=20, mew=2, label="total SC gain")
        a2.set_xticks(x, [str(int(steps[t])) for t in ts], rotation=90 if len(ts) > 12 else 0)
        a2.axhline(0, color="gray", lw=0.8)
        a2.legend(fontsize=8)
    else:
        a2.text(0.5, 0.5, f"no checkpoint with SC gain@{K_MAIN} < 0", ha="center", transform=a2.transAxes)
    a2.set_xlabel("step of a checkpoint with SC gain@32 < 0")
    a2.set_ylabel("contribution to mean SC gain@32")
    a2.set_title("diagnosis: (1/P) sum of per-problem SC gain by class")
    fig.tight_layout()
    save_figure(fig, out_dir / "trajectory.png")
    plt.close(fig)
    return "trajectory.png"


# ----------------------------------------------------------------------------------------------- run
def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    t0 = time.perf_counter()
    out_dir = Path(results_dir or RESULTS_DIR) / NAME
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = ["part,setting,epsilon,T,K,checkpoint,step,metric,value"]

    # (a) map
    n_map = 128 if quick else MAP_BANK.n_problems
    mres = sc_map(n_map, seed)
    t_map = time.perf_counter() - t0
    for i, e in enumerate(EPSILONS):
        for j, T in enumerate(TEMPS):
            rows.append(f"map,base,{e:.6g},{T:.6g},,,,pass1_exact,{mres['pass1_exact'][i, j]:.6g}")
            rows.append(f"map,base,{e:.6g},{T:.6g},,,,pass1_sampled,{mres['pass1_sampled'][i, j]:.6g}")
            for K in KS:
                for name in ("exact", "sampled", "diff", "se", "z", "neg_frac_exact"):
                    rows.append(f"map,base,{e:.6g},{T:.6g},{K},,,sc_gain_{name},{mres[K][name][i, j]:.6g}")
    zmax = max(float(np.abs(mres[K]["z"]).max()) for K in KS)
    mad = {K: float(np.abs(mres[K]["diff"]).mean()) for K in KS}
    n_neg = {K: int((mres[K]["exact"] < 0).sum()) for K in KS}
    n_pos = {K: int((mres[K]["exact"] > 0).sum()) for K in KS}
    figures = _map_figures(out_dir, mres)

    # (b) search (full mode) and the chosen run
    t1 = time.perf_counter()
    search = []
    if not quick:
        for att, tf in itertools.product(SEARCH["attractor"], SEARCH["trap_fraction"]):
            ap_s, _, _ = _train(att, tf, SEARCH["sharing"], seed)
            for g, sh in enumerate(SEARCH["sharing"]):
                st = trajectory_stats(ap_s[g])
                search.append({"attractor": att, "trap_fraction": tf, "sharing": sh, "rise": st["rise"], "mono": st["mono"],
                               f"sc{K_MAIN}_first": float(st["sc"][K_MAIN][0]),
                               f"sc{K_MAIN}_min_after_rise": st["min_sc_after_rise"],
                               f"sc{K_MAIN}_max": float(st["sc"][K_MAIN].max())})
        ok = [s for s in search if s["rise"] >= RISE_MIN and s["mono"] >= MONO_MIN and np.isfinite(s[f"sc{K_MAIN}_min_after_rise"])]
        best = min(ok, key=lambda s: s[f"sc{K_MAIN}_min_after_rise"]) if ok else None
        selected = {k: best[k] for k in CHOSEN} if best else None
        for s in search:
            tag = f"att={s['attractor']};trap={s['trap_fraction']};sharing={s['sharing']}"
            for k in ("rise", "mono", f"sc{K_MAIN}_first", f"sc{K_MAIN}_min_after_rise", f"sc{K_MAIN}_max"):
                rows.append(f"search,{tag},{TRAIN_EPS},{CONFIG.temperature},{K_MAIN if 'sc' in k else ''},,,{k},{s[k]:.6g}")
    else:
        selected = None
    chosen = selected or CHOSEN
    ap_all, ent_all, steps = _train(chosen["attractor"], chosen["trap_fraction"], (chosen["sharing"],), seed)
    ap, ent = ap_all[0], ent_all[0]
    st = trajectory_stats(ap)
    t_train = time.perf_counter() - t1
    save_checkpoints(out_dir, {"answer_probs": ap, "steps": steps, "strategy_entropy": ent})

    tag = f"att={chosen['attractor']};trap={chosen['trap_fraction']};sharing={chosen['sharing']}"
    for t in range(len(steps)):
        rows.append(f"train,{tag},{TRAIN_EPS},{CONFIG.eval_temperature},,{t},{steps[t]},pass1_exact,{st['pass1'][t]:.6g}")
        for K in KS:
            rows.append(f"train,{tag},{TRAIN_EPS},{CONFIG.eval_temperature},{K},{t},{steps[t]},sc_gain_exact,{st['sc'][K][t]:.6g}")

    base_mask = ap[0, :, 1:].max(axis=1) > ap[0, :, 0]
    diag_rows = ["K,checkpoint,step,class,n_problems,n_newly_consistent,contribution,loss,total_sc_gain,identity_error"]
    diags = {K: {} for K in KS}
    for K in KS:
        for t in np.flatnonzero(st["sc"][K] < 0):
            d = diagnose(ap[t], st["sc_per_problem"][K][t])
            diags[K][int(t)] = d
            newly = int(np.sum(d["mask"] & ~base_mask))
            for cls in ("consistent", "scattered"):
                diag_rows.append(f"{K},{t},{steps[t]},{cls},{d[cls]['n']},{newly if cls == 'consistent' else ''},"
                                 f"{d[cls]['contribution']:.8g},{d[cls]['loss']:.8g},{d['total']:.8g},{d['identity_error']:.3g}")
    atomic_write_text(out_dir / "diagnosis.csv", "\n".join(diag_rows) + "\n")
    atomic_write_text(out_dir / "data.csv", "\n".join(rows) + "\n")
    figures.append(_traj_figure(out_dir, steps, st, diags[K_MAIN]))

    # claims
    scm = st["sc"][K_MAIN]
    turns = any(scm[t] < 0 and np.any(scm[:t] > 0) and st["risen"][t] for t in range(len(scm)))
    id_err = max([d["identity_error"] for K in KS for d in diags[K].values()], default=0.0)
    n_diag = sum(len(diags[K]) for K in KS)
    claims = [
        Claim(f"(a) sampled SC gain (n = {N_SAMPLES} samples/problem, unbiased maj@K) agrees with theory's exact SC gain: "
              f"max |sampled - exact| / SE over {len(EPSILONS)}x{len(TEMPS)} cells x K in {list(KS)} <= {Z_MAX} "
              f"(mean |diff| K=5: {mad[5]:.4f}, K=32: {mad[32]:.4f})", zmax <= Z_MAX, zmax, Z_MAX),
        Claim(f"(a) the exact SC gain map has negative and positive cells for K = 5 and 32 "
              f"(negative cells K=5: {n_neg[5]}, K=32: {n_neg[32]} of {len(EPSILONS) * len(TEMPS)}); value = negative cells at K = 32",
              all(n_neg[K] > 0 and n_pos[K] > 0 for K in KS), n_neg[K_MAIN], 1),
        Claim(f"(b) exact pass@1 rises: last - first >= {RISE_MIN} ({st['pass1'][0]:.3f} -> {st['pass1'][-1]:.3f}) and "
              f"increases at >= {MONO_MIN:.0%} of checkpoint steps (measured {st['mono']:.0%})",
              st["rise"] >= RISE_MIN and st["mono"] >= MONO_MIN, st["rise"], RISE_MIN),
        Claim(f"(b) exact SC gain@{K_MAIN} < 0 at >= 1 checkpoint after pass@1 has risen by >= {RISEN_AT}; "
              "value = the smallest such SC gain", st["min_sc_after_rise"] < 0, st["min_sc_after_rise"], 0.0),
        Claim(f"(b) strict 'turns negative': SC gain@{K_MAIN} < 0 at a checkpoint (after pass@1 rose by >= {RISEN_AT}) "
              "following a checkpoint with SC gain > 0; value = 1 if so", bool(turns), float(turns), 1.0),
        Claim(f"(b) diagnosis identity: consistent + scattered contributions = total SC gain at every one of the "
              f"{n_diag} negative (checkpoint, K) pairs; value = max |error|", n_diag > 0 and id_err <= IDENTITY_TOL, id_err, IDENTITY_TOL),
    ]

    diag_summary = {str(K): {str(int(steps[t])): {"total": d["total"], "consistent": d["consistent"], "scattered": d["scattered"]}
                             for t, d in diags[K].items()} for K in KS}
    setting = {
        "map": {"bank": MAP_BANK.__dict__ | {"n_problems": n_map}, "bank_key": 1, "policy": MAP_POLICY.__dict__, "policy_key": 2,
                "policy_kind": "fixed base policy (untrained)", "epsilons": list(EPSILONS), "temperatures": list(TEMPS),
                "Ks": list(KS), "n_samples": N_SAMPLES, "sample_key": f"fold_in(PRNGKey(5), {seed}) split per cell",
                "se": "sqrt(sum_i d_i^2)/P, d_i = sampled_i - exact_i", "z_max": Z_MAX},
        "train": {"n_problems": TRAIN_P, "epsilon": TRAIN_EPS, "bank_key": 1, "policy": TRAIN_POLICY.__dict__, "policy_key": 2,
                  "config": CONFIG.__dict__, "train_key": f"fold_in(PRNGKey(3), {seed})", "search_grid": {k: list(v) for k, v in SEARCH.items()},
                  "chosen": chosen, "chosen_by": "search (full mode)" if selected else "fixed CHOSEN (quick mode or no qualifying setting)",
                  "selection_rule": f"rise >= {RISE_MIN}, mono >= {MONO_MIN}, then min SC gain@{K_MAIN} after pass@1 rose >= {RISEN_AT}",
                  "diagnosis_classes": "consistent: max_{a!=0} p_a > p0; scattered: otherwise"},
    }
    timings = {"map_s": t_map, "train_s": t_train, "total_s": time.perf_counter() - t0}
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, seed=seed, setting=setting, search=search,
                  trajectory={"steps": steps.tolist(), "pass1": st["pass1"].tolist(), **{f"sc_gain@{K}": st["sc"][K].tolist() for K in KS}},
                  diagnosis=diag_summary, map={"max_abs_z": zmax, "mean_abs_diff": {str(k): v for k, v in mad.items()},
                                               "negative_cells": {str(k): v for k, v in n_neg.items()}},
                  figures=figures, timings=timings)

    print(f"sc_negative_gain ({'quick' if quick else 'full'}): map {n_map} problems in {t_map:.1f} s, training {t_train:.1f} s")
    print(f"  map: negative cells K=5 {n_neg[5]}, K=32 {n_neg[32]} / {len(EPSILONS) * len(TEMPS)}; max |z| {zmax:.2f}")
    print(f"  run ({tag}): pass@1 " + " ".join(f"{x:.2f}" for x in st["pass1"][::2]))
    print("  SC gain@32        " + " ".join(f"{x:+.3f}" for x in st["sc"][32][::2]))
    for s in search:
        print(f"  search {s}")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "timings": timings, "chosen": chosen}

