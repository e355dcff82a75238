"""Where the heavy, row-level queries run: DuckDB (embedded, the default), Spark, or a warehouse.

The workbench writes each row-level query once, in DuckDB's SQL: the features per subscriber
(:mod:`workbench.features`), the path aggregates of attribution, the counts per segment × arm of
a test, the stratified sample of a segmentation. An :class:`Engine` runs them where the data is
and returns what is small (aggregates, samples) as DataFrames; models are fitted locally on
those. :class:`DuckDBEngine` runs the SQL as it is; :class:`SparkEngine` transpiles it to Spark
SQL with SQLGlot (:func:`to_spark_sql`: the same query text, so the two cannot drift apart) and
runs it on a :class:`pyspark.sql.SparkSession`: local mode on this machine, a cluster, or a
Spark Connect server (``sc://host:15002``). :class:`IbisEngine` runs it in a warehouse
(BigQuery, Snowflake, Trino, ...) through an Ibis backend, transpiled to the backend's dialect
(:func:`transpile`), over tables that already live there (:func:`open_warehouse`).

Data enters every engine through the same door: a world folder is opened and checked against
the contract by :func:`workbench.db.open_tables` (DuckDB reads each Parquet file once for the
checks), then Spark reads the same files itself, with the contract's types and defaults. A
warehouse's tables get the same checks (:func:`workbench.validation.validate`), run in the
warehouse.

Examples
--------
>>> from workbench.engine import open_engine
>>> with open_engine("datasets/sample", "spark") as eng:  # doctest: +SKIP
...     eng.frame("SELECT count(*) AS n FROM subscribers")
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench import db
from workbench.errors import DataError, WorkbenchError
from workbench.schema import TABLES, World

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = [
    "ENGINES",
    "DuckDBEngine",
    "Engine",
    "IbisEngine",
    "SparkEngine",
    "as_engine",
    "open_engine",
    "open_warehouse",
    "spark_session",
    "to_spark_sql",
    "transpile",
]

#: Engines by name (``--engine``); a :class:`pyspark.sql.SparkSession` is accepted as well.
ENGINES: tuple[str, ...] = ("duckdb", "spark")

#: Rows per batch handed to a function by :meth:`Engine.map_batches`.
BATCH_ROWS = 200_000

_SPARK_TYPES = {
    "int": "bigint",
    "float": "double",
    "str": "string",
    "bool": "boolean",
    "ts": "timestamp",
}

BatchFn = Callable[[pd.DataFrame], pd.DataFrame]


class Engine(ABC):
    """Runs DuckDB-dialect SQL over the views of a world's tables, wherever they live.

    Subclasses implement :meth:`arrow`, :meth:`columns`, :meth:`register`, :meth:`view`,
    :meth:`materialize`, :meth:`map_batches` and :meth:`write_parquet`; the queries are
    written once, in DuckDB's dialect, and each engine runs them as they are or transpiled.
    """

    #: Engine name (a member of :data:`ENGINES`).
    name: str = ""

    @abstractmethod
    def arrow(self, sql: str) -> pa.Table:
        """The result of a query (DuckDB dialect), collected as an Arrow table."""

    def frame(self, sql: str) -> pd.DataFrame:
        """The result of a query (DuckDB dialect), collected as a DataFrame."""
        return self.arrow(sql).to_pandas()

    def scalar(self, sql: str) -> Any:
        """The first value of a query's first row (``None`` without rows)."""
        t = self.arrow(sql)
        return t.column(0)[0].as_py() if t.num_rows else None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a (small) query, as tuples."""
        t = self.arrow(sql)
        return list(zip(*[c.to_pylist() for c in t.columns], strict=True))

    @abstractmethod
    def columns(self, table: str) -> list[str]:
        """Column names of a table or view."""

    @abstractmethod
    def register(self, name: str, df: pd.DataFrame) -> None:
        """Make a (small) local DataFrame a view ``name`` of the engine."""

    @abstractmethod
    def view(self, name: str, sql: str) -> None:
        """Name a query (DuckDB dialect): later queries read it as the view ``name``."""

    @abstractmethod
    def materialize(self, name: str, sql: str) -> None:
        """Compute a query (DuckDB dialect) once and keep it as ``name`` for later queries."""

    @abstractmethod
    def map_batches(
        self, name: str, sql: str, fn: BatchFn, schema: Sequence[tuple[str, str]]
    ) -> None:
        """The view ``name``: ``fn`` applied to the rows of ``sql`` batch by batch, in the engine.

        Parameters
        ----------
        name : str
            The view created.
        sql : str
            The rows to transform (DuckDB dialect).
        fn : callable
            DataFrame -> DataFrame, applied to batches of rows (where the data is: Spark's
            executors run it as a vectorised Arrow UDF). It must treat every row on its own,
            so that the result does not depend on how the rows are batched.
        schema : sequence of (str, str)
            The columns ``fn`` returns and their types: ``int``, ``float``, ``str``.
        """

    @abstractmethod
    def write_parquet(self, sql: str, path: str | Path) -> None:
        """Write the result of a query where the engine runs (a file, or a folder of parts)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the engine's resources (a local Spark session is kept for reuse)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --------------------------------------------------------------------------------------- DuckDB


