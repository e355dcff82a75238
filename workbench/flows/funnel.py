"""Flows and their funnels: which campaigns are flow steps, and what each step's recipients did.

A *flow* is an automated sequence of emails a subscriber enters when something happens (they sign
up: the welcome flow; they leave a cart: cart abandonment; they stop opening: reactivation); a
*step* is one message of it. :func:`flow_steps` recognises them among a world's email campaigns,
in this order:

1. the campaign's ``flow`` column (synthetic worlds; any export that carries it);
2. a name ``"flow <flow>: <step>"`` (how :mod:`workbench.importers.presets` names Klaviyo's flow
   messages, which it imports as campaigns of kind ``broadcast``);
3. a name of :data:`workbench.synth.calendar.FLOW_MESSAGES` (``welcome_1``... of a synthetic
   world written before campaigns had a ``flow`` column), on a non-broadcast campaign;
4. any other ``triggered`` or ``lifecycle`` campaign is a flow of one step named after it.

Other campaigns are broadcasts, not flows. Steps are ordered by when they reach a subscriber: the
median, over the flow's recipients, of the time from their first message of the flow to their
first message of the step (the first step is the one nobody gets later than the others), ties by
the step's first send. The first send alone would misorder a synthetic welcome flow, whose
later steps reach subscribers who joined just before the period began on its first day.

**The unit is a message**: one send of a step to one subscriber (a subscriber can enter the cart
flow many times). A message is its ``sent`` event; a campaign of an export without ``sent``
events (Klaviyo's: "Received Email" is a delivery) has a message per ``delivered`` or ``bounced``
event. Every other event of that subscriber and campaign belongs to the latest message sent at or
before it (the first message when the ESP logged it a few seconds before the send).
:func:`flow_funnel` counts, per flow, step (and segment):

``entered``
    messages sent (``subscribers``: distinct recipients);
``delivered``, ``bounced``
    messages with a delivery, a bounce;
``opened``
    messages opened by a person: a ``machine`` open (Apple Mail Privacy Protection and the like,
    ``is_machine_open``) is not an open; ``machine_opened_only`` counts messages whose only opens
    were machine opens;
``clicked``
    messages clicked. A click without a human open happens (images blocked, so the open pixel
    never loads; or the only open was a machine's), so ``clicked <= opened`` does **not** hold
    per message; ``clicked_unopened`` counts those clicks;
``converted``, ``revenue``
    delivered messages followed by an order of the recipient within ``window_days`` of the
    delivery, and those orders' revenue (an order within the windows of two steps counts for
    both: the funnel is descriptive, the flow's causal effect is :mod:`~.holdout`'s);
``unsubscribed``, ``complained``
    messages after which the recipient unsubscribed, marked the email as spam.

Rates are over delivered messages (``delivery_rate`` over entered). :func:`time_to_conversion`
follows each *entry* (a send of the flow's first step) to the recipient's first order after it,
censored at the end of the data (Kaplan–Meier, :func:`workbench.clv.repeat.survival_summary`).

Everything runs in DuckDB on the world's tables (:func:`workbench.db.session`), so a 50,000-
subscriber world with millions of email events takes seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from workbench.errors import DataError, WorkbenchError
from workbench.flows._data import (
    Segments,
    check_world,
    columns,
    data_end,
    has_table,
    seg_join,
    segment_series,
    session,
)

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FUNNEL_COLUMNS",
    "HORIZONS",
    "STEP_COLUMNS",
    "TTC_COLUMNS",
    "flow_funnel",
    "flow_steps",
    "time_to_conversion",
]

#: A campaign name naming its flow: ``"flow <flow>: <step>"`` (Klaviyo's flow messages).
FLOW_PREFIX = re.compile(r"^\s*flow\s+(?P<flow>[^:]+?)\s*:\s*(?P<step>.*?)\s*$", re.IGNORECASE)
#: Campaign kinds that are flow messages when nothing else says which flow.
FLOW_KINDS = ("triggered", "lifecycle")
#: Days after entering a flow at which :func:`time_to_conversion` reads the converted share.
HORIZONS: tuple[int, ...] = (1, 3, 7, 14, 30)
#: Columns of :func:`flow_steps`.
STEP_COLUMNS = (
    "flow",
    "step",
    "step_order",
    "campaign_ids",
    "kind",
    "recognised_by",
    "first_send",
    "days_after_entry",
    "messages",
    "recipients",
)
_COUNTS = (
    "entered",
    "subscribers",
    "delivered",
    "bounced",
    "opened",
    "machine_opened_only",
    "clicked",
    "clicked_unopened",
    "converted",
    "revenue",
    "unsubscribed",
    "complained",
)
_RATES = (
    "delivery_rate",
    "open_rate",
    "click_rate",
    "click_to_open_rate",
    "conversion_rate",
    "revenue_per_delivered",
    "unsubscribe_rate",
    "complaint_rate",
)
#: Columns of :func:`flow_funnel` (``segment`` only with segments).
FUNNEL_COLUMNS = ("flow", "step", "step_order", "segment", *_COUNTS, *_RATES, "window_days")
#: Columns of :func:`time_to_conversion` (``segment`` only with segments; one
#: ``converted_{h}d`` with ``_low`` and ``_high`` per horizon).
TTC_COLUMNS = (
    "flow",
    "segment",
    "first_step",
    "entrants",
    "subscribers",
    "conversions",
    "censored",
    "follow_up_days",
    "median_days",
    "median_low",
    "median_high",
)


# ------------------------------------------------------------------------------ recognition


def _recognise(campaigns: pd.DataFrame) -> pd.DataFrame:
    """``campaign_id, flow, step, kind, recognised_by`` of the email campaigns that are flows."""
    from workbench.synth.calendar import FLOW_MESSAGES

    known = {step: flow for flow, step, _, _ in FLOW_MESSAGES}
    rows = []
    has_flow = "flow" in campaigns.columns
    for c in campaigns.itertuples(index=False):
        if str(c.channel) != "email":
            continue
        name = "" if pd.isna(c.name) else str(c.name)
        flow_col = getattr(c, "flow", None) if has_flow else None
        m = FLOW_PREFIX.match(name)
        if flow_col is not None and not pd.isna(flow_col) and str(flow_col).strip():
            flow, step, how = str(flow_col), name, "flow column"
        elif m:
            flow, step, how = m["flow"], m["step"] or name, "name 'flow X: ...'"
        elif str(c.kind) != "broadcast" and name in known:
            flow, step, how = known[name], name, "synthetic flow message"
        elif str(c.kind) in FLOW_KINDS:
            flow, step, how = name, name, f"{c.kind} campaign"
        else:
            continue
        rows.append((int(c.campaign_id), flow, step, str(c.kind), how))
    return pd.DataFrame(rows, columns=["campaign_id", "flow", "step", "kind", "recognised_by"])


def _build(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Create the temporary tables ``steps``, ``ev``, ``msg`` and ``flags``; the steps table.

    ``msg(msg, subscriber_id, campaign_id, send_ts)`` holds one row per message; ``flags``
    one row per message with its delivery time and what its recipient did.
    """
    cols = columns(con, "campaigns")
    sel = "campaign_id, name, kind, channel" + (", flow" if "flow" in cols else "")
    raw = _recognise(con.execute(f"SELECT {sel} FROM campaigns").df())
    con.register("_flow_campaigns", raw[["campaign_id", "flow", "step"]])
    con.execute(
        """
        CREATE TEMP TABLE ev AS
        SELECT e.subscriber_id, e.campaign_id, e.event_type, e.ts, e.is_machine_open
        FROM email_events e
        WHERE e.campaign_id IN (SELECT campaign_id FROM _flow_campaigns);

        CREATE TEMP TABLE msg AS
        WITH hs AS (
            SELECT campaign_id, bool_or(event_type = 'sent') AS has_sent FROM ev GROUP BY ALL
        ), sends AS (
            SELECT DISTINCT ev.subscriber_id, ev.campaign_id, ev.ts AS send_ts
            FROM ev JOIN hs USING (campaign_id)
            WHERE CASE WHEN hs.has_sent THEN ev.event_type = 'sent'
                       ELSE ev.event_type IN ('delivered', 'bounced') END
        )
        SELECT row_number() OVER (ORDER BY subscriber_id, campaign_id, send_ts) AS msg, *
        FROM sends;

        CREATE TEMP TABLE flags AS
        WITH first_msg AS (
            SELECT subscriber_id, campaign_id, min(msg) AS msg0 FROM msg GROUP BY ALL
        ), att AS (
            SELECT coalesce(m.msg, f.msg0) AS msg, ev.event_type, ev.ts, ev.is_machine_open
            FROM ev
            ASOF LEFT JOIN msg m
              ON ev.subscriber_id = m.subscriber_id AND ev.campaign_id = m.campaign_id
             AND ev.ts >= m.send_ts
            LEFT JOIN first_msg f
              ON ev.subscriber_id = f.subscriber_id AND ev.campaign_id = f.campaign_id
        )
        SELECT msg,
               min(ts) FILTER (WHERE event_type = 'delivered') AS delivered_ts,
               bool_or(event_type = 'bounced') AS bounced,
               bool_or(event_type = 'opened' AND NOT is_machine_open) AS opened,
               bool_or(event_type = 'opened' AND is_machine_open) AS machine_opened,
               bool_or(event_type = 'clicked') AS clicked,
               bool_or(event_type = 'unsubscribed') AS unsubscribed,
               bool_or(event_type = 'complained') AS complained
        FROM att WHERE msg IS NOT NULL GROUP BY msg;
        """
    )
    order = con.execute(
        """
        WITH fs AS (
            SELECT m.subscriber_id, c.flow, c.step, min(m.send_ts) AS t, count(*) AS n
            FROM msg m JOIN _flow_campaigns c USING (campaign_id) GROUP BY ALL
        ), f0 AS (SELECT subscriber_id, flow, min(t) AS t0 FROM fs GROUP BY ALL)
        SELECT flow, step,
               median(epoch(t) - epoch(t0)) / 86400 AS days_after_entry,
               min(t) AS first_send, sum(n) AS messages, count(*) AS recipients
        FROM fs JOIN f0 USING (subscriber_id, flow) GROUP BY ALL
        """
    ).df()
    steps = (
        raw.groupby(["flow", "step"], sort=False)
        .agg(
            campaign_ids=("campaign_id", lambda s: tuple(sorted(int(x) for x in s))),
            kind=("kind", lambda s: ", ".join(sorted(set(s)))),
            recognised_by=("recognised_by", "first"),
        )
        .reset_index()
        .merge(order, on=["flow", "step"], how="left")
    )
    steps["messages"] = steps["messages"].fillna(0).astype("int64")
    steps["recipients"] = steps["recipients"].fillna(0).astype("int64")
    steps["first_send"] = pd.to_datetime(steps["first_send"], utc=True)
    steps = steps.sort_values(
        ["flow", "days_after_entry", "first_send", "step"], kind="stable", na_position="last"
    )
    steps["step_order"] = steps.groupby("flow", sort=False).cumcount() + 1
    steps = steps.reset_index(drop=True)[list(STEP_COLUMNS)]
    con.register("_flow_steps", steps[["flow", "step", "step_order"]])
    con.execute(
        """
        CREATE TEMP TABLE steps AS
        SELECT c.campaign_id, c.flow, c.step, s.step_order
        FROM _flow_campaigns c JOIN _flow_steps s USING (flow, step)
        """
    )
    return steps


