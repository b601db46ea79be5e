"""The vLLM sampler (GPU machines; vLLM is the optional extra ``pip install -e '.[vllm]'``).

Same interface as ``real.lab.samplers.jax.JaxSampler``: ``generate(SamplingRequest) -> [[Completion] * n per
prompt]``, with per-token log-probabilities of the sampled tokens. Works on any local Hugging Face
checkpoint folder (``vllm.LLM(model=DIR)``), ours after ``real.lab.hf_export.export_hf``. vLLM returns, for each
generated token, the log-probability of the sampled token under the raw model distribution when
``logprobs=0`` and ``logprobs_mode="raw_logprobs"`` (the vLLM default mode in recent versions).

Status: vLLM could not be installed on the GPU machine lent to this project (its wheel is 336 MB, over
the 64 MiB a device call may carry, it pins torch 2.14 while the machine has 2.11, and nothing can be
fetched there), and later tasks were lent no GPU, so this adapter has never run against real vLLM.
``tests/test_real_vllm_sampler.py`` checks our side of it (arguments, output conversion, errors) against a
stand-in module of vLLM's documented output shapes; ``experiments/bench_sampler.py`` reports vLLM as
skipped with the reason, and adds its tokens/s and answer-distribution test wherever ``vllm`` imports.
"""

from __future__ import annotations

from dataclasses import dataclass

from real.lab.samplers.interface import Completion, SamplingRequest


@dataclass
class VLLMSampler:
    """``vllm.LLM(model=model_dir)``; ``llm_kwargs`` go to the constructor (dtype, gpu_memory_utilization, ...)."""

    model_dir: str
    llm_kwargs: dict | None = None

    def __post_init__(self):
        try:
            from vllm import LLM
        except ImportError as exc:
            raise ImportError(f"VLLMSampler needs vLLM, the optional extra: pip install -e '.[vllm]' on a GPU "
                              f"machine ({exc})") from exc
        self.llm = LLM(model=str(self.model_dir), **(self.llm_kwargs or {}))

    def generate(self, request: SamplingRequest) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = SamplingParams(n=request.n, temperature=request.temperature, top_p=request.top_p,
                                max_tokens=request.max_tokens, seed=request.seed, logprobs=0)
        outs = self.llm.generate(request.prompts, params)
        if len(outs) != len(request.prompts):
            raise RuntimeError(f"vLLM returned {len(outs)} outputs for {len(request.prompts)} prompts")
        result = []
        for i, o in enumerate(outs):
            if len(o.outputs) != request.n:
                raise RuntimeError(f"prompt {i}: vLLM returned {len(o.outputs)} completions, n = {request.n}")
            row = []
            for j, c in enumerate(o.outputs):
                ids = tuple(int(t) for t in c.token_ids)
                # logprobs=0: one {token_id: Logprob} per generated token, holding at least the sampled token
                if c.logprobs is None or len(c.logprobs) != len(ids):
                    got = None if c.logprobs is None else len(c.logprobs)
                    raise RuntimeError(f"prompt {i}, completion {j}: vLLM gave {got} per-token logprobs for "
                                       f"{len(ids)} tokens")
                lps = tuple(float(d[t].logprob) for d, t in zip(c.logprobs, ids))
                row.append(Completion(c.text, ids, lps, c.finish_reason == "stop"))
            result.append(row)
        return result
