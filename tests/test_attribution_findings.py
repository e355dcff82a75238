"""What the attribution notebook concludes about what each channel adds: the findings for the
report's summary and the tables for people (``workbench.attribution.summary``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from workbench.attribution.summary import (
    SECTION,
    calibrated_table,
    channel_findings,
    holdout_table,
    incrementality_findings,
)
from workbench.errors import WorkbenchError
from workbench.findings import percent


def _holdouts() -> pd.DataFrame:
    """Four holdouts: a clear effect, a well-powered null, a weak test, a negative effect."""
    est = np.array([11_000.0, 20.0, 95.0, -400.0])
    sd = np.array([460.0, 210.0, 107.0, 150.0])
    return pd.DataFrame({
        "channel": ["email", "push", "sms", "paid_retargeting"], "experiment_id": [1, 2, 3, 4],
        "days": [63, 91, 70, 91], "n_exposed": [38_000, 7_000, 500, 22_000],
        "n_holdout": [6_700, 7_000, 85, 22_000], "incremental_conversions": est,
        "incremental_conversions_low": est - 1.645 * sd,
        "incremental_conversions_high": est + 1.645 * sd, "incremental_conversions_sd": sd,
        "relative_lift": [0.57, 0.002, 0.14, -0.02], "power": [0.69, 0.8, 0.12, 0.99],
        "mde_lift": [0.058, 0.05, 0.394, 0.03],
    })  # fmt: skip


def _calibrated() -> pd.DataFrame:
    """A calibrated model's table: tested channels, one borrowing the pool, direct at zero."""
    return pd.DataFrame({
        "channel": ["direct", "email", "organic_search", "paid_retargeting", "push", "sms"],
        "conversions": [0.0, 30_000.0, 2_000.0, 0.0, 240.0, 2_200.0],
        "share": [0.0, 0.87, 0.06, 0.0, 0.007, 0.063],
        "share_low": [0.0, 0.42, 0.003, 0.0, 0.001, 0.028],
        "share_high": [0.0, 0.92, 0.53, 0.0, 0.019, 0.08],
        "factor": [0.0, 1.25, 0.135, 0.0, 0.026, 0.21],
        "factor_low": [0.0, 1.17, 0.006, 0.0, 0.003, 0.14],
        "factor_high": [0.0, 1.35, 2.6, 0.0, 0.08, 0.27],
        "credited": [17_800.0, 24_500.0, 14_800.0, 6_200.0, 9_360.0, 10_700.0],
        "holdouts": [0, 1, 0, 1, 1, 1],
    })  # fmt: skip


def _card(calibrated_error: float) -> pd.DataFrame:
    return pd.DataFrame({
        "model": ["calibrated", "first", "markov"], "spearman": [0.86, 0.86, 0.43],
        "mean_abs_error": [calibrated_error, 0.106, 0.18],
    }).sort_values("mean_abs_error", ignore_index=True)  # fmt: skip


@pytest.mark.parametrize("holdouts", [None, pd.DataFrame(), _holdouts().iloc[:0]])
def test_without_holdouts_the_shares_are_credit_not_cause(holdouts) -> None:
    (f,) = incrementality_findings(None, holdouts)
    assert f.text.startswith("No channel holdouts in this data: the shares above are credit")
    assert f.section == "Credited share by model"  # the holdouts' section is skipped then
    assert f.action is not None and "holdout" in f.action and f.reliable


def test_with_holdouts_the_summary_gives_the_calibrated_answer() -> None:
    found = incrementality_findings(_calibrated(), _holdouts())
    text = [f.text for f in found]
    assert text[0] == (
        "Calibrated by the channel holdouts, each channel's share of the conversions the "
        "channels cause (90% interval): email 87% (42% to 92%), sms 6% (3% to 8%), organic "
        "search 6% (0% to 53%), the other channels 1%."
    )
    assert text[1].startswith(
        "A holdout measured email, sms, push and paid retargeting; organic search had none and "
        "borrows the factor pooled from the tested channels (about 0.14 caused per credited"
    )
    assert text[1].endswith("; direct gets no credit (navigation).")
    # what each test found: the clear effect with its interval, the negative one, the null
    assert text[2].startswith(
        "The holdouts measured email +11,000 conversions (90% interval +10,243 to +11,757)"
    )
    assert "paid retargeting cost conversions" in text[2]
    assert (
        "no effect clearly above zero for push, although its test would detect a 5% lift"
        in (text[2])
    )
    assert "sms" not in text[2]  # the weak test is not read as "no effect"
    weak = found[3]
    assert weak.text.startswith("The sms holdout cannot tell sms's effect from zero")
    assert "lift of 39% or more (power 12% for a 5% lift)" in weak.text
    assert weak.action is not None and "larger share" in weak.action
    assert [f.action is None for f in found[:3]] == [True, True, True]
    assert {f.section for f in found} == {SECTION}


