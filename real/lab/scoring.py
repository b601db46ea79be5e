"""Teacher-forced scoring: the log-probability our model assigns to each token of given completions.

``completion_log_probs(params, config, tokenizer, prompts, completions)`` runs every
``<bos> + prompt + completion`` sequence through the model in one jitted, batched forward pass
(right-padded, ``real.lab.model.sequence_logits``) and returns, per completion, ``log p(token_t |
prompt, tokens_<t)`` under the raw model distribution (log-softmax of the logits at temperature 1, nats):
the quantity every sampler of ``real.lab.samplers.interface`` reports beside its tokens, so samplers can
be checked against it token by token (``python -m experiments bench sampler``).
"""

from __future__ import annotations

import functools

import jax
import numpy as np

from real.lab.model import LlamaConfig, sequence_logits, token_log_probs
from real.lab.tokenizer import CharTokenizer


@functools.partial(jax.jit, static_argnames=("config",))
def padded_log_probs(params, tokens, pad_mask, *, config: LlamaConfig):
    """Jitted teacher forcing of right-padded rows: tokens [R, T] int, pad_mask [R, T] bool (True on real tokens) ->
    [R, T - 1] log p(token t + 1 | tokens <= t) under the raw model distribution (nats; padded targets meaningless)."""
    logits = sequence_logits(params, config, tokens[:, :-1], pad_mask[:, :-1])
    return token_log_probs(logits, tokens[:, 1:])


def completion_log_probs(params, config: LlamaConfig, tokenizer: CharTokenizer, prompts: list, completions: list,
                         *, max_batch: int = 1024) -> list[list[np.ndarray]]:
    """Teacher-forced log-probs [prompt][sample] -> float array (one entry per completion token, nats).

    ``completions[i][j].token_ids`` are the generated tokens for ``prompts[i]`` (``<eos>`` included when
    generated). Sequences longer than ``config.max_position_embeddings`` are an error naming the prompt."""
    rows, where = [], []
    for i, (prompt, row) in enumerate(zip(prompts, completions)):
        p = tokenizer.encode(prompt, bos=True)
        for j, c in enumerate(row):
            ids = p + [int(t) for t in c.token_ids]
            if len(ids) > config.max_position_embeddings:
                raise ValueError(f"prompt {i}, completion {j}: {len(ids)} tokens exceed max_position_embeddings = "
                                 f"{config.max_position_embeddings}")
            rows.append(ids)
            where.append((i, j, len(p), len(c.token_ids)))
    out = [[None] * len(row) for row in completions]
    if not rows:
        return out
    T = max(len(r) for r in rows)
    for start in range(0, len(rows), max_batch):
        chunk = rows[start:start + max_batch]
        toks = np.full((len(chunk), T), tokenizer.pad_id, np.int32)
        mask = np.zeros((len(chunk), T), bool)
        for r, ids in enumerate(chunk):
            toks[r, :len(ids)] = ids
            mask[r, :len(ids)] = True
        lp = np.asarray(padded_log_probs(params, toks, mask, config=config))  # [b, T-1]: position t scores token t+1
        for r in range(len(chunk)):
            i, j, n_prompt, n_new = where[start + r]
            out[i][j] = lp[r, n_prompt - 1:n_prompt - 1 + n_new].astype(np.float64)
    return out