class DuckDBEngine(Engine):
    """The embedded engine: a DuckDB connection with the views of :mod:`workbench.db`.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A connection whose views are the world's tables (:func:`workbench.db.world_connection`).
    owned : bool, default True
        Close the connection with the engine.
    """

    name = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, owned: bool = True) -> None:
        self.con = con
        self.owned = owned

    def arrow(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def frame(self, sql: str) -> pd.DataFrame:
        return self.con.execute(sql).df()

    def scalar(self, sql: str) -> Any:
        row = self.con.execute(sql).fetchone()
        return None if row is None else row[0]

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.con.execute(sql).fetchall()]

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self.con.execute(f"DESCRIBE {table}").fetchall()]

    def register(self, name: str, df: pd.DataFrame) -> None:
        self.con.register(f"_wb_frame_{name}", df)
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM _wb_frame_{name}")

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def map_batches(
        self, name: str, sql: str, fn: BatchFn, schema: Sequence[tuple[str, str]]
    ) -> None:
        import pyarrow as pa

        arrow_schema = _arrow_schema(schema)
        reader = self.con.sql(sql).to_arrow_reader(BATCH_ROWS)
        parts = [
            pa.Table.from_pandas(fn(batch.to_pandas()), schema=arrow_schema, preserve_index=False)
            for batch in reader
        ]
        table = pa.concat_tables(parts) if parts else arrow_schema.empty_table()
        self.con.register(f"_wb_mapped_{name}", table)
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM _wb_mapped_{name}")

    def write_parquet(self, sql: str, path: str | Path) -> None:
        self.con.execute(f"COPY ({sql}) TO {db.sql_string(str(path))} (FORMAT parquet)")

    def close(self) -> None:
        if self.owned:
            self.con.close()


# ---------------------------------------------------------------------------------------- Spark


