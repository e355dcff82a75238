"""What each customer is worth: a purchase model and a spend model, fitted and turned into values.

:class:`CustomerValue` fits one buy-till-you-die purchase model (BG/NBD, Pareto/NBD or MBG/NBD)
and the Gamma–Gamma spend model on a customer summary (:func:`workbench.clv.data.summarise`),
by maximum likelihood (:mod:`workbench.clv.mle`, standard errors from the observed information)
or in PyMC (:mod:`workbench.clv.bayes`, posterior intervals), and predicts per customer:

* ``p_alive``: the probability the customer is still a customer at the end of the calibration;
* ``expected_purchases``: expected purchases over the horizon;
* ``expected_spend``: expected value of one purchase (Gamma–Gamma; the population mean for a
  customer without repeat purchases);
* ``expected_revenue``: ``expected_purchases x expected_spend`` (undiscounted);
* ``clv``: the discounted value of the horizon's expected purchases (month by month, each
  month's expected purchases times the expected spend, discounted at the annual rate).

With a Bayesian fit every prediction is the posterior mean and has an interval (``*_low``,
``*_high``) over the posterior draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from workbench.clv import formulas
from workbench.clv.data import unit_days
from workbench.errors import WorkbenchError

FITS = ("mle", "bayes")
#: Days in a month and a year (the CLV's discounting steps).
MONTH_DAYS, YEAR_DAYS = 365.25 / 12, 365.25
#: Posterior draws used for per-customer predictions and intervals (a thinned subset).
PREDICTION_DRAWS = 400
#: Customers per block when predicting over posterior draws (bounds the memory).
BLOCK = 20_000


@dataclass(frozen=True)
class Fitted:
    """The fitted parameters of one model.

    Attributes
    ----------
    params : dict of str to float
        Point estimates (maximum likelihood, or posterior means), named as in the papers.
    se : dict of str to float
        Standard errors (from the observed information), or posterior standard deviations.
    draws : dict of str to ndarray, optional
        Posterior draws (Bayesian fit only).
    loglik : float
        Log-likelihood at the point estimate.
    """

    params: dict[str, float]
    se: dict[str, float]
    draws: dict[str, np.ndarray] | None
    loglik: float


class CustomerValue(BaseEstimator):
    """Buy-till-you-die purchase model + Gamma–Gamma spend model -> value per customer.

    A scikit-learn estimator in its conventions (parameters set in ``__init__`` and returned by
    ``get_params``, ``fit`` returns ``self``, learned attributes end in ``_``), fitted on a
    customer summary rather than a feature matrix.

    Parameters
    ----------
    model : {"bgnbd", "paretonbd", "mbgnbd"}
        The purchase model: BG/NBD (Fader, Hardie & Lee 2005), Pareto/NBD (Schmittlein, Morrison
        & Colombo 1987) or MBG/NBD (Batislam, Denizel & Filiztekin 2007).
    method : {"mle", "bayes"}
        Maximum likelihood (seconds, standard errors) or PyMC (posterior intervals).
    horizon_days : float, default 365
        Horizon of ``expected_purchases`` and ``clv``, in days.
    discount_rate : float, default 0.1
        Annual discount rate of the CLV.
    interval : float, default 0.9
        Width of the posterior intervals (Bayesian fit).
    seed : int, default 0
        Seed of the sampler and of the thinning of draws.
    draws, tune, chains : int, optional
        Sampler settings of a Bayesian fit (defaults of :mod:`workbench.clv.bayes`).

    Attributes
    ----------
    purchase_ : Fitted
        The purchase model.
    spend_ : Fitted or None
        The Gamma–Gamma model (None when the log has no values or fewer than 2 repeat buyers).
    time_unit_ : str
        Unit of the summary the model was fitted on.
    n_customers_ : int
    """

    def __init__(
        self,
        model: str = "bgnbd",
        method: str = "mle",
        *,
        horizon_days: float = 365.0,
        discount_rate: float = 0.1,
        interval: float = 0.9,
        seed: int = 0,
        draws: int | None = None,
        tune: int | None = None,
        chains: int | None = None,
    ) -> None:
        self.model = model
        self.method = method
        self.horizon_days = horizon_days
        self.discount_rate = discount_rate
        self.interval = interval
        self.seed = seed
        self.draws = draws
        self.tune = tune
        self.chains = chains

    # ------------------------------------------------------------------------------- fit
    def _check(self) -> None:
        if self.model not in formulas.MODELS:
            raise WorkbenchError(
                f"model must be one of {', '.join(formulas.MODELS)}, got {self.model!r}"
            )
        if self.method not in FITS:
            raise WorkbenchError(f"method must be one of {', '.join(FITS)}, got {self.method!r}")
        if not (self.horizon_days > 0 and np.isfinite(self.horizon_days)):
            raise WorkbenchError(f"horizon must be > 0 days, got {self.horizon_days!r}")
        if not (0 <= self.discount_rate < 10):
            raise WorkbenchError(f"discount rate must be in [0, 10), got {self.discount_rate!r}")
        if not (0 < self.interval < 1):
            raise WorkbenchError(f"interval must be in (0, 1), got {self.interval!r}")

    def fit(self, summary: pd.DataFrame) -> CustomerValue:
        """Fit the purchase model and (when the log has values) the spend model.

        Parameters
        ----------
        summary : DataFrame
            From :func:`workbench.clv.data.summarise`.

        Returns
        -------
        self
        """
        self._check()
        if len(summary) < 3:
            raise WorkbenchError(
                f"{len(summary)} customer(s) bought in the calibration period: too few to fit"
            )
        self.time_unit_ = str(summary.attrs.get("time_unit", "weeks"))
        self.n_customers_ = len(summary)
        x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        m = summary["monetary_value"].to_numpy(float)
        repeat = (x > 0) & np.isfinite(m) & (m > 0)
        if self.method == "mle":
            from workbench.clv.mle import fit_gamma_gamma_mle, fit_mle

            f = fit_mle(self.model, x, tx, T)
            self.purchase_ = Fitted(dict(f.params), dict(f.se), None, float(f.loglik))
            self.spend_ = None
            if repeat.sum() >= 2:
                g = fit_gamma_gamma_mle(x[repeat], m[repeat])
                self.spend_ = Fitted(dict(g.params), dict(g.se), None, float(g.loglik))
        else:
            from workbench.clv.bayes import PurchaseModel, SpendModel

            kw = {k: v for k, v in (("draws", self.draws), ("tune", self.tune),
                                     ("chains", self.chains)) if v is not None}  # fmt: skip
            # customers first seen on the calibration end (T = 0) have a likelihood of 1 under
            # any parameters: they carry no information, and the sampler's input refuses them
            pm_ = PurchaseModel(self.model, seed=self.seed, **kw).fit(summary[T > 0])
            self.purchase_ = self._from_posterior(pm_.posterior_params(), "count", x, tx, T)
            self.purchase_model_ = pm_
            self.spend_ = None
            if repeat.sum() >= 2:
                sm = SpendModel(seed=self.seed, **kw).fit(summary[repeat])
                self.spend_ = self._from_posterior(sm.posterior_params(), "spend", x[repeat],
                                                   m[repeat])  # fmt: skip
                self.spend_model_ = sm
        return self

    def _from_posterior(self, draws: dict[str, np.ndarray], kind: str, *data: np.ndarray) -> Fitted:
        params = {k: float(np.mean(v)) for k, v in draws.items()}
        se = {k: float(np.std(v, ddof=1)) for k, v in draws.items()}
        if kind == "count":
            ll = float(formulas.loglik(self.model, params, *data).sum())
        else:
            ll = float(formulas.gg_loglik(params, *data).sum())
        return Fitted(params, se, {k: np.asarray(v, float) for k, v in draws.items()}, ll)

    def _fitted(self) -> None:
        if not hasattr(self, "purchase_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("CustomerValue is not fitted yet: call fit(summary) first")

    # --------------------------------------------------------------------------- predict
    def _draws(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
        """Parameter draws (d, 1) for predictions: posterior draws, or the point estimate."""
        rng = np.random.default_rng(self.seed)
        pur, spd = self.purchase_, self.spend_

        def thin(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            n = len(next(iter(d.values())))
            idx = np.sort(rng.choice(n, min(n, PREDICTION_DRAWS), replace=False))
            return {k: np.asarray(v)[idx][:, None] for k, v in d.items()}

        if pur.draws is None:
            p = {k: np.array([[v]]) for k, v in pur.params.items()}
            s = None if spd is None else {k: np.array([[v]]) for k, v in spd.params.items()}
            return p, s
        p = thin(pur.draws)
        s = None if spd is None or spd.draws is None else thin(spd.draws)
        return p, s

    def predict(self, summary: pd.DataFrame) -> pd.DataFrame:
        """Per customer: P(alive), expected purchases, spend and revenue over the horizon, CLV.

        Parameters
        ----------
        summary : DataFrame
            Customers to predict (:func:`workbench.clv.data.summarise`, the same time unit as
            the fit).

        Returns
        -------
        DataFrame
            ``customer_id, frequency, recency, T, monetary_value, p_alive, expected_purchases,
            expected_spend, expected_revenue, clv``; with a Bayesian fit also ``*_low`` and
            ``*_high`` of the five predictions.
        """
        self._fitted()
        unit = unit_days(self.time_unit_)
        steps = np.append(np.arange(MONTH_DAYS, self.horizon_days, MONTH_DAYS), self.horizon_days)
        disc = (1 + self.discount_rate) ** -(steps / YEAR_DAYS)
        p, s = self._draws()
        x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        m = summary["monetary_value"].to_numpy(float)
        names = ("p_alive", "expected_purchases", "expected_spend", "expected_revenue", "clv")
        acc: dict[str, list[np.ndarray]] = {k: [] for k in names}
        lo_q, hi_q = (1 - self.interval) / 2, 1 - (1 - self.interval) / 2
        bayes = p[next(iter(p))].shape[0] > 1
        for b in range(0, len(x), BLOCK):
            sl = slice(b, b + BLOCK)
            args = (x[sl], tx[sl], T[sl])
            alive = formulas.p_alive(self.model, p, *args)
            cum = np.stack(
                [formulas.expected_purchases(self.model, p, t / unit, *args) for t in steps]
            )  # (steps, d, n)
            inc = np.diff(cum, axis=0, prepend=0.0)
            if s is None:
                spend = np.full_like(alive, np.nan)
            else:
                mb = np.where(np.isfinite(m[sl]), m[sl], 0.0)
                spend = formulas.gg_expected_spend(s, x[sl], mb)
                spend = np.broadcast_to(spend, alive.shape) if spend.shape != alive.shape else spend
            purchases = cum[-1]
            vals = {
                "p_alive": alive,
                "expected_purchases": purchases,
                "expected_spend": spend,
                "expected_revenue": purchases * spend,
                "clv": np.tensordot(disc, inc, axes=1) * spend,
            }
            for k, v in vals.items():
                v = np.broadcast_to(v, alive.shape)
                acc[k].append(v.mean(0))
                if bayes:
                    acc.setdefault(k + "_low", []).append(np.quantile(v, lo_q, axis=0))
                    acc.setdefault(k + "_high", []).append(np.quantile(v, hi_q, axis=0))
        out = summary[list(dict.fromkeys(["customer_id", "frequency", "recency", "T",
                                          "monetary_value"]))].reset_index(drop=True)  # fmt: skip
        for k in names:
            out[k] = np.concatenate(acc[k])
        if bayes:
            for k in names:
                out[k + "_low"] = np.concatenate(acc[k + "_low"])
                out[k + "_high"] = np.concatenate(acc[k + "_high"])
        return out

    def expected_holdout(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected purchases of each customer in the summary's holdout period (point estimate)."""
        self._fitted()
        if "duration_holdout" not in summary:
            raise WorkbenchError("the summary has no holdout period (give a holdout end)")
        p = {k: np.asarray(v) for k, v in self.purchase_.params.items()}
        x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        t = summary["duration_holdout"].to_numpy(float)
        return np.asarray(formulas.expected_purchases(self.model, p, t, x, tx, T), float)

    def parameters(self) -> dict[str, Any]:
        """The fitted parameters, named as in the papers, with their standard errors."""
        self._fitted()
        out: dict[str, Any] = {
            "model": self.model,
            "fit": self.method,
            "time_unit": self.time_unit_,
            "n_customers": self.n_customers_,
        }
        out.update(self.purchase_.params)
        se = dict(self.purchase_.se)
        out["loglik"] = self.purchase_.loglik
        if self.spend_ is not None:
            out.update(self.spend_.params)
            se.update(self.spend_.se)
            out["spend_loglik"] = self.spend_.loglik
        out["standard_errors"] = se
        if self.method == "bayes":
            lo_q, hi_q = (1 - self.interval) / 2, 1 - (1 - self.interval) / 2
            ints = {}
            for f in (self.purchase_, self.spend_):
                if f is not None and f.draws is not None:
                    for k, v in f.draws.items():
                        ints[k] = [float(np.quantile(v, lo_q)), float(np.quantile(v, hi_q))]
            out["intervals"] = ints
            out["interval"] = self.interval
        out["horizon_days"] = self.horizon_days
        out["discount_rate"] = self.discount_rate
        return out
