"""The segmentation methods and the candidate numbers of segments, without importing them.

Kept free of heavy imports so that the command line can offer the methods (``--method``)
without loading scikit-learn.
"""

from __future__ import annotations

from typing import Literal

Method = Literal["deconvolved", "kmeans", "gmm", "hdbscan", "agglomerative"]
#: Clustering methods of :class:`workbench.segment.Segmenter`, the recommended one first.
METHODS: tuple[str, ...] = ("deconvolved", "kmeans", "gmm", "hdbscan", "agglomerative")
#: Methods with a likelihood, whose number of segments is chosen by an information criterion.
LIKELIHOOD_METHODS: tuple[str, ...] = ("deconvolved", "gmm")
#: Candidate numbers of segments for ``k="auto"``: the one range the notebook, the CLI and the
#: evaluation script search.
K_RANGE: range = range(4, 13)
#: Subscribers (a seeded sample) :func:`workbench.segment.select_k` scores for ``k="auto"``:
#: silhouette is quadratic in the rows.
SELECTION_SAMPLE = 5000
