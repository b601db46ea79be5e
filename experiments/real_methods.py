"""Experiment ``real_methods``: every RL method of the papers we build on trains the same real base model, side by
side, with the same step and sample budget, over several seeds, plus an arm that continues SFT instead of RL.

Arms (``ARMS_FULL``; quick mode runs ``ARMS_QUICK``): the Pass@k family (Chen et al. 2025: analytic, bootstrap,
full sampling, combination eq. 18, exceeding Pass@k eq. 17, entropy-adaptive), the outcome-exploration
bonuses (Song, Kempe, Munos 2025: UCB, UCB-Mean, UCB-Con, batch), RLPR (Yu et al. 2025: the debiased
probability reward with the EMA std filter, no verifier), PPL reweighting and the position bonus (Deng et
al. 2025, ``theory.token_shaping``), GRPO as the reference, and ``sft``: the base model trained further by
SFT on worked solutions for the same number of steps and sequences per step (B x n) as an RL arm.

Base model: the quick lab run's (``results/real_rlvr/base`` when that run has the same model/task/SFT setting,
else trained here by the same stage 1). Every arm x seed starts from it (RL seed ``seed``); every evaluated
checkpoint is sampled on the same test problems with the same sampling seed per (seed, step), so arms are
compared problem by problem. Per arm, seed and evaluated checkpoint: pass@k (unbiased, k up to n), maj@K and
SC gain (exact, ``real.logs.analysis``), distinct answers per problem, token entropy and branching factor
(the JAX sampler's token statistics) and their profile over relative position; from the training signals
(``signals.parquet``) entropy on correct and wrong rollouts per step. Union coverage at a matched budget:
base and last checkpoint at K/2 samples each against the better of the two at K (the maj@K budget).

Intervals: paired bootstrap over test problems and seeds (both resampled) of arm-vs-reference differences.
Each paper's claim is a claim of ``summary.json``, holding iff its 95% interval excludes 0 in the stated
direction (or as stated), reported as measured. Runs are resumable: each (arm, seed) writes ``done.json``
last; a setting change replaces the folder.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.figures import pyplot, save_figure
from common.results import RESULTS_DIR, Claim, print_claims, write_summary

NAME = "real_methods"
TRAINED_K = 4  # the Pass@k advantages' k (real.lab.config.RLConfig.k, unchanged here): their claims are stated at pass@4 too
ARMS_FULL = ("grpo", "passk_analytic", "passk_bootstrap", "passk_full", "combination", "exceed_passk", "adaptive_entropy",
             "ucb", "ucb_mean", "ucb_con", "batch", "rlpr", "ppl_reweight", "position_bonus", "sft")
ARMS_QUICK = ("grpo", "rlpr", "sft")  # the reference, the token-probability method, the SFT arm: kept small for the main job


@dataclasses.dataclass(frozen=True)
class MethodsSetting:
    """The experiment's budget: ``steps`` RL (or SFT) steps of ``batch_problems`` x ``n_rollouts`` sequences at
    ``learning_rate`` per arm and seed; evaluation at step 0, ``mid_step`` (``mid_samples`` per problem; 0 =
    none) and ``steps`` (``final_samples``) on the first ``test_problems`` test problems; maj@``K``."""

    arms: tuple
    seeds: tuple
    steps: int
    batch_problems: int
    n_rollouts: int
    learning_rate: float
    test_problems: int
    final_samples: int
    mid_step: int
    mid_samples: int
    K: int
    sft_learning_rate: float = 3e-4  # the base's SFT schedule ends at 3e-3 x 0.1: continue there, constant
    n_boot: int = 1000

    def to_dict(self):
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


QUICK = MethodsSetting(arms=ARMS_QUICK, seeds=(0, 1), steps=8, batch_problems=16, n_rollouts=8, learning_rate=2e-4,
                       test_problems=100, final_samples=16, mid_step=0, mid_samples=0, K=8)
FULL = MethodsSetting(arms=ARMS_FULL, seeds=(0, 1, 2), steps=40, batch_problems=16, n_rollouts=8, learning_rate=2e-4,
                      test_problems=200, final_samples=64, mid_step=20, mid_samples=16, K=16)


def _base(results: Path, out: Path, LAB, log):
    """(params, config, run config, problem sets, where): the lab base model of setting ``LAB`` (module docstring)."""
    from real.lab.checkpoints import load_checkpoint
    from real.lab.run import _train_base, complete_setting, make_problem_sets
    from real.lab.tokenizer import CharTokenizer

    sets, _ = make_problem_sets(LAB)
    lab = results / "real_rlvr"
    want = LAB.to_dict()
    if (lab / "base" / "config.json").is_file() and (lab / "setting.json").is_file():
        have = complete_setting(json.loads((lab / "setting.json").read_text()))
        if all(have.get(k) == want[k] for k in ("model", "task", "sft", "seed")):
            params, config, *_ = load_checkpoint(lab / "base")
            log(f"real_methods: base model from {lab / 'base'}")
            return params, config, LAB, sets, str(lab / "base")
    params, _ = _train_base(out, LAB, sets, CharTokenizer(), log)
    return params, LAB.model, LAB, sets, str(out / "base")


def _evaluate(params, config, problems, *, step, n, seed, tk, records_path):
    """Sample records of one checkpoint (with token statistics) and its position profile; cached in a file."""
    from real.lab.evaluate import evaluate_params, write_records
    from real.lab.signals import position_profile

    if records_path.is_file():
        doc = json.loads(records_path.with_suffix(".profile.json").read_text())
        return [json.loads(line) for line in records_path.read_text().splitlines() if line.strip()], doc
    profile, branching = [], []

    def keep(comps):
        profile.extend(position_profile(comps, step))
        branching.extend(b for row in comps for c in row for b in c.branching)

    recs = evaluate_params(params, config, problems, checkpoint=step, n=n, seed=seed, tokenizer=tk, on_completions=keep)
    doc = {"profile": profile, "branching_factor": float(np.mean(branching)) if branching else float("nan")}
    atomic_write_json(records_path.with_suffix(".profile.json"), doc)
    write_records(records_path, recs)
    return recs, doc


def _train_arm(arm, seed, params, config, lab, sets, st: MethodsSetting, run_dir: Path, tk, log):
    """Train one arm for one seed; returns {step: params} of the evaluated checkpoints after step 0."""
    from real.lab.checkpoints import load_checkpoint, save_checkpoint

    eval_steps = [s for s in (st.mid_step, st.steps) if s > 0]
    if arm == "sft":
        from real.lab.config import SFTConfig
        from real.lab.sft import train_sft

        have = {s: run_dir / "sft" / f"step_{s}" for s in eval_steps}
        if not all((p / "config.json").is_file() for p in have.values()):
            cfg = SFTConfig(steps=st.steps, batch_size=st.batch_problems * st.n_rollouts, learning_rate=st.sft_learning_rate, warmup=0,
                            final_lr_fraction=1.0, target_pass_at_1=None, seq_len=lab.sft.seq_len)

            def save(step, p, opt, loss):
                if step + 1 in have:
                    save_checkpoint(have[step + 1], p, config, step=step + 1, meta={"stage": "sft-continued"})
                return False

            train_sft(params, config, sets["sft"], cfg, tk, seed=lab.seed + 1000 + seed, callback=save)
        return {s: load_checkpoint(p)[0] for s, p in have.items()}
    from real.lab.rl import train_rl

    rl = dataclasses.replace(lab.rl, advantage=arm, steps=st.steps, batch_problems=st.batch_problems, n_rollouts=st.n_rollouts,
                             learning_rate=st.learning_rate, checkpoint_every=st.mid_step or st.steps)
    train_rl(params, config, sets["rl"], rl, run_dir / "rl", seed=lab.seed + 1000 + seed, tokenizer=tk,
             signals_path=run_dir / "signals.parquet", log=lambda m: None)
    return {s: load_checkpoint(run_dir / "rl" / f"step_{s}")[0] for s in eval_steps}


def _cell_metrics(records, path, ks, K):
    """Per-problem arrays of one checkpoint's records: pass@k for every k, maj@K, SC gain, distinct answers,
    mean token entropy (problem order = first appearance)."""
    from real.logs.analysis import pass1, per_problem_maj_at_k
    from real.logs.importers import load_counts
    from theory.passk import pass_at_k

    table, report = load_counts(path)
    if report.n_rejected:
        raise ValueError(f"{path}: {report.n_rejected} sample records rejected")
    n, c = table.n_samples[0], table.n_correct[0]
    out = {f"pass@{k}": np.asarray(pass_at_k(n, c, k), float) for k in ks}
    out["pass@1"] = pass1(table)[0]
    out[f"maj@{K}"] = per_problem_maj_at_k(table, K)[0]
    out["sc_gain"] = out[f"maj@{K}"] - out["pass@1"]
    counts = np.concatenate([table.answer_counts[0], table.n_null[0][:, None]], axis=-1).astype(float)  # no answer: one class
    out["distinct_answers"] = (counts > 0).sum(axis=-1).astype(float)  # depends on n: compare at equal n only
    # unbiased P(two of the samples, drawn without replacement, differ in answer): independent of n (Gini-Simpson)
    out["answer_disagreement"] = 1.0 - (counts * (counts - 1)).sum(axis=-1) / np.maximum(n * (n - 1), 1)
    ent: dict = {}
    for r in records:
        ent.setdefault(r["problem_id"], []).append(r.get("mean_token_entropy", np.nan))
    out["token_entropy"] = np.array([np.nanmean(ent[p]) for p in table.problem_ids])
    out["_n"], out["_c"] = n, c
    return out


def paired_bootstrap(diff, n_boot: int, seed: int = 0):
    """Mean of ``diff`` [S, P] (seeds x problems) and its 95% interval, resampling seeds and problems with replacement."""
    diff = np.asarray(diff, float)
    S, P = diff.shape
    rng = np.random.default_rng(seed)
    si = rng.integers(0, S, (n_boot, S))
    pi = rng.integers(0, P, (n_boot, P))
    boots = np.array([np.nanmean(diff[s][:, p]) for s, p in zip(si, pi)])
    return float(np.nanmean(diff)), [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))]


def run(quick: bool = False, results_dir=None, setting: MethodsSetting | None = None, lab=None, log=print) -> dict:
    """The arms of ``setting`` (``QUICK`` / ``FULL``) from the base model of ``lab`` (a ``real.lab.config.RunConfig``;
    default the lab's quick setting, whose base ``real_rlvr`` trains) into ``<results_dir>/real_methods``."""
    from real.lab.config import QUICK as LAB_QUICK
    from real.lab.tokenizer import CharTokenizer

    st = setting or (QUICK if quick else FULL)
    results = Path(results_dir or RESULTS_DIR)
    out = results / NAME
    t0 = time.perf_counter()
    want = st.to_dict()
    lab = lab or LAB_QUICK
    want["base_setting"] = lab.to_dict()
    sfile = out / "setting.json"
    if sfile.is_file() and json.loads(sfile.read_text()) != want:
        log(f"{out}: setting changed; deleting the old runs")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(sfile, want)
    tk = CharTokenizer()
    params, config, lab, sets, base_from = _base(results, out, lab, log)
    test = sets["test"][:st.test_problems]
    e = lab.evaluation
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64) if k <= st.final_samples]

    def eval_seed(seed, step):
        return lab.seed + e.seed_offset + 10_000 * (seed + 1) + step

    cells, profiles, signals, timing = {}, [], {}, {}
    for seed in st.seeds:
        recs, doc = _evaluate(params, config, test, step=0, n=st.final_samples, seed=eval_seed(seed, 0), tk=tk,
                              records_path=out / f"base_s{seed}.jsonl")
        base_cell = _cell_metrics(recs, out / f"base_s{seed}.jsonl", ks, st.K)
        base_cell["branching_factor"] = doc["branching_factor"]
        profiles += [{"arm": "base", "seed": seed, **row} for row in doc["profile"]]
        for arm in st.arms:
            run_dir = out / "runs" / f"{arm}_s{seed}"
            t1 = time.perf_counter()
            ckpts = _train_arm(arm, seed, params, config, lab, sets, st, run_dir, tk, log)
            cells[(arm, seed, 0)] = base_cell
            for step, p in ckpts.items():
                n = st.final_samples if step == st.steps else st.mid_samples
                recs, doc = _evaluate(p, config, test, step=step, n=n, seed=eval_seed(seed, step), tk=tk,
                                      records_path=run_dir / f"eval_step_{step}.jsonl")
                cell = _cell_metrics(recs, run_dir / f"eval_step_{step}.jsonl", [k for k in ks if k <= n], min(st.K, n))
                cell["branching_factor"] = doc["branching_factor"]
                cells[(arm, seed, step)] = cell
                profiles += [{"arm": arm, "seed": seed, **row} for row in doc["profile"]]
            if (run_dir / "signals.parquet").is_file():
                from real.lab.signals import read_signals

                signals[(arm, seed)] = read_signals(run_dir / "signals.parquet")
            tfile = run_dir / "timing.json"  # the first (computing) pass's time: a resumed or cached pass is not a run's time
            if not tfile.is_file():
                atomic_write_json(tfile, {"seconds": time.perf_counter() - t1})
            timing[f"{arm}_s{seed}"] = json.loads(tfile.read_text())["seconds"]
            log(f"real_methods: {arm} seed {seed}: {timing[f'{arm}_s{seed}']:.0f} s, pass@1 "
                f"{np.nanmean(base_cell['pass@1']):.3f} -> {np.nanmean(cells[(arm, seed, st.steps)]['pass@1']):.3f}")
    table, traj = _tables(cells, st, ks)
    claims, measured = _claims(cells, signals, profiles, st, ks)
    _write_tables(out, table, traj, profiles)
    _figures(out, traj, profiles, st)
    wall = time.perf_counter() - t0
    write_summary(NAME, claims, folder=out, quick=quick, setting=want, base_model=base_from, arms_table=table,
                  measured=measured, wall_s=wall, arm_seconds_total=float(sum(timing.values())), timings_s=timing,
                  not_measured=[a for a in ARMS_FULL if a not in st.arms])
    print_claims(claims, log=log)
    log(f"real_methods ({'quick' if quick else 'full'}): {len(st.arms)} arms x {len(st.seeds)} seeds in {wall:.0f} s")
    return {"claims": [c.as_dict() for c in claims], "wall_s": wall}


