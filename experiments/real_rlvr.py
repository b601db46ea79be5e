"""Experiment ``real_rlvr``: the small real RLVR run of the language-model lab, measured against theory.

Runs ``real.lab.run.run_lab`` (base model by SFT -> RL -> every checkpoint sampled on the test set ->
``real.logs`` analysis; setting ``real.lab.config.QUICK`` or ``FULL``) into ``results/real_rlvr`` and
checks, as claims in ``summary.json``:
- the base model's per-problem success rates spread over (0, 1);
- RLVR raises test pass@1, and the rise's paired bootstrap 95% interval over test problems excludes 0;
- SC gain predicted from half of each problem's samples (``real.logs.predict``, Dirichlet model) vs the
  exact estimator on the other half (split by a multivariate hypergeometric draw), against the realized
  value's 95% half-width;
- the beta-binomial pass@k curve fitted on half the samples (``theory.passk``, posterior predictive per
  problem) vs the unbiased estimate on the other half;
- eta = sum |A| measured on the RL rollouts vs ``theory.advantage.eta`` at each group's N_pos (for
  advantages that depend on the group's rewards alone);
and records coverage rotation between checkpoints and the negative-SC checkpoints. ``validation.png``
draws pass@1, SC gain (predicted vs realized) and eta. results/ is output: a folder holding a run of
another setting is replaced (``on_stale="replace"``), where ``python -m real rlvr`` refuses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from common.figures import pyplot, save_figure
from common.results import RESULTS_DIR, Claim, print_claims, write_summary
from real.lab.config import FULL, QUICK, RunConfig

NAME = "real_rlvr"
N_BOOT_RISE = 2000  # paired bootstrap resamples of the pass@1 rise
SEED_RISE = 9  # seed offsets (added to the run's seed) of the rise bootstrap and of the split-half draw
SEED_SPLIT = 7


def run(quick: bool = False, results_dir=None, cfg: RunConfig | None = None, log=print) -> dict:
    """The lab run (``QUICK`` or ``FULL`` unless ``cfg``) in ``<results_dir>/real_rlvr``, then the claims."""
    from real.lab.run import run_lab

    cfg = cfg or (QUICK if quick else FULL)
    out = Path(results_dir or RESULTS_DIR) / NAME
    lab = run_lab(out, cfg, on_stale="replace", log=log)
    claims, validation = validate(lab["table"], lab["analysis"], lab["logs"], cfg)
    _figure(out, lab["table"], validation)
    write_summary(NAME, claims, folder=out, quick=quick, setting=cfg.to_dict(), base=lab["base"], problems=lab["problems"],
                  steps=lab["steps"], validation=validation, timings=lab["timings"], out_dir=str(out))
    print_claims(claims, log=log)
    return {"claims": [c.as_dict() for c in claims], "timings": lab["timings"]}


def eta_curve(name: str, N: int, k: int):
    """theory's eta(N_pos), N_pos = 0..N (``theory.advantage.eta`` of the closed form), for the registry entries
    whose advantage depends on the group's rewards alone; None for the others (bonuses, stochastic, batch-ranked)."""
    from theory import advantage as ta

    closed = {"grpo": lambda r: ta.grpo_advantage(r), "drgrpo": ta.drgrpo_advantage,
              "passk_analytic": lambda r: ta.passk_analytic_advantage(r, k=k),
              "combination": lambda r: ta.combination_advantage(r, k=k), "exceed_passk": lambda r: ta.exceed_passk_advantage(r, k=k)}
    return np.asarray(ta.eta(closed[name], N)) if name in closed else None