def flow_steps(world: Any) -> pd.DataFrame:
    """The flows of a world and their steps, in the order they reach a subscriber.

    Parameters
    ----------
    world : World or path
        A loaded world (:func:`workbench.schema.load_world`) or its folder (synthetic or
        imported).

    Returns
    -------
    DataFrame
        :data:`STEP_COLUMNS`, one row per flow and step, sorted by flow and ``step_order``
        (1 = the entry step): ``campaign_ids`` (tuple of the step's campaigns), ``kind`` (their
        campaign kinds), ``recognised_by`` (which rule of the module's list made it a flow
        step), ``first_send``, ``days_after_entry`` (median days from a recipient's first
        message of the flow to this step), ``messages`` and ``recipients``. Empty when no
        campaign is a flow message.

    Raises
    ------
    WorkbenchError
        When ``world`` is not a world.
    DataError
        When a table of a world folder breaks the contract.
    """
    w = check_world(world)
    with session(w, None, ["campaigns", "email_events"]) as con:
        return _build(con)


def _check_window(window_days: float, name: str = "window_days") -> float:
    try:
        w = float(window_days)
    except (TypeError, ValueError):
        raise WorkbenchError(f"{name} must be a number of days, got {window_days!r}") from None
    if not np.isfinite(w) or w <= 0:
        raise WorkbenchError(f"{name} must be a positive number of days, got {window_days!r}")
    return w


