"""The lm-eval importer on a file lm-evaluation-harness itself wrote (issue 15): ``fixtures/lm_eval/``, made by
``make_lm_eval_fixture.py`` (lm-eval 0.4.13 run end to end on CPU on our lab's exported quick base model: 40 of
the lab's test problems, ``repeats: 8`` at T = 1, filters ``extract`` / ``maj@8`` / ``maj@4``, ``--log_samples``).

Every expected value comes from lm-eval's own ``results_*.json`` (or its per-doc values in the samples file),
never from our code: pass@1 = the ``extract`` filter's exact_match (lm-eval scores a doc with 8 kept answers as
the fraction equal to the target, then averages over docs), and lm-eval's maj@k = its ``maj@k`` filters' exact_match.
Tests that run lm-eval's own code (its filters and metric) skip when ``lm_eval`` is not installed.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real.logs.analysis import pass1, per_problem_maj_at_k
from real.logs.formats.lm_eval_harness import LmEvalImport, lm_eval_maj_at_k, lm_eval_majority
from real.logs.importers import detect_format, load_counts
from real.logs.schema import ImportReport, NoRecordsError

FIX = Path(__file__).parent / "fixtures" / "lm_eval"
SAMPLES = next(FIX.glob("samples_rlvr_arith_*.jsonl"))
RESULTS = json.loads(next(FIX.glob("results_*.json")).read_text())
REPORTED = RESULTS["results"]["rlvr_arith"]  # lm-eval's own numbers for this file
LINES = [json.loads(x) for x in SAMPLES.read_text().splitlines()]
FILTERS = {"extract": None, "maj@8": 8, "maj@4": 4}  # filter -> k of its vote (None: every generation kept)
HAVE_LM_EVAL = importlib.util.find_spec("lm_eval") is not None
needs_lm_eval = pytest.mark.skipif(not HAVE_LM_EVAL, reason="lm_eval is not installed (pip install 'lm_eval[hf]==0.4.13'; "
                                   "see tests/real/logs/fixtures/lm_eval/make_lm_eval_fixture.py)")


def _adds_up(rep: ImportReport) -> None:
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected, rep.summary()


def _lines_of(filt: str) -> dict:
    return {x["doc_id"]: x for x in LINES if x["filter"] == filt}


# ------------------------------------------------------------------------------------------ the committed files
def test_fixture_is_what_lm_eval_wrote():
    spec = importlib.util.spec_from_file_location("make_lm_eval_fixture", FIX / "make_lm_eval_fixture.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    assert (FIX / "rlvr_arith.yaml").read_text() == maker.TASK_YAML
    assert RESULTS["lm_eval_version"] == "0.4.13" and RESULTS["configs"]["rlvr_arith"]["repeats"] == 8
    assert RESULTS["n-samples"]["rlvr_arith"]["effective"] == 40 == len((FIX / "arith_problems.jsonl").read_text().splitlines())
    assert sum(f.stat().st_size for f in FIX.iterdir()) < 300_000
    # the layout the importer reads: one line per doc and filter, [[8 generations]], filtered [[8]] or ["vote"]
    assert Counter(x["filter"] for x in LINES) == {f: 40 for f in FILTERS}
    for x in LINES:
        assert isinstance(x["doc_id"], int) and isinstance(x["target"], str) and x["target"] == x["doc"]["gold"]
        assert len(x["resps"]) == 1 and len(x["resps"][0]) == 8 and all(isinstance(g, str) for g in x["resps"][0])
        kept = x["filtered_resps"]
        assert (len(kept) == 1 and len(kept[0]) == 8) if x["filter"] == "extract" else (len(kept) == 1 and isinstance(kept[0], str))
        assert x["metrics"] == ["exact_match"] and {"doc_hash", "prompt_hash", "target_hash", "arguments"} <= set(x)
    assert detect_format(SAMPLES) == "lm-eval"


# ------------------------------------------------------------------------------------------ ours = lm-eval's
@pytest.mark.parametrize("equivalence", [None, False])
def test_pass_at_1_is_lm_eval_exact_match_of_the_extraction_filter(equivalence):
    table, rep = load_counts(SAMPLES, equivalence=equivalence)
    ours = float(np.mean(pass1(table)))
    assert ours == pytest.approx(REPORTED["exact_match,extract"], abs=1e-12)
    assert 0 < ours < 1 and REPORTED["exact_match,extract"] == pytest.approx(0.534375)
    assert table.checkpoints == (SAMPLES.parent.name,) and len(table.problem_ids) == 40 and (table.n_samples == 8).all()
    # per problem too: our fraction correct = lm-eval's per-doc exact_match of the extract filter
    per_doc = {str(d): x["exact_match"] for d, x in _lines_of("extract").items()}
    assert {p: float(v) for p, v in zip(table.problem_ids, pass1(table)[0])} == per_doc
    assert rep.rows_read == 8 * 40 + 2 * 40 and rep.rows_accepted == 320 and rep.reasons() == {"filter not selected": 80}
    _adds_up(rep)
    note = next(n for n in rep.notes if n.startswith("lm-eval's own per-doc metrics"))
    for filt in FILTERS:  # the notes quote lm-eval's own per-doc values, whose means are its results file's
        value = float(re.search(rf"exact_match \[{re.escape(filt)}\] = ([\d.]+)", note).group(1))
        assert value == pytest.approx(REPORTED[f"exact_match,{filt}"], abs=1e-6)
    assert any("'maj@4' keeps fewer answers than generations" in n for n in rep.notes)


@pytest.mark.parametrize("filt", ["maj@4", "maj@8"])
def test_lm_eval_maj_at_k_is_its_majority_filter(filt):
    k = FILTERS[filt]
    out, rep = lm_eval_maj_at_k(SAMPLES, k)
    assert out == {SAMPLES.parent.name: {"maj_at_k": pytest.approx(REPORTED[f"exact_match,{filt}"], abs=1e-12), "n_problems": 40, "k": k}}
    _adds_up(rep)
    # doc by doc: our vote over the first k kept answers is right exactly where lm-eval's maj@k line scores 1
    report = ImportReport()
    imp = LmEvalImport([SAMPLES], "extract")
    ours = {pid: float(lm_eval_majority(ans, k) == gold) for _, _, pid, gold, ans in imp.docs(SAMPLES, report)}
    assert ours == {str(d): x["exact_match"] for d, x in _lines_of(filt).items()}


def test_tie_rule_and_our_exact_maj_at_k_differ_from_lm_eval():
    """lm-eval's tie rule decides docs of this file, and our exact maj@k (all k-subsets of the 8) is another value."""
    extract, maj4 = _lines_of("extract"), _lines_of("maj@4")
    gold_tied_lost = [d for d, x in extract.items() if len(set(Counter(x["filtered_resps"][0][:4]).values())) == 1
                      and x["target"] in x["filtered_resps"][0][:4] and x["filtered_resps"][0][0] != x["target"]]
    assert len(gold_tied_lost) >= 1  # a tie the gold answer is part of, first seen is another answer: lm-eval scores 0
    assert all(maj4[d]["exact_match"] == 0.0 and maj4[d]["filtered_resps"] == [extract[d]["filtered_resps"][0][0]]
               for d in gold_tied_lost)
    table, _ = load_counts(SAMPLES, equivalence=False)
    exact = {k: float(np.mean(per_problem_maj_at_k(table, k))) for k in (4, 8)}
    # at k = n = 8 one subset: ties credit 1/t (random tie-break) and "[invalid]" abstains; a plain reference
    ref8 = []
    for x in extract.values():
        c = Counter(a for a in x["filtered_resps"][0] if a != "[invalid]")
        top = max(c.values())
        winners = [a for a, n in c.items() if n == top]
        ref8.append((x["target"] in winners) / len(winners))
    assert exact[8] == pytest.approx(np.mean(ref8), abs=1e-12)
    assert abs(exact[4] - REPORTED["exact_match,maj@4"]) > 0.01 and abs(exact[8] - REPORTED["exact_match,maj@8"]) > 0.005


