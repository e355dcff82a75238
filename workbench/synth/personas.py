"""Personas: the true cohorts of a synthetic world and their documented parameters.

The built-in personas are data, in ``workbench/scenarios/personas.toml``: one table
``[personas.NAME]`` per persona listing what differs from the defaults of :class:`Persona`, in the
same format (and through the same checks, :func:`persona_overrides`) as a scenario's persona
overrides. :func:`load_personas` reads them into :data:`PERSONAS`.

A persona is a bundle of behaviour parameters. Every subscriber belongs to exactly one persona
(recorded in ``truth_subscribers.persona``); individual subscribers scatter around their persona's
values (log-normal engagement noise, Gamma-distributed purchase rates, Gaussian noise on preferred
hours), so personas are separable from behaviour but not trivially: each has a few signature
behaviours (when it reads, what it clicks, how often and what it buys) that a few months of
history reveal, while individuals vary around them.

Units
-----
- rates ``open_rate``, ``click_rate``, ``unsubscribe_rate``, ``complaint_rate`` are probabilities
  per *delivered* email (``click_rate`` is per human open);
- ``purchase_rate`` is the mean intrinsic number of orders per day (a subscriber's own rate is
  Gamma distributed with shape ``purchase_shape`` around it: a Gamma-Poisson purchase process);
- ``channel_response`` values are additive *daily order hazards* a touch adds on its day, decaying
  over the next days (kernel ``1, 0.5, 0.25``);
- ``arm_response`` maps an arm *angle* (e.g. ``urgency``, ``discount``, ``segmented``) to a relative
  lift of the email's conversion effect (``-1`` removes it, ``0`` is neutral);
- ``churn_hazard`` and ``reactivation_rate`` are daily transition probabilities of the lifecycle
  chain new -> active -> lapsing -> lapsed -> reactivated -> active;
- ``lifetime_days`` and ``lifetime_shape`` set the *dropout* of a buy-till-you-die model: each
  subscriber's dropout rate (per day) is Gamma distributed with shape ``lifetime_shape`` and mean
  ``1 / lifetime_days``, and after an exponential time with that rate the subscriber never orders
  again (a Pareto/NBD-style exponential-gamma lifetime; the lifecycle stages above only scale the
  order rate of those still alive).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from importlib import resources
from typing import Any

from workbench.errors import WorkbenchError
from workbench.synth._checks import check_keys, fail, num, numbers, weights

#: Content angles of campaigns (``campaigns.content_category``).
CONTENT_CATEGORIES: tuple[str, ...] = (
    "new_arrivals",
    "deals",
    "sustainability",
    "case_study",
    "webinar",
    "lifestyle",
)
#: Product categories of orders (``orders.category``).
PRODUCT_CATEGORIES: tuple[str, ...] = (
    "apparel",
    "home",
    "outdoor",
    "sustainable_goods",
    "accessories",
)
#: Regions and their UTC offsets in hours (standard time; DST is not modelled).
REGIONS: dict[str, float] = {
    "us_east": -5.0,
    "us_central": -6.0,
    "us_west": -8.0,
    "uk": 0.0,
    "eu_central": 1.0,
    "india": 5.5,
    "australia_east": 10.0,
}
ACQUISITION_SOURCES: tuple[str, ...] = (
    "organic",
    "paid_social",
    "referral",
    "checkout",
    "popup",
    "webinar_signup",
)
#: Touch kinds with a true conversion effect (keys of ``channel_response``).
RESPONSE_KEYS: tuple[str, ...] = (
    "email_open",
    "email_click",
    "sms",
    "push",
    "in_app",
    "paid_retargeting",
    "organic_search",
)
CONSENT_CHANNELS: tuple[str, ...] = ("email", "sms", "push")


#: Dict parameters that overrides merge into instead of replacing.
MERGED_FIELDS: tuple[str, ...] = ("consent", "channel_response", "content_affinity", "arm_response")


def _d(**kw: float) -> dict[str, float]:
    return dict(kw)


@dataclass(frozen=True)
class Persona:
    """Parameters of one persona (all overridable from a scenario TOML ``[personas.NAME]``).

    Parameters
    ----------
    name : str
        Persona id (``truth_subscribers.persona``).
    description : str
        One line in plain words.
    new_share : float
        Share of the persona's subscribers who sign up during the simulated period (the rest
        joined up to two years before it).
    regions : dict of str to float
        Regional mix (weights over :data:`REGIONS`); sets ``tz_offset_h``.
    acquisition : dict of str to float
        Mix of acquisition sources.
    weekday_hour, weekend_hour : float
        Preferred local hour for reading email on weekdays / weekends.
    hour_sd : float
        Spread (hours) of individual preferred hours around the persona's.
    open_rate, click_rate : float
        Human open probability per delivered email; click probability per human open.
    engagement_sd : float
        Log-scale spread of individual open and click propensities around the persona's rates.
    machine_open_share : float
        Share using a privacy-protecting mail client that "opens" every delivered email.
    cadence_tolerance : float
        Emails per trailing 7 days before fatigue: above it open probability falls by
        ``exp(-0.35 * excess)`` and unsubscribe/complaint probability rises by ``1 + excess``.
    unsubscribe_rate, complaint_rate : float
        Per delivered email, before fatigue.
    content_affinity : dict of str to float
        Multiplier of open and click probability by content category (missing = 1).
    purchase_rate, purchase_shape : float
        Mean intrinsic daily order rate and Gamma shape of its spread across subscribers.
    order_value_median, order_value_sigma : float
        Log-normal order value: median and log-scale spread.
    category_preferences : dict of str to float
        Weights over :data:`PRODUCT_CATEGORIES` for what is bought.
    churn_hazard, reactivation_rate : float
        Daily probability active -> lapsing; daily probability lapsing/lapsed -> reactivated.
    lifetime_days, lifetime_shape : float
        Customer lifetime scale (days, > 0) and its heterogeneity (Gamma shape, > 0): a
        subscriber's dropout rate is ``Gamma(lifetime_shape, rate=lifetime_shape *
        lifetime_days)`` per day (mean ``1 / lifetime_days``), and they order no more after an
        exponential time with that rate, counted from signup or the scenario start, whichever is
        later. So the share still ordering ``t`` days into their clock is
        ``(1 + t / (lifetime_shape * lifetime_days)) ** -lifetime_shape``; a smaller shape
        spreads lifetimes more (some leave at once, some stay for ever).
    consent : dict of str to float
        Probability of consent per channel (email, sms, push; push also gates in-app messages).
    channel_response : dict of str to float
        True incremental daily order hazard per touch (keys :data:`RESPONSE_KEYS`).
    sms_click_rate, push_open_rate, in_app_click_rate : float
        Responsiveness per message on the other owned channels.
    cart_rate : float
        Daily probability of abandoning a cart (triggers a reminder email and retargeting ads).
    search_rate : float
        Daily probability of an organic search visit (a touch with a true effect).
    arm_response : dict of str to float
        Relative lift of the email conversion effect per arm angle (missing = 0).
    """

    name: str
    description: str = ""
    new_share: float = 0.08
    regions: dict[str, float] = field(
        default_factory=lambda: _d(
            us_east=0.35, us_central=0.2, us_west=0.2, uk=0.1, eu_central=0.1, australia_east=0.05
        )
    )
    acquisition: dict[str, float] = field(
        default_factory=lambda: _d(
            organic=0.35, paid_social=0.2, referral=0.1, checkout=0.2, popup=0.15
        )
    )
    weekday_hour: float = 12.0
    weekend_hour: float = 11.0
    hour_sd: float = 0.8
    open_rate: float = 0.25
    click_rate: float = 0.12
    engagement_sd: float = 0.2
    machine_open_share: float = 0.45
    cadence_tolerance: float = 3.0
    unsubscribe_rate: float = 0.002
    complaint_rate: float = 0.0002
    content_affinity: dict[str, float] = field(default_factory=dict)
    purchase_rate: float = 0.006
    purchase_shape: float = 4.0
    order_value_median: float = 55.0
    order_value_sigma: float = 0.45
    category_preferences: dict[str, float] = field(
        default_factory=lambda: _d(
            apparel=0.35, home=0.25, outdoor=0.15, sustainable_goods=0.05, accessories=0.2
        )
    )
    churn_hazard: float = 0.004
    reactivation_rate: float = 0.01
    lifetime_days: float = 540.0
    lifetime_shape: float = 1.5
    consent: dict[str, float] = field(default_factory=lambda: _d(email=0.97, sms=0.3, push=0.25))
    channel_response: dict[str, float] = field(
        default_factory=lambda: _d(
            email_open=0.012,
            email_click=0.1,
            sms=0.004,
            push=0.002,
            in_app=0.002,
            paid_retargeting=0.003,
            organic_search=0.01,
        )
    )
    sms_click_rate: float = 0.05
    push_open_rate: float = 0.06
    in_app_click_rate: float = 0.04
    cart_rate: float = 0.01
    search_rate: float = 0.01
    arm_response: dict[str, float] = field(default_factory=dict)

    def replace(self, **changes: object) -> Persona:
        """A copy with some parameters changed.

        Per-key parameters (:data:`MERGED_FIELDS`: consent, channel_response, content_affinity,
        arm_response) are merged key by key; mixes (regions, acquisition, category_preferences)
        are replaced whole.
        """
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        for k, v in changes.items():
            if k in MERGED_FIELDS and isinstance(v, dict):
                kw[k] = {**kw[k], **v}
            else:
                kw[k] = v
        return Persona(**kw)  # type: ignore[arg-type]


#: Parameters that are probabilities (checked to lie in [0, 1]).
PROBABILITIES: frozenset[str] = frozenset(
    {
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
)

#: Where the built-in personas live (package data beside the scenarios).
PERSONAS_FILE = "personas.toml"


def _positive(v: Any, path: str) -> float:
    x = float(num(v, path, lo=0))
    if x <= 0:
        raise fail(path, f"{v!r} must be > 0")
    return x


def _text(v: Any, path: str) -> str:
    if not isinstance(v, str):
        raise fail(path, "expected a string")
    return v


def _field_checks(base: Persona) -> dict[str, Callable[[Any, str], Any]]:
    """How each non-scalar or bounded parameter is checked (others: a number >= 0)."""
    acquisition = tuple(base.acquisition) + tuple(
        a for a in ACQUISITION_SOURCES if a not in base.acquisition
    )
    return {
        "description": _text,
        "regions": lambda v, p: weights(v, p, tuple(REGIONS)),
        "acquisition": lambda v, p: weights(v, p, acquisition),
        "content_affinity": lambda v, p: weights(v, p, CONTENT_CATEGORIES),
        "category_preferences": lambda v, p: weights(v, p, PRODUCT_CATEGORIES),
        "consent": lambda v, p: numbers(v, p, CONSENT_CHANNELS, 0, 1),
        "channel_response": lambda v, p: numbers(v, p, RESPONSE_KEYS, 0, 1),
        "arm_response": lambda v, p: numbers(
            v, p, tuple(v) if isinstance(v, dict) else (), -1, None
        ),
        "weekday_hour": lambda v, p: float(num(v, p, 0, 24)),
        "weekend_hour": lambda v, p: float(num(v, p, 0, 24)),
        "lifetime_days": _positive,
        "lifetime_shape": _positive,
        **{k: (lambda v, p: float(num(v, p, 0, 1))) for k in PROBABILITIES},
    }


def persona_overrides(base: Persona, table: Any, path: str) -> Persona:
    """``base`` with the parameters of a TOML table ``[personas.NAME]`` applied, checked.

    Parameters
    ----------
    base : Persona
        The persona the table changes.
    table : Any
        The parsed table: parameter name to value (see :class:`Persona`).
    path : str
        Dotted key of the table, for error messages.

    Returns
    -------
    Persona
        A copy of ``base`` (:meth:`Persona.replace` semantics: per-key tables merged).

    Raises
    ------
    WorkbenchError
        Naming the dotted key at fault and what is allowed.
    """
    names = tuple(f.name for f in fields(Persona) if f.name != "name")
    table = check_keys(table, path, names)
    checks = _field_checks(base)
    changes: dict[str, Any] = {}
    for k, v in table.items():
        check = checks.get(k, lambda v, p: float(num(v, p, lo=0)))
        changes[k] = check(v, f"{path}.{k}")
    return base.replace(**changes)


def load_personas(text: str | None = None) -> dict[str, Persona]:
    """Read personas from TOML tables ``[personas.NAME]`` of changes to the defaults.

    Parameters
    ----------
    text : str, optional
        TOML text; by default the built-in ``workbench/scenarios/personas.toml``.

    Returns
    -------
    dict of str to Persona
        By name, in file order.

    Raises
    ------
    WorkbenchError
        Invalid TOML or an invalid parameter (naming the dotted key).
    """
    source = "<personas>" if text is not None else PERSONAS_FILE
    if text is None:
        text = resources.files("workbench").joinpath("scenarios", PERSONAS_FILE).read_text()
    try:
        doc = check_keys(tomllib.loads(text), "<top>", ("personas",))
        tables = check_keys(doc.get("personas", {}), "personas", tuple(doc.get("personas", {})))
        return {
            name: persona_overrides(Persona(name), tab, f"personas.{name}")
            for name, tab in tables.items()
        }
    except tomllib.TOMLDecodeError as exc:
        raise WorkbenchError(f"{source}: invalid TOML: {exc}") from None
    except WorkbenchError as exc:
        raise WorkbenchError(f"{source}: {exc}") from None


#: The built-in personas, by name (from ``workbench/scenarios/personas.toml``).
PERSONAS: dict[str, Persona] = load_personas()
