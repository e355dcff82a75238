"""The single door through which a world's data enters DuckDB.

Every reader of the contract tables goes through this module: :func:`workbench.schema.load_world`
and :func:`workbench.truth.load_truth` (tables as DataFrames, :func:`read_checked`), the features
and the segment playbooks and outcomes (DuckDB views, :func:`world_connection` and
:func:`session`), and :func:`workbench.schema.validate_table` (one frame, :func:`check_frame`).

How a table comes in:

1. :func:`connect` opens an in-memory DuckDB connection whose session time zone is UTC.
2. :func:`open_tables` finds each table of a world folder (:func:`table_source`: ``NAME.parquet``,
   a folder ``NAME/`` of Parquet parts, or a CSV export) and opens it as a view named after it:
   Parquet is read in place, with lossless casts to the contract types where the stored type
   differs; CSV text is parsed to the contract dtypes first and registered as a frame.
3. Each table is checked against the contract as it is opened, referenced tables first
   (:func:`workbench.validation.validate`: SQL generated from :data:`~workbench.schema.TABLES`
   and :data:`~workbench.schema.RULES`), so a bad table raises one
   :class:`~workbench.errors.DataError` whichever reader met it.
4. A loaded :class:`~workbench.schema.World` (already checked) is registered as it is; a table
   the world lacks becomes an empty view with the contract's columns.

Examples
--------
>>> from workbench import db
>>> with db.session("datasets/sample") as con:  # doctest: +SKIP
...     con.execute("SELECT count(*) FROM subscribers").fetchone()
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench._read import is_csv, parquet_error, parquet_files, read_csv, read_parquet
from workbench.errors import DataError, WorkbenchError
from workbench.schema import TABLE_ORDER, TABLES, World
from workbench.validation import (
    check_stored_type,
    coerce,
    damaged_file_error,
    frame_kind,
    require_columns,
    row_labels,
    sql_string,
    validate,
    with_defaults,
)

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "EVENT_TABLES",
    "Relation",
    "check_frame",
    "connect",
    "damaged_file_error",
    "epoch_us",
    "open_tables",
    "read_checked",
    "register_frame",
    "session",
    "sql_string",
    "table_source",
    "utc_timestamp",
    "world_connection",
]

#: Tables :func:`world_connection` opens by default: the event history of the analysis tables.
EVENT_TABLES: tuple[str, ...] = (
    "subscribers",
    "campaigns",
    "email_events",
    "orders",
    "touchpoints",
)
_DUCK_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMPTZ",
}
_FRACTIONAL = ("float", "decimal")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose session time zone is UTC."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


# ---------------------------------------------------------------------------- opened tables


@dataclass
class Relation:
    """One opened table: where it came from and how DuckDB reaches it.

    Attributes
    ----------
    name : str
        Contract name of the table (a key of :data:`~workbench.schema.TABLES`).
    source : str
        The file or folder it came from, as named in messages.
    stored : dict of str to str
        Stored kind of each contract column present (``int``, ``float``, ``decimal``, ``str``,
        ``bool``, ``ts``, ``date`` or ``null``).
    files : list of Path
        Its Parquet files (empty for a registered frame).
    frame : DataFrame, optional
        The registered frame (CSV exports and :func:`register_frame`), with a ``_wb_row`` column.
    csv : str, optional
        The CSV file the frame was parsed from (rows are then named by file line).
    casts : dict of str to str
        Lossless casts to the contract's DuckDB types applied when the Parquet files are read.
    no_nulls : frozenset of str
        Columns no row can leave null: Parquet REQUIRED fields in every file.
    """

    name: str
    source: str
    stored: dict[str, str]
    files: list[Path] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    csv: str | None = None
    casts: dict[str, str] = field(default_factory=dict)
    no_nulls: frozenset[str] = frozenset()

    @property
    def raw(self) -> str:
        """The relation the checks read (lossless casts only: see :func:`open_tables`)."""
        return f"_wb_raw_{self.name}"

    def scan(self, rows: bool = False) -> str:
        """SQL of the table; ``rows`` adds its row identity (``_wb_file``, ``_wb_row``)."""
        if self.frame is not None:
            return f"(SELECT *, NULL::VARCHAR AS _wb_file FROM {self.raw})" if rows else self.raw
        files = "[" + ", ".join(sql_string(str(f)) for f in self.files) + "]"
        opts = ", union_by_name = true" if len(self.files) > 1 else ""
        repl = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in self.casts.items())
        replace = f" REPLACE ({repl})" if repl else ""
        if not rows:
            return f"(SELECT *{replace} FROM read_parquet({files}{opts}))"
        return (
            f"(SELECT * EXCLUDE (filename, file_row_number){replace}, filename AS _wb_file,"
            f" file_row_number AS _wb_row FROM read_parquet({files}, filename = true,"
            f" file_row_number = true{opts}))"
        )

    def labels(self, rows: Sequence[tuple[str | None, int]]) -> list[str]:
        """How the rows ``(file, row)`` are named in messages."""
        if self.csv is not None:
            return row_labels([r for _, r in rows], self.csv)
        if len(self.files) > 1:
            return [f"{Path(str(f)).name} row {int(r)}" for f, r in rows]
        return [f"row {int(r)}" for _, r in rows]

    def to_frame(self) -> pd.DataFrame:
        """The checked table as a DataFrame with contract dtypes."""
        if self.frame is not None:
            return self.frame.drop(columns="_wb_row")
        path = self.files[0].parent if len(self.files) > 1 else self.files[0]
        df = read_parquet(path, self.source)
        table = TABLES[self.name]
        return with_defaults(coerce(df.reset_index(drop=True), table, self.source), table)


def _parquet_layout(
    files: list[Path], name: str, source: str
) -> tuple[dict[str, str], dict[str, bool], dict[str, bool]]:
    """Stored kind, exact contract type and REQUIRED flag of each column over the parts."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = TABLES[name]
    stored: dict[str, str] = {}
    exact: dict[str, bool] = {}
    required: dict[str, bool] = {}
    for f in files:
        where = str(f) if len(files) > 1 else source
        try:
            if f.stat().st_size == 0:
                raise DataError(where, None, "empty file (not Parquet)")
            schema = pq.read_schema(f)
        except DataError:
            raise
        except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
            raise parquet_error(where, exc) from None
        require_columns(schema.names, table, where)
        for c in table.columns:
            if c.name not in schema.names:
                required[c.name] = False  # absent from this part: null in its rows
                continue
            typ = schema.field(c.name).type
            kind = check_stored_type(where, c, typ)
            prev = stored.get(c.name)
            # parts that disagree (int64 here, double there) are read as the wider type
            if prev is None or prev == "null" or (kind in _FRACTIONAL and prev == "int"):
                stored[c.name] = kind
            exact[c.name] = exact.get(c.name, True) and typ == c.arrow_type
            required[c.name] = required.get(c.name, True) and not schema.field(c.name).nullable
    return stored, exact, required


