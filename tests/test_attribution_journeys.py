"""Journeys from touchpoints and orders, scorecard against truth, holdout lift, plots, peer."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from workbench.attribution import (
    attribute,
    build_journeys,
    compare_models,
    holdout_lift,
    plots,
    scorecard,
    share_errors,
)
from workbench.attribution.markov import MarkovAttribution
from workbench.attribution.simulate import simulate_paths

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


TOUCH = pd.DataFrame(
    {
        "subscriber_id": [1, 1, 1, 1, 1, 2, 3, 3],
        "ts": [day(0), day(2), day(2.5), day(4), day(5), day(0), day(1), day(40)],
        "channel": ["email", "sms", "sms", "push", "email", "direct", "email", "push"],
        "interaction": ["click", "open", "click", "click", "impression", "click", "open", "click"],
    }
)
ORDERS = pd.DataFrame(
    {
        "order_id": [10, 11],
        "subscriber_id": [1, 2],
        "ts": [day(3), day(50)],
        "revenue": [25.0, 7.0],
        "category": ["shoes", "bags"],
    }
)
SUBS = pd.DataFrame({"subscriber_id": [1, 2, 3], "region": ["north", "south", "north"]})


def test_journeys_by_hand() -> None:
    j = build_journeys(TOUCH, ORDERS, SUBS, lookback_days=30, segment="region")
    paths = j.to_paths()
    got = paths.set_index("path").to_dict("index")
    # sub 1: conversion email>sms>sms (order 10), then null push>email; sub 2: touch too old
    # (50 days before its order) so order 11 is untouched; sub 3: null journey, only the touch
    # within 30 days of its last touch
    assert got == {
        "email > sms > sms": {"total_conversions": 1, "total_conversion_value": 25.0,
                              "total_null": 0},
        "push > email": {"total_conversions": 0, "total_conversion_value": 0, "total_null": 1},
        "push": {"total_conversions": 0, "total_conversion_value": 0, "total_null": 1},
    }  # fmt: skip
    assert j.untouched_conversions == 1 and j.untouched_value == 7.0
    conv = j.journeys[j.journeys["converted"]].iloc[0]
    assert conv["segment"] == "north" and conv["n_touches"] == 3
    ages = j.touches.loc[j.touches["journey_id"] == conv["journey_id"], "age_days"]
    assert ages.tolist() == pytest.approx([3.0, 1.0, 0.5])
    assert set(j.journeys["segment"]) == {"north"}


def test_journeys_options() -> None:
    j = build_journeys(TOUCH, ORDERS, lookback_days=60, collapse_repeats=True)
    paths = j.to_paths().set_index("path")
    assert "email > sms" in paths.index  # the two sms touches collapsed
    assert paths.loc["direct", "total_conversions"] == 1  # 60-day window reaches order 11
    clicks = build_journeys(TOUCH, ORDERS, lookback_days=30, interactions=["click"])
    assert clicks.to_paths()["path"].tolist() == ["email > sms", "push"]
    none = build_journeys(TOUCH, ORDERS, lookback_days=30, min_revenue=100)
    assert none.to_paths()["total_conversions"].sum() == 0
    mapped = build_journeys(TOUCH, ORDERS, lookback_days=30, segment={1: "vip"})
    assert sorted(mapped.segments) == ["(none)", "vip"]


def test_time_decay_on_journeys_uses_days() -> None:
    j = build_journeys(TOUCH, ORDERS, lookback_days=30)
    r = attribute(j, "time_decay", half_life=1.0).set_index("channel")["conversions"]
    w = np.exp2(-np.array([3.0, 1.0, 0.5]))
    w /= w.sum()
    assert r["email"] == pytest.approx(w[0]) and r["sms"] == pytest.approx(w[1] + w[2])


def test_per_segment_on_journeys() -> None:
    j = build_journeys(TOUCH, ORDERS, SUBS, lookback_days=60, segment="region")
    r = compare_models(j, ["first", "markov", "shapley"], by="segment")
    totals = r.groupby(["model", "segment"])["conversions"].sum().unstack()
    assert totals["north"].tolist() == pytest.approx([1, 1, 1])
    assert totals["south"].tolist() == pytest.approx([1, 1, 1])


def test_segment_column_errors() -> None:
    from workbench.errors import DataError

    with pytest.raises(DataError, match="did you mean 'region'"):
        build_journeys(TOUCH, ORDERS, SUBS, segment="regoin")


def test_scorecard() -> None:
    truth = pd.DataFrame(
        {
            "channel": ["email", "sms", "push"],
            "incremental_conversions": [6.0, 3.0, -1.0],
            "incremental_revenue": [60.0, 30.0, 10.0],
        }
    )
    res = pd.DataFrame(
        {
            "model": ["good"] * 2 + ["bad"] * 3,
            "channel": ["email", "sms", "email", "sms", "push"],
            "share": [2 / 3, 1 / 3, 0.0, 0.5, 0.5],
            "value_share": [0.6, 0.4, 0.0, 0.5, 0.5],
        }
    )
    card = scorecard(res, truth).set_index("model")
    assert card.index.tolist() == ["good", "bad"]
    assert card.loc["good", "mean_abs_error"] == pytest.approx(0.0)
    assert card.loc["good", "spearman"] == pytest.approx(1.0)
    assert card.loc["bad", "mean_abs_error"] == pytest.approx((2 / 3 + 1 / 6 + 0.5) / 3)
    err = share_errors(res, truth)
    assert err.loc[(err["model"] == "good") & (err["channel"] == "push"), "share"].item() == 0
    ax = plots.plot_scorecard(err)
    assert len(ax.collections) == 2


def test_holdout_lift() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    hold = rng.random(n) < 0.2
    exps = pd.DataFrame(
        {"experiment_id": [1], "name": ["sms holdout"], "kind": ["channel_holdout"],
         "conversion_window_days": [14]}
    )  # fmt: skip
    asg = pd.DataFrame(
        {"experiment_id": 1, "subscriber_id": np.arange(n), "arm": np.where(hold, "h", "e"),
         "assigned_ts": T0, "is_holdout": hold}
    )  # fmt: skip
    buy = rng.random(n) < np.where(hold, 0.10, 0.15)
    orders = pd.DataFrame({"subscriber_id": np.flatnonzero(buy), "ts": day(3)})
    late = pd.DataFrame({"subscriber_id": [0, 1, 2], "ts": day(30)})  # outside the window
    lift = holdout_lift(exps, asg, pd.concat([orders, late]))
    row = lift.iloc[0]
    assert row["channel"] == "sms" and row["n_holdout"] == hold.sum()
    assert row["lift_low"] < 0.05 < row["lift_high"]
    assert row["lift"] == pytest.approx(buy[~hold].mean() - buy[hold].mean())
    assert holdout_lift(exps.assign(kind="ab_test"), asg, orders).empty


def test_plots_draw() -> None:
    paths = simulate_paths(3000, ("a", "b", "c"), seed=1)
    plots.plot_top_paths(paths, n=5)
    plots.plot_transition_heatmap(MarkovAttribution(2).fit(_ps(paths)), max_states=6)
    res = compare_models(paths, ["first", "markov"])
    ax = plots.plot_shares(res)
    assert len(ax.patches) == 6
    seg = pd.concat([paths.assign(s="x"), paths.assign(s="y")])
    plots.plot_segment_shares(attribute(seg, "linear", by="s"), "s")


def _ps(paths: pd.DataFrame):
    from workbench.attribution.journeys import paths_to_pathset

    return paths_to_pathset(paths)


@pytest.mark.skipif(
    importlib.util.find_spec("ChannelAttribution") is None,
    reason="ChannelAttribution (GPL, optional peer) not installed",
)
@pytest.mark.parametrize("order", [1, 2])
def test_markov_agrees_with_channelattribution(order: int) -> None:
    import contextlib
    import io

    import ChannelAttribution as ca

    paths = simulate_paths(50_000, ("email", "sms", "push", "direct"), seed=5)
    ours = attribute(paths, "markov", order=order).set_index("channel")
    with contextlib.redirect_stdout(io.StringIO()):
        peer = ca.markov_model(paths, "path", "total_conversions",
                               var_value="total_conversion_value", var_null="total_null",
                               order=order, verbose=False, flg_pro=False, seed=0)  # fmt: skip
    peer = peer.set_index("channel_name").reindex(ours.index)
    total = paths["total_conversions"].sum()
    # ChannelAttribution simulates; its default convergence tolerance is 5 %
    np.testing.assert_allclose(peer["total_conversions"], ours["conversions"], atol=0.05 * total)
    np.testing.assert_allclose(peer["total_conversions"] / total, ours["share"], atol=0.02)
