"""Exact conjugate analysis of A/B/n tests per micro-segment.

Models
------
Conversion (binary metric)
    ``conversions ~ Binomial(n, p)``, ``p ~ Beta(a, b)`` (default ``Beta(1, 1)``), so the posterior
    is ``Beta(a + conversions, b + n - conversions)``.
Revenue per recipient (many zeros)
    revenue per recipient = purchase probability × mean order value. The purchase probability is
    the conversion posterior above. Order values of converters are ``Gamma(k, λ)`` with a known
    shape ``k`` (estimated once from all orders by the method of moments when
    ``revenue_sumsq`` is available, else ``k = 1``, an exponential: the heavy-tailed, cautious
    choice) and a conjugate ``λ ~ Gamma(1 + k, m₀)`` prior worth one order at the pooled mean
    order value ``m₀``. The posterior is ``λ ~ Gamma(1 + k·(1 + conversions), m₀ + revenue)``,
    the mean order value is ``k / λ`` with posterior mean ``(m₀ + revenue) / (1 + conversions)``.
    Revenue per recipient is summarised from seeded draws.

For the conversion metric every decision quantity except the lift interval is computed by
Gauss–Legendre quadrature, not sampling: with ``f_k, F_k`` the posterior density and CDF of arm
``k``, ``P(k best) = ∫ f_k Π_{j≠k} F_j``, ``P(k beats control) = ∫ f_k F_c`` and
``E[max_j p_j] = Σ_k ∫ x f_k Π_{j≠k} F_j``, so the expected loss of arm ``k`` is
``E[max_j p_j] − E[p_k]``. The HDI of a Beta posterior is found exactly (the shortest interval,
by safeguarded Newton steps on the quantile function). The relative lift vs control is
summarised by the ratio of posterior means and a central interval of the ratio distribution
(quadrature and Newton steps, see :func:`ratio_stats`), so the conversion analysis draws no
random numbers.
Everything is vectorised over the segment × arm grid.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from workbench.errors import WorkbenchError
from workbench.experiments._summary import Layout, decide, layout, summarize_draws

Metric = Literal["conversion", "revenue"]


def _beta_logpdf(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - 1) * np.log(x) + (b - 1) * np.log1p(-x) - special.betaln(a, b)
    return np.where((x > 0) & (x < 1), out, -np.inf)


def beta_hdi(
    a: np.ndarray, b: np.ndarray, prob: float = 0.9, newton_steps: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Exact highest-density interval of ``Beta(a, b)``, vectorised.

    The HDI of a unimodal density is the interval ``[F⁻¹(t), F⁻¹(t + prob)]`` whose ends have
    equal density. Newton steps on the lower tail mass ``t``, safeguarded by bisection, solve
    ``log f(F⁻¹(t + prob)) = log f(F⁻¹(t))`` from the equal-tailed interval (the derivative of
    each side is ``(log f)'(x) / f(x)``). For J-shaped posteriors (``a ≤ 1`` or
    ``b ≤ 1``) the solution is at a boundary; the shortest of the Newton, left and right
    intervals is returned.

    Parameters
    ----------
    a, b : array_like
        Beta parameters (broadcast together).
    prob : float, default 0.9
        Interval probability.
    newton_steps : int, default 8
        Safeguarded Newton steps (bisection when a step leaves the bracket of the root).

    Returns
    -------
    low, high : ndarray
    """
    if not 0 < prob < 1:
        raise WorkbenchError(f"hdi must be in (0, 1), got {prob}")
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    t = np.full(a.shape, (1.0 - prob) / 2)

    def dlog(x: np.ndarray) -> np.ndarray:
        return (a - 1) / x - (b - 1) / (1 - x)

    lo_t, hi_t = np.zeros(a.shape), np.full(a.shape, 1.0 - prob)  # bracket of the root
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for _ in range(newton_steps):
            lo = special.betaincinv(a, b, t)
            hi = special.betaincinv(a, b, t + prob)
            lf_lo, lf_hi = _beta_logpdf(lo, a, b), _beta_logpdf(hi, a, b)
            g = lf_hi - lf_lo  # decreasing in t; > 0 means the lower end must move right
            lo_t = np.where(g > 0, t, lo_t)
            hi_t = np.where(g < 0, t, hi_t)
            dg = dlog(hi) * np.exp(-lf_hi) - dlog(lo) * np.exp(-lf_lo)
            new = t - g / dg
            ok = np.isfinite(new) & (new > lo_t) & (new < hi_t)
            t = np.where(ok, new, (lo_t + hi_t) / 2)  # safeguarded Newton: else bisect
    cands = np.stack([np.zeros_like(t), t, np.full_like(t, 1.0 - prob)])
    widths = special.betaincinv(a, b, cands + prob) - special.betaincinv(a, b, cands)
    best = np.take_along_axis(cands, widths.argmin(axis=0)[None], axis=0)[0]
    return special.betaincinv(a, b, best), special.betaincinv(a, b, best + prob)


