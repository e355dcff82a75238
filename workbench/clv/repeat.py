"""Purchase behaviour: time to first order, time between orders, repeat purchase and cross-sell.

Four questions a marketer asks of the ``orders`` table, each answered by one documented table:

* **How long until a new subscriber buys?** :func:`time_to_first_order` turns subscribers and
  orders into one duration per subscriber, right-censored at ``end`` for those who have not
  bought yet; :func:`kaplan_meier` estimates the share still waiting after each number of days
  (one curve per segment and one for everyone), :func:`survival_summary` reads off the median
  wait and the chance of a first order within 30, 60, 90 days.
* **How long between purchases?** :func:`time_between_orders` gives the gaps between a
  customer's successive purchase days, and one censored gap from the last purchase to ``end``;
  the same two functions estimate and summarise them.
* **Do first-time buyers come back?** :func:`repeat_rate_by_cohort`: per month of first order,
  the share who buy again within a window, counting only customers whose window is over.
* **What do they buy next?** :func:`next_category_affinity`: how often a purchase in category A
  is followed by one in B, against B's share of all next purchases (the lift);
  :func:`cross_sell_moves` keeps the pairs clearly above the base rate, the input of a
  cross-sell playbook.

Censoring is what makes these honest. A subscriber who has not ordered by ``end`` has not
"never ordered": they waited *at least* that long, and the Kaplan–Meier estimator keeps them at
risk until then without ever counting them as an event. Dropping them (or counting them as
events) would make waits look shorter than they are.

The Kaplan–Meier curve and its pointwise interval (Greenwood's variance on the log-log scale,
which keeps the band within 0 and 1) come from :func:`scipy.stats.ecdf` on
:class:`scipy.stats.CensoredData`; the numbers at risk and of events are counted here.

Times are in days; a *purchase day* is a UTC calendar day with at least one order (several
orders on one day are one purchase). ``segments`` is everywhere an optional
:class:`pandas.Series` indexed by ``subscriber_id`` holding a segment label; subscribers it does
not name are ``"unassigned"``, and without it everyone is in ``"all"``. Tables built per segment
also hold the pooled group ``"all"``, first.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from workbench.db import utc_timestamp
from workbench.errors import DataError, WorkbenchError

__all__ = [
    "ALL",
    "UNASSIGNED",
    "cross_sell_moves",
    "kaplan_meier",
    "next_category_affinity",
    "repeat_rate_by_cohort",
    "survival_summary",
    "time_between_orders",
    "time_to_first_order",
]

#: The pooled group of every table built per segment.
ALL = "all"
#: The segment of subscribers that ``segments`` does not name.
UNASSIGNED = "unassigned"

DAY = pd.Timedelta(days=1)

TimeLike = pd.Timestamp | dt.datetime | dt.date | str


# --------------------------------------------------------------------------- inputs


def _require(df: pd.DataFrame, table: str, columns: Iterable[str]) -> None:
    if not isinstance(df, pd.DataFrame):
        raise WorkbenchError(f"{table} must be a DataFrame, not {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(table, missing[0], "required column missing")


def _times(df: pd.DataFrame, table: str, column: str) -> pd.Series:
    """The timestamps of ``df[column]`` in UTC (naive ones read as UTC); missing ones refused."""
    s = df[column]
    if not pd.api.types.is_datetime64_any_dtype(s):
        raise DataError(table, column, f"expected timestamps, got {s.dtype}")
    if s.isna().any():
        raise DataError(table, column, "missing times", int(s.isna().sum()))
    return s.dt.tz_localize("UTC") if s.dt.tz is None else s.dt.tz_convert("UTC")


def _orders(orders: pd.DataFrame, columns: Sequence[str] = ()) -> pd.DataFrame:
    """``subscriber_id``, ``ts`` (UTC) and ``columns`` of the orders, checked."""
    _require(orders, "orders", ["subscriber_id", "ts", *columns])
    out = orders[["subscriber_id", *columns]].copy()
    out["ts"] = _times(orders, "orders", "ts")
    if out["subscriber_id"].isna().any():
        raise DataError(
            "orders", "subscriber_id", "missing ids", int(out.subscriber_id.isna().sum())
        )
    return out


def _segment_labels(ids: pd.Series | np.ndarray, segments: pd.Series | None) -> np.ndarray:
    """The segment label (text) of each subscriber id: ``"all"`` without ``segments``,
    ``"unassigned"`` for ids ``segments`` does not name."""
    ids = np.asarray(ids)
    if segments is None:
        return np.full(len(ids), ALL, dtype=object)
    if not isinstance(segments, pd.Series):
        raise WorkbenchError(
            "segments must be a pandas Series indexed by subscriber_id, "
            f"not {type(segments).__name__}"
        )
    if segments.index.has_duplicates:
        dup = segments.index[segments.index.duplicated()][:5].tolist()
        raise WorkbenchError(f"segments names some subscribers twice (first: {dup})")
    labels = segments.astype(object).where(segments.notna(), UNASSIGNED).map(str)
    if (labels == ALL).any():
        raise WorkbenchError(f"'{ALL}' is the pooled group: rename that segment")
    return labels.reindex(ids).fillna(UNASSIGNED).to_numpy(dtype=object)


def _check_confidence(confidence: float) -> float:
    if not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return float(confidence)


def _group_order(labels: Iterable[object]) -> list[str]:
    """``"all"`` first, then the other labels sorted as text (numbers by value)."""
    rest = {str(x) for x in labels} - {ALL}

    def key(x: str) -> tuple[int, float, str]:
        try:
            return (0, float(x), x)
        except ValueError:
            return (1, 0.0, x)

    return [ALL, *sorted(rest, key=key)]


def _wilson(k: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of the proportion ``k / n`` (NaN where ``n`` is 0)."""
    from scipy.stats import norm

    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
        low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    low[k == 0], high[k == n] = 0.0, 1.0  # exact ends (no rounding below p = 1)
    low[n == 0] = np.nan
    high[n == 0] = np.nan
    return low, high


