"""The import engine: export files streamed through DuckDB into a checked world folder.

Each table of an :class:`~workbench.importers.mapping.ImportMap` goes through four passes, by
default all in DuckDB and spilled to disk beyond its memory limit, so an export larger than memory
imports. Passes 2-4 can run on Spark instead (``engine="spark"``, :mod:`workbench.engine`): the
same SQL, over views of the files each pass writes, transpiled by
:func:`workbench.engine.to_spark_sql`; pass 1 always runs in DuckDB, which names the source lines.

1. **stage**: each source file's mapped columns are copied, as text, to a Parquet file (row order
   kept, so a staged row names its source line);
2. **type**: every contract column is parsed from its text (strptime formats, time zones,
   number formats, value maps, constants); a value that does not parse stops the import with the
   source file, its column and the first offending lines;
3. **ids**: an id column of integers is kept; text ids get stable int64 ids (a hash; the map is
   kept in ``ids/``); an id column holding addresses is replaced by a salted hash
   (:func:`address_id`) and the address is dropped, so no address enters the world;
4. **check**: the contract's checks (:func:`workbench.validation.validate`, the same SQL every
   reader runs) on the typed table, offending rows named by source file and line; then the
   table is written.

Tables a world needs but the export lacks are derived: ``subscribers`` from the ids of the other
tables (signup = first activity), ``campaigns`` from the events' campaign ids. Required contract
columns an export rarely has get the documented "not known" value (:data:`IMPORT_DEFAULTS`).
Everything is written to a temporary folder that becomes the world only when complete.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.db import Relation, connect
from workbench.engine import DuckDBEngine, Engine, SparkEngine, _spark_of
from workbench.errors import DataError, WorkbenchError, show
from workbench.importers.mapping import ID_COLUMNS, WHITESPACE, ImportMap, Part, TableMap
from workbench.schema import TABLE_ORDER, TABLES
from workbench.validation import sql_string, validate

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "IMPORT_DEFAULTS",
    "SALT_ENV",
    "ImportResult",
    "address_id",
    "import_world",
    "read_salt",
]

#: Environment variable holding the salt of address hashes (or use a salt file).
SALT_ENV = "WORKBENCH_SALT"
#: Required contract columns an export rarely has, and the value meaning "not known".
IMPORT_DEFAULTS: dict[tuple[str, str], Any] = {
    ("email_events", "variant"): None,
    ("email_events", "is_machine_open"): False,
    ("orders", "n_items"): 1,
    ("orders", "category"): "unknown",
    ("campaigns", "kind"): "broadcast",
    ("campaigns", "channel"): "email",
    ("campaigns", "experiment_id"): None,
    ("touchpoints", "campaign_id"): None,
    ("subscribers", "unsubscribed_ts"): None,
}
_TRUE = ("true", "t", "yes", "y", "1", "subscribed", "opted_in", "granted")
_FALSE = ("false", "f", "no", "n", "0", "unsubscribed", "never_subscribed", "denied", "")
_TEXT_ID_KEY = "workbench-text-id"
_MEMORY_LIMIT = "3GB"
_ADDRESS = "address"
_KIND_WORDS = {"ts": "times", "float": "numbers", "int": "whole numbers", "bool": "true/false",
               "str": "text"}  # fmt: skip


# ------------------------------------------------------------------------------------ the salt


def read_salt(salt_file: str | Path | None = None) -> str | None:
    """The salt of address hashes: the file's first line, else ``$WORKBENCH_SALT``, else ``None``.

    Raises
    ------
    WorkbenchError
        When the file cannot be read or the salt is shorter than 8 characters.
    """
    if salt_file is not None:
        try:
            text = Path(salt_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise WorkbenchError(f"{salt_file}: cannot read the salt ({exc})") from None
        where = str(salt_file)
    else:
        text = os.environ.get(SALT_ENV, "").strip()
        where = f"${SALT_ENV}"
        if not text:
            return None
    if len(text) < 8:
        raise WorkbenchError(f"{where}: a salt needs at least 8 characters (a random string)")
    return text


def address_id(address: str, salt: str) -> int:
    """The subscriber id an import gives ``address`` with ``salt`` (the SQL of the import, in
    Python: re-import joins and tests use it). 60 bits of SHA-256 of salt and address."""
    digest = hashlib.sha256(f"{salt}\x1f{address.strip().lower()}".encode()).hexdigest()
    return int(digest[:15], 16)


def _hash_sql(value: str, key: str, lower: bool) -> str:
    v = f"lower(trim({value}))" if lower else value
    return f"CAST(('0x' || substr(sha256({sql_string(key)} || chr(31) || {v}), 1, 15)) AS BIGINT)"


# ----------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    index: int
    table: str
    path: Path
    part: Part
    kind: str  # csv, ws, parquet
    sep: str | None

    @property
    def name(self) -> str:
        return str(self.path)


def _kind(path: Path, sep: str | None) -> str:
    low = path.name.lower()
    if low.endswith(".parquet"):
        return "parquet"
    return "ws" if sep == WHITESPACE else "csv"


def _scan(src: _Source) -> str:
    p = sql_string(str(src.path))
    if src.kind == "parquet":
        return f"read_parquet({p})"
    if src.kind == "ws":
        return (
            f"read_csv({p}, columns = {{'l': 'VARCHAR'}}, header = false, delim = chr(31),"
            " quote = '', escape = '', auto_detect = false, skip = 1, null_padding = true)"
        )
    # the header is read here (:func:`_csv_header`), not guessed: DuckDB's sniffer takes a
    # later line for the header when rows have different numbers of fields, dropping rows
    sep, names = _csv_header(src)
    columns = "{" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in names) + "}"
    return (
        f"read_csv({p}, columns = {columns}, header = true, auto_detect = false,"
        f" delim = {sql_string(sep)}, quote = '\"', escape = '\"', strict_mode = true,"
        f" encoding = {sql_string(src.part.encoding)})"
    )


_DELIMITERS = (",", ";", "\t", "|")


def _csv_header(src: _Source) -> tuple[str, list[str]]:
    """The separator (given, ``.tsv``, else the most frequent of :data:`_DELIMITERS` on the
    first line) and the column names of a CSV file's header line."""
    import gzip
    import io

    try:
        raw = (
            gzip.open(src.path, "rb")
            if src.path.name.lower().endswith(".gz")
            else open(src.path, "rb")
        )
        with io.TextIOWrapper(raw, encoding=src.part.encoding, newline="") as f:
            first = f.readline()
            if not first.strip():
                raise DataError(src.name, None, "empty file: no header line")
            sep = src.sep or ("\t" if ".tsv" in src.path.name.lower() else None)
            sep = sep or max(_DELIMITERS, key=first.count)
            f.seek(0)
            names = next(csv.reader(f, delimiter=sep))
    except UnicodeDecodeError as exc:
        problem = f"not {src.part.encoding} text ({exc.reason}); set 'encoding' in the mapping"
        raise DataError(src.name, None, problem) from None
    except (csv.Error, OSError, EOFError) as exc:
        raise DataError(src.name, None, f"cannot read its header line ({exc})") from None
    names = [n.lstrip("\ufeff").strip() for n in names]
    return sep, names