def validate(table, res: dict, logs: list, cfg: RunConfig) -> tuple[list, dict]:
    """Theory vs measurement on the real checkpoints (module docstring)."""
    from common.bootstrap import bootstrap_mean, bootstrap_weights
    from real.logs.predict import predict_per_problem
    from theory.passk import fit_beta_binomial, pass_at_k, predicted_pass_at_k
    from theory.voting import maj_at_k

    p1 = res["metrics"]["pass_at_k"]["estimate"][:, 0]
    rise = float(p1[-1] - p1[0])
    # paired bootstrap over test problems of the rise (last checkpoint minus base)
    per = table.n_correct / np.maximum(table.n_samples, 1)
    ci = bootstrap_mean(per[-1] - per[0], bootstrap_weights(per.shape[1], N_BOOT_RISE, seed=cfg.seed + SEED_RISE))
    rise_ci = (float(ci["low"]), float(ci["high"]))
    # split-half: each cell's counts split into two halves by a multivariate hypergeometric draw
    rng = np.random.default_rng(cfg.seed + SEED_SPLIT)
    vc, ab = table.vote_counts()
    half = cfg.evaluation.n_samples // 2
    K = half
    sc_rows, pk_rows = [], []
    for c in range(len(table.checkpoints)):
        a = np.array([rng.multivariate_hypergeometric(row, half) for row in vc[c]])
        b = vc[c] - a
        # predicted SC gain = the model's maj@K minus the model's pass@1 (both posterior-predictive)
        pred = predict_per_problem(a, [K], model="dirichlet", abstain=ab)["sc_gain"][0]
        real = np.asarray(maj_at_k(b, K, abstain=ab)) - b[:, 0] / half
        hw = 1.96 * real.std(ddof=1) / np.sqrt(len(real))
        sc_rows.append({"checkpoint": table.checkpoints[c], "predicted": float(pred.mean()), "realized": float(real.mean()), "half_width": float(hw)})
        fit = fit_beta_binomial(np.full(len(a), half), a[:, 0]) if 0 < a[:, 0].sum() < half * len(a) else None  # else degenerate
        for k in [k for k in (1, 2, 4, 8, 16) if k <= half]:
            meas = float(np.mean(pass_at_k(np.full(len(b), half), b[:, 0], k)))
            if fit is not None:  # posterior predictive pass@k of each problem: Beta(alpha + c, beta + half - c)
                pr = float(np.mean(predicted_pass_at_k(fit.alpha + a[:, 0], fit.beta + half - a[:, 0], k)))
                pk_rows.append({"checkpoint": table.checkpoints[c], "k": k, "predicted": pr, "measured": meas})
    sc_err = np.array([r["predicted"] - r["realized"] for r in sc_rows])
    sc_hw = np.array([r["half_width"] for r in sc_rows])
    sc_ratio = float(np.mean(np.abs(sc_err)) / np.mean(sc_hw)) if np.mean(sc_hw) > 0 else float("nan")
    pk_err = np.array([r["predicted"] - r["measured"] for r in pk_rows]) if pk_rows else np.array([np.nan])
    pk_mae = float(np.mean(np.abs(pk_err))) if pk_rows else float("nan")
    # eta on the RL rollouts: measured sum |A| per group vs theory's eta at the group's N_pos
    n_pos = np.concatenate([np.asarray(log_entry["n_pos"]) for log_entry in logs]) if logs else np.zeros(0, int)
    eta_meas = np.concatenate([np.asarray(log_entry["eta_per_group"]) for log_entry in logs]) if logs else np.zeros(0)
    N = cfg.rl.n_rollouts
    name = cfg.rl.advantage
    curve = eta_curve(name, N, cfg.rl.k)
    eta_dev = float("nan")
    if curve is not None and n_pos.size:
        theory_eta = curve[n_pos]
        eta_dev = float(np.max(np.abs(eta_meas - theory_eta) / np.maximum(theory_eta, 1e-6)))
    # the base model (first checkpoint): per-problem success rates spread over (0, 1), wrong answers varied
    bc, bn = table.n_correct[0], table.n_samples[0]
    spread = float(np.mean((bc > 0) & (bc < bn)))
    wrong_kinds = (vc[0][:, 1:] > 0).sum(axis=1)
    base = {"pass_at_1": float(p1[0]), "fraction_solved_by_none": float(np.mean(bc == 0)),
            "fraction_solved_by_all": float(np.mean(bc == bn)), "fraction_strictly_between": spread,
            "mean_distinct_wrong_answers": float(wrong_kinds[wrong_kinds > 0].mean()) if np.any(wrong_kinds > 0) else 0.0}
    cov = res.get("coverage") or {}
    neg = (res.get("negative_sc") or {}).get("flagged", [])
    validation = {"base": base, "pass_at_1": p1.tolist(), "rise": rise, "rise_ci95": list(rise_ci), "sc_split_half": sc_rows,
                  "passk_split_half": pk_rows,
                  "eta": {"groups": int(n_pos.size), "max_relative_deviation": eta_dev,
                          "by_n_pos": {int(v): float(eta_meas[n_pos == v].mean()) for v in np.unique(n_pos)},
                          "theory_by_n_pos": {int(v): float(curve[v]) for v in np.unique(n_pos)} if curve is not None else {}},
                  "coverage": {"rotation": cov.get("rotation"), "best_single": cov.get("best_single"),
                               "unions": cov.get("unions")},
                  "negative_sc_checkpoints": [{k: d[k] for k in ("checkpoint", "step", "sc_gain", "sc_low", "sc_high", "ci_excludes_zero",
                                                                 "attribution")} for d in neg]}
    claims = [
        Claim(f"base model: per-problem success rates spread over (0, 1): the fraction of test problems with 0 < correct < "
              f"{int(bn.max())} samples is >= 0.25 (solved by none {base['fraction_solved_by_none']:.2f}, by all "
              f"{base['fraction_solved_by_all']:.2f}; {base['mean_distinct_wrong_answers']:.1f} distinct wrong answers per "
              "problem with any)", spread >= 0.25, spread, 0.25),
        Claim(f"RLVR raises test pass@1 (last checkpoint minus base; {p1[0]:.3f} -> {p1[-1]:.3f})", rise > 0, rise, 0.0),
        Claim(f"the pass@1 rise is significant: paired bootstrap 95% CI over test problems [{rise_ci[0]:+.3f}, {rise_ci[1]:+.3f}] "
              "excludes 0 (value = lower end)", rise_ci[0] > 0, rise_ci[0], 0.0),
        Claim(f"SC gain@{K} predicted from half of each problem's samples matches the other half within the realized value's "
              f"95% interval (value = mean |error| / mean half-width over {len(sc_rows)} checkpoints)",
              sc_ratio <= 1.0, sc_ratio, 1.0),
        Claim(f"beta-binomial pass@k (k <= {half}) from half the samples vs the unbiased estimate on the other half: mean |error| <= 0.05",
              bool(pk_mae <= 0.05), pk_mae, 0.05),
    ]
    if curve is not None:  # advantages that depend on the group's rewards alone have an eta(N_pos) curve
        claims.append(Claim(f"eta = sum |A| measured on {int(n_pos.size)} RL groups equals theory's eta({name}) at each group's "
                            "N_pos (max relative deviation <= 1e-4)", bool(eta_dev <= 1e-4), eta_dev, 1e-4))
    return claims, validation


