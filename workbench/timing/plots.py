"""Figures of send-time optimisation: errors per method, evidence over the day.

Each function returns a matplotlib Figure (no pyplot state kept beyond the figure; works with the
Agg backend) whose title states what it shows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench.plots import _despine, _fig, _legend_right, series_styles

__all__ = ["plot_hour_profile", "plot_send_time_errors"]

_WORDS = {
    "shrunk": "own hour, pooled with segment",
    "subscriber": "own evidence only",
    "subscriber_naive": "circular mean of open hours",
    "segment": "one hour per segment",
    "global": "one hour for everyone",
}


def _label(method: str) -> str:
    return _WORDS.get(method, str(method))


def plot_send_time_errors(score: pd.DataFrame, *, metric: str = "mean_error_h") -> Figure:
    """Each method's error against the true preferred hours, by the subscriber's history.

    Parameters
    ----------
    score : DataFrame
        :func:`~workbench.timing.scorecard.score_send_times` with ``by_history=True`` (one bar
        group per history band) or without (one group).
    metric : {"mean_error_h", "median_error_h"}, default "mean_error_h"
        The error drawn.

    Returns
    -------
    Figure
        Grouped bars: hours off per method in each history band; the title names the best
        method overall.

    Raises
    ------
    ValueError
        An empty table or one without ``method`` and ``metric``.
    """
    if score.empty or not {"method", metric} <= set(score.columns):
        raise ValueError(f"plot_send_time_errors needs a scorecard with 'method' and '{metric}'")
    table = score.copy()
    if "history" not in table.columns:
        table["history"] = "all subscribers"
    bands = list(dict.fromkeys(table["history"].astype(str)))
    methods = list(dict.fromkeys(table["method"].astype(str)))
    # overall error per method, weighted by the band sizes
    w = table["subscribers"] if "subscribers" in table.columns else pd.Series(1, index=table.index)
    overall = (table[metric] * w).groupby(table["method"].astype(str)).sum() / w.groupby(
        table["method"].astype(str)
    ).sum()
    order = [m for m in overall.sort_values(kind="stable").index if m in methods]
    fig, (ax,) = _fig(9.0, 4.2)
    width = 0.8 / max(len(order), 1)
    x = np.arange(len(bands))
    for i, (m, style) in enumerate(zip(order, series_styles(len(order)), strict=True)):
        part = table[table["method"].astype(str) == m]
        vals = part.set_index(part["history"].astype(str))[metric].reindex(bands).to_numpy(float)
        ax.bar(
            x - 0.4 + (i + 0.5) * width, vals, width * 0.95, color=style["color"], label=_label(m)
        )
    sizes = {}
    if "subscribers" in table.columns:
        first = table[table["method"].astype(str) == order[0]]
        sizes = dict(zip(first["history"].astype(str), first["subscribers"], strict=False))
    ticks = [
        f"{b} opens\n({int(sizes[b]):,} subscribers)"
        if b in sizes and b != "all subscribers"
        else (f"{b}\n({int(sizes[b]):,})" if b in sizes else b)
        for b in bands
    ]
    ax.set_xticks(x, ticks)
    ax.set_xlabel("subscriber's history (human opens)")
    what = "mean" if metric == "mean_error_h" else "median"
    ax.set_ylabel(f"{what} error (hours from the true hour)")
    best = order[0]
    worst = order[-1]
    first = _label(best)
    ax.set_title(
        f"{first[0].upper() + first[1:]} comes closest to the true preferred hours\n"
        f"({overall[best]:.1f} h off on average; {_label(worst)}: {overall[worst]:.1f} h)",
        fontsize=11,
    )
    _despine(ax)
    _legend_right(ax)
    return fig


def _slot_axis(ax: Any, n_bins: int) -> None:
    ax.set_xlim(0, 24)
    ax.set_xticks(np.arange(0, 25, 3), [f"{h:02d}:00" for h in range(0, 25, 3)])
    ax.set_xlabel("local time of day")


def plot_hour_profile(
    model: Any, subscriber_id: int | None = None, *, segment: Any = None, name: str | None = None
) -> Figure:
    """One subscriber's (or one segment's) evidence over the day and the recommended hour.

    Parameters
    ----------
    model : SendTimeModel
        A fitted model.
    subscriber_id : int, optional
        The subscriber to show.
    segment : optional
        A segment of the model to show instead (its subscribers' evidence summed).
    name : str, optional
        The segment's readable name, for the title (default ``"Segment <segment>"``).

    Returns
    -------
    Figure
        Top: emails delivered and human opens by local time of day. Bottom: where the preferred
        hour lies -- the segment's distribution (the prior) and, for a subscriber, their
        posterior -- with the recommended hour marked.

    Raises
    ------
    ValueError
        Neither or both of ``subscriber_id`` and ``segment``, or one the model does not know.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "hours_")
    if (subscriber_id is None) == (segment is None):
        raise ValueError("give either a subscriber_id or a segment")
    B = model.posterior_.shape[1]
    starts = np.arange(B) * 24 / B
    width = 24 / B
    if subscriber_id is not None:
        if subscriber_id not in model.hours_.index:
            raise ValueError(f"subscriber {subscriber_id} is not in the model")
        i = model.hours_.index.get_loc(subscriber_id)
        seg = model.segments_.iloc[i]
        sent, opens = model.emails_by_hour_[i], model.opens_by_hour_[i]
        prior = model.segment_prior_.loc[seg].to_numpy()
        post = model.posterior_[i]
        hour = float(model.hours_.iloc[i])
        who = f"Subscriber {subscriber_id}"
        n = int(model.n_opens_.iloc[i])
        detail = (
            f"{n} human open{'s' if n != 1 else ''}; own evidence removes "
            f"{model.weights_.iloc[i]:.0%} of the segment's uncertainty"
        )
    else:
        if segment not in model.segment_hours_.index:
            raise ValueError(f"segment {segment!r} is not in the model")
        sel = (model.segments_ == segment).to_numpy()
        sent, opens = model.emails_by_hour_[sel].sum(0), model.opens_by_hour_[sel].sum(0)
        prior = model.global_prior_.to_numpy()
        post = model.segment_prior_.loc[segment].to_numpy()
        hour = float(model.segment_hours_.loc[segment])
        who = f"Segment {segment}" if name is None else f"{name[:1].upper()}{name[1:]}"
        detail = f"{int(sel.sum()):,} subscribers, {int(opens.sum()):,} human opens"
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9.0, 6.0), layout="constrained")
    top.bar(starts + width / 2, sent, width * 0.9, color="#c6dbef", label="emails delivered")
    top.bar(starts + width / 2, opens, width * 0.55, color="#08519c", label="human opens")
    top.set_ylabel(f"emails per {int(round(width * 60))} min")
    _slot_axis(top, B)
    top.set_title("Evidence: when emails arrived and when they were opened", fontsize=10)
    _despine(top)
    _legend_right(top)
    prior_label = "segment's distribution" if subscriber_id is not None else "whole list"
    post_label = "this subscriber (posterior)" if subscriber_id is not None else "this segment"
    bottom.step(
        np.r_[starts, 24],
        np.r_[prior, prior[-1]] / width,
        where="post",
        color="#888888",
        lw=1.5,
        label=prior_label,
    )
    bottom.step(
        np.r_[starts, 24],
        np.r_[post, post[-1]] / width,
        where="post",
        color="#d94801",
        lw=2.0,
        label=post_label,
    )
    bottom.axvline(hour, color="#238b45", lw=2, ls="--", label="recommended send hour")
    bottom.set_ylabel("probability per hour")
    _slot_axis(bottom, B)
    bottom.set_title("Where the preferred hour lies", fontsize=10)
    _despine(bottom)
    _legend_right(bottom)
    from workbench.timing.summary import clock

    fig.suptitle(f"{who}: send at {clock(hour)} local ({detail})", fontsize=11)
    return fig
