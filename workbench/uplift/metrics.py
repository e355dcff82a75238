"""How good is a ranking by predicted uplift? Curves and scores on a randomised test.

The definitions are scikit-uplift's (``sklift.metrics``), so that numbers can be compared with
it: :func:`uplift_curve`, :func:`qini_curve`, :func:`auuc` (``uplift_auc_score``),
:func:`qini_coefficient` (``qini_auc_score`` with ``negative_effect=True``) and
:func:`uplift_at` (``uplift_at_k`` with ``strategy="overall"``). :func:`calibration_table` and
:func:`evaluate` gather them for a scorecard.

Rows are ranked by decreasing score. **Ties** are ordered as scikit-uplift orders them: a stable
merge sort on the score, reversed (``np.argsort(score, kind="mergesort")[::-1]``), so among rows
with the same score the *later* row comes first. The curves only have points where the score
changes (a group of tied rows enters at once), so their areas do not depend on the order within
ties; :func:`uplift_at` and :func:`calibration_table` cut through ties and do.

All functions take ``y`` (the outcome: 0/1 or a number), ``treatment`` (1 for rows sent the
email, 0 for the control group) and ``score`` (the predicted uplift), three 1-D arrays of the
same length, with both arms present.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import EstimatorInputError

__all__ = [
    "auuc",
    "calibration_table",
    "evaluate",
    "qini_coefficient",
    "qini_curve",
    "uplift_at",
    "uplift_curve",
]

_Z95 = NormalDist().inv_cdf(0.975)


def _vector(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise EstimatorInputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    try:
        arr = arr.astype(float)
    except (TypeError, ValueError):
        raise EstimatorInputError(f"{name}: values must be numbers") from None
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise EstimatorInputError(
            f"{name}: {bad.size} values are missing or infinite (first rows: {bad[:5].tolist()})"
        )
    return arr


def _inputs(y: Any, treatment: Any, score: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three arrays, checked: 1-D, finite, same length, treatment 0/1 with both arms."""
    y_arr, t, s = _vector(y, "y"), _vector(treatment, "treatment"), _vector(score, "score")
    if not len(y_arr) == len(t) == len(s):
        raise EstimatorInputError(
            f"y, treatment and score have different lengths ({len(y_arr)}, {len(t)}, {len(s)})"
        )
    bad = np.flatnonzero(~np.isin(t, (0.0, 1.0)))
    if bad.size:
        raise EstimatorInputError(
            f"treatment: values must be 0/1; {bad.size} rows are not (first: {bad[:5].tolist()})"
        )
    if not (t == 1).any() or not (t == 0).any():
        raise EstimatorInputError("treatment: both arms (1 = treated, 0 = control) are needed")
    return y_arr, t, s


def _order(score: np.ndarray) -> np.ndarray:
    """Row order by decreasing score, ties as scikit-uplift orders them (see module doc)."""
    return np.argsort(score, kind="mergesort")[::-1]


def _curve_points(
    y: np.ndarray, t: np.ndarray, score: np.ndarray, kind: str
) -> tuple[np.ndarray, np.ndarray]:
    """Targeted counts and curve values at each distinct score, starting at (0, 0)."""
    order = _order(score)
    y, t, score = y[order], t[order], score[order]
    ends = np.r_[np.flatnonzero(np.diff(score)), len(score) - 1]
    n_t = np.cumsum(t, dtype=float)[ends]
    y_t = np.cumsum(y * t, dtype=float)[ends]
    y_c = np.cumsum(y * (1.0 - t), dtype=float)[ends]
    n_all = (ends + 1).astype(float)
    n_c = n_all - n_t
    if kind == "uplift":
        mean_t = np.divide(y_t, n_t, out=np.zeros_like(y_t), where=n_t != 0)
        mean_c = np.divide(y_c, n_c, out=np.zeros_like(y_c), where=n_c != 0)
        values = (mean_t - mean_c) * n_all
    else:
        values = y_t - y_c * np.divide(n_t, n_c, out=np.zeros_like(n_t), where=n_c != 0)
    return np.r_[0.0, n_all], np.r_[0.0, values]


def _as_frame(n_all: np.ndarray, values: np.ndarray, column: str) -> pd.DataFrame:
    total = n_all[-1]
    return pd.DataFrame(
        {
            "n": n_all.astype(np.int64),
            "fraction": n_all / total,
            column: values,
            "random": values[-1] * n_all / total,
        }
    )


def uplift_curve(y: Any, treatment: Any, score: Any) -> pd.DataFrame:
    """The uplift curve: cumulative uplift of targeting the top-scored rows.

    At each distinct score (descending), with the top ``n`` rows targeted, the value is
    ``(mean y of the treated - mean y of the control among them) * n`` (a mean over an empty arm
    counts as 0), as in scikit-uplift.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.

    Returns
    -------
    DataFrame
        ``n`` (rows targeted, starting at 0), ``fraction`` (``n`` over all rows), ``uplift``
        and ``random`` (the straight line from (0, 0) to the curve's last point: what a random
        ordering gives on average).

    Raises
    ------
    ValueError
        Arrays of different lengths, non-finite values, treatment not 0/1 or one arm missing.
    """
    n_all, values = _curve_points(*_inputs(y, treatment, score), kind="uplift")
    return _as_frame(n_all, values, "uplift")


