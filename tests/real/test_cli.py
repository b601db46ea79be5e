"""`python -m real analyze` end to end: import report, tables, figures and a report naming flagged checkpoints."""

import json

import pyarrow.parquet as pq
import pytest

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


def test_analyze_stream_gives_the_same_metrics(tmp_path):
    # --stream (real.logs.streaming) reads the same records batch by batch: the same metrics table and import report
    rows = [{"checkpoint": ck, "problem_id": f"q{p}", "sample_index": i, "answer": a, "correct": a == "A"}
            for ck, answers in ((0, "AAABCD"), (10, "AABBBC")) for p in range(4) for i, a in enumerate(answers)]
    f = tmp_path / "logs.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n" + json.dumps({**rows[0], "answer": "Z"}) + "\n")  # one duplicate
    outs = {}
    for mode in ("memory", "stream"):
        outs[mode] = tmp_path / mode
        assert main(["analyze", str(f), "--out", str(outs[mode]), "--boot", "50", "--K", "5"] + (["--stream"] if mode == "stream" else [])) == 0
    a, b = (pq.read_table(outs[m] / "metrics.parquet").to_pylist() for m in ("memory", "stream"))
    assert a == b and len(a) > 0
    ra, rb = (json.loads((outs[m] / "import_report.json").read_text()) for m in ("memory", "stream"))
    assert ra["rows_read"] == rb["rows_read"] == len(rows) + 1 and ra["rows_rejected"] == rb["rows_rejected"] == 1
    assert "not computed with --stream" in (outs["stream"] / "report.md").read_text()


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



def test_evaluate_temperatures_protocol(tmp_path, capsys, monkeypatch):
    """``evaluate --temperatures 0,0.7,1``: greedy with one sample per problem, each sampled T with --n samples from its
    own seed (the first sampled T the seed a single --temperature run uses, so it draws the same), every record with its
    temperature, and analyze groups them. A stand-in sampler (answers drawn from the request's seed) records the requests."""
    import numpy as np

    import real.lab.evaluate as ev
    from real.lab.samplers.interface import Completion
    from real.logs.importers import load_counts_by_temperature

    requests = []

    class Stub:
        def generate(self, req):
            requests.append((req.temperature, req.n, req.seed))
            rng = np.random.default_rng(req.seed)
            return [[Completion(f"#### {int(rng.integers(0, 3))}", (1,), (-0.5,)) for _ in range(req.n)] for _ in req.prompts]

    monkeypatch.setattr(ev, "make_sampler", lambda kind, folder, reuse=None: Stub())
    (tmp_path / "ck").mkdir()
    pf = tmp_path / "problems.jsonl"
    pf.write_text("".join(json.dumps({"problem_id": f"q{i}", "prompt": "Q", "gold": i % 3}) + "\n" for i in range(3)))
    base = ["evaluate", "--model", f"m={tmp_path / 'ck'}", "--problems", str(pf), "--sampler", "jax", "--n", "4", "--seed", "5"]
    out = tmp_path / "proto.jsonl"
    assert main(base + ["--out", str(out), "--temperatures", "0,0.7,1"]) == 0
    assert requests == [(0.0, 1, 5), (0.7, 4, 5), (1.0, 4, 5 + ev.TEMPERATURE_SEED_STRIDE)]
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    by_t = {}
    for r in recs:
        by_t.setdefault(r["temperature"], []).append(r)
    assert {t: len(v) for t, v in by_t.items()} == {0.0: 3, 0.7: 12, 1.0: 12}
    single = tmp_path / "single.jsonl"
    assert main(base + ["--out", str(single), "--temperature", "0.7"]) == 0
    one = [json.loads(x) for x in single.read_text().splitlines()]
    assert one == by_t[0.7]  # same seed, same draws, same records (temperature included)
    tables, report = load_counts_by_temperature(out)
    assert sorted(tables) == [0.0, 0.7, 1.0] and report.n_rejected == 0 and tables[0.7].n_samples.tolist() == [[4, 4, 4]]
    assert main(base + ["--out", str(tmp_path / "x.jsonl"), "--temperature", "1", "--temperatures", "0,1"]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert main(base + ["--out", str(tmp_path / "x.jsonl"), "--temperatures", "0.7,0.7"]) == 2
    assert "listed twice" in capsys.readouterr().err


def test_predict_passk_cli_json_csv_and_bad_input(tmp_path, capsys):
    import csv

    rows = [{"checkpoint": ck, "problem_id": f"q{p}", "sample_index": i, "answer": "1" if i < p + ck else "2", "correct": i < p + ck}
            for ck in (0, 1) for p in range(5) for i in range(8)]
    f = tmp_path / "s.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "p.json"
    assert main(["predict-passk", "--samples", str(f), "--k", "1,10,1000", "--out", str(out), "--boot", "10"]) == 0
    doc = json.loads(out.read_text())
    assert doc["model"] == "pooled" and doc["ks"] == [1, 10, 1000] and set(doc["checkpoints"]) == {"0", "1"}
    e = doc["checkpoints"]["0"]
    assert e["n_problems"] == 5 and e["problems"]["n_correct"] == [0, 1, 2, 3, 4]
    assert e["params"]["alpha"] == doc["checkpoints"]["1"]["params"]["alpha"]  # the pooled shape
    # pass@1 is the posterior mean of p: (α + c)/(α + β + n), averaged over problems
    a, b = e["params"]["alpha"], e["params"]["beta"]
    assert e["dataset"]["1"]["estimate"] == pytest.approx(sum((a + c) / (a + b + 8) for c in range(5)) / 5)
    assert e["dataset"]["1000"]["low"] <= e["dataset"]["1000"]["estimate"] <= e["dataset"]["1000"]["high"]
    out_csv = tmp_path / "p.csv"
    assert main(["predict-passk", "--samples", str(f), "--k", "1,10", "--out", str(out_csv), "--model", "zero_inflated", "--boot", "5"]) == 0
    table = list(csv.DictReader(out_csv.open()))
    assert {r["level"] for r in table} == {"dataset", "problem"} and len(table) == 2 * 2 + 2 * 2 * 5
    assert main(["predict-passk", "--samples", str(f), "--k", "3", "--boot", "0"]) == 0  # JSON on stdout
    assert json.loads(capsys.readouterr().out)["checkpoints"]["1"]["dataset"]["3"]["low"] is not None
    # bad input: a record with a bad field is rejected and named; all rejected -> exit 2 naming the file and line
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"checkpoint": 1, "problem_id": "a", "sample_index": -1, "answer": "1", "correct": true}\n')
    assert main(["predict-passk", "--samples", str(bad), "--k", "5"]) == 2
    assert "bad.jsonl:1: negative sample_index" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --k must be integers >= 1 (argparse names the option)
        main(["predict-passk", "--samples", str(f), "--k", "0"])
    assert "--k" in capsys.readouterr().err


