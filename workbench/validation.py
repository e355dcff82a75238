"""The contract's checks: frames brought to contract dtypes, and every check as DuckDB SQL.

:mod:`workbench.schema` declares the contract (:data:`~workbench.schema.TABLES`,
:data:`~workbench.schema.RULES`); this module turns it into checks; :mod:`workbench.db` opens the
tables and runs them on the way in. So the same bad table gives the same one-line
:class:`~workbench.errors.DataError` whichever reader opened it (see the :mod:`workbench.schema`
docstring for the order the checks run in and how offending rows are named).

Two kinds of input are checked:

* frames (CSV exports, DataFrames handed to :func:`workbench.schema.validate_table`) are first
  parsed to the contract dtypes by :func:`coerce`, which reports values that do not parse;
* every table, Parquet read in place or a registered frame, is then checked in one DuckDB scan by
  :func:`validate`: whole numbers, missing and infinite values, times in range, allowed values,
  bounds, unique ids, composite keys, references and :data:`~workbench.schema.RULES`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa_arrow

from workbench._read import csv_lines
from workbench.errors import DataError, show
from workbench.schema import RULES, TABLES, TIME_RANGE, Column, TableSchema

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb

    from workbench.db import Relation
    from workbench.engine import Engine

__all__ = [
    "EXPECTED",
    "check_dtypes",
    "check_stored_type",
    "coerce",
    "damaged_file_error",
    "frame_kind",
    "has_contract_dtype",
    "require_columns",
    "row_labels",
    "sql_string",
    "stored_kind",
    "validate",
]

_TS_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False,
               "yes": True, "no": False, "y": True, "n": False}  # fmt: skip
#: The dtype each contract kind is named by in messages.
EXPECTED = {"int": "int64", "float": "float64", "str": "string", "bool": "bool", "ts": "timestamp"}
_KIND_WORDS = {"str": "text", "bool": "booleans", "ts": "timestamps", "date": "dates"}
#: Stored kinds each contract kind accepts (``null``: a column of nulls only).
_COMPATIBLE = {
    "int": ("int", "float", "decimal", "null"),
    "float": ("float", "int", "decimal", "null"),
    "str": ("str", "null"),
    "bool": ("bool", "null"),
    "ts": ("ts", "date", "null"),
}


def sql_string(text: str) -> str:
    """``text`` as a DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


# -------------------------------------------------------------------------- parsing (CSV, frames)


def row_labels(rows: Sequence[int], csv: str | None) -> list[str]:
    """How rows of a frame are named in messages: ``row i``, or ``line N`` of the CSV file."""
    if csv is None:
        return [f"row {int(i)}" for i in rows]
    lines = csv_lines(csv, rows)
    return [f"line {lines.get(int(i), int(i) + 2)}" for i in rows]


def _rows(
    mask: np.ndarray | pd.Series, values: pd.Series | None = None, csv: str | None = None
) -> tuple[int, list[str]]:
    """Count of True entries and the first offending rows (``row i`` or CSV ``line N``)."""
    m = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(m)
    labels = row_labels(idx[:5], csv)
    if values is None:
        return len(idx), labels
    return len(idx), [
        f"{lab}: {show(values.iloc[i])}" for lab, i in zip(labels, idx[:5], strict=True)
    ]


def has_contract_dtype(s: pd.Series, col: Column) -> bool:
    """Whether ``s`` is already in the dtype the contract gives ``col``."""
    dt = s.dtype
    if col.kind == "ts":
        return dt == _TS_DTYPE
    if col.kind == "int":
        return dt == np.int64 or (col.nullable and dt == "Int64")
    if col.kind == "float":
        return dt == np.float64
    if col.kind == "bool":
        return dt == np.bool_
    return isinstance(dt, pd.StringDtype)


def with_defaults(df: pd.DataFrame, table: TableSchema) -> pd.DataFrame:
    """``df`` with every optional column it lacks that has a default (:attr:`Column.default`:
    what "not known" means), filled with that default in the contract dtype."""
    absent = [c for c in table.columns if c.default is not None and c.name not in df.columns]
    if not absent:
        return df
    fill = {}
    for c in absent:
        if c.kind == "str":
            fill[c.name] = pd.array([c.default] * len(df), dtype="string")
        elif c.kind == "bool":
            fill[c.name] = np.full(len(df), bool(c.default))
        else:
            fill[c.name] = np.full(len(df), float(c.default))
    return df.assign(**fill)


