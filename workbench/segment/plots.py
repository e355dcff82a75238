"""Figures of the segmentation notebook (shared ones come from :mod:`workbench.plots`).

Segments are named on every figure as ``"0: morning readers · low clicks"``: the number the
tables use, then the name (:func:`segment_label`), long names wrapped onto several lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import PercentFormatter

from workbench.plots import heatmap, series_styles, wrap_label


def segment_label(segment: object, names: Mapping | None = None) -> str:
    """``"0: busy professionals"``: a segment's number and its name (the number alone when
    ``names`` has none for it). Segment numbers may come as integers or as text."""
    names = names or {}
    key: object = segment
    if key not in names and str(segment).lstrip("-").isdigit():
        key = int(str(segment))
    name = names.get(key)
    return f"{segment}: {name}" if name is not None and str(name) != str(segment) else str(segment)


def with_names(table: pd.DataFrame, names: Mapping | None, axis: str = "index") -> pd.DataFrame:
    """``table`` with its segment numbers (the index, or the columns with ``axis="columns"``)
    written as :func:`segment_label`, order kept."""
    labels = {s: segment_label(s, names) for s in getattr(table, axis)}
    return table.rename(**{axis: labels})


def _labels(segments: Iterable, names: Mapping | None, width: int = 30) -> list[str]:
    return [wrap_label(segment_label(s, names), width) for s in segments]


def model_selection(scores: pd.DataFrame, chosen: int | None = None) -> Figure:
    """One panel per score of :func:`~workbench.segment.pipelines.select_k` against k (two
    panels a row), the chosen k marked by a dashed line."""
    cols = [c for c in ("silhouette", "davies_bouldin", "bic", "icl") if c in scores.columns]
    better = {
        "silhouette": "higher is better",
        "davies_bouldin": "lower is better",
        "bic": "lower is better",
        "icl": "lower is better",
    }
    ncols = min(2, len(cols))
    nrows = -(-len(cols) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(9.5, 3.0 * nrows + 0.6), layout="constrained", squeeze=False
    )
    for ax, c in zip(axes.ravel(), cols, strict=False):
        ax.plot(scores["k"], scores[c], marker="o")
        if chosen is not None:
            ax.axvline(chosen, color="grey", ls="--", lw=1)
        ax.set_xlabel("number of segments k")
        label = c.upper() if c in ("bic", "icl") else c.replace("_", "-")
        ax.set_ylabel(label)
        ax.set_title(f"{label} ({better[c]})")
        ax.set_xticks(scores["k"].astype(int).tolist())
        ax.spines[["top", "right"]].set_visible(False)
    for ax in axes.ravel()[len(cols) :]:
        ax.set_visible(False)
    head = "How well each number of segments k fits"
    fig.suptitle(f"{head}: k = {chosen} chosen (dashed line)" if chosen is not None else head)
    return fig


def projection(
    z: np.ndarray,
    labels: np.ndarray,
    names: dict | None = None,
    max_points: int = 5000,
    seed: int = 0,
) -> Figure:
    """2-D principal-component projection of the transformed features, coloured by segment."""
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    idx = rng.choice(len(z), size=min(len(z), max_points), replace=False)
    xy = PCA(n_components=2, random_state=seed).fit_transform(z[idx])
    lab = np.asarray(labels)[idx]
    segs = np.unique(lab)
    styles = series_styles(len(segs))
    fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    for s, style in zip(segs, styles, strict=True):
        m = lab == s
        ax.scatter(
            xy[m, 0],
            xy[m, 1],
            s=8,
            alpha=0.6,
            color=style["color"],
            marker=style["marker"],
            label=wrap_label(segment_label(s, names), 30),
        )
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title("Subscribers in two dimensions, coloured by segment")
    ax.legend(fontsize=9, markerscale=2, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def profile_heatmap(
    z: pd.DataFrame,
    title: str = "How each segment differs from the whole list",
    names: Mapping | None = None,
) -> Figure:
    """Standardized differences (segments by features) as a diverging heatmap: one row per
    segment (named with ``names``), one column per feature."""
    t = with_names(z.clip(-3, 3), names)
    t.columns = [str(c).replace("_", " ") for c in t.columns]
    fig = heatmap(
        t,
        title=title,
        xlabel="feature",
        ylabel="segment",
        fmt="{:+.1f}",
        cmap="RdBu_r",
        cbar_label="standard deviations from the whole list",
    )
    fig.axes[0].images[0].set_clim(-3, 3)
    return fig


def stability_bars(
    per_segment: pd.DataFrame, threshold: float = 0.75, names: Mapping | None = None
) -> Figure:
    """Bootstrap Jaccard stability per segment with the usual 0.75 line; segments below it
    are drawn in red and counted in the title."""
    p = per_segment.sort_values("segment", ascending=False)
    labels = _labels(p["segment"], names)
    lines = max((x.count("\n") + 1 for x in labels), default=1)
    fig, ax = plt.subplots(figsize=(8, (0.3 + 0.17 * lines) * len(p) + 1.5), layout="constrained")
    low = p["jaccard"] < threshold
    ax.barh(range(len(p)), p["jaccard"], color=np.where(low, "#c44e52", "#4c72b0"))
    ax.set_yticks(range(len(p)), labels)
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean Jaccard similarity with the best-matching bootstrap segment (0 to 1)")
    ax.set_ylabel("segment")
    n_low = int(low.sum())
    ax.set_title(
        "Every segment is found again in bootstrap resamples (all above the dashed 0.75 line)"
        if n_low == 0
        else f"{len(p) - n_low} of {len(p)} segments are stable; "
        f"{n_low} below the dashed {threshold:.2f} line (red)"
    )
    ax.legend(
        handles=[
            Patch(color="#4c72b0", label=f"stable (≥ {threshold:.2f})"),
            Patch(color="#c44e52", label=f"unstable (< {threshold:.2f})"),
        ],
        fontsize=9,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
    )
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def psi_bars(table: pd.DataFrame, threshold: float = 0.25, top: int = 15) -> Figure:
    """Population stability index of the most shifted features."""
    t = table.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(t) + 1.5), layout="constrained")
    ax.barh(
        [str(f).replace("_", " ") for f in t["feature"]],
        t["psi"],
        color=np.where(t["flagged"], "#c44e52", "#4c72b0"),
    )
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_xlabel("population stability index (0: no shift)")
    ax.set_ylabel("feature")
    n = int(table["flagged"].sum())
    ax.set_title(
        "No feature shifted beyond the threshold between the two dates"
        if n == 0
        else f"{n} feature{'s' if n > 1 else ''} shifted beyond the threshold between the two "
        "dates (red)"
    )
    ax.legend(
        handles=[
            Patch(color="#c44e52", label=f"shifted (PSI > {threshold:g})"),
            Patch(color="#4c72b0", label="stable"),
        ],
        fontsize=9,
        frameon=False,
        loc="lower right",
    )
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def transitions(moves: pd.DataFrame, names: Mapping | None = None) -> Figure:
    """Where each segment's subscribers went between two dates
    (:func:`~workbench.segment.drift.transition_matrix`): rows are the segments before, named;
    columns the segments now, by number (the same numbers as the rows)."""
    t = with_names(moves, names)
    t.columns = [str(c) for c in moves.columns]
    stayed = pd.Series(
        [moves.loc[s, s] if s in moves.columns else 0.0 for s in moves.index], index=moves.index
    )
    worst = stayed.idxmin() if len(stayed) else None
    title = (
        f"Segments kept {stayed.min():.0%} to {stayed.max():.0%} of their subscribers "
        f"(diagonal; least: segment {worst})"
        if len(stayed)
        else "Where each segment's subscribers were / went"
    )
    return heatmap(
        t,
        title=title,
        xlabel="segment now (number as on the left)",
        ylabel="segment before",
        cbar_label="share of the segment before",
    )


def persona_mix(table: pd.DataFrame, names: Mapping | None = None) -> Figure:
    """How each true persona spreads over the segments (:func:`~workbench.segment.evaluate.
    confusion`, personas by segments, each persona's row summing to 1), drawn with one named
    row per segment and one column per persona."""
    t = with_names(table.T, names)
    t.columns = [str(c).replace("_", " ") for c in t.columns]
    clear = int((table.max(axis=1) >= 0.5).sum())
    return heatmap(
        t,
        title=(
            "Every persona has most of its subscribers in one segment"
            if clear == len(table)
            else f"{clear} of {len(table)} personas have most of their subscribers in one segment"
        ),
        xlabel="true persona",
        ylabel="segment",
        cbar_label="share of the persona's subscribers",
    )


def _order(segment: object) -> tuple[bool, int, str]:
    """Segments in number order (numbers given as text too), names after them."""
    text = str(segment)
    number = text.lstrip("-").isdigit()
    return (not number, int(text) if number else 0, text)


def _per_week(volume: float) -> str:
    return f"{volume:.0f} email{'' if round(volume) == 1 else 's'} a week"


def _whole_list(curve: pd.DataFrame) -> pd.DataFrame:
    """A cadence curve summed over segments: one row per arm of a cadence test (or per weekly
    volume of an observed curve), its open rate over all the segments' emails."""
    support = "shared_emails" if "shared_emails" in curve else "emails"
    c = curve.dropna(subset=["open_rate"])
    c = c.assign(
        _opens=c["open_rate"] * c[support],
        _volume=c["emails_per_week"] * c.get("subscribers", c["emails"]),
        _weight=c.get("subscribers", c["emails"]),
    )
    key = "arm" if "arm" in c else "emails_per_week"
    g = c.groupby(key)[[support, "_opens", "_volume", "_weight"]].sum()
    out = pd.DataFrame(
        {
            "segment": "all",
            "emails_per_week": (g["_volume"] / g["_weight"]).round(2),
            support: g[support],
            "open_rate": g["_opens"] / g[support].where(g[support] > 0),
        }
    )
    return out.reset_index(drop=True)


def _cadence_finding(shown: pd.DataFrame, min_emails: int) -> str:
    """The title of a per-segment cadence chart: where the typical segment tires."""
    from workbench.segment.playbook import fatigue_cadence

    cadence = fatigue_cadence(shown, min_emails=min_emails)
    top = shown.groupby("segment")["emails_per_week"].max().round()
    tired = cadence[cadence < top.reindex(cadence.index)]
    if tired.empty:
        return "No segment's open rate falls by a fifth within the volumes it received"
    share = (
        f"All {len(cadence)}" if len(tired) == len(cadence) else f"{len(tired)} of {len(cadence)}"
    )
    return (
        f"{share} segments open a fifth less past their best volume "
        f"(typically past {_per_week(float(tired.median()))})"
    )


def cadence_lines(
    curve: pd.DataFrame, names: Mapping | None = None, min_emails: int = 100
) -> Figure | None:
    """Open rate against emails per week, one line per segment (a cadence curve).

    Points resting on fewer than ``min_emails`` emails are left out, as in
    :func:`~workbench.segment.playbook.fatigue_cadence`
    (:func:`~workbench.segment.playbook.supported`). When no segment has such a point (a small
    list split into many segments), the segments are added up and the whole list is drawn as
    one line, as the title says. ``None`` when even the whole list has none: there is nothing
    to draw, and the caller says so in words.
    """
    from workbench.segment.playbook import supported

    shown = supported(curve, min_emails)
    whole = shown.empty
    if whole:
        shown = supported(_whole_list(curve), min_emails) if len(curve) else shown
        if shown.empty:
            return None
    groups = sorted(shown.groupby("segment", sort=False), key=lambda g: _order(g[0]))
    styles = series_styles(len(groups))
    fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
    for (seg, part), style in zip(groups, styles, strict=True):
        p = part.sort_values("emails_per_week")
        label = "whole list" if whole else wrap_label(segment_label(seg, names), 30)
        ax.plot(p["emails_per_week"], p["open_rate"], ms=5, label=label, **style)
    ax.set_xlabel("emails per week")
    ax.set_ylabel("share of emails opened by a person")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylim(bottom=0)
    if whole:
        best = shown.loc[shown["open_rate"].idxmax()]
        ax.set_title(
            "Whole list (segments too small to draw apart): opens peak at "
            + _per_week(best["emails_per_week"])
        )
    else:
        ax.set_title(_cadence_finding(shown, min_emails))
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
