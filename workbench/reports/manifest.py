"""What produced a report (package versions, git revision, input hashes); ``manifest.json``."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from workbench._io import atomic_file, tree_sha256

PACKAGES = (
    "workbench",
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "pymc",
    "pytensor",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "arviz-plots",
    "matplotlib",
    "duckdb",
    "pyarrow",
    "nutpie",
    "papermill",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupyter-client",
)
"""Distributions whose versions every manifest pins (``None`` when not installed)."""


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution, ``None`` when it is not installed."""
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _git(root: Path, *args: str) -> str | None:
    try:
        res = subprocess.run(
            ["git", "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() if res.returncode == 0 else None


def git_revision(root: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The project's git revision and whether the work tree has uncommitted changes.

    Parameters
    ----------
    root : path, optional
        Folder inside the repository; default the project root.

    Returns
    -------
    dict or None
        ``{"revision": sha, "short": short sha, "dirty": bool}``; ``None`` without git or
        outside a repository (or in a repository without commits).
    """
    if root is None:
        from workbench.paths import project_root

        root = project_root()
    root = Path(root)
    rev = _git(root, "rev-parse", "--verify", "HEAD")
    if not rev:
        return None
    status = _git(root, "status", "--porcelain")
    return {
        "revision": rev,
        "short": rev[:10],
        "dirty": bool(status) if status is not None else None,
    }


def environment() -> dict[str, Any]:
    """Python version, platform and package versions of the running interpreter."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "packages": package_versions(),
    }


def world_hashes(world: str | os.PathLike[str]) -> dict[str, Any]:
    """SHA-256 of a world folder as a whole and of each of its entries (tables, ``world.json``).

    Returns
    -------
    dict
        ``{"sha256": hash of the whole folder, "files": {entry name: hash}}``; a table stored as
        a folder of Parquet parts is hashed as one entry.
    """
    world = Path(world)
    files = {
        p.name: tree_sha256(p)
        for p in sorted(world.iterdir())
        if not p.name.startswith(".") and (p.is_file() or p.is_dir())
    }
    return {"sha256": tree_sha256(world), "files": files}


def write_manifest(manifest: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``manifest`` as indented, strict JSON, atomically (readers never see half a file).

    It is written even after SIGINT/SIGTERM: it is the record of what happened to the run.
    """
    path = Path(path)
    with atomic_file(path, even_if_interrupted=True) as tmp:
        tmp.write_text(
            json.dumps(manifest, indent=2, allow_nan=False, ensure_ascii=False, default=str) + "\n",
            encoding="utf-8",
        )
    return path
