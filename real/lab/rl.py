"""Stage 2: RLVR on the arithmetic task — any advantage of the shared registry, with PPO ratio clipping.

One RL step (Shao et al. 2024, GRPO; Chen et al. 2025, Pass@k training; Song et al. 2025, exploration):
1. B training problems; n completions each from the current policy (``real.lab.samplers.jax.JaxSampler``,
   temperature T), with their token log-probabilities (the "old" policy, held fixed for the step);
2. reward r = 1 if the extracted final answer is right, else 0 (``real.lab.task.check_answer`` on
   ``real.logs.answers.extract_answer``);
3. per-group advantages by method name (``cfg.advantage``). Registry names use the shared registry: ``theory.advantage_registry.get_advantage(
   cfg.advantage)(key, r, answers, ctx, k=cfg.k)`` — the same functions, with the same semantics, as the
   simulator (``sim.train``). :func:`rollout_context` builds the answer ids and the ``AdvContext`` from the
   sampled completions (answer ids, summed log-probs, the Monte Carlo sequence entropy, training-history
   answer counts N(x, a)); ``key`` = ``fold_in(key(seed), step)``. The token methods
   (``real.lab.config.TOKEN_METHODS``: ``rlpr``, ``ppl_reweight``, ``position_bonus``) need the policy's own
   token probabilities and reshape GRPO (:func:`method_advantages`): RLPR's probability reward comes from one
   teacher-forced pass of the policy (``real.lab.probability_reward``), PPL reweighting from the rollout
   log-probs the sampler returned, the position bonus acts on the per-token advantages;
4. ``ppo_epochs`` passes of the clipped surrogate (Schulman et al. 2017) over the completion tokens:
   L = −mean_tokens min(ρ A, clip(ρ, 1 − ε, 1 + ε) A), ρ = π_θ(token)/π_old(token); the mean is over all
   completion tokens of the batch (Dr. GRPO's constant normaliser); no KL term. AdamW.
Checkpoints every ``checkpoint_every`` steps (``real.lab.checkpoints.save_checkpoint``: weights, optimizer state,
config, step, and in ``meta`` the RL config and the answer-count history, :func:`history_to_json`);
``train_rl`` resumes from the latest one in its folder, history included. Deterministic given the seed.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from real.lab.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from real.lab.config import TOKEN_METHODS, RLConfig
from real.lab.model import LlamaConfig, sequence_logits, token_log_probs
from real.lab.probability_reward import reference_answer_probabilities
from real.lab.samplers.interface import SamplingRequest
from real.lab.samplers.jax import JaxSampler
from real.lab.task import check_answer
from real.lab.tokenizer import CharTokenizer
from real.logs.answers import extract_answer
from theory.advantage_registry import AdvContext, get_advantage
from theory.token_shaping import position_bonus_advantage


def final_answers(completions) -> list[list]:
    """[B][n] final answers of the completions (``real.logs.answers.extract_answer``; None = no answer), parsed once
    per step and shared by the reward, the advantage context and the signals."""
    return [[extract_answer(c.text) for c in row] for row in completions]


def rewards_of(problems, completions, finals=None) -> np.ndarray:
    """[B, n] 0/1 rewards: does each completion's extracted answer (``finals``, parsed here when None) equal the
    problem's answer?"""
    finals = final_answers(completions) if finals is None else finals
    return np.array([[float(check_answer(p, a)) for a in row] for p, row in zip(problems, finals)])


AnswerHistory = dict  # {(problem_id, answer string or None): count}: N(x, a) over the RL steps so far