def test_analyze_command_on_the_lm_eval_file(tmp_path):
    from real.__main__ import main

    assert main(["analyze", str(SAMPLES), "--out", str(tmp_path), "--boot", "20"]) == 0
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "metrics.parquet").to_pylist()
    (p1,) = [r["estimate"] for r in rows if r["metric"] == "pass_at_k" and r["k"] == 1]
    assert p1 == pytest.approx(REPORTED["exact_match,extract"], abs=1e-12)
    rep = json.loads((tmp_path / "import_report.json").read_text())
    assert rep["rows_read"] == rep["rows_accepted"] + rep["rows_rejected"] == 400


def test_bad_lines_of_the_real_file_are_named(tmp_path):
    """Lines of the fixture made bad one way each: rejected with a reason naming the field (importer and maj@k)."""
    raw = SAMPLES.read_text().splitlines()
    first = json.loads(raw[0])
    bad = [dict(first, target=float("inf")), dict(first, filter=["extract"]), dict(first, resps="4+2=6;#### 6"),
           {k: v for k, v in first.items() if k != "resps"}, dict(first, doc_id=None),
           dict(first, doc_id=99, resps=[first["resps"][0][:3]], filtered_resps=[first["filtered_resps"][0][:3]])]
    path = tmp_path / "samples_rlvr_arith_2026-01-01T00-00-00.000000.jsonl"
    path.write_text("\n".join(raw[:40] + [json.dumps(b) for b in bad] + raw[:1]) + "\n")
    table, rep = load_counts(path, equivalence=False)
    want = [(41, "wrong type: target must be a string or number, got inf"), (42, "wrong type: filter must be a string, got ['extract']"),
            (43, "wrong type: resps must be a non-empty list of lists of strings"), (44, "missing field: resps"),
            (45, "wrong type: doc_id must be an int or non-empty string, got None")]
    assert [(r.line, r.reason[:len(w)]) for r, (_, w) in zip(rep.rejected, want)] == want
    assert {(r.line, r.category) for r in rep.rejected[5:]} == {(47, "duplicate key")} and len(rep.rejected) == 5 + 8  # doc 0 again
    assert table.n_samples[0, table.problem_ids.index("99")] == 3  # 3 generations are 3 samples
    _adds_up(rep)
    out, rep = lm_eval_maj_at_k(path, 4)
    assert [(r.line, r.category) for r in rep.rejected] == [(41, "wrong type"), (42, "wrong type"), (43, "wrong type"),
                                                            (44, "missing field"), (45, "wrong type"), (46, "too few samples"),
                                                            (47, "duplicate key")]
    assert out[tmp_path.name]["n_problems"] == 40 and rep.rows_read == 47  # doc lines
    _adds_up(rep)
    with pytest.raises(ValueError, match="k: must be an integer >= 1"):
        lm_eval_maj_at_k(path, 0)
    with pytest.raises(ValueError, match="lm_eval_filter: must be a filter name"):
        load_counts(path, lm_eval_filter=3)


