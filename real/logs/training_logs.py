"""Training-metric logs, whatever tool wrote them -> one tidy table (run, step, metric, value) and an import report.

Formats (``format=``, or ``"auto"``: :func:`detect_format`, per file):

=============  ==================================================================================================
format         what it reads
=============  ==================================================================================================
tensorboard    TensorBoard event files (``events.out.tfevents.*``, from ``torch.utils.tensorboard.SummaryWriter``,
               TensorFlow, transformers' / TRL's ``TensorBoardCallback``, verl's ``tensorboard`` backend): every
               scalar summary, old style (``simple_value``) or new (a rank-0 tensor of the ``scalars`` plugin);
               step = the event's step, metric = the tag. Other summaries (histograms, images, text) are counted in
               the notes. A folder is read as a TensorBoard log directory: its event files, recursively; the run of
               an event file is its folder relative to the given one (TensorBoard's runs), that folder's name when
               the file lies in it directly
trl            transformers / TRL ``trainer_state.json`` (``Trainer.save_state``, every ``checkpoint-N/``): each entry
               of ``log_history`` with its ``step``; every other number of the entry is a metric (``epoch`` is an
               axis, not a metric); run = the folder name, the one above for a ``checkpoint-N`` folder
verl           verl's ``file`` tracking backend (``verl.utils.tracking.FileLogger``: one JSON line
               ``{"step": N, "data": {"actor/entropy": ..., ...}}`` per logged step, written by orjson, NaN as null);
               run = the file stem (verl names the file after ``trainer.experiment_name``)
wandb-history  a W&B run's history (``wandb.Api().run(path).history()`` or ``scan_history()``) saved by pandas as
               CSV (``to_csv``, with or without its index column), JSON lines (``to_json(orient="records",
               lines=True)``), a JSON array (``orient="records"``) or pandas' default JSON (``{column: {row: value}}``),
               or W&B's Parquet history artifact: step = ``_step``; W&B's own columns (``_runtime`` in seconds,
               ``_timestamp`` in Unix seconds, any other name starting with ``_``) are not metrics; run = file stem
wandb-csv      the W&B app's CSV export of a chart: a ``Step`` column, then ``<run> - <metric>`` and its
               ``<run> - <metric>__MIN`` / ``__MAX`` columns (the min / max over the points the chart merged into
               that step; kept as metrics ``<metric>__MIN`` / ``__MAX``); run = the column's run name
signals        our lab's ``signals.parquet`` (``real.lab.signals``: one row per RL step, ``step`` and one column per
               signal; also its CSV twin and any JSON lines of that shape): every number but ``step`` is a metric;
               run = a ``run`` field when the row has one, else the folder name for a file named ``signals.*``,
               else the file stem
=============  ==================================================================================================

``run=`` names the run of every file instead. Steps must be integers >= 0 (an integral float such as ``10.0``
counts); values must be numbers (in CSV, text that ``float`` reads; NaN and infinities are kept as logged). A null
JSON value or an empty CSV cell means "not logged at this step": it is not a row (the notes count them).

Rows and the import report (``real.logs.schema.ImportReport``): a row is one (run, step, metric, value) read from a
record (a JSON line, a ``log_history`` entry, a CSV record, a Parquet row, a TensorBoard event), plus one row for each
record that cannot be read at all (invalid UTF-8, invalid JSON, a truncated or corrupt TensorBoard record, no valid
step). Every rejected row names its file, its line (the 1-based line of a text file; of a ``log_history`` entry the
line it starts on; of a Parquet row or a TensorBoard record its 1-based position in the file) and its reason
("category: detail"), and ``rows_read == rows_accepted + rows_rejected``. A record with a repeated JSON key is
rejected whole ("duplicate field"). When a (run, step, metric) is logged more than once (a restarted run writing the
same steps again), the last value wins, as TensorBoard shows it; the earlier ones are rejected ("duplicate key"),
naming where the later one is. Nothing is dropped silently.

Metric names: each row keeps the tool's name (``raw_metric``) and a normalised one (``metric``), from the explicit
alias map :data:`ALIASES` only (raw name -> normalised name; a name not in it is kept as it is):

* ``entropy`` (mean token entropy, nats): TRL ``entropy``, verl ``actor/entropy``, our lab's ``token_entropy``;
* ``reward`` (mean verifier reward of the rollouts): TRL ``reward``, verl ``critic/score/mean``, ours ``reward``;
* ``reward_std`` (TRL: the mean over groups of the rewards' standard deviation), ``frac_reward_zero_std`` (share of
  groups whose rewards are all equal): TRL;
* ``response_length`` (mean response length, tokens): TRL ``completions/mean_length``, verl
  ``response_length/mean``, ours ``length_mean``; ``truncation_rate`` (share of responses cut at the length
  limit): TRL ``completions/clipped_ratio``, verl ``response_length/clip_ratio``, ours ``truncation_rate``;
* ``kl`` (KL to the reference policy, per token): TRL ``kl``, verl ``actor/kl_loss``, ours ``kl_base``;
* ``clip_ratio`` (share of tokens clipped by the PPO ratio): TRL ``clip_ratio/region_mean``, verl
  ``actor/pg_clipfrac``, ours ``clip_fraction``;
* ``grad_norm``: TRL ``grad_norm``, verl ``actor/grad_norm``, ours ``grad_norm``; ``loss``: TRL ``loss``, verl
  ``actor/pg_loss``, ours ``loss``; ``learning_rate``: TRL ``learning_rate``, verl ``actor/lr``;
* each TRL name also under ``train/`` (``train/entropy``), as transformers' TensorBoard and W&B callbacks log it.
Pass ``aliases=`` to extend the map (``{**ALIASES, "my/entropy": "entropy"}``) or ``aliases={}`` for raw names only.

The readers use the tools' own libraries where one exists: TensorBoard's protobuf classes decode the events,
``tensorboard.util.tensor_util`` their tensors, and TensorBoard's masked CRC-32C checks each record; the record
framing (TFRecord: length, CRC of the length, data, CRC of the data) is read here so that a truncated or corrupt
record is reported, where TensorBoard's own loader stops at it without a word (TensorBoard's CRC is pure Python without
TensorFlow: about 4 MiB of event file per second on one core). The other formats are JSON, CSV and Parquet (pyarrow).
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from real.logs.schema import ImportReport, RowError
from real.logs.table import checkpoint_step

__all__ = ["ALIASES", "FORMATS", "NEEDS", "TrainingLogs", "detect_format", "normalise_metric", "read_training_logs"]

FORMATS = ("auto", "tensorboard", "trl", "verl", "wandb-history", "wandb-csv", "signals")
NEEDS = {
    "tensorboard": "a TensorBoard event file (name containing 'tfevents') or a folder of them",
    "trl": "a JSON object with 'log_history', a list of objects each with 'step' (trainer_state.json)",
    "verl": "JSON lines of objects with 'step' and 'data' (an object of metric -> number)",
    "wandb-history": "'_step' and metric columns (CSV, JSON lines, a JSON array or pandas' JSON, Parquet)",
    "wandb-csv": "a CSV header with 'Step' and '<run> - <metric>' columns",
    "signals": "'step' and metric columns (Parquet, CSV, JSON lines)",
}

_TRL_NORMALISED = {
    "entropy": "entropy", "reward": "reward", "reward_std": "reward_std", "frac_reward_zero_std": "frac_reward_zero_std",
    "completions/mean_length": "response_length", "completions/clipped_ratio": "truncation_rate", "kl": "kl",
    "clip_ratio/region_mean": "clip_ratio", "grad_norm": "grad_norm", "loss": "loss", "learning_rate": "learning_rate",
}
ALIASES = {
    **_TRL_NORMALISED,
    **{f"train/{raw}": name for raw, name in _TRL_NORMALISED.items()},
    # verl (verl/trainer/ppo/metric_utils.py, the actor's update metrics)
    "actor/entropy": "entropy", "critic/score/mean": "reward", "response_length/mean": "response_length",
    "response_length/clip_ratio": "truncation_rate", "actor/kl_loss": "kl", "actor/pg_clipfrac": "clip_ratio",
    "actor/grad_norm": "grad_norm", "actor/pg_loss": "loss", "actor/lr": "learning_rate",
    # our lab (real.lab.signals)
    "token_entropy": "entropy", "length_mean": "response_length", "truncation_rate": "truncation_rate",
    "kl_base": "kl", "clip_fraction": "clip_ratio",
}

_TRL_AXES = ("step", "epoch")
_MAX_STEP = 2**62


def normalise_metric(name: str, aliases: dict | None = None) -> str:
    """The normalised name of a metric: ``aliases`` (default :data:`ALIASES`) of ``name``, else ``name`` itself."""
    return (ALIASES if aliases is None else aliases).get(name, name)


# ------------------------------------------------------------------------------------------ result
@dataclass
class TrainingLogs:
    """Training metrics as tidy rows plus the import report.

    Attributes:
      rows: one dict per accepted value: ``run`` (str), ``step`` (int), ``metric`` (normalised name), ``raw_metric``
        (the tool's name), ``value`` (float), ``format``, ``file``, ``line``; ordered by run (first appearance),
        step, metric.
      report: the ``real.logs.schema.ImportReport`` (rows_read == rows_accepted + rejected).
    """

    rows: list = field(default_factory=list)
    report: ImportReport = field(default_factory=ImportReport)

    @property
    def runs(self) -> list:
        """Run names in first-appearance order."""
        return list(dict.fromkeys(r["run"] for r in self.rows))

    def metrics(self, run=None) -> list:
        """Normalised metric names (sorted) of one run, or of all runs."""
        return sorted({r["metric"] for r in self.rows if run is None or r["run"] == run})

    def select(self, run) -> TrainingLogs:
        """The rows of one run (the same report)."""
        if run not in self.runs:
            raise ValueError(f"run: {run!r} is not in the training logs (runs: {', '.join(map(repr, self.runs))})")
        return TrainingLogs([r for r in self.rows if r["run"] == run], self.report)

    def table(self):
        """The tidy rows as a ``pyarrow.Table`` (run, step, metric, raw_metric, value, format, file, line)."""
        import pyarrow as pa

        cols = {"run": pa.string(), "step": pa.int64(), "metric": pa.string(), "raw_metric": pa.string(), "value": pa.float64(),
                "format": pa.string(), "file": pa.string(), "line": pa.int64()}
        return pa.table({k: pa.array([r[k] for r in self.rows], t) for k, t in cols.items()})

    def wide(self, run=None) -> list[dict]:
        """One dict per (run, step): ``run``, ``step`` and every normalised metric logged there (the shape of the
        lab's ``signals.parquet`` rows, which ``real.logs.report.timeline_figure`` and
        ``real.logs.event_study.signal_windows`` read); ordered by run, then step."""
        out: dict = {}
        for r in self.rows:
            if run is None or r["run"] == run:
                out.setdefault((r["run"], r["step"]), {"run": r["run"], "step": r["step"]})[r["metric"]] = r["value"]
        return list(out.values())


# ------------------------------------------------------------------------------------------ detection
def _json_pairs(pairs):
    """object_pairs_hook: a dict, or RowError naming a repeated key."""
    out = {}
    for k, v in pairs:
        if k in out:
            raise RowError(f"duplicate field: {k!r} appears more than once")
        out[k] = v
    return out


def _loads(text: str):
    return json.loads(text, object_pairs_hook=_json_pairs)


def _head(path: Path, size: int = 1 << 16) -> str:
    with open(path, "rb") as f:
        return f.read(size).decode("utf-8", "replace")


def _first_object(path: Path) -> dict | None:
    """The first JSON line of a file that is an object (None when none of the first lines is)."""
    with open(path, "rb") as f:
        for i, raw in enumerate(f):
            if i > 1000:
                break
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
                continue
            if isinstance(obj, dict):
                return obj
    return None


_LOG_HISTORY = re.compile(r'"log_history"\s*:\s*\[')


def _fail(path: Path, seen) -> ValueError:
    need = "; ".join(f"{k}: {v}" for k, v in NEEDS.items())
    return ValueError(f"{path}: cannot tell the training-log format (fields seen: {sorted(map(str, seen))[:16]}); "
                      f"pass format= one of {', '.join(FORMATS[1:])}. Each needs: {need}")


def detect_format(path) -> str:
    """The training-log format of one file (first rule that matches):

    1. a name containing ``tfevents`` -> "tensorboard";
    2. Parquet (``.parquet``/``.pq``): a ``_step`` column -> "wandb-history", a ``step`` column -> "signals";
    3. CSV (``.csv``): ``Step`` and a ``<run> - <metric>`` column -> "wandb-csv"; ``_step`` -> "wandb-history";
       ``step`` -> "signals";
    4. JSON: a ``"log_history": [`` array -> "trl"; the first JSON line an object with ``step`` and an object ``data``
       -> "verl", with ``_step`` -> "wandb-history", with ``step`` -> "signals"; a JSON array whose first object has
       ``_step`` -> "wandb-history"; pandas' default JSON (an object with a ``_step`` column object) -> "wandb-history".
    Otherwise ValueError naming the file, the fields seen, the formats and the fields each needs (:data:`NEEDS`).
    """
    path = Path(path)
    if "tfevents" in path.name:
        return "tensorboard"
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            names = set(pq.read_schema(path).names)
        except Exception as e:  # noqa: BLE001 - any reader error means "not Parquet"
            raise ValueError(f"{path}: not a readable Parquet file ({e})") from None
        if "_step" in names:
            return "wandb-history"
        if "step" in names:
            return "signals"
        raise _fail(path, names)
    if suffix == ".csv":
        import csv

        first = next((ln for ln in _head(path).splitlines() if ln.strip()), "")
        header = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first]), [])]
        if "Step" in header and any(" - " in h for h in header):
            return "wandb-csv"
        if "_step" in header:
            return "wandb-history"
        if "step" in header:
            return "signals"
        raise _fail(path, header)
    head = _head(path)
    if _LOG_HISTORY.search(head) or (suffix == ".json" and _LOG_HISTORY.search(path.read_bytes().decode("utf-8", "replace"))):
        return "trl"
    obj = _first_object(path)
    if obj is not None:
        if "step" in obj and isinstance(obj.get("data"), dict):
            return "verl"
        if "_step" in obj:
            return "wandb-history"
        if "step" in obj:
            return "signals"
    stripped = head.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            doc = json.loads(path.read_bytes())
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "_step" in doc[0]:
            return "wandb-history"
        if isinstance(doc, dict) and isinstance(doc.get("_step"), dict):
            return "wandb-history"
        if isinstance(doc, dict):
            raise _fail(path, doc)
        if isinstance(doc, list) and doc and isinstance(doc[0], dict):
            raise _fail(path, doc[0])
    raise _fail(path, obj or {})


def expand_training_paths(paths) -> list[tuple[Path, Path | None]]:
    """(file, TensorBoard log directory it was found in, or None) for a path or list of paths: a folder gives its
    TensorBoard event files, recursively, sorted; a file gives itself. FileNotFoundError for a missing path,
    ValueError for a folder without event files or no paths."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and "tfevents" in f.name)
            if not files:
                raise ValueError(f"{p}: folder holds no TensorBoard event files (events.out.tfevents.*); give other "
                                 "training logs (trainer_state.json, verl JSONL, W&B exports, signals.parquet) as files")
            out += [(f, p) for f in files]
        elif p.is_file():
            out.append((p, None))
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    if not out:
        raise ValueError("paths: no training-log files given")
    return out


# ------------------------------------------------------------------------------------------ reading
class _Sink:
    """Collects the rows of one import: values (tentatively accepted), rejections, null cells."""

    def __init__(self, report: ImportReport, aliases: dict):
        self.report, self.aliases = report, aliases
        self.rows: list = []
        self.nulls = 0
        self.non_scalar = 0

    def reject(self, file, line: int, reason: str) -> None:
        self.report.rows_read += 1
        self.report.reject(file, line, reason)

    def value(self, run: str, step: int, raw: str, v, fmt: str, file, line: int, *, text: bool = False) -> None:
        """One metric cell: accepted (a number), counted as not logged (null / empty), or rejected (anything else). The
        normalised name is the alias of ``raw``; a W&B chart's ``<metric>__MIN`` / ``__MAX`` keep their suffix on the
        alias of ``<metric>``."""
        if v is None or (text and isinstance(v, str) and not v.strip()):
            self.nulls += 1
            return
        self.report.rows_read += 1
        try:
            x = _number(v, raw, text)
        except RowError as e:
            self.report.reject(file, line, str(e))
            return
        name = self.aliases.get(raw)
        if name is None:
            m = _WANDB_STAT.fullmatch(raw) if fmt == "wandb-csv" else None
            name = self.aliases.get(m.group(1), m.group(1)) + f"__{m.group(2)}" if m else raw
        self.rows.append({"run": run, "step": step, "metric": name, "raw_metric": raw, "value": x,
                          "format": fmt, "file": str(file), "line": int(line)})

    def record(self, run: str, step, fields: dict, fmt: str, file, line: int, *, skip=(), text: bool = False,
               step_field: str = "step") -> None:
        """A record of metric cells at one step; a record whose step is invalid is one rejected row."""
        try:
            s = _step(step, step_field, text)
        except RowError as e:
            self.reject(file, line, str(e))
            return
        for k, v in fields.items():
            if k not in skip:
                self.value(run, s, str(k), v, fmt, file, line, text=text)


def _number(v, name: str, text: bool) -> float:
    if isinstance(v, str) and text:
        try:
            return float(v.strip())
        except ValueError:
            raise RowError(f"wrong type: metric {name!r} must be a number, got {v!r}") from None
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise RowError(f"wrong type: metric {name!r} must be a number, got {_short(v)}")
    try:
        return float(v)
    except OverflowError:
        raise RowError(f"wrong value: metric {name!r} is too large for a float, got {_short(v)}") from None


def _short(v) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


def _step(v, name: str, text: bool = False) -> int:
    """A step: an integer >= 0 (an integral float, or in CSV its text); RowError otherwise."""
    if v is None or (isinstance(v, str) and not v.strip()):
        raise RowError(f"missing field: {name}")
    x = v
    if isinstance(v, str) and text:
        try:
            x = float(v.strip())
        except ValueError:
            raise RowError(f"wrong type: {name} must be an integer, got {v!r}") from None
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise RowError(f"wrong type: {name} must be an integer, got {_short(v)}")
    if isinstance(x, (float, np.floating)) and not (math.isfinite(x) and float(x).is_integer()):
        raise RowError(f"wrong type: {name} must be an integer, got {_short(v)}")
    if x < 0:
        raise RowError(f"wrong value: {name} must be >= 0, got {_short(v)}")
    if x >= _MAX_STEP:
        raise RowError(f"wrong value: {name} must be below 2**62, got {_short(v)}")
    return int(x)


def _json_lines(path: Path, sink: _Sink):
    """(line number, object) per non-blank JSON line; bad UTF-8, bad JSON, repeated keys and non-objects rejected."""
    for no, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            sink.reject(path, no, f"invalid UTF-8: byte {raw[e.start]:#04x} at column {e.start + 1}")
            continue
        try:
            obj = _loads(text)
        except RowError as e:
            sink.reject(path, no, str(e))
            continue
        except json.JSONDecodeError as e:
            sink.reject(path, no, f"invalid JSON: {e.msg} at column {e.colno}")
            continue
        except (ValueError, RecursionError) as e:  # e.g. an integer beyond Python's 4300-digit limit
            sink.reject(path, no, f"invalid JSON: {e}")
            continue
        if not isinstance(obj, dict):
            sink.reject(path, no, f"not an object: got {type(obj).__name__}")
            continue
        yield no, obj


def _csv_records(path: Path, sink: _Sink):
    """(line, header -> text) per CSV record (``real.logs.formats.files.csv_rows``; its rejections carried over). A
    header naming a column twice makes every record a rejected row ("duplicate field")."""
    import csv

    from real.logs.formats.files import csv_rows

    first = next((ln for ln in _head(path).splitlines() if ln.strip()), "")
    header = [h.strip().lstrip("\ufeff") for h in next(csv.reader([first]), [])]
    twice = sorted({h for h in header if header.count(h) > 1})
    scratch = ImportReport(files=[str(path)])
    try:
        for line, row in csv_rows(path, scratch):
            if twice:
                sink.reject(path, line, f"duplicate field: column {twice[0]!r} appears more than once in the header")
            else:
                yield line, row
    except ValueError as e:  # the header line is not UTF-8
        sink.reject(path, 1, f"invalid UTF-8: {str(e).split(': ', 1)[-1]}")
    for r in scratch.rejected:
        sink.reject(r.file, r.line, r.reason)


def _parquet_rows(path: Path, sink: _Sink):
    import pyarrow.parquet as pq

    try:
        rows = pq.read_table(path).to_pylist()
    except Exception as e:  # noqa: BLE001 - any reader error means "not Parquet"
        sink.reject(path, 1, f"invalid Parquet: {e}")
        return
    yield from enumerate(rows, start=1)


def _json_document_records(path: Path, sink: _Sink):
    """(position, object) of a JSON array of objects, or of pandas' default JSON ``{column: {row: value}}``."""
    try:
        doc = _loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as e:
        sink.reject(path, 1, f"invalid UTF-8: byte at offset {e.start}")
        return
    except RowError as e:
        sink.reject(path, 1, str(e))
        return
    except json.JSONDecodeError as e:
        sink.reject(path, e.lineno, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}")
        return
    except (ValueError, RecursionError) as e:
        sink.reject(path, 1, f"invalid JSON: {e}")
        return
    if isinstance(doc, list):
        for i, obj in enumerate(doc, start=1):
            if isinstance(obj, dict):
                yield i, obj
            else:
                sink.reject(path, i, f"not an object: got {type(obj).__name__}")
    elif isinstance(doc, dict) and all(isinstance(v, dict) for v in doc.values()):
        index = list(dict.fromkeys(k for col in doc.values() for k in col))
        for i, key in enumerate(index, start=1):
            yield i, {c: col.get(key) for c, col in doc.items()}
    else:
        sink.reject(path, 1, "not an object: expected a JSON array of records or pandas' {column: {row: value}}")


def _read_trl(path: Path, run: str, sink: _Sink) -> None:
    """``trainer_state.json``: the ``log_history`` entries, decoded one by one (so a truncated file keeps its
    complete entries, and each entry knows the line it starts on)."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    m = _LOG_HISTORY.search(text)
    if m is None:
        try:
            doc = json.loads(text)
            reason = "missing field: log_history" if isinstance(doc, dict) else f"not an object: got {type(doc).__name__}"
            sink.reject(path, 1, reason)
        except json.JSONDecodeError as e:
            sink.reject(path, e.lineno, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}")
        except (ValueError, RecursionError) as e:
            sink.reject(path, 1, f"invalid JSON: {e}")
        return
    dec = json.JSONDecoder(object_pairs_hook=_json_pairs)
    pos, line, counted = m.end(), 1, 0
    surrogate = re.compile("[\udc80-\udcff]")
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            line += text.count("\n", counted, pos)
            sink.reject(path, line, "invalid JSON: log_history ends before its closing ']' (a truncated file?)")
            return
        if text[pos] == "]":
            return
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            obj, end = dec.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            sink.reject(path, e.lineno, f"invalid JSON: {e.msg} at line {e.lineno} column {e.colno}; the rest of log_history is unreadable")
            return
        except RowError as e:
            end = _skip_value(text, pos)
            if end is None:
                sink.reject(path, line, f"{e}; the rest of log_history is unreadable")
                return
            sink.reject(path, line, str(e))
            pos = end
            continue
        except (ValueError, RecursionError) as e:
            sink.reject(path, line, f"invalid JSON: {e}; the rest of log_history is unreadable")
            return
        bad = surrogate.search(text, pos, end)
        if bad:
            sink.reject(path, line, f"invalid UTF-8: byte {ord(bad.group()) - 0xDC00:#04x} in this entry")
        elif not isinstance(obj, dict):
            sink.reject(path, line, f"not an object: got {type(obj).__name__}")
        else:
            sink.record(run, obj.get("step"), obj, "trl", path, line, skip=_TRL_AXES)
        pos = end


def _skip_value(text: str, pos: int) -> int | None:
    """The end of the JSON value starting at ``pos`` (decoded without the duplicate check), None if unreadable."""
    try:
        return json.JSONDecoder().raw_decode(text, pos)[1]
    except (ValueError, RecursionError):
        return None


def _read_verl(path: Path, run: str, sink: _Sink) -> None:
    for no, obj in _json_lines(path, sink):
        data = obj.get("data")
        if "step" not in obj or "data" not in obj:
            sink.reject(path, no, "missing field: " + ", ".join(k for k in ("step", "data") if k not in obj))
        elif not isinstance(data, dict):
            sink.reject(path, no, f"wrong type: data must be an object, got {type(data).__name__}")
        else:
            sink.record(run, obj["step"], data, "verl", path, no)


def _wandb_skip(fields) -> tuple:
    return tuple(k for k in fields if str(k).startswith("_") or k == "")


def _read_wandb_history(path: Path, run: str, sink: _Sink) -> None:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        for no, row in _csv_records(path, sink):
            sink.record(run, row.get("_step"), row, "wandb-history", path, no, skip=_wandb_skip(row), text=True, step_field="_step")
        return
    if suffix in (".parquet", ".pq"):
        records = _parquet_rows(path, sink)
    else:
        first = _first_object(path)
        document = _head(path).lstrip().startswith("[") or first is None or isinstance(first.get("_step"), dict)
        records = _json_document_records(path, sink) if document else _json_lines(path, sink)
    for no, obj in records:
        sink.record(run, obj.get("_step"), obj, "wandb-history", path, no, skip=_wandb_skip(obj), step_field="_step")


_WANDB_STAT = re.compile(r"(.*)__(MIN|MAX)")


def _read_wandb_csv(path: Path, run: str | None, sink: _Sink) -> None:
    for no, row in _csv_records(path, sink):
        try:
            s = _step(row.get("Step"), "Step", True)
        except RowError as e:
            sink.reject(path, no, str(e))
            continue
        for col, v in row.items():
            if col == "Step":
                continue
            if " - " not in col:
                if v.strip():
                    sink.reject(path, no, f"wrong field: column {col!r} is not '<run> - <metric>'")
                continue
            run_name, metric = col.rsplit(" - ", 1)
            sink.value(run or run_name, s, metric, v, "wandb-csv", path, no, text=True)


def _read_signals(path: Path, run: str, sink: _Sink, forced: bool) -> None:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        records, text = _parquet_rows(path, sink), False
    elif suffix == ".csv":
        records, text = _csv_records(path, sink), True
    else:
        records, text = _json_lines(path, sink), False
    for no, obj in records:
        r = run
        if not forced and isinstance(obj.get("run"), (str, int)) and not isinstance(obj.get("run"), bool) and str(obj["run"]).strip():
            r = str(obj["run"])
        sink.record(r, obj.get("step"), obj, "signals", path, no, skip=("step", "run"), text=text)


_CRC = None


def _masked_crc(data: bytes) -> int:
    global _CRC
    if _CRC is None:
        from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

        _CRC = masked_crc32c
    return _CRC(data)


def _read_tensorboard(path: Path, run: str, sink: _Sink) -> None:
    """Scalars of one event file; each record's framing and CRCs checked, so damage is reported, not skipped."""
    from google.protobuf.message import DecodeError
    from tensorboard.compat.proto import event_pb2
    from tensorboard.util import tensor_util

    data = path.read_bytes()
    pos, rec, n = 0, 0, len(data)
    plugin_of: dict = {}  # tag -> plugin name (TF2 writers put the metadata on a tag's first summary only)
    while pos < n:
        rec += 1
        if n - pos < 16:
            sink.reject(path, rec, f"truncated record: {n - pos} bytes at offset {pos}, a record needs at least 16")
            return
        header = data[pos:pos + 8]
        length = struct.unpack("<Q", header)[0]
        if struct.unpack("<I", data[pos + 8:pos + 12])[0] != _masked_crc(header):
            sink.reject(path, rec, f"corrupt record: the length's CRC fails at offset {pos}; the rest of the file is unreadable")
            return
        if pos + 16 + length > n:
            sink.reject(path, rec, f"truncated record: {length} data bytes announced at offset {pos}, {max(n - pos - 16, 0)} present")
            return
        payload = data[pos + 12:pos + 12 + length]
        ok = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])[0] == _masked_crc(payload)
        pos += 16 + length
        if not ok:
            sink.reject(path, rec, f"corrupt record: the data's CRC fails (record at offset {pos - 16 - length})")
            continue
        try:
            event = event_pb2.Event.FromString(payload)
        except DecodeError as e:
            sink.reject(path, rec, f"invalid event: {e}")
            continue
        if not event.HasField("summary"):
            continue
        for v in event.summary.value:
            plugin = v.metadata.plugin_data.plugin_name or plugin_of.get(v.tag, "")
            if v.metadata.plugin_data.plugin_name:
                plugin_of[v.tag] = plugin
            kind = v.WhichOneof("value")
            if kind == "simple_value":
                x = float(v.simple_value)
            elif kind == "tensor" and plugin == "scalars":
                try:
                    arr = tensor_util.make_ndarray(v.tensor)
                except Exception as e:  # noqa: BLE001 - any decoding error of a damaged tensor is a rejected row
                    sink.reject(path, rec, f"wrong type: scalar {v.tag!r} has an unreadable tensor ({e})")
                    continue
                if arr.size != 1 or arr.dtype.kind not in "fiu":
                    sink.reject(path, rec, f"wrong type: scalar {v.tag!r} holds a {arr.dtype} tensor of shape {arr.shape}")
                    continue
                x = float(arr.reshape(()))
            else:
                sink.non_scalar += 1
                continue
            try:
                s = _step(int(event.step), "step")
            except RowError as e:
                sink.reject(path, rec, str(e))
                continue
            sink.value(run, s, v.tag, x, "tensorboard", path, rec)


