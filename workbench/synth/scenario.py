"""Scenarios: what world to simulate, read from TOML into typed dataclasses.

A scenario file has four parts (every key optional except ``scenario.name``)::

    [scenario]
    name = "my-shop"
    description = "..."
    subscribers = 20000          # size of the base
    start = 2025-01-06           # first simulated day (UTC)
    days = 84                    # length of the period
    chunk_size = 50000           # subscribers simulated together (memory stays flat)

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

    [[experiments]]              # tests carried by the calendar
    name = "subject lines"
    kind = "ab_test"             # ab_test | factorial | segmentation_holdout | channel_holdout
                                 # | cadence_test
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
``cadence_test`` runs from ``start_day`` for ``length_days`` on a random ``base_share`` of the
subscribers who joined before it, split over its arms by ``shares``; each arm is ``control`` (the
usual calendar) or ``N_per_week`` (``N`` = 0..7 email broadcasts a week: the calendar's usual
email days first, then the weekdays farthest from the days already chosen, e.g. with tue/thu
broadcasts ``1_per_week`` = tue, ``4_per_week`` = mon/tue/thu/sat, ``6_per_week`` = mon to sat).
Its first arm is the control. Arms with extra days get extra broadcast campaigns that carry the
experiment; arms with fewer days skip the usual broadcasts on the other days. A cadence test may
not overlap a ``segmentation_holdout`` or an email ``channel_holdout``.

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
from workbench.synth.personas import (
    CONSENT_CHANNELS,
    CONTENT_CATEGORIES,
    PERSONAS,
    PRODUCT_CATEGORIES,
    REGIONS,
    RESPONSE_KEYS,
    Persona,
)

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
)
HOLDOUT_CHANNELS: tuple[str, ...] = ("email", "sms", "push", "in_app")


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
    shares: dict[str, float] = field(default_factory=lambda: {p: 1.0 for p in PERSONAS})
    personas: dict[str, Persona] = field(default_factory=lambda: dict(PERSONAS))
    calendar: CalendarSpec = field(default_factory=CalendarSpec)
    experiments: tuple[ExperimentSpec, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as JSON-ready data.

        Recorded in full in ``truth_scenario.json``; ``world.json`` gets it without the truth
        (:func:`workbench.truth.public_scenario`).
        """
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["personas"] = {k: asdict(v) for k, v in self.personas.items() if k in self.shares}
        return d


# ------------------------------------------------------------------------------------ parsing


def _fail(path: str, msg: str) -> WorkbenchError:
    return WorkbenchError(f"{path}: {msg}")


