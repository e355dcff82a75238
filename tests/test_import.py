"""``workbench import --preset generic``: a TOML mapping streams any export into a checked world.

Every check goes through the command line, as a user meets it: status 0 and a world every reader
accepts, or status 2 with one line naming the source file, its column and the first offending
lines, and nothing written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main
from workbench.importers import address_id, import_world, load_mapping
from workbench.schema import load_world

#: A CDNOW-style transaction log: whitespace-separated, dates as YYYYMMDD, no order id.
TRANSACTIONS = """\
 customer_id  date number_of_cds  dollar_value
 00001 19970101  1   11.77
 00002 19970112  1   12.00
 00002 19970112  5   77.00
 00003 19970102  2   20.76
 00003 19970330  2   20.76
"""

MAP = """\
[orders]
source = "transactions.txt"
sep = "whitespace"
[orders.columns]
subscriber_id = "customer_id"
ts = "date"
revenue = "dollar_value"
n_items = "number_of_cds"
[orders.formats]
ts = "%Y%m%d"
"""

SALT = "test-salt-not-secret"


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder / "map.toml"


def _import(mapping: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["import", "--preset", "generic", "--map", str(mapping), "--out", str(out)])
    return status, capsys.readouterr().err


def test_whitespace_log_imports_as_an_orders_only_world(tmp_path, capsys):
    mapping = _write(tmp_path / "src", {"transactions.txt": TRANSACTIONS, "map.toml": MAP})
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 0, err
    world = load_world(tmp_path / "world")
    assert set(world.tables) == {"subscribers", "orders"}
    orders = world["orders"]
    assert orders["subscriber_id"].tolist() == [1, 2, 2, 3, 3]  # integer ids are kept
    assert orders["order_id"].tolist() == [1, 2, 3, 4, 5]  # numbered in file order
    assert orders["revenue"].tolist() == [11.77, 12.0, 77.0, 20.76, 20.76]
    assert orders["n_items"].tolist() == [1, 1, 5, 2, 2]
    assert (orders["category"] == "unknown").all()  # documented "not known"
    assert orders["ts"].iloc[1] == pd.Timestamp("1997-01-12", tz="UTC")
    subs = world["subscribers"].set_index("subscriber_id")
    # derived from the orders: signup = first activity
    assert subs.loc[3, "signup_ts"] == pd.Timestamp("1997-01-02", tz="UTC")
    assert subs["unsubscribed_ts"].isna().all()
    meta = json.loads((tmp_path / "world" / "world.json").read_text())
    assert meta["origin"] == "import" and meta["rows"] == {"orders": 5, "subscribers": 3}
    assert meta["start"] == "1997-01-01" and meta["days"] == 89
    assert "salt" not in json.dumps(meta).lower()


def test_same_export_gives_the_same_world(tmp_path, capsys):
    mapping = _write(tmp_path / "src", {"transactions.txt": TRANSACTIONS, "map.toml": MAP})
    for name in ("a", "b"):
        assert _import(mapping, tmp_path / name, capsys)[0] == 0
    for table in ("orders", "subscribers"):
        a = pd.read_parquet(tmp_path / "a" / f"{table}.parquet")
        b = pd.read_parquet(tmp_path / "b" / f"{table}.parquet")
        pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("bad_line", "column", "problem"),
    [
        (" 00002 1997013X  1   12.00\n", "date (as ts)", "values that are not times in format"),
        (" 00002 19970112  1   12,00x\n", "dollar_value (as revenue)", "not numbers"),
        (" 00002 19970112  1.5   12.00\n", "number_of_cds (as n_items)", "not whole numbers"),
        (" 00002 19970112  1   -3.00\n", "dollar_value (as revenue)", "values below 0"),
        (" 00002 19970112  0   3.00\n", "number_of_cds (as n_items)", "values below 1"),
    ],
)
def test_bad_value_names_file_column_and_line(tmp_path, capsys, bad_line, column, problem):
    lines = TRANSACTIONS.splitlines(keepends=True)
    text = "".join(lines[:3] + [bad_line] + lines[3:])  # the bad row is line 4
    mapping = _write(tmp_path / "src", {"transactions.txt": text, "map.toml": MAP})
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "transactions.txt" in err and f"column '{column}'" in err and problem in err
    assert "in 1 row (first: line 4" in err or "transactions.txt line 4" in err
    assert not (tmp_path / "world").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".world")]  # no temporary


CSV_EVENTS = """\
Email,Campaign,Event,When
a@example.com,Spring sale,Received Email,2026-03-02 09:00:00
a@example.com,Spring sale,Opened Email,2026-03-02 10:30:00
"B@Example.com ",Spring sale,Received Email,2026-03-02 09:00:01
b@example.com,Spring sale,Viewed Product,2026-03-02 11:00:00
b@example.com,"Summer
launch",Received Email,2026-06-01 08:00:00
b@example.com,Summer launch,Clicked Email,2026-06-01 08:05:00
"""

EVENTS_MAP = """\
[email_events]
source = "events.csv"
timezone = "America/New_York"
drop_unmapped = ["event_type"]
[email_events.columns]
subscriber_id = "Email"
campaign_id = "Campaign"
event_type = "Event"
ts = "When"
[email_events.values.event_type]
"Received Email" = "delivered"
"Opened Email" = "opened"
"Clicked Email" = "clicked"
"""


def test_address_ids_need_a_salt_and_never_reach_the_world(tmp_path, capsys, monkeypatch):
    mapping = _write(tmp_path / "src", {"events.csv": CSV_EVENTS, "map.toml": EVENTS_MAP})
    monkeypatch.delenv("WORKBENCH_SALT", raising=False)
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 2 and "WORKBENCH_SALT" in err and "--salt-file" in err
    assert not (tmp_path / "world").exists()

    monkeypatch.setenv("WORKBENCH_SALT", SALT)
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 0, err
    world = load_world(tmp_path / "world")
    ev = world["email_events"]
    # the address is pseudonymised: case and blanks do not matter, the salt does
    assert set(ev["subscriber_id"]) == {
        address_id("a@example.com", SALT),
        address_id("b@example.com", SALT),
    }
    assert address_id("a@example.com", SALT) != address_id("a@example.com", SALT + "x")
    assert len(ev) == 5  # 'Viewed Product' dropped, as asked
    assert "left out 1 email_events rows" in err
    # naive times are New York time: 09:00 EST is 14:00 UTC
    first = ev.sort_values("ts")["ts"].iloc[0]
    assert first == pd.Timestamp("2026-03-02 14:00", tz="UTC")
    camps = world["campaigns"].set_index("name")
    assert set(camps.index) == {"Spring sale", "Summer\nlaunch", "Summer launch"}
    assert camps.loc["Spring sale", "sent_ts"] == first
    for f in (tmp_path / "world").rglob("*"):
        if f.is_file():
            data = f.read_bytes().lower()
            assert b"@example.com" not in data and SALT.encode() not in data, f
    ids = pd.read_parquet(tmp_path / "world" / "ids" / "campaign_id.parquet")
    assert set(ids["source_value"]) == set(camps.index)  # the map of text ids is kept


def test_rows_break_the_contract_named_by_source_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WORKBENCH_SALT", SALT)
    bad = CSV_EVENTS.replace("Clicked Email", "Forwarded Email")
    mapping = _write(
        tmp_path / "src",
        {"events.csv": bad, "map.toml": EVENTS_MAP.replace('drop_unmapped = ["event_type"]\n', "")},
    )
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 2
    # 'Viewed Product' is line 5; the quoted field spans lines 6-7, so the last row is line 8
    assert "events.csv" in err and "column 'Event (as event_type)'" in err
    assert "unknown event_type values" in err and "in 2 rows" in err
    assert "events.csv line 5: 'Viewed Product'" in err
    assert "events.csv line 8: 'Forwarded Email'" in err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("[orders]", "[order]"), "[order] is not an importable table (misspelt? 'orders')"),
        (('revenue = "dollar_value"', 'revnue = "dollar_value"'), "'revnue' is not a column of"),
        (('sep = "whitespace"', 'sep = "whitespace"\nsorce = "x"'), "unknown key 'sorce'"),
        (('"transactions.txt"', '"nothere.txt"'), "source 'nothere.txt' matches no file"),
        (('"dollar_value"', '"dollar_val"'), "column 'dollar_val': missing column"),
        (('ts = "%Y%m%d"', 'ts = "%Y%m%d"\nrevenue = "1;234"'), "a number format is one of"),
        (("[orders.columns]", 'timezone = "Mars/Base"\n[orders.columns]'), "timezone 'Mars/Base'"),
        (("[orders.columns]", "[orders.columns]\nemail = 'x'"), "'email' is not a column of"),
        (('ts = "%Y%m%d"', 'ts = "%Y%m%Q"'), "cannot import (Invalid Input Error"),
    ],
)
def test_bad_mapping_is_one_line(tmp_path, capsys, edit, message):
    mapping = _write(
        tmp_path / "src", {"transactions.txt": TRANSACTIONS, "map.toml": MAP.replace(*edit)}
    )
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "world").exists()


#: Order lines grouped into orders (``group_by``), with members; an order of a stranger and one
#: without a customer.
GROUPED = {
    "members.csv": "id;joined\n10;05/01/2026\n11;06/01/2026\n",
    "lines.csv": (
        "order,customer,created,qty,total,kind\n"
        '#1,10,2026-01-07T10:00:00+01:00,2,"1,234.50",shoes\n'
        "#1,10,,1,,\n"
        "#2,99,2026-01-08T10:00:00Z,1,5.00,hats\n"
        "#3,,2026-01-09T10:00:00Z,1,5.00,hats\n"
        "#4,11,2026-01-09T10:00:00Z,3,7.00,hats\n"
    ),
    "map.toml": """\
