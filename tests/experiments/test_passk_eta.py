"""Quick-mode run of experiments.passk_eta: files, summary schema, and the claims quick mode supports."""

import csv
import json

import numpy as np
import pytest

from experiments import passk_eta
from sim.checkpoints import load_checkpoints


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("res")
    out = passk_eta.run(quick=True, results_dir=d, seed=0)
    return d / passk_eta.NAME, out


def test_files_exist(quick_run):
    out_dir, _ = quick_run
    for name in ("summary.json", "data.csv", "checkpoints.npz", "eta.png", "training.png", "diversity.png"):
        assert (out_dir / name).is_file() and (out_dir / name).stat().st_size > 0, name
    for arm in ("grpo", "passk_k8", "passk_k4", "combination", "passk_then_grpo"):
        ck = load_checkpoints(out_dir / "arms" / arm)
        assert ck["answer_probs"].shape[0] == ck["steps"].shape[0]
    ck = load_checkpoints(out_dir)
    np.testing.assert_allclose(ck["answer_probs"].sum(-1), 1.0, atol=1e-4)
    two = load_checkpoints(out_dir / "arms" / "passk_then_grpo")
    pk = load_checkpoints(out_dir / "arms" / "passk_k8")
    half = len(pk["steps"]) // 2
    # the two-phase run follows the Pass@k run up to the switch
    np.testing.assert_allclose(two["answer_probs"][: half + 1], pk["answer_probs"][: half + 1], atol=1e-6)
    with open(out_dir / "data.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["part"] for r in rows} == {"eta", "training", "diversity"}
    assert all(set(r) == {"part", "method", "k", "n_pos", "seed", "step", "metric", "value"} for r in rows)


def test_summary_schema(quick_run):
    out_dir, out = quick_run
    s = json.loads((out_dir / "summary.json").read_text())
    assert s["name"] == "passk_eta" and s["quick"] is True
    assert "setting" in s and "results" in s
    assert len(s["claims"]) == len(out["claims"]) >= 7
    for c in s["claims"]:
        assert set(c) == {"claim", "holds", "value", "threshold"}
        assert isinstance(c["holds"], bool) and isinstance(c["claim"], str)


def _claim(out, text):
    hits = [c for c in out["claims"] if text in c["claim"]]
    assert hits, text
    return hits


def test_quick_claims(quick_run):
    _, out = quick_run
    eta_claims = _claim(out, "eta measured")
    assert len(eta_claims) == 3 and all(c["holds"] and c["value"] <= 1e-4 for c in eta_claims)
    assert _claim(out, "higher mean strategy entropy than Pass@1")[0]["holds"]
    assert _claim(out, "higher exact pass@16")[0]["holds"]
    assert _claim(out, "GRPO reduces answer diversity")[0]["holds"]
