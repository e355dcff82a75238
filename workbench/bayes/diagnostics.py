"""Sampler health of a PyMC fit: R-hat, bulk ESS and divergences (ArviZ 1.x ``arviz_stats``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


class DiagnosticsWarning(UserWarning):
    """The MCMC sampler's diagnostics failed: the posterior summaries cannot be trusted."""


@dataclass(frozen=True)
class Diagnostics:
    """Sampler health of a fit.

    Attributes
    ----------
    max_rhat : float
        Largest rank-normalised split R-hat over all parameters.
    min_ess_bulk : float
        Smallest bulk effective sample size.
    divergences : int
        Divergent transitions after tuning.
    rhat_max, ess_min : float
        The limits applied.
    """

    max_rhat: float
    min_ess_bulk: float
    divergences: int
    rhat_max: float = 1.01
    ess_min: float = 400.0

    @property
    def ok(self) -> bool:
        """Whether every check passes."""
        return (
            self.max_rhat <= self.rhat_max
            and self.min_ess_bulk >= self.ess_min
            and self.divergences == 0
        )

    def __str__(self) -> str:
        return (
            f"max R-hat {self.max_rhat:.3f} (≤ {self.rhat_max}), min bulk ESS "
            f"{self.min_ess_bulk:.0f} (≥ {self.ess_min:g}), {self.divergences} divergences"
        )


def diagnose(
    idata: Any, var_names: list[str], *, rhat_max: float = 1.01, ess_min: float = 400.0
) -> Diagnostics:
    """R-hat, bulk ESS and divergences of a PyMC fit.

    Parameters
    ----------
    idata : DataTree
        What ``pm.sample`` returned (``posterior`` and ``sample_stats`` groups).
    var_names : list of str
        The posterior variables checked.
    rhat_max, ess_min : float
        Limits of :attr:`Diagnostics.ok`.

    Returns
    -------
    Diagnostics
    """
    from arviz_stats import ess, rhat

    post = idata["posterior"].to_dataset()[var_names]
    r = rhat(post)
    e = ess(post, method="bulk")
    max_r = max(float(np.nanmax(r[v].values)) for v in var_names)
    min_e = min(float(np.nanmin(e[v].values)) for v in var_names)
    div = int(idata["sample_stats"]["diverging"].values.sum())
    return Diagnostics(max_r, min_e, div, rhat_max, ess_min)
