"""Writing the results of ``real.analysis.analyze`` to a folder: tables, figures and a readable report.

Files (all written atomically):
- ``metrics.parquet`` / ``metrics.csv``: tidy per-checkpoint metrics (checkpoint, step, metric, k,
  estimate, low, high, n_problems) for pass@k, maj@k and SC gain (95% bootstrap intervals);
- ``attribution.csv``: SC gain@K by answer class per checkpoint; ``negative_sc.json``: flagged
  checkpoints with diagnostics; ``coverage.json`` and ``jaccard.csv``: coverage across checkpoints;
- figures: ``passk_curves.png``, ``sc_gain.png``, ``jaccard.png``, ``retention.png``;
- ``report.md`` and ``report.html``: the key numbers, flagged checkpoints and figures, and the import
  report's counts of rejected rows.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np

from experiments.summary import atomic_write_bytes, atomic_write_text, save_figure
from real.analysis import CLASS_NAMES, tidy_rows


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


def _write_table(out: Path, name: str, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows) if rows else pa.table({})
    buf = io.BytesIO()
    pq.write_table(table, buf)
    atomic_write_bytes(out / f"{name}.parquet", buf.getvalue())
    buf = io.BytesIO()
    pacsv.write_csv(table, buf)
    atomic_write_bytes(out / f"{name}.csv", buf.getvalue())


def _figures(res: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    m = res["metrics"]
    ks = np.array(m["ks"])
    C = len(res["checkpoints"])
    x = np.array(res["steps"]) if np.all(np.isfinite(res["steps"])) else np.arange(C)
    show = np.unique(np.linspace(0, C - 1, min(C, 8)).round().astype(int))
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    cmap = plt.get_cmap("viridis")
    for i, c in enumerate(show):
        col = cmap(i / max(len(show) - 1, 1))
        ax.plot(ks, m["pass_at_k"]["estimate"][c], "o-", ms=3, color=col, label=f"{res['checkpoints'][c]}")
        ax.fill_between(ks, m["pass_at_k"]["low"][c], m["pass_at_k"]["high"][c], color=col, alpha=0.15)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k (unbiased, 95% CI)")
    ax.legend(title="checkpoint", fontsize=7)
    save_figure(fig, out / "passk_curves.png")
    plt.close(fig)
    names.append("passk_curves.png")
    if "sc_gain" in m:
        j = m["ks"].index(res["K"])
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
        p1 = m["pass_at_k"]["estimate"][:, 0] if m["ks"][0] == 1 else None
        for name, lab, ax in (("maj_at_k", f"maj@{res['K']}", a1), ("sc_gain", f"SC gain@{res['K']}", a2)):
            e = m[name]
            ax.plot(x, e["estimate"][:, j], "o-", ms=3, label=lab)
            ax.fill_between(x, e["low"][:, j], e["high"][:, j], alpha=0.2)
            ax.set_xlabel("step" if np.all(np.isfinite(res["steps"])) else "checkpoint index")
            ax.set_ylabel(lab + " (95% CI)")
        if p1 is not None:
            a1.plot(x, p1, "k--", label="pass@1")
        a1.legend(fontsize=8)
        a2.axhline(0, color="gray", lw=0.8)
        neg = [i for i, ck in enumerate(res["checkpoints"]) if any(d["checkpoint"] == ck for d in res.get("negative_sc", []))]
        a2.scatter(x[neg], m["sc_gain"]["estimate"][neg, j], color="red", marker="v", zorder=3, label="negative")
        a2.legend(fontsize=8)
        save_figure(fig, out / "sc_gain.png")
        plt.close(fig)
        names.append("sc_gain.png")
    cov = res.get("coverage")
    if cov:
        fig, ax = plt.subplots(figsize=(5.5, 4.5))
        im = ax.imshow(cov["jaccard"], vmin=0, vmax=1, cmap="magma")
        ax.set_title(f"Jaccard of solved sets (pass@{cov['k']} >= 1/2)")
        fig.colorbar(im, ax=ax)
        save_figure(fig, out / "jaccard.png")
        plt.close(fig)
        fig, ax = plt.subplots(figsize=(6.5, 4))
        ax.plot(x[1:], cov["retention"], "o-", ms=3, label="retention")
        ax.plot(x[1:], cov["acquisition"], "s-", ms=3, label="acquisition / P")
        ax.plot(x[1:], cov["loss"], "^-", ms=3, label="loss / P")
        ax.legend(fontsize=8)
        ax.set_xlabel("checkpoint (step)")
        save_figure(fig, out / "retention.png")
        plt.close(fig)
        names += ["jaccard.png", "retention.png"]
    return names


def _markdown(res: dict, title: str, import_report: dict | None, figures: list[str]) -> str:
    m = res["metrics"]
    L = [f"# {title}", "", f"{len(res['checkpoints'])} checkpoint(s) x {res['n_problems']} problems. {m['note']}.", ""]
    if import_report:
        L += [f"Import: {import_report['rows_read']} rows read, {import_report['rows_accepted']} accepted, "
              f"{import_report['rows_rejected']} rejected " + (f"({import_report['rejections_by_reason']})" if import_report["rows_rejected"] else "")
              + "; details in import_report.json.", ""]
    ks = m["ks"]
    head = ["checkpoint"] + [f"pass@{k}" for k in ks if k in (1, res["K"])] + ([f"maj@{res['K']}", f"SC gain@{res['K']} [95% CI]"] if "sc_gain" in m else [])
    L += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    j = ks.index(res["K"])
    for c, ck in enumerate(res["checkpoints"]):
        row = [str(ck)] + [f"{m['pass_at_k']['estimate'][c, ks.index(k)]:.3f}" for k in ks if k in (1, res["K"])]
        if "sc_gain" in m:
            sc = m["sc_gain"]
            row += [f"{m['maj_at_k']['estimate'][c, j]:.3f}", f"{sc['estimate'][c, j]:+.3f} [{sc['low'][c, j]:+.3f}, {sc['high'][c, j]:+.3f}]"]
        L.append("| " + " | ".join(row) + " |")
    L.append("")
    if "negative_sc" in res:
        neg = res["negative_sc"]
        L += [f"## Checkpoints where majority voting hurts (SC gain@{res['K']} < 0): {len(neg)}", ""]
        for d in neg:
            att = ", ".join(f"{n} {d['attribution'][n]:+.4f} ({d['n_by_class'][n]} problems)" for n in CLASS_NAMES)
            L.append(f"- **{d['checkpoint']}**: SC gain {d['sc_gain']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}]"
                     f"{' (CI excludes 0)' if d['ci_excludes_zero'] else ''}; answer entropy {d['entropy']:.3f} nats, top-1 share "
                     f"{d['top1_share']:.3f}, wrong-answer collision {d['wrong_collision'] if d['wrong_collision'] is None else round(d['wrong_collision'], 3)}; by class: {att}")
            sp = d.get("since_previous")
            if sp:
                L.append(f"  - since {sp['previous']}: Δpass@1 {sp['d_pass_at_1']}, ΔSC gain {sp['d_sc_gain']}, Δentropy {sp['d_entropy']}, "
                         f"leader correct→wrong {sp['leader_correct_to_wrong']}, wrong→correct {sp['leader_wrong_to_correct']}")
        L.append("")
    cov = res.get("coverage")
    if cov:
        L += ["## Coverage", "", cov["note"] + ".", "",
              f"- rotation (1 − mean consecutive Jaccard): {cov['rotation']:.3f}",
              f"- best single checkpoint pass@{cov['K']}: {cov['best_single']['pass_at_K']:.3f} ({cov['best_single']['checkpoint']})"]
        for s, u in cov["union"].items():
            L.append(f"- union of {s} checkpoints, {u['per_checkpoint_k']} samples each (total {cov['K']}): {u['pass_at_K']:.3f}")
        for kk, u in cov["unsolvable"].items():
            L.append(f"- {kk}-rollout unsolvable sets (pass@{kk} < 1/2): sizes {u['size'][:12]}{' ...' if len(u['size']) > 12 else ''}; nested: {u['nested']}")
        cm = cov["cross_checkpoint_majority"]
        if isinstance(cm, dict):
            for w, d in cm.items():
                L.append(f"- majority over the last {w} checkpoints pooled: maj@{d['K']} = {d['pooled_maj_at_K']:.3f} vs last checkpoint "
                         f"maj@{d['K']} = {d['last_checkpoint_maj_at_K']:.3f} (pass@1 {d['last_checkpoint_pass_at_1']:.3f})")
        else:
            L.append(f"- cross-checkpoint majority: {cm}")
        L.append("")
    L += ["## Figures", ""] + [f"![{f}]({f})" for f in figures]
    return "\n".join(L) + "\n"


def _html(md: str, title: str) -> str:
    body = []
    in_table = False
    for line in md.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set(line) <= set("|-"):
                continue
            if not in_table:
                body.append("<table border=1 cellpadding=3>")
                in_table = True
                body.append("<tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in cells) + "</tr>")
            else:
                body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
            continue
        if in_table:
            body.append("</table>")
            in_table = False
        if line.startswith("# "):
            body.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            body.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("!["):
            src = line[line.index("(") + 1: -1]
            body.append(f'<p><img src="{html.escape(src)}" style="max-width: 900px"></p>')
        elif line.strip().startswith("- "):
            body.append(f"<li>{html.escape(line.strip()[2:]).replace('**', '')}</li>")
        elif line.strip():
            body.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        body.append("</table>")
    return f"<!doctype html><meta charset=utf-8><title>{html.escape(title)}</title>\n" + "\n".join(body) + "\n"


def write_report(res: dict, out_dir, *, title: str = "Sample-log analysis", import_report: dict | None = None) -> Path:
    """Write every table, figure and the report for ``real.analysis.analyze`` output; returns report.md."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_table(out, "metrics", tidy_rows(res))
    if "attribution" in res:
        a = res["attribution"]
        rows = [{"checkpoint": ck, "K": a["K"], "class": n, "contribution": float(a["by_class"][n][c]), "n_problems": int(a["n_by_class"][n][c])}
                for c, ck in enumerate(res["checkpoints"]) for n in CLASS_NAMES]
        _write_table(out, "attribution", rows)
        atomic_write_text(out / "negative_sc.json", json.dumps(_jsonable(res["negative_sc"]), indent=1) + "\n")
    if res.get("coverage"):
        cov = res["coverage"]
        atomic_write_text(out / "coverage.json", json.dumps(_jsonable({k: v for k, v in cov.items() if k != "jaccard"}), indent=1) + "\n")
        rows = [{"checkpoint_a": a, "checkpoint_b": b, "jaccard": float(cov["jaccard"][i, j])}
                for i, a in enumerate(res["checkpoints"]) for j, b in enumerate(res["checkpoints"])]
        _write_table(out, "jaccard", rows)
    figures = _figures(res, out)
    md = _markdown(res, title, import_report, figures)
    atomic_write_text(out / "report.md", md)
    atomic_write_text(out / "report.html", _html(md, title))
    return out / "report.md"
