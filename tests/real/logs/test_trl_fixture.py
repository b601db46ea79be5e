"""The ``trl-completions`` importer on a real TRL ``GRPOTrainer`` run: its completions log, ``trainer_state.json`` and
TensorBoard events, committed under ``fixtures/trl_completions/`` (made by ``fixtures/make_trl_fixture.py``: 4 GRPO
steps on our exported base model, 8 prompts x 4 generations, our task's 0/1 verifier as the only reward function).

The expected numbers are TRL's own, read from ``trainer_state.json``: for each step s TRL logs ``reward``, the mean
over the step's generation batch of the (weight-1) reward, and ``frac_reward_zero_std``, the share of prompt groups
whose rewards are all equal; they describe the very completions TRL wrote to ``completions_0000s.parquet``. With a 0/1
reward and every prompt sampled 4 times, mean reward = mean over prompts of (correct / 4) = our pass@1 of checkpoint s,
and a group of equal rewards = a problem with 0 or 4 correct, so both must agree exactly (they are multiples of 1/32
and 1/8) if the importer reads every row, labels it with TRL's step, groups it by prompt and grades it by the reward.
"""

import importlib.util
import json
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

from real.logs.importers import detect_format, load_counts
from real.logs.schema import NoRecordsError

FIX = Path(__file__).resolve().parent / "fixtures" / "trl_completions"
COMPLETIONS = FIX / "completions"
STATE = FIX / "trainer_state.json"
FILES = sorted(COMPLETIONS.glob("completions_*.parquet"))
REWARD = "answer_correct"  # the reward function's __name__ (fixtures/make_trl_fixture.py)


def trl_logged(metric: str) -> dict:
    """{step: value} of one metric of TRL's own log_history (training steps only)."""
    hist = json.loads(STATE.read_text())["log_history"]
    return {h["step"]: h[metric] for h in hist if metric in h}


def adds_up(rep) -> None:
    assert rep.rows_read == rep.rows_accepted + rep.n_rejected, rep.summary()
    for r in rep.rejected:
        assert r.file and r.line >= 1 and ": " in r.reason, r


def pass_at_1(table) -> dict:
    """{step: mean over problems of correct / samples} of a CountsTable."""
    return {int(s): float(np.mean(table.n_correct[i] / table.n_samples[i])) for i, s in enumerate(table.steps)}


# ------------------------------------------------------------------------------------------ TRL's numbers
def test_each_steps_pass_at_1_is_the_reward_trl_logged():
    assert len(FILES) == 4 and all(detect_format(f) == "trl-completions" for f in FILES)
    table, rep = load_counts(COMPLETIONS)
    adds_up(rep)
    assert rep.n_rejected == 0 and rep.rows_read == sum(pq.ParquetFile(f).metadata.num_rows for f in FILES) == 128
    reward = trl_logged("reward")
    assert sorted(reward) == [1, 2, 3, 4] and list(table.checkpoints) == ["1", "2", "3", "4"]
    assert pass_at_1(table) == reward  # exact: both are k/32
    assert trl_logged(f"rewards/{REWARD}/mean") == reward
    assert len(table.problem_ids) == 8 and (table.n_samples == 4).all()  # 8 prompts x 4 generations at every step
    zero_std = {int(s): float(np.mean((table.n_correct[i] == 0) | (table.n_correct[i] == 4))) for i, s in enumerate(table.steps)}
    assert zero_std == trl_logged("frac_reward_zero_std")
    assert any("checkpoint = TRL's step" in n for n in rep.notes)


def _analyze(tmp_path, signals: Path, name: str) -> tuple[dict, str, dict]:
    from real.__main__ import main

    out = tmp_path / name
    assert main(["analyze", str(COMPLETIONS), "--out", str(out), "--boot", "20", "--signals", str(signals)]) == 0
    got = {r["step"]: r["estimate"] for r in pq.read_table(out / "metrics.parquet").to_pylist()
           if r["metric"] == "pass_at_k" and r["k"] == 1}
    fig = out / "signals_timeline.png"
    assert fig.is_file() and fig.stat().st_size > 10_000
    at = {(r["checkpoint"], r["metric"]): r for r in pq.read_table(out / "training_at_checkpoints.parquet").to_pylist()}
    return got, (out / "report.md").read_text(), at