def require_columns(columns: Sequence[str], table: TableSchema, source: str) -> None:
    """Raise on the first required column missing from ``columns`` (naming a near miss)."""
    missing = [c.name for c in table.columns if c.required and c.name not in columns]
    if missing:
        col = missing[0]
        spare = [str(c) for c in columns if c not in table.column_names]
        close = difflib.get_close_matches(col, spare, n=1, cutoff=0.6)
        hint = f"; found '{close[0]}' - misspelt?" if close else ""
        raise DataError(source, col, f"missing required column{hint}")


def coerce(
    df: pd.DataFrame, table: TableSchema, source: str, csv: str | None = None
) -> pd.DataFrame:
    """Bring each contract column present to its contract dtype, or raise on values that fail.

    A non-nullable int column with missing values stays float64 (NaN): the contract's checks
    then report the missing values.
    """
    out = {}
    for name in df.columns:
        s = df[name]
        col = table.column(name) if name in table.column_names else None
        if col is None or has_contract_dtype(s, col):
            out[name] = s  # an extra column (allowed), or one already in its contract dtype
            continue
        isna = s.isna().to_numpy()
        if col.kind == "ts":
            if isinstance(s.dtype, pd.DatetimeTZDtype):
                conv = s.dt.tz_convert("UTC")
            elif pd.api.types.is_datetime64_dtype(s.dtype):
                conv = s.dt.tz_localize("UTC")
            else:
                conv = pd.to_datetime(s, utc=True, errors="coerce", format="ISO8601")
            conv = conv.astype(_TS_DTYPE)
        elif col.kind in ("int", "float"):
            if pd.api.types.is_bool_dtype(s.dtype) or not (
                pd.api.types.is_numeric_dtype(s.dtype)
                or pd.api.types.is_string_dtype(s.dtype)
                or s.dtype == object
            ):
                raise DataError(source, name, f"has type {s.dtype}, expected {EXPECTED[col.kind]}")
            conv = pd.to_numeric(s, errors="coerce")
            if col.kind == "int":
                num = conv.to_numpy(dtype="float64", na_value=np.nan)
                frac = ~np.isnan(num) & ((num != np.round(num)) | (np.abs(num) >= 2**63))
                if frac.any():
                    n, ex = _rows(frac, s, csv)
                    raise DataError(source, name, "values that are not whole numbers", n, ex)
                conv = conv.astype("Int64" if col.nullable else "float64")
                if not col.nullable and not conv.isna().any():
                    conv = conv.astype("int64")
            else:
                conv = conv.astype("float64")
        elif col.kind == "bool":
            if pd.api.types.is_bool_dtype(s.dtype):
                conv = s.astype("boolean")
            else:
                conv = s.astype("str").str.strip().str.lower().map(_BOOL_WORDS).astype("boolean")
            if not conv.isna().any():
                conv = conv.astype(bool)
        else:  # str
            conv = s.astype("str").where(~isna, None).astype("str")
        bad = conv.isna().to_numpy() & ~isna
        if bad.any():
            n, ex = _rows(bad, s, csv)
            kind = {"ts": "unparsable timestamps", "bool": "values that are not true/false"}
            problem = kind.get(col.kind, f"values that are not {EXPECTED[col.kind]} numbers")
            raise DataError(source, name, problem, n, ex)
        out[name] = conv
    return pd.DataFrame(out, index=df.index)


# ---------------------------------------------------------------------------- checks in DuckDB


# ---------------------------------------------------------------------------- stored types


def stored_kind(typ: pa_arrow.DataType) -> str | None:
    """The contract kind an Arrow type stores (``None``: no contract kind fits)."""
    t = pa_arrow.types
    if t.is_dictionary(typ):
        typ = typ.value_type
    if t.is_null(typ):
        return "null"
    if t.is_boolean(typ):
        return "bool"
    if t.is_integer(typ):
        return None if typ == pa_arrow.uint64() else "int"
    if t.is_floating(typ):
        return "float"
    if t.is_decimal(typ):
        return "decimal"
    if t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ):
        return "str"
    if t.is_timestamp(typ):
        return "ts"
    if t.is_date(typ):
        return "date"
    return None


