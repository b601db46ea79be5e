"""The lab's RLVR run end to end at a toy size (plumbing; the quick run itself is an experiment), and the
resume guard: a folder holding a run of another setting is refused, naming the field, in every section."""

import json

import pytest
from helpers import toy_run_config

from real.lab.config import QUICK
from real.lab.run import StaleRunError, claim_run_folder, run_lab

TOY = toy_run_config()


def quiet(_):
    pass


def test_toy_run_writes_everything_and_resumes(tmp_path):
    out = tmp_path / "run"
    res = run_lab(out, TOY, log=quiet)
    for name in ("setting.json", "base/model.safetensors", "hf_base/config.json", "hf_base/tokenizer.json",
                 "rl/step_2/optimizer.safetensors", "rl_log.json", "samples.jsonl", "analysis/report.md",
                 "analysis/metrics.parquet", "run.json", "signals.parquet", "signals.csv", "token_positions.parquet",
                 "analysis/signals_timeline.png", "analysis/token_positions.png"):
        assert (out / name).is_file(), name
    import pyarrow.parquet as pq

    sig = pq.read_table(out / "signals.parquet").to_pylist()
    assert [r["step"] for r in sig] == [1, 2] and all("token_entropy_wrong" in r and "kl_base" in r for r in sig)
    pos = pq.read_table(out / "token_positions.parquet").to_pylist()
    assert sorted({r["checkpoint"] for r in pos}) == [0, 1, 2] and len(pos) == 3 * 10
    recs = [json.loads(x) for x in (out / "samples.jsonl").read_text().splitlines()]
    assert all(r["mean_token_entropy"] >= 0 for r in recs)
    # the checkpoint table carries each checkpoint's token-weighted entropy and branching beside pass@k
    summary = pq.read_table(out / "analysis" / "checkpoint_summary.parquet").to_pylist()
    for row in summary:
        mine = [r for r in pos if str(r["checkpoint"]) == row["checkpoint"] and r["tokens"]]
        want = sum(r["token_entropy"] * r["tokens"] for r in mine) / sum(r["tokens"] for r in mine)
        assert abs(row["token_entropy"] - want) < 1e-9 and row["branching_factor"] >= 1
    assert "token entropy" in (out / "analysis" / "report.md").read_text()
    doc = json.loads((out / "run.json").read_text())
    assert doc["steps"] == [0, 1, 2] and doc["setting"] == TOY.to_dict()
    assert json.loads((out / "setting.json").read_text()) == TOY.to_dict()
    # a target pass@1 of 1 is not reached in 20 steps: SFT runs all of them, checking every 5, and says so
    assert doc["base"]["steps"] == 20 and doc["base"]["target_reached"] is False
    assert [c[0] for c in doc["base"]["validation_pass_at_1"]] == [5, 10, 15, 20]
    assert len((out / "samples.jsonl").read_text().splitlines()) == 3 * 8 * 4  # checkpoints x problems x samples
    assert len(res["logs"]) == 2 and res["table"].shape[:2] == (3, 8)
    # a second call finds the base model and the finished RL run and does not train again
    logs = []
    res2 = run_lab(out, TOY, log=logs.append)
    assert any("loaded" in m for m in logs) and any("resuming" in m for m in logs)
    assert len(res2["logs"]) == 2  # the step logs of the first call, read back


