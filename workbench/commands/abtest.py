"""Bayesian analysis of an A/B/n test per segment: one output row per segment × arm.

Reads an interchange table (aggregated ``segment, arm, n, conversions[, revenue]`` or one row per
recipient ``arm, converted[, revenue]`` plus segment columns), writes posterior means, HDIs,
probability to be best and to beat control, expected loss, lift and a decision (ship / stop /
keep testing). The output is CSV or Parquet by its extension and appears only once complete.
Warns on stderr when the sample ratio is off (p < 0.001). With ``--model hierarchical`` the exit
status is 3 when the sampler diagnostics fail, unless ``--allow-bad-diagnostics``.

``--world DIR --experiment ID`` reads an experiment of a world instead: its recipients' orders
in the conversion window are counted per segment (a ``subscribers`` column, ``--segment-col``,
default ``region``) and arm where the data is, in DuckDB or, with ``--engine spark``, in Spark
(:func:`workbench.experiments.cells.experiment_cells`); only the counts come back.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from workbench.commands._args import (
    OUTPUT_RULE,
    add_options,
    engine_option,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_floats,
    positive_int,
    probability,
    seed,
    table_output,
)

if TYPE_CHECKING:
    import pandas as pd

HELP = "analyse an A/B/n test per segment (conjugate or hierarchical Bayesian)"
ORDER = 30
OUTPUTS = OUTPUT_RULE


#: Numeric options of the analysis: flag, type, default, metavar, help (declarative).
_NUMBERS: tuple[tuple[str, Any, Any, str, str], ...] = (
    ("--hdi", probability, 0.9, "P", "interval probability, between 0 and 1 (0.9)"),
    (
        "--loss-threshold", non_negative_float, 0.01, "X",
        "ship when the relative expected loss is below this, >= 0 (0.01)",
    ),
    ("--rope", non_negative_float, 0.01, "X", "ROPE half-width on lift, >= 0 (0.01)"),
    ("--seed", seed, 0, "S", "0 to 2**32-1 (0)"),
    ("--draws", positive_int, 2000, "N", "posterior draws per chain (hierarchical), >= 1"),
    ("--tune", non_negative_int, 1000, "N", "tuning steps (hierarchical), >= 0"),
    ("--chains", positive_int, 2, "N", "chains (hierarchical), >= 1"),
    (
        "--target-accept", probability, None, "P",
        "NUTS target acceptance, between 0 and 1 (default 0.99 below 100 segments, else 0.85)",
    ),
)  # fmt: skip


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench abtest``."""
    _io_options(parser.add_argument_group("input and output"))
    _column_options(parser.add_argument_group("column names"))
    model = parser.add_argument_group("model")
    model.add_argument("--control", default=None, help="control arm (default: 'control')")
    model.add_argument("--model", choices=("conjugate", "hierarchical"), default="conjugate")
    model.add_argument("--metric", choices=("conversion", "revenue"), default="conversion")
    model.add_argument(
        "--prior", type=positive_float, nargs=2, default=(1.0, 1.0), metavar=("A", "B"),
        help="Beta prior of the conjugate model, both > 0 (default 1 1)",
    )  # fmt: skip
    for flag, kind, default, metavar, text in _NUMBERS:
        model.add_argument(flag, type=kind, default=default, metavar=metavar, help=text)
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


def _io_options(io: Any) -> None:
    src = io.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="FILE", help="CSV or Parquet table")
    src.add_argument(
        "--world", metavar="DIR", help="a world folder: analyse its experiment --experiment"
    )
    io.add_argument(
        "--experiment",
        type=non_negative_int,
        default=None,
        metavar="ID",
        help="experiment_id of --world (>= 0)",
    )
    add_options(io, engine_option("counts of --world's experiment are computed"))
    io.add_argument(
        "--format",
        choices=("aggregated", "recipients"),
        default="aggregated",
        help="aggregated rows (segment, arm, n, conversions) or one row per recipient",
    )
    add_options(io, table_output())


