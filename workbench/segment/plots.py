"""Figures of the segmentation notebook (shared ones come from :mod:`workbench.plots`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from workbench.plots import heatmap


def model_selection(scores: pd.DataFrame, chosen: int | None = None) -> Figure:
    """One panel per score of :func:`~workbench.segment.pipelines.select_k` against k."""
    cols = [c for c in ("silhouette", "davies_bouldin", "bic", "icl") if c in scores.columns]
    better = {
        "silhouette": "higher is better",
        "davies_bouldin": "lower is better",
        "bic": "lower is better",
        "icl": "lower is better",
    }
    fig, axes = plt.subplots(
        1, len(cols), figsize=(4.5 * len(cols), 3.5), layout="constrained", squeeze=False
    )
    for ax, c in zip(axes[0], cols, strict=True):
        ax.plot(scores["k"], scores[c], marker="o")
        if chosen is not None:
            ax.axvline(chosen, color="grey", ls="--", lw=1)
        ax.set_xlabel("number of segments k")
        label = c.upper() if c in ("bic", "icl") else c.replace("_", "-")
        ax.set_title(f"{label} ({better[c]})")
        ax.spines[["top", "right"]].set_visible(False)
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
    fig, ax = plt.subplots(figsize=(8, 6), layout="constrained")
    for s in np.unique(lab):
        m = lab == s
        ax.scatter(
            xy[m, 0], xy[m, 1], s=6, alpha=0.6, label=f"{s}: {names.get(s, s)}" if names else str(s)
        )
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    ax.set_title("Subscribers in two dimensions, coloured by segment")
    ax.legend(fontsize=7, markerscale=2, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def profile_heatmap(
    z: pd.DataFrame, title: str = "How each segment differs from the base"
) -> Figure:
    """Standardized differences (segments by features) as a diverging heatmap."""
    t = z.T
    fig = heatmap(
        t.clip(-3, 3), title=title, xlabel="segment", ylabel="feature", fmt="{:+.1f}", cmap="RdBu_r"
    )
    fig.axes[0].images[0].set_clim(-3, 3)
    return fig


def stability_bars(per_segment: pd.DataFrame, threshold: float = 0.75) -> Figure:
    """Bootstrap Jaccard stability per segment with the usual 0.75 line."""
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(per_segment) + 1.5), layout="constrained")
    p = per_segment.sort_values("segment", ascending=False)
    ax.barh(p["segment"].astype(str), p["jaccard"], color="#4c72b0")
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_xlim(0, 1)
    ax.set_xlabel("mean Jaccard similarity with the best-matching bootstrap segment")
    ax.set_ylabel("segment")
    ax.set_title("Segment stability under bootstrap resampling")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def psi_bars(table: pd.DataFrame, threshold: float = 0.25, top: int = 15) -> Figure:
    """Population stability index of the most shifted features."""
    t = table.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(t) + 1.5), layout="constrained")
    ax.barh(t["feature"], t["psi"], color=np.where(t["flagged"], "#c44e52", "#4c72b0"))
    ax.axvline(threshold, color="grey", ls="--", lw=1)
    ax.set_xlabel("population stability index")
    ax.set_title("Feature drift between the two dates (red: above threshold)")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def cadence_lines(
    curve: pd.DataFrame, names: dict[int, str] | None = None, min_emails: int = 100
) -> Figure:
    """Open rate against emails per week, one line per segment (a cadence curve).

    Points resting on fewer than ``min_emails`` emails are left out, as in
    :func:`~workbench.segment.playbook.fatigue_cadence`
    (:func:`~workbench.segment.playbook.supported`).
    """
    fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    colours = plt.get_cmap("tab20").colors
    from workbench.segment.playbook import supported

    for i, (seg, part) in enumerate(supported(curve, min_emails).groupby("segment", sort=True)):
        label = (names or {}).get(int(seg), str(seg)) if str(seg).isdigit() else str(seg)
        p = part.sort_values("emails_per_week")
        ax.plot(
            p["emails_per_week"],
            p["open_rate"],
            marker="o",
            color=colours[i % len(colours)],
            label=f"{seg}: {label}",
        )
    ax.set_xlabel("emails per week")
    ax.set_ylabel("share of emails opened by a person")
    ax.set_title("Open rate against email volume, per segment")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return fig
