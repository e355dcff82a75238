"""Uplift targeting from a randomised email test: whom to send the email to.

:class:`UpliftModel` (:mod:`~.learners`) estimates each subscriber's uplift, the change in the
expected outcome the email causes, with an S-, T-, X- or DR-learner; :mod:`~.metrics` scores a
ranking by predicted uplift as scikit-uplift does (uplift and Qini curves, AUUC, Qini
coefficient, uplift at k, calibration by decile); :mod:`~.policy` chooses the targets within a
budget and measures the expected gain with a bootstrap interval; :mod:`~.segments` names the
persuadables, sure things, lost causes and do-not-disturbs; :mod:`~.plots` draws them;
:mod:`~.simulate` draws a randomised test with a known uplift per subscriber.

:class:`UpliftModel` and :data:`LEARNERS` are imported on first use, so that the metrics,
policies and segments do not pay for importing scikit-learn.
"""

from __future__ import annotations

from typing import Any

from workbench.uplift.data import UpliftData, read_uplift_table, split_test, world_uplift_table
from workbench.uplift.metrics import (
    auuc,
    average_effect,
    calibration_table,
    evaluate,
    qini_coefficient,
    qini_curve,
    uplift_at,
    uplift_curve,
)
from workbench.uplift.policy import choose_targets, expected_gain, gain_table
from workbench.uplift.segments import SEGMENTS, segment_summary, uplift_segments
from workbench.uplift.simulate import simulate_uplift

__all__ = [
    "LEARNERS",
    "SEGMENTS",
    "UpliftData",
    "UpliftModel",
    "auuc",
    "average_effect",
    "calibration_table",
    "choose_targets",
    "evaluate",
    "expected_gain",
    "gain_table",
    "qini_coefficient",
    "qini_curve",
    "read_uplift_table",
    "segment_summary",
    "simulate_uplift",
    "split_test",
    "uplift_at",
    "uplift_curve",
    "uplift_segments",
    "world_uplift_table",
]


def __getattr__(name: str) -> Any:
    if name in ("LEARNERS", "UpliftModel"):
        from workbench.uplift import learners

        return getattr(learners, name)
    raise AttributeError(f"module 'workbench.uplift' has no attribute {name!r}")