def rollout_context(problems, completions, rewards, history: AnswerHistory, cfg: RLConfig, finals=None):
    """Answer ids [B, n] (int32) and the ``AdvContext`` of one batch of rollouts; updates ``history`` in place.

    ``problems`` [B] (``real.lab.task.Problem``), ``completions`` [B][n] (``Completion``), ``rewards`` [B, n]
    (``rewards_of``), ``history`` the training-history answer counts (:data:`AnswerHistory`). Each
    completion's final answer is ``real.logs.answers.extract_answer(c.text)`` (the reward's parser).

    - answers: 0 for a correct completion (reward > 0.5); within each group, wrong final answers get ids
      1, 2, ... by first occurrence (equal answer strings share an id); a completion with no extractable
      answer (None) gets its own fresh id, equal to no other in the group;
    - log_probs [B, n]: sum of the completion's per-token log-probs (``Completion.logprobs``, raw, nats);
    - entropy [B]: the Monte Carlo sequence entropy ``-mean_j log_probs[b, j]`` (nats);
    - answer_counts [B, n]: N(x, a) of each rollout's (problem_id, final answer) over all previous steps
      *plus this batch*: ``history`` is first incremented by every rollout of the batch, then looked up
      (as ``theory.exploration.update_answer_counts`` then ``lookup_answer_counts`` in the simulator).
      No answer (None) counts as one answer of its own per problem, key ``(problem_id, None)``: unlike
      the answer ids, repeated no-answer completions do accumulate a count (so the UCB bonus of producing
      no answer decays like that of any repeated answer);
    - bonus_coef, noise_rate, entropy_coef, ucb_b0: from ``cfg``.
    """
    B = len(problems)
    n = len(completions[0]) if B else 0
    rewards = np.asarray(rewards)
    answers = np.zeros((B, n), np.int32)
    log_probs = np.zeros((B, n), np.float64)
    texts = final_answers(completions) if finals is None else finals
    for b, (p, row) in enumerate(zip(problems, completions)):
        if len(row) != n:
            raise ValueError(f"completions: every problem needs {n} completions, problem {b} has {len(row)}")
        ids: dict = {}
        fresh = 1
        for j, (c, a) in enumerate(zip(row, texts[b])):
            log_probs[b, j] = float(np.sum(np.asarray(c.logprobs, np.float64)))
            if rewards[b, j] > 0.5:
                continue  # id 0
            if a is None:
                answers[b, j] = fresh
                fresh += 1
            else:
                if a not in ids:
                    ids[a] = fresh
                    fresh += 1
                answers[b, j] = ids[a]
        for a in texts[b]:
            history[(p.problem_id, a)] = history.get((p.problem_id, a), 0) + 1
    counts = np.array([[history[(p.problem_id, a)] for a in texts[b]] for b, p in enumerate(problems)], np.float64)
    f = jnp.result_type(float)
    ctx = AdvContext(
        entropy=jnp.asarray(-log_probs.mean(axis=1), f),
        answer_counts=jnp.asarray(counts.reshape(B, n), f),
        log_probs=jnp.asarray(log_probs, f),
        bonus_coef=jnp.asarray(cfg.bonus_coef, f),
        noise_rate=jnp.asarray(cfg.noise_rate, f),
        entropy_coef=jnp.asarray(cfg.entropy_coef, f),
        ucb_b0=jnp.asarray(cfg.ucb_b0, f),
    )
    return answers, ctx


def advantage_key(seed: int, step: int) -> jax.Array:
    """The PRNG key of step ``step`` (0-based) for stochastic advantages: ``fold_in(key(seed), step)``."""
    return jax.random.fold_in(jax.random.key(seed), step)


def compute_advantages(key, rewards, answers, ctx: AdvContext, cfg: RLConfig) -> np.ndarray:
    """Registry advantages [B, n] as float32 NumPy: ``get_advantage(cfg.advantage)(key, r, answers, ctx, k=cfg.k)``;
    for the token methods (``real.lab.config.TOKEN_METHODS``) GRPO's, which :func:`method_advantages` reshapes."""
    r = jnp.asarray(rewards, jnp.result_type(float))
    name = "grpo" if cfg.advantage in TOKEN_METHODS else cfg.advantage
    return np.asarray(get_advantage(name)(key, r, jnp.asarray(answers), ctx, k=cfg.k), np.float32)


