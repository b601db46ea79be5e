"""Plain helpers for the tests (importable as ``helpers``: pyproject puts tests/ on the path).

``REPO_ROOT`` / ``SHARED_DATA`` (``../shared/data``, real data sets; tests that need them skip when absent),
``make_tiny_lm`` (a 2-layer JAX Llama with the character tokenizer), ``check_summary`` (the results
convention on a ``summary.json``). Fixtures built on them live in ``conftest.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """A file under ``../shared/data`` (for ``skipif`` marks: check ``.is_file()``)."""
    return SHARED_DATA.joinpath(*parts)


class TinyLM(NamedTuple):
    config: object
    params: dict
    tokenizer: object


def make_tiny_lm(seed: int = 0, **overrides) -> TinyLM:
    import jax

    from real.lab.model import LlamaConfig, init_params
    from real.lab.tokenizer import CharTokenizer

    tk = CharTokenizer()
    kw = dict(vocab_size=tk.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    kw.update(overrides)
    cfg = LlamaConfig(**kw)
    return TinyLM(cfg, init_params(cfg, jax.random.key(seed)), tk)


def check_summary(path: Path, name: str) -> dict:
    """Load ``summary.json`` and check the results convention (name; claims with the four fields)."""
    summary = json.loads(Path(path).read_text())
    assert summary["name"] == name
    for c in summary["claims"]:
        assert set(c) == {"claim", "holds", "value", "threshold"}
        assert isinstance(c["holds"], bool) and isinstance(c["claim"], str)
    return summary
