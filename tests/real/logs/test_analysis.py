"""real.logs.analysis against brute-force k-subset enumeration, hand cases and Monte Carlo."""

import itertools
import json
from fractions import Fraction

import numpy as np
import pytest
from helpers import table_from_samples

from real.logs.analysis import (
    CLASS_NAMES,
    analyze,
    answer_classes,
    answer_diagnostics,
    attribution,
    checkpoint_metrics,
    coverage,
    cross_checkpoint_majority,
    maj_at_k_rows,
    negative_sc_checkpoints,
    per_problem_maj_at_k,
    pooled_counts,
)
from real.logs.table import CountsTable
from theory.voting import sc_gain_from_counts


def brute_vote(sub, gold="A"):
    """Plurality vote of one subset: nulls abstain, a t-way tie at the top gives 1/t."""
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
    """(maj@k, pass@k) as exact means over every k-subset of the sample list."""
    subs = list(itertools.combinations(range(len(samples)), k))
    maj = sum(brute_vote([samples[i] for i in s], gold) for s in subs) / len(subs)
    pas = Fraction(sum(any(samples[i] == gold for i in s) for s in subs), len(subs))
    return float(maj), float(pas)


def expand(row):
    """Count vector (correct, wrong..., null) -> sample list."""
    out = ["A"] * int(row[0])
    for j, m in enumerate(row[1:-1]):
        out += [f"w{j}"] * int(m)
    return out + [None] * int(row[-1])


SAMPLES = [
    [["A", "A", "B", "C", None, "A"], ["B", "B", "A", "C", "B", "A"], ["C", "D", "E", "A", None, "F"]],
    [["A", "A", "A", "A", "B", "A"], ["B", "B", "B", "A", "B", "B"], ["C", "C", "C", "A", "A", "C"]],
]


# ---------------------------------------------------------------------------------------------------- estimators