def frame_kind(s: pd.Series) -> str:
    """The contract kind a frame column's dtype holds (``str`` for anything else)."""
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    if isinstance(dt, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dt):
        return "ts"
    return "str"


def check_stored_type(where: str, col: Column, typ: pa_arrow.DataType) -> str:
    """The kind a Parquet column stores, or a :class:`DataError` when the contract refuses it.

    Lossless storage is accepted (int32 for int64, floats holding whole numbers for ids, naive
    or nanosecond times, dates); text where a number belongs is an error, not a guess.
    """
    kind = stored_kind(typ)
    if kind not in _COMPATIBLE[col.kind]:
        what = _KIND_WORDS.get(kind or "", "")
        stored_as = f"{what} ({typ})" if what else str(typ)
        raise DataError(where, col.name, f"stored as {stored_as}, expected {EXPECTED[col.kind]}")
    assert kind is not None
    return kind


def check_dtypes(df: pd.DataFrame, table: TableSchema, source: str) -> None:
    """Refuse a frame column not in its contract dtype (a non-nullable int as float64 passes:
    the checks then report its missing or fractional values)."""
    for c in table.columns:
        if c.name in df.columns and not has_contract_dtype(df[c.name], c):
            s = df[c.name]
            if not (frame_kind(s) == "float" and c.kind == "int" and not c.nullable):
                raise DataError(source, c.name, f"has type {s.dtype}, expected {EXPECTED[c.kind]}")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# ---------------------------------------------------------------------------- checks in DuckDB


@dataclass(frozen=True)
class _Check:
    column: str
    problem: str
    count: str  # aggregate SQL: how many rows offend
    where: str | None  # row filter of the offending rows (None: repeats of `partition`)
    show: tuple[tuple[str, str], ...]  # (label, SQL) shown per row; one unlabeled value if ""
    partition: tuple[str, ...] = ()
    via: tuple[str, ...] = ()


def _row_check(col: str, problem: str, cond: str, x: str) -> _Check:
    """A check of single rows: ``cond`` is true on an offending row, which shows ``x``."""
    return _Check(col, problem, f"count_if({cond})", cond, (("", x),))


def _column_checks(c: Column, stored: str, no_nulls: frozenset[str]) -> list[_Check]:
    """The checks of one column present in the table (``stored``: its stored kind)."""
    x = f"t.{c.name}"
    out: list[_Check] = []
    if c.kind == "int" and stored in ("float", "decimal"):
        whole = f"({x} <> trunc({x}) OR abs({x}) >= 9.2e18)"
        out.append(_row_check(c.name, "values that are not whole numbers", whole, x))
    if not c.nullable:
        missing = [] if c.name in no_nulls else [f"{x} IS NULL"]
        missing += [f"isnan({x})"] if stored == "float" else []
        if missing:
            out.append(_row_check(c.name, "missing values", " OR ".join(missing), x))
    if stored == "float":
        out.append(_row_check(c.name, "infinite values", f"isinf({x})", x))
    if c.kind == "ts":
        lo, hi = TIME_RANGE
        outside = f"{x} < TIMESTAMPTZ '{lo}' OR {x} >= TIMESTAMPTZ '{hi}'"
        out.append(_row_check(c.name, f"times outside {lo[:4]}-{int(hi[:4]) - 1}", outside, x))
    if c.allowed is not None:
        allowed = ", ".join(sql_string(v) for v in c.allowed)
        problem = f"unknown {c.name} values (allowed: {', '.join(c.allowed)})"
        out.append(_row_check(c.name, problem, f"{x} NOT IN ({allowed})", x))
    if c.ge is not None:
        out.append(_row_check(c.name, f"values below {_num(c.ge)}", f"{x} < {_num(c.ge)}", x))
    if c.le is not None:
        out.append(_row_check(c.name, f"values above {_num(c.le)}", f"{x} > {_num(c.le)}", x))
    if c.unique:
        dup = f"count({x}) - count(DISTINCT {x})"
        out.append(_Check(c.name, "duplicate ids", dup, None, (("", x),), partition=(x,)))
    return out


