"""Figures: matplotlib (Agg, no screen) figures rendered to PNG in memory and written atomically."""

from __future__ import annotations

import io
from pathlib import Path

from common.atomic import atomic_write_bytes


def pyplot():
    """``matplotlib.pyplot`` with the non-interactive Agg backend (figures are files, never windows)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path, *, dpi: int = 110, close: bool = False) -> Path:
    """Render ``fig`` to PNG at ``dpi`` and write it atomically to ``path``; ``close`` closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    if close:
        pyplot().close(fig)
    return atomic_write_bytes(Path(path), buf.getvalue())
