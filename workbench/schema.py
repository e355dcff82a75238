"""The data contract: one schema per table of a *world*, validation, and :func:`load_world`.

A world is a folder holding ``world.json`` (what any method may know: scenario name and
description, seed, period, sizes, calendar, experiment designs, generator version) and one entry
per table: ``NAME.parquet``, a folder ``NAME/`` of Parquet parts, or a CSV export ``NAME.csv``
(``.csv.gz``). Column names are snake_case, ids int64, timestamps timezone-aware UTC, money float64.
CSV timestamps without an offset are read as UTC.

A synthetic world also holds its ground truth: the ``truth_*`` tables and ``truth_scenario.json``
(the scenario as simulated: persona mix and parameters, true lifts). :func:`load_world` never loads
it; evaluation code does, with :func:`workbench.truth.load_truth`.

One contract, one validation path
---------------------------------
:data:`TABLES` (kinds, allowed values, bounds, nullability, unique ids, composite keys, references)
and :data:`RULES` (rules across columns and tables) are the whole contract. Every way a world's data
enters the workbench goes through the same checks, generated as DuckDB SQL from those two
definitions: :func:`load_world` (pandas), :func:`open_tables` (the DuckDB views of
:func:`workbench.features.world_connection`, Parquet read in place), CSV exports and
:func:`validate_table` alike. So the same bad table gives the same message whichever verb reads it.

A problem raises one :class:`~workbench.errors.DataError`: the file, the column, the problem, how
many rows and the first offending rows (``row N`` of a Parquet file, counted from 0;
``part-00003.parquet row N`` in a folder of parts; ``line N`` of a CSV file, the header being
line 1). Checks run table by table, referenced tables first (:data:`TABLE_ORDER`); within a table
in this order: readable file, required columns, stored types, then per column (contract order)
whole numbers, missing values, infinite values, times outside :data:`TIME_RANGE`, allowed values,
bounds, unique ids; then the composite key, references, and the table's :data:`RULES`. A
reference or rule is checked whenever the table it points to is in the world folder, whichever
tables the caller asked for.

Parquet columns must be stored with a compatible type: ints for ids and counts (floats and
decimals holding whole numbers are accepted), numbers for amounts, text for text, booleans for
flags, timestamps (naive ones are UTC; dates are midnight UTC) for times. Text stored where a
number belongs is an error, not a guess. CSV text is parsed against the contract instead.
"""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa_arrow

from workbench._read import (
    CSV_ATTR,
    csv_lines,
    is_csv,
    parquet_error,
    parquet_files,
    read_csv,
    read_json_object,
    read_parquet,
)
from workbench.errors import DataError, WorkbenchError, show

if TYPE_CHECKING:
    import duckdb

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


# ------------------------------------------------------------------------------ cross-table rules


@dataclass(frozen=True)
class Rule:
    """A rule between columns of a row, or between a row and the row it refers to.

    Parameters
    ----------
    table : str
        The table whose rows are checked.
    column : str
        The column blamed in the message.
    problem : str
        What an offending row does, in plain words.
    valid : str
        DuckDB SQL that is true on a row keeping the rule: ``{t}`` is the row, ``{r}`` the row
        it refers to through ``via``. A null result (a missing value, an unknown reference) is
        not a violation: the column and reference checks report those.
    via : str, optional
        A reference column of ``table`` (:attr:`TableSchema.references`); the rule is checked
        whenever the referenced table is in the world.
    show : tuple of (label, SQL) pairs
        What is shown of each offending row (default: the blamed column).
    doc : str
        Why the rule holds, for generated worlds and real exports alike.
    """

    table: str
    column: str
    problem: str
    valid: str
    via: str | None = None
    show: tuple[tuple[str, str], ...] = ()
    doc: str = ""


def _arm_list(arms: str) -> str:
    return rf"regexp_split_to_array(trim({arms}), '\s*\|\s*')"


