"""Run the registered notebooks with papermill into a new folder reports/<run-id>/.

The run folder holds the executed notebooks, report.html (one page, no code, for stakeholders)
and manifest.json (parameters, seed, package versions, git revision, input hashes, timings,
headline numbers). The world is generated from --scenario/--subscribers/--seed
(cached in datasets/generated/) unless --world names an existing folder. Notebooks run two at a
time (--jobs). A failing notebook stops the run (no further notebook starts): its executed copy
keeps the error, the manifest says "failed", and the exit status is 1.
The manifest is updated as each notebook starts and ends (its status is "running" meanwhile).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.commands._args import Option, add_options, positive_int, seed

HELP = "run the notebooks into reports/<run-id>/ (executed notebooks, report.html, manifest)"
ORDER = 90
OUTPUTS = (
    "Output: every run gets a new folder inside --out, so an earlier report is never replaced "
    "(--out must be a folder, and not inside --world). Ctrl-C or SIGTERM stops the running "
    "notebook's cell and keeps what ran: its manifest says 'interrupted' and gives each "
    "notebook's state (exit status 130 or 143)."
)


OPTIONS: tuple[Option, ...] = (
    ("--config", dict(type=Path, metavar="FILE", help=(
        'TOML file: scenario, n_subscribers, seed, [notebooks."NAME"] parameter overrides '
        "(the options below override it)"))),
    ("--scenario", dict(metavar="NAME", help="scenario of the world (default: tiny)")),
    ("--subscribers", dict(type=positive_int, metavar="N",
                           help="subscribers to generate, >= 1 (default: the scenario's)")),
    ("--seed", dict(type=seed, metavar="S", help="seed, 0 to 2**32-1 (default: 20261126)")),
    ("--world", dict(type=Path, metavar="DIR",
                     help="use this existing world folder instead of generating one")),
    ("--out", dict(type=Path, metavar="DIR",
                   help="folder that receives the new run folder (default: reports/)")),
    ("--only", dict(nargs="+", metavar="NAME",
                    help="run only these registered notebooks (file stems)")),
    ("--kernel", dict(metavar="NAME", help="Jupyter kernel (default: python3)")),
    ("--registry", dict(type=Path, metavar="FILE",
                        help="notebook registry (default: notebooks/registry.toml)")),
    ("--list", dict(action="store_true",
                    help="list the registered notebooks and their parameters; run nothing")),
    ("--jobs", dict(type=positive_int, metavar="N", help=(
        "notebooks run side by side, each in its own kernel (default: 2, or 1 on one core)"))),
    ("--no-progress", dict(dest="progress", action="store_false", help="no progress output")),
)  # fmt: skip
"""The options of ``workbench report``: ``(flag, keywords of add_argument)``."""

CONFIG_OPTIONS = {"scenario": "scenario", "n_subscribers": "subscribers", "seed": "seed"}
"""Fields of :class:`~workbench.reports.ReportConfig` set by an option (field: option dest)."""

RUN_OPTIONS = ("registry", "out", "only", "kernel", "world", "progress", "jobs")
"""Options passed on to :func:`~workbench.reports.run_report` as keywords of the same name."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench report``."""
    add_options(parser, OPTIONS)


def _list(args: argparse.Namespace) -> int:
    from workbench.reports import load_registry, notebook_parameters

    entries = load_registry(args.registry)
    if not entries:
        print("no notebooks registered")
    for i, e in enumerate(entries, start=1):
        print(f"{i}. {e.name}: {e.title}\n   {e.path}")
        for name, p in notebook_parameters(e.path).items():
            default = e.parameters.get(name, p["default"])
            typ = p["inferred_type_name"] or "?"
            line = f"     {name}: {typ} (default {default})"
            print(line + (f"  {p['help']}" if p["help"] else ""))
    return 0


def run(args: argparse.Namespace) -> int:
    """Run the report; 0 on success, 1 when a notebook failed."""
    import dataclasses

    from workbench._io import check_not_input
    from workbench.errors import WorkbenchError
    from workbench.reports import ReportConfig, load_config, run_report

    if args.list:
        return _list(args)
    config = load_config(args.config) if args.config else ReportConfig()
    changes = {k: getattr(args, dest) for k, dest in CONFIG_OPTIONS.items()}
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise WorkbenchError(f"{args.out}: is a file; --out is the folder that receives runs")
        check_not_input(args.out, {"--world": args.world})
    config = dataclasses.replace(config, **{k: v for k, v in changes.items() if v is not None})
    result = run_report(config, **{k: getattr(args, k) for k in RUN_OPTIONS})
    if not result.ok:
        print(f"workbench report: error: {result.reason}", file=sys.stderr)
        return 1
    print(result.run_dir)
    return 0
