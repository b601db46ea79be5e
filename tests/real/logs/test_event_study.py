"""real.logs.event_study: the event study (permutation test within strata, against a direct enumeration), the signal
windows, the alignment of training logs to checkpoints, and training_analysis."""

import numpy as np
import pytest

from real.logs.event_study import align_to_checkpoints, event_study, signal_windows, training_analysis
from real.logs.schema import ImportReport
from real.logs.training_logs import TrainingLogs


def test_real_phenomena_uses_the_moved_functions():
    import experiments.real_phenomena as rp

    assert rp.event_study is event_study and rp.signal_windows is signal_windows


def test_align_takes_the_value_at_or_last_before_each_checkpoint():
    rows = [{"run": "a", "step": s, "entropy": 1.0 - s / 10} for s in (1, 2, 4, 7)] + [{"run": "a", "step": 9, "kl": 0.5}]
    got = align_to_checkpoints(rows, ["c0", "c4", "c8", "cx"], [0, 4, 8, np.nan])
    at = {(r["checkpoint"], r["metric"]): r for r in got}
    assert ("c0", "entropy") not in at and "cx" not in {r["checkpoint"] for r in got}
    assert at[("c4", "entropy")]["value"] == pytest.approx(0.6) and at[("c4", "entropy")]["lag"] == 0
    assert at[("c8", "entropy")]["logged_step"] == 7 and at[("c8", "entropy")]["lag"] == 1 and ("c8", "kl") not in at


def _logs(runs=("r",), steps=range(1, 31)):
    rows = [{"run": run, "step": s, "metric": "entropy", "raw_metric": "actor/entropy", "value": 1.0 - s / 60 + (0.3 if 10 < s <= 20 else 0),
             "format": "verl", "file": "f", "line": s} for run in runs for s in steps]
    return TrainingLogs(rows, ImportReport(files=["f"], rows_read=len(rows), rows_accepted=len(rows)))


def _results(steps, negative):
    return {"checkpoints": [f"global_step_{int(s)}" if np.isfinite(s) else "best" for s in steps], "steps": np.asarray(steps, float),
            "negative_sc": {"rows": [{"negative": n} for n in negative]}}


def test_training_analysis_windows_and_events():
    res = _results([0, 10, 20, 30], [False, False, True, False])
    out = training_analysis(res, _logs(), n_perm=200)
    assert out["run"] == "r" and out["step_range"] == [1, 30] and out["event_study"]["events"] == ["global_step_20"]
    w = {x["checkpoint_label"]: x for x in out["windows"]}
    assert w["global_step_20"]["event"] and w["global_step_20"]["entropy"] == pytest.approx(np.mean([1.3 - s / 60 for s in range(11, 21)]))
    assert out["event_study"]["n_event_windows"] == 1 and out["event_study"]["n_other_windows"] == 2
    sig = out["event_study"]["signals"]["entropy"]
    assert sig["difference"] > 0 and 0 < sig["p_value"] <= 1
    assert {"training_metrics", "training_at_checkpoints", "event_study_windows", "event_study"} <= set(out["tables"])


def test_training_analysis_refuses_what_it_cannot_align():
    with pytest.raises(ValueError, match="have no training step"):
        training_analysis(_results([0, np.nan], [False, False]), _logs())
    with pytest.raises(ValueError, match="--signals-run"):
        training_analysis(_results([0, 10], [False, True]), _logs(runs=("a", "b")))
    assert training_analysis(_results([0, 10], [False, True]), _logs(runs=("a", "b")), run="b")["run"] == "b"
    with pytest.raises(ValueError, match="do not overlap"):
        training_analysis(_results([100, 200], [False, True]), _logs())
    with pytest.raises(ValueError, match="not in the training logs"):
        training_analysis(_results([0, 10], [False, True]), _logs(), run="zzz")


def test_event_study_permutation_against_a_direct_enumeration():
    # 6 windows, 2 events: the exact permutation law of the difference is over C(6, 2) = 15 labelings
    import itertools

    xs = [0.9, 1.1, 0.2, 0.1, 0.3, 0.25]
    windows = [{"event": i < 2, "entropy": x} for i, x in enumerate(xs)]
    got = event_study(windows, n_perm=20000, seed=1)["signals"]["entropy"]
    d = np.mean(xs[:2]) - np.mean(xs[2:])
    assert got["difference"] == d
    ds = [np.mean([xs[i] for i in c]) - np.mean([xs[i] for i in range(6) if i not in c]) for c in itertools.combinations(range(6), 2)]
    exact = np.mean(np.abs(ds) >= abs(d) - 1e-12)  # 1 of 15 labelings is as extreme (two-sided: 1/15)
    assert abs(got["p_value"] - exact) < 0.01
    assert event_study([{"event": False, "x": 1.0}] * 3)["signals"] == {}


def test_signal_windows_average_the_steps_since_the_previous_checkpoint():
    sig = [{"step": s, "entropy": float(s), "flag": True} for s in range(1, 7)]
    w = signal_windows(sig, [0, 3, 6], {6})
    assert [x["entropy"] for x in w] == [2.0, 5.0] and [x["event"] for x in w] == [False, True] and "flag" not in w[0]


def test_event_study_permutes_within_strata():
    # arm "a" has every event and high values, arm "b" none and low values: pooled, the arm difference would look
    # like a pre-event signal; within strata only arm "a" informs, where events and non-events do not differ
    windows = [{"event": True, "stratum": "a", "x": 1.0}, {"event": True, "stratum": "a", "x": 1.2},
               {"event": False, "stratum": "a", "x": 1.1}, {"event": False, "stratum": "a", "x": 1.1}]
    windows += [{"event": False, "stratum": "b", "x": 0.0} for _ in range(6)]
    got = event_study(windows, n_perm=5000, seed=0)
    assert got["n_informative_windows"] == 4
    assert got["signals"]["x"]["difference"] == 0.0 and got["signals"]["x"]["p_value"] > 0.9
