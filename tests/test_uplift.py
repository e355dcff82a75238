"""The numeric core of uplift targeting: learners, metrics, policies, segments, plots.

Thresholds on learned rankings come from measurements over several seeds (written next to each
test), with a margin; the metrics are checked on a small example computed by hand and on one
computed with scikit-uplift 0.5.1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError

# figure_problems: the report-page inspector every figure of the package passes
from test_plots_look import figure_problems

from workbench.errors import WorkbenchError
from workbench.uplift import (
    SEGMENTS,
    UpliftModel,
    auuc,
    calibration_table,
    choose_targets,
    evaluate,
    expected_gain,
    gain_table,
    qini_coefficient,
    qini_curve,
    segment_summary,
    simulate_uplift,
    uplift_at,
    uplift_curve,
    uplift_segments,
)
from workbench.uplift import plots as uplots

LEARNER_NAMES = ("s", "t", "x", "dr")


def _fast(seed: int = 0) -> dict:
    """Small boosting models for the tests of conventions (speed, not accuracy)."""
    kw = dict(max_iter=15, max_leaf_nodes=7, min_samples_leaf=20, early_stopping=False)
    return {
        "estimator": HistGradientBoostingClassifier(**kw, random_state=seed),
        "regressor": HistGradientBoostingRegressor(**kw, random_state=seed),
    }


@pytest.fixture(autouse=True, scope="module")
def _one_openmp_thread():
    """HistGradientBoosting on a few thousand rows is as fast on one thread, and on a machine
    shared by several processes OpenMP's waiting threads make it ten times slower."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    return simulate_uplift(800, seed=3)


# --------------------------------------------------------------------------- simulation


def test_simulation_has_the_four_groups() -> None:
    X, y, t, u = simulate_uplift(40_000, seed=1)
    assert list(X.columns) == [
        "opens_90d", "recency_days", "spend_12m", "emails_30d", "tenure_years", "device",
    ]  # fmt: skip
    assert isinstance(X["device"].dtype, pd.CategoricalDtype)
    assert set(np.unique(y)) == {0.0, 1.0} and set(np.unique(t)) == {0, 1}
    assert abs(t.mean() - 0.5) < 0.01  # 4 sd of a share of 40,000
    assert (u < -0.02).mean() > 0.05  # do-not-disturbs (heavily mailed)
    assert (u > 0.05).mean() > 0.2  # persuadables
    # the observed difference of means estimates the mean true uplift (se ~ 0.004)
    assert abs((y[t == 1].mean() - y[t == 0].mean()) - u.mean()) < 0.02
    heavy = X["emails_30d"] >= 20
    assert u[heavy].mean() < -0.02 < 0.02 < u[~heavy].mean()
    Xc, yc, tc, uc = simulate_uplift(2_000, seed=1, kind="continuous", treated_share=0.3)
    assert not np.isin(yc, (0.0, 1.0)).all() and abs(tc.mean() - 0.3) < 0.05
    np.testing.assert_allclose(uc, 10 * simulate_uplift(2_000, seed=1, treated_share=0.3)[3])


def test_simulation_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kind"):
        simulate_uplift(10, kind="poisson")
    with pytest.raises(ValueError, match="treated_share"):
        simulate_uplift(10, treated_share=1.0)
    with pytest.raises(ValueError, match="n must"):
        simulate_uplift(1)


# --------------------------------------------------------------------------- metrics by hand

# 8 rows, distinct scores, ranked in row order. Worked out by hand (and equal to
# scikit-uplift 0.5.1): top n -> treated mean, control mean.
Y8 = np.array([1, 0, 1, 0, 1, 0, 0, 1])
T8 = np.array([1, 1, 0, 0, 1, 0, 1, 0])
S8 = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])


def test_uplift_curve_by_hand() -> None:
    curve = uplift_curve(Y8, T8, S8)
    assert list(curve.columns) == ["n", "fraction", "uplift", "random"]
    assert curve["n"].tolist() == list(range(9))
    expected = [0, 1, 1, -1.5, 0, 5 / 6, 2, 7 / 6, 0]  # (mean_t - mean_c) * n
    np.testing.assert_allclose(curve["uplift"], expected)
    np.testing.assert_allclose(curve["fraction"], np.arange(9) / 8)
    np.testing.assert_allclose(curve["random"], 0.0)  # the last point is 0


