"""Experiment ``real_phenomena``: predict, then observe — the simulator, calibrated to a real base model, predicts
what GRPO does to majority voting and coverage on the real model, and the real runs confirm or refute it.

The task (``real.lab.task``): chained mod-10 arithmetic with a *zero-absorbs shortcut*. A chain whose running
value hits 0 before its last step can be "solved" by stopping there and answering 0. The shortcut is shorter
than the full solution (fewer slips) and right exactly on the ``trap_right`` class (the chain ends at 0);
on the ``trap_wrong`` class it is consistently wrong, always with the answer 0 — the real analogue of the
simulator's trap strategy. The written steps identify every sample's strategy and first error exactly
(``real.lab.task.classify_completion``).

Stages (every output lands in ``results/real_phenomena/``):
1. Base model (``base = "scratch"``): the lab's SFT stage (``real.lab.run``: from initialisation, early stopping
   at a validation pass@1 of 1/2) on data in which a share ``shortcut_rate`` of the problems that hit 0 early
   carry the shortcut instead of the full solution (``real.lab.task.sft_examples``), the experiment's test and
   validation prompts held out -> ``base/``. (``base = "midtrain"``, tried first: the lab's standard base
   trained further on such data for ``midtrain_steps`` steps; GRPO then removed the shortcut within 10 steps
   even on the shortcut pool, so neither phenomenon could appear.)
2. Calibration: an independent sample of the base (seed ``CALIB_SEED``, never used for evaluation) on the test
   problems and on a subsample of each arm's RL pool, classified into strategies
   (``real.lab.task.strategy_table``). The test calibration also defines the difficulty splits: *hard* = the
   problems whose calibration pass rate is < 1/2, *easy* = the rest (independent samples, so selecting a
   problem into a split does not bias its evaluated values).
3. Prediction (before any real RL step): per arm, the simulator's bank and policy calibrated to those strategy
   counts (``sim.calibration``: one strategy per deviation the samples show, the shortcut a shared strategy
   that exists only on problems that hit 0 early), GRPO with the real run's batch, rollouts, steps and
   checkpoints; test problems are evaluated every checkpoint (exact answer laws, ``sim.metrics.answer_probs``).
   The simulator's learning rate and sharing have no real counterpart; they are fixed before the run
   (``SIM_LR``, ``SIM_SHARING``: per strategy, fitted to pilot runs, see their comment) with a band over
   ``SIM_GRID``. Written to
   ``predictions.json``; the summary records its SHA-256 and the time it was written, before the first real
   RL step.
4. Real RL: per arm and seed, ``real.lab.run.run_lab`` from the shared base (GRPO; the test set and RL pool are
   the same for every seed: their seed offsets are set so), every checkpoint sampled on the test set at T = 1
   (``n_eval`` samples) and decoded greedily (one sample: the users' protocol, hypothesis H0).
5. Comparison per arm, split and checkpoint: pass@1, pass@K, maj@K, SC gain = maj@K − pass@1, shortcut share,
   and the union of all checkpoints against the best single one at a matched total budget; realized values are
   unbiased estimators with 95% paired bootstrap intervals over problems (combined over seeds: per-problem
   means over seeds, problems resampled). Errors predicted − realized per quantity; qualitative predictions:
   the sign of SC gain per split and checkpoint, negative SC (interval below 0) anywhere, rotation.
6. Diagnosis of every negative-SC (arm, split, checkpoint): H0 protocol (pass@1 − greedy accuracy), H1
   consistent errors (top wrong answer share of the wrong samples, their collision probability, the share of
   wrong samples that are the shortcut), H2 diversity (mean token entropy, distinct answers per problem), H3
   coverage drift (pass@K against the base), and the error types of the wrong samples.

Arms: ``shortcut`` — an RL pool (class shares none / trap_right / trap_wrong 0.45 / 0.5 / 0.05) in which 91% of
the problems that hit 0 early end at 0, so the shortcut is mostly right in training and GRPO spreads it, slowly,
to the trap_wrong test problems; ``control`` — a pool (0.4 / 0.1 / 0.5) where it is mostly wrong, so GRPO should
suppress it. The test set has the three classes in equal shares. The shortcut pool was chosen by a pilot search
(``scripts/real_phenomena_search.py``, README): a pool whose zero-hitting problems all end at 0 spread the
shortcut within 20-30 steps and pass@1 fell; at 0.83 the shortcut died out; 0.91 spread it over about 40 steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from collections import Counter
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json, atomic_write_text
from common.bootstrap import bootstrap_weights
from common.results import RESULTS_DIR, Claim, print_claims, write_summary
from real.logs.event_study import event_study, signal_windows

NAME = "real_phenomena"
CALIB_SEED = 70_001
# the simulator's knobs without a real counterpart, fixed before the real runs: the Adam learning rate on the
# logits and the share of each strategy's learning that goes through the shared logits (shortcut, full procedure,
# slips to a given answer slot: 0, the slot labels mean nothing across problems). Fitted
# (sim.calibration.fit_dynamics, scripts/real_phenomena_search.py fit) to the per-class pass@1 and shortcut
# trajectories of six real pilot runs (README, issue 14): best of 96 grid points, mean |error| 0.066 against 0.110
# for the values set by hand before them (0.05, (0.9, 0.5, 0.0)), which stay in the grid.
SIM_LR, SIM_SHARING = 0.1, (0.9, 0.1, 0.0)
SIM_GRID = tuple((lr, sh) for lr in (0.05, 0.1, 0.2) for sh in ((0.9, 0.1, 0.0), (0.7, 0.1, 0.0), (0.9, 0.5, 0.0)))
SIM_SMOOTHING = 0.1  # pseudo-count per available strategy in the calibrated base policy (sim.calibration)
SPLITS = ("all", "easy", "hard", "trap_wrong")
ABSTAIN = 10  # the no-answer slot of real.lab.task.answer_slot


@dataclasses.dataclass(frozen=True)
class PhenomenaSetting:
    base: str = "scratch"
    shortcut_rate: float = 0.3
    sft_steps: int | None = None  # the scratch base's SFT step budget (None: the lab's); it stops at the validation target
    midtrain_steps: int = 100
    midtrain_lr: float = 1e-4
    arms: tuple = (("shortcut", (0.45, 0.5, 0.05)), ("control", (0.4, 0.1, 0.5)))
    seeds: tuple = (0, 1, 2)
    rl_steps: int = 40
    batch_problems: int = 64
    n_rollouts: int = 8
    learning_rate: float = 2e-4
    checkpoint_every: int = 10
    test_problems: int = 240
    test_class_shares: tuple = (1 / 3, 1 / 3, 1 / 3)
    n_eval: int = 32
    K: int = 16
    calib_samples: int = 32
    pool_calib_problems: int = 256
    pool_calib_samples: int = 8
    n_boot: int = 1000
    sim_grid: tuple = SIM_GRID


# the full study's setting, chosen on the pilots (README, issue 14) before its own base and seeds exist: the base
# taught the shortcut at rate 0.2 (its none class still learns under GRPO, so pass@1 can rise while the shortcut
# spreads); a hard-leaning test set, 60% of it trap_wrong problems (none, trap_right, trap_wrong = 0.25, 0.15, 0.6),
# the class where the shortcut is consistently wrong, as AIME is where heuristics fail; 30 steps (the rate-0.2
# pilot's hard-split SC gain, reweighted to this mix, was -0.026 (upper bound -0.001) at step 30 with the rise
# +0.027 (lower bound -0.004), one seed); 360 test problems for tighter intervals. sft_steps: the lab's 1000 steps
# fell short of the validation target once (0.295 of 0.5)
FULL = PhenomenaSetting(sft_steps=2000, shortcut_rate=0.2, test_class_shares=(0.25, 0.15, 0.6), test_problems=360, rl_steps=30)
# the quick version is a smoke run of every stage, small enough for the main job (about a minute): the base is the
# lab's quick base mid-trained with the shortcut (50 steps instead of a whole SFT run), 6 RL steps of 32 problems
# (far too short for the phenomena), 60 test problems
QUICK = dataclasses.replace(FULL, base="midtrain", midtrain_steps=50, seeds=(0,), rl_steps=6, batch_problems=32, checkpoint_every=3,
                            test_problems=60, n_eval=16, K=8, calib_samples=8, pool_calib_problems=32, n_boot=200)


# ------------------------------------------------------------------------------------------------ stages
def lab_config(st: PhenomenaSetting, shares, seed: int, LAB):
    """The lab RunConfig of one real arm/seed from the lab setting ``LAB``: the same test set and RL pool for every
    seed (seed offsets absorb it)."""
    t = LAB.task
    off = 100 - seed  # seed + offset is the same for every seed
    return LAB.replace(seed=seed, task={"test_problems": st.test_problems, "test_class_shares": st.test_class_shares,
                                        "rl_class_shares": tuple(shares), "test_seed_offset": t.test_seed_offset + off,
                                        "rl_seed_offset": t.rl_seed_offset + off, "validation_seed_offset": t.validation_seed_offset + off,
                                        "sft_seed_offset": t.sft_seed_offset + off},
                       rl={"steps": st.rl_steps, "batch_problems": st.batch_problems, "n_rollouts": st.n_rollouts,
                           "learning_rate": st.learning_rate, "checkpoint_every": st.checkpoint_every},
                       evaluation={"n_samples": st.n_eval})


def make_base(st: PhenomenaSetting, results: Path, out: Path, LAB, log) -> tuple[dict, dict]:
    """Stage 1 (module docstring) -> (params, info). ``st.base``: ``scratch`` — SFT from initialisation as the lab's
    base (early stopping at the validation target), with the shortcut taught at ``shortcut_rate``; ``midtrain`` —
    the lab's standard base (``results/real_rlvr/base`` when its setting matches ``LAB``) trained further with the
    shortcut for ``midtrain_steps`` steps. Either way the experiment's test and validation prompts are held out."""
    from real.lab.checkpoints import load_checkpoint, save_checkpoint
    from real.lab.run import _train_base, complete_setting, make_problem_sets
    from real.lab.sft import train_sft
    from real.lab.task import sft_examples
    from real.lab.tokenizer import CharTokenizer

    if (out / "base" / "config.json").is_file():
        params, _, _, _, meta = load_checkpoint(out / "base")
        log(f"real_phenomena: base model loaded from {out / 'base'}")
        return params, meta
    cfg = lab_config(st, st.arms[0][1], st.seeds[0], LAB).replace(task={"sft_shortcut_rate": st.shortcut_rate},
                                                                  sft={"steps": st.sft_steps or LAB.sft.steps})
    sets, _ = make_problem_sets(cfg)  # the experiment's test and validation prompts are removed from the SFT data
    if st.base == "scratch":
        t0 = time.perf_counter()
        params, meta = _train_base(out, cfg, sets, CharTokenizer(), log)
        return params, {**meta, "recipe": "scratch", "shortcut_rate": st.shortcut_rate, "seconds": time.perf_counter() - t0}
    lab = results / "real_rlvr"
    src = None
    if (lab / "base" / "config.json").is_file() and (lab / "setting.json").is_file():
        have = complete_setting(json.loads((lab / "setting.json").read_text()))
        if all(have.get(k) == LAB.to_dict()[k] for k in ("model", "task", "sft", "seed")):
            params, *_ = load_checkpoint(lab / "base")
            src = str(lab / "base")
    if src is None:
        params, _ = _train_base(out / "pretrained", LAB, make_problem_sets(LAB)[0], CharTokenizer(), log)
        src = str(out / "pretrained" / "base")
    examples = sft_examples(sets["sft"], st.shortcut_rate, seed=LAB.seed + LAB.task.shortcut_seed_offset)
    sft = dataclasses.replace(LAB.sft, steps=st.midtrain_steps, learning_rate=st.midtrain_lr, warmup=0, final_lr_fraction=1.0,
                              target_pass_at_1=None)
    t0 = time.perf_counter()
    params, _, losses = train_sft(params, LAB.model, examples, sft, CharTokenizer(), seed=LAB.seed + 7)
    meta = {"stage": "midtrain", "recipe": "midtrain", "pretrained": src, "steps": len(losses), "final_loss": float(losses[-1]),
            "shortcut_rate": st.shortcut_rate, "learning_rate": st.midtrain_lr, "seconds": time.perf_counter() - t0}
    save_checkpoint(out / "base", params, LAB.model, step=len(losses), meta=meta)
    log(f"real_phenomena: base = {src} mid-trained {len(losses)} steps with the shortcut at rate {st.shortcut_rate} "
        f"(final loss {losses[-1]:.4f})")
    return params, meta


