"""Segmentation beyond one machine: fit on a sample drawn in the engine, assign in the engine.

:func:`segment_in_engine` keeps the row-level work where the data is and fits the model
locally on what is small:

1. the features of every subscriber are computed once in the engine
   (:func:`workbench.features.feature_query`, kept there with :meth:`Engine.materialize`);
2. a **stratified sample** is drawn in the engine (:func:`sample_query`): within each stratum
   (by default email reachability × region × buyer or not) the subscribers with the smallest
   pseudo-random key are taken, in proportion to the stratum's size. The key is an MD5 of the
   subscriber id and the seed, which DuckDB and Spark compute alike, so both engines draw the
   same sample;
3. the sample comes back and the segmentation is fitted on it
   (:func:`~workbench.segment.api.segment_subscribers`; the smallest-segment guard is scaled to
   the sample);
4. **every subscriber is assigned in the engine**: the fitted
   :class:`~workbench.segment.pipelines.Segmenter` is applied to the feature rows batch by
   batch (:meth:`Engine.map_batches`: a vectorised Arrow UDF on Spark's executors). The
   assignment of a row depends only on that row, so every engine gives the same segments.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.engine import Engine, engine_of
from workbench.errors import WorkbenchError
from workbench.schema import World
from workbench.segment.api import Segmentation, segment_subscribers
from workbench.segment.methods import K_RANGE

__all__ = ["STRATA", "ScaledSegmentation", "sample_query", "segment_in_engine"]

#: Strata of the sample, as SQL over the feature table: reachable by email, region, buyer.
STRATA: tuple[str, ...] = (
    "email_reachable",
    "region",
    "CASE WHEN n_orders > 0 THEN 1 ELSE 0 END",
)


def sample_query(
    size: int, seed: int = 0, strata: Sequence[str] = STRATA, features: str = "features"
) -> str:
    """SQL (DuckDB dialect) of a stratified sample of about ``size`` ids of ``features``.

    Each stratum gets ``round(size * n_h / N)`` subscribers (proportional allocation), those
    with the smallest key ``md5(subscriber_id || ':' || seed)`` (ties by id): the same sample on
    every engine.
    """
    key = f"md5(CAST(subscriber_id AS VARCHAR) || ':{int(seed)}')"
    part = ", ".join(f"({s})" for s in strata) or "1"
    return f"""
    WITH keyed AS (
        SELECT subscriber_id, {key} AS k,
               count(*) OVER (PARTITION BY {part}) AS n_h,
               count(*) OVER () AS n_all,
               row_number() OVER (PARTITION BY {part} ORDER BY {key}, subscriber_id) AS r
        FROM {features}
    )
    SELECT subscriber_id FROM keyed
    WHERE r <= round({int(size)} * n_h / CAST(n_all AS DOUBLE))
    """


@dataclass
class ScaledSegmentation:
    """Result of :func:`segment_in_engine`.

    Attributes
    ----------
    fit : Segmentation
        The segmentation fitted on the sample (its ``segments`` are the sample's).
    segments : DataFrame
        ``subscriber_id, segment, segment_name`` for every subscriber, assigned in the engine.
    n_subscribers : int
        Subscribers assigned.
    n_sample : int
        Subscribers in the stratified sample.
    engine : str
        Name of the engine that ran the queries.
    as_of : Timestamp
        The features' date.
    seconds : dict of str to float
        Wall time of each step: ``features`` (computed and kept in the engine), ``sample``
        (drawn and collected), ``fit`` (local) and ``assign`` (in the engine, collected).
    """

    fit: Segmentation
    segments: pd.DataFrame
    n_subscribers: int
    n_sample: int
    engine: str
    as_of: pd.Timestamp
    seconds: dict[str, float]


def segment_in_engine(
    world: str | Path | World | Engine,
    engine: str | Any = "duckdb",
    *,
    as_of: str | pd.Timestamp | None = None,
    method: str = "deconvolved",
    k: int | str = "auto",
    sample_size: int = 20_000,
    min_size: int = 50,
    seed: int = 0,
    ks: Sequence[int] = K_RANGE,
    on_small: str = "merge",
    unreachable: str = "cluster",
    n_jobs: int | None = -1,
    strata: Sequence[str] = STRATA,
) -> ScaledSegmentation:
    """Segment every subscriber of a world: sample and assign in the engine, fit locally.

    Parameters
    ----------
    world : path, World or Engine
        The world folder, a loaded world, or an engine holding a world's views (e.g. a
        warehouse: :func:`workbench.engine.open_warehouse`).
    engine : {"duckdb", "spark"}, a Spark URL or a SparkSession, default "duckdb"
        Where the features, the sample and the assignment run
        (:func:`workbench.engine.open_engine`); every engine gives the same segments. Unused
        when ``world`` is an engine.
    as_of : str or Timestamp, optional
        Feature date (default: the end of the history).
    method, k, seed, ks, on_small, unreachable, n_jobs
        As in :func:`~workbench.segment.api.segment_subscribers`.
    sample_size : int, default 20000
        Subscribers in the stratified sample the model is fitted on.
    min_size : int, default 50
        Smallest segment, counted over every subscriber: a segment is merged when its share
        of the sample times the base is below it.
    strata : sequence of str, default :data:`STRATA`
        SQL expressions over the feature table that define the strata.

    Returns
    -------
    ScaledSegmentation
    """
    from workbench.features import feature_query, resolve_as_of, typed_features

    if int(sample_size) < 2:
        raise WorkbenchError(f"sample_size must be at least 2, got {sample_size}")
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[step] = now - clock
        clock = now

    with engine_of(world, engine) as eng:
        when = resolve_as_of(eng, as_of)
        sql, dtypes = feature_query(eng, when)
        eng.materialize("features", sql)
        n_all = int(eng.scalar("SELECT count(*) FROM features") or 0)
        lap("features")
        if n_all == 0:
            raise WorkbenchError("no subscribers signed up before the as-of date")
        eng.materialize("sample_ids", sample_query(sample_size, seed, strata))
        sample = typed_features(
            eng.frame(
                "SELECT f.* FROM features f JOIN sample_ids USING (subscriber_id)"
                " ORDER BY f.subscriber_id"
            ),
            dtypes,
            when,
        )
        lap("sample")
        guard = max(1, math.ceil(int(min_size) * len(sample) / n_all))
        fit = segment_subscribers(
            sample,
            method=method,
            k=k,
            min_size=guard,
            seed=seed,
            ks=ks,
            sample_size=None,
            on_small=on_small,
            unreachable=unreachable,
            n_jobs=n_jobs,
        )
        lap("fit")
        segments = _assign(eng, fit, dtypes, when)
        lap("assign")
        return ScaledSegmentation(fit, segments, n_all, len(sample), eng.name, when, seconds)


def _assign(
    eng: Engine, fit: Segmentation, dtypes: dict[str, list[str]], when: pd.Timestamp
) -> pd.DataFrame:
    """Every subscriber's segment, computed in the engine by the fitted segmenter."""
    from workbench.features import typed_features

    segmenter = fit.segmenter

    def predict(batch: pd.DataFrame) -> pd.DataFrame:
        feats = typed_features(batch, dtypes, when)
        labels = segmenter.predict(feats) if len(feats) else np.array([], dtype=np.int64)
        return pd.DataFrame(
            {
                "subscriber_id": feats.index.to_numpy(dtype=np.int64),
                "segment": np.asarray(labels, dtype=np.int64),
            }
        )

    schema = [("subscriber_id", "int"), ("segment", "int")]
    eng.map_batches("assigned", "SELECT * FROM features", predict, schema)
    out = eng.frame("SELECT subscriber_id, segment FROM assigned ORDER BY subscriber_id")
    out = out.astype({"subscriber_id": "int64", "segment": "int64"})
    out["segment_name"] = out["segment"].map(fit.names).astype("str")
    return out
