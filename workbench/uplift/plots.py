"""Figures of uplift targeting: ranking curves, calibration, gain by budget, the segments.

Each function takes a table of :mod:`workbench.uplift.metrics`, :mod:`~workbench.uplift.policy`
or :mod:`~workbench.uplift.segments` and returns a matplotlib Figure (no pyplot state is kept
beyond the figure; works with the Agg backend) whose title says what it shows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench.plots import _despine, _fig, _legend_right, _percent, series_styles

__all__ = ["plot_calibration", "plot_gain", "plot_segments", "plot_uplift_curves"]

RANDOM, BAND, MAIN = "#888888", "#9ecae1", "#1f77b4"


def plot_uplift_curves(
    curves: Mapping[str, pd.DataFrame],
    kind: str = "qini",
    *,
    outcome: str = "conversions",
) -> Figure:
    """Several models' Qini (or uplift) curves on one axis, with the random-targeting line.

    Parameters
    ----------
    curves : mapping of str to DataFrame
        Model name -> :func:`~workbench.uplift.metrics.qini_curve` (``kind="qini"``) or
        :func:`~workbench.uplift.metrics.uplift_curve` (``kind="uplift"``) of that model.
    kind : {"qini", "uplift"}, default "qini"
        Which curve the tables hold.
    outcome : str, default "conversions"
        What the outcome counts, for the axis label.

    Returns
    -------
    Figure
        The curves against the share of the sample targeted, highest score first.

    Raises
    ------
    ValueError
        No curves, an unknown ``kind`` or a table without the ``kind`` column.
    """
    if kind not in ("qini", "uplift"):
        raise ValueError(f"kind must be 'qini' or 'uplift', got {kind!r}")
    if not curves:
        raise ValueError("no curves to plot")
    fig, (ax,) = _fig(8.5, 4.5)
    random_drawn: list[tuple[float, float]] = []
    for (name, table), style in zip(curves.items(), series_styles(len(curves)), strict=True):
        if kind not in table:
            raise ValueError(f"the curve of {name!r} has no {kind!r} column")
        ax.plot(table["fraction"], table[kind], color=style["color"], lw=1.8, label=str(name))
        end = (float(table["fraction"].iloc[-1]), float(table[kind].iloc[-1]))
        if end not in random_drawn:
            ax.plot(
                [0.0, end[0]],
                [0.0, end[1]],
                color=RANDOM,
                ls="--",
                lw=1.2,
                label="random targeting" if not random_drawn else "_nolegend_",
            )
            random_drawn.append(end)
    ax.axhline(0.0, color="#cccccc", lw=0.8, zorder=0)
    _percent(ax.xaxis)
    ax.set_xlabel("share of the sample targeted (highest predicted uplift first)")
    if kind == "qini":
        ax.set_ylabel(f"incremental {outcome} (cumulative)")
        ax.set_title(f"Qini curves: extra {outcome} as more of the list is targeted")
    else:
        ax.set_ylabel(f"uplift × people targeted ({outcome})")
        ax.set_title(f"Uplift curves: extra {outcome} as more of the list is targeted")
    _despine(ax)
    _legend_right(ax)
    return fig


def plot_calibration(table: pd.DataFrame, *, percent: bool = False) -> Figure:
    """Predicted against observed uplift by bin of the score, with 95% intervals.

    Parameters
    ----------
    table : DataFrame
        :func:`~workbench.uplift.metrics.calibration_table`.
    percent : bool, default False
        Write the uplift as percentage points (for a binary outcome: a difference of rates).

    Returns
    -------
    Figure
        One point per bin (bin 1 = highest predicted uplift) with its interval, and the line
        where observed equals predicted.
    """
    fig, (ax,) = _fig(7.5, 4.5)
    ok = table["observed"].notna()
    t = table[ok]
    err = np.vstack([t["observed"] - t["low"], t["high"] - t["observed"]])
    err = np.where(np.isfinite(err), err, 0.0)
    ax.errorbar(
        t["predicted"], t["observed"], yerr=err, fmt="o", color=MAIN, ecolor=MAIN, capsize=3,
        label="bins of the score (95% interval)",
    )  # fmt: skip
    for _, row in t.iterrows():
        ax.annotate(
            str(int(row["bin"])), (row["predicted"], row["observed"]), xytext=(5, 3),
            textcoords="offset points", fontsize=9, color="#555555",
        )  # fmt: skip
    values = np.r_[t["predicted"], t["low"].dropna(), t["high"].dropna()]
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    ax.plot([lo, hi], [lo, hi], color=RANDOM, ls="--", lw=1.2, label="observed = predicted")
    ax.axhline(0.0, color="#cccccc", lw=0.8, zorder=0)
    unit = " (percentage points)" if percent else ""
    ax.set_xlabel(f"predicted uplift, mean of the bin{unit}")
    ax.set_ylabel(f"observed uplift, treated − control{unit}")
    ax.set_title("Does the predicted uplift hold up? Bins of the score, 1 = highest")
    if percent:
        _percent(ax.xaxis)
        _percent(ax.yaxis)
    _despine(ax)
    _legend_right(ax)
    return fig


def plot_gain(gain_table: pd.DataFrame, *, outcome: str = "conversions") -> Figure:
    """Expected extra outcomes against the budget, with the bootstrap interval band.

    Parameters
    ----------
    gain_table : DataFrame
        :func:`~workbench.uplift.policy.gain_table`.
    outcome : str, default "conversions"
        What the outcome counts, for the labels.

    Returns
    -------
    Figure
        The expected incremental outcome by share of the population targeted; the budget
        with the largest expected gain is marked.
    """
    t = gain_table.sort_values("budget")
    level = t.attrs.get("interval", gain_table.attrs.get("interval"))
    band = f"{level:.0%} interval" if level else "interval"
    fig, (ax,) = _fig(8.5, 4.5)
    ok = t["low"].notna() & t["high"].notna()
    ax.fill_between(
        t.loc[ok, "budget"], t.loc[ok, "low"], t.loc[ok, "high"], color=BAND, alpha=0.6,
        lw=0, label=band,
    )  # fmt: skip
    ax.plot(t["budget"], t["incremental"], "o-", color=MAIN, lw=1.8, ms=4, label="expected")
    if t["incremental"].notna().any():
        best = t.loc[t["incremental"].idxmax()]
        ax.plot(
            [best["budget"]], [best["incremental"]], "*", color="#d62728", ms=14,
            label=f"largest gain: {best['budget']:.0%} of the list",
        )  # fmt: skip
    ax.axhline(0.0, color="#cccccc", lw=0.8, zorder=0)
    _percent(ax.xaxis)
    ax.set_xlim(0.0, max(1.0, float(t["budget"].max())))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.set_xlabel("share of the list sent the email (highest predicted uplift first)")
    ax.set_ylabel(f"extra {outcome} expected")
    ax.set_title(f"Extra {outcome} by budget")
    _despine(ax)
    _legend_right(ax)
    return fig


def plot_segments(summary: pd.DataFrame, *, percent: bool = False) -> Figure:
    """The uplift segments: their share of the list and their mean predicted uplift.

    Parameters
    ----------
    summary : DataFrame
        :func:`~workbench.uplift.segments.segment_summary`.
    percent : bool, default False
        Write the uplift as percentage points (for a binary outcome).

    Returns
    -------
    Figure
        Two panels of horizontal bars, one per segment labelled with its recommended action.
    """
    s = summary.iloc[::-1]  # first segment on top
    labels = [f"{seg}\n({action})" for seg, action in zip(s["segment"], s["action"], strict=True)]
    fig, (ax1, ax2) = _fig(11, 0.55 * len(s) + 2.0, ncols=2)
    y = np.arange(len(s))
    share = s["share"].fillna(0.0).to_numpy()
    bars = ax1.barh(y, share, color=MAIN)
    ax1.bar_label(bars, labels=[f"{v:.0%}" for v in share], padding=3, fontsize=9)
    ax1.set_yticks(y, labels)
    ax1.set_xlim(0, max(share.max(), 0.01) * 1.2)
    _percent(ax1.xaxis)
    ax1.set_xlabel("share of the list")
    ax1.set_ylabel("segment (what to do)")
    ax1.set_title("How big is each segment?")

    empty = s["n"].to_numpy() == 0
    uplift = s["mean_uplift"].fillna(0.0).to_numpy()
    bars = ax2.barh(y, uplift, color="#ff7f0e")
    fmt = (lambda v: f"{v * 100:+.1f} pt") if percent else (lambda v: f"{v:+.3g}")
    texts = ["no one" if e else fmt(v) for v, e in zip(uplift, empty, strict=True)]
    ax2.bar_label(bars, labels=texts, padding=3, fontsize=9)
    ax2.axvline(0.0, color="#555555", lw=0.8)
    ax2.sharey(ax1)
    ax2.tick_params(labelleft=False)
    span = max(float(np.abs(uplift).max()), 1e-9)
    ax2.set_xlim(min(uplift.min(), 0) - 0.35 * span, max(uplift.max(), 0) + 0.35 * span)
    if percent:
        _percent(ax2.xaxis)
    ax2.set_xlabel("mean predicted uplift" + (" (percentage points)" if percent else ""))
    ax2.set_title("What does the email do to them?")
    for ax in (ax1, ax2):
        _despine(ax)
    return fig