def _ws_header(path: Path) -> list[str]:
    from workbench._read import _open_text

    with _open_text(path) as f:
        return f.readline().split()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_error(src: _Source, exc: BaseException) -> DataError:
    msg = " ".join(str(exc).split())
    msg = msg[:240] + "..." if len(msg) > 240 else msg
    return DataError(src.name, None, f"cannot be read ({msg})")


def _stage(con: duckdb.DuckDBPyConnection, src: _Source, out: Path) -> None:
    """Copy the source columns the part reads, as text, to ``out`` (Parquet, order kept)."""
    import duckdb

    wanted = src.part.source_columns()
    try:
        if src.kind == "ws":
            header = _ws_header(src.path)
            cols = ", ".join(
                f"string_split_regex(trim(l), '\\s+')[{header.index(c) + 1}] AS {_q(c)}"
                for c in wanted
                if c in header
            )
            have = header
            select = (
                f"SELECT {cols or 'NULL AS _wb_none'}, l IS NULL AS _wb_blank FROM {_scan(src)}"
            )
        else:
            have = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {_scan(src)}").fetchall()]
            cols = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in wanted if c in have)
            select = f"SELECT {cols or 'NULL AS _wb_none'}, false AS _wb_blank FROM {_scan(src)}"
        missing = [c for c in wanted if c not in have]
        if missing:
            import difflib

            col = missing[0]
            close = difflib.get_close_matches(col, [str(h) for h in have], n=1, cutoff=0.6)
            hint = f"; found '{close[0]}' - misspelt?" if close else ""
            raise DataError(src.name, col, f"missing column, needed by {src.part.label}{hint}")
        con.execute(f"COPY ({select}) TO {sql_string(str(out))} (FORMAT parquet)")
    except duckdb.Error as exc:
        raise _read_error(src, exc) from None


def _lines(src: _Source, rows: Sequence[int]) -> dict[int, str]:
    """How staged rows of ``src`` are named: ``line N`` of a text file, ``row N`` of Parquet."""
    if src.kind == "parquet":
        return {int(r): f"row {int(r)}" for r in rows}
    if src.kind == "ws":
        return {int(r): f"line {int(r) + 2}" for r in rows}
    from workbench._read import csv_lines

    sep = src.sep or ("\t" if ".tsv" in src.path.name.lower() else ",")
    lines = csv_lines(src.path, rows, delimiter=sep)
    return {int(r): f"line {lines.get(int(r), int(r) + 2)}" for r in rows}


# ------------------------------------------------------------------------------------- typing


def _literal(value: Any) -> str:
    if value is None:
        return "NULL::VARCHAR"
    if isinstance(value, bool):
        return "'true'" if value else "'false'"
    return sql_string(str(value))


def _mapped(raw: str, mapping: Mapping[str, Any] | None) -> str:
    if not mapping:
        return raw
    whens = " ".join(f"WHEN {sql_string(str(k))} THEN {_literal(v)}" for k, v in mapping.items())
    return f"(CASE {raw} {whens} ELSE {raw} END)"


def _ts_sql(v: str, fmt: str | None, tz: str) -> str:
    zone = sql_string(tz)
    if fmt:
        parsed = f"try_strptime({v}, {sql_string(fmt)})"
        return parsed if "%z" in fmt or "%Z" in fmt else f"timezone({zone}, {parsed})"
    offset = r"(Z|z|[+-]\d{2}(:?\d{2})?|\s(UTC|GMT))$"
    fixed = rf"regexp_replace({v}, '\s+([+-]\d{{2}}:?\d{{2}})$', '\1')"
    epoch = rf"regexp_full_match({v}, '\d{{9,10}}(\.\d+)?')"
    return (
        f"(CASE WHEN {epoch} THEN to_timestamp(CAST({v} AS DOUBLE))"
        f" WHEN regexp_matches({v}, '{offset}') THEN try_cast({fixed} AS TIMESTAMPTZ)"
        f" ELSE timezone({zone}, try_cast({v} AS TIMESTAMP)) END)"
    )