@functools.lru_cache(maxsize=256)
def to_spark_sql(sql: str) -> str:
    """A DuckDB query transpiled to Spark SQL (SQLGlot, with the workbench's own rules).

    SQLGlot translates the dialect; the rules below keep the results equal to DuckDB's where
    SQLGlot's translation differs or Spark lacks the function:

    - ``epoch_us`` becomes Spark's ``unix_micros``; decimal literals (``7.0``) become doubles,
      since Spark divides decimals at a fixed scale (six digits) where DuckDB divides in floating
      point;
    - ``regexp_full_match(x, p)`` becomes ``x RLIKE '^(?:p)\\z'`` (anchored at both ends);
      ``regexp_replace``'s back-references ``\\1`` become Java's ``$1`` (Spark replaces every
      match, as DuckDB's ``'g'`` flag: without it, use a pattern that matches once);
    - ``try_strptime(x, fmt)`` / ``strptime`` become ``try_to_timestamp`` / ``to_timestamp``
      with the strftime format converted to a Java pattern (``%Y%m%d`` -> ``yyyyMMdd``; ``%z``
      -> an offset ``+01:00``, ``+0100`` or ``+01``); ``timezone(zone, ts)`` of a naive time (a
      ``strptime`` without ``%z``, a cast to ``TIMESTAMP``) becomes ``to_utc_timestamp(ts,
      zone)`` (the session time zone must be UTC), taking DuckDB's later offset for a time that
      the clocks going back repeat;
    - ``try_cast(text AS DOUBLE)`` (text by its form: a text function or cast) refuses Java's
      suffixes (``1.5d``) and takes underscores between digits (``1_000``) and a signed ``nan``,
      as DuckDB;
    - ``to_timestamp(seconds)`` keeps the microseconds (``timestamp_micros`` of the rounded
      product), where SQLGlot's ``from_unixtime`` drops the fraction;
    - ``trunc(x)`` of a number stays a truncation (``x - x % 1``, no cast to BIGINT that would
      overflow), ``isinf(x)`` becomes ``abs(x) = 'Infinity'``, ``row(a, b)`` a ``struct``,
      ``regexp_split_to_array`` Spark's ``split`` (a regular expression too);
    - ``CAST('0x' || hex AS BIGINT)`` becomes ``CAST(conv(hex, 16, 10) AS BIGINT)``;
    - ``json_valid(x)`` becomes ``try_parse_json(x) IS NOT NULL`` (NULL for NULL), and
      ``list_sum(CAST(json_extract(x, '$[*].k') AS T[]))`` sums the ``k`` of each element.

    DuckDB's ``* REPLACE``, ``* EXCLUDE`` and ``UNION ALL BY NAME`` have no Spark SQL form
    without the columns' names: queries meant for Spark spell their columns out.
    """
    import re

    import sqlglot
    import sqlglot.errors
    from sqlglot import exp

    java = {"Y": "yyyy", "y": "yy", "m": "MM", "-m": "M", "d": "dd", "-d": "d", "e": "d",
            "H": "HH", "-H": "H", "I": "hh", "-I": "h", "M": "mm", "-M": "m", "S": "ss",
            "-S": "s", "f": "SSSSSS", "p": "a", "b": "MMM", "h": "MMM", "B": "MMMM",
            "a": "EEE", "A": "EEEE", "j": "DDD", "z": "[xxx][xx][x]", "Z": "z"}  # fmt: skip

    def java_pattern(fmt: str) -> str:
        out, text = [], []

        def flush() -> None:
            if text:
                s = "".join(text)
                out.append(
                    s if re.fullmatch(r"[ \-/:.,]*", s) else "'" + s.replace("'", "''") + "'"
                )
                text.clear()

        i = 0
        while i < len(fmt):
            if fmt[i] == "%" and i + 1 < len(fmt):
                d = fmt[i + 1 : i + 3] if fmt[i + 1] == "-" else fmt[i + 1]
                if d == "%":
                    text.append("%")
                elif d in java:
                    flush()
                    out.append(java[d])
                else:
                    raise sqlglot.errors.UnsupportedError(
                        f"strptime format {fmt!r}: %{d} has no Spark equivalent"
                    )
                i += 1 + len(d)
            else:
                text.append(fmt[i])
                i += 1
        flush()
        return "".join(out)

    def fn(node: exp.Expression, name: str) -> bool:
        return isinstance(node, exp.Anonymous) and node.name.upper() == name

    def naive(node: exp.Expression) -> bool:
        if fn(node, "TRY_STRPTIME") or fn(node, "STRPTIME") or isinstance(node, exp.StrToTime):
            f = node.expressions[1] if isinstance(node, exp.Anonymous) else node.args["format"]
            return isinstance(f, exp.Literal) and not re.search("%[zZ]", f.this)
        if isinstance(node, exp.Cast | exp.TryCast):
            return node.to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPNTZ)
        return isinstance(node, exp.Paren) and naive(node.this)

    def is_text(node: exp.Expression) -> bool:
        """Whether an expression is text by its form (a text function, a cast to text)."""
        node = node.unnest()
        if isinstance(node, exp.Cast | exp.TryCast):
            return node.to.is_type(*exp.DataType.TEXT_TYPES)
        if isinstance(node, exp.Nullif | exp.Coalesce):
            return is_text(node.this)
        if isinstance(node, exp.Case):
            values = [i.args["true"] for i in node.args["ifs"]] + [node.args.get("default")]
            return all(v is None or isinstance(v, exp.Null) or is_text(v) for v in values)
        if isinstance(node, exp.Literal):
            return node.is_string
        return isinstance(
            node,
            exp.RegexpReplace | exp.Replace | exp.Trim | exp.Lower | exp.Upper | exp.Substring
            | exp.DPipe | exp.Concat,
        )  # fmt: skip

    def sub(node: exp.Expression) -> exp.Expression:
        return node.transform(rule)

    def rule(node: exp.Expression) -> exp.Expression:
        kept = _same_numbers(node, sub)
        if kept is not None:
            return kept
        if (fn(node, "TRY_STRPTIME") or fn(node, "STRPTIME")) and len(node.expressions) == 2:
            value, f = node.expressions
            if isinstance(f, exp.Literal) and f.is_string:
                name = "TRY_TO_TIMESTAMP" if fn(node, "TRY_STRPTIME") else "TO_TIMESTAMP"
                return exp.Anonymous(
                    this=name, expressions=[sub(value), exp.Literal.string(java_pattern(f.this))]
                )
        if isinstance(node, exp.StrToTime) and isinstance(node.args.get("format"), exp.Literal):
            name = "TRY_TO_TIMESTAMP" if node.args.get("safe") else "TO_TIMESTAMP"
            pattern = java_pattern(node.args["format"].this)
            return exp.Anonymous(
                this=name, expressions=[sub(node.this), exp.Literal.string(pattern)]
            )
        if fn(node, "TIMEZONE") and len(node.expressions) == 2 and naive(node.expressions[1]):
            # Java takes the earlier offset of a time repeated when the clocks go back, DuckDB
            # (ICU) the later one: the later instant, when it maps back to the same time
            zone, ts = (sub(e).sql(dialect="spark") for e in node.expressions)
            first = f"TO_UTC_TIMESTAMP({ts}, {zone})"
            later = f"TO_UTC_TIMESTAMP({ts} + INTERVAL 3 HOURS, {zone}) - INTERVAL 3 HOURS"
            return sqlglot.parse_one(
                f"CASE WHEN FROM_UTC_TIMESTAMP({later}, {zone}) = {ts}"
                f" THEN GREATEST({first}, {later}) ELSE {first} END",
                read="spark",
            )
        if (
            isinstance(node, exp.TryCast)
            and node.to.this == exp.DataType.Type.DOUBLE
            and is_text(node.this)
        ):
            # text as DuckDB reads it: no Java suffix (1.5d, 2f), underscores between digits,
            # a signed nan
            x = f"CAST({sub(node.this).sql(dialect='spark')} AS STRING)"
            pattern = r"'(?<=[0-9])_(?=[0-9])|^\\s*[+-](?=[nN][aA][nN]\\s*$)'"  # Spark SQL text
            x = f"REGEXP_REPLACE({x}, {pattern}, '')"
            return sqlglot.parse_one(
                rf"TRY_CAST(CASE WHEN {x} RLIKE '[0-9.][dDfF]\\s*$' THEN NULL ELSE {x} END"
                " AS DOUBLE)",
                read="spark",
            )
        if isinstance(node, exp.RegexpFullMatch):
            pattern = node.expression
            if isinstance(pattern, exp.Literal) and pattern.is_string:
                anchored = exp.Literal.string(f"^(?:{pattern.this})\\z")
                return exp.RegexpLike(this=sub(node.this), expression=anchored)
        if isinstance(node, exp.RegexpReplace):
            rep = node.args.get("replacement")
            if isinstance(rep, exp.Literal) and rep.is_string:
                text = re.sub(r"\\(\d)", r"$\1", rep.this.replace("$", "\\$"))
                return exp.RegexpReplace(
                    this=sub(node.this),
                    expression=sub(node.expression),
                    replacement=exp.Literal.string(text),
                )
        if isinstance(node, exp.UnixToTime) and not node.args.get("scale"):
            micros = exp.cast(
                exp.Round(this=exp.Mul(this=exp.Paren(this=sub(node.this)),
                                       expression=exp.Literal.number(1000000))),
                exp.DataType.build("bigint"),
            )  # fmt: skip
            return exp.Anonymous(this="TIMESTAMP_MICROS", expressions=[micros])
        if isinstance(node, exp.Trunc) and not node.args.get("decimals"):
            x = exp.Paren(this=sub(node.this))
            mod = exp.Mod(this=x.copy(), expression=exp.Literal.number(1))
            return exp.Paren(this=exp.Sub(this=x, expression=mod))
        if isinstance(node, exp.IsInf):
            inf = exp.cast(exp.Literal.string("Infinity"), exp.DataType.build("double"))
            return exp.EQ(this=exp.Abs(this=sub(node.this)), expression=inf)
        if fn(node, "REGEXP_SPLIT_TO_ARRAY") and len(node.expressions) == 2:
            return exp.Anonymous(this="SPLIT", expressions=[sub(e) for e in node.expressions])
        if fn(node, "ROW"):
            return exp.Anonymous(this="STRUCT", expressions=[sub(e) for e in node.expressions])
        if (
            isinstance(node, exp.Cast)
            and node.to.this == exp.DataType.Type.BIGINT
            and isinstance(node.this.unnest(), exp.DPipe)
        ):
            pipe = node.this.unnest()
            if isinstance(pipe.this, exp.Literal) and pipe.this.this.lower() == "0x":
                conv = exp.Anonymous(
                    this="CONV",
                    expressions=[sub(pipe.expression), exp.Literal.number(16),
                                 exp.Literal.number(10)],
                )  # fmt: skip
                return exp.cast(conv, exp.DataType.build("bigint"))
        if fn(node, "JSON_VALID") and len(node.expressions) == 1:
            x = sub(node.expressions[0])
            parsed = exp.Anonymous(this="TRY_PARSE_JSON", expressions=[x.copy()])
            return exp.Case(
                ifs=[exp.If(this=exp.Is(this=x, expression=exp.Null()), true=exp.Null())],
                default=exp.Not(this=exp.Is(this=parsed, expression=exp.Null())),
            )
        if fn(node, "LIST_SUM") and len(node.expressions) == 1:
            arg = node.expressions[0]
            if isinstance(arg, exp.Cast) and arg.to.this == exp.DataType.Type.ARRAY:
                elem = arg.to.expressions[0]
                src = arg.this
                if isinstance(src, exp.JSONExtract) and isinstance(src.expression, exp.JSONPath):
                    path = src.expression.sql(dialect="duckdb").strip("'")
                    m = re.fullmatch(r"\$\[\*\]\.(\w+)", path)
                    if m:
                        lam = sqlglot.parse_one(
                            f"SELECT AGGREGATE(TRANSFORM(FROM_JSON(_wb_json, 'ARRAY<STRING>'),"
                            f" e -> TRY_CAST(GET_JSON_OBJECT(e, '$.{m.group(1)}') AS"
                            f" {elem.sql(dialect='spark')})), CAST(NULL AS"
                            f" {elem.sql(dialect='spark')}), (acc, v) -> CASE WHEN v IS NULL"
                            " THEN acc ELSE COALESCE(acc, 0) + v END)",
                            read="spark",
                        ).expressions[0]
                        for col in lam.find_all(exp.Column):
                            if col.name == "_wb_json":
                                col.replace(sub(src.this))
                                break
                        return lam
        return node

    tree = sqlglot.parse_one(sql, read="duckdb")
    return tree.transform(rule).sql(dialect="spark")


