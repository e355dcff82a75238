"""The notebook registry (``notebooks/registry.toml``) and report configuration files.

The registry is an ordered list of ``[[notebook]]`` tables; a notebook joins the report by being
registered, never by editing the runner::

    [[notebook]]
    file = "03-bayesian-testing.ipynb"      # relative to the registry file
    title = "Which message wins in each segment"
    [notebook.parameters]                   # optional defaults for this notebook
    draws = 1000

A notebook is named by its file stem (``03-bayesian-testing``): ``--only`` and the
``[notebooks."NAME"]`` tables of a config file use that name.

A report config file (TOML) fixes one run::

    scenario = "tiny"
    n_subscribers = 2000
    seed = 20261126
    [notebooks."03-bayesian-testing"]
    draws = 500
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError

DEFAULT_SCENARIO = "tiny"
DEFAULT_SEED = 20261126
_ENTRY_KEYS = {"file", "title", "parameters", "needs", "unless"}
_CONFIG_KEYS = {"scenario", "n_subscribers", "seed", "notebooks"}


@dataclass(frozen=True)
class NotebookEntry:
    """One registered notebook.

    Attributes
    ----------
    path : Path
        The notebook file (absolute).
    title : str
        Its section title in the HTML report.
    parameters : dict
        Default parameter values for this notebook (config overrides win).
    needs : tuple of str
        Analysis tables the notebook cannot do without: on a world lacking one, the report does
        not run it and says why (real exports often lack tables).
    unless : str or None
        A parameter that brings the notebook's data another way (a results file): when it is
        set, ``needs`` does not apply.
    """

    path: Path
    title: str
    parameters: dict[str, Any] = field(default_factory=dict)
    needs: tuple[str, ...] = ()
    unless: str | None = None

    @property
    def name(self) -> str:
        """The notebook's name: its file stem (``"03-bayesian-testing"``)."""
        return self.path.stem


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    if not path.is_file():
        raise WorkbenchError(f"{path}: {what} not found")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{path}: invalid TOML: {exc}") from None


def load_registry(path: str | os.PathLike[str] | None = None) -> list[NotebookEntry]:
    """Read the ordered list of registered notebooks.

    Parameters
    ----------
    path : path, optional
        The registry file; default ``notebooks/registry.toml`` of the project.

    Returns
    -------
    list of NotebookEntry
        In report order.

    Raises
    ------
    WorkbenchError
        Naming the registry file and the entry, when the file is missing or not TOML, an entry
        lacks ``file`` or ``title``, has an unknown key, names a notebook file that does not
        exist, or two entries share a name.
    """
    from workbench.schema import ANALYSIS_TABLES

    if path is None:
        from workbench.paths import notebooks_dir

        path = notebooks_dir() / "registry.toml"
    path = Path(path)
    data = _read_toml(path, "notebook registry")
    extra = set(data) - {"notebook"}
    if extra:
        raise WorkbenchError(f"{path}: unknown key '{sorted(extra)[0]}' (expected [[notebook]])")
    raw = data.get("notebook", [])
    if not isinstance(raw, list):
        raise WorkbenchError(f"{path}: 'notebook' must be an array of tables ([[notebook]])")
    entries: list[NotebookEntry] = []
    seen: set[str] = set()
    for i, item in enumerate(raw, start=1):
        where = f"{path}: notebook #{i}"
        unknown = set(item) - _ENTRY_KEYS
        if unknown:
            raise WorkbenchError(
                f"{where}: unknown key '{sorted(unknown)[0]}' "
                "(allowed: file, title, parameters, needs, unless)"
            )
        for key in ("file", "title"):
            if not isinstance(item.get(key), str) or not item[key].strip():
                raise WorkbenchError(f"{where}: missing '{key}' (a non-empty string)")
        nb = (path.parent / item["file"]).resolve()
        if nb.suffix != ".ipynb":
            raise WorkbenchError(f"{where}: file '{item['file']}' is not a .ipynb notebook")
        if not nb.is_file():
            raise WorkbenchError(f"{where}: notebook file '{item['file']}' not found ({nb})")
        params = item.get("parameters", {})
        if not isinstance(params, dict):
            raise WorkbenchError(f"{where}: 'parameters' must be a table")
        needs = item.get("needs", [])
        if not isinstance(needs, list) or any(t not in ANALYSIS_TABLES for t in needs):
            raise WorkbenchError(
                f"{where}: 'needs' must list analysis tables ({', '.join(ANALYSIS_TABLES)})"
            )
        unless = item.get("unless")
        if unless is not None and not isinstance(unless, str):
            raise WorkbenchError(f"{where}: 'unless' must be a parameter name")
        entry = NotebookEntry(nb, item["title"].strip(), dict(params), tuple(needs), unless)
        if entry.name in seen:
            raise WorkbenchError(f"{where}: a notebook named '{entry.name}' is already registered")
        seen.add(entry.name)
        entries.append(entry)
    return entries


