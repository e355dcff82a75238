"""One entry point for every attribution model: :func:`attribute` and :func:`compare_models`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.attribution._core import PathSet, credit_frame
from workbench.attribution.journeys import Journeys, paths_to_pathset, validate_paths
from workbench.attribution.markov import MarkovAttribution
from workbench.attribution.rules import RULES, rule_attribution
from workbench.attribution.shapley import shapley_attribution
from workbench.errors import WorkbenchError

MODELS = (*RULES, "markov", "shapley")
Data = pd.DataFrame | PathSet | Journeys
_DEFAULTS: dict[str, Any] = {
    "order": 1,
    "half_life": 7.0,
    "first": 0.4,
    "last": 0.4,
    "direct": "direct",
    "shapley_method": "exact",
    "max_channels": 15,
    "n_permutations": 2000,
    "seed": 0,
}


def _pathsets(data: Data, by: str | None, sep: str) -> list[tuple[str | None, PathSet]]:
    """The encoded paths, overall or one per segment (sharing one channel list)."""
    if isinstance(data, PathSet):
        if by is not None:
            raise WorkbenchError("per-segment attribution needs a paths table or Journeys")
        return [(None, data)]
    if isinstance(data, Journeys):
        ps = data.pathset()
        if by is None:
            return [(None, ps)]
        seg = data.journeys["segment"].to_numpy()
        return [(s, ps.subset(seg == s)) for s in data.segments]
    if not isinstance(data, pd.DataFrame):
        raise WorkbenchError(f"cannot attribute a {type(data).__name__}")
    df = validate_paths(data, "paths", sep=sep, segment_col=by)
    ps = paths_to_pathset(df)
    if by is None:
        return [(None, ps)]
    seg = df[by].to_numpy()
    return [(s, ps.subset(seg == s)) for s in sorted(pd.unique(seg))]


def _one(ps: PathSet, model: str, kw: dict[str, Any]) -> pd.DataFrame:
    if ps.n_paths == 0:
        z = np.zeros(ps.n_channels)
        return credit_frame(ps.channels, z, z)
    if model in RULES:
        return rule_attribution(
            ps,
            model,
            half_life=kw["half_life"],
            first=kw["first"],
            last=kw["last"],
            direct=kw["direct"],
        )
    if model == "markov":
        return MarkovAttribution(order=kw["order"]).fit(ps).attribution_
    if model == "shapley":
        return shapley_attribution(
            ps,
            method=kw["shapley_method"],
            max_channels=kw["max_channels"],
            n_permutations=kw["n_permutations"],
            seed=kw["seed"],
        )
    raise WorkbenchError(f"unknown model '{model}'; models are {', '.join(MODELS)}")


def attribute(
    data: Data,
    model: str = "markov",
    *,
    order: int = 1,
    half_life: float = 7.0,
    first: float = 0.4,
    last: float = 0.4,
    direct: str = "direct",
    shapley_method: str = "exact",
    max_channels: int = 15,
    n_permutations: int = 2000,
    seed: int | None = 0,
    by: str | None = None,
    sep: str = ">",
) -> pd.DataFrame:
    """Credit conversions and conversion value to channels with one model.

    Parameters
    ----------
    data : DataFrame, Journeys or PathSet
        A paths table in the ChannelAttribution layout (``path, total_conversions
        [, total_conversion_value, total_null]``, validated and aggregated here), journeys built
        from a world (:func:`~workbench.attribution.build_journeys`, which carry touch times), or
        already encoded paths.
    model : {"first", "last", "last_non_direct", "linear", "position", "time_decay", "markov", \
"shapley"}
        The attribution model.
    order : int, default 1
        Markov order (1 to 4).
    half_life : float, default 7
        Time decay half-life: days for journeys; for a paths table, which has no times, the age
        of a touch is the number of touches after it and ``half_life`` counts touches.
    first, last : float, default 0.4
        Position-based shares of the first and last touch (the middle shares the rest).
    direct : str, default "direct"
        The channel last non-direct skips.
    shapley_method : {"exact", "coalitions", "sampling"}, default "exact"
        See :func:`~workbench.attribution.shapley.shapley_attribution`.
    max_channels : int, default 15
        Channel limit of ``shapley_method="coalitions"``.
    n_permutations : int, default 2000
        Permutations of ``shapley_method="sampling"``.
    seed : int, optional
        Seed of the sampling approximation (every other model is deterministic).
    by : str, optional
        Attribute within each segment: a column of the paths table, or (for Journeys) any
        value to use the journeys' ``segment``.
    sep : str, default ">"
        Channel separator of a paths table.

    Returns
    -------
    DataFrame
        ``[segment,] channel, conversions, value, share, value_share``, one row per channel (per
        segment), channels sorted. ``conversions`` sums to the total conversions, ``value`` to
        the total conversion value; ``share`` is the channel's fraction of conversions.
    """
    if model not in MODELS:
        raise WorkbenchError(f"unknown model '{model}'; models are {', '.join(MODELS)}")
    kw = {
        **_DEFAULTS,
        "order": order,
        "half_life": half_life,
        "first": first,
        "last": last,
        "direct": direct,
        "shapley_method": shapley_method,
        "max_channels": max_channels,
        "n_permutations": n_permutations,
        "seed": seed,
    }
    parts = _pathsets(data, by, sep)
    if by is None:
        return _one(parts[0][1], model, kw)
    col = "segment" if isinstance(data, Journeys) else by
    frames = [_one(ps, model, kw).assign(**{col: seg}) for seg, ps in parts]
    out = pd.concat(frames, ignore_index=True)
    return out[[col, *[c for c in out.columns if c != col]]]


def compare_models(
    data: Data, models: Sequence[str] = MODELS, *, by: str | None = None, **kwargs: Any
) -> pd.DataFrame:
    """Run several models on the same data; return one long table with a ``model`` column.

    Parameters
    ----------
    data : DataFrame, Journeys or PathSet
        As in :func:`attribute`.
    models : sequence of str
        Model names (default: all). ``"markov"`` may be written ``"markov2"`` etc. to set the
        order per entry.
    by : str, optional
        Per-segment attribution, as in :func:`attribute`.
    **kwargs
        Passed to :func:`attribute`.

    Returns
    -------
    DataFrame
        ``model, [segment,] channel, conversions, value, share, value_share``.
    """
    sep = kwargs.pop("sep", ">")
    for name in models:
        if name not in MODELS and not (name.startswith("markov") and name[6:].isdigit()):
            raise WorkbenchError(f"unknown model '{name}'; models are {', '.join(MODELS)}")
    parts = _pathsets(data, by, sep)  # validate and encode once, not once per model
    col = "segment" if isinstance(data, Journeys) else by
    frames = []
    for name in models:
        kw = {**_DEFAULTS, **kwargs}
        model = name
        if name.startswith("markov") and name[6:].isdigit():
            model, kw["order"] = "markov", int(name[6:])
        for seg, ps in parts:
            f = _one(ps, model, kw).assign(model=name)
            frames.append(f if by is None else f.assign(**{col: seg}))
    out = pd.concat(frames, ignore_index=True)
    lead = ["model"] + ([col] if by is not None else [])
    return out[[*lead, *[c for c in out.columns if c not in lead]]]
