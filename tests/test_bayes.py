"""The model-builder base: configs, side-effect-free ``build_model``, priors in the built model.

Nothing here samples (building a PyMC model takes well under a second); the fits, the posterior
predictive and save/load are in ``test_experiments_pymc.py`` (slow).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.bayes import ModelBuilder, merge_config
from workbench.errors import WorkbenchError
from workbench.experiments import FactorialLogisticModel, HierarchicalABTest, from_aggregated


def _table(revenue: bool = False) -> pd.DataFrame:
    rows = [
        ("big", "control", 4000, 300),
        ("big", "B", 4000, 340),
        ("small", "control", 40, 1),
        ("small", "B", 40, 3),
    ]
    df = pd.DataFrame(rows, columns=["segment", "arm", "n", "conversions"])
    if revenue:
        df["revenue"] = df["conversions"] * 45.0
    return from_aggregated(df)


def _prior_sd(model, name: str) -> float:
    """The scale parameter of a Normal / HalfNormal free variable of a built PyMC model."""
    rv = model[name]
    return float(np.asarray(rv.owner.inputs[-1].eval()).ravel()[0])


def test_merge_config_overrides_key_by_key_and_rejects_unknown_keys():
    defaults = {"lift": {"mu_sigma": 0.5, "sigma_sigma": 0.3}, "draws": 10}
    out = merge_config(defaults, {"lift": {"sigma_sigma": 1.0}, "draws": 5}, "model_config")
    assert out == {"lift": {"mu_sigma": 0.5, "sigma_sigma": 1.0}, "draws": 5}
    assert defaults["lift"]["sigma_sigma"] == 0.3  # the defaults are not modified
    with pytest.raises(WorkbenchError, match="unknown model_config key 'lfit'"):
        merge_config(defaults, {"lfit": {}}, "model_config")
    with pytest.raises(WorkbenchError, match="unknown model_config key 'lift.sd'"):
        merge_config(defaults, {"lift": {"sd": 1.0}}, "model_config")
    with pytest.raises(WorkbenchError, match="must be a dict"):
        merge_config(defaults, {"lift": 1.0}, "model_config")


def test_build_model_has_no_side_effects():
    model = HierarchicalABTest(baseline="auto", lift="auto")
    before = dict(vars(model))
    first = model.build_model(_table())
    second = model.build_model(_table())
    assert vars(model) == before  # nothing learned, nothing stored
    assert [v.name for v in first.free_RVs] == [v.name for v in second.free_RVs]
    par = model.parametrisation(_table())
    assert par.baseline.tolist() == [True, False]  # "big" has ≥ 100 conversions, "small" not
    assert par.lift.tolist() == [[True], [False]]


def test_model_config_overrides_change_the_prior_of_the_built_model():
    table = _table(revenue=True)
    default = HierarchicalABTest(metric="revenue").build_model(table)
    assert _prior_sd(default, "delta_sigma") == pytest.approx(0.3)
    assert _prior_sd(default, "alpha_mu") == pytest.approx(1.5)
    assert _prior_sd(default, "gamma_sigma") == pytest.approx(0.2)
    custom = HierarchicalABTest(
        metric="revenue",
        model_config={"lift": {"sigma_sigma": 0.7}, "order_value_lift": {"sigma_sigma": 0.05}},
    ).build_model(table)
    assert _prior_sd(custom, "delta_sigma") == pytest.approx(0.7)
    assert _prior_sd(custom, "gamma_sigma") == pytest.approx(0.05)
    assert _prior_sd(custom, "alpha_mu") == pytest.approx(1.5)  # untouched blocks keep defaults
    unpooled = HierarchicalABTest(
        pooling="none", model_config={"lift": {"unpooled_sigma": 2.5}}
    ).build_model(table)
    assert _prior_sd(unpooled, "delta") == pytest.approx(2.5)
    assert "delta_mu" not in unpooled.named_vars  # no hyper-parameters without pooling


def test_factorial_priors_live_in_model_config():
    df = pd.DataFrame(
        {
            "segment": ["all"] * 4,
            "arm": ["s=a;c=x", "s=a;c=y", "s=b;c=x", "s=b;c=y"],
            "n": [500] * 4,
            "conversions": [20, 25, 30, 28],
        }
    )
    table = from_aggregated(df, control="s=a;c=x")
    model = FactorialLogisticModel(model_config={"effect": {"sigma": 0.25}}).build_model(table)
    assert _prior_sd(model, "beta") == pytest.approx(0.25)
    assert list(model.coords["term"]) == ["s=b", "c=y", "s=b × c=y"]


def test_sampler_config_layers_defaults_config_and_keywords():
    table = _table()
    cfg = HierarchicalABTest().get_sampler_config(table)
    assert (cfg["draws"], cfg["tune"], cfg["chains"], cfg["target_accept"]) == (2000, 1000, 2, 0.99)
    cfg = HierarchicalABTest(sampler_config={"draws": 300, "chains": 4}, chains=3)
    assert cfg.get_sampler_config(table)["draws"] == 300
    assert cfg.get_sampler_config(table)["chains"] == 3  # the keyword wins over the config
    many = pd.concat(
        [_table().assign(segment=lambda d, i=i: d["segment"] + str(i)) for i in range(60)]
    )
    assert HierarchicalABTest().get_sampler_config(many)["target_accept"] == 0.85
    with pytest.raises(WorkbenchError, match="unknown sampler_config key 'draw'"):
        HierarchicalABTest(sampler_config={"draw": 10}).get_sampler_config(table)


def test_control_is_explicit_or_named_by_the_table():
    table = _table()
    bare = pd.DataFrame(table)  # a copy
    bare.attrs = {}
    with pytest.raises(WorkbenchError, match="without attrs"):
        HierarchicalABTest().build_model(bare)
    model = HierarchicalABTest().build_model(bare, control="control")
    assert list(model.coords["variant"]) == ["B"]
    with pytest.raises(WorkbenchError, match="not an arm"):
        HierarchicalABTest().build_model(bare, control="A")


def test_unfitted_model_cannot_save_or_predict(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        HierarchicalABTest().save(tmp_path / "m.zarr")
    with pytest.raises(NotFittedError):
        FactorialLogisticModel().sample_posterior_predictive()
    with pytest.raises(WorkbenchError, match="no such saved model"):
        HierarchicalABTest.load(tmp_path / "missing.zarr")


def test_every_model_is_a_model_builder():
    assert issubclass(HierarchicalABTest, ModelBuilder)
    assert issubclass(FactorialLogisticModel, ModelBuilder)
    params = HierarchicalABTest(draws=10).get_params()
    assert params["draws"] == 10 and params["model_config"] is None
