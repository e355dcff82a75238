"""Bayesian (PyMC) fits of the buy-till-you-die and Gamma–Gamma models (workbench.clv.bayes).

The fast tests check the PyTensor log-likelihoods against the numpy ones of
:mod:`workbench.clv.formulas`, the collapsed and weighted likelihood of the built model, its
priors and the data checks. The slow ones sample small simulated data sets (a few thousand
customers, 2 chains × 400 draws; PyMC and nutpie compile each model first, tens of seconds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench.clv import formulas as F
from workbench.clv.bayes import (
    COUNT_COLUMN,
    PURCHASE_PARAMS,
    PurchaseModel,
    SpendModel,
    collapse_customers,
    purchase_loglik,
    spend_loglik,
)
from workbench.clv.mle import fit_gamma_gamma_mle, fit_mle
from workbench.clv.simulate import simulate, simulate_spend
from workbench.errors import DataError, WorkbenchError

# parameter points: CDNOW-like (weeks), the same in days, and far from them; the Pareto/NBD
# points cover both branches of its 2F1 (alpha > beta, alpha < beta) and alpha = beta
POINTS = {
    "bgnbd": [
        {"r": 0.24, "alpha": 4.4, "a": 0.8, "b": 2.4},
        {"r": 0.24, "alpha": 30.8, "a": 0.8, "b": 2.4},
        {"r": 3.0, "alpha": 0.5, "a": 2.5, "b": 0.6},
    ],
    "paretonbd": [
        {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
        {"r": 0.55, "alpha": 30.0, "s": 0.61, "beta": 2.0},
        {"r": 2.0, "alpha": 3.0, "s": 1.5, "beta": 50.0},
        {"r": 0.8, "alpha": 1.0, "s": 0.3, "beta": 300.0},
        {"r": 0.3, "alpha": 5.0, "s": 2.0, "beta": 5.0},
    ],
}
POINTS["mbgnbd"] = POINTS["bgnbd"]


# the simulated truths: 2,000-3,000 customers identify them to 5-15 % (MLE standard errors), so
# their posteriors are close to normal and comparable with the MLE's standard errors (the
# Pareto/NBD's s and beta need many observed purchases per customer for that)
TRUTH = {
    "bgnbd": {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5},
    "mbgnbd": {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5},
    "paretonbd": {"r": 1.0, "alpha": 2.0, "s": 1.0, "beta": 10.0},
}


def _customers(model: str, n: int, seed: int) -> tuple[pd.DataFrame, dict[str, float]]:
    """Simulated customers, ages in whole weeks 26-52, times in whole days (as a summary has)."""
    rng = np.random.default_rng(seed)
    params = TRUTH[model]
    sim = simulate(model, params, rng.integers(26, 53, n).astype(float), seed=seed)
    return pd.DataFrame(
        {"frequency": sim["x"], "recency": np.floor(sim["t_x"] * 7) / 7, "T": sim["T"]}
    ), params


def _edge_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Histories at the edges: no repeat purchase, last purchase at T, many purchases."""
    x = np.array([0, 0, 1, 5, 40, 2, 1])
    t_x = np.array([0.0, 0.0, 0.01, 10.0, 38.5, 0.5, 52.0])
    T = np.array([0.5, 52.0, 0.01, 10.0, 39.0, 80.0, 52.0])
    return x, t_x, T


# ------------------------------------------------------------------------------ likelihoods
@pytest.mark.parametrize("model", list(PURCHASE_PARAMS))
def test_purchase_loglik_equals_the_numpy_formulas(model):
    """Every parameter point, on simulated and edge histories, to 1e-10 relative."""
    sim, _ = _customers(model, 400, seed=3)
    ex, et, eT = _edge_rows()
    x = np.r_[sim["frequency"], ex]
    t_x = np.r_[sim["recency"], et]
    T = np.r_[sim["T"], eT]
    for params in POINTS[model]:
        got = purchase_loglik(model, params, x, t_x, T).eval()
        want = F.loglik(model, params, x, t_x, T)
        np.testing.assert_allclose(got, want, rtol=1e-10, err_msg=str(params))


def test_paretonbd_points_cover_both_branches():
    branches = {p["alpha"] >= p["beta"] for p in POINTS["paretonbd"]}
    assert branches == {True, False}


