"""A playbook per segment: send window, cadence, content angle, channel mix, lifecycle action."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench import db
from workbench.features import resolve_as_of
from workbench.schema import World
from workbench.segment.rules import lifecycle_stage

#: Lifecycle stage -> the action a marketer takes.
LIFECYCLE_ACTIONS: dict[str, str] = {
    "new": "onboard: welcome series and a first-order incentive",
    "active buyer": "grow: cross-sell and loyalty perks",
    "engaged": "convert: product picks matched to their interests",
    "lapsing": "win back: a reason to return before they go quiet",
    "dormant": "re-permission or sunset to protect deliverability",
    "unsubscribed": "stop email; reach only through consented channels",
}


def cadence_curve(
    world: str | Path | World,
    segments: pd.Series,
    as_of: str | pd.Timestamp | None = None,
    max_per_week: int = 8,
    window_days: float = 7.0,
) -> pd.DataFrame:
    """Open and unsubscribe rates per segment against the email volume each email arrived in.

    Each delivered email counts once, with the number of emails its reader received in the
    trailing ``window_days`` (that email included): the definition of
    :func:`workbench.explore.delivered_emails`, computed here in DuckDB so that worlds of any
    size fit. Counting per email with the volume *before* it avoids the trap of calendar-week
    tallies: the week a subscriber unsubscribes is cut short, so unsubscribes would pile up in
    low-volume weeks. (Emails delivered at the very same instant count each other; the pandas
    version counts only the earlier ones.)

    Parameters
    ----------
    world : path or World
    segments : Series
        Segment per ``subscriber_id``.
    as_of : str or Timestamp, optional
        Only emails delivered before it are used (default: the end of the history).
    max_per_week : int, default 8
        Emails with a busier window behind them are pooled into this last bin.
    window_days : float, default 7
        Length of the trailing window.

    Returns
    -------
    DataFrame
        ``segment, emails_per_week, emails, open_rate, unsubscribe_rate``: per segment and
        recent volume, the delivered emails, the share opened by a person (machine opens
        excluded) and the share followed by an unsubscribe or a complaint.
    """
    with db.session(world, segments) as con:
        a = db.epoch_us(resolve_as_of(con, as_of))
        window_us = int(round(window_days * 86_400_000_000)) - 1  # (t - window, t]
        df = con.execute(_cadence_sql(a, window_us, int(max_per_week))).df()
    df["emails_per_week"] = df["emails_per_week"].astype("int64")
    return df


def _cadence_sql(a: int, window_us: int, max_per_week: int) -> str:
    """:func:`cadence_curve`'s query: each delivered email with the volume of its window."""
    return f"""
        WITH ev AS (
            SELECT e.subscriber_id, e.campaign_id, e.event_type, e.is_machine_open,
                   epoch_us(e.ts) AS t_us
            FROM email_events e SEMI JOIN seg USING (subscriber_id)
            WHERE epoch_us(e.ts) < {a}
        ),
        sent AS (
            SELECT subscriber_id, campaign_id, min(t_us) AS t_us
            FROM ev WHERE event_type = 'delivered' GROUP BY ALL
        ),
        volume AS (
            SELECT subscriber_id, campaign_id,
                   count(*) OVER (PARTITION BY subscriber_id ORDER BY t_us
                                  RANGE BETWEEN {window_us} PRECEDING AND CURRENT ROW) AS n
            FROM sent
        ),
        reaction AS (
            SELECT subscriber_id, campaign_id,
                   bool_or(event_type = 'opened' AND NOT is_machine_open) AS opened,
                   bool_or(event_type IN ('unsubscribed', 'complained')) AS left_list
            FROM ev WHERE event_type IN ('opened', 'unsubscribed', 'complained')
            GROUP BY ALL
        )
        SELECT seg.segment, least(v.n, {max_per_week}) AS emails_per_week,
               count(*) AS emails,
               avg(coalesce(r.opened, false)::DOUBLE) AS open_rate,
               avg(coalesce(r.left_list, false)::DOUBLE) AS unsubscribe_rate
        FROM volume v JOIN seg USING (subscriber_id)
        LEFT JOIN reaction r USING (subscriber_id, campaign_id)
        GROUP BY ALL ORDER BY ALL
        """


