"""Bad data through every door, as a user meets it: status 2, one line, nothing written.

Table-driven: for every table of the contract, corruptions written as Parquet and as CSV exports
into a small world cut from the committed sample; each goes through every reader of that table
(``workbench segment`` in-process, :func:`load_world`, :func:`compute_features` - the path of
``workbench report --world`` -, the world readers behind attribution and experiments), which must
all give the *same* one-line message naming the file, the column and the first rows. Then the
interchange inputs of ``workbench abtest`` and ``workbench attribute --paths``, a few real
subprocess runs, and hypothesis: junk bytes and random edits never give a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench.attribution import journeys_from_world
from workbench.cli import main
from workbench.errors import DataError
from workbench.experiments import from_world
from workbench.features import compute_features
from workbench.paths import sample_world
from workbench.schema import TABLES, TRUTH_TABLES, load_world
from workbench.truth import load_truth

N_SUBSCRIBERS = 150
#: The tables each reader opens (the ones asked for and the ones they refer to).
SEGMENT_READS = {"subscribers", "campaigns", "experiments", "email_events", "orders", "touchpoints"}
JOURNEY_READS = {"subscribers", "campaigns", "experiments", "orders", "touchpoints"}
EXPERIMENT_READS = {"subscribers", "experiments", "assignments", "orders"}

Tables = dict[str, pd.DataFrame]


@pytest.fixture(scope="module")
def mini() -> Tables:
    """Every table of the sample, cut to its first subscribers (a valid world, fast to read)."""
    root = sample_world()
    tables = {n: pd.read_parquet(root / f"{n}.parquet") for n in TABLES}
    keep = tables["subscribers"]["subscriber_id"].nsmallest(N_SUBSCRIBERS)
    for name, df in tables.items():
        if "subscriber_id" in df.columns:
            tables[name] = df[df["subscriber_id"].isin(keep)].reset_index(drop=True)
    return tables


def write_world(root: Path, tables: Tables, fmt: str) -> Path:
    root.mkdir(parents=True)
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(root / f"{name}.parquet", index=False)
        else:
            df.to_csv(root / f"{name}.csv", index=False)
    return root


def one_line(err: str, verb: str) -> str:
    """The single stderr line of a failed verb, without its prefix."""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and "np." not in err, err
    prefix = f"workbench {verb}: error: "
    assert err.startswith(prefix), err
    return err[len(prefix) : -1]


def nothing_written(folder: Path) -> None:
    assert list(folder.iterdir()) == [], f"left behind: {sorted(p.name for p in folder.iterdir())}"


# ------------------------------------------------------------------------------------ worlds


def _rows(df: pd.DataFrame, col: str, value: object, rows: slice = slice(3, 6)) -> pd.DataFrame:
    """``df`` with ``value`` written into ``col`` on a few rows (text or null: as objects)."""
    df = df.copy()
    if isinstance(value, str) or value is None:
        df[col] = df[col].astype(object)
    df.loc[df.index[rows], col] = value
    return df


def _signup(t: Tables, df: pd.DataFrame) -> pd.Series:
    return df["subscriber_id"].map(t["subscribers"].set_index("subscriber_id")["signup_ts"])


def _dup(df: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([df, df.iloc[[2, 4]]], ignore_index=True)


def _early_email_touch(df: pd.DataFrame, t: Tables) -> pd.DataFrame:
    df = df.copy()
    email = np.flatnonzero((df["channel"] == "email").to_numpy())[:3]
    df.loc[email, "ts"] = _signup(t, df).iloc[email] - pd.Timedelta(days=400)
    return df


def _sms_campaign_email_events(df: pd.DataFrame, t: Tables) -> pd.DataFrame:
    sms = t["campaigns"].loc[t["campaigns"]["channel"] == "sms", "campaign_id"].iloc[0]
    return _rows(df, "campaign_id", sms)


def _touch_on_other_channel(df: pd.DataFrame, t: Tables) -> pd.DataFrame:
    df = df.copy()
    email = np.flatnonzero((df["channel"] == "email") & df["campaign_id"].notna())[:2]
    df.loc[email, "channel"] = "sms"
    return df


def _before_start(df: pd.DataFrame, t: Tables) -> pd.DataFrame:
    df = df.copy()
    df.loc[df.index[:4], "assigned_ts"] = df["assigned_ts"].iloc[:4] - pd.Timedelta(days=30)
    return df


@dataclass(frozen=True)
class Case:
    """One corruption of one table; ``problem`` (and ``column``) must appear in the message."""

    id: str
    table: str
    mutate: Callable[[pd.DataFrame, Tables], pd.DataFrame]
    column: str | None
    problem: str
    formats: tuple[str, ...] = ("parquet", "csv")
    rows: bool = True  # the message lists the first offending rows


CASES = [
    # subscribers
    Case("dup-ids", "subscribers", lambda d, t: _dup(d), "subscriber_id", "duplicate ids"),
    Case("tz-99", "subscribers", lambda d, t: d.assign(tz_offset_h=99.0), "tz_offset_h",
         "values above 14"),
    Case("null-ids", "subscribers", lambda d, t: _rows(d, "subscriber_id", None),
         "subscriber_id", "missing values"),
    Case("unsub-before-signup", "subscribers",
         lambda d, t: d.assign(unsubscribed_ts=d["signup_ts"] - pd.Timedelta(days=3)),
         "unsubscribed_ts", "unsubscribed before signup_ts"),
    Case("no-signup", "subscribers", lambda d, t: d.drop(columns="signup_ts"), "signup_ts",
         "missing required column", rows=False),
    Case("ids-as-text", "subscribers", lambda d, t: d.assign(subscriber_id=d["subscriber_id"]
         .astype(str)), "subscriber_id", "stored as text", formats=("parquet",), rows=False),
    Case("bool-as-int", "subscribers", lambda d, t: d.assign(sms_consent=d["sms_consent"]
         .astype("int64")), "sms_consent", "expected bool", formats=("parquet",), rows=False),
    Case("bool-words", "subscribers", lambda d, t: _rows(d, "sms_consent", "maybe"),
         "sms_consent", "not true/false", formats=("csv",)),
    # campaigns
    Case("kind", "campaigns", lambda d, t: _rows(d, "kind", "newsletter"), "kind",
         "unknown kind values"),
    Case("dup-campaign", "campaigns", lambda d, t: _dup(d), "campaign_id", "duplicate ids"),
    Case("unknown-experiment", "campaigns", lambda d, t: _rows(d, "experiment_id", 999),
         "experiment_id", "refers to unknown experiments"),
    # email events
    Case("event-type", "email_events", lambda d, t: d.assign(event_type="forwarded"),
         "event_type", "unknown event_type values"),
    Case("400-days-early", "email_events",
         lambda d, t: d.assign(ts=_signup(t, d) - pd.Timedelta(days=400)), "ts",
         "before the subscriber's signup_ts"),
    Case("unknown-subscriber", "email_events", lambda d, t: _rows(d, "subscriber_id", 10**9),
         "subscriber_id", "refers to unknown subscribers"),
    Case("sms-campaign", "email_events", _sms_campaign_email_events, "campaign_id",
         "not an email campaign"),
    Case("ts-text", "email_events", lambda d, t: _rows(d, "ts", "yesterday at noon"), "ts",
         "unparsable timestamps", formats=("csv",)),
    # orders
    Case("negative-revenue", "orders", lambda d, t: d.assign(revenue=-d["revenue"].abs() - 1),
         "revenue", "values below 0"),
    Case("infinite-revenue", "orders", lambda d, t: _rows(d, "revenue", np.inf), "revenue",
         "infinite values"),
    Case("zero-items", "orders", lambda d, t: _rows(d, "n_items", 0), "n_items",
         "values below 1"),
    Case("half-items", "orders", lambda d, t: d.assign(n_items=d["n_items"] + 0.5), "n_items",
         "not whole numbers"),
    Case("revenue-as-text", "orders", lambda d, t: d.assign(revenue=d["revenue"].astype(str)),
         "revenue", "stored as text", formats=("parquet",), rows=False),
    Case("dup-order", "orders", lambda d, t: _dup(d), "order_id", "duplicate ids"),
    # touchpoints
    Case("channel", "touchpoints", lambda d, t: _rows(d, "channel", "carrier_pigeon"), "channel",
         "unknown channel values"),
    Case("interaction", "touchpoints", lambda d, t: _rows(d, "interaction", "swipe"),
         "interaction", "unknown interaction values"),
    Case("email-touch-early", "touchpoints", _early_email_touch, "ts",
         "email touch before the subscriber's signup_ts"),
    Case("campaign-channel", "touchpoints", _touch_on_other_channel, "channel",
         "differs from the channel of the touch's campaign"),
    # experiments
    Case("control-arm", "experiments", lambda d, t: _rows(d, "control_arm", "nobody", slice(0, 1)),
         "control_arm", "control arm not among the experiment's arms"),
    Case("window", "experiments", lambda d, t: _rows(d, "conversion_window_days", -3,
         slice(1, 2)), "conversion_window_days", "values below 0"),
    # assignments
    Case("arm", "assignments", lambda d, t: _rows(d, "arm", "treatment_z"), "arm",
         "arm not listed in the experiment's arms"),
    Case("dup-key", "assignments", lambda d, t: _dup(d), "experiment_id, subscriber_id",
         "duplicate keys"),
    Case("before-start", "assignments", _before_start, "assigned_ts",
         "before the experiment's start_ts"),
    Case("unknown-experiment", "assignments", lambda d, t: _rows(d, "experiment_id", 77),
         "experiment_id", "refers to unknown experiments"),
    # truth (read by evaluation code)
    Case("dup-persona", "truth_subscribers", lambda d, t: _dup(d), "subscriber_id",
         "duplicate ids"),
    Case("stage", "truth_lifecycle", lambda d, t: _rows(d, "stage", "zombie"), "stage",
         "unknown stage values"),
    Case("rate", "truth_effects", lambda d, t: _rows(d, "conversion_rate", 1.5), "conversion_rate",
         "values above 1"),
    Case("prob", "truth_responses", lambda d, t: _rows(d, "conversion_prob", -0.2),
         "conversion_prob", "values below 0"),
    Case("truth-channel", "truth_channels", lambda d, t: _rows(d, "channel", "tv", slice(0, 1)),
         "channel", "unknown channel values"),
]  # fmt: skip


def test_every_table_of_the_contract_has_a_corruption():
    assert {c.table for c in CASES} == set(TABLES)
    for name in TABLES:
        assert {f for c in CASES if c.table == name for f in c.formats} == {"parquet", "csv"}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_the_uncorrupted_mini_world_passes_every_reader(tmp_path, capsys, mini, fmt):
    root = write_world(tmp_path / "w", mini, fmt)
    world = load_world(root)
    assert len(world["subscribers"]) == N_SUBSCRIBERS
    assert set(load_truth(root).tables) == set(TRUTH_TABLES)
    assert len(compute_features(root)) == N_SUBSCRIBERS
    assert journeys_from_world(root).journeys["converted"].any()
    assert from_world(root)["n"].sum() > 0
    out = tmp_path / "out" / "segments.csv"
    args = ["segment", "--world", str(root), "--out", str(out), "--k", "2", "--min-size", "5"]
    assert main(args) == 0, capsys.readouterr().err
    assert len(pd.read_csv(out)) == N_SUBSCRIBERS


def _message(fn: Callable[[], object]) -> str:
    with pytest.raises(DataError) as info:
        fn()
    return str(info.value)


@pytest.mark.parametrize(
    ("case", "fmt"),
    [pytest.param(c, f, id=f"{c.table}-{c.id}-{f}") for c in CASES for f in c.formats],
)
def test_corruption_gives_one_message_through_every_reader(tmp_path, capsys, mini, case, fmt):
    tables = dict(mini)
    tables[case.table] = case.mutate(mini[case.table].copy(), mini)
    root = write_world(tmp_path / "w", tables, fmt)
    truth = case.table.startswith("truth_")

    msg = _message(lambda: load_truth(root) if truth else load_world(root))
    assert f"{root / case.table}.{fmt}" in msg
    if case.column:
        assert f"column '{case.column}'" in msg
    assert case.problem in msg
    assert "np." not in msg and "\n" not in msg
    if case.rows:
        first = "line " if fmt == "csv" else "row "
        assert " rows (first: " in msg or " 1 row (first: " in msg
        assert f"(first: {first}" in msg

    if case.table in SEGMENT_READS:
        assert _message(lambda: compute_features(root)) == msg
        out = tmp_path / "out"
        out.mkdir()
        args = ["segment", "--world", str(root), "--out", str(out / "s.csv"), "--k", "2"]
        assert main(args) == 2
        assert one_line(capsys.readouterr().err, "segment") == msg
        nothing_written(out)
    if case.table in JOURNEY_READS:
        assert _message(lambda: journeys_from_world(root)) == msg
    if case.table in EXPERIMENT_READS:
        assert _message(lambda: from_world(root)) == msg


def test_the_same_table_read_with_or_without_its_neighbours_gives_the_same_message(tmp_path, mini):
    tables = dict(mini)
    tables["orders"] = _rows(mini["orders"], "subscriber_id", 10**9)
    root = write_world(tmp_path / "w", tables, "parquet")
    msgs = {
        _message(lambda: load_world(root)),
        _message(lambda: load_world(root, tables=["orders"])),
        _message(lambda: compute_features(root)),
        _message(lambda: from_world(root)),
    }
    assert len(msgs) == 1, msgs


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _parts_folder(p: Path) -> None:
    folder = p.with_suffix("")
    folder.mkdir()
    df = pd.read_parquet(p)
    p.unlink()
    for i, idx in enumerate(np.array_split(np.arange(len(df)), 3)):
        part = df.iloc[idx].copy()
        if i == 2:
            part.iloc[1:3, part.columns.get_loc("event_type")] = "forwarded"
        part.to_parquet(folder / f"part-{i:05d}.parquet", index=False)


def _surplus_on_line(text: str, line: int) -> str:
    lines = text.split("\n")
    lines[line - 1] += ",surplus"
    return "\n".join(lines)


def _latin1_on_line(data: bytes, line: int) -> bytes:
    lines = data.split(b"\n")
    lines[line - 1] += b",caf\xe9"
    return b"\n".join(lines)


FILE_CASES = [
    ("truncated", "email_events", "parquet", _truncate, "not a readable Parquet file"),
    ("random-bytes", "orders", "parquet",
     lambda p: p.write_bytes(np.random.default_rng(0).bytes(4000)), "not a readable Parquet file"),
    ("empty-parquet", "subscribers", "parquet", lambda p: p.write_bytes(b""), "empty file"),
    ("empty-csv", "campaigns", "csv", lambda p: p.write_bytes(b""), "empty file"),
    ("latin-1", "subscribers", "csv",
     lambda p: p.write_bytes(_latin1_on_line(p.read_bytes(), 3)), "not UTF-8"),
    ("extra-field", "orders", "csv",
     lambda p: p.write_text(_surplus_on_line(p.read_text(), 3)),
     "line 3 has 7 fields, header has 6"),
    ("parts-folder", "email_events", "parquet", _parts_folder,
     "part-00002.parquet row 1: 'forwarded'"),
    ("empty-parts-folder", "touchpoints", "parquet",
     lambda p: (p.unlink(), p.with_suffix("").mkdir()), "folder holds no .parquet parts"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("table", "fmt", "damage", "problem"),
    [pytest.param(t, f, d, p, id=i) for i, t, f, d, p in FILE_CASES],
)
def test_damaged_files(tmp_path, capsys, mini, table, fmt, damage, problem):
    root = write_world(tmp_path / "w", mini, fmt)
    damage(root / f"{table}.{fmt}")
    msg = _message(lambda: load_world(root))
    assert problem in msg and str(root / table) in msg
    assert _message(lambda: compute_features(root)) == msg
    out = tmp_path / "out"
    out.mkdir()
    assert main(["segment", "--world", str(root), "--out", str(out / "s.csv")]) == 2
    assert one_line(capsys.readouterr().err, "segment") == msg
    nothing_written(out)


# ------------------------------------------------------------------------ interchange inputs

AGGREGATED = "segment,arm,n,conversions\na,control,100,10\na,b,100,12\nb,control,80,5\nb,b,80,9\n"
PATHS = "path,total_conversions,total_null\nemail > sms,3,10\nsms,1,4\ndirect,2,1\n"
HOLDOUTS = "channel,arm,n,conversions\nsms,exposed,400,44\nsms,holdout,100,8\n"


def _garbage(p: Path) -> None:
    p.write_bytes(np.random.default_rng(1).bytes(3000))


def _truncated_parquet(text: str) -> Callable[[Path], None]:
    def write(p: Path) -> None:
        from io import StringIO

        pd.read_csv(StringIO(text)).to_parquet(p, index=False)
        _truncate(p)

    return write


INPUT_CASES = [
    # (id, verb, file name, writer, expected text, extra args)
    ("empty", "abtest", "r.csv", lambda p: p.write_bytes(b""), "empty file", []),
    ("header-only", "abtest", "r.csv", lambda p: p.write_text("segment,arm,n,conversions\n"),
     "no rows", []),
    ("latin-1", "abtest", "r.csv",
     lambda p: p.write_bytes(AGGREGATED.replace("b,", "b\xe9,").encode("latin-1")),
     "not UTF-8 (save the file as UTF-8) in 3 rows (first: line 3: byte 0xe9", []),
    ("extra-field", "abtest", "r.csv",
     lambda p: p.write_text(AGGREGATED.replace("a,b,100,12", "a,b,100,12,7")),
     "wrong number of fields in 1 row (first: line 3 has 5 fields, header has 4)", []),
    ("extra-field-first-row", "abtest", "r.csv",
     lambda p: p.write_text(AGGREGATED.replace("a,control,100,10", "a,control,100,10,1")),
     "first: line 2 has 5 fields, header has 4", []),
    ("missing-field", "abtest", "r.csv",
     lambda p: p.write_text(AGGREGATED.replace("b,control,80,5", "b,control,80")),
     "first: line 4 has 3 fields, header has 4", []),
    ("negative", "abtest", "r.csv", lambda p: p.write_text(AGGREGATED.replace(",12", ",-12")),
     "column 'conversions': negative values in 1 row (first: line 3 (conversions=-12))", []),
    ("above-n", "abtest", "r.csv", lambda p: p.write_text(AGGREGATED.replace(",12", ",120")),
     "conversions above n in 1 row (first: line 3 (n=100, conversions=120))", []),
    ("not-a-number", "abtest", "r.csv", lambda p: p.write_text(AGGREGATED.replace("80", "eighty")),
     "column 'n': values that are not numbers", []),
    ("repeated-header", "abtest", "r.csv",
     lambda p: p.write_text(AGGREGATED.replace("n,conversions", "n,n")),
     "column 'n': column appears twice in the header line", []),
    ("garbage-parquet", "abtest", "r.parquet", _garbage, "not a readable Parquet file", []),
    ("garbage-gzip", "abtest", "r.csv.gz", _garbage, "cannot be read as CSV", []),
    ("truncated-parquet", "abtest", "r.parquet", _truncated_parquet(AGGREGATED),
     "not a readable Parquet file", []),
    ("recipients-not-binary", "abtest", "r.csv",
     lambda p: p.write_text("segment,arm,converted\na,control,0\na,b,2\na,control,1\n"),
     "column 'converted': values other than 0/1", ["--format", "recipients"]),
    ("empty", "attribute", "p.csv", lambda p: p.write_bytes(b""), "empty file", []),
    ("header-only", "attribute", "p.csv",
     lambda p: p.write_text("path,total_conversions,total_null\n"), "no rows", []),
    ("latin-1", "attribute", "p.csv",
     lambda p: p.write_bytes(PATHS.replace("sms,1", "sms\xe9,1").encode("latin-1")),
     "not UTF-8", []),
    ("extra-field", "attribute", "p.csv",
     lambda p: p.write_text(PATHS.replace("sms,1,4", "sms,1,4,9")),
     "first: line 3 has 4 fields, header has 3", []),
    ("negative", "attribute", "p.csv", lambda p: p.write_text(PATHS.replace(",10", ",-10")),
     "column 'total_null': negative counts in 1 row (first: line 2: '-10')", []),
    ("garbage-parquet", "attribute", "p.parquet", _garbage, "not a readable Parquet file", []),
    ("empty-sep", "attribute", "p.csv", lambda p: p.write_text(PATHS),
     "argument --sep: must not be empty", ["--sep", ""]),
    # a holdouts file (--calibrate-with) goes through the experiment results' checks
    ("empty", "holdouts", "h.csv", lambda p: p.write_bytes(b""), "empty file", []),
    ("header-only", "holdouts", "h.csv", lambda p: p.write_text("channel,arm,n,conversions\n"),
     "no rows", []),
    ("latin-1", "holdouts", "h.csv",
     lambda p: p.write_bytes(HOLDOUTS.replace("sms,holdout", "sms\xe9,holdout").encode("latin-1")),
     "not UTF-8", []),
    ("above-n", "holdouts", "h.csv", lambda p: p.write_text(HOLDOUTS.replace(",8", ",800")),
     "conversions above n in 1 row (first: line 3 (n=100, conversions=800))", []),
    ("no-channel", "holdouts", "h.csv", lambda p: p.write_text(AGGREGATED),
     "column 'channel': column not found", []),
    ("no-holdout-arm", "holdouts", "h.csv",
     lambda p: p.write_text(HOLDOUTS.replace("holdout", "control")),
     "control arm 'holdout' missing", []),
    ("three-arms", "holdouts", "h.csv",
     lambda p: p.write_text(HOLDOUTS + "sms,other,300,30\n"), "more than two arms", []),
    ("garbage-parquet", "holdouts", "h.parquet", _garbage, "not a readable Parquet file", []),
]  # fmt: skip


def _verb_args(verb: str, src: Path, out: Path, extra: list[str]) -> list[str]:
    if verb == "abtest":
        return ["abtest", "--input", str(src), "--out", str(out), *extra]
    if verb == "holdouts":  # the holdouts file of the calibrated model, beside good paths
        paths = src.parent / "good-paths.csv"
        paths.write_text(PATHS)
        return ["attribute", "--paths", str(paths), "--model", "calibrated", "--calibrate-with",
                str(src), "--out", str(out), *extra]  # fmt: skip
    return ["attribute", "--paths", str(src), "--model", "markov", "--out", str(out), *extra]


def _command(verb: str) -> str:
    """The verb a case's command line runs (a holdouts file is read by ``attribute``)."""
    return "attribute" if verb == "holdouts" else verb


