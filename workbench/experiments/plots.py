"""Figures of the Bayesian test analysis. Each function takes tidy tables and returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats


def _style(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def plot_posteriors(
    result: pd.DataFrame,
    prior: tuple[float, float] = (1.0, 1.0),
    max_segments: int = 12,
) -> Figure:
    """Posterior density of each arm's conversion rate, one panel per segment (conjugate model).

    The wider a curve, the less we know; where curves overlap, the arms may not differ.
    """
    segs = result.groupby("segment")["n"].sum().sort_values(ascending=False).index[:max_segments]
    ncol = min(4, len(segs))
    nrow = int(np.ceil(len(segs) / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow), squeeze=False, layout="constrained"
    )
    arms = sorted(result["arm"].unique())
    colors = dict(zip(arms, plt.cm.tab10.colors, strict=False))
    for ax, seg in zip(axes.flat, segs, strict=False):
        sub = result.loc[result["segment"] == seg]
        a = prior[0] + sub["conversions"].to_numpy(float)
        b = prior[1] + (sub["n"] - sub["conversions"]).to_numpy(float)
        hi = float(stats.beta.ppf(0.9995, a, b).max())
        x = np.linspace(0, hi, 400)
        for arm, ai, bi in zip(sub["arm"], a, b, strict=True):
            ax.plot(x, stats.beta.pdf(x, ai, bi), color=colors[arm], label=arm)
        ax.set_title(f"{seg} (n={sub['n'].sum():,})", fontsize=9)
        ax.set_yticks([])
        _style(ax)
    for ax in list(axes.flat)[len(segs) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=8, frameon=False)
    fig.supxlabel("conversion rate")
    fig.suptitle("Posterior of each arm's conversion rate, per segment")
    return fig


def plot_lift_forest(result: pd.DataFrame, rope: float = 0.01) -> Figure:
    """Relative lift of each variant over control per segment: mean and interval.

    Bars crossing zero are not yet clear; the grey band is the region of practical equivalence.
    """
    var = result.loc[result["lift_mean"].notna()].copy()
    var["label"] = var["segment"].astype(str) + " · " + var["arm"].astype(str)
    var = var.sort_values(["arm", "lift_mean"])
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(var) + 1.5), layout="constrained")
    y = np.arange(len(var))
    color = var["decision"].map({"ship": "#2a9d8f", "stop": "#e76f51"}).fillna("#4c72b0")
    ax.axvspan(-rope, rope, color="0.85", zorder=0)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.hlines(y, var["lift_low"], var["lift_high"], color=color, lw=2)
    ax.plot(var["lift_mean"], y, "o", color="k", ms=3)
    ax.set_yticks(y, var["label"], fontsize=8)
    ax.set_xlabel("relative lift vs control (interval at the report's HDI level)")
    ax.set_title(
        "Lift of each variant in each segment (green: ship, red: stop, blue: keep testing)"
    )
    lo, hi = np.nanquantile(np.r_[var["lift_low"], var["lift_high"]], [0.01, 0.99])
    ax.set_xlim(max(lo, -1.0) - 0.05, hi + 0.05)
    _style(ax)
    return fig


def plot_shrinkage(
    unpooled: pd.DataFrame, pooled: pd.DataFrame, column: str = "lift_mean"
) -> Figure:
    """No pooling vs partial pooling: how the hierarchical model moves each segment's estimate.

    Each line joins a segment's estimate analysed alone (left) to its estimate when segments
    share strength (right); dot size is the segment's number of recipients. Small segments,
    whose own data are noisy, move most towards the average; large ones barely move.
    """
    key = ["segment", "arm"]
    m = unpooled[[*key, "n", column]].merge(pooled[[*key, column]], on=key, suffixes=("_u", "_p"))
    m = m.dropna(subset=[f"{column}_u", f"{column}_p"])
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
    size = 20 + 200 * m["n"] / m["n"].max()
    for _, r in m.iterrows():  # one line per segment × arm (a few dozen), not data rows
        ax.plot([0, 1], [r[f"{column}_u"], r[f"{column}_p"]], color="0.6", lw=0.8)
    ax.scatter(np.zeros(len(m)), m[f"{column}_u"], s=size, color="#e76f51", label="no pooling")
    ax.scatter(np.ones(len(m)), m[f"{column}_p"], s=size, color="#2a9d8f", label="partial pooling")
    ax.set_xticks([0, 1], ["each segment alone", "segments share strength"])
    ax.set_ylabel(column.replace("_", " "))
    ax.legend(frameon=False, fontsize=8)
    ax.set_title("Estimates move towards the average")
    _style(ax)
    move = (m[f"{column}_p"] - m[f"{column}_u"]).abs()
    ax2.scatter(m["n"], move, s=25, color="#4c72b0")
    ax2.set_xscale("log")
    ax2.set_xlabel("recipients in the segment × arm (log scale)")
    ax2.set_ylabel("how far pooling moved the estimate")
    ax2.set_title("Small segments move most")
    _style(ax2)
    return fig


def plot_ppc(ppc: pd.DataFrame) -> Figure:
    """Posterior predictive check: observed conversions against the model's 90 % range per cell."""
    d = ppc.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    x = np.arange(len(d))
    inside = (d["conversions"] >= d["pred_low"]) & (d["conversions"] <= d["pred_high"])
    ax.vlines(x, d["pred_low"], d["pred_high"], color="0.6", lw=4, label="model's 90 % range")
    ax.scatter(x, d["conversions"], c=np.where(inside, "#2a9d8f", "#e63946"), s=18, zorder=3,
               label="observed")  # fmt: skip
    ax.set_xticks(x, d["segment"].astype(str) + " · " + d["arm"].astype(str), rotation=90,
                  fontsize=7)  # fmt: skip
    ax.set_ylabel("conversions")
    ax.set_title(f"Posterior predictive check: {inside.mean():.0%} of cells inside the range")
    ax.legend(frameon=False, fontsize=8)
    _style(ax)
    return fig