def _require_spark() -> None:
    """One clear line when PySpark or Java is missing."""
    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        raise WorkbenchError(
            "engine 'spark' needs PySpark and SQLGlot: pip install 'workbench[spark]'"
        ) from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
        raise WorkbenchError(
            "engine 'spark' needs a Java runtime (17 or 21) for local mode: on Debian, "
            "apt-get install openjdk-17-jre-headless (or give a Spark Connect URL sc://...)"
        )


def spark_session(master: str | None = None) -> Any:
    """A Spark session: local mode on every core (default), a master URL, or Spark Connect.

    Parameters
    ----------
    master : str, optional
        ``"local[N]"``, a cluster's master URL (``spark://host:7077``, ``yarn``), or a Spark
        Connect URL (``sc://host:15002``). Default: ``local[*]`` (this machine's cores), or the
        active session when there is one.

    Returns
    -------
    pyspark.sql.SparkSession
        With the session time zone UTC, as the workbench's DuckDB connections.
    """
    if master is None or not master.startswith("sc://"):
        _require_spark()
    from pyspark.sql import SparkSession

    if master is None:
        active = SparkSession.getActiveSession()
        if active is not None:
            active.conf.set("spark.sql.session.timeZone", "UTC")
            return active
    # the Python workers of local mode run this interpreter (the workbench's environment)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder
    if master is not None and master.startswith("sc://"):
        builder = builder.remote(master)
    else:
        if master is None or master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # one machine: no network
        log4j = Path(__file__).with_name("spark-log4j2.properties")
        builder = (
            builder.master(master or "local[*]")
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log4j.as_uri()}")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(max(4, 2 * (os.cpu_count() or 1))))
            .config("spark.driver.memory", os.environ.get("WORKBENCH_SPARK_MEMORY", "4g"))
        )
    spark = builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    if master is None or not master.startswith("sc://"):
        spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine(Engine):
    """Spark: the same queries, transpiled to Spark SQL (:func:`to_spark_sql`).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
        A session (:func:`spark_session`: local mode, a cluster or Spark Connect).
    """

    name = "spark"

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self._views: list[str] = []
        self._cached: list[Any] = []

    def _df(self, sql: str) -> Any:
        return self.spark.sql(to_spark_sql(sql))

    def arrow(self, sql: str) -> pa.Table:
        return self._df(sql).toArrow()

    def columns(self, table: str) -> list[str]:
        return list(self.spark.table(table).columns)

    def register(self, name: str, df: pd.DataFrame) -> None:
        import pyarrow as pa

        table = pa.Table.from_pandas(df, preserve_index=False)
        self._temp(name, self.spark.createDataFrame(table))

    def view(self, name: str, sql: str) -> None:
        self._temp(name, self._df(sql))

    def materialize(self, name: str, sql: str) -> None:
        from pyspark import StorageLevel

        sdf = self._df(sql).persist(StorageLevel.MEMORY_AND_DISK)
        sdf.count()  # computed now, once
        self._cached.append(sdf)
        self._temp(name, sdf)

    def map_batches(
        self, name: str, sql: str, fn: BatchFn, schema: Sequence[tuple[str, str]]
    ) -> None:
        arrow_schema = _arrow_schema(schema)
        ddl = ", ".join(f"{c} {_SPARK_TYPES[k]}" for c, k in schema)

        def apply(batches: Iterator[Any]) -> Iterator[Any]:
            import pyarrow as pa

            for batch in batches:
                out = fn(batch.to_pandas())
                yield from pa.Table.from_pandas(
                    out, schema=arrow_schema, preserve_index=False
                ).to_batches()

        self._temp(name, self._df(sql).mapInArrow(apply, ddl))

    def write_parquet(self, sql: str, path: str | Path) -> None:
        # Spark's default mode refuses an existing path (Spark Connect knows no "errorifexists")
        self._df(sql).write.parquet(str(path))

    def _temp(self, name: str, sdf: Any) -> None:
        sdf.createOrReplaceTempView(name)
        self._views.append(name)

    def close(self) -> None:
        for sdf in self._cached:
            sdf.unpersist()
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        self._views.clear()
        self._cached.clear()

    # ------------------------------------------------------------------------ world tables
    def open_world(self, root: Path, names: Sequence[str]) -> set[str]:
        """Check the tables of a world folder through :mod:`workbench.db`, then read them.

        Returns the names opened; tables the folder lacks are left to the caller.
        """
        con = db.connect()
        try:
            opened = db.open_tables(con, root, names)
        finally:
            con.close()
        for name, rel in opened.items():
            if rel.frame is not None:
                self._temp(name, self._contract_df(name, self._from_frame(rel.to_frame())))
            else:
                reader = self.spark.read.option("mergeSchema", "true")
                sdf = reader.parquet(*[str(f) for f in rel.files])
                self._temp(name, self._contract_df(name, sdf))
        return set(opened)

    def register_world(self, world: World, names: Sequence[str]) -> set[str]:
        """A loaded (already checked) world's tables among ``names``; returns those present."""
        present = set()
        for name in names:
            if name in world:
                self._temp(name, self._contract_df(name, self._from_frame(world[name])))
                present.add(name)
        return present

    def register_empty(self, name: str) -> None:
        """An empty view with the contract's required columns and types."""
        schema = TABLES[name]
        ddl = ", ".join(f"{c.name} {_SPARK_TYPES[c.kind]}" for c in schema.columns if c.required)
        self._temp(name, self.spark.createDataFrame([], ddl))

    def _from_frame(self, df: pd.DataFrame) -> Any:
        import pyarrow as pa

        return self.spark.createDataFrame(pa.Table.from_pandas(df, preserve_index=False))

    def _contract_df(self, name: str, sdf: Any) -> Any:
        """Contract columns cast to their Spark types; absent columns with a default added."""
        from pyspark.sql import functions as F

        table = TABLES[name]
        present = set(sdf.columns)
        cols = []
        for c in sdf.columns:
            col = table.column(c) if c in table.column_names else None
            if col is None or col.kind not in _SPARK_TYPES:
                cols.append(F.col(c))
            else:
                cols.append(F.col(c).cast(_SPARK_TYPES[col.kind]).alias(c))
        for col in table.columns:
            if col.name not in present and col.default is not None:
                cols.append(F.lit(col.default).cast(_SPARK_TYPES[col.kind]).alias(col.name))
        return sdf.select(*cols)


