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
    Revenue per recipient ``p · v`` is summarised without sampling: ``log p`` and ``log v`` have
    closed-form densities, the density of their sum is tabulated on a grid per segment by FFT
    convolution, and the decision quantities are integrals over that grid
    (:func:`rpr_decision_stats`).

For the conversion metric every decision quantity except the lift interval is computed by
Gauss–Legendre quadrature, not sampling: with ``f_k, F_k`` the posterior density and CDF of arm
``k``, ``P(k best) = ∫ f_k Π_{j≠k} F_j``, ``P(k beats control) = ∫ f_k F_c`` and
``E[max_j p_j] = Σ_k ∫ x f_k Π_{j≠k} F_j``, so the expected loss of arm ``k`` is
``E[max_j p_j] − E[p_k]``. The HDI of a Beta posterior is found exactly (the shortest interval,
by safeguarded Newton steps on the quantile function). The relative lift vs control is
summarised by the ratio of posterior means and a central interval of the ratio distribution
(quadrature and Newton steps, see :func:`ratio_stats`), so the conversion analysis draws no
random numbers; neither does the revenue analysis.
Everything is vectorised over the segment × arm grid.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import pandas as pd
from scipy import special

from workbench.errors import WorkbenchError
from workbench.experiments._summary import add_decisions, add_interval, layout
from workbench.experiments.inputs import control_arm, sort_cells

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
    mean_c = _beta_moments(a_c, b_c)[0]
    mean_v = _beta_moments(a_v, b_v)[0]

    def cdf_pdf(r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _ratio_cdf_pdf(r, (a_c, b_c), (a_v, b_v), nodes_per_panel)

    mu, sd, skew = _log_ratio_moments(a_c, b_c, a_v, b_v)
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


def _ratio_cdf_pdf(
    r: np.ndarray,
    control: tuple[np.ndarray, np.ndarray],
    variant: tuple[np.ndarray, np.ndarray],
    nodes_per_panel: int,
) -> tuple[np.ndarray, np.ndarray]:
    """CDF ``G(r) = ∫ f_c(x) F_v(r x) dx`` and density ``g(r) = ∫ x f_c(x) f_v(r x) dx``.

    ``control`` and ``variant`` are the Beta parameters ``(a, b)``, shape (S, 1); ``r`` has
    shape (S,).
    """
    (a_c, b_c), (a_v, b_v) = control, variant
    mean_c, sd_c = _beta_moments(a_c, b_c)
    mean_v, sd_v = _beta_moments(a_v, b_v)
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


def _log_ratio_moments(
    a_c: np.ndarray, b_c: np.ndarray, a_v: np.ndarray, b_v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact mean, sd and (clipped) skewness of ``log p_v − log p_c``, shape (S,)."""
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
    return mu, sd, np.clip(k3 / sd**3, -2.0, 2.0)


# ------------------------------------------------------------------------ revenue per recipient


def _hermite_nodes(
    cdf: np.ndarray, pdf: np.ndarray, h: np.ndarray, i: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CDF values and slopes (per unit of ``s``) at both ends of the intervals ``i``."""
    c0, c1 = np.take_along_axis(cdf, i, -1), np.take_along_axis(cdf, i + 1, -1)
    d0, d1 = np.take_along_axis(pdf, i, -1) * h, np.take_along_axis(pdf, i + 1, -1) * h
    return c0, c1, d0, d1


def _hermite(
    nodes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cubic Hermite interpolant of a CDF inside an interval, and its ``s``-derivative.

    ``nodes`` are the values and slopes at the interval's ends (:func:`_hermite_nodes`) and
    ``s ∈ [0, 1]`` the position inside it.
    """
    c0, c1, d0, d1 = nodes
    s2, s3 = s * s, s * s * s
    val = (2 * s3 - 3 * s2 + 1) * c0 + (s3 - 2 * s2 + s) * d0 + (3 * s2 - 2 * s3) * c1
    val += (s3 - s2) * d1
    der = (6 * s2 - 6 * s) * (c0 - c1) + (3 * s2 - 4 * s + 1) * d0 + (3 * s2 - 2 * s) * d1
    return val, der


def _grid_cdf_at(
    cdf: np.ndarray, pdf: np.ndarray, x0: np.ndarray, h: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """CDF tabulated on uniform grids ``x0 + i h`` (rows), evaluated at ``x`` (rows × queries)."""
    n = cdf.shape[-1]
    pos = (x - x0) / h
    with np.errstate(invalid="ignore"):
        i = np.clip(np.floor(pos), 0, n - 2)
    i = np.nan_to_num(i, nan=0.0).astype(np.intp)
    s = np.clip(np.nan_to_num(pos - i, nan=0.0), 0.0, 1.0)
    val = _hermite(_hermite_nodes(cdf, pdf, h, i), s)[0]
    val = np.where(pos <= 0, 0.0, np.where(pos >= n - 1, 1.0, val))
    return np.clip(val, 0.0, 1.0)


def _grid_quantile(
    cdf: np.ndarray,
    pdf: np.ndarray,
    x0: np.ndarray,
    h: np.ndarray,
    q: np.ndarray,
    keys: np.ndarray | None = None,
) -> np.ndarray:
    """Quantiles ``q`` (rows × queries) of CDFs tabulated on uniform grids ``x0 + i h``.

    The interval is found by one ``searchsorted`` over all rows (``keys``: the CDFs offset by
    2 per row, as made by :func:`_search_keys`); the position inside it by Newton steps on the
    cubic Hermite interpolant.
    """
    m, n = cdf.shape
    if keys is None:
        keys = _search_keys(cdf)
    off = 2.0 * np.arange(m)[:, None]
    idx = np.searchsorted(keys, (q + off).ravel()).reshape(q.shape)
    i = np.clip(idx - n * np.arange(m)[:, None] - 1, 0, n - 2)
    nodes = _hermite_nodes(cdf, pdf, h, i)
    c0, c1 = nodes[:2]
    gap = c1 - c0
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.clip(np.where(gap > 0, (q - c0) / gap, 0.5), 0.0, 1.0)
        for _ in range(2):
            val, der = _hermite(nodes, s)
            step = np.where(der > 0, (val - q) / der, 0.0)
            s = np.clip(s - np.nan_to_num(step), 0.0, 1.0)
    return x0 + (i + s) * h


def _search_keys(cdf: np.ndarray) -> np.ndarray:
    """Rows of CDFs offset by 2 each and flattened: one sorted array for ``searchsorted``."""
    return (cdf + 2.0 * np.arange(len(cdf))[:, None]).ravel()


def _shortest_interval(
    cdf: np.ndarray, pdf: np.ndarray, x0: np.ndarray, h: np.ndarray, prob: float, steps: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Shortest interval of probability ``prob`` on the ``exp(x)`` scale, per row.

    Golden-section search over the lower tail mass ``t ∈ [0, 1 − prob]`` of the width
    ``exp(Q(t + prob)) − exp(Q(t))`` (unimodal for unimodal densities; the minimum may be at
    ``t = 0``, a density decreasing from zero).
    """
    keys = _search_keys(cdf)

    def width(t: np.ndarray) -> np.ndarray:
        q = _grid_quantile(cdf, pdf, x0, h, np.stack([t, t + prob], axis=1), keys)
        return np.exp(q[:, 1]) - np.exp(q[:, 0])

    inv = (np.sqrt(5.0) - 1.0) / 2.0
    lo, hi = np.zeros(len(cdf)), np.full(len(cdf), 1.0 - prob)
    c, d = hi - inv * (hi - lo), lo + inv * (hi - lo)
    fc, fd = width(c), width(d)
    for _ in range(steps):
        left = fc < fd  # the minimum lies in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        new = np.where(left, hi - inv * (hi - lo), lo + inv * (hi - lo))
        f_new = width(new)
        c, d, fc, fd = (
            np.where(left, new, d),
            np.where(left, c, new),
            np.where(left, f_new, fd),
            np.where(left, fc, f_new),
        )
    cands = np.stack([np.zeros_like(lo), (lo + hi) / 2], axis=1)
    widths = np.stack([width(cands[:, 0]), width(cands[:, 1])], axis=1)
    t = np.take_along_axis(cands, widths.argmin(axis=1)[:, None], 1)
    q = _grid_quantile(cdf, pdf, x0, h, np.concatenate([t, t + prob], axis=1), keys)
    return np.exp(q[:, 0]), np.exp(q[:, 1])


def _cumulative(g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """CDF from a density tabulated on a uniform grid (last axis), normalised to end at 1.

    Trapezoid partial sums with the Euler–Maclaurin end correction ``−h²/12 · g'`` (fourth
    order for smooth densities), kept monotone.
    """
    trap = h * (np.cumsum(g, axis=-1) - 0.5 * (g + g[..., :1]))
    slope = np.gradient(g, axis=-1) / h
    cdf = trap - h**2 / 12.0 * (slope - slope[..., :1])
    cdf = np.maximum.accumulate(np.clip(cdf, 0.0, None), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cdf = cdf / cdf[..., -1:]
    return np.clip(np.nan_to_num(cdf, nan=1.0), 0.0, 1.0)


def _log_rpr_moments(
    a: np.ndarray, b: np.ndarray, shape: np.ndarray, rate: np.ndarray, k: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Means and sds of ``log p`` (log-Beta) and ``log v`` (``v = k / λ``, ``λ`` Gamma)."""
    mu_u = special.digamma(a) - special.digamma(a + b)
    sd_u = np.sqrt(np.maximum(special.polygamma(1, a) - special.polygamma(1, a + b), 1e-300))
    mu_w = np.log(k) + np.log(rate) - special.digamma(shape)
    sd_w = np.sqrt(special.polygamma(1, shape))
    return mu_u, sd_u, mu_w, sd_w


def rpr_decision_stats(
    a: np.ndarray,
    b: np.ndarray,
    shape: np.ndarray,
    rate: np.ndarray,
    k: float,
    mask: np.ndarray,
    control: np.ndarray,
    *,
    prob: float = 0.9,
    rope: float = 0.01,
    tail_sd: float = 9.0,
    resolution: float = 2.0,
    min_points: int = 64,
    max_points: int = 1 << 15,
    chunk_points: int = 1 << 21,
) -> dict[str, np.ndarray]:
    """Decision quantities of revenue per recipient ``r = p · v`` without sampling.

    ``p ~ Beta(a, b)`` is the purchase probability and ``v = k / λ``, ``λ ~ Gamma(shape, rate)``,
    the mean order value. ``log r = log p + log v`` is a sum of independent variables with
    closed-form densities (log-Beta and log-inverse-Gamma), so the density of ``log r`` is their
    convolution. Each segment gets one uniform grid on the ``log r`` scale covering
    ``± tail_sd`` standard deviations of all its arms, with a step of at most ``1 / resolution``
    of the smallest standard deviation of any component (trapezoid sums of smooth bell-shaped
    integrands then converge spectrally). The densities of every cell are convolved at once
    with real FFTs; the CDFs follow by fourth-order cumulative integration. Then, with ``g_k``,
    ``G_k`` the density and CDF of arm ``k`` on the grid:

    * ``P(k best) = ∫ g_k Π_{j≠k} G_j``, ``P(k beats control) = ∫ g_k G_c``;
    * expected loss ``E[max_j r_j − r_k] = ∫ (G_k − Π_j G_j) dr``;
    * the HDI is the shortest interval on the ``r`` scale (a search over its lower tail mass,
      quantiles by Hermite interpolation of the CDF);
    * the log-lift ``log r_v − log r_c`` has the cross-correlation of the two densities as its
      density (a second FFT), which gives the central lift interval and ``P(|lift| ≤ rope)``;
    * ``mean`` and ``lift_mean`` are exact: ``E[p] E[v]`` and the ratio of means minus one.

    Segments are grouped by grid size (``2^j`` or ``3 · 2^j`` points), so the work is vectorised
    over cells.

    Parameters
    ----------
    a, b : ndarray, shape (S, K)
        Beta posterior of the purchase probability of each cell.
    shape, rate : ndarray, shape (S, K)
        Gamma posterior of the order-value rate ``λ`` of each cell (``shape > 1``).
    k : float
        Shape of the order-value Gamma (``v = k / λ``).
    mask : ndarray of bool, shape (S, K)
        Which cells hold an arm.
    control : ndarray of int, shape (S,)
        Position of the control arm of each segment.
    prob : float, default 0.9
        Probability of the HDI and of the central lift interval.
    rope : float, default 0.01
        Half-width of the region of practical equivalence on the relative lift.
    tail_sd : float, default 9.0
        Half-width of the grids, in standard deviations of ``log r`` (and of each component).
    resolution : float, default 2.0
        Grid points per standard deviation of the narrowest component in the segment (four
        times more in segments where an arm has ``b < 3``: nearly everyone converted).
    min_points, max_points : int
        Bounds of the grid size per segment (``2^j`` or ``3 · 2^j`` in between).
    chunk_points : int, default 2**21
        Cells × grid points handled at once (bounds the memory).

    Returns
    -------
    dict of str to ndarray, shape (S, K)
        ``mean, hdi_low, hdi_high, prob_best, prob_beat_control, expected_loss, lift_mean,
        lift_low, lift_high, prob_rope`` (the control's lift columns and ``prob_beat_control``
        are NaN, as are padded cells).
    """
    a = np.where(mask, a, 1.0)
    b = np.where(mask, b, 1.0)
    shape = np.where(mask, shape, 2.0)
    rate = np.where(mask, rate, 1.0)
    n_seg, n_arms = a.shape
    moments = _log_rpr_moments(a, b, shape, rate, k)
    lo, hi, need = _rpr_extent(moments, b, mask, tail_sd=tail_sd, resolution=resolution)
    sizes = np.clip(_fft_size(need), min_points, max_points).astype(np.int64)
    keys = (
        "hdi_low", "hdi_high", "prob_best", "prob_beat_control", "expected_loss",
        "lift_low", "lift_high", "prob_rope",
    )  # fmt: skip
    out = {key: np.full((n_seg, n_arms), np.nan) for key in keys}
    for n in np.unique(sizes):
        rows = np.flatnonzero(sizes == n)
        step = max(1, chunk_points // (n * n_arms))
        for start in range(0, len(rows), step):  # chunks of many segments: bounded memory
            sel = rows[start : start + step]
            part = _rpr_block(
                int(n),
                (lo[sel], hi[sel]),
                tuple(x[sel] for x in (a, b, shape, rate)),
                k,
                tuple(x[sel] for x in moments),
                mask[sel],
                control[sel],
                prob=prob,
                rope=rope,
                tail_sd=tail_sd,
            )
            for key in keys:
                out[key][sel] = part[key]
    s_idx = np.arange(n_seg)
    out["mean"] = a / (a + b) * k * rate / (shape - 1.0)
    mean_c = out["mean"][s_idx, control][:, None]
    out["lift_mean"] = out["mean"] / mean_c - 1.0
    for key in ("prob_beat_control", "lift_mean", "lift_low", "lift_high", "prob_rope"):
        out[key][s_idx, control] = np.nan
    nan = np.where(mask, 1.0, np.nan)
    return {key: val * nan for key, val in out.items()}


def _fft_size(need: np.ndarray) -> np.ndarray:
    """Smallest ``2^j`` or ``3 · 2^j`` at least ``need`` (few distinct sizes, fast FFTs)."""
    p = 2.0 ** np.floor(np.log2(np.maximum(need, 2.0)))
    return np.where(need <= p, p, np.where(need <= 1.5 * p, 1.5 * p, 2 * p))


def _rpr_extent(
    moments: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    b: np.ndarray,
    mask: np.ndarray,
    *,
    tail_sd: float,
    resolution: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ends of each segment's ``log r`` grid and the grid points it needs.

    Returns
    -------
    lo, hi : ndarray, shape (S,)
        ``± tail_sd`` standard deviations around every arm of the segment.
    need : ndarray, shape (S,)
        Points for a step of ``1 / resolution`` of the narrowest component's sd (four times
        finer where an arm has ``b < 3``).
    """
    mu_u, sd_u, mu_w, sd_w = moments
    mu, sd = mu_u + mu_w, np.hypot(sd_u, sd_w)
    lo = np.where(mask, mu - tail_sd * sd, np.inf).min(axis=1)
    hi = np.where(mask, mu + tail_sd * sd, -np.inf).max(axis=1)
    smin = np.where(mask, np.minimum(sd_u, sd_w), np.inf).min(axis=1)
    # log p's density is not smooth at p = 1 when b < 3 (it jumps when b = 1): finer grids there
    rough = (mask & (b < 3.0)).any(axis=1)
    return lo, hi, np.ceil((hi - lo) * resolution * np.where(rough, 4.0, 1.0) / smin) + 2


def _rpr_block(
    n: int,
    ends: tuple[np.ndarray, np.ndarray],
    cells: tuple[np.ndarray, ...],
    k: float,
    moments: tuple[np.ndarray, ...],
    mask: np.ndarray,
    control: np.ndarray,
    *,
    prob: float,
    rope: float,
    tail_sd: float,
) -> dict[str, np.ndarray]:
    """:func:`rpr_decision_stats` for segments sharing the grid size ``n``.

    ``ends`` are the grid ends ``(lo, hi)`` per segment, ``cells`` the posterior parameters
    ``(a, b, shape, rate)`` and ``moments`` those of :func:`_log_rpr_moments`.
    """
    lo, hi = ends
    a = cells[0]
    n_seg, n_arms = a.shape
    s_idx = np.arange(n_seg)
    h = ((hi - lo) / (n - 1))[:, None]  # (S, 1)
    h3 = h[..., None]  # (S, 1, 1)
    j = np.arange(n)
    g = _log_rpr_density(n, lo, h, cells, k, moments, mask, tail_sd)
    cdf = np.where(mask[..., None], _cumulative(g, h3), 1.0)  # absent arms never win
    ell = lo[:, None] + j * h  # (S, N): log r
    out: dict[str, np.ndarray] = {}
    others = np.stack([np.prod(np.delete(cdf, kk, axis=1), axis=1) for kk in range(n_arms)], axis=1)
    prob_best = (g * others).sum(axis=-1)
    out["prob_best"] = prob_best / prob_best.sum(axis=1, keepdims=True)  # Σ ∫ g_k Π G_j = 1
    out["prob_beat_control"] = (g * cdf[s_idx, control][:, None, :]).sum(axis=-1) * h
    all_cdf = np.prod(cdf, axis=1, keepdims=True)
    out["expected_loss"] = ((cdf - all_cdf) * np.exp(ell)[:, None, :]).sum(axis=-1) * h
    # shortest interval on the r scale
    x0 = np.repeat(lo, n_arms)[:, None]
    hh = np.repeat(h[:, 0], n_arms)[:, None]
    low, high = _shortest_interval(cdf.reshape(-1, n), g.reshape(-1, n), x0, hh, prob)
    out["hdi_low"], out["hdi_high"] = low.reshape(n_seg, n_arms), high.reshape(n_seg, n_arms)
    out.update(_log_lift_stats(g, control, h, prob=prob, rope=rope))
    return out


def _log_rpr_density(
    n: int,
    lo: np.ndarray,
    h: np.ndarray,
    cells: tuple[np.ndarray, ...],
    k: float,
    moments: tuple[np.ndarray, ...],
    mask: np.ndarray,
    tail_sd: float,
) -> np.ndarray:
    """Density of ``log r = log p + log v`` of every cell on its segment's grid ``lo + i h``.

    The densities of ``log p`` and ``log v`` are tabulated on grids of the same step and
    convolved by FFT.

    Returns
    -------
    ndarray, shape (S, K, n)
        Normalised to integrate to 1 (0 in padded cells).
    """
    a, b, shape, rate = cells
    mu_u, sd_u, mu_w, sd_w = moments
    h3 = h[..., None]  # (S, 1, 1)
    j = np.arange(n)
    # log p on its own grid u0 + j h; log v on w0 + j h with u0 + w0 = lo + shift · h
    # log p's grid holds 0 (its density jumps there when b = 1; the trapezoid rule stays
    # second order with the mean of both one-sided limits at the jump)
    u0 = np.floor((mu_u - tail_sd * sd_u) / h) * h
    shift = np.floor((u0 + mu_w - tail_sd * sd_w - lo[:, None]) / h)
    w0 = lo[:, None] + shift * h - u0
    ju = np.rint(u0 / h)[..., None] + j  # u = ju · h exactly on the multiples of h
    u = ju * h3
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_fu = (
            a[..., None] * u
            + (b[..., None] - 1.0) * np.log1p(-np.exp(np.minimum(u, 0.0)))
            - special.betaln(a, b)[..., None]
        )
        at_one = np.where(b == 1.0, 0.5 * a, 0.0)[..., None]  # ½ f(0⁻) at p = 1
        f_u = np.where(ju < 0, np.exp(log_fu), np.where(ju == 0, at_one, 0.0))
        # log λ = log k − w; with z = log λ + log rate − log shape:
        # log f = shape (z − e^z) + shape log shape − lgamma(shape)
        z = np.log(k) - (w0[..., None] + j * h3) + np.log(rate / shape)[..., None]
        const = shape * np.log(shape) - special.gammaln(shape)
        f_w = np.exp(shape[..., None] * (z - np.exp(z)) + const[..., None])
    f_u, f_w = np.nan_to_num(f_u), np.nan_to_num(f_w)
    m = 2 * n
    conv = np.fft.irfft(np.fft.rfft(f_u, m) * np.fft.rfft(f_w, m), m) * h3
    idx = j - shift[..., None].astype(np.int64)  # segment grid index i ↔ convolution index
    ok = (idx >= 0) & (idx < m) & mask[..., None]
    g = np.where(ok, np.take_along_axis(conv, np.clip(idx, 0, m - 1), -1), 0.0)
    g = np.maximum(g, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.nan_to_num(g / (g.sum(axis=-1, keepdims=True) * h3))


def _log_lift_stats(
    g: np.ndarray, control: np.ndarray, h: np.ndarray, *, prob: float, rope: float
) -> dict[str, np.ndarray]:
    """Central interval of the lift and ``P(|lift| ≤ rope)`` from densities of ``log r``.

    The log-lift ``log r_v − log r_c`` has the cross-correlation of the two densities as its
    density (an FFT).

    Parameters
    ----------
    g : ndarray, shape (S, K, n)
        Densities of ``log r`` on each segment's grid of step ``h`` (shape (S, 1)).
    control : ndarray of int, shape (S,)

    Returns
    -------
    dict of str to ndarray, shape (S, K)
        ``lift_low, lift_high, prob_rope``.
    """
    n_seg, n_arms, n = g.shape
    s_idx = np.arange(n_seg)
    m = 2 * n
    h3 = h[..., None]
    hh = np.repeat(h[:, 0], n_arms)[:, None]
    out: dict[str, np.ndarray] = {}
    spec = np.fft.rfft(g, m)
    corr = np.fft.irfft(spec * np.conj(spec[s_idx, control][:, None, :]), m) * h3
    d = np.maximum(np.roll(corr, n - 1, axis=-1), 0.0)  # index i ↔ log-lift (i − n + 1) h
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.nan_to_num(d / (d.sum(axis=-1, keepdims=True) * h3))
    d_cdf = _cumulative(d, h3)
    flat_d, flat_dc = d.reshape(-1, m), d_cdf.reshape(-1, m)
    y0 = -(n - 1) * hh
    qs = np.broadcast_to(np.array([(1 - prob) / 2, (1 + prob) / 2]), (len(flat_d), 2))
    q_lift = _grid_quantile(flat_dc, flat_d, y0, hh, qs)
    out["lift_low"] = np.expm1(q_lift[:, 0]).reshape(n_seg, n_arms)
    out["lift_high"] = np.expm1(q_lift[:, 1]).reshape(n_seg, n_arms)
    with np.errstate(divide="ignore"):
        ends = np.log1p(np.array([-min(rope, 1.0), rope]))
    at = _grid_cdf_at(flat_dc, flat_d, y0, hh, np.broadcast_to(ends, (len(flat_d), 2)))
    out["prob_rope"] = np.clip(at[:, 1] - at[:, 0], 0.0, 1.0).reshape(n_seg, n_arms)
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
        Unused, kept for API stability: the revenue metric used to be summarised from this many
        draws per cell; it is now computed without sampling (:func:`rpr_decision_stats`).
    nodes_per_panel : int, default 12
        Gauss–Legendre nodes per quadrature panel (see :func:`panel_nodes`).
    order_value_shape : float, optional
        Shape ``k`` of the order-value Gamma (default: estimated, see the module docstring).
    seed : int, default 0
        Unused, kept for API stability: both metrics are computed without random draws, so the
        results are deterministic whatever the seed.

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

    def fit(self, table: pd.DataFrame, control: str | None = None) -> ConjugateABTest:
        """Analyse a results table (see :mod:`workbench.experiments.inputs`).

        Parameters
        ----------
        table : DataFrame
            Results table.
        control : str, optional
            The control arm (default: the one the results table names, see
            :func:`~workbench.experiments.inputs.control_arm`).

        Returns
        -------
        self
        """
        self._check(table)
        self.control_ = control_arm(table, control)
        table = sort_cells(table)
        lay = layout(table, self.control_)
        a0, b0 = self.prior
        a_rows = a0 + table["conversions"].to_numpy(float)
        b_rows = b0 + (table["n"] - table["conversions"]).to_numpy(float)
        a, b = lay.grid(a_rows, 1.0), lay.grid(b_rows, 1.0)
        out = table.copy()
        out["rate_mean"] = a_rows / (a_rows + b_rows)
        out["rate_hdi_low"], out["rate_hdi_high"] = beta_hdi(a_rows, b_rows, self.hdi)
        if "revenue" in table.columns:
            k = self.order_value_shape or order_value_shape_estimate(table)
            self.order_value_shape_ = k
            conv_total = table["conversions"].sum()
            m0 = table["revenue"].sum() / conv_total if conv_total > 0 else 1.0
            shape_post = lay.grid(1.0 + k * (1.0 + table["conversions"].to_numpy(float)), 2.0)
            rate_post = lay.grid(m0 + table["revenue"].to_numpy(float), 1.0)
            rev_stats = rpr_decision_stats(
                a, b, shape_post, rate_post, k, lay.mask, lay.control, prob=self.hdi, rope=self.rope
            )
            out["order_value_mean"] = lay.rows(rate_post / (shape_post - 1.0) * k)
            add_interval(out, "rpr", lay, rev_stats)
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
        add_decisions(
            out, lay, stats, metric=self.metric, loss_threshold=self.loss_threshold,
            rope_prob=self.rope_prob,
        )  # fmt: skip
        out.attrs = dict(table.attrs)
        out.attrs.update(control=self.control_, metric=self.metric, model="conjugate", hdi=self.hdi)
        self.layout_ = lay
        self.result_ = out
        return self


def analyze(table: pd.DataFrame, **params: object) -> pd.DataFrame:
    """Conjugate analysis in one call: ``ConjugateABTest(**params).fit(table).result_``."""
    return ConjugateABTest(**params).fit(table).result_  # type: ignore[arg-type]
