"""Importers: every format into a CountsTable, every malformed case reported with file, line and reason.

Expected tables are written by hand from the format rules (the docstrings of real.logs.schema, real.logs.importers
and the real.logs.formats modules), or computed by the plain-Python reference ``reference_table`` below (dicts and
Counters, no NumPy grouping), never by the code under test.
"""

import csv
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from helpers import SHARED_DATA as SHARED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real.logs.importers import detect_format, load_counts
from real.logs.schema import ImportReport, NoRecordsError, records_to_counts


def write_jsonl(path, objs, raw_lines=()):
    lines = [json.dumps(o).encode() for o in objs] + list(raw_lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def rec(ck, pid, i, ans, ok, **kw):
    return {"checkpoint": ck, "problem_id": pid, "sample_index": i, "answer": ans, "correct": ok, **kw}


def cell(table, ck, pid):
    """(n_correct, {wrong answer: count}, n_null, n_samples) of one cell, read from the table."""
    c, p = table.checkpoints.index(str(ck)), table.problem_ids.index(str(pid))
    wrong = {a: int(n) for a, n in zip(table.wrong_answers[c, p], table.answer_counts[c, p, 1:]) if a is not None}
    assert sum(wrong.values()) == int(table.answer_counts[c, p, 1:].sum())  # no count without its string
    return int(table.answer_counts[c, p, 0]), wrong, int(table.n_null[c, p]), int(table.n_samples[c, p])


def reasons(rep):
    return {(Path(r.file).name, r.line): r.reason for r in rep.rejected}


def assert_adds_up(rep):
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected
    json.dumps(rep.to_dict())  # JSON-ready


# ------------------------------------------------------------------------------------------ sample records
def test_records_jsonl_hand_case(tmp_path):
    f = write_jsonl(tmp_path / "s.jsonl", [
        rec(20, "a", 0, "1", True, gold="1"), rec(20, "a", 1, "7", False), rec(20, "a", 2, "7", False),
        rec(20, "a", 3, None, False), rec(20, "a", 4, "8", False), rec(10, "a", 0, "9", False), rec(10, "b", 0, "2", True),
        rec(20, "a", 5, "10", False), rec(20, "a", 6, "10", False)])
    for fast in (True, False):
        t, rep = load_counts(f, fast=fast)
        assert t.checkpoints == ("10", "20") and list(t.steps) == [10.0, 20.0]  # numeric labels ordered by step
        assert t.problem_ids == ("a", "b")  # first appearance
        assert cell(t, 20, "a") == (1, {"7": 2, "10": 2, "8": 1}, 1, 7)
        # slots: correct, then wrong largest first, ties by string ("10" < "7")
        assert t.answer_counts[1, 0].tolist() == [1, 2, 2, 1] and t.wrong_answers[1, 0].tolist() == ["10", "7", "8"]
        assert cell(t, 10, "a") == (0, {"9": 1}, 0, 1) and cell(t, 10, "b") == (1, {}, 0, 1)
        assert cell(t, 20, "b") == (0, {}, 0, 0)  # not evaluated at step 20
        assert t.wrong_answers[0, 1].tolist() == [None, None, None]
        assert rep.rows_read == 9 and rep.rows_accepted == 9 and rep.n_rejected == 0
        assert_adds_up(rep)


def test_malformed_rows_are_reported_not_dropped(tmp_path):
    f = write_jsonl(tmp_path / "bad.jsonl", [
        rec(1, "a", 0, "1", True, gold="1"),          # 1 rejected later: answer "1" also marked incorrect (line 7)
        {"checkpoint": 1, "problem_id": "a"},         # 2 missing fields
        rec(1, "a", "x", "1", True),                  # 3 wrong type sample_index
        rec(1, "a", 1, "1", "yes"),                   # 4 wrong type correct
        rec(1, "a", 0, "2", False),                   # 5 duplicate key of line 1
        rec(1, "a", 2, "3", False, gold="4"),         # 6 inconsistent gold
        rec(1, "a", 3, "1", False),                   # 7 inconsistent correctness with line 1
        rec(1, "a", -1, "1", True),                   # 8 negative index
        rec(1, "a", 4, None, True),                   # 9 null answer marked correct
        rec(1, "a", 5, "6", False),                   # 10 ok
        rec(1, "b", 0, 2.5, False),                   # 11 wrong type answer
        rec(1, "b", 1, "5", False),                   # 12 ok
        rec(1, "b", 2, "5", False, n_tokens="many"),  # 13 wrong type of an optional field
        rec("", "b", 3, "5", False),                  # 14 empty checkpoint label
    ], raw_lines=[b'{"checkpoint": 1, "problem_id": "a", "sample_index": 9, "answer": "\xff\xfe", "correct": false}',  # 15
                  b'{not json',                      # 16 invalid JSON
                  b'',                               # 17 blank: not a row
                  b'[1, 2]'])                        # 18 not an object
    for fast in (True, False):
        t, rep = load_counts(f, fast=fast)
        by_line = {line: why for (_, line), why in reasons(rep).items()}
        assert set(by_line) == {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 15, 16, 18}, by_line
        assert by_line[2] == "missing field: sample_index, answer, correct"
        assert by_line[3] == "wrong type: sample_index must be an integer, got 'x'"
        assert by_line[4] == "wrong type: correct must be true/false, got 'yes'"
        assert by_line[5].startswith("duplicate key: (checkpoint '1', problem_id 'a', sample_index 0)") and by_line[5].endswith("bad.jsonl:1")
        assert by_line[6].startswith("inconsistent gold: problem_id 'a' has gold '4' here, but '1' first at") and "bad.jsonl:1" in by_line[6]
        for line in (1, 7):  # the same answer marked both ways: neither verdict is trusted
            assert by_line[line].startswith("inconsistent correctness: answer '1'") and "correct on 1 row(s) and incorrect on 1" in by_line[line]
        assert by_line[8] == "negative sample_index: -1"
        assert by_line[9] == "inconsistent correctness: answer is null but correct is true"
        assert by_line[11] == "wrong type: answer must be a string or null, got 2.5"
        assert by_line[13] == "wrong type: n_tokens must be a number or null, got 'many'"
        assert by_line[14] == "wrong type: checkpoint must be an int or non-empty string, got ''"
        assert by_line[15] == "invalid UTF-8: byte 0xff at column 68"  # after the 67 bytes of {"checkpoint": ... "answer": "
        assert by_line[16].startswith("invalid JSON") and by_line[18] == "not an object: got list"
        assert all(r.file == str(f) for r in rep.rejected)
        assert [r.line for r in rep.rejected] == sorted(by_line)  # sorted by line
        assert rep.rows_read == 17 and rep.rows_accepted == 2 and rep.n_rejected == 15
        assert_adds_up(rep)
        assert t.problem_ids == ("a", "b")
        assert cell(t, 1, "a") == (0, {"6": 1}, 0, 1) and cell(t, 1, "b") == (0, {"5": 1}, 0, 1)
        d = rep.to_dict()
        assert d["rows_rejected"] == 15 and d["rejections_by_reason"] == {
            "inconsistent correctness": 3, "missing field": 1, "wrong type": 5, "duplicate key": 1, "inconsistent gold": 1,
            "negative sample_index": 1, "invalid UTF-8": 1, "invalid JSON": 1, "not an object": 1}
        assert rep.counts_by_reason == d["rejections_by_reason"] and rep.rejections is rep.rejected
        assert "17 rows read, 2 accepted, 15 rejected" in rep.summary()


def test_two_different_answers_marked_correct_and_equivalence(tmp_path):
    from real.logs.answers import AnswerEquivalence

    rows = [rec(0, "p", 0, "0.5", True, gold="1/2"), rec(0, "p", 1, "1/2", True), rec(0, "p", 2, "3", False),
            rec(0, "q", 0, "2", True), rec(0, "q", 1, "4", False)]
    f = write_jsonl(tmp_path / "eq.jsonl", rows)
    # the verifier's verdict is authoritative: both strings marked correct vote together in slot 0
    for fast in (True, False):
        t, rep = load_counts(f, fast=fast)
        assert rep.n_rejected == 0 and cell(t, 0, "p") == (2, {"3": 1}, 0, 3) and cell(t, 0, "q") == (1, {"4": 1}, 0, 2)
    with AnswerEquivalence(use_math_verify=False) as eq:
        t, rep = load_counts(f, equivalence=eq)
    assert rep.n_rejected == 0 and cell(t, 0, "p") == (2, {"3": 1}, 0, 3)


def test_missing_answer_field_vs_null_answer_fast_path(tmp_path):
    rows = [rec(0, "a", i, None if i % 3 == 0 else str(i % 2), i % 3 != 0 and i % 2 == 1) for i in range(12)]
    del rows[4]["answer"]  # line 5: missing, not null
    f = write_jsonl(tmp_path / "m.jsonl", rows)
    fast, rep_f = load_counts(f)
    slow, rep_s = load_counts(f, fast=False)
    assert [(r.line, r.reason) for r in rep_f.rejected] == [(5, "missing field: answer")] == [(r.line, r.reason) for r in rep_s.rejected]
    # i = 0..11 without 4: null for 0, 3, 6, 9; "1" correct for 1, 5, 7, 11; "0" wrong for 2, 8, 10
    assert cell(fast, 0, "a") == cell(slow, 0, "a") == (4, {"0": 3}, 4, 11)


def test_jsonl_fast_path_rechecks_suspicious_rows(tmp_path):
    from real.logs.formats.records import jsonl_fast

    f = write_jsonl(tmp_path / "s.jsonl", [
        rec("s1", "a", 0, "1", True),
        rec("s1", "a", -3, "2", False),                                                  # 2
        rec("s1", " ", 0, "2", False),                                                   # 3 blank problem_id
        rec("s1", "a", 1, None, True),                                                   # 4
        {"checkpoint": "s1", "problem_id": "a", "sample_index": 2, "correct": False},     # 5 no answer
        rec("s1", "a", 3, None, False),
        rec(None, "a", 4, "3", False),                                                   # 7
        {"problem_id": "a", "sample_index": 5, "answer": "3", "correct": False},         # 8 no checkpoint
        rec("s1", "a", 6, "3", False)])
    assert jsonl_fast(f, f.read_bytes(), ImportReport(), None) is not None  # consistent types: the Arrow path
    expected = {2: "negative sample_index: -3",
                3: "wrong type: problem_id must be an int or non-empty string, got ' '",
                4: "inconsistent correctness: answer is null but correct is true",
                5: "missing field: answer",
                7: "wrong type: checkpoint must be an int or non-empty string, got None",
                8: "missing field: checkpoint"}
    for fast in (True, False):
        t, rep = load_counts(f, fast=fast)
        assert {r.line: r.reason for r in rep.rejected} == expected
        assert cell(t, "s1", "a") == (1, {"3": 1}, 1, 3) and t.checkpoints == ("s1",) and np.isnan(t.steps[0])
        assert_adds_up(rep)


def test_parquet_fast_path_equals_jsonl(tmp_path):
    rng = np.random.default_rng(0)
    rows = [rec(int(c), f"p{p}", i, None if r < 0.05 else str(int(r * 5)), bool(r >= 0.05 and int(r * 5) == 0), run="r1")
            for c in (5, 0) for p in range(6) for i, r in enumerate(rng.random(8))]
    rows.append(rec(5, "p0", -2, "1", False, run="r1"))  # rejected: negative index
    jl, rep_j = load_counts(write_jsonl(tmp_path / "a.jsonl", rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    pt, rep = load_counts(tmp_path / "a.parquet")
    assert pt.checkpoints == jl.checkpoints == ("0", "5") and pt.problem_ids == jl.problem_ids
    np.testing.assert_array_equal(pt.answer_counts, jl.answer_counts)
    np.testing.assert_array_equal(pt.n_null, jl.n_null)
    assert [(r.line, r.reason) for r in rep.rejected] == [(len(rows), "negative sample_index: -2")] == [(r.line, r.reason) for r in rep_j.rejected]
    assert rep.rows_read == len(rows)
    # a hand-checkable cell: count the answers of (5, p0) in the generated rows directly
    mine = [r for r in rows[:-1] if r["checkpoint"] == 5 and r["problem_id"] == "p0"]
    ok = sum(r["correct"] for r in mine)
    nulls = sum(r["answer"] is None for r in mine)
    assert cell(pt, 5, "p0")[0] == ok and cell(pt, 5, "p0")[2] == nulls and cell(pt, 5, "p0")[3] == 8


def test_parquet_nulls_wrong_types_missing_columns_and_mapping(tmp_path):
    t = pa.table({"checkpoint": pa.array([1, 1, None, 1]), "problem_id": pa.array(["a", "a", "a", "b"]),
                  "sample_index": pa.array([0, 1, 2, None], pa.int64()), "answer": pa.array(["x", None, "x", "y"]),
                  "correct": pa.array([True, None, True, False])})
    pq.write_table(t, tmp_path / "n.parquet")
    tab, rep = load_counts(tmp_path / "n.parquet")
    assert reasons(rep) == {("n.parquet", 2): "wrong type: correct must be true/false, got None",
                            ("n.parquet", 3): "wrong type: checkpoint must be an int or non-empty string, got None",
                            ("n.parquet", 4): "wrong type: sample_index must be an integer, got None"}
    assert cell(tab, 1, "a") == (1, {}, 0, 1) and tab.problem_ids == ("a",)
    # a string sample_index column: the row-by-row path names every row
    bad = pa.table({"checkpoint": [1, 1], "problem_id": ["a", "a"], "sample_index": ["0", "1"], "answer": ["x", "y"], "correct": [True, False]})
    pq.write_table(bad, tmp_path / "b.parquet")
    with pytest.raises(NoRecordsError, match="no valid rows") as e:
        load_counts(tmp_path / "b.parquet")
    assert [(r.line, r.reason) for r in e.value.report.rejected] == [
        (1, "wrong type: sample_index must be an integer, got '0'"), (2, "wrong type: sample_index must be an integer, got '1'")]
    # their column names, with a mapping; a missing column rejects every row, naming it
    theirs = pa.table({"step": [3, 3], "qid": [7, 7], "k": [0, 1], "pred": ["4", "5"], "ok": [True, False]})
    pq.write_table(theirs, tmp_path / "g.parquet")
    m = {"checkpoint": "step", "problem_id": "qid", "sample_index": "k", "answer": "pred", "correct": "ok"}
    assert detect_format(tmp_path / "g.parquet", m) == "generic"
    tab, rep = load_counts(tmp_path / "g.parquet", mapping=m)
    assert cell(tab, 3, 7) == (1, {"5": 1}, 0, 2) and rep.n_rejected == 0
    with pytest.raises(NoRecordsError) as e:
        load_counts(tmp_path / "g.parquet", format="generic", mapping={**m, "correct": "nope"})
    assert [r.reason for r in e.value.report.rejected] == ["missing field: correct"] * 2


def test_huge_sample_index_and_in_memory_records():
    rows = [rec(0, "a", 2**61, "1", True), rec(0, "b", 0, "2", False), rec(0, "a", 2**61, "3", False), rec(0, "a", 0, None, False)]
    rep = ImportReport(files=["<records>"])
    t = records_to_counts(rows, rep)
    assert [(r.line, r.reason.split(":")[0]) for r in rep.rejected] == [(3, "duplicate key")]
    assert cell(t, 0, "a") == (1, {}, 1, 2) and cell(t, 0, "b") == (0, {"2": 1}, 0, 1)
    assert rep.rows_read == 4 and rep.rows_accepted == 3
    with pytest.raises(ValueError, match="1 rejected row"):
        records_to_counts(rows)  # without a report, a rejected row is an error, not a silent drop
    t2 = records_to_counts(pa.Table.from_pylist(rows[:2] + rows[3:]))
    assert cell(t2, 0, "a") == (1, {}, 1, 2)


def test_empty_inputs(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    (tmp_path / "blank.jsonl").write_bytes(b"\n  \n")
    (tmp_path / "header.csv").write_text("checkpoint,problem_id,sample_index,answer,correct\n")
    pq.write_table(pa.table({"checkpoint": pa.array([], pa.int64())}), tmp_path / "zero.parquet")
    empties = [tmp_path / n for n in ("empty.jsonl", "blank.jsonl", "header.csv", "zero.parquet")]
    with pytest.raises(ValueError, match="every input file is empty") as e:
        load_counts(empties)
    assert all(str(p) in str(e.value) for p in empties)
    write_jsonl(tmp_path / "ok.jsonl", [rec(1, "a", 0, "1", True)])
    t, rep = load_counts(empties + [tmp_path / "ok.jsonl"])
    assert t.shape == (1, 1) and rep.empty_files == [str(p) for p in empties]
    assert sum("empty file" in n for n in rep.notes) == 4
    write_jsonl(tmp_path / "allbad.jsonl", [{"x": 1}])
    with pytest.raises(ValueError, match="cannot tell the format"):
        load_counts(tmp_path / "allbad.jsonl")
    with pytest.raises(NoRecordsError, match="no valid rows") as e:
        load_counts(tmp_path / "allbad.jsonl", format="records")
    assert e.value.report.rejected[0].reason == "missing field: checkpoint, problem_id, sample_index, answer, correct"
    with pytest.raises(FileNotFoundError):
        load_counts(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="format"):
        load_counts(tmp_path / "ok.jsonl", format="xml")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="junk.parquet: not a readable Parquet file"):
        load_counts(tmp_path / "junk.parquet")
    write_jsonl(tmp_path / "c.jsonl", [{"problem_id": 1, "gold": "1", "answer_counts": {"1": 1}}])
    with pytest.raises(ValueError, match="mix levels"):
        load_counts([tmp_path / "ok.jsonl", tmp_path / "c.jsonl"])


def test_runs_and_checkpoint_order(tmp_path):
    f = write_jsonl(tmp_path / "r.jsonl", [rec(20, "a", 0, "1", True, run="y"), rec(5, "a", 0, "2", False, run="x"),
                                           rec(1, "a", 0, "2", False, run="y"), rec(7, "a", 0, "1", True)])
    t, _ = load_counts(f)
    # rows without a run first, then runs in first-appearance order (y, x), each by step
    assert t.checkpoints == ("7", "y/1", "y/20", "x/5") and list(t.steps) == [7, 1, 20, 5]
    g = write_jsonl(tmp_path / "names.jsonl", [rec("late", "a", 0, "1", True), rec("early", "a", 0, "1", True), rec(3, "a", 0, "1", True)])
    t, _ = load_counts(g)
    assert t.checkpoints == ("late", "early", "3") and np.isnan(t.steps[:2]).all() and t.steps[2] == 3


def test_generic_csv_with_mapping(tmp_path):
    f = tmp_path / "g.csv"
    f.write_bytes(b'step,qid,k,pred,is_correct,text\n'
                  b'3,q1,0,5,true,"two\nlines"\n'    # record at line 2 spans lines 2-3
                  b'3,q1,1,6,FALSE,x\n'              # line 4
                  b'3,q1,2,,0,x\n'                   # line 5: empty answer = null
                  b'3,q2,0,1,maybe,x\n'              # line 6: bad correct
                  b'3,q2,1,1,1,\xff\n'               # line 7: bad UTF-8
                  b'3,q2,2,1\n'                      # line 8: too few values
                  b'3,q2,x,1,1,x\n')                 # line 9: bad sample_index
    m = {"checkpoint": "step", "problem_id": "qid", "sample_index": "k", "answer": "pred", "correct": "is_correct"}
    assert detect_format(f, m) == "generic"
    t, rep = load_counts(f, mapping=m)
    assert cell(t, 3, "q1") == (1, {"6": 1}, 1, 3) and t.problem_ids == ("q1",)
    assert reasons(rep) == {("g.csv", 6): "wrong type: correct must be true/false, got 'maybe'",
                            ("g.csv", 7): "invalid UTF-8: byte 0xff at column 12",
                            ("g.csv", 8): "wrong column count: 4 values for 6 columns",
                            ("g.csv", 9): "wrong type: sample_index must be an integer, got 'x'"}
    assert rep.rows_read == 7
    assert_adds_up(rep)
    # the same mapping on JSON lines (Arrow path and line-by-line path)
    j = write_jsonl(tmp_path / "g.jsonl", [{"step": 3, "qid": "q1", "k": 0, "pred": "5", "is_correct": True},
                                           {"step": 3, "qid": "q1", "k": 1, "pred": "6", "is_correct": False},
                                           {"step": 3, "qid": "q1", "k": 1, "pred": "7", "is_correct": False}])
    assert detect_format(j, m) == "generic"
    for fast in (True, False):
        t, rep = load_counts(j, mapping=m, fast=fast)
        assert cell(t, 3, "q1") == (1, {"6": 1}, 0, 2)
        assert [(r.line, r.category) for r in rep.rejected] == [(3, "duplicate key")]


# ------------------------------------------------------------------------------------------ counts forms
def test_answer_counts_jsonl(tmp_path):
    f = write_jsonl(tmp_path / "c.jsonl", [
        {"problem_id": 1, "gold": "3", "answer_counts": {"3": 2, "4": 5, "null": 1}, "n_samples": 8},
        {"problem_id": 2, "gold": "1", "answer_counts": {"2": 1}, "n_samples": 3},   # 2 inconsistent n_samples
        {"problem_id": 3, "answer_counts": {"2": 1}},                                 # 3 missing gold
        {"problem_id": 1, "gold": "3", "answer_counts": {"3": 1}},                    # 4 duplicate
        {"problem_id": 5, "correct_answer": "0.5", "answer_counts": {"1/2": 2, "0.5": 1, "7": 1, "8": 1}},
        {"problem_id": 6, "gold": "1", "answer_counts": {"1": -1}},                   # 6 negative count
    ])
    t, rep = load_counts(f, checkpoint="base")
    assert t.checkpoints == ("base",) and t.problem_ids == ("1", "5")
    assert cell(t, "base", 1) == (2, {"4": 5}, 1, 8)
    assert cell(t, "base", 5) == (1, {"1/2": 2, "7": 1, "8": 1}, 0, 5)  # exact strings: "1/2" is not "0.5"
    assert reasons(rep) == {("c.jsonl", 2): "inconsistent counts: n_samples = 3 but answer_counts (with unparsed) sum to 1",
                            ("c.jsonl", 3): "missing field: gold (or correct_answer)",
                            ("c.jsonl", 4): "duplicate key: (checkpoint 'base', problem_id '1') first seen at " + str(f) + ":1",
                            ("c.jsonl", 6): "wrong type: answer_counts['1'] must be a non-negative integer, got -1"}
    assert_adds_up(rep)
    from real.logs.answers import AnswerEquivalence

    with AnswerEquivalence(use_math_verify=False) as eq:
        t, _ = load_counts(f, checkpoint="base", equivalence=eq)
    assert cell(t, "base", 5) == (3, {"7": 1, "8": 1}, 0, 5)
    t, _ = load_counts(f)  # default label: the file stem
    assert t.checkpoints == ("c",)
    g = write_jsonl(tmp_path / "multi.jsonl", [
        {"checkpoint": 200, "problem_id": "x", "gold": "1", "answer_counts": {"1": 1}},
        {"checkpoint": 100, "problem_id": "x", "gold": "1", "answer_counts": {"2": 1}},
        {"checkpoint": 100, "problem_id": "y", "gold": "2", "answer_counts": {"2": 4}},
        {"checkpoint": 300, "problem_id": "x", "gold": "9", "answer_counts": {"9": 1}}])  # inconsistent gold
    t, rep = load_counts(g)
    assert t.checkpoints == ("100", "200") and list(t.steps) == [100, 200]
    assert cell(t, 100, "x") == (0, {"2": 1}, 0, 1) and cell(t, 200, "y") == (0, {}, 0, 0) and cell(t, 100, "y") == (4, {}, 0, 4)
    assert reasons(rep)[("multi.jsonl", 4)].startswith("inconsistent gold: problem_id 'x' has gold '9' here, but '1' first at")


def test_answer_counts_run_named_gold_is_kept(tmp_path):
    # a run may be called "gold": its lines are cells like any other (the importer once dropped them from the table)
    f = write_jsonl(tmp_path / "c.jsonl", [
        {"run": "gold", "checkpoint": 1, "problem_id": "x", "gold": "1", "answer_counts": {"1": 2, "2": 1}},
        {"run": "base", "checkpoint": 1, "problem_id": "x", "gold": "1", "answer_counts": {"2": 3}}])
    t, rep = load_counts(f)
    assert t.checkpoints == ("gold/1", "base/1") and rep.rows_accepted == 2 and rep.n_rejected == 0
    assert cell(t, "gold/1", "x") == (2, {"2": 1}, 0, 3) and cell(t, "base/1", "x") == (0, {"2": 3}, 0, 3)


def test_binary_counts_csv_jsonl_parquet(tmp_path):
    g = tmp_path / "b.csv"
    g.write_text("model,problem_id,n_samples,n_correct\nm1,a,10,3\nm1,b,10,11\nm2,a,5,5\nm2,a,5,1\nm2,c,x,1\n")
    t, rep = load_counts(g, mapping={"checkpoint": "model"})
    assert not t.has_answers and t.checkpoints == ("m1", "m2") and t.problem_ids == ("a",)
    assert t.n_samples.tolist() == [[10], [5]] and t.n_correct.tolist() == [[3], [5]]
    assert reasons(rep) == {("b.csv", 3): "inconsistent counts: n_correct = 11 exceeds n_samples = 10",
                            ("b.csv", 5): "duplicate key: (checkpoint 'm2', problem_id 'a') first seen at " + str(g) + ":4",
                            ("b.csv", 6): "wrong type: n_samples must be a non-negative integer, got 'x'"}
    assert_adds_up(rep)
    with pytest.raises(ValueError, match="answer_counts"):
        t.vote_counts()
    # no checkpoint column: the file stem, with a note
    h = write_jsonl(tmp_path / "ckpt9.jsonl", [{"problem_id": 1, "n_samples": 4, "n_correct": 2}, {"problem_id": 2, "n_samples": 4, "n_correct": 0}])
    t, rep = load_counts(h)
    assert t.checkpoints == ("ckpt9",) and t.n_correct.tolist() == [[2, 0]] and any("no checkpoint column" in n for n in rep.notes)
    pq.write_table(pa.table({"checkpoint": [2, 1], "problem_id": ["p", "p"], "n_samples": [3, 4], "n_correct": [1, 0]}), tmp_path / "b.parquet")
    t, rep = load_counts(tmp_path / "b.parquet")
    assert t.checkpoints == ("1", "2") and t.n_samples.tolist() == [[4], [3]] and t.n_correct.tolist() == [[0], [1]]


# ------------------------------------------------------------------------------------------ lm-eval / verl
def lm_line(doc, target, filt, resps, filtered, **kw):
    return {"doc_id": doc, "doc": {"question": "q"}, "target": target, "arguments": {}, "resps": resps,
            "filtered_resps": filtered, "filter": filt, "metrics": ["exact_match"], "exact_match": 0.0, **kw}


def test_lm_eval_harness_log_samples(tmp_path):
    d = tmp_path / "step100"
    d.mkdir()
    lines = [
        lm_line(0, "#### 18", "maj@4", [["so \\boxed{18}", "The answer is 18.0", "The answer is 17", "nothing"]],
                [["18", "18.0", "17", "[invalid]"]]),                                  # per-sample filtered answers
        lm_line(0, "#### 18", "flexible-extract", [["a"]], ["18"]),                   # another filter: rejected, counted
        lm_line(1, "\\frac{1}{2}", "maj@4", [["\\boxed{0.5}", "\\boxed{1/2}", "\\boxed{2}", "\\boxed{0.5}"]], ["0.5"]),  # voted: raw
        lm_line(2, "7", "maj@4", "not a list", ["7"]),                                # wrong resps
    ]
    f = write_jsonl(d / "samples_gsm8k_2024-05-29T10-22-33.123456.jsonl", lines)
    assert detect_format(f) == "lm-eval"
    t, rep = load_counts(f)
    assert t.checkpoints == ("step100",) and t.problem_ids == ("0", "1")
    assert cell(t, "step100", 0) == (2, {"17": 1}, 1, 4)  # "18" and "18.0" vote together; [invalid] is null
    assert cell(t, "step100", 1) == (3, {"2": 1}, 0, 4)   # answers from the raw generations, equivalent to 1/2
    assert [(r.line, r.category) for r in rep.rejected] == [(2, "filter not selected"), (4, "wrong type")]
    assert rep.rows_read == 4 + 4 + 2 and rep.rows_accepted == 8  # rows = sample records; rejected doc lines count 1
    assert any("using filter 'maj@4'" in n for n in rep.notes)
    assert_adds_up(rep)
    t, rep = load_counts(f, lm_eval_filter="flexible-extract", checkpoint="base")
    assert t.checkpoints == ("base",) and cell(t, "base", 0) == (1, {}, 0, 1)
    assert [r.line for r in rep.rejected] == [1, 3, 4]
    # two tasks (two folders = two checkpoints): problem ids get the task prefix
    e = tmp_path / "step200"
    e.mkdir()
    write_jsonl(e / "samples_gsm8k_2024-06-01T00-00-00.jsonl", [lm_line(0, "5", "none", [["\\boxed{5}"]], ["5"])])
    write_jsonl(e / "samples_math_2024-06-01T00-00-00.jsonl", [lm_line(0, "6", "none", [["\\boxed{4}"]], ["4"])])
    t, rep = load_counts([e], format="lm-eval")
    assert t.checkpoints == ("step200",) and set(t.problem_ids) == {"gsm8k/0", "math/0"}
    assert cell(t, "step200", "gsm8k/0") == (1, {}, 0, 1) and cell(t, "step200", "math/0") == (0, {"4": 1}, 0, 1)


def test_verl_validation_dump(tmp_path):
    lines0 = [{"input": "Q1", "output": "so \\boxed{4}", "gts": "4", "score": 1.0, "step": 2},
              {"input": "Q1", "output": "so \\boxed{5}", "gts": "4", "score": 0.0, "step": 2},
              {"input": "Q2", "output": "no idea", "gts": 7, "score": 0.0, "step": 2},
              {"input": "Q2", "output": "x", "gts": "8", "score": 0.0, "step": 2},  # line 4: inconsistent gts
              {"input": "Q2", "score": 0.0},                                        # line 5: missing output
              {"input": "Q1", "output": "4.0", "gts": "4", "score": 0.5, "step": 2},
              {"input": "Q2", "output": "garbled", "gts": 7, "score": 1, "step": 2}]  # correct, nothing to extract
    write_jsonl(tmp_path / "2.jsonl", lines0)
    write_jsonl(tmp_path / "10.jsonl", [{"input": "Q1", "output": "\\boxed{4}", "gts": "4", "score": 1, "step": 10}])
    assert detect_format(tmp_path / "2.jsonl") == "verl"
    t, rep = load_counts(tmp_path)
    q1, q2 = (hashlib.sha1(q.encode()).hexdigest()[:12] for q in ("Q1", "Q2"))
    assert t.checkpoints == ("2", "10") and t.problem_ids == (q1, q2)  # numeric file order
    assert cell(t, 2, q1) == (2, {"5": 1}, 0, 3)  # "4" and "4.0" merged, both scored > 0
    assert cell(t, 2, q2) == (1, {}, 1, 2) and cell(t, 10, q1) == (1, {}, 0, 1)
    assert {k: v.split(":")[0] for k, v in reasons(rep).items()} == {("2.jsonl", 4): "inconsistent gold", ("2.jsonl", 5): "missing field"}
    assert any("1 row(s) scored correct with no extractable answer" in n for n in rep.notes)
    assert_adds_up(rep)
    t, _ = load_counts(tmp_path, verl_threshold=0.75)  # 0.5 is no longer a pass: "4.0" is now a wrong answer ...
    assert cell(t, 2, q1) == (0, {"5": 1}, 0, 1)  # ... the same merged answer marked both ways: all of it rejected


# ------------------------------------------------------------------------------------------ real data
@pytest.mark.skipif(not (SHARED / "gsm8k-codex-k10" / "answers.jsonl").is_file(), reason="../shared/data/gsm8k-codex-k10 is absent")
def test_shared_gsm8k_counts():
    path = SHARED / "gsm8k-codex-k10" / "answers.jsonl"
    t, rep = load_counts(path)
    assert detect_format(path) == "counts"
    assert t.shape == (1, 1000) and t.checkpoints == ("answers",) and set(t.n_samples.ravel()) == {10}
    assert rep.n_rejected == 0 and rep.rows_read == 1000
    raw = [json.loads(line) for line in path.read_text().splitlines()]
    expect = {str(r["problem_id"]): r["answer_counts"].get(r["gold"], 0) for r in raw}  # plain reference
    assert {p: int(t.n_correct[0, i]) for i, p in enumerate(t.problem_ids)} == expect
    assert 0.5 < (t.n_correct / t.n_samples).mean() < 0.6  # its README: mean per-sample accuracy about 0.56


@pytest.mark.skipif(not (SHARED / "pythia-math-coverage" / "counts.csv").is_file(), reason="../shared/data/pythia-math-coverage is absent")
def test_shared_pythia_binary_counts():
    path = SHARED / "pythia-math-coverage" / "counts.csv"
    t, rep = load_counts(path, mapping={"checkpoint": "model"})
    with open(path, newline="") as fh:
        raw = list(csv.DictReader(fh))
    models = list(dict.fromkeys(r["model"] for r in raw))
    assert len(models) == 72 and t.checkpoints == tuple(models) and len(t.problem_ids) == 128
    assert rep.n_rejected == 0 and rep.rows_accepted == rep.rows_read == len(raw) and not t.has_answers
    for r in raw[::97]:
        c, p = t.checkpoints.index(r["model"]), t.problem_ids.index(r["problem_id"])
        assert (t.n_samples[c, p], t.n_correct[c, p]) == (int(r["n_samples"]), int(r["n_correct"]))
    assert int((t.n_samples > 0).sum()) == len(raw)  # Pythia_12B_2M covers only 9 problems


# ------------------------------------------------------------------------------------------ property test
def reference_table(rows):
    """Plain-Python reference of the records rules: {label: {pid: (n_correct, Counter wrong, n_null)}},
    the checkpoint order, the problem order and the number of accepted rows."""
    seen, first_gold, kept = set(), {}, []
    for r in rows:
        k = (r.get("run"), r["checkpoint"], r["problem_id"], r["sample_index"])
        if k in seen:
            continue
        seen.add(k)
        g = r.get("gold")
        if g is not None:
            if first_gold.setdefault(r["problem_id"], g) != g:
                continue
        kept.append(r)
    by_cell = defaultdict(list)
    for r in kept:
        by_cell[(r.get("run"), r["checkpoint"], r["problem_id"])].append(r)
    final = []
    for rs in by_cell.values():
        flags = defaultdict(set)
        for r in rs:
            flags[r["answer"]].add(r["correct"])
        rs = [r for r in rs if len(flags[r["answer"]]) == 1]
        final += rs  # different strings marked correct all count as correct (slot 0)
    final.sort(key=lambda r: rows.index(r))
    runs = list(dict.fromkeys(r["run"] for r in final if r.get("run") is not None))
    multi = len({r.get("run") for r in final}) > 1
    label = {}
    for r in final:
        run = r.get("run")
        label[(run, r["checkpoint"])] = str(r["checkpoint"]) if (run is None or not multi) else f"{run}/{r['checkpoint']}"
    order = sorted(label, key=lambda k: (-1 if k[0] is None else runs.index(k[0]), k[1]))
    out = defaultdict(dict)
    for r in final:
        lab = label[(r.get("run"), r["checkpoint"])]
        ok, wrong, null = out[lab].get(r["problem_id"], (0, Counter(), 0))
        if r["answer"] is None:
            null += 1
        elif r["correct"]:
            ok += 1
        else:
            wrong[r["answer"]] += 1
        out[lab][r["problem_id"]] = (ok, wrong, null)
    pids = list(dict.fromkeys(r["problem_id"] for r in final))
    return out, [label[k] for k in order], pids, len(final)


record = st.fixed_dictionaries(
    {"checkpoint": st.sampled_from([0, 10, 20]), "problem_id": st.sampled_from(["a", "b", "c"]),
     "sample_index": st.integers(0, 4), "answer": st.sampled_from([None, "1", "2", "3", "10"])},
    optional={"run": st.sampled_from(["r1", "r2"]), "gold": st.sampled_from(["1", "2"])})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(record, st.booleans(), st.integers(0, 9)), min_size=1, max_size=30))
def test_random_records_match_a_plain_python_reference(tmp_path, draws):
    rows = []
    for r, flip, u in draws:
        ok = r["answer"] is not None and (r["answer"] == "1") != (flip and u == 0)  # mostly consistent, sometimes not
        if r["answer"] == "2" and u == 1:
            ok = True  # now and then a second "correct" answer in a cell
        rows.append(dict(r, correct=ok))
    rows = [r for r in rows if not (r["answer"] is None and r["correct"])]
    ref, order, pids, n_ok = reference_table(rows)
    f = write_jsonl(tmp_path / "h.jsonl", rows)
    keys = ["checkpoint", "problem_id", "sample_index", "answer", "correct", "run", "gold"]
    pq.write_table(pa.table({k: [r.get(k) for r in rows] for k in keys}), tmp_path / "h.parquet")  # (from_pylist would
    results = []                                                                                      # drop keys absent in row 1)
    for path, fast in ((f, True), (f, False), (tmp_path / "h.parquet", True)):
        if n_ok == 0:
            with pytest.raises(NoRecordsError):
                load_counts(path, fast=fast)
            continue
        t, rep = load_counts(path, fast=fast)
        assert rep.rows_read == len(rows) and rep.rows_accepted == n_ok and rep.n_rejected == len(rows) - n_ok
        assert list(t.checkpoints) == order and list(t.problem_ids) == pids
        for lab in order:
            for pid in pids:
                ok, wrong, null = ref[lab].get(pid, (0, Counter(), 0))
                assert cell(t, lab, pid) == (ok, dict(wrong), null, ok + sum(wrong.values()) + null)
                c, p = t.checkpoints.index(lab), t.problem_ids.index(pid)
                slots = sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0]))
                width = t.answer_counts.shape[2] - 1
                assert t.wrong_answers[c, p].tolist() == [a for a, _ in slots] + [None] * (width - len(slots))
        results.append(t)
    for t in results[1:]:  # JSONL fast path, line-by-line path and Parquet agree field by field
        for name in ("checkpoints", "problem_ids", "steps", "n_samples", "n_correct", "answer_counts", "n_null", "wrong_answers"):
            assert np.array_equal(np.asarray(getattr(t, name)), np.asarray(getattr(results[0], name))), name
