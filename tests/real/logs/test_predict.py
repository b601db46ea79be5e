"""real.logs.predict: maj@K beyond the observed samples, against enumeration, quadrature and Monte Carlo."""

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import gammaln

from real.logs.predict import (
    MODELS,
    dirichlet_loo_loglik,
    dirichlet_parameters,
    fit_dirichlet_prior,
    predict_beta_binomial,
    predict_dirichlet,
    predict_maj_at_k,
    predict_per_problem,
    predict_plugin,
    predict_sc,
)
from real.logs.table import CountsTable, from_answer_counts
from theory.brute_force import compositions, plurality_by_enumeration, vote_credit
from theory.passk import fit_beta_binomial
from theory.voting import correlated_plurality_accuracy, majority_accuracy, plurality_accuracy

# rows: correct, wrong answers (unsorted, with a duplicate pattern up to permutation), unparsed last
VC = np.array([[2, 1, 1, 0, 0], [1, 0, 2, 0, 1], [0, 3, 0, 0, 1], [1, 1, 0, 1, 0], [1, 0, 1, 1, 0], [3, 0, 0, 0, 0]])


@pytest.mark.parametrize("tie", ["random", "strict"])
def test_plugin_is_plurality_accuracy_of_the_empirical_distribution(tie):
    for K in (1, 2, 3, 4):
        got = predict_plugin(VC, K, tie=tie)
        for row, g in zip(VC, got):
            p = row / row.sum()
            ref = plurality_by_enumeration(p, K, tie, correct=0, abstain=len(row) - 1)  # all K-vote sequences
            assert g == pytest.approx(ref, abs=1e-12), (row, K)
        direct = plurality_accuracy(VC / VC.sum(1, keepdims=True), K, tie=tie, abstain=VC.shape[1] - 1)
        np.testing.assert_allclose(got, direct, atol=1e-12)
    # rows 3 and 4 are the same pattern with the wrong answers permuted
    assert predict_plugin(VC, 3)[3] == predict_plugin(VC, 3)[4]


def _dirichlet_multinomial_by_enumeration(alpha, K, tie):
    """Σ over all count vectors of credit × DirMult(c; K, α) written from its definition; last class abstains."""
    A = alpha.sum()
    total = 0.0
    for c in compositions(K, len(alpha)):
        c = np.array(c)
        if np.any((alpha == 0) & (c > 0)):
            continue
        pos = alpha > 0
        logp = gammaln(K + 1) - gammaln(c + 1).sum() + gammaln(A) - gammaln(K + A) + (gammaln(c[pos] + alpha[pos]) - gammaln(alpha[pos])).sum()
        total += math.exp(logp) * vote_credit(c, 0, tie, abstain=len(alpha) - 1)
    return total


def _polya_urn_monte_carlo(params, K, n_sim, rng):
    """Draw K votes one at a time from the urn (each drawn class gains one ball); last class abstains."""
    balls = np.tile(params.astype(float), (n_sim, 1))
    votes = np.zeros(balls.shape)
    for _ in range(K):
        cum = np.cumsum(balls, axis=1)
        j = np.sum(cum < rng.random(n_sim)[:, None] * cum[:, -1:], axis=1)
        balls[np.arange(n_sim), j] += 1
        votes[np.arange(n_sim), j] += 1
    v = votes.copy()
    v[:, -1] = -1
    top = v.max(axis=1)
    win = (votes[:, 0] > 0) & (v[:, 0] == top)
    return np.mean(np.where(win, 1.0 / np.sum(v == top[:, None], axis=1), 0.0))


def test_dirichlet_predictor_is_the_polya_urn_posterior_predictive():
    prior = {"a": 0.8, "theta": 0.6}
    rng = np.random.default_rng(0)
    for K in (4, 7):
        got = predict_dirichlet(VC, K, prior)
        for row, g in zip(VC, got):
            params = dirichlet_parameters(row[None], prior)[0]
            assert g == pytest.approx(_dirichlet_multinomial_by_enumeration(params, K, "random"), abs=1e-12)
            # the identity: posterior-predictive maj@K = correlated plurality with mean α/Σα, ρ = 1/(1 + Σα)
            total = params.sum()
            assert total == pytest.approx(row.sum() + prior["a"] + prior["theta"])
            assert g == pytest.approx(float(correlated_plurality_accuracy(params / total, 1 / (1 + total), K, abstain=len(row) - 1)), abs=1e-12)
        n_sim = 40000
        for row, g in zip(VC[:3], got[:3]):
            mc = _polya_urn_monte_carlo(dirichlet_parameters(row[None], prior)[0], K, n_sim, rng)
            assert abs(g - mc) < 4.5 * 0.5 / np.sqrt(n_sim), (row, K, g, mc)


