"""Benchmark: ``workbench import`` of a 10M-row ESP events export, rows/s and peak memory.

Writes a Klaviyo-style metric-events CSV (address, campaign name, metric name, timestamp with an
offset; 1M subscribers, 200 campaigns; addresses on example.com only) with DuckDB, then runs
``workbench import --preset generic`` on it in a child process, as a user would, and prints the
wall time, rows per second and the peak resident memory of the child's process tree (Spark's
JVM included). The target is 10M rows within 4 GB. The import's own DuckDB memory limit is the
default (3GB). It imports once per engine: DuckDB, then (when PySpark and Java are there)
``--engine spark``, local Spark on this machine's cores for passes 2-4, and prints the ratio of
their times.

Usage: python benchmarks/bench_import.py [--rows 10000000] [--engines duckdb spark] [--keep]
The export goes to datasets/generated/bench-import/ (removed afterwards unless --keep).
"""

from __future__ import annotations

import argparse
import os
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


def run_import(mapping: Path, out: Path, engine: str) -> tuple[float, float, str]:
    """One ``workbench import`` in a child process: wall seconds, peak GiB (the summed resident
    memory of its process tree, Spark's JVM included, sampled every 0.1 s), its output."""
    import psutil
    from bench_engine import TreeMonitor

    env = dict(os.environ, WORKBENCH_SALT="benchmark-salt-not-secret")
    exe = Path(sys.executable).with_name("workbench")
    cmd = [str(exe), "import", "--preset", "generic", "--map", str(mapping), "--out", str(out)]
    cmd += ["--engine", engine]
    t0 = time.perf_counter()
    proc = psutil.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )  # fmt: skip
    monitor = TreeMonitor(proc)
    monitor.run()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"import on {engine} failed ({proc.returncode}): {stderr.strip()[-2000:]}")
    return wall, monitor.total_peak / 2**30, stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--engines", nargs="+", choices=["duckdb", "spark"])
    ap.add_argument("--keep", action="store_true", help="keep the export and the worlds")
    args = ap.parse_args()
    if args.engines is None:
        from bench_engine import _spark_available

        why = _spark_available()
        args.engines = ["duckdb"] if why else ["duckdb", "spark"]
        if why:
            print(f"engine spark skipped: {why}")
    root = Path("datasets/generated/bench-import")
    shutil.rmtree(root, ignore_errors=True)
    t0 = time.perf_counter()
    mapping = write_export(root / "export", args.rows)
    size = (root / "export" / "events.csv").stat().st_size
    print(f"export: {args.rows:,} rows, {size / 2**20:,.0f} MiB CSV, written in "
          f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    walls = {}
    for engine in args.engines:
        world = root / f"world-{engine}"
        wall, peak_gib, output = run_import(mapping, world, engine)
        walls[engine] = wall
        print(output)
        world_mib = sum(f.stat().st_size for f in world.rglob("*") if f.is_file()) / 2**20
        print(
            f"import ({engine}): {wall:.1f} s wall, {args.rows / wall:,.0f} source rows/s, "
            f"peak memory {peak_gib:.2f} GiB (target: 10M rows within 4 GB), "
            f"world {world_mib:,.0f} MiB on disk, {os.cpu_count()} cores"
        )
    if len(walls) == 2:
        print(f"spark / duckdb: {walls['spark'] / walls['duckdb']:.1f} x the time")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
