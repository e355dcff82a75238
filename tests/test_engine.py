"""The engine switch: the same features, segments, paths and test cells on DuckDB and Spark.

The Spark tests run local Spark (two cores) and need PySpark (installed with the dev extra) and
a Java runtime (``.ci/run`` installs Debian's); without them they are skipped and say why. The
tests that need neither (the SQL transpiler, the DuckDB engine, the command line's checks) always
run.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.attribution.aggregate import path_aggregates
from workbench.attribution.journeys import journeys_from_world
from workbench.cli import main
from workbench.engine import open_engine, to_spark_sql
from workbench.errors import DataError, WorkbenchError
from workbench.experiments.cells import experiment_cells
from workbench.experiments.inputs import from_world
from workbench.features import compute_features
from workbench.paths import sample_world
from workbench.schema import load_world
from workbench.segment.scale import sample_query, segment_in_engine
from workbench.synth import generate_world


def _java() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home and Path(home, "bin", "java").exists()) or shutil.which("java") is not None


HAVE_SPARK = importlib.util.find_spec("pyspark") is not None and _java()
needs_spark = pytest.mark.skipif(
    not HAVE_SPARK, reason="PySpark and a Java runtime are needed (.ci/run installs Java)"
)
FLOAT_TOL = 1e-9  # floats: within 1e-9 (relative to the value, absolute near 0)


@pytest.fixture(scope="module")
def spark():
    """One local Spark session (two cores) for the module."""
    if not HAVE_SPARK:
        pytest.skip("PySpark and a Java runtime are needed (.ci/run installs Java)")
    from workbench.engine import spark_session

    return spark_session("local[2]")


@pytest.fixture(scope="module")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``default`` scenario, full size (50,000 subscribers, 126 days)."""
    out = tmp_path_factory.mktemp("engine") / "default"
    generate_world("default", seed=20, out=out)
    return out


SAMPLE_WORLD = sample_world()
WORLDS = ["tiny", "default"]


@pytest.fixture(params=WORLDS)
def world(request: pytest.FixtureRequest) -> Path:
    if request.param == "tiny":
        return SAMPLE_WORLD
    return request.getfixturevalue("default_world")


