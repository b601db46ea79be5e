"""sc_negative_gain in quick mode: files, summary schema and the claims quick mode supports."""

import numpy as np
from helpers import run_quick

from experiments import sc_negative_gain
from sim.checkpoints import load_checkpoints


def test_sc_negative_gain_quick(tmp_path):
    out, d, summary = run_quick(sc_negative_gain, tmp_path, ("checkpoints.npz", "data.csv", "diagnosis.csv", "sc_gain_map.png",
                                                            "sampled_vs_exact.png", "trajectory.png", "shortcut_trajectory.png"))
    assert "setting" in summary and len(summary["claims"]) == 12
    ck = load_checkpoints(d)
    assert ck["answer_probs"].shape == (sc_negative_gain.CONFIG.n_checkpoints, sc_negative_gain.TRAIN_P, 8)
    assert (d / "data.csv").read_text().splitlines()[0] == "part,setting,epsilon,T,K,checkpoint,step,metric,value"
    # claims quick mode supports: sampled agrees with exact, the map has both signs, pass@1 rises,
    # negative SC gain after the rise, diagnosis identity (the strict 'turns negative' is seed-sensitive)
    holds = [c["holds"] for c in summary["claims"]]
    assert holds[0] and holds[1] and holds[2] and holds[3] and holds[5], summary["claims"]
    # part (c), the zero-absorbs shortcut: every claim (deep hard-split dip after the rise, base >= 0, sampled interval
    # below 0, easy split positive, both controls without a negative checkpoint)
    assert all(holds[6:]), summary["claims"][6:]
    sc = summary["shortcut"]
    for v in sc_negative_gain.SC_VARIANTS:
        tr = sc["trajectories"][v]
        assert tr["all"]["n"] == sc_negative_gain.SC_P_TEST and tr["easy"]["n"] + tr["hard"]["n"] == sc_negative_gain.SC_P_TEST
        assert len(tr["hard"]["sc_gain@32"]) == sc_negative_gain.CONFIG.n_checkpoints
    dip_step = sc["dip_step"]
    assert sc["rollouts_to_dip"] == dip_step * sc_negative_gain.CONFIG.batch_size * sc_negative_gain.CONFIG.n_rollouts
    # the shortcut's share on trap-wrong test problems grows in the chosen run and shrinks in the pool-mix control
    shares = {v: np.asarray(sc["strategy_shares_on_trap_wrong"][v]) for v in ("chosen", "control_mix")}
    t = sc["dip_checkpoint"]
    assert shares["chosen"][t, 2] > shares["chosen"][0, 2] + 0.1 and shares["control_mix"][-1, 2] < shares["control_mix"][0, 2]


def test_diagnose_identity_on_a_hand_case():
    ap = np.array([[0.3, 0.6, 0.1, 0.0], [0.4, 0.2, 0.2, 0.2], [0.9, 0.1, 0.0, 0.0]])
    gain = np.array([-0.25, 0.1, 0.05])
    res = sc_negative_gain.diagnose(ap, gain)
    assert res["consistent"]["n"] == 1 and res["scattered"]["n"] == 2
    assert abs(res["consistent"]["contribution"] - (-0.25 / 3)) < 1e-12
    assert abs(res["scattered"]["loss"]) < 1e-12
    assert res["identity_error"] < 1e-12


def test_plurality_chunked_equals_one_call_and_coverage_rotation_by_hand():
    rng = np.random.default_rng(0)
    ap = rng.dirichlet(np.ones(4), size=(3, 5))
    np.testing.assert_allclose(sc_negative_gain.plurality_chunked(ap, 5, chunk=4), sc_negative_gain.plurality_chunked(ap, 5, None),
                               atol=1e-12)
    # coverage rotation: two problems, checkpoints with p0 = (0.5, 0) and (0, 0.5); union of 2 checkpoints with k/2 samples each
    probs = np.zeros((2, 2, 2))
    probs[0, :, 0] = [0.5, 0.0]
    probs[1, :, 0] = [0.0, 0.5]
    probs[..., 1] = 1 - probs[..., 0]
    cov = sc_negative_gain.coverage_rotation(probs, np.ones(2, bool), k=4, J=2)
    assert cov["checkpoints"] == [0, 1]
    assert abs(cov["union"] - (1 - 0.5 ** 2)) < 1e-12  # each problem: 2 samples at p = 0.5 from its good checkpoint
    assert abs(cov["best_single"] - 0.5 * (1 - 0.5 ** 4)) < 1e-12