def method_advantages(key, rewards, answers, ctx: AdvContext, cfg: RLConfig, *, lengths=None, rlpr_scores=None,
                      filter_state=None):
    """The step's response advantages [B, n] for any method of ``cfg.advantage``, and what the method adds.

    Returns ``(adv, info, filter_state)``: ``info`` holds the method's own per-step numbers (for the
    signals) and ``filter_state`` RLPR's std-filter state (``theory.rlpr.StdFilterState``; None otherwise).

    - registry names: :func:`compute_advantages` on the verifier's ``rewards``;
    - ``ppl_reweight``: GRPO reweighted by the responses' log-perplexity (``theory.token_shaping``), from the
      rollout log-probs in ``ctx.log_probs`` and ``lengths`` [B, n] (tokens per completion);
    - ``rlpr``: GRPO on the probability reward ``rlpr_scores = (r [B, n], r' [B])``
      (``real.lab.probability_reward``), debiased (``theory.rlpr.debiased_reward``) when ``cfg.rlpr_debias``,
      with the groups the std filter drops (``theory.rlpr.std_filter``) set to 0; ``rewards`` is not used;
    - ``position_bonus``: GRPO here; its token-level bonus is applied to the packed per-token advantages by
      :func:`train_rl` (``theory.token_shaping.position_bonus_advantage``)."""
    from theory import rlpr as trlpr
    from theory.advantage import grpo_advantage
    from theory.token_shaping import ppl_reweighted_advantage

    info = {}
    if cfg.advantage == "rlpr":
        if rlpr_scores is None:
            raise ValueError("rlpr_scores: the rlpr method needs the reference-answer probabilities (r, r')")
        r, r0 = (np.asarray(x, np.float64) for x in rlpr_scores)
        reward = np.asarray(trlpr.debiased_reward(r, r0[:, None])) if cfg.rlpr_debias else r
        keep, filter_state = trlpr.std_filter(reward, filter_state, beta=cfg.rlpr_std_beta, ema_weight=cfg.rlpr_ema_weight)
        keep = np.asarray(keep)
        adv = np.asarray(grpo_advantage(reward), np.float32) * keep[:, None]
        correct = np.asarray(rewards) > 0.5
        info = {"rlpr_reward": float(reward.mean()), "rlpr_raw_reward": float(r.mean()), "rlpr_no_reasoning": float(r0.mean()),
                "rlpr_kept_groups": float(keep.mean()), "rlpr_ema_std": float(filter_state.ema_std),
                "rlpr_reward_correct": float(reward[correct].mean()) if correct.any() else float("nan"),
                "rlpr_reward_wrong": float(reward[~correct].mean()) if (~correct).any() else float("nan")}
        return adv, info, filter_state
    adv = compute_advantages(key, rewards, answers, ctx, cfg)
    if cfg.advantage == "ppl_reweight":
        if lengths is None:
            raise ValueError("lengths: the ppl_reweight method needs the completions' token counts")
        adv = np.asarray(ppl_reweighted_advantage(adv, ctx.log_probs, np.maximum(np.asarray(lengths), 1), alpha=cfg.ppl_alpha),
                         np.float32)
    return adv, info, filter_state


def _filter_to_json(state) -> dict | None:
    return None if state is None else {"ema_std": float(state.ema_std), "initialized": bool(state.initialized)}


def _filter_from_json(doc):
    if doc is None:
        return None
    from theory.rlpr import StdFilterState

    f = jnp.result_type(float)
    return StdFilterState(ema_std=jnp.asarray(doc["ema_std"], f), initialized=jnp.asarray(bool(doc["initialized"])))


def history_to_json(history: AnswerHistory) -> list:
    """``[[problem_id, answer or null, count], ...]`` sorted (for a checkpoint's JSON ``meta``)."""
    items = sorted(history.items(), key=lambda kv: (kv[0][0], kv[0][1] is not None, kv[0][1] or ""))
    return [[pid, a, int(c)] for (pid, a), c in items]


def history_from_json(doc) -> AnswerHistory:
    """Inverse of :func:`history_to_json`."""
    return {(str(pid), None if a is None else str(a)): int(c) for pid, a, c in doc}


def pack_rollouts(tokenizer: CharTokenizer, problems, completions, adv: np.ndarray, seq_len: int):
    """tokens [R, seq_len], completion-token mask [R, seq_len - 1], old log-probs and advantages per target."""
    R = sum(len(r) for r in completions)
    toks = np.full((R, seq_len), tokenizer.pad_id, np.int32)
    mask = np.zeros((R, seq_len - 1), np.float32)
    old = np.zeros((R, seq_len - 1), np.float32)
    A = np.zeros((R, seq_len - 1), np.float32)
    i = 0
    for b, (p, row) in enumerate(zip(problems, completions)):
        prompt = tokenizer.encode(p.prompt, bos=True)
        for j, c in enumerate(row):
            ids = prompt + list(c.token_ids)
            ids = ids[:seq_len]
            L = len(ids)
            toks[i, :L] = ids
            start = len(prompt) - 1  # target positions of the completion tokens
            n_c = L - len(prompt)
            mask[i, start:start + n_c] = 1.0
            old[i, start:start + n_c] = np.asarray(c.logprobs[:n_c], np.float32)
            A[i, start:start + n_c] = adv[b, j]
            i += 1
    return toks, mask, old, A


def clipped_loss(params, config: LlamaConfig, tokens, mask, old_logp, adv, clip_eps: float):
    """PPO clipped surrogate averaged over completion tokens (module docstring)."""
    return _loss_and_clip_fraction(params, config, tokens, mask, old_logp, adv, clip_eps)[0]


