"""Tests of sim.train: a whole jitted run (shapes, determinism, vmaps), the JAX step against the
NumPy reference on identical rollouts, a learning smoke test, and config validation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from sim.bank import BankConfig, make_bank
from sim.metrics import answer_probs
from sim.policy import PolicyConfig, init_policy, logits, strategy_entropy
from sim.reference import REFERENCE_ADVANTAGES, RefState, reference_update
from sim.train import (
    TrainConfig,
    init_state,
    make_run,
    run_many,
    sample_batch,
    stack_hypers,
    train_step,
    update_from_rollouts,
)
from theory.advantage_registry import ADVANTAGES

P, S, M = 24, 6, 4
CFG = TrainConfig(n_steps=20, batch_size=6, n_rollouts=8, checkpoint_every=5, advantage="ucb", learning_rate=0.1, eval_temperature=0.5)


@pytest.fixture(scope="module")
def small():
    bank = make_bank(BankConfig(n_problems=P, n_strategies=S, n_answers=M, n_clusters=3, clusters_per_strategy=1, q_lo=0.1), jax.random.key(0))
    policy = init_policy(PolicyConfig(), jax.random.key(1), P, S)
    run = make_run(CFG)
    out = run(jax.random.key(2), bank, policy, CFG.hyper())
    return bank, policy, run, out


def test_run_output_shapes_and_invariants(small):
    bank, policy, run, out = small
    C = CFG.n_checkpoints
    assert C == 5
    np.testing.assert_array_equal(out.steps, [0, 5, 10, 15, 20])
    ck = out.checkpoints
    assert ck.answer_probs.shape == (C, P, M) and ck.strategy_entropy.shape == (C, P) and ck.logits.shape == (C, P, S)
    np.testing.assert_allclose(np.asarray(ck.answer_probs).sum(-1), 1.0, atol=1e-5)
    # checkpoint 0 is the initial policy, evaluated at eval_temperature
    np.testing.assert_allclose(ck.answer_probs[0], answer_probs(logits(policy), bank, 0.5), atol=1e-6)
    np.testing.assert_allclose(ck.strategy_entropy[0], strategy_entropy(logits(policy), 0.5), atol=1e-6)
    np.testing.assert_allclose(ck.logits[-1], logits(out.final_state.policy), atol=0)
    sig = out.signals
    assert sig.pass_rate.shape == (CFG.n_steps, CFG.batch_size)
    np.testing.assert_allclose(sig.mean_reward, np.asarray(sig.pass_rate).mean(axis=1), atol=1e-6)
    np.testing.assert_allclose(sig.pass_rate, np.asarray(sig.n_pos) / CFG.n_rollouts, atol=1e-7)
    # problems in a batch are distinct; the answer table counted every rollout
    ids = np.asarray(sig.problem_ids)
    assert all(len(set(row)) == CFG.batch_size for row in ids)
    assert float(out.final_state.answer_counts.sum()) == CFG.n_steps * CFG.batch_size * CFG.n_rollouts
    assert np.all(np.isfinite(np.asarray(sig.eta))) and np.all(np.asarray(sig.eta) >= 0)


def test_deterministic_given_key(small):
    bank, policy, run, out = small
    again = run(jax.random.key(2), bank, policy, CFG.hyper())
    other = run(jax.random.key(3), bank, policy, CFG.hyper())
    np.testing.assert_array_equal(again.checkpoints.answer_probs, out.checkpoints.answer_probs)
    np.testing.assert_array_equal(again.signals.problem_ids, out.signals.problem_ids)
    assert not np.array_equal(other.signals.problem_ids, out.signals.problem_ids)


def test_vmap_over_seeds_equals_separate_runs(small):
    bank, policy, run, _ = small
    keys = jax.random.split(jax.random.key(9), 3)
    many = run_many(run, keys, bank, policy, CFG.hyper())
    for j in range(3):
        one = run(keys[j], bank, policy, CFG.hyper())
        np.testing.assert_array_equal(many.signals.problem_ids[j], one.signals.problem_ids)
        np.testing.assert_allclose(many.checkpoints.answer_probs[j], one.checkpoints.answer_probs, atol=1e-5)
        np.testing.assert_allclose(many.signals.mean_reward[j], one.signals.mean_reward, atol=1e-6)


def test_vmap_over_numeric_config_and_epsilon(small):
    bank, policy, run, _ = small
    hypers = [TrainConfig(**{**CFG.__dict__, "learning_rate": lr, "sharing": sh}).hyper() for lr, sh in ((0.05, 0.2), (0.3, 0.9))]
    key = jax.random.key(4)
    keys = jnp.stack([key, key])
    grid = run_many(run, keys, bank, policy, stack_hypers(hypers), vary=("hyper",))
    for j, h in enumerate(hypers):
        one = run(key, bank, policy, h)
        np.testing.assert_allclose(grid.checkpoints.answer_probs[j], one.checkpoints.answer_probs, atol=1e-5)
    banks = jax.tree.map(lambda *xs: jnp.stack(xs), bank.replace(epsilon=0.0), bank.replace(epsilon=0.5))
    eps_grid = run_many(run, keys, banks, policy, CFG.hyper(), vary=("bank",))
    one = run(key, bank.replace(epsilon=0.5), policy, CFG.hyper())
    np.testing.assert_allclose(eps_grid.checkpoints.answer_probs[1], one.checkpoints.answer_probs, atol=1e-5)
    # epsilon = 0: a correct strategy always answers 0, so p0 = policy mass on solvers
    pi = np.asarray(jax.nn.softmax(np.asarray(eps_grid.checkpoints.logits[0, 0]) / 0.5, axis=1))
    np.testing.assert_allclose(eps_grid.checkpoints.answer_probs[0, 0, :, 0], (pi * (np.asarray(bank.answers) == 0)).sum(1), atol=1e-5)


def _compare_with_reference(advantage, optimizer, steps=3):
    bank = make_bank(BankConfig(n_problems=10, n_strategies=5, n_answers=4, n_clusters=2, clusters_per_strategy=1, q_lo=0.2), jax.random.key(0))
    policy = init_policy(PolicyConfig(), jax.random.key(1), 10, 5)
    cfg = TrainConfig(n_steps=1, batch_size=4, n_rollouts=6, checkpoint_every=1, advantage=advantage, optimizer=optimizer, k=2, sharing=0.3,
                      learning_rate=0.2, temperature=0.7)
    hyper = cfg.hyper()
    state = init_state(cfg, policy, bank)
    ref = RefState(u=np.asarray(policy.u, np.float64), v=np.asarray(policy.v, np.float64), counts=np.zeros((10, 4)))
    hyper_np = {k: float(v) for k, v in hyper._asdict().items()}
    step = jax.jit(lambda st, ro, b, h: update_from_rollouts(cfg, st, ro, jax.random.key(0), b, h))
    sample = jax.jit(lambda kk, st, b, h: sample_batch(cfg, kk, st, b, h))
    B, N = cfg.batch_size, cfg.n_rollouts
    draw_shape = {"passk_bootstrap": (B, N, N), "noisy_reward": (B, N)}.get(advantage)
    # the stochastic advantages' draws, from the same key the JAX step gives the advantage
    uniforms = None if draw_shape is None else np.asarray(jax.random.uniform(jax.random.key(0), draw_shape))
    for i in range(steps):
        ro = sample(jax.random.key(10 + i), state, bank, hyper)
        state, _ = step(state, ro, bank, hyper)
        ref, _ = reference_update(ref, *(np.asarray(x) for x in ro), hyper_np, advantage=advantage, k=2, optimizer=optimizer,
                                  uniforms=uniforms)
    moved = np.abs(ref.v - np.asarray(policy.v)).max()
    return state, ref, moved


@pytest.mark.parametrize(
    "advantage, optimizer", [(a, "adam") for a in REFERENCE_ADVANTAGES] + [("grpo", "sgd"), ("ucb", "sgd")]
)
def test_jax_step_matches_numpy_reference_x64(advantage, optimizer):
    with jax.enable_x64(True):
        state, ref, moved = _compare_with_reference(advantage, optimizer)
    assert moved > 1e-3  # the step really changed the policy
    np.testing.assert_allclose(state.policy.u, ref.u, atol=1e-9, rtol=0)
    np.testing.assert_allclose(state.policy.v, ref.v, atol=1e-9, rtol=0)
    np.testing.assert_allclose(state.answer_counts, ref.counts, atol=0)


def test_reference_covers_every_advantage():
    assert set(REFERENCE_ADVANTAGES) == set(ADVANTAGES)


def test_jax_step_matches_numpy_reference_float32():
    # SGD: Adam divides by sqrt(nu), so a gradient component that is exactly 0 in exact arithmetic
    # (a strategy no rollout used) turns float32 rounding noise (~1e-9) into a full step of random
    # sign; the x64 test above covers Adam.
    state, ref, _ = _compare_with_reference("grpo", "sgd")
    np.testing.assert_allclose(state.policy.u, ref.u, atol=1e-5, rtol=0)
    np.testing.assert_allclose(state.policy.v, ref.v, atol=1e-5, rtol=0)


def test_grpo_learning_smoke_test():
    """200 GRPO steps on an easy bank raise exact pass@1 well above the base policy's."""
    bank = make_bank(BankConfig(n_problems=64, n_strategies=8, n_answers=4, n_clusters=4, clusters_per_strategy=2, q_hi=0.8, q_lo=0.1,
                                min_solvers=2, epsilon=0.05), jax.random.key(5))
    policy = init_policy(PolicyConfig(), jax.random.key(6), 64, 8)
    cfg = TrainConfig(n_steps=200, batch_size=16, n_rollouts=8, checkpoint_every=50, advantage="grpo", learning_rate=0.1)
    out = make_run(cfg)(jax.random.key(7), bank, policy, cfg.hyper())
    pass1 = np.asarray(out.checkpoints.answer_probs[:, :, 0]).mean(axis=1)
    reward = np.asarray(out.signals.mean_reward)
    assert pass1[-1] > pass1[0] + 0.2, pass1
    assert reward[-20:].mean() > reward[:20].mean() + 0.2
    assert pass1[-1] <= 0.95 + 1e-6  # bounded by 1 - epsilon


