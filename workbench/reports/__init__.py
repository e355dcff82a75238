"""Reproducible reports: run the registered notebooks with papermill, write HTML and a manifest.

In a notebook, :func:`record` marks a headline number for the manifest, :func:`skip` a section
the data does not allow and :func:`takeaway` writes a table for stakeholders into the run folder
(cheap to import: this package pulls in papermill and nbconvert only when a report runs).
From Python::

    from workbench.reports import ReportConfig, run_report
    result = run_report(ReportConfig(scenario="tiny", seed=1))
    result.run_dir  # reports/<run-id>/ with the notebooks, report.html, manifest.json

From the shell: ``workbench report`` (see ``workbench report --help``).
"""

from workbench.reports._record import (
    HEADLINE_MIME,
    SKIPPED_MIME,
    TAKEAWAY_MIME,
    needs,
    read_headlines,
    read_skipped,
    read_takeaways,
    record,
    skip,
    takeaway,
)
from workbench.reports.registry import (
    NotebookEntry,
    ReportConfig,
    load_config,
    load_registry,
)
from workbench.reports.runner import RunResult, notebook_parameters, run_report

__all__ = [
    "HEADLINE_MIME",
    "SKIPPED_MIME",
    "TAKEAWAY_MIME",
    "NotebookEntry",
    "ReportConfig",
    "RunResult",
    "load_config",
    "load_registry",
    "needs",
    "notebook_parameters",
    "read_headlines",
    "read_skipped",
    "read_takeaways",
    "record",
    "run_report",
    "skip",
    "takeaway",
]
