"""The sampler interface every sampler implements: ``generate(SamplingRequest) -> [prompt][sample] Completion``.

``Completion`` holds the text, the generated token ids and, per generated token, its log-probability
under the model's raw distribution (log-softmax of the logits at temperature 1, before temperature and
top-p; vLLM's ``logprobs_mode="raw_logprobs"``), which is what a policy-gradient ratio needs.
Implementations: ``real.lab.samplers.jax`` (our Llama), ``.transformers`` (any Hugging Face folder),
``.vllm`` (any Hugging Face folder, vLLM installed).

Sampling: temperature T > 0 divides the logits; T = 0 is greedy; top_p < 1 keeps the smallest set of
tokens whose probability (after temperature) reaches top_p (nucleus sampling, Holtzman et al. 2020).
Deterministic given ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.checks import check_int, check_number


@dataclass(frozen=True)
class Completion:
    """One sampled continuation: text (decoded, up to <eos>), token_ids, logprobs (nats, per token)."""

    text: str
    token_ids: tuple
    logprobs: tuple
    finished: bool = True  # False when max_tokens ran out before <eos>
    entropies: tuple | None = None  # per token: entropy of the raw distribution (nats), where the sampler reports it
    branching: tuple | None = None  # per token: size of the top-p = 0.95 candidate set, where the sampler reports it


@dataclass
class SamplingRequest:
    """What every sampler takes (vLLM's SamplingParams subset)."""

    prompts: list
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 64
    seed: int = 0

    def __post_init__(self):
        if not self.prompts or not all(isinstance(p, str) for p in self.prompts):
            raise ValueError("prompts: must be a non-empty list of strings")
        check_int("n", self.n)
        check_number("temperature", self.temperature, low=0)
        check_number("top_p", self.top_p, low=0, low_open=True, high=1)
        check_int("max_tokens", self.max_tokens)
