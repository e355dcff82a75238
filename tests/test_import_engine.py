"""``workbench import --engine spark``: passes 2-4 of the importer on Spark give DuckDB's world.

Every export the import tests read (``tests/test_import.py``, ``tests/test_import_presets.py``)
is imported twice, with ``engine="duckdb"`` and on local Spark: the tables read back, the
``ids/`` maps, what was left out and assumed, and ``world.json`` are the same; a bad value or a
row breaking the contract gives the same one-line error, and nothing is written. The Spark tests
need PySpark and a Java runtime (skipped without them, as in ``tests/test_engine.py``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_engine import HAVE_SPARK, needs_spark, run_apart
from test_import import (
    CSV_EVENTS,
    EVENTS_MAP,
    GROUPED,
    MAP,
    NUMBER_FORMATS,
    TRANSACTIONS,
    orders_map,
    parquet_parts_and_tsv,
)

from workbench.cli import main
from workbench.errors import DataError
from workbench.importers import ImportMap, import_world, load_mapping
from workbench.importers.presets import preset_map
from workbench.paths import datasets_dir
from workbench.schema import TABLE_ORDER, load_world

ESP = datasets_dir() / "examples" / "esp"
SALT = "engine-test-salt"
FLOAT_TOL = 1e-9


@pytest.fixture(scope="module")
def spark():
    """One local Spark session (two cores) for the module (one classic session a process)."""
    if not HAVE_SPARK:
        pytest.skip("PySpark and a Java runtime are needed (.ci/run installs Java)")
    from workbench.engine import spark_session

    return spark_session("local[2]")


# ------------------------------------------------------------------------------------ exports


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder / "map.toml"


def _whitespace_log(src: Path) -> ImportMap:
    return load_mapping(_write(src, {"transactions.txt": TRANSACTIONS, "map.toml": MAP}))


def _address_ids(src: Path) -> ImportMap:
    return load_mapping(_write(src, {"events.csv": CSV_EVENTS, "map.toml": EVENTS_MAP}))


def _grouped_lines(src: Path) -> ImportMap:
    """:data:`test_import.GROUPED` with more times (offsets, epoch seconds, UTC) in Paris."""
    lines = GROUPED["lines.csv"] + (
        "#5,11,2026-01-10 10:00:00 +0530,1,$8.00,hats\n"
        "#6,10,1767949200.25,1,9.5,socks\n"
        "#7,10,2026-01-11 08:30:00 UTC,1,3,socks\n"
    )
    mapping = GROUPED["map.toml"].replace(
        'group_by = "order_id"\n', 'group_by = "order_id"\ntimezone = "Europe/Paris"\n'
    )
    return load_mapping(_write(src, {**GROUPED, "lines.csv": lines, "map.toml": mapping}))


def _parquet_parts_and_tsv(src: Path) -> ImportMap:
    return load_mapping(parquet_parts_and_tsv(src))


def _number_formats(src: Path) -> ImportMap:
    """:data:`test_import.NUMBER_FORMATS` with microseconds and a currency sign."""
    text = NUMBER_FORMATS["orders.csv"] + '3;2026-01-06 23:59:59.123456;"€ 12,5"\n'
    return load_mapping(_write(src, {**NUMBER_FORMATS, "orders.csv": text}))


def _spaced_numbers_and_bools(src: Path) -> ImportMap:
    files = {
        "members.csv": (
            "id,joined,sms,offset\n"
            "a1,2026-01-01 09:00,Y,-5\n"
            "b2,2026-01-02 10:00,no,1\n"
            "c3,2026-01-03T11:00:00-03:00,0,0\n"
        ),
        "orders.csv": (
            'who,when,value\na1,02.01.2026 10:15,"1 234,50"\nb2,03.01.2026 11:00,"7,00"\n'
            "c3,04.01.2026 12:00,0\n"
        ),
        "map.toml": """\
