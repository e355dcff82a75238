"""Benchmark: what the data contract's checks add to reading a world through DuckDB.

``workbench segment`` computes features over DuckDB views of the world's Parquet files
(:func:`workbench.db.world_connection`); every table is checked against the contract on
the way in (:func:`workbench.db.open_tables`: SQL generated from ``schema.TABLES`` and
``schema.RULES``, one scan per table). This prints, for the same world and in the same run:

1. the checks alone, per table (rows, seconds);
2. features computed on unchecked views (plain ``read_parquet``, the way it was done before the
   checks existed) and on checked views (:func:`workbench.features.compute_features`),
   alternating, ``--repeat`` times each; the added cost is the difference of the medians.

Wall time and CPU time (all threads of the process) are both printed: on a shared machine the
wall time swings with the other jobs, CPU time much less.

Usage: python benchmarks/bench_validation.py [--scenario large] [--n N] [--seed 0] [--repeat 3]
The world is generated into datasets/generated/ if missing (cached, as bench_segment.py does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="large")
    ap.add_argument("--n", type=int, default=None, help="subscribers (default: the scenario's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from workbench.db import EVENT_TABLES, _closure, _open_file, connect, table_source
    from workbench.features import compute_features, default_as_of, query_features
    from workbench.schema import TABLE_ORDER
    from workbench.synth.cache import cached_world
    from workbench.validation import validate

    t = time.perf_counter()
    out = cached_world(args.scenario, args.n, args.seed, progress=True)
    print(f"world ready in {time.perf_counter() - t:.0f} s: {out}")
    print(f"load average at start: {os.getloadavg()[0]:.2f}")

    # 1. the checks alone, table by table
    con = connect()
    opened: dict = {}
    total = cpu_total = 0.0
    for name in _closure(out, EVENT_TABLES):
        t0, c0 = time.perf_counter(), time.process_time()
        rel = _open_file(con, name, table_source(out, name))
        validate(con, rel, opened)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        total += dt
        cpu_total += dc
        opened[name] = rel
        rows = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        print(f"  check {name:<13} {rows:>12,} rows  {dt:6.2f} s wall  {dc:6.2f} s CPU")
    names = ", ".join(n for n in TABLE_ORDER if n in opened)
    print(f"checks of {len(opened)} tables ({names})  {total:6.2f} s wall  {cpu_total:6.2f} s CPU")
    con.close()

    # 2. features with and without the checks, alternating
    def unchecked() -> tuple[float, float]:
        c = connect()
        for name in EVENT_TABLES:
            src = table_source(out, name)
            glob = str(src / "*.parquet") if src.is_dir() else str(src)
            c.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{glob}')")
        t0, c0 = time.perf_counter(), time.process_time()
        query_features(c, default_as_of(c))
        c.close()
        return time.perf_counter() - t0, time.process_time() - c0

    def checked() -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        compute_features(out)
        return time.perf_counter() - t0, time.process_time() - c0

    runs: dict[str, list[tuple[float, float]]] = {"unchecked": [], "checked": []}
    for _ in range(args.repeat):
        runs["unchecked"].append(unchecked())
        runs["checked"].append(checked())
    med = {}
    for label, rs in runs.items():
        wall, cpu = statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs)
        med[label] = (wall, cpu)
        each = ", ".join(f"{w:.1f}/{c:.1f}" for w, c in rs)
        print(f"features, {label:<9} views: median {wall:6.2f} s wall {cpu:6.2f} s CPU"
              f"  (wall/CPU per run: {each})")  # fmt: skip
    (uw, uc), (cw, cc) = med["unchecked"], med["checked"]
    print(f"added by the checks: {cw - uw:+.2f} s wall ({100 * (cw - uw) / uw:+.0f}%), "
          f"{cc - uc:+.2f} s CPU ({100 * (cc - uc) / uc:+.0f}%)")  # fmt: skip
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
