"""Generator 1.7: opens that follow delivery, broadcasts at varied hours, and flow holdouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.errors import WorkbenchError
from workbench.schema import load_world
from workbench.synth import generate_world
from workbench.synth.calendar import build_calendar
from workbench.synth.scenario import InboxSpec, parse_scenario
from workbench.synth.simulate import hour_fit
from workbench.truth import load_truth

SCENARIOS = Path(__file__).parents[1] / "workbench" / "scenarios"
HOURS = (14, 17, 20, 23, 2)


def _doc(experiments: list[dict] | None = None, **calendar: object) -> dict:
    return {
        "scenario": {"name": "t", "subscribers": 100, "days": 56},
        "calendar": {"flows": ["welcome", "cart_abandonment", "reactivation"], **calendar},
        "experiments": experiments or [],
    }


def _flow_holdout(flow: str, start: int = 0, length: int = 28, **kw: object) -> dict:
    return {
        "kind": "flow_holdout",
        "name": f"{flow} holdout {start}",
        "flow": flow,
        "start_day": start,
        "length_days": length,
        "conversion_window_days": 14,
        **kw,
    }


# ----------------------------------------------------------------------------- the scenario


@pytest.mark.parametrize(
    ("doc", "needle"),
    [
        ({**_doc(), "inbox": {"open_timing": "later"}}, "inbox.open_timing: 'later' not in"),
        ({**_doc(), "inbox": {"attention_hours": 0}}, "inbox.attention_hours"),
        ({**_doc(), "inbox": {"hour_effect": 1.5}}, "inbox.hour_effect"),
        ({**_doc(), "inbox": {"mood": 1}}, "inbox.mood"),
        (_doc(send_hours_utc=[14, 25]), "calendar.send_hours_utc[1]"),
        (_doc(send_hours_utc=14), "calendar.send_hours_utc"),
        (_doc([{"kind": "flow_holdout"}]), "experiments[0].flow"),
        (_doc([_flow_holdout("birthday")]), "'birthday' not in welcome"),
    ],
)
def test_bad_keys_name_themselves(doc: dict, needle: str) -> None:
    with pytest.raises(WorkbenchError) as exc:
        parse_scenario(doc, "s.toml")
    assert needle in str(exc.value)


def test_flow_holdouts_that_cannot_run_are_refused() -> None:
    off = _doc([_flow_holdout("welcome")])
    off["calendar"]["flows"] = ["cart_abandonment"]
    with pytest.raises(WorkbenchError, match=r"experiments\[0\]\.flow: 'welcome' is not among"):
        build_calendar(parse_scenario(off))
    email = {"kind": "channel_holdout", "channel": "email", "start_day": 35, "length_days": 7}
    # the flow holdout governs 28 + 14 days: an email holdout from day 35 overlaps it
    with pytest.raises(WorkbenchError, match="overlaps"):
        build_calendar(parse_scenario(_doc([_flow_holdout("welcome"), email])))
    with pytest.raises(WorkbenchError, match="another welcome holdout"):
        build_calendar(
            parse_scenario(_doc([_flow_holdout("welcome"), _flow_holdout("welcome", 30)]))
        )
    # after the window plus its 14 days: allowed
    ok = {**email, "start_day": 42}
    build_calendar(parse_scenario(_doc([_flow_holdout("welcome"), ok])))
    build_calendar(parse_scenario(_doc([_flow_holdout("welcome"), _flow_holdout("welcome", 42)])))


def test_broadcasts_rotate_through_the_send_hours() -> None:
    cal = build_calendar(parse_scenario(_doc(send_hours_utc=list(HOURS))))
    email = [c for c in cal.campaigns if c.kind == "broadcast" and c.channel == "email"]
    hours = [((cal.slot(c.day) + c.offset) % 86_400) / 3600 for c in email]
    assert hours[: 2 * len(HOURS)] == [float(h) for h in HOURS * 2]
    assert all(0 <= c.offset < 86_400 for c in email)  # each stays in its day's slot
    others = [c for c in cal.campaigns if c.kind == "broadcast" and c.channel != "email"]
    assert others and all(c.offset == 0 for c in others)
    plain = build_calendar(parse_scenario(_doc()))
    assert all(c.offset == 0 for c in plain.campaigns)


# ------------------------------------------------------------------------------ hour_fit


def test_hour_fit_is_one_on_average_and_peaks_just_before_the_preferred_hour() -> None:
    grid = np.arange(0, 24, 0.05)
    for pref in (0.0, 7.5, 19.0):
        f = hour_fit(grid, pref)
        assert f.mean() == pytest.approx(1.0, abs=2e-3)
        best = grid[np.argmax(f)]
        ahead = (pref - best) % 24  # hours before the preferred hour
        assert 0 <= ahead < 3
        assert f.min() >= 1 - InboxSpec().hour_effect - 1e-9
    # 23:30 and 00:30 around a midnight preference: mirror images, not 23 h apart
    assert hour_fit(23.5, 0.0) > hour_fit(12.0, 0.0)
    flat = InboxSpec(open_timing="after_delivery", hour_effect=0.0)
    assert np.allclose(hour_fit(grid, 9.0, flat), 1.0)


# ----------------------------------------------------------------------- a world of 1.7


def _scenario_text(subscribers: int = 6000, days: int = 56, shares: str = "[0.5, 0.5]") -> str:
    """The tiny scenario's people, inbox and varied send hours, with two flow holdouts."""
    text = (SCENARIOS / "tiny.toml").read_text()
    head = text[: text.index("[[experiments]]")]
    head = head.replace("subscribers = 2000", f"subscribers = {subscribers}")
    head = head.replace("days = 70", f"days = {days}")
    # tiny already has the inbox of generator 1.7 and the send hours
    assert f"send_hours_utc = {list(HOURS)}" in head and 'open_timing = "after_delivery"' in head
    exps = ""
    for flow in ("welcome", "cart_abandonment"):
        exps += (
            f'[[experiments]]\nname = "{flow} holdout"\nkind = "flow_holdout"\nflow = "{flow}"\n'
            f"start_day = 3\nlength_days = 35\nconversion_window_days = 14\nshares = {shares}\n\n"
        )
    return head + exps


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("timing")
    toml = root / "timing.toml"
    toml.write_text(_scenario_text())
    return [generate_world(str(toml), seed=s, out=root / f"w{s}") for s in (31, 32, 33)]