def plot_incremental(inc: pd.DataFrame, column: str = "incremental_conversions") -> Figure:
    """Incremental conversions (or revenue) of each arm over the holdout, with intervals."""
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(inc) + 1.5), layout="constrained")
    y = np.arange(len(inc))
    ax.hlines(y, inc[f"{column}_low"], inc[f"{column}_high"], color="#4c72b0", lw=3)
    ax.plot(inc[column], y, "o", color="k")
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, inc["arm"])
    ax.set_xlabel(column.replace("_", " ") + " (mean and HDI)")
    ax.set_title("What each send produced beyond the holdout")
    _style(ax)
    return fig


def plot_monitoring(sim: pd.DataFrame) -> Figure:
    """Outcomes of the stopping rules in the sequential-monitoring simulation, per true lift."""
    lifts = sorted(sim["lift"].unique())
    fig, axes = plt.subplots(1, len(lifts), figsize=(3.6 * len(lifts), 3.4), sharey=True,
                             squeeze=False, layout="constrained")  # fmt: skip
    parts = [("ship_variant", "#2a9d8f"), ("ship_control", "#e76f51"), ("no_decision", "0.75")]
    for ax, lift in zip(axes[0], lifts, strict=True):
        d = sim.loc[sim["lift"] == lift]
        left = np.zeros(len(d))
        for col, color in parts:
            ax.barh(d["rule"], d[col], left=left, color=color, label=col.replace("_", " "))
            left += d[col].to_numpy()
        ax.set_title(f"true lift {lift:+.0%}")
        ax.set_xlim(0, 1)
        _style(ax)
    axes[0, 0].legend(frameon=False, fontsize=8, loc="lower left")
    fig.supxlabel("share of simulated tests")
    return fig
