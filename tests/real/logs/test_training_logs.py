"""real.logs.training_logs: every reader on files its tool wrote (committed fixtures and, where the writer runs here,
files written afresh), values checked against what the writer was given; corrupted files never crash and always add up;
``python -m real analyze --signals`` end to end.

The fixtures and the values given to each writer: ``fixtures/make_training_logs.py`` (its docstring says how each was made).
"""

import importlib.util
import json
import math
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from real.logs.training_logs import ALIASES, NEEDS, detect_format, read_training_logs

FIX = Path(__file__).resolve().parent / "fixtures"


def _generator():
    spec = importlib.util.spec_from_file_location("make_training_logs", FIX / "make_training_logs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


gen = _generator()


def _values(logs) -> dict:
    """{(run, step, raw_metric): value} of the accepted rows."""
    return {(r["run"], r["step"], r["raw_metric"]): r["value"] for r in logs.rows}


def _adds_up(logs) -> None:
    rep = logs.report
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected == len(logs.rows) + rep.n_rejected
    for r in rep.rejected:
        assert r.file and r.line >= 1 and ": " in r.reason, r


def _tb_expected(run: str) -> dict:
    want = {(run, s, tag): v for tag, pts in gen.tensorboard_values().items() for s, v in pts}
    want.update({(run, s, tag): v for tag, pts in gen.tensorboard_tensor_values().items() for s, v in pts})
    return want


# ------------------------------------------------------------------------------------------ readers
def test_tensorboard_committed_and_fresh(tmp_path):
    logs = read_training_logs(FIX / "tensorboard")  # a log directory: run = the event file's folder
    assert logs.runs == ["run_a"] and _values(logs) == _tb_expected("run_a")  # float32 holds the dyadic values exactly
    _adds_up(logs)
    assert logs.report.n_rejected == 0 and any("1 non-scalar" in n for n in logs.report.notes)  # the histogram
    names = {r["raw_metric"]: r["metric"] for r in logs.rows}
    assert names["train/entropy"] == "entropy" and names["train/kl"] == "kl" and names["custom/loss_scale"] == "custom/loss_scale"
    assert detect_format(FIX / "tensorboard" / "run_a" / "events.out.tfevents.fixture") == "tensorboard"
    pytest.importorskip("torch", reason="torch (the SummaryWriter) is not installed")
    event = gen.write_tensorboard(tmp_path)  # torch's SummaryWriter, afresh
    assert _values(read_training_logs(event)) == _tb_expected("run_a")


def test_trainer_state_committed_and_fresh(tmp_path):
    want = {("transformers", e["step"], k): v for e in gen.trainer_log_history() for k, v in e.items() if k not in ("step", "epoch")}
    for path in [FIX / "transformers" / "trainer_state.json"] + (
            [gen.write_trainer_state(tmp_path)] if importlib.util.find_spec("transformers") else []):
        logs = read_training_logs(path)
        assert detect_format(path) == "trl" and _values(logs) == want
        _adds_up(logs)
        lines = path.read_text().splitlines()
        assert all(lines[r["line"] - 1].strip() == "{" for r in logs.rows)  # each row names the line its entry starts on
    by = {(r["step"], r["raw_metric"]): r["metric"] for r in logs.rows}
    assert by[(5, "completions/mean_length")] == "response_length" and by[(20, "eval_reward")] == "eval_reward"


def test_trl_grpo_trainer_state_matches_its_own_tensorboard_events():
    # one real GRPOTrainer run, two writers: trainer_state.json (Trainer.save_state) and transformers' TensorBoardCallback
    state = read_training_logs(FIX / "trl_grpo" / "trainer_state.json")
    events = read_training_logs(FIX / "trl_grpo" / "runs")
    _adds_up(state), _adds_up(events)
    assert state.report.n_rejected == 0
    grpo = {"reward", "reward_std", "frac_reward_zero_std", "entropy", "completions/mean_length", "kl", "loss", "grad_norm"}
    assert grpo <= {r["raw_metric"] for r in state.rows}
    assert {r["step"] for r in state.rows} == {1, 2, 3}
    tb = {(r["step"], r["raw_metric"].removeprefix("train/")): r["value"] for r in events.rows}
    for r in state.rows:  # every trainer_state number is in the event file under train/<name>, as float32
        assert tb[(r["step"], r["raw_metric"])] == pytest.approx(r["value"], rel=1e-6, abs=1e-12), r
    # transformers logs train/epoch twice at the last step (the last log and the training summary): the later wins
    assert [x.reason.split(":")[0] for x in events.report.rejected] == ["duplicate key"]
    assert "train/epoch" in events.report.rejected[0].reason
    assert {r["metric"] for r in state.rows} >= {"entropy", "response_length", "reward", "kl"}
    assert state.metrics() == events.metrics() or {m.removeprefix("train/") for m in events.metrics()} >= set(state.metrics())


@pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="TRL is not installed (pip install -e '.[tools]')")
@pytest.mark.skipif(not os.environ.get("RLVR_TOOL_TESTS"),
                    reason="a live TRL GRPOTrainer run takes about 40 s on 2 cores: set RLVR_TOOL_TESTS=1 to run it")