def _float_sql(v: str, fmt: str | None) -> str:
    x = f"regexp_replace({v}, '^[$€£¥]\\s*|\\s*[$€£¥]$', '', 'g')"
    if fmt == "1,234.56":
        x = f"replace({x}, ',', '')"
    elif fmt == "1.234,56":
        x = f"replace(replace({x}, '.', ''), ',', '.')"
    elif fmt == "1 234,56":
        x = f"replace(regexp_replace({x}, '\\s', '', 'g'), ',', '.')"
    return f"try_cast({x} AS DOUBLE)"


def _typed_sql(kind: str, v: str, fmt: str | None, tz: str) -> str:
    if kind == "ts":
        return _ts_sql(v, fmt, tz)
    if kind == "float":
        return _float_sql(v, fmt)
    if kind == "int":
        d = f"try_cast({v} AS DOUBLE)"
        return f"(CASE WHEN {d} = trunc({d}) AND abs({d}) < 9.2e18 THEN CAST({d} AS BIGINT) END)"
    if kind == "bool":
        t = ", ".join(sql_string(w) for w in _TRUE)
        f = ", ".join(sql_string(w) for w in _FALSE if w)
        return f"(CASE WHEN lower({v}) IN ({t}) THEN true WHEN lower({v}) IN ({f}) THEN false END)"
    return v


@dataclass
class _Column:
    name: str
    text: str  # the source text (NULL when empty)
    raw: str  # the text after the value map
    typed: str  # contract-typed SQL (ids: still text)
    source: str  # how the column is named in messages


def _part_columns(table: str, part: Part) -> list[_Column]:
    schema = TABLES[table]
    out = []
    for c in schema.columns:
        if c.name in part.columns:
            src = part.columns[c.name]
            raw = f"nullif(trim(CAST({_q(src)} AS VARCHAR)), '')"
        elif c.name in part.exprs:
            src = part.exprs[c.name]
            raw = f"nullif(trim(CAST(({src}) AS VARCHAR)), '')"
            src = ", ".join(part.reads) or c.name
        elif c.name in part.constants:
            src = f"constant {c.name}"
            raw = _literal(part.constants[c.name])
        else:
            continue
        value = _mapped(raw, part.values.get(c.name))
        if c.name in ID_COLUMNS:
            typed = value
        else:
            typed = _typed_sql(c.kind, value, part.formats.get(c.name), part.timezone)
        out.append(_Column(c.name, raw, value, typed, src))
    return out


# ------------------------------------------------------------------------------------- result


@dataclass
class ImportResult:
    """What an import wrote.

    Attributes
    ----------
    path : Path
        The world folder.
    rows : dict of str to int
        Rows written per table.
    dropped : dict of str to dict
        Rows left out per table, by reason.
    notes : list of str
        What was derived or defaulted, in plain words.
    """

    path: Path
    rows: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


