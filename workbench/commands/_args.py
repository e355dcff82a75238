"""Argument types shared by the verbs: every number is checked for its range when it is parsed.

Each helper is an argparse ``type=``: it returns the parsed value or raises
:class:`argparse.ArgumentTypeError` with a plain reason, which the command line prints as one
line (``workbench VERB: error: argument --chains: must be an integer >= 1, got '0'``) with exit
status 2. Floats must be finite everywhere (``nan`` and ``inf`` are never a valid setting).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

SEED_MAX = 2**32 - 1
"""Largest seed: the range every library the workbench seeds accepts (scikit-learn's)."""


def _fail(expected: str, text: str) -> argparse.ArgumentTypeError:
    return argparse.ArgumentTypeError(f"must be {expected}, got {text!r}")


def int_in(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """An integer in ``[lo, hi]`` (either bound may be open-ended with ``None``)."""
    if lo is not None and hi is not None:
        expected = f"an integer from {lo} to {hi}"
    elif lo is not None:
        expected = f"an integer >= {lo}"
    elif hi is not None:
        expected = f"an integer <= {hi}"
    else:
        expected = "an integer"

    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise _fail(expected, text) from None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise _fail(expected, text)
        return value

    parse.__name__ = "integer"
    return parse


def float_in(
    lo: float | None = None,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Callable[[str], float]:
    """A finite float in the interval from ``lo`` to ``hi`` (closed unless ``*_open``)."""
    parts = []
    if lo is not None:
        parts.append(f"{'>' if lo_open else '>='} {lo:g}")
    if hi is not None:
        parts.append(f"{'<' if hi_open else '<='} {hi:g}")
    expected = "a finite number" + (" " + " and ".join(parts) if parts else "")

    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise _fail(expected, text) from None
        if not math.isfinite(value):
            raise _fail(expected, text)
        if lo is not None and (value <= lo if lo_open else value < lo):
            raise _fail(expected, text)
        if hi is not None and (value >= hi if hi_open else value > hi):
            raise _fail(expected, text)
        return value

    parse.__name__ = "number"
    return parse


positive_int = int_in(1)


def memory_size(text: str) -> str:
    """A memory size for DuckDB: a number and a unit (``500MB``, ``3GB``, ``2GiB``)."""
    import re

    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", text, re.I):
        raise _fail("a size such as 500MB or 3GB", text)
    return text.strip()


memory_size.__name__ = "size"
"""An integer >= 1 (sizes, counts, draws, chains, workers)."""
non_negative_int = int_in(0)
"""An integer >= 0 (tuning steps)."""
seed = int_in(0, SEED_MAX)
"""A random seed, 0 to 2**32 - 1."""
positive_float = float_in(0.0, lo_open=True)
"""A finite number > 0."""
non_negative_float = float_in(0.0)
"""A finite number >= 0 (thresholds, half-widths)."""
probability = float_in(0.0, 1.0, lo_open=True, hi_open=True)
"""A probability strictly between 0 and 1 (interval mass, target acceptance)."""
share = float_in(0.0, 1.0)
"""A share from 0 to 1."""


def positive_floats(text: str) -> list[float]:
    """Comma-separated finite numbers > 0 (``"1,1"``, ``"0.5,0.25,0.25"``)."""
    expected = "comma-separated finite numbers > 0, e.g. 0.5,0.5"
    items = [t.strip() for t in text.split(",")]
    values = []
    for item in items:
        try:
            value = float(item)
        except ValueError:
            raise _fail(expected, text) from None
        if not (math.isfinite(value) and value > 0):
            raise _fail(expected, text)
        values.append(value)
    return values


def non_empty(text: str) -> str:
    """A non-blank string (separators, names)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"must not be empty or blank, got {text!r}")
    return text


def int_or_auto(text: str) -> int | str:
    """``auto`` or an integer >= 1 (a number of segments)."""
    if text.strip() == "auto":
        return "auto"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise _fail("'auto' or an integer >= 1", text) from None


_SPARK_URLS = ("sc://", "spark://", "local[", "yarn", "k8s://")


def engine_name(text: str) -> str:
    """``duckdb``, ``spark`` or a Spark URL (``sc://host:15002``, ``spark://...``, ``local[N]``)."""
    value = text.strip()
    if value in ("duckdb", "spark") or value.startswith(_SPARK_URLS):
        return value
    raise _fail("duckdb, spark or a Spark URL (sc://host:port, spark://..., local[N], yarn)", text)


def engine_option(what: str) -> list[Option]:
    """The ``--engine`` option of a verb whose row-level queries can run on Spark.

    Parameters
    ----------
    what : str
        What runs in the engine, for the help (e.g. ``"features, sample and assignment"``).
    """
    return [
        (
            "--engine",
            dict(
                type=engine_name,
                default=None,
                metavar="E",
                help=f"where the {what} run: duckdb (embedded) or spark (local Spark; or a "
                "Spark URL: sc://host:15002 for Spark Connect, spark://..., yarn); needs "
                "pip install 'workbench[spark]' and Java. Default: DuckDB, in memory",
            ),
        )
    ]


Option = tuple[str, Mapping[str, Any]]
"""One row of an option table: the flag and the keywords of ``add_argument``."""


def add_options(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, options: Iterable[Option]
) -> None:
    """Add the options of a table to ``parser`` (or an argument group), in table order.

    Parameters
    ----------
    parser : ArgumentParser or argument group
        Receives the options.
    options : iterable of (str, mapping)
        ``(flag, keywords of add_argument)`` per option.
    """
    for flag, keywords in options:
        parser.add_argument(flag, **keywords)


OVERWRITE_HELP = "replace an existing output (never a folder by a file, nor an input)"
"""Help of ``--overwrite`` for verbs that write one table."""


def table_output(where: str = "") -> list[Option]:
    """The ``--out FILE`` and ``--overwrite`` options of a verb that writes one table.

    Parameters
    ----------
    where : str, optional
        Appended to the help of ``--out`` (e.g. ``" (not inside the world)"``).
    """
    out_help = "output table: .csv, .csv.gz or .parquet" + where
    return [
        ("--out", dict(required=True, metavar="FILE", help=out_help)),
        ("--overwrite", dict(action="store_true", help=OVERWRITE_HELP)),
    ]


OUTPUT_RULE = (
    "Outputs: an existing output is replaced only with --overwrite; an output may not be an "
    "input nor lie inside an input folder; it appears only once complete (nothing is left "
    "behind on error, Ctrl-C or SIGTERM)."
)
"""The output rule every verb states at the end of its ``--help``."""


def json_ready(value: object) -> object:
    """``value`` ready for ``json.dumps``: numpy scalars unwrapped, NaN and NA as ``None``."""
    import math

    from workbench.errors import plain

    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_table_outputs(
    out: str, side: str | None, side_flag: str, inputs: dict[str, str], overwrite: bool
) -> None:
    """Check a verb's ``--out`` table and its optional JSON side output before any work.

    Parameters
    ----------
    out : str
        The ``--out`` table (.csv, .csv.gz or .parquet).
    side : str or None
        The JSON side output (``--params-out``, ``--summary-out``), if any.
    side_flag : str
        How the side output's option is spelled, for messages.
    inputs : dict
        Option -> input path: no output may be one, nor lie inside one.
    overwrite : bool
        Whether ``--overwrite`` was given.

    Raises
    ------
    WorkbenchError
        An output breaks the output rules (:mod:`workbench._io`) or the side output does not end
        in ``.json``.
    """
    from workbench._io import check_not_input, check_output_file, table_format
    from workbench.errors import WorkbenchError

    table_format(out)
    check_not_input(out, inputs)
    check_output_file(out, overwrite=overwrite, flag="--overwrite")
    if side:
        if not side.lower().endswith(".json"):
            raise WorkbenchError(f"{side}: {side_flag} must end in .json")
        check_not_input(side, {**inputs, "--out": out})
        check_output_file(side, overwrite=overwrite, flag="--overwrite")
