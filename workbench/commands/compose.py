"""Compose one email per segment from a library of block variants, and the ESP mapping.

For every segment of ``--segments`` (the table ``workbench segment --out`` writes: one row per
subscriber, ``subscriber_id, segment, segment_name``) chooses a variant of each block -- subject
line, preheader, hero, call to action, proof row, recommendations -- from the segment's test
winners in the world (a winner needs a probability to be best of at least ``--min-certainty``),
else its content affinity and lifecycle stage, else the default; then renders and checks the
email. Writes into ``--out``:

- ``previews/<segment>.html`` and ``.txt``: each segment's email (HTML and plain-text parts);
- ``variants.csv``: one row per subscriber who can still be emailed (consented, not
  unsubscribed, not bounced), ``subscriber_id, segment, subject, preheader, hero, cta, proof,
  recommendations`` (variant ids), as an ESP import takes it;
- ``choices.csv``: per segment and block, the variant, what decided it, the test's certainty and
  the reason; ``accessibility.csv``: the problems found (alt text, link text, plain-text part);
- ``index.html``: the previews side by side with the reason for each choice; ``compose.json``:
  the settings and counts.
"""

from __future__ import annotations

import argparse
import sys

from workbench.commands._args import OUTPUT_RULE, float_in, positive_int

HELP = "compose one email per segment (block variants by test, affinity, lifecycle) + ESP map"
ORDER = 60
OUTPUTS = OUTPUT_RULE
certainty = float_in(0.0, 1.0, lo_open=True)


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench compose``."""
    parser.add_argument("--world", required=True, metavar="DIR", help="world folder")
    parser.add_argument("--segments", required=True, metavar="FILE",
                        help="segments table written by workbench segment --out (.csv, .csv.gz "
                        "or .parquet: subscriber_id, segment[, segment_name])")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--min-certainty", type=certainty, default=0.8, metavar="P",
                        help="probability to be best a test's winner needs in a segment, "
                        "> 0 and <= 1 (0.8)")  # fmt: skip
    parser.add_argument("--min-recipients", type=positive_int, default=100, metavar="N",
                        help="recipients a test needs in a segment to decide for it, >= 1 "
                        "(100)")  # fmt: skip
    parser.add_argument("--as-of", metavar="DATE",
                        help="features, tests and reachability as of this date (default: end "
                        "of history)")  # fmt: skip
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an earlier compose folder (never another)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Compose, write the folder atomically, print a one-line summary."""
    from workbench._io import check_not_input, check_output_dir
    from workbench.content.compose import MARKER, compose

    inputs = {"--world": args.world, "--segments": args.segments}
    check_not_input(args.out, inputs, replaces_folder=True)
    check_output_dir(
        args.out, overwrite=args.overwrite, marker=MARKER, kind="compose folder",
        flag="--overwrite",
    )  # fmt: skip
    res = compose(
        args.world,
        args.segments,
        args.out,
        overwrite=args.overwrite,
        flag="--overwrite",
        as_of=args.as_of,
        min_certainty=args.min_certainty,
        min_recipients=args.min_recipients,
    )
    by_test = int((res.choices["source"] == "test").sum())
    problems = len(res.accessibility)
    print(
        f"{len(res.emails)} previews, {len(res.variants):,} subscribers mapped to variants "
        f"({res.excluded:,} not reachable by email left out), {by_test} of "
        f"{len(res.choices)} block choices decided by a test, {problems} accessibility "
        f"problem{'s' if problems != 1 else ''} -> {args.out}",
        file=sys.stdout,
    )
    return 0
