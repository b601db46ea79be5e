"""Event study: training signals in the steps before checkpoints with negative SC gain, against the other checkpoints.

* :func:`signal_windows`: per checkpoint step s > 0, the mean of every numeric training signal over the steps since the
  previous checkpoint, (previous, s];
* :func:`event_study`: event windows against the others per signal, with a permutation p-value (labels shuffled within
  strata);
* :func:`align_to_checkpoints` and :func:`training_analysis`: training-metric logs (``real.logs.training_logs``)
  joined to an analysis of sample logs (``real.logs.analysis.analyze``) by training step, and the event study at its
  negative-SC checkpoints, for ``python -m real analyze --signals``.

(:func:`event_study` and :func:`signal_windows` moved here from ``experiments/real_phenomena.py``, unchanged.)
"""

from __future__ import annotations

import numpy as np

__all__ = ["align_to_checkpoints", "event_study", "signal_windows", "training_analysis"]


def event_study(windows: list[dict], n_perm: int = 2000, seed: int = 0) -> dict:
    """Training signals in the steps before a negative-SC checkpoint against all other checkpoints.

    ``windows``: one dict per (run, checkpoint > 0) with ``event`` (bool: the checkpoint has negative SC gain), an
    optional ``stratum`` (e.g. the arm) and the mean of every numeric training signal (``real.lab.signals``) over the
    RL steps since the previous checkpoint. Per signal: the mean over event windows, over the others, their
    difference, and a two-sided permutation p-value with labels shuffled *within* strata (``n_perm`` times, NumPy
    generator ``seed``; p = (1 + #{|d_perm| >= |d|}) / (1 + n_perm), Phipson and Smyth 2010): permuting within an
    arm keeps a difference between arms from passing for a difference before events. A stratum without both
    kinds of window carries no information and is left out. Signals missing in a window are left out of that
    signal's test."""
    strata = np.array([str(w.get("stratum", "")) for w in windows])
    y = np.array([w["event"] for w in windows], bool)
    informative = np.array([y[strata == g].any() and not y[strata == g].all() for g in strata], bool) if len(y) else y
    out = {"n_event_windows": int(y.sum()), "n_other_windows": int((~y).sum()),
           "n_informative_windows": int(informative.sum()), "signals": {}}
    keys = sorted({k for w in windows for k, v in w.items()
                   if k not in ("event", "stratum") and isinstance(v, (int, float)) and not isinstance(v, bool)})
    rng = np.random.default_rng(seed)
    for k in keys:
        x = np.array([w.get(k, np.nan) for w in windows], np.float64)
        ok = np.isfinite(x) & informative
        if ok.sum() < 3 or not y[ok].any() or y[ok].all():
            continue
        xs, ys, gs = x[ok], y[ok], strata[ok]
        d = xs[ys].mean() - xs[~ys].mean()
        yp = np.repeat(ys[None], n_perm, axis=0)
        for g in np.unique(gs):  # shuffle the labels within each stratum
            idx = np.flatnonzero(gs == g)
            yp[:, idx] = ys[idx][np.argsort(rng.random((n_perm, idx.size)), axis=1)]
        dp = (yp * xs).sum(1) / yp.sum(1) - (~yp * xs).sum(1) / (~yp).sum(1)
        out["signals"][k] = {"event_mean": float(xs[ys].mean()), "other_mean": float(xs[~ys].mean()), "difference": float(d),
                             "p_value": float((1 + np.sum(np.abs(dp) >= abs(d) - 1e-12)) / (1 + n_perm))}
    return out


def signal_windows(signals: list[dict], steps: list[int], events: set) -> list[dict]:
    """Per checkpoint step s > 0: the mean of each numeric signal over RL steps (previous checkpoint, s], and
    ``event`` = s in ``events``."""
    out = []
    for a, b in zip(steps[:-1], steps[1:]):
        rows = [r for r in signals if a < r["step"] <= b]
        w = {"event": b in events, "checkpoint": b}
        for k in {k for r in rows for k in r}:
            vals = [r[k] for r in rows if isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool)]
            vals = [v for v in vals if np.isfinite(v)]
            if vals and k not in ("step", "checkpoint"):
                w[k] = float(np.mean(vals))
        out.append(w)
    return out


def align_to_checkpoints(rows: list[dict], checkpoints, steps) -> list[dict]:
    """Each checkpoint's training metrics: per (run, checkpoint, metric) the value logged at the checkpoint's step, or
    the last one logged before it (``logged_step`` says which step; ``lag`` = step - logged_step, in training steps).

    ``rows``: training metrics, one dict per (run, step) with ``step``, an optional ``run`` and metric columns
    (``real.logs.training_logs.TrainingLogs.wide``); ``checkpoints``: labels; ``steps``: their training steps (NaN: no
    row). A metric never logged at or before a checkpoint's step has no row for it."""
    by_run: dict = {}
    for r in rows:
        by_run.setdefault(r.get("run"), []).append(r)
    out = []
    for run, rs in by_run.items():
        rs = sorted(rs, key=lambda r: r["step"])
        for label, s in zip(checkpoints, np.asarray(steps, float).tolist()):
            if not np.isfinite(s):
                continue
            latest: dict = {}
            for r in rs:
                if r["step"] > s:
                    break
                for k, v in r.items():
                    if k not in ("run", "step") and isinstance(v, (int, float)) and not isinstance(v, bool):
                        latest[k] = (r["step"], float(v))
            for k in sorted(latest):
                ls, v = latest[k]
                out.append({"run": run, "checkpoint": str(label), "step": s, "metric": k, "value": v, "logged_step": ls,
                            "lag": s - ls})
    return out


