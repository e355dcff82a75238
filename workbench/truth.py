"""The ground truth of a synthetic world, for evaluation code only: :func:`load_truth`.

A generated world keeps what a method may know apart from what only the simulator knows:

- ``world.json`` -- public: scenario name and description, seed, period (``start``, ``days``),
  sizes and the row counts of the analysis tables, generator version, the campaign calendar and
  the experiments' designs (arms, shares, windows). Every method may read it
  (:attr:`workbench.schema.World.meta`).
- ``truth_scenario.json`` -- ground truth: the scenario exactly as it was simulated, with the
  persona mix (``scenario.shares``), every persona's parameters (``scenario.personas``: arm
  responses, cadence tolerance, open, click and purchase rates, ...), the experiments' explicit
  true lifts (``lifts``) and the row counts of the ``truth_*`` tables.
- ``truth_subscribers``, ``truth_lifecycle``, ``truth_effects``, ``truth_responses``,
  ``truth_channels`` -- the truth tables of the contract (:mod:`workbench.schema`).

Only evaluation code reads the truth: scorecards, benchmarks, the teaching notebooks' "against the
truth" sections and the tests. They load it here, the one way in:
:func:`workbench.schema.load_world` refuses truth tables. ``tests/test_truth_wall.py`` fails when
any other module of the package mentions the truth, and checks that methods give identical results
with the truth deleted or poisoned.

A world without truth (real data, an import) loads as an empty :class:`Truth`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench._read import read_json_object
from workbench.db import read_checked
from workbench.errors import DataError, WorkbenchError
from workbench.schema import TRUTH_TABLES, load_world

#: File of a world that holds the scenario's truth (beside the ``truth_*`` tables).
TRUTH_FILE = "truth_scenario.json"
#: Keys of a recorded scenario that are ground truth (kept out of ``world.json``).
SCENARIO_TRUTH_KEYS: tuple[str, ...] = ("shares", "personas", "inbox")
#: Keys of a recorded experiment that are ground truth.
EXPERIMENT_TRUTH_KEYS: tuple[str, ...] = ("lifts",)
_TRUTH_PREFIX = "truth_"


def public_scenario(scenario: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded scenario without its truth: no persona mix, personas, inbox model or lifts.

    Parameters
    ----------
    scenario : mapping
        A scenario as :meth:`workbench.synth.Scenario.to_dict` records it.

    Returns
    -------
    dict
        Name, description, sizes, period, calendar and the experiments' designs.
    """
    out = {k: v for k, v in scenario.items() if k not in SCENARIO_TRUTH_KEYS}
    if isinstance(out.get("experiments"), list | tuple):
        out["experiments"] = [
            {k: v for k, v in e.items() if k not in EXPERIMENT_TRUTH_KEYS}
            if isinstance(e, Mapping)
            else e
            for e in out["experiments"]
        ]
    return out


def public_meta(meta: Mapping[str, Any]) -> dict[str, Any]:
    """``world.json`` contents with anything that is truth removed.

    A world written by generator 1.3 or later has nothing to remove; one written before carries
    its scenario's personas in ``world.json``, and :func:`workbench.schema.load_world` passes its
    ``meta`` through here so that no method receives them.

    Parameters
    ----------
    meta : mapping
        Parsed ``world.json``.

    Returns
    -------
    dict
        The same keys, without truth-table row counts, persona mix, personas or true lifts.
    """
    out = dict(meta)
    if isinstance(out.get("scenario"), Mapping):
        out["scenario"] = public_scenario(out["scenario"])
    if isinstance(out.get("rows"), Mapping):
        out["rows"] = {k: v for k, v in out["rows"].items() if not str(k).startswith(_TRUTH_PREFIX)}
    return out


