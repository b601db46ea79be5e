"""The lab's evaluation protocol (issue 14): ``EvalConfig.greedy`` / ``temperatures`` and the extra records of
``run_lab``'s evaluation stage (off by default: the setting and the records are as before)."""

import pytest

from real.lab.config import QUICK, EvalConfig


def test_protocol_is_off_by_default_and_validated():
    e = EvalConfig()
    assert not e.protocol and e.temperatures == () and e.greedy is False
    assert QUICK.to_dict()["evaluation"]["temperatures"] == [] and QUICK.to_dict()["evaluation"]["greedy"] is False
    assert EvalConfig(greedy=True).protocol and EvalConfig(temperatures=(0.7,)).protocol
    cfg = QUICK.replace(evaluation={"temperatures": [0.7, 0.5], "greedy": True})  # lists (JSON, --set) become tuples
    assert cfg.evaluation.temperatures == (0.7, 0.5)
    for kw, message in (({"temperatures": (0.7, 0.7)}, "must not repeat"), ({"temperatures": (1.0,)}, "must not repeat"),
                        ({"temperatures": (0.0,)}, r"evaluation\.temperatures: must be > 0"),
                        ({"temperatures": 0.7}, "must be a tuple"), ({"greedy": 1}, "evaluation.greedy: must be true or false"),
                        ({"greedy": True, "temperature": 0.0}, "already 0")):
        with pytest.raises(ValueError, match=message):
            EvalConfig(**kw)


def test_protocol_records_plan(monkeypatch):
    import real.lab.evaluate as ev
    from real.lab.run import _protocol_records

    calls = []

    def stub(params, config, problems, **kw):
        calls.append({k: kw[k] for k in ("checkpoint", "n", "temperature", "seed", "record_temperature", "top_p", "max_tokens")})
        return [{"temperature": kw["temperature"]}] * kw["n"]

    monkeypatch.setattr(ev, "evaluate_params", stub)
    off = QUICK
    assert _protocol_records(None, off, [], 10, None) == [] and calls == []
    on = QUICK.replace(evaluation={"greedy": True, "temperatures": (0.7, 0.5), "top_p": 0.9}, seed=3)
    recs = _protocol_records(None, on, [], 10, None)
    base = 3 + on.evaluation.seed_offset + 10
    assert calls == [
        {"checkpoint": 10, "n": 1, "temperature": 0.0, "seed": base, "record_temperature": True, "top_p": 0.9, "max_tokens": 48},
        {"checkpoint": 10, "n": 16, "temperature": 0.7, "seed": base + ev.TEMPERATURE_SEED_STRIDE, "record_temperature": True,
         "top_p": 0.9, "max_tokens": 48},
        {"checkpoint": 10, "n": 16, "temperature": 0.5, "seed": base + 2 * ev.TEMPERATURE_SEED_STRIDE, "record_temperature": True,
         "top_p": 0.9, "max_tokens": 48}]
    assert len(recs) == 1 + 16 + 16
