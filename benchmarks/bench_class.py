"""Benchmark: a class through the teaching kit, timed as the lesson plan needs it.

Makes a class of ``--students`` (default 3) for every registered notebook with ``workbench class
make`` (its solutions are executed one at a time, ``--jobs 1``: each notebook's seconds are then
what a student waits for *Run All* on a 2-core laptop), hands the solutions back and grades them
with ``workbench class grade`` (two notebooks side by side). Prints the seconds per notebook
(median and range over students), the wall time of making and grading, and the estimate for a
class of 30 from the measured per-student time.

Usage: python benchmarks/bench_class.py [--students 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workbench.teaching.classroom import make_class


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="keep the class folder here")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-class-"))
    try:
        roster = work / "roster.csv"
        ids = [f"bench{i:02d}" for i in range(1, args.students + 1)]
        roster.write_text("student_id\n" + "\n".join(ids) + "\n")
        for sid in ids:  # worlds first: their generation is not the notebooks' time
            from workbench.teaching import student_world

            student_world(sid).path()
        t0 = time.perf_counter()
        result = make_class(roster, work / "CLASS", jobs=1)
        make_s = time.perf_counter() - t0
        by_nb: dict[str, list[float]] = {}
        for key, s in result.seconds.items():
            by_nb.setdefault(key.split(" ", 1)[1], []).append(s)
        print(f"load average {os.getloadavg()[0]:.2f}; {args.students} students, one notebook "
              "at a time (what a student waits for Run All):")  # fmt: skip
        total = 0.0
        for nb, secs in by_nb.items():
            med = statistics.median(secs)
            total += med
            print(f"  {nb:28s} median {med:6.1f} s  (range {min(secs):.1f}-{max(secs):.1f} s)")
        print(f"  all notebooks, one student   {total:6.1f} s")
        print(f"class make ({args.students} students, --jobs 1): {make_s:.1f} s")
        subs = work / "submissions"
        shutil.copytree(work / "CLASS" / "solutions", subs)
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "workbench.cli", "class", "grade", "--class",
             str(work / "CLASS"), "--submissions", str(subs), "--out", str(work / "grades.csv"),
             "--jobs", "2", "--quiet"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        grade_s = time.perf_counter() - t0
        per_student = grade_s / args.students
        print(f"class grade ({args.students} students, --jobs 2): {grade_s:.1f} s, "
              f"{per_student:.1f} s per student; a class of 30: about "
              f"{30 * per_student / 60:.0f} min to grade, as long again to make")  # fmt: skip
        if args.keep:
            shutil.copytree(work, args.keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
