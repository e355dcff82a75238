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
the features it has (orders, tenure).

Categorical attributes (acquisition source, region: integer codes, -1 = missing) may be modelled
beside the numeric features, as one categorical distribution per segment and attribute (a
latent-class model, with one pseudo-count per level so that no level has probability 0). Such
attributes are known exactly and do not fade when a subscriber stops reading, so they keep a
lapsed reader beside the segment it came from.

With ``n_states > 1`` each segment is itself a small mixture of lifecycle *states* that share
everything but a few features (how much a subscriber opens, clicks and buys, and since when they
are on the list): a lasting habit is what a segment's states share, and a stage of decline or a
signup cohort is a state inside it rather than a segment of its own (issue 12: with one Gaussian
per segment, the information criterion kept one segment per stage).

The model is fitted by the EM algorithm of *extreme deconvolution* (Bovy, Hogg & Roweis 2011,
Annals of Applied Statistics 5(2B)), restricted to diagonal covariances so that it is vectorised
over subscribers, segments and features. Its likelihood is exact, so the information criteria
(BIC, ICL) of :meth:`DeconvolvedMixture.bic` and :meth:`~DeconvolvedMixture.icl` compare numbers
of segments.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted, validate_data

from workbench.errors import EstimatorInputError
from workbench.segment._em_kernel import em_pass

#: Subscribers per call of the compiled pass (bounds memory: block x components floats).
_BLOCK = 100_000
#: One EM run: weights, means, variances, level probabilities, mean log-likelihood per row,
#: iterations, converged.
_Fit = tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray], float, int, bool]
#: Pseudo-count added to every level of a categorical attribute in every component.
_PSEUDOCOUNT = 1.0


class AllowNaNMixin:
    """Declares to scikit-learn (its tags) that missing values (NaN) are valid input."""

    def __sklearn_tags__(self) -> Tags:
        """scikit-learn tags with ``input_tags.allow_nan``."""
        tags = super().__sklearn_tags__()  # type: ignore[misc]
        tags.input_tags.allow_nan = True
        return tags


