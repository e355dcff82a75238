"""The strategy lab's engine (replays in a world's truth), the per-participant truth, the lab.

The replay must *be* the world: re-simulated to the end of its period it has the world's
unsubscribes exactly, a plan that sends nothing is the baseline exactly, and the truth of every
participant adds up to the truth per persona the generator wrote before (``truth_effects``).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.synth import generate_world, load_scenario
from workbench.synth.replay import OUTCOMES, Plan, WorldReplay, cadence_mask, weekday_mask
from workbench.synth.scenario import Scenario
from workbench.truth import load_truth


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    return generate_world("tiny", seed=5, out=tmp_path_factory.mktemp("w") / "tiny")


@pytest.mark.parametrize("name", ["tiny", "default", "large"])
def test_a_scenario_comes_back_from_its_record(name: str) -> None:
    sc = load_scenario(name)
    data = json.loads(json.dumps(sc.to_dict()))
    assert Scenario.from_dict(data, sc.holdout_days) == sc


def test_the_replay_is_the_world(world) -> None:
    assert WorldReplay(world).check() == 0


def test_truth_responses_add_up_to_truth_effects(world) -> None:
    t = load_truth(world, tables=["truth_responses", "truth_effects", "truth_subscribers"])
    resp = t["truth_responses"].merge(
        t["truth_subscribers"][["subscriber_id", "persona"]], on="subscriber_id"
    )
    got = resp.groupby(["experiment_id", "persona", "arm"]).agg(
        n=("conversion_prob", "size"),
        conversion_rate=("conversion_prob", "mean"),
        revenue_per_recipient=("expected_revenue", "mean"),
    )
    want = t["truth_effects"].set_index(["experiment_id", "persona", "arm"])
    got = got.reindex(want.index)
    assert (got["n"].to_numpy() == want["n_recipients"].to_numpy()).all()
    for col in ("conversion_rate", "revenue_per_recipient"):
        np.testing.assert_allclose(got[col], want[col], rtol=1e-9, atol=1e-12)
    # every participant has every arm of their experiment, once
    arms = resp.groupby(["experiment_id", "subscriber_id"])["arm"].nunique()
    sizes = resp.groupby("experiment_id")["arm"].nunique()
    assert (arms == sizes.reindex(arms.index.get_level_values(0)).to_numpy()).all()


def test_a_plan_that_sends_nothing_is_the_baseline(world) -> None:
    rep = WorldReplay(world)
    nobody = Plan("nobody", np.zeros(rep.n, bool))
    everyone = Plan("mass", np.ones(rep.n, bool))
    out = {name: df for _, name, df in rep.play([nobody, everyone], days=14, seed=1)}
    pd.testing.assert_frame_equal(out["none"], out["nobody"])
    assert list(out["mass"].columns) == list(OUTCOMES)
    assert out["none"]["broadcasts"].sum() == 0
    # two broadcasts a week to the reachable base: more conversions and more unsubscribes
    assert out["mass"]["broadcasts"].sum() > 2 * rep.n * 0.5
    assert out["mass"]["conversions"].sum() > out["none"]["conversions"].sum()
    assert out["mass"]["unsubscribed"].sum() >= out["none"]["unsubscribed"].sum()


def test_replays_repeat_with_their_seed_and_differ_between_replications(world) -> None:
    rep = WorldReplay(world)
    plan = [Plan("mass", np.ones(rep.n, bool))]
    a = [df for _, name, df in rep.play(plan, days=7, replications=2, seed=3) if name == "mass"]
    b = [df for _, name, df in rep.play(plan, days=7, replications=2, seed=3) if name == "mass"]
    pd.testing.assert_frame_equal(a[0], b[0])
    pd.testing.assert_frame_equal(a[1], b[1])
    assert not a[0].equals(a[1])


def test_a_plan_follows_its_weekdays_and_list(world) -> None:
    rep = WorldReplay(world)
    half = np.zeros(rep.n, bool)
    half[: rep.n // 2] = True
    once = np.full(rep.n, cadence_mask(rep.usual, 1), np.uint8)
    daily = np.full(rep.n, weekday_mask(range(7)), np.uint8)
    plans = [
        Plan("half", half),
        Plan("once", np.ones(rep.n, bool), weekdays=once),
        Plan("daily", np.ones(rep.n, bool), weekdays=daily),
    ]
    out = {name: df for _, name, df in rep.play(plans, days=14, seed=0)}
    assert out["half"]["broadcasts"].to_numpy()[rep.n // 2 :].sum() == 0
    # two weeks: at most 2 broadcasts once a week, at most 14 daily, daily tires people out
    assert out["once"]["broadcasts"].max() <= 2
    assert out["daily"]["broadcasts"].max() <= 14
    assert out["daily"]["fatigued"].sum() > out["once"]["fatigued"].sum()
    assert out["daily"]["unsubscribed"].sum() > out["once"]["unsubscribed"].sum()


def test_a_world_without_truth_cannot_be_replayed(tmp_path) -> None:
    with pytest.raises(WorkbenchError, match="truth_scenario.json"):
        WorldReplay(tmp_path)


# ------------------------------------------------------------------------------ the lab


@pytest.fixture(scope="module")
def lab(world):
    from workbench.strategy import run_lab

    return run_lab(world, weeks=2, replications=3, budget=0.4, seed=2, k=4)


def test_the_lab_reports_every_policy_with_intervals_and_promises(lab, world) -> None:
    t = lab.policies.set_index("policy")
    assert list(t.index) == ["mass", "playbook", "uplift", "random"]
    n = lab.settings["subscribers"]
    assert t.loc["mass", "targeted"] == t.loc["playbook", "targeted"] == n
    # uplift and random targeting send to the same number of subscribers: 40% of the reachable
    from workbench.features import compute_features

    reachable = int(compute_features(world)["email_reachable"].sum())
    assert 0 < reachable < n
    assert t.loc["uplift", "targeted"] == t.loc["random", "targeted"] == round(0.4 * reachable)
    for col in ("incremental_conversions", "incremental_revenue", "unsubscribes"):
        assert (t[f"{col}_low"] <= t[col]).all() and (t[col] <= t[f"{col}_high"]).all()
    assert (t["incremental_conversions"] > 0).all() and (t["broadcasts"] > 0).all()
    assert t["promised_conversions"].notna().all()
    np.testing.assert_allclose(
        t["promise_error"], t["promised_conversions"] - t["incremental_conversions"]
    )
    assert set(lab.replications["policy"]) == {"none", *t.index}
    assert len(lab.replications) == 3 * 5


def test_the_segments_add_up_to_the_policy(lab) -> None:
    seg = lab.segments.groupby("policy", sort=False)[
        ["incremental_conversions", "incremental_revenue", "broadcasts", "targeted"]
    ].sum()
    pol = lab.policies.set_index("policy").loc[seg.index]
    for col in ("incremental_conversions", "incremental_revenue", "broadcasts", "targeted"):
        np.testing.assert_allclose(seg[col], pol[col], rtol=1e-9, atol=1e-6)
    # every segment of the playbook appears once per policy, with its size
    sizes = lab.segments.groupby("policy")["subscribers"].sum()
    assert (sizes == lab.settings["subscribers"]).all()


def test_the_targeting_table_joins_the_playbook_and_the_uplift_groups(lab) -> None:
    tg = lab.targeting
    shares = [c for c in tg.columns if c.startswith("share_")]
    assert {"segment", "name", "max_emails_per_week", "content", "advice"} <= set(tg.columns)
    np.testing.assert_allclose(tg[shares].sum(axis=1), 1.0)
    assert tg["subscribers"].sum() == lab.settings["subscribers"]


def test_the_verb_writes_its_folder_and_keeps_what_it_should(world, tmp_path) -> None:
    from workbench.cli import main

    out = tmp_path / "lab"
    args = ["strategy", "--world", str(world), "--weeks", "1", "--replications", "2",
            "--policies", "mass,random", "--k", "3", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    files = {p.name for p in out.iterdir()}
    assert {"policies.csv", "segments.csv", "targeting.csv", "replications.csv"} <= files
    table = pd.read_csv(out / "policies.csv")
    assert list(table["policy"]) == ["mass", "random"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["weeks"] == 1 and "auuc" in summary["uplift_test"]
    before = (out / "policies.csv").read_bytes()
    assert main(args) == 2  # an existing result is kept without --overwrite
    assert (out / "policies.csv").read_bytes() == before
    assert main([*args, "--overwrite"]) == 0
    assert (out / "policies.csv").read_bytes() == before  # same seed, same numbers
