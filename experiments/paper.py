"""``python -m experiments paper``: the paper's generated sources from ``results/``, then its PDF.

Every number the text of ``paper/`` prints is a LaTeX macro defined in ``paper/generated/numbers.tex``,
written here from ``results/<name>/summary.json``: ``paper/numbers.toml`` names, for each macro, the
experiment, the claim (a substring that identifies exactly one claim) or the JSON path of a field, and the
format. Each definition in ``numbers.tex`` is preceded by a comment naming its file and claim or path, and
``generated/sources.json`` / ``sources.tex`` (the paper's provenance appendix) list them with the command
that wrote the file. A number whose source is missing is written as a visible placeholder
(``\\missing{...}``) and listed as a warning; nothing is ever filled in by hand.

Also generated: one LaTeX table of claims per experiment (failing claims first), the tables the text cites
(the real methods' arms, the samplers), the sympy derivations (``results/symbolic/derivations.tex``, as
``python -m theory.symbolic --latex`` writes them), the figures the text includes (copied from
``results/``) and a status table of which experiments ran and in which mode. Then ``latexmk`` builds
``paper/build/paper.pdf``; where it is absent, the command says what to install and exits with
``EXIT_NO_TEX`` after writing the sources.

:func:`hand_typed_numbers` and :func:`undefined_macros` check the prose: no digit string outside an
allow-list, and no macro the generated files and the preamble do not define.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from common.atomic import atomic_dir, atomic_write_text

PAPER_DIR = Path(__file__).resolve().parents[1] / "paper"
NUMBERS_FILE = "numbers.toml"
GENERATED = "generated"
BUILD = "build"
PDF_NAME = "paper.pdf"
EXIT_NO_TEX = 3  # the generated sources were written, the PDF was not: a TeX program is missing
TEXLIVE_INSTALL = ("apt-get install -y --no-install-recommends latexmk texlive-latex-base "
                   "texlive-latex-recommended texlive-fonts-recommended")
TEX_PROGRAMS = ("latexmk", "pdflatex", "bibtex")
FORMATS_SPECIAL = ("verdict", "mode", "text", "int", "sci", "len")

__all__ = ["NumberSpec", "Resolved", "GenerationReport", "load_specs", "load_summaries", "resolve", "format_number", "latex_escape",
           "claims_table", "generate", "missing_tex_programs", "build_pdf", "hand_typed_numbers", "used_macros", "defined_macros",
           "undefined_macros", "run_cli", "PAPER_DIR", "EXIT_NO_TEX"]


# ------------------------------------------------------------------------------------------------
# Number specifications (paper/numbers.toml) and their resolution against results/
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NumberSpec:
    """One macro of the paper: ``source`` is the folder under results/; exactly one of ``claim`` (a substring
    identifying one claim; ``field`` value, threshold or holds), ``path`` (keys / list indices into the summary)
    or ``count`` (held, failed or total claims) selects the number; ``fmt`` is a Python format spec or one of
    ``FORMATS_SPECIAL``."""

    macro: str
    source: str
    claim: tuple[str, ...] | None = None
    field: str = "value"
    path: tuple = ()
    count: str | None = None
    fmt: str = ".3f"

    def selector(self) -> str:
        """The selector in words, as the provenance appendix prints it."""
        if self.claim is not None:
            return "claim " + " and ".join(f'"{c}"' for c in self.claim) + f" ({self.field})"
        if self.count is not None:
            return f"number of claims {self.count}"
        return "field " + ".".join(("[" + ", ".join(f"{k}={v}" for k, v in p.items()) + "]") if isinstance(p, dict) else str(p)
                                   for p in self.path)


def _spec_from_toml(macro: str, d: dict) -> NumberSpec:
    where = f"{NUMBERS_FILE} [{macro}]"
    if not re.fullmatch(r"[A-Za-z]+", macro):
        raise ValueError(f"{where}: a macro name must be letters only (LaTeX), got {macro!r}")
    unknown = set(d) - {"source", "claim", "field", "path", "count", "format"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    if not isinstance(d.get("source"), str):
        raise ValueError(f"{where}: source: the results folder name is required")
    chosen = [k for k in ("claim", "path", "count") if k in d]
    if len(chosen) != 1:
        raise ValueError(f"{where}: exactly one of claim, path, count is required, got {chosen or 'none'}")
    path = d.get("path", ())
    path = tuple(path.split(".")) if isinstance(path, str) else tuple(path)
    fld = d.get("field", "value")
    if fld not in ("value", "threshold", "holds"):
        raise ValueError(f"{where}: field: one of value, threshold, holds, got {fld!r}")
    if d.get("count", "held") not in ("held", "failed", "total"):
        raise ValueError(f"{where}: count: one of held, failed, total, got {d['count']!r}")
    fmt = d.get("format", "verdict" if fld == "holds" else ".3f")
    if fmt not in FORMATS_SPECIAL:
        try:
            format(1.5, fmt)
        except ValueError as exc:
            raise ValueError(f"{where}: format: not a Python format spec nor one of {FORMATS_SPECIAL}: {fmt!r}") from exc
    claim = d.get("claim")
    if claim is not None:
        claim = (claim,) if isinstance(claim, str) else tuple(claim)
        if not claim or not all(isinstance(c, str) and c for c in claim):
            raise ValueError(f"{where}: claim: a non-empty text, or a list of them that the claim must all contain")
    return NumberSpec(macro, d["source"], claim, fld, path, d.get("count"), fmt)


def load_specs(paper_dir: Path = PAPER_DIR) -> list[NumberSpec]:
    """Every macro the paper uses, from ``paper/numbers.toml`` (one table per macro), validated."""
    path = Path(paper_dir) / NUMBERS_FILE
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return [_spec_from_toml(macro, d) for macro, d in data.items()]


def load_summaries(results_dir: Path) -> dict[str, dict]:
    """``{folder name: summary}`` for every ``results/<name>/summary.json``."""
    out = {}
    for p in sorted(Path(results_dir).glob("*/summary.json")):
        out[p.parent.name] = json.loads(p.read_text(encoding="utf-8"))
    return out


@dataclass(frozen=True)
class Resolved:
    """A spec resolved: ``latex`` is the macro's body; ``raw`` the value read (None if missing); ``problem`` why
    the placeholder was written (None if the number was found)."""

    spec: NumberSpec
    latex: str
    raw: object
    problem: str | None = None


def _placeholder(text: str) -> str:
    """``\\missing{...}`` (the preamble prints it in red), with line breaks allowed after each slash."""
    return r"\missing{" + latex_escape(text).replace("/", r"/\allowbreak{}") + "}"


def _walk(summary: dict, path) -> object:
    """The value at ``path`` (keys, list indices; an element ``=a.b.c`` is replaced by the value at that dotted
    path, e.g. the index of a checkpoint another field names; an element ``{field = value}`` picks the first record of a
    list with that field); None where the path does not exist."""
    raw = summary
    for key in path:
        if isinstance(key, str) and key.startswith("="):
            key = _walk(summary, key[1:].split("."))
            if key is None:
                return None
        if isinstance(key, dict):  # the first item of a list of records that has these fields
            hit = [r for r in raw if isinstance(r, dict) and all(r.get(k) == v for k, v in key.items())] if isinstance(raw, list) else []
            if not hit:
                return None
            raw = hit[0]
            continue
        try:
            raw = raw[int(key)] if isinstance(raw, list) else raw[str(key)]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return raw


def resolve(spec: NumberSpec, summaries: dict[str, dict]) -> Resolved:
    """Read the spec's number from the loaded summaries; a missing file, claim or field gives a placeholder."""
    file = f"results/{spec.source}/summary.json"
    summary = summaries.get(spec.source)
    if summary is None:
        return Resolved(spec, _placeholder(file), None, f"{file} does not exist")
    claims = summary.get("claims", [])
    if spec.count is not None:
        raw = {"held": sum(c["holds"] for c in claims), "failed": sum(not c["holds"] for c in claims), "total": len(claims)}[spec.count]
    elif spec.claim is not None:
        hits = [c for c in claims if all(t in c["claim"] for t in spec.claim)]
        if len(hits) != 1:
            why = f"{file}: {len(hits)} claims contain {' and '.join(map(repr, spec.claim))} (need exactly one)"
            return Resolved(spec, _placeholder(f"{file}: claim {' / '.join(spec.claim)}"), None, why)
        raw = hits[0][spec.field]
        if raw is None:  # the experiment could not compute it (written as null: not finite)
            return Resolved(spec, r"\textit{n/a}", None, f"{file}: {spec.selector()} is null in the summary (not finite)")
    else:
        raw = _walk(summary, spec.path)
        if raw is None:
            why = f"{file}: no field {'.'.join(map(str, spec.path))}"
            return Resolved(spec, _placeholder(f"{file}: {'.'.join(map(str, spec.path))}"), None, why)
    try:
        return Resolved(spec, format_number(raw, spec.fmt), raw)
    except (TypeError, ValueError) as exc:
        return Resolved(spec, _placeholder(f"{file}: {spec.selector()}"), raw, f"{file}: {spec.selector()}: {exc}")


