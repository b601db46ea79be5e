"""The lighteval details and evalscope review importers (``real.logs.formats.lighteval`` / ``.evalscope``) on files the
tools themselves wrote, end to end on our exported model (``fixtures/lighteval`` and ``fixtures/evalscope``: each
folder's ``make_fixture.py`` says how, with which versions and commands).

Expected values come from the tools' own outputs, never from our code: lighteval's ``results.json`` (its corpus
pass@k) and per-doc ``metric`` column, evalscope's report (pass@k for k = 1..8, rounded by evalscope to 4 decimals)
and the aggregates its own ``MeanPassAtK`` gives. Malformed rows are rejected naming file, line and reason, and a
hypothesis test corrupts both fixtures and checks rows read = accepted + rejected with no crash. Where the tools are
installed (or ``RLVR_LIGHTEVAL_PYTHON`` / ``RLVR_EVALSCOPE_PYTHON`` name a Python that has them), their writers run
afresh on generations built here; else those tests skip, saying why. The ``load_counts`` / ``real analyze`` tests run
once the two formats are wired into ``real.logs.importers``.
"""

import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real.logs import importers
from real.logs.analysis import per_problem_pass_at_k
from real.logs.answers import AnswerEquivalence
from real.logs.formats.evalscope import DETECT_FIELDS as ES_FIELDS
from real.logs.formats.evalscope import EvalscopeImport
from real.logs.formats.lighteval import DETECT_FIELDS as LE_FIELDS
from real.logs.formats.lighteval import LightevalImport
from real.logs.schema import ImportReport, NoRecordsError, batches_to_counts

FIX = Path(__file__).resolve().parent / "fixtures"
LE_DETAILS = FIX / "lighteval" / "details_arith_0.parquet"
LE_RESULTS = FIX / "lighteval" / "results.json"
ES_REVIEWS = FIX / "evalscope" / "reviews_rlvr_arith_default.jsonl"
ES_REPORT = FIX / "evalscope" / "report_rlvr_arith.json"
READERS = {"lighteval": LightevalImport, "evalscope": EvalscopeImport}


def load(kind: str, paths, equivalence=None, checkpoint=None):
    """(table, report) the way ``importers.load_counts`` builds them: the format's reader on each file, then
    ``batches_to_counts``; NoRecordsError (carrying the report) when every row is rejected."""
    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    report = ImportReport(files=[str(p) for p in paths])
    reader = READERS[kind](paths)
    batches = [reader.read(p, report, None, checkpoint, equivalence) for p in paths]
    report.notes += reader.notes()
    try:
        table = batches_to_counts(batches, report, None)
    except NoRecordsError as e:
        e.report = report
        raise
    return table, report


def adds_up(rep: ImportReport) -> None:
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected, rep.summary()
    for r in rep.rejected:
        assert r.file and r.line >= 1 and ": " in r.reason, r


def tool_pass_at_k(table, ks) -> list:
    """pass@k per k of the table's one checkpoint: the mean over problems of ``per_problem_pass_at_k``, the estimate
    ``real analyze`` reports (``checkpoint_metrics``, whose first call compiles its maj@k: the CLI test runs it)."""
    return [float(np.nanmean(per_problem_pass_at_k(table, k)[0])) for k in ks]


def evalscope_report_scores() -> dict:
    """{k: pass@k} (k = 0: mean accuracy) from evalscope's own report of the fixture run."""
    out = {}
    for m in json.loads(ES_REPORT.read_text())["metrics"]:
        ident = m["identity"]
        if ident["name"] == "accuracy" and ident["aggregation"] == "pass_at_k":
            out[ident["dimensions"]["k"]] = m["score"]
        elif ident["name"] == "accuracy" and ident["aggregation"] == "mean":
            out[0] = m["score"]
    return out


