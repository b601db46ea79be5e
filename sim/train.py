"""Policy-gradient training on the strategy bandit: one step, and a whole run as one jitted function.

One step (``train_step``):
1. draw ``batch_size`` distinct problems uniformly; n = ``n_rollouts`` rollouts each at temperature T
   (``sim.rollouts``); reward r = 1{answer = 0};
2. update the training-history answer table N(x, a) with the batch (``theory.exploration``);
3. advantages A [B, n] from the registry (``theory.advantage_registry``), treated as constants;
4. loss  L = -(1 / (B n)) sum_{b, j} A[b, j] * log pi(s[b, j] | i_b),  pi = softmax((u + v) / T);
5. optimizer (optax ``scale_by_adam`` or plain SGD = identity) turns grad L into a direction d, and
       u <- u - learning_rate * sharing * d_u,       v <- v - learning_rate * (1 - sharing) * d_v
   (``sharing`` in [0, 1]: how much learning goes through the shared logits; see ``sim.policy``).

A run (``make_run(config)`` -> ``run(key, bank, policy, hyper)``) is ``n_steps`` steps in a
``lax.scan`` of checkpoints, each a ``lax.scan`` of ``checkpoint_every`` steps; checkpoint j is the
policy after ``j * checkpoint_every`` steps (checkpoint 0 = the initial policy). An optional hook
(``make_run(config, evaluate=...)``) evaluates every checkpoint's policy in the same scan, e.g. on
held-out problems (``RunOutput.evaluations``). Static structure lives in ``TrainConfig``; every
numeric knob lives in ``Hyper`` (arrays), so ``jax.vmap`` over keys, over stacked ``Hyper`` values,
or over ``bank.epsilon`` works without recompiling per value.
``run_many`` vmaps over seeds and shards the seed axis over all local devices when there are several.

Units: logits and entropies in nats; learning_rate in nats per optimizer unit step; rewards in [0, 1].
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from common.checks import check_int, check_number
from sim.bank import Bank
from sim.metrics import answer_probs
from sim.policy import Policy, logits, strategy_entropy, strategy_log_probs
from sim.rollouts import Rollouts, rewards_of, sample_rollouts
from theory.advantage_registry import ADVANTAGES, AdvContext, get_advantage
from theory.exploration import lookup_answer_counts, update_answer_counts

__all__ = [
    "TrainConfig",
    "Hyper",
    "TrainState",
    "StepSignals",
    "Checkpoint",
    "RunOutput",
    "make_optimizer",
    "init_state",
    "update_from_rollouts",
    "sample_batch",
    "checkpoint_of",
    "shard_leading_axis",
    "train_step",
    "make_run",
    "make_scanned_run",
    "run_many",
    "stack_hypers",
]

OPTIMIZERS = ("adam", "sgd")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A training run: static structure plus the default values of the numeric knobs (``hyper()``)."""

    # static structure (changing these recompiles)
    n_steps: int = 500
    batch_size: int = 64  # B problems per step (distinct)
    n_rollouts: int = 16  # n rollouts per problem
    checkpoint_every: int = 10  # c; must divide n_steps
    advantage: str = "grpo"  # a name in theory.advantage_registry.ADVANTAGES
    k: int = 4  # Pass@k group size for the pass@k advantages
    optimizer: str = "adam"  # "adam" (optax.scale_by_adam) or "sgd"
    # numeric knobs (defaults of Hyper; traced, vmappable)
    learning_rate: float = 0.05
    temperature: float = 1.0  # sampling temperature T during training
    eval_temperature: float | None = None  # T of the recorded checkpoints; None = temperature
    sharing: float = 0.5  # step share of the shared logits u (1 - sharing goes to v)
    bonus_coef: float = 0.2  # exploration-bonus coefficient (ucb*, batch)
    noise_rate: float = 0.1  # P(flip a negative reward) for noisy_reward
    entropy_coef: float = 0.01  # entropy bonus coefficient for entropy_regularized
    ucb_b0: float = 0.5  # UCB-Con baseline

    def __post_init__(self):
        check_int("n_steps", self.n_steps, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("n_rollouts", self.n_rollouts, 1)
        check_int("checkpoint_every", self.checkpoint_every, 1)
        if self.n_steps % self.checkpoint_every:
            raise ValueError(f"checkpoint_every: must divide n_steps = {self.n_steps}, got {self.checkpoint_every}")
        if self.advantage not in ADVANTAGES:
            raise ValueError(f"advantage: unknown name {self.advantage!r}; known: {sorted(ADVANTAGES)}")
        check_int("k", self.k, 1)
        if self.k > self.n_rollouts:
            raise ValueError(f"k: must be <= n_rollouts = {self.n_rollouts}, got {self.k}")
        if self.advantage == "passk_full" and self.n_rollouts % self.k:
            raise ValueError(f"k: passk_full needs n_rollouts = {self.n_rollouts} divisible by k, got {self.k}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer: must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        check_number("learning_rate", self.learning_rate, low=0, low_open=True)
        check_number("temperature", self.temperature, low=0, low_open=True)
        if self.eval_temperature is not None:
            check_number("eval_temperature", self.eval_temperature, low=0, low_open=True)
        check_number("sharing", self.sharing, low=0, high=1)
        check_number("bonus_coef", self.bonus_coef)
        check_number("noise_rate", self.noise_rate, low=0, high=1)
        check_number("entropy_coef", self.entropy_coef)
        check_number("ucb_b0", self.ucb_b0)

    @property
    def n_checkpoints(self) -> int:
        """Checkpoints recorded by a run, the initial policy included."""
        return self.n_steps // self.checkpoint_every + 1

    def hyper(self) -> Hyper:
        """The numeric knobs as a Hyper of scalar arrays (default float dtype)."""
        f = jnp.result_type(float)
        ev = self.temperature if self.eval_temperature is None else self.eval_temperature
        return Hyper(
            *(jnp.asarray(x, f) for x in (self.learning_rate, self.temperature, ev, self.sharing, self.bonus_coef, self.noise_rate,
                                          self.entropy_coef, self.ucb_b0))
        )


class Hyper(NamedTuple):
    """Numeric training knobs (scalar arrays; stack them with ``stack_hypers`` to vmap a grid)."""

    learning_rate: jax.Array
    temperature: jax.Array
    eval_temperature: jax.Array
    sharing: jax.Array
    bonus_coef: jax.Array
    noise_rate: jax.Array
    entropy_coef: jax.Array
    ucb_b0: jax.Array


def stack_hypers(hypers) -> Hyper:
    """Stack a list of Hyper into one Hyper with a leading grid axis (for ``jax.vmap``)."""
    return jax.tree.map(lambda *xs: jnp.stack(xs), *hypers)


class TrainState(NamedTuple):
    """policy; optimizer state; answer_counts [P, m] = N(x, a) over the training history; step."""

    policy: Policy
    opt_state: optax.OptState
    answer_counts: jax.Array
    step: jax.Array


class StepSignals(NamedTuple):
    """Training signals of one step (a run stacks them on a leading [n_steps] axis).

    mean_reward: mean of the B*n rewards.  mean_entropy: mean strategy entropy H(pi(.|i)) at the
    training temperature over the batch problems (nats, before the update).  adv_mean, adv_std,
    adv_abs_mean: statistics of the B*n advantages.  loss: the surrogate loss.
    problem_ids [B]; pass_rate [B] = fraction of each group's rollouts that are correct;
    n_pos [B] = correct rollouts per group; eta [B] = sum_j |A[b, j]| (Chen et al. 2025 eq. 16),
    so (n_pos, eta) pairs give the empirical eta curve.
    """

    mean_reward: jax.Array
    mean_entropy: jax.Array
    adv_mean: jax.Array
    adv_std: jax.Array
    adv_abs_mean: jax.Array
    loss: jax.Array
    problem_ids: jax.Array
    pass_rate: jax.Array
    n_pos: jax.Array
    eta: jax.Array


class Checkpoint(NamedTuple):
    """logits [.., P, S]; answer_probs [.., P, m] and strategy_entropy [.., P] at eval_temperature."""

    logits: jax.Array
    answer_probs: jax.Array
    strategy_entropy: jax.Array


class RunOutput(NamedTuple):
    """A run: steps int [C] (steps completed at each checkpoint), checkpoints [C, ...],
    signals [n_steps, ...], final TrainState; evaluations: the outputs of ``make_run``'s ``evaluate``
    hook at every checkpoint, each leaf stacked on a leading [C] axis (None when there is no hook)."""

    steps: jax.Array
    checkpoints: Checkpoint
    signals: StepSignals
    final_state: TrainState
    evaluations: Any = None


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """The direction-producing transform (learning rate and sharing applied afterwards, see step 5)."""
    return optax.scale_by_adam() if config.optimizer == "adam" else optax.identity()


def init_state(config: TrainConfig, policy: Policy, bank: Bank) -> TrainState:
    """Fresh optimizer state and an empty answer table for ``policy`` on ``bank``."""
    P = bank.answers.shape[0]
    counts = jnp.zeros((P, bank.n_answers), jnp.result_type(float))
    return TrainState(policy, make_optimizer(config).init(policy), counts, jnp.asarray(0, jnp.int32))


def checkpoint_of(policy: Policy, bank: Bank, hyper: Hyper) -> Checkpoint:
    """Exact checkpoint record of ``policy`` at ``hyper.eval_temperature``."""
    z = logits(policy)
    T = hyper.eval_temperature
    return Checkpoint(z, answer_probs(z, bank, T), strategy_entropy(z, T))


def _surrogate_loss(policy: Policy, rollouts: Rollouts, adv: jax.Array, temperature) -> jax.Array:
    """L = -mean_{b,j} A[b, j] log pi(s[b, j] | i_b) with A held constant (REINFORCE surrogate)."""
    logp = strategy_log_probs(logits(policy)[rollouts.problem_ids], temperature)  # [B, S]
    logp_s = jnp.take_along_axis(logp, rollouts.strategies, axis=1)  # [B, n]
    return -jnp.mean(jax.lax.stop_gradient(adv) * logp_s)


def update_from_rollouts(config: TrainConfig, state: TrainState, rollouts: Rollouts, adv_key, bank: Bank, hyper: Hyper):
    """Steps 2-5 of a training step on given rollouts; returns (new_state, StepSignals).

    This is the part that ``sim.reference.reference_update`` reimplements in NumPy.
    """
    T = hyper.temperature
    pids = rollouts.problem_ids
    rewards = rewards_of(rollouts.answers)
    counts = update_answer_counts(state.answer_counts, pids, rollouts.answers)
    z_b = logits(state.policy)[pids]
    logp = strategy_log_probs(z_b, T)
    ent = strategy_entropy(z_b, T)
    ctx = AdvContext(
        entropy=ent,
        answer_counts=lookup_answer_counts(counts, pids, rollouts.answers),
        log_probs=jnp.take_along_axis(logp, rollouts.strategies, axis=1),
        bonus_coef=hyper.bonus_coef,
        noise_rate=hyper.noise_rate,
        entropy_coef=hyper.entropy_coef,
        ucb_b0=hyper.ucb_b0,
    )
    adv = get_advantage(config.advantage)(adv_key, rewards, rollouts.answers, ctx, k=config.k)
    adv = jax.lax.stop_gradient(adv)

    loss, grads = jax.value_and_grad(_surrogate_loss)(state.policy, rollouts, adv, T)
    direction, opt_state = make_optimizer(config).update(grads, state.opt_state, state.policy)
    step_size = Policy(u=-hyper.learning_rate * hyper.sharing, v=-hyper.learning_rate * (1.0 - hyper.sharing))
    policy = jax.tree.map(lambda p, d, s: p + (s * d).astype(p.dtype), state.policy, direction, step_size)

    n_pos = jnp.sum(rewards, axis=1)
    signals = StepSignals(
        mean_reward=jnp.mean(rewards),
        mean_entropy=jnp.mean(ent),
        adv_mean=jnp.mean(adv),
        adv_std=jnp.std(adv),
        adv_abs_mean=jnp.mean(jnp.abs(adv)),
        loss=loss,
        problem_ids=pids,
        pass_rate=n_pos / rewards.shape[1],
        n_pos=n_pos.astype(jnp.int32),
        eta=jnp.sum(jnp.abs(adv), axis=1),
    )
    return TrainState(policy, opt_state, counts, state.step + 1), signals


def sample_batch(config: TrainConfig, key, state: TrainState, bank: Bank, hyper: Hyper) -> Rollouts:
    """Step 1: B distinct uniform problems and n rollouts each at the training temperature.

    The B problems are the indices of the B largest of P iid uniforms (a uniformly random B-subset;
    ``lax.top_k`` is cheaper on CPU than the sort-based ``jax.random.choice(replace=False)``)."""
    k_batch, k_roll = jax.random.split(key)
    P = bank.answers.shape[0]
    _, pids = jax.lax.top_k(jax.random.uniform(k_batch, (P,)), config.batch_size)
    return sample_rollouts(k_roll, logits(state.policy), bank, hyper.temperature, config.n_rollouts, pids)


def train_step(config: TrainConfig, state: TrainState, key, bank: Bank, hyper: Hyper):
    """One full training step (steps 1-5); returns (new_state, StepSignals)."""
    k_sample, k_adv = jax.random.split(key)
    rollouts = sample_batch(config, k_sample, state, bank, hyper)
    return update_from_rollouts(config, state, rollouts, k_adv, bank, hyper)


def step_keys(key, start, n_steps: int):
    """Per-step training keys ``fold_in(key, t)`` for global steps t = start, ..., start + n_steps - 1.

    Keys depend on the global step, not on the run length, so a run of 2N steps and a run of N steps
    resumed for N more (``make_run(...)(key, ..., state=out.final_state)``) see the same randomness."""
    steps = jnp.asarray(start, jnp.int32) + jnp.arange(n_steps, dtype=jnp.int32)
    return jax.vmap(lambda t: jax.random.fold_in(key, t))(steps)


def make_run(config: TrainConfig, evaluate: Callable | None = None) -> Callable:
    """A jitted ``run(key, bank, policy, hyper, state=None) -> RunOutput`` for this static config.

    ``key`` drives all training randomness (problem batches, rollouts, stochastic advantages) through
    per-step keys ``fold_in(key, global step)`` (:func:`step_keys`); the bank and the initial policy
    are inputs (make them with their own keys). ``state`` resumes a run: pass a previous run's
    ``final_state`` (policy, optimizer state, answer table, step counter; ``policy`` is then ignored)
    and the same key, and the result continues exactly where that run stopped (steps and checkpoints
    count from ``state.step``). Vmappable over any argument's leaves, e.g.
    ``jax.vmap(run, in_axes=(0, None, None, None))`` over seeds.

    ``evaluate`` (optional): a traceable ``evaluate(policy, hyper) -> pytree of arrays`` called on the
    policy of every checkpoint (the run's first policy included, as for ``checkpoints``), e.g. an
    evaluation on held-out problems (whatever data it needs, it closes over: constants of the compiled
    run). Its outputs, each leaf stacked on a leading [C] axis, are ``RunOutput.evaluations``; without
    a hook that field is None and the run is unchanged. Training does not depend on the hook.
    """
    def one_step(bank, hyper, st, k):
        return train_step(config, st, k, bank, hyper)

    return make_scanned_run(config, one_step, checkpoint_of, evaluate)


def make_scanned_run(config: TrainConfig, one_step: Callable, checkpoint_fn: Callable, evaluate: Callable | None = None) -> Callable:
    """The jitted run loop shared by every bandit (``make_run``, ``sim.shortcut.make_shortcut_run``):
    ``run(key, bank, policy, hyper, state=None) -> RunOutput`` scans ``one_step(bank, hyper, state, key) ->
    (state, signals)`` over per-step keys ``fold_in(key, global step)``, records ``checkpoint_fn(policy, bank,
    hyper)`` and the optional ``evaluate(policy, hyper)`` every ``checkpoint_every`` steps (and at the start),
    and resumes from ``state`` (see :func:`make_run`)."""
    c = config.checkpoint_every
    n_ckpt = config.n_steps // c

    def _evaluate(policy: Policy, hyper: Hyper):
        return None if evaluate is None else evaluate(policy, hyper)

    def _prepend(first, rest):
        return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b], axis=0), first, rest)

    def run(key, bank, policy: Policy, hyper: Hyper, state: TrainState | None = None) -> RunOutput:
        P = bank.answers.shape[0]
        if config.batch_size > P:
            raise ValueError(f"batch_size: must be <= n_problems = {P}, got {config.batch_size}")
        if state is None:
            state = init_state(config, policy, bank)
        start = state.step
        first = checkpoint_fn(state.policy, bank, hyper)
        first_eval = _evaluate(state.policy, hyper)
        step = functools.partial(one_step, bank, hyper)

        def one_checkpoint(st, ks):
            st, sig = jax.lax.scan(step, st, ks)
            return st, (checkpoint_fn(st.policy, bank, hyper), _evaluate(st.policy, hyper), sig)

        keys = step_keys(key, start, config.n_steps)
        keys = keys.reshape((n_ckpt, c) + keys.shape[1:])
        state, (ckpts, evals, sigs) = jax.lax.scan(one_checkpoint, state, keys)
        ckpts = _prepend(first, ckpts)
        evals = _prepend(first_eval, evals)
        sigs = jax.tree.map(lambda x: x.reshape((config.n_steps,) + x.shape[2:]), sigs)
        steps = start + jnp.arange(n_ckpt + 1, dtype=jnp.int32) * c
        return RunOutput(steps, ckpts, sigs, state, evals)

    return jax.jit(run)