def test_trl_grpo_trainer_live(tmp_path):
    state = read_training_logs(gen.write_trl_grpo(tmp_path))  # a fresh GRPOTrainer run, as the committed fixture was made
    events = read_training_logs(tmp_path / "trl_grpo" / "runs")
    tb = {(r["step"], r["raw_metric"].removeprefix("train/")): r["value"] for r in events.rows}
    assert state.report.n_rejected == 0 and {r["step"] for r in state.rows} == {1, 2, 3}
    for r in state.rows:
        assert tb[(r["step"], r["raw_metric"])] == pytest.approx(r["value"], rel=1e-6, abs=1e-12), r


def test_verl_file_logger(tmp_path):
    want = {("grpo_demo", s, k): v for s, data in gen.verl_records() for k, v in data.items()}
    paths = [FIX / "verl" / "grpo_demo.jsonl"]
    if gen.verl_tracking_path() is not None:  # verl's own FileLogger, afresh
        paths.append(gen.write_verl(tmp_path))
    for path in paths:
        logs = read_training_logs(path)
        assert detect_format(path) == "verl" and _values(logs) == want
        _adds_up(logs)
    assert json.loads(paths[0].read_text().splitlines()[0]).keys() == {"step", "data"}  # verl's line shape
    m = {r["raw_metric"]: r["metric"] for r in logs.rows}
    assert m["actor/entropy"] == "entropy" and m["critic/score/mean"] == "reward" and m["actor/kl_loss"] == "kl"


def test_wandb_history_and_chart_export(tmp_path):
    want = {("history", r["_step"], k): v for r in gen.wandb_history_rows() for k, v in r.items()
            if not k.startswith("_") and not math.isnan(v)}
    paths = [FIX / "wandb" / "history.csv", FIX / "wandb" / "history.jsonl"]
    if importlib.util.find_spec("pandas"):
        paths += list(gen.write_wandb_history(tmp_path))
        import pandas as pd

        pd.DataFrame(gen.wandb_history_rows()).to_json(tmp_path / "history.json")  # pandas' default JSON layout
        pd.DataFrame(gen.wandb_history_rows()).to_parquet(tmp_path / "history.parquet")  # W&B's history artifact
        paths += [tmp_path / "history.json", tmp_path / "history.parquet"]
    for path in paths:
        logs = read_training_logs(path)
        assert detect_format(path) == "wandb-history" and _values(logs) == want, path
        _adds_up(logs)
        assert any("12 null or empty" in n for n in logs.report.notes)  # eval/acc was logged every 5th step only
    chart = read_training_logs(FIX / "wandb" / "wandb_export.csv")
    want = {(col.split(" - ")[0], r["Step"], col.split(" - ")[1]): v for r in gen.wandb_chart_rows() for col, v in r.items()
            if col != "Step" and v is not None}
    assert detect_format(FIX / "wandb" / "wandb_export.csv") == "wandb-csv" and _values(chart) == want
    assert chart.runs == list(gen.WANDB_RUNS) and set(chart.metrics()) == {"reward", "reward__MIN", "reward__MAX"}
    _adds_up(chart)


