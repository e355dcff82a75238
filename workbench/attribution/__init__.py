"""Multi-touch attribution: journeys, rule-based, Markov and Shapley models, scored against truth.

The package reads in the shape every capability has. **Inputs**, validated: a world's
touchpoints and orders cut into :class:`Journeys` (:func:`journeys_from_world`, module
``journeys``), or a paths file in the ChannelAttribution layout (:func:`read_paths` /
:func:`validate_paths`, summed by :func:`aggregate_paths`), both encoded for the models as a
``PathSet`` (module ``_core``). **Models**: the rules (module ``rules``), the Markov chain
(:class:`MarkovAttribution`, an estimator: ``fit`` returns ``self``, learned attributes end in
``_``) and Shapley values (:func:`shapley_attribution`), run through one entry point,
:func:`attribute` (one model) or :func:`compare_models` (several; module ``api``); their names,
options and defaults are set once, in module ``options`` (:class:`ModelOptions`), which imports
nothing numeric so the command line can read it. **Results**: one documented table, ``[model,]
[segment,] channel, conversions, value, share, value_share``, summarised by :func:`share_spread`
and, by evaluation code only, scored against a synthetic world's true incremental shares
(:func:`scorecard`, :func:`share_errors`, with ``truth_channels`` from
:func:`load_channel_truth`); channel holdouts measure incrementality from data
(:func:`holdout_lift`). **Plots**: module ``plots``. **Widgets**: none yet (the notebook's
parameters are its controls). **Notebook and CLI**: ``notebooks/04-attribution.ipynb`` calls the
steps of module ``workflow`` (inputs, model list, per-segment model) and the functions above;
``workbench attribute`` (module :mod:`workbench.commands.attribute`) reads a paths file, runs
:func:`attribute` and writes the results table. A new model goes into its own module, is named
in ``options.MODELS`` and dispatched in ``api``.

>>> import pandas as pd
>>> from workbench.attribution import attribute
>>> paths = pd.DataFrame({"path": ["email > sms", "sms"], "total_conversions": [2, 1],
...                       "total_conversion_value": [20.0, 5.0], "total_null": [3, 4]})
>>> attribute(paths, "linear")[["channel", "conversions"]]
  channel  conversions
0   email          1.0
1     sms          2.0
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

# Where each public name lives. Imported on first use (PEP 562), so that the command line can
# read the model names of :mod:`workbench.attribution.options` without loading pandas.
_HOME = {
    "MODELS": "options",
    "PATH_MODELS": "options",
    "ModelOptions": "options",
    "CalibratedAttribution": "calibrated",
    "holdout_evidence": "calibrated",
    "file_incrementality": "incrementality",
    "read_holdouts": "incrementality",
    "validate_holdouts": "incrementality",
    "world_incrementality": "incrementality",
    "attribute": "api",
    "compare_models": "api",
    "share_spread": "api",
    "holdout_lift": "holdout",
    "PATH_COLUMNS": "journeys",
    "Journeys": "journeys",
    "aggregate_paths": "journeys",
    "build_journeys": "journeys",
    "journeys_from_world": "journeys",
    "paths_to_pathset": "journeys",
    "read_paths": "journeys",
    "validate_paths": "journeys",
    "write_paths": "journeys",
    "MarkovAttribution": "markov",
    "load_channel_truth": "scorecard",
    "scorecard": "scorecard",
    "share_errors": "scorecard",
    "true_shares": "scorecard",
    "shapley_attribution": "shapley",
}
__all__ = sorted(_HOME, key=lambda n: (not n[0].isupper(), n))


def __getattr__(name: str) -> Any:
    """A public name (or a submodule such as ``plots``), imported on first use."""
    if name in _HOME:
        value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    elif not name.startswith("__"):
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME})


class _Package(ModuleType):
    """This package, whose public names win over submodules of the same spelling.

    Importing the submodule ``scorecard`` binds it on the package, which would hide the function
    ``scorecard`` of the same name; the function is bound instead (as an eager ``from
    .scorecard import scorecard`` in this file would leave it).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _HOME and isinstance(value, ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
