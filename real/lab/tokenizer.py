"""A character-level tokenizer: one token per character of a fixed alphabet, plus BOS/EOS/PAD.

Ids: 0 = <pad>, 1 = <bos>, 2 = <eos>, then the alphabet in order. Encoding a character outside the
alphabet raises ValueError naming it and its position, so a task change cannot silently produce
unknown tokens. ``to_hf_json`` writes the same vocabulary as a Hugging Face ``tokenizer.json``
(WordLevel model on single characters, no normalizer) so exported checkpoints load in transformers and
vLLM with identical ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

SPECIALS = ("<pad>", "<bos>", "<eos>")
DEFAULT_ALPHABET = "0123456789+-*%=()#;:, ?QAcmod\n"


@dataclass(frozen=True)
class CharTokenizer:
    """Character tokenizer over ``alphabet`` (unique characters)."""

    alphabet: str = DEFAULT_ALPHABET

    def __post_init__(self):
        if len(set(self.alphabet)) != len(self.alphabet):
            raise ValueError(f"alphabet: characters must be unique, got {self.alphabet!r}")
        if not self.alphabet:
            raise ValueError("alphabet: must not be empty")

    @property
    def pad_id(self) -> int:
        return 0

    @property
    def bos_id(self) -> int:
        return 1

    @property
    def eos_id(self) -> int:
        return 2

    @property
    def vocab_size(self) -> int:
        return len(SPECIALS) + len(self.alphabet)

    @property
    def vocab(self) -> dict[str, int]:
        """token string -> id (specials first)."""
        out = {s: i for i, s in enumerate(SPECIALS)}
        out.update({c: len(SPECIALS) + i for i, c in enumerate(self.alphabet)})
        return out

    def encode(self, text: str, *, bos: bool = False, eos: bool = False) -> list[int]:
        """Token ids of ``text`` (optionally with <bos> first / <eos> last)."""
        table = self._table()
        ids = [self.bos_id] if bos else []
        for i, ch in enumerate(text):
            t = table.get(ch)
            if t is None:
                raise ValueError(f"text: character {ch!r} at position {i} is not in the tokenizer alphabet")
            ids.append(t)
        if eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids, *, stop_at_eos: bool = True) -> str:
        """Text of ``ids``; specials are dropped, and decoding stops at the first <eos> by default."""
        out = []
        n_special = len(SPECIALS)
        for t in np.asarray(ids).reshape(-1).tolist():
            if t == self.eos_id and stop_at_eos:
                break
            if t >= n_special:
                if t >= self.vocab_size:
                    raise ValueError(f"ids: token id {t} is outside the vocabulary (size {self.vocab_size})")
                out.append(self.alphabet[t - n_special])
        return "".join(out)

    def _table(self) -> dict[str, int]:
        return {c: len(SPECIALS) + i for i, c in enumerate(self.alphabet)}

    def to_hf_json(self) -> str:
        """A Hugging Face ``tokenizer.json`` (tokenizers library format) with the same ids."""
        vocab = self.vocab
        added = [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
        doc = {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": None,
            "pre_tokenizer": {"type": "Split", "pattern": {"String": ""}, "behavior": "Isolated", "invert": False},
            # <bos> before every sequence, as our sampler and training do (Llama's tokenizer does the same),
            # so that transformers and vLLM, which tokenize text prompts with special tokens, see our prompts
            "post_processor": {"type": "TemplateProcessing",
                               "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                        {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": {"<bos>": {"id": "<bos>", "ids": [self.bos_id], "tokens": ["<bos>"]}}},
            "decoder": {"type": "Fuse"},
            "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<pad>"},
        }
        return json.dumps(doc, ensure_ascii=False, indent=1)
