"""Credit conversions and revenue to channels from a paths file or a world.

The paths file (CSV or Parquet) has the columns ``path`` ("email > sms > direct"),
``total_conversions`` and optionally ``total_conversion_value`` and ``total_null``. A world's
touches and orders are cut into journeys instead (``--world``). The output has one row per
channel (per segment with ``--segment-col``): ``channel, conversions, value, share,
value_share``; the calibrated model adds intervals (``conversions_low/high``,
``share_low/high``, ``value_low/high``), the incrementality ``factor`` and the base model's
``credited`` conversions. It is written as CSV, gzipped CSV or Parquet, by its extension
(``.csv``, ``.csv.gz``, ``.parquet``).

The calibrated model scales a path model's credit by incrementality factors informed by channel
holdouts: a world's own ``channel_holdout`` experiments, or holdout tests run elsewhere given with
``--calibrate-with HOLDOUTS.csv`` (``channel, arm, n, conversions[, revenue]``, the held-out arm
named ``holdout``).

With ``--engine duckdb|spark``, a world's journeys are cut and counted in that engine
(:func:`workbench.attribution.aggregate.path_aggregates`) and only the paths table comes back
to the path models (rules, Markov, Shapley); the time-decay and calibrated models read every
journey's times and the holdouts, in memory, and run without ``--engine``.
"""

from __future__ import annotations

import argparse

from workbench.attribution.options import (
    DEFAULTS,
    MAX_MARKOV_ORDER,
    MODELS,
    PATH_MODELS,
    SHAPLEY_METHODS,
)
from workbench.commands._args import (
    OUTPUT_RULE,
    add_options,
    engine_option,
    int_in,
    non_empty,
    positive_float,
    seed,
    share,
    table_output,
)

HELP = "multi-touch attribution of a paths file or a world (rules, Markov, Shapley, calibrated)"
ORDER = 40
OUTPUTS = OUTPUT_RULE


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench attribute``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--paths", metavar="FILE", help="paths file (CSV/Parquet)")
    src.add_argument(
        "--world", type=non_empty, metavar="DIR", help="world folder: journeys from its touches"
    )
    parser.add_argument("--model", required=True, choices=MODELS, help="attribution model")
    parser.add_argument(
        "--calibrate-with",
        metavar="FILE",
        help="holdout results (channel, arm, n, conversions[, revenue]; CSV/Parquet) for "
        "--model calibrated; a world's own channel holdouts are used without it",
    )
    parser.add_argument(
        "--base",
        choices=PATH_MODELS,
        default=DEFAULTS.base,
        help=f"the path model --model calibrated scales (default {DEFAULTS.base})",
    )
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
        default=None,
        metavar="H",
        help="time-decay half-life, > 0: in days for a world (default "
        f"{DEFAULTS.half_life:g}), in touches for a paths file, which has no times (default 1)",
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
    parser.add_argument(
        "--segment-col",
        metavar="C",
        help="attribute within each value of C (a paths column, or a subscribers column of "
        "the world)",
    )
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
        help=f"seed of Shapley sampling and of the calibrated model's draws ({DEFAULTS.seed})",
    )
    add_options(parser, engine_option("journeys of --world are cut and counted"))


def run(args: argparse.Namespace) -> int:
    """Read, attribute, write atomically; print a one-line summary."""
    from workbench._io import check_not_input, check_output_file, table_format, write_table
    from workbench.attribution import attribute
    from workbench.errors import WorkbenchError

    first, last = args.position
    if first + last > 1:
        raise WorkbenchError(
            f"argument --position: FIRST + LAST must be at most 1, got {first:g} + {last:g}"
        )
    if args.calibrate_with and args.model != "calibrated":
        raise WorkbenchError("argument --calibrate-with: only --model calibrated uses holdouts")
    table_format(args.out)
    inputs = {"--paths": args.paths, "--world": args.world, "--calibrate-with": args.calibrate_with}
    check_not_input(args.out, {k: v for k, v in inputs.items() if v})
    check_output_file(args.out, overwrite=args.overwrite, flag="--overwrite")
    data, holdouts, by = _inputs(args)
    result = attribute(
        data,
        args.model,
        order=args.order,
        half_life=args.half_life or (DEFAULTS.half_life if args.world else 1.0),
        first=first,
        last=last,
        shapley_method=args.shapley_method,
        seed=args.seed,
        base=args.base,
        holdouts=holdouts,
        by=by,
    )
    write_table(
        result, args.out, overwrite=args.overwrite, flag="--overwrite", float_format="%.10g"
    )
    what = "incremental conversions" if args.model == "calibrated" else "conversions credited"
    print(
        f"{args.model}: {result['conversions'].sum():.10g} {what} to "
        f"{result['channel'].nunique()} channels -> {args.out}"
    )
    return 0


def _inputs(args: argparse.Namespace) -> tuple[object, object, str | None]:
    """The paths or journeys, the holdout results (or None) and the segment argument."""
    from workbench.attribution import file_incrementality, read_holdouts, read_paths
    from workbench.errors import WorkbenchError

    if args.engine is not None:
        return _engine_inputs(args)
    holdouts = None
    if args.calibrate_with:
        holdouts = file_incrementality(read_holdouts(args.calibrate_with), seed=args.seed or 0)
    if args.paths:
        if args.model == "calibrated" and holdouts is None:
            raise WorkbenchError(
                "--model calibrated with --paths needs --calibrate-with HOLDOUTS (a paths file "
                "holds no holdout tests)"
            )
        data = read_paths(args.paths, sep=args.sep, segment_col=args.segment_col)
        return data, holdouts, args.segment_col
    from workbench.attribution.workflow import load_inputs

    inp = load_inputs(args.world, segment_col=args.segment_col or "")
    if args.model == "calibrated" and holdouts is None:
        if inp.holdouts.empty:
            raise WorkbenchError(
                f"{args.world}: no channel holdout experiments to calibrate with; give "
                "--calibrate-with HOLDOUTS"
            )
        holdouts = inp.holdouts
    return inp.data, holdouts, inp.by


#: Models that need the journeys' times or the holdouts, not only the paths table.
_JOURNEY_MODELS = ("time_decay", "calibrated")


def _engine_inputs(args: argparse.Namespace) -> tuple[object, object, str | None]:
    """The paths table of ``--world``, aggregated in ``--engine``."""
    from workbench.attribution.aggregate import path_aggregates
    from workbench.errors import WorkbenchError

    if args.world is None:
        raise WorkbenchError("argument --engine: give --world (a paths file is already aggregated)")
    if args.model in _JOURNEY_MODELS:
        raise WorkbenchError(
            f"argument --engine: --model {args.model} reads every journey's times and the "
            "holdouts, which stay out of the engine; run it without --engine"
        )
    data = path_aggregates(args.world, args.engine, segment=args.segment_col or None)
    return data, None, "segment" if args.segment_col else None
