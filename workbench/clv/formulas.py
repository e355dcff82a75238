"""Buy-till-you-die models in closed form: log-likelihoods, P(alive), expected purchases, spend.

The numerical core of :mod:`workbench.clv`, numpy and scipy only. Data per customer, from the
papers: ``x`` repeat purchases, ``t_x`` the time of the last one and ``T`` the customer's age,
both counted from the first purchase (so ``t_x = 0`` when ``x = 0``); ``mbar`` the mean value of
the repeat purchases.

Models (:data:`MODELS`, parameters in :data:`PARAM_NAMES`):

``bgnbd``
    BG/NBD, Fader, Hardie & Lee (2005), "Counting your customers the easy way". Purchases are
    Poisson(lambda) while alive, lambda ~ Gamma(r, alpha); after each repeat purchase the
    customer drops out with probability p, p ~ Beta(a, b).
``paretonbd``
    Pareto/NBD, Schmittlein, Morrison & Colombo (1987). Poisson(lambda) purchases until an
    exponential(mu) lifetime ends, mu ~ Gamma(s, beta). Likelihood as in Fader & Hardie (2005),
    "A note on deriving the Pareto/NBD model and related expressions".
``mbgnbd``
    MBG/NBD, Batislam, Denizel & Filiztekin (2007): the BG/NBD where the customer may also drop
    out right after the first purchase, so a customer without repeat purchases may be dead.
``gammagamma``
    Gamma-Gamma spend, Fader, Hardie & Lee (2005), "RFM and CLV" and Fader & Hardie (2013),
    "The Gamma-Gamma model of monetary value": transaction values ~ Gamma(p, nu) per customer,
    nu ~ Gamma(q, gamma); fitted on customers with repeat purchases only.

Broadcasting: every parameter may be a scalar or an array of shape ``(d, 1)`` (``d`` posterior
draws); ``x, t_x, T, t, n, mbar`` are scalars or arrays of shape ``(n,)``. Results broadcast to
``(d, n)`` or ``(n,)``. Everything is computed in logs, so hundreds of purchases and ages of
hundreds of periods do not overflow.

Numerics worth knowing:

* The Gaussian hypergeometric terms are evaluated after an Euler transformation chosen so that
  their parameters stay small (BG/NBD, MBG/NBD: ``2F1(a+b'-1-r', a-1; a+b'-1; z)``, which does
  not grow with ``x``) or so that the series converges at ``z = 1`` (Pareto/NBD, both branches
  of the alpha >= beta / alpha < beta split).
* The BG/NBD expectation has removable singularities at ``a = 1`` and ``a + b' = 1``; within
  1e-5 of them the value is interpolated linearly between the two sides (error ~1e-10).
* :func:`prob_purchases` of the Pareto/NBD integrates over the time of death with composite
  Gauss-Legendre quadrature on dyadic panels (relative error ~1e-12); the other models use
  their closed forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special as sc

from workbench.errors import DataError

__all__ = [
    "MODELS",
    "PARAM_NAMES",
    "expected_purchases",
    "expected_purchases_new",
    "gg_expected_spend",
    "gg_loglik",
    "loglik",
    "p_alive",
    "prob_purchases",
]

#: The purchase-count models.
MODELS: tuple[str, ...] = ("bgnbd", "paretonbd", "mbgnbd")

#: Parameter names of every model, in the papers' order.
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "gammagamma": ("p", "q", "gamma"),
}

Array = NDArray[np.float64]

#: Half-width of the interpolation around the removable singularities of the BG/NBD expectation.
_SINGULAR_H = 1e-5
#: Gauss-Legendre rule of each quadrature panel (Pareto/NBD purchase probabilities).
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(32)
_SOURCE = "customer summary"


# --------------------------------------------------------------------------------- checks
def _model(model: str) -> str:
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: known models are {', '.join(MODELS)}")
    return model


def _params(key: str, params: Mapping[str, ArrayLike]) -> tuple[Array, ...]:
    """The parameters of ``key`` as float arrays, in :data:`PARAM_NAMES` order."""
    names = PARAM_NAMES[key]
    if not isinstance(params, Mapping):
        raise ValueError(f"params must be a mapping with keys {', '.join(names)}")
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"{key} needs parameters {', '.join(names)}; missing {', '.join(missing)}")
    out = []
    for name in names:
        v = np.asarray(params[name], dtype=float)
        if not np.all(np.isfinite(v)) or np.any(v <= 0):
            raise ValueError(f"{key} parameter {name} must be positive and finite")
        out.append(v)
    return tuple(out)


def _bad(mask: NDArray[np.bool_]) -> tuple[int, list[int]]:
    flat = np.flatnonzero(np.reshape(mask, -1))
    return len(flat), flat[:5].tolist()


def _count_data(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[Array, Array, Array]:
    """``x, t_x, T`` as float arrays, checked against the data contract of the models.

    Raises
    ------
    DataError
        Missing or infinite values, ``x`` not a whole number >= 0, ``T < 0``, ``t_x`` outside
        ``[0, T]``, or ``t_x != 0`` where ``x = 0``.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    try:
        np.broadcast_shapes(x.shape, t_x.shape, T.shape)
    except ValueError as e:
        raise ValueError(f"x, t_x and T do not broadcast: {x.shape}, {t_x.shape}, {T.shape}") from e
    for name, v in (("x", x), ("t_x", t_x), ("T", T)):
        if not np.all(np.isfinite(v)):
            raise DataError(_SOURCE, name, "missing or infinite values", *_bad(~np.isfinite(v)))
    bad = (x < 0) | (x != np.round(x))
    if bad.any():
        raise DataError(
            _SOURCE, "x", "repeat purchases that are not whole numbers >= 0", *_bad(bad)
        )
    if (T < 0).any():
        raise DataError(_SOURCE, "T", "negative ages", *_bad(T < 0))
    slack = 1e-9 * np.maximum(T, 1.0)
    bad = (t_x < 0) | (t_x > T + slack)
    if bad.any():
        raise DataError(_SOURCE, "t_x", "last purchase outside [0, T]", *_bad(bad))
    bad = (x == 0) & (t_x != 0)
    if bad.any():
        raise DataError(
            _SOURCE, "t_x", "t_x must be 0 for customers without repeat purchases", *_bad(bad)
        )
    return x, np.minimum(t_x, T), T