def _masked_mean(x, mask):
    return (x * mask).sum() / jnp.maximum(mask.sum(), 1.0)


def _loss_and_clip_fraction(params, config, tokens, mask, old_logp, adv, clip_eps):
    logp = token_log_probs(sequence_logits(params, config, tokens[:, :-1]), tokens[:, 1:])
    ratio = jnp.exp(logp - old_logp)
    surr = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    return -_masked_mean(surr, mask), _masked_mean((jnp.abs(ratio - 1) > clip_eps).astype(jnp.float32), mask)


@functools.partial(jax.jit, static_argnames=("config", "optimizer", "clip_eps"))
def rl_update(params, opt_state, tokens, mask, old_logp, adv, *, config: LlamaConfig, optimizer, clip_eps: float):
    """One optimizer step on the clipped surrogate; returns (params, opt_state, loss, {"grad_norm": global norm
    of the gradient before clipping, "clip_fraction": share of completion tokens with |ratio - 1| > eps})."""
    (loss, clip_frac), grads = jax.value_and_grad(_loss_and_clip_fraction, has_aux=True)(params, config, tokens, mask, old_logp,
                                                                                           adv, clip_eps)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, {"grad_norm": optax.tree.norm(grads), "clip_fraction": clip_frac}


@functools.partial(jax.jit, static_argnames=("config", "clip_eps"))
def policy_shift(params, rollout_logp, base_params, tokens, mask, *, config: LlamaConfig, clip_eps: float):
    """After an update, on the rollout tokens: k3 estimates (Schulman 2020) of KL(pi_new || pi_rollout) and
    KL(pi_new || pi_base), E[(r - 1) - log r] with r = pi_ref / pi_new, and the share of tokens whose ratio
    pi_new / pi_rollout lies outside [1 - eps, 1 + eps]. (The tokens were drawn from pi_rollout, not pi_new:
    at the small steps of one update the k3 value is the usual low-variance estimate, as in GRPO's KL term.)"""
    logp = token_log_probs(sequence_logits(params, config, tokens[:, :-1]), tokens[:, 1:])
    base = token_log_probs(sequence_logits(base_params, config, tokens[:, :-1]), tokens[:, 1:])

    def k3(ref):
        d = ref - logp
        return _masked_mean(jnp.exp(d) - 1 - d, mask)

    outside = (jnp.abs(jnp.exp(logp - rollout_logp) - 1) > clip_eps).astype(jnp.float32)
    return {"kl_rollout": k3(rollout_logp), "kl_base": k3(base), "ratio_outside_clip_after": _masked_mean(outside, mask)}


def make_optimizer(cfg: RLConfig) -> optax.GradientTransformation:
    """AdamW at ``learning_rate`` / ``weight_decay`` after clipping gradients to ``max_grad_norm``.

    Cached per setting, so repeated ``train_rl`` calls (resumes, sweeps) reuse the jitted update."""
    return _optimizer(float(cfg.learning_rate), float(cfg.weight_decay), float(cfg.max_grad_norm))


@functools.cache
def _optimizer(learning_rate: float, weight_decay: float, max_grad_norm: float) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(max_grad_norm), optax.adamw(learning_rate, weight_decay=weight_decay))


SHIFT_ROWS = 32  # rollout sequences (evenly spaced in the batch) on which the signals' KL and ratio are estimated