def _key_checks(rel: Relation) -> list[_Check]:
    """The composite key's check, when the table has a key and holds its columns."""
    table = TABLES[rel.name]
    if not table.key or not all(k in rel.stored for k in table.key):
        return []
    keys = tuple(f"t.{k}" for k in table.key)
    count = f"count(*) - count(DISTINCT row({', '.join(keys)}))"
    shown = tuple((k, f"t.{k}") for k in table.key)
    return [_Check(", ".join(table.key), "duplicate keys", count, None, shown, partition=keys)]


def _can_follow(rel: Relation, present: Mapping[str, Relation], via: str) -> bool:
    """Whether the reference column ``via`` of ``rel`` can be joined to its target table."""
    target = TABLES[rel.name].references[via].split(".")[0]
    return target in present and via in rel.stored


def _reference_checks(rel: Relation, present: Mapping[str, Relation]) -> list[_Check]:
    """A check per reference column whose target table is ``present``."""
    out = []
    for col, target in TABLES[rel.name].references.items():
        if not _can_follow(rel, present, col):
            continue
        ttable, tcol = target.split(".")
        cond = f"t.{col} IS NOT NULL AND r_{col}.{tcol} IS NULL"
        problem = f"refers to unknown {ttable}"
        out.append(_Check(col, problem, f"count_if({cond})", cond, (("", f"t.{col}"),), via=(col,)))
    return out


def _rule_checks(rel: Relation, present: Mapping[str, Relation]) -> list[_Check]:
    """The :data:`~workbench.schema.RULES` of the table that can be judged with ``present``."""
    out = []
    for rule in RULES:
        if rule.table != rel.name:
            continue
        if rule.via is not None and not _can_follow(rel, present, rule.via):
            continue
        r = f"r_{rule.via}"
        cond = f"coalesce(NOT ({rule.valid.format(t='t', r=r)}), false)"
        shown = tuple((lab, sql.format(t="t", r=r)) for lab, sql in rule.show)
        shown = shown or (("", f"t.{rule.column}"),)
        via = (rule.via,) if rule.via else ()
        out.append(_Check(rule.column, rule.problem, f"count_if({cond})", cond, shown, via=via))
    return out


def _checks(rel: Relation, present: Mapping[str, Relation]) -> list[_Check]:
    """The contract's checks of one table as SQL, in the order they are reported."""
    out: list[_Check] = []
    for c in TABLES[rel.name].columns:
        if c.name in rel.stored:
            out += _column_checks(c, rel.stored[c.name], rel.no_nulls)
    return out + _key_checks(rel) + _reference_checks(rel, present) + _rule_checks(rel, present)


def _joins(rel: Relation, present: Mapping[str, Relation], vias: Iterable[str]) -> str:
    out = []
    for col in dict.fromkeys(vias):
        ttable, tcol = TABLES[rel.name].references[col].split(".")
        out.append(f"LEFT JOIN {present[ttable].raw} r_{col} ON t.{col} = r_{col}.{tcol}")
    return " ".join(out)


def _duck_error(rel: Relation, exc: Exception) -> DataError:
    return damaged_file_error(exc, rel.source) or DataError(
        rel.source, None, f"cannot be read ({_short(exc)})"
    )


def _short(exc: BaseException) -> str:
    msg = " ".join(str(exc).split())
    return msg[:200] + "..." if len(msg) > 200 else msg


def damaged_file_error(exc: BaseException, where: str | Path) -> DataError | None:
    """The :class:`DataError` for a DuckDB error raised by a damaged file, else ``None``.

    The checks read every value they test, but DuckDB answers some of them from a Parquet file's
    statistics without decoding its pages, so a damaged page can still surface in a later query
    over the views of :func:`open_tables`; readers turn such errors into one line naming the
    file (``where`` when DuckDB does not name it). SQL errors are not data errors: ``None``.
    """
    import re

    import duckdb

    damaged = isinstance(exc, duckdb.IOException | duckdb.InvalidInputException)
    if not (damaged or type(exc) is duckdb.Error):  # plain Error: undecodable page metadata
        return None
    m = re.search(r'file "([^"]+)"', str(exc))
    return DataError(m.group(1) if m else str(where), None, f"cannot be read ({_short(exc)})")


