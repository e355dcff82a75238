"""``workbench uplift``: a randomised test in, one uplift score per row out (and the scorecard).

The test files are drawn from :func:`workbench.uplift.simulate.simulate_uplift`, whose true
uplift per subscriber is known, with a text column and a third arm ("sms") that is scored but
never fitted. The command runs in-process (``workbench.cli.main``), as a user types it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

import workbench.uplift.learners  # noqa: F401 (scikit-learn's OpenMP loaded, so it can be limited)
from workbench.cli import main
from workbench.errors import DataError, WorkbenchError
from workbench.paths import sample_world
from workbench.schema import TRUTH_TABLES, load_world
from workbench.uplift.data import (
    MIN_ROWS_PER_ARM,
    read_uplift_table,
    split_test,
    world_uplift_table,
)
from workbench.uplift.scorecard import score_uplift, true_uplift, uplift_from_responses
from workbench.uplift.simulate import simulate_uplift

SUMMARY_KEYS = {
    "model", "outcome_kind", "n_train", "n_test", "treatment", "control", "ate", "ate_se",
    "auuc", "qini_coefficient", "uplift_at", "calibration", "seed", "source",
}  # fmt: skip
ARMS = {1: "email", 0: "none"}
#: Spearman correlation of the held-out scores (default model) with the true uplift: measured
#: 0.34-0.68 over eight simulated tests of 3,000 rows (seeds 11-18; random scores: 0 +- 0.03).
RHO_FLOOR = 0.2
#: Held-out AUUC (0 = random order), mean of three tests: measured -0.013-0.096 per test over the
#: same eight seeds (mean 0.045, sd 0.035); random scores on 1,275 held-out rows: 0 +- 0.02.
AUUC_FLOOR = 0.0


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One OpenMP thread per fit: on a busy machine (tests beside other work) the boosting models
    run many times faster than with every core fighting for it (measured 2.4 s against 35 s)."""
    with threadpool_limits(1):
        yield


def _test_file(folder: Path, n: int, seed: int, kind: str = "binary") -> tuple[Path, pd.DataFrame]:
    """A CSV of a three-arm test (email / none / sms) and the frame written, with ``tau``."""
    X, y, t, tau = simulate_uplift(n, seed=seed, kind=kind)
    rng = np.random.default_rng(seed + 1000)
    arm = np.where(t == 1, ARMS[1], ARMS[0]).astype(object)
    arm[rng.random(n) < 0.15] = "sms"  # a third arm: kept for scoring, never fitted
    frame = X.assign(
        region=rng.choice(["north", "south", "east", "west"], size=n),
        arm=arm,
        converted=y,
    )
    path = folder / f"test-{seed}-{kind}.csv"
    frame.to_csv(path, index=False)
    return path, frame.assign(tau=tau)


