"""Outcome-based exploration bonuses (Song, Kempe, Munos 2025, "Outcome-based Exploration for LLM
Reasoning", arXiv:2509.06941).

The bonus depends only on a rollout's *final answer* a (an integer id here), not on its reasoning
trace. Two families:

* historical exploration (UCB): ``b_ucb(x, a) = min(1, 1/sqrt(N(x, a)))`` with N(x, a) the number of
  times answer a was produced for question x during training, plus the baselined variants UCB-Mean
  (subtract the mean bonus of the question's rollouts) and UCB-Con (subtract a constant b0);
* batch exploration: ``b_batch_i = -(1/n) sum_{j != i} 1{a_i = a_j}`` within the n rollouts of a
  question (a collision penalty; its expectation is ``-(n-1)/n * sum_o p_o^2``).

The paper adds ``c * bonus`` to the GRPO objective (reported c = 0.2 for UCB); the functions here
return the raw bonus (units: reward units, since it is added to 0/1 rewards), so the caller applies
the coefficient. Following the project notes, bonuses are zeroed for questions whose rollouts are all
correct: ``zero_if_all_correct``.

Count convention (``N(x, a)``): counts accumulate over the whole training history *including the
current batch*. Call ``update_answer_counts`` with the current batch first, then
``lookup_answer_counts`` to get each rollout's N(x, a) >= 1; an answer seen for the first time then
gets bonus 1. (Under the other convention, counts before the batch, unseen answers have N = 0 and
``ucb_bonus`` returns 1 for them through the min(1, .).)

Shapes: ``counts``/``answers`` are [..., n] with the n rollouts of one question on the last axis.
All functions are pure jax.numpy, jittable and vmappable, and accept NumPy inputs; value checks
(``ValueError`` starting with the argument name) run only on concrete inputs.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from common.checks import as_count_array, as_float_array
from common.checks import is_concrete as _is_concrete

__all__ = [
    "ucb_bonus",
    "ucb_mean_bonus",
    "ucb_con_bonus",
    "batch_bonus",
    "zero_if_all_correct",
    "update_answer_counts",
    "lookup_answer_counts",
]


def _float_dtype():
    return jnp.result_type(float)


def _counts(counts) -> jax.Array:
    if _is_concrete(counts):
        as_count_array(counts, "counts", minimum=0)
    c = jnp.asarray(counts)
    if c.ndim == 0:
        raise ValueError("counts: must have shape [..., n] (one count per rollout on the last axis), got a scalar")
    return c.astype(_float_dtype())


def ucb_bonus(counts) -> jax.Array:
    """Historical-exploration UCB bonus ``b = min(1, 1/sqrt(N(x, a)))`` (Song et al. 2025, "historical exploration").

    Args:
      counts: N(x, a_i) for each rollout's final answer, shape [..., n], non-negative integers
        (see the module docstring for the counting convention; N = 0 gives 1).

    Returns:
      Bonus in (0, 1], same shape (reward units).
    """
    c = _counts(counts)
    pos = c > 0
    return jnp.where(pos, jnp.minimum(1.0, jax.lax.rsqrt(jnp.where(pos, c, 1.0))), 1.0)


def ucb_mean_bonus(counts) -> jax.Array:
    """UCB-Mean: ``b_i - mean_j b_j``, the UCB bonus minus its mean over the question's n rollouts
    (last axis). Rewards answers that are rare relative to the rest of the group, penalises common
    ones; sums to zero over the group (Song et al. 2025, UCB with a batch-mean baseline). Reward units."""
    b = ucb_bonus(counts)
    return b - jnp.mean(b, axis=-1, keepdims=True)


def ucb_con_bonus(counts, *, b0: float = 0.5) -> jax.Array:
    """UCB-Con: ``b_i - b0`` with a constant baseline (Song et al. 2025). Reward units.

    With ``b0 = 0.5`` the bonus is negative exactly for answers seen more than 4 times
    (1/sqrt(N) < 1/2 iff N > 4), zero at N = 4, positive below.
    """
    if _is_concrete(b0) and not math.isfinite(float(b0)):
        raise ValueError(f"b0: must be finite, got {b0!r}")
    return ucb_bonus(counts) - b0


def batch_bonus(answers) -> jax.Array:
    """Batch-exploration bonus ``b_i = -(1/n) sum_{j != i} 1{a_i = a_j}`` (Song et al. 2025, "batch exploration").

    Penalises answers repeated within the n rollouts of a question (last axis). For iid answers
    with probabilities p_o, ``E[b_i] = -(n - 1)/n * sum_o p_o^2`` (a collision probability).

    Args:
      answers: integer answer ids, shape [..., n] (any integer or exactly-integer float values).

    Returns:
      Bonus in [-(n-1)/n, 0], same shape, float (reward units).
    """
    if _is_concrete(answers):
        arr = np.asarray(answers)
        if arr.dtype.kind not in "biu":
            arr = as_float_array(answers, "answers")
            frac = arr != np.round(arr)
            if frac.any():
                raise ValueError(f"answers: must be integer answer ids, got {arr[frac].flat[0]}")
    a = jnp.asarray(answers)
    if a.ndim == 0:
        raise ValueError("answers: must have shape [..., n] (one answer id per rollout on the last axis), got a scalar")
    n = a.shape[-1]
    same = (a[..., :, None] == a[..., None, :]).astype(_float_dtype())
    return -(jnp.sum(same, axis=-1) - 1.0) / n


def zero_if_all_correct(bonus, rewards) -> jax.Array:
    """Zero the exploration bonus of questions whose n rollouts are all correct (project convention
    for the Song et al. 2025 bonuses; keeps solved questions from being pushed away from the answer).

    Args:
      bonus: shape [..., n].
      rewards: binary rewards, same shape (a reward counts as correct iff > 0.5).

    Returns:
      ``bonus`` with the rows (last axis) where every reward is correct set to 0.
    """
    if _is_concrete(bonus):
        as_float_array(bonus, "bonus")
    if _is_concrete(rewards):
        arr = as_float_array(rewards, "rewards")
        bad = (arr != 0) & (arr != 1)
        if bad.any():
            raise ValueError(f"rewards: must be binary (0 or 1), got {arr[bad].flat[0]}")
    b = jnp.asarray(bonus)
    r = jnp.asarray(rewards)
    if b.shape != r.shape:
        raise ValueError(f"rewards: must have the shape of bonus {b.shape}, got {r.shape}")
    all_correct = jnp.all(r > 0.5, axis=-1, keepdims=True)
    return jnp.where(all_correct, jnp.zeros_like(b), b)


def _check_table_indices(counts_table, problem_ids, answers) -> None:
    table = np.asarray(counts_table)
    if table.ndim != 2:
        raise ValueError(f"counts_table: must have shape [num_problems, num_answers], got {table.shape}")
    pid = as_count_array(problem_ids, "problem_ids", minimum=0)
    ans = as_count_array(answers, "answers", minimum=0)
    if pid.size and pid.max() >= table.shape[0]:
        raise ValueError(f"problem_ids: must be < num_problems = {table.shape[0]}, got {pid.max()}")
    if ans.size and ans.max() >= table.shape[1]:
        raise ValueError(f"answers: must be < num_answers = {table.shape[1]}, got {ans.max()}")


def _pid_like(problem_ids, answers):
    pid = jnp.asarray(problem_ids)
    ans = jnp.asarray(answers)
    if ans.shape[:-1] != pid.shape:
        raise ValueError(f"answers: must have shape problem_ids.shape + (n,) = {pid.shape} + (n,), got {ans.shape}")
    return jnp.broadcast_to(pid[..., None], ans.shape), ans


def update_answer_counts(counts_table, problem_ids, answers) -> jax.Array:
    """Add the current batch's answers to the training-history table N(x, a).

    Args:
      counts_table: integer array [num_problems, num_answers], N(x, a) so far.
      problem_ids: integer ids x of the batch's questions, shape [...].
      answers: integer answer ids, shape ``problem_ids.shape + (n,)``. Repeated (x, a) pairs,
        within a row or across rows, are all counted.

    Returns:
      The updated table (pure: a new array). Jittable; ids are range-checked on concrete inputs.
    """
    if _is_concrete(counts_table) and _is_concrete(problem_ids) and _is_concrete(answers):
        _check_table_indices(counts_table, problem_ids, answers)
    table = jnp.asarray(counts_table)
    pid, ans = _pid_like(problem_ids, answers)
    return table.at[pid, ans].add(jnp.ones(ans.shape, table.dtype))


def lookup_answer_counts(counts_table, problem_ids, answers) -> jax.Array:
    """N(x, a_i) for each rollout: ``counts_table[problem_ids[..., None], answers]``, shape of ``answers``.

    Use after ``update_answer_counts`` on the same batch (counts include the current batch).
    """
    if _is_concrete(counts_table) and _is_concrete(problem_ids) and _is_concrete(answers):
        _check_table_indices(counts_table, problem_ids, answers)
    table = jnp.asarray(counts_table)
    pid, ans = _pid_like(problem_ids, answers)
    return table[pid, ans]
