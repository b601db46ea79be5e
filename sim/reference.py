"""Plain NumPy reference of one training step (and a slow NumPy run built from it).

Written independently of the JAX code (no jax, no theory.* calls) from the equations in
``sim.train``'s docstring, so that tests can check ``sim.train.update_from_rollouts`` against it on
identical rollouts, and the benchmark can time a NumPy run. float64 throughout.

Gradient used (pi = softmax(z / T), z = u + v):  d log pi(s | i) / d z[i, s'] = (1{s' = s} - pi[i, s']) / T,
so with L = -(1/(B n)) sum A log pi(s | i):   dL/dv[i] = -(1/(B n)) sum_{rollouts on i} A (e_s - pi[i]) / T,
dL/du = sum_i dL/dv[i].  Adam as optax.scale_by_adam (b1 = 0.9, b2 = 0.999, eps = 1e-8, bias-corrected).

Supported advantages: all 14 of ``theory.advantage_registry.ADVANTAGES``. The two stochastic ones
(passk_bootstrap, noisy_reward) take their random draws as an input (``uniforms``), so a test can hand
the reference the very draws the JAX step made from its key; ``reference_run`` draws them from its own
NumPy stream.
"""

from __future__ import annotations

import dataclasses
from math import comb

import numpy as np

__all__ = ["RefState", "reference_update", "reference_rollouts", "reference_run", "REFERENCE_ADVANTAGES"]

REFERENCE_ADVANTAGES = ("grpo", "drgrpo", "passk_analytic", "passk_bootstrap", "passk_full", "combination", "exceed_passk",
                        "adaptive_entropy", "ucb", "ucb_mean", "ucb_con", "batch", "entropy_regularized", "noisy_reward")
# the stochastic entries take their random draws as an input (``uniforms``), see reference_update
STOCHASTIC_REFERENCE = {"passk_bootstrap": "uniforms [B, N, N]: one uniform per (group, rollout); a group is the k rollouts "
                        "with the smallest draws", "noisy_reward": "uniforms [B, N]: a negative reward flips when its draw < noise_rate"}
_B1, _B2, _ADAM_EPS = 0.9, 0.999, 1e-8


@dataclasses.dataclass
class RefState:
    """u [S], v [P, S]; Adam moments (mu_*, nu_*) and count t; answer table counts [P, m]."""

    u: np.ndarray
    v: np.ndarray
    counts: np.ndarray
    t: int = 0
    mu_u: np.ndarray | None = None
    mu_v: np.ndarray | None = None
    nu_u: np.ndarray | None = None
    nu_v: np.ndarray | None = None

    def __post_init__(self):
        for name in ("mu_u", "nu_u"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros_like(self.u))
        for name in ("mu_v", "nu_v"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros_like(self.v))


def _softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def _grpo(r, eps=1e-6):
    mean = r.mean(axis=1, keepdims=True)
    std = r.std(axis=1, keepdims=True)
    ok = r.max(axis=1, keepdims=True) > r.min(axis=1, keepdims=True)  # std = 0 exactly iff all equal
    safe = np.where(ok, std + eps, 1.0)
    return np.where(ok, (r - mean) / safe, 0.0)


def _passk(r, k):
    """Chen et al. 2025 eqs. 11-15 with exact binomials."""
    N = r.shape[1]
    out = np.zeros_like(r)
    for b in range(r.shape[0]):
        npos = int(r[b].sum())
        nneg = N - npos
        rbar = 1.0 - comb(nneg, k) / comb(N, k)
        sigma = np.sqrt(rbar * (1 - rbar))
        if sigma == 0:
            continue
        a_pos = (1 - rbar) / sigma
        a_neg = (1 - rbar - comb(nneg - 1, k - 1) / comb(N - 1, k - 1)) / sigma if nneg >= 1 else 0.0
        out[b] = np.where(r[b] > 0.5, a_pos, a_neg)
    return out


def _passk_groups(r, member, k):
    """Group rewards = max over members, GRPO-standardised over the groups; per-rollout sums.

    member: bool [B, G, N]. Returns (group advantages [B, G], per-rollout sum of the advantages of the
    groups containing it [B, N])."""
    group_reward = (member & (r[:, None, :] > 0.5)).any(axis=2).astype(np.float64)  # [B, G]
    group_adv = _grpo(group_reward)
    return group_adv, np.einsum("bg,bgn->bn", group_adv, member.astype(np.float64))


