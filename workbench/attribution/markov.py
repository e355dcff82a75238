"""Markov-chain attribution of order 1 to 4 with exact removal effects.

The journeys are read as an absorbing Markov chain. For order ``k`` a state is the tuple of the
last ``k`` channels seen (shorter at the start of a path), plus a start state and two absorbing
states, conversion and null. Transition probabilities are the observed transition counts, each
path weighted by the journeys it carries.

The probability of converting from the start state solves the sparse linear system
``(I - Q) x = b`` (``Q``: transient-to-transient probabilities, ``b``: one-step conversion
probabilities); ``scipy.sparse.linalg.splu`` solves it exactly, no simulation. Removing channel
``c`` sends every transition into a state that contains ``c`` to null; its *removal effect* is
``1 - P(conversion | c removed) / P(conversion)``. Conversions are credited to channels in
proportion to their removal effects. Value is credited the same way with the expected
conversion value in place of the conversion probability (each final state's one-step value is
the value of the conversions that ended there over its journeys).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from workbench.attribution._core import PathSet, credit_frame
from workbench.attribution.options import DEFAULTS, MAX_MARKOV_ORDER
from workbench.errors import WorkbenchError

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


class MarkovAttribution:
    """Markov-chain attribution with exact removal effects.

    Parameters
    ----------
    order : int, default 1
        Memory of the chain: a state is the last ``order`` channels (1 to 4).

    Attributes
    ----------
    channels_ : tuple of str
        The channels, in output order.
    states_ : list of tuple of str
        The transient states (excluding the start state), each a tuple of channel names.
    conversion_probability_ : float
        Probability that a journey converts, from the start state.
    expected_value_ : float
        Expected conversion value per journey, from the start state.
    removal_effects_ : DataFrame
        Per channel: ``removal_effect`` (conversions) and ``value_removal_effect``.
    attribution_ : DataFrame
        ``channel, conversions, value, share, value_share``.
    """

    def __init__(self, order: int = DEFAULTS.order) -> None:
        self.order = order

    def fit(self, ps: PathSet) -> MarkovAttribution:
        """Estimate the chain from encoded paths and compute removal effects and credits."""
        if self.order not in range(1, MAX_MARKOV_ORDER + 1):
            raise WorkbenchError(f"Markov order must be 1, 2, 3 or 4, got {self.order}")
        ps = ps.drop_empty()
        c = ps.n_channels
        self.channels_ = ps.channels
        self._fit_chain(ps)
        n = self._n_transient
        contains = self._contains
        keep_all = np.ones(n + 1, dtype=bool)
        base = self._solve(keep_all)
        self.conversion_probability_, self.expected_value_ = float(base[0]), float(base[1])
        re = np.zeros((c, 2))
        for ch in range(c):
            keep = np.r_[~contains[:, ch], True]  # the start state (last) is never removed
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(base > 0, self._solve(keep) / base, 1.0)
            re[ch] = 1.0 - ratio
        re = np.clip(re, 0.0, None)
        self.removal_effects_ = pd.DataFrame(
            {
                "channel": pd.Series(ps.channels, dtype="str"),
                "removal_effect": re[:, 0],
                "value_removal_effect": re[:, 1],
            }
        )
        tot = re.sum(axis=0)
        conv = ps.conversions.sum() * (re[:, 0] / tot[0] if tot[0] > 0 else np.zeros(c))
        val = ps.value.sum() * (re[:, 1] / tot[1] if tot[1] > 0 else np.zeros(c))
        self.attribution_ = credit_frame(ps.channels, conv, val)
        return self

    # ------------------------------------------------------------------------------ internals

    def _fit_chain(self, ps: PathSet) -> None:
        k, c = self.order, ps.n_channels
        base = np.int64(c + 1)
        if float(c + 1) ** k > 2.0**62:
            raise WorkbenchError(f"too many channels ({c}) for a Markov chain of order {k}")
        pos = ps.position
        codes = ps.codes.astype(np.int64)
        key = np.zeros(len(codes), dtype=np.int64)
        for j in range(k - 1, -1, -1):  # oldest channel first, 0 = "no channel yet"
            shifted = np.zeros(len(codes), dtype=np.int64)
            shifted[j:] = codes[: len(codes) - j] + 1
            key = key * base + np.where(pos >= j, shifted, 0)
        keys, state = np.unique(key, return_inverse=True)
        state = state.ravel()
        n = len(keys)
        start = n  # transient states 0..n-1, start state n
        self._n_transient = n
        digits = (keys[:, None] // base ** np.arange(k - 1, -1, -1)[None, :]) % base  # (n, k)
        self._contains = np.zeros((n, c), dtype=bool)
        for j in range(k):
            has = digits[:, j] > 0
            self._contains[np.flatnonzero(has), digits[has, j] - 1] = True
        names = np.asarray(ps.channels, dtype=object)
        self.states_ = [tuple(names[d - 1] for d in row if d > 0) for row in digits]

        idx = ps.path_index
        weight = (ps.conversions + ps.nulls)[idx]
        prev = np.empty_like(state)
        prev[1:] = state[:-1]
        prev[pos == 0] = start
        counts = sp.coo_matrix((weight, (prev, state)), shape=(n + 1, n + 1)).tocsr()
        counts.sum_duplicates()
        last = state[ps.offsets[1:] - 1]
        to_conv = np.bincount(last, weights=ps.conversions, minlength=n + 1)
        to_null = np.bincount(last, weights=ps.nulls, minlength=n + 1)
        value = np.bincount(last, weights=ps.value, minlength=n + 1)
        out = np.asarray(counts.sum(axis=1)).ravel() + to_conv + to_null
        inv = np.divide(1.0, out, out=np.zeros_like(out), where=out > 0)
        self._counts, self._to_conv, self._to_null = counts, to_conv, to_null
        self._q = sp.diags(inv) @ counts
        # column 0: one-step conversion probability; column 1: one-step expected value
        self._b = np.column_stack([to_conv * inv, value * inv])
        # reorder so the start state is index 0 in results: solve() returns x[start]
        self._start = start

    def _solve(self, keep: np.ndarray) -> np.ndarray:
        """``x[start]`` for conversion probability and expected value, keeping ``keep`` states."""
        d = sp.diags(keep.astype(np.float64))
        q = d @ self._q @ d
        a = (sp.identity(q.shape[0], format="csc") - q).tocsc()
        b = self._b * keep[:, None]
        x = spla.splu(a).solve(b)
        return x[self._start]

    def transition_matrix(self) -> pd.DataFrame:
        """Transition probabilities between states, including start, conversion and null.

        Rows are ``(start)`` and the transient states; columns the transient states,
        ``(conversion)`` and ``(null)``. Higher-order states are labelled ``"a > b"``.
        """
        labels = [" > ".join(s) for s in self.states_]
        n = self._n_transient
        dense = self._counts.toarray()
        full = np.column_stack([dense[:, :n], self._to_conv, self._to_null])
        rows = full.sum(axis=1, keepdims=True)
        prob = np.divide(full, rows, out=np.zeros_like(full), where=rows > 0)
        prob = np.vstack([prob[n:], prob[:n]])
        return pd.DataFrame(prob, index=[START, *labels], columns=[*labels, CONVERSION, NULL])
