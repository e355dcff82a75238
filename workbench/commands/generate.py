"""Generate a synthetic world (subscribers, campaigns, ESP events, touches, orders, truth).

Example: ``workbench generate --scenario tiny --seed 1 --out datasets/generated/tiny-1``.
"""

from __future__ import annotations

import argparse

HELP = "generate a synthetic subscriber world with known ground truth"
ORDER = 10


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench generate``."""
    parser.add_argument(
        "--scenario",
        default="tiny",
        help="built-in scenario (tiny, default, large) or a scenario TOML file",
    )
    parser.add_argument(
        "--subscribers",
        type=int,
        default=None,
        metavar="N",
        help="number of subscribers (overrides the scenario)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", required=True, metavar="DIR", help="world folder to create")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing world")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes simulating chunks in parallel (default: auto)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Generate the world and print where it went."""
    import json

    from workbench.synth import generate_world

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
