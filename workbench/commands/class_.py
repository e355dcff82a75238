"""Teach with the workbench: hand out the notebooks to a class, each student in their own world,
and grade what comes back.

`workbench class make` reads a roster (a CSV with a student_id column and optionally name) and
writes CLASS/handouts/<student_id>/ (the notebooks with the student's world, no solutions),
CLASS/solutions/<student_id>/ (the same with the solutions) and CLASS/answers.csv (the key,
computed by running each student's solutions on their world). `workbench class grade` runs every
returned notebook in a clean kernel, with a time limit, and scores the answers it recorded
against that student's key: grades.csv and a summary figure beside it (grades.png).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.commands._args import (
    OUTPUT_RULE,
    Option,
    add_options,
    int_in,
    positive_float,
    positive_int,
    seed,
)

VERB = "class"
HELP = "hand out the notebooks to a class (a world per student) and grade what comes back"
ORDER = 95
OUTPUTS = OUTPUT_RULE

COMMON: tuple[Option, ...] = (
    ("--jobs", dict(type=positive_int, metavar="N",
                    help="notebooks run side by side, each in its own kernel (default: cores, "
                         "at most 4)")),
    ("--kernel", dict(default="python3", metavar="NAME", help="Jupyter kernel (default: python3)")),
    ("--overwrite", dict(action="store_true", help="replace an existing output")),
    ("--quiet", dict(dest="progress", action="store_false", help="no progress on stderr")),
)  # fmt: skip

MAKE: tuple[Option, ...] = (
    ("--roster", dict(required=True, type=Path, metavar="CSV",
                      help="the class: a student_id column, optionally name")),
    ("--out", dict(required=True, type=Path, metavar="CLASS", help="class folder to create")),
    ("--notebooks", dict(metavar="LIST",
                         help="notebooks to hand out, by number or name: 01,02 (default: all)")),
    ("--scenario", dict(default="tiny", metavar="NAME",
                        help="scenario of the students' worlds (default: tiny)")),
    ("--subscribers", dict(type=int_in(0), default=0, metavar="N",
                           help="subscribers per world (default 0: the scenario's)")),
    ("--seed", dict(type=seed, default=None, metavar="S",
                    help="class seed: a new one gives everyone new worlds (default: 20261126)")),
    ("--timeout", dict(type=positive_float, default=600.0, metavar="SECONDS",
                       help="seconds each solution notebook may run (default: 600)")),
)  # fmt: skip

GRADE: tuple[Option, ...] = (
    ("--class", dict(dest="class_dir", required=True, type=Path, metavar="CLASS",
                     help="class folder made by `workbench class make`")),
    ("--submissions", dict(required=True, type=Path, metavar="DIR",
                           help="one folder per student (DIR/<student_id>/) with the notebooks")),
    ("--out", dict(required=True, type=Path, metavar="FILE",
                   help="grades CSV; the summary figure is written beside it (.png)")),
    ("--timeout", dict(type=positive_float, default=None, metavar="SECONDS",
                       help="seconds each notebook may run (default: the class's, 600)")),
)  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sub-commands ``make`` and ``grade``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    make = sub.add_parser("make", help="write handouts, solutions and the key for a roster",
                          description=__doc__, epilog=OUTPUT_RULE)  # fmt: skip
    add_options(make, MAKE + COMMON)
    make.set_defaults(_parser=make)
    grade = sub.add_parser("grade", help="run the returned notebooks and grade their answers",
                           description=__doc__, epilog=OUTPUT_RULE)  # fmt: skip
    add_options(grade, GRADE + COMMON)
    grade.set_defaults(_parser=grade)


def run(args: argparse.Namespace) -> int:
    """Make a class or grade it; 0 on success."""
    from workbench.teaching import classroom
    from workbench.teaching.worlds import DEFAULT_CLASS_SEED

    if args.action == "make":
        notebooks = [n for n in (args.notebooks or "").split(",") if n.strip()] or None
        result = classroom.make_class(
            args.roster, args.out, notebooks=notebooks, scenario=args.scenario,
            n_subscribers=args.subscribers,
            class_seed=DEFAULT_CLASS_SEED if args.seed is None else args.seed, jobs=args.jobs,
            timeout=args.timeout, kernel=args.kernel, overwrite=args.overwrite,
            progress=args.progress, flag="--overwrite",
        )  # fmt: skip
        n = result.key["student_id"].nunique()
        print(f"{result.path}: handouts and solutions for {n} students, "
              f"{len(result.key)} answers in answers.csv")  # fmt: skip
        return 0
    grades = classroom.grade_class(
        args.class_dir, args.submissions, args.out, jobs=args.jobs, timeout=args.timeout,
        kernel=args.kernel, overwrite=args.overwrite, progress=args.progress,
        flag="--overwrite",
    )  # fmt: skip
    totals = grades.groupby("student_id", sort=False)[["points", "max_points"]].sum()
    for sid, row in totals.iterrows():
        print(f"{sid}: {row['points']:g} of {row['max_points']:g} points", file=sys.stdout)
    print(f"{args.out} and {Path(args.out).with_suffix('.png')}")
    return 0
