"""The ``generic`` format: sample records (``real.logs.schema``) under other field names, as JSON lines,
Parquet or CSV, read through a field mapping ``{our_field: their_field}``, e.g. ``{"problem_id": "qid",
"correct": "is_correct"}``. ``generic`` is ``records`` (``real.logs.formats.records`` reads both) with a
mapping; every other format takes a mapping too, and this module holds what they share:

- :func:`check_mapping` (the argument's type); :func:`renamer` / :func:`renamed` (rows renamed to our
  field names before any check, so rejection reasons name our fields); :func:`our_names` (a file's field
  names in ours, for format detection);
- the CSV text-cell rules, :func:`coerce_csv_cells`: CSV cells are text, so ``sample_index`` must read as
  an integer, ``correct`` as true/false/1/0 (case-insensitive), ``n_tokens``/``logprob``/
  ``mean_token_entropy`` as numbers (empty = null), and an empty ``answer``/``gold``/``run`` cell means
  null. A cell that does not parse stays a string, so validation rejects it naming the field.
"""

from __future__ import annotations

import re

from real.logs.schema import NUMERIC_OPTIONAL


def check_mapping(mapping) -> None:
    """ValueError unless ``mapping`` is None or a dict of str -> str."""
    if mapping is not None and (not isinstance(mapping, dict)
                                or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())):
        raise ValueError(f"mapping: must be a dict of field name -> field name, got {mapping!r}")


def renamer(mapping):
    """A function object -> object renaming a dict's keys from the file's names to ours (``mapping`` is
    ``{our_field: their_field}``; fields it does not name keep their names; non-dicts pass unchanged)."""
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    if not inv:
        return lambda obj: obj
    return lambda obj: {inv.get(k, k): v for k, v in obj.items()} if isinstance(obj, dict) else obj


def renamed(rows, mapping):
    """(line, object) pairs with each object renamed to our field names (see :func:`renamer`)."""
    rename = renamer(mapping)
    return ((no, rename(obj)) for no, obj in rows)


def our_names(keys, mapping) -> set:
    """The field names ``keys`` of a file, in our names (see :func:`renamer`)."""
    inv = {theirs: ours for ours, theirs in (mapping or {}).items()}
    return {inv.get(k, k) for k in keys}


def coerce_csv_cells(obj: dict) -> dict:
    """A CSV record's text cells -> sample-record values (rules in the module docstring); unparsable cells
    stay strings so validation names them."""
    out = dict(obj)
    si = out.get("sample_index")
    if isinstance(si, str) and re.fullmatch(r"\s*[+-]?\d+\s*", si):
        out["sample_index"] = int(si)
    ok = out.get("correct")
    if isinstance(ok, str):
        out["correct"] = {"true": True, "1": True, "false": False, "0": False}.get(ok.strip().lower(), ok)
    for k in ("answer", "gold", "run"):
        if out.get(k) == "":
            out[k] = None
    for k in NUMERIC_OPTIONAL:
        v = out.get(k)
        if isinstance(v, str):
            try:
                out[k] = None if v.strip() == "" else float(v)
            except ValueError:
                pass
    return out
