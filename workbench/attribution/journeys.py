"""Journeys: from a world's touchpoints and orders, and the ChannelAttribution paths layout.

Two inputs feed every attribution model:

* a **paths table** in the layout of the ChannelAttribution package, one row per distinct path:
  ``path`` ("email > sms > direct"), ``total_conversions``, ``total_conversion_value``,
  ``total_null`` (journeys on that path that did not convert). :func:`read_paths` /
  :func:`write_paths` read and write it as CSV or Parquet; :func:`validate_paths` checks and
  aggregates a DataFrame in that layout. Channels are free strings.
* :class:`Journeys`, built by :func:`build_journeys` from the ``touchpoints`` and ``orders`` tables:
  one journey per order (the touches of that subscriber within the lookback window before the
  order, since the previous order) plus, per subscriber, one non-converting journey made of the
  touches after the last order. Journeys keep each touch's age, which time decay needs.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from workbench._io import atomic_file
from workbench._read import read_csv, read_parquet, row_labels
from workbench.attribution._core import PathSet, encode
from workbench.errors import DataError, WorkbenchError, show

PATH_COLUMNS = ("path", "total_conversions", "total_conversion_value", "total_null")
_COUNT_COLUMNS = PATH_COLUMNS[1:]
_OPTIONAL = ("total_conversion_value", "total_null")
# Characters that betray a path written with another separator than the one expected.
_FOREIGN_SEPARATORS = r"[,;|\t]|->|=>|→|-$"
NO_SEGMENT = "(none)"


def _examples(
    mask: np.ndarray, values: Sequence[Any] | pd.Series, frame: pd.DataFrame | None = None
) -> tuple[int, list[str]]:
    """How many rows offend and the first ones (``line N`` when ``frame`` was read from CSV)."""
    idx = np.flatnonzero(mask)
    vals = np.asarray(values, dtype=object)
    labels = row_labels(frame, idx[:5])
    return len(idx), [f"{lab}: {show(vals[i])}" for lab, i in zip(labels, idx[:5], strict=True)]


# ------------------------------------------------------------------------------ paths layout


def validate_paths(
    df: pd.DataFrame,
    source: str = "paths",
    *,
    sep: str = ">",
    segment_col: str | None = None,
    aggregate: bool = True,
) -> pd.DataFrame:
    """Check a table in the ChannelAttribution layout and return it normalised and aggregated.

    Parameters
    ----------
    df : DataFrame
        Columns ``path`` and ``total_conversions`` (required), ``total_conversion_value`` and
        ``total_null`` (optional, default 0), and ``segment_col`` when given. Any other column is
        an error (a misspelt column would otherwise be silently ignored).
    source : str
        The file the table came from, for error messages.
    sep : str, default ">"
        Separator between channels; spaces around channels are ignored.
    segment_col : str, optional
        A column to carry along (paths are aggregated within each segment).
    aggregate : bool, default True
        Sum the counts of identical paths (within a segment).

    Returns
    -------
    DataFrame
        ``[segment_col,] path, total_conversions, total_conversion_value, total_null``, paths
        written ``"a > b > c"``, sorted by segment and path.

    Raises
    ------
    DataError
        Naming the column and first offending rows for a missing or unknown column, no rows,
        missing or negative counts, an empty path, an empty channel name or a path that looks
        written with another separator.
    WorkbenchError
        When ``sep`` is empty.
    """
    _check_columns(df, source, segment_col)
    if not sep:
        raise WorkbenchError("the channel separator must not be empty")
    df = df.reset_index(drop=True)
    if len(df) == 0:
        raise DataError(source, None, "no rows")
    counts = _counts(df, source)
    frame = pd.DataFrame({"path": _normalised_paths(df, source, sep)}).assign(**counts)
    if segment_col:
        seg = df[segment_col]
        if seg.isna().any():
            n, ex = _examples(seg.isna().to_numpy(), seg, df)
            raise DataError(source, segment_col, "missing segment values", n, ex)
        frame.insert(0, segment_col, seg.astype(str).to_numpy())
    if aggregate:
        frame = aggregate_paths(frame, segment_col)
    return frame.reset_index(drop=True)


def aggregate_paths(paths: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Sum the counts of identical paths (within each value of ``by``), sorted by ``by`` and path.

    Parameters
    ----------
    paths : DataFrame
        A paths table in the ChannelAttribution layout (all four columns), paths written
        ``"a > b"``; any column besides ``by`` and the layout's is dropped (a segment column
        when ``by`` is ``None``: the segments are summed into one overall table).
    by : str, optional
        A segment column to keep: paths are summed within each of its values.

    Returns
    -------
    DataFrame
        ``[by,] path, total_conversions, total_conversion_value, total_null``.
    """
    keys = [by, "path"] if by else ["path"]
    return paths.groupby(keys, sort=True, as_index=False)[list(_COUNT_COLUMNS)].sum()


