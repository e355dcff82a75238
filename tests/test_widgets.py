"""The explorers' shared pieces: slider boxes, numbers for people, and explorers that update."""

from __future__ import annotations

import ipywidgets as w
import numpy as np
import pandas as pd

from workbench.experiments.widgets import decision_view, explorer, explorer_figure
from workbench.widgets import for_people, percent_text, with_box


def test_percent_text_never_shows_scientific_notation() -> None:
    assert percent_text(1.718877e-08) == "under 0.1%"
    assert percent_text(1.718877e-08, 2) == "under 0.01%"
    assert percent_text(0.0421) == "4.2%"
    assert percent_text(0.0) == "0.0%"
    assert percent_text(float("nan")) == ""


def test_for_people_formats_counts_shares_and_differences() -> None:
    t = pd.DataFrame(
        {"n": [20000, 10], "share": [1.5e-15, 0.123456], "z": [0.5, -1.234], "x": [1.23456, np.nan]}
    )
    html = for_people(t, percent=["share"], signed=["z"]).to_html()
    for text in ("20,000", "under 0.1%", "12.3%", "+0.50", "-1.23", "1.23"):
        assert text in html, text
    assert "e-15" not in html and "1.234560" not in html


def test_the_box_beside_a_slider_sets_it() -> None:
    for slider, value in (
        (w.IntSlider(5, min=0, max=10), 7),
        (w.FloatSlider(0.5, min=0, max=1, step=0.1), 0.3),
        (w.FloatLogSlider(0.01, base=10, min=-4, max=-1), 0.002),
    ):
        row = with_box(slider)
        box = row.children[1]
        assert box.value == slider.value and slider.readout is False
        box.value = value
        assert slider.value == value


def test_the_ab_explorer_redraws_when_a_slider_or_its_box_moves(monkeypatch) -> None:
    import workbench.experiments.widgets as xw

    calls: list[dict] = []
    real = xw.explorer_figure

    def spy(**kw):
        calls.append(kw)
        return real(**kw)

    monkeypatch.setattr(xw, "explorer_figure", spy)
    panel = explorer()
    rows = [row for col in panel.children[0].children for row in col.children]
    conv = next(r for r in rows if r.children[0].description == "variant conv.")
    assert calls[-1]["conv_variant"] == 65
    conv.children[0].value = 200  # the slider
    assert calls[-1]["conv_variant"] == 200
    conv.children[1].value = 120  # the box beside it
    assert calls[-1]["conv_variant"] == 120 and conv.children[0].value == 120
    _, table = explorer_figure(conv_variant=200)
    assert table.loc["variant", "decision"] == "ship"
    body = decision_view(table).to_html().split("<tbody>")[1]
    assert "e-" not in body and "%" in body


def test_the_budget_explorer_follows_its_slider(monkeypatch) -> None:
    import workbench.strategy.plots as sp
    from workbench.strategy.widgets import budget_explorer, budget_line

    gains = pd.DataFrame({
        "budget": np.linspace(0.1, 1.0, 10), "targeted": np.arange(1, 11) * 100,
        "incremental": np.linspace(50, 300, 10), "low": np.linspace(20, 200, 10),
        "high": np.linspace(80, 400, 10),
    })  # fmt: skip
    truth = gains[["budget", "targeted"]].assign(
        incremental=np.linspace(60, 320, 10), optimum=np.linspace(90, 330, 10),
        random=np.linspace(32, 320, 10),
    )  # fmt: skip
    seen: list[float] = []
    real = sp.budget_figure
    monkeypatch.setattr(sp, "budget_figure", lambda g, b, *a: seen.append(b) or real(g, b, *a))
    panel = budget_explorer(gains, truth, budget=0.3)
    slider, box = panel.children[0].children
    assert seen[-1] == 0.3 and slider.value == 30  # whole percents
    slider.value = 70
    assert seen[-1] == 0.7
    box.value = 50
    assert seen[-1] == 0.5 and slider.value == 50
    assert "50% of the list" in panel.children[2].value
    line = budget_line(gains, 0.5, truth)
    assert "50% of the list (500 subscribers)" in line and "truly 176" in line


def test_no_widget_uses_an_output_widget() -> None:
    """``ipywidgets.Output`` (and display from a callback) can leave a papermill run waiting for
    ever (a report hung in notebook 02's explorer): explorers set an HTML or image value."""
    import ast
    from pathlib import Path

    import workbench

    found = []
    for path in Path(workbench.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "Output":
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_the_segment_explorer_redraws_its_table() -> None:
    from workbench.features import compute_features
    from workbench.paths import sample_world
    from workbench.segment.widgets import explorer as segment_explorer

    panel = segment_explorer(compute_features(sample_world()), k=4, sample_size=600, seed=1)
    (_, k_box), table = panel.children[0].children, panel.children[1]
    first = table.value
    assert "<table" in first and first.count("<tr") == 4 + 1  # header and a row per segment
    k_box.children[0].value = 6
    assert table.value != first and table.value.count("<tr") == 6 + 1
