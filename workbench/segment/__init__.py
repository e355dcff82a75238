"""Segments of subscribers: learned (clustering) and rule-based, profiled, named, audited.

The one-call entry point is :func:`segment_subscribers`; the pieces are in submodules:

- :mod:`~workbench.segment.api` -- :func:`segment_subscribers` and :func:`choose_k`, the one
  choice of the number of segments the notebook, the CLI and the benchmarks share;
- :mod:`~workbench.segment.methods` -- the method names and candidate ``k`` (no heavy imports);
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

The names below are imported on first use, so that ``import workbench.segment.methods`` (the
command line's ``--help``) does not load scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from workbench.segment.methods import K_RANGE, METHODS

if TYPE_CHECKING:
    from workbench.segment.api import Segmentation, choose_k, segment_subscribers
    from workbench.segment.deconvolve import DeconvolvedMixture
    from workbench.segment.pipelines import UNREACHABLE_NAME, Segmenter, best_k, select_k

#: Public name -> the submodule that defines it.
_LAZY = {
    "Segmentation": "api",
    "choose_k": "api",
    "segment_subscribers": "api",
    "DeconvolvedMixture": "deconvolve",
    "UNREACHABLE_NAME": "pipelines",
    "Segmenter": "pipelines",
    "best_k": "pipelines",
    "select_k": "pipelines",
}

__all__ = [
    "K_RANGE",
    "METHODS",
    "UNREACHABLE_NAME",
    "DeconvolvedMixture",
    "Segmentation",
    "Segmenter",
    "best_k",
    "choose_k",
    "segment_subscribers",
    "select_k",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
