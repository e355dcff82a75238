"""Flow analytics: steps, funnels counted by hand, Kaplan–Meier by hand, planted holdout effects.

The funnel is checked against counts made here message by message on the sample world; the
time to conversion against a Kaplan–Meier curve worked out by hand on a world of eight entries;
the holdout estimator against effects planted into copies of the sample world (Monte Carlo over
assignments: the interval's coverage within its simulation error) and, with the scorecard,
against true responses written next to the planted world.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# figure_problems: the report-page inspector every figure of the package passes
from test_plots_look import figure_problems

from workbench.errors import DataError, WorkbenchError
from workbench.flows import (
    flow_findings,
    flow_funnel,
    flow_incrementality,
    flow_steps,
    time_to_conversion,
)
from workbench.flows.funnel import FUNNEL_COLUMNS, STEP_COLUMNS
from workbench.flows.holdout import COLUMNS
from workbench.flows.plots import (
    plot_flow_funnel,
    plot_flow_incrementality,
    plot_time_to_conversion,
)
from workbench.flows.scorecard import score_flow_holdouts
from workbench.paths import datasets_dir, sample_world
from workbench.schema import World, load_world

DAY = pd.Timedelta(days=1)
COUNTS = ["entered", "subscribers", "delivered", "bounced", "opened", "machine_opened_only",
          "clicked", "clicked_unopened", "converted", "unsubscribed", "complained"]  # fmt: skip


@pytest.fixture(scope="module")
def sample() -> World:
    return load_world(sample_world())


@pytest.fixture(scope="module")
def funnel(sample: World) -> pd.DataFrame:
    return flow_funnel(sample)


def _replace(world: World, **tables: pd.DataFrame) -> World:
    return World(world.path, world.meta, {**world.tables, **tables})


def _without_flow_holdouts(world: World) -> World:
    """The world without its flow holdout experiments (the data stay as they are)."""
    ex = world["experiments"]
    gone = ex.loc[ex["kind"] == "flow_holdout", "experiment_id"]
    asg = world["assignments"]
    return _replace(
        world,
        experiments=ex[~ex["experiment_id"].isin(gone)],
        assignments=asg[~asg["experiment_id"].isin(gone)],
    )


def _end(world: World) -> pd.Timestamp:
    return pd.Timestamp(world.meta["start"]).tz_localize("UTC") + world.meta["days"] * DAY


# ------------------------------------------------------------------------------------ steps


def test_steps_of_the_synthetic_flows(sample: World) -> None:
    steps = flow_steps(sample)
    assert list(steps.columns) == list(STEP_COLUMNS)
    welcome = steps[steps["flow"] == "welcome"]
    assert list(welcome["step"]) == ["welcome_1", "welcome_2", "welcome_3"]
    assert list(welcome["step_order"]) == [1, 2, 3]
    # welcome_2 goes out two days after the signup slot, welcome_3 five: between 1 and 2, 4 and 5
    assert 1 <= welcome["days_after_entry"].iloc[1] <= 2 <= 4 <= welcome["days_after_entry"].iloc[2]
    assert set(steps["flow"]) == {"welcome", "cart_abandonment", "reactivation"}
    assert set(steps["recognised_by"]) == {"flow column"}
    # a world written before campaigns had a flow column: the step names still give the flows
    old = _replace(sample, campaigns=sample["campaigns"].drop(columns="flow"))
    again = flow_steps(old)
    assert set(again["recognised_by"]) == {"synthetic flow message"}
    pd.testing.assert_frame_equal(
        again.drop(columns="recognised_by"), steps.drop(columns="recognised_by")
    )


# ------------------------------------------------------------------------------------ funnel


def _hand_funnel(world: World, window_days: float) -> pd.DataFrame:
    """Each flow message and what happened to it, counted event by event in plain Python."""
    camps = world["campaigns"]
    step_of = camps[camps["flow"].notna()].set_index("campaign_id")["name"].to_dict()
    ev = world["email_events"]
    ev = ev[ev["campaign_id"].isin(step_of)]
    ev = ev.assign(t=ev["ts"].dt.as_unit("us").astype("int64")).sort_values("t")
    orders: dict[int, list[int]] = {}
    for sid, t in zip(
        world["orders"]["subscriber_id"],
        world["orders"]["ts"].dt.as_unit("us").astype("int64"),
        strict=True,
    ):
        orders.setdefault(int(sid), []).append(int(t))  # fmt: skip
    window_us = int(window_days * 86_400_000_000)
    events: dict[tuple[int, int], list[tuple[int, str, bool]]] = {}
    for sid, cid, t, kind, machine in zip(
        ev["subscriber_id"],
        ev["campaign_id"],
        ev["t"],
        ev["event_type"],
        ev["is_machine_open"],
        strict=True,
    ):
        key = (int(sid), int(cid))
        events.setdefault(key, []).append((int(t), str(kind), bool(machine)))
    rows = []
    for (sid, cid), evs in events.items():
        sends = sorted({t for t, kind, _ in evs if kind == "sent"})
        messages: list[list[tuple[int, str, bool]]] = [[] for _ in sends]
        for t, kind, machine in evs:  # the latest send at or before the event (else the first)
            k = max([i for i, s in enumerate(sends) if s <= t], default=0)
            messages[k].append((t, kind, machine))
        for mine in messages:
            kinds = {kind for _, kind, _ in mine}
            human = any(kind == "opened" and not m for _, kind, m in mine)
            machine = any(kind == "opened" and m for _, kind, m in mine)
            dl = [t for t, kind, _ in mine if kind == "delivered"]
            conv = bool(dl) and any(min(dl) <= o < min(dl) + window_us for o in orders.get(sid, []))
            rows.append(
                {
                    "step": step_of[cid],
                    "subscriber_id": sid,
                    "delivered": bool(dl),
                    "bounced": "bounced" in kinds,
                    "opened": human,
                    "machine_opened_only": machine and not human,
                    "clicked": "clicked" in kinds,
                    "clicked_unopened": "clicked" in kinds and not human,
                    "converted": conv,
                    "unsubscribed": "unsubscribed" in kinds,
                    "complained": "complained" in kinds,
                }
            )
    m = pd.DataFrame(rows)
    out = m.groupby("step").agg(
        entered=("subscriber_id", "size"),
        subscribers=("subscriber_id", "nunique"),
        **{c: (c, "sum") for c in COUNTS[2:]},
    )
    return out.astype("int64")


def test_funnel_equals_hand_counts(sample: World, funnel: pd.DataFrame) -> None:
    assert list(funnel.columns) == [c for c in FUNNEL_COLUMNS if c != "segment"]
    hand = _hand_funnel(sample, 5)
    got = funnel.set_index("step")[COUNTS].loc[hand.index]
    pd.testing.assert_frame_equal(got, hand[COUNTS], check_names=False)
    cart = funnel.set_index("step").loc["cart_reminder"]
    assert cart["entered"] > cart["subscribers"]  # subscribers re-enter the cart flow
    # stages that must shrink: delivered <= entered, human opens <= delivered, conversions too
    assert (funnel["delivered"] <= funnel["entered"]).all()
    assert (funnel["opened"] <= funnel["delivered"]).all()
    assert (funnel["converted"] <= funnel["delivered"]).all()
    # clicks need not follow a human open (blocked images, machine opens): only the opened
    # clicks are bounded by the opens
    assert (funnel["clicked"] - funnel["clicked_unopened"] <= funnel["opened"]).all()
    assert funnel["conversion_rate"].between(0, 1).all()
    r = funnel.iloc[0]
    assert r["open_rate"] == pytest.approx(r["opened"] / r["delivered"])


def test_machine_opens_are_not_opens(sample: World, funnel: pd.DataFrame) -> None:
    ev = sample["email_events"].copy()
    cid = int(sample["campaigns"].set_index("name").loc["welcome_1", "campaign_id"])
    opens = (ev["campaign_id"] == cid) & (ev["event_type"] == "opened")
    ev.loc[opens, "is_machine_open"] = True
    got = flow_funnel(_replace(sample, email_events=ev)).set_index("step").loc["welcome_1"]
    before = funnel.set_index("step").loc["welcome_1"]
    assert before["opened"] > 0 and got["opened"] == 0
    assert got["machine_opened_only"] == before["opened"] + before["machine_opened_only"]
    # every click of welcome_1 now comes without a human open
    assert got["clicked_unopened"] == got["clicked"] == before["clicked"] > 0


def test_segments_add_up_to_the_total(sample: World, funnel: pd.DataFrame) -> None:
    split = flow_funnel(sample, segments="region")
    assert split["segment"].nunique() > 1
    summed = split.groupby(["flow", "step"])[COUNTS].sum()
    pd.testing.assert_frame_equal(summed, funnel.set_index(["flow", "step"])[COUNTS])
    assert split["revenue"].sum() == pytest.approx(funnel["revenue"].sum())
    # a mapping naming some subscribers: the others are "(none)", still adding up
    some = sample["subscribers"]["subscriber_id"].iloc[:500]
    part = flow_funnel(sample, segments=dict.fromkeys(some, "first 500"))
    assert set(part["segment"]) == {"first 500", "(none)"}
    assert part["entered"].sum() == funnel["entered"].sum()


def test_an_event_belongs_to_the_latest_send_before_it(sample: World) -> None:
    """Two cart reminders to one subscriber: the open after the second is the second's."""
    camps = sample["campaigns"].set_index("name")
    cid = int(camps.loc["cart_reminder", "campaign_id"])
    sid = int(sample["subscribers"]["subscriber_id"].iloc[0])
    t0 = pd.Timestamp(sample.meta["start"]).tz_localize("UTC") + 3 * DAY
    rows = [
        ("sent", t0),
        ("delivered", t0 + pd.Timedelta(seconds=5)),
        ("sent", t0 + 4 * DAY),
        ("delivered", t0 + 4 * DAY + pd.Timedelta(seconds=5)),
        ("opened", t0 + 4 * DAY + pd.Timedelta(hours=1)),
    ]
    ev = pd.DataFrame(
        {
            "subscriber_id": sid,
            "campaign_id": cid,
            "variant": None,
            "event_type": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows], utc=True).as_unit("us"),
            "is_machine_open": False,
        }
    )
    subs = sample["subscribers"].copy()
    subs.loc[subs["subscriber_id"] == sid, "signup_ts"] = t0 - 10 * DAY
    orders = sample["orders"].iloc[:0]
    w = _replace(sample, email_events=ev, orders=orders, subscribers=subs)
    f = flow_funnel(w).set_index("step").loc["cart_reminder"]
    assert (f["entered"], f["subscribers"], f["delivered"], f["opened"]) == (2, 1, 2, 1)


