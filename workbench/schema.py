"""The data contract: one schema per table of a *world*, validation, and :func:`load_world`.

A world is a folder holding ``world.json`` (scenario, seed, sizes, generator version) and one entry
per table: ``NAME.parquet``, a folder ``NAME/`` of Parquet parts, or a CSV export ``NAME.csv``
(``.csv.gz``). Column names are snake_case, ids int64, timestamps timezone-aware UTC, money float64.
CSV timestamps without an offset are read as UTC.

Validation raises one :class:`~workbench.errors.DataError` naming the file, the column, how many
rows are affected and the first offending rows. Per-table checks (types, allowed values, ranges,
nulls, unique ids) run through pandera; keys across columns and references between tables are
checked here.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow

from workbench.errors import DataError, WorkbenchError

Kind = Literal["int", "float", "str", "bool", "ts"]

EVENT_TYPES = ("sent", "delivered", "opened", "clicked", "unsubscribed", "bounced", "complained")
CHANNELS = ("email", "sms", "push", "in_app", "paid_retargeting", "organic_search", "direct")
MESSAGE_CHANNELS = ("email", "sms", "push", "in_app")
CAMPAIGN_KINDS = ("broadcast", "triggered", "lifecycle")
INTERACTIONS = ("impression", "click", "open")
EXPERIMENT_KINDS = (
    "ab_test",
    "factorial",
    "segmentation_holdout",
    "channel_holdout",
    "cadence_test",
)
LIFECYCLE_STAGES = ("new", "active", "lapsing", "lapsed", "reactivated")

_ARROW_TYPES: dict[str, pa_arrow.DataType] = {
    "int": pa_arrow.int64(),
    "float": pa_arrow.float64(),
    "str": pa_arrow.string(),
    "bool": pa_arrow.bool_(),
    "ts": pa_arrow.timestamp("us", tz="UTC"),
}
_TS_DTYPE = pd.DatetimeTZDtype(unit="us", tz="UTC")


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    Parameters
    ----------
    name : str
        snake_case column name.
    kind : {"int", "float", "str", "bool", "ts"}
        Logical type: int64, float64, string, bool, UTC timestamp (microseconds).
    doc : str
        What the column means.
    nullable : bool
        Whether missing values are allowed.
    required : bool
        Whether the column must be present (optional columns are checked when present).
    allowed : tuple of str, optional
        The values a string column may take.
    ge, le : float, optional
        Inclusive bounds of a numeric column.
    unique : bool
        Whether values must be unique (an id).
    """

    name: str
    kind: Kind
    doc: str = ""
    nullable: bool = False
    required: bool = True
    allowed: tuple[str, ...] | None = None
    ge: float | None = None
    le: float | None = None
    unique: bool = False

    @property
    def arrow_type(self) -> pa_arrow.DataType:
        """The Arrow type this column is stored as in Parquet."""
        return _ARROW_TYPES[self.kind]


