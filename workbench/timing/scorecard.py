"""Send-time recommendations against a synthetic world's truth (evaluation only).

:func:`score_send_times` compares each method's recommended local send hour with every
subscriber's true preferred hour (``truth_subscribers.weekday_hour`` or ``weekend_hour``): the
circular error in hours (23:30 against 00:30 is one hour), the shares within one and two hours,
and -- for worlds whose opens follow delivery (generator 1.7's ``after_delivery`` inbox) -- the
open rate the recommended hour would truly achieve, from the generator's own
:func:`workbench.synth.simulate.hour_fit`: relative to the best hour of the day
(``open_rate_ratio``, at most 1) and relative to sending at the preferred hour itself
(``open_rate_vs_preferred``; the best hour lies a little before the preferred one, since an
email that arrives shortly before it is read at it). With ``by_history=True`` the same per
history band of the subscriber's human opens (0, 1-4, 5-19, 20+).

Only evaluation code reads the truth (:mod:`workbench.truth`); methods never import this module.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.timing.model import circular_distance

__all__ = ["HISTORY_BANDS", "score_send_times", "true_hours"]

#: History bands (human opens) of the second table: label -> (lowest, highest) opens.
HISTORY_BANDS: dict[str, tuple[float, float]] = {
    "0": (0, 0),
    "1-4": (1, 4),
    "5-19": (5, 19),
    "20+": (20, np.inf),
}


def true_hours(world_path: str | Path, day: str = "weekday") -> pd.Series:
    """Every subscriber's true preferred local hour (evaluation only).

    Parameters
    ----------
    world_path : path
        A synthetic world folder.
    day : {"weekday", "weekend"}

    Returns
    -------
    Series
        Hours in [0, 24) indexed by ``subscriber_id``.

    Raises
    ------
    WorkbenchError
        A world without ``truth_subscribers`` (real data) or an unknown ``day``.
    """
    from workbench.truth import load_truth

    if day not in ("weekday", "weekend"):
        raise WorkbenchError(f"day must be 'weekday' or 'weekend', not {day!r}")
    truth = load_truth(world_path, tables=["truth_subscribers"])
    t = truth["truth_subscribers"]
    return t.set_index("subscriber_id")[f"{day}_hour"].astype(float).rename("true_hour")


def _open_rate(world_path: str | Path) -> Any:
    """``(rec, true) -> (ratio to the best hour, ratio to the preferred hour)``, or None."""
    from workbench.truth import load_truth

    sc = load_truth(world_path, tables=[]).scenario.get("scenario") or {}
    spec = sc.get("inbox") or {}
    if spec.get("open_timing") != "after_delivery":
        return None
    try:
        from workbench.synth.scenario import InboxSpec
        from workbench.synth.simulate import hour_fit
    except ImportError:  # a generator without it
        return None
    inbox = InboxSpec(**spec)
    offsets = np.arange(0, 24, 1 / 60)
    best = float(np.max(hour_fit(offsets, 0.0, inbox)))
    at_pref = float(hour_fit(0.0, 0.0, inbox))

    def ratios(rec: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fit = np.asarray(hour_fit(rec, true, inbox), dtype=float)
        return fit / best, fit / at_pref

    return ratios


def _history(world_path: str | Path, day: str) -> pd.Series:
    from workbench.timing.data import open_hours

    oh = open_hours(world_path, weekdays=day == "weekday")
    return oh.groupby("subscriber_id")["opened"].sum().rename("n_opens")


def _band(n: pd.Series) -> pd.Series:
    out = pd.Series(pd.NA, index=n.index, dtype=object)
    for label, (lo, hi) in HISTORY_BANDS.items():
        out[(n >= lo) & (n <= hi)] = label
    return out


def _summary(err: np.ndarray, ratio: np.ndarray | None, vs_pref: np.ndarray | None) -> dict:
    row = {
        "subscribers": int(err.size),
        "mean_error_h": float(np.mean(err)) if err.size else np.nan,
        "median_error_h": float(np.median(err)) if err.size else np.nan,
        "within_1h": float(np.mean(err <= 1)) if err.size else np.nan,
        "within_2h": float(np.mean(err <= 2)) if err.size else np.nan,
        "open_rate_ratio": np.nan,
        "open_rate_vs_preferred": np.nan,
    }
    if ratio is not None and err.size:
        row["open_rate_ratio"] = float(np.mean(ratio))
        row["open_rate_vs_preferred"] = float(np.mean(vs_pref))
    return row


def score_send_times(
    world_path: str | Path,
    recommendations: Mapping[str, pd.Series],
    *,
    day: str = "weekday",
    history: pd.Series | None = None,
    by_history: bool = False,
) -> pd.DataFrame:
    """Score recommended send hours against each subscriber's true preferred hour.

    Parameters
    ----------
    world_path : path
        The synthetic world the recommendations were made for.
    recommendations : mapping of str to Series
        Method name -> recommended local hour per ``subscriber_id`` (e.g.
        :func:`~workbench.timing.model.recommend_all`). Subscribers without a true hour are
        left out; a missing or NaN recommendation is an error.
    day : {"weekday", "weekend"}, default "weekday"
        Which true hour to compare with.
    history : Series, optional
        Human opens per subscriber for the history bands (e.g. ``model.n_opens_``); default:
        the human opens of the world's ``day`` deliveries (:func:`~workbench.timing.open_hours`).
    by_history : bool, default False
        One row per method and history band (:data:`HISTORY_BANDS`) instead of one per method.

    Returns
    -------
    DataFrame
        ``method`` (and ``history``), ``subscribers``, ``mean_error_h``, ``median_error_h``,
        ``within_1h``, ``within_2h`` (shares), ``open_rate_ratio`` (the true open rate of the
        recommended hour over that of the best hour, mean over subscribers; NaN when the
        world's open probability does not depend on the hour) and ``open_rate_vs_preferred``
        (over that of the preferred hour). Sorted by mean error within each band.

    Raises
    ------
    WorkbenchError
        No recommendations, a recommendation missing for a subscriber, a world without truth.
    """
    if not recommendations:
        raise WorkbenchError("score_send_times: no recommendations to score")
    true = true_hours(world_path, day)
    ratios = _open_rate(world_path)
    if by_history:
        n = history if history is not None else _history(world_path, day)
        band = _band(n.reindex(true.index).fillna(0))
    rows = []
    for method, rec in recommendations.items():
        rec = pd.Series(rec)
        r = rec.reindex(true.index)
        if r.isna().any():
            miss = true.index[r.isna().to_numpy()]
            raise WorkbenchError(
                f"score_send_times: method {method!r} has no hour for {miss.size} subscribers "
                f"(first: {', '.join(map(str, miss[:5]))})"
            )
        rv, tv = r.to_numpy(float), true.to_numpy(float)
        err = circular_distance(rv, tv)
        ratio, vs_pref = ratios(rv, tv) if ratios is not None else (None, None)
        if not by_history:
            rows.append({"method": method, **_summary(err, ratio, vs_pref)})
            continue
        for label in HISTORY_BANDS:
            sel = (band == label).to_numpy()
            rows.append(
                {
                    "method": method,
                    "history": label,
                    **_summary(
                        err[sel],
                        None if ratio is None else ratio[sel],
                        None if vs_pref is None else vs_pref[sel],
                    ),
                }
            )
    out = pd.DataFrame(rows)
    keys = ["history", "mean_error_h"] if by_history else ["mean_error_h"]
    if by_history:
        out["history"] = pd.Categorical(
            out["history"], categories=list(HISTORY_BANDS), ordered=True
        )
    return out.sort_values(keys, kind="stable").reset_index(drop=True)
