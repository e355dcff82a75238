"""Maximum-likelihood fits of the buy-till-you-die models, with standard errors.

:func:`fit_mle` fits a purchase-count model (BG/NBD, Pareto/NBD, MBG/NBD) to ``(x, t_x, T)``;
:func:`fit_gamma_gamma_mle` fits the Gamma-Gamma spend model to ``(x, mbar)`` of the customers
with repeat purchases. Both return an :class:`MLEFit`.

How:

* Identical rows are collapsed into counts first (``np.unique`` over the rows; caller weights
  are summed), so the likelihood is evaluated once per distinct customer history.
* The negative mean log-likelihood is minimised over log-parameters with L-BFGS-B from a
  data-scaled start (further starts only when the first does not converge). The BG/NBD,
  MBG/NBD and Gamma-Gamma use analytic gradients; the Pareto/NBD, whose likelihood holds
  Gaussian hypergeometric functions of the parameters, uses finite differences.
* With more than 20,000 distinct rows the optimiser first runs on a fixed random subsample of
  them (seed 0, weights kept), and the full data only polish that start by Newton steps.
* Newton steps on the full data finish every fit; a fit has ``converged`` when the Newton
  decrement (the log-likelihood a further Newton step would gain) is below 1e-4, the Hessian
  is positive definite, no parameter sits at the bounds (1e-8, 1e8), no log-parameter has a
  standard error of 5 or more, and the log-likelihood loses at least 0.5 five log-units away
  along the Hessian's flattest direction, both ways (otherwise the likelihood is flat along
  that direction: its supremum lies at infinity, as with a handful of customers, or a
  parameter is not identified).
* Standard errors: the observed information is the Hessian of the negative log-likelihood in
  log-parameters at the optimum (central differences of the analytic gradient, or of the
  log-likelihood for the Pareto/NBD); its inverse is carried to the original scale by the delta
  method, ``cov = D H^-1 D`` with ``D = diag(theta)``. At the optimum this equals the inverse
  of the Hessian in the original scale (the gradient term vanishes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special as sc
from scipy.optimize import minimize

from workbench.clv import formulas as F
from workbench.errors import DataError

__all__ = ["MLEFit", "fit_gamma_gamma_mle", "fit_mle"]

Array = NDArray[np.float64]

#: Bounds of every parameter (the optimiser works on their logs).
BOUNDS = (1e-8, 1e8)
#: Rows above which the optimiser first runs on a subsample.
SUBSAMPLE = 20_000
#: Convergence: the log-likelihood a further Newton step would gain.
DECREMENT = 1e-4
#: A log-parameter whose standard error reaches this lies on a flat ridge (the supremum is at
#: infinity or the parameter is not identified): not converged.
FLAT = 5.0


@dataclass(frozen=True)
class MLEFit:
    """A maximum-likelihood fit.

    Parameters
    ----------
    model : str
        ``"bgnbd"``, ``"paretonbd"``, ``"mbgnbd"`` or ``"gammagamma"``.
    params : dict of str to float
        Estimates, named and ordered as in :data:`workbench.clv.formulas.PARAM_NAMES`.
    se : dict of str to float
        Standard errors (NaN when the information matrix is not positive definite).
    cov : ndarray
        Covariance matrix of the estimates in the original scale, in ``params`` order.
    loglik : float
        Log-likelihood at the estimates (weighted sum over customers).
    n : int
        Customers used (the sum of the weights, rounded).
    converged : bool
        Whether the optimum was reached (see the module docstring).
    """

    model: str
    params: dict[str, float]
    se: dict[str, float]
    cov: np.ndarray = field(repr=False)
    loglik: float
    n: int
    converged: bool


# --------------------------------------------------------------------------------- objectives
class _Objective:
    """Negative log-likelihood of collapsed data as a function of log-parameters.

    ``fg`` returns the mean over the weight (value and gradient), ``hessian`` the mean Hessian.
    """

    analytic: bool = True

    def __init__(self, w: Array) -> None:
        self.w = w
        self.total = float(w.sum())

    def loglik(self, theta: Array) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def loglik_grad(self, theta: Array) -> tuple[float, Array]:
        """Total log-likelihood and its gradient (finite differences unless overridden)."""
        ll = self.loglik(theta)
        h = 1e-7
        g = np.array([(self.loglik(theta + h * e) - ll) / h for e in np.eye(len(theta))])
        return ll, g

    def grad_central(self, theta: Array) -> Array:
        if self.analytic:
            return self.loglik_grad(theta)[1]
        h = 1e-6
        return np.array(
            [
                (self.loglik(theta + h * e) - self.loglik(theta - h * e)) / (2 * h)
                for e in np.eye(len(theta))
            ]
        )

    def fg(self, theta: Array) -> tuple[float, Array]:
        ll, g = self.loglik_grad(theta)
        if not np.isfinite(ll) or not np.all(np.isfinite(g)):
            return 1e300, np.zeros_like(theta)
        return -ll / self.total, -g / self.total

    def hessian(self, theta: Array) -> Array:
        """Hessian of the mean negative log-likelihood in log-parameters."""
        k = len(theta)
        eye = np.eye(k)
        if self.analytic:
            h = 1e-5
            rows = [
                (self.loglik_grad(theta + h * e)[1] - self.loglik_grad(theta - h * e)[1]) / (2 * h)
                for e in eye
            ]
            H = np.array(rows)
        else:
            h = 1e-4
            f0 = self.loglik(theta)
            H = np.empty((k, k))
            for i in range(k):
                H[i, i] = (
                    self.loglik(theta + h * eye[i]) - 2 * f0 + self.loglik(theta - h * eye[i])
                ) / h**2
                for j in range(i):
                    d = [
                        self.loglik(theta + h * (si * eye[i] + sj * eye[j]))
                        for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))
                    ]
                    H[i, j] = H[j, i] = (d[0] - d[1] - d[2] + d[3]) / (4 * h**2)
        H = -0.5 * (H + H.T) / self.total
        return H


class _BG(_Objective):
    def __init__(self, x: Array, t_x: Array, T: Array, w: Array, modified: bool) -> None:
        super().__init__(w)
        self.data = (x, t_x, T)
        self.modified = modified
        self.x_index = np.unique(x, return_inverse=True)

    def loglik_grad(self, theta: Array) -> tuple[float, Array]:
        with np.errstate(all="ignore"):
            return F._bg_loglik_grad(theta, *self.data, self.w, self.modified, self.x_index)

    def loglik(self, theta: Array) -> float:
        return self.loglik_grad(theta)[0]


class _Pareto(_Objective):
    analytic = False

    def __init__(self, x: Array, t_x: Array, T: Array, w: Array) -> None:
        super().__init__(w)
        self.x, self.T = x, T
        self.xu, self.x_inv = np.unique(x, return_inverse=True)
        # log G is needed at (x, t_x) and (x, T): evaluate each distinct pair once
        (px, pu), _, inv = _distinct([np.concatenate([x, x]), np.concatenate([t_x, T])])
        self.pairs = (px, pu)
        self.i_t, self.i_T = inv[: len(x)], inv[len(x) :]

    def loglik(self, theta: Array) -> float:
        r, alpha, s, beta = np.exp(theta)
        x, T = self.x, self.T
        with np.errstate(all="ignore"):
            G = F._pnbd_log_G(r, alpha, s, beta, *self.pairs)
            g_t, g_T = G[self.i_t], G[self.i_T]
            C = (sc.gammaln(r + self.xu) - sc.gammaln(r))[self.x_inv]
            C += r * np.log(alpha) + s * np.log(beta)
            alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
            died = np.log(s) + g_t + F._log1mexp(g_T - g_t)
            ll = float(F._wsum(self.w, C + np.logaddexp(alive, died)))
        return ll if np.isfinite(ll) else -np.inf


class _GG(_Objective):
    def __init__(self, x: Array, m: Array, w: Array) -> None:
        super().__init__(w)
        self.data = (x, m)

    def loglik_grad(self, theta: Array) -> tuple[float, Array]:
        with np.errstate(all="ignore"):
            return F._gg_loglik_grad(theta, *self.data, self.w)

    def loglik(self, theta: Array) -> float:
        return self.loglik_grad(theta)[0]


# --------------------------------------------------------------------------------- optimiser
def _newton(obj: _Objective, theta: Array, H: Array | None = None) -> tuple[Array, Array, bool]:
    """Newton steps (with backtracking) from ``theta``; returns ``(theta, H, converged)``.

    ``H`` (mean Hessian) may be given for the first step (e.g. from a subsample); convergence is
    only declared with the full data's Hessian at the returned ``theta``, which is returned.
    """
    lo, hi = np.log(BOUNDS[0]), np.log(BOUNDS[1])
    f = -obj.loglik(theta) / obj.total
    fresh = False  # whether H is the full data's Hessian at theta
    for _ in range(12):
        if H is None:
            H, fresh = obj.hessian(theta), True
        g = -obj.grad_central(theta) / obj.total
        try:
            L = np.linalg.cholesky(H)
        except np.linalg.LinAlgError:
            if not fresh:
                H = None
                continue
            return theta, H, False
        step = np.linalg.solve(L.T, np.linalg.solve(L, g))
        decrement = 0.5 * float(g @ step) * obj.total
        if decrement < DECREMENT:
            if not fresh:
                H = None
                continue
            inside = bool(np.all((theta > lo + 1e-6) & (theta < hi - 1e-6)))
            log_se = np.sqrt(np.diag(np.linalg.inv(H * obj.total)))
            peaked = bool(np.all(log_se < FLAT)) and not _flat_ridge(obj, theta, H)
            return theta, H, inside and peaked
        t = 1.0
        while t > 1e-4:
            cand = np.clip(theta - t * step, lo, hi)
            fc = -obj.loglik(cand) / obj.total
            if np.isfinite(fc) and fc <= f:
                break
            t /= 2
        else:
            if not fresh:
                H = None
                continue
            return theta, H, False
        theta, f = cand, fc
        H, fresh = None, False
    return theta, obj.hessian(theta), False


def _flat_ridge(obj: _Objective, theta: Array, H: Array) -> bool:
    """Whether the log-likelihood stays within 0.5 of its value :data:`FLAT` log-units away
    along the flattest direction of ``H``: the likelihood itself, not its curvature, says the
    supremum lies further out (a quadratic with a log-standard error of :data:`FLAT` loses
    exactly 0.5 there). The curvature alone is a knife edge on such ridges: where the optimiser
    stops along them, and so the standard errors there, differ between machines."""
    lo, hi = np.log(BOUNDS[0]), np.log(BOUNDS[1])
    ll = obj.loglik(theta)
    v = np.linalg.eigh(H)[1][:, 0]
    for sign in (1.0, -1.0):
        probe = np.clip(theta + sign * FLAT * v, lo, hi)
        lp = obj.loglik(probe)
        if np.isfinite(lp) and ll - lp < 0.5:
            return True
    return False


def _lbfgs(obj: _Objective, theta0: Array) -> Array:
    lo, hi = np.log(BOUNDS[0]), np.log(BOUNDS[1])
    res = minimize(
        obj.fg,
        np.clip(theta0, lo, hi),
        jac=True,
        method="L-BFGS-B",
        bounds=[(lo, hi)] * len(theta0),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-9},
    )
    return np.asarray(res.x, dtype=float)


def _optimise(
    make: Callable[[NDArray[np.intp] | None], _Objective], n_rows: int, starts: list[Array]
) -> tuple[Array, Array, bool, _Objective]:
    """Fit from each start in turn until one converges; the best log-likelihood wins."""
    full = make(None)
    sub = None
    if n_rows > SUBSAMPLE:
        idx = np.sort(np.random.default_rng(0).choice(n_rows, SUBSAMPLE, replace=False))
        sub = make(idx)
    best: tuple[float, Array, Array, bool] | None = None
    for theta0 in starts:
        if sub is not None:
            theta = _lbfgs(sub, theta0)
            theta, H, ok = _newton(full, theta, sub.hessian(theta))
        else:
            theta = _lbfgs(full, theta0)
            theta, H, ok = _newton(full, theta)
        ll = full.loglik(theta)
        if best is None or (ok, ll) > (best[3], best[0]):
            best = (ll, theta, H, ok)
        if ok:
            break
    assert best is not None
    return best[1], best[2], best[3], full


def _result(
    model: str, names: tuple[str, ...], theta: Array, H: Array, ok: bool, obj: _Objective
) -> MLEFit:
    est = np.exp(theta)
    try:
        cov_log = np.linalg.inv(H * obj.total)
        if not np.all(np.linalg.eigvalsh(H) > 0):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        cov_log = np.full_like(H, np.nan)
        ok = False
    cov = cov_log * np.outer(est, est)
    se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    return MLEFit(
        model=model,
        params={k: float(v) for k, v in zip(names, est, strict=True)},
        se={k: float(v) for k, v in zip(names, se, strict=True)},
        cov=cov,
        loglik=float(obj.loglik(theta)),
        n=round(obj.total),
        converged=bool(ok),
    )


def _weights(weights: ArrayLike | None, n: int) -> Array:
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=float).reshape(-1)
    if len(w) != n:
        raise ValueError(f"weights has {len(w)} values for {n} customers")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise DataError(F._SOURCE, "weights", "weights that are not finite and >= 0", *F._bad(bad))
    if w.sum() <= 0:
        raise DataError(F._SOURCE, "weights", "all weights are 0")
    return w


def _distinct(columns: list[Array]) -> tuple[list[Array], Array, NDArray[np.intp]]:
    """Distinct rows of ``columns`` (sorted), one row of each, and every row's index into them.

    Returns ``(values, first, inverse)`` with ``first`` the position of each distinct row's
    first occurrence in sorted order (for summing weights with ``np.add.reduceat``).
    """
    order = np.lexsort(columns[::-1])
    cols = [c[order] for c in columns]
    new = np.ones(len(order), dtype=bool)
    for c in cols:
        new[1:] &= c[1:] == c[:-1]
    new = ~new
    new[0] = True
    group = np.cumsum(new) - 1
    inverse = np.empty(len(order), dtype=np.intp)
    inverse[order] = group
    first = np.flatnonzero(new)
    return [c[first] for c in cols], first, inverse


def _collapse(columns: list[Array], w: Array) -> tuple[list[Array], Array]:
    """Distinct rows of ``columns`` with their summed weights (zero weights dropped)."""
    keep = w > 0
    values, _, inverse = _distinct([c[keep] for c in columns])
    counts = np.bincount(inverse, weights=w[keep], minlength=len(values[0]))
    return values, counts


def _starts(
    names: tuple[str, ...], base: list[float], initial: Mapping[str, float] | None
) -> list[Array]:
    b = np.log(np.asarray(base, dtype=float))
    # alternatives: all parameters halved / doubled around the data-scaled start
    starts = [b, b + np.log(0.3), b + np.log(3.0), b + np.array([0, 0, 1.5, -1.5][: len(b)])]
    if initial is not None:
        missing = [k for k in names if k not in initial]
        if missing:
            raise ValueError(f"initial needs {', '.join(names)}; missing {', '.join(missing)}")
        v = np.array([float(initial[k]) for k in names])
        if not np.all(np.isfinite(v) & (v > 0)):
            raise ValueError("initial values must be positive and finite")
        starts.insert(0, np.log(v))
    return starts


# --------------------------------------------------------------------------------- public
def fit_mle(
    model: str,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    initial: Mapping[str, float] | None = None,
) -> MLEFit:
    """Maximum-likelihood fit of a purchase-count model.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    x, t_x, T : array_like
        Repeat purchases, time of the last one and age of each customer, shape ``(n,)``.
    weights : array_like, optional
        Non-negative weight of each row (e.g. the number of customers with that history).
    initial : mapping, optional
        Starting values (all parameters); tried before the built-in starts.

    Returns
    -------
    MLEFit
        Estimates, standard errors (delta method from the log scale), covariance,
        log-likelihood, number of customers and convergence.

    Raises
    ------
    ValueError
        Unknown model, weights of the wrong length or bad ``initial``.
    DataError
        Data outside the models' contract (:mod:`workbench.clv.formulas`) or bad weights.
    """
    model = F._model(model)
    xx, tx, TT = F._count_data(x, t_x, T)
    xx, tx, TT = (np.broadcast_to(v, np.broadcast_shapes(xx.shape, tx.shape, TT.shape)).reshape(-1)
                  for v in (xx, tx, TT))  # fmt: skip
    w = _weights(weights, len(xx))
    (xu, tu, Tu), wu = _collapse([xx, tx, TT], w)

    def make(idx: NDArray[np.intp] | None) -> _Objective:
        d = (xu, tu, Tu, wu) if idx is None else (xu[idx], tu[idx], Tu[idx], wu[idx])
        if model == "paretonbd":
            return _Pareto(*d)
        return _BG(*d, modified=model == "mbgnbd")

    W = wu.sum()
    mean_T = float(F._wsum(wu, Tu) / W) or 1.0
    rate = float(F._wsum(wu, xu) / W) / mean_T or 0.1 / mean_T
    if model == "paretonbd":
        base = [1.0, 1.0 / rate, 1.0, mean_T]
    else:
        base = [1.0, 1.0 / rate, 1.0, 3.0]
    names = F.PARAM_NAMES[model]
    theta, H, ok, obj = _optimise(make, len(wu), _starts(names, base, initial))
    return _result(model, names, theta, H, ok, obj)


def fit_gamma_gamma_mle(
    x: ArrayLike,
    mbar: ArrayLike,
    *,
    weights: ArrayLike | None = None,
    initial: Mapping[str, float] | None = None,
) -> MLEFit:
    """Maximum-likelihood fit of the Gamma-Gamma spend model.

    Only customers with repeat purchases (``x > 0``) enter; the others are dropped.

    Parameters
    ----------
    x : array_like
        Repeat purchases of each customer (whole numbers >= 0).
    mbar : array_like
        Mean value of the repeat purchases (> 0 where ``x > 0``; ignored where ``x = 0``).
    weights : array_like, optional
        Non-negative weight of each row.
    initial : mapping, optional
        Starting values of ``p, q, gamma``.

    Returns
    -------
    MLEFit
        Estimates of ``p, q, gamma`` with standard errors, covariance and log-likelihood;
        ``n`` counts the customers with repeat purchases.

    Raises
    ------
    ValueError
        Weights of the wrong length or bad ``initial``.
    DataError
        No customer with repeat purchases, ``x`` not whole numbers, ``mbar`` not positive and
        finite where ``x > 0``, or bad weights.
    """
    xx = F._nonneg("x", x, whole=True).reshape(-1)
    m = np.asarray(mbar, dtype=float).reshape(-1)
    if len(m) != len(xx):
        raise ValueError(f"x has {len(xx)} values and mbar {len(m)}")
    w = _weights(weights, len(xx))
    rep = (xx > 0) & (w > 0)
    if not rep.any():
        raise DataError(F._SOURCE, "x", "no customer with repeat purchases to fit spend on")
    xx, m, w = xx[rep], m[rep], w[rep]
    F._gg_check(xx, m, repeat_only=True)
    (xu, mu), wu = _collapse([xx, m], w)

    def make(idx: NDArray[np.intp] | None) -> _Objective:
        return _GG(xu, mu, wu) if idx is None else _GG(xu[idx], mu[idx], wu[idx])

    mean = float(F._wsum(wu, mu) / wu.sum())
    names = F.PARAM_NAMES["gammagamma"]
    theta, H, ok, obj = _optimise(make, len(wu), _starts(names, [2.0, 3.0, mean], initial))
    return _result("gammagamma", names, theta, H, ok, obj)
