"""Final-answer extraction from completions and answer equivalence, so that equal answers vote together.

Extraction (:func:`extract_answer`): the first rule that finds something wins; each takes the *last*
occurrence in the text.

1. ``\\boxed{...}`` / ``\\fbox{...}`` with balanced nested braces (escaped ``\\{``/``\\}`` do not count;
   an unclosed box, e.g. a truncated completion, is skipped), or ``\\boxed 5`` without braces;
2. ``<answer>...</answer>`` (case-insensitive tag);
3. a phrase: "#### x" (GSM8K; x must start like a number or math, so a markdown header
   "#### Step 2" is not an answer), "The answer is x", "the final answer is x", "My final answer is x",
   "Final Answer: x" (case-insensitive). The answer runs to the end of the line, cut at the first
   sentence-ending period (a period followed by white space or the end: ``3.5`` survives); when it starts
   with ``$``/``$$``/``\\(`` it is the enclosed math. Surrounding ``$``, ``**`` and a trailing period are
   stripped;
4. the last number in the text: integers, a sign (unless the sign directly follows a letter, digit or
   closing bracket: "3-2" gives "2", "then -2" gives "-2"), decimals, thousands commas ("1,234"), simple fractions ("3/4"). Digits
   glued to a word ("x2", "a_1") are not numbers.

The raw (stripped, not normalized) string is returned, or None.

Canonical forms and equivalence (:class:`AnswerEquivalence`), in increasing cost:

1. :func:`normalize_answer`, a cheap string normal form (rules in its docstring);
2. exact rationals: a normalized integer, decimal, ``a/b`` or ``\\frac{a}{b}`` has the canonical form
   ``"p/q"`` in lowest terms (``"p"`` when q = 1): "0.5", "1/2", "\\frac{1}{2}", "2/4" → "1/2";
3. for other strings that look mathematical, math-verify (Hugging Face's ``math_verify.parse``, LaTeX →
   sympy) parses the normalized string in the worker process; the first parsed object, after ``doit()``
   (so ``\\sqrt{1/4}`` → 1/2, ``\\sqrt{8}`` → 2*sqrt(2)), gives the canonical form: ``"p/q"`` for a
   rational (the same form as step 2), else ``str(expr)`` (sympy's printer, which orders the terms of
   sums and products: "x+1" and "1+x" → "x + 1"). No ``simplify`` (unbounded cost): ``(x+1)^2`` and
   ``x^2+2x+1`` keep different canonical forms and are matched by step 4. Strings that do not look
   mathematical (plain words), that math-verify cannot parse, or whose parse times out keep their
   normalized string and never reach ``verify``;
4. ``math_verify.verify`` on the two normalized strings, only when both parsed and the pair is not
   already decided: two distinct exact rationals are different; two constants whose numerical values
   differ by more than math-verify's tolerance (6 decimals when a float is involved, else 1e-9
   relative) are different. The verdict is symmetric (the pair is verified in sorted canonical order)
   and cached per pair of canonical forms.

math-verify's own timeouts use ``signal.alarm``, which fails off the main thread. We call it with
``parsing_timeout=None`` / ``timeout_seconds=None`` in a persistent worker *process* (this file run as a
script through ``runpy``, so the parent's ``__main__`` is never re-imported and no multiprocessing start
method is involved) and enforce our own timeout on each reply: a request that takes longer than
``timeout_s`` kills the worker (restarted lazily at the next request) and counts as "not equivalent" /
"not parsed" (``stats["timeouts"]``). Replies are read by a helper thread into a queue, so this works
from any thread. The worker starts lazily, at the first string that needs math-verify.
"""

from __future__ import annotations

import json
import math
import os
import queue
import re
import subprocess
import sys
import threading
from fractions import Fraction
from typing import NamedTuple

from common.closing import ClosedOnExit

# --------------------------------------------------------------------------------------------- extraction

_BOX_RE = re.compile(r"\\(boxed|fbox)(?![A-Za-z])")
_TAG_RE = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_PHRASE_RE = re.compile(
    r"####|\b(?:the|my)\s+(?:final\s+)?answer\s+is\b\s*:?|\bfinal\s+answer\s*\**\s*(?:is\b\s*:?|:)", re.I)
