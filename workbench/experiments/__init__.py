"""Bayesian analysis of A/B/n tests per micro-segment.

``inputs``        results tables from interchange files or from a world's experiments; the
                  control arm of a table (:func:`control_arm`)
``conjugate``     exact Beta–Binomial (and revenue) analysis: :class:`ConjugateABTest`
``hierarchical``  PyMC partial pooling across segments: :class:`HierarchicalABTest`
``factorial``     Bayesian logistic model of factorial tests: :class:`FactorialLogisticModel`
``_summary``      the segment × arm layout, posterior summaries and the decision columns that
                  every model's results table shares
``checks``        sample-ratio mismatch, chance winners, incremental lift over a holdout
``sequential``    expected-loss stopping vs peeking at p-values (simulation)
``plots``         figures; ``widgets``: the teaching explorer (ipywidgets, imported lazily)
``notebook``      the few helpers only notebook 03 uses

The PyMC models are :class:`workbench.bayes.ModelBuilder` subclasses: priors in
``model_config``, NUTS settings in ``sampler_config``, ``save`` / ``load`` of a fit. PyMC is
imported only when a PyMC model is fitted.
"""

from workbench.experiments.checks import expected_chance_winners, incremental, srm_test
from workbench.experiments.conjugate import ConjugateABTest, analyze, beta_hdi
from workbench.experiments.factorial import FactorialLogisticModel
from workbench.experiments.hierarchical import (
    Diagnostics,
    DiagnosticsWarning,
    HierarchicalABTest,
)
from workbench.experiments.inputs import (
    control_arm,
    from_aggregated,
    from_recipients,
    from_world,
    read_results,
)
from workbench.experiments.sequential import simulate_monitoring

__all__ = [
    "ConjugateABTest",
    "Diagnostics",
    "DiagnosticsWarning",
    "FactorialLogisticModel",
    "HierarchicalABTest",
    "analyze",
    "beta_hdi",
    "control_arm",
    "expected_chance_winners",
    "from_aggregated",
    "from_recipients",
    "from_world",
    "incremental",
    "read_results",
    "simulate_monitoring",
    "srm_test",
]