class DeconvolvedMixture(AllowNaNMixin, ClusterMixin, BaseEstimator):
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
    n_states : int, default 1
        Sub-components (lifecycle states) per component. They share every feature but the
        ``state_features``, which get their own mean and variance per state: a segment whose
        members are at different stages of their lifecycle (reading everything, went quiet, just
        joined) stays one segment with several states instead of one segment per stage.
    state_features : sequence of int, optional
        Column positions of the state features (:data:`workbench.segment.policy.STATE_FEATURES`
        in a :class:`~workbench.segment.Segmenter`). Without any, ``n_states`` is unused.
    init_size : int or None, default None
        Rows (a seeded random subsample) the ``n_init`` starts are run on; EM then refines the
        most likely of them on every row. ``None``: the starts run on every row. As in
        :class:`~sklearn.cluster.MiniBatchKMeans`, this buys speed on large inputs.
    n_jobs : int or None, default None
        Threads the starts, and the scoring of large inputs, run on (the compiled EM pass
        releases the GIL); ``None`` means 1 and -1 every core, as in scikit-learn. The results
        do not depend on it.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
        Component means of the true values (over its states).
    variances_ : ndarray of shape (n_components, n_features)
        Component variances of the true values (noise removed; over its states).
    state_weights_ : ndarray of shape (n_components, n_states)
        Weight of each state of each component (they sum to ``weights_``).
    state_means_, state_variances_ : ndarray of shape (n_components, n_states, n_features)
        Mean and variance of each state (equal across a component's states except for the
        state features).
    state_mask_ : ndarray of bool, shape (n_features,)
        Which features are state features.
    lower_bound_ : float
        Mean log-likelihood per row of the kept fit.
    n_iter_ : int
        EM iterations of the kept fit.
    converged_ : bool
    n_levels_ : list of int
        Number of levels of each categorical attribute (the largest code seen in ``fit`` + 1).
    category_probs_ : list of ndarray of shape (n_components, n_levels)
        For each categorical attribute, the probability of each level in each component
        (empty when fitted without ``categories``).
    labels_ : ndarray of int
        Most probable component of each training row.

    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Their names, when ``X`` was a DataFrame with string column names.

    Notes
    -----
    ``fit``, ``predict`` and the scores take ``X`` (NaN = missing), ``noise_var``, the
    variance of the measurement noise of each value (same shape; ``None`` = exact values), and
    ``categories``, integer codes of categorical attributes (shape ``(n_rows, n_attributes)``,
    ``-1`` = missing; ``None`` = none). A code not seen in ``fit`` counts as missing.
    """

    def __init__(
        self,
        n_components: int = 8,
        reg_covar: float = 0.1,
        n_init: int = 4,
        max_iter: int = 200,
        tol: float = 1e-3,
        random_state: int = 0,
        n_states: int = 1,
        state_features: Sequence[int] | None = None,
        init_size: int | None = None,
        n_jobs: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.n_states = n_states
        self.state_features = state_features
        self.init_size = init_size
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------------------ fitting
    def fit(
        self,
        X: np.ndarray,
        y: None = None,
        noise_var: np.ndarray | None = None,
        categories: np.ndarray | None = None,
    ) -> DeconvolvedMixture:
        """Fit the mixture by EM from ``n_init`` k-means starts; keep the most likely fit
        (with ``init_size``: the starts on a subsample, the most likely refined on all rows)."""
        X = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        x, s, obs = _inputs(X, noise_var)
        codes = _codes(categories, len(x))
        self.n_levels_ = [int(c.max(initial=-1)) + 1 for c in codes.T]
        k = int(self.n_components)
        if k < 1 or len(x) < k:
            raise EstimatorInputError(
                f"{len(x)} rows cannot make {k} mixture components (n_samples={len(x)})"
            )
        self.state_mask_ = _state_mask(self.state_features, x.shape[1])
        n_states = max(1, int(self.n_states)) if self.state_mask_.any() else 1
        # the starts run on a seeded subsample of init_size rows (all rows when None or more)
        rows = np.arange(len(x))
        if self.init_size is not None and len(x) > max(int(self.init_size), k):
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(len(x), size=int(self.init_size), replace=False))
        xs, ss, os_, cs = x[rows], s[rows], obs[rows], codes[rows]
        # every other start weighs each row by how well it is measured, so that rows with
        # little evidence (shrunk to the centre) do not shape the starting segments
        shrunk = np.where(os_, xs / (1.0 + ss), 0.0)
        evidence = np.where(os_, 1.0 / (1.0 + ss), 0.0).mean(axis=1) + 1e-6

        def run(start: int) -> _Fit:
            seed = int(self.random_state) + start
            weight = evidence if start % 2 else np.ones(len(xs))
            km = KMeans(k, n_init=1, random_state=seed).fit(shrunk, sample_weight=weight)
            resp = np.eye(k)[km.labels_] * weight[:, None]
            params = _split_states(self._m_step_start(xs, os_, resp), n_states, self.state_mask_)
            probs = [_level_probs(resp, c, n) for c, n in zip(cs.T, self.n_levels_, strict=True)]
            return self._em(xs, ss, os_, cs, params, probs, n_states)

        fits = Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(run)(start) for start in range(max(1, int(self.n_init)))
        )
        best = None
        for fit in fits:  # the first of equally likely fits, whatever the threads' order
            if best is None or fit[4] > best[4]:
                best = fit
        assert best is not None
        if len(rows) < len(x):  # the most likely start, refined on every row
            best = self._em(x, s, obs, codes, best[:3], best[3], n_states)
        w, m, v, self.category_probs_ = best[:4]
        self.lower_bound_, self.n_iter_, self.converged_ = best[4:]
        d = x.shape[1]
        self.state_weights_ = w.reshape(k, n_states)
        self.state_means_ = m.reshape(k, n_states, d)
        self.state_variances_ = v.reshape(k, n_states, d)
        self.weights_ = self.state_weights_.sum(axis=1)
        share = self.state_weights_ / self.weights_[:, None]
        self.means_ = np.einsum("kl,kld->kd", share, self.state_means_)
        second = np.einsum("kl,kld->kd", share, self.state_variances_ + self.state_means_**2)
        self.variances_ = second - self.means_**2
        self.labels_ = self._resp_and_ll(x, s, obs, codes)[0].argmax(axis=1)
        return self

    def _em(
        self,
        x: np.ndarray,
        s: np.ndarray,
        obs: np.ndarray,
        codes: np.ndarray,
        start: tuple[np.ndarray, np.ndarray, np.ndarray],
        probs: list[np.ndarray],
        n_states: int = 1,
    ) -> _Fit:
        """EM over the ``n_components * n_states`` sub-components (state-major per component);
        the sub-components of a component share everything but the state features."""
        reg = float(self.reg_covar)
        w, m, v = start
        k = len(w) // n_states
        pooled = ~self.state_mask_
        prev, ll, n_iter, converged = -np.inf, -np.inf, 0, False
        while n_iter < int(self.max_iter):
            n_iter += 1
            nk = np.zeros(len(w))
            sum_b = np.zeros_like(m)
            sum_b2 = np.zeros_like(m)
            level_counts = [np.zeros_like(p) for p in probs]
            ll = 0.0
            for lo in range(0, len(x), _BLOCK):
                sl = slice(lo, lo + _BLOCK)
                extra = _category_ll(codes[sl], probs, n_states)
                r, lli, nk_b, b_b, b2_b = em_pass(
                    x[sl], s[sl], obs[sl], np.log(w), m, v, _or_empty(extra), True
                )
                ll += float(lli.sum())
                nk += nk_b
                sum_b += b_b
                sum_b2 += b2_b
                rk = r if n_states == 1 else r.reshape(len(r), k, n_states).sum(axis=2)
                for j, counts in enumerate(level_counts):
                    counts += _level_counts(rk, codes[sl, j], counts.shape[1])
            ll /= len(x)
            nk = np.maximum(nk, 1e-12)
            w = nk / nk.sum()
            if n_states > 1:  # pool the sub-components' sums over the shared features
                for arr in (sum_b, sum_b2):
                    total = arr.reshape(k, n_states, -1).sum(axis=1)
                    arr[:, pooled] = np.repeat(total, n_states, axis=0)[:, pooled]
                nk_d = np.where(
                    pooled[None],
                    np.repeat(nk.reshape(k, n_states).sum(axis=1), n_states)[:, None],
                    nk[:, None],
                )
            else:
                nk_d = nk[:, None]
            m = sum_b / nk_d
            v = np.maximum(sum_b2 / nk_d - m * m, 0.0) + reg
            probs = [_normalise(c) for c in level_counts]
            if ll - prev < self.tol:
                converged = True
                break
            prev = ll
        return w, m, v, probs, ll, n_iter, converged

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
    def _resp_and_ll(
        self, x: np.ndarray, s: np.ndarray, obs: np.ndarray, codes: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        k, n_states = self.state_weights_.shape
        w = self.state_weights_.ravel()
        m = self.state_means_.reshape(k * n_states, -1)
        v = self.state_variances_.reshape(k * n_states, -1)
        resp = np.empty((len(x), k))
        ll = np.empty(len(x))

        def block(lo: int) -> None:  # rows lo .. lo + _BLOCK, written in place
            sl = slice(lo, lo + _BLOCK)
            extra = _category_ll(codes[sl], self.category_probs_, n_states)
            r, ll[sl] = em_pass(x[sl], s[sl], obs[sl], np.log(w), m, v, _or_empty(extra), False)[:2]
            resp[sl] = r if n_states == 1 else r.reshape(len(r), k, n_states).sum(axis=2)

        starts = range(0, len(x), _BLOCK)
        if len(starts) > 1:
            Parallel(n_jobs=self.n_jobs, prefer="threads")(delayed(block)(lo) for lo in starts)
        else:
            block(0)
        return resp, ll

    def _score_inputs(
        self, X: np.ndarray, noise_var: np.ndarray | None, categories: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, ensure_all_finite="allow-nan")
        x, s, obs = _inputs(X, noise_var)
        codes = _codes(categories, len(x), self.n_levels_)
        return x, s, obs, codes

    def predict_proba(
        self,
        X: np.ndarray,
        noise_var: np.ndarray | None = None,
        categories: np.ndarray | None = None,
    ) -> np.ndarray:
        """Posterior probability of each component for each row."""
        return self._resp_and_ll(*self._score_inputs(X, noise_var, categories))[0]

    def predict(
        self,
        X: np.ndarray,
        noise_var: np.ndarray | None = None,
        categories: np.ndarray | None = None,
    ) -> np.ndarray:
        """Most probable component of each row."""
        return self.predict_proba(X, noise_var, categories).argmax(axis=1)

    def score_samples(
        self,
        X: np.ndarray,
        noise_var: np.ndarray | None = None,
        categories: np.ndarray | None = None,
    ) -> np.ndarray:
        """Log-likelihood of each row (its observed values, noise included)."""
        return self._resp_and_ll(*self._score_inputs(X, noise_var, categories))[1]

    def n_parameters(self) -> int:
        """Free parameters: weights, a mean and a variance per component and feature (per
        sub-component for the state features), and the level probabilities of each
        categorical attribute."""
        check_is_fitted(self)
        k, n_states, d = self.state_means_.shape
        d_state = int(np.count_nonzero(self.state_mask_)) if n_states > 1 else 0
        return (
            (k * n_states - 1)
            + 2 * k * (d - d_state)
            + 2 * k * n_states * d_state
            + sum(k * max(n - 1, 0) for n in self.n_levels_)
        )

    def bic(
        self,
        X: np.ndarray,
        noise_var: np.ndarray | None = None,
        categories: np.ndarray | None = None,
    ) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        ll = self.score_samples(X, noise_var, categories)
        return float(-2 * ll.sum() + self.n_parameters() * np.log(len(ll)))

    def icl(
        self,
        X: np.ndarray,
        noise_var: np.ndarray | None = None,
        categories: np.ndarray | None = None,
    ) -> float:
        """Integrated completed likelihood (lower is better): BIC plus twice the entropy of the
        assignments, so that it prefers well-separated segments to components that only shape
        the density (Biernacki, Celeux & Govaert 2000)."""
        resp, ll = self._resp_and_ll(*self._score_inputs(X, noise_var, categories))
        entropy = assignment_entropy(resp)
        return float(-2 * ll.sum() + self.n_parameters() * np.log(len(ll)) + 2 * entropy)


def assignment_entropy(resp: np.ndarray) -> float:
    """Total entropy of soft assignments (one row of component probabilities per subscriber)."""
    return -float(np.sum(resp * np.log(np.clip(resp, 1e-300, None))))


def _inputs(
    X: np.ndarray, noise_var: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values with missing set to 0, noise variances, and the mask of observed values."""
    x = np.asarray(X, dtype=float)
    s = np.zeros_like(x) if noise_var is None else np.asarray(noise_var, dtype=float)
    if s.shape != x.shape:
        raise EstimatorInputError(f"noise_var has shape {s.shape}, X has shape {x.shape}")
    obs = np.isfinite(x) & np.isfinite(s)
    if np.any(s[obs] < 0):
        raise EstimatorInputError("noise variances must not be negative")
    return np.where(obs, x, 0.0), np.where(obs, s, 0.0), obs