def _arrow_schema(schema: Sequence[tuple[str, str]]) -> pa.Schema:
    import pyarrow as pa

    types = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}
    return pa.schema([(c, types[k]) for c, k in schema])


# ----------------------------------------------------------------------------------- warehouses


def transpile(sql: str, dialect: Any) -> str:
    """A DuckDB query in another SQL dialect (SQLGlot), with the workbench's rules.

    ``epoch_us`` becomes SQLGlot's ``UnixMicros`` (``UNIX_MICROS`` in BigQuery, Spark and
    Databricks) and decimal literals become doubles, as in :func:`to_spark_sql`.

    Parameters
    ----------
    sql : str
        The query, in DuckDB's dialect.
    dialect : str or sqlglot Dialect
        The target (``"bigquery"``, ``"snowflake"``, an Ibis backend's ``dialect``, ...).
    """
    import sqlglot
    from sqlglot import exp

    def sub(node: exp.Expression) -> exp.Expression:
        return node.transform(rule)

    def rule(node: exp.Expression) -> exp.Expression:
        kept = _same_numbers(node, sub)
        return node if kept is None else kept

    return sqlglot.parse_one(sql, read="duckdb").transform(rule).sql(dialect=dialect)


def _same_numbers(node: Any, sub: Callable[[Any], Any]) -> Any | None:
    """The rules every dialect needs to give DuckDB's numbers (``None``: not for ``node``).

    ``epoch_us(ts)`` becomes SQLGlot's ``UnixMicros`` (its argument rewritten by ``sub``), and a
    decimal literal (``7.0``) a double: Spark, for one, divides decimals at a fixed scale.
    """
    from sqlglot import exp

    if isinstance(node, exp.Anonymous) and node.name.upper() == "EPOCH_US":
        return exp.UnixMicros(this=sub(node.expressions[0]))
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.this:
        if "e" not in node.this.lower():
            return exp.cast(node.copy(), exp.DataType.build("double"))
    return None