def _check_keys(table: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(path, f"expected a table, got {type(table).__name__}")
    for k in table:
        if k not in allowed:
            raise _fail(f"{path}.{k}", f"unknown key '{k}'; allowed: {', '.join(allowed)}")
    return table


def _num(
    v: Any, path: str, lo: float | None = None, hi: float | None = None, integer: bool = False
) -> Any:
    ok = isinstance(v, int) if integer else isinstance(v, int | float)
    if isinstance(v, bool) or not ok:
        raise _fail(path, f"expected {'an integer' if integer else 'a number'}, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise _fail(path, f"{v!r} out of range {rng}")
    return v


def _choices(v: Any, path: str, allowed: tuple[str, ...], many: bool = True) -> Any:
    vals = v if many else [v]
    if many and (not isinstance(v, list) or not v):
        raise _fail(path, f"expected a non-empty list of: {', '.join(allowed)}")
    for i, x in enumerate(vals):
        if x not in allowed:
            where = f"{path}[{i}]" if many else path
            raise _fail(where, f"{x!r} not in {', '.join(allowed)}")
    return tuple(vals) if many else v


def _weights(v: Any, path: str, allowed: tuple[str, ...]) -> dict[str, float]:
    tab = _check_keys(v, path, allowed)
    out = {k: float(_num(x, f"{path}.{k}", lo=0)) for k, x in tab.items()}
    if out and sum(out.values()) <= 0:
        raise _fail(path, "weights must not all be zero")
    return out


def _persona_overrides(base: Persona, tab: Any, path: str) -> Persona:
    names = tuple(f.name for f in fields(Persona) if f.name != "name")
    tab = _check_keys(tab, path, names)
    dict_keys: dict[str, tuple[str, ...]] = {
        "regions": tuple(REGIONS),
        "acquisition": tuple(base.acquisition)
        + tuple(
            a
            for a in ("organic", "paid_social", "referral", "checkout", "popup", "webinar_signup")
            if a not in base.acquisition
        ),
        "content_affinity": CONTENT_CATEGORIES,
        "category_preferences": PRODUCT_CATEGORIES,
        "consent": CONSENT_CHANNELS,
        "channel_response": RESPONSE_KEYS,
    }
    probs = {
        "new_share",
        "open_rate",
        "click_rate",
        "machine_open_share",
        "unsubscribe_rate",
        "complaint_rate",
        "churn_hazard",
        "reactivation_rate",
        "sms_click_rate",
        "push_open_rate",
        "in_app_click_rate",
        "cart_rate",
        "search_rate",
    }
    changes: dict[str, Any] = {}
    for k, v in tab.items():
        p = f"{path}.{k}"
        if k == "description":
            if not isinstance(v, str):
                raise _fail(p, "expected a string")
            changes[k] = v
        elif k == "arm_response":
            tab2 = _check_keys(v, p, tuple(v) if isinstance(v, dict) else ())
            changes[k] = {a: float(_num(x, f"{p}.{a}", lo=-1)) for a, x in tab2.items()}
        elif k in dict_keys:
            if k in ("consent",):
                t = _check_keys(v, p, dict_keys[k])
                changes[k] = {c: float(_num(x, f"{p}.{c}", 0, 1)) for c, x in t.items()}
            elif k == "channel_response":
                t = _check_keys(v, p, dict_keys[k])
                changes[k] = {c: float(_num(x, f"{p}.{c}", 0, 1)) for c, x in t.items()}
            else:
                changes[k] = _weights(v, p, dict_keys[k])
        elif k in probs:
            changes[k] = float(_num(v, p, 0, 1))
        elif k in ("weekday_hour", "weekend_hour"):
            changes[k] = float(_num(v, p, 0, 24))
        else:
            changes[k] = float(_num(v, p, lo=0))
    return base.replace(**changes)


def _experiment(tab: Any, path: str, i: int) -> ExperimentSpec:
    keys = (
        "name",
        "kind",
        "arms",
        "broadcast",
        "start_day",
        "length_days",
        "shares",
        "channel",
        "conversion_window_days",
        "factors",
        "lifts",
        "description",
        "base_share",
    )
    tab = _check_keys(tab, path, keys)
    if "kind" not in tab:
        raise _fail(f"{path}.kind", f"missing; allowed: {', '.join(EXPERIMENT_KINDS)}")
    kind = _choices(tab["kind"], f"{path}.kind", EXPERIMENT_KINDS, many=False)
    name = tab.get("name", f"{kind} {i}")
    if not isinstance(name, str) or not name:
        raise _fail(f"{path}.name", "expected a non-empty string")
    kw: dict[str, Any] = {"name": name, "kind": kind}
    if "base_share" in tab and kind != "cadence_test":
        raise _fail(f"{path}.base_share", "only cadence_test experiments take a base_share")
    factors: dict[str, tuple[str, ...]] = {}
    if kind == "factorial":
        if "factors" not in tab:
            raise _fail(f"{path}.factors", "missing: a table factor = [levels]")
        ftab = _check_keys(tab["factors"], f"{path}.factors", tuple(tab["factors"]))
        for f, levels in ftab.items():
            if (
                not isinstance(levels, list)
                or len(levels) < 2
                or not all(isinstance(x, str) and x and not set(x) & set("|;=") for x in levels)
            ):
                raise _fail(
                    f"{path}.factors.{f}",
                    "expected a list of >= 2 level names (without '|', ';' or '=')",
                )
            factors[f] = tuple(levels)
        arms = tuple(
            ";".join(f"{f}={lv}" for f, lv in zip(factors, combo, strict=True))
            for combo in itertools.product(*factors.values())
        )
        if "arms" in tab:
            raise _fail(f"{path}.arms", "factorial arms are derived from factors; remove 'arms'")
    elif kind == "segmentation_holdout":
        arms = ("mass", "segmented", "holdout")
        if "arms" in tab and tuple(tab["arms"]) != arms:
            raise _fail(f"{path}.arms", "segmentation_holdout arms are mass, segmented, holdout")
    elif kind == "channel_holdout":
        arms = ("exposed", "holdout")
        if "arms" in tab and tuple(tab["arms"]) != arms:
            raise _fail(f"{path}.arms", "channel_holdout arms are exposed, holdout")
        kw["channel"] = _choices(tab.get("channel"), f"{path}.channel", HOLDOUT_CHANNELS, False)
    elif kind == "cadence_test":
        arms_v = tab.get("arms")
        ok = {"control", *(f"{k}_per_week" for k in range(8))}
        if (
            not isinstance(arms_v, list)
            or len(arms_v) < 2
            or len(set(arms_v)) != len(arms_v)
            or not all(a in ok for a in arms_v)
        ):
            raise _fail(
                f"{path}.arms",
                "expected a list of >= 2 distinct arms, each 'control' or 'N_per_week' with "
                "N in 0..7; the first is the control",
            )
        arms = tuple(arms_v)
        if "base_share" in tab:
            kw["base_share"] = float(_num(tab["base_share"], f"{path}.base_share", 0, 1))
            if kw["base_share"] <= 0:
                raise _fail(f"{path}.base_share", "must be > 0")
    else:
        arms_v = tab.get("arms")
        if (
            not isinstance(arms_v, list)
            or len(arms_v) < 2
            or len(set(arms_v)) != len(arms_v)
            or not all(isinstance(a, str) and a and "|" not in a for a in arms_v)
        ):
            raise _fail(
                f"{path}.arms",
                "expected a list of >= 2 distinct arm names (no '|'); the first is the control",
            )
        arms = tuple(arms_v)
    kw["arms"] = arms
    kw["factors"] = factors
    if kind in ("ab_test", "factorial"):
        kw["broadcast"] = int(
            _num(tab.get("broadcast", 0), f"{path}.broadcast", lo=0, integer=True)
        )
    for k in ("start_day", "length_days", "conversion_window_days"):
        if k in tab:
            kw[k] = int(
                _num(tab[k], f"{path}.{k}", lo=0 if k != "length_days" else 1, integer=True)
            )
    if "shares" in tab:
        sh = tab["shares"]
        if not isinstance(sh, list) or len(sh) != len(arms):
            raise _fail(f"{path}.shares", f"expected {len(arms)} shares for arms {', '.join(arms)}")
        kw["shares"] = tuple(float(_num(x, f"{path}.shares[{j}]", 0, 1)) for j, x in enumerate(sh))
        if abs(sum(kw["shares"]) - 1) > 1e-6:
            raise _fail(f"{path}.shares", "shares must sum to 1")
    else:
        default = {"segmentation_holdout": (0.45, 0.45, 0.10), "channel_holdout": (0.85, 0.15)}
        kw["shares"] = default.get(kind, tuple([1.0 / len(arms)] * len(arms)))
    if "lifts" in tab:
        ltab = _check_keys(tab["lifts"], f"{path}.lifts", tuple(PERSONAS))
        lifts = {}
        for p, arm_tab in ltab.items():
            at = _check_keys(arm_tab, f"{path}.lifts.{p}", arms)
            lifts[p] = {a: float(_num(x, f"{path}.lifts.{p}.{a}", lo=-1)) for a, x in at.items()}
        kw["lifts"] = lifts
    if "description" in tab:
        kw["description"] = str(tab["description"])
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
    _check_keys(data, "<top>", ("scenario", "personas", "calendar", "experiments"))
    sc = _check_keys(
        data.get("scenario", {}),
        "scenario",
        ("name", "description", "subscribers", "start", "days", "chunk_size", "personas"),
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
        personas[k] = _persona_overrides(personas[k], tab, f"personas.{k}")
    kw["personas"] = personas
    kw["calendar"] = _calendar(data.get("calendar", {}))
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
