"""real.logs.report.write_report: files exist, tables read back with pyarrow, the report names flagged checkpoints."""

import json
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from real.logs.analysis import analyze
from real.logs.report import rows_to_arrow, write_report
from real.logs.table import CountsTable, from_answer_counts


def _table():
    """Checkpoint 0: the correct answer leads with scattered errors; checkpoint 10: a wrong answer overtakes;
    checkpoint 20: recovered. Problem q5 is never solved."""
    rng = np.random.default_rng(0)
    cells = {0: [], 10: [], 20: []}
    for p in range(6):
        extra = list(rng.choice(["C", "D", "E"], size=2))
        if p == 5:
            cells[0].append(["B"] * 4 + extra), cells[10].append(["B"] * 6), cells[20].append(["B"] * 5 + [None])
            continue
        cells[0].append(["A", "A", "A", "B"] + extra)
        cells[10].append(["A", "A", "B", "B", "B"] + extra[:1])
        cells[20].append(["A", "A", "A", "A", "B", None])
    counts = []
    for ck in (0, 10, 20):
        row = []
        for s in cells[ck]:
            d = {}
            for a in s:
                d[a] = d.get(a, 0) + 1
            row.append(d)
        counts.append(row)
    return from_answer_counts(["0", "10", "20"], [f"q{p}" for p in range(6)], counts, ["A"] * 6)


IMPORT = {"files": ["logs.jsonl"], "rows_read": 120, "rows_accepted": 108, "rows_rejected": 12,
          "rejections_by_reason": {"duplicate sample": 9, "invalid JSON": 3},
          "rejected": [{"file": "logs.jsonl", "line": 7, "reason": "duplicate sample: q0 #3"}], "notes": []}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    res = analyze(_table(), ks=[1, 2, 4, 6], K=6, n_boot=200, seed=1)
    return res, out, write_report(res, out, title="Test report", import_report=IMPORT)


def test_files_exist_and_tables_read_back(written):
    res, out, w = written
    for name in ("report.md", "report.html", "summary.json", "negative_sc.json", "coverage.json",
                 "passk_curves.png", "sc_gain.png", "attribution.png", "jaccard.png", "retention.png", "union_vs_single.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert len(w["figures"]) == 6 and all(open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in w["figures"])
    expected = {
        "metrics": ["checkpoint", "step", "metric", "k", "estimate", "low", "high", "n_problems"],
        "attribution": ["checkpoint", "step", "K", "class", "n_problems", "contribution", "total_sc_gain"],
        "jaccard": ["checkpoint_a", "checkpoint_b", "jaccard_binary", "jaccard_soft"],
    }
    for name, cols in expected.items():
        t = pq.read_table(out / f"{name}.parquet")
        assert t.column_names == cols
        assert t.num_rows == len(res["tables"][name])
        c = pacsv.read_csv(out / f"{name}.csv")
        assert c.column_names == cols and c.num_rows == t.num_rows
    m = pq.read_table(out / "metrics.parquet").to_pylist()
    assert {r["metric"] for r in m} == {"pass_at_k", "maj_at_k", "sc_gain"}
    # values survive the round trip
    est = {(r["checkpoint"], r["metric"], r["k"]): r["estimate"] for r in m}
    j = res["metrics"]["ks"].index(6)
    assert est[("10", "sc_gain", 6)] == pytest.approx(res["metrics"]["sc_gain"]["estimate"][1, j])
    s = pq.read_table(out / "checkpoint_summary.parquet")
    assert s.num_rows == 3 and "sc_gain_6" in s.column_names and "solved_binary_k6" in s.column_names
    for name in ("checkpoint_diagnostics", "coverage", "union", "union_curve", "cross_checkpoint_majority", "negative_sc_problems"):
        assert pq.read_table(out / f"{name}.parquet").num_rows > 0, name
    a = pq.read_table(out / "attribution.parquet").to_pylist()
    tot = sum(r["contribution"] for r in a if r["checkpoint"] == "10")
    assert tot == pytest.approx(res["metrics"]["sc_gain"]["estimate"][1, j], abs=1e-12)


def test_report_names_flagged_checkpoints_and_import_counts(written):
    res, out, _ = written
    assert [d["checkpoint"] for d in res["negative_sc"]["flagged"]] == ["10"]
    neg = json.loads((out / "negative_sc.json").read_text())
    assert [d["checkpoint"] for d in neg] == ["10"] and neg[0]["sc_gain"] < 0
    assert neg[0]["attribution"]["consistent_wrong"] < 0
    md = (out / "report.md").read_text()
    assert "Majority voting hurts (SC gain@6 < 0): 1 checkpoint(s)" in md and "**10**" in md
    assert "rows rejected: 12" in md and "duplicate sample" in md and "| 9 |" in md
    for fig in ("passk_curves.png", "sc_gain.png", "jaccard.png", "retention.png", "union_vs_single.png"):
        assert f"]({fig})" in md
    html = (out / "report.html").read_text()
    assert "<b>10</b>" in html and "<table" in html and 'src="jaccard.png"' in html and "rows rejected: 12" in html
    cov = json.loads((out / "coverage.json").read_text())
    assert cov["k"] == 6 and cov["unsolvable"]["full_budget"]["always"] == 1  # q5
    summary = json.loads((out / "summary.json").read_text())
    assert summary["K"] == 6 and summary["flagged_negative_sc"][0]["checkpoint"] == "10"
    assert summary["import_report"]["rows_rejected"] == 12


def test_count_only_report_says_vote_analyses_unavailable(tmp_path):
    t = CountsTable(("a", "b", "c"), np.array([0.0, 1.0, 2.0]), ("q0", "q1", "q2", "q3"),
                    np.full((3, 4), 8), np.array([[3, 0, 1, 8], [6, 1, 0, 8], [8, 0, 2, 7]]))
    res = analyze(t, n_boot=50)
    w = write_report(res, tmp_path)
    md = (tmp_path / "report.md").read_text()
    assert "Unavailable: unavailable" not in md  # the reason reads cleanly
    assert "Not computed: count-only table" in md and "Cross-checkpoint majority" in md
    assert not (tmp_path / "sc_gain.png").exists() and (tmp_path / "passk_curves.png").is_file()
    t_m = pq.read_table(tmp_path / "metrics.parquet")
    assert set(t_m.column("metric").to_pylist()) == {"pass_at_k"}
    assert json.loads((tmp_path / "negative_sc.json").read_text()) == []
    assert "attribution" not in w["tables"]


def test_rows_to_arrow_handles_nulls_and_empty():
    t = rows_to_arrow([{"a": None, "b": 1.5}, {"a": "x", "b": float("nan")}])
    assert t.column_names == ["a", "b"] and t.column("a").to_pylist() == [None, "x"]
    assert rows_to_arrow([]).num_columns == 0


def test_training_signals_timeline_joins_the_report(tmp_path):
    res = analyze(_table(), n_boot=50, seed=0)
    signals = [{"step": s, "token_entropy": 1.0 - 0.01 * s, "token_entropy_wrong": 1.2 - 0.01 * s, "kl_base": 0.001 * s,
                "groups_all_wrong": 0.1, "eta": None} for s in range(1, 21)]
    w = write_report(res, tmp_path, signals=signals)
    fig = tmp_path / "signals_timeline.png"
    assert str(fig) in w["figures"] and fig.stat().st_size > 10_000
    assert "signals_timeline.png" in (tmp_path / "report.md").read_text()
    w2 = write_report(res, tmp_path / "none")  # no signals: no timeline
    assert not any(Path(f).name == "signals_timeline.png" for f in w2["figures"])
