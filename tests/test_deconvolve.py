"""DeconvolvedMixture and the measurement side of the empirical-Bayes scaler."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

from workbench.errors import WorkbenchError
from workbench.segment import DeconvolvedMixture
from workbench.segment.pipelines import EmpiricalBayesScaler, make_transform


def test_recovers_the_true_spread_behind_known_noise():
    rng = np.random.default_rng(0)
    n = 20_000
    true = rng.normal(1.0, 1.0, n)
    noise = rng.uniform(0.5, 5.0, n)
    x = (true + rng.normal(0, np.sqrt(noise)))[:, None]
    m = DeconvolvedMixture(1, reg_covar=1e-9, n_init=1, tol=1e-8).fit(x, noise_var=noise[:, None])
    assert m.means_[0, 0] == pytest.approx(1.0, abs=0.05)
    assert m.variances_[0, 0] == pytest.approx(1.0, rel=0.1)  # not 1 + mean noise (~3.75)
    naive = DeconvolvedMixture(1, reg_covar=1e-9, n_init=1, tol=1e-8).fit(x)
    assert naive.variances_[0, 0] > 3


def _two_groups(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.column_stack([np.where(y == 1, 2.0, -2.0), np.where(y == 1, -1.5, 1.5)])
    x = x + rng.normal(0, 0.5, x.shape)
    return x, y


def test_missing_values_drop_out_and_the_rest_decides():
    x, y = _two_groups()
    x[::2, 1] = np.nan  # half the rows lack the second feature
    x[1::4, 0] = np.nan  # a quarter lack the first (never both)
    m = DeconvolvedMixture(2, n_init=2, random_state=0).fit(x)
    assert adjusted_rand_score(y, m.labels_) > 0.95
    assert np.isfinite(m.means_).all() and np.isfinite(m.variances_).all()
    # a row with nothing measured gets the mixture weights as its posterior
    p = m.predict_proba(np.array([[np.nan, np.nan]]))
    assert p[0] == pytest.approx(m.weights_)


def test_a_value_with_huge_noise_carries_no_weight():
    x, y = _two_groups()
    m = DeconvolvedMixture(2, n_init=2, random_state=0).fit(x)
    group_of_neg = m.predict(np.array([[-2.0, 1.5]]))[0]
    # first feature says "positive group" but is measured with enormous noise; second is exact
    row, noise = np.array([[10.0, 1.5]]), np.array([[1e6, 0.0]])
    assert m.predict(row, noise)[0] == group_of_neg
    assert m.predict(row)[0] != group_of_neg  # taken as exact, the outlying value decides


def test_noise_aware_fit_beats_a_plain_mixture_on_unevenly_measured_rows():
    rng = np.random.default_rng(3)
    n = 4000
    y = rng.integers(0, 2, n)
    true = np.column_stack([np.where(y == 1, 1.0, -1.0), rng.normal(0, 0.3, n)])
    true[:, 0] += rng.normal(0, 0.3, n)
    # 70% of the rows measure the deciding feature badly (noise variance 9)
    noise = np.column_stack([np.where(rng.random(n) < 0.7, 9.0, 0.01), np.full(n, 0.01)])
    x = true + rng.normal(0, np.sqrt(noise))
    ours = DeconvolvedMixture(2, reg_covar=1e-3, random_state=0).fit(x, noise_var=noise)
    plain = GaussianMixture(2, covariance_type="diag", random_state=0).fit(x)
    precise = noise[:, 0] < 1
    ari_ours = adjusted_rand_score(y[precise], ours.labels_[precise])
    ari_plain = adjusted_rand_score(y[precise], plain.predict(x)[precise])
    # the plain mixture spends a component on the noisy rows; ours models their noise
    assert ari_ours > 0.95 and ari_plain < ari_ours - 0.2


def test_deterministic_scores_and_errors():
    x, _ = _two_groups()
    a = DeconvolvedMixture(3, random_state=5).fit(x)
    b = DeconvolvedMixture(3, random_state=5).fit(x)
    assert np.array_equal(a.means_, b.means_) and np.array_equal(a.labels_, b.labels_)
    assert np.isfinite(a.bic(x)) and a.icl(x) >= a.bic(x)
    assert a.n_parameters() == 2 + 2 * 3 * 2
    two = DeconvolvedMixture(2, random_state=5).fit(x)
    assert two.bic(x) < DeconvolvedMixture(1).fit(x).bic(x)
    with pytest.raises(NotFittedError, match="not fitted"):
        DeconvolvedMixture().predict(x)
    with pytest.raises(WorkbenchError, match="noise_var has shape"):
        a.predict(x, np.zeros((3, 2)))
    with pytest.raises(WorkbenchError, match="negative"):
        a.predict(x, -np.ones_like(x))
    with pytest.raises(WorkbenchError, match="cannot make"):
        DeconvolvedMixture(5).fit(x[:3])
    with pytest.raises(ValueError, match="Expected 2D array"):
        a.predict(x[:, 0])
    with pytest.raises(ValueError, match="X has 1 features, but DeconvolvedMixture is expecting 2"):
        a.predict(x[:, :1])


def test_scaler_measure_gives_unshrunk_values_noise_and_missing():
    rng = np.random.default_rng(0)
    n = rng.integers(0, 40, 3000)
    p = np.clip(rng.normal(0.3, 0.1, 3000), 0.01, 0.99)
    rate = np.where(n > 0, rng.binomial(n, p) / np.maximum(n, 1), 0.0)
    x = pd.DataFrame(
        {
            "open_rate": rate,
            "emails_delivered": n,
            "emails_per_week": np.where(n > 0, n / 10, 0.0),
            "revenue": p * 100,
        }
    )
    sc = EmpiricalBayesScaler(
        {"open_rate": "emails_delivered"}, {"emails_per_week": "emails_delivered"}
    ).fit(x)
    assert sc.columns_ == ["open_rate", "emails_per_week", "revenue"]
    values, noise = sc.measure(x)
    none = n == 0
    assert np.isnan(values[none, :2]).all() and np.isfinite(values[~none]).all()
    assert np.isfinite(values[:, 2]).all()
    j = 0
    expect = (rate[~none] - sc.mean_[j]) / sc.scale_[j]
    assert values[~none, j] == pytest.approx(expect)
    assert noise[~none, j] == pytest.approx(sc.noise_[j] / (n[~none] * sc.scale_[j] ** 2))
    assert (noise[:, 1:] == 0).all()  # volumes and amounts are exact
    # the evidence mapping changes nothing in the shrunk matrix the other methods see
    plain = EmpiricalBayesScaler({"open_rate": "emails_delivered"}).fit(x)
    z = sc.transform(x)
    assert z[:, [0, 2]] == pytest.approx(plain.transform(x)[:, [0, 2]])


def test_make_transform_marks_volumes_of_never_emailed_subscribers_missing():
    f = pd.DataFrame(
        {
            "open_rate": [0.5, 0.0, 0.2, 0.4],
            "emails_per_week": [2.0, 0.0, 1.0, 3.0],
            "n_orders": [1, 0, 2, 0],
            "emails_delivered": [10, 0, 5, 12],
        }
    )
    pipe = make_transform(list(f.columns)).fit(f)
    values, _ = pipe[-1].measure(pipe[:-1].transform(f))
    names = list(pipe[-1].columns_)
    assert "emails_delivered" not in names
    assert np.isnan(values[1, names.index("emails_per_week")])
    assert np.isfinite(values[1, names.index("n_orders")])  # defined without email


def test_categorical_attributes_separate_what_the_numbers_cannot():
    """Two groups that overlap on the numbers and differ in an attribute's levels."""
    rng = np.random.default_rng(3)
    n = 4000
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 2))
    x[:, 0] += 1.2 * y  # the numbers alone tell the groups apart only roughly
    # group 0 comes mostly from level 0, group 1 mostly from level 2; level 1 is shared
    p = np.where(y[:, None] == 0, [0.8, 0.15, 0.05], [0.05, 0.15, 0.8])
    codes = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)[:, None]
    codes[::10] = -1  # a tenth missing: placed by the numbers alone
    plain = DeconvolvedMixture(2, n_init=2, tol=1e-6, random_state=0).fit(x)
    mixed = DeconvolvedMixture(2, n_init=2, tol=1e-6, random_state=0).fit(x, categories=codes)
    ari_plain = adjusted_rand_score(y, plain.labels_)
    ari_mixed = adjusted_rand_score(y, mixed.labels_)
    assert ari_mixed > ari_plain + 0.2
    # the fitted level probabilities recover the generating ones (up to label order)
    probs = mixed.category_probs_[0]
    order = np.argsort(probs[:, 0])[::-1]
    assert probs[order] == pytest.approx(np.array([[0.8, 0.15, 0.05], [0.05, 0.15, 0.8]]), abs=0.06)
    assert mixed.n_parameters() == plain.n_parameters() + 2 * (3 - 1)
    # a missing or unseen level adds nothing: the row is placed as by the numbers alone
    # (as if every level were equally likely in every component)
    row = np.array([[0.3, -0.2]])
    numbers_only = clone(mixed).fit(x, categories=codes)
    numbers_only.category_probs_ = [np.full((2, 3), 1 / 3)]
    expected = numbers_only.predict_proba(row, categories=np.array([[0]]))
    for code in (-1, 7):
        got = mixed.predict_proba(row, categories=np.array([[code]]))
        assert got == pytest.approx(expected)
        assert got != pytest.approx(mixed.predict_proba(row, categories=np.array([[0]])))
    # an attribute that is missing everywhere changes nothing and costs no parameters
    blank = np.column_stack([codes, np.full(n, -1)])
    with_blank = DeconvolvedMixture(2, n_init=2, tol=1e-6, random_state=0).fit(x, categories=blank)
    assert with_blank.n_parameters() == mixed.n_parameters()
    assert (with_blank.labels_ == mixed.labels_).all()
    with pytest.raises(WorkbenchError, match="fitted with 1 categorical"):
        mixed.predict(row)
    with pytest.raises(WorkbenchError, match="integer codes"):
        mixed.predict(row, categories=np.array([[0.5]]))
    with pytest.raises(WorkbenchError, match=">= 0"):
        mixed.predict(row, categories=np.array([[-2]]))
    with pytest.raises(WorkbenchError, match="2 columns"):
        mixed.predict(row, categories=np.array([[0, 1]]))