def test_dirichlet_strict_ties_by_enumeration():
    prior = {"a": 1.3, "theta": 0.2}
    got = predict_dirichlet(VC, 4, prior, tie="strict")
    for row, g in zip(VC, got):
        assert g == pytest.approx(_dirichlet_multinomial_by_enumeration(dirichlet_parameters(row[None], prior)[0], 4, "strict"), abs=1e-12)


def test_marginal_prior_is_the_beta_binomial_fit():
    prior = fit_dirichlet_prior(VC)
    fit = fit_beta_binomial(VC.sum(1), VC[:, 0])
    assert prior["method"] == "marginal"
    assert prior["a"] == pytest.approx(fit.alpha) and prior["theta"] == pytest.approx(fit.beta)


def _loo_by_brute_force(vc, a, t):
    """Literally remove each sample and score its category under the urn of the other samples."""
    ll = 0.0
    for row in vc:
        samples = [j for j, cnt in enumerate(row) for _ in range(cnt)]  # class labels; last = unparsed
        null = len(row) - 1
        for i, s in enumerate(samples):
            rest = np.bincount(samples[:i] + samples[i + 1:], minlength=len(row))
            den = rest.sum() + a + t
            if s == 0:
                p = (rest[0] + a) / den
            elif s == null or rest[s] == 0:  # unparsed, or a wrong answer the others never gave: new/scattered
                p = (rest[null] + t) / den
            else:
                p = rest[s] / den
            ll += math.log(p)
    return ll


def test_loo_prior_maximizes_the_leave_one_out_likelihood():
    vc = np.vstack([VC, [[0, 1, 1, 1, 0], [4, 0, 0, 0, 1], [2, 2, 0, 0, 0]]])
    for a, t in ((0.5, 0.5), (2.0, 0.3), (0.1, 4.0)):
        assert dirichlet_loo_loglik(vc, {"a": a, "theta": t}) == pytest.approx(_loo_by_brute_force(vc, a, t), rel=1e-12)
    prior = fit_dirichlet_prior(vc, method="loo")
    best = prior["loo_loglik"]
    assert best == pytest.approx(_loo_by_brute_force(vc, prior["a"], prior["theta"]), rel=1e-10)
    grid = np.geomspace(0.02, 50, 60)
    assert best >= max(_loo_by_brute_force(vc, a, t) for a in grid for t in grid) - 1e-9
    assert prior["converged"]


@pytest.mark.parametrize("tie", ["random", "strict"])
def test_beta_binomial_predictor_by_quadrature_and_monte_carlo(tie):
    n, c = np.array([5, 5, 4, 9]), np.array([0, 3, 4, 5])
    fit = fit_beta_binomial(np.array([5, 5, 4, 6, 6, 9]), np.array([0, 3, 4, 2, 6, 5]))
    rng = np.random.default_rng(1)
    for K in (4, 7):
        got = predict_beta_binomial(n, c, K, fit, tie=tie)
        for i in range(len(n)):
            a, b = fit.alpha + c[i], fit.beta + n[i] - c[i]
            ref, _ = integrate.quad(lambda p: stats.beta.pdf(p, a, b) * majority_accuracy(p, K, tie=tie), 0, 1, epsabs=1e-13)
            assert got[i] == pytest.approx(ref, abs=1e-9)
            x = rng.binomial(K, rng.beta(a, b, 100000))
            mc = np.mean(np.where(2 * x > K, 1.0, np.where((2 * x == K) & (tie == "random"), 0.5, 0.0)))
            assert abs(got[i] - mc) < 0.01


