"""How an export maps onto the data contract: :class:`Part`, :class:`TableMap`, :class:`ImportMap`.

A mapping says, for each contract table, which source files hold it and which source column
gives each contract column. The generic mapping is a TOML file (:func:`load_mapping`), one table
per contract table, paths relative to the mapping file::

    [orders]
    source = "transactions.txt"       # CSV, TSV, Parquet, or a folder/glob of them
    sep = "whitespace"                # optional: ",", ";", "\\t", "|", "whitespace"
    [orders.columns]                  # contract column = source column
    subscriber_id = "customer_id"     # any id type: text ids get stable int64 ids
    ts = "date"
    revenue = "dollar_value"
    [orders.formats]
    ts = "%Y%m%d"                     # strptime format of a time column
    revenue = "1.234,56"              # or "1,234.56": how a number column writes thousands

A table may instead name a preset that reads its source (``[orders]``, ``source =
"orders_export_1.csv"``, ``preset = "shopify"``). Other keys of a table:

- ``timezone``: the zone of times written without an offset (default UTC); ``encoding``;
- ``[T.values.COLUMN]``: source value = contract value (a Klaviyo metric name = an
  ``event_type``), with ``drop_unmapped`` naming columns whose other values drop the row
  (counted) instead of failing;
- ``drop_missing``: columns whose empty values drop the row (counted), e.g. an event without
  a campaign;
- ``[T.constants]``: contract column = one value for every row;
- ``group_by``: a contract column; rows sharing it are one row (line items of an order), with
  ``[T.aggregate]`` per column: ``sum``, ``min``, ``max`` or ``first`` (the default).

The presets (:mod:`workbench.importers.presets`) build the same objects from a vendor's files.
"""

from __future__ import annotations

import difflib
import glob
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.schema import TABLES

__all__ = ["ID_COLUMNS", "ImportMap", "Part", "TableMap", "load_mapping", "source_files"]

#: Contract tables an import may fill (never the truth tables).
IMPORTABLE = ("subscribers", "campaigns", "email_events", "orders", "touchpoints")
#: Id columns: any source type (integers kept, text hashed to stable int64 ids).
ID_COLUMNS = ("subscriber_id", "campaign_id", "order_id")
SEPARATORS = {",": ",", ";": ";", "\\t": "\t", "\t": "\t", "tab": "\t", "|": "|"}
WHITESPACE = "whitespace"
AGGREGATES = ("first", "sum", "min", "max")
_TABLE_KEYS = {
    "source",
    "preset",
    "sep",
    "encoding",
    "timezone",
    "columns",
    "formats",
    "values",
    "drop_unmapped",
    "drop_missing",
    "constants",
    "group_by",
    "aggregate",
}
_NUMBER_FORMATS = ("1,234.56", "1.234,56", "1 234,56")
_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".csv.gz", ".tsv.gz", ".txt.gz")


@dataclass(frozen=True)
class Part:
    """One group of source files read the same way into one contract table.

    Attributes
    ----------
    sources : tuple of Path
        The files (CSV/TSV/text, gzipped or not, or Parquet).
    label : str
        Where this part was defined, for messages (``MAP.toml [orders]``).
    columns : mapping
        Contract column -> source column.
    exprs : mapping
        Contract column -> DuckDB SQL over the source columns (presets only); each source column
        the SQL reads is listed in ``reads``.
    reads : tuple of str
        Source columns ``exprs`` read.
    constants : mapping
        Contract column -> one value for every row.
    formats : mapping
        Contract column -> strptime format (times) or number format.
    values : mapping
        Contract column -> {source value: contract value}.
    drop_unmapped : tuple of str
        Columns whose values outside ``values`` drop the row.
    drop_missing : tuple of str
        Columns whose missing values drop the row (counted), e.g. an event without a campaign.
    where : str, optional
        DuckDB SQL over the source columns choosing the rows this part reads (presets: one
        export holding several tables); ``{src}`` stands for the whole source file.
    sep : str, optional
        Field separator (``None``: by extension, sniffed for CSV); ``"whitespace"``: runs of
        blanks.
    encoding : str
        Text encoding of the files.
    timezone : str
        Zone of times written without an offset.
    """

    sources: tuple[Path, ...]
    label: str
    columns: Mapping[str, str] = field(default_factory=dict)
    exprs: Mapping[str, str] = field(default_factory=dict)
    reads: tuple[str, ...] = ()
    constants: Mapping[str, Any] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    drop_unmapped: tuple[str, ...] = ()
    drop_missing: tuple[str, ...] = ()
    where: str | None = None
    sep: str | None = None
    encoding: str = "utf-8"
    timezone: str = "UTC"

    @property
    def given(self) -> tuple[str, ...]:
        """Contract columns this part gives (mapped, computed or constant)."""
        return tuple(dict.fromkeys([*self.columns, *self.exprs, *self.constants]))

    def source_columns(self) -> tuple[str, ...]:
        """Source columns read."""
        return tuple(dict.fromkeys([*self.columns.values(), *self.reads]))


