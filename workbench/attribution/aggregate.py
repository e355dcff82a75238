"""Path aggregates of a world, computed where the data is (DuckDB or Spark).

:func:`path_aggregates` cuts each subscriber's touches into journeys and counts each distinct
path, in one SQL query run by an :class:`~workbench.engine.Engine`: the billions of touches stay
in the engine, and what comes back is the ChannelAttribution-style table (``path,
total_conversions, total_conversion_value, total_null``), a few thousand rows, which every path
model (rules, Markov, Shapley) reads. The rules are those of
:func:`workbench.attribution.journeys.build_journeys`, so the table equals
``build_journeys(...).to_paths()`` (the tests check it): a touch goes to the subscriber's next
order at or after it, within ``lookback_days``; touches after the last order form a journey
without conversion that ends at the last touch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from workbench import db
from workbench.attribution.journeys import NO_SEGMENT
from workbench.engine import Engine, engine_of
from workbench.errors import DataError, WorkbenchError
from workbench.schema import World

__all__ = ["path_aggregates", "path_query"]

_US_PER_DAY = 86_400_000_000


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(db.sql_string(str(v)) for v in values)})"


def path_query(
    lookback_days: float = 30.0,
    collapse_repeats: bool = False,
    segment: str | None = None,
    interactions: Sequence[str] | None = None,
    min_revenue: float = 0.0,
    categories: Sequence[str] | None = None,
) -> str:
    """The SQL (DuckDB dialect) of :func:`path_aggregates` over the views of a world.

    Parameters are those of :func:`path_aggregates`; ``segment`` is a column of
    ``subscribers``.
    """
    if not lookback_days > 0:
        raise WorkbenchError(f"lookback_days must be positive, got {lookback_days}")
    lookback_us = round(float(lookback_days) * _US_PER_DAY)
    touch_where = f"WHERE {_in('interaction', interactions)}" if interactions is not None else ""
    order_cond = []
    if min_revenue > 0:
        order_cond.append(f"revenue >= {float(min_revenue)!r}")
    if categories is not None:
        order_cond.append(_in("category", categories))
    order_where = f"WHERE {' AND '.join(order_cond)}" if order_cond else ""
    keep = "next_channel IS NULL OR next_channel <> channel" if collapse_repeats else "TRUE"
    seg_select = (
        f"coalesce(CAST(s.{segment} AS VARCHAR), {db.sql_string(NO_SEGMENT)})"
        if segment
        else db.sql_string(NO_SEGMENT)
    )
    by = "segment, " if segment else ""
    return f"""
    WITH tp AS (
        SELECT subscriber_id, epoch_us(ts) AS t, channel FROM touchpoints {touch_where}
    ),
    od AS (
        SELECT order_id, subscriber_id, epoch_us(ts) AS t, revenue FROM orders {order_where}
    ),
    ev AS (
        SELECT subscriber_id, t, 0 AS kind, channel FROM tp
        UNION ALL
        SELECT subscriber_id, t, 1 AS kind, CAST(NULL AS VARCHAR) AS channel FROM od
    ),
    nxt AS (
        SELECT subscriber_id, t, kind, channel,
               min(CASE WHEN kind = 1 THEN t END) OVER (
                   PARTITION BY subscriber_id ORDER BY t, kind
                   ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS order_t
        FROM ev
    ),
    first_order AS (
        SELECT subscriber_id, t AS order_t, min(order_id) AS order_id
        FROM od GROUP BY subscriber_id, t
    ),
    matched AS (
        SELECT n.subscriber_id, n.t, n.channel, f.order_id,
               coalesce(n.order_t, max(CASE WHEN n.order_t IS NULL THEN n.t END)
                        OVER (PARTITION BY n.subscriber_id)) AS end_t
        FROM nxt n LEFT JOIN first_order f
             ON f.subscriber_id = n.subscriber_id AND f.order_t = n.order_t
        WHERE n.kind = 0
    ),
    kept AS (
        SELECT subscriber_id, t, channel, order_id,
               lead(channel) OVER (PARTITION BY subscriber_id, coalesce(order_id, -1)
                                   ORDER BY t, channel) AS next_channel
        FROM matched WHERE end_t - t <= {lookback_us}
    ),
    journeys AS (
        SELECT subscriber_id, order_id,
               string_agg(channel, ' > ' ORDER BY t, channel) AS path
        FROM kept WHERE {keep}
        GROUP BY subscriber_id, order_id
    ),
    valued AS (
        SELECT {seg_select} AS segment, j.path,
               CASE WHEN j.order_id IS NULL THEN 0.0 ELSE 1.0 END AS conv,
               coalesce(o.revenue, 0.0) AS value
        FROM journeys j
        LEFT JOIN od o ON o.order_id = j.order_id
        LEFT JOIN subscribers s ON s.subscriber_id = j.subscriber_id
    )
    SELECT {by}path, sum(conv) AS total_conversions, sum(value) AS total_conversion_value,
           sum(1.0 - conv) AS total_null
    FROM valued GROUP BY {by}path ORDER BY {by}path
    """


def path_aggregates(
    world: str | Path | World | Engine,
    engine: str | Any = "duckdb",
    *,
    lookback_days: float = 30.0,
    collapse_repeats: bool = False,
    segment: str | None = None,
    interactions: Sequence[str] | None = None,
    min_revenue: float = 0.0,
    categories: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The paths table of a world's journeys, aggregated where the data is.

    Parameters
    ----------
    world : path, World or Engine
        A world folder, a loaded world, or an engine already holding a world's views.
    engine : {"duckdb", "spark"}, a Spark URL or a SparkSession, default "duckdb"
        Where the query runs (:func:`workbench.engine.open_engine`); unused when ``world`` is
        an engine.
    lookback_days, collapse_repeats, interactions, min_revenue, categories
        As in :func:`workbench.attribution.journeys.build_journeys`.
    segment : str, optional
        A column of ``subscribers``: paths are counted within each of its values
        (``"(none)"`` where it is empty).

    Returns
    -------
    DataFrame
        ``[segment,] path, total_conversions, total_conversion_value, total_null``, sorted,
        as :meth:`~workbench.attribution.journeys.Journeys.to_paths`.
    """
    sql = path_query(lookback_days, collapse_repeats, segment, interactions, min_revenue,
                     categories)  # fmt: skip
    with engine_of(world, engine, tables=("subscribers", "touchpoints", "orders")) as eng:
        return _run(eng, sql, segment)


def _run(eng: Engine, sql: str, segment: str | None) -> pd.DataFrame:
    if segment and segment not in eng.columns("subscribers"):
        raise DataError("subscribers", segment, "no such segment column")
    df = eng.frame(sql)
    for c in ("total_conversions", "total_conversion_value", "total_null"):
        df[c] = df[c].astype("float64")
    df["path"] = df["path"].astype("str")
    if segment:
        df["segment"] = df["segment"].astype("str")
    return df.reset_index(drop=True)