def _human_opens(world: Path) -> pd.DataFrame:
    """Delivered broadcasts with their human open (if any), local delivery hour and preference.

    Broadcasts only: a flow message (one campaign) can reach a subscriber several times.
    """
    w = load_world(world, tables=["subscribers", "email_events", "campaigns"])
    ev = w["email_events"]
    bc = w["campaigns"].loc[w["campaigns"]["kind"] == "broadcast", "campaign_id"]
    ev = ev[ev["campaign_id"].isin(bc)]
    key = ["subscriber_id", "campaign_id"]
    dl = ev[ev["event_type"] == "delivered"].drop_duplicates(key)[[*key, "ts"]]
    op = ev[(ev["event_type"] == "opened") & ~ev["is_machine_open"]].groupby(key)["ts"].min()
    dl = dl.join(op.rename("opened_ts"), on=key)
    tz = w["subscribers"].set_index("subscriber_id")["tz_offset_h"]
    local = dl["ts"] + pd.to_timedelta(dl["subscriber_id"].map(tz).to_numpy(), unit="h")
    dl["local_hour"] = local.dt.hour + local.dt.minute / 60
    dl["weekend"] = local.dt.day_of_week >= 5
    pref = load_truth(world)["truth_subscribers"].set_index("subscriber_id")
    dl["pref"] = np.where(
        dl["weekend"],
        dl["subscriber_id"].map(pref["weekend_hour"]),
        dl["subscriber_id"].map(pref["weekday_hour"]),
    )
    return dl


def test_opens_follow_delivery(worlds: list[Path]) -> None:
    dl = _human_opens(worlds[0])
    delay = (dl["opened_ts"] - dl["ts"]).dt.total_seconds().dropna() / 3600
    assert len(delay) > 5000
    # most opens within hours of delivery (real inboxes), not at the next preferred hour
    assert (delay < 6).mean() > 0.7
    assert delay.median() < 4
    assert delay.max() <= 72 + 1 / 6
    # the broadcasts went out at the five hours
    camps = load_world(worlds[0], tables=["campaigns"])["campaigns"]
    email = camps[(camps["kind"] == "broadcast") & (camps["channel"] == "email")]
    assert set(email["sent_ts"].dt.hour) == set(HOURS)


