"""Customer-value predictions scored against what really happened next (evaluation code).

A synthetic world knows, in ``truth_subscribers`` only, whether each subscriber was still a
customer at the end of the observed window (``alive_at_end``) and how many orders they placed in
a further holdout period the world does not show (``holdout_orders``, and the expectation it was
drawn from, ``expected_holdout_orders``). :func:`score_predictions` compares a fitted model with
them, beside the naive rule "recent buyers buy again".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from workbench.clv import formulas
from workbench.clv.data import unit_days
from workbench.clv.diagnostics import naive_rule
from workbench.clv.segments import WorldValue
from workbench.errors import WorkbenchError
from workbench.truth import Truth


def holdout_days(truth: Truth) -> float:
    """Length of the world's true holdout period in days (``truth_scenario.json``)."""
    sc = truth.scenario
    days = sc.get("holdout_days", (sc.get("scenario") or {}).get("holdout_days"))
    if days is None:
        raise WorkbenchError(f"{truth.path}: the truth has no holdout period (holdout_days)")
    return float(days)


def _auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (ties count half): P(score of a positive > a negative)."""
    from scipy.stats import rankdata

    pos = label.astype(bool)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(score)
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def score_predictions(value: WorldValue, truth: Truth) -> pd.DataFrame:
    """The model and the naive rule against the true alive states and holdout orders.

    Parameters
    ----------
    value : WorldValue
        :func:`workbench.clv.segments.world_value`, calibrated on the world's whole window.
    truth : Truth
        The world's truth (:func:`workbench.truth.load_truth`).

    Returns
    -------
    DataFrame
        One row per method (the model, "recent buyers buy again"): ``alive_auc`` (how well
        P(alive) ranks the customers who are really still there), ``alive_brier`` (mean squared
        error of P(alive) against alive 0/1), ``alive_accuracy`` (P(alive) >= 0.5 against the
        truth), ``purchases_mae`` (mean absolute error of each customer's holdout purchases),
        ``purchases_total_error`` (predicted total / true total - 1), ``purchases_corr``
        (Pearson correlation with the true expected holdout purchases), ``customers``.
    """
    t = truth["truth_subscribers"].set_index("subscriber_id")
    s = value.summary
    ids = s["customer_id"].to_numpy()
    alive = t["alive_at_end"].reindex(ids).to_numpy(bool)
    actual = t["holdout_orders"].reindex(ids).to_numpy(float)
    expect = t["expected_holdout_orders"].reindex(ids).to_numpy(float)
    unit = unit_days(value.model.time_unit_)
    h = holdout_days(truth) / unit
    x, tx, T = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    p = {k: np.asarray(v) for k, v in value.model.purchase_.params.items()}
    pred = np.asarray(formulas.expected_purchases(value.model.model, p, h, x, tx, T), float)
    p_alive = value.predictions["p_alive"].to_numpy(float)
    naive, recent = naive_rule(s, h)

    def row(name: str, pa: np.ndarray, purchases: np.ndarray) -> dict[str, Any]:
        tot = actual.sum()
        return {
            "method": name,
            "customers": len(ids),
            "alive_auc": _auc(pa, alive),
            "alive_brier": float(np.mean((pa - alive) ** 2)),
            "alive_accuracy": float(np.mean((pa >= 0.5) == alive)),
            "purchases_mae": float(np.mean(np.abs(purchases - actual))),
            "purchases_total_error": float(purchases.sum() / tot - 1) if tot else float("nan"),
            "purchases_corr": float(np.corrcoef(purchases, expect)[0, 1])
            if np.std(purchases) > 0 and np.std(expect) > 0
            else float("nan"),
        }

    return pd.DataFrame(
        [
            row(value.model.model, p_alive, pred),
            row("recent buyers buy again", recent, naive),
        ]
    )
