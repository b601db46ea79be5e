"""real.logs.predict, the Pitman-Yor model: exact maj@K against enumeration of the sequential urn, Monte Carlo of
the stick-breaking generative model and the Dirichlet-process limit; the EPPF against the sequential Chinese
restaurant product; the fit against simulated data; the predictive interval's coverage on data drawn from the
model; the pass@k predictions' contract."""

import math

import numpy as np
import pytest

from real.logs.predict import (
    _maj_at_k_by_subsets,
    fit_pitman_yor_prior,
    pitman_yor_log_eppf,
    predict_dirichlet,
    predict_pass_at_k,
    predict_per_problem,
    predict_pitman_yor,
    predictive_maj_interval,
    simulate_pitman_yor_future,
    write_pass_at_k,
)
from real.logs.table import CountsTable
from theory.passk import posterior_pass_at_k
from theory.voting import maj_at_k

# correct, wrong answers (unsorted), unparsed last
VC = np.array([[2, 1, 1, 0, 0], [1, 0, 2, 0, 1], [0, 3, 0, 0, 1], [1, 1, 0, 1, 0], [3, 0, 0, 0, 0], [0, 0, 0, 0, 2]])
PRIOR = {"a": 0.8, "b": 1.3, "d": 0.4, "theta_w": 0.7, "eta": 0.5, "zeta": 2.0}


def _urn_enumeration(row, K, pr, tie, new_vote=True):
    """Σ over every sequence of K fresh votes of its probability × credit, each vote drawn from the sequential
    urns written from their definitions (Blackwell-MacQueen / Chinese restaurant with discount d)."""
    a, b, d, tw, eta, zeta = (pr[k] for k in ("a", "b", "d", "theta_w", "eta", "zeta"))
    c0, null = row[0], row[-1]
    w = [x for x in row[1:-1] if x > 0]
    n, nw, m = sum(row), sum(w), len(w)
    total = 0.0

    def rec(k, x0, xn, tabs, p):
        nonlocal total
        if k == K:
            cand = [tabs[j] for j in range(len(tabs)) if new_vote or j < m]
            top = max(cand, default=-1)
            if x0 == 0 or x0 < top or (x0 == top and tie == "strict"):
                credit = 0.0
            else:
                credit = 1.0 if x0 > top else 1.0 / (1 + sum(v == top for v in cand))
            total += p * credit
            return
        pc = (a + c0 + x0) / (a + b + n + k)
        rec(k + 1, x0 + 1, xn, tabs, p * pc)
        pnull = (eta + null + xn) / (eta + zeta + n - c0 + k - x0)
        if pnull > 0:
            rec(k + 1, x0, xn + 1, tabs, p * (1 - pc) * pnull)
        pw = (1 - pc) * (1 - pnull)
        den = nw + tw + (k - x0 - xn)
        for j in range(len(tabs)):
            t2 = list(tabs)
            t2[j] += 1
            rec(k + 1, x0, xn, t2, p * pw * ((w[j] if j < m else 0) + tabs[j] - d) / den)
        rec(k + 1, x0, xn, list(tabs) + [1], p * pw * (tw + d * len(tabs)) / den)

    rec(0, 0, 0, [0] * m, 1.0)
    return total


@pytest.mark.parametrize("tie", ["random", "strict"])
def test_pitman_yor_maj_is_the_sequential_urn_by_enumeration(tie):
    for K in (1, 2, 3, 5):
        for rule, new_vote in (("vote", True), ("abstain", False)):
            got = predict_pitman_yor(VC, K, PRIOR, tie=tie, new_answers=rule)
            ref = [_urn_enumeration(row, K, PRIOR, tie, new_vote) for row in VC]
            np.testing.assert_allclose(got, ref, atol=1e-12, err_msg=f"K={K} {rule}")


