"""Customer lifetime value from a transaction log: BG/NBD, Pareto/NBD or MBG/NBD with Gamma–Gamma.

Reads a transaction log (one row per purchase: customer, date, value; CSV or other delimited
text, gzipped or not, or Parquet) or a world's orders (``--world``), splits it at
``--calibration-end`` (that day included), fits the purchase model and the spend model by maximum
likelihood (``--fit mle``, seconds) or in PyMC (``--fit bayes``, with intervals; PyMC compiles
its model on first use), and writes one row per customer who bought in the calibration period:
``customer_id, frequency, recency, T, monetary_value, p_alive, expected_purchases,
expected_spend, expected_revenue, clv`` (``*_low``/``*_high`` intervals with ``--fit bayes``).

Transactions on the same day count as one purchase, as in the papers; recency and T are measured
from each customer's first purchase in ``--time-unit`` (weeks = days / 7, the papers' unit).
``expected_purchases`` and ``clv`` cover ``--horizon`` days after the calibration end;
``expected_spend`` is the expected value of one purchase; ``clv`` is discounted month by month at
``--discount-rate`` a year. ``--params-out`` writes the fitted parameters (named as in the papers:
``r, alpha, a, b`` / ``r, alpha, s, beta``; ``p, q, gamma``) with their standard errors and, with
``--holdout-end``, the holdout fit against the naive rule "recent buyers buy again".
"""

from __future__ import annotations

import argparse
import sys

from workbench.commands._args import (
    OUTPUT_RULE,
    add_options,
    check_table_outputs,
    json_ready,
    non_empty,
    non_negative_int,
    positive_float,
    positive_int,
    probability,
    seed,
    share,
    table_output,
)

HELP = "customer lifetime value from a transaction log (BG/NBD, Pareto/NBD, MBG/NBD)"
ORDER = 45
OUTPUTS = OUTPUT_RULE


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench clv``."""
    src = parser.add_argument_group("input").add_mutually_exclusive_group(required=True)
    src.add_argument("--orders", metavar="FILE", help="transaction log (CSV, text or Parquet)")
    src.add_argument("--world", metavar="W", help="a world folder: its orders table")
    cols = parser.add_argument_group("columns of --orders")
    cols.add_argument("--customer-col", default="customer_id", metavar="C",
                      help="customer id column (customer_id); 1-based positions for a file "
                      "without a header line")  # fmt: skip
    cols.add_argument("--date-col", default="date", metavar="D", help="date column (date)")
    cols.add_argument("--value-col", default=None, metavar="V",
                      help="purchase value column (default 'value' if present; none: no spend "
                      "model)")  # fmt: skip
    cols.add_argument("--sep", default=None, metavar="S",
                      help="field separator: ',', ';', '\\t', '|' or 'whitespace' (default ',', "
                      "whitespace for .txt)")  # fmt: skip
    cols.add_argument("--date-format", default=None, type=non_empty, metavar="F",
                      help="strptime format of the dates, e.g. %%Y%%m%%d (default ISO "
                      "dates)")  # fmt: skip
    per = parser.add_argument_group("periods")
    per.add_argument("--calibration-end", metavar="DATE",
                     help="last day of the calibration period (required with --orders; default "
                     "the world's last day)")  # fmt: skip
    per.add_argument("--holdout-end", metavar="DATE", help="last day of the holdout period")
    per.add_argument("--time-unit", choices=("weeks", "days"), default="weeks",
                     help="unit of recency and T (weeks)")  # fmt: skip
    mod = parser.add_argument_group("model")
    mod.add_argument("--model", choices=("bgnbd", "paretonbd", "mbgnbd"), default="bgnbd",
                     help="purchase model (bgnbd)")  # fmt: skip
    mod.add_argument("--fit", choices=("mle", "bayes"), default="mle",
                     help="maximum likelihood or PyMC (mle)")  # fmt: skip
    mod.add_argument("--horizon", type=positive_float, default=365.0, metavar="DAYS",
                     help="days of expected purchases and CLV after the calibration end "
                     "(365)")  # fmt: skip
    mod.add_argument("--discount-rate", type=share, default=0.1, metavar="R",
                     help="annual discount rate of the CLV, between 0 and 1 (0.1)")  # fmt: skip
    mod.add_argument("--interval", type=probability, default=0.9, metavar="P",
                     help="posterior interval probability with --fit bayes (0.9)")  # fmt: skip
    mod.add_argument("--draws", type=positive_int, default=None, metavar="N",
                     help="posterior draws per chain (--fit bayes)")  # fmt: skip
    mod.add_argument("--tune", type=non_negative_int, default=None, metavar="N",
                     help="tuning steps (--fit bayes)")  # fmt: skip
    mod.add_argument("--chains", type=positive_int, default=None, metavar="N",
                     help="chains (--fit bayes)")  # fmt: skip
    mod.add_argument("--seed", type=seed, default=0, metavar="S", help="0 to 2**32-1 (0)")
    out = parser.add_argument_group("output")
    add_options(out, table_output())
    out.add_argument("--params-out", metavar="FILE",
                     help="JSON of the fitted parameters, standard errors and holdout "
                     "fit")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Read, summarise, fit, predict; write the predictions (and parameters) atomically."""
    import json

    from workbench._io import atomic_file, write_table
    from workbench.clv import data
    from workbench.clv.diagnostics import conditional_expectations, holdout_scores
    from workbench.clv.value import CustomerValue
    from workbench.errors import WorkbenchError

    inputs = {"--orders": args.orders} if args.orders else {"--world": args.world}
    check_table_outputs(args.out, args.params_out, "--params-out", inputs, args.overwrite)
    if args.orders:
        if args.calibration_end is None:
            raise WorkbenchError("argument --calibration-end: required with --orders")
        tx = data.read_transactions(
            args.orders,
            customer_col=args.customer_col,
            date_col=args.date_col,
            value_col=args.value_col,
            sep=args.sep,
            date_format=args.date_format,
        )
        cal = args.calibration_end
    else:
        from workbench.clv.segments import world_transactions

        tx, end = world_transactions(args.world)
        cal = args.calibration_end or end
    summary = data.summarise(
        tx, calibration_end=cal, holdout_end=args.holdout_end, time_unit=args.time_unit
    )
    model = CustomerValue(
        args.model,
        args.fit,
        horizon_days=args.horizon,
        discount_rate=args.discount_rate,
        interval=args.interval,
        seed=args.seed,
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
    ).fit(summary)
    pred = model.predict(summary)
    params = model.parameters()
    params.update(
        calibration_end=summary.attrs["calibration_end"],
        holdout_end=summary.attrs["holdout_end"],
        source=str(args.orders or args.world),
    )
    if args.holdout_end:
        params["holdout"] = holdout_scores(model, summary)
        params["conditional_expectations"] = conditional_expectations(model, summary).to_dict(
            orient="records"
        )
    write_table(pred, args.out, overwrite=args.overwrite, flag="--overwrite", float_format="%.10g")
    if args.params_out:
        with atomic_file(args.params_out, overwrite=args.overwrite, flag="--overwrite") as tmp:
            tmp.write_text(json.dumps(json_ready(params), indent=2) + "\n", encoding="utf-8")
    names = ", ".join(f"{k}={params[k]:.4g}" for k in model.purchase_.params)
    print(
        f"{args.model} ({args.fit}): {len(pred):,} customers, {names}; "
        f"mean P(alive) {pred['p_alive'].mean():.3f} -> {args.out}",
        file=sys.stdout,
    )
    return 0
