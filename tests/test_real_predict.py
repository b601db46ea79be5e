"""Predictors of maj@K beyond the observed samples, against enumeration and Monte Carlo."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from real.counts import CountsTable, from_answer_counts
from real.predict import fit_dirichlet_prior, predict_beta_binomial, predict_dirichlet, predict_plugin, predict_sc
from theory.passk import fit_beta_binomial


def credit(votes: np.ndarray, abstain: int) -> float:
    """Plurality credit of class 0 (random tie-break); the abstain class never wins."""
    v = votes.copy()
    v[abstain] = -1
    if votes[0] == 0 or v[0] < v.max():
        return 0.0
    return 1.0 / np.sum(v == v[0])


def test_plugin_is_plurality_of_the_empirical_distribution():
    vc = np.array([[2, 1, 1, 0], [1, 2, 0, 1], [0, 3, 0, 1]])
    K = 3
    for row, got in zip(vc, predict_plugin(vc, K)):
        p = row / row.sum()
        ref = 0.0
        for seq in itertools.product(range(4), repeat=K):  # enumerate all K-vote sequences
            ref += np.prod(p[list(seq)]) * credit(np.bincount(seq, minlength=4), 3)
        assert got == pytest.approx(ref, abs=1e-12)


def test_dirichlet_predictor_is_the_polya_urn_posterior_predictive():
    rng = np.random.default_rng(0)
    vc = np.array([[2, 2, 1, 0], [1, 0, 0, 2], [3, 1, 1, 1]])
    prior = {"a": 0.8, "theta": 0.6}
    K = 5
    got = predict_dirichlet(vc, K, prior)
    for i, row in enumerate(vc):
        params = row.astype(float).copy()
        params[0] += prior["a"]
        params[-1] += prior["theta"]
        keep = params > 0
        pi = np.zeros((40000, len(params)))
        pi[:, keep] = rng.dirichlet(params[keep], size=40000)
        votes = np.array([rng.multinomial(K, x) for x in pi])
        mc = np.mean([credit(v, len(params) - 1) for v in votes])
        assert abs(got[i] - mc) < 4 * 0.5 / np.sqrt(40000) + 1e-3, (i, got[i], mc)


def test_beta_binomial_predictor_by_monte_carlo():
    rng = np.random.default_rng(1)
    n, c = np.array([5, 5, 4]), np.array([0, 3, 4])
    fit = fit_beta_binomial(np.array([5, 5, 4, 6, 6]), np.array([0, 3, 4, 2, 6]))
    for K in (4, 7):
        got = predict_beta_binomial(n, c, K, fit)
        for i in range(3):
            p = rng.beta(fit.alpha + c[i], fit.beta + n[i] - c[i], 100000)
            x = rng.binomial(K, p)
            mc = np.mean(np.where(2 * x > K, 1.0, np.where(2 * x == K, 0.5, 0.0)))
            assert abs(got[i] - mc) < 0.01


def test_dirichlet_prior_is_the_beta_binomial_fit():
    vc = np.array([[3, 1, 0], [0, 2, 2], [4, 0, 0], [1, 1, 2]])
    prior = fit_dirichlet_prior(vc)
    fit = fit_beta_binomial(vc.sum(1), vc[:, 0])
    assert prior["a"] == pytest.approx(fit.alpha) and prior["theta"] == pytest.approx(fit.beta)


def _table():
    counts = [[{"A": 3, "B": 1}, {"B": 3, "A": 1}, {"A": 2, "C": 1, None: 1}, {"D": 2, "E": 2}],
              [{"A": 4}, {"B": 2, "A": 2}, {"A": 3, "C": 1}, {}]]
    return from_answer_counts(["0", "100"], ["p0", "p1", "p2", "p3"], counts, ["A"] * 4)


@pytest.mark.parametrize("model", ["plugin", "dirichlet", "beta_binomial"])
def test_prediction_contract(model):
    out = predict_sc(_table(), [3, 16], model=model, n_boot=200)
    assert set(out) == {"0", "100"} and out["100"]["n_problems"] == 3  # p3 not evaluated at step 100
    for ck, e in out.items():
        for block in [e["pass_at_1"]] + list(e["maj_at_k"].values()) + list(e["sc_gain"].values()):
            assert set(block) == {"estimate", "low", "high"}
            assert block["low"] - 1e-12 <= block["estimate"] <= block["high"] + 1e-12
        assert set(e["maj_at_k"]) == {"3", "16"}
        for K in ("3", "16"):
            assert e["sc_gain"][K]["estimate"] == pytest.approx(e["maj_at_k"][K]["estimate"] - e["pass_at_1"]["estimate"])
    assert out["0"]["pass_at_1"]["estimate"] == pytest.approx(np.mean([3 / 4, 1 / 4, 2 / 4, 0]))
    json.dumps(out)


def test_count_only_tables_need_the_binary_model():
    t = CountsTable(("m",), np.array([np.nan]), ("a", "b"), np.array([[10, 10]]), np.array([[7, 2]]))
    with pytest.raises(ValueError, match="beta_binomial"):
        predict_sc(t, [5], model="plugin")
    out = predict_sc(t, [5], model="beta_binomial", n_boot=50)
    assert out["m"]["n_problems"] == 2
    with pytest.raises(ValueError, match="model"):
        predict_sc(_table(), [5], model="magic")


def test_cli_predict_sc_writes_the_contract(tmp_path):
    from real.__main__ import main

    rows = [{"checkpoint": 7, "problem_id": p, "sample_index": i, "answer": a, "correct": a == "1"}
            for p, answers in (("x", "1121"), ("y", "2231"), ("z", "1111")) for i, a in enumerate(answers)]
    rows.append({"checkpoint": 7, "problem_id": "x", "sample_index": 0, "answer": "9", "correct": False})  # duplicate
    f = tmp_path / "s.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["predict-sc", "--samples", str(f), "--k", "3,8,32", "--out", str(tmp_path / "o"), "--boot", "100"]) == 0
    doc = json.loads((tmp_path / "o" / "predictions.json").read_text())
    assert doc["model"] == "dirichlet" and doc["rejected_rows"] == 1
    assert list(doc["checkpoints"]) == ["7"] and doc["checkpoints"]["7"]["n_problems"] == 3
    assert set(doc["checkpoints"]["7"]["maj_at_k"]) == {"3", "8", "32"}
