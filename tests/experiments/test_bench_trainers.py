"""The trainers benchmark's checks: the two GRPO settings match field by field (and a changed field is caught), the two
optimizers agree on the same gradients (and differ when a constant differs), the path without TRL writes a failing
claim naming the install command, and verl's functions are taken from its file by name and behave as we read them."""

import importlib.util
import json

import numpy as np
import pytest

from experiments import bench_trainers as bt

VERL_SOURCE, VERL_ORIGIN = bt.verl_metric_utils()


def _trl_args(rl, tmp_path, **changes):
    from trl import GRPOConfig

    return GRPOConfig(**{**bt.trl_arguments(rl, steps=3, output_dir=tmp_path), **changes})


@pytest.fixture(scope="module")
def trl():
    return pytest.importorskip("trl", reason=f"trl is not installed ({bt.INSTALL_HINT})")


def test_settings_match_field_by_field_and_a_changed_field_is_caught(trl, tmp_path):
    rl = bt.rl_config(bt.QUICK_SHAPE, 3)
    rows = bt.setting_table(rl, _trl_args(rl, tmp_path))
    assert [r["field"] for r in rows if not r["equal"]] == []
    assert {r["field"]: r["trl"] for r in rows}["KL beta"] == 0.0
    for change, field in (({"learning_rate": 1e-6}, "learning rate"), ({"loss_type": "grpo"}, "loss normalisation"),
                          ({"beta": 0.04}, "KL beta"), ({"adam_beta2": 0.99}, "Adam beta2"), ({"num_generations": 4}, "generations per prompt"),
                          ({"lr_scheduler_type": "linear"}, "learning-rate schedule"), ({"epsilon_high": 0.28}, "clip epsilon (high)")):
        bad = [r["field"] for r in bt.setting_table(rl, _trl_args(rl, tmp_path, **change)) if not r["equal"]]
        assert field in bad, (change, bad)
    # our side changed: caught as well
    import dataclasses

    bad = [r["field"] for r in bt.setting_table(dataclasses.replace(rl, clip_eps=0.3), _trl_args(rl, tmp_path)) if not r["equal"]]
    assert bad == ["clip epsilon (low)", "clip epsilon (high)"]


def test_optimizers_agree_on_the_same_gradients_and_differ_when_a_constant_differs(trl, tmp_path):
    import dataclasses

    rl = bt.rl_config(bt.QUICK_SHAPE, 3)
    same = bt.optimizer_probe(rl, _trl_args(rl, tmp_path))
    assert same["max_abs_diff"] < bt.PROBE_TOL
    decayed = dataclasses.replace(rl, weight_decay=0.1)  # decoupled decay, both sides
    assert bt.optimizer_probe(decayed, _trl_args(decayed, tmp_path))["max_abs_diff"] < bt.PROBE_TOL
    assert bt.optimizer_probe(rl, _trl_args(rl, tmp_path, adam_beta2=0.99))["max_abs_diff"] > 10 * bt.PROBE_TOL
    assert bt.optimizer_probe(rl, _trl_args(rl, tmp_path, max_grad_norm=0.1))["max_abs_diff"] > 10 * bt.PROBE_TOL


def test_without_trl_the_summary_says_why_and_names_the_install_command(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "trl" else real_find_spec(name, *a))
    reason = bt.trl_unavailable()
    assert "pip install -e '.[tools]'" in reason and "trl is not installed" in reason
    monkeypatch.setattr(bt, "verl_metric_utils", lambda: (None, "verl absent here"))
    out = bt.run(quick=True, results_dir=tmp_path)
    summary = json.loads((tmp_path / bt.NAME / "summary.json").read_text())
    assert [c["holds"] for c in summary["claims"]] == [False] and out["claims"][0]["holds"] is False
    assert "could not run" in summary["claims"][0]["claim"] and "pip install -e '.[tools]'" in summary["claims"][0]["claim"]
    assert summary["grpo"] == {"skipped": reason} and summary["verl"] == {"skipped": "verl absent here"}


