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

HELP = "analyse an A/B/n test per segment (conjugate or hierarchical Bayesian)"
ORDER = 30


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
    io.add_argument("--out", required=True, metavar="FILE", help="output .csv or .parquet")
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
        "--prior", type=float, nargs=2, default=(1.0, 1.0), metavar=("A", "B"),
        help="Beta prior of the conjugate model (default 1 1)",
    )  # fmt: skip
    model.add_argument("--hdi", type=float, default=0.9, help="interval probability (0.9)")
    model.add_argument(
        "--loss-threshold", type=float, default=0.01,
        help="ship when the relative expected loss is below this (0.01)",
    )  # fmt: skip
    model.add_argument("--rope", type=float, default=0.01, help="ROPE half-width on lift (0.01)")
    model.add_argument("--seed", type=int, default=0)
    model.add_argument(
        "--draws", type=int, default=2000, help="posterior draws per chain (hierarchical)"
    )
    model.add_argument("--tune", type=int, default=1000, help="tuning steps (hierarchical)")
    model.add_argument("--chains", type=int, default=2, help="chains (hierarchical)")
    model.add_argument(
        "--target-accept", type=float, default=None, metavar="P",
        help="NUTS target acceptance (default 0.99 below 100 segments, else 0.9)",
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
        "--expected-split", default=None, metavar="W[,W...]",
        help="planned arm shares in sorted arm order, for the SRM check",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``workbench abtest``."""
    from pathlib import Path

    from workbench._io import atomic_file
    from workbench.errors import WorkbenchError
    from workbench.experiments.checks import srm_test
    from workbench.experiments.inputs import read_results

    out = Path(args.out)
    if not out.name.lower().endswith((".csv", ".parquet")):
        raise WorkbenchError(f"{out}: output must end in .csv or .parquet")
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
    split = None
    if args.expected_split:
        split = [float(x) for x in args.expected_split.split(",")]
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
    with atomic_file(out) as tmp:
        if out.name.lower().endswith(".csv"):
            result.to_csv(tmp, index=False, float_format="%.10g")
        else:
            result.to_parquet(tmp, index=False)
    print(f"wrote {len(result)} rows ({result['segment'].nunique()} segments) to {out}")
    return status
