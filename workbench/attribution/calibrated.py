"""Attribution calibrated by holdouts: path credit scaled by each channel's incrementality factor.

Path-based models split the observed conversions among the channels that touched them; they do
not say what a channel *causes*. Holdout tests do, but only for the channels tested, and small
channels' tests are noisy. The calibrated model joins the two, the way the field calibrates
multi-touch attribution and marketing-mix models with lift tests:

* each channel's incremental conversions are its path credit times an *incrementality factor*,
  ``Δ_k = f_k · credit_k`` (the "incrementality factor" of lift-test practice: incremental over
  attributed conversions);
* a holdout of channel ``k`` measures ``Δ_k`` with a standard error and enters as a normal
  likelihood, as PyMC-Marketing's lift-test calibration adds lift measurements to a media mix
  model's likelihood and Google's Meridian turns experiments into priors on channel ROI;
* the log factors share a hierarchical prior, ``log f_k ~ Normal(μ, τ)`` with ``μ ~ Normal(log
  prior_factor, prior_spread)`` and ``τ ~ HalfNormal(pool_spread)``, so a channel without a test
  borrows strength from the tested ones and a noisy test is pulled towards them;
* *baseline* channels get no credit: direct visits are navigation (a customer who already meant
  to buy types the address), as in Google Analytics' data-driven attribution, which gives direct
  traffic no credit.

The model has two hyperparameters, so the posterior is computed by numerical integration on a
grid (``μ``, ``τ`` and each channel's ``log f_k``), exactly up to the grid's resolution, without
sampling chains; draws are then taken from it with a seed.

Where a holdout's incremental conversions come from a world, they stand for the share of the
channel's touches the test withheld from (:func:`holdout_evidence`: the measured increment
divided by ``exposure_share``); from a holdouts file, the test's relative lift is taken to hold
for every conversion of the paths (the fraction of conversions the channel caused, times the
paths' conversions).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import logsumexp

from workbench.errors import WorkbenchError

#: Channels that get no credit by default (navigation, not a cause).
BASELINE_CHANNELS = ("direct",)


def holdout_evidence(incrementality: pd.DataFrame, total_conversions: float) -> pd.DataFrame:
    """What each holdout says about its channel's incremental conversions in the attributed data.

    Parameters
    ----------
    incrementality : DataFrame
        :func:`~workbench.attribution.incrementality.world_incrementality` or
        :func:`~workbench.attribution.incrementality.file_incrementality`: overall rows (segment
        rows are ignored; a table of segment rows only is an error).
    total_conversions : float
        The conversions of the attributed paths.

    Returns
    -------
    DataFrame
        ``channel, incremental, incremental_sd, scaled_by``, one row per holdout (a channel may
        have several, e.g. rotating tests). A world's test is scaled by its ``exposure_share``;
        a file's by its relative lift: ``1 - rate_holdout / rate_exposed`` of all conversions.
    """
    cols = ["channel", "incremental", "incremental_sd", "scaled_by"]
    if incrementality is None or incrementality.empty:
        return pd.DataFrame(columns=cols)
    inc = incrementality
    if "segment" in inc.columns:
        inc = inc[inc["segment"].isna()]
        if inc.empty:
            raise WorkbenchError(
                "the calibrated model needs each holdout's overall result, not its segments' "
                "(world_incrementality without segments)"
            )
    rows = []
    for r in inc.itertuples(index=False):
        share = getattr(r, "exposure_share", np.nan)
        if share is not None and np.isfinite(share) and share > 0:
            rows.append(
                [
                    r.channel,
                    r.incremental_conversions / share,
                    r.incremental_conversions_sd / share,
                    "exposure share",
                ]
            )
        elif r.rate_exposed > 0:
            caused = 1 - r.rate_holdout / r.rate_exposed
            sd = r.incremental_conversions_sd / r.n_exposed / r.rate_exposed
            rows.append(
                [r.channel, caused * total_conversions, sd * total_conversions, "relative lift"]
            )
    return pd.DataFrame(rows, columns=cols)


class CalibratedAttribution:
    """Path credit scaled by holdout-informed incrementality factors (see the module text).

    Parameters
    ----------
    baseline : sequence of str, default ("direct",)
        Channels that get no credit.
    prior_factor : float, default 1.0
        Prior median of the pooled factor (1: credit equals cause).
    prior_spread : float, default 2.0
        Prior standard deviation of the pooled log factor ``μ``.
    pool_spread : float, default 1.0
        Scale of the half-normal prior of ``τ``, the spread of the channels' log factors.
    interval : float, default 0.9
        Probability of the equal-tailed intervals.
    n_draws : int, default 4000
        Posterior draws kept in :attr:`draws_`.
    seed : int, default 0
        Seed of the draws.

    Attributes
    ----------
    attribution_ : DataFrame
        ``channel, conversions, value, share, value_share, conversions_low, conversions_high,
        share_low, share_high, value_low, value_high, factor, factor_low, factor_high,
        credited, holdouts``: posterior medians of each channel's incremental conversions and
        value (shares are of their sum), intervals, the factor, the base model's credit and the
        number of holdouts behind it.
    draws_ : ndarray
        ``(n_draws, channels)`` draws of the incremental conversions, in the table's order.
    pooled_factor_ : float
        Posterior median of ``exp(μ)``, the factor a channel without a holdout starts from.
    pool_spread_ : float
        Posterior mean of ``τ``.
    """

    #: Grid sizes of ``log f``, ``μ`` and ``τ``.
    GRID = (601, 101, 80)

    def __init__(
        self,
        baseline: Sequence[str] = BASELINE_CHANNELS,
        prior_factor: float = 1.0,
        prior_spread: float = 2.0,
        pool_spread: float = 1.0,
        interval: float = 0.9,
        n_draws: int = 4000,
        seed: int = 0,
    ) -> None:
        self.baseline = baseline
        self.prior_factor = prior_factor
        self.prior_spread = prior_spread
        self.pool_spread = pool_spread
        self.interval = interval
        self.n_draws = n_draws
        self.seed = seed

    def _check(self) -> None:
        for name in ("prior_factor", "prior_spread", "pool_spread"):
            v = getattr(self, name)
            if not (isinstance(v, int | float) and np.isfinite(v) and v > 0):
                raise WorkbenchError(f"{name} must be a positive number, got {v!r}")
        if not 0 < self.interval < 1:
            raise WorkbenchError(f"interval must be in (0, 1), got {self.interval}")
        if int(self.n_draws) < 100:
            raise WorkbenchError(f"n_draws must be at least 100, got {self.n_draws}")

    def fit(self, credit: pd.DataFrame, evidence: pd.DataFrame) -> CalibratedAttribution:
        """Combine a base model's credit with holdout evidence.

        Parameters
        ----------
        credit : DataFrame
            The base model's :func:`~workbench.attribution.attribute` output (``channel,
            conversions, value``).
        evidence : DataFrame
            :func:`holdout_evidence` (``channel, incremental, incremental_sd``); may be empty.

        Returns
        -------
        CalibratedAttribution
            ``self``.
        """
        self._check()
        unknown = sorted(set(evidence["channel"]) - set(credit["channel"]))
        if unknown:
            have = ", ".join(map(str, credit["channel"]))
            raise WorkbenchError(
                f"holdout for channel '{unknown[0]}', which no path touches (channels: {have})"
            )
        credit = credit.sort_values("channel", kind="stable").reset_index(drop=True)
        channels = credit["channel"].astype(str).to_numpy()
        c = credit["conversions"].to_numpy(float)
        free = ~np.isin(channels, list(self.baseline)) & (c > 0)
        n_tests = np.array([(evidence["channel"] == ch).sum() for ch in channels])
        draws = np.zeros((int(self.n_draws), len(channels)))
        factors = np.zeros_like(draws)
        if free.any():
            f, mu, tau = self._posterior(c[free], channels[free], evidence)
            factors[:, free] = f
            draws[:, free] = f * c[free]
            self.pooled_factor_ = float(np.exp(np.median(mu)))
            self.pool_spread_ = float(np.mean(tau))
        else:
            self.pooled_factor_, self.pool_spread_ = np.nan, np.nan
        self.draws_ = draws
        self.attribution_ = self._table(credit, draws, factors, free, n_tests)
        return self

    def _posterior(
        self, c: np.ndarray, channels: np.ndarray, evidence: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Draws of each channel's factor and of ``μ``, ``τ`` (grid integration)."""
        ng, nm, nt = self.GRID
        lo_mu = np.log(self.prior_factor) - 4 * self.prior_spread
        hi_mu = np.log(self.prior_factor) + 4 * self.prior_spread
        theta = np.linspace(min(lo_mu, -12.0), max(hi_mu, 5.0), ng)
        mus = np.linspace(lo_mu, hi_mu, nm)
        taus = np.linspace(4 * self.pool_spread / nt, 4 * self.pool_spread, nt)
        # each channel's log-likelihood over the theta grid (0 without a holdout)
        loglik = np.zeros((len(c), ng))
        for i, ch in enumerate(channels):
            ev = evidence[evidence["channel"] == ch]
            for inc, sd in zip(ev["incremental"], ev["incremental_sd"], strict=True):
                loglik[i] += stats.norm.logpdf(inc, np.exp(theta) * c[i], max(sd, 1e-9))
        # prior of theta given (mu, tau), normalised on the grid
        logp = stats.norm.logpdf(theta[None, None, :], mus[:, None, None], taus[None, :, None])
        logp -= logsumexp(logp, axis=-1)[..., None]
        post = (
            stats.norm.logpdf(mus, np.log(self.prior_factor), self.prior_spread)[:, None]
            + stats.halfnorm.logpdf(taus, scale=self.pool_spread)[None, :]
        )
        for i in np.flatnonzero(loglik.any(axis=1)):
            post = post + logsumexp(logp + loglik[i], axis=-1)
        w = np.exp(post - post.max()).ravel()
        rng = np.random.default_rng(self.seed)
        cell = rng.choice(w.size, size=int(self.n_draws), p=w / w.sum())
        mi, ti = np.unravel_index(cell, post.shape)
        step = theta[1] - theta[0]
        f = np.empty((int(self.n_draws), len(c)))
        for i in range(len(c)):
            cond = logp[mi, ti] + loglik[i]
            p = np.exp(cond - cond.max(axis=1, keepdims=True))
            cdf = np.cumsum(p, axis=1)
            u = rng.random(int(self.n_draws))[:, None] * cdf[:, -1:]
            k = np.minimum((cdf < u).sum(axis=1), ng - 1)
            f[:, i] = np.exp(theta[k] + (rng.random(int(self.n_draws)) - 0.5) * step)
        return f, mus[mi], taus[ti]

    def _table(
        self,
        credit: pd.DataFrame,
        draws: np.ndarray,
        factors: np.ndarray,
        free: np.ndarray,
        n_tests: np.ndarray,
    ) -> pd.DataFrame:
        q = [0.5 - self.interval / 2, 0.5 + self.interval / 2]
        c = credit["conversions"].to_numpy(float)
        aov = np.divide(credit["value"].to_numpy(float), c, out=np.zeros_like(c), where=c > 0)
        total = draws.sum(axis=1, keepdims=True)
        shares = np.divide(draws, total, out=np.zeros_like(draws), where=total > 0)
        conv = np.median(draws, axis=0)
        value = conv * aov
        out = pd.DataFrame(
            {
                "channel": credit["channel"].astype(str).to_numpy(),
                "conversions": conv,
                "value": value,
                "share": conv / conv.sum() if conv.sum() > 0 else 0.0,
                "value_share": value / value.sum() if value.sum() > 0 else 0.0,
                "conversions_low": np.quantile(draws, q[0], axis=0),
                "conversions_high": np.quantile(draws, q[1], axis=0),
                "share_low": np.quantile(shares, q[0], axis=0),
                "share_high": np.quantile(shares, q[1], axis=0),
                "value_low": np.quantile(draws, q[0], axis=0) * aov,
                "value_high": np.quantile(draws, q[1], axis=0) * aov,
                "factor": np.where(free, np.median(factors, axis=0), 0.0),
                "factor_low": np.where(free, np.quantile(factors, q[0], axis=0), 0.0),
                "factor_high": np.where(free, np.quantile(factors, q[1], axis=0), 0.0),
                "credited": c,
                "holdouts": n_tests.astype(np.int64),
            }
        )
        return out
