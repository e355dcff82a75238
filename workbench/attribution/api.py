"""One entry point for every attribution model: :func:`attribute` and :func:`compare_models`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from workbench.attribution._core import PathSet, credit_frame
from workbench.attribution.journeys import Journeys, paths_to_pathset, validate_paths
from workbench.attribution.markov import MarkovAttribution
from workbench.attribution.options import (
    DEFAULTS,
    MODELS,
    PATH_MODELS,
    RULES,
    ModelOptions,
    model_and_order,
)
from workbench.attribution.rules import rule_attribution
from workbench.attribution.shapley import shapley_attribution
from workbench.errors import WorkbenchError

Data = pd.DataFrame | PathSet | Journeys


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


def _one(
    ps: PathSet, model: str, opts: ModelOptions, holdouts: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One model on one set of paths (all zeros when there are none)."""
    if model == "calibrated":
        return _calibrated(ps, opts, holdouts)
    if ps.n_paths == 0:
        z = np.zeros(ps.n_channels)
        return credit_frame(ps.channels, z, z)
    if model in RULES:
        return rule_attribution(
            ps,
            model,
            half_life=opts.half_life,
            first=opts.first,
            last=opts.last,
            direct=opts.direct,
        )
    if model == "markov":
        return MarkovAttribution(order=opts.order).fit(ps).attribution_
    if model == "shapley":
        return shapley_attribution(
            ps,
            method=opts.shapley_method,
            max_channels=opts.max_channels,
            n_permutations=opts.n_permutations,
            seed=opts.seed,
        )
    raise WorkbenchError(f"unknown model '{model}'; models are {', '.join(MODELS)}")


def _calibrated(ps: PathSet, opts: ModelOptions, holdouts: pd.DataFrame | None) -> pd.DataFrame:
    """The base model's credit scaled by holdout-informed incrementality factors."""
    from workbench.attribution.calibrated import CalibratedAttribution, holdout_evidence

    if holdouts is None:
        raise WorkbenchError(
            "the calibrated model needs holdout results (holdouts=: a world's channel holdouts "
            "or a holdouts file)"
        )
    if opts.base not in PATH_MODELS:
        raise WorkbenchError(
            f"unknown base model '{opts.base}' for calibration; base models are "
            f"{', '.join(PATH_MODELS)}"
        )
    credit = _one(ps, opts.base, opts)
    evidence = holdout_evidence(holdouts, float(ps.conversions.sum()))
    return CalibratedAttribution(seed=opts.seed or 0).fit(credit, evidence).attribution_


def attribute(
    data: Data,
    model: str = "markov",
    *,
    order: int = DEFAULTS.order,
    half_life: float = DEFAULTS.half_life,
    first: float = DEFAULTS.first,
    last: float = DEFAULTS.last,
    direct: str = DEFAULTS.direct,
    shapley_method: str = DEFAULTS.shapley_method,
    max_channels: int = DEFAULTS.max_channels,
    n_permutations: int = DEFAULTS.n_permutations,
    seed: int | None = DEFAULTS.seed,
    base: str = DEFAULTS.base,
    holdouts: pd.DataFrame | None = None,
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
"shapley", "calibrated"}
        The attribution model. ``"calibrated"`` scales the ``base`` model's credit by
        incrementality factors informed by ``holdouts``
        (:class:`~workbench.attribution.calibrated.CalibratedAttribution`).
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
        Seed of the sampling approximation and of the calibrated model's posterior draws.
    base : str, default "markov"
        The path model the calibrated model scales.
    holdouts : DataFrame, optional
        Channel holdout results, needed by ``"calibrated"``:
        :func:`~workbench.attribution.incrementality.world_incrementality` (a world's holdouts)
        or :func:`~workbench.attribution.incrementality.file_incrementality` (tests run
        elsewhere).
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
        the total conversion value; ``share`` is the channel's fraction of conversions. The
        calibrated model's ``conversions`` and ``value`` are what each channel *caused*
        (posterior medians; they sum to less than the total, the rest would have happened
        anyway) and its ``share`` is of their sum; it adds interval columns
        (``conversions_low/high``, ``share_low/high``, ``value_low/high``), the incrementality
        ``factor`` with its interval, the base model's ``credited`` conversions and the number
        of ``holdouts`` behind each channel.
    """
    if model not in MODELS:
        raise WorkbenchError(f"unknown model '{model}'; models are {', '.join(MODELS)}")
    opts = ModelOptions(
        order,
        half_life,
        first,
        last,
        direct,
        shapley_method,
        max_channels,
        n_permutations,
        seed,
        base,
    )
    return _run(data, [(model, model, opts)], by, sep, holdouts).drop(columns="model")


def compare_models(
    data: Data,
    models: Sequence[str] | None = None,
    *,
    by: str | None = None,
    sep: str = ">",
    holdouts: pd.DataFrame | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Run several models on the same data; return one long table with a ``model`` column.

    Parameters
    ----------
    data : DataFrame, Journeys or PathSet
        As in :func:`attribute`.
    models : sequence of str, optional
        Model names (default: every path model, and ``"calibrated"`` when ``holdouts`` are
        given). ``"markov"`` may be written ``"markov2"`` etc. to set the order per entry.
    by : str, optional
        Per-segment attribution, as in :func:`attribute`.
    sep : str, default ">"
        Channel separator of a paths table.
    holdouts : DataFrame, optional
        Channel holdout results for ``"calibrated"``, as in :func:`attribute`.
    **options
        The model options of :func:`attribute` (``order``, ``half_life``, ``seed``, ``base``...).

    Returns
    -------
    DataFrame
        ``model, [segment,] channel, conversions, value, share, value_share``.

    Raises
    ------
    WorkbenchError
        For an unknown model or option.
    """
    if models is None:
        models = [*PATH_MODELS, *(["calibrated"] if holdouts is not None else [])]
    opts = DEFAULTS.replace(**options)
    runs = []
    for name in models:
        model, order = model_and_order(name)
        runs.append((name, model, opts if order is None else opts.replace(order=order)))
    return _run(data, runs, by, sep, holdouts)


def _run(
    data: Data,
    runs: Sequence[tuple[str, str, ModelOptions]],
    by: str | None,
    sep: str,
    holdouts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each ``(name, model, options)`` run on the data (per segment), as one long table.

    The data are validated and encoded once, not once per model.
    """
    if by is not None and any(model == "calibrated" for _, model, _ in runs):
        raise WorkbenchError(
            "the calibrated model works on all paths at once (its holdouts measure whole "
            "channels); run it without a segment"
        )
    parts = _pathsets(data, by, sep)
    col = "segment" if isinstance(data, Journeys) else by
    frames = []
    for name, model, opts in runs:
        for seg, ps in parts:
            f = _one(ps, model, opts, holdouts).assign(model=name)
            frames.append(f if by is None else f.assign(**{col: seg}))
    out = pd.concat(frames, ignore_index=True)
    lead = ["model"] + ([col] if by is not None else [])
    return out[[*lead, *[c for c in out.columns if c not in lead]]]


def share_spread(per_segment: pd.DataFrame) -> pd.Series:
    """How far apart the segments are on each channel: largest minus smallest credited share.

    Parameters
    ----------
    per_segment : DataFrame
        One model's per-segment :func:`attribute` output (``channel, share`` and a segment
        column).

    Returns
    -------
    Series
        Indexed by channel, sorted: the spread of its ``share`` across segments.
    """
    share = per_segment.groupby("channel")["share"]
    return share.max() - share.min()