# a number: thousands-comma form, or digits with optional decimals and optional /denominator, or .5
_NUM_RE = re.compile(r"(?<![\w.])(?:\d{1,3}(?:,\d{3})+(?![\d,])(?:\.\d+)?|\d+(?:\.\d+)?(?:/\d+(?![\d.]))?|\.\d+)")


def _balanced(text: str, j: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``text[j]`` (escaped braces skipped), or None if unclosed."""
    depth, k = 0, j
    while k < len(text):
        ch = text[k]
        if ch == "\\":
            k += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return k
        k += 1
    return None


def _last_boxed(text: str) -> str | None:
    """Content of the last non-empty ``\\boxed{...}``/``\\fbox{...}`` (or ``\\boxed x``), stripped; else None."""
    found = None
    for m in _BOX_RE.finditer(text):
        j = m.end()
        while j < len(text) and text[j] in " \t":
            j += 1
        if j < len(text) and text[j] == "{":
            k = _balanced(text, j)
            content = text[j + 1:k].strip() if k is not None else ""
        elif m.group(1) == "boxed" and j < len(text):
            tok = re.match(r"[^\s$]+", text[j:])
            content = tok.group(0).rstrip(".,;") if tok else ""
        else:
            content = ""
        if content:
            found = content
    return found


def _phrase_answer(rest: str) -> str:
    """The answer after a phrase such as "The answer is": math in ``$..$``/``\\(..\\)``, else the sentence."""
    rest = rest.lstrip(" \t:*")
    line = rest.split("\n", 1)[0].strip()
    for a, b in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if line.startswith(a):
            end = line.find(b, len(a))
            if end > len(a):
                return line[len(a):end].strip()
            break
    cut = re.search(r"\.(?=\s|$)", line)
    if cut:
        line = line[:cut.start()]
    return line.strip().strip("*").strip().strip("$").strip().rstrip(".").strip()


def _last_number(text: str) -> str | None:
    """The last number in ``text`` with its sign when the sign is not a binary operator; else None."""
    last = None
    for m in _NUM_RE.finditer(text):
        s, i = m.group(0), m.start()
        if i > 0 and text[i - 1] in "-+\u2212":
            if i == 1 or not (text[i - 2].isalnum() or text[i - 2] in ")]}_"):
                s = ("-" if text[i - 1] != "+" else "+") + s
        last = s
    return last


def extract_answer(text: str) -> str | None:
    """The final answer string of a model completion, stripped but not normalized; None if none is found.

    Priority (each rule takes the last occurrence; see the module docstring for details): ``\\boxed{}``/
    ``\\fbox{}`` with balanced braces or ``\\boxed x``; ``<answer>...</answer>``; "#### x" / "The (final)
    answer is x" / "Final Answer: x"; the last number (signed, decimal, thousands commas, a/b).
    Raises TypeError if ``text`` is not a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"extract_answer: text must be str, got {type(text).__name__}")
    boxed = _last_boxed(text)
    if boxed:
        return boxed
    tags = [t.strip() for t in _TAG_RE.findall(text) if t.strip()]
    if tags:
        return tags[-1]
    for m in reversed(list(_PHRASE_RE.finditer(text))):
        cand = _phrase_answer(text[m.end():])
        if m.group(0) == "####" and not re.match(r"[-+\u2212$\\(\[.\d]", cand):
            continue  # a markdown header ("#### Step 2"), not a GSM8K answer
        if cand:
            return cand
    return _last_number(text)


# ------------------------------------------------------------------------------------------ normalization

_WRAPPERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("**", "**"))
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|textrm|mathrm|mathbf|mbox)\s*\{")
_VAR = r"(?:[A-Za-z]\w*|\\[A-Za-z]+)(?:_\{?\w+\}?)?"


def _unwrap_whole(s: str, cmd_re: re.Pattern) -> str | None:
    """Content of ``s`` when ``s`` is exactly one ``\\cmd{...}`` group matched by ``cmd_re``; else None."""
    m = cmd_re.match(s)
    if m:
        k = _balanced(s, m.end() - 1)
        if k == len(s) - 1:
            return s[m.end():k].strip()
    return None


def _squeeze_spaces(s: str) -> str:
    """Remove white space, except one space where it ends a LaTeX command before a letter (``\\pi r``)."""
    def repl(m: re.Match) -> str:
        nxt = s[m.end():m.end() + 1]
        return " " if nxt.isalpha() and re.search(r"\\[A-Za-z]+$", s[:m.start()]) else ""
    return re.sub(r"\s+", repl, s)


def normalize_answer(answer: str) -> str:
    """Cheap string normal form of an answer (the first stage of a canonical form). Rules, in order:

    1. strip white space; repeatedly remove enclosing ``$..$``, ``$$..$$``, ``\\(..\\)``, ``\\[..\\]``,
       ``**..**`` (markdown bold), a whole-answer ``\\boxed{..}``, and a trailing period;
    2. unwrap a ``\\text{..}`` / ``\\textbf`` / ``\\textrm`` / ``\\mathrm`` / ``\\mathbf`` / ``\\mbox`` that
       wraps the whole answer ("\\text{yes}" → "yes"; embedded ones such as units, ``5\\text{ cm}``, are
       kept for math-verify, which drops units);
    3. drop ``\\left``/``\\right`` (not ``\\leftarrow``), the spacing commands ``\\!``, ``\\,``, ``\\;``,
       ``\\:``, ``\\ `` and a leading ``\\$`` (currency); a trailing degree sign ``^\\circ``/``^{\\circ}``;
    4. ``\\dfrac``/``\\tfrac`` → ``\\frac``; ``\\%`` → ``%``; ``{,}`` (LaTeX thousands separator) → ``,``;
       the Unicode minus sign U+2212 → ``-``;
    5. remove white space (a single space is kept after a LaTeX command followed by a letter, ``\\pi r``);
    6. a single letter in parentheses, "(B)", → "B" (multiple-choice labels);
    7. a single-variable assignment "x = 5" (variable: a name or a LaTeX command, optional subscript;
       the right side holds no other "=") → "5";
    8. a whole-answer number with thousands commas: "1,234" → "1234"; a leading "+" is removed;
    9. decimals: trailing zeros removed ("2.50" → "2.5", "3.0" → "3"), a leading zero added (".5" →
       "0.5"); "-0" → "0".

    Raises TypeError if ``answer`` is not a str.
    """
    if not isinstance(answer, str):
        raise TypeError(f"normalize_answer: answer must be str, got {type(answer).__name__}")
    s = answer.strip()
    changed = True
    while changed:  # rule 1
        before = s
        for a, b in _WRAPPERS:
            if s.startswith(a) and s.endswith(b) and len(s) > len(a) + len(b):
                s = s[len(a): len(s) - len(b)].strip()
        inner = _unwrap_whole(s, re.compile(r"\\boxed\s*\{"))
        if inner is not None:
            s = inner
        s = s.rstrip().rstrip(".").rstrip()
        changed = s != before
    inner = _unwrap_whole(s, _TEXT_CMD_RE)  # rule 2
    if inner is not None:
        s = inner
    s = re.sub(r"\\(?:left|right)(?![A-Za-z])", "", s)  # rule 3
    s = re.sub(r"\\[!,;: ]", "", s)
    s = re.sub(r"^\\\$\s*", "", s)
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?$", "", s)
    s = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", s)  # rule 4
    s = s.replace("\\%", "%").replace("{,}", ",").replace("\u2212", "-")
    s = _squeeze_spaces(s)  # rule 5
    m = re.fullmatch(r"\(([A-Za-z])\)", s)  # rule 6
    if m:
        s = m.group(1)
    m = re.fullmatch(_VAR + r"=([^=]+)", s)  # rule 7
    if m:
        s = m.group(1)
    if re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):  # rule 8
        s = s.replace(",", "")
    if s.startswith("+") and len(s) > 1:
        s = s[1:]
    m = re.fullmatch(r"(-?)(\d*)\.(\d+)", s)  # rule 9
    if m:
        frac = m.group(3).rstrip("0")
        s = m.group(1) + (m.group(2) or "0") + ("." + frac if frac else "")
    if s == "-0":
        s = "0"
    return s


# ------------------------------------------------------------------------------------ canonical forms

