"""Group advantages for RLVR: GRPO, Dr. GRPO and Pass@k training (Chen et al. 2025), with their eta curves.

Conventions (shared by every ``*_advantage`` function here)
------------------------------------------------------------
* ``rewards`` has shape ``[..., N]``: the N rollouts of one problem lie on the last axis, any batch
  dimensions in front. The result has the same shape: one advantage per rollout.
* Pass@k functions take binary rewards (0 = wrong, 1 = correct). On concrete inputs (NumPy arrays or
  JAX arrays outside ``jax.jit``) this is checked and a ``ValueError`` starting with ``rewards:`` is
  raised; under ``jit``/``vmap`` the values cannot be inspected and a reward is treated as correct iff
  it is > 0.5.
* Static arguments (``k``, ``eps``, ``n_groups``) are keyword-only Python numbers, so the functions
  can be wrapped with ``functools.partial`` or ``jax.jit(..., static_argnames=("k",))`` and used
  inside ``jax.lax.scan``/``jax.vmap``. Randomness comes from an explicit ``jax.random`` key passed
  first. Shape checks (``k <= N`` ...) only use static shapes and are therefore always performed.
* Computation is in JAX's default float type (float32, or float64 under ``jax.enable_x64(True)``).
* Units: advantages are dimensionless. GRPO-style advantages are in units of the group's reward
  standard deviation; Dr. GRPO advantages are in reward units (here: fraction of a correct answer).

Reference: Z. Chen, X. Qin, Y. Wu, Y. Ling, Q. Ye, W. X. Zhao, G. Shi, "Pass@k Training for Adaptively
Balancing Exploration and Exploitation of Large Reasoning Models", arXiv:2508.10751 (v1), 2025;
equation numbers below refer to that paper.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from common.checks import as_float_array
from common.checks import is_concrete as _is_concrete

__all__ = [
    "grpo_advantage",
    "drgrpo_advantage",
    "passk_analytic_advantage",
    "passk_bootstrap_advantage",
    "passk_full_sampling_advantage",
    "combination_advantage",
    "exceed_passk_advantage",
    "adaptive_entropy_advantage",
    "eta",
    "eta_large_n",
    "eta_large_n_argmax",
]


# ----------------------------------------------------------------------------------------------
# Internal helpers (validation happens only on concrete values; shapes are always static)
# ----------------------------------------------------------------------------------------------


def _float_rewards(rewards, name: str = "rewards", *, binary: bool = False) -> jax.Array:
    """``rewards`` as a JAX float array of shape [..., N], N >= 1, validated if concrete."""
    if _is_concrete(rewards):
        arr = as_float_array(rewards, name)
        if arr.ndim == 0:
            raise ValueError(f"{name}: must have shape [..., N] with the N rollouts on the last axis, got a scalar")
        if arr.shape[-1] < 1:
            raise ValueError(f"{name}: needs at least one rollout on the last axis, got shape {arr.shape}")
        if binary:
            bad = (arr != 0) & (arr != 1)
            if bad.any():
                idx = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ValueError(f"{name}: pass@k rewards must be binary (0 or 1), got {arr[bad].flat[0]} at index {idx}")
    r = jnp.asarray(rewards)
    if r.ndim == 0:
        raise ValueError(f"{name}: must have shape [..., N] with the N rollouts on the last axis, got a scalar")
    if r.shape[-1] < 1:
        raise ValueError(f"{name}: needs at least one rollout on the last axis, got shape {r.shape}")
    if not jnp.issubdtype(r.dtype, jnp.floating):
        r = r.astype(jnp.result_type(float))
    return r


def _check_int(value, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name}: must be a Python int (a static argument), got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")
    return int(value)


def _check_k(k, n: int) -> int:
    k = _check_int(k, "k")
    if k > n:
        raise ValueError(f"k: must be <= N (rollouts per problem, rewards.shape[-1]), got k={k} > N={n}")
    return k


def _check_eps(eps) -> None:
    if _is_concrete(eps):
        e = float(eps)
        if not math.isfinite(e) or e < 0:
            raise ValueError(f"eps: must be finite and >= 0, got {eps!r}")


def _standardize(x: jax.Array, eps) -> jax.Array:
    """(x - mean) / (std + eps) along the last axis, population std; 0 where the std is 0.

    "std is 0" is decided exactly, as "all values of the group are equal" (max == min): a computed std
    of equal values can be ~1e-16 instead of 0 (the mean rounds), which would turn a tie into ±1."""
    mean = jnp.mean(x, axis=-1, keepdims=True)
    std = jnp.std(x, axis=-1, keepdims=True)
    ok = jnp.max(x, axis=-1, keepdims=True) > jnp.min(x, axis=-1, keepdims=True)
    return jnp.where(ok, (x - mean) / jnp.where(ok, std + eps, 1.0), jnp.zeros_like(x))


def _prod_one_minus(n_pos: jax.Array, denominators: jax.Array, active: jax.Array):
    """prod over active j of (1 - n_pos / d_j), every factor clipped at 0, and 1 minus that product.

    Inactive factors are 1. Returns ``(prod, one_minus_prod)`` computed as exp / -expm1 of a sum of
    ``log1p`` terms, so both stay accurate when the product is near 0 or near 1 (no cancellation in
    1 - prod); a zero factor gives log 0 = -inf, i.e. prod = 0 exactly.
    """
    frac = jnp.where(active, jnp.minimum(n_pos[..., None] / denominators, 1.0), 0.0)
    log_prod = jnp.sum(jnp.log1p(-frac), axis=-1)
    return jnp.exp(log_prod), -jnp.expm1(log_prod)


# ----------------------------------------------------------------------------------------------
# Jitted cores (the public wrappers validate concrete inputs, then call these; nesting inside a
# caller's jit/vmap/scan is fine and compiles into the caller's program)
# ----------------------------------------------------------------------------------------------


@jax.jit
def _standardize_jit(x, eps):
    return _standardize(x, eps)


@jax.jit
def _center_jit(r):
    return r - jnp.mean(r, axis=-1, keepdims=True)


def _passk_analytic_core(r, k):
    correct = r > 0.5
    n_pos = jnp.sum(correct, axis=-1).astype(r.dtype)
    a_pos, a_neg = _passk_pos_neg(n_pos, r.shape[-1], k)
    return jnp.where(correct, a_pos[..., None], a_neg[..., None])


# k is passed to the cores as a traced integer (the factors i >= k are masked to 1), so one
# compilation serves every k for a given shape; public signatures keep k a static Python int.
_passk_analytic_jit = jax.jit(_passk_analytic_core)


@functools.partial(jax.jit, static_argnums=(4,))
def _passk_bootstrap_jit(key, r, eps, k, g):
    n = r.shape[-1]
    u = jax.random.uniform(key, r.shape[:-1] + (g, n))
    rank = jnp.argsort(jnp.argsort(u, axis=-1), axis=-1)  # a uniform random permutation per group
    member = (rank < k).astype(r.dtype)  # [..., G, N]: the k first positions, a uniform k-subset
    correct = (r > 0.5).astype(r.dtype)
    group_reward = jnp.max(member * correct[..., None, :], axis=-1)  # [..., G]
    group_adv = _standardize(group_reward, eps)
    return (n / (k * g)) * jnp.einsum("...g,...gn->...n", group_adv, member)


@functools.partial(jax.jit, static_argnums=(2,))
def _passk_full_jit(r, eps, k):
    n = r.shape[-1]
    correct = (r > 0.5).astype(r.dtype)
    group_reward = jnp.max(correct.reshape(r.shape[:-1] + (n // k, k)), axis=-1)
    return jnp.repeat(_standardize(group_reward, eps), k, axis=-1)


@jax.jit
def _combination_jit(r, eps, k):
    rho = jnp.mean((r > 0.5).astype(r.dtype), axis=-1, keepdims=True)
    return rho * _passk_analytic_core(r, k) + (1.0 - rho) * _standardize(r, eps)


@jax.jit
def _exceed_jit(r, scale, k):
    n_pos = jnp.sum((r > 0.5).astype(r.dtype), axis=-1, keepdims=True)
    f = jnp.where(n_pos >= 1, scale / jnp.log(jnp.maximum(n_pos, 1.0) + 0.5), 0.0)
    return f * _passk_analytic_core(r, k)


@jax.jit
def _adaptive_jit(r, ent, eps, k):
    batch = r.shape[:-1]
    b = int(np.prod(batch, dtype=np.int64))
    flat = ent.reshape((b,)).astype(r.dtype)
    order = jnp.argsort(-flat, stable=True)
    rank = jnp.zeros((b,), jnp.int32).at[order].set(jnp.arange(b, dtype=jnp.int32))
    high = (rank < b // 2).reshape(batch)
    return jnp.where(high[..., None], _standardize(r, eps), _passk_analytic_core(r, k))


# ----------------------------------------------------------------------------------------------
# Pass@1 baselines
# ----------------------------------------------------------------------------------------------


def grpo_advantage(rewards, *, eps: float = 1e-6) -> jax.Array:
    """GRPO (Pass@1) group advantage (Shao et al. 2024; Chen et al. 2025 eqs. 1-3).

    ``A_i = (R_i - mean(R)) / (std(R) + eps)`` over the N rollouts on the last axis, with the
    population standard deviation (ddof = 0, as in Chen et al. eq. 2). Groups with zero standard
    deviation (all rewards equal) get advantage 0 exactly, so ``eps = 0`` is allowed and gives the
    textbook formula (used for exact eta curves). Units: standard deviations of the group reward.

    For binary rewards with rollout accuracy rho, ``|A_pos| = sqrt((1 - rho)/rho)`` and
    ``|A_neg| = sqrt(rho/(1 - rho))`` (eps = 0), hence ``eta = 2 N sqrt(rho (1 - rho))``.
    """
    _check_eps(eps)
    return _standardize_jit(_float_rewards(rewards), eps)


def drgrpo_advantage(rewards) -> jax.Array:
    """Dr. GRPO advantage ``A_i = R_i - mean(R)`` (Liu et al. 2025, "Understanding R1-Zero-Like
    Training": GRPO without the std normalisation). Units: reward units. Sums to zero over the group."""
    return _center_jit(_float_rewards(rewards))


# ----------------------------------------------------------------------------------------------
# Pass@k training (Chen et al. 2025)
# ----------------------------------------------------------------------------------------------


def _passk_pos_neg(n_pos: jax.Array, n: int, k):
    """Analytic (A_pos, A_neg) of eqs. 11-15 for counts ``n_pos`` (float array) out of ``n``.

    ``n`` is static; ``k`` (1 <= k <= n) may be a Python int or a traced integer.
    """
    dtype = n_pos.dtype
    i = jnp.arange(n, dtype=dtype)
    # C(N_neg, k) / C(N, k) = prod_{i<k} (N - N_pos - i)/(N - i) = prod_{i<k} (1 - N_pos/(N - i)).
    miss, r_bar = _prod_one_minus(n_pos, n - i, i < k)  # miss = 1 - R_bar (eq. 11)
    # C(N_neg - 1, k - 1) / C(N - 1, k - 1) = prod_{i<k-1} (1 - N_pos/(N - 1 - i)).
    j = jnp.arange(max(n - 1, 0), dtype=dtype)
    p_neg_group, _ = _prod_one_minus(n_pos, n - 1 - j, j < k - 1)
    sigma = jnp.sqrt(r_bar * miss)  # eq. 12
    ok = sigma > 0
    safe = jnp.where(ok, sigma, 1.0)
    a_pos = jnp.where(ok, miss / safe, 0.0)  # eq. 14
    a_neg = jnp.where(ok, (miss - p_neg_group) / safe, 0.0)  # eq. 15
    return a_pos, a_neg


def passk_analytic_advantage(rewards, *, k: int) -> jax.Array:
    """Pass@k training advantage by analytical derivation (Chen et al. 2025, Sec. 2.4, eqs. 11-15).

    With N rollouts of which N_neg are wrong, over all C(N, k) groups of k rollouts (group reward =
    max of its members' rewards):

    * eq. 11: ``R_bar = 1 - C(N_neg, k) / C(N, k)`` (mean group reward, the unbiased pass@k),
    * eq. 12: ``sigma = sqrt(R_bar (1 - R_bar))`` (population std of the group rewards),
    * eq. 14: ``A_pos = (1 - R_bar) / sigma`` for a correct rollout,
    * eq. 15: ``A_neg = (1 - R_bar - C(N_neg - 1, k - 1) / C(N - 1, k - 1)) / sigma`` for a wrong one.

    This equals, for each rollout, the *average* of the GRPO-normalised group advantages
    ``(R_g - R_bar)/sigma`` over the C(N-1, k-1) groups that contain it (the paper's Sec. 2.4
    derivation; the sum instead of the average would be C(N-1, k-1) times larger). All advantages are
    0 when sigma = 0, i.e. when every group passes (N_neg < k) or none does (N_pos = 0). The binomial
    ratios are evaluated as products of k (resp. k - 1) factors ``1 - N_pos/(N - i)`` in log space
    (log1p/expm1, so neither R_bar nor 1 - R_bar suffers cancellation), which is jittable, stable for
    large N, and O(N) work per problem. Units: group-reward standard
    deviations; the advantages of a group sum to zero.

    Args:
      rewards: binary rewards, shape [..., N].
      k: group size of the pass@k reward, 1 <= k <= N (static). ``k = 1`` reproduces GRPO (eps = 0).
    """
    r = _float_rewards(rewards, binary=True)
    k = _check_k(k, r.shape[-1])
    return _passk_analytic_jit(r, k)


def passk_bootstrap_advantage(key, rewards, *, k: int, n_groups: int | None = None, eps: float = 1e-6) -> jax.Array:
    """Pass@k training advantage with bootstrap-sampled groups (Chen et al. 2025, Sec. 2.3, eq. 6).

    For each problem, ``n_groups`` groups are drawn independently; each group is k *distinct*
    rollouts chosen uniformly at random from the N (the paper: "select k distinct values from the
    range 1 to N_rollout", repeated N_group times; groups may overlap). A group's reward is the max
    of its members' rewards, and group advantages are GRPO-normalised over the ``n_groups`` sampled
    groups of that problem (population std, ``(R_g - mean)/(std + eps)``, 0 if all groups tie).

    A rollout's advantage is eq. 6: the sum of the advantages of the groups containing it, times a
    constant. The constant in eq. 6 did not survive text extraction of the paper; we use
    ``N / (k * n_groups)`` (= 1/k for the paper's default ``n_groups = N``), the reciprocal of the
    expected number of groups containing a rollout. With this choice the bootstrap advantage
    converges to the analytic one (``passk_analytic_advantage``, the paper's "theoretical
    asymptotic form") as ``n_groups`` grows; a rollout that lands in no group gets 0. Units: as
    ``passk_analytic_advantage``.

    Args:
      key: ``jax.random`` key; batch problems get independent groups.
      rewards: binary rewards, shape [..., N].
      k: group size, 1 <= k <= N (static).
      n_groups: number of bootstrap groups per problem (static), default N.
      eps: added to the group std.
    """
    _check_eps(eps)
    r = _float_rewards(rewards, binary=True)
    n = r.shape[-1]
    k = _check_k(k, n)
    g = n if n_groups is None else _check_int(n_groups, "n_groups")
    return _passk_bootstrap_jit(key, r, eps, k, g)


def passk_full_sampling_advantage(rewards, *, k: int, eps: float = 1e-6) -> jax.Array:
    """Pass@k training advantage with full sampling (Chen et al. 2025, Sec. 2.2).

    The N rollouts are split into N/k disjoint groups of consecutive rollouts, group j holding
    rollouts ``j*k, ..., j*k + k - 1`` (the paper's indexing); the group reward is the max of its
    members' rewards; group advantages are GRPO-normalised over the N/k groups of the problem
    (population std, ``(R_g - mean)/(std + eps)``, 0 if all groups tie) and every member of a group
    receives its group's advantage. The paper discards the ``N mod k`` leftover rollouts; here N must
    be divisible by k. Note the result depends on the order of the rollouts (rollouts are
    exchangeable, so shuffle them first if the order carries information). Units: group-reward
    standard deviations.

    Args:
      rewards: binary rewards, shape [..., N] with N divisible by k.
      k: group size (static).
      eps: added to the group std.
    """
    _check_eps(eps)
    r = _float_rewards(rewards, binary=True)
    n = r.shape[-1]
    k = _check_k(k, n)
    if n % k:
        raise ValueError(f"k: full sampling needs N divisible by k (N = rewards.shape[-1] = {n}, k = {k})")
    return _passk_full_jit(r, eps, k)


def combination_advantage(rewards, *, k: int, eps: float = 1e-6) -> jax.Array:
    """Combination of Pass@1 and Pass@k training (Chen et al. 2025, Sec. 4.2.2, eq. 18).

    ``A = (N_pos/N) * A_pass@k + (1 - N_pos/N) * A_pass@1`` with ``A_pass@k`` from
    ``passk_analytic_advantage`` and ``A_pass@1`` from ``grpo_advantage(eps=eps)``. The weight
    rho = N_pos/N is the group's rollout accuracy: hard problems (low rho) are driven mostly by the
    Pass@1 advantage, easy ones mostly by the Pass@k advantage (which vanishes once N_neg < k).
    Units: group-reward standard deviations.
    """
    _check_eps(eps)
    r = _float_rewards(rewards, binary=True)
    k = _check_k(k, r.shape[-1])
    return _combination_jit(r, eps, k)


def exceed_passk_advantage(rewards, *, k: int, scale: float = 0.4) -> jax.Array:
    """"Exceeding Pass@k" training advantage (Chen et al. 2025, Sec. 4.2.1, eq. 17).

    ``A' = f(N_pos) * A_pass@k`` with ``f(N_pos) = scale / ln(N_pos + 0.5)`` for N_pos >= 1 (and
    f(0) = 0; the Pass@k advantages are all 0 there anyway). The factor decreases like
    1/log(N_pos + 0.5), which moves the peak of eta(N_pos) from N_pos ~ N/4 (k = 4) or N/8 (k = 8) to
    N_pos = 1, i.e. correctness 1/32 at N = 32, as the paper reports. The paper's constant did not
    survive text extraction (it reads like ``4 / (10 log(N_pos + 0.5))``); we use the natural log and
    ``scale = 0.4`` so that f(1) ~ 0.99. The constant (and the base of the log) only rescales all
    advantages and does not move the eta peak. Units: as ``passk_analytic_advantage`` times f.
    """
    if _is_concrete(scale) and not math.isfinite(float(scale)):
        raise ValueError(f"scale: must be finite, got {scale!r}")
    r = _float_rewards(rewards, binary=True)
    k = _check_k(k, r.shape[-1])
    return _exceed_jit(r, scale, k)


def adaptive_entropy_advantage(rewards, entropy, *, k: int, eps: float = 1e-6) -> jax.Array:
    """Adaptive Pass@1/Pass@k training guided by policy entropy (Chen et al. 2025, Sec. 4.2.3).

    Problems are ranked by the average entropy of their sampled responses. The top 50% (highest
    entropy, "high-exploration" problems) get the Pass@1 advantage (``grpo_advantage``, to exploit
    what was explored); the rest get the Pass@k advantage (``passk_analytic_advantage``, to push
    exploration). The ranking runs over *all* batch dimensions of ``rewards`` jointly (flattened);
    with B problems the floor(B/2) highest-entropy ones are "high" (so a single problem gets Pass@k);
    ties are broken by position (earlier problems rank higher). Units: group-reward standard
    deviations.

    Args:
      rewards: binary rewards, shape [..., N].
      entropy: per-problem mean response entropy, shape ``rewards.shape[:-1]``, or per-rollout
        entropies of shape ``rewards.shape`` (averaged over the last axis). Any consistent unit
        (nats/token, say).
      k: Pass@k group size (static).
      eps: GRPO eps.
    """
    r = _float_rewards(rewards, binary=True)
    if _is_concrete(entropy):
        as_float_array(entropy, "entropy")
    ent = jnp.asarray(entropy)
    if ent.shape == r.shape:
        ent = jnp.mean(ent, axis=-1)
    elif ent.shape != r.shape[:-1]:
        raise ValueError(
            f"entropy: must have shape rewards.shape[:-1] = {r.shape[:-1]} (per problem) or rewards.shape = {r.shape} "
            f"(per rollout), got {ent.shape}"
        )
    _check_eps(eps)
    k = _check_k(k, r.shape[-1])
    return _adaptive_jit(r, ent, eps, k)


# ----------------------------------------------------------------------------------------------
# eta: sum of absolute advantages (Chen et al. 2025, Sec. 4.1.1, eq. 16)
# ----------------------------------------------------------------------------------------------


def _first_param_is_key(fn) -> bool:
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] == "key"


