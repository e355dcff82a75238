"""Transaction logs in, customer summaries out: the input of every buy-till-you-die model.

A transaction log has one row per purchase: a customer, a date (or a time) and, optionally, a
value. The models of this package see each customer through four numbers measured from the
customer's **first purchase**, as in the papers (Fader, Hardie & Lee 2005):

``frequency`` (x)
    the number of *repeat* purchases in the calibration period: purchase days after the first;
    several transactions on the same day count as one purchase (their values are summed);
``recency`` (t_x)
    the time from the first purchase to the last one;
``T``
    the time from the first purchase to the end of the calibration period;
``monetary_value``
    the mean value of the repeat purchases (0 without one), the input of the Gamma–Gamma model.

Times are in the chosen unit: ``"days"`` or ``"weeks"`` (days / 7, so fitted parameters are in
the papers' units). The calibration period ends with ``calibration_end`` (that day included);
the holdout period runs from the next day to ``holdout_end`` (included). Customers whose first
purchase falls after ``calibration_end`` are not in the summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from workbench.errors import DataError, WorkbenchError

#: Time units and their length in days.
TIME_UNITS = {"days": 1.0, "weeks": 7.0}
#: Column separators a transaction file may use, by the name users give them.
SEPARATORS = {",": ",", ";": ";", "\\t": "\t", "tab": "\t", "|": "|", "whitespace": r"\s+"}
#: Columns of a customer summary (:func:`summarise`).
SUMMARY_COLUMNS = ("customer_id", "frequency", "recency", "T", "monetary_value")


@dataclass(frozen=True)
class Transactions:
    """A checked transaction log, one row per customer and purchase day.

    Attributes
    ----------
    table : DataFrame
        ``customer_id`` (as given), ``date`` (datetime64, midnight), ``value`` (float; NaN when the
        log has no values), sorted by customer and date; transactions of one day are summed.
    has_value : bool
        Whether the log had a value column.
    source : str
        Where it came from, for messages.
    """

    table: pd.DataFrame
    has_value: bool
    source: str


def unit_days(time_unit: str) -> float:
    """Length of ``time_unit`` in days (``"days"`` or ``"weeks"``)."""
    if time_unit not in TIME_UNITS:
        raise WorkbenchError(f"time unit must be one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
    return TIME_UNITS[time_unit]


def _first_rows(mask: np.ndarray, lines: np.ndarray) -> list[str]:
    return [f"line {int(n)}" for n in lines[np.flatnonzero(mask)[:5]]]


def read_transactions(
    path: str | Path,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    value_col: str | None = None,
    sep: str | None = None,
    date_format: str | None = None,
) -> Transactions:
    """Read and check a transaction log (CSV or other delimited text, gzipped or not; Parquet).

    Parameters
    ----------
    path : path
        The file. Text files need a header line, unless every column is given by its 1-based
        position (``customer_col="1"``, ...) and not all of those names are in the first line: then
        the file is read as having no header (the CDNOW logs of the papers are such files).
    customer_col, date_col : str
        Columns of the customer id and of the purchase date or time.
    value_col : str, optional
        Column of the purchase value; default ``"value"`` if the file has one, else no values
        (no spend model).
    sep : str, optional
        ``","`` (default for ``.csv``), ``";"``, ``"\\t"``, ``"|"`` or ``"whitespace"`` (runs of
        blanks, the default for ``.txt``/``.dat``).
    date_format : str, optional
        ``strptime`` format of the dates (e.g. ``"%Y%m%d"``); default: ISO dates or times.

    Returns
    -------
    Transactions

    Raises
    ------
    DataError
        One line naming the file, the column and the first offending lines: a missing column,
        an empty customer id, a date that does not parse, a value that is not a number >= 0.
    """
    p = Path(path)
    source = str(p)
    if not p.is_file():
        raise DataError(source, None, "no such transaction file")
    frame = _read_table(p, source, sep, [customer_col, date_col, value_col])
    names = [str(c) for c in frame.columns]
    value_given = value_col is not None
    value_col = value_col if value_given else ("value" if "value" in names else None)
    for role, col in (("customer", customer_col), ("date", date_col), ("value", value_col)):
        if col is not None and col not in names:
            shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
            raise DataError(source, col, f"no such {role} column (the file has: {shown})")
    lines = frame.attrs.pop("lines")
    ids = frame[customer_col]
    missing = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise DataError(
            source,
            customer_col,
            "empty customer id",
            int(missing.sum()),
            _first_rows(missing, lines),
        )
    dates = _parse_dates(frame[date_col], date_format)
    bad = dates.isna().to_numpy()
    if bad.any():
        shown = frame[date_col].astype(str).to_numpy()[np.flatnonzero(bad)[:3]]
        fmt = f"format {date_format!r}" if date_format else "an ISO date (or give --date-format)"
        raise DataError(
            source,
            date_col,
            f"dates that do not parse as {fmt}, e.g. {', '.join(map(repr, shown))}",
            int(bad.sum()),
            _first_rows(bad, lines),
        )
    if value_col is not None:
        raw = frame[value_col]
        values = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(
                source,
                value_col,
                "values that are not numbers",
                int(bad.sum()),
                _first_rows(bad, lines),
            )
        bad = values < 0
        if bad.any():
            raise DataError(
                source, value_col, "negative values", int(bad.sum()), _first_rows(bad, lines)
            )
    else:
        values = np.full(len(frame), np.nan)
    table = pd.DataFrame({"customer_id": ids.to_numpy(), "date": dates.to_numpy(), "value": values})
    if table.empty:
        raise DataError(source, None, "no transactions (the file has a header line only)")
    return Transactions(_by_day(table), value_col is not None, source)


def _read_table(p: Path, source: str, sep: str | None, cols: list[str | None]) -> pd.DataFrame:
    """The file as text columns, with ``attrs["lines"]``: each row's line in the file."""
    from workbench._read import read_parquet

    name = p.name.lower()
    if name.endswith((".parquet", ".pq")) or p.is_dir():
        frame = read_parquet(p, source).astype(object)
        frame.attrs["lines"] = np.arange(len(frame)) + 1  # "line" = row, 1-based
        return frame
    if sep is None:
        sep = "whitespace" if name.endswith((".txt", ".dat", ".txt.gz", ".dat.gz")) else ","
    if sep not in SEPARATORS:
        raise WorkbenchError(
            f"separator must be one of {', '.join(repr(s) for s in SEPARATORS)}, got {sep!r}"
        )
    delim = SEPARATORS[sep]
    given = [c for c in cols if c is not None]
    kw: dict[str, Any] = dict(
        sep=delim, dtype=str, keep_default_na=False, encoding="utf-8", index_col=False
    )
    if delim == r"\s+":
        kw["engine"] = "python"
    try:
        frame = pd.read_csv(p, skip_blank_lines=False, **kw)
        header = True
        if given and all(re.fullmatch(r"[1-9]\d*", c) for c in given):
            if not all(c in [str(h).strip() for h in frame.columns] for c in given):
                frame = pd.read_csv(p, header=None, skip_blank_lines=False, **kw)
                frame.columns = [str(i + 1) for i in range(frame.shape[1])]
                header = False
    except UnicodeDecodeError:
        raise DataError(source, None, "text that is not UTF-8 (save the file as UTF-8)") from None
    except pd.errors.EmptyDataError:
        raise DataError(source, None, "empty file (no header line)") from None
    except (pd.errors.ParserError, ValueError, OSError, EOFError) as exc:
        msg = " ".join(str(exc).split())[:200]
        raise DataError(source, None, f"cannot be read as delimited text: {msg}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    lines = np.arange(len(frame)) + (2 if header else 1)
    blank = (frame.astype(str).apply(lambda s: s.str.strip()) == "").all(axis=1).to_numpy()
    frame = frame.loc[~blank].reset_index(drop=True)
    frame = frame.replace("", np.nan)
    frame.attrs["lines"] = lines[~blank]
    return frame


def _parse_dates(col: pd.Series, date_format: str | None) -> pd.Series:
    """Dates (datetime64, midnight, no zone); NaT where a value does not parse."""
    text = col.astype(str).str.strip()
    if date_format:
        out = pd.to_datetime(text, format=date_format, errors="coerce", utc=True)
    else:
        out = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    return out.dt.tz_localize(None).dt.normalize().astype("datetime64[s]")


def _by_day(table: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and day: several transactions of a day are one purchase."""
    out = (
        table.groupby(["customer_id", "date"], sort=True, dropna=False)["value"]
        .sum(min_count=1)
        .reset_index()
    )
    return out


def transactions_from_orders(orders: pd.DataFrame, source: str = "orders") -> Transactions:
    """The transaction log of a world's ``orders`` table (customer = subscriber, UTC days).

    Parameters
    ----------
    orders : DataFrame
        A world's ``orders`` (``subscriber_id``, ``ts``, ``revenue``), already checked by the
        data contract when the world was loaded.
    source : str
        Name for messages.

    Returns
    -------
    Transactions
    """
    ts = pd.to_datetime(orders["ts"], utc=True)
    table = pd.DataFrame(
        {
            "customer_id": orders["subscriber_id"].to_numpy(),
            "date": ts.dt.tz_localize(None).dt.normalize().astype("datetime64[s]").to_numpy(),
            "value": orders["revenue"].to_numpy(float),
        }
    )
    return Transactions(_by_day(table), True, source)


def to_date(value: Any, what: str) -> pd.Timestamp:
    """A date given as text or a date/time, as a midnight timestamp without a zone."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise WorkbenchError(f"{what} must be a date like 2025-06-30, got {value!r}") from None
    if ts is pd.NaT:
        raise WorkbenchError(f"{what} must be a date like 2025-06-30, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def summarise(
    transactions: Transactions,
    *,
    calibration_end: Any,
    holdout_end: Any | None = None,
    time_unit: str = "weeks",
) -> pd.DataFrame:
    """One row per customer: frequency, recency, T and monetary value (and the holdout).

    Parameters
    ----------
    transactions : Transactions
        From :func:`read_transactions` or :func:`transactions_from_orders`.
    calibration_end : date
        Last day of the calibration period (included).
    holdout_end : date, optional
        Last day of the holdout period (included), after ``calibration_end``.
    time_unit : {"weeks", "days"}
        Unit of ``recency`` and ``T`` (weeks = days / 7, the papers' unit).

    Returns
    -------
    DataFrame
        :data:`SUMMARY_COLUMNS`, plus ``first_purchase`` (date) and, with a holdout,
        ``frequency_holdout`` (purchase days in the holdout), ``value_holdout`` (their total value)
        and ``duration_holdout`` (its length in the unit). ``attrs`` holds the dates and the unit.

    Raises
    ------
    WorkbenchError
        When the holdout does not end after the calibration, or no customer bought in the
        calibration period.
    """
    day = unit_days(time_unit)
    cal = to_date(calibration_end, "calibration end")
    hold = None if holdout_end is None else to_date(holdout_end, "holdout end")
    if hold is not None and hold <= cal:
        raise WorkbenchError(
            f"holdout end ({hold.date()}) must come after the calibration end ({cal.date()})"
        )
    t = transactions.table
    in_cal = t[t["date"] <= cal]
    if in_cal.empty:
        first = t["date"].min()
        raise WorkbenchError(
            f"{transactions.source}: no purchase on or before the calibration end "
            f"{cal.date()} (the first is on {pd.Timestamp(first).date()})"
        )
    g = in_cal.groupby("customer_id", sort=True)
    first = g["date"].min()
    last = g["date"].max()
    n = g.size()
    total = g["value"].sum(min_count=1)
    first_value = in_cal.groupby("customer_id", sort=True)["value"].first()
    x = (n - 1).astype(np.int64)
    to_unit = lambda d: d.dt.days.to_numpy(float) / day  # noqa: E731
    out = pd.DataFrame(
        {
            "customer_id": first.index.to_numpy(),
            "frequency": x.to_numpy(),
            "recency": to_unit(last - first),
            "T": to_unit(cal - first),
            "monetary_value": np.where(
                x.to_numpy() > 0,
                (total - first_value).to_numpy(float) / np.maximum(x.to_numpy(), 1),
                0.0,
            ),
            "first_purchase": first.to_numpy(),
        }
    )
    if not transactions.has_value:
        out["monetary_value"] = np.nan
    if hold is not None:
        h = t[(t["date"] > cal) & (t["date"] <= hold)]
        gh = h.groupby("customer_id")
        fh = gh.size().reindex(out["customer_id"], fill_value=0)
        vh = gh["value"].sum(min_count=1).reindex(out["customer_id"]).fillna(0.0)
        out["frequency_holdout"] = fh.to_numpy(np.int64)
        out["value_holdout"] = vh.to_numpy(float) if transactions.has_value else np.nan
        out["duration_holdout"] = (hold - cal).days / day
    out.attrs.update(
        calibration_end=str(cal.date()),
        holdout_end=None if hold is None else str(hold.date()),
        time_unit=time_unit,
        source=transactions.source,
    )
    return out


def repeat_purchases(
    transactions: Transactions, summary: pd.DataFrame, *, end: Any | None = None
) -> pd.DataFrame:
    """Repeat purchases per day of the customers of ``summary`` (for the tracking plot).

    Parameters
    ----------
    transactions : Transactions
        The log the summary was made from.
    summary : DataFrame
        From :func:`summarise` (its ``first_purchase`` column).
    end : date, optional
        Last day counted (default the holdout end, else the calibration end).

    Returns
    -------
    DataFrame
        ``date, repeat_purchases``: every day from the first first-purchase to ``end``.
    """
    cal = to_date(summary.attrs["calibration_end"], "calibration end")
    hold = summary.attrs.get("holdout_end")
    stop = to_date(end if end is not None else (hold or cal), "end")
    firsts = summary.set_index("customer_id")["first_purchase"]
    t = transactions.table
    t = t[t["customer_id"].isin(firsts.index) & (t["date"] <= stop)]
    rep = t[t["date"] > firsts.reindex(t["customer_id"]).to_numpy()]
    days = pd.date_range(firsts.min(), stop, freq="D")
    counts = rep.groupby("date").size().reindex(days, fill_value=0)
    return pd.DataFrame({"date": days, "repeat_purchases": counts.to_numpy(np.int64)})
