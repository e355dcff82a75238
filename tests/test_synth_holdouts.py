"""Channel holdouts in generated worlds: every channel, factorial designs, and their truth."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.schema import load_world
from workbench.synth import generate_world
from workbench.synth.calendar import build_calendar
from workbench.synth.scenario import load_scenario, parse_scenario
from workbench.truth import load_truth

SCENARIOS = Path(__file__).parents[1] / "workbench" / "scenarios"
HELD = ("email", "sms", "push", "in_app", "paid_retargeting")


def _scenario_text(experiments: str, subscribers: int = 6000, days: int = 56) -> str:
    """The tiny scenario's people and calendar with these experiments only."""
    text = (SCENARIOS / "tiny.toml").read_text()
    head = text[: text.index("[[experiments]]")]
    head = head.replace("subscribers = 2000", f"subscribers = {subscribers}")
    head = head.replace("days = 70", f"days = {days}")
    return head + experiments


def _holdout(channel: str, start: int, length: int, shares: str = "[0.5, 0.5]") -> str:
    return (
        f'[[experiments]]\nname = "{channel} holdout from day {start}"\nkind = "channel_holdout"\n'
        f'channel = "{channel}"\nstart_day = {start}\nlength_days = {length}\nshares = {shares}\n\n'
    )


@pytest.fixture(scope="module")
def factorial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world where all five channels are held out at once from day 14 (a 2^5 factorial)."""
    root = tmp_path_factory.mktemp("factorial")
    toml = root / "factorial.toml"
    toml.write_text(_scenario_text("".join(_holdout(ch, 14, 42) for ch in HELD)))
    return generate_world(str(toml), seed=5, out=root / "world")


def test_every_channel_held_out_gets_none_of_it(factorial: Path) -> None:
    w = load_world(factorial)
    ex, asg, tp = w["experiments"], w["assignments"], w["touchpoints"]
    assert sorted(ex["channel"]) == sorted(HELD)
    for e in ex.itertuples():
        a = asg[asg["experiment_id"] == e.experiment_id]
        hold = a.loc[a["is_holdout"], "subscriber_id"]
        assert 0.45 < len(hold) / len(a) < 0.55
        end = e.start_ts + pd.Timedelta(days=int(e.conversion_window_days))
        during = tp[(tp["ts"] >= e.start_ts) & (tp["ts"] < end) & (tp["channel"] == e.channel)]
        exposed = set(a.loc[~a["is_holdout"], "subscriber_id"])
        assert during["subscriber_id"].isin(exposed).any()  # the channel ran for the others
        if e.channel != "email":  # an email sent before the start may be opened after it
            assert not during["subscriber_id"].isin(set(hold)).any(), e.channel
    sent = w["email_events"]  # email: no send to the held-out arm
    e = ex[ex["channel"] == "email"].iloc[0]
    hold = asg[(asg["experiment_id"] == e.experiment_id) & asg["is_holdout"]]["subscriber_id"]
    end = e.start_ts + pd.Timedelta(days=int(e.conversion_window_days))
    window = sent[(sent["ts"] >= e.start_ts) & (sent["ts"] < end) & (sent["event_type"] == "sent")]
    assert not window["subscriber_id"].isin(set(hold)).any()


def test_factorial_arms_are_independent(factorial: Path) -> None:
    asg = load_world(factorial)["assignments"]
    arms = asg.pivot(index="subscriber_id", columns="experiment_id", values="is_holdout")
    assert arms.notna().all().all() and arms.shape[1] == len(HELD)
    n = len(arms)
    # every cell of the 2^5 design is filled about equally (chi-square against uniform)
    cells = arms.astype(int).astype(str).agg("".join, axis=1).value_counts()
    assert len(cells) == 2 ** len(HELD)
    expected = n / 2 ** len(HELD)
    chi2 = float(((cells - expected) ** 2 / expected).sum())
    from scipy import stats

    assert stats.chi2.sf(chi2, 2 ** len(HELD) - 1) > 1e-4


def test_holdout_truth_matches_what_the_arms_show(factorial: Path) -> None:
    """Observed converters per arm agree with truth_responses' expectation (|z| < 4)."""
    z = _z_by_arm(factorial)
    assert len(z) == 2 * len(HELD)
    assert all(abs(v) < 4 for v in z.values()), z


