"""Micro-segmentation workbench for email marketing.

Capabilities live in submodules, imported on demand so that ``import workbench`` stays cheap:

``workbench.synth``        synthetic subscriber worlds with ground truth
``workbench.schema``       the data contract: table schemas, validation, :func:`load_world`
``workbench.reports``      papermill report pipeline (executed notebooks, HTML, manifest)
``workbench.paths``        where the project keeps data and reports
"""

from workbench.errors import DataError, WorkbenchError

__version__ = "0.1.0"

__all__ = ["DataError", "WorkbenchError", "__version__"]
