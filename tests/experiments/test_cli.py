"""The results convention (summary.json claims, atomic writes, index) and the experiments CLI."""

import json

import numpy as np
import pytest

from experiments import __main__ as cli
from experiments.bench_theory import monte_carlo_plurality
from experiments.index import write_index
from common.atomic import atomic_write_text
from common.results import Claim, write_summary
from theory.voting import plurality_accuracy


def test_summary_schema_and_index(tmp_path):
    claims = [Claim("a number is small", True, 0.25, 1.0), Claim("a thing holds", False, float("nan"), None)]
    path = write_summary("demo", claims, results_dir=tmp_path, extra_field=3)
    data = json.loads(path.read_text())
    assert data["name"] == "demo" and data["extra_field"] == 3
    assert data["claims"] == [
        {"claim": "a number is small", "holds": True, "value": 0.25, "threshold": 1.0},
        {"claim": "a thing holds", "holds": False, "value": None, "threshold": None},
    ]
    index = write_index(tmp_path)
    page = index.read_text()
    assert "demo (1/2 claims hold)" in page and "summary.json" in page
    assert "| NO | a thing holds |" in (tmp_path / "index.md").read_text()


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "x.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, like any plain output file


def test_cli_lists_and_rejects_unknown_names(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "symbolic" in out and "theory" in out
    assert cli.main(["run", "no-such-experiment"]) == 2
    assert "name: unknown run target" in capsys.readouterr().err


def test_benchmark_monte_carlo_reference_agrees_with_exact():
    rng = np.random.default_rng(1)
    p = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    est, se = monte_carlo_plurality(rng, p, 9, 50_000, "random")
    assert abs(est - plurality_accuracy(p, 9)) < 5 * se
    with pytest.raises(ValueError, match="^tie:"):
        plurality_accuracy(p, 9, tie="majority")