def sample(params, model, problems, n: int, seed: int, temperature: float = 1.0, checkpoint=0) -> list[dict]:
    """Sample records of ``params`` (architecture ``model``) on lab problems (JAX sampler, the task's verifier)."""
    from real.lab.evaluate import evaluate_params

    return evaluate_params(params, model, problems, checkpoint=checkpoint, n=n, temperature=temperature, seed=seed)


def slot_counts(problems, records) -> np.ndarray:
    """Answer-slot counts int [P, 11] (``real.lab.task.answer_slot``: 0 correct, 10 no answer) of the records."""
    from real.lab.task import N_ANSWER_SLOTS, answer_slot

    idx = {p.problem_id: i for i, p in enumerate(problems)}
    out = np.zeros((len(problems), N_ANSWER_SLOTS), np.int64)
    for r in records:
        i = idx[r["problem_id"]]
        out[i, answer_slot(problems[i], r["answer"])] += 1
    return out


# ------------------------------------------------------------------------------------------------ metrics
def exact_metrics(ap: np.ndarray, K: int, masks: dict, budget: tuple) -> dict:
    """Exact per-split metrics of answer laws ap [C, P, m] (slot 0 correct, slot ``ABSTAIN`` no answer)."""
    from theory.passk import pass_at_k_from_p, union_pass_at_k_from_p
    from theory.voting import plurality_accuracy

    ap = np.asarray(ap, np.float64)
    ap = ap / ap.sum(-1, keepdims=True)  # float32 laws of the simulator, renormalized in float64
    p0 = ap[..., 0]
    maj = np.asarray(plurality_accuracy(ap, K, abstain=ABSTAIN), np.float64)
    pk = np.asarray(pass_at_k_from_p(p0, K), np.float64)
    k_each, total = budget
    union = np.asarray(union_pass_at_k_from_p(p0.T, np.full(ap.shape[0], k_each)), np.float64)  # [P]
    single = np.asarray(pass_at_k_from_p(p0, total), np.float64)  # [C, P]
    out = {}
    for name, m in masks.items():
        out[name] = {"pass@1": p0[:, m].mean(1).tolist(), f"pass@{K}": pk[:, m].mean(1).tolist(), f"maj@{K}": maj[:, m].mean(1).tolist(),
                     f"sc_gain@{K}": (maj - p0)[:, m].mean(1).tolist(),
                     "union_minus_best": float(union[m].mean() - single[:, m].mean(1).max())}
    return out