class _Import:
    """One import in progress: a DuckDB connection (pass 1, staging), the engine of passes 2-4
    (the same connection, or Spark) and a staging folder."""

    def __init__(
        self,
        imap: ImportMap,
        stage: Path,
        salt: str | None,
        memory_limit: str,
        spark: Any | None = None,
    ) -> None:
        self.imap = imap
        self.stage = stage
        self.salt = salt
        self.con = connect()
        self.con.execute(f"SET memory_limit = {sql_string(memory_limit)}")
        self.con.execute(f"SET temp_directory = {sql_string(str(stage / 'spill'))}")
        self.con.execute("SET preserve_insertion_order = true")
        self.eng: Engine = (
            DuckDBEngine(self.con, owned=False) if spark is None else SparkEngine(spark)
        )
        self.views: dict[Path, str] = {}  # Parquet file (or Spark's folder of parts) -> view
        self.sources: list[_Source] = []
        self.columns: dict[str, dict[str, str]] = {}  # table -> contract col -> source col(s)
        self.typed: dict[str, Path] = {}
        self.modes: dict[tuple[str, str], str] = {}
        self.result = ImportResult(Path())
        self.derived: list[str] = []  # contract columns (table.column) not in the export

    # -- the engine: views over written files, queries, writes -------------------------------

    def read(self, path: Path, rows: bool = False) -> str:
        """A view over a Parquet file (Spark: a folder of parts); ``rows`` adds the row index
        within the file as ``file_row_number`` (Spark: its hidden ``_metadata.row_index``)."""
        name = f"_wb_imp_{len(self.views)}"
        if isinstance(self.eng, SparkEngine):
            sdf = self.eng.spark.read.parquet(str(path))
            if rows:
                sdf = sdf.selectExpr("*", "_metadata.row_index AS file_row_number")
            self.eng._temp(name, sdf)
        else:
            opts = ", file_row_number = true" if rows else ""
            self.con.execute(
                f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM"
                f" read_parquet({sql_string(str(path))}{opts})"
            )
        self.views[path] = name
        return name

    def write(self, sql: str, path: Path) -> Path:
        """Write a query (DuckDB dialect) where the engine runs, and open the result as a view."""
        self.eng.write_parquet(sql, path)
        self.read(path)
        return path

    def names(self, path: Path) -> list[str]:
        """The columns of a written file."""
        return self.eng.columns(self.views[path])

    def one(self, sql: str) -> tuple[Any, ...] | None:
        """The first row of a query (``None`` without rows)."""
        found = self.eng.rows(sql)
        return found[0] if found else None

    # -- pass 1 and 2: stage and type -----------------------------------------------------

    def type_table(self, tm: TableMap) -> None:
        table = tm.table
        selects = []
        for part in tm.parts:
            cols = _part_columns(table, part)
            for c in cols:
                self.columns.setdefault(table, {})[c.name] = c.source
            for path in part.sources:
                src = _Source(len(self.sources), table, path, part, _kind(path, part.sep), part.sep)
                self.sources.append(src)
                staged = self.stage / f"src-{src.index:05d}.parquet"
                _stage(self.con, src, staged)
                scan = f"(SELECT * FROM {self.read(staged, rows=True)} WHERE NOT _wb_blank)"
                if part.where is not None:  # the rows of this table in a mixed export
                    scan = f"(SELECT * FROM {scan} WHERE {part.where.format(src=scan)})"
                self._check_parse(src, scan, cols)
                keep = " AND ".join(
                    f"{c.text} IN ({', '.join(sql_string(str(k)) for k in part.values[c.name])})"
                    for c in cols
                    if c.name in part.drop_unmapped
                )
                if keep:
                    n = self.one(f"SELECT count_if(NOT ({keep})) FROM {scan}")
                    self._drop(
                        table, "values not mapped (drop_unmapped)", int((n[0] if n else 0) or 0)
                    )
                for c in cols:
                    if c.name in part.drop_missing:
                        cond = f"{c.typed} IS NOT NULL"
                        sel = f"SELECT count_if(NOT ({cond})) FROM {scan}"
                        if keep:
                            sel += f" WHERE {keep}"
                        n = self.one(sel)
                        self._drop(table, f"no {c.name}", int((n[0] if n else 0) or 0))
                        keep = f"{keep} AND {cond}" if keep else cond
                body = ", ".join(f"{c.typed} AS {c.name}" for c in cols)
                sql = (
                    f"SELECT {body}, {src.index} AS _wb_src, file_row_number AS _wb_row"
                    f" FROM {scan}" + (f" WHERE {keep}" if keep else "")
                )
                selects.append((sql, [c.name for c in cols]))
        given = list(dict.fromkeys(c for _, cs in selects for c in cs))
        union = " UNION ALL ".join(
            f"SELECT {', '.join(c if c in cs else f'NULL AS {c}' for c in given)},"
            f" _wb_src, _wb_row FROM ({sql})"
            for sql, cs in selects
        )
        if tm.group_by is not None:
            union = self._grouped(tm, given, union)
        self.typed[table] = self.write(union, self.stage / f"typed-{table}.parquet")

    def _grouped(self, tm: TableMap, given: list[str], union: str) -> str:
        key = "(_wb_src * 1099511627776 + _wb_row)"
        aggs = []
        for c in given:
            if c == tm.group_by:
                continue
            how = tm.aggregate.get(c, "first")
            if how == "first":
                aggs.append(f"arg_min({c}, {key}) FILTER (WHERE {c} IS NOT NULL) AS {c}")
            else:
                aggs.append(f"{how}({c}) AS {c}")
        return (
            f"SELECT {tm.group_by}, {', '.join(aggs)}, arg_min(_wb_src, {key}) AS _wb_src,"
            f" arg_min(_wb_row, {key}) AS _wb_row FROM ({union}) WHERE {tm.group_by} IS NOT NULL"
            f" GROUP BY {tm.group_by}"
        )

    def _check_parse(self, src: _Source, scan: str, cols: list[_Column]) -> None:
        checks = [c for c in cols if c.name not in ID_COLUMNS and c.typed != c.raw]
        if not checks:
            return
        sql = ", ".join(f"count_if({c.raw} IS NOT NULL AND {c.typed} IS NULL)" for c in checks)
        counts = self.one(f"SELECT {sql} FROM {scan}") or ()
        for c, n in zip(checks, counts, strict=True):
            if n:
                kind = _KIND_WORDS[TABLES[src.table].column(c.name).kind]
                rows = self.eng.rows(
                    f"SELECT file_row_number, {c.text} FROM {scan}"
                    f" WHERE {c.raw} IS NOT NULL AND {c.typed} IS NULL ORDER BY 1 LIMIT 5"
                )
                lines = _lines(src, [r[0] for r in rows])
                ex = [f"{lines[int(r[0])]}: {show(r[1])}" for r in rows]
                fmt = src.part.formats.get(c.name)
                problem = f"values that are not {kind}" + (f" in format '{fmt}'" if fmt else "")
                raise DataError(src.name, _named(c), problem, int(n), ex)

    def _drop(self, table: str, reason: str, n: int) -> None:
        if n:
            d = self.result.dropped.setdefault(table, {})
            d[reason] = d.get(reason, 0) + n

    # -- pass 3: ids ------------------------------------------------------------------------

    def id_mode(self, table: str, col: str) -> str:
        row = self.one(
            f"SELECT count_if({col} IS NOT NULL AND NOT regexp_full_match({col}, '[+-]?[0-9]+')),"
            f" count_if(contains({col}, '@')) FROM {self.views[self.typed[table]]}"
        )
        assert row is not None
        if row[1]:
            if self.salt is None:
                raise WorkbenchError(
                    f"{table}.{col} holds email addresses: they are replaced by a salted hash, so"
                    f" set ${SALT_ENV} or pass --salt-file FILE (a secret of 8+ characters, kept"
                    " out of every output; the same salt gives the same ids on a re-import)"
                )
            return _ADDRESS
        return "text" if row[0] else "int"

    def id_sql(self, table: str, col: str) -> str:
        mode = self.modes[(table, col)]
        if mode == "int":
            return f"try_cast({col} AS BIGINT)"
        if mode == _ADDRESS:
            assert self.salt is not None
            return _hash_sql(col, self.salt, lower=True)
        return _hash_sql(col, _TEXT_ID_KEY, lower=False)

    # -- pass 4: check and write ----------------------------------------------------------

    def relation(self, table: str, path: Path, derived: bool = False) -> Relation:
        names = self.names(path)
        schema = TABLES[table]
        stored = {c.name: c.kind for c in schema.columns if c.name in names}
        srcs = [s for s in self.sources if s.table == table]
        where = "derived from the other tables" if derived else _describe(srcs, table, self.imap)
        rel = _StagedRelation(table, where, stored, files=[path])
        rel.lookup = self._label
        self.eng.view(rel.raw, f"SELECT * FROM {self.views[path]}")
        return rel

    def _label(self, rows: Sequence[tuple[str | None, int]]) -> list[str]:
        out = []
        for src_index, row in rows:
            if src_index is None or int(src_index) < 0:
                out.append(f"derived row {int(row)}")
                continue
            src = self.sources[int(src_index)]
            out.append(f"{src.path.name} {_lines(src, [int(row)])[int(row)]}")
        return out


