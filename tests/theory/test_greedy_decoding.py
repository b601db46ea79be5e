"""Greedy decoding vs the answer distribution on toy token trees: enumeration against Monte Carlo and hand
computation, greedy != plurality, the crossover temperature, and the SC-gain identity."""

import itertools
import math

import numpy as np
import pytest

from theory.greedy_decoding import (
    TokenTree,
    answer_distribution,
    conditional_probs,
    crossover_temperature,
    greedy_differs_from_plurality,
    greedy_path,
    maj_at_k_exact,
    many_paths_tree,
    path_probs,
    plurality_answers,
    protocol_values,
    sample_answers,
    sc_gain_decomposition,
)

# a three-level tree with shared answers on several paths (logits chosen by hand, no ties)
SPEC = {"a": (1.0, {"a1": (0.3, "7"), "a2": (0.0, "3")}),
        "b": (0.8, {"b1": (0.5, "3"), "b2": (0.1, {"x": (0.0, "3"), "y": (0.4, "9")}), "b3": (0.2, "7")}),
        "c": (-0.5, "9")}


def _softmax(z, T):
    e = [math.exp(v / T) for v in z]
    return [v / sum(e) for v in e]


def _hand_distribution(T):
    """The answer distribution of SPEC at T written out path by path (independent of the module)."""
    top = _softmax([1.0, 0.8, -0.5], T)
    a = _softmax([0.3, 0.0], T)
    b = _softmax([0.5, 0.1, 0.2], T)
    b2 = _softmax([0.0, 0.4], T)
    return {"7": top[0] * a[0] + top[1] * b[2], "3": top[0] * a[1] + top[1] * b[0] + top[1] * b[1] * b2[0],
            "9": top[1] * b[1] * b2[1] + top[2]}


@pytest.mark.parametrize("T", [0.4, 1.0, 1.7])
def test_enumeration_matches_hand_computation_and_monte_carlo(T):
    tree = TokenTree.from_nested(SPEC)
    d = answer_distribution(tree, T)
    hand = _hand_distribution(T)
    assert set(d) == set(hand)
    for a in hand:
        assert d[a] == pytest.approx(hand[a], abs=1e-12)
    assert sum(d.values()) == pytest.approx(1.0, abs=1e-12)
    n = 40000
    draws = sample_answers(tree, T, n, seed=int(T * 10))
    for a, p in d.items():
        se = math.sqrt(p * (1 - p) / n)
        assert abs(np.mean(draws == a) - p) < 5 * se, (a, np.mean(draws == a), p)


def test_leaf_probabilities_sum_to_one_and_conditionals_to_one_per_node():
    tree = TokenTree.from_nested(SPEC)
    for T in (0.0, 0.5, 1.0):
        q = conditional_probs(tree, T)
        sums = {}
        for par, v in zip(tree.parent.tolist(), q.tolist()):
            sums[par] = sums.get(par, 0.0) + v
        assert all(s == pytest.approx(1.0) for s in sums.values())
        assert path_probs(tree, T)[tree.leaves].sum() == pytest.approx(1.0)


def test_greedy_is_the_argmax_path_and_the_low_temperature_limit():
    tree = TokenTree.from_nested(SPEC)
    path, ans = greedy_path(tree)
    # by hand: root -> "a" (logit 1.0 > 0.8 > -0.5) -> "a1" (0.3 > 0.0) -> answer "7"
    assert [tree.token[i] for i in path] == ["a", "a1"] and ans == "7"
    assert answer_distribution(tree, 0.0) == {"7": 1.0, "3": 0.0, "9": 0.0}
    assert answer_distribution(tree, 0.01)["7"] > 1 - 1e-6  # T -> 0 concentrates on the greedy path
    assert set(sample_answers(tree, 0.0, 50).tolist()) == {"7"}


def test_ties_go_to_the_first_sibling_like_argmax():
    tree = TokenTree.from_nested({"p": (0.0, "1"), "q": (0.0, "2")})
    assert greedy_path(tree)[1] == "1"
    assert answer_distribution(tree, 1.0) == {"1": 0.5, "2": 0.5}
    assert plurality_answers(tree, 1.0) == ["1", "2"]


def test_greedy_differs_from_plurality_with_many_paths_to_the_correct_answer():
    tree = many_paths_tree(m=3, p_wrong=0.4)
    assert greedy_path(tree)[1] == "W"  # 0.4 > 0.6 / 3: the single wrong token is the argmax
    d = answer_distribution(tree, 1.0)
    assert d["C"] == pytest.approx(0.6) and d["W"] == pytest.approx(0.4)
    assert plurality_answers(tree, 1.0) == ["C"]
    # maj@5 at T = 1: P(Binomial(5, 0.6) >= 3) by hand
    want = sum(math.comb(5, j) * 0.6 ** j * 0.4 ** (5 - j) for j in (3, 4, 5))
    assert maj_at_k_exact(tree, 1.0, 5, "C") == pytest.approx(want, abs=1e-12)
    v = protocol_values(tree, 1.0, 5, "C")
    assert v["greedy"] == 0.0 and v["pass_at_1"] == pytest.approx(0.6)
    assert v["sc_gain_mixed"] == pytest.approx(want) and v["sc_gain_same"] == pytest.approx(want - 0.6)


