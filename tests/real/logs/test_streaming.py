"""The streaming importer against the in-memory one: the same table and the same rejections, in bounded memory.

The reference is ``real.logs.importers.load_counts`` (itself checked against a plain-Python reference in
test_importers.py); hand cases check the rejection texts that the streaming path builds from its counts and its
second read; a tracemalloc test checks that memory does not grow with the number of rows.
"""

import json
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from real.logs.importers import load_counts, load_counts_by_temperature
from real.logs.schema import NoRecordsError
from real.logs.streaming import stream_counts, stream_counts_by_temperature

FIELDS = ("checkpoints", "problem_ids", "steps", "n_samples", "n_correct", "answer_counts", "n_null", "wrong_answers")


def assert_same_table(a, b):
    for name in FIELDS:
        x, y = np.asarray(getattr(a, name)), np.asarray(getattr(b, name))
        assert x.shape == y.shape and x.dtype == y.dtype, name
        assert np.array_equal(x, y, equal_nan=name == "steps"), name


def rejections(rep):
    return [(r.file, r.line, r.reason) for r in rep.rejected]


def outcome(fn):
    try:
        return fn()
    except ValueError as e:  # NoRecordsError, several temperatures
        return e


def assert_same_outcome(paths, fast=True, **kw):
    """load_counts and stream_counts on the same files: the same table and report, or the same error."""
    a = outcome(lambda: load_counts(paths, fast=fast))
    b = outcome(lambda: stream_counts(paths, fast=fast, **kw))
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b), (a, b)
        assert str(a) == str(b)
        if isinstance(a, NoRecordsError):
            assert rejections(a.report) == rejections(b.report)
            assert (a.report.rows_read, a.report.rows_accepted) == (b.report.rows_read, b.report.rows_accepted)
        if currently_in_test_context():  # what the random logs cover: --hypothesis-show-statistics
            event(f"error: {type(a).__name__}")
        return a, b
    (ta, ra), (tb, rb) = a, b
    for category in rb.reasons() if currently_in_test_context() else ():
        event(f"rejected: {category}")
    assert_same_table(ta, tb)
    assert (ra.rows_read, ra.rows_accepted, ra.n_rejected) == (rb.rows_read, rb.rows_accepted, rb.n_rejected)
    assert rb.rows_read == rb.rows_accepted + rb.n_rejected
    assert rejections(ra) == rejections(rb)
    assert ra.notes == rb.notes and ra.empty_files == rb.empty_files
    return a, b


def assert_same_by_temperature(paths, fast=True, **kw):
    """load_counts_by_temperature and stream_counts_by_temperature: the same tables (keys in the same order) and
    report, or the same error."""
    a = outcome(lambda: load_counts_by_temperature(paths, fast=fast))
    b = outcome(lambda: stream_counts_by_temperature(paths, fast=fast, **kw))
    if isinstance(a, Exception) or isinstance(b, Exception):
        assert type(a) is type(b) and str(a) == str(b), (a, b)
        return a, b
    (ta, ra), (tb, rb) = a, b
    assert list(ta) == list(tb)
    for t in ta:
        assert_same_table(ta[t], tb[t])
    assert (ra.rows_read, ra.rows_accepted) == (rb.rows_read, rb.rows_accepted) and rejections(ra) == rejections(rb)
    assert ra.notes == rb.notes
    return a, b


def rec(ck, pid, i, ans, ok, **kw):
    return {"checkpoint": ck, "problem_id": pid, "sample_index": i, "answer": ans, "correct": ok, **kw}


def write_jsonl(path, items):
    """items: dicts (one JSON line each) or raw bytes lines."""
    path.write_bytes(b"\n".join(x if isinstance(x, bytes) else json.dumps(x).encode() for x in items) + b"\n")
    return path