#: The rules across columns and tables, checked by every reader (see the module docstring).
#:
#: Deliberately *not* rules, because real exports break them legitimately:
#:
#: * orders before the signup: a shop's customers often buy before joining the newsletter;
#: * paid retargeting, organic search and direct touches before the signup: visits that
#:   precede the signup are how many subscribers are acquired;
#: * SMS, push and in-app touches before the email signup: ``signup_ts`` is when the contact
#:   joined the *email* list, and a contact can join the SMS list or install the app first;
#: * email events after ``unsubscribed_ts``: a recipient still opens and clicks emails received
#:   before unsubscribing, and ESPs log those;
#: * assignments before the signup: experiments can be assigned by customer id (a site test, a
#:   holdout of the customer base) before the customer gives an email address;
#: * ``email_events.variant`` among the experiment's arms: ESPs label variants ``A``/``B``
#:   whatever the arms are called, and variants also appear on campaigns of no experiment;
#: * email events before the campaign's ``sent_ts``: ``sent_ts`` is the first send of a flow,
#:   and ESPs can log a scheduled send's events seconds before the campaign's own timestamp.
RULES: tuple[Rule, ...] = (
    Rule(
        "subscribers",
        "unsubscribed_ts",
        "unsubscribed before signup_ts",
        "{t}.unsubscribed_ts >= {t}.signup_ts",
        show=(("unsubscribed_ts", "{t}.unsubscribed_ts"), ("signup_ts", "{t}.signup_ts")),
        doc="An unsubscribe ends a subscription that has begun. A re-subscribed contact whose "
        "ESP kept the old unsubscribe time must be exported with no unsubscribe "
        "(otherwise the features would count a current subscriber as unsubscribed).",
    ),
    Rule(
        "experiments",
        "control_arm",
        "control arm not among the experiment's arms",
        f"list_contains({_arm_list('{t}.arms')}, trim({{t}}.control_arm))",
        show=(("control_arm", "{t}.control_arm"), ("arms", "{t}.arms")),
        doc="The control is one of the arms compared.",
    ),
    Rule(
        "email_events",
        "ts",
        "before the subscriber's signup_ts",
        "{t}.ts >= {r}.signup_ts",
        via="subscriber_id",
        show=(("ts", "{t}.ts"), ("signup_ts", "{r}.signup_ts")),
        doc="An address receives email only once it is on the list. An ESP that resets the "
        "opt-in time on re-subscription must be exported with the first opt-in.",
    ),
    Rule(
        "email_events",
        "campaign_id",
        "refers to a campaign that is not an email campaign",
        "{r}.channel = 'email'",
        via="campaign_id",
        show=(("campaign_id", "{t}.campaign_id"), ("campaign channel", "{r}.channel")),
        doc="Email events come from email campaigns.",
    ),
    Rule(
        "touchpoints",
        "ts",
        "email touch before the subscriber's signup_ts",
        "{t}.channel <> 'email' OR {t}.ts >= {r}.signup_ts",
        via="subscriber_id",
        show=(("ts", "{t}.ts"), ("signup_ts", "{r}.signup_ts"), ("channel", "{t}.channel")),
        doc="The email rule above, for the email touches of the journeys (other channels may "
        "come first: see the list of non-rules).",
    ),
    Rule(
        "touchpoints",
        "channel",
        "differs from the channel of the touch's campaign",
        "{t}.channel = {r}.channel",
        via="campaign_id",
        show=(("channel", "{t}.channel"), ("campaign channel", "{r}.channel")),
        doc="A touch that names a campaign happened on that campaign's channel (campaigns are "
        "single-channel; a multi-channel send is one campaign per channel).",
    ),
    Rule(
        "assignments",
        "arm",
        "arm not listed in the experiment's arms",
        f"list_contains({_arm_list('{r}.arms')}, trim({{t}}.arm))",
        via="experiment_id",
        show=(("arm", "{t}.arm"), ("arms", "{r}.arms")),
        doc="Every assigned arm is one of the experiment's arms; an arm missing from "
        "experiments.arms would be analysed as if it were not part of the test.",
    ),
    Rule(
        "assignments",
        "assigned_ts",
        "before the experiment's start_ts (its first assignment)",
        "{t}.assigned_ts >= {r}.start_ts",
        via="experiment_id",
        show=(("assigned_ts", "{t}.assigned_ts"), ("start_ts", "{r}.start_ts")),
        doc="experiments.start_ts is defined as the first assignment.",
    ),
)