def _same_frames(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Counts, ids and text exactly; floats within :data:`FLOAT_TOL`."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    assert (a.index.to_numpy() == b.index.to_numpy()).all()
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype.kind == "f":
            np.testing.assert_allclose(
                y.to_numpy(dtype=float), x.to_numpy(), rtol=FLOAT_TOL, atol=FLOAT_TOL, err_msg=c
            )
        else:
            assert x.dtype == y.dtype, c
            assert (x.astype(str).to_numpy() == y.astype(str).to_numpy()).all(), c


# ---------------------------------------------------------------------- no Spark needed


def test_transpiler_keeps_duckdb_semantics() -> None:
    sql = to_spark_sql("SELECT epoch_us(ts) * 7.0 / 3 AS x, 1e6 AS y, 'a.b' AS z FROM t")
    assert "UNIX_MICROS(ts)" in sql
    assert "CAST(7.0 AS DOUBLE)" in sql  # Spark divides decimals at six digits; DuckDB doesn't
    assert "'a.b'" in sql and "EPOCH_US" not in sql.upper()


def test_duckdb_engine_maps_batches_like_one_call() -> None:
    with open_engine(SAMPLE_WORLD, "duckdb") as eng:
        eng.view("ids", "SELECT subscriber_id FROM subscribers")
        eng.map_batches(
            "doubled",
            "SELECT subscriber_id FROM ids",
            lambda df: df.assign(twice=df["subscriber_id"] * 2),
            [("subscriber_id", "int"), ("twice", "int")],
        )
        out = eng.frame("SELECT * FROM doubled ORDER BY subscriber_id")
    n = load_world(SAMPLE_WORLD, tables=["subscribers"])["subscribers"].shape[0]
    assert len(out) == n
    assert (out["twice"] == 2 * out["subscriber_id"]).all()


def test_stratified_sample_keeps_each_stratum_share() -> None:
    with open_engine(SAMPLE_WORLD, "duckdb") as eng:
        eng.register(
            "features",
            pd.DataFrame({"subscriber_id": np.arange(1000), "g": np.repeat([0, 1], [800, 200])}),
        )
        picked = eng.frame(sample_query(100, seed=1, strata=("g",)))
        again = eng.frame(sample_query(100, seed=1, strata=("g",)))
        other = eng.frame(sample_query(100, seed=2, strata=("g",)))
    ids = np.sort(picked["subscriber_id"].to_numpy())
    assert len(ids) == 100 and (ids < 800).sum() == 80  # proportional allocation
    assert (ids == np.sort(again["subscriber_id"].to_numpy())).all()  # the seed fixes it
    assert set(ids) != set(other["subscriber_id"])


def test_unknown_engine_is_one_clear_error() -> None:
    with pytest.raises(WorkbenchError, match="unknown engine 'oracle'"):
        compute_features(SAMPLE_WORLD, engine="oracle")


def test_spark_without_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is not None:
        pytest.skip("a Spark session is already running in this process")
    monkeypatch.setenv("JAVA_HOME", "/nonexistent")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(WorkbenchError, match="needs a Java runtime"):
        compute_features(SAMPLE_WORLD, engine="spark")


def test_cli_refuses_engine_options_that_cannot_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.csv"
    cases = [
        (["attribute", "--world", str(SAMPLE_WORLD), "--model", "time_decay", "--engine",
          "duckdb", "--out", str(out)], "time_decay reads every journey"),
        (["abtest", "--input", str(tmp_path / "r.csv"), "--engine", "spark", "--out", str(out)],
         "only with --world"),
        (["abtest", "--world", str(SAMPLE_WORLD), "--out", str(out)], "give --experiment"),
        (["abtest", "--world", str(SAMPLE_WORLD), "--experiment", "99", "--out", str(out)],
         "no experiment 99"),
    ]  # fmt: skip
    for argv, fragment in cases:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and fragment in err[0], err
        assert not out.exists()


def test_world_experiment_on_duckdb_equals_the_in_memory_table() -> None:
    """``abtest --world`` counts in the engine what ``from_world`` counts in memory (small
    segments merged, and dropped with a warning, alike)."""
    import warnings

    w = load_world(SAMPLE_WORLD)
    for exp_id in w["experiments"]["experiment_id"]:
        with warnings.catch_warnings(record=True) as in_memory:
            warnings.simplefilter("always")
            ref = from_world(w, int(exp_id), "region")
        with warnings.catch_warnings(record=True) as in_engine:
            warnings.simplefilter("always")
            got = experiment_cells(SAMPLE_WORLD, int(exp_id), "region", "duckdb")
        _same_frames(ref, got)
        assert ref.attrs == got.attrs
        assert [str(m.message) for m in in_memory] == [str(m.message) for m in in_engine]


def test_world_paths_on_duckdb_equal_the_journeys() -> None:
    """The SQL journeys equal :func:`build_journeys` (pandas), options included."""
    for kw in (
        {},
        {"collapse_repeats": True},
        {"segment": "region"},
        {"lookback_days": 7.0, "interactions": ["click"], "min_revenue": 20.0},
    ):
        j = journeys_from_world(SAMPLE_WORLD, **kw)
        ref = j.to_paths(by_segment="segment" in kw)
        got = path_aggregates(SAMPLE_WORLD, "duckdb", **kw)
        _same_frames(ref, got)


# ------------------------------------------------------------------------- Spark = DuckDB


@needs_spark
@pytest.mark.slow
def test_features_are_the_same_on_spark(world: Path, spark: object) -> None:
    duck = compute_features(world, engine="duckdb")
    on_spark = compute_features(world, engine=spark)
    assert len(duck) > 0
    _same_frames(duck, on_spark)
    assert duck.attrs == on_spark.attrs


@needs_spark
@pytest.mark.slow
def test_path_aggregates_are_the_same_on_spark(world: Path, spark: object) -> None:
    for kw in ({}, {"collapse_repeats": True, "segment": "region"}):
        duck = path_aggregates(world, "duckdb", **kw)
        assert duck["total_conversions"].sum() > 0
        _same_frames(duck, path_aggregates(world, spark, **kw))


@needs_spark
@pytest.mark.slow
def test_test_cells_are_the_same_on_spark(world: Path, spark: object) -> None:
    import warnings

    exps = load_world(world, tables=["experiments"])["experiments"]["experiment_id"]
    assert len(exps) >= 3
    for exp_id in exps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # small segments dropped alike by both
            duck = experiment_cells(world, int(exp_id), "region", "duckdb")
            on_spark = experiment_cells(world, int(exp_id), "region", spark)
        _same_frames(duck, on_spark)
        assert duck.attrs == on_spark.attrs


@needs_spark
@pytest.mark.slow
def test_segment_assignments_are_the_same_on_spark(world: Path, spark: object) -> None:
    kw = {"k": 4, "sample_size": 1500, "seed": 5}
    duck = segment_in_engine(world, "duckdb", **kw)
    on_spark = segment_in_engine(world, spark, **kw)
    assert duck.n_sample == on_spark.n_sample and 1400 <= duck.n_sample <= 1600
    assert (duck.fit.segments.index == on_spark.fit.segments.index).all()  # one sample
    pd.testing.assert_frame_equal(duck.segments, on_spark.segments)  # every subscriber
    assert duck.segments["segment"].nunique() == duck.fit.segmenter.n_segments_ > 1


@needs_spark
@pytest.mark.slow
def test_a_bad_table_is_refused_by_the_same_door_on_spark(
    tmp_path: Path, spark: object, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(SAMPLE_WORLD, bad)
    orders = pd.read_parquet(bad / "orders.parquet")
    orders.loc[3, "revenue"] = -5.0
    orders.to_parquet(bad / "orders.parquet")
    with pytest.raises(DataError, match="revenue"):
        path_aggregates(bad, spark)
    out = tmp_path / "paths.csv"
    argv = ["attribute", "--world", str(bad), "--model", "markov", "--engine", "spark"]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "orders" in err[0] and "revenue" in err[0], err
    assert not out.exists()


@needs_spark
@pytest.mark.slow
def test_cli_gives_the_same_files_on_both_engines(tmp_path: Path, spark: object) -> None:
    runs = {
        "segment": ["segment", "--world", str(SAMPLE_WORLD), "--k", "3", "--sample-size", "600"],
        "attribute": ["attribute", "--world", str(SAMPLE_WORLD), "--model", "shapley"],
        "abtest": ["abtest", "--world", str(SAMPLE_WORLD), "--experiment", "1"],
    }
    for verb, argv in runs.items():
        outs = []
        for engine in ("duckdb", "spark"):
            out = tmp_path / f"{verb}-{engine}.csv"
            assert main([*argv, "--engine", engine, "--out", str(out)]) == 0
            outs.append(out.read_bytes())
        assert outs[0] == outs[1], verb


def run_apart(script: str, tmp_path: Path, *args: str) -> str:
    """Run a Python script in its own process (a Spark Connect client cannot share this one's
    classic session); its standard output, once it has succeeded."""
    import subprocess
    import sys

    path = tmp_path / "apart.py"
    path.write_text(script)
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
    run = subprocess.run(
        [sys.executable, str(path), *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


CONNECT_SCRIPT = """
import sys
import pandas as pd
from pyspark.sql import SparkSession
from workbench.attribution.aggregate import path_aggregates
from workbench.features import compute_features
from workbench.segment.scale import segment_in_engine

world = sys.argv[1]
spark = SparkSession.builder.remote("local[2]").getOrCreate()  # a local Spark Connect server
assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
pd.testing.assert_frame_equal(
    compute_features(world), compute_features(world, engine=spark),
    check_exact=False, rtol=1e-9, atol=1e-9,
)
pd.testing.assert_frame_equal(
    path_aggregates(world, "duckdb"), path_aggregates(world, spark),
    check_exact=False, rtol=1e-9, atol=1e-9,
)
kw = {"k": 3, "sample_size": 600, "seed": 2}
duck, on_spark = (segment_in_engine(world, e, **kw).segments for e in ("duckdb", spark))
pd.testing.assert_frame_equal(duck, on_spark)
print("same through Spark Connect")
"""


@needs_spark
@pytest.mark.slow
def test_spark_connect_gives_the_same_numbers(tmp_path: Path) -> None:
    """Through the Spark Connect protocol (a local server; its own process, since a classic
    session runs in this one)."""
    assert "same through Spark Connect" in run_apart(CONNECT_SCRIPT, tmp_path, str(SAMPLE_WORLD))
