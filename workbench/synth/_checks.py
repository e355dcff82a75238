"""Checks shared by the scenario and persona parsers: each names the dotted key at fault.

Every check raises :class:`~workbench.errors.WorkbenchError` with a message ``KEY: what is wrong``
(the caller prefixes the file), and returns the checked value.
"""

from __future__ import annotations

from typing import Any

from workbench.errors import WorkbenchError


def fail(path: str, msg: str) -> WorkbenchError:
    """The error for the dotted key ``path`` (returned, for the caller to raise)."""
    return WorkbenchError(f"{path}: {msg}")


def check_keys(table: Any, path: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """``table`` itself, once checked to be a table whose keys are all in ``allowed``."""
    if not isinstance(table, dict):
        raise fail(path, f"expected a table, got {type(table).__name__}")
    for k in table:
        if k not in allowed:
            raise fail(f"{path}.{k}", f"unknown key '{k}'; allowed: {', '.join(allowed)}")
    return table


def num(
    v: Any, path: str, lo: float | None = None, hi: float | None = None, integer: bool = False
) -> Any:
    """``v``, once checked to be a number (an integer if ``integer``) in ``[lo, hi]``."""
    ok = isinstance(v, int) if integer else isinstance(v, int | float)
    if isinstance(v, bool) or not ok:
        raise fail(path, f"expected {'an integer' if integer else 'a number'}, got {v!r}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"[{lo if lo is not None else '-inf'}, {hi if hi is not None else 'inf'}]"
        raise fail(path, f"{v!r} out of range {rng}")
    return v


def choices(v: Any, path: str, allowed: tuple[str, ...], many: bool = True) -> Any:
    """A non-empty list of ``allowed`` values as a tuple (or one value if not ``many``)."""
    vals = v if many else [v]
    if many and (not isinstance(v, list) or not v):
        raise fail(path, f"expected a non-empty list of: {', '.join(allowed)}")
    for i, x in enumerate(vals):
        if x not in allowed:
            where = f"{path}[{i}]" if many else path
            raise fail(where, f"{x!r} not in {', '.join(allowed)}")
    return tuple(vals) if many else v


def weights(v: Any, path: str, allowed: tuple[str, ...]) -> dict[str, float]:
    """A table of non-negative weights over ``allowed`` keys, not all zero, as floats."""
    tab = check_keys(v, path, allowed)
    out = {k: float(num(x, f"{path}.{k}", lo=0)) for k, x in tab.items()}
    if out and sum(out.values()) <= 0:
        raise fail(path, "weights must not all be zero")
    return out


def numbers(v: Any, path: str, allowed: tuple[str, ...], lo: float, hi: float | None) -> dict:
    """A table of numbers in ``[lo, hi]`` over ``allowed`` keys, as floats."""
    tab = check_keys(v, path, allowed)
    return {k: float(num(x, f"{path}.{k}", lo, hi)) for k, x in tab.items()}
