"""Measured incremental lift of each channel from its ``channel_holdout`` experiments.

Where attribution splits observed conversions among channels, a holdout measures what a channel
causes: the conversion rate of the exposed minus that of the held-out subscribers. This reads only
the analysis tables (experiments, assignments, orders).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import WorkbenchError
from workbench.schema import CHANNELS


def _channel_of(experiments: pd.DataFrame) -> pd.Series:
    """The channel each experiment holds out: a ``channel`` column, else named in its text."""
    if "channel" in experiments.columns:
        return experiments["channel"].astype(str)
    text = experiments["name"].astype(str)
    if "description" in experiments.columns:
        text = text + " " + experiments["description"].fillna("").astype(str)
    found = pd.Series(pd.NA, index=experiments.index, dtype="object")
    for ch in sorted(CHANNELS, key=len, reverse=True):  # "in_app" before "app"-like prefixes
        hit = found.isna() & text.str.contains(ch, regex=False)
        found[hit] = ch
    return found


def holdout_lift(
    experiments: pd.DataFrame,
    assignments: pd.DataFrame,
    orders: pd.DataFrame,
    *,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Measured conversion lift of each channel from its ``channel_holdout`` experiments.

    A subscriber converts if they place an order within the experiment's conversion window
    after their assignment (until the end of the data when the window is 0 days). The lift is
    the difference of conversion rates, exposed minus holdout, with a Wald interval.

    Returns
    -------
    DataFrame
        ``experiment_id, channel, n_exposed, n_holdout, rate_exposed, rate_holdout, lift,
        lift_low, lift_high, relative_lift``; empty when the world has no channel holdouts.
    """
    cols = ["experiment_id", "channel", "n_exposed", "n_holdout", "rate_exposed",
            "rate_holdout", "lift", "lift_low", "lift_high", "relative_lift"]  # fmt: skip
    ex = experiments[experiments["kind"] == "channel_holdout"].copy()
    if ex.empty:
        return pd.DataFrame(columns=cols)
    if not 0 < confidence < 1:
        raise WorkbenchError(f"confidence must be in (0, 1), got {confidence}")
    ex["channel"] = _channel_of(ex)
    a = assignments.merge(
        ex[["experiment_id", "channel", "conversion_window_days"]], on="experiment_id"
    )
    window = pd.to_timedelta(a["conversion_window_days"].where(a["conversion_window_days"] > 0,
                                                               36500), unit="D")  # fmt: skip
    a = a.assign(until=a["assigned_ts"] + window, row=np.arange(len(a)))
    o = a[["row", "subscriber_id", "assigned_ts", "until"]].merge(
        orders[["subscriber_id", "ts"]], on="subscriber_id"
    )
    hit = o.loc[(o["ts"] >= o["assigned_ts"]) & (o["ts"] <= o["until"]), "row"].unique()
    a["converted"] = np.isin(a["row"].to_numpy(), hit)
    z = stats.norm.ppf(0.5 + confidence / 2)
    rows = []
    for (eid, ch), g in a.groupby(["experiment_id", "channel"], sort=True):
        hold = g["is_holdout"].to_numpy(dtype=bool)
        n1, n0 = int((~hold).sum()), int(hold.sum())
        p1 = g.loc[~hold, "converted"].mean() if n1 else np.nan
        p0 = g.loc[hold, "converted"].mean() if n0 else np.nan
        se = np.sqrt(p1 * (1 - p1) / max(n1, 1) + p0 * (1 - p0) / max(n0, 1))
        lift = p1 - p0
        rows.append([eid, ch, n1, n0, p1, p0, lift, lift - z * se, lift + z * se,
                     lift / p0 if p0 > 0 else np.nan])  # fmt: skip
    return pd.DataFrame(rows, columns=cols)
