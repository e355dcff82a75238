"""Subscriber features: hand-computed values, no future leakage, determinism, sources."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_schema import _ts, small_tables, write_world

from workbench.db import world_connection
from workbench.errors import DataError, WorkbenchError
from workbench.features import (
    ATTRIBUTES,
    FAMILIES,
    FEATURES,
    RATE_COUNTS,
    UNDEFINED_WITHOUT,
    compute_features,
    count_column,
    default_as_of,
    describe,
    evidence_column,
)
from workbench.schema import load_world
from workbench.segment.policy import attribute_columns, cluster_columns

AS_OF = "2026-01-20"


def feature_world(root: Path) -> Path:
    """The schema's three-subscriber world plus a click, a machine open, SMS and a cart flow."""
    t = small_tables()
    t["campaigns"] = pd.concat(
        [
            t["campaigns"],
            pd.DataFrame(
                {
                    "campaign_id": [12],
                    "name": ["Cart reminder"],
                    "kind": ["triggered"],
                    "channel": ["email"],
                    "sent_ts": _ts("2026-01-05T00:00Z"),
                    "experiment_id": pd.array([None], dtype="Int64"),
                    "content_category": ["deals"],
                }
            ),
        ],
        ignore_index=True,
    )
    t["campaigns"]["flow"] = [None, "welcome", "cart_abandonment"]
    extra = pd.DataFrame(
        {
            # subscriber 1: a click on the deals broadcast, a cart reminder (sent, delivered,
            # machine open), then after the as-of date an open that must not count.
            "subscriber_id": [1, 1, 1, 1, 1, 3, 3],
            "campaign_id": [10, 12, 12, 12, 10, 12, 12],
            "variant": [None] * 7,
            "event_type": ["clicked", "sent", "delivered", "opened", "opened", "sent", "delivered"],
            "ts": _ts(
                "2026-01-10T09:05Z",
                "2026-01-14T00:00Z",
                "2026-01-14T00:01Z",
                "2026-01-14T00:02Z",
                "2026-01-25T09:00Z",
                "2026-01-15T00:00Z",
                "2026-01-15T00:01Z",
            ),  # fmt: skip
            "is_machine_open": [False, False, False, True, False, False, False],
        }
    )
    t["email_events"] = pd.concat([t["email_events"], extra], ignore_index=True)
    t["touchpoints"] = pd.concat(
        [
            t["touchpoints"],
            pd.DataFrame(
                {
                    "subscriber_id": [1, 1, 1],
                    "ts": _ts("2026-01-11T10:00Z", "2026-01-12T10:00Z", "2026-01-12T10:05Z"),
                    "channel": ["sms", "sms", "sms"],
                    "campaign_id": pd.array([None] * 3, dtype="Int64"),
                    "interaction": ["impression", "impression", "click"],
                }
            ),
        ],
        ignore_index=True,
    )
    # an order after the as-of date: must not count
    t["orders"] = pd.concat(
        [
            t["orders"],
            pd.DataFrame(
                {
                    "order_id": [1002],
                    "subscriber_id": [1],
                    "ts": _ts("2026-01-30T10:00Z"),
                    "revenue": [500.0],
                    "n_items": [3],
                    "category": ["outdoor"],
                }
            ),
        ],
        ignore_index=True,
    )
    return write_world(root, t)


@pytest.fixture
def world(tmp_path):
    return feature_world(tmp_path / "w")


