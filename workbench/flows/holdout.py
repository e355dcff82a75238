"""What a flow causes: the incremental conversions of each flow holdout, regression-adjusted.

A *flow holdout* (an experiment of kind ``flow_holdout``) keeps a random share of the subscribers
who trigger a flow out of it: a subscriber enters the experiment the first time the flow triggers
for them during its entry window (``assignments.assigned_ts``: the flow's first send, or when it
would have been sent to a held-out entrant) and is assigned ``exposed`` or ``holdout``
(``is_holdout``); held-out entrants get none of the flow's emails until the experiment ends. The
flow is named by the experiment's ``flow`` column (its ``name`` when an export lacks it).

The estimand is the flow's effect on its entrants: per entrant, the chance of at least one order
in ``[assigned_ts, assigned_ts + W)``, ``W`` the experiment's ``conversion_window_days``, exposed
minus held out (and the revenue in that window likewise). :func:`flow_incrementality` estimates it
with the machinery of the channel holdouts (:mod:`workbench.attribution.incrementality`): the
difference of the arms' means adjusted for what each entrant did before entering (orders and
revenue before ``assigned_ts``, days on the list; Lin's 2013 regression adjustment with HC2
standard errors), a normal posterior under a flat prior, the power to detect a ``target_lift``
relative lift and the lift detected with 80% power.

Entrants whose window runs past the end of the data are kept: their window is cut at the end in
both arms alike, so the comparison stays fair (randomisation makes the cut independent of the
arm) but the effect is that of a slightly shorter window; ``truncated_share`` says how many.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.flows._data import (
    Segments,
    check_world,
    columns,
    data_end,
    has_table,
    meta_of,
    seg_join,
    segment_series,
    session,
)

__all__ = ["COLUMNS", "flow_incrementality"]

#: Experiment kind of a flow holdout.
KIND = "flow_holdout"
#: Columns of :func:`flow_incrementality` (``segment`` only with segments).
COLUMNS = (
    "flow",
    "segment",
    "experiment_id",
    "start",
    "days",
    "n_exposed",
    "n_holdout",
    "rate_exposed",
    "rate_holdout",
    "incremental_rate",
    "incremental_rate_low",
    "incremental_rate_high",
    "incremental_rate_sd",
    "incremental_conversions",
    "incremental_conversions_low",
    "incremental_conversions_high",
    "prob_positive",
    "relative_lift",
    "relative_lift_low",
    "relative_lift_high",
    "relative_lift_sd",
    "revenue_exposed",
    "revenue_holdout",
    "incremental_revenue_per_entrant",
    "incremental_revenue_per_entrant_low",
    "incremental_revenue_per_entrant_high",
    "incremental_revenue_per_entrant_sd",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "power",
    "mde_lift",
    "mde_rate",
    "truncated_share",
    "method",
)
#: Covariates of the regression adjustment (measured before each entrant's entry).
COVARIATES = ("orders_before", "revenue_before", "days_on_list")


def _entrants(con: Any, experiment_id: int, window_us: int, with_segments: bool) -> pd.DataFrame:
    """One row per entrant: arm, outcome in the window, covariates before entry, segment."""
    seg_sel, seg_from = seg_join("a", with_segments)
    return con.execute(
        f"""
        WITH a AS (
            SELECT subscriber_id, arm, is_holdout, assigned_ts FROM assignments
            WHERE experiment_id = {int(experiment_id)}
        ), win AS (
            SELECT a.subscriber_id, count(*) AS n, sum(o.revenue) AS rev
            FROM a JOIN orders o
              ON o.subscriber_id = a.subscriber_id AND o.ts >= a.assigned_ts
             AND o.ts < a.assigned_ts + to_microseconds({window_us}::BIGINT)
            GROUP BY ALL
        ), pre AS (
            SELECT a.subscriber_id, count(*) AS n, sum(o.revenue) AS rev
            FROM a JOIN orders o ON o.subscriber_id = a.subscriber_id AND o.ts < a.assigned_ts
            GROUP BY ALL
        )
        SELECT a.subscriber_id, a.arm, a.is_holdout, a.assigned_ts, s.signup_ts,
               coalesce(win.n, 0) AS orders_in_window, coalesce(win.rev, 0) AS revenue_in_window,
               coalesce(pre.n, 0) AS orders_before, coalesce(pre.rev, 0) AS revenue_before,
               {seg_sel}
        FROM a
        JOIN subscribers s USING (subscriber_id)
        LEFT JOIN win USING (subscriber_id)
        LEFT JOIN pre USING (subscriber_id)
        {seg_from}
        ORDER BY a.subscriber_id
        """
    ).df()


def _covariates(d: pd.DataFrame, data_start: pd.Timestamp) -> np.ndarray:
    """Orders, revenue and days on the list before entry (an unknown signup: the data's start).

    Columns that are (numerically) constant among the entrants are dropped: the welcome flow's
    entrants all enter minutes after signing up.
    """
    assigned = pd.to_datetime(d["assigned_ts"], utc=True)
    joined = pd.to_datetime(d["signup_ts"], utc=True)
    joined = joined.where(joined > data_start, data_start)
    days = np.clip((assigned - joined).dt.total_seconds().to_numpy(float) / 86400, 0, None)
    x = np.column_stack(
        [d["orders_before"].to_numpy(float), d["revenue_before"].to_numpy(float), days]
    )
    spread = np.ptp(x, axis=0) if len(x) else np.zeros(x.shape[1])
    return x[:, spread > 1e-6 * (1 + np.abs(x).max(axis=0, initial=0))]


def _row(
    y: np.ndarray,
    rev: np.ndarray,
    held: np.ndarray,
    x: np.ndarray | None,
    z: float,
    interval: float,
    target_lift: float,
) -> dict[str, Any]:
    """The estimates of one experiment (or segment of it)."""
    from workbench.attribution.incrementality import (
        adjusted_difference,
        holdout_power,
        interval_columns,
    )

    n1, n0 = int((~held).sum()), int(held.sum())
    b, se = adjusted_difference(y, ~held, x)
    br, ser = adjusted_difference(rev, ~held, x)
    m0 = float(y[held].mean())
    rel = b / m0 if m0 > 0 else np.nan
    rel_sd = se / m0 if m0 > 0 else np.nan
    power, mde = holdout_power(np.asarray(rel_sd), target_lift, interval)
    return {
        "n_exposed": n1,
        "n_holdout": n0,
        "rate_exposed": float(y[~held].mean()),
        "rate_holdout": m0,
        **interval_columns("incremental_rate", b, se, z),
        "incremental_rate_sd": se,
        **interval_columns("incremental_conversions", b, se, z, n1),
        "prob_positive": float(stats.norm.cdf(b / se)) if se > 0 else float(b > 0),
        **interval_columns("relative_lift", rel, rel_sd, z),
        "relative_lift_sd": rel_sd,
        "revenue_exposed": float(rev[~held].mean()),
        "revenue_holdout": float(rev[held].mean()),
        **interval_columns("incremental_revenue_per_entrant", br, ser, z),
        "incremental_revenue_per_entrant_sd": ser,
        **interval_columns("incremental_revenue", br, ser, z, n1),
        "power": float(power),
        "mde_lift": float(mde),
        "mde_rate": float(mde) * m0 if m0 > 0 else np.nan,
    }


def flow_incrementality(
    world: Any,
    segments: Segments = None,
    *,
    adjust: bool = True,
    interval: float = 0.9,
    target_lift: float = 0.1,
    min_segment_size: int = 200,
) -> pd.DataFrame:
    """The incremental conversions and revenue of each flow, from the world's flow holdouts.

    Parameters
    ----------
    world : World or path
        A loaded world or its folder, with ``experiments``, ``assignments`` and ``orders``.
    segments : str, mapping or Series, optional
        Also measure within segments: a ``subscribers`` column or ``subscriber_id -> segment``.
    adjust : bool, default True
        Regression-adjust for :data:`COVARIATES` (Lin 2013, HC2); otherwise the difference of
        means with Welch's standard error.
    interval : float, default 0.9
        Probability of the equal-tailed intervals.
    target_lift : float, default 0.1
        The relative lift the ``power`` column refers to.
    min_segment_size : int, default 200
        Segments with fewer held-out entrants are left out (their test says nothing).

    Returns
    -------
    DataFrame
        :data:`COLUMNS` (``segment`` only with ``segments``), one row per flow holdout (and
        segment). ``rate_*`` are the arms' raw shares of entrants with an order in their window
        and ``revenue_*`` their mean revenue there; ``incremental_rate`` is the adjusted
        difference exposed minus held out (a share of entrants) with its interval and standard
        deviation; ``incremental_conversions`` and ``incremental_revenue`` are per entrant times
        the exposed entrants (what the flow caused among them); ``relative_lift`` is over the
        held-out rate; ``mde_lift`` (relative) and ``mde_rate`` (absolute) are detected with 80%
        power; ``truncated_share`` is the share of entrants whose window runs past the data's
        end. Empty, with the reason in ``attrs["skipped"]``, when the world has no flow holdout.

    Raises
    ------
    WorkbenchError
        When ``world`` is not a world or ``interval`` is not in (0, 1).
    DataError
        When a table breaks the contract, or ``segments`` names no ``subscribers`` column.
    """
    if not 0 < interval < 1:
        raise WorkbenchError(f"interval must be in (0, 1), got {interval}")
    w = check_world(world)
    keep = [c for c in COLUMNS if c != "segment" or segments is not None]
    missing = [t for t in ("experiments", "assignments", "orders") if not has_table(w, t)]
    if missing:
        out = pd.DataFrame(columns=keep)
        out.attrs["skipped"] = [f"flow holdouts: the world has no {' or '.join(missing)} table"]
        return out
    seg = segment_series(w, segments)
    z = float(stats.norm.ppf(0.5 + interval / 2))
    rows = []
    with session(w, seg, ["experiments", "assignments", "orders", "email_events"]) as con:
        has_flow = "flow" in columns(con, "experiments")
        ex = con.execute(
            "SELECT experiment_id, name, start_ts, conversion_window_days"
            + (", flow" if has_flow else ", NULL::VARCHAR AS flow")
            + f" FROM experiments WHERE kind = '{KIND}' ORDER BY experiment_id"
        ).df()
        if ex.empty:
            out = pd.DataFrame(columns=keep)
            out.attrs["skipped"] = ["flow holdouts: the world has no flow_holdout experiment"]
            return out
        end = data_end(w, con)
        meta = meta_of(w)
        first = con.execute(
            "SELECT least((SELECT min(ts) FROM orders), (SELECT min(ts) FROM email_events),"
            " (SELECT min(assigned_ts) FROM assignments))"
        ).fetchone()
        starts = [pd.Timestamp(first[0]).tz_convert("UTC")] if first and first[0] else []
        if meta.get("start"):
            starts.append(pd.Timestamp(str(meta["start"])).tz_localize("UTC"))
        for e in ex.itertuples(index=False):
            days = int(e.conversion_window_days)
            d = _entrants(con, int(e.experiment_id), days * 86_400_000_000, seg is not None)
            if len(d) == 0:
                continue
            held = d["is_holdout"].to_numpy(dtype=bool)
            y = (d["orders_in_window"].to_numpy(float) > 0).astype(float)
            rev = d["revenue_in_window"].to_numpy(float)
            t0 = pd.Timestamp(e.start_ts).tz_convert("UTC")
            x = _covariates(d, min([*starts, t0])) if adjust else None
            assigned = pd.to_datetime(d["assigned_ts"], utc=True)
            truncated = (assigned + pd.Timedelta(days=days) > end).to_numpy()
            labels = d["segment"].astype(str).to_numpy() if seg is not None else None
            flow = str(e.flow) if isinstance(e.flow, str) and e.flow.strip() else str(e.name)
            for s in sorted(pd.unique(labels)) if labels is not None else [None]:
                m = np.ones(len(d), bool) if s is None else labels == s
                n1, n0 = int((m & ~held).sum()), int((m & held).sum())
                if n1 < 2 or n0 < 2 or (s is not None and n0 < min_segment_size):
                    continue
                xs = None if x is None else x[m]
                if xs is not None:
                    xs = xs[:, np.ptp(xs, axis=0) > 0] if len(xs) else xs
                row = {
                    "flow": flow,
                    "segment": s,
                    "experiment_id": int(e.experiment_id),
                    "start": t0,
                    "days": days,
                    **_row(y[m], rev[m], held[m], xs, z, interval, target_lift),
                    "truncated_share": float(truncated[m].mean()),
                    "method": "regression-adjusted" if adjust else "difference of means",
                }
                rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS))[keep].reset_index(drop=True)
    out.attrs["skipped"] = []
    out.attrs["interval"] = interval
    return out