@pytest.mark.parametrize("m, p_wrong", list(itertools.product([1, 2, 3, 5], [0.1, 0.2, 0.3, 0.45, 0.55])))
def test_condition_agrees_with_enumeration(m, p_wrong):
    tree = many_paths_tree(m=m, p_wrong=p_wrong)
    differs = greedy_path(tree)[1] != plurality_answers(tree, 1.0)[0]
    assert greedy_differs_from_plurality(m, p_wrong) == differs


def test_crossover_temperature_flips_the_plurality():
    m, p_wrong = 3, 0.4
    tree = many_paths_tree(m=m, p_wrong=p_wrong)
    t_star = crossover_temperature(math.log(p_wrong), math.log((1 - p_wrong) / m), m)
    assert answer_distribution(tree, t_star)["C"] == pytest.approx(0.5, abs=1e-12)
    assert plurality_answers(tree, 0.98 * t_star) == ["W"] and plurality_answers(tree, 1.02 * t_star) == ["C"]
    # pass@1(T) rises with T from greedy accuracy (0) toward m/(m+1): by hand, the wrong token is 2x each correct
    # one at T = 1, so P_T(C) = m / (m + 2^(1/T)); the H0 share pass@1(T) - greedy = P_T(C) > 0 here
    Ts = (0.05, 0.3, 0.6, 1.0, 3.0, 100.0)
    p = [answer_distribution(tree, T)["C"] for T in Ts]
    np.testing.assert_allclose(p, [m / (m + 2 ** (1 / T)) for T in Ts], rtol=1e-10)
    assert all(b > a for a, b in zip(p, p[1:])) and p[-1] == pytest.approx(m / (m + 1), abs=0.01)
    with pytest.raises(ValueError, match="l_wrong > l_correct"):
        crossover_temperature(0.0, 1.0, 3)


def test_maj_at_k_exact_matches_monte_carlo_votes():
    tree = TokenTree.from_nested(SPEC)
    T, k, reps = 1.0, 5, 20000
    draws = sample_answers(tree, T, k * reps, seed=3).reshape(reps, k)
    wins = 0.0
    for row in draws:
        vals, cnt = np.unique(row, return_counts=True)
        top = vals[cnt == cnt.max()]
        wins += ("3" in top) / len(top)  # ties split uniformly, as the exact value's tie rule
    exact = maj_at_k_exact(tree, T, k, "3")
    assert abs(wins / reps - exact) < 5 * math.sqrt(exact * (1 - exact) / reps)


def test_sc_gain_identity_on_data():
    rng = np.random.default_rng(0)
    maj, p1, g = rng.uniform(size=(3, 100))
    d = sc_gain_decomposition(maj, p1, g)
    np.testing.assert_allclose(d["sc_gain_mixed"] - d["sc_gain_same"], d["h0_share"], atol=1e-15)
    np.testing.assert_allclose(d["h0_share"], p1 - g)
    # the mixed gain is negative although voting helps at T whenever greedy beats pass@1(T) by more than the gain
    s = sc_gain_decomposition(0.55, 0.5, 0.6)
    assert s["sc_gain_same"] > 0 > s["sc_gain_mixed"] and s["h0_share"] == pytest.approx(-0.1)


@pytest.mark.parametrize("kw, message", [
    ({"parent": [0], "logit": [0.0], "answer": ("x",)}, "a parent must precede"),
    ({"parent": [-1, 0], "logit": [0.0, 1.0], "answer": ("x", "y")}, "node 0 has children"),
    ({"parent": [-1, -1], "logit": [0.0, 1.0], "answer": ("x", None)}, "leaf 1 needs an answer"),
    ({"parent": [-1], "logit": [np.inf], "answer": ("x",)}, "node 0 is not finite"),
    ({"parent": [-1, -1, 0, 1, 0], "logit": [0.0] * 5, "answer": (None, None, "a", "b", "c")}, "contiguous"),
])
def test_bad_trees_are_refused_naming_the_node(kw, message):
    with pytest.raises(ValueError, match=message):
        TokenTree(np.array(kw["parent"]), np.array(kw["logit"]), kw["answer"])


def test_bad_temperature_is_refused():
    with pytest.raises(ValueError, match="T: must be >= 0"):
        answer_distribution(many_paths_tree(), -1.0)