@dataclass(frozen=True)
class TableSchema:
    """Schema of one table: its columns, composite key and references to other tables."""

    name: str
    doc: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    references: Mapping[str, str] = field(default_factory=dict)
    truth: bool = False

    @property
    def column_names(self) -> list[str]:
        """Names of all columns, in contract order."""
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        """Return the column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow_schema(self, columns: Iterable[str] | None = None) -> pa_arrow.Schema:
        """Arrow schema of the table (all contract columns, or the ones named)."""
        names = self.column_names if columns is None else list(columns)
        return pa_arrow.schema(
            [pa_arrow.field(n, self.column(n).arrow_type, self.column(n).nullable) for n in names]
        )

    def pandera_schema(self) -> pa.DataFrameSchema:
        """The per-table checks as a pandera schema (columns already coerced)."""
        cols = {}
        for c in self.columns:
            checks = []
            if c.allowed is not None:
                checks.append(pa.Check.isin(list(c.allowed), error=f"unknown {c.name} value"))
            if c.ge is not None:
                checks.append(pa.Check.ge(c.ge, error=f"values below {c.ge}"))
            if c.le is not None:
                checks.append(pa.Check.le(c.le, error=f"values above {c.le}"))
            cols[c.name] = pa.Column(
                None, checks=checks, nullable=c.nullable, unique=c.unique, required=c.required
            )
        return pa.DataFrameSchema(cols, strict=False)


def _c(name: str, kind: Kind, doc: str = "", **kw: Any) -> Column:
    return Column(name, kind, doc, **kw)


TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in [
        TableSchema(
            "subscribers",
            "One row per subscriber.",
            (
                _c("subscriber_id", "int", "subscriber id", unique=True),
                _c(
                    "email", "str", "synthetic address on a reserved example domain", required=False
                ),
                _c("signup_ts", "ts", "when the subscriber joined the list"),
                _c("region", "str", "home region"),
                _c("tz_offset_h", "float", "UTC offset of local time, hours", ge=-12, le=14),
                _c("acquisition_source", "str", "where the subscriber came from"),
                _c("email_consent", "bool", "consent to email at signup"),
                _c("sms_consent", "bool", "consent to SMS"),
                _c("push_consent", "bool", "consent to push notifications"),
                _c("unsubscribed_ts", "ts", "email unsubscribe time, if any", nullable=True),
            ),
        ),
        TableSchema(
            "campaigns",
            "One row per campaign (a broadcast, or a triggered / lifecycle flow message).",
            (
                _c("campaign_id", "int", "campaign id", unique=True),
                _c("name", "str", "campaign name"),
                _c("kind", "str", "broadcast / triggered / lifecycle", allowed=CAMPAIGN_KINDS),
                _c("channel", "str", "message channel", allowed=MESSAGE_CHANNELS),
                _c("sent_ts", "ts", "send time (first send for flows)"),
                _c("experiment_id", "int", "experiment the campaign carries", nullable=True),
                _c("content_category", "str", "content angle", nullable=True, required=False),
                _c(
                    "flow", "str", "welcome / cart_abandonment / ...", nullable=True, required=False
                ),
            ),
            references={"experiment_id": "experiments.experiment_id"},
        ),
        TableSchema(
            "email_events",
            "One row per email event, ESP-export style.",
            (
                _c("subscriber_id", "int", "recipient"),
                _c("campaign_id", "int", "campaign"),
                _c(
                    "variant",
                    "str",
                    "test arm the recipient got (null outside tests)",
                    nullable=True,
                ),
                _c("event_type", "str", "what happened", allowed=EVENT_TYPES),
                _c("ts", "ts", "when"),
                _c("is_machine_open", "bool", "open by a privacy-protecting client, not a person"),
            ),
            references={
                "subscriber_id": "subscribers.subscriber_id",
                "campaign_id": "campaigns.campaign_id",
            },
        ),
        TableSchema(
            "orders",
            "One row per order.",
            (
                _c("order_id", "int", "order id", unique=True),
                _c("subscriber_id", "int", "buyer"),
                _c("ts", "ts", "order time"),
                _c("revenue", "float", "order value in the shop's currency", ge=0),
                _c("n_items", "int", "items in the order", ge=1),
                _c("category", "str", "main product category"),
            ),
            references={"subscriber_id": "subscribers.subscriber_id"},
        ),
        TableSchema(
            "touchpoints",
            "One row per marketing touch on any channel.",
            (
                _c("subscriber_id", "int", "who was touched"),
                _c("ts", "ts", "when"),
                _c("channel", "str", "channel", allowed=CHANNELS),
                _c("campaign_id", "int", "campaign, for owned channels", nullable=True),
                _c("interaction", "str", "impression / click / open", allowed=INTERACTIONS),
            ),
            references={
                "subscriber_id": "subscribers.subscriber_id",
                "campaign_id": "campaigns.campaign_id",
            },
        ),
        TableSchema(
            "experiments",
            "One row per experiment (added to the DESIGN.md contract: arms, control, window).",
            (
                _c("experiment_id", "int", "experiment id", unique=True),
                _c("name", "str", "experiment name"),
                _c("kind", "str", "design", allowed=EXPERIMENT_KINDS),
                _c("arms", "str", "arm names, separated by '|'"),
                _c("control_arm", "str", "the control (or holdout) arm"),
                _c("start_ts", "ts", "first assignment"),
                _c("conversion_window_days", "int", "days after a send an order counts", ge=0),
                _c("description", "str", "what is tested", required=False, nullable=True),
                _c(
                    "channel",
                    "str",
                    "the channel held out (channel_holdout experiments)",
                    required=False,
                    nullable=True,
                    allowed=CHANNELS,
                ),
            ),
        ),
        TableSchema(
            "assignments",
            "One row per subscriber and experiment.",
            (
                _c("experiment_id", "int", "experiment"),
                _c("subscriber_id", "int", "subscriber"),
                _c("arm", "str", "assigned arm"),
                _c("assigned_ts", "ts", "when assigned"),
                _c("is_holdout", "bool", "in a holdout (receives nothing from the tested program)"),
            ),
            key=("experiment_id", "subscriber_id"),
            references={
                "subscriber_id": "subscribers.subscriber_id",
                "experiment_id": "experiments.experiment_id",
            },
        ),
        TableSchema(
            "truth_subscribers",
            "Ground truth per subscriber (evaluation only).",
            (
                _c("subscriber_id", "int", "subscriber", unique=True),
                _c("persona", "str", "true cohort"),
            ),
            references={"subscriber_id": "subscribers.subscriber_id"},
            truth=True,
        ),
        TableSchema(
            "truth_lifecycle",
            "True lifecycle transitions, one row each (evaluation only).",
            (
                _c("subscriber_id", "int", "subscriber"),
                _c("day", "int", "day of the simulation (0 = scenario start)", ge=0),
                _c("ts", "ts", "when the subscriber entered the stage"),
                _c("stage", "str", "lifecycle stage entered", allowed=LIFECYCLE_STAGES),
            ),
            references={"subscriber_id": "subscribers.subscriber_id"},
            truth=True,
        ),
        TableSchema(
            "truth_effects",
            "True effect of each arm in each cohort (evaluation only).",
            (
                _c("experiment_id", "int", "experiment"),
                _c("persona", "str", "true cohort"),
                _c("arm", "str", "arm"),
                _c("conversion_rate", "float", "true conversion probability", ge=0, le=1),
                _c("revenue_per_recipient", "float", "true expected revenue", ge=0),
            ),
            key=("experiment_id", "persona", "arm"),
            truth=True,
        ),
        TableSchema(
            "truth_channels",
            "True incremental conversions per channel, by counterfactual simulation.",
            (
                _c("channel", "str", "channel switched off", allowed=CHANNELS),
                _c("conversions", "float", "conversions in the factual world", ge=0),
                _c("conversions_without", "float", "conversions with the channel off", ge=0),
                _c("incremental_conversions", "float", "difference of the two"),
                _c("incremental_revenue", "float", "revenue difference"),
            ),
            key=("channel",),
            truth=True,
        ),
    ]
}

TRUTH_TABLES = tuple(n for n, t in TABLES.items() if t.truth)
ANALYSIS_TABLES = tuple(n for n, t in TABLES.items() if not t.truth)
REQUIRED_TABLES = ("subscribers",)
_BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False, "t": True, "f": False,
               "yes": True, "no": False, "y": True, "n": False}  # fmt: skip


def _is_csv(source: str) -> bool:
    return source.endswith((".csv", ".csv.gz"))


def _rows(
    mask: np.ndarray | pd.Series, values: pd.Series | None = None, source: str = ""
) -> tuple[int, list[Any]]:
    """Count of True entries and the first offending rows, with their values.

    Rows are numbered from 0 as in the DataFrame; for a CSV source they are given as file lines
    (the header is line 1, so data row ``i`` is line ``i + 2``).
    """
    m = np.asarray(mask, dtype=bool)
    idx = np.flatnonzero(m)
    label = (lambda i: f"line {i + 2}") if _is_csv(source) else (lambda i: f"row {i}")
    if values is None:
        return len(idx), [label(i) for i in idx[:5]]
    out = []
    for i in idx[:5]:
        v = values.iloc[i]
        v = v.item() if hasattr(v, "item") else v
        out.append(f"{label(i)}: {'missing' if pd.isna(v) else repr(v)}")
    return len(idx), out


def _has_contract_dtype(s: pd.Series, col: Column) -> bool:
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


def _coerce(df: pd.DataFrame, table: TableSchema, source: str) -> pd.DataFrame:
    """Bring each contract column present to its contract dtype, or raise on values that fail."""
    out = {}
    for name in df.columns:
        s = df[name]
        try:
            col = table.column(name)
        except KeyError:
            out[name] = s  # extra columns are allowed and kept as they are
            continue
        if _has_contract_dtype(s, col):
            out[name] = s  # Parquet written to the contract: nothing to convert
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
                raise DataError(source, name, f"has type {s.dtype}, expected {col.kind}")
            conv = pd.to_numeric(s, errors="coerce")
            if col.kind == "int":
                num = conv.to_numpy(dtype="float64", na_value=np.nan)
                frac = ~np.isnan(num) & (num != np.round(num))
                if frac.any():
                    n, ex = _rows(frac, s, source)
                    raise DataError(source, name, "non-integer values", n, ex)
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
            n, ex = _rows(bad, s, source)
            kind = {"ts": "unparsable timestamps", "bool": "values that are not true/false"}
            raise DataError(source, name, kind.get(col.kind, f"values that are not {col.kind}"),
                            n, ex)  # fmt: skip
        out[name] = conv
    return pd.DataFrame(out, index=df.index)


def validate_table(
    df: pd.DataFrame, name: str, source: str | None = None, coerce: bool = True
) -> pd.DataFrame:
    """Check one table against its contract and return it with contract dtypes.

    Parameters
    ----------
    df : DataFrame
        The table.
    name : str
        Its contract name (a key of :data:`TABLES`).
    source : str, optional
        The file it came from, used in error messages (defaults to ``name``).
    coerce : bool, default True
        Convert columns to their contract dtypes first (CSV input needs it).

    Returns
    -------
    DataFrame
        The table, columns converted to the contract dtypes, index reset to row numbers.

    Raises
    ------
    DataError
        On the first problem found: missing or misspelt column, unparsable values, values out
        of the allowed set or range, missing values, duplicate ids or keys.
    """
    if name not in TABLES:
        raise WorkbenchError(f"unknown table '{name}'; tables are {', '.join(TABLES)}")
    table = TABLES[name]
    source = source or name
    df = df.reset_index(drop=True)
    missing = [c.name for c in table.columns if c.required and c.name not in df.columns]
    if missing:
        col = missing[0]
        spare = [c for c in df.columns if c not in table.column_names]
        close = difflib.get_close_matches(col, [str(c) for c in spare], n=1, cutoff=0.6)
        hint = f"; found '{close[0]}' - misspelt?" if close else ""
        raise DataError(source, col, f"missing required column{hint}")
    if coerce:
        df = _coerce(df, table, source)
    try:
        table.pandera_schema().validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise _from_pandera(exc, df, source) from None
    if table.key:
        dup = df.duplicated(list(table.key), keep="first").to_numpy()
        if dup.any():
            n, ex = _rows(dup, source=source)
            raise DataError(source, ", ".join(table.key), "duplicate keys", n, ex)
    return df


def _from_pandera(exc: pa.errors.SchemaErrors, df: pd.DataFrame, source: str) -> DataError:
    """Turn pandera's lazy failure table into our one error about the first failing column."""
    fc = exc.failure_cases
    first = fc.iloc[0]
    column = first["column"]
    cases = fc[(fc["column"] == column) & (fc["check"] == first["check"])]
    check = str(first["check"])
    s = df[column] if column in df.columns else None
    if s is None:
        return DataError(source, column, check)
    if check == "not_nullable":
        mask = s.isna().to_numpy()
        problem = "missing values"
    elif check == "field_uniqueness":
        mask = s.duplicated(keep="first").to_numpy()
        problem = "duplicate ids"
    else:
        idx = cases["index"].dropna().astype("int64").to_numpy()
        mask = np.zeros(len(df), dtype=bool)
        mask[idx] = True
        problem = check if not check.startswith(("isin", "greater", "less")) else check
    n, ex = _rows(mask, s, source)
    return DataError(source, column, problem, n, ex)


