"""The RLVR step on real completions: rollout packing, the clipped surrogate, the registry advantages with
their context (answer ids, log-probs, entropy, answer-count history), and exact resumption."""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_lm_config

from real.lab.checkpoints import load_checkpoint
from real.lab.model import init_params, sequence_logits, token_log_probs
from real.lab.rl import (
    RLConfig,
    advantage_key,
    clipped_loss,
    compute_advantages,
    history_from_json,
    history_to_json,
    pack_rollouts,
    rewards_of,
    rollout_context,
    train_rl,
)
from real.lab.samplers.interface import Completion, SamplingRequest
from real.lab.samplers.jax import JaxSampler
from real.lab.task import make_problems
from real.lab.tokenizer import CharTokenizer
from theory.advantage_registry import ADVANTAGES

TK = CharTokenizer()
CFG = tiny_lm_config(num_key_value_heads=4)
PROBLEMS = make_problems(6, [1, 2], seed=3)
QUIET = dict(tokenizer=TK, log=lambda s: None)


def _wrong(p, d=1):
    return str((int(p.answer) + d) % 10)


def _comp(text, lps):
    return Completion(text, tuple(range(len(lps))), tuple(lps))


def _hand_made():
    """Two problems x 5 completions: correct, repeated wrong answers, and no-answer completions."""
    p0, p1 = PROBLEMS[0], PROBLEMS[1]
    comps = [
        [_comp(f"#### {_wrong(p0)}", [-0.5, -1.0]), _comp(f"#### {p0.answer}", [-0.25]), _comp("xyz", [-2.0, -0.5, -0.5]),
         _comp(f"#### {_wrong(p0)}", [-1.5]), _comp("abc", [-0.75, -0.25])],
        [_comp(f"#### {_wrong(p1, 2)}", [-0.1]), _comp(f"#### {_wrong(p1, 3)}", [-0.2, -0.3]), _comp("", []),
         _comp(f"#### {_wrong(p1, 2)}", [-1.0]), _comp(f"#### {p1.answer}", [-0.4, -0.4])],
    ]
    return [p0, p1], comps


def _reference_context(problems, comps, history):
    """Plain-Python reference of rollout_context: (answers, log_probs, entropy, counts); updates history."""
    from real.logs.answers import extract_answer

    answers, log_probs, entropy, counts = [], [], [], []
    for p, row in zip(problems, comps):
        texts = [extract_answer(c.text) for c in row]
        seen, ids, nxt = {}, [], 1
        for a in texts:
            if a is not None and a == p.answer:
                ids.append(0)
            elif a is None:
                ids.append(nxt)
                nxt += 1
            else:
                if a not in seen:
                    seen[a] = nxt
                    nxt += 1
                ids.append(seen[a])
        answers.append(ids)
        lps = [sum(c.logprobs) for c in row]
        log_probs.append(lps)
        entropy.append(-sum(lps) / len(lps))
        for a in texts:
            history[(p.problem_id, a)] = history.get((p.problem_id, a), 0) + 1
        counts.append([history[(p.problem_id, a)] for a in texts])
    return answers, log_probs, entropy, counts


def _grpo(r):
    m = sum(r) / len(r)
    sd = math.sqrt(sum((x - m) ** 2 for x in r) / len(r))
    return [0.0 if sd == 0 else (x - m) / (sd + 1e-6) for x in r]


def _reference_advantages(name, rewards, answers, counts, cfg):
    """Closed forms of ``ucb_con`` and ``batch`` (GRPO + c * bonus zeroed on all-correct groups), by hand."""
    out = []
    for r, a, n in zip(rewards, answers, counts):
        if name == "ucb_con":
            bonus = [min(1.0, 1.0 / math.sqrt(c)) - cfg.ucb_b0 for c in n]
        else:
            bonus = [-sum(a[i] == a[j] for j in range(len(a)) if j != i) / len(a) for i in range(len(a))]
        if all(x > 0.5 for x in r):
            bonus = [0.0] * len(r)
        out.append([g + cfg.bonus_coef * b for g, b in zip(_grpo(list(r)), bonus)])
    return np.array(out)


def test_rewards_use_the_shared_parser():
    problems, comps = _hand_made()
    assert rewards_of(problems, comps).tolist() == [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1]]