@pytest.mark.parametrize(
    "field, value",
    [
        ("n_steps", 0),
        ("checkpoint_every", 7),
        ("advantage", "nope"),
        ("k", 99),
        ("optimizer", "lion"),
        ("learning_rate", 0.0),
        ("temperature", -1.0),
        ("eval_temperature", 0.0),
        ("sharing", 1.5),
        ("noise_rate", -0.1),
        ("bonus_coef", float("inf")),
        ("batch_size", 2.0),
    ],
)
def test_bad_train_config_names_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}:"):
        TrainConfig(**{"n_steps": 20, "checkpoint_every": 5, field: value})


def test_passk_full_needs_divisible_rollouts_and_batch_fits(small):
    bank, policy, _, _ = small
    with pytest.raises(ValueError, match="^k:"):
        TrainConfig(n_rollouts=6, k=4, advantage="passk_full")
    big = TrainConfig(n_steps=2, checkpoint_every=1, batch_size=P + 1)
    with pytest.raises(ValueError, match="^batch_size:"):
        make_run(big)(jax.random.key(0), bank, policy, big.hyper())


def test_run_output_saves_as_checkpoints(small, tmp_path):
    from sim.checkpoints import load_checkpoints, save_checkpoints

    _, _, _, out = small
    back = load_checkpoints(save_checkpoints(tmp_path, out))
    np.testing.assert_array_equal(back["answer_probs"], out.checkpoints.answer_probs)
    np.testing.assert_array_equal(back["steps"], out.steps)
    np.testing.assert_array_equal(back["strategy_entropy"], out.checkpoints.strategy_entropy)


