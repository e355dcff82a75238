"""Built-in personas: the true cohorts of a synthetic world and their documented parameters.

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
  chain new -> active -> lapsing -> lapsed -> reactivated -> active.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

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


def _builtin() -> dict[str, Persona]:
    def P(name: str, description: str, **kw: object) -> Persona:
        return Persona(name).replace(description=description, **kw)

    us = _d(us_east=0.4, us_central=0.25, us_west=0.25, uk=0.05, eu_central=0.05)
    world = _d(
        us_east=0.25,
        us_central=0.1,
        us_west=0.15,
        uk=0.2,
        eu_central=0.2,
        india=0.05,
        australia_east=0.05,
    )
    personas = [
        P(
            "new_onboarding",
            "Joined during the period; curious, opens the welcome series, first order soon.",
            new_share=1.0,
            weekday_hour=13.0,
            weekend_hour=12.0,
            hour_sd=1.2,
            open_rate=0.45,
            click_rate=0.16,
            cadence_tolerance=4.0,
            unsubscribe_rate=0.004,
            purchase_rate=0.008,
            order_value_median=45.0,
            churn_hazard=0.006,
            acquisition=_d(popup=0.45, paid_social=0.35, referral=0.2),
            content_affinity=_d(new_arrivals=1.3, deals=1.2),
            arm_response=_d(discount=0.5, urgency=0.2, proof=-0.1, segmented=0.4),
        ),
        P(
            "loyal_buyer",
            "Long-time customer: frequent, high-value orders; tolerant of frequent email.",
            new_share=0.0,
            weekday_hour=19.0,
            weekend_hour=10.0,
            open_rate=0.5,
            click_rate=0.2,
            cadence_tolerance=6.0,
            unsubscribe_rate=0.0007,
            purchase_rate=0.03,
            purchase_shape=6.0,
            order_value_median=95.0,
            churn_hazard=0.0015,
            acquisition=_d(checkout=0.6, organic=0.3, referral=0.1),
            content_affinity=_d(new_arrivals=1.8, lifestyle=1.4, deals=0.7),
            channel_response=_d(email_open=0.02, email_click=0.15, sms=0.006),
            consent=_d(email=0.99, sms=0.55, push=0.45),
            arm_response=_d(discount=-0.3, urgency=-0.2, lifestyle=0.3, segmented=0.2),
        ),
        P(
            "lapsing",
            "Used to buy; engagement is fading and churn risk is high.",
            new_share=0.0,
            weekday_hour=20.0,
            weekend_hour=15.0,
            hour_sd=1.2,
            open_rate=0.1,
            click_rate=0.06,
            cadence_tolerance=1.5,
            unsubscribe_rate=0.006,
            complaint_rate=0.0008,
            purchase_rate=0.003,
            order_value_median=60.0,
            churn_hazard=0.02,
            reactivation_rate=0.006,
            machine_open_share=0.5,
            arm_response=_d(discount=0.6, urgency=-0.3, segmented=0.6),
        ),
        P(
            "budget_conscious",
            "Buys on promotions, small baskets; clicks deals.",
            new_share=0.05,
            weekday_hour=12.5,
            weekend_hour=11.0,
            open_rate=0.3,
            click_rate=0.14,
            cadence_tolerance=4.0,
            purchase_rate=0.01,
            order_value_median=28.0,
            order_value_sigma=0.35,
            content_affinity=_d(deals=3.0, new_arrivals=0.7, sustainability=0.5, case_study=0.5),
            category_preferences=_d(apparel=0.4, home=0.3, accessories=0.3),
            channel_response=_d(email_click=0.14, sms=0.008),
            consent=_d(email=0.97, sms=0.5, push=0.3),
            cart_rate=0.025,
            arm_response=_d(discount=0.9, urgency=0.3, proof=-0.3, lifestyle=-0.2, segmented=0.5),
        ),
        P(
            "busy_professional",
            "Reads email early on weekday mornings; short attention, low tolerance for volume.",
            new_share=0.05,
            regions=us,
            weekday_hour=6.5,
            weekend_hour=9.5,
            hour_sd=0.6,
            open_rate=0.32,
            click_rate=0.1,
            cadence_tolerance=2.0,
            unsubscribe_rate=0.003,
            purchase_rate=0.007,
            order_value_median=85.0,
            content_affinity=_d(new_arrivals=1.2, case_study=1.1, webinar=0.6),
            consent=_d(email=0.97, sms=0.15, push=0.5),
            push_open_rate=0.09,
            arm_response=_d(urgency=0.5, discount=-0.1, proof=0.2, segmented=0.5),
        ),
        P(
            "caregiver",
            "Reads in the evening after the household is settled; home and family products.",
            new_share=0.05,
            regions=us,
            weekday_hour=21.0,
            weekend_hour=20.5,
            hour_sd=0.7,
            open_rate=0.34,
            click_rate=0.12,
            cadence_tolerance=3.0,
            purchase_rate=0.009,
            order_value_median=62.0,
            category_preferences=_d(home=0.55, apparel=0.3, accessories=0.15),
            content_affinity=_d(lifestyle=2.5, deals=1.3, case_study=0.5, webinar=0.4),
            consent=_d(email=0.98, sms=0.4, push=0.2),
            arm_response=_d(urgency=-0.4, lifestyle=0.4, discount=0.2, segmented=0.4),
        ),
        P(
            "eco_shopper",
            "Buys sustainable products; engages with sustainability content.",
            new_share=0.06,
            regions=world,
            weekday_hour=17.0,
            weekend_hour=14.0,
            hour_sd=1.0,
            open_rate=0.36,
            click_rate=0.15,
            purchase_rate=0.016,
            order_value_median=70.0,
            category_preferences=_d(sustainable_goods=0.85, home=0.1, apparel=0.05),
            content_affinity=_d(sustainability=2.2, new_arrivals=1.3, webinar=0.7, deals=0.6),
            channel_response=_d(email_click=0.14),
            arm_response=_d(sustainability=0.7, discount=-0.2, proof=0.1, segmented=0.5),
        ),
        P(
            "eco_advocate",
            "Engages with sustainability content and webinars, but rarely buys.",
            new_share=0.06,
            regions=world,
            weekday_hour=17.0,
            weekend_hour=14.0,
            hour_sd=1.2,
            open_rate=0.4,
            click_rate=0.2,
            purchase_rate=0.001,
            order_value_median=40.0,
            category_preferences=_d(accessories=0.5, apparel=0.3, sustainable_goods=0.2),
            content_affinity=_d(webinar=3.0, sustainability=2.4, deals=0.4, new_arrivals=0.5),
            channel_response=_d(email_open=0.002, email_click=0.01),
            acquisition=_d(webinar_signup=0.5, organic=0.3, referral=0.2),
            arm_response=_d(sustainability=0.1, discount=-0.5, segmented=0.1),
        ),
        P(
            "proof_seeker",
            "Data-driven: responds to metrics, reviews and case studies.",
            new_share=0.05,
            weekday_hour=10.0,
            weekend_hour=12.0,
            hour_sd=0.8,
            open_rate=0.3,
            click_rate=0.13,
            purchase_rate=0.008,
            order_value_median=110.0,
            order_value_sigma=0.5,
            category_preferences=_d(outdoor=0.5, home=0.3, accessories=0.2),
            content_affinity=_d(case_study=3.5, webinar=1.4, deals=0.6, lifestyle=0.5),
            consent=_d(email=0.97, sms=0.2, push=0.35),
            arm_response=_d(proof=0.8, urgency=-0.3, discount=0.0, segmented=0.5),
        ),
    ]
    return {p.name: p for p in personas}


#: The built-in personas, by name.
PERSONAS: dict[str, Persona] = _builtin()