class _WarehouseRelation(db.Relation):
    """A warehouse table being checked: its rows have no file or line, so they are named by
    the table's id (``order_id 17``) where it has one, else shown by their values alone."""

    @property
    def _id(self) -> str | None:
        ids = [c.name for c in TABLES[self.name].columns if c.unique and c.name in self.stored]
        return ids[0] if ids else None

    def scan(self, rows: bool = False) -> str:
        if not rows:
            return self.raw
        row = f"CAST({self._id} AS BIGINT)" if self._id else "CAST(NULL AS BIGINT)"
        return f"(SELECT *, CAST(NULL AS VARCHAR) AS _wb_file, {row} AS _wb_row FROM {self.raw})"

    def labels(self, rows: Sequence[tuple[str | None, int]]) -> list[str]:
        if self._id is None:
            return ["a row"] * len(rows)
        return [f"{self._id} {r}" for _, r in rows]


class IbisEngine(Engine):
    """A warehouse (BigQuery, Snowflake, Trino, PostgreSQL, Databricks, ...) through Ibis.

    The queries are the same DuckDB-dialect SQL, transpiled to the backend's dialect
    (:func:`to_spark_sql` for Spark and Databricks, else :func:`transpile`) and run by the
    backend (``backend.sql(...)``). Nothing is written to
    the warehouse for a view: :meth:`view` and :meth:`materialize` are kept here and sent as
    common table expressions with each query that reads them (a materialized view is therefore
    computed again by each query). Local frames (:meth:`register`) and the output of
    :meth:`map_batches` become temporary tables of the session, dropped by :meth:`close`;
    :meth:`map_batches` streams the rows through this machine.

    Parameters
    ----------
    backend : ibis.BaseBackend
        A connected Ibis backend, e.g. ``ibis.bigquery.connect(project_id=..., dataset_id=...)``
        or ``ibis.connect("snowflake://...")``.
    tables : mapping of str to str, optional
        The warehouse table holding each contract table (e.g. ``{"email_events":
        "marts.email_events_v2"}``); by default the contract's names (:data:`TABLES`), in
        ``database``.
    database : str, optional
        The backend's database (or dataset, or ``catalog.schema``) holding the tables.

    Notes
    -----
    Tested with Ibis's PySpark backend; other backends run the same transpiled SQL, so a SQL
    function a dialect lacks fails there with the backend's own message.
    """

    name = "ibis"

    def __init__(
        self, backend: Any, tables: Mapping[str, str] | None = None, database: str | None = None
    ) -> None:
        self.backend = backend
        self.dialect = backend.dialect
        self.tables = dict(tables or {})
        self.database = database
        self._views: dict[str, str] = {}  # name -> DuckDB SQL, in order of definition
        self._temp: dict[str, str] = {}  # uploaded name -> "table" or "view"

    # -- SQL ---------------------------------------------------------------------------------
    def _with_views(self, sql: str) -> str:
        """``sql`` preceded by the views it reads (and those they read), as CTEs."""
        import sqlglot
        from sqlglot import exp

        tree = sqlglot.parse_one(sql, read="duckdb")
        if isinstance(tree, exp.Select):  # unnamed results get names (backends want them)
            for i, e in enumerate(tree.expressions):
                if not isinstance(e, exp.Alias | exp.Column | exp.Star):
                    e.replace(exp.alias_(e.copy(), f"_wb_c{i}"))
        trees = {n: sqlglot.parse_one(v, read="duckdb") for n, v in self._views.items()}
        needed: set[str] = set()
        todo = [t.name for t in tree.find_all(exp.Table)]
        while todo:
            n = todo.pop()
            if n in trees and n not in needed:
                needed.add(n)
                todo += [t.name for t in trees[n].find_all(exp.Table)]
        if not needed:
            return tree.sql(dialect="duckdb")
        ctes = [
            exp.CTE(this=trees[n], alias=exp.TableAlias(this=exp.to_identifier(n)))
            for n in self._views
            if n in needed
        ]
        if not isinstance(tree, exp.Select):
            tree = exp.select("*").from_(tree.subquery("_wb_q"))
        own = tree.args.get("with_")
        tree.set("with_", exp.With(expressions=ctes + (list(own.expressions) if own else [])))
        return tree.sql(dialect="duckdb")

    def _expr(self, sql: str) -> Any:
        from sqlglot.dialects.spark import Spark

        sql = self._with_views(sql)
        spark = isinstance(self.dialect, type) and issubclass(self.dialect, Spark)
        return self.backend.sql(to_spark_sql(sql) if spark else transpile(sql, self.dialect))

    def arrow(self, sql: str) -> pa.Table:
        return self._expr(sql).to_pyarrow()

    def columns(self, table: str) -> list[str]:
        return list(self._expr(f"SELECT * FROM {table} LIMIT 0").columns)

    def view(self, name: str, sql: str) -> None:
        self._views.pop(name, None)
        self._views[name] = sql

    def materialize(self, name: str, sql: str) -> None:
        self.view(name, sql)

    def register(self, name: str, df: pd.DataFrame) -> None:
        import pyarrow as pa

        self._upload(name, pa.Table.from_pandas(df, preserve_index=False))

    def map_batches(
        self, name: str, sql: str, fn: BatchFn, schema: Sequence[tuple[str, str]]
    ) -> None:
        import pyarrow as pa

        arrow_schema = _arrow_schema(schema)
        parts = [
            pa.Table.from_pandas(fn(b.to_pandas()), schema=arrow_schema, preserve_index=False)
            for b in self._expr(sql).to_pyarrow_batches(chunk_size=BATCH_ROWS)
        ]
        self._upload(name, pa.concat_tables(parts) if parts else arrow_schema.empty_table())

    def write_parquet(self, sql: str, path: str | Path) -> None:
        self.backend.to_parquet(self._expr(sql), str(path))

    def _upload(self, name: str, table: pa.Table) -> None:
        """A temporary table of the session (a view of an in-memory table where the backend
        has no temporary tables, e.g. PySpark: a temporary view)."""
        import ibis

        self._views.pop(name, None)
        try:
            self.backend.create_table(name, table, temp=True, overwrite=True)
            self._temp[name] = "table"
        except NotImplementedError:
            memtable = ibis.memtable(table)
            self.backend.create_view(name, memtable, overwrite=True)
            self._temp[name] = "view"
            self._temp[memtable.get_name()] = "view"  # the backend's view of the memtable

    def close(self) -> None:
        for name, kind in self._temp.items():
            # a temporary table may have gone with the session already
            with contextlib.suppress(Exception):
                if kind == "table":
                    self.backend.drop_table(name, force=True)
                else:  # Ibis 12's PySpark drop_view writes no name: plain SQL
                    self.backend.raw_sql(f"DROP VIEW IF EXISTS {name}")
        self._temp.clear()
        self._views.clear()

    # -- the contract's tables -----------------------------------------------------------------
    def open_tables(self, names: Sequence[str]) -> set[str]:
        """A view per contract table among ``names`` that the warehouse holds; returns those.

        Each table goes through the contract's door where it lies: its column types
        (:func:`~workbench.validation.check_stored_type`), then every check of
        :func:`~workbench.validation.validate` (the same SQL, run in the warehouse, one scan
        per table; references to the tables opened before it). The view then selects the
        contract's columns cast to their types, with the contract's defaults.
        """
        from workbench.schema import TABLE_ORDER
        from workbench.validation import check_stored_type, require_columns, validate

        have = set(self.backend.list_tables(database=self.database))
        checked: dict[str, db.Relation] = {}
        for name in (t for t in TABLE_ORDER if t in names):
            table = self.tables.get(name, name)
            if table not in have:
                if name in self.tables:
                    raise DataError(self._where(table), None, "table not found")
                continue
            where = self._where(table)
            arrow = self._expr(f"SELECT * FROM {where} LIMIT 0").schema().to_pyarrow()
            contract = TABLES[name]
            require_columns(arrow.names, contract, where)
            stored = {
                c.name: check_stored_type(where, c, arrow.field(c.name).type)
                for c in contract.columns
                if c.name in arrow.names
            }
            rel = _WarehouseRelation(name, where, stored)
            self.view(rel.raw, f"SELECT {', '.join(stored)} FROM {where}")
            validate(self, rel, checked)
            checked[name] = rel
            exprs = []
            for c in contract.columns:
                kind = db._DUCK_TYPES[c.kind]
                if c.name in stored:
                    exprs.append(f"CAST({c.name} AS {kind}) AS {c.name}")
                elif c.default is not None:
                    exprs.append(f"CAST({db._sql_literal(c.default)} AS {kind}) AS {c.name}")
            self.view(name, f"SELECT {', '.join(exprs)} FROM {rel.raw}")
        return set(checked)

    def _where(self, table: str) -> str:
        return f"{self.database}.{table}" if self.database else table

    def register_empty(self, name: str) -> None:
        """An empty view with the contract's required columns and types."""
        cols = ", ".join(
            f"CAST(NULL AS {db._DUCK_TYPES[c.kind]}) AS {c.name}"
            for c in TABLES[name].columns
            if c.required
        )
        self.view(name, f"SELECT {cols} WHERE false")


