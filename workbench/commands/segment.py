"""Segment every subscriber of a world and write one row per subscriber.

Features are computed as of ``--as-of`` (default: the end of the world's history), the model is
fitted on a sample and every subscriber is assigned in bulk. The output has the columns
``subscriber_id, segment, segment_name`` (with ``--unreachable rule``, subscribers who cannot be
emailed are one rule segment, still one row each); it is written as CSV, gzipped CSV or
Parquet, by its extension (``.csv``, ``.csv.gz``, ``.parquet``). Segments smaller than
``--min-size`` are merged into the nearest one and reported on stderr (``--on-small error``
refuses instead).

With ``--engine duckdb|spark`` the row-level work runs in that engine and only the sample comes
back: the features are computed there, a stratified sample of ``--sample-size`` subscribers is
drawn there, the model is fitted on it locally, and every subscriber is assigned there
(:func:`workbench.segment.scale.segment_in_engine`). Both engines give the same segments.
"""

from __future__ import annotations

import argparse
import sys

from workbench.commands._args import (
    OUTPUT_RULE,
    add_options,
    engine_option,
    int_or_auto,
    positive_int,
    seed,
    table_output,
)
from workbench.segment.methods import METHODS

HELP = "segment the subscribers of a world (clustering), one row per subscriber"
ORDER = 20
OUTPUTS = OUTPUT_RULE


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench segment``."""
    parser.add_argument("--world", required=True, metavar="DIR", help="world folder")
    add_options(parser, table_output(" (not inside the world)"))
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="deconvolved",
        help="default deconvolved (recommended)",
    )
    parser.add_argument(
        "--k", type=int_or_auto, default="auto", help="segments (>= 1), or 'auto' (default)"
    )
    parser.add_argument(
        "--min-size",
        type=positive_int,
        default=50,
        metavar="N",
        help="smallest segment exported, >= 1 (default 50)",
    )
    parser.add_argument(
        "--on-small",
        choices=("merge", "error"),
        default="merge",
        help="merge too-small segments into the nearest (default) or fail",
    )
    parser.add_argument(
        "--unreachable",
        choices=("cluster", "rule"),
        default="cluster",
        help="cluster subscribers who cannot be emailed with everyone (default), or give them "
        "one rule segment 'not reachable by email'",
    )
    parser.add_argument("--seed", type=seed, default=0, metavar="S", help="0 to 2**32-1 (0)")
    parser.add_argument("--as-of", metavar="DATE", help="feature date (default: end of history)")
    parser.add_argument(
        "--sample-size",
        type=positive_int,
        default=20_000,
        metavar="N",
        help="subscribers the model is fitted on, >= 1 (default 20000)",
    )
    parser.add_argument(
        "--jobs",
        type=positive_int,
        default=None,
        metavar="N",
        help="threads for model selection and the model's starts (default: every core); "
        "the segments do not depend on it",
    )
    add_options(parser, engine_option("features, the stratified sample and the assignment"))


def run(args: argparse.Namespace) -> int:
    """Compute features, segment, write atomically; print a one-line summary."""
    from pathlib import Path

    from workbench._io import check_not_input, check_output_file, table_format, write_table
    from workbench.errors import WorkbenchError
    from workbench.features import compute_features
    from workbench.segment import segment_subscribers

    out = Path(args.out)
    table_format(out)
    check_not_input(out, {"--world": args.world})
    check_output_file(out, overwrite=args.overwrite, flag="--overwrite")
    if args.engine is not None:
        return _in_engine(args, out)
    features = compute_features(args.world, as_of=args.as_of)
    if features.empty:
        raise WorkbenchError(f"{args.world}: no subscribers signed up before the as-of date")
    result = segment_subscribers(
        features,
        method=args.method,
        k=args.k,
        min_size=args.min_size,
        seed=args.seed,
        sample_size=args.sample_size,
        on_small=args.on_small,
        unreachable=args.unreachable,
        n_jobs=-1 if args.jobs is None else args.jobs,
    )
    for m in result.segmenter.merges_:
        print(
            f"workbench segment: cluster {m['cluster']} had {m['size']} subscribers "
            f"(< --min-size {args.min_size}); merged into segment {m['into']}",
            file=sys.stderr,
        )
    table = result.table()
    write_table(table, out, overwrite=args.overwrite, flag="--overwrite")
    print(
        f"{len(table):,} subscribers in {result.segmenter.n_segments_} segments "
        f"({args.method}) -> {out}"
    )
    return 0


def _in_engine(args: argparse.Namespace, out: object) -> int:
    """Features, sample and assignment in the engine; the fit on the sample, locally."""
    from workbench._io import write_table
    from workbench.segment.scale import segment_in_engine

    result = segment_in_engine(
        args.world,
        args.engine,
        as_of=args.as_of,
        method=args.method,
        k=args.k,
        sample_size=args.sample_size,
        min_size=args.min_size,
        seed=args.seed,
        on_small=args.on_small,
        unreachable=args.unreachable,
        n_jobs=-1 if args.jobs is None else args.jobs,
    )
    for m in result.fit.segmenter.merges_:
        print(
            f"workbench segment: cluster {m['cluster']} had {m['size']} of the "
            f"{result.n_sample:,} sampled subscribers (about {args.min_size} or fewer in the "
            f"base: --min-size); merged into segment {m['into']}",
            file=sys.stderr,
        )
    table = result.segments
    write_table(table, out, overwrite=args.overwrite, flag="--overwrite")
    print(
        f"{len(table):,} subscribers in {result.fit.segmenter.n_segments_} segments "
        f"({args.method}, fitted on a stratified sample of {result.n_sample:,}; "
        f"engine {result.engine}) -> {out}"
    )
    return 0
