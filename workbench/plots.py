"""Figures shared by the notebooks. Each function takes a tidy table and returns a Figure.

Figures are drawn with matplotlib only, sized for a report page, and carry their own titles and
axis labels so that a stakeholder can read them without the code.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

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
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def wrap_label(text: object, width: int = 28) -> str:
    """``text`` on lines of at most ``width`` characters, for a tick label or a legend entry.

    Segment names (``"evening readers · lifestyle content · home buyers"``) break between
    their terms; longer terms, and other text, break between words.
    """
    text = str(text)
    if len(text) <= width:
        return text
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines += textwrap.wrap(part, width) or [part]
    return "\n".join(lines)


def _wrapped(labels: Sequence[object], width: int) -> list[str]:
    return [wrap_label(x, width) for x in labels]


def share_bars(
    table: pd.DataFrame,
    label: str = "group",
    value: str = "share",
    title: str = "",
    xlabel: str = "share of subscribers",
    ylabel: str = "",
) -> Figure:
    """Horizontal bars of one value per label, largest on top, with the value written on each.

    Long labels (segment names) are wrapped onto several lines.
    """
    t = table.sort_values(value)
    labels = _wrapped(t[label].astype(str), 32)
    lines = max((x.count("\n") + 1 for x in labels), default=1)
    fig, (ax,) = _fig(8, (0.3 + 0.17 * lines) * len(t) + 1.2)
    bars = ax.barh(range(len(t)), t[value], color="#4c72b0")
    ax.set_yticks(range(len(t)), labels)
    fmt = "{:.0%}" if t[value].max() <= 1 else "{:,.0f}"
    ax.bar_label(bars, labels=[fmt.format(v) for v in t[value]], padding=3, fontsize=9)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel or str(label))
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
    cbar_label: str = "",
) -> Figure:
    """A labelled heatmap of a 2-D table (rows on the y axis), values written in the cells.

    Long row names (segment names) are wrapped onto several lines; long column names are
    slanted so that neighbours do not overlap. ``cbar_label`` names the colour scale, whose
    ticks are percentages when ``fmt`` is. The figure stays within a report page's width.
    """
    values = table.to_numpy(dtype=float)
    ylabels = _wrapped(table.index, 30)
    xlabels = [str(c) for c in table.columns]
    long = max((len(x) for x in xlabels), default=0) > 6  # names, not numbers: slant them
    lines = max((y.count("\n") + 1 for y in ylabels), default=1)
    label_in = 0.075 * max((len(line) for y in ylabels for line in y.split("\n")), default=1)
    width = min(10.0, max(6.0, 0.42 * table.shape[1] + label_in + 2.2))
    slant = 0.06 * max((len(x) for x in xlabels), default=0) if long else 0.0
    height = max(2.5, (0.3 + 0.15 * lines) * table.shape[0] + 1.5 + slant)
    fig, (ax,) = _fig(width, height)
    im = ax.imshow(values, aspect="auto", cmap=cmap)
    ax.set_xticks(
        range(table.shape[1]),
        xlabels,
        rotation=35 if long else 0,
        ha="right" if long else "center",
        rotation_mode="anchor",
    )
    ax.set_yticks(range(table.shape[0]), ylabels)
    if fmt and values.size <= 400:
        hi = np.nanmax(values) if np.isfinite(values).any() else 0
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                color = "white" if v > 0.6 * hi else "black"
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8, color=color)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    bar = fig.colorbar(im, ax=ax, shrink=0.8, label=cbar_label)
    if fmt and "%" in fmt:
        _percent(bar.ax.yaxis)
    return fig


#: Marker shapes that, with the tab10 colours, tell up to 20 lines apart.
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<")


def series_styles(n: int) -> list[dict[str, Any]]:
    """Colour and marker of ``n`` lines: tab10's ten distinct colours, then new markers."""
    colours = plt.get_cmap("tab10").colors
    return [
        {"color": colours[i % 10], "marker": _MARKERS[(i + i // 10) % len(_MARKERS)]}
        for i in range(n)
    ]


def lines_by_group(
    table: pd.DataFrame,
    x: str,
    ys: Sequence[str],
    group: str = "group",
    titles: Sequence[str] = (),
    xlabel: str = "",
    ylabels: Sequence[str] = (),
    percent: bool = True,
    title: str = "",
) -> Figure:
    """One panel per column in ``ys``, one line per group, ``x`` on the horizontal axis.

    Each group keeps one colour (tab10: ten colours far apart) and one marker shape in every
    panel; the legend, right of the last panel, names them. ``title`` (optional) heads the
    whole figure.
    """
    groups = sorted(table[group].unique(), key=str)
    styles = dict(zip(groups, series_styles(len(groups)), strict=True))
    fig, axes = _fig(min(10.0, 4.0 * len(ys) + 2.0), 4.0, ncols=len(ys))
    for k, (ax, y) in enumerate(zip(axes, ys, strict=True)):
        for name, part in table.groupby(group, sort=False):
            part = part.sort_values(x)
            ax.plot(part[x], part[y], ms=5, lw=1.6, label=str(name), **styles[name])
        ax.set_xlabel(xlabel or x)
        ax.set_ylabel(ylabels[k] if k < len(ylabels) else y)
        ax.set_title(titles[k] if k < len(titles) else "")
        if percent:
            _percent(ax.yaxis)
        _despine(ax)
    handles, labels = axes[-1].get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: str(labels[i]))
    axes[-1].legend(
        [handles[i] for i in order],
        [wrap_label(labels[i], 24) for i in order],
        fontsize=9,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    if title:
        fig.suptitle(title)
    return fig


def distributions(
    table: pd.DataFrame,
    value: str,
    group: str = "group",
    title: str = "",
    xlabel: str = "",
    log: bool = True,
    ylabel: str = "",
) -> Figure:
    """Box plots of ``value`` per group (log scale by default), medians marked."""
    order = table.groupby(group)[value].median().sort_values().index
    data = [table.loc[table[group] == g, value].to_numpy() for g in order]
    fig, (ax,) = _fig(8, 0.45 * len(order) + 1.5)
    ax.boxplot(
        data,
        orientation="horizontal",
        tick_labels=_wrapped([str(g) for g in order], 30),
        showfliers=False,
    )
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel or value)
    ax.set_ylabel(ylabel or str(group))
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


def small_multiples(
    table: pd.DataFrame,
    title: str = "",
    ncols: int = 4,
    xlabel: str = "",
    ylabel: str = "",
) -> Figure:
    """One small line panel per column of ``table`` over its index (e.g. weeks), each on its own
    scale and titled by the column name (underscores read as spaces).

    ``xlabel`` and ``ylabel`` are written once for all panels (e.g. "week starting", "per
    week"); dates on the horizontal axes are written short (month and day).
    """
    import matplotlib.dates as mdates
    from matplotlib.ticker import MaxNLocator

    n = max(1, table.shape[1])
    rows = -(-n // ncols)
    cols = min(n, ncols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(min(10.0, 2.6 * cols), 2.3 * rows), squeeze=False,
        layout="constrained",
    )  # fmt: skip
    dates = isinstance(table.index, pd.DatetimeIndex)
    for ax, col in zip(axes.ravel(), table.columns, strict=False):
        ax.plot(table.index, table[col].to_numpy(), marker="o", ms=3)
        ax.set_title(str(col).replace("_", " "))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(4))
        if dates:
            loc = mdates.AutoDateLocator(maxticks=4)
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(4))
        _despine(ax)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(title)
    if xlabel:
        fig.supxlabel(xlabel)
    if ylabel:
        fig.supylabel(ylabel)
    return fig


def show(fig: Figure | Axes) -> None:
    """Show ``fig`` (a Figure, or an Axes of one) here, in the order of a cell's outputs, and
    close it.

    A figure a cell builds is otherwise shown once more when the cell ends (the inline
    backend shows every open figure), after the cell's tables; a figure returned as a cell's
    last value would be shown twice.
    """
    from IPython.display import display

    if isinstance(fig, Axes):
        fig = fig.figure
    display(fig)
    plt.close(fig)