# ------------------------------------------------------------------------------------ opening


def as_engine(con: duckdb.DuckDBPyConnection | Engine) -> Engine:
    """An :class:`Engine` over a DuckDB connection of :mod:`workbench.db` (not closed by it)."""
    return con if isinstance(con, Engine) else DuckDBEngine(con, owned=False)


def _spark_of(engine: object) -> Any | None:
    """The Spark session named by ``engine`` (``"spark"``, a URL, a session), else ``None``."""
    if isinstance(engine, str):
        if engine == "spark":
            return spark_session()
        if engine.startswith(("sc://", "local[", "spark://", "yarn")):
            return spark_session(engine)
        return None
    if type(engine).__name__ == "SparkSession":
        return engine
    return None


@contextmanager
def open_engine(
    world: str | Path | World,
    engine: str | Any = "duckdb",
    tables: Sequence[str] = db.EVENT_TABLES,
    segments: pd.Series | None = None,
) -> Iterator[Engine]:
    """An engine with one view per table of a world, checked against the contract.

    Parameters
    ----------
    world : path or World
        A world folder (Parquet files, folders of parts, CSV exports) or a loaded world.
    engine : {"duckdb", "spark"}, a Spark URL, or a SparkSession
        ``"duckdb"`` (default): the embedded engine, :func:`workbench.db.session`.
        ``"spark"``: local Spark on this machine's cores (:func:`spark_session`); a master URL
        (``local[2]``, ``spark://host:7077``, ``yarn``), a Spark Connect URL
        (``sc://host:15002``) or an existing ``SparkSession`` run on that cluster.
    tables : sequence of str, default :data:`workbench.db.EVENT_TABLES`
        Contract tables to open (``subscribers`` always); absent ones (other than
        ``subscribers``) are empty views with the contract's columns.
    segments : Series, optional
        Segment of each subscriber (indexed by ``subscriber_id``): the view
        ``seg(subscriber_id, segment)``, labels as text.

    Yields
    ------
    Engine

    Raises
    ------
    WorkbenchError
        An unknown engine, a missing world folder, Spark without PySpark or Java.
    DataError
        When ``subscribers`` is missing or a table breaks the contract.
    """
    if isinstance(engine, Engine):
        raise WorkbenchError("open_engine takes an engine name or a SparkSession, not an Engine")
    if engine == "duckdb" or engine is None:
        with db.session(world, segments=segments, tables=tables) as con:
            yield DuckDBEngine(con, owned=False)
        return
    spark = _spark_of(engine)
    if spark is None:
        raise WorkbenchError(f"unknown engine {engine!r}; engines are {', '.join(ENGINES)}")
    eng = SparkEngine(spark)
    try:
        names = list(dict.fromkeys(["subscribers", *tables]))
        if isinstance(world, World):
            where = world.path
            present = eng.register_world(world, names)
        else:
            where = Path(world)
            if not where.is_dir():
                raise WorkbenchError(f"{where}: no such world folder")
            present = eng.open_world(where, names)
        _complete(eng, names, present, str(Path(where) / "subscribers"), segments)
        yield eng
    finally:
        eng.close()