def _purchase_days(orders: pd.DataFrame, columns: Sequence[str] = ()) -> pd.DataFrame:
    """Orders with their purchase ``day`` (UTC midnight), sorted by subscriber and time."""
    out = orders.assign(day=orders["ts"].dt.floor("D"))
    return out.sort_values(["subscriber_id", "ts"], kind="stable")[
        ["subscriber_id", "ts", "day", *columns]
    ]


# --------------------------------------------------------------------------- durations


def time_to_first_order(
    subscribers: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    end: TimeLike,
    segments: pd.Series | None = None,
    history_start: TimeLike | None = None,
) -> pd.DataFrame:
    """Days from signup to first order, one row per subscriber, right-censored at ``end``.

    A subscriber whose first order (before ``end``) is known has ``observed`` true and the wait
    from signup to that order; one who has not ordered by ``end`` is *censored*: ``observed``
    false and the days from signup to ``end`` (they waited at least that long).

    Real shops have customers who ordered before joining the list: their first order predates
    the signup, so they are counted as ordering at once (duration 0, observed). Subscribers who
    signed up at or after ``end`` have nothing observed and are dropped.

    The order history must cover a subscriber's whole life on the list, or the first order *in
    the history* is not their first order. Subscribers who signed up before ``history_start``
    are therefore dropped (their first order may lie before the history begins). By default
    the history starts on the (UTC) day of the earliest order in ``orders``; pass an earlier
    time to assert the table is complete from then on (e.g. the shop's opening).

    Parameters
    ----------
    subscribers : pandas.DataFrame
        The ``subscribers`` table: ``subscriber_id`` and ``signup_ts`` (timestamps, UTC).
    orders : pandas.DataFrame
        The ``orders`` table: ``subscriber_id`` and ``ts``. Orders at or after ``end`` are
        ignored (not seen yet).
    end : pandas.Timestamp, datetime or str
        End of observation (naive times are UTC), e.g. midnight after the world's last order.
    segments : pandas.Series, optional
        Segment label per ``subscriber_id``; subscribers it does not name are ``"unassigned"``.
        Without it every subscriber is in ``"all"``.
    history_start : pandas.Timestamp, datetime or str, optional
        When the order history begins; subscribers who signed up earlier are dropped. Default:
        midnight (UTC) of the earliest order's day.

    Returns
    -------
    pandas.DataFrame
        One row per subscriber kept, sorted by id: ``subscriber_id``, ``segment`` (text),
        ``duration_days`` (float, >= 0), ``observed`` (bool: ordered before ``end``).
        ``attrs`` holds ``end``, ``history_start`` and the numbers dropped,
        ``dropped_before_history`` and ``dropped_after_end``.

    Raises
    ------
    DataError
        When a table lacks a required column or holds missing or non-time timestamps, or
        every subscriber signed up before ``history_start``.
    WorkbenchError
        When ``end`` or ``history_start`` is not a time, or ``segments`` is not a Series with
        one label per subscriber.
    """
    end_ts = utc_timestamp(end, "end")
    _require(subscribers, "subscribers", ["subscriber_id", "signup_ts"])
    signup = _times(subscribers, "subscribers", "signup_ts")
    o = _orders(orders)
    o = o[o["ts"] < end_ts]
    if history_start is not None:
        start_ts = utc_timestamp(history_start, "history_start")
    elif len(o):
        start_ts = o["ts"].min().floor("D")
    else:
        start_ts = signup.min() if len(signup) else end_ts
    after_end = signup >= end_ts
    before = (signup < start_ts) & ~after_end
    keep = ~(after_end | before)
    if before.any() and not keep.any():
        raise DataError(
            "subscribers",
            "signup_ts",
            f"every subscriber signed up before the order history starts "
            f"({start_ts:%Y-%m-%d}): pass history_start= when the orders are complete earlier",
            int(before.sum()),
        )
    ids = subscribers["subscriber_id"][keep].to_numpy()
    signup = signup[keep]
    first = o.groupby("subscriber_id")["ts"].min()
    first_ts = first.reindex(ids)  # NaT when no order before end
    observed = first_ts.notna().to_numpy()
    stop = first_ts.where(first_ts.notna(), end_ts).to_numpy()
    days = (pd.DatetimeIndex(stop) - pd.DatetimeIndex(signup.to_numpy())) / DAY
    out = pd.DataFrame(
        {
            "subscriber_id": ids,
            "segment": _segment_labels(ids, segments),
            "duration_days": np.clip(np.asarray(days, dtype=float), 0.0, None),
            "observed": observed,
        }
    )
    out["segment"] = out["segment"].astype(str)
    out = out.sort_values("subscriber_id", kind="stable").reset_index(drop=True)
    out.attrs.update(
        end=end_ts,
        history_start=start_ts,
        dropped_before_history=int(before.sum()),
        dropped_after_end=int(after_end.sum()),
    )
    return out