@pytest.mark.parametrize("advantage", sorted(ADVANTAGES))
def test_every_advantage_in_a_jitted_training_step(small, advantage):
    """The real jitted step (context from the policy and the answer table) with each registry entry,
    on the test module's bank (the reference tests use their own smaller one)."""
    bank, policy, _, _ = small
    cfg = TrainConfig(n_steps=1, checkpoint_every=1, batch_size=6, n_rollouts=8, k=4, advantage=advantage)
    step = jax.jit(lambda st, kk, h: train_step(cfg, st, kk, bank, h))
    state, sig = step(init_state(cfg, policy, bank), jax.random.key(0), cfg.hyper())
    assert np.all(np.isfinite(np.asarray(state.policy.v))) and np.isfinite(float(sig.loss))
    assert sig.eta.shape == (6,)


def test_resume_continues_exactly(small, tmp_path):
    """A run of 2N steps equals a run of N steps resumed for N more, in memory and through a file."""
    from sim.checkpoints import load_state, save_state

    bank, policy, _, _ = small
    half = TrainConfig(**{**CFG.__dict__, "n_steps": CFG.n_steps // 2})
    full = TrainConfig(**{**CFG.__dict__, "n_steps": CFG.n_steps})
    key = jax.random.key(7)
    whole = make_run(full)(key, bank, policy, CFG.hyper())
    run_half = make_run(half)  # one jitted function for every half run (a new make_run compiles again)
    first = run_half(key, bank, policy, CFG.hyper())
    save_state(tmp_path, first.final_state)
    restored = load_state(tmp_path, init_state(half, policy, bank))
    assert int(restored.step) == half.n_steps
    second = run_half(key, bank, policy, CFG.hyper(), state=restored)
    np.testing.assert_array_equal(np.asarray(second.steps), np.asarray(whole.steps[-second.steps.shape[0]:]))
    np.testing.assert_allclose(second.final_state.policy.v, whole.final_state.policy.v, rtol=0, atol=1e-6)
    np.testing.assert_allclose(second.final_state.answer_counts, whole.final_state.answer_counts, atol=0)
    np.testing.assert_allclose(second.checkpoints.answer_probs[-1], whole.checkpoints.answer_probs[-1], rtol=0, atol=1e-6)
    # a fresh run from the initial policy with another key differs (the test can fail)
    other = run_half(jax.random.key(8), bank, policy, CFG.hyper())
    assert not np.allclose(other.final_state.policy.v, first.final_state.policy.v)
    # vmapped runs resume too
    keys = jnp.stack([key, jax.random.key(9)])
    hyp = stack_hypers([CFG.hyper()] * 2)
    many_first = run_many(run_half, keys, bank, policy, hyp, vary=("hyper",))
    many_second = run_many(run_half, keys, bank, policy, hyp, vary=("hyper",), state=many_first.final_state)
    np.testing.assert_allclose(many_second.final_state.policy.v[0], whole.final_state.policy.v, rtol=0, atol=1e-6)


def test_load_state_names_bad_leaf(small, tmp_path):
    from sim.checkpoints import load_state, save_state

    bank, policy, _, out = small
    save_state(tmp_path, out.final_state)
    other_bank = make_bank(BankConfig(n_problems=P + 1, n_strategies=S, n_answers=M, n_clusters=3, clusters_per_strategy=1), jax.random.key(0))
    other_policy = init_policy(PolicyConfig(), jax.random.key(1), P + 1, S)
    with pytest.raises(ValueError, match="state leaf"):
        load_state(tmp_path, init_state(CFG, other_policy, other_bank))


_SHARDING_SCRIPT = r"""
import json, os
import jax, jax.numpy as jnp, numpy as np
from sim.bank import BankConfig, make_bank
from sim.policy import PolicyConfig, init_policy
from sim.train import TrainConfig, make_run, run_many, stack_hypers
cfg = TrainConfig(n_steps=6, batch_size=4, n_rollouts=4, checkpoint_every=3, learning_rate=0.1)
bank = make_bank(BankConfig(n_problems=12, n_strategies=4, n_answers=4, n_clusters=2, clusters_per_strategy=1), jax.random.key(0))
policy = init_policy(PolicyConfig(), jax.random.key(1), 12, 4)
run = make_run(cfg)
keys = jax.random.split(jax.random.key(2), 4)
out = run_many(run, keys, bank, policy, stack_hypers([cfg.hyper()] * 4), vary=("hyper",))
single = [np.asarray(run(keys[g], bank, policy, cfg.hyper()).checkpoints.answer_probs) for g in range(4)]
diff = max(float(np.abs(np.asarray(out.checkpoints.answer_probs[g]) - single[g]).max()) for g in range(4))
print(json.dumps({"n_devices": len(jax.devices()), "out_devices": len(out.checkpoints.answer_probs.sharding.device_set), "max_diff": diff}))
"""


def test_run_many_shards_over_several_devices():
    """With 2 (virtual CPU) devices, run_many splits the run axis over both and equals separate runs."""
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    res = subprocess.run([sys.executable, "-c", _SHARDING_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["n_devices"] == 2 and got["out_devices"] == 2, got
    assert got["max_diff"] <= 1e-6, got


def _held_out_hook(seed=11, n=9):
    """An evaluation hook on n held-out problems of another bank: u + v_held at eval_temperature."""
    held = make_bank(BankConfig(n_problems=n, n_strategies=S, n_answers=M, n_clusters=3, clusters_per_strategy=1, q_lo=0.1),
                     jax.random.key(seed))
    v_held = jax.random.normal(jax.random.key(seed + 1), (n, S))

    def evaluate(policy, hyper):
        z = policy.u[None, :] + v_held
        T = hyper.eval_temperature
        return {"answer_probs": answer_probs(z, held, T), "entropy": strategy_entropy(z, T),
                "u_norm": jnp.sum(policy.u ** 2) * hyper.learning_rate}

    return evaluate


def test_evaluation_hook_sees_every_checkpoint_policy(small):
    bank, policy, run, out = small
    assert out.evaluations is None  # no hook: no evaluations, the rest as before
    # the identity hook records each checkpoint's policy: the initial one first, the final state's last
    pols = make_run(CFG, evaluate=lambda pol, hyper: pol)(jax.random.key(2), bank, policy, CFG.hyper())
    C = CFG.n_checkpoints
    assert pols.evaluations.u.shape == (C, S) and pols.evaluations.v.shape == (C, P, S)
    np.testing.assert_array_equal(pols.evaluations.u[0], policy.u)
    np.testing.assert_array_equal(pols.evaluations.v[-1], out.final_state.policy.v)
    for j in range(C):
        z_j = pols.evaluations.u[j][None, :] + pols.evaluations.v[j]
        np.testing.assert_allclose(z_j, out.checkpoints.logits[j], rtol=0, atol=0)
    # training does not depend on the hook
    np.testing.assert_array_equal(pols.checkpoints.answer_probs, out.checkpoints.answer_probs)
    np.testing.assert_array_equal(pols.signals.problem_ids, out.signals.problem_ids)
    # a real hook's output at checkpoint j = the hook applied to the recorded policy j
    hook = _held_out_hook()
    ev = make_run(CFG, evaluate=hook)(jax.random.key(2), bank, policy, CFG.hyper())
    np.testing.assert_array_equal(ev.checkpoints.logits, out.checkpoints.logits)
    assert ev.evaluations["answer_probs"].shape == (C, 9, M) and ev.evaluations["u_norm"].shape == (C,)
    for j in range(C):
        pol_j = jax.tree.map(lambda x: x[j], pols.evaluations)
        want = hook(pol_j, CFG.hyper())
        for name in want:
            np.testing.assert_allclose(ev.evaluations[name][j], want[name], rtol=1e-6, atol=1e-6)


def test_resume_with_evaluation_hook_equals_uninterrupted_run(small):
    bank, policy, _, _ = small
    hook = _held_out_hook()
    half = TrainConfig(**{**CFG.__dict__, "n_steps": CFG.n_steps // 2})
    key = jax.random.key(7)
    whole = make_run(CFG, evaluate=hook)(key, bank, policy, CFG.hyper())
    first = make_run(half, evaluate=hook)(key, bank, policy, CFG.hyper())
    second = make_run(half, evaluate=hook)(key, bank, policy, CFG.hyper(), state=first.final_state)
    n1 = half.n_checkpoints
    for name in whole.evaluations:
        np.testing.assert_allclose(first.evaluations[name], whole.evaluations[name][:n1], rtol=0, atol=1e-6)
        np.testing.assert_allclose(second.evaluations[name], whole.evaluations[name][n1 - 1:], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(second.steps), np.asarray(whole.steps[n1 - 1:]))
