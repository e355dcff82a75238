"""Flow holdout estimates scored against the world's truth (evaluation code only).

A synthetic world knows, in ``truth_responses``, each flow holdout entrant's true chance of an
order in their window (``conversion_prob``) and the revenue expected there
(``expected_revenue``) under each arm. The true effect of the flow on a set of entrants is the
mean over them of exposed minus held out (the effect on *these* entrants, the sample's own
effect, not that of a hypothetical population); :func:`score_flow_holdouts` compares each
estimate of :func:`workbench.flows.holdout.flow_incrementality` with it over the same entrants
(the experiment's participants, or those of the row's segment).

Methods never read this: only scorecards, benchmarks and tests do (``tests/test_truth_wall.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from workbench.errors import WorkbenchError
from workbench.flows._data import Segments, segment_series
from workbench.flows.funnel import _require_columns

__all__ = ["SCORE_COLUMNS", "score_flow_holdouts", "score_from_responses"]

#: What is scored: the estimate's column prefix and the truth's outcome.
METRICS = {
    "conversion_rate": ("incremental_rate", "conversion_prob"),
    "revenue_per_entrant": ("incremental_revenue_per_entrant", "expected_revenue"),
}
#: Columns of :func:`score_flow_holdouts` (``segment`` only when the estimates have one).
SCORE_COLUMNS = (
    "flow",
    "segment",
    "experiment_id",
    "metric",
    "n",
    "estimate",
    "low",
    "high",
    "sd",
    "truth",
    "truth_exposed",
    "truth_holdout",
    "error",
    "error_in_sd",
    "covered",
)


def _check_estimates(estimates: pd.DataFrame) -> None:
    need = ["flow", "experiment_id"] + [
        f"{p}{s}" for p, _ in METRICS.values() for s in ("", "_low", "_high", "_sd")
    ]
    _require_columns(estimates, need, "flow holdout estimates")


def score_from_responses(
    estimates: pd.DataFrame,
    responses: pd.DataFrame,
    assignments: pd.DataFrame,
    segments: pd.Series | None = None,
    *,
    exposed: str = "exposed",
    holdout: str = "holdout",
) -> pd.DataFrame:
    """Score estimates against true responses given as tables (see :func:`score_flow_holdouts`).

    Parameters
    ----------
    estimates : DataFrame
        :func:`workbench.flows.holdout.flow_incrementality`.
    responses : DataFrame
        ``experiment_id, subscriber_id, arm, conversion_prob, expected_revenue``.
    assignments : DataFrame
        ``experiment_id, subscriber_id``: the entrants of each experiment.
    segments : Series, optional
        ``subscriber_id -> segment`` (text), needed when ``estimates`` has a ``segment`` column.
    exposed, holdout : str
        The arms compared.

    Returns
    -------
    DataFrame
        :data:`SCORE_COLUMNS`.
    """
    _check_estimates(estimates)
    by_segment = "segment" in estimates.columns and estimates["segment"].notna().any()
    if by_segment and segments is None:
        raise WorkbenchError(
            "the estimates are per segment: pass the same segments they were measured with"
        )
    rows = []
    for r in estimates.itertuples(index=False):
        eid = int(r.experiment_id)
        ids = assignments.loc[assignments["experiment_id"] == eid, "subscriber_id"]
        seg = getattr(r, "segment", None) if by_segment else None
        if seg is not None and not pd.isna(seg):
            ids = ids[ids.map(segments).astype(str).to_numpy() == str(seg)]
        resp = responses.loc[responses["experiment_id"] == eid]
        for metric, (prefix, col) in METRICS.items():
            table = resp.pivot_table(index="subscriber_id", columns="arm", values=col)
            for arm in (exposed, holdout):
                if arm not in table.columns:
                    raise WorkbenchError(
                        f"no true responses of experiment {eid} under the arm '{arm}'"
                    )
            both = table[[exposed, holdout]].reindex(ids.to_numpy()).dropna()
            diff = both[exposed] - both[holdout]
            est = float(getattr(r, prefix))
            sd = float(getattr(r, f"{prefix}_sd"))
            low, high = float(getattr(r, f"{prefix}_low")), float(getattr(r, f"{prefix}_high"))
            truth = float(diff.mean()) if len(diff) else np.nan
            rows.append(
                {
                    "flow": r.flow,
                    "segment": seg,
                    "experiment_id": eid,
                    "metric": metric,
                    "n": len(diff),
                    "estimate": est,
                    "low": low,
                    "high": high,
                    "sd": sd,
                    "truth": truth,
                    "truth_exposed": float(both[exposed].mean()) if len(both) else np.nan,
                    "truth_holdout": float(both[holdout].mean()) if len(both) else np.nan,
                    "error": est - truth,
                    "error_in_sd": (est - truth) / sd if sd > 0 else np.nan,
                    "covered": bool(low <= truth <= high) if np.isfinite(truth) else False,
                }
            )
    keep = [c for c in SCORE_COLUMNS if c != "segment" or by_segment]
    return pd.DataFrame(rows, columns=list(SCORE_COLUMNS))[keep]


def score_flow_holdouts(
    world_path: str | Path, estimates: pd.DataFrame, segments: Segments = None
) -> pd.DataFrame:
    """Each flow holdout estimate against the world's true effect on the same entrants.

    Parameters
    ----------
    world_path : path
        A synthetic world folder with ``truth_responses`` for its flow holdouts.
    estimates : DataFrame
        :func:`workbench.flows.holdout.flow_incrementality` of that world.
    segments : str, mapping or Series, optional
        The segments the estimates were measured in (required when they have a ``segment``
        column).

    Returns
    -------
    DataFrame
        :data:`SCORE_COLUMNS`, two rows per estimate: ``metric`` ``conversion_rate``
        (``incremental_rate`` against the mean of exposed minus held-out ``conversion_prob``)
        and ``revenue_per_entrant`` (``incremental_revenue_per_entrant`` against
        ``expected_revenue``); ``n`` entrants with a true response, ``truth_exposed`` and
        ``truth_holdout`` the means under each arm (``truth`` is their difference; beside the
        arms' observed means they tell which arm an error comes from), ``error`` = estimate -
        truth, ``error_in_sd`` in the estimate's standard deviations, ``covered`` whether the
        interval holds the truth.

    Raises
    ------
    WorkbenchError
        When the world has no ``truth_responses`` (real data, an older generator), the
        estimates are per segment without ``segments``, or an arm has no true responses.
    DataError
        When ``estimates`` lacks a column.
    """
    from workbench.schema import load_world
    from workbench.truth import load_truth

    _check_estimates(estimates)
    world = load_world(world_path, tables=["experiments", "assignments"])
    truth = load_truth(world_path, tables=["truth_responses"])
    responses = truth.get("truth_responses")
    if responses is None:
        raise WorkbenchError(
            f"{world_path}: no truth_responses table (real data, or an older generator): "
            "nothing to score flow holdouts against"
        )
    seg = segment_series(world, segments)
    ex = world["experiments"].set_index("experiment_id")
    control = {int(k): str(v) for k, v in ex["control_arm"].items()}
    parts = []
    for eid, est in estimates.groupby("experiment_id", sort=False):
        arms = str(ex.loc[int(eid), "arms"]).split("|") if int(eid) in ex.index else []
        hold = control.get(int(eid), "holdout")
        other = [a.strip() for a in arms if a.strip() != hold] or ["exposed"]
        parts.append(
            score_from_responses(
                est, responses, world["assignments"], seg, exposed=other[0], holdout=hold
            )
        )
    if not parts:
        return score_from_responses(estimates, responses, world["assignments"], seg)
    return pd.concat(parts, ignore_index=True)