def cadence_test_curve(
    world: str | Path | World,
    segments: pd.Series,
    as_of: str | pd.Timestamp | None = None,
    experiment_id: int | None = None,
    burn_in_days: float = 7.0,
) -> pd.DataFrame:
    """Open and unsubscribe rates per segment and arm of a randomised cadence test.

    A ``cadence_test`` experiment assigns subscribers at random to arms that send different
    numbers of emails a week, so that, unlike in :func:`cadence_curve`, volume does not follow
    engagement (the most engaged get the most flow emails; the fading get few). Within each
    segment, arms are compared over the test window, ``start_ts`` plus
    ``conversion_window_days`` (cut at ``as_of``). Each arm's volume is *measured*: emails
    delivered in the window per subscriber of the arm and segment who received any, per week,
    whatever the arm is called. ``open_rate`` is measured on the broadcasts that reached every
    arm (every arm that got any email: an arm that receives none cannot be compared on shared
    emails), the usual sends all arms share, so that the arms compare the same emails and only
    the volume around them differs: the extra emails of a busy arm carry other content, and
    their own open rate would mix content with fatigue; triggered and lifecycle emails (cart
    reminders, win-backs) go to whoever triggers them, which the volume itself can change. Only
    broadcasts sent ``burn_in_days`` or more after the start count: before that, the email a
    subscriber had in the past week still reflects the usual calendar, not the arm. An email
    counts as opened when a person opened it before ``as_of``; ``unsubscribe_rate`` counts
    unsubscribes and complaints in the whole window per delivered email.

    Parameters
    ----------
    world : path or World
        As in :func:`cadence_curve`, with ``segments`` (segment per ``subscriber_id``).
    segments : Series
    as_of : str or Timestamp, optional
        End of the data used (default: the end of the history).
    experiment_id : int, optional
        The cadence test to use; default the latest one started before ``as_of``.
    burn_in_days : float, default 7
        Days from the start before shared broadcasts count towards ``open_rate``.

    Returns
    -------
    DataFrame
        ``segment, arm, subscribers, emails_per_week, emails, shared_emails, open_rate,
        unsubscribe_rate`` (``emails_per_week`` as measured, to two decimals;
        ``shared_emails`` the shared broadcasts ``open_rate`` rests on, NaN when there are
        none); empty when the world has no such test.
    """
    tables = (*db.EVENT_TABLES, "experiments", "assignments")
    with db.session(world, segments, tables) as con:
        a = db.epoch_us(resolve_as_of(con, as_of))
        burn_in_us = int(round(float(burn_in_days) * 86_400_000_000))
        df = con.execute(_cadence_test_sql(a, experiment_id, burn_in_us)).df()
    return _typed_test_curve(df)


def _test_window_sql(a: int, experiment_id: int | None) -> str:
    """``x`` (the chosen cadence test and its window), ``asg`` and ``ev`` (their emails)."""
    chosen = "" if experiment_id is None else f"AND experiment_id = {int(experiment_id)}"
    return f"""
        x AS (
            SELECT experiment_id, epoch_us(start_ts) AS s_us,
                   least(epoch_us(start_ts) + conversion_window_days * 86400000000, {a})
                       AS e_us
            FROM experiments
            WHERE kind = 'cadence_test' AND epoch_us(start_ts) < {a} {chosen}
            ORDER BY start_ts DESC, experiment_id DESC LIMIT 1
        ),
        asg AS (
            SELECT a.subscriber_id, a.arm, x.s_us, x.e_us
            FROM assignments a JOIN x USING (experiment_id)
        ),
        ev AS (
            SELECT e.subscriber_id, e.campaign_id, e.event_type, e.is_machine_open,
                   epoch_us(e.ts) AS t_us, asg.s_us, asg.e_us
            FROM email_events e JOIN asg USING (subscriber_id)
            WHERE epoch_us(e.ts) < {a}
        )"""


def _shared_broadcasts_sql(burn_in_us: int) -> str:
    """``delivered``, ``opened`` and ``common``: the broadcasts after the burn-in that reached
    every arm that was emailed at all (the same email, more or less mail around it)."""
    return f"""
        delivered AS (
            SELECT DISTINCT subscriber_id, campaign_id FROM ev
            WHERE event_type = 'delivered' AND t_us >= s_us AND t_us < e_us
        ),
        opened AS (
            SELECT DISTINCT subscriber_id, campaign_id FROM ev
            WHERE event_type = 'opened' AND NOT is_machine_open
        ),
        common AS (
            SELECT d.campaign_id FROM delivered d JOIN asg USING (subscriber_id)
            SEMI JOIN (
                SELECT campaign_id FROM campaigns, x
                WHERE kind = 'broadcast'
                      AND epoch_us(sent_ts) >= x.s_us + {burn_in_us}
            ) b USING (campaign_id)
            GROUP BY d.campaign_id
            HAVING count(DISTINCT asg.arm) = (
                SELECT count(DISTINCT a2.arm) FROM delivered JOIN asg a2 USING (subscriber_id)
            )
        )"""


