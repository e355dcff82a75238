"""scikit-learn's own estimator checks for every estimator of the package.

The clustering checks fit 3 well-separated blobs of 50 rows after setting ``n_clusters`` (not
``n_components``), and expect the 3 blobs back: the instances below are configured for that
(3 components; a minimum segment size below the default 50 subscribers, which would merge every
blob into one segment). No check is expected to fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from workbench.segment import METHODS, DeconvolvedMixture, Segmenter
from workbench.segment.pipelines import EmpiricalBayesScaler

ESTIMATORS = [
    DeconvolvedMixture(n_components=3),
    EmpiricalBayesScaler(),
    *(Segmenter(method, n_clusters=3, min_size=2) for method in METHODS),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check) -> None:
    check(estimator)


def test_unfitted_estimators_raise_not_fitted_error() -> None:
    x = pd.DataFrame({"open_rate": [0.1, 0.5, 0.9], "revenue": [0.0, 10.0, 5.0]})
    for call in (
        lambda: Segmenter().predict(x),
        lambda: Segmenter().transform(x),
        lambda: EmpiricalBayesScaler().transform(x),
        lambda: EmpiricalBayesScaler().measure(x),
        lambda: DeconvolvedMixture().predict(x.to_numpy()),
        lambda: DeconvolvedMixture().n_parameters(),
    ):
        with pytest.raises(NotFittedError):
            call()


def test_a_plain_array_is_read_as_numbered_columns() -> None:
    """Arrays work (columns x0, x1, ...); a DataFrame's column names are checked on predict."""
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(-3, 1, (60, 2)), rng.normal(3, 1, (60, 2))]
    seg = Segmenter("kmeans", n_clusters=2, min_size=5).fit(x)
    assert seg.columns_ == ["x0", "x1"] and seg.n_features_in_ == 2
    assert len(set(seg.labels_[:60])) == 1 and seg.labels_[0] != seg.labels_[-1]
    frame = pd.DataFrame(x, columns=["a", "b"])
    fitted = Segmenter("kmeans", n_clusters=2, min_size=5).fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame.rename(columns={"a": "c"}))
