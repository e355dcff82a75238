"""Generate a synthetic world (subscribers, campaigns, ESP events, touches, orders, truth).

Example: ``workbench generate --scenario tiny --seed 1 --out datasets/generated/tiny-1``.
"""

from __future__ import annotations

import argparse

from workbench.commands._args import positive_int, seed

HELP = "generate a synthetic subscriber world with known ground truth"
ORDER = 10
OUTPUTS = (
    "Output: --out is a world folder, created only once complete (nothing is left behind on "
    "error, Ctrl-C or SIGTERM). An existing non-empty folder is replaced only with --overwrite, "
    "and only if it is a world (holds world.json): any other folder keeps its files."
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench generate``."""
    parser.add_argument(
        "--scenario",
        default="tiny",
        help="built-in scenario (tiny, default, large) or a scenario TOML file",
    )
    parser.add_argument(
        "--subscribers",
        type=positive_int,
        default=None,
        metavar="N",
        help="number of subscribers, >= 1 (overrides the scenario)",
    )
    parser.add_argument("--seed", type=seed, default=0, metavar="S", help="0 to 2**32-1 (0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="world folder to create")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing world (a folder with world.json)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        metavar="N",
        help="processes simulating chunks in parallel, >= 1 (default: auto)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate the world and print where it went."""
    import json
    from pathlib import Path

    from workbench._io import check_not_input, check_output_dir
    from workbench.synth import generate_world

    scenario_file = Path(args.scenario) if Path(args.scenario).suffix == ".toml" else None
    check_not_input(args.out, {"--scenario": scenario_file}, replaces_folder=True)
    check_output_dir(
        args.out, overwrite=args.overwrite, marker="world.json", kind="world", flag="--overwrite"
    )
    out = generate_world(
        args.scenario,
        n_subscribers=args.subscribers,
        seed=args.seed,
        out=args.out,
        overwrite=args.overwrite,
        progress=not args.quiet,
        workers=args.workers,
    )
    rows = json.loads((out / "world.json").read_text())["rows"]
    print(f"{out}: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
    return 0