def prob_beat_exact(a_c: float, b_c: float, a_v: int, b_v: float) -> float:
    """``P(p_v > p_c)`` for ``p_c ~ Beta(a_c, b_c)``, ``p_v ~ Beta(a_v, b_v)``, integer ``a_v``.

    Evan Miller's closed form, a finite sum of ``a_v`` terms (in log space). Used to check the
    quadrature engine.
    """
    if int(a_v) != a_v or a_v < 1:
        raise WorkbenchError("the closed form needs a positive integer a_v")
    i = np.arange(int(a_v), dtype=float)
    log_terms = (
        special.betaln(a_c + i, b_c + b_v)
        - np.log(b_v + i)
        - special.betaln(1 + i, b_v)
        - special.betaln(a_c, b_c)
    )
    return float(np.exp(special.logsumexp(log_terms)))


_BREAKS = np.array([-12.0, -4.0, -1.5, 1.5, 4.0, 12.0])


@functools.cache
def _cumulative_matrix(n: int) -> np.ndarray:
    """``C[i, m] = ∫_{-1}^{t_i} ℓ_m(s) ds`` for the ``n`` Gauss–Legendre nodes ``t``.

    ``ℓ_m`` is the Lagrange polynomial of node ``m``: ``C @ f(t)`` integrates the interpolant of
    ``f`` from ``-1`` to each node (spectral integration, exact for polynomials of degree < n).
    """
    leg = np.polynomial.legendre
    t, _ = leg.leggauss(n)
    integrals = np.stack([leg.legval(t, leg.legint(np.eye(n)[j], lbnd=-1)) for j in range(n)], 1)
    return integrals @ np.linalg.inv(leg.legvander(t, n - 1))


def panel_grid(
    centre: np.ndarray, scale: np.ndarray, nodes_per_panel: int = 12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Composite Gauss–Legendre panels on [0, 1] resolving several bell-shaped densities.

    Panels break at ``centre ± (1.5, 4, 12) · scale`` of every density of a row, so each one is
    integrated accurately however narrow it is next to the others.

    Parameters
    ----------
    centre, scale : ndarray, shape (S, M)
        Location and spread of the ``M`` densities of each row.
    nodes_per_panel : int, default 12

    Returns
    -------
    x, w : ndarray, shape (S, P, n)
        Nodes and weights of each panel (zero-width panels get zero weights).
    left : ndarray, shape (S, P)
        Left end of each panel.
    half : ndarray, shape (S, P, 1)
        Half-width of each panel.
    """
    br = np.clip(centre[..., None] + scale[..., None] * _BREAKS, 0.0, 1.0)
    br = np.sort(br.reshape(len(br), -1), axis=1)  # (S, P + 1)
    t, w = np.polynomial.legendre.leggauss(nodes_per_panel)
    half = np.diff(br, axis=1)[..., None] / 2  # (S, P, 1)
    x = br[:, :-1, None] + half * (t + 1)
    return x, w * half, br[:, :-1], half


def panel_nodes(
    centre: np.ndarray, scale: np.ndarray, nodes_per_panel: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of :func:`panel_grid`, flattened to shape ``(S, N)``."""
    x, w, _, _ = panel_grid(centre, scale, nodes_per_panel)
    return x.reshape(len(x), -1), w.reshape(len(w), -1)


def _panel_cdf(
    a: np.ndarray, b: np.ndarray, left: np.ndarray, half: np.ndarray, dens: np.ndarray
) -> np.ndarray:
    """``Beta(a, b)`` CDF at the nodes of panels from its density at the nodes.

    Exact at each panel's left end (``betainc``), spectral integration of the density inside
    the panel: one incomplete beta function per panel instead of one per node.

    Parameters
    ----------
    a, b : ndarray, broadcastable to ``left``
    left : ndarray, shape (..., P)
        Left ends of the panels (already mapped to the Beta variable's scale).
    half : ndarray, shape (..., P, 1)
        Half-widths of the panels on the Beta variable's scale.
    dens : ndarray, shape (..., P, n)
        Density at the panel nodes.
    """
    n = dens.shape[-1]
    start = special.betainc(a, b, np.clip(left, 0.0, 1.0))
    inside = half * (dens.reshape(-1, n) @ _cumulative_matrix(n).T).reshape(dens.shape)
    return np.clip(start[..., None] + inside, 0.0, 1.0)


def _beta_moments(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))