def time_between_orders(
    orders: pd.DataFrame,
    *,
    end: TimeLike,
    segments: pd.Series | None = None,
) -> pd.DataFrame:
    """Days between a customer's successive purchase days, and a censored gap to ``end``.

    A purchase is a UTC calendar day with at least one order: several orders on one day are
    one purchase (a split basket, a forgotten item), not a gap of zero days. Each customer
    gives one observed gap per pair of successive purchase days (whole days, >= 1) and one
    censored gap after the last purchase: the whole days observed since it without an order,
    ``floor((end - last day) / 1 day) - 1`` (0 when the last purchase is on ``end``'s eve),
    so a censored gap means "more than that many days".

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table: ``subscriber_id`` and ``ts``. Orders at or after ``end`` are
        ignored.
    end : pandas.Timestamp, datetime or str
        End of observation (naive times are UTC).
    segments : pandas.Series, optional
        Segment label per ``subscriber_id`` (others: ``"unassigned"``; without it: ``"all"``).

    Returns
    -------
    pandas.DataFrame
        One row per gap, sorted by customer and gap: ``subscriber_id``, ``segment``,
        ``gap_number`` (1 = first purchase to second, ...), ``duration_days`` (float, whole
        days), ``observed`` (bool: the next purchase happened before ``end``).

    Raises
    ------
    DataError
        When ``orders`` lacks ``subscriber_id`` or ``ts``, or holds missing or non-time ``ts``.
    WorkbenchError
        When ``end`` is not a time or ``segments`` is not a Series with one label per id.
    """
    end_ts = utc_timestamp(end, "end")
    o = _orders(orders)
    o = o[o["ts"] < end_ts]
    days = _purchase_days(o).drop_duplicates(["subscriber_id", "day"])[["subscriber_id", "day"]]
    nxt = days.groupby("subscriber_id")["day"].shift(-1)
    observed = nxt.notna().to_numpy()
    last_gap = np.floor((end_ts - days["day"]) / DAY) - 1
    gap = np.where(observed, (nxt - days["day"]) / DAY, np.clip(last_gap, 0, None))
    ids = days["subscriber_id"].to_numpy()
    out = pd.DataFrame(
        {
            "subscriber_id": ids,
            "segment": _segment_labels(ids, segments),
            "gap_number": days.groupby("subscriber_id").cumcount().to_numpy() + 1,
            "duration_days": np.asarray(gap, dtype=float),
            "observed": observed,
        }
    )
    out["segment"] = out["segment"].astype(str)
    out.attrs.update(end=end_ts)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- Kaplan–Meier

