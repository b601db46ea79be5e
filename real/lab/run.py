"""The small real RLVR run end to end: base model (SFT) -> RLVR -> checkpoint evaluation -> analysis.

``python -m real rlvr [--quick] --out DIR`` (and ``experiments run real_rlvr``) runs, on CPU:
1. Stage 1 (``real.lab.sft``): a JAX Llama trained from scratch on worked solutions of chained mod-10
   arithmetic (1–6 operations), stopped early, at the first check (every ``sft_eval_every`` steps) where
   its sampled pass@1 on a validation set reaches ``base_target``, so that per-problem success rates on
   the held-out test set spread over (0, 1). Test and validation prompts are removed from the SFT and RL
   problems. Saved as ``DIR/base`` (safetensors) and exported to ``DIR/hf_base``.
2. Stage 2 (``real.lab.rl``): GRPO with PPO clipping on a separate pool of problems (2–6 operations),
   checkpoints every ``checkpoint_every`` steps in ``DIR/rl``; a killed run resumes from the last one.
3. Every RL checkpoint is evaluated on the test problems with n samples each (T = 1) into sample records
   (``DIR/samples.jsonl``, the ``real.logs.schema`` format), then ``real.logs.analysis.analyze`` and
   ``real.logs.report.write_report`` run on them unchanged (``DIR/analysis``).
4. Validation against theory (``DIR/summary.json``, claims): pass@1 rises under RL; SC gain predicted
   from half of each problem's samples vs realized on the other half; the beta-binomial pass@k curve
   from half the samples vs the unbiased estimate on the other half; η = Σ|Â| measured on the RL
   rollouts vs ``theory.advantage.eta``; coverage rotation between checkpoints; negative-SC checkpoints.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import jax
import numpy as np

from common.atomic import atomic_write_text

from common.figures import save_figure

from common.results import Claim, write_summary


@dataclass(frozen=True)
class PipelineConfig:
    hidden_size: int = 96
    layers: int = 3
    heads: int = 4
    sft_steps: int = 1000  # at most; SFT stops at the first validation check with pass@1 >= base_target
    sft_batch: int = 64
    sft_lr: float = 3e-3
    base_target: float = 0.5
    sft_eval_every: int = 10
    n_val: int = 200
    n_val_samples: int = 4
    n_train: int = 20000
    rl_steps: int = 60
    rl_batch: int = 64
    rl_rollouts: int = 8
    rl_lr: float = 2e-4
    advantage: str = "grpo"
    k: int = 4
    checkpoint_every: int = 10
    n_test: int = 200
    n_eval: int = 16
    seed: int = 0


QUICK = PipelineConfig()
# the full run keeps the quick base model and trains and evaluates longer: 150 RL steps, 200 test problems
# x 32 samples (a base trained to convergence solves nearly every problem and leaves RL nothing to do)
FULL = PipelineConfig(rl_steps=150, n_test=200, n_eval=32, checkpoint_every=15)


def run_rlvr(out_dir, *, quick: bool = True, cfg: PipelineConfig | None = None, log=print,
             replace_stale: bool = False) -> dict:
    from real.logs.analysis import analyze
    from real.lab.checkpoints import load_checkpoint, save_checkpoint
    from real.lab.hf_export import export_hf
    from real.logs.importers import load_counts
    from real.lab.model import LlamaConfig, init_params
    from real.logs.report import write_report
    from real.lab.rl import RLConfig, evaluate_records, train_rl
    from real.lab.sft import SFTConfig, train_sft
    from real.lab.task import make_problems
    from real.lab.tokenizer import CharTokenizer

    cfg = cfg or (QUICK if quick else FULL)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _claim_folder(out, cfg, replace_stale, log)
    t0 = time.perf_counter()
    tk = CharTokenizer()
    mcfg = LlamaConfig(vocab_size=tk.vocab_size, hidden_size=cfg.hidden_size, intermediate_size=3 * cfg.hidden_size,
                       num_hidden_layers=cfg.layers, num_attention_heads=cfg.heads, num_key_value_heads=cfg.heads,
                       max_position_embeddings=80)
    test = make_problems(cfg.n_test, [2, 3, 4, 5, 6], seed=cfg.seed + 1, prefix="t")
    val = make_problems(cfg.n_val, [2, 3, 4, 5, 6], seed=cfg.seed + 3, prefix="v")
    # held out means held out: training and RL problems whose prompt is a test or validation prompt are dropped
    held = {p.prompt for p in test} | {p.prompt for p in val}
    train_all = make_problems(cfg.n_train, [1, 2, 3, 4, 5, 6], seed=cfg.seed, prefix="s")
    rl_all = make_problems(2000, [2, 3, 4, 5, 6], seed=cfg.seed + 2, prefix="r")
    train = [p for p in train_all if p.prompt not in held]
    rl_pool = [p for p in rl_all if p.prompt not in held]
    split = {"test": len(test), "validation": len(val), "sft_train": len(train), "sft_dropped_as_held_out": len(train_all) - len(train),
             "rl_pool": len(rl_pool), "rl_dropped_as_held_out": len(rl_all) - len(rl_pool)}
    timings = {}

    # stage 1
    if (out / "base" / "config.json").is_file():
        params, mcfg, _, _, base_meta = load_checkpoint(out / "base")
        log(f"base model: loaded {out / 'base'}")
    else:
        params = init_params(mcfg, jax.random.key(cfg.seed))
        val_curve = []

        def stop_at_target(step, p, _opt, _loss):
            # early stopping on a validation set (never the test set) at the target sampled pass@1: where
            # a fixed step count lands on the steep part of the SFT curve is not reproducible (floating-
            # point differences between machines or JAX versions moved the base's pass@1 from 0.52 to 0.91)
            if (step + 1) % cfg.sft_eval_every and step + 1 < cfg.sft_steps:
                return False
            recs = evaluate_records(p, mcfg, val, checkpoint=step + 1, n=cfg.n_val_samples, seed=cfg.seed + 50, tokenizer=tk)
            val_curve.append([step + 1, float(np.mean([r["correct"] for r in recs]))])
            return val_curve[-1][1] >= cfg.base_target

        params, _, losses = train_sft(params, mcfg, train, SFTConfig(steps=cfg.sft_steps, batch_size=cfg.sft_batch,
                                                                      learning_rate=cfg.sft_lr, seq_len=64, seed=cfg.seed),
                                      callback=stop_at_target)
        reached = bool(val_curve and val_curve[-1][1] >= cfg.base_target)
        base_meta = {"stage": "sft", "steps": len(losses), "final_loss": float(losses[-1]), "target": cfg.base_target,
                     "target_reached": reached, "validation_pass_at_1": val_curve}
        save_checkpoint(out / "base", params, mcfg, step=len(losses), meta=base_meta)
        export_hf(out / "hf_base", params, mcfg, tk)
        log(f"base model: {len(losses)} SFT steps, final loss {losses[-1]:.4f}, validation pass@1 {val_curve[-1][1]:.3f} "
            f"(target {cfg.base_target}{'' if reached else ', NOT reached'})")
    timings["sft_s"] = time.perf_counter() - t0

    # stage 2
    t1 = time.perf_counter()
    rl_cfg = RLConfig(steps=cfg.rl_steps, batch_problems=cfg.rl_batch, n_rollouts=cfg.rl_rollouts, advantage=cfg.advantage,
                      k=cfg.k, learning_rate=cfg.rl_lr, checkpoint_every=cfg.checkpoint_every, seed=cfg.seed)
    _, logs = train_rl(params, mcfg, rl_pool, rl_cfg, out / "rl", tokenizer=tk, log=log)
    if logs:
        old = json.loads((out / "rl_log.json").read_text()) if (out / "rl_log.json").is_file() else []
        atomic_write_text(out / "rl_log.json", json.dumps(old + logs))
    logs = json.loads((out / "rl_log.json").read_text()) if (out / "rl_log.json").is_file() else logs
    timings["rl_s"] = time.perf_counter() - t1

    # stage 3: evaluate every RL checkpoint into sample records
    t2 = time.perf_counter()
    steps = sorted(int(d.name[5:]) for d in (out / "rl").iterdir() if d.name.startswith("step_") and (d / "config.json").is_file())
    records = []
    for s in steps:
        p, _, _, _, _ = load_checkpoint(out / "rl" / f"step_{s}")
        records += evaluate_records(p, mcfg, test, checkpoint=s, n=cfg.n_eval, seed=cfg.seed + 100 + s, tokenizer=tk)
    atomic_write_text(out / "samples.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    timings["eval_s"] = time.perf_counter() - t2

    # stage 4: analysis of the records, unchanged from any other log
    t3 = time.perf_counter()
    table, report = load_counts(out / "samples.jsonl")
    res = analyze(table, n_boot=1000, seed=cfg.seed)
    write_report(res, out / "analysis", title="Small real RLVR run: checkpoint analysis", import_report=report.to_dict())
    claims, validation = validate(table, res, logs, cfg)
    timings["analysis_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    _figure(out, table, validation)
    write_summary(out.name, claims, results_dir=out.parent, quick=quick, setting=asdict(cfg), model=mcfg.to_dict(),
                  base=base_meta, problems=split, steps=steps, validation=validation, timings=timings, out_dir=str(out))
    log(f"real_rlvr: total {timings['total_s']:.0f} s ({', '.join(f'{k} {v:.0f}' for k, v in timings.items() if k != 'total_s')})")
    for c in claims:
        log(f"  [{'ok' if c.holds else 'NO'}] {c.claim}: {c.value} (threshold {c.threshold})")
    return {"claims": [c.as_dict() for c in claims], "timings": timings}


class StaleRunError(ValueError):
    """The output folder holds a run of another setting (see ``_claim_folder``)."""


_STAGE_OUTPUTS = ("base", "hf_base", "rl", "rl_log.json", "samples.jsonl", "analysis", "summary.json", "validation.png")


def _claim_folder(out: Path, cfg: PipelineConfig, replace_stale: bool, log) -> None:
    """A run resumes from what its folder holds (base model, RL checkpoints), so the folder records its
    setting in ``setting.json``; a folder holding a run of another setting is refused (ValueError naming
    the differing fields), or, with ``replace_stale``, its stage outputs are deleted first."""
    f = out / "setting.json"
    want = asdict(cfg)
    if f.is_file():
        have = json.loads(f.read_text())
        diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
        if not diff:
            return
        if not replace_stale:
            raise StaleRunError(f"{out}: holds a run with another setting ({', '.join(f'{k}: {have.get(k)!r} -> {want.get(k)!r}' for k in diff)}); "
                             "choose another --out or delete that folder")
        log(f"{out}: setting changed ({', '.join(diff)}); deleting the old run's outputs")
        for name in _STAGE_OUTPUTS:
            shutil.rmtree(out / name, ignore_errors=True) if (out / name).is_dir() else (out / name).unlink(missing_ok=True)
    atomic_write_text(f, json.dumps(want, indent=2) + "\n")


def validate(table, res: dict, logs: list, cfg: PipelineConfig) -> tuple[list, dict]:
    """Theory vs measurement on the real checkpoints (module docstring, step 4)."""
    from real.logs.predict import predict_per_problem
    from theory.advantage import eta, grpo_advantage, passk_analytic_advantage
    from theory.passk import fit_beta_binomial, pass_at_k
    from theory.voting import maj_at_k

    p1 = res["metrics"]["pass_at_k"]["estimate"][:, 0]
    rise = float(p1[-1] - p1[0])
    # paired bootstrap over test problems of the rise (last checkpoint minus base)
    per = table.n_correct / np.maximum(table.n_samples, 1)
    d = per[-1] - per[0]
    brng = np.random.default_rng(cfg.seed + 9)
    boots = np.array([d[brng.integers(0, d.size, d.size)].mean() for _ in range(2000)])
    rise_ci = (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
    # split-half: each cell's counts split into two halves by a multivariate hypergeometric draw
    rng = np.random.default_rng(cfg.seed + 7)
    vc, ab = table.vote_counts()
    half = cfg.n_eval // 2
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
            if fit is not None:
                from scipy import special

                ai, bi = fit.alpha + a[:, 0], fit.beta + half - a[:, 0]
                pr = float(np.mean(-np.expm1(special.betaln(ai, bi + k) - special.betaln(ai, bi))))
                pk_rows.append({"checkpoint": table.checkpoints[c], "k": k, "predicted": pr, "measured": meas})
    sc_err = np.array([r["predicted"] - r["realized"] for r in sc_rows])
    sc_hw = np.array([r["half_width"] for r in sc_rows])
    sc_ratio = float(np.mean(np.abs(sc_err)) / np.mean(sc_hw)) if np.mean(sc_hw) > 0 else float("nan")
    pk_err = np.array([r["predicted"] - r["measured"] for r in pk_rows]) if pk_rows else np.array([np.nan])
    pk_mae = float(np.mean(np.abs(pk_err))) if pk_rows else float("nan")
    # eta on the RL rollouts: measured sum |A| per group vs theory's eta at the group's N_pos
    n_pos = np.concatenate([np.asarray(l["n_pos"]) for l in logs]) if logs else np.zeros(0, int)
    eta_meas = np.concatenate([np.asarray(l["eta_per_group"]) for l in logs]) if logs else np.zeros(0)
    N = cfg.rl_rollouts
    name = "grpo" if cfg.advantage == "grpo" else "passk_analytic"
    curve = np.asarray(eta(grpo_advantage, N) if name == "grpo" else eta(passk_analytic_advantage, N, k=cfg.k))
    theory_eta = curve[n_pos] if n_pos.size else np.zeros(0)
    eta_dev = float(np.max(np.abs(eta_meas - theory_eta) / np.maximum(theory_eta, 1e-6))) if n_pos.size else float("nan")
    # the base model (first checkpoint): per-problem success rates spread over (0, 1), wrong answers varied
    bc, bn = table.n_correct[0], table.n_samples[0]
    spread = float(np.mean((bc > 0) & (bc < bn)))
    wrong_kinds = (vc[0][:, 1:] > 0).sum(axis=1)
    base = {"pass_at_1": float(p1[0]), "fraction_solved_by_none": float(np.mean(bc == 0)),
            "fraction_solved_by_all": float(np.mean(bc == bn)), "fraction_strictly_between": spread,
            "mean_distinct_wrong_answers": float(wrong_kinds[wrong_kinds > 0].mean()) if np.any(wrong_kinds > 0) else 0.0}
    cov = res.get("coverage") or {}
    neg = (res.get("negative_sc") or {}).get("flagged", [])
    validation = {"base": base, "pass_at_1": p1.tolist(), "rise": rise, "rise_ci95": list(rise_ci), "sc_split_half": sc_rows, "passk_split_half": pk_rows,
                  "eta": {"groups": int(n_pos.size), "max_relative_deviation": eta_dev,
                          "by_n_pos": {int(v): float(eta_meas[n_pos == v].mean()) for v in np.unique(n_pos)},
                          "theory_by_n_pos": {int(v): float(curve[v]) for v in np.unique(n_pos)}},
                  "coverage": {"rotation": cov.get("rotation"), "best_single": cov.get("best_single"),
                               "unions": cov.get("unions")},
                  "negative_sc_checkpoints": [{k: d[k] for k in ("checkpoint", "sc_gain", "low", "high", "attribution")} for d in neg]}
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
        Claim(f"eta = sum |A| measured on {int(n_pos.size)} RL groups equals theory's eta({name}) at each group's N_pos "
              "(max relative deviation <= 1e-4)", bool(eta_dev <= 1e-4), eta_dev, 1e-4),
    ]
    return claims, validation


def _figure(out: Path, table, validation: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    a2.plot(xs, [e["theory_by_n_pos"][x] for x in xs], "-", label="theory")
    a2.set_xlabel("N_pos (correct rollouts in the group)")
    a2.set_ylabel("eta = sum |A|")
    a2.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out / "validation.png")
    plt.close(fig)