def test_pitman_yor_limit_is_the_dirichlet_model():
    # d = 0, θ_w = b, nothing unparsed, new answers abstaining: the Dirichlet process with base a δ_correct + θ·diffuse
    vc = VC.copy()
    vc[:, -1] = 0
    vc = vc[vc.sum(1) > 0]
    for K, tie in ((3, "random"), (8, "strict")):
            got = predict_pitman_yor(vc, K, {"a": 0.9, "b": 0.6, "d": 0.0, "theta_w": 0.6}, tie=tie, new_answers="abstain")
            np.testing.assert_allclose(got, predict_dirichlet(vc, K, {"a": 0.9, "theta": 0.6}, tie=tie), atol=1e-12)


def _stick_breaking_monte_carlo(row, K, pr, n_sim, rng, trunc=100):
    """The generative model drawn as random measures: p₀, q from their Beta posteriors, the seen wrong answers'
    weights and the new mass from Dirichlet(c_j − d, θ_w + m d), the new mass split by the stick-breaking of
    PY(d, θ_w + m d) (V_k ~ Beta(1 − d, θ' + k d), Ishwaran and James 2001, truncated at 100 sticks), then K iid votes."""
    a, b, d, tw, eta, zeta = (pr[k] for k in ("a", "b", "d", "theta_w", "eta", "zeta"))
    c0, null = row[0], row[-1]
    w = np.array([x for x in row[1:-1] if x > 0], float)
    n, m = row.sum(), len(w)
    th = tw + m * d
    p0 = rng.beta(a + c0, b + n - c0, n_sim)
    q = rng.beta(eta + null, zeta + w.sum(), n_sim)
    W = rng.dirichlet(np.concatenate([w - d, [th]]), n_sim)
    V = rng.beta(1 - d, th + d * np.arange(1, trunc + 1), (n_sim, trunc))
    sticks = V * np.concatenate([np.ones((n_sim, 1)), np.cumprod(1 - V, axis=1)[:, :-1]], axis=1)
    wrong = np.concatenate([W[:, :m], W[:, m:] * sticks], axis=1) * ((1 - p0) * (1 - q))[:, None]
    probs = np.concatenate([p0[:, None], wrong, ((1 - p0) * q)[:, None]], axis=1)
    probs[:, -1] += np.clip(1 - probs.sum(1), 0, None)  # the truncated tail (mean ~1e-3 here) votes for nothing
    votes = rng.multinomial(K, probs / probs.sum(1, keepdims=True))
    c, others = votes[:, 0], votes[:, 1:-1]
    top = others.max(1)
    return np.mean(np.where(c > top, 1.0, np.where((c == top) & (c > 0), 1.0 / (1 + (others == c[:, None]).sum(1)), 0.0)))


def test_pitman_yor_maj_against_stick_breaking_monte_carlo():
    rng = np.random.default_rng(3)
    n_sim = 10000
    K = 12  # beyond enumeration
    got = predict_pitman_yor(VC[:3], K, PRIOR)
    for row, g in zip(VC[:3], got):
        mc = _stick_breaking_monte_carlo(row, K, PRIOR, n_sim, rng)
        assert abs(g - mc) < 4.5 * 0.5 / math.sqrt(n_sim), (row, g, mc)


def test_eppf_is_the_sequential_chinese_restaurant_product():
    rng = np.random.default_rng(0)
    for d, t in ((0.0, 1.7), (0.35, 0.2), (0.8, -0.5)):
        for _ in range(6):
            counts = rng.integers(0, 4, 5)
            # one order: the answers' samples one after another; table j opened with weight θ + d·(open tables)
            p, seen, opened = 0.0, 0, 0
            for cj in counts[counts > 0]:
                for i in range(cj):  # the i-th sample of this answer: opens its table (i = 0) or joins it (size i)
                    if seen:
                        p += math.log(t + d * opened if i == 0 else i - d) - math.log(t + seen)
                    seen += 1
                opened += 1
            got = float(pitman_yor_log_eppf(counts[None], d, t)[0])
            assert got == pytest.approx(p, abs=1e-12), (counts, d, t)
    with pytest.raises(ValueError, match="theta_w"):
        pitman_yor_log_eppf([[1, 2]], 0.5, -0.6)


