"""Outputs appear only once complete, with ordinary permissions."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys

import pandas as pd
import pytest

from workbench._io import (
    _partial_prefix,
    atomic_dir,
    atomic_file,
    check_not_input,
    tree_sha256,
    write_table,
)
from workbench._signals import Interrupted, deferred, signals_raise
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


# ---------------------------------------------------------------- output rules (never clobber)


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


def test_atomic_file_without_overwrite_keeps_an_existing_file(tmp_path):
    out = tmp_path / "result.csv"
    out.write_bytes(b"precious")
    with pytest.raises(WorkbenchError, match="already exists"), atomic_file(out, overwrite=False):
        pass
    # the check at publication too: a file that appears while the output is written is kept
    new = tmp_path / "new.csv"
    with pytest.raises(WorkbenchError, match="already exists"):
        with atomic_file(new, overwrite=False, flag="--overwrite") as tmp:
            tmp.write_text("mine")
            new.write_text("theirs")
    assert out.read_bytes() == b"precious" and new.read_text() == "theirs"
    assert _leftovers(tmp_path) == []


def test_atomic_file_never_replaces_a_folder(tmp_path):
    out = tmp_path / "result.csv"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(WorkbenchError, match="is a folder"), atomic_file(out, overwrite=True):
        pass
    assert (out / "keep.txt").read_text() == "x" and _leftovers(tmp_path) == []


def test_atomic_dir_overwrites_only_a_marked_or_empty_folder(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "thesis.docx").write_bytes(b"years of work")
    match = r"no world\.json, so it is not a world; --overwrite"
    with pytest.raises(WorkbenchError, match=match):
        with atomic_dir(user, True, marker="world.json", kind="world", flag="--overwrite"):
            pass
    assert (user / "thesis.docx").read_bytes() == b"years of work"
    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text("{}")
    with atomic_dir(world, overwrite=True, marker="world.json") as tmp:
        (tmp / "world.json").write_text('{"new": 1}')
    assert (world / "world.json").read_text() == '{"new": 1}'
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty, marker="world.json") as tmp:
        (tmp / "a").write_text("a")
    assert (empty / "a").read_text() == "a"
    afile = tmp_path / "file"
    afile.write_text("f")
    with pytest.raises(WorkbenchError, match="is a file"), atomic_dir(afile, overwrite=True):
        pass
    assert afile.read_text() == "f" and _leftovers(tmp_path) == []


def test_check_not_input(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("a\n1\n")
    world = tmp_path / "w"
    world.mkdir()
    (world / "t.parquet").write_text("x")
    link = tmp_path / "hard.csv"
    os.link(src, link)
    sym = tmp_path / "sym.csv"
    sym.symlink_to(src)
    for out in (src, tmp_path / "." / "in.csv", sym):
        with pytest.raises(WorkbenchError, match="input given to --input"):
            check_not_input(out, {"--input": src})
    with pytest.raises(WorkbenchError, match=r"same file as .*in\.csv"):
        check_not_input(link, {"--input": src})
    with pytest.raises(WorkbenchError, match="is the input given to --world"):
        check_not_input(world, {"--world": world})
    for out in (world / "t.parquet", world / "new.csv", world / "sub" / "x.csv"):
        with pytest.raises(WorkbenchError, match=r"inside the input folder .* \(--world\)"):
            check_not_input(out, {"--world": world})
    with pytest.raises(WorkbenchError, match=r"holds the input"):
        check_not_input(tmp_path, {"--scenario": src}, replaces_folder=True)
    assert check_not_input(tmp_path / "out.csv", {"--input": src, "--world": world, "x": None})


@pytest.mark.parametrize("name", ["t.csv", "t.CSV", "t.csv.gz", "t.parquet"])
def test_write_table_formats_by_extension(tmp_path, name):
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1 / 3], "c": ["x", "y"]})
    out = write_table(df, tmp_path / name)
    back = pd.read_parquet(out) if name.endswith(".parquet") else pd.read_csv(out)
    pd.testing.assert_frame_equal(back, df)
    first = out.read_bytes()
    with pytest.raises(WorkbenchError, match="already exists"):
        write_table(df, out)
    write_table(df, out, overwrite=True)
    assert out.read_bytes() == first  # gzip without a time stamp: same bytes


@pytest.mark.parametrize("name", ["t.xlsx", "t.json", "t", ".csv", "t.csv.bz2", "t.parquet.gz"])
def test_write_table_refuses_other_extensions(tmp_path, name):
    with pytest.raises(WorkbenchError, match=r"must end in \.csv, \.csv\.gz or \.parquet"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_stale_partials_of_dead_writers_are_removed(tmp_path):
    out = tmp_path / "world"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = _partial_prefix(out).rsplit("@", 1)[1]
    stale = tmp_path / f".world.partial-{dead.pid}@{host}abcd1234"
    stale.mkdir()
    (stale / "part.parquet").write_text("x")
    alive = tmp_path / f".world.partial-{os.getpid()}@{host}efgh5678"
    alive.mkdir()
    elsewhere = tmp_path / f".world.partial-{dead.pid}@another-host-ijkl9012"
    elsewhere.mkdir()
    other = tmp_path / f".other.partial-{dead.pid}@{host}mnop3456"
    other.write_text("x")
    with atomic_dir(out) as tmp:
        (tmp / "a").write_text("a")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [alive.name, elsewhere.name, other.name, "world"]
    )


def test_no_output_is_published_after_a_signal(tmp_path):
    out = tmp_path / "result.csv"
    record = tmp_path / "manifest.json"
    # a graceful handler: the signal is noted but nothing raised, as when a sampler catches
    # KeyboardInterrupt and returns early; the result must still not appear
    with signals_raise(on_signal=lambda signum: True):
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(Interrupted) as info, atomic_file(out) as tmp:
            tmp.write_text("partial result")
        with atomic_file(record, even_if_interrupted=True) as tmp:
            tmp.write_text("interrupted")
    assert info.value.signum == signal.SIGTERM
    assert not out.exists() and record.read_text() == "interrupted"
    assert _leftovers(tmp_path) == []


def test_signals_wait_for_the_end_of_a_deferred_block(tmp_path):
    steps = []
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when pytest runs in a background job
    with pytest.raises(Interrupted), signals_raise():
        with deferred():
            os.kill(os.getpid(), signal.SIGINT)
            steps.append("still running")
        steps.append("not reached")
    assert steps == ["still running"]
    assert signal.getsignal(signal.SIGINT) is before