def test_rollout_context_matches_a_plain_reference():
    problems, comps = _hand_made()
    cfg = RLConfig(n_rollouts=5, bonus_coef=0.3, noise_rate=0.2, entropy_coef=0.05, ucb_b0=0.4)
    r = rewards_of(problems, comps)
    history, ref_history = {}, {}
    for call in range(2):  # the history accumulates over consecutive batches, current batch included
        answers, ctx = rollout_context(problems, comps, r, history, cfg)
        ref_a, ref_lp, ref_h, ref_n = _reference_context(problems, comps, ref_history)
        assert answers.dtype == np.int32 and answers.tolist() == ref_a
        np.testing.assert_allclose(np.asarray(ctx.log_probs), ref_lp, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(ctx.entropy), ref_h, rtol=1e-6)
        assert np.asarray(ctx.answer_counts).tolist() == ref_n
        assert history == ref_history
        assert [float(ctx.bonus_coef), float(ctx.noise_rate), float(ctx.entropy_coef), float(ctx.ucb_b0)] == pytest.approx(
            [0.3, 0.2, 0.05, 0.4])
    # spelled out: wrong answers by first occurrence, repeats share, each None fresh; correct -> 0
    assert answers.tolist() == [[1, 0, 2, 1, 3], [1, 2, 3, 1, 0]]
    # no answer is counted as one answer (key None) per problem: two None completions x two calls
    assert history[(problems[0].problem_id, None)] == 4 and history[(problems[1].problem_id, None)] == 2
    assert np.asarray(ctx.answer_counts).tolist() == [[4, 2, 4, 4, 4], [4, 2, 2, 4, 2]]
    assert history_from_json(json.loads(json.dumps(history_to_json(history)))) == history


@pytest.mark.parametrize("name", ["ucb_con", "batch"])
def test_deterministic_advantages_equal_the_closed_form(name):
    problems, comps = _hand_made()
    cfg = RLConfig(n_rollouts=5, k=2, advantage=name, bonus_coef=0.3, ucb_b0=0.4)
    r = rewards_of(problems, comps)
    history = {(problems[0].problem_id, _wrong(problems[0])): 3}  # an earlier step's answers
    answers, ctx = rollout_context(problems, comps, r, history, cfg)
    adv = compute_advantages(advantage_key(0, 0), r, answers, ctx, cfg)
    ref_a, _, _, ref_n = _reference_context(problems, comps, {(problems[0].problem_id, _wrong(problems[0])): 3})
    assert adv.dtype == np.float32
    np.testing.assert_allclose(adv, _reference_advantages(name, r.tolist(), ref_a, ref_n, cfg), rtol=1e-5, atol=1e-6)
    # an all-correct group gets no bonus: GRPO's zero
    allc = np.ones((1, 5))
    a1, c1 = rollout_context(problems[:1], [[_comp(f"#### {problems[0].answer}", [-1.0])] * 5], allc, {}, cfg)
    assert compute_advantages(advantage_key(0, 0), allc, a1, c1, cfg).tolist() == [[0.0] * 5]


@pytest.mark.parametrize("name", ["ucb_con", "batch"])
def test_trainer_logs_the_closed_form_advantages(name, tiny_lm, tmp_path):
    """train_rl's step-1 eta_per_group equals sum_j |A| of the hand reference on the same (re-sampled) rollouts."""
    cfg = RLConfig(steps=1, batch_problems=2, n_rollouts=4, k=2, max_tokens=8, checkpoint_every=1, advantage=name)
    _, logs = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path, seed=5, tokenizer=tiny_lm.tokenizer,
                       log=lambda s: None)
    rng = np.random.default_rng([5, 0])  # the trainer's sampling for (seed 5, step 0)
    batch = [PROBLEMS[i] for i in rng.choice(len(PROBLEMS), 2, replace=False)]
    comps = JaxSampler(tiny_lm.params, tiny_lm.config, tiny_lm.tokenizer).generate(SamplingRequest(
        [p.prompt for p in batch], n=4, temperature=1.0, max_tokens=8, seed=int(rng.integers(2**31))))
    r = rewards_of(batch, comps)
    ref_a, _, _, ref_n = _reference_context(batch, comps, {})
    ref = _reference_advantages(name, r.tolist(), ref_a, ref_n, cfg)
    np.testing.assert_allclose(logs[0]["eta_per_group"], np.abs(ref).sum(axis=1), rtol=1e-5, atol=1e-6)
    assert logs[0]["n_pos"] == r.sum(axis=1).astype(int).tolist()


@pytest.mark.parametrize("name", sorted(ADVANTAGES))
def test_every_registered_advantage_trains(name, tiny_lm, tmp_path):
    cfg = RLConfig(steps=1, batch_problems=2, n_rollouts=4, k=2, max_tokens=8, checkpoint_every=1, advantage=name)
    _, logs = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path, tokenizer=tiny_lm.tokenizer, log=lambda s: None)
    assert [entry["step"] for entry in logs] == [1] and math.isfinite(logs[0]["loss"])
    assert set(logs[0]) == {"step", "reward", "loss", "eta", "n_pos", "eta_per_group"} and len(logs[0]["eta_per_group"]) == 2
    assert all(math.isfinite(x) for x in logs[0]["eta_per_group"])
    *_, step, meta = load_checkpoint(tmp_path / "step_1")
    assert step == 1 and meta["rl"]["advantage"] == name
    assert sum(c for _, _, c in meta["answer_counts"]) == 8  # every rollout of the one step counted