def test_qini_curve_by_hand() -> None:
    curve = qini_curve(Y8, T8, S8)
    expected = [0, 1, 1, -1, 0, 0.5, 1, 2 / 3, 0]  # Y_t - Y_c * N_t / N_c
    np.testing.assert_allclose(curve["qini"], expected)


def test_normalised_areas_by_hand() -> None:
    # perfect uplift curve (0,0) (2,2) (4,4) (6,3) (8,0): area 18; the model's: 4.5
    assert auuc(Y8, T8, S8) == pytest.approx(4.5 / 18)
    # perfect Qini curve (0,0) (2,2) (6,2) (8,0): area 12; the model's: 19/6
    assert qini_coefficient(Y8, T8, S8) == pytest.approx(19 / 72)


def test_uplift_at_by_hand() -> None:
    assert uplift_at(Y8, T8, S8, 0.5) == pytest.approx(0.5 - 0.5)
    assert uplift_at(Y8, T8, S8, 0.75) == pytest.approx(2 / 3 - 1 / 3)
    assert uplift_at(Y8, T8, S8, 1.0) == pytest.approx(0.5 - 0.5)
    assert np.isnan(uplift_at(Y8, T8, S8, 0.125))  # one row: no control
    with pytest.raises(ValueError, match="k must"):
        uplift_at(Y8, T8, S8, 0.0)


def test_metrics_agree_with_scikit_uplift_on_ties() -> None:
    """Numbers of sklift 0.5.1 (uplift_auc_score, qini_auc_score, uplift_at_k overall 0.3) on
    the same arrays; scores rounded to 0.1 so that many rows are tied."""
    rng = np.random.default_rng(42)
    n = 400
    t = (rng.random(n) < 0.4).astype(int)
    s = np.round(rng.normal(size=n), 1)
    y = (rng.random(n) < 0.2 + 0.15 * t * (s > 0)).astype(int)
    assert auuc(y, t, s) == pytest.approx(0.04852144653154811, abs=1e-12)
    assert qini_coefficient(y, t, s) == pytest.approx(0.06783916305376578, abs=1e-12)
    assert uplift_at(y, t, s, 0.3) == pytest.approx(0.011428571428571427, abs=1e-12)


def test_ties_enter_the_curves_together() -> None:
    s = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    y = np.array([1, 0, 1, 0, 0, 1])
    t = np.array([1, 0, 1, 0, 1, 0])
    curve = qini_curve(y, t, s)
    assert curve["n"].tolist() == [0, 3, 6]
    # the area does not depend on the order of rows within the ties
    perm = np.array([2, 0, 1, 5, 3, 4])
    assert auuc(y[perm], t[perm], s[perm]) == pytest.approx(auuc(y, t, s))


def test_metrics_refuse_bad_input() -> None:
    with pytest.raises(WorkbenchError, match="both arms"):
        auuc(Y8, np.ones(8), S8)
    with pytest.raises(ValueError, match="different lengths"):
        qini_curve(Y8, T8, S8[:-1])
    with pytest.raises(ValueError, match="score"):
        uplift_curve(Y8, T8, np.r_[S8[:-1], np.nan])
    with pytest.raises(ValueError, match="0/1"):
        uplift_curve(Y8, T8 * 2, S8)


