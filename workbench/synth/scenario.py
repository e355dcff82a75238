"""Scenarios: what world to simulate, read from TOML into typed dataclasses.

A scenario file has five parts (every key optional except ``scenario.name``)::

    [scenario]
    name = "my-shop"
    description = "..."
    subscribers = 20000          # size of the base
    start = 2025-01-06           # first simulated day (UTC)
    days = 84                    # length of the period
    chunk_size = 50000           # subscribers simulated together (memory stays flat)
    holdout_days = 91            # truth only: orders simulated after the period (default 91)

    [scenario.personas]          # persona mix: shares of the base (normalised)
    loyal_buyer = 0.2
    lapsing = 0.1

    [personas.loyal_buyer]       # persona parameter overrides (see workbench.synth.personas)
    purchase_rate = 0.04
    consent = { sms = 0.7 }

    [calendar]                   # campaign calendar
    send_hour_utc = 14
    email_weekdays = ["tue", "thu"]
    sms_weekdays = ["sat"]
    push_weekdays = ["fri"]
    in_app_weekdays = ["mon"]
    content_rotation = ["new_arrivals", "deals", "sustainability"]
    flows = ["welcome", "cart_abandonment", "reactivation"]
    send_hours_utc = [14, 17, 20]  # email broadcasts rotate through these hours (default: all
                                 # at send_hour_utc); each stays within its day's slot

    [inbox]                      # when subscribers open (see InboxSpec)
    open_timing = "after_delivery"  # or "next_preferred_hour" (the default)
    attention_hours = 3.0        # how fast an unopened email sinks in the inbox
    hour_effect = 0.3            # how much landing near the preferred hour raises opens

    [[experiments]]              # tests carried by the calendar
    name = "subject lines"
    kind = "ab_test"             # ab_test | factorial | segmentation_holdout | channel_holdout
                                 # | cadence_test | flow_holdout
    arms = ["control", "urgency", "proof"]
    broadcast = 2                # index of the email broadcast that carries it
    conversion_window_days = 7

Arm names of ``ab_test`` experiments are *angles*: a persona's ``arm_response[angle]`` is its true
relative lift (``control`` and unknown angles are neutral). A ``factorial`` experiment lists
``factors = {subject = ["plain", "urgency"], image = [...], cta = [...]}``; its arms are every
combination, named ``subject=plain;image=product;cta=shop`` (``;``-separated ``factor=level``,
because ``|`` separates arms in ``experiments.arms``), and the lift of an arm is the sum of its
levels' lifts. ``lifts = {persona = {arm = lift}}`` overrides true lifts explicitly.
``segmentation_holdout`` (arms ``mass``, ``segmented``, ``holdout``) and ``channel_holdout``
(arms ``exposed``, ``holdout``; key ``channel``) run from ``start_day`` for ``length_days`` with arm
``shares``.
``flow_holdout`` (arms ``exposed``, ``holdout``; key ``flow``, one of ``calendar.flows``) splits the
subscribers who enter the flow during its entry window (``start_day`` for ``length_days``): each
is assigned when the flow first triggers for them (an ``assignments`` row at that time), and
the held-out entrants get none of the flow's emails until ``conversion_window_days`` after the
entry window; the truth is each entrant's chance of an order within ``conversion_window_days``
of entering, under each arm. A flow holdout may not overlap an email ``channel_holdout`` nor
another holdout of its flow.
``cadence_test`` runs from ``start_day`` for ``length_days`` on a random ``base_share`` of the
subscribers who joined before it, split over its arms by ``shares``; each arm is ``control`` (the
usual calendar) or ``N_per_week`` (``N`` = 0..7 email broadcasts a week: the calendar's usual
email days first, then the weekdays farthest from the days already chosen, e.g. with tue/thu
broadcasts ``1_per_week`` = tue, ``4_per_week`` = mon/tue/thu/sat, ``6_per_week`` = mon to sat).
Its first arm is the control. Arms with extra days get extra broadcast campaigns that carry the
experiment; arms with fewer days skip the usual broadcasts on the other days. A cadence test may
not overlap a ``segmentation_holdout`` or an email ``channel_holdout``.

``holdout_days`` is the length of a *holdout* after the observed period: the simulator draws
each subscriber's orders over it with the business-as-usual hazard, for the truth only
(``truth_subscribers.holdout_orders``, to score customer-value predictions). It is recorded in
``truth_scenario.json``, never in ``world.json``.

Any mistake raises :class:`~workbench.errors.WorkbenchError` naming the dotted key and what is
allowed, e.g. ``scenario.personas.foo: unknown persona 'foo'; allowed: new_onboarding, ...``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.synth._checks import check_keys as _check_keys
from workbench.synth._checks import choices as _choices
from workbench.synth._checks import fail as _fail
from workbench.synth._checks import num as _num
from workbench.synth._checks import weights as _weights
from workbench.synth.personas import CONTENT_CATEGORIES, PERSONAS, Persona, persona_overrides

#: Built-in scenario names (TOML files shipped in ``workbench/scenarios``).
SCENARIOS: tuple[str, ...] = ("tiny", "default", "large")
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FLOWS: tuple[str, ...] = ("welcome", "cart_abandonment", "reactivation")
EXPERIMENT_KINDS: tuple[str, ...] = (
    "ab_test",
    "factorial",
    "segmentation_holdout",
    "channel_holdout",
    "cadence_test",
    "flow_holdout",
)
HOLDOUT_CHANNELS: tuple[str, ...] = ("email", "sms", "push", "in_app", "paid_retargeting")
#: How the time of a human open is drawn (``[inbox] open_timing``).
OPEN_TIMINGS: tuple[str, ...] = ("next_preferred_hour", "after_delivery")


@dataclass(frozen=True)
class CalendarSpec:
    """The campaign calendar: weekly broadcast days per channel, send hour, content, flows."""

    send_hour_utc: float = 14.0
    email_weekdays: tuple[str, ...] = ("tue", "thu")
    sms_weekdays: tuple[str, ...] = ("sat",)
    push_weekdays: tuple[str, ...] = ("fri",)
    in_app_weekdays: tuple[str, ...] = ("mon",)
    content_rotation: tuple[str, ...] = CONTENT_CATEGORIES
    flows: tuple[str, ...] = FLOWS
    send_hours_utc: tuple[float, ...] = ()


@dataclass(frozen=True)
class InboxSpec:
    """How subscribers meet an email in their inbox: when they open it (``[inbox]``).

    ``next_preferred_hour`` (the default, and every world before generator 1.7): a human open
    waits for the subscriber's next preferred local hour (one in five comes within the hour).
    ``after_delivery``: opens follow delivery, as in real inboxes. The subscriber's attention to
    an email delivered ``s`` hours ago at local hour ``h`` is
    ``exp(-s / attention_hours) * (floor + (1 - floor) * exp(sharpness * (cos(2 pi (h + s - p)
    / 24) - 1)))`` with ``p`` the preferred hour of the day type (weekday or weekend); the open
    time follows that intensity, and the chance to open at all is multiplied by
    ``1 - hour_effect + hour_effect * A / mean(A)``, ``A`` the email's total attention
    (:func:`workbench.synth.simulate.hour_fit`): an email that lands at the preferred hour is
    opened more often and sooner.
    """

    open_timing: str = "next_preferred_hour"
    attention_hours: float = 3.0
    floor: float = 0.15
    sharpness: float = 2.5
    hour_effect: float = 0.3


@dataclass(frozen=True)
class ExperimentSpec:
    """One experiment of a scenario (see the module docstring for the kinds)."""

    name: str
    kind: str
    arms: tuple[str, ...]
    broadcast: int | None = None
    start_day: int = 0
    length_days: int = 28
    shares: tuple[float, ...] = ()
    channel: str | None = None
    flow: str | None = None
    conversion_window_days: int = 7
    factors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    lifts: dict[str, dict[str, float]] = field(default_factory=dict)
    description: str = ""
    base_share: float = 1.0

    @property
    def control_arm(self) -> str:
        """The control arm (the holdout for holdout designs)."""
        return "holdout" if self.kind.endswith("holdout") else self.arms[0]

    def lift(self, persona: Persona, arm: str) -> float:
        """True relative lift of ``arm`` for ``persona`` (0 for the control)."""
        if persona.name in self.lifts and arm in self.lifts[persona.name]:
            return self.lifts[persona.name][arm]
        if self.kind == "factorial":
            levels = [kv.split("=", 1)[1] for kv in arm.split(";")]
            return max(-1.0, sum(persona.arm_response.get(lv, 0.0) for lv in levels))
        return persona.arm_response.get(arm, 0.0)

    def per_week(self, arm: str) -> int | None:
        """Email broadcasts a week of a ``cadence_test`` arm (``None`` for ``control``)."""
        return None if arm == "control" else int(arm.split("_", 1)[0])


@dataclass(frozen=True)
class Scenario:
    """A fully resolved scenario: sizes, period, personas (with shares), calendar, experiments."""

    name: str
    description: str = ""
    n_subscribers: int = 2000
    start: dt.date = dt.date(2025, 1, 6)
    days: int = 70
    chunk_size: int = 50_000
    holdout_days: int = 91
    shares: dict[str, float] = field(default_factory=lambda: {p: 1.0 for p in PERSONAS})
    personas: dict[str, Persona] = field(default_factory=lambda: dict(PERSONAS))
    calendar: CalendarSpec = field(default_factory=CalendarSpec)
    experiments: tuple[ExperimentSpec, ...] = ()
    inbox: InboxSpec = field(default_factory=InboxSpec)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as JSON-ready data.

        Recorded in ``truth_scenario.json`` (with ``holdout_days`` moved to the file's top
        level); ``world.json`` gets it without the truth (:func:`workbench.truth.public_scenario`)
        and without ``holdout_days``.

        Returns
        -------
        dict
            Every field; ``start`` as an ISO date, only the personas that have a share.
        """
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["personas"] = {k: asdict(v) for k, v in self.personas.items() if k in self.shares}
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], holdout_days: int | None = None) -> Scenario:
        """The scenario back from :meth:`to_dict` (e.g. ``truth_scenario.json``'s ``scenario``).

        Parameters
        ----------
        data : mapping
            What :meth:`to_dict` returned, possibly through JSON (lists for tuples).
        holdout_days : int, optional
            ``truth_scenario.json`` keeps it at its top level; default the field's default.

        Returns
        -------
        Scenario
            Equal to the scenario that was recorded: ``Scenario.from_dict(sc.to_dict(),
            sc.holdout_days) == sc``.
        """
        kw = _plain_fields(cls, data)
        kw["start"] = dt.date.fromisoformat(str(data["start"]))
        kw["personas"] = {
            k: Persona(**_plain_fields(Persona, v)) for k, v in data["personas"].items()
        }
        kw["calendar"] = CalendarSpec(**_plain_fields(CalendarSpec, data["calendar"]))
        kw["inbox"] = InboxSpec(**_plain_fields(InboxSpec, data.get("inbox", {})))
        kw["experiments"] = tuple(
            ExperimentSpec(**_plain_fields(ExperimentSpec, e)) for e in data["experiments"]
        )
        if holdout_days is not None:
            kw["holdout_days"] = int(holdout_days)
        return cls(**kw)