def select(entries: Sequence[NotebookEntry], only: Sequence[str] | None) -> list[NotebookEntry]:
    """The registered notebooks named in ``only`` (all when ``None``), in registry order.

    Names may be given with or without the ``.ipynb`` suffix. An unknown name is an error that
    lists the registered names.
    """
    if not only:
        return list(entries)
    wanted = {Path(n).stem if n.endswith(".ipynb") else n for n in only}
    known = {e.name for e in entries}
    unknown = sorted(wanted - known)
    if unknown:
        raise WorkbenchError(
            f"--only: no registered notebook '{unknown[0]}' "
            f"(registered: {', '.join(sorted(known)) or 'none'})"
        )
    return [e for e in entries if e.name in wanted]


@dataclass(frozen=True)
class ReportConfig:
    """Parameters of one report run.

    Attributes
    ----------
    scenario : str
        Scenario of the generated world (``"tiny"``, ``"default"``, ``"large"`` or a TOML file).
    n_subscribers : int or None
        Subscribers to generate; ``None`` takes the scenario's own count.
    seed : int
        Seed of world generation, passed to every notebook that declares ``seed``.
    notebooks : dict
        Per-notebook parameter overrides, ``{notebook name: {parameter: value}}``.
    """

    scenario: str = DEFAULT_SCENARIO
    n_subscribers: int | None = None
    seed: int = DEFAULT_SEED
    notebooks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (for the manifest and the run id)."""
        return {
            "scenario": self.scenario,
            "n_subscribers": self.n_subscribers,
            "seed": self.seed,
            "notebooks": {k: dict(v) for k, v in sorted(self.notebooks.items())},
        }


def load_config(path: str | os.PathLike[str]) -> ReportConfig:
    """Read a report config file (TOML, see the module docstring).

    Raises
    ------
    WorkbenchError
        Naming the file and key when the file is missing, not TOML, has an unknown key or a
        value of the wrong type.
    """
    path = Path(path)
    data = _read_toml(path, "report config")
    unknown = set(data) - _CONFIG_KEYS
    if unknown:
        raise WorkbenchError(
            f"{path}: unknown key '{sorted(unknown)[0]}' "
            f"(allowed: {', '.join(sorted(_CONFIG_KEYS))})"
        )
    scenario = data.get("scenario", DEFAULT_SCENARIO)
    if not isinstance(scenario, str) or not scenario:
        raise WorkbenchError(f"{path}: 'scenario' must be a non-empty string")
    n = data.get("n_subscribers")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise WorkbenchError(f"{path}: 'n_subscribers' must be a positive integer, got {n!r}")
    seed = data.get("seed", DEFAULT_SEED)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**32 - 1:
        raise WorkbenchError(f"{path}: 'seed' must be an integer from 0 to 2**32-1, got {seed!r}")
    nbs = data.get("notebooks", {})
    if not isinstance(nbs, dict) or not all(isinstance(v, dict) for v in nbs.values()):
        raise WorkbenchError(f"{path}: 'notebooks' must hold tables [notebooks.\"NAME\"]")
    return ReportConfig(scenario, n, seed, {k: dict(v) for k, v in nbs.items()})
