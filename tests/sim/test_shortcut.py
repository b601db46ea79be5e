"""Tests of sim.shortcut (the zero-absorbs shortcut bank) against plain-Python references."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sim.bank import Bank
from sim.policy import Policy
from sim.shortcut import (
    NEVER,
    TRAP_RIGHT,
    TRAP_WRONG,
    ShortcutBankConfig,
    break_even_trap_right_share,
    class_counts,
    class_reward_margins,
    held_out_evaluator,
    make_shortcut_bank,
    make_shortcut_run,
    sample_shortcut_answer_counts,
    shortcut_answer_probs,
    shortcut_base_policy,
)
from sim.train import TrainConfig, make_run, run_many

SMALL = ShortcutBankConfig(n_problems=23, n_answers=5, share_trap_right=0.2, share_trap_wrong=0.35, len_min=2, len_max=5,
                           strategy_kinds=("full", "shortcut", "full", "shortcut"), strategy_slips=(0.1, 0.05, 1.0, 0.0))


def _reference_bank(cfg, length, hit, klass):
    """Plain-Python answers / epsilon / steps from the per-problem (class, L, h), straight from the module docstring."""
    P, S = cfg.n_problems, cfg.n_strategies
    ans = np.zeros((P, S), int)
    eps = np.zeros((P, S))
    steps = np.zeros((P, S), int)
    for i in range(P):
        for s in range(S):
            short = cfg.strategy_kinds[s] == "shortcut"
            n = hit[i] if (short and klass[i] != NEVER) else length[i]
            steps[i, s] = n
            ans[i, s] = 1 if (short and klass[i] == TRAP_WRONG) else 0
            eps[i, s] = 1.0 - (1.0 - cfg.strategy_slips[s]) ** n
    return ans, eps, steps


def test_generated_bank_matches_a_plain_python_enumeration():
    bank = make_shortcut_bank(SMALL, jax.random.key(0))
    klass, length, hit = (np.asarray(x) for x in (bank.klass, bank.length, bank.hit_step))
    n_r, n_w = round(0.2 * 23), round(0.35 * 23)
    expected_class = [TRAP_RIGHT] * n_r + [TRAP_WRONG] * n_w + [NEVER] * (23 - n_r - n_w)
    assert klass.tolist() == expected_class
    np.testing.assert_array_equal(np.asarray(class_counts(bank)), [23 - n_r - n_w, n_r, n_w])
    for i in range(23):
        assert 2 <= length[i] <= 5
        if klass[i] == TRAP_RIGHT:
            assert 1 <= hit[i] <= length[i]
        elif klass[i] == TRAP_WRONG:
            assert 1 <= hit[i] <= length[i] - 1
        else:
            assert hit[i] == length[i]
    ans, eps, steps = _reference_bank(SMALL, length, hit, klass)
    np.testing.assert_array_equal(np.asarray(bank.answers), ans)
    np.testing.assert_array_equal(np.asarray(bank.n_steps), steps)
    np.testing.assert_allclose(np.asarray(bank.epsilon), eps, rtol=1e-6, atol=1e-7)
    assert np.all(np.asarray(bank.epsilon)[:, 2] == 1.0) and np.all(np.asarray(bank.epsilon)[:, 3] == 0.0)
    assert bank.n_answers == 5
    # hit_max caps the first zero-hit of both trap classes; never problems keep h = L; the reference still holds
    capped = make_shortcut_bank(dataclasses.replace(SMALL, hit_max=1), jax.random.key(0))
    k2, L2, h2 = (np.asarray(x) for x in (capped.klass, capped.length, capped.hit_step))
    assert np.all(h2[k2 != NEVER] == 1) and np.all(h2[k2 == NEVER] == L2[k2 == NEVER])
    ans2, eps2, _ = _reference_bank(SMALL, L2, h2, k2)
    np.testing.assert_array_equal(np.asarray(capped.answers), ans2)
    np.testing.assert_allclose(np.asarray(capped.epsilon), eps2, rtol=1e-6, atol=1e-7)


def test_deterministic_vmappable_and_lengths_and_hits_uniform():
    cfg = dataclasses.replace(SMALL, n_problems=6000, share_trap_right=0.5, share_trap_wrong=0.5)
    a, b = make_shortcut_bank(cfg, jax.random.key(4)), make_shortcut_bank(cfg, jax.random.key(4))
    np.testing.assert_array_equal(a.length, b.length)
    assert not np.array_equal(a.length, make_shortcut_bank(cfg, jax.random.key(5)).length)
    keys = jax.random.split(jax.random.key(1), 2)
    many = jax.vmap(lambda k: make_shortcut_bank(SMALL, k))(keys)
    np.testing.assert_array_equal(many.hit_step[1], make_shortcut_bank(SMALL, keys[1]).hit_step)
    L, h, k = np.asarray(a.length), np.asarray(a.hit_step), np.asarray(a.klass)
    # L uniform on {2..5}: each frequency within 5 SE of 1/4
    freq = np.bincount(L, minlength=6)[2:] / L.size
    assert np.all(np.abs(freq - 0.25) < 5 * math.sqrt(0.25 * 0.75 / L.size))
    # trap-right given L = 4: h uniform on {1..4}; trap-wrong given L = 4: uniform on {1..3}
    for cls, top in ((TRAP_RIGHT, 4), (TRAP_WRONG, 3)):
        hh = h[(k == cls) & (L == 4)]
        f = np.bincount(hh, minlength=top + 1)[1:] / hh.size
        assert f.size == top and np.all(np.abs(f - 1 / top) < 5 * math.sqrt((1 / top) * (1 - 1 / top) / hh.size))


def test_answer_probs_match_a_plain_python_sum_and_sampling():
    bank = make_shortcut_bank(SMALL, jax.random.key(2))
    pol = shortcut_base_policy((0.4, 0.3, 0.2, 0.1), 0.7, jax.random.key(3), 23)
    z = np.asarray(pol.u[None, :] + pol.v, np.float64)
    T = 0.8
    probs = np.asarray(shortcut_answer_probs(jnp.asarray(z), bank, T), np.float64)
    ans, eps, m = np.asarray(bank.answers), np.asarray(bank.epsilon, np.float64), 5
    ref = np.zeros((23, m))
    for i in range(23):
        w = [math.exp(z[i, s] / T) for s in range(4)]
        tot = sum(w)
        for s in range(4):
            pi = w[s] / tot
            for a in range(m):
                ref[i, a] += pi * ((1 - eps[i, s]) * (ans[i, s] == a) + eps[i, s] * (a != 0) / (m - 1))
    np.testing.assert_allclose(probs, ref, atol=2e-6)
    # sampled answers: per-problem counts of 4000 samples within 5 SE of the exact probabilities
    n = 4000
    counts = np.asarray(sample_shortcut_answer_counts(jax.random.key(9), jnp.asarray(z), bank, T, n))
    assert counts.shape == (23, m) and np.all(counts.sum(1) == n)
    se = np.sqrt(ref * (1 - ref) / n) + 1e-9
    assert np.all(np.abs(counts / n - ref) <= 5 * se + 1e-12)


def test_run_with_constant_epsilon_equals_sim_train_make_run():
    """A shortcut bank whose epsilon is one constant is an ordinary sim.bank.Bank: the two trainers agree exactly."""
    sb = make_shortcut_bank(dataclasses.replace(SMALL, n_problems=40), jax.random.key(6))
    sb = dataclasses.replace(sb, epsilon=jnp.full(sb.epsilon.shape, 0.2, sb.epsilon.dtype))
    bank = Bank(answers=sb.answers, cluster=jnp.zeros(40, jnp.int32), strong=jnp.zeros((4, 1), bool),
                epsilon=jnp.asarray(0.2, jnp.result_type(float)), n_answers=5)
    pol = shortcut_base_policy((0.25, 0.25, 0.25, 0.25), 1.0, jax.random.key(7), 40)
    cfg = TrainConfig(n_steps=12, batch_size=8, n_rollouts=4, checkpoint_every=4, learning_rate=0.1, sharing=0.5)
    a = make_shortcut_run(cfg)(jax.random.key(8), sb, pol, cfg.hyper())
    b = make_run(cfg)(jax.random.key(8), bank, pol, cfg.hyper())
    np.testing.assert_allclose(a.checkpoints.logits, b.checkpoints.logits, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(a.checkpoints.answer_probs, b.checkpoints.answer_probs, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(a.signals.problem_ids, b.signals.problem_ids)
    np.testing.assert_array_equal(a.steps, [0, 4, 8, 12])


def test_resume_and_held_out_hook():
    cfg_b = dataclasses.replace(SMALL, n_problems=30)
    pool, test = make_shortcut_bank(cfg_b, jax.random.key(10)), make_shortcut_bank(cfg_b, jax.random.key(11))
    pol = shortcut_base_policy((0.4, 0.3, 0.2, 0.1), 0.5, jax.random.key(12), 30)
    vt = shortcut_base_policy((0.4, 0.3, 0.2, 0.1), 0.5, jax.random.key(13), 30).v
    ev = held_out_evaluator(test, vt)
    cfg = TrainConfig(n_steps=8, batch_size=6, n_rollouts=4, checkpoint_every=4, sharing=1.0)
    full = make_shortcut_run(cfg, ev)(jax.random.key(1), pool, pol, cfg.hyper())
    half = make_shortcut_run(dataclasses.replace(cfg, n_steps=4), ev)
    h1 = half(jax.random.key(1), pool, pol, cfg.hyper())
    h2 = half(jax.random.key(1), pool, pol, cfg.hyper(), state=h1.final_state)
    np.testing.assert_allclose(full.evaluations["logits"][2], h2.evaluations["logits"][1], rtol=1e-6, atol=1e-6)
    # the hook: test logits are the trained shared logits plus the fixed test-problem logits
    u_final = full.final_state.policy.u
    np.testing.assert_allclose(full.evaluations["logits"][-1], u_final[None, :] + vt, rtol=1e-6)
    np.testing.assert_allclose(full.evaluations["answer_probs"][-1], shortcut_answer_probs(u_final[None, :] + vt, test, 1.0), atol=1e-6)
    assert full.evaluations["answer_probs"].shape == (3, 30, 5)
    with pytest.raises(ValueError, match="v_test"):
        held_out_evaluator(test, vt[:5])


def test_reward_margins_match_enumeration_and_a_generated_bank():
    cfg = ShortcutBankConfig(n_problems=20000, share_trap_right=0.5, share_trap_wrong=0.5, len_min=3, len_max=6,
                             strategy_kinds=("full", "shortcut"), strategy_slips=(0.08, 0.05))
    m = class_reward_margins(cfg, shortcut=1, full=0)
    # enumeration over (L, h) by plain Python
    kz, kf = 0.95, 0.92
    ref_r = np.mean([np.mean([kz ** h for h in range(1, L + 1)]) - kf ** L for L in range(3, 7)])
    ref_n = np.mean([kz ** L - kf ** L for L in range(3, 7)])
    assert abs(m["trap_right"] - ref_r) < 1e-12 and abs(m["never"] - ref_n) < 1e-12
    assert abs(m["trap_wrong"] + np.mean([kf ** L for L in range(3, 7)])) < 1e-12
    # against the generated bank: mean of R_Z - R_F per class, within 5 SE
    bank = make_shortcut_bank(cfg, jax.random.key(0))
    R = (1 - np.asarray(bank.epsilon, np.float64)) * (np.asarray(bank.answers) == 0)
    d, k = R[:, 1] - R[:, 0], np.asarray(bank.klass)
    for cls, name in ((TRAP_RIGHT, "trap_right"), (TRAP_WRONG, "trap_wrong")):
        x = d[k == cls]
        assert abs(x.mean() - m[name]) < 5 * x.std() / math.sqrt(x.size) + 1e-9
    r_star = break_even_trap_right_share(dataclasses.replace(cfg, strategy_slips=(0.05, 0.05)), 1, 0)
    m2 = class_reward_margins(dataclasses.replace(cfg, strategy_slips=(0.05, 0.05)), 1, 0)
    assert m2["never"] == 0.0 and abs(r_star * m2["trap_right"] + (1 - r_star) * m2["trap_wrong"]) < 1e-12 and 0.5 < r_star < 1
    # with a cap on the zero-hit step: h ~ U{1..min(L, 2)}
    m3 = class_reward_margins(dataclasses.replace(cfg, hit_max=2), shortcut=1, full=0)
    ref3 = np.mean([np.mean([kz ** h for h in range(1, min(L, 2) + 1)]) - kf ** L for L in range(3, 7)])
    assert abs(m3["trap_right"] - ref3) < 1e-12 and m3["trap_right"] > m["trap_right"]
    with pytest.raises(ValueError, match="shortcut"):
        class_reward_margins(cfg, shortcut=0, full=0)
    with pytest.raises(ValueError, match="full"):
        class_reward_margins(cfg, shortcut=1, full=5)


def test_grpo_promotes_the_shortcut_on_a_trap_right_pool_and_suppresses_it_on_a_trap_wrong_pool():
    kinds, slips = ("full", "shortcut"), (0.05, 0.05)
    cfg = TrainConfig(n_steps=60, batch_size=16, n_rollouts=8, checkpoint_every=20, learning_rate=0.05, sharing=1.0)
    pol = shortcut_base_policy((0.5, 0.5), 0.0, jax.random.key(0), 64)
    banks = [make_shortcut_bank(ShortcutBankConfig(n_problems=64, share_trap_right=r, share_trap_wrong=w, strategy_kinds=kinds,
                                                   strategy_slips=slips), jax.random.key(1)) for r, w in ((0.6, 0.0), (0.1, 0.5))]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *banks)
    keys = jnp.stack([jax.random.key(2)] * 2)
    out = run_many(make_shortcut_run(cfg), keys, stacked, pol, cfg.hyper(), vary=("bank",))
    gap = np.asarray(out.final_state.policy.u[:, 1] - out.final_state.policy.u[:, 0])
    assert gap[0] > 0.5 and gap[1] < -0.5, gap


@pytest.mark.parametrize(
    "field, kwargs",
    [
        ("n_problems", dict(n_problems=0)),
        ("n_answers", dict(n_answers=1)),
        ("share_trap_right", dict(share_trap_right=1.5)),
        ("share_trap_wrong", dict(share_trap_wrong=-0.1)),
        ("share_trap_wrong", dict(share_trap_right=0.6, share_trap_wrong=0.6)),
        ("len_min", dict(len_min=1)),
        ("len_max", dict(len_min=5, len_max=4)),
        ("hit_max", dict(hit_max=0)),
        ("strategy_kinds", dict(strategy_kinds=("full", "guess"), strategy_slips=(0.1, 0.1))),
        ("strategy_kinds", dict(strategy_kinds=[], strategy_slips=())),
        ("strategy_slips", dict(strategy_slips=(0.1,))),
        ("strategy_slips", dict(strategy_slips=(0.1, 0.2, 1.2))),
    ],
)
def test_config_errors_name_the_field(field, kwargs):
    with pytest.raises(ValueError, match=field):
        ShortcutBankConfig(**kwargs)


def test_base_policy_and_its_errors():
    pol = shortcut_base_policy((0.5, 0.3, 0.2), 0.0, jax.random.key(0), 4)
    assert isinstance(pol, Policy) and pol.v.shape == (4, 3)
    np.testing.assert_allclose(jax.nn.softmax(pol.u), [0.5, 0.3, 0.2], rtol=1e-6)
    with pytest.raises(ValueError, match="base_probs"):
        shortcut_base_policy((0.5, 0.6), 0.1, jax.random.key(0), 4)
    with pytest.raises(ValueError, match="base_probs"):
        shortcut_base_policy((1.0, 0.0), 0.1, jax.random.key(0), 4)
    with pytest.raises(ValueError, match="problem_scale"):
        shortcut_base_policy((0.5, 0.5), -1.0, jax.random.key(0), 4)
