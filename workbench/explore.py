"""Descriptive summaries of a world that a marketer reads: who is on the list and how they behave.

Every function takes a loaded :class:`~workbench.schema.World` and an optional grouping: a Series
indexed by ``subscriber_id`` (a persona, a segment, a region...). Without one, the whole base is
one group called ``"all"``. Functions return tidy DataFrames; :mod:`workbench.plots` draws them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.schema import MESSAGE_CHANNELS, World

ALL = "all"


def _group_of(world: World, group: pd.Series | None) -> pd.Series:
    ids = world["subscribers"]["subscriber_id"]
    if group is None:
        return pd.Series(ALL, index=pd.Index(ids, name="subscriber_id"), name="group")
    g = group.rename("group")
    g.index = g.index.rename("subscriber_id")
    return g.reindex(ids.to_numpy())


def truth_personas(world: World) -> pd.Series:
    """True persona of each subscriber (``truth_subscribers``; for evaluation and teaching)."""
    t = world["truth_subscribers"]
    return t.set_index("subscriber_id")["persona"].rename("persona")


def group_sizes(world: World, group: pd.Series | None = None) -> pd.DataFrame:
    """Subscribers per group and their share of the base, largest first."""
    g = _group_of(world, group)
    out = g.value_counts().rename("subscribers").to_frame()
    out["share"] = out["subscribers"] / out["subscribers"].sum()
    out.index.name = "group"
    return out.reset_index()


def human_opens(world: World) -> pd.DataFrame:
    """Opens by people (machine opens removed) with the subscriber's local time.

    Returns
    -------
    DataFrame
        ``subscriber_id, campaign_id, ts, local_ts, local_hour, weekday`` (weekday 0 = Monday).
    """
    ev = world["email_events"]
    opens = ev.loc[(ev["event_type"] == "opened") & ~ev["is_machine_open"]]
    opens = opens[["subscriber_id", "campaign_id", "ts"]]
    tz = world["subscribers"].set_index("subscriber_id")["tz_offset_h"]
    offset = pd.to_timedelta(opens["subscriber_id"].map(tz).to_numpy(), unit="h")
    local = opens["ts"].dt.tz_localize(None) + offset
    return opens.assign(local_ts=local, local_hour=local.dt.hour, weekday=local.dt.day_of_week)


def opens_by_local_hour(world: World, group: pd.Series | None = None) -> pd.DataFrame:
    """Share of each group's human opens falling in each local hour (rows: hour 0-23)."""
    opens = human_opens(world)
    g = _group_of(world, group)
    opens = opens.assign(group=opens["subscriber_id"].map(g))
    table = pd.crosstab(opens["local_hour"], opens["group"], normalize="columns")
    return table.reindex(range(24), fill_value=0.0).rename_axis(index="local_hour", columns="group")


def weekly_engagement(world: World, group: pd.Series | None = None) -> pd.DataFrame:
    """One row per subscriber-week with email received: volume, human opens, unsubscribes.

    Returns
    -------
    DataFrame
        ``subscriber_id, week, group, delivered, opened, unsubscribed`` where ``opened`` counts
        campaigns opened by a person that week.
    """
    ev = world["email_events"]
    ev = ev.loc[
        ev["event_type"].isin(["delivered", "opened", "unsubscribed"])
        & ~(ev["is_machine_open"] & (ev["event_type"] == "opened"))
    ]
    week = ev["ts"].dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    frame = ev[["subscriber_id", "campaign_id", "event_type"]].assign(week=week)
    frame = frame.drop_duplicates(["subscriber_id", "campaign_id", "event_type", "week"])
    counts = pd.crosstab([frame["subscriber_id"], frame["week"]], frame["event_type"])
    counts = counts.reindex(columns=["delivered", "opened", "unsubscribed"], fill_value=0)
    counts = counts.loc[counts["delivered"] > 0].reset_index()
    counts.columns.name = None
    g = _group_of(world, group)
    counts.insert(2, "group", counts["subscriber_id"].map(g).to_numpy())
    return counts


