"""real.analysis against brute-force k-subset enumeration and hand cases."""

import itertools
from fractions import Fraction

import numpy as np
import pytest

from real.analysis import (
    CLASS_NAMES,
    analyze,
    answer_classes,
    answer_diagnostics,
    attribution,
    bootstrap_mean,
    bootstrap_weights,
    checkpoint_metrics,
    coverage,
)
from real.counts import CountsTable, from_answer_counts


def table_from_samples(samples, gold="A"):
    """samples: nested list [C][P] of lists of answers (None = unparsed)."""
    C, P = len(samples), len(samples[0])
    counts = [[{} for _ in range(P)] for _ in range(C)]
    for c in range(C):
        for p in range(P):
            for a in samples[c][p]:
                counts[c][p][a] = counts[c][p].get(a, 0) + 1
    return from_answer_counts([str(10 * c) for c in range(C)], [f"q{p}" for p in range(P)], counts, [gold] * P)


def brute_vote(sub, gold="A"):
    votes = {}
    for a in sub:
        if a is not None:
            votes[a] = votes.get(a, 0) + 1
    if votes.get(gold, 0) == 0:
        return Fraction(0)
    top = max(votes.values())
    if votes[gold] < top:
        return Fraction(0)
    return Fraction(1, sum(1 for v in votes.values() if v == top))


def brute_metrics(samples, k, gold="A"):
    subs = list(itertools.combinations(range(len(samples)), k))
    maj = sum(brute_vote([samples[i] for i in s], gold) for s in subs) / len(subs)
    pas = Fraction(sum(any(samples[i] == gold for i in s) for s in subs), len(subs))
    return float(maj), float(pas)


SAMPLES = [
    [["A", "A", "B", "C", None, "A"], ["B", "B", "A", "C", "B", "A"], ["C", "D", "E", "A", None, "F"]],
    [["A", "A", "A", "A", "B", "A"], ["B", "B", "B", "A", "B", "B"], ["C", "C", "C", "A", "A", "C"]],
]


def test_metrics_match_subset_enumeration():
    t = table_from_samples(SAMPLES)
    m = checkpoint_metrics(t, [1, 2, 3, 5, 6], n_boot=50)
    for c in range(2):
        for p in range(3):
            for j, k in enumerate(m["ks"]):
                maj, pas = brute_metrics(SAMPLES[c][p], k)
                assert m["per_problem"]["maj_at_k"][c, p, j] == pytest.approx(maj, abs=1e-12)
                assert m["per_problem"]["pass_at_k"][c, p, j] == pytest.approx(pas, abs=1e-12)
                p1 = SAMPLES[c][p].count("A") / 6
                assert m["per_problem"]["sc_gain"][c, p, j] == pytest.approx(maj - p1, abs=1e-12)
    est = m["sc_gain"]["estimate"]
    np.testing.assert_allclose(est, m["per_problem"]["sc_gain"].mean(axis=1), atol=1e-12)
    assert np.all(m["sc_gain"]["low"] <= est + 1e-12) and np.all(est <= m["sc_gain"]["high"] + 1e-12)


def test_bootstrap_interval_covers_and_shrinks():
    rng = np.random.default_rng(0)
    widths = []
    for P in (50, 800):
        v = rng.random((1, P))
        b = bootstrap_mean(v, bootstrap_weights(P, 400, 1))
        assert b["low"][0] <= v.mean() <= b["high"][0]
        widths.append(b["high"][0] - b["low"][0])
        se = v.std() / np.sqrt(P)
        assert 2.5 * se < widths[-1] < 5.5 * se  # a 95% interval is about 3.9 standard errors wide
    assert widths[1] < widths[0] / 3
    # NaN entries are left out of both the estimate and the resamples
    v = np.array([[1.0, np.nan, 3.0]])
    assert bootstrap_mean(v, bootstrap_weights(3, 50, 0))["estimate"][0] == 2.0


def test_attribution_classes_and_identity():
    t = table_from_samples(SAMPLES)
    cls = answer_classes(t)
    # ckpt 0: q0 A leads (3 vs 1) -> right; q1 B (3) > A (2) -> consistent-wrong; q2 A=1, wrongs all single -> scattered
    assert cls[0].tolist() == [0, 1, 2] and cls[1].tolist() == [0, 1, 1]
    a = attribution(t, 5)
    total = sum(a["by_class"][n] for n in CLASS_NAMES)
    np.testing.assert_allclose(total, a["total"], atol=1e-12)
    m = checkpoint_metrics(t, [5], n_boot=10)
    np.testing.assert_allclose(a["total"], m["sc_gain"]["estimate"][:, 0], atol=1e-12)
    assert a["by_class"]["consistent_wrong"][1] < 0 and a["n_by_class"]["consistent_wrong"][1] == 2


