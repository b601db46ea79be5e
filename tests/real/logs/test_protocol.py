"""Issue 14: the users' evaluation protocol (greedy vs sampled temperatures, SC gain under both definitions),
the ``temperature`` record field, and difficulty splits (files, calibration, per-split metrics)."""

import itertools
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.bootstrap import bootstrap_weights
from real.logs.analysis import analyze_temperatures, checkpoint_metrics, coverage, protocol_table, split_masks, split_metrics, splits_from_calibration
from real.logs.importers import load_counts, load_counts_by_temperature, load_splits
from real.logs.schema import ImportReport, records_to_counts
from real.logs.table import CountsTable


def rec(ck, pid, i, ans, ok, T=None):
    r = {"checkpoint": ck, "problem_id": pid, "sample_index": i, "answer": ans, "correct": ok}
    if T is not None:
        r["temperature"] = T
    return r


def cell(ck, pid, answers, T, correct="C"):
    return [rec(ck, pid, i, a, a == correct, T) for i, a in enumerate(answers)]


def maj_by_enumeration(answers, k, correct="C"):
    """maj@k of one cell by listing every k-subset (ties split uniformly): the independent reference."""
    total = 0.0
    subsets = list(itertools.combinations(answers, k))
    for s in subsets:
        vals, cnt = np.unique(s, return_counts=True)
        top = vals[cnt == cnt.max()]
        total += (correct in top) / len(top)
    return total / len(subsets)


# ---------------------------------------------------------------------------------------------- the record field
def test_temperature_field_is_validated_naming_file_and_line(tmp_path):
    rows = [rec(0, "a", 0, "1", True, 0.7), rec(0, "a", 1, "1", True, -0.5), rec(0, "a", 2, "1", True, 1.0)]
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for fast in (True, False):
        with pytest.raises(ValueError, match="temperatures"):  # what is left still mixes 0.7 and 1.0
            load_counts(f, fast=fast)
        tables, rep = load_counts_by_temperature(f, fast=fast)
        assert [(r.line, r.reason) for r in rep.rejected] == [
            (2, "wrong value: temperature must be a finite number >= 0 (0 = greedy), got -0.5")]
        assert sorted(tables) == [0.7, 1.0] and rep.rows_read == rep.rows_accepted + rep.n_rejected == 3
    # wrong types and non-finite values, row by row (a string or bool makes the fast path give way)
    bad = [rec(0, "a", 0, "1", True, "hot"), rec(0, "a", 1, "1", True, True), rec(0, "a", 2, "1", True, float("nan")),
           rec(0, "a", 3, "1", True, 0)]
    f2 = tmp_path / "bad.jsonl"
    f2.write_text("".join(json.dumps(r) + "\n" for r in bad))
    _, rep = load_counts_by_temperature(f2)
    assert [r.line for r in rep.rejected] == [1, 2, 3]
    assert "temperature must be a number or null, got 'hot'" in rep.rejected[0].reason
    assert "temperature must be a number or null, got True" in rep.rejected[1].reason
    assert "temperature must be a finite number >= 0 (0 = greedy), got nan" in rep.rejected[2].reason
    # Parquet (vectorized path) and in-memory records (strict: the error names the position)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "r.parquet")
    _, rep = load_counts_by_temperature(tmp_path / "r.parquet")
    assert [(r.line, r.category) for r in rep.rejected] == [(2, "wrong value")]
    with pytest.raises(ValueError, match=r"<records>:2: wrong value: temperature"):
        records_to_counts(rows[:2])


