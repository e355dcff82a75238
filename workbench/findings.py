"""Findings: what a notebook concluded, in plain words, for the report's summary.

A :class:`Finding` is one sentence a director can read without the notebook ("Segmented sends
earned +134 conversions over a mass send (90% interval 102 to 167)"), the section it comes from
(the summary links to it) and, when it calls for one, the action it recommends. Capability
packages build them from their results (e.g. :func:`workbench.segment.summary.segment_findings`);
a notebook shows them with :func:`show`, which displays them as Markdown and as a bundle of MIME
type :data:`FINDING_MIME` the report runner reads back (:func:`read`). A finding resting on an
estimate that failed its checks is marked ``reliable=False`` with the reason: the summary leaves it
out and says why.

The formatting helpers (:func:`count`, :func:`percent`, :func:`interval`) keep every number in the
summary in units, never a bare decimal.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["FINDING_MIME", "Finding", "count", "interval", "money", "percent", "read", "show"]

FINDING_MIME = "application/vnd.workbench.finding+json"
"""MIME type of the display bundle :func:`show` emits."""


@dataclass(frozen=True)
class Finding:
    """One conclusion of a notebook.

    Attributes
    ----------
    text : str
        The finding in one or two plain sentences, numbers with their units.
    section : str
        The heading of the notebook section it comes from (the summary links to it).
    action : str, optional
        The action it recommends, as an imperative sentence ("Send each segment its own ...").
    priority : int, default 2
        Rank of the action among the report's actions (1 first).
    reliable : bool, default True
        False when the estimate behind it failed its checks: left out of the summary.
    caveat : str
        Why it is not reliable (shown instead of it).
    """

    text: str
    section: str
    action: str | None = None
    priority: int = 2
    reliable: bool = True
    caveat: str = ""

    def __post_init__(self) -> None:
        if not self.text.strip() or not self.section.strip():
            raise WorkbenchError("a finding needs a text and the section it comes from")

    def markdown(self) -> str:
        """The finding as a Markdown bullet (the notebook's own view of it)."""
        if not self.reliable:
            return f"- _Not reliable ({self.caveat}):_ {self.text}"
        return f"- {self.text}" + (f" **Action:** {self.action}" if self.action else "")


def show(findings: Iterable[Finding]) -> None:
    """Display findings in a notebook (Markdown) and for the report (:data:`FINDING_MIME`).

    Outside a Jupyter kernel the Markdown is printed.
    """
    items = list(findings)
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        for f in items:
            print(f.markdown())
        return
    from IPython.display import display

    for f in items:
        display({FINDING_MIME: asdict(f), "text/markdown": f.markdown()}, raw=True)


def read(nb: Mapping[str, Any]) -> list[Finding]:
    """The findings an executed notebook displayed, in order."""
    out = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            payload = output.get("data", {}).get(FINDING_MIME)
            if isinstance(payload, Mapping) and "text" in payload:
                fields = {k: payload[k] for k in Finding.__dataclass_fields__ if k in payload}
                out.append(Finding(**fields))
    return out


# ------------------------------------------------------------------------------------ formats


def count(x: float, unit: str = "", signed: bool = False) -> str:
    """``1,234 conversions``; ``+134`` with ``signed``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    text = f"{x:+,.0f}" if signed else f"{x:,.0f}"
    return f"{text} {unit}".strip()


def percent(x: float, digits: int = 0) -> str:
    """``24%`` from ``0.24``."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.{digits}f}%"


def money(x: float) -> str:
    """An amount in the shop's currency: ``1,234`` (no currency sign: exports do not say)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.2f}" if abs(x) < 10 else f"{x:,.0f}"


def interval(mean: float, low: float, high: float, prob: float, unit: str = "") -> str:
    """``+134 conversions (90% interval 102 to 167)``."""
    head = count(mean, unit, signed=True)
    return (
        f"{head} ({percent(prob)} interval {count(low, signed=True)} to {count(high, signed=True)})"
    )
