"""Figures for attribution: top paths, transition heatmap, shares by model, scorecard."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

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
    ax.set_title(f"Top {len(top)} paths")
    ax.legend(loc="lower right")
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
    ax.set_xticks(x, wide.index, rotation=20)
    ax.set_ylabel("share of conversions" if column == "share" else "share of value")
    ax.legend(ncols=min(k, 5), fontsize="small")
    ax.set_title("Credited share by model")
    return ax


def plot_segment_shares(results: pd.DataFrame, segment_col: str = "segment",
                        ax: Axes | None = None) -> Axes:  # fmt: skip
    """Heatmap of one model's credited share per segment (rows) and channel (columns)."""
    wide = results.pivot(index=segment_col, columns="channel", values="share")
    ax = _ax(ax, (0.9 * wide.shape[1] + 3, 0.45 * wide.shape[0] + 2))
    im = ax.imshow(wide.to_numpy(), cmap="viridis", aspect="auto")
    ax.set_xticks(np.arange(wide.shape[1]), wide.columns, rotation=30, ha="right")
    ax.set_yticks(np.arange(wide.shape[0]), wide.index)
    for (i, j), v in np.ndenumerate(wide.to_numpy()):
        ax.text(j, i, f"{v:.0%}", ha="center", va="center", color="w", fontsize="small")
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="share")
    ax.set_title("Credited share per segment")
    return ax


def plot_scorecard(errors: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Credited versus true incremental share, one marker per model and channel."""
    ax = _ax(ax, (6, 6))
    for model, g in errors.groupby("model", sort=False):
        ax.scatter(g["true_share"], g["share"], label=model, s=30)
    hi = float(max(errors["share"].max(), errors["true_share"].max(), 0.05)) * 1.05
    ax.plot([0, hi], [0, hi], color="0.5", ls="--", lw=1)
    ax.set_xlabel("true incremental share")
    ax.set_ylabel("credited share")
    ax.set_title("Attribution vs truth (on the diagonal = right)")
    ax.legend(fontsize="small")
    return ax
