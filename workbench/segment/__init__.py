"""Segments of subscribers: learned (clustering) and rule-based, profiled, named, audited.

The one-call entry point is :func:`segment_subscribers`; the pieces are in submodules:

- :mod:`~workbench.segment.pipelines` -- :class:`Segmenter` (transform + deconvolving mixture /
  KMeans / Gaussian mixture / HDBSCAN / agglomerative, min-size guard, bulk assignment) and
  :func:`select_k`;
- :mod:`~workbench.segment.deconvolve` -- :class:`DeconvolvedMixture`, the recommended model: a
  Gaussian mixture of the true behaviour behind noisy per-subscriber averages;
- :mod:`~workbench.segment.stability` -- bootstrap ARI and per-segment Jaccard stability;
- :mod:`~workbench.segment.profiles` -- profiles, distinguishing features, names, outcomes;
- :mod:`~workbench.segment.rules` -- RFM grid, lifecycle stages, user rules;
- :mod:`~workbench.segment.drift` -- PSI per feature and segment transition matrices;
- :mod:`~workbench.segment.playbook` -- send window, cadence, content, channels, action;
- :mod:`~workbench.segment.evaluate` -- ARI / NMI / confusion against true personas;
- :mod:`~workbench.segment.plots` -- the figures of the segmentation notebook.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.segment.deconvolve import DeconvolvedMixture
from workbench.segment.pipelines import (
    K_RANGE,
    METHODS,
    REACHABLE_COLUMN,
    UNREACHABLE_NAME,
    Segmenter,
    best_k,
    select_k,
)
from workbench.segment.profiles import name_segments

__all__ = [
    "K_RANGE",
    "METHODS",
    "UNREACHABLE_NAME",
    "DeconvolvedMixture",
    "Segmentation",
    "Segmenter",
    "best_k",
    "segment_subscribers",
    "select_k",
]


@dataclass
class Segmentation:
    """Result of :func:`segment_subscribers`.

    Attributes
    ----------
    segmenter : Segmenter
        The fitted segmenter (reuse it to assign other subscribers).
    segments : Series
        Segment number per ``subscriber_id`` (0 = largest).
    names : dict of int to str
        Readable name per segment.
    selection : DataFrame or None
        Model-selection scores when ``k="auto"``.
    """

    segmenter: Segmenter
    segments: pd.Series
    names: dict[int, str]
    selection: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """One row per subscriber: ``subscriber_id, segment, segment_name``."""
        seg = self.segments
        return pd.DataFrame(
            {
                "subscriber_id": seg.index.to_numpy(),
                "segment": seg.to_numpy(),
                "segment_name": seg.map(self.names).to_numpy(),
            }
        )


def segment_subscribers(
    features: pd.DataFrame,
    method: str = "deconvolved",
    k: int | str = "auto",
    min_size: int = 50,
    seed: int = 0,
    ks: Sequence[int] = K_RANGE,
    sample_size: int | None = 20_000,
    on_small: str = "merge",
    unreachable: str = "cluster",
) -> Segmentation:
    """Segment every subscriber of a feature table.

    Parameters
    ----------
    features : DataFrame
        :func:`workbench.features.compute_features` output.
    method : {"deconvolved", "kmeans", "gmm", "hdbscan", "agglomerative"}
        ``"deconvolved"`` (default, recommended): :class:`DeconvolvedMixture`, which weighs
        every per-subscriber average by the evidence behind it and models the text attributes
        (:func:`workbench.features.attribute_columns`: region, acquisition source) too.
    k : int or "auto"
        Number of segments, or ``"auto"``: chosen by :func:`select_k` over ``ks`` (lowest ICL
        for the mixtures, best silhouette otherwise; HDBSCAN finds its own).
    min_size : int, default 50
        Smallest segment exported; smaller ones are merged into the nearest (see
        ``segmenter.merges_``) or refused (``on_small="error"``).
    seed : int
    ks : sequence of int
        Candidates for ``k="auto"``.
    sample_size : int or None
        Subscribers the model is fitted on; every subscriber is assigned.
    on_small : {"merge", "error"}
    unreachable : {"cluster", "rule"}, default "cluster"
        ``"rule"``: subscribers who cannot be emailed (``email_reachable`` = 0) form one
        rule-based segment named :data:`UNREACHABLE_NAME`, and only the reachable base is
        clustered (and scored for ``k="auto"``); see :class:`Segmenter`.

    Returns
    -------
    Segmentation
    """
    selection = None
    if isinstance(k, str):
        if k != "auto":
            raise WorkbenchError(f"k must be a number or 'auto', got {k!r}")
        if method == "hdbscan":
            k_val = 2
        else:
            base = features
            if unreachable == "rule" and REACHABLE_COLUMN in features.columns:
                base = features.loc[features[REACHABLE_COLUMN].to_numpy() != 0]
            selection = select_k(base, ks, method=method, seed=seed)
            k_val = best_k(selection)
    else:
        k_val = int(k)
    seg = Segmenter(
        method,
        k_val,
        min_size=min_size,
        on_small=on_small,
        sample_size=sample_size,
        seed=seed,
        unreachable=unreachable,
    ).fit(features)
    segments = pd.Series(seg.labels_, index=features.index, name="segment")
    names = {int(s): n for s, n in name_segments(features, segments).items()}
    if seg.rule_segment_ is not None:
        names[seg.rule_segment_] = UNREACHABLE_NAME
    return Segmentation(seg, segments, names, selection)
