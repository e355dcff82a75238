"""Attribution's findings for the report's summary (:class:`workbench.findings.Finding`)."""

from __future__ import annotations

import pandas as pd

from workbench.findings import Finding, percent

__all__ = ["channel_findings"]

#: How a model is named in a sentence.
MODEL_WORDS = {
    "markov": "Markov (data-driven)",
    "shapley": "Shapley (data-driven)",
    "last": "last-touch",
    "first": "first-touch",
    "linear": "linear",
    "position": "position-based",
    "time_decay": "time-decay",
    "last_non_direct": "last non-direct touch",
}


def channel_findings(
    results: pd.DataFrame,
    *,
    model: str = "markov",
    card: pd.DataFrame | None = None,
    shown: int = 3,
    section: str = "Credited share by model",
) -> list[Finding]:
    """Which channels carry the conversions, by one model, and what that credit means.

    Parameters
    ----------
    results : DataFrame
        :func:`~workbench.attribution.compare_models` (``model, channel, share, ...``).
    model : str, default "markov"
        The model whose credit is reported (the first model present if it is absent).
    card : DataFrame, optional
        :func:`~workbench.attribution.scorecard` against the true incremental effects (a
        synthetic world): adds how far the best model is from the truth.
    shown : int
        Channels named.
    section : str
        The notebook section the credit is shown in.
    """
    if model not in set(results["model"]):
        model = str(results["model"].iloc[0])
    shares = (
        results.loc[results["model"] == model]
        .groupby("channel")["share"]
        .sum()
        .sort_values(ascending=False)
    )
    named = [f"{ch.replace('_', ' ')} {percent(s)}" for ch, s in shares.head(shown).items()]
    rest = float(shares.iloc[shown:].sum())
    tail = f", the other channels {percent(rest)}" if len(shares) > shown else ""
    text = (
        f"By {MODEL_WORDS.get(model, model)} attribution, the channels' shares of credited "
        f"conversions are: {', '.join(named)}{tail}."
    )
    out = [Finding(text, section=section)]
    if card is not None and len(card):
        best = card.iloc[0]
        out.append(
            Finding(
                f"Against the true incremental effects, even the closest model "
                f"({MODEL_WORDS.get(str(best['model']), best['model'])}) misplaces "
                f"{percent(float(best['mean_abs_error']))} of the credit per channel on average: "
                "credit is not cause.",
                section="Scorecard against the truth",
            )
        )
    out.append(
        Finding(
            "Attribution credit shows where conversions pass, not what each channel adds.",
            section="What holdouts measure",
            action="Before moving budget between channels, measure the channels that matter with "
            "holdouts (a share of subscribers who do not get the channel for a while).",
            priority=3,
        )
    )
    return out
