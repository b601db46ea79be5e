"""The results convention: every experiment and benchmark writes ``results/<name>/summary.json``.

``summary.json`` holds ``{"name": ..., "claims": [{"claim", "holds", "value", "threshold"}], ...}``
beside the experiment's data and figures (claims as data: a claim that fails is written as failing).
``RESULTS_DIR`` is ``results`` or the ``RLVR_RESULTS`` environment variable.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json

RESULTS_DIR = Path(os.environ.get("RLVR_RESULTS", "results"))

__all__ = ["RESULTS_DIR", "Claim", "jsonable", "write_summary"]


@dataclass(frozen=True)
class Claim:
    """One checked statement: ``holds`` says whether ``value`` met ``threshold`` (None if not numeric)."""

    claim: str
    holds: bool
    value: float | None
    threshold: float | None = None

    def as_dict(self) -> dict:
        def clean(v):
            if v is None:
                return None
            v = float(v)
            return v if math.isfinite(v) else None

        return {"claim": self.claim, "holds": bool(self.holds), "value": clean(self.value), "threshold": clean(self.threshold)}


def jsonable(x):
    """``x`` with NumPy values made plain JSON: dict keys as strings, tuples and arrays as lists, NumPy bools,
    integers and floats as Python ones, and non-finite floats as None (JSON has no NaN or infinity)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def write_summary(name: str, claims: list[Claim], results_dir=None, *, folder=None, **extra) -> Path:
    """Write ``<results_dir>/<name>/summary.json`` (or ``<folder>/summary.json``) with the claims and
    any extra JSON-able fields; returns its path."""
    out = (Path(folder) if folder is not None else Path(results_dir or RESULTS_DIR) / name) / "summary.json"
    return atomic_write_json(out, {"name": name, "claims": [c.as_dict() for c in claims], **extra})


def format_claim(claim) -> str:
    """One line for a claim (a ``Claim`` or its dict): ``[ok] text: value (threshold t)`` or ``[NO] ...``."""
    d = claim.as_dict() if isinstance(claim, Claim) else claim
    value = "n/a" if d["value"] is None else f"{d['value']:.4g}"
    threshold = "" if d["threshold"] is None else f" (threshold {d['threshold']:g})"
    return f"[{'ok' if d['holds'] else 'NO'}] {d['claim']}: {value}{threshold}"


def print_claims(claims, log=print) -> None:
    """Log every claim with :func:`format_claim`, indented."""
    for c in claims:
        log("  " + format_claim(c))
