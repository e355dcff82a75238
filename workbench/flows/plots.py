"""Figures of the flow analytics: a flow's funnel, time to conversion, flow holdouts.

Each function takes a results table of :mod:`workbench.flows` and returns a Figure whose title
states what it shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from workbench.errors import WorkbenchError
from workbench.flows.funnel import _require_columns
from workbench.plots import _despine, _fig, _legend_right, series_styles, wrap_label

__all__ = ["plot_flow_funnel", "plot_flow_incrementality", "plot_time_to_conversion"]

_ENGAGEMENT = (
    ("delivered", "delivered"),
    ("opened", "opened (by a person)"),
    ("clicked", "clicked"),
)
_OUTCOMES = (("converted", "ordered within the window"), ("unsubscribed", "unsubscribed"))


def _words(name: object) -> str:
    """A flow or step name as words (``cart_abandonment`` -> ``cart abandonment``)."""
    return str(name).replace("_", " ")


def _pick_flow(table: pd.DataFrame, flow: str | None, weight: str) -> str:
    flows = table["flow"].astype(str)
    if flow is None:
        return str(table.groupby(flows)[weight].sum().sort_values(ascending=False).index[0])
    if str(flow) not in set(flows):
        raise WorkbenchError(
            f"no flow {flow!r} in the table (flows: {', '.join(sorted(set(flows)))})"
        )
    return str(flow)


def plot_flow_funnel(funnel: pd.DataFrame, flow: str | None = None) -> Figure:
    """One flow's funnel: for each step, the share of messages delivered, opened and clicked, and
    the share of delivered messages followed by an order or an unsubscribe.

    Parameters
    ----------
    funnel : DataFrame
        :func:`workbench.flows.funnel.flow_funnel` (segments are added up).
    flow : str, optional
        The flow drawn (default: the one with the most messages).

    Returns
    -------
    Figure
        Two panels, steps on the x axis in their order: engagement (share of messages sent) and
        outcomes (share of delivered messages).

    Raises
    ------
    WorkbenchError
        When the table is empty or has no flow ``flow``.
    DataError
        When a column is missing.
    """
    need = ["flow", "step", "step_order", "entered", "delivered", "opened", "clicked",
            "converted", "unsubscribed"]  # fmt: skip
    _require_columns(funnel, need, "flow funnel")
    if funnel.empty:
        raise WorkbenchError("the flow funnel is empty: no flow to draw")
    name = _pick_flow(funnel, flow, "entered")
    f = funnel[funnel["flow"].astype(str) == name]
    counts = [c for c, _ in _ENGAGEMENT + _OUTCOMES] + ["entered"]
    t = f.groupby(["step_order", "step"], sort=True)[counts].sum(min_count=1).reset_index()
    entered = t["entered"].to_numpy(float)
    delivered = t["delivered"].to_numpy(float)
    window = float(f["window_days"].iloc[0]) if "window_days" in f.columns else None
    steps = zip(t["step_order"], t["step"], strict=True)
    labels = [wrap_label(f"{int(o)}. {_words(s)}", 18) for o, s in steps]
    fig, (left, right) = _fig(11.0, 4.4, ncols=2)
    x = np.arange(len(t))
    styles = series_styles(len(_ENGAGEMENT) + len(_OUTCOMES))
    for ax, stages, denom, what in (
        (left, _ENGAGEMENT, entered, "share of messages sent"),
        (right, _OUTCOMES, delivered, "share of messages delivered"),
    ):
        width = 0.8 / len(stages)
        for j, (col, label) in enumerate(stages):
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(
                    denom > 0, t[col].to_numpy(float) / np.where(denom > 0, denom, 1), np.nan
                )
            style = styles[j + (0 if stages is _ENGAGEMENT else len(_ENGAGEMENT))]
            ax.bar(x + (j - (len(stages) - 1) / 2) * width, share, width, label=label,
                   color=style.get("color"))  # fmt: skip
        ax.set_xticks(x, labels)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_ylabel(what)
        ax.set_xlabel("flow step (in the order it reaches a subscriber)")
        _despine(ax)
        ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(0.0, -0.28), ncols=1)
    left.set_title("engagement", loc="left", fontsize=11)
    right.set_title(
        "outcomes" + (f" (order within {window:g} days of delivery)" if window else ""),
        loc="left",
        fontsize=11,
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        conv = t["converted"].to_numpy(float) / np.where(delivered > 0, delivered, np.nan)
    head = f"{_words(name).capitalize()} flow"
    if np.isfinite(conv).any():
        best = int(np.nanargmax(conv))
        within = f" within {window:g} days" if window else ""
        if len(t) == 1:
            title = f"{head}: {conv[0]:.1%} of recipients order{within} of its email"
        else:
            title = (
                f"{head}: step {int(t['step_order'].iloc[best])} ({_words(t['step'].iloc[best])}) "
                f"converts most, {conv[best]:.1%} of recipients{within}"
            )
    else:
        title = f"{head}: opens and clicks per step (no orders in the data)"
    fig.suptitle(wrap_label(title, 110), fontsize=12)
    return fig


def plot_time_to_conversion(ttc: pd.DataFrame) -> Figure:
    """How soon each flow's entrants order: the share converted by each horizon, with intervals.

    Parameters
    ----------
    ttc : DataFrame
        :func:`workbench.flows.funnel.time_to_conversion` (with segments: one line per flow and
        segment).

    Returns
    -------
    Figure

    Raises
    ------
    WorkbenchError
        When the table is empty or holds no horizon column.
    """
    _require_columns(ttc, ["flow", "entrants"], "time to conversion")
    hs = [c for c in ttc.columns if c.startswith("converted_") and c.endswith("d")]
    if ttc.empty or not hs:
        raise WorkbenchError("the time-to-conversion table is empty: nothing to draw")
    days = np.array([float(c[len("converted_") : -1]) for c in hs])
    fig, (ax,) = _fig(9.0, 4.4)
    styles = series_styles(len(ttc))
    best_label, best_val, at = None, -1.0, days[len(days) // 2]
    at_col = hs[len(days) // 2]
    for i, r in enumerate(ttc.reset_index(drop=True).itertuples(index=False)):
        seg = getattr(r, "segment", None)
        label = _words(r.flow) + ("" if seg is None or pd.isna(seg) else f" · {seg}")
        y = np.array([getattr(r, c) for c in hs], float)
        lo = np.array([getattr(r, c + "_low", np.nan) for c in hs], float)
        hi = np.array([getattr(r, c + "_high", np.nan) for c in hs], float)
        err = np.vstack([np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)])
        err = np.nan_to_num(err)
        ax.errorbar(days, y, yerr=err, capsize=3, ms=5, lw=1.6, **styles[i],
                    label=f"{wrap_label(label, 30)} ({int(r.entrants):,} entries)")  # fmt: skip
        v = float(getattr(r, at_col))
        if np.isfinite(v) and v > best_val:
            best_label, best_val = label, v
    ax.set_xscale("log")
    ax.set_xticks(days, [f"{d:g}" for d in days])
    ax.minorticks_off()
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("days after entering the flow (its first email)")
    ax.set_ylabel("share of entries with an order")
    _despine(ax)
    _legend_right(ax)
    title = (
        f"{best_label.capitalize()} entrants order soonest: {best_val:.0%} within {at:g} days"
        if best_label is not None
        else "Time to the first order after entering each flow"
    )
    ax.set_title(wrap_label(title, 90), loc="left", fontsize=12)
    return fig


def plot_flow_incrementality(table: pd.DataFrame) -> Figure:
    """What each flow holdout measured: the flow's effect on its entrants' conversion, in points.

    Parameters
    ----------
    table : DataFrame
        :func:`workbench.flows.holdout.flow_incrementality` (with segments: one row per flow and
        segment).

    Returns
    -------
    Figure
        One row per flow (and segment): the estimated difference in the share of entrants with an
        order in the window (exposed minus held out, percentage points) with its interval, and a
        line at zero: an interval across it cannot tell the flow from nothing.

    Raises
    ------
    WorkbenchError
        When the table is empty.
    """
    need = ["flow", "n_exposed", "n_holdout", "incremental_rate", "incremental_rate_low",
            "incremental_rate_high"]  # fmt: skip
    _require_columns(table, need, "flow incrementality")
    if table.empty:
        raise WorkbenchError("no flow holdout to draw (the table is empty)")
    t = table.sort_values("incremental_rate", kind="stable").reset_index(drop=True)
    labels = []
    for r in t.itertuples(index=False):
        seg = getattr(r, "segment", None)
        name = _words(r.flow) + ("" if seg is None or pd.isna(seg) else f" · {seg}")
        n = int(r.n_holdout + r.n_exposed)
        labels.append(f"{wrap_label(name, 24)}\n{n:,} entrants, {r.n_holdout / n:.0%} held out")
    est = 100 * t["incremental_rate"].to_numpy(float)
    lo = 100 * t["incremental_rate_low"].to_numpy(float)
    hi = 100 * t["incremental_rate_high"].to_numpy(float)
    y = np.arange(len(t))
    fig, (ax,) = _fig(9.5, 0.8 * len(t) + 1.9)
    ax.axvline(0, color="0.45", lw=1, ls="--", zorder=1, label="no effect")
    ax.hlines(y, lo, hi, color="tab:blue", lw=7, alpha=0.35, zorder=2, label="_nolegend_")
    ax.plot(est, y, "o", color="tab:blue", ms=7, zorder=3, label="_nolegend_")
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, len(t) - 0.4)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+.1f}" if v else "0")
    interval = table.attrs.get("interval", 0.9)
    days = t["days"].iloc[0] if "days" in t.columns else None
    within = f" within {int(days)} days of entering" if days is not None and pd.notna(days) else ""
    ax.set_xlabel(
        f"change in the share of entrants who order{within}, exposed minus held out\n"
        f"(percentage points; dot: estimate, bar: {interval:.0%} interval)"
    )
    ax.set_ylabel("flow held out")
    _despine(ax)
    clear = [_words(r.flow) for r in t.itertuples(index=False) if r.incremental_rate_low > 0]
    unclear = [_words(r.flow) for r in t.itertuples(index=False)
               if r.incremental_rate_low <= 0 <= r.incremental_rate_high]  # fmt: skip
    if clear:
        names = list(dict.fromkeys(clear))
        verb = "flows clearly add" if len(names) > 1 else "flow clearly adds"
        title = f"The {' and '.join(names)} {verb} conversions"
        if len(t) == 1:
            title += (
                f": {est[0]:+.1f} points ({interval:.0%} interval {lo[0]:+.1f} to {hi[0]:+.1f})"
            )
    elif unclear:
        title = "No flow holdout can tell its flow's effect from zero yet"
    else:
        title = "The held-out entrants convert more: the flows cost conversions"
    ax.set_title(wrap_label(title, 90), loc="left", fontsize=12)
    return fig
