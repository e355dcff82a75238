"""Multi-touch attribution: journeys, rule-based, Markov and Shapley models, scored against truth.

The package reads in the shape every capability has. **Inputs**, validated: a world's
touchpoints and orders cut into :class:`Journeys` (:func:`journeys_from_world`, module
``journeys``), or a paths file in the ChannelAttribution layout (:func:`read_paths` /
:func:`validate_paths`, summed by :func:`aggregate_paths`), both encoded for the models as a
``PathSet`` (module ``_core``). **Models**: the rules (module ``rules``), the Markov chain
(:class:`MarkovAttribution`, an estimator: ``fit`` returns ``self``, learned attributes end in
``_``) and Shapley values (:func:`shapley_attribution`), run through one entry point,
:func:`attribute` (one model) or :func:`compare_models` (several), whose options and defaults
live once in :class:`ModelOptions` (module ``api``). **Results**: one documented table, ``[model,]
[segment,] channel, conversions, value, share, value_share``, summarised by :func:`share_spread`
and, by evaluation code only, scored against a synthetic world's true incremental shares
(:func:`scorecard`, :func:`share_errors`, with ``truth_channels`` from
:func:`load_channel_truth`); channel holdouts measure incrementality from data
(:func:`holdout_lift`). **Plots**: module ``plots``. **Widgets**: none yet (the notebook's
parameters are its controls). **Notebook and CLI**: ``notebooks/04-attribution.ipynb`` calls the
steps of module ``workflow`` (inputs, model list, per-segment model) and the functions above;
``workbench attribute`` (module :mod:`workbench.commands.attribute`) reads a paths file, runs
:func:`attribute` and writes the results table.

>>> import pandas as pd
>>> from workbench.attribution import attribute
>>> paths = pd.DataFrame({"path": ["email > sms", "sms"], "total_conversions": [2, 1],
...                       "total_conversion_value": [20.0, 5.0], "total_null": [3, 4]})
>>> attribute(paths, "linear")[["channel", "conversions"]]
  channel  conversions
0   email          1.0
1     sms          2.0
"""

from workbench.attribution.api import (
    MODELS,
    ModelOptions,
    attribute,
    compare_models,
    share_spread,
)
from workbench.attribution.holdout import holdout_lift
from workbench.attribution.journeys import (
    PATH_COLUMNS,
    Journeys,
    aggregate_paths,
    build_journeys,
    journeys_from_world,
    paths_to_pathset,
    read_paths,
    validate_paths,
    write_paths,
)
from workbench.attribution.markov import MarkovAttribution
from workbench.attribution.scorecard import (
    load_channel_truth,
    scorecard,
    share_errors,
    true_shares,
)
from workbench.attribution.shapley import shapley_attribution

__all__ = [
    "MODELS",
    "PATH_COLUMNS",
    "Journeys",
    "MarkovAttribution",
    "ModelOptions",
    "aggregate_paths",
    "attribute",
    "build_journeys",
    "compare_models",
    "holdout_lift",
    "journeys_from_world",
    "load_channel_truth",
    "paths_to_pathset",
    "read_paths",
    "scorecard",
    "share_errors",
    "share_spread",
    "shapley_attribution",
    "true_shares",
    "validate_paths",
    "write_paths",
]
