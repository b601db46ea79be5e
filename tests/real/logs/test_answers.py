"""Answer extraction, normalization and equivalence (math-verify in a worker process under our own timeout).

Expected values are written by hand from the rules in real/answers.py's docstrings, not produced by the code.
"""

import os
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from real.logs.answers import AnswerEquivalence, extract_answer, normalize_answer

# ------------------------------------------------------------------------------------------ extraction

@pytest.mark.parametrize("text, expected", [
    # boxed: last wins, balanced nested braces, \fbox, \boxed without braces
    ("so \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("first \\boxed{2} then \\boxed{3}", "3"),
    ("nested \\boxed{\\frac{a^{2}}{b_{1}}} end", "\\frac{a^{2}}{b_{1}}"),
    ("set \\boxed{\\{1,2\\}} done", "\\{1,2\\}"),
    ("\\fbox{7}", "7"),
    ("\\boxed{1} and \\fbox{9}", "9"),
    ("so \\boxed 5 done", "5"),
    ("so \\boxed 5.", "5"),
    ("\\boxed{3} but later \\boxed{\\frac{1}{2", "3"),  # truncated last box is skipped
    ("\\boxed{4} then \\boxed{}", "4"),  # empty box is skipped
    ("<answer>1</answer> and \\boxed{2}", "2"),  # boxed beats tags
    # answer tags
    ("x <answer> 42 </answer>", "42"),
    ("<answer>1</answer> then <ANSWER>x+1</ANSWER>", "x+1"),
    # phrases
    ("The answer is 42.", "42"),
    ("the answer is -3.5. Done", "-3.5"),
    ("The answer is: **12**.", "12"),
    ("The final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}"),
    ("Final Answer: The final answer is $3.5$. I hope it is correct.", "3.5"),
    ("Final Answer: 17", "17"),
    ("The answer is 3.\nThe answer is 4.", "4"),
    ("steps 3+4=7\n#### 1,234", "1,234"),
    ("#### Step 1\nThe answer is 42.\n#### Summary", "42"),  # markdown headers are not GSM8K answers
    ("**Final Answer**: x+1", "x+1"),
    ("3+4=7;7*2=14\n#### 14\n", "14"),
    # last number
    ("we get 3/4 then -2.5", "-2.5"),
    ("so 3-2 = 1", "1"),
    ("compute 7-2", "2"),  # a binary minus is not a sign
    ("it is (-5) here", "-5"),
    ("it is -4 degrees", "-4"),
    ("total 1,234,567 units", "1,234,567"),
    ("pi is about 3.14.", "3.14"),
    ("ratio 3/4", "3/4"),
    ("x2 and a_1 only", None),  # digits glued to words are not numbers
    ("no digits here", None),
    ("", None),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_extract_rejects_non_strings():
    with pytest.raises(TypeError, match="int"):
        extract_answer(5)
    with pytest.raises(TypeError, match="NoneType"):
        extract_answer(None)


# ------------------------------------------------------------------------------------------ normalization

@pytest.mark.parametrize("raw, expected", [
    (" $42$ ", "42"), ("$$x$$", "x"), ("\\(7\\)", "7"), ("\\[7\\]", "7"), ("**12**", "12"), ("\\boxed{5}", "5"),
    ("5.", "5"), ("\\text{yes}", "yes"), ("\\textbf{(C)}", "C"), ("\\left(1,2\\right)", "(1,2)"),
    ("x\\leftarrow y", "x\\leftarrow y"), ("\\!\\frac{1}{2}", "\\frac{1}{2}"), ("1\\,000", "1000"),
    ("\\dfrac{1}{2}", "\\frac{1}{2}"), ("\\tfrac12", "\\frac12"), ("x = 5", "5"), ("\\theta = \\pi", "\\pi"),
    ("x_1 = 3", "3"), ("a=1,b=2", "a=1,b=2"), ("1,234", "1234"), ("-1,234.50", "-1234.5"), ("1{,}000", "1000"),
    ("(1,234)", "(1,234)"), ("+3", "3"), ("2.50", "2.5"), ("3.0", "3"), ("-0.0", "0"), (".5", "0.5"),
    ("-0", "0"), ("\\$18", "18"), ("30^\\circ", "30"), ("30^{\\circ}", "30"), ("50\\%", "50%"), ("(B)", "B"),
    ("\u22124", "-4"), ("2\\pi r", "2\\pi r"), ("a b", "ab"), ("5\\text{ cm}", "5\\text{cm}"), ("", ""),
])
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


def test_normalize_rejects_non_strings():
    with pytest.raises(TypeError, match="float"):
        normalize_answer(0.5)


# ------------------------------------------------------------------------------------------ equivalence

@pytest.fixture(scope="module")
def eq():
    with AnswerEquivalence(timeout_s=5.0) as e:
        yield e


def test_exact_equivalence_without_math_verify():
    e = AnswerEquivalence(use_math_verify=False)
    assert e.equivalent("0.5", "1/2") and e.equivalent("\\frac{1}{2}", "0.5") and e.equivalent("1/2", "\\frac{1}{2}")
    assert e.equivalent("1,000", "1000") and e.equivalent("x=5", "5") and e.equivalent("$2.50$", "5/2")
    assert not e.equivalent("2", "3") and not e.equivalent("\\sqrt{4}", "2") and not e.equivalent("1/3", "0.333333")
    assert e.canonical("2.50") == "5/2" and e.canonical("-4/2") == "-2" and e.canonical("\\frac{3}{6}") == "1/2"
    assert e.canonical("-\\frac{1}{2}") == "-1/2" and e.canonical("apple") == "apple"
    assert e.stats["verify_calls"] == 0 and e.stats["worker_starts"] == 0


def test_plain_words_never_start_the_worker():
    e = AnswerEquivalence()
    assert e.group(["apple", "apple", "banana", "1/2", "0.5", "(A)", "A"]) == \
        ["apple", "apple", "banana", "1/2", "1/2", "(A)", "(A)"]
    assert e.stats["worker_starts"] == 0 and e.stats["parse_calls"] == 0


def test_math_verify_equivalence(eq):
    assert eq.canonical("\\sqrt{4}") == "2" and eq.canonical("\\sqrt{1/4}") == "1/2"  # exact after doit()
    assert eq.equivalent("\\sqrt{4}", "2") and eq.equivalent("\\frac{2}{4}", "\\sqrt{1/4}")
    assert eq.canonical("1+x") == eq.canonical("x+1")
    calls = eq.stats["verify_calls"]
    assert eq.equivalent("x^2+2x+1", "(x+1)^2")  # different canonical forms: needs verify
    assert eq.stats["verify_calls"] == calls + 1
    assert eq.equivalent("(x+1)^2", "x^2+2x+1") and eq.stats["verify_calls"] == calls + 1  # symmetric, cached
    assert eq.equivalent("\\{1,2\\}", "\\{2,1\\}")
    assert eq.equivalent("5\\text{ cm}", "5")  # math-verify drops the unit


def test_different_numbers_need_no_verify(eq):
    calls, parses = eq.stats["verify_calls"], eq.stats["parse_calls"]
    assert not eq.equivalent("\\pi", "3.14")  # |pi - 3.14| > 1e-6: decided by values
    assert not eq.equivalent("\\sqrt{2}", "\\sqrt{3}")
    assert not eq.equivalent("7", "-7") and not eq.equivalent("apple", "banana")
    assert eq.stats["verify_calls"] == calls
    assert eq.stats["parse_calls"] == parses + 3  # pi, sqrt 2, sqrt 3; numbers and words are not parsed


def test_parse_failure_is_counted_and_never_verified(eq):
    fails, calls = eq.stats["parse_failures"], eq.stats["verify_calls"]
    assert eq.canonical("\\frac{") == "\\frac{"
    assert not eq.equivalent("\\frac{", "\\frac{1}{2}")
    assert eq.stats["parse_failures"] == fails + 1 and eq.stats["verify_calls"] == calls


def test_group_with_gold(eq):
    reps = eq.group(["2", "2.0", "1/2", "0.5", "\\sqrt{4}", None, "7", "x=2"], gold="2")
    assert reps == ["2", "2", "1/2", "1/2", "2", None, "7", "2"]
    assert eq.group(["0.5", "3", "\\frac{1}{2}"], gold="\\dfrac{1}{2}") == ["\\dfrac{1}{2}", "3", "\\dfrac{1}{2}"]
    assert eq.group(["0.50", "1/2"]) == ["0.50", "0.50"]  # first seen is the representative
    assert eq.group([None, None], gold="1") == [None, None] and eq.group([]) == []


def test_group_rejects_bad_elements():
    e = AnswerEquivalence(use_math_verify=False)
    with pytest.raises(TypeError, match=r"answers\[1\].*int"):
        e.group(["1", 2])
    with pytest.raises(TypeError, match="gold.*float"):
        e.group(["1"], gold=1.0)
    with pytest.raises(TypeError, match="NoneType"):
        e.canonical(None)


@pytest.mark.parametrize("kwargs, match", [
    ({"timeout_s": 0}, "timeout_s"), ({"timeout_s": -1.0}, "timeout_s"), ({"timeout_s": "2"}, "timeout_s"),
    ({"startup_timeout_s": 0}, "startup_timeout_s"), ({"backend": "nope"}, "backend.*nope"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AnswerEquivalence(**kwargs)


# ----------------------------------------------------------------------------------- threads, timeouts

def test_works_off_the_main_thread():
    e = AnswerEquivalence(timeout_s=5.0)
    out, errors = {}, []

    def job(name, a, b):
        try:
            out[name] = e.equivalent(a, b)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=job, args=("half", "\\frac{2}{4}", "\\sqrt{1/4}")),
               threading.Thread(target=job, args=("square", "(x+1)^2", "x^2+2x+1")),
               threading.Thread(target=job, args=("differ", "x+1", "x+2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    e.close()
    assert not errors and out == {"half": True, "square": True, "differ": False}
    assert e.stats["worker_starts"] == 1


def test_worker_that_cannot_start_in_time_raises():
    e = AnswerEquivalence(startup_timeout_s=1e-3)
    assert e.canonical("1/2") == "1/2"  # exact rationals never need the worker
    with pytest.raises(RuntimeError, match="failed to start.*startup_timeout_s"):
        e.canonical("\\sqrt{2}")


def test_slow_requests_time_out_and_the_worker_recovers():
    e = AnswerEquivalence(timeout_s=0.3, backend="slow_for_tests")
    assert e.canonical("p_{0.01}") == "slow:p_{0.01}"  # starts the worker (start-up is not timed by timeout_s)
    t0 = time.perf_counter()
    assert e.canonical("p_{5}") == "p_{5}"  # 5 s of work > 0.3 s: falls back to the normalized string
    assert time.perf_counter() - t0 < 3
    assert e.stats["timeouts"] == 1 and e.stats["parse_failures"] == 0
    t0 = time.perf_counter()
    assert not e.equivalent("v_{5}", "v_{0.01}")  # a slow verify times out too: not equivalent
    assert time.perf_counter() - t0 < 4  # includes one worker restart
    # killed twice; the second start served the canonical forms of v_{5} and v_{0.01} before the verify
    assert e.stats["timeouts"] == 2 and e.stats["verify_calls"] == 1 and e.stats["worker_starts"] == 2
    assert not e.equivalent("v_{0.01}", "v_{5}") and e.stats["verify_calls"] == 1  # verdict cached
    assert e.canonical("p_{0.02}") == "slow:p_{0.02}"  # a restarted worker answers
    assert e.stats["worker_starts"] == 3
    pid = e._proc.pid
    e.close()
    assert e._proc is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_genuinely_slow_expression_times_out():
    with AnswerEquivalence(timeout_s=0.5) as e:
        e.canonical("\\sqrt{9}")  # start the worker outside the timed part
        t0 = time.perf_counter()
        assert e.canonical("10^{10^{10}}") == "10^{10^{10}}"  # evaluating it would take minutes
        assert time.perf_counter() - t0 < 4
        assert e.stats["timeouts"] == 1
        assert not e.equivalent("10^{10^{10}}", "10")  # timed-out parse: never verified
        assert e.stats["worker_starts"] == 1  # restarts are lazy
        assert e.equivalent("\\sqrt{16}", "4") and e.stats["worker_starts"] == 2


# ------------------------------------------------------------------------------------------ properties

def _check_group(e, xs, gold=None):
    reps = e.group(xs, gold=gold)
    assert len(reps) == len(xs)
    assert all((r is None) == (a is None) for a, r in zip(xs, reps))
    for a, ra in zip(xs, reps):
        if a is None:
            continue
        assert ra in xs or ra == gold  # representatives are input strings
        assert e.equivalent(a, ra)
        if gold is not None and e.equivalent(gold, a):
            assert ra == gold
        for b, rb in zip(xs, reps):
            if a == b:
                assert ra == rb
    assert e.group(reps) == reps  # idempotent
    return reps


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["1", "1.0", "2", "0.5", "1/2", "\\frac{1}{2}", "3", "x=3", "-2", "apple", None]),
                max_size=12),
       st.sampled_from([None, "2", "\\dfrac{1}{2}", "banana"]))
def test_group_properties_exact(xs, gold):
    e = AnswerEquivalence(use_math_verify=False)
    reps = _check_group(e, xs, gold)
    for a, ra in zip(xs, reps):  # without math-verify, equal canonical forms <=> equal representatives
        for b, rb in zip(xs, reps):
            if a is not None and b is not None:
                assert (ra == rb) == (e.canonical(a) == e.canonical(b))


_POOL = ["2", "\\sqrt{4}", "4/2", "x+1", "1+x", "(x+1)^2", "x^2+2x+1", "\\pi", "3.14", "\\frac{\\pi}{1}",
         "1/3", "0.333333", None]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sampled_from(_POOL), max_size=10), st.sampled_from([None, "2", "x^2+2x+1"]))
def test_group_properties_math_verify(eq, xs, gold):
    _check_group(eq, xs, gold)