def test_calibration_table_and_evaluate() -> None:
    X, y, t, u = simulate_uplift(20_000, seed=1)
    table = calibration_table(y, t, u, bins=10)
    assert table.shape == (10, 9)
    assert list(table.columns) == [
        "bin", "n", "n_treated", "n_control", "predicted", "observed", "se", "low", "high",
    ]  # fmt: skip
    assert table["n"].sum() == 20_000 and (table["n_treated"] + table["n_control"] == 2000).all()
    assert table["predicted"].is_monotonic_decreasing
    # a perfect score: observed uplift falls with the bin (top vs bottom differ by 12 se)
    assert table["observed"].iloc[0] > table["observed"].iloc[4] > table["observed"].iloc[-1]
    rho = spearmanr(table["bin"], table["observed"])[0]
    assert rho < -0.8  # measured -0.92 to -0.99 over seeds 0-4
    inside = (table["low"] <= table["predicted"]) & (table["predicted"] <= table["high"])
    assert inside.mean() >= 0.7  # 95% intervals around a calibrated score: 9 or 10 of 10
    # se from the two arms' variances
    top = table.iloc[0]
    assert top["high"] - top["low"] == pytest.approx(2 * 1.959964 * top["se"], rel=1e-5)

    result = evaluate(y, t, u, ks=(0.1, 0.25))
    assert set(result) == {"n", "ate", "ate_se", "auuc", "qini_coefficient", "uplift_at"}
    assert set(result["uplift_at"]) == {"0.1", "0.25"}
    assert result["n"] == 20_000
    assert result["ate"] == pytest.approx(y[t == 1].mean() - y[t == 0].mean())
    assert abs(result["ate"] - u.mean()) < 4 * result["ate_se"]
    # normalised by sklift's perfect curves (which order by the observed outcomes, so even the
    # true uplift scores far below 1): measured 0.068-0.087 and 0.11-0.14 over seeds 0-4
    assert result["auuc"] > 0.04 and result["qini_coefficient"] > 0.07
    assert result["uplift_at"]["0.1"] > result["ate"] + 4 * result["ate_se"]


def test_true_uplift_ranks_better_than_a_random_score() -> None:
    for seed in range(3):
        X, y, t, u = simulate_uplift(10_000, seed=seed)
        noise = np.random.default_rng(seed).random(len(u))
        # measured over seeds 0-4: true 0.069-0.092, random -0.017-0.032 (gap >= 0.05)
        assert auuc(y, t, u) > auuc(y, t, noise) + 0.02
        assert qini_coefficient(y, t, u) > qini_coefficient(y, t, noise) + 0.03


def test_metrics_take_a_continuous_outcome() -> None:
    X, y, t, u = simulate_uplift(5_000, seed=2, kind="continuous")
    noise = np.random.default_rng(2).random(len(u))
    # measured over seeds 0-4: true 0.13-0.15, random -0.014-0.022
    assert auuc(y, t, u) > auuc(y, t, noise) + 0.05
    assert qini_coefficient(y, t, u) > 0.04  # measured 0.08-0.096


# --------------------------------------------------------------------------- policies


def test_choose_targets_budget_as_fraction_and_count() -> None:
    u = np.array([0.3, 0.1, 0.5, 0.2, 0.4, 0.05, 0.25, 0.15, 0.35, 0.45])
    mask = choose_targets(u, 0.3)
    assert mask.sum() == 3 and set(np.flatnonzero(mask)) == {2, 9, 4}
    assert (choose_targets(u, 3) == mask).all()
    assert (choose_targets(u, 3.0) == mask).all()  # a whole float above 1 is a count
    assert choose_targets(u, 1.0).all()  # 1.0 is everyone
    assert choose_targets(u, 1).sum() == 1  # the integer 1 is one row
    assert choose_targets(u, 500).all()
    assert choose_targets(np.arange(100.0), 0.29).sum() == 29  # not 28 by rounding
    for bad in (0.0, -1, 2.5, True):
        with pytest.raises(ValueError):
            choose_targets(u, bad)


def test_choose_targets_breaks_ties_by_row_order() -> None:
    u = np.array([0.1, 0.2, 0.2, 0.2, 0.0])
    assert np.flatnonzero(choose_targets(u, 2)).tolist() == [1, 2]


def test_choose_targets_never_below_the_floor() -> None:
    u = np.array([0.3, -0.1, 0.2, 0.0, -0.2])
    assert np.flatnonzero(choose_targets(u, 1.0)).tolist() == [0, 2, 3]
    assert np.flatnonzero(choose_targets(u, 1.0, min_uplift=0.1)).tolist() == [0, 2]
    assert choose_targets(u, 1.0, min_uplift=None).all()


def test_choose_targets_under_a_risk_ceiling() -> None:
    u = np.array([0.5, 0.4, 0.3, 0.2, 0.1])
    risk = np.array([0.02, 0.04, 0.30, 0.01, 0.01])
    # top 4 have mean risk 0.0925; dropping the lowest uplift first: top 3 0.12, top 2 0.03
    mask = choose_targets(u, 4, risk=risk, max_risk=0.05)
    assert np.flatnonzero(mask).tolist() == [0, 1]
    assert risk[mask].mean() <= 0.05
    assert choose_targets(u, 4, risk=risk, max_risk=1.0).sum() == 4
    assert not choose_targets(u, 4, risk=risk, max_risk=0.001).any()
    with pytest.raises(ValueError, match="together"):
        choose_targets(u, 4, risk=risk)