def test_lab_signals(tmp_path):
    want = {("lab_run", r["step"], k): v for r in gen.signals_rows() for k, v in r.items() if k != "step"}
    fresh = gen.write_signals(tmp_path)  # real.lab.signals.write_signals, afresh
    for path in (FIX / "lab_run" / "signals.parquet", FIX / "lab_run" / "signals.csv", fresh, fresh.with_suffix(".csv")):
        logs = read_training_logs(path)
        assert detect_format(path) == "signals" and _values(logs) == want
        _adds_up(logs)
    assert {r["raw_metric"]: r["metric"] for r in logs.rows}["token_entropy"] == "entropy"
    assert read_training_logs(fresh, run="x", aliases={}).metrics() == sorted(k for k in gen.signals_rows()[0] if k != "step")


def test_undetectable_files_name_every_format_and_its_fields(tmp_path):
    f = tmp_path / "odd.jsonl"
    f.write_text('{"iteration": 1, "score": 0.5}\n')
    with pytest.raises(ValueError) as e:
        read_training_logs(f)
    msg = str(e.value)
    assert "odd.jsonl" in msg and "iteration" in msg and all(k in msg and v in msg for k, v in NEEDS.items())
    (tmp_path / "logs").mkdir()
    with pytest.raises(ValueError, match="no TensorBoard event files"):
        read_training_logs(tmp_path / "logs")
    with pytest.raises(FileNotFoundError):
        read_training_logs(tmp_path / "missing.jsonl")
    with pytest.raises(ValueError, match="format: must be one of"):
        read_training_logs(f, format="mlflow")


def test_rejections_name_file_line_and_reason(tmp_path):
    f = tmp_path / "exp.jsonl"
    lines = ['{"step": 1, "data": {"actor/entropy": 1.0, "x": "high"}}', '{"step": -1, "data": {"actor/entropy": 1.0}}',
             '{"step": 2, "step": 3, "data": {}}', '{"data": {"a": 1}}', "{broken", '{"step": 2.5, "data": {"a": 1}}',
             '{"step": 4, "data": [1, 2]}', '{"step": 5, "data": {"a": null, "b": true}}', '{"step": 1, "data": {"actor/entropy": 0.5}}']
    f.write_bytes(("\n".join(lines) + "\n").encode() + b'{"step": 6, "data": {"a": "\xff"}}\n')
    logs = read_training_logs(f, format="verl")
    _adds_up(logs)
    got = {(r.line, r.reason.split(":")[0]) for r in logs.report.rejected}
    assert got == {(1, "wrong type"), (1, "duplicate key"), (2, "wrong value"), (3, "duplicate field"), (4, "missing field"),
                   (5, "invalid JSON"), (6, "wrong type"), (7, "wrong type"), (8, "wrong type"), (10, "invalid UTF-8")}
    assert _values(logs) == {("exp", 1, "actor/entropy"): 0.5}  # the later value of step 1 wins
    dup = next(r for r in logs.report.rejected if r.category == "duplicate key")
    assert f"{f}:9" in dup.reason and any("1 null" in n for n in logs.report.notes)


# ------------------------------------------------------------------------------------------ corruption
TEXT_FIXTURES = [("transformers/trainer_state.json", "trl"), ("trl_grpo/trainer_state.json", "trl"), ("verl/grpo_demo.jsonl", "verl"),
                 ("wandb/history.csv", "wandb-history"), ("wandb/history.jsonl", "wandb-history"), ("wandb/wandb_export.csv", "wandb-csv"),
                 ("lab_run/signals.csv", "signals"), ("tensorboard/run_a/events.out.tfevents.fixture", "tensorboard")]
