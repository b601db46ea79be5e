"""Importers: every format into a CountsTable, every malformed case reported with file, line and reason."""

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from real.importers import detect_format, load_counts

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def write_jsonl(path, objs, raw_lines=()):
    lines = [json.dumps(o).encode() for o in objs] + list(raw_lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def rec(ck, pid, i, ans, ok, **kw):
    return {"checkpoint": ck, "problem_id": pid, "sample_index": i, "answer": ans, "correct": ok, **kw}


def cell(table, ck, pid):
    c, p = table.checkpoints.index(str(ck)), table.problem_ids.index(str(pid))
    wrong = {a: int(n) for a, n in zip(table.wrong_answers[c, p], table.answer_counts[c, p, 1:]) if a is not None}
    return int(table.answer_counts[c, p, 0]), wrong, int(table.n_null[c, p]), int(table.n_samples[c, p])


def test_records_jsonl_hand_case(tmp_path):
    f = write_jsonl(tmp_path / "s.jsonl", [
        rec(20, "a", 0, "1", True, gold="1"), rec(20, "a", 1, "7", False), rec(20, "a", 2, "7", False),
        rec(20, "a", 3, None, False), rec(20, "a", 4, "8", False), rec(10, "a", 0, "9", False), rec(10, "b", 0, "2", True)])
    t, rep = load_counts(f)
    assert t.checkpoints == ("10", "20") and list(t.steps) == [10.0, 20.0]  # numeric labels ordered by step
    assert cell(t, 20, "a") == (1, {"7": 2, "8": 1}, 1, 5)
    assert list(t.answer_counts[1, 0, 1:3]) == [2, 1]  # wrong answers largest first
    assert cell(t, 10, "a") == (0, {"9": 1}, 0, 1) and cell(t, 10, "b") == (1, {}, 0, 1)
    assert cell(t, 20, "b") == (0, {}, 0, 0)  # not evaluated at step 20
    assert rep.rows_read == 7 and rep.rows_accepted == 7 and rep.n_rejected == 0


def test_malformed_rows_are_reported_not_dropped(tmp_path):
    f = write_jsonl(tmp_path / "bad.jsonl", [
        rec(1, "a", 0, "1", True, gold="1"),          # line 1 ok
        {"checkpoint": 1, "problem_id": "a"},         # 2 missing fields
        rec(1, "a", "x", "1", True),                  # 3 wrong type sample_index
        rec(1, "a", 1, "1", "yes"),                   # 4 wrong type correct
        rec(1, "a", 0, "2", False),                   # 5 duplicate key of line 1
        rec(1, "a", 2, "3", False, gold="4"),         # 6 inconsistent gold
        rec(1, "a", 3, "1", False),                   # 7 inconsistent correctness with line 1
        rec(1, "a", -1, "1", True),                   # 8 negative index
        rec(1, "a", 4, None, True),                   # 9 null answer marked correct
        rec(1, "a", 5, "6", False),                   # 10 ok
    ], raw_lines=[b'{"checkpoint": 1, "problem_id": "a", "sample_index": 9, "answer": "\xff\xfe", "correct": false}',  # 11 bad UTF-8
                  b'{not json'])                      # 12 invalid JSON
    t, rep = load_counts(f)
    by_line = {r.line: r.reason for r in rep.rejected}
    assert set(by_line) == {2, 3, 4, 5, 6, 7, 8, 9, 11, 12}, by_line
    assert by_line[2].startswith("missing field: sample_index, answer, correct")
    assert "sample_index" in by_line[3] and "correct" in by_line[4]
    assert by_line[5].startswith("duplicate key") and "bad.jsonl:1" in by_line[5]
    assert by_line[6].startswith("inconsistent gold") and "'4'" in by_line[6]
    assert by_line[7].startswith("inconsistent correctness")
    assert by_line[8].startswith("negative sample_index")
    assert by_line[9].startswith("inconsistent correctness: answer is null")
    assert by_line[11].startswith("invalid UTF-8") and by_line[12].startswith("invalid JSON")
    assert all(r.file.endswith("bad.jsonl") for r in rep.rejected)
    assert rep.rows_read == 12 and rep.rows_accepted == 2 and rep.rows_accepted + rep.n_rejected == rep.rows_read
    assert cell(t, 1, "a") == (1, {"6": 1}, 0, 2)
    d = rep.to_dict()
    assert d["rows_rejected"] == 10 and d["rejections_by_reason"]["inconsistent correctness"] == 2
    assert "10 rejected" in rep.summary()


def test_empty_inputs(tmp_path):
    (tmp_path / "empty.jsonl").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_counts(tmp_path / "empty.jsonl")
    write_jsonl(tmp_path / "ok.jsonl", [rec(1, "a", 0, "1", True)])
    t, rep = load_counts([tmp_path / "empty.jsonl", tmp_path / "ok.jsonl"])
    assert t.shape == (1, 1) and any("empty file" in n for n in rep.notes)
    write_jsonl(tmp_path / "allbad.jsonl", [{"x": 1}])
    with pytest.raises(ValueError, match="format"):
        load_counts(tmp_path / "allbad.jsonl")
    with pytest.raises(ValueError, match="no valid sample records"):
        load_counts(tmp_path / "allbad.jsonl", format="records")
    with pytest.raises(FileNotFoundError):
        load_counts(tmp_path / "missing.jsonl")


def test_parquet_fast_path_equals_jsonl(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    rows = [rec(int(c), f"p{p}", i, None if r < 0.05 else str(int(r * 5)), bool(r >= 0.05 and int(r * 5) == 0), run="r1")
            for c in (0, 5) for p in range(6) for i, r in enumerate(rng.random(8))]
    rows.append(rec(5, "p0", -2, "1", False, run="r1"))  # rejected: negative index
    jl, _ = load_counts(write_jsonl(tmp_path / "a.jsonl", rows))
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "a.parquet")
    pt, rep = load_counts(tmp_path / "a.parquet")
    assert pt.checkpoints == jl.checkpoints and pt.problem_ids == jl.problem_ids
    np.testing.assert_array_equal(pt.answer_counts, jl.answer_counts)
    np.testing.assert_array_equal(pt.n_null, jl.n_null)
    assert [r.line for r in rep.rejected] == [len(rows)] and rep.rows_read == len(rows)
    # wrong column types take the row-by-row path, which names the rows
    bad = [dict(r, sample_index=str(r["sample_index"])) for r in rows[:3]]
    pq.write_table(pa.Table.from_pylist(bad), tmp_path / "b.parquet")
    with pytest.raises(ValueError, match="no valid"):
        load_counts(tmp_path / "b.parquet")


def test_multiple_runs_prefix_checkpoints(tmp_path):
    f = write_jsonl(tmp_path / "r.jsonl", [rec(1, "a", 0, "1", True, run="x"), rec(1, "a", 0, "2", False, run="y")])
    t, _ = load_counts(f)
    assert set(t.checkpoints) == {"x/1", "y/1"}


def test_generic_csv_with_mapping(tmp_path):
    f = tmp_path / "g.csv"
    f.write_text("step,qid,k,pred,is_correct\n3,q1,0,5,true\n3,q1,1,6,false\n3,q1,2,,0\n3,q2,0,1,maybe\n")
    assert detect_format(f, {"checkpoint": "step"}) == "generic"
    t, rep = load_counts(f, mapping={"checkpoint": "step", "problem_id": "qid", "sample_index": "k", "answer": "pred", "correct": "is_correct"})
    assert cell(t, 3, "q1") == (1, {"6": 1}, 1, 3)
    assert [(r.line, r.reason.split(":")[0]) for r in rep.rejected] == [(5, "wrong type")]


def test_counts_jsonl_and_binary_forms(tmp_path):
    f = write_jsonl(tmp_path / "c.jsonl", [
        {"problem_id": 1, "gold": "3", "answer_counts": {"3": 2, "4": 5, "null": 1}, "n_samples": 8},
        {"problem_id": 2, "gold": "1", "answer_counts": {"2": 1}, "n_samples": 3},   # inconsistent n_samples
        {"problem_id": 3, "answer_counts": {"2": 1}},                                 # missing gold
        {"problem_id": 1, "gold": "3", "answer_counts": {"3": 1}}])                   # duplicate
    t, rep = load_counts(f, checkpoint="base")
    assert t.checkpoints == ("base",) and cell(t, "base", 1) == (2, {"4": 5}, 1, 8)
    assert [r.line for r in rep.rejected] == [2, 3, 4]
    g = tmp_path / "b.csv"
    g.write_text("model,problem_id,n_samples,n_correct\nm1,a,10,3\nm1,b,10,11\nm2,a,5,5\nm2,a,5,1\n")
    t, rep = load_counts(g, mapping={"checkpoint": "model"})
    assert not t.has_answers and t.checkpoints == ("m1", "m2")
    assert t.problem_ids == ("a",)  # problem b's only row was rejected
    assert t.n_samples.tolist() == [[10], [5]] and t.n_correct.tolist() == [[3], [5]]
    assert [r.reason.split(":")[0] for r in rep.rejected] == ["inconsistent counts", "duplicate key"]
    with pytest.raises(ValueError, match="answer_counts"):
        t.vote_counts()


def test_lm_eval_harness_log_samples(tmp_path):
    d = tmp_path / "step100"
    d.mkdir()
    lines = [
        {"doc_id": 0, "target": "#### 18", "filter": "maj@4", "resps": [["so \\boxed{18}", "The answer is 18.0", "The answer is 17", "nothing"]],
         "filtered_resps": [["18", "18.0", "17", "[invalid]"]]},
        {"doc_id": 0, "target": "#### 18", "filter": "flexible-extract", "resps": [["a"]], "filtered_resps": ["18"]},
        {"doc_id": 1, "target": "\\frac{1}{2}", "filter": "maj@4", "resps": [["\\boxed{0.5}", "\\boxed{1/2}", "\\boxed{2}", "\\boxed{0.5}"]],
         "filtered_resps": ["0.5"]},
    ]
    f = write_jsonl(d / "samples_gsm8k_2026.jsonl", lines)
    assert detect_format(f) == "lm-eval"
    t, rep = load_counts(f)
    assert t.checkpoints == ("step100",)
    assert cell(t, "step100", 0) == (2, {"17": 1}, 1, 4)  # "18" and "18.0" vote together; [invalid] is null
    assert cell(t, "step100", 1) == (3, {"2": 1}, 0, 4)  # filtered_resps is one string: answers from raw resps
    assert [r.reason.split(":")[0] for r in rep.rejected] == ["filter not selected"]


def test_verl_validation_dump(tmp_path):
    lines0 = [{"input": "Q1", "output": "so \\boxed{4}", "gts": "4", "score": 1.0, "step": 0},
              {"input": "Q1", "output": "so \\boxed{5}", "gts": "4", "score": 0.0, "step": 0},
              {"input": "Q2", "output": "no idea", "gts": "7", "score": 0.0, "step": 0},
              {"input": "Q2", "output": "x", "gts": "8", "score": 0.0, "step": 0},  # inconsistent gold
              {"input": "Q2", "score": 0.0}]  # missing output
    f0 = write_jsonl(tmp_path / "0.jsonl", lines0)
    write_jsonl(tmp_path / "10.jsonl", [{"input": "Q1", "output": "\\boxed{4}", "gts": "4", "score": 1, "step": 10}])
    assert detect_format(f0) == "verl"
    t, rep = load_counts(tmp_path)
    import hashlib

    q1, q2 = (hashlib.sha1(q.encode()).hexdigest()[:12] for q in ("Q1", "Q2"))
    assert t.checkpoints == ("0", "10")
    assert cell(t, 0, q1) == (1, {"5": 1}, 0, 2) and cell(t, 0, q2) == (0, {}, 1, 1) and cell(t, 10, q1) == (1, {}, 0, 1)
    assert sorted(r.reason.split(":")[0] for r in rep.rejected) == ["inconsistent gold", "missing field"]


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is absent (real validation data not on this machine)")
def test_shared_real_data_imports():
    t, rep = load_counts(SHARED / "gsm8k-codex-k10" / "answers.jsonl")
    assert t.shape == (1, 1000) and set(t.n_samples.ravel()) == {10} and rep.n_rejected == 0
    assert 0.5 < (t.n_correct / t.n_samples).mean() < 0.6  # the README: mean per-sample accuracy about 0.56
    p, rep = load_counts(SHARED / "pythia-math-coverage" / "counts.csv", mapping={"checkpoint": "model"})
    assert len(p.problem_ids) == 128 and rep.n_rejected == 0 and rep.rows_accepted == rep.rows_read
    assert all(c.startswith("Pythia_") for c in p.checkpoints) and p.n_samples.max() > 10**5


record = st.fixed_dictionaries({
    "checkpoint": st.sampled_from([0, 10, 20]), "problem_id": st.sampled_from(["a", "b", "c"]),
    "sample_index": st.integers(0, 5), "answer": st.sampled_from([None, "1", "2", "3", "4"])})


@settings(max_examples=40, deadline=None)
@given(st.lists(record, max_size=40))
def test_random_records_match_a_plain_python_reference(tmp_path_factory, recs):
    """Random valid records (answer "1" correct) against a dict-of-Counters reference (first key wins)."""
    tmp = tmp_path_factory.mktemp("h")
    rows, seen = [], set()
    ref = defaultdict(Counter)
    for r in recs:
        row = dict(r, correct=r["answer"] == "1")
        rows.append(row)
        k = (r["checkpoint"], r["problem_id"], r["sample_index"])
        if k not in seen:
            seen.add(k)
            ref[(str(r["checkpoint"]), r["problem_id"])][r["answer"]] += 1
    if not rows:
        return
    t, rep = load_counts(write_jsonl(tmp / "h.jsonl", rows))
    assert rep.n_rejected == len(rows) - len(seen)
    for (ck, pid), cnt in ref.items():
        ok, wrong, null, n = cell(t, ck, pid)
        assert ok == cnt["1"] and null == cnt[None] and n == sum(cnt.values())
        assert wrong == {a: v for a, v in cnt.items() if a not in ("1", None)}
