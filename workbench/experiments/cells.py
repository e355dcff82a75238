"""The counts of a test per segment × arm, computed where the data is (DuckDB or Spark).

:func:`experiment_cells` joins an experiment's assignments with the orders in each recipient's
conversion window and counts, per segment and arm, the recipients, the converters, the revenue
and its sum of squares, in one SQL query run by an :class:`~workbench.engine.Engine`. What
comes back is the aggregated results table of :mod:`workbench.experiments.inputs` (a few rows),
which every test model reads; it equals what :func:`~workbench.experiments.inputs.from_world`
builds from the recipients in memory (the tests check it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from workbench.engine import Engine, engine_of
from workbench.errors import DataError, WorkbenchError
from workbench.experiments.inputs import experiment_attrs, from_aggregated
from workbench.schema import World

__all__ = ["cells_query", "experiment_cells", "merge_small_cells"]

_US_PER_DAY = 86_400_000_000


def cells_query(experiment_id: int, window_days: int, segment: str | None) -> str:
    """The SQL (DuckDB dialect) of the cells; ``segment`` is a ``subscribers`` column, or
    ``None`` for the view ``seg(subscriber_id, segment)``."""
    seg_join = (
        f"LEFT JOIN (SELECT subscriber_id, CAST({segment} AS VARCHAR) AS segment"
        " FROM subscribers) s USING (subscriber_id)"
        if segment
        else "LEFT JOIN seg s USING (subscriber_id)"
    )
    window = int(window_days) * _US_PER_DAY
    return f"""
    WITH rec AS (
        SELECT a.subscriber_id, coalesce(s.segment, 'unknown') AS segment,
               CAST(a.arm AS VARCHAR) AS arm, a.is_holdout,
               CASE WHEN count(o.ts) > 0 THEN 1 ELSE 0 END AS converted,
               coalesce(sum(o.revenue), 0.0) AS revenue
        FROM assignments a
        {seg_join}
        LEFT JOIN orders o ON o.subscriber_id = a.subscriber_id
             AND epoch_us(o.ts) >= epoch_us(a.assigned_ts)
             AND epoch_us(o.ts) <= epoch_us(a.assigned_ts) + {window}
        WHERE a.experiment_id = {int(experiment_id)}
        GROUP BY a.subscriber_id, s.segment, a.arm, a.is_holdout
    )
    SELECT segment, arm, bool_or(is_holdout) AS is_holdout, count(*) AS n,
           sum(converted) AS conversions, sum(revenue) AS revenue,
           sum(revenue * revenue) AS revenue_sumsq
    FROM rec GROUP BY segment, arm ORDER BY segment, arm
    """


def experiment_cells(
    world: str | Path | World | Engine,
    experiment_id: int,
    segments: str | pd.DataFrame = "region",
    engine: str | Any = "duckdb",
    *,
    min_segment_size: int = 0,
) -> pd.DataFrame:
    """The results table of one experiment of a world, counted where the data is.

    Parameters
    ----------
    world : path, World or Engine
        A world folder, a loaded world, or an engine holding a world's views (with
        ``experiments`` and ``assignments``).
    experiment_id : int
        The experiment.
    segments : str or DataFrame, default "region"
        A column of ``subscribers``, or a mapping ``subscriber_id, segment`` (e.g. the output of
        ``workbench segment``).
    engine : {"duckdb", "spark"}, a Spark URL or a SparkSession, default "duckdb"
        Where the query runs (:func:`workbench.engine.open_engine`); unused when ``world`` is
        an engine.
    min_segment_size : int, default 0
        Segments with fewer recipients in any arm, or without every arm, are merged into
        ``"other"``; when ``"other"`` still lacks an arm it is dropped with a warning (the rule
        of :func:`~workbench.experiments.inputs.from_world`, applied to the counts).

    Returns
    -------
    DataFrame
        The canonical results table (``segment, arm, n, conversions, revenue,
        revenue_sumsq``), control arm resolved; ``attrs`` hold ``experiment_id``, ``kind``,
        ``holdout`` and ``conversion_window_days``, as
        :func:`~workbench.experiments.inputs.from_world`.
    """
    if isinstance(world, Engine):
        return _cells(world, experiment_id, segments, min_segment_size)
    seg = None
    if isinstance(segments, pd.DataFrame):
        for c in ("subscriber_id", "segment"):
            if c not in segments.columns:
                raise DataError("<segment mapping>", c, "missing required column")
        seg = pd.Series(segments["segment"].to_numpy(), index=segments["subscriber_id"])
    tables = ("subscribers", "orders", "experiments", "assignments")
    with engine_of(world, engine, tables=tables, segments=seg) as eng:
        return _cells(eng, experiment_id, segments, min_segment_size)


def merge_small_cells(cells: pd.DataFrame, min_size: int) -> pd.DataFrame:
    """Cells of small segments (or segments without every arm) summed into ``"other"``.

    ``"other"`` is dropped, with a warning, when it still lacks an arm.
    """
    import warnings

    arms = sorted(cells["arm"].unique())
    n = cells.pivot_table(index="segment", columns="arm", values="n", aggfunc="sum")
    n = n.reindex(columns=arms)
    small = n.isna().any(axis=1) | (n.fillna(0).min(axis=1) < max(min_size, 1))
    if not small.any():
        return cells
    cells = cells.copy()
    cells.loc[cells["segment"].isin(small[small].index).to_numpy(), "segment"] = "other"
    sums = ["n", "conversions", "revenue", "revenue_sumsq"]
    cells = cells.groupby(["segment", "arm"], sort=True, as_index=False).agg(
        {**{c: "sum" for c in sums}, "is_holdout": "max"}
    )
    other = cells.loc[cells["segment"] == "other"]
    if len(other) and other["arm"].nunique() < len(arms):
        warnings.warn(
            f"dropping {int(other['n'].sum())} recipients of small segments that do not cover "
            "every arm",
            stacklevel=3,
        )
        cells = cells.loc[cells["segment"] != "other"]
    return cells.reset_index(drop=True)


def _cells(
    eng: Engine, experiment_id: int, segments: str | pd.DataFrame, min_size: int
) -> pd.DataFrame:
    exps = eng.frame(
        "SELECT experiment_id, kind, control_arm, conversion_window_days FROM experiments"
        f" WHERE experiment_id = {int(experiment_id)}"
    )
    if exps.empty:
        known = eng.frame("SELECT experiment_id FROM experiments ORDER BY 1")["experiment_id"]
        raise WorkbenchError(
            f"no experiment {experiment_id} (have: {', '.join(map(str, known.tolist()))})"
        )
    meta = exps.iloc[0]
    column = segments if isinstance(segments, str) else None
    if column is not None and column not in eng.columns("subscribers"):
        raise DataError("subscribers", column, "no such segment column")
    window = int(meta["conversion_window_days"])
    cells = eng.frame(cells_query(experiment_id, window, column))
    if cells.empty:
        raise WorkbenchError(f"experiment {experiment_id} has no assignments")
    cells = merge_small_cells(cells, min_size)
    holdout = cells.loc[cells["is_holdout"].astype(bool), "arm"].unique()
    table = from_aggregated(
        cells.drop(columns="is_holdout"),
        revenue_col="revenue",
        control=str(meta["control_arm"]),
        source=f"experiment {experiment_id} ({eng.name} engine)",
    )
    table.attrs.update(experiment_attrs(meta, holdout))
    return table