def _codes(
    categories: np.ndarray | None, n_rows: int, levels: list[int] | None = None
) -> np.ndarray:
    """Integer codes of categorical attributes, shape ``(n_rows, n_attributes)``.

    With ``levels`` (a fitted model's), codes outside ``0 .. levels - 1`` become -1 (missing).
    """
    n_attr = len(levels) if levels is not None else 0
    if categories is None:
        if n_attr:
            raise EstimatorInputError(
                f"the mixture was fitted with {n_attr} categorical attributes"
            )
        return np.zeros((n_rows, 0), dtype=np.int64)
    c = np.asarray(categories)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or len(c) != n_rows:
        raise EstimatorInputError(
            f"categories has shape {c.shape}, expected ({n_rows}, n_attributes)"
        )
    if not np.issubdtype(c.dtype, np.integer):
        raise EstimatorInputError("categories must be integer codes (-1 = missing)")
    if levels is not None and c.shape[1] != n_attr:
        raise EstimatorInputError(
            f"categories has {c.shape[1]} columns, the mixture was fitted on {n_attr}"
        )
    if np.any(c < -1):
        raise EstimatorInputError("category codes must be >= 0 (-1 = missing)")
    c = c.astype(np.int64)
    if levels is not None:
        c = np.where(c < np.asarray(levels, dtype=np.int64)[None, :], c, -1)
    return c


