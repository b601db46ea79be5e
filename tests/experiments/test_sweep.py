"""The sweep (experiments/sweep.py): a tiny grid to Parquet, checked against an independent run."""

import argparse
import json
import math

import jax
import numpy as np
import pyarrow.parquet as pq
import pytest

from experiments import sweep
from sim.metrics import exact_metrics
from sim.train import make_run

EPS, TEMPS, ADVS, SEEDS = (0.0, 0.3), (0.8,), ("grpo", "passk_analytic"), 2
STEPS, EVERY, P, B = 20, 10, 32, 8


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "sweep" / "sweep.parquet"
    # chunk=3 over 4 cells per advantage: two calls, the last one padded (exercises the chunk path)
    table = sweep.run_sweep(EPS, TEMPS, ADVS, SEEDS, n_steps=STEPS, checkpoint_every=EVERY, n_problems=P, batch_size=B,
                            chunk=3, out_path=out, progress=False)
    return out, table


def test_parquet_schema_rows_values(swept):
    out, table = swept
    t = pq.read_table(out).to_pydict()
    assert tuple(t) == sweep.COLUMNS
    n_cells = len(EPS) * len(TEMPS) * len(ADVS) * SEEDS
    n_ckpt = STEPS // EVERY + 1
    assert len(t["value"]) == n_cells * n_ckpt * len(sweep.METRICS)
    v = np.asarray(t["value"])
    assert np.all(np.isfinite(v))
    metric = np.asarray(t["metric"])
    assert set(metric) == set(sweep.METRICS)
    for name in ("pass@1", "pass@8", "maj@5"):
        assert np.all((v[metric == name] >= -1e-9) & (v[metric == name] <= 1 + 1e-9))
    assert np.all(np.abs(v[metric == "sc_gain@5"]) <= 1 + 1e-9)
    assert np.all((v[metric == "strategy_entropy"] >= -1e-6) & (v[metric == "strategy_entropy"] <= math.log(16) + 1e-6))
    assert np.all((v[metric == "answer_entropy"] >= -1e-6) & (v[metric == "answer_entropy"] <= math.log(8) + 1e-6))
    # pass@8 >= pass@1 row by row; every cell has every (checkpoint, metric) exactly once
    cells = {(a, e, T, s) for a, e, T, s in zip(t["advantage"], t["epsilon"], t["temperature"], t["seed"])}
    assert cells == {(a, e, T, s) for a in ADVS for e in EPS for T in TEMPS for s in range(SEEDS)}
    keys = list(zip(t["advantage"], t["epsilon"], t["temperature"], t["seed"], t["checkpoint"], t["metric"]))
    assert len(set(keys)) == len(keys)
    assert sorted(set(t["step"])) == list(range(0, STEPS + 1, EVERY))
    p1, p8 = v[metric == "pass@1"], v[metric == "pass@8"]
    assert np.all(p8 >= p1 - 1e-9)
    # the returned dict is the same table
    assert np.array_equal(table["value"], v) and list(table["metric"]) == t["metric"]
    s = json.loads((out.parent / "summary.json").read_text())
    assert s["name"] == "sweep" and s["claims"] and all(c["holds"] for c in s["claims"])
    assert set(s["claims"][0]) == {"claim", "holds", "value", "threshold"}


def test_cell_matches_independent_run(swept):
    out, _ = swept
    t = pq.read_table(out).to_pydict()
    adv, eps, T, seed = "passk_analytic", 0.3, 0.8, 1
    cfg = sweep.train_config(adv, STEPS, EVERY, batch_size=B)
    cfg = cfg.__class__(**{**cfg.__dict__, "temperature": T})
    bank, pol = sweep.bank_and_policy(P)
    res = make_run(cfg)(jax.random.fold_in(jax.random.PRNGKey(3), seed), bank.replace(epsilon=eps), pol, cfg.hyper())
    ap = np.asarray(res.checkpoints.answer_probs, np.float64)
    for c in range(ap.shape[0]):
        em = exact_metrics(ap[c], ks=(8,), maj_ks=(5,))
        want = {"pass@1": ap[c][:, 0].mean(), "pass@8": em["pass@8"].mean(), "maj@5": em["maj@5"].mean(),
                "sc_gain@5": em["sc_gain@5"].mean(), "answer_entropy": em["answer_entropy"].mean(),
                "strategy_entropy": float(np.asarray(res.checkpoints.strategy_entropy[c], np.float64).mean())}
        for name, w in want.items():
            got = [val for a, e, tt, s, ck, m, val in zip(t["advantage"], t["epsilon"], t["temperature"], t["seed"],
                                                         t["checkpoint"], t["metric"], t["value"])
                   if (a, e, tt, s, ck, m) == (adv, eps, T, seed, c, name)]
            assert len(got) == 1
            assert got[0] == pytest.approx(w, abs=1e-5), (c, name)


def test_cli_arguments():
    ap = sweep.add_arguments(argparse.ArgumentParser())
    a = ap.parse_args(["--epsilon", "0,0.2", "--temperature", "1", "--advantage", "grpo,ucb", "--seeds", "3",
                       "--steps", "30", "--checkpoint-every", "10", "--problems", "64", "--out", "x.parquet", "--quick"])
    assert a.epsilon == [0.0, 0.2] and a.temperature == [1.0] and a.advantage == ["grpo", "ucb"] and a.seeds == 3
    assert a.steps == 30 and a.checkpoint_every == 10 and a.problems == 64 and a.quick
    with pytest.raises(SystemExit):
        ap.parse_args(["--advantage", "nope"])
    with pytest.raises(ValueError, match="epsilon"):
        sweep.run_sweep([1.5], [1.0], ["grpo"], 1, n_steps=10, checkpoint_every=10, n_problems=16, batch_size=4)