def test_beta_binomial_on_binary_data_is_the_two_class_dirichlet():
    # binary answers (one wrong answer per problem, nothing unparsed): the Beta posterior is a 2-class
    # Dirichlet, so binary majority = plurality of two classes with mean (α + c, β + n − c)/Σ, ρ = 1/(1 + Σ)
    n, c = np.array([6, 6, 3, 8]), np.array([1, 4, 3, 2])
    fit = {"alpha": 0.9, "beta": 1.7}
    for K in (1, 2, 5, 8, 13):
        for tie in ("random", "strict"):
            got = predict_beta_binomial(n, c, K, fit, tie=tie)
            a, b = 0.9 + c, 1.7 + n - c
            ref = correlated_plurality_accuracy(np.stack([a, b], 1) / (a + b)[:, None], 1 / (1 + a + b), K, tie=tie)
            np.testing.assert_allclose(got, ref, atol=1e-12)
    # with several wrong answers: same law of the correct count (Beta(a + c, θ + n − c) marginal of the
    # Dirichlet posterior), but the wrong bloc beats the correct answer more often than any single wrong one
    vc = np.array([[2, 1, 1, 1, 0], [1, 1, 1, 0, 1], [3, 2, 0, 0, 0]])
    bin_ = predict_beta_binomial(vc.sum(1), vc[:, 0], 6, {"alpha": 0.9, "beta": 1.7})
    plur = predict_dirichlet(vc, 6, {"a": 0.9, "theta": 1.7})
    assert np.all(bin_ < plur)


def test_maj_at_1_is_pass_at_1_for_every_model():
    for model in MODELS:
        pred = predict_per_problem(VC, [1, 5], model=model, abstain=VC.shape[1] - 1)
        np.testing.assert_allclose(pred["maj_at_k"][0], pred["pass_at_1"], atol=1e-12)
        np.testing.assert_allclose(pred["sc_gain"][0], 0.0, atol=1e-12)
        np.testing.assert_allclose(pred["sc_gain"][1], pred["maj_at_k"][1] - pred["pass_at_1"])
        np.testing.assert_array_equal(pred["observed_pass_at_1"], VC[:, 0] / VC.sum(1))


def test_bootstrap_interval_covers_the_population_value():
    # super-population: p_correct ~ Beta(2, 2), wrong mass split over 3 answers ~ Dirichlet(1, 1, 1);
    # target = population mean of the exact maj@3. P = 40 problems, n = 400 samples each (plug-in bias
    # negligible); the 95% bootstrap interval of the plug-in's dataset value should cover ~95% of the time.
    rng = np.random.default_rng(5)

    def draw(P):
        pc = rng.beta(2, 2, P)
        return np.concatenate([pc[:, None], (1 - pc)[:, None] * rng.dirichlet([1, 1, 1], P)], axis=1)

    target = float(np.mean(plurality_accuracy(draw(20000), 3)))  # ± 0.002 (Monte Carlo over problems)
    reps, hits = 120, 0
    for r in range(reps):
        p = draw(40)
        counts = np.array([rng.multinomial(400, row) for row in p])
        d = predict_maj_at_k(counts, [3], model="plugin", n_boot=400, seed=r)["dataset"]["maj_at_k"]["3"]
        hits += d["low"] <= target <= d["high"]
    assert 0.87 <= hits / reps <= 0.995, hits / reps


def _table():
    counts = [[{"A": 3, "B": 1}, {"B": 3, "A": 1}, {"A": 2, "C": 1, None: 1}, {"D": 2, "E": 2}],
              [{"A": 4}, {"B": 2, "A": 2}, {"A": 3, "C": 1}, {}]]
    return from_answer_counts(["0", "100"], ["p0", "p1", "p2", "p3"], counts, ["A"] * 4)


@pytest.mark.parametrize("model", MODELS)
def test_prediction_contract(model):
    t = _table()
    out = predict_sc(t, [3, 16], model=model, n_boot=200)
    assert set(out) == {"0", "100"} and out["100"]["n_problems"] == 3 and out["0"]["n_problems"] == 4  # p3 not evaluated at 100
    for ck, e in out.items():
        assert set(e) == {"n_problems", "pass_at_1", "maj_at_k", "sc_gain"}
        for block in [e["pass_at_1"]] + list(e["maj_at_k"].values()) + list(e["sc_gain"].values()):
            assert set(block) == {"estimate", "low", "high"}
            assert block["low"] - 1e-12 <= block["estimate"] <= block["high"] + 1e-12
        assert set(e["maj_at_k"]) == {"3", "16"} == set(e["sc_gain"])
        for K in ("3", "16"):
            assert e["sc_gain"][K]["estimate"] == pytest.approx(e["maj_at_k"][K]["estimate"] - e["pass_at_1"]["estimate"])
        # the contract's numbers are the per-problem predictions' means
        pred = predict_per_problem(t, [3, 16], model=model, checkpoint=ck)
        assert e["pass_at_1"]["estimate"] == pytest.approx(pred["pass_at_1"].mean())
        assert e["maj_at_k"]["16"]["estimate"] == pytest.approx(pred["maj_at_k"][1].mean())
    if model == "plugin":
        assert out["0"]["pass_at_1"]["estimate"] == pytest.approx(np.mean([3 / 4, 1 / 4, 2 / 4, 0]))
    json.dumps(out)


