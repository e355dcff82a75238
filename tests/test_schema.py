"""The data contract: valid worlds load (Parquet and CSV alike), bad input gets one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.errors import DataError, WorkbenchError
from workbench.schema import TABLES, load_world, validate_table


def _ts(*values: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(values), utc=True)).astype("datetime64[us, UTC]")


def small_tables() -> dict[str, pd.DataFrame]:
    """A hand-made world of three subscribers that meets the contract."""
    subscribers = pd.DataFrame(
        {
            "subscriber_id": [1, 2, 3],
            "email": ["a@example.com", "b@example.com", "c@example.org"],
            "signup_ts": _ts("2026-01-01T08:00Z", "2026-01-02T09:30Z", "2026-01-03T10:00Z"),
            "region": ["europe", "north_america", "asia"],
            "tz_offset_h": [1.0, -5.0, 5.5],
            "acquisition_source": ["organic", "paid_social", "referral"],
            "email_consent": [True, True, True],
            "sms_consent": [True, False, False],
            "push_consent": [False, True, False],
            "unsubscribed_ts": _ts("NaT", "2026-02-01T12:00Z", "NaT"),
        }
    )
    campaigns = pd.DataFrame(
        {
            "campaign_id": [10, 11],
            "name": ["January deals", "Welcome 1"],
            "kind": ["broadcast", "triggered"],
            "channel": ["email", "email"],
            "sent_ts": _ts("2026-01-10T07:00Z", "2026-01-01T08:05Z"),
            "experiment_id": pd.array([100, None], dtype="Int64"),
            "content_category": ["deals", "onboarding"],
        }
    )
    email_events = pd.DataFrame(
        {
            "subscriber_id": [1, 1, 1, 2],
            "campaign_id": [10, 10, 10, 10],
            "variant": ["A", "A", "A", "B"],
            "event_type": ["sent", "delivered", "opened", "sent"],
            "ts": _ts(
                "2026-01-10T07:00Z", "2026-01-10T07:01Z", "2026-01-10T09:00Z", "2026-01-10T07:00Z"
            ),
            "is_machine_open": [False, False, False, False],
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [1000, 1001],
            "subscriber_id": [1, 3],
            "ts": _ts("2026-01-11T10:00Z", "2026-01-12T18:00Z"),
            "revenue": [54.5, 12.0],
            "n_items": [2, 1],
            "category": ["apparel", "home"],
        }
    )
    experiments = pd.DataFrame(
        {
            "experiment_id": [100],
            "name": ["subject line test"],
            "kind": ["ab_test"],
            "arms": ["A|B"],
            "control_arm": ["A"],
            "start_ts": _ts("2026-01-10T07:00Z"),
            "conversion_window_days": [7],
        }
    )
    assignments = pd.DataFrame(
        {
            "experiment_id": [100, 100],
            "subscriber_id": [1, 2],
            "arm": ["A", "B"],
            "assigned_ts": _ts("2026-01-10T07:00Z", "2026-01-10T07:00Z"),
            "is_holdout": [False, False],
        }
    )
    touchpoints = pd.DataFrame(
        {
            "subscriber_id": [1, 3],
            "ts": _ts("2026-01-10T09:00Z", "2026-01-12T17:00Z"),
            "channel": ["email", "organic_search"],
            "campaign_id": pd.array([10, None], dtype="Int64"),
            "interaction": ["open", "click"],
        }
    )
    return {
        "subscribers": subscribers,
        "campaigns": campaigns,
        "email_events": email_events,
        "orders": orders,
        "experiments": experiments,
        "assignments": assignments,
        "touchpoints": touchpoints,
    }


def write_world(root: Path, tables: dict[str, pd.DataFrame], fmt: str = "parquet") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "world.json").write_text(json.dumps({"scenario": "hand-made", "seed": 0}))
    for name, df in tables.items():
        if fmt == "parquet":
            df.to_parquet(root / f"{name}.parquet", index=False)
        else:
            df.to_csv(root / f"{name}.csv", index=False)
    return root


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_valid_world_loads_with_contract_dtypes(tmp_path, fmt):
    world = load_world(write_world(tmp_path / "w", small_tables(), fmt))
    assert world.meta["scenario"] == "hand-made"
    subs = world["subscribers"]
    assert subs["subscriber_id"].dtype == "int64"
    assert str(subs["signup_ts"].dtype) == "datetime64[us, UTC]"
    assert subs["unsubscribed_ts"].isna().tolist() == [True, False, True]
    assert subs["sms_consent"].dtype == bool
    assert world["campaigns"]["experiment_id"].dtype == "Int64"
    assert world["orders"]["revenue"].sum() == pytest.approx(66.5)
    assert "touchpoints" in world


def test_csv_and_parquet_load_the_same(tmp_path):
    a = load_world(write_world(tmp_path / "p", small_tables(), "parquet"))
    b = load_world(write_world(tmp_path / "c", small_tables(), "csv"))
    for name in a.tables:
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=True)


def test_folder_of_parquet_parts_loads(tmp_path):
    tables = small_tables()
    root = write_world(tmp_path / "w", {k: v for k, v in tables.items() if k != "email_events"})
    (root / "email_events").mkdir()
    ev = tables["email_events"]
    ev.iloc[:2].to_parquet(root / "email_events" / "part-00000.parquet", index=False)
    ev.iloc[2:].to_parquet(root / "email_events" / "part-00001.parquet", index=False)
    assert len(load_world(root)["email_events"]) == len(ev)


def _broken(tmp_path, table, mutate, fmt="parquet"):
    tables = small_tables()
    tables[table] = mutate(tables[table].copy())
    root = write_world(tmp_path / "w", tables, fmt)
    with pytest.raises(DataError) as info:
        load_world(root)
    return info.value


def test_missing_column(tmp_path):
    err = _broken(tmp_path, "orders", lambda d: d.drop(columns="revenue"))
    assert err.column == "revenue"
    assert "orders.parquet" in err.source
    assert "missing required column" in str(err)


def test_misspelt_column_is_suggested(tmp_path):
    err = _broken(tmp_path, "orders", lambda d: d.rename(columns={"revenue": "revenu"}))
    assert err.column == "revenue" and "'revenu'" in str(err)


def test_wrong_type(tmp_path):
    def mutate(d):
        d["n_items"] = ["two", "1"]
        return d

    # CSV is text: each value is parsed, the bad ones are named by line
    err = _broken(tmp_path / "csv", "orders", mutate, fmt="csv")
    assert err.column == "n_items" and err.n_rows == 1 and "line 2: 'two'" in str(err)
    # Parquet is typed: text stored where the contract wants int64 is refused as a whole
    err = _broken(tmp_path / "parquet", "orders", mutate)
    assert err.column == "n_items" and "orders.parquet" in err.source
    assert "stored as text" in err.problem and "expected int64" in err.problem


def test_duplicate_ids(tmp_path):
    def mutate(d):
        d["subscriber_id"] = [1, 2, 2]
        return d

    err = _broken(tmp_path, "subscribers", mutate)
    assert err.column == "subscriber_id" and "duplicate" in err.problem and err.n_rows == 1


def test_duplicate_composite_key(tmp_path):
    err = _broken(tmp_path, "assignments", lambda d: pd.concat([d, d.iloc[[0]]]))
    assert "duplicate keys" in str(err) and err.n_rows == 1


def test_unparsable_timestamps_in_csv(tmp_path):
    def mutate(d):
        d["ts"] = d["ts"].astype(str)
        d.loc[1, "ts"] = "yesterday at noon"
        return d

    err = _broken(tmp_path, "orders", mutate, fmt="csv")
    assert err.column == "ts" and "unparsable timestamps" in str(err)
    assert "orders.csv" in err.source and "yesterday at noon" in str(err)


def test_negative_revenue(tmp_path):
    def mutate(d):
        d["revenue"] = [-3.0, 12.0]
        return d

    err = _broken(tmp_path, "orders", mutate)
    assert err.column == "revenue" and err.n_rows == 1 and "row 0" in str(err)


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [("touchpoints", "channel", "carrier_pigeon"), ("email_events", "event_type", "forwarded")],
)
def test_unknown_category(tmp_path, table, column, value):
    def mutate(d):
        d.loc[1, column] = value
        return d

    err = _broken(tmp_path, table, mutate)
    assert err.column == column and value in str(err) and err.n_rows == 1


def test_rows_for_unknown_subscribers(tmp_path):
    def mutate(d):
        d.loc[1, "subscriber_id"] = 999
        return d

    err = _broken(tmp_path, "orders", mutate)
    assert err.column == "subscriber_id" and "unknown subscribers" in str(err)
    assert "999" in str(err)


def test_missing_values_in_required_column(tmp_path):
    def mutate(d):
        d["region"] = ["europe", None, "asia"]
        return d

    err = _broken(tmp_path, "subscribers", mutate, fmt="csv")
    assert err.column == "region" and "missing values" in str(err) and "line 3" in str(err)


def test_missing_subscribers_table_and_folder(tmp_path):
    with pytest.raises(WorkbenchError, match="no such world folder"):
        load_world(tmp_path / "nowhere")
    tables = small_tables()
    del tables["subscribers"]
    with pytest.raises(DataError, match="table not found"):
        load_world(write_world(tmp_path / "w", tables))


def test_validate_table_accepts_extra_columns_and_rejects_unknown_tables():
    df = small_tables()["orders"].assign(coupon="SPRING")
    out = validate_table(df, "orders")
    assert list(out.columns) == list(df.columns)
    with pytest.raises(WorkbenchError, match="unknown table"):
        validate_table(df, "purchases")


def test_arrow_schema_matches_contract():
    schema = TABLES["email_events"].arrow_schema()
    assert schema.names == TABLES["email_events"].column_names
    assert str(schema.field("ts").type) == "timestamp[us, tz=UTC]"
