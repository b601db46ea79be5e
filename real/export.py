"""Checkpoints on disk: our training checkpoints (safetensors) and Hugging Face Llama export.

Training checkpoint (``save_checkpoint``/``load_checkpoint``), a folder holding
- ``model.safetensors``: parameters under our names (``embed``, ``layers.wq``, ...; layers stacked);
- ``optimizer.safetensors``: the optax state's array leaves, named by tree path (restored into the
  structure of a freshly initialised state, so nothing is unpickled);
- ``config.json``: ``LlamaConfig``, the step, and any JSON-able run metadata.
Files are written to a temporary folder and renamed into place, so a killed run never leaves a half
checkpoint behind; ``latest_checkpoint`` finds the newest complete one to resume from.

Hugging Face export (``export_hf``): ``config.json`` (LlamaForCausalLM), ``model.safetensors`` with HF
tensor names and PyTorch layouts (``Linear.weight`` = our matrix transposed), ``tokenizer.json`` and
``generation_config.json``; ``transformers.AutoModelForCausalLM.from_pretrained(DIR)`` and
``vllm.LLM(model=DIR)`` load it. Weights are float32.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import jax
import numpy as np

from real.model import LlamaConfig
from real.tokenizer import CharTokenizer


def _flat_params(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, dict):
            for k2, v2 in v.items():
                out[f"{k}.{k2}"] = np.asarray(v2)
        else:
            out[k] = np.asarray(v)
    return out


def _unflat_params(flat: dict) -> dict:
    out: dict = {}
    for k, v in flat.items():
        if "." in k:
            a, b = k.split(".", 1)
            out.setdefault(a, {})[b] = jax.numpy.asarray(v)
        else:
            out[k] = jax.numpy.asarray(v)
    return out


def _atomic_dir(target: Path, write) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        write(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def save_checkpoint(path, params: dict, config: LlamaConfig, *, opt_state=None, step: int = 0, meta: dict | None = None) -> Path:
    """Write a training checkpoint folder atomically (module docstring)."""
    from safetensors.numpy import save_file

    def write(tmp: Path):
        save_file(_flat_params(params), str(tmp / "model.safetensors"))
        if opt_state is not None:
            leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
            save_file({jax.tree_util.keystr(kp): np.asarray(x) for kp, x in leaves}, str(tmp / "optimizer.safetensors"))
        (tmp / "config.json").write_text(json.dumps({"model": config.to_dict(), "step": int(step), "meta": meta or {}}, indent=1))

    return _atomic_dir(Path(path), write)


def load_checkpoint(path, *, opt_state_like=None):
    """(params, config, opt_state or None, step, meta) from a training checkpoint folder.

    ``opt_state_like``: a freshly initialised optimizer state of the same structure (required to
    restore the optimizer; leaves are matched by tree path and checked for shape and dtype)."""
    from safetensors.numpy import load_file

    path = Path(path)
    doc = json.loads((path / "config.json").read_text())
    config = LlamaConfig(**doc["model"])
    params = _unflat_params(load_file(str(path / "model.safetensors")))
    opt_state = None
    if opt_state_like is not None:
        arrays = load_file(str(path / "optimizer.safetensors"))
        leaves = []
        for kp, ref in jax.tree_util.tree_flatten_with_path(opt_state_like)[0]:
            name = jax.tree_util.keystr(kp)
            if name not in arrays:
                raise ValueError(f"{path}: optimizer leaf {name!r} missing")
            a = arrays[name]
            if a.shape != np.shape(ref):
                raise ValueError(f"{path}: optimizer leaf {name!r} has shape {a.shape}, expected {np.shape(ref)}")
            leaves.append(jax.numpy.asarray(a, dtype=np.asarray(ref).dtype))
        opt_state = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(opt_state_like), leaves)
    return params, config, opt_state, int(doc["step"]), doc.get("meta", {})


def latest_checkpoint(run_dir) -> Path | None:
    """The complete checkpoint folder ``step_<N>`` with the largest N under ``run_dir`` (or None)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return None
    best = None
    for d in run_dir.iterdir():
        if d.is_dir() and d.name.startswith("step_") and (d / "config.json").is_file():
            try:
                n = int(d.name[5:])
            except ValueError:
                continue
            if best is None or n > best[0]:
                best = (n, d)
    return None if best is None else best[1]


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


def export_hf(path, params: dict, config: LlamaConfig, tokenizer: CharTokenizer | None = None) -> Path:
    """Write a Hugging Face Llama checkpoint folder (config.json, model.safetensors, tokenizer.json)."""
    from safetensors.numpy import save_file

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

    return _atomic_dir(Path(path), write)
