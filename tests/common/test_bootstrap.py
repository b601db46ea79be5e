"""common.bootstrap against explicit index resampling (plain Python lists), the frequentist coverage of
its intervals over repeated data sets, and the paired property of shared weights."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.bootstrap import CI_LEVEL, bootstrap_mean, bootstrap_weights


def _resampled_indices(W: np.ndarray) -> list[list[int]]:
    """Weights [B, P] -> for each resample the list of drawn problem indices (with repeats)."""
    return [[i for i, w in enumerate(row) for _ in range(int(w))] for row in W]


def test_weights_are_index_resamples_and_deterministic():
    W = bootstrap_weights(7, 300, seed=3)
    assert W.shape == (300, 7) and W.dtype == np.float64
    assert np.all(W.sum(1) == 7) and np.all(W == np.round(W)) and np.all(W >= 0)
    np.testing.assert_array_equal(W, bootstrap_weights(7, 300, seed=3))
    assert not np.array_equal(W, bootstrap_weights(7, 300, seed=4))
    assert abs(W.mean() - 1.0) < 0.05  # each index drawn once per resample on average
    # the documented draw: counts of default_rng(seed).integers(0, P, size=(B, P)), row by row
    idx = np.random.default_rng(3).integers(0, 7, size=(300, 7))
    for b in (0, 1, 299):
        want = Counter(idx[b].tolist())
        assert [W[b, i] for i in range(7)] == [want.get(i, 0) for i in range(7)]


@settings(max_examples=40, deadline=None)
@given(P=st.integers(1, 12), B=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_weights_rows_sum_to_n_problems(P, B, seed):
    W = bootstrap_weights(P, B, seed)
    assert W.shape == (B, P) and np.all(W.sum(1) == P)


@settings(max_examples=30, deadline=None)
@given(P=st.integers(2, 9), seed=st.integers(0, 1000), data=st.data())
def test_mean_and_resamples_match_explicit_index_resampling(P, seed, data):
    vals = data.draw(st.lists(st.floats(-5, 5), min_size=P, max_size=P))
    W = bootstrap_weights(P, 25, seed)
    b = bootstrap_mean(np.array(vals), W)
    assert b["estimate"] == pytest.approx(sum(vals) / P, abs=1e-12)
    means = sorted(sum(vals[i] for i in draw) / P for draw in _resampled_indices(W))
    assert b["low"] == pytest.approx(np.percentile(means, 2.5), abs=1e-9)
    assert b["high"] == pytest.approx(np.percentile(means, 97.5), abs=1e-9)
    assert b["se"] == pytest.approx(np.std(means, ddof=1), abs=1e-9)


def test_missing_values_are_left_out_of_estimate_and_resamples():
    v = np.array([[1.0, np.nan, 3.0, 5.0], [np.nan] * 4])
    W = bootstrap_weights(4, 50, 0)
    b = bootstrap_mean(v, W)
    assert b["estimate"][0] == 3.0 and np.isnan(b["estimate"][1]) and np.isnan(b["low"][1])
    means = []
    for draw in _resampled_indices(W):
        kept = [v[0, i] for i in draw if i != 1]
        if kept:
            means.append(sum(kept) / len(kept))
    assert b["low"][0] == pytest.approx(np.percentile(means, 2.5)) and b["high"][0] == pytest.approx(np.percentile(means, 97.5))


def test_interval_width_and_shrinkage():
    rng = np.random.default_rng(0)
    widths = []
    for P in (50, 800):
        v = rng.random((1, P))
        b = bootstrap_mean(v, bootstrap_weights(P, 400, 1))
        assert b["low"][0] <= v.mean() <= b["high"][0]
        se = v.std() / np.sqrt(P)
        assert b["se"][0] == pytest.approx(se, rel=0.15)
        widths.append(b["high"][0] - b["low"][0])
        assert 3.0 * se < widths[-1] < 4.8 * se  # a 95% interval is about 3.9 standard errors wide
    assert widths[1] < widths[0] / 3  # ~ 1/sqrt(16)


@pytest.mark.parametrize("level, lo, hi", [(CI_LEVEL, 0.89, 0.99), (0.8, 0.72, 0.87)])
def test_interval_covers_the_true_mean_at_about_the_nominal_rate(level, lo, hi):
    # frequentist check: over 300 data sets, the interval of the mean covers the true mean ~level of the time
    rng = np.random.default_rng(11)
    W = bootstrap_weights(120, 400, 5)
    data = rng.beta(0.5, 1.5, size=(300, 120))  # skewed per-problem values, true mean 0.25
    b = bootstrap_mean(data, W, level=level)
    cover = np.mean((b["low"] <= 0.25) & (0.25 <= b["high"]))
    assert lo <= cover <= hi, cover


def test_same_weights_pair_two_checkpoints():
    # checkpoint b = checkpoint a + a small per-problem change: with shared weights the bootstrap of the
    # difference is the bootstrap of the per-problem differences (exactly), much narrower than unpaired
    rng = np.random.default_rng(2)
    P = 200
    a = rng.random(P)
    b = a + 0.05 + 0.01 * rng.standard_normal(P)
    W = bootstrap_weights(P, 500, 7)
    both = bootstrap_mean(np.stack([a, b]), W)
    diff = bootstrap_mean(b - a, W)
    draws = _resampled_indices(W)
    ref = [sum(b[i] for i in d) / P - sum(a[i] for i in d) / P for d in draws]  # difference of resampled means
    assert diff["se"] == pytest.approx(np.std(ref, ddof=1), rel=1e-9)
    assert diff["low"] == pytest.approx(np.percentile(ref, 2.5), abs=1e-12)
    unpaired = np.hypot(both["se"][0], both["se"][1])
    assert diff["se"] < unpaired / 10
    assert diff["low"] <= 0.05 <= diff["high"] and diff["low"] > 0


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="^n_problems:"):
        bootstrap_weights(0, 10)
    with pytest.raises(ValueError, match="^n_boot:"):
        bootstrap_weights(5, True)
    with pytest.raises(ValueError, match="^values:"):
        bootstrap_mean(np.zeros(4), bootstrap_weights(5, 3))
    with pytest.raises(ValueError, match="^weights:"):
        bootstrap_mean(np.zeros(5), np.ones(5))
