"""Bayesian (PyMC) fits of the buy-till-you-die models and of the Gamma–Gamma spend model.

Models (parameters named as in the papers):

``"bgnbd"``
    BG/NBD, Fader, Hardie & Lee (2005): ``r, alpha`` (gamma heterogeneity of the purchase rate
    λ) and ``a, b`` (beta heterogeneity of the drop-out probability p after each repeat purchase).
``"paretonbd"``
    Pareto/NBD, Schmittlein, Morrison & Colombo (1987), with the likelihood of Fader & Hardie's
    note (2005), the Gauss hypergeometric function ``2F1`` with the ``alpha >= beta`` /
    ``alpha < beta`` case split: ``r, alpha`` (purchase rate λ) and ``s, beta`` (gamma
    heterogeneity of the drop-out rate μ).
``"mbgnbd"``
    MBG/NBD, Batislam, Denizel & Filiztekin (2007): as BG/NBD, but a customer may drop out at the
    first purchase too (so customers without a repeat purchase may be gone).
Gamma–Gamma (:class:`SpendModel`), Fader, Hardie & Lee (2005)
    ``p, q, gamma``: a customer's transaction values are ``Gamma(p, ν)`` around a customer's
    own ``ν ~ Gamma(q, gamma)``; fitted on the mean value ``monetary_value`` of the customers with
    at least one repeat purchase.

Each log-likelihood is written in PyTensor (:func:`purchase_loglik`, :func:`spend_loglik`) and
enters the PyMC model as a ``pm.Potential``. Identical customers (same ``frequency, recency, T``)
are collapsed to one row weighted by their number, so summary tables of 10⁵–10⁶ customers, whose
times are whole days (or days / 7), cost what their distinct rows cost. Sampling is NUTS through
:func:`workbench.bayes.sampling.sample` (nutpie by default).

The priors are log-normal on every parameter, with the time scales (``alpha``, ``beta``) centred
on the customers' mean observation time ``T`` and the spend scale ``gamma`` on the mean spend:
the same prior whatever the unit of time or money (see
:attr:`PurchaseModel.default_model_config`). The sampler sees the logs of the parameters in
combinations the data pin down separately (``log r`` and ``log r - log alpha``, ...; a linear map
that leaves the prior unchanged), which removes most of the posterior correlation that a
diagonal mass matrix cannot adapt to.

Cost: a BG/NBD or MBG/NBD gradient costs about 0.1 µs per distinct customer row; the
Pareto/NBD's costs 1-2 µs per distinct ``(x, t)`` pair, almost all of it PyTensor's power series
for the derivatives of 2F1 (whose length grows like ``1 / (1 - z)``).
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd

from workbench.bayes.builder import ModelBuilder
from workbench.bayes.sampling import Sampler
from workbench.errors import DataError, WorkbenchError

#: The parameters of each purchase model, in the papers' order.
PURCHASE_PARAMS: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "paretonbd": ("r", "alpha", "s", "beta"),
    "mbgnbd": ("r", "alpha", "a", "b"),
}
#: The parameters of the Gamma–Gamma spend model.
SPEND_PARAMS: tuple[str, ...] = ("p", "q", "gamma")
# the pairs (k, θ, sign) sampled as (log k, log k + sign · log θ), see _CLVModel._priors
_PAIRS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "bgnbd": (("r", "alpha", -1), ("a", "b", -1)),
    "paretonbd": (("r", "alpha", -1), ("s", "beta", -1)),
    "mbgnbd": (("r", "alpha", -1), ("a", "b", -1)),
}
#: Name of the weight column of a collapsed customer table.
COUNT_COLUMN = "n_customers"

_PURCHASE_COLUMNS = ("frequency", "recency", "T")
_SPEND_COLUMNS = ("frequency", "monetary_value")
# the log of the hypergeometric difference of the Pareto/NBD is clipped here below 0, so a
# customer whose last purchase is at T (a zero difference) costs no infinity or NaN gradient
_LOG_DIFF_MAX = -1e-12


# ----------------------------------------------------------------------------- likelihoods
def _check_model(model: str) -> tuple[str, ...]:
    if model not in PURCHASE_PARAMS:
        raise WorkbenchError(f"unknown model '{model}' ({', '.join(PURCHASE_PARAMS)})")
    return PURCHASE_PARAMS[model]


def _param(value: Any) -> Any:
    """A parameter as a float64 tensor (PyTensor would make a float32 constant of ``2.0``)."""
    import pytensor.tensor as pt
    from pytensor.graph.basic import Variable

    if isinstance(value, Variable):
        return value
    return pt.as_tensor_variable(np.asarray(value, dtype=np.float64))


def _log_beta(a: Any, b: Any) -> Any:
    import pytensor.tensor as pt

    return pt.gammaln(a) + pt.gammaln(b) - pt.gammaln(a + b)


def purchase_loglik(model: str, params: dict[str, Any], x: Any, t_x: Any, T: Any) -> Any:
    """Per-customer log-likelihood of a purchase model, as a PyTensor expression.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The model.
    params : dict
        ``r, alpha, a, b`` (BG/NBD, MBG/NBD) or ``r, alpha, s, beta`` (Pareto/NBD): numbers or
        PyTensor scalars (positive).
    x, t_x, T : array_like
        Repeat purchases, time of the last one and length of the observation period (from the
        first purchase), one value per customer (``t_x = 0`` when ``x = 0``); broadcast
        together.

    Returns
    -------
    TensorVariable
        ``log L(params | x, t_x, T)`` per customer (the shape of the broadcast data).

    Raises
    ------
    WorkbenchError
        For an unknown model or missing parameters.
    """
    import pytensor.tensor as pt

    names = _check_model(model)
    missing = [n for n in names if n not in params]
    if missing:
        raise WorkbenchError(f"model '{model}' needs parameters {', '.join(missing)}")
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    p = {n: _param(params[n]) for n in names}
    if model == "paretonbd":
        return _paretonbd_loglik(p["r"], p["alpha"], p["s"], p["beta"], x, t_x, T)
    x, t_x, T = (pt.as_tensor_variable(v) for v in (x, t_x, T))
    return _bgnbd_loglik(p["r"], p["alpha"], p["a"], p["b"], x, t_x, T, model == "mbgnbd")


def _bgnbd_loglik(
    r: Any, alpha: Any, a: Any, b: Any, x: Any, t_x: Any, T: Any, modified: bool
) -> Any:
    """BG/NBD (FHL 2005, eq. 6) or MBG/NBD (Batislam et al. 2007, eq. 6) log-likelihood.

    ``L = B(a, b + x + m) / B(a, b) · A(T) + B(a + 1, b + x - 1 + m) / B(a, b) · A(t_x)`` with
    ``A(t) = Γ(r + x) α^r / (Γ(r) (α + t)^(r + x))`` and ``m = 1`` for MBG/NBD (whose second
    term is present for ``x = 0`` too); BG/NBD has it only when ``x > 0``.
    """
    import pytensor.tensor as pt

    m = 1.0 if modified else 0.0
    rx = r + x
    lead = pt.gammaln(rx) - pt.gammaln(r) + r * pt.log(alpha) + _log_beta(a, b + x + m)
    lead = lead - _log_beta(a, b)
    alive = -rx * pt.log(alpha + T)
    # B(a + 1, b + x - 1 + m) / B(a, b + x + m) = a / (b + x - 1 + m)
    xd = x if modified else pt.maximum(x, 1.0)  # BG/NBD: the term is absent when x = 0
    dead = pt.log(a) - pt.log(b + xd - 1.0 + m) - rx * pt.log(alpha + t_x)
    both = pt.logaddexp(alive, dead)
    return lead + (both if modified else pt.switch(pt.gt(x, 0), both, alive))


def _paretonbd_loglik(
    r: Any, alpha: Any, s: Any, beta: Any, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> Any:
    """Pareto/NBD log-likelihood (Fader & Hardie 2005, eq. 22 with the 2F1 case split).

    ``L = Γ(r + x) α^r β^s / Γ(r) · [1 / ((α + T)^(r + x) (β + T)^s) + s / (r + s + x) · A₀]``
    with ``A₀ = G(t_x) - G(T)``: for ``α ≥ β``, ``G(t) = 2F1(r + s + x, s + 1; r + s + x + 1;
    (α - β) / (α + t)) / (α + t)^(r + s + x)``; for ``α < β`` the same with ``α, β`` swapped and
    ``r + x`` for ``s + 1``. Both keep the argument ``z`` of 2F1 in ``[0, 1)``.

    The 2F1 is evaluated after Euler's transformation ``2F1(a, b; c; z) = (1 - z)^(c - a - b)
    2F1(c - a, c - b; c; z)``, which turns it into ``2F1(1, r + x; r + s + x + 1; z)``
    (``α ≥ β``) or ``2F1(1, s + 1; r + s + x + 1; z)`` (``α < β`` and ``r + x > 1``): series
    whose terms shrink at least like ``z^k`` however many purchases the customer made, so the
    power series of its gradient (PyTensor's, summed to 1e-14) stays short. ``α < β`` with
    ``r + x <= 1`` keeps the original form, whose parameters are then small.

    ``log G`` is computed once per distinct ``(x, t)`` among the ``(x, t_x)`` and ``(x, T)`` of
    the customers: every customer without a repeat purchase shares one ``G(0)``.
    """
    import pytensor.tensor as pt

    pairs = np.concatenate([np.stack([x, t_x], axis=-1), np.stack([x, T], axis=-1)])
    pairs = pairs.reshape(-1, 2)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    n = x.size
    ux, ut = (pt.as_tensor_variable(uniq[:, j]) for j in (0, 1))
    rx_u = r + ux
    rsx_u = rx_u + s
    first = pt.ge(alpha, beta)
    big = pt.gt(rx_u, 1.0)
    log_a, log_b = pt.log(alpha + ut), pt.log(beta + ut)
    z = pt.switch(first, (alpha - beta) / (alpha + ut), (beta - alpha) / (beta + ut))
    h_a = pt.switch(first | big, 1.0, rsx_u)
    h_b = pt.switch(first, rx_u, pt.switch(big, s + 1.0, rx_u))
    pre = pt.switch(
        first,
        -rx_u * log_a - s * log_b,
        pt.switch(big, -(rx_u - 1.0) * log_a - (s + 1.0) * log_b, -rsx_u * log_b),
    )
    log_g = pre + pt.log(pt.hyp2f1(h_a, h_b, rsx_u + 1.0, z))
    log_g_tx = log_g[inverse[:n].reshape(x.shape)]
    log_g_T = log_g[inverse[n:].reshape(x.shape)]
    xt, Tt = pt.as_tensor_variable(x), pt.as_tensor_variable(T)
    rx = r + xt
    rsx = rx + s
    lead = pt.gammaln(rx) - pt.gammaln(r) + r * pt.log(alpha) + s * pt.log(beta)
    alive = -rx * pt.log(alpha + Tt) - s * pt.log(beta + Tt)
    log_a0 = log_g_tx + pt.log1mexp(pt.minimum(log_g_T - log_g_tx, _LOG_DIFF_MAX))
    dead = pt.log(s) - pt.log(rsx) + log_a0
    return lead + pt.logaddexp(alive, dead)


def spend_loglik(params: dict[str, Any], x: Any, mbar: Any) -> Any:
    """Per-customer Gamma–Gamma log-likelihood of the mean spend, as a PyTensor expression.

    The density of the mean ``mbar`` of ``x`` transaction values (Fader, Hardie & Lee 2005;
    Fader & Hardie's 2013 note, eq. 3)::

        f(mbar) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q · mbar^(px - 1) · x^(px) / (γ + x·mbar)^(px + q)

    Parameters
    ----------
    params : dict
        ``p, q, gamma``: numbers or PyTensor scalars (positive).
    x : array_like or TensorVariable
        Number of transactions averaged (repeat purchases, ``x >= 1``).
    mbar : array_like or TensorVariable
        Their mean value (``> 0``).

    Returns
    -------
    TensorVariable
        ``log f(mbar | p, q, gamma, x)`` per customer.

    Raises
    ------
    WorkbenchError
        For missing parameters.
    """
    import pytensor.tensor as pt

    missing = [n for n in SPEND_PARAMS if n not in params]
    if missing:
        raise WorkbenchError(f"the Gamma–Gamma model needs parameters {', '.join(missing)}")
    p, q, gamma = (_param(params[n]) for n in SPEND_PARAMS)
    x = pt.as_tensor_variable(np.asarray(x, dtype=float))
    mbar = pt.as_tensor_variable(np.asarray(mbar, dtype=float))
    px = p * x
    return (
        pt.gammaln(px + q)
        - pt.gammaln(px)
        - pt.gammaln(q)
        + q * pt.log(gamma)
        + (px - 1.0) * pt.log(mbar)
        + px * pt.log(x)
        - (px + q) * pt.log(gamma + x * mbar)
    )


# ------------------------------------------------------------------------------------ data
def _numeric(
    data: pd.DataFrame, source: str, columns: tuple[str, ...], rows: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """The columns (and ``n_customers`` when present) as floats, checked finite on ``rows``."""
    if not isinstance(data, pd.DataFrame):
        raise WorkbenchError(f"{source} must be a DataFrame, got {type(data).__name__}")
    for col in columns:
        if col not in data.columns:
            raise DataError(source, col, "missing required column")
    if len(data) == 0:
        raise DataError(source, None, "no customers (empty table)")
    out = {}
    for col in (*columns, COUNT_COLUMN):
        if col not in data.columns:
            continue
        values = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) if rows is None else rows & ~np.isfinite(values)
        _check(bad, data, source, col, "missing or non-numeric values")
        out[col] = values
    return out


def _check(bad: np.ndarray, data: pd.DataFrame, source: str, col: str, problem: str) -> None:
    if bad.any():
        raise DataError(source, col, problem, int(bad.sum()), list(data.index[bad]))


def _counts(data: pd.DataFrame, values: dict[str, np.ndarray], source: str) -> np.ndarray:
    if COUNT_COLUMN not in values:
        return np.ones(len(data))
    w = values[COUNT_COLUMN]
    _check((w <= 0) | (w != np.round(w)), data, source, COUNT_COLUMN, "counts not whole >= 1")
    return w


def _frequency(data: pd.DataFrame, values: dict[str, np.ndarray], source: str) -> np.ndarray:
    x = values["frequency"]
    _check(x < 0, data, source, "frequency", "negative repeat purchases")
    _check(x != np.round(x), data, source, "frequency", "repeat purchases not whole numbers")
    return x


def collapse_customers(data: pd.DataFrame, source: str = "customers") -> pd.DataFrame:
    """Identical customers of a summary table merged into one row with their number.

    Parameters
    ----------
    data : DataFrame
        One row per customer: ``frequency`` (repeat purchases, whole, ``>= 0``), ``recency``
        (time of the last one, ``0 <= recency <= T``, ``0`` when ``frequency = 0``) and ``T``
        (``> 0``); other columns are ignored. A table that already has ``n_customers`` (an
        output of this function) is collapsed again with those weights.
    source : str, default "customers"
        Name of the table in error messages.

    Returns
    -------
    DataFrame
        ``frequency`` (int64), ``recency``, ``T``, ``n_customers`` (int64), one row per distinct
        ``(frequency, recency, T)``, sorted by them.

    Raises
    ------
    DataError
        For a missing column, missing or non-numeric values, negative or fractional
        frequencies, ``recency`` outside ``[0, T]``, ``recency > 0`` without a repeat purchase,
        ``T <= 0`` or an empty table.
    """
    values = _numeric(data, source, _PURCHASE_COLUMNS)
    x = _frequency(data, values, source)
    t_x, T = values["recency"], values["T"]
    _check(T <= 0, data, source, "T", "observation periods T <= 0")
    _check(t_x < 0, data, source, "recency", "negative recency")
    _check(t_x > T, data, source, "recency", "recency after the end of the period T")
    _check((x == 0) & (t_x != 0), data, source, "recency", "recency > 0 without repeat purchases")
    table = pd.DataFrame(
        {
            "frequency": x.astype(np.int64),
            "recency": t_x,
            "T": T,
            COUNT_COLUMN: _counts(data, values, source),
        }
    )
    out = table.groupby(list(_PURCHASE_COLUMNS), as_index=False, sort=True)[COUNT_COLUMN].sum()
    out[COUNT_COLUMN] = out[COUNT_COLUMN].astype(np.int64)
    return out


def _spend_table(data: pd.DataFrame, source: str = "customers") -> pd.DataFrame:
    """The repeat customers' ``frequency, monetary_value`` (and ``n_customers``), collapsed."""
    if isinstance(data, pd.DataFrame) and "monetary_value" not in data.columns:
        raise DataError(source, "monetary_value", "missing required column")
    x = _frequency(data, _numeric(data, source, ("frequency",)), source)
    rep = x > 0
    if not rep.any():
        raise DataError(source, "frequency", "no customer with a repeat purchase")
    values = _numeric(data, source, _SPEND_COLUMNS, rows=rep)
    m = values["monetary_value"]
    _check(rep & ~(m > 0), data, source, "monetary_value", "repeat customers with value <= 0")
    table = pd.DataFrame(
        {
            "frequency": x[rep].astype(np.int64),
            "monetary_value": m[rep],
            COUNT_COLUMN: _counts(data, values, source)[rep],
        }
    )
    out = table.groupby(list(_SPEND_COLUMNS), as_index=False, sort=True)[COUNT_COLUMN].sum()
    out[COUNT_COLUMN] = out[COUNT_COLUMN].astype(np.int64)
    return out


# ---------------------------------------------------------------------------------- models
def _summary(idata: Any, names: tuple[str, ...], hdi: float) -> pd.DataFrame:
    """``mean, sd, hdi_low, hdi_high, r_hat, ess_bulk`` of each parameter."""
    from arviz_stats import ess, rhat

    from workbench.experiments._summary import hdi_draws

    post = idata["posterior"].to_dataset()[list(names)]
    draws = np.stack([post[n].values.reshape(-1) for n in names])
    lo, hi = hdi_draws(draws, hdi)
    r, e = rhat(post), ess(post, method="bulk")
    return pd.DataFrame(
        {
            "mean": draws.mean(axis=1),
            "sd": draws.std(axis=1, ddof=1),
            "hdi_low": lo,
            "hdi_high": hi,
            "r_hat": [float(r[n].values) for n in names],
            "ess_bulk": [float(e[n].values) for n in names],
        },
        index=pd.Index(names, name="parameter"),
    )


class _CLVModel(ModelBuilder):
    """What the purchase and spend models share: sampler defaults, draws, summary."""

    _params: tuple[str, ...] = ()
    hdi: float

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """2 chains × 1,000 draws after 1,000 tuning steps, ``target_accept`` 0.9, nutpie.

        A handful of parameters with a smooth posterior: 2,000 draws give a bulk ESS well over
        the 400 the diagnostics ask for. ``retries`` as in :class:`ModelBuilder`.
        """
        return super().default_sampler_config | {"draws": 1000, "tune": 1000}

    def _names(self) -> tuple[str, ...]:
        return self._params

    def diagnostic_vars(self, model: Any) -> list[str]:
        """The model's parameters."""
        return list(self._names())

    def posterior_params(self) -> dict[str, np.ndarray]:
        """Posterior draws of each parameter, chains stacked (chain 0's draws first).

        Returns
        -------
        dict of str to ndarray
            One 1-d array of ``chains × draws`` values per parameter, in the papers' order.

        Raises
        ------
        NotFittedError
            Before :meth:`fit`.
        """
        self._check_fitted()
        post = self.idata_["posterior"]
        return {n: np.asarray(post[n].values, dtype=float).reshape(-1) for n in self._names()}

    def sample_posterior_predictive(self, seed: int | None = None) -> Any:
        """Not available: the likelihood is a ``pm.Potential`` without random draws.

        Raises
        ------
        WorkbenchError
            Always; simulate from :meth:`posterior_params` with :mod:`workbench.clv.simulate`.
        """
        raise WorkbenchError(
            f"{type(self).__name__} has no PyMC posterior predictive; simulate customers from "
            "posterior_params() with workbench.clv.simulate"
        )

    def _summarise(self, data: pd.DataFrame, idata: Any) -> None:
        """``summary_``: one row per parameter."""
        self.summary_ = _summary(idata, self._names(), self.hdi)
        self.n_customers_ = int(data[COUNT_COLUMN].sum())

    @staticmethod
    def _priors(
        names: tuple[str, ...],
        pairs: tuple[tuple[str, str, int], ...],
        cfg: dict[str, dict[str, float]],
        centres: dict[str, float],
    ) -> dict[str, Any]:
        """The parameters with their log-normal priors, pairs sampled as log-ratios or products.

        Every parameter ``θ`` has the prior ``log θ ~ N(centre + mu, sigma)``, independently.
        The data identify a ratio or a product far better than the two parameters of a pair
        ``(k, θ)`` (a mean purchase rate ``r / alpha``, a mean drop-out ``a / b`` or
        ``s / beta``), whose logs then lie on a narrow ridge. The
        sampler sees ``log_k`` and ``log_k_over_θ = log k - log θ`` (``sign = -1``) or
        ``log_k_times_θ = log k + log θ`` (``sign = +1``) instead: a linear map of determinant
        ±1, so the prior is the same (``log_k_over_θ | log_k ~ N(log_k - centre_θ - mu_θ,
        sigma_θ)``). The parameters are deterministics of the free variables.
        """
        import pymc as pm
        import pytensor.tensor as pt

        # float64 constants: PyTensor would make float32 ones of 1.5 or 2.0 (and their logs)
        def centre(n: str) -> np.float64:
            return np.float64(centres.get(n, 0.0) + cfg[n]["mu"])

        def sigma(n: str) -> np.float64:
            return np.float64(cfg[n]["sigma"])

        out: dict[str, Any] = {}
        for k, theta, sign in pairs:
            log_k = pm.Normal(f"log_{k}", centre(k), sigma(k))
            name = f"log_{k}_{'times' if sign > 0 else 'over'}_{theta}"
            joint = pm.Normal(name, log_k + sign * centre(theta), sigma(theta))
            out[k] = pm.Deterministic(k, pt.exp(log_k))
            out[theta] = pm.Deterministic(theta, pt.exp(sign * (joint - log_k)))
        for n in names:
            if n not in out:
                out[n] = pm.Deterministic(n, pt.exp(pm.Normal(f"log_{n}", centre(n), sigma(n))))
        return {n: out[n] for n in names}


class PurchaseModel(_CLVModel):
    """Bayesian BG/NBD, Pareto/NBD or MBG/NBD.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}, default "bgnbd"
        The purchase model (see the module docstring).
    model_config : dict, optional
        Priors overriding :attr:`default_model_config` block by block (e.g.
        ``{"r": {"sigma": 1.0}}``).
    sampler_config : dict, optional
        NUTS settings overriding :attr:`default_sampler_config` (``draws, tune, chains, cores,
        target_accept, sampler, progressbar, retries``).
    draws, tune, chains : int, optional
        Shortcuts for the same keys of ``sampler_config`` (default 1000, 1000, 2).
    cores : int, optional
        Parallel chains (default ``min(chains, 2)``).
    target_accept : float, optional
        NUTS target acceptance (default 0.9).
    sampler : {"auto", "nutpie", "pymc"}, optional
        NUTS implementation: ``"auto"`` (the default) is nutpie, ``"pymc"`` PyMC's own NUTS.
    seed : int, default 0
    progressbar : bool, optional
        Show the sampler's progress bar (default no).
    hdi : float, default 0.94
        Probability of the highest-density intervals of :attr:`summary_`.
    warn : bool, default True
        Emit a :class:`~workbench.bayes.diagnostics.DiagnosticsWarning` on failed diagnostics.
    rhat_max : float, default 1.01
    ess_min : float, default 400
        Minimum bulk ESS (over all chains).

    Attributes
    ----------
    summary_ : DataFrame
        Indexed by parameter (in the papers' order): ``mean, sd, hdi_low, hdi_high`` (the
        ``hdi`` interval), ``r_hat`` (rank-normalised split R-hat) and ``ess_bulk``.
    n_customers_ : int
        Customers fitted.
    idata_ : DataTree
        The posterior (``posterior``: one variable per parameter; ``sample_stats``).
    diagnostics_ : Diagnostics
    model_config_, sampler_config_ : dict
        The priors and NUTS settings used.
    sampling_ : SamplingInfo
        The sampler used, and the compilation and sampling times.
    attempts_ : list of dict
        The sampling runs (see :class:`~workbench.bayes.builder.ModelBuilder`).
    fit_data_ : DataFrame
        The collapsed table fitted: :func:`collapse_customers` of the input.

    Examples
    --------
    >>> fit = PurchaseModel("paretonbd", draws=500, seed=1).fit(summary)  # doctest: +SKIP
    >>> fit.summary_.loc["r", "mean"], fit.posterior_params()["beta"].shape  # doctest: +SKIP
    """

    _model_type = "clv_purchase"

    def __init__(
        self,
        model: str = "bgnbd",
        *,
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
        hdi: float = 0.94,
        warn: bool = True,
        rhat_max: float = 1.01,
        ess_min: float = 400.0,
    ) -> None:
        self.model = model
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
        self.hdi = hdi
        self.warn = warn
        self.rhat_max = rhat_max
        self.ess_min = ess_min

    def _names(self) -> tuple[str, ...]:
        return _check_model(self.model)

    @property
    def default_model_config(self) -> dict[str, Any]:
        """The priors: every parameter log-normal, ``log θ ~ N(mu + centre, sigma)``.

        The shapes ``r``, ``a``, ``b``, ``s`` have no unit: centre 0, ``mu = 0``,
        ``sigma = 1.5`` (95 % of the prior mass between 0.05 and 19). The time scales ``alpha``
        and ``beta`` (of the gamma-distributed purchase and drop-out rates) are centred on the
        log of the customers' mean observation time ``T̄``: ``log(alpha / T̄) ~ N(0, 2)``, the
        same prior in days and in weeks. On CDNOW in weeks (``T̄ ≈ 33``; BG/NBD ``r ≈ 0.24,
        alpha ≈ 4.4, a ≈ 0.8, b ≈ 2.4``; Pareto/NBD ``r ≈ 0.55, alpha ≈ 10.6, s ≈ 0.61,
        beta ≈ 11.7``) every estimate lies within one prior sd of the prior's median, and the
        posterior sd on the log scale is 0.04-0.2 with 2,000 customers (simulated): the prior
        density is nearly flat across the posterior, the likelihood decides. The sampler sees
        ``log r``, ``log r - log alpha``, ``log a``, ``log a - log b`` (or ``log s``,
        ``log s - log beta``), the same prior (see :meth:`_priors`).
        """
        shape = {"mu": 0.0, "sigma": 1.5}
        scale = {"mu": 0.0, "sigma": 2.0}
        if self.model == "paretonbd":
            return {"r": shape, "alpha": scale, "s": shape, "beta": scale}
        return {"r": shape, "alpha": scale, "a": shape, "b": shape}

    def build_model(self, data: pd.DataFrame) -> Any:
        """The PyMC model of a customer table (not sampled; ``self`` is not changed).

        Parameters
        ----------
        data : DataFrame
            ``frequency, recency, T`` per customer, or a collapsed table with ``n_customers``
            (see :func:`collapse_customers`).

        Returns
        -------
        pymc.Model
            Free variables named as the parameters; the log-likelihood summed over the distinct
            customers with their counts as weights is the potential ``loglik``.

        Raises
        ------
        DataError
            For a table :func:`collapse_customers` rejects.
        """
        import pymc as pm
        import pytensor.tensor as pt

        names = self._names()
        table = collapse_customers(data)
        w = table[COUNT_COLUMN].to_numpy(float)
        t_bar = float(np.average(table["T"], weights=w))
        priors = self.get_model_config()
        centres = {"alpha": float(np.log(t_bar)), "beta": float(np.log(t_bar))}
        with pm.Model() as model:
            params = self._priors(names, _PAIRS[self.model], priors, centres)
            ll = purchase_loglik(
                self.model,
                params,
                table["frequency"].to_numpy(float),
                table["recency"].to_numpy(float),
                table["T"].to_numpy(float),
            )
            pm.Potential("loglik", pt.sum(w * ll))
        return model

    def fit(self, data: pd.DataFrame) -> Self:
        """Sample the posterior of the model's parameters.

        Parameters
        ----------
        data : DataFrame
            One row per customer: ``frequency`` (repeat purchases, whole, ``>= 0``),
            ``recency`` (time of the last, ``0`` without one) and ``T`` (time since the first
            purchase), in one time unit (e.g. :func:`workbench.clv.data.summarise`). Other
            columns are ignored.

        Returns
        -------
        self

        Raises
        ------
        DataError
            For a table :func:`collapse_customers` rejects.
        WorkbenchError
            For an unknown model.
        """
        _check_model(self.model)
        return self._fit(collapse_customers(data))


class SpendModel(_CLVModel):
    """Bayesian Gamma–Gamma model of the mean spend per transaction.

    Fitted on the customers with at least one repeat purchase (``frequency > 0``), whose
    ``monetary_value`` is the mean value of their repeat purchases.

    Parameters
    ----------
    model_config : dict, optional
        Priors overriding :attr:`default_model_config` block by block.
    sampler_config : dict, optional
        NUTS settings overriding :attr:`default_sampler_config`.
    draws, tune, chains : int, optional
        Shortcuts for the same keys of ``sampler_config`` (default 1000, 1000, 2).
    cores : int, optional
        Parallel chains (default ``min(chains, 2)``).
    target_accept : float, optional
        NUTS target acceptance (default 0.9).
    sampler : {"auto", "nutpie", "pymc"}, optional
        NUTS implementation (default nutpie).
    seed : int, default 0
    progressbar : bool, optional
    hdi : float, default 0.94
        Probability of the highest-density intervals of :attr:`summary_`.
    warn : bool, default True
    rhat_max : float, default 1.01
    ess_min : float, default 400

    Attributes
    ----------
    summary_ : DataFrame
        Indexed by ``p, q, gamma``: ``mean, sd, hdi_low, hdi_high, r_hat, ess_bulk``.
    n_customers_ : int
        Repeat customers fitted.
    idata_, diagnostics_, model_config_, sampler_config_, sampling_, attempts_
        As for :class:`PurchaseModel`.
    fit_data_ : DataFrame
        ``frequency, monetary_value, n_customers`` of the repeat customers (identical rows
        merged).
    """

    _model_type = "clv_spend"
    _params = SPEND_PARAMS

    def __init__(
        self,
        *,
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
        hdi: float = 0.94,
        warn: bool = True,
        rhat_max: float = 1.01,
        ess_min: float = 400.0,
    ) -> None:
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
        self.hdi = hdi
        self.warn = warn
        self.rhat_max = rhat_max
        self.ess_min = ess_min

    @property
    def default_model_config(self) -> dict[str, Any]:
        """The priors: log-normal, ``log θ ~ N(mu + centre, sigma)``.

        The shapes ``p`` and ``q`` have no unit: ``mu = 1``, ``sigma = 1.5`` (median 2.7, 95 %
        of the mass between 0.14 and 51). The money scale ``gamma`` is centred on the log of the
        mean ``monetary_value`` ``m̄`` of the repeat customers: ``log(gamma / m̄) ~ N(0, 2)``,
        the same prior in any currency. On CDNOW (``p ≈ 6.25, q ≈ 3.74, gamma ≈ 15.4`` with
        ``m̄`` about 35 dollars) the estimates lie within 0.6 prior sd of the medians. The
        sampler sees ``log p``, ``log q`` and ``log p + log gamma - log q`` (the same prior).
        """
        return {
            "p": {"mu": 1.0, "sigma": 1.5},
            "q": {"mu": 1.0, "sigma": 1.5},
            "gamma": {"mu": 0.0, "sigma": 2.0},
        }

    @staticmethod
    def _spend_priors(cfg: dict[str, dict[str, float]], log_m_bar: float) -> dict[str, Any]:
        """``p, q, gamma`` with their log-normal priors, sampled as ``log p``, ``log q`` and
        ``log_spend_scale = log p + log gamma - log q``.

        The data pin the typical transaction value ``p · gamma / q`` down far better than
        ``p`` and ``gamma`` (few purchases per customer: ``p · gamma`` and ``q`` lie on a
        ridge). The map is linear of determinant 1, so the prior is that of
        :attr:`default_model_config`.
        """
        import pymc as pm
        import pytensor.tensor as pt

        c = {n: np.float64(cfg[n]["mu"] + (log_m_bar if n == "gamma" else 0.0)) for n in cfg}
        sd = {n: np.float64(cfg[n]["sigma"]) for n in cfg}
        log_p = pm.Normal("log_p", c["p"], sd["p"])
        log_q = pm.Normal("log_q", c["q"], sd["q"])
        scale = pm.Normal("log_spend_scale", log_p - log_q + c["gamma"], sd["gamma"])
        return {
            "p": pm.Deterministic("p", pt.exp(log_p)),
            "q": pm.Deterministic("q", pt.exp(log_q)),
            "gamma": pm.Deterministic("gamma", pt.exp(scale - log_p + log_q)),
        }

    def build_model(self, data: pd.DataFrame) -> Any:
        """The PyMC model of a customer table (not sampled; ``self`` is not changed).

        Parameters
        ----------
        data : DataFrame
            ``frequency, monetary_value`` per customer (rows with ``frequency = 0`` are left
            out), or a table with ``n_customers`` weights.

        Returns
        -------
        pymc.Model
            Free variables ``p, q, gamma``; the weighted log-likelihood is the potential
            ``loglik``.

        Raises
        ------
        DataError
            For a missing column, missing or non-numeric values, negative or fractional
            frequencies, a repeat customer with ``monetary_value <= 0``, or no repeat customer.
        """
        import pymc as pm
        import pytensor.tensor as pt

        table = _spend_table(data)
        w = table[COUNT_COLUMN].to_numpy(float)
        m_bar = float(np.average(table["monetary_value"], weights=w))
        priors = self.get_model_config()
        with pm.Model() as model:
            params = self._spend_priors(priors, float(np.log(m_bar)))
            ll = spend_loglik(
                params,
                table["frequency"].to_numpy(float),
                table["monetary_value"].to_numpy(float),
            )
            pm.Potential("loglik", pt.sum(w * ll))
        return model

    def fit(self, data: pd.DataFrame) -> Self:
        """Sample the posterior of ``p, q, gamma``.

        Parameters
        ----------
        data : DataFrame
            One row per customer: ``frequency`` and ``monetary_value`` (mean value of the
            repeat purchases); customers without a repeat purchase are left out.

        Returns
        -------
        self

        Raises
        ------
        DataError
            See :meth:`build_model`.
        """
        return self._fit(_spend_table(data))


__all__ = [
    "COUNT_COLUMN",
    "PURCHASE_PARAMS",
    "SPEND_PARAMS",
    "PurchaseModel",
    "SpendModel",
    "collapse_customers",
    "purchase_loglik",
    "spend_loglik",
]
