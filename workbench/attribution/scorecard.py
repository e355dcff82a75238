"""How close attribution comes to the truth: scorecard against ``truth_channels``, holdout lift.

Attribution models split observed conversions among the channels that touched them; they do not
measure what a channel *causes*. The simulator knows the causal answer (``truth_channels``: the
conversions lost when a channel is switched off), and channel holdout experiments estimate it from
data. This module compares the two.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import DataError, WorkbenchError
from workbench.schema import CHANNELS


def true_shares(truth_channels: pd.DataFrame) -> pd.DataFrame:
    """Each channel's share of the true incremental conversions and revenue.

    Negative increments (a channel that costs conversions) count as zero in the shares.

    Returns
    -------
    DataFrame
        ``channel, incremental_conversions, incremental_revenue, true_share,
        true_value_share``.
    """
    for col in ("channel", "incremental_conversions", "incremental_revenue"):
        if col not in truth_channels.columns:
            raise DataError("truth_channels", col, "missing required column")
    t = truth_channels[["channel", "incremental_conversions", "incremental_revenue"]].copy()
    for src, dst in (("incremental_conversions", "true_share"),
                     ("incremental_revenue", "true_value_share")):  # fmt: skip
        pos = t[src].clip(lower=0)
        t[dst] = pos / pos.sum() if pos.sum() > 0 else 0.0
    return t.sort_values("channel", kind="stable").reset_index(drop=True)


def share_errors(results: pd.DataFrame, truth_channels: pd.DataFrame) -> pd.DataFrame:
    """Credited versus true incremental shares, per model and channel.

    Parameters
    ----------
    results : DataFrame
        :func:`~workbench.attribution.compare_models` output (``model, channel, share,
        value_share``; no segment column).
    truth_channels : DataFrame
        The world's ``truth_channels`` table.

    Returns
    -------
    DataFrame
        ``model, channel, share, true_share, abs_error, value_share, true_value_share,
        value_abs_error``; a channel a model never credits has share 0.
    """
    truth = true_shares(truth_channels)
    out = []
    for model, r in results.groupby("model", sort=False):
        m = truth.merge(r[["channel", "share", "value_share"]], on="channel", how="outer")
        m = m.fillna({"share": 0.0, "value_share": 0.0, "true_share": 0.0,
                      "true_value_share": 0.0})  # fmt: skip
        m.insert(0, "model", model)
        out.append(m)
    e = pd.concat(out, ignore_index=True)
    e["abs_error"] = (e["share"] - e["true_share"]).abs()
    e["value_abs_error"] = (e["value_share"] - e["true_value_share"]).abs()
    cols = ["model", "channel", "share", "true_share", "abs_error", "value_share",
            "true_value_share", "value_abs_error"]  # fmt: skip
    return e[cols]


def scorecard(results: pd.DataFrame, truth_channels: pd.DataFrame) -> pd.DataFrame:
    """One row per model: how well its credited shares match the true incremental shares.

    Returns
    -------
    DataFrame
        ``model, spearman`` (rank correlation of credited and true shares over the channels),
        ``mean_abs_error`` and ``max_abs_error`` of the conversion shares, ``value_mean_abs_error``,
        sorted best (lowest mean absolute error) first.
    """
    e = share_errors(results, truth_channels)
    rows = []
    for model, g in e.groupby("model", sort=False):
        rho = stats.spearmanr(g["share"], g["true_share"]).statistic if len(g) > 2 else np.nan
        rows.append(
            {
                "model": model,
                "spearman": float(rho),
                "mean_abs_error": float(g["abs_error"].mean()),
                "max_abs_error": float(g["abs_error"].max()),
                "value_mean_abs_error": float(g["value_abs_error"].mean()),
            }
        )
    card = pd.DataFrame(rows)
    return card.sort_values(["mean_abs_error", "model"], kind="stable").reset_index(drop=True)


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