def _draw_problems(P, n, pr, rng):
    """Counts [P, 2 + n] (correct, wrong answers, unparsed = 0) of n samples per problem drawn from the model."""
    a, b, d, tw = pr["a"], pr["b"], pr["d"], pr["theta_w"]
    p0 = rng.beta(a, b, P)
    out = np.zeros((P, n + 2), np.int64)
    for i in range(P):
        tabs = []
        for _ in range(n):
            if rng.random() < p0[i]:
                out[i, 0] += 1
                continue
            r = sum(tabs)
            wts = np.array([x - d for x in tabs] + [tw + d * len(tabs)]) / (r + tw)
            j = rng.choice(len(wts), p=wts)
            if j == len(tabs):
                tabs.append(1)
            else:
                tabs[j] += 1
        out[i, 1:1 + len(tabs)] = tabs
    return out


def test_fit_recovers_the_prior_and_maximizes_the_likelihood():
    rng = np.random.default_rng(7)
    truth = {"a": 1.2, "b": 0.8, "d": 0.6, "theta_w": 0.5}
    vc = _draw_problems(3000, 6, truth, rng)
    fit = fit_pitman_yor_prior(vc)
    assert fit["converged"] and fit["py_identified"] and fit["eta"] == 0.0
    assert fit["d"] == pytest.approx(0.6, abs=0.08) and fit["theta_w"] == pytest.approx(0.5, abs=0.3)
    assert fit["a"] == pytest.approx(1.2, rel=0.15) and fit["b"] == pytest.approx(0.8, rel=0.15)
    wrong = vc[:, 1:-1]
    ll = lambda d, t: float(pitman_yor_log_eppf(wrong, d, t).sum())  # noqa: E731
    assert fit["eppf_loglik"] == pytest.approx(ll(fit["d"], fit["theta_w"]), rel=1e-10)
    grid = max(ll(d, t) for d in np.linspace(0, 0.95, 20) for t in np.linspace(-d + 0.01, 3, 20))
    assert fit["eppf_loglik"] >= grid - 1e-6


def test_simulated_futures_follow_the_posterior_predictive():
    n_sim = 20000
    sims = simulate_pitman_yor_future(VC, 5, PRIOR, n_sim=n_sim, seed=2)
    assert sims.shape[:2] == (n_sim, len(VC)) and np.all(sims.sum(axis=2) == 5)
    # next-sample probabilities: correct (a + c₀)/(a + b + n), unparsed (1 − that)·(η + n_null)/(η + ζ + n − c₀)
    n, c0, null = VC.sum(1), VC[:, 0], VC[:, -1]
    pc = (PRIOR["a"] + c0) / (PRIOR["a"] + PRIOR["b"] + n)
    pn = (1 - pc) * (PRIOR["eta"] + null) / (PRIOR["eta"] + PRIOR["zeta"] + n - c0)
    np.testing.assert_allclose(sims[..., 0].mean(0) / 5, pc, atol=4.5 * 0.5 / math.sqrt(n_sim))
    np.testing.assert_allclose(sims[..., -1].mean(0) / 5, pn, atol=4.5 * 0.5 / math.sqrt(n_sim))
    # the unbiased maj@K estimator on the fresh samples has the exact prediction as its mean
    for K in (3, 5):
        flat = sims.reshape(-1, sims.shape[-1])
        vals = np.asarray(maj_at_k(flat, K, abstain=flat.shape[1] - 1)).reshape(n_sim, -1)
        np.testing.assert_allclose(vals.mean(0), predict_pitman_yor(VC, K, PRIOR), atol=4.5 * vals.std(0).max() / math.sqrt(n_sim))


def test_subset_engine_is_the_unbiased_estimator():
    rng = np.random.default_rng(1)
    u = np.array([rng.multinomial(6, [0.35, 0.2, 0.2, 0.1, 0.05, 0.1]) for _ in range(60)])
    for K in (1, 3, 6):
        for tie in ("random", "strict"):
            np.testing.assert_allclose(_maj_at_k_by_subsets(u, K, tie), maj_at_k(u, K, tie=tie, abstain=5), atol=1e-12)
    assert _maj_at_k_by_subsets(np.array([[3, 1, 0], [2, 1, 0]]), 2, "random") is None  # unequal n: not handled