def realized_per_problem(problems, recs_by_ck: dict, K: int, budget: tuple) -> dict:
    """Unbiased per-problem estimates from one run's sample records per checkpoint: arrays [C, P] and [P]."""
    from real.lab.task import classify_completion
    from theory.passk import pass_at_k, union_pass_at_k
    from theory.voting import maj_at_k

    cks = sorted(recs_by_ck)
    counts = np.stack([slot_counts(problems, recs_by_ck[c]) for c in cks])  # [C, P, 11]
    n = counts.sum(-1)
    c0 = counts[..., 0]
    maj = np.asarray(maj_at_k(counts.reshape(-1, counts.shape[-1]), K, abstain=ABSTAIN), np.float64).reshape(c0.shape)
    byp = {p.problem_id: i for i, p in enumerate(problems)}
    short = np.zeros(c0.shape)
    ent = np.full(c0.shape, np.nan)
    for j, ck in enumerate(cks):
        e_sum = np.zeros(len(problems))
        for r in recs_by_ck[ck]:
            i = byp[r["problem_id"]]
            short[j, i] += classify_completion(problems[i], r["text"])["strategy"] == "shortcut"
            e_sum[i] += r.get("mean_token_entropy", np.nan)
        ent[j] = e_sum / n[j]
    k_each, total = budget
    return {"steps": cks, "pass@1": c0 / n, f"pass@{K}": np.asarray(pass_at_k(n, c0, K), np.float64),
            f"maj@{K}": maj, f"sc_gain@{K}": maj - c0 / n, "shortcut": short / n, "entropy": ent, "counts": counts,
            "union": np.asarray(union_pass_at_k(n.T, c0.T, np.full(len(cks), k_each)), np.float64),
            "union_1": np.asarray(union_pass_at_k(n.T, c0.T, np.ones(len(cks), np.int64)), np.float64),
            "single_1": np.asarray(pass_at_k(n, c0, len(cks)), np.float64),
            "single": np.asarray(pass_at_k(n, c0, total), np.float64)}


