"""The attribution notebook's steps and the one source of model options."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import paths as wpaths
from workbench.attribution import (
    ModelOptions,
    aggregate_paths,
    attribute,
    compare_models,
    load_channel_truth,
    share_spread,
    validate_paths,
)
from workbench.attribution.workflow import load_inputs, parse_models, segment_model
from workbench.errors import WorkbenchError

SEGMENTED = pd.DataFrame(
    {
        "segment": ["x", "x", "y", "y"],
        "path": ["a > b", "b", "a > b", "c"],
        "total_conversions": [1.0, 2.0, 3.0, 0.0],
        "total_conversion_value": [10.0, 5.0, 7.0, 0.0],
        "total_null": [4.0, 1.0, 0.0, 2.0],
    }
)


def test_aggregate_paths_sums_segments_or_keeps_them() -> None:
    overall = aggregate_paths(SEGMENTED)
    assert overall["path"].tolist() == ["a > b", "b", "c"]
    assert overall["total_conversions"].tolist() == [4.0, 2.0, 0.0]
    assert overall["total_conversion_value"].tolist() == [17.0, 5.0, 0.0]
    assert overall["total_null"].tolist() == [4.0, 1.0, 2.0]
    kept = aggregate_paths(SEGMENTED.iloc[::-1], "segment")
    pd.testing.assert_frame_equal(kept, SEGMENTED)  # sorted back by segment and path
    # validate_paths aggregates the same way
    pd.testing.assert_frame_equal(validate_paths(SEGMENTED, segment_col="segment"), SEGMENTED)


def test_model_defaults_have_one_source() -> None:
    opts = ModelOptions(order=2, half_life=3.0, first=0.3, last=0.5, seed=4)
    by_attribute = attribute(SEGMENTED.drop(columns="segment"), "position", first=0.3, last=0.5)
    by_compare = compare_models(SEGMENTED.drop(columns="segment"), ["position"], first=0.3,
                                last=0.5)  # fmt: skip
    pd.testing.assert_frame_equal(by_compare.drop(columns="model"), by_attribute)
    assert opts.replace(order=3).order == 3 and opts.order == 2
    with pytest.raises(WorkbenchError, match="unknown attribution option 'halflife'"):
        compare_models(SEGMENTED, ["linear"], halflife=2.0)
    with pytest.raises(WorkbenchError, match="unknown model 'markovx'"):
        compare_models(SEGMENTED, ["markovx"])


def test_parse_models_and_segment_model() -> None:
    assert parse_models(" last, markov2 ,,shapley") == ["last", "markov2", "shapley"]
    with pytest.raises(WorkbenchError, match="unknown model 'lastt'"):
        parse_models("first,lastt")
    with pytest.raises(WorkbenchError, match="no attribution model"):
        parse_models(" , ")
    assert segment_model(["last", "markov"]) == "markov"
    assert segment_model(["last", "markov2"]) == "last"


def test_share_spread() -> None:
    per = attribute(SEGMENTED, "last", by="segment")
    spread = share_spread(per)
    # last touch: every conversion of both segments goes to b, so no channel spreads
    assert spread.to_dict() == pytest.approx({"a": 0.0, "b": 0.0, "c": 0.0})
    per = attribute(SEGMENTED, "first", by="segment")
    # first touch: x gives a 1/3 and b 2/3; y gives a 3/3
    assert share_spread(per).to_dict() == pytest.approx({"a": 2 / 3, "b": 2 / 3, "c": 0.0})


def test_inputs_from_a_paths_file(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    SEGMENTED.to_csv(f, index=False)
    inputs = load_inputs(paths_file=f, segment_col="segment")
    assert inputs.by == "segment" and inputs.world is None and inputs.holdouts.empty
    assert inputs.n_journeys == 13
    assert inputs.summary() == f"paths file {f}: 13 journeys, 6 conversions, 3 distinct paths"
    assert load_channel_truth(inputs.world) is None


def test_inputs_from_a_world_without_holdout_tables(tmp_path: Path) -> None:
    world = tmp_path / "w"
    shutil.copytree(wpaths.world_dir(""), world)
    full = load_inputs(world)
    assert len(full.holdouts) > 0
    (world / "experiments.parquet").unlink()
    (world / "assignments.parquet").unlink()
    bare = load_inputs(world)
    assert bare.holdouts.empty
    pd.testing.assert_frame_equal(bare.paths, full.paths)
    truth = load_channel_truth(world)
    assert truth is not None and set(truth["channel"]) >= set(full.data.touches["channel"])
    assert np.isclose(full.overall["total_conversions"].sum(),
                      full.data.journeys["converted"].sum())  # fmt: skip


def test_cli_reads_model_names_without_the_numeric_stack() -> None:
    # the CLI takes its choices and defaults from workbench.attribution.options, the one source
    code = (
        "import sys\n"
        "from workbench.cli import build_parser\n"
        "from workbench.attribution.options import MODELS\n"
        "args = build_parser().parse_args(['attribute', '--paths', 'p', '--model', MODELS[-1], "
        "'--out', 'o.csv'])\n"
        "assert args.model == 'calibrated' and args.order == 1, args\n"
        "heavy = [m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    "first",
    [
        "from workbench.attribution import load_channel_truth",
        "from workbench.attribution.scorecard import true_shares",
        "import workbench.attribution.scorecard",
    ],
)
def test_the_scorecard_function_is_not_hidden_by_its_module(first: str) -> None:
    # the package imports lazily: loading the submodule `scorecard` in any order must leave
    # `workbench.attribution.scorecard` the function, as an eager import did
    code = (
        f"{first}\n"
        "from workbench.attribution import scorecard\n"
        "import workbench.attribution as pkg\n"
        "assert callable(scorecard) and pkg.scorecard is scorecard, scorecard\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