def test_real_analyze_with_signals_from_trainer_state_and_tensorboard(tmp_path):
    reward = trl_logged("reward")
    got, md, at = _analyze(tmp_path, STATE, "state")  # the README's command
    assert got == reward
    section = md.split("## Training logs and event study", 1)[1]
    assert "signals_timeline.png" in md and all(m in section for m in ("reward", "entropy", "kl", "response_length"))
    for s, v in reward.items():  # TRL's step s is our checkpoint s: the signal is read at its own step
        assert at[(str(s), "reward")]["value"] == v and at[(str(s), "reward")]["lag"] == 0
    entropy = trl_logged("entropy")
    assert {s: at[(str(s), "entropy")]["value"] for s in entropy} == entropy
    got_tb, md_tb, at_tb = _analyze(tmp_path, FIX / "runs", "tensorboard")  # the same run's TensorBoard events
    assert got_tb == reward and "## Training logs and event study" in md_tb
    for s, v in entropy.items():  # float32 in the event file
        assert at_tb[(str(s), "entropy")]["value"] == pytest.approx(v, rel=1e-6)


# ------------------------------------------------------------------------------------------ reward column, threshold
def test_reward_column_must_be_named_when_there_are_several(tmp_path):
    rows = pq.read_table(FILES[0]).to_pylist()
    for r in rows:
        r["format_ok"] = 1.0  # a second reward function
    f = tmp_path / "completions_00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), f)
    with pytest.raises(ValueError, match=r"2 candidate reward columns \(answer_correct, format_ok\).*--trl-reward") as e:
        load_counts(f)
    assert str(f) in str(e.value)
    table, _ = load_counts(f, trl_reward=REWARD)
    assert pass_at_1(table) == {1: trl_logged("reward")[1]}
    assert pass_at_1(load_counts(f, trl_reward="format_ok")[0]) == {1: 1.0}
    assert pass_at_1(load_counts(f, trl_reward=REWARD, trl_threshold=1.0)[0]) == {1: 0.0}  # 1.0 is not > 1.0
    with pytest.raises(ValueError, match="reward column 'nope' not found"):
        load_counts(f, trl_reward="nope")
    with pytest.raises(ValueError, match="trl_threshold: must be a finite number"):
        load_counts(f, trl_reward=REWARD, trl_threshold=float("nan"))
    from real.__main__ import main

    assert main(["analyze", str(f), "--out", str(tmp_path / "o"), "--boot", "10", "--trl-reward", "nope"]) == 2


def test_a_repeated_generation_batch_is_rejected_not_counted_twice(tmp_path):
    shutil.copy(FILES[0], tmp_path / "completions_00001.parquet")
    rows = pq.read_table(FILES[0]).to_pylist()
    for r in rows:
        r["step"] = 2  # what TRL writes at step 2 when step 2 generated nothing (num_iterations = 2)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "completions_00002.parquet")
    table, rep = load_counts(tmp_path)
    adds_up(rep)
    assert list(table.checkpoints) == ["1"] and rep.rows_read == 64 and rep.n_rejected == 32
    assert {r.line for r in rep.rejected} == set(range(1, 33))
    assert all(r.reason.startswith("repeated batch: the same completions") and "completions_00001.parquet (step 1)" in r.reason
               for r in rep.rejected)


def test_chat_format_prompts_and_completions(tmp_path):
    src = pq.read_table(FILES[0]).to_pylist()
    rows = [{**r, "prompt": [{"role": "user", "content": r["prompt"]}],
             "completion": [{"role": "assistant", "content": r["completion"]}]} for r in src]
    f = tmp_path / "completions_00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), f)  # list<struct<role, content>> columns, as pandas writes TRL's lists of dicts
    table, rep = load_counts(f)
    adds_up(rep)
    assert rep.n_rejected == 0 and pass_at_1(table) == {1: trl_logged("reward")[1]} and len(table.problem_ids) == 8
    assert any("8 distinct" in n for n in rep.notes) and any("chat completion" in n for n in rep.notes)


def test_malformed_rows_are_named(tmp_path):
    rows = pq.read_table(FILES[0]).to_pylist()
    rows[2][REWARD] = float("nan")
    rows[4]["completion"] = None
    rows[6]["step"] = None
    rows[8]["gold"] = None  # no gold: still a valid row
    f = tmp_path / "completions_00001.parquet"
    pq.write_table(pa.Table.from_pylist(rows), f)
    table, rep = load_counts(f)
    adds_up(rep)
    assert {(r.file, r.line): r.reason for r in rep.rejected} == {
        (str(f), 3): f"wrong value: reward {REWARD} is nan (TRL writes NaN where the reward function returned None)",
        (str(f), 5): "missing value: completion is null",
        (str(f), 7): "missing value: step is null"}
    assert rep.rows_accepted == 29
    g = tmp_path / "steps.parquet"
    pq.write_table(pa.Table.from_pylist([{**r, "step": 1.5 if i == 0 else 1.0} for i, r in enumerate(rows)]), g)
    _, rep = load_counts(g)
    assert (str(g), 1, "wrong type: step must be an integer >= 0, got 1.5") in {(r.file, r.line, r.reason) for r in rep.rejected}