_NUMBER = re.compile(rb"(?<=[:,\[ ])-?\d+(?:\.\d+)?(?:e-?\d+)?(?=[,}\]\n ])")
_PAIR = re.compile(rb'"[^"\n]{1,40}":\s*[^,{}\[\]\n]{1,40},')
_STEP_KEY = re.compile(rb'"_?step"|\b_?[Ss]tep\b')


def _corrupt(data: bytes, op: str, k: int) -> bytes:
    if not data:
        return data
    i = k % len(data)
    if op == "truncate":
        return data[:i]
    if op == "non_utf8":
        return data[:i] + b"\xff\xfe\x80" + data[i:]
    if op == "flip":
        return data[:i] + bytes([data[i] ^ 0x5A]) + data[i + 1:]
    matches = list((_NUMBER if op == "wrong_type" else _PAIR if op == "duplicate_key" else _STEP_KEY).finditer(data))
    if not matches:
        return data
    m = matches[k % len(matches)]
    if op == "wrong_type":
        new = [b'"abc"', b"[1, 2]", b"true", b'{"a": 1}', b"1" * 5000][k % 5]
    elif op == "duplicate_key":
        new = m.group() + b" " + m.group()
    else:  # missing_field: the step key renamed
        new = m.group().replace(b"tep", b"tpe")
    return data[:m.start()] + new + data[m.end():]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fixture=st.sampled_from(TEXT_FIXTURES),
       ops=st.lists(st.tuples(st.sampled_from(["truncate", "non_utf8", "flip", "wrong_type", "duplicate_key", "missing_field"]),
                              st.integers(0, 10**6)), min_size=1, max_size=3))
def test_corrupted_fixtures_never_crash_and_add_up(tmp_path, fixture, ops):
    rel, fmt = fixture
    data = (FIX / rel).read_bytes()
    for op, k in ops:
        data = _corrupt(data, op, k)
    path = tmp_path / Path(rel).name
    path.write_bytes(data)
    for kw in ({"format": fmt}, {}):  # the format forced, and auto-detected (which may fail, with a ValueError)
        try:
            logs = read_training_logs(path, **kw)
        except ValueError as e:
            assert kw == {} or str(e).startswith("no data"), e
            continue
        _adds_up(logs)
        assert all(isinstance(r["value"], float) and isinstance(r["step"], int) and r["step"] >= 0 for r in logs.rows)


