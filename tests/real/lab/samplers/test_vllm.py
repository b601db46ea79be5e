"""The vLLM adapter against a stand-in ``vllm`` module of vLLM's documented output shapes.

vLLM itself needs a GPU machine (and is not installable on the one lent to this project; see
real/vllm_sampler.py), so these tests check only our side of the adapter: which arguments reach
``LLM``/``SamplingParams``, and how ``RequestOutput.outputs[j]`` (``text``, ``token_ids``, ``logprobs`` as a
list of ``{token_id: Logprob}``, ``finish_reason``) becomes a ``Completion``. The stand-in's logprob dicts
hold, besides the sampled token, a more likely distractor token, as vLLM's do when the sampled token is
not the top one, so picking the wrong entry fails.
"""

import sys
import types
from dataclasses import dataclass

import pytest

from real.lab.samplers.interface import Completion, SamplingRequest


@dataclass
class _Logprob:
    logprob: float
    rank: int = 1
    decoded_token: str = ""


@dataclass
class _CompletionOutput:
    index: int
    text: str
    token_ids: list
    cumulative_logprob: float
    logprobs: list
    finish_reason: str


@dataclass
class _RequestOutput:
    prompt: str
    outputs: list


def _fake_vllm(calls: dict, *, drop_logprob_at=None, short_n=False):
    mod = types.ModuleType("vllm")

    class SamplingParams:
        def __init__(self, **kw):
            calls["sampling"] = kw
            self.__dict__.update(kw)

    class LLM:
        def __init__(self, model, **kw):
            calls["llm"] = {"model": model, **kw}

        def generate(self, prompts, params):
            outs = []
            for i, p in enumerate(prompts):
                comps = []
                for j in range(params.n - (1 if short_n else 0)):
                    ids = [10 + i, 20 + j, 2] if j % 2 == 0 else [10 + i, 30 + j]
                    lps = [{t: _Logprob(-0.1 * (k + 1) - j), 99: _Logprob(-0.01, rank=1)} for k, t in enumerate(ids)]
                    if drop_logprob_at == (i, j):
                        lps = lps[:-1]
                    comps.append(_CompletionOutput(j, f"{p}|{j}", ids, sum(d[t].logprob for d, t in zip(lps, ids)), lps,
                                                   "stop" if j % 2 == 0 else "length"))
                outs.append(_RequestOutput(p, comps))
            return outs

    mod.LLM, mod.SamplingParams = LLM, SamplingParams
    return mod


def test_vllm_adapter_arguments_and_conversion(monkeypatch):
    calls = {}
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm(calls))
    from real.lab.samplers.vllm import VLLMSampler

    s = VLLMSampler("/some/hf_dir", {"dtype": "float32", "seed": 3})
    assert calls["llm"] == {"model": "/some/hf_dir", "dtype": "float32", "seed": 3}
    out = s.generate(SamplingRequest(["a", "b"], n=3, temperature=0.7, top_p=0.9, max_tokens=5, seed=11))
    assert calls["sampling"] == {"n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 5, "seed": 11, "logprobs": 0}
    assert [len(r) for r in out] == [3, 3]
    c = out[1][2]
    assert isinstance(c, Completion)
    assert c.text == "b|2" and c.token_ids == (11, 22, 2) and c.finished
    # the sampled token's logprob, not the distractor's (-0.01)
    assert c.logprobs == pytest.approx((-2.1, -2.2, -2.3))
    assert out[0][1].token_ids == (10, 31) and not out[0][1].finished
    assert out[0][1].logprobs == pytest.approx((-1.1, -1.2))


def test_vllm_adapter_rejects_missing_logprobs_and_short_outputs(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm({}, drop_logprob_at=(1, 0)))
    from real.lab.samplers.vllm import VLLMSampler

    with pytest.raises(RuntimeError, match=r"prompt 1, completion 0: vLLM gave 2 per-token logprobs for 3 tokens"):
        VLLMSampler("d").generate(SamplingRequest(["a", "b"], n=2))
    monkeypatch.setitem(sys.modules, "vllm", _fake_vllm({}, short_n=True))
    with pytest.raises(RuntimeError, match=r"prompt 0: vLLM returned 1 completions, n = 2"):
        VLLMSampler("d").generate(SamplingRequest(["a"], n=2))


def test_vllm_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    from real.lab.samplers.vllm import VLLMSampler

    with pytest.raises(ImportError, match=r"optional extra: pip install -e '\.\[vllm\]'"):
        VLLMSampler("d")