def _nonneg(name: str, v: ArrayLike, *, whole: bool = False) -> Array:
    a = np.asarray(v, dtype=float)
    bad = ~np.isfinite(a) | (a < 0)
    if whole:
        bad |= a != np.round(np.where(np.isfinite(a), a, 0.0))
    if bad.any():
        what = "whole numbers >= 0" if whole else "finite values >= 0"
        raise DataError(_SOURCE, name, f"values that are not {what}", *_bad(bad))
    return a


# --------------------------------------------------------------------------------- helpers
def _wsum(w: Array, v: Array) -> float:
    """``sum(w * v)`` without BLAS (whose threads only cost time on vectors this short)."""
    return float(np.add.reduce(w * v))


def _log1mexp(d: Array) -> Array:
    """``log(1 - exp(d))`` for ``d <= 0`` (``-inf`` at 0), accurate on both sides of -log 2."""
    d = np.minimum(d, 0.0)
    with np.errstate(divide="ignore"):
        return np.where(d > -np.log(2.0), np.log(-np.expm1(d)), np.log1p(-np.exp(d)))


def _expm1_ratio(k: Array, L: Array) -> Array:
    """``(1 - exp(-k L)) / k``, continuous at ``k = 0`` (where it is ``L``)."""
    small = np.abs(k) < 1e-8
    ks = np.where(small, 1.0, k)
    return np.where(small, L * (1.0 - 0.5 * k * L), -np.expm1(-ks * L) / ks)


def _near(
    f: Callable[[Array], Array], v: Array, v0: Array | float, h: float = _SINGULAR_H
) -> Array:
    """``f(v)``, linearly interpolated between ``f(v0 - h)`` and ``f(v0 + h)`` where
    ``|v - v0| < h`` (a removable singularity of the closed form at ``v0``)."""
    v = np.asarray(v, dtype=float)
    near = np.abs(v - v0) < h
    if not near.any():
        return f(v)
    lo = f(np.where(near, v0 - h, v))
    hi = f(np.where(near, v0 + h, v))
    w = (v - (v0 - h)) / (2 * h)
    return np.where(near, (1 - w) * lo + w * hi, lo)