def _as_fraction(s: str) -> Fraction | None:
    """Exact value of a normalized numeric string: integer, decimal, a/b, \\frac{a}{b} or \\frac ab; else None."""
    m = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}", s) or re.fullmatch(r"(-?)\\frac(\d)(\d)", s)
    try:
        if m:
            f = Fraction(int(m.group(2)), int(m.group(3)))
            return -f if m.group(1) else f
        if re.fullmatch(r"-?\d+(?:\.\d+)?(?:/-?\d+)?|-?\.\d+", s):
            return Fraction(s)
    except (ZeroDivisionError, ValueError):  # x/0, or more digits than int() converts
        return None
    return None


def _fraction_str(f: Fraction) -> str:
    """``"p"`` or ``"p/q"`` (lowest terms, sign on p): the canonical form of an exact rational."""
    return str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"


def _mathy(s: str) -> bool:
    """Whether a normalized string is worth a math-verify parse: it holds a digit, a backslash or a math
    symbol, is not plain words (3+ letters in a row with no digit or backslash: "well-known") and is at
    most 1000 characters."""
    if not s or len(s) > 1000 or not re.search(r"[\d\\^_{}()\[\]+\-*/=<>|]", s):
        return False
    return bool(re.search(r"[\d\\]", s)) or not re.search(r"[A-Za-z]{3,}", s)


class _Info(NamedTuple):
    """What ``canonical`` learns about one answer string."""

    normalized: str
    canon: str
    kind: str  # "number" (exact rational), "expr" (parsed by math-verify), "text" (not parsed)
    value: complex | None  # numerical value of a constant, for pruning verify calls
    floaty: bool  # involves a decimal/float (math-verify then compares to 6 decimals)


# --------------------------------------------------------------- worker side (runs in the child process)

_MV_PARSED: dict = {}


def _mv_parse(s: str):
    """math-verify's parse of ``$s$`` with its own (signal-based) timeout off; memoized in the worker."""
    import math_verify

    if s not in _MV_PARSED:
        if len(_MV_PARSED) > 20000:
            _MV_PARSED.clear()
        _MV_PARSED[s] = math_verify.parse(f"${s}$", parsing_timeout=None)
    return _MV_PARSED[s]


def _mv_canonical(s: str):
    """Canonical form of a normalized string via math-verify: [canon, kind, [re, im] | None, floaty], or
    None when math-verify finds nothing to parse."""
    import sympy

    parsed = [x for x in _mv_parse(s) if not isinstance(x, str)]  # a failed parse gives only strings
    if not parsed:
        return None
    expr = parsed[0]
    if not isinstance(expr, sympy.Basic):  # e.g. a mutable matrix
        return [str(expr), "expr", None, False]
    if expr.atoms(sympy.UnevaluatedExpr):  # percentages (x * 1/100): math-verify compares them its own way
        return [str(expr), "expr", None, True]
    try:
        e = expr.doit()
    except Exception:  # noqa: BLE001 - an expression sympy cannot evaluate keeps its parsed form
        e = expr
    floaty = bool(e.atoms(sympy.Float)) if isinstance(e, sympy.Basic) else False
    if isinstance(e, sympy.Rational):
        return [_fraction_str(Fraction(int(e.p), int(e.q))), "number", [float(e), 0.0], False]
    value = None
    if isinstance(e, sympy.Expr) and e.is_number:
        try:
            z = complex(e.evalf(20))
            if math.isfinite(z.real) and math.isfinite(z.imag):
                value = [z.real, z.imag]
        except (TypeError, ValueError, OverflowError):
            value = None
    return [str(e), "expr", value, floaty]


def _mv_verify(a: str, b: str) -> bool:
    """math-verify's verdict with ``a`` as gold (its own timeout off)."""
    import math_verify

    pa, pb = _mv_parse(a), _mv_parse(b)
    return bool(pa) and bool(pb) and bool(math_verify.verify(pa, pb, timeout_seconds=None))


def _backend_math_verify(op: str, *args):
    """The default worker backend: ``("start",)``, ``("canon", s)``, ``("verify", a, b)``."""
    if op == "start":
        import math_verify  # noqa: F401 - import cost paid before "ready"
        import sympy  # noqa: F401
        return None
    if op == "canon":
        return _mv_canonical(args[0])
    if op == "verify":
        return _mv_verify(args[0], args[1])
    raise ValueError(f"unknown worker op {op!r}")