def _argv(path: Path, out: Path, *extra: str) -> list[str]:
    return ["uplift", "--input", str(path), "--treatment-col", "arm", "--treatment", "email",
            "--control", "none", "--outcome", "converted", "--out", str(out), *extra]  # fmt: skip


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("workbench uplift: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def test_csv(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A 3,000-row three-arm test (CSV) and its frame with the true uplift ``tau``."""
    return _test_file(tmp_path_factory.mktemp("uplift"), 3000, seed=1)


@pytest.fixture(scope="module")
def run(test_csv: tuple[Path, pd.DataFrame]) -> dict[str, object]:
    """One run of the verb on the test with --summary-out."""
    path, frame = test_csv
    out, summary = path.parent / "scores.csv", path.parent / "summary.json"
    status = main(_argv(path, out, "--summary-out", str(summary), "--seed", "7"))
    return {"status": status, "path": path, "frame": frame, "out": out, "summary": summary}


# --------------------------------------------------------------------------------- the verb


def test_scores_have_one_row_per_input_row_with_its_split(run: dict, capsys) -> None:
    assert run["status"] == 0
    frame, scores = run["frame"], pd.read_csv(run["out"])
    assert list(scores.columns) == ["row", "split", "uplift"]
    assert scores["row"].tolist() == list(range(len(frame)))
    other = (frame["arm"] == "sms").to_numpy()
    assert (scores["split"].to_numpy()[other] == "other").all()
    assert set(scores.loc[~other, "split"]) == {"train", "test"}
    assert np.isfinite(scores["uplift"]).all()
    # stratified 50/50: each arm x outcome cell is split in half (rounding: one row per cell)
    compared = frame.loc[~other].assign(split=scores.loc[~other, "split"].to_numpy())
    cells = compared.groupby(["arm", "converted"])["split"].agg(
        lambda s: (s == "test").sum() - (s == "train").sum()
    )
    assert cells.abs().max() <= 1, cells


def test_summary_holds_the_held_out_evaluation(run: dict) -> None:
    s = json.loads(run["summary"].read_text())
    assert SUMMARY_KEYS <= set(s)
    frame = run["frame"]
    n_compared = int((frame["arm"] != "sms").sum())
    assert s["n_train"] + s["n_test"] == n_compared
    assert abs(s["n_train"] - s["n_test"]) <= 4
    assert (s["model"], s["outcome_kind"], s["seed"]) == ("x", "binary", 7)
    assert (s["treatment"], s["control"]) == ("email", "none")
    assert set(s["uplift_at"]) == {"0.1", "0.2", "0.3"}
    assert isinstance(s["calibration"], list) and s["calibration"]
    assert s["source"] == str(run["path"])
    # the held-out ATE is the difference of means of the test rows, within its standard error
    scores = pd.read_csv(run["out"])
    test = frame.loc[(scores["split"] == "test").to_numpy()]
    means = test.groupby("arm")["converted"].mean()
    assert s["ate"] == pytest.approx(means["email"] - means["none"], abs=1e-9)
    assert 0 < s["ate_se"] < 0.05


def test_scores_rank_the_true_uplift_on_held_out_rows(run: dict, tmp_path: Path, capsys) -> None:
    """Over three simulated tests the held-out scores rank the true uplift (not one seed)."""
    runs = [(run["frame"], run["out"], run["summary"])]
    for seed in (12, 13):
        path, frame = _test_file(tmp_path, 3000, seed=seed)
        out, summary = tmp_path / f"s{seed}.csv", tmp_path / f"s{seed}.json"
        assert main(_argv(path, out, "--summary-out", str(summary), "--seed", str(seed))) == 0
        runs.append((frame, out, summary))
    capsys.readouterr()
    rhos, auucs = [], []
    for frame, out, summary in runs:
        scores = pd.read_csv(out)
        test = (scores["split"] == "test").to_numpy()
        rhos.append(score_uplift(scores.loc[test, "uplift"], frame.loc[test, "tau"])["spearman"])
        auucs.append(json.loads(summary.read_text())["auuc"])
    assert min(rhos) > RHO_FLOOR, rhos
    assert np.mean(auucs) > AUUC_FLOOR, auucs


def test_same_seed_same_bytes_other_seed_other_split(tmp_path: Path, capsys) -> None:
    path, _ = _test_file(tmp_path, 1000, seed=5)
    first, summary = tmp_path / "first.csv.gz", tmp_path / "first.json"
    argv = _argv(path, first, "--summary-out", str(summary), "--seed", "3", "--model", "t")
    assert main(argv) == 0
    out, again = tmp_path / "again.csv.gz", tmp_path / "again.json"
    assert main(_argv(path, out, "--summary-out", str(again), "--seed", "3", "--model", "t")) == 0
    assert out.read_bytes() == first.read_bytes()
    assert again.read_bytes() == summary.read_bytes()
    other = tmp_path / "other.csv"
    assert main(_argv(path, other, "--seed", "4", "--model", "t")) == 0
    a, b = pd.read_csv(first), pd.read_csv(other)
    assert (a["split"] != b["split"]).any()
    assert ((a["split"] == "other") == (b["split"] == "other")).all()
    capsys.readouterr()
    # an existing output is kept without --overwrite, replaced with it
    assert main(_argv(path, out, "--seed", "4", "--model", "t")) == 2
    assert "already exists (use --overwrite" in _one_error_line(capsys)
    assert out.read_bytes() == first.read_bytes()
    assert main(_argv(path, out, "--seed", "4", "--model", "t", "--overwrite")) == 0
    assert pd.read_csv(out).equals(b)
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def _bad_copy(frame: pd.DataFrame, folder: Path, edit) -> tuple[Path, int]:
    """The test with ``edit(frame)`` applied; returns the file and the edited line."""
    frame = frame.drop(columns="tau")
    line = edit(frame)
    path = folder / "bad.csv"
    frame.to_csv(path, index=False)
    return path, line


def _first_row(frame: pd.DataFrame, arm: str, start: int = 0) -> int:
    return int(np.flatnonzero((frame["arm"] == arm).to_numpy())[start])


def test_bad_inputs_exit_2_naming_file_column_and_lines(test_csv, tmp_path: Path, capsys):
    def outcome(value):
        def edit(frame: pd.DataFrame) -> int:
            i = _first_row(frame, "email", 3)
            frame["converted"] = frame["converted"].astype(object)
            frame.loc[i, "converted"] = value
            return i + 2  # the header is line 1

        return edit

    def no_arm(frame: pd.DataFrame) -> int:
        i = _first_row(frame, "none", 2)
        frame.loc[i, "arm"] = np.nan
        return i + 2

    cases = [
        (no_arm, [], "column 'arm': missing arm in 1 row"),
        (outcome(2), ["--outcome-kind", "binary"], "column 'converted': a binary outcome must be"),
        (outcome(np.nan), [], "column 'converted': missing outcome values in 1 row"),
        (outcome("yes"), [], "column 'converted': outcome values that are not (finite) numbers"),
    ]
    for edit, extra, fragment in cases:
        path, line = _bad_copy(test_csv[1], tmp_path, edit)
        out = tmp_path / "never.csv"
        assert main(_argv(path, out, *extra)) == 2
        msg = _one_error_line(capsys)
        assert f"{path}, {fragment}" in msg and f"(first: line {line})" in msg, msg
        assert not out.exists()
    path = test_csv[0]
    out = tmp_path / "never.csv"
    simple = [
        (["--treatment", "letter"], "column 'arm': no treatment arm 'letter' (the column has"),
        (["--control", "sms", "--treatment", "sms"], "same arm 'sms'"),
        (["--outcome", "revenue"], "column 'revenue': no such outcome column (the file has: "),
        (["--features", "device,age"], "column 'age': no such feature column"),
        (["--treatment-col", "region", "--treatment", "north", "--control", "mars"],
         "no control arm 'mars' (the column has east, north, south, west): one arm only"),
    ]  # fmt: skip
    for extra, fragment in simple:
        argv = _argv(path, out)
        for flag, value in zip(extra[::2], extra[1::2], strict=True):
            if flag in argv:
                argv[argv.index(flag) + 1] = value
            else:
                argv += [flag, value]
        assert main(argv) == 2
        msg = _one_error_line(capsys)
        assert fragment in msg, msg
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_world_experiment_scores_every_assigned_subscriber(tmp_path: Path, capsys) -> None:
    out, summary = tmp_path / "world.parquet", tmp_path / "world.json"
    argv = ["uplift", "--world", str(sample_world()), "--out", str(out), "--summary-out",
            str(summary), "--model", "t"]  # fmt: skip
    assert main(argv) == 0
    line = capsys.readouterr().out.strip().splitlines()
    assert len(line) == 1 and str(out) in line[0]
    scores = pd.read_parquet(out)
    world = load_world(sample_world(), tables=["experiments", "assignments"])
    exps = world["experiments"]
    exp_id = int(exps.loc[exps["name"] == "segmented vs mass send", "experiment_id"].iloc[0])
    asg = world["assignments"]
    asg = asg.loc[asg["experiment_id"] == exp_id].sort_values("subscriber_id")
    assert list(scores.columns) == ["row", "subscriber_id", "split", "uplift"]
    assert scores["subscriber_id"].tolist() == asg["subscriber_id"].tolist()
    other = (asg["arm"] == "segmented").to_numpy()
    assert ((scores["split"] == "other").to_numpy() == other).all()
    s = json.loads(summary.read_text())
    assert (s["treatment"], s["control"], s["outcome_kind"]) == ("mass", "holdout", "binary")
    assert "segmented vs mass send" in s["source"]
    assert s["n_train"] + s["n_test"] == int((~other).sum())
    assert np.isfinite(scores["uplift"]).all()


# ------------------------------------------------------------------------- the inputs (API)


def test_features_become_floats_and_categories(test_csv, tmp_path: Path) -> None:
    path, frame = test_csv
    d = read_uplift_table(
        path, treatment_col="arm", treatment="email", control="none", outcome="converted"
    )
    assert d.feature_names == tuple(
        c for c in frame.columns if c not in ("arm", "converted", "tau")
    )
    assert isinstance(d.X["device"].dtype, pd.CategoricalDtype)
    assert list(d.X["region"].cat.categories) == ["east", "north", "south", "west"]
    assert d.X["opens_90d"].dtype == float and d.outcome_kind == "binary"
    assert d.n_other == int((frame["arm"] == "sms").sum())
    assert (d.treatment[(frame["arm"] == "email").to_numpy()] == 1).all()
    # numbers as arms ("1" matches 1), booleans as features, Parquet rows named by row number
    pq = tmp_path / "t.parquet"
    small = frame.drop(columns="tau").assign(
        arm=np.where(frame["arm"] == "email", 1, np.where(frame["arm"] == "none", 0, 2)),
        mobile=frame["device"] == "mobile",
    )
    small.to_parquet(pq)
    d2 = read_uplift_table(pq, treatment_col="arm", treatment="1", control="0", outcome="converted",
                           features=["mobile", "region"])  # fmt: skip
    assert (d2.treatment == d.treatment).all() and d2.feature_names == ("mobile", "region")
    assert d2.X["mobile"].dtype == float
    small.loc[5, "converted"] = 3.0
    small.to_parquet(pq)
    with pytest.raises(DataError, match=r"0 or 1; other values in 1 row \(first: row 5\)"):
        read_uplift_table(pq, treatment_col="arm", treatment="1", control="0",
                          outcome="converted", outcome_kind="binary")  # fmt: skip
    auto = read_uplift_table(pq, treatment_col="arm", treatment="1", control="0",
                             outcome="converted")  # fmt: skip
    assert auto.outcome_kind == "continuous"


def test_ids_and_small_tests_are_refused(test_csv, tmp_path: Path) -> None:
    source, frame = test_csv
    frame = frame.drop(columns="tau")
    path = tmp_path / "ids.csv"
    frame.assign(email=[f"p{i}@x.org" for i in range(len(frame))]).to_csv(path, index=False)
    kw = dict(treatment_col="arm", treatment="email", control="none", outcome="converted")
    with pytest.raises(DataError, match="column 'email': text column with 3,000 distinct values"):
        read_uplift_table(path, **kw)
    assert read_uplift_table(path, **kw, features=["device"]).feature_names == ("device",)
    with pytest.raises(WorkbenchError, match="cannot be a feature"):
        read_uplift_table(path, **kw, features=["device", "arm"])
    small = tmp_path / "small.csv"
    keep = np.flatnonzero((frame["arm"] == "none").to_numpy())[MIN_ROWS_PER_ARM - 1 :]
    frame.drop(index=keep).to_csv(small, index=False)
    with pytest.raises(DataError, match=f"only {MIN_ROWS_PER_ARM - 1} rows in arm 'none'"):
        read_uplift_table(small, **kw)
    d = read_uplift_table(source, **kw)
    with pytest.raises(DataError, match="too small for this test size"):
        split_test(d, test_size=0.001)


def test_world_outcomes_match_the_experiment_readers() -> None:
    """Conversions of the world table are those of abtest's reader (orders in the window)."""
    from workbench.experiments.inputs import world_recipients

    d = world_uplift_table(sample_world())
    rev = world_uplift_table(sample_world(), outcome="revenue")
    world = load_world(sample_world(), tables=["experiments", "assignments", "orders"])
    exp_id = int(d.source.split(" experiment ")[1].split()[0])
    rec = world_recipients(world, exp_id).set_index("subscriber_id").loc[d.X.index]
    assert (d.y == rec["converted"].to_numpy(float)).all()
    assert np.allclose(rev.y, rec["revenue"].to_numpy(float))
    assert ((rev.y > 0) == (d.y == 1)).all()
    assert d.X.index.name == "subscriber_id" and d.X.notna().any().all()
    assert all(d.X[c].nunique(dropna=False) > 1 for c in d.feature_names)
    with pytest.raises(WorkbenchError, match="no experiment 'nope'"):
        world_uplift_table(sample_world(), experiment="nope")
    with pytest.raises(WorkbenchError, match="has no treatment arm 'mass'"):
        world_uplift_table(sample_world(), experiment=1)
    by_name = world_uplift_table(
        sample_world(), experiment="subject line: urgency vs proof", treatment="urgency",
        control="control",
    )  # fmt: skip
    assert by_name.n_other == int((by_name.treatment == -1).sum()) > 0


# ------------------------------------------------------------------------------- scorecard


def test_score_uplift_perfect_reversed_and_random() -> None:
    rng = np.random.default_rng(0)
    idx = pd.Index(np.arange(2000) + 100, name="subscriber_id")
    truth = pd.Series(rng.normal(0.02, 0.03, len(idx)), index=idx)
    best = score_uplift(truth * 3 + 1, truth)
    assert best["n"] == 2000 and best["spearman"] == pytest.approx(1.0)
    assert best["top_captured"] == 1.0
    assert all(g["captured"] == pytest.approx(1.0) for g in best["true_gain_at"].values())
    assert best["true_ate"] == pytest.approx(truth.mean())
    worst = score_uplift(-truth, truth)
    assert worst["spearman"] == pytest.approx(-1.0) and worst["top_captured"] == 0.0
    assert worst["true_gain_at"]["0.1"]["captured"] < -0.5
    # random rankings capture nothing on average: within 4 standard errors of 0 over 30 draws
    caught = [
        score_uplift(pd.Series(rng.normal(size=len(idx)), index=idx), truth)["true_gain_at"]["0.2"][
            "captured"
        ]
        for _ in range(30)
    ]
    assert abs(np.mean(caught)) < 4 * np.std(caught, ddof=1) / np.sqrt(len(caught))
    # only subscribers in both series are scored
    part = score_uplift(truth.iloc[:500], truth.iloc[250:])
    assert part["n"] == 250
    with pytest.raises(WorkbenchError, match="nothing to score"):
        score_uplift(truth.iloc[:1], truth)


def test_uplift_from_responses() -> None:
    responses = pd.DataFrame(
        {
            "experiment_id": [4, 4, 4, 4, 4, 4, 1, 1],
            "subscriber_id": [2, 2, 2, 1, 1, 1, 1, 1],
            "arm": ["mass", "holdout", "segmented"] * 2 + ["control", "urgency"],
            "conversion_prob": [0.3, 0.1, 0.5, 0.2, 0.25, 0.4, 0.9, 0.1],
            "expected_revenue": [30.0, 10.0, 50.0, 20.0, 25.0, 40.0, 9.0, 1.0],
        }
    )
    conv = uplift_from_responses(responses, 4, "mass", "holdout")
    assert conv.index.tolist() == [1, 2] and conv.tolist() == pytest.approx([-0.05, 0.2])
    rev = uplift_from_responses(responses, 4, "segmented", "mass", outcome="revenue")
    assert rev.tolist() == pytest.approx([20.0, 20.0])
    with pytest.raises(WorkbenchError, match="under the control arm 'holdout'"):
        uplift_from_responses(responses, 1, "urgency", "holdout")


def test_true_uplift_reads_truth_responses(tmp_path: Path) -> None:
    if "truth_responses" not in TRUTH_TABLES:
        pytest.skip("truth_responses is not a truth table of the contract yet (generator 1.5)")
    world = sample_world()
    if not (world / "truth_responses.parquet").exists():  # write one by hand in a copy
        world = Path(shutil.copytree(world, tmp_path / "w"))
        asg = load_world(world, tables=["assignments"])["assignments"]
        asg = asg.loc[asg["experiment_id"] == 4, ["experiment_id", "subscriber_id"]]
        rows = [asg.assign(arm=a, conversion_prob=p, expected_revenue=10 * p)
                for a, p in (("mass", 0.3), ("segmented", 0.35), ("holdout", 0.2))]  # fmt: skip
        pd.concat(rows).to_parquet(world / "truth_responses.parquet", index=False)
    tau = true_uplift(world, 4, "mass", "holdout")
    asg = load_world(world, tables=["assignments"])["assignments"]
    assert set(tau.index) == set(asg.loc[asg["experiment_id"] == 4, "subscriber_id"])
    assert tau.between(-1, 1).all()


def test_a_column_measured_after_the_email_is_left_out(test_csv, tmp_path: Path, capsys) -> None:
    """Another outcome (spend after the email) differs between the arms: by default it is left
    out of the features, with a note; named with --features it is kept, with a warning. The
    pre-treatment features of a randomised test are balanced and all kept."""
    path, frame = test_csv
    rng = np.random.default_rng(5)
    emailed = (frame["arm"] == "email").to_numpy()
    spend = frame.drop(columns="tau").assign(
        spend=frame["converted"] * rng.gamma(2.0, 30.0, len(frame)) + 20.0 * emailed
    )
    leaky = tmp_path / "leaky.csv"
    spend.to_csv(leaky, index=False)
    summary = tmp_path / "s.json"
    assert main(_argv(leaky, tmp_path / "a.csv", "--summary-out", str(summary))) == 0
    err = capsys.readouterr().err
    got = json.loads(summary.read_text())
    assert got["dropped_features"] == ["spend"] and "spend" not in got["features"]
    assert "left out spend" in err
    clean = json.loads(run_summary(path, tmp_path))
    assert clean["dropped_features"] == []
    names = [c for c in spend.columns if c not in ("arm", "converted")]
    assert main(_argv(leaky, tmp_path / "b.csv", "--features", ",".join(names))) == 0
    assert "warning: spend differs" in capsys.readouterr().err


def run_summary(path: Path, folder: Path) -> str:
    """The summary JSON of a default run on ``path``."""
    summary = folder / "clean.json"
    assert main(_argv(path, folder / "clean.csv", "--summary-out", str(summary))) == 0
    return summary.read_text()