KM_COLUMNS = ["group", "time", "survival", "low", "high", "at_risk", "events", "censored"]


def _durations(durations: pd.DataFrame, by: str | None) -> tuple[np.ndarray, np.ndarray]:
    _require(durations, "durations", ["duration_days", "observed", *([by] if by else [])])
    t = pd.to_numeric(durations["duration_days"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        raise DataError(
            "durations", "duration_days", "missing, infinite or negative durations", int(bad.sum())
        )
    e = durations["observed"]
    if not pd.api.types.is_bool_dtype(e) and not (e.notna().all() and e.isin([0, 1]).all()):
        raise DataError("durations", "observed", "expected true/false values")
    return t, e.to_numpy(dtype=bool)


def _groups(durations: pd.DataFrame, by: str | None) -> list[tuple[str, np.ndarray]]:
    """(label, row mask) of the pooled group and of each value of ``by``."""
    n = len(durations)
    out = [(ALL, np.ones(n, dtype=bool))]
    if by is None:
        return out
    labels = durations[by].astype(str).to_numpy()
    for g in _group_order(np.unique(labels))[1:]:
        out.append((g, labels == g))
    return out


def _km_one(t: np.ndarray, e: np.ndarray, confidence: float) -> pd.DataFrame:
    """Kaplan–Meier curve of one group at each distinct time (events or censorings)."""
    from scipy import stats

    times, inverse = np.unique(t, return_inverse=True)
    events = np.bincount(inverse, weights=e, minlength=len(times)).astype(np.int64)
    total = np.bincount(inverse, minlength=len(times)).astype(np.int64)
    at_risk = total[::-1].cumsum()[::-1]  # still waiting just before each time
    if events.any():
        res = stats.ecdf(stats.CensoredData(uncensored=t[e], right=t[~e]))
        survival = res.sf.evaluate(times)
        with warnings.catch_warnings():
            # undefined where the curve is 0 (log-log scale): handled below
            warnings.filterwarnings("ignore", "The confidence interval is undefined")
            ci = res.sf.confidence_interval(confidence_level=confidence, method="log-log")
            low, high = ci.low.evaluate(times), ci.high.evaluate(times)
        before = times < times[events > 0][0]  # no event yet: the curve is exactly 1
        low[before], high[before] = 1.0, 1.0
        zero = survival <= 0
        low[zero] = 0.0
        high = pd.Series(high).ffill().fillna(1.0).to_numpy()
    else:  # nobody had the event: the curve stays at 1 (Greenwood's band is a point)
        survival = np.ones(len(times))
        low, high = survival.copy(), survival.copy()
    return pd.DataFrame(
        {
            "time": times,
            "survival": survival,
            "low": np.minimum(low, survival),
            "high": np.maximum(high, survival),
            "at_risk": at_risk,
            "events": events,
            "censored": total - events,
        }
    )


def kaplan_meier(
    durations: pd.DataFrame,
    *,
    by: str | None = "segment",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Kaplan–Meier curves (share still waiting for the event), one per group and one pooled.

    Censored rows (``observed`` false) stay in the risk set up to and including their time and
    are never counted as events; at a time where some wait ends and others are censored, the
    censored ones count as still at risk (the usual convention). The interval is pointwise:
    Greenwood's variance on the log-log scale (:func:`scipy.stats.ecdf`), so it stays within
    0 and 1; where the curve reaches 0 the lower bound is 0 and the upper one is carried
    forward from the last time it was defined.

    Parameters
    ----------
    durations : pandas.DataFrame
        ``duration_days`` (>= 0) and ``observed`` (bool), e.g. from
        :func:`time_to_first_order` or :func:`time_between_orders`, and the ``by`` column.
    by : str or None, default "segment"
        Column whose values are the groups; ``None`` for the pooled curve only.
    confidence : float, default 0.95
        Level of the pointwise interval.

    Returns
    -------
    pandas.DataFrame
        Long table, one row per group and distinct time (event or censoring):
        ``group`` (``"all"`` first, then the groups), ``time`` (days), ``survival`` (share
        still waiting just after ``time``), ``low``, ``high`` (interval), ``at_risk`` (still
        waiting just before ``time``), ``events`` (waits ending at ``time``), ``censored``
        (observation ending at ``time`` without the event). ``attrs["confidence"]`` holds the
        level.

    Raises
    ------
    DataError
        When columns are missing, there are no rows, a duration is missing, infinite or
        negative, or ``observed`` is not true/false.
    ValueError
        When ``confidence`` is not strictly between 0 and 1.
    """
    confidence = _check_confidence(confidence)
    t, e = _durations(durations, by)
    if not len(t):
        raise DataError("durations", None, "no rows: nothing to estimate")
    parts = []
    for label, mask in _groups(durations, by):
        if mask.any():
            parts.append(_km_one(t[mask], e[mask], confidence).assign(group=label))
    out = pd.concat(parts, ignore_index=True)[KM_COLUMNS]
    out.attrs["confidence"] = confidence
    return out


def _step(km: pd.DataFrame, column: str, at: float) -> float:
    """The step curve ``column`` of one group at time ``at`` (1 before the first time)."""
    i = np.searchsorted(km["time"].to_numpy(), at, side="right") - 1
    return 1.0 if i < 0 else float(km[column].iloc[i])


def _first_below(km: pd.DataFrame, column: str, level: float = 0.5) -> float:
    hit = km.loc[km[column] <= level, "time"]
    return float(hit.iloc[0]) if len(hit) else np.nan


def survival_summary(
    durations: pd.DataFrame,
    *,
    by: str | None = "segment",
    horizons: Sequence[float] = (30, 60, 90),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per group: size, events, median wait and the chance of the event by each horizon.

    The median is the first time the Kaplan–Meier curve is at or below one half. It is NaN
    when the curve never gets there (more than half of the group were still waiting when
    observation ended): the median is then *not reached*, longer than the follow-up, and not
    zero nor infinite. Its interval reads the times where the band's lower and upper curves
    cross one half (the upper end is NaN when the upper curve never does: the data do not
    bound the median from above). The chance of the
    event by a horizon is ``1 - S(horizon)`` with the band's interval; it is NaN when the
    horizon lies beyond the group's longest observed time (the curve is not estimated there).

    Parameters
    ----------
    durations : pandas.DataFrame
        ``duration_days``, ``observed`` and the ``by`` column, as for :func:`kaplan_meier`.
    by : str or None, default "segment"
        Column whose values are the groups; ``None`` for the pooled group only.
    horizons : sequence of float, default (30, 60, 90)
        Days at which to read the chance of the event.
    confidence : float, default 0.95
        Level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per group (``"all"`` first): ``group``, ``n``, ``events``, ``censored``,
        ``follow_up_days`` (longest observed time), ``median_days``, ``median_low``,
        ``median_high``, then for each horizon ``h``: ``p_event_{h}d`` with ``p_event_{h}d_low``
        and ``p_event_{h}d_high``. ``attrs["confidence"]`` holds the level.

    Raises
    ------
    DataError
        As :func:`kaplan_meier`.
    ValueError
        When a horizon is not a positive number, or ``confidence`` is out of range.
    """
    hs = [float(h) for h in horizons]
    if any(not np.isfinite(h) or h <= 0 for h in hs):
        raise ValueError(f"horizons must be positive numbers of days, got {list(horizons)}")
    km = kaplan_meier(durations, by=by, confidence=confidence)
    rows = []
    for group, curve in km.groupby("group", sort=False):
        follow = float(curve["time"].max())
        row: dict[str, object] = {
            "group": group,
            "n": int(curve["at_risk"].iloc[0]),
            "events": int(curve["events"].sum()),
            "censored": int(curve["censored"].sum()),
            "follow_up_days": follow,
            "median_days": _first_below(curve, "survival"),
            "median_low": _first_below(curve, "low"),
            "median_high": _first_below(curve, "high"),
        }
        for h in hs:
            name = f"p_event_{h:g}d"
            known = h <= follow
            row[name] = 1 - _step(curve, "survival", h) if known else np.nan
            row[f"{name}_low"] = 1 - _step(curve, "high", h) if known else np.nan
            row[f"{name}_high"] = 1 - _step(curve, "low", h) if known else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    out.attrs["confidence"] = km.attrs["confidence"]
    return out


# --------------------------------------------------------------------------- repeat purchase

REPEAT_COLUMNS = [
    "cohort",
    "customers",
    "excluded",
    "counted",
    "repeaters",
    "repeat_rate",
    "low",
    "high",
]


def repeat_rate_by_cohort(
    orders: pd.DataFrame,
    *,
    end: TimeLike,
    window_days: int = 60,
    freq: str = "MS",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of each first-order cohort who buy again (another day) within ``window_days``.

    A customer's cohort is the period (``freq``: ``"MS"`` calendar months, ``"W-MON"`` weeks
    starting Monday, ``"QS"`` quarters...) of their first order before ``end``; they
    *repeat* when their next purchase day comes at most ``window_days`` days after the first
    (a second order the same day is the same purchase). Only customers whose whole window
    was observed count: the first purchase day plus ``window_days`` full days must end by
    ``end``. The others (recent customers) are *excluded*, repeat or not: counting their
    early repeats but not their missing ones would bias the rate. The first order is the
    first *in the table*: when the history starts after some customers' real first order
    (a world's simulated window, an export of the last year), the earliest cohorts mix new
    and returning customers.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table: ``subscriber_id`` and ``ts``. Orders at or after ``end`` are
        ignored.
    end : pandas.Timestamp, datetime or str
        End of observation (naive times are UTC).
    window_days : int, default 60
        Days after the first purchase within which a second one counts.
    freq : str, default "MS"
        A pandas offset alias naming the cohort periods; a cohort is labelled by the start of
        its period (the first order's day rolled back onto the offset).
    confidence : float, default 0.95
        Level of the Wilson score interval of the rate.

    Returns
    -------
    pandas.DataFrame
        One row per cohort with a customer, in time order: ``cohort`` (UTC timestamp),
        ``customers`` (first order in the cohort), ``excluded`` (window not fully observed),
        ``counted`` (= customers - excluded), ``repeaters`` (counted customers who bought
        again within the window), ``repeat_rate`` (repeaters / counted; NaN when none
        counted), ``low``, ``high`` (Wilson interval). ``attrs`` holds ``window_days``,
        ``confidence``, ``end`` and ``excluded`` (the total).

    Raises
    ------
    DataError
        When ``orders`` lacks ``subscriber_id`` or ``ts``, or holds missing or non-time ``ts``.
    ValueError
        When ``window_days`` is not a positive whole number, ``freq`` is not an offset alias,
        or ``confidence`` is out of range.
    """
    end_ts = utc_timestamp(end, "end")
    confidence = _check_confidence(confidence)
    if int(window_days) != window_days or window_days < 1:
        raise ValueError(f"window_days must be a positive whole number, got {window_days}")
    window_days = int(window_days)
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError as exc:
        raise ValueError(f"freq={freq!r} is not a pandas offset alias") from exc
    o = _orders(orders)
    o = o[o["ts"] < end_ts]
    days = _purchase_days(o).drop_duplicates(["subscriber_id", "day"])
    k = days.groupby("subscriber_id").cumcount().to_numpy()
    per = days[k == 0].set_index("subscriber_id")[["day"]].rename(columns={"day": "first"})
    per["second"] = days[k == 1].set_index("subscriber_id")["day"].reindex(per.index)
    observed = per["first"] + (window_days + 1) * DAY <= end_ts
    repeat = (per["second"] - per["first"]) / DAY <= window_days  # NaT compares False
    naive = per["first"].dt.tz_localize(None)
    rolled = {d: offset.rollback(d) for d in naive.unique()}
    per["cohort"] = naive.map(rolled).astype(naive.dtype).dt.tz_localize("UTC")
    per["excluded"] = ~observed
    per["repeat"] = repeat & observed
    out = (
        per.groupby("cohort")
        .agg(
            customers=("first", "size"),
            excluded=("excluded", "sum"),
            repeaters=("repeat", "sum"),
        )
        .reset_index()
    )
    out["counted"] = out["customers"] - out["excluded"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["repeat_rate"] = out["repeaters"] / out["counted"].where(out["counted"] > 0)
    out["low"], out["high"] = _wilson(
        out["repeaters"].to_numpy(), out["counted"].to_numpy(), confidence
    )
    for c in ("customers", "excluded", "counted", "repeaters"):
        out[c] = out[c].astype(np.int64)
    out = out[REPEAT_COLUMNS]
    out.attrs.update(
        window_days=window_days,
        confidence=confidence,
        end=end_ts,
        excluded=int(out["excluded"].sum()),
    )
    return out


# --------------------------------------------------------------------------- cross-sell

AFFINITY_COLUMNS = [
    "segment",
    "from_category",
    "to_category",
    "from_purchases",
    "pairs",
    "p_next",
    "low",
    "high",
    "base_rate",
    "lift",
    "few_pairs",
]


def next_category_affinity(
    orders: pd.DataFrame,
    *,
    segments: pd.Series | None = None,
    min_pairs: int = 20,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """How often a purchase in category A is followed by one in B, against B's base rate.

    Purchases are a customer's purchase days (UTC); a day's categories are those of its
    orders. Each pair of successive purchases of a customer is one *transition*. For a
    segment, ``p_next`` = P(next purchase holds B | this one holds A), estimated as
    ``pairs / from_purchases`` (transitions out of a purchase holding A whose next purchase
    holds B, over all transitions out of a purchase holding A); ``base_rate`` is the share of
    the segment's transitions whose next purchase holds B; ``lift = p_next / base_rate``
    (1: A says nothing about B; 1.8: after A, B comes next 1.8 times as often as usual).
    When each purchase day has one category the ``p_next`` of one A sum to 1 over B. The
    interval is Wilson's on ``p_next``; the base rate, from all of the segment's transitions,
    is taken as known.

    Parameters
    ----------
    orders : pandas.DataFrame
        The ``orders`` table: ``subscriber_id``, ``ts`` and ``category``.
    segments : pandas.Series, optional
        Segment label per ``subscriber_id`` (others: ``"unassigned"``); the table holds each
        segment and ``"all"``. Without it, ``"all"`` only.
    min_pairs : int, default 20
        Pairs below which a row is flagged ``few_pairs`` (too few to act on).
    confidence : float, default 0.95
        Level of the interval on ``p_next``.

    Returns
    -------
    pandas.DataFrame
        One row per segment, from-category and to-category (every category the segment
        bought from, times every category its next purchases held; pairs may be 0):
        ``segment``, ``from_category``, ``to_category``, ``from_purchases``, ``pairs``,
        ``p_next``, ``low``, ``high``, ``base_rate``, ``lift``, ``few_pairs`` (pairs below
        ``min_pairs``). Empty (same columns) when no customer bought twice. ``attrs`` holds
        ``min_pairs``, ``confidence`` and ``transitions`` (per segment).

    Raises
    ------
    DataError
        When ``orders`` lacks a column or holds missing times or categories.
    WorkbenchError
        When ``segments`` is not a Series with one label per subscriber.
    ValueError
        When ``min_pairs`` is below 1 or ``confidence`` is out of range.
    """
    confidence = _check_confidence(confidence)
    if int(min_pairs) != min_pairs or min_pairs < 1:
        raise ValueError(f"min_pairs must be a whole number >= 1, got {min_pairs}")
    o = _orders(orders, ["category"])
    if o["category"].isna().any():
        raise DataError("orders", "category", "missing categories", int(o.category.isna().sum()))
    o["category"] = o["category"].astype(str)
    days = _purchase_days(o, ["category"])
    purchases = days.drop_duplicates(["subscriber_id", "day"])[["subscriber_id", "day"]]
    purchases = purchases.reset_index(drop=True)
    purchases["k"] = purchases.groupby("subscriber_id").cumcount()
    cats = days.drop_duplicates(["subscriber_id", "day", "category"]).merge(
        purchases, on=["subscriber_id", "day"]
    )[["subscriber_id", "k", "category"]]
    # transition = (customer, k) -> (customer, k + 1)
    nxt = purchases.assign(k=purchases["k"] - 1)
    trans = purchases.merge(nxt[["subscriber_id", "k"]], on=["subscriber_id", "k"])
    trans["t"] = np.arange(len(trans))
    trans["segment"] = _segment_labels(trans["subscriber_id"], segments)
    src = trans.merge(cats, on=["subscriber_id", "k"])[["t", "segment", "category"]]
    dst = trans.merge(cats.assign(k=cats["k"] - 1), on=["subscriber_id", "k"])[["t", "category"]]
    pairs = src.merge(dst, on="t", suffixes=("_from", "_to"))

    frames = []
    n_trans: dict[str, int] = {}
    labels = _group_order(trans["segment"].unique()) if len(trans) else []
    for seg in labels:
        if seg == ALL:
            ts, s, p = trans, src, pairs
        else:
            ts = trans[trans["segment"] == seg]
            s, p = src[src["segment"] == seg], pairs[pairs["segment"] == seg]
        n_trans[seg] = len(ts)
        base = dst[dst["t"].isin(ts["t"])].groupby("category")["t"].nunique() / len(ts)
        n_from = s.groupby("category")["t"].nunique()
        k = p.groupby(["category_from", "category_to"]).size()
        grid = pd.MultiIndex.from_product(
            [sorted(n_from.index), sorted(base.index)], names=["from_category", "to_category"]
        )
        f = pd.DataFrame(index=grid).reset_index()
        f["from_purchases"] = f["from_category"].map(n_from).astype(np.int64)
        f["pairs"] = (
            k.reindex(pd.MultiIndex.from_frame(f[["from_category", "to_category"]]))
            .fillna(0)
            .to_numpy()
            .astype(np.int64)
        )
        f["p_next"] = f["pairs"] / f["from_purchases"]
        f["low"], f["high"] = _wilson(
            f["pairs"].to_numpy(), f["from_purchases"].to_numpy(), confidence
        )
        f["base_rate"] = f["to_category"].map(base).astype(float)
        f["lift"] = f["p_next"] / f["base_rate"]
        f["few_pairs"] = f["pairs"] < min_pairs
        f.insert(0, "segment", seg)
        frames.append(f)
    out = (
        pd.concat(frames, ignore_index=True)[AFFINITY_COLUMNS]
        if frames
        else pd.DataFrame({c: pd.Series(dtype=object) for c in AFFINITY_COLUMNS})
    )
    out.attrs.update(min_pairs=int(min_pairs), confidence=confidence, transitions=n_trans)
    return out


def cross_sell_moves(affinity: pd.DataFrame, *, top: int = 3) -> pd.DataFrame:
    """Per segment, the strongest "bought A, buys B next" moves clearly above the base rate.

    A move is a pair of *different* categories (buying the same again is repeat purchase, not
    cross-sell) whose lift is above 1 and whose interval on ``p_next`` lies wholly above the
    base rate, from at least ``min_pairs`` pairs (rows flagged ``few_pairs`` are left out).
    They are ranked by lift, then by pairs.

    Parameters
    ----------
    affinity : pandas.DataFrame
        The table of :func:`next_category_affinity`.
    top : int, default 3
        Moves kept per segment.

    Returns
    -------
    pandas.DataFrame
        Up to ``top`` rows per segment (``"all"`` first): ``segment``, ``rank`` (1 = strongest),
        ``from_category``, ``to_category``, ``pairs``, ``from_purchases``, ``p_next``, ``low``,
        ``high``, ``base_rate``, ``lift`` and ``sentence``, the move in words ("customers who
        bought home buy apparel next 1.8x as often as the base rate (32% vs 18%)"). Segments
        without such a move have no row.

    Raises
    ------
    DataError
        When ``affinity`` lacks a column of :func:`next_category_affinity`'s table.
    ValueError
        When ``top`` is below 1.
    """
    if int(top) != top or top < 1:
        raise ValueError(f"top must be a whole number >= 1, got {top}")
    _require(affinity, "affinity", AFFINITY_COLUMNS)
    a = affinity[
        (affinity["from_category"] != affinity["to_category"])
        & (affinity["lift"] > 1)
        & (affinity["low"] > affinity["base_rate"])
        & ~affinity["few_pairs"].astype(bool)
    ]
    order = {g: i for i, g in enumerate(_group_order(a["segment"].unique()))}
    a = (
        a.assign(_o=a["segment"].map(order))
        .sort_values(["_o", "lift", "pairs"], ascending=[True, False, False], kind="stable")
        .drop(columns="_o")
    )
    a = a.groupby("segment", sort=False).head(int(top)).copy()
    a.insert(1, "rank", a.groupby("segment", sort=False).cumcount() + 1)
    a["sentence"] = [
        f"customers who bought {r.from_category} buy {r.to_category} next {r.lift:.1f}x as often "
        f"as the base rate ({r.p_next:.0%} vs {r.base_rate:.0%})"
        for r in a.itertuples()
    ]
    cols = ["segment", "rank", "from_category", "to_category", "pairs", "from_purchases",
            "p_next", "low", "high", "base_rate", "lift", "sentence"]  # fmt: skip
    return a[cols].reset_index(drop=True)
