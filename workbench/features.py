"""Subscriber features as of a date: one row per subscriber, computed in DuckDB.

Everything is computed with SQL over the world's tables (Parquet files, folders of Parquet parts,
CSV exports, or the DataFrames of a loaded :class:`~workbench.schema.World`), never with Python
loops over rows. Nothing after the *as-of* date is used: every event table is filtered by
``ts < as_of`` and only subscribers who signed up before it are kept, so features computed at one
date can be used to predict what happens after it.

The columns come in families (:data:`FAMILIES`: attributes, lifecycle, purchases, email
engagement, rhythm, cadence, content affinity, channels, cart); each :class:`Feature` holds its
name, its SQL expression and its meaning together, and :data:`FEATURES` (name -> meaning) is
read from them. The content and product-category columns (``click_share_<category>``,
``buy_share_<category>``) follow the categories present in the world and are documented by
pattern. The data enters DuckDB through :mod:`workbench.db`; which columns segmentation
clusters on is :mod:`workbench.segment.policy`'s choice.

Examples
--------
>>> from workbench.features import compute_features
>>> feats = compute_features("datasets/sample", as_of="2026-03-01")  # doctest: +SKIP
>>> feats.loc[42, "click_rate"]  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from workbench import db
from workbench.engine import Engine, as_engine, engine_of
from workbench.errors import WorkbenchError
from workbench.schema import World

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ATTRIBUTES",
    "FAMILIES",
    "FEATURES",
    "RATE_COUNTS",
    "UNDEFINED_WITHOUT",
    "Family",
    "Feature",
    "compute_features",
    "count_column",
    "default_as_of",
    "describe",
    "evidence_column",
    "feature_query",
    "query_features",
    "resolve_as_of",
    "typed_features",
]

#: Recent-trend window: open rate of the last ``TREND_DAYS`` days against the ``TREND_DAYS`` before.
TREND_DAYS = 28
_US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class Feature:
    """One column of the feature table: its name, how it is computed and what it means.

    Parameters
    ----------
    name : str
        Column name; ``{cat}`` in it makes one column per category found in the world.
    sql : str
        DuckDB expression of the column in the final ``SELECT`` over the sources of
        :func:`query_features` (``s`` subscribers, ``st`` start of the email history, ``r``
        open rhythm, ``p`` preferred hour, ``m`` mail counts, ``k`` clicks, ``o`` orders, ``t``
        touches). Placeholders: ``{a}`` the as-of instant (epoch microseconds), ``{day}``
        microseconds per day, ``{hard_bounce}`` and ``{span_end}`` (see :func:`_context`),
        ``{col}`` the per-category column of the source.
    doc : str
        What the column means (:data:`FEATURES`).
    dtype : {"float64", "int64", "str"}
        Its dtype in the feature table.
    per : {"content", "product"}, optional
        For ``{cat}`` columns: content categories of the campaigns, or product categories of
        the orders.
    """

    name: str
    sql: str
    doc: str
    dtype: Literal["float64", "int64", "str"] = "float64"
    per: Literal["content", "product"] | None = None


@dataclass(frozen=True)
class Family:
    """A group of features computed from the same behaviour (purchases, opens, ...)."""

    name: str
    features: tuple[Feature, ...]


def _int(name: str, sql: str, doc: str) -> Feature:
    return Feature(name, sql, doc, "int64")


def _rate_of_opens(name: str, doc: str) -> Feature:
    return Feature(name, f"coalesce(r.{name}, 0)::DOUBLE", doc)


def _weekly(count: str) -> str:
    """``count`` per week over the weeks the subscriber could be emailed (see ``{span_end}``)."""
    return (
        f"coalesce({count}, 0) * 7.0 * {{day}} / greatest("
        "{span_end} - greatest(s.signup_us, st.start_us), 7 * {day})"
    )


def _circular_hour(sin: str, cos: str) -> str:
    return (
        f"CASE WHEN {sin} IS NULL THEN NULL ELSE (degrees(atan2({sin}, {cos})) / 15 + 24) % 24 END"
    )


#: Every feature, family by family, in the order of the feature table's columns.
FAMILIES: tuple[Family, ...] = (
    Family("attributes", (  # text, copied from the subscribers table
        Feature("region", "s.region", "home region", "str"),
        Feature("acquisition_source", "s.acquisition_source",
                "where the subscriber came from (signup channel)", "str"),
    )),
    Family("lifecycle", (
        Feature("tenure_days", "({a} - s.signup_us) / {day}::DOUBLE",
                "days from signup to the as-of date"),
        _int("is_unsubscribed", "s.is_unsub::INTEGER",
             "1 if the subscriber unsubscribed from email before the as-of date"),
        Feature("days_since_last_open",
                "({a} - coalesce(r.last_open_us, s.signup_us)) / {day}::DOUBLE",
                "days since the last human email open (since signup if none)"),
        Feature("days_since_last_order",
                "({a} - coalesce(o.last_order_us, s.signup_us)) / {day}::DOUBLE",
                "days since the last order (since signup if none): RFM recency"),
    )),
    Family("purchases", (  # RFM
        _int("n_orders", "coalesce(o.n_orders, 0)",
             "orders placed before the as-of date: RFM frequency"),
        Feature("revenue", "coalesce(o.revenue, 0)::DOUBLE",
                "total order value before the as-of date: RFM monetary"),
        Feature("avg_order_value", "coalesce(o.revenue / nullif(o.n_orders, 0), 0)::DOUBLE",
                "mean order value (0 without orders)"),
        Feature("orders_per_30d",
                "coalesce(o.n_orders, 0) * 30.0 / greatest(({a} - s.signup_us) / {day}, 1)",
                "orders per 30 days of tenure"),
        _int("n_categories", "coalesce(o.n_categories, 0)", "distinct product categories bought"),
        Feature("buy_share_{cat}", "coalesce(o.{col}, 0)::DOUBLE",
                "share of the subscriber's orders in product category {cat}", per="product"),
    )),
    Family("email engagement", (
        _int("emails_delivered", "coalesce(m.delivered, 0)", "emails delivered"),
        _int("n_opens", "coalesce(m.opened, 0)", "human email opens (machine opens excluded)"),
        _int("n_weekday_opens", "coalesce(r.n_wd_open, 0)",
             "human email opens on Monday-Friday (local time)"),
        _int("n_weekend_opens", "coalesce(r.n_we_open, 0)",
             "human email opens on Saturday-Sunday (local time)"),
        _int("n_clicks", "coalesce(m.clicked, 0)", "email clicks"),
        Feature("open_rate", "least(coalesce(m.opened / nullif(m.delivered, 0), 0), 1)::DOUBLE",
                "human opens per delivered email (machine opens excluded)"),
        Feature("click_rate", "least(coalesce(m.clicked / nullif(m.delivered, 0), 0), 1)::DOUBLE",
                "clicks per delivered email"),
        Feature("click_to_open", "least(coalesce(m.clicked / nullif(m.opened, 0), 0), 1)::DOUBLE",
                "clicks per human open (0 without opens)"),
        Feature("machine_open_share",
                "coalesce(m.machine_opened / nullif(m.opened + m.machine_opened, 0), 0)::DOUBLE",
                "share of the subscriber's opens made by privacy-protecting clients"),
        Feature("open_trend",
                "coalesce(m.o_recent / nullif(m.d_recent, 0)"
                " - m.o_prev / nullif(m.d_prev, 0), 0)::DOUBLE",
                f"open rate over the last {TREND_DAYS} days minus the {TREND_DAYS} days before "
                "(0 when either window had no email)"),
        _int("complaints", "coalesce(m.complaints, 0)", "spam complaints"),
        _int("is_bounced", "coalesce({hard_bounce}, false)::INTEGER",
             "1 if the last email sent to the subscriber bounced, with no delivery after it (a"
             " hard bounce: the ESP suppresses the address)"),
        _int("email_reachable",
             "(s.email_consent AND NOT s.is_unsub AND NOT coalesce({hard_bounce}, false))::INTEGER",
             "1 if email can be sent as of the as-of date: consented, not unsubscribed, not"
             " bounced"),
    )),
    Family("rhythm", (  # send time
        _int("preferred_local_hour", "coalesce(p.preferred_local_hour, -1)",
             "local hour (0-23) with most human opens (-1 without opens)"),
        Feature("weekday_open_hour", _circular_hour("r.wd_sin", "r.wd_cos"),
                "circular mean local hour of human opens on Monday-Friday (NaN if none)"),
        Feature("weekend_open_hour", _circular_hour("r.we_sin", "r.we_cos"),
                "circular mean local hour of human opens on Saturday-Sunday (NaN if none)"),
        _rate_of_opens("weekend_open_share",
                       "share of human opens on Saturday or Sunday (local time)"),
        _rate_of_opens("morning_open_share",
                       "share of human opens between 05:00 and 10:59 local time"),
        _rate_of_opens("evening_open_share",
                       "share of human opens between 18:00 and 23:59 local time"),
    )),
    Family("cadence", (
        Feature("emails_per_week", _weekly("m.delivered"),
                "emails delivered per week while the subscriber could be emailed and was"
                " observed (from signup or the first email of the world to the as-of date, an"
                " unsubscribe or a hard bounce)"),
        Feature("opens_per_week", _weekly("m.opened"),
                "human opens per week over the same weeks as emails_per_week"),
    )),
    Family("content affinity", (
        Feature("click_share_{cat}", "coalesce(k.{col}, 0)::DOUBLE",
                "share of the subscriber's email clicks on content category {cat}",
                per="content"),
        Feature("open_share_{cat}", "coalesce(r.{col}, 0)::DOUBLE",
                "share of the subscriber's human email opens on content category {cat} (opens"
                " are several times more numerous than clicks: the better-measured sign of"
                " content affinity)", per="content"),
    )),
    Family("channels", (
        _int("email_consent", "s.email_consent::INTEGER", "1 if consented to email"),
        _int("sms_consent", "s.sms_consent::INTEGER", "1 if consented to SMS"),
        _int("push_consent", "s.push_consent::INTEGER", "1 if consented to push notifications"),
        Feature("sms_response_rate", "least(coalesce(t.sms_r / nullif(t.sms_n, 0), 0), 1)::DOUBLE",
                "SMS clicks per SMS received (0 without SMS)"),
        Feature("push_response_rate",
                "least(coalesce(t.push_r / nullif(t.push_n, 0), 0), 1)::DOUBLE",
                "push and in-app opens or clicks per message received (0 without)"),
    )),
    Family("cart", (
        _int("cart_abandonment_emails", "coalesce(m.carts, 0)",
             "cart-abandonment reminders received (flow = 'cart_abandonment')"),
    )),
)  # fmt: skip

#: Feature name -> what it means. ``{cat}`` columns exist once per category found in the world.
FEATURES: dict[str, str] = {f.name: f.doc for fam in FAMILIES for f in fam.features}

#: Text attributes of the subscriber carried into the feature table. They are known exactly and
#: do not fade when a subscriber stops reading (see
#: :func:`workbench.segment.policy.attribute_columns`).
ATTRIBUTES: tuple[str, ...] = tuple(
    f.name for fam in FAMILIES for f in fam.features if f.dtype == "str"
)
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


def default_as_of(world: str | Path | World | duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """Midnight UTC after the world's last email event or order: the end of its history."""
    import duckdb

    if isinstance(world, duckdb.DuckDBPyConnection):
        return _end_of_history(world)
    with db.session(world) as con:
        return _end_of_history(con)


