"""The segmentation's findings for the report's summary (:class:`workbench.findings.Finding`)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from workbench.findings import Finding, money, percent

__all__ = ["segment_findings"]

#: Below this mean adjusted Rand index of bootstrap refits, segments are called tentative.
STABLE_ARI = 0.6


def _label(names: Mapping[int, str], seg: object) -> str:
    """A segment's name in quotes (names are lists of traits: "morning readers · low clicks")."""
    name = names.get(int(str(seg)), str(seg)) if str(seg).lstrip("-").isdigit() else str(seg)
    return f"“{name}”"


def segment_findings(
    segments: pd.Series,
    names: Mapping[int, str],
    *,
    outcomes: pd.DataFrame | None = None,
    book: pd.DataFrame | None = None,
    stability_ari: float | None = None,
    shown: int = 3,
) -> list[Finding]:
    """What the segmentation found and what to do with it.

    Parameters
    ----------
    segments : Series
        Segment of each subscriber.
    names : mapping
        Segment -> name.
    outcomes : DataFrame, optional
        :func:`workbench.segment.profiles.outcomes` (indexed by segment): adds each segment's
        revenue per subscriber.
    book : DataFrame, optional
        :func:`workbench.segment.playbook.playbook`: the recommended action.
    stability_ari : float, optional
        Mean adjusted Rand index of bootstrap refits: below :data:`STABLE_ARI` the segments are
        called tentative.
    shown : int, default 3
        Segments named in each sentence (the largest).

    Returns
    -------
    list of Finding
    """
    out: list[Finding] = []
    sizes = segments.value_counts()
    share = sizes / sizes.sum()
    value = None
    if outcomes is not None and "revenue_per_subscriber" in outcomes:
        # indexed by segment, or by "segment: name" labels as a notebook shows them
        value = outcomes["revenue_per_subscriber"].rename(index=lambda s: str(s).split(":")[0])
    parts = []
    for seg in sizes.index[:shown]:
        bit = f"{_label(names, seg)} ({percent(share[seg])} of the list"
        if value is not None and str(seg) in value.index:
            bit += f", {money(float(value[str(seg)]))} revenue per subscriber"
        parts.append(bit + ")")
    more = len(sizes) - shown
    rest = f", and {more} more" if more > 0 else ""
    text = f"{len(sizes)} segment{'s' if len(sizes) != 1 else ''}; the largest: " + "; ".join(parts)
    out.append(Finding(text + rest + ".", section="Segment sizes"))
    if value is not None and len(value) > 1:
        best, low = value.idxmax(), float(value.min())
        than = (
            f", {float(value.max()) / low:.1f} times the least valuable segment" if low > 0 else ""
        )
        out.append(
            Finding(
                f"Segment {_label(names, best)} brings the most revenue per subscriber "
                f"({money(float(value.max()))}{than}).",
                section="Outcomes beyond opens and clicks",
            )
        )
    if stability_ari is not None:
        stable = stability_ari >= STABLE_ARI
        word = "stable" if stable else "unstable"
        tail = "" if stable else ": treat them as tentative and re-check with more data"
        out.append(
            Finding(
                f"The segments are {word} when the list is resampled (mean adjusted Rand index "
                f"{stability_ari:.2f} on a 0-to-1 scale){tail}.",
                section="Stability",
            )
        )
    if book is not None and len(book):
        top = book.sort_values("subscribers", ascending=False).head(shown)
        plans = [
            f"“{r['name']}” at {int(r['send_hour']):02d}:00 local, up to "
            f"{int(r['max_emails_per_week'])} email{'s' if r['max_emails_per_week'] != 1 else ''}"
            f" a week, leading with {r['content']}"
            for _, r in top.iterrows()
        ]
        out.append(
            Finding(
                "Each segment has its own send window, cadence and content in the playbook.",
                section="The playbook",
                action="Send each segment on its own schedule: " + "; ".join(plans) + ".",
                priority=1,
            )
        )
    return out
