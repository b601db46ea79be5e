"""The RLVR step on real completions: rollout packing, the clipped surrogate, and exact resumption."""

import jax
import jax.numpy as jnp
import numpy as np

from real.lab.model import LlamaConfig, init_params, sequence_logits, token_log_probs
from real.lab.rl import RLConfig, advantages, clipped_loss, evaluate_records, extract_task_answer, pack_rollouts, train_rl
from real.lab.samplers.interface import SamplingRequest
from real.lab.samplers.jax import JaxSampler
from real.lab.task import make_problems
from real.lab.tokenizer import CharTokenizer

TK = CharTokenizer()
CFG = LlamaConfig(vocab_size=TK.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=64)
PROBLEMS = make_problems(6, [1, 2], seed=3)


def test_extract_task_answer():
    assert extract_task_answer("3+4=7;#### 7") == "7" and extract_task_answer("#### 1;#### 12") == "12"
    assert extract_task_answer("3+4=7;") is None


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


def test_advantages_from_theory():
    r = np.array([[1, 0, 0, 0], [1, 1, 1, 1]], float)
    a = advantages(r, RLConfig(advantage="grpo"))
    assert a[1].tolist() == [0, 0, 0, 0] and a[0, 0] > 0 > a[0, 1]
    p = advantages(r, RLConfig(advantage="passk", k=2))
    assert p[0, 0] > 0 and p[1].tolist() == [0, 0, 0, 0]


def test_training_resumes_exactly(tmp_path):
    params = init_params(CFG, jax.random.key(0))
    cfg = RLConfig(steps=3, batch_problems=4, n_rollouts=4, max_tokens=12, checkpoint_every=1, learning_rate=1e-3)
    straight, logs = train_rl(params, CFG, PROBLEMS, cfg, tmp_path / "a", tokenizer=TK, log=lambda s: None)
    assert [l["step"] for l in logs] == [1, 2, 3]
    two = RLConfig(**{**cfg.__dict__, "steps": 2})
    train_rl(params, CFG, PROBLEMS, two, tmp_path / "b", tokenizer=TK, log=lambda s: None)
    resumed, logs_b = train_rl(params, CFG, PROBLEMS, cfg, tmp_path / "b", tokenizer=TK, log=lambda s: None)
    assert [l["step"] for l in logs_b] == [3]
    for x, y in zip(jax.tree.leaves(straight), jax.tree.leaves(resumed)):
        np.testing.assert_allclose(x, y, atol=1e-6)
    assert sorted(d.name for d in (tmp_path / "b").iterdir()) == ["step_0", "step_1", "step_2", "step_3"]


def test_evaluation_writes_sample_records(tmp_path):
    import json

    from real.logs.importers import load_counts

    params = init_params(CFG, jax.random.key(0))
    recs = evaluate_records(params, CFG, PROBLEMS, checkpoint=7, n=4, max_tokens=12, seed=0, tokenizer=TK)
    assert len(recs) == 24 and {r["sample_index"] for r in recs} == {0, 1, 2, 3}
    f = tmp_path / "s.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    table, report = load_counts(f)
    assert report.n_rejected == 0 and table.shape == (1, 6) and int(table.n_samples.sum()) == 24