def training_analysis(results: dict, logs, *, run: str | None = None, n_perm: int = 2000, seed: int = 0) -> dict:
    """Training-metric logs on the checkpoint timeline of an analysis, and the event study at its negative-SC checkpoints.

    Args:
      results: ``real.logs.analysis.analyze``'s dict (checkpoints, steps, negative_sc).
      logs: ``real.logs.training_logs.TrainingLogs`` (normalised metric names are used).
      run: the training run the checkpoints belong to; needed when the logs hold several.
      n_perm, seed: :func:`event_study`'s permutations.
    Returns ``{"run", "metrics", "step_range", "checkpoints", "checkpoint_steps", "timeline" (the run's wide rows, for
    ``real.logs.report.timeline_figure``), "aligned" (:func:`align_to_checkpoints`), "windows" (:func:`signal_windows`
    with the checkpoint labels), "event_study" (:func:`event_study`, plus ``events``: the negative-SC checkpoints),
    "tables" (tidy rows: training_metrics, training_at_checkpoints, event_study_windows, event_study), "notes",
    "import_report"}``.
    Raises ValueError, naming what to do: checkpoints without numeric steps (label them ``global_step_140``,
    ``checkpoint-140``, ... or give the steps), several runs without ``run``, no row of the run, or training steps
    that do not reach any checkpoint.
    """
    labels = [str(c) for c in results["checkpoints"]]
    steps = np.asarray(results["steps"], float)
    if not np.isfinite(steps).all():
        bad = [c for c, s in zip(labels, steps) if not np.isfinite(s)]
        raise ValueError(f"signals: checkpoint(s) {', '.join(map(repr, bad[:6]))} have no training step, so training logs "
                         "cannot be aligned to them; label checkpoints by step (global_step_140, checkpoint-140, step_140, "
                         "ckpt140, 140.jsonl, or the number) or give the steps (--steps LABEL=STEP)")
    runs = logs.runs
    if not runs:
        raise ValueError("signals: no training-log row was accepted (see the training import report)")
    if run is None:
        if len(runs) > 1:
            raise ValueError(f"signals: the training logs hold {len(runs)} runs ({', '.join(map(repr, runs[:8]))}); name the one "
                             "the checkpoints come from (--signals-run)")
        run = runs[0]
    logs = logs.select(run)
    wide = logs.wide()
    lo, hi = min(r["step"] for r in wide), max(r["step"] for r in wide)
    if hi < steps.min() or lo > steps.max():
        raise ValueError(f"signals: the training logs' steps ({lo}-{hi}) do not overlap the checkpoints' steps "
                         f"({steps.min():g}-{steps.max():g}); are the checkpoints labelled by training step?")
    notes = []
    outside = [c for c, s in zip(labels, steps) if s < lo or s > hi]
    if outside:
        notes.append(f"checkpoint(s) outside the logged steps {lo}-{hi}: {', '.join(outside[:8])}"
                     + (" ..." if len(outside) > 8 else ""))
    neg = results.get("negative_sc", {})
    neg_rows = neg.get("rows") if isinstance(neg, dict) else None
    negative = [bool(r.get("negative")) for r in neg_rows] if neg_rows else [False] * len(labels)
    if not neg_rows:
        notes.append("no negative-SC diagnosis in the analysis (count-only data?): every window is a non-event window")
    events = {float(s) for s, e in zip(steps, negative) if e}
    order = np.argsort(steps, kind="stable")
    step_list = steps[order].tolist()
    label_of = {float(s): labels[i] for i, s in zip(order.tolist(), step_list)}
    windows = [{**w, "checkpoint_label": label_of[float(w["checkpoint"])]} for w in signal_windows(wide, step_list, events)]
    empty = [w["checkpoint_label"] for w in windows if len(w) <= 3]
    if empty:
        notes.append(f"no training-log step between the previous checkpoint and checkpoint(s) {', '.join(empty[:8])}")
    study = event_study([{k: v for k, v in w.items() if k not in ("checkpoint", "checkpoint_label")} for w in windows],
                        n_perm=n_perm, seed=seed)
    study["events"] = [c for c, e in zip(labels, negative) if e]
    study["n_perm"], study["seed"] = n_perm, seed
    if not study["events"]:
        notes.append("no checkpoint has negative SC gain: the event study has no event window")
    elif not study["signals"]:
        notes.append("event study: too few windows of each kind (it needs at least 3 windows with a signal, events and "
                     "non-events both) for any signal")
    aligned = align_to_checkpoints(wide, labels, steps)
    tables = {
        "training_metrics": [{k: r[k] for k in ("run", "step", "metric", "raw_metric", "value", "format")} for r in logs.rows],
        "training_at_checkpoints": aligned,
        "event_study_windows": [{"checkpoint": w["checkpoint_label"], "step": float(w["checkpoint"]), "event": bool(w["event"]),
                                 "metric": k, "window_mean": v} for w in windows for k, v in sorted(w.items())
                                if k not in ("event", "checkpoint", "checkpoint_label")],
        "event_study": [{"metric": k, **v} for k, v in sorted(study["signals"].items())],
    }
    return {"run": run, "metrics": logs.metrics(), "step_range": [lo, hi], "checkpoints": labels, "checkpoint_steps": steps.tolist(),
            "timeline": wide,
            "aligned": aligned, "windows": windows, "event_study": study, "tables": {k: v for k, v in tables.items() if v},
            "notes": notes, "import_report": logs.report.to_dict()}
