"""Uplift models: who changes their behaviour because they were sent the email.

:class:`UpliftModel` estimates the conditional average treatment effect (CATE, the *uplift*)
``tau(x) = E[y | T=1, x] - E[y | T=0, x]`` from a randomised test with one of four meta-learners:

* ``"s"`` (S-learner): one outcome model on the features plus the treatment flag; the uplift is
  its prediction with the flag set to 1 minus with the flag set to 0 (Künzel et al. 2019).
* ``"t"`` (T-learner): one outcome model per arm, ``mu0`` on the control rows and ``mu1`` on the
  treated rows; the uplift is ``mu1(x) - mu0(x)`` (Künzel et al. 2019).
* ``"x"`` (X-learner): the T-learner's outcome models impute each row's individual effect
  (``y - mu0(x)`` for treated rows, ``mu1(x) - y`` for control rows, out of fold), one regression
  per arm smooths them (``tau1``, ``tau0``) and the uplift is
  ``e * tau0(x) + (1 - e) * tau1(x)`` with ``e`` the treated share (Künzel et al. 2019, with
  their choice of weighting function ``g = e``).
* ``"dr"`` (DR-learner): the doubly robust (AIPW) pseudo-outcome
  ``mu1 - mu0 + T (y - mu1) / e - (1 - T) (y - mu0) / (1 - e)``, with out-of-fold outcome
  models, is regressed on the features (Kennedy 2023, "Towards optimal doubly robust
  estimation of heterogeneous causal effects"; the final regression uses every row, as in
  EconML's ``DRLearner``, rather than one half of a split).

The treated share ``e`` is a constant: the data must come from a randomised test (no propensity
model is fitted, so observational data would give biased effects).

References
----------
Künzel, S. R., Sekhon, J. S., Bickel, P. J. & Yu, B. (2019). Metalearners for estimating
heterogeneous treatment effects using machine learning. PNAS 116(10), 4156-4165.

Kennedy, E. H. (2023). Towards optimal doubly robust estimation of heterogeneous causal effects.
Electronic Journal of Statistics 17(2), 3008-3049.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from workbench.errors import EstimatorInputError

__all__ = ["LEARNERS", "UpliftModel"]

#: The meta-learners :class:`UpliftModel` knows, with a line of explanation each.
LEARNERS: dict[str, str] = {
    "s": "S-learner: one outcome model with the treatment flag as a feature",
    "t": "T-learner: one outcome model per arm, uplift = treated minus control prediction",
    "x": "X-learner: imputed individual effects smoothed per arm, weighted by the treated share",
    "dr": "DR-learner: doubly robust (AIPW) pseudo-outcome regressed on the features",
}
_OUTCOMES = ("auto", "binary", "continuous")
#: Name of the treatment column the S-learner adds to a DataFrame of features.
_FLAG = "__uplift_treatment__"

# Default boosting settings (shared by the outcome models and the final CATE regressions): small
# trees, many rows per leaf and no early stopping, so a fit is deterministic given the seed and
# does not chase the noise of individual conversions. Chosen among five settings by the mean
# Spearman correlation of the predicted with the true uplift on new rows of simulate_uplift
# (seeds 0-4; n = 20,000 binary for all five, n = 6,000 binary and continuous for the last
# two): the smallest trees with the largest leaves won for every learner (T-learner at
# n = 20,000: 0.65 with 200 rounds x 0.1 x 15 leaves x 40 rows, 0.84 with these).
_HGB = {
    "max_iter": 150,
    "learning_rate": 0.05,
    "max_leaf_nodes": 7,
    "min_samples_leaf": 100,
    "early_stopping": False,
    "categorical_features": "from_dtype",
}


def _default_classifier(seed: int | None) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**_HGB, random_state=seed)


def _default_regressor(seed: int | None) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(**_HGB, random_state=seed)


# --------------------------------------------------------------------------- fitting machinery


@dataclass(frozen=True)
class _Spec:
    """Everything a fit needs besides the data (resolved from the estimator's parameters)."""

    learner: str
    binary: bool
    classifier: Any  # outcome model template for binary outcomes (unfitted)
    regressor: Any  # outcome model template for continuous outcomes, and CATE regressions
    n_folds: int
    propensity: float
    seed: int | None


@dataclass(frozen=True)
class _Constant:
    """An outcome model for a training subset whose outcome never varies."""

    value: float


def _take(X: pd.DataFrame | np.ndarray, rows: np.ndarray) -> pd.DataFrame | np.ndarray:
    return X.iloc[rows] if isinstance(X, pd.DataFrame) else X[rows]


def _seeded(template: Any, seed: int | None) -> Any:
    """An unfitted clone of ``template``, seeded with ``seed`` when its own seed is unset."""
    model = clone(template)
    params = model.get_params(deep=False)
    if "random_state" in params and params["random_state"] is None and seed is not None:
        model.set_params(random_state=seed)
    return model


def _fit_outcome(spec: _Spec, X: Any, y: np.ndarray) -> Any:
    """Fit an outcome model (classifier for binary outcomes, regressor otherwise)."""
    if len(y) == 0:
        raise EstimatorInputError("an outcome model has no training rows (too few rows per arm)")
    if np.all(y == y[0]):
        return _Constant(float(y[0]))
    model = _seeded(spec.classifier if spec.binary else spec.regressor, spec.seed)
    return model.fit(X, y)


def _predict_outcome(model: Any, X: Any, binary: bool) -> np.ndarray:
    n = X.shape[0]
    if isinstance(model, _Constant):
        return np.full(n, model.value)
    if binary:
        proba = model.predict_proba(X)
        positive = np.flatnonzero(np.asarray(model.classes_) == 1)
        return proba[:, positive[0]].astype(float)
    return np.asarray(model.predict(X), dtype=float)


def _fit_cate(spec: _Spec, X: Any, target: np.ndarray) -> Any:
    """Fit a final-stage regression of an imputed effect or pseudo-outcome on the features."""
    return _seeded(spec.regressor, spec.seed).fit(X, target)


def _folds(t: np.ndarray, y: np.ndarray, spec: _Spec) -> np.ndarray:
    """Fold number of each row, stratified by treatment (and by y when binary), seeded."""
    from sklearn.model_selection import StratifiedKFold

    strata = 2 * t + y.astype(int) if spec.binary else t.copy()
    if np.bincount(strata.astype(int)).min(initial=spec.n_folds) < spec.n_folds:
        strata = t.copy()  # some arm x outcome cell is too small to stratify on; arms only
    splitter = StratifiedKFold(spec.n_folds, shuffle=True, random_state=spec.seed)
    fold = np.empty(len(t), dtype=int)
    for k, (_, test) in enumerate(splitter.split(np.zeros((len(t), 1)), strata)):
        fold[test] = k
    return fold


def _with_flag(X: Any, flag: float) -> Any:
    """The S-learner's input: the features plus the treatment flag as the last column."""
    if isinstance(X, pd.DataFrame):
        return X.assign(**{_FLAG: np.full(len(X), flag, dtype=float)})
    return np.column_stack([X, np.full(X.shape[0], flag, dtype=float)])


def _with_flags(X: Any, t: np.ndarray) -> Any:
    if isinstance(X, pd.DataFrame):
        return X.assign(**{_FLAG: t.astype(float)})
    return np.column_stack([X, t.astype(float)])


class _Fitted:
    """The fitted models of one meta-learner: predicts the uplift and the two arms."""

    def __init__(self, spec: _Spec, models: dict[str, Any]) -> None:
        self.spec = spec
        self.models = models

    def arms(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        b = self.spec.binary
        if self.spec.learner == "s":
            m = self.models["mu"]
            return _predict_outcome(m, _with_flag(X, 0.0), b), _predict_outcome(
                m, _with_flag(X, 1.0), b
            )
        return (
            _predict_outcome(self.models["mu0"], X, b),
            _predict_outcome(self.models["mu1"], X, b),
        )

    def uplift(self, X: Any) -> np.ndarray:
        learner = self.spec.learner
        if learner in ("s", "t"):
            mu0, mu1 = self.arms(X)
            return mu1 - mu0
        if learner == "x":
            e = self.spec.propensity
            tau0 = np.asarray(self.models["tau0"].predict(X), dtype=float)
            tau1 = np.asarray(self.models["tau1"].predict(X), dtype=float)
            return e * tau0 + (1.0 - e) * tau1
        return np.asarray(self.models["tau"].predict(X), dtype=float)


def _fit_arms(spec: _Spec, X: Any, y: np.ndarray, t: np.ndarray) -> dict[str, Any]:
    control, treated = np.flatnonzero(t == 0), np.flatnonzero(t == 1)
    return {
        "mu0": _fit_outcome(spec, _take(X, control), y[control]),
        "mu1": _fit_outcome(spec, _take(X, treated), y[treated]),
    }


def _cross_fitted_arms(
    spec: _Spec, X: Any, y: np.ndarray, t: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold predictions of mu0 and mu1 for every row."""
    fold = _folds(t, y, spec)
    mu0, mu1 = np.empty(len(y)), np.empty(len(y))
    for k in range(spec.n_folds):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        arms = _fit_arms(spec, _take(X, train), y[train], t[train])
        x_test = _take(X, test)
        mu0[test] = _predict_outcome(arms["mu0"], x_test, spec.binary)
        mu1[test] = _predict_outcome(arms["mu1"], x_test, spec.binary)
    return mu0, mu1


def _fit_learner(spec: _Spec, X: Any, y: np.ndarray, t: np.ndarray) -> _Fitted:
    """Fit one meta-learner on (X, y, t)."""
    if spec.learner == "s":
        return _Fitted(spec, {"mu": _fit_outcome(spec, _with_flags(X, t), y)})
    arms = _fit_arms(spec, X, y, t)  # on all rows: the T-learner, and predict_arms of X / DR
    if spec.learner == "t":
        return _Fitted(spec, arms)
    mu0, mu1 = _cross_fitted_arms(spec, X, y, t)
    if spec.learner == "x":
        control, treated = np.flatnonzero(t == 0), np.flatnonzero(t == 1)
        d1 = y[treated] - mu0[treated]  # imputed effects of the treated rows
        d0 = mu1[control] - y[control]  # ... and of the control rows
        models = {
            "tau1": _fit_cate(spec, _take(X, treated), d1),
            "tau0": _fit_cate(spec, _take(X, control), d0),
        }
        return _Fitted(spec, {**arms, **models})
    e = spec.propensity
    pseudo = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1.0 - e)
    return _Fitted(spec, {**arms, "tau": _fit_cate(spec, X, pseudo)})


def _out_of_fold(spec: _Spec, X: Any, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Each row's uplift from the learner refitted without that row's fold."""
    fold = _folds(t, y, spec)
    oof = np.empty(len(y))
    for k in range(spec.n_folds):
        train, test = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        fitted = _fit_learner(spec, _take(X, train), y[train], t[train])
        oof[test] = fitted.uplift(_take(X, test))
    return oof


# --------------------------------------------------------------------------- input checks


def _check_frame(X: pd.DataFrame) -> None:
    bad = [
        str(c)
        for c, dtype in X.dtypes.items()
        if not (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_bool_dtype(dtype)
            or pd.api.types.is_numeric_dtype(dtype)
        )
    ]
    if bad:
        raise EstimatorInputError(
            f"X: columns {bad[:5]} are neither numeric nor pandas 'category' "
            "(convert text columns with .astype('category'))"
        )
    if _FLAG in X.columns:
        raise EstimatorInputError(f"X: the column name {_FLAG!r} is reserved")


def _as_features(X: Any) -> pd.DataFrame | np.ndarray:
    """X as a DataFrame (kept: categories, names) or a 2-D float array."""
    if isinstance(X, pd.DataFrame):
        _check_frame(X)
        return X
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError) as err:
        raise EstimatorInputError(f"X: not numeric ({err})") from None
    if arr.ndim != 2:
        raise EstimatorInputError(f"X: expected a 2-D array, got {arr.ndim} dimension(s)")
    return arr


def _as_vector(values: Any, name: str, n: int) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        arr = np.squeeze(arr)
        if arr.ndim != 1:
            raise EstimatorInputError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if len(arr) != n:
        raise EstimatorInputError(f"{name}: {len(arr)} values for {n} rows of X")
    return arr


def _check_treatment(values: Any, n: int) -> np.ndarray:
    raw = _as_vector(values, "treatment", n)
    try:
        t = raw.astype(float)
    except (TypeError, ValueError):
        raise EstimatorInputError("treatment: values must be 0/1 (or booleans)") from None
    bad = np.flatnonzero(~np.isin(t, (0.0, 1.0)))
    if bad.size:
        raise EstimatorInputError(
            f"treatment: values must be 0/1 (or booleans); {bad.size} rows are not "
            f"(first rows: {bad[:5].tolist()})"
        )
    t = t.astype(int)
    for arm, name in ((0, "control (treatment == 0)"), (1, "treated (treatment == 1)")):
        if not np.any(t == arm):
            raise EstimatorInputError(f"treatment: there are no {name} rows; both arms are needed")
    return t


def _check_outcome(values: Any, n: int) -> np.ndarray:
    raw = _as_vector(values, "y", n)
    try:
        y = raw.astype(float)
    except (TypeError, ValueError):
        raise EstimatorInputError("y: the outcome must be numeric") from None
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise EstimatorInputError(
            f"y: {bad.size} values are missing or infinite (first rows: {bad[:5].tolist()})"
        )
    return y


def _recode(column: pd.Series, categories: pd.Index) -> pd.Categorical:
    """``column`` with the fit's categories, in the fit's order; other levels become missing."""
    values = column.astype(object)
    return pd.Categorical(values.where(values.isin(categories)), categories=categories)


# --------------------------------------------------------------------------- the estimator


class UpliftModel(BaseEstimator):
    """Uplift (CATE) from a randomised test with an S-, T-, X- or DR-learner.

    The uplift of a row is ``E[y | T=1, x] - E[y | T=0, x]``: how much the email changes the
    expected outcome of a subscriber with features ``x``. See the module docstring for the four
    learners and the references.

    Parameters
    ----------
    learner : {"s", "t", "x", "dr"}, default "t"
        The meta-learner (:data:`LEARNERS`).
    outcome : {"auto", "binary", "continuous"}, default "auto"
        ``"auto"``: binary when ``y`` holds only 0 and 1. Binary outcomes are modelled with a
        classifier's ``predict_proba``; continuous ones with a regressor.
    estimator : classifier, optional
        Outcome model for binary outcomes. Default: ``HistGradientBoostingClassifier`` with
        ``max_iter=150, learning_rate=0.05, max_leaf_nodes=7, min_samples_leaf=100,
        early_stopping=False, categorical_features="from_dtype"``. It is cloned, never fitted
        itself; a clone whose ``random_state`` is None gets ``random_state``.
    regressor : regressor, optional
        Outcome model for continuous outcomes, and the final CATE regression of the X- and
        DR-learners (whatever the outcome). Default: ``HistGradientBoostingRegressor`` with the
        same settings. Cloned and seeded like ``estimator``.
    n_folds : int, default 2
        Number of cross-fitting folds (>= 2): the X- and DR-learners' outcome models predict
        each row from models fitted on the other folds, and :attr:`oof_uplift_` refits the whole
        learner once per fold. Folds are stratified by treatment (and by ``y`` when binary) and
        seeded by ``random_state``.
    propensity : float, optional
        The treatment share of the randomised test (strictly between 0 and 1). None: the treated
        share of the training rows. Only for randomised tests: no propensity model is fitted.
    random_state : int or None, default 0
        Seed of the folds and of the (default) boosting models. None: not reproducible.
    oof : bool, default True
        Compute :attr:`oof_uplift_` (``n_folds`` extra fits of the whole learner). False skips
        them (and the attribute is not set), for a model scored on other rows only.

    Attributes
    ----------
    n_features_in_ : int
        Number of features seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Feature names seen in :meth:`fit` (only when ``X`` was a DataFrame with string names).
    outcome_ : str
        ``"binary"`` or ``"continuous"``.
    propensity_ : float
        The treated share used.
    ate_ : float
        Difference of the mean outcome, treated minus control, on the training rows.
    oof_uplift_ : ndarray of float
        Out-of-fold uplift of each training row: the learner is refitted ``n_folds`` times, each
        time without one fold, and predicts that fold. A training row's score is then not
        in-sample (use it to rank the training rows or to check calibration on them). This
        costs ``n_folds`` extra fits of the whole learner on ``(n_folds - 1) / n_folds`` of the
        rows: with two folds, about twice the fit time of the S- and T-learners and three times
        that of the X- and DR-learners (whose nuisance models are cross-fitted inside each
        refit). Only when ``oof=True``.
    models_ : dict
        The fitted models (``"mu"`` for S; ``"mu0"``, ``"mu1"`` on all rows for T, X and DR;
        ``"tau0"``, ``"tau1"`` for X; ``"tau"`` for DR).

    Notes
    -----
    scikit-learn's full ``parametrize_with_checks`` cannot apply because :meth:`fit` needs a
    treatment vector (as in causalml and scikit-uplift); the conventions it checks (clone,
    get/set params, ``NotFittedError``, ``n_features_in_``, feature-name checks, ``fit``
    returning ``self``, no input mutation, determinism given ``random_state``) are tested
    directly in ``tests/test_uplift.py``.
    """

    def __init__(
        self,
        learner: str = "t",
        outcome: str = "auto",
        estimator: object | None = None,
        regressor: object | None = None,
        n_folds: int = 2,
        propensity: float | None = None,
        random_state: int | None = 0,
        oof: bool = True,
    ) -> None:
        self.learner = learner
        self.outcome = outcome
        self.estimator = estimator
        self.regressor = regressor
        self.n_folds = n_folds
        self.propensity = propensity
        self.random_state = random_state
        self.oof = oof

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.target_tags.required = True
        tags.non_deterministic = self.random_state is None
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "_fitted")

    def _check_params(self) -> None:
        if self.learner not in LEARNERS:
            raise ValueError(f"learner must be one of {sorted(LEARNERS)}, got {self.learner!r}")
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be one of {list(_OUTCOMES)}, got {self.outcome!r}")
        if isinstance(self.n_folds, bool) or int(self.n_folds) != self.n_folds or self.n_folds < 2:
            raise ValueError(f"n_folds must be an integer >= 2, got {self.n_folds!r}")
        if self.propensity is not None and not 0.0 < float(self.propensity) < 1.0:
            raise ValueError(
                f"propensity must be strictly between 0 and 1, got {self.propensity!r}"
            )

    def fit(self, X: Any, y: Any, treatment: Any) -> UpliftModel:
        """Fit the learner on a randomised test.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
            Features: numeric columns and pandas ``category`` columns (missing values allowed:
            the default boosting models handle NaN natively).
        y : array of shape (n,)
            Outcome (finite numbers; 0/1 for a binary outcome).
        treatment : array of shape (n,)
            1 (or True) for rows sent the email, 0 (or False) for the control group.

        Returns
        -------
        UpliftModel
            ``self``, fitted.

        Raises
        ------
        ValueError
            Bad parameters; or (:class:`~workbench.errors.EstimatorInputError`, also a
            ``ValueError``) bad input: lengths differ, an arm is missing or has fewer than
            ``2 * n_folds`` rows, ``y`` not finite, ``y`` not 0/1 with ``outcome="binary"``,
            treatment not 0/1, text columns in ``X``.
        """
        self._check_params()
        self.__dict__.pop("_fitted", None)  # unfitted until this fit succeeds
        features = _as_features(X)
        n = features.shape[0]
        y_arr = _check_outcome(y, n)
        t = _check_treatment(treatment, n)
        is01 = bool(np.isin(y_arr, (0.0, 1.0)).all())
        if self.outcome == "binary" and not is01:
            bad = np.flatnonzero(~np.isin(y_arr, (0.0, 1.0)))
            raise EstimatorInputError(
                f"y: outcome='binary' needs 0/1 values; {bad.size} rows are not "
                f"(first rows: {bad[:5].tolist()})"
            )
        binary = self.outcome == "binary" or (self.outcome == "auto" and is01)
        n_folds = int(self.n_folds)
        smallest = int(min(np.sum(t == 0), np.sum(t == 1)))
        if smallest < 2 * n_folds:
            raise EstimatorInputError(
                f"treatment: the smaller arm has {smallest} rows; at least 2 * n_folds = "
                f"{2 * n_folds} are needed"
            )
        validate_data(self, X, skip_check_array=True, reset=True)  # n_features_in_, names
        e = float(self.propensity) if self.propensity is not None else float(t.mean())
        seed = self.random_state
        spec = _Spec(
            learner=self.learner,
            binary=binary,
            classifier=self.estimator if self.estimator is not None else _default_classifier(seed),
            regressor=self.regressor if self.regressor is not None else _default_regressor(seed),
            n_folds=n_folds,
            propensity=e,
            seed=seed,
        )
        fitted = _fit_learner(spec, features, y_arr, t)
        oof = _out_of_fold(spec, features, y_arr, t) if self.oof else None

        self.outcome_ = "binary" if binary else "continuous"
        self.propensity_ = e
        self.ate_ = float(y_arr[t == 1].mean() - y_arr[t == 0].mean())
        self.models_ = fitted.models
        if oof is not None:
            self.oof_uplift_ = oof
        elif hasattr(self, "oof_uplift_"):
            del self.oof_uplift_  # from an earlier fit
        self._fitted = fitted
        if isinstance(features, pd.DataFrame):
            self._categories = {
                c: d.categories
                for c, d in features.dtypes.items()
                if isinstance(d, pd.CategoricalDtype)
            }
        else:
            self._categories = {}
        return self

    def _features(self, X: Any) -> pd.DataFrame | np.ndarray:
        check_is_fitted(self)
        validate_data(self, X, skip_check_array=True, reset=False)
        features = _as_features(X)
        if isinstance(features, pd.DataFrame) and self._categories:
            # the categories of the fit, in the fit's order (unseen levels become missing)
            features = features.assign(
                **{c: _recode(features[c], cats) for c, cats in self._categories.items()}
            )
        return features

    def predict(self, X: Any) -> np.ndarray:
        """Predicted uplift of each row: ``E[y | T=1, x] - E[y | T=0, x]``.

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
            Features, with the columns (names and order) seen in :meth:`fit`.

        Returns
        -------
        ndarray of float, shape (n,)
            The uplift (a difference of probabilities for a binary outcome).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model is not fitted.
        ValueError
            When the columns differ from those seen in :meth:`fit`.
        """
        features = self._features(X)
        return self._fitted.uplift(features)

    def predict_arms(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Predicted outcome without and with the email, from the outcome models.

        For the S- and T-learners these are the models whose difference is the uplift; for the
        X- and DR-learners, the per-arm outcome models refitted on all the training rows (their
        difference is the T-learner's uplift, close to but not equal to :meth:`predict`).

        Parameters
        ----------
        X : DataFrame or array of shape (n, p)
            Features, with the columns seen in :meth:`fit`.

        Returns
        -------
        mu0, mu1 : ndarray of float, shape (n,)
            Expected outcome under control and under treatment.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the model is not fitted.
        ValueError
            When the columns differ from those seen in :meth:`fit`.
        """
        features = self._features(X)
        return self._fitted.arms(features)