def _table_order() -> tuple[str, ...]:
    deps: dict[str, set[str]] = {n: set() for n in TABLES}
    for name, t in TABLES.items():
        deps[name] |= {target.split(".")[0] for target in t.references.values()}
    for rule in RULES:
        if rule.via is not None:
            deps[rule.table].add(TABLES[rule.table].references[rule.via].split(".")[0])
    sorter = graphlib.TopologicalSorter({n: deps[n] - {n} for n in TABLES})
    done: list[str] = []
    sorter.prepare()
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=list(TABLES).index)
        done += ready
        sorter.done(*ready)
    return tuple(done)


#: Every timestamp lies in [start, end): a damaged value or a time in the wrong unit (milliseconds
#: read as seconds...) falls outside.
TIME_RANGE = ("1970-01-01", "2200-01-01")
#: Tables in the order they are opened and checked: a referenced table before its referrers.
TABLE_ORDER: tuple[str, ...] = _table_order()


# -------------------------------------------------------------------------- parsing (CSV, frames)


def _labels(rows: Sequence[int], csv: str | None) -> list[str]:
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
    labels = _labels(idx[:5], csv)
    if values is None:
        return len(idx), labels
    return len(idx), [
        f"{lab}: {show(values.iloc[i])}" for lab, i in zip(labels, idx[:5], strict=True)
    ]


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


def _require_columns(columns: Sequence[str], table: TableSchema, source: str) -> None:
    missing = [c.name for c in table.columns if c.required and c.name not in columns]
    if missing:
        col = missing[0]
        spare = [str(c) for c in columns if c not in table.column_names]
        close = difflib.get_close_matches(col, spare, n=1, cutoff=0.6)
        hint = f"; found '{close[0]}' - misspelt?" if close else ""
        raise DataError(source, col, f"missing required column{hint}")


def _coerce(
    df: pd.DataFrame, table: TableSchema, source: str, csv: str | None = None
) -> pd.DataFrame:
    """Bring each contract column present to its contract dtype, or raise on values that fail.

    A non-nullable int column with missing values stays float64 (NaN): the contract's checks
    then report the missing values.
    """
    out = {}
    for name in df.columns:
        s = df[name]
        try:
            col = table.column(name)
        except KeyError:
            out[name] = s  # extra columns are allowed and kept as they are
            continue
        if _has_contract_dtype(s, col):
            out[name] = s  # written to the contract: nothing to convert
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
                raise DataError(source, name, f"has type {s.dtype}, expected {_EXPECTED[col.kind]}")
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
            problem = kind.get(col.kind, f"values that are not {_EXPECTED[col.kind]} numbers")
            raise DataError(source, name, problem, n, ex)
        out[name] = conv
    return pd.DataFrame(out, index=df.index)


# ---------------------------------------------------------------------------- checks in DuckDB

_DUCK_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "str": "VARCHAR",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMPTZ",
}
_EXPECTED = {"int": "int64", "float": "float64", "str": "string", "bool": "bool", "ts": "timestamp"}
_FRACTIONAL = ("float", "decimal")
_KIND_WORDS = {"str": "text", "bool": "booleans", "ts": "timestamps", "date": "dates"}
#: Stored kinds each contract kind accepts (``null``: a column of nulls only).
_COMPATIBLE = {
    "int": ("int", "float", "decimal", "null"),
    "float": ("float", "int", "decimal", "null"),
    "str": ("str", "null"),
    "bool": ("bool", "null"),
    "ts": ("ts", "date", "null"),
}


def _stored_kind(typ: pa_arrow.DataType) -> str | None:
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