def interval(values: np.ndarray, w: np.ndarray) -> tuple:
    """(estimate, low, high) of the mean over the last axis with a percentile bootstrap (weights [B, P])."""
    if values.shape[-1] == 0:  # an empty split (possible in a toy setting): no value
        return float("nan"), float("nan"), float("nan")
    est = float(np.mean(values))
    ws = w.sum(1)
    res = (w @ values)[ws > 0] / ws[ws > 0]  # a resample that drew none of these problems has no mean
    return est, float(np.percentile(res, 2.5)), float(np.percentile(res, 97.5))


# ------------------------------------------------------------------------------------------------ run
def run(quick: bool = False, results_dir=None, setting: PhenomenaSetting | None = None, lab=None, log=print) -> dict:
    """The experiment (module docstring) into ``<results_dir>/real_phenomena``; ``lab``: the lab setting whose base is
    mid-trained (default ``real.lab.config.QUICK``, the base ``real_rlvr`` trains; tests pass a toy one)."""
    import jax

    from real.lab.config import QUICK as LAB_QUICK
    from real.lab.run import claim_run_folder, make_problem_sets, run_lab
    from real.lab.task import ERROR_TYPES, STRATEGIES, classify_completion, strategy_table
    from sim.metrics import answer_probs
    from sim.policy import logits
    from sim.train import make_run
    from theory.passk import pass_at_k

    st = setting or (QUICK if quick else FULL)
    results = Path(results_dir or RESULTS_DIR)
    out = results / NAME
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    want = {"setting": dataclasses.asdict(st), "quick": quick, "lab": (lab or LAB_QUICK).to_dict(), "calib_seed": CALIB_SEED,
            "sim": {"lr": SIM_LR, "sharing": SIM_SHARING, "smoothing": SIM_SMOOTHING}}
    sf = out / "setting.json"
    if sf.is_file():
        have, new = json.loads(sf.read_text()), json.loads(json.dumps(want))
        def runs_key(d):  # what the base, calibration and real runs depend on (more seeds add runs; n_boot only the analysis)
            return {k: v for k, v in d.get("setting", {}).items() if k not in ("seeds", "n_boot")}, [d.get(k) for k in ("lab", "calib_seed")]

        if runs_key(have) != runs_key(new):
            log(f"{out}: setting changed; deleting the old outputs")
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        elif have != new:  # only the simulator changed: a new prediction, made after the real runs (the claim will say so)
            log(f"{out}: simulator setting changed; the prediction is made again, after the real runs that exist")
            (out / "predictions.json").unlink(missing_ok=True)
    atomic_write_json(sf, want)
    timings = {}

    LAB = lab or LAB_QUICK
    params, base_meta = make_base(st, results, out, LAB, log)
    timings["base_s"] = time.perf_counter() - t0

    # ---- calibration (independent samples) and splits
    t1 = time.perf_counter()
    cfg0 = lab_config(st, st.arms[0][1], st.seeds[0], LAB)
    sets0, _ = make_problem_sets(cfg0)
    test = sets0["test"]
    cal = _cached_records(out / "calibration_test.jsonl", lambda: sample(params, LAB.model, test, st.calib_samples, CALIB_SEED))
    cal_counts = slot_counts(test, cal)
    cal_p = cal_counts[:, 0] / cal_counts.sum(1)
    cls = np.array([p.trap_class for p in test])
    masks = {"all": np.ones(len(test), bool), "easy": cal_p >= 0.5, "hard": cal_p < 0.5, "trap_wrong": cls == "trap_wrong"}
    test_tab = strategy_table(test, cal)
    pools = {}
    for arm, shares in st.arms:
        sets, _ = make_problem_sets(lab_config(st, shares, st.seeds[0], LAB))
        pool = sets["rl"][: st.pool_calib_problems]
        recs = _cached_records(out / f"calibration_pool_{arm}.jsonl",
                               lambda pool=pool: sample(params, LAB.model, pool, st.pool_calib_samples, CALIB_SEED + 1))
        pools[arm] = (pool, strategy_table(pool, recs))
    timings["calibration_s"] = time.perf_counter() - t1

    # ---- prediction (before any real RL)
    t2 = time.perf_counter()
    n_ck = st.rl_steps // st.checkpoint_every + 1
    k_each = max(1, st.n_eval // n_ck)
    budget = (k_each, k_each * n_ck)
    test_bank, test_pol = calibrated_pair(test_tab)
    base_ap = np.asarray(answer_probs(logits(test_pol), test_bank, 1.0), np.float64)
    predictions = {"made_at": None, "budget": {"k_each": k_each, "total": budget[1], "checkpoints": n_ck}, "arms": {}}
    tcfg = sim_train_config(st)
    import jax.numpy as jnp

    def evaluate(policy, hyper):
        z = policy.u[None, :] + test_pol.v
        return {"ap": answer_probs(z, test_bank, 1.0), "shortcut": jax.nn.softmax(z, -1)[:, 0]}

    runner = jax.jit(make_run(tcfg, evaluate=evaluate))
    for arm, _ in st.arms:
        pool, tab = pools[arm]
        bank, pol = calibrated_pair(tab)
        arm_pred = {}
        for lr, sharing in st.sim_grid:
            dt = tcfg.hyper().sharing.dtype
            share = jnp.asarray([sharing[0], sharing[1]] + [sharing[2]] * (len(STRATEGIES) - 2), dt)  # per strategy
            h = tcfg.hyper()._replace(learning_rate=jnp.asarray(lr, dt), sharing=share)
            res = runner(jax.random.PRNGKey(0), bank, pol, h)
            ap = np.asarray(res.evaluations["ap"], np.float64)
            ap /= ap.sum(-1, keepdims=True)
            sh = np.asarray(res.evaluations["shortcut"], np.float64)
            m = exact_metrics(ap, st.K, masks, budget)
            for name, mask in masks.items():
                m[name]["shortcut"] = sh[:, mask].mean(1).tolist()
            arm_pred[f"lr={lr},sharing={sharing}"] = m
        predictions["arms"][arm] = {"central": arm_pred[f"lr={SIM_LR},sharing={SIM_SHARING}"], "grid": arm_pred,
                                    "steps": [int(s) for s in np.arange(n_ck) * st.checkpoint_every]}
    predictions["base_exact"] = exact_metrics(base_ap[None], st.K, masks, (budget[1], budget[1]))
    predictions["made_at"] = time.time()
    pred_file = out / "predictions.json"
    kept = pred_file.is_file()
    if kept:  # a resumed run keeps the prediction it made first (its time is the one that counts)
        predictions = json.loads(pred_file.read_text())
    else:
        atomic_write_json(pred_file, predictions)
    pred_hash = hashlib.sha256(pred_file.read_bytes()).hexdigest()
    timings["prediction_s"] = time.perf_counter() - t2
    log(f"real_phenomena: predictions {'kept from the first run' if kept else 'written'} ({pred_file}, sha256 {pred_hash[:12]}), "
        f"made at {time.strftime('%H:%M:%S', time.localtime(predictions['made_at']))}")

    # ---- real RL
    t3 = time.perf_counter()
    real = {}
    first_rl = None
    for seed in st.seeds:  # seed-major: every arm of a seed before the next seed
        for arm, shares in st.arms:
            cfg = lab_config(st, shares, seed, LAB)
            d = out / "runs" / f"{arm}_s{seed}"
            claim_run_folder(d, cfg, on_stale="replace", log=log)
            if not (d / "base").exists():
                shutil.copytree(out / "base", d / "base")
            if first_rl is None:  # when the first real RL run started, kept across resumed runs
                started = out / "runs" / "started_at.json"
                if not started.is_file():
                    atomic_write_json(started, {"time": time.time()})
                first_rl = json.loads(started.read_text())["time"]
            if not _finished_run(d, cfg):  # a finished run is read back, not re-entered (run_lab evaluates every checkpoint again)
                run_lab(d, cfg, on_stale="replace", analyze=False, log=lambda *a: None)
            by_ck = records_by_checkpoint(d / "samples.jsonl")
            greedy_f = d / "greedy.jsonl"
            if greedy_f.is_file():
                greedy = [json.loads(line) for line in greedy_f.read_text().splitlines()]
            else:
                from real.lab.checkpoints import load_checkpoint

                greedy = []
                for s in sorted(by_ck):
                    p, *_ = load_checkpoint(d / "rl" / f"step_{s}")
                    greedy += sample(p, LAB.model, test, 1, 0, temperature=0.0, checkpoint=s)
                atomic_write_text(greedy_f, "".join(json.dumps(r) + "\n" for r in greedy))
            g = np.zeros((len(by_ck), len(test)))
            idx = {p.problem_id: i for i, p in enumerate(test)}
            steps_sorted = sorted(by_ck)
            for r in greedy:
                g[steps_sorted.index(int(r["checkpoint"])), idx[r["problem_id"]]] = r["correct"]
            real[(arm, seed)] = {**realized_per_problem(test, by_ck, st.K, budget), "greedy": g, "records": by_ck}
            log(f"real_phenomena: {arm} seed {seed}: pass@1 " + " ".join(f"{x:.3f}" for x in real[(arm, seed)]["pass@1"].mean(1)))
    timings["real_rl_s"] = time.perf_counter() - t3

    # ---- comparison
    w = bootstrap_weights(len(test), st.n_boot, seed=0)
    K = st.K
    rows, table, negatives, compare = [], {}, [], {}
    qual = {"sign_agree": 0, "sign_total": 0}
    for arm, _ in st.arms:
        rs = [real[(arm, s)] for s in st.seeds]
        steps = rs[0]["steps"]
        pred = predictions["arms"][arm]["central"]
        table[arm] = {}
        for split, mask in masks.items():
            wm = w[:, mask]
            tab = {}
            for q in ("pass@1", f"pass@{K}", f"maj@{K}", f"sc_gain@{K}", "shortcut", "greedy"):
                per = np.mean([r[q] for r in rs], axis=0)[:, mask]  # [C, P_split], mean over seeds
                tab[q] = [interval(per[j], wm) for j in range(len(steps))]
            per_h0 = np.mean([r["pass@1"] - r["greedy"] for r in rs], axis=0)[:, mask]
            tab["h0_share"] = [interval(per_h0[j], wm) for j in range(len(steps))]
            mixed = np.mean([r[f"maj@{K}"] - r["greedy"] for r in rs], axis=0)[:, mask]
            tab[f"sc_gain_vs_greedy@{K}"] = [interval(mixed[j], wm) for j in range(len(steps))]
            rise = np.mean([r["pass@1"][-1] - r["pass@1"][0] for r in rs], axis=0)[mask]
            tab["pass@1_rise"] = interval(rise, wm)
            # union of all checkpoints at k_each samples each vs the best single checkpoint at the same total (the
            # claim's budget), and at one sample each (reported beside it: the smallest matched budget)
            for key, u_key, s_key in (("union_minus_best", "union", "single"), ("union_minus_best@1", "union_1", "single_1")):
                un = np.mean([r[u_key] for r in rs], axis=0)[mask]
                sg = np.stack([r[s_key][:, mask] for r in rs])  # [S, C, P]
                if mask.any():
                    ws = wm.sum(1)
                    exc_b = (wm @ un) / ws - np.mean([np.max((wm @ sg[s].T) / ws[:, None], axis=1) for s in range(len(rs))], axis=0)
                    exc = float(un.mean() - np.mean([sg[s].mean(1).max() for s in range(len(rs))]))
                    tab[key] = (exc, float(np.percentile(exc_b, 2.5)), float(np.percentile(exc_b, 97.5)))
                else:
                    tab[key] = (float("nan"),) * 3
            table[arm][split] = tab
            for j, s in enumerate(steps):
                e, lo, hi = tab[f"sc_gain@{K}"][j]
                pv = pred[split][f"sc_gain@{K}"][j]
                if lo > 0 or hi < 0:
                    qual["sign_total"] += 1
                    qual["sign_agree"] += int(np.sign(pv) == np.sign(e))
                if hi < 0:
                    negatives.append((arm, split, j, s))
                rows.append({"arm": arm, "split": split, "step": s, **{f"{q}": tab[q][j][0] for q in
                             ("pass@1", f"pass@{K}", f"maj@{K}", f"sc_gain@{K}", "shortcut", "greedy", "h0_share", f"sc_gain_vs_greedy@{K}")},
                             f"sc_gain@{K}_low": tab[f"sc_gain@{K}"][j][1], f"sc_gain@{K}_high": tab[f"sc_gain@{K}"][j][2],
                             **{f"predicted {q}": pred[split][q][j] for q in ("pass@1", f"pass@{K}", f"maj@{K}", f"sc_gain@{K}", "shortcut")}})
            compare[f"{arm}/{split}"] = {q: float(np.mean(np.abs(np.array(pred[split][q]) - np.array([v[0] for v in tab[q]]))))
                                         for q in ("pass@1", f"pass@{K}", f"maj@{K}", f"sc_gain@{K}", "shortcut")}
            compare[f"{arm}/{split}"]["union_minus_best"] = pred[split]["union_minus_best"] - tab["union_minus_best"][0]
    _write_csv(out / "trajectories.csv", rows)

    # ---- diagnosis of every negative-SC checkpoint
    diagnosis = []
    for arm, split, j, s in negatives:
        mask = masks[split]
        rs = [real[(arm, sd)] for sd in st.seeds]
        cnt = np.sum([r["counts"][j] for r in rs], axis=0)[mask]  # [P, 11] pooled over seeds
        base_cnt = np.sum([r["counts"][0] for r in rs], axis=0)[mask]
        wrong = cnt[:, 1:ABSTAIN]
        nw = wrong.sum(1)
        ok = nw > 0
        top = np.where(ok, wrong.max(1) / np.maximum(nw, 1), np.nan)
        coll = np.where(nw > 1, (wrong * (wrong - 1)).sum(1) / np.maximum(nw * (nw - 1), 1), np.nan)
        errors = Counter()
        n_wrong = 0
        sel = set(np.flatnonzero(mask))
        pid = {p.problem_id: i for i, p in enumerate(test)}
        for r_ in rs:
            for rec in r_["records"][s]:
                i = pid[rec["problem_id"]]
                if i in sel and not rec["correct"]:
                    errors[classify_completion(test[i], rec["text"])["error"] or "none"] += 1
                    n_wrong += 1
        tab = table[arm][split]
        pk_now = np.mean([r[f"pass@{K}"][j] for r in rs], axis=0)[mask].mean()
        pk_base = np.mean([r[f"pass@{K}"][0] for r in rs], axis=0)[mask].mean()
        ent = np.nanmean([np.nanmean(r["entropy"][j][mask]) for r in rs])
        ent0 = np.nanmean([np.nanmean(r["entropy"][0][mask]) for r in rs])
        distinct = float(np.mean((cnt > 0).sum(1)))
        distinct0 = float(np.mean((base_cnt > 0).sum(1)))
        diagnosis.append({
            "arm": arm, "split": split, "step": int(s), "sc_gain": tab[f"sc_gain@{K}"][j],
            "H0_protocol": {"pass@1_minus_greedy": tab["h0_share"][j], "sc_gain_vs_greedy": tab[f"sc_gain_vs_greedy@{K}"][j]},
            "H1_consistent_errors": {"top_wrong_share": float(np.nanmean(top)), "wrong_collision": float(np.nanmean(coll)),
                                     "shortcut_share_of_wrong": errors.get("shortcut", 0) / max(n_wrong, 1),
                                     "shortcut_share_of_samples": tab["shortcut"][j][0], "shortcut_share_base": tab["shortcut"][0][0]},
            "H2_diversity": {"mean_token_entropy": float(ent), "mean_token_entropy_base": float(ent0),
                             "distinct_answers_per_problem": distinct, "distinct_answers_base": distinct0},
            "H3_coverage": {f"pass@{K}": float(pk_now), f"pass@{K}_base": float(pk_base)},
            "error_types": {e: errors.get(e, 0) / max(n_wrong, 1) for e in ERROR_TYPES + ("none",) if errors.get(e)},
        })
    atomic_write_json(out / "diagnosis.json", diagnosis)

    # ---- event study: training signals before negative-SC checkpoints (any split) vs the others
    from real.lab.signals import read_signals

    windows = []
    for arm, _ in st.arms:
        ev = {s for (a, _, _, s) in negatives if a == arm}
        for seed in st.seeds:
            sig = read_signals(out / "runs" / f"{arm}_s{seed}" / "signals.parquet")
            windows += [{**w, "arm": arm, "seed": seed} for w in signal_windows(sig, real[(arm, seed)]["steps"], ev)]
    events = event_study([{**{k: v for k, v in w.items() if k not in ("arm", "seed", "checkpoint")}, "stratum": w["arm"]} for w in windows],
                         seed=0)
    atomic_write_json(out / "event_study.json", {"windows": windows, **events})

    # ---- claims
    first_arm, ctrl_arm = st.arms[0][0], st.arms[-1][0]
    sh, ct = table[first_arm], table[ctrl_arm]
    steps = real[(first_arm, st.seeds[0])]["steps"]
    rise = sh["all"]["pass@1_rise"]
    risen_from = next((j for j in range(1, len(steps)) if sh["all"]["pass@1"][j][1] > sh["all"]["pass@1"][0][0]), None)
    neg_hard = [j for (a, sp, j, _) in negatives if a == first_arm and sp == "hard" and risen_from is not None and j >= risen_from]
    neg_ctrl = [(sp, j) for (a, sp, j, _) in negatives if a == ctrl_arm and sp == "hard"]
    pred_sh, pred_ct = predictions["arms"][first_arm]["central"], predictions["arms"][ctrl_arm]["central"]
    pred_neg_sh = min(pred_sh["hard"][f"sc_gain@{K}"][1:])
    pred_neg_ct = min(pred_ct["hard"][f"sc_gain@{K}"][1:])
    sc_min = min(sh["hard"][f"sc_gain@{K}"][1:], key=lambda v: v[0])
    claims = [
        Claim(f"the prediction file was written before the first real RL step (sha256 {pred_hash[:12]}); value = seconds between them",
              predictions["made_at"] < (first_rl or np.inf), float((first_rl or np.nan) - predictions["made_at"]), 0.0),
        Claim(f"{first_arm} arm: pass@1 rises under GRPO (all test problems, {len(st.seeds)} seed(s)): value = the 95% lower bound of "
              f"last − first (estimate {rise[0]:+.3f})", rise[1] > 0, rise[1], 0.0),
        Claim(f"{first_arm} arm: a checkpoint after the rise has negative SC gain@{K} on the hard split (interval below 0); value = "
              f"the upper bound at the most negative checkpoint (estimate {sc_min[0]:+.3f} [{sc_min[1]:+.3f}, {sc_min[2]:+.3f}])",
              bool(neg_hard), sc_min[2], 0.0),
        Claim(f"{first_arm} arm: the union of all checkpoints beats the best single one at a matched budget ({budget[0]} x {n_ck} vs "
              f"{budget[1]}): value = the 95% lower bound of the excess (estimate {sh['all']['union_minus_best'][0]:+.3f})",
              sh["all"]["union_minus_best"][1] > 0, sh["all"]["union_minus_best"][1], 0.0),
        Claim(f"{ctrl_arm} arm: no checkpoint has negative SC gain@{K} on the hard split and the union does not beat the best single "
              f"(union excess {ct['all']['union_minus_best'][0]:+.3f} [{ct['all']['union_minus_best'][1]:+.3f}, "
              f"{ct['all']['union_minus_best'][2]:+.3f}]); value = negative hard-split checkpoints",
              not neg_ctrl and ct["all"]["union_minus_best"][1] <= 0, float(len(neg_ctrl)), 0.0),
        Claim(f"the simulator (calibrated, lr {SIM_LR}, sharing {SIM_SHARING}) predicts negative SC gain@{K} on the hard split for "
              f"{first_arm} (min {pred_neg_sh:+.3f}) and not for {ctrl_arm} (min {pred_neg_ct:+.3f}); value = {first_arm}'s min",
              pred_neg_sh < 0 <= pred_neg_ct, pred_neg_sh, 0.0),
        Claim(f"the predicted sign of SC gain@{K} matches the realized sign at every (arm, split, checkpoint) whose interval excludes 0 "
              f"in >= 75% of them ({qual['sign_agree']} of {qual['sign_total']}); value = the share",
              qual["sign_total"] > 0 and qual["sign_agree"] / qual["sign_total"] >= 0.75,
              qual["sign_agree"] / max(qual["sign_total"], 1), 0.75),
    ]
    timings["total_s"] = time.perf_counter() - t0
    split_sizes = {k: int(v.sum()) for k, v in masks.items()}
    figures = _figures(out, st, table, predictions, steps)
    write_summary(NAME, claims, folder=out, quick=quick, setting=want, base_model=base_meta, prediction_file={"sha256": pred_hash,
                  "written_at": predictions["made_at"], "first_real_rl_step_at": first_rl}, splits=split_sizes,
                  prediction_errors=compare, qualitative=qual, diagnosis=diagnosis, event_study=events, figures=figures, timings=timings,
                  table={a: {sp: {q: v for q, v in t.items()} for sp, t in d.items()} for a, d in table.items()})
    log(f"real_phenomena ({'quick' if quick else 'full'}): {timings['total_s']:.0f} s; splits {split_sizes}")
    print_claims(claims, log=log)
    return {"claims": [c.as_dict() for c in claims], "timings": timings, "table": table, "predictions": predictions,
            "diagnosis": diagnosis, "pass_at_k": pass_at_k}


def sim_train_config(st: PhenomenaSetting):
    """The simulator's ``sim.train.TrainConfig`` for a setting: the real runs' batch, rollouts, steps and checkpoints,
    GRPO with Adam at ``SIM_LR`` (the grid replaces the learning rate and sharing per run)."""
    from sim.train import TrainConfig

    return TrainConfig(n_steps=st.rl_steps, batch_size=st.batch_problems, n_rollouts=st.n_rollouts, checkpoint_every=st.checkpoint_every,
                       advantage="grpo", optimizer="adam", learning_rate=SIM_LR)


def calibrated_pair(tab: dict) -> tuple:
    """(bank, policy) of the simulator calibrated to a ``real.lab.task.strategy_table`` (``sim.calibration``; answer
    slots 0..``ABSTAIN``, smoothing ``SIM_SMOOTHING``)."""
    from sim.calibration import calibrated_bank, calibrated_policy

    return calibrated_bank(tab["answers"], ABSTAIN + 1), calibrated_policy(tab["counts"], tab["available"], smoothing=SIM_SMOOTHING)


def records_by_checkpoint(path: Path) -> dict:
    """A run's sample records (JSON Lines at ``path``, which must exist) grouped by their ``checkpoint`` (int keys)."""
    by_ck: dict = {}
    for r in _cached_records(Path(path), None):
        by_ck.setdefault(int(r["checkpoint"]), []).append(r)
    return by_ck


def load_setting(folder) -> PhenomenaSetting:
    """The :class:`PhenomenaSetting` an experiment folder (``<results>/real_phenomena``) was run with (its
    ``setting.json``; JSON lists back to tuples)."""
    doc = json.loads((Path(folder) / "setting.json").read_text())["setting"]

    def tup(v):
        return tuple(tup(x) for x in v) if isinstance(v, list) else v

    return PhenomenaSetting(**{k: tup(v) for k, v in doc.items()})


def dynamics_cases(folder, lab=None) -> list:
    """The finished real runs of an experiment folder as ``sim.calibration.DynamicsCase`` s, for fitting the
    simulator's dynamics knobs (``sim.calibration.fit_dynamics``; ``scripts/real_phenomena_search.py``): per
    (arm, seed), the bank and policy calibrated to the arm's pool calibration, the test bank and logits
    calibrated to the test calibration, groups = the test problems' trap classes, and the observed per-class
    pass@1 and shortcut share at every checkpoint. ``lab``: the lab setting the folder used (default
    ``real.lab.config.QUICK``)."""
    from real.lab.config import QUICK as LAB_QUICK
    from real.lab.run import make_problem_sets
    from real.lab.task import TRAP_CLASSES, strategy_table
    from sim.calibration import DynamicsCase

    folder, LAB = Path(folder), lab or LAB_QUICK
    st = load_setting(folder)
    test = make_problem_sets(lab_config(st, st.arms[0][1], st.seeds[0], LAB))[0]["test"]
    ttab = strategy_table(test, _cached_records(folder / "calibration_test.jsonl", None))
    test_bank, test_pol = calibrated_pair(ttab)
    groups = np.array([TRAP_CLASSES.index(p.trap_class) for p in test])
    tcfg = sim_train_config(st)
    cases = []
    for arm, shares in st.arms:
        pool = make_problem_sets(lab_config(st, shares, st.seeds[0], LAB))[0]["rl"][: st.pool_calib_problems]
        ptab = strategy_table(pool, _cached_records(folder / f"calibration_pool_{arm}.jsonl", None))
        bank, pol = calibrated_pair(ptab)
        for seed in st.seeds:
            f = folder / "runs" / f"{arm}_s{seed}" / "samples.jsonl"
            if not f.is_file():
                continue
            by_ck = records_by_checkpoint(f)
            real = realized_per_problem(test, by_ck, min(st.K, st.n_eval), (1, len(by_ck)))
            labels = np.unique(groups)
            obs = {q: np.stack([real[q][:, groups == g].mean(1) for g in labels], 1) for q in ("pass@1", "shortcut")}
            cases.append(DynamicsCase(bank, pol, test_bank, test_pol.v, groups, tcfg, obs["pass@1"], obs["shortcut"]))
    return cases


def _finished_run(folder: Path, cfg) -> bool:
    """Whether ``folder`` holds a finished lab run of ``cfg``: ``run.json`` (written last, atomically) of the same
    setting, and its sample records."""
    f = folder / "run.json"
    if not (f.is_file() and (folder / "samples.jsonl").is_file()):
        return False
    return json.loads(f.read_text()).get("setting") == json.loads(json.dumps(cfg.to_dict()))


def _cached_records(path: Path, make) -> list[dict]:
    """Sample records from ``path`` when it exists, else ``make()`` written there atomically (JSON Lines;
    ``make = None``: the file must exist)."""
    if path.is_file():
        return [json.loads(line) for line in path.read_text().splitlines()]
    if make is None:
        raise FileNotFoundError(f"{path}: missing (the experiment folder has no such records)")
    recs = make()
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in recs))
    return recs