def format_number(value, fmt: str) -> str:
    """LaTeX for ``value`` in ``fmt``: a Python format spec (``+.3f``, ``.2f``, ``.1%``) or ``int`` (thousands
    separated), ``sci`` (two significant digits times a power of ten), ``verdict`` (holds / fails), ``mode``
    (quick / full from the summary's ``quick``), ``text`` (a string, escaped) or ``len`` (a list's length). Numbers are set in math mode so
    that a minus is a minus sign."""
    if fmt == "verdict":
        if not isinstance(value, bool):
            raise TypeError(f"verdict needs a bool, got {value!r}")
        return "holds" if value else r"\textbf{fails}"
    if fmt == "mode":
        if not isinstance(value, bool):
            raise TypeError(f"mode needs the summary's quick flag (a bool), got {value!r}")
        return "quick" if value else "full"
    if fmt == "text":
        return latex_escape(str(value))
    if fmt == "len":
        if not isinstance(value, (list, dict)):
            raise TypeError(f"len needs a list, got {value!r}")
        return r"\ensuremath{" + str(len(value)) + "}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a number is needed, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"not finite: {value!r}")
    if fmt == "int":
        if abs(value - round(value)) > 1e-9:
            raise ValueError(f"int format of a non-integer {value!r}")
        return r"\ensuremath{" + f"{round(value):,d}".replace(",", "{,}") + "}"
    if fmt == "sci":
        if value == 0:
            return r"\ensuremath{0}"
        mantissa, exponent = f"{value:.1e}".split("e")
        return r"\ensuremath{" + mantissa + r"\times 10^{" + str(int(exponent)) + "}}"
    text = format(value, fmt)
    if re.fullmatch(r"[+-]?0(\.0+)?%?", text.lstrip("+-")) and text.startswith("-"):
        text = text[1:]  # -0.000 reads as a sign where there is none
    return r"\ensuremath{" + text.replace("%", r"\%") + "}"


