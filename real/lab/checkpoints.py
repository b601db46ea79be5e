"""Training checkpoints on disk (safetensors; the Hugging Face export is ``real.lab.hf_export``).

Training checkpoint (``save_checkpoint``/``load_checkpoint``), a folder holding
- ``model.safetensors``: parameters under our names (``embed``, ``layers.wq``, ...; layers stacked);
- ``optimizer.safetensors``: the optax state's array leaves, named by tree path (restored into the
  structure of a freshly initialised state, so nothing is unpickled);
- ``config.json``: ``LlamaConfig``, the step, and any JSON-able run metadata.
Files are written to a temporary folder and renamed into place, so a killed run never leaves a half
checkpoint behind; ``latest_checkpoint`` finds the newest complete one to resume from.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np

from common.atomic import atomic_dir
from real.lab.model import LlamaConfig


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


def save_checkpoint(path, params: dict, config: LlamaConfig, *, opt_state=None, step: int = 0, meta: dict | None = None) -> Path:
    """Write a training checkpoint folder atomically (module docstring)."""
    from safetensors.numpy import save_file

    def write(tmp: Path):
        save_file(_flat_params(params), str(tmp / "model.safetensors"))
        if opt_state is not None:
            leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
            save_file({jax.tree_util.keystr(kp): np.asarray(x) for kp, x in leaves}, str(tmp / "optimizer.safetensors"))
        (tmp / "config.json").write_text(json.dumps({"model": config.to_dict(), "step": int(step), "meta": meta or {}}, indent=1))

    return atomic_dir(Path(path), write)


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


def is_training_checkpoint(path) -> bool:
    """Whether ``path`` is a training checkpoint folder of ours (``config.json`` with our ``model`` and ``step``
    keys), as opposed to a Hugging Face folder (whose ``config.json`` has ``model_type``)."""
    f = Path(path) / "config.json"
    try:
        doc = json.loads(f.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("model"), dict) and "step" in doc and "model_type" not in doc


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