def test_spend_loglik_equals_the_numpy_formula():
    rng = np.random.default_rng(4)
    x = rng.integers(1, 30, 300)
    m = rng.gamma(4.0, 10.0, 300)
    for params in ({"p": 6.25, "q": 3.74, "gamma": 15.44}, {"p": 0.4, "q": 25.0, "gamma": 900.0}):
        got = spend_loglik(params, x, m).eval()
        np.testing.assert_allclose(got, F.gg_loglik(params, x, m), rtol=1e-10)


def test_loglik_rejects_unknown_models_and_missing_parameters():
    with pytest.raises(WorkbenchError, match="unknown model 'bgbd'"):
        purchase_loglik("bgbd", POINTS["bgnbd"][0], [1], [1.0], [2.0])
    with pytest.raises(WorkbenchError, match="needs parameters s, beta"):
        purchase_loglik("paretonbd", POINTS["bgnbd"][0], [1], [1.0], [2.0])
    with pytest.raises(WorkbenchError, match="needs parameters gamma"):
        spend_loglik({"p": 1.0, "q": 2.0}, [1], [3.0])


# ------------------------------------------------------------------------ the built model
def _point(model, params: dict[str, float]) -> dict[str, float]:
    """The free variables (``log_k``, ``log_k_over_θ``, ``log_k_times_θ``) at ``params``."""
    out = {}
    for rv in model.free_RVs:
        name = rv.name.removeprefix("log_")
        for op, sign in (("_over_", -1.0), ("_times_", 1.0)):
            if op in name:
                k, theta = name.split(op)
                out[rv.name] = np.log(params[k]) + sign * np.log(params[theta])
                break
        else:
            out[rv.name] = np.log(params[name])
    return out


@pytest.mark.parametrize("model", list(PURCHASE_PARAMS))
def test_built_model_is_the_weighted_likelihood_plus_independent_log_normal_priors(model):
    """Collapsing identical customers changes nothing: the model's potential is the sum of the
    numpy log-likelihood over every customer; its prior is log θ ~ N(centre, sigma) for every
    parameter, independently, although the sampler sees log-ratios."""
    data, _ = _customers(model, 3000, seed=5)
    built = PurchaseModel(model).build_model(data)
    assert len(collapse_customers(data)) < len(data)  # identical customers exist
    params = POINTS[model][0]
    point = _point(built, params)
    potential = built.compile_logp(vars=built.potentials)(point)
    want = F.loglik(model, params, data["frequency"], data["recency"], data["T"]).sum()
    assert float(potential) == pytest.approx(want, rel=1e-11)
    # the priors: N(mu + centre, sigma) on each log parameter (Jacobian of exp excluded)
    prior = built.compile_logp(vars=built.free_RVs, jacobian=False)(point)
    cfg = PurchaseModel(model).default_model_config
    log_t = np.log(data["T"].mean())
    want_prior = sum(
        stats.norm.logpdf(
            np.log(params[n]),
            cfg[n]["mu"] + (log_t if n in ("alpha", "beta") else 0.0),
            cfg[n]["sigma"],
        )
        for n in PURCHASE_PARAMS[model]
    )
    assert float(prior) == pytest.approx(want_prior, rel=1e-10)


def test_spend_model_is_the_weighted_likelihood_of_repeat_customers():
    rng = np.random.default_rng(6)
    x = rng.integers(0, 4, 2000)
    m = simulate_spend({"p": 6.0, "q": 4.0, "gamma": 15.0}, x, seed=6)
    data = pd.DataFrame({"frequency": x, "monetary_value": np.round(m, 0)})  # whole dollars
    built = SpendModel().build_model(data)
    params = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    point = {
        "log_p": np.log(6.0),
        "log_q": np.log(4.0),
        "log_spend_scale": np.log(6.0 * 15.0 / 4.0),
    }
    rep = x > 0
    potential = built.compile_logp(vars=built.potentials)(point)
    want = F.gg_loglik(params, x[rep], np.round(m, 0)[rep]).sum()
    assert float(potential) == pytest.approx(want, rel=1e-11)
    assert {v.name for v in built.free_RVs} == {"log_p", "log_q", "log_spend_scale"}
    prior = built.compile_logp(vars=built.free_RVs, jacobian=False)(point)
    cfg = SpendModel().default_model_config
    m_bar = np.round(m, 0)[rep].mean()
    want_prior = sum(
        stats.norm.logpdf(
            np.log(params[n]), cfg[n]["mu"] + (np.log(m_bar) if n == "gamma" else 0.0),
            cfg[n]["sigma"],
        )
        for n in ("p", "q", "gamma")
    )  # fmt: skip
    assert float(prior) == pytest.approx(want_prior, rel=1e-10)