def beta_decision_stats(
    a: np.ndarray,
    b: np.ndarray,
    mask: np.ndarray,
    control: np.ndarray,
    nodes_per_panel: int = 12,
) -> dict[str, np.ndarray]:
    """Probability to be best, to beat control and expected loss of Beta posteriors, by quadrature.

    Parameters
    ----------
    a, b : ndarray, shape (S, K)
        Posterior Beta parameters of each segment × arm (padded cells ignored).
    mask : ndarray of bool, shape (S, K)
        Which cells hold an arm.
    control : ndarray of int, shape (S,)
        Position of the control arm of each segment.
    nodes_per_panel : int, default 12
        Gauss–Legendre nodes per panel of :func:`panel_nodes`.

    Returns
    -------
    dict of str to ndarray, shape (S, K)
        ``prob_best``, ``prob_beat_control``, ``expected_loss``.
    """
    a = np.where(mask, a, 1.0)
    b = np.where(mask, b, 1.0)
    s_idx = np.arange(a.shape[0])
    mean, sd = _beta_moments(a, b)
    # padded arms get the control's nodes (harmless duplicates of breakpoints)
    ctrl_mean = mean[s_idx, control][:, None]
    ctrl_sd = sd[s_idx, control][:, None]
    x, w, left, half = panel_grid(
        np.where(mask, mean, ctrl_mean), np.where(mask, sd, ctrl_sd), nodes_per_panel
    )
    n_seg, n_panels, n_nodes = x.shape
    pdf = np.exp(_beta_logpdf(x[:, None], a[..., None, None], b[..., None, None]))  # (S,K,P,n)
    cdf = _panel_cdf(a[..., None], b[..., None], left[:, None], half[:, None], pdf)
    x3 = x.reshape(n_seg, 1, -1)  # (S, 1, N)
    dens = (w[:, None] * pdf).reshape(n_seg, a.shape[1], -1)  # (S, K, N)
    cdf = np.where(mask[..., None], cdf.reshape(dens.shape), 1.0)  # absent arms never win
    k = a.shape[1]
    others = np.stack(
        [np.prod(np.delete(cdf, kk, axis=1), axis=1) for kk in range(k)], axis=1
    )  # Π_{j≠k} F_j, a loop over the (few) arms only
    prob_best = (dens * others).sum(axis=-1)
    e_max = np.where(mask, (dens * others * x3).sum(axis=-1), 0.0).sum(axis=1, keepdims=True)
    beat = (dens * cdf[s_idx, control][:, None, :]).sum(axis=-1)
    beat[s_idx, control] = np.nan
    loss = np.maximum(e_max - mean, 0.0)
    nan = np.where(mask, 1.0, np.nan)
    return {
        "prob_best": prob_best * nan,
        "prob_beat_control": beat * nan,
        "expected_loss": loss * nan,
    }


