"""Figures for attribution: top paths, transition heatmap, shares by model, scorecard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import PercentFormatter

from workbench.attribution.markov import MarkovAttribution


def _ax(ax: Axes | None, size: tuple[float, float]) -> Axes:
    return plt.subplots(figsize=size, layout="constrained")[1] if ax is None else ax


def plot_top_paths(paths: pd.DataFrame, n: int = 15, ax: Axes | None = None) -> Axes:
    """Horizontal bars of the ``n`` paths with most journeys, split converted / not converted."""
    p = paths.assign(journeys=paths["total_conversions"] + paths["total_null"])
    top = p.nlargest(n, "journeys", keep="first").iloc[::-1]
    ax = _ax(ax, (8, 0.3 * len(top) + 1.2))
    y = np.arange(len(top))
    ax.barh(y, top["total_conversions"], color="tab:green", label="converted")
    ax.barh(y, top["total_null"], left=top["total_conversions"], color="0.75", label="not")
    ax.set_yticks(y, top["path"])
    ax.set_xlabel("journeys")
    ax.set_ylabel("path (channels in order)")
    conv = top["total_conversions"].sum() / max(top["journeys"].sum(), 1)
    ax.set_title(f"The {len(top)} most common paths: {conv:.0%} of their journeys converted")
    ax.legend(loc="lower right", frameon=False)
    return ax


def plot_transition_heatmap(
    model: MarkovAttribution, max_states: int = 25, ax: Axes | None = None
) -> Axes:
    """Heatmap of the fitted chain's transition probabilities (the first ``max_states`` states)."""
    tm = model.transition_matrix()
    if len(tm) > max_states + 1:
        keep = tm.index[1 : max_states + 1].tolist()
        tm = tm.loc[["(start)", *keep], [*keep, "(conversion)", "(null)"]]
    ax = _ax(ax, (0.45 * tm.shape[1] + 3, 0.4 * tm.shape[0] + 2))
    im = ax.imshow(tm.to_numpy(), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(np.arange(tm.shape[1]), tm.columns, rotation=60, ha="right")
    ax.set_yticks(np.arange(tm.shape[0]), tm.index)
    ax.set_xlabel("to")
    ax.set_ylabel("from")
    ax.set_title(f"Transition probabilities (Markov order {model.order})")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="probability")
    return ax


def plot_shares(
    results: pd.DataFrame, column: str = "share", truth: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:  # fmt: skip
    """Grouped bars: each channel's credited share under each model (and the true share)."""
    wide = results.pivot(index="channel", columns="model", values=column)
    wide = wide[list(dict.fromkeys(results["model"]))]
    if truth is not None:
        key = "true_share" if column == "share" else "true_value_share"
        wide["truth (incremental)"] = truth.set_index("channel")[key].reindex(wide.index)
    ax = _ax(ax, (10, 4.5))
    k = wide.shape[1]
    width = 0.8 / k
    x = np.arange(len(wide))
    for i, col in enumerate(wide.columns):
        style = {"color": "black", "alpha": 0.85} if col.startswith("truth") else {}
        ax.bar(x + (i - (k - 1) / 2) * width, wide[col].fillna(0), width, label=col, **style)
    ax.set_xticks(x, wide.index, rotation=20, ha="right", rotation_mode="anchor")
    ax.set_xlabel("channel")
    ax.set_ylabel("share of conversions" if column == "share" else "share of value")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              title="model")  # fmt: skip
    models = wide[[c for c in wide.columns if not str(c).startswith("truth")]]
    spread = (models.max(axis=1) - models.min(axis=1)).sort_values()
    ax.set_title(
        f"Credited share by model: they disagree most on {spread.index[-1]} "
        f"({models.loc[spread.index[-1]].min():.0%} to {models.loc[spread.index[-1]].max():.0%})"
        if len(spread) and models.shape[1] > 1
        else "Credited share by model"
    )
    return ax


def plot_segment_shares(results: pd.DataFrame, segment_col: str = "segment",
                        ax: Axes | None = None) -> Axes:  # fmt: skip
    """Heatmap of one model's credited share per segment (rows) and channel (columns)."""
    wide = results.pivot(index=segment_col, columns="channel", values="share")
    ax = _ax(ax, (0.9 * wide.shape[1] + 3, 0.45 * wide.shape[0] + 2))
    im = ax.imshow(wide.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(wide.shape[1]), wide.columns, rotation=30, ha="right",
                  rotation_mode="anchor")  # fmt: skip
    ax.set_yticks(np.arange(wide.shape[0]), wide.index)
    hi = np.nanmax(wide.to_numpy()) if wide.size else 0
    for (i, j), v in np.ndenumerate(wide.to_numpy()):
        ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=9,
                color="k" if v > 0.7 * hi else "w")  # fmt: skip
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8, label="share of the segment's conversions")
    bar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("channel")
    ax.set_ylabel(str(segment_col).replace("_", " "))
    spread = (wide.max(axis=0) - wide.min(axis=0)).sort_values()
    ax.set_title(
        f"Credited share per segment: {spread.index[-1]} varies most "
        f"({wide[spread.index[-1]].min():.0%} to {wide[spread.index[-1]].max():.0%})"
        if len(spread) and len(wide) > 1
        else "Credited share per segment"
    )
    return ax


def plot_scorecard(errors: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Credited versus true incremental share, one row per channel (named), one marker per
    model and a black bar at the true share: the closer a model's marker to the bar, the
    better. The title names the model closest to the truth on average."""
    channels = errors.groupby("channel")["true_share"].first().sort_values()
    models = list(dict.fromkeys(errors["model"]))
    row = {c: i for i, c in enumerate(channels.index)}
    ax = _ax(ax, (9, 0.55 * len(channels) + 1.8))
    k = len(models)
    step = min(0.1, 0.7 / max(k, 1))
    for i, (model, g) in enumerate(errors.groupby("model", sort=False)):
        y = g["channel"].map(row).to_numpy(float) + ((k - 1) / 2 - i) * step  # first on top
        ax.scatter(g["share"], y, label=model, s=30, zorder=3)
    ax.plot(channels.to_numpy(), np.arange(len(channels)), "|", color="k", ms=22, mew=2.5,
            label="truth (incremental)", zorder=2)  # fmt: skip
    ax.set_yticks(np.arange(len(channels)), channels.index)
    for y in np.arange(len(channels) - 1) + 0.5:
        ax.axhline(y, color="0.9", lw=0.8, zorder=0)
    ax.set_ylim(-0.6, len(channels) - 0.4)
    ax.set_xlim(left=-0.015 * max(ax.get_xlim()[1], 0.01))  # dots at zero stay whole
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of conversions: credited by the model, or true incremental (black bar)")
    ax.set_ylabel("channel")
    mae = (errors["share"] - errors["true_share"]).abs().groupby(errors["model"]).mean()
    best = mae.idxmin() if len(mae) else None
    ax.set_title(
        f"Attribution vs truth: {best} comes closest (mean error {mae[best]:.1%} a channel)"
        if best is not None
        else "Attribution vs truth"
    )
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              title="model")  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    return ax