def test_hand_computed_values(world):
    f = compute_features(world, as_of=AS_OF)
    assert list(f.index) == [1, 2, 3]
    one = f.loc[1]
    # signup 2026-01-01T08:00Z, as-of 2026-01-20T00:00Z
    assert one["tenure_days"] == pytest.approx(18 + 16 / 24)
    assert one["n_orders"] == 1 and one["revenue"] == pytest.approx(54.5)
    assert one["days_since_last_order"] == pytest.approx(8 + 14 / 24)  # 2026-01-11T10:00Z
    # delivered: broadcast + cart reminder = 2; human opens 1 (the machine open excluded)
    assert one["emails_delivered"] == 2
    assert one["open_rate"] == pytest.approx(0.5)
    assert one["click_rate"] == pytest.approx(0.5)
    assert one["click_to_open"] == pytest.approx(1.0)
    assert one["machine_open_share"] == pytest.approx(0.5)
    # the human open: 2026-01-10T09:00Z, UTC+1 -> Saturday 10:00 local
    assert one["preferred_local_hour"] == 10
    assert one["weekend_open_share"] == 1.0 and one["morning_open_share"] == 1.0
    assert one["weekend_open_hour"] == pytest.approx(10.0)
    assert np.isnan(one["weekday_open_hour"])
    assert one["click_share_deals"] == 1.0 and one["click_share_onboarding"] == 0.0
    # the one human open was on the deals broadcast, on a Saturday
    assert (one["n_opens"], one["n_weekday_opens"], one["n_weekend_opens"]) == (1, 0, 1)
    assert one["n_clicks"] == 1
    assert one["open_share_deals"] == 1.0 and one["open_share_onboarding"] == 0.0
    assert one["cart_abandonment_emails"] == 1
    assert one["sms_response_rate"] == pytest.approx(0.5)
    assert one["sms_consent"] == 1 and one["push_consent"] == 0
    # subscriber 2 got one 'sent' but no delivery: no rates, no hour
    two = f.loc[2]
    assert two["emails_delivered"] == 0 and two["open_rate"] == 0 and two["click_rate"] == 0
    assert two["preferred_local_hour"] == -1
    assert two["n_opens"] == 0 and two["n_clicks"] == 0 and two["open_share_deals"] == 0
    assert two["days_since_last_open"] == pytest.approx(two["tenure_days"])
    assert f.loc[3, "buy_share_home"] == 1.0 and f.loc[3, "cart_abandonment_emails"] == 1
    # text attributes come straight from the subscribers table
    subs = load_world(world, tables=["subscribers"])["subscribers"].set_index("subscriber_id")
    for col in ATTRIBUTES:
        assert f[col].tolist() == subs.loc[f.index, col].tolist()
    assert attribute_columns(f) == list(ATTRIBUTES)
    assert not set(ATTRIBUTES) & set(cluster_columns(f))


def test_no_future_leakage(world):
    """Events after the as-of date change nothing; later subscribers are absent."""
    before = compute_features(world, as_of=AS_OF)
    assert "buy_share_outdoor" not in before.columns  # the only outdoor order is after as_of
    assert before.loc[1, "n_orders"] == 1
    # cut every table at the as-of date by hand: the features must be identical
    w = load_world(world)
    cut = {}
    for name, df in w.tables.items():
        col = {"subscribers": "signup_ts", "campaigns": "sent_ts", "experiments": "start_ts",
               "assignments": "assigned_ts"}.get(name, "ts")  # fmt: skip
        cut[name] = df.loc[df[col] < pd.Timestamp(AS_OF, tz="UTC")] if col in df else df
    truncated = write_world(world.parent / "cut", cut)
    after = compute_features(truncated, as_of=AS_OF)
    pd.testing.assert_frame_equal(before, after)
    early = compute_features(world, as_of="2026-01-02T09:00Z")
    assert list(early.index) == [1]


def test_deterministic_and_same_for_loaded_world(world):
    a = compute_features(world, as_of=AS_OF)
    b = compute_features(world, as_of=AS_OF)
    pd.testing.assert_frame_equal(a, b)
    c = compute_features(load_world(world), as_of=AS_OF)
    pd.testing.assert_frame_equal(a, c)


def test_csv_world_matches_parquet(tmp_path, world):
    w = load_world(world)
    csv = write_world(tmp_path / "csv", w.tables, fmt="csv")
    pd.testing.assert_frame_equal(
        compute_features(world, as_of=AS_OF), compute_features(csv, as_of=AS_OF)
    )


def test_every_column_documented(world):
    f = compute_features(world, as_of=AS_OF)
    d = describe(f)
    assert (d["description"] != "").all(), d.loc[d["description"] == "", "feature"].tolist()
    patterns = tuple(k.split("{cat}")[0] for k in FEATURES if "{cat}" in k)
    assert set(FEATURES) >= {c for c in f.columns if not c.startswith(patterns)}


