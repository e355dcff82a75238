"""Bad arguments and dangerous outputs, through the command line as a user types them.

Every case runs ``workbench.cli.main`` in-process and must end with status 2 and exactly one
stderr line ``workbench VERB: error: ...`` (no traceback, no usage block), write nothing, change
no file (bytes and modification times of the inputs and of anything already there), and leave no
``.partial`` temporary behind. A few positive controls show the same options working.

Placeholders in the cases: ``{world}`` a generated world, ``{results}`` an A/B results table,
``{paths}`` a paths file, ``{scenario}`` a scenario TOML file (the shared inputs), and in each
case's own folder ``{out}`` a free name, ``{existing}`` an existing CSV file, ``{existing_pq}`` an
existing Parquet file, ``{dir_csv}`` an existing folder named like a table, ``{user_dir}`` a
non-empty folder that is not a world, ``{old_world}`` an existing world.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import _verbs, build_parser, main
from workbench.synth import generate_world

# ------------------------------------------------------------------------------------ inputs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    world = generate_world("tiny", n_subscribers=120, seed=3, out=root / "world")
    results = root / "results.csv"
    results.write_text(
        "segment,arm,n,conversions\na,control,400,40\na,b,400,52\nz,control,300,20\nz,b,310,25\n"
    )
    paths = root / "paths.csv"
    paths.write_text(
        "path,total_conversions,total_conversion_value,total_null\n"
        "email > sms,3,30.0,10\nsms,1,5.0,4\nemail > paid_retargeting > direct,2,12.5,3\n"
    )
    orders = root / "orders.csv"
    orders.write_text(
        "customer_id,date,value\nc1,2025-01-02,10\nc1,2025-01-20,12\nc2,2025-01-05,7\n"
        "c3,2025-01-09,30\nc3,2025-02-11,25\nc3,2025-02-20,5\nc4,2025-02-02,9\n"
    )
    holdouts = root / "holdouts.csv"
    holdouts.write_text("channel,arm,n,conversions\nsms,exposed,400,44\nsms,holdout,100,8\n")
    fax = root / "fax-holdouts.csv"
    fax.write_text("channel,arm,n,conversions\nfax,exposed,400,44\nfax,holdout,100,8\n")
    scenario = root / "my-scenario.toml"
    scenario.write_text(
        (Path(__file__).parents[1] / "workbench" / "scenarios" / "tiny.toml").read_text()
    )
    segments = root / "segments.csv"  # one subscriber the world does not have
    segments.write_text("subscriber_id,segment,segment_name\n1,0,a\n2,1,b\n999999,1,b\n")
    return {"root": root, "world": world, "results": results, "paths": paths,
            "scenario": scenario, "orders": orders, "holdouts": holdouts,
            "fax": fax, "segments": segments}  # fmt: skip


def _case_dir(tmp_path: Path, inputs: dict[str, Path]) -> dict[str, str]:
    existing = tmp_path / "existing.csv"
    existing.write_text("keep,me\n1,2\n")
    existing_pq = tmp_path / "existing.parquet"
    pd.DataFrame({"keep": [1]}).to_parquet(existing_pq)
    dir_csv = tmp_path / "folder.csv"
    dir_csv.mkdir()
    (dir_csv / "inside.txt").write_text("mine")
    user_dir = tmp_path / "thesis"
    user_dir.mkdir()
    (user_dir / "chapter1.docx").write_bytes(b"years of work")
    old_world = tmp_path / "old-world"
    old_world.mkdir()
    (old_world / "world.json").write_text('{"note": "an earlier world"}')
    return {
        **{k: str(v) for k, v in inputs.items()},
        "out": str(tmp_path / "new"),
        "existing": str(existing),
        "existing_pq": str(existing_pq),
        "dir_csv": str(dir_csv),
        "user_dir": str(user_dir),
        "old_world": str(old_world),
    }


def _snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    """Every entry under the roots: modification time and content hash (folders: mtime only)."""
    snap = {}
    for root in roots:
        for p in sorted([root, *root.rglob("*")]):
            st = p.stat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            snap[str(p)] = (st.st_mtime_ns, digest)
    return snap


# --------------------------------------------------------------------------------- the cases

W = ["--world", "{world}"]
AB = ["abtest", "--input", "{results}"]
AT = ["attribute", "--paths", "{paths}", "--model", "markov"]
SEG = ["segment", *W]
GEN = ["generate", "--scenario", "tiny", "--subscribers", "50", "--quiet"]
REP = ["report", "--list"]
CLS = ["class", "make"]
CLS_R = [*CLS, "--roster", "{results}", "--out", "{out}"]  # a roster without student_id
CV = ["clv", "--orders", "{orders}", "--calibration-end", "2025-03-01"]
CVO = [*CV, "--out", "{out}.csv"]
GRD = ["class", "grade", "--class", "{world}", "--submissions", "{world}", "--out", "{out}.csv"]
UP = ["uplift", "--input", "{results}", "--treatment-col", "arm", "--treatment", "b",
      "--control", "control", "--outcome", "conversions"]  # fmt: skip
UPO = [*UP, "--out", "{out}.csv"]
UPW = ["uplift", *W, "--out", "{out}.csv"]
ST = ["strategy", *W, "--out", "{out}"]
CO = ["compose", *W, "--segments", "{segments}", "--out", "{out}"]

# (id, argv, fragment expected in the one error line)
CASES: list[tuple[str, list[str], str]] = [
    # ---- generate: numbers
    ("gen-subscribers-0", [*GEN[:3], "--subscribers", "0", "--out", "{out}"], "--subscribers"),
    ("gen-subscribers-neg", [*GEN[:3], "--subscribers", "-5", "--out", "{out}"], "integer >= 1"),
    ("gen-subscribers-float", [*GEN[:3], "--subscribers", "1.5", "--out", "{out}"], "'1.5'"),
    ("gen-subscribers-text", [*GEN[:3], "--subscribers", "many", "--out", "{out}"], "'many'"),
    ("gen-seed-neg", [*GEN, "--seed", "-1", "--out", "{out}"], "--seed: must be an integer from 0"),
    ("gen-seed-huge", [*GEN, "--seed", str(2**32), "--out", "{out}"], "to 4294967295"),
    ("gen-workers-0", [*GEN, "--workers", "0", "--out", "{out}"], "--workers"),
    # ---- generate: outputs
    ("gen-out-existing-world", [*GEN, "--out", "{old_world}"], "use --overwrite to replace it"),
    ("gen-overwrite-user-dir", [*GEN, "--out", "{user_dir}", "--overwrite"], "not a world"),
    ("gen-out-user-dir", [*GEN, "--out", "{user_dir}"], "already exists and is not empty"),
    ("gen-out-file", [*GEN, "--out", "{existing}"], "is a file"),
    ("gen-overwrite-file", [*GEN, "--out", "{existing}", "--overwrite"], "is a file"),
    (
        "gen-out-is-scenario",
        ["generate", "--scenario", "{scenario}", "--out", "{scenario}", "--overwrite"],
        "input given to --scenario",
    ),
    # ---- segment: numbers
    ("seg-k-0", [*SEG, "--k", "0", "--out", "{out}.csv"], "--k: must be 'auto' or an integer"),
    ("seg-k-text", [*SEG, "--k", "many", "--out", "{out}.csv"], "'many'"),
    ("seg-min-size-0", [*SEG, "--min-size", "0", "--out", "{out}.csv"], "--min-size"),
    ("seg-sample-size-0", [*SEG, "--sample-size", "0", "--out", "{out}.csv"], "--sample-size"),
    ("seg-jobs-0", [*SEG, "--jobs", "0", "--out", "{out}.csv"], "--jobs"),
    ("seg-seed-neg", [*SEG, "--seed", "-3", "--out", "{out}.csv"], "--seed"),
    ("seg-engine-bad", [*SEG, "--engine", "oracle", "--out", "{out}.csv"], "--engine: must be"),
    ("seg-engine-blank", [*SEG, "--engine", " ", "--out", "{out}.csv"], "--engine"),
    # ---- segment: outputs
    ("seg-ext-txt", [*SEG, "--out", "{out}.txt"], "must end in .csv, .csv.gz or .parquet"),
    ("seg-ext-xlsx", [*SEG, "--out", "{out}.xlsx"], "must end in"),
    (
        "seg-out-world-table",
        [*SEG, "--out", "{world}/subscribers.parquet", "--overwrite"],
        "inside the input folder",
    ),
    ("seg-out-in-world", [*SEG, "--out", "{world}/segments.csv"], "inside the input folder"),
    ("seg-out-existing", [*SEG, "--out", "{existing}"], "already exists (use --overwrite"),
    ("seg-out-folder", [*SEG, "--out", "{dir_csv}", "--overwrite"], "is a folder"),
    # ---- abtest: numbers and lists
    ("ab-chains-0", [*AB, "--chains", "0", "--out", "{out}.csv"], "--chains: must be an integer"),
    ("ab-draws-0", [*AB, "--draws", "0", "--out", "{out}.csv"], "--draws"),
    ("ab-tune-neg", [*AB, "--tune", "-1", "--out", "{out}.csv"], "--tune: must be an integer >= 0"),
    ("ab-seed-neg", [*AB, "--seed", "-1", "--out", "{out}.csv"], "--seed"),
    ("ab-hdi-0", [*AB, "--hdi", "0", "--out", "{out}.csv"], "--hdi: must be a finite number > 0"),
    ("ab-hdi-1", [*AB, "--hdi", "1", "--out", "{out}.csv"], "--hdi"),
    ("ab-hdi-nan", [*AB, "--hdi", "nan", "--out", "{out}.csv"], "--hdi"),
    ("ab-target-accept", [*AB, "--target-accept", "1.2", "--out", "{out}.csv"], "--target-accept"),
    ("ab-loss-neg", [*AB, "--loss-threshold", "-0.1", "--out", "{out}.csv"], "--loss-threshold"),
    ("ab-loss-inf", [*AB, "--loss-threshold", "inf", "--out", "{out}.csv"], "--loss-threshold"),
    ("ab-rope-neg", [*AB, "--rope", "-1", "--out", "{out}.csv"], "--rope: must be a finite"),
    ("ab-rope-nan", [*AB, "--rope", "nan", "--out", "{out}.csv"], "--rope"),
    ("ab-prior-0", [*AB, "--prior", "0", "1", "--out", "{out}.csv"], "--prior"),
    ("ab-prior-nan", [*AB, "--prior", "1", "nan", "--out", "{out}.csv"], "--prior"),
    ("ab-split-text", [*AB, "--expected-split", "half,half", "--out", "{out}.csv"], "'half,half'"),
    (
        "ab-experiment-neg",
        ["abtest", *W, "--experiment", "-1", "--out", "{out}.csv"],
        "--experiment",
    ),
    ("ab-experiment-text", ["abtest", *W, "--experiment", "one", "--out", "{out}.csv"], "'one'"),
    (
        "ab-engine-bad",
        ["abtest", *W, "--experiment", "1", "--engine", "pandas", "--out", "{out}.csv"],
        "--engine: must be",
    ),
    ("ab-input-and-world", [*AB, *W, "--out", "{out}.csv"], "not allowed with"),
    ("ab-split-nan", [*AB, "--expected-split", "nan,nan", "--out", "{out}.csv"], "finite"),
    ("ab-split-inf", [*AB, "--expected-split", "inf,1", "--out", "{out}.csv"], "finite"),
    ("ab-split-zero", [*AB, "--expected-split", "0,1", "--out", "{out}.csv"], "> 0"),
    ("ab-split-neg", [*AB, "--expected-split", "1,-1", "--out", "{out}.csv"], "> 0"),
    ("ab-split-trailing", [*AB, "--expected-split", "1,", "--out", "{out}.csv"], "'1,'"),
    ("ab-split-empty", [*AB, "--expected-split", "", "--out", "{out}.csv"], "--expected-split"),
    ("ab-split-count", [*AB, "--expected-split", "1,1,1", "--out", "{out}.csv"], "3 shares for 2"),
    # ---- abtest: outputs
    ("ab-ext-xlsx", [*AB, "--out", "{out}.xlsx"], "must end in .csv, .csv.gz or .parquet"),
    ("ab-ext-none", [*AB, "--out", "{out}"], "must end in"),
    ("ab-out-is-input", [*AB, "--out", "{results}"], "input given to --input"),
    ("ab-out-is-input-ow", [*AB, "--out", "{results}", "--overwrite"], "input given to --input"),
    ("ab-out-existing", [*AB, "--out", "{existing}"], "already exists (use --overwrite"),
    ("ab-out-existing-pq", [*AB, "--out", "{existing_pq}"], "already exists"),
    ("ab-out-folder", [*AB, "--out", "{dir_csv}"], "is a folder"),
    ("ab-out-folder-ow", [*AB, "--out", "{dir_csv}", "--overwrite"], "is a folder"),
    ("ab-out-under-file", [*AB, "--out", "{existing}/x.csv"], "is a file"),
    # ---- attribute: numbers and strings
    ("at-order-0", [*AT, "--order", "0", "--out", "{out}.csv"], "--order: must be an integer"),
    ("at-order-5", [*AT, "--order", "5", "--out", "{out}.csv"], "from 1 to 4"),
    ("at-half-life-0", [*AT, "--half-life", "0", "--out", "{out}.csv"], "--half-life"),
    ("at-half-life-nan", [*AT, "--half-life", "nan", "--out", "{out}.csv"], "--half-life"),
    ("at-position-neg", [*AT, "--position", "-0.1", "0.5", "--out", "{out}.csv"], "--position"),
    ("at-position-big", [*AT, "--position", "0.5", "1.5", "--out", "{out}.csv"], "<= 1"),
    ("at-position-sum", [*AT, "--position", "0.7", "0.7", "--out", "{out}.csv"], "at most 1"),
    ("at-engine-bad", [*AT, "--engine", "sqlite", "--out", "{out}.csv"], "--engine: must be"),
    ("at-engine-paths", [*AT, "--engine", "duckdb", "--out", "{out}.csv"], "give --world"),
    ("at-seed-neg", [*AT, "--seed", "-1", "--out", "{out}.csv"], "--seed"),
    ("at-sep-empty", [*AT, "--sep", "", "--out", "{out}.csv"], "--sep: must not be empty"),
    ("at-sep-blank", [*AT, "--sep", "  ", "--out", "{out}.csv"], "--sep"),
    # ---- attribute: sources and the calibrated model
    ("at-paths-and-world", [*AT, *W, "--out", "{out}.csv"], "not allowed with argument"),
    ("at-no-source", ["attribute", "--model", "markov", "--out", "{out}.csv"], "one of the arg"),
    (
        "at-world-empty",
        ["attribute", "--world", "", "--model", "markov", "--out", "{out}.csv"],
        "--world: must not be empty",
    ),
    (
        "at-world-missing",
        ["attribute", "--world", "{out}", "--model", "markov", "--out", "{out}.csv"],
        "no such world folder",
    ),
    (
        "at-calib-no-holdouts",
        [*AT[:3], "--model", "calibrated", "--out", "{out}.csv"],
        "needs --calibrate-with",
    ),
    (
        "at-calib-with-markov",
        [*AT, "--calibrate-with", "{holdouts}", "--out", "{out}.csv"],
        "only --model calibrated",
    ),
    (
        "at-calib-not-holdouts",
        [*AT[:3], "--model", "calibrated", "--calibrate-with", "{results}", "--out", "{out}.csv"],
        "column 'channel': column not found",
    ),
    (
        "at-calib-missing",
        [
            *AT[:3],
            "--model",
            "calibrated",
            "--calibrate-with",
            "{out}.csv",
            "--out",
            "{out}.parquet",
        ],
        "no such file",
    ),
    (
        "at-calib-unknown-channel",
        [*AT[:3], "--model", "calibrated", "--calibrate-with", "{fax}", "--out", "{out}.csv"],
        "'fax', which no path touches",
    ),
    (
        "at-calib-segment",
        ["attribute", *W, "--model", "calibrated", "--segment-col", "region", "--out", "{out}.csv"],
        "run it without a segment",
    ),
    ("at-base-bad", [*AT, "--base", "calibrated", "--out", "{out}.csv"], "--base: invalid choice"),
    (
        "at-out-is-holdouts",
        [
            *AT[:3],
            "--model",
            "calibrated",
            "--calibrate-with",
            "{holdouts}",
            "--out",
            "{holdouts}",
            "--overwrite",
        ],
        "--calibrate-with",
    ),
    # ---- attribute: outputs
    ("at-ext-xlsx", [*AT, "--out", "{out}.xlsx"], "must end in .csv, .csv.gz or .parquet"),
    ("at-out-is-input", [*AT, "--out", "{paths}", "--overwrite"], "input given to --paths"),
    ("at-out-existing", [*AT, "--out", "{existing}"], "already exists (use --overwrite"),
    ("at-out-folder", [*AT, "--out", "{dir_csv}", "--overwrite"], "is a folder"),
    # ---- clv: numbers, inputs and outputs
    ("clv-horizon-0", [*CVO, "--horizon", "0"], "--horizon: must be a finite number > 0"),
    ("clv-discount-big", [*CVO, "--discount-rate", "1.5"], "--discount-rate"),
    ("clv-interval-1", [*CVO, "--interval", "1"], "--interval"),
    ("clv-draws-0", [*CVO, "--draws", "0"], "--draws"),
    ("clv-tune-neg", [*CVO, "--tune", "-1"], "--tune"),
    ("clv-chains-0", [*CVO, "--chains", "0"], "--chains"),
    ("clv-seed-neg", [*CVO, "--seed", "-1"], "--seed"),
    (
        "clv-no-calibration",
        ["clv", "--orders", "{orders}", "--out", "{out}.csv"],
        "--calibration-end: required with --orders",
    ),
    ("clv-two-inputs", [*CVO, "--world", "{world}"], "not allowed with"),
    (
        "clv-bad-date",
        ["clv", "--orders", "{orders}", "--calibration-end", "soon", "--out", "{out}.csv"],
        "calibration end must be a date",
    ),
    ("clv-holdout-first", [*CVO, "--holdout-end", "2025-02-01"], "must come after"),
    ("clv-no-such-column", [*CVO, "--date-col", "when"], "column 'when': no such date column"),
    ("clv-bad-date-format", [*CVO, "--date-format", "%d/%m/%Y"], "dates that do not parse"),
    ("clv-out-is-input", [*CV, "--out", "{orders}", "--overwrite"], "input given to --orders"),
    ("clv-out-existing", [*CV, "--out", "{existing}"], "already exists (use --overwrite"),
    ("clv-params-not-json", [*CVO, "--params-out", "{out}.txt"], "must end in .json"),
    # ---- uplift: numbers, inputs and outputs
    ("up-test-size-0", [*UPO, "--test-size", "0"], "--test-size: must be a finite number > 0"),
    ("up-test-size-1", [*UPO, "--test-size", "1"], "--test-size"),
    ("up-test-size-neg", [*UPO, "--test-size", "-0.1"], "--test-size"),
    ("up-test-size-text", [*UPO, "--test-size", "abc"], "'abc'"),
    ("up-test-size-nan", [*UPO, "--test-size", "nan"], "--test-size"),
    ("up-seed-neg", [*UPO, "--seed", "-1"], "--seed: must be an integer from 0"),
    ("up-seed-text", [*UPO, "--seed", "abc"], "--seed"),
    ("up-model", [*UPO, "--model", "z"], "invalid choice"),
    ("up-two-inputs", [*UPO, "--world", "{world}"], "not allowed with"),
    ("up-no-outcome", [*UP[:-2], "--out", "{out}.csv"], "--outcome: required with --input"),
    (
        "up-no-arm-col",
        ["uplift", "--input", "{results}", *UP[5:], "--out", "{out}.csv"],
        "--treatment-col: required with --input",
    ),  # fmt: skip
    ("up-no-such-column", [*UPO, "--outcome", "sales"], "column 'sales': no such outcome column"),
    ("up-no-such-feature", [*UPO, "--features", "segment,age"], "column 'age': no such feature"),
    ("up-empty-feature", [*UPO, "--features", "segment,,n"], "empty column name"),
    (
        "up-unknown-arm",
        [*UPO, "--treatment", "zz"],
        "no treatment arm 'zz' (the column has b, control)",
    ),
    ("up-same-arms", [*UPO, "--treatment", "control"], "the same arm 'control'"),
    ("up-not-binary", [*UPO, "--outcome-kind", "binary"], "must be 0 or 1"),
    ("up-too-small", UPO, "too small to model"),
    ("up-out-is-input", [*UP, "--out", "{results}", "--overwrite"], "input given to --input"),
    ("up-out-existing", [*UP, "--out", "{existing}"], "already exists (use --overwrite"),
    ("up-out-folder", [*UP, "--out", "{dir_csv}", "--overwrite"], "is a folder"),
    ("up-ext-txt", [*UP, "--out", "{out}.txt"], "must end in .csv, .csv.gz or .parquet"),
    ("up-summary-not-json", [*UPO, "--summary-out", "{out}.txt"], "must end in .json"),
    ("up-out-in-world", ["uplift", *W, "--out", "{world}/s.csv"], "inside the input folder"),
    ("up-experiment-file", [*UPO, "--experiment", "1"], "--experiment: only with --world"),
    ("up-world-experiment", [*UPW, "--experiment", "99"], "no experiment '99'"),
    ("up-world-arm", [*UPW, "--treatment", "urgency"], "no experiment has both arms 'urgency'"),
    ("up-world-outcome", [*UPW, "--outcome", "clicks"], "conversion or revenue"),
    ("up-world-arm-col", [*UPW, "--treatment-col", "arm"], "not allowed with --world"),
    ("up-world-too-small", UPW, "too small to model"),
    # ---- report
    ("rep-subscribers-0", ["report", "--subscribers", "0"], "--subscribers"),
    ("rep-seed-neg", ["report", "--seed", "-1"], "--seed"),
    ("rep-jobs-0", ["report", "--jobs", "0"], "--jobs"),
    ("rep-out-file", ["report", *W, "--out", "{existing}"], "is a file"),
    ("rep-out-in-world", ["report", *W, "--out", "{world}/reports"], "inside the input folder"),
    # ---- import
    ("imp-unknown-preset", ["import", "--preset", "hubspot", "--out", "{out}"], "invalid choice"),
    ("imp-generic-no-map", ["import", "--preset", "generic", "--out", "{out}"], "needs --map"),
    ("imp-preset-no-input", ["import", "--preset", "shopify", "--out", "{out}"], "needs --input"),
    (
        "imp-input-missing",
        ["import", "--preset", "shopify", "--input", "{out}-nothere", "--out", "{out}"],
        "no such file or folder",
    ),
    (
        "imp-map-missing",
        ["import", "--preset", "generic", "--map", "{out}.toml", "--out", "{out}"],
        "no such mapping file",
    ),
    (
        "imp-memory",
        [
            "import",
            "--preset",
            "shopify",
            "--input",
            "{world}",
            "--memory-limit",
            "lots",
            "--out",
            "{out}",
        ],
        "--memory-limit: must be a size",
    ),  # fmt: skip
    (
        "imp-out-user-dir",
        [
            "import",
            "--preset",
            "shopify",
            "--input",
            "{world}",
            "--out",
            "{user_dir}",
            "--overwrite",
        ],
        "it is not a world",
    ),  # fmt: skip
    (
        "imp-out-in-input",
        ["import", "--preset", "shopify", "--input", "{world}", "--out", "{world}/w"],
        "inside the input folder",
    ),
    (
        "imp-engine-bad",
        [
            "import",
            "--preset",
            "shopify",
            "--input",
            "{world}",
            "--engine",
            "oracle",
            "--out",
            "{out}",
        ],
        "--engine: must be",
    ),
    (
        "imp-engine-blank",
        ["import", "--preset", "shopify", "--input", "{world}", "--engine", " ", "--out", "{out}"],
        "--engine",
    ),
    # ---- class
    ("class-no-action", ["class"], "required: ACTION"),
    ("class-bad-action", ["class", "teach"], "invalid choice"),
    (
        "class-roster-missing",
        [*CLS, "--roster", "{out}-none.csv", "--out", "{out}"],
        "cannot be read",
    ),
    ("class-subscribers-neg", [*CLS_R, "--subscribers", "-1"], "integer >= 0"),
    ("class-seed-neg", [*CLS_R, "--seed", "-1"], "--seed"),
    ("class-timeout-0", [*CLS_R, "--timeout", "0"], "--timeout"),
    ("class-jobs-0", [*CLS_R, "--jobs", "0"], "--jobs"),
    ("class-no-id-column", CLS_R, "column 'student_id': missing column"),
    ("class-unknown-notebook", [*CLS_R, "--notebooks", "08"], "is not a registered notebook"),
    ("grade-not-a-class", GRD, "not a class folder"),
    ("grade-timeout-neg", [*GRD, "--timeout", "-3"], "--timeout"),
    ("grade-jobs-0", [*GRD, "--jobs", "0"], "--jobs"),
    # ---- strategy
    ("st-weeks-0", [*ST, "--weeks", "0"], "--weeks"),
    ("st-weeks-53", [*ST, "--weeks", "53"], "--weeks"),
    ("st-replications-0", [*ST, "--replications", "0"], "--replications"),
    ("st-budget-0", [*ST, "--budget", "0"], "--budget"),
    ("st-budget-1.5", [*ST, "--budget", "1.5"], "--budget"),
    ("st-interval-1", [*ST, "--interval", "1"], "--interval"),
    ("st-k-0", [*ST, "--k", "0"], "--k"),
    ("st-seed-neg", [*ST, "--seed", "-1"], "--seed"),
    ("st-policy", [*ST, "--policies", "mass,blast"], "--policies"),
    ("st-policy-twice", [*ST, "--policies", "mass,mass"], "--policies"),
    ("st-out-file", ["strategy", *W, "--out", "{existing}"], "is a file"),
    (
        "st-out-user-dir",
        ["strategy", *W, "--out", "{user_dir}", "--overwrite"],
        "not a strategy folder",
    ),  # fmt: skip
    ("st-out-in-world", ["strategy", *W, "--out", "{world}/lab"], "inside the input folder"),
    (
        "st-no-truth",
        ["strategy", "--world", "{user_dir}", "--out", "{out}"],
        "no truth_scenario.json",
    ),  # fmt: skip
    # ---- compose
    ("co-min-certainty-0", [*CO, "--min-certainty", "0"], "--min-certainty"),
    ("co-min-certainty-1.5", [*CO, "--min-certainty", "1.5"], "--min-certainty"),
    ("co-min-certainty-nan", [*CO, "--min-certainty", "nan"], "--min-certainty"),
    ("co-min-recipients-0", [*CO, "--min-recipients", "0"], "--min-recipients"),
    ("co-no-segments", ["compose", *W, "--out", "{out}"], "required: --segments"),
    ("co-segments-unknown-subscriber", CO, "subscribers not in the world"),
    (
        "co-segments-no-id-column",
        ["compose", *W, "--segments", "{results}", "--out", "{out}"],
        "column 'subscriber_id': column not found",
    ),  # fmt: skip
    (
        "co-segments-missing",
        ["compose", *W, "--segments", "{out}-none.csv", "--out", "{out}"],
        "no such file",
    ),  # fmt: skip
    (
        "co-segments-not-a-table",
        ["compose", *W, "--segments", "{scenario}", "--out", "{out}"],
        "unknown file type",
    ),  # fmt: skip
    (
        "co-no-world",
        ["compose", "--world", "{out}-none", "--segments", "{segments}", "--out", "{out}"],
        "no such world folder",
    ),  # fmt: skip
    (
        "co-out-file",
        ["compose", *W, "--segments", "{segments}", "--out", "{existing}"],
        "is a file",
    ),
    (
        "co-out-user-dir",
        ["compose", *W, "--segments", "{segments}", "--out", "{user_dir}", "--overwrite"],
        "not a compose folder",
    ),  # fmt: skip
    (
        "co-out-exists",
        ["compose", *W, "--segments", "{segments}", "--out", "{user_dir}"],
        "already exists and is not empty",
    ),  # fmt: skip
    (
        "co-out-in-world",
        ["compose", *W, "--segments", "{segments}", "--out", "{world}/emails"],
        "inside the input folder",
    ),  # fmt: skip
    (
        "co-out-is-segments",
        ["compose", *W, "--segments", "{segments}", "--out", "{segments}"],
        "is the input given to --segments",
    ),  # fmt: skip
    # ---- the parser itself
    ("no-verb", [], "required: VERB"),
    ("unknown-verb", ["frobnicate"], "invalid choice"),
    ("missing-out", ["abtest", "--input", "{results}"], "required: --out"),
    ("unknown-option", [*AB, "--out", "{out}.csv", "--colour", "red"], "unrecognized"),
]


VERBS = {name for name, _ in _verbs()}
NUMERIC_TYPES = {"integer", "number", "positive_floats", "int_or_auto"}
"""``__name__`` of the argument types of workbench.commands._args that parse numbers."""


def _verb(argv: list[str]) -> str:
    """The command as its errors name it: ``segment``, or ``class make`` for an action."""
    if not argv or argv[0] not in VERBS:
        return ""
    if argv[0] == "class" and len(argv) > 1 and argv[1] in ("make", "grade"):
        return f"class {argv[1]}"
    return argv[0]


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_arguments_exit_2_with_one_line_and_touch_nothing(
    argv: list[str],
    fragment: str,
    inputs: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = _case_dir(tmp_path, inputs)
    args = [a.format(**names) for a in argv]
    before = _snapshot(inputs["root"], tmp_path)
    status = main(args)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    verb = _verb(args)
    prefix = f"workbench {verb}: error: " if verb else "workbench: error: "
    assert status == 2, err
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    assert "Traceback" not in err
    assert fragment in lines[0], lines[0]
    assert out == ""
    assert _snapshot(inputs["root"], tmp_path) == before  # nothing written, nothing clobbered
    leftovers = [
        p for p in (*inputs["root"].rglob("*"), *tmp_path.rglob("*")) if ".partial" in p.name
    ]
    assert leftovers == []


def test_the_cases_cover_every_verb_and_every_numeric_option() -> None:
    """A new verb or numeric option must come with its bad-input cases here."""
    covered: dict[str, set[str]] = {}
    for _, argv, _ in CASES:
        if argv:
            covered.setdefault(_verb(argv) or argv[0], set()).update(
                a for a in argv if a.startswith("--")
            )
    sub = build_parser()._subparsers._group_actions[0]  # type: ignore[union-attr]
    assert set(sub.choices) == VERBS
    parsers = dict(sub.choices)
    for name, parser in sub.choices.items():  # a verb with actions: each action's options
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers |= {f"{name} {a}": p for a, p in action.choices.items()}
    for name, parser in parsers.items():
        assert name in covered, f"no bad-argument case for `workbench {name}`"
        for action in parser._actions:
            if getattr(action.type, "__name__", "") in NUMERIC_TYPES:
                assert set(action.option_strings) & covered[name], (
                    f"no out-of-range case for `workbench {name} {action.option_strings[0]}`"
                )
            elif action.type in (int, float):
                pytest.fail(f"`workbench {name} {action.option_strings[0]}` has no range check")


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_help_states_the_output_rule(verb: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([verb, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    if verb == "report":
        assert "an earlier report is never replaced" in text
    else:
        assert "only with --overwrite" in text
    assert "Ctrl-C or SIGTERM" in text


# -------------------------------------------------------------------------- positive controls


def test_overwrite_replaces_a_table_but_only_when_asked(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "decisions.csv.gz"
    argv = ["abtest", "--input", str(inputs["results"]), "--out", str(out)]
    assert main(argv) == 0
    first = out.read_bytes()
    assert pd.read_csv(out)["segment"].tolist() == ["a", "a", "z", "z"]
    assert main(argv) == 2 and out.read_bytes() == first
    assert main([*argv, "--overwrite", "--expected-split", "1,1"]) == 0
    assert out.read_bytes() == first  # same numbers, same bytes (gzip without a time stamp)
    credit = tmp_path / "credit.parquet"
    assert main(["attribute", "--paths", str(inputs["paths"]), "--model", "linear",
                 "--out", str(credit)]) == 0  # fmt: skip
    assert pd.read_parquet(credit)["conversions"].sum() == pytest.approx(6)
    capsys.readouterr()


def test_generate_overwrites_a_world_and_an_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = ["generate", "--scenario", "tiny", "--subscribers", "40", "--quiet", "--out", str(empty)]
    assert main(argv) == 0
    meta = json.loads((empty / "world.json").read_text())
    assert meta["n_subscribers"] == 40
    assert main([*argv[:-1], str(empty), "--overwrite", "--seed", "5"]) == 0
    assert json.loads((empty / "world.json").read_text())["seed"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
    capsys.readouterr()


def test_segment_writes_beside_the_world_not_inside(
    inputs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "world"
    shutil.copytree(inputs["world"], copy)
    out = tmp_path / "segments.csv"
    argv = ["segment", "--world", str(copy), "--k", "2", "--min-size", "1", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert len(pd.read_csv(out)) == 120
    # one thread or every core: the same segments
    one = tmp_path / "one.csv"
    assert main([*argv[:-1], str(one), "--k", "auto", "--jobs", "1"]) == 0
    assert main([*argv[:-2], "--k", "auto", "--out", str(out), "--overwrite"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(one), pd.read_csv(out))
    capsys.readouterr()


def test_report_verb_tables_name_real_fields_options_and_keywords():
    """The report verb's tables (options -> ReportConfig fields, options -> run_report
    keywords) only name fields, option destinations and keywords that exist."""
    import dataclasses
    import inspect

    from workbench.commands import report
    from workbench.reports import ReportConfig, run_report

    parser = build_parser()
    args = parser.parse_args(["report"])
    dests = set(vars(args))
    fields = {f.name for f in dataclasses.fields(ReportConfig)}
    keywords = set(inspect.signature(run_report).parameters)
    assert set(report.CONFIG_OPTIONS) <= fields
    assert set(report.CONFIG_OPTIONS.values()) <= dests
    assert set(report.RUN_OPTIONS) <= keywords & dests
    # every option of the table is on the verb, and nothing else is
    assert [flag for flag, _ in report.OPTIONS] == [
        a.option_strings[-1] for a in args._parser._actions if a.option_strings[-1] != "--help"
    ]
