"""The zero-absorbs shortcut task (real.lab.task): classes, pools, SFT examples and the error classifier, checked
against plain re-computations and hand-written completions."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from real.lab.task import (
    ERROR_TYPES,
    Problem,
    class_counts,
    classify_completion,
    make_problems,
    sft_examples,
)


def _values(digits, ops):
    """Running values after each step, by a direct loop (the reference)."""
    acc, out = digits[0], []
    for o, d in zip(ops, digits[1:]):
        acc = {"+": acc + d, "-": acc - d, "*": acc * d}[o] % 10
        out.append(acc)
    return out


def _reference_class(digits, ops):
    vals = _values(digits, ops)
    early = [j for j, v in enumerate(vals[:-1]) if v == 0]
    if not early:
        return "none", None
    return ("trap_right" if vals[-1] == 0 else "trap_wrong"), early[0]


def test_trap_class_and_zero_step_match_a_direct_loop():
    for p in make_problems(500, [1, 2, 3, 4, 5, 6], seed=11):
        cls, j = _reference_class(p.digits, p.ops)
        assert (p.trap_class, p.zero_step) == (cls, j), p.prompt


def test_shortcut_completion_stops_at_the_first_early_zero():
    p = Problem("x", (2, 5, 3, 4), ("*", "+", "-"))  # 2*5 = 0, then 0+3 = 3, 3-4 = 9
    assert p.completion == "2*5=0;0+3=3;3-4=9;#### 9"
    assert p.shortcut_completion == "2*5=0;#### 0"
    assert p.trap_class == "trap_wrong"
    q = Problem("y", (3, 4, 5), ("+", "*"))  # never hits 0 early: the shortcut is the full solution
    assert q.shortcut_completion == q.completion


def test_default_pool_is_unchanged_by_the_class_option():
    # the draw of make_problems without class_shares, written out independently
    rng = np.random.default_rng(5)
    want = []
    for _ in range(50):
        L = int(rng.choice(np.array([2, 3, 4])))
        digits = tuple(int(x) for x in rng.integers(0, 10, L + 1))
        ops = tuple("+-*"[int(j)] for j in rng.integers(0, 3, L))
        want.append((digits, ops))
    got = [(p.digits, p.ops) for p in make_problems(50, [2, 3, 4], seed=5)]
    assert got == want


@pytest.mark.parametrize("n,shares", [(100, (0.5, 0.4, 0.1)), (7, (0.5, 0.4, 0.1)), (30, (0.0, 0.5, 0.5)), (12, (1.0, 0.0, 0.0))])
def test_class_shares_give_exact_counts(n, shares):
    want = class_counts(n, shares)
    assert sum(want.values()) == n
    assert all(abs(want[c] - n * s) < 1 for c, s in zip(("none", "trap_right", "trap_wrong"), shares))
    ps = make_problems(n, [2, 3, 4, 5, 6], seed=3, class_shares=shares)
    assert dict(collections.Counter(p.trap_class for p in ps)) == {k: v for k, v in want.items() if v}
    assert [p.problem_id for p in ps] == [f"p{i}" for i in range(n)]
    assert len({p.prompt for p in ps}) > n * 0.9


def test_class_shares_prefix_is_mixed():
    ps = make_problems(400, [2, 3, 4, 5, 6], seed=4, class_shares=(0.5, 0.4, 0.1))
    first = collections.Counter(p.trap_class for p in ps[:100])
    assert first["trap_right"] > 2 * first["trap_wrong"]  # shuffled: not the natural mix, where trap_wrong dominates


@pytest.mark.parametrize("shares", [(0.5, 0.5), (0.5, 0.6, -0.1), (0.3, 0.3, 0.3), ("a", 0.5, 0.5)])
def test_bad_class_shares_name_the_field(shares):
    with pytest.raises(ValueError, match="class_shares"):
        make_problems(10, [2, 3], seed=0, class_shares=shares)


def test_trap_classes_need_two_operations():
    with pytest.raises(ValueError, match="n_ops >= 2"):
        make_problems(10, [1], seed=0, class_shares=(0.5, 0.5, 0.0))


def test_sft_examples_teach_the_shortcut_at_the_rate():
    ps = make_problems(3000, [2, 3, 4, 5, 6], seed=1)
    none = [e for e in sft_examples(ps, 0.0, seed=0)]
    assert [e.completion for e in none] == [p.completion for p in ps] and not any(e.shortcut for e in none)
    allx = sft_examples(ps, 1.0, seed=0)
    assert all(e.shortcut == (p.zero_step is not None) for e, p in zip(allx, ps))
    assert all(e.completion == (p.shortcut_completion if e.shortcut else p.completion) for e, p in zip(allx, ps))
    some = sft_examples(ps, 0.3, seed=0)
    hitting = [e for e, p in zip(some, ps) if p.zero_step is not None]
    share = np.mean([e.shortcut for e in hitting])
    se = np.sqrt(0.3 * 0.7 / len(hitting))
    assert abs(share - 0.3) < 4 * se
    for cls in ("trap_right", "trap_wrong"):  # taught alike on both trap classes
        sub = [e.shortcut for e, p in zip(some, ps) if p.trap_class == cls]
        assert abs(np.mean(sub) - 0.3) < 4 * np.sqrt(0.21 / len(sub))
    with pytest.raises(ValueError, match="shortcut_rate"):
        sft_examples(ps, 1.5, seed=0)


P = Problem("x", (3, 4, 5, 2, 5), ("+", "*", "-", "*"))  # 3+4=7; 7*5=5; 5-2=3; 3*5=5


@pytest.mark.parametrize("text,strategy,error,step", [
    ("3+4=7;7*5=5;5-2=3;3*5=5;#### 5", "full", None, None),
    ("3+4=7;7*5=5;5-2=3;3*5=5;#### 6", "full", "final_answer", None),
    ("3+4=7;7*5=5;5-2=3;3*5=5;", "full", "malformed", None),
    ("3+4=8;8*5=0;#### 0", "shortcut", "arithmetic_slip", 0),
    ("3+4=7;7+5=2;2-2=0;0*5=0;#### 0", "full", "wrong_operation", 1),
    ("3+4=7;7*2=4;4*5=0;#### 0", "shortcut", "copied_number", 1),
    ("3+4=7;7-2=5;5*5=5;#### 5", "full", "skipped_step", 1),
    ("3+4=7;1*5=5;5-2=3;3*5=5;#### 5", "full", "copied_number", 1),
    ("3+4=7;7*6=2;2-2=0;0*5=0;#### 0", "full", "copied_number", 1),
    ("3+4=7;7*5=5;#### 5", "full", "truncated", None),
    ("3+4=7;7*5=5;5-2=3;3*5=5;5+1=6;#### 6", "full", "extra_step", 4),
    ("#### 5", "full", "truncated", None),
    ("hello", "full", "malformed", None),
])
def test_classify_completion_by_hand(text, strategy, error, step):
    got = classify_completion(P, text)
    assert (got["strategy"], got["error"], got["error_step"]) == (strategy, error, step)
    assert got["error"] is None or got["error"] in ERROR_TYPES


def test_classify_the_shortcut_on_both_trap_classes():
    wrong = Problem("w", (2, 5, 3, 4), ("*", "+", "-"))
    right = Problem("r", (2, 5, 3, 0), ("*", "+", "*"))
    assert right.trap_class == "trap_right" and wrong.trap_class == "trap_wrong"
    for p in (wrong, right):
        got = classify_completion(p, p.shortcut_completion)
        assert got == {"strategy": "shortcut", "error": "shortcut", "error_step": None, "steps_written": 1}
        assert classify_completion(p, p.completion)["error"] is None


def test_every_reference_completion_is_error_free():
    for p in make_problems(300, [1, 2, 3, 4, 5, 6], seed=2):
        got = classify_completion(p, p.completion)
        assert got["error"] is None and got["steps_written"] == p.n_ops


def test_answer_slots_and_strategy_table():
    from real.lab.task import STRATEGIES, answer_slot, strategy_table

    wrong = Problem("w", (2, 5, 3, 4), ("*", "+", "-"))  # answer 9, hits 0 at step 0
    plain = Problem("n", (3, 4, 5), ("+", "*"))  # answer 5, never hits 0 early
    assert [answer_slot(wrong, str(d)) for d in range(10)] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert [answer_slot(plain, str(d)) for d in range(10)] == [1, 2, 3, 4, 5, 0, 6, 7, 8, 9]
    assert answer_slot(plain, None) == answer_slot(plain, "x") == answer_slot(plain, "12") == 10
    recs = [{"problem_id": "w", "text": wrong.shortcut_completion}, {"problem_id": "w", "text": wrong.completion},
            {"problem_id": "w", "text": "2*5=0;0+3=3;3-4=8;#### 8"}, {"problem_id": "n", "text": plain.completion},
            {"problem_id": "n", "text": "3+4=7;7*5=0;#### 0"}]  # on a none problem a stop at 0 is a slip, not the strategy
    t = strategy_table([wrong, plain], recs)
    assert len(STRATEGIES) == t["counts"].shape[1] == 12
    assert t["counts"][0].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]  # shortcut, full correct, full -> 8 (slot 9)
    assert t["counts"][1].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # full correct, full -> 0 (slot 1)
    assert t["answers"][0, 0] == 1 and t["answers"][0, 1] == 0 and t["answers"][0, 2:].tolist() == list(range(1, 11))
    assert t["available"][:, 0].tolist() == [True, False]
    with pytest.raises(ValueError, match="problem_id"):
        strategy_table([wrong], [{"problem_id": "zz", "text": ""}])