def _frame_kind(s: pd.Series) -> str:
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


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass
class _Relation:
    """One opened table: where it came from and how DuckDB reaches it."""

    name: str
    source: str
    stored: dict[str, str]
    files: list[Path] = field(default_factory=list)
    frame: pd.DataFrame | None = None
    csv: str | None = None
    casts: dict[str, str] = field(default_factory=dict)
    #: Columns no row can leave null: Parquet REQUIRED fields in every file.
    no_nulls: frozenset[str] = frozenset()

    @property
    def raw(self) -> str:
        """The relation the checks read (lossless casts only: see :func:`_open_parquet`)."""
        return f"_wb_raw_{self.name}"

    def scan(self, rows: bool = False) -> str:
        """SQL of the table; ``rows`` adds its row identity (``_wb_file``, ``_wb_row``)."""
        if self.frame is not None:
            return f"(SELECT *, NULL::VARCHAR AS _wb_file FROM {self.raw})" if rows else self.raw
        files = "[" + ", ".join(_quote(str(f)) for f in self.files) + "]"
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
            return _labels([r for _, r in rows], self.csv)
        if len(self.files) > 1:
            return [f"{Path(str(f)).name} row {int(r)}" for f, r in rows]
        return [f"row {int(r)}" for _, r in rows]


@dataclass(frozen=True)
class _Check:
    column: str
    problem: str
    count: str  # aggregate SQL: how many rows offend
    where: str | None  # row filter of the offending rows (None: repeats of `partition`)
    show: tuple[tuple[str, str], ...]  # (label, SQL) shown per row; one unlabeled value if ""
    partition: tuple[str, ...] = ()
    via: tuple[str, ...] = ()


def _checks(rel: _Relation, present: Mapping[str, _Relation]) -> list[_Check]:
    """The contract's checks of one table as SQL, in the order they are reported."""
    table = TABLES[rel.name]
    out: list[_Check] = []
    for c in table.columns:
        stored = rel.stored.get(c.name)
        if stored is None:
            continue
        x = f"t.{c.name}"

        def row(problem: str, cond: str, col: str = c.name, x: str = x) -> _Check:
            return _Check(col, problem, f"count_if({cond})", cond, (("", x),))

        if c.kind == "int" and stored in ("float", "decimal"):
            whole = f"({x} <> trunc({x}) OR abs({x}) >= 9.2e18)"
            out.append(row("values that are not whole numbers", whole))
        if not c.nullable:
            missing = [] if c.name in rel.no_nulls else [f"{x} IS NULL"]
            missing += [f"isnan({x})"] if stored == "float" else []
            if missing:
                out.append(row("missing values", " OR ".join(missing)))
        if stored == "float":
            out.append(row("infinite values", f"isinf({x})"))
        if c.kind == "ts":
            lo, hi = TIME_RANGE
            out.append(row(f"times outside {lo[:4]}-{int(hi[:4]) - 1}",
                           f"{x} < TIMESTAMPTZ '{lo}' OR {x} >= TIMESTAMPTZ '{hi}'"))  # fmt: skip
        if c.allowed is not None:
            allowed = ", ".join(_quote(v) for v in c.allowed)
            problem = f"unknown {c.name} values (allowed: {', '.join(c.allowed)})"
            out.append(row(problem, f"{x} NOT IN ({allowed})"))
        if c.ge is not None:
            out.append(row(f"values below {_num(c.ge)}", f"{x} < {_num(c.ge)}"))
        if c.le is not None:
            out.append(row(f"values above {_num(c.le)}", f"{x} > {_num(c.le)}"))
        if c.unique:
            dup = f"count({x}) - count(DISTINCT {x})"
            out.append(_Check(c.name, "duplicate ids", dup, None, (("", x),), partition=(x,)))
    if table.key and all(k in rel.stored for k in table.key):
        keys = tuple(f"t.{k}" for k in table.key)
        out.append(
            _Check(
                ", ".join(table.key),
                "duplicate keys",
                f"count(*) - count(DISTINCT row({', '.join(keys)}))",
                None,
                tuple((k, f"t.{k}") for k in table.key),
                partition=keys,
            )
        )
    for col, target in table.references.items():
        ttable, tcol = target.split(".")
        if ttable in present and col in rel.stored:
            cond = f"t.{col} IS NOT NULL AND r_{col}.{tcol} IS NULL"
            problem = f"refers to unknown {ttable}"
            shown = (("", f"t.{col}"),)
            out.append(_Check(col, problem, f"count_if({cond})", cond, shown, via=(col,)))
    for rule in RULES:
        if rule.table != rel.name:
            continue
        if rule.via is not None:
            target = table.references[rule.via].split(".")[0]
            if target not in present or rule.via not in rel.stored:
                continue
        r = f"r_{rule.via}"
        cond = f"coalesce(NOT ({rule.valid.format(t='t', r=r)}), false)"
        shown = tuple((lab, sql.format(t="t", r=r)) for lab, sql in rule.show)
        shown = shown or (("", f"t.{rule.column}"),)
        via = (rule.via,) if rule.via else ()
        out.append(_Check(rule.column, rule.problem, f"count_if({cond})", cond, shown, via=via))
    return out