# ------------------------------------------------------------------------------------------ hand cases
def test_rejection_texts_across_batches(tmp_path):
    """A duplicate and an inconsistently marked answer whose rows lie in different batches: the reasons name
    the first row (found by the second read), with the counts of the groups."""
    rows = [rec(10, "a", 0, "1", True, gold="1"), rec(10, "a", 1, "7", False), rec(10, "b", 0, "2", False),
            rec(10, "a", 2, "7", True), rec(10, "a", 0, "3", False), rec(10, "b", 1, "3", False, gold="9"),
            rec(10, "b", 2, "3", False, gold="8"), rec(20, "a", 0, None, False)]
    f = write_jsonl(tmp_path / "s.jsonl", rows)
    (ta, ra), (tb, rb) = assert_same_outcome(f, batch_bytes=40)  # ~one line per chunk
    got = {line: why for _, line, why in rejections(rb)}
    assert got == {
        2: "inconsistent correctness: answer '7' at (checkpoint '10', problem_id 'a') is marked correct on 1 row(s) and "
           f"incorrect on 1 (first at {f}:2); all of them rejected",
        4: "inconsistent correctness: answer '7' at (checkpoint '10', problem_id 'a') is marked correct on 1 row(s) and "
           f"incorrect on 1 (first at {f}:2); all of them rejected",
        5: f"duplicate key: (checkpoint '10', problem_id 'a', sample_index 0) first seen at {f}:1",
        7: f"inconsistent gold: problem_id 'b' has gold '8' here, but '9' first at {f}:6"}
    assert tb.checkpoints == ("10", "20") and tb.problem_ids == ("a", "b")
    assert tb.n_samples.tolist() == [[1, 2], [1, 0]] and tb.n_null.tolist() == [[0, 0], [1, 0]]


def test_runs_sparse_sample_indices_and_mixed_files(tmp_path):
    """Runs (labels "run/checkpoint"), sample indices far beyond the dense width (the sorted-key tier), and a
    Parquet file and a JSONL file in one import; duplicates across the two files."""
    rows = [rec(10, "a", 10**9 + i % 3, str(i % 4), i % 4 == 0, run=f"r{i % 2}") for i in range(30)]
    pq.write_table(pa.Table.from_pylist(rows[:20]), tmp_path / "0.parquet")
    write_jsonl(tmp_path / "1.jsonl", rows[18:] + [rec("step_5", "b", 2**61, "x", False)])
    for dense_width in (1, 2, 4096):
        (ta, ra), (tb, rb) = assert_same_outcome(tmp_path, batch_rows=3, batch_bytes=100, dense_width=dense_width)
    assert rb.n_rejected > 0 and "duplicate key" in rb.reasons()
    assert tb.checkpoints == ("step_5", "r0/10", "r1/10")


def test_refusals(tmp_path):
    (tmp_path / "s.csv").write_text("checkpoint,problem_id,sample_index,answer,correct\n1,a,0,1,true\n")
    with pytest.raises(ValueError, match="CSV is not streamed"):
        stream_counts(tmp_path / "s.csv")
    counts = write_jsonl(tmp_path / "c.jsonl", [{"problem_id": "a", "answer_counts": {"1": 3}, "gold": "1"}])
    with pytest.raises(ValueError, match="format 'counts'"):
        stream_counts(counts)
    f = write_jsonl(tmp_path / "s.jsonl", [rec(1, "a", 0, "1", True)])
    with pytest.raises(ValueError, match="equivalence"):
        stream_counts(f, equivalence=object())
    with pytest.raises(ValueError, match="batch_rows"):
        stream_counts(f, batch_rows=0)
    assert isinstance(assert_same_outcome(write_jsonl(tmp_path / "bad.jsonl", [b"{bad", rec(1, "a", -1, "1", True)]))[1],
                      NoRecordsError)  # no type-valid row
    both_ways = write_jsonl(tmp_path / "mixed.jsonl", [rec(1, "a", 0, "1", True), rec(1, "a", 1, "1", False)])
    assert isinstance(assert_same_outcome(both_ways)[1], NoRecordsError)  # every row rejected by rule 5
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(ValueError, match="every input file is empty"):
        stream_counts(tmp_path / "e.jsonl")


def test_temperatures_and_steps(tmp_path):
    f = write_jsonl(tmp_path / "t.jsonl", [rec(1, "a", 0, "1", True, temperature=0.7), rec(1, "a", 1, "1", True),
                                           rec(1, "a", 0, "2", False, temperature=0.0), rec(1, "a", 0, "2", False, temperature=-0.0),
                                           rec(2, "a", 0, "1", True, temperature=1.0, gold="1"),
                                           rec(2, "a", 1, "1", False, temperature=1.0, gold="1")])
    a, b = assert_same_outcome(f)
    assert "4 sampling temperatures" in str(b)
    (ta, ra), (tb, rb) = assert_same_by_temperature(f, batch_bytes=1)
    assert list(tb) == [0.0, 0.7, None] and rb.notes == ["T=1: every record was rejected; no table for this temperature"]
    assert [r.line for r in rb.rejected] == [4, 5, 6]  # a duplicate within T = 0 (-0.0 is 0); one answer both ways at T = 1
    g = write_jsonl(tmp_path / "u.jsonl", [rec("best", "a", 0, "1", True), rec("final", "a", 0, "2", False)])
    ta, _ = load_counts(g, steps={"best": 200, "final": 100})
    tb, _ = stream_counts(g, steps={"best": 200, "final": 100})
    assert_same_table(ta, tb)
    assert tb.checkpoints == ("final", "best")


