"""Tests of the built-in persona data (scenarios/personas.toml) and the experiment key table."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from importlib import resources

import pytest

from workbench.errors import WorkbenchError
from workbench.synth import parse_scenario
from workbench.synth.personas import (
    PERSONAS,
    PERSONAS_FILE,
    REGIONS,
    Persona,
    load_personas,
    persona_overrides,
)
from workbench.synth.scenario import EXPERIMENT_KEYS, ExperimentSpec

EXPECTED = {
    "new_onboarding",
    "loyal_buyer",
    "lapsing",
    "budget_conscious",
    "busy_professional",
    "caregiver",
    "eco_shopper",
    "eco_advocate",
    "proof_seeker",
}


def _shipped() -> dict:
    text = resources.files("workbench").joinpath("scenarios", PERSONAS_FILE).read_text()
    return tomllib.loads(text)["personas"]


def test_builtin_personas_are_the_expected_set() -> None:
    assert set(PERSONAS) == EXPECTED
    assert all(p.name == name and p.description for name, p in PERSONAS.items())


def test_shipped_personas_validate_and_only_change_what_they_list() -> None:
    for name, table in _shipped().items():
        again = persona_overrides(Persona(name), table, f"personas.{name}")
        assert again == PERSONAS[name]
        default = Persona(name)
        for f in fields(Persona):
            if f.name not in table and f.name != "name":
                assert getattr(PERSONAS[name], f.name) == getattr(default, f.name), f.name


def test_persona_values_are_floats_and_mixes_keep_file_order() -> None:
    for name, table in _shipped().items():
        p = PERSONAS[name]
        for k, v in table.items():
            if isinstance(v, dict):
                assert all(type(x) is float for x in getattr(p, k).values()), (name, k)
            elif k != "description":
                assert type(getattr(p, k)) is float, (name, k)
        if "regions" in table:
            assert list(p.regions) == list(table["regions"])
            assert set(p.regions) <= set(REGIONS)


def test_per_key_tables_merge_into_the_defaults() -> None:
    p = PERSONAS["loyal_buyer"]
    assert p.channel_response["sms"] == 0.006
    assert p.channel_response["push"] == Persona("x").channel_response["push"]
    assert p.acquisition == {"checkout": 0.6, "organic": 0.3, "referral": 0.1}


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[personas.x]\nopen_rate = 2.0\n", "<personas>: personas.x.open_rate: 2.0 out of range"),
        ("[personas.x]\nshoe_size = 3.0\n", "personas.x.shoe_size: unknown key"),
        ("[people.x]\n", "<top>.people: unknown key"),
        ("[personas.x\n", "invalid TOML"),
    ],
)
def test_bad_persona_files_name_the_key(text: str, needle: str) -> None:
    with pytest.raises(WorkbenchError) as exc:
        load_personas(text)
    assert needle in str(exc.value)


def test_a_user_persona_file_loads() -> None:
    got = load_personas('[personas.night_owl]\ndescription = "Reads at 1am."\nweekday_hour = 1.0\n')
    assert list(got) == ["night_owl"]
    assert got["night_owl"].weekday_hour == 1.0 and got["night_owl"].description == "Reads at 1am."


def test_experiment_keys_cover_the_spec() -> None:
    assert {k.name for k in EXPERIMENT_KEYS} == {f.name for f in fields(ExperimentSpec)}
    assert all(k.doc for k in EXPERIMENT_KEYS)


def test_factors_not_a_table_is_a_clear_error() -> None:
    doc = {"scenario": {"name": "x"}, "experiments": [{"kind": "factorial", "factors": 3}]}
    with pytest.raises(WorkbenchError, match=r"experiments\[0\]\.factors: expected a table"):
        parse_scenario(doc, "s.toml")


@pytest.mark.parametrize(
    ("experiment", "needle"),
    [
        ({"kind": "ab_test", "arms": ["a", "b"], "base_share": 0.5}, "only cadence_test"),
        ({"kind": "segmentation_holdout", "arms": ["a", "b"]}, "arms are mass, segmented"),
        ({"kind": "channel_holdout"}, "channel: None not in email"),
        ({"kind": "factorial", "factors": {"s": ["a", "b"]}, "arms": ["x"]}, "derived from"),
        ({"kind": "ab_test", "arms": ["a", "b"], "shares": [0.5, 0.6]}, "must sum to 1"),
    ],
)
def test_experiment_errors_name_the_key(experiment: dict, needle: str) -> None:
    doc = {"scenario": {"name": "x"}, "experiments": [experiment]}
    with pytest.raises(WorkbenchError) as exc:
        parse_scenario(doc, "s.toml")
    assert str(exc.value).startswith("s.toml: experiments[0].") and needle in str(exc.value)


def test_experiment_defaults() -> None:
    doc = {
        "scenario": {"name": "x"},
        "experiments": [
            {"kind": "ab_test", "arms": ["a", "b", "c"]},
            {"kind": "channel_holdout", "channel": "sms", "broadcast": 3},
            {"kind": "factorial", "factors": {"s": ["p", "q"], "t": ["u", "v"]}},
        ],
    }
    ab, ch, fa = parse_scenario(doc).experiments
    assert (ab.name, ab.broadcast, ab.shares) == ("ab_test 0", 0, (1 / 3, 1 / 3, 1 / 3))
    assert (ch.arms, ch.shares, ch.broadcast) == (("exposed", "holdout"), (0.85, 0.15), None)
    assert fa.arms == ("s=p;t=u", "s=p;t=v", "s=q;t=u", "s=q;t=v") and fa.broadcast == 0
