"""Send times for people: windows per segment and the findings of a fit, in plain words.

:func:`send_windows` gives each segment its recommended local send hour, a two-hour window
written as text ("07:00–09:00 local", what a campaign tool or the content helper shows) and how
many of its subscribers really read around then. :func:`timing_findings` turns a fitted
:class:`~workbench.timing.model.SendTimeModel` (and, on a synthetic world, its scorecard) into
:class:`~workbench.findings.Finding` records for the notebook and the report's summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.findings import Finding, percent

__all__ = ["SECTION", "clock", "send_windows", "timing_findings", "window_text"]

#: The notebook section the send-time findings come from.
SECTION = "Send time per subscriber"
#: How the methods are named in sentences.
METHOD_WORDS: dict[str, str] = {
    "shrunk": "each subscriber's own hour pooled with their segment's",
    "subscriber": "each subscriber's own evidence alone",
    "subscriber_naive": "the circular mean of each subscriber's open hours",
    "segment": "one hour per segment",
    "global": "one hour for everyone",
}


def clock(hour: float) -> str:
    """``hour`` (any real number, taken mod 24) as ``HH:MM``, to the nearest 5 minutes."""
    minutes = int(round(float(hour) % 24 * 12)) * 5 % (24 * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def window_text(hour: float, width: float = 2.0) -> str:
    """A window of ``width`` hours centred on ``hour``, in half hours: ``"07:00–09:00 local"``."""
    start = np.round((float(hour) - width / 2) * 2) / 2
    return f"{clock(start)}\u2013{clock(start + width)} local"


def _within(a: np.ndarray, b: np.ndarray, hours: float) -> np.ndarray:
    from workbench.timing.model import circular_distance

    return circular_distance(a, b) <= hours


def send_windows(
    model: Any,
    segments: pd.Series | pd.DataFrame | None = None,
    *,
    names: Mapping[Any, str] | None = None,
    width: float = 2.0,
) -> pd.DataFrame:
    """The recommended send window of each segment.

    Parameters
    ----------
    model : SendTimeModel
        A fitted model.
    segments : Series or DataFrame, optional
        Segment per subscriber (a Series indexed by ``subscriber_id`` or a table with the
        columns ``subscriber_id, segment``); default the segments the model was fitted with,
        whose hours are :attr:`~SendTimeModel.segment_hours_`. For other groups the hour is the
        decision under the mean of their subscribers' posteriors.
    names : mapping, optional
        Segment -> readable name (a ``name`` column).
    width : float, default 2.0
        Width of the window in hours.

    Returns
    -------
    DataFrame
        One row per segment, largest first: ``segment`` (and ``name``), ``subscribers``,
        ``send_hour`` (float in [0, 24)), ``window`` (text), ``with_opens`` (subscribers with at
        least one human open) and ``share_within_1h`` (of those, the share whose own
        recommended hour is within one hour of the segment's; NaN without any).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        An unfitted model.
    WorkbenchError
        Segments that share no subscriber with the model.
    """
    from sklearn.utils.validation import check_is_fitted

    from workbench.timing.model import _decide, _segment_labels

    check_is_fitted(model, "hours_")
    ids = model.hours_.index
    if segments is None:
        labels = model.segments_
        hours = model.segment_hours_
    else:
        labels = _segment_labels(segments)
        labels = labels.set_axis(np.asarray(labels.index, dtype="int64"))
        labels = labels[labels.index.isin(ids)]
        if labels.empty:
            raise WorkbenchError("send_windows: the segments share no subscriber with the model")
        codes, uniq = pd.factorize(labels, sort=True)
        post = model.posterior_[ids.get_indexer(labels.index)]
        mean = np.zeros((len(uniq), post.shape[1]))
        np.add.at(mean, codes, post)
        mean /= np.bincount(codes, minlength=len(uniq))[:, None]
        hours = pd.Series(_decide(mean, post.shape[1]), index=pd.Index(uniq, name="segment"))
    own = model.hours_.reindex(labels.index).to_numpy()
    opened = model.n_opens_.reindex(labels.index).to_numpy() > 0
    seg_hour = hours.reindex(labels.to_numpy()).to_numpy()
    near = _within(own, seg_hour, 1.0) & opened
    frame = pd.DataFrame({"segment": labels.to_numpy(), "opened": opened, "near": near})
    g = frame.groupby("segment", sort=True)
    out = pd.DataFrame(
        {
            "subscribers": g.size(),
            "send_hour": hours.reindex(g.size().index),
            "with_opens": g["opened"].sum().astype("int64"),
            "near": g["near"].sum(),
        }
    )
    out["window"] = [window_text(h, width) for h in out["send_hour"]]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share_within_1h"] = np.where(
            out["with_opens"] > 0, out["near"] / out["with_opens"].replace(0, np.nan), np.nan
        )
    out = out.drop(columns="near").reset_index()
    if names is not None:
        out.insert(1, "name", [names.get(s, str(s)) for s in out["segment"]])
    cols = [c for c in ("segment", "name") if c in out.columns]
    cols += ["subscribers", "send_hour", "window", "with_opens", "share_within_1h"]
    return (
        out[cols].sort_values("subscribers", ascending=False, kind="stable").reset_index(drop=True)
    )


def timing_findings(
    model: Any,
    score: pd.DataFrame | None = None,
    *,
    windows: pd.DataFrame | None = None,
    shown: int = 3,
    section: str = SECTION,
) -> list[Finding]:
    """What a send-time fit says, in plain words.

    Parameters
    ----------
    model : SendTimeModel
        A fitted model.
    score : DataFrame, optional
        :func:`~workbench.timing.scorecard.score_send_times` (one row per method) on a
        synthetic world: adds how far each method is from the true preferred hours.
    windows : DataFrame, optional
        :func:`send_windows` (default: computed from the model's segments).
    shown : int, default 3
        Segments named with their window.
    section : str
        The notebook section the findings come from.

    Returns
    -------
    list of Finding
        How much opens follow delivery; the largest segments' windows; how personal the hours
        are (with the action); with ``score``, the methods against the truth.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        An unfitted model.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "hours_")
    win = windows if windows is not None else send_windows(model)
    out: list[Finding] = []
    med = float(model.median_hours_to_open_)
    if np.isfinite(med):
        out.append(
            Finding(
                f"Half of the human opens come within {med:.1f} hours of delivery, so the hour "
                "an email is opened says as much about when it was sent as about the reader; "
                "the send hours below read each open against the hours the email could have "
                "been opened in.",
                section=section,
            )
        )
    total = int(win["subscribers"].sum())
    label = "name" if "name" in win.columns else "segment"
    prefix = "" if label == "name" else "segment "
    named = [
        f"{prefix}{r[label]}: {r['window']} ({percent(r['subscribers'] / max(total, 1))} of the "
        "list)"
        for _, r in win.head(shown).iterrows()
    ]
    rest = "" if len(win) <= shown else f", and {len(win) - shown} smaller segments"
    if len(win) > 1:
        out.append(
            Finding(
                "Recommended send windows by segment: " + ", ".join(named) + rest + ".",
                section=section,
            )
        )
    else:
        out.append(
            Finding(
                f"Without segments, the one recommended window is {win['window'].iloc[0]}.",
                section=section,
            )
        )
    n = model.n_opens_
    few = float((n < 5).mean())
    hours, seg = model.hours_, model.all_hours_["segment"]
    opened = (n > 0).to_numpy()
    from workbench.timing.model import circular_distance

    away = circular_distance(hours.to_numpy(), seg.to_numpy()) > 1
    share_away = float(away[opened].mean()) if opened.any() else 0.0
    out.append(
        Finding(
            f"For {percent(share_away)} of the subscribers with opens, their own opens move "
            f"the recommended hour more than an hour away from their segment's; {percent(few)} "
            "have fewer than 5 human opens, so their hour leans on their segment's.",
            section=section,
            action="Send each subscriber at their own recommended hour where the campaign tool "
            "allows it (send-time optimisation), and at their segment's window otherwise.",
            priority=2,
        )
    )
    if score is not None and len(score) and "method" in score.columns:
        s = score.set_index("method")
        parts = [
            f"{METHOD_WORDS.get(m, m)} by {s.loc[m, 'mean_error_h']:.1f} h"
            for m in ("shrunk", "segment", "subscriber_naive", "global")
            if m in s.index
        ]
        text = "Against the true preferred hours, the recommended hours are off on average: " + (
            "; ".join(parts)
        )
        if "shrunk" in s.index:
            text += f" ({percent(float(s.loc['shrunk', 'within_1h']))} of the pooled hours fall "
            text += "within an hour of the truth)"
        ratio = s["open_rate_ratio"] if "open_rate_ratio" in s.columns else None
        if ratio is not None and "shrunk" in s.index and np.isfinite(ratio.loc["shrunk"]):
            text += (
                f"; sending at the pooled hours would reach {percent(float(ratio['shrunk']))} of "
                "the open rate of each subscriber's truly best hour"
            )
            if "global" in s.index:
                text += f" ({percent(float(ratio['global']))} with one hour for everyone)"
        out.append(Finding(text + ".", section="Scorecard against the truth"))
    return out