def test_predictive_interval_covers_values_drawn_from_the_model():
    # truth known: problems drawn from the prior, 4 observed and 6 fresh samples each; the 95% interval (prior
    # held at the truth) should cover the realized dataset maj@K about 95% of the time
    rng = np.random.default_rng(11)
    truth = {"a": 1.0, "b": 0.8, "d": 0.6, "theta_w": 0.6}
    reps, hits, K = 30, 0, 5
    for r in range(reps):
        full = _draw_problems(80, 10, truth, rng)
        obs = np.array([rng.multivariate_hypergeometric(row, 4) for row in full])
        rest = full - obs
        iv = predictive_maj_interval(obs, [K], 6, truth, n_sim=200, n_prior_boot=0, seed=r)[str(K)]
        realized = float(np.mean(maj_at_k(rest, K, abstain=rest.shape[1] - 1)))
        hits += iv["low"] <= realized <= iv["high"]
        assert iv["low"] <= iv["estimate"] <= iv["high"]
    assert 0.83 <= hits / reps <= 1.0, hits / reps  # P(≤ 24 of 30 | 95%) ≈ 0.8%


def test_predictive_interval_with_prior_refits_is_wider():
    rng = np.random.default_rng(5)
    obs = _draw_problems(150, 3, {"a": 1.0, "b": 0.8, "d": 0.6, "theta_w": 0.6}, rng)
    prior = fit_pitman_yor_prior(obs)
    fixed = predictive_maj_interval(obs, [3, 7], 7, prior, n_sim=300, n_prior_boot=0, seed=0)
    boot = predictive_maj_interval(obs, [3, 7], 7, prior, n_sim=300, n_prior_boot=15, seed=0)
    for K in ("3", "7"):
        assert fixed[K]["estimate"] == boot[K]["estimate"]
        assert boot[K]["sd"] > fixed[K]["sd"]
    assert "Laird-Louis" in boot["interval"] and "prior fixed" in fixed["interval"]


def test_per_problem_contract_and_bad_inputs():
    pred = predict_per_problem(VC, [1, 4], model="pitman_yor", abstain=VC.shape[1] - 1)
    np.testing.assert_allclose(pred["maj_at_k"][0], pred["pass_at_1"], atol=1e-12)
    assert {"a", "b", "d", "theta_w", "eta", "zeta"} <= set(pred["params"])
    cases = [
        (lambda: predict_pitman_yor(VC, 3, {"a": 1.0, "b": 1.0}), "prior"),
        (lambda: predict_pitman_yor(VC, 3, dict(PRIOR, d=1.0)), "prior: d"),
        (lambda: predict_pitman_yor(VC, 3, dict(PRIOR, theta_w=-0.5)), "theta_w"),
        (lambda: predict_pitman_yor(VC, 3, dict(PRIOR, a=[1.0, 2.0])), "prior: a"),
        (lambda: predict_pitman_yor(VC, 3, PRIOR, new_answers="maybe"), "new_answers"),
        (lambda: predictive_maj_interval(VC, [6], 5, PRIOR), "ks"),
        (lambda: predictive_maj_interval(VC, [3], 5, PRIOR, n_sim=10, n_prior_boot=20), "n_prior_boot"),
        (lambda: simulate_pitman_yor_future(VC, 0, PRIOR), "n_future"),
    ]
    for f, name in cases:
        with pytest.raises(ValueError, match=name):
            f()