def test_build_model_has_no_side_effects_and_model_config_sets_the_priors():
    data, _ = _customers("bgnbd", 300, seed=7)
    est = PurchaseModel("bgnbd", model_config={"r": {"sigma": 0.7}})
    before = dict(vars(est))
    built = est.build_model(data)
    assert vars(est) == before
    assert float(built["log_r"].owner.inputs[-1].eval()) == pytest.approx(0.7)
    assert est.get_model_config()["alpha"] == {"mu": 0.0, "sigma": 2.0}  # untouched block
    with pytest.raises(WorkbenchError, match="unknown model_config key 's'"):
        PurchaseModel("bgnbd", model_config={"s": {"sigma": 1.0}}).build_model(data)
    assert set(PurchaseModel("paretonbd").default_model_config) == {"r", "alpha", "s", "beta"}


def test_estimator_parameters_and_sampler_defaults():
    est = PurchaseModel("mbgnbd", draws=300, seed=3)
    params = est.get_params()
    assert params["model"] == "mbgnbd" and params["draws"] == 300 and params["seed"] == 3
    assert params["model_config"] is None
    cfg = PurchaseModel().get_sampler_config()
    assert (cfg["draws"], cfg["tune"], cfg["chains"]) == (1000, 1000, 2)
    assert SpendModel(tune=50).get_sampler_config()["tune"] == 50
    with pytest.raises(WorkbenchError, match="unknown model 'pareto'"):
        PurchaseModel("pareto").fit(_customers("bgnbd", 50, seed=1)[0])


# ----------------------------------------------------------------------------------- data
def test_collapse_customers_counts_identical_histories():
    data = pd.DataFrame(
        {
            "frequency": [0, 0, 2, 2, 2, 1],
            "recency": [0.0, 0.0, 3.0, 3.0, 4.0, 1.0],
            "T": [10.0, 10.0, 10.0, 10.0, 10.0, 12.0],
            "customer_id": list("abcdef"),
        }
    )
    out = collapse_customers(data)
    assert out[COUNT_COLUMN].tolist() == [2, 1, 2, 1]
    assert out["frequency"].tolist() == [0, 1, 2, 2]
    again = collapse_customers(out)  # a collapsed table keeps its counts
    pd.testing.assert_frame_equal(again, out)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"frequency": [-1, 0]}, "negative repeat purchases"),
        ({"frequency": [1.5, 0]}, "not whole numbers"),
        ({"recency": [6.0, 0.0]}, "recency after the end of the period"),
        ({"recency": [1.0, 1.0]}, "recency > 0 without repeat purchases"),
        ({"T": [5.0, 0.0]}, "observation periods T <= 0"),
        ({"T": [5.0, np.nan]}, "column 'T': missing or non-numeric values in 1 row"),
        ({"recency": ["x", 0.0]}, "missing or non-numeric"),
    ],
)
def test_bad_customer_tables_raise_one_line_data_errors(change, match):
    data = pd.DataFrame({"frequency": [1, 0], "recency": [1.0, 0.0], "T": [5.0, 5.0]})
    bad = data.assign(**change)
    with pytest.raises(DataError, match=match) as err:
        PurchaseModel().build_model(bad)
    assert "\n" not in str(err.value)


def test_missing_columns_and_tables_without_repeat_customers():
    with pytest.raises(DataError, match="column 'T': missing required column"):
        collapse_customers(pd.DataFrame({"frequency": [1], "recency": [1.0]}))
    with pytest.raises(DataError, match="no customers"):
        collapse_customers(pd.DataFrame({"frequency": [], "recency": [], "T": []}))
    none = pd.DataFrame({"frequency": [0, 0], "monetary_value": [0.0, np.nan]})
    with pytest.raises(DataError, match="no customer with a repeat purchase"):
        SpendModel().build_model(none)
    bad = pd.DataFrame({"frequency": [2, 0], "monetary_value": [0.0, np.nan]})
    with pytest.raises(DataError, match="repeat customers with value <= 0"):
        SpendModel().build_model(bad)


