"""The targeting and strategy findings (notebook 06), in plain words, for the report's summary."""

from __future__ import annotations

from typing import Any

import pandas as pd

from workbench.findings import Finding, count, percent

SECTION_TEST = "Whom the email moves: uplift models on the randomised test"
SECTION_BUDGET = "How far to send: the budget"
SECTION_LAB = "The strategy lab: promise against truth"


def _num(x: float) -> str:
    return f"{x:,.0f}"


def targeting_findings(
    table: pd.DataFrame,
    *,
    ate: float,
    ate_se: float,
    learner: str,
    gain: dict[str, Any] | None = None,
    budget: float | None = None,
) -> list[Finding]:
    """Findings of the uplift part: the test's average effect and what targeting promises.

    Parameters
    ----------
    table : DataFrame
        :attr:`workbench.uplift.workflow.LearnerComparison.table`.
    ate, ate_se : float
        The test's average effect (difference of conversion rates) and its standard error.
    learner : str
        The learner the targeting uses.
    gain : dict, optional
        :func:`workbench.uplift.policy.expected_gain` at ``budget``.
    budget : float, optional
        Share of the list targeted.

    Returns
    -------
    list of Finding
    """
    out: list[Finding] = []
    low, high = ate - 1.96 * ate_se, ate + 1.96 * ate_se
    out.append(
        Finding(
            f"In the randomised test the email raised the conversion rate by "
            f"{100 * ate:.1f} points (95% interval {100 * low:.1f} to {100 * high:.1f}).",
            SECTION_TEST,
            reliable=bool(high > low),
        )
    )
    row = table.set_index("learner").loc[learner]
    weak = not (row["qini_coefficient"] > 0)
    text = (
        f"On the held-out half of the test the {learner.upper()}-learner's ranking has a Qini "
        f"coefficient of {row['qini_coefficient']:.3f} (0 is random targeting)."
    )
    out.append(
        Finding(
            text,
            SECTION_TEST,
            reliable=not weak,
            caveat=(
                "The held-out half of the test is too small or too noisy to show that the "
                "uplift ranking beats random targeting; do not target on it yet."
            )
            if weak
            else "",
        )
    )
    if gain is not None and budget is not None and pd.notna(gain.get("incremental")):
        out.append(
            Finding(
                f"Sending to the {percent(budget)} of the list with the highest predicted uplift "
                f"({count(gain['targeted'])} subscribers) should add about "
                f"{_num(gain['incremental'])} converters ({_num(gain['low'])} to "
                f"{_num(gain['high'])}) over the test's window.",
                SECTION_BUDGET,
                action="Send the campaign to the subscribers it moves most, not to everyone."
                if not weak
                else None,
                reliable=not weak,
                caveat="the ranking is not yet better than random on held-out data" if weak else "",
            )
        )
    return out


def lab_findings(policies: pd.DataFrame, weeks: int) -> list[Finding]:
    """Findings of the strategy lab: which policy truly adds most, and how far promises were.

    Parameters
    ----------
    policies : DataFrame
        :attr:`workbench.strategy.lab.LabResult.policies`.
    weeks : int
        Length of the replay.

    Returns
    -------
    list of Finding
    """
    out: list[Finding] = []
    t = policies.set_index("policy")
    best = t["incremental_conversions"].idxmax()
    eff = t["conversions_per_1000"].idxmax()
    out.append(
        Finding(
            f"Replayed for {weeks} weeks in the world's true response model, {best} adds the most "
            f"converters ({_num(t.loc[best, 'incremental_conversions'])}, "
            f"{_num(t.loc[best, 'incremental_conversions_low'])} to "
            f"{_num(t.loc[best, 'incremental_conversions_high'])}); per email sent, {eff} does "
            f"best ({t.loc[eff, 'conversions_per_1000']:.1f} converters per 1,000 broadcasts).",
            SECTION_LAB,
            action=f"Prefer the {best} policy, and check its cost in unsubscribes.",
            priority=1,
        )
    )
    if {"uplift", "random"} <= set(t.index):
        u, r = t.loc["uplift"], t.loc["random"]
        beats = u["incremental_conversions_low"] > r["incremental_conversions_high"]
        out.append(
            Finding(
                f"Sending to the same number of subscribers, uplift targeting truly adds "
                f"{_num(u['incremental_conversions'])} converters against "
                f"{_num(r['incremental_conversions'])} for a random choice"
                + (" (the intervals do not overlap)." if beats else " (the intervals overlap)."),
                SECTION_LAB,
            )
        )
    far = (t["promise_error"].abs() / t["incremental_conversions"].abs()).dropna()
    if len(far):
        worst = far.idxmax()
        out.append(
            Finding(
                f"The data's promises were off by {percent(float(far.min()))} to "
                f"{percent(float(far.max()))} of the true gain; the furthest was {worst}'s "
                f"({_num(t.loc[worst, 'promised_conversions'])} promised against "
                f"{_num(t.loc[worst, 'incremental_conversions'])} true).",
                SECTION_LAB,
            )
        )
    return out
