"""Random journeys from a first-order Markov chain, for tests, benchmarks and exercises."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from workbench.attribution.journeys import validate_paths
from workbench.schema import CHANNELS


def simulate_paths(
    n_journeys: int,
    channels: Sequence[str] = CHANNELS,
    *,
    seed: int = 0,
    max_length: int = 20,
    p_end: float = 0.3,
    concentration: float = 1.0,
) -> pd.DataFrame:
    """Simulate journeys from a random order-1 chain and aggregate them into a paths table.

    Parameters
    ----------
    n_journeys : int
        Journeys to simulate.
    channels : sequence of str
        Channel names.
    seed : int, default 0
        Seed of the chain and of the journeys.
    max_length : int, default 20
        Journeys still running after this many touches end without converting.
    p_end : float, default 0.3
        Average probability of ending (converting or not) after each touch.
    concentration : float, default 1
        Dirichlet concentration of the random transition rows (small = peaked).

    Returns
    -------
    DataFrame
        ChannelAttribution layout (``path, total_conversions, total_conversion_value,
        total_null``), aggregated and sorted by path.
    """
    rng = np.random.default_rng(seed)
    c = len(channels)
    start, cum, basket = _random_chain(rng, c, p_end, concentration)
    seq, converted = _walk(rng, start, cum, n_journeys, max_length)
    lengths = (seq >= 0).sum(axis=1)
    last = seq[np.arange(n_journeys), lengths - 1]
    value = np.where(converted, rng.gamma(4.0, basket[last] / 4.0), 0.0)
    names = np.asarray(channels, dtype=object)
    # encode each path as text once per distinct sequence
    uniq, inv = np.unique(seq, axis=0, return_inverse=True)
    text = np.array([" > ".join(names[row[row >= 0]]) for row in uniq], dtype=object)
    frame = pd.DataFrame(
        {
            "path": text[inv.ravel()],
            "total_conversions": converted.astype(np.float64),
            "total_conversion_value": np.round(value, 2),
            "total_null": (~converted).astype(np.float64),
        }
    )
    return validate_paths(frame, "simulated")


def _random_chain(
    rng: np.random.Generator, c: int, p_end: float, concentration: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random order-1 chain over ``c`` channels.

    Returns
    -------
    start : ndarray, shape (c,)
        Probabilities of the first channel.
    cum : ndarray, shape (c, c + 2)
        Cumulative step probabilities from each channel: to each channel, to conversion, to null.
    basket : ndarray, shape (c,)
        Mean order value by the journey's last channel.
    """
    start = rng.dirichlet(np.full(c, concentration))
    move = rng.dirichlet(np.full(c, concentration), size=c) * (1 - p_end)
    conv_rate = rng.uniform(0.1, 0.9, size=c) * p_end  # per last channel
    basket = rng.uniform(20, 120, size=c)
    step = np.column_stack([move, conv_rate, p_end - conv_rate])  # to channels, conv, null
    return start, np.cumsum(step, axis=1), basket


def _walk(
    rng: np.random.Generator, start: np.ndarray, cum: np.ndarray, n: int, max_length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Walk ``n`` journeys through the chain, all at once.

    Returns the channel sequences, shape ``(n, max_length)`` padded with -1, and whether each
    journey converted.
    """
    c = len(start)
    state = np.searchsorted(np.cumsum(start), rng.random(n), side="right")
    state = np.minimum(state, c - 1)
    seq = np.full((n, max_length), -1, dtype=np.int64)
    outcome = np.full(n, c + 1)  # null unless converted
    alive = np.arange(n)
    for t in range(max_length):
        seq[alive, t] = state[alive]
        nxt = (rng.random(len(alive))[:, None] > cum[state[alive]]).sum(axis=1)
        nxt = np.minimum(nxt, c + 1)
        done = nxt >= c
        outcome[alive[done]] = nxt[done]
        state[alive[~done]] = nxt[~done]
        alive = alive[~done]
        if not len(alive):
            break
    return seq, outcome == c
