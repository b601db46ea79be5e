"""PPL reweighting and the position bonus (theory.token_shaping) against plain-Python references."""

import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.token_shaping import log_perplexity, max_ppl_alpha, position_bonus_advantage, ppl_reweighted_advantage


def _ppl_reference(adv, log_probs, lengths, alpha, eps=1e-6):
    out = []
    for a_row, lp_row, l_row in zip(adv, log_probs, lengths):
        x = [-lp / L for lp, L in zip(lp_row, l_row)]
        mu, sd = statistics.fmean(x), statistics.pstdev(x)
        z = [0.0 if max(x) == min(x) else (xi - mu) / (sd + eps) for xi in x]
        out.append([a * (1 - alpha * zi) for a, zi in zip(a_row, z)])
    return np.array(out)


groups = st.integers(2, 6).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.floats(-3, 3), min_size=n, max_size=n), min_size=1, max_size=3),
    st.lists(st.lists(st.floats(-40, -0.01), min_size=n, max_size=n), min_size=3, max_size=3),
    st.lists(st.lists(st.integers(1, 30), min_size=n, max_size=n), min_size=3, max_size=3)))


@settings(max_examples=30, deadline=None)
@given(groups, st.floats(0, 1))
def test_ppl_reweighting_matches_the_reference(g, frac):
    adv, lp, L = g
    B = len(adv)
    lp, L = lp[:B], L[:B]
    n = len(adv[0])
    alpha = frac * max_ppl_alpha(n)
    got = np.asarray(ppl_reweighted_advantage(np.array(adv, np.float64), np.array(lp), np.array(L), alpha=alpha))
    np.testing.assert_allclose(got, _ppl_reference(adv, lp, L, alpha), rtol=2e-5, atol=2e-5)
    # within the allowed range no advantage changes sign
    assert np.all(got * np.array(adv) >= -1e-6)


def test_lower_perplexity_gets_the_larger_weight_and_alpha_zero_is_identity():
    adv = np.array([[1.0, 1.0, -1.0, -1.0]])
    lp = np.array([[-2.0, -8.0, -2.0, -8.0]])  # responses 0 and 2: lower perplexity
    L = np.array([[4, 4, 4, 4]])
    got = np.asarray(ppl_reweighted_advantage(adv, lp, L, alpha=0.2))
    assert got[0, 0] > 1.0 > got[0, 1] > 0 and got[0, 2] < -1.0 < got[0, 3] < 0
    np.testing.assert_array_equal(np.asarray(ppl_reweighted_advantage(adv, lp, L, alpha=0.0)), adv)
    np.testing.assert_allclose(np.asarray(log_perplexity(lp, L)), [[0.5, 2.0, 0.5, 2.0]])


def test_ppl_alpha_outside_its_range_names_it():
    with pytest.raises(ValueError, match=r"alpha: must lie in \[0, 1/sqrt\(N - 1\)\] = \[0, 0\.5774\] for N = 4"):
        ppl_reweighted_advantage(np.zeros((1, 4)), np.zeros((1, 4)) - 1, np.ones((1, 4)), alpha=0.7)
    with pytest.raises(ValueError, match="lengths: every response needs >= 1 token"):
        log_perplexity(np.zeros(3), np.array([1, 0, 2]))
    assert max_ppl_alpha(8) == pytest.approx(1 / math.sqrt(7))


def _position_reference(adv, mask, beta):
    out = np.array(adv, float)
    for i, row in enumerate(mask):
        idx = [t for t, m in enumerate(row) if m]
        L = len(idx)
        for rank, t in enumerate(idx):
            rho = 1.0 if L == 1 else rank / (L - 1)
            out[i, t] = adv[i][t] * (1 + beta * rho)
    return out


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4).flatmap(lambda R: st.integers(1, 8).flatmap(lambda T: st.tuples(
    st.lists(st.lists(st.floats(-3, 3), min_size=T, max_size=T), min_size=R, max_size=R),
    st.lists(st.lists(st.booleans(), min_size=T, max_size=T), min_size=R, max_size=R)))), st.floats(0, 3))
def test_position_bonus_matches_the_reference(g, beta):
    adv, mask = g
    got = np.asarray(position_bonus_advantage(np.array(adv, np.float64), np.array(mask), beta=beta))
    np.testing.assert_allclose(got, _position_reference(adv, mask, beta), rtol=1e-6, atol=1e-9)


def test_position_bonus_favours_end_tokens():
    # a prompt (unmasked), then a 5-token response with advantage 2, then padding
    adv = np.array([[0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0, 0.0]])
    mask = np.array([[0, 0, 1, 1, 1, 1, 1, 0]])
    got = np.asarray(position_bonus_advantage(adv, mask, beta=0.5))
    np.testing.assert_allclose(got[0], [0, 0, 2.0, 2.25, 2.5, 2.75, 3.0, 0])
    with pytest.raises(ValueError, match="beta: must be finite and >= 0"):
        position_bonus_advantage(adv, mask, beta=-1)
