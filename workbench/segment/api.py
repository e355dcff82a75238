"""The one-call segmentation: choose the number of segments, fit, assign, name.

:func:`segment_subscribers` is what the command line (``workbench segment``), the notebook and
the evaluation script call; :func:`choose_k` is its choice of the number of segments, so that
all of them choose the same ``k`` for the same features and seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.segment.methods import K_RANGE
from workbench.segment.pipelines import (
    REACHABLE_COLUMN,
    UNREACHABLE_NAME,
    Segmenter,
    best_k,
    select_k,
)
from workbench.segment.profiles import name_segments


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
        Model-selection scores (:func:`choose_k`), when ``k="auto"`` or asked for.
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
    scores: bool = False,
    n_jobs: int | None = -1,
) -> Segmentation:
    """Segment every subscriber of a feature table.

    Parameters
    ----------
    features : DataFrame
        :func:`workbench.features.compute_features` output.
    method : {"deconvolved", "kmeans", "gmm", "hdbscan", "agglomerative"}
        ``"deconvolved"`` (default, recommended): :class:`DeconvolvedMixture`, which weighs
        every per-subscriber average by the evidence behind it and models the text attributes
        (:func:`workbench.segment.policy.attribute_columns`: region, acquisition source) too.
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
    scores : bool, default False
        Score the candidate ``ks`` (``selection``) even when ``k`` is a number, for the
        model-selection figure; ``k="auto"`` always does (except for HDBSCAN).
    n_jobs : int or None, default -1
        Threads for scoring the candidate ``ks`` and for the model's starts (-1: every core,
        ``None``: 1). The segments do not depend on it.

    Returns
    -------
    Segmentation
    """
    k_val, selection = choose_k(
        features, method, k, seed, ks, unreachable, scores=scores, n_jobs=n_jobs
    )
    seg = Segmenter(
        method,
        k_val,
        min_size=min_size,
        on_small=on_small,
        sample_size=sample_size,
        random_state=seed,
        unreachable=unreachable,
        n_jobs=n_jobs,
    ).fit(features)
    segments = pd.Series(seg.labels_, index=features.index, name="segment")
    names = {int(s): n for s, n in name_segments(features, segments).items()}
    if seg.rule_segment_ is not None:
        names[seg.rule_segment_] = UNREACHABLE_NAME
    return Segmentation(seg, segments, names, selection)


def choose_k(
    features: pd.DataFrame,
    method: str = "deconvolved",
    k: int | str = "auto",
    seed: int = 0,
    ks: Sequence[int] = K_RANGE,
    unreachable: str = "cluster",
    scores: bool = False,
    n_jobs: int | None = -1,
) -> tuple[int, pd.DataFrame | None]:
    """The number of segments :func:`segment_subscribers` fits, and the scores behind it.

    Parameters
    ----------
    features : DataFrame
        Feature table.
    method, seed, ks, unreachable, n_jobs
        As in :func:`segment_subscribers`.
    k : int or "auto"
        A number is returned as it is; ``"auto"`` is the best of ``ks`` by :func:`select_k`
        (on its seeded sample of :data:`~workbench.segment.methods.SELECTION_SAMPLE`
        subscribers, reachable ones only with ``unreachable="rule"``) and :func:`best_k`.
        HDBSCAN finds its own number: ``k`` is then unused (2).
    scores : bool, default False
        Compute the scores for a numeric ``k`` too.

    Returns
    -------
    k : int
    selection : DataFrame or None
        :func:`select_k`'s table, ``None`` when nothing was scored.
    """
    if isinstance(k, str) and k != "auto":
        raise WorkbenchError(f"k must be a number or 'auto', got {k!r}")
    auto = isinstance(k, str)
    selection = None
    if method != "hdbscan" and (auto or scores):
        base = features
        if unreachable == "rule" and REACHABLE_COLUMN in features.columns:
            base = features.loc[features[REACHABLE_COLUMN].to_numpy() != 0]
        selection = select_k(base, ks, method=method, seed=seed, n_jobs=n_jobs)
    if not auto:
        return int(k), selection
    return (2 if selection is None else best_k(selection)), selection
