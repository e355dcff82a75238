"""Outputs appear only once complete, with ordinary permissions."""

from __future__ import annotations

import os
import stat

import pytest

from workbench._io import atomic_dir, atomic_file, tree_sha256
from workbench.errors import WorkbenchError


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_file_replaces_only_on_success(tmp_path):
    out = tmp_path / "result.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_file(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert out.read_text() == "old" and list(tmp_path.iterdir()) == [out]
    with atomic_file(out) as tmp:
        tmp.write_text("new")
    assert out.read_text() == "new"
    assert _mode(out) == 0o666 & ~_umask()


def test_atomic_dir_refuses_to_overwrite_and_cleans_up(tmp_path):
    out = tmp_path / "world"
    with pytest.raises(ValueError), atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("x")
        raise ValueError("bad")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("x")
    assert (out / "a.txt").read_text() == "x" and _mode(out) == 0o777 & ~_umask()
    with pytest.raises(WorkbenchError, match="already exists"), atomic_dir(out):
        pass
    before = tree_sha256(out)
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("y")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"] and tree_sha256(out) != before