FAKE_METRIC_UTILS = '''
import torch_is_not_needed_here
from verl import DataProto

def helper():
    raise AssertionError("not loaded")

def bootstrap_metric(data, subset_size, reduce_fns, n_bootstrap=1000, seed=42):
    return [(float(np.mean(data)), 0.0)]

def calc_maj_val(data, vote_key, val_key):
    return defaultdict(list)

def process_validation_metrics(data_sources, sample_uids, infos_dict, seed=42):
    return partial(len, data_sources)()
'''


def test_verl_functions_are_taken_by_name_without_the_modules_imports():
    fns = bt.load_verl_functions(FAKE_METRIC_UTILS)
    assert sorted(fns) == sorted(bt.VERL_FUNCTIONS)
    assert fns["bootstrap_metric"]([1, 2, 3], 2, []) == [(2.0, 0.0)] and fns["process_validation_metrics"]("abc", None, {}) == 3
    with pytest.raises(ValueError, match="no top-level function calc_maj_val"):
        bt.load_verl_functions(FAKE_METRIC_UTILS.replace("def calc_maj_val", "def other"))
    with pytest.raises(ValueError, match="bootstrap_metric carry decorators"):
        bt.load_verl_functions(FAKE_METRIC_UTILS.replace("def bootstrap_metric", "@cache\ndef bootstrap_metric"))


def test_verl_ns_and_the_dump_as_real_logs_reads_it(tmp_path):
    from real.logs.importers import load_counts

    assert bt.verl_ns(16) == [2, 4, 8, 16] and bt.verl_ns(10) == [2, 4, 8, 10] and bt.verl_ns(2) == [2] and bt.verl_ns(1) == []
    dump = bt.synthetic_dump(tmp_path / "0.jsonl", 12, 7, seed=3)
    table, report = load_counts(tmp_path / "0.jsonl", format="verl")
    assert report.rows_read == 84 and report.n_rejected == 0
    counts = bt._answer_counts(dump)
    assert (counts.sum(1) == 7).all() and (counts[:, 0] == np.array(dump["scores"]).sum(1)).all()
    # the table's correct counts, problem by problem (the benchmark maps columns by verl's problem id, sha1 of the input)
    import hashlib

    col = {pid: j for j, pid in enumerate(table.problem_ids)}
    order = [col[hashlib.sha1(x.encode()).hexdigest()[:12]] for x in dump["inputs"]]
    assert (table.n_correct[0, order] == counts[:, 0]).all()
    got = table.answer_counts[0, order]
    for i in range(12):  # the correct answer first; the wrong answers' counts as a multiset (the table orders them its own way)
        assert got[i, 0] == counts[i, 0] and sorted(got[i, 1:][got[i, 1:] > 0]) == sorted(counts[i, 1:][counts[i, 1:] > 0])


@pytest.mark.skipif(VERL_SOURCE is None, reason=f"verl's metric_utils.py not available: {VERL_ORIGIN}")
def test_verls_bootstrap_maj_estimates_the_with_replacement_plugin_value():
    from functools import partial

    from theory.voting import plurality_accuracy

    fns = bt.load_verl_functions(VERL_SOURCE)
    assert fns["calc_maj_val"]([{"pred": "A", "val": 0.9}, {"pred": "B", "val": 0.8}, {"pred": "A", "val": 0.7}], "pred", "val") == 0.9
    preds = list("aaabbc")
    data = [{"pred": p, "val": float(p == "a")} for p in preds]
    for k in (2, 3, 6):
        [(mean, sd)] = fns["bootstrap_metric"](data, k, [partial(fns["calc_maj_val"], vote_key="pred", val_key="val")], n_bootstrap=5000)
        plugin = float(plurality_accuracy(np.array([3, 2, 1]) / 6, k))
        assert abs(mean - plugin) < 4 * sd / np.sqrt(5000), (k, mean, plugin)
    out = fns["process_validation_metrics"](["s"] * 6, ["u"] * 6, {"acc": [d["val"] for d in data], "pred": preds})
    assert sorted(k for k in out["s"]["acc"] if k.startswith("maj@") and k.endswith("/mean")) == sorted(f"maj@{k}/mean" for k in bt.verl_ns(6))