def resolve_as_of(
    con: duckdb.DuckDBPyConnection | Engine, as_of: str | pd.Timestamp | None
) -> pd.Timestamp:
    """``as_of`` as a UTC instant, or the end of the history of the world behind ``con``.

    Raises
    ------
    WorkbenchError
        When ``as_of`` is not a date, or it is ``None`` and the world holds no events.
    """
    return _end_of_history(con) if as_of is None else db.utc_timestamp(as_of)


def _end_of_history(con: duckdb.DuckDBPyConnection | Engine) -> pd.Timestamp:
    last = as_engine(con).scalar(
        "SELECT greatest((SELECT max(epoch_us(ts)) FROM email_events),"
        " (SELECT max(epoch_us(ts)) FROM orders), (SELECT max(epoch_us(signup_ts))"
        " FROM subscribers))"
    )
    if last is None:
        raise WorkbenchError("the world holds no subscribers or events: cannot pick an as-of date")
    return (pd.Timestamp(int(last), unit="us", tz="UTC") + pd.Timedelta(days=1)).floor("D")


def _slug(value: str) -> str:
    s = re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_")
    return s or "unknown"


def _category_shares(values: Iterable[str], prefix: str) -> list[tuple[str, str]]:
    """``(name, share of the group's rows in the category)`` per category (names slugged, unique).

    The aggregate reads the column ``category`` of the grouped rows.
    """
    out: dict[str, str] = {}
    for v in values:
        name = f"{prefix}{_slug(v)}"
        if name not in out:
            cond = f"category = {db.sql_string(v)}"
            out[name] = f"coalesce(sum(1) FILTER (WHERE {cond}) / nullif(count(*), 0), 0)"
    return list(out.items())


