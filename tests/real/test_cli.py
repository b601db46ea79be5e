"""`python -m real analyze` end to end: import report, tables, figures and a report naming flagged checkpoints."""

import json

import pyarrow.parquet as pq

from real.__main__ import main


def test_analyze_cli_end_to_end(tmp_path):
    # checkpoint 0: correct answer leads with scattered errors; checkpoint 10: a wrong answer overtakes
    rows = []
    for ck, answers in ((0, "AAABCD"), (10, "AABBBC")):
        for p in range(5):
            for i, a in enumerate(answers):
                rows.append({"checkpoint": ck, "problem_id": f"q{p}", "sample_index": i, "answer": a, "correct": a == "A"})
    rows.append({"checkpoint": 0, "problem_id": "q0", "sample_index": 0, "answer": "Z", "correct": False})  # duplicate
    f = tmp_path / "logs.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n" + "{broken\n")
    out = tmp_path / "out"
    assert main(["analyze", str(f), "--out", str(out), "--boot", "100", "--K", "5"]) == 0
    for name in ("metrics.parquet", "metrics.csv", "attribution.csv", "negative_sc.json", "coverage.json", "jaccard.csv",
                 "passk_curves.png", "sc_gain.png", "jaccard.png", "retention.png", "report.md", "report.html", "import_report.json"):
        assert (out / name).is_file(), name
    t = pq.read_table(out / "metrics.parquet")
    assert t.column_names == ["checkpoint", "step", "metric", "k", "estimate", "low", "high", "n_problems"]
    assert set(t.column("metric").to_pylist()) == {"pass_at_k", "maj_at_k", "sc_gain"}
    neg = json.loads((out / "negative_sc.json").read_text())
    assert [d["checkpoint"] for d in neg] == ["10"]
    md = (out / "report.md").read_text()
    assert "## Negative self-consistency checkpoints" in md and "**10**" in md
    assert "rows rejected: 2" in md
    rep = json.loads((out / "import_report.json").read_text())
    assert rep["rows_rejected"] == 2 and rep["rows_read"] == len(rows) + 1
    assert "<table" in (out / "report.html").read_text()


def test_cli_errors_are_reported(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    # every row rejected: exit 2, the error names the first rejections, and the report is still written
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"checkpoint": 1, "problem_id": "a", "sample_index": -1, "answer": "1", "correct": true}\n{oops\n')
    assert main(["analyze", str(bad), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "2 read, all rejected" in err and "bad.jsonl:1: negative sample_index" in err
    rep = json.loads((tmp_path / "o2" / "import_report.json").read_text())
    assert rep["rows_read"] == 2 and rep["rows_rejected"] == 2 and rep["rows_accepted"] == 0