# ------------------------------------------------------------------------------------------ the tools' own numbers
def test_lighteval_details_give_the_pass_at_k_of_its_results_json():
    results = json.loads(LE_RESULTS.read_text())["results"]["arith|0"]
    with AnswerEquivalence() as eq:
        table, rep = load("lighteval", LE_DETAILS, eq)
    adds_up(rep)
    assert (rep.rows_read, rep.n_rejected) == (240, 0) and table.shape[:2] == (1, 30)
    assert (table.n_samples == 8).all()
    ours = tool_pass_at_k(table, (1, 4))
    assert ours == pytest.approx([results["pass@k:k=1&n=8"], results["pass@k:k=4&n=8"]], abs=1e-12)
    # lighteval's own per-doc values, recomputed from our re-extracted and re-graded answers, doc by doc
    assert any("pass@k:k=1&n=8 matches our re-grading on 30/30" in n for n in rep.notes), rep.notes
    assert any("pass@k:k=4&n=8 matches our re-grading on 30/30" in n for n in rep.notes), rep.notes


def test_evalscope_reviews_give_the_pass_at_k_of_its_report():
    tool = evalscope_report_scores()
    assert sorted(tool) == list(range(9))
    assert all(round(v, 4) == v for v in tool.values())  # evalscope's report rounds to 4 decimals: hence the tolerance
    with AnswerEquivalence() as eq:
        table, rep = load("evalscope", ES_REVIEWS, eq)
    adds_up(rep)
    assert (rep.rows_read, rep.n_rejected) == (160, 0) and table.shape[:2] == (1, 20)
    assert (table.n_samples == 8).all() and list(table.problem_ids) == [str(g) for g in range(20)]
    ours = tool_pass_at_k(table, range(1, 9))
    assert ours == pytest.approx([tool[k] for k in range(1, 9)], abs=5e-5 + 1e-12)
    assert ours[0] == pytest.approx(tool[0], abs=5e-5 + 1e-12)
    assert any("agrees with evalscope's verdict on 160/160" in n for n in rep.notes), rep.notes


def test_checkpoint_label_comes_from_the_argument_or_the_folder():
    table, _ = load("evalscope", ES_REVIEWS, checkpoint="step_40")
    assert list(table.checkpoints) == ["step_40"]
    table, _ = load("lighteval", LE_DETAILS)
    assert list(table.checkpoints) == ["lighteval"]  # the fixture's folder (lighteval's own layout: the model folder)


def test_detect_fields_name_the_formats():
    assert set(LE_FIELDS) <= set(pq.read_schema(LE_DETAILS).names)
    assert set(ES_FIELDS) <= set(json.loads(ES_REVIEWS.read_text().splitlines()[0]))


# ------------------------------------------------------------------------------------------ bad rows, by hand
LE_ROWS = pq.read_table(LE_DETAILS).to_pylist()
ES_LINES = ES_REVIEWS.read_bytes().splitlines()


def write_rows(path: Path, rows: list) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_lighteval_rejections_name_file_row_and_reason(tmp_path):
    rows = copy.deepcopy(LE_ROWS[:8])
    rows[1]["doc"]["gold_index"] = 5
    rows[2]["model_response"]["text"] = []
    rows[2]["model_response"]["text_post_processed"] = []
    rows[3]["doc"] = None
    rows[4]["doc"]["choices"] = None
    rows[5]["metric"]["pass@k:k=1&n=8"] = 0.123  # lighteval's per-doc value altered: reported, not resolved
    rows.append(copy.deepcopy(LE_ROWS[0]))  # the same doc again: 8 duplicate samples
    f = write_rows(tmp_path / "details_bad.parquet", rows)
    table, rep = load("lighteval", f)
    adds_up(rep)
    got = {(r.line, r.category) for r in rep.rejected}
    assert {(2, "wrong value"), (3, "wrong type"), (4, "wrong type"), (5, "wrong type")} <= got
    assert {r.line for r in rep.rejected if r.category == "duplicate key"} == {9}
    assert rep.n_rejected == 4 + 8 and rep.rows_read == 4 + 8 * 5
    assert table.shape[1] == 4  # rows 1, 6, 7, 8
    assert all(str(f) == r.file for r in rep.rejected)
    note = next(n for n in rep.notes if "pass@k:k=1&n=8 matches" in n)
    assert "on 4/5 doc(s)" in note and f"{f}:6 doc" in note and "lighteval 0.123" in note  # rows 1, 6-9 compared

    two_golds = copy.deepcopy(LE_ROWS[:2])
    for r in two_golds:
        r["doc"]["gold_index"] = [0]
    two_golds[1]["doc"]["gold_index"] = [0, 0]
    _, rep = load("lighteval", write_rows(tmp_path / "details_golds.parquet", two_golds))
    assert [(r.line, r.category) for r in rep.rejected] == [(2, "wrong value")] and "one gold" in rep.rejected[0].reason

    no_response = [{k: v for k, v in r.items() if k != "model_response"} for r in LE_ROWS[:3]]
    with pytest.raises(NoRecordsError) as e:
        load("lighteval", write_rows(tmp_path / "details_none.parquet", no_response))
    assert [r.reason for r in e.value.report.rejected] == ["missing field: model_response"] * 3

    for bad, why in ((tmp_path / "x.jsonl", "are Parquet files"), (tmp_path / "cut.parquet", "not a readable Parquet file")):
        bad.write_bytes(LE_DETAILS.read_bytes()[:1000])
        with pytest.raises(ValueError, match=why) as e:
            load("lighteval", bad)
        assert str(bad) in str(e.value)