def test_expected_gain_point_and_interval() -> None:
    X, y, t, u = simulate_uplift(4_000, seed=11)
    gain = expected_gain(y, t, u, 0.25, 100_000, n_boot=200, seed=1)
    assert set(gain) == {"targeted", "incremental", "low", "high", "per_target"}
    assert gain["targeted"] == 25_000
    top = np.argsort(-u, kind="stable")[:1000]
    per = y[top][t[top] == 1].mean() - y[top][t[top] == 0].mean()
    assert gain["per_target"] == pytest.approx(per)
    assert gain["incremental"] == pytest.approx(per * 25_000)
    assert gain["low"] < gain["incremental"] < gain["high"]
    # the same seed gives the same interval; counts are budgets of the population
    assert expected_gain(y, t, u, 25_000, 100_000, n_boot=200, seed=1) == gain


def test_expected_gain_interval_covers_the_truth() -> None:
    """Coverage of the 90% interval over 40 held-out samples of 3,000 rows, scored with the true
    uplift: the truth is the mean true uplift of the population's top 20%, from 400,000 rows.
    Measured: 34 of 40 here, 137 of 160 over seeds 0-159 (86%: a percentile bootstrap covers a
    little less than nominal; the point estimate showed no bias, mean error -450 +- 590). The
    bound 30 is 2 binomial sd below 34.4, the count expected at 86%."""
    Xp, yp, tp, up = simulate_uplift(400_000, seed=999)
    truth_per_target = np.sort(up)[::-1][: int(0.2 * len(up))].mean()
    covered = 0
    for seed in range(40):
        X, y, t, u = simulate_uplift(3_000, seed=seed)
        gain = expected_gain(y, t, u, 0.2, 1_000_000, n_boot=200, seed=seed)
        truth = truth_per_target * gain["targeted"]
        covered += gain["low"] <= truth <= gain["high"]
    assert covered >= 30


def test_bootstrap_counts_match_resampling_rows() -> None:
    """The bootstrap's copy counting equals drawing the rows and taking the top m of them."""
    from workbench.uplift.policy import _bootstrap_uplift

    rng = np.random.default_rng(5)
    n = 300
    t = (rng.random(n) < 0.4).astype(float)
    y = (rng.random(n) < 0.3).astype(float)
    tops = [1, 17, 150, 299, 300]
    fast = _bootstrap_uplift(y, t, tops, n_boot=20, seed=9)
    draw = np.random.default_rng(9)
    treated, control = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    for rep in range(20):
        rows = np.sort(
            np.r_[
                treated[draw.integers(0, len(treated), len(treated))],
                control[draw.integers(0, len(control), len(control))],
            ]
        )  # rows are in ranking order: the resample's ranking is its sorted row numbers
        for j, m in enumerate(tops):
            yt, tt = y[rows[:m]], t[rows[:m]]
            if tt.all() or not tt.any():
                assert np.isnan(fast[rep, j])
            else:
                naive = yt[tt == 1].mean() - yt[tt == 0].mean()
                assert fast[rep, j] == pytest.approx(naive, abs=1e-12)


def test_gain_table_shares_its_resamples() -> None:
    X, y, t, u = simulate_uplift(3_000, seed=4)
    table = gain_table(y, t, u, 50_000, n_boot=100)
    assert list(table.columns) == ["budget", "targeted", "incremental", "low", "high", "per_target"]
    assert len(table) == 20 and table["budget"].iloc[-1] == 1.0
    assert table["targeted"].tolist() == [int(round(b * 50_000)) for b in table["budget"]]
    assert table.attrs["interval"] == 0.9
    one = expected_gain(y, t, u, 0.3, 50_000, n_boot=100)
    row = table[np.isclose(table["budget"], 0.3)].iloc[0]
    assert row["incremental"] == pytest.approx(one["incremental"])
    assert row["low"] == pytest.approx(one["low"]) and row["high"] == pytest.approx(one["high"])
    # everyone targeted: the difference of means on the whole sample
    assert table["per_target"].iloc[-1] == pytest.approx(y[t == 1].mean() - y[t == 0].mean())


