"""Experiment results in, one canonical table out.

Every analysis in :mod:`workbench.experiments` works on one *results table* with one row per
segment × arm:

============  =======  ==========================================================================
column        dtype    meaning
============  =======  ==========================================================================
segment       str      micro-segment label (``"all"`` when the input has no segment column)
arm           str      test arm
n             int64    recipients
conversions   int64    recipients who converted (0 ≤ conversions ≤ n)
revenue       float64  total revenue of the cell, optional (≥ 0; 0 when conversions is 0)
revenue_sumsq float64  sum of squared revenue per converter, optional (used to estimate the
                       shape of the order-value distribution)
============  =======  ==========================================================================

The control arm travels with the table: the builders below name it in ``table.attrs["control"]``
(with ``experiment_id``, ``kind``, ``holdout`` for a world's experiment). Every analysis takes it
from there through :func:`control_arm`, once, at its entry, or from its explicit ``control=``
argument (a table made by hand needs no attrs); from then on the control is a plain argument,
so no step depends on pandas keeping ``attrs`` through a sort or a copy.

Three ways to get one: :func:`from_aggregated` (interchange ``segment, arm, n, conversions[,
revenue]``), :func:`from_recipients` (one row per recipient ``arm, converted[, revenue]`` plus any
segment columns), :func:`from_world` (an experiment of a generated or loaded world).
:func:`read_results` reads either interchange file (CSV or Parquet). Bad input raises a
:class:`~workbench.errors.DataError` naming the file, the column and the first offending rows.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from workbench._read import CSV_ATTR, is_csv, read_csv, read_parquet, row_labels
from workbench.errors import DataError, WorkbenchError, show

RESULT_COLUMNS = ("segment", "arm", "n", "conversions", "revenue", "revenue_sumsq")
ALL_SEGMENTS = "all"
Format = Literal["aggregated", "recipients"]


def control_arm(table: pd.DataFrame, control: str | None = None) -> str:
    """The control arm of a results table: ``control`` when given, else ``attrs["control"]``.

    Raises
    ------
    WorkbenchError
        When neither names one, or the named arm is not in the table.
    """
    if control is None:
        control = table.attrs.get("control")
    if control is None:
        raise WorkbenchError("results table without attrs['control']; build it with inputs")
    if "arm" in table.columns and control not in set(table["arm"]):
        raise WorkbenchError(f"control arm '{control}' is not an arm of the results table")
    return str(control)


def sort_cells(table: pd.DataFrame) -> pd.DataFrame:
    """The results table sorted by segment, then arm, with a fresh index and the same attrs."""
    out = table.sort_values(["segment", "arm"], kind="stable").reset_index(drop=True)
    out.attrs = dict(table.attrs)
    return out


def _first_rows(mask: np.ndarray, df: pd.DataFrame, cols: Sequence[str]) -> tuple[int, list[str]]:
    """How many rows offend and the first ones (``line N`` of a CSV file, else ``row i``)."""
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    ex = []
    for label, i in zip(row_labels(df, idx[:5]), idx[:5], strict=True):
        vals = ", ".join(f"{c}={show(df[c].iloc[i])}" for c in cols if c in df.columns)
        ex.append(f"{label} ({vals})" if vals else label)
    return len(idx), ex


def _require(df: pd.DataFrame, col: str, source: str, option: str | None = None) -> None:
    if col not in df.columns:
        close = difflib.get_close_matches(col, [str(c) for c in df.columns], n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        how = f" (set it with {option})" if option else ""
        have = ", ".join(map(str, df.columns))
        raise DataError(source, col, f"column not found{how}; columns are: {have}{hint}")


def _numeric(df: pd.DataFrame, col: str, source: str, *, integer: bool) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype("int64")
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    nan = np.isnan(num)
    if nan.any():
        n, ex = _first_rows(nan, df, [col])
        bad = "missing values (NaN)" if s.isna().to_numpy().any() else "values that are not numbers"
        raise DataError(source, col, bad, n, ex)
    inf = ~np.isfinite(num)
    if inf.any():
        n, ex = _first_rows(inf, df, [col])
        raise DataError(source, col, "infinite values", n, ex)
    neg = num < 0
    if neg.any():
        n, ex = _first_rows(neg, df, [col])
        raise DataError(source, col, "negative values", n, ex)
    if integer:
        frac = num != np.round(num)
        if frac.any():
            n, ex = _first_rows(frac, df, [col])
            raise DataError(source, col, "non-integer counts", n, ex)
    return num


def _labels(df: pd.DataFrame, cols: Sequence[str], source: str) -> pd.Series:
    for c in cols:
        miss = df[c].isna().to_numpy()
        if miss.any():
            n, ex = _first_rows(miss, df, [c])
            raise DataError(source, c, "missing values", n, ex)
    if not cols:
        return pd.Series(ALL_SEGMENTS, index=df.index, dtype="str")
    out = df[cols[0]].astype("str")
    for c in cols[1:]:
        out = out + " | " + df[c].astype("str")
    return out.astype("str")


def _check_arms(table: pd.DataFrame, control: str, source: str, arm_col: str) -> pd.DataFrame:
    """Check duplicates, control presence and arm counts; attach the control name."""
    dup = table.duplicated(["segment", "arm"], keep=False).to_numpy()
    if dup.any():
        n, ex = _first_rows(dup, table, ["segment", "arm"])
        raise DataError(source, arm_col, "repeated segment × arm rows", n, ex)
    arms_per_seg = table.groupby("segment", sort=False)["arm"].transform("size").to_numpy()
    one = arms_per_seg < 2
    if one.any():
        n, ex = _first_rows(one, table, ["segment", "arm"])
        raise DataError(source, arm_col, "only one arm in a segment (nothing to compare)", n, ex)
    has_ctrl = (
        (table["arm"] == control).groupby(table["segment"], sort=False).transform("any").to_numpy()
    )
    if not has_ctrl.all():
        n, ex = _first_rows(~has_ctrl, table, ["segment", "arm"])
        arms = ", ".join(sorted(table["arm"].unique()))
        raise DataError(
            source,
            arm_col,
            f"control arm '{control}' missing in a segment (arms: {arms}; set --control)",
            n,
            ex,
        )
    table = table.sort_values(["segment", "arm"], kind="stable").reset_index(drop=True)
    table.attrs.pop(CSV_ATTR, None)
    table.attrs["control"] = control
    return table


def _default_control(arms: pd.Series, control: str | None, source: str, arm_col: str) -> str:
    if control is not None:
        return control
    names = sorted(str(a) for a in arms.astype("str").unique())
    if "control" in names:
        return "control"
    raise DataError(
        source,
        arm_col,
        f"no arm named 'control'; name the control arm with --control (arms: {', '.join(names)})",
    )


def _checked_columns(
    df: pd.DataFrame,
    required: Sequence[tuple[str, str]],
    seg_cols: Sequence[str],
    revenue_col: str | None,
    source: str,
) -> tuple[pd.DataFrame, str | None]:
    """Check that the named columns exist and there are rows; the revenue column to use.

    Parameters
    ----------
    required : sequence of (column, option)
        Columns that must exist, with the command-line option that names each.
    seg_cols : sequence of str
        Segment columns (option ``--segment-col``).
    revenue_col : str, optional
        The revenue column; ``"revenue"`` when not named and present.

    Returns
    -------
    df : DataFrame
        With a fresh index.
    revenue_col : str or None
    """
    if revenue_col is None and "revenue" in df.columns:
        revenue_col = "revenue"
    for col, opt in required:
        _require(df, col, source, opt)
    for c in seg_cols:
        _require(df, c, source, "--segment-col")
    if revenue_col is not None:
        _require(df, revenue_col, source, "--revenue-col")
    df = df.reset_index(drop=True)
    if len(df) == 0:
        raise DataError(source, None, "no rows")
    return df, revenue_col


def _revenue(
    df: pd.DataFrame, col: str, conv: np.ndarray, conv_col: str, source: str, problem: str
) -> np.ndarray:
    """The revenue column as numbers; revenue where nothing converted is an error."""
    rev = _numeric(df, col, source, integer=False)
    orphan = (rev > 0) & (conv == 0)
    if orphan.any():
        k, ex = _first_rows(orphan, df, [conv_col, col])
        raise DataError(source, col, problem, k, ex)
    return rev


def from_aggregated(
    df: pd.DataFrame,
    *,
    segment_col: str | Sequence[str] | None = "segment",
    arm_col: str = "arm",
    n_col: str = "n",
    conversions_col: str = "conversions",
    revenue_col: str | None = None,
    control: str | None = None,
    source: str = "<aggregated table>",
) -> pd.DataFrame:
    """Build a results table from aggregated rows ``segment, arm, n, conversions[, revenue]``.

    Parameters
    ----------
    df : DataFrame
        One row per segment × arm.
    segment_col : str, sequence of str or None, default "segment"
        Segment column(s); several are joined with ``" | "``. ``"segment"`` is ignored when absent;
        ``None`` treats the table as one segment.
    arm_col, n_col, conversions_col : str
        Column names of the arm, the recipients and the conversions.
    revenue_col : str, optional
        Column of the total revenue of each cell; the revenue metric needs it. ``"revenue"`` is
        used when present and not named.
    control : str, optional
        The control arm (default: the arm called ``control``).
    source : str
        Name of the input used in error messages (the file name).

    Returns
    -------
    DataFrame
        The canonical results table (see the module docstring).

    Raises
    ------
    DataError
        Unknown column, NaN, negative or non-integer counts, conversions above n, revenue without
        conversions, repeated rows, a segment with one arm or without the control arm.
    """
    seg_cols = _segment_cols(df, segment_col, default_absent_ok=segment_col == "segment")
    opts = [(arm_col, "--arm-col"), (n_col, "--n-col"), (conversions_col, "--conversions-col")]
    df, revenue_col = _checked_columns(df, opts, seg_cols, revenue_col, source)
    arm = _labels(df, [arm_col], source)
    n = _numeric(df, n_col, source, integer=True)
    conv = _numeric(df, conversions_col, source, integer=True)
    over = conv > n
    if over.any():
        k, ex = _first_rows(over, df, [n_col, conversions_col])
        raise DataError(source, conversions_col, f"conversions above {n_col}", k, ex)
    zero_n = n == 0
    if zero_n.any():
        k, ex = _first_rows(zero_n, df, [n_col])
        raise DataError(source, n_col, "cells without recipients", k, ex)
    out = pd.DataFrame(
        {
            "segment": _labels(df, seg_cols, source),
            "arm": arm,
            "n": n.astype("int64"),
            "conversions": conv.astype("int64"),
        }
    )
    if CSV_ATTR in df.attrs:  # one output row per input row: report repeats by file line
        out.attrs[CSV_ATTR] = df.attrs[CSV_ATTR]
    if revenue_col is not None:
        problem = "revenue in cells without conversions"
        out["revenue"] = _revenue(df, revenue_col, conv, conversions_col, source, problem)
        if "revenue_sumsq" in df.columns:
            out["revenue_sumsq"] = _numeric(df, "revenue_sumsq", source, integer=False)
    ctrl = _default_control(out["arm"], control, source, arm_col)
    return _check_arms(out, ctrl, source, arm_col)


def _segment_cols(
    df: pd.DataFrame, segment_col: str | Sequence[str] | None, *, default_absent_ok: bool
) -> list[str]:
    if segment_col is None:
        return []
    cols = [segment_col] if isinstance(segment_col, str) else list(segment_col)
    if default_absent_ok and cols == ["segment"] and "segment" not in df.columns:
        return []
    return cols


def from_recipients(
    df: pd.DataFrame,
    *,
    segment_col: str | Sequence[str] | None = "segment",
    arm_col: str = "arm",
    converted_col: str = "converted",
    revenue_col: str | None = None,
    control: str | None = None,
    source: str = "<recipient table>",
) -> pd.DataFrame:
    """Aggregate one row per recipient ``arm, converted[, revenue]`` (+ segment columns).

    Parameters
    ----------
    df : DataFrame
        One row per recipient.
    segment_col : str, sequence of str or None, default "segment"
        Segment column(s); ``"segment"`` is ignored when absent; ``None`` means one segment.
    arm_col, converted_col : str
        The arm and the 0/1 (or boolean) conversion flag.
    revenue_col : str, optional
        Revenue of each recipient (0 for non-converters); ``"revenue"`` is used when present.
    control : str, optional
        The control arm (default: the arm called ``control``).
    source : str
        Name of the input used in error messages.

    Returns
    -------
    DataFrame
        The canonical results table, with ``revenue_sumsq`` when revenue is given.
    """
    seg_cols = _segment_cols(df, segment_col, default_absent_ok=segment_col == "segment")
    opts = [(arm_col, "--arm-col"), (converted_col, "--converted-col")]
    df, revenue_col = _checked_columns(df, opts, seg_cols, revenue_col, source)
    conv = _numeric(df, converted_col, source, integer=True)
    big = conv > 1
    if big.any():
        k, ex = _first_rows(big, df, [converted_col])
        raise DataError(source, converted_col, "values other than 0/1 (true/false)", k, ex)
    work = pd.DataFrame(
        {"segment": _labels(df, seg_cols, source), "arm": _labels(df, [arm_col], source)}
    )
    work["n"] = np.int64(1)
    work["conversions"] = conv.astype("int64")
    if revenue_col is not None:
        problem = "revenue from recipients who did not convert"
        rev = _revenue(df, revenue_col, conv, converted_col, source, problem)
        work["revenue"] = rev
        work["revenue_sumsq"] = rev**2
    out = work.groupby(["segment", "arm"], sort=True, as_index=False).sum()
    ctrl = _default_control(out["arm"], control, source, arm_col)
    return _check_arms(out, ctrl, source, arm_col)


def read_file(path: str | Path) -> pd.DataFrame:
    """An interchange file as read (CSV, gzipped CSV or Parquet), before any check."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file")
    name = path.name.lower()
    if is_csv(name):
        return read_csv(path)
    if name.endswith((".parquet", ".pq")):
        return read_parquet(path)
    raise WorkbenchError(f"{path}: unknown file type (use .csv or .parquet)")