def eta(advantage_fn: Callable, N: int, *, key=None, n_draws: int = 256, **kwargs) -> jax.Array:
    """Sum of absolute advantages ``eta(N_pos) = sum_i |A_i|`` (Chen et al. 2025, eq. 16).

    Evaluated for the reward vector with N_pos ones followed by N - N_pos zeros, for every
    N_pos = 0..N: the [N+1, N] matrix of these vectors is built once and ``advantage_fn`` is called
    once on it (so ``advantage_fn`` must follow the ``rewards[..., N] -> advantages[..., N]``
    convention; bind extra arguments through ``**kwargs`` or a lambda). For permutation-equivariant
    advantages (GRPO, analytic Pass@k and its variants) this is exact and equals
    ``N_pos |A_pos| + N_neg |A_neg|``; order-dependent ones (full sampling) are evaluated at this
    "ones first" arrangement.

    Stochastic advantages take a key first, ``advantage_fn(key, rewards, **kwargs)``; pass
    ``key=`` and eta is the average over ``n_draws`` independent draws of ``sum_i |A_i|`` (i.e. the
    expected optimisation strength, not |E[A]|). A function whose first parameter is named ``key``
    without ``key=`` given raises ``ValueError``.

    Returns:
      Array of shape [N + 1], entry m = eta at N_pos = m (units of the advantage times rollouts).
    """
    n = _check_int(N, "N")
    if key is None and _first_param_is_key(advantage_fn):
        raise ValueError("key: advantage_fn takes a random key first; pass key= (and optionally n_draws=)")
    dtype = jnp.result_type(float)
    rewards = (jnp.arange(n)[None, :] < jnp.arange(n + 1)[:, None]).astype(dtype)
    if key is None:
        adv = advantage_fn(rewards, **kwargs)
        return jnp.sum(jnp.abs(adv), axis=-1)
    draws = _check_int(n_draws, "n_draws")
    keys = jax.random.split(key, draws)
    adv = jax.vmap(lambda kk: advantage_fn(kk, rewards, **kwargs))(keys)
    return jnp.mean(jnp.sum(jnp.abs(adv), axis=-1), axis=0)


