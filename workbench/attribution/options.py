"""The attribution models' names and options, with their defaults: set once, here.

This module imports nothing numeric, so the command line builds ``workbench attribute --help``
from it without loading pandas; :func:`~workbench.attribution.attribute`,
:func:`~workbench.attribution.compare_models` and the notebook take their defaults from it too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from workbench.errors import WorkbenchError

#: The rule-based models, in the order results list them.
RULES = ("first", "last", "last_non_direct", "linear", "position", "time_decay")
#: The path-based models: they credit observed conversions.
PATH_MODELS = (*RULES, "markov", "shapley")
#: Every model :func:`~workbench.attribution.attribute` runs; ``calibrated`` scales a path
#: model's credit by holdout-informed incrementality factors and needs holdout results.
MODELS = (*PATH_MODELS, "calibrated")
#: How Shapley values are computed (see :func:`~workbench.attribution.shapley_attribution`).
SHAPLEY_METHODS = ("exact", "coalitions", "sampling")
#: The highest Markov order (a state remembers at most this many channels).
MAX_MARKOV_ORDER = 4


@dataclass(frozen=True)
class ModelOptions:
    """The models' options and their defaults (the one place they are set).

    :func:`~workbench.attribution.attribute` documents each; :func:`~workbench.attribution.
    compare_models` and ``workbench attribute`` pass them on by name.
    """

    order: int = 1
    half_life: float = 7.0
    first: float = 0.4
    last: float = 0.4
    direct: str = "direct"
    shapley_method: str = "exact"
    max_channels: int = 15
    n_permutations: int = 2000
    seed: int | None = 0
    base: str = "markov"

    def replace(self, **changes: Any) -> ModelOptions:
        """A copy with ``changes``; an unknown option is a :class:`WorkbenchError`."""
        unknown = sorted(set(changes) - {f.name for f in fields(self)})
        if unknown:
            names = ", ".join(f.name for f in fields(self))
            raise WorkbenchError(f"unknown attribution option '{unknown[0]}'; options are {names}")
        return dataclasses.replace(self, **changes)


DEFAULTS = ModelOptions()


def model_and_order(name: str) -> tuple[str, int | None]:
    """``"markov2"`` -> ``("markov", 2)``; a model of :data:`MODELS` -> ``(name, None)``.

    Raises
    ------
    WorkbenchError
        For any other name.
    """
    if name in MODELS:
        return name, None
    if name.startswith("markov") and name[6:].isdigit():
        return "markov", int(name[6:])
    raise WorkbenchError(f"unknown model '{name}'; models are {', '.join(MODELS)}")