def _level_counts(resp: np.ndarray, code: np.ndarray, n_levels: int) -> np.ndarray:
    """Responsibility-weighted count of each level in each component (missing codes skipped)."""
    ok = code >= 0
    c, r = code[ok], resp[ok]
    return np.stack(
        [np.bincount(c, weights=r[:, j], minlength=n_levels) for j in range(r.shape[1])]
    )


def _normalise(counts: np.ndarray) -> np.ndarray:
    counts = counts + _PSEUDOCOUNT
    return counts / counts.sum(axis=1, keepdims=True)


def _level_probs(resp: np.ndarray, code: np.ndarray, n_levels: int) -> np.ndarray:
    return _normalise(_level_counts(resp, code, n_levels))


def _category_ll(
    codes: np.ndarray, probs: list[np.ndarray], n_states: int = 1
) -> np.ndarray | None:
    """Log-probability of each row's levels under each component, ``(n_rows, k * n_states)``
    (the sub-components of a component share its level probabilities)."""
    if not probs:
        return None
    out = np.zeros((len(codes), len(probs[0])))
    for j, p in enumerate(probs):
        ok = codes[:, j] >= 0
        out[ok] += np.log(p).T[codes[ok, j]]
    return out if n_states == 1 else np.repeat(out, n_states, axis=1)