# --------------------------------------------------------------------------------------- worlds


def _table_source(root: Path, name: str) -> Path | None:
    for cand in (f"{name}.parquet", name, f"{name}.csv", f"{name}.csv.gz"):
        p = root / cand
        if p.exists():
            return p
    return None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one stored table (Parquet file, folder of Parquet parts, or CSV) without checks."""
    path = Path(path)
    if path.suffix in (".csv", ".gz"):
        # every column as text: _coerce parses it against the contract and reports bad rows
        return pd.read_csv(path, dtype=str, keep_default_na=True)
    return pd.read_parquet(path)


@dataclass
class World:
    """A loaded, validated world: its tables as DataFrames and its ``world.json``.

    Attributes
    ----------
    path : Path
        The folder it was loaded from.
    meta : dict
        Contents of ``world.json`` (empty for a folder of exports without one): what a method may
        know (scenario name, seed, period, sizes, calendar, experiment designs), never the truth,
        which evaluation code loads with :func:`workbench.truth.load_truth`.
    tables : dict of str to DataFrame
        The tables that were loaded, with contract dtypes.
    """

    path: Path
    meta: dict[str, Any]
    tables: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self.tables:
            have = ", ".join(self.tables) or "none"
            raise WorkbenchError(f"{self.path}: world has no table '{name}' (loaded: {have})")
        return self.tables[name]

    def __contains__(self, name: object) -> bool:
        return name in self.tables

    def source(self, name: str) -> Path | None:
        """The file or folder a table is stored in (for DuckDB and hashing)."""
        return _table_source(self.path, name)


def load_world(path: str | Path, tables: Iterable[str] | None = None) -> World:
    """Load a world folder (Parquet or CSV exports) and validate it against the contract.

    Only the analysis tables load here; the truth of a synthetic world (``truth_*`` tables,
    ``truth_scenario.json``) is for evaluation code, through :func:`workbench.truth.load_truth`.

    Parameters
    ----------
    path : path
        The world folder.
    tables : iterable of str, optional
        The analysis tables to load (default: every one present). ``subscribers`` is always
        loaded, since references are checked against it.

    Returns
    -------
    World

    Raises
    ------
    WorkbenchError
        When a table name is unknown or a truth table.
    DataError
        When a table breaks the contract or refers to unknown subscribers, campaigns or
        experiments.
    """
    from workbench.truth import public_meta

    root = Path(path)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such world folder")
    meta: dict[str, Any] = {}
    if (root / "world.json").is_file():
        # a world from generator < 1.3 still carries its truth in world.json: leave it out
        meta = public_meta(json.loads((root / "world.json").read_text()))
    wanted = list(ANALYSIS_TABLES if tables is None else tables)
    for name in wanted:
        if name not in TABLES:
            raise WorkbenchError(f"unknown table '{name}'; tables are {', '.join(TABLES)}")
        if TABLES[name].truth:
            raise WorkbenchError(
                f"'{name}' is ground truth: evaluation code loads it with "
                "workbench.truth.load_truth, methods never do"
            )
    names = ["subscribers"] + [n for n in wanted if n != "subscribers"]
    loaded: dict[str, pd.DataFrame] = {}
    for name in names:
        src = _table_source(root, name)
        if src is None:
            if name in REQUIRED_TABLES or tables is not None:
                raise DataError(
                    str(root / name), None, "table not found (.parquet, folder or .csv)"
                )
            continue
        loaded[name] = validate_table(read_table(src), name, source=str(src))
    _check_references(loaded, root)
    return World(root, meta, loaded)


def _check_references(loaded: Mapping[str, pd.DataFrame], root: Path) -> None:
    for name, df in loaded.items():
        for col, target in TABLES[name].references.items():
            ttable, tcol = target.split(".")
            if ttable not in loaded or col not in df.columns:
                continue
            vals = df[col]
            known = pd.Index(loaded[ttable][tcol].unique())
            bad = vals.notna().to_numpy() & ~vals.isin(known).to_numpy()
            if bad.any():
                src = _table_source(root, name) or name
                n, ex = _rows(bad, vals, str(src))
                raise DataError(str(src), col, f"refers to unknown {ttable}", n, ex)