def _cadence_test_sql(a: int, experiment_id: int | None, burn_in_us: int) -> str:
    """:func:`cadence_test_curve`'s query: per segment and arm of the test."""
    return f"""
        WITH {_test_window_sql(a, experiment_id)}, {_shared_broadcasts_sql(burn_in_us)},
        per_sub AS (
            SELECT d.subscriber_id, count(*) AS emails,
                   count(*) FILTER (WHERE c.campaign_id IS NOT NULL) AS common_emails,
                   count(o.campaign_id) FILTER (WHERE c.campaign_id IS NOT NULL)
                       AS common_opens
            FROM delivered d LEFT JOIN opened o USING (subscriber_id, campaign_id)
            LEFT JOIN common c USING (campaign_id)
            GROUP BY d.subscriber_id
        ),
        left_list AS (
            SELECT subscriber_id, count(*) AS n FROM ev
            WHERE event_type IN ('unsubscribed', 'complained') AND t_us >= s_us
                  AND t_us < e_us
            GROUP BY subscriber_id
        )
        SELECT seg.segment, asg.arm, count(*) AS subscribers,
               sum(p.emails) / count(*) / (max(asg.e_us - asg.s_us) / (7 * 86400000000))
                   AS emails_per_week,
               sum(p.emails) AS emails,
               sum(p.common_emails) AS shared_emails,
               sum(p.common_opens) / nullif(sum(p.common_emails), 0) AS open_rate,
               sum(coalesce(l.n, 0)) / sum(p.emails) AS unsubscribe_rate
        FROM per_sub p JOIN asg USING (subscriber_id) JOIN seg USING (subscriber_id)
        LEFT JOIN left_list l USING (subscriber_id)
        GROUP BY ALL ORDER BY seg.segment, emails_per_week, asg.arm
        """


def _typed_test_curve(df: pd.DataFrame) -> pd.DataFrame:
    """The cadence-test curve in its documented dtypes, volumes to two decimals."""
    df["emails_per_week"] = df["emails_per_week"].astype(float).round(2)
    counts = ["subscribers", "emails", "shared_emails"]
    df[counts] = df[counts].astype("int64")
    df[["open_rate", "unsubscribe_rate"]] = df[["open_rate", "unsubscribe_rate"]].astype(float)
    df["segment"] = df["segment"].astype(str)
    df["arm"] = df["arm"].astype(str)
    return df.reset_index(drop=True)


def cadence_evidence(
    world: str | Path | World,
    segments: pd.Series,
    as_of: str | pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, str]:
    """The best cadence curve a world offers, and where it comes from.

    The randomised cadence test (:func:`cadence_test_curve`) when the world has one before
    ``as_of``, else the observed volumes (:func:`cadence_curve`), which confound volume with
    engagement.

    Returns
    -------
    curve : DataFrame
    source : str
        ``"cadence test"`` or ``"observed volumes"``.
    """
    curve = cadence_test_curve(world, segments, as_of=as_of)
    if not curve.empty and curve["open_rate"].notna().any():
        return curve, "cadence test"
    return cadence_curve(world, segments, as_of=as_of), "observed volumes"


def supported(curve: pd.DataFrame, min_emails: int = 100) -> pd.DataFrame:
    """Rows of a cadence curve whose open rate rests on at least ``min_emails`` emails.

    The emails behind the rate are ``shared_emails`` for :func:`cadence_test_curve`, ``emails``
    for :func:`cadence_curve`; rows without a rate are dropped too.
    """
    support = curve["shared_emails"] if "shared_emails" in curve else curve["emails"]
    return curve.loc[(support >= min_emails) & curve["open_rate"].notna()]


