"""Micro-segmentation workbench for email marketing.

Capabilities live in submodules, imported on demand so that ``import workbench`` stays cheap:

``workbench.synth``        synthetic subscriber worlds with ground truth
``workbench.schema``       the data contract: table schemas and rules, :func:`load_world`
``workbench.db``           the one door through which a world's tables enter DuckDB (checked)
``workbench.truth``        a synthetic world's ground truth, for evaluation code only
``workbench.explore``      descriptive summaries of a world (opens by hour, fatigue, lifecycle)
``workbench.features``     per-subscriber features as of a date (DuckDB over the world's files)
``workbench.segment``      clustering, stability, profiles, rules, drift, playbooks
``workbench.experiments``  Bayesian A/B/n tests per segment (conjugate and hierarchical PyMC)
``workbench.attribution``  journeys and multi-touch attribution (rules, Markov, Shapley)
``workbench.bayes``        the base of every PyMC model (priors, sampler settings, save/load)
``workbench.reports``      papermill report pipeline (executed notebooks, HTML, manifest)
``workbench.plots``        figures shared by the notebooks
``workbench.paths``        where the project keeps data and reports
``workbench.cli``          the ``workbench`` console script; one verb per module in ``commands``

How they fit together: ``docs/architecture.md``.
"""

from workbench.errors import DataError, WorkbenchError

__version__ = "0.1.0"

__all__ = ["DataError", "WorkbenchError", "__version__"]