def _column_options(cols: Any) -> None:
    cols.add_argument(
        "--segment-col",
        default=None,
        metavar="COL[,COL...]",
        help="segment column(s), comma-separated; '' for one segment (default: segment; with "
        "--world a subscribers column, default region)",
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


def run(args: argparse.Namespace) -> int:
    """Run ``workbench abtest``."""
    from pathlib import Path

    from workbench._io import check_not_input, check_output_file, table_format, write_table
    from workbench.errors import WorkbenchError

    out = Path(args.out)
    table_format(out)
    if args.world is None and (args.experiment is not None or args.engine is not None):
        flag = "--experiment" if args.experiment is not None else "--engine"
        raise WorkbenchError(f"argument {flag}: only with --world (an experiment of a world)")
    if args.world is not None and args.experiment is None:
        raise WorkbenchError("argument --world: give --experiment ID (its experiment_id)")
    check_not_input(out, {"--input": args.input} if args.input else {"--world": args.world})
    check_output_file(out, overwrite=args.overwrite, flag="--overwrite")
    table = _read(args) if args.input else _from_world(args)
    _warn_srm(table, args.expected_split)
    if args.model == "conjugate":
        result = _conjugate(args, table)
    else:
        result = _hierarchical(args, table)
        if result is None:
            return 3
    write_table(result, out, overwrite=args.overwrite, flag="--overwrite", float_format="%.10g")
    print(f"wrote {len(result)} rows ({result['segment'].nunique()} segments) to {out}")
    return 0


def _from_world(args: argparse.Namespace) -> pd.DataFrame:
    """The counts of ``--experiment`` of ``--world``, per segment and arm, in the engine."""
    from workbench.errors import WorkbenchError
    from workbench.experiments.cells import experiment_cells

    column = "region" if args.segment_col is None else args.segment_col
    if "," in column or not column.strip():
        raise WorkbenchError("argument --segment-col: with --world, give one subscribers column")
    return experiment_cells(args.world, args.experiment, column, args.engine or "duckdb")


def _read(args: argparse.Namespace) -> pd.DataFrame:
    """The results table of ``--input`` with the column options."""
    from workbench.experiments.inputs import read_results

    segment_col = "segment" if args.segment_col is None else args.segment_col
    seg = [c for c in segment_col.split(",") if c] or None
    common = dict(
        segment_col=seg, arm_col=args.arm_col, revenue_col=args.revenue_col, control=args.control
    )
    if args.format == "aggregated":
        return read_results(
            args.input,
            "aggregated",
            n_col=args.n_col,
            conversions_col=args.conversions_col,
            **common,
        )
    return read_results(args.input, "recipients", converted_col=args.converted_col, **common)


def _warn_srm(table: pd.DataFrame, split: list[float] | None) -> None:
    """Check ``--expected-split`` and warn on stderr about a sample-ratio mismatch."""
    from workbench.errors import WorkbenchError
    from workbench.experiments.checks import srm_test

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


def _conjugate(args: argparse.Namespace, table: pd.DataFrame) -> pd.DataFrame:
    from workbench.experiments.conjugate import ConjugateABTest

    model = ConjugateABTest(
        prior=tuple(args.prior),
        hdi=args.hdi,
        metric=args.metric,
        loss_threshold=args.loss_threshold,
        rope=args.rope,
        n_draws=max(args.draws, 1000),
        seed=args.seed,
    )
    return model.fit(table).result_


def _hierarchical(args: argparse.Namespace, table: pd.DataFrame) -> pd.DataFrame | None:
    """The hierarchical analysis; ``None`` when the diagnostics fail and are not allowed."""
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
    if not model.diagnostics_.ok:
        msg = f"workbench abtest: sampler diagnostics failed: {model.diagnostics_}"
        if not args.allow_bad_diagnostics:
            print(
                msg + " (more --draws/--tune, a higher --target-accept, or "
                "--allow-bad-diagnostics)",
                file=sys.stderr,
            )
            return None
        print(msg.replace("failed", "failed (allowed)"), file=sys.stderr)
    return model.result_
