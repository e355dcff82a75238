"""The campaign calendar of a world: broadcasts, flow messages, experiments (shared by chunks)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from workbench.errors import WorkbenchError
from workbench.synth.scenario import WEEKDAYS, ExperimentSpec, Scenario

DAY = 86_400
#: Flow messages: (flow, step name, kind, days after the trigger).
FLOW_MESSAGES: tuple[tuple[str, str, str, int], ...] = (
    ("welcome", "welcome_1", "lifecycle", 0),
    ("welcome", "welcome_2", "lifecycle", 2),
    ("welcome", "welcome_3", "lifecycle", 5),
    ("cart_abandonment", "cart_reminder", "triggered", 0),
    ("reactivation", "we_miss_you", "lifecycle", 0),
)


@dataclass(frozen=True)
class Campaign:
    """One campaign row plus what the simulator needs (its day and experiment index)."""

    campaign_id: int
    name: str
    kind: str
    channel: str
    day: int
    content_category: str | None
    flow: str | None
    experiment: int | None  # index into Calendar.experiments


@dataclass(frozen=True)
class Calendar:
    """Everything shared by all chunks of a world.

    Attributes
    ----------
    t0 : int
        Start of the period (UTC seconds since the epoch, midnight of ``scenario.start``).
    slot0 : int
        Start of the first daily slot: ``t0 + send_hour_utc``. Day ``d`` is
        ``[slot0 + d*DAY, slot0 + (d+1)*DAY)``; broadcasts go out at the start of their slot.
    campaigns : tuple of Campaign
        Broadcasts in time order, then one campaign per flow message.
    experiments : tuple of ExperimentSpec
    experiment_day : tuple of int
        Day each experiment starts (its broadcast's day for tests).
    """

    t0: int
    slot0: int
    days: int
    campaigns: tuple[Campaign, ...]
    experiments: tuple[ExperimentSpec, ...]
    experiment_day: tuple[int, ...]

    def flow_campaign(self, step: str) -> Campaign | None:
        """The campaign of a flow message (``welcome_1``...), if that flow is on."""
        for c in self.campaigns:
            if c.kind != "broadcast" and c.name == step:
                return c
        return None

    def slot(self, day: int | np.ndarray) -> int | np.ndarray:
        """Start of day ``day``'s slot (seconds)."""
        return self.slot0 + day * DAY


def build_calendar(sc: Scenario) -> Calendar:
    """Lay out broadcasts by weekday, attach experiments, and add the flow campaigns."""
    cal = sc.calendar
    t0 = int(dt.datetime.combine(sc.start, dt.time(), tzinfo=dt.UTC).timestamp())
    slot0 = t0 + int(round(cal.send_hour_utc * 3600))
    by_channel = {
        "email": cal.email_weekdays,
        "sms": cal.sms_weekdays,
        "push": cal.push_weekdays,
        "in_app": cal.in_app_weekdays,
    }
    rows: list[tuple[int, str, str]] = []  # (day, channel, content)
    n_email = 0
    for d in range(sc.days):
        wd = WEEKDAYS[(sc.start + dt.timedelta(days=d)).weekday()]
        for ch, days in by_channel.items():
            if wd in days:
                rot = cal.content_rotation
                content = rot[n_email % len(rot)] if ch == "email" else rot[d % len(rot)]
                n_email += ch == "email"
                rows.append((d, ch, content))
    email_days = [d for d, ch, _ in rows if ch == "email"]
    exp_of_bcast: dict[int, int] = {}
    exp_day: list[int] = []
    for i, e in enumerate(sc.experiments):
        if e.kind in ("ab_test", "factorial"):
            b = int(e.broadcast or 0)
            if b >= len(email_days):
                raise WorkbenchError(
                    f"experiments[{i}].broadcast: {b} out of range; the calendar "
                    f"has {len(email_days)} email broadcasts"
                )
            if b in exp_of_bcast:
                raise WorkbenchError(
                    f"experiments[{i}].broadcast: broadcast {b} already carries "
                    f"experiment {sc.experiments[exp_of_bcast[b]].name!r}"
                )
            exp_of_bcast[b] = i
            exp_day.append(email_days[b])
        else:
            if e.start_day >= sc.days:
                raise WorkbenchError(
                    f"experiments[{i}].start_day: {e.start_day} is after the "
                    f"period ({sc.days} days)"
                )
            exp_day.append(e.start_day)
    campaigns: list[Campaign] = []
    k_email = 0
    for d, ch, content in rows:
        exp = None
        if ch == "email":
            exp = exp_of_bcast.get(k_email)
            k_email += 1
        date = (sc.start + dt.timedelta(days=d)).isoformat()
        cid = len(campaigns) + 1
        campaigns.append(
            Campaign(cid, f"{date} {ch} {content}", "broadcast", ch, d, content, None, exp)
        )
    for flow, step, kind, _ in FLOW_MESSAGES:
        if flow in cal.flows:
            cid = len(campaigns) + 1
            campaigns.append(Campaign(cid, step, kind, "email", 0, None, flow, None))
    return Calendar(t0, slot0, sc.days, tuple(campaigns), sc.experiments, tuple(exp_day))
