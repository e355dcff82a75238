"""Whom to send the email to, and what it is expected to bring.

* :func:`choose_targets` picks the rows with the highest predicted uplift within a budget, never
  those whose predicted uplift is below a floor, optionally under a ceiling on the mean risk
  (e.g. the predicted unsubscribe probability) of those picked.
* :func:`expected_gain` measures on a held-out randomised sample what targeting the top of a
  population by score brings: the observed uplift among the top fraction of the sample times the
  number targeted, with a bootstrap interval. :func:`gain_table` does it for many budgets at
  once, with the same bootstrap resamples (the budget widget of the notebook reads it).

Rows are ranked by decreasing score; ties keep the row order (the earlier row first), so a
choice is deterministic. A budget is a fraction of the rows (a float in (0, 1]; 1.0 = everyone)
or a count (an integer, or a whole float above 1); a fraction ``b`` of ``n`` rows is
``floor(b * n)`` rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import EstimatorInputError
from workbench.uplift.metrics import _inputs, _vector

__all__ = ["BUDGETS", "choose_targets", "expected_gain", "gain_table"]

#: Slack of the floor of ``budget * n`` (0.29 * 100 is 28.999999999999996 in floating point).
_EPS = 1e-9
#: Bootstrap work arrays hold at most about this many numbers (~ 64 MB of float64); the
#: replicates are drawn in chunks that fit (the draws, hence the results, do not depend on it).
_CHUNK_CELLS = 8_000_000
#: Default budgets of :func:`gain_table`: 5%, 10%, ..., 100% of the population.
BUDGETS: tuple[float, ...] = tuple(round(b, 2) for b in np.linspace(0.05, 1.0, 20))


def _is_count(budget: float | int) -> bool:
    if isinstance(budget, bool | np.bool_):
        raise ValueError("budget must be a number, not a boolean")
    if isinstance(budget, int | np.integer):
        return True
    value = float(budget)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"budget must be a fraction in (0, 1] or a count >= 1, got {budget!r}")
    if value <= 1.0:
        return False
    if value != int(value):
        raise ValueError(
            f"budget {budget!r} is neither a fraction in (0, 1] nor a whole count of rows"
        )
    return True


def _fraction(budget: float | int, n_population: int) -> float:
    """The budget as a fraction of a population of ``n_population``."""
    if _is_count(budget):
        if budget < 1:
            raise ValueError(f"a budget count must be >= 1, got {budget!r}")
        return min(float(budget) / n_population, 1.0)
    return float(budget)


def _count(fraction: float, n: int) -> int:
    return min(int(np.floor(fraction * n + _EPS)), n)


def _ranking(score: np.ndarray) -> np.ndarray:
    """Row order by decreasing score, ties in row order."""
    return np.argsort(-score, kind="stable")


def choose_targets(
    uplift: Any,
    budget: float | int,
    *,
    min_uplift: float | None = 0.0,
    risk: Any = None,
    max_risk: float | None = None,
) -> np.ndarray:
    """The rows to send the email to: the top of the ranking by predicted uplift.

    Parameters
    ----------
    uplift : array_like of shape (n,)
        Predicted uplift of each row.
    budget : float or int
        How many rows may be targeted: a fraction of the rows in (0, 1] (``floor(budget * n)``
        rows), or a count >= 1 (an integer, or a whole float above 1; more than n means all).
    min_uplift : float or None, default 0.0
        Rows whose predicted uplift is below it are never targeted, even if the budget allows
        (so with the default a row the email is predicted to harm is never sent it). None: no
        floor.
    risk : array_like of shape (n,), optional
        A risk per row to keep low on average among the targeted, e.g. the predicted
        probability of unsubscribing when sent one more email. Needs ``max_risk``.
    max_risk : float, optional
        Ceiling on the mean ``risk`` of the targeted rows. The targets are dropped one at a
        time, lowest predicted uplift first, until the mean risk of those left is at most
        ``max_risk`` (possibly none left). Dropped rows are not replaced by others further down
        the ranking: this keeps a top slice of the ranking, a simple rule, not the best set
        under the constraint (which would be a knapsack problem).

    Returns
    -------
    ndarray of bool, shape (n,)
        True for the rows to target.

    Raises
    ------
    ValueError
        A bad budget, non-finite uplift or risk, lengths that differ, or only one of ``risk``
        and ``max_risk``.
    """
    u = _vector(uplift, "uplift")
    n = len(u)
    k = _count(_fraction(budget, n), n) if n else 0
    order = _ranking(u)
    if min_uplift is not None:
        order = order[u[order] >= float(min_uplift)]
    chosen = order[:k]
    if (risk is None) != (max_risk is None):
        raise ValueError("risk and max_risk go together: give both or neither")
    if risk is not None:
        r = _vector(risk, "risk")
        if len(r) != n:
            raise EstimatorInputError(f"risk: {len(r)} values for {n} rows of uplift")
        if len(chosen):
            mean_risk = np.cumsum(r[chosen]) / np.arange(1, len(chosen) + 1)
            ok = np.flatnonzero(mean_risk <= float(max_risk) + 1e-12)
            chosen = chosen[: ok[-1] + 1] if ok.size else chosen[:0]
    mask = np.zeros(n, dtype=bool)
    mask[chosen] = True
    return mask


def _bootstrap_uplift(
    y: np.ndarray,
    t: np.ndarray,
    tops: Sequence[int],
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """Uplift among the top ``m`` rows (rows already in ranking order) for each ``m`` in
    ``tops``, in ``n_boot`` resamples of the rows within each arm: shape (n_boot, len(tops)).

    A resample is a count of copies of each row; its top ``m`` are the rows whose cumulated
    copies stay below ``m`` plus part of the copies of the row where they reach it.
    """
    rng = np.random.default_rng(seed)
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    n = len(y)
    # per copy of each row: (is treated, is control, outcome if treated, outcome if control)
    per_copy = np.column_stack([t, 1.0 - t, y * t, y * (1.0 - t)])
    out = np.full((n_boot, len(tops)), np.nan)
    chunk = max(1, min(64, _CHUNK_CELLS // (5 * n)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        weights = np.zeros((b, n), dtype=np.int64)
        for rep in range(b):  # copies of each row in this resample
            weights[rep] += np.bincount(
                treated[rng.integers(0, len(treated), len(treated))], minlength=n
            )
            weights[rep] += np.bincount(
                control[rng.integers(0, len(control), len(control))], minlength=n
            )
        copies = np.cumsum(weights, axis=1)
        sums = np.cumsum(weights[:, :, None] * per_copy[None, :, :], axis=1)  # (b, n, 4)
        for rep in range(b):
            for j, m in enumerate(tops):
                if m <= 0:
                    continue
                k = int(np.searchsorted(copies[rep], m))  # the row where the top m is reached
                full = sums[rep, k - 1] if k else np.zeros(4)
                part = m - (copies[rep, k - 1] if k else 0)  # copies of row k in the top m
                n_t, n_c, y_t, y_c = full + part * per_copy[k]
                if n_t > 0 and n_c > 0:
                    out[start + rep, j] = y_t / n_t - y_c / n_c
    return out


def _gains(
    y: Any,
    treatment: Any,
    score: Any,
    budgets: Sequence[float | int],
    n_population: int,
    n_boot: int,
    interval: float,
    seed: int,
) -> pd.DataFrame:
    y_arr, t, s = _inputs(y, treatment, score)
    if isinstance(n_population, bool) or int(n_population) != n_population or n_population < 1:
        raise ValueError(f"n_population must be a whole number >= 1, got {n_population!r}")
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be strictly between 0 and 1, got {interval!r}")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    n_population, n = int(n_population), len(y_arr)
    fractions = [_fraction(b, n_population) for b in budgets]
    targeted = [_count(f, n_population) for f in fractions]
    tops = [_count(f, n) for f in fractions]
    order = _ranking(s)
    ys, ts = y_arr[order], t[order]
    point = []
    for m in tops:
        yt, tt = ys[:m], ts[:m]
        if m and tt.any() and not tt.all():
            point.append(float(yt[tt == 1].mean() - yt[tt == 0].mean()))
        else:
            point.append(float("nan"))
    boot = _bootstrap_uplift(ys, ts, tops, int(n_boot), seed)
    alpha = (1.0 - interval) / 2.0
    rows = []
    for j, (f, k, u) in enumerate(zip(fractions, targeted, point, strict=True)):
        draws = boot[:, j][np.isfinite(boot[:, j])]
        low, high = np.quantile(draws, [alpha, 1.0 - alpha]) if draws.size else (np.nan, np.nan)
        rows.append(
            {
                "budget": f,
                "targeted": k,
                "incremental": u * k,
                "low": float(low) * k,
                "high": float(high) * k,
                "per_target": u,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["interval"] = float(interval)
    return table


def expected_gain(
    y: Any,
    treatment: Any,
    score: Any,
    budget: float | int,
    n_population: int,
    *,
    n_boot: int = 500,
    interval: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """Expected incremental outcomes of targeting the top of a population by score.

    Measured on a held-out randomised sample (scores from a model not fitted on it): the
    observed uplift (mean y treated minus mean y control) among the sample's top ``budget``
    fraction by score, times the number of people targeted in a population of
    ``n_population``. The interval is a percentile bootstrap: the rows are resampled within
    each arm (the arms keep their sizes, as in the test) and the top fraction is taken again
    in each resample, so the interval accounts for both the noise of the outcomes and which
    rows make the cut.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift on the held-out sample.
    budget : float or int
        Fraction of the population in (0, 1], or a count of it (see :func:`choose_targets`).
    n_population : int
        Size of the population to be targeted (e.g. the whole list).
    n_boot : int, default 500
        Bootstrap resamples.
    interval : float, default 0.9
        Coverage of the interval.
    seed : int, default 0
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``targeted`` (people targeted, ``floor(fraction * n_population)``), ``incremental``
        (expected extra outcomes: conversions, or the outcome's unit), ``low`` and ``high``
        (interval), ``per_target`` (the observed uplift among the top fraction of the sample).
        NaN when the top fraction of the sample holds no treated or no control row.

    Raises
    ------
    ValueError
        Bad arrays (see :func:`workbench.uplift.metrics.uplift_curve`) or parameters.
    """
    row = _gains(y, treatment, score, [budget], n_population, n_boot, interval, seed).iloc[0]
    return {
        "targeted": int(row["targeted"]),
        "incremental": float(row["incremental"]),
        "low": float(row["low"]),
        "high": float(row["high"]),
        "per_target": float(row["per_target"]),
    }


def gain_table(
    y: Any,
    treatment: Any,
    score: Any,
    n_population: int,
    budgets: Sequence[float | int] | np.ndarray = BUDGETS,
    *,
    n_boot: int = 500,
    interval: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`expected_gain` for several budgets, with the same bootstrap resamples.

    Parameters
    ----------
    y, treatment, score : array_like of shape (n,)
        Outcome, treatment flag (0/1) and predicted uplift on a held-out randomised sample.
    n_population : int
        Size of the population to be targeted.
    budgets : sequence of float or int, default 5%, 10%, ..., 100%
        Budgets (fractions or counts, see :func:`choose_targets`).
    n_boot, interval, seed
        As in :func:`expected_gain`.

    Returns
    -------
    DataFrame
        One row per budget: ``budget`` (as a fraction of the population), ``targeted``,
        ``incremental``, ``low``, ``high``, ``per_target``; ``attrs["interval"]`` holds the
        interval's coverage (read by :func:`workbench.uplift.plots.plot_gain`).

    Raises
    ------
    ValueError
        Bad arrays or parameters.
    """
    return _gains(y, treatment, score, list(budgets), n_population, n_boot, interval, seed)
