"""Shapley-value attribution ("simplified Shapley", Zhao et al. 2018).

The cooperative game: the worth of a coalition ``S`` of channels is the number of conversions
(or the conversion value) of the journeys whose *set* of channels is a subset of ``S``,

``v(S) = sum over channel sets T within S of w(T)``,

with ``w(T)`` the conversions of journeys whose channel set is exactly ``T``. Order and repeats
within a journey are ignored; non-converting journeys play no part. This ``v`` is a sum of
unanimity games with Harsanyi dividends ``w(T)``, so its Shapley value has the closed form

``phi(i) = sum over T containing i of w(T) / |T|``,

which is exact for any number of channels (``method="exact"``). ``method="coalitions"`` computes
the same numbers by the textbook definition, enumerating all ``2**n`` coalitions (feasible up to
``max_channels``, default 15; above it a :class:`~workbench.errors.WorkbenchError`), and
``method="sampling"`` estimates them from ``n_permutations`` random channel orders (seeded).
Credits always sum to the total conversions (efficiency) and treat symmetric channels alike.
"""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd

from workbench.attribution._core import PathSet, credit_frame
from workbench.attribution.options import DEFAULTS, SHAPLEY_METHODS
from workbench.errors import WorkbenchError

METHODS = SHAPLEY_METHODS


def _channel_sets(ps: PathSet) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (path, channel) pairs: path index and channel code, sorted."""
    pair = np.unique(ps.path_index.astype(np.int64) * ps.n_channels + ps.codes)
    return pair // ps.n_channels, (pair % ps.n_channels).astype(np.int64)


def _masks(ps: PathSet) -> np.ndarray:
    """Channel set of each path as a bit mask."""
    bits = np.left_shift(np.int64(1), ps.codes.astype(np.int64))
    return np.bitwise_or.reduceat(bits, ps.offsets[:-1])


def shapley_attribution(
    ps: PathSet,
    *,
    method: str = DEFAULTS.shapley_method,
    max_channels: int = DEFAULTS.max_channels,
    n_permutations: int = DEFAULTS.n_permutations,
    seed: int | None = DEFAULTS.seed,
) -> pd.DataFrame:
    """Credit conversions and value by Shapley values of the simplified attribution game.

    Parameters
    ----------
    ps : PathSet
        Encoded paths.
    method : {"exact", "coalitions", "sampling"}, default "exact"
        Closed form (any channel count), explicit coalition enumeration (at most
        ``max_channels`` channels), or permutation sampling.
    max_channels : int, default 15
        Largest channel count ``method="coalitions"`` accepts (it costs ``n * 2**n``).
    n_permutations : int, default 2000
        Random channel orders for ``method="sampling"``.
    seed : int, optional
        Seed of ``method="sampling"``.

    Returns
    -------
    DataFrame
        ``channel, conversions, value, share, value_share``.
    """
    c = ps.n_channels
    w = np.column_stack([ps.conversions, ps.value])  # (n_paths, 2): conversions and value
    if method == "exact":
        path, chan = _channel_sets(ps)
        size = np.bincount(path, minlength=ps.n_paths)
        phi = np.column_stack(
            [np.bincount(chan, weights=w[path, j] / size[path], minlength=c) for j in range(2)]
        )
    elif method == "coalitions":
        if c > max_channels:
            raise WorkbenchError(
                f"exact Shapley by coalition enumeration needs 2**{c} coalitions; at most "
                f"{max_channels} channels are allowed (use method='exact' or 'sampling')"
            )
        phi = _by_coalitions(_masks(ps), w, c)
    elif method == "sampling":
        if n_permutations < 1:
            raise WorkbenchError(f"n_permutations must be at least 1, got {n_permutations}")
        phi = _by_sampling(ps, w, n_permutations, seed)
    else:
        raise WorkbenchError(f"unknown Shapley method '{method}'; methods are {METHODS}")
    return credit_frame(ps.channels, phi[:, 0], phi[:, 1])


def _by_coalitions(masks: np.ndarray, w: np.ndarray, c: int) -> np.ndarray:
    """Shapley values by the definition, over all ``2**c`` coalitions (vectorised)."""
    size = 1 << c
    v = np.column_stack([np.bincount(masks, weights=w[:, j], minlength=size) for j in range(2)])
    for i in range(c):  # subset-sum (zeta) transform: v[S] = sum of w[T] for T within S
        block = v.reshape(-1, 2, 1 << i, 2)
        block[:, 1] += block[:, 0]
    coal = np.arange(size)
    card = np.bitwise_count(coal.astype(np.uint64)).astype(np.int64)
    fact = np.array([factorial(s) for s in range(c + 1)], dtype=np.float64)
    weight = fact[card] * fact[np.maximum(c - card - 1, 0)] / fact[c]
    phi = np.zeros((c, 2))
    for i in range(c):
        without = coal[(coal >> i) & 1 == 0]
        phi[i] = (weight[without, None] * (v[without | (1 << i)] - v[without])).sum(axis=0)
    return phi


def _by_sampling(ps: PathSet, w: np.ndarray, n_perm: int, seed: int | None) -> np.ndarray:
    """Monte Carlo Shapley: in each random order, a channel set's worth goes to its last member."""
    rng = np.random.default_rng(seed)
    c = ps.n_channels
    if c > 62:
        raise WorkbenchError(f"Shapley sampling supports at most 62 channels, got {c}")
    sets, inv = np.unique(_masks(ps), return_inverse=True)
    ws = np.column_stack([np.bincount(inv.ravel(), weights=w[:, j]) for j in range(2)])
    members = ((sets[:, None] >> np.arange(c)[None, :]) & 1).astype(bool)  # (n_sets, c)
    phi = np.zeros((c, 2))
    for _ in range(n_perm):
        rank = rng.permutation(c)
        winner = np.where(members, rank[None, :], -1).argmax(axis=1)
        for j in range(2):
            phi[:, j] += np.bincount(winner, weights=ws[:, j], minlength=c)
    return phi / n_perm