def _plain_fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of dataclass ``cls`` in ``data``, JSON lists turned back into tuples."""
    out: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        v = data[f.name]
        kind = str(f.type)
        if kind.startswith("tuple") and isinstance(v, list):
            v = tuple(v)
        elif kind.startswith("dict[str, tuple") and isinstance(v, Mapping):
            v = {k: tuple(x) for k, x in v.items()}
        elif kind.startswith("dict") and isinstance(v, Mapping):
            v = dict(v)
        out[f.name] = v
    return out


# ------------------------------------------------------------------------------------ parsing


_MISSING: Any = object()  # a key absent from the table


def _name(v: Any, path: str, kw: dict[str, Any]) -> str:
    if not isinstance(v, str) or not v:
        raise _fail(path, "expected a non-empty string")
    return v


def _kind(v: Any, path: str, kw: dict[str, Any]) -> str:
    if v is _MISSING:
        raise _fail(path, f"missing; allowed: {', '.join(EXPERIMENT_KINDS)}")
    return _choices(v, path, EXPERIMENT_KINDS, many=False)


def _factors(v: Any, path: str, kw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    if v is _MISSING:
        raise _fail(path, "missing: a table factor = [levels]")
    table = _check_keys(v, path, tuple(v) if isinstance(v, dict) else ())
    out = {}
    for f, levels in table.items():
        if (
            not isinstance(levels, list)
            or len(levels) < 2
            or not all(isinstance(x, str) and x and not set(x) & set("|;=") for x in levels)
        ):
            raise _fail(
                f"{path}.{f}", "expected a list of >= 2 level names (without '|', ';' or '=')"
            )
        out[f] = tuple(levels)
    return out


def _factorial_arms(factors: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Every combination of levels, named ``f1=level;f2=level``."""
    return tuple(
        ";".join(f"{f}={lv}" for f, lv in zip(factors, combo, strict=True))
        for combo in itertools.product(*factors.values())
    )


