"""The presets import their vendors' exports (fixtures following the documented layouts, see
``datasets/examples/esp/LAYOUTS.md``), and no address from an export reaches a world, a report or
its manifest.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main
from workbench.importers import address_id
from workbench.paths import datasets_dir
from workbench.schema import load_world

ESP = datasets_dir() / "examples" / "esp"
SALT = "preset-test-salt"
#: Any address-like text (the fixtures use the reserved example domains only).
ADDRESS = re.compile(rb"[\w.+-]+@[\w-]+\.(?:com|org|net)", re.I)


@pytest.fixture(autouse=True)
def _salt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_SALT", SALT)


def _addresses(folder: Path) -> set[bytes]:
    """Every address in the export files under ``folder``, lowercased."""
    found: set[bytes] = set()
    for f in folder.rglob("*.csv"):
        found |= {m.lower() for m in ADDRESS.findall(f.read_bytes())}
    return found


def _import(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    status = main(["import", *argv])
    err = capsys.readouterr().err
    assert status == 0, err
    return err


def _no_address_in(folder: Path, addresses: set[bytes]) -> None:
    assert addresses
    for f in folder.rglob("*"):
        if f.is_file():
            data = f.read_bytes().lower()
            hit = [a for a in addresses if a in data]
            assert not hit, f"{f} holds {hit[0]!r}"
            assert SALT.encode() not in data, f


def test_mailchimp_audience_and_activity(tmp_path, capsys):
    err = _import(
        ["--preset", "mailchimp", "--input", str(ESP / "mailchimp"), "--out", str(tmp_path / "w")],
        capsys,
    )
    w = load_world(tmp_path / "w")
    subs = w["subscribers"].set_index("subscriber_id")
    assert len(subs) == 50  # 42 subscribed, 5 unsubscribed, 3 cleaned
    assert subs["unsubscribed_ts"].notna().sum() == 8
    assert set(subs["region"]) >= {"US", "CA", "GB"}
    assert (subs["tz_offset_h"] == -7).any()  # GMTOFF
    ev = w["email_events"]
    kinds = ev["event_type"].value_counts()
    assert kinds["opened"] == 126 and kinds["clicked"] == 46  # the granular_activity rows
    assert kinds["bounced"] == 3 and kinds["complained"] == 1 and kinds["unsubscribed"] == 3
    assert kinds["delivered"] > 0  # inferred, and said so
    assert "deliveries inferred" in err
    assert "left out 1 email_events rows: no campaign_id" in err  # an admin removal
    assert set(w["campaigns"]["name"]) == {
        "January Winter Sale",
        "February Newsletter",
        "Spring Preview",
        "March Restock Alert",
    }
    # nobody receives a campaign sent before they joined or after they left
    camps = w["campaigns"].set_index("campaign_id")["sent_ts"]
    dl = ev.loc[ev["event_type"] == "delivered"]
    sent = camps.loc[dl["campaign_id"]].to_numpy()
    joined = subs.loc[dl["subscriber_id"], "signup_ts"].to_numpy()
    assert (joined <= sent).all()
    assert address_id("test07.person@example.org", SALT) in subs.index
    _no_address_in(tmp_path / "w", _addresses(ESP / "mailchimp"))


def test_klaviyo_profiles_and_metric_events(tmp_path, capsys):
    err = _import(
        ["--preset", "klaviyo", "--input", str(ESP / "klaviyo"), "--out", str(tmp_path / "w")],
        capsys,
    )
    w = load_world(tmp_path / "w")
    assert len(w["subscribers"]) == 52
    kinds = w["email_events"]["event_type"].value_counts()
    assert kinds["delivered"] == 172 and kinds["opened"] == 170 and kinds["clicked"] == 64
    assert kinds["bounced"] == 5 and kinds["complained"] == 1 and kinds["unsubscribed"] == 3
    orders = w["orders"]
    assert len(orders) == 29 and (orders["n_items"] >= 1).all()
    assert orders["revenue"].sum() == pytest.approx(
        pd.read_csv(ESP / "klaviyo" / "events_export.csv")
        .query("metric_name == 'Placed Order'")["$value"]
        .sum()
    )
    # flow messages are campaigns named after their flow and subject
    assert any(n.startswith("flow ") for n in w["campaigns"]["name"])
    assert w["subscribers"]["unsubscribed_ts"].notna().sum() == 3  # from the events
    assert "from the unsubscribe events" in err
    _no_address_in(tmp_path / "w", _addresses(ESP / "klaviyo"))


def test_shopify_orders_export(tmp_path, capsys):
    err = _import(
        ["--preset", "shopify", "--input", str(ESP / "shopify"), "--out", str(tmp_path / "w")],
        capsys,
    )
    w = load_world(tmp_path / "w")
    raw = pd.read_csv(ESP / "shopify" / "orders_export_1.csv", dtype=str)
    voided = set(raw.loc[raw["Financial Status"] == "voided", "Name"])
    no_email = set(raw.groupby("Name")["Email"].first().loc[lambda s: s.isna()].index)
    assert len(w["orders"]) == raw["Name"].nunique() - len(voided) - len(no_email)
    assert w["orders"]["n_items"].sum() == (
        raw.loc[~raw["Name"].isin(voided | no_email), "Lineitem quantity"].astype(int).sum()
    )
    assert "left out 1 orders rows: no subscriber id" in err
    assert len(w["subscribers"]) == w["orders"]["subscriber_id"].nunique()  # the buyers
    _no_address_in(tmp_path / "w", _addresses(ESP / "shopify"))


def test_worked_example_report_holds_no_address(tmp_path, capsys):
    """The README's worked example: Mailchimp list and activity, Shopify orders, then a report.

    No address of the export appears in the world, the executed notebooks, report.html or
    manifest.json, and the report says where the data came from instead of a scenario.
    """
    example = datasets_dir() / "examples" / "mailchimp-shopify.toml"
    world = tmp_path / "world"
    argv = ["--preset", "mailchimp", "--input", str(ESP / "mailchimp"), "--map", str(example)]
    err = _import([*argv, "--out", str(world)], capsys)
    assert "left out 2 orders rows: subscriber not on the list" in err
    config = tmp_path / "run.toml"
    config.write_text('[notebooks."02-segmentation"]\nn_boot = 2\n')
    out = tmp_path / "reports"
    args = ["report", "--world", str(world), "--config", str(config), "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    (run,) = out.iterdir()
    html = (run / "report.html").read_text()
    assert "imported mailchimp export" in html and "Scenario" not in html
    assert "Your list" in html and "Try it yourself" not in html  # teaching only
    _no_address_in(run, _addresses(ESP / "mailchimp") | _addresses(ESP / "shopify"))
    _no_address_in(world, _addresses(ESP))