def flow_funnel(world: Any, segments: Segments = None, window_days: float = 5) -> pd.DataFrame:
    """The funnel of every flow step: entered, delivered, opened, clicked, converted, unsubscribed.

    Parameters
    ----------
    world : World or path
        A loaded world or its folder, with ``campaigns`` and ``email_events`` (``orders`` for
        the conversions).
    segments : str, mapping or Series, optional
        Also split by segment: a ``subscribers`` column or ``subscriber_id -> segment``
        (subscribers it does not name are ``"(none)"``).
    window_days : float, default 5
        An order within this many days after a message's delivery converts it.

    Returns
    -------
    DataFrame
        :data:`FUNNEL_COLUMNS` (``segment`` only with ``segments``), one row per flow and step
        (and segment), counted in messages as the module explains; ``revenue`` is the revenue of
        the orders that converted them. Rates are over delivered messages (``delivery_rate``
        over entered, ``click_to_open_rate`` over opened) and NaN over zero. The counts of the
        segments add up to the counts without segments. ``attrs["skipped"]`` lists what the data
        did not allow (no ``orders`` table: ``converted`` and ``revenue`` are NaN).

    Raises
    ------
    WorkbenchError
        When ``world`` is not a world or ``window_days`` is not a positive number.
    DataError
        When a table breaks the contract, or ``segments`` names no ``subscribers`` column.
    """
    w = check_world(world)
    window = _check_window(window_days)
    seg = segment_series(w, segments)
    skipped: list[str] = []
    with_orders = has_table(w, "orders")
    if not with_orders:
        skipped.append("converted, revenue: the world has no orders table")
    with session(w, seg, ["campaigns", "email_events", "orders"]) as con:
        _build(con)
        seg_sel, seg_from = seg_join("m", seg is not None)
        window_us = int(round(window * 86400e6))
        df = con.execute(
            f"""
            WITH conv AS (
                SELECT f.msg, sum(o.revenue) AS revenue
                FROM flags f JOIN msg m USING (msg)
                JOIN orders o
                  ON o.subscriber_id = m.subscriber_id AND o.ts >= f.delivered_ts
                 AND o.ts < f.delivered_ts + to_microseconds({window_us}::BIGINT)
                WHERE f.delivered_ts IS NOT NULL
                GROUP BY f.msg
            )
            SELECT s.flow, s.step, s.step_order, {seg_sel},
                   count(*) AS entered,
                   count(DISTINCT m.subscriber_id) AS subscribers,
                   count(f.delivered_ts) AS delivered,
                   count_if(f.bounced) AS bounced,
                   count_if(f.opened) AS opened,
                   count_if(f.machine_opened AND NOT f.opened) AS machine_opened_only,
                   count_if(f.clicked) AS clicked,
                   count_if(f.clicked AND NOT f.opened) AS clicked_unopened,
                   count(c.msg) AS converted,
                   coalesce(sum(c.revenue), 0) AS revenue,
                   count_if(f.unsubscribed) AS unsubscribed,
                   count_if(f.complained) AS complained
            FROM msg m
            JOIN steps s USING (campaign_id)
            LEFT JOIN flags f USING (msg)
            LEFT JOIN conv c USING (msg)
            {seg_from}
            GROUP BY ALL
            ORDER BY s.flow, s.step_order, segment
            """
        ).df()
    for c in _COUNTS:
        if c != "revenue":
            df[c] = df[c].fillna(0).astype("int64")
    df["revenue"] = df["revenue"].astype(float)
    if not with_orders:
        df["converted"] = np.nan
        df["revenue"] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        d = df["delivered"].to_numpy(float)
        df["delivery_rate"] = df["delivered"] / df["entered"].where(df["entered"] > 0)
        for rate, count in (
            ("open_rate", "opened"),
            ("click_rate", "clicked"),
            ("conversion_rate", "converted"),
            ("revenue_per_delivered", "revenue"),
            ("unsubscribe_rate", "unsubscribed"),
            ("complaint_rate", "complained"),
        ):
            df[rate] = np.where(d > 0, df[count].to_numpy(float) / np.where(d > 0, d, 1), np.nan)
        o = df["opened"].to_numpy(float)
        df["click_to_open_rate"] = np.where(
            o > 0, (df["clicked"] - df["clicked_unopened"]).to_numpy(float) / np.where(o > 0, o, 1),
            np.nan,
        )  # fmt: skip
    df["window_days"] = window
    df["step_order"] = df["step_order"].astype("int64")
    keep = [c for c in FUNNEL_COLUMNS if c != "segment" or seg is not None]
    out = df[keep].reset_index(drop=True)
    out.attrs["skipped"] = skipped
    return out


