"""A warehouse through Ibis: the same features, segments, paths and test cells as DuckDB.

A real warehouse cannot be reached from CI, so the tests use Ibis's PySpark backend over a local
Spark session holding a world's tables: the queries go the warehouse way (transpiled by
:func:`workbench.engine.transpile` to the backend's dialect, views sent as CTEs, frames uploaded
as temporary tables). They need Ibis, PySpark and Java (the dev extra and ``.ci/run``), else they
are skipped and say why.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.attribution.aggregate import path_aggregates
from workbench.engine import SparkEngine, open_warehouse, transpile
from workbench.errors import DataError
from workbench.experiments.cells import experiment_cells
from workbench.features import compute_features
from workbench.paths import sample_world
from workbench.schema import TABLE_ORDER, load_world
from workbench.segment.scale import segment_in_engine

SAMPLE_WORLD = sample_world()
FLOAT_TOL = 1e-9


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home and Path(home, "bin", "java").exists()) or shutil.which("java") is not None


HAVE = all(importlib.util.find_spec(m) for m in ("ibis", "pyspark")) and _java()
WHY = "Ibis, PySpark and a Java runtime are needed (dev extra; .ci/run installs Java)"


def test_transpile_keeps_duckdb_semantics_in_other_dialects() -> None:
    sql = "SELECT epoch_us(ts) * 7.0 / 3 AS x, 'a.b' AS z FROM t"
    for dialect in ("bigquery", "spark", "databricks"):
        out = transpile(sql, dialect)
        assert "UNIX_MICROS(ts)" in out and "EPOCH_US" not in out.upper(), dialect
        assert "CAST(7.0 AS" in out, dialect  # a double, not a fixed-scale decimal
    assert "EPOCH_US(ts)" in transpile(sql, "duckdb")


@pytest.fixture(scope="module")
def backend() -> Iterator[object]:
    """Ibis's PySpark backend over local Spark, with the sample world's tables as
    ``wh_<table>`` (a warehouse whose names differ from the contract's)."""
    if not HAVE:
        pytest.skip(WHY)
    import ibis

    from workbench.engine import spark_session

    spark = spark_session("local[2]")
    eng = SparkEngine(spark)
    present = eng.open_world(SAMPLE_WORLD, list(TABLE_ORDER))
    for name in present:
        spark.table(name).createOrReplaceTempView(f"wh_{name}")
    eng.close()
    yield ibis.pyspark.connect(spark)
    for name in present:
        spark.catalog.dropTempView(f"wh_{name}")


TABLES = {name: f"wh_{name}" for name in TABLE_ORDER}


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    assert (a.index.to_numpy() == b.index.to_numpy()).all()
    for c in a.columns:
        if a[c].dtype.kind == "f":
            np.testing.assert_allclose(
                b[c].to_numpy(dtype=float), a[c].to_numpy(), rtol=FLOAT_TOL, atol=FLOAT_TOL,
                err_msg=c,
            )  # fmt: skip
        else:
            assert a[c].dtype == b[c].dtype, c
            assert (a[c].astype(str).to_numpy() == b[c].astype(str).to_numpy()).all(), c


@pytest.mark.slow
def test_warehouse_gives_the_same_numbers_as_duckdb(backend: object) -> None:
    with open_warehouse(backend, tables=TABLES) as wh:
        _same(compute_features(SAMPLE_WORLD), compute_features(wh))
        for kw in ({}, {"collapse_repeats": True, "segment": "region"}):
            _same(path_aggregates(SAMPLE_WORLD, "duckdb", **kw), path_aggregates(wh, **kw))
        kw2 = {"k": 3, "sample_size": 600, "seed": 2}
        duck = segment_in_engine(SAMPLE_WORLD, "duckdb", **kw2)
        in_wh = segment_in_engine(wh, **kw2)
        assert in_wh.engine == "ibis"
        pd.testing.assert_frame_equal(duck.segments, in_wh.segments)
        exps = load_world(SAMPLE_WORLD, tables=["experiments"])["experiments"]["experiment_id"]
        for exp_id in exps:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # small segments dropped alike by both
                ref = experiment_cells(SAMPLE_WORLD, int(exp_id), "region", "duckdb")
                got = experiment_cells(wh, int(exp_id), "region")
            _same(ref, got)
            assert ref.attrs == got.attrs
    # nothing left behind in the warehouse: the assignment's temporary table is dropped
    assert not [t for t in backend.list_tables() if not t.startswith("wh_")]  # type: ignore[attr-defined]


@pytest.mark.slow
def test_warehouse_tables_missing_or_short_of_a_column_are_one_error(backend: object) -> None:
    with pytest.raises(DataError, match="subscribers.*table not found"):
        with open_warehouse(backend):  # the contract's names: not in this warehouse
            pass
    with pytest.raises(DataError, match="wh_email_events.*order_id.*missing required column"):
        with open_warehouse(backend, tables={**TABLES, "orders": "wh_email_events"}):
            pass


@pytest.mark.slow
def test_warehouse_rows_breaking_the_contract_are_refused_where_they_lie(
    backend: object, tmp_path: Path
) -> None:
    """The contract's checks run in the warehouse, with the same words as for a world folder:
    a negative revenue, and events of a subscriber not on the list."""
    from workbench.db import session

    spark = backend._session  # type: ignore[attr-defined]
    orders = load_world(SAMPLE_WORLD, tables=["orders"])["orders"]
    first = int(orders["order_id"].min())
    bad_world = tmp_path / "bad"
    shutil.copytree(SAMPLE_WORLD, bad_world)
    bad = pd.read_parquet(bad_world / "orders.parquet")
    bad.loc[bad["order_id"] == first, "revenue"] = -5.0
    bad.to_parquet(bad_world / "orders.parquet")
    with pytest.raises(DataError) as folder:
        with session(bad_world, tables=["orders"]):
            pass
    cols = spark.table("wh_orders").columns
    spark.table("wh_orders").selectExpr(
        *[f"IF(order_id = {first}, -5.0D, revenue) AS revenue" if c == "revenue" else c
          for c in cols]
    ).createOrReplaceTempView("wh_bad_orders")  # fmt: skip
    with pytest.raises(DataError) as warehouse:
        with open_warehouse(backend, tables={**TABLES, "orders": "wh_bad_orders"}):
            pass
    a, b = folder.value, warehouse.value
    assert (
        (a.column, a.problem, a.n_rows)
        == (b.column, b.problem, b.n_rows)
        == ("revenue", "values below 0", 1)
    )
    assert b.source == "wh_bad_orders" and b.examples == [f"order_id {first}: -5.0"]
    spark.table("wh_subscribers").where(
        "subscriber_id <> (SELECT min(subscriber_id) FROM wh_email_events)"
    ).createOrReplaceTempView("wh_few_subscribers")
    with pytest.raises(DataError, match="subscriber_id.*refers to unknown subscribers"):
        with open_warehouse(backend, tables={**TABLES, "subscribers": "wh_few_subscribers"}):
            pass
    for v in ("wh_bad_orders", "wh_few_subscribers"):
        spark.catalog.dropTempView(v)
