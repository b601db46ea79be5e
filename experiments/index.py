"""``results/index.html`` and ``index.md``: every ``results/<name>/summary.json`` with its claims."""

from __future__ import annotations

import html
import json
from pathlib import Path

from common.atomic import atomic_write_text


def _fmt(v):
    if v is None:
        return ""
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def write_index(results_dir: Path) -> Path:
    results_dir = Path(results_dir)
    summaries = sorted(results_dir.glob("*/summary.json"))
    md = ["# Results", "", "Each experiment and benchmark writes `<name>/summary.json`; its claims are listed here.", ""]
    body = ["<h1>Results</h1>", "<p>Each experiment and benchmark writes <code>&lt;name&gt;/summary.json</code>; its claims are listed here.</p>"]
    for path in summaries:
        data = json.loads(path.read_text())
        name = path.parent.name
        files = sorted(p.name for p in path.parent.iterdir() if p.is_file() and not p.name.startswith("."))
        claims = data.get("claims", [])
        held = sum(c["holds"] for c in claims)
        md += [f"## {name} ({held}/{len(claims)} claims hold)", "", "files: " + ", ".join(f"[{f}]({name}/{f})" for f in files), "",
               "| holds | claim | value | threshold |", "|---|---|---|---|"]
        body += [f"<h2>{html.escape(name)} ({held}/{len(claims)} claims hold)</h2>",
                 "<p>files: " + ", ".join(f'<a href="{html.escape(name)}/{html.escape(f)}">{html.escape(f)}</a>' for f in files) + "</p>",
                 "<table border=1 cellpadding=4><tr><th>holds</th><th>claim</th><th>value</th><th>threshold</th></tr>"]
        for c in claims:
            mark = "yes" if c["holds"] else "NO"
            md.append(f"| {mark} | {c['claim'].replace('|', '/')} | {_fmt(c['value'])} | {_fmt(c['threshold'])} |")
            body.append(f"<tr><td>{mark}</td><td>{html.escape(c['claim'])}</td><td>{_fmt(c['value'])}</td><td>{_fmt(c['threshold'])}</td></tr>")
        body.append("</table>")
        for png in (f for f in files if f.endswith(".png")):
            body.append(f'<p><img src="{html.escape(name)}/{html.escape(png)}" width="640"></p>')
        md.append("")
    atomic_write_text(results_dir / "index.md", "\n".join(md) + "\n")
    page = "<!doctype html><html><head><meta charset='utf-8'><title>Results</title></head><body>" + "\n".join(body) + "</body></html>\n"
    out = results_dir / "index.html"
    atomic_write_text(out, page)
    return out
