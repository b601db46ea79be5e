"""The results convention: every experiment and benchmark writes ``results/<name>/summary.json``.

``summary.json`` holds ``{"name": ..., "claims": [{"claim", "holds", "value", "threshold"}], ...}``
beside the experiment's data and figures. Files are written atomically (temp file + rename).
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

RESULTS_DIR = Path(os.environ.get("RLVR_RESULTS", "results"))


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


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give outputs the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def save_figure(fig, path: Path, *, dpi: int = 110) -> None:
    """Render a matplotlib figure to PNG in memory and write it atomically to ``path``."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())


def write_summary(name: str, claims: list[Claim], results_dir: Path | None = None, **extra) -> Path:
    """Write ``results/<name>/summary.json`` with the claims and any extra JSON-able fields."""
    out = Path(results_dir or RESULTS_DIR) / name / "summary.json"
    payload = {"name": name, "claims": [c.as_dict() for c in claims], **extra}
    atomic_write_text(out, json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return out