# --------------------------------------------------------------------------- segments


def test_segments_by_rule() -> None:
    mu0 = np.array([0.10, 0.50, 0.05, 0.30, 0.60, 0.02])
    mu1 = np.array([0.20, 0.51, 0.05, 0.10, 0.60, 0.03])
    seg = uplift_segments(mu0, mu1, min_uplift=0.05)
    assert list(seg.categories) == list(SEGMENTS)
    # median of mu0 is 0.2: 0.5 and 0.6 are above, 0.05 and 0.02 below
    assert list(seg) == [
        "persuadable", "sure thing", "lost cause", "do not disturb", "sure thing", "lost cause",
    ]  # fmt: skip
    summary = segment_summary(seg, mu1 - mu0, mu0, mu1)
    assert summary["segment"].tolist() == list(SEGMENTS)
    assert summary["n"].tolist() == [1, 2, 2, 1]
    assert summary["share"].sum() == pytest.approx(1.0)
    assert summary["action"].tolist() == [
        "send", "send only if cheap", "do not spend budget", "do not send",
    ]  # fmt: skip
    assert summary.loc[0, "mean_uplift"] == pytest.approx(0.1)
    with pytest.raises(ValueError, match="min_uplift"):
        uplift_segments(mu0, mu1, min_uplift=-0.1)


def test_segments_default_threshold_and_empty_segments() -> None:
    mu0 = np.full(4, 0.2)
    mu1 = np.array([0.3, 0.3, 0.3, 0.3])
    seg = uplift_segments(mu0, mu1)  # threshold: half the mean uplift, 0.05
    assert (seg == "persuadable").all()
    summary = segment_summary(seg, mu1 - mu0, mu0, mu1)
    assert summary["n"].tolist() == [4, 0, 0, 0]
    assert summary["mean_uplift"].isna().tolist() == [False, True, True, True]


def test_segments_of_a_fitted_model_follow_the_true_uplift() -> None:
    X, y, t, u = simulate_uplift(8_000, seed=21)
    Xt, _, _, ut = simulate_uplift(8_000, seed=22)
    model = UpliftModel("t", oof=False).fit(X, y, t)
    mu0, mu1 = model.predict_arms(Xt)
    seg = np.asarray(uplift_segments(mu0, mu1))
    true = {name: ut[seg == name].mean() for name in SEGMENTS}
    # mean true uplift measured over seeds 21-25: persuadable 0.083-0.106, sure thing
    # 0.030-0.045, lost cause 0.002-0.008, do not disturb -0.035 to -0.022
    assert true["persuadable"] > true["do not disturb"] + 0.05
    assert true["persuadable"] > max(true["sure thing"], true["lost cause"])
    assert true["do not disturb"] < 0


# --------------------------------------------------------------------------- learners


def _spearman_on_new_rows(learner: str, n: int, seed: int, kind: str = "binary") -> float:
    X, y, t, _ = simulate_uplift(n, seed=seed, kind=kind)
    Xt, _, _, ut = simulate_uplift(10_000, seed=seed + 1000, kind=kind)
    model = UpliftModel(learner, oof=False).fit(X, y, t)
    return float(spearmanr(model.predict(Xt), ut)[0])


# Spearman correlation of the predicted with the true uplift on 10,000 new rows, measured over
# seeds 0-4 at n = 6,000 (binary): S 0.83-0.94, T 0.65-0.79, X 0.72-0.83, DR 0.62-0.76.
# Floors: the lowest minus about 0.12.
FAST_FLOOR = {"s": 0.7, "t": 0.52, "x": 0.6, "dr": 0.5}


@pytest.mark.parametrize("learner", LEARNER_NAMES)
def test_each_learner_ranks_by_the_true_uplift(learner: str) -> None:
    assert _spearman_on_new_rows(learner, 6_000, seed=0) > FAST_FLOOR[learner]


# At n = 20,000, over seeds 0-4: S 0.93-0.95, T 0.79-0.86, X 0.86-0.91, DR 0.81-0.87.
# Floors: the lowest minus about 0.08.
SLOW_FLOOR = {"s": 0.85, "t": 0.71, "x": 0.78, "dr": 0.73}


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("learner", LEARNER_NAMES)
def test_each_learner_ranks_by_the_true_uplift_on_more_data(learner: str, seed: int) -> None:
    assert _spearman_on_new_rows(learner, 20_000, seed=seed) > SLOW_FLOOR[learner]


