"""The real_rlvr experiment on a toy setting: the lab run, the claims (theory vs measurement) and the figure."""

import json

from helpers import check_summary, toy_run_config

from experiments import real_rlvr


def test_toy_experiment_writes_claims_beside_the_run(tmp_path):
    cfg = toy_run_config()
    out = real_rlvr.run(results_dir=tmp_path, cfg=cfg, log=lambda s: None)
    d = tmp_path / real_rlvr.NAME
    for name in ("summary.json", "validation.png", "samples.jsonl", "analysis/report.md", "run.json", "setting.json"):
        assert (d / name).is_file(), name
    s = check_summary(d / "summary.json", real_rlvr.NAME)
    assert s["claims"] == out["claims"] and len(s["claims"]) == 6 and s["steps"] == [0, 1, 2]
    assert s["setting"] == cfg.to_dict()
    assert s["validation"]["eta"]["max_relative_deviation"] < 1e-4  # eta on real rollouts = theory (GRPO)
    for row in s["validation"]["negative_sc_checkpoints"]:  # the analysis' flagged rows, with their interval
        assert row["sc_gain"] < 0 and row["sc_low"] <= row["sc_gain"] <= row["sc_high"] and set(row["attribution"])
    # an advantage that depends on answers and history has no eta(N_pos) curve: that claim is left out, not failed
    from real.logs.analysis import analyze
    from real.logs.importers import load_counts

    table, _ = load_counts(d / "samples.jsonl")
    logs = json.loads((d / "rl_log.json").read_text())
    claims, validation = real_rlvr.validate(table, analyze(table, n_boot=50), logs, cfg.replace(rl={"advantage": "ucb_con"}))
    assert len(claims) == 5 and validation["eta"]["theory_by_n_pos"] == {}


def test_eta_curve_is_the_closed_form_for_reward_only_advantages():
    import numpy as np

    c = real_rlvr.eta_curve("grpo", 4, 2)
    # GRPO: N_pos |A+| + N_neg |A-| = 2 sqrt(N_pos N_neg) (population std, eps ignored at 1e-6)
    ref = [2 * np.sqrt(m * (4 - m)) for m in range(5)]
    assert np.allclose(c, ref, atol=1e-5)
    assert real_rlvr.eta_curve("ucb", 4, 2) is None and real_rlvr.eta_curve("passk_full", 4, 2) is None