# ------------------------------------------------------------------------------------------ corruption
COLUMNS = ("step", "prompt", "completion", REWARD, "gold", "advantage")
WRONG = {"step": ["1", 1.5, True, [1]], "prompt": [3, 2.5, [1, 2], {"a": 1}], "completion": [7, [1], {"x": "y"}, False],
         REWARD: ["1.0", True, [1.0], {"r": 1}], "gold": [1.5, [1], {"g": 1}, True], "advantage": ["x", [1]]}


def _corrupt(rows: list, rng: random.Random, op: str) -> list:
    if not rows:
        return rows
    col = rng.choice([c for c in COLUMNS if c in rows[0]] or ["step"])
    if op == "null":
        rng.choice(rows)[col] = None
    elif op == "nan_reward" and isinstance(rows[0].get(REWARD), float):  # (a column of another type holds no NaN)
        rng.choice(rows)[REWARD] = float("nan")
    elif op == "wrong_type":  # Parquet columns hold one type: the whole column gets another one
        bad = rng.choice(WRONG[col])
        for r in rows:
            r[col] = bad
    elif op == "missing":
        for r in rows:
            r.pop(col, None)
    elif op == "duplicate":
        rows.insert(rng.randrange(len(rows)), dict(rng.choice(rows)))
    return rows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FILES), st.lists(st.sampled_from(["null", "nan_reward", "wrong_type", "missing", "duplicate"]), max_size=3),
       st.sampled_from(["none", "truncate", "flip"]), st.sampled_from(["trl-completions", "auto"]), st.integers(0, 2**16))
def test_corrupted_completions_account_for_every_row(tmp_path, src, ops, damage, fmt, seed):
    rng = random.Random(seed)
    rows = pq.read_table(src).to_pylist()
    for op in ops:
        rows = _corrupt(rows, rng, op)
    dst = tmp_path / f"c{seed}_{len(ops)}.parquet"
    pq.write_table(pa.Table.from_pylist(rows), dst)
    if damage != "none":  # the file's bytes: cut short, or one byte flipped
        data = bytearray(dst.read_bytes())
        at = rng.randrange(1, len(data) - 1)
        dst.write_bytes(bytes(data[:at]) if damage == "truncate" else bytes(data[:at]) + bytes([data[at] ^ 0x5A]) + bytes(data[at + 1:]))
    try:
        table, rep = load_counts(dst, format=fmt)
    except NoRecordsError as e:  # every row rejected: the report still accounts for them
        rep = e.report
        assert str(dst) in str(e) and rep.rows_accepted == 0 and rep.n_rejected >= 1
    except ValueError as e:  # a file that does not decode, an undetectable file, no reward column: named, never a crash
        assert str(dst) in str(e), e
        if damage == "none" and fmt == "trl-completions":
            assert "reward column" in str(e) or "not a readable Parquet file" in str(e), e
        return
    adds_up(rep)
    assert all(r.file == str(dst) and 1 <= r.line <= rep.rows_read for r in rep.rejected)
    if damage == "none":
        assert rep.rows_read == len(rows)


# ------------------------------------------------------------------------------------------ the maker, live
@pytest.mark.skipif(importlib.util.find_spec("trl") is None, reason="TRL is not installed (pip install -e '.[tools]')")
@pytest.mark.skipif(not os.environ.get("RLVR_TOOL_TESTS"),
                    reason="a live TRL GRPOTrainer run takes about 25 s on 2 cores: set RLVR_TOOL_TESTS=1 to run it")
def test_make_trl_fixture_live(tmp_path):
    spec = importlib.util.spec_from_file_location("make_trl_fixture", FIX.parent / "make_trl_fixture.py")
    maker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(maker)
    model = os.environ.get("RLVR_TRL_MODEL")  # our exported base model (the fixture's); else a random one of its shape
    if model is None:
        import jax

        from real.lab.config import QUICK
        from real.lab.hf_export import export_hf
        from real.lab.model import init_params
        from real.lab.tokenizer import CharTokenizer

        model = export_hf(tmp_path / "hf_random", init_params(QUICK.model, jax.random.key(0)), QUICK.model, CharTokenizer())
    out = maker.run_grpo(Path(model), tmp_path / "fresh", steps=2)
    table, rep = load_counts(out / "completions")
    hist = json.loads((out / "trainer_state.json").read_text())["log_history"]
    adds_up(rep)
    assert rep.n_rejected == 0 and pass_at_1(table) == {h["step"]: h["reward"] for h in hist if "reward" in h}
