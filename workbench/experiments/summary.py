"""The tests' findings for the report's summary (:class:`workbench.findings.Finding`)."""

from __future__ import annotations

import pandas as pd

from workbench.bayes.diagnostics import Diagnostics
from workbench.findings import Finding, interval, percent

__all__ = ["holdout_findings", "decision_findings"]


def _span(p: pd.Series) -> str:
    lo, hi = float(p.min()), float(p.max())
    return percent(lo) if round(100 * lo) == round(100 * hi) else f"{percent(lo)} to {percent(hi)}"


def decision_findings(
    result: pd.DataFrame,
    *,
    control: str,
    test: str,
    diagnostics: Diagnostics | None = None,
    section: str = "The decision table",
) -> list[Finding]:
    """What an A/B/n test decided per segment, and how sure it is.

    Parameters
    ----------
    result : DataFrame
        An analysis result (one row per segment × arm, with ``decision`` and
        ``prob_beat_control``), as :class:`~workbench.experiments.ConjugateABTest` or
        :class:`~workbench.experiments.HierarchicalABTest` give it.
    control : str
        The control arm.
    test : str
        How the test is named in the sentence.
    diagnostics : Diagnostics, optional
        The sampler's checks of the model behind ``result``: when they failed, the finding is
        marked unreliable and the summary leaves it out.
    section : str
        The notebook section the decisions are shown in.
    """
    n_seg = result["segment"].nunique()
    ships = result.loc[(result["decision"] == "ship") & (result["arm"] != control)]
    keeps = result.groupby("segment")["decision"].apply(lambda d: (d == "keep testing").all())
    bits = []
    for arm, rows in ships.groupby("arm", sort=True):
        segs = ", ".join(str(s) for s in rows["segment"])
        bits.append(
            f"ship {arm} in {len(rows)} of {n_seg} segments ({segs}; probability it beats "
            f"{control}: {_span(rows['prob_beat_control'])})"
        )
    controls = result.loc[(result["decision"] == "ship") & (result["arm"] == control), "segment"]
    if len(controls):
        bits.append(f"keep {control} in {len(controls)} ({', '.join(map(str, controls))})")
    if int(keeps.sum()):
        bits.append(f"no decision yet in {int(keeps.sum())} (keep testing)")
    text = f"{test}: " + ("; ".join(bits) if bits else "no segment has a decision yet") + "."
    action = None
    if len(ships):
        winners = ships.groupby("arm")["segment"].apply(lambda s: ", ".join(map(str, s)))
        action = (
            "Roll out "
            + "; ".join(f"{arm} to {segs}" for arm, segs in winners.items())
            + (", and keep testing elsewhere." if int(keeps.sum()) else ".")
        )
    ok = diagnostics is None or diagnostics.ok
    caveat = "" if ok else f"the model's sampler checks failed: {diagnostics}"
    return [Finding(text, section=section, action=action, priority=2, reliable=ok, caveat=caveat)]


def holdout_findings(
    inc: pd.DataFrame, *, prob: float, section: str, row: str = "segmented − mass"
) -> list[Finding]:
    """What segmenting earned over a mass send (:func:`~workbench.experiments.checks.incremental`).

    Parameters
    ----------
    inc : DataFrame
        One row per arm comparison (column ``arm``), with ``incremental_conversions`` and its
        ``_low`` / ``_high`` interval.
    prob : float
        The interval's probability.
    section : str
        The notebook section it is shown in.
    row : str
        The comparison to report.
    """
    r = inc.set_index("arm").loc[row]
    mean, lo, hi = (float(r[f"incremental_conversions{s}"]) for s in ("", "_low", "_high"))
    text = f"Segmented sends earned {interval(mean, lo, hi, prob, 'conversions')} over a mass send"
    if lo > 0:
        text += ": segmenting pays."
        action = "Keep sending by segment rather than one mass send."
    elif hi < 0:
        text += ": a mass send did better."
        action = "Revisit the segments and playbook before sending by segment again."
    else:
        text += ": not clearly different from a mass send yet."
        action = None
    return [Finding(text, section=section, action=action, priority=1)]
