"""``bench real --scale`` pieces: the chunked synthetic log, the table digest, the child-process measurement, and the
whole scale run at a tiny size (the real sizes run in ``python -m experiments bench real --scale [--quick]``)."""

import json

import numpy as np
import pyarrow.parquet as pq
from helpers import check_summary

from experiments import bench_real as B
from experiments.__main__ import main
from real.logs.importers import load_counts
from real.logs.table import CountsTable


def test_write_scale_log_layout_and_law(tmp_path):
    files = B.write_scale_log(tmp_path, 25, 40, 50, seed=3, per_file=10)
    assert [f.name for f in files] == ["0.parquet", "1.parquet", "2.parquet"]
    t = pq.read_table(files[2])
    assert t.num_rows == 5 * 40 * 50 and str(t.schema.field("answer").type) == "string"  # plain strings on reading
    assert sorted(set(t.column("checkpoint").to_pylist())) == [200, 210, 220, 230, 240]
    table, rep = load_counts(files)
    assert rep.rows_read == 25 * 40 * 50 and rep.n_rejected == 0 and table.shape == (25, 40)
    assert (table.n_samples == 50).all()
    null = table.n_null.sum() / table.n_samples.sum()
    assert abs(null - 0.02) < 4 * np.sqrt(0.02 * 0.98 / 50_000)  # 2% unparsed
    # P(correct) = (1 - 0.02) E[p] with p ~ Beta(2, 2): 0.49; per-cell p varies, so a loose band
    assert abs(table.n_correct.sum() / table.n_samples.sum() - 0.49) < 0.03
    again = tmp_path / "again"
    again.mkdir()
    B.write_scale_log(again, 25, 40, 50, seed=3)
    assert B.table_digest(load_counts(again)[0]) == B.table_digest(table)  # deterministic given the seed


def test_table_digest_sees_every_field():
    def table(**kw):
        args = dict(checkpoints=("0", "10"), steps=[0.0, 10.0], problem_ids=("a",), n_samples=[[3], [2]],
                    n_correct=[[1], [0]], answer_counts=[[[1, 2]], [[0, 2]]], n_null=[[0], [0]],
                    wrong_answers=np.array([[["x"]], [["y"]]], dtype=object))
        args.update(kw)
        return CountsTable(**{k: np.asarray(v) if k in ("n_samples", "n_correct", "answer_counts", "n_null") else v
                              for k, v in args.items()})

    base = B.table_digest(table())
    assert B.table_digest(table()) == base
    for change in (dict(checkpoints=("0", "20")), dict(steps=[0.0, 20.0]), dict(problem_ids=("b",)),
                   dict(wrong_answers=np.array([[["x"]], [["z"]]], dtype=object)),
                   dict(n_samples=[[3], [3]], n_null=[[0], [1]])):
        assert B.table_digest(table(**change)) != base, change


def test_scale_run_tiny(tmp_path, monkeypatch, capsys):
    """The whole scale run (generation, the in-memory and streaming children, analyses, claims) on a tiny log:
    quick shape 3 x 30 x 8 in files of 2 checkpoints, compared on the first 2 checkpoints; and the CLI flag."""
    monkeypatch.setitem(B.SCALE_SHAPE, True, (3, 30, 8))
    monkeypatch.setattr(B, "CHECKPOINTS_PER_FILE", 2)
    monkeypatch.setattr(B, "COMPARE_CHECKPOINTS", 2)
    monkeypatch.setattr("common.results.RESULTS_DIR", tmp_path)
    monkeypatch.setattr("experiments.__main__.RESULTS_DIR", tmp_path)
    code = main(["bench", "real", "--scale", "--quick"])
    out = capsys.readouterr().out
    s = check_summary(tmp_path / B.SCALE_NAME / "summary.json", B.SCALE_NAME)
    assert code == (0 if all(c["holds"] for c in s["claims"]) else 1)
    t = s["timings"]
    assert s["records"] == 720 and s["compare_records"] == 2 * 30 * 8
    assert t["memory"]["digest"] == t["stream_compare"]["digest"] and s["claims"][1]["holds"]
    big = t["stream_scale"]
    assert big["rows_read"] == 720 and big["rss_total"] >= big["rss_import"] >= big["rss_baseline"] > 0
    assert big["analyze_s"] > 0 and "checkpoint_metrics" in big["analyze_timings_s"]
    assert "stream_counts" in out and json.dumps(s)
    assert main(["bench", "theory", "--scale"]) == 2  # only bench real has a scale mode
