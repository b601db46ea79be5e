"""Final-answer extraction from completions and answer equivalence, so that equal answers vote together.

Extraction (:func:`extract_answer`), first match wins, each taking the *last* occurrence in the text:
1. ``\\boxed{...}`` / ``\\fbox{...}`` with balanced nested braces (or ``\\boxed 5`` without braces);
2. ``<answer>...</answer>``;
3. "#### x" (GSM8K), "The (final) answer is x", "Final Answer: x" (to the end of the line/sentence);
4. the last number in the text (integers, signs, decimals, thousands commas, simple fractions a/b).

Canonical forms (:class:`AnswerEquivalence`): a cheap string normalization (:func:`normalize_answer`),
then exact rational arithmetic for numbers (``0.5``, ``1/2``, ``\\frac{1}{2}``, ``50%``? no: percent signs
are kept, "50%" and "0.5" are different strings of different meaning) so that numerically equal
numbers share one canonical string, and for everything else math-verify (Hugging Face's
``math_verify.parse``/``verify``, LaTeX → sympy) decides equivalence.

math-verify's own timeouts use ``signal.alarm``, which fails off the main thread. We call it with
``parsing_timeout=None`` / ``timeout_seconds=None`` inside a persistent worker process and enforce our
own timeout on the reply: a call that takes longer than ``timeout_s`` kills and restarts the worker and
counts as "not equivalent" (``stats["timeouts"]``). This works from any thread. Canonical forms and
verdicts are cached.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import threading
from fractions import Fraction

_NUMBER = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+]?\d+(?:\.\d+)?(?:/\d+)?|[-+]?\.\d+"
_PHRASES = [
    r"####\s*(.+)",
    r"[Tt]he final answer is[:\s]*(.+)",
    r"[Tt]he answer is[:\s]*(.+)",
    r"[Ff]inal [Aa]nswer\s*:\s*(.+)",
]


def _last_braced(text: str, commands=("\\boxed", "\\fbox")) -> str | None:
    """Content of the last \\boxed{...} (balanced braces) or \\boxed x."""
    best_pos, best = -1, None
    for cmd in commands:
        start = 0
        while True:
            i = text.find(cmd, start)
            if i < 0:
                break
            start = i + len(cmd)
            j = start
            while j < len(text) and text[j] == " ":
                j += 1
            if j < len(text) and text[j] == "{":
                depth, k = 0, j
                while k < len(text):
                    if text[k] == "{":
                        depth += 1
                    elif text[k] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    k += 1
                if depth == 0 and i > best_pos:
                    best_pos, best = i, text[j + 1:k]
            elif cmd == "\\boxed" and j > start - 0 and j < len(text):
                m = re.match(r"([^\s$]+)", text[j:])
                if m and i > best_pos:
                    best_pos, best = i, m.group(1)
    return best


def extract_answer(text: str) -> str | None:
    """The final answer of a completion (see the module docstring for the rules), stripped; None if none."""
    if not isinstance(text, str):
        raise TypeError(f"text: expected str, got {type(text).__name__}")
    boxed = _last_braced(text)
    if boxed is not None and boxed.strip():
        return boxed.strip()
    tags = re.findall(r"<answer>(.*?)</answer>", text, flags=re.S)
    if tags and tags[-1].strip():
        return tags[-1].strip()
    best_pos, best = -1, None
    for pat in _PHRASES:
        for m in re.finditer(pat, text):
            if m.start() > best_pos:
                cand = re.split(r"\n|(?<!\d)\.(?!\d)|\.\s|\.$", m.group(1).strip())[0].strip().strip("$").strip()
                if cand:
                    best_pos, best = m.start(), cand
    if best is not None:
        return best
    nums = re.findall(_NUMBER, text)
    return nums[-1].strip() if nums else None


def normalize_answer(answer: str) -> str:
    """Cheap string normal form: the rules, in order:

    strip whitespace, enclosing ``$``, ``\\(``/``\\)``, a trailing period; unwrap ``\\text{..}`` /
    ``\\mathrm{..}``; drop ``\\left``/``\\right``, ``\\!``, ``\\,``, ``\\;`` and spaces; ``\\dfrac``/``\\tfrac``
    → ``\\frac``; "x = 5" (a single-variable assignment) → "5"; thousands commas in numbers removed
    ("1,234" → "1234"); a leading "+" removed; decimals lose trailing zeros ("2.50" → "2.5", "3.0" → "3").
    """
    if not isinstance(answer, str):
        raise TypeError(f"answer: expected str, got {type(answer).__name__}")
    s = answer.strip()
    for a, b in (("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
            s = s[len(a): len(s) - len(b)].strip()
    s = s.rstrip(".").strip()
    s = re.sub(r"\\(?:text|mathrm|textbf|mbox)\{([^{}]*)\}", r"\1", s)
    for tok in ("\\left", "\\right", "\\!", "\\,", "\\;", "\\:"):
        s = s.replace(tok, "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = re.sub(r"\s+", "", s)
    m = re.fullmatch(r"[A-Za-z]\w*=(.+)", s)
    if m:
        s = m.group(1)
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", s):
        s = s.replace(",", "")
    if s.startswith("+"):
        s = s[1:]
    if re.fullmatch(r"-?\d+\.\d+", s):
        s = s.rstrip("0").rstrip(".")
    if s == "-0":
        s = "0"
    return s


def _as_fraction(s: str) -> Fraction | None:
    """Exact value of a normalized numeric string: integer, decimal, a/b or \\frac{a}{b}; else None."""
    m = re.fullmatch(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}", s) or re.fullmatch(r"(-?)\\frac(\d)(\d)", s)
    try:
        if m:
            f = Fraction(int(m.group(2)), int(m.group(3)))
            return -f if m.group(1) else f
        if re.fullmatch(r"-?\d+(\.\d+)?(/-?\d+)?|-?\.\d+", s):
            return Fraction(s)
    except (ZeroDivisionError, ValueError):
        return None
    return None


def math_verify_equal(a: str, b: str) -> bool:
    """math-verify's verdict on two LaTeX answers (its own timeouts off: call it in the worker only)."""
    import math_verify

    ga = math_verify.parse(f"${a}$", parsing_timeout=None)
    gb = math_verify.parse(f"${b}$", parsing_timeout=None)
    return bool(ga) and bool(gb) and bool(math_verify.verify(ga, gb, timeout_seconds=None))


