"""Tests of workbench.synth: scenario parsing, generated worlds, determinism, truth, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench._io import tree_sha256
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.schema import TABLES, load_world
from workbench.synth import SCENARIOS, Scenario, generate_world, load_scenario, parse_scenario
from workbench.synth.personas import PERSONAS
from workbench.truth import TRUTH_FILE, load_truth


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_world(
        "tiny", n_subscribers=1500, seed=3, out=tmp_path_factory.mktemp("w") / "t"
    )


@pytest.fixture(scope="module")
def world(tiny: Path):
    return load_world(tiny)


@pytest.fixture(scope="module")
def truth(tiny: Path):
    return load_truth(tiny)


# ------------------------------------------------------------------------------ scenarios


@pytest.mark.parametrize("name", SCENARIOS)
def test_builtin_scenarios_parse(name: str) -> None:
    sc = load_scenario(name)
    assert isinstance(sc, Scenario) and sc.name == name
    assert abs(sum(sc.shares.values()) - 1) < 1e-12
    kinds = {e.kind for e in sc.experiments}
    assert {"ab_test", "factorial", "segmentation_holdout", "channel_holdout"} <= kinds
    assert any(len(e.arms) >= 3 for e in sc.experiments if e.kind == "ab_test")
    assert len(sc.personas) >= 9


def test_large_scenario_size() -> None:
    sc = load_scenario("large")
    assert sc.n_subscribers == 1_000_000 and sc.days == 90


def _doc(**extra: object) -> dict:
    d: dict = {"scenario": {"name": "mine", "subscribers": 300, "days": 21}}
    d.update(extra)
    return d


def test_user_file(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text(
        '[scenario]\nname = "mine"\nsubscribers = 300\nstart = 2024-03-04\ndays = 28\n'
        "[scenario.personas]\nloyal_buyer = 2\nlapsing = 1\n"
        "[personas.loyal_buyer]\npurchase_rate = 0.05\nconsent = { sms = 0.9 }\n"
        '[[experiments]]\nkind = "ab_test"\narms = ["control", "discount"]\nbroadcast = 1\n'
    )
    sc = load_scenario(f)
    assert sc.shares == pytest.approx({"loyal_buyer": 2 / 3, "lapsing": 1 / 3})
    p = sc.personas["loyal_buyer"]
    assert p.purchase_rate == 0.05
    assert (
        p.consent["sms"] == 0.9 and p.consent["email"] == PERSONAS["loyal_buyer"].consent["email"]
    )
    assert sc.experiments[0].control_arm == "control"


@pytest.mark.parametrize(
    ("doc", "needles"),
    [
        (_doc(bogus=1), ["<top>.bogus", "allowed: scenario, personas"]),
        (
            {"scenario": {"name": "x", "personas": {"foo": 1}}},
            ["scenario.personas.foo", "unknown persona 'foo'", "allowed: new_onboarding"],
        ),
        (_doc(experiments=[{"kind": "xyz"}]), ["experiments[0].kind", "'xyz' not in ab_test"]),
        (_doc(calendar={"email_weekdays": ["tue", "funday"]}), ["calendar.email_weekdays[1]"]),
        (_doc(personas={"caregiver": {"open_rate": 1.5}}), ["personas.caregiver.open_rate"]),
        (_doc(personas={"caregiver": {"shoe_size": 3}}), ["personas.caregiver.shoe_size"]),
        ({"scenario": {"name": "x", "days": "many"}}, ["scenario.days", "expected an integer"]),
        ({"scenario": {}}, ["scenario.name"]),
        (
            _doc(experiments=[{"kind": "ab_test", "arms": ["a"]}]),
            ["experiments[0].arms", ">= 2"],
        ),
        (
            _doc(experiments=[{"kind": "channel_holdout", "channel": "fax"}]),
            ["experiments[0].channel", "'fax' not in email, sms"],
        ),
    ],
)
def test_invalid_scenarios_name_the_key(doc: dict, needles: list[str]) -> None:
    with pytest.raises(WorkbenchError) as exc:
        parse_scenario(doc, "s.toml")
    msg = str(exc.value)
    assert msg.startswith("s.toml: ")
    for needle in needles:
        assert needle in msg


def test_bad_toml_and_unknown_name(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_text("[scenario\nname=")
    with pytest.raises(WorkbenchError, match="invalid TOML"):
        load_scenario(f)
    with pytest.raises(WorkbenchError, match="unknown scenario 'nope'"):
        load_scenario("nope")


def test_broadcast_out_of_range(tmp_path: Path) -> None:
    doc = _doc(experiments=[{"kind": "ab_test", "arms": ["a", "b"], "broadcast": 999}])
    with pytest.raises(WorkbenchError, match=r"experiments\[0\]\.broadcast"):
        generate_world(parse_scenario(doc), out=tmp_path / "w")


# ------------------------------------------------------------------------------ the world


def test_world_validates_and_has_every_table(tiny: Path, world, truth) -> None:
    for name in TABLES:
        assert (name in truth) if TABLES[name].truth else (name in world), name
    assert (tiny / "truth_lifecycle.parquet").is_file()
    meta = json.loads((tiny / "world.json").read_text())
    assert meta["seed"] == 3 and meta["n_subscribers"] == 1500
    assert meta["scenario"]["name"] == "tiny" and meta["generator_version"]
    assert meta["rows"]["subscribers"] == 1500 == len(world["subscribers"])
    assert meta["rows"]["email_events"] == len(world["email_events"])
    # the truth's row counts and the scenario as simulated live in the truth file
    kept = json.loads((tiny / TRUTH_FILE).read_text())
    assert kept["rows"]["truth_subscribers"] == 1500 == len(truth["truth_subscribers"])
    assert kept["scenario"]["personas"]["loyal_buyer"]["arm_response"]


def test_parquet_columns_follow_contract(tiny: Path) -> None:
    import pyarrow.parquet as pq

    for name in ("email_events", "touchpoints", "orders", "assignments", "campaigns"):
        schema = pq.read_schema(tiny / f"{name}.parquet")
        want = TABLES[name].arrow_schema(
            [c for c in TABLES[name].column_names if c in schema.names]
        )
        assert schema.names == want.names
        assert [f.type for f in schema] == [f.type for f in want]
        assert schema.metadata is None or b"pandas" not in schema.metadata


def test_event_mix_is_plausible(world) -> None:
    ev = world["email_events"]
    counts = ev["event_type"].value_counts()
    assert counts["delivered"] > 0.98 * counts["sent"] - counts.get("bounced", 0)
    human = ev[(ev.event_type == "opened") & ~ev.is_machine_open]
    machine = ev[(ev.event_type == "opened") & ev.is_machine_open]
    assert 0.1 < len(human) / counts["delivered"] < 0.6
    assert 0.2 < len(machine) / counts["delivered"] < 0.7
    assert 0 < counts["clicked"] < len(human)
    assert counts["unsubscribed"] < 0.01 * counts["delivered"]
    tp = world["touchpoints"]
    assert set(tp["channel"]) == {
        "email",
        "sms",
        "push",
        "in_app",
        "paid_retargeting",
        "organic_search",
        "direct",
    }


def test_personas_show_their_reading_hours(world, truth) -> None:
    """Human opens by local hour: busy professionals early, caregivers late."""
    ev = world["email_events"]
    opens = ev[(ev.event_type == "opened") & ~ev.is_machine_open]
    subs = world["subscribers"].merge(truth["truth_subscribers"], on="subscriber_id")
    o = opens.merge(subs[["subscriber_id", "tz_offset_h", "persona"]], on="subscriber_id")
    local = o["ts"] + pd.to_timedelta(o["tz_offset_h"], unit="h")
    o["hour"] = local.dt.hour + local.dt.minute / 60
    med = o.groupby("persona")["hour"].median()
    assert med["busy_professional"] < 11 < med["caregiver"]


def test_truth_tables(world, truth) -> None:
    te = truth["truth_effects"]
    exps = world["experiments"]
    assert set(te["experiment_id"]) == set(exps["experiment_id"])
    ctrl = te.merge(exps[["experiment_id", "control_arm"]], on="experiment_id")
    at_control = ctrl[ctrl.arm == ctrl.control_arm]
    assert np.allclose(at_control["lift_vs_control"], 0)
    # heterogeneity: some arm helps one persona and hurts another
    ab = te[te.experiment_id == 1]
    assert (ab.lift_vs_control > 0.01).any() and (ab.lift_vs_control < -0.01).any()
    seg = te[
        te.experiment_id == exps.loc[exps.kind == "segmentation_holdout", "experiment_id"].iloc[0]
    ]
    piv = seg.pivot(index="persona", columns="arm", values="conversion_rate")
    assert (piv["mass"] >= piv["holdout"]).all() and (piv["segmented"] >= piv["holdout"]).all()
    tc = truth["truth_channels"].set_index("channel")
    assert (tc["conversions_without"] <= tc["conversions"]).all()
    assert tc.loc["direct", "incremental_conversions"] == 0
    assert tc.loc["email", "incremental_conversions"] > tc.loc["in_app", "incremental_conversions"]
    assert tc["conversions"].iloc[0] == len(world["orders"])
    assert np.isclose(tc.loc["email", "revenue"], world["orders"]["revenue"].sum(), rtol=1e-6)


def test_assignments_balanced_and_holdouts_get_nothing(world) -> None:
    asg, exps, camps = world["assignments"], world["experiments"], world["campaigns"]
    ab = asg[asg.experiment_id == 1]["arm"].value_counts()
    assert ab.max() - ab.min() <= 1
    seg_id = exps.loc[exps.kind == "segmentation_holdout", "experiment_id"].iloc[0]
    seg = exps.set_index("experiment_id").loc[seg_id]
    hold = asg[(asg.experiment_id == seg_id) & asg.is_holdout]["subscriber_id"]
    assert len(hold) > 0 and (asg[asg.experiment_id == seg_id].arm == "holdout").sum() == len(hold)
    window_end = seg.start_ts + pd.Timedelta(days=int(seg.conversion_window_days))
    bc = camps[(camps.kind == "broadcast") & (camps.channel == "email")]
    bc = bc[(bc.sent_ts >= seg.start_ts) & (bc.sent_ts < window_end)]["campaign_id"]
    ev = world["email_events"]
    got = ev[ev.campaign_id.isin(bc) & (ev.event_type == "sent") & ev.subscriber_id.isin(hold)]
    assert got.empty
    sms_id = exps.loc[exps.kind == "channel_holdout", "experiment_id"].iloc[0]
    sms_hold = asg[(asg.experiment_id == sms_id) & asg.is_holdout]["subscriber_id"]
    tp = world["touchpoints"]
    assert tp[(tp.channel == "sms") & tp.subscriber_id.isin(sms_hold)].empty


def test_factorial_arm_encoding(world) -> None:
    exps = world["experiments"]
    fac = exps[exps.kind == "factorial"].iloc[0]
    arms = fac["arms"].split("|")
    assert len(arms) == 8 and all(a.count(";") == 2 and "subscribe=" not in a for a in arms)
    assert arms[0] == "subject=plain;image=product;cta=shop"


def test_lifecycle_stages(truth) -> None:
    lc = truth["truth_lifecycle"]
    assert set(lc["stage"]) <= {"new", "active", "lapsing", "lapsed", "reactivated"}
    assert {"new", "active", "lapsing", "lapsed"} <= set(lc["stage"])


# ------------------------------------------------------------------------------ determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate_world("tiny", n_subscribers=400, seed=11, out=tmp_path / "a")
    b = generate_world("tiny", n_subscribers=400, seed=11, out=tmp_path / "b")
    c = generate_world("tiny", n_subscribers=400, seed=12, out=tmp_path / "c")
    assert tree_sha256(a) == tree_sha256(b)
    assert tree_sha256(a / "email_events.parquet") != tree_sha256(c / "email_events.parquet")


def test_chunked_layout_and_worker_independence(tmp_path: Path) -> None:
    sc = load_scenario("tiny")
    sc = Scenario(**{**sc.__dict__, "chunk_size": 150, "days": 42, "n_subscribers": 400})
    a = generate_world(sc, seed=5, out=tmp_path / "a", workers=1)
    b = generate_world(sc, seed=5, out=tmp_path / "b", workers=2)
    assert sorted(p.name for p in (a / "email_events").iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    assert tree_sha256(a) == tree_sha256(b)
    w = load_world(a)
    assert w["subscribers"]["subscriber_id"].tolist() == list(range(1, 401))
    assert w["orders"]["order_id"].is_unique


def test_existing_output_refused(tiny: Path) -> None:
    with pytest.raises(WorkbenchError, match="already exists"):
        generate_world("tiny", n_subscribers=100, out=tiny)


# ------------------------------------------------------------------------------ CLI


def test_cli_generates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "generate",
            "--scenario",
            "tiny",
            "--subscribers",
            "200",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "w"),
            "--quiet",
        ]
    )
    assert rc == 0
    assert "subscribers 200" in capsys.readouterr().out
    load_world(tmp_path / "w")


def test_cli_bad_scenario_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[scenario]\nname = "x"\n[scenario.personas]\nfoo = 1\n')
    rc = main(["generate", "--scenario", str(bad), "--out", str(tmp_path / "w"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1
    assert "scenario.personas.foo" in err and "unknown persona 'foo'" in err
    assert not (tmp_path / "w").exists()


# ------------------------------------------------------------------------------ cadence test


def _cadence_id(world) -> int:
    exps = world["experiments"]
    return int(exps.loc[exps.kind == "cadence_test", "experiment_id"].iloc[0])


def test_cadence_weekdays_nest_around_the_usual_days() -> None:
    from workbench.synth.calendar import cadence_weekdays

    usual = (1, 3)  # tue, thu
    assert cadence_weekdays(usual, None) == usual == cadence_weekdays(usual, 2)
    assert cadence_weekdays(usual, 1) == (1,)
    assert cadence_weekdays(usual, 4) == (0, 1, 3, 5)
    assert cadence_weekdays(usual, 6) == (0, 1, 2, 3, 4, 5)
    assert cadence_weekdays(usual, 7) == tuple(range(7))
    assert cadence_weekdays(usual, 0) == ()
    for k in range(8):
        assert len(cadence_weekdays(usual, k)) == k


def test_cadence_assignment_is_balanced(world) -> None:
    cid = _cadence_id(world)
    exps = world["experiments"].set_index("experiment_id")
    arms = exps.loc[cid, "arms"].split("|")
    assert exps.loc[cid, "control_arm"] == arms[0] == "2_per_week"
    asg = world["assignments"]
    asg = asg[asg.experiment_id == cid]
    counts = asg["arm"].value_counts()
    assert set(counts.index) == set(arms)
    assert counts.max() - counts.min() <= 1
    # half of the subscribers who joined before the test start
    subs = world["subscribers"]
    base = (subs["signup_ts"] < exps.loc[cid, "start_ts"]).sum()
    assert abs(len(asg) - 0.5 * base) <= 1
    assert not asg["is_holdout"].any()


def test_cadence_arms_realise_their_weekly_volume(world) -> None:
    cid = _cadence_id(world)
    exp = world["experiments"].set_index("experiment_id").loc[cid]
    start = exp["start_ts"]
    end = start + pd.Timedelta(days=int(exp["conversion_window_days"]))
    camps = world["campaigns"]
    bc = camps[(camps.kind == "broadcast") & (camps.channel == "email")]
    bc = bc[(bc.sent_ts >= start) & (bc.sent_ts < end)]
    assert (bc["experiment_id"] == cid).sum() > 0  # extra broadcasts carry the test
    ev = world["email_events"]
    sent = ev[(ev.event_type == "sent") & ev.campaign_id.isin(bc["campaign_id"])]
    per_sub = sent.groupby("subscriber_id").size()
    asg = world["assignments"]
    asg = asg[asg.experiment_id == cid].set_index("subscriber_id")["arm"]
    subs = world["subscribers"].set_index("subscriber_id")
    reach = subs["email_consent"] & subs["unsubscribed_ts"].isna()
    got = per_sub.reindex(asg.index, fill_value=0)[reach.reindex(asg.index)]
    weeks = (end - start).days / 7
    mean = got.groupby(asg).mean() / weeks
    # never more than the arm's schedule; close to it for those who stayed reachable
    for arm in ("1_per_week", "2_per_week", "4_per_week", "6_per_week"):
        k = int(arm[0])
        assert (got[asg.reindex(got.index) == arm] <= k * weeks).all()
        assert k - 0.3 <= mean[arm] <= k, (arm, mean[arm])
    # non-participants get only the usual broadcasts
    others = per_sub.drop(asg.index, errors="ignore")
    assert others.max() <= 2 * weeks
    # cadence broadcasts go to participants only, labelled with their arm
    extra = sent[sent.campaign_id.isin(bc.loc[bc.experiment_id == cid, "campaign_id"])]
    assert extra["subscriber_id"].isin(asg.index).all()
    assert (extra["variant"].to_numpy() == asg.loc[extra["subscriber_id"]].to_numpy()).all()
    assert set(extra["variant"]) == {"4_per_week", "6_per_week"}


def test_cadence_truth_shows_fatigue(world, truth) -> None:
    te = truth["truth_effects"]
    te = te[te.experiment_id == _cadence_id(world)].set_index(["persona", "arm"])
    assert te["broadcasts_per_week"].notna().all() and te["open_rate"].notna().all()
    for persona in ("busy_professional", "lapsing", "caregiver"):
        t = te.loc[persona]
        # more email: fewer opens per email and more unsubscribes (tolerance <= 3 a week)
        assert t.loc["6_per_week", "open_rate"] < t.loc["2_per_week", "open_rate"]
        assert t.loc["6_per_week", "unsubscribe_rate"] > t.loc["2_per_week", "unsubscribe_rate"]
        assert (
            t.loc["1_per_week", "broadcasts_per_week"]
            < t.loc["2_per_week", "broadcasts_per_week"]
            < t.loc["4_per_week", "broadcasts_per_week"]
            < t.loc["6_per_week", "broadcasts_per_week"]
            <= 6
        )
    other = truth["truth_effects"]
    assert other.loc[other.experiment_id != _cadence_id(world), "open_rate"].isna().all()


def test_cadence_scenario_errors() -> None:
    bad_arm = _doc(experiments=[{"kind": "cadence_test", "arms": ["control", "9_per_week"]}])
    with pytest.raises(WorkbenchError, match=r"experiments\[0\]\.arms.*N_per_week"):
        parse_scenario(bad_arm, "s.toml")
    share = _doc(experiments=[{"kind": "ab_test", "arms": ["a", "b"], "base_share": 0.5}])
    with pytest.raises(WorkbenchError, match=r"experiments\[0\]\.base_share"):
        parse_scenario(share, "s.toml")
    clash = _doc(
        experiments=[
            {"kind": "cadence_test", "arms": ["control", "4_per_week"], "start_day": 7},
            {"kind": "segmentation_holdout", "start_day": 0, "length_days": 14},
        ]
    )
    from workbench.synth.calendar import build_calendar

    with pytest.raises(WorkbenchError, match="overlaps segmentation_holdout"):
        build_calendar(parse_scenario(clash))


# ------------------------------------------------------------------------------ email column


def test_email_column_uses_a_reserved_domain(world) -> None:
    subs = world["subscribers"]
    email = subs["email"]
    assert email.is_unique and email.notna().all()
    assert (email == "subscriber-" + subs["subscriber_id"].astype(str) + "@example.com").all()
    domains = email.str.split("@").str[1]
    assert domains.isin(["example.com", "example.org", "example.net"]).all()