def ratio_stats(
    a_c: np.ndarray,
    b_c: np.ndarray,
    a_v: np.ndarray,
    b_v: np.ndarray,
    *,
    prob: float = 0.9,
    rope: float = 0.01,
    nodes_per_panel: int = 6,
    newton_steps: int = 2,
) -> dict[str, np.ndarray]:
    """Relative lift ``p_v / p_c − 1`` of independent Beta posteriors, by quadrature.

    The CDF of the ratio ``R = p_v / p_c`` is ``G(r) = ∫ f_c(x) F_v(r x) dx`` and its density
    ``g(r) = ∫ x f_c(x) f_v(r x) dx``, integrated on panels that resolve both ``f_c`` and the
    step of ``F_v(r x)`` (:func:`panel_nodes`). Quantiles are found by Newton steps on
    ``log r`` started from the Cornish–Fisher approximation with the exact mean, variance and
    skewness of ``log p_v − log p_c``.

    Returns
    -------
    dict of str to ndarray
        ``lift_mean`` (ratio of the posterior means minus one: ``E[p_v] / E[p_c] − 1``, finite
        even when the control has no conversions), ``lift_low``, ``lift_high`` (central interval
        of probability ``prob``) and ``prob_rope`` = ``P(|lift| ≤ rope)``.
    """
    a_c, b_c, a_v, b_v = (np.asarray(v, float)[:, None] for v in (a_c, b_c, a_v, b_v))
    mean_c, sd_c = _beta_moments(a_c, b_c)
    mean_v, sd_v = _beta_moments(a_v, b_v)

    def cdf_pdf(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r3 = r[:, None, None]
        x, w, left, half = panel_grid(
            np.concatenate([mean_c, mean_v / r[:, None]], axis=1),
            np.concatenate([sd_c, sd_v / r[:, None]], axis=1),
            nodes_per_panel,
        )
        a3, b3 = a_v[..., None], b_v[..., None]
        dens = w * np.exp(_beta_logpdf(x, a_c[..., None], b_c[..., None]))
        y = np.clip(r3 * x, 0.0, 1.0)
        f_v = np.exp(_beta_logpdf(y, a3, b3))  # 0 beyond 1
        f_v_cdf = _panel_cdf(a_v, b_v, r[:, None] * left, r3 * half, f_v)  # F_v(r x)
        cdf = (dens * f_v_cdf).sum((-2, -1))
        pdf = (dens * x * f_v).sum((-2, -1))
        return cdf, pdf

    mu = (
        special.digamma(a_v) - special.digamma(a_v + b_v)
        - special.digamma(a_c) + special.digamma(a_c + b_c)
    )[:, 0]  # fmt: skip
    sd = np.sqrt(
        special.polygamma(1, a_v) - special.polygamma(1, a_v + b_v)
        + special.polygamma(1, a_c) - special.polygamma(1, a_c + b_c)
    )[:, 0]  # fmt: skip
    k3 = (
        special.polygamma(2, a_v) - special.polygamma(2, a_v + b_v)
        - special.polygamma(2, a_c) + special.polygamma(2, a_c + b_c)
    )[:, 0]  # fmt: skip
    skew = np.clip(k3 / sd**3, -2.0, 2.0)
    out: dict[str, np.ndarray] = {}
    for name, q in (("lift_low", (1 - prob) / 2), ("lift_high", (1 + prob) / 2)):
        z = special.ndtri(q)
        u = mu + sd * (z + (z**2 - 1) * skew / 6)  # Cornish–Fisher start
        for _ in range(newton_steps):
            r = np.exp(u)
            g_cdf, g_pdf = cdf_pdf(r)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = (g_cdf - q) / (g_pdf * r)
            u = u - np.clip(np.nan_to_num(step), -0.5, 0.5)
        out[name] = np.exp(u) - 1.0
    out["lift_mean"] = (mean_v / mean_c)[:, 0] - 1.0
    n = len(mu)
    out["prob_rope"] = cdf_pdf(np.full(n, 1.0 + rope))[0] - cdf_pdf(np.full(n, 1.0 - rope))[0]
    return out


def order_value_shape_estimate(table: pd.DataFrame) -> float:
    """Shape ``k`` of the order-value Gamma: method of moments pooled over all cells.

    Needs ``revenue_sumsq`` (recipient-level input); without it, or with fewer than two
    converters, ``k = 1`` (exponential order values: heavy-tailed, hence cautious).
    """
    if "revenue_sumsq" not in table.columns:
        return 1.0
    c = table["conversions"].sum()
    if c < 2:
        return 1.0
    m = table["revenue"].sum() / c
    var = table["revenue_sumsq"].sum() / c - m**2
    if not np.isfinite(var) or var <= 0 or m <= 0:
        return 1.0
    return float(np.clip(m**2 / var, 0.05, 1e4))


class ConjugateABTest:
    """Beta–Binomial (and Beta × Gamma revenue) analysis of A/B/n tests per segment.

    Parameters
    ----------
    prior : tuple of float, default (1.0, 1.0)
        ``(a, b)`` of the Beta prior on each conversion rate.
    hdi : float, default 0.9
        Probability of the highest-density intervals.
    metric : {"conversion", "revenue"}, default "conversion"
        The metric the decision columns (``prob_best`` ... ``decision``) refer to.
    loss_threshold : float, default 0.01
        Ship an arm when its expected loss, relative to its own posterior mean, is below this
        (0.01 = choosing it costs at most 1 % of the metric in expectation).
    rope : float, default 0.01
        Half-width of the region of practical equivalence on the relative lift vs control.
    rope_prob : float, default 0.95
        Probability inside the ROPE that stops a variant as equivalent to the control.
    n_draws : int, default 4000
        Posterior draws per cell for the revenue metric.
    nodes_per_panel : int, default 12
        Gauss–Legendre nodes per quadrature panel (see :func:`panel_nodes`).
    order_value_shape : float, optional
        Shape ``k`` of the order-value Gamma (default: estimated, see the module docstring).
    seed : int, default 0
        Seed of the draws (same seed ⇒ same numbers).

    Attributes
    ----------
    result_ : DataFrame
        One row per segment × arm after :meth:`fit`.
    order_value_shape_ : float
        The Gamma shape used.
    """

    def __init__(
        self,
        prior: tuple[float, float] = (1.0, 1.0),
        hdi: float = 0.9,
        metric: Metric = "conversion",
        loss_threshold: float = 0.01,
        rope: float = 0.01,
        rope_prob: float = 0.95,
        n_draws: int = 4000,
        nodes_per_panel: int = 12,
        order_value_shape: float | None = None,
        seed: int = 0,
    ) -> None:
        self.prior = prior
        self.hdi = hdi
        self.metric = metric
        self.loss_threshold = loss_threshold
        self.rope = rope
        self.rope_prob = rope_prob
        self.n_draws = n_draws
        self.nodes_per_panel = nodes_per_panel
        self.order_value_shape = order_value_shape
        self.seed = seed

    def _check(self, table: pd.DataFrame) -> None:
        if self.metric not in ("conversion", "revenue"):
            raise WorkbenchError(f"unknown metric '{self.metric}' (conversion or revenue)")
        if self.metric == "revenue" and "revenue" not in table.columns:
            raise WorkbenchError("the revenue metric needs a revenue column (--revenue-col)")
        a0, b0 = self.prior
        if a0 <= 0 or b0 <= 0:
            raise WorkbenchError(f"Beta prior parameters must be positive, got {self.prior}")
        if not 0 < self.hdi < 1:
            raise WorkbenchError(f"hdi must be in (0, 1), got {self.hdi}")
        if "control" not in table.attrs:
            raise WorkbenchError("results table without attrs['control']; build it with inputs")

    def fit(self, table: pd.DataFrame) -> ConjugateABTest:
        """Analyse a results table (see :mod:`workbench.experiments.inputs`).

        Returns
        -------
        self
        """
        self._check(table)
        table = table.sort_values(["segment", "arm"], kind="stable").reset_index(drop=True)
        lay = layout(table, table.attrs["control"])
        rng = np.random.default_rng(self.seed)
        a0, b0 = self.prior
        a_rows = a0 + table["conversions"].to_numpy(float)
        b_rows = b0 + (table["n"] - table["conversions"]).to_numpy(float)
        a, b = lay.grid(a_rows, 1.0), lay.grid(b_rows, 1.0)
        out = table.copy()
        out["rate_mean"] = a_rows / (a_rows + b_rows)
        out["rate_hdi_low"], out["rate_hdi_high"] = beta_hdi(a_rows, b_rows, self.hdi)
        shape = (*lay.shape, self.n_draws)
        if "revenue" in table.columns:
            p_draws = rng.beta(a[..., None], b[..., None], size=shape)
            k = self.order_value_shape or order_value_shape_estimate(table)
            self.order_value_shape_ = k
            conv_total = table["conversions"].sum()
            m0 = table["revenue"].sum() / conv_total if conv_total > 0 else 1.0
            shape_post = lay.grid(1.0 + k * (1.0 + table["conversions"].to_numpy(float)), 2.0)
            rate_post = lay.grid(m0 + table["revenue"].to_numpy(float), 1.0)
            lam = rng.gamma(shape_post[..., None], 1.0 / rate_post[..., None], size=shape)
            value = k / lam
            rpr = p_draws * value
            rev_stats = summarize_draws(rpr, lay, hdi=self.hdi, rope=self.rope)
            out["order_value_mean"] = lay.rows(rate_post / (shape_post - 1.0) * k)
            out["rpr_mean"] = lay.rows(rev_stats["mean"])
            out["rpr_hdi_low"] = lay.rows(rev_stats["hdi_low"])
            out["rpr_hdi_high"] = lay.rows(rev_stats["hdi_high"])
        if self.metric == "conversion":
            stats = beta_decision_stats(a, b, lay.mask, lay.control, self.nodes_per_panel)
            stats["mean"] = a / (a + b)
            s_idx = np.arange(lay.shape[0])
            variant = lay.mask.copy()
            variant[s_idx, lay.control] = False
            ctrl_a = np.broadcast_to(a[s_idx, lay.control][:, None], a.shape)[variant]
            ctrl_b = np.broadcast_to(b[s_idx, lay.control][:, None], b.shape)[variant]
            lift = ratio_stats(
                ctrl_a, ctrl_b, a[variant], b[variant], prob=self.hdi, rope=self.rope
            )
            for key, vals in lift.items():
                stats[key] = np.full(lay.shape, np.nan)
                stats[key][variant] = vals
        else:
            stats = rev_stats
        self._finish(out, lay, stats)
        out.attrs = dict(table.attrs)
        out.attrs.update(metric=self.metric, model="conjugate", hdi=self.hdi)
        self.layout_ = lay
        self.result_ = out
        return self

    def _finish(self, out: pd.DataFrame, lay: Layout, stats: dict[str, np.ndarray]) -> None:
        with np.errstate(divide="ignore", invalid="ignore"):
            loss_rel = stats["expected_loss"] / stats["mean"]
        decision = decide(
            loss_rel,
            stats["prob_rope"],
            lay,
            loss_threshold=self.loss_threshold,
            rope_prob=self.rope_prob,
        )
        out["metric"] = self.metric
        out["prob_best"] = lay.rows(stats["prob_best"])
        out["prob_beat_control"] = lay.rows(stats["prob_beat_control"])
        out["expected_loss"] = lay.rows(stats["expected_loss"])
        out["expected_loss_rel"] = lay.rows(loss_rel)
        out["lift_mean"] = lay.rows(stats["lift_mean"])
        out["lift_low"] = lay.rows(stats["lift_low"])
        out["lift_high"] = lay.rows(stats["lift_high"])
        out["prob_rope"] = lay.rows(stats["prob_rope"])
        out["decision"] = lay.rows(decision).astype("str")


def analyze(table: pd.DataFrame, **params: object) -> pd.DataFrame:
    """Conjugate analysis in one call: ``ConjugateABTest(**params).fit(table).result_``."""
    return ConjugateABTest(**params).fit(table).result_  # type: ignore[arg-type]