@pytest.mark.parametrize("section, edit, field", [
    ("model", {"hidden_size": 48, "intermediate_size": 144}, "model.hidden_size"),
    ("task", {"test_problems": 9}, "task.test_problems"),
    ("task", {"rl_ops": (2, 3)}, "task.rl_ops"),
    ("sft", {"learning_rate": 1e-3}, "sft.learning_rate"),
    ("sft", {"target_pass_at_1": 0.6}, "sft.target_pass_at_1"),
    ("rl", {"advantage": "ucb_con"}, "rl.advantage"),
    ("rl", {"bonus_coef": 0.3}, "rl.bonus_coef"),
    ("evaluation", {"n_samples": 8}, "evaluation.n_samples"),
    ("seed", 1, "seed"),
])
def test_resuming_a_folder_of_another_setting_is_refused_naming_the_field(tmp_path, section, edit, field):
    claim_run_folder(tmp_path, TOY, log=quiet)
    claim_run_folder(tmp_path, TOY, log=quiet)  # the same setting resumes
    other = TOY.replace(**{section: edit})
    with pytest.raises(StaleRunError, match=rf"another setting \({field}: "):
        claim_run_folder(tmp_path, other, log=quiet)
    with pytest.raises(StaleRunError, match=rf"\({field}: "):
        run_lab(tmp_path, other, log=quiet)  # the whole run refuses before training anything
    assert not (tmp_path / "base").exists()


def test_replace_deletes_the_old_outputs_and_records_the_new_setting(tmp_path):
    claim_run_folder(tmp_path, TOY, log=quiet)
    (tmp_path / "rl").mkdir()
    (tmp_path / "samples.jsonl").write_text("{}\n")
    other = TOY.replace(rl={"steps": 3})
    logs = []
    claim_run_folder(tmp_path, other, on_stale="replace", log=logs.append)
    assert "rl.steps: 2 -> 3" in logs[0]
    assert not (tmp_path / "rl").exists() and not (tmp_path / "samples.jsonl").exists()
    assert json.loads((tmp_path / "setting.json").read_text())["rl"]["steps"] == 3


def test_a_setting_json_from_the_old_flat_format_is_refused(tmp_path):
    (tmp_path / "setting.json").write_text(json.dumps({"rl_steps": 1}))
    with pytest.raises(StaleRunError, match=r"rl_steps: 1 -> '<absent>'"):
        claim_run_folder(tmp_path, QUICK, log=quiet)


def test_cli_refuses_a_folder_of_another_setting(tmp_path, capsys):
    from real.__main__ import main

    claim_run_folder(tmp_path, QUICK, log=quiet)
    assert main(["rlvr", "--quick", "--out", str(tmp_path), "--advantage", "ucb"]) == 2
    assert "another setting (rl.advantage: 'grpo' -> 'ucb')" in capsys.readouterr().err


def test_sft_stops_at_the_target_and_held_out_prompts_leave_training(tmp_path):
    from real.lab.task import make_problems

    cfg = TOY.replace(sft={"target_pass_at_1": 0.0}, task={"sft_problems": 20000, "test_problems": 60, "validation_problems": 60})
    run_lab(tmp_path / "r", cfg, log=quiet, analyze=False)
    doc = json.loads((tmp_path / "r" / "run.json").read_text())
    assert doc["base"]["steps"] == 5 and doc["base"]["target_reached"] is True and len(doc["base"]["validation_pass_at_1"]) == 1
    # independently: how many generated training problems repeat a test or validation prompt (short problems do)
    held = {p.prompt for p in make_problems(60, [2, 3, 4, 5, 6], seed=1, prefix="t")}
    held |= {p.prompt for p in make_problems(60, [2, 3, 4, 5, 6], seed=3, prefix="v")}
    dup = sum(p.prompt in held for p in make_problems(20000, [1, 2, 3, 4, 5, 6], seed=0, prefix="s"))
    assert dup > 0 and doc["problems"]["sft_dropped_as_held_out"] == dup and doc["problems"]["sft_train"] == 20000 - dup


def test_outputs_without_a_setting_are_refused_or_replaced(tmp_path):
    (tmp_path / "samples.jsonl").write_text("{}\n")
    with pytest.raises(StaleRunError, match="holds run outputs but no setting.json"):
        claim_run_folder(tmp_path, TOY, log=quiet)
    logs = []
    claim_run_folder(tmp_path, TOY, on_stale="replace", log=logs.append)
    assert "deleting them" in logs[0] and not (tmp_path / "samples.jsonl").exists()
    assert json.loads((tmp_path / "setting.json").read_text()) == TOY.to_dict()