def _bg_future(rp: Array, ap: Array, a: Array, bp: Array, t: Array) -> Array:
    """``E[(1 - exp(-lambda p t)) / p]`` for lambda ~ Gamma(rp, ap), p ~ Beta(a, bp).

    The expected purchases in the next ``t`` of a BG-type customer who is alive now: the closed
    form of Fader, Hardie & Lee (2005), eq. (10),
    ``(a+b'-1)/(a-1) [1 - (ap/(ap+t))^r' 2F1(r', b'; a+b'-1; z)]``, z = t/(ap+t), written with
    Euler's transformation as ``(a+b'-1)/(a-1) [1 - (1-z)^(a-1) 2F1(a+b'-1-r', a-1; a+b'-1; z)]``
    (parameters that do not grow with the number of purchases).
    """

    def in_b(bb: Array, aa: Array) -> Array:
        c = aa + bb - 1.0
        z = t / (ap + t)
        log1mz = np.log(ap) - np.log(ap + t)
        F = sc.hyp2f1(c - rp, aa - 1.0, c, z)
        return c / (aa - 1.0) * (1.0 - np.exp((aa - 1.0) * log1mz) * F)

    def in_a(aa: Array) -> Array:
        return _near(lambda bb: in_b(bb, aa), bp, 1.0 - aa)

    with np.errstate(invalid="ignore", over="ignore"):
        out = _near(in_a, a, 1.0)
    bad = ~np.isfinite(out)
    if bad.any():
        # a and b' so large that the 2F1 overflows (a fit at the boundary where every customer
        # shares one dropout probability): p ~ Beta(a, b') is then a point mass at its mean,
        # and E[(1 - exp(-lambda p t)) / p] = (1 - (ap / (ap + p t))^r') / p, exactly in the
        # limit (the neglected term is of the order of Var(p), below 1e-6 where this is used).
        pm = a / (a + bp)
        limit = -np.expm1(-rp * np.log1p(pm * t / ap)) / pm
        out = np.where(bad, limit, out)
    return out


# --------------------------------------------------------------------------------- BG / MBG
def _per_x(fn: Callable[..., tuple[Array, ...]], x: Array, *params: Array) -> tuple[Array, ...]:
    """``fn(*params, x)``, evaluated once per distinct value of a 1-D ``x`` and gathered back.

    The special functions of the count models depend on the customer only through ``x``, which
    takes few distinct values; this spares most of their cost on large data.
    """
    if x.ndim == 1 and x.size > 64 and all(np.ndim(v) == 0 or np.shape(v)[-1] == 1 for v in params):
        xu, inv = np.unique(x, return_inverse=True)
        if 2 * xu.size < x.size:
            return tuple(np.take(v, inv, axis=-1) for v in fn(*params, xu))
    return fn(*params, x)


def _bg_x_parts(
    r: Array, alpha: Array, a: Array, b: Array, x: Array, modified: bool
) -> tuple[Array, Array, Array]:
    """The parts of the (M)BG/NBD log-likelihood that depend on the customer only through x."""
    sh = 1.0 if modified else 0.0  # the MBG has b + x + 1 where the BG has b + x
    C = sc.gammaln(r + x) - sc.gammaln(r) + r * np.log(alpha) - sc.betaln(a, b)
    B1 = sc.betaln(a, b + x + sh)
    dead = np.ones(np.shape(x), dtype=bool) if modified else x > 0  # BG: dead needs x > 0
    B2 = np.where(dead, sc.betaln(a + 1, np.where(dead, b + x - 1 + sh, 1.0)), -np.inf)
    return C, B1, B2


def _bg_terms(
    r: Array, alpha: Array, a: Array, b: Array, x: Array, t_x: Array, T: Array, modified: bool
) -> tuple[Array, Array, Array]:
    """``(C, A1, A2)`` with ``loglik = C + logaddexp(A1, A2)``: A1 alive at T, A2 dead at t_x.

    BG/NBD (Fader, Hardie & Lee 2005, eq. 6):
    ``L = B(a, b+x)/B(a, b) G(r+x) a^r/(G(r) (alpha+T)^(r+x))
    + [x > 0] B(a+1, b+x-1)/B(a, b) G(r+x) alpha^r/(G(r) (alpha+t_x)^(r+x))``;
    MBG/NBD (Batislam et al. 2007): ``B(a, b+x+1)`` and ``B(a+1, b+x)``, the second term for
    every x.
    """
    C, B1, B2 = _per_x(
        lambda r_, al_, a_, b_, x_: _bg_x_parts(r_, al_, a_, b_, x_, modified), x, r, alpha, a, b
    )
    A1 = B1 - (r + x) * np.log(alpha + T)
    A2 = B2 - (r + x) * np.log(alpha + t_x)
    return C, A1, A2


