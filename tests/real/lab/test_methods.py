"""The token methods on the real model (real.lab.config.TOKEN_METHODS): RLPR's reference-answer probability
against a direct forward pass, its debiasing and std filter against a hand computation, every method training
a few steps, an exact RLPR resume (filter state included), and bad settings failing before training."""

import math

import jax
import numpy as np
import pytest

from real.__main__ import main as real_main
from real.lab.checkpoints import load_checkpoint
from real.lab.config import TOKEN_METHODS
from real.lab.model import sequence_logits
from real.lab.probability_reward import reasoning_of, reference_answer_probabilities
from real.lab.rl import RLConfig, method_advantages, rollout_context, train_rl
from real.lab.samplers.interface import Completion
from real.lab.signals import read_signals
from real.lab.task import make_problems
from real.lab.tokenizer import CharTokenizer

TK = CharTokenizer()
PROBLEMS = make_problems(6, [1, 2], seed=3)


def _comp(text):
    ids = TK.encode(text)
    return Completion(text, tuple(ids), tuple([-1.0] * len(ids)))


def test_reasoning_is_the_text_before_the_last_answer_marker():
    assert reasoning_of("3+4=7;#### 7") == "3+4=7;"
    assert reasoning_of("1#### 2;#### 3") == "1#### 2;"
    assert reasoning_of("3+4=7;") == "3+4=7;"


def _direct_probability(params, config, text, answer):
    """p(answer | text) from one unpadded forward pass: the product over the answer's tokens, as a mean of probs."""
    ids = TK.encode(text, bos=True) + TK.encode(answer)
    logp = jax.nn.log_softmax(sequence_logits(params, config, np.array([ids[:-1]]))[0], axis=-1)
    n = len(answer)
    return float(np.mean([np.exp(logp[len(ids) - n - 1 + i, ids[len(ids) - n + i]]) for i in range(n)]))


def test_reference_answer_probability_is_the_policys_own(tiny_lm):
    p0, p1 = PROBLEMS[:2]
    comps = [[_comp("3+4=7;#### 1"), _comp("mod:9")], [_comp(""), _comp("2*2=4;#### 4")]]
    r, r0 = reference_answer_probabilities(tiny_lm.params, tiny_lm.config, TK, [p0.prompt, p1.prompt], [p0.answer, p1.answer], comps)
    assert r.shape == (2, 2) and r0.shape == (2,)
    want = [[_direct_probability(tiny_lm.params, tiny_lm.config, p.prompt + reasoning_of(c.text) + "#### ", p.answer) for c in row]
            for p, row in zip((p0, p1), comps)]
    np.testing.assert_allclose(r, want, rtol=1e-4)
    np.testing.assert_allclose(r0, [_direct_probability(tiny_lm.params, tiny_lm.config, p.prompt + "#### ", p.answer)
                                    for p in (p0, p1)], rtol=1e-4)
    assert r[1, 0] == pytest.approx(r0[1], rel=1e-5)  # an empty completion has no reasoning: r = r'


def test_rlpr_advantages_debias_filter_and_standardise():
    cfg = RLConfig(advantage="rlpr", n_rollouts=4, k=2, rlpr_std_beta=0.5)
    r = np.array([[0.9, 0.5, 0.2, 0.2], [0.30, 0.31, 0.30, 0.31], [0.1, 0.1, 0.1, 0.1]])
    r0 = np.array([0.3, 0.0, 0.05])
    verifier = np.zeros((3, 4))
    _, ctx = rollout_context(PROBLEMS[:3], [[_comp("#### 0")] * 4] * 3, verifier, {}, cfg)
    adv, info, state = method_advantages(None, verifier, np.zeros((3, 4), np.int32), ctx, cfg, rlpr_scores=(r, r0))
    d = np.clip(r - r0[:, None], 0, 1)  # RLPR eq. 4
    s = d.std(axis=1)
    ema = s.mean()  # the first batch initialises the EMA
    keep = s >= 0.5 * ema
    assert keep.tolist() == [True, False, False]
    want = np.where(keep[:, None], (d - d.mean(1, keepdims=True)) / (s[:, None] + 1e-6), 0.0)
    want[~keep] = 0
    np.testing.assert_allclose(adv, want, rtol=1e-5, atol=1e-6)
    assert info["rlpr_kept_groups"] == pytest.approx(1 / 3) and float(state.ema_std) == pytest.approx(ema, rel=1e-6)
    # the EMA moves by the new-value weight on the next batch
    _, _, state2 = method_advantages(None, verifier, np.zeros((3, 4), np.int32), ctx, cfg, rlpr_scores=(r * 0, r0),
                                     filter_state=state)
    assert float(state2.ema_std) == pytest.approx(0.99 * ema, rel=1e-6)
    raw, _, _ = method_advantages(None, verifier, np.zeros((3, 4), np.int32), ctx, RLConfig(advantage="rlpr", n_rollouts=4, k=2,
                                  rlpr_debias=False, rlpr_std_beta=0.0), rlpr_scores=(r, r0))
    np.testing.assert_allclose(raw[0], (r[0] - r[0].mean()) / (r[0].std() + 1e-6), rtol=1e-5)


