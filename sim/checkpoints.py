"""Saving and loading a run's checkpoints as ``<dir>/checkpoints.npz``.

Required arrays (the format other analyses rely on):
- ``answer_probs``: float [checkpoint, problem, answer], answer 0 correct, every row >= 0 summing to 1;
- ``steps``: int [checkpoint], training steps completed at each checkpoint, strictly increasing;
- ``strategy_entropy``: float [checkpoint, problem], nats, >= 0.
Optional: ``logits`` float [checkpoint, problem, strategy] (lets analyses re-evaluate at any
temperature). The file is written atomically: a temporary file in the same directory, then
``os.replace``.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from common.atomic import atomic_path

__all__ = ["save_checkpoints", "load_checkpoints", "validate_checkpoints", "save_state", "load_state", "FILENAME", "STATE_FILENAME"]

FILENAME = "checkpoints.npz"
STATE_FILENAME = "train_state.npz"
_ROW_TOL = 1e-4  # float32 rows sum to 1 within ~1e-6; allow slack for long problems lists


def _arrays_of(run_output) -> dict:
    if isinstance(run_output, dict):
        return dict(run_output)
    ck = run_output.checkpoints  # sim.train.RunOutput
    return {
        "answer_probs": ck.answer_probs,
        "steps": run_output.steps,
        "strategy_entropy": ck.strategy_entropy,
        "logits": ck.logits,
    }


def validate_checkpoints(arrays: dict, source: str = "checkpoints") -> dict:
    """Check shapes, dtypes and values; return NumPy arrays. ValueError names the source and key."""
    out = {}
    for key in ("answer_probs", "steps", "strategy_entropy"):
        if key not in arrays:
            raise ValueError(f"{source}: missing array {key!r} (need answer_probs, steps, strategy_entropy)")
    ap = np.asarray(arrays["answer_probs"])
    steps = np.asarray(arrays["steps"])
    ent = np.asarray(arrays["strategy_entropy"])
    if ap.ndim != 3 or ap.dtype.kind != "f":
        raise ValueError(f"{source}: answer_probs must be a float array [checkpoint, problem, answer], got {ap.dtype} {ap.shape}")
    C, P, m = ap.shape
    if C < 1 or P < 1 or m < 2:
        raise ValueError(f"{source}: answer_probs needs >= 1 checkpoint, >= 1 problem, >= 2 answers, got {ap.shape}")
    if not np.all(np.isfinite(ap)) or np.any(ap < 0):
        raise ValueError(f"{source}: answer_probs must be finite and >= 0")
    row_err = np.abs(ap.sum(axis=-1) - 1.0).max()
    if row_err > _ROW_TOL:
        raise ValueError(f"{source}: answer_probs rows must sum to 1 (worst row off by {row_err:.3g})")
    if steps.shape != (C,) or steps.dtype.kind not in "iu":
        raise ValueError(f"{source}: steps must be an int array [checkpoint] = [{C}], got {steps.dtype} {steps.shape}")
    if C > 1 and np.any(np.diff(steps) <= 0):
        raise ValueError(f"{source}: steps must be strictly increasing, got {steps.tolist()}")
    if ent.shape != (C, P) or ent.dtype.kind != "f":
        raise ValueError(f"{source}: strategy_entropy must be a float array [checkpoint, problem] = [{C}, {P}], got {ent.dtype} {ent.shape}")
    if not np.all(np.isfinite(ent)) or np.any(ent < -1e-6):
        raise ValueError(f"{source}: strategy_entropy must be finite and >= 0")
    out.update(answer_probs=ap, steps=steps, strategy_entropy=ent)
    if "logits" in arrays:
        lg = np.asarray(arrays["logits"])
        if lg.ndim != 3 or lg.shape[:2] != (C, P) or lg.dtype.kind != "f":
            raise ValueError(f"{source}: logits must be a float array [checkpoint, problem, strategy] = [{C}, {P}, S], got {lg.dtype} {lg.shape}")
        out["logits"] = lg
    return out


def _atomic_savez(target: str, arrays: dict) -> None:
    with atomic_path(target) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _read_npz(path, filename: str) -> tuple[str, dict]:
    """(file path, arrays) of an .npz file, ``path`` being the file or its directory (then ``filename`` in it);
    ValueError naming the file for anything unreadable; nothing is unpickled."""
    if os.path.isdir(path):
        path = os.path.join(path, filename)
    try:
        with np.load(path, allow_pickle=False) as data:
            return path, {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: not a readable .npz file ({exc})") from None


def _state_leaves(state) -> list:
    import jax

    return jax.tree_util.tree_flatten_with_path(state)[0]


def save_state(path, state) -> str:
    """Write a ``sim.train.TrainState`` (policy, optimizer state, answer table, step; optionally with a
    leading run axis) to ``<path>/train_state.npz``, atomically, one array per leaf named by its tree
    path. Resume with :func:`load_state` and ``make_run(config)(key, ..., state=...)``."""
    import jax

    arrays = {jax.tree_util.keystr(kp): np.asarray(leaf) for kp, leaf in _state_leaves(state)}
    target = os.path.join(path, STATE_FILENAME)
    _atomic_savez(target, arrays)
    return target


def load_state(path, like):
    """Read ``<path>/train_state.npz`` (or the file itself) into the structure of ``like`` (a TrainState
    of the same config and sizes, e.g. ``init_state(config, policy, bank)``). ValueError names a missing
    leaf or a shape/dtype mismatch; nothing is unpickled."""
    import jax
    import jax.numpy as jnp

    path, arrays = _read_npz(path, STATE_FILENAME)
    leaves = []
    for kp, ref in _state_leaves(like):
        name = jax.tree_util.keystr(kp)
        if name not in arrays:
            raise ValueError(f"{path}: missing state leaf {name!r}")
        a = arrays[name]
        ref = np.asarray(ref)
        if a.shape[a.ndim - ref.ndim:] != ref.shape or a.ndim not in (ref.ndim, ref.ndim + 1) or a.dtype != ref.dtype:
            raise ValueError(f"{path}: state leaf {name!r} has {a.dtype} {a.shape}, expected {ref.dtype} {ref.shape} "
                             "(optionally with a leading run axis)")
        leaves.append(jnp.asarray(a))
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)


def save_checkpoints(path, run_output) -> str:
    """Write ``<path>/checkpoints.npz`` (``path`` a directory, created if needed) from a
    ``sim.train.RunOutput`` (one run, no seed axis) or a dict of arrays. Returns the file path."""
    arrays = validate_checkpoints(_arrays_of(run_output), source="run_output")
    target = os.path.join(path, FILENAME)
    _atomic_savez(target, arrays)
    return target


def load_checkpoints(path) -> dict:
    """Read and validate a checkpoints file (``path`` the .npz file or its directory)."""
    path, arrays = _read_npz(path, FILENAME)
    return validate_checkpoints(arrays, source=str(path))