def test_a_long_calibrated_table_and_segment_rows_are_read_as_the_overall_answer() -> None:
    long = pd.concat(
        [_calibrated().assign(model="calibrated"),
         _calibrated().assign(model="markov", share=1 / 6)], ignore_index=True,
    )  # fmt: skip
    segmented = pd.concat(
        [_holdouts().assign(segment=None), _holdouts().assign(segment="paid_social")]
    )
    assert [f.text for f in incrementality_findings(long, segmented)] == [
        f.text for f in incrementality_findings(_calibrated(), _holdouts())
    ]


@pytest.mark.parametrize(("error", "worse"), [(0.018, False), (0.16, True)])
def test_against_the_truth_the_calibrated_error_is_compared_honestly(error, worse) -> None:
    last = incrementality_findings(_calibrated(), _holdouts(), card=_card(error))[-1]
    assert last.text.startswith(
        f"Against the true incremental effects, the calibrated shares are off by "
        f"{percent(error, 1)} a channel on average (rank correlation 0.86)"
    )
    assert "the closest path model (first-touch) is off by 10.6%" in last.text
    assert ("only as good as the holdouts" in last.text) == worse


def test_holdouts_without_the_calibrated_model_are_misuse() -> None:
    with pytest.raises(WorkbenchError, match="without the calibrated"):
        incrementality_findings(None, _holdouts())
    with pytest.raises(WorkbenchError, match="without the calibrated"):
        incrementality_findings(_calibrated().assign(model="markov"), _holdouts())


def test_channel_findings_leave_the_calibrated_model_out_of_credit() -> None:
    results = pd.DataFrame({"model": "markov", "channel": ["email", "sms", "direct"],
                            "share": [0.5, 0.3, 0.2]})  # fmt: skip
    found = channel_findings(results, card=_card(0.018), advise=False)
    assert len(found) == 2 and all(f.action is None for f in found)
    assert "even the closest model (first-touch) misplaces 11%" in found[1].text
    advised = channel_findings(results)
    assert advised[-1].section == "Credited share by model" and "holdouts" in advised[-1].action


def test_tables_for_people() -> None:
    h = holdout_table(pd.concat([_holdouts().assign(segment=None),
                                 _holdouts().assign(segment="a")]))  # fmt: skip
    assert list(h.index) == ["email", "push", "sms", "paid retargeting"]
    assert h.loc["sms", "held out"] == pytest.approx(85 / 585)
    assert h.loc["email", "low"] == round(11_000 - 1.645 * 460)
    assert h.loc["sms", "detectable lift"] == 0.394 and h.loc["sms", "days"] == 70
    assert "power for a 5% lift" in h.columns
    c = calibrated_table(_calibrated())
    assert list(c.index[:2]) == ["email", "sms"] and c.index[-1] in {"direct", "paid retargeting"}
    assert c.loc["organic search", "holdouts"] == 0 and c.loc["email", "factor"] == 1.25
    assert c["share"].is_monotonic_decreasing


def test_on_the_sample_world_the_findings_say_what_the_tables_show() -> None:
    from workbench.attribution import attribute
    from workbench.attribution.workflow import load_inputs

    inputs = load_inputs("", "", segment_col="acquisition_source")
    holdouts = inputs.holdouts
    assert list(holdouts["channel"]) == ["sms"]  # the tiny scenario's one holdout
    cal = attribute(inputs.data, "calibrated", holdouts=holdouts, base="markov", seed=1)
    found = incrementality_findings(cal, holdouts)
    top = cal.sort_values("share", ascending=False).iloc[0]
    assert (
        f"{top['channel'].replace('_', ' ')} {percent(top['share'])} "
        f"({percent(top['share_low'])} to {percent(top['share_high'])})"
    ) in found[0].text
    assert found[1].text.startswith("A holdout measured sms; ")
    # the SMS test is far too small for a 5% lift: the summary says so and what to do
    sms = holdouts.iloc[0]
    assert sms["power"] < 0.5 and sms["incremental_conversions_low"] < 0
    weak = [f for f in found if f.action]
    assert len(weak) == 1 and f"lift of {percent(sms['mde_lift'])} or more" in weak[0].text
    table = calibrated_table(cal)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.loc["direct", "caused"] == 0 and table.loc["sms", "holdouts"] == 1


def test_the_notebook_has_the_sections_the_findings_and_skips_name() -> None:
    import re

    import nbformat

    from workbench import paths

    nb = nbformat.read(paths.notebooks_dir() / "04-attribution.ipynb", as_version=4)
    headings = {
        m.group(1).strip()
        for c in nb.cells
        if c.cell_type == "markdown"
        for m in re.finditer(r"^#{2,3}\s+(.+)$", c.source, re.M)
    }
    assert {SECTION, "Credited share by model"} <= headings
    skipped = {
        m.group(1)
        for c in nb.cells
        if c.cell_type == "code"
        for m in re.finditer(r'skip\(\s*"([^"]+)"', c.source)
    }
    assert SECTION in skipped and skipped <= headings