def _aliased(columns: Sequence[tuple[str, str]]) -> str:
    """``, expr AS name, ...`` for the ``SELECT`` list of a source (empty without columns)."""
    return "".join(f", {expr} AS {name}" for name, expr in columns)


def _event_sources(a: int, cat_expr: str, flow_expr: str) -> str:
    """``subs`` (subscribers signed up before as-of), ``start``, ``ev`` (their email events with
    campaign category and flow) and ``human`` (human opens with local hour and weekday)."""
    return f"""
    subs AS (
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
    )"""


def _rhythm_sources(open_shares: Sequence[tuple[str, str]]) -> str:
    """``rhythm`` (per-subscriber open counts, times and content shares) and ``pref``."""
    return f"""
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
            {_aliased(open_shares)}
        FROM human GROUP BY subscriber_id
    ),
    hour_counts AS (
        SELECT subscriber_id, hour, count(*) AS n FROM human GROUP BY subscriber_id, hour
    ),
    pref AS (
        SELECT subscriber_id, arg_max(hour, n * 24 + (23 - hour)) AS preferred_local_hour
        FROM hour_counts GROUP BY subscriber_id
    )"""


def _mail_source(a: int) -> str:
    """``mail``: per-subscriber email counts, last bounce and delivery, trend windows, carts."""
    trend = TREND_DAYS * _US_PER_DAY
    return f"""
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
    )"""