def test_analyze_writes_stability_groups_and_lengths(tmp_path):
    # 2 checkpoints x 4 problems x 4 samples; problem q_i has i + 1 correct at checkpoint 0 and 4 - i at checkpoint 10
    rows = []
    for ck in (0, 10):
        for p in range(4):
            c = p + 1 if ck == 0 else 4 - p
            for i in range(4):
                ok = i < c
                rows.append({"checkpoint": ck, "problem_id": f"q{p}", "sample_index": i, "answer": "A" if ok else "B", "correct": ok,
                             "text": "x" * (10 if ok else 30), "n_tokens": 5 if ok else 16})
    f = tmp_path / "logs.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({"q0": "gsm8k", "q1": "gsm8k", "q2": "math", "q3": "math"}))
    out = tmp_path / "out"
    assert main(["analyze", str(f), "--out", str(out), "--boot", "50", "--K", "3", "--groups", str(groups), "--max-tokens", "16"]) == 0
    stab = pq.read_table(out / "stability.parquet").to_pylist()
    # pass^4 (all 4 correct): only the problem with c = 4, so 1/4 at each checkpoint
    got = [r for r in stab if r["metric"] == "pass_hat_k" and r["k"] == 4]
    assert len(got) == 2 and all(abs(r["estimate"] - 0.25) < 1e-12 for r in got)
    # pass^2 by hand: mean over problems of C(c, 2)/C(4, 2) with c = 1..4: (0 + 1 + 3 + 6)/6/4
    got = [r for r in stab if r["metric"] == "pass_hat_k" and r["k"] == 2]
    assert len(got) == 2 and all(abs(r["estimate"] - 10 / 24) < 1e-12 for r in got)
    grp = pq.read_table(out / "group_metrics.parquet").to_pylist()
    # pass@1 per group at checkpoint 0: gsm8k (q0, q1) = (1 + 2)/8, math (q2, q3) = (3 + 4)/8
    p1 = {r["group"]: r["estimate"] for r in grp if r["metric"] == "pass_at_1" and str(r["checkpoint"]) == "0"}
    assert abs(p1["gsm8k"] - 3 / 8) < 1e-12 and abs(p1["math"] - 7 / 8) < 1e-12
    lengths = pq.read_table(out / "lengths.parquet").to_pylist()
    chars = {(str(r["checkpoint"]), r["class"]): r["estimate"] for r in lengths if r["quantity"] == "chars"}
    assert chars[("0", "correct")] == 10 and chars[("0", "wrong")] == 30
    trunc = {(str(r["checkpoint"]), r["class"]): r["estimate"] for r in lengths if r["quantity"] == "truncated"}
    assert trunc[("0", "wrong")] == 1 and trunc[("0", "correct")] == 0  # n_tokens 16 >= --max-tokens 16
    md = (out / "report.md").read_text()
    assert "## Stability: pass^k, G-Pass@k, mG-Pass@k" in md and "## Metrics per problem group" in md
    assert "## Response length and truncation, correct vs wrong samples" in md and "Tie policy of maj@k" in md
    # the group table shows each group's pass@1 at checkpoint 0 (3/8 and 7/8) and pass^3 of checkpoint 0, (0 + 0 + 1 + 4)/4 / 4
    assert "0.375 [" in md and "0.875 [" in md and "0.312 [" in md
