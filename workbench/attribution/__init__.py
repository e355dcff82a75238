"""Multi-touch attribution: journeys, rule-based, Markov and Shapley models, scored against truth.

Start from a world (:func:`journeys_from_world`) or a paths file in the ChannelAttribution layout
(:func:`read_paths`), then credit conversions and value to channels with :func:`attribute` (one
model) or :func:`compare_models` (several, side by side), overall or per segment. Channel holdouts
measure incrementality from data (:func:`holdout_lift`); evaluation code scores credited shares
against a synthetic world's true incremental shares (:func:`scorecard`, with ``truth_channels``
from :func:`workbench.truth.load_truth`).

>>> import pandas as pd
>>> from workbench.attribution import attribute
>>> paths = pd.DataFrame({"path": ["email > sms", "sms"], "total_conversions": [2, 1],
...                       "total_conversion_value": [20.0, 5.0], "total_null": [3, 4]})
>>> attribute(paths, "linear")[["channel", "conversions"]]
  channel  conversions
0   email          1.0
1     sms          2.0
"""

from workbench.attribution.api import MODELS, attribute, compare_models
from workbench.attribution.holdout import holdout_lift
from workbench.attribution.journeys import (
    PATH_COLUMNS,
    Journeys,
    build_journeys,
    journeys_from_world,
    read_paths,
    validate_paths,
    write_paths,
)
from workbench.attribution.markov import MarkovAttribution
from workbench.attribution.scorecard import scorecard, share_errors, true_shares
from workbench.attribution.shapley import shapley_attribution

__all__ = [
    "MODELS",
    "PATH_COLUMNS",
    "Journeys",
    "MarkovAttribution",
    "attribute",
    "build_journeys",
    "compare_models",
    "holdout_lift",
    "journeys_from_world",
    "read_paths",
    "scorecard",
    "share_errors",
    "shapley_attribution",
    "true_shares",
    "validate_paths",
    "write_paths",
]