def _stack(cells, arm, seeds, step, key):
    return np.stack([np.asarray(cells[(arm, s, step)][key], float) for s in seeds])


def _tables(cells, st: MethodsSetting, ks):
    """Arms x metrics at the last step (mean over seeds and problems, with the paired interval of arm - GRPO), and
    the trajectories (arm, step, metric, mean)."""
    kmax = f"pass@{ks[-1]}"
    ktrain = f"pass@{TRAINED_K}"
    metrics = ["pass@1"] + ([ktrain] if TRAINED_K in ks and TRAINED_K not in (1, ks[-1]) else []) + [
        kmax, f"maj@{st.K}", "sc_gain", "distinct_answers", "answer_disagreement", "token_entropy"]
    rows = []
    half = st.K // 2  # matched budget: K samples, as in maj@K (at n = 64 every arm's pass@64 is near 1)
    for arm in st.arms:
        row = {"arm": arm}
        for m in metrics:
            v = _stack(cells, arm, st.seeds, st.steps, m)
            row[m] = float(np.nanmean(v))
            if arm != "grpo" and "grpo" in st.arms:
                row[f"{m} - grpo"], row[f"{m} - grpo ci95"] = paired_bootstrap(v - _stack(cells, "grpo", st.seeds, st.steps, m), st.n_boot)
            d, ci = paired_bootstrap(v - _stack(cells, arm, st.seeds, 0, m), st.n_boot)
            row[f"{m} - base"], row[f"{m} - base ci95"] = d, ci
        row["branching_factor"] = float(np.mean([cells[(arm, s, st.steps)]["branching_factor"] for s in st.seeds]))
        row.update(_union(cells, arm, st, half))
        rows.append(row)
    traj = []
    steps = sorted({k[2] for k in cells})
    for arm in st.arms:
        for step in steps:
            if (arm, st.seeds[0], step) not in cells:
                continue
            curve = [f"pass@{k}" for k in ks if k > 1]  # the whole pass@k curve (k <= the step's samples) in the table
            for m in ["pass@1", *curve, f"maj@{st.K}", "sc_gain", "token_entropy", "branching_factor", "answer_disagreement"]:
                vals = [np.nanmean(cells[(arm, s, step)][m]) for s in st.seeds if m in cells[(arm, s, step)]]
                if vals:
                    traj.append({"arm": arm, "step": step, "metric": m, "mean": float(np.mean(vals)),
                                 "seed_min": float(np.min(vals)), "seed_max": float(np.max(vals))})
    return rows, traj


