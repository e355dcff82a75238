"""Incrementality from channel holdouts and attribution calibrated by it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.attribution import (
    CalibratedAttribution,
    attribute,
    compare_models,
    file_incrementality,
    holdout_evidence,
    journeys_from_world,
    load_channel_truth,
    read_holdouts,
    scorecard,
    validate_holdouts,
    world_incrementality,
)
from workbench.attribution.incrementality import COLUMNS, adjusted_difference
from workbench.cli import main
from workbench.errors import DataError, WorkbenchError
from workbench.experiments import incremental
from workbench.paths import sample_world
from workbench.schema import load_world
from workbench.synth import generate_world

HOLDOUTS = pd.DataFrame(
    {
        "channel": ["sms", "sms", "email", "email"],
        "arm": ["exposed", "holdout", "exposed", "holdout"],
        "n": [8000, 2000, 8500, 1500],
        "conversions": [880, 180, 1530, 180],
        "revenue": [88000.0, 18500.0, 150000.0, 17000.0],
    }
)


# ------------------------------------------------------------------ the adjusted difference


def test_adjusted_difference_without_covariates_is_welch() -> None:
    rng = np.random.default_rng(0)
    y = rng.poisson(2.0, 3000).astype(float)
    t = rng.random(3000) < 0.3
    b, se = adjusted_difference(y, t, None)
    assert b == pytest.approx(y[t].mean() - y[~t].mean())
    welch = np.sqrt(y[t].var(ddof=1) / t.sum() + y[~t].var(ddof=1) / (~t).sum())
    assert se == pytest.approx(welch, rel=1e-3)


def test_adjusted_difference_covers_and_gains_precision() -> None:
    """90% intervals cover the true effect about 90% of the time; adjustment shrinks them."""
    rng = np.random.default_rng(1)
    reps, n, effect = 400, 1500, 0.3
    hits, ratio = 0, []
    for _ in range(reps):
        x = rng.gamma(1.5, 1.0, n)  # a subscriber's own rate, seen before the test
        t = rng.random(n) < 0.5
        y = rng.poisson(x * (1 + effect * t)).astype(float)  # heteroskedastic, interacting
        truth = effect * x.mean()  # the sample's average effect
        b, se = adjusted_difference(y, t, x[:, None])
        hits += abs(b - truth) < 1.645 * se
        ratio.append(se / adjusted_difference(y, t, None)[1])
    mc = np.sqrt(0.9 * 0.1 / reps)  # Monte Carlo standard error of the coverage
    assert abs(hits / reps - 0.9) < 4 * mc
    assert np.mean(ratio) < 0.8


# ---------------------------------------------------------------- incrementality from files


def test_file_incrementality_is_the_test_engines_answer() -> None:
    inc = file_incrementality(HOLDOUTS, seed=3)
    assert list(inc.columns) == [c for c in COLUMNS if c != "segment"]
    table = validate_holdouts(HOLDOUTS)
    for ch in ("email", "sms"):
        sub = table[table["segment"] == ch].reset_index(drop=True)
        ref = incremental(sub, "holdout", hdi=0.9, seed=3).iloc[0]
        row = inc.set_index("channel").loc[ch]
        for col in ("incremental_conversions", "incremental_conversions_low", "prob_positive"):
            assert row[col] == pytest.approx(ref[col])
        n1, c1, n0, c0 = (
            sub.set_index("arm").loc[["exposed", "holdout"], ["n", "conversions"]].values.ravel()
        )
        # the posterior median of the relative lift is near the ratio of the observed rates
        assert row["relative_lift"] == pytest.approx((c1 / n1) / (c0 / n0) - 1, abs=0.02)
    assert set(inc["method"]) == {"Beta-Binomial"}


def test_power_rises_and_mde_falls_with_size() -> None:
    big = HOLDOUTS.assign(n=HOLDOUTS["n"] * 10, conversions=HOLDOUTS["conversions"] * 10)
    small, large = file_incrementality(HOLDOUTS), file_incrementality(big)
    assert (large["power"] > small["power"]).all()
    assert (large["mde_lift"] < small["mde_lift"]).all()
    # an MDE of m: a true lift of m is detected with 80% probability, by construction
    from workbench.attribution.incrementality import holdout_power

    power, mde = holdout_power(np.array(0.02), 0.05, 0.9)
    again = holdout_power(np.array(0.02), float(mde), 0.9)[0]
    assert again == pytest.approx(0.8, abs=1e-3)  # + far tail
    assert 0 < power < 1


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda d: d.drop(columns="channel"), "column 'channel': column not found"),
        (
            lambda d: d.assign(arm=["exposed", "control", "exposed", "holdout"]),
            "control arm 'holdout' missing",
        ),
        (lambda d: d.assign(conversions=[880, 180, 1530, 1800]), "conversions above n"),
        (lambda d: d.assign(n=[8000, 2000, 8500.5, 1500]), "non-integer counts"),
        (lambda d: pd.concat([d, d.iloc[[0]].assign(arm="other")]), "more than two arms"),
    ],
)
def test_bad_holdouts_name_file_column_rows(tmp_path: Path, change, needle: str) -> None:
    bad = change(HOLDOUTS.copy())
    with pytest.raises(DataError, match=needle):
        validate_holdouts(bad, "h.csv")
    path = tmp_path / "h.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        read_holdouts(path)
    assert str(path) in str(exc.value) and needle.split(":")[0].strip("'") in str(exc.value)


# ---------------------------------------------------------------- incrementality from worlds


@pytest.fixture(scope="module")
def sample() -> object:
    return load_world(sample_world())


def test_world_incrementality_on_the_sample(sample) -> None:
    inc = world_incrementality(sample)
    assert list(inc.columns) == [c for c in COLUMNS if c != "segment"]
    assert list(inc["channel"]) == ["sms"]  # the tiny scenario holds out SMS only
    r = inc.iloc[0]
    consented = sample["subscribers"].set_index("subscriber_id")["sms_consent"]
    a = sample["assignments"]
    a = a[a["experiment_id"] == r["experiment_id"]]
    assert r["n_exposed"] + r["n_holdout"] == consented.reindex(a["subscriber_id"]).sum()
    assert 0 < r["exposure_share"] <= 1
    assert r["incremental_conversions_low"] < r["incremental_conversions"]
    assert r["incremental_conversions"] < r["incremental_conversions_high"]
    everyone = world_incrementality(sample, eligible_only=False, adjust=False).iloc[0]
    assert everyone["n_exposed"] + everyone["n_holdout"] == len(a)
    assert everyone["method"] == "difference of means"


def test_unknown_consent_and_signup_mean_everyone(sample) -> None:
    """An export without consent flags (read as False) or signup dates still measures."""
    world = {k: sample[k] for k in ("experiments", "assignments", "orders", "touchpoints")}
    world["subscribers"] = sample["subscribers"].assign(sms_consent=False, signup_ts=pd.NaT)
    r = world_incrementality(world).iloc[0]
    a = sample["assignments"]
    assert r["n_exposed"] + r["n_holdout"] == (a["experiment_id"] == r["experiment_id"]).sum()
    assert r["method"] == "regression-adjusted, everyone (sms_consent unknown)"
    assert np.isfinite(r["incremental_conversions_sd"]) and r["incremental_conversions_sd"] > 0


def test_world_incrementality_per_segment(sample) -> None:
    seg = world_incrementality(sample, segments="region", min_segment_size=10)
    assert "segment" in seg.columns and seg["segment"].notna().all()
    overall = world_incrementality(sample).iloc[0]
    assert seg["n_exposed"].sum() <= overall["n_exposed"]
    assert (seg["mde_lift"] > overall["mde_lift"]).all()  # smaller groups, less power
    with pytest.raises(DataError, match="no such segment column"):
        world_incrementality(sample, segments="zodiac")


def test_a_world_without_holdouts_gives_an_empty_table(sample) -> None:
    ex = sample["experiments"]
    world = {k: sample[k] for k in ("subscribers", "assignments", "orders", "touchpoints")}
    world["experiments"] = ex[ex["kind"] != "channel_holdout"]
    assert world_incrementality(world).empty


# ----------------------------------------------------------------------- calibrated model

CREDIT = pd.DataFrame(
    {
        "channel": ["direct", "email", "organic_search", "sms", "push"],
        "conversions": [3000.0, 4000.0, 2000.0, 1000.0, 1500.0],
        "value": [300000.0, 400000.0, 200000.0, 100000.0, 150000.0],
    }
)


def _evidence(**incs: tuple[float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [(ch, m, s, "test") for ch, (m, s) in incs.items()],
        columns=["channel", "incremental", "incremental_sd", "scaled_by"],
    )


def test_precise_holdouts_are_reproduced() -> None:
    ev = _evidence(email=(6000, 30), sms=(300, 5), push=(150, 5), organic_search=(200, 5))
    cal = CalibratedAttribution(seed=1).fit(CREDIT, ev).attribution_.set_index("channel")
    for ch, (m, _) in {"email": (6000, 0), "sms": (300, 0), "push": (150, 0)}.items():
        assert cal.loc[ch, "conversions"] == pytest.approx(m, rel=0.02)
        assert cal.loc[ch, "conversions_low"] < m < cal.loc[ch, "conversions_high"]
    assert cal.loc["direct", ["conversions", "share", "factor"]].eq(0).all()
    assert cal["share"].sum() == pytest.approx(1)
    assert cal.loc["email", "factor"] == pytest.approx(1.5, rel=0.02)
    assert (cal["holdouts"] == [0, 1, 1, 1, 1]).all()


def test_a_channel_without_holdout_borrows_the_pooled_factor() -> None:
    ev = _evidence(email=(2000, 20), sms=(500, 5), push=(750, 8))  # every factor is 0.5
    model = CalibratedAttribution(seed=2).fit(CREDIT, ev)
    cal = model.attribution_.set_index("channel")
    assert model.pooled_factor_ == pytest.approx(0.5, rel=0.15)
    assert cal.loc["organic_search", "factor"] == pytest.approx(0.5, rel=0.2)
    assert cal.loc["organic_search", "holdouts"] == 0
    # borrowed strength is less certain than a measurement
    width = (cal["factor_high"] - cal["factor_low"]) / cal["factor"]
    assert width["organic_search"] > 3 * width["sms"]


def test_a_noisy_holdout_is_pulled_towards_the_others() -> None:
    precise = _evidence(email=(2000, 20), sms=(500, 5), push=(750, 8))
    noisy = pd.concat([precise, _evidence(organic_search=(3000, 1500))])
    cal = CalibratedAttribution(seed=2).fit(CREDIT, noisy).attribution_.set_index("channel")
    f = cal.loc["organic_search", "factor"]
    assert 0.5 < f < 1.5  # between the pool (0.5) and its own noisy 1.5


def test_calibrated_model_is_seeded_and_checks_its_inputs() -> None:
    ev = _evidence(email=(2000, 200), sms=(500, 100))
    a = CalibratedAttribution(seed=5).fit(CREDIT, ev).attribution_
    b = CalibratedAttribution(seed=5).fit(CREDIT, ev).attribution_
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(WorkbenchError, match="'fax', which no path touches"):
        CalibratedAttribution().fit(CREDIT, _evidence(fax=(1, 1)))
    with pytest.raises(WorkbenchError, match="interval"):
        CalibratedAttribution(interval=1.5).fit(CREDIT, ev)
    with pytest.raises(WorkbenchError, match="pool_spread"):
        CalibratedAttribution(pool_spread=0).fit(CREDIT, ev)
    empty = CalibratedAttribution().fit(CREDIT, _evidence()).attribution_  # no holdout at all
    assert empty["share"].sum() == pytest.approx(1) and (empty["holdouts"] == 0).all()


def test_holdout_evidence_scales_world_and_file_tests() -> None:
    world = pd.DataFrame(
        {
            "channel": ["sms"],
            "incremental_conversions": [100.0],
            "incremental_conversions_sd": [20.0],
            "exposure_share": [0.25],
            "rate_exposed": [0.1],
            "rate_holdout": [0.09],
            "n_exposed": [1000],
        }  # fmt: skip
    )
    ev = holdout_evidence(world, 5000)
    assert ev.loc[0, ["incremental", "incremental_sd"]].tolist() == [400.0, 80.0]
    f = file_incrementality(HOLDOUTS)
    ev = holdout_evidence(f, 10000).set_index("channel")
    caused = 1 - (180 / 2000) / (880 / 8000)
    assert ev.loc["sms", "incremental"] == pytest.approx(caused * 10000)
    assert set(ev["scaled_by"]) == {"relative lift"}


def test_attribute_calibrated_needs_holdouts_and_no_segments(sample) -> None:
    j = journeys_from_world(sample, segment="region")
    with pytest.raises(WorkbenchError, match="needs holdout results"):
        attribute(j, "calibrated")
    with pytest.raises(WorkbenchError, match="without a segment"):
        attribute(j, "calibrated", holdouts=world_incrementality(sample), by="segment")
    with pytest.raises(WorkbenchError, match="unknown base model"):
        attribute(j, "calibrated", holdouts=world_incrementality(sample), base="calibrated")
    by_region = world_incrementality(sample, segments="region", min_segment_size=10)
    with pytest.raises(WorkbenchError, match="overall result, not its segments"):
        attribute(j, "calibrated", holdouts=by_region)
    res = compare_models(j, ["markov", "calibrated"], holdouts=world_incrementality(sample))
    assert set(res["model"]) == {"markov", "calibrated"}
    cal = res[res["model"] == "calibrated"].set_index("channel")
    assert cal.loc["sms", "holdouts"] == 1 and cal.loc["direct", "conversions"] == 0


def test_cli_world_and_holdouts_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cal.csv"
    assert main(["attribute", "--world", str(sample_world()), "--model", "calibrated",
                 "--out", str(out)]) == 0  # fmt: skip
    cal = pd.read_csv(out)
    assert list(cal.columns[:5]) == ["channel", "conversions", "value", "share", "value_share"]
    assert {"conversions_low", "conversions_high", "share_low", "share_high"} <= set(cal.columns)
    assert "incremental conversions" in capsys.readouterr().out
    paths = tmp_path / "paths.csv"
    journeys_from_world(sample_world()).to_paths().to_csv(paths, index=False)
    h = tmp_path / "holdouts.csv"
    HOLDOUTS.to_csv(h, index=False)
    out2 = tmp_path / "cal2.parquet"
    argv = ["attribute", "--paths", str(paths), "--model", "calibrated", "--calibrate-with", str(h)]
    assert main([*argv, "--out", str(out2)]) == 0
    res = pd.read_parquet(out2).set_index("channel")
    assert res.loc[["email", "sms"], "holdouts"].tolist() == [1, 1]
    # any model works from a world, not only from a paths file
    out3 = tmp_path / "markov.csv"
    assert main(["attribute", "--world", str(sample_world()), "--model", "markov",
                 "--out", str(out3)]) == 0  # fmt: skip
    assert pd.read_csv(out3)["conversions"].sum() == pytest.approx(
        pd.read_csv(paths)["total_conversions"].sum()
    )
    capsys.readouterr()


# ------------------------------------------------------------------ the scorecard, end to end


@pytest.mark.slow
def test_calibration_beats_every_path_model_on_a_default_world(tmp_path: Path) -> None:
    """On a (smaller) default world, calibration cuts the share error several-fold."""
    w = generate_world("default", n_subscribers=20000, seed=77, out=tmp_path / "w")
    world = load_world(w)
    res = compare_models(
        journeys_from_world(world),
        ["last", "linear", "markov", "shapley", "calibrated"],
        holdouts=world_incrementality(world),
    )
    card = scorecard(res, load_channel_truth(w)).set_index("model")
    best_path = card.drop(index="calibrated")["mean_abs_error"].min()
    assert card.loc["calibrated", "mean_abs_error"] < 0.5 * best_path
    assert card.loc["calibrated", "spearman"] > card.drop(index="calibrated")["spearman"].max()