def qini_curve(y: Any, treatment: Any, score: Any) -> pd.DataFrame:
    """The Qini curve: incremental outcomes of targeting the top-scored rows.

    At each distinct score (descending), with the top ``n`` rows targeted, the value is
    ``Y_t - Y_c * N_t / N_c``: the treated rows' summed outcome minus the control rows' summed
    outcome scaled to the treated count (0 while no control row is in), as in scikit-uplift.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.

    Returns
    -------
    DataFrame
        ``n`` (rows targeted, starting at 0), ``fraction``, ``qini`` and ``random`` (the
        straight line from (0, 0) to the curve's last point).

    Raises
    ------
    ValueError
        Arrays of different lengths, non-finite values, treatment not 0/1 or one arm missing.
    """
    n_all, values = _curve_points(*_inputs(y, treatment, score), kind="qini")
    return _as_frame(n_all, values, "qini")


def _perfect_score(y: np.ndarray, t: np.ndarray, kind: str) -> np.ndarray:
    """The ordering of scikit-uplift's perfect curves (generalised to continuous outcomes)."""
    binary = bool(np.isin(y, (0.0, 1.0)).all())
    if kind == "uplift" and binary:
        control_responders = np.sum((y == 1) & (t == 0))
        treated_non_responders = np.sum((y == 0) & (t == 1))
        summand = y if control_responders > treated_non_responders else t
        return 2.0 * (y == t) + summand
    return y * t - y * (1.0 - t)


def _area(x: np.ndarray, v: np.ndarray) -> float:
    return float(np.trapezoid(v, x))


def _normalised_area(y: np.ndarray, t: np.ndarray, score: np.ndarray, kind: str) -> float:
    x_act, v_act = _curve_points(y, t, score, kind)
    x_per, v_per = _curve_points(y, t, _perfect_score(y, t, kind), kind)
    baseline = _area(np.array([0.0, x_per[-1]]), np.array([0.0, v_per[-1]]))
    perfect = _area(x_per, v_per) - baseline
    actual = _area(x_act, v_act) - baseline
    return actual / perfect if perfect != 0 else float("nan")


def auuc(y: Any, treatment: Any, score: Any) -> float:
    """Normalised area under the uplift curve (scikit-uplift's ``uplift_auc_score``).

    ``(area(model) - area(random)) / (area(perfect) - area(random))``, areas by the trapezoid
    rule over the targeted count; ``random`` is the straight line to the last point and
    ``perfect`` scikit-uplift's perfect uplift curve for a binary outcome (treated responders
    and control non-responders first). 1 is the perfect ordering, 0 a random one, below 0
    worse than random. For a continuous outcome (an extension: scikit-uplift takes binary
    outcomes only) the perfect ordering puts treated rows by decreasing outcome first and
    control rows by increasing outcome last (score ``y * T - y * (1 - T)``).

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.

    Returns
    -------
    float
        The normalised area; NaN when the perfect curve has no area above the random line.

    Raises
    ------
    ValueError
        Arrays of different lengths, non-finite values, treatment not 0/1 or one arm missing.
    """
    return _normalised_area(*_inputs(y, treatment, score), kind="uplift")


def qini_coefficient(y: Any, treatment: Any, score: Any) -> float:
    """Normalised area under the Qini curve (scikit-uplift's ``qini_auc_score``).

    As :func:`auuc` on the Qini curve, with scikit-uplift's default ``negative_effect=True``:
    the perfect Qini curve orders rows by ``y * T - y * (1 - T)`` (treated responders first,
    control responders last), which for a continuous outcome means treated rows by decreasing
    outcome first and control rows by increasing outcome last.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.

    Returns
    -------
    float
        The Qini coefficient; NaN when the perfect curve has no area above the random line.

    Raises
    ------
    ValueError
        Arrays of different lengths, non-finite values, treatment not 0/1 or one arm missing.
    """
    return _normalised_area(*_inputs(y, treatment, score), kind="qini")


def _difference(y: np.ndarray, t: np.ndarray) -> float:
    """Mean of the treated minus mean of the control (NaN when an arm is empty)."""
    n_t, n_c = np.sum(t == 1), np.sum(t == 0)
    if n_t == 0 or n_c == 0:
        return float("nan")
    return float(y[t == 1].mean() - y[t == 0].mean())


