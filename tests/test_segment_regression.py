"""Segmentation end to end on generated worlds: one choice of k, and agreement with the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main
from workbench.features import compute_features
from workbench.segment import best_k, segment_subscribers
from workbench.segment.evaluate import agreement
from workbench.synth import generate_world
from workbench.truth import load_truth

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02-segmentation.ipynb"


@pytest.mark.slow
def test_notebook_and_cli_choose_the_same_k(tmp_path: Path) -> None:
    """``workbench segment --k auto`` and the notebook's call choose k by the same function,
    on the same sample: on a world larger than that sample they agree segment for segment."""
    world = generate_world("tiny", n_subscribers=6000, seed=23, out=tmp_path / "w")
    out = tmp_path / "seg.csv"
    args = ["--method", "kmeans", "--k", "auto", "--seed", "5", "--out", str(out)]
    assert main(["segment", "--world", str(world), *args]) == 0
    cli = pd.read_csv(out)
    features = compute_features(world)
    # the notebook's call (cell "How many segments?"), with its default parameters
    nb = segment_subscribers(
        features, method="kmeans", k="auto", min_size=50, seed=5, unreachable="cluster", scores=True
    )
    assert nb.selection is not None and nb.segmenter.n_clusters == best_k(nb.selection)
    pd.testing.assert_frame_equal(nb.table(), cli)
    # the notebook chooses k only through the package
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "segment_subscribers(" in code
    assert "select_k(" not in code and "best_k(" not in code


#: ARI of ``segment_subscribers(features, seed=0)`` (deconvolved, k auto) against the true
#: personas on ``tiny`` worlds of fresh seeds (never used to tune the code). Generator 1.7 made
#: the reading rhythm realistic (opens follow delivery; broadcasts at five hours), so the hour an
#: email is opened says much less about a persona's preferred hour: seeds 101-110 give 0.426,
#: 0.319, 0.434, 0.455, 0.431, 0.389, 0.383, 0.422, 0.382, 0.381 (min 0.319, median 0.406; 6 to
#: 10 segments). The same seeds with the old open timing (opens at the next preferred hour) and
#: everything else of 1.7 give 0.646, 0.657, 0.704, 0.624 (101-104); before 1.7, seeds 101-110
#: gave min 0.549, median 0.708. The floor leaves a margin of about 0.07 below the minimum.
TINY_ARI_FLOOR = 0.25


@pytest.mark.slow
def test_recommended_segmentation_finds_the_personas_of_a_fresh_tiny_world(tmp_path: Path) -> None:
    world = generate_world("tiny", seed=101, out=tmp_path / "w")
    res = segment_subscribers(compute_features(world), seed=0)
    ari = agreement(res.segments, load_truth(world).personas)["ari"]
    assert ari > TINY_ARI_FLOOR


#: Worlds of the random scenario family (:mod:`workbench.synth.family`), 3,000 subscribers each,
#: segmented by the recommended method with k auto (over 4-12). Family seeds 1-10 gave ARI
#: 0.827, 0.645, 0.726, 0.595, 0.791, 0.466, 0.656, 0.854, 0.739, 0.872 and chose 1, 2, 1, 3, 1,
#: 3, 0, 1, 1, 1 segments more than the true number of personas; before lifecycle states were
#: modelled inside segments, k ran to the top of the range on such worlds. The test takes the
#: first three seeds (mean ARI 0.733, mean excess 1.3 segments) with margins of about 0.13 and
#: 1.2 segments.
FAMILY_SEEDS = (1, 2, 3)
FAMILY_MEAN_ARI_FLOOR = 0.6
FAMILY_MEAN_EXCESS_K = 2.5


@pytest.mark.slow
def test_k_auto_holds_on_worlds_of_the_random_family(tmp_path: Path) -> None:
    from workbench.segment import K_RANGE
    from workbench.synth.family import family_scenario

    aris, excess = [], []
    for seed in FAMILY_SEEDS:
        world = generate_world(
            family_scenario(seed, subscribers=3000), seed=seed, out=tmp_path / f"w{seed}"
        )
        res = segment_subscribers(compute_features(world), seed=0)
        truth = load_truth(world).personas
        k = res.segmenter.n_segments_
        assert k < K_RANGE.stop - 1, f"family {seed}: k ran to the top of the range ({k})"
        aris.append(agreement(res.segments, truth)["ari"])
        excess.append(k - truth.nunique())
    assert sum(aris) / len(aris) > FAMILY_MEAN_ARI_FLOOR, aris
    assert sum(excess) / len(excess) < FAMILY_MEAN_EXCESS_K, excess
