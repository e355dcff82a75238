"""Rule-based attribution: first, last, last non-direct, linear, position based, time decay.

Each rule gives every touch of a path a weight (weights of a path sum to one); a path's
conversions and conversion value are credited to its channels by these weights. All rules are
vectorised over the ragged :class:`~workbench.attribution._core.PathSet`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.attribution._core import PathSet, spread
from workbench.attribution.options import DEFAULTS, RULES
from workbench.errors import WorkbenchError


def _one_hot(ps: PathSet, touch: np.ndarray) -> np.ndarray:
    w = np.zeros(len(ps.codes))
    w[touch] = 1.0
    return w


def first_touch_weights(ps: PathSet) -> np.ndarray:
    """All credit to the first touch."""
    return _one_hot(ps, ps.offsets[:-1])


def last_touch_weights(ps: PathSet) -> np.ndarray:
    """All credit to the last touch."""
    return _one_hot(ps, ps.offsets[1:] - 1)


def last_non_direct_weights(ps: PathSet, direct: str = DEFAULTS.direct) -> np.ndarray:
    """All credit to the last touch not on ``direct`` (to ``direct`` if the path has no other)."""
    last = ps.offsets[1:] - 1
    if direct not in ps.channels:
        return _one_hot(ps, last)
    code = ps.channels.index(direct)
    idx = np.where(ps.codes != code, np.arange(len(ps.codes)), -1)
    last_nd = np.maximum.reduceat(idx, ps.offsets[:-1])
    return _one_hot(ps, np.where(last_nd >= 0, last_nd, last))


def linear_weights(ps: PathSet) -> np.ndarray:
    """Equal credit to every touch."""
    return 1.0 / np.repeat(ps.lengths, ps.lengths).astype(np.float64)


def position_weights(
    ps: PathSet, first: float = DEFAULTS.first, last: float = DEFAULTS.last
) -> np.ndarray:
    """``first`` to the first touch, ``last`` to the last, the rest shared by the middle touches.

    A one-touch path gives its touch everything; a two-touch path splits in proportion
    ``first : last`` (50/50 with the default 40/20/40).
    """
    if first < 0 or last < 0 or first + last > 1:
        raise WorkbenchError(
            f"position weights need first, last >= 0 and first + last <= 1, got {first}, {last}"
        )
    n = np.repeat(ps.lengths, ps.lengths)
    pos = ps.position
    middle = (1.0 - first - last) / np.maximum(n - 2, 1)
    w = np.where(pos == 0, first, np.where(pos == n - 1, last, middle))
    two = n == 2
    if (first + last) > 0:
        w = np.where(two, np.where(pos == 0, first, last) / (first + last), w)
    else:
        w = np.where(two, 0.5, w)
    return np.where(n == 1, 1.0, w)


def time_decay_weights(ps: PathSet, half_life: float = DEFAULTS.half_life) -> np.ndarray:
    """Weights halving every ``half_life`` of age before the journey's end.

    Ages are in days for journeys built from a world, and in touches (number of later touches)
    for a paths file, which has no times; ``half_life`` is read in the same unit.
    """
    if not half_life > 0:
        raise WorkbenchError(f"half_life must be positive, got {half_life}")
    age = ps.touch_ages()
    # subtract each path's youngest age so the largest raw weight is 1 (no underflow)
    youngest = np.minimum.reduceat(age, ps.offsets[:-1])
    raw = np.exp2(-(age - np.repeat(youngest, ps.lengths)) / half_life)
    total = np.add.reduceat(raw, ps.offsets[:-1])
    return raw / np.repeat(total, ps.lengths)


def rule_attribution(
    ps: PathSet,
    rule: str,
    *,
    half_life: float = DEFAULTS.half_life,
    first: float = DEFAULTS.first,
    last: float = DEFAULTS.last,
    direct: str = DEFAULTS.direct,
) -> pd.DataFrame:
    """Credit conversions and value by one rule.

    Parameters
    ----------
    ps : PathSet
        Encoded paths.
    rule : {"first", "last", "last_non_direct", "linear", "position", "time_decay"}
        The rule.
    half_life : float, default 7
        Time decay half-life (days for journeys, touches for paths files).
    first, last : float, default 0.4
        Position-based shares of the first and last touch.
    direct : str, default "direct"
        The channel that last non-direct skips.

    Returns
    -------
    DataFrame
        ``channel, conversions, value, share, value_share``.
    """
    if rule == "first":
        w = first_touch_weights(ps)
    elif rule == "last":
        w = last_touch_weights(ps)
    elif rule == "last_non_direct":
        w = last_non_direct_weights(ps, direct)
    elif rule == "linear":
        w = linear_weights(ps)
    elif rule == "position":
        w = position_weights(ps, first, last)
    elif rule == "time_decay":
        w = time_decay_weights(ps, half_life)
    else:
        raise WorkbenchError(f"unknown rule '{rule}'; rules are {', '.join(RULES)}")
    return spread(ps, w)