def _check_columns(df: pd.DataFrame, source: str, segment_col: str | None) -> None:
    """Required columns present (a close misspelling named), no unknown column."""
    allowed = set(PATH_COLUMNS) | ({segment_col} if segment_col else set())
    for col in ("path", "total_conversions") + ((segment_col,) if segment_col else ()):
        if col not in df.columns:
            spare = [str(c) for c in df.columns if c not in allowed]
            close = difflib.get_close_matches(col, spare, n=1, cutoff=0.6)
            hint = f"; found '{close[0]}' - misspelt?" if close else ""
            raise DataError(source, col, f"missing required column{hint}")
    unknown = [str(c) for c in df.columns if c not in allowed]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(PATH_COLUMNS), n=1, cutoff=0.6)
        hint = f" - did you mean '{close[0]}'?" if close else ""
        raise DataError(
            source,
            unknown[0],
            f"unknown column{hint} (expected {', '.join(PATH_COLUMNS)}"
            + (f", {segment_col}" if segment_col else "")
            + ")",
        )


def _counts(df: pd.DataFrame, source: str) -> dict[str, np.ndarray]:
    """The three count columns as float arrays (absent optional ones: zeros), checked."""
    out: dict[str, np.ndarray] = {}
    for col in _COUNT_COLUMNS:
        if col not in df.columns:
            out[col] = np.zeros(len(df))
            continue
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = ~np.isfinite(num)
        if bad.any():
            n, ex = _examples(bad, raw, df)
            raise DataError(source, col, "missing or non-numeric values", n, ex)
        if (num < 0).any():
            n, ex = _examples(num < 0, raw, df)
            raise DataError(source, col, "negative counts", n, ex)
        out[col] = num
    return out


def _normalised_paths(df: pd.DataFrame, source: str, sep: str) -> pd.Series:
    """Paths rewritten ``"a > b > c"``; refuses empty paths or channels and foreign separators."""
    raw_path = df["path"]
    missing = raw_path.isna().to_numpy()
    if missing.any():
        n, ex = _examples(missing, raw_path, df)
        raise DataError(source, "path", "missing (empty) paths", n, ex)
    arr = pa.array(raw_path.astype(str).to_numpy(dtype=object), type=pa.string())
    empty = pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False)
    if empty.any():
        n, ex = _examples(empty, raw_path, df)
        raise DataError(source, "path", "empty paths", n, ex)
    tokens, lengths = _split(arr, sep)
    row_of_token = np.repeat(np.arange(len(df)), lengths)
    for bad, problem in (
        (pc.equal(tokens, ""), f"empty channel name (doubled or trailing '{sep}' separator)"),
        (
            pc.match_substring_regex(tokens, _FOREIGN_SEPARATORS),
            f"bad separator: channels must be separated by '{sep}'",
        ),
    ):
        flagged = bad.to_numpy(zero_copy_only=False)
        if flagged.any():
            n, ex = _examples(np.isin(np.arange(len(df)), row_of_token[flagged]), raw_path, df)
            raise DataError(source, "path", problem, n, ex)
    offsets = np.zeros(len(df) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), tokens), " > ")
    return joined.to_pandas(types_mapper=pd.ArrowDtype).astype("str")


def _split(arr: pa.Array, sep: str) -> tuple[pa.Array, np.ndarray]:
    """Split path strings on ``sep``; return the trimmed channel names and per-path lengths."""
    lists = pc.split_pattern(arr, sep)
    tokens = pc.utf8_trim_whitespace(lists.flatten())
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    return tokens, lengths


class PathsOptions(TypedDict, total=False):
    """Keyword options of :func:`read_paths`, passed on to :func:`validate_paths`."""

    sep: str
    segment_col: str | None
    aggregate: bool