def _order_and_touch_sources(
    a: int, click_shares: Sequence[tuple[str, str]], buy_shares: Sequence[tuple[str, str]]
) -> str:
    """``clicks`` (content shares of clicks), ``ord`` (orders) and ``touch`` (SMS, push)."""
    return f"""
    clicks AS (
        SELECT subscriber_id{_aliased(click_shares)}
        FROM ev WHERE event_type = 'clicked' GROUP BY subscriber_id
    ),
    ord AS (
        SELECT o.subscriber_id, count(*) AS n_orders, sum(o.revenue) AS revenue,
               max(epoch_us(o.ts)) AS last_order_us, count(DISTINCT o.category) AS n_categories
               {_aliased(buy_shares)}
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
    )"""


def _context(a: int) -> dict[str, str]:
    """The placeholders of :attr:`Feature.sql` at the as-of instant ``a`` (epoch microseconds).

    The weekly volumes count the weeks the subscriber could be emailed: until the as-of date,
    an unsubscribe, or a hard bounce (the last email bounced, nothing delivered after it).
    """
    hard_bounce = "m.last_bounce_us > coalesce(m.last_delivered_us, -1)"
    span_end = (
        f"least(coalesce(s.unsub_us, {a}), {a}, "
        f"CASE WHEN {hard_bounce} THEN m.last_bounce_us ELSE {a} END)"
    )
    return {"a": str(a), "day": str(_US_PER_DAY), "hard_bounce": hard_bounce, "span_end": span_end}


def _columns(
    context: dict[str, str], shares: dict[str, list[tuple[str, str]]]
) -> list[tuple[Feature, str, str]]:
    """``(feature, column name, SQL)`` of every output column, in :data:`FAMILIES` order.

    ``shares`` maps a ``{cat}`` feature to its per-category columns of :func:`_category_shares`.
    """
    out = []
    for fam in FAMILIES:
        for f in fam.features:
            if f.per is None:
                out.append((f, f.name, f.sql.format(**context)))
            else:
                out += [(f, name, f.sql.format(col=name)) for name, _ in shares[f.name]]
    return out


def _categories(eng: Engine, a: int, cat_expr: str) -> tuple[list[str], list[str]]:
    """Content categories of the campaigns and product categories ordered before ``a``."""
    content = eng.frame(
        f"SELECT DISTINCT {cat_expr} AS v FROM campaigns c WHERE {cat_expr} IS NOT NULL ORDER BY v"
    )
    product = eng.frame(
        f"SELECT DISTINCT category FROM orders WHERE epoch_us(ts) < {int(a)}"
        " AND category IS NOT NULL ORDER BY 1"
    )
    return [str(v) for v in content.iloc[:, 0]], [str(v) for v in product.iloc[:, 0]]