[subscribers]
source = "members.csv"
timezone = "America/Sao_Paulo"
[subscribers.columns]
subscriber_id = "id"
signup_ts = "joined"
sms_consent = "sms"
tz_offset_h = "offset"
[orders]
source = "orders.csv"
[orders.columns]
subscriber_id = "who"
ts = "when"
revenue = "value"
[orders.formats]
ts = "%d.%m.%Y %H:%M"
revenue = "1 234,56"
""",
    }
    return load_mapping(_write(src, files))


def _bom_semicolons(src: Path) -> ImportMap:
    src.mkdir(parents=True)
    (src / "o.csv").write_bytes("\ufeffwho;when;value\n1;2026-01-01;3\n".encode())
    (src / "map.toml").write_text(
        '[orders]\nsource = "o.csv"\n[orders.columns]\n'
        'subscriber_id = "who"\nts = "when"\nrevenue = "value"\n'
    )
    return load_mapping(src / "map.toml")


def _preset(name: str, extra: Path | None = None) -> Callable[[Path], ImportMap]:
    return lambda src: preset_map(name, [ESP / name], extra=extra)


def _mailchimp_api(src: Path) -> ImportMap:
    """The audience export with the API's email activity (no granular files)."""
    src.mkdir(parents=True)
    for f in (ESP / "mailchimp").glob("*.csv"):
        shutil.copy(f, src / f.name)
    return preset_map("mailchimp", [src])


EXPORTS: dict[str, Callable[[Path], ImportMap]] = {
    "whitespace-log": _whitespace_log,
    "address-ids": _address_ids,
    "grouped-lines": _grouped_lines,
    "parquet-parts-tsv": _parquet_parts_and_tsv,
    "number-formats": _number_formats,
    "spaced-numbers-bools": _spaced_numbers_and_bools,
    "bom-semicolons": _bom_semicolons,
    "mailchimp": _preset("mailchimp"),
    "mailchimp-api": _mailchimp_api,
    "klaviyo": _preset("klaviyo"),
    "shopify": _preset("shopify"),
    "mailchimp-shopify": _preset(
        "mailchimp", extra=datasets_dir() / "examples" / "mailchimp-shopify.toml"
    ),
}


# ---------------------------------------------------------------------------- comparisons


def _same_frames(a: pd.DataFrame, b: pd.DataFrame, what: str, plain: bool = False) -> None:
    """Same columns, dtypes and row order; exact but floats (within :data:`FLOAT_TOL`).

    ``plain``: files read without the contract, where a summed int column (``[orders.aggregate]
    n_items = "sum"``) is stored as double by DuckDB (its 128-bit sum) and as int64 by Spark.
    """
    assert list(a.columns) == list(b.columns), what
    assert len(a) == len(b), what
    for c in a.columns:
        x, y = a[c], b[c]
        if plain and x.dtype == "float64" and y.dtype == "int64":
            y = y.astype("float64")
        assert x.dtype == y.dtype, f"{what}.{c}: {x.dtype} != {y.dtype}"
        if x.dtype.kind == "f":
            np.testing.assert_allclose(
                y.to_numpy(), x.to_numpy(), rtol=FLOAT_TOL, atol=FLOAT_TOL, err_msg=f"{what}.{c}"
            )
        else:
            assert x.isna().tolist() == y.isna().tolist(), f"{what}.{c}"
            assert x.astype(str).tolist() == y.astype(str).tolist(), f"{what}.{c}"


def _same_worlds(duck: Path, spark: Path) -> None:
    a, b = load_world(duck), load_world(spark)
    assert set(a.tables) == set(b.tables)
    for table in a.tables:
        _same_frames(a[table], b[table], table)
        # read as plain Parquet, too: the same columns, types and rows
        _same_frames(
            pd.read_parquet(duck / f"{table}.parquet"),
            pd.read_parquet(spark / f"{table}.parquet"),
            f"{table}.parquet",
            plain=True,
        )
    ids = (
        sorted(p.name for p in (duck / "ids").glob("*.parquet")) if (duck / "ids").exists() else []
    )
    assert ids == (sorted(p.name for p in (spark / "ids").glob("*.parquet")) if ids else [])
    for name in ids:
        _same_frames(
            pd.read_parquet(duck / "ids" / name), pd.read_parquet(spark / "ids" / name), name
        )
    assert json.loads((duck / "world.json").read_text()) == json.loads(
        (spark / "world.json").read_text()
    )