def read_paths(path: str | os.PathLike[str], **options: Unpack[PathsOptions]) -> pd.DataFrame:
    """Read a paths file (CSV, CSV.gz or Parquet) in the ChannelAttribution layout.

    Parameters
    ----------
    path : path
        The file. ``.parquet`` is read as Parquet, anything else as CSV.
    **options
        ``sep``, ``segment_col``, ``aggregate``: as in :func:`validate_paths`.

    Returns
    -------
    DataFrame
        The validated, aggregated paths (see :func:`validate_paths`).

    Raises
    ------
    DataError
        When the file is missing, unreadable (empty, not UTF-8, rows with more or fewer fields
        than the header, not Parquet) or breaks the layout.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(str(p), None, "no such paths file")
    try:
        df = read_parquet(p) if p.suffix == ".parquet" else read_csv(p, text=True)
    except DataError as err:
        if err.problem != "wrong number of fields":
            raise
        hint = " (a comma in an unquoted path? separate channels with ' > ')"
        raise DataError(err.source, "path", err.problem + hint, err.n_rows, err.examples) from None
    return validate_paths(df, str(p), **options)


def write_paths(df: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
    """Write a paths table (CSV, or Parquet when ``out`` ends in ``.parquet``) atomically.

    The columns are written in layout order, extra (segment) columns first; the file is complete
    or absent.
    """
    out = Path(out)
    first = [c for c in df.columns if c not in PATH_COLUMNS]
    cols = first + [c for c in PATH_COLUMNS if c in df.columns]
    with atomic_file(out) as tmp:
        if out.suffix == ".parquet":
            df[cols].to_parquet(tmp, index=False)
        else:
            df[cols].to_csv(tmp, index=False, lineterminator="\n")
    return out


def paths_to_pathset(df: pd.DataFrame, sep: str = ">") -> PathSet:
    """Encode a validated paths table (see :func:`validate_paths`) for the models."""
    arr = pa.array(df["path"].astype(str).to_numpy(dtype=object), type=pa.string())
    tokens, lengths = _split(arr, sep)
    zeros = np.zeros(len(df))
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    enc = pc.dictionary_encode(tokens)
    names = np.asarray(enc.dictionary.to_pylist(), dtype=object)
    order = np.argsort(names, kind="stable")  # sorted channel list => deterministic output
    remap = np.empty(len(names), dtype=np.int32)
    remap[order] = np.arange(len(names), dtype=np.int32)
    return PathSet(
        tuple(str(n) for n in names[order]),
        remap[enc.indices.to_numpy(zero_copy_only=False)],
        offsets,
        np.asarray(df.get("total_conversions", zeros), dtype=np.float64),
        np.asarray(df.get("total_conversion_value", zeros), dtype=np.float64),
        np.asarray(df.get("total_null", zeros), dtype=np.float64),
    )


# ----------------------------------------------------------------------------------- journeys


@dataclass
class Journeys:
    """Journeys built from a world, one row per journey plus its touches.

    Attributes
    ----------
    journeys : DataFrame
        ``journey_id, subscriber_id, segment, converted, value, end_ts, n_touches``. A converting
        journey ends at its order; a non-converting one at its last touch.
    touches : DataFrame
        ``journey_id, ts, channel, age_days`` in journey then time order; ``age_days`` is the
        time from the touch to the journey's end.
    lookback_days : float
        The lookback window used.
    untouched_conversions : int
        Orders with no touch inside their window (they have no path and get no credit).
    untouched_value : float
        Their revenue.
    """

    journeys: pd.DataFrame
    touches: pd.DataFrame
    lookback_days: float
    untouched_conversions: int = 0
    untouched_value: float = 0.0
    _channels: tuple[str, ...] = field(default=(), repr=False)

    @property
    def segments(self) -> list[str]:
        """The segments present, sorted."""
        return sorted(self.journeys["segment"].unique().tolist())

    def pathset(self, segment: str | None = None) -> PathSet:
        """Encode the journeys (of one segment, or all) for the models, keeping touch ages."""
        lengths = self.journeys["n_touches"].to_numpy()
        conv = self.journeys["converted"].to_numpy(dtype=np.float64)
        ps = encode(
            self.touches["channel"].to_numpy(),
            lengths,
            conv,
            self.journeys["value"].to_numpy(dtype=np.float64),
            1.0 - conv,
            self.touches["age_days"].to_numpy(dtype=np.float64),
        )
        if segment is None:
            return ps
        return ps.subset((self.journeys["segment"] == segment).to_numpy())

    def to_paths(self, by_segment: bool = False) -> pd.DataFrame:
        """Aggregate into the ChannelAttribution layout (``segment`` first if ``by_segment``)."""
        lengths = self.journeys["n_touches"].to_numpy()
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        chan = pa.array(self.touches["channel"].to_numpy(dtype=object), type=pa.string())
        paths = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), chan), " > ")
        conv = self.journeys["converted"].to_numpy(dtype=np.float64)
        frame = pd.DataFrame(
            {
                "path": paths.to_numpy(zero_copy_only=False).astype(object),
                "total_conversions": conv,
                "total_conversion_value": self.journeys["value"].to_numpy(dtype=np.float64),
                "total_null": 1.0 - conv,
            }
        )
        if by_segment:
            frame.insert(0, "segment", self.journeys["segment"].to_numpy())
        frame["path"] = frame["path"].astype("str")
        return aggregate_paths(frame, "segment" if by_segment else None)


def build_journeys(
    touchpoints: pd.DataFrame,
    orders: pd.DataFrame,
    subscribers: pd.DataFrame | None = None,
    *,
    lookback_days: float = 30.0,
    collapse_repeats: bool = False,
    segment: str | Mapping[Any, Any] | pd.Series | None = None,
    interactions: Sequence[str] | None = None,
    min_revenue: float = 0.0,
    categories: Sequence[str] | None = None,
) -> Journeys:
    """Cut each subscriber's touches into journeys that end in an order or in nothing.

    Parameters
    ----------
    touchpoints : DataFrame
        The ``touchpoints`` table (``subscriber_id, ts, channel[, interaction]``).
    orders : DataFrame
        The ``orders`` table (``order_id, subscriber_id, ts, revenue[, category]``).
    subscribers : DataFrame, optional
        The ``subscribers`` table, needed when ``segment`` names one of its columns.
    lookback_days : float, default 30
        A touch counts toward an order only if it happened at most this many days before it
        (and after the previous order). Older touches are dropped. The touches after a
        subscriber's last order form a non-converting journey, also limited to the
        ``lookback_days`` before its last touch.
    collapse_repeats : bool, default False
        Merge consecutive touches on the same channel into one ("email > email > sms" becomes
        "email > sms"); the age of the latest touch is kept.
    segment : str, mapping or Series, optional
        A subscriber-level column of ``subscribers`` to carry along, or a mapping
        ``subscriber_id -> segment``. Unmapped subscribers get ``"(none)"``.
    interactions : sequence of str, optional
        Keep only touches with these ``interaction`` values (e.g. ``["click"]``).
    min_revenue : float, default 0
        Orders with less revenue do not count as conversions (they are ignored).
    categories : sequence of str, optional
        Only orders in these categories count as conversions.

    Returns
    -------
    Journeys
    """
    if lookback_days <= 0:
        raise WorkbenchError(f"lookback_days must be positive, got {lookback_days}")
    tp, od = _touches_and_orders(touchpoints, orders, interactions, min_revenue, categories)
    m = _match_touches(tp, od, pd.Timedelta(days=float(lookback_days)))
    m, jid = _journey_ids(m, collapse_repeats)
    touches, journeys, head = _journey_tables(m, jid)
    journeys.insert(2, "segment", _segments(journeys["subscriber_id"], segment, subscribers))
    used = pd.Index(head.loc[head["converted"], "order_id"].to_numpy())
    untouched = od[~od["order_id"].isin(used)]
    return Journeys(
        journeys,
        touches,
        float(lookback_days),
        int(len(untouched)),
        float(untouched["revenue"].sum()),
    )


def _touches_and_orders(
    touchpoints: pd.DataFrame,
    orders: pd.DataFrame,
    interactions: Sequence[str] | None,
    min_revenue: float,
    categories: Sequence[str] | None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The touches and the orders that count, with the columns journeys need.

    The orders' ``ts`` is renamed ``end_ts``: an order ends its journey.
    """
    for name, df, cols in (
        ("touchpoints", touchpoints, ("subscriber_id", "ts", "channel")),
        ("orders", orders, ("order_id", "subscriber_id", "ts", "revenue")),
    ):
        for c in cols:
            if c not in df.columns:
                raise DataError(name, c, "missing required column")
    tp = touchpoints
    if interactions is not None:
        tp = tp[tp["interaction"].isin(list(interactions))]
    tp = tp[["subscriber_id", "ts", "channel"]]
    od = orders
    if min_revenue > 0:
        od = od[od["revenue"] >= min_revenue]
    if categories is not None:
        od = od[od["category"].isin(list(categories))]
    od = od[["order_id", "subscriber_id", "ts", "revenue"]].rename(columns={"ts": "end_ts"})
    return tp, od


