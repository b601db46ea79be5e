"""Atomic outputs: whole or absent, usual file mode, no temporary files left, old content kept on failure."""

import json

import numpy as np
import pytest

from common.atomic import atomic_dir, atomic_path, atomic_write_json, atomic_write_text


def test_atomic_write_leaves_no_temp_files(tmp_path):
    target = tmp_path / "sub" / "x.json"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, like any plain output file


def test_json_and_foreign_writers(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"x": [1, 2]})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": [1, 2]}
    with atomic_path(tmp_path / "a.npz") as tmp:  # a writer that takes a file name
        with open(tmp, "wb") as f:
            np.savez(f, y=np.arange(3))
    with np.load(tmp_path / "a.npz") as d:
        assert d["y"].tolist() == [0, 1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npz"]


def test_a_failing_writer_keeps_the_old_file_and_folder(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        open(tmp, "w").write("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["keep.txt"]

    folder = tmp_path / "ckpt"
    atomic_dir(folder, lambda d: (d / "w.bin").write_bytes(b"1"))

    def broken(d):
        (d / "w.bin").write_bytes(b"2")
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_dir(folder, broken)
    assert (folder / "w.bin").read_bytes() == b"1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "keep.txt"]
