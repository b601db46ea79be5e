"""The real RLVR pipeline end to end at a toy size (plumbing; the quick run itself is an experiment)."""

import json

from real.lab.run import PipelineConfig, run_rlvr

TOY = PipelineConfig(hidden_size=32, layers=1, heads=2, sft_steps=20, sft_batch=16, n_train=500, rl_steps=2, rl_batch=4,
                     rl_rollouts=4, checkpoint_every=1, n_test=8, n_eval=4, base_target=1.01, sft_eval_every=5, n_val=6,
                     n_val_samples=2)


def test_toy_pipeline_writes_everything_and_resumes(tmp_path):
    out = tmp_path / "real_rlvr"
    res = run_rlvr(out, cfg=TOY, log=lambda s: None)
    for name in ("base/model.safetensors", "hf_base/config.json", "hf_base/tokenizer.json", "rl/step_2/optimizer.safetensors",
                 "samples.jsonl", "analysis/report.md", "analysis/metrics.parquet", "validation.png", "summary.json"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    assert s["name"] == "real_rlvr" and len(s["claims"]) == len(res["claims"]) == 6 and s["steps"] == [0, 1, 2]
    # an unreachable target: SFT runs all its steps, checking the validation set every 5 steps, and says so
    assert s["base"]["steps"] == 20 and s["base"]["target_reached"] is False
    assert [c[0] for c in s["base"]["validation_pass_at_1"]] == [5, 10, 15, 20]
    lines = (out / "samples.jsonl").read_text().splitlines()
    assert len(lines) == 3 * 8 * 4  # checkpoints x problems x samples
    assert s["validation"]["eta"]["max_relative_deviation"] < 1e-4  # eta on real rollouts = theory
    # a second call finds the base model and the finished RL run and does not train again
    logs = []
    run_rlvr(out, cfg=TOY, log=logs.append)
    assert any("loaded" in m for m in logs) and any("resuming" in m for m in logs)
    # a folder holding a run of another setting is refused, naming the field, or replaced on request
    from dataclasses import replace

    import pytest

    other = replace(TOY, rl_steps=3)
    with pytest.raises(ValueError, match=r"another setting \(rl_steps: 2 -> 3\)"):
        run_rlvr(out, cfg=other, log=lambda s: None)
    logs = []
    run_rlvr(out, cfg=other, log=logs.append, replace_stale=True)
    assert not any("loaded" in m or "resuming" in m for m in logs)
    assert json.loads((out / "summary.json").read_text())["steps"] == [0, 1, 2, 3]
    assert json.loads((out / "setting.json").read_text())["rl_steps"] == 3


def test_cli_refuses_a_folder_of_another_setting(tmp_path, capsys):
    from real.__main__ import main

    (tmp_path / "setting.json").write_text(json.dumps({"rl_steps": 1}))
    assert main(["rlvr", "--quick", "--out", str(tmp_path)]) == 2
    assert "holds a run with another setting" in capsys.readouterr().err


def test_sft_stops_at_the_target_and_held_out_prompts_leave_training(tmp_path):
    from dataclasses import replace

    from real.lab.task import make_problems

    cfg = replace(TOY, base_target=0.0, n_train=20000, n_test=60, n_val=60)  # 0.0 is reached at the first check
    run_rlvr(tmp_path / "r", cfg=cfg, log=lambda s: None)
    s = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert s["base"]["steps"] == 5 and s["base"]["target_reached"] is True and len(s["base"]["validation_pass_at_1"]) == 1
    # independently: how many generated training problems repeat a test or validation prompt (short problems do)
    held = {p.prompt for p in make_problems(60, [2, 3, 4, 5, 6], seed=1, prefix="t")}
    held |= {p.prompt for p in make_problems(60, [2, 3, 4, 5, 6], seed=3, prefix="v")}
    dup = sum(p.prompt in held for p in make_problems(20000, [1, 2, 3, 4, 5, 6], seed=0, prefix="s"))
    assert dup > 0 and s["problems"]["sft_dropped_as_held_out"] == dup and s["problems"]["sft_train"] == 20000 - dup
