"""Descriptive summaries of a world that a marketer reads: who is on the list and how they behave.

Every function takes a loaded :class:`~workbench.schema.World` and an optional grouping: a Series
indexed by ``subscriber_id`` (a persona, a segment, a region...). Without one, the whole base is
one group called ``"all"``; the lifecycle summaries take a table of stage transitions. Functions
return tidy DataFrames; :mod:`workbench.plots` draws them.

Nothing here reads the truth of a synthetic world. A teaching notebook that groups by the true
personas loads them with :func:`workbench.truth.load_truth` and passes them in as the grouping.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.findings import Finding, count, money, percent
from workbench.schema import MESSAGE_CHANNELS, World

ALL = "all"


def _group_of(world: World, group: pd.Series | None) -> pd.Series:
    ids = world["subscribers"]["subscriber_id"]
    if group is None:
        return pd.Series(ALL, index=pd.Index(ids, name="subscriber_id"), name="group")
    g = group.rename("group")
    g.index = g.index.rename("subscriber_id")
    return g.reindex(ids.to_numpy())


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


def delivered_emails(world: World, window_days: float = 7.0) -> pd.DataFrame:
    """One row per delivered email with the recent volume its reader had and what they did.

    Parameters
    ----------
    world : World
    window_days : float, default 7
        Length of the trailing window over which earlier emails are counted.

    Returns
    -------
    DataFrame
        ``subscriber_id, campaign_id, ts, emails_in_window`` (emails delivered to that subscriber
        in the trailing window, this one included), ``opened`` (a person opened it) and
        ``unsubscribed`` (it was followed by an unsubscribe or a complaint).

    Notes
    -----
    Counting per email, with the volume *before* it, avoids the trap of weekly tallies: the week a
    subscriber leaves is cut short, so unsubscribes pile up in low-volume weeks.
    """
    ev = world["email_events"]
    keys = ["subscriber_id", "campaign_id"]
    sent = ev.loc[ev["event_type"] == "delivered", [*keys, "ts"]]
    sent = sent.drop_duplicates(keys).sort_values(["subscriber_id", "ts"], kind="stable")
    # trailing-window counts in one vectorised search over (subscriber, time) keys
    t = (sent["ts"] - sent["ts"].min()).dt.total_seconds().to_numpy()
    span = float(t.max()) + 2 * window_days * 86400 + 1 if len(t) else 1.0
    key = sent["subscriber_id"].to_numpy(dtype=np.float64) * span + t
    first = np.searchsorted(key, key - window_days * 86400, side="right")
    sent = sent.assign(emails_in_window=np.arange(len(key)) - first + 1)
    human = ev.loc[(ev["event_type"] == "opened") & ~ev["is_machine_open"], keys]
    left = ev.loc[ev["event_type"].isin(["unsubscribed", "complained"]), keys]
    opened = pd.MultiIndex.from_frame(sent[keys]).isin(pd.MultiIndex.from_frame(human))
    unsub = pd.MultiIndex.from_frame(sent[keys]).isin(pd.MultiIndex.from_frame(left))
    return sent.assign(opened=opened, unsubscribed=unsub).reset_index(drop=True)


def engagement_by_cadence(
    world: World, group: pd.Series | None = None, max_per_week: int = 8, window_days: float = 7.0
) -> pd.DataFrame:
    """Open and unsubscribe rates against the number of emails received in the past week.

    Parameters
    ----------
    world : World
    group : Series, optional
        Grouping by subscriber id.
    max_per_week : int, default 8
        Emails with a busier week behind them are pooled into this last bin.
    window_days : float, default 7
        The trailing window (see :func:`delivered_emails`).

    Returns
    -------
    DataFrame
        ``group, emails_per_week, emails, open_rate, unsubscribe_rate``: per group and recent
        volume, how many delivered emails, the share opened by a person and the share followed
        by an unsubscribe or complaint.
    """
    d = delivered_emails(world, window_days)
    g = _group_of(world, group)
    d["group"] = d["subscriber_id"].map(g).to_numpy()
    d["emails_per_week"] = d["emails_in_window"].clip(upper=max_per_week)
    agg = d.groupby(["group", "emails_per_week"], observed=True).agg(
        emails=("opened", "size"), open_rate=("opened", "mean"),
        unsubscribe_rate=("unsubscribed", "mean"),
    )  # fmt: skip
    return agg.reset_index()


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


def weekly_activity(world: World) -> pd.DataFrame:
    """What happened on the list week by week, from whichever tables the world has.

    Returns
    -------
    DataFrame
        Index ``week`` (Monday, UTC); columns, each only when its table is present:
        ``signups`` (subscribers; ``first_seen`` when an import had no signup times and took
        each subscriber's first activity), ``unsubscribes`` (subscribers' unsubscribe times,
        left out when an import could not know them),
        ``delivered``, ``human_opens``, ``clicks`` (email events), ``orders`` and ``revenue``
        (orders). Weeks with nothing are 0. The weeks run from the first email event or order
        to the last full week of the history (signups before it are left out, and so is a
        last week the history covers only in part); without either table, over the signups.
    """
    subs = world["subscribers"]
    derived = set(world.meta.get("import", {}).get("derived", []))
    # an import that had no signup times took each subscriber's first activity instead
    first = "first_seen" if "subscribers.signup_ts" in derived else "signups"
    series: dict[str, pd.Series] = {first: _per_week(subs["signup_ts"])}
    if "subscribers.unsubscribed_ts" not in derived:  # unknown, not zero
        series["unsubscribes"] = _per_week(subs["unsubscribed_ts"].dropna())
    if "email_events" in world:
        ev = world["email_events"]
        kind = ev["event_type"]
        series["delivered"] = _per_week(ev.loc[kind == "delivered", "ts"])
        series["human_opens"] = _per_week(ev.loc[(kind == "opened") & ~ev["is_machine_open"], "ts"])
        series["clicks"] = _per_week(ev.loc[kind == "clicked", "ts"])
    if "orders" in world:
        orders = world["orders"]
        series["orders"] = _per_week(orders["ts"])
        series["revenue"] = _per_week(orders["ts"], orders["revenue"])
    out = pd.DataFrame(series).fillna(0)
    stamps = [world[t]["ts"] for t in ("email_events", "orders") if t in world]
    stamps = [t for t in stamps if len(t)] or [subs["signup_ts"]]
    first = min(t.min() for t in stamps).tz_convert("UTC").tz_localize(None)
    last = max(t.max() for t in stamps).tz_convert("UTC").tz_localize(None)
    start = first.to_period("W-SUN").start_time
    # the last week counts only when the history covers it (else its totals read as a drop)
    stop = last.to_period("W-SUN").start_time
    if stop + pd.Timedelta(days=7) > last + pd.Timedelta(days=1):
        stop -= pd.Timedelta(days=7)
    full = pd.date_range(start, max(start, stop), freq="7D", name="week")
    return out.reindex(full, fill_value=0).rename_axis("week")


def _per_week(ts: pd.Series, weights: pd.Series | None = None) -> pd.Series:
    """Count (or sum of ``weights``) per week starting on Monday, UTC."""
    week = ts.dt.tz_convert("UTC").dt.tz_localize(None).dt.to_period("W-SUN").dt.start_time
    values = pd.Series(1.0, index=ts.index) if weights is None else weights.astype(float)
    return values.groupby(week.to_numpy()).sum()


def data_quality(world: World) -> pd.DataFrame:
    """A data-quality audit of a list: what to know before trusting the analyses.

    Returns
    -------
    DataFrame
        One row per check: ``check``, ``value`` (a count, or a share for checks named
        "(share...)"), ``meaning`` (what it tells, in plain words) and ``shown`` (the value
        written for a reader). Checks of a table the world lacks are left out.
    """
    subs = world["subscribers"]
    n = len(subs)
    rows = [
        ("subscribers", n, "people on the list"),
        (
            "unsubscribed (share)",
            float(subs["unsubscribed_ts"].notna().mean()) if n else np.nan,
            "suppressed: can no longer be emailed",
        ),
    ]
    if "email_events" in world:
        ev = world["email_events"]
        key = ["subscriber_id", "campaign_id", "event_type", "ts", "is_machine_open"]
        opens = ev["event_type"] == "opened"
        bounced = ev.loc[ev["event_type"] == "bounced", "subscriber_id"].nunique()
        sent = ev["event_type"].isin(["sent", "delivered", "bounced"])  # some exports lack "sent"
        emailed = ev.loc[sent, "subscriber_id"].nunique()
        delivered = _per_week(ev.loc[ev["event_type"] == "delivered", "ts"])
        # weeks between the first and the last delivered email without any
        span = len(pd.date_range(delivered.index.min(), delivered.index.max(), freq="7D"))
        gaps = span - len(delivered) if len(delivered) else 0
        rows += [
            ("duplicate email events", int(ev.duplicated(key).sum()),
             "the same event twice (an export joined twice?): counted once would be right"),
            ("machine opens (share of opens)",
             float(ev.loc[opens, "is_machine_open"].mean()) if opens.any() else np.nan,
             "opens by privacy-protecting clients or bots, not people: left out of engagement"),
            ("bounced addresses (share)", bounced / n if n else np.nan,
             "suppressed after a bounce: undeliverable"),
            ("never emailed (share)", 1 - emailed / n if n else np.nan,
             "no email sent to them in the export: engagement features are missing for them"),
            ("weeks without a delivered email", gaps,
             "gaps in the sending history (or in the export)"),
        ]  # fmt: skip
    if "orders" in world:
        orders = world["orders"]
        dup = orders.duplicated(["subscriber_id", "ts", "revenue"]).sum()
        rows += [
            ("orders", len(orders), "orders in the export"),
            ("possible duplicate orders", int(dup),
             "same subscriber, time and amount under two order ids"),
            ("buyers (share)", orders["subscriber_id"].nunique() / n if n else np.nan,
             "subscribers with at least one order"),
        ]  # fmt: skip
    out = pd.DataFrame(rows, columns=["check", "value", "meaning"])
    share = out["check"].str.endswith("(share)") | out["check"].str.contains(r"\(share of")
    out["shown"] = [
        "n/a" if pd.isna(v) else (f"{v:.1%}" if sh else f"{v:,.0f}")
        for v, sh in zip(out["value"], share, strict=True)
    ]
    return out


def lifecycle_by_week(transitions: pd.DataFrame) -> pd.DataFrame:
    """Subscribers in each lifecycle stage at the end of every week.

    Parameters
    ----------
    transitions : DataFrame
        Stage transitions ``subscriber_id, ts, stage``, one row per transition (e.g. a synthetic
        world's true lifecycle, loaded by evaluation code with :func:`workbench.truth.load_truth`).

    Returns
    -------
    DataFrame
        Rows: week end (UTC dates); columns: stages in lifecycle order; values: subscribers.
        Subscribers who have not signed up yet are not counted.
    """
    from workbench.schema import LIFECYCLE_STAGES

    t = transitions.sort_values(["ts", "subscriber_id"], kind="stable")
    start = t["ts"].min().normalize()
    ends = pd.date_range(
        start + pd.Timedelta(days=7), t["ts"].max() + pd.Timedelta(days=7), freq="7D"
    )
    counts = {}
    for end in ends:
        last = t.loc[t["ts"] < end].drop_duplicates("subscriber_id", keep="last")
        counts[end.date()] = last["stage"].value_counts()
    out = pd.DataFrame(counts).T.fillna(0).astype("int64")
    stages = [s for s in LIFECYCLE_STAGES if s in out.columns]
    return out[stages].rename_axis(index="week_end", columns="stage")


def lifecycle_transitions(transitions: pd.DataFrame) -> pd.DataFrame:
    """How often subscribers moved from one stage to the next (rows: from, columns: to).

    ``transitions`` is a table ``subscriber_id, ts, stage`` as for :func:`lifecycle_by_week`.
    """
    from workbench.schema import LIFECYCLE_STAGES

    t = transitions.sort_values(["subscriber_id", "ts"], kind="stable")
    prev = t.groupby("subscriber_id")["stage"].shift()
    moves = pd.crosstab(prev.rename("from"), t["stage"].rename("to"))
    order = list(LIFECYCLE_STAGES)
    return moves.reindex(index=order, columns=order, fill_value=0)


def list_findings(world: World) -> list[Finding]:
    """The list in one sentence for the report's summary: size, period, engagement, revenue."""
    subs = world["subscribers"]
    days = world.meta.get("days")
    bits = [f"{count(len(subs))} subscribers" + (f" over {days} days" if days else "")]
    if "email_events" in world:
        rates = funnel(world).set_index("event")["per_delivered"]
        bits.append(
            f"a person opened {percent(float(rates['opened (people)']))} of delivered emails and "
            f"clicked {percent(float(rates['clicked']), 1)}"
        )
        machine = float(rates["opened (machines)"])
        if machine > 0:
            bits.append(f"machine opens (not people) add {percent(machine)} more")
    if "orders" in world:
        orders = world["orders"]
        per = float(orders["revenue"].sum()) / max(len(subs), 1)
        bits.append(f"{count(len(orders))} orders, {money(per)} revenue per subscriber")
    return [Finding("The list: " + "; ".join(bits) + ".", section="The list, week by week")]


def which_world(path: str | Path, seed: int) -> str:
    """One Markdown line naming the world a notebook reads and the seed it runs with, so that a
    notebook run on its own and the report can be compared (same world, same seed, same numbers).
    """
    from workbench.schema import world_meta

    meta = world_meta(path)
    scenario = meta.get("scenario")
    name = scenario.get("name") if isinstance(scenario, dict) else scenario
    if meta.get("origin") == "import":
        what = f"imported from a {meta.get('preset', '')} export"
    elif name:
        what = f"scenario {name}, generated with seed {meta.get('seed')}"
    else:
        what = "a folder of tables"
    return f"_World `{Path(path).name}` ({what}); this notebook's seed: {seed}._"


def is_synthetic(world: World) -> bool:
    """Whether ``world`` was generated by :mod:`workbench.synth` (it then has a ground truth)."""
    return world.meta.get("generator") == "workbench.synth"


def about_the_list(world: World) -> str:
    """Markdown saying which list this is: a synthetic world, or your own imported export.

    The facts (:func:`world_summary`) follow a paragraph that differs: a synthetic world is
    explained as the test bed with a known truth; an imported one as *your list*, with what the
    import could not know (derived or defaulted columns) and how addresses were handled.
    """
    meta = world.meta
    if is_synthetic(world):
        text = (
            "**A synthetic world.** Every method in this workbench (segmentation, Bayesian tests, "
            "attribution) is checked against a world whose answers are known. Here each figure is "
            "split by **persona** (the true cohorts), and the truth itself is shown: the "
            "personas, their lifecycle, the true effects. It holds no real personal data: "
            "subscribers, orders and events are simulated, and any address uses a reserved "
            "example domain."
        )
    elif meta.get("origin") == "import":
        files = [s["file"] for s in meta.get("import", {}).get("sources", [])]
        shown = ", ".join(f"`{f}`" for f in files[:4]) + (", ..." if len(files) > 4 else "")
        text = (
            f"**Your list**, imported from a {meta.get('preset', '')} export ({shown}). Real data "
            "has no ground truth: the figures describe the whole list, and each section that "
            "needs the truth, or a table the export lacks, says so in one sentence instead. "
            "Addresses were replaced by salted ids on import; none is in this world."
        )
        notes = meta.get("import", {}).get("notes", [])
        if notes:
            text += "\n\nWhat the import could not know, and assumed:\n" + "\n".join(
                f"- {n}" for n in notes
            )
    else:
        text = (
            "**A list given as a folder of tables.** Without a ground truth, the figures describe "
            "the whole list, and each section that needs the truth, or a table the data lacks, "
            "says so in one sentence instead."
        )
    return text + "\n\n" + world_summary(world)


def world_summary(world: World) -> str:
    """A few lines of Markdown saying what world this is: scenario, seed, period and table sizes."""
    meta = world.meta
    scenario = meta.get("scenario")
    name = scenario.get("name") if isinstance(scenario, dict) else scenario
    lines = [f"**World** `{world.path.name}`"]
    if name is not None:
        lines[0] += f": scenario **{name}**, seed {meta.get('seed')}"
    if meta.get("start") and meta.get("days"):
        lines.append(f"{meta['days']} days from {meta['start']}")
    sizes = ", ".join(f"{len(df):,} {name}" for name, df in world.tables.items())
    lines.append(f"Tables: {sizes}.")
    return "  \n".join(lines)


# ------------------------------------------------------------------ titles that state findings


def _name(x: object) -> str:
    return str(x).replace("_", " ")


def title_weekly(weekly: pd.DataFrame) -> str:
    """Title of :func:`weekly_activity`'s chart: how the main series moved (first four weeks
    against the last four)."""
    for col in ("revenue", "orders", "human_opens", "delivered", "signups", "first_seen"):
        if col in weekly and len(weekly) >= 8 and weekly[col].head(4).mean() > 0:
            change = weekly[col].tail(4).mean() / weekly[col].head(4).mean() - 1
            verb = "rose" if change >= 0 else "fell"
            return (
                f"Week by week: {_name(col)} {verb} {abs(change):.0%} from the first four weeks"
                " to the last four"
            )
    return "The list, week by week"


def title_shares(sizes: pd.DataFrame, what: str, named: bool = True) -> str:
    """Title of a share chart (``group, subscribers``): the largest and the smallest group's
    share of the list (``named``: with the groups' names)."""
    s = sizes.set_index("group")["subscribers"]
    if len(s) < 2:
        return f"{what}: one group"
    share = s / s.sum()
    top, low = share.idxmax(), share.idxmin()
    if not named:
        return f"{what}: from {share[top]:.0%} to {share[low]:.0%} of the list"
    return f"{what}: from {share[top]:.0%} ({_name(top)}) to {share[low]:.0%} ({_name(low)})"


def title_peak_hours(hours: pd.DataFrame) -> str:
    """Title of the opens-by-hour heatmap (rows: hours, columns: groups): the earliest and the
    latest peak."""
    peaks = hours.idxmax()
    if len(peaks) < 2:
        return f"Human opens peak at {int(peaks.iloc[0]):02d}:00 local time"
    early, late = peaks.idxmin(), peaks.idxmax()
    return (
        f"Human opens peak from {int(peaks[early]):02d}:00 ({_name(early)}) "
        f"to {int(peaks[late]):02d}:00 ({_name(late)}) local time"
    )


def title_medians(values: pd.DataFrame, column: str, what: str) -> str:
    """Title of a distribution chart by ``group``: the range of the groups' medians."""
    med = values.groupby("group")[column].median()
    if len(med) < 2:
        return f"{what}: median {med.iloc[0]:,.0f}"
    return (
        f"{what}: medians from {med.min():,.0f} ({_name(med.idxmin())}) "
        f"to {med.max():,.0f} ({_name(med.idxmax())})"
    )


def title_lifecycle(stages: pd.DataFrame) -> str:
    """Title of :func:`lifecycle_by_week`'s chart: how the active share moved."""
    share = stages.div(stages.sum(axis=1), axis=0)
    if "active" not in share or len(share) < 2:
        return "Lifecycle stages, week by week"
    a, b = share["active"].iloc[0], share["active"].iloc[-1]
    return f"Active subscribers: {a:.0%} of the list in the first week, {b:.0%} in the last"


def title_consent(rates: pd.DataFrame) -> str:
    """Title of the consent heatmap (rows: groups): the range of SMS consent."""
    if "sms" not in rates or len(rates) < 2:
        return "Consent per channel"
    sms = rates["sms"]
    return (
        f"SMS consent from {sms.min():.0%} ({_name(sms.idxmin())}) "
        f"to {sms.max():.0%} ({_name(sms.idxmax())})"
    )
