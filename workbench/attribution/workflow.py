"""The attribution notebook's inputs in one call: journeys or paths, and holdouts.

The truth (``truth_channels``) is not among them: the notebook's scorecard section loads it with
:func:`workbench.truth.load_truth` from :attr:`AttributionInputs.world`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from workbench.attribution.holdout import holdout_lift
from workbench.attribution.journeys import Journeys, journeys_from_world, read_paths
from workbench.errors import DataError


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
        :func:`~workbench.attribution.holdout_lift` of the world's channel holdouts (may be empty).
    source : str
        Where the data came from, in words.
    """

    data: pd.DataFrame | Journeys
    paths: pd.DataFrame
    by: str | None
    world: Path | None
    holdouts: pd.DataFrame
    source: str


def load_inputs(
    world: str | Path = "",
    paths_file: str | Path = "",
    *,
    lookback_days: float = 30.0,
    segment_col: str = "",
) -> AttributionInputs:
    """Journeys from a world (or the sample world), a paths file, or simulated paths.

    ``paths_file`` wins over ``world``; an empty ``world`` means the committed sample world.
    """
    from workbench import paths as wpaths

    empty = pd.DataFrame()
    if paths_file:
        p = read_paths(paths_file, segment_col=segment_col or None)
        return AttributionInputs(p, p, segment_col or None, None, empty, f"paths file {paths_file}")
    folder = wpaths.world_dir(world)
    from workbench.schema import load_world

    tables = ["subscribers", "touchpoints", "orders"]
    w = load_world(folder, tables=tables)
    j = journeys_from_world(w, lookback_days=lookback_days, segment=segment_col or None)
    holdouts = empty
    try:
        x = load_world(folder, tables=["experiments", "assignments", "orders"])
        holdouts = holdout_lift(x["experiments"], x["assignments"], x["orders"])
    except DataError as exc:  # a world without experiments (real data) is fine
        if "table not found" not in exc.problem:
            raise
    by = "segment" if segment_col else None
    return AttributionInputs(
        j, j.to_paths(by_segment=bool(segment_col)), by, Path(folder), holdouts, f"world {folder}"
    )
