"""``results/index.html`` and ``index.md``: the page a researcher opens first.

One screen says what ran and what failed: a summary line (claims held, failing, the paper's PDF when built), a table
of contents with one line per experiment (what it shows, from ``experiments/registry.py``; its mode; claims held),
then per experiment its headline figure, its claims with the failing ones first (value against threshold: the
reason; a long list of holding claims folded), links to its reports and its files. Experiments of the registry that have not run are listed with the
command that runs them. Everything is read from ``results/<name>/summary.json`` and the files beside it.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path

from common.atomic import atomic_write_text

# the figure that shows each experiment's point (otherwise: the summary's first listed figure, else the first PNG)
HEADLINE_FIGURES = {
    "sc_negative_gain": "shortcut_trajectory.png",
    "coverage_rotation": "passk_union_vs_single.png",
    "passk_eta": "training.png",
    "real_rlvr": "validation.png",
    "real_methods": "trajectories.png",
    "real_phenomena": "trajectories.png",
}
PAPER_PDF = Path(__file__).resolve().parents[1] / "paper" / "build" / "paper.pdf"
REPORT_NAMES = ("report.html", "report.md")
REPORT_DEPTH = 2  # report files are looked for this many folders below results/<name>/
COLLAPSE_HOLDING = 3  # more holding claims than this are folded under a "N claims hold" line (failing ones never are)

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;
color:#222;line-height:1.4}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em} .what{color:#444;margin:.2em 0 .6em}
table{border-collapse:collapse;width:100%;font-size:.92em} th,td{border-bottom:1px solid #e4e4e4;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f6f6;white-space:nowrap} td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.fail{color:#b00020;font-weight:600} .ok{color:#1b7f3b} .none{color:#888} .summary{font-size:1.05em;margin:.3em 0 1em}
tr.failrow td{background:#fff3f3} img.headline{max-width:100%;max-height:420px;border:1px solid #ddd;margin:.5em 0}
table.claims{table-layout:fixed} code{background:#f3f3f3;padding:0 .25em;border-radius:3px} details{margin:.4em 0} .links a{margin-right:.8em}
"""


def _fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


def _registry() -> tuple[dict[str, str], dict[str, str]]:
    """results folder name -> one-line description, and -> the command that writes it (from experiments/registry.py)."""
    from experiments import registry

    desc, cmd = {}, {}
    for name, (_, doc) in registry.EXPERIMENTS.items():
        desc[name], cmd[name] = doc, f"python -m experiments run {name}"
    for name, (_, doc) in registry.BENCHMARKS.items():
        desc[f"bench-{name}"], cmd[f"bench-{name}"] = doc, f"python -m experiments bench {name}"
    return desc, cmd


def _reason(c: dict) -> str:
    """Why a claim fails, from its numbers: the value against the threshold (or that there is none)."""
    if c.get("value") is None:
        return "no value (not computed, or not finite)"
    if c.get("threshold") is None:
        return f"value {_fmt(c['value'])}"
    return f"value {_fmt(c['value'])} against threshold {_fmt(c['threshold'])}"


def _headline(folder: Path, summary: dict) -> str | None:
    name = folder.name
    candidates = [HEADLINE_FIGURES.get(name)] + [f for f in summary.get("figures", []) if isinstance(f, str)]
    for c in candidates:
        if c and (folder / c).is_file():
            return c
    pngs = sorted(p.name for p in folder.glob("*.png"))
    return pngs[0] if pngs else None


def _reports(folder: Path) -> list[str]:
    """Report files under the folder (at most ``REPORT_DEPTH`` levels down), as paths relative to it."""
    found = []
    for depth in range(REPORT_DEPTH + 1):
        for name in REPORT_NAMES:
            found += sorted(str(p.relative_to(folder)) for p in folder.glob("/".join(["*"] * depth + [name])))
    return found


def _mode(summary: dict) -> str:
    if "quick" not in summary:
        return "mode not recorded"
    mode = "quick mode" if summary["quick"] else "full mode"
    return mode + (" (data absent)" if summary.get("absent") else "")


def _href(*parts: str) -> str:
    return html.escape("/".join(p.replace(os.sep, "/") for p in parts), quote=True)