@pytest.mark.parametrize("learner", ["t", "dr"])
def test_a_continuous_outcome(learner: str) -> None:
    # measured over seeds 0-4 at n = 6,000: T 0.79-0.85, DR 0.80-0.86
    assert _spearman_on_new_rows(learner, 6_000, seed=0, kind="continuous") > 0.68


def test_fitted_attributes_and_out_of_fold_uplift() -> None:
    X, y, t, u = simulate_uplift(6_000, seed=8)
    model = UpliftModel("t").fit(X, y, t)
    assert model.outcome_ == "binary"
    assert model.propensity_ == pytest.approx(t.mean())
    assert model.ate_ == pytest.approx(y[t == 1].mean() - y[t == 0].mean())
    assert model.n_features_in_ == 6
    assert list(model.feature_names_in_) == list(X.columns)
    oof = model.oof_uplift_
    assert oof.shape == (6_000,) and np.isfinite(oof).all()
    assert spearmanr(oof, u)[0] > 0.45  # measured 0.55-0.61 over seeds 5-9
    assert not np.allclose(oof, model.predict(X))  # not the in-sample prediction
    mu0, mu1 = model.predict_arms(X)
    assert ((mu0 >= 0) & (mu0 <= 1) & (mu1 >= 0) & (mu1 <= 1)).all()
    # boosting with log loss keeps each arm's mean rate on its training rows (measured 1e-4)
    assert abs(mu0[t == 0].mean() - y[t == 0].mean()) < 0.01
    assert abs(mu1[t == 1].mean() - y[t == 1].mean()) < 0.01
    assert not hasattr(UpliftModel("t", oof=False).fit(X, y, t), "oof_uplift_")


def test_x_and_dr_arms_are_the_t_learners(small) -> None:
    X, y, t, _ = small
    t_arms = UpliftModel("t", oof=False, **_fast()).fit(X, y, t).predict_arms(X)
    for learner in ("x", "dr"):
        arms = UpliftModel(learner, oof=False, **_fast()).fit(X, y, t).predict_arms(X)
        np.testing.assert_array_equal(arms[0], t_arms[0])
        np.testing.assert_array_equal(arms[1], t_arms[1])


@pytest.mark.parametrize("learner", ["s", "t"])
def test_arms_of_s_and_t_give_the_uplift(learner: str, small) -> None:
    X, y, t, _ = small
    model = UpliftModel(learner, **_fast()).fit(X, y, t)
    mu0, mu1 = model.predict_arms(X)
    np.testing.assert_allclose(mu1 - mu0, model.predict(X))


def test_known_propensity_and_outcome_choice(small) -> None:
    X, y, t, _ = small
    model = UpliftModel("dr", propensity=0.5, **_fast()).fit(X, y, t)
    assert model.propensity_ == 0.5
    cont = UpliftModel("t", outcome="continuous", **_fast()).fit(X, y, t)
    assert cont.outcome_ == "continuous"
    with pytest.raises(ValueError, match="binary"):
        UpliftModel("t", outcome="binary", **_fast()).fit(X, y + 0.5, t)


def test_arrays_work_as_well_as_frames(small) -> None:
    X, y, t, _ = small
    num = X.drop(columns="device").to_numpy()
    model = UpliftModel("x", **_fast()).fit(num, y, t.astype(bool))
    assert model.n_features_in_ == 5 and not hasattr(model, "feature_names_in_")
    assert model.predict(num[:10]).shape == (10,)
    with pytest.raises(ValueError, match="features"):
        model.predict(num[:, :4])


def test_missing_values_and_unseen_categories(small) -> None:
    X, y, t, _ = small
    Xn = X.copy()
    Xn.loc[Xn.index[:50], "spend_12m"] = np.nan
    model = UpliftModel("t", **_fast()).fit(Xn, y, t)
    new = X.head(5).copy()
    new["device"] = pd.Categorical(["tablet", "watch", "mobile", None, "desktop"])
    assert np.isfinite(model.predict(new)).all()


# --------------------------------------------------------------------------- conventions