def _write_csv(path: Path, rows: list[dict]) -> None:
    import csv
    import io

    buf = io.StringIO()
    if rows:
        wr = csv.DictWriter(buf, fieldnames=list(rows[0]))
        wr.writeheader()
        wr.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _figures(out: Path, st: PhenomenaSetting, table: dict, predictions: dict, steps) -> list[str]:
    from common.figures import pyplot, save_figure

    plt = pyplot()
    K = st.K
    qs = ("pass@1", f"sc_gain@{K}", "shortcut")
    fig, axes = plt.subplots(len(st.arms), len(qs), figsize=(13, 3.6 * len(st.arms)), squeeze=False)
    colors = {"all": "k", "easy": "tab:blue", "hard": "tab:red", "trap_wrong": "tab:purple"}
    for r, (arm, _) in enumerate(st.arms):
        pred = predictions["arms"][arm]["central"]
        for c, q in enumerate(qs):
            ax = axes[r][c]
            for split, col in colors.items():
                v = table[arm][split][q]
                est = [x[0] for x in v]
                ax.errorbar(steps, est, yerr=[[e - x[1] for e, x in zip(est, v)], [x[2] - e for e, x in zip(est, v)]], color=col,
                            marker="o", ms=3, lw=1, capsize=2, label=f"{split} (real)")
                ax.plot(steps, pred[split][q], color=col, ls="--", lw=1, label=f"{split} (predicted)")
            if q.startswith("sc_gain"):
                ax.axhline(0, color="gray", lw=0.8, ls=":")
            ax.set_title(f"{arm}: {q}")
            ax.set_xlabel("RL step")
        axes[r][0].legend(fontsize=6, ncol=2)
    fig.tight_layout()
    save_figure(fig, out / "trajectories.png")
    plt.close(fig)
    return ["trajectories.png"]
