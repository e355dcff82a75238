"""Import an ESP or shop export into a world that every notebook and verb reads.

Presets read the exports analysts have: ``mailchimp`` (audience export: subscribed, unsubscribed
and cleaned members; campaign email activity), ``klaviyo`` (profiles; metric events),
``shopify`` (orders export). ``generic`` reads any CSV, TSV or Parquet export through a TOML
mapping file (``--map``). Addresses never enter the world: an id column holding addresses is
replaced by a salted hash (salt from ``--salt-file`` or ``$WORKBENCH_SALT``, never written
anywhere); the same salt gives the same ids on a re-import.

With ``--engine spark`` (or a Spark URL) the files are still read by DuckDB, here (it names the
source lines of a bad value); typing, ids, the contract's checks and writing run on Spark, and the
world's tables are folders of Parquet parts with the rows and values of a DuckDB import.

Example: ``workbench import --preset generic --map map.toml --out datasets/my-shop``.
"""

from __future__ import annotations

import argparse
import sys

from workbench.commands._args import (
    OUTPUT_RULE,
    OVERWRITE_HELP,
    add_options,
    engine_option,
    memory_size,
)

HELP = "import an ESP or shop export (Mailchimp, Klaviyo, Shopify, or mapped) into a world"
VERB = "import"
ORDER = 5
OUTPUTS = (
    "Output: --out is a world folder, created only once complete (nothing is left behind on "
    "a bad value, Ctrl-C or SIGTERM). " + OUTPUT_RULE.split(": ", 1)[1]
)
PRESETS = ("mailchimp", "klaviyo", "shopify", "generic")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench import``."""
    parser.add_argument("--preset", required=True, choices=PRESETS, help="what the export is")
    parser.add_argument(
        "--map",
        metavar="MAP.toml",
        help="mapping file (generic: required; a preset: extra tables, e.g. Shopify orders)",
    )
    parser.add_argument(
        "--input",
        nargs="+",
        metavar="PATH",
        help="the export's files or folder (presets)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="world folder to create")
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    parser.add_argument(
        "--salt-file",
        metavar="FILE",
        help="file whose first line is the secret salt of address hashes (else $WORKBENCH_SALT)",
    )
    parser.add_argument(
        "--memory-limit",
        default="3GB",
        type=memory_size,
        metavar="SIZE",
        help="DuckDB memory limit; larger work spills to disk (3GB)",
    )
    add_options(
        parser, engine_option("typing, ids, checks and writing (after DuckDB reads the files)")
    )


def run(args: argparse.Namespace) -> int:
    """Import and print what was written, left out and assumed."""
    from pathlib import Path

    from workbench._io import check_not_input, check_output_dir
    from workbench.errors import WorkbenchError
    from workbench.importers import import_world, load_mapping, read_salt
    from workbench.importers.presets import preset_map

    if args.preset == "generic":
        if args.map is None:
            raise WorkbenchError(
                "--preset generic needs --map MAP.toml (see workbench import --help)"
            )
        if args.input:
            raise WorkbenchError("--input is for presets; a generic mapping names its sources")
    elif not args.input:
        raise WorkbenchError(f"--preset {args.preset} needs --input (the export's files or folder)")
    inputs = {"--map": args.map, "--salt-file": args.salt_file}
    inputs |= {f"--input {p}": p for p in args.input or []}
    check_not_input(args.out, inputs, replaces_folder=True)
    check_output_dir(
        args.out, overwrite=args.overwrite, marker="world.json", kind="world", flag="--overwrite"
    )
    salt = read_salt(args.salt_file)
    if args.preset == "generic":
        imap = load_mapping(args.map)
    else:
        imap = preset_map(args.preset, [Path(p) for p in args.input], extra=args.map)
    result = import_world(
        imap,
        args.out,
        salt=salt,
        overwrite=args.overwrite,
        memory_limit=args.memory_limit,
        engine=args.engine or "duckdb",
    )
    print(f"{result.path}: " + ", ".join(f"{k} {v:,}" for k, v in result.rows.items()))
    for table, reasons in result.dropped.items():
        for reason, n in reasons.items():
            print(f"  left out {n:,} {table} rows: {reason}", file=sys.stderr)
    for note in result.notes:
        print(f"  {note}", file=sys.stderr)
    return 0