def validate(
    con: duckdb.DuckDBPyConnection | Engine, rel: Relation, present: Mapping[str, Relation]
) -> None:
    """Run every check of an opened table in one scan of it.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or Engine
        The connection ``rel`` was opened on (:func:`workbench.db.open_tables`), or an
        :class:`~workbench.engine.Engine` whose view ``rel.raw`` is the table (the same SQL,
        run there: Spark checks a table where it was written).
    rel : Relation
        The table to check.
    present : mapping of str to Relation
        The tables already opened and checked: references and :data:`~workbench.schema.RULES`
        pointing at them are checked too.

    Raises
    ------
    DataError
        For the first failed check (in the order of the :mod:`workbench.schema` docstring),
        with how many rows fail and the first five of them.
    """
    import duckdb

    checks = _checks(rel, present)
    if not checks:
        return
    joins = _joins(rel, present, [v for c in checks for v in c.via])
    sql = f"SELECT {', '.join(c.count for c in checks)} FROM {rel.raw} t {joins}"
    con = _duck_of(con)
    if not isinstance(con, duckdb.DuckDBPyConnection):  # another engine: the same SQL there
        counts = _fetch(con, rel, sql)[0]
        for check, n in zip(checks, counts, strict=True):
            if n:
                raise _failure(con, rel, present, check, int(n))
        return
    try:
        # test the values themselves: with statistics propagation DuckDB would answer some checks
        # from the file's footer statistics (stale in a damaged file) without reading the pages
        con.execute("SET disabled_optimizers = 'statistics_propagation'")
        try:
            counts = con.execute(sql).fetchall()[0]
        finally:
            con.execute("RESET disabled_optimizers")
    except duckdb.Error as exc:
        raise _duck_error(rel, exc) from None
    for check, n in zip(checks, counts, strict=True):
        if n:
            raise _failure(con, rel, present, check, int(n))


def _duck_of(con: duckdb.DuckDBPyConnection | Engine) -> duckdb.DuckDBPyConnection | Engine:
    """The DuckDB connection of a :class:`~workbench.engine.DuckDBEngine`, else ``con``."""
    from workbench.engine import DuckDBEngine

    return con.con if isinstance(con, DuckDBEngine) else con


def _fetch(con: duckdb.DuckDBPyConnection | Engine, rel: Relation, sql: str) -> list[tuple]:
    """The rows of a query of the checks, on a DuckDB connection or an engine."""
    import duckdb

    con = _duck_of(con)
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return con.rows(sql)
    try:
        return con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise _duck_error(rel, exc) from None


def _failure(
    con: duckdb.DuckDBPyConnection | Engine,
    rel: Relation,
    present: Mapping[str, Relation],
    check: _Check,
    n: int,
) -> DataError:
    """The error for a failed check, with its first five offending rows."""
    shown = ", ".join(sql for _, sql in check.show)
    if check.partition:
        part = ", ".join(check.partition)
        sql = (
            f"SELECT t._wb_file, t._wb_row, {shown} FROM (SELECT *, row_number() OVER"
            f" (PARTITION BY {part.replace('t.', '')} ORDER BY _wb_file, _wb_row) AS _wb_k"
            f" FROM {rel.scan(rows=True)}) t WHERE t._wb_k > 1"
            " ORDER BY t._wb_file, t._wb_row LIMIT 5"
        )
    else:
        sql = (
            f"SELECT t._wb_file, t._wb_row, {shown} FROM {rel.scan(rows=True)} t"
            f" {_joins(rel, present, check.via)} WHERE {check.where}"
            " ORDER BY t._wb_file, t._wb_row LIMIT 5"
        )
    rows = _fetch(con, rel, sql)
    labels = rel.labels([(r[0], r[1]) for r in rows])
    examples = []
    for lab, r in zip(labels, rows, strict=True):
        values = r[2:]
        if len(check.show) == 1 and not check.show[0][0]:
            examples.append(f"{lab}: {show(values[0])}")
        else:
            pairs = ", ".join(
                f"{k}={show(v)}" for (k, _), v in zip(check.show, values, strict=True)
            )
            examples.append(f"{lab}: {pairs}")
    return DataError(rel.source, check.column, check.problem, n, examples)
