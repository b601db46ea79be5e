"""real_validation: quick mode on ../shared/data (skipped when absent), the data-absent path, and its
helpers (loaders, churn of a pair on hand cases; the churn formulas themselves are tested against brute
force in tests/theory/test_coverage.py)."""

import json
import math

import numpy as np
import pytest
from helpers import SHARED_DATA as SHARED

from experiments import real_validation as rv

HAVE_DATA = (SHARED / rv.GSM8K_FILE).is_file() and (SHARED / rv.PYTHIA_FILE).is_file()
NO_DATA = "../shared/data (gsm8k-codex-k10, pythia-math-coverage) is absent on this machine"


@pytest.mark.skipif(not HAVE_DATA, reason=NO_DATA)
def test_real_validation_quick(tmp_path):
    out = rv.run(quick=True, results_dir=tmp_path, data_dir=SHARED)
    d = tmp_path / rv.NAME
    s = json.loads((d / "summary.json").read_text())
    for name in ["summary.json", "data.csv"] + s["figures"]:
        assert (d / name).is_file(), name
    assert set(s["figures"]) == {"gsm8k_maj_prediction.png", "gsm8k_sc_gain_prediction.png", "pythia_passk_extrapolation.png", "pythia_churn.png"}
    assert s["name"] == rv.NAME and s["absent"] is False and s["quick"] is True
    assert s["claims"] == out["claims"] and len(s["claims"]) == 16
    for c in s["claims"]:
        assert set(c) == {"claim", "holds", "value", "threshold"} and isinstance(c["holds"], bool)
        assert c["value"] is not None
    assert s["best_predictor"] in rv.MODELS and s["best_predictor"] in s["claims"][0]["claim"]
    assert set(s["gsm8k"]) == set(rv.MODELS)
    for m in rv.MODELS:
        g = s["gsm8k"][m]
        assert g["n_comparisons"] == 3 * sum(len([K for K in rv.KS if K <= 10 - sz]) for sz in rv.SPLIT_SIZES)
        assert 0.005 < g["mean_half_width"] < 0.05  # 1,000 problems: the realized value is known to about ±0.025
    # the observation on real data: the plug-in under-predicts majority accuracy, and the
    # empirical-Bayes urn corrects most of it
    assert s["gsm8k"]["plugin"]["bias"] < -0.03 and s["claims"][2]["holds"]
    assert abs(s["gsm8k"]["dirichlet"]["bias"]) < abs(s["gsm8k"]["plugin"]["bias"]) / 2
    # binary majority pools every wrong answer into one bloc: it predicts less than plurality
    assert s["gsm8k"]["beta_binomial"]["bias"] < s["gsm8k"]["dirichlet"]["bias"]
    # issue 14: the Pitman-Yor urn, its predictive intervals, the new pass@k predictors and the crossing use case
    py = s["gsm8k"]["pitman_yor"]
    assert py["max_abs_cell_bias"] == max(abs(c["mean_error"]) for c in py["cells"]) and 0.8 <= py["predictive_coverage"] <= 1.0
    assert abs(py["bias"]) < abs(s["gsm8k"]["dirichlet"]["bias"])  # models the wrong answers apart: less bias than the urn
    assert s["claims"][6]["value"] == py["max_abs_cell_bias"] and s["claims"][7]["value"] == py["predictive_coverage"]
    assert [c["threshold"] for c in s["claims"][6:]] == [0.005, 0.9] + [0.03, 0.06] * 4  # zero-inflated, pooled, deconvolution x 2
    for r in s["pythia"]["rows"]:
        assert 0 <= r["predicted_zero_inflated"] <= 1 and 0 <= r["predicted_pooled"] <= 1
        assert 0 <= r["predicted_deconvolution"] <= 1 and 0 <= r["predicted_deconvolution_pooled"] <= 1
        if r["k"] == 1 and not r["degenerate"]:
            assert abs(r["predicted_pooled"] - r["measured"]) < 0.005
    syn = s["pythia"]["synthetic_crossing"]
    assert syn["true_crossing_k"] is not None and syn["true_pass_at_1"]["rl"] > syn["true_pass_at_1"]["base"]
    assert syn["true_pass_at_1e5"]["rl"] < syn["true_pass_at_1e5"]["base"]
    header = (d / "data.csv").read_text().splitlines()[0]
    assert header == ",".join(rv._COLUMNS)
    rows = s["pythia"]["rows"]
    assert rows and {r["k"] for r in rows} <= set(rv.PYTHIA_KS)
    for r in rows:  # pass@1 is predicted almost exactly (posterior means of 128 samples)
        if r["k"] == 1 and not r["degenerate"]:
            assert abs(r["predicted"] - r["measured"]) < 0.005
    pairs = s["churn"]["pairs"]
    assert pairs and all(0 <= p["expected_jaccard"] <= 1 and 0 <= p["floor_jaccard_a"] <= 1 for p in pairs)
    assert {p["k"] for p in pairs if p["k_rule"] == f"k{rv.CHURN_K}"} == {rv.CHURN_K}