@contextmanager
def open_warehouse(
    backend: Any,
    *,
    database: str | None = None,
    tables: Mapping[str, str] | None = None,
    names: Sequence[str] | None = None,
    segments: pd.Series | None = None,
) -> Iterator[IbisEngine]:
    """An engine over the contract's tables in a warehouse, reached through an Ibis backend.

    Parameters
    ----------
    backend : ibis.BaseBackend
        A connected Ibis backend (``ibis.bigquery.connect(...)``, ``ibis.connect(url)``).
    database : str, optional
        Where the tables are (a dataset, a schema, ``catalog.schema``).
    tables : mapping of str to str, optional
        The warehouse table of each contract table whose name differs from the contract's.
    names : sequence of str, optional
        Contract tables to open (default: all of them; ``subscribers`` always); absent ones
        (other than ``subscribers``) are empty views with the contract's columns.
    segments : Series, optional
        As in :func:`open_engine` (uploaded as a temporary table).

    Yields
    ------
    IbisEngine
        To pass as ``world`` to :func:`~workbench.features.compute_features`,
        :func:`~workbench.segment.scale.segment_in_engine`,
        :func:`~workbench.attribution.aggregate.path_aggregates` and
        :func:`~workbench.experiments.cells.experiment_cells`.

    Raises
    ------
    DataError
        When ``subscribers`` (or a table named in ``tables``) is missing, or a table lacks a
        required column or breaks the contract.
    """
    eng = IbisEngine(backend, tables, database)
    try:
        wanted = list(dict.fromkeys(["subscribers", *(names or TABLES)]))
        present = eng.open_tables(wanted)
        subscribers = eng._where(eng.tables.get("subscribers", "subscribers"))
        _complete(eng, wanted, present, subscribers, segments)
        yield eng
    finally:
        eng.close()


def _complete(
    eng: SparkEngine | IbisEngine,
    names: Sequence[str],
    present: set[str],
    subscribers: str,
    segments: pd.Series | None,
) -> None:
    """Empty views for the tables among ``names`` not ``present`` (``subscribers``, named by
    ``subscribers`` in the error, is required) and the view ``seg`` of ``segments``."""
    if "subscribers" not in present:
        raise DataError(subscribers, None, "table not found")
    for name in names:
        if name not in present:
            eng.register_empty(name)
    if segments is not None:
        eng.register(
            "seg",
            pd.DataFrame(
                {
                    "subscriber_id": segments.index.to_numpy(dtype="int64"),
                    "segment": segments.astype(str).to_numpy(),
                }
            ),
        )


@contextmanager
def engine_of(
    world: str | Path | World | Engine,
    engine: str | Any = "duckdb",
    tables: Sequence[str] = db.EVENT_TABLES,
    segments: pd.Series | None = None,
) -> Iterator[Engine]:
    """``world`` itself when it is an engine already (left open), else :func:`open_engine`."""
    if isinstance(world, Engine):
        yield world
        return
    with open_engine(world, engine, tables, segments) as eng:
        yield eng