def test_integer_literal_beyond_pythons_limit_is_one_rejected_line(tmp_path):
    """json.loads raises a plain ValueError (not JSONDecodeError) for an integer of more than 4300 digits: the
    shared JSON-lines reader must reject that line alone, naming it, and read on."""
    raw = SAMPLES.read_text().splitlines()[:40]
    raw[2] = raw[2].replace('"doc_id": 2,', '"doc_id": ' + "1" * 5000 + ",", 1)
    path = tmp_path / SAMPLES.name
    path.write_text("\n".join(raw) + "\n")
    table, rep = load_counts(path, format="lm-eval", equivalence=False)
    assert [(r.line, r.category) for r in rep.rejected] == [(3, "invalid JSON")] and len(table.problem_ids) == 39
    _adds_up(rep)


def test_lm_eval_majority_rules():
    assert lm_eval_majority(["1", "3", "1", "3"], 4) == "1" and lm_eval_majority(["3", "1", "1", "3"], 4) == "3"
    assert lm_eval_majority([None, None, "5", "5", "5"], 4) is None  # the "[invalid]" fallback can win
    assert lm_eval_majority(["2", "7", "7"], 1) == "2"
    for bad in (0, 2.0, True):
        with pytest.raises(ValueError, match="k:"):
            lm_eval_majority(["1"], bad)
    with pytest.raises(ValueError, match="at least k = 3"):
        lm_eval_majority(["1", "2"], 3)


# ------------------------------------------------------------------------------------------ lm-eval's own code
@needs_lm_eval
def test_lm_eval_filters_and_metric_reproduce_the_file():
    """lm-eval's own filter classes (built from the committed YAML) and exact_match, applied to the committed
    generations, give the committed filtered_resps and per-doc scores."""
    from types import SimpleNamespace

    import yaml
    from lm_eval.api.metrics import exact_match_hf_evaluate
    from lm_eval.filters import build_filter_ensemble

    task = yaml.safe_load((FIX / "rlvr_arith.yaml").read_text())
    for spec in task["filter_list"]:
        lines = _lines_of(spec["name"])
        ensemble = build_filter_ensemble(spec["name"], [(f["function"], {k: v for k, v in f.items() if k != "function"})
                                                        for f in spec["filter"]])
        instances = [SimpleNamespace(resps=lines[d]["resps"][0], doc=lines[d]["doc"], filtered_resps={}) for d in sorted(lines)]
        ensemble.apply(instances)  # lm-eval's own pipeline (as Task.apply_filters runs it)
        for d, inst in zip(sorted(lines), instances):
            out = inst.filtered_resps[spec["name"]]
            assert lines[d]["filtered_resps"] == [out]
            score = exact_match_hf_evaluate(predictions=[out], references=[lines[d]["target"]])["exact_match"]
            assert score == lines[d]["exact_match"]


