"""Send-time optimisation: the best local send hour of each subscriber.

:func:`~.data.open_hours` turns a world's email events into one row per delivered email (local
delivery hour, first human open; machine opens left out). :class:`SendTimeModel`
(:mod:`~.model`) places each subscriber's preferred hour from when they opened their emails
*given when the emails arrived* -- most opens follow delivery, so the hour of an open alone says
more about the send than about the reader -- and pools the evidence with the subscriber's
segment by empirical Bayes; it also gives the simpler answers (one hour for everyone, one per
segment, the subscriber's evidence alone, the circular mean of their open hours) for
comparison. :mod:`~.summary` turns a fit into send windows per segment and findings;
:mod:`~.plots` draws the errors and a subscriber's or a segment's evidence over the day;
:mod:`~.scorecard` scores recommendations against a synthetic world's true preferred hours
(evaluation only).

:class:`SendTimeModel` and the model's names are imported on first use, so that reading the
data does not pay for importing scikit-learn.
"""

from __future__ import annotations

from typing import Any

from workbench.timing.data import OPEN_HOURS_COLUMNS, open_hours

__all__ = [
    "EVIDENCE",
    "METHODS",
    "OPEN_HOURS_COLUMNS",
    "TARGETS",
    "SendTimeModel",
    "circular_distance",
    "open_hours",
    "recommend_all",
    "send_windows",
    "timing_findings",
]

_LAZY = {
    "EVIDENCE": "model",
    "METHODS": "model",
    "TARGETS": "model",
    "SendTimeModel": "model",
    "circular_distance": "model",
    "recommend_all": "model",
    "send_windows": "summary",
    "timing_findings": "summary",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"workbench.timing.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'workbench.timing' has no attribute {name!r}")