def _backend_slow_for_tests(op: str, *args):
    """A test backend with chosen delays. "canon" of a string containing ``p_{T}`` sleeps T seconds, then
    answers ``["slow:" + s, "expr", None, False]``; "verify" sleeps T seconds for a ``v_{T}`` in either
    string, then answers ``a == b``; other strings answer at once."""
    import time

    if op == "start":
        return None
    tag = "p" if op == "canon" else "v"
    delays = [float(m) for a in args for m in re.findall(tag + r"_\{([\d.]+)\}", a)]
    time.sleep(sum(delays))
    return [f"slow:{args[0]}", "expr", None, False] if op == "canon" else args[0] == args[1]


_BACKENDS = {"math_verify": _backend_math_verify, "slow_for_tests": _backend_slow_for_tests}

_WORKER_RUN_NAME = "__real_answers_worker__"
_BOOT = ("import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
         f"runpy.run_path(sys.argv[1], run_name={_WORKER_RUN_NAME!r})")


def _worker_main(backend: str) -> None:  # pragma: no cover - runs in the child process
    """Worker loop: JSON requests ``{"id", "op", "args"}`` on stdin, JSON replies on the original stdout.

    Stray prints (from sympy or math-verify) go to stderr, so they cannot corrupt the protocol.
    """
    import logging

    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    logging.disable(logging.WARNING)  # math-verify warns that its timeouts are off: we enforce our own

    def send(msg):
        out.write(json.dumps(msg) + "\n")
        out.flush()

    try:
        fn = _BACKENDS[backend]
        fn("start")
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises
        send({"ready": False, "error": repr(exc)})
        return
    send({"ready": True})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            send({"id": req["id"], "ok": True, "result": fn(req["op"], *req["args"])})
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not parsed / not shown equal"
            send({"id": req["id"], "ok": False, "error": repr(exc)[:500]})


# ------------------------------------------------------------------------------------------ equivalence