@pytest.mark.parametrize("name", TOKEN_METHODS)
def test_every_token_method_trains_the_real_model(name, tiny_lm, tmp_path):
    cfg = RLConfig(steps=2, batch_problems=2, n_rollouts=4, k=2, max_tokens=8, checkpoint_every=1, advantage=name,
                   learning_rate=1e-3, rlpr_std_beta=0.0)
    params, logs = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path / "rl", tokenizer=TK,
                            signals_path=tmp_path / "signals.parquet", log=lambda s: None)
    assert [e["step"] for e in logs] == [1, 2] and all(math.isfinite(e["loss"]) for e in logs)
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(tiny_lm.params)))
    assert moved > 0  # the policy was updated: a random model's rollouts still get non-zero advantages here
    rows = read_signals(tmp_path / "signals.parquet")
    assert [r["step"] for r in rows] == [1, 2]
    if name == "rlpr":
        assert all(0 <= r["rlpr_reward"] <= 1 and r["rlpr_kept_groups"] == 1.0 for r in rows)
        assert load_checkpoint(tmp_path / "rl" / "step_2")[-1]["rlpr_filter"]["initialized"] is True


def test_rlpr_resumes_exactly_filter_state_included(tiny_lm, tmp_path):
    cfg = RLConfig(steps=3, batch_problems=2, n_rollouts=4, k=2, max_tokens=8, checkpoint_every=1, advantage="rlpr",
                   learning_rate=1e-3)
    kw = dict(tokenizer=TK, log=lambda s: None)
    straight, _ = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path / "a", signals_path=tmp_path / "a.parquet", **kw)
    two = RLConfig(**{**cfg.__dict__, "steps": 2})
    train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, two, tmp_path / "b", signals_path=tmp_path / "b.parquet", **kw)
    resumed, _ = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path / "b", signals_path=tmp_path / "b.parquet", **kw)
    for x, y in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
        np.testing.assert_allclose(x, y, atol=1e-6)
    a, b = read_signals(tmp_path / "a.parquet"), read_signals(tmp_path / "b.parquet")
    assert [r["step"] for r in b] == [1, 2, 3]
    assert a[-1]["rlpr_ema_std"] == pytest.approx(b[-1]["rlpr_ema_std"], rel=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--advantage", "passk_analytic", "--k", "9"], r"rl\.k: must lie in \[1, rl\.n_rollouts = 8\], got 9"),
    (["--set", "rl.top_p=1.5"], r"rl\.top_p: must lie in \(0, 1\], got 1\.5"),
    (["--advantage", "ucb", "--set", "rl.bonus_coef=-0.2"], r"rl\.bonus_coef: must be >= 0, got -0\.2"),
    (["--advantage", "ppl_reweight", "--set", "rl.ppl_alpha=0.9"], r"rl\.ppl_alpha: must lie in \[0, 0\.377964\]"),
    (["--set", "rl.nope=1"], r"rl\.nope: not a field of RLConfig"),
    (["--set", "steps=3"], r"--set: expected SECTION\.FIELD=VALUE, got 'steps=3'"),
])
def test_bad_settings_fail_before_training(argv, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert real_main(["rlvr", "--quick", "--out", str(out), *argv]) == 2
    import re

    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()  # nothing was trained or written
