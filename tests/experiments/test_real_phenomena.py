"""Experiment real_phenomena on a toy base: every stage runs (mid-training, calibration, prediction before RL, real
runs with greedy decoding, comparison, diagnosis), outputs follow the results convention, and the interval and
realized estimators match direct computations."""

import json
from pathlib import Path

import numpy as np
import pytest
from helpers import check_summary, toy_run_config

from experiments import real_phenomena as rp

TINY = rp.PhenomenaSetting(midtrain_steps=3, seeds=(0,), rl_steps=2, batch_problems=4, n_rollouts=4, checkpoint_every=1,
                           test_problems=20, n_eval=4, K=2, calib_samples=4, pool_calib_problems=16, pool_calib_samples=2, n_boot=50,
                           sim_grid=((rp.SIM_LR, rp.SIM_SHARING),))


def test_stages_run_and_predictions_precede_rl(tmp_path, monkeypatch):
    out = rp.run(results_dir=tmp_path, setting=TINY, lab=toy_run_config(), log=lambda m: None)
    folder = tmp_path / rp.NAME
    for f in ("summary.json", "predictions.json", "trajectories.csv", "trajectories.png", "diagnosis.json", "base/config.json",
              "runs/shortcut_s0/samples.jsonl", "runs/control_s0/greedy.jsonl"):
        assert (folder / f).is_file(), f
    summary = check_summary(folder / "summary.json", rp.NAME)
    pf = summary["prediction_file"]
    import hashlib

    assert hashlib.sha256((folder / "predictions.json").read_bytes()).hexdigest() == pf["sha256"]
    assert pf["written_at"] < pf["first_real_rl_step_at"]
    pred = json.loads((folder / "predictions.json").read_text())
    assert set(pred["arms"]) == {"shortcut", "control"} and len(pred["arms"]["shortcut"]["central"]["hard"]["pass@1"]) == 3
    assert len(out["claims"]) == len(summary["claims"]) == 7
    sizes = summary["splits"]
    assert sizes["all"] == 20 and sizes["easy"] + sizes["hard"] == 20
    # greedy records: one per problem and checkpoint, at T = 0
    greedy = [json.loads(line) for line in (folder / "runs/shortcut_s0/greedy.jsonl").read_text().splitlines()]
    assert len(greedy) == 20 * 3 and {r["sample_index"] for r in greedy} == {0}
    # the finished runs as simulator-fitting cases: one per (arm, seed), per-class trajectories read from the samples
    from real.lab.task import TRAP_CLASSES
    from sim.calibration import fit_dynamics

    assert rp.load_setting(folder) == TINY
    cases = rp.dynamics_cases(folder, lab=toy_run_config())
    classes = [TRAP_CLASSES.index(c) for c in TRAP_CLASSES if c in {p.trap_class for p in _test_problems(folder)}]
    assert len(cases) == 2 and all(c.observed_pass.shape == (3, len(classes)) for c in cases)
    recs = [json.loads(line) for line in (folder / "runs/shortcut_s0/samples.jsonl").read_text().splitlines()]
    last = [r for r in recs if r["checkpoint"] == 2]
    by_class = {}
    probs = {p.problem_id: p for p in _test_problems(folder)}
    for r in last:
        by_class.setdefault(TRAP_CLASSES.index(probs[r["problem_id"]].trap_class), []).append(r["correct"])
    np.testing.assert_allclose(cases[0].observed_pass[-1], [np.mean(by_class[g]) for g in classes])
    rows = fit_dynamics(cases, (rp.SIM_LR,), [rp.SIM_SHARING[:2] + (0.0,) * 10])
    assert len(rows) == 1 and np.isfinite(rows[0]["error"]) and len(rows[0]["per_case"]) == 2
    # resuming a finished study reads its runs back without re-entering them; an interrupted run (no run.json) is
    import real.lab.run as lab_run

    calls = []
    monkeypatch.setattr(lab_run, "run_lab", lambda d, *a, **k: calls.append(Path(d).name))
    again = rp.run(results_dir=tmp_path, setting=TINY, lab=toy_run_config(), log=lambda m: None)
    assert calls == [] and again["claims"] == out["claims"]
    (folder / "runs" / "control_s0" / "run.json").unlink()

    def entered(d, *a, **k):
        calls.append(Path(d).name)
        raise RuntimeError("entered")

    monkeypatch.setattr(lab_run, "run_lab", entered)
    with pytest.raises(RuntimeError, match="entered"):
        rp.run(results_dir=tmp_path, setting=TINY, lab=toy_run_config(), log=lambda m: None)
    assert calls == ["control_s0"]


