"""Run the registered notebooks with papermill into a new ``reports/<run-id>/`` folder.

A run (:func:`run_report`):

1. reads the registry and the parameters each notebook declares, and checks every override
   against them (bad input stops the run before anything is written);
2. generates the world, or reuses the cached copy in ``datasets/generated/`` (or takes the
   ``world`` folder given), and hashes its files;
3. creates ``reports/<UTC timestamp>-<parameter hash>/`` (never an existing folder) and writes
   ``manifest.json`` with status ``running``;
4. executes the notebooks with papermill, each with the parameters it declares, started in
   registry order, up to ``jobs`` at a time (two by default, each in its own kernel); after a
   failure no further notebook starts (the executed notebook keeps the error; one running
   beside it finishes); the manifest is updated as each notebook starts (``running``) and
   ends;
5. on success writes ``report.html``, then the manifest with status ``ok``; on failure the
   manifest says ``failed`` and names the notebook and cell.

Interruptions: SIGINT (Ctrl-C) or SIGTERM while notebooks run interrupts their kernels like
Jupyter's stop button, so the cell stops and the executed notebook keeps what ran; the manifest
then says ``interrupted``, each notebook its true state (``ok`` for those that finished,
``interrupted`` for the running one, ``pending`` for those not started), and
:class:`~workbench._signals.Interrupted` (a ``KeyboardInterrupt``) is raised. The interrupt is
repeated while the kernel cannot take it; after 5 s, or at a second signal, the run stops at once
without waiting for the cell.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench._signals import Interrupted, deferred, signal_name, signals_raise
from workbench.errors import WorkbenchError
from workbench.findings import read as read_findings
from workbench.reports._kernel import KernelStop, check_kernel, engine, kernel_dir, kernel_env
from workbench.reports._record import (
    Headline,
    missing_tables,
    read_headlines,
    read_skipped,
    read_takeaways,
)
from workbench.reports.manifest import environment, git_revision, world_hashes, write_manifest
from workbench.reports.registry import (
    NotebookEntry,
    ReportConfig,
    load_registry,
    select,
)

if TYPE_CHECKING:
    from papermill.exceptions import PapermillExecutionError

MANIFEST_VERSION = 1
GLOBAL_PARAMETERS = ("world", "scenario", "n_subscribers", "seed")
"""Run-wide parameters passed to every notebook that declares them."""

WorldGenerator = Callable[..., Any]
"""``generate_world(scenario, *, n_subscribers, seed, out, overwrite, progress) -> Path``."""


@dataclass
class NotebookRun:
    """What happened to one notebook of a run."""

    name: str
    title: str
    source: Path
    output: Path
    parameters: dict[str, Any]
    # pending | running | ok | failed | skipped (after a failure) | interrupted
    # | not_applicable (the world lacks a table the notebook needs: ``skipped`` says which)
    status: str = "pending"
    wall_time_s: float | None = None
    headlines: dict[str, Headline] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    takeaways: list[dict[str, Any]] = field(default_factory=list)
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Manifest entry."""
        from workbench._io import file_sha256

        return {
            "name": self.name,
            "title": self.title,
            "source": str(self.source),
            "source_sha256": file_sha256(self.source),
            "output": self.output.name,
            "parameters": self.parameters,
            "status": self.status,
            "wall_time_s": self.wall_time_s,
            "error": self.error,
        }


