"""Figures of the Bayesian test analysis. Each function takes tidy tables and returns a Figure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

#: Colours of the decisions, shared by the figures that show them.
DECISION_COLOURS = {"ship": "#2a9d8f", "stop": "#e76f51", "keep testing": "#4c72b0"}


def _style(ax: plt.Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)


def _winners(result: pd.DataFrame) -> str:
    """How many segments have an arm to ship, for a title (empty without decisions)."""
    if "decision" not in result:
        return ""
    segs = result["segment"].nunique()
    ship = result.loc[result["decision"] == "ship", "segment"].nunique()
    return f": an arm to ship in {ship} of {segs} segments"


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
        nrow, ncol, figsize=(min(10.0, 2.3 * ncol + 1.2), 2.3 * nrow + 0.8), squeeze=False,
        layout="constrained",
    )  # fmt: skip
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
        ax.set_title(f"{seg} (n={sub['n'].sum():,})", fontsize=10)
        ax.set_yticks([])
        ax.xaxis.set_major_locator(plt.MaxNLocator(4))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        _style(ax)
    for ax in list(axes.flat)[len(segs) :]:
        ax.set_visible(False)
    fig.legend(
        [Line2D([], [], color=colors[a]) for a in arms],
        arms,
        loc="outside right upper",
        frameon=False,
        title="arm",
    )
    fig.supxlabel("conversion rate")
    fig.supylabel("belief (posterior density)")
    fig.suptitle("Each arm's conversion rate, per segment" + _winners(result))
    return fig


def plot_lift_forest(result: pd.DataFrame, rope: float = 0.01) -> Figure:
    """Relative lift of each variant over control per segment: mean and interval.

    Bars crossing zero are not yet clear; the grey band is the region of practical equivalence.
    """
    var = result.loc[result["lift_mean"].notna()].copy()
    var["label"] = var["segment"].astype(str) + " · " + var["arm"].astype(str)
    var = var.sort_values(["arm", "lift_mean"])
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(var) + 1.8), layout="constrained")
    y = np.arange(len(var))
    color = var["decision"].map(DECISION_COLOURS).fillna(DECISION_COLOURS["keep testing"])
    ax.axvspan(-rope, rope, color="0.85", zorder=0)
    ax.axvline(0, color="0.3", lw=0.8)
    ax.hlines(y, var["lift_low"], var["lift_high"], color=color, lw=2)
    ax.plot(var["lift_mean"], y, "o", color="k", ms=3)
    ax.set_yticks(y, var["label"], fontsize=9)
    ax.set_ylabel("segment · variant")
    ax.set_xlabel("relative lift vs control (interval at the report's HDI level)")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:+.0%}"))
    counts = var["decision"].value_counts()
    parts = [f"{counts[d]} {d}" for d in ("ship", "stop", "keep testing") if d in counts]
    ax.set_title("Lift of each variant in each segment: " + ", ".join(parts))
    handles = [Line2D([], [], color=c, lw=2, label=d) for d, c in DECISION_COLOURS.items()]
    handles += [
        Line2D([], [], color="k", marker="o", ls="", ms=3, label="estimated lift"),
        plt.Rectangle((0, 0), 1, 1, color="0.85", label=f"no practical difference (±{rope:.0%})"),
    ]
    ax.legend(handles=handles, fontsize=9, frameon=False, loc="upper left",
              bbox_to_anchor=(1.0, 1.0))  # fmt: skip
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
    ax.set_xlabel("model")
    ax.set_ylabel(
        "relative lift vs control (posterior mean)"
        if column == "lift_mean"
        else column.replace("_", " ")
    )
    ax.legend(frameon=False, fontsize=9)
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
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    x = np.arange(len(d))
    inside = (d["conversions"] >= d["pred_low"]) & (d["conversions"] <= d["pred_high"])
    ax.vlines(x, d["pred_low"], d["pred_high"], color="0.6", lw=4)
    ax.scatter(x, d["conversions"], c=np.where(inside, "#2a9d8f", "#e63946"), s=18, zorder=3)
    ax.set_xticks(x, d["segment"].astype(str) + " · " + d["arm"].astype(str), rotation=90,
                  fontsize=8)  # fmt: skip
    ax.set_xlabel("segment · arm")
    ax.set_ylabel("conversions")
    ax.set_title(f"Posterior predictive check: {inside.mean():.0%} of cells inside the range")
    ax.legend(
        handles=[
            Line2D([], [], color="0.6", lw=4, label="model's 90 % range"),
            Line2D([], [], color="#2a9d8f", marker="o", ls="", label="observed, inside"),
            Line2D([], [], color="#e63946", marker="o", ls="", label="observed, outside"),
        ],
        frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0),
    )  # fmt: skip
    _style(ax)
    return fig


def plot_incremental(inc: pd.DataFrame, column: str = "incremental_conversions") -> Figure:
    """Incremental conversions (or revenue) of each arm over the holdout, with intervals."""
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(inc) + 1.6), layout="constrained")
    y = np.arange(len(inc))
    ax.hlines(y, inc[f"{column}_low"], inc[f"{column}_high"], color="#4c72b0", lw=3,
              label="credible interval")  # fmt: skip
    ax.plot(inc[column], y, "o", color="k", label="posterior mean")
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, inc["arm"])
    ax.set_ylabel("arm (or difference of arms)")
    ax.set_xlabel(column.replace("_", " ") + " beyond the holdout (mean and HDI)")
    clear = inc.loc[inc[f"{column}_low"] > 0, "arm"].astype(str).tolist()
    ax.set_title(
        "What each send produced beyond the holdout"
        + (
            f": clearly above zero for {', '.join(clear)}"
            if clear
            else ": nothing clearly above zero"
        )
    )
    ax.legend(frameon=False, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    _style(ax)
    return fig


def plot_monitoring(sim: pd.DataFrame) -> Figure:
    """Outcomes of the stopping rules in the sequential-monitoring simulation, per true lift.

    The legend sits right of the panels, where it covers no bar.
    """
    lifts = sorted(sim["lift"].unique())
    fig, axes = plt.subplots(1, len(lifts), figsize=(min(9.0, 2.6 * len(lifts) + 1.4), 3.8),
                             sharey=True, squeeze=False, layout="constrained")  # fmt: skip
    parts = [("ship_variant", "#2a9d8f"), ("ship_control", "#e76f51"), ("no_decision", "0.75")]
    for ax, lift in zip(axes[0], lifts, strict=True):
        d = sim.loc[sim["lift"] == lift]
        left = np.zeros(len(d))
        for col, color in parts:
            ax.barh(d["rule"], d[col], left=left, color=color, label=col.replace("_", " "))
            left += d[col].to_numpy()
        ax.set_title(f"true lift {lift:+.0%}")
        ax.set_xlim(0, 1)
        ax.set_xticks([0, 0.5, 1], ["0%", "50%", "100%"])
        _style(ax)
    axes[0, 0].set_ylabel("stopping rule")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", frameon=False, title="outcome")
    fig.supxlabel("share of simulated tests")
    null = sim.loc[(sim["lift"] == 0) & (sim["rule"] == "peeking p-value")]
    if len(null):
        false = float(null[["ship_variant", "ship_control"]].sum(axis=1).iloc[0])
        fig.suptitle(f"Peeking at p-values picks a winner in {false:.0%} of tests with no "
                     "true difference")  # fmt: skip
    else:
        fig.suptitle("What each stopping rule decides in simulated tests")
    return fig


def plot_rank(idata: object, var_names: list[str] | None = None) -> Figure:
    """Rank plots of the chains (ArviZ): one panel per parameter, the chains' rank
    distributions as differences from uniform; overlapping wiggles near zero mean the chains
    agree. The title gives the largest R-hat of the parameters shown."""
    import arviz_plots as azp

    pc = azp.plot_rank(
        idata, var_names=var_names, backend="matplotlib", col_wrap=3,
        figure_kwargs={"layout": "constrained", "figsize": (9.5, 5.0)},
    )  # fmt: skip
    fig = pc.viz["figure"].item()
    used = [ax for ax in fig.axes if ax.axison]
    for ax in used:
        ax.set_title(ax.get_title().replace("\n", " · "), fontsize=10)
        ax.set_xlabel("fractional rank")
    first = used[0] if used else None
    chains = [ln for ln in first.lines if len(ln.get_xdata()) > 2] if first else []
    fig.legend(
        [Line2D([], [], color=ln.get_color()) for ln in chains],
        [f"chain {i}" for i in range(len(chains))],
        loc="outside right upper",
        frameon=False,
    )
    fig.supylabel("rank ECDF minus uniform")
    fig.suptitle(_rhat_title(idata, var_names))
    return fig


def _rhat_title(idata: object, var_names: list[str] | None) -> str:
    from arviz_stats import rhat

    r = rhat(idata, var_names=var_names)
    worst = float(max(np.nanmax(np.asarray(v)) for v in r.data_vars.values()))
    verdict = "the chains agree" if worst <= 1.01 else "the chains disagree: sample longer"
    return f"Rank plots of the chains: {verdict} (largest R-hat {worst:.3f})"
