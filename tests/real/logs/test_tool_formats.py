"""Importers of evaluation tools' outputs (issue 15) on files the tools' own code wrote.

Fixtures (``tests/real/logs/fixtures/{verl_dumps,verl_generation,qwen_math,opencompass}/``) were made by
``tests/real/logs/fixtures/make_tool_fixtures.py`` (its docstring: the tool, version, command and the writer each
file came from). The expected numbers are the tools' own (each folder's ``expected.json``, written by the tool's
code on the same samples), or counts taken from the raw files by plain Python here; never our importer's.
Qwen2.5-Math and OpenCompass ran end to end on our exported model. verl's trainer cannot run here (Ray, vLLM/SGLang
rollouts, GPUs): its dump writer and validation-metric functions ran from verl's own source files instead (set
VERL_SOURCE to re-run them in ``test_verl_own_writer_and_metrics_remake_the_dumps``).
"""

import importlib.util
import json
import math
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real.logs.analysis import checkpoint_metrics, pass1, per_problem_pass_at_k
from real.logs.answers import AnswerEquivalence
from real.logs.importers import DETECTION, FORMATS, detect_format, load_counts
from real.logs.schema import ImportReport, NoRecordsError

FIX = Path(__file__).parent / "fixtures"
VERL = FIX / "verl_dumps"
GEN = FIX / "verl_generation" / "global_step_0.parquet"
QWEN_DIR = FIX / "qwen_math"
OC = FIX / "opencompass"


