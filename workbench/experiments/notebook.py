"""Small helpers used by ``notebooks/03-bayesian-testing.ipynb`` (kept here so it stays thin)."""

from __future__ import annotations

import pandas as pd

from workbench.errors import WorkbenchError


def experiment_of_kind(world: object, kind: str) -> int | None:
    """Id of the first experiment of a kind (``ab_test``, ``factorial``, ...), or None."""
    exps = world["experiments"]  # type: ignore[index]
    ids = exps.loc[exps["kind"] == kind, "experiment_id"]
    return int(ids.iloc[0]) if len(ids) else None


def decision_table(result: pd.DataFrame) -> pd.DataFrame:
    """The columns a marketer reads, rounded: one row per segment × arm."""
    cols = [
        "segment", "arm", "n", "conversions", "rate_mean", "rate_hdi_low", "rate_hdi_high",
        "prob_best", "prob_beat_control", "expected_loss_rel", "lift_mean", "decision",
    ]  # fmt: skip
    if "rpr_mean" in result.columns:
        cols[7:7] = ["rpr_mean"]
    missing = set(cols) - set(result.columns)
    if missing:
        raise WorkbenchError(f"not an analysis result: missing {sorted(missing)}")
    return result[cols].round(4)
