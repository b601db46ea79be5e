"""Tests of sim.checkpoints: checkpoints.npz round trip, atomic write, rejection of malformed files."""

import os

import jax
import numpy as np
import pytest

from sim.bank import BankConfig, make_bank
from sim.checkpoints import FILENAME, load_checkpoints, save_checkpoints
from sim.metrics import answer_probs
from sim.policy import PolicyConfig, init_policy, logits, strategy_entropy


@pytest.fixture(scope="module")
def arrays():
    """Checkpoint arrays from three random policies on a small bank (no training needed)."""
    bank = make_bank(BankConfig(n_problems=7, n_strategies=4, n_answers=3, n_clusters=2, clusters_per_strategy=1), jax.random.key(0))
    ap, ent, lg = [], [], []
    for j in range(3):
        z = logits(init_policy(PolicyConfig(), jax.random.key(j), 7, 4))
        ap.append(np.asarray(answer_probs(z, bank, 1.0)))
        ent.append(np.asarray(strategy_entropy(z, 1.0)))
        lg.append(np.asarray(z))
    return {"answer_probs": np.stack(ap), "steps": np.array([0, 10, 20]), "strategy_entropy": np.stack(ent), "logits": np.stack(lg)}


def test_round_trip_and_atomic_write(tmp_path, arrays):
    target = save_checkpoints(tmp_path / "exp", arrays)
    assert target == os.path.join(tmp_path / "exp", FILENAME)
    assert os.listdir(tmp_path / "exp") == [FILENAME]  # no temporary file left behind
    back = load_checkpoints(tmp_path / "exp")
    for key, val in arrays.items():
        np.testing.assert_array_equal(back[key], val)
        assert back[key].dtype == val.dtype
    np.testing.assert_array_equal(load_checkpoints(target)["steps"], arrays["steps"])


def _corrupt(arrays, **changes):
    out = dict(arrays)
    for k, v in changes.items():
        if v is None:
            out.pop(k)
        else:
            out[k] = v
    return out


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: _corrupt(a, steps=None), "missing array 'steps'"),
        (lambda a: _corrupt(a, answer_probs=a["answer_probs"][0]), "answer_probs must be a float array"),
        (lambda a: _corrupt(a, answer_probs=a["answer_probs"] * 1.1), "rows must sum to 1"),
        (lambda a: _corrupt(a, answer_probs=-a["answer_probs"]), "finite and >= 0"),
        (lambda a: _corrupt(a, steps=np.array([0, 20, 10])), "strictly increasing"),
        (lambda a: _corrupt(a, steps=np.array([0.0, 1.0, 2.0])), "steps must be an int array"),
        (lambda a: _corrupt(a, steps=np.array([0, 10])), "steps must be an int array"),
        (lambda a: _corrupt(a, strategy_entropy=a["strategy_entropy"][:, :3]), "strategy_entropy must be a float array"),
        (lambda a: _corrupt(a, logits=a["logits"][:2]), "logits must be a float array"),
    ],
)
def test_malformed_files_are_rejected(tmp_path, arrays, change, message):
    bad = change(arrays)
    path = tmp_path / FILENAME
    np.savez(path, **bad)  # write directly, bypassing the saver's checks
    with pytest.raises(ValueError, match=message):
        load_checkpoints(path)
    with pytest.raises(ValueError, match=message):
        save_checkpoints(tmp_path / "out", bad)
    assert not (tmp_path / "out" / FILENAME).exists()


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / FILENAME
    path.write_bytes(b"not an npz file at all")
    with pytest.raises(ValueError, match="not a readable .npz"):
        load_checkpoints(path)
    with pytest.raises(FileNotFoundError):
        load_checkpoints(tmp_path / "missing.npz")