def train_rl(params, config: LlamaConfig, problems, cfg: RLConfig, run_dir, *, seed: int = 0,
             tokenizer: CharTokenizer | None = None, signals_path=None, log=print) -> tuple[dict, list[dict]]:
    """RL from ``params`` (or from the latest checkpoint in ``run_dir``); returns (params, step logs).

    With ``signals_path``, every step's training signals (``real.lab.signals.step_signals``; the base model
    for ``kl_base`` is ``run_dir/step_0``) are written there as Parquet at every checkpoint; a resumed run
    keeps the rows up to its checkpoint and recomputes the rest, so no step is missing or repeated.

    Saves ``run_dir/step_<N>`` every ``checkpoint_every`` steps, step 0 (the starting policy) included; each
    checkpoint's ``meta`` holds ``"rl"`` (the config) and ``"answer_counts"`` (the answer-count history after
    step N, :func:`history_to_json`), which a resume restores, so N steps + resume = the straight run."""
    tokenizer = tokenizer or CharTokenizer()
    run_dir = Path(run_dir)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(params)
    start = 0
    history: AnswerHistory = {}
    filter_state = None  # RLPR's std-filter EMA (theory.rlpr.StdFilterState), checkpointed for an exact resume
    last = latest_checkpoint(run_dir)
    if last is not None:
        params, config, opt_state, start, meta = load_checkpoint(last, opt_state_like=opt_state)
        filter_state = _filter_from_json(meta.get("rlpr_filter"))
        if "answer_counts" in meta:
            history = history_from_json(meta["answer_counts"])
        elif start > 0:
            log(f"rl: {last} has no answer-count history; resuming with an empty one")
        log(f"rl: resuming from {last} (step {start})")
    else:
        save_checkpoint(run_dir / "step_0", params, config, opt_state=opt_state, step=0,
                        meta={"rl": asdict(cfg), "answer_counts": history_to_json(history)})
    seq_len = max(len(tokenizer.encode(p.prompt, bos=True)) for p in problems) + cfg.max_tokens
    logs = []
    signals = []
    if signals_path is not None:
        from real.lab.signals import read_signals, step_signals, write_signals

        signals = [r for r in read_signals(signals_path) if r["step"] <= start]
        base_params = load_checkpoint(run_dir / "step_0")[0]
    for step in range(start, cfg.steps):
        rng = np.random.default_rng([seed, step])
        batch = [problems[i] for i in rng.choice(len(problems), cfg.batch_problems, replace=False)]
        sampler = JaxSampler(params, config, tokenizer, token_stats=signals_path is not None)
        comps = sampler.generate(SamplingRequest([p.prompt for p in batch], n=cfg.n_rollouts, temperature=cfg.temperature, top_p=cfg.top_p,
                                                 max_tokens=cfg.max_tokens, seed=int(rng.integers(2**31))))
        finals = final_answers(comps)
        r = rewards_of(batch, comps, finals)
        answers, ctx = rollout_context(batch, comps, r, history, cfg, finals)
        scores = None
        if cfg.advantage == "rlpr":
            scores = reference_answer_probabilities(params, config, tokenizer, [p.prompt for p in batch],
                                                    [p.answer for p in batch], comps)
        lengths = np.array([[len(c.token_ids) for c in row] for row in comps])
        adv, info, filter_state = method_advantages(advantage_key(seed, step), r, answers, ctx, cfg, lengths=lengths,
                                                    rlpr_scores=scores, filter_state=filter_state)
        toks, mask, old, A = (jnp.asarray(x) for x in pack_rollouts(tokenizer, batch, comps, adv, seq_len))
        if cfg.advantage == "position_bonus":
            A = position_bonus_advantage(A, mask, beta=cfg.position_beta)
        clip_fracs = []
        for epoch in range(cfg.ppo_epochs):
            params, opt_state, loss, upd = rl_update(params, opt_state, toks, mask, old, A, config=config, optimizer=optimizer,
                                                     clip_eps=cfg.clip_eps)
            clip_fracs.append(float(upd["clip_fraction"]))
            if epoch == 0:
                grad_norm = float(upd["grad_norm"])
        if signals_path is not None:
            # KL and ratio on every 16th rollout sequence (a fixed subsample: two forward passes over the whole batch
            # cost more than sampling it, 2.0 s of a 3.4 s step here)
            sub = slice(None, None, max(1, toks.shape[0] // SHIFT_ROWS))
            shift = {k: float(v) for k, v in policy_shift(params, old[sub], base_params, toks[sub], mask[sub], config=config,
                                                          clip_eps=cfg.clip_eps).items()}
            update = {"loss": float(loss), "grad_norm": grad_norm, "clip_fraction": float(np.mean(clip_fracs)), **shift, **info}
            signals.append({"step": step + 1, **step_signals(comps, r, finals, adv, update)})
        n_pos = r.sum(axis=1)
        eta_per_group = np.abs(adv).sum(axis=1)
        logs.append({"step": step + 1, "reward": float(r.mean()), "loss": float(loss), "eta": float(eta_per_group.mean()),
                     "n_pos": n_pos.astype(int).tolist(), "eta_per_group": eta_per_group.tolist()})
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            if signals_path is not None:  # first the rows, then the checkpoint they lead up to
                write_signals(signals_path, signals)
            save_checkpoint(run_dir / f"step_{step + 1}", params, config, opt_state=opt_state, step=step + 1,
                            meta={"rl": asdict(cfg), "answer_counts": history_to_json(history),
                                  "rlpr_filter": _filter_to_json(filter_state)})
        log(f"rl step {step + 1}: reward {r.mean():.3f}, loss {float(loss):+.4f}")
    return params, logs
