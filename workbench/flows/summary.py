"""The flow analytics' findings for the report's summary (:class:`workbench.findings.Finding`).

:func:`flow_findings` says, in plain sentences, what each flow's recipients do (from the funnel)
and what each flow holdout measured: how many more entrants order because of the flow, with the
interval, and what to do about it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.findings import Finding, count, percent
from workbench.flows.funnel import _require_columns

__all__ = ["FUNNEL_SECTION", "HOLDOUT_SECTION", "flow_findings"]

#: The notebook section that shows the funnels.
FUNNEL_SECTION = "Flow funnels"
#: The notebook section that shows the flow holdouts.
HOLDOUT_SECTION = "What each flow adds"
#: An arm smaller than this makes a holdout's finding unreliable.
MIN_ARM = 100


def _words(name: object) -> str:
    return str(name).replace("_", " ")


def _points(x: float) -> str:
    """``+2.1 points`` from ``0.021``."""
    return "n/a" if not np.isfinite(x) else f"{100 * x:+.1f} points"


def _funnel_finding(name: str, f: pd.DataFrame) -> Finding | None:
    cols = ["entered", "subscribers", "delivered", "opened", "converted", "unsubscribed"]
    t = f.groupby(["step_order", "step"], sort=True)[cols].sum(min_count=1).reset_index()
    d = t["delivered"].to_numpy(float)
    if not (d > 0).any():
        return None
    safe = np.where(d > 0, d, np.nan)
    conv = t["converted"].to_numpy(float) / safe
    opens = t["opened"].to_numpy(float) / safe
    unsub = t["unsubscribed"].to_numpy(float) / safe
    window = float(f["window_days"].iloc[0]) if "window_days" in f.columns else None
    within = f" within {window:g} days" if window else ""
    if len(t) == 1:
        step = _words(t["step"].iloc[0])
        text = (
            f"The {step} email ({_words(name)} flow) went to "
            f"{count(t['subscribers'].iloc[0])} subscribers ({count(d[0])} deliveries): "
            + (
                f"{percent(conv[0], 1)} of deliveries were followed by an order{within}, "
                if np.isfinite(conv[0])
                else ""
            )
            + f"{percent(opens[0])} were opened and {percent(unsub[0], 1)} led to an unsubscribe."
        )
    else:
        first, last = 0, len(t) - 1
        conv_text = (
            f"step 1 converts {percent(conv[first], 1)} of recipients{within} and step "
            f"{int(t['step_order'].iloc[last])} {percent(conv[last], 1)}; "
            if np.isfinite(conv[[first, last]]).all()
            else ""
        )
        text = (
            f"In the {_words(name)} flow ({len(t)} emails, the first delivered "
            f"{count(d[first])} times), {conv_text}opens go from {percent(opens[first])} to "
            f"{percent(opens[last])} and unsubscribes from {percent(unsub[first], 1)} to "
            f"{percent(unsub[last], 1)}."
        )
    return Finding(text, section=FUNNEL_SECTION)


def _holdout_finding(r: pd.Series, interval: float) -> Finding:
    seg = r.get("segment")
    who = "" if seg is None or pd.isna(seg) else f" (segment {seg})"
    flow = _words(r["flow"])
    days = r.get("days")
    within = f" within {int(days)} days of entering" if days is not None and pd.notna(days) else ""
    b, lo, hi = float(r["incremental_rate"]), r["incremental_rate_low"], r["incremental_rate_high"]
    text = (
        f"Held out of the {flow} flow{who}, {percent(r['rate_holdout'], 1)} of entrants ordered"
        f"{within}, against {percent(r['rate_exposed'], 1)} of those who got it: "
        f"{'the flow adds' if b >= 0 else 'a difference of'} {_points(b)} ({percent(interval)} "
        f"interval {_points(lo).removesuffix(' points')} to {_points(hi)}), about "
        f"{count(r['incremental_conversions'], 'orders', signed=True)} among "
        f"{count(r['n_exposed'])} exposed entrants."
    )
    if lo > 0:
        action = f"Keep the {flow} flow on: it brings orders that would not happen without it."
        priority = 2
    elif hi < 0:
        action = (
            f"Review the {flow} flow's content and timing: entrants who do not get it order more."
        )
        priority = 1
    else:
        mde = r.get("mde_rate", np.nan)
        size = (
            f" (it detects only effects of {_points(float(mde)).lstrip('+')} or more)"
            if mde is not None and np.isfinite(mde)
            else ""
        )
        text += " The test cannot tell the flow's effect from zero" + size + "."
        action = (
            f"Run the {flow} holdout longer or hold out a larger share before changing the flow."
        )
        priority = 3
    small = min(int(r["n_exposed"]), int(r["n_holdout"])) < MIN_ARM
    return Finding(
        text,
        section=HOLDOUT_SECTION,
        action=action,
        priority=priority,
        reliable=not small,
        caveat=f"fewer than {MIN_ARM} entrants in an arm" if small else "",
    )


def flow_findings(
    funnel: pd.DataFrame | None, incrementality: pd.DataFrame | None = None
) -> list[Finding]:
    """What the flows' recipients do and what each flow causes, as plain findings.

    Parameters
    ----------
    funnel : DataFrame or None
        :func:`workbench.flows.funnel.flow_funnel` (segments are added up): one finding per
        flow, its conversion, opens and unsubscribes by step.
    incrementality : DataFrame, optional
        :func:`workbench.flows.holdout.flow_incrementality`: one finding per row (flow, or flow
        and segment), with the action it calls for. Without any flow holdout, one finding says
        the funnel's conversions are not the flows' effect.

    Returns
    -------
    list of Finding
        Funnel findings first (flows by messages sent), then the holdouts'. A holdout with fewer
        than ``MIN_ARM`` entrants in an arm is marked not reliable.

    Raises
    ------
    DataError
        When a table lacks a column the sentences need.
    """
    out: list[Finding] = []
    if funnel is not None and len(funnel):
        need = ["flow", "step", "step_order", "entered", "subscribers", "delivered", "opened",
                "converted", "unsubscribed"]  # fmt: skip
        _require_columns(funnel, need, "flow funnel")
        order = funnel.groupby("flow")["entered"].sum().sort_values(ascending=False).index
        for name in order:
            found = _funnel_finding(str(name), funnel[funnel["flow"] == name])
            if found is not None:
                out.append(found)
    if incrementality is not None and len(incrementality):
        need = ["flow", "n_exposed", "n_holdout", "rate_exposed", "rate_holdout",
                "incremental_rate", "incremental_rate_low", "incremental_rate_high",
                "incremental_conversions"]  # fmt: skip
        _require_columns(incrementality, need, "flow incrementality")
        interval = float(incrementality.attrs.get("interval", 0.9))
        for _, r in incrementality.iterrows():
            out.append(_holdout_finding(r, interval))
    elif funnel is not None and len(funnel):
        out.append(
            Finding(
                "No flow holdout in the data: the funnel's orders follow the flows' emails but "
                "would partly have happened anyway.",
                section=HOLDOUT_SECTION,
                action="Hold out a share of each flow's entrants for a few weeks to measure "
                "what the flow adds.",
                priority=3,
            )
        )
    return out