def test_evalscope_rejections_name_file_line_and_reason(tmp_path):
    first = json.loads(ES_LINES[0])

    def variant(edit) -> bytes:
        obj = copy.deepcopy(first)
        edit(obj)
        return json.dumps(obj).encode()

    lines = [
        ES_LINES[0],
        variant(lambda o: o.pop("sample_score")),
        variant(lambda o: o["sample_score"]["score"]["value"].update(accuracy=0.5)),
        variant(lambda o: o["sample_score"]["score"].update(value={}, status="error")),
        variant(lambda o: o.update(target={"a": 1})),
        variant(lambda o: o["sample_score"].update(generation_index="x")),
        b'{"index": 3, "sample_score": {"score": {"value": {"accuracy": 1.0}, "prediction": "\xff 6"}}}',
        b'{"index": 3, "sample_sc',
        ES_LINES[0],  # the same generation again
        variant(lambda o: o["sample_score"].update(group_id=None, generation_index=None)),  # old files: index, order
    ]
    f = tmp_path / "rlvr_arith_default.jsonl"
    f.write_bytes(b"\n".join(lines) + b"\n")
    table, rep = load("evalscope", f)
    adds_up(rep)
    got = {(r.line, r.category) for r in rep.rejected}
    assert got == {(2, "missing field"), (3, "wrong value"), (4, "no verdict"), (5, "wrong type"), (6, "wrong type"),
                   (7, "invalid UTF-8"), (8, "invalid JSON"), (9, "duplicate key")}
    assert rep.rows_read == 10 and table.shape[1] == 2  # group 0 and, from line 10 (no group_id), its index
    dup = next(r for r in rep.rejected if r.category == "duplicate key")
    assert f"{f}:1" in dup.reason


def test_evalscope_graders_disagreeing_is_reported_and_the_tool_verdict_kept(tmp_path):
    first = json.loads(ES_LINES[0])
    assert first["sample_score"]["score"]["value"]["accuracy"] == 1.0 and first["target"] == ["6"]
    odd = copy.deepcopy(first)  # as evalscope scored "...##### 6" in a run: its "####" regex extracts "#", wrong
    odd["sample_score"]["score"].update(prediction="5*7=5;5*9=5;5+0=5;5+1=6;##### 6", extracted_prediction="#",
                                        value={"accuracy": 0.0})
    odd["sample_score"]["generation_index"] = 8
    f = tmp_path / "r.jsonl"
    f.write_bytes(ES_LINES[0] + b"\n" + json.dumps(odd).encode() + b"\n")
    table, rep = load("evalscope", f)
    assert int(table.n_correct[0, 0]) == 1 and int(table.n_samples[0, 0]) == 2  # evalscope's verdicts
    assert table.wrong_answers[0, 0][0] == "#"
    note = next(n for n in rep.notes if "agrees with evalscope's verdict" in n)
    assert "on 1/2 line(s)" in note and f"{f}:2 problem 0 (evalscope wrong, ours correct)" in note