def shard_leading_axis(x):
    """Place a pytree's leading axis across all local devices (no-op with one device or uneven split)."""
    devices = jax.local_devices()
    n_dev = len(devices)
    leaves = jax.tree.leaves(x)
    if n_dev <= 1 or not leaves or leaves[0].shape[0] % n_dev:
        return x
    mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
    sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch"))
    return jax.device_put(x, sharding)


def run_many(run: Callable, keys, bank: Bank, policy: Policy, hyper: Hyper, *, vary: tuple[str, ...] = (),
             state: TrainState | None = None) -> RunOutput:
    """vmap ``run`` over a leading axis G: ``keys`` always has it (one training key per run) and so
    does every argument named in ``vary`` (a subset of "bank", "policy", "hyper"; e.g. a vmapped
    ``make_bank`` or ``stack_hypers`` grid). ``state`` (optional) resumes G runs: a previous
    ``run_many`` output's ``final_state``, with its leading [G] axis. The G axis is sharded over local
    devices when there are several (a no-op on one device). Returns a RunOutput with a leading [G] axis."""
    bad = set(vary) - {"bank", "policy", "hyper"}
    if bad:
        raise ValueError(f"vary: names must be among 'bank', 'policy', 'hyper', got {sorted(bad)}")
    args = {"bank": bank, "policy": policy, "hyper": hyper}
    in_axes = (0,) + tuple(0 if name in vary else None for name in args)
    sharded = [shard_leading_axis(a) if name in vary else a for name, a in args.items()]
    if state is None:
        return _vmapped(run, in_axes)(shard_leading_axis(keys), *sharded)
    return _vmapped(run, in_axes + (0,))(shard_leading_axis(keys), *sharded, shard_leading_axis(state))


@functools.lru_cache(maxsize=64)
def _vmapped(run: Callable, in_axes: tuple) -> Callable:
    """jit(vmap(run)), cached so that repeated ``run_many`` calls reuse one compilation."""
    return jax.jit(jax.vmap(run, in_axes=in_axes))
