"""Subscriber features as of a date: one row per subscriber, computed in DuckDB.

Everything is computed with SQL over the world's tables (Parquet files, folders of Parquet parts,
CSV exports, or the DataFrames of a loaded :class:`~workbench.schema.World`), never with Python
loops over rows. Nothing after the *as-of* date is used: every event table is filtered by
``ts < as_of`` and only subscribers who signed up before it are kept, so features computed at one
date can be used to predict what happens after it.

Every column is documented in :data:`FEATURES`; the content and product-category columns
(``click_share_<category>``, ``buy_share_<category>``) follow the categories present in the
world and are documented by pattern.

Examples
--------
>>> from workbench.features import compute_features
>>> feats = compute_features("datasets/sample", as_of="2026-03-01")  # doctest: +SKIP
>>> feats.loc[42, "click_rate"]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from workbench.errors import DataError, WorkbenchError
from workbench.schema import TABLES, World, damaged_file_error, open_tables

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FEATURES",
    "LOG_FEATURES",
    "HOUR_FEATURES",
    "RATE_COUNTS",
    "UNDEFINED_WITHOUT",
    "ATTRIBUTES",
    "EVENT_TABLES",
    "attribute_columns",
    "cluster_columns",
    "compute_features",
    "count_column",
    "evidence_column",
    "default_as_of",
    "world_connection",
]

#: Recent-trend window: open rate of the last ``TREND_DAYS`` days against the ``TREND_DAYS`` before.
TREND_DAYS = 28
_US_PER_DAY = 86_400_000_000

#: Feature name -> what it means. ``{cat}`` columns exist once per category found in the world.
FEATURES: dict[str, str] = {
    # attributes (text, copied from the subscribers table)
    "region": "home region",
    "acquisition_source": "where the subscriber came from (signup channel)",
    # lifecycle
    "tenure_days": "days from signup to the as-of date",
    "is_unsubscribed": "1 if the subscriber unsubscribed from email before the as-of date",
    "days_since_last_open": "days since the last human email open (since signup if none)",
    "days_since_last_order": "days since the last order (since signup if none): RFM recency",
    # purchases (RFM)
    "n_orders": "orders placed before the as-of date: RFM frequency",
    "revenue": "total order value before the as-of date: RFM monetary",
    "avg_order_value": "mean order value (0 without orders)",
    "orders_per_30d": "orders per 30 days of tenure",
    "n_categories": "distinct product categories bought",
    "buy_share_{cat}": "share of the subscriber's orders in product category {cat}",
    # email engagement
    "emails_delivered": "emails delivered",
    "n_opens": "human email opens (machine opens excluded)",
    "n_weekday_opens": "human email opens on Monday-Friday (local time)",
    "n_weekend_opens": "human email opens on Saturday-Sunday (local time)",
    "n_clicks": "email clicks",
    "open_rate": "human opens per delivered email (machine opens excluded)",
    "click_rate": "clicks per delivered email",
    "click_to_open": "clicks per human open (0 without opens)",
    "machine_open_share": "share of the subscriber's opens made by privacy-protecting clients",
    "open_trend": (
        f"open rate over the last {TREND_DAYS} days minus the {TREND_DAYS} days before "
        "(0 when either window had no email)"
    ),
    "complaints": "spam complaints",
    "is_bounced": (
        "1 if the last email sent to the subscriber bounced, with no delivery after it (a hard"
        " bounce: the ESP suppresses the address)"
    ),
    "email_reachable": (
        "1 if email can be sent as of the as-of date: consented, not unsubscribed, not bounced"
    ),
    # rhythm
    "preferred_local_hour": "local hour (0-23) with most human opens (-1 without opens)",
    "weekday_open_hour": "circular mean local hour of human opens on Monday-Friday (NaN if none)",
    "weekend_open_hour": "circular mean local hour of human opens on Saturday-Sunday (NaN if none)",
    "weekend_open_share": "share of human opens on Saturday or Sunday (local time)",
    "morning_open_share": "share of human opens between 05:00 and 10:59 local time",
    "evening_open_share": "share of human opens between 18:00 and 23:59 local time",
    # cadence
    "emails_per_week": (
        "emails delivered per week while the subscriber could be emailed and was observed (from"
        " signup or the first email of the world to the as-of date, an unsubscribe or a hard"
        " bounce)"
    ),
    "opens_per_week": "human opens per week over the same weeks as emails_per_week",
    # content affinity
    "click_share_{cat}": "share of the subscriber's email clicks on content category {cat}",
    "open_share_{cat}": (
        "share of the subscriber's human email opens on content category {cat} (opens are several"
        " times more numerous than clicks: the better-measured sign of content affinity)"
    ),
    # channels
    "email_consent": "1 if consented to email",
    "sms_consent": "1 if consented to SMS",
    "push_consent": "1 if consented to push notifications",
    "sms_response_rate": "SMS clicks per SMS received (0 without SMS)",
    "push_response_rate": "push and in-app opens or clicks per message received (0 without)",
    # cart
    "cart_abandonment_emails": "cart-abandonment reminders received (flow = 'cart_abandonment')",
}

#: Text attributes of the subscriber carried into the feature table. They are known exactly and
#: do not fade when a subscriber stops reading (see :func:`attribute_columns`).
ATTRIBUTES: tuple[str, ...] = ("region", "acquisition_source")
#: Heavy-tailed counts and amounts: log1p-transformed before clustering.
LOG_FEATURES: frozenset[str] = frozenset(
    {
        "tenure_days",
        "days_since_last_open",
        "days_since_last_order",
        "n_orders",
        "revenue",
        "avg_order_value",
        "orders_per_30d",
        "emails_delivered",
        "n_opens",
        "n_weekday_opens",
        "n_weekend_opens",
        "n_clicks",
        "complaints",
        "emails_per_week",
        "opens_per_week",
        "cart_abandonment_emails",
        "n_categories",
    }  # fmt: skip
)
#: Hours of the day: mapped onto the circle (sin, cos) before clustering, missing -> centre.
HOUR_FEATURES: tuple[str, ...] = ("weekday_open_hour", "weekend_open_hour")
#: Per-subscriber averages -> the count of events each is an average over (``{cat}`` patterns
#: included). A rate measured on 2 emails is far noisier than one measured on 40: clustering
#: shrinks each towards the base by how much evidence is behind it (empirical Bayes, see
#: :class:`workbench.segment.pipelines.RateShrinker`).
RATE_COUNTS: dict[str, str] = {
    "open_rate": "emails_delivered",
    "click_rate": "emails_delivered",
    "click_to_open": "n_opens",
    "weekend_open_share": "n_opens",
    "morning_open_share": "n_opens",
    "evening_open_share": "n_opens",
    "weekday_open_hour": "n_weekday_opens",
    "weekend_open_hour": "n_weekend_opens",
    "avg_order_value": "n_orders",
    "buy_share_{cat}": "n_orders",
    "click_share_{cat}": "n_clicks",
    "open_share_{cat}": "n_opens",
}
#: Columns that measure nothing when a count is zero: the weekly email volume, the days since
#: the last open or the cart reminders received of a subscriber who was never emailed (no
#: consent, or an address that bounced at once) say nothing about their behaviour. The
#: deconvolving mixture (:class:`workbench.segment.DeconvolvedMixture`) treats them as missing.
UNDEFINED_WITHOUT: dict[str, str] = {
    "emails_per_week": "emails_delivered",
    "opens_per_week": "emails_delivered",
    "days_since_last_open": "emails_delivered",
    "cart_abandonment_emails": "emails_delivered",
}
#: Columns kept out of clustering: state rather than behaviour, redundant, or channel reachability.
_NOT_CLUSTERED = frozenset(
    {
        "is_unsubscribed",
        "email_consent",
        "is_bounced",
        "email_reachable",
        "preferred_local_hour",
        "complaints",
        "emails_delivered",
        "n_opens",
        "n_weekday_opens",
        "n_weekend_opens",
        "n_clicks",
        "revenue",
        "open_trend",
        "machine_open_share",
        # purchase counts that repeat the purchase rate: n_orders is orders_per_30d times the
        # tenure, and n_categories and days_since_last_order follow from how many orders there
        # were. Clustered beside the rate, they count it three more times and split every
        # segment into buyers and not-yet-buyers (the RFM grid and the profiles still use them)
        "n_orders",
        "n_categories",
        "days_since_last_order",
        # recency of opens is lifecycle state, not habit: it changes week by week, within a
        # segment it spreads from "read yesterday" to "went quiet months ago", and the open rate
        # and trend already carry the engagement. The lifecycle stages use it
        "days_since_last_open",
        # channel reachability feeds the playbook's channel mix, not the behavioural clusters
        "sms_consent",
        "push_consent",
        "sms_response_rate",
        "push_response_rate",
    }  # fmt: skip
)


def cluster_columns(features: pd.DataFrame) -> list[str]:
    """The numeric feature columns used for clustering by default (behaviour, not bookkeeping)."""
    return [
        c
        for c in features.columns
        if c not in _NOT_CLUSTERED and pd.api.types.is_numeric_dtype(features[c])
    ]


def attribute_columns(features: pd.DataFrame) -> list[str]:
    """The categorical (non-numeric) columns of a feature table, :data:`ATTRIBUTES` included.

    The deconvolving mixture models them beside the numeric clustering columns, as one
    categorical distribution per segment (:class:`workbench.segment.DeconvolvedMixture`).
    """
    return [
        c
        for c in features.columns
        if c not in _NOT_CLUSTERED and not pd.api.types.is_numeric_dtype(features[c])
    ]


def count_column(column: str) -> str | None:
    """The count a per-subscriber average ``column`` is computed over (:data:`RATE_COUNTS`).

    Returns ``None`` for columns that are not averages (counts, amounts, flags, ...).
    """
    if column in RATE_COUNTS:
        return RATE_COUNTS[column]
    for pattern, count in RATE_COUNTS.items():
        if "{cat}" in pattern and column.startswith(pattern.split("{cat}")[0]):
            return count
    return None


def evidence_column(column: str) -> str | None:
    """The count that must be positive for ``column`` to be a measurement at all.

    The count behind an average (:func:`count_column`) or, for volumes, the count in
    :data:`UNDEFINED_WITHOUT`; ``None`` when the column is always defined.
    """
    return count_column(column) or UNDEFINED_WITHOUT.get(column)


def describe(features: pd.DataFrame) -> pd.DataFrame:
    """Each column of a feature table with its description (pattern columns resolved)."""
    rows = []
    for col in features.columns:
        doc = FEATURES.get(col)
        if doc is None:
            for pattern, text in FEATURES.items():
                if "{cat}" in pattern:
                    prefix = pattern.split("{cat}")[0]
                    if col.startswith(prefix):
                        doc = text.format(cat=col[len(prefix) :])
        rows.append((col, doc or ""))
    return pd.DataFrame(rows, columns=["feature", "description"])


# ------------------------------------------------------------------------------------ sources

#: Tables :func:`world_connection` opens by default.
EVENT_TABLES: tuple[str, ...] = (
    "subscribers",
    "campaigns",
    "email_events",
    "orders",
    "touchpoints",
)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


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
        checks and messages of :func:`workbench.schema.load_world`
        (:func:`workbench.schema.open_tables`: SQL generated from the contract, Parquet read in
        place). A loaded :class:`~workbench.schema.World` was checked when it was loaded.
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
        (other than ``subscribers``) is an empty view with the contract's columns.

    Raises
    ------
    DataError
        When ``subscribers`` is missing or a table breaks the contract.
    """
    import duckdb
    import pyarrow as pa

    names = list(dict.fromkeys(["subscribers", *tables]))
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        if isinstance(world, World):
            where = world.path
            present = set()
            for name in names:
                if name in world:
                    con.register(f"_{name}", world[name])
                    con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
                    present.add(name)
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
            schema = TABLES[name]
            required = [c.name for c in schema.columns if c.required]
            con.register(f"_{name}", pa.table({c: [] for c in required},
                                              schema=schema.arrow_schema(required)))  # fmt: skip
            con.execute(f"CREATE VIEW {name} AS SELECT * FROM _{name}")
    except BaseException:
        con.close()
        raise
    if segments is not None:
        seg = pd.DataFrame(
            {
                "subscriber_id": segments.index.to_numpy(dtype="int64"),
                "segment": segments.astype(str).to_numpy(),
            }
        )
        con.register("seg", seg)
    return con


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def _to_us(ts: pd.Timestamp) -> int:
    return int(ts.value // 1000)


def _as_timestamp(as_of: str | pd.Timestamp) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)
    except (ValueError, TypeError) as exc:
        raise WorkbenchError(f"as_of: cannot read {as_of!r} as a date ({exc})") from None
    if pd.isna(ts):
        raise WorkbenchError(f"as_of: cannot read {as_of!r} as a date")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def default_as_of(world: str | Path | World | duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """Midnight UTC after the world's last email event or order: the end of its history."""
    import duckdb

    con = world if isinstance(world, duckdb.DuckDBPyConnection) else world_connection(world)
    last = con.execute(
        "SELECT greatest((SELECT max(epoch_us(ts)) FROM email_events),"
        " (SELECT max(epoch_us(ts)) FROM orders), (SELECT max(epoch_us(signup_ts))"
        " FROM subscribers))"
    ).fetchone()[0]
    if last is None:
        raise WorkbenchError("the world holds no subscribers or events: cannot pick an as-of date")
    return (pd.Timestamp(int(last), unit="us", tz="UTC") + pd.Timedelta(days=1)).floor("D")


def _slug(value: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_")
    return s or "unknown"


def _pivot_sql(values: Iterable[str], expr: str, prefix: str, num: str, den: str) -> list[str]:
    """``sum(num FILTER expr = value) / den`` columns, one per value (names slugged, unique)."""
    out, seen = [], set()
    for v in values:
        name = f"{prefix}{_slug(v)}"
        if name in seen:
            continue
        seen.add(name)
        out.append(
            f"coalesce(sum({num}) FILTER (WHERE {expr} = {_quote(v)}) / nullif({den}, 0), 0)"
            f" AS {name}"
        )
    return out


def compute_features(
    world: str | Path | World,
    as_of: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Compute one row of features per subscriber as of a date.

    Parameters
    ----------
    world : path or World
        The world folder (or a loaded world).
    as_of : str or Timestamp, optional
        Nothing at or after this instant is used (naive dates are UTC). Default: midnight after
        the last event (:func:`default_as_of`).

    Returns
    -------
    DataFrame
        Indexed by ``subscriber_id`` (sorted), one row per subscriber who signed up before
        ``as_of``; columns as documented in :data:`FEATURES`, all float64 except the 0/1 flags
        and counts (int64). ``df.attrs["as_of"]`` holds the as-of instant (ISO text).

    Raises
    ------
    DataError
        When a table is missing, breaks the contract or is a damaged file.
    """
    import duckdb

    con = world_connection(world)
    try:
        ts = default_as_of(con) if as_of is None else _as_timestamp(as_of)
        return _features_sql(con, ts)
    except duckdb.Error as exc:
        where = world.path if isinstance(world, World) else world
        err = damaged_file_error(exc, where)
        if err is None:
            raise
        raise err from None
    finally:
        con.close()


def _features_sql(con: duckdb.DuckDBPyConnection, as_of: pd.Timestamp) -> pd.DataFrame:
    a = _to_us(as_of)
    trend = TREND_DAYS * _US_PER_DAY
    camp_cols = _columns(con, "campaigns")
    cat_expr = "c.content_category" if "content_category" in camp_cols else "NULL::VARCHAR"
    flow_expr = "c.flow" if "flow" in camp_cols else "NULL::VARCHAR"
    content_cats = [
        r[0]
        for r in con.execute(
            f"SELECT DISTINCT {cat_expr} AS v FROM campaigns c WHERE v IS NOT NULL ORDER BY v"
        ).fetchall()
    ]
    product_cats = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT category FROM orders WHERE epoch_us(ts) < ? AND category IS NOT NULL"
            " ORDER BY 1",
            [a],
        ).fetchall()
    ]
    click_cols = _pivot_sql(content_cats, "category", "click_share_", "1", "count(*)")
    buy_cols = _pivot_sql(product_cats, "category", "buy_share_", "1", "count(*)")
    click_select = (", " + ", ".join(click_cols)) if click_cols else ""
    open_cols = _pivot_sql(content_cats, "category", "open_share_", "1", "count(*)")
    open_select = (", " + ", ".join(open_cols)) if open_cols else ""
    open_names = [c.rsplit(" AS ", 1)[1] for c in open_cols]
    buy_select = (", " + ", ".join(buy_cols)) if buy_cols else ""
    click_names = [c.rsplit(" AS ", 1)[1] for c in click_cols]
    buy_names = [c.rsplit(" AS ", 1)[1] for c in buy_cols]
    # the weekly volumes count the weeks the subscriber could be emailed: until the as-of date,
    # an unsubscribe, or a hard bounce (the last email bounced, nothing delivered after it)
    hard_bounce = "m.last_bounce_us > coalesce(m.last_delivered_us, -1)"
    span_end = (
        f"least(coalesce(s.unsub_us, {a}), {a}, "
        f"CASE WHEN {hard_bounce} THEN m.last_bounce_us ELSE {a} END)"
    )
    sql = f"""
    WITH subs AS (
        SELECT subscriber_id, epoch_us(signup_ts) AS signup_us, tz_offset_h,
               region, acquisition_source, email_consent, sms_consent, push_consent,
               coalesce(epoch_us(unsubscribed_ts) < {a}, false) AS is_unsub,
               epoch_us(unsubscribed_ts) AS unsub_us
        FROM subscribers WHERE epoch_us(signup_ts) < {a}
    ),
    start AS (SELECT coalesce(min(epoch_us(ts)), {a}) AS start_us FROM email_events
              WHERE epoch_us(ts) < {a}),
    ev AS (
        SELECT e.subscriber_id, e.campaign_id, e.event_type, e.is_machine_open,
               epoch_us(e.ts) AS t_us,
               (epoch_us(e.ts) / 1e6 + s.tz_offset_h * 3600) AS local_s,
               {cat_expr} AS category, {flow_expr} AS flow
        FROM email_events e JOIN subs s USING (subscriber_id)
        LEFT JOIN campaigns c USING (campaign_id)
        WHERE epoch_us(e.ts) < {a}
    ),
    human AS (
        SELECT subscriber_id, t_us,
               CAST(floor(local_s / 3600) AS BIGINT) % 24 AS hour,
               (CAST(floor(local_s / 86400) AS BIGINT) + 3) % 7 AS dow,
               (local_s % 86400) / 3600.0 AS hour_f, category
        FROM ev WHERE event_type = 'opened' AND NOT is_machine_open
    ),
    rhythm AS (
        SELECT subscriber_id,
            count(*) AS n_open,
            count(*) FILTER (WHERE dow < 5) AS n_wd_open,
            count(*) FILTER (WHERE dow >= 5) AS n_we_open,
            max(t_us) AS last_open_us,
            avg(CASE WHEN dow >= 5 THEN 1 ELSE 0 END) AS weekend_open_share,
            avg(CASE WHEN hour BETWEEN 5 AND 10 THEN 1 ELSE 0 END) AS morning_open_share,
            avg(CASE WHEN hour >= 18 THEN 1 ELSE 0 END) AS evening_open_share,
            avg(sin(2 * pi() * hour_f / 24)) FILTER (WHERE dow < 5) AS wd_sin,
            avg(cos(2 * pi() * hour_f / 24)) FILTER (WHERE dow < 5) AS wd_cos,
            avg(sin(2 * pi() * hour_f / 24)) FILTER (WHERE dow >= 5) AS we_sin,
            avg(cos(2 * pi() * hour_f / 24)) FILTER (WHERE dow >= 5) AS we_cos
            {open_select}
        FROM human GROUP BY subscriber_id
    ),
    hour_counts AS (
        SELECT subscriber_id, hour, count(*) AS n FROM human GROUP BY subscriber_id, hour
    ),
    pref AS (
        SELECT subscriber_id, arg_max(hour, n * 24 + (23 - hour)) AS preferred_local_hour
        FROM hour_counts GROUP BY subscriber_id
    ),
    mail AS (
        SELECT subscriber_id,
            count(*) FILTER (WHERE event_type = 'delivered') AS delivered,
            count(*) FILTER (WHERE event_type = 'opened' AND NOT is_machine_open) AS opened,
            count(*) FILTER (WHERE event_type = 'opened' AND is_machine_open) AS machine_opened,
            count(*) FILTER (WHERE event_type = 'clicked') AS clicked,
            count(*) FILTER (WHERE event_type = 'complained') AS complaints,
            max(t_us) FILTER (WHERE event_type = 'bounced') AS last_bounce_us,
            max(t_us) FILTER (WHERE event_type = 'delivered') AS last_delivered_us,
            count(*) FILTER (WHERE event_type = 'delivered' AND t_us >= {a - trend}) AS d_recent,
            count(*) FILTER (WHERE event_type = 'opened' AND NOT is_machine_open
                             AND t_us >= {a - trend}) AS o_recent,
            count(*) FILTER (WHERE event_type = 'delivered' AND t_us >= {a - 2 * trend}
                             AND t_us < {a - trend}) AS d_prev,
            count(*) FILTER (WHERE event_type = 'opened' AND NOT is_machine_open
                             AND t_us >= {a - 2 * trend} AND t_us < {a - trend}) AS o_prev,
            count(*) FILTER (WHERE event_type = 'sent' AND flow = 'cart_abandonment') AS carts
        FROM ev GROUP BY subscriber_id
    ),
    clicks AS (
        SELECT subscriber_id{click_select}
        FROM ev WHERE event_type = 'clicked' GROUP BY subscriber_id
    ),
    ord AS (
        SELECT o.subscriber_id, count(*) AS n_orders, sum(o.revenue) AS revenue,
               max(epoch_us(o.ts)) AS last_order_us, count(DISTINCT o.category) AS n_categories
               {buy_select}
        FROM orders o JOIN subs USING (subscriber_id)
        WHERE epoch_us(o.ts) < {a} GROUP BY o.subscriber_id
    ),
    touch AS (
        SELECT t.subscriber_id,
            count(*) FILTER (WHERE channel = 'sms' AND interaction = 'impression') AS sms_n,
            count(*) FILTER (WHERE channel = 'sms' AND interaction <> 'impression') AS sms_r,
            count(*) FILTER (WHERE channel IN ('push', 'in_app')
                             AND interaction = 'impression') AS push_n,
            count(*) FILTER (WHERE channel IN ('push', 'in_app')
                             AND interaction <> 'impression') AS push_r
        FROM touchpoints t JOIN subs USING (subscriber_id)
        WHERE epoch_us(t.ts) < {a} GROUP BY t.subscriber_id
    )
    SELECT s.subscriber_id,
        s.region, s.acquisition_source,
        ({a} - s.signup_us) / {_US_PER_DAY}::DOUBLE AS tenure_days,
        s.is_unsub::INTEGER AS is_unsubscribed,
        ({a} - coalesce(r.last_open_us, s.signup_us)) / {_US_PER_DAY}::DOUBLE
            AS days_since_last_open,
        ({a} - coalesce(o.last_order_us, s.signup_us)) / {_US_PER_DAY}::DOUBLE
            AS days_since_last_order,
        coalesce(o.n_orders, 0) AS n_orders,
        coalesce(o.revenue, 0)::DOUBLE AS revenue,
        coalesce(o.revenue / nullif(o.n_orders, 0), 0)::DOUBLE AS avg_order_value,
        coalesce(o.n_orders, 0) * 30.0 / greatest(({a} - s.signup_us) / {_US_PER_DAY}, 1)
            AS orders_per_30d,
        coalesce(o.n_categories, 0) AS n_categories,
        {
        ", ".join(f"coalesce(o.{b}, 0)::DOUBLE AS {b}" for b in buy_names) + ","
        if buy_names
        else ""
    }
        coalesce(m.delivered, 0) AS emails_delivered,
        coalesce(m.opened, 0) AS n_opens,
        coalesce(r.n_wd_open, 0) AS n_weekday_opens,
        coalesce(r.n_we_open, 0) AS n_weekend_opens,
        coalesce(m.clicked, 0) AS n_clicks,
        least(coalesce(m.opened / nullif(m.delivered, 0), 0), 1)::DOUBLE AS open_rate,
        least(coalesce(m.clicked / nullif(m.delivered, 0), 0), 1)::DOUBLE AS click_rate,
        least(coalesce(m.clicked / nullif(m.opened, 0), 0), 1)::DOUBLE AS click_to_open,
        coalesce(m.machine_opened / nullif(m.opened + m.machine_opened, 0), 0)::DOUBLE
            AS machine_open_share,
        coalesce(m.o_recent / nullif(m.d_recent, 0) - m.o_prev / nullif(m.d_prev, 0), 0)::DOUBLE
            AS open_trend,
        coalesce(m.complaints, 0) AS complaints,
        coalesce({hard_bounce}, false)::INTEGER
            AS is_bounced,
        (s.email_consent AND NOT s.is_unsub
         AND NOT coalesce({hard_bounce}, false))::INTEGER
            AS email_reachable,
        coalesce(p.preferred_local_hour, -1) AS preferred_local_hour,
        CASE WHEN r.wd_sin IS NULL THEN NULL
             ELSE (degrees(atan2(r.wd_sin, r.wd_cos)) / 15 + 24) % 24 END AS weekday_open_hour,
        CASE WHEN r.we_sin IS NULL THEN NULL
             ELSE (degrees(atan2(r.we_sin, r.we_cos)) / 15 + 24) % 24 END AS weekend_open_hour,
        coalesce(r.weekend_open_share, 0)::DOUBLE AS weekend_open_share,
        coalesce(r.morning_open_share, 0)::DOUBLE AS morning_open_share,
        coalesce(r.evening_open_share, 0)::DOUBLE AS evening_open_share,
        coalesce(m.delivered, 0) * 7.0 * {_US_PER_DAY} / greatest(
            {span_end} - greatest(s.signup_us, st.start_us), 7 * {_US_PER_DAY}) AS emails_per_week,
        coalesce(m.opened, 0) * 7.0 * {_US_PER_DAY} / greatest(
            {span_end} - greatest(s.signup_us, st.start_us), 7 * {_US_PER_DAY}) AS opens_per_week,
        {
        ", ".join(f"coalesce(k.{c}, 0)::DOUBLE AS {c}" for c in click_names) + ","
        if click_names
        else ""
    }
        {
        ", ".join(f"coalesce(r.{c}, 0)::DOUBLE AS {c}" for c in open_names) + ","
        if open_names
        else ""
    }
        s.email_consent::INTEGER AS email_consent,
        s.sms_consent::INTEGER AS sms_consent,
        s.push_consent::INTEGER AS push_consent,
        least(coalesce(t.sms_r / nullif(t.sms_n, 0), 0), 1)::DOUBLE AS sms_response_rate,
        least(coalesce(t.push_r / nullif(t.push_n, 0), 0), 1)::DOUBLE AS push_response_rate,
        coalesce(m.carts, 0) AS cart_abandonment_emails
    FROM subs s CROSS JOIN start st
    LEFT JOIN rhythm r USING (subscriber_id)
    LEFT JOIN pref p USING (subscriber_id)
    LEFT JOIN mail m USING (subscriber_id)
    LEFT JOIN clicks k USING (subscriber_id)
    LEFT JOIN ord o USING (subscriber_id)
    LEFT JOIN touch t USING (subscriber_id)
    ORDER BY s.subscriber_id
    """
    df = con.execute(sql).df()
    df = df.set_index("subscriber_id")
    ints = ["is_unsubscribed", "n_orders", "n_categories", "emails_delivered", "n_opens",
            "n_weekday_opens", "n_weekend_opens", "n_clicks", "complaints", "is_bounced",
            "email_reachable", "preferred_local_hour", "email_consent", "sms_consent",
            "push_consent", "cart_abandonment_emails"]  # fmt: skip
    df[ints] = df[ints].astype("int64")
    floats = [c for c in df.columns if c not in ints and c not in ATTRIBUTES]
    df[floats] = df[floats].astype("float64")
    df[list(ATTRIBUTES)] = df[list(ATTRIBUTES)].astype("str")
    df.index = df.index.astype("int64")
    df.attrs["as_of"] = as_of.isoformat()
    return df