def test_packed_old_logprobs_are_the_policy_logprobs():
    params = init_params(CFG, jax.random.key(0))
    comps = JaxSampler(params, CFG, TK).generate(SamplingRequest([p.prompt for p in PROBLEMS], n=3, max_tokens=12, seed=1))
    adv = np.arange(18, dtype=np.float32).reshape(6, 3)
    toks, mask, old, A = pack_rollouts(TK, PROBLEMS, comps, adv, seq_len=30)
    lp = np.asarray(token_log_probs(sequence_logits(params, CFG, jnp.asarray(toks[:, :-1])), jnp.asarray(toks[:, 1:])))
    np.testing.assert_allclose(lp[mask > 0], old[mask > 0], atol=1e-4)  # ratio = 1 at the sampling policy
    assert mask.sum() == sum(len(c.token_ids) for row in comps for c in row)
    assert set(np.unique(A[mask > 0])) <= set(adv.ravel())
    # at the sampling policy the clipped surrogate is -mean over completion tokens of A
    loss = clipped_loss(params, CFG, jnp.asarray(toks), jnp.asarray(mask), jnp.asarray(old), jnp.asarray(A), 0.2)
    assert float(loss) == np.float32(-(A * mask).sum() / mask.sum())


def test_advantages_from_the_registry():
    r = np.array([[1, 0, 0, 0], [1, 1, 1, 1]], float)
    a0 = np.zeros((2, 4), np.int32)
    for name in ("grpo", "passk_analytic"):
        cfg = RLConfig(advantage=name, k=2)
        _, ctx = rollout_context(PROBLEMS[:2], [[_comp("#### 0", [-1.0])] * 4] * 2, r, {}, cfg)
        a = compute_advantages(advantage_key(0, 0), r, a0, ctx, cfg)
        assert a.dtype == np.float32 and a[1].tolist() == [0, 0, 0, 0] and a[0, 0] > 0 > a[0, 1]


def test_stochastic_advantage_key_depends_on_seed_and_step():
    r = np.zeros((4, 8))
    r[:, 0] = 1
    cfg = RLConfig(advantage="noisy_reward", noise_rate=0.5, n_rollouts=8)
    _, ctx = rollout_context(PROBLEMS[:4], [[_comp("#### 0", [-1.0])] * 8] * 4, r, {}, cfg)
    a = np.zeros((4, 8), np.int32)
    same = compute_advantages(advantage_key(1, 2), r, a, ctx, cfg), compute_advantages(advantage_key(1, 2), r, a, ctx, cfg)
    np.testing.assert_array_equal(*same)
    assert not np.array_equal(same[0], compute_advantages(advantage_key(1, 3), r, a, ctx, cfg))


def test_training_resumes_exactly(tmp_path):
    params = init_params(CFG, jax.random.key(0))
    cfg = RLConfig(steps=3, batch_problems=4, n_rollouts=4, max_tokens=12, checkpoint_every=1, learning_rate=1e-3)
    straight, logs = train_rl(params, CFG, PROBLEMS, cfg, tmp_path / "a", **QUIET)
    assert [entry["step"] for entry in logs] == [1, 2, 3]
    two = RLConfig(**{**cfg.__dict__, "steps": 2})
    train_rl(params, CFG, PROBLEMS, two, tmp_path / "b", **QUIET)
    resumed, logs_b = train_rl(params, CFG, PROBLEMS, cfg, tmp_path / "b", **QUIET)
    assert [entry["step"] for entry in logs_b] == [3]
    for x, y in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
        np.testing.assert_allclose(x, y, atol=1e-6)
    assert sorted(d.name for d in (tmp_path / "b").iterdir()) == ["step_0", "step_1", "step_2", "step_3"]


def test_ucb_resume_restores_the_answer_history(tiny_lm, tmp_path):
    cfg = RLConfig(steps=2, batch_problems=2, n_rollouts=4, k=2, max_tokens=8, checkpoint_every=1, advantage="ucb",
                   bonus_coef=0.5, learning_rate=1e-3)
    kw = dict(seed=7, tokenizer=tiny_lm.tokenizer, log=lambda s: None)
    straight, logs = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path / "a", **kw)
    one = RLConfig(**{**cfg.__dict__, "steps": 1})
    train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, one, tmp_path / "b", **kw)
    resumed, logs_b = train_rl(tiny_lm.params, tiny_lm.config, PROBLEMS, cfg, tmp_path / "b", **kw)
    assert [entry["step"] for entry in logs_b] == [2] and logs_b[0] == logs[1]
    for x, y in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
        np.testing.assert_allclose(x, y, atol=1e-6)
    metas = [load_checkpoint(tmp_path / d / "step_2")[-1] for d in ("a", "b")]
    assert metas[0]["answer_counts"] == metas[1]["answer_counts"]
    assert sum(c for _, _, c in metas[0]["answer_counts"]) == 16  # 2 steps x 2 problems x 4 rollouts
    assert load_checkpoint(tmp_path / "b" / "step_0")[-1]["answer_counts"] == []
