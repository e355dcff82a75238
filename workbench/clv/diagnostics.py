"""How well a fitted purchase model describes the calibration and predicts the holdout.

The standard diagnostics of the buy-till-you-die papers (Fader, Hardie & Lee 2005):

* :func:`frequency_histogram`: customers by number of repeat purchases in the calibration,
  observed against what the model expects for customers of the same ages;
* :func:`tracking`: repeat purchases per week, observed against expected, across the
  calibration and the holdout (and cumulated: the tracking plot);
* :func:`conditional_expectations`: mean holdout purchases of the customers with each
  calibration frequency, observed against predicted;
* :func:`holdout_scores`: the error of the per-customer holdout predictions, beside the naive
  rule "recent buyers buy again" (a customer whose last purchase is recent buys again at their
  own past rate; the others do not buy).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.clv import formulas
from workbench.clv.data import Transactions, repeat_purchases, to_date, unit_days
from workbench.clv.value import CustomerValue
from workbench.errors import WorkbenchError

#: "Recent" for the naive rule: a purchase in the last 90 days.
NAIVE_DAYS = 90.0


def _params(model: CustomerValue) -> dict[str, np.ndarray]:
    return {k: np.asarray(v) for k, v in model.purchase_.params.items()}


def frequency_histogram(
    model: CustomerValue, summary: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Customers by repeat purchases in the calibration: observed and expected.

    Parameters
    ----------
    model : CustomerValue
        Fitted.
    summary : DataFrame
        The calibration summary it was fitted on.
    max_frequency : int
        The last bar holds every frequency from this one up ("7+").

    Returns
    -------
    DataFrame
        ``frequency`` (text: "0" ... "7+"), ``observed``, ``expected`` (customers).
    """
    p = _params(model)
    T = summary["T"].to_numpy(float)
    n = np.arange(max_frequency)
    probs = np.stack([formulas.prob_purchases(model.model, p, k, T) for k in n])
    expected = probs.sum(axis=1)
    expected = np.append(expected, len(T) - expected.sum())
    x = np.minimum(summary["frequency"].to_numpy(), max_frequency)
    observed = np.bincount(x, minlength=max_frequency + 1)[: max_frequency + 1]
    labels = [str(k) for k in n] + [f"{max_frequency}+"]
    return pd.DataFrame({"frequency": labels, "observed": observed, "expected": expected})


def tracking(
    model: CustomerValue, summary: pd.DataFrame, transactions: Transactions
) -> pd.DataFrame:
    """Repeat purchases per week, observed and expected, through the calibration and holdout.

    The expected count of a week sums, over the customers who had made their first purchase by
    then, the model's unconditional expected repeat purchases in that week given their age.

    Parameters
    ----------
    model : CustomerValue
        Fitted.
    summary : DataFrame
        The calibration summary (its ``first_purchase`` and dates).
    transactions : Transactions
        The log the summary was made from.

    Returns
    -------
    DataFrame
        ``week_start, observed, expected, observed_cumulative, expected_cumulative, period``
        (``"calibration"`` or ``"holdout"``; a week that spans the calibration end counts in
        the calibration).
    """
    daily = repeat_purchases(transactions, summary)
    unit = unit_days(model.time_unit_)
    days = daily["date"].to_numpy("datetime64[D]")
    first = summary["first_purchase"].to_numpy("datetime64[D]")
    cohorts, sizes = np.unique(first, return_counts=True)
    age = (days[None, :] - cohorts[:, None]).astype(np.int64)  # (cohorts, days)
    grid = np.arange(int(age.max()) + 1, dtype=float)
    ex = np.asarray(formulas.expected_purchases_new(model.model, _params(model), grid / unit))
    ex = np.reshape(ex, -1)
    cum = np.where(age >= 0, ex[np.clip(age, 0, None)], 0.0)
    expected_cum = (sizes[:, None] * cum).sum(0)
    expected_daily = np.diff(expected_cum, prepend=0.0)
    cal = np.datetime64(to_date(summary.attrs["calibration_end"], "calibration end"), "D")
    week = (days - days[0]).astype(np.int64) // 7
    frame = pd.DataFrame(
        {"week": week, "observed": daily["repeat_purchases"].to_numpy(), "expected": expected_daily}
    )
    out = frame.groupby("week", sort=True).agg(
        observed=("observed", "sum"), expected=("expected", "sum")
    )
    starts = days[0] + out.index.to_numpy() * 7
    out = out.reset_index(drop=True)
    out.insert(0, "week_start", pd.to_datetime(starts))
    out["observed_cumulative"] = out["observed"].cumsum()
    out["expected_cumulative"] = out["expected"].cumsum()
    out["period"] = np.where(starts <= cal, "calibration", "holdout")
    return out