def read_results(path: str | Path, format: Format = "aggregated", **columns: Any) -> pd.DataFrame:
    """Read an interchange file (CSV or Parquet) into a results table.

    Parameters
    ----------
    path : path
        ``.csv``, ``.csv.gz`` or ``.parquet`` file.
    format : {"aggregated", "recipients"}
        Which interchange form the file holds.
    **columns
        Column options passed to :func:`from_aggregated` or :func:`from_recipients`.

    Returns
    -------
    DataFrame
    """
    df = read_file(path)
    path = Path(path)
    if format == "aggregated":
        return from_aggregated(df, source=str(path), **columns)
    if format == "recipients":
        return from_recipients(df, source=str(path), **columns)
    raise WorkbenchError(f"unknown format '{format}' (aggregated or recipients)")


# ------------------------------------------------------------------------------------ worlds


def world_recipients(
    world: Any,
    experiment_id: int,
    segments: str | pd.DataFrame = "region",
) -> pd.DataFrame:
    """One row per assigned subscriber of an experiment, with conversion and revenue.

    A subscriber converted when they placed an order within ``conversion_window_days`` after
    their ``assigned_ts`` (inclusive); revenue is the sum of those orders.

    Parameters
    ----------
    world : World
        A loaded world (:func:`workbench.schema.load_world`) with ``experiments``, ``assignments``,
        ``orders`` and ``subscribers``.
    experiment_id : int
        The experiment.
    segments : str or DataFrame, default "region"
        A column of ``subscribers`` (e.g. ``"region"``, ``"acquisition_source"``), or a mapping
        DataFrame with columns ``subscriber_id, segment`` (e.g. found by :mod:`workbench.segment`).
        Truth tables are never read.

    Returns
    -------
    DataFrame
        Columns ``subscriber_id, segment, arm, is_holdout, converted, revenue``.
    """
    exps = world["experiments"]
    row = exps.loc[exps["experiment_id"] == experiment_id]
    if row.empty:
        known = ", ".join(map(str, exps["experiment_id"].tolist()))
        raise WorkbenchError(f"{world.path}: no experiment {experiment_id} (have: {known})")
    window = int(row["conversion_window_days"].iloc[0])
    asg = world["assignments"]
    asg = asg.loc[asg["experiment_id"] == experiment_id]
    seg = _segment_mapping(world, segments)
    orders = world["orders"][["subscriber_id", "ts", "revenue"]]
    out = _orders_in_window(asg, seg, orders, window)
    out["segment"] = out["segment"].fillna("unknown").astype("str")
    out["arm"] = out["arm"].astype("str")
    return out


