"""Tests of sim.bank and sim.policy (generator determinism, knobs, validation)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sim.bank import BankConfig, make_bank, solver_counts
from sim.policy import PolicyConfig, init_policy, strategy_entropy

SMALL = dict(n_problems=40, n_strategies=8, n_answers=5, n_clusters=4, clusters_per_strategy=1)


def test_deterministic_given_key_and_varies_with_key():
    cfg = BankConfig(**SMALL)
    a = make_bank(cfg, jax.random.key(3))
    b = make_bank(cfg, jax.random.key(3))
    c = make_bank(cfg, jax.random.key(4))
    np.testing.assert_array_equal(a.answers, b.answers)
    np.testing.assert_array_equal(a.strong, b.strong)
    assert not np.array_equal(a.answers, c.answers)
    ans = np.asarray(a.answers)
    assert ans.shape == (40, 8) and ans.min() >= 0 and ans.max() < 5
    assert a.n_answers == 5


def test_vmap_over_keys_equals_separate_banks():
    cfg = BankConfig(**SMALL, min_solvers=2, trap_fraction=0.25)
    keys = jax.random.split(jax.random.key(0), 3)
    many = jax.vmap(lambda k: make_bank(cfg, k))(keys)
    for j in range(3):
        np.testing.assert_array_equal(many.answers[j], make_bank(cfg, keys[j]).answers)


def test_skill_structure_q_hi_one_q_lo_zero():
    cfg = BankConfig(**SMALL, q_hi=1.0, q_lo=0.0)
    bank = make_bank(cfg, jax.random.key(1))
    strong = np.asarray(bank.strong)
    assert (strong.sum(axis=1) == cfg.clusters_per_strategy).all()
    expected_solves = strong[:, np.asarray(bank.cluster)].T  # [P, S]
    np.testing.assert_array_equal(np.asarray(bank.answers) == 0, expected_solves)
    np.testing.assert_array_equal(np.asarray(bank.cluster), np.arange(40) % 4)


def test_min_solvers_and_difficulty():
    cfg = BankConfig(**SMALL, q_hi=0.0, q_lo=0.0, min_solvers=3)
    bank = make_bank(cfg, jax.random.key(2))
    np.testing.assert_array_equal(np.asarray(solver_counts(bank)), 3)
    hard = make_bank(BankConfig(**SMALL, q_hi=0.2, q_lo=0.0), jax.random.key(2))
    easy = make_bank(BankConfig(**SMALL, q_hi=0.9, q_lo=0.5), jax.random.key(2))
    assert solver_counts(easy).mean() > solver_counts(hard).mean() + 2


def test_wrong_answer_structure():
    big = dict(SMALL, n_problems=400)
    all_attr = np.asarray(make_bank(BankConfig(**big, attractor=1.0, q_hi=0.3), jax.random.key(5)).answers)
    assert set(np.unique(all_attr)) <= {0, 1}
    spread = np.asarray(make_bank(BankConfig(**big, attractor=0.0, q_hi=0.3), jax.random.key(5)).answers)
    wrong = spread[spread > 0]
    freq = np.bincount(wrong, minlength=5)[1:] / wrong.size
    # uniform over the 4 wrong answers: each within 5 standard errors of 1/4
    se = math.sqrt(0.25 * 0.75 / wrong.size)
    assert np.all(np.abs(freq - 0.25) < 5 * se)


def test_trap_solves_the_easiest_fraction_and_is_consistently_wrong_elsewhere():
    cfg = BankConfig(**SMALL, trap_fraction=0.3, min_solvers=1)
    ans = np.asarray(make_bank(cfg, jax.random.key(7)).answers)
    trap_solves = ans[:, 0] == 0
    assert trap_solves.sum() == round(0.3 * 40)
    assert np.all(ans[~trap_solves, 0] == 1)
    others = (ans[:, 1:] == 0).sum(axis=1)
    assert others[trap_solves].min() >= others[~trap_solves].max()


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_problems", 0),
        ("n_answers", 1),
        ("q_hi", 1.5),
        ("q_lo", -0.1),
        ("attractor", float("nan")),
        ("epsilon", 2.0),
        ("clusters_per_strategy", 9),
        ("min_solvers", 99),
        ("trap_fraction", -1.0),
        ("n_strategies", 2.5),
    ],
)
def test_bad_bank_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        BankConfig(**{**SMALL, field: value})


def test_policy_target_entropy_and_validation():
    pol = init_policy(PolicyConfig(target_entropy=1.2), jax.random.key(0), 30, 8, temperature=0.5)
    h = strategy_entropy(pol.u[None, :] + pol.v, 0.5)
    assert abs(float(jnp.mean(h)) - 1.2) < 1e-4
    a = init_policy(PolicyConfig(), jax.random.key(1), 30, 8)
    b = init_policy(PolicyConfig(), jax.random.key(1), 30, 8)
    np.testing.assert_array_equal(a.v, b.v)
    with pytest.raises(ValueError, match="^target_entropy:"):
        init_policy(PolicyConfig(target_entropy=math.log(8) + 0.1), jax.random.key(0), 3, 8)
    with pytest.raises(ValueError, match="^problem_scale:"):
        PolicyConfig(problem_scale=-1.0)
    with pytest.raises(ValueError, match="^target_entropy:"):
        PolicyConfig(target_entropy=0.0)
