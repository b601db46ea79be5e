"""coverage_rotation in quick mode: files, summary schema and the claims quick mode supports."""

import numpy as np
from helpers import run_quick

from experiments import coverage_rotation
from sim.checkpoints import load_checkpoints


def test_coverage_rotation_quick(tmp_path):
    out, d, summary = run_quick(coverage_rotation, tmp_path, ("checkpoints.npz", "data.csv", "jaccard_heatmap.png",
                                                           "retention_acquisition.png", "passk_union_vs_single.png",
                                                           "rotation_vs_sharing.png"))
    assert "setting" in summary and len(summary["claims"]) == 6
    ck = load_checkpoints(d)
    assert ck["answer_probs"].shape == (coverage_rotation.CONFIG.n_checkpoints, coverage_rotation.N_TEST, 8)
    header = (d / "data.csv").read_text().splitlines()[0]
    assert header == "table,sharing,seed,checkpoint,step,checkpoint2,K,metric,value"
    # claims quick mode is designed to support: excess ~0 without sharing, rotation grows with sharing,
    # smooth and rising training reward, excess >= 0.10 on average and >= 0.08 in every seed
    assert all(c["holds"] for c in summary["claims"]), summary["claims"]


def test_analyse_on_a_hand_case():
    # two checkpoints solving disjoint halves deterministically: Jaccard 0, union covers all
    p = np.array([[0.9, 0.9, 0.0, 0.0], [0.0, 0.0, 0.9, 0.9]])
    res = coverage_rotation.analyse(p)
    assert res["jaccard"][0, 1] == 0.0 and res["rotation"] == 1.0
    assert res["retention"][0] == 0.0 and res["acquisition"][0] == 0.5 and res["loss"][0] == 0.5
    assert abs(res["best_single"] - 0.5) < 1e-12 and abs(res["union_even"] - 1.0) < 1e-12
    assert res["unsolvable"][8]["nested_pairs"] == 0.0