def _open_parquet(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> Relation:
    """Check a Parquet table's files, columns and stored types; create its two views."""
    table = TABLES[name]
    source = str(path)
    files = parquet_files(path, source)
    stored, exact, required = _parquet_layout(files, name, source)
    # the checks read lossless casts (int32 -> BIGINT, naive or ns times -> TIMESTAMPTZ, ...);
    # an int column stored as floats is cast only in the public view, once checked whole
    later = [c for c in stored if table.column(c).kind == "int" and stored[c] in _FRACTIONAL]
    casts = {
        c: _DUCK_TYPES[table.column(c).kind] for c in stored if not exact[c] and c not in later
    }
    no_nulls = frozenset(c for c, req in required.items() if req and c in stored)
    rel = Relation(name, source, stored, files=files, casts=casts, no_nulls=no_nulls)
    con.execute(f"CREATE OR REPLACE VIEW {rel.raw} AS SELECT * FROM {rel.scan()}")
    final = ", ".join(f"CAST({c} AS BIGINT) AS {c}" for c in later)
    replace = f" REPLACE ({final})" if final else ""
    defaults = "".join(
        f", CAST({_sql_literal(c.default)} AS {_DUCK_TYPES[c.kind]}) AS {c.name}"
        for c in table.columns
        if c.default is not None and c.name not in stored
    )
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT *{replace}{defaults} FROM {rel.raw}")
    return rel


def _sql_literal(value: bool | float | str) -> str:
    """SQL literal of a column default (:attr:`workbench.schema.Column.default`)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return sql_string(value)
    return repr(float(value))


def register_frame(
    con: duckdb.DuckDBPyConnection,
    name: str,
    df: pd.DataFrame,
    source: str,
    csv: str | None = None,
) -> Relation:
    """Register a DataFrame already in contract dtypes as the view ``name`` (not yet checked).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
    name : str
        Contract name of the table.
    df : DataFrame
        The table, columns in contract dtypes (:func:`workbench.validation.coerce`).
    source : str
        Where it came from, for messages.
    csv : str, optional
        The CSV file it was parsed from: offending rows are then named by file line.

    Returns
    -------
    Relation
        To check with :func:`workbench.validation.validate`.
    """
    table = TABLES[name]
    frame = df.reset_index(drop=True)
    frame = frame.assign(_wb_row=np.arange(len(frame), dtype=np.int64))
    stored = {c: frame_kind(frame[c]) for c in frame.columns if c in table.column_names}
    frame = with_defaults(frame, table)  # after ``stored``: defaults are not checked
    rel = Relation(name, source, stored, frame=frame, csv=csv)
    con.register(rel.raw, frame)
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * EXCLUDE (_wb_row) FROM {rel.raw}")
    return rel


def _open_file(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> Relation:
    """Open a stored table: a CSV export is parsed and registered, Parquet is read in place."""
    if is_csv(path):
        df = read_csv(path, text=True)
        table = TABLES[name]
        require_columns(list(df.columns), table, str(path))
        df = coerce(df, table, str(path), csv=str(path))
        return register_frame(con, name, df, str(path), csv=str(path))
    return _open_parquet(con, name, path)


# ------------------------------------------------------------------------------ world folders


def table_source(root: str | Path, name: str) -> Path | None:
    """Where a world folder stores table ``name`` (Parquet, folder of parts or CSV), if at all."""
    root = Path(root)
    for cand in (f"{name}.parquet", name, f"{name}.csv", f"{name}.csv.gz"):
        p = root / cand
        if p.exists():
            return p
    return None


def _closure(root: Path, names: Iterable[str]) -> list[str]:
    """``names`` and, recursively, the tables they refer to that ``root`` holds, in check order."""
    todo = [n for n in names if table_source(root, n) is not None]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        targets = [t.split(".")[0] for t in TABLES[name].references.values()]
        todo += [t for t in targets if t not in seen and table_source(root, t) is not None]
    return [n for n in TABLE_ORDER if n in seen]


def open_tables(
    con: duckdb.DuckDBPyConnection, root: str | Path, names: Iterable[str]
) -> dict[str, Relation]:
    """Open tables of a world folder as DuckDB views, checking each against the contract.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection that receives one view per table, named after it (Parquet is read in
        place, with casts to the contract types where the stored type differs; CSV exports are
        parsed and registered). Its session time zone should be UTC (:func:`connect`).
    root : path
        The world folder.
    names : iterable of str
        The tables wanted. Tables they refer to (:attr:`~workbench.schema.TableSchema.references`,
        :data:`~workbench.schema.RULES`) are opened and checked too when the folder holds them;
        absent tables are skipped.

    Returns
    -------
    dict
        The opened tables by name, in :data:`~workbench.schema.TABLE_ORDER`.

    Raises
    ------
    DataError
        The first problem found (see the :mod:`workbench.schema` docstring for the order).
    """
    root = Path(root)
    opened: dict[str, Relation] = {}
    for name in _closure(root, names):
        src = table_source(root, name)
        assert src is not None
        rel = _open_file(con, name, src)
        validate(con, rel, opened)
        opened[name] = rel
    return opened


def read_checked(root: str | Path, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The tables ``names`` of a world folder, checked by :func:`open_tables`, as DataFrames.

    The one reader behind :func:`workbench.schema.load_world` and
    :func:`workbench.truth.load_truth`; tables the folder lacks are left out.
    """
    con = connect()
    try:
        opened = open_tables(con, root, names)
        return {n: opened[n].to_frame() for n in names if n in opened}
    finally:
        con.close()


def check_frame(df: pd.DataFrame, name: str, source: str, csv: str | None = None) -> None:
    """Check one frame in contract dtypes against its table's contract (no references).

    Raises
    ------
    DataError
        On the first problem found.
    """
    con = connect()
    try:
        validate(con, register_frame(con, name, df, source, csv), {})
    finally:
        con.close()


# ------------------------------------------------------------------ world connections (views)


def _register_world(con: duckdb.DuckDBPyConnection, world: World, names: Sequence[str]) -> set[str]:
    """A loaded (already checked) world's tables among ``names`` as views; returns those present."""
    present = set()
    for name in names:
        if name in world:
            con.register(f"_{name}", world[name])
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
            present.add(name)
    return present


def _register_empty(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """An empty view ``name`` with the contract's required columns and types."""
    import pyarrow as pa

    schema = TABLES[name]
    required = [c.name for c in schema.columns if c.required]
    con.register(f"_{name}", pa.table({c: [] for c in required},
                                      schema=schema.arrow_schema(required)))  # fmt: skip
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")


def _register_segments(con: duckdb.DuckDBPyConnection, segments: pd.Series) -> None:
    """The table ``seg(subscriber_id, segment)``, segment labels as text."""
    seg = pd.DataFrame(
        {
            "subscriber_id": segments.index.to_numpy(dtype="int64"),
            "segment": segments.astype(str).to_numpy(),
        }
    )
    con.register("seg", seg)


def world_connection(
    world: str | Path | World,
    segments: pd.Series | None = None,
    tables: Sequence[str] = EVENT_TABLES,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with one view per analysis table of ``world``.

    Parameters
    ----------
    world : path or World
        A world folder (Parquet files, folders of parts, or CSV exports) or a loaded world.
        Every table of a folder is checked against the data contract on the way in, with the
        checks and messages of :func:`workbench.schema.load_world` (:func:`open_tables`: SQL
        generated from the contract, Parquet read in place). A loaded
        :class:`~workbench.schema.World` was checked when it was loaded.
    segments : Series, optional
        Segment of each subscriber (indexed by ``subscriber_id``); registered as a table
        ``seg(subscriber_id, segment)`` with segment labels as text.
    tables : sequence of str, default :data:`EVENT_TABLES`
        Contract tables to open as views (``subscribers`` always); add ``experiments`` and
        ``assignments`` when needed. The tables they refer to are opened and checked too.

    Returns
    -------
    duckdb.DuckDBPyConnection
        With one view per table of ``tables``, in the contract's types; a table the world lacks
        (other than ``subscribers``) is an empty view with the contract's columns. The caller
        closes it (or uses :func:`session`).

    Raises
    ------
    WorkbenchError
        When ``world`` is neither a loaded world nor a folder.
    DataError
        When ``subscribers`` is missing or a table breaks the contract.
    """
    names = list(dict.fromkeys(["subscribers", *tables]))
    con = connect()
    try:
        if isinstance(world, World):
            where = world.path
            present = _register_world(con, world, names)
        else:
            where = Path(world)
            if not where.is_dir():
                raise WorkbenchError(f"{where}: no such world folder")
            present = set(open_tables(con, where, names))
        for name in names:
            if name in present:
                continue
            if name == "subscribers":
                raise DataError(
                    str(where / name), None, "table not found (.parquet, folder or .csv)"
                )
            _register_empty(con, name)
    except BaseException:
        con.close()
        raise
    if segments is not None:
        _register_segments(con, segments)
    return con


@contextmanager
def session(
    world: str | Path | World,
    segments: pd.Series | None = None,
    tables: Sequence[str] = EVENT_TABLES,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`world_connection` as a context manager: closed on exit, damaged files reported.

    The checks read every value they test, but DuckDB answers some later queries from a Parquet
    file's statistics, so a damaged page can surface in a query over the views; such errors
    leave as one :class:`~workbench.errors.DataError` naming the file
    (:func:`workbench.validation.damaged_file_error`). Other DuckDB errors pass through.
    """
    import duckdb

    con = world_connection(world, segments, tables)
    try:
        yield con
    except duckdb.Error as exc:
        where = world.path if isinstance(world, World) else world
        err = damaged_file_error(exc, where)
        if err is None:
            raise
        raise err from None
    finally:
        con.close()


# --------------------------------------------------------------------------------------- times


def utc_timestamp(value: object, what: str = "as_of") -> pd.Timestamp:
    """``value`` as a UTC timestamp (naive dates are UTC).

    Parameters
    ----------
    value : str, datetime or Timestamp
        The date or time.
    what : str, default "as_of"
        Its name in the error message.

    Raises
    ------
    WorkbenchError
        When ``value`` is not a date.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise WorkbenchError(f"{what}: cannot read {value!r} as a date ({exc})") from None
    if pd.isna(ts):
        raise WorkbenchError(f"{what}: cannot read {value!r} as a date")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def epoch_us(ts: pd.Timestamp) -> int:
    """Microseconds since the epoch, as DuckDB's ``epoch_us(ts)`` gives them for the views."""
    return int(ts.value // 1000)