def _free_arms(v: Any, valid: Callable[[Any], bool], msg: str, path: str) -> tuple[str, ...]:
    if not isinstance(v, list) or len(v) < 2 or len(set(v)) != len(v) or not all(map(valid, v)):
        raise _fail(path, msg)
    return tuple(v)


_CADENCE_ARMS = frozenset({"control", *(f"{k}_per_week" for k in range(8))})
#: Per kind: the fixed arms, or how user-given arms are checked (``None`` = derived).
_ARMS: dict[str, tuple[str, ...] | Callable[[Any, str], tuple[str, ...]] | None] = {
    "ab_test": lambda v, p: _free_arms(
        v,
        lambda a: isinstance(a, str) and bool(a) and "|" not in a,
        "expected a list of >= 2 distinct arm names (no '|'); the first is the control",
        p,
    ),
    "factorial": None,
    "segmentation_holdout": ("mass", "segmented", "holdout"),
    "channel_holdout": ("exposed", "holdout"),
    "flow_holdout": ("exposed", "holdout"),
    "cadence_test": lambda v, p: _free_arms(
        v,
        lambda a: a in _CADENCE_ARMS,
        "expected a list of >= 2 distinct arms, each 'control' or 'N_per_week' with N in 0..7; "
        "the first is the control",
        p,
    ),
}


