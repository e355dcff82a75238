"""Reading user files (CSV text and Parquet) into DataFrames, with one-line errors.

Every file a user hands to the workbench (a world's tables, an experiment-results table, a paths
file) is read here, so that whatever the bytes are (empty, truncated, not UTF-8, rows with more
or fewer fields than the header, not Parquet at all) the reader either returns a DataFrame or
raises one :class:`~workbench.errors.DataError` naming the file and the first offending lines.

CSV rows are reported by their *line* in the file (the header is line 1); :func:`csv_lines`
maps DataFrame rows back to lines when quoted fields span lines or blank lines were skipped.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import warnings
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pandas as pd

from workbench.errors import DataError, WorkbenchError

#: ``DataFrame.attrs`` key holding the CSV file a frame was read from (row -> line numbers).
CSV_ATTR = "workbench_csv"
_MAX_FIELD = 1 << 30


def is_csv(path: str | Path) -> bool:
    """Whether ``path`` names CSV text (``.csv``, ``.csv.gz``, ``.txt``) rather than Parquet."""
    return str(path).lower().endswith((".csv", ".csv.gz", ".txt"))


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _open_bytes(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _records(path: Path, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each non-blank CSV record, the header included."""
    with _open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        last = 0
        for row in reader:
            start, last = last + 1, reader.line_num
            if row:  # blank lines are skipped, as pandas does
                yield start, row


def csv_lines(path: str | Path, rows: Sequence[int], delimiter: str = ",") -> dict[int, int]:
    """File line of each of the DataFrame ``rows`` (0-based data rows) of a CSV file."""
    wanted = set(int(r) for r in rows)
    out: dict[int, int] = {}
    if not wanted:
        return out
    last = max(wanted)
    old = csv.field_size_limit(_MAX_FIELD)
    try:
        for i, (line, _) in enumerate(_records(Path(path), delimiter)):
            if i - 1 in wanted:
                out[i - 1] = line
            if i - 1 >= last:
                break
    except (OSError, UnicodeDecodeError, csv.Error, EOFError, zlib.error):
        pass
    finally:
        csv.field_size_limit(old)
    return out


def row_labels(frame: pd.DataFrame | pd.Series | None, rows: Sequence[int]) -> list[str]:
    """``"line N"`` for rows of a frame read from CSV by :func:`read_csv`, else ``"row i"``."""
    path = None if frame is None else frame.attrs.get(CSV_ATTR)
    if path is None:
        return [f"row {int(i)}" for i in rows]
    lines = csv_lines(path, rows)
    return [f"line {lines.get(int(i), int(i) + 2)}" for i in rows]