def test_feature_families_compose_the_table(world):
    """Each family's columns are in the table, in family order; names unique and documented."""
    names = [f.name for fam in FAMILIES for f in fam.features]
    assert len(names) == len(set(names))
    assert list(FEATURES) == names and all(FEATURES.values())
    assert len({fam.name for fam in FAMILIES}) == len(FAMILIES)
    f = compute_features(world, as_of=AS_OF)
    expected = []
    for fam in FAMILIES:
        for feat in fam.features:
            if feat.per is None:
                cols = [feat.name]
            else:  # one column per category of the small world, in sorted order
                prefix = feat.name.removesuffix("{cat}")
                cols = [c for c in f.columns if c.startswith(prefix)]
                assert cols, (fam.name, feat.name)
            expected += cols
            for c in cols:
                if feat.dtype == "str":
                    assert pd.api.types.is_string_dtype(f[c]), (c, f[c].dtype)
                else:
                    assert str(f[c].dtype) == feat.dtype, (c, f[c].dtype)
    assert list(f.columns) == expected
    # the {cat} families follow the categories of the world (campaign content, orders so far)
    w = load_world(world)
    content = sorted(w["campaigns"]["content_category"].dropna().unique())
    orders = w["orders"]
    product = sorted(orders.loc[orders["ts"] < pd.Timestamp(AS_OF, tz="UTC"), "category"].unique())
    categories = {"click_share_": content, "open_share_": content, "buy_share_": product}
    for prefix, cats in categories.items():
        assert len(cats) >= 2
        assert [c.removeprefix(prefix) for c in f.columns if c.startswith(prefix)] == cats


def test_feature_tables_name_only_features():
    """The rate, evidence and clustering tables refer to features that exist (no stale name)."""
    from workbench.segment.policy import HOUR_FEATURES, LOG_FEATURES, NOT_CLUSTERED

    names = set(FEATURES)
    assert set(RATE_COUNTS) <= names and set(RATE_COUNTS.values()) <= names
    assert set(UNDEFINED_WITHOUT) <= names and set(UNDEFINED_WITHOUT.values()) <= names
    assert LOG_FEATURES <= names and set(HOUR_FEATURES) <= names and NOT_CLUSTERED <= names


def test_every_average_names_its_count(world):
    """Rates and shares name the count column behind them (used to shrink noisy rates)."""
    f = compute_features(world, as_of=AS_OF)
    for col in ("open_rate", "click_share_deals", "open_share_deals", "buy_share_home"):
        assert count_column(col) in f.columns
    assert count_column("open_rate") == "emails_delivered"
    assert count_column("open_share_deals") == "n_opens"
    assert count_column("n_orders") is None
    # a count is never a clustering feature by itself: it only weighs the evidence
    assert not {"n_opens", "n_clicks", "n_weekday_opens"} & set(cluster_columns(f))
    # volumes of never-emailed subscribers are undefined, not zero behaviour
    for col, count in UNDEFINED_WITHOUT.items():
        assert col in f.columns and count in f.columns and evidence_column(col) == count
        assert (f.loc[f[count] == 0, col].notna()).all()  # the table keeps its documented value
    assert evidence_column("open_rate") == "emails_delivered"
    assert evidence_column("tenure_days") is None


def test_default_as_of_is_midnight_after_last_event(world):
    assert default_as_of(world) == pd.Timestamp("2026-01-31", tz="UTC")


def test_bad_inputs(tmp_path, world):
    with pytest.raises(WorkbenchError, match="as_of"):
        compute_features(world, as_of="not a date")
    with pytest.raises(WorkbenchError, match="no such world"):
        compute_features(tmp_path / "nowhere")
    (world / "subscribers.parquet").unlink()
    with pytest.raises(DataError, match="table not found"):
        compute_features(world)


def test_missing_required_column_in_parquet(tmp_path):
    t = small_tables()
    t["orders"] = t["orders"].drop(columns="revenue")
    root = write_world(tmp_path / "w", t)
    with pytest.raises(DataError) as info:
        compute_features(root)
    assert info.value.column == "revenue" and "orders.parquet" in info.value.source