def _segment_mapping(world: Any, segments: str | pd.DataFrame) -> pd.DataFrame:
    """``subscriber_id, segment`` from a column of ``subscribers`` or a given mapping."""
    if isinstance(segments, str):
        subs = world["subscribers"]
        _require(subs, segments, str(world.source("subscribers") or "subscribers"))
        return pd.DataFrame(
            {"subscriber_id": subs["subscriber_id"], "segment": subs[segments].astype("str")}
        )
    for c in ("subscriber_id", "segment"):
        _require(segments, c, "<segment mapping>")
    return segments[["subscriber_id", "segment"]].astype({"segment": "str"})


def _orders_in_window(
    asg: pd.DataFrame, seg: pd.DataFrame, orders: pd.DataFrame, window: int
) -> pd.DataFrame:
    """Per assigned subscriber: segment, arm, holdout flag, converted and revenue in the window."""
    from workbench import db

    con = db.connect()  # frames of a loaded (already checked) world; UTC session
    try:
        con.register("asg", asg)
        con.register("seg", seg)
        con.register("ord", orders)
        return con.execute(
            f"""
            SELECT a.subscriber_id, s.segment, a.arm, a.is_holdout,
                   COUNT(o.ts) > 0 AS converted, COALESCE(SUM(o.revenue), 0.0) AS revenue
            FROM asg a
            LEFT JOIN seg s USING (subscriber_id)
            LEFT JOIN ord o ON o.subscriber_id = a.subscriber_id
                 AND o.ts >= a.assigned_ts
                 AND o.ts <= a.assigned_ts + INTERVAL {window} DAY
            GROUP BY ALL
            ORDER BY a.subscriber_id
            """
        ).df()
    finally:
        con.close()


