"""Customer value end to end: transaction logs, summaries, predictions, diagnostics, the CLI.

The model mathematics (likelihoods, closed forms, parameter recovery) is tested in
``test_clv_models.py``, the PyMC fits in ``test_clv_bayes.py``, the repeat-purchase analytics in
``test_clv_repeat.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench.cli import main
from workbench.clv import (
    CustomerValue,
    conditional_expectations,
    frequency_histogram,
    holdout_scores,
    read_transactions,
    summarise,
    tracking,
    value_features,
    value_playbook,
    world_value,
)
from workbench.clv.data import Transactions
from workbench.clv.simulate import simulate
from workbench.errors import DataError, WorkbenchError
from workbench.paths import sample_world
from workbench.segment.rules import lifecycle_stage

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW, weeks (the paper's fit)


def _log(folder: Path, rows: list[tuple[str, str, float]]) -> Transactions:
    """A transaction log written as CSV and read back as a user's file is."""
    path = folder / "log.csv"
    pd.DataFrame(rows, columns=["customer_id", "date", "value"]).to_csv(path, index=False)
    return read_transactions(path, value_col="value")


def test_summary_counts_days_and_measures_from_the_first_purchase(tmp_path):
    tx = _log(
        tmp_path,
        [
            ("a", "2025-01-01", 10.0),
            ("a", "2025-01-01", 5.0),  # same day: one purchase of 15
            ("a", "2025-01-15", 20.0),
            ("a", "2025-01-29", 40.0),
            ("a", "2025-02-20", 7.0),  # holdout
            ("b", "2025-01-08", 30.0),
            ("c", "2025-02-10", 9.0),  # first purchase in the holdout: not a customer yet
        ],
    )
    s = summarise(tx, calibration_end="2025-01-29", holdout_end="2025-02-26", time_unit="weeks")
    s = s.set_index("customer_id")
    assert list(s.index) == ["a", "b"]
    assert s.loc["a", "frequency"] == 2 and s.loc["b", "frequency"] == 0
    assert s.loc["a", "recency"] == pytest.approx(4.0) and s.loc["a", "T"] == pytest.approx(4.0)
    assert s.loc["b", "recency"] == 0 and s.loc["b", "T"] == pytest.approx(3.0)
    assert s.loc["a", "monetary_value"] == pytest.approx(30.0)  # mean of the repeats (20, 40)
    assert s.loc["b", "monetary_value"] == 0
    assert s.loc["a", "frequency_holdout"] == 1 and s.loc["b", "frequency_holdout"] == 0
    assert s.loc["a", "duration_holdout"] == pytest.approx(4.0)
    days = summarise(tx, calibration_end="2025-01-29", time_unit="days").set_index("customer_id")
    assert days.loc["a", "T"] == 28