# ------------------------------------------------------------------------------------------ corruption
_NUMBER = re.compile(rb"(?<=[:,\[ ])-?\d+(?:\.\d+)?(?=[,}\]\n ])")
_PAIR = re.compile(rb'"[^"\n]{1,40}":\s*[^,{}\[\]\n]{1,40},')
_KEY = re.compile(rb'"(?:index|sample_score|score|value|group_id|generation_index|target|prediction|extracted_prediction)"')


def corrupt_text(data: bytes, op: str, k: int) -> bytes:
    """One corruption of a JSON-lines file at a position chosen by ``k``."""
    i = k % max(len(data), 1)
    if op == "truncate":
        return data[:i]
    if op == "non_utf8":
        return data[:i] + b"\xff\xfe\x80" + data[i:]
    if op == "duplicate_line":
        lines = data.split(b"\n")
        j = k % len(lines)
        return b"\n".join(lines[:j + 1] + [lines[j]] + lines[j + 1:])
    pattern = {"wrong_type": _NUMBER, "duplicate_key": _PAIR, "missing_field": _KEY}[op]
    matches = list(pattern.finditer(data))
    if not matches:
        return data
    m = matches[k % len(matches)]
    if op == "wrong_type":
        new = [b'"abc"', b"[1, 2]", b"true", b'{"a": 1}', b"null", b"0.5", b"-3"][k % 7]
    elif op == "duplicate_key":
        new = m.group() + b" " + m.group()
    else:
        new = m.group()[:-1] + b'_x"'
    return data[:m.start()] + new + data[m.end():]


def corrupt_rows(rows: list, op: str, k: int) -> list:
    """One corruption of the details rows (values in the table) at a position chosen by ``k``; an op whose target an
    earlier op already removed (a dropped column, a null struct) leaves the rows as they are."""
    rows = copy.deepcopy(rows)
    try:
        _corrupt_rows(rows, op, k)
    except (KeyError, TypeError, IndexError, AttributeError):
        pass
    return rows


def _corrupt_rows(rows: list, op: str, k: int) -> None:
    r = rows[k % len(rows)]
    if op == "null_value":
        path = [("doc",), ("model_response",), ("doc", "choices"), ("doc", "gold_index"), ("doc", "id"),
                ("model_response", "text"), ("model_response", "text_post_processed"), ("metric",)][k % 8]
        holder = r
        for key in path[:-1]:
            holder = holder[key]
        holder[path[-1]] = None
    elif op == "bad_value":
        r["doc"]["gold_index"] = [-1, 1, 7, 10**6][k % 4]
    elif op == "empty_text":
        r["model_response"]["text"] = []
    elif op == "duplicate_row":
        rows.insert(k % len(rows), copy.deepcopy(r))
    elif op == "missing_field":
        key = ["doc", "model_response", "metric"][k % 3]
        for row in rows:
            row.pop(key, None)
    elif op == "wrong_column_type":
        key = ["doc", "model_response", "metric"][k % 3]
        for row in rows:
            if key in row:
                row[key] = repr(row[key]) if k % 2 else (len(repr(row[key])) if row[key] is not None else None)
    elif op == "non_utf8_text":
        for row in rows:
            texts = row["model_response"]["text"] if isinstance(row.get("model_response"), dict) else None
            if texts:
                row["model_response"]["text"] = [t.encode() if isinstance(t, str) else t for t in texts]
        r_texts = r["model_response"]["text"]
        if r_texts:
            r_texts[0] = b"\xff\xfe" + r_texts[0]


def check_import(kind: str, path: Path) -> None:
    """Import a (possibly corrupted) file: either a report that adds up, or a ValueError naming the file."""
    try:
        _, rep = load(kind, path)
    except NoRecordsError as e:
        adds_up(e.report)
        assert e.report.rows_accepted == 0
        return
    except ValueError as e:  # the whole file unreadable (a Parquet file without its footer)
        assert kind == "lighteval" and str(path) in str(e), e
        return
    adds_up(rep)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["truncate", "non_utf8", "duplicate_line", "wrong_type", "duplicate_key",
                                               "missing_field"]), st.integers(0, 10**6)), min_size=1, max_size=3))
