"""Clustering pipelines: transform the features, cluster, merge small segments, assign in bulk.

:class:`Segmenter` is a scikit-learn style estimator. ``fit`` learns the segments on a sample of
subscribers (all of them when the base is small); ``predict`` assigns any number of subscribers
in one vectorised pass (the model's own ``predict`` for k-means and mixtures, the nearest segment
centre for HDBSCAN and agglomerative clustering, which have none). Segments smaller than
``min_size`` are merged into the nearest segment and listed in ``merges_``, or refused.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted, validate_data

from workbench.errors import EstimatorInputError, WorkbenchError
from workbench.features import count_column, evidence_column
from workbench.segment import policy
from workbench.segment.deconvolve import (
    AllowNaNMixin,
    DeconvolvedMixture,
    assignment_entropy,
)
from workbench.segment.methods import K_RANGE, LIKELIHOOD_METHODS, METHODS, SELECTION_SAMPLE
from workbench.segment.policy import (
    HOUR_FEATURES,
    LOG_FEATURES,
    attribute_columns,
    cluster_columns,
)

#: Column that decides whether a subscriber can be emailed (``unreachable="rule"``).
REACHABLE_COLUMN = "email_reachable"
#: Name of the rule-based segment of subscribers who cannot be emailed.
UNREACHABLE_NAME = "not reachable by email"
#: Variance floor of the Gaussian mixtures, in the standardised units of the transform. The
#: empirical-Bayes scaler puts every subscriber without evidence for a feature at exactly 0
#: (the base); without a floor of this order a mixture spends components on those exact
#: values and their variance collapses. 0.1 is a floor of about a third of a standard deviation.
GMM_REG_COVAR = 0.1
#: Starts of each candidate model :func:`select_k` scores (the final fit makes 4): half the
#: time of the selection, which fits every candidate k.
SELECTION_STARTS = 2


#: Unshrunk values, their noise variances and the attribute codes of a feature table.
_Measured = tuple[np.ndarray, np.ndarray, np.ndarray]


def attribute_levels(features: pd.DataFrame, columns: Sequence[str]) -> dict[str, list[str]]:
    """The sorted levels of each categorical column (missing values left out)."""
    return {c: sorted(str(v) for v in features[c].dropna().unique()) for c in columns}


def attribute_codes(features: pd.DataFrame, levels: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Integer codes of the categorical columns in ``levels`` (-1: missing or an unseen level).

    Returns
    -------
    ndarray of shape (n_rows, len(levels))
    """
    out = np.full((len(features), len(levels)), -1, dtype=np.int64)
    for j, (col, lv) in enumerate(levels.items()):
        if col not in features.columns:
            raise WorkbenchError(f"attribute column '{col}' not found in the feature table")
        values = features[col].astype("str")
        known = values.isin(list(lv)) & features[col].notna()
        out[:, j] = pd.Categorical(values.where(known), categories=list(lv)).codes
    return out


def _hours_to_circle(x: np.ndarray) -> np.ndarray:
    """Map hours of the day onto the unit circle (sin columns, then cos); missing stays NaN."""
    x = np.asarray(x, dtype=float)
    ang = 2 * np.pi * x / 24.0
    return np.concatenate([np.sin(ang), np.cos(ang)], axis=1)


def _log1p_clipped(x: np.ndarray) -> np.ndarray:
    """log1p of the non-negative part; missing stays NaN (the scaler maps it to the base)."""
    return np.log1p(np.clip(np.asarray(x, dtype=float), 0, None))


def _as_float(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=float)