def _merge_small_segments(rec: pd.DataFrame, min_size: int) -> pd.DataFrame:
    import warnings

    n_arms = rec["arm"].nunique()
    cells = (
        rec.groupby(["segment", "arm"])
        .size()
        .unstack("arm")
        .reindex(columns=sorted(rec["arm"].unique()))
    )
    small = cells.isna().any(axis=1) | (cells.fillna(0).min(axis=1) < max(min_size, 1))
    rec = rec.copy()
    rec.loc[rec["segment"].isin(small[small].index).to_numpy(), "segment"] = "other"
    other = rec.loc[rec["segment"] == "other"]
    if len(other) and other["arm"].nunique() < n_arms:
        warnings.warn(
            f"dropping {len(other)} recipients of small segments that do not cover every arm",
            stacklevel=3,
        )
        rec = rec.loc[rec["segment"] != "other"]
    return rec


def from_world(
    world: Any,
    experiment_id: int | None = None,
    segments: str | pd.DataFrame = "region",
    *,
    min_segment_size: int = 0,
) -> pd.DataFrame:
    """Results table of one experiment of a world (see :func:`world_recipients`).

    Parameters
    ----------
    world : World or path
        A loaded world, or its folder.
    experiment_id : int, optional
        The experiment (default: the first ``ab_test`` experiment).
    segments : str or DataFrame, default "region"
        Segment column of ``subscribers`` or a ``subscriber_id, segment`` mapping.
    min_segment_size : int, default 0
        Segments with fewer recipients in any arm, or without every arm, are merged into
        ``"other"``; when ``"other"`` still lacks an arm it is dropped with a warning.

    Returns
    -------
    DataFrame
        The results table; ``attrs`` hold ``control``, ``experiment_id``, ``kind`` and ``holdout``
        (the holdout arm, if any).
    """
    if isinstance(world, str | Path):
        from workbench.schema import load_world

        world = load_world(world, tables=["experiments", "assignments", "orders"])
    exps = world["experiments"]
    if experiment_id is None:
        ab = exps.loc[exps["kind"] == "ab_test", "experiment_id"]
        if ab.empty:
            raise WorkbenchError(f"{world.path}: no ab_test experiment; pass experiment_id")
        experiment_id = int(ab.iloc[0])
    rec = world_recipients(world, experiment_id, segments)
    meta = exps.loc[exps["experiment_id"] == experiment_id].iloc[0]
    rec = _merge_small_segments(rec, min_segment_size)
    holdout = rec.loc[rec["is_holdout"], "arm"].unique()
    table = from_recipients(
        rec,
        segment_col="segment",
        arm_col="arm",
        converted_col="converted",
        revenue_col="revenue",
        control=str(meta["control_arm"]),
        source=f"{world.path} experiment {experiment_id}",
    )
    table.attrs.update(experiment_attrs(meta, holdout))
    return table


def experiment_attrs(meta: Any, holdout_arms: Sequence[str]) -> dict[str, Any]:
    """The ``attrs`` of a world experiment's results table, from its ``experiments`` row."""
    return {
        "experiment_id": int(meta["experiment_id"]),
        "kind": str(meta["kind"]),
        "holdout": str(holdout_arms[0]) if len(holdout_arms) else None,
        "conversion_window_days": int(meta["conversion_window_days"]),
    }