def test_corrupted_evalscope_reviews_never_crash_and_add_up(tmp_path, ops):
    data = b"\n".join(ES_LINES[:24]) + b"\n"
    for op, k in ops:
        data = corrupt_text(data, op, k)
    path = tmp_path / "rlvr_arith_default.jsonl"
    path.write_bytes(data)
    check_import("evalscope", path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(["null_value", "bad_value", "empty_text", "duplicate_row", "missing_field",
                                               "wrong_column_type", "non_utf8_text", "truncate", "flip"]),
                              st.integers(0, 10**6)), min_size=1, max_size=3))
def test_corrupted_lighteval_details_never_crash_and_add_up(tmp_path, ops):
    rows = LE_ROWS[:6]
    raw_ops = [(op, k) for op, k in ops if op in ("truncate", "flip")]
    for op, k in ops:
        if op not in ("truncate", "flip"):
            rows = corrupt_rows(rows, op, k)
    path = tmp_path / "details_arith_0.parquet"
    try:
        write_rows(path, rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        # pyarrow cannot hold these rows in one table (e.g. bytes and strings in one list column): write the
        # offending column as opaque strings instead, as a foreign writer might
        rows = [{k: (v if not isinstance(v, (dict, list)) else repr(v)) for k, v in row.items()} for row in rows]
        write_rows(path, rows)
    data = path.read_bytes()
    for op, k in raw_ops:
        if not data:
            break
        i = k % len(data)
        data = data[:i] if op == "truncate" else data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:]
    path.write_bytes(data)
    check_import("lighteval", path)


# ------------------------------------------------------------------------------------------ the tools' writers, afresh
def tool_python(module: str, env_var: str) -> str:
    """A Python that has ``module`` (``env_var`` if set, else this one when it has the tool); skips the test otherwise."""
    exe = os.environ.get(env_var)
    if exe:
        if not Path(exe).exists():
            pytest.skip(f"{env_var}={exe} does not exist")
        return exe
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed here (its own writer cannot run; install it, see fixtures/{module}/make_fixture.py, "
                    f"or set {env_var} to a Python that has it)")
    return sys.executable


