"""Benchmark world generation: wall time, events per second and peak memory.

Usage::

    python benchmarks/bench_synth.py                      # 1,000,000 and 3,000,000 subscribers
    python benchmarks/bench_synth.py 20000 50000          # any sizes (scenario "large", 90 days)
    python benchmarks/bench_synth.py --workers 1 200000

Each size runs in a child process. Peak RSS is the largest *sum* over the child and its chunk
workers, sampled every 0.1 s with psutil; the largest single process (``resource.getrusage``) is
printed beside it. Prints a table; no assertions. Targets for 1M subscribers: <= 60 s wall and
<= 4 GB peak RSS; memory must stay flat as the base grows (compare 1M and 3M).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

CHILD = """
import resource, sys, time, json
from workbench.synth import generate_world
n, out, workers = int(sys.argv[1]), sys.argv[2], sys.argv[3]
w = None if workers == "auto" else int(workers)
t = time.perf_counter()
generate_world("large", n_subscribers=n, seed=0, out=out, workers=w)
wall = time.perf_counter() - t
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"wall": wall, "rss_kb": max(own, kids)}))
"""


def _tree_rss(proc: psutil.Process) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    total = 0
    try:
        for p in [proc, *proc.children(recursive=True)]:
            total += p.memory_info().rss
    except psutil.Error:
        pass
    return total


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark for each size given on the command line and print a table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 3_000_000])
    ap.add_argument("--workers", default="auto", help="chunk worker processes (default auto)")
    args = ap.parse_args(argv)
    print(f"{'subscribers':>12} {'wall s':>8} {'events':>12} {'events/s':>12} {'peak RSS GB':>12}")
    for n in args.sizes:
        with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
            out = Path(tmp) / "world"
            cmd = [sys.executable, "-c", CHILD, str(n), str(out), args.workers]
            proc = psutil.Popen(cmd, stdout=subprocess.PIPE, text=True)
            peak = 0
            while proc.poll() is None:
                peak = max(peak, _tree_rss(proc))
                time.sleep(0.1)
            stdout = proc.stdout.read() if proc.stdout else ""
            if proc.returncode:
                raise SystemExit(f"generation of {n} subscribers failed")
            rep = json.loads(stdout.strip().splitlines()[-1])
            rows = json.loads((out / "world.json").read_text())["rows"]
            events = rows["email_events"] + rows["touchpoints"]
            print(
                f"{n:>12,} {rep['wall']:>8.1f} {events:>12,} {events / rep['wall']:>12,.0f} "
                f"{peak / 2**30:>12.2f}   (largest process {rep['rss_kb'] / 2**20:.2f} GB)",
                flush=True,
            )


if __name__ == "__main__":
    main()
