"""The four uplift segments a marketer reads: persuadables, sure things, lost causes and
do-not-disturbs.

From the predicted outcome without the email (``mu0``) and with it (``mu1``), e.g.
:meth:`~workbench.uplift.learners.UpliftModel.predict_arms`:

* **persuadable**: the email raises the outcome by at least ``min_uplift`` -> send;
* **sure thing**: the email changes little (``|uplift| < min_uplift``) and the outcome without
  it is at or above the median -> they convert anyway: send only if the email costs next to
  nothing;
* **lost cause**: the email changes little and the outcome without it is below the median ->
  they do not convert either way: do not spend budget on them;
* **do not disturb**: the email lowers the outcome by at least ``min_uplift`` -> do not send.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import EstimatorInputError
from workbench.uplift.metrics import _vector

__all__ = ["ACTIONS", "SEGMENTS", "default_min_uplift", "segment_summary", "uplift_segments"]

#: The segments, in the order of the categories.
SEGMENTS = ("persuadable", "sure thing", "lost cause", "do not disturb")

#: What to do with each segment, and why, in words a marketer reads.
ACTIONS: dict[str, tuple[str, str]] = {
    "persuadable": ("send", "the email makes them convert more"),
    "sure thing": ("send only if cheap", "they convert anyway; the email adds little"),
    "lost cause": ("do not spend budget", "they do not convert, with or without the email"),
    "do not disturb": ("do not send", "the email makes them convert less (or leave)"),
}

#: Share of the mean outcome without the email below which an effect counts as "no effect".
_BASELINE_SHARE = 0.01


def _arms(mu0: Any, mu1: Any) -> tuple[np.ndarray, np.ndarray]:
    m0, m1 = _vector(mu0, "mu0"), _vector(mu1, "mu1")
    if len(m0) != len(m1):
        raise EstimatorInputError(f"mu0 and mu1 have different lengths ({len(m0)}, {len(m1)})")
    if len(m0) == 0:
        raise EstimatorInputError("mu0 and mu1 are empty")
    return m0, m1


def default_min_uplift(mu0: Any, mu1: Any) -> float:
    """The default threshold of :func:`uplift_segments`.

    Half the mean predicted effect in absolute value (a subscriber is persuadable when the email
    does at least half as much for them as for the average subscriber), but at least 1% of the
    mean absolute outcome without the email, so that predictions scattered around zero are not
    called persuadable or do-not-disturb when the email does nothing on average.

    Parameters
    ----------
    mu0, mu1 : array_like of shape (n,)
        Predicted outcome without and with the email.

    Returns
    -------
    float
        The threshold (> 0 unless every prediction is 0).

    Raises
    ------
    ValueError
        Lengths differ, arrays empty or not finite.
    """
    m0, m1 = _arms(mu0, mu1)
    return float(max(0.5 * abs(np.mean(m1 - m0)), _BASELINE_SHARE * np.mean(np.abs(m0))))


def uplift_segments(mu0: Any, mu1: Any, *, min_uplift: float | None = None) -> pd.Categorical:
    """Assign each row to one of the four uplift segments.

    Parameters
    ----------
    mu0, mu1 : array_like of shape (n,)
        Predicted outcome without and with the email (the uplift is ``mu1 - mu0``).
    min_uplift : float, optional
        The smallest effect that counts (>= 0): persuadable when ``uplift >= min_uplift``,
        do not disturb when ``uplift <= -min_uplift``, otherwise sure thing (``mu0`` at or
        above its median) or lost cause (below). None: :func:`default_min_uplift`.

    Returns
    -------
    pandas.Categorical
        Categories ``"persuadable", "sure thing", "lost cause", "do not disturb"``, in that
        order (all four, even when some are empty).

    Raises
    ------
    ValueError
        Bad arrays, or a negative or non-finite ``min_uplift``.
    """
    m0, m1 = _arms(mu0, mu1)
    threshold = default_min_uplift(m0, m1) if min_uplift is None else float(min_uplift)
    if not np.isfinite(threshold) or threshold < 0:
        raise ValueError(f"min_uplift must be a finite number >= 0, got {min_uplift!r}")
    uplift = m1 - m0
    codes = np.where(m0 >= np.median(m0), 1, 2)  # sure thing / lost cause
    codes = np.where(uplift <= -threshold, 3, codes)
    codes = np.where(uplift >= threshold, 0, codes)  # persuadable first when threshold is 0
    return pd.Categorical.from_codes(codes, categories=list(SEGMENTS))


def segment_summary(segments: Any, uplift: Any, mu0: Any, mu1: Any) -> pd.DataFrame:
    """One row per uplift segment: its size, the effect and outcomes, and what to do.

    Parameters
    ----------
    segments : pandas.Categorical or array_like of shape (n,)
        :func:`uplift_segments` (or the same labels as text).
    uplift : array_like of shape (n,)
        Predicted uplift of each row (e.g. :meth:`UpliftModel.predict`, which for the X- and
        DR-learners differs from ``mu1 - mu0``).
    mu0, mu1 : array_like of shape (n,)
        Predicted outcome without and with the email.

    Returns
    -------
    DataFrame
        One row per segment, in the order of :data:`SEGMENTS` (empty segments included, with
        n = 0 and NaN means): ``segment``, ``n``, ``share``, ``mean_uplift``, ``mean_mu0``,
        ``mean_mu1``, ``action`` ("send", "send only if cheap", "do not spend budget", "do not
        send") and ``why``.

    Raises
    ------
    ValueError
        Lengths differ, values not finite, or labels that are not segments.
    """
    labels = pd.Series(np.asarray(segments, dtype=object))
    unknown = sorted(set(labels.dropna()) - set(SEGMENTS))
    if unknown or labels.isna().any():
        raise EstimatorInputError(f"segments: labels must be one of {list(SEGMENTS)}")
    u = _vector(uplift, "uplift")
    m0, m1 = _arms(mu0, mu1)
    if not len(labels) == len(u) == len(m0):
        raise EstimatorInputError(
            f"segments, uplift and mu0/mu1 have different lengths "
            f"({len(labels)}, {len(u)}, {len(m0)})"
        )
    frame = pd.DataFrame({"segment": labels, "uplift": u, "mu0": m0, "mu1": m1})
    rows = []
    for name in SEGMENTS:
        part = frame[frame["segment"] == name]
        action, why = ACTIONS[name]
        rows.append(
            {
                "segment": name,
                "n": len(part),
                "share": len(part) / len(frame),
                "mean_uplift": float(part["uplift"].mean()) if len(part) else float("nan"),
                "mean_mu0": float(part["mu0"].mean()) if len(part) else float("nan"),
                "mean_mu1": float(part["mu1"].mean()) if len(part) else float("nan"),
                "action": action,
                "why": why,
            }
        )
    return pd.DataFrame(rows)
