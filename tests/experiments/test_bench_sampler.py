"""The sampler benchmark's statistics: the summed chi-square homogeneity test against scipy's contingency
test problem by problem, and its behaviour on equal and on different answer distributions."""

import numpy as np
import pytest
from scipy import stats

from experiments.bench_sampler import final_answers, homogeneity_test
from real.lab.samplers.interface import Completion


def test_homogeneity_matches_scipy_contingency_summed_over_problems():
    rng = np.random.default_rng(0)
    a, b = [], []
    chi2 = dof = 0
    for _ in range(12):
        cats = ["1", "2", "3", None]
        p = rng.dirichlet(np.ones(4))
        xa = list(rng.choice(4, size=20, p=p))
        xb = list(rng.choice(4, size=30, p=p))
        a.append([cats[i] for i in xa])
        b.append([cats[i] for i in xb])
        present = sorted(set(xa) | set(xb))
        table = np.array([[xa.count(c) for c in present], [xb.count(c) for c in present]])
        if len(present) > 1:
            s, _, d, _ = stats.chi2_contingency(table, correction=False)
            chi2 += s
            dof += d
    got = homogeneity_test(a, b)
    assert got["chi2"] == pytest.approx(chi2) and got["dof"] == dof
    assert got["p_value"] == pytest.approx(stats.chi2.sf(chi2, dof))


def test_homogeneity_p_is_uniformish_under_equal_and_small_under_different_distributions():
    rng = np.random.default_rng(1)

    def draw(p, n):
        return [[str(x) for x in rng.choice(5, size=n, p=p)] for _ in range(40)]

    p = np.array([0.5, 0.2, 0.1, 0.1, 0.1])
    q = np.array([0.3, 0.3, 0.2, 0.1, 0.1])
    tests = [homogeneity_test(draw(p, 32), draw(p, 32), permutations=200, seed=s) for s in range(40)]
    for key in ("p_value", "p_permutation"):
        ps = [t[key] for t in tests]
        assert 0.3 < np.mean(ps) < 0.7 and min(ps) > 1e-3, (key, ps)
    diff = homogeneity_test(draw(p, 32), draw(q, 32))
    assert diff["p_value"] < 1e-6 and diff["p_permutation"] == 1 / 2001
    # one answer everywhere on both sides: nothing to test
    assert homogeneity_test([["7"] * 4], [["7"] * 3]) == {"chi2": 0.0, "dof": 0, "p_value": 1.0, "p_permutation": 1.0,
                                                          "permutations": 2000}
    with pytest.raises(ValueError, match="2 problems on one side, 1 on the other"):
        homogeneity_test([[], []], [[]])


def test_final_answers_use_the_projects_parser():
    rows = [[Completion("1+2=3 #### 3", (), ()), Completion("no answer", (), ())]]
    assert final_answers(rows) == [["3", None]]


def test_permutation_p_matches_enumeration_of_every_relabelling():
    """One problem, 5 + 4 samples: the exact permutation p-value enumerates all C(9, 5) = 126 relabellings."""
    from itertools import combinations

    a, b = ["1", "1", "1", "2", None], ["2", "2", "3", "1"]
    pooled = a + b
    cats = sorted({"none" if x is None else x for x in pooled})

    def stat(idx):
        xa = ["none" if pooled[i] is None else pooled[i] for i in idx]
        xb = ["none" if pooled[i] is None else pooled[i] for i in range(9) if i not in idx]
        t = np.array([[xa.count(c) for c in cats], [xb.count(c) for c in cats]], float)
        e = t.sum(1, keepdims=True) * t.sum(0, keepdims=True) / t.sum()
        return ((t - e) ** 2 / e).sum()

    observed = stat(range(5))
    exact = np.mean([stat(idx) >= observed - 1e-9 for idx in combinations(range(9), 5)])
    got = homogeneity_test([a], [b], permutations=20000, seed=3)
    assert got["chi2"] == pytest.approx(observed)
    assert abs(got["p_permutation"] - exact) < 4 * np.sqrt(exact * (1 - exact) / 20000) + 1e-4
    # the asymptotic p is another number here (few samples): the permutation p is the one claims read
    assert got["p_value"] != pytest.approx(exact, abs=0.02)
