"""Write the results of ``real.logs.analysis.analyze`` as tables, figures and a readable report.

``write_report(results, out_dir)`` writes, all atomically (``common.results``):

* ``<name>.parquet`` and ``<name>.csv`` for every tidy table in ``results["tables"]`` (``metrics``:
  checkpoint, step, metric, k, estimate, low, high, n_problems; ``attribution``; ``checkpoint_diagnostics``;
  ``negative_sc_problems``; ``coverage``; ``jaccard``; ``union``; ``union_curve``;
  ``cross_checkpoint_majority``) plus ``checkpoint_summary`` (one row per checkpoint: pass@1, maj@K, SC
  gain@K with 95% intervals, the negative-SC diagnostics and coverage columns);
* ``negative_sc.json`` (the flagged checkpoints with their diagnostics, a list), ``coverage.json`` (the
  coverage numbers) and ``summary.json`` (the key numbers);
* PNG figures (matplotlib, Agg): ``passk_curves.png`` (pass@k per checkpoint), ``sc_gain.png`` (maj@K,
  pass@1 and SC gain@K vs checkpoint with 95% bands), ``attribution.png`` (SC gain by answer class),
  ``jaccard.png`` (solved-set Jaccard heatmaps), ``retention.png`` (retention / acquisition / loss),
  ``union_vs_single.png`` (union vs best single pass@K at a matched budget);
* ``report.md`` and ``report.html`` with the same content: key numbers, the flagged negative-SC
  checkpoints with diagnostics, coverage, cross-checkpoint majority, the import report's rejected-row
  counts when given, figures embedded by relative path.

When the results hold them (``real.logs.analysis.analyze_temperatures`` / ``analyze(splits=...)``), also:
the evaluation-protocol section (greedy accuracy, pass@1(T), pass@K(T), maj@K(T), SC gain same-T and
mixed, the H0 share, negative counts under each definition; tables ``protocol``, ``protocol_summary``,
``protocol_passk``; ``protocol.json``; figure ``protocol.png``), the difficulty-split section (tables
``split_metrics``, ``split_coverage``; ``splits.json``) and, with training-metric logs (``python -m real analyze
--signals``: ``real.logs.event_study.training_analysis``), the training-log section (the metrics at each checkpoint,
the event study at the negative-SC checkpoints; tables ``training_metrics``, ``training_at_checkpoints``,
``event_study_windows``, ``event_study``; ``event_study.json``; the timeline ``signals_timeline.png``). Without them
every output is as before.

Probabilities are printed as fractions in [0, 1], entropies in nats.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from common.atomic import atomic_write_bytes, atomic_write_text
from common.figures import pyplot, save_figure
from common.results import jsonable

MAX_ROWS_SHOWN = 40  # checkpoints listed in the report's key-number table (all are in the CSV)
MAX_FLAGGED_SHOWN = 30
MAX_REJECTED_SHOWN = 20


# ----------------------------------------------------------------------------------------------------
# tables
# ----------------------------------------------------------------------------------------------------


def rows_to_arrow(rows: list[dict]) -> pa.Table:
    """Tidy rows (flat dicts with the same keys) -> a pyarrow Table (columns in first-row order)."""
    if not rows:
        return pa.table({})
    cols = list(rows[0].keys())
    return pa.table({c: pa.array([r.get(c) for r in rows]) for c in cols})


def write_table(rows: list[dict], path_stem: Path) -> dict:
    """Write rows as ``<stem>.parquet`` and ``<stem>.csv``; returns both paths."""
    t = rows_to_arrow(rows)
    buf = io.BytesIO()
    pq.write_table(t, buf)
    pq_path = path_stem.with_suffix(".parquet")
    atomic_write_bytes(pq_path, buf.getvalue())
    buf = io.BytesIO()
    if t.num_columns:
        pacsv.write_csv(t, buf)
    csv_path = path_stem.with_suffix(".csv")
    atomic_write_bytes(csv_path, buf.getvalue())
    return {"parquet": str(pq_path), "csv": str(csv_path)}


def _metric_at(results: dict, name: str, k: int) -> dict | None:
    m = results["metrics"]
    if name not in m or k not in m["ks"]:
        return None
    j = m["ks"].index(k)
    return {key: m[name][key][:, j] for key in ("estimate", "low", "high")}


def checkpoint_summary_rows(results: dict) -> list[dict]:
    """One row per checkpoint: pass@1, pass@k_max, maj@K, SC gain@K (95% intervals), diagnostics, coverage."""
    ck = [str(c) for c in results["checkpoints"]]
    K, ks = results["K"], results["metrics"]["ks"]
    p1 = results["metrics"]["pass_at_1"]
    pmax = _metric_at(results, "pass_at_k", ks[-1])
    maj = _metric_at(results, "maj_at_k", K)
    sc = _metric_at(results, "sc_gain", K)
    neg = results.get("negative_sc", {})
    diag_rows = neg.get("rows") if isinstance(neg, dict) else None
    cov = results.get("coverage", {})
    cov_rows = cov.get("rows") if cov.get("available") else None
    rows = []
    for c, name in enumerate(ck):
        r = {"checkpoint": name, "step": float(results["steps"][c]),
             "pass_at_1": float(p1["estimate"][c]), "pass_at_1_low": float(p1["low"][c]), "pass_at_1_high": float(p1["high"][c]),
             f"pass_at_{ks[-1]}": float(pmax["estimate"][c])}
        if maj is not None:
            r.update({f"maj_at_{K}": float(maj["estimate"][c]), f"maj_at_{K}_low": float(maj["low"][c]),
                      f"maj_at_{K}_high": float(maj["high"][c]), f"sc_gain_{K}": float(sc["estimate"][c]),
                      f"sc_gain_{K}_low": float(sc["low"][c]), f"sc_gain_{K}_high": float(sc["high"][c])})
        if diag_rows:
            d = diag_rows[c]
            r.update({key: d[key] for key in ("negative", "ci_excludes_zero", "entropy", "top1_share", "wrong_collision",
                                               "attr_confidently_right", "attr_consistent_wrong", "attr_scattered",
                                               "flips_correct_to_wrong", "flips_wrong_to_correct")})
        if cov_rows:
            d = cov_rows[c]
            r.update({f"solved_binary_k{cov['k']}": d["solved_binary"], f"solved_soft_k{cov['k']}": d["solved_soft"],
                      "retention_binary": d["retention_binary"], "acquisition_binary": d["acquisition_binary"],
                      f"single_pass_at_{cov['K']}": d["single_pass_at_K"]})
        rows.append(r)
    return rows


# ----------------------------------------------------------------------------------------------------
# figures
# ----------------------------------------------------------------------------------------------------


def _x_axis(results: dict):
    steps = np.asarray(results["steps"], float)
    if np.all(np.isfinite(steps)) and len(np.unique(steps)) == len(steps):
        return steps, "training step"
    return np.arange(len(steps), dtype=float), "checkpoint (index)"


# the panels of the training-signal timeline: (title, signal columns drawn together); absent columns are skipped.
# Columns: the lab's signals (real.lab.signals) and the normalised names of users' training logs
# (real.logs.training_logs.ALIASES: entropy, response_length, truncation_rate, frac_reward_zero_std, kl, clip_ratio,
# grad_norm, loss, reward, reward_std)
TIMELINE_PANELS = (
    ("token entropy (nats)", ("token_entropy", "token_entropy_correct", "token_entropy_wrong", "entropy")),
    ("branching factor (top-p 0.95)", ("branching_factor",)),
    ("response length (tokens)", ("length_mean", "length_mean_correct", "length_mean_wrong", "length_p95", "response_length")),
    ("groups with all rewards equal", ("groups_all_correct", "groups_all_wrong", "truncation_rate", "frac_reward_zero_std")),
    ("advantages", ("eta", "adv_std", "adv_share_positive")),
    ("KL (k3) and clipping", ("kl_rollout", "kl_base", "ratio_outside_clip_after", "kl", "clip_ratio")),
    ("update", ("grad_norm", "loss")),
    ("answers in the rollouts", ("distinct_answers", "wrong_answer_collision", "reward", "reward_std")),
)


def timeline_figure(signals: list[dict], results: dict, path: Path) -> str | None:
    """Training signals (rows with ``step``, signal columns and an optional ``run``) on one timeline with the
    checkpoints: one panel per group of :data:`TIMELINE_PANELS` after a first panel of the checkpoints' pass@1 and SC
    gain, and a dotted line at each checkpoint's step; with several runs one line per run and column. Steps are
    training steps (the x axis); values in the signals' own units. Returns the caption, or None without signals."""
    rows = sorted((r for r in signals if r.get("step") is not None), key=lambda r: r["step"])
    runs = list(dict.fromkeys(r.get("run") for r in rows))
    panels = [(t, [c for c in cols if any(isinstance(r.get(c), (int, float)) for r in rows)]) for t, cols in TIMELINE_PANELS]
    panels = [(t, cols) for t, cols in panels if cols]
    if not rows or not panels:
        return None
    plt = pyplot()
    x = np.array([r["step"] for r in rows], float)
    ncol = 2
    nrow = -(-(len(panels) + 1) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 2.6 * nrow), sharex=True, squeeze=False)
    steps, _ = _x_axis(results)
    m = results["metrics"]
    first = axes.flat[0]  # the checkpoints' own metrics, on the same step axis
    first.plot(steps, m["pass_at_1"]["estimate"], "ko-", ms=3, lw=1, label="pass@1")
    sc = _metric_at(results, "sc_gain", results["K"]) if "sc_gain" in m else None
    if sc is not None:
        first.plot(steps, sc["estimate"], "s--", color="tab:red", ms=3, lw=1, label=f"SC gain@{results['K']}")
        first.axhline(0, color="k", lw=0.6)
    first.set_title("checkpoints", fontsize=9)
    first.legend(fontsize=7, loc="best")
    for a, (t, cols) in zip(list(axes.flat)[1:], panels):
        for c in cols:
            for run in runs:
                sel = [i for i, r in enumerate(rows) if r.get("run") == run and isinstance(r.get(c), (int, float))]
                if not sel:
                    continue
                y = np.array([float(rows[i][c]) for i in sel])
                a.plot(x[sel], y, lw=1.2, label=c if len(runs) == 1 else f"{c} ({run})")
        a.set_title(t, fontsize=9)
        a.legend(fontsize=7, loc="best")
    for a in list(axes.flat)[:len(panels) + 1]:
        for s_ in steps:
            a.axvline(s_, color="0.8", ls=":", lw=0.8)
        a.ticklabel_format(axis="y", useOffset=False)
    for i in range(len(panels) + 1, nrow * ncol):
        axes.flat[i].axis("off")
        above = axes.flat[i - ncol]  # the column's last panel shows the step axis
        above.xaxis.set_tick_params(labelbottom=True)
        above.set_xlabel("training step")
    for a in axes[-1]:
        if a.axison:
            a.set_xlabel("training step")
    save_figure(fig, path)
    plt.close(fig)
    return ("Training signals per RL step on the checkpoint timeline (dotted lines: evaluated checkpoints; first panel: the "
            "checkpoints' pass@1 and SC gain)")


