"""Factorial (multivariate) tests: main effects and interactions from a Bayesian logistic model.

Arms of a factorial test name one level per factor, ``"subject=urgency;image=lifestyle;cta=shop"``
(the convention of :mod:`workbench.synth`). With the control arm's levels as the baseline::

    logit p[s, arm] = β₀ + b[s] + Σ_f β_f · x_f(arm) + Σ_{f<g} β_fg · x_f(arm) · x_g(arm)

where ``x_f`` indicates a non-baseline level of factor ``f``, ``b[s]`` is a partially pooled
(non-centred) segment baseline and every effect has a ``N(0, 0.5)`` prior (a lift of ±50 % in
odds is already large for an email creative). ``β_f`` is the main effect of a level when the
other factors stay at baseline; ``β_fg`` says how much two changes add beyond the sum of their
main effects.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.experiments._sampling import Sampler, sample
from workbench.experiments.hierarchical import DiagnosticsWarning, diagnose


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


class FactorialLogisticModel:
    """Bayesian logistic model of a factorial test (main effects and two-way interactions).

    Parameters
    ----------
    interactions : bool, default True
        Include two-way interactions.
    segment_baseline : bool, default True
        Partially pooled baseline per segment (else one intercept).
    effect_scale : float, default 0.5
        Prior sd of every effect on the log-odds scale.
    hdi : float, default 0.9
    draws, tune, chains : int
        NUTS settings (default 2000, 1000, 2).
    sampler : {"auto", "nutpie", "pymc"}, default "auto"
        NUTS implementation: ``"auto"`` is nutpie, ``"pymc"`` PyMC's own NUTS.
    seed : int, default 0
    warn : bool, default True
        Emit a :class:`~workbench.experiments.hierarchical.DiagnosticsWarning` on failed
        diagnostics.
    ess_min : float, default 400

    Attributes
    ----------
    effects_ : DataFrame
        ``term, kind (main / interaction), mean, hdi_low, hdi_high, odds_ratio, prob_positive``.
    idata_ : DataTree
    diagnostics_ : Diagnostics
    design_ : DataFrame
    sampling_ : SamplingInfo
        The sampler used, and the compilation and sampling times.
    """

    def __init__(
        self,
        interactions: bool = True,
        segment_baseline: bool = True,
        effect_scale: float = 0.5,
        hdi: float = 0.9,
        draws: int = 2000,
        tune: int = 1000,
        chains: int = 2,
        sampler: Sampler = "auto",
        seed: int = 0,
        warn: bool = True,
        ess_min: float = 400.0,
    ) -> None:
        self.interactions = interactions
        self.segment_baseline = segment_baseline
        self.effect_scale = effect_scale
        self.hdi = hdi
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.sampler = sampler
        self.seed = seed
        self.warn = warn
        self.ess_min = ess_min

    def fit(self, table: pd.DataFrame) -> FactorialLogisticModel:
        """Fit a results table whose arms are factorial arm names.

        Returns
        -------
        self
        """
        import pymc as pm

        from workbench.experiments._summary import hdi_draws

        control = table.attrs.get("control")
        if control is None:
            raise WorkbenchError("results table without attrs['control']")
        arms = pd.Series(sorted(table["arm"].unique()))
        x_arm = design(arms, control, self.interactions)
        x = x_arm.loc[table["arm"].to_numpy()].to_numpy()
        seg_codes, segments = pd.factorize(table["segment"], sort=True)
        n = table["n"].to_numpy("int64")
        c = table["conversions"].to_numpy("int64")
        p0 = float(np.clip(c.sum() / n.sum(), 1e-6, 1 - 1e-6))
        coords = {"term": list(x_arm.columns), "segment": list(segments)}
        with pm.Model(coords=coords) as model:
            # the intercept is the log-odds at the recipients' average design point (columns
            # centred): it is then nearly uncorrelated with the effects, which samples far better
            b0 = pm.Normal("intercept", np.log(p0 / (1 - p0)), 1.5)
            beta = pm.Normal("beta", 0.0, self.effect_scale, dims="term")
            eta = b0 + pm.math.dot(x - np.average(x, axis=0, weights=n), beta)
            if self.segment_baseline and len(segments) > 1:
                sigma = pm.HalfNormal("segment_sigma", 0.5)
                z = pm.Normal("segment_z", 0.0, 1.0, dims="segment")
                eta = eta + (sigma * z)[seg_codes]
            pm.Binomial("conversions", n=n, logit_p=eta, observed=c)
        idata, self.sampling_ = sample(
            model,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            cores=None,
            target_accept=0.9,
            seed=self.seed,
            sampler=self.sampler,
        )
        free = [v.name for v in model.free_RVs]
        self.idata_ = idata
        self.design_ = x_arm
        self.diagnostics_ = diagnose(idata, free, ess_min=self.ess_min)
        if self.warn and not self.diagnostics_.ok:
            warnings.warn(
                f"sampler diagnostics failed: {self.diagnostics_}", DiagnosticsWarning, stacklevel=2
            )
        draws = idata["posterior"]["beta"].values.reshape(-1, x_arm.shape[1]).T
        lo, hi = hdi_draws(draws, self.hdi)
        mean = draws.mean(axis=1)
        self.effects_ = pd.DataFrame(
            {
                "term": x_arm.columns,
                "kind": ["interaction" if " × " in t else "main" for t in x_arm.columns],
                "mean": mean,
                "hdi_low": lo,
                "hdi_high": hi,
                "odds_ratio": np.exp(draws).mean(axis=1),
                "prob_positive": (draws > 0).mean(axis=1),
            }
        )
        return self


def analyze_factorial(table: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """``FactorialLogisticModel(**params).fit(table).effects_``."""
    return FactorialLogisticModel(**params).fit(table).effects_