@pytest.mark.parametrize(
    ("verb", "name", "write", "expected", "extra"),
    [pytest.param(v, n, w, e, x, id=f"{v}-{i}") for i, v, n, w, e, x in INPUT_CASES],
)
def test_bad_interchange_input(tmp_path, capsys, verb, name, write, expected, extra):
    src = tmp_path / name
    write(src)
    out = tmp_path / "out"
    out.mkdir()
    assert main(_verb_args(verb, src, out / "result.csv", extra)) == 2
    msg = one_line(capsys.readouterr().err, _command(verb))
    assert expected in msg
    if not expected.startswith("argument "):  # argument errors name the option, not a file
        assert msg.startswith(str(src))
    nothing_written(out)


# ------------------------------------------------------------------------ real subprocesses


def _workbench() -> str:
    exe = Path(sys.executable).parent / "workbench"
    return str(exe) if exe.exists() else shutil.which("workbench") or "workbench"


def test_real_runs_exit_2_with_one_line(tmp_path, mini):
    tables = dict(mini)
    tables["subscribers"] = _dup(mini["subscribers"])
    world = write_world(tmp_path / "w", tables, "parquet")
    latin = tmp_path / "r.csv"
    latin.write_bytes(AGGREGATED.replace("b,", "b\xe9,").encode("latin-1"))
    paths = tmp_path / "p.csv"
    paths.write_text("path,total_conversions,total_null\n")
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        (["segment", "--world", str(world), "--out", str(out / "s.csv")], "duplicate ids"),
        (["abtest", "--input", str(latin), "--out", str(out / "d.csv")], "not UTF-8"),
        (["attribute", "--paths", str(paths), "--model", "last", "--out", str(out / "c.csv")],
         "no rows"),
    ]  # fmt: skip
    for args, expected in runs:
        res = subprocess.run([_workbench(), *args], capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, res.stderr
        assert res.stdout == ""
        assert expected in one_line(res.stderr, args[0])
    nothing_written(out)


# --------------------------------------------------------------------------------- hypothesis

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(
    junk=st.binary(max_size=600),
    target=st.sampled_from(
        [("abtest", "r.csv"), ("abtest", "r.parquet"), ("attribute", "p.csv"),
         ("attribute", "p.parquet"), ("holdouts", "h.csv"), ("holdouts", "h.parquet")]
    ),
)  # fmt: skip
def test_junk_bytes_never_give_a_traceback(tmp_path, capsys, junk, target):
    verb, name = target
    src = tmp_path / name
    src.write_bytes(junk)
    out = tmp_path / "out.csv"
    out.unlink(missing_ok=True)
    assert main(_verb_args(verb, src, out, [])) == 2
    assert one_line(capsys.readouterr().err, _command(verb)).startswith(str(src))
    assert not out.exists()


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 3), st.sampled_from(list(',\n"-x9 é\x00'))),
        max_size=6,
    ),
    text=st.sampled_from([("abtest", AGGREGATED), ("attribute", PATHS), ("holdouts", HOLDOUTS)]),
)
def test_random_csv_edits_give_status_0_or_one_line(tmp_path, capsys, edits, text):
    verb, body = text
    for pos, cut, char in edits:  # delete `cut` characters at `pos`, insert `char`
        pos %= len(body) + 1
        body = body[:pos] + char + body[pos + cut :]
    src = tmp_path / "in.csv"
    src.write_bytes(body.encode("utf-8"))
    out = tmp_path / "out.csv"
    out.unlink(missing_ok=True)
    status = main(_verb_args(verb, src, out, []))
    err = capsys.readouterr().err
    if status == 0:
        assert out.exists()
    else:
        assert status == 2, err
        assert one_line(err, _command(verb))
        assert not out.exists()


