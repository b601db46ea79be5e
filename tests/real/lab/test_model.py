"""The small JAX Llama, its tokenizer, the arithmetic task and the JAX sampler."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_lm_config
from hypothesis import given, settings
from hypothesis import strategies as st

from real.lab.model import forward, init_cache, init_params, sequence_logits, token_log_probs
from real.lab.samplers.interface import SamplingRequest
from real.lab.samplers.jax import JaxSampler, filter_logits
from real.lab.task import apply_op, check_answer, make_problems
from real.lab.tokenizer import CharTokenizer

TK = CharTokenizer()
CFG = tiny_lm_config()


@pytest.fixture(scope="module")
def params():
    return init_params(CFG, jax.random.key(0))


def test_tokenizer_roundtrip_and_errors():
    text = "Q:3+4*2=3+4=7;7*2=4;#### 4"
    ids = TK.encode(text, bos=True, eos=True)
    assert ids[0] == TK.bos_id and ids[-1] == TK.eos_id and len(ids) == len(text) + 2
    assert TK.decode(ids) == text
    with pytest.raises(ValueError, match="'x' at position 1"):
        TK.encode("1x")
    with pytest.raises(ValueError, match="unique"):
        CharTokenizer("aa")


def test_task_matches_python_arithmetic():
    for p in make_problems(200, [1, 2, 3, 6], seed=3):
        # independent evaluation: left-to-right with Python's own operators, reduced mod 10 at each step
        acc = p.digits[0]
        for o, d in zip(p.ops, p.digits[1:]):
            acc = {"+": acc + d, "-": acc - d, "*": acc * d}[o] % 10
        assert p.answer == str(acc)
        assert p.completion.endswith(f"#### {acc}") and p.prompt.startswith("Q:") and p.prompt.endswith("=")
        assert len(p.steps) == p.n_ops
        TK.encode(p.prompt + p.completion)  # every character is in the alphabet
    assert make_problems(5, 3, seed=1) == make_problems(5, 3, seed=1)
    assert apply_op(3, "-", 5) == 8 and check_answer(make_problems(1, 1, seed=0)[0], None) is False
    with pytest.raises(ValueError, match="op"):
        apply_op(1, "/", 2)


def test_kv_cache_decoding_equals_full_forward(params):
    toks = jax.random.randint(jax.random.key(1), (2, 12), 3, TK.vocab_size)
    full = sequence_logits(params, CFG, toks)
    cache = init_cache(CFG, 2, 16)
    km = jnp.ones((2, 16), bool)
    pos = jnp.broadcast_to(jnp.arange(12), (2, 12))
    logits, cache = forward(params, CFG, toks[:, :5], pos[:, :5], km, cache, 0)
    outs = [logits]
    for t in range(5, 12):
        lg, cache = forward(params, CFG, toks[:, t:t + 1], pos[:, t:t + 1], km, cache, t)
        outs.append(lg)
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, atol=1e-5)


def test_left_padding_does_not_change_logits(params):
    seq = jnp.asarray([TK.encode("Q:1+2=", bos=True)])
    ref = sequence_logits(params, CFG, seq)[0, -1]
    padded = jnp.concatenate([jnp.zeros((1, 3), seq.dtype), seq], axis=1)
    mask = jnp.concatenate([jnp.zeros((1, 3), bool), jnp.ones(seq.shape, bool)], axis=1)
    pos = jnp.maximum(jnp.cumsum(mask, axis=1) - 1, 0)
    got = forward(params, CFG, padded, pos, mask)[0][0, -1]
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_sampler_logprobs_are_teacher_forced_logprobs(params):
    s = JaxSampler(params, CFG, TK)
    out = s.generate(SamplingRequest(["Q:1+2=", "Q:3*4-5="], n=3, temperature=1.0, max_tokens=20, seed=1))
    assert len(out) == 2 and all(len(r) == 3 for r in out)
    for prompt, row in zip(["Q:1+2=", "Q:3*4-5="], out):
        for c in row:
            ids = TK.encode(prompt, bos=True) + list(c.token_ids)
            lp = token_log_probs(sequence_logits(params, CFG, jnp.asarray([ids]))[:, :-1], jnp.asarray([ids[1:]]))[0]
            np.testing.assert_allclose(np.asarray(lp)[-len(c.token_ids):], c.logprobs, atol=1e-4)
            assert c.text == TK.decode(c.token_ids)


def test_cache_and_recompute_samplers_agree_and_are_deterministic(params):
    req = SamplingRequest(["Q:1+2=", "Q:9-3*3="], n=4, temperature=0.8, top_p=0.9, max_tokens=16, seed=5)
    a = JaxSampler(params, CFG, TK, use_cache=True).generate(req)
    b = JaxSampler(params, CFG, TK, use_cache=False).generate(req)
    c = JaxSampler(params, CFG, TK, use_cache=True).generate(req)
    ids = lambda out: [x.token_ids for row in out for x in row]
    assert ids(a) == ids(b) == ids(c)
    d = JaxSampler(params, CFG, TK).generate(SamplingRequest(req.prompts, n=4, temperature=0.8, top_p=0.9, max_tokens=16, seed=6))
    assert ids(d) != ids(a)


def test_chunked_batches_equal_one_batch(params):
    req = SamplingRequest(["Q:1+2=", "Q:4*4=", "Q:7-1="], n=3, temperature=0.0, max_tokens=8, seed=0)
    whole = JaxSampler(params, CFG, TK).generate(req)
    for mb in (4, 5, 1):  # 9 rows -> 3 x 3, 2 x 5 (one padded row), 9 x 1
        chunked = JaxSampler(params, CFG, TK, max_batch=mb).generate(req)
        assert [x.token_ids for r in whole for x in r] == [x.token_ids for r in chunked for x in r]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=8), st.floats(0.05, 1.0))
def test_top_p_keeps_the_smallest_nucleus(logits, top_p):
    lg = jnp.asarray([logits], jnp.float32)
    kept = np.isfinite(np.asarray(filter_logits(lg, 1.0, top_p))[0])
    p = np.exp(np.array(logits) - max(logits))
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    # brute force: the shortest prefix of tokens by probability whose mass reaches top_p
    need = next(i + 1 for i in range(len(p)) if p[order[: i + 1]].sum() >= top_p - 1e-6)
    assert kept.sum() >= 1
    assert abs(int(kept.sum()) - need) <= 1  # float32 ties at the boundary may differ by one token
    assert p[kept].sum() >= top_p - 1e-5


def test_bad_requests_name_the_field(params):
    with pytest.raises(ValueError, match="n:"):
        SamplingRequest(["a"], n=0)
    with pytest.raises(ValueError, match="top_p"):
        SamplingRequest(["a"], top_p=0)
    with pytest.raises(ValueError, match="max_tokens"):
        JaxSampler(params, CFG, TK).generate(SamplingRequest(["Q:1+2="], max_tokens=100))
    with pytest.raises(ValueError, match="max_batch"):
        JaxSampler(params, CFG, TK, max_batch=0)