def test_unfitted_models_cannot_report_or_save(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PurchaseModel().posterior_params()
    with pytest.raises(NotFittedError):
        SpendModel().save(tmp_path / "s.zarr")
    with pytest.raises(WorkbenchError, match="no PyMC posterior predictive"):
        PurchaseModel().sample_posterior_predictive()


# --------------------------------------------------------------------------------- sampling
# 2 chains × 400 draws after 400 tuning steps; the diagnostics keep their default limits for
# R-hat (1.01) and divergences, and ask for a bulk ESS of 200 (of 800 draws). A failed check
# samples again with twice the draws (ModelBuilder's retries).
SMALL = {"draws": 400, "tune": 400, "chains": 2, "ess_min": 200.0}


def _check_against_truth_and_mle(fit, truth: dict[str, float], mle) -> None:
    """Posterior mean within 3 posterior sd of the truth; posterior sd within a factor 1.5 of
    the MLE standard error (a few thousand customers: the likelihood dominates the prior)."""
    summ = fit.summary_
    assert fit.diagnostics_.ok, str(fit.diagnostics_)
    assert (summ["r_hat"] < 1.01).all()
    for name, value in truth.items():
        mean, sd = summ.loc[name, "mean"], summ.loc[name, "sd"]
        assert abs(mean - value) < 3 * sd, (name, mean, sd, value)
        assert 1 / 1.5 < sd / mle.se[name] < 1.5, (name, sd, mle.se[name])
        assert summ.loc[name, "hdi_low"] < mean < summ.loc[name, "hdi_high"]


@pytest.fixture(scope="module")
def bgnbd_fit():
    data, truth = _customers("bgnbd", 3000, seed=11)
    return data, truth, PurchaseModel("bgnbd", seed=1, **SMALL).fit(data)


@pytest.mark.slow
def test_bgnbd_recovers_simulated_parameters(bgnbd_fit):
    data, truth, fit = bgnbd_fit
    mle = fit_mle("bgnbd", data["frequency"], data["recency"], data["T"])
    _check_against_truth_and_mle(fit, truth, mle)
    draws = fit.posterior_params()
    assert list(draws) == ["r", "alpha", "a", "b"]
    assert all(v.shape == (2 * fit.sampler_config_["draws"],) for v in draws.values())
    assert fit.n_customers_ == len(data)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["paretonbd", "mbgnbd"])
def test_paretonbd_and_mbgnbd_recover_simulated_parameters(model):
    data, truth = _customers(model, 1500 if model == "paretonbd" else 2000, seed=12)
    fit = PurchaseModel(model, seed=2, **SMALL).fit(data)
    mle = fit_mle(model, data["frequency"], data["recency"], data["T"])
    _check_against_truth_and_mle(fit, truth, mle)


@pytest.mark.slow
def test_spend_model_recovers_simulated_parameters():
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    rng = np.random.default_rng(13)
    x = rng.integers(0, 8, 3000)
    m = simulate_spend(truth, x, seed=13)
    data = pd.DataFrame({"frequency": x, "monetary_value": m})  # NaN where x = 0: not used
    fit = SpendModel(seed=3, **SMALL).fit(data)
    mle = fit_gamma_gamma_mle(x, np.where(x > 0, m, 0.0))
    _check_against_truth_and_mle(fit, truth, mle)
    assert fit.n_customers_ == int((x > 0).sum())


@pytest.mark.slow
def test_save_load_round_trip_keeps_the_posterior(bgnbd_fit, tmp_path):
    _, _, fit = bgnbd_fit
    path = fit.save(tmp_path / "bgnbd.zarr")
    loaded = PurchaseModel.load(path)
    for name, draws in fit.posterior_params().items():
        np.testing.assert_array_equal(loaded.posterior_params()[name], draws)
    pd.testing.assert_frame_equal(loaded.summary_, fit.summary_)
    assert loaded.get_params() == fit.get_params()
    assert loaded.model_config_ == fit.model_config_
    assert loaded.diagnostics_ == fit.diagnostics_
    assert loaded.n_customers_ == fit.n_customers_
    pd.testing.assert_frame_equal(loaded.fit_data_, fit.fit_data_, check_dtype=False)
    with pytest.raises(WorkbenchError, match="not 'clv_spend'"):
        SpendModel.load(path)
