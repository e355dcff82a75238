"""A Gaussian mixture of true feature values seen through known measurement noise.

Most behavioural features of a subscriber are averages over a handful of events: an open rate
over 30 emails, a click share over 4 clicks, a weekend reading hour over 3 opens. Such a value is
the subscriber's true propensity plus noise whose variance is known from the count behind it, and
it is missing altogether when there were no events (no opens: no reading hour). A plain Gaussian
mixture or k-means treats every value as exact; shrinking the values first (empirical Bayes)
pulls every poorly measured subscriber towards the base and so into whichever segment sits
nearest the base.

:class:`DeconvolvedMixture` fits the mixture to the *true* values instead: in segment ``k`` the
true value of feature ``j`` is ``N(mean[k, j], var[k, j])`` (diagonal covariance), and the
observed value is that plus independent noise of known variance ``noise[i, j]``, so that::

    x[i, j] | segment k  ~  N(mean[k, j], var[k, j] + noise[i, j])

Missing values (NaN) drop out of the likelihood: a subscriber without email history is placed by
the features it has (orders, tenure). The model is fitted by the EM algorithm of *extreme
deconvolution* (Bovy, Hogg & Roweis 2011, Annals of Applied Statistics 5(2B)), restricted to
diagonal covariances so that it is vectorised over subscribers, segments and features. Its
likelihood is exact, so the information criteria (BIC, ICL) of :meth:`DeconvolvedMixture.bic` and
:meth:`~DeconvolvedMixture.icl` compare numbers of segments.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans

from workbench.errors import WorkbenchError

_LOG_2PI = float(np.log(2 * np.pi))
#: Subscribers per block of the vectorised E-step (bounds memory: block x k x d floats).
_BLOCK = 50_000


class DeconvolvedMixture(ClusterMixin, BaseEstimator):
    """Diagonal Gaussian mixture fitted through per-value measurement noise.

    Parameters
    ----------
    n_components : int, default 8
        Number of mixture components (segments).
    reg_covar : float, default 0.1
        Floor added to every component variance (in the units of ``X``). Discrete features (a
        count of 0 orders shared by half the base) would otherwise let a component collapse
        onto one exact value.
    n_init : int, default 4
        Starts (k-means++ on the values shrunk as by a unit-variance prior, one seed each;
        every other start weighs each row by how well it is measured); the fit with the
        highest likelihood is kept.
    max_iter : int, default 200
        EM iterations per start.
    tol : float, default 1e-3
        Stop when the mean log-likelihood per row improves by less than this.
    random_state : int, default 0
        Seed of the starts.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
        Component means of the true values.
    variances_ : ndarray of shape (n_components, n_features)
        Component variances of the true values (noise removed).
    lower_bound_ : float
        Mean log-likelihood per row of the kept fit.
    n_iter_ : int
        EM iterations of the kept fit.
    converged_ : bool
    labels_ : ndarray of int
        Most probable component of each training row.

    Notes
    -----
    ``fit``, ``predict`` and the scores take ``X`` (NaN = missing) and ``noise_var``, the
    variance of the measurement noise of each value (same shape; ``None`` = exact values).
    """

    def __init__(
        self,
        n_components: int = 8,
        reg_covar: float = 0.1,
        n_init: int = 4,
        max_iter: int = 200,
        tol: float = 1e-3,
        random_state: int = 0,
    ) -> None:
        self.n_components = n_components
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self, X: np.ndarray, y: None = None, noise_var: np.ndarray | None = None
    ) -> DeconvolvedMixture:
        """Fit the mixture by EM from ``n_init`` k-means starts; keep the most likely fit."""
        x, s, obs = _inputs(X, noise_var)
        k = int(self.n_components)
        if k < 1 or len(x) < k:
            raise WorkbenchError(f"{len(x)} rows cannot make {k} mixture components")
        # every other start weighs each row by how well it is measured, so that rows with
        # little evidence (shrunk to the centre) do not shape the starting segments
        shrunk = np.where(obs, x / (1.0 + s), 0.0)
        evidence = np.where(obs, 1.0 / (1.0 + s), 0.0).mean(axis=1) + 1e-6
        best = None
        for start in range(max(1, int(self.n_init))):
            seed = int(self.random_state) + start
            weight = evidence if start % 2 else np.ones(len(x))
            km = KMeans(k, n_init=1, random_state=seed).fit(shrunk, sample_weight=weight)
            params = self._m_step_start(x, obs, np.eye(k)[km.labels_] * weight[:, None])
            fit = self._em(x, s, obs, params)
            if best is None or fit[3] > best[3]:
                best = fit
        assert best is not None
        self.weights_, self.means_, self.variances_, self.lower_bound_ = best[:4]
        self.n_iter_, self.converged_ = best[4], best[5]
        self.labels_ = self._resp_and_ll(x, s, obs)[0].argmax(axis=1)
        return self

    def _em(
        self,
        x: np.ndarray,
        s: np.ndarray,
        obs: np.ndarray,
        start: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, int, bool]:
        reg = float(self.reg_covar)
        w, m, v = start
        prev, ll, n_iter, converged = -np.inf, -np.inf, 0, False
        while n_iter < int(self.max_iter):
            n_iter += 1
            nk = np.zeros(len(w))
            sum_b = np.zeros_like(m)
            sum_b2 = np.zeros_like(m)
            ll = 0.0
            for lo in range(0, len(x), _BLOCK):
                sl = slice(lo, lo + _BLOCK)
                r, lli, inv_t, d = _e_step(x[sl], s[sl], obs[sl], w, m, v)
                ll += float(lli.sum())
                v32 = v[None].astype(np.float32)
                gain = v32 * inv_t  # 0 where the value is missing
                b = m[None].astype(np.float32) + gain * d  # posterior mean of the true value
                second = b * b + v32 * (1.0 - gain)  # its second moment
                r32 = r.astype(np.float32)
                nk += r.sum(axis=0)
                sum_b += np.einsum("ik,ikd->kd", r32, b, dtype=np.float64)
                sum_b2 += np.einsum("ik,ikd->kd", r32, second, dtype=np.float64)
            ll /= len(x)
            nk = np.maximum(nk, 1e-12)
            w = nk / nk.sum()
            m = sum_b / nk[:, None]
            v = np.maximum(sum_b2 / nk[:, None] - m * m, 0.0) + reg
            if ll - prev < self.tol:
                converged = True
                break
            prev = ll
        return w, m, v, ll, n_iter, converged

    def _m_step_start(
        self, x: np.ndarray, obs: np.ndarray, resp: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights, means and variances of (weighted) starting labels, observed values only."""
        nk = resp.sum(axis=0) + 1e-12
        cnt = np.maximum(resp.T @ obs, 1e-12)
        xo = np.where(obs, x, 0.0)
        m = (resp.T @ xo) / cnt
        v = np.maximum((resp.T @ (xo * xo)) / cnt - m * m, 0.0) + float(self.reg_covar)
        return nk / nk.sum(), m, v

    # ----------------------------------------------------------------------------- scoring
    def _check(self) -> None:
        if not hasattr(self, "means_"):
            raise WorkbenchError("DeconvolvedMixture is not fitted yet: call fit first")

    def _resp_and_ll(
        self, x: np.ndarray, s: np.ndarray, obs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        resp = np.empty((len(x), len(self.weights_)))
        ll = np.empty(len(x))
        for lo in range(0, len(x), _BLOCK):
            sl = slice(lo, lo + _BLOCK)
            resp[sl], ll[sl] = _e_step(
                x[sl], s[sl], obs[sl], self.weights_, self.means_, self.variances_
            )[:2]
        return resp, ll

    def predict_proba(self, X: np.ndarray, noise_var: np.ndarray | None = None) -> np.ndarray:
        """Posterior probability of each component for each row."""
        self._check()
        return self._resp_and_ll(*_inputs(X, noise_var))[0]

    def predict(self, X: np.ndarray, noise_var: np.ndarray | None = None) -> np.ndarray:
        """Most probable component of each row."""
        return self.predict_proba(X, noise_var).argmax(axis=1)

    def score_samples(self, X: np.ndarray, noise_var: np.ndarray | None = None) -> np.ndarray:
        """Log-likelihood of each row (its observed values, noise included)."""
        self._check()
        return self._resp_and_ll(*_inputs(X, noise_var))[1]

    def n_parameters(self) -> int:
        """Free parameters: weights, then a mean and a variance per component and feature."""
        self._check()
        k, d = self.means_.shape
        return (k - 1) + 2 * k * d

    def bic(self, X: np.ndarray, noise_var: np.ndarray | None = None) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        ll = self.score_samples(X, noise_var)
        return float(-2 * ll.sum() + self.n_parameters() * np.log(len(ll)))

    def icl(self, X: np.ndarray, noise_var: np.ndarray | None = None) -> float:
        """Integrated completed likelihood (lower is better): BIC plus twice the entropy of the
        assignments, so that it prefers well-separated segments to components that only shape
        the density (Biernacki, Celeux & Govaert 2000)."""
        self._check()
        resp, ll = self._resp_and_ll(*_inputs(X, noise_var))
        entropy = -float(np.sum(resp * np.log(np.clip(resp, 1e-300, None))))
        return float(-2 * ll.sum() + self.n_parameters() * np.log(len(ll)) + 2 * entropy)


def _inputs(
    X: np.ndarray, noise_var: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values with missing set to 0, noise variances, and the mask of observed values."""
    x = np.asarray(X, dtype=float)
    if x.ndim != 2:
        raise WorkbenchError(f"X must be 2-D, got shape {x.shape}")
    s = np.zeros_like(x) if noise_var is None else np.asarray(noise_var, dtype=float)
    if s.shape != x.shape:
        raise WorkbenchError(f"noise_var has shape {s.shape}, X has shape {x.shape}")
    obs = np.isfinite(x) & np.isfinite(s)
    if np.any(s[obs] < 0):
        raise WorkbenchError("noise variances must not be negative")
    return np.where(obs, x, 0.0), np.where(obs, s, 0.0), obs


def _e_step(
    x: np.ndarray,
    s: np.ndarray,
    obs: np.ndarray,
    w: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Responsibilities, row log-likelihoods, inverse total variances and deviations of a block.

    Missing values get an inverse total variance of 0, so they add nothing to the likelihood
    and their posterior is the component's own distribution. The per-value arrays are single
    precision (half the memory traffic); sums over features are accumulated in double.
    """
    o = obs[:, None, :].astype(np.float32)
    t = v[None].astype(np.float32) + s[:, None, :].astype(np.float32)
    inv_t = o / t
    d = x[:, None, :].astype(np.float32) - m[None].astype(np.float32)
    terms = o * np.log(t)
    terms += d * d * inv_t
    ll = -0.5 * (terms.sum(axis=2, dtype=np.float64) + _LOG_2PI * obs.sum(axis=1)[:, None])
    ll += np.log(w)[None]
    top = ll.max(axis=1, keepdims=True)
    p = np.exp(ll - top)
    total = p.sum(axis=1, keepdims=True)
    return p / total, (top + np.log(total)).ravel(), inv_t, d
