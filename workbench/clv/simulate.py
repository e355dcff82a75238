"""Synthetic customers drawn from the individual-level stories of the buy-till-you-die models.

For tests (parameter recovery), teaching and benchmarks. Each customer's latent rates are drawn
from the mixing distributions, then the customer's purchases are generated event by event:
exponential waiting times between purchases while the customer is alive, a coin flip after each
purchase (BG/NBD, MBG/NBD; the MBG/NBD also flips one right after the first purchase) or an
exponential lifetime (Pareto/NBD). Nothing is drawn from the likelihood. Time 0 is each
customer's first purchase; ``x`` counts the repeat purchases in ``(0, T]``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from workbench.clv import formulas as F

__all__ = ["simulate", "simulate_spend"]


def _scalars(key: str, params: Mapping[str, float]) -> tuple[float, ...]:
    values = F._params(key, params)
    if any(v.size != 1 for v in values):
        raise ValueError(f"simulate takes one value per parameter of {key}")
    return tuple(float(v.reshape(-1)[0]) for v in values)


def simulate(
    model: str,
    params: Mapping[str, float],
    T: ArrayLike,
    *,
    seed: int,
    holdout: float = 0.0,
) -> pd.DataFrame:
    """Draw one customer per entry of ``T`` from a purchase-count model.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : mapping
        Its parameters (:data:`workbench.clv.formulas.PARAM_NAMES`), one float each.
    T : array_like
        Age of each customer at the end of the calibration period (>= 0), shape ``(n,)``.
    seed : int
        Seed of ``np.random.default_rng``.
    holdout : float, default 0.0
        Length of the holdout period after each customer's ``T``.

    Returns
    -------
    DataFrame
        One row per customer: ``x`` (repeat purchases in ``(0, T]``), ``t_x`` (time of the last
        one, 0 without), ``T``, ``alive`` (still alive at ``T``), ``x_holdout`` (repeat purchases
        in ``(T, T + holdout]``) and the latent ``lambda`` and ``p`` (BG/NBD, MBG/NBD) or ``mu``
        (Pareto/NBD).

    Raises
    ------
    ValueError
        Unknown model, bad parameters or a negative ``holdout``.
    DataError
        ``T`` negative or not finite.
    """
    model = F._model(model)
    values = _scalars(model, params)
    TT = F._nonneg("T", T).reshape(-1)
    if not np.isfinite(holdout) or holdout < 0:
        raise ValueError(f"holdout must be finite and >= 0, got {holdout}")
    rng = np.random.default_rng(seed)
    n = len(TT)
    end = TT + holdout
    r, alpha = values[0], values[1]
    lam = rng.gamma(r, 1.0 / alpha, n)
    if model == "paretonbd":
        s, beta = values[2], values[3]
        mu = rng.gamma(s, 1.0 / beta, n)
        with np.errstate(divide="ignore"):
            death = rng.exponential(1.0, n) / mu  # exponential(mu) lifetime
        latent = {"mu": mu}
        drop = np.zeros(n)
    else:
        a, b = values[2], values[3]
        drop = rng.beta(a, b, n)
        death = np.full(n, np.inf)
        if model == "mbgnbd":  # the first coin, right after the first purchase
            death[rng.random(n) < drop] = 0.0
        latent = {"p": drop}
    x = np.zeros(n, dtype=np.int64)
    x_hold = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n)
    clock = np.zeros(n)
    active = np.flatnonzero((death > 0) & (lam > 0) & (end > 0))
    while active.size:
        with np.errstate(divide="ignore"):
            clock[active] += rng.exponential(1.0, active.size) / lam[active]
        t = clock[active]
        # a purchase happens if the customer is still alive then and it falls in the window
        buys = (t < death[active]) & (t <= end[active])
        active = active[buys]
        t = t[buys]
        cal = t <= TT[active]
        x[active[cal]] += 1
        t_x[active[cal]] = t[cal]
        x_hold[active[~cal]] += 1
        if model != "paretonbd":  # coin flip after each purchase
            dies = rng.random(active.size) < drop[active]
            death[active[dies]] = t[dies]
            active = active[~dies]
    out = pd.DataFrame(
        {
            "x": x,
            "t_x": t_x,
            "T": TT,
            "alive": death > TT,
            "x_holdout": x_hold,
            "lambda": lam,
        }
    )
    for k, v in latent.items():
        out[k] = v
    return out


def simulate_spend(params: Mapping[str, float], x: ArrayLike, *, seed: int) -> NDArray[np.float64]:
    """Draw each customer's mean spend over ``x`` repeat purchases from the Gamma-Gamma model.

    Each customer draws ``nu ~ Gamma(q, rate gamma)``, then ``x`` transaction values
    ``z ~ Gamma(p, rate nu)``; the result is their mean.

    Parameters
    ----------
    params : mapping
        ``p, q, gamma``, one float each.
    x : array_like
        Repeat purchases of each customer (whole numbers >= 0), shape ``(n,)``.
    seed : int
        Seed of ``np.random.default_rng``.

    Returns
    -------
    ndarray
        Mean spend per customer, NaN where ``x = 0``.

    Raises
    ------
    ValueError
        Bad parameters.
    DataError
        ``x`` not whole numbers >= 0.
    """
    p, q, gamma = _scalars("gammagamma", params)
    xx = F._nonneg("x", x, whole=True).reshape(-1).astype(np.int64)
    rng = np.random.default_rng(seed)
    nu = rng.gamma(q, 1.0 / gamma, len(xx))
    owner = np.repeat(np.arange(len(xx)), xx)
    z = rng.gamma(p, 1.0, owner.size) / nu[owner]
    total = np.bincount(owner, weights=z, minlength=len(xx))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(xx > 0, total / np.where(xx > 0, xx, 1), np.nan)
