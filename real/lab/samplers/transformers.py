"""A ``transformers`` sampler for any local Hugging Face causal LM (CPU or GPU; torch + transformers).

Same interface as ``real.lab.samplers.jax.JaxSampler`` and ``real.lab.samplers.vllm.VLLMSampler``:
``generate(SamplingRequest) -> [[Completion] * n for each prompt]``. Prompts are tokenized by the
checkpoint's own tokenizer with its special tokens (as vLLM does), left-padded, and sampled with
``model.generate(do_sample=True, temperature, top_p, top_k=0)``; T = 0 is greedy. Per-token log-probs
are those of the sampled tokens under the raw model distribution (``log_softmax`` of the unprocessed
logits, ``output_logits=True``), the quantity vLLM returns with ``logprobs_mode="raw_logprobs"`` and the
JAX sampler returns. A completion runs through the first end-of-sequence token (included in
``token_ids``); ``text`` is decoded without special tokens. Deterministic given ``seed`` on one device.
"""

from __future__ import annotations

from dataclasses import dataclass

from real.lab.samplers.interface import Completion, SamplingRequest


@dataclass
class TransformersSampler:
    """``AutoModelForCausalLM.from_pretrained(model_dir)``; ``device`` defaults to CUDA when available."""

    model_dir: str
    device: str | None = None
    max_batch: int = 256  # sequences per generate call

    def __post_init__(self):
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise ImportError(f"TransformersSampler needs torch and transformers ({exc})") from exc
        if isinstance(self.max_batch, bool) or not isinstance(self.max_batch, int) or self.max_batch < 1:
            raise ValueError(f"max_batch: must be an integer >= 1, got {self.max_batch!r}")
        self.torch = torch
        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.model_dir))
        self.model = transformers.AutoModelForCausalLM.from_pretrained(str(self.model_dir), dtype=torch.float32)
        self.model.to(self.device).eval()
        eos = self.model.generation_config.eos_token_id
        eos = self.tokenizer.eos_token_id if eos is None else eos
        self.eos_ids = set(eos if isinstance(eos, (list, tuple)) else [eos])
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else min(self.eos_ids)

    def generate(self, request: SamplingRequest) -> list[list[Completion]]:
        torch = self.torch
        enc = [self.tokenizer(p)["input_ids"] for p in request.prompts]
        rows = [ids for ids in enc for _ in range(request.n)]
        torch.manual_seed(request.seed)
        flat = []
        for start in range(0, len(rows), self.max_batch):
            chunk = rows[start:start + self.max_batch]
            L = max(len(x) for x in chunk)
            inp = torch.tensor([[self.pad_id] * (L - len(x)) + x for x in chunk], device=self.device)
            att = torch.tensor([[0] * (L - len(x)) + [1] * len(x) for x in chunk], device=self.device)
            sample = request.temperature > 0
            kw = dict(do_sample=True, temperature=request.temperature, top_p=request.top_p, top_k=0) if sample else dict(do_sample=False)
            with torch.no_grad():
                out = self.model.generate(input_ids=inp, attention_mask=att, max_new_tokens=request.max_tokens,
                                          eos_token_id=sorted(self.eos_ids), pad_token_id=self.pad_id,
                                          output_logits=True, return_dict_in_generate=True, **kw)
            new_dev = out.sequences[:, L:]
            # log-prob of each sampled token, one step at a time ([b, V] each; never [b, T, V] for large vocabularies)
            lp = torch.stack([torch.log_softmax(x.float(), dim=-1).gather(1, new_dev[:, t:t + 1])[:, 0]
                              for t, x in enumerate(out.logits)], dim=1).cpu()  # [b, T]
            new = new_dev.cpu()
            for i in range(new.shape[0]):
                ids, lps, finished = [], [], False
                for t in range(new.shape[1]):
                    tok = int(new[i, t])
                    ids.append(tok)
                    lps.append(float(lp[i, t]))
                    if tok in self.eos_ids:
                        finished = True
                        break
                flat.append(Completion(self.tokenizer.decode(ids, skip_special_tokens=True), tuple(ids), tuple(lps), finished))
        return [flat[i * request.n:(i + 1) * request.n] for i in range(len(request.prompts))]
