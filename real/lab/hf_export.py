"""Hugging Face Llama export of our model: a folder that ``transformers`` and vLLM load as they are.

``export_hf`` writes ``config.json`` (LlamaForCausalLM), ``model.safetensors`` with HF tensor names and
PyTorch layouts (``Linear.weight`` = our matrix transposed), ``tokenizer.json`` (adds ``<bos>`` to text
prompts, as our sampler and training do), ``tokenizer_config.json`` and ``generation_config.json``;
``transformers.AutoModelForCausalLM.from_pretrained(DIR)`` and ``vllm.LLM(model=DIR)`` load it.
Weights are float32. The folder is written atomically (``common.atomic.atomic_dir``).

vLLM's CPU attention runs only some head sizes (``hidden_size / num_attention_heads``): a folder of
another size loads and then fails at its first forward pass ("Unsupported CPU attention configuration:
head_dim=24"). ``export_hf`` refuses such a model, naming its head size, unless
``allow_vllm_unsupported=True`` (transformers loads any head size).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from common.atomic import atomic_dir
from real.lab.model import LlamaConfig
from real.lab.tokenizer import CharTokenizer

# Head sizes vLLM 0.32.0's CPU build runs. Declared by its CPU attention backend
# (vllm.v1.attention.backends.cpu_attn.CPUAttentionBackend.get_supported_head_sizes(): 32, 64, 80, 96, 112,
# 128, 160, 192, 224, 256, 512; tests/real/lab/test_hf_export.py compares with it wherever vLLM imports);
# loading and sampling a one-layer model of each size on this project's CPU machine (AVX2, x86-64) also
# ran 48, and refused 8, 16, 24 and 40 with "Unsupported CPU attention configuration: head_dim=...".
VLLM_CPU_HEAD_SIZES = (32, 48, 64, 80, 96, 112, 128, 160, 192, 224, 256, 512)


def hf_state_dict(params: dict, config: LlamaConfig) -> dict:
    """Our parameters under Hugging Face LlamaForCausalLM names, PyTorch layouts, as NumPy arrays."""
    out = {"model.embed_tokens.weight": np.asarray(params["embed"]), "model.norm.weight": np.asarray(params["final_norm"])}
    lp = {k: np.asarray(v) for k, v in params["layers"].items()}
    names = {"wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj", "wo": "self_attn.o_proj",
             "w_gate": "mlp.gate_proj", "w_up": "mlp.up_proj", "w_down": "mlp.down_proj"}
    for i in range(config.num_hidden_layers):
        for ours, theirs in names.items():
            out[f"model.layers.{i}.{theirs}.weight"] = np.ascontiguousarray(lp[ours][i].T)
        out[f"model.layers.{i}.input_layernorm.weight"] = lp["attn_norm"][i]
        out[f"model.layers.{i}.post_attention_layernorm.weight"] = lp["mlp_norm"][i]
    if not config.tie_word_embeddings:
        out["lm_head.weight"] = np.ascontiguousarray(np.asarray(params["lm_head"]).T)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def hf_config(config: LlamaConfig, tokenizer: CharTokenizer) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": config.vocab_size,
        "hidden_size": config.hidden_size, "intermediate_size": config.intermediate_size,
        "num_hidden_layers": config.num_hidden_layers, "num_attention_heads": config.num_attention_heads,
        "num_key_value_heads": config.num_key_value_heads, "head_dim": config.head_dim,
        "max_position_embeddings": config.max_position_embeddings, "rms_norm_eps": config.rms_norm_eps,
        "rope_theta": config.rope_theta, "hidden_act": "silu", "attention_bias": False, "mlp_bias": False,
        "tie_word_embeddings": config.tie_word_embeddings, "initializer_range": config.initializer_range,
        "bos_token_id": tokenizer.bos_id, "eos_token_id": tokenizer.eos_id, "pad_token_id": tokenizer.pad_id,
        "torch_dtype": "float32",
    }


def check_vllm_head_size(config: LlamaConfig) -> None:
    """Raise ``ValueError`` naming the head size when vLLM's CPU attention cannot run ``config``
    (:data:`VLLM_CPU_HEAD_SIZES`)."""
    hd = config.head_dim
    if hd not in VLLM_CPU_HEAD_SIZES:
        ok = [h for h in VLLM_CPU_HEAD_SIZES if config.hidden_size % h == 0]
        near = min(ok, key=lambda h: abs(config.hidden_size // h - config.num_attention_heads)) if ok else None
        hint = (f"e.g. num_attention_heads = {config.hidden_size // near} (head size {near})" if ok else
                f"e.g. hidden_size {32 * config.num_attention_heads} for {config.num_attention_heads} head(s) of size 32")
        raise ValueError(f"head size {hd} (hidden_size {config.hidden_size} / num_attention_heads {config.num_attention_heads}): "
                         f"vLLM's CPU attention rejects it (it runs head sizes {', '.join(map(str, VLLM_CPU_HEAD_SIZES))}); "
                         f"choose another shape, {hint}, or export anyway with allow_vllm_unsupported=True "
                         "(transformers loads any head size)")


def export_hf(path, params: dict, config: LlamaConfig, tokenizer: CharTokenizer | None = None, *,
              allow_vllm_unsupported: bool = False) -> Path:
    """Write a Hugging Face Llama checkpoint folder (config.json, model.safetensors, tokenizer.json).

    Refuses (``ValueError`` naming the head size) a model whose head size vLLM's CPU attention rejects,
    unless ``allow_vllm_unsupported`` (module docstring)."""
    from safetensors.numpy import save_file

    if not allow_vllm_unsupported:
        check_vllm_head_size(config)
    tokenizer = tokenizer or CharTokenizer()
    if tokenizer.vocab_size != config.vocab_size:
        raise ValueError(f"tokenizer: vocabulary size {tokenizer.vocab_size} differs from config.vocab_size {config.vocab_size}")

    def write(tmp: Path):
        save_file(hf_state_dict(params, config), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(hf_config(config, tokenizer), indent=1))
        (tmp / "tokenizer.json").write_text(tokenizer.to_hf_json())
        (tmp / "tokenizer_config.json").write_text(json.dumps({
            "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
            "unk_token": "<pad>", "model_max_length": config.max_position_embeddings, "add_bos_token": True}, indent=1))
        (tmp / "generation_config.json").write_text(json.dumps({
            "bos_token_id": tokenizer.bos_id, "eos_token_id": tokenizer.eos_id, "pad_token_id": tokenizer.pad_id}, indent=1))

    return atomic_dir(Path(path), write)
