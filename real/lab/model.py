"""A small decoder-only transformer in JAX with the Llama architecture (readable in one sitting).

Llama (Touvron et al. 2023): token embedding; L blocks of [RMSNorm -> causal self-attention with
rotary position embeddings (RoPE) and grouped-query heads -> residual; RMSNorm -> SwiGLU MLP ->
residual]; final RMSNorm; linear head. No biases anywhere. Every convention matches Hugging Face
``LlamaForCausalLM`` so that ``real.lab.hf_export`` can write our weights as a HF checkpoint and transformers
or vLLM reproduce our logits: RMSNorm ``x * rsqrt(mean(x^2) + eps) * w`` in float32; RoPE with the
"rotate half" layout (frequency i pairs dimension i with dimension i + head_dim/2), inverse frequencies
``theta^(-2i/head_dim)``; attention scale ``1/sqrt(head_dim)``; SwiGLU ``down(silu(gate(x)) * up(x))``.

Parameters are a dict pytree; matrices are stored [in, out] (x @ W), the transpose of PyTorch's
``Linear.weight``. Layers are stacked on a leading axis; ``forward`` loops over them in Python (a few
layers), so that in cached decoding each layer's cache is updated in place.

One forward function serves training (whole sequences) and KV-cached decoding (``cache`` given):
positions (for RoPE) are explicit so that left-padded batches work, and ``key_mask`` marks which key
slots hold real tokens.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class LlamaConfig:
    """Sizes and constants (names as in transformers.LlamaConfig where one exists)."""

    vocab_size: int = 34
    hidden_size: int = 128
    intermediate_size: int = 384
    num_hidden_layers: int = 4
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    max_position_embeddings: int = 96
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = False
    initializer_range: float = 0.02

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                     "num_key_value_heads", "max_position_embeddings"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: must be a positive integer, got {v!r}")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size: must be divisible by num_attention_heads = {self.num_attention_heads}, got {self.hidden_size}")
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(f"num_key_value_heads: must divide num_attention_heads = {self.num_attention_heads}, got {self.num_key_value_heads}")
        if self.head_dim % 2:
            raise ValueError(f"hidden_size / num_attention_heads must be even for RoPE, got {self.head_dim}")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class KVCache(NamedTuple):
    """Keys and values, one array per layer (tuples of length L), each [B, n_kv_heads, T_max, head_dim].

    Per-layer arrays (not one stacked [L, ...] array) and heads before slots: inside the sampler's
    ``while_loop`` XLA then updates each layer's cache in place and attention is a plain batched matrix
    product. With one stacked, slots-first array scanned by ``lax.scan`` decoding was 4.2x slower on
    CPU (most likely a copy of the stacked cache per step; 10,261 vs 43,315 tokens/s for 40 prompts x 16 samples,
    ``bench_sampler``'s quick shape)."""

    k: tuple
    v: tuple


def init_params(config: LlamaConfig, key) -> dict:
    """Random initial parameters: matrices ~ N(0, initializer_range^2), norm weights 1 (as HF does)."""
    D, F, V, L = config.hidden_size, config.intermediate_size, config.vocab_size, config.num_hidden_layers
    H, KV, hd = config.num_attention_heads, config.num_key_value_heads, config.head_dim
    ks = jax.random.split(key, 9)
    std = config.initializer_range

    def normal(k, shape):
        return std * jax.random.normal(k, shape, jnp.float32)

    params = {
        "embed": normal(ks[0], (V, D)),
        "layers": {
            "attn_norm": jnp.ones((L, D), jnp.float32),
            "wq": normal(ks[1], (L, D, H * hd)),
            "wk": normal(ks[2], (L, D, KV * hd)),
            "wv": normal(ks[3], (L, D, KV * hd)),
            "wo": normal(ks[4], (L, H * hd, D)),
            "mlp_norm": jnp.ones((L, D), jnp.float32),
            "w_gate": normal(ks[5], (L, D, F)),
            "w_up": normal(ks[6], (L, D, F)),
            "w_down": normal(ks[7], (L, F, D)),
        },
        "final_norm": jnp.ones((D,), jnp.float32),
    }
    if not config.tie_word_embeddings:
        params["lm_head"] = normal(ks[8], (D, V))
    return params


def rms_norm(x, weight, eps: float):
    """RMSNorm (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight, computed in float32."""
    x32 = x.astype(jnp.float32)
    return (x32 * jax.lax.rsqrt(jnp.mean(x32 * x32, axis=-1, keepdims=True) + eps) * weight).astype(x.dtype)


def rope_cos_sin(positions, head_dim: int, theta: float):
    """cos, sin [..., head_dim] for integer positions (HF layout: frequencies repeated twice)."""
    inv_freq = 1.0 / (theta ** (jnp.arange(0, head_dim, 2, dtype=jnp.float32) / head_dim))
    freqs = positions.astype(jnp.float32)[..., None] * inv_freq
    emb = jnp.concatenate([freqs, freqs], axis=-1)
    return jnp.cos(emb), jnp.sin(emb)


def apply_rope(x, cos, sin):
    """Rotary embedding (Su et al. 2021), "rotate half" form: x*cos + rotate_half(x)*sin.

    x [B, T, heads, hd]; cos/sin [B, T, hd]."""
    half = x.shape[-1] // 2
    rotated = jnp.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos[:, :, None, :] + rotated * sin[:, :, None, :]


def init_cache(config: LlamaConfig, batch: int, max_len: int) -> KVCache:
    """An empty KV cache for ``batch`` sequences of up to ``max_len`` tokens."""
    shape = (batch, config.num_key_value_heads, max_len, config.head_dim)
    L = config.num_hidden_layers
    return KVCache(tuple(jnp.zeros(shape, jnp.float32) for _ in range(L)),
                   tuple(jnp.zeros(shape, jnp.float32) for _ in range(L)))


def forward(params: dict, config: LlamaConfig, tokens, positions, key_mask, cache: KVCache | None = None, index=0):
    """Logits for ``tokens`` and the updated cache.

    Args:
      tokens: int [B, T] token ids.
      positions: int [B, T] RoPE positions (0-based index of each token in its own sequence).
      key_mask: bool [B, T_keys]: which key slots hold real tokens (T_keys = T without a cache, the
        cache length with one). A query at slot s attends to key slots <= s that are in the mask.
      cache: optional KVCache; the T new keys/values are written at slots index .. index + T - 1.
      index: int (traced is fine) write offset into the cache.
    Returns:
      (logits float32 [B, T, V], new cache or None).
    """
    B, T = tokens.shape
    H, KV, hd = config.num_attention_heads, config.num_key_value_heads, config.head_dim
    x = params["embed"][tokens]
    cos, sin = rope_cos_sin(positions, hd, config.rope_theta)
    q_slots = index + jnp.arange(T)
    k_slots = jnp.arange(key_mask.shape[1])
    allowed = (k_slots[None, :] <= q_slots[:, None])[None] & key_mask[:, None, :]  # [B, T, T_keys]
    bias = jnp.where(allowed, 0.0, -1e30)[:, None]  # [B, 1, T, T_keys]
    scale = 1.0 / math.sqrt(hd)

    def block(h, lp, kc, vc):
        a = rms_norm(h, lp["attn_norm"], config.rms_norm_eps)
        q = apply_rope((a @ lp["wq"]).reshape(B, T, H, hd), cos, sin).transpose(0, 2, 1, 3)  # [B, H, T, hd]
        k = apply_rope((a @ lp["wk"]).reshape(B, T, KV, hd), cos, sin).transpose(0, 2, 1, 3)
        v = (a @ lp["wv"]).reshape(B, T, KV, hd).transpose(0, 2, 1, 3)
        if kc is not None:
            kc = jax.lax.dynamic_update_slice(kc, k, (0, 0, index, 0))
            vc = jax.lax.dynamic_update_slice(vc, v, (0, 0, index, 0))
            k_all, v_all = kc, vc
        else:
            k_all, v_all = k, v
        rep = H // KV  # grouped-query attention: each key/value head serves rep query heads
        if rep > 1:
            k_all = jnp.repeat(k_all, rep, axis=1)
            v_all = jnp.repeat(v_all, rep, axis=1)
        scores = jnp.einsum("bhtd,bhsd->bhts", q, k_all) * scale + bias
        probs = jax.nn.softmax(scores, axis=-1)
        att = jnp.einsum("bhts,bhsd->bhtd", probs, v_all).transpose(0, 2, 1, 3).reshape(B, T, H * hd)
        h = h + att @ lp["wo"]
        m = rms_norm(h, lp["mlp_norm"], config.rms_norm_eps)
        h = h + (jax.nn.silu(m @ lp["w_gate"]) * (m @ lp["w_up"])) @ lp["w_down"]
        return h, kc, vc

    # a Python loop over the (few) layers: each layer's cache is then its own loop-carried buffer that XLA
    # updates in place, and training runs ~10% faster than under lax.scan on CPU
    ks, vs = [], []
    for i in range(config.num_hidden_layers):
        lp = jax.tree.map(lambda w: w[i], params["layers"])
        x, kc, vc = block(x, lp, None if cache is None else cache.k[i], None if cache is None else cache.v[i])
        ks.append(kc)
        vs.append(vc)
    new_cache = None if cache is None else KVCache(tuple(ks), tuple(vs))
    x = rms_norm(x, params["final_norm"], config.rms_norm_eps)
    head = params["embed"].T if config.tie_word_embeddings else params["lm_head"]
    return (x @ head).astype(jnp.float32), new_cache


def sequence_logits(params: dict, config: LlamaConfig, tokens, pad_mask=None):
    """Logits [B, T, V] for right-padded sequences (training): positions 0..T-1, pads masked as keys."""
    B, T = tokens.shape
    mask = jnp.ones((B, T), bool) if pad_mask is None else pad_mask.astype(bool)
    positions = jnp.broadcast_to(jnp.arange(T), (B, T))
    return forward(params, config, tokens, positions, mask)[0]


def token_log_probs(logits, targets):
    """log p(target) per position: logits [B, T, V], targets int [B, T] -> [B, T] (nats)."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]


def count_params(params) -> int:
    return int(sum(x.size for x in jax.tree.leaves(params)))
