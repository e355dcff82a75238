"""Figures shared by the notebooks. Each function takes a tidy table and returns a Figure.

Figures are drawn with matplotlib only, sized for a report page, and carry their own titles and
axis labels so that a stakeholder can read them without the code.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter


def _fig(width: float = 8.0, height: float = 4.0, ncols: int = 1) -> tuple[Figure, np.ndarray]:
    fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False, layout="constrained")
    return fig, axes[0]


def _despine(ax: Axes) -> None:
    """Drop the top and right frame lines."""
    ax.spines[["top", "right"]].set_visible(False)


def _percent(axis: Axis) -> None:
    """Ticks of shares (0 to 1) written as percentages."""
    axis.set_major_formatter(PercentFormatter(1.0))


def _legend_right(ax: Axes) -> None:
    """The legend outside the axes, on their right, where it never covers the data."""
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def share_bars(
    table: pd.DataFrame,
    label: str = "group",
    value: str = "share",
    title: str = "",
    xlabel: str = "share of subscribers",
) -> Figure:
    """Horizontal bars of one value per label, largest on top, with the value written on each."""
    t = table.sort_values(value)
    fig, (ax,) = _fig(8, 0.45 * len(t) + 1.2)
    bars = ax.barh(t[label].astype(str), t[value], color="#4c72b0")
    fmt = "{:.0%}" if t[value].max() <= 1 else "{:,.0f}"
    ax.bar_label(bars, labels=[fmt.format(v) for v in t[value]], padding=3, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    _despine(ax)
    ax.set_xlim(0, t[value].max() * 1.15)
    if t[value].max() <= 1:
        _percent(ax.xaxis)
    return fig


def heatmap(
    table: pd.DataFrame,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    fmt: str | None = "{:.0%}",
    cmap: str = "Blues",
) -> Figure:
    """A labelled heatmap of a 2-D table (rows on the y axis), values written in the cells."""
    values = table.to_numpy(dtype=float)
    fig, (ax,) = _fig(max(6.0, 0.45 * table.shape[1] + 3), 0.45 * table.shape[0] + 1.5)
    im = ax.imshow(values, aspect="auto", cmap=cmap)
    xlabels = [str(c) for c in table.columns]
    long = max((len(x) for x in xlabels), default=0) > 6  # names, not numbers: slant them
    ax.set_xticks(
        range(table.shape[1]),
        xlabels,
        rotation=35 if long else 0,
        ha="right" if long else "center",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(table.shape[0]), [str(i) for i in table.index])
    if fmt and values.size <= 400:
        hi = np.nanmax(values) if np.isfinite(values).any() else 0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                color = "white" if v > 0.6 * hi else "black"
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8, color=color)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def lines_by_group(
    table: pd.DataFrame,
    x: str,
    ys: Sequence[str],
    group: str = "group",
    titles: Sequence[str] = (),
    xlabel: str = "",
    ylabels: Sequence[str] = (),
    percent: bool = True,
) -> Figure:
    """One panel per column in ``ys``, one line per group, ``x`` on the horizontal axis."""
    fig, axes = _fig(5.0 * len(ys), 4.0, ncols=len(ys))
    for k, (ax, y) in enumerate(zip(axes, ys, strict=True)):
        for name, part in table.groupby(group, sort=True):
            part = part.sort_values(x)
            ax.plot(part[x], part[y], marker="o", ms=3, label=str(name))
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabels[k] if k < len(ylabels) else y)
        ax.set_title(titles[k] if k < len(titles) else "")
        if percent:
            _percent(ax.yaxis)
        _despine(ax)
    _legend_right(axes[-1])
    return fig


def distributions(
    table: pd.DataFrame,
    value: str,
    group: str = "group",
    title: str = "",
    xlabel: str = "",
    log: bool = True,
) -> Figure:
    """Box plots of ``value`` per group (log scale by default), medians marked."""
    order = table.groupby(group)[value].median().sort_values().index
    data = [table.loc[table[group] == g, value].to_numpy() for g in order]
    fig, (ax,) = _fig(8, 0.45 * len(order) + 1.5)
    ax.boxplot(
        data, orientation="horizontal", tick_labels=[str(g) for g in order], showfliers=False
    )
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or value)
    ax.set_title(title)
    _despine(ax)
    return fig


def stacked_shares(
    table: pd.DataFrame,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "share of subscribers",
) -> Figure:
    """Stacked areas of shares over an ordered index (e.g. lifecycle stages week by week)."""
    shares = table.div(table.sum(axis=1), axis=0).fillna(0.0)
    fig, (ax,) = _fig(9, 4)
    ax.stackplot(shares.index, shares.T.to_numpy(), labels=[str(c) for c in shares.columns])
    ax.set_ylim(0, 1)
    _percent(ax.yaxis)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _legend_right(ax)
    ax.margins(x=0)
    if isinstance(shares.index, pd.DatetimeIndex) or hasattr(shares.index[0], "isoformat"):
        fig.autofmt_xdate()
    return fig


def small_multiples(table: pd.DataFrame, title: str = "", ncols: int = 4) -> Figure:
    """One small line panel per column of ``table`` over its index (e.g. weeks), each on its own
    scale and titled by the column name (underscores read as spaces)."""
    n = max(1, table.shape[1])
    rows = -(-n // ncols)
    cols = min(n, ncols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False, layout="constrained"
    )
    for ax, col in zip(axes.ravel(), table.columns, strict=False):
        ax.plot(table.index, table[col].to_numpy(), marker="o", ms=2)
        ax.set_title(str(col).replace("_", " "))
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="x", labelrotation=35, labelsize=7)
        _despine(ax)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig


def show(fig: Figure) -> None:
    """Show ``fig`` here, in the order of a cell's outputs, and close it.

    A figure a cell builds is otherwise shown once more when the cell ends (the inline
    backend shows every open figure), after the cell's tables.
    """
    from IPython.display import display

    display(fig)
    plt.close(fig)
