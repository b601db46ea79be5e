"""Answer extraction, normalization and math-verify equivalence (with our own timeout)."""

import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from real import answers
from real.answers import AnswerEquivalence, extract_answer, normalize_answer


@pytest.mark.parametrize("text, expected", [
    ("so \\boxed{\\frac{1}{2}}", "\\frac{1}{2}"),
    ("first \\boxed{2} then \\boxed{3}", "3"),
    ("nested \\boxed{\\frac{a^{2}}{b}} end", "\\frac{a^{2}}{b}"),
    ("\\fbox{7}", "7"),
    ("so \\boxed 5 done", "5"),
    ("x <answer> 42 </answer>", "42"),
    ("The answer is 42.", "42"),
    ("the answer is -3.5. Done", "-3.5"),
    ("The final answer is $\\frac{1}{2}$.", "\\frac{1}{2}"),
    ("Final Answer: 17", "17"),
    ("steps...\n#### 1,234", "1,234"),
    ("we get 3/4 then -2.5", "-2.5"),
    ("3+4=7;7*2=4;#### 4", "4"),
    ("no digits here", None),
    ("", None),
])
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


def test_extract_rejects_non_strings():
    with pytest.raises(TypeError, match="text"):
        extract_answer(5)


@pytest.mark.parametrize("raw, expected", [
    (" $42$ ", "42"), ("\\(7\\)", "7"), ("5.", "5"), ("\\text{cm}", "cm"), ("\\left(1,2\\right)", "(1,2)"),
    ("\\dfrac{1}{2}", "\\frac{1}{2}"), ("x = 5", "5"), ("1,234", "1234"), ("+3", "3"), ("2.50", "2.5"),
    ("3.0", "3"), ("-0", "0"), ("a b", "ab"),
])
def test_normalize_answer(raw, expected):
    assert normalize_answer(raw) == expected


@pytest.fixture(scope="module")
def eq():
    e = AnswerEquivalence(timeout_s=5.0)
    yield e
    e.close()


def test_numeric_equivalence_without_math_verify():
    e = AnswerEquivalence(use_math_verify=False)
    assert e.equivalent("0.5", "1/2") and e.equivalent("\\frac{1}{2}", "0.5") and e.equivalent("1,000", "1000")
    assert e.equivalent("x=5", "5") and not e.equivalent("2", "3") and not e.equivalent("\\sqrt{4}", "2")
    assert e.stats["verify_calls"] == 0
    assert e.canonical("2.50") == "5/2" and e.canonical("-4/2") == "-2"


def test_math_verify_equivalence(eq):
    assert eq.equivalent("\\sqrt{4}", "2")
    assert eq.equivalent("x^2+2x+1", "(x+1)^2")
    assert not eq.equivalent("\\pi", "3.14")
    assert not eq.equivalent("apple", "banana")  # plain words never reach math-verify
    calls = eq.stats["verify_calls"]
    assert eq.equivalent("\\sqrt{4}", "2") and eq.stats["verify_calls"] == calls  # cached verdict


def test_group_maps_equivalents_to_one_representative(eq):
    reps = eq.group(["2", "2.0", "1/2", "0.5", "\\sqrt{4}", None, "7"], gold="2")
    assert reps == ["2", "2", "1/2", "1/2", "2", None, "7"]
    assert eq.group(["0.50", "1/2"]) == ["0.50", "0.50"]


def test_works_off_the_main_thread():
    e = AnswerEquivalence(timeout_s=5.0)
    out = {}
    t = threading.Thread(target=lambda: out.update(v=e.equivalent("\\frac{2}{4}", "\\sqrt{1/4}")))
    t.start()
    t.join(60)
    e.close()
    assert out.get("v") is True


def test_slow_comparison_times_out_and_the_worker_recovers():
    e = AnswerEquivalence(timeout_s=0.5, comparer="real.answers:slow_equal_for_tests")
    assert e.equivalent("0.0+x", "0.0+x")  # identical strings never reach the worker
    assert e._verify("0.01", "0.01") is True  # starts the worker (first call gets start-up slack)
    t0 = time.perf_counter()
    assert e._verify("5", "5") is False  # 5 s of work > 0.5 s timeout
    assert time.perf_counter() - t0 < 4
    assert e.stats["timeouts"] == 1 and e._proc is None  # killed; the next call restarts it
    assert e._verify("0.01", "0.01") is True
    e.close()


def test_bad_timeout():
    with pytest.raises(ValueError, match="timeout_s"):
        AnswerEquivalence(timeout_s=0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["1", "1.0", "2", "0.5", "1/2", "3", "x=3", "-2", "apple", None]), max_size=12))
def test_group_is_consistent_and_idempotent(xs):
    e = AnswerEquivalence(use_math_verify=False)
    reps = e.group(xs)
    for a, ra in zip(xs, reps):
        for b, rb in zip(xs, reps):
            if a is not None and b is not None:
                assert (ra == rb) == (e.canonical(a) == e.canonical(b))
    assert e.group(reps) == reps
    assert all((r is None) == (a is None) for a, r in zip(xs, reps))
