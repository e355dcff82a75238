"""Segment every subscriber of a world and write one row per subscriber.

Features are computed as of ``--as-of`` (default: the end of the world's history), the model is
fitted on a sample and every subscriber is assigned in bulk. The output has the columns
``subscriber_id, segment, segment_name`` (with ``--unreachable rule``, subscribers who cannot be
emailed are one rule segment, still one row each); it is written as CSV, or Parquet when the
name ends in ``.parquet``. Segments smaller than ``--min-size`` are merged into the nearest one
and reported on stderr (``--on-small error`` refuses instead).
"""

from __future__ import annotations

import argparse
import sys

HELP = "segment the subscribers of a world (clustering), one row per subscriber"
ORDER = 20
#: The methods of :data:`workbench.segment.METHODS` (kept here so that ``--help`` does not import
#: scikit-learn; a test checks they agree).
_METHODS = ("deconvolved", "kmeans", "gmm", "hdbscan", "agglomerative")


def _k(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("k must be at least 1")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench segment``."""
    parser.add_argument("--world", required=True, metavar="DIR", help="world folder")
    parser.add_argument("--out", required=True, metavar="FILE", help="output CSV or Parquet")
    parser.add_argument(
        "--method",
        choices=_METHODS,
        default="deconvolved",
        help="default deconvolved (recommended)",
    )
    parser.add_argument("--k", type=_k, default="auto", help="segments, or 'auto' (default)")
    parser.add_argument(
        "--min-size",
        type=int,
        default=50,
        metavar="N",
        help="smallest segment exported (default 50)",
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
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--as-of", metavar="DATE", help="feature date (default: end of history)")
    parser.add_argument(
        "--sample-size",
        type=int,
        default=20_000,
        metavar="N",
        help="subscribers the model is fitted on (default 20000)",
    )


def run(args: argparse.Namespace) -> int:
    """Compute features, segment, write atomically; print a one-line summary."""
    from pathlib import Path

    from workbench._io import atomic_file
    from workbench.errors import WorkbenchError
    from workbench.features import compute_features
    from workbench.segment import segment_subscribers

    if args.min_size < 1:
        raise WorkbenchError("--min-size must be at least 1")
    out = Path(args.out)
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
    )
    for m in result.segmenter.merges_:
        print(
            f"workbench segment: cluster {m['cluster']} had {m['size']} subscribers "
            f"(< --min-size {args.min_size}); merged into segment {m['into']}",
            file=sys.stderr,
        )
    table = result.table()
    with atomic_file(out) as tmp:
        if out.suffix == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)
    print(
        f"{len(table):,} subscribers in {result.segmenter.n_segments_} segments "
        f"({args.method}) -> {out}"
    )
    return 0
