"""Run the registered notebooks with papermill into a new ``reports/<run-id>/`` folder.

A run (:func:`run_report`):

1. reads the registry and the parameters each notebook declares, and checks every override
   against them (bad input stops the run before anything is written);
2. generates the world, or reuses the cached copy in ``datasets/generated/`` (or takes the
   ``world`` folder given), and hashes its files;
3. creates ``reports/<UTC timestamp>-<parameter hash>/`` (never an existing folder) and writes
   ``manifest.json`` with status ``running``;
4. executes the notebooks in registry order with papermill, each with the parameters it
   declares, stopping at the first failure (the executed notebook keeps the error); the
   manifest is updated as each notebook starts (``running``) and ends;
5. on success writes ``report.html``, then the manifest with status ``ok``; on failure the
   manifest says ``failed`` and names the notebook and cell.

Interruptions: SIGINT (Ctrl-C) or SIGTERM while a notebook runs interrupts its kernel like
Jupyter's stop button, so the cell stops and the executed notebook keeps what ran; the manifest
then says ``interrupted``, each notebook its true state (``ok`` for those that finished,
``interrupted`` for the running one, ``pending`` for those not started), and
:class:`~workbench._signals.Interrupted` (a ``KeyboardInterrupt``) is raised. The interrupt is
repeated while the kernel cannot take it; after 5 s, or at a second signal, the run stops at once
without waiting for the cell.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import hashlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench._signals import Interrupted, deferred, signal_name, signals_raise
from workbench.errors import WorkbenchError
from workbench.reports._record import Headline, read_headlines
from workbench.reports.manifest import environment, git_revision, world_hashes, write_manifest
from workbench.reports.registry import (
    NotebookEntry,
    ReportConfig,
    load_registry,
    select,
)

MANIFEST_VERSION = 1
GLOBAL_PARAMETERS = ("world", "scenario", "n_subscribers", "seed")
"""Run-wide parameters passed to every notebook that declares them."""

_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

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
    status: str = "pending"  # pending | running | ok | failed | skipped | interrupted
    wall_time_s: float | None = None
    headlines: dict[str, Headline] = field(default_factory=dict)
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


class _KernelStop:
    """Turns a signal into a kernel interrupt while a notebook runs (Jupyter's stop button).

    ``request`` is the signal callback of :func:`~workbench._signals.signals_raise`: the first
    signal during a notebook asks its kernel to interrupt the running cell (SIGINT to the kernel,
    which is in its own process group and does not see a terminal's Ctrl-C) and lets papermill
    finish normally, so the kernel replies, is shut down cleanly and the executed notebook is
    saved; before a kernel runs, the next cell is not started. Any other signal raises.

    An IPython kernel ignores SIGINT between cells (a cell just sent, not yet started), so the
    interrupt is repeated every ``interval`` seconds until a cell ends; if none has ended after
    ``patience`` seconds (a cell stuck where Python cannot interrupt it), the signal is sent to
    this process again, which stops the run at once, as a second signal from the user would.
    """

    def __init__(self, interval: float = 1.0, patience: float = 5.0) -> None:
        self.interval = interval
        self.patience = patience
        self.signum: int | None = None
        self.active = False
        self.settled = False
        self.pid: int | None = None
        self.pgid: int | None = None

    def attach(self, km: Any) -> None:
        """Remember the kernel process of ``km`` when it can be interrupted by a signal."""
        if getattr(getattr(km, "kernel_spec", None), "interrupt_mode", "signal") != "signal":
            return
        provisioner = getattr(km, "provisioner", None)
        self.pid = getattr(provisioner, "pid", None)
        self.pgid = getattr(provisioner, "pgid", None)

    def detach(self) -> None:
        self.active = False
        self.pid = self.pgid = None

    def cell_done(self) -> None:
        """A cell has ended: once a stop was requested, the kernel needs no more interrupts
        (it is being shut down, which no interrupt should disturb)."""
        if self.signum is not None:
            self.settled = True

    def _interrupt(self) -> None:
        try:
            if self.pgid and hasattr(os, "killpg"):
                os.killpg(self.pgid, signal.SIGINT)
            elif self.pid:
                os.kill(self.pid, signal.SIGINT)
        except OSError:  # the kernel is already gone: papermill will notice
            pass

    def _insist(self) -> None:
        deadline = time.monotonic() + self.patience
        while time.monotonic() < deadline:
            time.sleep(self.interval)
            if not self.active or self.settled:
                return
            self._interrupt()
        if self.active and not self.settled and self.signum is not None:
            os.kill(os.getpid(), self.signum)

    def request(self, signum: int) -> bool:
        """Handle a signal gracefully (True) or let it raise (False)."""
        if self.signum is not None or not self.active:
            return False
        self.signum = signum
        self._interrupt()
        threading.Thread(target=self._insist, name="workbench-stop", daemon=True).start()
        return True

    def check(self, cell_index: int | None = None) -> None:
        """Raise before the next cell (of index ``cell_index``) once a stop was requested."""
        if self.signum is not None:
            # the kernel is idle and no cell will start: no more interrupts, and no escalation
            # while papermill shuts the kernel down (a second signal raised then would replace
            # this exception and lose where the run stopped)
            self.settled = True
            exc = Interrupted(self.signum)
            exc.cell_index = cell_index  # type: ignore[attr-defined]
            raise exc


@functools.cache
def _engine() -> str:
    """Register (once) and name the papermill engine that lets a run be interrupted cleanly."""
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    name = "workbench"

    class Client(PapermillNotebookClient):
        def __init__(
            self, nb_man: Any, *, stop: _KernelStop, kernel_dir: Path | None, **kw: Any
        ) -> None:
            super().__init__(nb_man, **kw)
            self._stop = stop
            self._kernel_dir = kernel_dir

        def start_new_kernel(self, **kwargs: Any) -> None:
            if self._kernel_dir is None:
                super().start_new_kernel(**kwargs)
            else:
                with open(self._kernel_dir / "kernel.log", "ab") as log:
                    super().start_new_kernel(stderr=log, **kwargs)
            self._stop.attach(self.km)

        def execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
            self._stop.check(cell_index)
            try:
                return super().execute_cell(cell, cell_index, *args, **kwargs)
            finally:
                self._stop.cell_done()

    class Engine(NBClientEngine):
        """papermill's nbclient engine with a client that honours a :class:`_KernelStop`."""

        @classmethod
        def execute_managed_notebook(  # type: ignore[override]
            cls,
            nb_man: Any,
            kernel_name: str,
            log_output: bool = False,
            stdout_file: Any = None,
            stderr_file: Any = None,
            start_timeout: int = 60,
            execution_timeout: int | None = None,
            *,
            stop: _KernelStop,
            kernel_dir: Path | None = None,
            ipc: bool = False,
            **kwargs: Any,
        ) -> Any:
            # as NBClientEngine.execute_managed_notebook, with our client
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            if ipc and kernel_dir is not None and os.name == "posix":
                from traitlets.config import Config

                sockets = {"transport": "ipc", "ip": str(kernel_dir / "kernel")}
                final_kwargs["config"] = Config({"KernelManager": sockets})
            return Client(nb_man, stop=stop, kernel_dir=kernel_dir, **final_kwargs).execute()

    papermill_engines.register(name, Engine)
    return name


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


@contextlib.contextmanager
def _kernel_env() -> Iterator[None]:
    """Let kernels draw inline figures even when the caller set ``MPLBACKEND=Agg``.

    ipykernel only installs its inline backend when ``MPLBACKEND`` is unset; kernels inherit
    our environment, so a headless ``MPLBACKEND`` would leave the report without figures.
    """
    old = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = _INLINE_BACKEND
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = old


def _check_kernel(kernel: str) -> bool:
    """Check that ``kernel`` is installed; True when it is an IPython kernel (ipykernel)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(kernel)
    except NoSuchKernel:
        names = ", ".join(sorted(KernelSpecManager().find_kernel_specs())) or "none"
        raise WorkbenchError(
            f"no Jupyter kernel named '{kernel}' (installed: {names}); "
            "install one with `python -m ipykernel install --sys-prefix --name python3`"
        ) from None
    return any("ipykernel" in str(a) for a in spec.argv)


@contextlib.contextmanager
def _kernel_dir() -> Iterator[Path]:
    """A private temporary folder for one kernel: its log and, over IPC, its sockets.

    The kernel's own stderr (its log, and whatever its libraries print as it is shut down
    after an interrupt) goes to ``kernel.log`` there rather than into the command's one-line
    output; the log's last line is quoted when the kernel dies or cannot start.

    IPython kernels are run over IPC (Unix sockets in this folder) rather than TCP on
    localhost: no port can be taken by another process between its choice and its use (a
    kernel then fails with "Address already in use"), nothing listens on the network, and the
    kernel does not warn about unencrypted TCP on every start.
    """
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="workbench-kernel-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _last_line(path: Path) -> str:
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1] if lines else ""


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[0] if lines else ""


def _execute(
    nb: NotebookRun, kernel: str, progress: bool, cwd: Path, stop: _KernelStop, ipc: bool = False
) -> None:
    """Run one notebook; fill ``status``, ``wall_time_s``, ``headlines``, ``error``.

    Raises
    ------
    KeyboardInterrupt
        When a signal stopped the notebook (``nb.status`` is then ``interrupted``).
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    t0 = time.perf_counter()
    nb.status = "running"
    interrupted: BaseException | None = None
    cell: tuple[int | None, int | None] = (None, None)  # (index, execution count) stopped in
    before: int | None = None  # or: index of the cell that was not started
    stop.active = True
    with _kernel_dir() as kdir:
        try:
            with _kernel_env():
                pm.execute_notebook(
                    str(nb.source),
                    str(nb.output),
                    parameters=nb.parameters,
                    engine_name=_engine(),
                    kernel_name=kernel,
                    progress_bar=progress,
                    cwd=str(cwd),
                    stop=stop,
                    kernel_dir=kdir,
                    ipc=ipc,
                )
        except KeyboardInterrupt as exc:  # a second signal, or a stop before the next cell
            interrupted = exc
            before = getattr(exc, "cell_index", None)
        except PapermillExecutionError as exc:
            if stop.signum is not None and exc.ename == "KeyboardInterrupt":
                interrupted = Interrupted(stop.signum)
                cell = (exc.cell_index, exc.exec_count)
            else:
                nb.status = "failed"
                nb.error = {
                    "cell_index": exc.cell_index,
                    "execution_count": exc.exec_count,
                    "ename": exc.ename,
                    "evalue": exc.evalue,
                    "message": (
                        f"notebook {nb.name} failed at In [{exc.exec_count}] (cell "
                        f"{exc.cell_index + 1} of the executed notebook): {exc.ename}: "
                        f"{_first_line(exc.evalue)}"
                    ),
                }
        except Exception as exc:  # kernel died, timed out, could not start, ...
            nb.status = "failed"
            nb.error = {
                "cell_index": None,
                "execution_count": None,
                "ename": type(exc).__name__,
                "evalue": str(exc),
                "message": (
                    f"notebook {nb.name} failed: {type(exc).__name__}: {_first_line(str(exc))}"
                ),
            }
            log = _last_line(kdir / "kernel.log")
            if log:
                nb.error["kernel_log"] = log
                nb.error["message"] += f" (kernel: {log})"
        else:
            nb.status = "ok"
        finally:
            stop.detach()
    nb.wall_time_s = round(time.perf_counter() - t0, 3)
    if interrupted is not None:
        nb.status = "interrupted"
        name = signal_name(getattr(interrupted, "signum", 2))
        where = ""
        if cell[0] is not None:
            where = f" at In [{cell[1]}] (cell {cell[0] + 1})"
        elif before is not None:
            where = f" before cell {before + 1}"
        nb.error = {
            "cell_index": cell[0] if cell[0] is not None else before,
            "execution_count": cell[1],
            "ename": "Interrupted",
            "evalue": name,
            "message": f"notebook {nb.name} interrupted by {name}{where}",
        }
    if nb.output.is_file():
        try:
            nb.headlines = read_headlines(nbformat.read(nb.output, as_version=4))
        except Exception:  # a notebook cut short may be unreadable: its headlines are lost
            if interrupted is None:
                raise
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
    return [
        ("Scenario", str(p["scenario"])),
        ("Subscribers", f"{n:,}" if isinstance(n, int) else "scenario default"),
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
        Print one line per notebook and papermill's cell progress bar to stderr.

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
    from workbench import __version__
    from workbench.paths import reports_dir

    config = config or ReportConfig()
    kernel = kernel or "python3"
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
    ipc = _check_kernel(kernel)
    out_root = Path(out) if out is not None else reports_dir()
    if out_root.exists() and not out_root.is_dir():
        raise WorkbenchError(f"{out_root}: is a file; reports go into a folder")
    if world is not None:
        from workbench._io import check_not_input

        check_not_input(out_root, {"world": world})

    generated: bool | None = None
    if world is not None:
        world_dir = Path(world).resolve()
        if not world_dir.is_dir():
            raise WorkbenchError(f"{world_dir}: no such world folder")
    else:
        world_dir, generated = cached_world(config, generate, progress)
        world_dir = world_dir.resolve()
    meta = _read_meta(world_dir)
    n_subscribers = config.n_subscribers or meta.get("n_subscribers")
    scenario = config.scenario
    if generated is None:  # a given world: its own scenario name, when it tells one
        named = meta.get("scenario")
        named = named.get("name") if isinstance(named, Mapping) else named
        scenario = named if isinstance(named, str) and named else scenario
    run_wide = {
        "world": str(world_dir),
        "scenario": scenario,
        "n_subscribers": n_subscribers,
        "seed": config.seed,
    }
    parameters = {
        **config.to_dict(),
        "scenario": scenario,
        "n_subscribers": n_subscribers,
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
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "run_id": run_dir.name,
        "status": "running",
        "reason": None,
        "created_utc": _now(),
        "finished_utc": None,
        "parameters": parameters,
        "seed": config.seed,
        "world": {
            "path": str(world_dir),
            "generated": generated,
            "meta": meta,
            **world_hashes(world_dir),
        },
        "notebooks": [],
        "headlines": {},
        "html": None,
        "workbench_version": __version__,
        "git": git_revision(),
        "environment": environment(),
    }

    def save(status: str, reason: str | None = None) -> None:
        manifest["status"] = status
        manifest["reason"] = reason
        manifest["notebooks"] = [r.to_dict() for r in runs]
        manifest["headlines"] = {r.name: r.headlines for r in runs if r.headlines}
        write_manifest(manifest, run_dir / "manifest.json")

    reason: str | None = None
    stop = _KernelStop()
    try:
        with signals_raise(on_signal=stop.request):
            save("running")
            for i, r in enumerate(runs, start=1):
                if progress:
                    print(f"[{i}/{len(runs)}] {r.name}: {r.title}", file=sys.stderr, flush=True)
                r.status = "running"
                save("running")
                _execute(r, kernel, progress, cwd=r.source.parent, stop=stop, ipc=ipc)
                if r.status != "ok":
                    assert r.error is not None
                    reason = f"{r.error['message']}; see {r.output}"
                    for rest in runs[i:]:
                        rest.status = "skipped"
                    break
                save("running")
    except KeyboardInterrupt as exc:
        with deferred():  # the record of the interruption is written whatever comes next
            for r in runs:
                if r.status == "running":  # stopped before papermill started it
                    r.status = "interrupted"
            manifest["finished_utc"] = _now()
            name = signal_name(getattr(exc, "signum", 2))
            save("interrupted", f"interrupted by {name}")
        exc.add_note(f"the partial run is in {run_dir}")
        raise
    manifest["finished_utc"] = _now()
    if reason is None:
        _write_html(runs, manifest, run_dir)
        manifest["html"] = "report.html"
        save("ok")
        return RunResult(run_dir, "ok", runs, manifest)
    save("failed", reason)
    return RunResult(run_dir, "failed", runs, manifest, reason)


def _write_html(runs: Sequence[NotebookRun], manifest: Mapping[str, Any], run_dir: Path) -> Path:
    import nbformat

    from workbench._io import atomic_file
    from workbench.reports.html import Section, render_html

    sections = [
        Section(r.name, r.title, nbformat.read(r.output, as_version=4), r.headlines) for r in runs
    ]
    page = render_html(sections, _facts(manifest), title="Micro-segmentation report")
    path = run_dir / "report.html"
    with atomic_file(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