def _figure(out: Path, table, validation: dict) -> None:
    plt = pyplot()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    steps = [float(s) for s in table.steps]
    a1.plot(steps, validation["pass_at_1"], "ko-", label="test pass@1")
    sc = validation["sc_split_half"]
    a1b = a1.twinx()
    a1b.errorbar(steps, [r["realized"] for r in sc], yerr=[r["half_width"] for r in sc], fmt="s", color="tab:blue", label="SC gain (realized, half)")
    a1b.plot(steps, [r["predicted"] for r in sc], "^--", color="tab:orange", label="SC gain (predicted from other half)")
    a1.set_xlabel("RL step")
    a1.set_ylabel("pass@1")
    a1b.set_ylabel("SC gain")
    a1b.legend(fontsize=7, loc="lower right")
    e = validation["eta"]
    xs = sorted(int(k) for k in e["by_n_pos"])
    a2.plot(xs, [e["by_n_pos"][x] for x in xs], "o", label="measured on RL rollouts")
    if e["theory_by_n_pos"]:
        a2.plot(xs, [e["theory_by_n_pos"][x] for x in xs], "-", label="theory")
    a2.set_xlabel("N_pos (correct rollouts in the group)")
    a2.set_ylabel("eta = sum |A|")
    a2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "validation.png", close=True)
