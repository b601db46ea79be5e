"""The results convention: summary.json with claims (non-finite values become null), one line per claim."""

import json

from common.results import Claim, format_claim, write_summary


def test_summary_schema(tmp_path):
    claims = [Claim("a number is small", True, 0.25, 1.0), Claim("a thing holds", False, float("nan"), None)]
    path = write_summary("demo", claims, results_dir=tmp_path, extra_field=3)
    assert path == tmp_path / "demo" / "summary.json"
    data = json.loads(path.read_text())
    assert data["name"] == "demo" and data["extra_field"] == 3
    assert data["claims"] == [
        {"claim": "a number is small", "holds": True, "value": 0.25, "threshold": 1.0},
        {"claim": "a thing holds", "holds": False, "value": None, "threshold": None},
    ]
    other = write_summary("demo", claims, folder=tmp_path / "elsewhere")
    assert other == tmp_path / "elsewhere" / "summary.json"


def test_format_claim():
    assert format_claim(Claim("x is small", True, 0.123456, 1.0)) == "[ok] x is small: 0.1235 (threshold 1)"
    assert format_claim({"claim": "y", "holds": False, "value": None, "threshold": None}) == "[NO] y: n/a"


def test_jsonable_makes_numpy_values_plain_json():
    import json

    import numpy as np

    from common.results import jsonable

    x = {1: np.array([1.5, np.nan]), "t": (np.int64(3), np.bool_(True)), "f": np.float32(0.25), "inf": float("inf"), "s": "a"}
    out = jsonable(x)
    assert out == {"1": [1.5, None], "t": [3, True], "f": 0.25, "inf": None, "s": "a"}
    assert type(out["t"][0]) is int and type(out["t"][1]) is bool and type(out["f"]) is float
    json.dumps(out, allow_nan=False)  # strict JSON: raises on a NaN or infinity left behind
