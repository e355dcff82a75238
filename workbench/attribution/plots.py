"""Figures for attribution: top paths, transition heatmap, shares by model, scorecard, holdouts
and the calibrated shares."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator, PercentFormatter

from workbench.attribution.calibrated import BASELINE_CHANNELS
from workbench.attribution.markov import MarkovAttribution
from workbench.attribution.summary import MODEL_WORDS


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


def _words(channel: object) -> str:
    return str(channel).replace("_", " ")


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _incrementality_title(inc: pd.DataFrame, target_lift: float) -> str:
    """The finding of a holdouts figure: which channels clearly add, which cannot be told."""
    inc = inc.sort_values("incremental_conversions", ascending=False, kind="stable")
    low, high = inc["incremental_conversions_low"], inc["incremental_conversions_high"]
    up = [_words(c) for c in inc.loc[low > 0, "channel"]]
    down = [_words(c) for c in inc.loc[high < 0, "channel"]]
    flat = inc[~low.gt(0) & ~high.lt(0)]
    unclear = [_words(c) for c in flat["channel"]]
    parts = []
    if up:
        parts.append(f"{_join(up)} clearly {'adds' if len(up) == 1 else 'add'} conversions")
    if down:
        parts.append(f"{_join(down)} {'costs' if len(down) == 1 else 'cost'} conversions")
    if unclear and parts:
        parts.append(f"{_join(unclear)} cannot be told from zero")
    elif unclear:
        tail = ""
        if flat["power"].notna().any():
            weakest = flat.loc[flat["power"].idxmin()]
            tail = f" (power {weakest['power']:.0%} for a {target_lift:.0%} lift)"
        tests = "the test cannot" if len(unclear) == 1 else "the tests cannot"
        parts.append(f"{tests} tell {_join(unclear)}'s effect from zero{tail}")
    return "Holdouts: " + "; ".join(parts)


def plot_incrementality(
    incrementality: pd.DataFrame,
    ax: Axes | None = None,
    *,
    interval: float = 0.9,
    target_lift: float = 0.05,
) -> Axes:
    """What each channel holdout measured: incremental conversions with their interval.

    One row per holdout (overall rows only: a table with a ``segment`` column keeps the rows
    whose segment is empty). The dot is the estimate, the bar its interval, the grey line zero:
    a bar across the line means the test cannot tell the channel's effect from nothing. Each row
    names the channel, the share of subscribers held out and the test's length; beside it the
    numbers, the test's power to detect a ``target_lift`` relative lift and its detectable lift
    (the lift it detects with 80% power). The title states which channels clearly add
    conversions.

    Parameters
    ----------
    incrementality : DataFrame
        :func:`~workbench.attribution.incrementality.world_incrementality` or
        :func:`~workbench.attribution.incrementality.file_incrementality`.
    ax : Axes, optional
        Where to draw (a new figure by default).
    interval : float, default 0.9
        The probability of the table's intervals (for the axis label).
    target_lift : float, default 0.05
        The relative lift the table's ``power`` refers to (for the labels).

    Returns
    -------
    Axes

    Raises
    ------
    WorkbenchError
        When the table has no overall holdout row.
    """
    from workbench.errors import WorkbenchError

    inc = incrementality
    if "segment" in inc.columns:
        inc = inc[inc["segment"].isna()]
    if inc.empty:
        raise WorkbenchError("no channel holdout to plot (the incrementality table is empty)")
    inc = inc.sort_values("incremental_conversions", kind="stable").reset_index(drop=True)
    repeated = inc["channel"].duplicated(keep=False)
    labels = []
    for r, again in zip(inc.itertuples(index=False), repeated, strict=True):
        name = _words(r.channel)
        if again and "experiment_id" in inc.columns and pd.notna(r.experiment_id):
            name += f" (test {int(r.experiment_id)})"
        held = r.n_holdout / (r.n_holdout + r.n_exposed)
        days = getattr(r, "days", None)
        length = f", {int(days)} days" if days is not None and pd.notna(days) else ""
        labels.append(f"{name}\n{held:.0%} held out{length}")
    y = np.arange(len(inc))
    ax = _ax(ax, (9.0, 0.75 * len(inc) + 1.6))
    ax.axvline(0, color="0.55", lw=1, zorder=1)
    est = inc["incremental_conversions"].to_numpy(float)
    lo = inc["incremental_conversions_low"].to_numpy(float)
    hi = inc["incremental_conversions_high"].to_numpy(float)
    ax.hlines(y, lo, hi, color="tab:blue", lw=7, alpha=0.35, zorder=2)
    ax.plot(est, y, "o", color="tab:blue", ms=7, zorder=3)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, len(inc) - 0.4)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:+,.0f}" if v else "0")
    ax.set_xlabel(
        f"incremental conversions: orders the channel caused among exposed subscribers during "
        f"the test\n(dot: estimate, bar: {interval:.0%} interval)"
    )
    ax.set_ylabel("channel held out")
    for i, r in enumerate(inc.itertuples(index=False)):
        power = f"power {r.power:.0%} for a {target_lift:.0%} lift" if pd.notna(r.power) else ""
        mde = f"detectable lift {r.mde_lift:.0%}" if pd.notna(r.mde_lift) else ""
        ax.annotate(
            f"{est[i]:+,.0f} ({lo[i]:+,.0f} to {hi[i]:+,.0f})\n"
            + " · ".join(t for t in (power, mde) if t),
            xy=(1.0, i), xycoords=("axes fraction", "data"), xytext=(8, 0),
            textcoords="offset points", va="center", ha="left", fontsize=9,
        )  # fmt: skip
    ax.set_title(textwrap.fill(_incrementality_title(inc, target_lift), 80), loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return ax


def _mean_error(shares: pd.Series, truth: pd.Series) -> float:
    """Mean absolute share error over the union of channels (a missing share counts 0)."""
    both = pd.concat([shares.rename("s"), truth.rename("t")], axis=1).fillna(0.0)
    return float((both["s"] - both["t"]).abs().mean())


def plot_calibrated(
    results: pd.DataFrame,
    truth: pd.DataFrame | None = None,
    ax: Axes | None = None,
    *,
    others: Sequence[str] = ("markov", "last"),
    interval: float = 0.9,
) -> Axes:
    """The calibrated model's shares with their intervals, beside uncalibrated credit.

    One row per channel, the largest calibrated share on top: the calibrated share (what the
    channel causes, as a share of what the channels cause) with its interval as a bar, the
    shares the ``others`` models credit as hollow markers and, given ``truth``, the true
    incremental share as a black tick. Each row says whether a holdout measured the channel or
    it borrowed the pooled factor; ``direct`` gets none (navigation).

    Parameters
    ----------
    results : DataFrame
        A long table with a ``model`` column (:func:`~workbench.attribution.compare_models`,
        or path models' results with the ``calibrated`` model's rows appended) including the
        ``calibrated`` rows (``share, share_low, share_high, holdouts``); or the calibrated
        model's own table (:func:`~workbench.attribution.attribute`, no ``model`` column).
    truth : DataFrame, optional
        :func:`~workbench.attribution.true_shares` (``channel, true_share``): a synthetic
        world's true incremental shares; the title then says how close each model comes.
    ax : Axes, optional
        Where to draw (a new figure by default).
    others : sequence of str, default ("markov", "last")
        The uncalibrated models shown beside it (those present in ``results``; the first two
        present when none of them is).
    interval : float, default 0.9
        The probability of the intervals (for the axis label).

    Returns
    -------
    Axes

    Raises
    ------
    WorkbenchError
        When ``results`` has no calibrated rows.
    """
    from workbench.errors import WorkbenchError

    long = results if "model" in results.columns else results.assign(model="calibrated")
    cal = long[long["model"] == "calibrated"].set_index("channel")
    if cal.empty:
        raise WorkbenchError("no calibrated rows to plot (run the 'calibrated' model)")
    present = [m for m in dict.fromkeys(long["model"]) if m != "calibrated"]
    shown = [m for m in others if m in present] or present[:2]
    order = cal["share"].sort_values(kind="stable").index
    row = {c: i for i, c in enumerate(order)}
    ax = _ax(ax, (8.5, 0.62 * len(order) + 1.9))
    for y in np.arange(len(order) - 1) + 0.5:
        ax.axhline(y, color="0.9", lw=0.8, zorder=0)
    k = len(shown) + 1
    step = min(0.16, 0.7 / k)
    y_cal = np.arange(len(order)) + (k - 1) / 2 * step
    c = cal.loc[order]
    ax.hlines(y_cal, c["share_low"], c["share_high"], color="tab:red", lw=5, alpha=0.35,
              zorder=2)  # fmt: skip
    ax.plot(c["share"], y_cal, "o", color="tab:red", ms=7, zorder=3,
            label=f"calibrated (bar: {interval:.0%} interval)")  # fmt: skip
    styles = ["s", "D", "^", "v", "P", "X"]
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink"]
    for i, model in enumerate(shown):
        g = long[(long["model"] == model) & long["channel"].isin(row)]
        yy = g["channel"].map(row).to_numpy(float) + ((k - 1) / 2 - (i + 1)) * step
        ax.plot(g["share"], yy, styles[i % 6], mfc="none", mew=1.6, ms=7,
                color=colours[i % 6], label=f"{model} (credit)", zorder=3,
                linestyle="none")  # fmt: skip
    title = None
    if truth is not None:
        t = truth.set_index("channel")["true_share"]
        inside = t.reindex(order)
        ax.plot(inside.to_numpy(float), np.arange(len(order)), "|", color="k", ms=22, mew=2.5,
                label="truth (incremental)", zorder=2)  # fmt: skip
        err = {m: _mean_error(long.loc[long["model"] == m].set_index("channel")["share"], t)
               for m in ["calibrated", *present]}  # fmt: skip
        cal_err = err.pop("calibrated")
        rival = min(err, key=err.__getitem__) if err else None
        best = MODEL_WORDS.get(str(rival), str(rival))
        vs = f", best path model ({best}) {err[rival]:.1%}" if rival else ""
        if rival is not None and cal_err >= err[rival]:
            how = "Calibration does not bring the shares closer to the truth"
        elif rival is not None and cal_err > 0.8 * err[rival]:
            how = "Calibration brings the shares only a little closer to the truth"
        else:
            how = "Calibration brings the shares closer to the truth"
        title = f"{how}: mean error a channel {cal_err:.1%}{vs}"
    if title is None:
        top = c.index[-1]
        title = (
            f"What each channel causes, calibrated by holdouts: {_words(top)} "
            f"{c.loc[top, 'share']:.0%} ({c.loc[top, 'share_low']:.0%} to "
            f"{c.loc[top, 'share_high']:.0%})"
        )
    labels = []
    for ch in order:
        n = int(cal.loc[ch, "holdouts"]) if "holdouts" in cal.columns else 0
        if ch in BASELINE_CHANNELS:
            how = "no credit (navigation)"
        elif float(cal.loc[ch, "share_high"]) == 0.0:
            how = "no credit (no conversions credited)"
        elif n:
            how = "measured by a holdout" if n == 1 else f"measured by {n} holdouts"
        else:
            how = "no holdout: pooled factor"
        labels.append(f"{_words(ch)}\n{how}")
    ax.set_yticks(np.arange(len(order)), labels)
    ax.set_ylim(-0.6, len(order) - 0.4)
    ax.set_xlim(left=-0.015 * max(ax.get_xlim()[1], 0.01))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of conversions: caused (calibrated), credited (path models)"
                  + (", true incremental (black tick)" if truth is not None else ""))  # fmt: skip
    ax.set_ylabel("channel")
    ax.set_title(textwrap.fill(title, 62), loc="left")
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              title="model")  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    return ax