def test_pass_at_k_predictions_contract():
    n = np.array([[16, 16, 16, 16, 16, 0], [16, 16, 16, 16, 16, 16]])
    c = np.array([[0, 1, 3, 8, 0, 0], [0, 0, 0, 0, 0, 0]])
    t = CountsTable(("a", "b"), np.array([np.nan, np.nan]), tuple(f"p{i}" for i in range(6)), n, c)
    for model in ("pooled", "zero_inflated", "beta_binomial"):
        out = predict_pass_at_k(t, [1, 10, 1000], model=model, n_boot=8)
        a, b = out["checkpoints"]["a"], out["checkpoints"]["b"]
        assert a["n_problems"] == 5 and a["problems"]["problem_id"] == ["p0", "p1", "p2", "p3", "p4"]
        assert b["params"]["degenerate"] == "no sample is correct" and b["dataset"]["1000"] == {"estimate": 0.0, "low": 0.0, "high": 0.0}
        pr = a["params"]
        ref = posterior_pass_at_k(16, np.array([0, 1, 3, 8, 0]), 1000, pr["pi0"], pr["alpha"], pr["beta"])
        np.testing.assert_allclose(a["problems"]["pass_at_k"]["1000"]["estimate"], ref)
        for k in ("1", "10", "1000"):
            d = a["dataset"][k]
            assert d["low"] <= d["estimate"] <= d["high"]
            pp = a["problems"]["pass_at_k"][k]  # a posterior interval (quantiles), which need not contain the mean
            assert np.all(np.array(pp["low"]) <= np.array(pp["high"])) and np.all(np.array(pp["estimate"]) <= np.array(pp["high"]) + 1e-12)
        assert a["dataset"]["1"]["estimate"] == pytest.approx(np.mean(a["problems"]["pass_at_k"]["1"]["estimate"]))
    csv = write_pass_at_k(out)
    assert csv.startswith("{")
    with pytest.raises(ValueError, match="model"):
        predict_pass_at_k(t, [1], model="magic")
    with pytest.raises(ValueError, match="n_boot"):
        predict_pass_at_k(t, [1], n_boot=-1)


def test_pass_at_k_predictions_deconvolution():
    """The "deconvolution" model: per-problem estimates are the discrete-posterior pass@k of the reported prior,
    the intervals are its posterior quantiles, the bootstrap interval holds the estimate, degenerate checkpoints
    get the limit."""
    from theory.passk import deconvolution_pass_at_k, deconvolution_pass_at_k_quantile

    n = np.array([[16, 16, 16, 16, 16, 0], [16, 16, 16, 16, 16, 16]])
    c = np.array([[0, 1, 3, 8, 0, 0], [0, 0, 0, 0, 0, 0]])
    t = CountsTable(("a", "b"), np.array([np.nan, np.nan]), tuple(f"p{i}" for i in range(6)), n, c)
    out = predict_pass_at_k(t, [1, 10, 1000], model="deconvolution", n_boot=6)
    a, b = out["checkpoints"]["a"], out["checkpoints"]["b"]
    assert b["params"]["degenerate"] == "no sample is correct" and b["dataset"]["1000"] == {"estimate": 0.0, "low": 0.0, "high": 0.0}
    pr = a["params"]
    assert pr["df"] in (3, 5, 7) and pr["c0"] in (0.1, 1.0, 10.0) and abs(sum(pr["g"]) - 1) < 1e-9
    cc = np.array([0, 1, 3, 8, 0])
    np.testing.assert_allclose(a["problems"]["pass_at_k"]["1000"]["estimate"], deconvolution_pass_at_k(16, cc, 1000, pr["grid"], pr["g"]))
    np.testing.assert_allclose(a["problems"]["pass_at_k"]["10"]["low"], deconvolution_pass_at_k_quantile(16, cc, 10, 0.025, pr["grid"], pr["g"]))
    for k in ("1", "10", "1000"):
        d = a["dataset"][k]
        assert d["low"] <= d["estimate"] <= d["high"]
        pp = a["problems"]["pass_at_k"][k]
        assert np.all(np.array(pp["low"]) <= np.array(pp["high"]))
    assert a["dataset"]["1"]["estimate"] == pytest.approx(np.mean(a["problems"]["pass_at_k"]["1"]["estimate"]))
    assert write_pass_at_k(out).startswith("{")
