"""Findings: the plain sentences each capability contributes to the report's summary."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.attribution.summary import channel_findings
from workbench.bayes.diagnostics import Diagnostics
from workbench.errors import WorkbenchError
from workbench.experiments.summary import decision_findings, holdout_findings
from workbench.explore import list_findings
from workbench.findings import Finding, count, interval, money, percent, read, show
from workbench.paths import sample_world
from workbench.schema import load_world
from workbench.segment.summary import segment_findings


def test_formats_say_units_not_bare_decimals() -> None:
    assert count(1234.4, "conversions") == "1,234 conversions"
    assert count(134, signed=True) == "+134"
    assert percent(0.2449) == "24%" and percent(0.0312, 1) == "3.1%"
    assert money(3.456) == "3.46" and money(1234.5) == "1,234"
    assert interval(134.2, 102.1, 167.0, 0.9, "conversions") == (
        "+134 conversions (90% interval +102 to +167)"
    )


def test_a_finding_needs_text_and_section() -> None:
    with pytest.raises(WorkbenchError):
        Finding("", section="x")
    with pytest.raises(WorkbenchError):
        Finding("text", section=" ")


def test_show_outside_a_kernel_prints_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    show(
        [Finding("A.", section="S", action="Do B."), Finding("C.", "S", reliable=False, caveat="R")]
    )
    assert capsys.readouterr().out == "- A. **Action:** Do B.\n- _Not reliable (R):_ C.\n"


def test_read_round_trips_bundles() -> None:
    f = Finding("A.", section="S", action="Do B.", priority=1)
    from dataclasses import asdict

    from workbench.findings import FINDING_MIME

    nb = {
        "cells": [{"outputs": [{"output_type": "display_data", "data": {FINDING_MIME: asdict(f)}}]}]
    }
    assert read(nb) == [f]


def test_segment_findings_name_size_value_and_plan() -> None:
    segments = pd.Series([0] * 60 + [1] * 30 + [2] * 10)
    names = {0: "morning readers", 1: "deal hunters", 2: "gone quiet"}
    outcomes = pd.DataFrame(
        {"revenue_per_subscriber": [30.0, 12.0, 0.0]}, index=pd.Index(["0", "1", "2"])
    )
    book = pd.DataFrame(
        {
            "name": list(names.values()),
            "subscribers": [60, 30, 10],
            "send_hour": [7, 19, 12],
            "max_emails_per_week": [2, 3, 1],
            "content": ["case study", "deals", "lifestyle"],
        }
    )
    found = segment_findings(segments, names, outcomes=outcomes, book=book, stability_ari=0.41)
    text = " ".join(f.text for f in found)
    assert "3 segments" in text and "“morning readers” (60% of the list, 30 revenue" in text
    assert "unstable" in text and "0.41" in text
    (act,) = [f for f in found if f.action]
    assert "“gone quiet” at 12:00 local, up to 1 email a week" in act.action
    assert (
        act.priority == 1
        and "“morning readers” at 07:00 local, up to 2 emails a week" in act.action
    )
    assert act.section == "The playbook"


def _result(decisions: dict[str, tuple[str, str]]) -> pd.DataFrame:
    rows = []
    for seg, (arm_dec, ctl_dec) in decisions.items():
        rows.append(
            {"segment": seg, "arm": "control", "decision": ctl_dec, "prob_beat_control": 0.5}
        )
        rows.append({"segment": seg, "arm": "B", "decision": arm_dec, "prob_beat_control": 0.97})
    return pd.DataFrame(rows)


def test_test_findings_say_what_to_ship_and_drop_failed_fits() -> None:
    result = _result(
        {
            "paid": ("ship", "stop"),
            "organic": ("keep testing", "keep testing"),
            "x": ("stop", "ship"),
        }
    )
    ok = Diagnostics(max_rhat=1.001, min_ess_bulk=900, divergences=0)
    (f,) = decision_findings(result, control="control", test="Subject test", diagnostics=ok)
    assert f.reliable and f.text.startswith("Subject test: ship B in 1 of 3 segments (paid;")
    assert (
        "97%" in f.text and "keep control in 1 (x)" in f.text and "no decision yet in 1" in f.text
    )
    assert f.action == "Roll out B to paid, and keep testing elsewhere."
    bad = Diagnostics(max_rhat=1.05, min_ess_bulk=120, divergences=3)
    (g,) = decision_findings(result, control="control", test="Subject test", diagnostics=bad)
    assert not g.reliable and "sampler checks failed" in g.caveat


@pytest.mark.parametrize(
    ("low", "high", "word", "has_action"),
    [(102.0, 167.0, "segmenting pays", True), (-20.0, 40.0, "not clearly different", False),
     (-90.0, -10.0, "a mass send did better", True)],
)  # fmt: skip
def test_holdout_findings_read_the_interval(low, high, word, has_action) -> None:
    inc = pd.DataFrame(
        {
            "arm": ["segmented − mass"],
            "incremental_conversions": [(low + high) / 2],
            "incremental_conversions_low": [low],
            "incremental_conversions_high": [high],
        }
    )
    (f,) = holdout_findings(inc, prob=0.9, section="S")
    assert word in f.text and "90% interval" in f.text
    assert (f.action is not None) == has_action


def test_channel_findings_name_shares_and_recommend_holdouts() -> None:
    results = pd.DataFrame(
        {
            "model": ["markov"] * 4 + ["last"] * 4,
            "channel": ["email", "sms", "paid_retargeting", "direct"] * 2,
            "share": [0.6, 0.2, 0.15, 0.05, 0.5, 0.1, 0.1, 0.3],
        }
    )
    card = pd.DataFrame({"model": ["markov"], "mean_abs_error": [0.18], "spearman": [0.4]})
    found = channel_findings(results, card=card)
    assert "email 60%, sms 20%, paid retargeting 15%, the other channels 5%" in found[0].text
    assert "misplaces 18%" in found[1].text
    assert found[-1].action and "holdouts" in found[-1].action


def test_list_findings_on_the_sample_world() -> None:
    (f,) = list_findings(load_world(sample_world()))
    assert f.text.startswith("The list: 2,000 subscribers over 70 days; a person opened")
    assert "orders" in f.text and f.section == "The list, week by week"
