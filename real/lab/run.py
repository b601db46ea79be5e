"""The lab's RLVR run end to end: base model (SFT) -> RLVR -> checkpoint evaluation -> sample-log analysis.

``python -m real rlvr [--quick] --out DIR [--advantage NAME] [--k K]`` runs, on CPU, the setting
``real.lab.config.RunConfig`` (``QUICK`` or ``FULL``; ``setting.json`` in DIR is its full serialization):
1. Stage 1 (``real.lab.sft``): a JAX Llama trained from scratch on worked solutions of chained mod-10
   arithmetic, stopped at the first check (every ``sft.eval_every`` steps) where its sampled pass@1 on
   a validation set reaches ``sft.target_pass_at_1``, so that per-problem success rates on the held-out
   test set spread over (0, 1). Test and validation prompts are removed from the SFT and RL problems.
   Saved as ``DIR/base`` (safetensors) and exported to ``DIR/hf_base`` (Hugging Face; a head size vLLM's
   CPU attention rejects is reported when the run starts and exported anyway, for transformers).
2. Stage 2 (``real.lab.rl``): RL with the advantage ``rl.advantage`` (any name of the shared registry)
   and PPO clipping on the RL pool; checkpoints every ``rl.checkpoint_every`` steps in ``DIR/rl``; a killed
   run resumes from the last one; per-step logs in ``DIR/rl_log.json`` and every step's training signals
   (``real.lab.signals``: token entropy, branching factor, lengths, pass-rate histogram, advantages, KL,
   gradient norm, answer diversity) in ``DIR/signals.parquet``.
3. Every RL checkpoint is sampled on the test problems (``evaluation``) into sample records
   (``DIR/samples.jsonl``, the ``real.logs.schema`` format, with each sample's mean token entropy; token
   entropy and branching factor by relative position per checkpoint in ``DIR/token_positions.parquet``,
   ``real.lab.signals.position_profile``), which ``real.logs`` analyses unchanged
   (``DIR/analysis``: tables, figures, report). With the evaluation protocol on (``evaluation.greedy`` /
   ``evaluation.temperatures``) each checkpoint is also decoded greedily and sampled at the extra temperatures,
   every record carries its ``temperature``, and the report adds the protocol section (SC gain against pass@1
   at the same temperature and against greedy; ``real.logs.analysis.analyze_temperatures``).
``DIR/run.json`` records what happened (base-model stop, problem counts, checkpoint steps, timings).
The theory-vs-measurement claims on such a run are the experiment ``experiments/real_rlvr.py``.

Resuming: a folder whose ``setting.json`` differs from the requested setting in any field is refused
(:class:`StaleRunError` naming every differing field), or, with ``on_stale="replace"``, its outputs are
deleted first (the experiments' choice: results/ is output).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import jax
import numpy as np

from common.atomic import atomic_write_json
from real.lab.config import RunConfig, setting_differences

__all__ = ["StaleRunError", "claim_run_folder", "complete_setting", "make_problem_sets", "run_lab", "STAGE_OUTPUTS"]

STAGE_OUTPUTS = ("base", "hf_base", "rl", "rl_log.json", "signals.parquet", "signals.csv", "token_positions.parquet",
                 "token_positions.csv", "samples.jsonl", "analysis", "run.json", "summary.json", "validation.png")


class StaleRunError(ValueError):
    """The output folder holds a run of another setting (see :func:`claim_run_folder`)."""


def claim_run_folder(out, cfg: RunConfig, *, on_stale: str = "refuse", log=print) -> None:
    """Make ``out`` hold a run of ``cfg``: write ``setting.json`` in a new folder; accept a folder of the same
    setting (the run resumes from its outputs); for another setting raise :class:`StaleRunError` naming every
    differing field (``on_stale="refuse"``) or delete its stage outputs first (``on_stale="replace"``)."""
    if on_stale not in ("refuse", "replace"):
        raise ValueError(f"on_stale: must be 'refuse' or 'replace', got {on_stale!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    f = out / "setting.json"
    want = cfg.to_dict()
    if f.is_file():
        try:
            have = json.loads(f.read_text())
        except json.JSONDecodeError as exc:
            raise StaleRunError(f"{f}: not JSON ({exc.msg}); delete the folder or choose another --out") from None
        diff = setting_differences(complete_setting(have), want)
        if not diff:
            return
        if on_stale == "refuse":
            raise StaleRunError(f"{out}: holds a run with another setting ({'; '.join(diff)}); choose another --out or "
                                "delete that folder")
        log(f"{out}: setting changed ({'; '.join(diff)}); deleting the old run's outputs")
        _delete_outputs(out)
    elif any((out / name).exists() for name in STAGE_OUTPUTS):
        if on_stale == "refuse":
            raise StaleRunError(f"{out}: holds run outputs but no setting.json; choose another --out or delete that folder")
        log(f"{out}: run outputs without setting.json; deleting them")
        _delete_outputs(out)
    atomic_write_json(f, want)


def complete_setting(doc) -> dict:
    """A ``setting.json`` with every field a newer version added filled in with its default (``RunConfig.from_dict``):
    a run written before a field existed ran with its default. A document that is not a valid setting is returned
    as it is (its differences are then reported field by field)."""
    try:
        return RunConfig.from_dict(doc).to_dict()
    except (ValueError, TypeError):
        return doc


def _delete_outputs(out: Path) -> None:
    """Remove every stage output (:data:`STAGE_OUTPUTS`) from ``out``; ``setting.json`` is rewritten by the caller."""
    for name in STAGE_OUTPUTS:
        path = out / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def make_problem_sets(cfg: RunConfig) -> tuple[dict, dict]:
    """The run's problem sets {"test", "validation", "sft", "rl"} (``real.lab.task`` problems) and their counts.

    Held out means held out: SFT and RL problems whose prompt is a test or validation prompt are dropped."""
    from real.lab.task import make_problems

    t, s = cfg.task, cfg.seed
    test = make_problems(t.test_problems, list(t.test_ops), seed=s + t.test_seed_offset, prefix="t",
                         class_shares=t.test_class_shares or None)
    val = make_problems(t.validation_problems, list(t.validation_ops), seed=s + t.validation_seed_offset, prefix="v")
    held = {p.prompt for p in test} | {p.prompt for p in val}
    sft_all = make_problems(t.sft_problems, list(t.sft_ops), seed=s + t.sft_seed_offset, prefix="s")
    rl_all = make_problems(t.rl_pool, list(t.rl_ops), seed=s + t.rl_seed_offset, prefix="r", class_shares=t.rl_class_shares or None)
    sft = [p for p in sft_all if p.prompt not in held]
    rl = [p for p in rl_all if p.prompt not in held]
    counts = {"test": len(test), "validation": len(val), "sft_train": len(sft), "sft_dropped_as_held_out": len(sft_all) - len(sft),
              "rl_pool": len(rl), "rl_dropped_as_held_out": len(rl_all) - len(rl)}
    if t.sft_shortcut_rate > 0 or t.rl_class_shares or t.test_class_shares:
        from collections import Counter

        counts["trap_classes"] = {name: dict(Counter(p.trap_class for p in ps)) for name, ps in (("test", test), ("rl", rl), ("sft", sft))}
    return {"test": test, "validation": val, "sft": sft, "rl": rl}, counts


def _train_base(out: Path, cfg: RunConfig, sets: dict, tk, log) -> tuple[dict, dict]:
    """Stage 1, or the base model already in ``out/base`` (params, metadata)."""
    from real.lab.checkpoints import load_checkpoint, save_checkpoint
    from real.lab.evaluate import evaluate_params
    from real.lab.hf_export import export_hf
    from real.lab.model import init_params
    from real.lab.sft import train_sft

    if (out / "base" / "config.json").is_file():
        params, _, _, _, meta = load_checkpoint(out / "base")
        log(f"base model: loaded {out / 'base'}")
        return params, meta
    s = cfg.sft
    params = init_params(cfg.model, jax.random.key(cfg.seed))
    val_curve = []

    def stop_at_target(step, p, _opt, _loss):
        # early stopping on a validation set (never the test set) at the target sampled pass@1: where a fixed
        # step count lands on the steep part of the SFT curve is not reproducible (floating-point differences
        # between machines or JAX versions moved the base's pass@1 from 0.52 to 0.91)
        if s.target_pass_at_1 is None or ((step + 1) % s.eval_every and step + 1 < s.steps):
            return False
        recs = evaluate_params(p, cfg.model, sets["validation"], checkpoint=step + 1, n=s.validation_samples,
                               max_tokens=s.validation_max_tokens, seed=cfg.seed + s.validation_seed_offset, tokenizer=tk)
        val_curve.append([step + 1, float(np.mean([r["correct"] for r in recs]))])
        return val_curve[-1][1] >= s.target_pass_at_1

    examples = sets["sft"]
    if cfg.task.sft_shortcut_rate > 0:  # the zero-absorbs shortcut taught on a share of the problems that hit 0 early
        from real.lab.task import sft_examples

        examples = sft_examples(examples, cfg.task.sft_shortcut_rate, seed=cfg.seed + cfg.task.shortcut_seed_offset)
    params, _, losses = train_sft(params, cfg.model, examples, s, tk, seed=cfg.seed, callback=stop_at_target)
    reached = bool(val_curve and s.target_pass_at_1 is not None and val_curve[-1][1] >= s.target_pass_at_1)
    meta = {"stage": "sft", "steps": len(losses), "final_loss": float(losses[-1]), "target": s.target_pass_at_1,
            "target_reached": reached, "validation_pass_at_1": val_curve}
    save_checkpoint(out / "base", params, cfg.model, step=len(losses), meta=meta)
    # hf_base is for transformers as well as vLLM: a head size vLLM rejects was reported when the run started
    export_hf(out / "hf_base", params, cfg.model, tk, allow_vllm_unsupported=True)
    last = f"validation pass@1 {val_curve[-1][1]:.3f} " if val_curve else ""
    log(f"base model: {len(losses)} SFT steps, final loss {losses[-1]:.4f}, {last}"
        f"(target {s.target_pass_at_1}{'' if reached else ', NOT reached'})")
    return params, meta


def _protocol_records(params, cfg: RunConfig, problems, step: int, tk) -> list[dict]:
    """The evaluation protocol's extra records of one checkpoint (``EvalConfig``: greedy, one sample per problem; each
    extra temperature, ``n_samples`` samples with seed ``seed + seed_offset + step + j x TEMPERATURE_SEED_STRIDE``,
    j = 1, 2, ...), every record with its ``temperature``; [] when the protocol is off."""
    from real.lab.evaluate import TEMPERATURE_SEED_STRIDE, evaluate_params

    e = cfg.evaluation
    base = cfg.seed + e.seed_offset + step
    plan = ([(0.0, 1, base)] if e.greedy else []) + [(float(t), e.n_samples, base + j * TEMPERATURE_SEED_STRIDE)
                                                     for j, t in enumerate(e.temperatures, start=1)]
    out = []
    for t, n, seed in plan:
        out += evaluate_params(params, cfg.model, problems, checkpoint=step, n=n, temperature=t, top_p=e.top_p,
                               max_tokens=e.max_tokens, seed=seed, tokenizer=tk, record_temperature=True)
    return out


def run_lab(out_dir, cfg: RunConfig, *, on_stale: str = "refuse", analyze: bool = True, log=print) -> dict:
    """Stages 1-3 (module docstring) into ``out_dir``; returns the contents of ``run.json`` plus ``logs`` (the
    RL step logs of every step, resumed ones included), ``table`` (the samples' ``CountsTable``) and ``analysis``
    (``real.logs.analysis.analyze``'s result; both None when ``analyze`` is False)."""
    from real.lab.checkpoints import load_checkpoint
    from real.lab.evaluate import evaluate_params, write_records
    from real.lab.hf_export import check_vllm_head_size
    from real.lab.rl import train_rl
    from real.lab.tokenizer import CharTokenizer

    out = Path(out_dir)
    claim_run_folder(out, cfg, on_stale=on_stale, log=log)
    try:
        check_vllm_head_size(cfg.model)
    except ValueError as exc:
        log(f"warning: model: {exc}; hf_base is exported anyway, and vLLM will refuse it")
    t0 = time.perf_counter()
    tk = CharTokenizer()
    sets, counts = make_problem_sets(cfg)
    timings = {}
    params, base_meta = _train_base(out, cfg, sets, tk, log)
    timings["sft_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    _, logs = train_rl(params, cfg.model, sets["rl"], cfg.rl, out / "rl", seed=cfg.seed, tokenizer=tk,
                       signals_path=out / "signals.parquet", log=log)
    log_file = out / "rl_log.json"
    old = json.loads(log_file.read_text()) if log_file.is_file() else []
    if logs:
        atomic_write_json(log_file, old + logs, indent=None)
    logs = old + logs
    timings["rl_s"] = time.perf_counter() - t1

    t2 = time.perf_counter()
    steps = sorted(int(d.name[5:]) for d in (out / "rl").iterdir() if d.name.startswith("step_") and (d / "config.json").is_file())
    from real.lab.signals import position_profile
    from real.logs.report import write_table

    records, profile = [], []
    e = cfg.evaluation
    for s in steps:
        p, _, _, _, _ = load_checkpoint(out / "rl" / f"step_{s}")
        records += evaluate_params(p, cfg.model, sets["test"], checkpoint=s, n=e.n_samples, temperature=e.temperature,
                                   top_p=e.top_p, max_tokens=e.max_tokens, seed=cfg.seed + e.seed_offset + s, tokenizer=tk,
                                   on_completions=lambda comps, s=s: profile.extend(position_profile(comps, s)),
                                   record_temperature=e.protocol)
        records += _protocol_records(p, cfg, sets["test"], s, tk)
    write_records(out / "samples.jsonl", records)
    write_table(profile, out / "token_positions")
    timings["eval_s"] = time.perf_counter() - t2

    table = res = None
    if analyze:
        from real.logs.analysis import analyze as analyze_table
        from real.logs.importers import load_counts
        from real.logs.report import write_report

        t3 = time.perf_counter()
        if e.protocol:  # records of several temperatures: every analysis at evaluation.temperature, plus the protocol section
            from real.logs.analysis import analyze_temperatures
            from real.logs.importers import load_counts_by_temperature

            tables, report = load_counts_by_temperature(out / "samples.jsonl")
            table = tables[float(e.temperature)]
            res = analyze_temperatures(tables, primary=float(e.temperature), n_boot=1000, seed=cfg.seed)
        else:
            table, report = load_counts(out / "samples.jsonl")
            res = analyze_table(table, n_boot=1000, seed=cfg.seed)
        from real.lab.signals import read_signals

        write_report(res, out / "analysis", title="Small real RLVR run: checkpoint analysis", import_report=report.to_dict(),
                     signals=read_signals(out / "signals.parquet"), token_positions=profile)
        timings["analysis_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0
    doc = {"setting": cfg.to_dict(), "base": base_meta, "problems": counts, "steps": steps, "timings": timings, "out_dir": str(out)}
    atomic_write_json(out / "run.json", doc)
    log(f"lab run: {timings['total_s']:.0f} s ({', '.join(f'{k} {v:.0f}' for k, v in timings.items() if k != 'total_s')}); "
        f"samples in {out / 'samples.jsonl'}")
    return {**doc, "logs": logs, "table": table, "analysis": res}
