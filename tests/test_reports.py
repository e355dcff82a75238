"""Tests of the papermill report pipeline (``workbench.reports`` and ``workbench report``).

Kernel start-up costs a few seconds per notebook, so the notebook runs are few and shared:
one successful run, a second identical run, one failing run.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from workbench._io import tree_sha256
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.reports import (
    HEADLINE_MIME,
    SKIPPED_MIME,
    ReportConfig,
    load_config,
    load_registry,
    read_headlines,
    read_skipped,
    record,
    run_report,
    skip,
)
from workbench.reports._record import _jsonable
from workbench.reports.html import Section, page_problems, render_html
from workbench.reports.manifest import git_revision, package_versions, world_hashes
from workbench.reports.pdf import find_chromium
from workbench.reports.registry import select
from workbench.reports.runner import _new_run_dir, cached_world, run_id
from workbench.synth import GENERATOR_VERSION

DATA = Path(__file__).parent / "data"
OK_NB = DATA / "report_ok.ipynb"
FAIL_NB = DATA / "report_fail.ipynb"


def write_registry(path: Path, *entries: str) -> Path:
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def entry(nb: Path, title: str, params: str = "") -> str:
    text = f'[[notebook]]\nfile = "{nb.as_posix()}"\ntitle = "{title}"\n'
    return text + (f"[notebook.parameters]\n{params}\n" if params else "")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("world")
    (d / "world.json").write_text(
        json.dumps({"scenario": {"name": "tiny"}, "seed": 1, "n_subscribers": 12})
    )
    (d / "subscribers.csv").write_text("subscriber_id\n1\n2\n")
    return d


@pytest.fixture(scope="module")
def ok_runs(tmp_path_factory: pytest.TempPathFactory, world: Path) -> dict:
    """Two identical successful runs through the command line."""
    base = tmp_path_factory.mktemp("ok")
    reg = write_registry(base / "registry.toml", entry(OK_NB, "Random draws", "scale = 2.0"))
    out = base / "reports"
    argv = ["report", "--registry", str(reg), "--world", str(world), "--out", str(out)]
    argv += ["--seed", "7", "--no-progress"]
    assert main(argv) == 0
    (first,) = out.iterdir()
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    assert main(argv) == 0
    return {"out": out, "first": first, "before": before}


# ------------------------------------------------------------------------- successful runs


def test_run_writes_executed_notebook_html_and_manifest(ok_runs: dict) -> None:
    run = ok_runs["first"]
    pdf = ["report.pdf"] if find_chromium() else []
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["draws.csv", "manifest.json", "report.html", "report_ok.ipynb", *pdf]
    )
    executed = nbformat.read(run / "report_ok.ipynb", as_version=4)
    assert executed.metadata.papermill.parameters == {
        "world": executed.metadata.papermill.parameters["world"],
        "seed": 7,
        "scale": 2.0,
    }
    # the figure was drawn inline although the test process uses MPLBACKEND=Agg
    assert any(
        "image/png" in o.get("data", {}) for c in executed.cells for o in c.get("outputs", [])
    )


def test_html_has_prose_and_figures_but_no_code(ok_runs: dict) -> None:
    page = (ok_runs["first"] / "report.html").read_text()
    assert "CAPTION-MARKER" in page  # markdown prose kept as caption
    assert "CODE-MARKER" not in page  # code inputs excluded
    assert "default_rng" not in page
    assert "REMOVED-CELL-MARKER" not in page  # remove-cell tag honoured
    assert "data:image/png;base64," in page  # figure embedded
    assert "Headline numbers" not in page  # headline numbers stay in the manifest
    # the summary: the recommended action and the finding, linked to their section
    summary = page.split('id="summary"')[1].split('id="nb-report_ok"')[0]
    link = 'href="#nb-report_ok--the-draws"'
    assert "Recommended actions" in summary and "ACTION-MARKER" in summary and link in summary
    assert "FINDING-MARKER: the draws centre on zero." in summary
    assert 'id="nb-report_ok--the-draws"' in page  # the anchor the link points to
    assert "UNRELIABLE-MARKER" in summary.split("Not in this summary")[1]
    assert '<a href="draws.csv">draws.csv</a>: the random draws (200 rows)' in summary
    assert "CAVEAT-MARKER" in summary
    assert page.count("FINDING-MARKER") == 1  # shown in the summary only, not again inline
    assert page.count("draws.csv: the random draws") == 0  # linked at the top, not inline
    assert 'href="#nb-report_ok"' in page and 'id="nb-report_ok"' in page  # contents link
    assert "SKIPPED-PROSE-MARKER" not in page  # a skipped section is listed, not shown
    assert "<li>Against the truth: this test world has no truth</li>" in page
    assert "Seed</th><td>7<" in page and "Scenario</th><td>tiny<" in page


def test_manifest_pins_what_produced_the_report(ok_runs: dict, world: Path) -> None:
    m = json.loads((ok_runs["first"] / "manifest.json").read_text())
    assert m["status"] == "ok" and m["reason"] is None and m["html"] == "report.html"
    assert m["run_id"] == ok_runs["first"].name
    assert m["seed"] == 7
    assert m["parameters"]["scenario"] == "tiny"
    assert m["parameters"]["n_subscribers"] == 12  # read from world.json
    assert m["world"]["sha256"] == tree_sha256(world)
    assert m["world"]["files"]["subscribers.csv"] == tree_sha256(world / "subscribers.csv")
    assert m["world"]["generated"] is None
    assert m["takeaways"] == [
        {"notebook": "report_ok", "name": "draws.csv", "caption": "the random draws", "rows": 200}
    ]
    draws = pd.read_csv(ok_runs["first"] / "draws.csv")["draw"]
    assert draws.mean() == pytest.approx(
        float(np.mean(np.random.default_rng(7).normal(size=200))) * 2.0
    )
    if find_chromium():
        assert m["pdf"] == "report.pdf"
        assert (ok_runs["first"] / "report.pdf").read_bytes()[:5] == b"%PDF-"
    else:
        assert m["pdf"] is None and "Chromium" in m["pdf_reason"]
    found = m["findings"]["report_ok"]
    assert [f["section"] for f in found] == ["The draws", "Nowhere"]
    assert found[0]["action"] == "ACTION-MARKER" and found[1]["reliable"] is False
    versions = m["environment"]["packages"]
    for pkg in ("numpy", "pandas", "pymc", "arviz", "scikit-learn", "papermill", "nbconvert"):
        assert versions[pkg], pkg
    assert m["environment"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert m["git"] is None or len(m["git"]["revision"]) == 40
    (nb,) = m["notebooks"]
    assert nb["status"] == "ok" and nb["wall_time_s"] > 0 and nb["error"] is None
    assert nb["parameters"]["scale"] == 2.0 and nb["parameters"]["seed"] == 7
    expected = float(np.mean(np.random.default_rng(7).normal(size=200) * 2.0))
    heads = m["headlines"]["report_ok"]
    assert heads["mean_draw"]["value"] == pytest.approx(expected, rel=1e-12)
    assert heads["mean_draw"]["caption"] == "mean of the random draws"
    assert heads["world_scenario"]["value"] == "tiny"
    assert heads["n_draws"] == {"value": 200, "caption": ""}
    assert m["skipped"] == {
        "report_ok": [{"section": "Against the truth", "reason": "this test world has no truth"}]
    }


def test_second_run_gets_new_folder_and_same_headlines(ok_runs: dict) -> None:
    runs = sorted(ok_runs["out"].iterdir())
    assert len(runs) == 2
    first = ok_runs["first"]
    assert {p.name: p.read_bytes() for p in first.iterdir()} == ok_runs["before"]
    other = next(r for r in runs if r != first)
    heads = [json.loads((r / "manifest.json").read_text())["headlines"] for r in (first, other)]
    assert heads[0] == heads[1]
    # same parameters: same hash part of the run id
    assert first.name.split("-")[1] == other.name.split("-")[1]


# ----------------------------------------------------------------------------- failing run


def test_failing_notebook_exits_1_and_keeps_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # the world is generated (a small real one) into the cache
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    reg = write_registry(
        tmp_path / "registry.toml", entry(FAIL_NB, "Fails"), entry(OK_NB, "Random draws")
    )
    argv = ["report", "--registry", str(reg), "--subscribers", "30", "--seed", "5"]
    assert main([*argv, "--no-progress", "--jobs", "1"]) == 1
    out = tmp_path / "reports"  # the default, under WORKBENCH_HOME
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "report_fail" in err and "In [4]" in err and "ValueError" in err

    (run,) = out.iterdir()
    assert not (run / "report.html").exists()
    assert not (run / "report_ok.ipynb").exists()  # later notebooks do not run
    executed = nbformat.read(run / "report_fail.ipynb", as_version=4)
    errors = [o for c in executed.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors and errors[0].ename == "ValueError"
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "failed" and "report_fail" in m["reason"]
    assert [(n["name"], n["status"]) for n in m["notebooks"]] == [
        ("report_fail", "failed"),
        ("report_ok", "skipped"),
    ]
    assert m["notebooks"][0]["error"]["execution_count"] == 4
    assert m["html"] is None
    cache = tmp_path / "datasets" / "generated" / "tiny-n30-s5"
    assert m["world"]["generated"] is True and m["world"]["path"] == str(cache)
    assert m["world"]["sha256"] == tree_sha256(cache)
    assert m["notebooks"][0]["parameters"]["world"] == str(cache)


def _notebook(path: Path, *sources: str) -> Path:
    v4 = nbformat.v4
    params = v4.new_code_cell(
        'out: str = ""  # help: the reports folder', metadata={"tags": ["parameters"]}
    )
    nb = v4.new_notebook(cells=[params, *(v4.new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


def test_side_by_side_a_failure_starts_nothing_more(tmp_path: Path, world: Path) -> None:
    """With two notebooks at a time, the one beside a failing notebook finishes; none starts
    after the failure, and the reason names the failed notebook."""
    out = tmp_path / "reports"
    # the second notebook ends only once the runner has recorded the failure of the first
    waits = _notebook(
        tmp_path / "waits.ipynb",
        "import json, time\nfrom pathlib import Path\n"
        "def failed():\n"
        "    for m in Path(out).glob('*/manifest.json'):\n"
        "        try:\n"
        "            states = [n['status'] for n in json.loads(m.read_text())['notebooks']]\n"
        "        except ValueError:\n"
        "            continue\n"
        "        if states[0] == 'failed':\n"
        "            return True\n"
        "    return False\n"
        "while not failed():\n"
        "    time.sleep(0.1)",
    )
    later = _notebook(tmp_path / "later.ipynb", "x = 1")
    reg = write_registry(
        tmp_path / "registry.toml",
        entry(FAIL_NB, "Fails"),
        entry(waits, "Waits", f'out = "{out.as_posix()}"'),
        entry(later, "Later"),
    )
    result = run_report(registry=reg, world=world, out=out, progress=False, jobs=2)
    assert result.status == "failed" and "report_fail" in str(result.reason)
    assert [(n.name, n.status) for n in result.notebooks] == [
        ("report_fail", "failed"),
        ("waits", "ok"),
        ("later", "skipped"),
    ]
    assert result.manifest["jobs"] == 2 and result.html is None
    assert not (result.run_dir / "later.ipynb").exists()
    assert (result.run_dir / "waits.ipynb").exists()


def test_jobs_must_be_positive(tmp_path: Path, world: Path) -> None:
    reg = write_registry(tmp_path / "registry.toml", entry(OK_NB, "Random draws"))
    with pytest.raises(WorkbenchError, match="jobs must be at least 1"):
        run_report(registry=reg, world=world, out=tmp_path / "reports", jobs=0)
    assert not (tmp_path / "reports").exists()


def test_empty_registry(tmp_path: Path) -> None:
    reg = write_registry(tmp_path / "r.toml", "# nothing yet")
    assert load_registry(reg) == []
    with pytest.raises(WorkbenchError, match="no notebooks to run"):
        run_report(registry=reg, world=tmp_path, out=tmp_path / "out", progress=False)


# -------------------------------------------------------------- input errors (no kernel)


def test_registry_missing_notebook_is_named(tmp_path: Path) -> None:
    reg = write_registry(
        tmp_path / "r.toml", entry(OK_NB, "A"), entry(tmp_path / "nope.ipynb", "B")
    )
    with pytest.raises(WorkbenchError, match=r"r\.toml: notebook #2: .*'.*nope\.ipynb' not found"):
        load_registry(reg)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[[notebook]]\nfile = "x.ipynb"\n', "notebook #1: missing 'file'|missing 'title'"),
        (f'[[notebook]]\nfile = "{OK_NB}"\n', "notebook #1: missing 'title'"),
        (f'[[notebook]]\nfile = "{OK_NB}"\ntitle = "t"\ncolour = 1\n', "unknown key 'colour'"),
        (f'[[notebook]]\nfile = "{OK_NB}"\ntitle = "t"\n' * 2, "notebook #2: .*already"),
        ('[[notebook]]\nfile = "x.txt"\ntitle = "t"\n', "not a .ipynb"),
        ("notebooks = 1\n", "unknown key 'notebooks'"),
        ("[[notebook]\n", "invalid TOML"),
        (f'[[notebook]]\nfile = "{OK_NB}"\ntitle = "t"\nneeds = ["journeys"]\n', "'needs' must"),
        (f'[[notebook]]\nfile = "{OK_NB}"\ntitle = "t"\nneeds = ["truth_channels"]\n', "'needs'"),
        (f'[[notebook]]\nfile = "{OK_NB}"\ntitle = "t"\nunless = 3\n', "'unless' must"),
    ],
)
def test_registry_errors(tmp_path: Path, text: str, match: str) -> None:
    reg = tmp_path / "registry.toml"
    reg.write_text(text)
    with pytest.raises(WorkbenchError, match=match):
        load_registry(reg)


@pytest.mark.parametrize("given", [False, True])
def test_a_notebook_the_world_cannot_feed_is_set_aside_unless_its_data_is_given(
    tmp_path: Path, world: Path, given: bool
) -> None:
    """``needs``: the test world has only subscribers, so a notebook needing touchpoints is
    not run and says why, unless its ``unless`` parameter is set."""
    text = entry(OK_NB, "Needs journeys", "scale = 2.0" if given else "")
    text = text.replace('title = "Needs journeys"\n', 'title = "Needs journeys"\n'
                        'needs = ["touchpoints"]\nunless = "scale"\n')  # fmt: skip
    reg = write_registry(tmp_path / "registry.toml", text)
    out = tmp_path / "reports"
    argv = ["report", "--registry", str(reg), "--world", str(world), "--out", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    (run,) = out.iterdir()
    m = json.loads((run / "manifest.json").read_text())
    (nb,) = m["notebooks"]
    page = (run / "report.html").read_text()
    if given:
        assert nb["status"] == "ok" and "report_ok" in m["headlines"]
    else:
        assert nb["status"] == "not_applicable" and not (run / "report_ok.ipynb").exists()
        reason = "this world has no 'touchpoints' table"
        assert m["skipped"] == {"report_ok": [{"section": "Needs journeys", "reason": reason}]}
        assert f"<li>Needs journeys: {reason}</li>" in page.replace("&#x27;", "'")


def test_missing_registry_file(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError, match="registry not found"):
        load_registry(tmp_path / "none.toml")


def test_registry_order_and_select(tmp_path: Path) -> None:
    reg = write_registry(tmp_path / "r.toml", entry(FAIL_NB, "F"), entry(OK_NB, "O", "scale = 3.0"))
    entries = load_registry(reg)
    assert [e.name for e in entries] == ["report_fail", "report_ok"]
    assert entries[1].parameters == {"scale": 3.0}
    assert [e.name for e in select(entries, ["report_ok.ipynb", "report_fail"])] == [
        "report_fail",
        "report_ok",
    ]
    with pytest.raises(WorkbenchError, match="no registered notebook 'x'.*report_fail"):
        select(entries, ["x"])


def test_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('scenario = "default"\nn_subscribers = 500\nseed = 3\n'
                   '[notebooks."report_ok"]\nscale = 0.5\n')  # fmt: skip
    assert load_config(cfg) == ReportConfig("default", 500, 3, {"report_ok": {"scale": 0.5}})
    for bad in ("-1", str(2**32), "1.5", '"7"'):
        cfg.write_text(f"seed = {bad}\n")
        with pytest.raises(WorkbenchError, match="'seed' must be an integer from 0 to 2"):
            load_config(cfg)
    cfg.write_text("sed = 1\n")
    with pytest.raises(WorkbenchError, match=r"c\.toml: unknown key 'sed'"):
        load_config(cfg)


def test_undeclared_override_fails_before_any_run(tmp_path: Path, world: Path) -> None:
    reg = write_registry(tmp_path / "r.toml", entry(OK_NB, "O"))
    out = tmp_path / "reports"
    config = ReportConfig(notebooks={"report_ok": {"scael": 1.0}})
    with pytest.raises(WorkbenchError, match="report_ok.ipynb: config sets parameter 'scael'"):
        run_report(config, registry=reg, world=world, out=out, progress=False)
    config = ReportConfig(notebooks={"other": {"x": 1}})
    with pytest.raises(WorkbenchError, match="'other', which is not a registered notebook"):
        run_report(config, registry=reg, world=world, out=out, progress=False)
    with pytest.raises(WorkbenchError, match="no Jupyter kernel named 'no-such-kernel'"):
        run_report(registry=reg, world=world, out=out, kernel="no-such-kernel", progress=False)
    with pytest.raises(WorkbenchError, match="no such world folder"):
        run_report(registry=reg, world=tmp_path / "missing", out=out, progress=False)
    assert not out.exists()


def test_cli_bad_registry_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--registry", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert "none.toml: notebook registry not found" in err and len(err.splitlines()) == 1


def test_cli_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reg = write_registry(tmp_path / "r.toml", entry(OK_NB, "Random draws", "scale = 2.0"))
    assert main(["report", "--registry", str(reg), "--list"]) == 0
    out = capsys.readouterr().out
    assert "1. report_ok: Random draws" in out
    assert "scale: float (default 2.0)  multiplier of the draws" in out
    assert "seed: int (default 0)  random seed" in out
    assert 'world: str (default "")  world folder' in out


# ------------------------------------------------------------------ world cache, run ids


def test_cached_world_generates_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    calls = []

    def fake_generate(scenario, *, n_subscribers, seed, out, overwrite, progress):
        calls.append((scenario, n_subscribers, seed, overwrite))
        Path(out).mkdir(parents=True)
        meta = {"scenario": scenario, "generator_version": GENERATOR_VERSION}
        (Path(out) / "world.json").write_text(json.dumps(meta))
        return Path(out)

    config = ReportConfig("tiny", 50, 9)
    path, generated = cached_world(config, fake_generate)
    assert generated and path == tmp_path / "datasets" / "generated" / "tiny-n50-s9"
    assert cached_world(config, fake_generate) == (path, False)
    assert calls == [("tiny", 50, 9, False)]


def test_run_id_and_new_folders(tmp_path: Path) -> None:
    rid = run_id({"seed": 1})
    assert rid.endswith("-" + run_id({"seed": 1}).split("-")[1])
    assert run_id({"seed": 1}).split("-")[1] != run_id({"seed": 2}).split("-")[1]
    dirs = [_new_run_dir(tmp_path, "20260101T000000Z-abcd1234") for _ in range(3)]
    assert [d.name for d in dirs] == [
        "20260101T000000Z-abcd1234",
        "20260101T000000Z-abcd1234-2",
        "20260101T000000Z-abcd1234-3",
    ]


def test_environment_facts(tmp_path: Path, world: Path) -> None:
    assert git_revision(tmp_path) is None  # not a repository
    versions = package_versions(("numpy", "surely-not-installed-pkg"))
    assert versions == {"numpy": np.__version__, "surely-not-installed-pkg": None}
    hashes = world_hashes(world)
    assert set(hashes["files"]) == {"world.json", "subscribers.csv"}


# ------------------------------------------------------------------- record and headlines


def test_record_outside_a_kernel_prints(capsys: pytest.CaptureFixture[str]) -> None:
    record("uplift", np.float64(0.25), "relative uplift")
    assert capsys.readouterr().out == "uplift = 0.25  (relative uplift)\n"
    with pytest.raises(WorkbenchError, match="must be a number or a string"):
        record("x", [1, 2])
    with pytest.raises(WorkbenchError, match="non-empty string"):
        record("", 1)


@given(
    st.one_of(
        st.integers(-(2**62), 2**62),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.booleans(),
    )
)
def test_jsonable_values_round_trip_through_json(value: object) -> None:
    v = _jsonable("x", value)
    assert json.loads(json.dumps(v, allow_nan=False)) == v
    if isinstance(value, float) and not math.isfinite(value):
        assert v is None
    else:
        assert v == value


def test_jsonable_unwraps_numpy() -> None:
    assert type(_jsonable("x", np.int32(3))) is int
    assert type(_jsonable("x", np.float32(0.5))) is float
    assert type(_jsonable("x", np.bool_(True))) is bool
    assert _jsonable("x", np.array(2.5)) == 2.5


def _bundle(name: str, value: object, caption: str = "") -> dict:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {HEADLINE_MIME: {"name": name, "value": value, "caption": caption}},
    }


def test_read_headlines_keeps_last_value_in_first_order() -> None:
    nb = {
        "cells": [
            {"cell_type": "markdown", "source": "x"},
            {"cell_type": "code", "outputs": [_bundle("a", 1), {"output_type": "stream"}]},
            {"cell_type": "code", "outputs": [_bundle("b", "x", "cap"), _bundle("a", 2)]},
        ]
    }
    assert read_headlines(nb) == {
        "a": {"value": 2, "caption": ""},
        "b": {"value": "x", "caption": "cap"},
    }


def test_render_html_hides_code_and_tagged_cells() -> None:
    v4 = nbformat.v4
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Title\nPlain words explain the table."),
            v4.new_code_cell(
                "SECRET = 1",
                outputs=[
                    v4.new_output("stream", name="stdout", text="visible output\n"),
                    v4.new_output("stream", name="stderr", text="noisy warning\n"),
                    v4.new_output("display_data", data=_bundle("n", 3)["data"]),
                    v4.new_output(
                        "display_data",
                        data={
                            "application/vnd.jupyter.widget-view+json": {"model_id": "abc"},
                            "text/plain": "VBox(children=(Dropdown(),))",
                        },
                    ),
                ],
            ),
            v4.new_code_cell(
                "HIDDEN = 2",
                metadata={"tags": ["remove-cell"]},
                outputs=[v4.new_output("stream", name="stdout", text="hidden output\n")],
            ),
        ]
    )
    page = render_html(
        [Section("nb1", "Section <one>", nb, {"n": {"value": 3, "caption": "things"}})],
        [("Seed", "5")],
        title="T",
    )
    assert "Plain words explain the table." in page and "visible output" in page
    assert "SECRET" not in page and "HIDDEN" not in page and "hidden output" not in page
    assert "noisy warning" not in page and "VBox(children" not in page
    assert "Section &lt;one&gt;" in page and "<td>things</td>" not in page  # manifest only
    assert '<h3 id="Title">' in page  # notebook headings sit below the section heading
    assert '<a id="nb-nb1--title"></a>' in page  # each heading can be linked to


def test_skip_prints_one_sentence_outside_a_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    skip("The lifecycle", "this world has no ground truth.")
    assert capsys.readouterr().out == "The lifecycle: not shown: this world has no ground truth.\n"
    with pytest.raises(WorkbenchError, match="reason must be a non-empty string"):
        skip("The lifecycle", " ")


def _skipped_bundle(section: str, reason: str) -> dict:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            SKIPPED_MIME: {"section": section, "reason": reason},
            "text/markdown": f"_{section}: not shown: {reason}._",
        },
    }


def test_skipped_sections_are_listed_and_left_out_of_the_page() -> None:
    v4 = nbformat.v4
    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Title\nThe notebook's opening words."),
            v4.new_code_cell("A = 1", outputs=[v4.new_output("stream", text="first table\n")]),
            v4.new_markdown_cell("## Against the truth\nHow far the model is from the truth."),
            v4.new_markdown_cell("A second paragraph of the same section."),
            v4.new_code_cell(
                "skip(...)", outputs=[_skipped_bundle("Against the truth", "no truth")]
            ),
            v4.new_markdown_cell("## Next\nThe section after it stays."),
            v4.new_code_cell("B = 2", outputs=[v4.new_output("stream", text="last table\n")]),
        ]
    )
    skipped = read_skipped(nb)
    assert skipped == [{"section": "Against the truth", "reason": "no truth"}]
    page = render_html([Section("nb1", "One", nb, {}, skipped)], [], title="T")
    assert "opening words" in page and "first table" in page
    assert "The section after it stays" in page and "last table" in page
    # the section's prose and cell are gone; the intro lists it with its reason
    assert "How far the model is" not in page and "A second paragraph" not in page
    assert "not shown: no truth" not in page
    assert "Not shown for this data" in page and "<li>Against the truth: no truth</li>" in page


def test_import_is_cheap() -> None:
    code = (
        "import sys, workbench.reports\n"
        "heavy = [m for m in ('papermill', 'nbconvert', 'nbformat', 'IPython', 'pandas') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_out_that_is_a_file_or_inside_the_world_is_refused(tmp_path: Path, world: Path) -> None:
    reg = write_registry(tmp_path / "r.toml", entry(OK_NB, "O"))
    afile = tmp_path / "reports.txt"
    afile.write_text("notes")
    with pytest.raises(WorkbenchError, match="is a file; reports go into a folder"):
        run_report(registry=reg, world=world, out=afile, progress=False)
    with pytest.raises(WorkbenchError, match="inside the input folder"):
        run_report(registry=reg, world=world, out=world / "reports", progress=False)
    assert afile.read_text() == "notes" and not (world / "reports").exists()


def test_a_stop_before_the_next_cell_never_escalates(monkeypatch):
    """A signal between cells stops the run before the next cell; the kernel is then shut down
    by papermill, which may take longer than the stop's patience on a busy machine: no second
    signal may be raised meanwhile (it would replace the first and lose where the run stopped)."""
    import os
    import signal
    import time

    from workbench.reports._kernel import KernelStop

    sent: list[tuple[int, int]] = []
    monkeypatch.setattr(os, "kill", lambda pid, sig: sent.append((pid, sig)))
    stop = KernelStop(interval=0.01, patience=0.05)
    stop.active = True  # a notebook runs; no kernel process attached, so no kernel interrupt
    assert stop.request(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt) as info:
        stop.check(3)
    assert info.value.cell_index == 3
    time.sleep(0.3)  # six times the patience: the escalation would have fired by now
    assert (os.getpid(), signal.SIGTERM) not in sent


def _png(color: str) -> str:
    """A small PNG figure (base64), as an inline backend would display it."""
    import base64
    import io

    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_facecolor(color)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def test_figures_get_their_caption_as_alt_text_and_page_problems_are_found() -> None:
    v4 = nbformat.v4
    red, blue = _png("red"), _png("blue")

    def fig(png: str) -> Any:
        return v4.new_code_cell(
            "x", outputs=[v4.new_output("display_data", data={"image/png": png})]
        )

    nb = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("## Opens by hour\nEach row is a segment. The colour shows more."),
            fig(red),
            v4.new_markdown_cell("## Empty part"),
            v4.new_markdown_cell("## Next part\nA table follows."),
            fig(blue),
            fig(blue),  # the same figure twice
        ]
    )
    page = render_html([Section("nb1", "One", nb)], [("Seed", "5")], title="T")
    assert 'alt="Opens by hour: Each row is a segment."' in page
    assert 'alt="Next part: A table follows."' in page
    problems = page_problems(page)
    assert any("repeats image 1" in p for p in problems)
    assert any("'Empty part' is empty" in p for p in problems)
    assert len(problems) == 2, problems
    clean = v4.new_notebook(cells=nb.cells[:2])
    assert page_problems(render_html([Section("nb1", "One", clean)], [], title="T")) == []