def feature_query(
    con: duckdb.DuckDBPyConnection | Engine, as_of: pd.Timestamp
) -> tuple[str, dict[str, list[str]]]:
    """The SQL of the feature table (DuckDB dialect) and its columns by dtype.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or Engine
        With the event views (:func:`workbench.db.world_connection`,
        :func:`workbench.engine.open_engine`).
    as_of : Timestamp
        UTC instant; nothing at or after it is used.

    Returns
    -------
    sql : str
        One row per subscriber, ordered by ``subscriber_id``.
    dtypes : dict
        ``"int64"``, ``"float64"`` and ``"str"`` -> the columns of that dtype.
    """
    eng = as_engine(con)
    a = db.epoch_us(as_of)
    camp_cols = set(eng.columns("campaigns"))
    cat_expr = "c.content_category" if "content_category" in camp_cols else "NULL::VARCHAR"
    flow_expr = "c.flow" if "flow" in camp_cols else "NULL::VARCHAR"
    content, product = _categories(eng, a, cat_expr)
    categories = {"content": content, "product": product}
    shares = {
        f.name: _category_shares(categories[f.per], f.name.removesuffix("{cat}"))
        for fam in FAMILIES
        for f in fam.features
        if f.per is not None
    }
    columns = _columns(_context(a), shares)
    select = ",\n        ".join(f"{sql} AS {name}" for _, name, sql in columns)
    sources = ",".join([
        _event_sources(a, cat_expr, flow_expr),
        _rhythm_sources(shares["open_share_{cat}"]),
        _mail_source(a),
        _order_and_touch_sources(a, shares["click_share_{cat}"], shares["buy_share_{cat}"]),
    ])  # fmt: skip
    sql = f"""
    WITH {sources}
    SELECT s.subscriber_id,
        {select}
    FROM subs s CROSS JOIN start st
    LEFT JOIN rhythm r USING (subscriber_id)
    LEFT JOIN pref p USING (subscriber_id)
    LEFT JOIN mail m USING (subscriber_id)
    LEFT JOIN clicks k USING (subscriber_id)
    LEFT JOIN ord o USING (subscriber_id)
    LEFT JOIN touch t USING (subscriber_id)
    ORDER BY s.subscriber_id
    """
    dtypes = {
        dtype: [name for f, name, _ in columns if f.dtype == dtype]
        for dtype in ("int64", "float64", "str")
    }
    return sql, dtypes


def typed_features(
    df: pd.DataFrame, dtypes: dict[str, list[str]], as_of: pd.Timestamp
) -> pd.DataFrame:
    """Rows of :func:`feature_query` as the feature table: indexed, in the features' dtypes."""
    df = df.set_index("subscriber_id")
    for dtype, cols in dtypes.items():
        cols = [c for c in cols if c in df.columns]
        df[cols] = df[cols].astype(dtype)
    df.index = df.index.astype("int64")
    df.attrs["as_of"] = as_of.isoformat()
    return df


def query_features(con: duckdb.DuckDBPyConnection | Engine, as_of: pd.Timestamp) -> pd.DataFrame:
    """The feature table from a connection with views of :data:`workbench.db.EVENT_TABLES`.

    The columns are the :data:`FAMILIES`' features, each computed by its own SQL expression
    over a few per-subscriber sources; ``{cat}`` features get one column per category.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection or Engine
        With the event views (:func:`workbench.db.world_connection`, or an engine of
        :func:`workbench.engine.open_engine`).
    as_of : Timestamp
        UTC instant; nothing at or after it is used.

    Returns
    -------
    DataFrame
        As :func:`compute_features`.
    """
    sql, dtypes = feature_query(con, as_of)
    return typed_features(as_engine(con).frame(sql), dtypes, as_of)


def compute_features(
    world: str | Path | World | Engine,
    as_of: str | pd.Timestamp | None = None,
    engine: str | Any = "duckdb",
) -> pd.DataFrame:
    """Compute one row of features per subscriber as of a date.

    Parameters
    ----------
    world : path, World or Engine
        The world folder, a loaded world, or an engine holding a world's views (e.g. a
        warehouse: :func:`workbench.engine.open_warehouse`).
    as_of : str or Timestamp, optional
        Nothing at or after this instant is used (naive dates are UTC). Default: midnight after
        the last event (:func:`default_as_of`).
    engine : {"duckdb", "spark"}, a Spark URL or a SparkSession, default "duckdb"
        Where the queries run (:func:`workbench.engine.open_engine`); every engine gives the
        same table. Unused when ``world`` is an engine.

    Returns
    -------
    DataFrame
        Indexed by ``subscriber_id`` (sorted), one row per subscriber who signed up before
        ``as_of``; columns as documented in :data:`FEATURES` (family by family,
        :data:`FAMILIES`), all float64 except the 0/1 flags and counts (int64) and the text
        :data:`ATTRIBUTES`. ``df.attrs["as_of"]`` holds the as-of instant (ISO text).

    Raises
    ------
    DataError
        When a table is missing, breaks the contract or is a damaged file.
    """
    with engine_of(world, engine) as eng:
        return query_features(eng, resolve_as_of(eng, as_of))
