"""The attribution notebook on a paths file instead of a world (test_notebooks runs it on one)."""

from __future__ import annotations

import nbformat
import papermill
import pytest

from workbench import paths
from workbench.attribution import write_paths
from workbench.attribution.simulate import simulate_paths
from workbench.reports import read_headlines

NOTEBOOK = paths.notebooks_dir() / "04-attribution.ipynb"


@pytest.mark.slow
def test_notebook_on_a_paths_file(tmp_path):
    f = write_paths(simulate_paths(3_000, seed=1), tmp_path / "p.csv")
    out = tmp_path / "out.ipynb"
    params = {"paths_file": str(f), "segment_col": "", "models": "last,markov"}
    papermill.execute_notebook(str(NOTEBOOK), str(out), parameters=params, progress_bar=False)
    heads = read_headlines(nbformat.read(out, as_version=4))
    assert heads["attribution_journeys"]["value"] == 3_000
