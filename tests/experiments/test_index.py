"""results/index.html, the page a researcher opens first: a summary line, one line per experiment, then each
experiment's headline figure, claims (failing first, with the reason) and links; experiments not run are listed."""

import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from common.results import Claim, write_summary
from experiments import index, registry


class Page(HTMLParser):
    """Links, images, anchors and the visible text of a page, in order."""

    def __init__(self):
        super().__init__()
        self.hrefs, self.imgs, self.ids, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if tag == "img":
            self.imgs.append(a["src"])
        if "id" in a:
            self.ids.append(a["id"])

    def handle_data(self, data):
        self.text.append(data)


def results_folder(tmp_path):
    r = tmp_path / "results"
    write_summary("sc_negative_gain", [Claim("the dip is deep", True, -0.125, -0.03),
                                       Claim("sampled interval below zero", False, 0.012, 0.0),
                                       Claim("a value nobody could compute", False, float("nan"), 1.0)],
                  results_dir=r, quick=True, figures=["map.png"])
    for f in ("map.png", "shortcut_trajectory.png"):
        (r / "sc_negative_gain" / f).write_bytes(b"\x89PNG\r\n\x1a\n")
    write_summary("real_rlvr", [Claim("pass@1 rises", True, 0.08, 0.0)], results_dir=r, quick=False)
    (r / "real_rlvr" / "analysis").mkdir()
    (r / "real_rlvr" / "analysis" / "report.html").write_text("<html></html>")
    (r / "broken").mkdir()
    (r / "broken" / "summary.json").write_text("{not json")
    return r


def test_index_summarises_then_details_each_experiment(tmp_path):
    r = results_folder(tmp_path)
    html_text = index.write_index(r).read_text()
    page = Page()
    page.feed(html_text)
    text = " ".join(" ".join(page.text).split())
    # the summary line counts every claim of every summary
    assert "3 experiments and benchmarks ran;" in text and "2 of 4" in text and "2 fail" in text
    # one line per experiment with what it shows (the registry's line), in the registry's order, then those not run
    desc = registry.EXPERIMENTS["sc_negative_gain"][1]
    assert desc in text and text.index("sc_negative_gain") < text.index("real_rlvr")
    assert "#sc_negative_gain" in page.hrefs and "sc_negative_gain" in page.ids
    assert "not run" in text and "python -m experiments run real_methods" in text
    # the headline figure is the one chosen for the experiment, not just the first listed
    assert page.imgs == ["sc_negative_gain/shortcut_trajectory.png"]
    # failing claims first, each with its reason
    sec = html_text[html_text.index("id='sc_negative_gain'"):]
    assert sec.index("sampled interval below zero") < sec.index("the dip is deep")
    assert "fails: value 0.012 against threshold 0" in sec and "fails: no value" in sec
    # links to each report and summary; the unreadable summary is reported, not fatal
    assert "real_rlvr/analysis/report.html" in page.hrefs and "real_rlvr/summary.json" in page.hrefs
    assert "summary.json could not be read: JSONDecodeError" in text
    md = (r / "index.md").read_text()
    assert "| NO | sampled interval below zero | 0.012 | 0 | value 0.012 against threshold 0 |" in md
    assert "[real_rlvr/analysis/report.html]" not in md and "[analysis/report.html](real_rlvr/analysis/report.html)" in md


def test_index_links_the_paper_when_built(tmp_path, monkeypatch):
    r = results_folder(tmp_path)
    monkeypatch.setattr(index, "PAPER_PDF", tmp_path / "paper" / "build" / "paper.pdf")
    assert "Paper: not built" in index.write_index(r).read_text()
    (tmp_path / "paper" / "build").mkdir(parents=True)
    (tmp_path / "paper" / "build" / "paper.pdf").write_bytes(b"%PDF-1.5\n")
    page = Page()
    page.feed(index.write_index(r).read_text())
    assert "../paper/build/paper.pdf" in page.hrefs


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed (Debian: apt-get install -y chromium)")
def test_index_renders_in_a_real_browser(tmp_path):
    from PIL import Image

    r = results_folder(tmp_path)
    from common.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.plot([0, 1], [1, 0], color="red", linewidth=8)
    fig.savefig(r / "sc_negative_gain" / "shortcut_trajectory.png")
    plt.close(fig)
    out = index.write_index(r)
    shot = tmp_path / "shot.png"
    cmd = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
           "--window-size=1000,2400", out.as_uri()]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)
    assert shot.is_file(), "chromium wrote no screenshot"
    im = Image.open(shot).convert("RGB")
    assert im.size == (1000, 2400)
    colors = im.getcolors(maxcolors=1_000_000)
    # the page drew text, the red failing marks and the headline figure's red line: far from a blank page
    assert len(colors) > 50
    assert sum(n for n, (R, G, B) in colors if R > 150 and G < 80 and B < 80) > 500