def eta_large_n(rho, *, k: int) -> jax.Array:
    """Large-N limit of eta/N for analytic Pass@k advantages: ``2 rho sqrt(q^k / (1 - q^k))``, q = 1 - rho.

    Derivation: as N -> inf at fixed rho = N_pos/N, R_bar -> 1 - q^k, C(N_neg-1, k-1)/C(N-1, k-1)
    -> q^(k-1), so |A_pos| -> sqrt(q^k/(1 - q^k)) and the negatives contribute the same total as the
    positives. ``k = 1`` gives the GRPO curve ``2 sqrt(rho (1 - rho))``. Defined as 0 at rho = 0 and
    rho = 1 (the limits). Units: advantage per rollout.

    Args:
      rho: rollout accuracy in [0, 1], any shape.
      k: Pass@k group size >= 1 (static).
    """
    k = _check_int(k, "k")
    if _is_concrete(rho):
        arr = as_float_array(rho, "rho")
        bad = (arr < 0) | (arr > 1)
        if bad.any():
            raise ValueError(f"rho: must lie in [0, 1], got {arr[bad].flat[0]}")
    p = jnp.asarray(rho)
    if not jnp.issubdtype(p.dtype, jnp.floating):
        p = p.astype(jnp.result_type(float))
    return _eta_large_n_jit(p, k)


