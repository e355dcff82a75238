"""Every registered notebook is committed clean and runs under plain papermill.

The report pipeline itself is tested in ``test_reports.py``; here each notebook of
``notebooks/registry.toml`` is executed by the ``papermill`` command line on the committed sample
world, as a user would run it, with small parameters.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from workbench.paths import notebooks_dir, sample_world
from workbench.reports import ReportConfig, load_registry, read_headlines, read_skipped
from workbench.reports.registry import DEFAULT_SEED
from workbench.teaching import read_answers
from workbench.teaching.exercises import questions

ENTRIES = load_registry()
# Small parameters for CI; every other parameter keeps the notebook's own default.
CI_PARAMETERS: dict[str, dict[str, object]] = {
    "02-segmentation": {"k": 6, "n_boot": 2, "sample_size": 800, "seed": 1},
    "03-bayesian-testing": {"draws": 150, "tune": 150, "n_sim": 30, "seed": 1},
    "06-targeting-and-strategy": {"weeks": 2, "replications": 2, "k": 4},
}


def _parameters_cell(nb) -> nbformat.NotebookNode:
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, "exactly one cell must be tagged 'parameters'"
    return cells[0]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_notebook_is_committed_clean_and_documented(entry):
    nb = nbformat.read(entry.path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, "strip outputs before commit"
    source = _parameters_cell(nb).source
    tree = ast.parse(source)
    lines = source.splitlines()
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign | ast.Assign), (
            f"only assignments: {ast.unparse(node)}"
        )
        assert "# help" in lines[node.lineno - 1], (
            f"parameter without '# help': {ast.unparse(node)}"
        )
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3, "a notebook teaches in prose"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_notebook_defaults_are_the_report_defaults(entry):
    """A notebook run on its own opens the report's default world (the committed sample, the
    tiny scenario with the default seed) with the report's seed: the same numbers."""
    nb = nbformat.read(entry.path, as_version=4)
    defaults = {}
    for node in ast.parse(_parameters_cell(nb).source).body:
        target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
        defaults[target.id] = ast.literal_eval(node.value)
    assert defaults.get("seed", DEFAULT_SEED) == DEFAULT_SEED
    assert defaults.get("world", "") == ""  # empty: the sample world, which the report uses
    assert defaults.get("scenario", "tiny") == ReportConfig().scenario
    meta = json.loads((sample_world() / "world.json").read_text())
    assert (meta["scenario_name"], meta["seed"]) == (ReportConfig().scenario, DEFAULT_SEED)


def _run_papermill(entry, world: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Execute ``entry`` on ``world`` with the CI parameters, as a user's shell would."""
    out = tmp_path / entry.path.name
    params = {"world": str(world), **CI_PARAMETERS.get(entry.name, {})}
    args = [sys.executable, "-m", "papermill", str(entry.path), str(out), "--cwd", str(tmp_path)]
    for k, v in params.items():
        args += ["-p", k, str(v)] if isinstance(v, str) else ["-y", json.dumps({k: v})]
    # as from a user's shell: no headless MPLBACKEND, so the kernel shows figures inline
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run(args, capture_output=True, text=True, cwd=notebooks_dir().parent, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(out, as_version=4)


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_notebook_runs_under_plain_papermill(entry, tmp_path):
    nb = _run_papermill(entry, sample_world(), tmp_path)
    assert read_headlines(nb), "the notebook records headline numbers for the report"
    images = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert images >= 1, "figures are shown"
    # every exercise's solution runs and records an answer (the student cells record none)
    graded = [q.id for q in questions(nbformat.read(entry.path, as_version=4)) if q.graded]
    answers = read_answers(nb)
    assert len(graded) >= 2
    assert {q: answers.get(q, {}).get("value") is not None for q in graded} == dict.fromkeys(
        graded, True
    )


#: What each notebook scores against the ground truth: on a world without truth (real data) these
#: sections say why they are not shown, and these headlines are not recorded.
TRUTH_SECTIONS = {
    "01-synthetic-subscribers": (
        {"The personas", "The lifecycle", "The truth kept aside"},
        {"personas"},
    ),
    "02-segmentation": ({"Agreement with the true personas"}, {"ari_vs_truth", "nmi_vs_truth"}),
    "04-attribution": (
        {"Scorecard against the truth"},
        {"best_model", "best_model_mae", "calibrated_mae", "calibrated_spearman"},
    ),
    "05-customer-value": ({"Against the truth"}, {"clv_alive_auc", "clv_true_mae"}),
    "06-targeting-and-strategy": (
        {
            "Against the truth",
            "The strategy lab: promise against truth",
            "The playbook with uplift",
        },
        {"uplift_spearman", "lab_mass", "lab_playbook", "lab_uplift", "lab_random"},
    ),
    "07-flows-content-timing": (
        {"Flow holdouts against the truth", "Send times against the truth"},
        {
            "flow_welcome_truth",
            "flow_cart_abandonment_truth",
            "send_time_error_shrunk",
            "send_time_error_global",
        },
    ),
}


@pytest.fixture(scope="module")
def world_without_truth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample world as a real export would be: every ``truth_*`` file removed."""
    import shutil

    world = tmp_path_factory.mktemp("real") / "world"
    shutil.copytree(sample_world(), world, ignore=shutil.ignore_patterns("truth_*"))
    return world


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_notebook_runs_on_a_world_without_truth(entry, world_without_truth, tmp_path):
    nb = _run_papermill(entry, world_without_truth, tmp_path)
    sections, headlines = TRUTH_SECTIONS.get(entry.name, (set(), set()))
    assert {s["section"] for s in read_skipped(nb)} == sections
    assert read_headlines(nb) and not headlines & set(read_headlines(nb))


def test_every_registered_notebook_exists():
    files = {p.name for p in Path(notebooks_dir()).glob("*.ipynb")}
    assert {e.path.name for e in ENTRIES} == files, "register every notebook in registry.toml"