@dataclass
class RunResult:
    """Outcome of :func:`run_report`.

    Attributes
    ----------
    run_dir : Path
        The new run folder.
    status : {"ok", "failed"}
        Whether every notebook ran.
    notebooks : list of NotebookRun
        Per-notebook outcome, in run order.
    manifest : dict
        The manifest as written to ``run_dir / "manifest.json"``.
    reason : str or None
        One-line reason of a failure (notebook, cell, error), ``None`` on success.
    """

    run_dir: Path
    status: str
    notebooks: list[NotebookRun]
    manifest: dict[str, Any]
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when every notebook ran."""
        return self.status == "ok"

    @property
    def html(self) -> Path | None:
        """The stakeholder page, ``None`` for a failed run."""
        p = self.run_dir / "report.html"
        return p if self.ok and p.is_file() else None


# ------------------------------------------------------------------------------- parameters


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Parameters a notebook declares in its ``parameters`` cell (papermill's inspection).

    Returns
    -------
    dict
        ``{name: {"default": str, "inferred_type_name": str or None, "help": str}}`` in cell
        order; the type is the annotation, else the type of the default literal, and a leading
        ``help:`` of the comment is dropped.
    """
    import papermill as pm

    out = {}
    for name, p in pm.inspect_notebook(str(path)).items():
        default = p.get("default")
        typ = p.get("inferred_type_name")
        if typ in (None, "None"):  # no annotation: the type of the default literal
            try:
                typ = type(ast.literal_eval(default)).__name__
            except (ValueError, SyntaxError, TypeError):
                typ = None
        text = str(p.get("help") or "").strip()
        text = text[len("help:") :].strip() if text.lower().startswith("help:") else text
        out[name] = {"default": default, "inferred_type_name": typ, "help": text}
    return out


