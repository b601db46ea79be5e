"""Experiment real_methods on a toy base: every arm kind (registry advantage, token method, continued SFT) runs,
the outputs and claims follow the results convention, finished runs are not retrained, and the paired bootstrap
matches a direct computation."""

import json

import numpy as np
import pytest
from helpers import check_summary, toy_run_config

from experiments import real_methods as rm

TINY = rm.MethodsSetting(arms=("grpo", "rlpr", "sft"), seeds=(0,), steps=2, batch_problems=4, n_rollouts=4, learning_rate=2e-4,
                         test_problems=8, final_samples=4, mid_step=1, mid_samples=2, K=2, n_boot=50)


def test_arms_run_side_by_side_and_resume(tmp_path):
    out = rm.run(results_dir=tmp_path, setting=TINY, lab=toy_run_config(), log=lambda m: None)
    folder = tmp_path / rm.NAME
    for f in ("summary.json", "arms.parquet", "arms.csv", "trajectories.parquet", "token_positions.parquet", "trajectories.png",
              "token_entropy_by_position.png", "base/config.json", "runs/rlpr_s0/signals.parquet", "runs/sft_s0/sft/step_2/config.json",
              "runs/grpo_s0/eval_step_1.jsonl", "runs/grpo_s0/eval_step_2.jsonl", "base_s0.jsonl"):
        assert (folder / f).is_file(), f
    summary = check_summary(folder / "summary.json", rm.NAME)
    assert [a["arm"] for a in summary["arms_table"]] == list(TINY.arms)
    texts = [c["claim"] for c in summary["claims"]]
    assert any("RLPR" in t for t in texts) and any("SFT widens pass@k" in t for t in texts) and any("U-shaped" in t for t in texts)
    assert len(out["claims"]) == len(summary["claims"])
    assert "passk_analytic" in summary["not_measured"]
    row = summary["arms_table"][0]
    # union of one sample from each of base and last (matched budget K = 2) covers at least the last one's pass@1
    assert 0 <= row["pass@1"] <= 1 and row["union(base, last)@1+1"] >= row["pass@1"] - 1e-12
    assert row["union - best single ci95"][0] <= row["union - best single"] <= row["union - best single ci95"][1]
    # a second run finds every arm done: nothing is retrained (the checkpoints stay as they were)
    ckpt = folder / "runs" / "grpo_s0" / "rl" / "step_2" / "model.safetensors"
    stamp = ckpt.stat().st_mtime_ns
    rm.run(results_dir=tmp_path, setting=TINY, lab=toy_run_config(), log=lambda m: None)
    assert ckpt.stat().st_mtime_ns == stamp
    assert json.loads((folder / "setting.json").read_text())["arms"] == list(TINY.arms)


def test_paired_bootstrap_resamples_seeds_and_problems():
    rng = np.random.default_rng(0)
    diff = rng.normal(0.1, 1.0, (3, 50))
    mean, ci = rm.paired_bootstrap(diff, 2000, seed=1)
    assert mean == np.mean(diff) and ci[0] < mean < ci[1]
    # the same resampling written out directly
    r = np.random.default_rng(1)
    si, pi = r.integers(0, 3, (2000, 3)), r.integers(0, 50, (2000, 50))
    boots = [diff[s][:, p].mean() for s, p in zip(si, pi)]
    np.testing.assert_allclose(ci, np.quantile(boots, [0.025, 0.975]))
    assert rm.paired_bootstrap(np.full((2, 5), 0.3), 100)[1] == pytest.approx([0.3, 0.3])
