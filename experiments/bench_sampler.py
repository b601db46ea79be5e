"""Benchmark ``sampler``: tokens/s of the samplers on one checkpoint, and whether they agree.

Samplers (same prompts, n samples each, T = 1, top_p = 1, up to 48 new tokens):
- the JAX sampler with its KV cache (``real.lab.samplers.jax.JaxSampler``), jitted, batched;
- the same without the cache (full recompute at every step: the reference);
- ``transformers`` ``generate`` on the exported Hugging Face checkpoint, where torch and transformers
  are installed (batched, left padding, ``do_sample=True``);
- vLLM (``vllm.LLM(model=DIR)``, ``SamplingParams(n=...)``) where it is installed and a GPU is present.
Tokens/s counts generated tokens (through <eos>) over wall time, after one warm-up call of each shape.

Agreement: for each sampler pair the final answers (``#### d``, ten values plus "none") of every test
problem are compared with a chi-square test of homogeneity per problem; the per-problem statistics and
degrees of freedom are summed (independent problems), giving one chi-square statistic and p-value.
Under equal distributions p is uniform; the claim is p > 0.001.

The checkpoint: ``results/real_rlvr/base`` when it exists (the trained base model), else a fresh SFT of
a small model (quick: 150 steps). Quick mode: 40 problems x 16 samples; full: 100 x 32.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import jax
import numpy as np
from scipy import stats

from common.results import RESULTS_DIR, Claim, print_claims, write_summary

NAME = "bench-sampler"
MAX_TOKENS = 48


def answer_matrix(texts_by_problem) -> np.ndarray:
    """[P, 11] counts of final answers 0..9 and 'none' per problem."""
    from real.logs.answers import extract_answer

    out = np.zeros((len(texts_by_problem), 11), np.int64)
    for i, texts in enumerate(texts_by_problem):
        for t in texts:
            a = extract_answer(t)
            out[i, int(a) if a is not None and a.isdigit() and int(a) < 10 else 10] += 1
    return out


def homogeneity_test(a: np.ndarray, b: np.ndarray) -> dict:
    """Summed per-problem chi-square tests of homogeneity of two answer-count matrices [P, classes]."""
    chi2, dof = 0.0, 0
    for x, y in zip(a, b):
        keep = (x + y) > 0
        if keep.sum() < 2:
            continue
        table = np.stack([x[keep], y[keep]])
        exp = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        chi2 += float(((table - exp) ** 2 / exp).sum())
        dof += int(keep.sum() - 1)
    p = float(stats.chi2.sf(chi2, dof)) if dof else 1.0
    return {"chi2": chi2, "dof": dof, "p_value": p}


def time_jax(params, config, tk, prompts, n, seed, use_cache) -> tuple[list, float, int]:
    from real.lab.samplers.interface import SamplingRequest
    from real.lab.samplers.jax import JaxSampler

    s = JaxSampler(params, config, tk, use_cache=use_cache, max_batch=len(prompts) * n)
    req = SamplingRequest(prompts, n=n, temperature=1.0, max_tokens=MAX_TOKENS, seed=seed)
    s.generate_ids(req)  # compile
    t0 = time.perf_counter()
    tok, lp, ngen, done = s.generate_ids(SamplingRequest(prompts, n=n, temperature=1.0, max_tokens=MAX_TOKENS, seed=seed + 1))
    dt = time.perf_counter() - t0
    texts = [[tk.decode(tok[i, j, : ngen[i, j]]) for j in range(n)] for i in range(len(prompts))]
    return texts, dt, int(ngen.sum())


def time_transformers(hf_dir, tk, prompts, n, seed):
    import torch
    import transformers

    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = transformers.AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32).to(dev).eval()
    ids = [tk.encode(p, bos=True) for p in prompts for _ in range(n)]
    L = max(len(x) for x in ids)
    inp = torch.tensor([[tk.pad_id] * (L - len(x)) + x for x in ids], device=dev)
    att = torch.tensor([[0] * (L - len(x)) + [1] * len(x) for x in ids], device=dev)

    def gen(s):
        torch.manual_seed(s)
        with torch.no_grad():
            return model.generate(input_ids=inp, attention_mask=att, do_sample=True, temperature=1.0, top_p=1.0, top_k=0,
                                  max_new_tokens=MAX_TOKENS, eos_token_id=tk.eos_id, pad_token_id=tk.pad_id)

    gen(seed)
    if dev == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = gen(seed + 1)
    if dev == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    new = out[:, L:].cpu().numpy()
    texts, ntok = [], 0
    for i in range(len(prompts)):
        row = []
        for j in range(n):
            seq = new[i * n + j]
            end = np.flatnonzero(seq == tk.eos_id)
            k = int(end[0]) + 1 if end.size else len(seq)
            ntok += k
            row.append(tk.decode(seq[:k]))
        texts.append(row)
    return texts, dt, ntok, dev


def time_vllm(hf_dir, prompts, n, seed):
    from real.lab.samplers.interface import SamplingRequest
    from real.lab.samplers.vllm import VLLMSampler

    s = VLLMSampler(str(hf_dir), {"dtype": "float32", "seed": seed})
    s.generate(SamplingRequest(prompts, n=n, temperature=1.0, max_tokens=MAX_TOKENS, seed=seed))
    t0 = time.perf_counter()
    outs = s.generate(SamplingRequest(prompts, n=n, temperature=1.0, max_tokens=MAX_TOKENS, seed=seed + 1))
    dt = time.perf_counter() - t0
    return [[c.text for c in row] for row in outs], dt, sum(len(c.token_ids) for row in outs for c in row)


def _checkpoint(quick: bool, seed: int):
    from real.lab.checkpoints import load_checkpoint
    from real.lab.config import SFTConfig
    from real.lab.model import LlamaConfig, init_params
    from real.lab.sft import train_sft
    from real.lab.task import make_problems
    from real.lab.tokenizer import CharTokenizer

    base = Path(RESULTS_DIR) / "real_rlvr" / "base"
    if (base / "config.json").is_file():
        params, config, _, _, _ = load_checkpoint(base)
        return params, config, str(base)
    tk = CharTokenizer()
    config = LlamaConfig(vocab_size=tk.vocab_size, hidden_size=64, intermediate_size=192, num_hidden_layers=2,
                         max_position_embeddings=80)
    params = init_params(config, jax.random.key(seed))
    params, _, _ = train_sft(params, config, make_problems(5000, [1, 2, 3], seed=seed), SFTConfig(steps=150 if quick else 400, batch_size=64))
    return params, config, "fresh SFT (results/real_rlvr/base absent)"


def run(quick: bool = False, results_dir=None, seed: int = 0) -> dict:
    from real.lab.hf_export import export_hf
    from real.lab.task import make_problems
    from real.lab.tokenizer import CharTokenizer

    tk = CharTokenizer()
    params, config, source = _checkpoint(quick, seed)
    P, n = (40, 16) if quick else (100, 32)
    problems = make_problems(P, [2, 3, 4], seed=seed + 11, prefix="b")
    prompts = [p.prompt for p in problems]
    res, texts = {}, {}
    for name, cache in (("jax_kv_cache", True), ("jax_recompute", False)):
        t, dt, ntok = time_jax(params, config, tk, prompts, n, seed, cache)
        res[name] = {"seconds": dt, "tokens": ntok, "tokens_per_s": ntok / dt, "device": jax.devices()[0].platform}
        texts[name] = t
    with tempfile.TemporaryDirectory() as tmp:
        hf = Path(tmp) / "hf"
        export_hf(hf, params, config, tk)
        try:
            t, dt, ntok, dev = time_transformers(hf, tk, prompts, n, seed)
            res["transformers_generate"] = {"seconds": dt, "tokens": ntok, "tokens_per_s": ntok / dt, "device": dev}
            texts["transformers_generate"] = t
        except ImportError as e:
            res["transformers_generate"] = {"skipped": f"not installed ({e})"}
        try:
            t, dt, ntok = time_vllm(hf, prompts, n, seed)
            res["vllm"] = {"seconds": dt, "tokens": ntok, "tokens_per_s": ntok / dt}
            texts["vllm"] = t
        except Exception as e:  # noqa: BLE001 - not installed, or no GPU: reported, not faked
            res["vllm"] = {"skipped": f"{type(e).__name__}: {e}"[:300]}
    mats = {k: answer_matrix(v) for k, v in texts.items()}
    tests = {f"{a} vs {b}": homogeneity_test(mats[a], mats[b]) for a in mats for b in mats if a < b}
    ratio = res["jax_kv_cache"]["tokens_per_s"] / res["jax_recompute"]["tokens_per_s"]
    claims = [Claim(f"JAX sampler: KV cache is faster than full recompute (tokens/s ratio; {P} prompts x {n} samples, "
                    f"<= {MAX_TOKENS} new tokens)", ratio > 1, ratio, 1.0)]
    for name, t in tests.items():
        claims.append(Claim(f"answer distributions agree, {name}: summed per-problem chi-square {t['chi2']:.1f} on {t['dof']} dof, "
                            "p > 0.001", t["p_value"] > 1e-3, t["p_value"], 1e-3))
    write_summary(NAME, claims, results_dir=results_dir, quick=quick, checkpoint=source, samplers=res, tests=tests,
                  prompts=P, n=n, max_tokens=MAX_TOKENS)
    print(f"bench sampler ({'quick' if quick else 'full'}; checkpoint: {source})")
    for k, v in res.items():
        print(f"  {k:22s} " + (f"{v['tokens_per_s']:.0f} tokens/s ({v['tokens']} tokens in {v['seconds']:.2f} s, {v.get('device', '')})"
                               if "tokens_per_s" in v else v["skipped"]))
    print_claims(claims)
    return {"claims": [c.as_dict() for c in claims], "samplers": res}