class EmpiricalBayesScaler(AllowNaNMixin, TransformerMixin, BaseEstimator):
    """Standardise features, shrinking per-subscriber averages by the evidence behind them.

    A plain standard scaler treats an open rate measured on two emails like one measured on
    forty, and gives a feature that is mostly measurement noise (a click share computed from one
    click) the same weight as a well-measured one. For every column that is an average over a
    known number of events (``counts``), this scaler fits an empirical-Bayes model by the
    method of moments over the subscribers with ``n > 0``: the squared deviation from the pooled
    mean ``mu`` has expectation ``tau2 + sigma2 / n`` (``tau2``: true spread between
    subscribers, ``sigma2``: noise of one event). For proportions of events (every value in
    [0, 1]: rates and shares) the noise is binomial, ``sigma2 = mu (1 - mu) - tau2`` (the
    beta-binomial moments); for other averages (hours on the circle, order values) ``tau2`` and
    ``sigma2`` are the intercept and slope of a least-squares line in ``1 / n``. Each value is
    then replaced by its posterior mean, in units of the true spread::

        z = (x - mu) * tau / (tau2 + sigma2 / n)        (z = 0, the base, when n = 0)

    so that a feature counts in proportion to how much real between-subscriber signal it
    carries. Other columns are standardised (mean 0, standard deviation 1); constant columns
    map to 0.

    :meth:`measure` gives the same columns unshrunk, with the variance of each value's
    measurement noise, for models that weigh the noise themselves (:class:`DeconvolvedMixture`).

    Parameters
    ----------
    counts : mapping of str to str, optional
        Column -> the count column it averages over. Count columns are inputs only: they are
        not in the output. A column whose count column is absent is standardised.
    evidence : mapping of str to str, optional
        Standardised column -> a count without which its value measures nothing
        (:data:`workbench.features.UNDEFINED_WITHOUT`); only :meth:`measure` uses it.

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Input columns, when fitted on a DataFrame (``counts`` and ``evidence`` name them; the
        columns of an array are ``x0, x1, ...``).
    columns_ : list of str
        Output columns, in input order without the count columns.
    mean_, scale_ : ndarray
        Centre and scale of each output column (``mu`` and ``tau`` for shrunk columns).
    noise_ : ndarray
        ``sigma2`` of each shrunk column, 0 for standardised ones.
    count_index_ : ndarray of int
        Position in the input of each output column's count column, -1 when not shrunk.
    evidence_index_ : ndarray of int
        Position in the input of the count that must be positive for the value to be measured
        (the count column for shrunk columns), -1 when always measured.
    """

    def __init__(
        self, counts: Mapping[str, str] | None = None, evidence: Mapping[str, str] | None = None
    ) -> None:
        self.counts = counts
        self.evidence = evidence

    def _validated(self, X: pd.DataFrame | np.ndarray, reset: bool) -> np.ndarray:
        """``X`` as a float matrix, checked against the columns seen in ``fit``."""
        if not reset:
            check_is_fitted(self)
        return validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")

    def _input_names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(c) for c in self.feature_names_in_]
        return [f"x{i}" for i in range(self.n_features_in_)]

    def fit(self, X: pd.DataFrame | np.ndarray, y: None = None) -> EmpiricalBayesScaler:
        """Estimate the centre, spread and noise of every column of ``X``.

        ``counts`` and ``evidence`` refer to the columns by name: pass a DataFrame.
        """
        x_all = self._validated(X, reset=True)
        counts = dict(self.counts or {})
        names = self._input_names()
        evidence = dict(self.evidence or {})
        count_cols = {c for c in counts.values() if c in names}
        count_cols |= {c for c in evidence.values() if c in names and c not in evidence}
        self.columns_ = [c for c in names if c not in count_cols]
        k = len(self.columns_)
        self.mean_, self.scale_ = np.zeros(k), np.ones(k)
        self.noise_ = np.zeros(k)
        self.count_index_ = np.full(k, -1, dtype=np.int64)
        self.evidence_index_ = np.full(k, -1, dtype=np.int64)
        for j, col in enumerate(self.columns_):
            if evidence.get(col) in names:
                self.evidence_index_[j] = names.index(evidence[col])
            x = x_all[:, names.index(col)]
            cc = counts.get(col)
            if cc in count_cols:
                n = np.nan_to_num(x_all[:, names.index(cc)])
                ok = (n > 0) & np.isfinite(x)
                self.count_index_[j] = self.evidence_index_[j] = names.index(cc)
                self.mean_[j], self.scale_[j], self.noise_[j] = _moments(x[ok], n[ok])
            else:
                ok = np.isfinite(x)
                mu = float(x[ok].mean()) if ok.any() else 0.0
                sd = float(x[ok].std()) if ok.any() else 0.0
                self.mean_[j], self.scale_[j] = mu, sd if sd > 1e-12 else 1.0
        return self

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The scaled (and, for averages, shrunk) matrix; missing values map to 0."""
        x_all = self._validated(X, reset=False)
        names = self._input_names()
        out = np.empty((len(x_all), len(self.columns_)))
        for j, col in enumerate(self.columns_):
            dev = x_all[:, names.index(col)] - self.mean_[j]
            if self.count_index_[j] >= 0:
                n = np.nan_to_num(x_all[:, self.count_index_[j]])
                tau = self.scale_[j]
                with np.errstate(divide="ignore", invalid="ignore"):
                    z = np.where(n > 0, dev * tau / (tau**2 + self.noise_[j] / n), 0.0)
            else:
                z = dev / self.scale_[j]
            out[:, j] = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
        return out

    def measure(self, X: pd.DataFrame | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unshrunk values and the variance of their measurement noise.

        Returns
        -------
        values : ndarray
            ``(x - mu) / tau`` for averages (in units of the true spread between subscribers),
            ``(x - mean) / sd`` for other columns; NaN where nothing was measured (no events
            behind an average, a zero evidence count, a missing value).
        noise_var : ndarray
            ``sigma2 / (n tau2)`` for averages over ``n`` events, 0 for other columns.
        """
        x_all = self._validated(X, reset=False)
        names = self._input_names()
        values = np.full((len(x_all), len(self.columns_)), np.nan)
        noise = np.zeros_like(values)
        for j, col in enumerate(self.columns_):
            x = (x_all[:, names.index(col)] - self.mean_[j]) / self.scale_[j]
            ok = np.isfinite(x)
            if self.evidence_index_[j] >= 0:
                n = np.nan_to_num(x_all[:, self.evidence_index_[j]])
                ok &= n > 0
                if self.count_index_[j] >= 0:
                    noise[:, j] = np.where(
                        ok, self.noise_[j] / (np.where(ok, n, 1.0) * self.scale_[j] ** 2), 0.0
                    )
            values[ok, j] = x[ok]
        return values, noise

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Output column names."""
        check_is_fitted(self)
        return np.array(self.columns_, dtype=object)


def _moments(x: np.ndarray, n: np.ndarray) -> tuple[float, float, float]:
    """Method-of-moments ``(mu, tau, sigma2)`` of averages ``x`` over ``n`` events each."""
    if x.size == 0:
        return 0.0, 1.0, 0.0
    mu = float(np.average(x, weights=n))
    d = (x - mu) ** 2
    u = 1.0 / n
    floor = 1e-6 * max(float(d.mean()), 1e-12)
    if x.min() >= 0 and x.max() <= 1:  # proportion of events: binomial noise
        bern = mu * (1 - mu)
        u_mean = min(float(u.mean()), 1 - 1e-9)
        tau2 = max((float(d.mean()) - bern * u_mean) / (1 - u_mean), floor)
        return mu, float(np.sqrt(tau2)), max(bern - tau2, 0.0)
    var_u = float(u.var())
    if var_u > 0:
        sigma2 = max(float(np.mean((u - u.mean()) * (d - d.mean())) / var_u), 0.0)
    else:  # every average over the same count: noise and signal cannot be told apart
        sigma2 = 0.0
    tau2 = float(d.mean()) - sigma2 * float(u.mean())
    return mu, float(np.sqrt(max(tau2, floor))), sigma2


def transform_inputs(features: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """``columns`` plus the count columns of ``features`` their averages are computed over."""
    cols = list(columns)
    extra = []
    for c in cols:
        cc = evidence_column(c)
        if cc is not None and cc in features.columns and cc not in cols and cc not in extra:
            extra.append(cc)
    return cols + extra


def make_transform(columns: Sequence[str]) -> Pipeline:
    """Feature transform: log1p for heavy tails, hours on the circle, empirical-Bayes scaling.

    Parameters
    ----------
    columns : sequence of str
        Input columns: the clustering features plus, optionally, the count columns their
        averages are computed over (:func:`transform_inputs`); averages whose count column is
        given are shrunk by :class:`EmpiricalBayesScaler`, the rest standardised.

    Returns
    -------
    Pipeline
        Fit it on a DataFrame holding ``columns``.
    """
    cols = list(columns)
    counts = {}
    for c in cols:
        cc = count_column(c)
        if cc is not None and cc in cols:
            if c in HOUR_FEATURES:
                counts[f"{c}_sin"] = counts[f"{c}_cos"] = cc
            else:
                counts[c] = cc
    evidence = {}
    for c in cols:
        ec = evidence_column(c)
        if c not in counts and c not in HOUR_FEATURES and ec is not None and ec in cols:
            evidence[c] = ec
    count_cols = [
        c
        for c in dict.fromkeys([*counts.values(), *evidence.values()])
        if c not in counts and c not in evidence
    ]
    feats = [c for c in cols if c not in count_cols]
    logs = [c for c in feats if c in LOG_FEATURES]
    hours = [c for c in feats if c in HOUR_FEATURES]
    rest = [c for c in feats if c not in LOG_FEATURES and c not in HOUR_FEATURES]
    parts = [
        ("log", FunctionTransformer(_log1p_clipped, feature_names_out="one-to-one"), logs),
        ("rest", FunctionTransformer(_as_float, feature_names_out="one-to-one"), rest),
    ]
    if hours:
        names = [f"{h}_{t}" for t in ("sin", "cos") for h in hours]
        parts.append(
            (
                "hour",
                FunctionTransformer(_hours_to_circle, feature_names_out=lambda *_: names),
                hours,
            )
        )
    if count_cols:
        parts.append(("counts", "passthrough", count_cols))
    columns_step = ColumnTransformer(parts, verbose_feature_names_out=False)
    columns_step.set_output(transform="pandas")
    return Pipeline([("columns", columns_step), ("scale", EmpiricalBayesScaler(counts, evidence))])


def make_model(
    method: str,
    k: int,
    seed: int,
    min_size: int = 50,
    state_features: Sequence[int] = (),
    n_init: int = 4,
    n_jobs: int | None = None,
) -> BaseEstimator:
    """The clustering estimator for ``method`` with ``k`` clusters (HDBSCAN: ``k`` unused).

    ``state_features``: positions of the lifecycle-state features among the deconvolving
    mixture's columns (:func:`state_positions`); the other methods ignore them. ``n_init``:
    starts of the mixtures and k-means (:func:`select_k` scores each candidate with
    :data:`SELECTION_STARTS`). ``n_jobs``: threads of the deconvolving mixture's starts, which
    run on :data:`~workbench.segment.methods.SELECTION_SAMPLE` rows (``init_size``) before the
    most likely is refined on every row.
    """
    from sklearn.cluster import HDBSCAN, AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture

    if method == "deconvolved":
        return DeconvolvedMixture(
            k,
            reg_covar=GMM_REG_COVAR,
            n_init=n_init,
            random_state=seed,
            n_states=policy.N_STATES if len(state_features) else 1,
            state_features=list(state_features),
            init_size=SELECTION_SAMPLE,
            n_jobs=n_jobs,
        )
    if method == "kmeans":
        return KMeans(n_clusters=k, n_init=n_init, random_state=seed)
    if method == "gmm":
        return GaussianMixture(
            n_components=k,
            covariance_type="diag",
            n_init=max(1, n_init // 2),
            random_state=seed,
            reg_covar=GMM_REG_COVAR,
        )
    if method == "agglomerative":
        return AgglomerativeClustering(n_clusters=k, linkage="ward")
    if method == "hdbscan":
        return HDBSCAN(min_cluster_size=max(5, min_size // 2), min_samples=10, copy=True)
    raise WorkbenchError(f"unknown method '{method}'; methods are {', '.join(METHODS)}")


def state_positions(columns: Sequence[str]) -> list[int]:
    """Positions of :data:`~workbench.segment.policy.STATE_FEATURES` among transformed columns."""
    return [i for i, c in enumerate(columns) if c in policy.STATE_FEATURES]


def _nearest(x: np.ndarray, centres: np.ndarray, block: int = 200_000) -> np.ndarray:
    """Index of the nearest centre for each row (blocked to bound memory)."""
    out = np.empty(len(x), dtype=np.int64)
    c2 = (centres**2).sum(axis=1)
    for i in range(0, len(x), block):
        xb = x[i : i + block]
        out[i : i + block] = np.argmin(c2[None, :] - 2 * xb @ centres.T, axis=1)
    return out


class Segmenter(AllowNaNMixin, TransformerMixin, ClusterMixin, BaseEstimator):
    """Learn segments on (a sample of) a feature table and assign every subscriber.

    Parameters
    ----------
    method : {"deconvolved", "kmeans", "gmm", "hdbscan", "agglomerative"}, default "deconvolved"
        Clustering algorithm applied after the feature transform (:func:`make_transform`).
        ``"deconvolved"`` is :class:`~workbench.segment.deconvolve.DeconvolvedMixture` on the
        unshrunk values and their noise (:meth:`EmpiricalBayesScaler.measure`); the others
        see the shrunk matrix.
    n_clusters : int, default 8
        Number of clusters (ignored by HDBSCAN, which finds its own).
    min_size : int, default 50
        Smallest allowed segment, counted over the rows passed to ``fit``.
    on_small : {"merge", "error"}, default "merge"
        Merge too-small segments into the nearest one (listed in ``merges_``) or raise.
    columns : sequence of str, optional
        Feature columns to cluster on; default :func:`workbench.segment.policy.cluster_columns`.
    attributes : sequence of str, optional
        Categorical columns (region, acquisition source, ...) that the deconvolving mixture
        models beside ``columns``, one categorical distribution per segment; default
        :func:`workbench.segment.policy.attribute_columns`. The other methods ignore them.
    sample_size : int or None, default 20000
        Rows the model is fitted on (a seeded random sample); ``None`` fits on every row.
    random_state : int, default 0
        Seed of the sample and of the clustering algorithm.
    unreachable : {"cluster", "rule"}, default "cluster"
        ``"rule"``: subscribers who cannot be emailed as of the feature date (column
        ``email_reachable`` = 0: no consent, unsubscribed or hard-bounced) are set aside in one
        rule-based segment (:data:`UNREACHABLE_NAME`) and the clustering is fitted on the
        reachable base only. The rule segment is numbered by size like the others, obeys the
        min-size guard (too small: merged into the nearest segment) and never absorbs a small
        learned cluster. ``"cluster"``: everyone is clustered on behaviour.
    n_jobs : int or None, default None
        Threads of the deconvolving mixture's starts (``None``: 1, -1: every core); the
        segments do not depend on it.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of the table passed to ``fit``.
    feature_names_in_ : ndarray of str
        Their names (when ``X`` was a DataFrame); ``predict`` and ``transform`` need the same.
    columns_ : list of str
        Feature columns used.
    inputs_ : list of str
        Columns the transform reads: ``columns_`` plus the counts behind their averages.
    attributes_ : list of str
        Categorical columns the model uses (empty for methods other than ``"deconvolved"``).
    levels_ : dict of str to list of str
        The levels of each attribute seen in the fitting sample; other values count as missing.
    transform_ : Pipeline
        Fitted feature transform.
    model_ : estimator
        Fitted clustering model.
    centres_ : ndarray of shape (n_segments, n_transformed)
        Segment centres in the transformed space (after merges).
    label_map_ : ndarray of int
        Raw cluster label -> final segment (segments numbered by size, 0 the largest).
    merges_ : list of dict
        One record per merged cluster: ``cluster, size, into``.
    sizes_ : ndarray of int
        Segment sizes over the rows passed to ``fit``.
    labels_ : ndarray of int
        Segment of each row passed to ``fit``.
    rule_segment_ : int or None
        Segment number of the unreachable rule segment (``unreachable="rule"``), else ``None``.
    """

    def __init__(
        self,
        method: str = "deconvolved",
        n_clusters: int = 8,
        min_size: int = 50,
        on_small: str = "merge",
        columns: Sequence[str] | None = None,
        attributes: Sequence[str] | None = None,
        sample_size: int | None = 20_000,
        random_state: int = 0,
        unreachable: str = "cluster",
        n_jobs: int | None = None,
    ) -> None:
        self.method = method
        self.n_clusters = n_clusters
        self.min_size = min_size
        self.on_small = on_small
        self.columns = columns
        self.attributes = attributes
        self.sample_size = sample_size
        self.random_state = random_state
        self.unreachable = unreachable
        self.n_jobs = n_jobs

    # -------------------------------------------------------------------------------- fitting
    def fit(self, X: pd.DataFrame | np.ndarray, y: None = None) -> Segmenter:
        """Fit the transform and model on a sample of ``X``, then merge too-small segments.

        ``X`` is a feature table (:func:`workbench.features.compute_features`); a plain array
        is read as numeric columns named ``x0, x1, ...``.
        """
        self._check_params()
        X = self._frame(X, reset=True)
        k = int(self.n_clusters)
        if len(X) < max(2, k):
            raise EstimatorInputError(
                f"{len(X)} subscribers cannot make {k} segments (n_samples={len(X)})"
            )
        rule = self._rule_mask(X)
        rng = np.random.default_rng(self.random_state)
        pool = np.flatnonzero(~rule)
        if len(pool) < max(2, k):
            raise EstimatorInputError(f"{len(pool)} reachable subscribers cannot make {k} segments")
        if self.sample_size is not None and len(pool) > self.sample_size:
            idx = np.sort(rng.choice(pool, size=self.sample_size, replace=False))
        else:
            idx = pool
        self._fit_transform(X, idx)
        self.model_ = make_model(
            self.method,
            k,
            self.random_state,
            self.min_size,
            state_positions(self.transform_[-1].columns_),
            n_jobs=self.n_jobs,
        )
        z_all, measured = self._views(X)
        raw = self._fit_model(z_all[idx], None if measured is None else [m[idx] for m in measured])
        ids = np.unique(raw[raw >= 0])
        if len(ids) == 0:  # HDBSCAN found only noise: one segment
            raw = np.zeros_like(raw)
            ids = np.array([0])
        # centres of the raw clusters in the transformed space (noise excluded)
        self._raw_ids = ids
        z = z_all[idx]
        centres = [z[raw == i].mean(axis=0) for i in ids]
        self._rule_pos = len(ids) if rule.any() else None
        if self._rule_pos is not None:
            centres.append(z_all[rule].mean(axis=0))
        self._raw_centres = np.stack(centres)
        self._predicts = self.method in ("deconvolved", "kmeans", "gmm")
        assigned = self._raw_predict(z_all, rule, measured)
        self._merge(assigned, z_all)
        self.labels_ = self.label_map_[assigned]
        self.rule_segment_ = self._rule_segment()
        return self

    def _check_params(self) -> None:
        if self.method not in METHODS:
            raise WorkbenchError(
                f"unknown method '{self.method}'; methods are {', '.join(METHODS)}"
            )
        if self.on_small not in ("merge", "error"):
            raise WorkbenchError("on_small must be 'merge' or 'error'")
        if self.unreachable not in ("cluster", "rule"):
            raise WorkbenchError("unreachable must be 'cluster' or 'rule'")
        if int(self.n_clusters) < 1:
            raise WorkbenchError(f"k must be at least 1, got {self.n_clusters}")

    def _frame(self, X: pd.DataFrame | np.ndarray, reset: bool) -> pd.DataFrame:
        """``X`` checked against the columns seen in ``fit`` (an array becomes a DataFrame of
        columns ``x0, x1, ...``)."""
        if not reset:
            check_is_fitted(self)
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        x = validate_data(self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
        return pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])

    def _fit_transform(self, X: pd.DataFrame, idx: np.ndarray) -> None:
        """Choose the columns and fit the feature transform and attribute levels on rows ``idx``."""
        cols = list(self.columns) if self.columns is not None else cluster_columns(X)
        attrs = list(self.attributes) if self.attributes is not None else attribute_columns(X)
        missing = [c for c in [*cols, *attrs] if c not in X.columns]
        if missing:
            raise WorkbenchError(f"feature columns not found: {', '.join(missing)}")
        self.columns_ = cols
        self.attributes_ = attrs if self.method == "deconvolved" else []
        self.inputs_ = transform_inputs(X, cols)
        self.transform_ = make_transform(self.inputs_).fit(X.iloc[idx][self.inputs_])
        self.levels_ = attribute_levels(X.iloc[idx], self.attributes_)

    def _fit_model(self, z: np.ndarray, measured: list[np.ndarray] | None) -> np.ndarray:
        """Fit ``model_`` on the fitting rows' views; their raw cluster labels (-1: noise)."""
        if measured is not None:
            values, noise, codes = measured
            fitted = self.model_.fit(values, noise_var=noise, categories=codes)
            return np.asarray(fitted.labels_, dtype=np.int64)
        return np.asarray(self.model_.fit_predict(z), dtype=np.int64)

    def _rule_mask(self, X: pd.DataFrame) -> np.ndarray:
        """Rows set aside by the reachability rule (all False with ``unreachable="cluster"``)."""
        if self.unreachable != "rule":
            return np.zeros(len(X), dtype=bool)
        if REACHABLE_COLUMN not in X.columns:
            raise WorkbenchError(
                f"unreachable='rule' needs the feature column '{REACHABLE_COLUMN}'"
            )
        return X[REACHABLE_COLUMN].to_numpy() == 0

    def _rule_segment(self) -> int | None:
        if self._rule_pos is None:
            return None
        seg = int(self.label_map_[self._rule_pos])
        shared = np.count_nonzero(self.label_map_ == seg) > 1  # merged: not a segment of its own
        return None if shared else seg

    def _views(self, X: pd.DataFrame) -> tuple[np.ndarray, _Measured | None]:
        """The shrunk matrix of ``X`` and, for the deconvolving mixture, its unshrunk values,
        their noise variances (:meth:`EmpiricalBayesScaler.measure`) and the attribute codes,
        from one column pass."""
        columns = self.transform_[:-1].transform(X[self.inputs_])
        scaler = self.transform_[-1]
        measured = None
        if self.method == "deconvolved":
            values, noise = scaler.measure(columns)
            measured = (values, noise, attribute_codes(X, self.levels_))
        return scaler.transform(columns), measured

    def _raw_predict(
        self,
        z: np.ndarray,
        rule: np.ndarray,
        measured: _Measured | None = None,
    ) -> np.ndarray:
        """Position of each row's raw cluster (the rule segment's position for ``rule`` rows)."""
        if measured is not None:
            lab = np.asarray(self.model_.predict(*measured), dtype=np.int64)
            pos = np.searchsorted(self._raw_ids, lab)
        elif self._predicts:
            lab = np.asarray(self.model_.predict(z), dtype=np.int64)
            pos = np.searchsorted(self._raw_ids, lab)
        else:
            pos = _nearest(z, self._raw_centres[: len(self._raw_ids)])
        if self._rule_pos is not None:
            pos[rule] = self._rule_pos
        return pos

    def _merge(self, assigned: np.ndarray, z: np.ndarray) -> None:
        n_raw = len(self._raw_centres)
        sizes = np.bincount(assigned, minlength=n_raw).astype(np.int64)
        group = np.arange(n_raw)  # raw position -> current group id (a raw position)
        self.merges_: list[dict[str, int]] = []
        small = [int(i) for i in np.flatnonzero((sizes > 0) & (sizes < self.min_size))]
        if small and self.on_small == "error":
            desc = ", ".join(f"cluster {i} ({sizes[i]} subscribers)" for i in small)
            raise WorkbenchError(
                f"segments smaller than min_size={self.min_size}: {desc}; lower k or min_size, "
                "or use on_small='merge'"
            )
        while True:
            live = np.unique(group)
            gsize = np.array([sizes[group == g].sum() for g in live])
            alive = live[gsize > 0]
            gsz = gsize[gsize > 0]
            if len(alive) <= 1 or gsz.min() >= self.min_size:
                break
            g = alive[np.argmin(gsz)]
            centre = lambda gg: np.average(  # noqa: E731
                self._raw_centres[group == gg], axis=0, weights=sizes[group == gg] + 1e-9
            )
            # a learned cluster goes into the rule segment only when nothing else is left
            others = [o for o in alive if o != g and o != self._rule_pos] or [
                o for o in alive if o != g
            ]
            d = [np.sum((centre(g) - centre(o)) ** 2) for o in others]
            into = int(others[int(np.argmin(d))])
            self.merges_.append({"cluster": int(g), "size": int(gsz.min()), "into": into})
            group[group == g] = into
        # number final segments by size, largest first (ties: lower raw id)
        final = np.unique(group)
        fsize = np.array([sizes[group == g].sum() for g in final])
        order = final[np.lexsort((final, -fsize))]
        rank = {int(g): r for r, g in enumerate(order)}
        self.label_map_ = np.array([rank[int(g)] for g in group], dtype=np.int64)
        for m in self.merges_:
            m["into"] = rank[int(group[m["into"]])]
        self.sizes_ = np.bincount(self.label_map_[assigned], minlength=len(order))
        self.centres_ = np.stack(
            [
                np.average(
                    self._raw_centres[self.label_map_ == s],
                    axis=0,
                    weights=sizes[self.label_map_ == s] + 1e-9,
                )
                for s in range(len(order))
            ]
        )
        self.n_segments_ = len(order)

    # ----------------------------------------------------------------------------- assigning
    def predict(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Segment of each row of ``X`` (vectorised; any number of rows)."""
        X = self._frame(X, reset=False)
        z, measured = self._views(X)
        rule = self._rule_mask(X)
        if self._rule_pos is None and rule.any():  # fitted without any unreachable subscriber
            raise WorkbenchError("no rule segment was fitted: cannot assign unreachable rows")
        return self.label_map_[self._raw_predict(z, rule, measured)]

    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The transformed (scaled) feature matrix the model sees."""
        X = self._frame(X, reset=False)
        return self.transform_.transform(X[self.inputs_])

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        """Names of the columns of :meth:`transform`'s output."""
        check_is_fitted(self)
        return self.transform_.get_feature_names_out()

    def fit_predict(self, X: pd.DataFrame | np.ndarray, y: None = None) -> np.ndarray:
        """Fit, then return the segment of every row of ``X``."""
        return self.fit(X).labels_


def select_k(
    features: pd.DataFrame,
    ks: Sequence[int] = K_RANGE,
    method: str = "deconvolved",
    seed: int = 0,
    sample_size: int = SELECTION_SAMPLE,
    columns: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Model-selection scores for each number of clusters.

    Parameters
    ----------
    features : DataFrame
        Feature table (:func:`workbench.features.compute_features`).
    ks : sequence of int
        Candidate numbers of clusters.
    method : str
        ``deconvolved``, ``kmeans``, ``gmm`` or ``agglomerative``.
    seed : int
        Seed of the sample and the models.
    sample_size : int, default :data:`SELECTION_SAMPLE`
        Rows scored (a seeded sample): silhouette is quadratic in the rows.
    columns : sequence of str, optional
        Feature columns (default :func:`~workbench.segment.policy.cluster_columns`).
    attributes : sequence of str, optional
        Categorical columns of the deconvolving mixture (default
        :func:`~workbench.segment.policy.attribute_columns`); other methods ignore them.
    n_jobs : int or None, default None
        Threads the candidates are scored on (``None``: 1, -1: every core); the scores do not
        depend on it.

    Returns
    -------
    DataFrame
        ``k, silhouette`` (higher is better), ``davies_bouldin`` (lower is better) and, for
        mixtures (:data:`LIKELIHOOD_METHODS`), ``bic`` and ``icl`` (lower is better; ICL is
        BIC plus twice the entropy of the assignments). Silhouette and Davies-Bouldin are
        computed on the shrunk features (:class:`EmpiricalBayesScaler`) whatever the method.
    """
    if method == "hdbscan":
        raise WorkbenchError("HDBSCAN chooses its own number of clusters: no k to select")
    rng = np.random.default_rng(seed)
    n = len(features)
    sample = features.iloc[np.sort(rng.choice(n, size=min(n, sample_size), replace=False))]
    z, measured, states = _views_and_states(sample, method, columns, attributes)
    rows = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_k_scores)(method, int(k), seed, z, measured, states) for k in ks if 2 <= k < len(z)
    )
    return pd.DataFrame(rows)


def feature_views(
    features: pd.DataFrame,
    method: str = "deconvolved",
    columns: Sequence[str] | None = None,
    attributes: Sequence[str] | None = None,
) -> tuple[np.ndarray, _Measured | None]:
    """What a :class:`Segmenter` fitted on every row of ``features`` hands its model.

    Returns
    -------
    z : ndarray
        The shrunk matrix (:meth:`EmpiricalBayesScaler.transform`).
    measured : tuple of ndarray or None
        For ``method="deconvolved"``: the unshrunk values, their noise variances
        (:meth:`EmpiricalBayesScaler.measure`) and the attribute codes; else ``None``.
    """
    return _views_and_states(features, method, columns, attributes)[:2]


def _views_and_states(
    features: pd.DataFrame,
    method: str,
    columns: Sequence[str] | None,
    attributes: Sequence[str] | None,
) -> tuple[np.ndarray, _Measured | None, list[int]]:
    """:func:`feature_views` and the positions of the state features among its columns."""
    views = Segmenter(method, columns=columns, attributes=attributes)
    views._fit_transform(features, np.arange(len(features)))
    z, measured = views._views(features)
    return z, measured, state_positions(views.transform_[-1].columns_)


def _k_scores(
    method: str,
    k: int,
    seed: int,
    z: np.ndarray,
    measured: _Measured | None,
    states: Sequence[int] = (),
) -> dict[str, float]:
    """Fit ``method`` with ``k`` clusters; its row of :func:`select_k`'s table."""
    from sklearn.metrics import davies_bouldin_score, silhouette_score

    model = make_model(method, k, seed, state_features=states, n_init=SELECTION_STARTS)
    if measured is not None:
        lab = model.fit(measured[0], noise_var=measured[1], categories=measured[2]).labels_
    else:
        lab = model.fit_predict(z)
    ok = len(np.unique(lab)) > 1
    row = {
        "k": k,
        "silhouette": silhouette_score(z, lab) if ok else np.nan,
        "davies_bouldin": davies_bouldin_score(z, lab) if ok else np.nan,
    }
    if method in LIKELIHOOD_METHODS:
        if measured is not None:
            row["bic"] = float(model.bic(*measured))
            row["icl"] = float(model.icl(*measured))
        else:
            row["bic"] = float(model.bic(z))
            row["icl"] = row["bic"] + 2 * assignment_entropy(model.predict_proba(z))
    return row


def best_k(scores: pd.DataFrame) -> int:
    """The k a model-selection table recommends: lowest ICL for mixtures, else best silhouette.

    BIC scores a mixture as a density: when segments are not exactly Gaussian (a persona whose
    members are at different lifecycle stages) it keeps adding components that shape one
    segment. ICL charges for every subscriber the segments cannot tell apart, so it counts
    segments rather than bumps (Biernacki, Celeux & Govaert 2000; ``mclust``'s ``mclustICL``).
    """
    if scores.empty:
        raise WorkbenchError("no candidate k could be scored")
    if "icl" in scores.columns:
        return int(scores.loc[scores["icl"].idxmin(), "k"])
    if "bic" in scores.columns:
        return int(scores.loc[scores["bic"].idxmin(), "k"])
    return int(scores.loc[scores["silhouette"].idxmax(), "k"])