def _difference_se(y: np.ndarray, t: np.ndarray) -> float:
    """Standard error of :func:`_difference` (sample variances; NaN below 2 rows an arm)."""
    yt, yc = y[t == 1], y[t == 0]
    if len(yt) < 2 or len(yc) < 2:
        return float("nan")
    return float(np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc)))


def average_effect(y: Any, treatment: Any) -> tuple[float, float]:
    """The test's average effect: mean outcome treated minus control, and its standard error.

    Parameters
    ----------
    y : array_like of shape (n,)
        Outcome.
    treatment : array_like of shape (n,)
        1 treated, 0 control; any other value (rows of other arms) is left out.

    Returns
    -------
    (float, float)
        The difference of means and its standard error (NaN when an arm is too small).
    """
    y_arr, t = np.asarray(y, dtype=float), np.asarray(treatment)
    return _difference(y_arr, t), _difference_se(y_arr, t)


def uplift_at(y: Any, treatment: Any, score: Any, k: float) -> float:
    """Observed uplift among the top fraction ``k`` of all rows by score.

    scikit-uplift's ``uplift_at_k(strategy="overall")``: the top ``int(n * k)`` rows (ties as in
    the module doc), then mean y of the treated minus mean y of the control among them.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.
    k : float
        Fraction of all rows, in (0, 1] (1: every row, the difference of means).

    Returns
    -------
    float
        The observed uplift; NaN when the top rows hold no treated or no control row.

    Raises
    ------
    ValueError
        ``k`` outside (0, 1], or bad arrays (see :func:`uplift_curve`).
    """
    y_arr, t, s = _inputs(y, treatment, score)
    if not 0.0 < float(k) <= 1.0:
        raise ValueError(f"k must be a fraction in (0, 1], got {k!r}")
    top = _order(s)[: int(len(y_arr) * k)]
    return _difference(y_arr[top], t[top])


def calibration_table(y: Any, treatment: Any, score: Any, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed uplift in bins of the score (bin 1 = highest scores).

    Rows are ranked by decreasing score (ties as in the module doc) and cut into ``bins``
    groups of (almost) equal size with ``np.array_split`` (the first groups take the extra
    rows), as scikit-uplift's ``uplift_by_percentile``.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.
    bins : int, default 10
        Number of bins (1 to n).

    Returns
    -------
    DataFrame
        One row per bin: ``bin`` (1 = highest predicted uplift), ``n``, ``n_treated``,
        ``n_control``, ``predicted`` (mean score), ``observed`` (mean y treated minus mean y
        control; NaN when an arm is empty), ``se`` (its standard error from the two arms'
        sample variances; NaN with fewer than 2 rows in an arm), ``low`` and ``high`` (95%
        normal interval).

    Raises
    ------
    ValueError
        ``bins`` not an integer in [1, n], or bad arrays (see :func:`uplift_curve`).
    """
    y_arr, t, s = _inputs(y, treatment, score)
    if isinstance(bins, bool) or int(bins) != bins or not 1 <= bins <= len(y_arr):
        raise ValueError(f"bins must be an integer between 1 and {len(y_arr)}, got {bins!r}")
    rows = []
    for b, idx in enumerate(np.array_split(_order(s), int(bins)), start=1):
        yb, tb = y_arr[idx], t[idx]
        observed, se = _difference(yb, tb), _difference_se(yb, tb)
        rows.append(
            {
                "bin": b,
                "n": len(idx),
                "n_treated": int(tb.sum()),
                "n_control": int(len(idx) - tb.sum()),
                "predicted": float(s[idx].mean()),
                "observed": observed,
                "se": se,
                "low": observed - _Z95 * se,
                "high": observed + _Z95 * se,
            }
        )
    return pd.DataFrame(rows)


def evaluate(
    y: Any, treatment: Any, score: Any, ks: Sequence[float] = (0.1, 0.2, 0.3)
) -> dict[str, Any]:
    """The headline scores of a ranking on a randomised test, as plain Python numbers.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift.
    ks : sequence of float, default (0.1, 0.2, 0.3)
        Fractions for :func:`uplift_at`.

    Returns
    -------
    dict
        ``n`` (rows), ``ate`` (difference of means, treated minus control, on these rows),
        ``ate_se`` (its standard error), ``auuc`` (:func:`auuc`), ``qini_coefficient``
        (:func:`qini_coefficient`) and ``uplift_at`` (``{f"{k:g}": uplift_at(..., k)}``).

    Raises
    ------
    ValueError
        A ``k`` outside (0, 1], or bad arrays (see :func:`uplift_curve`).
    """
    y_arr, t, s = _inputs(y, treatment, score)
    return {
        "n": len(y_arr),
        "ate": _difference(y_arr, t),
        "ate_se": _difference_se(y_arr, t),
        "auuc": _normalised_area(y_arr, t, s, "uplift"),
        "qini_coefficient": _normalised_area(y_arr, t, s, "qini"),
        "uplift_at": {f"{k:g}": uplift_at(y_arr, t, s, k) for k in ks},
    }
