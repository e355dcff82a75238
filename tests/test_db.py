"""The single door into DuckDB: every connection is opened by :mod:`workbench.db`."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import workbench
from workbench import db
from workbench.errors import DataError, WorkbenchError

PACKAGE = Path(workbench.__file__).parent
#: Modules still opening DuckDB themselves, with how many times: to be pointed at
#: :func:`workbench.db.connect` (or :func:`workbench.db.world_connection`) and removed from here.
EXCEPTIONS: dict[str, int] = {}
_CONNECT = re.compile(r"\bduckdb\s*\.\s*connect\b|\bfrom\s+duckdb\s+import\b[^\n]*\bconnect\b")


def test_duckdb_is_connected_only_in_db():
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        n = len(_CONNECT.findall(path.read_text(encoding="utf-8")))
        if n:
            found[path.relative_to(PACKAGE).as_posix()] = n
    assert found.pop("db.py") == 1
    assert found == EXCEPTIONS, "connect through workbench.db (or update EXCEPTIONS)"


def test_connect_is_utc():
    con = db.connect()
    try:
        assert con.execute("SELECT current_setting('TimeZone')").fetchone()[0] == "UTC"
    finally:
        con.close()


def test_session_closes_and_reports_a_missing_world(tmp_path):
    from workbench.paths import sample_world

    with db.session(sample_world()) as con:
        n = con.execute("SELECT count(*) FROM subscribers").fetchone()[0]
        assert n > 0
    with pytest.raises(duckdb.ConnectionException, match="closed"):
        con.execute("SELECT 1")
    with pytest.raises(WorkbenchError, match="no such world folder"):
        with db.session(tmp_path / "nowhere"):
            pass


def test_world_connection_gives_empty_views_for_absent_tables(tmp_path):
    from test_schema import small_tables, write_world

    tables = small_tables()
    del tables["touchpoints"]
    root = write_world(tmp_path / "w", tables)
    with db.session(root, tables=(*db.EVENT_TABLES, "assignments")) as con:
        assert con.execute("SELECT count(*) FROM touchpoints").fetchone()[0] == 0
        cols = [r[0] for r in con.execute("DESCRIBE touchpoints").fetchall()]
        assert "subscriber_id" in cols and "channel" in cols
    (root / "subscribers.parquet").unlink()
    with pytest.raises(DataError, match="table not found"):
        db.world_connection(root)


def test_utc_timestamp():
    assert db.utc_timestamp("2026-01-02") == pd.Timestamp("2026-01-02", tz="UTC")
    ts = pd.Timestamp("2026-01-02 01:00", tz="Europe/Paris")
    assert db.utc_timestamp(ts) == pd.Timestamp("2026-01-02 00:00", tz="UTC")
    assert db.epoch_us(pd.Timestamp("1970-01-01 00:00:01", tz="UTC")) == 1_000_000
    with pytest.raises(WorkbenchError, match="cannot read"):
        db.utc_timestamp("not a date")