# ------------------------------------------------------------------------------------------ the command line
def _sample_logs(path: Path) -> None:
    """Sample records of checkpoints global_step_0/10/20 (file order 20, 0, 10): at step 10 a wrong answer overtakes
    the correct one (negative SC gain), as in test_report's table."""
    rng = np.random.default_rng(0)
    answers = {0: "AAABCD", 10: "AABBBC", 20: "AAAABE"}
    rows = []
    for ck in (20, 0, 10):
        for p in range(6):
            for i, a in enumerate(rng.permutation(list(answers[ck]))):
                rows.append({"checkpoint": f"global_step_{ck}", "problem_id": f"q{p}", "sample_index": i, "answer": str(a),
                             "correct": a == "A"})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_analyze_with_training_logs_end_to_end(tmp_path):
    from real.__main__ import main

    samples = tmp_path / "samples.jsonl"
    _sample_logs(samples)
    verl = tmp_path / "verl"
    verl.mkdir()
    shutil.copy(FIX / "verl" / "grpo_demo.jsonl", verl / "grpo_demo.jsonl")
    with open(verl / "grpo_demo.jsonl", "a") as f:
        f.write('{"step": 7, "data": {"actor/entropy": "oops"}}\n')  # one bad value: reported, not dropped silently
    out = tmp_path / "out"
    assert main(["analyze", str(samples), "--out", str(out), "--boot", "50", "--K", "5",
                 "--signals", str(verl / "grpo_demo.jsonl")]) == 0
    fig = out / "signals_timeline.png"
    assert fig.is_file() and fig.stat().st_size > 10_000
    md = (out / "report.md").read_text()
    assert "## Training logs and event study" in md and "signals_timeline.png" in md
    summary = json.loads((out / "summary.json").read_text())
    assert [r["checkpoint"] for r in summary["checkpoint_summary"]] == ["global_step_0", "global_step_10", "global_step_20"]
    assert [r["step"] for r in summary["checkpoint_summary"]] == [0, 10, 20]  # no more "step n/a", ordered by step
    ev = json.loads((out / "event_study.json").read_text())
    assert ev["events"] == ["global_step_10"] and ev["n_event_windows"] == 1 and ev["n_other_windows"] == 1
    assert [w["checkpoint"] for w in ev["windows"]] == [10, 20]
    # the windows average the verl values of steps (0, 10] and (10, 20]
    ent = {s: d["actor/entropy"] for s, d in gen.verl_records()}
    assert ev["windows"][0]["entropy"] == pytest.approx(np.mean([ent[s] for s in range(1, 11)]))
    assert ev["windows"][1]["entropy"] == pytest.approx(np.mean([ent[s] for s in range(11, 21)]))
    at = {(r["checkpoint"], r["metric"]): r for r in pq.read_table(out / "training_at_checkpoints.parquet").to_pylist()}
    assert at[("global_step_10", "entropy")]["logged_step"] == 10 and at[("global_step_10", "entropy")]["value"] == ent[10]
    assert at[("global_step_20", "reward")]["lag"] == 0 and ("global_step_0", "entropy") not in at  # verl starts at step 1
    rep = json.loads((out / "training_import_report.json").read_text())
    assert rep["rows_read"] == rep["rows_accepted"] + rep["rows_rejected"] and rep["rows_rejected"] == 1
    assert rep["rejected"][0]["line"] == 21 and rep["rejected"][0]["reason"].startswith("wrong type")


def test_analyze_signals_errors(tmp_path, capsys):
    from real.__main__ import main

    samples = tmp_path / "samples.jsonl"
    rows = [{"checkpoint": ck, "problem_id": f"q{p}", "sample_index": i, "answer": "AB"[(i + p) % 2], "correct": (i + p) % 2 == 0}
            for ck in ("base", "rl") for p in range(3) for i in range(3)]
    samples.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    sig = str(FIX / "lab_run" / "signals.parquet")
    assert main(["analyze", str(samples), "--out", str(tmp_path / "o"), "--boot", "20", "--signals", sig]) == 2
    assert "have no training step" in capsys.readouterr().err
    assert main(["analyze", str(samples), "--out", str(tmp_path / "o2"), "--boot", "20", "--signals", sig,
                 "--steps", "base=0,rl=12"]) == 0
    assert (tmp_path / "o2" / "signals_timeline.png").is_file()
    wb = str(FIX / "wandb" / "wandb_export.csv")  # two runs: the user names one
    assert main(["analyze", str(samples), "--out", str(tmp_path / "o3"), "--boot", "20", "--signals", wb, "--steps", "base=0,rl=40"]) == 2
    assert "--signals-run" in capsys.readouterr().err
    assert main(["analyze", str(samples), "--out", str(tmp_path / "o4"), "--boot", "20", "--signals", wb, "--steps", "base=0,rl=40",
                 "--signals-run", gen.WANDB_RUNS[0]]) == 0


def test_alias_map_is_explicit():
    assert ALIASES["entropy"] == ALIASES["actor/entropy"] == ALIASES["token_entropy"] == ALIASES["train/entropy"] == "entropy"
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in ALIASES.items())