# ------------------------------------------------------------------------------------------------
# Text from results (claims, table cells) set in LaTeX
# ------------------------------------------------------------------------------------------------

_SPECIALS = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#", "_": r"\_", "%": r"\%",
             "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}"}
_UNICODE = {"±": r"$\pm$", "²": r"$^2$", "³": r"$^3$", "·": r"$\cdot$", "×": r"$\times$", "ó": r"\'o", "é": r"\'e", "ü": r'\"u',
            "Â": r"$\hat{A}$", "Γ": r"$\Gamma$", "Δ": r"$\Delta$", "Σ": r"$\Sigma$", "α": r"$\alpha$", "β": r"$\beta$", "γ": r"$\gamma$",
            "δ": r"$\delta$", "ε": r"$\varepsilon$", "η": r"$\eta$", "θ": r"$\theta$", "κ": r"$\kappa$", "λ": r"$\lambda$", "μ": r"$\mu$",
            "π": r"$\pi$", "ρ": r"$\rho$", "σ": r"$\sigma$", "τ": r"$\tau$", "φ": r"$\phi$", "χ": r"$\chi$", "ω": r"$\omega$",
            "—": "---", "–": "--", "…": r"\dots{}", "₀": r"$_0$", "₁": r"$_1$", "→": r"$\to$", "⇔": r"$\Leftrightarrow$",
            "∂": r"$\partial$", "∈": r"$\in$", "∏": r"$\prod$", "∑": r"$\sum$", "−": "-", "√": r"$\surd$", "∝": r"$\propto$",
            "∩": r"$\cap$", "∪": r"$\cup$", "∫": r"$\int$", "≈": r"$\approx$", "≠": r"$\neq$", "≤": r"$\le$", "≥": r"$\ge$",
            "⌈": r"$\lceil$", "⌉": r"$\rceil$", "⌊": r"$\lfloor$", "⌋": r"$\rfloor$", "▼": r"$\blacktriangledown$", "∞": r"$\infty$",
            "∼": r"$\sim$", "’": "'", "‘": "`", "“": "``", "”": "''", "≫": r"$\gg$", "≪": r"$\ll$"}
_COMBINING = {"\u0302": r"\hat", "\u0304": r"\bar", "\u0303": r"\tilde"}


def latex_escape(text: str, unknown: list | None = None) -> str:
    """``text`` (a claim, a table cell, a path) as LaTeX text: TeX's special characters escaped, the Unicode
    symbols the project's claims use mapped to LaTeX, a letter with a combining hat or bar set in math. A
    character without a mapping becomes ``?`` and is appended to ``unknown`` when given."""
    out = []
    chars = list(text)
    i = 0
    quote_open = False
    while i < len(chars):
        c = chars[i]
        nxt = chars[i + 1] if i + 1 < len(chars) else ""
        if nxt in _COMBINING:
            out.append(f"${_COMBINING[nxt]}{{{c}}}$")
            i += 2
            continue
        if c == '"':  # straight double quotes open and close in turn
            quote_open = not quote_open
            out.append("``" if quote_open else "''")
        elif c in _SPECIALS:
            out.append(_SPECIALS[c])
        elif ord(c) < 128:
            out.append(c)
        elif c in _UNICODE:
            out.append(_UNICODE[c])
        else:
            if unknown is not None:
                unknown.append(f"{c} (U+{ord(c):04X} {unicodedata.name(c, '?')})")
            out.append("?")
        i += 1
    return "".join(out)


def _cell(v, fmt: str = ".4g") -> str:
    if v is None:
        return "--"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        if not math.isfinite(v):
            return "--"
        if fmt == ".4g" and v != 0 and not 1e-3 <= abs(v) < 1e6:
            fmt = "sci"
        return format_number(v, fmt)
    return latex_escape(str(v))


