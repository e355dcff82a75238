"""Drift audit between two as-of dates: feature PSI and segment transitions."""

from __future__ import annotations

import numpy as np
import pandas as pd


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10, eps: float = 1e-4) -> float:
    """Population stability index of ``current`` against ``reference``.

    Bins are the reference's quantiles (ties collapse bins, so a 0/1 flag gets two);
    ``PSI = sum((c - r) * ln(c / r))`` over bin shares, floored at ``eps``. Missing values are
    a bin of their own. Common reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 large shift.
    """
    r = np.asarray(reference, dtype=float)
    c = np.asarray(current, dtype=float)
    rn, cn = np.isnan(r), np.isnan(c)
    edges = np.unique(np.quantile(r[~rn], np.linspace(0, 1, bins + 1)[1:-1])) if (~rn).any() else []
    rb = np.where(rn, len(edges) + 1, np.searchsorted(edges, r, side="right"))
    cb = np.where(cn, len(edges) + 1, np.searchsorted(edges, c, side="right"))
    k = len(edges) + 2
    rs = np.maximum(np.bincount(rb, minlength=k) / max(len(r), 1), eps)
    cs = np.maximum(np.bincount(cb, minlength=k) / max(len(c), 1), eps)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def category_psi(reference: pd.Series, current: pd.Series, eps: float = 1e-4) -> float:
    """Population stability index of a categorical column: one bin per level (missing too)."""
    r = reference.astype("str").fillna("<missing>").value_counts(normalize=True)
    c = current.astype("str").fillna("<missing>").value_counts(normalize=True)
    levels = r.index.union(c.index)
    rs = np.maximum(r.reindex(levels, fill_value=0.0).to_numpy(), eps)
    cs = np.maximum(c.reindex(levels, fill_value=0.0).to_numpy(), eps)
    return float(np.sum((cs - rs) * np.log(cs / rs)))


def feature_psi(
    reference: pd.DataFrame, current: pd.DataFrame, threshold: float = 0.25, bins: int = 10
) -> pd.DataFrame:
    """PSI of every feature present in both tables, largest first, with a flag.

    Numeric columns are binned by the reference's quantiles (:func:`psi`), text and other
    categorical columns by level (:func:`category_psi`).

    Returns
    -------
    DataFrame
        ``feature, psi, flagged`` (``psi > threshold``).
    """
    cols = [c for c in reference.columns if c in current.columns]
    rows = [
        (
            c,
            psi(reference[c].to_numpy(float), current[c].to_numpy(float), bins)
            if pd.api.types.is_numeric_dtype(reference[c])
            else category_psi(reference[c], current[c]),
        )
        for c in cols
    ]
    out = pd.DataFrame(rows, columns=["feature", "psi"])
    out["flagged"] = out["psi"] > threshold
    return out.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def transition_matrix(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Share of each earlier segment (rows) found in each later segment (columns).

    Only subscribers present at both dates count; the diagonal is who stayed.
    """
    common = before.index.intersection(after.index)
    t = pd.crosstab(before.loc[common].rename("before"), after.loc[common].rename("after"))
    return t.div(t.sum(axis=1), axis=0)


def flag_transitions(matrix: pd.DataFrame, threshold: float = 0.3) -> pd.DataFrame:
    """Segments that lost more than ``threshold`` of their members to other segments.

    Returns
    -------
    DataFrame
        ``segment, stayed, moved, flagged`` with ``moved = 1 - stayed``.
    """
    stayed = pd.Series(
        [matrix.loc[s, s] if s in matrix.columns else 0.0 for s in matrix.index],
        index=matrix.index,
    )
    out = pd.DataFrame({"segment": matrix.index, "stayed": stayed.to_numpy()})
    out["moved"] = 1 - out["stayed"]
    out["flagged"] = out["moved"] > threshold
    return out
