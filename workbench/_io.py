"""Small I/O helpers shared by the package: outputs appear only once complete, never clobber.

The rules every command follows for its outputs (checked before any work starts, and again when
the output is published):

- an output is written to a hidden temporary ``.NAME.partial-*`` beside it and renamed into place
  only once complete; the temporary is removed whatever fails, including SIGINT and SIGTERM
  (see :mod:`workbench._signals`), and one left by a killed process is removed by the next run;
- an existing output is replaced only with ``overwrite`` (``--overwrite``); a folder is never
  replaced by a file nor a file by a folder, and a folder is replaced only when it holds the
  marker of what is being written (a world's ``world.json``) or is empty;
- an output may never be one of the command's inputs (same path, or same file through a link)
  nor lie inside an input folder.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from workbench._signals import deferred, raise_if_received
from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    import pandas as pd

TABLE_FORMATS: dict[str, str] = {".csv": "csv", ".csv.gz": "csv.gz", ".parquet": "parquet"}
"""Output table formats by file extension (case-insensitive)."""

_API_FLAG = "overwrite=True"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path: Path, directory: bool) -> None:
    """Give a temporary file or folder the permissions a normally created one would have.

    ``mkstemp``/``mkdtemp`` create private (0600/0700) entries; outputs are meant to be shared.
    """
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


# ---------------------------------------------------------------------------- partial outputs


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


def _partial_prefix(out: Path) -> str:
    """``.NAME.partial-PID@HOST-``: whose temporary it is, so a dead writer's can be removed."""
    return f".{out.name}.partial-{os.getpid()}@{_host()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_partials(out: str | os.PathLike[str]) -> list[Path]:
    """Remove temporaries of ``out`` left by writers that no longer run (killed with SIGKILL).

    Only temporaries named by this module for a process of this host are considered, and only
    when that process is gone; anything else is left alone.

    Returns
    -------
    list of Path
        The temporaries removed.
    """
    out = Path(out)
    if not out.parent.is_dir():
        return []
    pattern = re.compile(re.escape(f".{out.name}.partial-") + r"(\d+)@([A-Za-z0-9._-]+?)-[^-]+$")
    host = _host()
    removed = []
    for p in out.parent.iterdir():
        m = pattern.match(p.name)
        if not m or m.group(2) != host or _alive(int(m.group(1))):
            continue
        with deferred():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        removed.append(p)
    return removed


# ------------------------------------------------------------------------------ output checks


def _check_parent(out: Path) -> None:
    """The folder of ``out`` exists or can be created, and can be written."""
    anc = out.parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise WorkbenchError(f"{anc}: is a file, so {out} cannot be created")
    if not os.access(anc, os.W_OK | os.X_OK):
        raise WorkbenchError(f"{anc}: no permission to write there, so {out} cannot be created")


def check_output_file(
    out: str | os.PathLike[str], *, overwrite: bool = False, flag: str = _API_FLAG
) -> Path:
    """Check that a file can be written at ``out`` under the output rules (module docstring).

    Parameters
    ----------
    out : path
        The output file.
    overwrite : bool, default False
        Whether an existing file may be replaced.
    flag : str, default "overwrite=True"
        How the caller spells ``overwrite`` in messages (the command line: ``--overwrite``).

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    WorkbenchError
        ``out`` is a folder, exists without ``overwrite``, or its folder cannot be written.
    """
    out = Path(out)
    if out.is_dir():
        raise WorkbenchError(f"{out}: is a folder; the output is a file, give a file name")
    if out.exists() or out.is_symlink():
        if not overwrite:
            raise WorkbenchError(f"{out}: already exists (use {flag} to replace it)")
    _check_parent(out)
    return out