class AnswerEquivalence(ClosedOnExit):
    """Equivalence of answer strings: normalization, exact rationals, math-verify canonical forms, then
    ``math_verify.verify`` in a worker process under our own timeout (see the module docstring).

    ``timeout_s``: seconds allowed per worker request (one parse or one verify); a request over it
    kills the worker and counts as not parsed / not equivalent. ``use_math_verify=False``: steps 1-2 only
    (no worker). Keyword-only: ``startup_timeout_s`` (seconds for the worker to start and import
    math-verify; RuntimeError past it) and ``backend`` (worker backend name; "slow_for_tests" exists for
    the timeout tests). Thread-safe (one lock; calls are serialized). ``stats``: counts of
    ``cache_hits`` (canonical forms and verdicts served from the caches), ``parse_calls``,
    ``parse_failures`` (math-verify found nothing, or failed), ``verify_calls``, ``timeouts``,
    ``worker_starts``, ``worker_errors`` (the worker died or raised). Use as a context manager, or call
    :meth:`close`, to stop the worker.
    """

    def __init__(self, timeout_s: float = 2.0, use_math_verify: bool = True, *,
                 startup_timeout_s: float = 60.0, backend: str = "math_verify"):
        """Set up the caches; the worker process starts lazily at the first string that needs it."""
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
            raise ValueError(f"timeout_s: must be a number > 0, got {timeout_s!r}")
        if not isinstance(startup_timeout_s, (int, float)) or not startup_timeout_s > 0:
            raise ValueError(f"startup_timeout_s: must be a number > 0, got {startup_timeout_s!r}")
        if backend not in _BACKENDS:
            raise ValueError(f"backend: unknown {backend!r}; known: {sorted(_BACKENDS)}")
        self.timeout_s = float(timeout_s)
        self.use_math_verify = bool(use_math_verify)
        self.startup_timeout_s = float(startup_timeout_s)
        self.backend = backend
        self._by_raw: dict[str, _Info] = {}
        self._by_norm: dict[str, _Info] = {}
        self._verdicts: dict[tuple[str, str], bool] = {}
        self._lock = threading.RLock()
        self._proc: subprocess.Popen | None = None
        self._replies: queue.Queue | None = None
        self._seq = 0
        self.stats = {"cache_hits": 0, "parse_calls": 0, "parse_failures": 0, "verify_calls": 0,
                      "timeouts": 0, "worker_starts": 0, "worker_errors": 0}

    # ---------------------------------------------------------------- worker process
    def _start(self) -> None:
        """Start the worker and wait for its "ready" line (RuntimeError if it fails or is too slow)."""
        path = os.path.abspath(__file__)
        proc = subprocess.Popen([sys.executable, "-c", _BOOT, path, self.backend], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                encoding="utf-8", bufsize=1)
        replies: queue.Queue = queue.Queue()

        def reader(stream=proc.stdout, q=replies):
            try:
                for line in stream:
                    q.put(line)
            except (OSError, ValueError):
                pass
            finally:
                q.put(None)  # EOF: the worker exited
                stream.close()

        threading.Thread(target=reader, name="answers-worker-reader", daemon=True).start()
        self.stats["worker_starts"] += 1
        msg: dict = {}
        try:
            line = replies.get(timeout=self.startup_timeout_s)
        except queue.Empty:
            why = f"no reply within startup_timeout_s={self.startup_timeout_s}"
        else:
            try:
                msg = json.loads(line) if line is not None else {}
            except ValueError:
                msg = {}
            why = msg.get("error") or ("it exited" if line is None else f"unexpected reply {line[:200]!r}")
        if not msg.get("ready"):
            proc.kill()
            proc.wait()
            proc.stdin.close()
            raise RuntimeError(f"answer-equivalence worker (backend {self.backend!r}) failed to start: {why}")
        self._proc, self._replies = proc, replies

    def _kill(self) -> None:
        """Kill the worker (after a timeout or an error); the next request restarts it."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            try:
                self._proc.stdin.close()  # stdout is closed by its reader thread at EOF
            except OSError:
                pass
        self._proc, self._replies = None, None

    def _request(self, op: str, *args):
        """One worker request under ``timeout_s``: ("ok", result), ("error", message) or ("timeout", None)."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._kill()
                self._start()
            self._seq += 1
            try:
                self._proc.stdin.write(json.dumps({"id": self._seq, "op": op, "args": list(args)}) + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError) as exc:
                self._kill()
                self.stats["worker_errors"] += 1
                return "error", repr(exc)
            while True:
                try:
                    line = self._replies.get(timeout=self.timeout_s)
                except queue.Empty:
                    self.stats["timeouts"] += 1
                    self._kill()
                    return "timeout", None
                if line is None:
                    self.stats["worker_errors"] += 1
                    self._kill()
                    return "error", "worker exited"
                try:
                    msg = json.loads(line)
                except ValueError:
                    self.stats["worker_errors"] += 1
                    self._kill()
                    return "error", f"garbled worker reply {line[:200]!r}"
                if msg.get("id") != self._seq:
                    continue  # a stale reply (cannot happen after a kill, kept for safety)
                if msg["ok"]:
                    return "ok", msg["result"]
                self.stats["worker_errors"] += 1
                return "error", msg["error"]

    def close(self) -> None:
        """Stop the worker process if one runs (idempotent; a later request starts a new one)."""
        with self._lock:
            proc = self._proc
            if proc is None:
                return
            try:
                proc.stdin.close()  # EOF ends the worker loop
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self._kill()

    # ---------------------------------------------------------------- canonical forms
    def _info(self, answer: str) -> _Info:
        """Cached :class:`_Info` of a raw answer string (see :meth:`canonical`)."""
        if not isinstance(answer, str):
            raise TypeError(f"answer must be str, got {type(answer).__name__}: {answer!r}")
        with self._lock:
            info = self._by_raw.get(answer)
            if info is not None:
                self.stats["cache_hits"] += 1
                return info
            s = normalize_answer(answer)
            info = self._by_norm.get(s)
            if info is None:
                info = self._compute(s)
                self._by_norm[s] = info
            self._by_raw[answer] = info
            return info

    def _compute(self, s: str) -> _Info:
        """Canonical form of a normalized string: exact rational, else math-verify's parse, else itself."""
        f = _as_fraction(s)
        if f is not None:
            return _Info(s, _fraction_str(f), "number", complex(float(f)) if abs(f) < 1e300 else None, "." in s)
        if not (self.use_math_verify and _mathy(s)):
            return _Info(s, s, "text", None, False)
        self.stats["parse_calls"] += 1
        status, res = self._request("canon", s)
        if status != "ok" or res is None:
            if status != "timeout":
                self.stats["parse_failures"] += 1
            return _Info(s, s, "text", None, False)
        canon, kind, value, floaty = res
        return _Info(s, canon, kind, complex(*value) if value is not None else None, bool(floaty))

    def canonical(self, answer: str) -> str:
        """Cached canonical string of an answer: ``normalize_answer``, then ``"p/q"`` for exact rationals
        (``"0.5"``, ``"1/2"``, ``"\\frac{1}{2}"`` → ``"1/2"``), then (math-verify on) sympy's string of
        math-verify's parse after ``doit()`` (``"\\sqrt{4}"`` → ``"2"``, ``"1+x"`` → ``"x + 1"``); strings
        that are not parsed keep their normalized form. TypeError if ``answer`` is not a str.
        """
        return self._info(answer).canon

    # ---------------------------------------------------------------- equivalence
    def _decided_without_verify(self, ia: _Info, ib: _Info) -> bool | None:
        """True/False when the pair is decided by strings, exact values or numerical values; else None."""
        if ia.normalized == ib.normalized or ia.canon == ib.canon:
            return True
        if not self.use_math_verify or ia.kind == "text" or ib.kind == "text":
            return False
        if ia.kind == ib.kind == "number" and not (ia.floaty or ib.floaty):
            return False  # two different exact rationals
        if ia.value is not None and ib.value is not None:
            diff = abs(ia.value - ib.value)
            scale = max(abs(ia.value), abs(ib.value), 1.0)
            tol = 1e-6 + 1e-9 * scale if (ia.floaty or ib.floaty) else 1e-9 * scale
            if diff > tol:
                return False
        return None

    def equivalent(self, a: str, b: str) -> bool:
        """Whether answers ``a`` and ``b`` are the same: equal normalized strings, equal canonical forms,
        or (both parsed by math-verify, not told apart by their exact or numerical values) a True
        ``math_verify.verify``. Symmetric; verdicts cached per pair of canonical forms; a verify that
        times out is False (``stats["timeouts"]``). TypeError if either is not a str.
        """
        with self._lock:
            ia, ib = self._info(a), self._info(b)
            decided = self._decided_without_verify(ia, ib)
            if decided is not None:
                return decided
            first, second = (ia, ib) if ia.canon <= ib.canon else (ib, ia)
            key = (first.canon, second.canon)
            verdict = self._verdicts.get(key)
            if verdict is not None:
                self.stats["cache_hits"] += 1
                return verdict
            self.stats["verify_calls"] += 1
            status, res = self._request("verify", first.normalized, second.normalized)
            verdict = status == "ok" and bool(res)
            self._verdicts[key] = verdict
            return verdict

    def group(self, answers: list[str | None], gold: str | None = None) -> list[str | None]:
        """A representative per answer, so that equivalent answers share one (None stays None).

        Greedy in first-seen order: an answer whose canonical form was seen takes that form's
        representative (dict lookup); otherwise it is compared with :meth:`equivalent` against the existing
        representatives in order (``gold`` first when given) and takes the first match, or becomes a new
        representative itself. An answer equivalent to ``gold`` gets exactly ``gold``. Equivalence need
        not be transitive (numerical tolerance), so greedy grouping depends on the order.
        TypeError for an element that is neither str nor None.
        """
        if gold is not None and not isinstance(gold, str):
            raise TypeError(f"group: gold must be str or None, got {type(gold).__name__}")
        for i, a in enumerate(answers):
            if a is not None and not isinstance(a, str):
                raise TypeError(f"group: answers[{i}] must be str or None, got {type(a).__name__}: {a!r}")
        with self._lock:
            reps: list[str] = []
            rep_of: dict[str, str] = {}
            if gold is not None:
                reps.append(gold)
                rep_of[self.canonical(gold)] = gold
            out: list[str | None] = []
            for a in answers:
                if a is None:
                    out.append(None)
                    continue
                c = self.canonical(a)
                rep = rep_of.get(c)
                if rep is None:
                    rep = next((r for r in reps if self.equivalent(r, a)), None)
                    if rep is None:
                        rep = a
                        reps.append(a)
                    rep_of[c] = rep
                out.append(rep)
            return out


if __name__ == _WORKER_RUN_NAME:  # pragma: no cover - the worker process (see AnswerEquivalence._start)
    _worker_main(sys.argv[2])
