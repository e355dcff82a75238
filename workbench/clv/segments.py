"""Customer value inside the workbench: a world's orders in, features and a playbook out.

* :func:`world_value` fits a :class:`~workbench.clv.value.CustomerValue` on a world's orders
  (calibration = the world's whole observed window unless told otherwise) and predicts every
  customer;
* :func:`value_features` turns the predictions into subscriber features (``p_alive``,
  ``churn_risk``, ``expected_value``; subscribers who never bought get ``p_alive`` 0 with
  ``is_customer`` 0), which :func:`add_value_features` joins to the feature table, so
  segmentation can use them and :func:`workbench.segment.rules.lifecycle_stage` uses P(alive)
  instead of a fixed "ordered in the last 90 days" threshold;
* :func:`value_playbook` ranks segments by value at risk and names the move for each:
  win back, cross-sell (from :func:`workbench.clv.repeat.cross_sell_moves`) or keep.

Value at risk is what a segment's customers would be worth if those who may have left were
still customers: ``sum(clv / p_alive * (1 - p_alive))`` (``clv / p_alive`` is a customer's value
given alive). It is the most a win-back programme could recover.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.clv.data import Transactions, summarise, transactions_from_orders
from workbench.clv.value import CustomerValue
from workbench.errors import WorkbenchError
from workbench.schema import World, load_world

#: P(alive) below which a customer counts as probably gone (win-back target).
GONE = 0.5
#: Share of a segment's customers probably gone that makes win-back its first move...
WIN_BACK_SHARE = 0.3
#: ...or value at risk as a share of the segment's expected value.
WIN_BACK_VALUE = 0.25


@dataclass
class WorldValue:
    """A customer-value model fitted on a world, with everything needed to read it.

    Attributes
    ----------
    model : CustomerValue
        The fitted model.
    summary : DataFrame
        Calibration summary (one row per customer = subscriber who bought).
    transactions : Transactions
        The world's orders as a log of purchase days.
    predictions : DataFrame
        :meth:`CustomerValue.predict` of every customer.
    """

    model: CustomerValue
    summary: pd.DataFrame
    transactions: Transactions
    predictions: pd.DataFrame


def world_end(world: World) -> pd.Timestamp:
    """Last observed day of a world: the day of its last order, or its scenario's last day.

    A generated world's days start at the send hour, so its last simulated day reaches into the
    next calendar day; the later of the two covers every order.
    """
    ts = pd.to_datetime(world["orders"]["ts"], utc=True)
    last = ts.max().tz_localize(None).normalize()
    meta = world.meta
    if meta.get("start") and meta.get("days"):
        planned = pd.Timestamp(meta["start"]) + pd.Timedelta(days=int(meta["days"]) - 1)
        return max(last, planned)
    return last


def world_transactions(world: str | Path | World) -> tuple[Transactions, pd.Timestamp]:
    """A world's orders as a transaction log, and its last observed day (:func:`world_end`).

    Raises
    ------
    WorkbenchError
        When the world has no orders.
    """
    w = world if isinstance(world, World) else load_world(world, tables=["orders"])
    if "orders" not in w or w["orders"].empty:
        raise WorkbenchError(f"{w.path}: the world has no orders: no customer value to model")
    return transactions_from_orders(w["orders"], source=f"{w.path}/orders"), world_end(w)


def world_value(
    world: str | Path | World,
    *,
    model: str = "bgnbd",
    method: str = "mle",
    calibration_end: Any | None = None,
    holdout_end: Any | None = None,
    time_unit: str = "weeks",
    **kwargs: Any,
) -> WorldValue:
    """Fit a customer-value model on a world's orders and predict every customer.

    Parameters
    ----------
    world : path or World
        A world with an ``orders`` table.
    model, method : str
        See :class:`CustomerValue`.
    calibration_end : date, optional
        Default: the world's last observed day (:func:`world_end`).
    holdout_end : date, optional
        To score the model on the world's own later orders.
    time_unit : {"weeks", "days"}
    **kwargs
        Passed to :class:`CustomerValue` (``horizon_days``, ``discount_rate``, ``seed``, ...).

    Returns
    -------
    WorldValue
    """
    tx, end = world_transactions(world)
    cal = calibration_end if calibration_end is not None else end
    summary = summarise(tx, calibration_end=cal, holdout_end=holdout_end, time_unit=time_unit)
    cv = CustomerValue(model, method, **kwargs).fit(summary)
    return WorldValue(cv, summary, tx, cv.predict(summary))


def value_features(predictions: pd.DataFrame, subscribers: pd.Index | None = None) -> pd.DataFrame:
    """Subscriber features from the predictions of a customer-value model.

    Parameters
    ----------
    predictions : DataFrame
        :meth:`CustomerValue.predict` (``customer_id`` = subscriber id).
    subscribers : Index, optional
        Every subscriber of the feature table: those without a purchase get ``is_customer`` 0,
        ``p_alive`` 0, ``churn_risk`` 0 (nothing to lose) and ``expected_value`` 0.

    Returns
    -------
    DataFrame
        Indexed by subscriber id: ``is_customer``, ``p_alive``, ``churn_risk``
        (``1 - p_alive`` for customers), ``expected_purchases``, ``expected_value`` (CLV).
    """
    p = predictions.set_index("customer_id")
    out = pd.DataFrame(
        {
            "is_customer": 1,
            "p_alive": p["p_alive"].astype(float),
            "churn_risk": 1.0 - p["p_alive"].astype(float),
            "expected_purchases": p["expected_purchases"].astype(float),
            "expected_value": p["clv"].astype(float).fillna(0.0),
        }
    )
    out.index.name = "subscriber_id"
    return out if subscribers is None else _on(out, subscribers)


def add_value_features(features: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """The feature table with the value features joined (subscribers without one: 0)."""
    v = _on(values, features.index)
    return features.drop(columns=[c for c in v.columns if c in features.columns]).join(v)


def _on(values: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """``values`` (from :func:`value_features`) on ``index``, subscribers without one at 0."""
    v = values.reindex(index)
    v["is_customer"] = v["is_customer"].fillna(0).astype(np.int64)
    return v.fillna(0.0)


def value_playbook(
    values: pd.DataFrame,
    segments: pd.Series,
    *,
    moves: pd.DataFrame | None = None,
    names: dict | None = None,
) -> pd.DataFrame:
    """Segments ranked by value at risk, with the move for each.

    Parameters
    ----------
    values : DataFrame
        :func:`value_features` of every subscriber.
    segments : Series
        Segment per subscriber id.
    moves : DataFrame, optional
        :func:`workbench.clv.repeat.cross_sell_moves` (``segment, from_category, to_category,
        lift``): the cross-sell move of a segment.
    names : dict, optional
        Segment -> readable name.

    Returns
    -------
    DataFrame
        ``rank, segment, name, subscribers, customers, mean_p_alive, gone_share,
        expected_value, value_at_risk, move``, by value at risk, largest first. The move is
        win back when at least :data:`WIN_BACK_SHARE` of the customers have probably left or
        the value at risk reaches :data:`WIN_BACK_VALUE` of the expected value; else the
        segment's strongest cross-sell move, if any; else keep.
    """
    v = _on(values, segments.index)
    v["segment"] = segments.to_numpy()
    cust = v[v["is_customer"] == 1]
    p = cust["p_alive"].clip(lower=0.01)
    cust = cust.assign(
        at_risk=cust["expected_value"] / p * (1 - cust["p_alive"]),
        gone=(cust["p_alive"] < GONE).astype(float),
    )
    by = cust.groupby("segment", sort=True)
    table = pd.DataFrame(
        {
            "subscribers": v.groupby("segment", sort=True).size(),
            "customers": by.size(),
            "mean_p_alive": by["p_alive"].mean(),
            "gone_share": by["gone"].mean(),
            "expected_value": by["expected_value"].sum(),
            "value_at_risk": by["at_risk"].sum(),
        }
    ).fillna({"customers": 0, "expected_value": 0.0, "value_at_risk": 0.0})
    table["customers"] = table["customers"].astype(np.int64)
    table = table.sort_values("value_at_risk", ascending=False, kind="stable")
    table.index.name = "segment"
    table = table.reset_index()
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    table.insert(2, "name", [(names or {}).get(s, str(s)) for s in table["segment"]])
    table["move"] = [_move(r, moves) for r in table.itertuples(index=False)]
    return table


def _move(r: Any, moves: pd.DataFrame | None) -> str:
    if r.customers == 0:
        return "convert: no customers yet; a first-order offer"
    if r.gone_share >= WIN_BACK_SHARE or r.value_at_risk >= WIN_BACK_VALUE * r.expected_value:
        return (
            f"win back: {r.value_at_risk:,.0f} at risk ({r.gone_share:.0%} of its customers have "
            "probably left); a reason to return, before they are gone for good"
        )
    if moves is not None and len(moves):
        m = moves[moves["segment"].astype(str) == str(r.segment)]
        if len(m):
            b = m.iloc[0]
            return (
                f"cross-sell: after {b.from_category}, offer {b.to_category} "
                f"(bought next {b.lift:.1f}x as often as usual)"
            )
    return "keep: customers are active; protect them from over-sending"