def test_clone_and_params() -> None:
    model = UpliftModel("dr", n_folds=3, propensity=0.4, random_state=7)
    assert clone(model).get_params() == model.get_params()
    assert set(model.get_params()) >= {
        "learner", "outcome", "estimator", "regressor", "n_folds", "propensity", "random_state",
    }  # fmt: skip
    assert model.set_params(learner="x") is model and model.learner == "x"
    fresh = UpliftModel()
    assert not [k for k in vars(fresh) if k.endswith("_")]  # nothing learned in __init__


def test_fit_returns_self_and_unfitted_raises(small) -> None:
    X, y, t, _ = small
    model = UpliftModel("t", **_fast())
    with pytest.raises(NotFittedError):
        model.predict(X)
    with pytest.raises(NotFittedError):
        model.predict_arms(X)
    assert model.fit(X, y, t) is model


def test_feature_names_are_checked(small) -> None:
    X, y, t, _ = small
    model = UpliftModel("t", **_fast()).fit(X, y, t)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="feature names"):
        model.predict(X.rename(columns={"opens_90d": "opens"}))
    with pytest.raises(ValueError, match="missing:\n- device"):
        model.predict(X.drop(columns="device"))


@pytest.mark.parametrize("learner", LEARNER_NAMES)
def test_deterministic_and_inputs_untouched(learner: str, small) -> None:
    X, y, t, _ = small
    X0, y0, t0 = X.copy(), y.copy(), t.copy()
    estimator = HistGradientBoostingClassifier(max_iter=10)  # random_state None: gets ours
    regressor = _fast()["regressor"]
    a = UpliftModel(learner, estimator=estimator, regressor=regressor, random_state=3)
    b = clone(a)
    a.fit(X, y, t)
    b.fit(X, y, t)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.oof_uplift_, b.oof_uplift_)
    pd.testing.assert_frame_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(t, t0)
    assert not hasattr(estimator, "n_features_in_")  # the user's object is never fitted
    assert estimator.random_state is None


def test_bad_input_is_refused(small) -> None:
    X, y, t, _ = small
    model = UpliftModel("t", **_fast())
    with pytest.raises(WorkbenchError, match="no control"):
        model.fit(X, y, np.ones_like(t))
    with pytest.raises(WorkbenchError, match="no treated"):
        model.fit(X, y, np.zeros_like(t))
    with pytest.raises(ValueError, match="rows of X"):
        model.fit(X, y[:-1], t)
    with pytest.raises(ValueError, match="missing or infinite"):
        model.fit(X, np.r_[y[:-1], np.nan], t)
    with pytest.raises(ValueError, match="0/1"):
        model.fit(X, y, t * 2)
    with pytest.raises(ValueError, match="category"):
        model.fit(X.assign(device=X["device"].astype(str)), y, t)
    with pytest.raises(ValueError, match="learner"):
        UpliftModel("z").fit(X, y, t)
    with pytest.raises(ValueError, match="n_folds"):
        UpliftModel(n_folds=1).fit(X, y, t)
    with pytest.raises(ValueError, match="propensity"):
        UpliftModel(propensity=1.0).fit(X, y, t)


# --------------------------------------------------------------------------- plots


def test_figures_stand_alone() -> None:
    X, y, t, u = simulate_uplift(1_500, seed=6)
    noise = np.random.default_rng(0).random(len(u))
    for kind, fn in (("qini", qini_curve), ("uplift", uplift_curve)):
        fig = uplots.plot_uplift_curves(
            {"true uplift": fn(y, t, u), "random score": fn(y, t, noise)}, kind=kind
        )
        assert figure_problems(fig) == []
    assert figure_problems(uplots.plot_calibration(calibration_table(y, t, u))) == []
    fig = uplots.plot_calibration(calibration_table(y, t, u), percent=True)
    assert figure_problems(fig) == []
    assert figure_problems(uplots.plot_gain(gain_table(y, t, u, 100_000, n_boot=50))) == []
    mu0 = np.clip(0.2 - u / 2, 0, 1)
    seg = uplift_segments(mu0, mu0 + u)
    summary = segment_summary(seg, u, mu0, mu0 + u)
    assert figure_problems(uplots.plot_segments(summary)) == []
    assert figure_problems(uplots.plot_segments(summary, percent=True)) == []