def _arms(v: Any, path: str, kw: dict[str, Any]) -> tuple[str, ...]:
    rule = _ARMS[kw["kind"]]
    if rule is None:
        if v is not _MISSING:
            raise _fail(path, "factorial arms are derived from factors; remove 'arms'")
        return _factorial_arms(kw["factors"])
    if callable(rule):
        return rule(None if v is _MISSING else v, path)
    if v is not _MISSING and tuple(v) != rule:
        raise _fail(path, f"{kw['kind']} arms are {', '.join(rule)}")
    return rule


def _int(lo: int) -> Callable[[Any, str, dict[str, Any]], int]:
    return lambda v, path, kw: int(_num(v, path, lo=lo, integer=True))


def _channel(v: Any, path: str, kw: dict[str, Any]) -> str:
    return _choices(None if v is _MISSING else v, path, HOLDOUT_CHANNELS, many=False)


_DEFAULT_SHARES = {
    "segmentation_holdout": (0.45, 0.45, 0.10),
    "channel_holdout": (0.85, 0.15),
    "flow_holdout": (0.8, 0.2),
}


def _flow(v: Any, path: str, kw: dict[str, Any]) -> str:
    return _choices(None if v is _MISSING else v, path, FLOWS, many=False)


def _shares(v: Any, path: str, kw: dict[str, Any]) -> tuple[float, ...]:
    arms = kw["arms"]
    if v is _MISSING:
        return _DEFAULT_SHARES.get(kw["kind"], tuple([1.0 / len(arms)] * len(arms)))
    if not isinstance(v, list) or len(v) != len(arms):
        raise _fail(path, f"expected {len(arms)} shares for arms {', '.join(arms)}")
    shares = tuple(float(_num(x, f"{path}[{j}]", 0, 1)) for j, x in enumerate(v))
    if abs(sum(shares) - 1) > 1e-6:
        raise _fail(path, "shares must sum to 1")
    return shares


