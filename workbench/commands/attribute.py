"""Credit conversions and revenue to channels from a paths file (ChannelAttribution layout).

The paths file (CSV or Parquet) has the columns ``path`` ("email > sms > direct"),
``total_conversions`` and optionally ``total_conversion_value`` and ``total_null``. The output
has one row per channel (per segment with ``--segment-col``): ``channel, conversions, value,
share, value_share``; it is written as CSV, or Parquet when it ends in ``.parquet``.
"""

from __future__ import annotations

import argparse

HELP = "multi-touch attribution of a paths file (rule-based, Markov, Shapley)"
ORDER = 40
MODELS = (
    "first",
    "last",
    "last_non_direct",
    "linear",
    "time_decay",
    "position",
    "markov",
    "shapley",
)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench attribute``."""
    parser.add_argument("--paths", required=True, metavar="FILE", help="paths file (CSV/Parquet)")
    parser.add_argument("--model", required=True, choices=MODELS, help="attribution model")
    parser.add_argument("--out", required=True, metavar="FILE", help="output CSV or Parquet")
    parser.add_argument("--order", type=int, default=1, metavar="K", help="Markov order, 1-4")
    parser.add_argument(
        "--half-life",
        type=float,
        default=1.0,
        metavar="H",
        help="time-decay half-life, in touches (a paths file has no times; default 1)",
    )
    parser.add_argument(
        "--position",
        type=float,
        nargs=2,
        default=(0.4, 0.4),
        metavar=("FIRST", "LAST"),
        help="position-based shares of the first and last touch (default 0.4 0.4)",
    )
    parser.add_argument("--segment-col", metavar="C", help="attribute within each value of C")
    parser.add_argument("--sep", default=">", help="channel separator in paths (default '>')")
    parser.add_argument(
        "--shapley-method",
        choices=("exact", "coalitions", "sampling"),
        default="exact",
        help="Shapley computation (default exact closed form)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of Shapley sampling")


def run(args: argparse.Namespace) -> int:
    """Read, attribute, write atomically; print a one-line summary."""
    from workbench._io import atomic_file
    from workbench.attribution import attribute, read_paths

    paths = read_paths(args.paths, sep=args.sep, segment_col=args.segment_col)
    result = attribute(
        paths,
        args.model,
        order=args.order,
        half_life=args.half_life,
        first=args.position[0],
        last=args.position[1],
        shapley_method=args.shapley_method,
        seed=args.seed,
        by=args.segment_col,
    )
    with atomic_file(args.out) as tmp:
        if str(args.out).endswith(".parquet"):
            result.to_parquet(tmp, index=False)
        else:
            result.to_csv(tmp, index=False, lineterminator="\n", float_format="%.10g")
    print(
        f"{args.model}: {result['conversions'].sum():.10g} conversions credited to "
        f"{result['channel'].nunique()} channels -> {args.out}"
    )
    return 0
