"""The paper's generator (experiments/paper.py) and the rules its prose keeps: every number a macro read from
results/, every macro defined and traced to its source, no number typed by hand; the PDF build where TeX is
installed, and a clear stop naming the missing program where it is not."""

import json
import re
import shutil
from pathlib import Path

import pytest

from common.results import Claim, write_summary
from experiments import paper

PAPER = Path(paper.__file__).resolve().parents[1] / "paper"
RESULTS = Path(paper.__file__).resolve().parents[1] / "results"


def latex_number(body: str) -> float:
    """The number a generated macro prints, parsed back (written here, independent of the generator)."""
    s = body.strip()
    m = re.fullmatch(r"\\ensuremath\{(.*)\}", s)
    assert m, body
    s = m.group(1).replace("{,}", "")
    pct = s.endswith(r"\%")
    s = s.removesuffix(r"\%")
    m = re.fullmatch(r"([+-]?[\d.]+)\\times 10\^\{(-?\d+)\}", s)
    x = float(m.group(1)) * 10 ** int(m.group(2)) if m else float(s)
    return x / 100 if pct else x


def macro_bodies(numbers_tex: str) -> dict[str, str]:
    return dict(re.findall(r"^\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}$", numbers_tex, flags=re.M))


def copy_paper(tmp_path: Path) -> Path:
    """The paper's sources (not its outputs) in a scratch folder, so that tests never write into paper/."""
    dst = tmp_path / "paper"
    shutil.copytree(PAPER, dst, ignore=shutil.ignore_patterns("generated", "build"))
    return dst


def small_paper(tmp_path: Path, numbers: str, prose: str) -> Path:
    d = tmp_path / "mini"
    (d / "sections").mkdir(parents=True)
    (d / "numbers.toml").write_text(numbers)
    (d / "sections" / "a.tex").write_text(prose)
    (d / "paper.tex").write_text("\\documentclass{article}\n\\begin{document}\n\\input{sections/a}\n\\end{document}\n")
    return d


# ---------------------------------------------------------------------------------------------------------
# formatting and escaping
# ---------------------------------------------------------------------------------------------------------

def test_formats_print_what_the_value_is():
    f = paper.format_number
    assert f(-0.0312, ".3f") == r"\ensuremath{-0.031}"
    assert f(0.0312, "+.3f") == r"\ensuremath{+0.031}"
    assert f(-0.0001, ".3f") == r"\ensuremath{0.000}"  # no sign on a rounded zero
    assert f(7680.0, "int") == r"\ensuremath{7{,}680}"
    assert f(4.186e-6, "sci") == r"\ensuremath{4.2\times 10^{-6}}"
    assert f(0.904, ".1%") == r"\ensuremath{90.4\%}"
    assert f(True, "verdict") == "holds" and f(False, "verdict") == r"\textbf{fails}"
    assert f(True, "mode") == "quick" and f(False, "mode") == "full"
    assert f([1, 2, 3], "len") == r"\ensuremath{3}"
    assert f("pitman_yor", "text") == r"pitman\_yor"
    with pytest.raises(ValueError, match="non-integer"):
        f(2.5, "int")
    with pytest.raises(TypeError):
        f(True, ".3f")  # a verdict is not a number
    with pytest.raises(TypeError):
        f(0.5, "verdict")


def test_claim_text_is_escaped_for_latex():
    unknown = []
    out = paper.latex_escape('R̄ = 1 - C(N_neg,k) ≤ 5% & |x| > σ "q" ☃', unknown)
    assert r"$\bar{R}$" in out and r"N\_neg" in out and r"$\le$" in out and r"5\%" in out and r"\&" in out
    assert r"\textbar{}x\textbar{}" in out and r"\textgreater{}" in out and r"$\sigma$" in out and "``q''" in out
    assert out.endswith("?") and len(unknown) == 1 and "SNOWMAN" in unknown[0]


def test_specs_are_validated_with_the_macro_named(tmp_path):
    for bad, msg in (('[a1]\nsource = "x"\nclaim = "y"\n', "letters only"),
                     ('[a]\nsource = "x"\n', "exactly one of claim, path, count"),
                     ('[a]\nsource = "x"\nclaim = "y"\nfield = "nope"\n', "field"),
                     ('[a]\nsource = "x"\ncount = "held"\nformat = "zz"\n', "format")):
        d = tmp_path / f"p{len(msg)}"
        d.mkdir()
        (d / "numbers.toml").write_text(bad)
        with pytest.raises(ValueError, match=msg):
            paper.load_specs(d)


# ---------------------------------------------------------------------------------------------------------
# generation from a synthetic results folder
# ---------------------------------------------------------------------------------------------------------

