"""Calibrating the strategy bandit to a measured base model: bank and policy from per-problem strategy counts.

A real base model's samples, classified by the strategy their written steps show (e.g. the lab task's
``real.lab.task.classify_completion``), give per problem i the counts c[i, s] of samples that followed
strategy s, and the answer each strategy reaches on i, ``answers[i, s]`` (0 = correct, as in ``sim.bank``).
This module turns them into the simulator's objects:

- the bank: ``Bank(answers, cluster = 0, strong = True, epsilon = 0)`` — every deviation the samples show
  is a strategy of its own, so no per-rollout noise is added;
- the base policy: shared logits u = 0 and per-problem logits
      v[i, s] = log((c[i, s] + a) / (n_i + a S_i))                        (additive smoothing, Lidstone 1920)
  over the strategies available on problem i (``available[i, s]``; S_i of them), and v = ``MASKED``
  (probability ~e^-30) where a strategy is not available: its probability and its gradient are then 0,
  so a strategy that does not exist on a problem is neither sampled nor taught there.

At temperature 1 the calibrated policy's strategy distribution on problem i is the smoothed empirical
one, so the exact answer distribution ``sim.metrics.answer_probs`` reproduces the measured one up to the
smoothing. Units: logits in nats; counts are sample counts.

The dynamics knobs that have no real counterpart (Adam learning rate on the logits, and per strategy the
share of its learning that goes through the shared logits u) are fitted by :func:`fit_dynamics` to observed
trajectories of pilot runs: a grid search minimising the mean absolute error of per-group (e.g. per trap
class) pass@1 and strategy-0 share over checkpoints, with the held-out problems evaluated at u + v_test.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from sim.bank import Bank
from sim.policy import Policy

__all__ = ["MASKED", "DynamicsCase", "calibrated_bank", "calibrated_policy", "fit_dynamics", "simulate_case"]

MASKED = -30.0  # logit of a strategy that does not exist on a problem (probability ~1e-13 relative)


def calibrated_bank(answers, n_answers: int) -> Bank:
    """A bank with the given answers int [P, S] (0 = correct, values in [0, n_answers)), one cluster, no noise."""
    a = np.asarray(answers)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"answers: must be an integer array [P, S], got shape {a.shape} dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= n_answers):
        raise ValueError(f"answers: values must lie in [0, n_answers = {n_answers}), got [{a.min()}, {a.max()}]")
    P, S = a.shape
    return Bank(answers=jnp.asarray(a, jnp.int32), cluster=jnp.zeros(P, jnp.int32), strong=jnp.ones((S, 1), bool),
                epsilon=jnp.asarray(0.0, jnp.result_type(float)), n_answers=int(n_answers))


def calibrated_policy(counts, available=None, smoothing: float = 0.5) -> Policy:
    """Base policy whose strategy distribution per problem is the smoothed empirical one (module docstring).

    counts: [P, S] sample counts per strategy; available: bool [P, S] (default: all); smoothing a > 0 (pseudo-count)."""
    c = np.asarray(counts, np.float64)
    if c.ndim != 2 or (c < 0).any():
        raise ValueError(f"counts: must be a non-negative array [P, S], got shape {c.shape}")
    av = np.ones_like(c, bool) if available is None else np.asarray(available, bool)
    if av.shape != c.shape:
        raise ValueError(f"available: must have the shape of counts {c.shape}, got {av.shape}")
    if not av.any(axis=1).all():
        raise ValueError(f"available: problem {int(np.flatnonzero(~av.any(axis=1))[0])} has no available strategy")
    if ((c > 0) & ~av).any():
        i, s = np.argwhere((c > 0) & ~av)[0]
        raise ValueError(f"counts: problem {i} has samples of strategy {s}, which is not available there")
    if not smoothing > 0:
        raise ValueError(f"smoothing: must be > 0, got {smoothing!r}")
    num = np.where(av, c + smoothing, 1.0)
    den = c.sum(1, keepdims=True) + smoothing * av.sum(1, keepdims=True)
    v = np.where(av, np.log(num / den), MASKED)
    f = jnp.result_type(float)
    return Policy(u=jnp.zeros(c.shape[1], f), v=jnp.asarray(v, f))


class DynamicsCase(NamedTuple):
    """One observed run for :func:`fit_dynamics`: the calibrated training bank and policy (pool problems), the
    calibrated test bank and per-problem test logits ``test_v`` [P, S], ``groups`` int [P] (a label per test
    problem, e.g. its trap class), the run's ``config`` (``sim.train.TrainConfig``: batch, rollouts, steps,
    checkpoints) and the observed per-checkpoint, per-group means ``observed_pass`` and ``observed_share``
    [C, G] (pass@1 and the share of strategy 0)."""

    bank: object
    policy: Policy
    test_bank: Bank
    test_v: object
    groups: np.ndarray
    config: object
    observed_pass: np.ndarray
    observed_share: np.ndarray


def simulate_case(case: DynamicsCase, learning_rate: float, sharing, seed: int = 0, _cache: dict | None = None) -> tuple:
    """Simulated per-checkpoint, per-group (pass@1, strategy-0 share) [C, G] each of ``case`` under GRPO with
    Adam at ``learning_rate`` and per-strategy ``sharing`` [S] (``sim.train``; exact laws on the test problems,
    ``sim.metrics.answer_probs`` at temperature 1)."""
    from sim.metrics import answer_probs
    from sim.train import make_run

    cfg = case.config
    v = jnp.asarray(case.test_v)
    cache = {} if _cache is None else _cache
    key = (cfg, id(case.test_bank), id(case.test_v))  # the compiled run closes over this case's test data
    if key not in cache:
        def evaluate(policy, hyper):
            z = policy.u[None, :] + v
            return {"p": answer_probs(z, case.test_bank, 1.0)[:, 0], "share": jax.nn.softmax(z, -1)[:, 0]}

        cache[key] = jax.jit(make_run(cfg, evaluate=evaluate))
    h = cfg.hyper()
    dt = h.sharing.dtype
    h = h._replace(learning_rate=jnp.asarray(learning_rate, dt), sharing=jnp.asarray(sharing, dt))
    ev = cache[key](jax.random.PRNGKey(seed), case.bank, case.policy, h).evaluations
    g = np.asarray(case.groups)
    labels = np.unique(g)
    p, sh = np.asarray(ev["p"], np.float64), np.asarray(ev["share"], np.float64)
    return (np.stack([p[:, g == k].mean(1) for k in labels], 1), np.stack([sh[:, g == k].mean(1) for k in labels], 1))


def fit_dynamics(cases, learning_rates, sharings) -> list[dict]:
    """Grid search of the simulator's dynamics knobs against observed runs (module docstring).

    ``cases``: :class:`DynamicsCase` s; ``learning_rates``: Adam step sizes (logit units per step);
    ``sharings``: per-strategy sharing vectors [S] in [0, 1]. Returns one row per grid point, best first:
    ``{"learning_rate", "sharing", "error", "per_case"}`` with error = mean over cases of the mean absolute
    difference (over checkpoints and groups) of pass@1 and of the strategy-0 share, averaged."""
    cases = list(cases)
    if not cases:
        raise ValueError("cases: need at least one observed run")
    for i, c in enumerate(cases):
        C = c.config.n_steps // c.config.checkpoint_every + 1
        G = len(np.unique(np.asarray(c.groups)))
        for f in ("observed_pass", "observed_share"):
            if np.shape(getattr(c, f)) != (C, G):
                raise ValueError(f"cases[{i}].{f}: must have shape [checkpoints, groups] = {(C, G)}, got {np.shape(getattr(c, f))}")
    cache: dict = {}
    rows = []
    for lr, sh in itertools.product(learning_rates, sharings):
        errs = []
        for c in cases:
            p, s = simulate_case(c, lr, sh, _cache=cache)
            errs.append(0.5 * (np.abs(p - c.observed_pass).mean() + np.abs(s - c.observed_share).mean()))
        rows.append({"learning_rate": float(lr), "sharing": [float(x) for x in np.asarray(sh)], "error": float(np.mean(errs)),
                     "per_case": [float(e) for e in errs]})
    return sorted(rows, key=lambda r: r["error"])