def _match_touches(tp: pd.DataFrame, od: pd.DataFrame, window: pd.Timedelta) -> pd.DataFrame:
    """Each touch with the order it leads to (or none) and its journey's end, inside ``window``.

    A touch goes to the subscriber's next order at or after it; touches after the last order
    end at the subscriber's last touch. Sorted by subscriber, journey and time (stable sorts:
    deterministic).
    """
    tp = tp.sort_values(["ts", "subscriber_id", "channel"], kind="stable").reset_index(drop=True)
    od = od.sort_values(["end_ts", "order_id"], kind="stable").reset_index(drop=True)
    m = pd.merge_asof(
        tp, od, left_on="ts", right_on="end_ts", by="subscriber_id", direction="forward"
    )
    converted = m["order_id"].notna().to_numpy()
    trailing_end = m.loc[~converted].groupby("subscriber_id")["ts"].transform("max")
    end = m["end_ts"].copy()
    end.loc[~converted] = trailing_end
    m["end_ts"] = end
    m = m[(m["end_ts"] - m["ts"]) <= window]
    m = m.assign(
        converted=m["order_id"].notna(),
        order_id=m["order_id"].fillna(-1).astype("int64"),
        revenue=m["revenue"].fillna(0.0),
    )
    return m.sort_values(
        ["subscriber_id", "end_ts", "converted", "order_id", "ts", "channel"], kind="stable"
    ).reset_index(drop=True)


