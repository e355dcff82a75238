"""What the flow modules share: the world's tables through the DuckDB door, segments, the end.

A world is a loaded :class:`~workbench.schema.World` or its folder; both open through
:func:`workbench.db.session` (a folder's tables are checked against the contract on the way in,
Parquet read in place). Segments are given as everywhere in the package: a ``subscribers``
column or a mapping ``subscriber_id -> segment`` (subscribers it does not name are ``"(none)"``,
as in :mod:`workbench.attribution.incrementality`, whose resolver is reused).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from workbench.errors import WorkbenchError
from workbench.schema import World, load_world, present_tables, world_meta

if TYPE_CHECKING:
    import duckdb

#: What a ``segments`` argument may be.
Segments = str | Mapping[Any, Any] | pd.Series | None


def check_world(world: Any) -> World | Path:
    """``world`` as a loaded world or an existing folder."""
    if isinstance(world, World):
        return world
    if isinstance(world, str | Path):
        path = Path(world)
        if not path.is_dir():
            raise WorkbenchError(f"{path}: no such world folder")
        return path
    raise WorkbenchError(f"expected a world (a loaded World or its folder), got {type(world)}")


def has_table(world: World | Path, name: str) -> bool:
    """Whether the world holds table ``name`` (real exports may lack optional tables)."""
    if isinstance(world, World):
        return name in world
    return name in present_tables(world)


def meta_of(world: World | Path) -> dict[str, Any]:
    """``world.json`` as a method may see it (``{}`` for a folder of exports without one)."""
    return world.meta if isinstance(world, World) else world_meta(world)


def segment_series(world: World | Path, segments: Segments) -> pd.Series | None:
    """``subscriber_id -> segment`` (text) for every subscriber, or None without segments.

    Raises
    ------
    DataError
        When ``segments`` names a column ``subscribers`` lacks.
    """
    if segments is None:
        return None
    from workbench.attribution.incrementality import segment_map

    if not isinstance(segments, str | Mapping | pd.Series):
        raise WorkbenchError(
            "segments must be a subscribers column or a mapping subscriber_id -> segment, "
            f"got {type(segments).__name__}"
        )
    if isinstance(world, World):
        subs = world["subscribers"]
    else:
        subs = load_world(world, tables=["subscribers"])["subscribers"]
    return segment_map({"subscribers": subs}, segments).rename("segment")


@contextmanager
def session(
    world: World | Path, segments: pd.Series | None, tables: Sequence[str]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """:func:`workbench.db.session`: one view per table (empty when the world lacks it) and,
    with ``segments``, the table ``seg(subscriber_id, segment)``."""
    from workbench import db

    with db.session(world, segments, tables) as con:
        yield con


def columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns a view of the connection has (an export may lack an optional column)."""
    return {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}


def data_end(world: World | Path, con: duckdb.DuckDBPyConnection) -> pd.Timestamp:
    """End of the observed period: ``start + days`` of ``world.json``, else the last event.

    Raises
    ------
    WorkbenchError
        When the world holds no dated row at all.
    """
    meta = meta_of(world)
    if meta.get("start") and meta.get("days"):
        start = pd.Timestamp(str(meta["start"]))
        start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
        return start + pd.Timedelta(days=float(meta["days"]))
    last = con.execute(
        "SELECT greatest((SELECT max(ts) FROM email_events), (SELECT max(ts) FROM orders))"
    ).fetchone()
    if last is None or last[0] is None:
        raise WorkbenchError("the world has no dated email event or order: no period to observe")
    return pd.Timestamp(last[0]).tz_convert("UTC") + pd.Timedelta(microseconds=1)


def seg_join(alias: str, with_segments: bool) -> tuple[str, str]:
    """SQL ``(select expression, join clause)`` giving each row of ``alias`` its segment."""
    if not with_segments:
        return "NULL::VARCHAR AS segment", ""
    return (
        "coalesce(sg.segment, '(none)') AS segment",
        f"LEFT JOIN seg sg ON sg.subscriber_id = {alias}.subscriber_id",
    )
