"""Where the project keeps its data and reports.

Notebooks and scripts never hard-code paths: they ask this module. The project root is found from
the ``WORKBENCH_HOME`` environment variable, else by walking up from the current directory to the
folder holding ``pyproject.toml`` and ``workbench/``, else the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the root folder of the workbench project."""
    env = os.environ.get("WORKBENCH_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file() and (d / "workbench").is_dir():
            return d
    # installed package used from an editable checkout
    pkg_root = Path(__file__).resolve().parent.parent
    if (pkg_root / "pyproject.toml").is_file():
        return pkg_root
    return here


def datasets_dir() -> Path:
    """Folder of committed samples and generated data (``datasets/``)."""
    return project_root() / "datasets"


def sample_world() -> Path:
    """The committed sample world (``datasets/sample``): the ``tiny`` scenario, fixed seed."""
    return datasets_dir() / "sample"


def generated_dir() -> Path:
    """Where generated worlds are cached (``datasets/generated``, git-ignored)."""
    return datasets_dir() / "generated"


def reports_dir() -> Path:
    """Where report runs are written (``reports/``)."""
    return project_root() / "reports"


def notebooks_dir() -> Path:
    """The parameterized notebooks (``notebooks/``)."""
    return project_root() / "notebooks"


def world_dir(world: str | os.PathLike[str] = "") -> Path:
    """The world folder a notebook works on: ``world`` itself, or the sample world when empty.

    Raises
    ------
    WorkbenchError
        When the folder does not exist.
    """
    from workbench.errors import WorkbenchError

    path = Path(world) if str(world) else sample_world()
    if not path.is_dir():
        hint = " (run `make sample` to create it)" if not str(world) else ""
        raise WorkbenchError(f"{path}: no such world folder{hint}")
    return path
