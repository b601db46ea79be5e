"""real.logs.breakdowns against independent references: direct per-problem loops over sample lists,
enumeration of every k-subset (votes with 1/t ties and abstaining nulls), and hand-computed record means."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest
from helpers import table_from_samples

from common.bootstrap import bootstrap_weights
from real.logs.analysis import checkpoint_metrics
from real.logs.breakdowns import (
    TIE_POLICY,
    group_breakdown,
    length_breakdown,
    read_sample_records,
    stability_metrics,
)
from real.logs.schema import records_to_counts
from real.logs.table import CountsTable

GOLD = "A"


def random_samples(rng, C=3, P=7, n_choices=(0, 3, 5, 6)):
    answers = [GOLD, "B", "C", None]
    out = []
    for _ in range(C):
        row = []
        for _ in range(P):
            n = int(rng.choice(n_choices))
            probs = rng.dirichlet(np.ones(4))
            row.append([answers[int(i)] for i in rng.choice(4, size=n, p=probs)])
        out.append(row)
    return out


def subset_stats(samples, k):
    """Exact means over all k-subsets: pass@k, pass^k, vote credit (1/t ties, nulls abstain), counts of correct."""
    subs = list(itertools.combinations(range(len(samples)), k))
    hits = [sum(samples[i] == GOLD for i in s) for s in subs]
    votes = []
    for s in subs:
        tally = {}
        for i in s:
            if samples[i] is not None:
                tally[samples[i]] = tally.get(samples[i], 0) + 1
        top = max(tally.values()) if tally else 0
        votes.append(Fraction(1, sum(v == top for v in tally.values())) if tally.get(GOLD, 0) == top and top > 0 else Fraction(0))
    T = len(subs)
    return {"pass": Fraction(sum(h >= 1 for h in hits), T), "hat": Fraction(sum(h == k for h in hits), T),
            "maj": sum(votes, Fraction(0)) / T, "hits": hits}


def mean_or_nan(xs):
    return float(np.mean([float(x) for x in xs])) if xs else float("nan")


# ----------------------------------------------------------------------------------------------------
# stability curves
# ----------------------------------------------------------------------------------------------------


def test_stability_metrics_match_k_subset_enumeration_per_problem_loop():
    rng = np.random.default_rng(0)
    samples = random_samples(rng)
    table = table_from_samples(samples)
    ks, taus = [1, 2, 3, 5, 6], [0.5, 0.75, 1.0]
    res = stability_metrics(table, ks, taus, n_boot=200, seed=1)
    C, P = table.shape
    assert res["pass_hat_k"]["estimate"].shape == (C, len(ks)) and res["per_problem"]["pass_hat_k"].shape == (C, P, len(ks))
    for c in range(C):
        for j, k in enumerate(ks):
            cells = [subset_stats(samples[c][p], k) for p in range(P) if len(samples[c][p]) >= k]
            assert res["n_problems"][c, j] == len(cells)
            np.testing.assert_allclose(res["pass_hat_k"]["estimate"][c, j], mean_or_nan([s["hat"] for s in cells]), rtol=1e-13, equal_nan=True)
            for t in taus:
                m = math.ceil(Fraction(str(t)) * k)
                want = mean_or_nan([Fraction(sum(h >= m for h in s["hits"]), len(s["hits"])) for s in cells])
                np.testing.assert_allclose(res["g_pass_at_k"][t]["estimate"][c, j], want, rtol=1e-13, equal_nan=True)
                assert res["thresholds"][t][j] == m
            h = -(-k // 2)
            want = mean_or_nan([Fraction(2, k) * sum(Fraction(sum(x >= i for x in s["hits"]), len(s["hits"])) for i in range(h + 1, k + 1))
                                for s in cells])
            np.testing.assert_allclose(res["mg_pass_at_k"]["estimate"][c, j], want, rtol=1e-13, atol=1e-15, equal_nan=True)
    fin = np.isfinite(res["pass_hat_k"]["estimate"])
    assert np.all(res["pass_hat_k"]["low"][fin] <= res["pass_hat_k"]["estimate"][fin] + 1e-12)
    assert np.all(res["pass_hat_k"]["estimate"][fin] <= res["pass_hat_k"]["high"][fin] + 1e-12)
    assert len(res["rows"]) == C * len(ks) * (2 + len(taus))
    row = next(r for r in res["rows"] if r["metric"] == "g_pass_at_k" and r["tau"] == 0.75 and r["k"] == 3)
    assert row["threshold"] == 3 and row["checkpoint"] == "0"


def test_stability_pairs_with_checkpoint_metrics_and_identities():
    rng = np.random.default_rng(1)
    table = table_from_samples(random_samples(rng, C=2, P=9))
    W = bootstrap_weights(9, 300, seed=4)
    ks = [1, 2, 5]
    st = stability_metrics(table, ks, [0.1, 1.0], weights=W)
    cm = checkpoint_metrics(table, ks, weights=W)
    # ⌈0.1 k⌉ = 1 for k <= 10: G-Pass@k_0.1 is pass@k, its interval from the same resamples
    for key in ("estimate", "low", "high"):
        np.testing.assert_allclose(st["g_pass_at_k"][0.1][key], cm["pass_at_k"][key], rtol=1e-13, equal_nan=True)
        np.testing.assert_allclose(st["g_pass_at_k"][1.0][key], st["pass_hat_k"][key], rtol=1e-13, equal_nan=True)
    np.testing.assert_array_equal(st["n_problems"], cm["n_problems"])
    # one resample by hand: low = high = the weighted mean over problems with a value
    w = W[:1]
    one = stability_metrics(table, ks, [0.5], weights=w)
    v = one["per_problem"]["mg_pass_at_k"][1, :, 2]
    ok = np.isfinite(v)
    assert one["mg_pass_at_k"]["low"][1, 2] == pytest.approx(np.sum(w[0, ok] * v[ok]) / np.sum(w[0, ok]))


def test_stability_on_count_only_table_and_bad_input():
    t = CountsTable(("a", "b"), np.array([np.nan, np.nan]), ("p", "q"), np.array([[4, 8], [8, 0]]), np.array([[4, 2], [7, 0]]))
    res = stability_metrics(t, [1, 4, 8], n_boot=50)
    assert res["pass_hat_k"]["estimate"][0, 1] == pytest.approx(np.mean([1.0, math.comb(2, 4) / math.comb(8, 4)]))
    assert res["pass_hat_k"]["estimate"][1, 2] == pytest.approx(0.0)  # 7 of 8 correct: never all 8
    assert res["n_problems"][0, 2] == 1 and res["n_problems"][1, 2] == 1
    with pytest.raises(ValueError, match=r"^taus: must lie in \(0, 1\], got 0"):
        stability_metrics(t, [1], taus=[0])
    with pytest.raises(ValueError, match=r"^taus: must lie in \(0, 1\], got 1.5"):
        stability_metrics(t, [1], taus=[0.5, 1.5])
    with pytest.raises(ValueError, match=r"^ks: \[9\] exceed the largest budget"):
        stability_metrics(t, [9])
    with pytest.raises(ValueError, match=r"^weights: expected \[n_boot, 2\]"):
        stability_metrics(t, [1], weights=np.ones((3, 5)))


# ----------------------------------------------------------------------------------------------------
# groups
# ----------------------------------------------------------------------------------------------------


def test_group_breakdown_matches_direct_per_problem_loops():
    rng = np.random.default_rng(2)
    samples = random_samples(rng, C=3, P=8)
    table = table_from_samples(samples)
    groups = {"q0": "gsm8k", "q1": "math", "q2": "gsm8k", "q3": "math", "q4": "aime", "q5": "gsm8k", "q6": "math"}  # q7 ungrouped
    groups["q99"] = "math"  # not in the table
    ks = [1, 3, 5]
    res = group_breakdown(table, groups, ks, n_boot=200, seed=3)
    assert res["names"] == ["all", "gsm8k", "math", "aime"]
    assert res["unknown_problem_ids"] == ["q99"] and res["ungrouped_problem_ids"] == ["q7"]
    assert "q99" in res["note"] and "q7" in res["note"]
    assert res["n_per_group"] == {"all": 8, "gsm8k": 3, "math": 3, "aime": 1}
    members = {"all": [f"q{p}" for p in range(8)]}
    for pid, g in groups.items():
        members.setdefault(g, []).append(pid)
    for name in res["names"]:
        ps = [int(pid[1:]) for pid in members[name] if pid != "q99"]
        out = res["metrics"][name]
        for c in range(3):
            p1 = [Fraction(sum(a == GOLD for a in samples[c][p]), len(samples[c][p])) for p in ps if samples[c][p]]
            np.testing.assert_allclose(out["pass_at_1"]["estimate"][c], mean_or_nan(p1), rtol=1e-13, equal_nan=True)
            for j, k in enumerate(ks):
                cells = [(p, subset_stats(samples[c][p], k)) for p in ps if len(samples[c][p]) >= k]
                assert out["pass_at_k"]["n_problems"][c, j] == len(cells)
                np.testing.assert_allclose(out["pass_at_k"]["estimate"][c, j], mean_or_nan([s["pass"] for _, s in cells]),
                                           rtol=1e-13, equal_nan=True)
                np.testing.assert_allclose(out["maj_at_k"]["estimate"][c, j], mean_or_nan([s["maj"] for _, s in cells]),
                                           rtol=1e-12, equal_nan=True)
                sc = [s["maj"] - Fraction(sum(a == GOLD for a in samples[c][p]), len(samples[c][p])) for p, s in cells]
                np.testing.assert_allclose(out["sc_gain"]["estimate"][c, j], mean_or_nan(sc), rtol=1e-12, atol=1e-14, equal_nan=True)
        assert out["maj_at_k"]["tie_policy"] == TIE_POLICY and out["sc_gain"]["tie_policy"] == TIE_POLICY
    assert res["tie_policy"] == TIE_POLICY and res["votes"] == "available"
    for r in res["rows"]:
        assert r["tie_policy"] == (TIE_POLICY if r["metric"] in ("maj_at_k", "sc_gain") else None)
    # "all" is checkpoint_metrics' overall numbers with the same resamples
    W = bootstrap_weights(8, 200, 3)
    cm = checkpoint_metrics(table, ks, weights=W)
    reused = group_breakdown(table, groups, ks, weights=W, metrics=cm)
    for q in ("pass_at_k", "maj_at_k", "sc_gain"):
        for key in ("estimate", "low", "high"):
            np.testing.assert_allclose(res["metrics"]["all"][q][key], cm[q][key], rtol=1e-13, equal_nan=True)
            np.testing.assert_array_equal(reused["metrics"]["math"][q][key], res["metrics"]["math"][q][key])
    with pytest.raises(ValueError, match=r"^metrics: computed at ks \[1, 3, 5\], expected \[1, 2\]"):
        group_breakdown(table, groups, [1, 2], metrics=cm)


def test_group_tie_policy_wording_is_analysis_wording():
    import real.logs.analysis as analysis

    assert " ".join(TIE_POLICY.split()) in " ".join(analysis.__doc__.split())


def test_group_breakdown_bad_input_is_reported_or_refused():
    rng = np.random.default_rng(5)
    table = table_from_samples(random_samples(rng, C=1, P=3, n_choices=(3,)))
    res = group_breakdown(table, {"q0": "x", "nope": "x", 7: "y"}, [1, 2], n_boot=20)
    assert res["unknown_problem_ids"] == ["nope", "7"]
    assert res["names"] == ["all", "x"] and res["ungrouped_problem_ids"] == ["q1", "q2"]
    with pytest.raises(ValueError, match=r"^groups: 2 problem id\(s\) are not in the table: \['nope', '7'\]"):
        group_breakdown(table, {"q0": "x", "nope": "x", 7: "y"}, [1], strict=True)
    with pytest.raises(ValueError, match=r"^groups: the group of problem 'q0' must be a non-empty string, got ''"):
        group_breakdown(table, {"q0": ""}, [1])
    with pytest.raises(ValueError, match=r"^groups: 'all' is reserved"):
        group_breakdown(table, {"q0": "all"}, [1])
    with pytest.raises(ValueError, match=r"^groups: expected a mapping"):
        group_breakdown(table, [("q0", "x")], [1])
    with pytest.raises(ValueError, match=r"^groups: problem '1' is given two groups"):
        group_breakdown(table, {1: "x", "1": "y"}, [1])
    counts_only = CountsTable(table.checkpoints, table.steps, table.problem_ids, table.n_samples, table.n_correct)
    res = group_breakdown(counts_only, {"q0": "x"}, [1, 3], n_boot=20)
    assert res["votes"].startswith("unavailable: count-only table") and "maj_at_k" not in res["metrics"]["x"]
    assert {r["metric"] for r in res["rows"]} == {"pass_at_1", "pass_at_k"}


# ----------------------------------------------------------------------------------------------------
# lengths and truncation
# ----------------------------------------------------------------------------------------------------


def make_records(rng, with_truncation=True):
    recs = []
    for ck in (0, 100):
        for p in range(5):
            for s in range(4):
                ok = bool(rng.random() < 0.5)
                ans = GOLD if ok else (None if rng.random() < 0.3 else "B")
                r = {"checkpoint": ck, "problem_id": f"q{p}", "sample_index": s, "answer": ans, "correct": ok,
                     "text": "x" * int(rng.integers(5, 60)), "n_tokens": int(rng.integers(3, 40))}
                if with_truncation:
                    if rng.random() < 0.5:
                        r["truncated"] = bool(rng.random() < 0.3)
                    else:
                        r["finish_reason"] = "length" if rng.random() < 0.3 else "stop"
                recs.append(r)
    return recs


def trunc_of(r, max_tokens=None):
    if isinstance(r.get("truncated"), bool):
        return r["truncated"]
    if isinstance(r.get("finish_reason"), str):
        return r["finish_reason"] == "length"
    return None if max_tokens is None else r["n_tokens"] >= max_tokens


def test_length_breakdown_matches_direct_means():
    rng = np.random.default_rng(6)
    recs = make_records(rng)
    res = length_breakdown(recs, n_boot=300, seed=2)
    assert res["checkpoints"] == ["0", "100"] and res["steps"] == [0.0, 100.0]
    assert res["quantities"]["chars"]["field"] == "text" and all(res["quantities"][q]["available"] for q in ("chars", "tokens", "truncated"))
    src = res["quantities"]["truncated"]["sources"]
    assert src["truncated"] + src["finish_reason"] == len(recs) and src["missing"] == 0
    for ci, ck in enumerate((0, 100)):
        for cls in ("correct", "wrong", "unparsed", "all"):
            sel = [r for r in recs if r["checkpoint"] == ck and (cls == "all" or (cls == "correct") == r["correct"])
                   and (cls != "unparsed" or r["answer"] is None)]
            for q, f in (("chars", lambda r: len(r["text"])), ("tokens", lambda r: r["n_tokens"]), ("truncated", trunc_of)):
                v = res["values"][q][cls]
                assert v["n_samples"][ci] == len(sel)
                assert v["estimate"][ci] == pytest.approx(np.mean([float(f(r)) for r in sel]) if sel else np.nan, nan_ok=True)
                if sel:
                    assert v["low"][ci] <= v["estimate"][ci] + 1e-12 <= v["high"][ci] + 2e-12
        for q in ("chars", "tokens", "truncated"):
            d = res["difference"][q]
            assert d["estimate"][ci] == pytest.approx(res["values"][q]["wrong"]["estimate"][ci] - res["values"][q]["correct"]["estimate"][ci])
    assert {r["class"] for r in res["rows"]} == {"correct", "wrong", "unparsed", "all", "wrong_minus_correct"}
    assert len(res["rows"]) == 2 * 3 * 5


def test_length_bootstrap_resamples_problems_ratio_of_sums():
    rng = np.random.default_rng(7)
    recs = make_records(rng)
    W = bootstrap_weights(5, 1, seed=9)  # one resample: low = high = its ratio
    res = length_breakdown(recs, weights=W)
    pids = [f"q{p}" for p in range(5)]
    for ci, ck in enumerate((0, 100)):
        sel = [r for r in recs if r["checkpoint"] == ck and not r["correct"]]
        num = sum(W[0, pids.index(r["problem_id"])] * len(r["text"]) for r in sel)
        den = sum(W[0, pids.index(r["problem_id"])] for r in sel)
        assert res["values"]["chars"]["wrong"]["low"][ci] == pytest.approx(num / den)


def test_length_missing_fields_are_reported_not_invented():
    rng = np.random.default_rng(8)
    recs = make_records(rng, with_truncation=False)
    for r in recs[:7]:
        del r["text"]
    res = length_breakdown(recs, n_boot=50)
    tr = res["quantities"]["truncated"]
    assert not tr["available"] and "no 'truncated' or 'finish_reason' field" in tr["reason"] and "max_tokens" in tr["reason"]
    assert np.all(np.isnan(res["values"]["truncated"]["all"]["estimate"]))
    assert "truncated: unavailable" in res["note"]
    assert res["values"]["chars"]["all"]["n_missing"].sum() == 7
    with_limit = length_breakdown(recs, max_tokens=30, n_boot=50)
    assert with_limit["quantities"]["truncated"]["available"]
    assert with_limit["quantities"]["truncated"]["sources"]["n_tokens>=max_tokens"] == len(recs)
    want = np.mean([r["n_tokens"] >= 30 for r in recs if r["checkpoint"] == 0])
    assert with_limit["values"]["truncated"]["all"]["estimate"][0] == pytest.approx(want)
    no_text = [{k: v for k, v in r.items() if k != "text"} for r in recs]
    res = length_breakdown(no_text, n_boot=20)
    assert not res["quantities"]["chars"]["available"] and "'text' or 'response'" in res["quantities"]["chars"]["reason"]
    resp = [{**{k: v for k, v in r.items() if k != "text"}, "response": "yy"} for r in recs]
    res = length_breakdown(resp, n_boot=20)
    assert res["quantities"]["chars"]["field"] == "response" and res["values"]["chars"]["all"]["estimate"][0] == 2.0


def test_length_bad_rows_duplicates_temperatures_and_table_alignment(tmp_path):
    rng = np.random.default_rng(9)
    recs = make_records(rng)
    bad = [{"checkpoint": 0, "problem_id": "q0", "answer": "A", "correct": True},  # no sample_index
           dict(recs[0]),  # duplicate key
           {**recs[1], "correct": "yes"}]
    res = length_breakdown(recs + bad, n_boot=20)
    imp = res["import"]
    assert imp["rows_read"] == len(recs) + 3 and imp["rows_accepted"] == len(recs) and imp["rows_rejected"] == 3
    assert set(imp["rejections_by_reason"]) == {"missing field", "duplicate key", "wrong type"}
    assert "3 record(s) rejected" in res["note"]
    two_t = [{**r, "temperature": 0.0 if i % 2 else 1.0} for i, r in enumerate(recs)]
    with pytest.raises(ValueError, match=r"^temperature: the records hold samples of 2 sampling temperatures"):
        length_breakdown(two_t)
    only = length_breakdown(two_t, temperature=1.0, n_boot=20)
    assert only["n_other_temperature"] == len(recs) // 2 and "T=1 only" in only["note"]
    assert only["values"]["chars"]["all"]["n_samples"].sum() == len(recs) // 2
    assert only["import"]["rows_accepted"] == len(recs)
    with pytest.raises(ValueError, match=r"^temperature: must be >= 0, got -1"):
        length_breakdown(two_t, temperature=-1)
    # with the table of a subset of the records: its order, its problems; the rest listed
    table = records_to_counts([r for r in recs if r["problem_id"] != "q4"])
    extra = [{**r, "checkpoint": 300} for r in recs[:3]]
    res = length_breakdown(recs + extra, table=table, n_boot=20)
    assert res["checkpoints"] == list(table.checkpoints) and res["problems_not_in_table"] == ["q4"]
    assert res["checkpoints_not_in_table"] == ["300"]
    n0 = sum(1 for r in recs if r["checkpoint"] == 0 and r["problem_id"] != "q4")
    assert res["values"]["chars"]["all"]["n_samples"][0] == n0
    # from files: JSONL and CSV, with a broken line
    jl = tmp_path / "a.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in recs[:20]) + "\n{not json\n")
    cs = tmp_path / "b.csv"
    cols = ["checkpoint", "problem_id", "sample_index", "answer", "correct", "text", "n_tokens", "truncated", "finish_reason"]
    lines = [",".join(cols)] + [",".join("" if r.get(c) is None else str(r.get(c)).lower() if isinstance(r.get(c), bool) else str(r.get(c))
                                         for c in cols) for r in recs[20:]]
    cs.write_text("\n".join(lines) + "\n")
    items, rep = read_sample_records([jl, cs])
    assert len(items) == len(recs) and rep.n_rejected == 1 and rep.rows_read == len(recs) + 1
    from_files = length_breakdown(paths=[jl, cs], n_boot=20)
    direct = length_breakdown(recs, n_boot=20)
    for q in ("chars", "tokens", "truncated"):
        np.testing.assert_allclose(from_files["values"][q]["all"]["estimate"], direct["values"][q]["all"]["estimate"])
    assert from_files["import"]["rows_rejected"] == 1
    with pytest.raises(ValueError, match=r"^records: give exactly one of records or paths"):
        length_breakdown(recs, paths=[jl])
    with pytest.raises(ValueError, match=r"^max_tokens: must be an integer >= 1, got 0"):
        length_breakdown(recs, max_tokens=0)
    with pytest.raises(ValueError, match=r"^records: no valid sample record"):
        length_breakdown(bad[:1])


def test_length_keeps_one_temperature_whose_samples_reuse_the_indices_of_another():
    # the same (checkpoint, problem_id, sample_index) at T = 0.7 and T = 1.0 are two samples, not a duplicate
    recs = [{"checkpoint": 0, "problem_id": "p", "sample_index": i, "answer": "A", "correct": True, "temperature": T,
             "text": "x" * (5 if T == 0.7 else 9)} for T in (0.7, 1.0) for i in range(3)]
    out = length_breakdown(recs, temperature=1.0, n_boot=20)
    assert out["import"]["rows_rejected"] == 0 and out["n_other_temperature"] == 3
    assert out["values"]["chars"]["correct"]["estimate"][0] == 9
    dup = length_breakdown(recs + recs[:1], temperature=0.7, n_boot=20)  # a true duplicate is still one
    assert dup["import"]["rows_rejected"] == 1 and "temperature 0.7" in dup["import"]["rejected"][0]["reason"]