def check_output_dir(
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    marker: str | None = None,
    kind: str = "folder",
    flag: str = _API_FLAG,
) -> Path:
    """Check that a folder can be created at ``out`` under the output rules (module docstring).

    Parameters
    ----------
    out : path
        The output folder.
    overwrite : bool, default False
        Whether an existing non-empty folder may be replaced.
    marker : str, optional
        A file that marks a folder as a previous output of the same kind (``"world.json"``);
        with ``overwrite``, a non-empty folder without it is still refused (its files are the
        user's, not ours to delete).
    kind : str, default "folder"
        What a folder holding ``marker`` is called in messages (``"world"``).
    flag : str, default "overwrite=True"
        How the caller spells ``overwrite`` in messages.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    WorkbenchError
        ``out`` is a file, a non-empty folder without ``overwrite``, a folder without
        ``marker``, or cannot be created.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"{out}: is a file; the output is a folder, give a folder name")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise WorkbenchError(
                f"{out}: already exists and is not empty (use {flag} to replace it)"
            )
        if marker is not None and not (out / marker).is_file():
            raise WorkbenchError(
                f"{out}: holds files but no {marker}, so it is not a {kind}; {flag} replaces "
                f"only a {kind} and keeps these files (choose another folder)"
            )
    _check_parent(out)
    return out


def check_not_input(
    out: str | os.PathLike[str],
    inputs: Mapping[str, str | os.PathLike[str] | None],
    *,
    replaces_folder: bool = False,
) -> Path:
    """Refuse an output that is one of the inputs or lies inside an input folder.

    Parameters
    ----------
    out : path
        The output (file or folder).
    inputs : mapping
        ``{name shown in messages (e.g. "--world"): path}``; ``None`` paths are ignored. An
        input that is a folder (a world) may not contain the output.
    replaces_folder : bool, default False
        ``out`` is a folder that may be replaced as a whole: no input may lie inside it.

    Returns
    -------
    Path
        ``out``.

    Raises
    ------
    WorkbenchError
        When writing ``out`` would change an input.
    """
    out = Path(out)
    target = out.resolve()
    for name, given in inputs.items():
        if given is None:
            continue
        src = Path(given)
        resolved = src.resolve()
        same = target == resolved
        if not same and out.exists() and src.exists():
            with contextlib.suppress(OSError):
                same = os.path.samefile(out, src)
        if same:
            what = "is the input" if target == resolved else f"is the same file as {src}, the input"
            raise WorkbenchError(f"{out}: {what} given to {name}; refusing to overwrite it")
        if src.is_dir() and target.is_relative_to(resolved):
            raise WorkbenchError(
                f"{out}: lies inside the input folder {src} ({name}); write outputs elsewhere"
            )
        if replaces_folder and resolved.is_relative_to(target):
            raise WorkbenchError(f"{out}: holds the input {src} ({name}); it cannot be replaced")
    return out


def table_format(out: str | os.PathLike[str]) -> str:
    """The format of an output table from its extension: ``csv``, ``csv.gz`` or ``parquet``.

    Raises
    ------
    WorkbenchError
        For any other extension (nothing is written in a format its name does not say).
    """
    name = Path(out).name.lower()
    for ext in sorted(TABLE_FORMATS, key=len, reverse=True):
        if name.endswith(ext) and len(name) > len(ext):
            return TABLE_FORMATS[ext]
    exts = list(TABLE_FORMATS)
    raise WorkbenchError(f"{out}: the output must end in {', '.join(exts[:-1])} or {exts[-1]}")


def write_table(
    table: pd.DataFrame,
    out: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    flag: str = _API_FLAG,
    float_format: str | None = None,
) -> Path:
    """Write a table as CSV, gzipped CSV or Parquet (by extension), atomically.

    Parameters
    ----------
    table : DataFrame
        Written without its index.
    out : path
        ``.csv``, ``.csv.gz`` or ``.parquet`` (:func:`table_format`).
    overwrite : bool, default False
        Replace an existing file.
    flag : str
        How the caller spells ``overwrite`` in messages.
    float_format : str, optional
        ``printf`` format of floats in CSV (e.g. ``"%.10g"``).

    Returns
    -------
    Path
        ``out``. Gzipped CSV carries no time stamp, so the same table gives the same bytes.
    """
    fmt = table_format(out)
    out = check_output_file(out, overwrite=overwrite, flag=flag)
    with atomic_file(out, overwrite=overwrite, flag=flag) as tmp:
        if fmt == "parquet":
            table.to_parquet(tmp, index=False)
        elif fmt == "csv":
            table.to_csv(tmp, index=False, lineterminator="\n", float_format=float_format)
        else:  # gzip with no file name nor time in its header: same table, same bytes
            with (
                open(tmp, "wb") as raw,
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz,
                io.TextIOWrapper(gz, encoding="utf-8", newline="") as text,
            ):
                table.to_csv(text, index=False, lineterminator="\n", float_format=float_format)
    return out


# ---------------------------------------------------------------------------- atomic outputs


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _discard(path: Path | None) -> None:
    """Remove a temporary, even when a second signal lands as the removal starts."""
    if path is None:
        return
    try:
        with deferred():
            _remove(path)
    finally:
        if path.exists() or path.is_symlink():
            _remove(path)


@contextlib.contextmanager
def _staged(out: Path, *, directory: bool) -> Iterator[Path]:
    """Yield a fresh temporary folder or file beside ``out``, removed if the block raises.

    The block fills the temporary and publishes it as ``out``; stale temporaries of earlier
    killed runs are removed first. Creating the temporary is shielded from signals, so that an
    interruption cannot leave one behind unrecorded.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    tmp: Path | None = None
    try:
        with deferred():
            if directory:
                tmp = Path(tempfile.mkdtemp(prefix=_partial_prefix(out), dir=out.parent))
            else:
                fd, name = tempfile.mkstemp(prefix=_partial_prefix(out), dir=out.parent)
                os.close(fd)
                tmp = Path(name)
        assert tmp is not None
        yield tmp
    except BaseException:
        _discard(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(
    out: str | os.PathLike[str],
    overwrite: bool = False,
    *,
    marker: str | None = None,
    kind: str = "folder",
    flag: str = _API_FLAG,
) -> Iterator[Path]:
    """Yield a temporary folder beside ``out`` that becomes ``out`` only on success.

    Parameters
    ----------
    out : path
        The folder to create.
    overwrite : bool, default False
        Replace an existing ``out``; otherwise an existing non-empty ``out`` is an error.
    marker : str, optional
        With ``overwrite``, replace only a folder holding this file (or an empty one); see
        :func:`check_output_dir`.
    kind : str, default "folder"
        What a folder holding ``marker`` is called in messages.
    flag : str, default "overwrite=True"
        How the caller spells ``overwrite`` in messages.

    Yields
    ------
    Path
        The temporary folder to fill. On an exception (or a signal, see
        :mod:`workbench._signals`) it is removed and ``out`` is untouched.
    """
    out = check_output_dir(out, overwrite=overwrite, marker=marker, kind=kind, flag=flag)
    with _staged(out, directory=True) as tmp:
        yield tmp
        with deferred():
            raise_if_received()
            check_output_dir(out, overwrite=overwrite, marker=marker, kind=kind, flag=flag)
            _publish_mode(tmp, directory=True)
            if out.is_dir() and any(out.iterdir()):
                # aside under a temporary's name: removed by the next run if this one is killed
                old = Path(tempfile.mkdtemp(prefix=_partial_prefix(out), dir=out.parent))
                out.rename(old)
                try:
                    tmp.rename(out)
                except BaseException:
                    old.rename(out)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                tmp.rename(out)  # replaces an empty folder, fails on anything else


@contextlib.contextmanager
def atomic_file(
    out: str | os.PathLike[str],
    *,
    overwrite: bool = True,
    flag: str = _API_FLAG,
    even_if_interrupted: bool = False,
) -> Iterator[Path]:
    """Yield a temporary path beside ``out`` that becomes ``out`` only on success.

    Parameters
    ----------
    out : path
        The file to write.
    overwrite : bool, default True
        Replace an existing ``out`` (the package's own files, such as a manifest being
        updated). With False an existing ``out`` is an error, checked on entry and again, without
        a race, when the file is published.
    flag : str, default "overwrite=True"
        How the caller spells ``overwrite`` in messages.
    even_if_interrupted : bool, default False
        Publish even after SIGINT/SIGTERM was received (a record of the interruption, such as a
        report's manifest); results are not (:func:`workbench._signals.raise_if_received`).

    Yields
    ------
    Path
        The temporary file to fill. On an exception (or a signal) it is removed and ``out`` is
        untouched.
    """
    out = check_output_file(out, overwrite=overwrite, flag=flag)
    with _staged(out, directory=False) as tmp:
        yield tmp
        with deferred():
            if not even_if_interrupted:
                raise_if_received()
            if not tmp.exists():  # the writer removed or moved it: nothing to publish
                return
            _publish_mode(tmp, directory=False)
            if out.is_dir():
                check_output_file(out, overwrite=overwrite, flag=flag)
            if overwrite:
                os.replace(tmp, out)
            else:
                _publish_new(tmp, out, flag)


def _publish_new(tmp: Path, out: Path, flag: str) -> None:
    """Rename ``tmp`` to ``out`` unless ``out`` exists (a hard link makes the check atomic)."""
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise WorkbenchError(f"{out}: already exists (use {flag} to replace it)") from None
    except OSError:  # no hard links on this file system
        if out.exists() or out.is_symlink():
            raise WorkbenchError(f"{out}: already exists (use {flag} to replace it)") from None
        os.replace(tmp, out)
        return
    tmp.unlink()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def tree_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 over a file, or over every file of a folder (relative names and bytes)."""
    path = Path(path)
    if path.is_file():
        return file_sha256(path)
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(f.relative_to(path).as_posix().encode())
        h.update(bytes.fromhex(file_sha256(f)))
    return h.hexdigest()
