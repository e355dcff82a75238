"""Inputs of send-time optimisation: one row per delivered email, with its human open if any.

A subscriber's best send hour is learnt from two things the event log holds for every delivered
email: *when it arrived* (the local delivery hour) and *whether and when a person opened it* (the
first human open after that delivery). :func:`open_hours` builds that table from a world's
``email_events`` and ``subscribers`` in DuckDB (through :mod:`workbench.db`, the one door):

* deliveries are the ``delivered`` events (a world without any uses its ``sent`` events);
* a human open is an ``opened`` event that is not a machine open (``is_machine_open``: privacy
  proxies and security scanners "open" every email minutes after delivery and say nothing about
  the reader); it belongs to the latest delivery of the same campaign to the same subscriber at
  or before it (flows can send one campaign to one subscriber several times), and only the first
  human open of each delivery counts;
* local times use the subscriber's ``tz_offset_h``; weekday or weekend is the subscriber's local
  date of delivery (Monday to Friday are weekdays);
* ``hours_observed`` is how long after delivery the data still watched the inbox (up to the last
  event of the log), so that an email delivered just before the data ends is not read as ignored.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError

if TYPE_CHECKING:
    from workbench.schema import World

__all__ = ["OPEN_HOURS_COLUMNS", "open_hours"]

#: Columns of :func:`open_hours` (and what :class:`~workbench.timing.model.SendTimeModel` reads).
OPEN_HOURS_COLUMNS: tuple[str, ...] = (
    "subscriber_id",
    "campaign_id",
    "delivered_hour",
    "weekend",
    "opened",
    "open_hour",
    "hours_to_open",
    "hours_observed",
)

_SQL = """
WITH dl AS (
    SELECT subscriber_id, campaign_id, epoch_us(ts) AS t_us
    FROM email_events WHERE event_type = '{kind}'
),
op AS (
    SELECT subscriber_id, campaign_id, epoch_us(ts) AS t_us
    FROM email_events
    WHERE event_type = 'opened' AND NOT coalesce(is_machine_open, false)
),
firsts AS (
    SELECT o.subscriber_id, o.campaign_id, d.t_us AS del_us, min(o.t_us) AS open_us
    FROM op o ASOF JOIN dl d
      ON o.subscriber_id = d.subscriber_id AND o.campaign_id = d.campaign_id
     AND o.t_us >= d.t_us
    GROUP BY ALL
),
last_ev AS (SELECT max(epoch_us(ts)) AS end_us FROM email_events)
SELECT d.subscriber_id, d.campaign_id, d.t_us, f.open_us, s.tz_offset_h,
       (SELECT end_us FROM last_ev) AS end_us
FROM dl d
JOIN subscribers s USING (subscriber_id)
LEFT JOIN firsts f
  ON f.subscriber_id = d.subscriber_id AND f.campaign_id = d.campaign_id AND f.del_us = d.t_us
ORDER BY d.subscriber_id, d.t_us, d.campaign_id
"""


def _local(t_us: np.ndarray, tz: np.ndarray) -> np.ndarray:
    """Local seconds since the epoch."""
    return t_us / 1e6 + tz * 3600.0


def open_hours(world: str | Path | World, *, weekdays: bool | None = True) -> pd.DataFrame:
    """One row per delivered email: its local delivery hour and its first human open, if any.

    Parameters
    ----------
    world : path or World
        A world folder (checked against the data contract on the way in) or a loaded world;
        needs ``subscribers`` and ``email_events``.
    weekdays : bool or None, default True
        ``True``: emails delivered on a weekday of the subscriber's local calendar; ``False``:
        on a weekend; ``None``: all of them.

    Returns
    -------
    DataFrame
        Sorted by subscriber and delivery time, columns :data:`OPEN_HOURS_COLUMNS`:
        ``subscriber_id`` (int64), ``campaign_id`` (int64), ``delivered_hour`` (local hour of
        delivery, float in [0, 24)), ``weekend`` (bool, local date of delivery), ``opened``
        (bool: a human opened it; machine opens never count), ``open_hour`` (local hour of the
        first human open, NaN when unopened), ``hours_to_open`` (NaN when unopened) and
        ``hours_observed`` (hours from delivery to the last event of the log).

    Raises
    ------
    WorkbenchError
        When ``world`` is not a world (folder or loaded), or ``weekdays`` is not a bool or None.
    DataError
        When a table breaks the data contract.
    """
    from workbench import db

    if weekdays not in (True, False, None):
        raise WorkbenchError(f"open_hours: weekdays must be True, False or None, not {weekdays!r}")
    with db.session(world, tables=["email_events"]) as con:
        kinds = dict(
            con.execute(
                "SELECT event_type, count(*) FROM email_events "
                "WHERE event_type IN ('delivered', 'sent') GROUP BY ALL"
            ).fetchall()
        )
        kind = "delivered" if kinds.get("delivered", 0) > 0 else "sent"
        raw = con.execute(_SQL.format(kind=kind)).df()
    return _table(raw, weekdays)


def _table(raw: pd.DataFrame, weekdays: bool | None) -> pd.DataFrame:
    """The documented columns from the query's raw times (microseconds, UTC)."""
    t = raw["t_us"].to_numpy(dtype="float64")
    tz = raw["tz_offset_h"].to_numpy(dtype="float64")
    o = raw["open_us"].to_numpy(dtype="float64", na_value=np.nan)
    local = _local(t, tz)
    weekend = ((np.floor(local / 86400).astype("int64") + 3) % 7) >= 5
    to_open = (o - t) / 3.6e9
    out = pd.DataFrame(
        {
            "subscriber_id": raw["subscriber_id"].to_numpy(dtype="int64"),
            "campaign_id": raw["campaign_id"].to_numpy(dtype="int64"),
            "delivered_hour": np.mod(local, 86400) / 3600.0,
            "weekend": weekend,
            "opened": ~np.isnan(o),
            "open_hour": np.mod(_local(o, tz), 86400) / 3600.0,
            "hours_to_open": to_open,
            "hours_observed": (raw["end_us"].to_numpy(dtype="float64") - t) / 3.6e9,
        }
    )
    if weekdays is not None:
        out = out[out["weekend"] != weekdays].reset_index(drop=True)
    return out