def _figures(results: dict, fig_dir: Path) -> list[tuple[str, str]]:
    """Render the figures; returns (file name, caption) pairs."""
    plt = pyplot()

    out = []
    m = results["metrics"]
    ks = np.asarray(m["ks"])
    C = len(results["checkpoints"])
    x, xlabel = _x_axis(results)
    K = results["K"]
    cmap = plt.get_cmap("viridis")
    colors = [cmap(i / max(C - 1, 1)) for i in range(C)]

    # 1. pass@k curves
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for c in range(C):
        est = m["pass_at_k"]["estimate"][c]
        ax.plot(ks, est, "-", color=colors[c], lw=1.0 if C > 10 else 1.6, marker="o" if C <= 10 else None, ms=3,
                label=str(results["checkpoints"][c]) if C <= 10 else None)
        if C <= 8:
            ax.fill_between(ks, m["pass_at_k"]["low"][c], m["pass_at_k"]["high"][c], color=colors[c], alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k (samples)"), ax.set_ylabel("pass@k (unbiased, mean over problems)")
    ax.set_title("pass@k per checkpoint" + (" (95% bootstrap bands)" if C <= 8 else ""))
    if C <= 10:
        ax.legend(fontsize=7, title="checkpoint")
    else:
        sm = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(x.min(), x.max()))
        fig.colorbar(sm, ax=ax, label=xlabel)
    save_figure(fig, fig_dir / "passk_curves.png")
    plt.close(fig)
    out.append(("passk_curves.png", "Unbiased pass@k (Chen et al. 2021) against k, one curve per checkpoint."))

    # 2. maj@K, pass@1 and SC gain vs checkpoint
    if "sc_gain" in m:
        j = m["ks"].index(K)
        fig, axes = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
        a = axes[0]
        for name, lab, col in (("maj_at_k", f"maj@{K}", "tab:blue"),):
            a.plot(x, m[name]["estimate"][:, j], "-", color=col, label=lab)
            a.fill_between(x, m[name]["low"][:, j], m[name]["high"][:, j], color=col, alpha=0.2)
        p1 = m["pass_at_1"]
        a.plot(x, p1["estimate"], "-", color="tab:orange", label="pass@1")
        a.fill_between(x, p1["low"], p1["high"], color="tab:orange", alpha=0.2)
        a.set_ylabel("accuracy"), a.legend(fontsize=8), a.set_title(f"maj@{K} and pass@1 per checkpoint (95% bootstrap bands)")
        b = axes[1]
        sc = m["sc_gain"]
        b.plot(x, sc["estimate"][:, j], "-", color="tab:green", label=f"SC gain = maj@{K} - pass@1")
        b.fill_between(x, sc["low"][:, j], sc["high"][:, j], color="tab:green", alpha=0.2)
        b.axhline(0, color="k", lw=0.8)
        neg = sc["estimate"][:, j] < 0
        if neg.any():
            b.scatter(x[neg], sc["estimate"][neg, j], marker="v", color="tab:red", zorder=3, label="SC gain < 0 (flagged)")
        b.set_xlabel(xlabel), b.set_ylabel("SC gain"), b.legend(fontsize=8)
        save_figure(fig, fig_dir / "sc_gain.png")
        plt.close(fig)
        out.append(("sc_gain.png", f"maj@{K} (exact unbiased) and pass@1 per checkpoint, and SC gain = maj@{K} - pass@1 "
                                        "with 95% bootstrap bands over problems; red markers: flagged (SC gain < 0)."))

    # 3. attribution
    attr = results.get("attribution")
    if isinstance(attr, dict) and "by_class" in attr:
        fig, ax = plt.subplots(figsize=(7, 3.8))
        for name, col in (("confidently_right", "tab:blue"), ("consistent_wrong", "tab:red"), ("scattered", "tab:gray")):
            ax.plot(x, attr["by_class"][name], "-", color=col, label=name.replace("_", " "))
        ax.plot(x, attr["total"], "k--", lw=1.2, label="total SC gain")
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel(xlabel), ax.set_ylabel(f"contribution to SC gain@{K}"), ax.legend(fontsize=8)
        ax.set_title("SC gain by answer class (class sums add up to the total)")
        save_figure(fig, fig_dir / "attribution.png")
        plt.close(fig)
        out.append(("attribution.png", "Each problem's (maj@K - pass@1)/P summed by answer class; the three curves add up to the dashed total."))

    cov = results.get("coverage", {})
    if cov.get("available") and C > 1:
        # 4. Jaccard heatmaps
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
        step = max(1, C // 12)
        tick_idx = np.arange(0, C, step)
        for ax, kind in zip(axes, ("binary", "soft")):
            im = ax.imshow(cov["jaccard" if kind == "binary" else "jaccard_soft"], vmin=0, vmax=1, cmap="viridis", origin="lower")
            labels = [str(results["checkpoints"][i]) for i in tick_idx]
            ax.set_xticks(tick_idx, labels, rotation=90, fontsize=7)
            ax.set_yticks(tick_idx, labels, fontsize=7)
            ax.set_title(f"Jaccard of solved sets, {kind} (k = {cov['k']})")
        fig.colorbar(im, ax=axes, shrink=0.8)
        save_figure(fig, fig_dir / "jaccard.png")
        plt.close(fig)
        out.append(("jaccard.png", f"Jaccard between checkpoints' solved sets at equal k = {cov['k']}: binary (any of k "
                                            "samples correct) and soft (expected intersection / expected union of pass@k)."))

        # 5. retention / acquisition
        fig, ax = plt.subplots(figsize=(7, 4))
        xt = x[1:]
        for kind, ls in (("binary", "-"), ("soft", "--")):
            sfx = "" if kind == "binary" else "_soft"
            tr = {q: cov[q + sfx] for q in ("retention", "acquisition", "loss")}
            ax.plot(xt, tr["retention"], ls, color="tab:blue", label=f"retention ({kind})")
            ax.plot(xt, tr["acquisition"], ls, color="tab:green", label=f"acquisition / P ({kind})")
            ax.plot(xt, tr["loss"], ls, color="tab:red", label=f"loss / P ({kind})")
        ax.plot(x, cov["cumulative_binary"], ":", color="k", label="solved by some checkpoint so far (binary)")
        ax.set_xlabel(xlabel), ax.set_ylabel("fraction"), ax.set_ylim(-0.02, 1.02), ax.legend(fontsize=7, ncol=2)
        ax.set_title(f"Retention and acquisition of solved problems (k = {cov['k']})")
        save_figure(fig, fig_dir / "retention.png")
        plt.close(fig)
        out.append(("retention.png", "Retention = fraction of the previous solved set still solved; acquisition and "
                                                  "loss = newly solved / newly unsolved problems as a fraction of all problems."))

        # 6. union vs single
        cu = cov["curve"]
        if cu["K"]:
            fig, ax = plt.subplots(figsize=(6.5, 4))
            ax.plot(cu["K"], cu["best_single"], "o-", label="best single checkpoint pass@K")
            ax.plot(cu["K"], cu["union_even"], "s-", label="union, K split evenly over min(C, K) checkpoints")
            ax.plot(cu["K"], cu["union_greedy"], "^--", label="union, greedy allocation (in-sample)")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("total samples K"), ax.set_ylabel("pass@K (mean over problems)"), ax.legend(fontsize=8)
            ax.set_title("Cross-checkpoint union vs best single checkpoint at matched budget")
            save_figure(fig, fig_dir / "union_vs_single.png")
            plt.close(fig)
            out.append(("union_vs_single.png", "Union pass@K (exact, theory.passk.union_pass_at_k) with the total budget K split "
                                                "across checkpoints, against the best single checkpoint's pass@K."))
    return out


# ----------------------------------------------------------------------------------------------------
# text
# ----------------------------------------------------------------------------------------------------


def _fmt(v, digits: int = 3) -> str:
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return "n/a"
        return f"{v:.{digits}f}"
    return str(v)


def _step(v: float):
    """Training steps print as integers when they are whole numbers."""
    return int(v) if math.isfinite(v) and float(v).is_integer() else v


def _ci(est, low, high) -> str:
    if est is None or not math.isfinite(est):
        return "n/a"
    return f"{est:.3f} [{low:.3f}, {high:.3f}]"


def _bold(escaped: str) -> str:
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", escaped)


class _Doc:
    """Builds the Markdown and the HTML report side by side."""

    def __init__(self, title: str):
        self.md = [f"# {title}", ""]
        self.html = [f"<h1>{html.escape(title)}</h1>"]

    def h(self, text: str, level: int = 2):
        self.md += [f"{'#' * level} {text}", ""]
        self.html.append(f"<h{level}>{html.escape(text)}</h{level}>")

    def p(self, text: str):
        """A paragraph; **x** is bold in both outputs."""
        self.md += [text, ""]
        self.html.append(f"<p>{_bold(html.escape(text))}</p>")

    def bullets(self, items):
        items = list(items)
        if not items:
            return
        self.md += [f"- {x}" for x in items] + [""]
        self.html.append("<ul>" + "".join(f"<li>{html.escape(str(x))}</li>" for x in items) + "</ul>")

    def table(self, header: list[str], rows: list[list]):
        cells = [[_fmt(v) for v in r] for r in rows]
        self.md.append("| " + " | ".join(header) + " |")
        self.md.append("|" + "|".join("---" for _ in header) + "|")
        self.md += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in cells]
        self.md.append("")
        th = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in cells)
        self.html.append(f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, rel: str, caption: str):
        self.md += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
        self.html.append(f'<figure><img src="{html.escape(rel)}" alt="{html.escape(caption)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")

    def render_html(self, title: str) -> str:
        css = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
               "table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.85em}"
               "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}"
               "td:first-child,th:first-child{text-align:left}img{max-width:100%}figcaption{font-size:0.85em;color:#555}")
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"<style>{css}</style></head><body>\n" + "\n".join(self.html) + "\n</body></html>\n")