def _holdout(summary: pd.DataFrame) -> None:
    if "frequency_holdout" not in summary:
        raise WorkbenchError("the summary has no holdout period: give a holdout end")


def naive_rule(
    summary: pd.DataFrame, duration: float | np.ndarray, days: float = NAIVE_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """The rule "recent buyers buy again": predicted purchases over ``duration`` and alive (0/1).

    A customer whose last purchase lies within ``days`` of the calibration end is taken as
    alive and buys at their own calibration rate of repeat purchases (``frequency / T``; a
    customer with no repeat yet, at one purchase per ``T``); the others are gone and buy nothing.

    Parameters
    ----------
    summary : DataFrame
        Calibration summary.
    duration : float or array
        Length of the prediction period in the summary's time unit.
    days : float
        What "recent" means, in days.
    """
    unit = unit_days(summary.attrs.get("time_unit", "weeks"))
    x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    recent = (T - tx) * unit <= days
    rate = np.maximum(x, 1) / np.maximum(T, 1 / unit)
    pred = np.where(recent, rate * np.asarray(duration, float), 0.0)
    return pred, recent.astype(float)


def naive_holdout(summary: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """:func:`naive_rule` over the summary's holdout period."""
    _holdout(summary)
    return naive_rule(summary, summary["duration_holdout"].to_numpy(float))


def conditional_expectations(
    model: CustomerValue, summary: pd.DataFrame, max_frequency: int = 7
) -> pd.DataFrame:
    """Mean holdout purchases by calibration frequency: observed, the model, the naive rule.

    Returns
    -------
    DataFrame
        ``frequency`` ("0" ... "7+"), ``customers``, ``observed``, ``predicted``, ``naive``.
    """
    _holdout(summary)
    pred = model.expected_holdout(summary)
    naive, _ = naive_holdout(summary)
    x = np.minimum(summary["frequency"].to_numpy(), max_frequency)
    frame = pd.DataFrame(
        {
            "bucket": x,
            "observed": summary["frequency_holdout"].to_numpy(float),
            "predicted": pred,
            "naive": naive,
        }
    )
    out = frame.groupby("bucket", sort=True).agg(
        customers=("observed", "size"),
        observed=("observed", "mean"),
        predicted=("predicted", "mean"),
        naive=("naive", "mean"),
    )
    labels = [str(k) if k < max_frequency else f"{max_frequency}+" for k in out.index]
    out.insert(0, "frequency", labels)
    return out.reset_index(drop=True)


def holdout_scores(model: CustomerValue, summary: pd.DataFrame) -> dict[str, Any]:
    """Errors of the per-customer holdout predictions, the model's and the naive rule's.

    Returns
    -------
    dict
        ``customers``, ``observed_purchases`` and ``predicted_purchases`` (totals),
        ``naive_purchases``, ``mae`` / ``naive_mae`` (mean absolute error per customer),
        ``rmse`` / ``naive_rmse``, ``correlation`` / ``naive_correlation`` (Pearson, per
        customer), ``total_error`` (predicted / observed - 1) and ``naive_total_error``.
    """
    _holdout(summary)
    y = summary["frequency_holdout"].to_numpy(float)
    pred = model.expected_holdout(summary)
    naive, _ = naive_holdout(summary)

    def corr(a: np.ndarray) -> float:
        if np.std(a) == 0 or np.std(y) == 0:
            return float("nan")
        return float(np.corrcoef(a, y)[0, 1])

    tot = float(y.sum())
    return {
        "customers": int(len(y)),
        "holdout_duration": float(summary["duration_holdout"].iloc[0]) if len(y) else 0.0,
        "observed_purchases": tot,
        "predicted_purchases": float(pred.sum()),
        "naive_purchases": float(naive.sum()),
        "total_error": float(pred.sum() / tot - 1) if tot else float("nan"),
        "naive_total_error": float(naive.sum() / tot - 1) if tot else float("nan"),
        "mae": float(np.mean(np.abs(pred - y))),
        "naive_mae": float(np.mean(np.abs(naive - y))),
        "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
        "naive_rmse": float(np.sqrt(np.mean((naive - y) ** 2))),
        "correlation": corr(pred),
        "naive_correlation": corr(naive),
    }
