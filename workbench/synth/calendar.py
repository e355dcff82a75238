"""The campaign calendar of a world: broadcasts, flow messages, experiments (shared by chunks)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

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
    offset: int = 0  # seconds after the day's slot (email broadcasts at varied hours)


@dataclass(frozen=True)
class Calendar:
    """Everything shared by all chunks of a world.

    Attributes
    ----------
    t0 : int
        Start of the period (UTC seconds since the epoch, midnight of ``scenario.start``).
    slot0 : int
        Start of the first daily slot: ``t0 + send_hour_utc``. Day ``d`` is
        ``[slot0 + d*DAY, slot0 + (d+1)*DAY)``; broadcasts go out at the start of their slot,
        email broadcasts ``Campaign.offset`` seconds later (``calendar.send_hours_utc``).
    campaigns : tuple of Campaign
        Broadcasts in time order, then one campaign per flow message.
    experiments : tuple of ExperimentSpec
    experiment_day : tuple of int
        Day each experiment starts (its broadcast's day for tests).
    cadence : dict of int to ndarray
        For each ``cadence_test`` (by experiment index): a boolean array arms x days, True where
        the arm gets an email broadcast that day (outside the test window: the usual days).
    """

    t0: int
    slot0: int
    days: int
    campaigns: tuple[Campaign, ...]
    experiments: tuple[ExperimentSpec, ...]
    experiment_day: tuple[int, ...]
    cadence: dict[int, np.ndarray] = field(default_factory=dict)

    def flow_campaign(self, step: str) -> Campaign | None:
        """The campaign of a flow message (``welcome_1``...), if that flow is on."""
        for c in self.campaigns:
            if c.kind != "broadcast" and c.name == step:
                return c
        return None

    def slot(self, day: int | np.ndarray) -> int | np.ndarray:
        """Start of day ``day``'s slot (seconds)."""
        return self.slot0 + day * DAY


def cadence_weekdays(usual: tuple[int, ...], per_week: int | None) -> tuple[int, ...]:
    """Weekdays (0 = Monday) of a cadence arm sending ``per_week`` broadcasts a week.

    ``None`` (the ``control`` arm) keeps the ``usual`` days. Otherwise the usual days come first
    (in weekday order), then, one at a time, the weekday farthest (around the week) from the days
    already chosen, the earlier weekday on ties: with tue/thu broadcasts, 1 -> tue,
    4 -> mon/tue/thu/sat, 6 -> mon..sat.
    """
    chosen = sorted(usual)
    if per_week is None:
        return tuple(chosen)
    if per_week <= len(chosen):
        return tuple(chosen[:per_week])
    while len(chosen) < per_week:
        rest = [w for w in range(7) if w not in chosen]
        gap = [min((min((w - c) % 7, (c - w) % 7) for c in chosen), default=0) for w in rest]
        chosen.append(rest[int(np.argmax(gap))])
    return tuple(sorted(chosen))


def _check_cadence_overlaps(sc: Scenario, exp_day: list[int]) -> None:
    """A cadence test may not overlap a segmentation holdout or an email holdout (or another)."""
    exps = sc.experiments
    for i, e in enumerate(exps):
        if e.kind != "cadence_test":
            continue
        for j, o in enumerate(exps):
            clash = o.kind in ("segmentation_holdout", "cadence_test") or (
                o.kind == "channel_holdout" and o.channel == "email"
            )
            if j == i or not clash:
                continue
            if exp_day[i] < exp_day[j] + o.length_days and exp_day[j] < exp_day[i] + e.length_days:
                raise WorkbenchError(
                    f"experiments[{i}]: cadence test {e.name!r} overlaps {o.kind} {o.name!r}; "
                    "move its start_day or length_days"
                )


def span(e: ExperimentSpec) -> int:
    """Days an experiment governs sends: a flow holdout's entrants stay in their arm for
    ``conversion_window_days`` after its entry window."""
    return e.length_days + (e.conversion_window_days if e.kind == "flow_holdout" else 0)


def _check_holdout_overlaps(sc: Scenario, exp_day: list[int]) -> None:
    """Holdouts that may not run at once.

    Two holdouts of one channel (rotate them, or hold out another channel), or of one flow; an
    email holdout with a segmentation holdout (the segmented send's own content and lift would be
    missing from the email holdout's true effect) or with a flow holdout (the email holdout's
    exposed arm gets every flow email). A flow holdout's flow must be on the calendar.
    """
    exps = sc.experiments
    for i, e in enumerate(exps):
        if e.kind == "flow_holdout" and e.flow not in sc.calendar.flows:
            raise WorkbenchError(
                f"experiments[{i}].flow: {e.flow!r} is not among calendar.flows "
                f"({', '.join(sc.calendar.flows) or 'none'})"
            )
        for j in range(i + 1, len(exps)):
            o = exps[j]
            pair = {e.kind, o.kind}
            same = (e.kind == o.kind == "channel_holdout" and e.channel == o.channel) or (
                e.kind == o.kind == "flow_holdout" and e.flow == o.flow
            )
            email_seg = pair in (
                {"channel_holdout", "segmentation_holdout"},
                {"channel_holdout", "flow_holdout"},
            ) and "email" in (e.channel, o.channel)
            if not (same or email_seg):
                continue
            if exp_day[i] < exp_day[j] + span(o) and exp_day[j] < exp_day[i] + span(e):
                what = (
                    f"another {e.channel or e.flow} holdout" if same else f"the {e.kind} {e.name!r}"
                )
                raise WorkbenchError(
                    f"experiments[{j}]: {o.kind} {o.name!r} overlaps {what}; "
                    "move its start_day or length_days"
                )


def build_calendar(sc: Scenario) -> Calendar:
    """Lay out broadcasts by weekday, attach experiments, and add the flow campaigns."""
    cal = sc.calendar
    t0 = int(dt.datetime.combine(sc.start, dt.time(), tzinfo=dt.UTC).timestamp())
    slot0 = t0 + int(round(cal.send_hour_utc * 3600))
    rows = _usual_broadcasts(sc)
    exp_of_bcast, exp_day = _experiment_days(sc, [d for d, ch, _ in rows if ch == "email"])
    _check_cadence_overlaps(sc, exp_day)
    _check_holdout_overlaps(sc, exp_day)
    weekday = np.array([(sc.start + dt.timedelta(days=d)).weekday() for d in range(sc.days)])
    is_usual = np.isin(weekday, _usual_weekdays(sc))
    cadence, extra = _cadence_schedules(sc, exp_day, weekday, is_usual)
    rot = cal.content_rotation
    rows += [(d, "email", rot[d % len(rot)]) for d in extra]
    rows.sort(key=lambda r: (r[0], r[1] != "email"))  # stable: usual rows keep their order
    campaigns = _broadcast_campaigns(sc, rows, is_usual, exp_of_bcast, extra)
    hours = cal.send_hours_utc
    if hours:  # email broadcasts rotate through the send hours (within their day's slot)
        k = 0
        for j, c in enumerate(campaigns):
            if c.channel == "email":
                off = int(round(((hours[k % len(hours)] - cal.send_hour_utc) % 24) * 3600))
                campaigns[j] = dataclasses.replace(c, offset=min(off, DAY - 3600))
                k += 1
    for flow, step, kind, _ in FLOW_MESSAGES:
        if flow in cal.flows:
            cid = len(campaigns) + 1
            campaigns.append(Campaign(cid, step, kind, "email", 0, None, flow, None))
    return Calendar(t0, slot0, sc.days, tuple(campaigns), sc.experiments, tuple(exp_day), cadence)


def _usual_weekdays(sc: Scenario) -> tuple[int, ...]:
    return tuple(WEEKDAYS.index(w) for w in sc.calendar.email_weekdays)


def _usual_broadcasts(sc: Scenario) -> list[tuple[int, str, str]]:
    """``(day, channel, content)`` of every broadcast on the calendar's weekdays, in day order.

    Email rotates through the content in send order, the other channels by day.
    """
    cal = sc.calendar
    by_channel = {
        "email": cal.email_weekdays,
        "sms": cal.sms_weekdays,
        "push": cal.push_weekdays,
        "in_app": cal.in_app_weekdays,
    }
    rows: list[tuple[int, str, str]] = []
    n_email = 0
    for d in range(sc.days):
        wd = WEEKDAYS[(sc.start + dt.timedelta(days=d)).weekday()]
        for ch, days in by_channel.items():
            if wd in days:
                rot = cal.content_rotation
                content = rot[n_email % len(rot)] if ch == "email" else rot[d % len(rot)]
                n_email += ch == "email"
                rows.append((d, ch, content))
    return rows


def _experiment_days(sc: Scenario, email_days: list[int]) -> tuple[dict[int, int], list[int]]:
    """Which email broadcast carries each test (broadcast -> experiment) and each start day.

    Raises
    ------
    WorkbenchError
        A broadcast index beyond the calendar or already taken, or a start after the period.
    """
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
    return exp_of_bcast, exp_day


def _cadence_schedules(
    sc: Scenario, exp_day: list[int], weekday: np.ndarray, is_usual: np.ndarray
) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """Each cadence test's broadcast days per arm (arms x days) and its extra broadcast days.

    Extra broadcasts fall on days without a usual one; the second mapping gives, per such day,
    the experiment index that carries it.
    """
    usual = _usual_weekdays(sc)
    cadence: dict[int, np.ndarray] = {}
    extra: dict[int, int] = {}
    for i, e in enumerate(sc.experiments):
        if e.kind != "cadence_test":
            continue
        window = np.zeros(sc.days, bool)
        window[exp_day[i] : exp_day[i] + e.length_days] = True
        sched = np.tile(is_usual, (len(e.arms), 1))
        for a, arm in enumerate(e.arms):
            days = cadence_weekdays(usual, e.per_week(arm))
            sched[a, window] = np.isin(weekday[window], days)
        cadence[i] = sched
        for d in np.flatnonzero(sched.any(0) & window & ~is_usual):
            extra[int(d)] = i
    return cadence, extra


def _broadcast_campaigns(
    sc: Scenario,
    rows: list[tuple[int, str, str]],
    is_usual: np.ndarray,
    exp_of_bcast: dict[int, int],
    extra: dict[int, int],
) -> list[Campaign]:
    """One campaign per broadcast row (ids from 1), with the experiment each one carries."""
    campaigns: list[Campaign] = []
    k_email = 0
    for d, ch, content in rows:
        exp = None
        suffix = ""
        if ch == "email" and is_usual[d]:
            exp = exp_of_bcast.get(k_email)
            k_email += 1
        elif ch == "email":
            exp, suffix = extra[d], " (cadence test)"
        date = (sc.start + dt.timedelta(days=d)).isoformat()
        cid = len(campaigns) + 1
        campaigns.append(
            Campaign(cid, f"{date} {ch} {content}{suffix}", "broadcast", ch, d, content, None, exp)
        )
    return campaigns