def test_records_of_several_temperatures_group_per_temperature(tmp_path):
    rows = cell(0, "a", "C", 0) + cell(0, "a", "CCX", 1.0) + cell(0, "b", "XXC", 1.0) + cell(0, "a", "CX", None)
    rows.append(rec(0, "a", 1, "Z", False, 1.0))  # a true duplicate within T = 1: rejected naming the first
    f = tmp_path / "r.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"3 sampling temperatures \(T=0 \(greedy\), T=1, T not recorded\)"):
        load_counts(f)
    tables, rep = load_counts_by_temperature(f)
    assert list(tables) == [0.0, 1.0, None]
    assert tables[0.0].n_samples.tolist() == [[1]] and tables[0.0].n_correct.tolist() == [[1]]
    assert tables[1.0].problem_ids == ("a", "b") and tables[1.0].n_correct.tolist() == [[2, 1]]
    assert tables[None].n_samples.tolist() == [[2]]
    assert [r.category for r in rep.rejected] == ["duplicate key"] and rep.rejected[0].line == len(rows)
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected == len(rows)
    # one temperature (or none recorded) loads as before
    g = tmp_path / "one.jsonl"
    g.write_text("".join(json.dumps(r) + "\n" for r in cell(0, "a", "CCX", 0.7)))
    t, _ = load_counts(g)
    assert t.n_samples.tolist() == [[3]]


# ---------------------------------------------------------------------------------------------- protocol table
# greedy and T = 1 samples (n = 3, K = 3) of 2 checkpoints x 3 problems, values by hand below
GREEDY = {(0, "a"): "C", (0, "b"): "X", (0, "c"): "C", (1, "a"): "X", (1, "b"): "X", (1, "c"): "C"}
SAMPLED = {(0, "a"): "CCX", (0, "b"): "CXY", (0, "c"): "XXC", (1, "a"): "CCC", (1, "b"): "XXX", (1, "c"): "CXX"}


def hand_tables():
    rows = []
    for (ck, p), a in GREEDY.items():
        rows += cell(ck, p, a, 0)
    for (ck, p), a in SAMPLED.items():
        rows += cell(ck, p, a, 1.0)
    rep = ImportReport()
    by_t = {}
    for r in rows:
        by_t.setdefault(r["temperature"], []).append(r)
    return {float(t): records_to_counts(rs, rep) for t, rs in by_t.items()}


