"""The strategy bank: which answer each reasoning strategy reaches on each problem.

A bank has P problems, S strategies shared by all problems and m answers per problem; answer 0 is the
correct one, answers 1..m-1 are wrong, and answer 1 is each problem's *attractor* (the wrong answer
that wrong strategies share most often). ``answers[i, s]`` is the answer strategy s reaches on problem
i. A rollout that follows strategy s gives ``answers[i, s]`` with probability 1 - epsilon, else a
uniformly random wrong answer (one of the m - 1; it may coincide with ``answers[i, s]`` when that is
wrong). So epsilon -> 0 means consistent, correlated errors; epsilon -> 1 scattered ones (and a
correct strategy then succeeds only with probability 1 - epsilon).

Generator (``make_bank(config, key)``, deterministic given the key, jittable and vmappable over keys):

1. Skills: problem i belongs to cluster ``i % n_clusters`` (balanced). Each strategy is *strong* on
   ``clusters_per_strategy`` clusters drawn uniformly without replacement.
2. Difficulty: strategy s solves problem i with probability ``q_hi`` if s is strong on i's cluster,
   else ``q_lo`` (independently). Then every problem with fewer than ``min_solvers`` solving
   strategies gets random extra solvers until it has ``min_solvers``. Expected solvers per problem
   ~ S * (f q_hi + (1 - f) q_lo), f = clusters_per_strategy / n_clusters.
3. Wrong-answer structure: a strategy that does not solve i answers the attractor (answer 1) with
   probability ``attractor``, else a wrong answer uniform over 1..m-1 (so ``attractor = 0`` spreads
   wrong answers uniformly, ``attractor = 1`` makes all wrong strategies agree).
4. Trap (``trap_fraction > 0``): strategy 0 is replaced by a trap. It solves the ``trap_fraction``
   of problems that are easiest (most solvers among strategies 1..S-1, ties broken at random) and
   answers the attractor on every other problem: a shared skill that, once promoted by shared
   learning, raises pass@1 on easy problems while making errors on hard problems consistent (the
   mechanism the prototype notes name for a mid-run negative SC gain).

Units: probabilities are per strategy-problem pair; epsilon is a per-rollout probability.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp

__all__ = ["BankConfig", "Bank", "make_bank", "solver_counts"]


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")


def _check_prob(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not 0 <= value <= 1:
        raise ValueError(f"{name}: must be a number in [0, 1], got {value!r}")


@dataclasses.dataclass(frozen=True)
class BankConfig:
    """Static description of a bank (validated on construction; every error names its field)."""

    n_problems: int = 256  # P
    n_strategies: int = 16  # S
    n_answers: int = 8  # m (answer 0 correct, answer 1 the attractor)
    n_clusters: int = 8  # C skill clusters of problems
    clusters_per_strategy: int = 2  # clusters each strategy is strong on
    q_hi: float = 0.9  # P(strategy solves a problem of a cluster it is strong on)
    q_lo: float = 0.02  # P(strategy solves a problem of another cluster)
    min_solvers: int = 0  # every problem gets at least this many solving strategies
    attractor: float = 0.8  # P(a wrong strategy lands on the attractor answer 1)
    epsilon: float = 0.1  # per-rollout P(random wrong answer instead of the bank's answer)
    trap_fraction: float = 0.0  # > 0: strategy 0 is a trap solving this fraction of (easiest) problems

    def __post_init__(self):
        _check_int("n_problems", self.n_problems, 1)
        _check_int("n_strategies", self.n_strategies, 1)
        _check_int("n_answers", self.n_answers, 2)
        _check_int("n_clusters", self.n_clusters, 1)
        _check_int("clusters_per_strategy", self.clusters_per_strategy, 1)
        if self.clusters_per_strategy > self.n_clusters:
            raise ValueError(
                f"clusters_per_strategy: must be <= n_clusters = {self.n_clusters}, got {self.clusters_per_strategy}"
            )
        _check_int("min_solvers", self.min_solvers, 0)
        if self.min_solvers > self.n_strategies:
            raise ValueError(f"min_solvers: must be <= n_strategies = {self.n_strategies}, got {self.min_solvers}")
        for name in ("q_hi", "q_lo", "attractor", "epsilon", "trap_fraction"):
            _check_prob(name, getattr(self, name))
        if self.trap_fraction > 0 and self.n_strategies < 2:
            raise ValueError("trap_fraction: a trap needs n_strategies >= 2 (strategy 0 is the trap)")


@functools.partial(
    jax.tree_util.register_dataclass, data_fields=["answers", "cluster", "strong", "epsilon"], meta_fields=["n_answers"]
)
@dataclasses.dataclass(frozen=True)
class Bank:
    """A generated bank (a pytree; ``epsilon`` is a float leaf so it can be vmapped over, ``n_answers``
    is static metadata).

    answers: int32 [P, S], the answer strategy s reaches on problem i (0 = correct, 1 = attractor).
    cluster: int32 [P], the skill cluster of each problem.
    strong: bool [S, C], strategy s is strong on cluster c.
    epsilon: float scalar, per-rollout probability of a uniformly random wrong answer.
    n_answers: m (static int).
    """

    answers: jax.Array
    cluster: jax.Array
    strong: jax.Array
    epsilon: jax.Array
    n_answers: int

    def replace(self, **changes) -> Bank:
        """A copy with some fields replaced, e.g. ``bank.replace(epsilon=0.3)``. ``epsilon`` is cast to
        the default float dtype (not weakly typed), so a jitted run does not recompile for it."""
        if "epsilon" in changes:
            changes["epsilon"] = jnp.asarray(changes["epsilon"], dtype=jnp.result_type(float))
        return dataclasses.replace(self, **changes)


def _ranks(x: jax.Array) -> jax.Array:
    """Rank of each entry along the last axis (0 = smallest)."""
    return jnp.argsort(jnp.argsort(x, axis=-1), axis=-1)


def make_bank(config: BankConfig, key: jax.Array) -> Bank:
    """Generate a bank from ``config`` (see the module docstring); deterministic given ``key``.

    Jitted with the config static (one compilation per config); vmappable over keys."""
    return _make_bank_jit(config, key)


@functools.partial(jax.jit, static_argnums=0)
def _make_bank_jit(config: BankConfig, key: jax.Array) -> Bank:
    P, S, m, C = config.n_problems, config.n_strategies, config.n_answers, config.n_clusters
    k_strong, k_solve, k_extra, k_attr, k_wrong, k_trap = jax.random.split(key, 6)

    cluster = (jnp.arange(P) % C).astype(jnp.int32)
    # each strategy strong on a uniformly random subset of clusters_per_strategy clusters
    strong = _ranks(jax.random.uniform(k_strong, (S, C))) < config.clusters_per_strategy
    q = jnp.where(strong[:, cluster].T, config.q_hi, config.q_lo)  # [P, S]
    solves = jax.random.uniform(k_solve, (P, S)) < q

    if config.min_solvers > 0:
        # give each deficient problem random extra solvers among its non-solvers
        n_solv = jnp.sum(solves, axis=1, keepdims=True)
        prio = jnp.where(solves, -1.0, jax.random.uniform(k_extra, (P, S)))  # non-solvers in (0, 1)
        rank_desc = _ranks(-prio)  # 0 = highest priority non-solver
        solves = solves | (rank_desc < config.min_solvers - n_solv)

    wrong = jnp.where(
        jax.random.uniform(k_attr, (P, S)) < config.attractor,
        1,
        jax.random.randint(k_wrong, (P, S), 1, m),
    )

    if config.trap_fraction > 0:
        n_easy = int(round(config.trap_fraction * P))
        others = jnp.sum(solves[:, 1:], axis=1).astype(jnp.float32)
        score = others + jax.random.uniform(k_trap, (P,))  # random tie-break within equal counts
        easy = _ranks(-score) < n_easy
        solves = solves.at[:, 0].set(easy)
        wrong = wrong.at[:, 0].set(1)

    answers = jnp.where(solves, 0, wrong).astype(jnp.int32)
    eps = jnp.asarray(config.epsilon, dtype=jnp.result_type(float))
    return Bank(answers=answers, cluster=cluster, strong=strong, epsilon=eps, n_answers=m)


def solver_counts(bank: Bank) -> jax.Array:
    """Number of strategies whose bank answer is correct, per problem: int [P] (difficulty)."""
    return jnp.sum(bank.answers == 0, axis=1)