def test_landing_near_the_preferred_hour_is_opened_more(worlds: list[Path]) -> None:
    dl = pd.concat([_human_opens(w) for w in worlds])
    gap = np.abs((dl["local_hour"] - dl["pref"] + 12) % 24 - 12)
    opened = dl["opened_ts"].notna()
    near, far = opened[gap <= 2], opened[gap >= 8]
    se = np.sqrt(near.var() / len(near) + far.var() / len(far))
    # hour_fit: about +30% near the preferred hour and -20% far from it (hour_effect 0.3)
    assert near.mean() / far.mean() > 1.2
    assert near.mean() - far.mean() > 6 * se
    # and the hour an email is opened is closer to the preference than the hour it arrived
    op = dl[opened]
    t_open = op["local_hour"] + (op["opened_ts"] - op["ts"]).dt.total_seconds() / 3600
    gap_open = np.abs((t_open - op["pref"] + 12) % 24 - 12)
    gap_sent = np.abs((op["local_hour"] - op["pref"] + 12) % 24 - 12)
    assert gap_open.mean() < gap_sent.mean() - 0.5


def test_flow_holdout_assigns_entrants_and_withholds_the_flow(worlds: list[Path]) -> None:
    w = load_world(worlds[0])
    ex = w["experiments"].set_index("flow")
    subs = w["subscribers"].set_index("subscriber_id")
    camps = w["campaigns"]
    ev = w["email_events"]
    for flow in ("welcome", "cart_abandonment"):
        e = ex.loc[flow]
        assert e["kind"] == "flow_holdout" and e["control_arm"] == "holdout"
        assert e["conversion_window_days"] == 14
        a = w["assignments"][w["assignments"]["experiment_id"] == e["experiment_id"]]
        assert a["subscriber_id"].is_unique and len(a) > 200
        n_hold = int(a["is_holdout"].sum())
        assert abs(n_hold - len(a) / 2) < 4 * np.sqrt(len(a) / 4)
        start = e["start_ts"]
        assert (a["assigned_ts"] >= start).all()
        assert (a["assigned_ts"] < start + pd.Timedelta(days=35)).all()
        if flow == "welcome":  # entered on signing up, 5 minutes after it
            signup = a["subscriber_id"].map(subs["signup_ts"])
            assert ((a["assigned_ts"] - signup) == pd.Timedelta(seconds=300)).all()
        steps = camps.loc[camps["flow"] == flow, "campaign_id"]
        got = ev[(ev["event_type"] == "sent") & ev["campaign_id"].isin(steps)]
        got = got.merge(a, on="subscriber_id")
        end = start + pd.Timedelta(days=35 + 14)
        governed = (got["ts"] >= got["assigned_ts"]) & (got["ts"] < end)
        assert not (governed & got["is_holdout"]).any()  # the held-out get none of it
        exposed = a.loc[~a["is_holdout"], "subscriber_id"]
        assert exposed.isin(got.loc[governed, "subscriber_id"]).mean() > 0.9


def test_flow_holdout_truth_matches_what_happens(worlds: list[Path]) -> None:
    """Observed converters per arm against the truth's expected conversion of the same people.

    The truth gives each entrant's chance of an order within 14 days of entering under each arm;
    the held-out arm's orders are drawn from exactly it, the exposed arm's from the realised
    flow emails (whose mean it is). z uses the Poisson-binomial variance sum p(1-p).
    """
    zs, effects = [], []
    for world in worlds:
        w = load_world(world, tables=["experiments", "assignments", "orders"])
        resp = load_truth(world)["truth_responses"]
        for e in w["experiments"].itertuples():
            a = w["assignments"][w["assignments"]["experiment_id"] == e.experiment_id]
            o = w["orders"][["subscriber_id", "ts"]].merge(a, on="subscriber_id")
            window = pd.Timedelta(days=int(e.conversion_window_days))
            o = o[(o["ts"] >= o["assigned_ts"]) & (o["ts"] < o["assigned_ts"] + window)]
            conv = a["subscriber_id"].isin(o["subscriber_id"])
            r = resp[resp["experiment_id"] == e.experiment_id]
            p = r.pivot_table(index="subscriber_id", columns="arm", values="conversion_prob")
            assert set(p.index) == set(a["subscriber_id"])
            assert (p["exposed"] >= p["holdout"] - 1e-12).all()
            effects.append((p["exposed"] - p["holdout"]).mean())
            for arm in ("exposed", "holdout"):
                who = a["arm"] == arm
                q = p.loc[a.loc[who, "subscriber_id"], arm].to_numpy()
                zs.append((conv[who].sum() - q.sum()) / np.sqrt((q * (1 - q)).sum()))
    zs = np.array(zs)
    assert np.all(np.abs(zs) < 4.5), zs
    assert abs(zs.mean()) < 4.5 / np.sqrt(len(zs)), zs
    assert min(effects) > 0.005  # the flows do something
