"""sc_negative_gain in quick mode: files, summary schema and the claims quick mode supports."""

import numpy as np
from helpers import run_quick

from experiments import sc_negative_gain
from sim.checkpoints import load_checkpoints


def test_sc_negative_gain_quick(tmp_path):
    out, d, summary = run_quick(sc_negative_gain, tmp_path, ("checkpoints.npz", "data.csv", "diagnosis.csv", "sc_gain_map.png",
                                                            "sampled_vs_exact.png", "trajectory.png"))
    assert "setting" in summary and len(summary["claims"]) == 6
    ck = load_checkpoints(d)
    assert ck["answer_probs"].shape == (sc_negative_gain.CONFIG.n_checkpoints, sc_negative_gain.TRAIN_P, 8)
    assert (d / "data.csv").read_text().splitlines()[0] == "part,setting,epsilon,T,K,checkpoint,step,metric,value"
    # claims quick mode supports: sampled agrees with exact, the map has both signs, pass@1 rises,
    # negative SC gain after the rise, diagnosis identity (the strict 'turns negative' is seed-sensitive)
    holds = [c["holds"] for c in summary["claims"]]
    assert holds[0] and holds[1] and holds[2] and holds[3] and holds[5], summary["claims"]


def test_diagnose_identity_on_a_hand_case():
    ap = np.array([[0.3, 0.6, 0.1, 0.0], [0.4, 0.2, 0.2, 0.2], [0.9, 0.1, 0.0, 0.0]])
    gain = np.array([-0.25, 0.1, 0.05])
    res = sc_negative_gain.diagnose(ap, gain)
    assert res["consistent"]["n"] == 1 and res["scattered"]["n"] == 2
    assert abs(res["consistent"]["contribution"] - (-0.25 / 3)) < 1e-12
    assert abs(res["scattered"]["loss"]) < 1e-12
    assert res["identity_error"] < 1e-12
