"""Uplift targeting from a randomised test: whose outcome does the treatment change?

Reads a randomised test, one row per person (``--input``: CSV, CSV.gz or Parquet with the arm,
the outcome and pre-treatment features; or ``--world``: an experiment of a world, with the
subscriber features as of its start and the orders of its window), splits the two compared arms
at random into a training and a held-out part (stratified by arm and outcome, ``--test-size``
held out), fits an uplift model on the training part and scores every row: ``scores`` has one row
per input row, in input order, with ``row`` (0-based data row), ``split`` (``train``, ``test``,
or ``other`` for rows of other arms, scored but never fitted) and ``uplift`` (the predicted
change of the outcome if treated; for training rows the out-of-fold prediction, so that no row is
scored by a model that saw it). From a world, ``subscriber_id`` comes second.

Models (``--model``, see :mod:`workbench.uplift.learners`): ``x`` (X-learner, the default),
``t`` (one outcome model per arm), ``s`` (one outcome model with the arm as a feature) and ``dr``
(doubly robust). The X-learner ranked the true uplift of simulated tests best but for the
S-learner, which on small tests (a few hundred rows an arm, as in a world's holdout) may never
split on the arm and then scores everyone 0.

``--summary-out`` writes a JSON of the held-out evaluation: the average effect (ATE, with its
standard error), the area under the uplift curve (AUUC, 0 for a random order, 1 for the best),
the Qini coefficient, the uplift of the top 10/20/30% and the calibration by decile.

Features: every column but the arm and the outcome, or ``--features a,b,c``; text columns are
categories (more than 200 distinct values is refused: an id, leave it out with ``--features``).
The outcome is binary when every value of the two arms is 0 or 1, else continuous
(``--outcome-kind`` says which, and then a binary outcome other than 0/1 is an error).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from workbench.commands._args import (
    OUTPUT_RULE,
    add_options,
    check_table_outputs,
    json_ready,
    non_empty,
    probability,
    seed,
    table_output,
)

if TYPE_CHECKING:
    from workbench.uplift.data import UpliftData

HELP = "uplift targeting from a randomised test (S-, T-, X- and DR-learners)"
ORDER = 50
OUTPUTS = OUTPUT_RULE
#: Learners of ``--model`` and the default.
MODELS = ("s", "t", "x", "dr")
#: Measured (Spearman correlation of the scores with the true uplift; seeds 0-4 of
#: ``simulate_uplift``, scored on 10,000 new rows; 1,500 / 5,000 training rows): s 0.55 / 0.79,
#: x 0.37 / 0.59, t 0.33 / 0.51, dr 0.24 / 0.46. On the sample world's segmented-vs-mass test
#: (505 training rows, against ``truth_responses``, seeds 0-2): x 0.30-0.42, t 0.31-0.42,
#: dr -0.02-0.04, s constant 0 (no ranking at all). Hence x: never far from the best.
DEFAULT_MODEL = "x"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``workbench uplift``."""
    src = parser.add_argument_group("input").add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="FILE", help="a randomised test: CSV, CSV.gz or Parquet")
    src.add_argument("--world", metavar="W", help="a world folder: one of its experiments")
    cols = parser.add_argument_group("the test")
    cols.add_argument("--treatment-col", metavar="COL", type=non_empty,
                      help="column of the arm (required with --input)")  # fmt: skip
    cols.add_argument("--treatment", metavar="NAME", type=non_empty,
                      help="the treated arm (required with --input; mass with "
                      "--world)")  # fmt: skip
    cols.add_argument("--control", metavar="NAME", type=non_empty,
                      help="the control arm (required with --input; holdout with "
                      "--world)")  # fmt: skip
    cols.add_argument("--outcome", metavar="COL", type=non_empty,
                      help="outcome column, 0/1 or a number (required with --input); with "
                      "--world: conversion or revenue (conversion)")  # fmt: skip
    cols.add_argument("--outcome-kind", choices=("auto", "binary", "continuous"), default="auto",
                      help="binary (0/1) or continuous; auto: binary when every value is 0 or 1 "
                      "(auto)")  # fmt: skip
    cols.add_argument("--features", metavar="A,B,C", type=non_empty,
                      help="feature columns, comma-separated (default: every other "
                      "column)")  # fmt: skip
    cols.add_argument("--experiment", metavar="E",
                      help="with --world: experiment id or name (default: the first with both "
                      "arms)")  # fmt: skip
    mod = parser.add_argument_group("model")
    mod.add_argument("--model", choices=MODELS, default=DEFAULT_MODEL,
                     help=f"learner ({DEFAULT_MODEL})")  # fmt: skip
    mod.add_argument("--test-size", type=probability, default=0.5, metavar="P",
                     help="share of the two arms held out for evaluation, between 0 and 1 "
                     "(0.5)")  # fmt: skip
    mod.add_argument("--seed", type=seed, default=0, metavar="S", help="0 to 2**32-1 (0)")
    out = parser.add_argument_group("output")
    add_options(out, table_output())
    out.add_argument("--summary-out", metavar="FILE",
                     help="JSON of the held-out evaluation (ATE, AUUC, Qini, "
                     "calibration)")  # fmt: skip


def _names(text: str | None) -> list[str] | None:
    """``--features a,b,c`` as a list of names."""
    from workbench.errors import WorkbenchError

    if text is None:
        return None
    names = [t.strip() for t in text.split(",")]
    if any(not n for n in names):
        raise WorkbenchError(f"argument --features: empty column name in {text!r}")
    return names