def _named(c: _Column) -> str:
    return c.source if c.source == c.name else f"{c.source} (as {c.name})"


def _describe(srcs: list[_Source], table: str, imap: ImportMap) -> str:
    names = sorted({s.path.name for s in srcs})
    if len(names) == 1:
        return str(srcs[0].path)
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    return f"{imap.label or imap.preset} [{table}] ({shown})"


@dataclass
class _StagedRelation(Relation):
    """A typed import table: rows are named by their source file and line."""

    lookup: Callable[[Sequence[tuple[str | None, int]]], list[str]] | None = None

    def scan(self, rows: bool = False) -> str:
        if not rows:
            return f"(SELECT * FROM {self.raw})"
        return f"(SELECT *, _wb_src AS _wb_file FROM {self.raw})"

    def labels(self, rows: Sequence[tuple[str | None, int]]) -> list[str]:
        assert self.lookup is not None
        return self.lookup(rows)


def import_world(
    imap: ImportMap,
    out: str | Path,
    *,
    salt: str | None = None,
    overwrite: bool = False,
    memory_limit: str = _MEMORY_LIMIT,
    engine: str | Any = "duckdb",
) -> ImportResult:
    """Import an export into a new world folder (see the module docstring).

    Parameters
    ----------
    imap : ImportMap
        What to read (:func:`~workbench.importers.mapping.load_mapping` or a preset).
    out : path
        The world folder to create; it appears only once complete.
    salt : str, optional
        Secret mixed into the hash that replaces addresses (:func:`read_salt`); needed when an
        id column holds addresses. Never written anywhere.
    overwrite : bool, default False
        Replace an existing world at ``out``.
    memory_limit : str, default "3GB"
        DuckDB's memory limit; beyond it, work spills to a temporary folder beside ``out``.
    engine : {"duckdb", "spark"}, a Spark URL, or a SparkSession
        Where passes 2-4 (type, ids, check and write) run. Pass 1 (staging each source file's
        columns as text, which names the source lines) always runs in DuckDB, here. With Spark,
        the world's tables, and the ``ids/`` maps, are folders of parts
        (``orders.parquet/part-*.parquet``, in row order); their values and row order are those
        of a DuckDB import.

    Returns
    -------
    ImportResult

    Raises
    ------
    DataError
        A value that does not parse or a row that breaks the contract: the source file, its
        column and the first offending lines. Nothing is written.
    WorkbenchError
        A missing salt, an unknown column, an output that cannot be written, an unknown engine.
    """
    import duckdb

    from workbench._io import atomic_dir

    spark = None
    if not (engine is None or engine == "duckdb"):
        spark = _spark_of(engine)
        if spark is None:
            raise WorkbenchError(f"unknown engine {engine!r}; engines are duckdb, spark")
    errors: tuple[type[BaseException], ...] = (duckdb.Error,)
    if spark is not None:
        import sqlglot.errors
        from pyspark.errors import PySparkException

        errors += (PySparkException, sqlglot.errors.SqlglotError)
    tables = imap.tables
    if not any(t in tables for t in ("email_events", "orders")):
        raise WorkbenchError(
            f"{imap.label or imap.preset}: an import needs email_events or orders (or both); "
            f"this one maps {', '.join(tables) or 'nothing'}"
        )
    with atomic_dir(out, overwrite, marker="world.json", kind="world", flag="--overwrite") as tmp:
        stage = tmp / ".stage"
        (stage / "spill").mkdir(parents=True)
        job = _Import(imap, stage, salt, memory_limit, spark)
        try:
            with _spark_conf(spark):
                result = _run(job, tmp)
        except errors as exc:  # e.g. a strptime format DuckDB does not know
            msg = " ".join(str(exc).split())[:300]
            raise WorkbenchError(f"{imap.label or imap.preset}: cannot import ({msg})") from None
        finally:
            job.eng.close()
            job.con.close()
            shutil.rmtree(stage, ignore_errors=True)
    result.path = Path(out)
    return result