def _z_by_arm(world: Path) -> dict[tuple[str, bool], float]:
    """Observed converters of each holdout arm against truth_responses' expectation.

    Each participant converts (an order in the window) independently with the probability
    ``truth_responses`` gives for their own arm: the count's expectation and variance follow.
    """
    w = load_world(world)
    tr = load_truth(world, tables=["truth_responses"])["truth_responses"]
    orders, out = w["orders"], {}
    for e in w["experiments"].itertuples():
        a = w["assignments"][w["assignments"]["experiment_id"] == e.experiment_id]
        a = a.set_index("subscriber_id")
        end = e.start_ts + pd.Timedelta(days=int(e.conversion_window_days))
        buyers = orders[(orders["ts"] >= e.start_ts) & (orders["ts"] < end)]["subscriber_id"]
        a["converted"] = a.index.isin(set(buyers))
        t = tr[tr["experiment_id"] == e.experiment_id].pivot(
            index="subscriber_id", columns="arm", values="conversion_prob"
        )
        a = a.join(t)
        own = np.where(a["is_holdout"], a["holdout"], a["exposed"])
        for held in (False, True):
            m = (a["is_holdout"] == held).to_numpy()
            obs, p = a["converted"].to_numpy()[m].sum(), own[m]
            out[(e.channel, held)] = float((obs - p.sum()) / np.sqrt((p * (1 - p)).sum()))
    return out


def test_email_holdout_truth_counts_the_flows(tmp_path: Path) -> None:
    """Only flows send email here: the exposed arm's true response must include them."""
    text = _scenario_text(_holdout("email", 7, 42), subscribers=6000, days=56)
    text = text.replace('email_weekdays = ["tue", "thu"]', "email_weekdays = []")
    toml = tmp_path / "flows.toml"
    toml.write_text(text)
    world = generate_world(str(toml), seed=8, out=tmp_path / "w")
    z = _z_by_arm(world)
    assert abs(z[("email", False)]) < 4 and abs(z[("email", True)]) < 4, z
    tr = load_truth(world, tables=["truth_responses"])["truth_responses"]
    by_arm = tr.groupby("arm")["conversion_prob"].mean()
    assert by_arm["exposed"] > by_arm["holdout"]  # the flows do something


def test_same_channel_holdouts_may_not_overlap() -> None:
    doc = _scenario_text(_holdout("sms", 0, 30) + _holdout("sms", 20, 30))
    sc = parse_scenario(tomllib.loads(doc), "s.toml")
    with pytest.raises(WorkbenchError, match="overlaps another sms holdout"):
        build_calendar(sc)
    ok = _scenario_text(_holdout("sms", 0, 20) + _holdout("sms", 20, 30))  # rotating: fine
    build_calendar(parse_scenario(tomllib.loads(ok), "s.toml"))


def test_email_holdout_may_not_overlap_a_segmentation_holdout() -> None:
    seg = (
        '[[experiments]]\nname = "seg"\nkind = "segmentation_holdout"\nstart_day = 10\n'
        "length_days = 20\n\n"
    )
    doc = _scenario_text(seg + _holdout("email", 25, 10))
    sc = parse_scenario(tomllib.loads(doc), "s.toml")
    with pytest.raises(WorkbenchError, match="segmentation_holdout"):
        build_calendar(sc)
    other = _scenario_text(seg + _holdout("sms", 25, 10))  # other channels may overlap it
    build_calendar(parse_scenario(tomllib.loads(other), "s.toml"))


def test_default_scenario_holds_out_every_paid_or_owned_channel() -> None:
    sc = load_scenario("default")
    held = {e.channel: e for e in sc.experiments if e.kind == "channel_holdout"}
    assert set(held) == set(HELD)
    factorial = [held[ch] for ch in ("sms", "push", "in_app", "paid_retargeting")]
    assert {(e.start_day, e.length_days, e.shares) for e in factorial} == {(35, 91, (0.5, 0.5))}
    build_calendar(sc)  # no forbidden overlap


def test_truth_channels_email_includes_the_lifecycle(tmp_path: Path) -> None:
    """Without any email nobody opens one: the no-email lifecycle equals the world's own."""
    text = _scenario_text("", subscribers=800, days=28)
    text = text.replace('email_weekdays = ["tue", "thu"]', "email_weekdays = []")
    text = text.replace('flows = ["welcome", "cart_abandonment", "reactivation"]', "flows = []")
    toml = tmp_path / "no-email.toml"
    toml.write_text(text)
    world = generate_world(str(toml), seed=2, out=tmp_path / "w")
    ch = load_truth(world, tables=["truth_channels"])["truth_channels"].set_index("channel")
    assert ch.loc["email", "conversions_without"] == ch.loc["email", "conversions"]
    assert ch.loc["email", "revenue_without"] == pytest.approx(ch.loc["email", "revenue"])
    # with email, the counterfactual loses orders (the direct effect and the lifecycle's)
    full = load_truth(
        generate_world("tiny", n_subscribers=800, seed=2, out=tmp_path / "t"),
        tables=["truth_channels"],
    )["truth_channels"].set_index("channel")
    assert full.loc["email", "conversions_without"] < full.loc["email", "conversions"]