def _default_run(path: Path, fmt: str, logdir: Path | None) -> str:
    if fmt == "tensorboard":
        if logdir is not None:
            rel = path.parent.relative_to(logdir)
            return logdir.resolve().name if str(rel) == "." else rel.as_posix()
        return path.resolve().parent.name
    if fmt == "trl" or (fmt == "signals" and path.stem.lower() == "signals"):
        folder = path.resolve().parent
        if fmt == "trl" and math.isfinite(checkpoint_step(folder.name)) and not folder.name.isdigit():
            folder = folder.parent  # checkpoint-500/trainer_state.json: the run is the folder above
        return folder.name
    return path.stem


def read_training_logs(paths, *, format: str = "auto", run: str | None = None, aliases: dict | None = None) -> TrainingLogs:
    """Read training-metric logs (formats and rules: the module docstring) into tidy rows plus an import report.

    Args:
      paths: a file or folder (a TensorBoard log directory), or a list of them; read in order.
      format: "auto" (per file, :func:`detect_format`) or one of tensorboard, trl, verl, wandb-history, wandb-csv,
        signals.
      run: the run name of every row (default: from each file, as the module docstring says).
      aliases: raw metric name -> normalised name (default :data:`ALIASES`; ``{}`` keeps the raw names).
    Returns :class:`TrainingLogs`; ``report.rows_read == report.rows_accepted + report.n_rejected``. Raises ValueError
    (unknown format, a file whose format cannot be told: the message lists the formats and the fields each needs;
    every file empty), FileNotFoundError; a file with no accepted row is not an error (the report says why).
    """
    if format not in FORMATS:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)}, got {format!r}")
    if run is not None and (not isinstance(run, str) or not run.strip()):
        raise ValueError(f"run: must be a non-empty string, got {run!r}")
    aliases = ALIASES if aliases is None else dict(aliases)
    files = expand_training_paths(paths)
    report = ImportReport(files=[str(f) for f, _ in files])
    sink = _Sink(report, aliases)
    kinds = []
    for f, logdir in files:
        size = f.stat().st_size
        if size == 0 or (size < 1 << 20 and not f.read_bytes().strip()):
            report.empty_files.append(str(f))
            report.notes.append(f"{f}: empty file (no data rows)")
            continue
        fmt = "tensorboard" if logdir is not None else (detect_format(f) if format == "auto" else format)
        kinds.append((f, logdir, fmt))
    if not kinds:
        raise ValueError(f"no data: every training-log file is empty ({', '.join(str(f) for f, _ in files)})")
    used = {}
    for f, logdir, fmt in kinds:
        r = run or _default_run(f, fmt, logdir)
        used.setdefault(fmt, []).append(f.name)
        if fmt == "tensorboard":
            _read_tensorboard(f, r, sink)
        elif fmt == "trl":
            _read_trl(f, r, sink)
        elif fmt == "verl":
            _read_verl(f, r, sink)
        elif fmt == "wandb-history":
            _read_wandb_history(f, r, sink)
        elif fmt == "wandb-csv":
            _read_wandb_csv(f, run, sink)
        else:
            _read_signals(f, r, sink, run is not None)
    rows = _resolve_duplicates(sink)
    report.rows_accepted += len(rows)
    report.notes.append("formats: " + "; ".join(f"{k}: {', '.join(v[:5])}{' ...' if len(v) > 5 else ''}" for k, v in used.items()))
    if sink.nulls:
        report.notes.append(f"{sink.nulls} null or empty metric cell(s): not logged at that step, not rows")
    if sink.non_scalar:
        report.notes.append(f"{sink.non_scalar} non-scalar TensorBoard summaries (histograms, images, text, ...): not rows")
    renamed = sorted({(r["raw_metric"], r["metric"]) for r in rows if r["raw_metric"] != r["metric"]})
    if renamed:
        report.notes.append("metric names normalised: " + ", ".join(f"{a} -> {b}" for a, b in renamed[:40])
                            + (" ..." if len(renamed) > 40 else ""))
    report.sort()
    if report.rows_read != report.rows_accepted + report.n_rejected:  # pragma: no cover - an accounting bug
        raise RuntimeError(f"training-log import does not add up: {report.rows_read} read != {report.rows_accepted} accepted "
                           f"+ {report.n_rejected} rejected")
    return TrainingLogs(rows, report)


def _resolve_duplicates(sink: _Sink) -> list:
    """The last value of each (run, step, metric) wins; the earlier ones are rejected naming the later one."""
    last: dict = {}
    for i, r in enumerate(sink.rows):
        last[(r["run"], r["step"], r["metric"])] = i
    keep = []
    for i, r in enumerate(sink.rows):
        j = last[(r["run"], r["step"], r["metric"])]
        if j == i:
            keep.append(r)
        else:
            w = sink.rows[j]
            sink.report.reject(r["file"], r["line"], f"duplicate key: (run {r['run']!r}, step {r['step']}, metric {r['metric']!r}) "
                                                     f"logged again at {w['file']}:{w['line']}; the later value wins")
    runs = {r: i for i, r in enumerate(dict.fromkeys(r["run"] for r in keep))}
    keep.sort(key=lambda r: (runs[r["run"]], r["step"], r["metric"]))
    return keep