def test_metrics_match_subset_enumeration():
    t = table_from_samples(SAMPLES)
    ks = [1, 2, 3, 4, 5, 6]
    m = checkpoint_metrics(t, ks, n_boot=50)
    vc, ab = t.vote_counts()
    for c in range(2):
        for p in range(3):
            for j, k in enumerate(ks):
                maj, pas = brute_metrics(SAMPLES[c][p], k)
                assert m["per_problem"]["maj_at_k"][c, p, j] == pytest.approx(maj, abs=1e-12)
                assert m["per_problem"]["pass_at_k"][c, p, j] == pytest.approx(pas, abs=1e-12)
                p1 = SAMPLES[c][p].count("A") / 6
                assert m["per_problem"]["sc_gain"][c, p, j] == pytest.approx(maj - p1, abs=1e-12)
                # second reference: theory's SC-gain estimator on the same counts
                assert m["per_problem"]["sc_gain"][c, p, j] == pytest.approx(
                    float(sc_gain_from_counts(vc[c, p], k, abstain=ab)), abs=1e-12)
    np.testing.assert_allclose(m["sc_gain"]["estimate"], m["per_problem"]["sc_gain"].mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(m["pass_at_k"]["estimate"], m["per_problem"]["pass_at_k"].mean(axis=1), atol=1e-12)
    assert m["votes"] == "available" and "equal budgets" in m["note"]
    assert {r["metric"] for r in m["rows"]} == {"pass_at_k", "maj_at_k", "sc_gain"} and len(m["rows"]) == 2 * 6 * 3


def test_maj_rows_shortcuts_match_enumeration():
    # hand rows hitting every branch: decided wins, decided losses, no wrong answer, engine, ties, nulls
    hand = [(5, 1, 0, 0), (0, 3, 1, 1), (1, 4, 0, 0), (3, 0, 0, 2), (2, 2, 1, 1), (3, 2, 2, 0), (4, 0, 0, 0), (1, 1, 1, 1)]
    rng = np.random.default_rng(7)
    rand = [tuple(rng.multinomial(int(rng.integers(2, 9)), rng.dirichlet(np.ones(5)))) for _ in range(40)]
    hits = {"win": 0, "lose": 0, "engine": 0}
    for row in hand + rand:
        row = np.array(row)
        n = row.sum()
        for k in range(1, n + 1):
            got = maj_at_k_rows(row[None, :], k)[0]
            want, _ = brute_metrics(expand(row), k)
            assert got == pytest.approx(want, abs=1e-12), (row, k)
            if k > 1:
                w1 = row[1:-1].max()
                if max(0, k - (n - row[0])) > min(w1, k):
                    hits["win"] += 1
                elif min(row[0], k) < k - (n - w1):
                    hits["lose"] += 1
                elif w1 > 0 and row[0] > 0:
                    hits["engine"] += 1
    assert min(hits.values()) >= 5  # every path was exercised
    # batched call equals row-by-row (dedup and the scatter back preserve order)
    rows = np.array([r for r in rand if sum(r) >= 3])
    np.testing.assert_allclose(maj_at_k_rows(rows, 3), [maj_at_k_rows(r[None], 3)[0] for r in rows], atol=1e-14)
    # calls in blocks (bounded memory at 10^5+ cells) give the same values, including a short last block
    import real.logs.analysis as analysis_module

    one_call = maj_at_k_rows(rows, 3)
    old_block = analysis_module.MAJ_BLOCK_ROWS
    try:
        analysis_module.MAJ_BLOCK_ROWS = 3
        np.testing.assert_allclose(maj_at_k_rows(rows, 3), one_call, atol=1e-14)
    finally:
        analysis_module.MAJ_BLOCK_ROWS = old_block
    with pytest.raises(ValueError, match="n >= k"):
        maj_at_k_rows(np.array([[1, 1, 0]]), 3)


def test_unequal_budgets_use_cells_with_enough_samples():
    # checkpoint b has only 4 samples on q1: k = 8 uses q0 alone there
    t = CountsTable(("a", "b"), np.array([0.0, 1.0]), ("q0", "q1"), np.array([[10, 10], [10, 4]]), np.array([[3, 0], [6, 1]]))
    m = checkpoint_metrics(t, [1, 4, 8], n_boot=20)
    assert "budgets differ" in m["note"] and "equal k" in m["note"]
    assert m["n_problems"].tolist() == [[2, 2, 2], [2, 2, 1]]
    assert np.isnan(m["per_problem"]["pass_at_k"][1, 1, 2])
    assert m["pass_at_k"]["estimate"][1, 2] == pytest.approx(m["per_problem"]["pass_at_k"][1, 0, 2])
    with pytest.raises(ValueError, match=r"ks: \[16\] exceed"):
        checkpoint_metrics(t, [1, 16])
    with pytest.raises(ValueError, match="ks: must be an integer >= 1, got 0"):
        checkpoint_metrics(t, [0, 2])


# ---------------------------------------------------------------------------------------------------- attribution


def test_answer_classes_hand_cases():
    cells = [
        ["A"] * 4 + ["B", "C"],                    # 2·4 > 6: confidently right
        ["A"] * 3 + ["B", "B", "C"],               # 3 > 2 but 2·3 = 6 not > 6: scattered
        ["A", "A", "B", "B", "C", "D"],            # tie at the top with a wrong answer: consistent-wrong
        ["A", "B", "B", "B", "C", None],           # wrong plurality: consistent-wrong
        [None] * 6,                                # no parsed answer: scattered (contribution 0)
        ["B", "C", "D", "E", None, None],          # c0 = 0, a wrong answer leads (w1 = 1 >= 1): consistent-wrong
        ["A", "A", "A", None, None, None],         # all parsed answers correct: confidently right
        ["A", "A", "B", "C", "D", "E"],            # strict plurality 2 of 6: scattered
    ]
    t = table_from_samples([cells])
    assert answer_classes(t)[0].tolist() == [0, 2, 1, 1, 2, 1, 0, 2]
    a = attribution(t, 3)
    assert a["contribution"][0, 4] == 0.0  # maj and pass@1 both 0
    assert [a["n_by_class"][n][0] for n in CLASS_NAMES] == [2, 3, 3]
    # an unevaluated cell has class -1 and no contribution
    t2 = table_from_samples([[cells[0], []]])
    assert answer_classes(t2)[0].tolist() == [0, -1]
    assert np.isnan(attribution(t2, 3)["contribution"][0, 1])


def test_attribution_class_sums_equal_sc_gain():
    rng = np.random.default_rng(3)
    letters = ["A", "B", "C", "D", None]
    samples = [[list(rng.choice(letters, size=int(rng.integers(3, 9)), p=rng.dirichlet(np.ones(5))))
                for _ in range(25)] for _ in range(3)]
    t = table_from_samples(samples)
    m = checkpoint_metrics(t, [2, 3], n_boot=20)
    for j, K in enumerate([2, 3]):
        a = attribution(t, K)
        total = sum(a["by_class"][n] for n in CLASS_NAMES)
        np.testing.assert_allclose(total, a["total"], atol=1e-12)
        np.testing.assert_allclose(a["total"], m["sc_gain"]["estimate"][:, j], atol=1e-12)
        assert (sum(a["n_by_class"][n] for n in CLASS_NAMES) == m["n_problems"][:, j]).all()
        # the precomputed per-problem SC gain gives the same attribution
        a2 = attribution(t, K, sc_per_problem=m["per_problem"]["sc_gain"][..., j])
        np.testing.assert_allclose(np.nan_to_num(a2["contribution"]), np.nan_to_num(a["contribution"]), atol=1e-15)
        rows_sum = {}
        for r in a["rows"]:
            rows_sum[r["checkpoint"]] = rows_sum.get(r["checkpoint"], 0.0) + r["contribution"]
        np.testing.assert_allclose(list(rows_sum.values()), a["total"], atol=1e-12)


# ---------------------------------------------------------------------------------------------------- negative SC


def test_negative_sc_checkpoint_is_flagged_with_consistent_wrong_attribution():
    rng = np.random.default_rng(1)
    base, later = [], []
    for _ in range(30):
        extra = list(rng.choice(["C", "D", "E"], size=2))
        base.append(["A", "A", "A", "B"] + extra)      # correct leads (3 of 6), scattered errors
        later.append(["A", "A", "B", "B", "B"] + extra[:1])  # a wrong answer overtook
    t = table_from_samples([base, later])
    res = analyze(t, ks=[1, 3, 5], K=5, n_boot=300)
    neg = res["negative_sc"]
    assert [d["checkpoint"] for d in neg["flagged"]] == ["10"]
    d = neg["flagged"][0]
    assert d["sc_gain"] < 0 and d["ci_excludes_zero"] and d["sc_high"] < 0
    assert d["attribution"]["consistent_wrong"] == pytest.approx(d["sc_gain"], abs=1e-12)
    assert d["n_by_class"]["consistent_wrong"] == 30
    assert d["flips_correct_to_wrong"] == 30 and d["flips_wrong_to_correct"] == 0
    p1_before = np.mean([s.count("A") / 6 for s in base])
    assert d["d_pass_at_1"] == pytest.approx(2 / 6 - p1_before)
    # hand diagnostics of one later cell: A, A, B, B, B, x
    diag = answer_diagnostics(t)
    q = np.array([2, 3, 1]) / 6
    assert diag["entropy"][1, 0] == pytest.approx(-(q * np.log(q)).sum())
    assert diag["top1_share"][1, 0] == pytest.approx(0.5)
    assert diag["wrong_collision"][1, 0] == pytest.approx((3 * 2) / (4 * 3))  # B,B,B,x: unbiased form
    assert diag["leader"][1].tolist() == [-1] * 30 and diag["leader"][0].tolist() == [1] * 30
    assert d["wrong_collision"] == pytest.approx(np.nanmean(diag["wrong_collision"][1]))
    # the base checkpoint is in the per-checkpoint rows, not flagged
    assert [r["negative"] for r in neg["rows"]] == [False, True]
    assert res["tables"]["negative_sc_problems"] and all(r["checkpoint"] == "10" for r in res["tables"]["negative_sc_problems"])
    with pytest.raises(ValueError, match="K: 4 is not among"):
        negative_sc_checkpoints(t, 4, res["metrics"])


# ---------------------------------------------------------------------------------------------------- coverage


A4, X4 = ["A"] * 4, ["X"] * 4


def test_coverage_hand_sets_disjoint_halves():
    t = table_from_samples([[A4, A4, X4, X4], [X4, X4, A4, A4]])
    cov = coverage(t, k=4, K=4, n_boot=200)
    for sfx in ("", "_soft"):  # all-or-nothing problems: soft and binary sets coincide
        assert cov["jaccard" + sfx][0, 1] == 0.0 and cov["jaccard" + sfx][0, 0] == 1.0
        assert cov["retention" + sfx].tolist() == [0.0]
        assert cov["acquisition" + sfx].tolist() == [0.5]
        assert cov["loss" + sfx].tolist() == [0.5]
        assert cov["rotation" + sfx] == 1.0
    assert cov["cumulative_binary"].tolist() == [0.5, 1.0]
    assert cov["best_single"]["pass_at_K"] == 0.5
    u = cov["unions"][0]
    assert u["n_checkpoints"] == 2 and u["per_checkpoint_k"] == [2, 2] and u["pass_at_K"] == 1.0 and u["excess"] == 0.5
    assert u["excess_low"] <= 0.5 <= u["excess_high"]
    assert cov["greedy"]["pass_at_K"] == 1.0
    assert cov["unsolvable"]["full_budget"]["nested"] is False and cov["unsolvable"]["full_budget"]["size"].tolist() == [2, 2]


def test_coverage_overlapping_sets_and_nestedness():
    # solved (binary, n = k): ckpt0 {0,1,2}, ckpt1 {1,3} of 5: J = 1/4, retention 1/3, acquisition 1/5, loss 2/5
    t = table_from_samples([[A4, A4, A4, X4, X4], [X4, A4, X4, A4, X4]])
    cov = coverage(t, n_boot=20)
    assert cov["k"] == 4 and cov["jaccard"][0, 1] == 0.25 and cov["rotation"] == 0.75
    assert cov["retention"][0] == pytest.approx(1 / 3) and cov["acquisition"][0] == 0.2 and cov["loss"][0] == 0.4
    assert cov["solved_fraction"] == [0.6, 0.4] and cov["unsolvable"][4] is cov["unsolvable"]["equal_k"]
    # nested unsolvable sets: each later checkpoint solves a superset
    t2 = table_from_samples([[A4, X4, X4, X4], [A4, A4, X4, X4], [A4, A4, A4, X4]])
    un = coverage(t2, k=4, K=4, n_boot=20)["unsolvable"]
    assert un["equal_k"]["nested"] is True and un["full_budget"]["nested"] is True
    assert un["full_budget"]["size"].tolist() == [3, 2, 1] and un["full_budget"]["always"] == 1
    # one problem lost again at the last checkpoint breaks nestedness there only
    t3 = table_from_samples([[A4, X4, X4, X4], [A4, A4, X4, X4], [X4, A4, A4, X4]])
    un3 = coverage(t3, k=4, K=4, n_boot=20)["unsolvable"]["full_budget"]
    assert un3["nested"] is False and un3["nested_consecutive"].tolist() == [True, False] and un3["violations"].tolist() == [0, 1]


def test_soft_jaccard_is_ratio_of_expected_intersection_and_union_monte_carlo():
    # partially solved problems, n = 6 samples, k = 2: simulate k-subsets and average set sizes
    pattern = [["A", "X", "X", "X", "X", "X"], ["A", "A", "A", "X", "X", "X"], ["A"] * 5 + ["X"], ["X"] * 6]
    t = table_from_samples([pattern, pattern[::-1]])
    cov = coverage(t, k=2, K=2, n_boot=10)
    rng = np.random.default_rng(0)
    c = t.n_correct
    draws = 20000
    hits = np.zeros((draws, 2, 4), bool)
    for ci in range(2):
        for p in range(4):
            u = rng.random((draws, 6)).argsort(axis=1)[:, :2]  # a uniform 2-subset of the 6 samples
            hits[:, ci, p] = (u < c[ci, p]).any(axis=1)      # samples 0..c-1 are the correct ones
    inter = (hits[:, 0] & hits[:, 1]).sum(1).mean()
    union = (hits[:, 0] | hits[:, 1]).sum(1).mean()
    assert cov["jaccard_soft"][0, 1] == pytest.approx(inter / union, abs=0.01)
    np.testing.assert_allclose(cov["solved_fraction_soft"], hits.mean(axis=(0, 2)), atol=0.01)
    assert cov["jaccard_soft"][0, 0] < 1  # two independent evaluations of one checkpoint differ


def test_binary_solved_on_a_random_k_subset_when_budgets_differ():
    # ckpt 0 has 8 samples (2 correct), ckpt 1 has 2 samples; equal k = 2
    t = CountsTable(("a", "b"), np.array([0.0, 1.0]), ("q",), np.array([[8], [2]]), np.array([[2], [1]]))
    draws = np.array([coverage(t, n_boot=5, seed=s)["solved"][:, 0] for s in range(400)])
    assert draws[:, 1].all()  # n = k: exactly n_correct >= 1
    assert draws[:, 0].mean() == pytest.approx(1 - (6 * 5) / (8 * 7), abs=0.06)  # pass@2 = 13/28
    cov = coverage(t, n_boot=5)
    assert cov["k"] == 2 and "budgets differ" in cov["note"]


def test_union_matches_hand_formula_and_even_split():
    # 3 checkpoints, K = 5 -> split 2, 2, 1 over (first, middle, last)
    s = [["A", "X", "X", "X", "X"], ["A", "A", "X", "X", "X"], ["X"] * 5]
    t = table_from_samples([[s[0]], [s[1]], [s[2]]])
    cov = coverage(t, k=5, K=5, windows=(), n_boot=10)
    u = [x for x in cov["unions"] if x["n_checkpoints"] == 3][0]
    assert u["per_checkpoint_k"] == [2, 2, 1]
    fail = (Fraction(3 * 4 // 2, 10) * Fraction(3 * 2 // 2, 10) * 1)  # C(4,2)/C(5,2) · C(3,2)/C(5,2) · 1
    assert u["pass_at_K"] == pytest.approx(float(1 - fail))
    assert cov["single_pass_at_K"].tolist() == [1.0, 1.0, 0.0]


# ---------------------------------------------------------------------------------------------------- cross-checkpoint majority


def test_cross_checkpoint_majority_pools_answers_by_label():
    # wrong answers sit in different slots at different checkpoints; pooling must match them by string
    ck = [["A", "A", "B", "B", "B", "C"], ["A", "A", "C", "C", "C", "B"], ["A", "A", "A", "B", "C", None]]
    t = table_from_samples([[x] for x in ck])
    pool = pooled_counts(t, [0, 1, 2])
    assert pool[0].tolist() == [7, 5, 5, 1]  # A: 7, B: 5, C: 5, null: 1
    cm = cross_checkpoint_majority(t, 4, windows=(3,), n_boot=20)
    assert cm["available"]
    want, _ = brute_metrics(sum(ck, []), 4)
    assert cm["windows"][3]["pooled_maj_at_K"]["estimate"] == pytest.approx(want, abs=1e-12)
    last, _ = brute_metrics(ck[2], 4)
    assert cm["windows"][3]["last_maj_at_K"]["estimate"] == pytest.approx(last, abs=1e-12)
    assert cm["windows"][3]["pooled_minus_last"]["estimate"] == pytest.approx(want - last, abs=1e-12)
    # without labels the analysis says it is unavailable; pooled_counts refuses
    t_nolab = table_from_samples([[x] for x in ck], labels=False)
    cm2 = cross_checkpoint_majority(t_nolab, 4, windows=(3,))
    assert cm2["available"] is False and "labels" in cm2["reason"]
    with pytest.raises(ValueError, match="wrong_answers labels"):
        pooled_counts(t_nolab, [0, 1])


# ---------------------------------------------------------------------------------------------------- count-only and end to end


def test_count_only_table_vote_analyses_raise_pass_and_coverage_work():
    t = CountsTable(("a", "b", "c"), np.array([0.0, 1.0, 2.0]), ("q0", "q1", "q2"),
                    np.array([[8, 8, 8], [8, 8, 8], [8, 8, 8]]), np.array([[3, 0, 1], [6, 1, 0], [8, 0, 2]]))
    m = checkpoint_metrics(t, n_boot=20)
    assert "maj_at_k" not in m and m["votes"].startswith("unavailable: count-only")
    for fn in (lambda: attribution(t, 2), lambda: answer_diagnostics(t), lambda: per_problem_maj_at_k(t, 2),
               lambda: answer_classes(t), lambda: pooled_counts(t, [0, 1])):
        with pytest.raises(ValueError, match="count-only table"):
            fn()
    cov = coverage(t, n_boot=20)
    assert cov["unsolvable"]["full_budget"]["size"].tolist() == [1, 1, 1]
    res = analyze(t, n_boot=20)
    assert res["attribution"]["available"] is False and res["cross_checkpoint_majority"]["available"] is False
    assert res["coverage"]["available"] and any("unavailable" in n for n in res["notes"])
    assert set(res["tables"]) >= {"metrics", "coverage", "jaccard", "union", "union_curve"}


def test_analyze_defaults_and_determinism():
    rng = np.random.default_rng(5)
    letters = ["A", "B", "C", None]
    samples = [[list(rng.choice(letters, size=8, p=[0.5, 0.3, 0.15, 0.05])) for _ in range(12)] for _ in range(4)]
    t = table_from_samples(samples)
    r1 = analyze(t, n_boot=100, seed=2)
    r2 = analyze(t, n_boot=100, seed=2)
    assert r1["ks"] == [1, 2, 4, 8] and r1["K"] == 8
    assert json.dumps(r1["tables"]) == json.dumps(r2["tables"])  # (NaN-safe comparison)
    assert r1["cross_checkpoint_majority"]["available"] and set(r1["cross_checkpoint_majority"]["windows"]) == {3}
    r3 = analyze(t, n_boot=100, seed=3)
    assert json.dumps(r3["tables"]["metrics"]) != json.dumps(r1["tables"]["metrics"])  # intervals move with the seed
    with pytest.raises(ValueError, match="K: 9 exceeds"):
        analyze(t, K=9, n_boot=10)