def fatigue_cadence(curve: pd.DataFrame, drop: float = 0.2, min_emails: int = 100) -> pd.Series:
    """Emails per week each segment takes before fatigue sets in.

    The largest weekly volume (with at least ``min_emails`` delivered emails behind its rate:
    ``shared_emails`` when the curve has them, else ``emails``) whose open rate per email is
    still within ``drop`` of the segment's best rate at lower volumes, rounded to whole
    emails. Segments without any supported volume are left out (the playbook then falls back
    to their observed volume).

    Parameters
    ----------
    curve : DataFrame
        :func:`cadence_test_curve` output (randomised volumes: preferred when the world has a
        cadence test) or :func:`cadence_curve` output (observed volumes).
    drop : float, default 0.2
        Relative fall of the open rate that counts as fatigue.
    min_emails : int, default 100
        Volumes resting on fewer delivered emails are ignored.

    Returns
    -------
    Series
        ``max_emails_per_week`` per segment (as text).
    """
    out = {}
    for s, part in supported(curve, min_emails).groupby("segment", sort=True):
        p = part.sort_values("emails_per_week")
        best, cadence = 0.0, 1
        for rate, volume in zip(p["open_rate"], p["emails_per_week"], strict=True):
            best = max(best, float(rate))
            if rate >= (1 - drop) * best:
                cadence = max(1, int(round(float(volume))))
            else:
                break
        out[s] = cadence
    return pd.Series(out, name="max_emails_per_week", dtype="int64")


def playbook(
    features: pd.DataFrame,
    segments: pd.Series,
    names: dict[object, str] | None = None,
    cadence: pd.Series | None = None,
    n_topics: int = 2,
) -> pd.DataFrame:
    """The playbook table: one row per segment.

    Parameters
    ----------
    features : DataFrame
        Feature table (:func:`workbench.features.compute_features`).
    segments : Series
        Segment per subscriber.
    names : dict, optional
        Segment -> readable name.
    cadence : Series, optional
        Segment (as text) -> sends per week before fatigue (:func:`fatigue_cadence`); without
        it the segment's median observed weekly volume is used.
    n_topics : int
        Content categories recommended.

    Returns
    -------
    DataFrame
        ``segment, name, subscribers, send_hour, max_emails_per_week, content, channels,
        lifecycle_stage, action``.
    """
    seg = segments.reindex(features.index)
    key = seg.to_numpy()
    rows = []
    shares = [c for c in features.columns if c.startswith("click_share_")]
    stage = lifecycle_stage(features)
    base_sms = features["sms_response_rate"].mean()
    base_push = features["push_response_rate"].mean()
    for s, part in features.groupby(key, sort=True):  # one group per segment
        hours = part.loc[part["preferred_local_hour"] >= 0, "preferred_local_hour"]
        hour = int(hours.value_counts().sort_index().idxmax()) if len(hours) else 10
        lift = part[shares].mean() / features[shares].mean().replace(0, np.nan)
        topics = [
            c.removeprefix("click_share_").replace("_", " ")
            for c in lift.dropna().sort_values(ascending=False, kind="stable").index[:n_topics]
        ]
        channels = ["email"] if part["is_unsubscribed"].mean() < 0.5 else []
        if part["sms_consent"].mean() >= 0.4 and part["sms_response_rate"].mean() >= base_sms:
            channels.append("sms")
        if part["push_consent"].mean() >= 0.4 and part["push_response_rate"].mean() >= base_push:
            channels.append("push")
        if not channels:
            channels = ["email"]
        st = stage.loc[part.index].value_counts().idxmax()
        if cadence is not None and str(s) in cadence.index:
            per_week = int(cadence.loc[str(s)])
        else:
            per_week = max(1, int(np.rint(part["emails_per_week"].median())))
        rows.append(
            {
                "segment": s,
                "name": (names or {}).get(s, str(s)),
                "subscribers": len(part),
                "send_hour": hour,
                "max_emails_per_week": per_week,
                "content": ", ".join(topics),
                "channels": " + ".join(channels),
                "lifecycle_stage": str(st),
                "action": LIFECYCLE_ACTIONS[str(st)],
            }
        )
    return pd.DataFrame(rows)


def sentences(book: pd.DataFrame) -> list[str]:
    """The playbook as plain sentences, one per segment."""
    total = book["subscribers"].sum()
    out = []
    for r in book.itertuples(index=False):
        out.append(
            f"Segment {r.segment} \u2014 {r.name} ({r.subscribers:,} subscribers, "
            f"{r.subscribers / total:.0%}): send around {r.send_hour:02d}:00 local time, "
            f"at most {r.max_emails_per_week} email{'s' if r.max_emails_per_week != 1 else ''} "
            f"a week, lead with {r.content or 'the usual mix'}, use {r.channels}; "
            f"mostly {r.lifecycle_stage}, so {r.action}."
        )
    return out