def _bg_x_grad_parts(
    r: Array, alpha: Array, a: Array, b: Array, x: Array, modified: bool
) -> tuple[Array, ...]:
    sh = 1.0 if modified else 0.0
    dg = sc.digamma
    ab = dg(a + b + x + sh)
    dead_b = b + x - 1 + sh
    dead_b = np.where(dead_b > 0, dead_b, 1.0)  # only used where the dead term exists
    return (
        dg(r + x) - dg(r) + np.log(alpha),  # dC/dr
        dg(a) - ab,  # dB1/da
        dg(b + x + sh) - ab,  # dB1/db
        dg(a + 1) - ab,  # dB2/da
        dg(dead_b) - ab,  # dB2/db
    )


def _bg_loglik_grad(
    theta: Array,
    x: Array,
    t_x: Array,
    T: Array,
    w: Array,
    modified: bool,
    x_index: tuple[Array, NDArray[np.intp]] | None = None,
) -> tuple[float, Array]:
    """Weighted total log-likelihood of the (M)BG/NBD and its gradient in log-parameters.

    ``x_index``: the distinct values of ``x`` and the index of each row into them (computed
    when not given).
    """
    r, alpha, a, b = np.exp(theta)
    xu, inv = np.unique(x, return_inverse=True) if x_index is None else x_index
    C, B1, B2 = (v[inv] for v in _bg_x_parts(r, alpha, a, b, xu, modified))
    dC_r, dB1_a, dB1_b, dB2_a, dB2_b = (
        v[inv] for v in _bg_x_grad_parts(r, alpha, a, b, xu, modified)
    )
    lT, lt = np.log(alpha + T), np.log(alpha + t_x)
    A1 = B1 - (r + x) * lT
    A2 = B2 - (r + x) * lt
    L = np.logaddexp(A1, A2)
    ll = float(_wsum(w, C + L))
    w1 = np.exp(A1 - L)
    w2 = 1.0 - w1
    dg = sc.digamma
    W = float(w.sum())
    g_r = _wsum(w, dC_r - w1 * lT - w2 * lt)
    g_alpha = W * r / alpha - _wsum(w, (r + x) * (w1 / (alpha + T) + w2 / (alpha + t_x)))
    g_a = -W * (dg(a) - dg(a + b)) + _wsum(w, w1 * dB1_a + w2 * dB2_a)
    g_b = -W * (dg(b) - dg(a + b)) + _wsum(w, w1 * dB1_b + w2 * dB2_b)
    grad = np.array([g_r, g_alpha, g_a, g_b]) * np.exp(theta)
    return ll, grad


def _bg_pmf(
    r: Array, alpha: Array, a: Array, b: Array, n: Array, t: Array, modified: bool
) -> Array:
    z = t / (alpha + t)
    lnb = (
        sc.gammaln(r + n)
        - sc.gammaln(r)
        - sc.gammaln(n + 1)
        + r * (np.log(alpha) - np.log(alpha + t))
        + sc.xlogy(n, z)
    )
    sh = 1.0 if modified else 0.0
    rep = n > 0
    with np.errstate(divide="ignore"):
        tail = np.where(rep, np.log(sc.betainc(np.where(rep, n, 1.0), r, z)), 0.0)
    first = sc.betaln(a, b + n + sh) - sc.betaln(a, b) + lnb
    b_dead = b + n - 1 + sh  # BG: b+n-1 (n > 0 only); MBG: b+n
    b_dead = np.where(b_dead > 0, b_dead, 1.0)
    second = sc.betaln(a + 1, b_dead) - sc.betaln(a, b) + tail
    if not modified:
        second = np.where(rep, second, -np.inf)
    return np.exp(np.logaddexp(first, second))


