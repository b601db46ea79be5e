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