def _union(cells, arm, st: MethodsSetting, half):
    """Union of base and last checkpoint at ``half`` samples each vs the best of the two alone at 2 x half (exact,
    ``theory.passk.union_pass_at_k``), mean over seeds and problems."""
    from theory.passk import pass_at_k, union_pass_at_k

    u, best, excess = [], [], []
    for s in st.seeds:
        a, b = cells[(arm, s, 0)], cells[(arm, s, st.steps)]
        n = np.stack([a["_n"], b["_n"]], -1)
        c = np.stack([a["_c"], b["_c"]], -1)
        per_u = np.asarray(union_pass_at_k(n, c, np.array([half, half])), float)
        singles = [np.asarray(pass_at_k(x["_n"], x["_c"], 2 * half), float) for x in (a, b)]
        top = singles[int(np.argmax([x.mean() for x in singles]))]  # the better checkpoint on the whole test set
        u.append(float(per_u.mean()))
        best.append(float(top.mean()))
        excess.append(per_u - top)
    d, ci = paired_bootstrap(np.stack(excess), st.n_boot)
    return {f"union(base, last)@{half}+{half}": float(np.mean(u)), f"best single@{2 * half}": float(np.mean(best)),
            "union - best single": d, "union - best single ci95": ci}


def _claims(cells, signals, profiles, st: MethodsSetting, ks):
    """Each paper claim (module docstring) as a Claim; claims whose arms did not run are listed, not made."""
    kmax = f"pass@{ks[-1]}"
    claims, measured = [], {}
    last = st.steps

    def diff(arm_a, arm_b, metric, step_a=last, step_b=last):
        return paired_bootstrap(_stack(cells, arm_a, st.seeds, step_a, metric) - _stack(cells, arm_b, st.seeds, step_b, metric),
                                st.n_boot)

    def ci_claim(text, d, ci):
        claims.append(Claim(f"{text} (mean {d:+.4f}, paired 95% CI [{ci[0]:+.4f}, {ci[1]:+.4f}] over problems x seeds)", ci[0] > 0,
                            ci[0], 0.0))

    have = set(st.arms)
    # pass@k claims at the largest k measured and at the Pass@k advantages' own k (where a base near pass@k = 1 at the
    # largest k leaves no room to differ, the trained k still can)
    kk = [kmax] + ([f"pass@{TRAINED_K}"] if TRAINED_K in ks and f"pass@{TRAINED_K}" != kmax else [])
    for metric in kk:
        if {"passk_analytic", "grpo"} <= have:
            d, ci = diff("passk_analytic", "grpo", metric)
            measured[f"passk_vs_grpo_{metric}"] = [d, ci]
            ci_claim(f"Chen et al.: Pass@k training (analytic, k = {TRAINED_K}) ends with a higher {metric} than GRPO", d, ci)
        for arm in ("ucb", "batch"):
            if {arm, "grpo"} <= have:
                d, ci = diff(arm, "grpo", metric)
                measured[f"{arm}_vs_grpo_{metric}"] = [d, ci]
                ci_claim(f"Song et al.: the {arm} exploration bonus ends with a higher {metric} than GRPO", d, ci)
    if "grpo" in have:
        base_p1 = _stack(cells, "grpo", st.seeds, 0, "pass@1")
        unsolved = base_p1 < 0.25  # problems the base rarely solves
        dis = _stack(cells, "grpo", st.seeds, 0, "distinct_answers") - _stack(cells, "grpo", st.seeds, last, "distinct_answers")
        d, ci = paired_bootstrap(np.where(unsolved, dis, np.nan), st.n_boot)
        measured["diversity_drop_on_unsolved"] = [d, ci, float(unsolved.mean())]
        ci_claim(f"Song et al., transfer of diversity degradation: GRPO reduces the distinct answers per problem on test problems "
                 f"the base rarely solves (base pass@1 < 0.25, {unsolved.mean():.0%} of them; base minus last)", d, ci)
        drops = []
        for s in st.seeds:
            rows = signals.get(("grpo", s), [])
            if len(rows) >= 6:
                w = max(2, len(rows) // 5)
                first = {k: np.nanmean([r[k] for r in rows[:w]]) for k in ("token_entropy", "token_entropy_correct", "token_entropy_wrong")}
                lastw = {k: np.nanmean([r[k] for r in rows[-w:]]) for k in first}
                mid = rows[len(rows) // 2 - w // 2: len(rows) // 2 - w // 2 + w]
                midv = np.nanmean([r["token_entropy"] for r in mid])
                drops.append({"wrong": first["token_entropy_wrong"] - lastw["token_entropy_wrong"],
                              "correct": first["token_entropy_correct"] - lastw["token_entropy_correct"],
                              "first_half": first["token_entropy"] - midv, "second_half": midv - lastw["token_entropy"]})
        if drops:
            dw, dc = np.mean([x["wrong"] for x in drops]), np.mean([x["correct"] for x in drops])
            measured["entropy_drop_wrong_vs_correct"] = [float(dw), float(dc)]
            claims.append(Claim(f"Deng et al.: under GRPO token entropy falls more on wrong (negative) rollouts than on correct ones "
                                f"(first vs last fifth of the steps, mean over {len(drops)} seeds: wrong {dw:+.4f}, correct {dc:+.4f} nats)",
                                bool(dw > dc and dw > 0), float(dw - dc), 0.0))
            f1, f2 = np.mean([x["first_half"] for x in drops]), np.mean([x["second_half"] for x in drops])
            measured["entropy_drop_halves"] = [float(f1), float(f2)]
            claims.append(Claim(f"Deng et al.: token entropy falls fastest in the rising stage (drop over the first half of the steps "
                                f"{f1:+.4f} vs the second half {f2:+.4f} nats, GRPO, mean over seeds)", bool(f1 > f2 and f1 > 0),
                                float(f1 - f2), 0.0))
    base_prof = [r for r in profiles if r["arm"] == "base"]
    if base_prof:
        bins = sorted({r["position_bin"] for r in base_prof})
        ent = np.array([np.nanmean([r["token_entropy"] for r in base_prof if r["position_bin"] == b]) for b in bins])
        middle = float(np.mean(ent[1:-1]))
        measured["base_entropy_by_position"] = ent.tolist()
        claims.append(Claim(f"Deng et al.: token entropy over relative position is U-shaped on the base model (first bin "
                            f"{ent[0]:.3f}, last {ent[-1]:.3f}, middle bins' mean {middle:.3f} nats)", bool(ent[0] > middle and ent[-1] > middle),
                            float(min(ent[0], ent[-1]) - middle), 0.0))
    if {"sft", "grpo"} <= have:
        d1, ci1 = paired_bootstrap((_stack(cells, "grpo", st.seeds, last, "pass@1") - _stack(cells, "grpo", st.seeds, 0, "pass@1"))
                                   - (_stack(cells, "sft", st.seeds, last, "pass@1") - _stack(cells, "sft", st.seeds, 0, "pass@1")), st.n_boot)
        ci_claim("Deng et al., RL sharpens pass@1: GRPO's pass@1 gain over the base exceeds continued SFT's (same steps and sequences)",
                 d1, ci1)
        for metric in kk:
            dk, cik = paired_bootstrap((_stack(cells, "sft", st.seeds, last, metric) - _stack(cells, "sft", st.seeds, 0, metric))
                                       - (_stack(cells, "grpo", st.seeds, last, metric) - _stack(cells, "grpo", st.seeds, 0, metric)),
                                       st.n_boot)
            ci_claim(f"Deng et al., SFT widens pass@k: continued SFT's {metric} gain over the base exceeds GRPO's", dk, cik)
    if "rlpr" in have:
        d, ci = diff("rlpr", "rlpr", "pass@1", last, 0)
        ci_claim("Yu et al. (RLPR): training on the debiased probability reward alone, no verifier, raises test pass@1", d, ci)
        gaps = [np.nanmean([r["rlpr_reward_correct"] - r["rlpr_reward_wrong"] for r in signals.get(("rlpr", s), [])]) for s in st.seeds]
        gaps = [g for g in gaps if np.isfinite(g)]
        if gaps:
            g = float(np.mean(gaps))
            measured["rlpr_reward_gap_correct_minus_wrong"] = g
            claims.append(Claim(f"Yu et al. (RLPR): the debiased probability reward is higher on correct rollouts than on wrong ones "
                                f"(mean over steps and seeds of the per-step gap: {g:+.4f})", bool(min(gaps) > 0), float(min(gaps)), 0.0))
    for arm in ("ppl_reweight", "position_bonus"):
        if {arm, "grpo"} <= have:
            d, ci = diff(arm, "grpo", "pass@1")
            ci_claim(f"Deng et al.: {arm.replace('_', ' ')} ends with a higher pass@1 than GRPO", d, ci)
    for arm in ("combination", "exceed_passk", "passk_bootstrap", "passk_full", "adaptive_entropy", "ucb_mean", "ucb_con"):
        for metric in kk:
            if {arm, "grpo"} <= have:
                measured[f"{arm}_vs_grpo_{metric}"] = list(diff(arm, "grpo", metric))
    return claims, measured


def _write_tables(out: Path, table, traj, profiles):
    from real.logs.report import write_table

    flat = [{k: (json.dumps(v) if isinstance(v, list) else v) for k, v in row.items()} for row in table]
    write_table(flat, out / "arms")
    write_table(traj, out / "trajectories")
    write_table(profiles, out / "token_positions")


def _figures(out: Path, traj, profiles, st: MethodsSetting):
    plt = pyplot()
    order = ["pass@1", "pass@", "maj@", "sc_gain", "answer_disagreement", "token_entropy", "branching_factor"]
    kmax = max((int(r["metric"][5:]) for r in traj if r["metric"].startswith("pass@")), default=1)
    drawn = {r["metric"] for r in traj if not r["metric"].startswith("pass@")} | {"pass@1", f"pass@{kmax}"}
    metrics = sorted(drawn, key=lambda m: next((i for i, o in enumerate(order) if m.startswith(o)), 9) +
                     (0.5 if m.startswith("pass@") and m != "pass@1" else 0))
    cols = (len(metrics) + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(4 * cols, 7))
    for ax in np.ravel(axes)[len(metrics):]:
        ax.set_visible(False)
    colors = plt.get_cmap("tab20")  # one colour per arm (15 arms: the default cycle repeats after 10)
    for ax, m in zip(np.ravel(axes), metrics):
        for i, arm in enumerate(st.arms):
            pts = sorted((r["step"], r["mean"]) for r in traj if r["arm"] == arm and r["metric"] == m)
            if pts:
                ax.plot(*zip(*pts), marker="o", label=arm, color=colors(i % 20), lw=2.5 if arm in ("grpo", "sft") else 1)
        ax.set_title(m)
        ax.set_xlabel("step")
    np.ravel(axes)[0].legend(fontsize=6, ncol=2)
    fig.suptitle(f"real_methods: {len(st.arms)} arms x {len(st.seeds)} seeds (mean over seeds)")
    fig.tight_layout()
    save_figure(fig, out / "trajectories.png", close=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, arm in enumerate(("base",) + tuple(st.arms)):
        rows = [r for r in profiles if r["arm"] == arm and r["checkpoint"] == (0 if arm == "base" else st.steps)]
        if rows:
            bins = sorted({r["position_bin"] for r in rows})
            ax.plot([(b + 0.5) / len(bins) for b in bins], [np.nanmean([r["token_entropy"] for r in rows if r["position_bin"] == b])
                                                            for b in bins], label=arm, color="black" if arm == "base" else colors(i - 1),
                    lw=2.5 if arm == "base" else 1)
    ax.set_xlabel("relative position in the response")
    ax.set_ylabel("token entropy (nats)")
    ax.legend(fontsize=6, ncol=2)
    save_figure(fig, out / "token_entropy_by_position.png", close=True)