def resolve_parameters(
    entry: NotebookEntry,
    declared: Mapping[str, Any],
    run_wide: Mapping[str, Any],
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The parameters to pass to one notebook.

    Run-wide values (``world``, ``scenario``, ``n_subscribers``, ``seed``) go to the notebooks
    that declare them; the registry's defaults and the config's overrides (which win) must name
    declared parameters.

    Raises
    ------
    WorkbenchError
        When a default or override names a parameter the notebook does not declare.
    """
    params = {k: v for k, v in run_wide.items() if k in declared and v is not None}
    for origin, values in (("registry", entry.parameters), ("config", overrides or {})):
        unknown = [k for k in values if k not in declared]
        if unknown:
            have = ", ".join(declared) or "none"
            raise WorkbenchError(
                f"{entry.path.name}: {origin} sets parameter '{unknown[0]}' that the notebook "
                f"does not declare (its parameters: {have})"
            )
        params.update(values)
    return params


def run_id(parameters: Mapping[str, Any], now: datetime | None = None) -> str:
    """``YYYYmmddTHHMMSSZ-<8 hex digits of the parameters' SHA-256>``."""
    now = now or datetime.now(UTC)
    blob = json.dumps(parameters, sort_keys=True, default=str).encode()
    return f"{now:%Y%m%dT%H%M%SZ}-{hashlib.sha256(blob).hexdigest()[:8]}"


def _new_run_dir(root: Path, rid: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(1, 1000):
        d = root / (rid if i == 1 else f"{rid}-{i}")
        try:
            d.mkdir()
        except FileExistsError:
            continue
        return d
    raise WorkbenchError(f"{root}: could not find a free run folder name for {rid}")


# ------------------------------------------------------------------------------------ world


def cached_world(
    config: ReportConfig, generate: WorldGenerator | None = None, progress: bool = False
) -> tuple[Path, bool]:
    """The world of ``config``, generated once into ``datasets/generated/`` and reused after.

    Parameters
    ----------
    config : ReportConfig
        Scenario, size and seed.
    generate : callable, optional
        Stand-in for :func:`workbench.synth.generate_world` (tests).
    progress : bool
        Show the generator's progress bar.

    Returns
    -------
    (Path, bool)
        The world folder and whether it was generated now (False: cache hit).
    """
    from workbench.paths import generated_dir
    from workbench.synth.cache import cache_name, is_current
    from workbench.synth.cache import cached_world as _cached

    n = config.n_subscribers or None
    out = generated_dir() / cache_name(config.scenario, n, config.seed)
    fresh = not is_current(out)
    if generate is None:
        path = _cached(config.scenario, n, config.seed, progress=progress)
    elif fresh:
        path = generate(
            config.scenario, n_subscribers=n, seed=config.seed, out=out, overwrite=out.exists(),
            progress=progress,
        )  # fmt: skip
    else:
        path = out
    return Path(path or out), fresh


def _read_meta(world: Path) -> dict[str, Any]:
    from workbench.schema import world_meta

    return world_meta(world)


# -------------------------------------------------------------------------------- execution


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _cell_error(name: str, exc: PapermillExecutionError) -> dict[str, Any]:
    """The manifest's ``error`` of notebook ``name`` whose cell raised ``exc``."""
    return {
        "cell_index": exc.cell_index,
        "execution_count": exc.exec_count,
        "ename": exc.ename,
        "evalue": exc.evalue,
        "message": (
            f"notebook {name} failed at In [{exc.exec_count}] (cell "
            f"{exc.cell_index + 1} of the executed notebook): {exc.ename}: "
            f"{_first_line(exc.evalue)}"
        ),
    }


def _kernel_error(name: str, exc: Exception, log: Path) -> dict[str, Any]:
    """The ``error`` of a notebook whose kernel died, timed out or could not start.

    The last line of the kernel's ``log`` is quoted when there is one.
    """
    error: dict[str, Any] = {
        "cell_index": None,
        "execution_count": None,
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "message": f"notebook {name} failed: {type(exc).__name__}: {_first_line(str(exc))}",
    }
    last = _last_line(log)
    if last:
        error["kernel_log"] = last
        error["message"] += f" (kernel: {last})"
    return error


def _interruption(
    name: str, exc: BaseException, cell: tuple[int | None, int | None], before: int | None
) -> dict[str, Any]:
    """The ``error`` of a notebook stopped by a signal.

    ``cell`` is the (index, execution count) of the cell it stopped in, ``before`` the index of
    the cell that was not started (a stop between cells); either may be unknown.
    """
    signame = signal_name(getattr(exc, "signum", 2))
    where = ""
    if cell[0] is not None:
        where = f" at In [{cell[1]}] (cell {cell[0] + 1})"
    elif before is not None:
        where = f" before cell {before + 1}"
    return {
        "cell_index": cell[0] if cell[0] is not None else before,
        "execution_count": cell[1],
        "ename": "Interrupted",
        "evalue": signame,
        "message": f"notebook {name} interrupted by {signame}{where}",
    }


def _papermill(
    nb: NotebookRun,
    kernel: str,
    progress: bool,
    cwd: Path,
    stop: KernelStop,
    kdir: Path,
    ipc: bool,
) -> None:
    """Execute ``nb`` with papermill through the engine that honours ``stop``.

    The kernel runs in ``cwd``; this process keeps its own working folder (notebooks may run
    side by side in threads).
    """
    import papermill as pm

    with kernel_env(nb.output.resolve().parent):
        pm.execute_notebook(
            str(nb.source.resolve()),
            str(nb.output.resolve()),
            parameters=nb.parameters,
            engine_name=engine(),
            kernel_name=kernel,
            progress_bar=progress,
            stop=stop,
            kernel_dir=kdir,
            ipc=ipc,
            kernel_cwd=str(cwd.resolve()),
        )


def _collect_headlines(nb: NotebookRun, cut_short: bool) -> None:
    """Read the headlines and skipped sections the executed notebook recorded (lost if it was
    cut short unreadable)."""
    import nbformat

    if not nb.output.is_file():
        return
    try:
        executed = nbformat.read(nb.output, as_version=4)
        nb.headlines, nb.skipped = read_headlines(executed), read_skipped(executed)
        nb.findings = [asdict(f) for f in read_findings(executed)]
        nb.takeaways = read_takeaways(executed)
    except Exception:  # a notebook cut short may be unreadable: its headlines are lost
        if not cut_short:
            raise


def _execute(
    nb: NotebookRun, kernel: str, progress: bool, cwd: Path, stop: KernelStop, ipc: bool = False
) -> None:
    """Run one notebook; fill ``status``, ``wall_time_s``, ``headlines``, ``error``.

    Raises
    ------
    KeyboardInterrupt
        When a signal stopped the notebook (``nb.status`` is then ``interrupted``).
    """
    from papermill.exceptions import PapermillExecutionError

    t0 = time.perf_counter()
    nb.status = "running"
    interrupted: BaseException | None = None
    cell: tuple[int | None, int | None] = (None, None)  # (index, execution count) stopped in
    before: int | None = None  # or: index of the cell that was not started
    stop.active = True
    with kernel_dir() as kdir:
        try:
            _papermill(nb, kernel, progress, cwd, stop, kdir, ipc)
        except KeyboardInterrupt as exc:  # a second signal, or a stop before the next cell
            interrupted = exc
            before = getattr(exc, "cell_index", None)
        except PapermillExecutionError as exc:
            if stop.signum is not None and exc.ename == "KeyboardInterrupt":
                interrupted = Interrupted(stop.signum)
                cell = (exc.cell_index, exc.exec_count)
            else:
                nb.status, nb.error = "failed", _cell_error(nb.name, exc)
        except Exception as exc:  # kernel died, timed out, could not start, ...
            nb.status, nb.error = "failed", _kernel_error(nb.name, exc, kdir / "kernel.log")
        else:
            nb.status = "ok"
        finally:
            stop.detach()
    nb.wall_time_s = round(time.perf_counter() - t0, 3)
    if interrupted is not None:
        nb.status = "interrupted"
        nb.error = _interruption(nb.name, interrupted, cell, before)
    _collect_headlines(nb, cut_short=interrupted is not None)
    if interrupted is not None:
        raise interrupted
    stop.check()  # a signal came as the notebook ended: it ran, but the run stops here


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _facts(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    p = manifest["parameters"]
    git = manifest["git"]
    rev = "not a git checkout"
    if git:
        rev = git["short"] + (" (with uncommitted changes)" if git["dirty"] else "")
    source = "generated" if manifest["world"]["generated"] is not None else "given"
    n = p["n_subscribers"]
    meta = manifest["world"].get("meta") or {}
    if meta.get("origin") == "import":  # real data: no scenario; say where it came from
        mapping = f", mapping {meta['mapping']}" if meta.get("mapping") else ""
        world = [
            ("Source", f"imported {meta.get('preset', '')} export{mapping}"),
            ("Subscribers", f"{n:,}" if isinstance(n, int) else "unknown"),
            ("Period", f"{meta.get('days')} days from {meta.get('start')}"),
        ]
        source = "imported"
    else:
        world = [
            ("Scenario", str(p["scenario"])),
            ("Subscribers", f"{n:,}" if isinstance(n, int) else "scenario default"),
        ]
    return [
        *world,
        ("Seed", str(p["seed"])),
        (
            "Date",
            (manifest["finished_utc"] or manifest["created_utc"])
            .replace("T", " ")
            .replace("+00:00", " UTC"),
        ),
        ("Code revision", rev),
        ("Data", f"{source} world, sha256 {manifest['world']['sha256'][:12]}"),
        ("Run", manifest["run_id"]),
    ]


# ------------------------------------------------------------------------------------- a run


def default_jobs() -> int:
    """Notebooks a run executes side by side by default: 2, or 1 on a single-core machine.

    Each notebook keeps mostly one core busy (its kernel runs the cells one after the other), so
    two kernels use a 2-core laptop; more would only compete for the same cores.
    """
    return max(1, min(2, os.cpu_count() or 1))


class _StopGroup:
    """The :class:`KernelStop` of every notebook running side by side, as one signal callback.

    The first signal interrupts every running kernel (graceful when at least one runs); any
    later signal, or the first when no kernel runs, raises.
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.stops: list[KernelStop] = []

    def new(self) -> KernelStop:
        """The stop of a notebook about to start (active at once: a signal reaches it)."""
        stop = KernelStop()
        stop.active = True
        self.stops.append(stop)
        return stop

    def request(self, signum: int) -> bool:
        """Signal callback: interrupt the running kernels (True), or let the signal raise."""
        if self.signum is not None:
            return False
        self.signum = signum
        handled = [stop.request(signum) for stop in self.stops if stop.active]
        return any(handled)

    def kill(self, signum: int) -> None:
        """Kill the kernels still running (:meth:`KernelStop.kill`)."""
        for stop in self.stops:
            if stop.active:
                stop.kill(signum)


def _chosen(
    config: ReportConfig,
    registry: str | os.PathLike[str] | Sequence[NotebookEntry] | None,
    only: Sequence[str] | None,
) -> tuple[list[NotebookEntry], dict[str, dict[str, dict[str, Any]]]]:
    """The notebooks to run and the parameters each declares, every override checked.

    Raises
    ------
    WorkbenchError
        When no notebook is chosen, or the config or registry sets an unknown parameter.
    """
    given = isinstance(registry, Sequence) and not isinstance(registry, str)
    entries = list(registry) if given else load_registry(registry)  # type: ignore[arg-type]
    chosen = select(entries, only)
    if not chosen:
        where = "" if given else f" ({registry or 'notebooks/registry.toml'})"
        raise WorkbenchError(f"no notebooks to run: the registry{where} lists none")
    names = {e.name for e in entries}
    unknown = sorted(set(config.notebooks) - names)
    if unknown:
        raise WorkbenchError(
            f"config has parameters for '{unknown[0]}', which is not a registered notebook "
            f"(registered: {', '.join(sorted(names))})"
        )
    declared = {e.name: notebook_parameters(e.path) for e in chosen}
    # check overrides before the (possibly long) world generation
    for e in chosen:
        resolve_parameters(e, declared[e.name], {}, config.notebooks.get(e.name))
    return chosen, declared


def _out_root(out: str | os.PathLike[str] | None, world: str | os.PathLike[str] | None) -> Path:
    """The folder that receives the run folder (a folder, and not inside ``world``)."""
    from workbench.paths import reports_dir

    out_root = Path(out) if out is not None else reports_dir()
    if out_root.exists() and not out_root.is_dir():
        raise WorkbenchError(f"{out_root}: is a file; reports go into a folder")
    if world is not None:
        from workbench._io import check_not_input

        check_not_input(out_root, {"world": world})
    return out_root


def _world(
    config: ReportConfig,
    world: str | os.PathLike[str] | None,
    generate: WorldGenerator | None,
    progress: bool,
) -> tuple[Path, bool | None]:
    """The world folder (absolute) and whether it was generated now (``None``: given)."""
    if world is not None:
        world_dir = Path(world).resolve()
        if not world_dir.is_dir():
            raise WorkbenchError(f"{world_dir}: no such world folder")
        return world_dir, None
    world_dir, generated = cached_world(config, generate, progress)
    return world_dir.resolve(), generated


def _run_wide(
    config: ReportConfig, world_dir: Path, meta: Mapping[str, Any], given: bool
) -> dict[str, Any]:
    """The :data:`GLOBAL_PARAMETERS`; a given world keeps its own scenario name if it has one."""
    scenario = config.scenario
    if given:
        named = meta.get("scenario")
        named = named.get("name") if isinstance(named, Mapping) else named
        scenario = named if isinstance(named, str) and named else scenario
    return {
        "world": str(world_dir),
        "scenario": scenario,
        "n_subscribers": config.n_subscribers or meta.get("n_subscribers"),
        "seed": config.seed,
    }


def _new_manifest(
    run_dir: Path,
    parameters: dict[str, Any],
    seed: int,
    world_dir: Path,
    generated: bool | None,
    meta: dict[str, Any],
) -> dict[str, Any]:
    """The manifest of a run that starts now (status ``running``, no notebook recorded yet)."""
    from workbench import __version__

    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_dir.name,
        "status": "running",
        "reason": None,
        "created_utc": _now(),
        "finished_utc": None,
        "parameters": parameters,
        "seed": seed,
        "world": {
            "path": str(world_dir),
            "generated": generated,
            "meta": meta,
            **world_hashes(world_dir),
        },
        "notebooks": [],
        "headlines": {},
        "skipped": {},
        "findings": {},
        "takeaways": [],
        "html": None,
        "pdf": None,
        "workbench_version": __version__,
        "git": git_revision(),
        "environment": environment(),
    }


def _say_not_applicable(r: NotebookRun, i: int, n: int, progress: bool) -> None:
    if progress:
        reason = r.skipped[0]["reason"] if r.skipped else ""
        print(f"[{i}/{n}] {r.name}: not applicable ({reason})", file=sys.stderr, flush=True)


@dataclass
class _Run:
    """A run under way: its folder, its notebooks in order and the manifest kept on disk."""

    run_dir: Path
    notebooks: list[NotebookRun]
    manifest: dict[str, Any]

    def save(self, status: str, reason: str | None = None) -> None:
        """Write the manifest with the run's ``status`` and every notebook's state."""
        self.manifest["status"] = status
        self.manifest["reason"] = reason
        self.manifest["notebooks"] = [r.to_dict() for r in self.notebooks]
        self.manifest["headlines"] = {r.name: r.headlines for r in self.notebooks if r.headlines}
        self.manifest["skipped"] = {r.name: r.skipped for r in self.notebooks if r.skipped}
        self.manifest["findings"] = {r.name: r.findings for r in self.notebooks if r.findings}
        self.manifest["takeaways"] = [
            {"notebook": r.name, **t} for r in self.notebooks for t in r.takeaways
        ]
        write_manifest(self.manifest, self.run_dir / "manifest.json")

    def execute(self, kernel: str, progress: bool, ipc: bool, jobs: int = 1) -> str | None:
        """Run the notebooks in order until one fails; the one-line reason of the failure.

        With ``jobs`` > 1, up to that many notebooks run side by side (:meth:`_side_by_side`).

        Raises
        ------
        KeyboardInterrupt
            On a signal, once the manifest says ``interrupted``.
        """
        if jobs > 1 and len(self.notebooks) > 1:
            return self._side_by_side(kernel, progress, ipc, jobs)
        stop = KernelStop()
        runs = self.notebooks
        try:
            with signals_raise(on_signal=stop.request):
                self.save("running")
                for i, r in enumerate(runs, start=1):
                    if r.status == "not_applicable":
                        _say_not_applicable(r, i, len(runs), progress)
                        continue
                    if progress:
                        print(f"[{i}/{len(runs)}] {r.name}: {r.title}", file=sys.stderr, flush=True)
                    r.status = "running"
                    self.save("running")
                    _execute(r, kernel, progress, cwd=r.source.parent, stop=stop, ipc=ipc)
                    if r.status != "ok":
                        assert r.error is not None
                        for rest in runs[i:]:
                            if rest.status == "pending":
                                rest.status = "skipped"
                        return f"{r.error['message']}; see {r.output}"
                    self.save("running")
        except KeyboardInterrupt as exc:
            self._record_interruption(exc)
            raise
        return None

    def _side_by_side(self, kernel: str, progress: bool, ipc: bool, jobs: int) -> str | None:
        """Run up to ``jobs`` notebooks at a time, each in its own kernel, started in order.

        Notebooks start in registry order as slots free up. After a failure no further
        notebook starts, those already running finish (and keep their own state), the rest are
        ``skipped``; the reason is that of the first failed notebook in registry order. A
        signal interrupts every running kernel (as :class:`KernelStop` does for one), none
        starts after it; a second signal, or a kernel deaf to the interrupt, kills the running
        kernels' process groups and the run stops at once. The manifest is written by this
        thread only; papermill's cell progress bars are replaced by a line per notebook.
        """
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        runs = self.notebooks
        group = _StopGroup()
        for i, r in enumerate(runs):
            if r.status == "not_applicable":
                _say_not_applicable(r, i + 1, len(runs), progress)
        waiting = [i for i, r in enumerate(runs) if r.status != "not_applicable"]
        running: dict[Future[None], int] = {}
        failed: list[int] = []
        stopped: KeyboardInterrupt | None = None
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="workbench-notebook")
        try:
            with kernel_env(), signals_raise(on_signal=group.request):
                self.save("running")
                while waiting or running:
                    while waiting and len(running) < jobs and not failed and stopped is None:
                        if group.signum is not None:
                            break
                        i = waiting.pop(0)
                        r = runs[i]
                        if progress:
                            print(
                                f"[{i + 1}/{len(runs)}] {r.name}: {r.title}",
                                file=sys.stderr,
                                flush=True,
                            )
                        r.status = "running"
                        self.save("running")
                        stop = group.new()
                        cwd = r.source.parent
                        running[pool.submit(_execute, r, kernel, False, cwd, stop, ipc)] = i
                    if not running:
                        break
                    done, _ = wait(list(running), timeout=1.0, return_when=FIRST_COMPLETED)
                    for fut in sorted(done, key=running.__getitem__):
                        i = running.pop(fut)
                        r = runs[i]
                        exc = fut.exception()
                        if isinstance(exc, KeyboardInterrupt):
                            stopped = exc
                        elif exc is not None:
                            raise exc
                        elif r.status != "ok":
                            failed.append(i)
                        if progress:
                            print(
                                f"[{i + 1}/{len(runs)}] {r.name}: {r.status} "
                                f"in {r.wall_time_s:.1f} s",
                                file=sys.stderr,
                                flush=True,
                            )
                        self.save("running")
                if stopped is not None:
                    raise stopped
        except KeyboardInterrupt as exc:
            signum = getattr(exc, "signum", group.signum or 2)
            # the clients of the killed kernels would log "Kernel died ..." : the stop is what
            # is reported
            papermill_log = logging.getLogger("papermill")
            level = papermill_log.level
            papermill_log.setLevel(logging.CRITICAL)
            try:
                group.kill(signum)
                for fut, i in running.items():  # their clients notice within a second or two
                    r = runs[i]
                    try:
                        fut.result()
                    except BaseException:  # the stop is what is reported
                        pass
                    if r.status != "interrupted":
                        r.status = "interrupted"
                        r.error = _interruption(r.name, exc, (None, None), None)
                pool.shutdown(wait=True)
            finally:
                papermill_log.setLevel(level)
            self._record_interruption(exc)
            raise
        except BaseException:  # a bug of ours: leave no kernel behind
            group.kill(2)
            pool.shutdown(wait=True)
            raise
        pool.shutdown(wait=True)
        if not failed:
            return None
        for i in waiting:
            runs[i].status = "skipped"
        r = runs[min(failed)]
        assert r.error is not None
        return f"{r.error['message']}; see {r.output}"

    def _record_interruption(self, exc: KeyboardInterrupt) -> None:
        with deferred():  # the record of the interruption is written whatever comes next
            for r in self.notebooks:
                if r.status == "running":  # stopped before papermill started it
                    r.status = "interrupted"
            self.manifest["finished_utc"] = _now()
            name = signal_name(getattr(exc, "signum", 2))
            self.save("interrupted", f"interrupted by {name}")
        exc.add_note(f"the partial run is in {self.run_dir}")

    def finish(self, reason: str | None) -> RunResult:
        """Write ``report.html`` (success only) and the final manifest."""
        self.manifest["finished_utc"] = _now()
        if reason is None:
            from workbench.reports.pdf import find_chromium, print_pdf

            pdf = find_chromium() is not None
            html = _write_html(self.notebooks, self.manifest, self.run_dir, pdf=pdf)
            self.manifest["html"] = "report.html"
            why = print_pdf(html, self.run_dir / "report.pdf") if pdf else None
            if why is None and pdf:
                self.manifest["pdf"] = "report.pdf"
            else:
                why = why or "no Chromium found: install Debian's chromium package"
                self.manifest["pdf_reason"] = why
                print(f"report.pdf not written: {why}", file=sys.stderr)
            self.save("ok")
            return RunResult(self.run_dir, "ok", self.notebooks, self.manifest)
        self.save("failed", reason)
        return RunResult(self.run_dir, "failed", self.notebooks, self.manifest, reason)


def run_report(
    config: ReportConfig | None = None,
    *,
    registry: str | os.PathLike[str] | Sequence[NotebookEntry] | None = None,
    out: str | os.PathLike[str] | None = None,
    only: Sequence[str] | None = None,
    kernel: str | None = None,
    world: str | os.PathLike[str] | None = None,
    generate: WorldGenerator | None = None,
    progress: bool = True,
    jobs: int | None = None,
) -> RunResult:
    """Execute the registered notebooks into a new run folder with HTML and manifest.

    Parameters
    ----------
    config : ReportConfig, optional
        Scenario, subscribers, seed and per-notebook overrides (default: ``tiny``, seed
        ``20261126``).
    registry : path or sequence of NotebookEntry, optional
        The notebook registry; default ``notebooks/registry.toml``.
    out : path, optional
        Folder that receives the run folder; default ``reports/``.
    only : sequence of str, optional
        Run only these notebooks (names are file stems), in registry order.
    kernel : str, optional
        Jupyter kernel name; default ``python3``.
    world : path, optional
        An existing world folder to use instead of generating one (e.g. real data).
    generate : callable, optional
        World generator with the signature of :func:`workbench.synth.generate_world`
        (default: that function).
    progress : bool, default True
        Print one line per notebook and papermill's cell progress bar to stderr (side by side:
        a line as each notebook starts and ends).
    jobs : int, optional
        Notebooks executed side by side, each in its own kernel (default
        :func:`default_jobs`: 2 on a machine with 2 cores or more); 1 runs them one after the
        other. Notebooks are independent, so the numbers do not depend on it.

    Returns
    -------
    RunResult
        ``status == "failed"`` when a notebook raised; the run folder then keeps the executed
        notebook with the error and a manifest marked ``failed`` (no ``report.html``).

    Raises
    ------
    WorkbenchError
        On bad input found before any notebook runs (registry, overrides, world, kernel, an
        ``out`` that is a file or lies inside ``world``); no run folder is created then.
    KeyboardInterrupt
        :class:`~workbench._signals.Interrupted` on SIGINT/SIGTERM (see the module docstring);
        the run folder keeps what ran and its manifest says ``interrupted``.
    """
    config = config or ReportConfig()
    kernel = kernel or "python3"
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise WorkbenchError(f"jobs must be at least 1, not {jobs}")
    chosen, declared = _chosen(config, registry, only)
    ipc = check_kernel(kernel)
    out_root = _out_root(out, world)
    world_dir, generated = _world(config, world, generate, progress)
    meta = _read_meta(world_dir)
    run_wide = _run_wide(config, world_dir, meta, given=generated is None)
    parameters = {
        **config.to_dict(),
        "scenario": run_wide["scenario"],
        "n_subscribers": run_wide["n_subscribers"],
        "world": str(world_dir) if generated is None else None,
        "only": [e.name for e in chosen] if only else None,
        "kernel": kernel,
    }
    run_dir = _new_run_dir(out_root, run_id(parameters))
    runs = [
        NotebookRun(
            e.name,
            e.title,
            e.path,
            run_dir / e.path.name,
            resolve_parameters(e, declared[e.name], run_wide, config.notebooks.get(e.name)),
        )
        for e in chosen
    ]
    _mark_not_applicable(chosen, runs, world_dir)
    run = _Run(
        run_dir, runs, _new_manifest(run_dir, parameters, config.seed, world_dir, generated, meta)
    )
    run.manifest["jobs"] = jobs
    return run.finish(run.execute(kernel, progress, ipc, jobs))


def _mark_not_applicable(
    entries: Sequence[NotebookEntry], runs: Sequence[NotebookRun], world_dir: Path
) -> None:
    """Set aside the notebooks whose ``needs`` the world lacks (unless their ``unless``
    parameter brings the data): status ``not_applicable``, the reason in ``skipped``."""
    from workbench.schema import present_tables

    have = set(present_tables(world_dir))
    for e, r in zip(entries, runs, strict=True):
        missing = [t for t in e.needs if t not in have]
        if missing and not (e.unless and r.parameters.get(e.unless)):
            r.status = "not_applicable"
            r.skipped = [{"section": e.title, "reason": missing_tables(missing)}]


def _write_html(
    runs: Sequence[NotebookRun], manifest: Mapping[str, Any], run_dir: Path, pdf: bool = False
) -> Path:
    import nbformat

    from workbench._io import atomic_file
    from workbench.reports.html import Section, render_html

    sections = [
        Section(
            r.name,
            r.title,
            nbformat.v4.new_notebook()
            if r.status == "not_applicable"
            else nbformat.read(r.output, as_version=4),
            r.headlines,
            r.skipped,
            r.findings,
        )
        for r in runs
    ]
    files = [
        (t["name"], f"{t['caption']} ({t['rows']:,} rows)") for t in manifest.get("takeaways", [])
    ]
    if pdf:
        files.append(("report.pdf", "this page as a PDF, to forward"))
    page = render_html(sections, _facts(manifest), title="Micro-segmentation report", files=files)
    path = run_dir / "report.html"
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