# ------------------------------------------------------------------------ time to conversion


def _write_world(root: Path, subs: pd.DataFrame, camps: pd.DataFrame, ev: pd.DataFrame,
                 orders: pd.DataFrame, meta: dict) -> Path:  # fmt: skip
    root.mkdir(parents=True)
    for name, df in (("subscribers", subs), ("campaigns", camps), ("email_events", ev),
                     ("orders", orders)):  # fmt: skip
        df.to_parquet(root / f"{name}.parquet", index=False)
    (root / "world.json").write_text(json.dumps(meta))
    return root


@pytest.fixture(scope="module")
def km_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight cart entries whose waits are known: (days from send to order, or None)."""
    start = pd.Timestamp("2025-01-01", tz="UTC")
    #            send day, order day after the send (None: no order)
    entries = [(0, 2), (0, 5), (0, None), (35, None), (0, 0.5), (1, 35), (0, None), (0, 10)]
    n = len(entries)
    ids = np.arange(1, n + 1)
    subs = pd.DataFrame(
        {
            "subscriber_id": ids,
            "signup_ts": pd.DatetimeIndex([start - 30 * DAY] * n).as_unit("us"),
            "region": "us",
            "tz_offset_h": 0.0,
            "acquisition_source": "organic",
            "email_consent": True,
            "unsubscribed_ts": pd.NaT,
        }
    )
    subs["unsubscribed_ts"] = pd.to_datetime(subs["unsubscribed_ts"], utc=True).dt.as_unit("us")
    camps = pd.DataFrame(
        {
            "campaign_id": [1],
            "name": ["cart_reminder"],
            "kind": ["triggered"],
            "channel": ["email"],
            "sent_ts": pd.DatetimeIndex([start]).as_unit("us"),
            "experiment_id": pd.array([pd.NA], dtype="Int64"),
        }
    )
    sends = [start + d * DAY for d, _ in entries]
    ev = pd.DataFrame(
        {
            "subscriber_id": np.repeat(ids, 2),
            "campaign_id": 1,
            "variant": None,
            "event_type": ["sent", "delivered"] * n,
            "ts": pd.DatetimeIndex(np.repeat(sends, 2)).as_unit("us"),
            "is_machine_open": False,
        }
    )
    ev["variant"] = pd.Series([None] * len(ev), dtype="str")
    order_rows = [(i + 1, sends[i] + w * DAY) for i, (_, w) in enumerate(entries) if w is not None]
    order_rows.append((7, start - 2 * DAY))  # an order before the entry does not count
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1, len(order_rows) + 1),
            "subscriber_id": [r[0] for r in order_rows],
            "ts": pd.DatetimeIndex([r[1] for r in order_rows]).as_unit("us"),
            "revenue": 40.0,
            "n_items": 1,
            "category": "deals",
        }
    )
    meta = {"start": "2025-01-01", "days": 40}
    return _write_world(tmp_path_factory.mktemp("km") / "w", subs, camps, ev, orders, meta)


def test_time_to_conversion_is_kaplan_meier_by_hand(km_world: Path) -> None:
    """Waits 0.5, 2, 5, 10 days; censored at 5 (the data end 5 days after entry 4) and at the
    30-day horizon (no order, an order 35 days later, an order before the entry). By hand:
    S = 7/8 after 0.5, 6/8 after 2, 5/8 after 5 (one event among six at risk: the entry
    censored at 5 is still at risk), 5/8 * 3/4 = 15/32 after 10, so the median is 10 days."""
    ttc = time_to_conversion(km_world)
    assert len(ttc) == 1
    r = ttc.iloc[0]
    assert (r["flow"], r["first_step"], r["entrants"], r["conversions"], r["censored"]) == (
        "cart_abandonment", "cart_reminder", 8, 4, 4,
    )  # fmt: skip
    expect = {1: 1 / 8, 3: 2 / 8, 7: 3 / 8, 14: 17 / 32, 30: 17 / 32}
    for h, p in expect.items():
        assert r[f"converted_{h}d"] == pytest.approx(p)
        assert r[f"converted_{h}d_low"] <= p <= r[f"converted_{h}d_high"]
    assert r["median_days"] == pytest.approx(10)
    short = time_to_conversion(km_world, horizon_days=7).iloc[0]
    assert "converted_14d" not in short.index and short["conversions"] == 3


def test_funnel_on_the_hand_world(km_world: Path) -> None:
    f = flow_funnel(km_world, window_days=3).iloc[0]
    # orders within 3 days of delivery: the waits of 0.5 and 2 days
    assert (f["entered"], f["delivered"], f["converted"], f["opened"]) == (8, 8, 2, 0)
    assert f["revenue"] == pytest.approx(80.0)


# ------------------------------------------------------------------------- imported worlds


@pytest.fixture(scope="module")
def klaviyo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.cli import main

    out = tmp_path_factory.mktemp("kl") / "w"
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_SALT", "flows-test-salt")
    try:
        esp = datasets_dir() / "examples" / "esp" / "klaviyo"
        assert main(["import", "--preset", "klaviyo", "--input", str(esp), "--out", str(out)]) == 0
    finally:
        mp.undo()
    return out


def test_flows_of_an_imported_klaviyo_export(klaviyo: Path) -> None:
    steps = flow_steps(klaviyo)
    # Klaviyo's flow messages come in as broadcast campaigns named "flow <id>: <subject>"
    assert len(steps) == 2 and steps["flow"].nunique() == 1
    assert list(steps["step"]) == ["Welcome to the trail club", "Our most-loved gear"]
    assert set(steps["kind"]) == {"broadcast"}
    assert steps["days_after_entry"].iloc[1] == pytest.approx(3, abs=0.5)
    f = flow_funnel(klaviyo)
    # no "sent" events in the export: a delivery (or a bounce) is a message
    assert (f["entered"] == f["delivered"] + f["bounced"]).all()
    assert f["opened"].sum() > 0 and f.attrs["skipped"] == []
    ttc = time_to_conversion(klaviyo)
    assert ttc["entrants"].iloc[0] == f["entered"].iloc[0]
    inc = flow_incrementality(klaviyo)
    assert inc.empty and "no experiments" in inc.attrs["skipped"][0]


def test_a_world_without_orders_skips_conversions(sample: World) -> None:
    tables = {k: v for k, v in sample.tables.items() if k != "orders"}
    w = World(sample.path, sample.meta, tables)
    f = flow_funnel(w)
    assert f["converted"].isna().all() and f["opened"].sum() > 0
    assert "no orders table" in f.attrs["skipped"][0]
    ttc = time_to_conversion(w)
    assert ttc.empty and "no orders table" in ttc.attrs["skipped"][0]
    assert flow_findings(f)  # the findings still describe opens and unsubscribes


def test_a_world_without_flows_has_empty_tables(sample: World) -> None:
    camps = sample["campaigns"].copy()
    camps["flow"] = None
    camps["kind"] = "broadcast"
    w = _replace(sample, campaigns=camps)
    assert flow_steps(w).empty and flow_funnel(w).empty and time_to_conversion(w).empty


# ------------------------------------------------------------------------- flow holdouts


def plant(world: World, *, seed: int, effect: float = 0.15, share: float = 0.3,
          days: int = 14, value: float = 50.0) -> tuple[World, float, float]:  # fmt: skip
    """The sample world with a cart flow holdout whose effect is planted (instead of its own).

    The first cart reminder of each subscriber is their entry; a random ``share`` is held out.
    The data are left as they are except that each exposed entrant gets, with probability
    ``effect``, one more order of ``value`` within their window: the true effect on the chance to
    convert is ``effect`` times the share of entrants without an order in their window, on
    revenue ``effect * value``.
    """
    rng = np.random.default_rng(seed)
    eid = int(world["experiments"]["experiment_id"].max()) + 1  # a new id, never reused
    world = _without_flow_holdouts(world)
    camps = world["campaigns"].set_index("name")
    cid = int(camps.loc["cart_reminder", "campaign_id"])
    ev = world["email_events"]
    ent = ev[(ev["campaign_id"] == cid) & (ev["event_type"] == "sent")]
    ent = ent.groupby("subscriber_id")["ts"].min().sort_index()
    n = len(ent)
    held = rng.random(n) < share
    exp = pd.DataFrame(
        {
            "experiment_id": [eid],
            "name": ["cart flow holdout"],
            "kind": ["flow_holdout"],
            "arms": ["exposed|holdout"],
            "control_arm": ["holdout"],
            "start_ts": [ent.min()],
            "conversion_window_days": [days],
            "description": ["planted"],
            "channel": [None],
            "flow": ["cart_abandonment"],
        }
    )
    asg = pd.DataFrame(
        {
            "experiment_id": eid,
            "subscriber_id": ent.index.to_numpy(),
            "arm": np.where(held, "holdout", "exposed"),
            "assigned_ts": ent.to_numpy(),
            "is_holdout": held,
        }
    )
    orders = world["orders"]
    o = orders.merge(ent.rename("t").reset_index(), on="subscriber_id")
    inside = o[(o["ts"] >= o["t"]) & (o["ts"] < o["t"] + days * DAY)]
    y0 = ent.index.isin(inside["subscriber_id"])
    add = ~held & (rng.random(n) < effect)
    room = np.minimum(days * DAY, _end(world) - ent).dt.total_seconds().to_numpy()
    ts = pd.DatetimeIndex(ent.to_numpy()) + pd.to_timedelta(rng.random(n) * room * 0.99, unit="s")
    new = pd.DataFrame(
        {
            "order_id": int(orders["order_id"].max()) + 1 + np.arange(int(add.sum())),
            "subscriber_id": ent.index.to_numpy()[add],
            "ts": ts[add].as_unit("us"),
            "revenue": value,
            "n_items": 1,
            "category": "deals",
        }
    )
    w = _replace(
        world,
        experiments=pd.concat([world["experiments"], exp], ignore_index=True),
        assignments=pd.concat([world["assignments"], asg], ignore_index=True),
        orders=pd.concat([orders, new], ignore_index=True),
    )
    return w, effect * float((1 - y0).mean()), effect * value


def test_a_planted_flow_effect_is_recovered(sample: World) -> None:
    """40 random assignments of one world: the 90% interval covers the planted effect about 36
    times (at least 30: a coverage of 0.9 falls below with probability 0.3%), the estimates
    centre on it within three simulation errors, and the reported standard error matches their
    spread (within 25%: its own simulation error is ~11%)."""
    est, sd, covered = [], [], 0
    for seed in range(40):
        w, truth, _ = plant(sample, seed=seed)
        r = flow_incrementality(w).iloc[0]
        est.append(r["incremental_rate"])
        sd.append(r["incremental_rate_sd"])
        covered += r["incremental_rate_low"] <= truth <= r["incremental_rate_high"]
    est = np.array(est)
    assert covered >= 30
    assert abs(est.mean() - truth) < 3 * est.std(ddof=1) / np.sqrt(len(est))
    assert np.mean(sd) == pytest.approx(est.std(ddof=1), rel=0.25)


def test_flow_incrementality_table(sample: World) -> None:
    w, truth, rev_truth = plant(sample, seed=1, effect=0.3)
    inc = flow_incrementality(w)
    assert list(inc.columns) == [c for c in COLUMNS if c != "segment"]
    r = inc.iloc[0]
    assert r["flow"] == "cart_abandonment" and r["days"] == 14
    assert (
        r["n_exposed"] + r["n_holdout"]
        == w["assignments"]["experiment_id"].eq(r["experiment_id"]).sum()
    )
    assert r["incremental_rate_low"] > 0 and r["prob_positive"] > 0.99
    assert r["incremental_conversions"] == pytest.approx(r["incremental_rate"] * r["n_exposed"])
    assert (
        r["incremental_revenue_per_entrant_low"]
        < rev_truth
        < r["incremental_revenue_per_entrant_high"]
    )
    assert 0 < r["truncated_share"] < 0.5  # the cart entries of the last two weeks
    plain = flow_incrementality(w, adjust=False).iloc[0]
    assert plain["incremental_rate"] == pytest.approx(r["rate_exposed"] - r["rate_holdout"])
    assert plain["method"] == "difference of means"
    seg = flow_incrementality(w, segments="region", min_segment_size=0)
    assert seg["segment"].nunique() > 1
    asg = w["assignments"][w["assignments"]["experiment_id"] == r["experiment_id"]]
    region = asg["subscriber_id"].map(w["subscribers"].set_index("subscriber_id")["region"])
    exposed = (~asg["is_holdout"]).groupby(region.to_numpy()).sum()
    assert (seg.set_index("segment")["n_exposed"] == exposed.loc[seg["segment"]]).all()
    small = flow_incrementality(w, segments="region", min_segment_size=50)
    assert set(small["segment"]) == set(seg.loc[seg["n_holdout"] >= 50, "segment"])
    assert flow_incrementality(_without_flow_holdouts(sample)).empty


def test_scorecard_against_true_responses(sample: World, tmp_path: Path) -> None:
    """The planted world written to disk with its true responses; the scorecard reads them."""
    w, truth, rev_truth = plant(sample, seed=3)
    root = Path(shutil.copytree(sample_world(), tmp_path / "w"))
    for name in ("experiments", "assignments", "orders"):
        w[name].to_parquet(root / f"{name}.parquet", index=False)
    eid = int(w["experiments"]["experiment_id"].max())
    asg = w["assignments"][w["assignments"]["experiment_id"] == eid]
    ent = asg.set_index("subscriber_id")["assigned_ts"]
    o = w["orders"].merge(ent.rename("t").reset_index(), on="subscriber_id")
    # outcome without the planted orders (order ids above the sample's)
    o = o[o["order_id"] <= sample["orders"]["order_id"].max()]
    y0 = ent.index.isin(o.loc[(o["ts"] >= o["t"]) & (o["ts"] < o["t"] + 14 * DAY), "subscriber_id"])
    resp = pd.concat(
        [
            pd.DataFrame({"experiment_id": eid, "subscriber_id": ent.index, "arm": "holdout",
                          "conversion_prob": y0.astype(float), "expected_revenue": 10.0}),
            pd.DataFrame({"experiment_id": eid, "subscriber_id": ent.index, "arm": "exposed",
                          "conversion_prob": y0 + 0.15 * (1 - y0), "expected_revenue": 17.5}),
        ]
    )  # fmt: skip
    old = pd.read_parquet(root / "truth_responses.parquet")
    pd.concat([old, resp], ignore_index=True).to_parquet(root / "truth_responses.parquet")
    world = load_world(root)  # the planted world meets the contract
    est = flow_incrementality(world)
    card = score_flow_holdouts(root, est)
    assert list(card["metric"]) == ["conversion_rate", "revenue_per_entrant"]
    conv = card.iloc[0]
    assert conv["truth"] == pytest.approx(truth)
    assert conv["n"] == len(ent) and conv["error"] == pytest.approx(conv["estimate"] - truth)
    assert conv["error_in_sd"] == pytest.approx(conv["error"] / conv["sd"])
    assert card.iloc[1]["truth"] == pytest.approx(rev_truth)
    by_region = flow_incrementality(world, segments="region", min_segment_size=20)
    with pytest.raises(WorkbenchError, match="pass the same segments"):
        score_flow_holdouts(root, by_region)
    seg_card = score_flow_holdouts(root, by_region, segments="region")
    assert seg_card["n"].sum() == 2 * by_region[["n_exposed", "n_holdout"]].to_numpy().sum()


# ------------------------------------------------------------------ plots, findings, errors


def test_the_figures_stand_alone(sample: World, funnel: pd.DataFrame) -> None:
    w, _, _ = plant(sample, seed=2)
    figs = [
        plot_flow_funnel(funnel, flow="welcome"),
        plot_flow_funnel(flow_funnel(sample, segments="region")),
        plot_time_to_conversion(time_to_conversion(sample)),
        plot_flow_incrementality(flow_incrementality(w)),
        plot_flow_incrementality(flow_incrementality(w, segments="region", min_segment_size=20)),
    ]
    for fig in figs:
        assert figure_problems(fig) == []
    assert "welcome" in figs[0]._suptitle.get_text().lower()
    with pytest.raises(WorkbenchError, match="no flow 'nope'"):
        plot_flow_funnel(funnel, flow="nope")
    with pytest.raises(WorkbenchError, match="empty"):
        plot_flow_incrementality(flow_incrementality(_without_flow_holdouts(sample)))


def test_findings(sample: World, funnel: pd.DataFrame) -> None:
    w, _, _ = plant(sample, seed=1, effect=0.3)
    found = flow_findings(funnel, flow_incrementality(w))
    assert len(found) == 4  # three flows, one holdout
    cart = found[0].text
    assert "cart reminder" in cart and "within 5 days" in cart
    hold = found[-1]
    assert "points" in hold.text and "90% interval" in hold.text
    assert hold.action.startswith("Keep the cart abandonment flow")
    null, _, _ = plant(sample, seed=1, effect=0.0)
    r = flow_incrementality(null)
    if r["incremental_rate_low"].iloc[0] <= 0 <= r["incremental_rate_high"].iloc[0]:
        assert "cannot tell" in flow_findings(None, r)[0].text
    none = flow_findings(funnel, flow_incrementality(_without_flow_holdouts(sample)))
    assert "No flow holdout" in none[-1].text


def test_bad_inputs_give_one_line(sample: World, funnel: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="column 'nope'") as err:
        flow_funnel(sample, segments="nope")
    assert "\n" not in str(err.value)
    with pytest.raises(WorkbenchError, match="window_days must be a positive"):
        flow_funnel(sample, window_days=0)
    with pytest.raises(WorkbenchError, match="no such world folder"):
        flow_steps(tmp_path / "missing")
    with pytest.raises(WorkbenchError, match="interval"):
        flow_incrementality(sample, interval=1.5)
    with pytest.raises(DataError, match="column 'converted'") as err:
        plot_flow_funnel(funnel.drop(columns="converted"))
    assert "\n" not in str(err.value)
    with pytest.raises(DataError, match="flow holdout estimates"):
        score_flow_holdouts(sample_world(), pd.DataFrame({"flow": ["x"]}))
    # a damaged table of a world folder: the door's one-line error
    root = Path(shutil.copytree(sample_world(), tmp_path / "w"))
    ev = pd.read_parquet(root / "email_events.parquet")
    ev.loc[3, "event_type"] = "teleported"
    ev.to_parquet(root / "email_events.parquet", index=False)
    with pytest.raises(DataError, match="email_events") as err:
        flow_funnel(root)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------- a generated world


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small default world: its welcome and cart flows hold out 30% of their entrants."""
    from workbench.synth import generate_world

    out = tmp_path_factory.mktemp("gen") / "w"
    return generate_world("default", n_subscribers=5000, seed=7, out=out)


def test_flow_holdouts_of_a_generated_world(generated: Path) -> None:
    inc = flow_incrementality(generated)
    assert set(inc["flow"]) == {"welcome", "cart_abandonment"}
    n = inc["n_exposed"] + inc["n_holdout"]
    share = inc["n_holdout"] / n
    assert (abs(share - 0.3) < 4 * np.sqrt(0.21 / n)).all()
    assert (inc["truncated_share"] == 0).all()  # entry window and window end within the data
    card = score_flow_holdouts(generated, inc)
    assert len(card) == 4 and (card["n"].to_numpy() == np.repeat(n.to_numpy(), 2)).all()
    # an honest interval: the error is a few standard errors at most (4: p < 1e-4)
    assert (card["error_in_sd"].abs() < 4).all(), card
    steps = flow_steps(generated)
    assert set(steps["flow"]) == {"welcome", "cart_abandonment", "reactivation"}
    ttc = time_to_conversion(generated)
    assert (ttc["converted_30d"] >= ttc["converted_1d"]).all()
