"""Fixtures shared by every test folder (the tree mirrors the source: tests/<package>/test_<module>.py).

- ``repo_root`` / ``shared_data``: the checkout and ``../shared/data`` (``shared_data`` skips the test,
  naming the folder, when it is absent);
- ``tiny_lm``: a 2-layer JAX Llama (width 32, 4 query / 2 KV heads) with the character tokenizer and
  fixed random weights (``helpers.make_tiny_lm``), for the language-model lab's tests.
"""

from __future__ import annotations

import os
from pathlib import Path

# Most of the suite's time is XLA compiling small programs once each (a warm persistent compilation cache cut three
# lab test files from 223 s to 60 s). Tests check values, not speed, so XLA compiles them with LLVM's cheap passes
# (about 30% less CPU time on those files); benchmarks and experiments keep the default optimisation. Subprocesses
# the tests start inherit it. A caller's own XLA_FLAGS win.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true")
# The suite runs on two worker processes (pytest -n 2) on two cores: one BLAS thread each. Two OpenBLAS threads per
# worker oversubscribe the cores and made scipy's L-BFGS-B fits about 20x slower on a loaded machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest
from helpers import REPO_ROOT, SHARED_DATA, TinyLM, make_tiny_lm


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test when the folder is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (real data sets for validation)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_lm() -> TinyLM:
    """A tiny random-weight Llama with the character tokenizer (seed 0)."""
    return make_tiny_lm(0)
