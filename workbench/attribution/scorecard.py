"""How close attribution comes to the truth: scorecard against ``truth_channels`` (evaluation only).

Attribution models split observed conversions among the channels that touched them; they do not
measure what a channel *causes*. The simulator knows the causal answer (``truth_channels``: the
conversions lost when a channel is switched off, loaded with :func:`workbench.truth.load_truth`);
channel holdout experiments estimate it from data (:mod:`workbench.attribution.holdout`). This
module scores credited shares against the true ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from workbench.errors import DataError


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


def load_channel_truth(world: str | Path | None) -> pd.DataFrame | None:
    """The world's ``truth_channels`` table, or ``None`` (a paths file, or real data).

    Evaluation code only: the table is read with :func:`workbench.truth.load_truth`.
    """
    if world is None:
        return None
    from workbench.truth import load_truth

    return load_truth(world, tables=["truth_channels"]).get("truth_channels")
