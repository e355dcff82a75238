"""Run the registered notebooks with papermill into a new folder reports/<run-id>/.

The run folder holds the executed notebooks, report.html (one page, no code, for stakeholders)
and manifest.json (parameters, seed, package versions, git revision, input hashes, timings,
headline numbers). The world is generated from --scenario/--subscribers/--seed
(cached in datasets/generated/) unless --world names an existing folder. A failing notebook stops
the run: its executed copy keeps the error, the manifest says "failed", and the exit status is 1.
The manifest is updated as each notebook starts and ends (its status is "running" meanwhile).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.commands._args import positive_int, seed

HELP = "run the notebooks into reports/<run-id>/ (executed notebooks, report.html, manifest)"
ORDER = 90
OUTPUTS = (
    "Output: every run gets a new folder inside --out, so an earlier report is never replaced "
    "(--out must be a folder, and not inside --world). Ctrl-C or SIGTERM stops the running "
    "notebook's cell and keeps what ran: its manifest says 'interrupted' and gives each "
    "notebook's state (exit status 130 or 143)."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench report``."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help='TOML file: scenario, n_subscribers, seed, [notebooks."NAME"] '
        "parameter overrides (the options below override it)",
    )
    parser.add_argument("--scenario", metavar="NAME", help="scenario of the world (default: tiny)")
    parser.add_argument(
        "--subscribers",
        type=positive_int,
        metavar="N",
        help="subscribers to generate, >= 1 (default: the scenario's)",
    )
    parser.add_argument(
        "--seed", type=seed, metavar="S", help="seed, 0 to 2**32-1 (default: 20261126)"
    )
    parser.add_argument(
        "--world",
        type=Path,
        metavar="DIR",
        help="use this existing world folder instead of generating one",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder that receives the new run folder (default: reports/)",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these registered notebooks (file stems)"
    )
    parser.add_argument("--kernel", metavar="NAME", help="Jupyter kernel (default: python3)")
    parser.add_argument(
        "--registry",
        type=Path,
        metavar="FILE",
        help="notebook registry (default: notebooks/registry.toml)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the registered notebooks and their parameters; run nothing",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress output"
    )


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
    changes = {
        k: v
        for k, v in (
            ("scenario", args.scenario),
            ("n_subscribers", args.subscribers),
            ("seed", args.seed),
        )
        if v is not None
    }
    if args.out is not None:
        if args.out.exists() and not args.out.is_dir():
            raise WorkbenchError(f"{args.out}: is a file; --out is the folder that receives runs")
        check_not_input(args.out, {"--world": args.world})
    config = dataclasses.replace(config, **changes)
    result = run_report(
        config,
        registry=args.registry,
        out=args.out,
        only=args.only,
        kernel=args.kernel,
        world=args.world,
        progress=args.progress,
    )
    if not result.ok:
        print(f"workbench report: error: {result.reason}", file=sys.stderr)
        return 1
    print(result.run_dir)
    return 0