def _advantage(name, r, answers, n_xa, logp_s, hyper, k, entropy=None, uniforms=None):
    all_correct = np.all(r > 0.5, axis=1, keepdims=True)
    c = hyper["bonus_coef"]
    B, N = r.shape
    if name in STOCHASTIC_REFERENCE and uniforms is None:
        raise ValueError(f"uniforms: advantage {name!r} needs its random draws ({STOCHASTIC_REFERENCE[name]})")
    if name == "grpo":
        return _grpo(r)
    if name == "drgrpo":
        return r - r.mean(axis=1, keepdims=True)
    if name == "passk_analytic":
        return _passk(r, k)
    if name == "passk_full":
        member = np.zeros((B, N // k, N), bool)
        for g in range(N // k):
            member[:, g, g * k:(g + 1) * k] = True
        return _passk_groups(r, member, k)[1]
    if name == "passk_bootstrap":
        u = np.asarray(uniforms, np.float64).reshape(B, N, N)  # G = N groups
        member = np.zeros((B, N, N), bool)
        for b in range(B):
            for g in range(N):
                member[b, g, np.argsort(u[b, g], kind="stable")[:k]] = True
        return (N / (k * N)) * _passk_groups(r, member, k)[1]
    if name in ("combination", "exceed_passk"):
        n_pos = r.sum(axis=1, keepdims=True)
        if name == "combination":
            rho = n_pos / N
            return rho * _passk(r, k) + (1 - rho) * _grpo(r)
        f = np.where(n_pos >= 1, 0.4 / np.log(np.maximum(n_pos, 1.0) + 0.5), 0.0)
        return f * _passk(r, k)
    if name == "adaptive_entropy":
        order = sorted(range(B), key=lambda b: -entropy[b])  # stable: earlier problems first on ties
        high = np.zeros(B, bool)
        high[order[: B // 2]] = True
        return np.where(high[:, None], _grpo(r), _passk(r, k))
    if name == "noisy_reward":
        u = np.asarray(uniforms, np.float64).reshape(B, N)
        return _grpo(np.where((r < 0.5) & (u < hyper["noise_rate"]), 1.0, r))
    if name in ("ucb", "ucb_mean", "ucb_con"):
        b = np.minimum(1.0, 1.0 / np.sqrt(n_xa))
        if name == "ucb_mean":
            b = b - b.mean(axis=1, keepdims=True)
        if name == "ucb_con":
            b = b - hyper["ucb_b0"]
        return _grpo(r) + c * np.where(all_correct, 0.0, b)
    if name == "batch":
        n = r.shape[1]
        same = (answers[:, :, None] == answers[:, None, :]).sum(axis=2) - 1
        return _grpo(r) + c * np.where(all_correct, 0.0, -same / n)
    if name == "entropy_regularized":
        h = -logp_s
        return _grpo(r) + hyper["entropy_coef"] * (h - h.mean(axis=1, keepdims=True))
    raise NotImplementedError(f"advantage: {name!r} has no NumPy reference (supported: {REFERENCE_ADVANTAGES})")


def apply_update(new: RefState, state: RefState, g_u: np.ndarray, g_v: np.ndarray, hyper: dict, *, optimizer: str = "adam") -> None:
    """Optimizer step 5 of ``sim.train`` in NumPy: Adam (optax ``scale_by_adam`` defaults) or SGD
    turns the gradients into directions d, then u -= lr·sharing·d_u and v -= lr·(1 − sharing)·d_v.

    Fills ``new`` (whose ``t`` is already the new step count) from the moments in ``state``.
    """
    if optimizer == "adam":
        t = new.t
        new.mu_u = _B1 * state.mu_u + (1 - _B1) * g_u
        new.mu_v = _B1 * state.mu_v + (1 - _B1) * g_v
        new.nu_u = _B2 * state.nu_u + (1 - _B2) * g_u**2
        new.nu_v = _B2 * state.nu_v + (1 - _B2) * g_v**2
        d_u = (new.mu_u / (1 - _B1**t)) / (np.sqrt(new.nu_u / (1 - _B2**t)) + _ADAM_EPS)
        d_v = (new.mu_v / (1 - _B1**t)) / (np.sqrt(new.nu_v / (1 - _B2**t)) + _ADAM_EPS)
    elif optimizer == "sgd":
        d_u, d_v = g_u, g_v
    else:
        raise ValueError(f"optimizer: must be 'adam' or 'sgd', got {optimizer!r}")
    lr, sh = float(hyper["learning_rate"]), float(hyper["sharing"])
    new.u = state.u - lr * sh * d_u
    new.v = state.v - lr * (1 - sh) * d_v


def reference_update(state: RefState, problem_ids, strategies, answers, hyper: dict, *, advantage: str = "grpo", k: int = 4,
                     optimizer: str = "adam", uniforms=None):
    """One training step on given rollouts (problem_ids [B], strategies [B, n], answers [B, n]).

    ``hyper``: dict with learning_rate, temperature, sharing, bonus_coef, entropy_coef, ucb_b0 (and
    noise_rate for noisy_reward). ``uniforms``: the random draws of a stochastic advantage
    (``STOCHASTIC_REFERENCE`` says which shape), e.g. ``jax.random.uniform(adv_key, shape)`` to
    reproduce the JAX step.
    Returns (new RefState, advantages [B, n]). Does not modify ``state``.
    """
    pids = np.asarray(problem_ids, dtype=np.int64)
    s_idx = np.asarray(strategies, dtype=np.int64)
    ans = np.asarray(answers, dtype=np.int64)
    T = float(hyper["temperature"])
    B, n = s_idx.shape
    r = (ans == 0).astype(np.float64)

    counts = state.counts.copy()
    np.add.at(counts, (np.repeat(pids, n), ans.ravel()), 1.0)
    n_xa = counts[pids[:, None], ans]

    z = state.u[None, :] + state.v[pids]  # [B, S]
    pi = _softmax(z / T)
    logp_s = np.log(pi[np.arange(B)[:, None], s_idx])
    entropy = -(pi * np.log(np.where(pi > 0, pi, 1.0))).sum(axis=1)  # H(pi(.|i)) at T, nats
    adv = _advantage(advantage, r, ans, n_xa, logp_s, hyper, k, entropy=entropy, uniforms=uniforms)

    onehot = np.zeros((B, n, pi.shape[1]))
    onehot[np.arange(B)[:, None], np.arange(n)[None, :], s_idx] = 1.0
    dz = -(adv[:, :, None] * (onehot - pi[:, None, :])).sum(axis=1) / (T * B * n)  # [B, S]
    g_v = np.zeros_like(state.v)
    np.add.at(g_v, pids, dz)
    g_u = g_v.sum(axis=0)

    new = dataclasses.replace(state, counts=counts, t=state.t + 1)
    apply_update(new, state, g_u, g_v, hyper, optimizer=optimizer)
    return new, adv


def reference_rollouts(rng: np.random.Generator, z, bank_answers, epsilon: float, n_answers: int, temperature: float, n: int, batch_size: int):
    """NumPy version of step 1 (own random stream; strategies by inverse CDF as in
    ``sim.rollouts.sample_strategies``): problem_ids [B], strategies [B, n], answers [B, n]."""
    P, S = z.shape
    pids = rng.choice(P, size=batch_size, replace=False)
    pi = _softmax(z[pids] / temperature)
    cum = np.cumsum(pi, axis=1)
    u = rng.random((batch_size, n, 1)) * cum[:, None, -1:]
    strategies = np.minimum((cum[:, None, :] <= u).sum(axis=2), S - 1)
    answers = bank_answers[pids[:, None], strategies]
    noisy = rng.random((batch_size, n)) < epsilon
    answers = np.where(noisy, rng.integers(1, n_answers, size=(batch_size, n)), answers)
    return pids, strategies, answers


def reference_run(seed: int, u0, v0, bank_answers, epsilon: float, n_answers: int, hyper: dict, *, n_steps: int, batch_size: int, n_rollouts: int,
                  checkpoint_every: int, advantage: str = "grpo", k: int = 4, optimizer: str = "adam"):
    """A whole NumPy run (for the benchmark baseline): returns (answer_probs [C, P, m] at the training
    temperature, final RefState). Same equations as ``sim.train.make_run``, different random stream."""
    rng = np.random.default_rng(seed)
    bank_answers = np.asarray(bank_answers)
    P = bank_answers.shape[0]
    state = RefState(u=np.array(u0, np.float64), v=np.array(v0, np.float64), counts=np.zeros((P, n_answers)))
    onehot = np.eye(n_answers)[bank_answers]  # [P, S, m]
    noise = np.where(np.arange(n_answers) == 0, 0.0, 1.0 / (n_answers - 1))
    T = float(hyper["temperature"])

    def probs(st):
        pi = _softmax((st.u[None, :] + st.v) / T)
        return (1 - epsilon) * np.einsum("ps,psa->pa", pi, onehot) + epsilon * noise

    ckpts = [probs(state)]
    for step in range(1, n_steps + 1):
        z = state.u[None, :] + state.v
        ro = reference_rollouts(rng, z, bank_answers, epsilon, n_answers, T, n_rollouts, batch_size)
        draws = {"passk_bootstrap": (batch_size, n_rollouts, n_rollouts), "noisy_reward": (batch_size, n_rollouts)}.get(advantage)
        uniforms = None if draws is None else rng.random(draws)
        state, _ = reference_update(state, *ro, hyper, advantage=advantage, k=k, optimizer=optimizer, uniforms=uniforms)
        if step % checkpoint_every == 0:
            ckpts.append(probs(state))
    return np.stack(ckpts), state
