"""One base for the Bayesian (PyMC) models of every capability.

``builder``      :class:`ModelBuilder`: ``model_config`` (priors), ``sampler_config``,
                 ``build_model`` without side effects, ``fit``, ``sample_posterior_predictive``,
                 diagnostics, ``save`` / ``load`` of the posterior
``sampling``     NUTS through nutpie or PyMC, with timings (:class:`SamplingInfo`)
``diagnostics``  R-hat, bulk ESS and divergences (:class:`Diagnostics`, :class:`DiagnosticsWarning`)

PyMC is imported only when a model is built or sampled.
"""

from workbench.bayes.builder import ModelBuilder, merge_config
from workbench.bayes.diagnostics import Diagnostics, DiagnosticsWarning, diagnose
from workbench.bayes.sampling import SamplingInfo, resolve_sampler, sample

__all__ = [
    "Diagnostics",
    "DiagnosticsWarning",
    "ModelBuilder",
    "SamplingInfo",
    "diagnose",
    "merge_config",
    "resolve_sampler",
    "sample",
]