@pytest.fixture(scope="module")
def parquet_world(tmp_path_factory, mini) -> Path:
    return write_world(tmp_path_factory.mktemp("fuzz") / "w", mini, "parquet")


@FUZZ
# found by the fuzzer: damage in the footer's pandas metadata (UnicodeDecodeError in to_pandas)
@example(table="subscribers", start=0.75, junk=b"/", truncate=False)
@given(
    table=st.sampled_from(["subscribers", "email_events", "orders"]),
    start=st.floats(0, 1),
    junk=st.binary(min_size=1, max_size=64),
    truncate=st.booleans(),
)
def test_damaged_parquet_is_a_data_error_or_reads(tmp_path, parquet_world, table, start, junk,
                                                  truncate):  # fmt: skip
    root = tmp_path / "w"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(parquet_world, root)
    p = root / f"{table}.parquet"
    data = bytearray(p.read_bytes())
    at = int(start * (len(data) - 1))
    if truncate:
        data = data[:at]
    else:
        data[at : at + len(junk)] = junk
    p.write_bytes(bytes(data))
    for read in (lambda: load_world(root), lambda: compute_features(root)):
        try:
            read()
        except DataError as err:  # blames the file, or a neighbour the damaged values break
            assert str(err).startswith(str(root)) and "\n" not in str(err)