# ------------------------------------------------------------------------------------------ random logs
GOOD_JSON = st.fixed_dictionaries(
    {"checkpoint": st.sampled_from([0, 10, "step_30"]), "problem_id": st.sampled_from(["a", "b", 7]),
     "sample_index": st.integers(0, 2), "answer": st.sampled_from([None, "1", "2", "3", 5]), "correct": st.booleans()},
    optional={"gold": st.sampled_from(["1", "1", "2", None]), "run": st.sampled_from(["r1", "r2"])})
DELETE = object()
JSON_MUTATIONS = [("checkpoint", ""), ("checkpoint", True), ("checkpoint", 1.5), ("checkpoint", None), ("checkpoint", 10.0),
                  ("problem_id", " "), ("sample_index", -1), ("sample_index", 2**40), ("sample_index", "1"),
                  ("sample_index", 1000), ("answer", [1]), ("answer", DELETE), ("correct", "yes"), ("correct", None),
                  ("gold", 3), ("run", None), ("n_tokens", "many")]


def mutate(pair):
    r, (key, value) = pair
    r = dict(r)
    if value is DELETE:
        r.pop(key, None)
    else:
        r[key] = value
    return r


BAD_JSON = st.tuples(GOOD_JSON, st.sampled_from(JSON_MUTATIONS)).map(mutate)
RAW = st.sampled_from([b"{not json", b"\xff\xfe{}", b"[1, 2]", b"", b"   "])
ITEM = st.one_of(GOOD_JSON, GOOD_JSON, GOOD_JSON, GOOD_JSON, GOOD_JSON, BAD_JSON, RAW)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(ITEM, min_size=8, max_size=40), consistent=st.booleans(),
       temperature=st.sampled_from([None, None, 0.7, "mixed"]), cuts=st.lists(st.integers(0, 40), max_size=2),
       batch_bytes=st.sampled_from([1, 50, 300, 1 << 20]), dense_width=st.sampled_from([1, 2, 4096]), fast=st.booleans())
def test_random_jsonl_logs_match_load_counts(items, consistent, temperature, cuts, batch_bytes, dense_width, fast):
    """Random JSONL logs with corrupt rows (invalid JSON and UTF-8, wrong types, missing fields, negative and huge
    sample indices, null answers marked correct, duplicates, inconsistent gold and correctness, bad temperatures),
    split over 1-3 files, read in chunks of a line or more: the same table and the same rejections."""
    out = []
    for i, x in enumerate(items):
        if isinstance(x, dict):
            x = dict(x)
            if consistent and isinstance(x.get("correct"), bool):
                x["correct"] = x.get("answer") == "1"
            if temperature == "mixed":
                x["temperature"] = [0.7, 0.7, 1.0, -1.0, "hot"][i % 5]
            elif temperature is not None:
                x["temperature"] = [0.7, 0.7, 0.7, -1.0, "hot"][i % 5]
        out.append(x)
    bounds = sorted({min(c, len(out)) for c in cuts} | {0, len(out)})
    with tempfile.TemporaryDirectory() as tmp:
        paths = [write_jsonl(Path(tmp) / f"{j}.jsonl", out[lo:hi]) for j, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:]))]
        if all(not any(isinstance(x, dict) or x.strip() for x in out[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])):
            return  # only blank lines: both refuse (checked in test_refusals)
        assert_same_outcome(paths, fast=fast, batch_bytes=batch_bytes, dense_width=dense_width)
        assert_same_by_temperature(paths, fast=fast, batch_bytes=batch_bytes, dense_width=dense_width)


GOOD_PARQUET = st.fixed_dictionaries(
    {"checkpoint": st.sampled_from([0, 10]), "problem_id": st.sampled_from(["a", "b", "c"]), "sample_index": st.integers(0, 2),
     "answer": st.sampled_from([None, "1", "2", "3"]), "correct": st.booleans(), "gold": st.sampled_from(["1", "1", "2", None]),
     "run": st.sampled_from(["r1", "r2", None])})