NUMBERS = """
[gain]
source = "demo"
claim = "SC gain on the hard split"
format = "+.3f"
[gainHolds]
source = "demo"
claim = "SC gain on the hard split"
field = "holds"
[speed]
source = "demo"
claim = ["speed", "ratio"]
format = ".1f"
[steps]
source = "demo"
path = "setting.steps.-1"
format = "int"
[atDip]
source = "demo"
path = ["trajectory", "=dip_index"]
[armRise]
source = "demo"
path = ["arms", {arm = "b"}, "rise"]
format = "+.2f"
[held]
source = "demo"
count = "held"
format = "int"
[absent]
source = "never_ran"
claim = "anything"
[ambiguous]
source = "demo"
claim = "speed"
[nothing]
source = "demo"
claim = "no value"
"""


def write_demo(results: Path) -> None:
    claims = [Claim("SC gain on the hard split turns negative", True, -0.03149, 0.0),
              Claim("speed ratio against the loop", False, 41.26, 50.0),
              Claim("speed in tokens", True, 3.0, 1.0),
              Claim("no value here", False, float("nan"), 1.0)]
    write_summary("demo", claims, results_dir=results, quick=True, setting={"steps": [0, 10, 1200]},
                  trajectory=[0.5, 0.61, 0.72], dip_index=1, arms=[{"arm": "a", "rise": 0.1}, {"arm": "b", "rise": -0.04}])
    (results / "demo" / "fig.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (results / "symbolic").mkdir()
    (results / "symbolic" / "derivations.tex").write_text("\\paragraph{An identity.} $a=a$.\n")


def test_generated_numbers_come_from_the_summaries(tmp_path):
    results = tmp_path / "results"
    write_demo(results)
    prose = "\\section{S} Gain \\gain{} (\\gainHolds), \\resultfigure{demo/fig.png}{a figure} \\resultfigure{demo/none.png}{gone}.\n"
    d = small_paper(tmp_path, NUMBERS, prose)
    report = paper.generate(results, d)
    gen = d / "generated"
    body = macro_bodies((gen / "numbers.tex").read_text())
    # values as the summary holds them, formatted
    assert body["gain"] == r"\ensuremath{-0.031}" and body["gainHolds"] == "holds"
    assert body["speed"] == r"\ensuremath{41.3}" and body["steps"] == r"\ensuremath{1{,}200}"
    assert body["atDip"] == r"\ensuremath{0.610}" and body["armRise"] == r"\ensuremath{-0.04}" and body["held"] == r"\ensuremath{2}"
    # a missing source, an ambiguous claim and a null value are visible placeholders and warnings, never numbers
    assert body["absent"].startswith(r"\missing{results/") and "never\\_ran" in body["absent"]
    assert body["ambiguous"].startswith(r"\missing{") and body["nothing"] == r"\textit{n/a}"
    warnings = "\n".join(report.warnings)
    assert "results/never_ran/summary.json does not exist" in warnings and "2 claims contain 'speed'" in warnings
    assert "is null" in warnings and "figure results/demo/none.png does not exist" in warnings
    # every definition is preceded by its source: file, selector, the raw value read and the command
    lines = (gen / "numbers.tex").read_text().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("\\newcommand"):
            assert re.match(r"% source: results/[\w-]+/summary\.json \| (claim|field|number of claims) .+ \| read: .+ \| command: ",
                            lines[i - 1]), lines[i - 1]
    src = json.loads((gen / "sources.json").read_text())
    assert src["gain"]["file"] == "results/demo/summary.json" and src["gain"]["raw"] == -0.03149
    assert src["gain"]["command"] == "python -m experiments run demo --quick" and src["absent"]["missing"]
    # the claims appendix puts failing claims first; figures referenced are copied; derivations copied
    claims_tex = (gen / "claims.tex").read_text()
    assert claims_tex.index("speed ratio") < claims_tex.index("SC gain on the hard split")
    assert (gen / "figures" / "demo" / "fig.png").is_file() and report.figures == ["demo/fig.png"]
    assert "An identity" in (gen / "derivations.tex").read_text()
    assert "speed ratio against the loop" in (gen / "failing.tex").read_text()


def test_generation_without_any_results_writes_placeholders(tmp_path):
    d = small_paper(tmp_path, NUMBERS, "\\section{S} \\gain\n")
    report = paper.generate(tmp_path / "empty", d)
    assert all(r.problem for r in report.resolved)
    assert "derivations.tex does not exist" in "\n".join(report.warnings)
    assert r"\missing{" in (d / "generated" / "claims.tex").read_text()


# ---------------------------------------------------------------------------------------------------------
# the paper's own prose
# ---------------------------------------------------------------------------------------------------------

def test_the_checks_find_hand_typed_numbers_and_undefined_macros(tmp_path):
    tex = ("pass@16 rises by 0.031 in 2024 (eq.~11, Chen et al.\\ \\citep{chen2025passk}); $k=2$ and $p=0.5$; "
           "\\passk{1}; H0; 95\\% CI; \\resultfigure[0.6]{a/b2.png}{caption 7}\n% a comment with 99\n")
    assert [tok for _, tok in paper.hand_typed_numbers(tex)] == ["16", "0.031", "0.5", "7"]
    d = small_paper(tmp_path, NUMBERS, "\\section{S} \\gain{} and \\notDefinedAnywhere{} \\emph{x}\n")
    paper.generate(tmp_path / "empty", d)
    assert paper.undefined_macros(d) == {"sections/a.tex": ["notDefinedAnywhere"]}


def test_the_prose_types_no_number_and_uses_only_defined_macros(tmp_path):
    d = copy_paper(tmp_path)
    report = paper.generate(tmp_path / "no_results", d)
    assert paper.undefined_macros(d) == {}
    for f in sorted((d / "sections").glob("*.tex")) + [d / "paper.tex"]:
        assert paper.hand_typed_numbers(f.read_text()) == [], f.name
    # every spec is used by the text, and every number macro the text uses has a spec
    prose = "".join(f.read_text() for f in (d / "sections").glob("*.tex"))
    used = paper.used_macros(prose)
    specs = {r.spec.macro for r in report.resolved}
    assert specs - used == set(), "specs no section uses"
    # every figure the text includes names a results file
    assert all(re.fullmatch(r"[\w-]+/[\w.-]+\.png", f) for f in paper.referenced_figures(d))


def read_claim_value(summary: dict, texts: tuple, field: str):
    hits = [c for c in summary["claims"] if all(t in c["claim"] for t in texts)]
    return hits[0][field] if len(hits) == 1 else None


def test_macros_match_the_real_results_where_present(tmp_path):
    present = {p.parent.name for p in RESULTS.glob("*/summary.json")}
    if not present:
        pytest.skip(f"{RESULTS} holds no summary.json (run python -m experiments all --quick)")
    d = copy_paper(tmp_path)
    report = paper.generate(RESULTS, d)
    bodies = macro_bodies((d / "generated" / "numbers.tex").read_text())
    checked = 0
    for r in report.resolved:
        s = r.spec
        if s.source not in present:
            assert r.problem and "does not exist" in r.problem
            continue
        # a selector that finds nothing in a summary that exists is a stale spec (a null value is reported, not stale)
        assert r.problem is None or "is null" in r.problem, r.problem
        summary = json.loads((RESULTS / s.source / "summary.json").read_text())
        if s.claim is None or s.fmt in ("verdict", "mode", "text", "len") or r.problem:
            continue
        expected = read_claim_value(summary, s.claim, s.field)
        digits = re.search(r"\.(\d+)", s.fmt)
        tol = 0.5 * 10 ** -int(digits.group(1)) if digits and s.fmt[-1] == "f" else 0.051 * abs(expected) + 1e-300
        assert latex_number(bodies[s.macro]) == pytest.approx(expected, abs=tol), s.macro
        checked += 1
    assert checked > 0 or not present & {r.spec.source for r in report.resolved}


def test_cli_without_tex_writes_the_sources_and_names_what_is_missing(tmp_path, monkeypatch):
    results = tmp_path / "results"
    write_demo(results)
    d = copy_paper(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tex-here"))
    lines = []
    assert paper.run_cli(results, d, log=lines.append) == paper.EXIT_NO_TEX
    text = "\n".join(lines)
    assert "latexmk" in text and "apt-get install" in text and (d / "generated" / "numbers.tex").is_file()
    assert not (d / "build" / "paper.pdf").exists()


@pytest.mark.skipif(shutil.which("latexmk") is None or shutil.which("pdflatex") is None,
                    reason="latexmk / pdflatex not installed (Debian: " + paper.TEXLIVE_INSTALL + ")")
def test_pdf_builds_and_prints_the_generated_numbers(tmp_path):
    results = tmp_path / "results"
    write_demo(results)
    write_summary("bench-sim", [Claim("JAX >= 50x faster than the plain per-rollout NumPy baseline", True, 158.449, 50.0)],
                  results_dir=results, quick=True)
    d = copy_paper(tmp_path)
    assert paper.run_cli(results, d, log=lambda m: None) == 0
    pdf = d / "build" / "paper.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 10_000
    if shutil.which("pdftotext"):
        import subprocess

        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "158 times faster" in text and "missing: results/" in text