@jax.jit
def _eta_large_n_jit(p, k):
    log_qk = k * jnp.log1p(-p)
    qk = jnp.exp(log_qk)
    one_minus_qk = -jnp.expm1(log_qk)
    ok = (one_minus_qk > 0) & (qk > 0)
    return jnp.where(ok, 2.0 * p * jnp.sqrt(qk / jnp.where(ok, one_minus_qk, 1.0)), 0.0)


def eta_large_n_argmax(k: int) -> float:
    """The rollout accuracy rho* in (0, 1) maximising ``eta_large_n(rho, k=k)`` (float64, NumPy/SciPy).

    Found as the root of the derivative of ``log eta`` (Brent's method, tolerance ~1e-15):
    ``1/rho - k/(2 q) - (k/2) q^(k-1) / (1 - q^k) = 0``, q = 1 - rho; the left side decreases from
    +inf at rho -> 0 to -inf at rho -> 1, so the root is unique. k = 1 gives 1/2. Not jittable.
    """
    k = _check_int(k, "k")

    def dlog(p: float) -> float:
        lq = math.log1p(-p)
        return 1.0 / p - k / (2.0 * (1.0 - p)) - 0.5 * k * math.exp((k - 1) * lq) / (-math.expm1(k * lq))

    return float(brentq(dlog, 1e-12, 1.0 - 1e-12, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))