def _journey_ids(m: pd.DataFrame, collapse_repeats: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Number the journeys of the matched touches; drop repeats when ``collapse_repeats``."""
    sub = m["subscriber_id"].to_numpy()
    oid = m["order_id"].to_numpy()
    conv = m["converted"].to_numpy()
    new = np.ones(len(m), dtype=bool)
    new[1:] = (sub[1:] != sub[:-1]) | (oid[1:] != oid[:-1]) | (conv[1:] != conv[:-1])
    jid = np.cumsum(new) - 1
    if collapse_repeats and len(m):
        ch = m["channel"].to_numpy()
        nxt_same = np.zeros(len(m), dtype=bool)
        nxt_same[:-1] = (jid[1:] == jid[:-1]) & (ch[1:] == ch[:-1])
        keep = ~nxt_same  # keep the latest touch of each run
        m, jid = m[keep].reset_index(drop=True), jid[keep]
    m["journey_id"] = jid
    return m, jid


def _journey_tables(
    m: pd.DataFrame, jid: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The touches table, the journeys table (no segment yet) and each journey's first touch."""
    age = (m["end_ts"] - m["ts"]).dt.total_seconds().to_numpy() / 86400.0
    touches = pd.DataFrame(
        {
            "journey_id": jid.astype(np.int64),
            "ts": m["ts"],
            "channel": m["channel"].astype(str).to_numpy(),
            "age_days": age,
        }
    )
    first = np.flatnonzero(np.r_[True, jid[1:] != jid[:-1]]) if len(jid) else np.array([], int)
    head = m.iloc[first].reset_index(drop=True)
    journeys = pd.DataFrame(
        {
            "journey_id": np.arange(len(first), dtype=np.int64),
            "subscriber_id": head["subscriber_id"].to_numpy(dtype=np.int64),
            "converted": head["converted"].to_numpy(dtype=bool),
            "value": head["revenue"].to_numpy(dtype=np.float64),
            "end_ts": head["end_ts"],
            "n_touches": np.bincount(jid, minlength=len(first)).astype(np.int64),
        }
    )
    return touches, journeys, head


def _segments(
    ids: pd.Series, segment: str | Mapping[Any, Any] | pd.Series | None, subscribers: Any
) -> np.ndarray:
    if segment is None:
        return np.full(len(ids), NO_SEGMENT, dtype=object)
    if isinstance(segment, str):
        if subscribers is None:
            raise WorkbenchError(f"segment column '{segment}' needs the subscribers table")
        if segment not in subscribers.columns:
            close = difflib.get_close_matches(segment, list(map(str, subscribers.columns)), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise DataError("subscribers", segment, f"no such segment column{hint}")
        mapping = subscribers.set_index("subscriber_id")[segment]
    else:
        mapping = pd.Series(segment)
    out = ids.map(mapping)
    return out.astype(object).where(out.notna(), NO_SEGMENT).astype(str).to_numpy(dtype=object)


def journeys_from_world(world: Any, **kwargs: Any) -> Journeys:
    """:func:`build_journeys` on a world folder or a loaded :class:`~workbench.schema.World`.

    Keyword arguments are passed to :func:`build_journeys`.
    """
    from workbench.schema import World, load_world

    if not isinstance(world, World):
        world = load_world(world, tables=["subscribers", "touchpoints", "orders"])
    return build_journeys(world["touchpoints"], world["orders"], world["subscribers"], **kwargs)
