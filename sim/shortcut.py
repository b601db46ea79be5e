"""A bank with explicit problem classes and a "zero-absorbs" shortcut (chained mod-10 arithmetic).

The real task this bank mirrors: a problem is a chain of L operations on a running value mod 10
(digits 0..9); the full procedure applies all L operations. The *zero-absorbs shortcut* stops as
soon as the running value is 0 and answers 0 (as if 0 absorbed every later operation). Each problem
belongs to one of three classes, by what its chain does:

- ``never`` (class 0): the running value never hits 0; the shortcut never fires and is the full
  procedure (same answer, same L steps);
- ``trap_right`` (class 1): the chain hits 0 first at step h (1 <= h <= L) and its true answer is 0;
  the shortcut answers 0 after h steps: right, and *shorter* (fewer slip opportunities);
- ``trap_wrong`` (class 2): the chain hits 0 first at step h (1 <= h <= L - 1) and ends elsewhere;
  the shortcut answers 0: consistently wrong, with the *same* wrong answer on every such problem.

Answer encoding (as in ``sim.bank``): answer index 0 is the correct answer of the problem and index 1
is the shortcut's wrong answer (the digit 0 on a trap-wrong problem); m = ``n_answers`` (10 for mod
10). Strategies: strategy s is a ``"full"`` procedure or a ``"shortcut"``, with a per-step slip
probability delta_s. A rollout of strategy s on problem i takes n_steps[i, s] steps (L_i for a full
procedure or on a never problem, h_i for the shortcut on a trap problem) and slips with probability

    epsilon[i, s] = 1 - (1 - delta_s) ** n_steps[i, s]            (independent per-step slips)

in which case its answer is uniformly random over the m - 1 wrong answers (a *scattered* error; it
may be answer 1); otherwise it is ``answers[i, s]`` (0, or 1 for the shortcut on a trap-wrong
problem). A per-step slip of 1 makes a "guess" strategy that is always scattered-wrong. Approximation:
a slip before the zero-hit is treated like any other slip (a scattered answer), not as a change of
the path.

Generator (``make_shortcut_bank(config, key)``, deterministic given the key, jittable and vmappable
over keys): class counts n_R = round(share_trap_right P), n_W = round(share_trap_wrong P), the rest
never; problems 0..n_R-1 are trap-right, the next n_W trap-wrong (training batches and evaluation
are uniform over problems, so block order does not matter). Chain length L_i ~ uniform integer on
[len_min, len_max]; first zero-hit step h_i ~ uniform on 1..L_i (trap-right) or 1..L_i - 1
(trap-wrong), each capped at ``hit_max`` when set (e.g. 1: the chain hits 0 at its first operation,
where the shortcut saves the most steps); h_i = L_i on never problems.

Policy (``shortcut_base_policy``): z = u + v as in ``sim.policy``, with u[s] = log base_probs[s]
(the strategy shares of a problem with v = 0 at T = 1; the shortcut's share is its base probability
on a zero-hitting problem) and v ~ N(0, problem_scale^2) per problem. Training reuses the GRPO step
of ``sim.train`` (``update_from_rollouts``) with this bank's sampler (``make_shortcut_run``).

Exact answer distribution (``shortcut_answer_probs``): with pi = softmax(z / T),

    probs[i, a] = sum_s pi[i, s] [(1 - epsilon[i, s]) 1{answers[i, s] = a} + epsilon[i, s] 1{a != 0} / (m - 1)].

Why GRPO promotes or suppresses the shortcut (``class_reward_margins``, ``break_even_trap_right_share``):
the success probability of strategy s on problem i is R[i, s] = (1 - epsilon[i, s]) 1{answers[i, s] = 0}.
For the REINFORCE gradient of the mean reward with shared logits only (sharing = 1), the drift of
u_shortcut - u_full is sum_i [pi_Z (R_iZ - Rbar_i) - pi_F (R_iF - Rbar_i)], which at equal shares
pi_Z = pi_F is pi sum_i (R_iZ - R_iF): the shortcut gains on the pool iff the pool's mean reward margin
n_N m_N + n_R m_R + n_W m_W > 0, with per-class expected margins m_c = E[R_Z - R_F | class c] over
the generator's (L, h) (m_N = 0 when both slips are equal, m_R > 0 from the saved steps, m_W =
-E[(1 - delta_F)^L] < 0). With m_N = 0 the break-even share of trap-right among zero-hitting pool
problems is r* = -m_W / (m_R - m_W). This is a first-order criterion (group-normalized GRPO
advantages, Adam and unequal shares move the empirical threshold a little).

Units: delta and epsilon are per-step and per-rollout probabilities; lengths and hit steps are
numbers of chain operations; logits in nats.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from common.checks import check_int, check_number
from sim.policy import Policy, logits, strategy_entropy, strategy_probs
from sim.rollouts import Rollouts, sample_strategies
from sim.train import Checkpoint, Hyper, TrainConfig, TrainState, make_scanned_run, update_from_rollouts

__all__ = [
    "NEVER", "TRAP_RIGHT", "TRAP_WRONG", "CLASS_NAMES", "KINDS",
    "ShortcutBankConfig", "ShortcutBank", "make_shortcut_bank", "class_counts",
    "shortcut_base_policy", "shortcut_answer_probs", "sample_shortcut_rollouts", "sample_shortcut_answer_counts",
    "shortcut_checkpoint", "make_shortcut_run", "held_out_evaluator", "class_reward_margins", "break_even_trap_right_share",
]

NEVER, TRAP_RIGHT, TRAP_WRONG = 0, 1, 2
CLASS_NAMES = ("never", "trap_right", "trap_wrong")
KINDS = ("full", "shortcut")


@dataclasses.dataclass(frozen=True)
class ShortcutBankConfig:
    """Static description of a shortcut bank (validated on construction; every error names its field)."""

    n_problems: int = 200  # P
    n_answers: int = 10  # m (mod-10 digits; index 0 correct, index 1 the shortcut's wrong answer)
    share_trap_right: float = 0.1  # fraction of problems that hit 0 and end at 0
    share_trap_wrong: float = 0.4  # fraction of problems that hit 0 and end elsewhere
    len_min: int = 3  # shortest chain (operations), >= 2
    len_max: int = 8  # longest chain (operations)
    hit_max: int | None = None  # cap on the first zero-hit step h (None: no cap; 1: the chain hits 0 at its first operation)
    strategy_kinds: tuple[str, ...] = ("full", "full", "shortcut")  # "full" or "shortcut" per strategy
    strategy_slips: tuple[float, ...] = (0.03, 0.15, 0.03)  # per-step slip probability delta_s

    def __post_init__(self):
        check_int("n_problems", self.n_problems, 1)
        check_int("n_answers", self.n_answers, 2)
        check_number("share_trap_right", self.share_trap_right, low=0, high=1)
        check_number("share_trap_wrong", self.share_trap_wrong, low=0, high=1)
        if self.class_counts[0] + self.class_counts[1] > self.n_problems:
            raise ValueError(f"share_trap_wrong: share_trap_right + share_trap_wrong must be <= 1 (after rounding to "
                             f"{self.n_problems} problems), got {self.share_trap_right} + {self.share_trap_wrong}")
        check_int("len_min", self.len_min, 2)
        check_int("len_max", self.len_max, self.len_min)
        if self.hit_max is not None:
            check_int("hit_max", self.hit_max, 1)
        if not isinstance(self.strategy_kinds, tuple) or not self.strategy_kinds:
            raise ValueError(f"strategy_kinds: must be a non-empty tuple of {KINDS}, got {self.strategy_kinds!r}")
        for k in self.strategy_kinds:
            if k not in KINDS:
                raise ValueError(f"strategy_kinds: entries must be one of {KINDS}, got {k!r}")
        if not isinstance(self.strategy_slips, tuple) or len(self.strategy_slips) != len(self.strategy_kinds):
            raise ValueError(f"strategy_slips: must be a tuple with one slip per strategy ({len(self.strategy_kinds)}), "
                             f"got {self.strategy_slips!r}")
        for d in self.strategy_slips:
            check_number("strategy_slips", d, low=0, high=1)

    @property
    def n_strategies(self) -> int:
        """S, the number of strategies."""
        return len(self.strategy_kinds)

    @property
    def class_counts(self) -> tuple[int, int]:
        """(n_trap_right, n_trap_wrong) = rounded shares times P (the rest are never problems)."""
        return int(round(self.share_trap_right * self.n_problems)), int(round(self.share_trap_wrong * self.n_problems))


@functools.partial(jax.tree_util.register_dataclass, data_fields=["answers", "epsilon", "n_steps", "klass", "length", "hit_step"],
                   meta_fields=["n_answers"])
@dataclasses.dataclass(frozen=True)
class ShortcutBank:
    """A generated shortcut bank (a pytree; ``n_answers`` static).

    answers: int32 [P, S], the answer strategy s reaches without a slip (0 correct, 1 = the shortcut's wrong 0).
    epsilon: float [P, S], per-rollout slip probability 1 - (1 - delta_s)^n_steps[i, s].
    n_steps: int32 [P, S], chain operations strategy s performs on problem i.
    klass: int32 [P], NEVER / TRAP_RIGHT / TRAP_WRONG.  length: int32 [P], L_i.  hit_step: int32 [P], h_i (L_i if never).
    """

    answers: jax.Array
    epsilon: jax.Array
    n_steps: jax.Array
    klass: jax.Array
    length: jax.Array
    hit_step: jax.Array
    n_answers: int


def make_shortcut_bank(config: ShortcutBankConfig, key: jax.Array) -> ShortcutBank:
    """Generate a shortcut bank (module docstring); deterministic given ``key``.

    Jitted with the config static (one compilation per config); vmappable over keys and callable
    inside other jitted functions."""
    return _make_jit(config, key)


@functools.partial(jax.jit, static_argnums=0)
def _make_jit(config: ShortcutBankConfig, key: jax.Array) -> ShortcutBank:
    P = config.n_problems
    n_r, n_w = config.class_counts
    # one uniform pair per problem (a single random-bits call keeps the compiled program small)
    u_len, u_hit = jax.random.uniform(key, (2, P))
    idx = jnp.arange(P)
    klass = jnp.where(idx < n_r, TRAP_RIGHT, jnp.where(idx < n_r + n_w, TRAP_WRONG, NEVER)).astype(jnp.int32)
    n_len = config.len_max - config.len_min + 1
    length = (config.len_min + jnp.minimum(jnp.floor(u_len * n_len).astype(jnp.int32), n_len - 1)).astype(jnp.int32)
    # first zero-hit: uniform on 1..L (trap-right) or 1..L-1 (trap-wrong: the chain must leave 0 again), capped at hit_max
    top = jnp.where(klass == TRAP_RIGHT, length, length - 1)
    if config.hit_max is not None:
        top = jnp.minimum(top, config.hit_max)
    hit = jnp.minimum(1 + jnp.floor(u_hit * top).astype(jnp.int32), top)
    hit = jnp.where(klass == NEVER, length, hit).astype(jnp.int32)

    is_short = jnp.asarray([k == "shortcut" for k in config.strategy_kinds])  # [S]
    slips = jnp.asarray(config.strategy_slips, jnp.result_type(float))  # [S]
    n_steps = jnp.where(is_short[None, :], hit[:, None], length[:, None]).astype(jnp.int32)  # [P, S]
    answers = jnp.where(is_short[None, :] & (klass[:, None] == TRAP_WRONG), 1, 0).astype(jnp.int32)
    eps = 1.0 - (1.0 - slips[None, :]) ** n_steps  # independent per-step slips; delta = 1 gives exactly 1
    return ShortcutBank(answers=answers, epsilon=eps, n_steps=n_steps, klass=klass, length=length, hit_step=hit,
                        n_answers=config.n_answers)


def class_counts(bank: ShortcutBank) -> jax.Array:
    """Problems per class: int [3] (never, trap_right, trap_wrong)."""
    return jnp.sum(bank.klass[:, None] == jnp.arange(3)[None, :], axis=0)


def shortcut_base_policy(base_probs, problem_scale: float, key: jax.Array, n_problems: int) -> Policy:
    """Base-model logits u[s] = log base_probs[s] (nats), v ~ N(0, problem_scale^2) [P, S] (key-deterministic).

    ``base_probs``: the strategy shares at v = 0 and T = 1 (positive, summing to 1 within 1e-6); the
    shortcut's share is its base probability on a zero-hitting problem."""
    probs = [float(p) for p in base_probs]
    if not probs or any(not math.isfinite(p) or p <= 0 for p in probs) or abs(sum(probs) - 1.0) > 1e-6:
        raise ValueError(f"base_probs: must be positive and sum to 1, got {base_probs!r}")
    check_number("problem_scale", problem_scale, low=0)
    dtype = jnp.result_type(float)
    u = jnp.log(jnp.asarray(probs, dtype))
    v = problem_scale * jax.random.normal(key, (n_problems, len(probs)), dtype)
    return Policy(u=u, v=v)


def shortcut_answer_probs(z: jax.Array, bank: ShortcutBank, temperature) -> jax.Array:
    """Exact answer distribution [P, m] of logits z [P, S] at temperature T (module docstring equation)."""
    pi = strategy_probs(z, temperature)  # [P, S]
    m = bank.n_answers
    onehot = jax.nn.one_hot(bank.answers, m, dtype=pi.dtype)  # [P, S, m]
    consistent = jnp.einsum("ps,psa->pa", pi * (1.0 - bank.epsilon), onehot)
    slip = jnp.sum(pi * bank.epsilon, axis=-1, keepdims=True)  # [P, 1]
    noise = jnp.where(jnp.arange(m) == 0, 0.0, 1.0 / (m - 1)).astype(pi.dtype)
    return consistent + slip * noise


def sample_shortcut_rollouts(key: jax.Array, z: jax.Array, bank: ShortcutBank, temperature, n: int, problem_ids: jax.Array) -> Rollouts:
    """n iid rollouts per problem in ``problem_ids``: s ~ softmax(z[i] / T), a slip with probability
    epsilon[i, s] gives a uniform wrong answer (1..m-1), else answers[i, s]."""
    k_s, k_noise, k_wrong = jax.random.split(key, 3)
    B = problem_ids.shape[0]
    strategies = sample_strategies(k_s, jax.nn.softmax(z[problem_ids] / temperature, axis=-1), n)
    rows = problem_ids[:, None]
    slipped = jax.random.uniform(k_noise, (B, n)) < bank.epsilon[rows, strategies]
    random_wrong = jax.random.randint(k_wrong, (B, n), 1, bank.n_answers, dtype=jnp.int32)
    answers = jnp.where(slipped, random_wrong, bank.answers[rows, strategies]).astype(jnp.int32)
    return Rollouts(problem_ids=problem_ids.astype(jnp.int32), strategies=strategies, answers=answers)


@functools.partial(jax.jit, static_argnames="n")
def sample_shortcut_answer_counts(key: jax.Array, z: jax.Array, bank: ShortcutBank, temperature, n: int) -> jax.Array:
    """Evaluate every problem with n samples: answer counts int [P, m] (what a real eval sees)."""
    ro = sample_shortcut_rollouts(key, z, bank, temperature, n, jnp.arange(z.shape[0]))
    return jnp.sum(jax.nn.one_hot(ro.answers, bank.n_answers, dtype=jnp.int32), axis=1)


def shortcut_checkpoint(policy: Policy, bank: ShortcutBank, hyper: Hyper) -> Checkpoint:
    """Exact checkpoint record (logits, answer probs, strategy entropy) at ``hyper.eval_temperature``."""
    z = logits(policy)
    T = hyper.eval_temperature
    return Checkpoint(z, shortcut_answer_probs(z, bank, T), strategy_entropy(z, T))


def make_shortcut_run(config: TrainConfig, evaluate: Callable | None = None) -> Callable:
    """A jitted ``run(key, bank, policy, hyper, state=None) -> RunOutput`` on a ShortcutBank.

    Same contract as ``sim.train.make_run`` (per-step keys ``fold_in(key, global step)``, checkpoints
    every ``checkpoint_every`` steps with checkpoint 0 the initial policy, resumable ``state``, an
    optional ``evaluate(policy, hyper)`` hook stacked on a leading [C] axis, vmappable, usable with
    ``sim.train.run_many``); a step draws ``batch_size`` distinct uniform problems, ``n_rollouts``
    rollouts each from this bank (``sample_shortcut_rollouts``) and applies the GRPO-family update of
    ``sim.train.update_from_rollouts`` (advantage, optimizer, sharing) unchanged (GRPO: Shao et al.
    2024, DeepSeekMath; rewards 1{answer = 0}).
    """
    def one_step(bank, hyper, st: TrainState, key):
        # the key tree of sim.train.train_step / sample_batch, so a bank with a constant epsilon
        # reproduces make_run on the equivalent sim.bank.Bank exactly
        k_sample, k_adv = jax.random.split(key)
        k_batch, k_roll = jax.random.split(k_sample)
        P = bank.answers.shape[0]
        _, pids = jax.lax.top_k(jax.random.uniform(k_batch, (P,)), config.batch_size)
        ro = sample_shortcut_rollouts(k_roll, logits(st.policy), bank, hyper.temperature, config.n_rollouts, pids)
        return update_from_rollouts(config, st, ro, k_adv, bank, hyper)

    return make_scanned_run(config, one_step, shortcut_checkpoint, evaluate)


def held_out_evaluator(test_bank: ShortcutBank, v_test: jax.Array) -> Callable:
    """An ``evaluate(policy, hyper)`` hook for ``make_shortcut_run``: the shared logits u of the trained
    policy plus fixed per-problem base logits ``v_test`` [P_test, S] on held-out problems (per-problem
    learning on the training pool does not transfer, shared learning does). Returns
    {"answer_probs": [P_test, m] exact at ``hyper.eval_temperature``, "logits": [P_test, S]}."""
    if v_test.shape != test_bank.answers.shape:
        raise ValueError(f"v_test: must have shape {tuple(test_bank.answers.shape)} (test problems x strategies), got {tuple(v_test.shape)}")

    def evaluate(policy: Policy, hyper: Hyper):
        z = policy.u[None, :] + v_test
        return {"answer_probs": shortcut_answer_probs(z, test_bank, hyper.eval_temperature), "logits": z}

    return evaluate


def class_reward_margins(config: ShortcutBankConfig, shortcut: int, full: int) -> dict:
    """Exact expected reward margins m_c = E[R_shortcut - R_full | class c] (module docstring) over the
    generator's chain lengths L ~ U{len_min..len_max} and first zero-hits h (U{1..min(L, hit_max)}
    trap-right, U{1..min(L-1, hit_max)} trap-wrong), for strategy indices ``shortcut`` and ``full``. Returns a dict keyed by
    ``CLASS_NAMES`` (reward units: success probability per rollout)."""
    for name, idx, kind in (("shortcut", shortcut, "shortcut"), ("full", full, "full")):
        if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < config.n_strategies:
            raise ValueError(f"{name}: must be a strategy index in [0, {config.n_strategies}), got {idx!r}")
        if config.strategy_kinds[idx] != kind:
            raise ValueError(f"{name}: strategy {idx} is {config.strategy_kinds[idx]!r}, expected {kind!r}")
    keep_z, keep_f = 1.0 - config.strategy_slips[shortcut], 1.0 - config.strategy_slips[full]
    lengths = range(config.len_min, config.len_max + 1)
    m_never = sum(keep_z ** L - keep_f ** L for L in lengths) / len(lengths)
    cap = lambda top: top if config.hit_max is None else min(top, config.hit_max)
    m_right = sum(sum(keep_z ** h for h in range(1, cap(L) + 1)) / cap(L) - keep_f ** L for L in lengths) / len(lengths)
    m_wrong = -sum(keep_f ** L for L in lengths) / len(lengths)
    return {"never": m_never, "trap_right": m_right, "trap_wrong": m_wrong}


def break_even_trap_right_share(config: ShortcutBankConfig, shortcut: int, full: int) -> float:
    """r* = -m_W / (m_R - m_W): the share of trap-right among zero-hitting pool problems above which the
    first-order GRPO drift promotes the shortcut over the full procedure (module docstring; exact
    when the two strategies' slips are equal, so that m_N = 0). A number in (0, 1]."""
    m = class_reward_margins(config, shortcut, full)
    return float(-m["trap_wrong"] / (m["trap_right"] - m["trap_wrong"]))
