"""Attribution's findings for the report's summary (:class:`workbench.findings.Finding`), and the
notebook's tables of the holdouts and of the calibrated model, written for people.

:func:`channel_findings` says what the path models credit; :func:`incrementality_findings` says
what the channels cause when the data has channel holdouts (the calibrated model), or that it has
none and the shares are credit, not cause.
"""

from __future__ import annotations

import pandas as pd

from workbench.findings import Finding, count, percent
from workbench.findings import interval as with_interval

__all__ = ["calibrated_table", "channel_findings", "holdout_table", "incrementality_findings"]

#: The notebook section that shows what the channels cause.
SECTION = "What each channel really adds"

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
    advise: bool = True,
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
    advise : bool, default True
        End with "credit is not cause: measure with holdouts" and its action; leave it out
        when :func:`incrementality_findings` says what the holdouts found (or that there are
        none).

    Returns
    -------
    list of Finding
        The credited shares; with ``card``, how far the closest credit model is from the truth
        (the ``calibrated`` model's row, which is not credit, is left out of it).
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
    if card is not None and "model" in card.columns:
        card = card[card["model"] != "calibrated"]
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
    if not advise:
        return out
    out.append(
        Finding(
            "Attribution credit shows where conversions pass, not what each channel adds.",
            section=section,
            action="Before moving budget between channels, measure the channels that matter with "
            "holdouts (a share of subscribers who do not get the channel for a while).",
            priority=3,
        )
    )
    return out


def _names(channels: list[str]) -> str:
    words = [str(c).replace("_", " ") for c in channels]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def incrementality_findings(
    calibrated: pd.DataFrame | None,
    holdouts: pd.DataFrame | None,
    card: pd.DataFrame | None = None,
    *,
    shown: int = 3,
    interval: float = 0.9,
    target_lift: float = 0.05,
    section: str = SECTION,
    credit_section: str = "Credited share by model",
) -> list[Finding]:
    """What the channels cause, from the holdouts and the calibrated model, in plain words.

    With holdouts: each channel's share of the conversions the channels cause (the calibrated
    model, with its interval), which channels a holdout measured and which borrowed the pooled
    factor, what each holdout found (a test too small to detect ``target_lift`` gets an action),
    and, with ``card``, how close the calibrated shares come to the truth. Without holdouts:
    that the shares are credit, not cause, and the action to run a holdout.

    Parameters
    ----------
    calibrated : DataFrame or None
        The calibrated model's table (:func:`~workbench.attribution.attribute` with
        ``"calibrated"``: ``channel, share, share_low, share_high, factor, holdouts``), or a
        long table whose ``model`` column has ``"calibrated"`` rows. Ignored without holdouts.
    holdouts : DataFrame or None
        :func:`~workbench.attribution.world_incrementality` (or ``file_incrementality``); empty
        or ``None`` when the data has no channel holdout.
    card : DataFrame, optional
        :func:`~workbench.attribution.scorecard` of the path models and the calibrated model
        against the true incremental shares (a synthetic world).
    shown : int, default 3
        Channels named with their share.
    interval : float, default 0.9
        Probability of the intervals (for the words).
    target_lift : float, default 0.05
        The relative lift the holdouts' ``power`` refers to.
    section : str
        The notebook section the findings come from.
    credit_section : str
        The section showing the credited shares: where the finding without holdouts points (the
        holdouts' section is skipped then).

    Returns
    -------
    list of Finding

    Raises
    ------
    WorkbenchError
        Holdouts without a calibrated table (or one without ``calibrated`` rows).
    """
    from workbench.errors import WorkbenchError

    if holdouts is not None and "segment" in holdouts.columns:
        holdouts = holdouts[holdouts["segment"].isna()]
    if holdouts is None or holdouts.empty:
        return [
            Finding(
                "No channel holdouts in this data: the shares above are credit, not cause; they "
                "show where conversions pass, not what each channel adds.",
                section=credit_section,
                action="Run a holdout on the channels that matter: keep a random share of "
                "subscribers (up to half the list for a small channel) away from the channel "
                "for a few weeks, then calibrate the attribution with it.",
                priority=3,
            )
        ]
    if calibrated is not None and "model" in calibrated.columns:
        calibrated = calibrated[calibrated["model"] == "calibrated"]
    if calibrated is None or calibrated.empty:
        raise WorkbenchError("incrementality_findings: holdouts given without the calibrated "
                             "model's table")  # fmt: skip
    cal = calibrated.set_index("channel").sort_values("share", ascending=False, kind="stable")
    prob = percent(interval)
    named = [
        f"{str(ch).replace('_', ' ')} {percent(r['share'])} ({percent(r['share_low'])} to "
        f"{percent(r['share_high'])})"
        for ch, r in cal.head(shown).iterrows()
    ]
    rest = float(cal["share"].iloc[shown:].sum())
    tail = f", the other channels {percent(rest)}" if len(cal) > shown else ""
    out = [
        Finding(
            f"Calibrated by the channel holdouts, each channel's share of the conversions the "
            f"channels cause ({prob} interval): {', '.join(named)}{tail}.",
            section=section,
        )
    ]
    tested = [str(c) for c in cal.index[cal["holdouts"] > 0]]
    none = cal[(cal["holdouts"] == 0) & (cal["factor"] > 0)]  # borrowing the pooled factor
    text = f"A holdout measured {_names(tested)}" if tested else "No holdout measured a channel"
    if len(none):
        factor = float(none["factor"].median())
        text += (
            f"; {_names(list(none.index))} had none and "
            f"{'borrows' if len(none) == 1 else 'borrow'} the factor pooled from the tested "
            f"channels (about {factor:.2f} caused per credited conversion): a guess, not a "
            "measurement"
        )
    from workbench.attribution.calibrated import BASELINE_CHANNELS

    zero = [str(c) for c in cal.index if c in BASELINE_CHANNELS]
    if zero:
        text += f"; {_names(zero)} {'gets' if len(zero) == 1 else 'get'} no credit (navigation)"
    out.append(Finding(text + ".", section=section))
    out += _holdout_results(holdouts, interval, target_lift, section)
    if card is not None and "calibrated" in set(card["model"]):
        c = card.set_index("model")
        cal_err = float(c.loc["calibrated", "mean_abs_error"])
        rho = float(c.loc["calibrated", "spearman"])
        paths = c.drop(index="calibrated")
        text = (
            f"Against the true incremental effects, the calibrated shares are off by "
            f"{percent(cal_err, 1)} a channel on average (rank correlation {rho:.2f})"
        )
        if len(paths):
            best = str(paths["mean_abs_error"].idxmin())
            err = float(paths.loc[best, "mean_abs_error"])
            text += (
                f"; the closest path model ({MODEL_WORDS.get(best, best)}) is off by "
                f"{percent(err, 1)}"
            )
            if cal_err >= err:
                text += ": calibration is only as good as the holdouts behind it"
        out.append(Finding(text + ".", section=section))
    return out


def _holdout_results(
    holdouts: pd.DataFrame, level: float, target_lift: float, section: str
) -> list[Finding]:
    """What each holdout found; an action for each test too small to tell anything."""
    h = holdouts.sort_values("incremental_conversions", ascending=False, kind="stable")
    low, high = h["incremental_conversions_low"], h["incremental_conversions_high"]
    parts = []
    for i, r in enumerate(h[low > 0].itertuples(index=False)):
        lo, hi = r.incremental_conversions_low, r.incremental_conversions_high
        span = (
            with_interval(r.incremental_conversions, lo, hi, level, "conversions")
            if i == 0
            else f"{count(r.incremental_conversions, signed=True)} "
            f"({count(lo, signed=True)} to {count(hi, signed=True)})"
        )
        parts.append(f"{str(r.channel).replace('_', ' ')} {span}")
    text = ""
    if parts:
        text = "The holdouts measured " + ", ".join(parts) + " among the exposed subscribers"
    down = h[high < 0]
    if len(down):
        text += ("; " if text else "The holdouts found that ") + (
            f"{_names(list(down['channel']))} cost conversions"
        )
    flat = h[~low.gt(0) & ~high.lt(0)]
    strong = flat[flat["power"] >= 0.5]
    if len(strong):
        text += ("; " if text else "The holdouts found ") + (
            f"no effect clearly above zero for {_names(list(strong['channel']))}, although "
            f"{'its test' if len(strong) == 1 else 'their tests'} would detect a "
            f"{percent(float(strong['mde_lift'].max()))} lift 80% of the time"
        )
    out = [Finding(text + ".", section=section)] if text else []
    for r in flat[~(flat["power"] >= 0.5)].itertuples(index=False):
        name = str(r.channel).replace("_", " ")
        out.append(
            Finding(
                f"The {name} holdout cannot tell {name}'s effect from zero: it would detect only "
                f"a lift of {percent(r.mde_lift)} or more (power {percent(r.power)} for a "
                f"{percent(target_lift)} lift), so it says little about what {name} adds.",
                section=section,
                action=f"Hold out a larger share of the list from {name} (up to half) or for "
                f"longer before judging what it adds.",
                priority=2,
            )
        )
    return out


def holdout_table(
    incrementality: pd.DataFrame, *, target_lift: float = 0.05, segments: bool = False
) -> pd.DataFrame:
    """The channel holdouts for people: one row per test, readable columns, whole counts.

    Parameters
    ----------
    incrementality : DataFrame
        :func:`~workbench.attribution.world_incrementality` or ``file_incrementality`` (overall
        rows are kept when it has a ``segment`` column).
    target_lift : float, default 0.05
        The relative lift its ``power`` refers to (named in the column).
    segments : bool, default False
        Keep the segment rows instead, indexed by channel and segment.

    Returns
    -------
    DataFrame
        Indexed by channel: ``held out`` (share of the test's subscribers), ``days``, ``exposed``
        and ``held-out`` subscribers, ``incremental conversions`` with its interval (``low``,
        ``high``), ``relative lift``, ``power for a 5% lift`` and ``detectable lift`` (80%
        power); shares as fractions (show them with
        :func:`workbench.widgets.for_people`'s ``percent``).
    """
    inc = incrementality
    if "segment" in inc.columns:
        inc = inc[inc["segment"].notna() if segments else inc["segment"].isna()]
    n = inc["n_exposed"] + inc["n_holdout"]
    days = inc["days"] if "days" in inc.columns else pd.Series(pd.NA, index=inc.index)
    out = pd.DataFrame(
        {
            "held out": inc["n_holdout"] / n,
            "days": pd.to_numeric(days).astype("Int64"),
            "exposed": inc["n_exposed"].astype("int64"),
            "held-out": inc["n_holdout"].astype("int64"),
            "incremental conversions": inc["incremental_conversions"].round(),
            "low": inc["incremental_conversions_low"].round(),
            "high": inc["incremental_conversions_high"].round(),
            "relative lift": inc["relative_lift"],
            f"power for a {percent(target_lift)} lift": inc["power"],
            "detectable lift": inc["mde_lift"],
        }
    )
    channel = inc["channel"].astype(str).str.replace("_", " ")
    if segments:
        out.index = pd.MultiIndex.from_arrays(
            [channel, inc["segment"]], names=["channel", "segment"]
        )
    else:
        out.index = pd.Index(channel, name="channel")
    return out


def calibrated_table(calibrated: pd.DataFrame) -> pd.DataFrame:
    """The calibrated model for people: credit, factor, caused conversions and share per channel.

    Parameters
    ----------
    calibrated : DataFrame
        The calibrated model's table (:func:`~workbench.attribution.attribute` with
        ``"calibrated"``), or a long table whose ``model`` column has ``"calibrated"`` rows.

    Returns
    -------
    DataFrame
        Indexed by channel, largest share first: ``credited`` (the base model's conversions),
        ``factor`` with its interval (``factor low``, ``factor high``), ``caused`` conversions,
        ``share`` with its interval (``share low``, ``share high``) and ``holdouts`` (the
        number of holdouts; 0: the pooled factor, or no credit for a baseline channel).
    """
    cal = calibrated
    if "model" in cal.columns:
        cal = cal[cal["model"] == "calibrated"]
    cal = cal.sort_values("share", ascending=False, kind="stable")
    out = pd.DataFrame(
        {
            "credited": cal["credited"].round(),
            "factor": cal["factor"].round(2),
            "factor low": cal["factor_low"].round(2),
            "factor high": cal["factor_high"].round(2),
            "caused": cal["conversions"].round(),
            "share": cal["share"],
            "share low": cal["share_low"],
            "share high": cal["share_high"],
            "holdouts": cal["holdouts"].astype("int64"),
        }
    )
    out.index = pd.Index(cal["channel"].astype(str).str.replace("_", " "), name="channel")
    return out