# --------------------------------------------------------------------------------- Pareto/NBD
def _pnbd_log_G(r: Array, alpha: Array, s: Array, beta: Array, x: Array, u: Array) -> Array:
    """``log G(u)``, ``G(u) = int_u^inf (alpha+y)^-(r+x) (beta+y)^-(s+1) dy``.

    ``s (G(t_x) - G(T))`` is the "died between t_x and T" part of the Pareto/NBD likelihood
    (``s/(r+s+x) A_0`` in Fader & Hardie's note). With ``rs = r+s+x``:

    * alpha >= beta: ``G = 2F1(rs, s+1; rs+1; (alpha-beta)/(alpha+u)) / (rs (alpha+u)^rs)``,
      evaluated after Euler's transformation as
      ``(alpha+u)^-(r+x) (beta+u)^-s 2F1(1, r+x; rs+1; z) / rs`` (c-a-b = s > 0, finite at 1);
    * alpha < beta: ``G = 2F1(rs, r+x; rs+1; (beta-alpha)/(beta+u)) / (rs (beta+u)^rs)``,
      evaluated as it stands when r+x <= 1 (c-a-b = 1-r-x >= 0) and otherwise as
      ``(alpha+u)^-(r+x-1) (beta+u)^-(s+1) 2F1(1, s+1; rs+1; z) / rs`` (c-a-b = r+x-1 > 0).
    """
    rx = r + x
    shape = np.broadcast_shapes(*(np.shape(v) for v in (rx, alpha, s, beta, u)))
    R, A, S, B, U = (
        np.broadcast_to(np.asarray(v, dtype=float), shape) for v in (rx, alpha, s, beta, u)
    )
    ge = A >= B
    big = R > 1

    def branch(m: NDArray[np.bool_] | None) -> tuple[Array, ...]:
        if m is None:
            return R, A, S, B, U
        return R[m], A[m], S[m], B[m], U[m]

    def g1(R: Array, A: Array, S: Array, B: Array, U: Array) -> Array:
        z = (A - B) / (A + U)
        return -R * np.log(A + U) - S * np.log(B + U) + np.log(sc.hyp2f1(1.0, R, R + S + 1, z))

    def g2(R: Array, A: Array, S: Array, B: Array, U: Array) -> Array:
        z = (B - A) / (B + U)
        return (
            -(S + 1) * np.log(B + U)
            - (R - 1) * np.log(A + U)
            + np.log(sc.hyp2f1(1.0, S + 1, R + S + 1, z))
        )

    def g3(R: Array, A: Array, S: Array, B: Array, U: Array) -> Array:
        z = (B - A) / (B + U)
        return -(R + S) * np.log(B + U) + np.log(sc.hyp2f1(R + S, R, R + S + 1, z))

    cases = ((ge, g1), (~ge & big, g2), (~ge & ~big, g3))
    out = None
    for m, g in cases:
        if m.all():
            out = g(*branch(None))
            break
    if out is None:
        out = np.empty(shape)
        for m, g in cases:
            if m.any():
                out[m] = g(*branch(m))
    return out - np.log(R + S)


def _pnbd_terms(
    r: Array, alpha: Array, s: Array, beta: Array, x: Array, t_x: Array, T: Array
) -> tuple[Array, Array, Array]:
    """``(C, alive, died)`` with ``loglik = C + logaddexp(alive, died)``."""
    C = sc.gammaln(r + x) - sc.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    g_t = _pnbd_log_G(r, alpha, s, beta, x, t_x)
    g_T = _pnbd_log_G(r, alpha, s, beta, x, T)
    died = np.log(s) + g_t + _log1mexp(g_T - g_t)
    return C, alive, died


def _pnbd_pmf(r: Array, alpha: Array, s: Array, beta: Array, n: Array, t: Array) -> Array:
    """P(X(t) = n) of the Pareto/NBD: alive at t with n purchases, or died at y < t with n.

    ``(beta/(beta+t))^s NB(n; t) + int_0^t s beta^s/(beta+y)^(s+1) NB(n; y) dy`` with
    ``NB(n; y) = Gamma(r+n)/(Gamma(r) n!) (alpha/(alpha+y))^r (y/(alpha+y))^n``. The integrand is
    analytic on [0, t] with its nearest singularities at -alpha and -beta, so Gauss-Legendre
    panels [t/2^(k+1), t/2^k] down to a width below min(alpha, beta) (and [0, t/2^K]) converge
    geometrically; panels are split further for large n (a sharper peak near t).
    """
    shape = np.broadcast_shapes(*(np.shape(v) for v in (r, alpha, s, beta, n, t)))
    lk = sc.gammaln(r + n) - sc.gammaln(r) - sc.gammaln(n + 1)

    def log_nb(y: Array) -> Array:
        return lk + r * (np.log(alpha) - np.log(alpha + y)) + sc.xlogy(n, y / (alpha + y))

    ls = np.log(s) + s * np.log(beta)
    survive = np.exp(log_nb(t) + s * (np.log(beta) - np.log(beta + t)))
    tmax = float(np.max(t)) if np.size(t) else 0.0
    if tmax <= 0:
        return np.broadcast_to(survive, shape).copy()
    scale = float(np.min(np.minimum(alpha, beta)))
    K = int(np.clip(np.ceil(np.log2(tmax / scale)) + 1, 1, 60))
    split = 1 + int(np.max(n)) // 24
    edges = [0.0] + [2.0**-k for k in range(K, -1, -1)]  # fractions of t
    total = np.zeros(shape)
    nodes = (_GL_NODES + 1) / 2
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        width = (hi - lo) / split
        for j in range(split):
            left = lo + j * width
            for u, wt in zip(nodes, _GL_WEIGHTS, strict=True):
                y = t * (left + width * u)
                with np.errstate(divide="ignore"):
                    f = ls - (s + 1) * np.log(beta + y) + log_nb(y)
                total = total + (0.5 * width * wt) * t * np.exp(f)
    return survive + total


