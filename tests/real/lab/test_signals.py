"""Training signals: the sampler's per-token entropy and branching factor against teacher forcing, each step
signal against a hand count, and signals.parquet through a killed and resumed run."""

import jax
import numpy as np
import pytest
from helpers import tiny_lm_config

from real.lab.config import RLConfig
from real.lab.model import init_params, sequence_logits
from real.lab.rl import train_rl
from real.lab.samplers.interface import Completion, SamplingRequest
from real.lab.samplers.jax import JaxSampler, token_entropy_and_branching
from real.lab.signals import read_signals, step_signals, write_signals
from real.lab.task import make_problems
from real.lab.tokenizer import CharTokenizer

TK = CharTokenizer()
CFG = tiny_lm_config(initializer_range=0.5)  # peaked next-token distributions: entropies and branching spread out


def _np_entropy_branching(logits, top_p=0.95):
    p = np.exp(logits - logits.max())
    p /= p.sum()
    ent = -np.sum(p * np.log(p))
    s = np.sort(p)[::-1]
    k = int(np.searchsorted(np.cumsum(s), top_p) + 1)  # smallest k with mass of the top k >= top_p
    return ent, min(k, len(p))


def test_entropy_and_branching_match_a_numpy_reference():
    logits = np.asarray(jax.random.normal(jax.random.key(0), (64, 33))) * 3
    ent, br = token_entropy_and_branching(jax.nn.log_softmax(logits, axis=-1))
    for row, e, b in zip(logits, np.asarray(ent), np.asarray(br)):
        e_ref, b_ref = _np_entropy_branching(row.astype(np.float64))
        assert e == pytest.approx(e_ref, abs=1e-5) and b == b_ref
    one_hot = np.full((1, 33), -1e9)
    one_hot[0, 3] = 0.0
    ent, br = token_entropy_and_branching(jax.nn.log_softmax(one_hot, axis=-1))
    assert float(ent[0]) == pytest.approx(0.0, abs=1e-6) and int(br[0]) == 1


def test_sampler_token_stats_are_those_of_the_teacher_forced_distribution():
    params = init_params(CFG, jax.random.key(1))
    prompts = ["Q:1+2=", "Q:3*4-5="]
    req = SamplingRequest(prompts, n=3, temperature=1.0, max_tokens=10, seed=4)
    with_stats = JaxSampler(params, CFG, TK, token_stats=True).generate(req)
    plain = JaxSampler(params, CFG, TK).generate(req)
    assert [[c.token_ids for c in r] for r in with_stats] == [[c.token_ids for c in r] for r in plain]  # same draws
    assert all(c.entropies is None and c.branching is None for r in plain for c in r)
    branching_seen = set()
    for prompt, row in zip(prompts, with_stats):
        for c in row:
            ids = TK.encode(prompt, bos=True) + list(c.token_ids)
            logits = np.asarray(sequence_logits(params, CFG, np.asarray([ids])))[0].astype(np.float64)
            P = len(TK.encode(prompt, bos=True))
            assert len(c.entropies) == len(c.branching) == len(c.token_ids)
            for t in range(len(c.token_ids)):
                e_ref, b_ref = _np_entropy_branching(logits[P - 1 + t])
                assert c.entropies[t] == pytest.approx(e_ref, abs=1e-4) and c.branching[t] == b_ref
                branching_seen.add(b_ref)
    assert len(branching_seen) > 2  # the check saw more than one candidate-set size


def _c(n_tokens, entropy, finished=True):
    return Completion("", tuple(range(n_tokens)), (0.0,) * n_tokens, finished, (entropy,) * n_tokens, (2,) * n_tokens)


def test_step_signals_against_hand_counts():
    comps = [[_c(4, 1.0), _c(6, 3.0, finished=False), _c(2, 1.0)],
             [_c(10, 2.0), _c(10, 2.0), _c(10, 2.0)]]
    rewards = np.array([[1, 0, 1], [0, 0, 0]], float)
    answers = [["3", None, "3"], ["5", "5", "7"]]
    adv = np.array([[0.5, -1.0, 0.5], [0.0, 0.0, 0.0]])
    s = step_signals(comps, rewards, answers, adv, {"loss": 0.1, "grad_norm": 2.0, "clip_fraction": 0.0,
                                                   "ratio_outside_clip_after": 0.01, "kl_rollout": 1e-4, "kl_base": 2e-3})
    # tokens: correct 4 + 2 at entropy 1; wrong 6 at 3 and 30 at 2
    assert s["token_entropy"] == pytest.approx((6 * 1 + 6 * 3 + 30 * 2) / 42)
    assert s["token_entropy_correct"] == pytest.approx(1.0)
    assert s["token_entropy_wrong"] == pytest.approx((6 * 3 + 30 * 2) / 36)
    assert s["branching_factor"] == 2.0
    assert s["length_mean"] == pytest.approx(42 / 6) and s["length_mean_correct"] == 3.0 and s["length_mean_wrong"] == 9.0
    assert s["length_p95"] == pytest.approx(np.percentile([4, 6, 2, 10, 10, 10], 95))
    assert s["truncation_rate"] == pytest.approx(1 / 6)
    assert [s[f"groups_with_{j}_correct"] for j in range(4)] == [0.5, 0.0, 0.5, 0.0]
    assert s["groups_all_wrong"] == 0.5 and s["groups_all_correct"] == 0.0
    assert s["eta"] == pytest.approx(1.0) and s["adv_share_positive"] == pytest.approx(2 / 6)
    assert s["adv_mean"] == pytest.approx(0.0) and s["adv_std"] == pytest.approx(np.std(adv))
    assert s["distinct_answers"] == pytest.approx((2 + 2) / 2)
    # group 1 has one wrong answer (no pair); group 2: wrong 5, 5, 7 -> P(two equal) = 2 / 6
    assert s["wrong_answer_collision"] == pytest.approx(1 / 3)
    assert s["kl_base"] == 2e-3 and s["reward"] == pytest.approx(2 / 6)