def test_attribute_codes_map_unseen_and_missing_levels_to_minus_one():
    from workbench.segment.pipelines import attribute_codes, attribute_levels

    fit = pd.DataFrame({"region": ["north", "south", None, "north"]}, dtype="str")
    levels = attribute_levels(fit, ["region"])
    assert levels == {"region": ["north", "south"]}
    new = pd.DataFrame({"region": ["south", "east", None]}, dtype="str")
    assert attribute_codes(new, levels)[:, 0].tolist() == [1, -1, -1]
    with pytest.raises(WorkbenchError, match="'source' not found"):
        attribute_codes(new, {"source": ["a"]})


def _groups_with_a_state(n=3000, seed=0):
    """Two habits (feature 0) and, inside each, two lifecycle states of feature 1 (active
    around +2, lapsed around -2): four bumps, two segments."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    state = rng.random(n) < 0.4
    x = np.column_stack([np.where(y == 1, 3.0, -3.0), np.where(state, -2.0, 2.0)])
    return x + rng.normal(0, 0.5, x.shape), y


def test_states_inside_a_segment_are_not_segments():
    x, y = _groups_with_a_state()

    def icl(k, **kw):
        return DeconvolvedMixture(k, n_init=2, random_state=0, **kw).fit(x).icl(x)

    plain = {k: icl(k) for k in (2, 3, 4)}
    states = {k: icl(k, n_states=2, state_features=[1]) for k in (2, 3, 4)}
    assert min(plain, key=plain.get) == 4  # each state is a segment of its own
    assert min(states, key=states.get) == 2  # the states live inside the two segments
    m = DeconvolvedMixture(2, n_init=2, random_state=0, n_states=2, state_features=[1]).fit(x)
    assert adjusted_rand_score(y, m.labels_) > 0.99
    assert m.state_weights_.shape == (2, 2) and m.state_means_.shape == (2, 2, 2)
    # the habit (feature 0) is shared by a segment's states; the state feature is not
    assert np.allclose(m.state_means_[:, 0, 0], m.state_means_[:, 1, 0])
    assert np.all(np.abs(m.state_means_[:, 0, 1] - m.state_means_[:, 1, 1]) > 3)


def test_states_without_state_features_change_nothing():
    x, _ = _groups_with_a_state()
    one = DeconvolvedMixture(3, n_init=2, random_state=0).fit(x)
    two = DeconvolvedMixture(3, n_init=2, random_state=0, n_states=2).fit(x)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    assert one.n_parameters() == two.n_parameters()
    with pytest.raises(WorkbenchError, match="state_features"):
        DeconvolvedMixture(2, state_features=[5]).fit(x)


def test_threads_do_not_change_the_fit():
    x, _ = _groups_with_a_state()
    kw = dict(n_init=4, random_state=3, n_states=2, state_features=[1])
    one = DeconvolvedMixture(3, **kw).fit(x)
    two = DeconvolvedMixture(3, n_jobs=2, **kw).fit(x)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    np.testing.assert_allclose(one.state_means_, two.state_means_)
    assert one.lower_bound_ == two.lower_bound_


def test_starts_on_a_subsample_are_refined_on_every_row():
    x, y = _groups_with_a_state()
    sub = DeconvolvedMixture(
        2, n_init=2, random_state=0, n_states=2, state_features=[1], init_size=len(x) // 4
    ).fit(x)
    full = DeconvolvedMixture(2, n_init=2, random_state=0, n_states=2, state_features=[1]).fit(x)
    assert sub.labels_.shape == (len(x),)
    assert adjusted_rand_score(y, sub.labels_) > 0.99
    # the refinement ran EM on every row: it reaches the full fit's likelihood
    assert sub.lower_bound_ == pytest.approx(full.lower_bound_, abs=1e-3)
    # an init_size at least the number of rows is the plain fit
    same = DeconvolvedMixture(
        2, n_init=2, random_state=0, n_states=2, state_features=[1], init_size=len(x)
    ).fit(x)
    np.testing.assert_array_equal(same.labels_, full.labels_)
    assert same.lower_bound_ == full.lower_bound_


def test_scoring_in_blocks_on_threads_matches_one_pass(monkeypatch):
    import workbench.segment.deconvolve as dec

    x, _ = _groups_with_a_state()
    m = DeconvolvedMixture(2, n_init=1, random_state=0, n_states=2, state_features=[1]).fit(x)
    whole, whole_ll = m.predict_proba(x), m.score_samples(x)
    monkeypatch.setattr(dec, "_BLOCK", 37)  # many blocks, the last one short
    m.set_params(n_jobs=2)
    np.testing.assert_allclose(m.predict_proba(x), whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.score_samples(x), whole_ll, rtol=1e-12)