def _state_mask(state_features: Sequence[int] | None, n_features: int) -> np.ndarray:
    """Boolean mask of the state features among ``n_features`` columns."""
    mask = np.zeros(n_features, dtype=bool)
    if state_features is not None:
        idx = np.asarray(list(state_features), dtype=np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= n_features):
            raise EstimatorInputError(
                f"state_features must be column positions below {n_features}, got {idx.tolist()}"
            )
        mask[idx] = True
    return mask


def _split_states(
    params: tuple[np.ndarray, np.ndarray, np.ndarray], n_states: int, state: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Starting sub-components: each component's state features spread over +-half a standard
    deviation, everything else shared."""
    w, m, v = params
    if n_states == 1:
        return w, m, v
    offsets = np.linspace(-0.5, 0.5, n_states)
    m = np.repeat(m, n_states, axis=0)
    v = np.repeat(v, n_states, axis=0)
    m[:, state] += np.tile(offsets, len(w))[:, None] * np.sqrt(v[:, state])
    return np.repeat(w / n_states, n_states), m, v


def _or_empty(extra: np.ndarray | None) -> np.ndarray:
    """``extra`` as the compiled pass takes it: an empty array when there is none."""
    return np.zeros((0, 0)) if extra is None else np.ascontiguousarray(extra, dtype=np.float64)
