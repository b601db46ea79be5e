"""Stage 1: supervised training of the base model on worked solutions (next-token cross-entropy).

A training example is ``<bos> prompt completion <eos>``; the loss is the mean negative log-likelihood
(nats/token) of the completion and <eos> tokens only (the prompt is given, not learned). Optimizer:
AdamW (optax) with linear warm-up and cosine decay. One jitted step; batches are drawn from a fixed
pool of training problems with a NumPy generator (deterministic given the seed).

Stopping early on purpose gives a *base model* whose per-problem success rates spread over (0, 1),
the starting point RLVR papers study.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from real.lab.config import SFTConfig
from real.lab.model import LlamaConfig, sequence_logits, token_log_probs
from real.lab.tokenizer import CharTokenizer


def encode_examples(problems, tokenizer: CharTokenizer, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """tokens int [N, seq_len] (right-padded) and loss mask [N, seq_len - 1] over predicted positions.

    mask[i, t] = 1 when target token t + 1 belongs to the completion or is the final <eos>."""
    N = len(problems)
    toks = np.full((N, seq_len), tokenizer.pad_id, np.int32)
    mask = np.zeros((N, seq_len - 1), np.float32)
    for i, p in enumerate(problems):
        prompt = tokenizer.encode(p.prompt, bos=True)
        full = prompt + tokenizer.encode(p.completion, eos=True)
        if len(full) > seq_len:
            raise ValueError(f"seq_len: example {p.problem_id!r} needs {len(full)} tokens, seq_len is {seq_len}")
        toks[i, : len(full)] = full
        mask[i, len(prompt) - 1: len(full) - 1] = 1.0
    return toks, mask


def make_optimizer(cfg: SFTConfig) -> optax.GradientTransformation:
    """AdamW, linear warm-up then cosine decay to ``final_lr_fraction`` x peak over ``steps``, clipped gradients."""
    sched = optax.warmup_cosine_decay_schedule(0.0, cfg.learning_rate, cfg.warmup, max(cfg.steps, cfg.warmup + 1),
                                               cfg.learning_rate * cfg.final_lr_fraction)
    return optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm), optax.adamw(sched, weight_decay=cfg.weight_decay))


def nll_loss(params, config: LlamaConfig, tokens, mask):
    """Mean NLL (nats/token) over masked target positions."""
    logits = sequence_logits(params, config, tokens[:, :-1])
    lp = token_log_probs(logits, tokens[:, 1:])
    return -(lp * mask).sum() / jnp.maximum(mask.sum(), 1.0)


@functools.partial(jax.jit, static_argnames=("config", "optimizer"))
def sft_step(params, opt_state, tokens, mask, *, config: LlamaConfig, optimizer):
    loss, grads = jax.value_and_grad(nll_loss)(params, config, tokens, mask)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_sft(params, config: LlamaConfig, problems, cfg: SFTConfig, tokenizer: CharTokenizer | None = None,
              *, seed: int = 0, opt_state=None, start_step: int = 0, callback=None):
    """Run steps ``start_step .. cfg.steps - 1``; returns (params, opt_state, losses [steps run]).

    ``callback(step, params, opt_state, loss)`` (optional) is called after every step, e.g. to save
    a checkpoint or to evaluate; when it returns True, training stops after that step (early stopping).
    Batches depend only on (``seed``, step), so a resumed run sees the same data.
    """
    tokenizer = tokenizer or CharTokenizer()
    toks, mask = encode_examples(problems, tokenizer, cfg.seq_len)
    optimizer = make_optimizer(cfg)
    opt_state = optimizer.init(params) if opt_state is None else opt_state
    losses = []
    for step in range(start_step, cfg.steps):
        rng = np.random.default_rng([seed, step])
        idx = rng.integers(0, len(problems), cfg.batch_size)
        params, opt_state, loss = sft_step(params, opt_state, jnp.asarray(toks[idx]), jnp.asarray(mask[idx]),
                                           config=config, optimizer=optimizer)
        losses.append(float(loss))
        if callback is not None and callback(step, params, opt_state, float(loss)):
            break
    return params, opt_state, np.asarray(losses)
