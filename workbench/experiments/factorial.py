"""Factorial (multivariate) tests: main effects and interactions from a Bayesian logistic model.

Arms of a factorial test name one level per factor, ``"subject=urgency;image=lifestyle;cta=shop"``
(the convention of :mod:`workbench.synth`). With the control arm's levels as the baseline::

    logit p[s, arm] = β₀ + b[s] + Σ_f β_f · x_f(arm) + Σ_{f<g} β_fg · x_f(arm) · x_g(arm)

where ``x_f`` indicates a non-baseline level of factor ``f``, ``b[s]`` is a partially pooled
(non-centred) segment baseline and every effect has a ``N(0, 0.5)`` prior (a lift of ±50 % in
odds is already large for an email creative; the priors are the ``model_config``). ``β_f`` is
the main effect of a level when the other factors stay at baseline; ``β_fg`` says how much two
changes add beyond the sum of their main effects.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from workbench.bayes.builder import ModelBuilder
from workbench.bayes.sampling import Sampler
from workbench.errors import WorkbenchError
from workbench.experiments.inputs import control_arm


def parse_arms(arms: pd.Series | list[str], sep: str = ";") -> pd.DataFrame:
    """Split factorial arm names ``"f1=a;f2=b"`` into one column per factor.

    Raises
    ------
    WorkbenchError
        When an arm is not of the form ``factor=level`` for the same factors as the others.
    """
    names = pd.Series(list(arms), dtype="str")
    parts = names.str.split(sep)
    rows = []
    for name, items in zip(names, parts, strict=True):
        kv = dict(i.split("=", 1) for i in items if "=" in i)
        if len(kv) != len(items):
            raise WorkbenchError(f"arm '{name}' is not 'factor=level{sep}factor=level...'")
        rows.append(kv)
    out = pd.DataFrame(rows, index=names.to_numpy())
    if out.isna().any().any():
        raise WorkbenchError("factorial arms do not all name the same factors")
    return out


def design(arms: pd.Series, control: str, interactions: bool = True) -> pd.DataFrame:
    """0/1 design matrix of the arms: main-effect columns ``factor=level`` and their products.

    The control arm's levels are the baseline (all zeros).
    """
    levels = parse_arms(arms)
    base = parse_arms([control]).iloc[0]
    cols: dict[str, np.ndarray] = {}
    by_factor: dict[str, list[str]] = {}
    for f in levels.columns:
        for lv in sorted(levels[f].unique()):
            if lv == base[f]:
                continue
            name = f"{f}={lv}"
            cols[name] = (levels[f] == lv).to_numpy(float)
            by_factor.setdefault(f, []).append(name)
    if interactions:
        for f, g in itertools.combinations(by_factor, 2):
            for a, b in itertools.product(by_factor[f], by_factor[g]):
                cols[f"{a} × {b}"] = cols[a] * cols[b]
    return pd.DataFrame(cols, index=levels.index)


class FactorialLogisticModel(ModelBuilder):
    """Bayesian logistic model of a factorial test (main effects and two-way interactions).

    Parameters
    ----------
    interactions : bool, default True
        Include two-way interactions.
    segment_baseline : bool, default True
        Partially pooled baseline per segment (else one intercept).
    hdi : float, default 0.9
    model_config : dict, optional
        Priors overriding :attr:`default_model_config` (e.g. ``{"effect": {"sigma": 1.0}}``).
    sampler_config : dict, optional
        NUTS settings overriding :attr:`default_sampler_config`.
    draws, tune, chains : int, optional
        Shortcuts for the same keys of ``sampler_config`` (default 2000, 1000, 2).
    sampler : {"auto", "nutpie", "pymc"}, optional
        NUTS implementation: ``"auto"`` (the default) is nutpie, ``"pymc"`` PyMC's own NUTS.
    seed : int, default 0
    warn : bool, default True
        Emit a :class:`~workbench.bayes.diagnostics.DiagnosticsWarning` on failed diagnostics.
    rhat_max : float, default 1.01
    ess_min : float, default 400

    Attributes
    ----------
    effects_ : DataFrame
        ``term, kind (main / interaction), mean, hdi_low, hdi_high, odds_ratio, prob_positive``.
    idata_ : DataTree
    diagnostics_ : Diagnostics
    design_ : DataFrame
    control_ : str
    model_config_, sampler_config_ : dict
    sampling_ : SamplingInfo
        The sampler used, and the compilation and sampling times.
    fit_data_ : DataFrame
    """

    _model_type = "factorial_logistic"

    def __init__(
        self,
        interactions: bool = True,
        segment_baseline: bool = True,
        hdi: float = 0.9,
        model_config: dict[str, Any] | None = None,
        sampler_config: dict[str, Any] | None = None,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        sampler: Sampler | None = None,
        seed: int = 0,
        warn: bool = True,
        rhat_max: float = 1.01,
        ess_min: float = 400.0,
    ) -> None:
        self.interactions = interactions
        self.segment_baseline = segment_baseline
        self.hdi = hdi
        self.model_config = model_config
        self.sampler_config = sampler_config
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.sampler = sampler
        self.seed = seed
        self.warn = warn
        self.rhat_max = rhat_max
        self.ess_min = ess_min

    @property
    def default_model_config(self) -> dict[str, Any]:
        """The priors (log-odds scale).

        ``intercept``: ``N(logit p̄, sigma=1.5)``; ``effect``: every main effect and interaction
        ``N(0, sigma=0.5)`` (a lift of ±50 % in odds is already large for an email creative);
        ``segment``: the spread of the segment baselines ``HalfNormal(sigma_sigma=0.5)``.
        """
        return {
            "intercept": {"sigma": 1.5},
            "effect": {"sigma": 0.5},
            "segment": {"sigma_sigma": 0.5},
        }

    def build_model(self, table: pd.DataFrame, control: str | None = None) -> Any:
        """The PyMC model of a results table whose arms are factorial arm names (not sampled)."""
        import pymc as pm

        x_arm = self._design(table, control_arm(table, control))
        x = x_arm.loc[table["arm"].to_numpy()].to_numpy()
        seg_codes, segments = pd.factorize(table["segment"], sort=True)
        n = table["n"].to_numpy("int64")
        c = table["conversions"].to_numpy("int64")
        p0 = float(np.clip(c.sum() / n.sum(), 1e-6, 1 - 1e-6))
        priors = self.get_model_config()
        coords = {"term": list(x_arm.columns), "segment": list(segments)}
        with pm.Model(coords=coords) as model:
            # the intercept is the log-odds at the recipients' average design point (columns
            # centred): it is then nearly uncorrelated with the effects, which samples far better
            b0 = pm.Normal("intercept", np.log(p0 / (1 - p0)), priors["intercept"]["sigma"])
            beta = pm.Normal("beta", 0.0, priors["effect"]["sigma"], dims="term")
            eta = b0 + pm.math.dot(x - np.average(x, axis=0, weights=n), beta)
            if self.segment_baseline and len(segments) > 1:
                sigma = pm.HalfNormal("segment_sigma", priors["segment"]["sigma_sigma"])
                z = pm.Normal("segment_z", 0.0, 1.0, dims="segment")
                eta = eta + (sigma * z)[seg_codes]
            pm.Binomial("conversions", n=n, logit_p=eta, observed=c)
        return model

    def _design(self, table: pd.DataFrame, control: str) -> pd.DataFrame:
        arms = pd.Series(sorted(table["arm"].unique()))
        return design(arms, control, self.interactions)

    def fit(self, table: pd.DataFrame, control: str | None = None) -> FactorialLogisticModel:
        """Fit a results table whose arms are factorial arm names.

        Parameters
        ----------
        table : DataFrame
            Results table.
        control : str, optional
            The control arm (default: the one the results table names).

        Returns
        -------
        self
        """
        self.control_ = control_arm(table, control)
        return self._fit(table)

    def _build_kwargs(self) -> dict[str, Any]:
        return {"control": self.control_}

    def _extra_attrs(self) -> dict[str, Any]:
        return {"control": self.control_}

    def _restore_extra(self, extra: dict[str, Any]) -> None:
        self.control_ = extra["control"]

    def _summarise(self, table: pd.DataFrame, idata: Any) -> None:
        """Effects of every term: ``effects_`` (and ``design_``)."""
        from workbench.experiments._summary import hdi_draws

        x_arm = self._design(table, self.control_)
        self.design_ = x_arm
        draws = idata["posterior"]["beta"].values.reshape(-1, x_arm.shape[1]).T
        lo, hi = hdi_draws(draws, self.hdi)
        self.effects_ = pd.DataFrame(
            {
                "term": x_arm.columns,
                "kind": ["interaction" if " × " in t else "main" for t in x_arm.columns],
                "mean": draws.mean(axis=1),
                "hdi_low": lo,
                "hdi_high": hi,
                "odds_ratio": np.exp(draws).mean(axis=1),
                "prob_positive": (draws > 0).mean(axis=1),
            }
        )


def analyze_factorial(table: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """``FactorialLogisticModel(**params).fit(table).effects_``."""
    return FactorialLogisticModel(**params).fit(table).effects_
