"""The layering contract (pyproject ``[tool.importlinter]``): it holds on the tree, and it is a contract that can
fail: the same check on a copy with an upward import added reports it, naming the importing module."""

import shutil
import subprocess

import pytest
from helpers import REPO_ROOT

PACKAGES = ("common", "theory", "sim", "real", "experiments")


def _lint_imports(cwd):
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    return subprocess.run([exe], cwd=cwd, capture_output=True, text=True, timeout=300)


def _copy_tree(dst):
    shutil.copy(REPO_ROOT / "pyproject.toml", dst / "pyproject.toml")
    for pkg in PACKAGES:
        shutil.copytree(REPO_ROOT / pkg, dst / pkg, ignore=shutil.ignore_patterns("__pycache__"))


def test_the_layers_hold_on_the_tree():
    proc = _lint_imports(REPO_ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


@pytest.mark.parametrize("module, line, broken", [
    ("theory/coverage.py", "from experiments import registry", "theory is not allowed to import experiments"),
    ("sim/bank.py", "import real.logs.table", "sim is not allowed to import real"),
    ("real/logs/table.py", "from real.lab import model", "real.logs is not allowed to import real.lab"),
    ("common/atomic.py", "import theory.passk", "common is not allowed to import theory"),
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, line, broken):
    _copy_tree(tmp_path)
    with open(tmp_path / module, "a") as f:
        f.write(f"\n{line}  # an upward import\n")
    proc = _lint_imports(tmp_path)
    assert proc.returncode != 0 and broken in proc.stdout, proc.stdout + proc.stderr