def time_to_conversion(
    world: Any,
    segments: Segments = None,
    horizon_days: float = 30,
    *,
    horizons: Sequence[float] = HORIZONS,
    confidence: float = 0.9,
) -> pd.DataFrame:
    """How soon flow entrants buy: the share converted by 1, 3, 7, 14, 30 days, and the median.

    An *entry* is a send of the flow's first step (a subscriber entering the cart flow three
    times is three entries). Its wait runs to the recipient's first order at or after the send;
    an entry without an order is censored at the end of the data or at ``horizon_days``,
    whichever comes first, so entries near the end count for the days they were observed and
    never as "did not buy" (Kaplan–Meier, :func:`workbench.clv.repeat.survival_summary`, with
    Greenwood's log-log interval). Entries overlap when a subscriber re-enters before buying:
    each entry waits for the same first order. The held-out entrants of a flow holdout get no
    email of the flow, so they are no entries here (:func:`~workbench.flows.flow_incrementality`
    compares them with the exposed ones).

    Parameters
    ----------
    world : World or path
        A loaded world or its folder, with ``campaigns``, ``email_events`` and ``orders``.
    segments : str, mapping or Series, optional
        Also split by segment (as :func:`flow_funnel`).
    horizon_days : float, default 30
        Longest wait followed.
    horizons : sequence of float, default :data:`HORIZONS`
        Days at which the converted share is read (those beyond ``horizon_days`` are dropped).
    confidence : float, default 0.9
        Level of the intervals.

    Returns
    -------
    DataFrame
        :data:`TTC_COLUMNS` (``segment`` only with ``segments``), one row per flow (and
        segment): ``first_step``, ``entrants`` (entries), ``subscribers``, ``conversions``
        (entries with an order within the horizon), ``censored``, ``follow_up_days``,
        ``median_days`` (NaN when fewer than half converted within what was followed: not
        reached) with its interval, then ``converted_{h}d``, ``converted_{h}d_low`` and
        ``converted_{h}d_high`` per horizon (NaN beyond the longest wait observed).
        ``attrs["skipped"]`` says why the table is empty when the world has no orders.

    Raises
    ------
    WorkbenchError
        When ``world`` is not a world, or ``horizon_days`` is not a positive number.
    ValueError
        When a horizon is not positive or ``confidence`` is not in (0, 1).
    """
    from workbench.clv.repeat import survival_summary

    w = check_world(world)
    horizon = _check_window(horizon_days, "horizon_days")
    hs = [float(h) for h in horizons]
    if any(not np.isfinite(h) or h <= 0 for h in hs):
        raise ValueError(f"horizons must be positive numbers of days, got {list(horizons)}")
    hs = [h for h in hs if h <= horizon]
    seg = segment_series(w, segments)
    hcols = [f"converted_{h:g}d{s}" for h in hs for s in ("", "_low", "_high")]
    keep = [c for c in (*TTC_COLUMNS, *hcols) if c != "segment" or seg is not None]
    if not has_table(w, "orders"):
        out = pd.DataFrame(columns=keep)
        out.attrs["skipped"] = ["time to conversion: the world has no orders table"]
        return out
    with session(w, seg, ["campaigns", "email_events", "orders"]) as con:
        _build(con)
        end = data_end(w, con)
        seg_sel, seg_from = seg_join("m", seg is not None)
        entries = con.execute(
            f"""
            WITH first_orders AS (SELECT subscriber_id, ts FROM orders)
            SELECT s.flow, s.step AS first_step, m.subscriber_id, m.send_ts, o.ts AS order_ts,
                   {seg_sel}
            FROM msg m JOIN steps s USING (campaign_id)
            ASOF LEFT JOIN first_orders o
              ON o.subscriber_id = m.subscriber_id AND o.ts >= m.send_ts
            {seg_from}
            WHERE s.step_order = 1
            """
        ).df()
    rows = []
    if len(entries):
        send = pd.to_datetime(entries["send_ts"], utc=True)
        wait = (pd.to_datetime(entries["order_ts"], utc=True) - send).dt.total_seconds() / 86400
        seen = np.minimum((end - send).dt.total_seconds().to_numpy(float) / 86400, horizon)
        seen = np.clip(seen, 0, None)
        w_days = wait.to_numpy(float)
        observed = np.isfinite(w_days) & (w_days <= seen)
        entries["duration_days"] = np.where(observed, w_days, seen)
        entries["observed"] = observed
        by = ["flow", "segment"] if seg is not None else ["flow"]
        for key, g in entries.groupby(by, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            summ = survival_summary(g, by=None, horizons=hs, confidence=confidence).iloc[0]
            row: dict[str, Any] = dict(zip(by, key, strict=True))
            row.update(
                first_step=str(g["first_step"].iloc[0]),
                entrants=len(g),
                subscribers=int(g["subscriber_id"].nunique()),
                conversions=int(summ["events"]),
                censored=int(summ["censored"]),
                follow_up_days=float(summ["follow_up_days"]),
                median_days=summ["median_days"],
                median_low=summ["median_low"],
                median_high=summ["median_high"],
            )
            for h in hs:
                name = f"p_event_{h:g}d"
                for s in ("", "_low", "_high"):
                    row[f"converted_{h:g}d{s}"] = summ[name + s]
            rows.append(row)
    out = pd.DataFrame(rows, columns=keep)
    out.attrs["skipped"] = []
    out.attrs["confidence"] = confidence
    return out


def _require_columns(table: pd.DataFrame, needed: Sequence[str], source: str) -> None:
    """DataError naming the first missing column of a results table handed back by a user."""
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataError(source, missing[0], f"missing column (needs {', '.join(needed)})")