def _read(args: argparse.Namespace) -> UpliftData:
    """The test as :class:`workbench.uplift.data.UpliftData`, from --input or --world."""
    from workbench.errors import WorkbenchError
    from workbench.uplift import data

    if args.input:
        for flag, value in (
            ("--treatment-col", args.treatment_col),
            ("--treatment", args.treatment),
            ("--control", args.control),
            ("--outcome", args.outcome),
        ):
            if value is None:
                raise WorkbenchError(f"argument {flag}: required with --input")
        return data.read_uplift_table(
            args.input,
            treatment_col=args.treatment_col,
            treatment=args.treatment,
            control=args.control,
            outcome=args.outcome,
            features=_names(args.features),
            outcome_kind=args.outcome_kind,
        )
    given = (
        ("--treatment-col", args.treatment_col),
        ("--features", args.features),
        ("--outcome-kind", None if args.outcome_kind == "auto" else args.outcome_kind),
    )
    for flag, value in given:
        if value is not None:
            raise WorkbenchError(f"argument {flag}: not allowed with --world")
    outcome = args.outcome or "conversion"
    if outcome not in data.WORLD_OUTCOMES:
        raise WorkbenchError(
            f"argument --outcome: with --world, conversion or revenue, got {outcome!r}"
        )
    return data.world_uplift_table(
        args.world,
        experiment=args.experiment,
        treatment=args.treatment or "mass",
        control=args.control or "holdout",
        outcome=outcome,
    )


def run(args: argparse.Namespace) -> int:
    """Read, split, fit, score; write the scores (and the summary) atomically."""
    import json

    import numpy as np
    import pandas as pd

    from workbench._io import atomic_file, write_table
    from workbench.errors import WorkbenchError
    from workbench.uplift.data import split_test

    inputs = {"--input": args.input} if args.input else {"--world": args.world}
    check_table_outputs(args.out, args.summary_out, "--summary-out", inputs, args.overwrite)
    if args.experiment is not None and not args.world:
        raise WorkbenchError("argument --experiment: only with --world")

    d = _read(args)
    test = split_test(d, args.test_size, args.seed)
    from workbench.uplift import metrics  # scikit-learn: once the input is known to be good
    from workbench.uplift.learners import UpliftModel

    train = d.compared & ~test
    model = UpliftModel(learner=args.model, outcome=d.outcome_kind, random_state=args.seed)
    model.fit(d.X.iloc[np.flatnonzero(train)], d.y[train], d.treatment[train])
    uplift = np.full(len(d.treatment), np.nan)
    uplift[train] = np.asarray(model.oof_uplift_, float)
    rest = np.flatnonzero(~train)
    if len(rest):
        uplift[rest] = np.asarray(model.predict(d.X.iloc[rest]), float)
    split = np.where(train, "train", np.where(test, "test", "other"))
    scores = pd.DataFrame({"row": d.rows, "split": split, "uplift": uplift})
    if d.X.index.name == "subscriber_id":
        scores.insert(1, "subscriber_id", d.X.index.to_numpy())

    y_t, t_t, s_t = d.y[test], d.treatment[test], uplift[test]
    ev = metrics.evaluate(y_t, t_t, s_t)
    calib = metrics.calibration_table(y_t, t_t, s_t)
    summary = {
        "model": args.model,
        "outcome_kind": d.outcome_kind,
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "n_other": d.n_other,
        "treatment": d.treatment_name,
        "control": d.control_name,
        "ate": ev["ate"],
        "ate_se": ev["ate_se"],
        "auuc": ev["auuc"],
        "qini_coefficient": ev["qini_coefficient"],
        "uplift_at": ev["uplift_at"],
        "calibration": calib.to_dict(orient="records"),
        "features": list(d.feature_names),
        "dropped_features": list(d.dropped),
        "test_size": args.test_size,
        "seed": args.seed,
        "source": d.source,
    }
    if d.dropped:
        they = "they differ" if len(d.dropped) > 1 else "it differs"
        print(
            f"note: left out {', '.join(d.dropped)}: {they} between the arms far beyond "
            "chance, as columns measured after the email do (another outcome?); name the "
            "features with --features to choose them yourself",
            file=sys.stderr,
        )
    if d.imbalanced:
        they = "differ" if len(d.imbalanced) > 1 else "differs"
        print(
            f"warning: {', '.join(d.imbalanced)} {they} between the arms far beyond chance: "
            "measured after the email, or the test was not randomised",
            file=sys.stderr,
        )
    write_table(
        scores, args.out, overwrite=args.overwrite, flag="--overwrite", float_format="%.10g"
    )
    if args.summary_out:
        with atomic_file(args.summary_out, overwrite=args.overwrite, flag="--overwrite") as tmp:
            tmp.write_text(json.dumps(json_ready(summary), indent=2) + "\n", encoding="utf-8")
    print(
        f"uplift ({args.model}, {d.outcome_kind}): {summary['n_train']:,} training and "
        f"{summary['n_test']:,} held-out rows ({d.n_other:,} of other arms scored); held out: "
        f"ATE {ev['ate']:.4g} (se {ev['ate_se']:.2g}), AUUC {ev['auuc']:.4g}, Qini "
        f"{ev['qini_coefficient']:.4g} -> {args.out}",
        file=sys.stdout,
    )
    return 0
