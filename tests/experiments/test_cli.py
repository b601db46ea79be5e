"""The results index and the experiments CLI."""

import numpy as np
import pytest

from common.results import Claim, write_summary
from experiments import __main__ as cli
from experiments.bench_theory import monte_carlo_plurality
from experiments.index import write_index
from theory.voting import plurality_accuracy


def test_index_lists_every_summary(tmp_path):
    claims = [Claim("a number is small", True, 0.25, 1.0), Claim("a thing holds", False, float("nan"), None)]
    write_summary("demo", claims, results_dir=tmp_path)
    page = write_index(tmp_path).read_text()
    assert "demo (1/2 claims hold)" in page and "summary.json" in page
    assert "| NO | a thing holds |" in (tmp_path / "index.md").read_text()


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