def test_bad_transaction_files_name_the_column_and_lines(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("customer_id,date,value\na,2025-01-01,3\nb,not a date,4\nc,2025-01-02,-1\n")
    with pytest.raises(DataError, match=r"t\.csv, column 'date': dates .* \(first: line 3\)"):
        read_transactions(p)
    p.write_text("customer_id,date,value\na,2025-01-01,3\nc,2025-01-02,-1\n")
    with pytest.raises(
        DataError, match=r"column 'value': negative values in 1 row \(first: line 3"
    ):
        read_transactions(p)
    with pytest.raises(DataError, match=r"column 'when': no such date column"):
        read_transactions(p, date_col="when")
    p.write_text("customer_id,date,value\n,2025-01-01,3\n")
    with pytest.raises(DataError, match=r"empty customer id in 1 row \(first: line 2\)"):
        read_transactions(p)


def test_a_headerless_whitespace_log_by_column_positions(tmp_path):
    # the layout of the CDNOW logs: id, date as YYYYMMDD, cds, dollars
    p = tmp_path / "cdnow.txt"
    p.write_text("00001 19970101 1 11.77\n00002 19970112 1 12.00\n00002 19970112 5 77.00\n")
    tx = read_transactions(p, customer_col="1", date_col="2", value_col="4", date_format="%Y%m%d")
    assert len(tx.table) == 2  # customer 2's two transactions of one day are one purchase
    assert tx.table["value"].tolist() == pytest.approx([11.77, 89.0])


def _simulated_log(n: int = 3000, seed: int = 3) -> tuple[Transactions, pd.DataFrame]:
    """A transaction log drawn from the BG/NBD: first purchases over 12 weeks, 39 weeks observed."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    first = rng.integers(0, 84, n)
    end_day = 39 * 7 + 39 * 7  # calibration then an equal holdout
    T = (end_day - first) / 7.0
    sim = simulate("bgnbd", BGNBD, T, seed=seed)
    rows = []
    # purchases after the first: spread x + holdout repeats uniformly isn't the model; instead
    # draw each customer's purchase days from the simulated counts in calibration and holdout
    cal_days = 39 * 7
    for i in range(n):
        f = first[i]
        x_cal = int(min(sim["x"].iloc[i], cal_days - f - 1)) if cal_days - f > 1 else 0
        days = [f]
        if x_cal:
            days += list(rng.choice(np.arange(f + 1, cal_days), x_cal, replace=False))
        rows += [(f"c{i}", start + pd.Timedelta(days=int(d)), float(rng.gamma(6, 5))) for d in days]
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "value"])
    frame["date"] = frame["date"].astype("datetime64[s]")
    table = frame.groupby(["customer_id", "date"], sort=True)["value"].sum().reset_index()
    return Transactions(table, True, "simulated"), sim


def test_predictions_are_bounded_and_consistent():
    tx, _ = _simulated_log(1500)
    s = summarise(tx, calibration_end="2024-09-29", time_unit="weeks")
    model = CustomerValue("bgnbd", "mle", horizon_days=365, discount_rate=0.1).fit(s)
    pred = model.predict(s)
    assert len(pred) == len(s)
    assert pred["p_alive"].between(0, 1).all()
    assert (pred["expected_purchases"] >= 0).all()
    assert (pred["clv"] <= pred["expected_revenue"] + 1e-9).all()  # discounting only lowers
    zero = CustomerValue("bgnbd", "mle", discount_rate=0.0).fit(s).predict(s)
    np.testing.assert_allclose(zero["clv"], zero["expected_revenue"], rtol=1e-9)
    # a customer with a repeat purchase long ago is less likely alive than one with a recent one
    params = model.parameters()
    assert set(BGNBD) <= set(params) and {"p", "q", "gamma"} <= set(params)
    assert set(params["standard_errors"]) >= set(BGNBD)


def test_diagnostics_add_up():
    rng = np.random.default_rng(0)
    T = rng.uniform(27, 39, 4000)
    sim = simulate("bgnbd", BGNBD, T, seed=1, holdout=39.0)
    s = pd.DataFrame(
        {
            "customer_id": np.arange(len(T)),
            "frequency": sim["x"].to_numpy(),
            "recency": sim["t_x"].to_numpy(),
            "T": T,
            "monetary_value": 0.0,
            "frequency_holdout": sim["x_holdout"].to_numpy(),
            "duration_holdout": 39.0,
        }
    )
    s.attrs.update(time_unit="weeks", calibration_end="2024-09-29", holdout_end="2025-06-29")
    model = CustomerValue("bgnbd", "mle").fit(s)
    hist = frequency_histogram(model, s)
    assert hist["observed"].sum() == len(s)
    assert hist["expected"].sum() == pytest.approx(len(s), rel=1e-6)
    # the data come from the model: observed and expected bars agree within sampling error
    big = hist["observed"] >= 100
    assert np.all(
        np.abs(hist["observed"] - hist["expected"])[big] < 4 * np.sqrt(hist["expected"][big])
    )
    scores = holdout_scores(model, s)
    assert abs(scores["total_error"]) < 0.1
    assert scores["mae"] < scores["naive_mae"]
    ce = conditional_expectations(model, s)
    assert ce["customers"].sum() == len(s)


def test_tracking_counts_every_repeat_purchase():
    tx, _ = _simulated_log(800)
    s = summarise(tx, calibration_end="2024-09-29", time_unit="weeks")
    model = CustomerValue("bgnbd", "mle").fit(s)
    tr = tracking(model, s, tx)
    assert tr["observed"].sum() == s["frequency"].sum()
    assert (np.diff(tr["expected_cumulative"]) >= -1e-9).all()
    assert tr["period"].eq("calibration").all()


def test_value_features_playbook_and_lifecycle():
    pred = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "p_alive": [0.9, 0.2, 0.1, 0.95],
            "expected_purchases": [3.0, 0.2, 0.1, 2.0],
            "clv": [300.0, 40.0, 5.0, 100.0],
        }
    )
    values = value_features(pred, pd.Index([1, 2, 3, 4, 5], name="subscriber_id"))
    assert values.loc[5, "is_customer"] == 0 and values.loc[5, "expected_value"] == 0
    assert values.loc[2, "churn_risk"] == pytest.approx(0.8)
    segments = pd.Series(["x", "y", "y", "x", "x"], index=values.index)
    book = value_playbook(values, segments)
    assert list(book["segment"]) == ["y", "x"]  # y: 40/0.2*0.8 + 5/0.1*0.9 = 205 at risk
    assert book.loc[0, "value_at_risk"] == pytest.approx(40 / 0.2 * 0.8 + 5 / 0.1 * 0.9)
    assert book.loc[0, "move"].startswith("win back")
    assert book.loc[1, "customers"] == 2 and book.loc[1, "subscribers"] == 3
    features = pd.DataFrame(
        {
            "is_unsubscribed": 0,
            "tenure_days": 400.0,
            "n_orders": [5, 5, 1, 1, 0],
            "days_since_last_order": [200.0, 10.0, 10.0, 200.0, 400.0],
            "open_rate": 0.0,
            "days_since_last_open": 400.0,
        },
        index=values.index,
    )
    fixed = lifecycle_stage(features)
    assert list(fixed[:4] == "active buyer") == [False, True, True, False]
    by_model = lifecycle_stage(features.join(values))
    assert list(by_model[:4] == "active buyer") == [True, False, False, True]


def test_world_value_on_the_sample_world():
    v = world_value(sample_world(), model="bgnbd", method="mle")
    assert len(v.predictions) == v.summary.shape[0] > 100
    assert v.predictions["p_alive"].between(0, 1).all()
    with pytest.raises(WorkbenchError, match="calibration"):
        world_value(sample_world(), calibration_end="2000-01-01")


def test_clv_command_writes_predictions_and_parameters(tmp_path, capsys):
    tx, _ = _simulated_log(600)
    log = tmp_path / "orders.csv"
    tx.table.assign(date=tx.table["date"].dt.strftime("%Y%m%d")).to_csv(log, index=False)
    out, params = tmp_path / "pred.csv", tmp_path / "params.json"
    args = ["clv", "--orders", str(log), "--date-format", "%Y%m%d", "--calibration-end",
            "2024-09-29", "--holdout-end", "2025-06-29", "--out", str(out),
            "--params-out", str(params)]  # fmt: skip
    assert main(args) == 0
    pred = pd.read_csv(out)
    assert list(pred.columns[:9]) == [
        "customer_id", "frequency", "recency", "T", "monetary_value",
        "p_alive", "expected_purchases", "expected_spend", "expected_revenue",
    ]  # fmt: skip
    p = json.loads(params.read_text())
    assert {"r", "alpha", "a", "b", "p", "q", "gamma", "standard_errors", "holdout"} <= set(p)
    assert p["time_unit"] == "weeks"
    # an existing output is kept without --overwrite; bad input exits 2 and writes nothing
    assert main(args) == 2
    assert "exists" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,value\na,20250101,1\nb,2025-13-45,2\n")
    out2 = tmp_path / "pred2.csv"
    assert main(["clv", "--orders", str(bad), "--date-format", "%Y%m%d", "--calibration-end",
                 "2025-06-01", "--out", str(out2)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.csv, column 'date'" in err[0] and "line 3" in err[0]
    assert not out2.exists()


def test_clv_command_reads_a_world_and_checks_its_orders(tmp_path):
    out = tmp_path / "world-clv.parquet"
    args = ["clv", "--world", str(sample_world()), "--model", "mbgnbd", "--out", str(out)]
    assert main(args) == 0
    pred = pd.read_parquet(out)
    summary = world_value(sample_world(), model="mbgnbd").summary
    assert len(pred) == len(summary)  # every subscriber who ordered up to the world's end
    assert pred["p_alive"].between(0, 1).all() and (pred["clv"] >= 0).all()