@needs_lm_eval
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["1", "2", "3", None]), min_size=1, max_size=9), st.integers(1, 9))
def test_lm_eval_majority_is_lm_evals_take_first_k_and_majority_vote(answers, k):
    from lm_eval.filters.selection import MajorityVoteFilter, TakeFirstFilter, TakeKFilter

    k = min(k, len(answers))
    resps = [["[invalid]" if a is None else a for a in answers]]
    for f in (TakeKFilter(k=k), MajorityVoteFilter(), TakeFirstFilter()):
        resps = list(f.apply(resps, [None]))
    ours = lm_eval_majority(answers, k)
    assert ("[invalid]" if ours is None else ours) == resps[0]


# ------------------------------------------------------------------------------------------ corruption
_NUMBER = re.compile(rb"(?<=[:,\[ ])-?\d+(?:\.\d+)?(?=[,}\]])")
_STRING = re.compile(rb'(?<=[:,\[] )"[^"\\\n]{0,60}"(?=[,}\]])')
_PAIR = re.compile(rb'"[a-z_]{1,20}": (?:"[^"\\\n]{0,60}"|-?\d+(?:\.\d+)?),')
_KEY = re.compile(rb'"(?:doc_id|target|resps|filtered_resps|filter)"(?=: )')
_WRONG = [b'"abc"', b"[1, 2]", b"true", b"null", b'{"a": 1}', b"1e999", b"-1", b"[[]]", b"1" * 5000]


def _corrupt(data: bytes, op: str, k: int) -> bytes:
    """``data`` with one corruption: a cut, bytes that are not UTF-8, a flipped byte, a value of another type, a
    key written twice, a required key renamed, a line repeated."""
    if not data:
        return data
    i = k % len(data)
    if op == "truncate":
        return data[:i]
    if op == "truncate_line":  # one line cut short in the middle
        lines = data.split(b"\n")
        j = k % len(lines)
        lines[j] = lines[j][: (k // 7) % (len(lines[j]) + 1)]
        return b"\n".join(lines)
    if op == "non_utf8":
        return data[:i] + b"\xff\xfe\x80" + data[i:]
    if op == "flip":
        return data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:]
    if op == "duplicate_line":
        lines = data.split(b"\n")
        j = k % len(lines)
        return b"\n".join(lines[: j + 1] + [lines[j]] + lines[j + 1:])
    pattern = {"wrong_type": _NUMBER, "wrong_type_string": _STRING, "duplicate_key": _PAIR, "missing_field": _KEY}[op]
    matches = list(pattern.finditer(data))
    if not matches:
        return data
    m = matches[k % len(matches)]
    if op in ("wrong_type", "wrong_type_string"):
        new = _WRONG[k % len(_WRONG)]
    elif op == "duplicate_key":
        new = m.group() + b" " + m.group()
    else:
        new = m.group().replace(b'"', b'"x_', 1)
    return data[:m.start()] + new + data[m.end():]


OPS = ["truncate", "truncate_line", "non_utf8", "flip", "duplicate_line", "wrong_type", "wrong_type_string", "duplicate_key",
       "missing_field"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 10**7)), min_size=1, max_size=3),
       filt=st.sampled_from([None, "extract", "maj@4"]))
def test_corrupted_lm_eval_file_never_crashes_and_adds_up(tmp_path, ops, filt):
    data = SAMPLES.read_bytes()
    for op, k in ops:
        data = _corrupt(data, op, k)
    path = tmp_path / SAMPLES.name
    path.write_bytes(data)
    for kw in ({"format": "lm-eval"}, {}):  # forced, and auto-detected (which may refuse the file, with a ValueError)
        try:
            table, rep = load_counts(path, equivalence=False, lm_eval_filter=filt, **kw)
        except NoRecordsError as e:
            _adds_up(e.report)
            assert e.report.rows_accepted == 0
            continue
        except ValueError as e:
            assert kw == {} or str(e).startswith("no data"), e
            continue
        _adds_up(rep)
        assert rep.rows_accepted == int(table.n_samples.sum())
        assert all(r.line >= 1 and r.reason for r in rep.rejected)
    try:
        out, rep = lm_eval_maj_at_k(path, 4, lm_eval_filter="extract")
    except ValueError as e:
        assert str(e).startswith(("no doc accepted", "no data")) or "no such" in str(e), e
    else:
        _adds_up(rep)
        assert all(0 <= v["maj_at_k"] <= 1 and v["n_problems"] == rep.rows_accepted for v in out.values())