def _test_problems(folder):
    from real.lab.run import make_problem_sets

    return make_problem_sets(rp.lab_config(TINY, TINY.arms[0][1], 0, toy_run_config()))[0]["test"]


def test_interval_is_the_weighted_bootstrap_mean():
    rng = np.random.default_rng(0)
    v = rng.normal(size=30)
    from common.bootstrap import bootstrap_weights

    w = bootstrap_weights(30, 500, seed=3)
    est, lo, hi = rp.interval(v, w)
    idx = np.random.default_rng(3).integers(0, 30, size=(500, 30))  # the same resamples, drawn directly
    means = v[idx].mean(1)
    assert est == v.mean()
    np.testing.assert_allclose([lo, hi], np.percentile(means, [2.5, 97.5]))


def test_realized_estimators_against_direct_counts():
    from real.lab.task import Problem
    from theory.voting import maj_at_k

    p = Problem("a", (2, 5, 3, 4), ("*", "+", "-"))  # answer 9, trap_wrong
    q = Problem("b", (3, 4, 5), ("+", "*"))  # answer 5
    recs = {0: [{"problem_id": "a", "answer": a, "text": t, "mean_token_entropy": 0.5} for a, t in
                (("9", p.completion), ("0", p.shortcut_completion), ("0", p.shortcut_completion), ("3", "2*5=0;0+3=3;#### 3"))]
            + [{"problem_id": "b", "answer": a, "text": "", "mean_token_entropy": 1.0} for a in ("5", "5", "1", None)]}
    got = rp.realized_per_problem([p, q], recs, 2, (2, 2))
    np.testing.assert_allclose(got["pass@1"][0], [0.25, 0.5])
    np.testing.assert_allclose(got["shortcut"][0], [0.5, 0.0])
    # pass@2 by hand: 1 - C(3,2)/C(4,2) = 0.5 and 1 - C(2,2)/C(4,2) = 5/6
    np.testing.assert_allclose(got["pass@2"][0], [0.5, 5 / 6])
    # maj@2 with the abstention class: problem a votes {9:1, 0:2, 3:1}; b {5:2, 1:1, none:1}
    want = maj_at_k(np.array([[1, 2, 1, 0], [2, 1, 0, 1]]), 2, abstain=3)
    np.testing.assert_allclose(got["maj@2"][0], want)
    np.testing.assert_allclose(got["sc_gain@2"][0], np.asarray(want) - [0.25, 0.5])



def test_union_and_best_single_at_one_sample_per_checkpoint_by_hand():
    from real.lab.task import Problem

    q = Problem("b", (3, 4, 5), ("+", "*"))  # answer 5
    # two checkpoints of 4 samples: 1 and 3 correct
    recs = {0: [{"problem_id": "b", "answer": a, "text": ""} for a in ("5", "1", "1", "2")],
            10: [{"problem_id": "b", "answer": a, "text": ""} for a in ("5", "5", "5", "1")]}
    got = rp.realized_per_problem([q], recs, 2, (2, 4))
    # one sample from each checkpoint: the union fails only if both fail, (3/4)(1/4)
    np.testing.assert_allclose(got["union_1"], [1 - 0.75 * 0.25])
    # the single checkpoint at the same budget (2 samples): 1 - C(n - c, 2)/C(4, 2)
    np.testing.assert_allclose(got["single_1"][:, 0], [1 - 3 / 6, 1 - 0 / 6])
    # 2 samples from each (without replacement within a checkpoint) vs 4 from one
    np.testing.assert_allclose(got["union"], [1 - (3 / 6) * (0 / 6)])
    np.testing.assert_allclose(got["single"][:, 0], [1.0, 1.0])  # all 4 samples of either hold a correct one
