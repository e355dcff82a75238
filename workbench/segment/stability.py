"""Stability of a segmentation under bootstrap resampling.

Each bootstrap run refits the same :class:`~workbench.segment.pipelines.Segmenter` on a resample
(with replacement) of the subscribers and assigns the original subscribers again. Agreement with
the reference segmentation is measured overall by the adjusted Rand index (ARI) and per segment
by the Jaccard similarity of the segment with its best-matching bootstrap segment (Hennig's
``clusterboot`` measure; above ~0.75 a segment is usually called stable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score

from workbench.segment.pipelines import Segmenter


@dataclass(frozen=True)
class Stability:
    """Result of :func:`bootstrap_stability`.

    Attributes
    ----------
    ari : ndarray
        ARI between the reference segmentation and each bootstrap run.
    per_segment : DataFrame
        ``segment, size, jaccard`` (mean over runs of the best-match Jaccard similarity).
    """

    ari: np.ndarray
    per_segment: pd.DataFrame

    @property
    def mean_ari(self) -> float:
        """Mean ARI over the bootstrap runs."""
        return float(np.mean(self.ari))


def _best_jaccard(ref: np.ndarray, other: np.ndarray, n_ref: int) -> np.ndarray:
    """For each reference segment, the highest Jaccard similarity with any other segment."""
    table = pd.crosstab(ref, other).reindex(range(n_ref), fill_value=0).to_numpy(float)
    inter = table
    union = table.sum(axis=1, keepdims=True) + table.sum(axis=0, keepdims=True) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        jac = np.where(union > 0, inter / union, 0.0)
    return jac.max(axis=1) if jac.shape[1] else np.zeros(n_ref)


def bootstrap_stability(
    segmenter: Segmenter,
    features: pd.DataFrame,
    n_boot: int = 10,
    sample_size: int = 5000,
    seed: int = 0,
) -> Stability:
    """Refit ``segmenter`` on bootstrap resamples and compare with the reference segments.

    Parameters
    ----------
    segmenter : Segmenter
        A (fitted or unfitted) segmenter; its parameters are reused, it is not modified.
    features : DataFrame
        Feature table.
    n_boot : int, default 10
        Bootstrap runs.
    sample_size : int, default 5000
        Subscribers (a seeded sample) the runs are made on.
    seed : int, default 0
        Seed of the sample, the resamples and each run's model.

    Returns
    -------
    Stability
    """
    rng = np.random.default_rng(seed)
    n = len(features)
    idx = np.sort(rng.choice(n, size=min(n, sample_size), replace=False))
    base = features.iloc[idx]
    ref_model = clone(segmenter).set_params(sample_size=None, min_size=1).fit(base)
    ref = ref_model.labels_
    n_ref = ref_model.n_segments_
    aris, jacs = [], []
    for b in range(n_boot):
        boot = rng.integers(0, len(base), size=len(base))
        model = clone(segmenter).set_params(
            sample_size=None, min_size=1, random_state=int(rng.integers(2**31))
        )
        model.fit(base.iloc[boot])
        lab = model.predict(base)
        aris.append(adjusted_rand_score(ref, lab))
        jacs.append(_best_jaccard(ref, lab, n_ref))
        del b
    per = pd.DataFrame(
        {
            "segment": np.arange(n_ref),
            "size": np.bincount(ref, minlength=n_ref),
            "jaccard": np.mean(jacs, axis=0),
        }
    )
    return Stability(np.asarray(aris), per)