def test_parquet_parts_folder(tmp_path, world):
    ev = pd.read_parquet(world / "email_events.parquet")
    (world / "email_events.parquet").unlink()
    (world / "email_events").mkdir()
    ev.iloc[:5].to_parquet(world / "email_events" / "part-0.parquet", index=False)
    ev.iloc[5:].to_parquet(world / "email_events" / "part-1.parquet", index=False)
    assert json.loads((world / "world.json").read_text())["scenario"] == "hand-made"
    assert compute_features(world, as_of=AS_OF).loc[1, "emails_delivered"] == 2


def test_reachability_flags(tmp_path):
    """A bounce with no later delivery is a hard bounce; consent and unsubscribes count too."""
    root = feature_world(tmp_path / "w")
    path = root / "email_events.parquet"
    ev = pd.read_parquet(path)
    bounces = pd.DataFrame(
        {
            "subscriber_id": [1, 3, 2],
            "campaign_id": [10, 12, 12],
            "variant": [None] * 3,
            "event_type": ["bounced"] * 3,
            # 1: soft (delivered again on the 14th); 3: last word is a bounce; 2: after as-of
            "ts": _ts("2026-01-13T00:00Z", "2026-01-16T00:00Z", "2026-01-25T00:00Z"),
            "is_machine_open": [False] * 3,
        }
    ).astype(ev.dtypes.to_dict())
    pd.concat([ev, bounces], ignore_index=True).to_parquet(path, index=False)
    f = compute_features(root, as_of=AS_OF)
    assert f["is_bounced"].to_dict() == {1: 0, 2: 0, 3: 1}
    subs = load_world(root, tables=["subscribers"])["subscribers"].set_index("subscriber_id")
    unsub = subs["unsubscribed_ts"].notna() & (
        subs["unsubscribed_ts"] < pd.Timestamp(AS_OF, tz="UTC")
    )
    expected = subs["email_consent"].astype(bool) & ~unsub & (f["is_bounced"] == 0)
    assert f["email_reachable"].to_dict() == expected.astype(int).to_dict()
    assert not {"is_bounced", "email_reachable"} & set(cluster_columns(f))
    # weekly volumes of a hard-bounced address count only the weeks before the bounce
    start = ev["ts"].min()
    signup = subs.loc[3, "signup_ts"]
    weeks = (pd.Timestamp("2026-01-16", tz="UTC") - max(signup, start)) / pd.Timedelta(days=7)
    assert f.loc[3, "emails_per_week"] == pytest.approx(
        f.loc[3, "emails_delivered"] / max(weeks, 1)
    )
    assert f.loc[3, "opens_per_week"] == pytest.approx(f.loc[3, "n_opens"] / max(weeks, 1))
    before = compute_features(feature_world(tmp_path / "clean"), as_of=AS_OF)
    assert f.loc[1, "emails_per_week"] == before.loc[1, "emails_per_week"]  # soft bounce


def test_parquet_in_compatible_types_gives_the_same_features(tmp_path, world):
    """The DuckDB views cast what the checks accepted: int32 ids, naive ns times, float ids."""
    ref = compute_features(world, as_of=AS_OF)
    subs = pd.read_parquet(world / "subscribers.parquet")
    subs["subscriber_id"] = subs["subscriber_id"].astype("int32")
    subs["signup_ts"] = subs["signup_ts"].dt.tz_localize(None).astype("datetime64[ns]")
    subs.to_parquet(world / "subscribers.parquet", index=False)
    ev = pd.read_parquet(world / "email_events.parquet")
    ev["subscriber_id"] = ev["subscriber_id"].astype("float64")
    ev["campaign_id"] = ev["campaign_id"].astype("int16")
    ev.to_parquet(world / "email_events.parquet", index=False)
    pd.testing.assert_frame_equal(compute_features(world, as_of=AS_OF), ref)
    ev["subscriber_id"] += 0.5
    ev.to_parquet(world / "email_events.parquet", index=False)
    with pytest.raises(DataError, match="not whole numbers"):
        compute_features(world, as_of=AS_OF)


def test_world_connection_checks_like_load_world(tmp_path, world):
    orders = pd.read_parquet(world / "orders.parquet")
    orders.loc[0, "revenue"] = -1.0
    orders.to_parquet(world / "orders.parquet", index=False)
    with pytest.raises(DataError) as a:
        world_connection(world)
    with pytest.raises(DataError) as b:
        load_world(world)
    assert str(a.value) == str(b.value) and "values below 0" in str(a.value)
