"""Hierarchical (partially pooled) Bayesian analysis of A/B/n tests across micro-segments.

Model (conversion), on the logit scale, non-centred::

    logit p[s, k] = α[s] + δ[s, k]                 (δ[s, control] = 0)
    α[s]    = μ_α + σ_α · z_α[s]                    μ_α ~ N(logit p̄, 1.5), σ_α ~ HalfNormal(1)
                                                    (centred α[s] ~ N(μ_α, σ_α) for
                                                    data-rich segments, see ``baseline``)
    δ[s, k] = μ_δ[k] + σ_δ[k] · z_δ[s, k]           μ_δ ~ N(0, 0.5),   σ_δ ~ HalfNormal(0.3)
    conversions[s, k] ~ Binomial(n[s, k], p[s, k])

so each segment's baseline and each arm's lift in that segment are drawn towards what the other
segments show, as much as the data say segments are alike (``σ``). Small segments borrow
strength; large ones keep their own estimate. With ``pooling="none"`` every ``α[s]`` and
``δ[s, k]`` gets its own fixed prior (``N(logit p̄, 1.5)`` and ``N(0, 1)``): the unpooled model.

Revenue adds the mean order value ``v[s, k] = exp(ν[s] + γ[s, k])`` with the same structure, and
the revenue of a cell's ``c`` converters is ``Gamma(k·c, k / v)`` (order values
``Gamma(k, k / v)`` with the shape ``k`` of :mod:`~workbench.experiments.conjugate`). Revenue per
recipient is ``p · v``.

Sampling runs on nutpie when it is installed (PyMC's NUTS otherwise). The sampler's health is
checked after fitting (R-hat ≤ 1.01 and bulk ESS on the hyper-parameters, the per-segment
baselines and lifts and the cell rates; no divergences); a failure emits a
:class:`DiagnosticsWarning` (and makes the CLI exit non-zero).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.experiments._sampling import Sampler, sample
from workbench.experiments._summary import Layout, decide, layout, summarize_draws


class DiagnosticsWarning(UserWarning):
    """The MCMC sampler's diagnostics failed: the posterior summaries cannot be trusted."""


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health of a fit.

    Attributes
    ----------
    max_rhat : float
        Largest rank-normalised split R-hat over all parameters.
    min_ess_bulk : float
        Smallest bulk effective sample size.
    divergences : int
        Divergent transitions after tuning.
    rhat_max, ess_min : float
        The limits applied.
    """

    max_rhat: float
    min_ess_bulk: float
    divergences: int
    rhat_max: float = 1.01
    ess_min: float = 400.0

    @property
    def ok(self) -> bool:
        """Whether every check passes."""
        return (
            self.max_rhat <= self.rhat_max
            and self.min_ess_bulk >= self.ess_min
            and self.divergences == 0
        )

    def __str__(self) -> str:
        return (
            f"max R-hat {self.max_rhat:.3f} (≤ {self.rhat_max}), min bulk ESS "
            f"{self.min_ess_bulk:.0f} (≥ {self.ess_min:g}), {self.divergences} divergences"
        )


def diagnose(
    idata: Any, var_names: list[str], *, rhat_max: float = 1.01, ess_min: float = 400.0
) -> Diagnostics:
    """R-hat, bulk ESS and divergences of a PyMC fit (ArviZ 1.x ``arviz_stats``).

    Returns
    -------
    Diagnostics
    """
    from arviz_stats import ess, rhat

    post = idata["posterior"].to_dataset()[var_names]
    r = rhat(post)
    e = ess(post, method="bulk")
    max_r = max(float(np.nanmax(r[v].values)) for v in var_names)
    min_e = min(float(np.nanmin(e[v].values)) for v in var_names)
    div = int(idata["sample_stats"]["diverging"].values.sum())
    return Diagnostics(max_r, min_e, div, rhat_max, ess_min)


_MANY_SEGMENTS = 100  # from here on the default target_accept is 0.9 (else 0.99)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


class HierarchicalABTest:
    """Partially pooled (or unpooled) PyMC analysis of A/B/n tests per segment.

    Parameters
    ----------
    metric : {"conversion", "revenue"}, default "conversion"
        The metric the decision columns refer to; ``"revenue"`` also models order values.
    pooling : {"partial", "none"}, default "partial"
        Hierarchical model, or independent priors per segment (the unpooled reference).
    baseline : {"auto", "noncentred", "centred"}, default "auto"
        Parametrisation of the segment baselines (and order-value levels). Non-centred suits
        segments with little data (the usual micro-segment case, where the centred form opens
        a funnel); for data-rich segments the data pin the baseline down and the centred form
        samples far better. ``"auto"`` mixes them per segment: centred when the segment has at
        least ``centred_min_conversions`` conversions. Lifts are always non-centred (they are
        weakly identified per segment).
    centred_min_conversions : int, default 100
    hdi : float, default 0.9
    loss_threshold : float, default 0.01
        See :class:`~workbench.experiments.conjugate.ConjugateABTest`.
    rope : float, default 0.01
    rope_prob : float, default 0.95
    draws, tune, chains : int
        NUTS settings (default 2000, 1000, 2: on a laptop's few cores two long chains give the
        effective sample size of four short ones with half the tuning).
    cores : int, optional
        Parallel chains (default ``min(chains, 2)``).
    target_accept : float, optional
        NUTS target acceptance. By default 0.99 for fewer than 100 segments and 0.9 from 100 on:
        with few segments the spreads ``σ`` are weakly identified and their funnel needs small
        steps (which cost little in a small model), while with many segments the spreads are
        pinned down, the mixed centred / non-centred geometry is easy, and 0.9 samples without
        divergences at a third of the cost. Raise it if a fit reports divergences.
    sampler : {"auto", "nutpie", "pymc"}, default "auto"
        NUTS implementation: nutpie when installed (several times faster), else PyMC's.
    seed : int, default 0
    progressbar : bool, default False
    warn : bool, default True
        Emit a :class:`DiagnosticsWarning` when the diagnostics fail.
    rhat_max : float, default 1.01
    ess_min : float, default 400
        Minimum bulk ESS (over all chains).

    Attributes
    ----------
    idata_ : DataTree
        What ``pm.sample`` returned (posterior, sample_stats, observed_data).
    diagnostics_ : Diagnostics
    result_ : DataFrame
        One row per segment × arm, the columns of the conjugate analysis.
    rate_draws_ : ndarray, shape (S, K, D)
        Posterior draws of each cell's conversion rate (padded grid, see ``layout_``).
    layout_ : Layout
    centred_ : ndarray of bool
        Which segment baselines were parametrised centred.
    target_accept_ : float
        The target acceptance used.
    sampling_ : SamplingInfo
        The sampler used, and the compilation and sampling times.
    """

    def __init__(
        self,
        metric: Literal["conversion", "revenue"] = "conversion",
        pooling: Literal["partial", "none"] = "partial",
        baseline: Literal["auto", "noncentred", "centred"] = "auto",
        centred_min_conversions: int = 100,
        hdi: float = 0.9,
        loss_threshold: float = 0.01,
        rope: float = 0.01,
        rope_prob: float = 0.95,
        draws: int = 2000,
        tune: int = 1000,
        chains: int = 2,
        cores: int | None = None,
        target_accept: float | None = None,
        sampler: Sampler = "auto",
        seed: int = 0,
        progressbar: bool = False,
        warn: bool = True,
        rhat_max: float = 1.01,
        ess_min: float = 400.0,
    ) -> None:
        self.metric = metric
        self.pooling = pooling
        self.baseline = baseline
        self.centred_min_conversions = centred_min_conversions
        self.hdi = hdi
        self.loss_threshold = loss_threshold
        self.rope = rope
        self.rope_prob = rope_prob
        self.draws = draws
        self.tune = tune
        self.chains = chains
        self.cores = cores
        self.target_accept = target_accept
        self.sampler = sampler
        self.seed = seed
        self.progressbar = progressbar
        self.warn = warn
        self.rhat_max = rhat_max
        self.ess_min = ess_min

    # ------------------------------------------------------------------------------ model
    def build_model(self, table: pd.DataFrame) -> Any:
        """The PyMC model of a results table (not sampled)."""
        import pymc as pm

        if self.metric not in ("conversion", "revenue"):
            raise WorkbenchError(f"unknown metric '{self.metric}' (conversion or revenue)")
        if self.pooling not in ("partial", "none"):
            raise WorkbenchError(f"unknown pooling '{self.pooling}' (partial or none)")
        if self.metric == "revenue" and "revenue" not in table.columns:
            raise WorkbenchError("the revenue metric needs a revenue column")
        control = table.attrs["control"]
        seg_codes, segments = pd.factorize(table["segment"], sort=False)
        variants = sorted(a for a in table["arm"].unique() if a != control)
        arm_code = table["arm"].map({a: i for i, a in enumerate(variants)}).to_numpy()
        is_var = table["arm"].to_numpy() != control
        n = table["n"].to_numpy("int64")
        c = table["conversions"].to_numpy("int64")
        pooled = _logit(c.sum() / n.sum())
        if self.baseline not in ("auto", "noncentred", "centred"):
            raise WorkbenchError(f"unknown baseline '{self.baseline}' (auto, noncentred, centred)")
        seg_conv = np.bincount(seg_codes, weights=c)
        if self.baseline == "auto":
            self.centred_ = seg_conv >= self.centred_min_conversions
        else:
            self.centred_ = np.full(len(segments), self.baseline == "centred")
        coords = {"segment": list(segments), "variant": variants, "cell": np.arange(len(table))}
        vi = np.where(is_var, arm_code, 0).astype("int64")
        with pm.Model(coords=coords) as model:
            alpha = self._level("alpha", pooled, 1.5, 1.0, "segment")
            delta = self._effect("delta", 0.5, 0.3, 1.0)
            eta = alpha[seg_codes] + np.where(is_var, 1.0, 0.0) * delta[seg_codes, vi]
            p = pm.Deterministic("p", pm.math.invlogit(eta), dims="cell")
            pm.Binomial("conversions", n=n, p=p, observed=c, dims="cell")
            if self.metric == "revenue":
                from workbench.experiments.conjugate import order_value_shape_estimate

                k = order_value_shape_estimate(table)
                rev = table["revenue"].to_numpy(float)
                has = c > 0
                m0 = float(np.log(rev.sum() / max(c.sum(), 1)))
                nu = self._level("nu", m0, 1.0, 0.5, "segment")
                gamma = self._effect("gamma", 0.3, 0.2, 0.5)
                log_v = nu[seg_codes] + np.where(is_var, 1.0, 0.0) * gamma[seg_codes, vi]
                v = pm.Deterministic("order_value", pm.math.exp(log_v), dims="cell")
                if has.any():
                    idx = np.flatnonzero(has)
                    pm.Gamma(
                        "revenue",
                        alpha=k * c[idx],
                        beta=k / v[idx],
                        observed=rev[idx],
                    )
        return model

    def _level(self, name: str, centre: float, scale: float, tau: float, dim: str) -> Any:
        import pymc as pm
        import pytensor.tensor as pt

        if self.pooling == "none":
            return pm.Normal(name, centre, scale, dims=dim)
        mu = pm.Normal(f"{name}_mu", centre, scale)
        sigma = pm.HalfNormal(f"{name}_sigma", tau)
        cen = np.flatnonzero(self.centred_)
        non = np.flatnonzero(~self.centred_)
        level = pt.zeros(len(self.centred_))
        if len(cen):  # data-rich segments: centred
            level = pt.set_subtensor(level[cen], pm.Normal(f"{name}_c", mu, sigma, shape=len(cen)))
        if len(non):  # data-poor segments: non-centred
            z = pm.Normal(f"{name}_z", 0.0, 1.0, shape=len(non))
            level = pt.set_subtensor(level[non], mu + sigma * z)
        return pm.Deterministic(name, level, dims=dim)

    def _effect(self, name: str, mu_scale: float, tau: float, none_scale: float) -> Any:
        import pymc as pm

        dims = ("segment", "variant")
        if self.pooling == "none":
            return pm.Normal(name, 0.0, none_scale, dims=dims)
        mu = pm.Normal(f"{name}_mu", 0.0, mu_scale, dims="variant")
        sigma = pm.HalfNormal(f"{name}_sigma", tau, dims="variant")
        z = pm.Normal(f"{name}_z", 0.0, 1.0, dims=dims)
        return pm.Deterministic(name, mu + sigma * z, dims=dims)

    # -------------------------------------------------------------------------------- fit
    def fit(self, table: pd.DataFrame) -> HierarchicalABTest:
        """Sample the posterior and summarise it per segment × arm.

        Returns
        -------
        self
        """
        if "control" not in table.attrs:
            raise WorkbenchError("results table without attrs['control']; build it with inputs")
        attrs = dict(table.attrs)
        table = table.sort_values(["segment", "arm"], kind="stable").reset_index(drop=True)
        table.attrs = attrs
        model = self.build_model(table)
        n_segments = table["segment"].nunique()
        self.target_accept_ = (
            self.target_accept
            if self.target_accept is not None
            else (0.99 if n_segments < _MANY_SEGMENTS else 0.9)
        )
        idata, self.sampling_ = sample(
            model,
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            cores=self.cores,
            target_accept=self.target_accept_,
            seed=self.seed,
            progressbar=self.progressbar,
            sampler=self.sampler,
        )
        self.idata_ = idata
        # the model's parameters: hyper-parameters and the per-segment effects built from the
        # non-centred auxiliaries (the z's themselves are not reported quantities)
        names = [v.name for v in model.free_RVs if not v.name.endswith("_z")]
        names += [d.name for d in model.deterministics]
        self.diagnostics_ = diagnose(idata, names, rhat_max=self.rhat_max, ess_min=self.ess_min)
        if self.warn and not self.diagnostics_.ok:
            warnings.warn(
                f"sampler diagnostics failed: {self.diagnostics_}; do not trust these numbers "
                "(sample longer, or raise target_accept)",
                DiagnosticsWarning,
                stacklevel=2,
            )
        lay = layout(table, attrs["control"])
        post = idata["posterior"]
        p = post["p"].values.reshape(-1, len(table)).T  # (cells, D)
        rate = np.zeros((*lay.shape, p.shape[1]))
        rate[lay.seg, lay.pos] = p
        self.rate_draws_ = rate
        self.layout_ = lay
        out = table.copy()
        rate_stats = summarize_draws(rate, lay, hdi=self.hdi, rope=self.rope)
        out["rate_mean"] = lay.rows(rate_stats["mean"])
        out["rate_hdi_low"] = lay.rows(rate_stats["hdi_low"])
        out["rate_hdi_high"] = lay.rows(rate_stats["hdi_high"])
        stats = rate_stats
        if self.metric == "revenue":
            v = post["order_value"].values.reshape(-1, len(table)).T
            rpr = np.zeros_like(rate)
            rpr[lay.seg, lay.pos] = p * v
            stats = summarize_draws(rpr, lay, hdi=self.hdi, rope=self.rope)
            out["order_value_mean"] = v.mean(axis=1)
            out["rpr_mean"] = lay.rows(stats["mean"])
            out["rpr_hdi_low"] = lay.rows(stats["hdi_low"])
            out["rpr_hdi_high"] = lay.rows(stats["hdi_high"])
        self._finish(out, lay, stats)
        out.attrs = attrs
        out.attrs.update(
            metric=self.metric,
            model="hierarchical" if self.pooling == "partial" else "unpooled",
            hdi=self.hdi,
            diagnostics_ok=bool(self.diagnostics_.ok),
            sampler=self.sampling_.sampler,
        )
        self.result_ = out
        return self

    def _finish(self, out: pd.DataFrame, lay: Layout, stats: dict[str, np.ndarray]) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss_rel = stats["expected_loss"] / stats["mean"]
        decision = decide(
            loss_rel, stats["prob_rope"], lay, loss_threshold=self.loss_threshold,
            rope_prob=self.rope_prob,
        )  # fmt: skip
        out["metric"] = self.metric
        for key in ("prob_best", "prob_beat_control", "expected_loss"):
            out[key] = lay.rows(stats[key])
        out["expected_loss_rel"] = lay.rows(loss_rel)
        for key in ("lift_mean", "lift_low", "lift_high", "prob_rope"):
            out[key] = lay.rows(stats[key])
        out["decision"] = lay.rows(decision).astype("str")

    # ----------------------------------------------------------------------- model checks
    def posterior_predictive(self, seed: int = 0, prob: float = 0.9) -> pd.DataFrame:
        """Posterior predictive check of the conversions of every cell.

        Replicates each cell's conversions from posterior draws of its rate and reports where
        the observed count falls.

        Returns
        -------
        DataFrame
            ``segment, arm, n, conversions, pred_mean, pred_low, pred_high, p_value`` where
            ``p_value = P(replicated ≥ observed)``; values near 0 or 1 flag misfit.
        """
        res = self.result_
        lay = self.layout_
        rng = np.random.default_rng(seed)
        p = self.rate_draws_[lay.seg, lay.pos]
        rep = rng.binomial(res["n"].to_numpy()[:, None], p)
        lo, hi = np.quantile(rep, [(1 - prob) / 2, (1 + prob) / 2], axis=1)
        obs = res["conversions"].to_numpy()[:, None]
        return pd.DataFrame(
            {
                "segment": res["segment"],
                "arm": res["arm"],
                "n": res["n"],
                "conversions": res["conversions"],
                "pred_mean": rep.mean(axis=1),
                "pred_low": lo,
                "pred_high": hi,
                "p_value": (rep >= obs).mean(axis=1),
            }
        )


def analyze_hierarchical(table: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """``HierarchicalABTest(**params).fit(table).result_``."""
    return HierarchicalABTest(**params).fit(table).result_
