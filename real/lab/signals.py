"""Training signals of one RL step: what the RLVR papers diagnose with, computed from the step's rollouts.

One row per step (``step_signals``), written to ``signals.parquet`` (``write_signals``; one column per
signal, ``step`` first). Token-level signals need the sampler's per-token statistics
(``real.lab.samplers.jax.JaxSampler(token_stats=True)``):

- ``token_entropy``: mean entropy (nats) of the raw next-token distribution over all rollout tokens;
  ``token_entropy_correct`` / ``token_entropy_wrong``: the same over the tokens of correct / wrong
  responses (Deng et al. 2025: entropy falls fastest in the rising stage, mostly on negative samples);
  NaN where a batch has no such response;
- ``branching_factor``: mean size of the top-p = 0.95 candidate set over all rollout tokens (Deng et al.);
- ``length_mean`` / ``length_p95`` (tokens, through <eos>), the same for correct and wrong responses, and
  ``truncation_rate``: the share of responses that hit ``max_tokens`` before <eos>;
- ``groups_with_j_correct`` for j = 0..n: the batch pass-rate histogram (share of groups with j of n
  rollouts correct); ``groups_all_correct`` / ``groups_all_wrong``: groups whose rewards are all equal
  (zero GRPO advantage, no gradient);
- ``adv_mean``, ``adv_std``, ``eta`` (mean over groups of sum |A|, Chen et al. 2025's η) and
  ``adv_share_positive`` (share of rollouts with A > 0);
- from the update (``real.lab.rl``): ``loss``, ``grad_norm`` (global norm before clipping),
  ``clip_fraction`` (share of completion tokens clipped in the update passes; 0 with one epoch, where
  the ratio is 1 at the gradient), ``ratio_outside_clip_after`` (share of tokens whose ratio of the
  updated to the rollout policy lies outside [1 - eps, 1 + eps]), ``kl_rollout`` and ``kl_base``: the k3
  estimator (Schulman 2020) E[(r - 1) - log r], r = pi_ref / pi_new, on the rollout tokens, of
  KL(pi_new || pi_ref) for the rollout policy and the base model as reference (these three on
  ``real.lab.rl.SHIFT_ROWS`` = 32 evenly spaced rollout sequences of the batch, not all of them: a
  forward pass over the whole batch for each would cost more than the signals' 10% budget);
- ``distinct_answers``: mean number of distinct final answers per group (no answer counts as one);
  ``wrong_answer_collision``: mean over groups with at least two wrong answers of the probability that two
  of them, drawn without replacement, are the same answer (Song et al. 2025's concentration of errors);
- the method's own numbers, one column each (``real.lab.rl.method_advantages``): for ``rlpr``
  ``rlpr_reward`` (the reward trained on), ``rlpr_raw_reward`` (before debiasing), ``rlpr_no_reasoning``
  (r'), ``rlpr_reward_correct`` / ``rlpr_reward_wrong`` (split by the verifier, which RLPR itself never
  uses), ``rlpr_kept_groups`` (share the std filter keeps) and ``rlpr_ema_std`` (its EMA).

``reward`` is always the verifier's pass rate of the batch, whatever the method trains on.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np


def _mean(x) -> float:
    x = np.asarray(x, float)
    return float(x.mean()) if x.size else float("nan")


def _p95(x) -> float:
    x = np.asarray(x, float)
    return float(np.percentile(x, 95)) if x.size else float("nan")


def step_signals(completions: list, rewards: np.ndarray, answers: list, adv: np.ndarray, update: dict) -> dict:
    """Signals of one step (module docstring). ``completions`` [B][n] (with per-token ``entropies`` and
    ``branching`` for the token signals; NaN without), ``rewards`` / ``adv`` [B, n], ``answers`` [B][n]
    final answers (None = no answer), ``update`` the trainer's numbers (loss, grad_norm, clip_fraction,
    ratio_outside_clip_after, kl_rollout, kl_base)."""
    rewards = np.asarray(rewards, float)
    adv = np.asarray(adv, float)
    B, n = rewards.shape
    flat = [(c, rewards[i, j] > 0) for i, row in enumerate(completions) for j, c in enumerate(row)]
    has_stats = all(c.entropies is not None for c, _ in flat)
    out = {"reward": float(rewards.mean())}
    if has_stats:
        ent = {k: [e for c, ok in flat if k is None or ok == k for e in c.entropies] for k in (None, True, False)}
        out["token_entropy"], out["token_entropy_correct"], out["token_entropy_wrong"] = (_mean(ent[k]) for k in (None, True, False))
        out["branching_factor"] = _mean([b for c, _ in flat for b in c.branching])
    else:
        out.update(dict.fromkeys(("token_entropy", "token_entropy_correct", "token_entropy_wrong", "branching_factor"), float("nan")))
    lengths = {k: [len(c.token_ids) for c, ok in flat if k is None or ok == k] for k in (None, True, False)}
    for k, suffix in ((None, ""), (True, "_correct"), (False, "_wrong")):
        out[f"length_mean{suffix}"] = _mean(lengths[k])
        out[f"length_p95{suffix}"] = _p95(lengths[k])
    out["truncation_rate"] = _mean([not c.finished for c, _ in flat])
    n_pos = (rewards > 0).sum(axis=1)
    for j in range(n + 1):
        out[f"groups_with_{j}_correct"] = float(np.mean(n_pos == j))
    out["groups_all_correct"], out["groups_all_wrong"] = float(np.mean(n_pos == n)), float(np.mean(n_pos == 0))
    out["adv_mean"], out["adv_std"] = float(adv.mean()), float(adv.std())
    out["eta"] = float(np.abs(adv).sum(axis=1).mean())
    out["adv_share_positive"] = float(np.mean(adv > 0))
    for k in ("loss", "grad_norm", "clip_fraction", "ratio_outside_clip_after", "kl_rollout", "kl_base"):
        out[k] = float(update.get(k, float("nan")))
    for k, v in update.items():  # the method's own numbers (e.g. RLPR's reward, kept groups, EMA threshold)
        out.setdefault(k, float(v))
    out["distinct_answers"] = _mean([len(set(row)) for row in answers])
    collisions = []
    for row, r in zip(answers, rewards):
        wrong = Counter(a for a, ok in zip(row, r) if ok <= 0)
        W = sum(wrong.values())
        if W >= 2:
            collisions.append(sum(c * (c - 1) for c in wrong.values()) / (W * (W - 1)))
    out["wrong_answer_collision"] = _mean(collisions)
    return out


def read_signals(path) -> list[dict]:
    """Rows of a ``signals.parquet`` file (empty when it does not exist)."""
    import pyarrow.parquet as pq

    path = Path(path)
    return pq.read_table(path).to_pylist() if path.is_file() else []


def write_signals(path, rows: list[dict]) -> Path:
    """One row per step, sorted by step, written atomically as Parquet (and CSV beside it,
    ``real.logs.report.write_table``); steps must not repeat."""
    from real.logs.report import write_table

    steps = [r["step"] for r in rows]
    if len(set(steps)) != len(steps):
        raise ValueError(f"signals: steps repeat: {sorted(s for s in set(steps) if steps.count(s) > 1)}")
    path = Path(path)
    write_table(sorted(rows, key=lambda r: r["step"]), path.with_suffix(""))
    return path


POSITION_BINS = 10


def position_profile(completions: list, checkpoint, bins: int = POSITION_BINS) -> list[dict]:
    """Token entropy and branching factor by relative position in the response (Deng et al. 2025's U-shape):
    token t of a response of L tokens falls in bin floor(bins * t / L); one row per bin with the mean entropy
    (nats), the mean branching factor and the token count, over every response of ``completions`` (which
    must carry per-token ``entropies`` and ``branching``)."""
    ent, br, cnt = np.zeros(bins), np.zeros(bins), np.zeros(bins, int)
    for row in completions:
        for c in row:
            if c.entropies is None:
                raise ValueError("completions: no per-token entropies (sample with JaxSampler(token_stats=True))")
            L = len(c.entropies)
            b = (bins * np.arange(L)) // max(L, 1)
            np.add.at(ent, b, c.entropies)
            np.add.at(br, b, c.branching)
            np.add.at(cnt, b, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return [{"checkpoint": checkpoint, "position_bin": int(i), "relative_position": (i + 0.5) / bins,
                 "token_entropy": float(ent[i] / cnt[i]) if cnt[i] else float("nan"),
                 "branching_factor": float(br[i] / cnt[i]) if cnt[i] else float("nan"), "tokens": int(cnt[i])} for i in range(bins)]
