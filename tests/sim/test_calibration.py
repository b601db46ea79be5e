"""sim.calibration: the calibrated policy reproduces the smoothed empirical strategy law, and the bank's answers."""

from __future__ import annotations

import numpy as np
import pytest

from sim.calibration import MASKED, calibrated_bank, calibrated_policy
from sim.metrics import answer_probs
from sim.policy import logits, strategy_probs


def test_policy_is_the_smoothed_empirical_law():
    counts = np.array([[3, 1, 0, 0], [0, 0, 5, 5]])
    avail = np.array([[True, True, True, False], [True, True, True, True]])
    pol = calibrated_policy(counts, avail, smoothing=0.5)
    probs = np.asarray(strategy_probs(logits(pol), 1.0))
    want0 = np.array([3.5, 1.5, 0.5, 0.0]) / 5.5  # by hand: (c + a) / (n + a S_i), S_0 = 3
    want1 = np.array([0.5, 0.5, 5.5, 5.5]) / 12.0
    np.testing.assert_allclose(probs[0], want0, atol=1e-9)
    np.testing.assert_allclose(probs[1], want1, atol=1e-12)
    assert float(pol.v[0, 3]) == MASKED and np.all(np.asarray(pol.u) == 0)


def test_answer_law_of_the_calibrated_pair():
    answers = np.array([[1, 0, 2], [0, 0, 1]])  # strategy answers per problem (0 = correct)
    counts = np.array([[2, 6, 2], [1, 1, 8]])
    bank = calibrated_bank(answers, 3)
    ap = np.asarray(answer_probs(logits(calibrated_policy(counts, smoothing=1.0)), bank, 1.0))
    # problem 0: strategy shares (3, 7, 3)/13 on answers (1, 0, 2); problem 1: (2, 2, 9)/13 on (0, 0, 1)
    np.testing.assert_allclose(ap[0], np.array([7, 3, 3]) / 13, atol=1e-9)
    np.testing.assert_allclose(ap[1], np.array([4, 9, 0]) / 13, atol=1e-9)


@pytest.mark.parametrize("kw,match", [
    (dict(counts=np.array([[1, -1]])), "counts"),
    (dict(counts=np.array([[1, 1]]), available=np.array([[True, False]])), "not available"),
    (dict(counts=np.array([[0, 0]]), available=np.array([[False, False]])), "no available strategy"),
    (dict(counts=np.array([[1, 1]]), smoothing=0.0), "smoothing"),
])
def test_bad_policy_input_names_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        calibrated_policy(**kw)


def test_bad_bank_input_names_the_field():
    with pytest.raises(ValueError, match="answers"):
        calibrated_bank(np.array([[0, 3]]), 3)
    with pytest.raises(ValueError, match="answers"):
        calibrated_bank(np.array([0.0, 1.0]), 3)


def _case(observed_pass=None, observed_share=None):
    from sim.calibration import DynamicsCase
    from sim.train import TrainConfig

    rng = np.random.default_rng(0)
    P, S = 24, 4
    answers = np.stack([rng.integers(0, 3, P), np.zeros(P, int), rng.integers(1, 3, P), rng.integers(1, 3, P)], 1)
    counts = rng.integers(0, 6, (P, S))
    counts[:, 1] += 1
    bank, pol = calibrated_bank(answers, 3), calibrated_policy(counts, smoothing=0.5)
    groups = (answers[:, 0] == 0).astype(int)  # strategy 0 right or wrong: the shortcut's two classes
    cfg = TrainConfig(n_steps=20, batch_size=8, n_rollouts=4, checkpoint_every=10, advantage="grpo", optimizer="adam")
    shape = (3, 2)
    return DynamicsCase(bank, pol, bank, pol.v, groups, cfg, np.zeros(shape) if observed_pass is None else observed_pass,
                        np.zeros(shape) if observed_share is None else observed_share)


def test_fit_dynamics_recovers_the_knobs_that_made_the_trajectories():
    from sim.calibration import fit_dynamics, simulate_case

    true_lr, true_sharing = 0.1, (0.9, 0.2, 0.0, 0.0)
    p, s = simulate_case(_case(), true_lr, true_sharing)
    assert p.shape == s.shape == (3, 2) and not np.allclose(p[0], p[-1])  # the knobs move the trajectory
    rows = fit_dynamics([_case(p, s)], (0.02, 0.1), [(0.5, 0.2, 0.0, 0.0), true_sharing, (0.9, 0.5, 0.0, 0.0)])
    assert len(rows) == 6 and rows[0]["learning_rate"] == true_lr and rows[0]["sharing"] == list(true_sharing)
    assert rows[0]["error"] < 1e-6 < rows[1]["error"]
    assert [r["error"] for r in rows] == sorted(r["error"] for r in rows)


def test_fit_dynamics_names_a_misshaped_observation():
    from sim.calibration import fit_dynamics

    with pytest.raises(ValueError, match=r"cases\[0\].observed_share"):
        fit_dynamics([_case(observed_share=np.zeros((2, 2)))], (0.1,), [(0.5, 0.5, 0.0, 0.0)])
    with pytest.raises(ValueError, match="cases"):
        fit_dynamics([], (0.1,), [(0.5, 0.5, 0.0, 0.0)])