PARQUET_MUTATIONS = [("checkpoint", None), ("problem_id", ""), ("problem_id", None), ("sample_index", -1), ("sample_index", None),
                     ("sample_index", 10**6), ("correct", None), ("answer", None)]
PARQUET_ROW = st.one_of(GOOD_PARQUET, GOOD_PARQUET, GOOD_PARQUET, st.tuples(GOOD_PARQUET, st.sampled_from(PARQUET_MUTATIONS)).map(mutate))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(PARQUET_ROW, min_size=8, max_size=40),
       columns=st.sampled_from(["all", "all", "no_run_gold", "float_ck", "no_answer", "temperature"]),
       consistent=st.booleans(), cut=st.integers(0, 40), batch_rows=st.sampled_from([1, 3, 7, 1 << 20]),
       dense_width=st.sampled_from([1, 4096]))
def test_random_parquet_logs_match_load_counts(rows, columns, consistent, cut, batch_rows, dense_width):
    """Random Parquet logs: nulls in required columns, blank labels, negative sample indices, null answers marked
    correct, duplicates, inconsistent gold and correctness; a float checkpoint column (row-by-row validation) and a
    missing required column; a temperature column (also by temperature); two files, small batches: the same table and
    the same rejections."""
    rows = [dict(r, correct=(r["answer"] == "1") if consistent and r["correct"] is not None else r["correct"]) for r in rows]
    cols = {k: [r[k] for r in rows] for k in rows[0]}
    if columns == "no_run_gold":
        del cols["run"], cols["gold"]
    elif columns == "float_ck":
        cols["checkpoint"] = [None if v is None else v + (0.5 if v == 20 else 0.0) for v in cols["checkpoint"]]
    elif columns == "no_answer":
        del cols["answer"]
    elif columns == "temperature":
        cols["temperature"] = [[0.7, 1.0, None, -1.0, 0.7][i % 5] for i in range(len(rows))]
    table = pa.table({k: pa.array(v, type={"checkpoint": pa.float64() if columns == "float_ck" else pa.int64(),
                                           "sample_index": pa.int64(), "correct": pa.bool_(),
                                           "temperature": pa.float64()}.get(k, pa.string()))
                      for k, v in cols.items()})
    cut = min(cut, len(rows))
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for j, part in enumerate((table.slice(0, cut), table.slice(cut))):
            if part.num_rows:
                pq.write_table(part, Path(tmp) / f"{j}.parquet")
                paths.append(Path(tmp) / f"{j}.parquet")
        assert_same_outcome(paths, batch_rows=batch_rows, dense_width=dense_width)
        assert_same_by_temperature(paths, batch_rows=batch_rows, dense_width=dense_width)


# ------------------------------------------------------------------------------------------ bounded memory
def synthetic_log(path, n_samples):
    """4 checkpoints x 50 problems x n_samples samples, answers from a fixed set of 5 (so the table's size does not
    depend on n_samples), sorted as a log is written."""
    rng = np.random.default_rng(0)
    C, P = 4, 50
    n = C * P * n_samples
    answer = rng.integers(0, 5, n)
    pq.write_table(pa.table({"checkpoint": np.repeat(np.arange(C) * 10, P * n_samples),
                             "problem_id": np.tile(np.repeat(np.arange(P), n_samples), C).astype(str),
                             "sample_index": np.tile(np.arange(n_samples), C * P), "answer": answer.astype(str),
                             "correct": answer == 0}), path)
    return n


def peak_traced(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_rows(tmp_path):
    """10x more rows for the same table: the streaming import's peak traced (NumPy and Python) memory stays within
    1.5x, while the in-memory import's grows (which shows that the measurement sees row-sized allocations)."""
    small, big = tmp_path / "small.parquet", tmp_path / "big.parquet"
    synthetic_log(small, 10)
    synthetic_log(big, 100)
    kw = {"batch_rows": 2000}
    s_small, s_big = peak_traced(lambda: stream_counts(small, **kw)), peak_traced(lambda: stream_counts(big, **kw))
    m_small, m_big = peak_traced(lambda: load_counts(small)), peak_traced(lambda: load_counts(big))
    assert s_big <= 1.5 * s_small, (s_small, s_big)
    assert m_big >= 4 * m_small, (m_small, m_big)
    assert_same_outcome(big, batch_rows=2000)