@contextmanager
def _spark_conf(spark: Any | None) -> Iterator[None]:
    """Spark's session set as the import needs it (times in UTC, written as microseconds, as
    DuckDB writes them), restored afterwards."""
    if spark is None:
        yield
        return
    wanted = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
    }
    before = {k: spark.conf.get(k, None) for k in wanted}
    for k, v in wanted.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def _run(job: _Import, tmp: Path) -> ImportResult:
    imap = job.imap
    for name in TABLE_ORDER:
        if name in imap.tables:
            job.type_table(imap.tables[name])
    for table in job.typed:
        for col in ID_COLUMNS:
            if col in job.names(job.typed[table]):
                job.modes[(table, col)] = job.id_mode(table, col)
    final: dict[str, Path] = {}
    # ids, defaults and drops, table by table; referenced tables first
    derived_subs = "subscribers" not in job.typed
    derived_camps = "campaigns" not in job.typed and "email_events" in job.typed
    order = [t for t in TABLE_ORDER if t in job.typed]
    for table in order:
        final[table] = _finish(job, table, final, derived_subs)
    if derived_camps:
        final["campaigns"] = _derive_campaigns(job)
        job.derived.append("campaigns")
        job.result.notes.append(
            "campaigns: derived from the events' campaign ids (broadcast emails; sent at their"
            " first delivery)"
        )
    if derived_subs:
        final["subscribers"] = _derive_subscribers(job, final)
        job.derived += ["subscribers", "subscribers.signup_ts"]
        if "email_events" not in final:  # else unsubscribes come from the events
            job.derived.append("subscribers.unsubscribed_ts")
        job.result.notes.append(
            "subscribers: derived from the ids in the other tables (signup = first activity)"
        )
    activity = [t for t in ("email_events", "orders") if t in final]
    counts = " + ".join(f"(SELECT count(*) FROM {job.views[final[t]]})" for t in activity)
    n = job.one(f"SELECT {counts}")
    if not (n and n[0]):
        left = "; ".join(
            f"{k}: {v:,} rows {r}" for k, d in job.result.dropped.items() for r, v in d.items()
        )
        raise WorkbenchError(
            f"{imap.label or imap.preset}: nothing to import: no {' or '.join(activity)} rows"
            + (f" remain ({left})" if left else " in the sources")
        )
    if imap.infer_deliveries and "email_events" in final:
        final["email_events"] = _infer_deliveries(job, final)
        job.derived.append("email_events.delivered")
        job.result.notes.append(
            "email_events: deliveries inferred (the export lists opens and clicks only): every"
            " campaign reached every member on the list at its first open or click, bounces"
            " excepted; a campaign sent to part of the list is over-counted"
        )
    # check, referenced tables first, then write
    present: dict[str, Relation] = {}
    for table in TABLE_ORDER:
        if table not in final:
            continue
        derived = (table == "subscribers" and derived_subs) or (
            table == "campaigns" and derived_camps
        )
        rel = job.relation(table, final[table], derived)
        try:
            validate(job.eng, rel, present)
        except DataError as err:
            src = job.columns.get(table, {}).get(err.column or "", err.column)
            col = err.column if src in (None, err.column) else f"{src} (as {err.column})"
            raise DataError(err.source, col, err.problem, err.n_rows, err.examples) from None
        present[table] = rel
    for table, path in final.items():
        cols = [c for c in TABLES[table].column_names if c in job.names(path)]
        target = job.write(
            f"SELECT {', '.join(cols)} FROM {job.views[path]} ORDER BY _wb_src, _wb_row",
            tmp / f"{table}.parquet",
        )
        n = job.one(f"SELECT count(*) FROM {job.views[target]}")
        job.result.rows[table] = int(n[0] or 0) if n else 0
    _write_id_maps(job, tmp)
    _write_world_json(job, tmp)
    return job.result


def _finish(job: _Import, table: str, final: Mapping[str, Path], derived_subs: bool) -> Path:
    """The typed table with ids converted, defaults filled and unusable rows dropped."""
    typed = job.typed[table]
    names = job.names(typed)
    schema = TABLES[table]
    exprs = []
    for c in schema.columns:
        if c.name in names:
            expr = job.id_sql(table, c.name) if (table, c.name) in job.modes else c.name
            exprs.append(f"{expr} AS {c.name}")
        elif (table, c.name) in IMPORT_DEFAULTS:
            value = IMPORT_DEFAULTS[(table, c.name)]
            kind = {"int": "BIGINT", "float": "DOUBLE", "str": "VARCHAR", "bool": "BOOLEAN",
                    "ts": "TIMESTAMPTZ"}[c.kind]  # fmt: skip
            lit = "NULL" if value is None else _literal(value)
            exprs.append(f"CAST({lit} AS {kind}) AS {c.name}")
            if (table, c.name) != (
                "subscribers",
                "unsubscribed_ts",
            ) or "email_events" not in job.typed:
                job.derived.append(f"{table}.{c.name}")
            if value is not None:
                job.result.notes.append(f"{table}.{c.name}: not in the export, set to {value!r}")
    if table == "orders" and "order_id" not in names:
        exprs = [e for e in exprs if not e.endswith(" AS order_id")]
        exprs.insert(0, "CAST(row_number() OVER (ORDER BY _wb_src, _wb_row) AS BIGINT) AS order_id")
        job.derived.append("orders.order_id")
        job.result.notes.append("orders.order_id: not in the export, numbered in file order")
    if table == "subscribers" and "signup_ts" not in names:
        job.result.notes.append("subscribers.signup_ts: not in the export, set to first activity")
        job.derived.append("subscribers.signup_ts")
    src = job.views[typed]
    where = []
    if table != "subscribers" and "subscriber_id" in names:
        n = job.one(f"SELECT count_if(subscriber_id IS NULL) FROM {src}")
        job._drop(
            table, "no subscriber id (e.g. an order without an address)", int(n[0] or 0) if n else 0
        )
        where.append("subscriber_id IS NOT NULL")
    sql = f"SELECT {', '.join(exprs)}, _wb_src, _wb_row FROM {src}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    out = job.stage / f"final-{table}.parquet"
    if table != "subscribers" and "subscriber_id" in names and not derived_subs:
        subs = job.views[final["subscribers"]]
        inner = f"({sql}) x"
        n = job.one(f"SELECT count(*) FROM {inner} ANTI JOIN {subs} s USING (subscriber_id)")
        job._drop(table, "subscriber not on the list", int(n[0] or 0) if n else 0)
        sql = f"SELECT x.* FROM {inner} SEMI JOIN {subs} s USING (subscriber_id)"
    if table == "subscribers":
        cols = [e.rsplit(" AS ", 1)[1] for e in exprs] + ["_wb_src", "_wb_row"]
        sql = _with_activity(job, sql, names, cols)
    return job.write(sql, out)