def test_tables_and_arrays_give_the_same_predictions():
    t = _table()
    vc, ab = t.vote_counts()
    for model in MODELS:
        a = predict_maj_at_k(t, [2, 9], model=model, checkpoint="100", n_boot=50)
        b = predict_maj_at_k(vc[1], [2, 9], model=model, abstain=ab, n_boot=50)
        np.testing.assert_array_equal(a["problems"], [0, 1, 2])
        np.testing.assert_array_equal(b["problems"], [0, 1, 2])  # the empty row (p3) is left out
        np.testing.assert_allclose(a["maj_at_k"], b["maj_at_k"], atol=1e-12)
        assert a["dataset"] == b["dataset"] and a["problem_ids"] == ["p0", "p1", "p2"]


def test_count_only_tables_need_the_binary_model():
    t = CountsTable(("m",), np.array([np.nan]), ("a", "b"), np.array([[10, 10]]), np.array([[7, 2]]))
    with pytest.raises(ValueError, match="beta_binomial"):
        predict_sc(t, [5], model="plugin")
    out = predict_sc(t, [5], model="beta_binomial", n_boot=50)
    assert out["m"]["n_problems"] == 2


def test_bad_inputs_name_the_argument():
    t = _table()
    cases = [
        (lambda: predict_sc(t, [5], model="magic"), "model"),
        (lambda: predict_sc(t, [0]), "ks"),
        (lambda: predict_sc(t, []), "ks"),
        (lambda: predict_sc(t, [3, 3]), "ks"),
        (lambda: predict_sc(t, [2.5]), "ks"),
        (lambda: predict_sc(t, [3], n_boot=0), "n_boot"),
        (lambda: predict_sc(t, [3], tie="maybe"), "tie"),
        (lambda: predict_sc(VC, [3]), "table"),
        (lambda: predict_maj_at_k(t, [3], checkpoint="999"), "checkpoint"),
        (lambda: predict_maj_at_k(t, [3], checkpoint=5), "checkpoint"),
        (lambda: predict_maj_at_k(VC, [3], abstain=9), "abstain"),
        (lambda: predict_maj_at_k(-VC, [3]), "counts"),
        (lambda: predict_plugin(VC[:, :1], 3), "vc"),
        (lambda: predict_plugin(VC, -1), "K"),
        (lambda: predict_dirichlet(VC, 3, {"a": 1.0}), "prior"),
        (lambda: predict_dirichlet(VC, 3, {"a": -1.0, "theta": 1.0}), "prior"),
        (lambda: predict_beta_binomial([3, 2], [4, 1], 3), "c"),
        (lambda: predict_beta_binomial([3, 2], [1, 1], 3, {"alpha": 0, "beta": 1}), "fit"),
        (lambda: fit_dirichlet_prior(VC, method="median"), "method"),
    ]
    for f, name in cases:
        with pytest.raises(ValueError, match=name):
            f()
    # every problem all-correct (or all-wrong): the empirical-Bayes prior is degenerate; the predictions are
    # its limit (point mass at p = 1, resp. 0), flagged, for every model that fits a prior
    allok = from_answer_counts(["7"], ["x", "y"], [[{"A": 3}, {"A": 2}]], ["A", "A"])
    allbad = from_answer_counts(["7"], ["x", "y"], [[{"B": 3}, {"B": 1, "C": 1}]], ["A", "A"])
    for model in ("dirichlet", "dirichlet_loo", "beta_binomial"):
        for table, v in ((allok, 1.0), (allbad, 0.0)):
            got = predict_sc(table, [5], model=model, n_boot=20)["7"]
            assert got["maj_at_k"]["5"] == {"estimate": v, "low": v, "high": v}
            assert got["pass_at_1"]["estimate"] == v and got["sc_gain"]["5"]["estimate"] == 0.0
        assert predict_per_problem(allbad, [3], model=model)["params"]["degenerate"] == "no sample is correct"
    with pytest.raises(ValueError, match="every sample is correct"):
        fit_dirichlet_prior(allok.vote_counts()[0][0])
    assert predict_sc(allok, [5], model="plugin", n_boot=20)["7"]["maj_at_k"]["5"]["estimate"] == 1.0


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