def test_real_validation_with_data_absent(tmp_path):
    out = rv.run(quick=True, results_dir=tmp_path, data_dir=tmp_path / "nothing")
    s = json.loads((tmp_path / rv.NAME / "summary.json").read_text())
    assert s["absent"] is True and out["absent"] is True and len(s["missing"]) == 2
    assert s["claims"] and not any(c["holds"] for c in s["claims"])


@pytest.mark.skipif(not HAVE_DATA, reason=NO_DATA)
def test_loaders_match_the_data_readme():
    g = rv.load_gsm8k(SHARED / rv.GSM8K_FILE)
    assert g.shape == (1, 1000) and np.all(g.n_samples == 10)
    # README: mean per-sample accuracy about 0.56, majority of 10 about 0.74, pass@10 about 0.91
    assert abs(g.n_correct.mean() / 10 - 0.56) < 0.01
    assert abs(np.mean(g.n_correct > 0) - 0.91) < 0.01
    p = rv.load_pythia(SHARED / rv.PYTHIA_FILE)
    assert p.shape[0] == 72 and p.shape[1] == 128 and not p.has_answers
    assert int((p.n_samples > 0).sum()) == 9097  # every CSV row is one evaluated cell
    assert p.checkpoints[0] == "Pythia_14M_2M" and p.checkpoints[-1] == "Pythia_12B_300B"


def test_pythia_order():
    labels = ["Pythia_1B_20B", "Pythia_160M_2B", "Pythia_1B_2M", "Pythia_1B_300B", "Pythia_14M_64M"]
    assert sorted(labels, key=rv.pythia_order) == ["Pythia_14M_64M", "Pythia_160M_2B", "Pythia_1B_2M", "Pythia_1B_20B", "Pythia_1B_300B"]


def test_churn_pair_hand_case():
    # two problems, k = 1 of n = 2 samples: a solves problem 0 surely, b solves problem 1 surely
    r = rv.churn_pair([2, 2], [2, 0], [2, 2], [0, 2], 1)
    assert r["expected_jaccard"] == 0.0 and r["expected_lost"] == 1.0 and r["expected_gained"] == 1.0
    assert r["floor_jaccard_a"] == 1.0 and r["floor_lost_a"] == 0.0 and r["excess_lost"] == 1.0
    assert r["raw_jaccard_full_budget"] == 0.0
    # half the samples correct everywhere: E[lost] = Σ q_a (1 − q_b), floor = Σ (q_a − q2_a)
    r = rv.churn_pair([4] * 3, [2] * 3, [4] * 3, [2] * 3, 1)
    q, q2 = 0.5, (2 / 4) * (1 / 3)  # P(two disjoint single draws are both correct)
    assert r["expected_lost"] == pytest.approx(3 * q * (1 - q)) and r["floor_lost_a"] == pytest.approx(3 * (q - q2))
    assert r["excess_lost"] == pytest.approx(3 * (q2 - q * q))
    with pytest.raises(ValueError, match="k"):
        rv.churn_pair([4], [1], [3], [1], 2)


def test_bench_real_quick(tmp_path):
    from experiments import bench_real

    out = bench_real.run(quick=True, results_dir=tmp_path)
    s = json.loads((tmp_path / bench_real.NAME / "summary.json").read_text())
    assert s["claims"] == out["claims"] and all(c["holds"] for c in s["claims"]), s["claims"]
    assert s["records"] == 20 * 500 * 64 and s["rejected"] == 0
    assert math.isfinite(s["claims"][0]["value"])


def test_crossing_rule():
    ks = [1, 10, 100, 1000]
    assert rv._crossing(np.array([0.1, 0.05, -0.01, -0.2]), ks) == 100
    assert rv._crossing(np.array([np.nan, 0.05, 0.01, -0.2]), ks) == 1000
    assert rv._crossing(np.array([-0.1, 0.05, -0.01, -0.2]), ks) is None  # must start above
    assert rv._crossing(np.array([0.1, 0.05, 0.01, 0.0]), ks) is None