def _activity(job: _Import) -> str:
    """SQL of (subscriber id as converted, ts) over the typed event and order tables."""
    parts = []
    for table in ("email_events", "orders", "touchpoints"):
        if table in job.typed and (table, "subscriber_id") in job.modes:
            parts.append(
                f"SELECT {job.id_sql(table, 'subscriber_id')} AS subscriber_id, ts"
                f" {', event_type' if table == 'email_events' else ', NULL AS event_type'}"
                f" FROM {job.views[job.typed[table]]} WHERE subscriber_id IS NOT NULL"
            )
    return " UNION ALL ".join(parts)


def _with_activity(job: _Import, sql: str, names: list[str], cols: list[str]) -> str:
    """A mapped subscribers table completed from the activity: a missing signup time is the
    first activity (else the import's first time), a missing unsubscribe time the first
    unsubscribe event. ``cols``: the columns of ``sql``."""
    act = _activity(job)
    if not act:
        if "signup_ts" not in names:
            raise WorkbenchError("subscribers: no signup_ts mapped and no activity to derive it")
        return sql
    n = job.one(
        f"SELECT count_if(signup_ts IS NULL) FROM ({sql})"
        if "signup_ts" in names
        else f"SELECT count(*) FROM ({sql})"
    )
    missing = int((n[0] if n else 0) or 0)
    if missing and "signup_ts" in names:
        job.result.notes.append(
            f"subscribers.signup_ts: missing for {missing:,} subscribers, set to first activity"
        )
    first = f"coalesce(s.signup_ts, a.first_ts, (SELECT min(ts) FROM ({act})))"
    unsub = "s.unsubscribed_ts"
    if "unsubscribed_ts" not in names and "email_events" in job.typed:
        unsub = "a.first_unsub"
        job.result.notes.append("subscribers.unsubscribed_ts: from the unsubscribe events")
    extra = "" if "signup_ts" in names else ", NULL::TIMESTAMPTZ AS signup_ts"
    # s.* REPLACE (...), spelt out (Spark SQL has no REPLACE): the same columns, in order
    new = {"signup_ts": first, "unsubscribed_ts": unsub}
    cols = cols + ([] if "signup_ts" in cols else ["signup_ts"])
    select = ", ".join(f"{new[c]} AS {c}" if c in new else f"s.{c}" for c in cols)
    return (
        f"SELECT {select}"
        f" FROM (SELECT *{extra} FROM ({sql})) s"
        f" LEFT JOIN (SELECT subscriber_id, min(ts) AS first_ts,"
        f" min(ts) FILTER (WHERE event_type = 'unsubscribed') AS first_unsub"
        f" FROM ({act}) GROUP BY 1) a USING (subscriber_id)"
    )


def _derive_subscribers(job: _Import, final: Mapping[str, Path]) -> Path:
    parts = []
    for table in ("email_events", "orders", "touchpoints"):
        if table in final:
            ev = "event_type" if table == "email_events" else "NULL::VARCHAR AS event_type"
            parts.append(f"SELECT subscriber_id, ts, {ev} FROM {job.views[final[table]]}")
    act = " UNION ALL ".join(parts)
    return job.write(
        f"SELECT subscriber_id, min(ts) AS signup_ts,"
        f" min(ts) FILTER (WHERE event_type = 'unsubscribed') AS unsubscribed_ts,"
        f" -1 AS _wb_src, row_number() OVER (ORDER BY subscriber_id) - 1 AS _wb_row"
        f" FROM ({act}) GROUP BY subscriber_id ORDER BY subscriber_id",
        job.stage / "final-subscribers.parquet",
    )


