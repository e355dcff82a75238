"""The customer-value section's findings, in plain words, for the report's summary."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.findings import Finding, count, money, percent

SECTION_VALUE = "What each customer is worth"
SECTION_CHECK = "Fitting on the past, checking on the later weeks"
SECTION_PLAYBOOK = "Whom to win back, whom to leave alone"


def value_findings(
    predictions: pd.DataFrame,
    *,
    holdout: dict[str, Any] | None = None,
    playbook: pd.DataFrame | None = None,
    horizon_days: float = 365.0,
    model_name: str = "the model",
) -> list[Finding]:
    """Findings of the customer-value notebook.

    Parameters
    ----------
    predictions : DataFrame
        :meth:`workbench.clv.value.CustomerValue.predict` of every customer.
    holdout : dict, optional
        :func:`workbench.clv.diagnostics.holdout_scores` of the check on later weeks.
    playbook : DataFrame, optional
        :func:`workbench.clv.segments.value_playbook`.
    horizon_days : float
        Horizon of the predictions.
    model_name : str
        How the model is named in the text.

    Returns
    -------
    list of Finding
    """
    out: list[Finding] = []
    n = len(predictions)
    gone = float((predictions["p_alive"] < 0.5).mean()) if n else float("nan")
    total = float(predictions["clv"].sum()) if "clv" in predictions else float("nan")
    text = (
        f"{count(n)} customers have bought; {percent(gone)} of them have probably stopped buying "
        f"(P(alive) below 50%)."
    )
    if pd.notna(total):
        text += (
            f" Together the customers are expected to bring {money(total)} over the next "
            f"{horizon_days:.0f} days (discounted)."
        )
    sure = float((predictions["p_alive"] > 0.95).mean()) if n else float("nan")
    if sure > 0.9:
        out.append(
            Finding(
                f"The model finds P(alive) above 95% for {percent(sure)} of the customers: the "
                "history is too short next to how long customers stay to tell a quiet customer "
                "from one who has left.",
                SECTION_VALUE,
                reliable=False,
                caveat="too short a history to see customers leave",
            )
        )
    out.append(Finding(text, SECTION_VALUE))
    if holdout is not None:
        better = holdout["mae"] < holdout["naive_mae"]
        out.append(
            Finding(
                f"Checked on later weeks it had not seen, {model_name} predicted "
                f"{count(holdout['predicted_purchases'])} repeat purchases against "
                f"{count(holdout['observed_purchases'])} observed; its error per customer was "
                f"{holdout['mae']:.3f} against {holdout['naive_mae']:.3f} for the rule "
                f'"recent buyers buy again".',
                SECTION_CHECK,
                reliable=bool(better),
                caveat="" if better else "the model did not beat the naive rule on later weeks",
            )
        )
    has_book = playbook is not None and len(playbook) > 0
    at_risk = float(playbook["value_at_risk"].sum()) if has_book else 0.0
    worth = float(playbook["expected_value"].sum()) if has_book else 0.0
    if has_book and at_risk > 0.01 * worth:
        top = playbook.iloc[0]
        out.append(
            Finding(
                f"Segment {top['name']} holds the most value at risk: "
                f"{money(float(top['value_at_risk']))} from customers who may have left "
                f"({percent(float(top['gone_share']))} of its customers).",
                SECTION_PLAYBOOK,
                action=f"Start the win-back programme with segment {top['name']}; "
                "leave customers with a high P(alive) on their usual cadence.",
                priority=2,
            )
        )
    return out
