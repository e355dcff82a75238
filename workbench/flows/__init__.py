"""Flow analytics: what each automated flow's recipients do, and what the flow causes.

The package reads in the shape every capability has. **Inputs**: a world, generated or imported
(a loaded :class:`~workbench.schema.World` or its folder, read through :mod:`workbench.db`);
:func:`flow_steps` (module ``funnel``) recognises which email campaigns are steps of which flow
(the campaigns' ``flow`` column, a Klaviyo-style name ``"flow X: subject"``, or a triggered or
lifecycle campaign) and orders the steps. **Results**: :func:`flow_funnel`, one row per flow and
step (and segment) counting messages entered, delivered, opened by a person, clicked, converted
(an order within a window after delivery) and unsubscribed; :func:`time_to_conversion`, per
flow, the share of entries followed by an order within 1 to 30 days and the median wait
(Kaplan–Meier, censored at the data's end); :func:`flow_incrementality` (module ``holdout``),
per flow holdout, the flow's effect on its entrants' conversion and revenue, regression-adjusted
with the channel holdouts' machinery (:mod:`workbench.attribution.incrementality`), with power
and the detectable effect. Evaluation code scores those estimates against a synthetic world's
truth with :func:`workbench.flows.scorecard.score_flow_holdouts` (not imported here).
**Plots**: module ``plots`` (imported on first use). **Findings**: :func:`flow_findings`
(module ``summary``).
"""

from __future__ import annotations

import importlib
from typing import Any

from workbench.flows.funnel import flow_funnel, flow_steps, time_to_conversion
from workbench.flows.holdout import flow_incrementality
from workbench.flows.summary import flow_findings

__all__ = [
    "flow_findings",
    "flow_funnel",
    "flow_incrementality",
    "flow_steps",
    "plot_flow_funnel",
    "plot_flow_incrementality",
    "plot_time_to_conversion",
    "time_to_conversion",
]

_PLOTS = ("plot_flow_funnel", "plot_flow_incrementality", "plot_time_to_conversion")


def __getattr__(name: str) -> Any:
    if name in _PLOTS:  # matplotlib only when a figure is drawn
        return getattr(importlib.import_module("workbench.flows.plots"), name)
    raise AttributeError(f"module 'workbench.flows' has no attribute {name!r}")
