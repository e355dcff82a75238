"""The data contract: valid worlds load (Parquet and CSV alike), bad input gets one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench._read import read_csv
from workbench.db import open_tables
from workbench.errors import DataError, WorkbenchError
from workbench.schema import RULES, TABLE_ORDER, TABLES, load_world, validate_table


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


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", "\udcff"])
def test_a_broken_world_json_is_one_clear_error(tmp_path, text):
    root = write_world(tmp_path / "w", small_tables())
    (root / "world.json").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(WorkbenchError, match=r"world\.json: (invalid JSON|expected a JSON object)"):
        load_world(root)


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


# ------------------------------------------------------------------- cross-table rules, types


def _shift(col: str, days: float, rows: list[int]):
    def mutate(d):
        d.loc[rows, col] = d.loc[rows, col] - pd.Timedelta(days=days)
        return d

    return mutate


@pytest.mark.parametrize(
    ("table", "mutate", "column", "problem"),
    [
        ("subscribers", lambda d: d.assign(unsubscribed_ts=d["signup_ts"] - pd.Timedelta("1h")),
         "unsubscribed_ts", "unsubscribed before signup_ts"),
        ("experiments", lambda d: d.assign(control_arm="C"), "control_arm",
         "control arm not among the experiment's arms"),
        ("email_events", _shift("ts", 400, [1]), "ts", "before the subscriber's signup_ts"),
        ("touchpoints", _shift("ts", 30, [0]), "ts", "email touch before the subscriber's"),
        ("touchpoints", lambda d: d.assign(channel=["sms", "organic_search"]), "channel",
         "differs from the channel of the touch's campaign"),
        ("assignments", lambda d: d.assign(arm=["A", "treatment"]), "arm",
         "arm not listed in the experiment's arms"),
        ("assignments", _shift("assigned_ts", 1, [1]), "assigned_ts",
         "before the experiment's start_ts"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_cross_table_rules(tmp_path, table, mutate, column, problem, fmt):
    err = _broken(tmp_path, table, mutate, fmt)
    assert err.column == column and problem in err.problem and err.n_rows >= 1
    assert f"{table}.{fmt}" in err.source


def test_email_event_of_an_sms_campaign(tmp_path):
    tables = small_tables()
    tables["campaigns"].loc[0, "channel"] = "sms"
    tables["touchpoints"].loc[0, "channel"] = "sms"  # keep the touch on its campaign's channel
    with pytest.raises(DataError) as info:
        load_world(write_world(tmp_path / "w", tables))
    err = info.value
    assert err.column == "campaign_id" and "not an email campaign" in err.problem
    assert err.n_rows == 4 and "campaign channel='sms'" in str(err)


def test_what_real_exports_do_is_allowed(tmp_path):
    """Orders, non-email touches and unsubscribe-time events around the signup are legitimate."""
    tables = small_tables()
    signup = tables["subscribers"].set_index("subscriber_id")["signup_ts"]
    tables["orders"]["ts"] = tables["orders"]["subscriber_id"].map(signup) - pd.Timedelta(days=90)
    tables["touchpoints"].loc[1, "ts"] = signup[3] - pd.Timedelta(days=60)  # organic search
    tables["assignments"]["assigned_ts"] = tables["assignments"]["assigned_ts"] + pd.Timedelta(1)
    tables["email_events"]["variant"] = ["x", "x", "x", None]  # ESP labels, not arm names
    world = load_world(write_world(tmp_path / "w", tables))
    assert (world["orders"]["ts"] < world["orders"]["subscriber_id"].map(signup)).all()


def test_rules_and_references_checked_whichever_tables_are_asked_for(tmp_path):
    tables = small_tables()
    tables["experiments"]["control_arm"] = "C"
    root = write_world(tmp_path / "w", tables)
    # campaigns refer to experiments: reading campaigns checks experiments too
    with pytest.raises(DataError, match="control arm not among") as a:
        load_world(root, tables=["campaigns"])
    with pytest.raises(DataError) as b:
        load_world(root)
    assert str(a.value) == str(b.value)
    assert load_world(root, tables=["orders"])["orders"].shape[0] == 2  # no path to experiments


def test_table_order_puts_referenced_tables_first():
    pos = {n: i for i, n in enumerate(TABLE_ORDER)}
    assert set(TABLE_ORDER) == set(TABLES)
    for name, t in TABLES.items():
        for target in t.references.values():
            assert pos[target.split(".")[0]] < pos[name]
    for rule in RULES:
        assert rule.column in TABLES[rule.table].column_names
        if rule.via:
            assert rule.via in TABLES[rule.table].references


def test_every_rule_is_exercised_and_kept_by_the_sample():
    """Each rule has rows to judge in the committed sample world, and none breaks it."""
    from workbench.db import connect
    from workbench.paths import sample_world

    con = connect()
    opened = open_tables(con, sample_world(), list(TABLES))
    for rule in RULES:
        table = TABLES[rule.table]
        join = ""
        if rule.via:
            ttable, tcol = table.references[rule.via].split(".")
            join = f"JOIN {ttable} r ON t.{rule.via} = r.{tcol}"
        valid = rule.valid.format(t="t", r="r")
        judged, kept = con.execute(
            f"SELECT count({valid}), count_if({valid}) FROM {rule.table} t {join}"
        ).fetchall()[0]
        assert judged > 0 and kept == judged, (rule.table, rule.column, judged, kept)
    assert set(opened) == set(TABLES)
    con.close()


def test_parquet_stored_in_compatible_types_reads_as_the_contract(tmp_path):
    """int32 ids, float32 offsets, naive and nanosecond times, float ids with nulls, dates."""
    ref = load_world(write_world(tmp_path / "ref", small_tables()))
    tables = small_tables()
    s = tables["subscribers"]
    s["subscriber_id"] = s["subscriber_id"].astype("int32")
    s["tz_offset_h"] = s["tz_offset_h"].astype("float32")
    s["signup_ts"] = s["signup_ts"].dt.tz_localize(None).astype("datetime64[ns]")
    tables["touchpoints"]["campaign_id"] = tables["touchpoints"]["campaign_id"].astype("float64")
    o = tables["orders"]
    o["ts"] = o["ts"].dt.tz_convert("Europe/Paris").astype("datetime64[ns, Europe/Paris]")
    o["n_items"] = o["n_items"].astype("float64")
    o["revenue"] = o["revenue"].round(2).astype("float32")
    root = write_world(tmp_path / "w", tables)
    import pyarrow as pa
    import pyarrow.parquet as pq

    e = pq.read_table(root / "experiments.parquet")
    i = e.schema.get_field_index("start_ts")
    e = e.set_column(i, "start_ts", pa.array([pd.Timestamp("2026-01-10").date()], pa.date32()))
    pq.write_table(e, root / "experiments.parquet")
    world = load_world(root)
    for name, df in ref.tables.items():
        if name == "experiments":
            assert world[name]["start_ts"].iloc[0] == pd.Timestamp("2026-01-10", tz="UTC")
            continue
        pd.testing.assert_frame_equal(world[name], df, check_exact=False, rtol=1e-6)


@pytest.mark.parametrize(
    ("mutate", "column", "problem"),
    [
        (lambda d: d.assign(revenue=d["revenue"].astype(str)), "revenue", "stored as text"),
        (lambda d: d.assign(n_items=[True, False]), "n_items", "expected int64"),
        (lambda d: d.assign(ts=d["ts"].astype(str)), "ts", "expected timestamp"),
        (lambda d: d.assign(order_id=d["order_id"].astype("uint64")), "order_id", "uint64"),
        (lambda d: d.assign(n_items=[2.5, 1.0]), "n_items", "values that are not whole numbers"),
        (lambda d: d.assign(ts=pd.Timestamp("2300-01-01", tz="UTC")), "ts", "times outside"),
        (lambda d: d.assign(revenue=[float("nan"), 1.0]), "revenue", "missing values"),
    ],
)
def test_parquet_types_and_values(tmp_path, mutate, column, problem):
    err = _broken(tmp_path, "orders", mutate)
    assert err.column == column and problem in err.problem and "orders.parquet" in err.source


def test_csv_rows_are_reported_by_file_line(tmp_path):
    root = write_world(tmp_path / "w", small_tables(), "csv")
    path = root / "orders.csv"
    header, first, second = path.read_text().splitlines()
    # a quoted category spanning two lines and a blank line move the bad row from 3 to line 5
    first = first.replace("apparel", '"apparel\nand shoes"')
    second = second.replace(",12.0,", ",-12.0,")
    path.write_text(f"{header}\n{first}\n\n{second}\n")
    with pytest.raises(DataError) as info:
        load_world(root)
    assert info.value.column == "revenue" and "(first: line 5: -12.0)" in str(info.value)


def test_validate_table_checks_rules_within_a_row_and_keeps_csv_lines(tmp_path):
    exps = small_tables()["experiments"].assign(control_arm="C")
    with pytest.raises(DataError, match="control arm not among"):
        validate_table(exps, "experiments")
    path = tmp_path / "orders.csv"
    small_tables()["orders"].assign(n_items=[1, 0]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"values below 1 in 1 row \(first: line 3: 0\)"):
        validate_table(read_csv(path, text=True), "orders", source=str(path))


def test_validate_table_without_coercion_wants_contract_dtypes():
    orders = small_tables()["orders"]
    assert validate_table(orders, "orders", coerce=False)["revenue"].dtype == "float64"
    with pytest.raises(DataError, match="column 'revenue': has type str, expected float64"):
        validate_table(orders.assign(revenue=["54.5", "12"]), "orders", coerce=False)