def _lifts(v: Any, path: str, kw: dict[str, Any]) -> dict[str, dict[str, float]]:
    table = _check_keys(v, path, tuple(PERSONAS))
    lifts = {}
    for p, arm_tab in table.items():
        at = _check_keys(arm_tab, f"{path}.{p}", kw["arms"])
        lifts[p] = {a: float(_num(x, f"{path}.{p}.{a}", lo=-1)) for a, x in at.items()}
    return lifts


def _base_share(v: Any, path: str, kw: dict[str, Any]) -> float:
    share = float(_num(v, path, 0, 1))
    if share <= 0:
        raise _fail(path, "must be > 0")
    return share


@dataclass(frozen=True)
class _Key:
    """One key of an ``[[experiments]]`` table.

    ``check(value, path, kw)`` returns the value for :class:`ExperimentSpec` given what is parsed
    so far (``kw``); with ``when_missing`` it is also called for an absent key (value
    ``_MISSING``), otherwise an absent key keeps the :class:`ExperimentSpec` default. ``kinds``
    are the experiment kinds that take the key; other kinds ignore it, or reject it if
    ``reject_elsewhere``.
    """

    name: str
    doc: str
    check: Callable[[Any, str, dict[str, Any]], Any]
    when_missing: bool = False
    kinds: tuple[str, ...] = EXPERIMENT_KINDS
    reject_elsewhere: bool = False


#: The keys of an ``[[experiments]]`` table, in the order they are checked.
EXPERIMENT_KEYS: tuple[_Key, ...] = (
    _Key("kind", "design: one of EXPERIMENT_KINDS (required)", _kind, when_missing=True),
    _Key("name", "unique name (default 'KIND I')", _name),
    _Key("factors", "factorial: table factor = [levels]", _factors, True, ("factorial",)),
    _Key("arms", "arm names, the first the control (fixed or derived for some kinds)", _arms, True),
    _Key("channel", "channel_holdout: the channel held out", _channel, True, ("channel_holdout",)),
    _Key("flow", "flow_holdout: the flow held out", _flow, True, ("flow_holdout",)),
    _Key(
        "broadcast",
        "index of the email broadcast carrying the test",
        _int(0),
        False,
        ("ab_test", "factorial"),
    ),
    _Key("start_day", "first day of a holdout or cadence test", _int(0)),
    _Key(
        "length_days",
        "length of a holdout or cadence test (of a flow holdout: its entry window)",
        _int(1),
    ),
    _Key(
        "conversion_window_days",
        "days after a send that count (flow holdout: after entering the flow)",
        _int(0),
    ),
    _Key(
        "shares",
        "arm shares, summing to 1 (default equal; holdouts 0.45/0.45/0.1, 0.85/0.15)",
        _shares,
        True,
    ),
    _Key("lifts", "true lifts {persona = {arm = lift}} overriding arm_response", _lifts),
    _Key("description", "free text", lambda v, path, kw: str(v)),
    _Key(
        "base_share",
        "cadence_test: share of the earlier subscribers in the test",
        _base_share,
        False,
        ("cadence_test",),
        reject_elsewhere=True,
    ),
)