def _joins(rel: _Relation, present: Mapping[str, _Relation], vias: Iterable[str]) -> str:
    out = []
    for col in dict.fromkeys(vias):
        ttable, tcol = TABLES[rel.name].references[col].split(".")
        out.append(f"LEFT JOIN {present[ttable].raw} r_{col} ON t.{col} = r_{col}.{tcol}")
    return " ".join(out)


def _duck_error(rel: _Relation, exc: Exception) -> DataError:
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


def _validate(
    con: duckdb.DuckDBPyConnection, rel: _Relation, present: Mapping[str, _Relation]
) -> None:
    """Run every check of ``rel`` (references to the ``present`` tables) in one scan."""
    import duckdb

    checks = _checks(rel, present)
    if not checks:
        return
    joins = _joins(rel, present, [v for c in checks for v in c.via])
    sql = f"SELECT {', '.join(c.count for c in checks)} FROM {rel.raw} t {joins}"
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


def _failure(
    con: duckdb.DuckDBPyConnection,
    rel: _Relation,
    present: Mapping[str, _Relation],
    check: _Check,
    n: int,
) -> DataError:
    """The error for a failed check, with its first five offending rows."""
    import duckdb

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
    try:
        rows = con.execute(sql).fetchall()
    except duckdb.Error as exc:
        raise _duck_error(rel, exc) from None
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


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _open_parquet(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> _Relation:
    """Check a Parquet table's files, columns and stored types; create its two views."""
    import pyarrow.parquet as pq

    table = TABLES[name]
    source = str(path)
    files = parquet_files(path, source)
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
        except (pa_arrow.ArrowException, OSError, ValueError, EOFError) as exc:
            raise parquet_error(where, exc) from None
        _require_columns(schema.names, table, where)
        for c in table.columns:
            if c.name not in schema.names:
                continue
            typ = schema.field(c.name).type
            kind = _stored_kind(typ)
            if kind not in _COMPATIBLE[c.kind]:
                what = _KIND_WORDS.get(kind or "", "")
                stored_as = f"{what} ({typ})" if what else str(typ)
                raise DataError(
                    where, c.name, f"stored as {stored_as}, expected {_EXPECTED[c.kind]}"
                )
            prev = stored.get(c.name)
            # parts that disagree (int64 here, double there) are read as the wider type
            if prev is None or prev == "null" or (kind in ("float", "decimal") and prev == "int"):
                stored[c.name] = kind
            exact[c.name] = exact.get(c.name, True) and typ == c.arrow_type
            required[c.name] = required.get(c.name, True) and not schema.field(c.name).nullable
        for c in table.columns:  # absent from this part: null in its rows
            if c.name not in schema.names:
                required[c.name] = False
    # the checks read lossless casts (int32 -> BIGINT, naive or ns times -> TIMESTAMPTZ, ...);
    # an int column stored as floats is cast only in the public view, once checked whole
    later = [c for c in stored if table.column(c).kind == "int" and stored[c] in _FRACTIONAL]
    casts = {
        c: _DUCK_TYPES[table.column(c).kind] for c in stored if not exact[c] and c not in later
    }
    no_nulls = frozenset(c for c, req in required.items() if req and c in stored)
    rel = _Relation(name, source, stored, files=files, casts=casts, no_nulls=no_nulls)
    con.execute(f"CREATE OR REPLACE VIEW {rel.raw} AS SELECT * FROM {rel.scan()}")
    final = ", ".join(f"CAST({c} AS BIGINT) AS {c}" for c in later)
    replace = f" REPLACE ({final})" if final else ""
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT *{replace} FROM {rel.raw}")
    return rel


def _open_frame(
    con: duckdb.DuckDBPyConnection,
    name: str,
    df: pd.DataFrame,
    source: str,
    csv: str | None = None,
) -> _Relation:
    """Register a DataFrame already in contract dtypes (see :func:`_coerce`) as a table."""
    table = TABLES[name]
    frame = df.reset_index(drop=True)
    frame = frame.assign(_wb_row=np.arange(len(frame), dtype=np.int64))
    stored = {c: _frame_kind(frame[c]) for c in frame.columns if c in table.column_names}
    rel = _Relation(name, source, stored, frame=frame, csv=csv)
    con.register(rel.raw, frame)
    con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * EXCLUDE (_wb_row) FROM {rel.raw}")
    return rel


def _open(con: duckdb.DuckDBPyConnection, name: str, path: Path) -> _Relation:
    if is_csv(path):
        df = read_csv(path, text=True)
        table = TABLES[name]
        _require_columns(list(df.columns), table, str(path))
        df = _coerce(df, table, str(path), csv=str(path))
        return _open_frame(con, name, df, str(path), csv=str(path))
    return _open_parquet(con, name, path)


def _closure(root: Path, names: Iterable[str]) -> list[str]:
    """``names`` and, recursively, the tables they refer to that ``root`` holds, in check order."""
    todo = [n for n in names if _table_source(root, n) is not None]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        targets = [t.split(".")[0] for t in TABLES[name].references.values()]
        todo += [t for t in targets if t not in seen and _table_source(root, t) is not None]
    return [n for n in TABLE_ORDER if n in seen]


def open_tables(
    con: duckdb.DuckDBPyConnection, root: str | Path, names: Iterable[str]
) -> dict[str, _Relation]:
    """Open tables of a world folder as DuckDB views, checking each against the contract.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The connection that receives one view per table, named after it (Parquet is read in
        place, with casts to the contract types where the stored type differs; CSV exports are
        parsed and registered). Its session time zone should be UTC.
    root : path
        The world folder.
    names : iterable of str
        The tables wanted. Tables they refer to (:attr:`TableSchema.references`, :data:`RULES`)
        are opened and checked too when the folder holds them; absent tables are skipped.

    Returns
    -------
    dict
        The opened tables by name, in :data:`TABLE_ORDER`.

    Raises
    ------
    DataError
        The first problem found (see the module docstring for the order).
    """
    root = Path(root)
    opened: dict[str, _Relation] = {}
    for name in _closure(root, names):
        src = _table_source(root, name)
        assert src is not None
        rel = _open(con, name, src)
        _validate(con, rel, opened)
        opened[name] = rel
    return opened


def validate_table(
    df: pd.DataFrame, name: str, source: str | None = None, coerce: bool = True
) -> pd.DataFrame:
    """Check one table against its contract and return it with contract dtypes.

    Runs the same checks as :func:`load_world` on one table: the checks of its columns, its key
    and the :data:`RULES` within a row; references to other tables need the world
    (:func:`load_world`).

    Parameters
    ----------
    df : DataFrame
        The table (rows of a frame read by :func:`workbench._read.read_csv` are reported by
        file line).
    name : str
        Its contract name (a key of :data:`TABLES`).
    source : str, optional
        The file it came from, used in error messages (defaults to ``name``).
    coerce : bool, default True
        Convert columns to their contract dtypes first (CSV input needs it); otherwise a
        column in another dtype is an error.

    Returns
    -------
    DataFrame
        The table, columns converted to the contract dtypes, index reset to row numbers.

    Raises
    ------
    DataError
        On the first problem found: missing or misspelt column, unparsable values, values out
        of the allowed set or range, missing values, duplicate ids or keys, a broken rule.
    """
    if name not in TABLES:
        raise WorkbenchError(f"unknown table '{name}'; tables are {', '.join(TABLES)}")
    table = TABLES[name]
    source = source or name
    csv = df.attrs.get(CSV_ATTR)
    df = df.reset_index(drop=True)
    _require_columns([str(c) for c in df.columns], table, source)
    if coerce:
        df = _coerce(df, table, source, csv)
    else:
        for c in table.columns:
            if c.name in df.columns and not _has_contract_dtype(df[c.name], c):
                s = df[c.name]
                if not (_frame_kind(s) == "float" and c.kind == "int" and not c.nullable):
                    raise DataError(
                        source, c.name, f"has type {s.dtype}, expected {_EXPECTED[c.kind]}"
                    )
    con = _connect()
    try:
        _validate(con, _open_frame(con, name, df, source, csv), {})
    finally:
        con.close()
    return df


# --------------------------------------------------------------------------------------- worlds


def _table_source(root: Path, name: str) -> Path | None:
    for cand in (f"{name}.parquet", name, f"{name}.csv", f"{name}.csv.gz"):
        p = root / cand
        if p.exists():
            return p
    return None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one stored table (Parquet file, folder of Parquet parts, or CSV) without checks.

    CSV columns stay text (the contract parses them); unreadable files raise :class:`DataError`.
    """
    path = Path(path)
    if is_csv(path):
        return read_csv(path, text=True)
    return read_parquet(path)


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


def _frame(rel: _Relation) -> pd.DataFrame:
    """The checked table as a DataFrame with contract dtypes."""
    if rel.frame is not None:
        return rel.frame.drop(columns="_wb_row")
    df = read_parquet(rel.files[0].parent if len(rel.files) > 1 else rel.files[0], rel.source)
    return _coerce(df.reset_index(drop=True), TABLES[rel.name], rel.source)


def read_world_json(root: str | Path) -> dict[str, Any]:
    """The parsed ``world.json`` of a world folder (``{}`` without one).

    Raises
    ------
    WorkbenchError
        When the file is not UTF-8 JSON holding an object.
    """
    return read_json_object(Path(root) / "world.json")


def world_meta(root: str | Path) -> dict[str, Any]:
    """``world.json`` as any method may see it: a world written by generator < 1.3 still carries
    its scenario's truth there, which is left out (:func:`workbench.truth.public_meta`)."""
    from workbench.truth import public_meta

    return public_meta(read_world_json(root))


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
        When a table breaks the contract (:data:`TABLES`, :data:`RULES`): the same message as
        any other reader of the same table (:func:`open_tables`).
    """
    root = Path(path)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such world folder")
    meta = world_meta(root)
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
    for name in names:
        if _table_source(root, name) is None and (name in REQUIRED_TABLES or tables is not None):
            raise DataError(str(root / name), None, "table not found (.parquet, folder or .csv)")
    return World(root, meta, read_checked(root, names))


def read_checked(root: str | Path, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The tables ``names`` of a world folder, checked by :func:`open_tables`, as DataFrames.

    The one reader behind :func:`load_world` and :func:`workbench.truth.load_truth`; tables
    the folder lacks are left out.
    """
    con = _connect()
    try:
        opened = open_tables(con, root, names)
        return {n: _frame(opened[n]) for n in names if n in opened}
    finally:
        con.close()
