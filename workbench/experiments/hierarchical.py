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

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from workbench.bayes.builder import ModelBuilder
from workbench.bayes.diagnostics import Diagnostics, DiagnosticsWarning, diagnose
from workbench.bayes.sampling import Sampler
from workbench.errors import WorkbenchError
from workbench.experiments._summary import add_decisions, add_interval, layout, summarize_draws
from workbench.experiments.inputs import control_arm, sort_cells

__all__ = ["Diagnostics", "DiagnosticsWarning", "HierarchicalABTest", "diagnose"]


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


@dataclass(frozen=True)
class Parametrisation:
    """Which levels and effects the sampler sees centred (the posterior is the same).

    Attributes
    ----------
    baseline : ndarray of bool, shape (S,)
        Centred segment baselines (and order-value levels).
    lift : ndarray of bool, shape (S, K - 1)
        Centred conversion lifts (segment × variant).
    order_value_lift : ndarray of bool, shape (S, K - 1)
        Centred order-value effects: both cells have many conversions.
    """

    baseline: np.ndarray
    lift: np.ndarray
    order_value_lift: np.ndarray


_MANY_SEGMENTS = 100  # from here on the default target_accept is 0.85 (else 0.99)


class HierarchicalABTest(ModelBuilder):
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
    model_config : dict, optional
        Priors, overriding :attr:`default_model_config` block by block (e.g.
        ``{"lift": {"sigma_sigma": 0.5}}``).
    sampler_config : dict, optional
        NUTS settings overriding :attr:`default_sampler_config` (``draws, tune, chains, cores,
        target_accept, sampler, progressbar``).
    draws, tune, chains : int, optional
        Shortcuts for the same keys of ``sampler_config`` (and override it). Default 2000,
        1000, 2: on a laptop's few cores two long chains give the effective sample size of four
        short ones with half the tuning.
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
    sampler : {"auto", "nutpie", "pymc"}, optional
        NUTS implementation: ``"auto"`` (the default) is nutpie (pinned; about 3× faster),
        ``"pymc"`` PyMC's own NUTS.
    seed : int, default 0
    progressbar : bool, optional
        Show the sampler's progress bar (default no).
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
    control_ : str
        The control arm.
    centred_ : ndarray of bool, shape (S,)
        Which segment baselines were parametrised centred.
    lift_centred_ : ndarray of bool, shape (S, K - 1)
        Which conversion lifts (segment × variant) were parametrised centred.
    target_accept_ : float
        The target acceptance used.
    model_config_, sampler_config_ : dict
        The priors and NUTS settings used.
    sampling_ : SamplingInfo
        The sampler used, and the compilation and sampling times.
    fit_data_ : DataFrame
        The results table fitted (sorted by segment, arm).
    """

    _model_type = "hierarchical_ab_test"

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
        model_config: dict[str, Any] | None = None,
        sampler_config: dict[str, Any] | None = None,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
        cores: int | None = None,
        target_accept: float | None = None,
        sampler: Sampler | None = None,
        seed: int = 0,
        progressbar: bool | None = None,
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
        self.model_config = model_config
        self.sampler_config = sampler_config
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

    # ---------------------------------------------------------------------------- configs
    @property
    def default_model_config(self) -> dict[str, Any]:
        """The priors (logit scale for rates, log scale for order values).

        ``baseline``: ``μ_α ~ N(logit p̄, mu_sigma=1.5)``, ``σ_α ~ HalfNormal(sigma_sigma=1)``
        (unpooled: ``α[s] ~ N(logit p̄, mu_sigma)``). ``lift``: ``μ_δ ~ N(0, mu_sigma=0.5)``,
        ``σ_δ ~ HalfNormal(sigma_sigma=0.3)`` (unpooled: ``δ ~ N(0, unpooled_sigma=1)``).
        ``order_value`` and ``order_value_lift``: the same for ``ν`` (centred on the log of the
        pooled mean order value) and ``γ``, with scales 1, 0.5 and 0.3, 0.2, 0.5.
        """
        return {
            "baseline": {"mu_sigma": 1.5, "sigma_sigma": 1.0},
            "lift": {"mu_sigma": 0.5, "sigma_sigma": 0.3, "unpooled_sigma": 1.0},
            "order_value": {"mu_sigma": 1.0, "sigma_sigma": 0.5},
            "order_value_lift": {"mu_sigma": 0.3, "sigma_sigma": 0.2, "unpooled_sigma": 0.5},
        }

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """2 chains × 2,000 draws after 1,000 tuning steps; ``target_accept`` by segment count."""
        return super().default_sampler_config | {"target_accept": None}

    def get_sampler_config(self, data: pd.DataFrame | None = None) -> dict[str, Any]:
        """NUTS settings; an unset ``target_accept`` is 0.99 below 100 segments, else 0.85."""
        cfg = super().get_sampler_config(data)
        if cfg["target_accept"] is None:
            many = data is not None and data["segment"].nunique() >= _MANY_SEGMENTS
            cfg["target_accept"] = 0.85 if many else 0.99
        return cfg

    # ------------------------------------------------------------------------------ model
    def _check_options(self, table: pd.DataFrame) -> None:
        choices = {
            "metric": ("conversion", "revenue"),
            "pooling": ("partial", "none"),
            "baseline": ("auto", "noncentred", "centred"),
            "lift": ("auto", "noncentred", "centred"),
        }
        for name, allowed in choices.items():
            value = getattr(self, name)
            if value not in allowed:
                options = ", ".join(allowed) if len(allowed) > 2 else " or ".join(allowed)
                raise WorkbenchError(f"unknown {name} '{value}' ({options})")
        if self.metric == "revenue" and "revenue" not in table.columns:
            raise WorkbenchError("the revenue metric needs a revenue column")

    def parametrisation(self, table: pd.DataFrame, control: str | None = None) -> Parametrisation:
        """Which baselines, lifts and order-value effects :meth:`build_model` centres."""
        g = _grid(table, control_arm(table, control))
        c = g.values(table["conversions"])
        if self.baseline == "auto":
            centred = c.sum(axis=1) >= self.centred_min_conversions
        else:
            centred = np.full(g.n_segments, self.baseline == "centred")
        # a lift is pinned down by the data when both its cells have many conversions
        rich = g.present[:, 1:] & (
            np.minimum(c[:, :1], c[:, 1:]) >= self.centred_min_conversions / 2
        )
        lift = rich if self.lift == "auto" else g.present[:, 1:] & (self.lift == "centred")
        return Parametrisation(centred, lift, rich)

    def build_model(self, table: pd.DataFrame, control: str | None = None) -> Any:
        """The PyMC model of a results table (not sampled; ``self`` is not changed).

        The cells are laid out on a ``segment × (control, variants...)`` grid (absent cells have
        ``n = 0`` and add nothing to the likelihood), so the linear predictor is a broadcast sum
        rather than a gather, and its gradient needs no scatter. The conversion likelihood is the
        binomial on the logit scale, ``c·η − n·softplus(η)`` (one transcendental function per
        cell); its random draws are PyMC's ``Binomial``.

        Parameters
        ----------
        table : DataFrame
            Results table (:mod:`~workbench.experiments.inputs`).
        control : str, optional
            The control arm (default: the one the results table names, see
            :func:`~workbench.experiments.inputs.control_arm`).
        """
        import pymc as pm

        self._check_options(table)
        control = control_arm(table, control)
        g = _grid(table, control)
        n, c = g.values(table["n"]), g.values(table["conversions"])
        par = self.parametrisation(table, control)
        priors = self.get_model_config()
        coords = {"segment": list(g.segments), "variant": g.variants, "cell": np.arange(len(table))}
        with pm.Model(coords=coords) as model:
            eta = self._levels(
                ("alpha", "delta"), g, par.baseline, par.lift, _logit(c.sum() / n.sum()),
                priors["baseline"], priors["lift"],
            )  # fmt: skip
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
                self._order_values(table, g, c, par, priors)
        return model

    def _order_values(
        self,
        table: pd.DataFrame,
        g: _Grid,
        c: np.ndarray,
        par: Parametrisation,
        priors: dict[str, Any],
    ) -> None:
        """The order-value part of the model: ``Gamma(k·c, k / v)`` revenue per cell."""
        import pymc as pm

        from workbench.experiments.conjugate import order_value_shape_estimate

        k = order_value_shape_estimate(table)
        rev = g.values(table["revenue"])
        has = (c > 0) & (rev > 0)
        m0 = float(np.log(rev.sum() / max(c.sum(), 1)))
        # order values are measured well wherever there are many orders, and their
        # differences between arms vary more across segments: centred where data-rich
        log_v = self._levels(
            ("nu", "gamma"), g, par.baseline, par.order_value_lift, m0,
            priors["order_value"], priors["order_value_lift"],
        )  # fmt: skip
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

    def _levels(
        self,
        names: tuple[str, str],
        g: _Grid,
        level_centred: np.ndarray,
        effect_centred: np.ndarray,
        centre: float,
        level_prior: dict[str, float],
        effect_prior: dict[str, float],
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

        level, effect = names
        var = g.present[:, 1:].astype(float)
        if self.pooling == "none":
            lev = pm.Normal(level, centre, level_prior["mu_sigma"], dims="segment")
            eff = pm.Normal(
                effect, 0.0, effect_prior["unpooled_sigma"], dims=("segment", "variant")
            )
        else:
            wd = effect_centred.astype(float)
            e_mu = pm.Normal(f"{effect}_mu", 0.0, effect_prior["mu_sigma"], dims="variant")
            e_sigma = pm.HalfNormal(f"{effect}_sigma", effect_prior["sigma_sigma"], dims="variant")
            e_raw = pm.Normal(
                f"{effect}_raw", wd * e_mu, wd * e_sigma + (1 - wd), dims=("segment", "variant")
            )
            eff = pm.Deterministic(
                effect,
                wd * e_raw + (1 - wd) * (e_mu + e_sigma * e_raw),
                dims=("segment", "variant"),
            )
            wa = level_centred.astype(float)
            l_mu = pm.Normal(f"{level}_mu", centre, level_prior["mu_sigma"])
            l_sigma = pm.HalfNormal(f"{level}_sigma", level_prior["sigma_sigma"])
            shift = wa * (eff * var).sum(axis=1) / g.present.sum(axis=1)
            l_raw = pm.Normal(
                f"{level}_raw", wa * l_mu + shift, wa * l_sigma + (1 - wa), dims="segment"
            )
            lev = pm.Deterministic(
                level, wa * l_raw - shift + (1 - wa) * (l_mu + l_sigma * l_raw), dims="segment"
            )
        return pt.concatenate([lev[:, None], lev[:, None] + eff], axis=1)

    def diagnostic_vars(self, model: Any) -> list[str]:
        """Hyper-parameters, per-segment levels and effects, cell rates (not the ``*_raw``)."""
        names = [v.name for v in model.free_RVs if not v.name.endswith("_raw")]
        return names + [d.name for d in model.deterministics]

    # -------------------------------------------------------------------------------- fit
    def fit(self, table: pd.DataFrame, control: str | None = None) -> HierarchicalABTest:
        """Sample the posterior and summarise it per segment × arm.

        Parameters
        ----------
        table : DataFrame
            Results table (:mod:`~workbench.experiments.inputs`).
        control : str, optional
            The control arm (default: the one the results table names).

        Returns
        -------
        self
        """
        self.control_ = control_arm(table, control)
        table = sort_cells(table)
        par = self.parametrisation(table, self.control_)
        self.centred_, self.lift_centred_ = par.baseline, par.lift
        self._fit(table)
        self.target_accept_ = self.sampler_config_["target_accept"]
        return self

    def _build_kwargs(self) -> dict[str, Any]:
        return {"control": self.control_}

    def _extra_attrs(self) -> dict[str, Any]:
        return {"control": self.control_, "table_attrs": dict(self.fit_data_.attrs)}

    def _restore_extra(self, extra: dict[str, Any]) -> None:
        self.control_ = extra["control"]
        self.fit_data_.attrs.update(extra["table_attrs"])
        par = self.parametrisation(self.fit_data_, self.control_)
        self.centred_, self.lift_centred_ = par.baseline, par.lift
        self.target_accept_ = self.sampler_config_["target_accept"]

    def _summarise(self, table: pd.DataFrame, idata: Any) -> None:
        """Rates (and revenue per recipient) per cell, decisions: ``result_``."""
        lay = layout(table, self.control_)
        post = idata["posterior"]
        p = post["p"].values.reshape(-1, len(table)).T  # (cells, D)
        rate = np.zeros((*lay.shape, p.shape[1]))
        rate[lay.seg, lay.pos] = p
        self.rate_draws_ = rate
        self.layout_ = lay
        out = table.copy()
        stats = summarize_draws(rate, lay, hdi=self.hdi, rope=self.rope)
        add_interval(out, "rate", lay, stats)
        if self.metric == "revenue":
            v = post["order_value"].values.reshape(-1, len(table)).T
            rpr = np.zeros_like(rate)
            rpr[lay.seg, lay.pos] = p * v
            stats = summarize_draws(rpr, lay, hdi=self.hdi, rope=self.rope)
            out["order_value_mean"] = v.mean(axis=1)
            add_interval(out, "rpr", lay, stats)
        add_decisions(
            out, lay, stats, metric=self.metric, loss_threshold=self.loss_threshold,
            rope_prob=self.rope_prob,
        )  # fmt: skip
        out.attrs = dict(table.attrs)
        out.attrs.update(
            control=self.control_,
            metric=self.metric,
            model="hierarchical" if self.pooling == "partial" else "unpooled",
            hdi=self.hdi,
            diagnostics_ok=bool(self.diagnostics_.ok),
            sampler=self.sampling_.sampler,
        )
        self.result_ = out

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