def _experiment(tab: Any, path: str, i: int) -> ExperimentSpec:
    """Check one ``[[experiments]]`` table against :data:`EXPERIMENT_KEYS`."""
    tab = _check_keys(tab, path, tuple(k.name for k in EXPERIMENT_KEYS))
    kw: dict[str, Any] = {}
    for key in EXPERIMENT_KEYS:
        p, v = f"{path}.{key.name}", tab.get(key.name, _MISSING)
        if "kind" in kw and kw["kind"] not in key.kinds:
            if v is not _MISSING and key.reject_elsewhere:
                raise _fail(p, f"only {' or '.join(key.kinds)} experiments take a {key.name}")
            continue
        if v is not _MISSING or key.when_missing:
            kw[key.name] = key.check(v, p, kw)
    kw.setdefault("name", f"{kw['kind']} {i}")
    if kw["kind"] in ("ab_test", "factorial"):
        kw.setdefault("broadcast", 0)
    return ExperimentSpec(**kw)


def parse_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Build a :class:`Scenario` from parsed TOML data, checking every key.

    Parameters
    ----------
    data : mapping
        The parsed TOML document.
    source : str
        Where it came from (file name), for error messages.

    Raises
    ------
    WorkbenchError
        Naming the dotted key at fault and what is allowed.
    """
    try:
        return _parse(dict(data))
    except WorkbenchError as exc:
        raise WorkbenchError(f"{source}: {exc}") from None


def _parse(data: dict[str, Any]) -> Scenario:
    _check_keys(data, "<top>", ("scenario", "personas", "calendar", "experiments", "inbox"))
    sc = _check_keys(
        data.get("scenario", {}),
        "scenario",
        (
            "name",
            "description",
            "subscribers",
            "start",
            "days",
            "chunk_size",
            "holdout_days",
            "personas",
        ),
    )
    kw: dict[str, Any] = {}
    if not isinstance(sc.get("name"), str) or not sc["name"]:
        raise _fail("scenario.name", "missing or empty (a short name for the scenario)")
    kw["name"] = sc["name"]
    kw["description"] = str(sc.get("description", ""))
    if "subscribers" in sc:
        kw["n_subscribers"] = int(_num(sc["subscribers"], "scenario.subscribers", 1, integer=True))
    if "start" in sc:
        st = sc["start"]
        if isinstance(st, str):
            try:
                st = dt.date.fromisoformat(st)
            except ValueError:
                raise _fail("scenario.start", f"{st!r} is not a date (YYYY-MM-DD)") from None
        if isinstance(st, dt.datetime):
            st = st.date()
        if not isinstance(st, dt.date):
            raise _fail("scenario.start", f"{st!r} is not a date (YYYY-MM-DD)")
        kw["start"] = st
    if "days" in sc:
        kw["days"] = int(_num(sc["days"], "scenario.days", 7, 3650, integer=True))
    if "chunk_size" in sc:
        kw["chunk_size"] = int(
            _num(sc["chunk_size"], "scenario.chunk_size", 100, 1 << 20, integer=True)
        )
    if "holdout_days" in sc:
        kw["holdout_days"] = int(
            _num(sc["holdout_days"], "scenario.holdout_days", 0, 3650, integer=True)
        )
    allowed = tuple(PERSONAS)
    if "personas" in sc:
        ptab = sc["personas"]
        if not isinstance(ptab, dict):
            raise _fail("scenario.personas", "expected a table persona = share")
        for k in ptab:
            if k not in allowed:
                raise _fail(
                    f"scenario.personas.{k}",
                    f"unknown persona '{k}'; allowed: {', '.join(allowed)}",
                )
        shares = _weights(ptab, "scenario.personas", allowed)
        if not shares:
            raise _fail("scenario.personas", "at least one persona needs a share > 0")
    else:
        shares = {p: 1.0 for p in allowed}
    total = sum(shares.values())
    kw["shares"] = {p: s / total for p, s in shares.items() if s > 0}
    personas = dict(PERSONAS)
    ov = data.get("personas", {})
    if not isinstance(ov, dict):
        raise _fail("personas", "expected tables [personas.NAME]")
    for k, tab in ov.items():
        if k not in allowed:
            raise _fail(f"personas.{k}", f"unknown persona '{k}'; allowed: {', '.join(allowed)}")
        personas[k] = persona_overrides(personas[k], tab, f"personas.{k}")
    kw["personas"] = personas
    kw["calendar"] = _calendar(data.get("calendar", {}))
    kw["inbox"] = _inbox(data.get("inbox", {}))
    exps = data.get("experiments", [])
    if not isinstance(exps, list):
        raise _fail("experiments", "expected an array of tables [[experiments]]")
    kw["experiments"] = tuple(_experiment(e, f"experiments[{i}]", i) for i, e in enumerate(exps))
    names = [e.name for e in kw["experiments"]]
    for i, n in enumerate(names):
        if n in names[:i]:
            raise _fail(f"experiments[{i}].name", f"duplicate experiment name {n!r}")
    return Scenario(**kw)


def _calendar(tab: Any) -> CalendarSpec:
    keys = tuple(f.name for f in fields(CalendarSpec))
    tab = _check_keys(tab, "calendar", keys)
    kw: dict[str, Any] = {}
    checks: dict[str, Callable[[Any, str], Any]] = {
        "send_hour_utc": lambda v, p: float(_num(v, p, 0, 23)),
        "content_rotation": lambda v, p: _choices(v, p, CONTENT_CATEGORIES),
        "flows": lambda v, p: _choices(v, p, FLOWS) if v != [] else (),
        "send_hours_utc": lambda v, p: _hours(v, p),
    }
    for k, v in tab.items():
        p = f"calendar.{k}"
        if k in checks:
            kw[k] = checks[k](v, p)
        elif v == []:
            kw[k] = ()
        else:
            kw[k] = _choices(v, p, WEEKDAYS)
    return CalendarSpec(**kw)


def _hours(v: Any, path: str) -> tuple[float, ...]:
    if not isinstance(v, list):
        raise _fail(path, "expected a list of UTC hours (0 to 23.99)")
    return tuple(float(_num(x, f"{path}[{j}]", 0, 23.99)) for j, x in enumerate(v))


def _inbox(tab: Any) -> InboxSpec:
    tab = _check_keys(tab, "inbox", tuple(f.name for f in fields(InboxSpec)))
    kw: dict[str, Any] = {}
    for k, v in tab.items():
        p = f"inbox.{k}"
        if k == "open_timing":
            kw[k] = _choices(v, p, OPEN_TIMINGS, many=False)
        elif k == "attention_hours":
            kw[k] = float(_num(v, p, 0.1, 48))
        elif k == "sharpness":
            kw[k] = float(_num(v, p, 0, 20))
        else:  # floor, hour_effect
            kw[k] = float(_num(v, p, 0, 1))
    return InboxSpec(**kw)


def load_scenario(name_or_path: str | Path | Scenario) -> Scenario:
    """Load a built-in scenario by name (:data:`SCENARIOS`) or a user TOML file.

    Parameters
    ----------
    name_or_path : str, Path or Scenario
        A built-in name, a path to a ``.toml`` file, or a :class:`Scenario` (returned as is).

    Returns
    -------
    Scenario

    Raises
    ------
    WorkbenchError
        Unknown name, missing file, invalid TOML or invalid content (naming the dotted key).
    """
    if isinstance(name_or_path, Scenario):
        return name_or_path
    s = str(name_or_path)
    if s in SCENARIOS:
        text = resources.files("workbench").joinpath("scenarios", f"{s}.toml").read_text()
        source = f"scenario '{s}'"
    else:
        path = Path(s)
        if not path.is_file():
            raise WorkbenchError(
                f"unknown scenario '{s}': not a file and not one of {', '.join(SCENARIOS)}"
            )
        text = path.read_text()
        source = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{source}: invalid TOML: {exc}") from None
    return parse_scenario(data, source)