# --------------------------------------------------------------------------------- public
def _count_terms(
    model: str, params: Mapping[str, ArrayLike], x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> tuple[Array, Array, Array]:
    model = _model(model)
    p = _params(model, params)
    xx, tx, TT = _count_data(x, t_x, T)
    if model == "paretonbd":
        return _pnbd_terms(*p, xx, tx, TT)
    return _bg_terms(*p, xx, tx, TT, modified=model == "mbgnbd")


def loglik(
    model: str, params: Mapping[str, ArrayLike], x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """Log-likelihood of each customer's ``(x, t_x, T)`` under a purchase-count model.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : mapping
        Its parameters (:data:`PARAM_NAMES`), scalars or arrays of shape ``(d, 1)``.
    x, t_x, T : array_like
        Repeat purchases, time of the last one and age, shape ``(n,)`` or scalars.

    Returns
    -------
    ndarray
        Log-likelihood per customer, shape ``(n,)`` or ``(d, n)``.

    Raises
    ------
    ValueError
        Unknown model, missing or non-positive parameters.
    DataError
        Data outside the models' contract (see the module docstring).
    """
    C, A1, A2 = _count_terms(model, params, x, t_x, T)
    return C + np.logaddexp(A1, A2)


def p_alive(
    model: str, params: Mapping[str, ArrayLike], x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Array:
    """Probability that the customer is still alive at ``T`` given ``(x, t_x, T)``.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : mapping
        Its parameters, scalars or arrays of shape ``(d, 1)``.
    x, t_x, T : array_like
        Repeat purchases, time of the last one and age.

    Returns
    -------
    ndarray
        P(alive at T), shape ``(n,)`` or ``(d, n)``. For the BG/NBD it is 1 where ``x = 0``.

    Raises
    ------
    ValueError
        Unknown model, missing or non-positive parameters.
    DataError
        Data outside the models' contract.
    """
    _, A1, A2 = _count_terms(model, params, x, t_x, T)
    return sc.expit(A1 - A2)


def expected_purchases(
    model: str,
    params: Mapping[str, ArrayLike],
    t: ArrayLike,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
) -> Array:
    """Expected repeat purchases in ``(T, T + t]`` given ``(x, t_x, T)``.

    ``P(alive | x, t_x, T)`` times the expectation for a live customer under the posterior of
    the customer's rates: BG/NBD eq. (10) of Fader, Hardie & Lee (2005); MBG/NBD the same with
    ``b + x + 1`` for ``b + x`` (Batislam et al. 2007); Pareto/NBD
    ``(r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]`` (continuous at s = 1).

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : mapping
        Its parameters, scalars or arrays of shape ``(d, 1)``.
    t : array_like
        Length of the future period (>= 0), scalar or shape ``(n,)``.
    x, t_x, T : array_like
        Repeat purchases, time of the last one and age.

    Returns
    -------
    ndarray
        Expected purchases, shape ``(n,)`` or ``(d, n)``.

    Raises
    ------
    ValueError
        Unknown model, missing or non-positive parameters.
    DataError
        Data outside the models' contract or a negative ``t``.
    """
    model = _model(model)
    p = _params(model, params)
    xx, tx, TT = _count_data(x, t_x, T)
    tt = _nonneg("t", t)
    if model == "paretonbd":
        r, alpha, s, beta = p
        _, A1, A2 = _pnbd_terms(r, alpha, s, beta, xx, tx, TT)
        rate = (r + xx) / (alpha + TT)
        return (
            sc.expit(A1 - A2) * rate * (beta + TT) * _expm1_ratio(s - 1, np.log1p(tt / (beta + TT)))
        )
    r, alpha, a, b = p
    modified = model == "mbgnbd"
    _, A1, A2 = _bg_terms(r, alpha, a, b, xx, tx, TT, modified)
    future = _bg_future(r + xx, alpha + TT, a, b + xx + (1.0 if modified else 0.0), tt)
    return sc.expit(A1 - A2) * future


def expected_purchases_new(model: str, params: Mapping[str, ArrayLike], t: ArrayLike) -> Array:
    """Expected repeat purchases ``E[X(t)]`` of a customer observed from the first purchase.

    Unconditional (no purchase history), as in the tracking plots of the papers.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : mapping
        Its parameters, scalars or arrays of shape ``(d, 1)``.
    t : array_like
        Time since the first purchase (>= 0), scalar or shape ``(n,)``.

    Returns
    -------
    ndarray
        ``E[X(t)]``, shape of ``t`` broadcast with the parameters.

    Raises
    ------
    ValueError
        Unknown model, missing or non-positive parameters.
    DataError
        A negative or non-finite ``t``.
    """
    model = _model(model)
    p = _params(model, params)
    tt = _nonneg("t", t)
    if model == "paretonbd":
        r, alpha, s, beta = p
        return r / alpha * beta * _expm1_ratio(s - 1, np.log1p(tt / beta))
    r, alpha, a, b = p
    if model == "mbgnbd":  # survive the first coin: E[(1-p) f(p)] = b/(a+b) E_{Beta(a,b+1)}[f]
        return b / (a + b) * _bg_future(r, alpha, a, b + 1, tt)
    return _bg_future(r, alpha, a, b, tt)


def prob_purchases(
    model: str, params: Mapping[str, ArrayLike], n: ArrayLike, t: ArrayLike
) -> Array:
    """``P(X(t) = n)``: probability of ``n`` repeat purchases in ``(0, t]`` for a new customer.

    BG/NBD: Fader, Hardie & Lee (2005) eq. (8) (the sum written as a regularized incomplete
    beta function); MBG/NBD the analogue with the drop-out at time 0; Pareto/NBD by quadrature
    over the time of death (see :func:`_pnbd_pmf`).

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : mapping
        Its parameters, scalars or arrays of shape ``(d, 1)``.
    n : array_like
        Numbers of repeat purchases (whole numbers >= 0).
    t : array_like
        Lengths of the period (>= 0); broadcast with ``n``.

    Returns
    -------
    ndarray
        Probabilities, shape of ``n``, ``t`` and the parameters broadcast.

    Raises
    ------
    ValueError
        Unknown model, missing or non-positive parameters.
    DataError
        ``n`` not whole numbers >= 0 or a negative ``t``.
    """
    model = _model(model)
    p = _params(model, params)
    nn = _nonneg("n", n, whole=True)
    tt = _nonneg("t", t)
    if model == "paretonbd":
        if all(v.size == 1 for v in p) and np.broadcast(nn, tt).size > 64:
            # one parameter set: integrate each distinct (n, t) once
            nb, tb = np.broadcast_arrays(nn, tt)
            pairs, inv = np.unique(
                np.stack([nb.ravel(), tb.ravel()], 1), axis=0, return_inverse=True
            )
            q = _pnbd_pmf(*p, pairs[:, 0], pairs[:, 1])
            shape = np.broadcast_shapes(nb.shape, *(v.shape for v in p))
            return np.reshape(q.reshape(-1)[inv.reshape(-1)], shape)
        return _pnbd_pmf(*p, nn, tt)
    return _bg_pmf(*p, nn, tt, modified=model == "mbgnbd")


def _gg_check(x: ArrayLike, mbar: ArrayLike, *, repeat_only: bool) -> tuple[Array, Array]:
    xx = _nonneg("x", x, whole=True)
    m = np.asarray(mbar, dtype=float)
    try:
        np.broadcast_shapes(xx.shape, m.shape)
    except ValueError as e:
        raise ValueError(f"x and mbar do not broadcast: {xx.shape}, {m.shape}") from e
    if repeat_only and (xx < 1).any():
        raise DataError(
            _SOURCE, "x", "the Gamma-Gamma likelihood needs repeat purchases (x > 0)", *_bad(xx < 1)
        )
    rep = np.broadcast_to(xx > 0, np.broadcast_shapes(xx.shape, m.shape))
    mb = np.broadcast_to(m, rep.shape)
    bad = rep & ~(np.isfinite(mb) & (mb > 0 if repeat_only else mb >= 0))
    if bad.any():
        what = "> 0" if repeat_only else ">= 0"
        raise DataError(_SOURCE, "mbar", f"mean spend not finite and {what}", *_bad(bad))
    return xx, m


def _gg_ll(p: Array, q: Array, gamma: Array, x: Array, m: Array) -> Array:
    px = p * x
    return (
        sc.gammaln(px + q)
        - sc.gammaln(px)
        - sc.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * m)
    )


def gg_loglik(params: Mapping[str, ArrayLike], x: ArrayLike, mbar: ArrayLike) -> Array:
    """Gamma-Gamma log-density of each customer's mean spend ``mbar`` given ``x`` purchases.

    ``f(mbar) = Gamma(px+q) / (Gamma(px) Gamma(q)) gamma^q mbar^(px-1) x^(px) /
    (gamma + x mbar)^(px+q)`` (the density of the mean, Jacobian ``x`` included, as in
    Fader & Hardie's note).

    Parameters
    ----------
    params : mapping
        ``p, q, gamma``, scalars or arrays of shape ``(d, 1)``.
    x : array_like
        Repeat purchases (whole numbers >= 1).
    mbar : array_like
        Mean value of the repeat purchases (> 0).

    Returns
    -------
    ndarray
        Log-likelihood per customer, shape ``(n,)`` or ``(d, n)``.

    Raises
    ------
    ValueError
        Missing or non-positive parameters.
    DataError
        ``x < 1`` or ``mbar`` not positive and finite.
    """
    p, q, gamma = _params("gammagamma", params)
    x, m = _gg_check(x, mbar, repeat_only=True)
    return _gg_ll(p, q, gamma, x, m)


def _gg_loglik_grad(theta: Array, x: Array, m: Array, w: Array) -> tuple[float, Array]:
    p, q, gamma = np.exp(theta)
    px = p * x
    lg = np.log(gamma + x * m)
    ll = float(_wsum(w, _gg_ll(p, q, gamma, x, m)))
    dg = sc.digamma
    g_p = x * (dg(px + q) - dg(px) + np.log(m) + np.log(x) - lg)
    g_q = dg(px + q) - dg(q) + np.log(gamma) - lg
    g_g = q / gamma - (px + q) / (gamma + x * m)
    grad = np.array([_wsum(w, g) for g in (g_p, g_q, g_g)]) * np.exp(theta)
    return ll, grad


def gg_expected_spend(params: Mapping[str, ArrayLike], x: ArrayLike, mbar: ArrayLike) -> Array:
    """Expected value of a customer's future transactions, ``E[Z | x, mbar]``.

    ``p (gamma + x mbar) / (p x + q - 1)``: a weighted mean of the population mean
    ``p gamma / (q - 1)`` and the customer's ``mbar``; for ``x = 0`` the population mean
    (``mbar`` is ignored there and may be NaN). Infinite where the mean does not exist
    (``p x + q <= 1``).

    Parameters
    ----------
    params : mapping
        ``p, q, gamma``, scalars or arrays of shape ``(d, 1)``.
    x : array_like
        Repeat purchases (whole numbers >= 0).
    mbar : array_like
        Mean value of the repeat purchases (>= 0 where ``x > 0``).

    Returns
    -------
    ndarray
        Expected spend per transaction, shape ``(n,)`` or ``(d, n)``.

    Raises
    ------
    ValueError
        Missing or non-positive parameters.
    DataError
        ``x`` not whole numbers >= 0, or ``mbar`` missing or negative where ``x > 0``.
    """
    p, q, gamma = _params("gammagamma", params)
    x, m = _gg_check(x, mbar, repeat_only=False)
    xm = np.where(x > 0, x * np.where(np.isfinite(m), m, 0.0), 0.0)
    den = p * x + q - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, p * (gamma + xm) / np.where(den > 0, den, 1.0), np.inf)
