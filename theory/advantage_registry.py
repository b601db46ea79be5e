"""The one registry of group advantages, shared by the simulator (``sim.train``) and the real RL trainer
(``real.lab.rl``): name -> pure jittable function, with the same semantics in both.

Uniform signature (every entry)::

    fn(key, rewards [B, N], answers [B, N], ctx: AdvContext, *, k: int) -> advantages [B, N]

``rewards`` are binary (float), ``answers`` integer answer ids (0 = correct; equal ids = equal final
answers within a group), ``key`` a jax PRNG key (used only by stochastic advantages), ``k`` the static
Pass@k group size (ignored by the others); ``ctx`` carries everything else as arrays, so numeric knobs
can be traced / vmapped. A "response" is a strategy in the simulator and a sampled completion in the
real trainer; ``AdvContext`` says what each field holds in both.

The advantages are the theory core's (Chen et al. 2025, "Pass@k Training ...", arXiv:2508.10751;
Song, Kempe, Munos 2025, "Outcome-based Exploration for LLM Reasoning", arXiv:2509.06941):

- ``grpo`` (Shao et al. 2024), ``drgrpo`` (Liu et al. 2025), ``passk_analytic`` (eqs. 11-15),
  ``passk_bootstrap`` (eq. 6), ``passk_full`` (Sec. 2.2; needs N divisible by k), ``combination``
  (eq. 18), ``exceed_passk`` (eq. 17), ``adaptive_entropy`` (Sec. 4.2.3; ranks problems by
  ``ctx.entropy``, the exact strategy entropy H(pi(.|i)) in nats) - see ``theory.advantage``.
- Exploration bonuses, added to GRPO: ``A = grpo(r) + bonus_coef * zero_if_all_correct(b, r)``:
  ``ucb`` b = min(1, 1/sqrt(N(x, a))) with N(x, a) = ``ctx.answer_counts`` (training-history counts
  including the current batch); ``ucb_mean`` b minus its group mean; ``ucb_con`` b - ``ctx.ucb_b0``;
  ``batch`` the within-group collision penalty -(1/N) sum_{j != i} 1{a_i = a_j}
  (``theory.exploration``). Units: GRPO std units plus coefficient x reward units.
- ``noisy_reward``: each *negative* reward is flipped to 1 independently with probability
  ``ctx.noise_rate`` before GRPO (a random-reward control; the true reward is still what is logged).
- ``entropy_regularized``: GRPO plus an entropy bonus in advantage form,
  ``A = grpo(r) + entropy_coef * (h_j - mean_group(h))`` with h_j = -log pi(s_j | i) the surprisal of
  rollout j's strategy (``ctx.log_probs``). Because E_s[(-log pi(s) - H) grad log pi(s)] = grad H(pi),
  the expected policy-gradient of the bonus term is exactly entropy_coef * grad H(pi(.|i)) (nats):
  the standard entropy regulariser -entropy_coef * H added to the loss, estimated from the rollouts
  (subtracting the group mean, which includes the rollout itself, scales the expected gradient by
  (N - 1)/N). Not zeroed for all-correct groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from theory import advantage as tadv
from theory import exploration as texp

__all__ = ["AdvContext", "ADVANTAGES", "get_advantage", "make_context", "STOCHASTIC"]


class AdvContext(NamedTuple):
    """Per-batch side information for the advantage functions (all arrays; B problems, N rollouts).

    entropy: [B] policy entropy H(pi(.|x)) on each batch problem (nats): exact over strategies in the
        simulator; in the real trainer its Monte Carlo estimate -mean_j log pi(y_j | x) over the group's
        sampled completions (sequence entropy, nats).
    answer_counts: [B, N] training-history count N(x, a) of each rollout's final answer, current batch included.
    log_probs: [B, N] log pi(response_j | x) of each rollout (strategy log-prob in the simulator, sum of
        the completion's token log-probs in the real trainer; treated as a constant).
    bonus_coef: scalar coefficient of exploration bonuses (ucb*, batch).
    noise_rate: scalar probability of flipping a negative reward (noisy_reward).
    entropy_coef: scalar coefficient of the entropy bonus (entropy_regularized).
    ucb_b0: scalar constant baseline of UCB-Con.
    """

    entropy: jax.Array
    answer_counts: jax.Array
    log_probs: jax.Array
    bonus_coef: jax.Array
    noise_rate: jax.Array
    entropy_coef: jax.Array
    ucb_b0: jax.Array


def make_context(rewards, *, entropy=None, answer_counts=None, log_probs=None, bonus_coef=0.2, noise_rate=0.1, entropy_coef=0.01,
                 ucb_b0=0.5) -> AdvContext:
    """An AdvContext with neutral defaults for missing per-rollout fields (for tests and analyses)."""
    r = jnp.asarray(rewards)
    f = jnp.result_type(float)
    return AdvContext(
        entropy=jnp.zeros(r.shape[:-1], f) if entropy is None else jnp.asarray(entropy, f),
        answer_counts=jnp.ones(r.shape, f) if answer_counts is None else jnp.asarray(answer_counts, f),
        log_probs=jnp.zeros(r.shape, f) if log_probs is None else jnp.asarray(log_probs, f),
        bonus_coef=jnp.asarray(bonus_coef, f),
        noise_rate=jnp.asarray(noise_rate, f),
        entropy_coef=jnp.asarray(entropy_coef, f),
        ucb_b0=jnp.asarray(ucb_b0, f),
    )


_EPS = 1e-6  # GRPO std epsilon (theory.advantage default)


def grpo(key, rewards, answers, ctx, *, k):
    """GRPO: (r - mean) / (std + 1e-6) per group (std units)."""
    return tadv.grpo_advantage(rewards, eps=_EPS)


def drgrpo(key, rewards, answers, ctx, *, k):
    """Dr. GRPO: r - mean per group (reward units)."""
    return tadv.drgrpo_advantage(rewards)


def passk_analytic(key, rewards, answers, ctx, *, k):
    """Analytic Pass@k advantage (Chen et al. 2025 eqs. 11-15)."""
    return tadv.passk_analytic_advantage(rewards, k=k)


def passk_bootstrap(key, rewards, answers, ctx, *, k):
    """Bootstrap Pass@k advantage with N groups of k distinct rollouts (Chen et al. 2025 eq. 6)."""
    return tadv.passk_bootstrap_advantage(key, rewards, k=k, eps=_EPS)


def passk_full(key, rewards, answers, ctx, *, k):
    """Full-sampling Pass@k advantage: N/k disjoint groups (Chen et al. 2025 Sec. 2.2)."""
    return tadv.passk_full_sampling_advantage(rewards, k=k, eps=_EPS)


def combination(key, rewards, answers, ctx, *, k):
    """rho * Pass@k + (1 - rho) * Pass@1 (Chen et al. 2025 eq. 18)."""
    return tadv.combination_advantage(rewards, k=k, eps=_EPS)


def exceed_passk(key, rewards, answers, ctx, *, k):
    """Exceeding-Pass@k advantage, Pass@k scaled by 0.4 / ln(N_pos + 0.5) (Chen et al. 2025 eq. 17)."""
    return tadv.exceed_passk_advantage(rewards, k=k)


def adaptive_entropy(key, rewards, answers, ctx, *, k):
    """Pass@1 on the higher-entropy half of the batch, Pass@k on the rest (Chen et al. 2025 Sec. 4.2.3)."""
    return tadv.adaptive_entropy_advantage(rewards, ctx.entropy, k=k, eps=_EPS)


def _with_bonus(rewards, bonus, coef):
    return tadv.grpo_advantage(rewards, eps=_EPS) + coef * texp.zero_if_all_correct(bonus, rewards)


def ucb(key, rewards, answers, ctx, *, k):
    """GRPO + c * min(1, 1/sqrt(N(x, a))) (Song et al. 2025, historical exploration)."""
    return _with_bonus(rewards, texp.ucb_bonus(ctx.answer_counts), ctx.bonus_coef)


def ucb_mean(key, rewards, answers, ctx, *, k):
    """GRPO + c * (UCB bonus - its group mean) (Song et al. 2025, UCB-Mean)."""
    return _with_bonus(rewards, texp.ucb_mean_bonus(ctx.answer_counts), ctx.bonus_coef)


def ucb_con(key, rewards, answers, ctx, *, k):
    """GRPO + c * (UCB bonus - b0) (Song et al. 2025, UCB-Con)."""
    return _with_bonus(rewards, texp.ucb_bonus(ctx.answer_counts) - ctx.ucb_b0, ctx.bonus_coef)


def batch(key, rewards, answers, ctx, *, k):
    """GRPO + c * within-group collision penalty (Song et al. 2025, batch exploration)."""
    return _with_bonus(rewards, texp.batch_bonus(answers), ctx.bonus_coef)


def noisy_reward(key, rewards, answers, ctx, *, k):
    """GRPO on rewards whose negatives are flipped to 1 with probability ctx.noise_rate."""
    flip = (rewards < 0.5) & (jax.random.uniform(key, rewards.shape) < ctx.noise_rate)
    return tadv.grpo_advantage(jnp.where(flip, 1.0, rewards).astype(rewards.dtype), eps=_EPS)


def entropy_regularized(key, rewards, answers, ctx, *, k):
    """GRPO + entropy_coef * centred surprisal (an unbiased-gradient entropy bonus, see module doc)."""
    h = -jax.lax.stop_gradient(ctx.log_probs)
    return tadv.grpo_advantage(rewards, eps=_EPS) + ctx.entropy_coef * (h - jnp.mean(h, axis=-1, keepdims=True))


ADVANTAGES: dict[str, Callable] = {
    "grpo": grpo,
    "drgrpo": drgrpo,
    "passk_analytic": passk_analytic,
    "passk_bootstrap": passk_bootstrap,
    "passk_full": passk_full,
    "combination": combination,
    "exceed_passk": exceed_passk,
    "adaptive_entropy": adaptive_entropy,
    "ucb": ucb,
    "ucb_mean": ucb_mean,
    "ucb_con": ucb_con,
    "batch": batch,
    "entropy_regularized": entropy_regularized,
    "noisy_reward": noisy_reward,
}

STOCHASTIC = frozenset({"passk_bootstrap", "noisy_reward"})  # entries that use their key


def get_advantage(name: str) -> Callable:
    """The registry entry ``name``; ValueError naming ``advantage`` for an unknown name."""
    if name not in ADVANTAGES:
        raise ValueError(f"advantage: unknown name {name!r}; known: {sorted(ADVANTAGES)}")
    return ADVANTAGES[name]