@dataclass(frozen=True)
class Truth:
    """The ground truth of one world (evaluation code only).

    Attributes
    ----------
    path : Path
        The world folder.
    scenario : dict
        Contents of ``truth_scenario.json`` (empty when the world has none): ``scenario_name``,
        ``seed``, ``generator_version``, ``rows`` (of the truth tables) and ``scenario``, the
        scenario exactly as simulated (``shares``, ``personas`` with every parameter,
        experiments with their ``lifts``).
    tables : dict of str to DataFrame
        The ``truth_*`` tables loaded, validated against the contract.
    """

    path: Path
    scenario: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            have = ", ".join(self.tables) or "none"
            raise WorkbenchError(f"{self.path}: no truth table '{name}' (loaded: {have})")
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def get(self, name: str) -> pd.DataFrame | None:
        """The truth table ``name``, or ``None`` when the world lacks it (real data)."""
        return self.tables.get(name)

    @property
    def empty(self) -> bool:
        """True when the world has no truth at all (real data)."""
        return not self.tables and not self.scenario

    @property
    def personas(self) -> pd.Series:
        """True persona of each subscriber, indexed by ``subscriber_id`` (``truth_subscribers``)."""
        t = self["truth_subscribers"]
        return t.set_index("subscriber_id")["persona"].rename("persona")

    def persona_overview(self) -> pd.DataFrame:
        """The personas the world was generated from, in plain numbers.

        Returns
        -------
        DataFrame
            One row per persona with a share > 0: planned share, description, preferred weekday
            reading hour, cadence tolerance (emails a week before fatigue), human open rate,
            median order value and expected orders per 30 days. Empty without
            ``truth_scenario.json``.
        """
        sc = self.scenario.get("scenario") or {}
        personas = sc.get("personas") or {}
        shares = sc.get("shares") or {}
        total = sum(shares.values()) or 1.0
        rows = [
            {
                "persona": name,
                "share": shares.get(name, 0.0) / total,
                "description": p.get("description", ""),
                "weekday_hour": p.get("weekday_hour"),
                "cadence_tolerance": p.get("cadence_tolerance"),
                "open_rate": p.get("open_rate"),
                "median_order_value": p.get("order_value_median"),
                "orders_per_30_days": 30 * p["purchase_rate"] if "purchase_rate" in p else np.nan,
            }
            for name, p in personas.items()
            if shares.get(name, 0.0) > 0
        ]
        return pd.DataFrame(rows)


def _read_scenario(root: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    f = root / TRUTH_FILE
    data = read_json_object(f)
    for key in ("scenario_name", "seed"):
        if key in data and key in meta and data[key] != meta[key]:
            raise DataError(
                str(f), key, f"{data[key]!r} differs from world.json's {meta[key]!r}: "
                "the truth belongs to another world",
            )  # fmt: skip
    return data


def load_truth(path: str | Path, tables: Iterable[str] | None = None) -> Truth:
    """Load the ground truth of a world (evaluation code only).

    Parameters
    ----------
    path : path
        The world folder.
    tables : iterable of str, optional
        The truth tables to load (default: all of them). A table the world lacks is left out:
        ``name in truth`` tells, and ``truth[name]`` raises a clear error.

    Returns
    -------
    Truth
        ``truth_scenario.json`` and the truth tables, validated against the contract (and their
        subscriber ids against ``subscribers``). Empty for a world without truth.

    Raises
    ------
    WorkbenchError
        When ``path`` is not a world folder, a name is not a truth table, or
        ``truth_scenario.json`` is not valid JSON.
    DataError
        When a truth table breaks the contract, refers to unknown subscribers, or
        ``truth_scenario.json`` names another scenario or seed than ``world.json``.
    """
    root = Path(path)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such world folder")
    names = list(TRUTH_TABLES if tables is None else tables)
    for name in names:
        if name not in TRUTH_TABLES:
            known = ", ".join(TRUTH_TABLES)
            raise WorkbenchError(f"'{name}' is not a truth table; they are {known}")
    meta = load_world(root, tables=["subscribers"]).meta
    scenario = _read_scenario(root, meta)
    # the same checks as every analysis table (references to subscribers included)
    checked = read_checked(root, ["subscribers", *names])
    loaded = {n: checked[n] for n in names if n in checked}
    return Truth(root, scenario, loaded)
