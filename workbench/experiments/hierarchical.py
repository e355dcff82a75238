"""Hierarchical (partially pooled) Bayesian analysis of A/B/n tests across micro-segments.

Model (conversion), on the logit scale::

    logit p[s, k] = α[s] + δ[s, k]                 (δ[s, control] = 0)
    α[s]    ~ N(μ_α, σ_α)                           μ_α ~ N(logit p̄, 1.5), σ_α ~ HalfNormal(1)
    δ[s, k] ~ N(μ_δ[k], σ_δ[k])                     μ_δ ~ N(0, 0.5),   σ_δ ~ HalfNormal(0.3)
    conversions[s, k] ~ Binomial(n[s, k], p[s, k])

The parametrisation the sampler sees is chosen per segment (the posterior is the same): lifts
are non-centred, ``δ = μ_δ + σ_δ · z``; a data-poor baseline is non-centred too, and a data-rich
one is sampled as the segment's mean logit over its arms, ``m[s] = α[s] + Σ_k δ[s, k] / K``
(``baseline``): its control and variant cells then inform ``m`` and ``δ`` separately, where
``α`` and ``δ`` would be anti-correlated (that ridge, with non-centred lifts of data-rich
segments, is what made the six-segment test model diverge now and then at target_accept 0.99).

so each segment's baseline and each arm's lift in that segment are drawn towards what the other
segments show, as much as the data say segments are alike (``σ``). Small segments borrow
strength; large ones keep their own estimate. With ``pooling="none"`` every ``α[s]`` and
``δ[s, k]`` gets its own fixed prior (``N(logit p̄, 1.5)`` and ``N(0, 1)``): the unpooled model.

Revenue adds the mean order value ``v[s, k] = exp(ν[s] + γ[s, k])`` with the same structure
(order-value effects ``γ`` are centred where both cells have at least
``centred_min_conversions / 2`` conversions: order values are measured well there), and
the revenue of a cell's ``c`` converters is ``Gamma(k·c, k / v)`` (order values
``Gamma(k, k / v)`` with the shape ``k`` of :mod:`~workbench.experiments.conjugate`). Revenue per
recipient is ``p · v``.

Sampling runs on nutpie (``sampler="pymc"``: PyMC's NUTS). The sampler's health is
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
from scipy import special

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


_MANY_SEGMENTS = 100  # from here on the default target_accept is 0.85 (else 0.99)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1 - p)))


@dataclass(frozen=True)
class _Grid:
    """Cells of a results table on a ``segment × (control, variants...)`` grid."""

    seg: np.ndarray  # segment index of each row
    col: np.ndarray  # column of each row (0 = control, 1 + i = variants[i])
    present: np.ndarray  # (S, K) which grid cells hold a row
    segments: pd.Index
    variants: list[str]

    @property
    def n_segments(self) -> int:
        return len(self.segments)

    def values(self, column: pd.Series) -> np.ndarray:
        """One value per row placed on the grid (0 in absent cells)."""
        out = np.zeros(self.present.shape)
        out[self.seg, self.col] = column.to_numpy(float)
        return out


def _grid(table: pd.DataFrame, control: str) -> _Grid:
    seg, segments = pd.factorize(table["segment"], sort=False)
    variants = sorted(a for a in table["arm"].unique() if a != control)
    col = table["arm"].map({control: 0} | {a: i + 1 for i, a in enumerate(variants)})
    col = col.to_numpy("int64")
    present = np.zeros((len(segments), len(variants) + 1), dtype=bool)
    present[seg, col] = True
    return _Grid(seg, col, present, pd.Index(segments), variants)


def _binomln(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    return special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)


def _binomial_logit_logp(value: Any, n: Any, eta: Any, const: Any) -> Any:
    """Binomial log-likelihood on the logit scale: ``c·η − n·log(1 + e^η)`` + log C(n, c)."""
    import pytensor.tensor as pt

    return value * eta - n * pt.softplus(eta) + const


def _binomial_logit_dist(n: Any, eta: Any, const: Any, size: Any) -> Any:
    import pymc as pm

    return pm.Binomial.dist(n=n, logit_p=eta, size=size)


def _order_value_logp(value: Any, k: Any, kc: Any, log_v: Any, const: Any) -> Any:
    """Revenue of ``c`` converters, ``Gamma(k·c, k / v)`` with ``v = exp(log_v)``.

    Cells without revenue have ``kc = 0`` and ``value = 0`` and add nothing.
    """
    import pytensor.tensor as pt

    return const - kc * log_v - k * value * pt.exp(-log_v)


def _order_value_dist(k: Any, kc: Any, log_v: Any, const: Any, size: Any) -> Any:
    import pymc as pm
    import pytensor.tensor as pt

    shape = pt.switch(kc > 0, kc, 1.0)
    return pm.Gamma.dist(alpha=shape, beta=k * pt.exp(-log_v), size=size)


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
        least ``centred_min_conversions`` conversions. A centred baseline is sampled as the
        segment's mean level over its arms (see :meth:`_levels`).
    lift : {"noncentred", "centred", "auto"}, default "noncentred"
        Parametrisation of each variant's lift in each segment. Lifts usually differ little
        between segments (``σ_δ`` near 0), where only the non-centred form avoids the funnel.
        ``"auto"`` centres the lifts whose control and variant cells both have at least
        ``centred_min_conversions / 2`` conversions (better when the lifts really differ).
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
        NUTS target acceptance. By default 0.99 for fewer than 100 segments and 0.85 from 100
        on: with few segments the spreads ``σ`` are weakly identified and their funnel needs
        small steps (which cost little in a small model), while with many segments the spreads
        are pinned down and the geometry is close to Gaussian in a few thousand dimensions,
        where 0.85 lets most trajectories stop at 15 leapfrog steps instead of 31 (1,000
        segments: bulk ESS about 1,200 of 4,000 draws, no divergences). Raise it if a fit
        reports divergences.
    sampler : {"auto", "nutpie", "pymc"}, default "auto"
        NUTS implementation: ``"auto"`` is nutpie (pinned; about 3× faster), ``"pymc"``
        PyMC's own NUTS.
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
    centred_ : ndarray of bool, shape (S,)
        Which segment baselines were parametrised centred.
    lift_centred_ : ndarray of bool, shape (S, K - 1)
        Which conversion lifts (segment × variant) were parametrised centred.
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
        lift: Literal["auto", "noncentred", "centred"] = "noncentred",
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
        self.lift = lift
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
        """The PyMC model of a results table (not sampled).

        The cells are laid out on a ``segment × (control, variants...)`` grid (absent cells have
        ``n = 0`` and add nothing to the likelihood), so the linear predictor is a broadcast sum
        rather than a gather, and its gradient needs no scatter. The conversion likelihood is the
        binomial on the logit scale, ``c·η − n·softplus(η)`` (one transcendental function per
        cell); its random draws are PyMC's ``Binomial``.
        """
        import pymc as pm

        if self.metric not in ("conversion", "revenue"):
            raise WorkbenchError(f"unknown metric '{self.metric}' (conversion or revenue)")
        if self.pooling not in ("partial", "none"):
            raise WorkbenchError(f"unknown pooling '{self.pooling}' (partial or none)")
        if self.baseline not in ("auto", "noncentred", "centred"):
            raise WorkbenchError(f"unknown baseline '{self.baseline}' (auto, noncentred, centred)")
        if self.lift not in ("auto", "noncentred", "centred"):
            raise WorkbenchError(f"unknown lift '{self.lift}' (auto, noncentred, centred)")
        if self.metric == "revenue" and "revenue" not in table.columns:
            raise WorkbenchError("the revenue metric needs a revenue column")
        g = _grid(table, table.attrs["control"])
        n, c = g.values(table["n"]), g.values(table["conversions"])
        pooled = _logit(c.sum() / n.sum())
        seg_conv = c.sum(axis=1)
        if self.baseline == "auto":
            self.centred_ = seg_conv >= self.centred_min_conversions
        else:
            self.centred_ = np.full(g.n_segments, self.baseline == "centred")
        # a lift is pinned down by the data when both its cells have many conversions
        rich = g.present[:, 1:] & (
            np.minimum(c[:, :1], c[:, 1:]) >= self.centred_min_conversions / 2
        )
        if self.lift == "auto":
            self.lift_centred_ = rich
        else:
            self.lift_centred_ = g.present[:, 1:] & (self.lift == "centred")
        coords = {"segment": list(g.segments), "variant": g.variants, "cell": np.arange(len(table))}
        with pm.Model(coords=coords) as model:
            eta = self._levels(
                "alpha", "delta", g, self.lift_centred_, pooled, (1.5, 1.0), (0.5, 0.3, 1.0)
            )
            pm.CustomDist(
                "conversions",
                n,
                eta,
                _binomln(n, c),
                logp=_binomial_logit_logp,
                dist=_binomial_logit_dist,
                observed=c,
            )
            pm.Deterministic("p", pm.math.invlogit(eta[g.seg, g.col]), dims="cell")
            if self.metric == "revenue":
                from workbench.experiments.conjugate import order_value_shape_estimate

                k = order_value_shape_estimate(table)
                rev = g.values(table["revenue"])
                has = (c > 0) & (rev > 0)
                m0 = float(np.log(rev.sum() / max(c.sum(), 1)))
                # order values are measured well wherever there are many orders, and their
                # differences between arms vary more across segments: centred where data-rich
                log_v = self._levels("nu", "gamma", g, rich, m0, (1.0, 0.5), (0.3, 0.2, 0.5))
                kc = np.where(has, k * c, 0.0)
                with np.errstate(divide="ignore"):
                    const = np.where(has, kc * np.log(k) - special.gammaln(kc), 0.0)
                    const += np.where(has, (kc - 1) * np.log(np.where(has, rev, 1.0)), 0.0)
                pm.CustomDist(
                    "revenue",
                    np.float64(k),
                    kc,
                    log_v,
                    const,
                    logp=_order_value_logp,
                    dist=_order_value_dist,
                    observed=np.where(has, rev, 0.0),
                )
                pm.Deterministic("order_value", pm.math.exp(log_v[g.seg, g.col]), dims="cell")
        return model

    def _levels(
        self,
        level: str,
        effect: str,
        g: _Grid,
        effect_centred: np.ndarray,
        centre: float,
        level_prior: tuple[float, float],
        effect_prior: tuple[float, float, float],
    ) -> Any:
        """Linear predictor on the grid: segment level plus each variant's effect.

        ``level[s]`` (``alpha`` or ``nu``) and ``effect[s, k]`` (``delta`` or ``gamma``) are
        deterministic functions of standardised free variables ``*_raw``. Data-poor levels and
        effects are non-centred (``level = μ + σ·raw``); data-rich ones are centred. A centred
        level is sampled as the segment's *mean* over its arms, ``raw = level + Σ_k effect / K``
        (``raw ~ N(μ + Σ_k effect / K, σ)``, the same prior): the data pin the mean and the
        differences down separately, where level and effect would be strongly anti-correlated.

        Returns
        -------
        TensorVariable, shape (S, K)
        """
        import pymc as pm
        import pytensor.tensor as pt

        scale, tau = level_prior
        mu_scale, eff_tau, none_scale = effect_prior
        var = g.present[:, 1:].astype(float)
        if self.pooling == "none":
            lev = pm.Normal(level, centre, scale, dims="segment")
            eff = pm.Normal(effect, 0.0, none_scale, dims=("segment", "variant"))
        else:
            wd = effect_centred.astype(float)
            e_mu = pm.Normal(f"{effect}_mu", 0.0, mu_scale, dims="variant")
            e_sigma = pm.HalfNormal(f"{effect}_sigma", eff_tau, dims="variant")
            e_raw = pm.Normal(
                f"{effect}_raw", wd * e_mu, wd * e_sigma + (1 - wd), dims=("segment", "variant")
            )
            eff = pm.Deterministic(
                effect,
                wd * e_raw + (1 - wd) * (e_mu + e_sigma * e_raw),
                dims=("segment", "variant"),
            )
            wa = self.centred_.astype(float)
            l_mu = pm.Normal(f"{level}_mu", centre, scale)
            l_sigma = pm.HalfNormal(f"{level}_sigma", tau)
            shift = wa * (eff * var).sum(axis=1) / g.present.sum(axis=1)
            l_raw = pm.Normal(
                f"{level}_raw", wa * l_mu + shift, wa * l_sigma + (1 - wa), dims="segment"
            )
            lev = pm.Deterministic(
                level, wa * l_raw - shift + (1 - wa) * (l_mu + l_sigma * l_raw), dims="segment"
            )
        return pt.concatenate([lev[:, None], lev[:, None] + eff], axis=1)

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
            else (0.99 if n_segments < _MANY_SEGMENTS else 0.85)
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
        # the model's parameters: hyper-parameters and the per-segment levels and effects built
        # from the standardised auxiliaries (the raws themselves are not reported quantities)
        names = [v.name for v in model.free_RVs if not v.name.endswith("_raw")]
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
