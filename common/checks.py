"""Input validation shared by the theory modules.

Every check raises ``ValueError`` whose message starts with the offending argument's name, so
that bad input is reported as e.g. ``probs: entries must be finite, got nan at index (3, 1)``.
All helpers accept NumPy arrays, JAX arrays, Python scalars and nested lists.
"""

from __future__ import annotations

import numpy as np


def is_concrete(x) -> bool:
    """True unless ``x`` is a JAX tracer (inside jit/vmap its values cannot be checked)."""
    import jax

    return not isinstance(x, jax.core.Tracer)


def _first_bad(mask: np.ndarray) -> str:
    idx = np.argwhere(mask)[0]
    return str(tuple(int(i) for i in idx)) if idx.size else "()"


def as_float_array(x, name: str) -> np.ndarray:
    """Convert ``x`` to a float64 array, rejecting non-finite entries."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: cannot be read as numbers ({exc})") from None
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(f"{name}: entries must be finite, got {arr[bad].flat[0]} at index {_first_bad(bad)}")
    return arr


def as_probabilities(x, name: str, *, axis: int | None = -1, sum_to_one: bool = False, atol: float = 1e-9) -> np.ndarray:
    """Probabilities: finite, in [0, 1].

    With ``axis`` set, the entries along it are one distribution and must sum to at most 1 (exactly 1
    if ``sum_to_one``); ``axis=None`` checks entries one by one (e.g. a vector of per-problem p).
    Inputs in single or half precision get a rounding tolerance of 1e-6 on the sum.
    """
    raw_dtype = getattr(x, "dtype", None)
    if raw_dtype is not None and np.dtype(raw_dtype).kind == "f" and np.dtype(raw_dtype).itemsize < 8:
        atol = max(atol, 1e-6)
    arr = as_float_array(x, name)
    neg = arr < 0
    if neg.any():
        raise ValueError(f"{name}: probabilities must be >= 0, got {arr[neg].flat[0]} at index {_first_bad(neg)}")
    big = arr > 1 + atol
    if big.any():
        raise ValueError(f"{name}: probabilities must be <= 1, got {arr[big].flat[0]} at index {_first_bad(big)}")
    if arr.ndim and axis is not None:
        s = arr.sum(axis=axis)
        over = s > 1 + atol
        if over.any():
            raise ValueError(f"{name}: probabilities along axis {axis} must sum to <= 1, got {s[over].flat[0]!r} at index {_first_bad(over)}")
        if sum_to_one:
            off = np.abs(s - 1) > atol
            if off.any():
                raise ValueError(f"{name}: probabilities along axis {axis} must sum to 1, got {s[off].flat[0]!r} at index {_first_bad(off)}")
    return np.clip(arr, 0.0, 1.0)


def as_count_array(x, name: str, *, minimum: int = 0) -> np.ndarray:
    """Integer counts >= ``minimum``; floats are accepted only if they are whole numbers."""
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: cannot be read as integers ({exc})") from None
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name}: counts must be finite, got {arr[bad].flat[0]} at index {_first_bad(bad)}")
        frac = arr != np.round(arr)
        if frac.any():
            raise ValueError(f"{name}: counts must be integers, got {arr[frac].flat[0]} at index {_first_bad(frac)}")
    arr = arr.astype(np.int64)
    low = arr < minimum
    if low.any():
        raise ValueError(f"{name}: counts must be >= {minimum}, got {arr[low].flat[0]} at index {_first_bad(low)}")
    return arr


def check_not_above(small: np.ndarray, big: np.ndarray, small_name: str, big_name: str) -> None:
    """Raise if ``small > big`` anywhere (after broadcasting), e.g. ``k > n`` or ``c > n``."""
    s, b = np.broadcast_arrays(small, big)
    bad = s > b
    if bad.any():
        i = _first_bad(bad)
        raise ValueError(f"{small_name}: must be <= {big_name}, got {small_name}={s[bad].flat[0]} > {big_name}={b[bad].flat[0]} at index {i}")


def check_number(name: str, value, *, low=None, high=None, low_open: bool = False) -> None:
    """A finite real scalar (not a bool) in [low, high] (``low_open``: (low, high]); ValueError naming ``name``."""
    import math

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name}: must be a finite number, got {value!r}")
    below = low is not None and (value <= low if low_open else value < low)
    above = high is not None and value > high
    if (below or above) and low is not None and high is not None:  # name the whole allowed range
        raise ValueError(f"{name}: must lie in {'(' if low_open else '['}{low:g}, {high:g}], got {value!r}")
    if below:
        raise ValueError(f"{name}: must be {'>' if low_open else '>='} {low}, got {value!r}")
    if above:
        raise ValueError(f"{name}: must be <= {high}, got {value!r}")


def check_int(name: str, value, minimum: int = 1) -> None:
    """A Python integer (not a bool) >= ``minimum``; ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: must be an integer >= {minimum}, got {value!r}")