def _shown_checkpoints(C: int, must: list[int], limit: int = MAX_ROWS_SHOWN) -> list[int]:
    if C <= limit:
        return list(range(C))
    keep = set([0, C - 1] + must[: limit // 2])
    for i in np.linspace(0, C - 1, limit - len(keep)).round().astype(int):
        keep.add(int(i))
    return sorted(keep)


def _import_section(doc: _Doc, rep) -> dict:
    if hasattr(rep, "to_dict"):
        rep = rep.to_dict()
    doc.h("Import")
    keys = [("files", "files"), ("rows_read", "rows read"), ("rows_accepted", "rows accepted"), ("rows_rejected", "rows rejected")]
    items = []
    for key, lab in keys:
        if key in rep:
            v = rep[key]
            items.append(f"{lab}: {len(v) if isinstance(v, (list, tuple)) else v}")
    doc.bullets(items)
    by_reason = rep.get("rejections_by_reason") or {}
    if by_reason:
        doc.p("Rejected rows by reason:")
        doc.table(["reason", "rows"], [[r, n] for r, n in sorted(by_reason.items(), key=lambda t: -t[1])])
    rej = rep.get("rejected") or []
    if rej:
        shown = rej[:MAX_REJECTED_SHOWN]
        doc.p(f"First {len(shown)} rejected rows (of {rep.get('rows_rejected', len(rej))}):")
        doc.table(["file", "line", "reason"], [[r.get("file"), r.get("line"), r.get("reason")] for r in shown])
    notes = rep.get("notes") or []
    if notes:
        doc.bullets(f"note: {n}" for n in notes)
    return rep


def _training_section(doc: _Doc, tr: dict) -> None:
    """The training logs on the checkpoint timeline: their import, the metrics at each checkpoint, the event study."""
    rep = tr["import_report"]
    doc.h("Training logs and event study")
    doc.bullets([f"run {tr['run']!r}: steps {tr['step_range'][0]}-{tr['step_range'][1]}, metrics (normalised names): "
                 + ", ".join(tr["metrics"][:30]) + (" ..." if len(tr["metrics"]) > 30 else ""),
                 f"training-log import: {len(rep.get('files', []))} file(s), {rep.get('rows_read')} rows read, "
                 f"{rep.get('rows_accepted')} accepted, {rep.get('rows_rejected')} rejected"
                 + ("" if not rep.get("rejections_by_reason")
                    else " (" + ", ".join(f"{k}: {v}" for k, v in rep["rejections_by_reason"].items()) + ")")]
                + [f"note: {n}" for n in tr.get("notes", []) + rep.get("notes", [])])
    rej = rep.get("rejected") or []
    if rej:
        shown = rej[:MAX_REJECTED_SHOWN]
        doc.p(f"First {len(shown)} rejected training-log rows (of {rep.get('rows_rejected', len(rej))}; all in training_import_report.json):")
        doc.table(["file", "line", "reason"], [[r.get("file"), r.get("line"), r.get("reason")] for r in shown])
    shown_metrics = [m for _, cols in TIMELINE_PANELS for m in cols if m in tr["metrics"]][:8] or tr["metrics"][:8]
    at = {(r["checkpoint"], r["metric"]): r for r in tr["aligned"]}
    labels = tr.get("checkpoints") or list(dict.fromkeys(r["checkpoint"] for r in tr["aligned"]))
    if labels and shown_metrics:
        doc.p("Training metrics at each checkpoint (the value logged at its step, or the last before it; n/a: nothing logged "
              "at or before it; all metrics in training_at_checkpoints.csv):")
        body = []
        steps = tr.get("checkpoint_steps") or [next((r["step"] for r in tr["aligned"] if r["checkpoint"] == c), float("nan")) for c in labels]
        for c, step in list(zip(labels, steps))[:MAX_ROWS_SHOWN]:
            body.append([c, _step(step)] + [at[(c, m)]["value"] if (c, m) in at else "n/a" for m in shown_metrics])
        doc.table(["checkpoint", "step"] + shown_metrics, body)
    ev = tr["event_study"]
    doc.p(f"Event study: training metrics averaged over the steps since the previous checkpoint, before the negative-SC "
          f"checkpoints ({', '.join(ev['events']) or 'none'}; {ev['n_event_windows']} windows) against the other checkpoints "
          f"({ev['n_other_windows']} windows); two-sided permutation p-values ({ev.get('n_perm')} permutations).")
    if ev["signals"]:
        doc.table(["metric", "before negative SC", "other", "difference", "p"],
                  [[k, v["event_mean"], v["other_mean"], v["difference"], v["p_value"]]
                   for k, v in sorted(ev["signals"].items(), key=lambda t: t[1]["p_value"])][:MAX_ROWS_SHOWN])
    else:
        doc.p("No metric could be compared (it needs event and non-event windows, at least 3 windows in all).")


def token_position_figure(rows: list[dict], path: Path) -> str | None:
    """Token entropy and branching factor over relative position in the response, one line per checkpoint
    (rows: ``checkpoint``, ``relative_position``, ``token_entropy``, ``branching_factor``, e.g. the lab's
    ``token_positions.parquet``). Returns the caption, or None without rows."""
    if not rows:
        return None
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    checkpoints = sorted({r["checkpoint"] for r in rows}, key=lambda c: (_as_float(c), str(c)))
    cmap = plt.get_cmap("viridis")
    for i, c in enumerate(checkpoints):
        pts = sorted((r["relative_position"], r["token_entropy"], r["branching_factor"]) for r in rows if r["checkpoint"] == c)
        x, e, b = zip(*pts)
        color = cmap(i / max(len(checkpoints) - 1, 1))
        axes[0].plot(x, e, color=color, label=str(c))
        axes[1].plot(x, b, color=color)
    axes[0].set_ylabel("token entropy (nats)")
    axes[1].set_ylabel("branching factor (top-p 0.95 set size)")
    for ax in axes:
        ax.set_xlabel("relative position in the response")
    axes[0].legend(title="checkpoint", fontsize=7)
    fig.tight_layout()
    save_figure(fig, path, close=True)
    return ("Token entropy and rollout branching factor by relative position in the response, per checkpoint "
            "(Deng et al. 2025 report a U-shape over position).")


def _as_float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("inf")


def _token_columns(summary_rows: list[dict], token_positions: list[dict]) -> None:
    """Add each checkpoint's token-weighted mean token entropy and branching factor to its summary row."""
    for r in summary_rows:
        mine = [t for t in token_positions if str(t["checkpoint"]) == r["checkpoint"] and t["tokens"]]
        n = sum(t["tokens"] for t in mine)
        r["token_entropy"] = sum(t["token_entropy"] * t["tokens"] for t in mine) / n if n else float("nan")
        r["branching_factor"] = sum(t["branching_factor"] * t["tokens"] for t in mine) / n if n else float("nan")


def protocol_figure(prot: dict, path: Path) -> str:
    """SC gain under both definitions and the H0 share per checkpoint, one panel per sampled temperature (split
    "all"), 95% bootstrap bands; returns the caption."""
    plt = pyplot()
    temps = prot["temperatures"]
    fig, axes = plt.subplots(1, len(temps), figsize=(5.2 * len(temps), 3.8), squeeze=False, sharey=True)
    steps = np.asarray(prot["steps"], float)
    x = steps if np.all(np.isfinite(steps)) and len(np.unique(steps)) == len(steps) else np.arange(len(steps), dtype=float)
    v = prot["values"]
    K = prot["K"]
    for i, (ax, t) in enumerate(zip(axes[0], temps)):
        for q, lab, col in (("sc_gain_same", f"same T: maj@{K}(T) - pass@1(T)", "tab:green"),
                            ("sc_gain_mixed", f"mixed: maj@{K}(T) - greedy", "tab:red"),
                            ("h0_share", "H0 share: pass@1(T) - greedy", "tab:gray")):
            ax.plot(x, v[q]["estimate"][0, i], "o-" if q != "h0_share" else "s--", color=col, ms=3, lw=1.3, label=lab)
            ax.fill_between(x, v[q]["low"][0, i], v[q]["high"][0, i], color=col, alpha=0.15)
        ax.axhline(0, color="k", lw=0.7)
        ax.set_title(f"T = {t:g} vs greedy (T = 0)", fontsize=9)
        ax.set_xlabel("training step" if x is steps else "checkpoint (index)")
    axes[0, 0].set_ylabel("accuracy difference")
    axes[0, 0].legend(fontsize=7, loc="best")
    save_figure(fig, path)
    plt.close(fig)
    return (f"SC gain per checkpoint under both definitions: same temperature (maj@{K}(T) - pass@1(T)) and mixed "
            f"(maj@{K}(T) - greedy accuracy); their difference is the H0 share pass@1(T) - greedy (dashed). 95% paired "
            "bootstrap bands over problems.")


def _protocol_section(doc: _Doc, prot: dict) -> None:
    K = prot["K"]
    doc.h("Evaluation protocol: SC gain at one temperature vs against greedy")
    doc.p(f"Self-consistency gain under two definitions, at each sampled temperature T and K = {K} votes: same-T "
          f"maj@{K}(T) - pass@1(T), and mixed maj@{K}(T) - greedy accuracy (T = 0), as many users compute it. Their "
          "difference is exactly the H0 share pass@1(T) - greedy (per problem and per bootstrap resample, so its interval "
          "is the interval of the difference). A checkpoint counts as negative when the whole 95% interval lies below 0. "
          "Every quantity of a (checkpoint, T) uses the same problems (n >= K at T and a greedy sample).")
    doc.bullets(prot.get("notes", []))
    doc.table(["split", "T", "checkpoints", "negative same-T (CI < 0)", "negative mixed (CI < 0)", "negative mixed only",
               "estimate < 0: same / mixed", "mean H0 share", "mean SC same / mixed"],
              [[r["split"], r["temperature"], r["n_checkpoints"], r["negative_same_ci"], r["negative_mixed_ci"], r["negative_mixed_only_ci"],
                f"{r['negative_same_point']} / {r['negative_mixed_point']}", r["mean_h0_share"],
                f"{_fmt(r['mean_sc_gain_same'])} / {_fmt(r['mean_sc_gain_mixed'])}"] for r in prot["summary_rows"]])
    rows = [r for r in prot["rows"] if r["split"] == "all"]
    if len(rows) > 2 * MAX_ROWS_SHOWN:
        doc.p(f"Showing the first {2 * MAX_ROWS_SHOWN} of {len(rows)} rows; all are in protocol.csv.")
        rows = rows[:2 * MAX_ROWS_SHOWN]
    doc.table(["checkpoint", "T", "greedy [95% CI]", "pass@1(T) [95% CI]", f"pass@{K}(T)", f"maj@{K}(T) [95% CI]",
               "SC same-T [95% CI]", "SC mixed [95% CI]", "H0 share [95% CI]", "greedy wrong, mode right", "greedy right, mode wrong"],
              [[r["checkpoint"], r["temperature"], _ci(r["greedy"], r["greedy_low"], r["greedy_high"]),
                _ci(r["pass_at_1"], r["pass_at_1_low"], r["pass_at_1_high"]), r["pass_at_K"],
                _ci(r["maj_at_K"], r["maj_at_K_low"], r["maj_at_K_high"]),
                _ci(r["sc_gain_same"], r["sc_gain_same_low"], r["sc_gain_same_high"]) + (" NEG" if r["negative_same"] else ""),
                _ci(r["sc_gain_mixed"], r["sc_gain_mixed_low"], r["sc_gain_mixed_high"]) + (" NEG" if r["negative_mixed"] else ""),
                _ci(r["h0_share"], r["h0_share_low"], r["h0_share_high"]), r["greedy_wrong_mode_right"], r["greedy_right_mode_wrong"]]
               for r in rows])
    doc.p("Per split and the full pass@k(T) curves: protocol.csv, protocol_passk.csv; mode = the strict plurality answer of "
          "the samples at T.")


def _splits_section(doc: _Doc, sp: dict, results: dict) -> None:
    K = sp["K"]
    doc.h("Difficulty splits")
    doc.p(sp["note"] + ".")
    by = {}
    for r in sp["rows"]:
        by[(r["split"], r["checkpoint"], r["metric"], r["k"])] = r
    k0, kmax = sp["ks"][0], sp["ks"][-1]
    body = []
    for name in sp["names"]:
        for c in [str(x) for x in results["checkpoints"]]:
            p1, pk = by.get((name, c, "pass_at_k", k0)), by.get((name, c, "pass_at_k", kmax))
            mj, sc = by.get((name, c, "maj_at_k", K)), by.get((name, c, "sc_gain", K))
            if p1 is None:
                continue
            body.append([name, c, p1["n_problems"], _ci(p1["estimate"], p1["low"], p1["high"]), pk["estimate"] if pk else None,
                         _ci(mj["estimate"], mj["low"], mj["high"]) if mj else "n/a",
                         _ci(sc["estimate"], sc["low"], sc["high"]) if sc else "n/a"])
    if len(body) > 3 * MAX_ROWS_SHOWN:
        doc.p(f"Showing the first {3 * MAX_ROWS_SHOWN} of {len(body)} rows; all are in split_metrics.csv.")
        body = body[:3 * MAX_ROWS_SHOWN]
    doc.table(["split", "checkpoint", "problems", f"pass@{k0} [95% CI]", f"pass@{kmax}", f"maj@{K} [95% CI]", f"SC gain@{K} [95% CI]"],
              body)
    cov_rows = []
    for name in sp["names"]:
        cv = sp["coverage"].get(name, {})
        if not cv.get("available"):
            cov_rows.append([name, "n/a", cv.get("reason", ""), "", "", ""])
            continue
        for u in cv["unions"]:
            cov_rows.append([name, cv["n_problems"], f"{u['kind']} ({u['n_checkpoints']})", u["pass_at_K"],
                             f"{cv['best_single']['checkpoint']}: {_fmt(cv['best_single']['pass_at_K'])}",
                             _ci(u["excess"], u["excess_low"], u["excess_high"])])
    if cov_rows:
        doc.p("Coverage per split: union of checkpoints vs the best single checkpoint at a matched total budget K:")
        doc.table(["split", "problems", "union (checkpoints)", "union pass@K", "best single: pass@K", "excess [95% CI]"], cov_rows)


def _breakdown_sections(doc: _Doc, results: dict) -> None:
    """Sections for ``real.logs.breakdowns``' tables when ``analyze`` computed them (``real/__main__.py``): stability
    (pass^k, G-Pass@k_τ, mG-Pass@k at k = K), metrics per problem group, and lengths of correct vs wrong samples."""
    K = results.get("K")
    stab = results.get("stability")
    if isinstance(stab, dict) and stab.get("rows"):
        ks = sorted({r["k"] for r in stab["rows"]})
        k = K if K in ks else ks[-1]
        by = {(str(r["checkpoint"]), r["metric"], r["tau"]): r for r in stab["rows"] if r["k"] == k}
        taus = sorted({r["tau"] for r in stab["rows"] if r["metric"] == "g_pass_at_k" and r["k"] == k})
        cols = ([("pass_hat_k", None, f"pass^{k}")] + [("g_pass_at_k", t, f"G-Pass@{k} τ={t:g}") for t in taus]
                + [("mg_pass_at_k", None, f"mG-Pass@{k}")])
        doc.h("Stability: pass^k, G-Pass@k, mG-Pass@k")
        doc.p(stab["note"] + ". All k are in stability.csv.")
        doc.table(["checkpoint"] + [c[2] + " [95% CI]" for c in cols],
                  [[c] + [_ci(r["estimate"], r["low"], r["high"]) if (r := by.get((c, m, t))) else "n/a" for m, t, _ in cols]
                   for c in [str(x) for x in results["checkpoints"]]][:3 * MAX_ROWS_SHOWN])
    gb = results.get("groups")
    if isinstance(gb, dict) and gb.get("rows"):
        by = {(r["group"], str(r["checkpoint"]), r["metric"], r["k"]): r for r in gb["rows"]}
        body = []
        for g in gb["names"]:
            for c in [str(x) for x in results["checkpoints"]]:
                p1, mj, sc = by.get((g, c, "pass_at_1", 1)), by.get((g, c, "maj_at_k", K)), by.get((g, c, "sc_gain", K))
                if p1 is None:
                    continue
                body.append([g, c, p1["n_problems"], _ci(p1["estimate"], p1["low"], p1["high"]),
                             _ci(mj["estimate"], mj["low"], mj["high"]) if mj else "n/a",
                             _ci(sc["estimate"], sc["low"], sc["high"]) if sc else "n/a"])
        doc.h("Metrics per problem group")
        doc.p(f"{gb['note']}. Tie policy of maj@k: {gb['tie_policy']}. All rows are in group_metrics.csv.")
        doc.table(["group", "checkpoint", "problems", "pass@1 [95% CI]", f"maj@{K} [95% CI]", f"SC gain@{K} [95% CI]"], body[:3 * MAX_ROWS_SHOWN])
    lb = results.get("lengths")
    if isinstance(lb, dict) and "rows" in lb:
        doc.h("Response length and truncation, correct vs wrong samples")
        doc.p(lb["note"] + ".")
        missing = [f"{q}: {d.get('reason', 'unavailable')}" for q, d in lb["quantities"].items() if not d.get("available")]
        if missing:
            doc.bullets(missing)
        by = {(str(r["checkpoint"]), r["quantity"], r["class"]): r for r in lb["rows"]}
        qs = [q for q, d in lb["quantities"].items() if d.get("available")]
        head = ["checkpoint"] + [f"{q} {cl}" for q in qs for cl in ("correct", "wrong", "wrong − correct [95% CI]")]
        body = []
        for c in [str(x) for x in lb["checkpoints"]]:
            row = [c]
            for q in qs:
                for cl in ("correct", "wrong"):
                    r = by.get((c, q, cl))
                    row.append(_fmt(r["estimate"]) if r else "n/a")
                r = by.get((c, q, "wrong_minus_correct"))
                row.append(_ci(r["estimate"], r["low"], r["high"]) if r else "n/a")
            body.append(row)
        if qs:
            doc.table(head, body[:3 * MAX_ROWS_SHOWN])


def write_report(results: dict, out_dir, *, title: str = "RLVR checkpoint analysis", import_report: dict | None = None,
                 signals: list[dict] | None = None, token_positions: list[dict] | None = None) -> dict:
    """Write tables (Parquet + CSV), figures (PNG), ``summary.json``, ``report.md`` and ``report.html``.

    Args:
      results: the dict returned by ``real.logs.analysis.analyze``.
      out_dir: output folder (created); files are written atomically.
      title: report title.
      import_report: optional import report (``real.logs.schema.ImportReport.to_dict()`` or an object with
        ``to_dict``): its row counts, rejected-row counts by reason and the first rejected rows are listed.
      signals: optional training signals, one row per step (``step`` plus signal columns, e.g. the lab's
        ``signals.parquet``): drawn on one timeline with the checkpoints (``signals_timeline.png``).
      token_positions: optional token entropy / branching factor by relative position per checkpoint (the lab's
        ``token_positions.parquet``): their per-checkpoint means join the checkpoint table beside pass@k, maj@K
        and SC gain, and ``token_positions.png`` draws them over position.
    With ``results["training"]`` (``real.logs.event_study.training_analysis``: users' training-metric logs aligned to the
    checkpoints by step) the report adds the section "Training logs and event study", its tables
    (``training_metrics``, ``training_at_checkpoints``, ``event_study_windows``, ``event_study``), ``event_study.json``
    and, when ``signals`` is not given, the training logs as the timeline's signals.
    Returns {"report_md", "report_html", "summary_json", "negative_sc_json", "coverage_json": paths,
      "tables": {name: {parquet, csv}}, "figures": [paths]}.
    """
    out = Path(out_dir)
    tab_dir = fig_dir = out
    written = {"tables": {}, "figures": []}
    summary_rows = checkpoint_summary_rows(results)
    if token_positions:
        _token_columns(summary_rows, token_positions)
    training = results.get("training") if isinstance(results.get("training"), dict) else None
    if training and signals is None:
        signals = training.get("timeline")
    all_tables = {"checkpoint_summary": summary_rows, **results.get("tables", {}), **(training or {}).get("tables", {})}
    for name, rows in all_tables.items():
        written["tables"][name] = write_table(rows, tab_dir / name)
    figs = _figures(results, fig_dir)
    if signals:
        cap = timeline_figure(signals, results, fig_dir / "signals_timeline.png")
        if cap:
            figs.insert(0, ("signals_timeline.png", cap))
    if token_positions:
        cap = token_position_figure(token_positions, fig_dir / "token_positions.png")
        if cap:
            figs.insert(1 if signals else 0, ("token_positions.png", cap))
    written["figures"] = [str(fig_dir / f) for f, _ in figs]

    C = len(results["checkpoints"])
    K = results["K"]
    m = results["metrics"]
    doc = _Doc(title)
    doc.h("Overview")
    budget = results.get("budget", {})
    doc.bullets([f"{C} checkpoints x {results['n_problems']} problems; samples per evaluated cell: "
                 f"{budget.get('n_min')}-{budget.get('n_max')}",
                 f"k grid: {', '.join(map(str, m['ks']))}; K (votes for maj@K / SC gain; matched budget) = {K}",
                 f"95% percentile bootstrap intervals over problems, {results.get('n_boot')} resamples, seed {results.get('seed')} "
                 "(paired: one set of resamples for every checkpoint and metric)",
                 "pass@k: unbiased estimator of Chen et al. 2021; maj@k: exact unbiased estimator (mean vote over all "
                 "k-subsets, ties split, null answers abstain); SC gain = maj@k - pass@1"])
    doc.p("Notes:")
    doc.bullets(results.get("notes", []))

    neg = results.get("negative_sc", {})
    flagged = neg.get("flagged", []) if isinstance(neg, dict) else []
    flagged_idx = [i for i, r in enumerate(neg.get("rows", [])) if r.get("negative")] if flagged else []

    doc.h("Key numbers per checkpoint")
    shown = _shown_checkpoints(C, flagged_idx)
    if len(shown) < C:
        doc.p(f"Showing {len(shown)} of {C} checkpoints (first, last, flagged, evenly spaced); all are in "
              "checkpoint_summary.csv.")
    has_votes = "sc_gain" in m
    kmax = m["ks"][-1]
    header = ["checkpoint", "step", "pass@1 [95% CI]", f"pass@{kmax}"]
    if has_votes:
        header += [f"maj@{K} [95% CI]", f"SC gain@{K} [95% CI]", "flag"]
    if token_positions:
        header += ["token entropy", "branching"]
    cov = results.get("coverage", {})
    if cov.get("available"):
        header += [f"solved@{cov['k']} (binary)"]
    body = []
    for c in shown:
        r = summary_rows[c]
        row = [r["checkpoint"], _step(r["step"]), _ci(r["pass_at_1"], r["pass_at_1_low"], r["pass_at_1_high"]), r[f"pass_at_{kmax}"]]
        if has_votes:
            row += [_ci(r[f"maj_at_{K}"], r[f"maj_at_{K}_low"], r[f"maj_at_{K}_high"]),
                    _ci(r[f"sc_gain_{K}"], r[f"sc_gain_{K}_low"], r[f"sc_gain_{K}_high"]),
                    ("NEGATIVE" + (" (CI < 0)" if r.get("ci_excludes_zero") else "")) if r.get("negative") else ""]
        if token_positions:
            row += [r["token_entropy"], r["branching_factor"]]
        if cov.get("available"):
            row += [r[f"solved_binary_k{cov['k']}"]]
        body.append(row)
    doc.table(header, body)

    doc.h("Negative self-consistency checkpoints")
    if not has_votes:
        doc.p(f"Not computed: {m.get('votes', 'no per-answer counts').removeprefix('unavailable: ')}.")
    elif not flagged:
        doc.p(f"No checkpoint has SC gain@{K} < 0.")
    else:
        n_ci = sum(1 for d in flagged if d["ci_excludes_zero"])
        doc.p(f"Majority voting hurts (SC gain@{K} < 0): {len(flagged)} checkpoint(s), {n_ci} with the whole 95% interval "
              "below 0: " + ", ".join(f"**{d['checkpoint']}**" for d in flagged[:MAX_FLAGGED_SHOWN])
              + (" ..." if len(flagged) > MAX_FLAGGED_SHOWN else "") + ".")
        doc.p(neg.get("note", ""))
        hdr = ["checkpoint", f"SC gain@{K} [95% CI]", "CI < 0", "pass@1", "entropy (nats)", "top-1 share", "wrong collision",
               "confidently right", "consistent wrong", "scattered", "d pass@1", "d SC gain", "d entropy", "flips c->w", "flips w->c"]
        rows = []
        for d in flagged[:MAX_FLAGGED_SHOWN]:
            rows.append([d["checkpoint"], _ci(d["sc_gain"], d["sc_low"], d["sc_high"]), d["ci_excludes_zero"], d["pass_at_1"],
                         d["entropy"], d["top1_share"], d["wrong_collision"],
                         f"{d['attribution']['confidently_right']:+.4f} ({d['n_by_class']['confidently_right']})",
                         f"{d['attribution']['consistent_wrong']:+.4f} ({d['n_by_class']['consistent_wrong']})",
                         f"{d['attribution']['scattered']:+.4f} ({d['n_by_class']['scattered']})",
                         d["d_pass_at_1"], d["d_sc_gain"], d["d_entropy"], d["flips_correct_to_wrong"], d["flips_wrong_to_correct"]])
        doc.table(hdr, rows)
        doc.p("Attribution columns: class contribution to SC gain (number of problems); d = change since the previous "
              "checkpoint (paired over problems evaluated at both); flips = problems whose leading answer changed from "
              "correct to wrong (c->w) or back. Per-problem detail: negative_sc_problems.csv.")

    doc.h("Coverage")
    if not cov.get("available"):
        doc.p(f"Not computed: {cov.get('reason', 'not run')}.")
    else:
        doc.p(cov["note"] + ".")
        un = cov["unsolvable"]
        items = [f"solved fraction at k = {cov['k']} (binary / soft), first -> last checkpoint: "
                 f"{cov['solved_fraction'][0]:.3f} / {cov['solved_fraction_soft'][0]:.3f} -> "
                 f"{cov['solved_fraction'][-1]:.3f} / {cov['solved_fraction_soft'][-1]:.3f}; solved by some "
                 f"checkpoint: {cov['cumulative_binary'][-1]:.3f}",
                 f"rotation (1 - mean consecutive Jaccard): binary {cov['rotation']:.3f}, soft {cov['rotation_soft']:.3f}"]
        for kind, lab in (("full_budget", "no correct sample at all (n_correct = 0)"), ("equal_k", f"unsolved at k = {cov['k']}")):
            u = un[kind]
            items.append(f"unsolvable sets, {lab}: size {int(u['size'][0])} -> {int(u['size'][-1])}, "
                         f"{'nested' if u['nested'] else 'NOT nested'} ({int(np.sum(u['violations']))} re-entries), "
                         f"unsolved at every checkpoint: {u['always']}")
        doc.bullets(items)
        doc.p(f"Union vs best single checkpoint at a matched total budget K = {cov['K']} "
              f"(best single: {cov['best_single']['checkpoint']}, chosen on the same data):")
        doc.table(["union", "checkpoints", "samples each", "pass@K", "excess over best single [95% CI]"],
                  [[r["kind"], r["checkpoints"] if len(str(r["checkpoints"])) < 60 else f"{r['n_checkpoints']} checkpoints",
                    r["per_checkpoint_k"] if len(str(r["per_checkpoint_k"])) < 40 else "see union.csv", r["pass_at_K"],
                    _ci(r["excess"], r["excess_low"], r["excess_high"]) if math.isfinite(r["excess_low"]) else _fmt(r["excess"])]
                   for r in results["tables"].get("union", [])])

    cross = results.get("cross_checkpoint_majority", {})
    doc.h("Cross-checkpoint majority")
    if not cross.get("available"):
        doc.p(f"Not computed: {cross.get('reason', 'not run')}.")
    else:
        doc.p(cross["note"] + ".")
        doc.table(["window", "problems", f"pooled maj@{K} [95% CI]", f"last maj@{K}", "pooled - last [95% CI]",
                   "best in window", "pooled - best"],
                  [[r["checkpoints"] if len(r["checkpoints"]) < 50 else f"last {r['window']}", r["n_problems"],
                    _ci(r["pooled_maj_at_K"], r["pooled_low"], r["pooled_high"]), r["last_maj_at_K"],
                    _ci(r["pooled_minus_last"], r["pooled_minus_last_low"], r["pooled_minus_last_high"]),
                    r["best_in_window"], r["pooled_minus_best"]] for r in cross["rows"]])

    prot = results.get("protocol")
    if isinstance(prot, dict) and prot.get("available"):
        _protocol_section(doc, prot)
        cap = protocol_figure(prot, fig_dir / "protocol.png")
        figs.append(("protocol.png", cap))
        written["figures"].append(str(fig_dir / "protocol.png"))
        atomic_write_text(out / "protocol.json", json.dumps(jsonable(
            {key: prot[key] for key in ("temperatures", "K", "ks", "checkpoints", "steps", "splits", "n_per_split", "definitions",
                                        "notes", "summary_rows", "rows")}), indent=1) + "\n")
        written["protocol_json"] = str(out / "protocol.json")
    sp = results.get("splits")
    if isinstance(sp, dict) and "rows" in sp:
        _splits_section(doc, sp, results)
        atomic_write_text(out / "splits.json", json.dumps(jsonable(
            {key: sp[key] for key in ("names", "n_per_split", "counts", "K", "ks", "coverage", "note", "rows")}), indent=1) + "\n")
        written["splits_json"] = str(out / "splits.json")

    _breakdown_sections(doc, results)

    if import_report is not None:
        import_report = _import_section(doc, import_report)
    if training:
        _training_section(doc, training)
        atomic_write_text(out / "event_study.json", json.dumps(jsonable(
            {"run": training["run"], "windows": training["windows"], **training["event_study"]}), indent=1) + "\n")
        written["event_study_json"] = str(out / "event_study.json")

    doc.h("Figures")
    for f, cap in figs:
        doc.figure(f, cap)

    doc.h("Tables")
    doc.bullets(f"{name}.parquet / {name}.csv ({len(rows)} rows)" for name, rows in all_tables.items())

    summary = {"title": title, "checkpoints": [str(c) for c in results["checkpoints"]], "n_problems": results["n_problems"],
               "ks": m["ks"], "K": K, "notes": results.get("notes", []), "checkpoint_summary": summary_rows,
               "flagged_negative_sc": [{k: v for k, v in d.items()} for d in flagged],
               "coverage": None if not cov.get("available") else {
                   "k": cov["k"], "K": cov["K"], "rotation": cov["rotation"], "rotation_soft": cov["rotation_soft"],
                   "best_single": cov["best_single"],
                   "unions": cov["unions"], "nested": {k: v["nested"] for k, v in cov["unsolvable"].items()}},
               "cross_checkpoint_majority": cross.get("rows") if cross.get("available") else cross.get("reason"),
               "import_report": None if import_report is None else {k: import_report.get(k) for k in
                                                                    ("rows_read", "rows_accepted", "rows_rejected", "rejections_by_reason")},
               "timings_s": results.get("timings_s")}
    if training:
        ev = training["event_study"]
        summary["training_logs"] = {"run": training["run"], "step_range": training["step_range"], "metrics": training["metrics"],
                                    "import_report": {k: training["import_report"].get(k) for k in
                                                      ("rows_read", "rows_accepted", "rows_rejected", "rejections_by_reason")}}
        summary["event_study"] = {"events": ev["events"], "n_event_windows": ev["n_event_windows"],
                                  "n_other_windows": ev["n_other_windows"], "signals": ev["signals"]}
    if "temperature" in results:
        summary["temperature"] = results["temperature"]
        summary["temperatures"] = results.get("temperatures")
    if isinstance(prot, dict) and prot.get("available"):
        summary["protocol"] = prot["summary_rows"]
    if isinstance(sp, dict) and "rows" in sp:
        summary["splits"] = {"names": sp["names"], "n_per_split": sp["n_per_split"]}
    atomic_write_text(out / "summary.json", json.dumps(jsonable(summary), indent=1) + "\n")
    atomic_write_text(out / "negative_sc.json", json.dumps(jsonable(flagged), indent=1) + "\n")
    cov_doc = {"available": False, "reason": cov.get("reason")} if not cov.get("available") else {
        key: cov[key] for key in ("k", "K", "n_problems", "solved_fraction", "solved_fraction_soft", "rotation", "rotation_soft",
                                  "retention", "acquisition", "loss", "retention_soft", "acquisition_soft", "loss_soft",
                                  "cumulative_binary", "single_pass_at_K", "best_single", "unions", "greedy", "curve", "note")}
    if cov.get("available"):
        cov_doc["unsolvable"] = {name: cov["unsolvable"][name] for name in ("full_budget", "equal_k")}
        cov_doc["checkpoints"] = [str(c) for c in results["checkpoints"]]
    atomic_write_text(out / "coverage.json", json.dumps(jsonable(cov_doc), indent=1) + "\n")
    atomic_write_text(out / "report.md", "\n".join(doc.md) + "\n")
    atomic_write_text(out / "report.html", doc.render_html(title))
    written.update(report_md=str(out / "report.md"), report_html=str(out / "report.html"), summary_json=str(out / "summary.json"),
                   negative_sc_json=str(out / "negative_sc.json"), coverage_json=str(out / "coverage.json"))
    return written
