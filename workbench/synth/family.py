"""A documented family of random scenarios, for checking methods on worlds they were not tuned on.

The built-in scenarios (``tiny``, ``default``, ``large``) share one persona mix and one send
calendar, so a method tuned on them may only work on that shape of list. :func:`draw_scenario`
draws a scenario from a wider family, every draw from a seed:

=====================  ==================================================================
size                   5,000 to 100,000 subscribers, log-uniform
history                8 to 26 weeks, uniform
personas present       5 to 9 of the 9 built-in personas (:data:`~workbench.synth.PERSONAS`),
                       chosen at random; the others are missing from the list
persona shares         ``floor + (1 - m * floor) * Dirichlet(alpha)`` over the ``m`` present
                       personas, ``alpha`` log-uniform in 0.3 .. 10 (0.3: one persona may hold
                       half the list; 10: near-equal shares), ``floor`` = 2% of the list
email calendar         1 to 5 broadcast days a week, chosen at random; send hour 8:00 to 20:00
                       UTC
other channels         SMS and push on 0 or 1 day a week each
content rotation       3 to 6 of the content categories, in random order
flows                  each of welcome, cart abandonment and reactivation with probability 0.7
experiments            an A/B/n subject-line test, an SMS holdout and a cadence test, each
                       with probability 0.5
=====================  ==================================================================

The family is what :file:`benchmarks/sweep_segment.py` scores segmentation methods on, and the
tests draw small worlds from it (``subscribers`` overridden). :func:`scenario_toml` writes a
drawn scenario as a TOML file, so that ``workbench generate --scenario FILE`` rebuilds the world.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.synth.personas import CONTENT_CATEGORIES, PERSONAS
from workbench.synth.scenario import WEEKDAYS, Scenario, parse_scenario

__all__ = ["FAMILY", "draw_scenario", "family_scenario", "scenario_toml"]

#: The bounds of the family (see the module docstring).
FAMILY: dict[str, Any] = {
    "subscribers": (5_000, 100_000),
    "weeks": (8, 26),
    "personas_present": (5, len(PERSONAS)),
    "alpha": (0.3, 10.0),
    "share_floor": 0.02,
    "email_days": (1, 5),
    "send_hour_utc": (8, 20),
    "flow_probability": 0.7,
    "experiment_probability": 0.5,
}


def draw_scenario(seed: int, subscribers: int | None = None) -> dict[str, Any]:
    """Draw one scenario of the family, as the data of a scenario TOML file.

    Parameters
    ----------
    seed : int
        Seed of every draw: the same seed gives the same scenario.
    subscribers : int, optional
        Override the drawn size (the tests draw small worlds of the same family).

    Returns
    -------
    dict
        ``{"scenario": ..., "calendar": ..., "experiments": [...]}``, ready for
        :func:`~workbench.synth.scenario.parse_scenario` or :func:`scenario_toml`.
    """
    rng = np.random.default_rng(np.random.SeedSequence([20261129, int(seed)]))
    lo, hi = FAMILY["subscribers"]
    n = int(round(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))), -2))
    weeks = int(rng.integers(FAMILY["weeks"][0], FAMILY["weeks"][1] + 1))
    names = list(PERSONAS)
    m = int(rng.integers(FAMILY["personas_present"][0], FAMILY["personas_present"][1] + 1))
    present = [names[i] for i in sorted(rng.choice(len(names), size=m, replace=False))]
    alpha = float(np.exp(rng.uniform(np.log(FAMILY["alpha"][0]), np.log(FAMILY["alpha"][1]))))
    floor = FAMILY["share_floor"]
    raw = floor + (1 - m * floor) * rng.dirichlet(np.full(m, alpha))
    shares = {p: round(float(s), 4) for p, s in zip(present, raw, strict=True)}
    n_days = int(rng.integers(FAMILY["email_days"][0], FAMILY["email_days"][1] + 1))
    email_days = [WEEKDAYS[i] for i in sorted(rng.choice(7, size=n_days, replace=False))]

    def one_day_or_none() -> list[str]:
        return [WEEKDAYS[int(rng.integers(7))]] if rng.random() < 0.5 else []

    n_content = int(rng.integers(3, len(CONTENT_CATEGORIES) + 1))
    content = [str(c) for c in rng.permutation(list(CONTENT_CATEGORIES))[:n_content]]
    flows = [f for f in ("welcome", "cart_abandonment", "reactivation")
             if rng.random() < FAMILY["flow_probability"]]  # fmt: skip
    hour_lo, hour_hi = FAMILY["send_hour_utc"]
    calendar = {
        "send_hour_utc": int(rng.integers(hour_lo, hour_hi + 1)),
        "email_weekdays": email_days,
        "sms_weekdays": one_day_or_none(),
        "push_weekdays": one_day_or_none(),
        "in_app_weekdays": one_day_or_none(),
        "content_rotation": content,
        "flows": flows,
    }
    days = 7 * weeks
    experiments = []
    p = FAMILY["experiment_probability"]
    if rng.random() < p:
        experiments.append(
            {
                "name": "subject line",
                "kind": "ab_test",
                "arms": ["control", "urgency", "proof"],
                "broadcast": 1,
                "conversion_window_days": 7,
            }
        )
    if rng.random() < p and calendar["sms_weekdays"]:
        experiments.append(
            {
                "name": "sms holdout",
                "kind": "channel_holdout",
                "channel": "sms",
                "start_day": 0,
                "length_days": days,
                "shares": [0.85, 0.15],
            }
        )
    if rng.random() < p:
        experiments.append(
            {
                "name": "cadence test",
                "kind": "cadence_test",
                "arms": ["control", "1_per_week", "4_per_week", "6_per_week"],
                "start_day": 14,
                "length_days": 14,
                "base_share": 0.5,
            }
        )
    return {
        "scenario": {
            "name": f"family-{seed}",
            "description": (
                f"Random scenario {seed} of workbench.synth.family: {m} personas, "
                f"{weeks} weeks, {len(email_days)} email days a week."
            ),
            "subscribers": int(subscribers if subscribers is not None else n),
            "start": "2025-01-06",
            "days": days,
            "personas": shares,
        },
        "calendar": calendar,
        "experiments": experiments,
    }


def family_scenario(seed: int, subscribers: int | None = None) -> Scenario:
    """:func:`draw_scenario`, parsed and checked like a scenario file."""
    return parse_scenario(draw_scenario(seed, subscribers), f"family scenario {seed}")


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def scenario_toml(data: dict[str, Any]) -> str:
    """A drawn scenario (:func:`draw_scenario`) as the text of a scenario TOML file."""
    lines = ["[scenario]"]
    sc = dict(data["scenario"])
    shares = sc.pop("personas")
    lines += [f"{k} = {_toml_value(v)}" for k, v in sc.items()]
    lines += ["", "[scenario.personas]"]
    lines += [f"{k} = {_toml_value(float(v))}" for k, v in shares.items()]
    lines += ["", "[calendar]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in data["calendar"].items()]
    for exp in data["experiments"]:
        lines += ["", "[[experiments]]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in exp.items()]
    return "\n".join(lines) + "\n"
