"""The vLLM sampler (GPU machines; vLLM is the optional extra ``pip install -e '.[vllm]'``).

Same interface as ``real.sampler.JaxSampler``: ``generate(SamplingRequest) -> [[Completion] * n per
prompt]``, with per-token log-probabilities of the sampled tokens. Works on any local Hugging Face
checkpoint folder (``vllm.LLM(model=DIR)``), ours after ``real.export.export_hf``. vLLM returns, for each
generated token, the log-probability of the sampled token under the raw model distribution when
``logprobs=0`` and ``logprobs_mode="raw_logprobs"`` (the vLLM default mode in recent versions).

Status: vLLM could not be installed on the GPU machine lent to this project (its wheel is 336 MB, over
the 64 MiB a device call may carry, it pins torch 2.14 while the machine has 2.11, and nothing can be
fetched there), so this adapter has not been run; ``experiments/bench_sampler.py`` reports vLLM as
skipped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from real.sampler import Completion, SamplingRequest


@dataclass
class VLLMSampler:
    """``vllm.LLM(model=model_dir)``; ``llm_kwargs`` go to the constructor (dtype, gpu_memory_utilization, ...)."""

    model_dir: str
    llm_kwargs: dict | None = None

    def __post_init__(self):
        from vllm import LLM  # ImportError names the missing extra

        self.llm = LLM(model=str(self.model_dir), **(self.llm_kwargs or {}))

    def generate(self, request: SamplingRequest) -> list[list[Completion]]:
        from vllm import SamplingParams

        params = SamplingParams(n=request.n, temperature=request.temperature, top_p=request.top_p,
                                max_tokens=request.max_tokens, seed=request.seed, logprobs=0)
        outs = self.llm.generate(request.prompts, params)
        result = []
        for o in outs:
            row = []
            for c in o.outputs:
                lps = tuple(float(d[t].logprob) for d, t in zip(c.logprobs or [], c.token_ids)) if c.logprobs else ()
                row.append(Completion(c.text, tuple(c.token_ids), lps, c.finish_reason == "stop"))
            result.append(row)
        return result
