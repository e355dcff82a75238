"""Credit conversions and revenue to channels from a paths file (ChannelAttribution layout).

The paths file (CSV or Parquet) has the columns ``path`` ("email > sms > direct"),
``total_conversions`` and optionally ``total_conversion_value`` and ``total_null``. The output
has one row per channel (per segment with ``--segment-col``): ``channel, conversions, value,
share, value_share``; it is written as CSV, gzipped CSV or Parquet, by its extension (``.csv``,
``.csv.gz``, ``.parquet``).
"""

from __future__ import annotations

import argparse

from workbench.attribution.options import DEFAULTS, MAX_MARKOV_ORDER, MODELS, SHAPLEY_METHODS
from workbench.commands._args import (
    OUTPUT_RULE,
    add_options,
    int_in,
    non_empty,
    positive_float,
    seed,
    share,
    table_output,
)

HELP = "multi-touch attribution of a paths file (rule-based, Markov, Shapley)"
ORDER = 40
OUTPUTS = OUTPUT_RULE


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench attribute``."""
    parser.add_argument("--paths", required=True, metavar="FILE", help="paths file (CSV/Parquet)")
    parser.add_argument("--model", required=True, choices=MODELS, help="attribution model")
    add_options(parser, table_output())
    parser.add_argument(
        "--order",
        type=int_in(1, MAX_MARKOV_ORDER),
        default=DEFAULTS.order,
        metavar="K",
        help=f"Markov order, 1-{MAX_MARKOV_ORDER} (default {DEFAULTS.order})",
    )
    parser.add_argument(
        "--half-life",
        type=positive_float,
        default=1.0,
        metavar="H",
        help="time-decay half-life in touches, > 0 (a paths file has no times; default 1)",
    )
    parser.add_argument(
        "--position",
        type=share,
        nargs=2,
        default=(DEFAULTS.first, DEFAULTS.last),
        metavar=("FIRST", "LAST"),
        help="position-based shares of the first and last touch, from 0 to 1 with a sum of at "
        f"most 1 (default {DEFAULTS.first:g} {DEFAULTS.last:g})",
    )
    parser.add_argument("--segment-col", metavar="C", help="attribute within each value of C")
    parser.add_argument(
        "--sep", type=non_empty, default=">", help="channel separator in paths (default '>')"
    )
    parser.add_argument(
        "--shapley-method",
        choices=SHAPLEY_METHODS,
        default=DEFAULTS.shapley_method,
        help="Shapley computation (default exact closed form)",
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=DEFAULTS.seed,
        metavar="S",
        help=f"seed of Shapley sampling ({DEFAULTS.seed})",
    )


def run(args: argparse.Namespace) -> int:
    """Read, attribute, write atomically; print a one-line summary."""
    from workbench._io import check_not_input, check_output_file, table_format, write_table
    from workbench.attribution import attribute, read_paths
    from workbench.errors import WorkbenchError

    first, last = args.position
    if first + last > 1:
        raise WorkbenchError(
            f"argument --position: FIRST + LAST must be at most 1, got {first:g} + {last:g}"
        )
    table_format(args.out)
    check_not_input(args.out, {"--paths": args.paths})
    check_output_file(args.out, overwrite=args.overwrite, flag="--overwrite")
    paths = read_paths(args.paths, sep=args.sep, segment_col=args.segment_col)
    result = attribute(
        paths,
        args.model,
        order=args.order,
        half_life=args.half_life,
        first=first,
        last=last,
        shapley_method=args.shapley_method,
        seed=args.seed,
        by=args.segment_col,
    )
    write_table(
        result, args.out, overwrite=args.overwrite, flag="--overwrite", float_format="%.10g"
    )
    print(
        f"{args.model}: {result['conversions'].sum():.10g} conversions credited to "
        f"{result['channel'].nunique()} channels -> {args.out}"
    )
    return 0
