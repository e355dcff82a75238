"""Signals through the real console script: SIGTERM and SIGINT stop the work cleanly.

Each test starts ``.venv/bin/workbench`` as a user would, waits until the work is really under
way (a notebook running, per the manifest; world parts being written), sends the signal and
checks what is left: the exit status (143 for SIGTERM, 130 for SIGINT), one line on stderr and no
traceback, no worker or kernel process left running, and the outputs in their documented state.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat
import psutil
import pytest

WORKBENCH = Path(sys.executable).with_name("workbench")
SCENARIO = Path(__file__).parents[1] / "workbench" / "scenarios" / "tiny.toml"
STATUS = {signal.SIGTERM: 143, signal.SIGINT: 130}

pytestmark = pytest.mark.skipif(not WORKBENCH.exists(), reason="console script not installed")


def _wait_for(what: str, check: Callable[[], bool], proc: subprocess.Popen, timeout: float = 180):
    t0 = time.monotonic()
    while not check():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"exited ({proc.returncode}) before {what}:\n{out}\n{err}")
        if time.monotonic() - t0 > timeout:
            for child in _descendants(proc.pid):
                child.kill()
            proc.kill()
            proc.communicate()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[str, str]:
    """Wait for the command to end; a hang is a failure that leaves no process behind."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for child in _descendants(proc.pid):
            child.kill()
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"still running {timeout} s after the signal:\n{out}\n{err}")


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _still_running(procs: list[psutil.Process], grace: float = 10.0) -> list[int]:
    """Processes of ``procs`` still alive after ``grace`` seconds (zombies count as gone)."""
    _, alive = psutil.wait_procs(procs, timeout=grace)
    return [p.pid for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _stderr_lines(err: str) -> list[str]:
    """Our lines on stderr, without the kernels' own log lines (``[IPKernelApp] ...``)."""
    return [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("[IPKernelApp]")]


# ------------------------------------------------------------------------------------ report


def _notebook(path: Path, *sources: str) -> Path:
    v4 = nbformat.v4
    params = v4.new_code_cell(
        'world: str = ""  # help: world folder\n'
        'marker: str = ""  # help: file written when the cell starts\n'
        "seconds: float = 0.0  # help: how long the cell runs",
        metadata={"tags": ["parameters"]},
    )
    nb = v4.new_notebook(cells=[params, *(v4.new_code_cell(s) for s in sources)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture
def report_setup(tmp_path: Path) -> dict[str, Path]:
    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text(json.dumps({"n_subscribers": 3, "seed": 1}))
    marker = tmp_path / "slow-started"
    quick = _notebook(tmp_path / "quick.ipynb", "x = 1 + 1")
    slow = _notebook(
        tmp_path / "slow.ipynb",
        "from pathlib import Path\nPath(marker).write_text('started')",
        "import time\ntime.sleep(seconds)",
        "y = 2",
    )
    after = _notebook(tmp_path / "after.ipynb", "z = 3")
    registry = tmp_path / "registry.toml"
    registry.write_text(
        f'[[notebook]]\nfile = "{quick.as_posix()}"\ntitle = "Quick"\n'
        f'[[notebook]]\nfile = "{slow.as_posix()}"\ntitle = "Slow"\n'
        f'[notebook.parameters]\nmarker = "{marker.as_posix()}"\nseconds = 600.0\n'
        f'[[notebook]]\nfile = "{after.as_posix()}"\ntitle = "After"\n'
    )
    return {"world": world, "registry": registry, "marker": marker, "out": tmp_path / "reports"}


def _manifest(out: Path) -> dict | None:
    runs = list(out.glob("*/manifest.json")) if out.is_dir() else []
    if len(runs) != 1:
        return None
    try:
        return json.loads(runs[0].read_text())
    except (OSError, ValueError):
        return None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_report_records_each_notebooks_true_state(
    report_setup: dict[str, Path], signum: int
) -> None:
    s = report_setup
    argv = [str(WORKBENCH), "report", "--registry", str(s["registry"]), "--world", str(s["world"])]
    argv += ["--out", str(s["out"]), "--no-progress", "--jobs", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def slow_is_running() -> bool:
        m = _manifest(s["out"])
        return (
            m is not None
            and [n["status"] for n in m["notebooks"]] == ["ok", "running", "pending"]
            and s["marker"].exists()
        )

    _wait_for("the second notebook to run", slow_is_running, proc)
    kernels = _descendants(proc.pid)
    assert kernels, "the running notebook has a kernel process"
    proc.send_signal(signum)
    out, err = _finish(proc)

    (run,) = s["out"].iterdir()
    name = signal.Signals(signum).name
    assert proc.returncode == STATUS[signum], err
    assert "Traceback" not in err and "ERROR | Exception" not in err, err
    assert _stderr_lines(err) == [
        f"workbench report: interrupted by {name}; the partial run is in {run}"
    ], err
    assert out == ""
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["reason"] == f"interrupted by {name}"
    assert m["finished_utc"] is not None and m["html"] is None
    states = [(n["name"], n["status"]) for n in m["notebooks"]]
    assert states == [("quick", "ok"), ("slow", "interrupted"), ("after", "pending")]
    # the signal lands as the cell that writes the marker ends (In [3]; the parameters are
    # In [1] and [2]), in the sleep after it (In [4]), or between the two: then either the
    # next cell is not started, or the kernel, which ignores an interrupt between cells, is
    # interrupted again until a cell takes it
    slow = m["notebooks"][1]
    count, message = slow["error"]["execution_count"], slow["error"]["message"]
    executed = nbformat.read(run / "slow.ipynb", as_version=4)  # the partial notebook is kept
    errors = [
        (c.execution_count, o.ename)
        for c in executed.cells
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    if count is None and slow["error"]["cell_index"] is None:
        # no cell ended within KernelStop.patience of the interrupt (seen once on a busy
        # machine): the stop was escalated to this process, which stops at once, as on a second
        # signal, without knowing where the kernel was
        assert message == f"notebook slow interrupted by {name}", slow
    elif count is None:
        assert slow["error"]["cell_index"] == 3 and f"{name} before cell 4" in message, slow
        assert errors == [] and executed.cells[2].execution_count == 3
        assert executed.cells[3].execution_count is None
    else:
        assert count in (3, 4) and f"interrupted by {name} at In [{count}]" in message
        assert errors == [(count, "KeyboardInterrupt")]
    assert not (run / "after.ipynb").exists() and not (run / "report.html").exists()
    assert _still_running(kernels) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_notebooks_side_by_side_stops_every_kernel(
    tmp_path: Path, signum: int
) -> None:
    """Two notebooks run at once (``--jobs 2``): one signal interrupts both, none starts after."""
    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text(json.dumps({"n_subscribers": 3, "seed": 1}))
    cells = (
        "from pathlib import Path\nPath(marker).write_text('started')",
        "import time\ntime.sleep(seconds)",
    )
    entries = []
    for name in ("slow1", "slow2"):
        nb = _notebook(tmp_path / f"{name}.ipynb", *cells)
        marker = tmp_path / f"{name}-started"
        entries.append(
            f'[[notebook]]\nfile = "{nb.as_posix()}"\ntitle = "{name}"\n[notebook.parameters]\n'
            f'marker = "{marker.as_posix()}"\nseconds = 600.0\n'
        )
    after = _notebook(tmp_path / "after.ipynb", "z = 3")
    entries.append(f'[[notebook]]\nfile = "{after.as_posix()}"\ntitle = "After"\n')
    registry = tmp_path / "registry.toml"
    registry.write_text("".join(entries))
    out = tmp_path / "reports"
    argv = [str(WORKBENCH), "report", "--registry", str(registry), "--world", str(world)]
    argv += ["--out", str(out), "--no-progress", "--jobs", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def both_running() -> bool:
        m = _manifest(out)
        return (
            m is not None
            and [n["status"] for n in m["notebooks"]] == ["running", "running", "pending"]
            and all((tmp_path / f"{n}-started").exists() for n in ("slow1", "slow2"))
        )

    _wait_for("both slow notebooks to run", both_running, proc)
    kernels = _descendants(proc.pid)
    assert len(kernels) >= 2, "each running notebook has its kernel"
    proc.send_signal(signum)
    out_text, err = _finish(proc)

    (run,) = out.iterdir()
    name = signal.Signals(signum).name
    assert proc.returncode == STATUS[signum], err
    assert "Traceback" not in err, err
    assert _stderr_lines(err) == [
        f"workbench report: interrupted by {name}; the partial run is in {run}"
    ], err
    assert out_text == ""
    m = json.loads((run / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["reason"] == f"interrupted by {name}"
    assert m["jobs"] == 2
    states = [(n["name"], n["status"]) for n in m["notebooks"]]
    assert states == [("slow1", "interrupted"), ("slow2", "interrupted"), ("after", "pending")]
    for n in m["notebooks"][:2]:
        assert f"interrupted by {name}" in n["error"]["message"], n
        assert (run / f"{n['name']}.ipynb").exists()  # the partial notebooks are kept
    assert not (run / "after.ipynb").exists() and not (run / "report.html").exists()
    assert _still_running(kernels) == []


# ---------------------------------------------------------------------------------- generate


@pytest.mark.parametrize(
    ("signum", "group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGTERM", "SIGINT-to-group"],
)
def test_signal_during_generate_stops_workers_and_leaves_nothing(
    tmp_path: Path, signum: int, group: bool
) -> None:
    # many small chunks so that two worker processes are busy when the signal comes
    scenario = tmp_path / "chunky.toml"
    scenario.write_text(SCENARIO.read_text().replace("chunk_size = 50000", "chunk_size = 500"))
    out = tmp_path / "world"
    argv = [str(WORKBENCH), "generate", "--scenario", str(scenario), "--subscribers", "12000"]
    argv += ["--workers", "2", "--seed", "1", "--out", str(out), "--quiet"]
    # a new session, so that the group signal (a terminal's Ctrl-C) reaches only this command
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )

    def parts_written() -> bool:
        return len(list(tmp_path.glob(".world.partial-*/email_events/part-*.parquet"))) >= 2

    _wait_for("world parts to be written", parts_written, proc)
    workers = _descendants(proc.pid)
    assert len(workers) >= 2
    if group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    out_text, err = _finish(proc)

    name = signal.Signals(signum).name
    assert proc.returncode == STATUS[signum], err
    assert err.splitlines() == [f"workbench generate: interrupted by {name}"], err
    assert out_text == ""
    assert list(tmp_path.iterdir()) == [scenario]  # no world, no partial folder
    assert _still_running(workers) == []


def test_a_cell_deaf_to_interrupts_is_stopped_after_a_few_seconds(tmp_path: Path) -> None:
    """Code that ignores SIGINT (a C extension busy for minutes) cannot hold the run hostage."""
    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text("{}")
    marker = tmp_path / "deaf"
    deaf = _notebook(
        tmp_path / "deaf.ipynb",
        "import signal, time\nfrom pathlib import Path\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "Path(marker).write_text('deaf')\ntime.sleep(seconds)",
    )
    registry = tmp_path / "registry.toml"
    registry.write_text(
        f'[[notebook]]\nfile = "{deaf.as_posix()}"\ntitle = "Deaf"\n[notebook.parameters]\n'
        f'marker = "{marker.as_posix()}"\nseconds = 600.0\n'
    )
    out = tmp_path / "reports"
    argv = [str(WORKBENCH), "report", "--registry", str(registry), "--world", str(world)]
    proc = subprocess.Popen(
        [*argv, "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for("the deaf cell to run", marker.exists, proc)
    kernels = _descendants(proc.pid)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = _finish(proc)
    waited = time.monotonic() - t0
    assert proc.returncode == 143, err
    assert "Traceback" not in err and len(_stderr_lines(err)) == 1, err
    m = _manifest(out)
    assert m is not None and m["status"] == "interrupted"
    assert [n["status"] for n in m["notebooks"]] == ["interrupted"]
    assert _still_running(kernels) == []
    assert waited < 60  # the interrupt is repeated for 5 s, then the kernel is shut down


def test_a_deaf_cell_beside_another_notebook_is_stopped_after_a_few_seconds(
    tmp_path: Path,
) -> None:
    """Side by side (``--jobs 2``), a kernel deaf to interrupts is killed after the patience
    runs out, the well-behaved one beside it is interrupted, and no kernel is left."""
    world = tmp_path / "world"
    world.mkdir()
    (world / "world.json").write_text("{}")
    deaf = _notebook(
        tmp_path / "deaf.ipynb",
        "import signal, time\nfrom pathlib import Path\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "Path(marker).write_text('deaf')\ntime.sleep(seconds)",
    )
    slow = _notebook(
        tmp_path / "slow.ipynb",
        "import time\nfrom pathlib import Path\n"
        "Path(marker).write_text('slow')\ntime.sleep(seconds)",
    )
    registry = tmp_path / "registry.toml"
    registry.write_text(
        "".join(
            f'[[notebook]]\nfile = "{nb.as_posix()}"\ntitle = "{nb.stem}"\n'
            f'[notebook.parameters]\nmarker = "{(tmp_path / nb.stem).as_posix()}-started"\n'
            "seconds = 600.0\n"
            for nb in (deaf, slow)
        )
    )
    out = tmp_path / "reports"
    argv = [str(WORKBENCH), "report", "--registry", str(registry), "--world", str(world)]
    argv += ["--out", str(out), "--no-progress", "--jobs", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    markers = [tmp_path / "deaf-started", tmp_path / "slow-started"]
    _wait_for("both cells to run", lambda: all(m.exists() for m in markers), proc)
    kernels = _descendants(proc.pid)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = _finish(proc)
    waited = time.monotonic() - t0
    assert proc.returncode == 143, err
    assert "Traceback" not in err and len(_stderr_lines(err)) == 1, err
    m = _manifest(out)
    assert m is not None and m["status"] == "interrupted"
    assert [n["status"] for n in m["notebooks"]] == ["interrupted", "interrupted"]
    assert _still_running(kernels) == []
    assert waited < 60  # the interrupt is repeated for 5 s, then the kernels are killed