def claims_table(name: str, summary: dict, unknown: list | None = None) -> str:
    """A longtable of an experiment's claims, failing ones first: verdict, claim, value, threshold."""
    claims = sorted(summary.get("claims", []), key=lambda c: c["holds"])
    rows = [r"\begin{longtable}{@{}p{0.06\linewidth}>{\raggedright\arraybackslash}p{0.6\linewidth}"
            r">{\raggedleft\arraybackslash}p{0.12\linewidth}>{\raggedleft\arraybackslash}p{0.12\linewidth}@{}}", r"\toprule",
            r"holds & claim & value & threshold \\", r"\midrule", r"\endhead"]
    for c in claims:
        verdict = "yes" if c["holds"] else r"\textbf{NO}"
        rows.append(f"{verdict} & {latex_escape(c['claim'], unknown)} & {_cell(c['value'])} & {_cell(c['threshold'])} \\\\")
    if not claims:
        rows.append(r"\multicolumn{4}{@{}l}{(this summary holds no claims)} \\")
    rows += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(rows) + "\n"


def _commands() -> dict[str, str]:
    """results folder name -> the command that writes it."""
    from experiments import registry

    out = {name: f"python -m experiments run {name}" for name in registry.EXPERIMENTS}
    out |= {f"bench-{name}": f"python -m experiments bench {name}" for name in registry.BENCHMARKS}
    return out


def _descriptions() -> dict[str, str]:
    from experiments import registry

    out = {name: doc for name, (_, doc) in registry.EXPERIMENTS.items()}
    return out | {f"bench-{name}": doc for name, (_, doc) in registry.BENCHMARKS.items()}


def command_for(name: str, summary: dict | None) -> str:
    """The command line that (re)writes ``results/<name>/``, with ``--quick`` where the summary says so."""
    base = _commands().get(name, f"python -m experiments run {name}")
    return base + (" --quick" if summary and summary.get("quick") else "")


def _claims_section(summaries: dict[str, dict], unknown: list) -> str:
    desc = _descriptions()
    parts = ["% Generated by python -m experiments paper from results/*/summary.json: every claim, failing ones first.\n"]
    for name, s in summaries.items():
        held = sum(c["holds"] for c in s.get("claims", []))
        mode = "quick" if s.get("quick") else "full" if "quick" in s else "mode not recorded"
        parts.append(rf"\subsection*{{\texttt{{{latex_escape(name)}}} ({held} of {len(s.get('claims', []))} claims hold; {mode})}}" + "\n")
        if name in desc:
            parts.append(latex_escape(desc[name], unknown) + ". ")
        parts.append(rf"Written by \texttt{{{latex_escape(command_for(name, s))}}}." + "\n")
        parts.append(claims_table(name, s, unknown))
    if not summaries:
        parts.append(r"\missing{results/ holds no summary.json: run python -m experiments all --quick}" + "\n")
    return "".join(parts)


def _status_table(summaries: dict[str, dict]) -> str:
    """Which experiments ran (mode, claims held) and which did not."""
    names = list(_commands())
    rows = [r"\begin{longtable}{@{}llr>{\raggedright\arraybackslash}p{0.44\linewidth}@{}}",
            r"\caption{Which experiments wrote the results behind this build, in which mode, how many of their claims hold, "
            r"and the command that rewrites each (generated from \texttt{results/*/summary.json}).}\label{tab:status}\\",
            r"\toprule", r"results folder & mode & claims held & command \\", r"\midrule", r"\endfirsthead",
            r"\toprule", r"results folder & mode & claims held & command \\", r"\midrule", r"\endhead"]
    for name in names + [n for n in summaries if n not in names]:
        s = summaries.get(name)
        if s is None:
            rows.append(rf"\texttt{{{latex_escape(name)}}} & \textbf{{did not run}} & -- & \texttt{{{latex_escape(command_for(name, None))}}} \\")
            continue
        claims = s.get("claims", [])
        mode = "quick" if s.get("quick") else "full" if "quick" in s else "--"
        if s.get("absent"):
            mode += " (data absent)"
        held = f"{sum(c['holds'] for c in claims)} / {len(claims)}"
        rows.append(rf"\texttt{{{latex_escape(name)}}} & {mode} & {held} & \texttt{{{latex_escape(command_for(name, s))}}} \\")
    rows += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(rows) + "\n"