def test_signals_file_refuses_repeated_steps(tmp_path):
    write_signals(tmp_path / "s.parquet", [{"step": 2, "x": 1.0}, {"step": 1, "x": 0.5}])
    assert [r["step"] for r in read_signals(tmp_path / "s.parquet")] == [1, 2]
    with pytest.raises(ValueError, match=r"signals: steps repeat: \[1\]"):
        write_signals(tmp_path / "s.parquet", [{"step": 1}, {"step": 1}])


class _Killed(Exception):
    pass


def test_killed_run_resumes_with_every_signal_row_once(tmp_path):
    params = init_params(tiny_lm_config(), jax.random.key(0))
    problems = make_problems(6, [1, 2], seed=3)
    # a random model solves nothing: the UCB bonus over final answers gives it non-zero advantages to learn from
    cfg = RLConfig(steps=4, batch_problems=3, n_rollouts=4, max_tokens=12, checkpoint_every=2, learning_rate=1e-3, advantage="ucb",
                   bonus_coef=0.5)
    quiet = dict(tokenizer=TK, log=lambda s: None)
    train_rl(params, tiny_lm_config(), problems, cfg, tmp_path / "a" / "rl", signals_path=tmp_path / "a" / "signals.parquet", **quiet)
    straight = read_signals(tmp_path / "a" / "signals.parquet")
    assert [r["step"] for r in straight] == [1, 2, 3, 4]
    for r in straight:
        missing = [k for k, v in r.items() if v is None]
        assert not missing, missing
        assert r["kl_base"] > 0 and r["kl_rollout"] > 0 and r["grad_norm"] > 0 and r["token_entropy"] > 0 and r["eta"] > 0
    assert straight[0]["kl_base"] == pytest.approx(straight[0]["kl_rollout"], rel=1e-4)  # step 1 starts from the base

    def die_at_3(msg):
        if msg.startswith("rl step 3:"):
            raise _Killed  # after step 3 ran, before its checkpoint (every 2 steps)

    with pytest.raises(_Killed):
        train_rl(params, tiny_lm_config(), problems, cfg, tmp_path / "b" / "rl", signals_path=tmp_path / "b" / "signals.parquet",
                 tokenizer=TK, log=die_at_3)
    assert [r["step"] for r in read_signals(tmp_path / "b" / "signals.parquet")] == [1, 2]
    train_rl(params, tiny_lm_config(), problems, cfg, tmp_path / "b" / "rl", signals_path=tmp_path / "b" / "signals.parquet", **quiet)
    resumed = read_signals(tmp_path / "b" / "signals.parquet")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    for a, b in zip(straight, resumed):
        assert a.keys() == b.keys()
        for k in a:
            assert a[k] == pytest.approx(b[k], rel=1e-5, abs=1e-7, nan_ok=True), (a["step"], k)


def test_position_profile_bins_tokens_by_relative_position():
    from real.lab.signals import position_profile

    comps = [[Completion("", (0, 1, 2, 3), (0.0,) * 4, True, (1.0, 2.0, 3.0, 4.0), (1, 1, 2, 2)),
              Completion("", (0, 1), (0.0,) * 2, True, (5.0, 6.0), (3, 5))]]
    rows = position_profile(comps, checkpoint=7, bins=2)
    assert [r["tokens"] for r in rows] == [3, 3] and {r["checkpoint"] for r in rows} == {7}
    assert rows[0]["token_entropy"] == pytest.approx(8 / 3) and rows[1]["token_entropy"] == pytest.approx(13 / 3)
    assert rows[0]["branching_factor"] == pytest.approx(5 / 3) and rows[1]["branching_factor"] == pytest.approx(9 / 3)
    with pytest.raises(ValueError, match="no per-token entropies"):
        position_profile([[Completion("", (1,), (0.0,))]], checkpoint=0)
