"""The JAX sampler: our Llama (``real.lab.model``) behind the sampler interface (``real.lab.samplers.interface``).

:class:`JaxSampler` runs on CPU or GPU: KV cache, one jitted decode loop (``lax.while_loop``, stops when
every sequence has finished), batched over prompts × n samples, left-padded prompts with explicit RoPE
positions. ``use_cache=False`` recomputes the whole sequence at every step (the benchmark's reference).
Per-token log-probs are raw (temperature 1, before top-p), as the interface specifies. With
``token_stats=True`` each completion also carries, per generated token, the entropy of the raw
distribution (nats) and the rollout branching factor: the size of the top-p = 0.95 candidate set
(Deng et al. 2025), both from the logits the decoding step already has.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np

from real.lab.model import LlamaConfig, forward, init_cache
from real.lab.samplers.interface import Completion, SamplingRequest
from real.lab.tokenizer import CharTokenizer


def filter_logits(logits, temperature, top_p):
    """Sampling logits after temperature and nucleus filtering (T = 0 is handled by the caller)."""
    logits = logits / jnp.maximum(temperature, 1e-6)
    probs = jax.nn.softmax(logits, axis=-1)
    order = jnp.argsort(-probs, axis=-1)
    sorted_p = jnp.take_along_axis(probs, order, axis=-1)
    before = jnp.cumsum(sorted_p, axis=-1) - sorted_p  # mass strictly before each sorted token
    keep_sorted = before < top_p  # the first token is always kept
    keep = jnp.zeros_like(keep_sorted).at[jnp.arange(logits.shape[0])[:, None], order].set(keep_sorted)
    return jnp.where(keep, logits, -jnp.inf)


BRANCHING_TOP_P = 0.95  # the rollout branching factor's nucleus (Deng et al. 2025)


def token_entropy_and_branching(raw_logp, top_p: float = BRANCHING_TOP_P):
    """Per row of raw log-probs [B, V]: the entropy H = -sum p log p (nats) and the branching factor, the size of
    the smallest set of most likely tokens whose probability reaches ``top_p`` (the top-p candidate set)."""
    p = jnp.exp(raw_logp)
    ent = -jnp.sum(jnp.where(p > 0, p * raw_logp, 0.0), axis=-1)
    # the probability mass ranked above each token in a stable descending sort, by pairwise comparison (V^2 work per
    # row, but no sort: XLA's CPU sort made token statistics cost a fifth of the sampling time); a token is in the
    # candidate set iff the mass above it is < top_p
    V = p.shape[-1]
    idx = jnp.arange(V)
    ahead = (p[..., None, :] > p[..., :, None]) | ((p[..., None, :] == p[..., :, None]) & (idx[None, :] < idx[:, None]))
    before = jnp.sum(jnp.where(ahead, p[..., None, :], 0.0), axis=-1)
    return ent, jnp.sum(before < top_p, axis=-1).astype(jnp.int32)


@functools.partial(jax.jit, static_argnames=("config", "max_tokens", "use_cache", "eos_id", "pad_id", "token_stats"))
def _generate(params, key, prompt_ids, prompt_mask, temperature, top_p, *, config: LlamaConfig, max_tokens: int,
              use_cache: bool, eos_id: int, pad_id: int, token_stats: bool = False):
    """Batched generation. prompt_ids/prompt_mask [B, P] (left-padded). Returns tokens, logprobs [B, max_tokens],
    the number of generated tokens per row (through <eos>), whether each row finished, and (``token_stats``)
    per-token entropy and branching factor of the raw distribution [B, max_tokens] (zeros otherwise)."""
    B, P = prompt_ids.shape
    total = P + max_tokens
    prompt_len = prompt_mask.sum(axis=1)
    prompt_pos = jnp.maximum(jnp.cumsum(prompt_mask, axis=1) - 1, 0)
    key_mask = jnp.concatenate([prompt_mask.astype(bool), jnp.ones((B, max_tokens), bool)], axis=1)
    seq = jnp.concatenate([prompt_ids, jnp.full((B, max_tokens), pad_id, prompt_ids.dtype)], axis=1)
    all_pos = jnp.concatenate([prompt_pos, prompt_len[:, None] + jnp.arange(max_tokens)[None, :]], axis=1)

    if use_cache:
        logits, cache = forward(params, config, prompt_ids, prompt_pos, key_mask, init_cache(config, B, total), 0)
        last = logits[:, -1]
    else:
        cache = None
        last = forward(params, config, prompt_ids, prompt_pos, prompt_mask.astype(bool))[0][:, -1]

    def pick(k, lg):
        raw = jax.nn.log_softmax(lg, axis=-1)
        greedy = jnp.argmax(lg, axis=-1)
        sampled = jax.random.categorical(k, filter_logits(lg, temperature, top_p), axis=-1)
        tok = jnp.where(temperature > 0, sampled, greedy)
        if token_stats:
            ent, br = token_entropy_and_branching(raw)
        else:
            ent, br = jnp.zeros(lg.shape[0], jnp.float32), jnp.zeros(lg.shape[0], jnp.int32)
        return tok, jnp.take_along_axis(raw, tok[:, None], axis=-1)[:, 0], ent, br

    out_tok = jnp.full((B, max_tokens), pad_id, jnp.int32)
    out_lp = jnp.zeros((B, max_tokens), jnp.float32)
    out_ent = jnp.zeros((B, max_tokens), jnp.float32)
    out_br = jnp.zeros((B, max_tokens), jnp.int32)
    done = jnp.zeros((B,), bool)
    n_gen = jnp.zeros((B,), jnp.int32)

    def cond(state):
        t, done = state[0], state[-1]
        return (t < max_tokens) & ~jnp.all(done)

    def body(state):
        t, key, last, cache, seq, out_tok, out_lp, out_ent, out_br, n_gen, done = state
        key, k = jax.random.split(key)
        tok, lp, ent, br = pick(k, last)
        tok = jnp.where(done, pad_id, tok)
        out_tok = out_tok.at[:, t].set(tok)
        out_lp = out_lp.at[:, t].set(jnp.where(done, 0.0, lp))
        out_ent = out_ent.at[:, t].set(jnp.where(done, 0.0, ent))
        out_br = out_br.at[:, t].set(jnp.where(done, 0, br))
        n_gen = n_gen + (~done).astype(jnp.int32)
        done = done | (tok == eos_id)
        seq = seq.at[:, P + t].set(tok)
        if use_cache:
            lg, cache = forward(params, config, tok[:, None], all_pos[:, P + t][:, None], key_mask, cache, P + t)
            last = lg[:, 0]
        else:
            valid = key_mask & (jnp.arange(total)[None, :] <= P + t)
            lg = forward(params, config, seq, all_pos, valid)[0]
            last = jnp.take(lg, P + t, axis=1)
        return (t + 1, key, last, cache, seq, out_tok, out_lp, out_ent, out_br, n_gen, done)

    state = (jnp.asarray(0), key, last, cache, seq, out_tok, out_lp, out_ent, out_br, n_gen, done)
    state = jax.lax.while_loop(cond, body, state)
    return state[5], state[6], state[9], state[10], state[7], state[8]


@dataclass
class JaxSampler:
    """Sampler for our JAX Llama: ``generate(request) -> [[Completion] * n for each prompt]``."""

    params: dict
    config: LlamaConfig
    tokenizer: CharTokenizer = field(default_factory=CharTokenizer)
    use_cache: bool = True
    max_batch: int = 512  # sequences per jitted call (prompts x n are split into chunks)
    token_stats: bool = False  # also per-token entropy and branching factor (Completion.entropies / .branching)

    def __post_init__(self):
        if isinstance(self.max_batch, bool) or not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise ValueError(f"max_batch: must be an integer >= 1, got {self.max_batch!r}")

    def encode_prompts(self, prompts) -> tuple[np.ndarray, np.ndarray]:
        ids = [self.tokenizer.encode(p, bos=True) for p in prompts]
        P = max(len(x) for x in ids)
        arr = np.full((len(ids), P), self.tokenizer.pad_id, np.int32)
        mask = np.zeros((len(ids), P), np.int32)
        for i, x in enumerate(ids):
            arr[i, P - len(x):] = x
            mask[i, P - len(x):] = 1
        return arr, mask

    def generate_ids(self, request: SamplingRequest):
        """Raw arrays: tokens int [len(prompts), n, max_tokens], logprobs, n_generated, finished, and (with
        ``token_stats``) per-token entropy and branching factor [len(prompts), n, max_tokens] (zeros otherwise)."""
        ids, mask = self.encode_prompts(request.prompts)
        if ids.shape[1] + request.max_tokens > self.config.max_position_embeddings:
            raise ValueError(f"max_tokens: prompt ({ids.shape[1]} tokens) + max_tokens ({request.max_tokens}) exceeds "
                             f"max_position_embeddings = {self.config.max_position_embeddings}")
        ids = np.repeat(ids, request.n, axis=0)
        mask = np.repeat(mask, request.n, axis=0)
        key = jax.random.key(request.seed)
        # balanced chunks of at most max_batch rows, all of one compiled shape (the last one padded):
        # 3,200 rows at max_batch 512 run as 7 x 458, not 7 x 512
        N = ids.shape[0]
        size = -(-N // -(-N // self.max_batch))
        outs = []
        for start in range(0, N, size):
            sl = slice(start, start + size)
            rows = ids[sl].shape[0]
            pad = size - rows
            chunk_ids = np.pad(ids[sl], ((0, pad), (0, 0)), constant_values=self.tokenizer.pad_id)
            chunk_mask = np.pad(mask[sl], ((0, pad), (0, 0)))
            if pad:
                chunk_mask[rows:, -1] = 1  # dummy rows: one real token so attention has a key
            res = _generate(self.params, jax.random.fold_in(key, start), jnp.asarray(chunk_ids), jnp.asarray(chunk_mask),
                            jnp.float32(request.temperature), jnp.float32(request.top_p), config=self.config,
                            max_tokens=request.max_tokens, use_cache=self.use_cache, eos_id=self.tokenizer.eos_id,
                            pad_id=self.tokenizer.pad_id, token_stats=self.token_stats)
            outs.append(tuple(np.asarray(x)[:rows] for x in res))
        tok, lp, n_gen, done, ent, br = (np.concatenate(parts) for parts in zip(*outs))
        shape = (len(request.prompts), request.n)
        return (tok.reshape(shape + (-1,)), lp.reshape(shape + (-1,)), n_gen.reshape(shape), done.reshape(shape),
                ent.reshape(shape + (-1,)), br.reshape(shape + (-1,)))

    def generate(self, request: SamplingRequest) -> list[list[Completion]]:
        tok, lp, n_gen, done, ent, br = self.generate_ids(request)
        out = []
        for i in range(tok.shape[0]):
            row = []
            for j in range(tok.shape[1]):
                n = int(n_gen[i, j])
                ids = tok[i, j, :n]
                stats = {}
                if self.token_stats:  # .tolist(): Python floats / ints, much faster than iterating NumPy scalars
                    stats = {"entropies": tuple(ent[i, j, :n].astype(float).tolist()),
                             "branching": tuple(br[i, j, :n].astype(int).tolist())}
                row.append(Completion(self.tokenizer.decode(ids), tuple(ids.astype(int).tolist()),
                                      tuple(lp[i, j, :n].astype(float).tolist()), bool(done[i, j]), **stats))
            out.append(row)
        return out
