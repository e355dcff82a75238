"""Attribution on tiny worlds it was never tuned on, scored against the simulator's truth.

The bounds come from a sweep over 12 fresh seeds of the ``tiny`` scenario (101-110, 112, 113;
the code's own seeds 0, 1, 7, 11 and 20261126 left out), default size, 30-day lookback, every
model: ``compare_models(journeys_from_world(world))`` against ``truth_channels``. Each bound sits
well beyond the worst seed, so it holds on any machine, yet a broken model crosses it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.attribution import (
    compare_models,
    journeys_from_world,
    load_channel_truth,
    scorecard,
    share_errors,
)
from workbench.schema import load_world

SEEDS = (104, 109)  # two of the sweep's seeds


@pytest.fixture(scope="module", params=SEEDS)
def tiny_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from workbench.synth import generate_world

    out = tmp_path_factory.mktemp(f"tiny{request.param}") / "world"
    return generate_world("tiny", seed=request.param, out=out)


@pytest.mark.slow
def test_attribution_on_a_tiny_world_stays_within_the_sweep(tiny_world: Path) -> None:
    journeys = journeys_from_world(tiny_world)
    results = compare_models(journeys)
    truth = load_channel_truth(tiny_world)
    assert truth is not None

    # every model credits exactly the world's orders that had a touch in their window
    # (sweep: largest gap 5e-11 over 8 models x 12 seeds)
    orders = load_world(tiny_world, tables=["orders"])["orders"]
    observed = len(orders) - journeys.untouched_conversions
    credited = results.groupby("model")["conversions"].sum()
    np.testing.assert_allclose(credited, observed, rtol=1e-9)
    value = orders["revenue"].sum() - journeys.untouched_value
    np.testing.assert_allclose(results.groupby("model")["value"].sum(), value, rtol=1e-9)

    errors = share_errors(results, truth).set_index(["model", "channel"])
    # Markov share of email: sweep min 0.2449, median 0.2479, max 0.2515
    assert 0.22 <= errors.loc[("markov", "email"), "share"] <= 0.28
    # Shapley share of email: sweep min 0.2821, median 0.2909, max 0.2948
    assert 0.26 <= errors.loc[("shapley", "email"), "share"] <= 0.32

    card = scorecard(results, truth).set_index("model")["mean_abs_error"]
    # first touch, the closest to the truth on this scenario: sweep 0.0997 / 0.1065 / 0.1137
    assert card["first"] <= 0.13
    # Markov: sweep 0.1836 / 0.1874 / 0.1911; first beats it by at least 0.076 in every seed
    assert card["markov"] <= 0.21
    assert card["markov"] - card["first"] >= 0.04