def _not_utf8(path: Path, source: str) -> DataError:
    bad: list[str] = []
    n = 0
    try:
        with _open_bytes(path) as f:
            for i, raw in enumerate(f, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    n += 1
                    if len(bad) < 5:
                        bad.append(f"line {i}: byte 0x{raw[exc.start]:02x}")
    except (OSError, EOFError, zlib.error):
        pass
    return DataError(source, None, "text that is not UTF-8 (save the file as UTF-8)", n, bad)


def _ragged(path: Path, source: str) -> DataError | None:
    """The error for records whose number of fields differs from the header's, if any."""
    old = csv.field_size_limit(_MAX_FIELD)
    try:
        records = _records(path)
        first = next(records, None)
        if first is None:
            return None
        width = len(first[1])
        bad = []
        n = 0
        for line, row in records:
            if len(row) != width:
                n += 1
                if len(bad) < 5:
                    bad.append(
                        f"line {line} has {len(row)} fields"
                        + (f", header has {width}" if not bad else "")
                    )
    except UnicodeDecodeError:
        return _not_utf8(path, source)
    except (csv.Error, OSError, EOFError, zlib.error) as exc:
        return DataError(source, None, f"cannot be read as CSV: {exc}")
    finally:
        csv.field_size_limit(old)
    return DataError(source, None, "wrong number of fields", n, bad) if n else None


def _header(path: Path, source: str) -> list[str]:
    old = csv.field_size_limit(_MAX_FIELD)
    try:
        first = next(_records(path), None)
    except UnicodeDecodeError:
        raise _not_utf8(path, source) from None
    except (csv.Error, OSError, EOFError, zlib.error) as exc:
        raise DataError(source, None, f"cannot be read as CSV: {exc}") from None
    finally:
        csv.field_size_limit(old)
    if first is None:
        raise DataError(source, None, "empty file (no header line)")
    names = [h.strip() for h in first[1]]
    for i, h in enumerate(names):
        if not h:
            raise DataError(source, None, f"header line has an empty column name (field {i + 1})")
        if h in names[:i]:
            raise DataError(source, h, "column appears twice in the header line")
    return names


def read_csv(path: str | Path, source: str | None = None, *, text: bool = False) -> pd.DataFrame:
    """Read a CSV file (``.gz`` too), or raise one :class:`DataError` naming the file.

    Parameters
    ----------
    path : path
        The file, UTF-8 text with a header line.
    source : str, optional
        Name of the file in messages (default ``str(path)``).
    text : bool, default False
        Keep every column as text (the data contract parses it); otherwise pandas infers types.

    Returns
    -------
    DataFrame
        With ``attrs[CSV_ATTR]`` set to the file, so that row problems are reported by line.

    Raises
    ------
    DataError
        Empty file, no header, an empty or repeated column name, text that is not UTF-8, rows
        with more or fewer fields than the header (by line), or text that is not CSV.
    """
    p = Path(path)
    source = source or str(p)
    try:
        if p.stat().st_size == 0:
            raise DataError(source, None, "empty file (no header line)")
    except OSError as exc:
        raise DataError(source, None, f"cannot be read: {exc.strerror or exc}") from None
    _header(p, source)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                p,
                dtype=str if text else None,
                index_col=False,
                encoding="utf-8",
                skipinitialspace=False,
                low_memory=False,
            )
    except UnicodeDecodeError:
        raise _not_utf8(p, source) from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        raise (_ragged(p, source) or _unreadable(source, exc)) from None
    except (pd.errors.EmptyDataError, ValueError, OSError, EOFError, zlib.error) as exc:
        raise _unreadable(source, exc) from None
    df.columns = [str(c).strip() for c in df.columns]
    if len(df) and len(df.columns) and df.iloc[:, -1].isna().to_numpy().any():
        # a row with fewer fields than the header leaves its last fields empty: find it
        err = _ragged(p, source)
        if err is not None:
            raise err
    df.attrs[CSV_ATTR] = str(p)
    return df


def _unreadable(source: str, exc: BaseException) -> DataError:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return DataError(source, None, f"cannot be read as CSV: {msg}")


def parquet_files(path: str | Path, source: str | None = None) -> list[Path]:
    """The Parquet file itself, or the ``*.parquet`` parts of a folder (sorted)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(q for q in p.glob("*.parquet") if q.is_file())
        if not files:
            raise DataError(source or str(p), None, "folder holds no .parquet parts")
        return files
    return [p]


def parquet_error(source: str, exc: BaseException) -> DataError:
    """The one-line error for a file that is not (or no longer) readable Parquet."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return DataError(source, None, f"not a readable Parquet file ({msg})")


def read_parquet(path: str | Path, source: str | None = None) -> pd.DataFrame:
    """Read a Parquet file or folder of parts, or raise one :class:`DataError` naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    source = source or str(p)
    files = parquet_files(p, source)
    tables = []
    for f in files:
        where = str(f) if len(files) > 1 else source
        try:
            if f.stat().st_size == 0:
                raise DataError(where, None, "empty file (not Parquet)")
            tables.append(pq.read_table(f))
        except DataError:
            raise
        except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
            raise parquet_error(where, exc) from None
    try:
        table = pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowException, ValueError) as exc:
        raise DataError(source, None, f"parts do not share one schema ({exc})") from None
    try:
        return table.to_pandas()
    except (pa.ArrowException, ValueError, TypeError, KeyError) as exc:
        # the pandas metadata in the footer is damaged (e.g. UnicodeDecodeError, a ValueError)
        raise parquet_error(source, exc) from None


def read_any(path: str | Path, source: str | None = None, *, text: bool = False) -> pd.DataFrame:
    """:func:`read_csv` or :func:`read_parquet` by the file name."""
    return read_csv(path, source, text=text) if is_csv(path) else read_parquet(path, source)


def read_json_object(path: str | Path) -> dict[str, Any]:
    """A JSON file holding one object (``world.json``, ``truth_scenario.json``), ``{}`` if absent.

    Raises
    ------
    WorkbenchError
        When the file is not UTF-8 JSON or does not hold an object.
    """
    f = Path(path)
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WorkbenchError(f"{f}: invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise WorkbenchError(f"{f}: expected a JSON object, got {type(data).__name__}")
    return data