def test_negative_sc_checkpoint_is_flagged_and_diagnosed():
    base = [["A", "A", "A", "B", "C", "D"]] * 4  # correct leads, scattered errors: SC gain > 0
    later = [["A", "A", "B", "B", "B", "C"]] * 4  # a wrong answer overtook: SC gain < 0
    t = table_from_samples([base, later])
    res = analyze(t, ks=[1, 3, 5], K=5, n_boot=100)
    neg = res["negative_sc"]
    assert [d["checkpoint"] for d in neg] == ["10"]
    d = neg[0]
    assert d["sc_gain"] < 0 and d["ci_excludes_zero"]
    assert d["attribution"]["consistent_wrong"] == pytest.approx(d["sc_gain"], abs=1e-12)
    assert d["since_previous"]["leader_correct_to_wrong"] == 4 and d["since_previous"]["d_pass_at_1"] == pytest.approx(-1 / 6)
    # collision of wrong answers: B,B,B,C -> (3*2 + 0) / (4*3) = 0.5
    assert d["wrong_collision"] == pytest.approx(0.5)
    diag = answer_diagnostics(t)
    q = np.array([2, 3, 1]) / 6
    assert diag["entropy"][1, 0] == pytest.approx(-(q * np.log(q)).sum())
    assert diag["top1_share"][1, 0] == pytest.approx(0.5)


def test_coverage_hand_case():
    # two checkpoints solving disjoint halves (all-or-nothing): Jaccard 0, union covers everything
    A, X = ["A"] * 4, ["X"] * 4
    t = table_from_samples([[A, A, X, X], [X, X, A, A]])
    cov = coverage(t, k=4, K=4)
    assert cov["jaccard"][0, 1] == 0.0 and cov["rotation"] == 1.0
    assert cov["retention"].tolist() == [0.0] and cov["acquisition"].tolist() == [0.5] and cov["loss"].tolist() == [0.5]
    assert cov["best_single"]["pass_at_K"] == 0.5 and cov["union"][2]["pass_at_K"] == 1.0
    assert cov["union"][2]["per_checkpoint_k"] == [2, 2]
    assert cov["unsolvable"][4]["nested"] is False and cov["unsolvable"][4]["size"] == [2, 2]
    # nested unsolvable sets: each later checkpoint solves a superset
    t2 = table_from_samples([[A, X, X, X], [A, A, X, X], [A, A, A, X]])
    assert coverage(t2, k=4, K=4)["unsolvable"][4]["nested"] is True


def test_cross_checkpoint_majority_pools_answers():
    # the last checkpoint alone is split A/B; pooled with earlier ones, A clearly leads
    t = table_from_samples([[["A", "A", "A", "B"]], [["A", "A", "A", "C"]], [["A", "A", "B", "B"]]])
    cm = coverage(t, k=4, K=4)["cross_checkpoint_majority"][3]
    maj_pool, _ = brute_metrics(["A"] * 8 + ["B"] * 3 + ["C"], 4)
    assert cm["pooled_maj_at_K"] == pytest.approx(maj_pool, abs=1e-12)
    assert cm["last_checkpoint_maj_at_K"] == pytest.approx(0.5)


def test_count_only_tables_and_unequal_budgets():
    t = CountsTable(("a", "b"), np.array([np.nan, np.nan]), ("q0", "q1"), np.array([[10, 4], [6, 8]]), np.array([[3, 0], [6, 1]]))
    m = checkpoint_metrics(t, [1, 4, 8], n_boot=20)
    assert "maj_at_k" not in m and "unequal budgets" in m["note"]
    assert m["n_problems"].tolist() == [[2, 2, 1], [2, 2, 1]]
    assert np.isnan(m["per_problem"]["pass_at_k"][0, 1, 2])  # n = 4 < k = 8
    res = analyze(t, n_boot=20)
    assert "attribution" not in res and res["coverage"]["k"] == 4
    with pytest.raises(ValueError, match="answer_counts"):
        attribution(t, 2)
