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


def tiny_lm_config(**overrides):
    """A 2-layer width-32 Llama config (4 query / 2 KV heads, 64 positions) over the character vocabulary."""
    from real.lab.model import LlamaConfig
    from real.lab.tokenizer import CharTokenizer

    kw = dict(vocab_size=CharTokenizer().vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    kw.update(overrides)
    return LlamaConfig(**kw)


def make_tiny_lm(seed: int = 0, **overrides) -> TinyLM:
    """``tiny_lm_config(**overrides)`` with weights initialised from ``jax.random.key(seed)`` and the tokenizer."""
    import jax

    from real.lab.model import init_params
    from real.lab.tokenizer import CharTokenizer

    cfg = tiny_lm_config(**overrides)
    return TinyLM(cfg, init_params(cfg, jax.random.key(seed)), CharTokenizer())


def check_summary(path: Path, name: str) -> dict:
    """Load ``summary.json`` and check the results convention (name; claims with the four fields)."""
    summary = json.loads(Path(path).read_text())
    assert summary["name"] == name
    for c in summary["claims"]:
        assert set(c) == {"claim", "holds", "value", "threshold"}
        assert isinstance(c["holds"], bool) and isinstance(c["claim"], str)
    return summary


def toy_run_config():
    """A real RLVR run setting small enough for a test (a 1-layer width-32 model, 20 SFT steps with an
    unreachable target checked every 5, 2 RL steps of 4 problems x 4 rollouts, 8 test problems x 4 samples)."""
    from real.lab.config import RunConfig
    from real.lab.model import LlamaConfig
    from real.lab.tokenizer import CharTokenizer

    model = LlamaConfig(vocab_size=CharTokenizer().vocab_size, hidden_size=32, intermediate_size=96, num_hidden_layers=1,
                        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=80)
    return RunConfig(model=model).replace(
        task={"sft_problems": 500, "test_problems": 8, "validation_problems": 6},
        sft={"steps": 20, "batch_size": 16, "target_pass_at_1": 1.0, "eval_every": 5, "validation_samples": 2},
        rl={"steps": 2, "batch_problems": 4, "n_rollouts": 4, "checkpoint_every": 1},
        evaluation={"n_samples": 4})


def run_quick(module, tmp_path, files) -> tuple[dict, Path, dict]:
    """Run an experiment module's quick mode into ``tmp_path``; check that ``files`` exist in its folder and that
    ``summary.json`` follows the results convention and holds the returned claims. Returns (out, folder, summary)."""
    out = module.run(quick=True, results_dir=tmp_path)
    folder = Path(tmp_path) / module.NAME
    for name in ("summary.json", *files):
        assert (folder / name).is_file(), name
    summary = check_summary(folder / "summary.json", module.NAME)
    assert summary["claims"] == out["claims"]
    return out, folder, summary


def table_from_samples(samples, gold="A", labels=True):
    """A CountsTable from answer lists: samples nested [C][P] (None = unparsed; [] = not evaluated), checkpoints
    "0", "10", ..., problems "q0", ...; ``labels=False`` drops the wrong answers' labels (a count-only answer table)."""
    from real.logs.table import CountsTable, from_answer_counts

    C, P = len(samples), len(samples[0])
    counts = [[{} for _ in range(P)] for _ in range(C)]
    for c in range(C):
        for p in range(P):
            for a in samples[c][p]:
                counts[c][p][a] = counts[c][p].get(a, 0) + 1
    t = from_answer_counts([str(10 * c) for c in range(C)], [f"q{p}" for p in range(P)], counts, [gold] * P)
    if not labels:
        t = CountsTable(t.checkpoints, t.steps, t.problem_ids, t.n_samples, t.n_correct, t.answer_counts, t.n_null)
    return t