def _maker():
    spec = importlib.util.spec_from_file_location("make_tool_fixtures", FIX / "make_tool_fixtures.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def verl_source() -> Path | None:
    """verl 0.9.1's package root: $VERL_SOURCE (an unzipped ``pip download verl==0.9.1 --no-deps`` wheel), or an installed
    verl's (found without importing it)."""
    if os.environ.get("VERL_SOURCE"):
        return Path(os.environ["VERL_SOURCE"])
    spec = importlib.util.find_spec("verl")
    return Path(list(spec.submodule_search_locations)[0]).parent if spec and spec.submodule_search_locations else None


def expected(folder: Path) -> dict:
    return json.loads((folder / "expected.json").read_text())


def qwen_file() -> Path:
    return next(f for f in QWEN_DIR.rglob("*.jsonl"))


def oc_file(kind: str) -> Path:
    return next((OC / kind).rglob("*.json"))


def mean_pass1(table, c=0) -> float:
    return float(np.mean(pass1(table)[c]))


def mean_pass_at_k(table, k, c=0) -> float:
    return float(np.mean(per_problem_pass_at_k(table, k)[c]))


def adds_up(rep) -> None:
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected
    for r in rep.rejected:
        assert r.file and r.line >= 1 and ": " in r.reason, r


@pytest.fixture(scope="module")
def eq():
    with AnswerEquivalence(use_math_verify=False) as e:
        yield e


# ------------------------------------------------------------------------------------------ verl validation dumps
@pytest.mark.parametrize("rel", ["gsm8k_reward/0.jsonl", "dapo_reward/10.jsonl", "dapo_reward/20.jsonl", "verl_0.4.1/5.jsonl"])
def test_verl_dumps_give_verls_own_pass1(rel, eq):
    path = VERL / rel
    assert detect_format(path) == "verl"
    table, rep = load_counts(path, equivalence=eq)
    ref = expected(VERL)[rel]
    key = next(k for k in ref if k.endswith("/acc/mean@4"))
    assert table.checkpoints == (path.stem,) and rep.n_rejected == 0 and rep.rows_read == 48
    assert mean_pass1(table) == pytest.approx(ref[key], abs=1e-12)  # val-core/<source>/acc/mean@4, verl's own number
    assert any("carry no uid" in n for n in rep.notes)


def test_verl_best_at_n_is_a_bootstrap_of_our_pass1(eq):
    # verl's best@N/mean draws N of the n samples *with replacement* (bootstrap_metric, 1000 draws, seed 42 for every
    # prompt), so it estimates 1 - (1 - p)^N, not the unbiased pass@N: we check it against that expectation within its
    # Monte Carlo error (its reported per-prompt sd / sqrt(1000); the draws are the same for every prompt, so the error
    # does not average out over prompts), and say that our pass@N differs by design
    for rel in ("gsm8k_reward/0.jsonl", "dapo_reward/10.jsonl", "dapo_reward/20.jsonl"):
        table, _ = load_counts(VERL / rel, equivalence=eq)
        ref = expected(VERL)[rel]
        best, sd = ref["val-core/lab/digit_arith/acc/best@4/mean"], ref["val-core/lab/digit_arith/acc/best@4/std"]
        assert float(np.mean(1 - (1 - pass1(table)[0]) ** 4)) == pytest.approx(best, abs=4 * sd / math.sqrt(1000)), rel
    assert mean_pass_at_k(load_counts(VERL / "gsm8k_reward/0.jsonl", equivalence=eq)[0], 4) == 1.0 != pytest.approx(best)


@pytest.mark.skipif(verl_source() is None, reason="verl's source is not here: set VERL_SOURCE to verl 0.9.1's unzipped wheel "
                                                  "(pip download verl==0.9.1 --no-deps; unzip)")
def test_verl_own_writer_and_metrics_remake_the_dumps(tmp_path):
    mk = _maker()
    src = verl_source()
    trainer = src / "verl/trainer/ppo/ray_trainer.py"
    write = mk.load_functions(trainer, ["_write_generations"], cls="RayPPOTrainer", env={"os": os, "json": json})["_write_generations"]
    metrics = mk.load_functions(src / "verl/trainer/ppo/metric_utils.py",
                                ["bootstrap_metric", "calc_maj_val", "process_validation_metrics"], env=mk._verl_metric_env())
    for rel in ("gsm8k_reward/0.jsonl", "dapo_reward/10.jsonl", "dapo_reward/20.jsonl"):
        rows = [json.loads(x) for x in (VERL / rel).read_text().splitlines()]
        cols = {k: [r[k] for r in rows] for k in rows[0]}
        extra = {k: v for k, v in cols.items() if k not in ("input", "output", "gts", "score", "step")}
        write(cols["input"], cols["output"], cols["gts"], cols["score"], extra, str(tmp_path / rel.split("/")[0]), rows[0]["step"])
        assert (tmp_path / rel).read_bytes() == (VERL / rel).read_bytes()  # verl's writer gives the committed bytes
        m = metrics["process_validation_metrics"](["lab/digit_arith"] * len(rows), cols["input"], extra)
        assert m["lab/digit_arith"]["acc"]["mean@4"] == pytest.approx(expected(VERL)[rel]["val-core/lab/digit_arith/acc/mean@4"])


def test_verl_dapo_dump_reads_acc_and_pred(eq):
    rows = [json.loads(line) for line in (VERL / "dapo_reward" / "20.jsonl").read_text().splitlines()]
    assert {r["score"] for r in rows} == {1.0, -1.0}  # DAPO: -1 for a wrong answer, so score > 0 = acc here
    table, rep = load_counts(VERL / "dapo_reward" / "20.jsonl", equivalence=eq)
    assert int(table.n_null.sum()) == sum(r["pred"] == "[INVALID]" for r in rows)  # pred [INVALID] = no answer
    assert int(table.n_correct.sum()) == sum(r["acc"] for r in rows)
    assert any("answers from pred for 48 row(s)" in n for n in rep.notes)
    # the reward's own parse wins over ours: a row whose pred differs from the digit in its text keeps pred
    wrong = {a for row in table.wrong_answers[0] for a in row if a is not None}
    assert wrong <= {r["pred"] for r in rows if not r["acc"]}


def test_verl_dump_folder_orders_steps_and_merges_prompts(eq):
    table, rep = load_counts(VERL / "dapo_reward", equivalence=eq)
    assert table.checkpoints == ("10", "20") and list(table.steps) == [10, 20] and len(table.problem_ids) == 12
    ref = expected(VERL)
    for c, rel in enumerate(("dapo_reward/10.jsonl", "dapo_reward/20.jsonl")):
        assert mean_pass1(table, c) == pytest.approx(ref[rel]["val-core/lab/digit_arith/acc/mean@4"], abs=1e-12)


# ------------------------------------------------------------------------------------------ verl main_generation
def test_verl_generation_parquet(eq):
    assert detect_format(GEN) == "verl-generation"
    table, rep = load_counts(GEN, equivalence=eq)
    n_prompts = pq.read_metadata(GEN).num_rows
    assert table.checkpoints == ("global_step_0",) and list(table.steps) == [0]
    assert len(table.problem_ids) == n_prompts and set(table.n_samples.ravel()) == {4} and rep.n_rejected == 0
    assert table.problem_ids[0] == "lab/digit_arith/0"  # data_source / extra_info.index
    ref = expected(GEN.parent)["global_step_0.parquet"]["test_score/lab/digit_arith"]
    assert mean_pass1(table) == pytest.approx(ref, abs=1e-12)  # verl main_eval's test_score (0/1 reward: pass@1)


# ------------------------------------------------------------------------------------------ Qwen2.5-Math
def test_qwen_math_output_gives_the_harness_accuracy():
    from real.logs.formats.qwen_math import QwenMathImport

    path = qwen_file()
    assert detect_format(path) == "qwen-math"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    table, rep = load_counts(path)
    assert table.checkpoints == ("hf_base",) and len(table.problem_ids) == len(lines) and rep.n_rejected == 0
    # pass@1 over all samples: the mean of every score entry, counted here from the raw lines
    assert mean_pass1(table) == pytest.approx(np.mean([s for x in lines for s in x["score"]]), abs=1e-12)
    # the harness's own acc (its metrics file): 100 x accuracy of each problem's first sample, rounded to 0.1
    rep2 = ImportReport()
    batch = QwenMathImport([path]).read(path, rep2)
    acc = expected(QWEN_DIR)[str(path.relative_to(QWEN_DIR))]["acc"]
    assert round(100 * float(batch.correct[batch.sample_index == 0].mean()), 1) == acc
    assert any("first sample's accuracy" in n for n in rep.notes)


def test_qwen_math_folder_skips_the_metrics_summary():
    folder = qwen_file().parent
    assert any(f.name.endswith("_metrics.json") for f in folder.iterdir())
    assert detect_format(next(folder.glob("*_metrics.json"))) == "qwen-math-metrics"
    table, rep = load_counts(folder)
    assert len(rep.files) == 2 and any("metrics summary" in n and "skipped" in n for n in rep.notes)
    with pytest.raises(ValueError, match="metrics summary"):
        load_counts(next(folder.glob("*_metrics.json")))


# ------------------------------------------------------------------------------------------ OpenCompass
def test_opencompass_results_give_its_pass_at_k():
    path = oc_file("results")
    assert detect_format(path) == "opencompass-results"
    table, rep = load_counts(path)
    ref = expected(OC)[str(path.relative_to(OC))]
    assert table.checkpoints == ("lab_hf_base",) and set(table.n_samples.ravel()) == {4} and rep.n_rejected == 0
    assert 100 * mean_pass1(table) == pytest.approx(ref["accuracy (4 runs average)"], abs=1e-9)
    m = checkpoint_metrics(table, ks=[1, 2, 4], n_boot=10)  # what `real analyze` reports
    for j, k in enumerate((1, 2, 4)):  # OpenCompass's G-Pass@k_0.0 is the unbiased pass@k (x 100)
        assert 100 * m["pass_at_k"]["estimate"][0, j] == pytest.approx(ref[f"G-Pass@{k}_0.0"], abs=1e-9)


def test_opencompass_predictions_regraded_by_us_agree():
    path = oc_file("predictions")
    assert detect_format(path) == "opencompass-predictions"
    table, rep = load_counts(path)
    ref = expected(OC)[str(oc_file("results").relative_to(OC))]
    # the same generations graded by our extraction and equivalence instead of gsm8k_postprocess + Gsm8kEvaluator
    assert set(table.n_samples.ravel()) == {4} and rep.n_rejected == 0
    assert 100 * mean_pass1(table) == pytest.approx(ref["accuracy (4 runs average)"], abs=1e-9)
    assert any("grouped into" in n for n in rep.notes)


def test_opencompass_older_details_and_edge_cases(tmp_path):
    # OpenCompass <= 0.3 wrote the evaluator's details as an object of single samples; format_details adds "type"
    doc = {"accuracy": 50.0, "details": {
        "type": "GEN",
        "0": {"pred": "6", "answer": "6", "correct": True},
        "1": {"pred": "NULL", "answer": "8", "correct": False},           # gsm8k_postprocess found no number
        "2": {"pred": "3", "answer": ["3", "three"], "correct": True},    # several references: gold left null
        "3": {"predictions": "4", "references": "5"},                     # format_details without a verdict
        "4": {"pred": ["1", "2"], "answer": ["2", "2"], "correct": [False]}}}
    d = tmp_path / "m1"
    d.mkdir()
    (d / "ds.json").write_text(json.dumps(doc, indent=4))
    assert detect_format(d / "ds.json") == "opencompass-results"
    table, rep = load_counts(d / "ds.json")
    assert table.checkpoints == ("m1",) and table.problem_ids == ("0", "1", "2")
    assert table.n_correct.tolist() == [[1, 0, 1]] and table.n_null.tolist() == [[0, 1, 0]]
    assert [(r.line, r.reason) for r in rep.rejected] == [
        (23, "missing field: correct (the entry carries no evaluator verdict)"),
        (27, "inconsistent counts: correct has 1 entries but pred has 2")]
    assert any("list of references" in n for n in rep.notes)
    adds_up(rep)


# ------------------------------------------------------------------------------------------ detection
def test_undetectable_file_lists_every_format_with_its_fields(tmp_path):
    f = tmp_path / "mystery.jsonl"
    f.write_text(json.dumps({"question": "q", "completion": "c"}) + "\n")
    with pytest.raises(ValueError) as e:
        detect_format(f)
    msg = str(e.value)
    assert "mystery.jsonl" in msg and "completion, question" in msg
    for name, fields, _ in DETECTION:
        if name in FORMATS:
            assert f"{name}: {fields}" in msg, name
    for name in FORMATS[1:]:
        assert name in msg, name


# ------------------------------------------------------------------------------------------ bad input
def _json_lines_corruptions(data: bytes, rng: random.Random, op: str) -> bytes:
    lines = data.split(b"\n")
    i = rng.randrange(len([x for x in lines if x.strip()]))
    obj = json.loads(lines[i])
    key = rng.choice(sorted(obj))
    if op == "truncate":
        lines[i] = lines[i][: rng.randrange(1, len(lines[i]))]
    elif op == "wrong_type":
        obj[key] = rng.choice([{"x": 1}, [1.5], True, None, 7.25])
        lines[i] = json.dumps(obj).encode()
    elif op == "missing":
        del obj[key]
        lines[i] = json.dumps(obj).encode()
    elif op == "non_utf8":
        at = rng.randrange(1, len(lines[i]))
        lines[i] = lines[i][:at] + b"\xff\xfe" + lines[i][at:]
    elif op == "duplicate":
        lines.insert(i, lines[rng.randrange(len(lines) - 1)])
    return b"\n".join(lines)


def _document_corruptions(data: bytes, rng: random.Random, op: str) -> bytes:
    text = data.decode()
    if op == "truncate":
        return data[: rng.randrange(1, len(data))]
    if op == "non_utf8":
        at = rng.randrange(1, len(data))
        return data[:at] + b"\xff" + data[at:]
    doc = json.loads(text)
    entries = doc["details"] if "details" in doc else doc
    keys = list(entries) if isinstance(entries, dict) else list(range(len(entries)))
    k = rng.choice(keys)
    entry = entries[k]
    field = rng.choice(sorted(entry))
    if op == "wrong_type":
        entry[field] = rng.choice([{"x": 1}, 3.5, True, None, [None]])
    elif op == "missing":
        del entry[field]
    elif op == "duplicate" and isinstance(entries, dict):  # the same key twice in the object: json.load keeps the last
        out = json.dumps(doc, indent=4)
        first = out.index(f'"{k}": ')
        return (out[:first] + f'"{k}": {json.dumps(entry)},\n    ' + out[first:]).encode()
    elif op == "duplicate":
        entries.insert(k, entry)
    return json.dumps(doc, indent=4).encode()


def _parquet_corruption(path: Path, out: Path, rng: random.Random, op: str) -> None:
    rows = pq.read_table(path).to_pylist()
    i = rng.randrange(len(rows))
    if op == "wrong_type":
        rows[i]["responses"] = rng.choice([[], None, ["ok", None]])
    elif op == "missing":
        rows[i]["reward_model"] = rng.choice([None, {"style": "rule", "ground_truth": None}])
    elif op == "duplicate":
        rows.insert(i, rows[rng.randrange(len(rows))])
    elif op == "truncate":
        rows[i]["responses"] = [r[: len(r) // 2] for r in rows[i]["responses"]]
    pq.write_table(pa.Table.from_pylist(rows), out)
    if op == "non_utf8":  # Parquet's writer refuses invalid UTF-8 in strings: damage the file's bytes instead
        data = bytearray(out.read_bytes())
        at = rng.randrange(4, len(data) - 4)
        data[at] ^= 0xFF
        out.write_bytes(bytes(data))


CORRUPTIBLE = [("verl", "verl_dumps/dapo_reward/20.jsonl"), ("verl", "verl_dumps/verl_0.4.1/5.jsonl"),
               ("verl-generation", "verl_generation/global_step_0.parquet"), ("qwen-math", None),
               ("opencompass-predictions", None), ("opencompass-results", None)]


def _fixture_path(fmt, rel) -> Path:
    if rel is not None:
        return FIX / rel
    if fmt == "qwen-math":
        return qwen_file()
    return oc_file("predictions" if fmt == "opencompass-predictions" else "results")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(CORRUPTIBLE), st.lists(st.sampled_from(["truncate", "wrong_type", "missing", "non_utf8", "duplicate"]),
                                               min_size=1, max_size=3), st.integers(0, 2**16))
def test_corrupted_tool_files_account_for_every_row(tmp_path, eq, case, ops, seed):
    fmt, rel = case
    src = _fixture_path(fmt, rel)
    rng = random.Random(seed)
    dst = tmp_path / f"{seed}_{len(ops)}{src.suffix}"
    if src.suffix == ".parquet":
        shutil.copy(src, dst)
        for op in [o for o in ops if o != "non_utf8"] + ["non_utf8"] * ("non_utf8" in ops):  # damaged bytes once, last
            _parquet_corruption(dst, dst, rng, op)
    else:
        data = src.read_bytes()
        for op in ops:
            try:
                data = (_document_corruptions if src.suffix == ".json" else _json_lines_corruptions)(data, rng, op)
            except (ValueError, KeyError, IndexError, AttributeError, TypeError, UnicodeDecodeError):
                break  # a previous corruption left nothing this one can parse: keep what we have
        dst.write_bytes(data)
    try:
        table, rep = load_counts(dst, format=fmt, equivalence=eq)
    except NoRecordsError as e:  # every row rejected: the report still accounts for them
        rep = e.report
        assert rep.rows_accepted == 0 and rep.n_rejected >= 1
    except ValueError as e:  # only a Parquet file whose bytes no longer decode fails as a whole, naming the file
        assert src.suffix == ".parquet" and "non_utf8" in ops and f"{dst}: not a readable Parquet file" in str(e), e
        return
    adds_up(rep)


def test_hand_made_bad_lines_are_named(tmp_path, eq):
    good = {"input": "Q:1+1=", "output": "1+1=2;#### 2", "gts": "2", "score": 1.0, "step": 3, "acc": True, "pred": "2"}
    lines = [good, {**good, "acc": "yes"}, {**good, "pred": 2}, {k: v for k, v in good.items() if k != "output"},
             {**good, "score": float("nan")}]
    f = tmp_path / "3.jsonl"
    f.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    table, rep = load_counts(f, equivalence=eq)
    assert {r.line: r.reason for r in rep.rejected} == {
        2: "wrong type: acc must be true/false or a number, got 'yes'",
        3: "wrong type: pred must be a string or null, got 2",
        4: "missing field: output",
        5: "wrong type: score must be a number, got nan"}
    adds_up(rep)
    q = tmp_path / "gsm8k" / "out.jsonl"
    q.parent.mkdir()
    good = {"idx": 0, "question": "Q", "gt": "2", "code": ["a", "b"], "pred": ["2", ""], "report": [None, None], "score": [True, False]}
    bad = [good, {**good, "idx": 1, "score": [True]}, {**good, "idx": 2, "score": ["1", "0"]}, {**good, "idx": 3, "pred": ["", "2"]},
           {**good, "idx": 4, "gt": None}]
    q.write_text("\n".join(json.dumps(x) for x in bad) + "\n")
    table, rep = load_counts(q, checkpoint="m")
    assert {r.line: r.reason for r in rep.rejected} == {
        2: "inconsistent counts: 2 pred but 1 score entries",
        3: "wrong type: score must be a list of true/false, got ['1', '0']",
        4: "inconsistent correctness: pred[0] is empty but score[0] is true",
        5: "wrong type: gt must be a string or number, got None"}
    assert rep.rows_read == 2 + 4 and table.n_null.tolist() == [[1]]
    adds_up(rep)


def test_json_document_reader_names_entries(tmp_path):
    from real.logs.formats.files import json_document

    f = tmp_path / "d.json"
    f.write_bytes(b'{\n "0": {"a": 1},\n "1": {"a": "\xff"},\n "0": {"a": 3},\n "2": {"a": 4},\n "3": {"a": ')
    rep = ImportReport()
    top, entries = json_document(f, rep)
    assert [(line, key) for line, key, _ in entries] == [(2, "0"), (5, "2")]
    reasons = {r.line: r.reason for r in rep.rejected}
    assert reasons[3] == "invalid UTF-8: byte 0xff at line 3, column 14"
    assert reasons[4].startswith("duplicate key: '0' first seen at") and reasons[4].endswith("d.json:2")
    assert reasons[6].startswith("invalid JSON: Expecting value at line 6") and rep.rows_read == 3
    g = tmp_path / "r.json"
    g.write_text(json.dumps({"accuracy": 50.0, "details": [{"pred": ["1"], "answer": ["1"], "correct": [True]}]}, indent=4))
    rep = ImportReport()
    top, entries = json_document(g, rep, member="details")
    assert top == {"accuracy": 50.0} and entries == [(4, 0, {"pred": ["1"], "answer": ["1"], "correct": [True]})]
    rep = ImportReport()
    assert json_document(f, rep, member="details")[1] == [] and rep.n_rejected == 1 and not math.isnan(rep.rows_read)