def run_writer(exe: str, maker: Path, spec: dict, out: Path) -> None:
    spec_file = out.parent / f"{out.name}_spec.json"
    spec_file.write_text(json.dumps(spec))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    proc = subprocess.run([exe, str(maker), "writer", str(spec_file), str(out)], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_lighteval_own_writer_afresh(tmp_path):
    exe = tool_python("lighteval", "RLVR_LIGHTEVAL_PYTHON")
    docs = [  # 8 generations each; lighteval's GSM8K normalizer needs "#### ", extract_answer falls back to the last number
        {"id": "a", "query": "Q:1+2=", "gold": "3", "texts": ["1+2=3;#### 3"] * 3 + ["1+2=4;#### 4"] * 5},
        {"id": "b", "query": "Q:2*4=", "gold": "8", "texts": ["2*4=8;#### 8", "2*4=8", "2*4=8", "2*4=6;#### 6"] * 2},
        {"id": "c", "query": "Q:9-9=", "gold": "0", "texts": ["9-9=1;#### 1"] * 8},
    ]
    out = tmp_path / "le"
    run_writer(exe, FIX / "lighteval" / "make_fixture.py", {"task": "arith|0", "docs": docs}, out)
    (details,) = out.glob("details/**/details_*.parquet")
    table, rep = load("lighteval", details)
    adds_up(rep)
    assert rep.rows_read == 24 and rep.n_rejected == 0 and list(table.checkpoints) == ["writer"]
    got = {p: int(table.n_correct[0, i]) for i, p in enumerate(table.problem_ids)}
    assert got == {"a": 3, "b": 6, "c": 0}  # ours: doc b's bare "2*4=8" counts
    # lighteval's own per-doc values: doc b has 2 of 8 by its grader (3/8 for a, 0 for c agree with ours)
    k1 = next(n for n in rep.notes if "pass@k:k=1&n=8 matches" in n)
    assert "on 2/3 doc(s)" in k1 and "doc b (lighteval 0.25, ours 0.75)" in k1
    k4 = next(n for n in rep.notes if "pass@k:k=4&n=8 matches" in n)
    assert "on 2/3 doc(s)" in k4 and "doc b (lighteval 0.785714, ours 1)" in k4


def test_evalscope_own_writer_afresh(tmp_path):
    exe = tool_python("evalscope", "RLVR_EVALSCOPE_PYTHON")
    docs = [{"query": "Q:1+2=", "gold": "3", "texts": ["1+2=3;#### 3", "1+2=4;#### 4", "1+2=3", "1+2=3;#### 3"]},
            {"query": "Q:2*2=", "gold": "4", "texts": ["2*2=4;#### 4", "##### 4", "2*2=5;#### 5", "x"]},
            {"query": "Q:7-7=", "gold": "0", "texts": ["7-7=0;#### 0"] * 4}]
    out = tmp_path / "es"
    run_writer(exe, FIX / "evalscope" / "make_fixture.py", {"docs": docs}, out)
    tool = {a["k"]: a["score"] for a in json.loads((out / "aggregates.json").read_text()) if a["aggregation"] == "pass_at_k"}
    table, rep = load("evalscope", out / "reviews" / "writer" / "rlvr_arith_default.jsonl")
    adds_up(rep)
    assert rep.rows_read == 12 and rep.n_rejected == 0
    assert [int(c) for c in table.n_correct[0]] == [2, 1, 4]  # evalscope's verdicts, kept
    assert tool_pass_at_k(table, range(1, 5)) == pytest.approx([tool[k] for k in range(1, 5)], abs=1e-12)
    note = next(n for n in rep.notes if "agrees with evalscope's verdict" in n)
    assert "on 10/12 line(s)" in note  # "1+2=3" (no "#### ") and "##### 4": our extract_answer finds the gold
    assert ":3 problem 0 (evalscope wrong, ours correct)" in note and ":6 problem 1 (evalscope wrong, ours correct)" in note


# ------------------------------------------------------------------------------------------ once wired into importers
def wired(fmt: str):
    return pytest.mark.skipif(fmt not in importers.FORMATS, reason="not wired into importers yet")


@wired("lighteval")
def test_load_counts_lighteval(tmp_path):
    assert importers.detect_format(LE_DETAILS) == "lighteval"
    results = json.loads(LE_RESULTS.read_text())["results"]["arith|0"]
    table, rep = importers.load_counts(LE_DETAILS, format="lighteval")
    adds_up(rep)
    assert tool_pass_at_k(table, (1, 4)) == pytest.approx([results["pass@k:k=1&n=8"], results["pass@k:k=4&n=8"]], abs=1e-12)
    auto, _ = importers.load_counts(LE_DETAILS)
    assert auto.problem_ids == table.problem_ids


@wired("evalscope")
def test_load_counts_evalscope():
    assert importers.detect_format(ES_REVIEWS) == "evalscope"
    tool = evalscope_report_scores()
    table, rep = importers.load_counts(ES_REVIEWS, format="evalscope")
    adds_up(rep)
    assert tool_pass_at_k(table, range(1, 9)) == pytest.approx([tool[k] for k in range(1, 9)], abs=5e-5 + 1e-12)


@pytest.mark.parametrize("fmt", ["lighteval", "evalscope"])
def test_real_analyze_reports_the_tools_pass_at_k(tmp_path, fmt):
    if fmt not in importers.FORMATS:
        pytest.skip("not wired into importers yet")
    from real.__main__ import main

    path, ks = (LE_DETAILS, (1, 4)) if fmt == "lighteval" else (ES_REVIEWS, (1, 2, 4, 8))
    if fmt == "lighteval":
        res = json.loads(LE_RESULTS.read_text())["results"]["arith|0"]
        tool, tol = {1: res["pass@k:k=1&n=8"], 4: res["pass@k:k=4&n=8"]}, 1e-12
    else:
        tool, tol = evalscope_report_scores(), 5e-5 + 1e-12
    out = tmp_path / "out"
    assert main(["analyze", str(path), "--out", str(out), "--boot", "20", "--ks", ",".join(map(str, ks))]) == 0
    t = pq.read_table(out / "metrics.parquet").to_pylist()
    got = {r["k"]: r["estimate"] for r in t if r["metric"] == "pass_at_k"}
    assert got == pytest.approx({k: tool[k] for k in ks}, abs=tol)
