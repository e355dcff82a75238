"""Segment profiles, readable names and business outcomes per segment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench import db
from workbench.schema import World
from workbench.segment.policy import attribute_columns

#: Feature -> (phrase when the segment is high, phrase when low) for generated names.
PHRASES: dict[str, tuple[str, str]] = {
    "open_rate": ("high opens", "low opens"),
    "click_rate": ("high clicks", "low clicks"),
    "revenue": ("high spend", "low spend"),
    "avg_order_value": ("big baskets", "small baskets"),
    "orders_per_30d": ("frequent buyers", "rare buyers"),
    "n_orders": ("many orders", "few orders"),
    "tenure_days": ("long-standing", "new"),
    "days_since_last_open": ("gone quiet", "recently active"),
    "days_since_last_order": ("lapsed buyers", "recent buyers"),
    "morning_open_share": ("morning readers", "not mornings"),
    "evening_open_share": ("evening readers", "not evenings"),
    "weekend_open_share": ("weekend readers", "weekday readers"),
    "machine_open_share": ("machine opens", "real opens"),
    "emails_per_week": ("heavily mailed", "lightly mailed"),
    "sms_consent": ("SMS reachable", "no SMS"),
    "push_consent": ("push reachable", "no push"),
    "sms_response_rate": ("SMS responsive", "SMS silent"),
    "cart_abandonment_emails": ("cart abandoners", "no abandoned carts"),
    "is_unsubscribed": ("unsubscribed", "subscribed"),
    "open_trend": ("warming up", "cooling down"),
    "n_categories": ("multi-category", "single-category"),
    "click_to_open": ("click when they open", "open without clicking"),
    "opens_per_week": ("frequent openers", "rare openers"),
    "push_response_rate": ("push responsive", "push silent"),
    "email_consent": ("email consented", "no email consent"),
    "email_reachable": ("reachable by email", "not reachable by email"),
    "is_bounced": ("bounced addresses", "deliverable"),
    "complaints": ("complainers", "no complaints"),
}
#: Column prefix -> (name family, word after the category when the segment is high). Content
#: shares of clicks and of opens are one family: "case study content" is said once.
FAMILIES: dict[str, tuple[str, str]] = {
    "click_share_": ("content", "content"),
    "open_share_": ("content", "content"),
    "buy_share_": ("buyers", "buyers"),
}


def _family(feature: str) -> str:
    for prefix, (family, _) in FAMILIES.items():
        if feature.startswith(prefix):
            return family
    return feature


def _nameable(feature: str) -> bool:
    """Names use only features with a plain phrase: never raw counts ("low n opens") or hours."""
    return feature in PHRASES or feature.startswith(tuple(FAMILIES))


def _phrase(feature: str, high: bool) -> str:
    if feature in PHRASES:
        return PHRASES[feature][0 if high else 1]
    for prefix, (_, what) in FAMILIES.items():
        if feature.startswith(prefix):
            cat = feature[len(prefix) :].replace("_", " ")
            return f"{cat} {what}" if high else f"little {cat}"
    raise KeyError(feature)


def profile(features: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """Per-segment feature means.

    Returns
    -------
    DataFrame
        Segments (rows, plus ``"all"`` last) by feature means; a ``size`` column first.
    """
    seg = segments.reindex(features.index)
    means = features.groupby(seg.to_numpy()).mean(numeric_only=True)
    means.insert(0, "size", seg.value_counts().reindex(means.index).to_numpy())
    base = features.mean(numeric_only=True).to_frame("all").T
    base.insert(0, "size", len(features))
    return pd.concat([means, base])


def standardized_differences(features: pd.DataFrame, segments: pd.Series) -> pd.DataFrame:
    """(segment mean - base mean) / base standard deviation, segments by features."""
    seg = segments.reindex(features.index)
    num = features.select_dtypes("number")
    means = num.groupby(seg.to_numpy()).mean()
    sd = num.std(ddof=0).replace(0, np.nan)
    return ((means - num.mean()) / sd).fillna(0.0)


def attribute_profile(
    features: pd.DataFrame, segments: pd.Series, columns: list[str] | None = None
) -> pd.DataFrame:
    """The most over-represented level of each text attribute in each segment.

    Parameters
    ----------
    features : DataFrame
        Feature table.
    segments : Series
        Segment of each subscriber (indexed like ``features``).
    columns : list of str, optional
        Attribute columns; default :func:`workbench.segment.policy.attribute_columns`.

    Returns
    -------
    DataFrame
        ``segment, attribute, level, share`` (of the segment), ``base_share`` (of everyone) and
        ``lift`` (``share / base_share``): one row per segment and attribute, the level with the
        highest lift among those held by at least 5% of the segment.
    """
    cols = attribute_columns(features) if columns is None else list(columns)
    seg = segments.reindex(features.index)
    rows = []
    for col in cols:
        values = features[col].astype("str").fillna("(missing)")
        base = values.value_counts(normalize=True)
        shares = pd.crosstab(seg.to_numpy(), values.to_numpy(), normalize="index")
        for s, row in shares.iterrows():
            held = row[row >= 0.05]
            lift = held / base.reindex(held.index).to_numpy()
            level = lift.idxmax()
            rows.append((s, col, level, float(row[level]), float(base[level]), float(lift[level])))
    return pd.DataFrame(
        rows, columns=["segment", "attribute", "level", "share", "base_share", "lift"]
    )


def distinguishing_features(
    features: pd.DataFrame, segments: pd.Series, top: int = 3
) -> pd.DataFrame:
    """The ``top`` features whose segment mean differs most from the base (in base SDs)."""
    z = standardized_differences(features, segments)
    rows = []
    for s, row in z.iterrows():  # one row per segment: a handful
        order = row.abs().sort_values(ascending=False, kind="stable").index[:top]
        for rank, f in enumerate(order, start=1):
            rows.append((s, rank, f, float(row[f])))
    return pd.DataFrame(rows, columns=["segment", "rank", "feature", "z"])


def name_segments(
    features: pd.DataFrame, segments: pd.Series, n_terms: int = 3, min_z: float = 0.4
) -> dict[object, str]:
    """A readable name per segment from its most distinguishing features.

    E.g. ``"morning readers · high clicks · low spend"``. Terms come from the features whose
    standardized difference is largest (at least ``min_z``) among those with a plain phrase
    (:data:`PHRASES` and the share families of :data:`FAMILIES`; bookkeeping counts such as
    ``n_opens`` and hours are never used); a family (content shares of clicks or opens,
    category shares) contributes once per direction. Duplicate names get a number.
    """
    z = standardized_differences(features, segments)
    z = z[[c for c in z.columns if _nameable(c)]]
    names: dict[object, str] = {}
    used: dict[str, int] = {}
    for s, row in z.iterrows():
        terms, families = [], set()
        for f in row.abs().sort_values(ascending=False, kind="stable").index:
            if abs(row[f]) < min_z or len(terms) == n_terms:
                break
            fam = _family(f)
            high = bool(row[f] > 0)
            if (fam, high) in families:
                continue
            families.add((fam, high))
            term = _phrase(f, high)
            if term not in terms:
                terms.append(term)
        name = " · ".join(terms) or "typical subscribers"
        used[name] = used.get(name, 0) + 1
        names[s] = name if used[name] == 1 else f"{name} ({used[name]})"
    return names


def outcomes(
    world: str | Path | World,
    segments: pd.Series,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Business outcomes per segment over a window ``[start, end)`` (default: all history).

    Parameters
    ----------
    world : path or World
    segments : Series
        Segment per ``subscriber_id``.
    start, end : str or Timestamp, optional
        Window of orders and email events counted.

    Returns
    -------
    DataFrame
        Per segment: ``subscribers``, ``conversion_rate`` (share with an order),
        ``days_to_first_order`` (median, from signup or window start, whichever is later),
        ``repeat_purchase_rate`` (buyers with two or more orders), ``cross_sell_rate`` (repeat
        buyers who later bought a category new to them), ``revenue_per_subscriber``,
        ``unsubscribe_rate`` and ``complaint_rate`` (share of subscribers).
    """
    with db.session(world, segments) as con:
        lo = db.epoch_us(db.utc_timestamp(start)) if start is not None else -(2**62)
        hi = db.epoch_us(db.utc_timestamp(end)) if end is not None else 2**62
        df = con.execute(_outcomes_sql(lo, hi)).df()
    return df.set_index("segment")


