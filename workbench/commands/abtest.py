"""Bayesian analysis of an A/B/n test per segment: one output row per segment × arm.

Reads an interchange table (aggregated ``segment, arm, n, conversions[, revenue]`` or one row per
recipient ``arm, converted[, revenue]`` plus segment columns), writes posterior means, HDIs,
probability to be best and to beat control, expected loss, lift and a decision (ship / stop /
keep testing). The output is CSV or Parquet by its extension and appears only once complete.
Warns on stderr when the sample ratio is off (p < 0.001). With ``--model hierarchical`` the exit
status is 3 when the sampler diagnostics fail, unless ``--allow-bad-diagnostics``.
"""

from __future__ import annotations

import argparse
import sys

from workbench.commands._args import (
    OUTPUT_RULE,
    OVERWRITE_HELP,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_floats,
    positive_int,
    probability,
    seed,
)

HELP = "analyse an A/B/n test per segment (conjugate or hierarchical Bayesian)"
ORDER = 30
OUTPUTS = OUTPUT_RULE


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench abtest``."""
    io = parser.add_argument_group("input and output")
    io.add_argument("--input", required=True, metavar="FILE", help="CSV or Parquet table")
    io.add_argument(
        "--format",
        choices=("aggregated", "recipients"),
        default="aggregated",
        help="aggregated rows (segment, arm, n, conversions) or one row per recipient",
    )
    io.add_argument(
        "--out", required=True, metavar="FILE", help="output table: .csv, .csv.gz or .parquet"
    )
    io.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    cols = parser.add_argument_group("column names")
    cols.add_argument(
        "--segment-col",
        default="segment",
        metavar="COL[,COL...]",
        help="segment column(s), comma-separated; '' for one segment (default: segment)",
    )
    cols.add_argument("--arm-col", default="arm", metavar="COL")
    cols.add_argument("--n-col", default="n", metavar="COL", help="recipients (aggregated)")
    cols.add_argument("--conversions-col", default="conversions", metavar="COL")
    cols.add_argument(
        "--converted-col", default="converted", metavar="COL", help="0/1 (recipients)"
    )
    cols.add_argument(
        "--revenue-col", default=None, metavar="COL", help="revenue (default: 'revenue' if present)"
    )
    model = parser.add_argument_group("model")
    model.add_argument("--control", default=None, help="control arm (default: 'control')")
    model.add_argument("--model", choices=("conjugate", "hierarchical"), default="conjugate")
    model.add_argument("--metric", choices=("conversion", "revenue"), default="conversion")
    model.add_argument(
        "--prior", type=positive_float, nargs=2, default=(1.0, 1.0), metavar=("A", "B"),
        help="Beta prior of the conjugate model, both > 0 (default 1 1)",
    )  # fmt: skip
    model.add_argument(
        "--hdi", type=probability, default=0.9, metavar="P",
        help="interval probability, between 0 and 1 (0.9)",
    )  # fmt: skip
    model.add_argument(
        "--loss-threshold", type=non_negative_float, default=0.01, metavar="X",
        help="ship when the relative expected loss is below this, >= 0 (0.01)",
    )  # fmt: skip
    model.add_argument(
        "--rope", type=non_negative_float, default=0.01, metavar="X",
        help="ROPE half-width on lift, >= 0 (0.01)",
    )  # fmt: skip
    model.add_argument("--seed", type=seed, default=0, metavar="S", help="0 to 2**32-1 (0)")
    model.add_argument(
        "--draws", type=positive_int, default=2000, metavar="N",
        help="posterior draws per chain (hierarchical), >= 1",
    )  # fmt: skip
    model.add_argument(
        "--tune", type=non_negative_int, default=1000, metavar="N",
        help="tuning steps (hierarchical), >= 0",
    )  # fmt: skip
    model.add_argument(
        "--chains", type=positive_int, default=2, metavar="N", help="chains (hierarchical), >= 1"
    )
    model.add_argument(
        "--target-accept", type=probability, default=None, metavar="P",
        help="NUTS target acceptance, between 0 and 1 (default 0.99 below 100 segments, else 0.85)",
    )  # fmt: skip
    model.add_argument(
        "--sampler", choices=("auto", "nutpie", "pymc"), default="auto",
        help="NUTS implementation (default: nutpie when installed, else PyMC)",
    )  # fmt: skip
    model.add_argument(
        "--allow-bad-diagnostics", action="store_true",
        help="write the output even when R-hat / ESS / divergences fail",
    )  # fmt: skip
    model.add_argument(
        "--expected-split", type=positive_floats, default=None, metavar="W[,W...]",
        help="planned arm shares in sorted arm order (numbers > 0, one per arm), for the SRM check",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``workbench abtest``."""
    from pathlib import Path

    from workbench._io import check_not_input, check_output_file, table_format, write_table
    from workbench.errors import WorkbenchError
    from workbench.experiments.checks import srm_test
    from workbench.experiments.inputs import read_results

    out = Path(args.out)
    table_format(out)
    check_not_input(out, {"--input": args.input})
    check_output_file(out, overwrite=args.overwrite, flag="--overwrite")
    seg = [c for c in args.segment_col.split(",") if c] or None
    common = dict(
        segment_col=seg, arm_col=args.arm_col, revenue_col=args.revenue_col, control=args.control
    )
    if args.format == "aggregated":
        table = read_results(
            args.input,
            "aggregated",
            n_col=args.n_col,
            conversions_col=args.conversions_col,
            **common,
        )
    else:
        table = read_results(args.input, "recipients", converted_col=args.converted_col, **common)
    split = args.expected_split
    if split is not None:
        arms = sorted(table["arm"].unique())
        if len(split) != len(arms):
            raise WorkbenchError(
                f"--expected-split: {len(split)} shares for {len(arms)} arms "
                f"({', '.join(map(str, arms))}); give one share per arm, in this order"
            )
    srm = srm_test(table, split)
    if srm["srm"].any():
        bad = srm.loc[srm["srm"], "segment"].tolist()
        print(
            f"workbench abtest: warning: sample-ratio mismatch (p < 0.001) in {', '.join(bad)}",
            file=sys.stderr,
        )
    status = 0
    if args.model == "conjugate":
        from workbench.experiments.conjugate import ConjugateABTest

        result = (
            ConjugateABTest(
                prior=tuple(args.prior),
                hdi=args.hdi,
                metric=args.metric,
                loss_threshold=args.loss_threshold,
                rope=args.rope,
                n_draws=max(args.draws, 1000),
                seed=args.seed,
            )
            .fit(table)
            .result_
        )
    else:
        from workbench.experiments.hierarchical import HierarchicalABTest

        model = HierarchicalABTest(
            metric=args.metric,
            hdi=args.hdi,
            loss_threshold=args.loss_threshold,
            rope=args.rope,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            target_accept=args.target_accept,
            sampler=args.sampler,
            seed=args.seed,
            progressbar=sys.stderr.isatty(),
            warn=False,
        ).fit(table)
        result = model.result_
        if not model.diagnostics_.ok:
            msg = f"workbench abtest: sampler diagnostics failed: {model.diagnostics_}"
            if not args.allow_bad_diagnostics:
                print(
                    msg + " (more --draws/--tune, a higher --target-accept, or "
                    "--allow-bad-diagnostics)",
                    file=sys.stderr,
                )
                return 3
            print(msg.replace("failed", "failed (allowed)"), file=sys.stderr)
    write_table(result, out, overwrite=args.overwrite, flag="--overwrite", float_format="%.10g")
    print(f"wrote {len(result)} rows ({result['segment'].nunique()} segments) to {out}")
    return status