[subscribers]
source = "members.csv"
sep = ";"
[subscribers.columns]
subscriber_id = "id"
signup_ts = "joined"
[subscribers.formats]
signup_ts = "%d/%m/%Y"
[orders]
source = "lines.csv"
group_by = "order_id"
[orders.columns]
order_id = "order"
subscriber_id = "customer"
ts = "created"
n_items = "qty"
revenue = "total"
category = "kind"
[orders.formats]
revenue = "1,234.56"
[orders.aggregate]
n_items = "sum"
""",
}


def test_lines_grouped_into_orders_and_orders_from_strangers_left_out(tmp_path, capsys):
    mapping = _write(tmp_path / "src", GROUPED)
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 0, err
    assert "left out 1 orders rows: no subscriber id" in err
    assert "left out 1 orders rows: subscriber not on the list" in err
    world = load_world(tmp_path / "world")
    orders = world["orders"].set_index("subscriber_id")
    assert len(orders) == 2
    assert orders.loc[10, "n_items"] == 3 and orders.loc[10, "revenue"] == 1234.5
    assert orders.loc[10, "ts"] == pd.Timestamp("2026-01-07 09:00", tz="UTC")
    assert world["subscribers"]["signup_ts"].tolist() == [
        pd.Timestamp("2026-01-05", tz="UTC"),
        pd.Timestamp("2026-01-06", tz="UTC"),
    ]


def test_existing_world_is_kept_without_overwrite(tmp_path, capsys):
    mapping = _write(tmp_path / "src", {"transactions.txt": TRANSACTIONS, "map.toml": MAP})
    out = tmp_path / "world"
    assert _import(mapping, out, capsys)[0] == 0
    before = (out / "orders.parquet").read_bytes()
    status, err = _import(mapping, out, capsys)
    assert status == 2 and "--overwrite" in err
    assert (out / "orders.parquet").read_bytes() == before


def test_python_api_matches_the_command_line(tmp_path, capsys):
    mapping = _write(tmp_path / "src", {"transactions.txt": TRANSACTIONS, "map.toml": MAP})
    result = import_world(load_mapping(mapping), tmp_path / "api")
    assert result.rows == {"orders": 5, "subscribers": 3}
    assert _import(mapping, tmp_path / "cli", capsys)[0] == 0
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "api" / "orders.parquet"),
        pd.read_parquet(tmp_path / "cli" / "orders.parquet"),
    )


def parquet_parts_and_tsv(src: Path) -> Path:
    """A folder of Parquet parts (typed columns) and a TSV of members with European numbers;
    returns the mapping file."""
    (src / "orders").mkdir(parents=True)
    for i in range(2):
        pd.DataFrame(
            {
                "cust": pd.array([10 + i, 11], dtype="int32"),
                "at": pd.to_datetime(["2026-02-01 10:00", "2026-02-02 11:30"]).tz_localize("UTC"),
                "amount": [1.5, 2.25],
            }
        ).to_parquet(src / "orders" / f"part-{i}.parquet")
    (src / "members.tsv").write_text(
        "id\tjoined\tvalue\n10\t2026-01-01\t1.234,5\n11\t2026-01-02\t7\n12\t2026-01-03\t0\n"
    )
    (src / "map.toml").write_text(
        """\
