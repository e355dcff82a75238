"""The attribution notebook's steps, each one call: inputs, model list, per-segment summary.

The truth (``truth_channels``) is not among the inputs: the notebook's scorecard section loads it
with :func:`workbench.attribution.scorecard.load_channel_truth` from
:attr:`AttributionInputs.world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from workbench.attribution.incrementality import world_incrementality
from workbench.attribution.journeys import (
    Journeys,
    aggregate_paths,
    journeys_from_world,
    read_paths,
)
from workbench.attribution.options import MODELS, model_and_order
from workbench.errors import WorkbenchError

#: The tables a channel holdout analysis needs besides the journeys' (real data may lack them).
HOLDOUT_TABLES = ("experiments", "assignments")


@dataclass
class AttributionInputs:
    """What the attribution notebook works on.

    Attributes
    ----------
    data : DataFrame or Journeys
        Journeys built from a world, or a paths table.
    paths : DataFrame
        The paths table (ChannelAttribution layout, ``segment`` first when segmented).
    by : str or None
        The segment column to pass to :func:`~workbench.attribution.attribute` (``None``: none).
    world : Path or None
        The world folder the journeys come from (``None`` for a paths file).
    holdouts : DataFrame
        :func:`~workbench.attribution.world_incrementality` of the world's channel holdouts: what
        each held-out channel caused (empty for a paths file or a world without holdouts).
    source : str
        Where the data came from, in words.
    """

    data: pd.DataFrame | Journeys
    paths: pd.DataFrame
    by: str | None
    world: Path | None
    holdouts: pd.DataFrame
    source: str

    @cached_property
    def overall(self) -> pd.DataFrame:
        """The paths with the segments summed: one row per distinct path."""
        return aggregate_paths(self.paths)

    @property
    def n_journeys(self) -> int:
        """Journeys analysed, converting and not."""
        return int(self.overall["total_conversions"].sum() + self.overall["total_null"].sum())

    def summary(self) -> str:
        """One line: the source, its journeys, conversions and distinct paths."""
        o = self.overall
        n = o["total_conversions"].sum() + o["total_null"].sum()
        return (
            f"{self.source}: {n:,.0f} journeys, {o['total_conversions'].sum():,.0f} "
            f"conversions, {len(o):,} distinct paths"
        )


def load_inputs(
    world: str | Path = "",
    paths_file: str | Path = "",
    *,
    lookback_days: float = 30.0,
    segment_col: str = "",
) -> AttributionInputs:
    """Journeys from a world (or the sample world), or a paths file.

    ``paths_file`` wins over ``world``; an empty ``world`` means the committed sample world.
    A world without channel holdout experiments (real data) gets an empty ``holdouts`` table.
    """
    from workbench import paths as wpaths

    empty = pd.DataFrame()
    if paths_file:
        p = read_paths(paths_file, segment_col=segment_col or None)
        return AttributionInputs(p, p, segment_col or None, None, empty, f"paths file {paths_file}")
    folder = wpaths.world_dir(world)
    from workbench.db import read_checked
    from workbench.schema import load_world

    tables = ["subscribers", "touchpoints", "orders"]
    w = load_world(folder, tables=tables)
    j = journeys_from_world(w, lookback_days=lookback_days, segment=segment_col or None)
    x = read_checked(folder, HOLDOUT_TABLES)  # the tables the world lacks are left out
    holdouts = (
        world_incrementality({**{t: w[t] for t in tables}, **x})
        if all(t in x for t in HOLDOUT_TABLES)
        else empty
    )
    by = "segment" if segment_col else None
    return AttributionInputs(
        j, j.to_paths(by_segment=bool(segment_col)), by, Path(folder), holdouts, f"world {folder}"
    )


def parse_models(models: str) -> list[str]:
    """The model names of a comma-separated list (``"markov2"`` sets the Markov order).

    Raises
    ------
    WorkbenchError
        When the list is empty or names an unknown model.
    """
    names = [m.strip() for m in models.split(",") if m.strip()]
    if not names:
        raise WorkbenchError(f"no attribution model given; models are {', '.join(MODELS)}")
    for name in names:
        model_and_order(name)
    return names


def segment_model(models: list[str]) -> str:
    """The model to run per segment: Markov when it is among ``models``, else the first."""
    return "markov" if "markov" in models else models[0]
