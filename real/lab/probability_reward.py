"""RLPR's probability reward on our model (Yu et al. 2025, "RLPR: Extrapolating RLVR to General Domains
without Verifiers", arXiv:2506.18254): the policy scores the *reference* answer after its own reasoning.

For a completion o of prompt x, the reasoning z is o up to its last answer marker ``#### `` (all of o when
it has none); the scored sequence is ``<bos> x z "#### " y*`` with y* the reference answer, and the reward
is the mean per-token probability of the y* tokens (``theory.rlpr.mean_probability_reward``, RLPR eq. 2).
The debiasing score r' is the same quantity for ``<bos> x "#### " y*`` (no reasoning, RLPR eq. 4), one per
prompt. Both come from one teacher-forced pass of the policy (``real.lab.scoring``'s jitted scorer) over
all B x (n + 1) sequences, never from the verifier: RLPR needs no answer checking. Units: probabilities.
"""

from __future__ import annotations

import numpy as np

from real.lab.model import LlamaConfig
from real.lab.scoring import padded_log_probs
from real.lab.tokenizer import CharTokenizer
from theory.rlpr import mean_probability_reward

__all__ = ["ANSWER_MARKER", "reasoning_of", "reference_answer_probabilities"]

ANSWER_MARKER = "#### "


def reasoning_of(text: str) -> str:
    """The reasoning part of a completion: its text before the last ``####`` (all of it when there is none)."""
    i = text.rfind(ANSWER_MARKER.strip())
    return text if i < 0 else text[:i]


def reference_answer_probabilities(params, config: LlamaConfig, tokenizer: CharTokenizer, prompts: list, golds: list,
                                   completions: list) -> tuple[np.ndarray, np.ndarray]:
    """(r [B, n], r' [B]): mean probability of the reference answer's tokens with each completion's reasoning,
    and without reasoning (module docstring). ``prompts`` / ``golds`` [B] strings, ``completions`` [B][n].

    A reasoning too long for ``config.max_position_embeddings`` is cut from its end (the reference answer is
    always scored)."""
    B = len(prompts)
    if len(golds) != B or len(completions) != B:
        raise ValueError(f"golds, completions: need one per prompt ({B}), got {len(golds)} and {len(completions)}")
    rows, answer_spans = [], []
    for x, y, row in zip(prompts, golds, completions):
        head = tokenizer.encode(x, bos=True)
        tail = tokenizer.encode(ANSWER_MARKER + str(y))
        n_answer = len(str(y))
        room = config.max_position_embeddings - len(head) - len(tail)
        if room < 0:
            raise ValueError(f"prompt {x!r}: prompt and reference answer need {len(head) + len(tail)} positions, "
                             f"more than max_position_embeddings = {config.max_position_embeddings}")
        for c in list(row) + [None]:  # the n completions, then the no-reasoning sequence
            z = [] if c is None else tokenizer.encode(reasoning_of(c.text))[:room]
            ids = head + z + tail
            rows.append(ids)
            answer_spans.append((len(ids) - n_answer, len(ids)))
    T = config.max_position_embeddings  # one shape for every batch: one compilation
    toks = np.full((len(rows), T), tokenizer.pad_id, np.int32)
    pad = np.zeros((len(rows), T), bool)
    answer = np.zeros((len(rows), T - 1), bool)  # target positions: column t scores token t + 1
    for i, (ids, (a, b)) in enumerate(zip(rows, answer_spans)):
        toks[i, :len(ids)] = ids
        pad[i, :len(ids)] = True
        answer[i, a - 1:b - 1] = True
    lp = np.asarray(padded_log_probs(params, toks, pad, config=config))
    lp = np.where(answer, lp, 0.0)
    r = np.asarray(mean_probability_reward(lp, answer), np.float64)
    n = len(completions[0]) if B else 0
    r = r.reshape(B, n + 1)
    return r[:, :n], r[:, n]