def _claims_table(claims: list[dict]) -> str:
    rows = ["<table class='claims'><colgroup><col style='width:4em'><col><col style='width:7.5em'><col style='width:7.5em'></colgroup>"
            "<tr><th>holds</th><th>claim</th><th class='num'>value</th><th class='num'>threshold</th></tr>"]
    for c in claims:
        mark = "<span class='ok'>yes</span>" if c["holds"] else "<span class='fail'>NO</span>"
        why = "" if c["holds"] else f"<br><span class='fail'>fails: {html.escape(_reason(c))}</span>"
        rows.append(f"<tr class='{'' if c['holds'] else 'failrow'}'><td>{mark}</td><td>{html.escape(c['claim'])}{why}</td>"
                    f"<td class='num'>{_fmt(c['value'])}</td><td class='num'>{_fmt(c['threshold'])}</td></tr>")
    return "".join(rows) + "</table>"


def _load(results_dir: Path) -> list[tuple[str, Path, dict]]:
    out = []
    for path in sorted(results_dir.glob("*/summary.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            data = {"claims": [], "unreadable": f"{type(exc).__name__}: {exc}"}
        out.append((path.parent.name, path.parent, data))
    return out


def write_index(results_dir: Path) -> Path:
    """Write ``results_dir/index.html`` and ``index.md`` (atomically) from every ``results_dir/<name>/summary.json``;
    returns the HTML's path."""
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    desc, cmds = _registry()
    order = {name: i for i, name in enumerate(cmds)}  # the registry's order: experiments, then benchmarks; others after
    ran = sorted(_load(results_dir), key=lambda t: (order.get(t[0], len(order)), t[0]))
    ran_names = {n for n, _, _ in ran}
    not_run = [n for n in cmds if n not in ran_names]
    n_claims = sum(len(d.get("claims", [])) for _, _, d in ran)
    n_fail = sum(not c["holds"] for _, _, d in ran for c in d.get("claims", []))
    pdf = os.path.relpath(PAPER_PDF, results_dir) if PAPER_PDF.is_file() else None

    # ---- HTML
    head = ["<h1>Results</h1>", f"<p class='summary'>{len(ran)} experiments and benchmarks ran; "
            f"<b>{n_claims - n_fail} of {n_claims}</b> claims hold, "
            + (f"<span class='fail'>{n_fail} fail</span>" if n_fail else "<span class='ok'>none fails</span>")
            + (f"; {len(not_run)} not run" if not_run else "") + ". "
            + (f"Paper: <a href='{_href(pdf)}'>paper.pdf</a>." if pdf else
               "Paper: not built (<code>python -m experiments paper</code>).") + "</p>",
            "<p>Each experiment writes <code>&lt;name&gt;/summary.json</code>: claims with a value and a threshold, "
            "which hold or fail. Below: one line per experiment, then each one's headline figure and claims, failing first.</p>",
            "<table><tr><th>experiment</th><th>what it shows</th><th>mode</th><th class='num'>claims held</th></tr>"]
    for name, folder, d in ran:
        claims = d.get("claims", [])
        fails = sum(not c["holds"] for c in claims)
        held = f"{len(claims) - fails} / {len(claims)}" if not d.get("unreadable") else "unreadable"
        cls = "fail" if fails or d.get("unreadable") else "ok"
        head.append(f"<tr><td><a href='#{html.escape(name)}'>{html.escape(name)}</a></td><td>{html.escape(desc.get(name, ''))}</td>"
                    f"<td>{html.escape(_mode(d).replace(' mode', ''))}</td><td class='num {cls}'>{held}</td></tr>")
    head.append("</table>")
    if not_run:
        head.append(f"<details><summary>{len(not_run)} not run: {html.escape(', '.join(not_run))}</summary><table>"
                    + "".join(f"<tr><td class='none'>{html.escape(n)}</td><td>{html.escape(desc.get(n, ''))}</td>"
                              f"<td><code>{html.escape(cmds[n])}</code></td></tr>" for n in not_run) + "</table></details>")

    body = []
    for name, folder, d in ran:
        claims = sorted(d.get("claims", []), key=lambda c: c["holds"])
        fails = sum(not c["holds"] for c in claims)
        body.append(f"<h2 id='{html.escape(name)}'><span class='{'fail' if fails or d.get('unreadable') else 'ok'}'>&#9679;</span> "
                    f"{html.escape(name)} ({len(claims) - fails}/{len(claims)} claims hold)</h2>")
        if name in desc:
            body.append(f"<p class='what'>{html.escape(desc[name])}. <span class='none'>{html.escape(_mode(d))}; "
                        f"<code>{html.escape(cmds[name] + (' --quick' if d.get('quick') else ''))}</code></span></p>")
        if d.get("unreadable"):
            body.append(f"<p class='fail'>summary.json could not be read: {html.escape(d['unreadable'])}</p>")
        fig = _headline(folder, d)
        if fig:
            body.append(f"<a href='{_href(name, fig)}'><img class='headline' src='{_href(name, fig)}' alt='{html.escape(name)}: "
                        f"{html.escape(fig)}'></a>")
        failing, holding = [c for c in claims if not c["holds"]], [c for c in claims if c["holds"]]
        if failing or len(holding) <= COLLAPSE_HOLDING:
            body.append(_claims_table(failing + (holding if len(holding) <= COLLAPSE_HOLDING else [])))
        if len(holding) > COLLAPSE_HOLDING:  # a long list of holding claims is one click away, the failing ones stay in view
            body.append(f"<details><summary>{len(holding)} claims hold</summary>{_claims_table(holding)}</details>")
        links = [f"<a href='{_href(name, 'summary.json')}'>summary.json</a>"]
        links += [f"<a href='{_href(name, r)}'>{html.escape(r)}</a>" for r in _reports(folder)]
        body.append("<p class='links'>" + " ".join(links) + "</p>")
        files = sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".") and p.name != "summary.json")
        if files:
            body.append(f"<details><summary>{len(files)} file{'s' if len(files) > 1 else ''}</summary><p class='links'>"
                        + " ".join(f"<a href='{_href(name, f)}'>{html.escape(f)}</a>" for f in files) + "</p></details>")
    page = ("<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
            f"<title>Results</title><style>{_CSS}</style></head><body>\n" + "\n".join(head + body) + "\n</body></html>\n")
    out = results_dir / "index.html"
    atomic_write_text(out, page)

    # ---- Markdown (the same content, for a terminal or a repository viewer)
    md = ["# Results", "", f"{len(ran)} ran; {n_claims - n_fail} of {n_claims} claims hold, {n_fail} fail"
          + (f"; {len(not_run)} not run" if not_run else "") + "." + (f" Paper: [paper.pdf]({pdf})." if pdf else ""), "",
          "| experiment | what it shows | mode | claims held |", "|---|---|---|---|"]
    for name, _, d in ran:
        claims = d.get("claims", [])
        md.append(f"| {name} | {desc.get(name, '').replace('|', '/')} | {_mode(d)} | "
                  f"{sum(c['holds'] for c in claims)} / {len(claims)} |")
    md += [f"| {name} | {desc.get(name, '').replace('|', '/')} | not run: `{cmds[name]}` | |" for name in not_run]
    for name, folder, d in ran:
        claims = sorted(d.get("claims", []), key=lambda c: c["holds"])
        md += ["", f"## {name} ({sum(c['holds'] for c in claims)}/{len(claims)} claims hold)", "",
               "| holds | claim | value | threshold | why it fails |", "|---|---|---|---|---|"]
        for c in claims:
            md.append(f"| {'yes' if c['holds'] else 'NO'} | {c['claim'].replace('|', '/')} | {_fmt(c['value'])} | {_fmt(c['threshold'])} | "
                      f"{'' if c['holds'] else _reason(c)} |")
        fig = _headline(folder, d)
        extra = ([f"figure: [{fig}]({name}/{fig})"] if fig else []) + [f"[{r}]({name}/{r})" for r in _reports(folder)]
        md += ["", "files: " + ", ".join([f"[summary.json]({name}/summary.json)", *extra])]
    atomic_write_text(results_dir / "index.md", "\n".join(md) + "\n")
    return out