@dataclass(frozen=True)
class TableMap:
    """How one contract table is read: its parts (unioned) and an optional grouping."""

    table: str
    parts: tuple[Part, ...]
    group_by: str | None = None
    aggregate: Mapping[str, str] = field(default_factory=dict)

    @property
    def given(self) -> tuple[str, ...]:
        """Contract columns some part gives."""
        return tuple(dict.fromkeys(c for p in self.parts for c in p.given))


@dataclass(frozen=True)
class ImportMap:
    """A whole import: one :class:`TableMap` per contract table it fills."""

    tables: Mapping[str, TableMap]
    preset: str = "generic"
    label: str = ""
    notes: tuple[str, ...] = ()
    infer_deliveries: bool = False


def _close(word: str, options: list[str]) -> str:
    m = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f" (misspelt? '{m[0]}')" if m else ""


def source_files(spec: str, base: Path, where: str) -> tuple[Path, ...]:
    """The files a ``source`` names: a file, a folder (its data files) or a glob, sorted."""
    p = Path(spec)
    p = p if p.is_absolute() else base / p
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.is_file() and f.name.lower().endswith(_SUFFIXES))
    elif any(ch in spec for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
    else:
        files = [p] if p.is_file() else []
    if not files:
        raise WorkbenchError(f"{where}: source '{spec}' matches no file (looked for {p})")
    return tuple(files)


def _text_map(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise WorkbenchError(f"{where}: expected a table of key = value pairs")
    return dict(value)


def _check_columns(table: str, names: list[str], where: str) -> None:
    contract = TABLES[table].column_names
    for name in names:
        if name == "email" and table == "subscribers":
            raise WorkbenchError(
                f"{where}: 'email' cannot be imported: addresses never enter a world; map the "
                "address to subscriber_id instead (it is replaced by a salted hash)"
            )
        if name not in contract:
            raise WorkbenchError(
                f"{where}: '{name}' is not a column of {table}{_close(name, contract)}; "
                f"its columns are {', '.join(contract)}"
            )


def _table_map(table: str, spec: Mapping[str, Any], base: Path, label: str) -> TableMap:
    where = f"{label} [{table}]"
    unknown = [k for k in spec if k not in _TABLE_KEYS]
    if unknown:
        k = unknown[0]
        raise WorkbenchError(f"{where}: unknown key '{k}'{_close(k, sorted(_TABLE_KEYS))}")
    if "source" not in spec:
        raise WorkbenchError(f"{where}: no 'source' (the file, folder or glob to read)")
    srcs = spec["source"] if isinstance(spec["source"], list) else [spec["source"]]
    if not srcs or not all(isinstance(s, str) for s in srcs):
        raise WorkbenchError(f"{where}: 'source' must be a path or a list of paths")
    files = tuple(f for s in srcs for f in source_files(s, base, where))
    if "preset" in spec:  # the table as a preset reads it: [orders] preset = "shopify"
        from workbench.importers.presets import preset_table

        others = sorted(k for k in spec if k not in ("source", "preset"))
        if others:
            raise WorkbenchError(
                f"{where}: with 'preset', only 'source' may be given ({others[0]})"
            )
        return preset_table(str(spec["preset"]), table, files, where)
    columns = {k: str(v) for k, v in _text_map(spec.get("columns", {}), f"{where}.columns").items()}
    formats = {k: str(v) for k, v in _text_map(spec.get("formats", {}), f"{where}.formats").items()}
    constants = _text_map(spec.get("constants", {}), f"{where}.constants")
    values = {
        k: _text_map(v, f"{where}.values.{k}")
        for k, v in _text_map(spec.get("values", {}), f"{where}.values").items()
    }
    drop = spec.get("drop_unmapped", [])
    drop = [drop] if isinstance(drop, str) else list(drop)
    aggregate = {
        k: str(v) for k, v in _text_map(spec.get("aggregate", {}), f"{where}.aggregate").items()
    }
    for name, part in (
        ("columns", columns),
        ("formats", formats),
        ("constants", constants),
        ("values", values),
        ("aggregate", aggregate),
    ):
        _check_columns(table, list(part), f"{where}.{name}")
    _check_columns(table, drop, f"{where}.drop_unmapped")
    missing = spec.get("drop_missing", [])
    missing = [missing] if isinstance(missing, str) else [str(m) for m in missing]
    _check_columns(table, missing, f"{where}.drop_missing")
    for c in drop:
        if c not in values:
            raise WorkbenchError(
                f"{where}: drop_unmapped names '{c}' but [{table}.values.{c}] is absent"
            )
    for c, how in aggregate.items():
        if how not in AGGREGATES:
            raise WorkbenchError(
                f"{where}.aggregate: '{c}' = '{how}'; expected one of {', '.join(AGGREGATES)}"
            )
    for c, fmt in formats.items():
        kind = TABLES[table].column(c).kind
        if kind == "float" and fmt not in _NUMBER_FORMATS:
            raise WorkbenchError(
                f"{where}.formats: '{c}' = '{fmt}'; a number format is one of "
                f"{', '.join(repr(f) for f in _NUMBER_FORMATS)}"
            )
        if kind not in ("float", "ts"):
            raise WorkbenchError(f"{where}.formats: '{c}' is not a time or an amount")
    group_by = spec.get("group_by")
    if group_by is not None:
        _check_columns(table, [str(group_by)], f"{where}.group_by")
    sep = spec.get("sep")
    if sep is not None:
        sep = str(sep)
        if sep != WHITESPACE and sep not in SEPARATORS:
            raise WorkbenchError(
                f"{where}: sep '{sep}' unknown; use ',', ';', '\\t', '|' or 'whitespace'"
            )
        sep = sep if sep == WHITESPACE else SEPARATORS[sep]
    tz = str(spec.get("timezone", "UTC"))
    _check_timezone(tz, where)
    part = Part(
        sources=files,
        label=where,
        columns=columns,
        constants=constants,
        formats=formats,
        values=values,
        drop_unmapped=tuple(drop),
        drop_missing=tuple(missing),
        sep=sep,
        encoding=str(spec.get("encoding", "utf-8")),
        timezone=tz,
    )
    return TableMap(table, (part,), None if group_by is None else str(group_by), aggregate)


def _check_timezone(tz: str, where: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkbenchError(
            f"{where}: timezone '{tz}' unknown (an IANA name such as 'Europe/Paris' or 'UTC')"
        ) from None


def load_mapping(path: str | Path) -> ImportMap:
    """Read a generic mapping file (TOML; see the module docstring).

    Raises
    ------
    WorkbenchError
        When the file cannot be read, is not TOML, names an unknown table, column or key, or a
        source that matches no file: one line naming the file and the table.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbenchError(f"{path}: no such mapping file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkbenchError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{path}: not valid TOML ({exc})") from None
    label = path.name
    tables = {}
    for name, spec in data.items():
        if name not in IMPORTABLE:
            hint = _close(name, list(IMPORTABLE))
            raise WorkbenchError(
                f"{label}: [{name}] is not an importable table{hint}; "
                f"tables are {', '.join(IMPORTABLE)}"
            )
        if not isinstance(spec, Mapping):
            raise WorkbenchError(f"{label}: '{name}' must be a table ([{name}])")
        tables[name] = _table_map(name, spec, path.parent, label)
    if not tables:
        raise WorkbenchError(f"{label}: maps no table (add [orders], [email_events], ...)")
    return ImportMap(tables, "generic", label)
