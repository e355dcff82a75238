"""Every figure of the package stands alone: data drawn, labels readable, series named.

:func:`figure_problems` inspects a drawn matplotlib Figure the way a reader of the report would
look at it: every panel holds data, carries a title (or the figure does) and names both of its
axes; tick labels do not run into each other nor into a neighbouring panel's text; a panel
with several series has a legend in words; a legend covers no data; and text is still
readable once the figure is scaled to a report page ~1000 px wide. Each public plot function of
``workbench.plots`` and ``workbench.*.plots`` is called on small synthetic data and checked;
the notebooks are checked to show each figure exactly once.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import Collection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

PX_PER_INCH = 100  # the inline backend's PNG resolution (figure.dpi)
PAGE_PX = 1000  # the report page's width: wider figures are scaled down to it
MIN_TEXT_PX = 9.0  # smallest readable text height on the page, in pixels
DEFAULT_LABEL = re.compile(r"^(_|line\d*$|patch\d*$|collection\d*$|text\d*$)|^$")

PLOT_MODULES = (
    "workbench.plots",
    "workbench.segment.plots",
    "workbench.experiments.plots",
    "workbench.attribution.plots",
    "workbench.clv.plots",
    "workbench.clv.repeat_plots",
    "workbench.uplift.plots",
    "workbench.strategy.plots",
    "workbench.flows.plots",
    "workbench.timing.plots",
)
NOT_FIGURES = {"show", "wrap_label", "series_styles", "segment_label", "with_names"}


# --------------------------------------------------------------------------- the inspector


def _in_data(transform, ax: Axes) -> bool:
    """True when ``transform`` places an artist in the data coordinates of ``ax`` (a bar, a
    curve), False for the axes-relative lines of axhline/axvline/axvspan."""
    return transform.contains_branch(ax.transData)


def _data_artists(ax: Axes) -> list:
    """The artists of ``ax`` that show data: lines with finite points, bars of nonzero size,
    images, and collections with points or paths, all in data coordinates."""
    found: list = []
    for line in ax.lines:
        xy = np.asarray(line.get_xydata(), dtype=float)
        if line.get_visible() and np.isfinite(xy).all(axis=1).any():
            if _in_data(line.get_transform(), ax):
                found.append(line)
    for patch in ax.patches:
        if not patch.get_visible() or not _in_data(patch.get_transform(), ax):
            continue
        if isinstance(patch, Rectangle):
            w, h = patch.get_width(), patch.get_height()
            if np.isfinite([w, h]).all() and w != 0 and h != 0:
                found.append(patch)
        else:
            found.append(patch)
    found += [im for im in ax.images if im.get_visible() and np.size(im.get_array())]
    for c in ax.collections:
        if not c.get_visible():
            continue
        offsets = np.asarray(c.get_offsets(), dtype=float)
        if len(offsets) and _in_data(c.get_offset_transform(), ax):
            if np.isfinite(offsets).all(axis=1).any():
                found.append(c)
        elif any(len(p.vertices) for p in c.get_paths()) and _in_data(c.get_transform(), ax):
            found.append(c)
    return found


def _series(ax: Axes) -> set:
    """The series of ``ax``, told apart by colour (images and colour scales are not series;
    artists labelled ``_nolegend_`` are parts of another, like a box plot's whiskers)."""
    keys: set = set()
    for a in _data_artists(ax):
        if a.get_label() == "_nolegend_" or a in ax.images:
            continue
        if isinstance(a, Line2D):
            keys.add(to_hex(a.get_color()))
        elif isinstance(a, Collection):
            colours = a.get_facecolor() if len(a.get_facecolor()) else a.get_edgecolor()
            keys.add(to_hex(colours[0]) if len(colours) == 1 else id(a))
        else:
            keys.add(to_hex(a.get_facecolor()))
    return keys


def _used_axes(fig: Figure) -> list[Axes]:
    """Panels meant to hold data: visible, axis on, not a colour bar."""
    return [
        ax for ax in fig.axes if ax.get_visible() and ax.axison and not hasattr(ax, "_colorbar")
    ]


def _tick_labels(axis, renderer) -> list[Text]:
    ticks = axis._update_ticks()  # the ticks that are drawn (inside the view)
    labels = [t.label1 for t in ticks] + [t.label2 for t in ticks]
    return [t for t in labels if t.get_visible() and t.get_text().strip()]


def _overlap(a: Bbox, b: Bbox, tol: float = 1.0) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > tol and min(a.y1, b.y1) - max(a.y0, b.y0) > tol


def _corners(text: Text, renderer) -> np.ndarray:
    """The four corners of a (possibly slanted) text on the canvas, in pixels."""
    box = text.get_window_extent(renderer)
    angle = np.deg2rad(text.get_rotation())
    if angle % (np.pi / 2) == 0:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    rotation = text.get_rotation()
    text.set_rotation(0)
    flat = text.get_window_extent(renderer)  # the unslanted size; same centre when slanted
    text.set_rotation(rotation)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [flat.width / 2, flat.height / 2]
    turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return half @ turn.T + [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]


def _polygons_overlap(p: np.ndarray, q: np.ndarray, tol: float = 1.0) -> bool:
    """Two convex polygons overlap by more than ``tol`` pixels (separating-axis test)."""
    for poly in (p, q):
        edges = np.roll(poly, -1, axis=0) - poly
        for nx, ny in np.c_[-edges[:, 1], edges[:, 0]]:
            norm = np.hypot(nx, ny)
            if norm == 0:
                continue
            a, b = p @ [nx, ny] / norm, q @ [nx, ny] / norm
            if min(a.max(), b.max()) - max(a.min(), b.min()) <= tol:
                return False
    return True


def _sup(fig: Figure, name: str) -> str:
    text = getattr(fig, name, None)
    return text.get_text().strip() if text is not None and text.get_visible() else ""


def _points(artist, ax: Axes) -> np.ndarray:
    """Display coordinates of the points an artist draws (for 'does the legend cover it')."""
    if isinstance(artist, Line2D):
        return artist.get_transform().transform(np.asarray(artist.get_xydata(), float))
    if isinstance(artist, Collection):
        offsets = np.asarray(artist.get_offsets(), float)
        if len(offsets) and _in_data(artist.get_offset_transform(), ax):
            return artist.get_offset_transform().transform(offsets)
        verts = [p.vertices for p in artist.get_paths() if len(p.vertices)]
        return artist.get_transform().transform(np.vstack(verts)) if verts else np.empty((0, 2))
    return np.empty((0, 2))


def _inside(box: Bbox, pts: np.ndarray) -> bool:
    pts = pts[np.isfinite(pts).all(axis=1)]
    x, y = pts[:, 0], pts[:, 1]
    return bool(((x > box.x0) & (x < box.x1) & (y > box.y0) & (y < box.y1)).any())


def figure_problems(fig: Figure) -> list[str]:
    """What keeps ``fig`` from standing alone on a report page; empty when nothing does."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems: list[str] = []
    axes = _used_axes(fig)
    if not axes:
        return ["the figure has no panel"]
    suptitle = _sup(fig, "_suptitle")
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)

    furniture: list[tuple[str, object, np.ndarray]] = []  # (what, owner, box) for overlap checks
    for n, ax in enumerate(axes):
        name = ax.get_title() or ax.get_title(loc="left") or f"panel {n}"
        data = _data_artists(ax)
        if not data:
            problems.append(f"{name}: empty panel (no data drawn)")
            continue
        if not (ax.get_title() or ax.get_title(loc="left") or suptitle):
            problems.append(f"{name}: no title, and the figure has none")
        shared_x = ax.get_shared_x_axes().get_siblings(ax)
        if not (any(a.get_xlabel().strip() for a in shared_x) or _sup(fig, "_supxlabel")):
            problems.append(f"{name}: the x axis has no label")
        shared_y = ax.get_shared_y_axes().get_siblings(ax)
        if not (any(a.get_ylabel().strip() for a in shared_y) or _sup(fig, "_supylabel")):
            problems.append(f"{name}: the y axis has no label")
        if len(_series(ax)) > 1 and not legends:
            problems.append(f"{name}: {len(_series(ax))} series and no legend naming them")
        for which, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _tick_labels(axis, renderer)
            boxes = [_corners(t, renderer) for t in labels]
            for (t1, b1), (t2, b2) in itertools.combinations(zip(labels, boxes, strict=True), 2):
                if _polygons_overlap(b1, b2):
                    problems.append(
                        f"{name}: {which} tick labels overlap: {t1.get_text()!r}, {t2.get_text()!r}"
                    )
                    break
            furniture += [(f"{which} tick label {t.get_text()!r}", ax, b) for t, b in
                          zip(labels, boxes, strict=True)]  # fmt: skip
        for text in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label):
            if text.get_visible() and text.get_text().strip():
                furniture.append((repr(text.get_text()), ax, _corners(text, renderer)))
    # text of one panel must not run into another panel's (titles into tick labels above)
    for (w1, o1, b1), (w2, o2, b2) in itertools.combinations(furniture, 2):
        if o1 is not o2 and _polygons_overlap(b1, b2):
            problems.append(f"{w1} runs into {w2} of another panel")
    for text in ("_suptitle", "_supxlabel", "_supylabel"):
        t = getattr(fig, text, None)
        if t is not None and t.get_visible() and t.get_text().strip():
            box = _corners(t, renderer)
            problems += [
                f"{t.get_text()!r} runs into {w}"
                for w, _, b in furniture
                if _polygons_overlap(box, b)
            ]
            furniture.append((repr(t.get_text()), fig, box))
    for legend in legends:  # a legend must not sit on any text but its own
        b = legend.get_window_extent(renderer).padded(-2.0)
        box = np.array([[b.x0, b.y0], [b.x1, b.y0], [b.x1, b.y1], [b.x0, b.y1]])
        problems += [
            f"a legend runs into {w}" for w, _, c in furniture if _polygons_overlap(box, c)
        ]
    for legend in legends:
        texts = [t.get_text() for t in legend.get_texts()]
        bad = [t for t in texts if DEFAULT_LABEL.match(t)]
        if bad or not texts:
            problems.append(f"legend labels are not names: {texts}")
        box = legend.get_window_extent(renderer).padded(-2.0)
        for ax in axes:
            for artist in _data_artists(ax):
                if isinstance(artist, Rectangle):
                    covered = _overlap(box, artist.get_window_extent(renderer), tol=2.0)
                else:
                    pts = _points(artist, ax)
                    covered = _inside(box, pts)
                if covered:
                    problems.append(f"the legend {texts[:3]}... covers data")
                    break
            else:
                continue
            break
    # readable on the page: text height once the figure is scaled to the page width
    width_px = fig.get_tightbbox(renderer).width * PX_PER_INCH
    scale = min(1.0, PAGE_PX / width_px)
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None:
            px = t.get_fontsize() * PX_PER_INCH / 72 * scale
            if px < MIN_TEXT_PX:
                problems.append(
                    f"text {t.get_text()[:30]!r} is {px:.1f} px high on a {PAGE_PX} px page "
                    f"(figure {width_px:.0f} px wide)"
                )
                break
    return problems


def _as_figure(obj) -> Figure:
    return obj.figure if isinstance(obj, Axes) else obj


# --------------------------------------------------------------------------- the inspector can fail


def test_the_inspector_passes_a_good_figure() -> None:
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot([1, 2, 3], [1, 4, 9], label="squares")
    ax.plot([1, 2, 3], [1, 2, 3], label="numbers")
    ax.legend(loc="upper left")
    ax.set(title="Squares grow faster", xlabel="n", ylabel="value")
    assert figure_problems(fig) == []


def test_the_inspector_finds_an_empty_panel() -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set(title="Nothing here", xlabel="x", ylabel="y")
    ax.axvline(1.0)  # a reference line is not data
    assert any("empty panel" in p for p in figure_problems(fig))


def test_the_inspector_finds_overlapping_tick_labels() -> None:
    fig, ax = plt.subplots(figsize=(4, 3))
    names = [f"a rather long segment name {i}" for i in range(8)]
    ax.bar(range(8), np.arange(8) + 1)
    ax.set_xticks(range(8), names)
    ax.set(title="Smear", xlabel="segment", ylabel="subscribers")
    assert any("x tick labels overlap" in p for p in figure_problems(fig))


def test_the_inspector_finds_a_title_running_into_the_panel_above() -> None:
    fig, axes = plt.subplots(2, 1, figsize=(4, 3))  # no layout engine: panels touch
    for ax in axes:
        ax.plot([0, 1], [0, 1])
        ax.set(xlabel="x", ylabel="y")
        ax.set_title("a title\non two lines", fontsize=14)
    assert any("of another panel" in p for p in figure_problems(fig))


def test_the_inspector_finds_a_legend_on_the_title() -> None:
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot([1, 2], [1, 2], label="one")
    ax.set(xlabel="x", ylabel="y")
    fig.suptitle("A title the legend sits on")
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 1.0))
    assert any("legend runs into" in p for p in figure_problems(fig))


def test_the_inspector_finds_unnamed_series_and_default_labels() -> None:
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    ax.plot([1, 2], [1, 2])
    ax.plot([1, 2], [2, 1])
    ax.set(title="Two lines", xlabel="x", ylabel="y")
    assert any("no legend" in p for p in figure_problems(fig))
    ax.legend(ax.lines, ["_child0", "line1"])
    assert any("not names" in p for p in figure_problems(fig))


def test_the_inspector_finds_missing_labels_small_text_and_a_covering_legend() -> None:
    fig, ax = plt.subplots(figsize=(18, 3), layout="constrained")
    ax.barh(["a"], [1.0], label="all")
    ax.legend(loc="center")
    problems = figure_problems(fig)
    assert any("no title" in p for p in problems)
    assert any("x axis has no label" in p for p in problems)
    assert any("covers data" in p for p in problems)
    assert any("px high" in p for p in problems)


# --------------------------------------------------------------------------- synthetic inputs

SEGMENT_NAMES = {
    0: "morning readers · low clicks · not evenings",
    1: "low opens · gone quiet · rare openers",
    2: "high spend · multi-category · evening readers",
    3: "sustainable goods buyers · sustainability content · not mornings",
    4: "webinar content · click when they open · high clicks",
    5: "new · heavily mailed · frequent openers",
}
PERSONAS = ["budget_conscious", "busy_professional", "caregiver", "eco_advocate",
            "eco_shopper", "lapsing", "loyal_buyer", "new_onboarding", "proof_seeker"]  # fmt: skip
CHANNELS = ["direct", "email", "in_app", "organic_search", "paid_retargeting", "push", "sms"]
MODELS = ["first", "last", "last_non_direct", "linear", "position", "time_decay", "markov"]
rng = np.random.default_rng(0)


def _cadence(by_arm: bool, emails: int) -> pd.DataFrame:
    rows = []
    for s in range(6):
        for v in (1, 2, 4, 6):
            rows.append(
                {"segment": str(s), "arm": f"{v}_per_week", "subscribers": 30,
                 "emails_per_week": v + 0.1 * s, "emails": 30 * v, "shared_emails": emails,
                 "open_rate": 0.5 - 0.04 * v + 0.02 * s}
            )  # fmt: skip
    curve = pd.DataFrame(rows)
    if not by_arm:
        curve = curve.drop(columns=["arm", "subscribers", "shared_emails"])
        curve["emails_per_week"] = curve["emails_per_week"].round()
        curve["emails"] = emails
    return curve


def _conjugate_result() -> pd.DataFrame:
    rows = []
    for s in ["organic", "checkout", "paid_social", "referral", "popup", "webinar_signup"]:
        n = int(rng.integers(100, 600))
        for arm, rate in (("control", 0.10), ("proof", 0.08), ("urgency", 0.14)):
            rows.append({"segment": s, "arm": arm, "n": n, "conversions": int(n * rate)})
    res = pd.DataFrame(rows)
    lift = rng.normal(0.05, 0.2, len(res))
    res["lift_mean"] = np.where(res["arm"] == "control", np.nan, lift)
    res["lift_low"], res["lift_high"] = res["lift_mean"] - 0.2, res["lift_mean"] + 0.2
    res["decision"] = rng.choice(["ship", "stop", "keep testing"], len(res))
    return res


def _idata():
    """Draws shaped like the hierarchical model's hyper-parameters (two with an arm each)."""
    import arviz_base as azb

    return azb.from_dict(
        {"posterior": {"alpha_mu": rng.normal(size=(2, 150)),
                       "alpha_sigma": rng.gamma(2.0, size=(2, 150)),
                       "delta_mu": rng.normal(size=(2, 150, 2)),
                       "delta_sigma": rng.gamma(2.0, size=(2, 150, 2))}},
        dims={"delta_mu": ["arm"], "delta_sigma": ["arm"]},
        coords={"arm": ["proof", "urgency"]},
    )  # fmt: skip


def _attribution_results() -> pd.DataFrame:
    shares = rng.dirichlet(np.ones(len(CHANNELS)), len(MODELS))
    return pd.DataFrame(
        [{"model": m, "channel": c, "share": shares[i, j]}
         for i, m in enumerate(MODELS) for j, c in enumerate(CHANNELS)]
    )  # fmt: skip


def _holdouts(rows: int = 5) -> pd.DataFrame:
    """A channel-holdout table shaped like ``world_incrementality``'s: a clear effect, a
    well-powered null, a weak test and a negative one; an overall row of a segmented table."""
    est = np.array([11_000.0, 1_200.0, 20.0, 95.0, -400.0])[:rows]
    sd = np.array([460.0, 230.0, 210.0, 107.0, 150.0])[:rows]
    channels = ["email", "sms", "push", "in_app", "paid_retargeting"][:rows]
    return pd.DataFrame({
        "channel": channels, "experiment_id": np.arange(rows), "days": [63, 91, 91, 70, 91][:rows],
        "n_exposed": [38_000, 7_700, 7_000, 500, 22_000][:rows],
        "n_holdout": [6_700, 7_600, 7_000, 85, 22_000][:rows],
        "incremental_conversions": est, "incremental_conversions_low": est - 1.645 * sd,
        "incremental_conversions_high": est + 1.645 * sd, "incremental_conversions_sd": sd,
        "power": [0.69, 0.83, 0.8, 0.12, 0.99][:rows], "mde_lift": [0.06, 0.05, 0.05, 0.39,
                                                                    0.03][:rows],
    })  # fmt: skip


def _with_calibrated() -> pd.DataFrame:
    """Path models' shares with the calibrated model's rows (shares, intervals, holdouts)."""
    cal = pd.DataFrame({
        "model": "calibrated", "channel": CHANNELS,
        "share": [0.0, 0.84, 0.01, 0.06, 0.01, 0.01, 0.07],
        "share_low": [0.0, 0.42, 0.001, 0.003, 0.001, 0.001, 0.03],
        "share_high": [0.0, 0.92, 0.03, 0.53, 0.03, 0.02, 0.09],
        "factor": [0.0, 1.25, 0.08, 0.14, 0.04, 0.03, 0.21], "holdouts": [0, 1, 1, 0, 1, 1, 1],
    })  # fmt: skip
    return pd.concat([_attribution_results(), cal], ignore_index=True)


def _markov():
    from workbench.attribution.journeys import paths_to_pathset
    from workbench.attribution.markov import MarkovAttribution
    from workbench.attribution.simulate import simulate_paths

    paths = simulate_paths(500, ("email", "sms", "push"), seed=1)
    return MarkovAttribution(1).fit(paths_to_pathset(paths))


def _clv_tables() -> dict[str, pd.DataFrame]:
    """Tables shaped like the customer-value diagnostics, from a small simulated world."""
    from workbench.clv import repeat

    weeks = pd.date_range("2024-01-01", periods=30, freq="7D")
    obs = rng.poisson(np.r_[np.linspace(5, 60, 12), np.full(18, 55.0)])
    exp = np.r_[np.linspace(6, 58, 12), np.linspace(57, 50, 18)]
    tracking = pd.DataFrame(
        {"week_start": weeks, "observed": obs, "expected": exp,
         "observed_cumulative": obs.cumsum(), "expected_cumulative": exp.cumsum(),
         "period": ["calibration"] * 20 + ["holdout"] * 10}
    )  # fmt: skip
    labels = [str(k) for k in range(7)] + ["7+"]
    mean = np.array([0.2, 0.6, 1.1, 1.6, 2.0, 2.6, 3.0, 4.1])
    cond = pd.DataFrame(
        {"frequency": labels, "customers": rng.integers(20, 900, 8), "observed": mean,
         "predicted": mean * 1.05, "naive": mean * 1.6}
    )  # fmt: skip
    hist = pd.DataFrame(
        {"frequency": labels, "observed": [1400, 300, 150, 90, 60, 40, 30, 70],
         "expected": [1390, 320, 140, 85, 62, 41, 28, 74]}
    )  # fmt: skip
    n = 600
    T = rng.uniform(10, 39, n)
    rec = T * rng.random(n)
    pred = pd.DataFrame(
        {"frequency": rng.poisson(2, n), "recency": rec, "T": T,
         "p_alive": np.clip(1 - (T - rec) / 40 + rng.normal(0, 0.05, n), 0, 1)}
    )  # fmt: skip
    book = pd.DataFrame(
        {"segment": [f"segment {i}" for i in range(6)], "expected_value": rng.uniform(1e4, 9e4, 6),
         "value_at_risk": rng.uniform(1e3, 4e4, 6)}
    )  # fmt: skip
    ids = np.arange(400)
    orders = pd.DataFrame(
        {"subscriber_id": rng.choice(ids, 1500),
         "ts": pd.Timestamp("2025-01-06", tz="UTC")
         + pd.to_timedelta(rng.integers(0, 150 * 86400, 1500), unit="s"),
         "category": rng.choice(["apparel", "home", "outdoor", "beauty"], 1500)}
    )  # fmt: skip
    segments = pd.Series(rng.choice(["a", "b", "c"], len(ids)), index=ids)
    end = pd.Timestamp("2025-06-06", tz="UTC")
    gaps = repeat.time_between_orders(orders, end=end, segments=segments)
    return {
        "tracking": tracking, "cond": cond, "hist": hist, "pred": pred, "book": book,
        "km": repeat.kaplan_meier(gaps),
        "cohorts": repeat.repeat_rate_by_cohort(orders, end=end, window_days=30),
        "affinity": repeat.next_category_affinity(orders, segments=segments, min_pairs=5),
    }  # fmt: skip


def _uplift_tables() -> dict[str, pd.DataFrame]:
    """The uplift and strategy tables the figures draw, from a simulated test and a mock lab."""
    from workbench.uplift import (
        calibration_table,
        gain_table,
        qini_curve,
        segment_summary,
        simulate_uplift,
        uplift_curve,
        uplift_segments,
    )
    from workbench.uplift.workflow import gain_of_ranking

    _, y, t, true = simulate_uplift(3000, seed=4)
    noisy = true + rng.normal(0, 0.05, true.size)
    mu0 = rng.uniform(0.02, 0.3, true.size)
    summary = segment_summary(uplift_segments(mu0, mu0 + noisy), noisy, mu0, mu0 + noisy)
    gains = gain_table(y, t, noisy, 50_000, n_boot=50)
    policies = ["mass", "playbook", "uplift", "random"]
    mean = np.array([2646.0, 8113.0, 1621.0, 1322.0])
    lab = pd.DataFrame({
        "policy": policies, "targeted": [50_000, 50_000, 25_000, 25_000],
        "broadcasts": [313_190.0, 539_159.0, 170_826.0, 156_056.0],
        "incremental_conversions": mean, "incremental_conversions_low": mean * 0.97,
        "incremental_conversions_high": mean * 1.03, "unsubscribes": [844.0, 1729.0, 370.0, 406.0],
        "unsubscribes_low": [800.0, 1650.0, 330.0, 370.0],
        "unsubscribes_high": [890.0, 1800.0, 410.0, 440.0],
        "promised_conversions": mean * [1.08, 1.31, 1.04, 1.09],
        "promised_conversions_low": mean * 0.6, "promised_conversions_high": mean * 1.5,
    })  # fmt: skip
    names = [SEGMENT_NAMES[i] for i in range(6)]
    seg = pd.DataFrame([
        {"policy": p, "segment_name": n, "incremental_conversions": v,
         "incremental_conversions_low": v * 0.9, "incremental_conversions_high": v * 1.1}
        for p in policies for n, v in zip(names, rng.uniform(5, 600, 6), strict=True)
    ])  # fmt: skip
    return {
        "qini": {k: qini_curve(y, t, s) for k, s in (("true", true), ("noisy", noisy))},
        "uplift": {"noisy": uplift_curve(y, t, noisy)},
        "calibration": calibration_table(y, t, noisy),
        "summary": summary,
        "gains": gains,
        "truth_gains": gain_of_ranking(noisy, true, 50_000, gains["budget"].to_numpy()),
        "lab": lab,
        "lab_segments": seg,
    }


def _flow_data() -> dict[str, pd.DataFrame]:
    """A flow's funnel, time to conversion and holdout effects, as `workbench.flows` makes them."""
    funnel = pd.DataFrame({"flow": "welcome", "step": ["welcome_1", "welcome_2", "welcome_3"],
        "step_order": [1, 2, 3], "entered": [300, 310, 305], "delivered": [298, 306, 300],
        "opened": [170, 160, 150], "clicked": [25, 30, 28], "converted": [34, 30, 20],
        "unsubscribed": [0, 2, 4], "window_days": 5.0})  # fmt: skip
    conv = {1: (0.04, 0.02), 3: (0.09, 0.07), 7: (0.16, 0.14), 14: (0.27, 0.19), 30: (0.43, 0.32)}
    ttc = pd.DataFrame({"flow": ["cart_abandonment", "welcome"], "entrants": [1200, 300],
        **{f"converted_{h}d": list(v) for h, v in conv.items()},
        **{f"converted_{h}d_low": [v[0] - 0.02, v[1] - 0.04] for h, v in conv.items()},
        **{f"converted_{h}d_high": [v[0] + 0.02, v[1] + 0.04] for h, v in conv.items()},
    })  # fmt: skip
    inc = pd.DataFrame({"flow": ["welcome", "cart_abandonment"], "n_exposed": [2000, 11000],
        "n_holdout": [880, 4700], "incremental_rate": [0.056, 0.026],
        "incremental_rate_low": [0.031, 0.014], "incremental_rate_high": [0.082, 0.039],
        "days": 14})  # fmt: skip
    return {"funnel": funnel, "ttc": ttc, "inc": inc}


def _timing_data() -> dict[str, object]:
    """Send-time errors per method (with and without history bands) and a fitted model."""
    from workbench.timing import SendTimeModel

    errors = pd.DataFrame({"method": ["shrunk", "segment", "global"] * 2,
        "history": ["0"] * 3 + ["5-19"] * 3, "subscribers": [10] * 3 + [20] * 3,
        "mean_error_h": [2.0, 2.0, 4.0, 1.0, 1.5, 4.0]})  # fmt: skip
    r = np.random.default_rng(0)
    n = 4000
    d = r.uniform(0, 24, n)
    tau = r.exponential(2.0, n)
    opened = r.random(n) < 0.3
    table = pd.DataFrame({"subscriber_id": r.integers(1, 201, n), "delivered_hour": d,
        "opened": opened, "open_hour": np.where(opened, (d + tau) % 24, np.nan),
        "hours_to_open": np.where(opened, tau, np.nan)})  # fmt: skip
    segments = pd.Series(np.arange(1, 201) % 4, index=np.arange(1, 201))
    model = SendTimeModel().fit(table, segments)
    return {"errors": errors, "model": model}


def _cases() -> dict[str, list[Callable[[], object]]]:
    from workbench import plots
    from workbench.attribution import plots as aplots
    from workbench.clv import plots as cplots
    from workbench.clv import repeat_plots as rplots
    from workbench.experiments import plots as xplots
    from workbench.flows import plots as fplots
    from workbench.segment import plots as splots
    from workbench.timing import plots as tplots

    weeks = pd.date_range("2025-01-06", periods=10, freq="W-MON")
    k = np.arange(4, 13)
    groups = [f"persona {i}" for i in range(9)]
    cadence01 = pd.DataFrame(
        [{"group": g, "emails_per_week": v, "open_rate": 0.6 - 0.05 * v + 0.03 * i,
          "unsubscribe_rate": 0.002 * v * (i + 1) / 9}
         for i, g in enumerate(groups) for v in range(1, 8)]
    )  # fmt: skip
    z = pd.DataFrame(
        rng.normal(size=(6, 12)),
        index=pd.Index(range(6), name="segment"),
        columns=[f"feature_{c}_{i}" for i, c in enumerate("abcdefghijkl")],
    )
    confusion = pd.DataFrame(rng.dirichlet(np.ones(6) * 0.3, len(PERSONAS)),
                             index=PERSONAS, columns=range(6))  # fmt: skip
    moves = pd.DataFrame(0.9 * np.eye(6) + 0.1 / 6, index=range(6), columns=range(6))
    result = _conjugate_result()
    results = _attribution_results()
    fl = _flow_data()
    tm = _timing_data()
    errors = results.merge(
        pd.DataFrame({"channel": CHANNELS, "true_share": [0.02, 0.85, 0.01, 0.03, 0.02, 0.04,
                                                          0.03]}), on="channel"
    )  # fmt: skip
    clv = _clv_tables()
    up = _uplift_tables()
    from workbench.strategy import plots as stplots
    from workbench.uplift import plots as uplots

    paths = pd.DataFrame({
        "path": [" > ".join(rng.choice(CHANNELS, rng.integers(1, 4))) for _ in range(30)],
        "total_conversions": rng.integers(0, 50, 30), "total_null": rng.integers(0, 80, 30),
    }).drop_duplicates("path")  # fmt: skip
    return {
        "workbench.plots.share_bars": [lambda: plots.share_bars(
            pd.DataFrame({"group": [SEGMENT_NAMES[i] for i in range(6)],
                          "share": rng.dirichlet(np.ones(6))}),
            title="Persona mix", ylabel="segment")],  # fmt: skip
        "workbench.plots.heatmap": [
            lambda: plots.heatmap(
                pd.DataFrame(rng.dirichlet(np.ones(24), 6),
                             index=[SEGMENT_NAMES[i] for i in range(6)]),
                title="Opens by hour", xlabel="local hour", ylabel="segment", fmt=None),
            lambda: plots.heatmap(
                pd.DataFrame(rng.random((9, 3)), index=PERSONAS,
                             columns=["email_consent", "sms_consent", "push_consent"]),
                title="Consent", xlabel="channel", ylabel="persona"),
        ],  # fmt: skip
        "workbench.plots.lines_by_group": [lambda: plots.lines_by_group(
            cadence01, "emails_per_week", ["open_rate", "unsubscribe_rate"],
            titles=["Human open rate", "Unsubscribe rate"], xlabel="emails that week",
            ylabels=["opened per delivered", "unsubscribed per delivered"])],  # fmt: skip
        "workbench.plots.distributions": [lambda: plots.distributions(
            pd.DataFrame({"group": np.repeat(groups, 20),
                          "revenue": rng.lognormal(3, 1, 20 * len(groups))}),
            "revenue", title="Order value", xlabel="order value", ylabel="persona")],  # fmt: skip
        "workbench.plots.stacked_shares": [lambda: plots.stacked_shares(
            pd.DataFrame(rng.integers(1, 50, (10, 5)), index=weeks,
                         columns=["new", "active", "lapsing", "lapsed", "reactivated"]),
            title="Lifecycle", xlabel="week ending")],  # fmt: skip
        "workbench.plots.small_multiples": [lambda: plots.small_multiples(
            pd.DataFrame(rng.integers(0, 5000, (10, 7)), index=weeks,
                         columns=["signups", "unsubscribes", "delivered", "human_opens",
                                  "clicks", "orders", "revenue"]),
            title="The list, week by week", xlabel="week starting", ylabel="per week")],
        "workbench.segment.plots.model_selection": [lambda: splots.model_selection(
            pd.DataFrame({"k": k, "silhouette": rng.random(9), "davies_bouldin": rng.random(9),
                          "bic": 350000 + rng.random(9) * 5000,
                          "icl": 351000 + rng.random(9) * 5000}), chosen=8)],  # fmt: skip
        "workbench.segment.plots.projection": [lambda: splots.projection(
            rng.normal(size=(300, 5)), rng.integers(0, 6, 300), SEGMENT_NAMES)],
        "workbench.segment.plots.profile_heatmap": [
            lambda: splots.profile_heatmap(z, names=SEGMENT_NAMES)],
        "workbench.segment.plots.stability_bars": [lambda: splots.stability_bars(
            pd.DataFrame({"segment": range(6), "size": 100, "jaccard": rng.random(6)}),
            names=SEGMENT_NAMES)],  # fmt: skip
        "workbench.segment.plots.psi_bars": [lambda: splots.psi_bars(
            pd.DataFrame({"feature": [f"feature_{i}" for i in range(12)],
                          "psi": np.linspace(0.5, 0.0, 12)}).assign(
                flagged=lambda d: d["psi"] > 0.25))],  # fmt: skip
        "workbench.segment.plots.transitions": [
            lambda: splots.transitions(moves, SEGMENT_NAMES)],
        "workbench.segment.plots.persona_mix": [
            lambda: splots.persona_mix(confusion, SEGMENT_NAMES)],
        "workbench.segment.plots.cadence_lines": [
            lambda: splots.cadence_lines(_cadence(True, 150), SEGMENT_NAMES),  # per segment
            lambda: splots.cadence_lines(_cadence(True, 30), SEGMENT_NAMES),  # whole list
            lambda: splots.cadence_lines(_cadence(False, 150), SEGMENT_NAMES),  # observed
        ],
        "workbench.experiments.plots.plot_posteriors": [
            lambda: xplots.plot_posteriors(result)],
        "workbench.experiments.plots.plot_lift_forest": [
            lambda: xplots.plot_lift_forest(result)],
        "workbench.experiments.plots.plot_shrinkage": [lambda: xplots.plot_shrinkage(
            result, result.assign(lift_mean=result["lift_mean"] * 0.5))],
        "workbench.experiments.plots.plot_ppc": [lambda: xplots.plot_ppc(
            result.assign(pred_low=result["conversions"] - 5,
                          pred_high=result["conversions"] + rng.integers(-8, 8, len(result))))],
        "workbench.experiments.plots.plot_incremental": [lambda: xplots.plot_incremental(
            pd.DataFrame({"arm": ["mass", "segmented", "segmented − mass"],
                          "incremental_conversions": [100.0, 230.0, 130.0],
                          "incremental_conversions_low": [70.0, 190.0, 95.0],
                          "incremental_conversions_high": [130.0, 270.0, 165.0]}))],
        "workbench.experiments.plots.plot_monitoring": [lambda: xplots.plot_monitoring(
            pd.DataFrame([{"lift": lift, "rule": rule, "ship_variant": a, "ship_control": b,
                           "no_decision": 1 - a - b}
                          for lift in (0.0, 0.1, 0.2)
                          for rule, a, b in (("fixed horizon", 0.02 + lift, 0.02),
                                             ("peeking p-value", 0.1 + 2 * lift, 0.1),
                                             ("expected loss", 0.4 + 2 * lift, 0.4 - lift))]))],
        "workbench.experiments.plots.plot_rank": [lambda: xplots.plot_rank(
            _idata(), ["alpha_mu", "alpha_sigma", "delta_mu", "delta_sigma"])],
        "workbench.attribution.plots.plot_top_paths": [
            lambda: aplots.plot_top_paths(paths, n=15)],
        "workbench.attribution.plots.plot_transition_heatmap": [
            lambda: aplots.plot_transition_heatmap(_markov())],
        "workbench.attribution.plots.plot_shares": [lambda: aplots.plot_shares(
            results, truth=errors.groupby("channel", as_index=False)["true_share"].first())],
        "workbench.attribution.plots.plot_segment_shares": [lambda: aplots.plot_segment_shares(
            pd.concat([results.loc[results["model"] == "linear"].assign(segment=s)
                       for s in ["checkout", "organic", "paid_social", "referral"]]))],
        "workbench.attribution.plots.plot_scorecard": [
            lambda: aplots.plot_scorecard(errors)],
        "workbench.attribution.plots.plot_incrementality": [
            lambda: aplots.plot_incrementality(_holdouts()),
            lambda: aplots.plot_incrementality(_holdouts().iloc[[3]])],
        "workbench.attribution.plots.plot_calibrated": [
            lambda: aplots.plot_calibrated(_with_calibrated(), truth=errors.groupby(
                "channel", as_index=False)["true_share"].first()),
            lambda: aplots.plot_calibrated(_with_calibrated().query("model == 'calibrated'")
                                           .drop(columns="model"))],
        "workbench.clv.plots.tracking_plot": [lambda: cplots.tracking_plot(clv["tracking"])],
        "workbench.clv.plots.conditional_expectations_plot": [
            lambda: cplots.conditional_expectations_plot(clv["cond"])],
        "workbench.clv.plots.frequency_histogram_plot": [
            lambda: cplots.frequency_histogram_plot(clv["hist"])],
        "workbench.clv.plots.p_alive_map": [lambda: cplots.p_alive_map(clv["pred"])],
        "workbench.clv.plots.value_at_risk_bars": [
            lambda: cplots.value_at_risk_bars(clv["book"])],
        "workbench.clv.repeat_plots.plot_survival": [lambda: rplots.plot_survival(clv["km"])],
        "workbench.clv.repeat_plots.plot_repeat_by_cohort": [
            lambda: rplots.plot_repeat_by_cohort(clv["cohorts"])],
        "workbench.clv.repeat_plots.plot_category_affinity": [
            lambda: rplots.plot_category_affinity(clv["affinity"])],
        "workbench.uplift.plots.plot_uplift_curves": [
            lambda: uplots.plot_uplift_curves(up["qini"]),
            lambda: uplots.plot_uplift_curves(up["uplift"], kind="uplift")],
        "workbench.uplift.plots.plot_calibration": [
            lambda: uplots.plot_calibration(up["calibration"])],
        "workbench.uplift.plots.plot_gain": [lambda: uplots.plot_gain(up["gains"])],
        "workbench.uplift.plots.plot_segments": [lambda: uplots.plot_segments(up["summary"])],
        "workbench.strategy.plots.plot_policies": [lambda: stplots.plot_policies(up["lab"])],
        "workbench.strategy.plots.plot_efficiency": [lambda: stplots.plot_efficiency(up["lab"])],
        "workbench.strategy.plots.plot_segments": [
            lambda: stplots.plot_segments(up["lab_segments"])],
        "workbench.strategy.plots.budget_figure": [
            lambda: stplots.budget_figure(up["gains"], 0.3, up["truth_gains"]),
            lambda: stplots.budget_figure(up["gains"], 0.5)],
        "workbench.flows.plots.plot_flow_funnel": [lambda: fplots.plot_flow_funnel(fl["funnel"])],
        "workbench.flows.plots.plot_time_to_conversion": [
            lambda: fplots.plot_time_to_conversion(fl["ttc"])],
        "workbench.flows.plots.plot_flow_incrementality": [
            lambda: fplots.plot_flow_incrementality(fl["inc"])],
        "workbench.timing.plots.plot_send_time_errors": [
            lambda: tplots.plot_send_time_errors(tm["errors"]),
            lambda: tplots.plot_send_time_errors(
                tm["errors"].drop(columns="history").drop_duplicates("method"))],
        "workbench.timing.plots.plot_hour_profile": [
            lambda: tplots.plot_hour_profile(tm["model"], int(tm["model"].n_opens_.idxmax())),
            lambda: tplots.plot_hour_profile(tm["model"], segment=0),
            lambda: tplots.plot_hour_profile(
                tm["model"], segment=1, name="evening readers · multi-category · high spend")],
    }  # fmt: skip


CASES = _cases()


def _public_plot_functions() -> list[str]:
    names = []
    for module in PLOT_MODULES:
        mod = importlib.import_module(module)
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if fn.__module__ == module and not name.startswith("_") and name not in NOT_FIGURES:
                names.append(f"{module}.{name}")
    return names


def test_every_public_plot_function_has_a_case() -> None:
    assert sorted(CASES) == sorted(_public_plot_functions())


@pytest.mark.parametrize(
    ("name", "case"),
    [(name, i) for name, makers in CASES.items() for i in range(len(makers))],
    ids=lambda v: v.rsplit(".", 1)[-1] if isinstance(v, str) else str(v),
)
def test_each_figure_stands_alone(name: str, case: int) -> None:
    fig = _as_figure(CASES[name][case]())
    assert figure_problems(fig) == []


def test_a_cadence_curve_without_enough_emails_draws_nothing() -> None:
    from workbench.segment import plots as splots

    assert splots.cadence_lines(_cadence(True, 1), SEGMENT_NAMES) is None
    assert splots.cadence_lines(_cadence(True, 150).iloc[:0], SEGMENT_NAMES) is None


def test_segments_are_named_with_their_number() -> None:
    from workbench.segment import plots as splots

    assert splots.segment_label(3, SEGMENT_NAMES).startswith("3: sustainable goods")
    assert splots.segment_label("3", SEGMENT_NAMES) == splots.segment_label(3, SEGMENT_NAMES)
    assert splots.segment_label(9, SEGMENT_NAMES) == "9"
    fig = splots.stability_bars(
        pd.DataFrame({"segment": [0, 1], "jaccard": [0.9, 0.5]}), names=SEGMENT_NAMES
    )
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any(t.startswith("0: morning readers") for t in labels)


def _off_the_canvas(fig: Figure) -> list[str]:
    """Texts that run off the figure's canvas (cut off in the PNG)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox.padded(1.0)
    out = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None:
            box = t.get_window_extent(renderer)
            if not (canvas.contains(box.x0, box.y0) and canvas.contains(box.x1, box.y1)):
                out.append(t.get_text()[:40])
    return out


def test_holdout_and_calibrated_figures_say_their_finding_and_fit_the_page() -> None:
    from workbench.attribution import plots as aplots
    from workbench.errors import WorkbenchError

    ax = aplots.plot_incrementality(_holdouts())
    title = ax.get_title(loc="left").replace("\n", " ")
    assert "email and sms clearly add" in title and "in app and push cannot" in title
    assert "paid retargeting costs" in title
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "email\n15% held out, 63 days" in labels
    notes = [t.get_text() for t in ax.texts]
    assert any("power 12% for a 5% lift · detectable lift 39%" in t for t in notes)
    assert _off_the_canvas(ax.figure) == []
    weak = aplots.plot_incrementality(_holdouts().iloc[[3]]).get_title(loc="left")
    assert "cannot tell in app's effect from zero (power 12%" in weak.replace("\n", " ")
    # a segmented table: only its overall rows are drawn
    seg = pd.concat([_holdouts().assign(segment=None), _holdouts().assign(segment="a")])
    assert len(aplots.plot_incrementality(seg).get_yticks()) == 5
    with pytest.raises(WorkbenchError, match="no channel holdout"):
        aplots.plot_incrementality(_holdouts().iloc[:0])
    truth = pd.DataFrame({"channel": CHANNELS,
                          "true_share": [0.0, 0.9, 0.005, 0.02, 0.013, 0.014, 0.04]})  # fmt: skip
    ax = aplots.plot_calibrated(_with_calibrated(), truth=truth)
    assert ax.get_title(loc="left").startswith("Calibration brings the shares closer")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "email\nmeasured by a holdout"  # the largest share on top
    assert "organic search\nno holdout: pooled factor" in labels
    assert "direct\nno credit (navigation)" in labels
    assert [t.get_text() for t in ax.get_legend().get_texts()][1:3] == [
        "markov (credit)", "last (credit)"]  # fmt: skip
    assert _off_the_canvas(ax.figure) == []
    far = truth.assign(true_share=truth["true_share"].iloc[::-1].to_numpy())
    title = aplots.plot_calibrated(_with_calibrated(), truth=far).get_title(loc="left")
    assert title.startswith("Calibration does not bring")
    alone = aplots.plot_calibrated(_with_calibrated().query("model == 'calibrated'"))
    assert "email 84% (42% to 92%)" in alone.get_title(loc="left").replace("\n", " ")
    with pytest.raises(WorkbenchError, match="no calibrated rows"):
        aplots.plot_calibrated(_attribution_results())


# --------------------------------------------------------------------------- notebooks

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
PLOT_OWNERS = {"plots", "seg_plots", "xplots", "azp"}


def _plot_calls_not_shown(source: str) -> list[str]:
    """Calls of a figure function in ``source`` whose figure is not handed to ``show``.

    A figure left open is shown once more when the cell ends (after the cell's tables), and a
    figure that is a cell's last value is shown twice; ``plots.show(fig)`` shows it once, here.
    """
    tree = ast.parse(source)
    shown_names = set()
    shown_calls = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "show"
        ):
            for arg in node.args:
                shown_calls.add(id(arg))
                if isinstance(arg, ast.Name):
                    shown_names.add(arg.id)
    bad = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if not (isinstance(owner, ast.Name) and owner.id in PLOT_OWNERS):
            continue
        if node.func.attr in NOT_FIGURES or id(node) in shown_calls:
            continue
        assigned = [
            t.id
            for a in ast.walk(tree)
            if isinstance(a, ast.Assign) and a.value is node
            for t in a.targets
            if isinstance(t, ast.Name)
        ]
        if not (assigned and set(assigned) & shown_names):
            bad.append(ast.unparse(node)[:60])
    return bad


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebooks_show_each_figure_once(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    bad = [
        call
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for call in _plot_calls_not_shown("".join(cell["source"]))
    ]
    assert bad == [], "hand each figure to plots.show(...)"


def test_the_notebook_check_finds_a_figure_left_to_the_cell_end() -> None:
    assert _plot_calls_not_shown("plots.heatmap(t)\nx = 1") == ["plots.heatmap(t)"]
    assert _plot_calls_not_shown("plots.show(plots.heatmap(t))") == []
    assert _plot_calls_not_shown("fig = seg_plots.cadence_lines(c)\nplots.show(fig)") == []