def _arms_table(summary: dict | None) -> str:
    """real_methods' arms at the last step: pass@1 and its change against the base and GRPO (paired 95% CIs), pass@k at
    the trained k and the largest k measured, SC gain@K and answer disagreement."""
    if summary is None or not summary.get("arms_table"):
        return _placeholder("results/real_methods/summary.json: arms_table") + "\n"
    table = summary["arms_table"]
    ks = sorted({int(m.group(1)) for row in table for key in row if (m := re.fullmatch(r"pass@(\d+)", key)) and m.group(1) != "1"})
    big = [f"pass@{k}" for k in ks]
    K = (summary.get("setting") or {}).get("K", "K")

    def ci(row, key):
        v, c = row.get(key), row.get(key + " ci95")
        if v is None:
            return "--"
        return _cell(v, "+.3f") + (f" [{_cell(c[0], '+.3f')}, {_cell(c[1], '+.3f')}]" if c else "")

    head = ["arm", "pass@1", r"$-$ base [95\% CI]", r"$-$ GRPO [95\% CI]", *big, f"SC gain@{K}", "disagree."]
    rows = [r"\setlength{\tabcolsep}{3.5pt}% ten columns: narrower gaps keep the table inside the text width",
            r"\begin{tabular}{@{}l" + "r" + "ll" + "r" * (len(big) + 2) + "@{}}", r"\toprule", " & ".join(head) + r" \\", r"\midrule"]
    for row in table:
        rows.append(" & ".join([rf"\texttt{{{latex_escape(str(row.get('arm')))}}}", _cell(row.get("pass@1"), ".3f"), ci(row, "pass@1 - base"),
                                ci(row, "pass@1 - grpo"), *(_cell(row.get(b), ".3f") for b in big), _cell(row.get("sc_gain"), "+.3f"),
                                _cell(row.get("answer_disagreement"), ".3f")]) + r" \\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows) + "\n"


def _samplers_table(summary: dict | None) -> str:
    """bench-sampler: each sampler's device, tokens/s, load time and log-prob gap, or why it did not run."""
    if summary is None or not summary.get("samplers"):
        return _placeholder("results/bench-sampler/summary.json: samplers") + "\n"
    rows = [r"\begin{tabular}{@{}llrrr@{}}", r"\toprule", r"sampler & device & tokens/s & load (s) & max $|\Delta\log p|$ \\", r"\midrule"]
    for name, r in summary["samplers"].items():
        if "tokens_per_s" not in r:
            why = latex_escape(str(r.get("skipped", "?")))
            rows.append(rf"\texttt{{{latex_escape(name)}}} & \multicolumn{{4}}{{p{{0.6\linewidth}}}}{{did not run: {why}}} \\")
            continue
        gap = (r.get("logprob_vs_teacher_forced") or {}).get("max_abs")
        rows.append(rf"\texttt{{{latex_escape(name)}}} & {latex_escape(str(r.get('device', '?')))} & {_cell(round(r['tokens_per_s']), 'int')}"
                    rf" & {_cell(r.get('load_seconds'), '.1f')} & {_cell(gap, 'sci')} \\")
    rows += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(rows) + "\n"


# ------------------------------------------------------------------------------------------------
# Generation
# ------------------------------------------------------------------------------------------------

FIGURE_MACRO = "resultfigure"


@dataclass
class GenerationReport:
    """What ``generate`` wrote and what it could not find (every placeholder is a warning)."""

    generated: Path
    resolved: list[Resolved] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def referenced_figures(paper_dir: Path) -> list[str]:
    """``results``-relative paths of the figures the sections include with ``\\resultfigure{name/file.png}``."""
    found = []
    for tex in _prose_files(paper_dir):
        for m in re.finditer(r"\\" + FIGURE_MACRO + r"(?:\[[^\]]*\])?\{([^}]+)\}", _strip_comments(tex.read_text(encoding="utf-8"))):
            if m.group(1) not in found:
                found.append(m.group(1))
    return found


def _numbers_tex(resolved: list[Resolved], summaries: dict[str, dict]) -> str:
    lines = ["% Generated by python -m experiments paper from results/*/summary.json (the specs: paper/numbers.toml).",
             "% Each macro's source (file, then claim or field) is the comment line above it.", ""]
    for r in resolved:
        s = r.spec
        raw = "missing" if r.problem else json.dumps(r.raw)
        lines.append(f"% source: results/{s.source}/summary.json | {s.selector()} | read: {raw} | command: "
                     f"{command_for(s.source, summaries.get(s.source))}")
        lines.append(rf"\newcommand{{\{s.macro}}}{{{r.latex}}}")
    return "\n".join(lines) + "\n"


def _sources_tex(resolved: list[Resolved], summaries: dict[str, dict]) -> str:
    rows = [r"\begin{longtable}{@{}>{\raggedright\arraybackslash}p{0.27\linewidth}>{\raggedright\arraybackslash}p{0.12\linewidth}"
            r">{\raggedright\arraybackslash}p{0.55\linewidth}@{}}", r"\toprule",
            r"macro & value & source: \texttt{results/\textless folder\textgreater/summary.json}, selector \\", r"\midrule", r"\endhead"]
    for r in resolved:
        s = r.spec
        value = r.latex if r.problem is None or "n/a" in r.latex else r"\textbf{\textcolor{red}{missing}}"
        why = f" --- {latex_escape(r.problem)}" if r.problem else ""
        selector = latex_escape(s.selector())
        if s.claim is None:  # a dotted path: let it break after its dots
            selector = selector.replace(".", r".\allowbreak{}")
        rows.append(rf"\texttt{{\textbackslash {s.macro}}} & {value} & \texttt{{{latex_escape(s.source)}}}: {selector}{why} \\")
    rows += [r"\bottomrule", r"\end{longtable}"]
    return "\n".join(rows) + "\n"


def _failing_list(summaries: dict[str, dict], unknown: list) -> str:
    """Every failing claim of every summary, as an itemize naming its experiment, value and threshold."""
    items = [rf"\item \texttt{{{latex_escape(name)}}}: {latex_escape(c['claim'], unknown)} (value {_cell(c['value'])}, threshold "
             rf"{_cell(c['threshold'])})" for name, s in summaries.items() for c in s.get("claims", []) if not c["holds"]]
    if not summaries:
        return _placeholder("results/ holds no summary.json") + "\n"
    if not items:
        return "Every claim of every experiment that ran holds.\n"
    return "\\begin{itemize}\n" + "\n".join(items) + "\n\\end{itemize}\n"


def _derivations(results_dir: Path) -> tuple[str, str | None]:
    src = Path(results_dir) / "symbolic" / "derivations.tex"
    if not src.is_file():
        return (_placeholder("results/symbolic/derivations.tex (python -m experiments run symbolic)") + "\n",
                "results/symbolic/derivations.tex does not exist")
    return "% Copied from results/symbolic/derivations.tex (python -m theory.symbolic --latex).\n" + src.read_text(encoding="utf-8"), None


def generate(results_dir: Path, paper_dir: Path = PAPER_DIR) -> GenerationReport:
    """Write ``paper_dir/generated/`` (atomically, as one folder) from ``results_dir``; returns what was written
    and every warning (a missing source, an unknown character)."""
    results_dir, paper_dir = Path(results_dir), Path(paper_dir)
    specs = load_specs(paper_dir)
    seen = set()
    for s in specs:
        if s.macro in seen:
            raise ValueError(f"{NUMBERS_FILE}: macro {s.macro} defined twice")
        seen.add(s.macro)
    summaries = load_summaries(results_dir)
    resolved = [resolve(s, summaries) for s in specs]
    report = GenerationReport(paper_dir / GENERATED, resolved)
    report.warnings += [f"\\{r.spec.macro}: {r.problem}" for r in resolved if r.problem]
    unknown: list[str] = []
    derivations, why = _derivations(results_dir)
    if why:
        report.warnings.append(why)
    figures = referenced_figures(paper_dir)

    def write(tmp: Path) -> None:
        atomic_write_text(tmp / "numbers.tex", _numbers_tex(resolved, summaries))
        atomic_write_text(tmp / "sources.tex", _sources_tex(resolved, summaries))
        atomic_write_text(tmp / "sources.json", json.dumps(
            {r.spec.macro: {"file": f"results/{r.spec.source}/summary.json", "selector": r.spec.selector(), "claim": r.spec.claim,
                            "field": r.spec.field if r.spec.claim is not None else None, "path": list(r.spec.path) or None,
                            "count": r.spec.count, "format": r.spec.fmt, "raw": r.raw, "latex": r.latex, "missing": r.problem,
                            "command": command_for(r.spec.source, summaries.get(r.spec.source))} for r in resolved}, indent=1) + "\n")
        atomic_write_text(tmp / "claims.tex", _claims_section(summaries, unknown))
        atomic_write_text(tmp / "status.tex", _status_table(summaries))
        atomic_write_text(tmp / "failing.tex", _failing_list(summaries, unknown))
        atomic_write_text(tmp / "arms_table.tex", _arms_table(summaries.get("real_methods")))
        atomic_write_text(tmp / "samplers_table.tex", _samplers_table(summaries.get("bench-sampler")))
        atomic_write_text(tmp / "derivations.tex", derivations)
        for rel in figures:
            src = results_dir / rel
            if src.is_file():
                (tmp / "figures" / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(src, tmp / "figures" / rel)
                report.figures.append(rel)
            else:
                report.warnings.append(f"figure results/{rel} does not exist (a placeholder box is printed)")

    atomic_dir(paper_dir / GENERATED, write)
    report.warnings += [f"no LaTeX mapping for {u}; printed as ?" for u in dict.fromkeys(unknown)]
    return report


# ------------------------------------------------------------------------------------------------
# Build
# ------------------------------------------------------------------------------------------------

def missing_tex_programs() -> list[str]:
    """The TeX programs the build needs that are not on PATH."""
    return [p for p in TEX_PROGRAMS if shutil.which(p) is None]


def build_pdf(paper_dir: Path = PAPER_DIR, timeout_s: float = 600) -> Path:
    """``latexmk -pdf`` in ``paper_dir`` -> ``paper_dir/build/paper.pdf``. Raises ``FileNotFoundError`` naming the
    missing programs, ``RuntimeError`` with the end of latexmk's log if the build fails."""
    missing = missing_tex_programs()
    if missing:
        raise FileNotFoundError(f"missing TeX program(s): {', '.join(missing)}")
    paper_dir = Path(paper_dir)
    cmd = ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", f"-outdir={BUILD}", "paper.tex"]
    proc = subprocess.run(cmd, cwd=paper_dir, capture_output=True, text=True, timeout=timeout_s)
    pdf = paper_dir / BUILD / PDF_NAME
    if proc.returncode != 0 or not pdf.is_file():
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise RuntimeError(f"latexmk failed (exit {proc.returncode}) in {paper_dir}; the end of its output:\n{tail}")
    return pdf


# ------------------------------------------------------------------------------------------------
# Checks of the prose
# ------------------------------------------------------------------------------------------------

# commands whose braced arguments are keys, paths or layout, never prose
_KEY_COMMANDS = ("cite", "citep", "citet", "citealp", "ref", "eqref", "label", "input", "include", "includegraphics", FIGURE_MACRO,
                 "url", "href", "bibliography", "bibliographystyle", "usepackage", "documentclass",
                 "hypersetup", "newcommand", "renewcommand", "setlength", "graphicspath", "autoref")
# digit strings the prose may type by hand: years, metric names (pass@1), equation and section numbers of cited papers
ALLOWED_DIGITS = (r"(?<![\d.])(19[5-9]\d|20[0-3]\d)(?![\d.])",  # years
                  r"@\$?1(?![\d.])", r"\\(passk|majk)\{1\}",  # pass@1, maj@1, Pass@1
                  r"(?<![\d.])95\\%",  # the confidence level of every interval
                  r"\b(eqs?|Eqs?|Sec|Secs|Sect)\.(~|\s)?\d+(\.\d+)*((--|-|,\s?)\d+(\.\d+)*)*",  # a cited paper's equations, sections
                  r"\bGSM8K\b", r"\bH100\b", r"\bH\d\b", r"\barXiv:\d{4}\.\d{4,5}\b",  # named things; hypothesis labels H0-H3
                  r"\bQwen2\.5-Math\b")  # a tool's name


def _strip_comments(tex: str) -> str:
    return re.sub(r"(?<!\\)%.*", "", tex)


def _prose_files(paper_dir: Path) -> list[Path]:
    paper_dir = Path(paper_dir)
    return sorted((paper_dir / "sections").glob("*.tex")) + [paper_dir / "paper.tex"]


def _body(tex: str) -> str:
    """The part of a file that is prose: after ``\\begin{document}`` where there is one."""
    i = tex.find(r"\begin{document}")
    return tex if i < 0 else tex[i:]


def _drop_key_arguments(tex: str) -> str:
    names = "|".join(_KEY_COMMANDS)
    tex = re.sub(r"\\(?:" + names + r")\*?(\s*\[[^\]]*\])*(\s*\{[^{}]*\})?", " ", tex)  # the first braced argument only
    return re.sub(r"\\[A-Za-z]+\*?\s*\[[^\]]*\]", " ", tex)  # optional (layout) arguments of any command


def _math_spans(tex: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"\$\$.*?\$\$|\$.*?\$|\\\(.*?\\\)|\\\[.*?\\\]|\\begin\{(equation|align|gather|multline)\*?\}.*?\\end\{\1\*?\}",
                         tex, flags=re.S):
        spans.append(m.span())
    return spans


def hand_typed_numbers(tex: str) -> list[tuple[int, str]]:
    """(line, digit string) for every number typed by hand in ``tex``: digits outside comments, key arguments
    (citations, labels, paths), the allow-list ``ALLOWED_DIGITS`` and single digits inside math (a formula's
    constants, as in $1-(1-p)^k$). A number belongs in a macro read from results/."""
    tex = _body(_strip_comments(tex))
    text = _drop_key_arguments(tex)
    for pattern in ALLOWED_DIGITS:
        text = re.sub(pattern, lambda m: re.sub(r"\d", "D", m.group(0)), text)
    math_spans = _math_spans(text)
    found = []
    for m in re.finditer(r"\d+(?:[.,]\d+)*", text):
        in_math = any(a <= m.start() < b for a, b in math_spans)
        if in_math and re.fullmatch(r"\d", m.group(0)):
            continue
        found.append((text.count("\n", 0, m.start()) + 1, m.group(0)))
    return found


def used_macros(tex: str) -> set[str]:
    """Names of the control words ``tex`` uses (``\\foo`` -> ``foo``), comments excluded."""
    return set(re.findall(r"\\([A-Za-z]+)", _strip_comments(tex)))


def defined_macros(tex: str) -> set[str]:
    """Names ``tex`` defines with ``\\newcommand`` / ``\\renewcommand`` / ``\\DeclareMathOperator``."""
    return set(re.findall(r"\\(?:newcommand|renewcommand|providecommand|DeclareMathOperator)\*?\{?\\([A-Za-z]+)", _strip_comments(tex)))


# The LaTeX and package commands the prose may use (anything else must be defined by the preamble or generated/).
LATEX_COMMANDS = frozenset("""
documentclass usepackage begin end ln min section subsection subsubsection paragraph emph textbf textit texttt textsc mathrm mathbf
mathcal mathbb operatorname cite citep citet citealp ref eqref label input include item caption centering includegraphics
footnote url href frac tfrac dfrac binom tbinom sqrt sum prod int lim log exp max min arg argmax mid left right big Big bigl
bigr Bigl Bigr le ge leq geq ne neq approx sim propto cdot cdots ldots dots times to infty in notin subset subseteq cup cap
setminus alpha beta gamma delta epsilon varepsilon zeta eta theta kappa lambda mu nu xi pi rho sigma tau phi varphi chi psi
omega Gamma Delta Theta Lambda Pi Sigma Phi Psi Omega hat bar tilde widehat overline underline quad qquad text mathit
top partial nabla pm mp lceil rceil lfloor rfloor langle rangle lvert rvert vert Vert bigg Bigg mathsf boldsymbol maketitle
title author date tableofcontents appendix bibliography bibliographystyle newpage clearpage noindent par smallskip medskip
bigskip vspace hspace linewidth textwidth columnwidth small footnotesize scriptsize large Large normalsize hline toprule
midrule bottomrule multicolumn newcommand renewcommand ensuremath IfFileExists fbox parbox makebox detokenize graphicspath
setlength tabcolsep hypersetup leftmargin labelwidth itemsep abstract textbackslash S equiv iff implies Leftrightarrow Rightarrow
rightarrow leftarrow mapsto ell forall exists neg land lor colon displaystyle textstyle phantom not prime circ bullet star
ast dagger sqcup bigcup bigcap oplus otimes varnothing emptyset lvert rvert middle vspace enspace thinspace nobreak
allowbreak linebreak pagebreak relax protect textendash textemdash textquotedblleft textquotedblright tiny huge LaTeX TeX
hfill vfill newline today thanks and textsuperscript textsubscript thispagestyle pagestyle markboth mathrel mathop limits
nolimits frametitle texorpdfstring autoref nameref pageref figurename tablename contentsname refname listoffigures listoftables xspace
""".split())


def undefined_macros(paper_dir: Path = PAPER_DIR) -> dict[str, list[str]]:
    """``{file: [macro, ...]}`` for every control word the prose uses that is neither a known LaTeX command
    (``LATEX_COMMANDS``), nor defined in the preamble (``paper.tex``) or in ``generated/*.tex``."""
    paper_dir = Path(paper_dir)
    defined = set(LATEX_COMMANDS) | defined_macros((paper_dir / "paper.tex").read_text(encoding="utf-8"))
    for f in sorted((paper_dir / GENERATED).glob("*.tex")):
        defined |= defined_macros(f.read_text(encoding="utf-8"))
    out = {}
    for f in _prose_files(paper_dir):
        bad = sorted(used_macros(_body(f.read_text(encoding="utf-8"))) - defined)
        if bad:
            out[str(f.relative_to(paper_dir))] = bad
    return out


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def run_cli(results_dir: Path, paper_dir: Path = PAPER_DIR, build: bool = True, log=print) -> int:
    """Generate the sources, check the prose, build the PDF. Exit status: 0 built (or not asked to build), 1 the
    prose types a number by hand or uses an undefined macro, 2 the LaTeX build failed, ``EXIT_NO_TEX`` (3) a TeX
    program is missing (the sources were written)."""
    paper_dir = Path(paper_dir)
    report = generate(results_dir, paper_dir)
    n_missing = sum(r.problem is not None for r in report.resolved)
    log(f"paper: wrote {report.generated} ({len(report.resolved)} numbers, {n_missing} missing; {len(report.figures)} figures)")
    absent: dict[str, list[str]] = {}  # one line per missing results file, naming its macros
    for r in report.resolved:
        if r.problem and r.problem.endswith("does not exist"):
            absent.setdefault(r.problem, []).append("\\" + r.spec.macro)
    for problem, macros in absent.items():
        log(f"  warning: {problem}: {len(macros)} macro(s) printed as placeholders ({', '.join(macros[:4])}{', ...' if len(macros) > 4 else ''})")
    for w in report.warnings:
        if not w.endswith("does not exist") or w.startswith("figure") or w.startswith("results/symbolic"):
            log(f"  warning: {w}")
    problems = []
    for f in _prose_files(paper_dir):
        problems += [f"{f.relative_to(paper_dir)}:{line}: number typed by hand: {tok}" for line, tok in
                     hand_typed_numbers(f.read_text(encoding="utf-8"))]
    problems += [f"{f}: undefined macro(s) {', '.join(names)}" for f, names in undefined_macros(paper_dir).items()]
    if problems:
        log("paper: the prose breaks its rules:\n  " + "\n  ".join(problems))
        return 1
    if not build:
        return 0
    missing = missing_tex_programs()
    if missing:
        log(f"paper: cannot build the PDF: {', '.join(missing)} not found on PATH. The generated sources are in "
            f"{report.generated}. Install TeX Live (Debian): {TEXLIVE_INSTALL}")
        return EXIT_NO_TEX
    try:
        pdf = build_pdf(paper_dir)
    except RuntimeError as exc:
        log(f"paper: {exc}")
        return 2
    log(f"paper: {pdf}")
    return 0
