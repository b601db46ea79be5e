"""Stage 2: RLVR on the arithmetic task — GRPO or Pass@k advantages with PPO ratio clipping.

One RL step (Shao et al. 2024, GRPO; Chen et al. 2025, Pass@k training):
1. B training problems; n completions each from the current policy (``real.lab.samplers.jax.JaxSampler``,
   temperature T), with their token log-probabilities (the "old" policy, held fixed for the step);
2. reward r = 1 if the extracted final answer is right, else 0 (``real.lab.task.check_answer``);
3. per-group advantages from ``theory.advantage``: ``grpo`` = (r − mean)/(std + 1e-6), or
   ``passk`` = the analytic Pass@k advantage (eqs. 11–15) with group size k;
4. ``ppo_epochs`` passes of the clipped surrogate (Schulman et al. 2017) over the completion tokens:
   L = −mean_tokens min(ρ A, clip(ρ, 1 − ε, 1 + ε) A), ρ = π_θ(token)/π_old(token); the mean is over all
   completion tokens of the batch (Dr. GRPO's constant normaliser); no KL term. AdamW.
Checkpoints every ``checkpoint_every`` steps (``real.lab.checkpoints.save_checkpoint``: weights, optimizer state,
config, step); ``train_rl`` resumes from the latest one in its folder. Deterministic given the seed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax

from real.lab.checkpoints import latest_checkpoint, load_checkpoint, save_checkpoint
from real.lab.model import LlamaConfig, sequence_logits, token_log_probs
from real.lab.samplers.interface import SamplingRequest
from real.lab.samplers.jax import JaxSampler
from real.lab.task import check_answer
from real.lab.tokenizer import CharTokenizer
from theory.advantage import grpo_advantage, passk_analytic_advantage

_ANSWER = re.compile(r"####\s*(-?\d+)")


def extract_task_answer(text: str) -> str | None:
    """The task's final answer (the number after the last ``####``), or None."""
    found = _ANSWER.findall(text)
    return found[-1] if found else None


@dataclass(frozen=True)
class RLConfig:
    steps: int = 40
    batch_problems: int = 32
    n_rollouts: int = 8
    advantage: str = "grpo"  # "grpo" or "passk"
    k: int = 4  # Pass@k group size
    learning_rate: float = 5e-4
    clip_eps: float = 0.2
    ppo_epochs: int = 1
    temperature: float = 1.0
    max_tokens: int = 48
    checkpoint_every: int = 10
    seed: int = 0


def rewards_of(problems, completions) -> np.ndarray:
    """[B, n] 0/1 rewards: does each completion's extracted answer equal the problem's answer?"""
    return np.array([[float(check_answer(p, extract_task_answer(c.text))) for c in row] for p, row in zip(problems, completions)])


def advantages(rewards: np.ndarray, cfg: RLConfig) -> np.ndarray:
    """Per-rollout advantages [B, n] from theory.advantage."""
    if cfg.advantage == "grpo":
        return np.asarray(grpo_advantage(rewards), np.float32)
    if cfg.advantage == "passk":
        return np.asarray(passk_analytic_advantage(rewards, k=cfg.k), np.float32)
    raise ValueError(f"advantage: must be 'grpo' or 'passk', got {cfg.advantage!r}")


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
    logits = sequence_logits(params, config, tokens[:, :-1])
    logp = token_log_probs(logits, tokens[:, 1:])
    ratio = jnp.exp(logp - old_logp)
    surr = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv)
    return -(surr * mask).sum() / jnp.maximum(mask.sum(), 1.0)


@functools.partial(jax.jit, static_argnames=("config", "optimizer", "clip_eps"))
def rl_update(params, opt_state, tokens, mask, old_logp, adv, *, config: LlamaConfig, optimizer, clip_eps: float):
    loss, grads = jax.value_and_grad(clipped_loss)(params, config, tokens, mask, old_logp, adv, clip_eps)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def make_optimizer(cfg: RLConfig) -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(cfg.learning_rate, weight_decay=0.0))


def train_rl(params, config: LlamaConfig, problems, cfg: RLConfig, run_dir, *, tokenizer: CharTokenizer | None = None,
             log=print) -> tuple[dict, list[dict]]:
    """RL from ``params`` (or from the latest checkpoint in ``run_dir``); returns (params, step logs).

    Saves ``run_dir/step_<N>`` every ``checkpoint_every`` steps, step 0 (the starting policy) included."""
    tokenizer = tokenizer or CharTokenizer()
    run_dir = Path(run_dir)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(params)
    start = 0
    last = latest_checkpoint(run_dir)
    if last is not None:
        params, config, opt_state, start, meta = load_checkpoint(last, opt_state_like=opt_state)
        log(f"rl: resuming from {last} (step {start})")
    else:
        save_checkpoint(run_dir / "step_0", params, config, opt_state=opt_state, step=0, meta={"rl": asdict(cfg)})
    seq_len = max(len(tokenizer.encode(p.prompt, bos=True)) for p in problems) + cfg.max_tokens
    logs = []
    for step in range(start, cfg.steps):
        rng = np.random.default_rng([cfg.seed, step])
        batch = [problems[i] for i in rng.choice(len(problems), cfg.batch_problems, replace=False)]
        sampler = JaxSampler(params, config, tokenizer)
        comps = sampler.generate(SamplingRequest([p.prompt for p in batch], n=cfg.n_rollouts, temperature=cfg.temperature,
                                                 max_tokens=cfg.max_tokens, seed=int(rng.integers(2**31))))
        r = rewards_of(batch, comps)
        adv = advantages(r, cfg)
        toks, mask, old, A = (jnp.asarray(x) for x in pack_rollouts(tokenizer, batch, comps, adv, seq_len))
        for _ in range(cfg.ppo_epochs):
            params, opt_state, loss = rl_update(params, opt_state, toks, mask, old, A, config=config, optimizer=optimizer,
                                                clip_eps=cfg.clip_eps)
        n_pos = r.sum(axis=1)
        logs.append({"step": step + 1, "reward": float(r.mean()), "loss": float(loss), "eta": float(np.abs(adv).sum(axis=1).mean()),
                     "n_pos": n_pos.astype(int).tolist(), "eta_per_group": np.abs(adv).sum(axis=1).tolist()})
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            save_checkpoint(run_dir / f"step_{step + 1}", params, config, opt_state=opt_state, step=step + 1, meta={"rl": asdict(cfg)})
        log(f"rl step {step + 1}: reward {r.mean():.3f}, loss {float(loss):+.4f}")
    return params, logs


def evaluate_records(params, config: LlamaConfig, problems, *, checkpoint, n: int, temperature: float = 1.0,
                     max_tokens: int = 48, seed: int = 0, tokenizer: CharTokenizer | None = None, run: str | None = None) -> list[dict]:
    """Sample ``n`` completions per problem and return sample records in the ``real.logs.schema`` format."""
    tokenizer = tokenizer or CharTokenizer()
    sampler = JaxSampler(params, config, tokenizer)
    comps = sampler.generate(SamplingRequest([p.prompt for p in problems], n=n, temperature=temperature,
                                             max_tokens=max_tokens, seed=seed))
    from real.lab.evaluate import completion_record

    out = []
    for p, row in zip(problems, comps):
        for j, c in enumerate(row):
            ans = extract_task_answer(c.text)
            out.append(completion_record(checkpoint, p.problem_id, j, ans, check_answer(p, ans), p.answer, c, run))
    return out
