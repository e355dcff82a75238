"""Exceptions shared by the whole package.

Every error a user can cause with bad input is a :class:`WorkbenchError`; the command line prints
its message on one line and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class WorkbenchError(Exception):
    """Base class of the errors a user can cause (bad input, bad parameters)."""


class DataError(WorkbenchError, ValueError):
    """A table does not meet the data contract.

    Parameters
    ----------
    source : str
        The file (or table name) that holds the offending data.
    column : str or None
        The offending column, ``None`` when the problem is not about one column.
    problem : str
        What is wrong, in plain words (``"negative values"``, ``"unknown channel"``...).
    n_rows : int, default 0
        How many rows are affected (0 when the problem is not about rows).
    examples : sequence, optional
        The first offending rows (row numbers, ids or values), at most a handful are shown.
    """

    def __init__(
        self,
        source: str,
        column: str | None,
        problem: str,
        n_rows: int = 0,
        examples: Sequence[Any] = (),
    ) -> None:
        self.source = str(source)
        self.column = column
        self.problem = problem
        self.n_rows = int(n_rows)
        self.examples = list(examples)[:5]
        where = self.source + (f", column '{column}'" if column else "")
        msg = f"{where}: {problem}"
        if n_rows:
            msg += f" in {n_rows} row{'s' if n_rows != 1 else ''}"
        if self.examples:
            msg += f" (first: {', '.join(map(str, self.examples))})"
        super().__init__(msg)


class EstimatorInputError(WorkbenchError, ValueError):
    """Input an estimator cannot use: a :class:`WorkbenchError` (the command line reports it on
    one line, status 2) and a ``ValueError`` (scikit-learn's convention for bad input)."""


def plain(value: Any) -> Any:
    """``value`` as a plain Python object: numpy scalars unwrapped, NA as ``None``.

    Messages must read ``100``, not ``np.int64(100)``; times stay datetimes (see :func:`show`).
    """
    if value is None:
        return None
    import pandas as pd

    if pd.api.types.is_scalar(value) and pd.isna(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            return value.item()
        except (TypeError, ValueError):
            return value
    return value


def show(value: Any) -> str:
    """How a value appears in a message: text quoted, numbers plain, times ISO, NA as missing."""
    v = plain(value)
    if v is None:
        return "missing"
    if isinstance(v, str | bytes):
        return repr(str(v) if isinstance(v, str) else bytes(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)
