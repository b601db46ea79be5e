"""Samplers behind one interface (``interface``): our JAX Llama (``jax``), Hugging Face ``transformers``
and ``vllm`` (CPU or GPU build); each turns a ``SamplingRequest`` into completions with per-token log-probs."""

from real.lab.samplers.interface import Completion, SamplingRequest

__all__ = ["Completion", "SamplingRequest"]