def engagement_by_cadence(
    world: World, group: pd.Series | None = None, max_per_week: int = 8
) -> pd.DataFrame:
    """Open and unsubscribe rates against the number of emails received that week.

    Parameters
    ----------
    world : World
    group : Series, optional
        Grouping by subscriber id.
    max_per_week : int, default 8
        Weeks with more emails are pooled into this last bin.

    Returns
    -------
    DataFrame
        ``group, emails_per_week, subscriber_weeks, open_rate, unsubscribe_rate`` where the
        open rate is opened campaigns per delivered email.
    """
    w = weekly_engagement(world, group)
    w["emails_per_week"] = w["delivered"].clip(upper=max_per_week)
    agg = w.groupby(["group", "emails_per_week"], observed=True).agg(
        subscriber_weeks=("subscriber_id", "size"),
        delivered=("delivered", "sum"),
        opened=("opened", "sum"),
        unsubscribed=("unsubscribed", "sum"),
    )
    agg["open_rate"] = agg["opened"] / agg["delivered"]
    agg["unsubscribe_rate"] = agg["unsubscribed"] / agg["delivered"]
    return agg.reset_index()[
        ["group", "emails_per_week", "subscriber_weeks", "open_rate", "unsubscribe_rate"]
    ]


def order_values(world: World, group: pd.Series | None = None) -> pd.DataFrame:
    """Orders with the buyer's group: ``order_id, subscriber_id, group, revenue, n_items``."""
    o = world["orders"][["order_id", "subscriber_id", "revenue", "n_items", "category"]]
    g = _group_of(world, group)
    return o.assign(group=o["subscriber_id"].map(g).to_numpy())


def purchase_summary(world: World, group: pd.Series | None = None) -> pd.DataFrame:
    """Per group: buyers' share, orders per subscriber, median and mean order value."""
    g = _group_of(world, group)
    o = order_values(world, group)
    size = g.value_counts()
    per = o.groupby("group").agg(
        orders=("order_id", "size"),
        buyers=("subscriber_id", "nunique"),
        median_order_value=("revenue", "median"),
        mean_order_value=("revenue", "mean"),
        revenue=("revenue", "sum"),
    )
    per = per.reindex(size.index, fill_value=0)
    per["subscribers"] = size
    per["buyer_share"] = per["buyers"] / per["subscribers"]
    per["orders_per_subscriber"] = per["orders"] / per["subscribers"]
    per["revenue_per_subscriber"] = per["revenue"] / per["subscribers"]
    per.index.name = "group"
    return per.reset_index()


def consent_rates(world: World, group: pd.Series | None = None) -> pd.DataFrame:
    """Share of each group consenting to each channel (rows: group, columns: channel)."""
    s = world["subscribers"]
    g = _group_of(world, group)
    cols = {c: f"{c}_consent" for c in MESSAGE_CHANNELS if f"{c}_consent" in s.columns}
    frame = s[list(cols.values())].astype(float).set_axis(list(cols), axis=1)
    frame["still_subscribed"] = s["unsubscribed_ts"].isna().astype(float)
    frame["group"] = g.to_numpy()
    return frame.groupby("group").mean()


def funnel(world: World) -> pd.DataFrame:
    """The email funnel over the whole world: counts and rates per delivered email.

    Machine opens are shown apart from human opens: privacy-protecting mail clients "open" every
    message, so raw open rates overstate interest.
    """
    ev = world["email_events"]
    counts = ev.groupby(["event_type", "is_machine_open"]).size()
    get = lambda t, m=False: int(counts.get((t, m), 0))  # noqa: E731
    sent, delivered = get("sent"), get("delivered")
    rows = [
        ("sent", sent),
        ("delivered", delivered),
        ("bounced", get("bounced")),
        ("opened (people)", get("opened")),
        ("opened (machines)", get("opened", True)),
        ("clicked", get("clicked")),
        ("unsubscribed", get("unsubscribed")),
        ("complained", get("complained")),
    ]
    out = pd.DataFrame(rows, columns=["event", "count"])
    out["per_delivered"] = out["count"] / delivered if delivered else np.nan
    return out
