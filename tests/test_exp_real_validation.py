"""real_validation in quick mode on ../shared/data (skipped when absent) and with the data missing."""

import json
from pathlib import Path

import pytest

from experiments import real_validation

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "gsm8k-codex-k10").is_dir(), reason="../shared/data is absent (real validation data not on this machine)")
def test_real_validation_quick(tmp_path):
    out = real_validation.run(quick=True, results_dir=tmp_path, data_dir=SHARED)
    d = tmp_path / real_validation.NAME
    for name in ("summary.json", "data.csv", "gsm8k_maj_prediction.png", "pythia_passk_extrapolation.png"):
        assert (d / name).is_file(), name
    s = json.loads((d / "summary.json").read_text())
    assert s["claims"] == out["claims"] and len(s["claims"]) == 3
    assert s["best_predictor"] in real_validation.MODELS
    # the observation: the plug-in under-predicts majority accuracy on this real data
    assert s["claims"][0]["holds"] and s["gsm8k"]["plugin"]["bias"] < -0.03
    assert s["gsm8k"]["dirichlet"]["mean_abs_error"] < s["gsm8k"]["plugin"]["mean_abs_error"]
    assert set(s["pythia"]["churn_at_k128"]) and s["pythia"]["rows"]


def test_real_validation_with_data_absent(tmp_path):
    out = real_validation.run(quick=True, results_dir=tmp_path, data_dir=tmp_path / "nothing")
    s = json.loads((tmp_path / real_validation.NAME / "summary.json").read_text())
    assert s["absent"] is True and not any(c["holds"] for c in out["claims"])


def test_bench_real_quick(tmp_path):
    from experiments import bench_real

    out = bench_real.run(quick=True, results_dir=tmp_path)
    s = json.loads((tmp_path / bench_real.NAME / "summary.json").read_text())
    assert s["claims"] == out["claims"] and all(c["holds"] for c in s["claims"]), s["claims"]
    assert s["records"] == 20 * 500 * 64 and s["rejected"] == 0