def test_protocol_table_matches_hand_values_and_paired_bootstrap():
    tables = hand_tables()
    B, seed = 300, 4
    prot = protocol_table(tables, K=3, n_boot=B, seed=seed)
    assert prot["temperatures"] == [1.0] and prot["checkpoints"] == ["0", "1"] and prot["K"] == 3
    W = bootstrap_weights(3, B, seed)  # the same resamples, problems a, b, c in order
    for c in (0, 1):
        g = np.array([float(GREEDY[(c, p)] == "C") for p in "abc"])
        p1 = np.array([SAMPLED[(c, p)].count("C") / 3 for p in "abc"])
        maj = np.array([maj_by_enumeration(SAMPLED[(c, p)], 3) for p in "abc"])
        want = {"greedy": g, "pass_at_1": p1, "maj_at_K": maj, "sc_gain_same": maj - p1, "sc_gain_mixed": maj - g,
                "h0_share": p1 - g}
        row = next(r for r in prot["rows"] if r["checkpoint"] == str(c))
        for q, v in want.items():
            assert row[q] == pytest.approx(v.mean(), abs=1e-12), q
            boot = (W @ v) / W.sum(1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            assert (row[f"{q}_low"], row[f"{q}_high"]) == (pytest.approx(lo, abs=1e-12), pytest.approx(hi, abs=1e-12)), q
        # the identity holds for the estimates and, paired, for every resample: the difference's interval is the H0 share's
        assert row["sc_gain_mixed"] - row["sc_gain_same"] == pytest.approx(row["h0_share"], abs=1e-12)
        diff = (W @ ((maj - g) - (maj - p1))) / W.sum(1)
        assert row["h0_share_low"] == pytest.approx(np.percentile(diff, 2.5), abs=1e-12)
    # by hand: checkpoint 0 has same-T gain 0 and mixed -2/9, checkpoint 1 same -1/9 and mixed 0
    r0, r1 = (next(r for r in prot["rows"] if r["checkpoint"] == c) for c in "01")
    assert (r0["sc_gain_same"], r0["sc_gain_mixed"], r0["h0_share"]) == pytest.approx((0.0, -2 / 9, -2 / 9))
    assert (r1["sc_gain_same"], r1["sc_gain_mixed"], r1["h0_share"]) == pytest.approx((-1 / 9, 0.0, 1 / 9))
    # greedy vs the plurality at T: ck 0 problem b (greedy X, samples tie) parts nowhere; ck 0 c: greedy right, mode wrong
    assert r0["greedy_right_mode_wrong"] == pytest.approx(1 / 3) and r0["greedy_wrong_mode_right"] == 0
    assert r1["greedy_wrong_mode_right"] == pytest.approx(1 / 3)  # problem a: greedy X, samples CCC


def test_negative_counts_under_each_definition():
    # 12 problems; checkpoint 0: greedy right, samples CCXYZ (n = 5, K = 3): same-T gain +0.1, mixed -0.5 on every problem;
    # checkpoint 1: greedy wrong, samples CCCXX: same +0.1, mixed +0.7. Hand maj@3 of CCXYZ: 3/10 + 6/10 x 1/3 = 0.5
    assert maj_by_enumeration("CCXYZ", 3) == pytest.approx(0.5)
    assert maj_by_enumeration("CCCXX", 3) == pytest.approx(0.7)
    rows = []
    for p in range(12):
        rows += cell(0, f"p{p}", "C", 0) + cell(0, f"p{p}", "CCXYZ", 0.6) + cell(1, f"p{p}", "X", 0) + cell(1, f"p{p}", "CCCXX", 0.6)
    tables = {t: records_to_counts([r for r in rows if r["temperature"] == t]) for t in (0, 0.6)}
    tables = {float(t): v for t, v in tables.items()}
    prot = protocol_table(tables, K=3, n_boot=200)
    r0, r1 = prot["rows"]
    assert r0["sc_gain_same"] == pytest.approx(0.1) and r0["sc_gain_mixed"] == pytest.approx(-0.5)
    assert r1["sc_gain_same"] == pytest.approx(0.1) and r1["sc_gain_mixed"] == pytest.approx(0.7)
    assert r0["negative_mixed"] and not r0["negative_same"] and not r1["negative_mixed"]
    (s,) = prot["summary_rows"]
    assert (s["n_checkpoints"], s["negative_same_ci"], s["negative_mixed_ci"], s["negative_mixed_only_ci"]) == (2, 0, 1, 1)
    assert (s["negative_same_point"], s["negative_mixed_point"]) == (0, 1)


def test_protocol_per_split_and_errors():
    tables = hand_tables()
    prot = protocol_table(tables, K=3, n_boot=100, splits={"a": "easy", "b": "hard", "c": "hard"})
    assert prot["splits"] == ["all", "easy", "hard"] and prot["n_per_split"] == [3, 1, 2]
    hard0 = next(r for r in prot["rows"] if r["split"] == "hard" and r["checkpoint"] == "0")
    # problems b, c of checkpoint 0 by hand: same (0 + -1/3)/2, mixed (1/3 - 1)/2
    assert hard0["n_problems"] == 2 and hard0["sc_gain_same"] == pytest.approx(-1 / 6) and hard0["sc_gain_mixed"] == pytest.approx(-1 / 3)
    with pytest.raises(ValueError, match="no greedy"):
        protocol_table({1.0: tables[1.0]})
    with pytest.raises(ValueError, match="no sampled temperature"):
        protocol_table({0.0: tables[0.0]})


def test_analyze_temperatures_primary_and_unchanged_single_table():
    tables = hand_tables()
    res = analyze_temperatures(tables, n_boot=50)
    assert res["temperature"] == 1.0 and res["protocol"]["available"]
    assert {"protocol", "protocol_summary", "protocol_passk"} <= set(res["tables"])
    assert res["checkpoints"] == list(tables[1.0].checkpoints)
    single = analyze_temperatures({None: tables[1.0]}, n_boot=50)
    assert "protocol" not in single and "temperature" not in single and "splits" not in single


# ---------------------------------------------------------------------------------------------- splits
def test_split_masks_and_files(tmp_path):
    names, mask, counts = split_masks(["a", "b", "c"], {"a": "hard", "c": "easy", "zz": "easy"})
    assert names == ["all", "hard", "easy"] and mask.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 1]]
    assert counts == {"unlabelled": 1, "unknown": 1}
    with pytest.raises(ValueError, match="'all' is reserved"):
        split_masks(["a"], {"a": "all"})
    (tmp_path / "s.json").write_text(json.dumps({"a": "easy", "1": "hard"}))
    (tmp_path / "s.csv").write_text("problem_id,split,extra\na,easy,x\n1,hard,y\n")
    (tmp_path / "s.jsonl").write_text('{"problem_id": "a", "prompt": "Q", "split": "easy"}\n\n{"problem_id": 1, "split": "hard"}\n')
    for name in ("s.json", "s.csv", "s.jsonl"):
        assert load_splits(tmp_path / name) == {"a": "easy", "1": "hard"}, name
    (tmp_path / "bad.jsonl").write_text('{"problem_id": "a", "split": "easy"}\n{"problem_id": "b"}\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: field 'split' is missing"):
        load_splits(tmp_path / "bad.jsonl")
    (tmp_path / "twice.csv").write_text("problem_id,split\na,easy\na,hard\n")
    with pytest.raises(ValueError, match=r"twice.csv:3: problem_id 'a' has split 'hard' here but 'easy' at line 2"):
        load_splits(tmp_path / "twice.csv")
    (tmp_path / "nohead.csv").write_text("id,split\na,easy\n")
    with pytest.raises(ValueError, match="lacks field"):
        load_splits(tmp_path / "nohead.csv")
    (tmp_path / "blank.json").write_text(json.dumps({"a": ""}))
    with pytest.raises(ValueError, match="field 'split' must be a non-empty string"):
        load_splits(tmp_path / "blank.json")


def count_table(n, c, pids=None):
    n, c = np.atleast_2d(n), np.atleast_2d(c)
    pids = pids or tuple(f"p{i}" for i in range(n.shape[1]))
    return CountsTable(tuple(str(i) for i in range(n.shape[0])), np.arange(n.shape[0], dtype=float), pids, n, c)


def test_splits_from_calibration_threshold():
    t = count_table([[4, 4, 4, 0]], [[2, 1, 4, 0]])
    assert splits_from_calibration(t) == {"p0": "easy", "p1": "hard", "p2": "easy"}  # 1/2 is easy; p3 has no samples
    assert splits_from_calibration(t, threshold=0.75) == {"p0": "hard", "p1": "hard", "p2": "easy"}
    with pytest.raises(ValueError, match="threshold"):
        splits_from_calibration(t, threshold=1.0)
    with pytest.raises(ValueError, match="not in the calibration table"):
        splits_from_calibration(t, checkpoint="base")


def test_calibrating_on_the_evaluated_samples_biases_the_split():
    """Why the calibration sample must be independent: 'hard' chosen on the evaluated samples themselves holds
    the problems whose samples were unlucky, so their measured pass@1 is below their true mean pass rate."""
    rng = np.random.default_rng(0)
    P, n = 20000, 4
    p = rng.uniform(size=P)
    evaluated = rng.binomial(n, p)
    independent = rng.binomial(n, p)
    bias = {}
    for name, cal in (("same", evaluated), ("independent", independent)):
        splits = splits_from_calibration(count_table(np.full((1, P), n), cal[None]))
        hard = np.array([splits[f"p{i}"] == "hard" for i in range(P)])
        bias[name] = (evaluated[hard] / n).mean() - p[hard].mean()
        se = (evaluated[hard] / n - p[hard]).std() / np.sqrt(hard.sum())
        bias[name + "_se"] = se
    assert bias["same"] < -0.05  # measured pass@1 well below the split's true mean
    assert abs(bias["independent"]) < 4 * bias["independent_se"]


def test_split_metrics_equal_the_metrics_of_each_split_alone():
    rng = np.random.default_rng(1)
    rows = []
    for ck in (0, 10):
        for p in range(12):
            for i in range(6):
                a = "C" if rng.uniform() < 0.25 + 0.05 * p else rng.choice(["X", "Y"])
                rows.append(rec(ck, f"p{p}", i, a, a == "C"))
    t = records_to_counts(rows)
    splits = {f"p{p}": ("easy" if p >= 6 else "hard") for p in range(12)}
    W = bootstrap_weights(12, 200, 0)
    sp = split_metrics(t, splits, K=4, ks=[1, 2, 4], weights=W)
    assert sp["names"] == ["all", "hard", "easy"] and sp["n_per_split"] == [12, 6, 6]
    for name, idx in (("hard", np.arange(6)), ("easy", np.arange(6, 12))):
        sub = t.select(problems=idx)
        m = checkpoint_metrics(sub, [1, 2, 4], weights=W[:, idx])
        np.testing.assert_allclose(sp["metrics"][name]["pass_at_k"]["estimate"], m["pass_at_k"]["estimate"], atol=1e-12)
        np.testing.assert_allclose(sp["metrics"][name]["sc_gain"]["estimate"][:, 0], m["sc_gain"]["estimate"][:, 2], atol=1e-12)
        # the resamples are the overall ones restricted to the split, so the intervals are those of the sub-table too
        np.testing.assert_allclose(sp["metrics"][name]["maj_at_k"]["low"][:, 0], m["maj_at_k"]["low"][:, 2], atol=1e-12)
        cv = coverage(sub, K=4, ks=[1, 2, 4], weights=W[:, idx])
        assert sp["coverage"][name]["best_single"] == cv["best_single"]
        assert [u["excess"] for u in sp["coverage"][name]["unions"]] == pytest.approx([u["excess"] for u in cv["unions"]])
    np.testing.assert_allclose(sp["metrics"]["all"]["pass_at_k"]["estimate"], checkpoint_metrics(t, [1, 2, 4], weights=W)["pass_at_k"]["estimate"])


# ---------------------------------------------------------------------------------------------- CLI and report
def test_analyze_cli_on_several_temperatures_with_splits(tmp_path, capsys):
    from real.__main__ import main

    rows = []
    for p in range(12):
        pid = f"p{p}"
        rows += cell(0, pid, "C" if p % 3 else "X", 0) + cell(0, pid, "CCXYZ" if p < 6 else "CCCXX", 0.7)
        rows += cell(0, pid, "CCXXY", 1.0) + cell(10, pid, "X", 0) + cell(10, pid, "CXXYC", 0.7) + cell(10, pid, "CCCXY", 1.0)
    f = tmp_path / "samples.jsonl"
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sf = tmp_path / "splits.json"
    sf.write_text(json.dumps({f"p{p}": "easy" if p >= 6 else "hard" for p in range(12)}))
    out = tmp_path / "out"
    assert main(["analyze", str(f), "--out", str(out), "--boot", "50", "--K", "5", "--splits", str(sf)]) == 0
    assert "protocol: T=0.7: negative SC gain (CI < 0)" in capsys.readouterr().out
    for name in ("protocol.csv", "protocol.parquet", "protocol_summary.csv", "protocol_passk.csv", "protocol.json", "protocol.png",
                 "split_metrics.csv", "split_coverage.csv", "splits.json", "report.md", "metrics.csv"):
        assert (out / name).is_file(), name
    md = (out / "report.md").read_text()
    assert "## Evaluation protocol: SC gain at one temperature vs against greedy" in md and "## Difficulty splits" in md
    assert "(T=1)" in md.splitlines()[0]  # the primary temperature: the largest sampled one
    doc = json.loads((out / "protocol.json").read_text())
    assert doc["temperatures"] == [0.7, 1.0] and doc["splits"] == ["all", "hard", "easy"]
    summ = json.loads((out / "summary.json").read_text())
    assert summ["temperature"] == 1.0 and len(summ["protocol"]) == 6
    # the calibration file must not be one of the analysed logs
    assert main(["analyze", str(f), "--out", str(tmp_path / "o2"), "--calibration", str(f)]) == 2
    assert "independent sample" in capsys.readouterr().err
