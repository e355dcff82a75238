"""Figures of purchase behaviour: survival curves, repeat rate by cohort, next-category lift.

Each function takes a table of :mod:`workbench.clv.repeat`, draws on ``ax`` (a new figure
when none is given) and returns the Figure. Titles say what is shown, both axes are labelled,
and legends sit outside the panel, where they never cover data.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from workbench.clv.repeat import ALL
from workbench.errors import DataError
from workbench.plots import wrap_label

__all__ = ["plot_category_affinity", "plot_repeat_by_cohort", "plot_survival"]


def _axes(ax: Axes | None, width: float, height: float) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return fig, ax


def _need(table: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(name, missing[0], "required column missing")
    if table.empty:
        raise DataError(name, None, "no rows to draw")


def plot_survival(
    km: pd.DataFrame,
    *,
    title: str = "Share still waiting after each number of days (Kaplan–Meier)",
    xlabel: str = "days",
    ylabel: str = "share still waiting",
    max_groups: int = 8,
    ax: Axes | None = None,
) -> Figure:
    """Kaplan–Meier step curves, one per group, each with its shaded pointwise interval.

    The pooled group ``"all"`` is drawn in black, the others in distinct colours; each
    curve starts at 1 on day 0. With more than ``max_groups`` groups, ``"all"`` and the
    largest others are drawn and the title says how many were left out.

    Parameters
    ----------
    km : pandas.DataFrame
        The table of :func:`workbench.clv.repeat.kaplan_meier`.
    title : str
        Title of the panel; the interval's level is added to it.
    xlabel, ylabel : str
        Axis labels, e.g. ``"days since signup"`` and ``"share without an order yet"``.
    max_groups : int, default 8
        Most curves drawn (a legible figure).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panel.

    Raises
    ------
    DataError
        When ``km`` lacks a column of the Kaplan–Meier table or has no rows.
    ValueError
        When ``max_groups`` is below 1.
    """
    _need(km, "km", ["group", "time", "survival", "low", "high", "at_risk"])
    if max_groups < 1:
        raise ValueError(f"max_groups must be at least 1, got {max_groups}")
    sizes = km.groupby("group", sort=False)["at_risk"].first()
    groups = list(sizes.index)
    left_out = 0
    if len(groups) > max_groups:
        others = sizes.drop(ALL, errors="ignore").sort_values(ascending=False, kind="stable")
        keep = ([ALL] if ALL in sizes.index else []) + list(others.index)
        keep = set(keep[:max_groups])
        left_out = len(groups) - len(keep)
        groups = [g for g in groups if g in keep]
    fig, ax = _axes(ax, 9.0, 4.5)
    colours = iter(plt.get_cmap("tab10").colors)
    for g in groups:
        c = km[km["group"] == g].sort_values("time", kind="stable")
        x = np.r_[0.0, c["time"].to_numpy(float)]
        y, lo, hi = (np.r_[1.0, c[k].to_numpy(float)] for k in ("survival", "low", "high"))
        colour = "black" if g == ALL else next(colours)
        label = wrap_label(f"{g} (n={int(sizes[g]):,})", 26)
        ax.step(x, y, where="post", color=colour, lw=2.2 if g == ALL else 1.5, label=label,
                zorder=3 if g == ALL else 2)  # fmt: skip
        ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.12, lw=0)
    level = km.attrs.get("confidence")
    band = f"shaded: {level:.0%} interval" if level else "shaded: interval"
    head = f"{title}\n({band}"
    head += f"; the {left_out} smallest groups not drawn)" if left_out else ")"
    ax.set_title(head)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def _cohort_labels(cohorts: pd.Series) -> list[str]:
    ts = pd.DatetimeIndex(cohorts)
    if (ts.day == 1).all() and (ts.normalize() == ts).all():
        return [t.strftime("%b %Y") for t in ts]
    return [t.strftime("%Y-%m-%d") for t in ts]


def plot_repeat_by_cohort(
    table: pd.DataFrame,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Repeat rate of each first-order cohort, with its interval and the customers counted.

    Each bar is the share of a cohort's counted customers who bought again within the
    window; the whisker is its interval; the text above says the rate and how many customers
    it rests on. Cohorts whose windows are all still open have no bar, only a note.

    Parameters
    ----------
    table : pandas.DataFrame
        The table of :func:`workbench.clv.repeat.repeat_rate_by_cohort`.
    title : str, optional
        Title; by default it names the window (from ``table.attrs``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panel.

    Raises
    ------
    DataError
        When ``table`` lacks a column of the repeat-rate table or has no rows.
    """
    cols = ["cohort", "customers", "excluded", "counted", "repeaters", "repeat_rate", "low", "high"]
    _need(table, "table", cols)
    t = table.sort_values("cohort", kind="stable").reset_index(drop=True)
    labels = _cohort_labels(t["cohort"])
    fig, ax = _axes(ax, max(6.0, min(10.0, 0.75 * len(t) + 3.5)), 4.2)
    x = np.arange(len(t))
    rate = t["repeat_rate"].to_numpy(float)
    low, high = t["low"].to_numpy(float), t["high"].to_numpy(float)
    shown = np.isfinite(rate)
    ax.bar(x[shown], rate[shown], color="#4c72b0", width=0.7, label="repeat rate")
    level = table.attrs.get("confidence")
    ax.errorbar(
        x[shown],
        rate[shown],
        yerr=np.clip(np.vstack([rate[shown] - low[shown], high[shown] - rate[shown]]), 0, None),
        fmt="none",
        ecolor="#333333",
        capsize=3,
        lw=1.2,
        label=f"{level:.0%} interval" if level else "interval",
    )
    top = float(np.nanmax(high)) if np.isfinite(high).any() else 0.5
    few = len(t) > 8
    for i in range(len(t)):
        if shown[i]:
            text = f"{rate[i]:.0%}\n" + (f"{t.counted[i]:,}" if few else f"of {t.counted[i]:,}")
            ax.text(x[i], high[i] + 0.015 * top, text, ha="center", va="bottom", fontsize=9)
        else:
            ax.text(x[i], 0.02 * top, "window\nnot over", ha="center", va="bottom", fontsize=9,
                    color="#555555")  # fmt: skip
    slant = len(t) > 6
    ax.set_xticks(x, labels, rotation=35 if slant else 0, ha="right" if slant else "center",
                  rotation_mode="anchor")  # fmt: skip
    ax.set_ylim(0, top * 1.3)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    window = table.attrs.get("window_days")
    within = f"within {window} days" if window else "within the window"
    ax.set_title(title or f"Share of each first-order cohort who buy again {within}")
    excluded = int(t["excluded"].sum())
    ax.set_xlabel(
        f"cohort (first order); above each bar: rate and customers counted\n"
        f"{excluded:,} recent customers left out: their window is not over"
    )
    ax.set_ylabel(f"bought again {within}")
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def plot_category_affinity(
    affinity: pd.DataFrame,
    *,
    segment: str = ALL,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Heatmap of next-category lift: rows the category bought, columns the one bought next.

    Colours are diverging around a lift of 1 on a log scale (a lift of 2 and one of 1/2 are
    equally strong), green above 1 and brown below, capped at 4x either way. Each cell holds
    the lift and its number of pairs; lifts from fewer pairs than the table's ``min_pairs``
    are written in brackets (too few to act on).

    Parameters
    ----------
    affinity : pandas.DataFrame
        The table of :func:`workbench.clv.repeat.next_category_affinity`.
    segment : str, default "all"
        The segment drawn.
    title : str, optional
        Title; by default it names the segment.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the panel and its colour bar.

    Raises
    ------
    DataError
        When ``affinity`` lacks a column of the affinity table or has no rows.
    ValueError
        When ``segment`` is not in the table.
    """
    cols = ["segment", "from_category", "to_category", "pairs", "lift", "few_pairs"]
    _need(affinity, "affinity", cols)
    part = affinity[affinity["segment"].astype(str) == str(segment)]
    if part.empty:
        segs = ", ".join(map(str, affinity["segment"].unique()))
        raise ValueError(f"segment {segment!r} is not in the table; segments are {segs}")
    cats = sorted(set(part["from_category"]) | set(part["to_category"]), key=str)
    lift = part.pivot(index="from_category", columns="to_category", values="lift")
    lift = lift.reindex(index=cats, columns=cats)
    pairs = part.pivot(index="from_category", columns="to_category", values="pairs")
    pairs = pairs.reindex(index=cats, columns=cats)
    few = part.pivot(index="from_category", columns="to_category", values="few_pairs")
    few = few.reindex(index=cats, columns=cats).fillna(False).astype(bool)
    with np.errstate(divide="ignore"):
        logs = np.log2(lift.to_numpy(float))
    cap = 2.0
    shown = np.clip(logs, -cap, cap)
    n = len(cats)
    width = min(10.0, max(6.0, 1.0 * n + 4.0))
    fig, ax = _axes(ax, width, max(4.0, 0.7 * n + 2.4))
    norm = Normalize(vmin=-cap, vmax=cap)
    cmap = plt.get_cmap("BrBG")
    im = ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, norm=norm, aspect="auto")
    for (i, j), v in np.ndenumerate(lift.to_numpy(float)):
        if not np.isfinite(v):
            continue
        k = int(pairs.iat[i, j])
        text = f"{v:.1f}×" if not few.iat[i, j] else f"({v:.1f}×)"
        dark = abs(shown[i, j]) > 0.6 * cap
        ax.text(j, i, f"{text}\n{k:,} pairs", ha="center", va="center", fontsize=9,
                color="white" if dark else "black")  # fmt: skip
    names = [wrap_label(str(c).replace("_", " "), 16) for c in cats]
    ax.set_xticks(range(n), names, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(n), names)
    min_pairs = affinity.attrs.get("min_pairs")
    fewer = f"fewer than {min_pairs} pairs" if min_pairs else "too few pairs"
    ax.set_title(
        title
        or f"What customers buy next ({segment}): lift over the base rate\n"
        f"1.0× = as often as usual; in brackets: {fewer}"
    )
    ax.set_xlabel("category of the next purchase")
    ax.set_ylabel("category bought")
    ticks = np.arange(-cap, cap + 1)
    bar = fig.colorbar(im, ax=ax, shrink=0.85, ticks=ticks)
    bar.ax.set_yticklabels([f"{2.0**t:g}×" if t >= 0 else f"1/{2.0**-t:g}×" for t in ticks])
    bar.set_label("lift (log scale)")
    return fig
