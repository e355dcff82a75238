"""Encoded journeys: the compact, vectorised form every attribution model works on.

A :class:`PathSet` holds many weighted paths in a ragged (CSR-like) layout: one flat array of
channel codes, offsets where each path starts, and per-path conversions, conversion value and
non-converting count. Models never loop over paths in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError

RESULT_COLUMNS = ("channel", "conversions", "value", "share", "value_share")


@dataclass(frozen=True, eq=False)
class PathSet:
    """Weighted channel paths in ragged layout.

    Parameters
    ----------
    channels : tuple of str
        Channel names; ``codes`` index into it. Sorted, so results are deterministic.
    codes : ndarray of int32, shape (n_touches,)
        Channel code of every touch, path after path, in time order.
    offsets : ndarray of int64, shape (n_paths + 1,)
        Path ``i`` is ``codes[offsets[i]:offsets[i + 1]]``. Every path has at least one touch.
    conversions, value, nulls : ndarray of float64, shape (n_paths,)
        Conversions, conversion value and non-converting journeys carried by each path.
    ages : ndarray of float64, shape (n_touches,), optional
        Age of each touch at the end of its journey (days), for time decay. When absent, the
        number of touches that follow it in the path is used instead (``age_unit="touches"``).
    """

    channels: tuple[str, ...]
    codes: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray
    ages: np.ndarray | None = None

    @property
    def n_paths(self) -> int:
        """Number of paths."""
        return len(self.offsets) - 1

    @property
    def n_channels(self) -> int:
        """Number of distinct channels."""
        return len(self.channels)

    @property
    def lengths(self) -> np.ndarray:
        """Touches per path."""
        return np.diff(self.offsets)

    @property
    def path_index(self) -> np.ndarray:
        """Index of the path each touch belongs to."""
        return np.repeat(np.arange(self.n_paths), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """Position of each touch within its path (0 = first touch)."""
        return np.arange(len(self.codes)) - np.repeat(self.offsets[:-1], self.lengths)

    @property
    def age_unit(self) -> str:
        """``"days"`` when touch ages are known, else ``"touches"``."""
        return "touches" if self.ages is None else "days"

    def touch_ages(self) -> np.ndarray:
        """Age of each touch: days before the journey's end, or touches that follow it."""
        if self.ages is not None:
            return self.ages
        return (np.repeat(self.lengths, self.lengths) - 1 - self.position).astype(np.float64)

    def subset(self, mask: np.ndarray) -> PathSet:
        """The paths where ``mask`` is true (channel list unchanged)."""
        mask = np.asarray(mask, dtype=bool)
        lengths = self.lengths[mask]
        touch = np.repeat(mask, self.lengths)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return PathSet(
            self.channels,
            self.codes[touch],
            offsets,
            self.conversions[mask],
            self.value[mask],
            self.nulls[mask],
            None if self.ages is None else self.ages[touch],
        )

    def drop_empty(self) -> PathSet:
        """Paths that carry at least one journey (conversions + nulls > 0)."""
        keep = (self.conversions + self.nulls) > 0
        return self if keep.all() else self.subset(keep)


def encode(
    channels_flat: np.ndarray,
    lengths: np.ndarray,
    conversions: np.ndarray,
    value: np.ndarray | None = None,
    nulls: np.ndarray | None = None,
    ages: np.ndarray | None = None,
) -> PathSet:
    """Build a :class:`PathSet` from channel names of every touch and path lengths.

    Parameters
    ----------
    channels_flat : array of str, shape (n_touches,)
        Channel of every touch, path after path.
    lengths : array of int, shape (n_paths,)
        Touches per path (each at least 1).
    conversions, value, nulls : array of float, shape (n_paths,)
        Per-path weights (value and nulls default to zero).
    ages : array of float, shape (n_touches,), optional
        Touch ages for time decay.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    if (lengths < 1).any():
        raise WorkbenchError("every path needs at least one touch")
    codes, names = pd.factorize(pd.Series(channels_flat, dtype="str"), sort=True)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    n = len(lengths)
    conv = np.asarray(conversions, dtype=np.float64)
    val = np.zeros(n) if value is None else np.asarray(value, dtype=np.float64)
    nul = np.zeros(n) if nulls is None else np.asarray(nulls, dtype=np.float64)
    return PathSet(
        tuple(str(c) for c in names),
        codes.astype(np.int32).ravel(),
        offsets,
        conv,
        val,
        nul,
        None if ages is None else np.asarray(ages, dtype=np.float64),
    )


def credit_frame(
    channels: tuple[str, ...], conversions: np.ndarray, value: np.ndarray
) -> pd.DataFrame:
    """One row per channel: credited conversions and value, and their shares of the totals."""
    conversions = np.clip(np.asarray(conversions, dtype=np.float64), 0.0, None)
    value = np.clip(np.asarray(value, dtype=np.float64), 0.0, None)
    tc, tv = conversions.sum(), value.sum()
    return pd.DataFrame(
        {
            "channel": pd.Series(channels, dtype="str"),
            "conversions": conversions,
            "value": value,
            "share": conversions / tc if tc > 0 else np.zeros_like(conversions),
            "value_share": value / tv if tv > 0 else np.zeros_like(value),
        }
    )


def spread(ps: PathSet, weights: np.ndarray) -> pd.DataFrame:
    """Credit each path's conversions and value to its touches by per-touch ``weights``.

    ``weights`` sum to one within each path; the result is a :func:`credit_frame`.
    """
    idx = ps.path_index
    conv = np.bincount(ps.codes, weights=weights * ps.conversions[idx], minlength=ps.n_channels)
    val = np.bincount(ps.codes, weights=weights * ps.value[idx], minlength=ps.n_channels)
    return credit_frame(ps.channels, conv, val)
