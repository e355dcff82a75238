"""Benchmark: ``workbench import`` of a 10M-row ESP events export, rows/s and peak memory.

Writes a Klaviyo-style metric-events CSV (address, campaign name, metric name, timestamp with an
offset; 1M subscribers, 200 campaigns; addresses on example.com only) with DuckDB, then runs
``workbench import --preset generic`` on it in a child process, as a user would, and prints the
wall time, rows per second and the child's peak resident memory (``ru_maxrss``). The target is
10M rows within 4 GB. The import's own DuckDB memory limit is the default (3GB).

Usage: python benchmarks/bench_import.py [--rows 10000000] [--keep]
The export goes to datasets/generated/bench-import/ (removed afterwards unless --keep).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

MAP = """\
[email_events]
source = "events.csv"
drop_unmapped = ["event_type"]
[email_events.columns]
subscriber_id = "Email"
campaign_id = "Campaign Name"
event_type = "Metric Name"
ts = "Timestamp"
[email_events.values.event_type]
"Received Email" = "delivered"
"Opened Email" = "opened"
"Clicked Email" = "clicked"
"Unsubscribed" = "unsubscribed"
"Bounced Email" = "bounced"
"Marked Email as Spam" = "complained"
"""


def write_export(folder: Path, rows: int) -> Path:
    """The events CSV and its mapping; returns the mapping file."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "events.csv"
    con = duckdb.connect()
    con.execute(
        f"""COPY (
          SELECT 'user' || (hash(i) % 1000000) || '@example.com' AS "Email",
                 'Campaign ' || (i // 50000) AS "Campaign Name",
                 CASE WHEN i % 10 < 6 THEN 'Received Email' WHEN i % 10 < 8 THEN 'Opened Email'
                      WHEN i % 10 = 8 THEN 'Clicked Email' WHEN i % 1000 = 9 THEN 'Unsubscribed'
                      WHEN i % 1000 = 19 THEN 'Bounced Email' ELSE 'Viewed Product' END
                   AS "Metric Name",
                 strftime(TIMESTAMP '2026-01-01' + INTERVAL (i // 50000) DAY
                          + INTERVAL (i % 50000) SECOND, '%Y-%m-%dT%H:%M:%S+00:00') AS "Timestamp"
          FROM range({rows}) t(i)
        ) TO '{csv}' (HEADER, DELIMITER ',')"""
    )
    con.close()
    (folder / "map.toml").write_text(MAP)
    return folder / "map.toml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the export and the world")
    args = ap.parse_args()
    root = Path("datasets/generated/bench-import")
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    mapping = write_export(root / "export", args.rows)
    size = (root / "export" / "events.csv").stat().st_size
    print(f"export: {args.rows:,} rows, {size / 2**20:,.0f} MiB CSV, written in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    env = dict(os.environ, WORKBENCH_SALT="benchmark-salt-not-secret")
    exe = Path(sys.executable).with_name("workbench")
    cmd = [str(exe), "import", "--preset", "generic", "--map", str(mapping)]
    cmd += ["--out", str(root / "world")]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    peak_gib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    if done.returncode != 0:
        sys.exit(f"import failed ({done.returncode}): {done.stderr.strip()}")
    print(done.stdout.strip())
    world_mib = sum(f.stat().st_size for f in (root / "world").rglob("*") if f.is_file()) / 2**20
    print(
        f"import: {wall:.1f} s wall, {args.rows / wall:,.0f} source rows/s, "
        f"peak memory {peak_gib:.2f} GiB (target: 10M rows within 4 GB), "
        f"world {world_mib:,.0f} MiB on disk, {os.cpu_count()} cores"
    )
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