def _outcomes_sql(lo: int, hi: int) -> str:
    """:func:`outcomes`' query over orders and email events in ``[lo, hi)`` (epoch us)."""
    return f"""
        WITH o AS (
            SELECT o.subscriber_id, epoch_us(o.ts) AS t, o.revenue, o.category,
                   row_number() OVER (PARTITION BY o.subscriber_id
                                      ORDER BY o.ts, o.order_id) AS k
            FROM orders o WHERE epoch_us(o.ts) >= {lo} AND epoch_us(o.ts) < {hi}
        ),
        first_cats AS (SELECT subscriber_id, category FROM o WHERE k = 1),
        per AS (
            SELECT o.subscriber_id, count(*) AS n, sum(revenue) AS revenue, min(t) AS first_t,
                   bool_or(k > 1 AND o.category NOT IN (
                       SELECT category FROM first_cats f
                       WHERE f.subscriber_id = o.subscriber_id)) AS cross_sell
            FROM o GROUP BY o.subscriber_id
        ),
        ev AS (
            SELECT subscriber_id,
                   bool_or(event_type = 'unsubscribed') AS unsub,
                   bool_or(event_type = 'complained') AS complained
            FROM email_events WHERE epoch_us(ts) >= {lo} AND epoch_us(ts) < {hi}
            GROUP BY subscriber_id
        )
        SELECT seg.segment,
               count(*) AS subscribers,
               avg(CASE WHEN p.n > 0 THEN 1 ELSE 0 END) AS conversion_rate,
               median((p.first_t - greatest(epoch_us(s.signup_ts), {lo})) / 86400e6)
                   AS days_to_first_order,
               avg(CASE WHEN p.n >= 2 THEN 1 ELSE 0 END) FILTER (WHERE p.n > 0)
                   AS repeat_purchase_rate,
               avg(CASE WHEN p.cross_sell THEN 1 ELSE 0 END) FILTER (WHERE p.n >= 2)
                   AS cross_sell_rate,
               coalesce(sum(p.revenue), 0) / count(*) AS revenue_per_subscriber,
               avg(CASE WHEN e.unsub THEN 1 ELSE 0 END) AS unsubscribe_rate,
               avg(CASE WHEN e.complained THEN 1 ELSE 0 END) AS complaint_rate
        FROM seg JOIN subscribers s USING (subscriber_id)
        LEFT JOIN per p USING (subscriber_id)
        LEFT JOIN ev e USING (subscriber_id)
        GROUP BY seg.segment ORDER BY seg.segment
        """
