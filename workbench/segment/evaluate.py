"""Scoring segments against the true personas (evaluation code only: reads ``truth_*``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from workbench.errors import WorkbenchError


def _aligned(segments: pd.Series, truth: pd.Series) -> tuple[pd.Series, pd.Series]:
    common = segments.index.intersection(truth.index)
    if len(common) == 0:
        raise WorkbenchError("segments and truth share no subscriber_id")
    return segments.loc[common], truth.loc[common]


def agreement(segments: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Adjusted Rand index and normalised mutual information of segments vs true personas.

    Parameters
    ----------
    segments, truth : Series
        Segment and true persona, both indexed by ``subscriber_id``.

    Returns
    -------
    dict
        ``ari``, ``nmi`` and ``n`` (subscribers compared).
    """
    s, t = _aligned(segments, truth)
    return {
        "ari": float(adjusted_rand_score(t.to_numpy(), s.to_numpy())),
        "nmi": float(normalized_mutual_info_score(t.to_numpy(), s.to_numpy())),
        "n": int(len(s)),
    }


def confusion(segments: pd.Series, truth: pd.Series, normalize: bool = True) -> pd.DataFrame:
    """Personas (rows) by segments (columns): counts, or each persona's share per segment."""
    s, t = _aligned(segments, truth)
    table = pd.crosstab(t.rename("persona"), s.rename("segment"))
    if normalize:
        table = table.div(table.sum(axis=1), axis=0)
    return table


def purity(segments: pd.Series, truth: pd.Series) -> pd.DataFrame:
    """Per segment: size, its majority persona and that persona's share of the segment."""
    s, t = _aligned(segments, truth)
    table = pd.crosstab(s.rename("segment"), t.rename("persona"))
    return pd.DataFrame(
        {
            "size": table.sum(axis=1),
            "majority_persona": table.idxmax(axis=1),
            "purity": table.max(axis=1) / np.maximum(table.sum(axis=1), 1),
        }
    ).reset_index()
