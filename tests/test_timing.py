"""Send-time optimisation (workbench.timing): data, model, scorecard, summaries, figures.

Most checks run on opens drawn by :func:`simulate_opens` below: a small generator of our own with
known preferred hours, in which -- as in real inboxes -- most opens come within hours of delivery
and the open hour is only partly informative. The world-level checks (the data table, machine
opens, the scorecard) use small generated worlds.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from workbench.errors import DataError
from workbench.findings import Finding
from workbench.timing import (
    METHODS,
    OPEN_HOURS_COLUMNS,
    SendTimeModel,
    circular_distance,
    open_hours,
    recommend_all,
    send_windows,
    timing_findings,
)
from workbench.timing.plots import plot_hour_profile, plot_send_time_errors
from workbench.timing.scorecard import HISTORY_BANDS, score_send_times, true_hours
from workbench.timing.summary import clock, window_text

# ------------------------------------------------------------------------- a small generator

_DU = 0.05  # hours: resolution of the drawn open times
_U = np.arange(0, 48, _DU) + _DU / 2
_TZ = np.array([-8.0, -6.0, -5.0, 0.0, 1.0, 5.5, 10.0])


def _bump(x: np.ndarray, strength: float) -> np.ndarray:
    return np.exp(strength * (np.cos(2 * np.pi * np.asarray(x) / 24) - 1))


def simulate_opens(
    n: int = 2000,
    *,
    seed: int = 0,
    n_segments: int = 4,
    centres: np.ndarray | None = None,
    spread: float = 3.0,
    mean_sends: float = 60.0,
    rotation: tuple[float, ...] = (9.0, 12.0, 15.0, 18.0, 21.0),
    decay_h: float = 3.0,
    fit_strength: float = 1.0,
    attention_strength: float = 2.0,
    floor: float = 0.15,
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """An :func:`open_hours` table with known preferred hours.

    Each subscriber belongs to a segment whose preferred hours scatter (``spread`` hours, sd)
    around the segment's centre; lives in one of seven time zones; receives a number of
    emails (gamma-Poisson, mean ``mean_sends``) at UTC hours rotating through ``rotation``.
    An email delivered at local hour ``d`` is opened with probability ``engagement *
    exp(fit_strength * (cos(2 pi (d - p) / 24) - 1))``; if opened, the time after delivery
    follows the intensity ``exp(-u / decay_h) * (floor + exp(attention_strength * (cos(2 pi
    (d + u - p) / 24) - 1)))``.

    Returns
    -------
    table, segments, true preferred hours (both indexed by subscriber_id)
    """
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = (np.arange(n_segments) * 24 / n_segments + rng.uniform(0, 24)) % 24
    seg = rng.integers(0, len(centres), n)
    pref = (np.asarray(centres)[seg] + rng.normal(0, spread, n)) % 24
    tz = rng.choice(_TZ, n)
    engagement = rng.beta(2, 5, n)
    sends = rng.poisson(rng.gamma(1.2, mean_sends / 1.2, n))
    i = np.repeat(np.arange(n), sends)
    utc = rng.choice(np.asarray(rotation), i.size) + rng.uniform(0, 0.3, i.size)
    d = (utc + tz[i]) % 24
    opened = rng.random(i.size) < engagement[i] * _bump(d - pref[i], fit_strength)
    # open times: inverse CDF of the intensity, tabulated by (delivery - preferred) phase
    grid = np.arange(int(24 / _DU)) * _DU
    dens = np.exp(-_U / decay_h)[None, :] * (
        floor + _bump(grid[:, None] + _U[None, :], attention_strength)
    )
    cdf = np.cumsum(dens, 1)
    cdf /= cdf[:, -1:]
    oi = np.flatnonzero(opened)
    phase = np.round(((d[oi] - pref[i[oi]]) % 24) / _DU).astype(int) % grid.size
    k = (cdf[phase] < rng.random(oi.size)[:, None]).sum(1)
    tau = np.full(i.size, np.nan)
    tau[oi] = np.clip(
        _U[np.minimum(k, _U.size - 1)] + rng.uniform(-_DU / 2, _DU / 2, oi.size), 0.01, 47.9
    )
    table = pd.DataFrame(
        {
            "subscriber_id": (i + 1).astype("int64"),
            "campaign_id": np.zeros(i.size, "int64"),
            "delivered_hour": d,
            "weekend": np.zeros(i.size, bool),
            "opened": opened,
            "open_hour": np.where(opened, (d + tau) % 24, np.nan),
            "hours_to_open": tau,
            "hours_observed": np.full(i.size, 1000.0),
        }
    )
    ids = pd.Index(np.arange(1, n + 1), name="subscriber_id")
    return table, pd.Series(seg, index=ids, name="segment"), pd.Series(pref, index=ids)


@pytest.fixture(scope="module")
def fitted() -> tuple[SendTimeModel, pd.DataFrame, pd.Series, pd.Series]:
    table, seg, pref = simulate_opens(1500, seed=7)
    return SendTimeModel().fit(table, seg), table, seg, pref


# ------------------------------------------------------------------------------ the methods


def test_shrunk_beats_every_simpler_method_by_more_than_the_monte_carlo_spread() -> None:
    """Over several seeds, the pooled hours are closer to the truth than one hour for everyone,
    one per segment, the subscriber's evidence alone and the circular mean of open hours. Each
    seed's paired difference (per subscriber) must exceed 3 standard errors, and the smallest
    difference over the seeds must exceed 3 times the seeds' spread of the differences below
    their mean."""
    diffs = {m: [] for m in METHODS if m != "shrunk"}
    for seed in (11, 12, 13):
        table, seg, pref = simulate_opens(2000, seed=seed)
        recs = recommend_all(table, seg)
        err = {m: circular_distance(recs[m].reindex(pref.index), pref) for m in METHODS}
        for m in diffs:
            d = err[m] - err["shrunk"]
            se = d.std(ddof=1) / np.sqrt(d.size)
            assert d.mean() > 3 * se, (m, seed, d.mean(), se)
            diffs[m].append(d.mean())
    for m, d in diffs.items():
        d = np.asarray(d)
        assert d.min() > 0, (m, d)
        assert d.mean() > 3 * d.std(ddof=1) / np.sqrt(d.size), (m, d)


def test_pooled_hours_are_near_the_truth_where_the_evidence_is(fitted) -> None:
    """Where a subscriber has 10+ opens, their own evidence moves them towards their true hour
    (paired against their segment's hour, by more than 3 standard errors)."""
    model, _, _, pref = fitted
    err = circular_distance(model.hours_.reindex(pref.index), pref)
    seg_err = circular_distance(model.all_hours_["segment"].reindex(pref.index), pref)
    rich = (model.n_opens_ >= 10).reindex(pref.index).to_numpy()
    d = seg_err[rich] - err[rich]
    assert rich.sum() > 200 and d.mean() > 3 * d.std(ddof=1) / np.sqrt(d.size)
    assert model.weights_[model.n_opens_ >= 10].mean() > model.weights_[model.n_opens_ <= 1].mean()


def test_a_subscriber_without_history_gets_the_segment_hour() -> None:
    table, seg, _ = simulate_opens(800, seed=3)
    extra = pd.Series([0, 1, 2, 3], index=pd.Index([9001, 9002, 9003, 9004]))
    model = SendTimeModel().fit(table, pd.concat([seg, extra]))
    for sid, s in extra.items():
        assert model.n_emails_.loc[sid] == 0 and model.weights_.loc[sid] == pytest.approx(
            0, abs=1e-9
        )
        assert model.hours_.loc[sid] == pytest.approx(model.segment_hours_.loc[s])
        np.testing.assert_allclose(
            model.posterior_[model.hours_.index.get_loc(sid)], model.segment_prior_.loc[s]
        )
    # unknown subscribers get the one hour for everyone
    assert model.predict([424242]).iloc[0] == pytest.approx(model.global_hour_)
    # without segments, segment and global coincide
    alone = SendTimeModel().fit(table)
    assert list(alone.segment_hours_.index) == ["all"]
    assert alone.segment_hours_.iloc[0] == pytest.approx(alone.global_hour_)


def test_the_pooling_of_segments_is_chosen_from_the_data() -> None:
    """Segments that carry the preferred hours keep their own distributions (little pooling);
    segments drawn at random are pooled into the whole list's (empirical Bayes)."""
    table, seg, pref = simulate_opens(1500, seed=4)
    informative = SendTimeModel().fit(table, seg)
    rnd = pd.Series(np.random.default_rng(0).integers(0, 6, len(seg)), index=seg.index)
    random = SendTimeModel().fit(table, rnd)
    assert informative.concentration_ <= 10 and random.concentration_ >= 1000
    spread = random.segment_prior_.sub(random.global_prior_, axis=1).abs().sum(axis=1)
    assert spread.max() < 0.1  # the random segments' distributions are the list's
    assert np.isnan(SendTimeModel().fit(table).concentration_)


def test_circular_arithmetic_around_midnight() -> None:
    assert circular_distance(23.5, 0.5) == pytest.approx(1.0)
    assert circular_distance(0.0, 12.0) == pytest.approx(12.0)
    np.testing.assert_allclose(circular_distance([1.0, 47.0], [23.0, 0.0]), [2.0, 1.0])
    assert clock(23.999) == "00:00" and clock(7.5) == "07:30"
    assert window_text(0.25) == "23:00\u201301:00 local"
    # readers around midnight are recommended midnight, not noon (the mean of 23 and 1 is 12)
    table, seg, pref = simulate_opens(600, seed=5, centres=np.array([0.0]), spread=0.7)
    model = SendTimeModel().fit(table, seg)
    assert circular_distance(model.segment_hours_.iloc[0], 0.0) < 1.0
    err = circular_distance(model.hours_.reindex(pref.index), pref)
    assert np.median(err) < 1.5
    naive = model.all_hours_["subscriber_naive"]
    assert circular_distance(_circular_mean_of(naive), 0.0) < 3.0


def _circular_mean_of(hours: pd.Series) -> float:
    a = 2 * np.pi * hours.to_numpy() / 24
    return float(np.arctan2(np.sin(a).mean(), np.cos(a).mean()) * 24 / (2 * np.pi) % 24)


def test_methods_in_one_fit_agree_with_method_fits(fitted) -> None:
    model, table, seg, _ = fitted
    for m in ("segment", "subscriber_naive"):
        one = SendTimeModel(method=m).fit(table, seg)
        pd.testing.assert_series_equal(one.hours_, model.all_hours_[m].rename("send_hour"))
    naive = model.all_hours_["subscriber_naive"]
    sid = int(model.n_opens_.idxmax())
    rows = table[(table["subscriber_id"] == sid) & table["opened"]]
    assert circular_distance(naive.loc[sid], _circular_mean_of(rows["open_hour"])) < 1e-6


def test_evidence_both_and_attention_target_run_and_stay_sensible(fitted) -> None:
    model, table, seg, pref = fitted
    both = SendTimeModel(evidence="both").fit(table, seg)
    err = circular_distance(both.hours_.reindex(pref.index), pref)
    assert err.mean() < 2.2
    assert both.delivery_fit_.max() == pytest.approx(1.0)
    early = SendTimeModel(target="attention").fit(table, seg)
    lead = float(((early.hours_ - model.hours_ + 12) % 24 - 12).mean())
    assert -4 < lead < 0  # emails sink fast: land them before the preferred hour


# ----------------------------------------------------------------- estimator conventions


def test_estimator_conventions(fitted) -> None:
    model, table, seg, _ = fitted
    params = model.get_params()
    assert params["method"] == "shrunk" and params["n_bins"] == 48
    fresh = clone(model)
    assert not hasattr(fresh, "hours_")
    with pytest.raises(NotFittedError):
        fresh.predict([1])
    assert fresh.fit(table, seg) is fresh
    pd.testing.assert_series_equal(fresh.hours_, model.hours_)  # deterministic
    out = model.predict([1, 2])
    assert list(out.index) == [1, 2] and out.between(0, 24, inclusive="left").all()
    assert set(model.all_hours_.columns) == set(METHODS)
    assert model.posterior_.shape == (len(model.hours_), 48)
    np.testing.assert_allclose(model.posterior_.sum(1), 1.0)
    with pytest.raises(ValueError, match="method"):
        SendTimeModel(method="median").fit(table)
    with pytest.raises(ValueError, match="n_bins"):
        SendTimeModel(n_bins=7).fit(table)


def test_bad_tables_are_refused_in_one_line(fitted) -> None:
    _, table, seg, _ = fitted
    with pytest.raises(DataError, match="open_hour"):
        SendTimeModel().fit(table.drop(columns="open_hour"))
    bad = table.copy()
    bad.loc[3, "delivered_hour"] = 24.5
    with pytest.raises(DataError, match="delivered_hour.*outside"):
        SendTimeModel().fit(bad)
    bad = table.copy()
    first = int(np.flatnonzero(bad["opened"].to_numpy())[0])
    bad.loc[first, "hours_to_open"] = np.nan
    with pytest.raises(DataError, match="hours_to_open"):
        SendTimeModel().fit(bad)
    dup = pd.concat([seg, seg.iloc[:2]])
    with pytest.raises(DataError, match="duplicate"):
        SendTimeModel().fit(table, dup)
    with pytest.raises(DataError):
        SendTimeModel().fit(table, pd.DataFrame({"id": [1], "segment": [0]}))


# ------------------------------------------------------------------------- world-level data


def _tiny(inbox: str, n: int, seed: int, out: object) -> object:
    """The tiny scenario with the given open timing (so the test holds whatever tiny uses)."""
    from dataclasses import replace

    from workbench.synth import generate_world, load_scenario
    from workbench.synth.scenario import InboxSpec

    scenario = replace(load_scenario("tiny"), inbox=InboxSpec(open_timing=inbox))
    return generate_world(scenario, n_subscribers=n, seed=seed, out=out)


@pytest.fixture(scope="module")
def tiny_world(tmp_path_factory) -> object:
    """Opens wait for the next preferred hour (generator 1.6 and earlier)."""
    return _tiny("next_preferred_hour", 600, 21, tmp_path_factory.mktemp("timing") / "before")


@pytest.fixture(scope="module")
def default_world(tmp_path_factory) -> object:
    """Opens follow delivery (generator 1.7's ``after_delivery`` inbox)."""
    return _tiny("after_delivery", 1500, 22, tmp_path_factory.mktemp("timing") / "after")


def test_open_hours_table(tiny_world) -> None:
    from workbench.schema import load_world

    tab = open_hours(tiny_world)
    assert list(tab.columns) == list(OPEN_HOURS_COLUMNS)
    assert not tab["weekend"].any()
    every = open_hours(tiny_world, weekdays=None)
    weekend = open_hours(tiny_world, weekdays=False)
    assert len(every) == len(tab) + len(weekend) and weekend["weekend"].all()
    ev = load_world(tiny_world, tables=["email_events"])["email_events"]
    assert len(every) == int((ev["event_type"] == "delivered").sum())
    assert tab["delivered_hour"].between(0, 24, inclusive="left").all()
    o = tab[tab["opened"]]
    assert (o["hours_to_open"] >= 0).all() and tab.loc[~tab["opened"], "open_hour"].isna().all()
    np.testing.assert_allclose(
        circular_distance(o["open_hour"], o["delivered_hour"] + o["hours_to_open"]), 0, atol=1e-6
    )
    # every open of the table is a human open event of the world, at that time
    human = ev[(ev["event_type"] == "opened") & ~ev["is_machine_open"]]
    assert (
        len(o) <= len(human)
        and len(o) > 0.9 * human.groupby(["subscriber_id", "campaign_id"]).ngroups
    )


def test_machine_opens_do_not_move_anything(tiny_world, tmp_path) -> None:
    poisoned = tmp_path / "poisoned"
    shutil.copytree(tiny_world, poisoned)
    path = poisoned / "email_events.parquet"
    ev = pq.read_table(path).to_pandas()
    rng = np.random.default_rng(0)
    deliv = ev[ev["event_type"] == "delivered"].sample(frac=0.5, random_state=1)
    fake = deliv.assign(
        event_type="opened",
        is_machine_open=True,
        ts=deliv["ts"] + pd.to_timedelta(rng.uniform(0, 20, len(deliv)), unit="h"),
    )
    fake = fake[fake["ts"] < ev["ts"].max()]
    assert len(fake) > 1000
    out = pd.concat([ev, fake], ignore_index=True)
    pq.write_table(pa.Table.from_pandas(out, preserve_index=False), path)
    before, after = open_hours(tiny_world), open_hours(poisoned)
    pd.testing.assert_frame_equal(before, after)
    m1, m2 = SendTimeModel().fit(before), SendTimeModel().fit(after)
    pd.testing.assert_frame_equal(m1.all_hours_, m2.all_hours_)
    # ... while the same events as human opens would move hours
    human = out.copy()
    human.loc[len(ev) :, "is_machine_open"] = False
    pq.write_table(pa.Table.from_pandas(human, preserve_index=False), path)
    assert open_hours(poisoned)["opened"].sum() > before["opened"].sum()


# ------------------------------------------------------------------------------- scorecard


def test_scorecard_against_the_truth(default_world) -> None:
    tab = open_hours(default_world)
    truth = true_hours(default_world)
    model = SendTimeModel().fit(tab)
    recs = {**recommend_all(tab, subscribers=truth.index), "truth": truth}
    card = score_send_times(default_world, recs)
    c = card.set_index("method")
    assert c.loc["truth", "mean_error_h"] == 0 and c.loc["truth", "within_1h"] == 1
    assert c.loc["truth", "open_rate_vs_preferred"] == pytest.approx(1.0)
    assert (c["open_rate_ratio"] <= 1 + 1e-9).all() and (c["open_rate_ratio"] > 0.5).all()
    assert c.loc["shrunk", "mean_error_h"] < c.loc["global", "mean_error_h"]
    assert card["mean_error_h"].is_monotonic_increasing
    by = score_send_times(default_world, recs, history=model.n_opens_, by_history=True)
    assert set(by["history"].astype(str)) == set(HISTORY_BANDS)
    sizes = by.groupby("method", observed=True)["subscribers"].sum()
    assert (sizes == len(truth)).all()
    with pytest.raises(Exception, match="no hour"):
        score_send_times(default_world, {"x": truth.iloc[:10]})


def test_scorecard_on_an_old_world_has_no_open_rate(tiny_world) -> None:
    card = score_send_times(tiny_world, {"truth": true_hours(tiny_world)})
    assert card["mean_error_h"].iloc[0] == 0 and np.isnan(card["open_rate_ratio"].iloc[0])


# ------------------------------------------------------------------ windows, findings, plots


def test_send_windows_and_findings(fitted) -> None:
    model, _, seg, pref = fitted
    win = send_windows(model, names={0: "early", 1: "noon", 2: "evening", 3: "night"})
    assert list(win.columns) == [
        "segment",
        "name",
        "subscribers",
        "send_hour",
        "window",
        "with_opens",
        "share_within_1h",
    ]
    assert win["subscribers"].sum() == len(model.hours_)
    assert win["window"].str.fullmatch(r"\d\d:\d\d\u2013\d\d:\d\d local").all()
    assert win["share_within_1h"].between(0, 1).all()
    np.testing.assert_allclose(
        win.set_index("segment")["send_hour"], model.segment_hours_.loc[win["segment"]]
    )
    # other groups: hours from the members' posteriors
    halves = pd.Series((seg.index % 2).to_numpy(), index=seg.index)
    assert len(send_windows(model, halves)) == 2
    card = pd.DataFrame(
        {
            "method": ["shrunk", "segment", "global"],
            "mean_error_h": [1.2, 1.6, 4.0],
            "within_1h": [0.6, 0.5, 0.1],
            "open_rate_ratio": [0.93, 0.9, 0.8],
        }
    )
    found = timing_findings(model, card, windows=win)
    assert all(isinstance(f, Finding) for f in found)
    text = " ".join(f.text for f in found)
    assert "within" in text and "early" in text and "1.2 h" in text
    assert any(f.action for f in found)


def test_figures(fitted) -> None:
    model, _, _, pref = fitted
    by = pd.DataFrame(
        {
            "method": ["shrunk", "segment", "global"] * 2,
            "history": ["0"] * 3 + ["5-19"] * 3,
            "subscribers": [10] * 3 + [20] * 3,
            "mean_error_h": [2.0, 2.0, 4.0, 1.0, 1.5, 4.0],
        }
    )
    fig = plot_send_time_errors(by)
    ax = fig.axes[0]
    assert "closest" in ax.get_title() and ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 3
    sid = int(model.n_opens_.idxmax())
    fig = plot_hour_profile(model, sid)
    assert f"Subscriber {sid}" in fig.get_suptitle() and len(fig.axes) == 2
    assert all(a.get_xlabel() and a.get_ylabel() for a in fig.axes)
    fig = plot_hour_profile(model, segment=model.segment_hours_.index[0])
    assert "Segment" in fig.get_suptitle()
    with pytest.raises(ValueError):
        plot_hour_profile(model)
