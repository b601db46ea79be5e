"""The real RLVR pipeline end to end at a toy size (plumbing; the quick run itself is an experiment)."""

import json

from real.pipeline import PipelineConfig, run_rlvr

TOY = PipelineConfig(hidden_size=32, layers=1, heads=2, sft_steps=20, sft_batch=16, n_train=500, rl_steps=2, rl_batch=4,
                     rl_rollouts=4, checkpoint_every=1, n_test=8, n_eval=4)


def test_toy_pipeline_writes_everything_and_resumes(tmp_path):
    out = tmp_path / "real_rlvr"
    res = run_rlvr(out, cfg=TOY, log=lambda s: None)
    for name in ("base/model.safetensors", "hf_base/config.json", "hf_base/tokenizer.json", "rl/step_2/optimizer.safetensors",
                 "samples.jsonl", "analysis/report.md", "analysis/metrics.parquet", "validation.png", "summary.json"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text())
    assert s["name"] == "real_rlvr" and len(s["claims"]) == len(res["claims"]) == 5 and s["steps"] == [0, 1, 2]
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