def slow_equal_for_tests(a: str, b: str) -> bool:
    """A deliberately slow comparer (sleeps ``float(a)`` seconds): lets tests exercise the timeout."""
    import time

    time.sleep(float(a))
    return a == b


def _worker(conn, comparer: str):  # pragma: no cover - runs in the child process
    import importlib
    import logging

    logging.disable(logging.WARNING)  # math-verify warns that its timeouts are off: we enforce our own
    module, name = comparer.split(":")
    fn = getattr(importlib.import_module(module), name)
    while True:
        msg = conn.recv()
        if msg is None:
            return
        try:
            conn.send(("ok", bool(fn(*msg))))
        except Exception as exc:  # noqa: BLE001 - any parser failure means "not shown equivalent"
            conn.send(("error", repr(exc)))


class AnswerEquivalence:
    """Equivalence of answer strings: normalization, exact rationals, then math-verify under a timeout."""

    def __init__(self, timeout_s: float = 2.0, use_math_verify: bool = True,
                 comparer: str = "real.answers:math_verify_equal"):
        """``comparer``: "module:function" run in the worker process (default math-verify)."""
        if not timeout_s > 0:
            raise ValueError(f"timeout_s: must be > 0, got {timeout_s!r}")
        self.timeout_s = float(timeout_s)
        self.use_math_verify = bool(use_math_verify)
        self.comparer = comparer
        self._canon: dict[str, str] = {}
        self._verdicts: dict[tuple[str, str], bool] = {}
        self._lock = threading.Lock()
        self._proc = None
        self._conn = None
        self._fresh = False
        self.stats = {"cache_hits": 0, "verify_calls": 0, "timeouts": 0, "parse_failures": 0}

    # -- canonical forms
    def canonical(self, answer: str) -> str:
        """Cached canonical string: the normalized string, or for numbers their exact value ("1/2")."""
        hit = self._canon.get(answer)
        if hit is not None:
            self.stats["cache_hits"] += 1
            return hit
        s = normalize_answer(answer)
        f = _as_fraction(s)
        canon = (str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}") if f is not None else s
        self._canon[answer] = canon
        return canon

    # -- math-verify in a worker process
    def _start(self):
        ctx = mp.get_context("spawn")
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_worker, args=(child, self.comparer), daemon=True)
        self._proc.start()
        self._conn = parent
        self._fresh = True  # the first request after a start also waits for the start-up (imports)

    def _verify(self, a: str, b: str) -> bool:
        with self._lock:
            if self._proc is None or not self._proc.is_alive():
                self._start()
            self.stats["verify_calls"] += 1
            self._conn.send((a, b))
            slack, self._fresh = (30.0 if self._fresh else 0.0), False
            if not self._conn.poll(self.timeout_s + slack):
                self.stats["timeouts"] += 1
                self._proc.kill()
                self._proc.join()
                self._proc = None
                return False
            status, value = self._conn.recv()
            if status != "ok":
                self.stats["parse_failures"] += 1
                return False
            return value

    def equivalent(self, a: str, b: str) -> bool:
        """True when a and b denote the same answer (canonical forms equal, or math-verify says so)."""
        ca, cb = self.canonical(a), self.canonical(b)
        if ca == cb:
            return True
        if _as_fraction(ca) is not None and _as_fraction(cb) is not None:
            return False  # two different exact numbers
        if not self.use_math_verify or not _mathy(ca) or not _mathy(cb):
            return False
        key = (ca, cb) if ca <= cb else (cb, ca)
        if key not in self._verdicts:
            self._verdicts[key] = self._verify(*key)
        else:
            self.stats["cache_hits"] += 1
        return self._verdicts[key]

    def group(self, answers, gold: str | None = None) -> list:
        """Representative per answer (None stays None): equivalent answers share one representative, and
        an answer equivalent to ``gold`` gets exactly ``gold``. Greedy in first-seen order."""
        reps: list[str] = [] if gold is None else [gold]
        by_canon: dict[str, str] = {} if gold is None else {self.canonical(gold): gold}
        out = []
        for a in answers:
            if a is None:
                out.append(None)
                continue
            c = self.canonical(a)
            rep = by_canon.get(c)
            if rep is None:
                rep = next((r for r in reps if self.equivalent(a, r)), None)
                if rep is None:
                    rep = a
                    reps.append(a)
                by_canon[c] = rep
            out.append(rep)
        return out

    def close(self):
        """Stop the worker process (if one was started)."""
        with self._lock:
            if self._proc is not None:
                try:
                    self._conn.send(None)
                    self._proc.join(timeout=2)
                finally:
                    if self._proc.is_alive():
                        self._proc.kill()
                    self._proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _mathy(s: str) -> bool:
    """Worth a math-verify call: contains digits or LaTeX/math symbols (plain words are compared as strings)."""
    return bool(re.search(r"[\d\\^_{}()+\-*/=]", s)) and len(s) <= 200
