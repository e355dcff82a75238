"""The committed sample world is exactly what `make sample` generates."""

from __future__ import annotations

from workbench._io import file_sha256
from workbench.paths import sample_world
from workbench.schema import load_world
from workbench.synth import generate_world
from workbench.truth import load_truth

SAMPLE_SCENARIO, SAMPLE_SEED = "tiny", 20261126  # keep in step with the Makefile's `sample`


def _files(root):
    return {p.relative_to(root).as_posix(): file_sha256(p) for p in root.rglob("*") if p.is_file()}


def test_sample_world_regenerates_identically(tmp_path):
    fresh = generate_world(SAMPLE_SCENARIO, seed=SAMPLE_SEED, out=tmp_path / "sample")
    committed = _files(sample_world())
    assert committed, "datasets/sample is missing: run `make sample`"
    assert _files(fresh) == committed, "datasets/sample is stale: run `make sample` and commit it"


def test_sample_world_meets_the_contract():
    world = load_world(sample_world())
    assert world.meta["seed"] == SAMPLE_SEED
    assert len(world["subscribers"]) == world.meta["n_subscribers"]
    truth = load_truth(sample_world())
    assert truth.scenario["seed"] == SAMPLE_SEED
    for name, rows in truth.scenario["rows"].items():
        assert len(truth[name]) == rows, name
