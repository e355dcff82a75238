"""The data contract: one schema per table of a *world*, and :func:`load_world`.

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
definitions (:mod:`workbench.validation`) and run by the one door into DuckDB (:mod:`workbench.db`):
:func:`load_world` (pandas), the DuckDB views of :func:`workbench.db.world_connection` (Parquet
read in place), CSV exports and :func:`validate_table` alike. So the same bad table gives the same
message whichever verb reads it.

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

import graphlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa_arrow

from workbench._read import CSV_ATTR, is_csv, read_csv, read_json_object, read_parquet
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
    "flow_holdout",
)
LIFECYCLE_STAGES = ("new", "active", "lapsing", "lapsed", "reactivated")

_ARROW_TYPES: dict[str, pa_arrow.DataType] = {
    "int": pa_arrow.int64(),
    "float": pa_arrow.float64(),
    "str": pa_arrow.string(),
    "bool": pa_arrow.bool_(),
    "ts": pa_arrow.timestamp("us", tz="UTC"),
}


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
    default : bool, float or str, optional
        The value an optional column takes in every row when a source lacks it (real exports
        often do): what "not known" means for it, documented in ``doc``.
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
    default: bool | float | str | None = None

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
                _c(
                    "region",
                    "str",
                    "home region ('unknown' when the export has none)",
                    required=False,
                    default="unknown",
                ),
                _c(
                    "tz_offset_h",
                    "float",
                    "UTC offset of local time, hours (0 when the export "
                    "has none: local time unknown, hours read as UTC)",
                    ge=-12,
                    le=14,
                    required=False,
                    default=0.0,
                ),
                _c(
                    "acquisition_source",
                    "str",
                    "where the subscriber came from ('unknown' when the export has none)",
                    required=False,
                    default="unknown",
                ),
                _c(
                    "email_consent",
                    "bool",
                    "consent to email at signup (true when the export "
                    "has none: an email list's members opted in)",
                    required=False,
                    default=True,
                ),
                _c(
                    "sms_consent",
                    "bool",
                    "consent to SMS (false when the export has none: no "
                    "channel is used without known consent)",
                    required=False,
                    default=False,
                ),
                _c(
                    "push_consent",
                    "bool",
                    "consent to push notifications (false when the export has none)",
                    required=False,
                    default=False,
                ),
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
                _c(
                    "flow",
                    "str",
                    "the flow held out (flow_holdout experiments: welcome, cart_abandonment...)",
                    required=False,
                    nullable=True,
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
                _c(
                    "dropout_ts",
                    "ts",
                    "true dropout: no order from this day on (may lie after the period; "
                    "generator 1.4 and later)",
                    required=False,
                ),
                _c(
                    "alive_at_end",
                    "bool",
                    "not dropped out by the end of the period (generator 1.4 and later)",
                    required=False,
                ),
                _c(
                    "holdout_orders",
                    "int",
                    "orders in the holdout after the period (truth_scenario.json holdout_days; "
                    "generator 1.4 and later)",
                    required=False,
                    ge=0,
                ),
                _c(
                    "holdout_revenue",
                    "float",
                    "revenue of those holdout orders (generator 1.4 and later)",
                    required=False,
                    ge=0,
                ),
                _c(
                    "expected_holdout_orders",
                    "float",
                    "expected holdout orders under the simulated hazard, given the dropout "
                    "time (generator 1.4 and later)",
                    required=False,
                    ge=0,
                ),
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
            "truth_responses",
            "True response of each participant of an experiment under each of its arms: the "
            "expected conversion and revenue had they been assigned that arm, the rest of the "
            "world unchanged (evaluation only; generator 1.5 and later).",
            (
                _c("experiment_id", "int", "experiment"),
                _c("subscriber_id", "int", "participant"),
                _c("arm", "str", "arm"),
                _c(
                    "conversion_prob",
                    "float",
                    "true probability of an order in the experiment's window under this arm",
                    ge=0,
                    le=1,
                ),
                _c("expected_revenue", "float", "true expected revenue in that window", ge=0),
            ),
            key=("experiment_id", "subscriber_id", "arm"),
            references={"subscriber_id": "subscribers.subscriber_id"},
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
    # a rule's ``via`` is one of its table's references: the references are every dependency
    deps = {n: {ref.split(".")[0] for ref in t.references.values()} for n, t in TABLES.items()}
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


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one stored table (Parquet file, folder of Parquet parts, or CSV) without checks.

    CSV columns stay text (the contract parses them); unreadable files raise :class:`DataError`.
    """
    path = Path(path)
    if is_csv(path):
        return read_csv(path, text=True)
    return read_parquet(path)


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
    from workbench import validation
    from workbench.db import check_frame

    if name not in TABLES:
        raise WorkbenchError(f"unknown table '{name}'; tables are {', '.join(TABLES)}")
    table = TABLES[name]
    source = source or name
    csv = df.attrs.get(CSV_ATTR)
    df = df.reset_index(drop=True)
    validation.require_columns([str(c) for c in df.columns], table, source)
    if coerce:
        df = validation.coerce(df, table, source, csv)
    else:
        validation.check_dtypes(df, table, source)
    check_frame(df, name, source, csv)
    return df


# --------------------------------------------------------------------------------------- worlds


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
        from workbench.db import table_source

        return table_source(self.path, name)


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


def present_tables(path: str | Path) -> tuple[str, ...]:
    """The analysis tables a world folder holds, in contract order, without reading them.

    Real exports often lack some (:data:`REQUIRED_TABLES` are the ones a world must have):
    notebooks ask this before a section that reads an optional table
    (:func:`workbench.reports.needs`).
    """
    from workbench.db import table_source

    root = Path(path)
    if not root.is_dir():
        raise WorkbenchError(f"{root}: no such world folder")
    return tuple(n for n in ANALYSIS_TABLES if table_source(root, n) is not None)


def present_columns(path: str | Path, table: str) -> tuple[str, ...]:
    """The contract columns a world folder's ``table`` stores, without reading its rows.

    A column a real export lacks reads as its default (:attr:`Column.default`); this tells
    whether the value was given, e.g. whether send hours are local time or UTC.
    """
    import pyarrow.parquet as pq

    from workbench._read import is_csv, parquet_files
    from workbench.db import table_source

    src = table_source(path, table)
    if src is None:
        return ()
    if is_csv(src):
        names = {str(c) for c in pd.read_csv(src, nrows=0).columns}
    else:
        names = set().union(*(pq.read_schema(f).names for f in parquet_files(src, str(src))))
    return tuple(c for c in TABLES[table].column_names if c in names)


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
        any other reader of the same table (:func:`workbench.db.open_tables`).
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
    from workbench.db import read_checked, table_source

    names = ["subscribers"] + [n for n in wanted if n != "subscribers"]
    for name in names:
        if table_source(root, name) is None and (name in REQUIRED_TABLES or tables is not None):
            raise DataError(str(root / name), None, "table not found (.parquet, folder or .csv)")
    return World(root, meta, read_checked(root, names))