# ------------------------------------------------------------------------- Spark = DuckDB


@needs_spark
@pytest.mark.slow
@pytest.mark.parametrize("export", list(EXPORTS))
def test_spark_import_gives_the_duckdb_world(
    export: str, tmp_path: Path, spark: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    imap = EXPORTS[export](tmp_path / "src")
    duck = import_world(imap, tmp_path / "duck", salt=SALT)
    on_spark = import_world(imap, tmp_path / "spark", salt=SALT, engine=spark)
    assert sum(duck.rows.values()) > 0
    assert duck.rows == on_spark.rows
    assert duck.dropped == on_spark.dropped
    assert duck.notes == on_spark.notes
    _same_worlds(tmp_path / "duck", tmp_path / "spark")
    # Spark writes each table as a folder of parts, which every reader takes
    assert (tmp_path / "spark" / "subscribers.parquet").is_dir()
    assert not (tmp_path / "spark" / ".stage").exists()


def _bad_log(src: Path, bad_line: str) -> ImportMap:
    lines = TRANSACTIONS.splitlines(keepends=True)
    text = "".join(lines[:3] + [bad_line] + lines[3:])  # the bad row is line 4
    return load_mapping(_write(src, {"transactions.txt": text, "map.toml": MAP}))


def _bad_events(src: Path) -> ImportMap:
    bad = CSV_EVENTS.replace("Clicked Email", "Forwarded Email")
    files = {
        "events.csv": bad,
        "map.toml": EVENTS_MAP.replace('drop_unmapped = ["event_type"]\n', ""),
    }
    return load_mapping(_write(src, files))


def _bad_time(src: Path) -> ImportMap:
    files = {
        "orders.csv": "who,when,value\n1,2026-01-05,3\n2,1899-12-31,4\n2,yesterday,4\n",
        "map.toml": orders_map("orders.csv"),
    }
    return load_mapping(_write(src, files))


def _early_time(src: Path) -> ImportMap:
    files = {
        "orders.csv": "who,when,value\n1,2026-01-05,3\n2,1899-12-31 23:00:00+00:00,4\n",
        "map.toml": orders_map("orders.csv"),
    }
    return load_mapping(_write(src, files))


BAD: dict[str, Callable[[Path], ImportMap]] = {
    "bad-time-format": lambda s: _bad_log(s, " 00002 1997013X  1   12.00\n"),
    "bad-number": lambda s: _bad_log(s, " 00002 19970112  1   12,00x\n"),
    "bad-whole-number": lambda s: _bad_log(s, " 00002 19970112  1.5   12.00\n"),
    "below-0": lambda s: _bad_log(s, " 00002 19970112  1   -3.00\n"),
    "below-1": lambda s: _bad_log(s, " 00002 19970112  0   3.00\n"),
    "unknown-event-type": _bad_events,
    "unparsable-time": _bad_time,
    "time-outside-range": _early_time,
}


@needs_spark
@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_gives_the_same_error_on_spark(case: str, tmp_path: Path, spark: object) -> None:
    imap = BAD[case](tmp_path / "src")
    errors = []
    for engine in ("duckdb", spark):
        out = tmp_path / ("duck" if engine == "duckdb" else "spark")
        with pytest.raises(DataError) as info:
            import_world(imap, out, salt=SALT, engine=engine)
        errors.append(str(info.value))
        assert not out.exists()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{out.name}")]
    assert errors[0] == errors[1]
    print(errors[0])
    assert "line" in errors[0] or "row" in errors[0]


@needs_spark
@pytest.mark.slow
def test_cli_imports_on_spark(
    tmp_path: Path, spark: object, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = _write(tmp_path / "src", {"transactions.txt": TRANSACTIONS, "map.toml": MAP})
    argv = ["import", "--preset", "generic", "--map", str(mapping)]
    assert main([*argv, "--out", str(tmp_path / "duck")]) == 0
    duck_err = capsys.readouterr()
    assert main([*argv, "--engine", "spark", "--out", str(tmp_path / "spark")]) == 0
    spark_err = capsys.readouterr()
    assert spark_err.err == duck_err.err
    assert spark_err.out.replace(str(tmp_path / "spark"), str(tmp_path / "duck")) == duck_err.out
    _same_worlds(tmp_path / "duck", tmp_path / "spark")
    # a bad value: status 2, one line, nothing written
    bad = _bad_log(tmp_path / "bad", " 00002 19970112  1   -3.00\n")
    assert bad.tables
    argv = ["import", "--preset", "generic", "--map", str(tmp_path / "bad" / "map.toml")]
    assert main([*argv, "--engine", "spark", "--out", str(tmp_path / "w")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dollar_value (as revenue)" in err[0], err
    assert not (tmp_path / "w").exists()


CONNECT_SCRIPT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from pyspark.sql import SparkSession
import test_import_engine as T
from workbench.importers import import_world

spark = SparkSession.builder.remote("local[2]").getOrCreate()  # a local Spark Connect server
assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark)
root = Path(sys.argv[1])
for name in ("grouped-lines", "klaviyo"):
    imap = T.EXPORTS[name](root / name / "src")
    import_world(imap, root / name / "duck", salt=T.SALT)
    import_world(imap, root / name / "spark", salt=T.SALT, engine=spark)
    T._same_worlds(root / name / "duck", root / name / "spark")
print("same through Spark Connect")
"""


@needs_spark
@pytest.mark.slow
def test_spark_connect_import_gives_the_duckdb_world(tmp_path: Path) -> None:
    """Through the Spark Connect protocol (a local server; its own process, since a classic
    session runs in this one)."""
    out = run_apart(CONNECT_SCRIPT, tmp_path, str(tmp_path), str(Path(__file__).parent))
    assert "same through Spark Connect" in out


#: Texts the typing SQL meets: offsets in every spelling, epoch seconds with fractions, times
#: the clocks skip or repeat (Europe/Paris, 2026), numbers in Java's and DuckDB's spellings.
EDGE_TIMES = [
    "2026-01-07T10:00:00+01:00", "2026-01-07 10:00:00 +0530", "2026-01-07 10:00:00+05",
    "2026-01-07T10:00:00Z", "2026-01-07 10:00:00 UTC", "2026-01-07 10:00:00 GMT", "2026-01-07",
    "2026-01-07 10:00", "2026-01-07T10:00:00.123456", "1767949200", "1767949200.25",
    "1767949200.123456", "2026-03-29 02:30:00", "2026-10-25 02:30:00", "2026-10-25 01:59:59",
    "2026-10-25 03:00:00", "20260107", "junk", "2026-01-07T10:00:00.5+01:00", None,
]  # fmt: skip
EDGE_NUMBERS = [
    "1,234.50", "$8.00", "€ 12,5", "1.5", "1e3", "inf", "-Infinity", "NaN", "-nan", "-0",
    "12,00x", "1 234,50", "0x10", "1_000", "1__0", "9.3e18", "3.0", "1.5d", "2f", None,
]  # fmt: skip


@needs_spark
@pytest.mark.slow
def test_typing_sql_gives_duckdb_values_on_spark(spark: object) -> None:
    """The typing SQL of pass 2 and the hashes of pass 3, value by value (times to the
    microsecond, in a zone with daylight saving time; numbers in every format)."""
    import duckdb
    import pyarrow as pa

    from workbench.engine import DuckDBEngine, SparkEngine
    from workbench.importers.engine import _hash_sql, _typed_sql

    v = "nullif(trim(CAST(v AS VARCHAR)), '')"  # a source column as the import reads it
    times = [
        _typed_sql("ts", v, None, "Europe/Paris"),
        _typed_sql("ts", v, None, "UTC"),
        _typed_sql("ts", v, "%Y%m%d", "America/New_York"),
        _typed_sql("ts", v, "%Y-%m-%dT%H:%M:%S%z", "UTC"),
        _typed_sql("ts", v, "%Y-%m-%d %H:%M:%S %z", "UTC"),
        _typed_sql("ts", v, "%Y-%m-%d %H:%M:%S", "Europe/Paris"),
        _typed_sql("ts", v, "%Y-%m-%dT%H:%M:%S.%f", "Asia/Kolkata"),
        _hash_sql(v, "a-salt-of-8", lower=True),
        "regexp_full_match(v, '[+-]?[0-9]+')",
    ]
    numbers = [_typed_sql("float", v, None, "UTC"), _typed_sql("int", v, None, "UTC")]
    numbers += [_typed_sql("float", v, f, "UTC") for f in ("1,234.56", "1.234,56", "1 234,56")]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    engines = (DuckDBEngine(con), SparkEngine(spark))
    for values, exprs in ((EDGE_TIMES, times), (EDGE_NUMBERS, numbers)):
        t = pa.table({"v": pa.array(values, pa.string())})
        con.register("edge", t)
        engines[1].register("edge", t.to_pandas())
        sql = "SELECT v, " + ", ".join(f"{e} AS c{i}" for i, e in enumerate(exprs)) + " FROM edge"
        duck, on_spark = (e.frame(sql) for e in engines)
        assert duck["v"].tolist() == on_spark["v"].tolist()
        for i, e in enumerate(exprs):
            x, y = duck[f"c{i}"], on_spark[f"c{i}"]
            assert x.isna().tolist() == y.isna().tolist(), (e, values)
            same = [a == b for a, b in zip(x.dropna(), y.dropna(), strict=True)]
            assert all(same), (e, list(zip(values, x, y, strict=True)))
    engines[1].close()


# ---------------------------------------------------------------------- no Spark needed


def test_transpiler_rules_of_the_import() -> None:
    from workbench.engine import to_spark_sql

    sql = to_spark_sql(
        "SELECT try_strptime(v, '%Y%m%d'), timezone('Europe/Paris', try_strptime(v, '%d/%m/%Y')),"
        " regexp_full_match(v, '[0-9]+'), regexp_replace(v, '\\s+([+-]\\d{2})$', '\\1'),"
        " CAST(('0x' || substr(sha256(v), 1, 15)) AS BIGINT), isinf(x), trunc(x),"
        " count(DISTINCT row(a, b)) FROM t"
    )
    assert "TRY_TO_TIMESTAMP(v, 'yyyyMMdd')" in sql
    assert "TRY_TO_TIMESTAMP(v, 'dd/MM/yyyy')" in sql and "TIMEZONE" not in sql
    assert (
        "TO_UTC_TIMESTAMP(CAST(TRY_TO_TIMESTAMP(v, 'dd/MM/yyyy') AS TIMESTAMP), 'Europe/Paris')"
        in sql
    )
    assert "v RLIKE '^(?:[0-9]+)\\\\z'" in sql
    assert "'$1'" in sql
    assert "CAST(CONV(SUBSTRING(SHA2(v, 256), 1, 15), 16, 10) AS BIGINT)" in sql
    assert "ABS(x) = CAST('Infinity' AS DOUBLE)" in sql and "((x) - (x) % 1)" in sql
    assert "COUNT(DISTINCT STRUCT(a, b))" in sql


def test_unknown_engine_is_one_clear_error(tmp_path: Path) -> None:
    from workbench.errors import WorkbenchError

    imap = _whitespace_log(tmp_path / "src")
    with pytest.raises(WorkbenchError, match="unknown engine 'oracle'"):
        import_world(imap, tmp_path / "w", engine="oracle")
    assert not (tmp_path / "w").exists()


def test_duckdb_engine_is_the_default(tmp_path: Path) -> None:
    imap = _grouped_lines(tmp_path / "src")
    import_world(imap, tmp_path / "a")
    import_world(imap, tmp_path / "b", engine="duckdb")
    for table in TABLE_ORDER:
        a = tmp_path / "a" / f"{table}.parquet"
        if a.exists():
            assert (
                a.is_file() and a.read_bytes() == (tmp_path / "b" / f"{table}.parquet").read_bytes()
            )
