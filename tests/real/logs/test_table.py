"""real.logs.table: checkpoint steps parsed from the usual checkpoint names, given explicitly, and the importers ordering
checkpoints by them."""

import json
import math

import numpy as np
import pytest

from real.logs.importers import load_counts, load_counts_by_temperature
from real.logs.table import checkpoint_step, checkpoint_steps, from_answer_counts


@pytest.mark.parametrize("label, step", [
    (140, 140), ("140", 140), (" 140 ", 140), ("1.5", 1.5), (12.0, 12),  # numbers, as before
    ("global_step_140", 140), ("global_step140", 140), ("GLOBAL_STEP_7", 7),  # verl
    ("checkpoint-140", 140), ("checkpoint_140", 140), ("checkpoint140", 140),  # Hugging Face Trainer / TRL
    ("step-100", 100), ("step_100", 100), ("step100", 100), ("Step_3", 3),
    ("ckpt140", 140), ("ckpt-140", 140), ("ckpt_0", 0),
    ("iter_0000140", 140), ("iteration-9", 9),  # Megatron
    ("140.jsonl", 140), ("0.jsonl", 0), ("global_step_20.jsonl", 20), ("checkpoint-5.parquet", 5),  # verl dumps, files
    ("epoch=2-step=140.ckpt", 140), ("model.ckpt-100", 100), ("grpo-run-step-60", 60),  # Lightning, TF, prefixed
    ("outputs/run1/checkpoint-140", 140), ("runs\\global_step_30", 30), ("run1/140", 140),  # paths: the last component
])
def test_checkpoint_names_give_their_step(label, step):
    assert checkpoint_step(label) == step


@pytest.mark.parametrize("label", [
    "best", "final", "base", "step", "step_", "checkpoint-", "ckpt", "epoch_3", "epoch-3", "qwen2.5-7b", "llama-3-8b", "v2",
    "laststep100", "mystep_10", "step_1.5", "step_-5", "step-1e3", "checkpoint-140-merged", "global_step_140_hf",
    "global_step_140/actor", "steps_100", "ckpt_0x10", ".jsonl", "140.txt", "2024-01-01", "", "nan", "inf", None, True,
    float("nan"), ["global_step_1"],
])
def test_names_that_are_not_steps(label):
    assert math.isnan(checkpoint_step(label))


def test_explicit_steps_win_and_arrays():
    assert checkpoint_step("base", {"base": 0}) == 0 and checkpoint_step("step_5", {"step_5": 7}) == 7
    assert checkpoint_step("step_5", {"other": 1}) == 5
    np.testing.assert_array_equal(checkpoint_steps(["global_step_10", "best", 3]), [10, np.nan, 3])


def _records(labels):
    rows = []
    for ck in labels:
        for p in range(2):
            for i, a in enumerate("AAB"):
                rows.append({"checkpoint": ck, "problem_id": f"q{p}", "sample_index": i, "answer": a, "correct": a == "A"})
    return rows


def test_importers_order_named_checkpoints_by_step(tmp_path):
    # file order 100, 20, 3: ordered by the parsed step (the report used to show "step n/a" in file order)
    f = tmp_path / "s.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in _records(["global_step_100", "global_step_20", "global_step_3"])) + "\n")
    table, rep = load_counts(f)
    assert table.checkpoints == ("global_step_3", "global_step_20", "global_step_100")
    np.testing.assert_array_equal(table.steps, [3, 20, 100])
    assert rep.rows_read == rep.rows_accepted == 18
    # a label that names no step: first-appearance order, NaN for it alone
    f2 = tmp_path / "mixed.jsonl"
    f2.write_text("\n".join(json.dumps(r) for r in _records(["checkpoint-50", "base", "checkpoint-10"])) + "\n")
    t2, _ = load_counts(f2)
    assert t2.checkpoints == ("checkpoint-50", "base", "checkpoint-10")
    np.testing.assert_array_equal(t2.steps, [50, np.nan, 10])
    # explicit steps fill the gap and reorder
    t3, _ = load_counts(f2, steps={"base": 0})
    assert t3.checkpoints == ("base", "checkpoint-10", "checkpoint-50")
    np.testing.assert_array_equal(t3.steps, [0, 10, 50])
    np.testing.assert_array_equal(t3.n_correct, t2.n_correct[[1, 2, 0]])
    tabs, _ = load_counts_by_temperature(f2, steps={"base": 0})
    assert tabs[None].checkpoints == t3.checkpoints
    with pytest.raises(ValueError, match="'nope' not among the checkpoints"):
        load_counts(f2, steps={"nope": 1})
    with pytest.raises(ValueError, match="needs a finite number"):
        t2.with_steps({"base": float("nan")})


def test_count_tables_get_steps_from_names():
    t = from_answer_counts(["ckpt0", "ckpt140"], ["q"], [[{"1": 2}], [{"1": 1, "2": 1}]], ["1"])
    np.testing.assert_array_equal(t.steps, [0, 140])
