"""Purchase behaviour (workbench.clv.repeat): Kaplan–Meier with censoring, repeat rate by cohort,
next-category affinity and their figures, checked against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from scipy.stats import norm

# figure_problems: the report-page inspector every figure of the package passes
from test_plots_look import figure_problems

from workbench.clv.repeat import (
    cross_sell_moves,
    kaplan_meier,
    next_category_affinity,
    repeat_rate_by_cohort,
    survival_summary,
    time_between_orders,
    time_to_first_order,
)
from workbench.clv.repeat_plots import (
    plot_category_affinity,
    plot_repeat_by_cohort,
    plot_survival,
)
from workbench.errors import DataError, WorkbenchError


def _ts(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True, format="ISO8601"))


def _orders(rows: list[tuple[int, str, str]]) -> pd.DataFrame:
    """Orders from (subscriber_id, time, category) rows."""
    return pd.DataFrame(
        {
            "order_id": np.arange(1, len(rows) + 1),
            "subscriber_id": [r[0] for r in rows],
            "ts": _ts(*[r[1] for r in rows]),
            "revenue": 10.0,
            "n_items": 1,
            "category": [r[2] for r in rows],
        }
    )


# --------------------------------------------------------------------------- Kaplan–Meier by hand

# 9 subjects: (time, observed). Censored at 2 ties with two events at 2.
HAND = pd.DataFrame(
    {
        "duration_days": [0, 2, 2, 2, 3, 5, 6, 8, 10],
        "observed": [True, True, True, False, False, True, False, True, False],
        "segment": ["a", "a", "b", "b", "a", "b", "a", "b", "a"],
    }
)


def test_kaplan_meier_matches_the_hand_computation() -> None:
    km = kaplan_meier(HAND, by=None)
    assert list(km.columns) == [
        "group", "time", "survival", "low", "high", "at_risk", "events", "censored"
    ]  # fmt: skip
    assert (km["group"] == "all").all()
    assert km["time"].tolist() == [0, 2, 3, 5, 6, 8, 10]
    # censored at 2 stays at risk at 2: 8 at risk, 2 events
    assert km["at_risk"].tolist() == [9, 8, 5, 4, 3, 2, 1]
    assert km["events"].tolist() == [1, 2, 0, 1, 0, 1, 0]
    assert km["censored"].tolist() == [0, 1, 1, 0, 1, 0, 1]
    expected = [8 / 9, 2 / 3, 2 / 3, 1 / 2, 1 / 2, 1 / 4, 1 / 4]
    np.testing.assert_allclose(km["survival"], expected, rtol=1e-12)
    # Greenwood on the log-log scale, written out: S ** exp(+-z sigma)
    d, n = km["events"].to_numpy(float), km["at_risk"].to_numpy(float)
    s = np.asarray(expected)
    sigma = np.sqrt(np.cumsum(d / (n * (n - d))) / np.log(s) ** 2)
    z = norm.ppf(0.975)
    np.testing.assert_allclose(km["low"], s ** np.exp(z * sigma), rtol=1e-9)
    np.testing.assert_allclose(km["high"], s ** np.exp(-z * sigma), rtol=1e-9)


def test_kaplan_meier_groups_and_the_pooled_curve() -> None:
    km = kaplan_meier(HAND)
    assert km["group"].unique().tolist() == ["all", "a", "b"]
    a = km[km["group"] == "a"]  # a: 0e, 2e, 3c, 6c, 10c
    assert a["time"].tolist() == [0, 2, 3, 6, 10]
    np.testing.assert_allclose(a["survival"], [0.8, 0.6, 0.6, 0.6, 0.6])
    b = km[km["group"] == "b"]  # b: 2e, 2c, 5e, 8e -> 1 - 1/4, * (1 - 1/2), * 0
    np.testing.assert_allclose(b["survival"], [0.75, 0.375, 0.0])
    # where the curve is 0 the band is [0, last defined upper bound]
    assert b["low"].iloc[-1] == 0.0 and b["high"].iloc[-1] == b["high"].iloc[-2] > 0


def test_summary_reads_median_horizons_and_says_not_reached() -> None:
    summ = survival_summary(HAND, by=None, horizons=(4, 10, 11))
    row = summ.iloc[0]
    assert (row["n"], row["events"], row["censored"]) == (9, 5, 4)
    assert row["median_days"] == 5  # first time S <= 1/2
    assert row["p_event_4d"] == pytest.approx(1 / 3)
    assert row["p_event_10d"] == pytest.approx(3 / 4)
    assert np.isnan(row["p_event_11d"])  # beyond the longest follow-up: not estimated
    assert row["p_event_4d_low"] < 1 / 3 < row["p_event_4d_high"]
    # the band's lower curve is at 0.43 from day 0; its upper one never gets down to 1/2:
    # with 9 subjects the data do not bound the median from above
    assert row["median_low"] == 0 and np.isnan(row["median_high"])
    # group "a" never gets down to one half: median not reached
    a = survival_summary(HAND, horizons=(30,)).set_index("group").loc["a"]
    assert np.isnan(a["median_days"]) and np.isnan(a["p_event_30d"])


def test_a_censored_subject_never_counts_as_an_event() -> None:
    censored = pd.DataFrame({"duration_days": [1.0, 2.0, 3.0], "observed": [False] * 3})
    km = kaplan_meier(censored, by=None)
    assert km["events"].sum() == 0 and (km["survival"] == 1).all()
    assert (km["low"] == 1).all() and (km["high"] == 1).all()
    # turning the censoring at 2 into an event changes the curve from time 2 only
    one = censored.assign(observed=[False, True, False])
    np.testing.assert_allclose(kaplan_meier(one, by=None)["survival"], [1.0, 0.5, 0.5])


def test_kaplan_meier_recovers_a_known_curve_under_heavy_censoring() -> None:
    """Exponential waits (mean 30 days), censored uniformly over 0..60 days: the curve stays
    on the truth, while dropping the censored rows (the naive mistake) is far off."""
    rng = np.random.default_rng(7)
    n = 3000
    wait = rng.exponential(30.0, n)
    stop = rng.uniform(0.0, 60.0, n)
    data = pd.DataFrame({"duration_days": np.minimum(wait, stop), "observed": wait <= stop})
    assert 0.3 < (~data["observed"]).mean() < 0.7  # heavy censoring indeed
    km = kaplan_meier(data, by=None, confidence=0.9999)  # ~ +-3.9 standard errors
    for day in (10.0, 20.0, 30.0, 45.0):
        i = np.searchsorted(km["time"], day, side="right") - 1
        truth = np.exp(-day / 30.0)
        assert km["low"].iloc[i] < truth < km["high"].iloc[i], day
    naive = (data.loc[data["observed"], "duration_days"] > 30.0).mean()
    assert abs(naive - np.exp(-1.0)) > 0.15  # what ignoring censoring would have said


# --------------------------------------------------------------------------- durations from tables

END = "2025-02-01"


def test_time_to_first_order_censors_and_handles_early_buyers() -> None:
    subs = pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3, 4, 5, 6],
            "signup_ts": _ts(
                "2025-01-10", "2025-01-05 12:00", "2025-01-20", "2025-02-10", "2024-12-01",
                "2025-01-15",
            ),
        }
    )  # fmt: skip
    orders = _orders(
        [
            (1, "2025-01-12 06:00", "home"),
            (1, "2025-01-20", "home"),
            (3, "2025-02-05", "home"),  # after end: not seen yet
            (6, "2025-01-14", "home"),  # before signing up
            (5, "2025-01-03", "home"),  # earliest order: the history starts that day
        ]
    )
    out = time_to_first_order(subs, orders, end=END).set_index("subscriber_id")
    assert out.index.tolist() == [1, 2, 3, 6]  # 4 signs up after end, 5 before the history
    assert out.attrs["dropped_after_end"] == 1 and out.attrs["dropped_before_history"] == 1
    assert out.loc[1, "duration_days"] == pytest.approx(2.25) and out.loc[1, "observed"]
    assert out.loc[2, "duration_days"] == pytest.approx(26.5) and not out.loc[2, "observed"]
    assert out.loc[3, "duration_days"] == pytest.approx(12.0) and not out.loc[3, "observed"]
    assert out.loc[6, "duration_days"] == 0.0 and out.loc[6, "observed"]
    assert (out["segment"] == "all").all()
    assert kaplan_meier(out)["group"].unique().tolist() == ["all"]  # one curve, not two
    # an explicit, earlier history start keeps subscriber 5 (first order 33 days after signup)
    early = time_to_first_order(subs, orders, end=END, history_start="2024-01-01")
    assert early.set_index("subscriber_id").loc[5, "duration_days"] == pytest.approx(33.0)
    with pytest.raises(DataError, match="history_start"):
        time_to_first_order(subs[subs["subscriber_id"] == 5], orders, end=END)
    segs = pd.Series({1: "x", 2: "y"})
    labelled = time_to_first_order(subs, orders, end=END, segments=segs)
    assert labelled["segment"].tolist() == ["x", "y", "unassigned", "unassigned"]


def test_time_between_orders_counts_same_day_orders_once() -> None:
    orders = _orders(
        [
            (1, "2025-01-01 09:00", "home"),
            (1, "2025-01-01 17:00", "apparel"),  # same day: same purchase
            (1, "2025-01-04 10:00", "home"),
            (1, "2025-01-04 11:00", "home"),
            (2, "2025-01-09 23:00", "home"),
            (3, "2025-01-10 00:00", "home"),  # at end: not seen
        ]
    )
    out = time_between_orders(orders, end="2025-01-10")
    assert out["subscriber_id"].tolist() == [1, 1, 2]
    assert out["gap_number"].tolist() == [1, 2, 1]
    assert out["observed"].tolist() == [True, False, False]
    # 3 days between the two purchase days; then Jan 5..9 seen without an order: > 5 days
    assert out["duration_days"].tolist() == [3.0, 5.0, 0.0]
    assert not (out["observed"] & (out["duration_days"] == 0)).any()


def test_segments_are_checked() -> None:
    orders = _orders([(1, "2025-01-01", "home")])
    with pytest.raises(WorkbenchError, match="pooled group"):
        time_between_orders(orders, end=END, segments=pd.Series({1: "all"}))
    with pytest.raises(WorkbenchError, match="twice"):
        time_between_orders(orders, end=END, segments=pd.Series(["a", "b"], index=[1, 1]))
    with pytest.raises(DataError, match="category"):
        next_category_affinity(orders.drop(columns="category"))
    with pytest.raises(DataError, match="negative"):
        kaplan_meier(pd.DataFrame({"duration_days": [-1.0], "observed": [True]}), by=None)
    with pytest.raises(ValueError, match="confidence"):
        kaplan_meier(HAND, confidence=1.5)


# --------------------------------------------------------------------------- repeat purchase


def test_repeat_rate_counts_only_fully_observed_windows() -> None:
    orders = _orders(
        [
            (1, "2025-01-05", "home"), (1, "2025-01-10", "home"),  # repeat after 5 days
            (2, "2025-01-05 10:00", "home"), (2, "2025-01-05 15:00", "home"),  # same day only
            (3, "2025-01-20", "home"), (3, "2025-02-05", "home"),  # 16 days: too late
            (4, "2025-01-31", "home"), (4, "2025-02-10", "home"),  # exactly 10 days: counts
            (5, "2025-02-25", "home"), (5, "2025-02-27", "home"),  # window open: excluded
            (6, "2025-02-20", "home"),  # window open: excluded
            (7, "2025-02-18", "home"),  # window Feb 19..28 seen: a non-repeater
        ]
    )  # fmt: skip
    out = repeat_rate_by_cohort(orders, end="2025-03-01", window_days=10)
    assert out["cohort"].tolist() == list(pd.to_datetime(["2025-01-01", "2025-02-01"], utc=True))
    assert out["customers"].tolist() == [4, 3]
    assert out["excluded"].tolist() == [0, 2]
    assert out["counted"].tolist() == [4, 1]
    assert out["repeaters"].tolist() == [2, 0]
    np.testing.assert_allclose(out["repeat_rate"], [0.5, 0.0])
    assert out.attrs["excluded"] == 2
    # Wilson bounds are where the score statistic equals z
    z = norm.ppf(0.975)
    for p in (out["low"].iloc[0], out["high"].iloc[0]):
        assert abs(2 - 4 * p) / np.sqrt(4 * p * (1 - p)) == pytest.approx(z, rel=1e-9)
    weekly = repeat_rate_by_cohort(orders, end="2025-03-01", window_days=10, freq="W-MON")
    assert weekly["customers"].sum() == 7
    assert (weekly["cohort"].dt.day_of_week == 0).all()


def test_a_cohort_where_everyone_repeats_draws() -> None:
    orders = _orders([(c, d, "home") for c in (1, 2, 3) for d in ("2025-01-02", "2025-01-03")])
    out = repeat_rate_by_cohort(orders, end="2025-03-01", window_days=7)
    assert out["repeat_rate"].tolist() == [1.0] and out["high"].tolist() == [1.0]
    assert out["low"].iloc[0] < 1.0
    assert len(plot_repeat_by_cohort(out).axes[0].patches) == 1


def test_repeat_rate_with_no_window_over_is_nan_not_zero() -> None:
    orders = _orders([(1, "2025-02-25", "home"), (1, "2025-02-26", "home")])
    out = repeat_rate_by_cohort(orders, end="2025-03-01", window_days=30)
    assert out["counted"].tolist() == [0] and out["excluded"].tolist() == [1]
    assert np.isnan(out["repeat_rate"].iloc[0]) and np.isnan(out["low"].iloc[0])


# --------------------------------------------------------------------------- next-category affinity

AFFINITY_ORDERS = _orders(
    [
        (1, "2025-01-01", "home"), (1, "2025-01-05", "apparel"), (1, "2025-01-09", "home"),
        (2, "2025-01-02", "home"), (2, "2025-01-06", "apparel"),
        (3, "2025-01-03", "apparel"), (3, "2025-01-07", "apparel"),
        # two orders on one day, two categories: one purchase holding both
        (4, "2025-01-04 08:00", "home"), (4, "2025-01-04 09:00", "outdoor"),
        (4, "2025-01-08", "apparel"),
    ]
)  # fmt: skip


def test_affinity_lift_by_hand() -> None:
    aff = next_category_affinity(AFFINITY_ORDERS, min_pairs=2)
    assert aff.attrs["transitions"] == {"all": 5}
    t = aff.set_index(["from_category", "to_category"])
    assert len(t) == 6  # 3 categories bought from x 2 ever bought next
    # base rates: apparel is next in 4 of 5 transitions, home in 1
    assert t.loc[("home", "apparel"), "base_rate"] == pytest.approx(0.8)
    assert t.loc[("home", "home"), "base_rate"] == pytest.approx(0.2)
    # from home (3 transitions): always apparel next
    assert t.loc[("home", "apparel"), ["from_purchases", "pairs"]].tolist() == [3, 3]
    assert t.loc[("home", "apparel"), "lift"] == pytest.approx(1.0 / 0.8)
    assert t.loc[("home", "home"), "lift"] == 0.0
    # from apparel (2): once home (lift 0.5 / 0.2), once apparel (0.5 / 0.8)
    assert t.loc[("apparel", "home"), "lift"] == pytest.approx(2.5)
    assert t.loc[("apparel", "apparel"), "lift"] == pytest.approx(0.625)
    assert t.loc[("outdoor", "apparel"), "p_next"] == 1.0
    assert t["few_pairs"].tolist() == (t["pairs"] < 2).tolist()
    assert ((t["low"] <= t["p_next"]) & (t["p_next"] <= t["high"])).all()


def test_affinity_per_segment() -> None:
    segs = pd.Series({1: "x", 2: "x", 3: "y"})  # customer 4 unassigned
    aff = next_category_affinity(AFFINITY_ORDERS, segments=segs)
    assert aff["segment"].unique().tolist() == ["all", "unassigned", "x", "y"]
    x = aff[aff["segment"] == "x"].set_index(["from_category", "to_category"])
    # x: home->apparel twice, apparel->home once; base apparel 2/3, home 1/3
    assert x.loc[("home", "apparel"), "lift"] == pytest.approx(1.5)
    assert x.loc[("apparel", "home"), "lift"] == pytest.approx(3.0)
    assert aff.attrs["transitions"] == {"all": 5, "unassigned": 1, "x": 3, "y": 1}


def _shop(seed: int, n: int = 600) -> pd.DataFrame:
    """Customers with 4 purchases each; after 'home', 'apparel' comes next 70% of the time,
    otherwise the next category is uniform over the four."""
    rng = np.random.default_rng(seed)
    cats = np.array(["accessories", "apparel", "home", "outdoor"])
    rows = []
    for c in range(n):
        cat = rng.choice(cats)
        for k in range(4):
            rows.append((c, f"2025-01-{1 + 3 * k:02d}", str(cat)))
            cat = "apparel" if cat == "home" and rng.random() < 0.7 else rng.choice(cats)
    return _orders(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cross_sell_moves_find_the_planted_move(seed: int) -> None:
    aff = next_category_affinity(_shop(seed))
    moves = cross_sell_moves(aff, top=3)
    assert len(moves) >= 1
    best = moves.iloc[0]
    assert (best["from_category"], best["to_category"]) == ("home", "apparel")
    # P(apparel | home) = 0.7 + 0.3/4 = 0.775 vs a base rate near 0.4: ~5 standard errors apart
    assert best["low"] < 0.775 < best["high"]
    assert best["lift"] > 1.5 and best["rank"] == 1
    assert "home" in best["sentence"] and "apparel" in best["sentence"]
    assert (moves["from_category"] != moves["to_category"]).all()
    assert (moves["low"] > moves["base_rate"]).all()


def test_cross_sell_moves_filters_and_ranks() -> None:
    rows = [  # segment, from, to, from_purchases, pairs, p_next, low, high, base, lift, few
        ("all", "a", "b", 100, 60, 0.60, 0.50, 0.69, 0.30, 2.0, False),  # kept, 2nd
        ("all", "a", "c", 100, 40, 0.40, 0.31, 0.50, 0.10, 4.0, False),  # kept, 1st
        ("all", "a", "a", 100, 90, 0.90, 0.83, 0.94, 0.30, 3.0, False),  # same category
        ("all", "c", "b", 100, 35, 0.35, 0.26, 0.45, 0.30, 1.2, False),  # interval has base
        ("all", "c", "a", 10, 9, 0.90, 0.60, 0.98, 0.30, 3.0, True),  # too few pairs
        ("s", "b", "a", 50, 30, 0.60, 0.46, 0.72, 0.30, 2.0, False),
    ]
    cols = ["segment", "from_category", "to_category", "from_purchases", "pairs", "p_next",
            "low", "high", "base_rate", "lift", "few_pairs"]  # fmt: skip
    moves = cross_sell_moves(pd.DataFrame(rows, columns=cols), top=5)
    got = list(zip(moves["segment"], moves["from_category"], moves["to_category"], strict=True))
    assert got == [("all", "a", "c"), ("all", "a", "b"), ("s", "b", "a")]
    assert moves["rank"].tolist() == [1, 2, 1]
    assert len(cross_sell_moves(pd.DataFrame(rows, columns=cols), top=1)) == 2


# --------------------------------------------------------------------------- the sample world


@pytest.fixture(scope="module")
def sample() -> dict[str, object]:
    from workbench.paths import sample_world
    from workbench.schema import load_world

    world = load_world(sample_world(), tables=["subscribers", "orders"])
    subs, orders = world["subscribers"], world["orders"]
    end = orders["ts"].max().floor("D") + pd.Timedelta(days=1)
    rng = np.random.default_rng(3)
    segs = pd.Series(rng.choice(["a", "b", "c"], len(subs)), index=subs["subscriber_id"])
    return {"subs": subs, "orders": orders, "end": end, "segs": segs.iloc[:-200]}


def _sane_curves(km: pd.DataFrame) -> None:
    assert np.isfinite(km[["time", "survival", "low", "high"]].to_numpy()).all()
    assert ((km["low"] <= km["survival"] + 1e-12) & (km["survival"] <= km["high"] + 1e-12)).all()
    assert km["low"].between(0, 1).all() and km["high"].between(0, 1).all()
    for _, c in km.groupby("group"):
        assert (np.diff(c["survival"]) <= 1e-12).all() and (np.diff(c["at_risk"]) <= 0).all()
        assert (np.diff(c["time"]) > 0).all()


def test_sample_world_survival(sample: dict) -> None:
    first = time_to_first_order(sample["subs"], sample["orders"], end=sample["end"],
                                segments=sample["segs"])  # fmt: skip
    assert first["duration_days"].ge(0).all() and 0.1 < first["observed"].mean() < 0.9
    # subscribers who joined before the order history are left out, and said to be
    assert first.attrs["dropped_before_history"] > 0
    assert first["duration_days"].max() <= 80  # within the 70-day history, not since 2023
    km = kaplan_meier(first)
    _sane_curves(km)
    assert set(km["group"]) == {"all", "a", "b", "c", "unassigned"}
    gaps = time_between_orders(sample["orders"], end=sample["end"], segments=sample["segs"])
    assert gaps["subscriber_id"].nunique() == sample["orders"]["subscriber_id"].nunique()
    assert (gaps.loc[gaps["observed"], "duration_days"] >= 1).all()
    km2 = kaplan_meier(gaps)
    _sane_curves(km2)
    summ = survival_summary(gaps, horizons=(7, 30, 60))
    assert summ["n"].iloc[0] == len(gaps) and summ["n"].iloc[1:].sum() == len(gaps)
    p = summ[["p_event_7d", "p_event_30d", "p_event_60d"]].to_numpy()
    assert np.isfinite(p).all() and (np.diff(p, axis=1) >= 0).all() and (p > 0).all()
    m = summ.iloc[0][["median_low", "median_days", "median_high"]].to_numpy(float)
    assert np.isfinite(m).all() and m[0] <= m[1] <= m[2]


def test_sample_world_repeat_and_affinity(sample: dict) -> None:
    rep = repeat_rate_by_cohort(sample["orders"], end=sample["end"], window_days=21)
    assert rep["customers"].sum() == sample["orders"]["subscriber_id"].nunique()
    done = rep[rep["counted"] > 0]
    assert len(done) >= 2 and done["repeat_rate"].between(0.05, 0.95).all()
    assert (done["low"] < done["repeat_rate"]).all() and (done["repeat_rate"] < done["high"]).all()
    aff = next_category_affinity(sample["orders"], segments=sample["segs"])
    assert np.isfinite(aff[["p_next", "low", "high", "base_rate", "lift"]].to_numpy()).all()
    for _, part in aff.groupby("segment"):
        # every next purchase holds at least one category: base rates sum to >= 1
        base = part.drop_duplicates("to_category")["base_rate"].sum()
        assert base >= 1 - 1e-9
        assert (part.groupby("from_category")["p_next"].sum() >= 1 - 1e-9).all()
    moves = cross_sell_moves(aff)
    assert set(moves.columns) >= {"segment", "rank", "lift", "sentence"}


# --------------------------------------------------------------------------- figures


def test_survival_figure(sample: dict) -> None:
    km = kaplan_meier(time_between_orders(sample["orders"], end=sample["end"],
                                          segments=sample["segs"]))  # fmt: skip
    fig = plot_survival(km, title="Days to the next purchase", xlabel="days since a purchase")
    ax = fig.axes[0]
    assert len(ax.lines) == 5  # all, a, b, c, unassigned
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 5  # one band each
    assert [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()][0] == "all"
    assert figure_problems(fig) == []
    # more groups than drawn: the largest kept, the title says so
    many = pd.concat([km.assign(group=f"x{i}") for i in range(3)] + [km])
    fig2 = plot_survival(many, max_groups=3)
    assert len(fig2.axes[0].lines) == 3 and "not drawn" in fig2.axes[0].get_title()


def test_repeat_figure(sample: dict) -> None:
    rep = repeat_rate_by_cohort(sample["orders"], end=sample["end"], window_days=14, freq="W-MON")
    fig = plot_repeat_by_cohort(rep)
    ax = fig.axes[0]
    assert len(ax.patches) == int((rep["counted"] > 0).sum())
    assert "14 days" in ax.get_title()
    assert figure_problems(fig) == []


def test_affinity_figure_on_a_given_axes(sample: dict) -> None:
    import matplotlib.pyplot as plt

    aff = next_category_affinity(sample["orders"], segments=sample["segs"])
    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    assert plot_category_affinity(aff, segment="a", ax=ax) is fig
    n = aff.loc[aff["segment"] == "a", "from_category"].nunique()
    assert ax.images[0].get_array().shape == (n, n)
    assert len(ax.texts) == len(aff[aff["segment"] == "a"])  # one label per cell
    assert figure_problems(fig) == []
    with pytest.raises(ValueError, match="not in the table"):
        plot_category_affinity(aff, segment="nope")
