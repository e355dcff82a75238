"""Real data end to end: worlds without ground truth, of orders only, of events only.

Real exports have no ``truth_*`` tables and often lack whole tables. Each such world still gets a
report (exit 0): every section its data allows, and the list of the others with the reason
(``manifest.json`` ``skipped``, and under each notebook's heading in ``report.html``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main
from workbench.paths import sample_world
from workbench.reports.html import page_problems

#: An email address on the reserved example domains the synthetic worlds use.
ADDRESS = re.compile(rb"[\w.+-]+@example\.(?:com|org|net)")

#: Small parameters, as the notebook tests use.
CONFIG = """
[notebooks."02-segmentation"]
k = 6
n_boot = 2
sample_size = 800
[notebooks."03-bayesian-testing"]
draws = 150
tune = 150
n_sim = 30
[notebooks."06-targeting-and-strategy"]
weeks = 2
replications = 2
k = 4
"""

#: The analysis tables each kind of export lacks (beside every truth table).
KINDS = {
    "orders only": ("email_events", "campaigns", "touchpoints", "experiments", "assignments"),
    "events only": ("orders", "touchpoints", "experiments", "assignments"),
}


def _export(tmp_path: Path, drop: tuple[str, ...]) -> Path:
    world = tmp_path / "world"
    patterns = ["truth_*", *(f"{t}.*" for t in drop)]
    shutil.copytree(sample_world(), world, ignore=shutil.ignore_patterns(*patterns))
    return world


def _report(world: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """Run ``workbench report`` on ``world`` with the small parameters; its run folder."""
    config = tmp_path / "run.toml"
    config.write_text(CONFIG)
    out = tmp_path / "reports"
    argv = ["report", "--world", str(world), "--config", str(config), "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    (run,) = out.iterdir()
    return run


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_report_runs_on_what_the_export_has(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = _export(tmp_path, KINDS[kind])
    run = _report(world, tmp_path, capsys)
    manifest = json.loads((run / "manifest.json").read_text())
    status = {nb["name"]: nb["status"] for nb in manifest["notebooks"]}
    skipped = {
        name: {s["section"]: s["reason"] for s in sections}
        for name, sections in manifest["skipped"].items()
    }
    # the notebooks that need experiments and journeys are set aside, with the reason
    assert status["03-bayesian-testing"] == "not_applicable"
    assert status["04-attribution"] == "not_applicable"
    assert status["06-targeting-and-strategy"] == "not_applicable"  # no randomised test
    assert "'touchpoints'" in next(iter(skipped["04-attribution"].values()))
    assert status["01-synthetic-subscribers"] == status["02-segmentation"] == "ok"
    # what is scored against the truth says so
    assert "Agreement with the true personas" in skipped["02-segmentation"]
    assert "The personas" in skipped["01-synthetic-subscribers"]
    email = {"The email funnel, and why opens lie", "When people read"}
    # customer value reads orders only: it runs on an orders-only export, without its truth
    if kind == "orders only":
        assert status["05-customer-value"] == "ok"
        assert set(skipped["05-customer-value"]) == {"Against the truth"}
    else:
        assert status["05-customer-value"] == "not_applicable"
    if kind == "orders only":
        assert email <= set(skipped["01-synthetic-subscribers"])
        assert {"When each segment reads email", "The playbook"} <= set(skipped["02-segmentation"])
        assert "What they buy" not in skipped["01-synthetic-subscribers"]
    else:
        assert not email & set(skipped["01-synthetic-subscribers"])
        assert "What they buy" in skipped["01-synthetic-subscribers"]
        assert "Outcomes beyond opens and clicks" in skipped["02-segmentation"]
        assert "The playbook" not in skipped["02-segmentation"]
    page = (run / "report.html").read_text()
    # flows, send times and content read the email log: without it the notebook is set aside;
    # without orders it shows the funnel's emails, the send times and the content, not what
    # the flows cause
    if kind == "orders only":
        assert status["07-flows-content-timing"] == "not_applicable"
    else:
        assert status["07-flows-content-timing"] == "ok"
        assert {
            "How soon flow entrants buy",
            "What each flow adds: the flow holdouts",
            "Flow holdouts against the truth",
            "Send times against the truth",
        } <= set(skipped["07-flows-content-timing"])
        assert "When to send: each subscriber's best hour" not in skipped["07-flows-content-timing"]
    assert page.count("Not shown for this data") == 7  # one list per notebook
    assert page_problems(page) == []  # no image twice, none without alt text, no empty section
    # a skipped section leaves no heading and no prose behind: the reading hours need events
    assert ('id="When-people-read"' in page) == (kind == "events only")
    # the subscribers table carries (synthetic) addresses: none reaches the report's files
    assert "email" in pd.read_parquet(world / "subscribers.parquet").columns
    for f in run.iterdir():
        assert not ADDRESS.search(f.read_bytes()), f"an address in {f.name}"


def _bare_subscribers(tmp_path: Path) -> Path:
    """The sample world as an export with no truth and a subscribers table of ids and dates
    only: no region, time zone, acquisition source or consent columns."""
    world = _export(tmp_path, ())
    subs = pd.read_parquet(world / "subscribers.parquet")
    subs[["subscriber_id", "signup_ts", "unsubscribed_ts"]].to_parquet(
        world / "subscribers.parquet", index=False
    )
    return world


def test_subscriber_columns_an_export_lacks_read_as_their_documented_default(
    tmp_path: Path,
) -> None:
    from workbench.features import compute_features
    from workbench.schema import TABLES, load_world, present_columns

    world = _bare_subscribers(tmp_path)
    assert present_columns(world, "subscribers") == (
        "subscriber_id",
        "signup_ts",
        "unsubscribed_ts",
    )
    subs = load_world(world, tables=["subscribers"])["subscribers"]
    for name, value in [("region", "unknown"), ("acquisition_source", "unknown"),
                        ("tz_offset_h", 0.0), ("email_consent", True),
                        ("sms_consent", False), ("push_consent", False)]:  # fmt: skip
        assert TABLES["subscribers"].column(name).default == value
        assert (subs[name] == value).all(), name
    features = compute_features(world)  # the SQL path reads the same defaults
    assert (features["region"] == "unknown").all() and (features["sms_consent"] == 0).all()
    # email reachability still follows unsubscribes and bounces
    assert 0 < features["email_reachable"].mean() < 1


@pytest.mark.slow
def test_a_report_runs_on_subscribers_with_ids_and_dates_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = _bare_subscribers(tmp_path)
    run = _report(world, tmp_path, capsys)
    page = (run / "report.html").read_text()
    assert page.count("every hour below is UTC, not local time") == 2  # notebooks 01 and 02