def _derive_campaigns(job: _Import) -> Path:
    typed = job.views[job.typed["email_events"]]
    mode = job.modes.get(("email_events", "campaign_id"), "int")
    cid = job.id_sql("email_events", "campaign_id")
    name = "campaign_id" if mode == "text" else "'campaign ' || campaign_id"
    # ordered by first source file and first row (as before), ties broken by the first row in
    # file order, then the text (the aggregates in a subquery: Spark takes no aggregate in the
    # ORDER BY of a window)
    order = "_wb_first_src, _wb_first_row, _wb_first, _wb_text"
    return job.write(
        "SELECT campaign_id, name, kind, channel, sent_ts, experiment_id, _wb_src,"
        f" row_number() OVER (ORDER BY {order}) - 1 AS _wb_row FROM ("
        f"SELECT {cid} AS campaign_id, any_value({name}) AS name,"
        " 'broadcast' AS kind, 'email' AS channel,"
        " coalesce(min(ts) FILTER (WHERE event_type IN ('sent', 'delivered')),"
        " min(ts) FILTER (WHERE event_type IN ('opened', 'clicked')), min(ts)) AS sent_ts,"
        " NULL::BIGINT AS experiment_id, -1 AS _wb_src, min(_wb_src) AS _wb_first_src,"
        " min(_wb_row) AS _wb_first_row, min(_wb_src * 1099511627776 + _wb_row) AS _wb_first,"
        " campaign_id AS _wb_text"
        f" FROM {typed} WHERE campaign_id IS NOT NULL GROUP BY campaign_id) ORDER BY {order}",
        job.stage / "final-campaigns.parquet",
    )


def _infer_deliveries(job: _Import, final: Mapping[str, Path]) -> Path:
    """The events plus a ``delivered`` event per campaign and member on the list at its send."""
    ev, subs, camps = (job.views[final[t]] for t in ("email_events", "subscribers", "campaigns"))
    delivered = {
        "subscriber_id": "s.subscriber_id",
        "campaign_id": "c.campaign_id",
        "variant": "NULL::VARCHAR",
        "event_type": "'delivered'",
        "ts": "c.sent_ts",
        "is_machine_open": "false",
        "_wb_src": "-1",
        "_wb_row": "row_number() OVER (ORDER BY c.sent_ts, c.campaign_id, s.subscriber_id) - 1",
    }
    # UNION ALL BY NAME, spelt out (Spark SQL has no BY NAME): the events' columns, in order
    have = job.names(final["email_events"])
    cols = have + [c for c in delivered if c not in have]
    first = ", ".join(c if c in have else f"NULL AS {c}" for c in cols)
    second = ", ".join(f"{delivered.get(c, 'NULL')} AS {c}" for c in cols)
    return job.write(
        f"SELECT {first} FROM {ev} UNION ALL"
        f" SELECT {second}"
        f" FROM {subs} s CROSS JOIN {camps} c"
        " WHERE s.signup_ts <= c.sent_ts"
        " AND (s.unsubscribed_ts IS NULL OR s.unsubscribed_ts > c.sent_ts)"
        f" AND NOT EXISTS (SELECT 1 FROM {ev} b WHERE b.event_type = 'bounced'"
        " AND b.subscriber_id = s.subscriber_id AND b.campaign_id = c.campaign_id)",
        job.stage / "final-email_events-delivered.parquet",
    )


def _write_id_maps(job: _Import, tmp: Path) -> None:
    """``ids/<column>.parquet``: source text -> id, for text ids (never for addresses)."""
    by_col: dict[str, list[str]] = {}
    for (table, col), mode in job.modes.items():
        if mode == "text":
            by_col.setdefault(col, []).append(
                f"SELECT DISTINCT {col} AS source_value, {job.id_sql(table, col)} AS {col}"
                f" FROM {job.views[job.typed[table]]} WHERE {col} IS NOT NULL"
            )
    if not by_col:
        return
    (tmp / "ids").mkdir()
    for col, parts in by_col.items():
        union = " UNION ".join(parts)
        n = job.one(f"SELECT count(DISTINCT source_value) - count(DISTINCT {col}) FROM ({union})")
        if n and n[0]:
            raise WorkbenchError(f"{col}: {n[0]} text ids share a hashed id; report this, please")
        job.write(f"SELECT * FROM ({union}) ORDER BY source_value", tmp / "ids" / f"{col}.parquet")


def _write_world_json(job: _Import, tmp: Path) -> None:
    from workbench import __version__

    times = []
    for table, col in (("email_events", "ts"), ("orders", "ts"), ("subscribers", "signup_ts")):
        p = tmp / f"{table}.parquet"
        if p in job.views:
            times.append(f"SELECT min({col}) lo, max({col}) hi FROM {job.views[p]}")
    row = job.one(f"SELECT min(lo), max(hi) FROM ({' UNION ALL '.join(times)})")
    start = row[0] if row else None
    days = (row[1] - row[0]).days + 1 if row and row[0] is not None else None
    sources = []
    for s in job.sources:
        sources.append(
            {"file": s.path.name, "sha256": _sha256(s.path), "bytes": s.path.stat().st_size}
        )
    meta = {
        "origin": "import",
        "preset": job.imap.preset,
        "mapping": job.imap.label or None,
        "start": start.date().isoformat() if start is not None else None,
        "days": days,
        "n_subscribers": job.result.rows.get("subscribers", 0),
        "rows": dict(job.result.rows),
        "generator": "workbench.importers",
        "workbench_version": __version__,
        "import": {
            "sources": sources,
            "columns": job.columns,
            "ids": {f"{t}.{c}": m for (t, c), m in job.modes.items()},
            "dropped": job.result.dropped,
            "derived": sorted(set(job.derived)),
            "notes": job.result.notes + list(job.imap.notes),
        },
    }
    (tmp / "world.json").write_text(json.dumps(meta, indent=2, default=str) + "\n")


def _sha256(path: Path) -> str:
    from workbench._io import file_sha256

    return file_sha256(path)