[subscribers]
source = "members.tsv"
[subscribers.columns]
subscriber_id = "id"
signup_ts = "joined"
[orders]
source = "orders/*.parquet"
[orders.columns]
subscriber_id = "cust"
ts = "at"
revenue = "amount"
"""
    )
    return src / "map.toml"


def test_parquet_parts_and_tsv_sources(tmp_path, capsys):
    """A folder of Parquet parts (typed columns) and a TSV of members with European numbers."""
    src = tmp_path / "src"
    parquet_parts_and_tsv(src)
    status, err = _import(src / "map.toml", tmp_path / "world", capsys)
    assert status == 0, err
    w = load_world(tmp_path / "world")
    assert sorted(w["orders"]["subscriber_id"]) == [10, 11, 11, 11]
    assert w["orders"]["ts"].min() == pd.Timestamp("2026-02-01 10:00", tz="UTC")
    assert len(w["subscribers"]) == 3


def orders_map(source: str, extra: str = "") -> str:
    """The smallest orders mapping: columns ``who``, ``when``, ``value`` of ``source``."""
    return (
        f'[orders]\nsource = "{source}"\n{extra}[orders.columns]\n'
        'subscriber_id = "who"\nts = "when"\nrevenue = "value"\n'
    )


#: Revenue written the German way, in a file separated by semicolons.
NUMBER_FORMATS = {
    "orders.csv": 'who;when;value\n1;2026-01-05;"1.234,50"\n2;2026-01-06;"7,00"\n',
    "map.toml": orders_map("orders.csv", 'sep = ";"\n')
    + '[orders.formats]\nrevenue = "1.234,56"\n',
}


def test_number_formats(tmp_path, capsys):
    mapping = _write(tmp_path / "src", NUMBER_FORMATS)
    status, err = _import(mapping, tmp_path / "world", capsys)
    assert status == 0, err
    assert load_world(tmp_path / "world")["orders"]["revenue"].tolist() == [1234.5, 7.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "o.csv: empty file: no header line"),
        ("who,when,value\n", "nothing to import: no orders rows in the sources"),
        (
            "who,when,value\n,2026-01-01,3\n",
            "no orders rows remain (orders: 1 rows no subscriber id",
        ),
        ("who,when,value\n1,2026-01-01,3\n2,2026-01-02\n", "CSV Error on Line: 3"),
        ("who,when,value\n1,2026-01-01,3\xe9\n", "not utf-8 text"),
    ],
)
def test_unreadable_or_empty_sources_are_one_line(tmp_path, capsys, text, message):
    """A ragged row is not read past (DuckDB's sniffer would take a later line for the header
    and drop the rows before it); an empty import is refused rather than written."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "o.csv").write_bytes(text.encode("latin-1"))
    (src / "map.toml").write_text(orders_map("o.csv"))
    status, err = _import(src / "map.toml", tmp_path / "world", capsys)
    assert status == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "world").exists()


def test_a_byte_order_mark_and_semicolons_are_read(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    (src / "o.csv").write_bytes("\ufeffwho;when;value\n1;2026-01-01;3\n".encode())
    (src / "map.toml").write_text(orders_map("o.csv"))
    status, err = _import(src / "map.toml", tmp_path / "world", capsys)
    assert status == 0, err
    assert load_world(tmp_path / "world")["orders"]["revenue"].tolist() == [3.0]
