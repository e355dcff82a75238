"""The kernel side of a report run: a kernel's environment and folder, and stopping it cleanly.

:class:`KernelStop` turns SIGINT/SIGTERM into Jupyter's stop button for the notebook that runs;
:func:`engine` names the papermill engine that honours it (registered on first use, so papermill
is imported only when a report runs).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench._signals import Interrupted
from workbench.errors import WorkbenchError

INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
"""The matplotlib backend a kernel needs to put figures into the executed notebook."""


class KernelStop:
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

    Parameters
    ----------
    interval : float, default 1.0
        Seconds between repeated kernel interrupts.
    patience : float, default 5.0
        Seconds after which an unanswered stop is escalated to this process.
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
        """The notebook has ended: no kernel to interrupt any more."""
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

    def kill(self, signum: int) -> None:
        """Stop at once: no further cell starts, and the kernel's process group is killed.

        For a notebook that runs beside others when the run must stop without waiting for its
        cell (a second signal, or an interrupt the kernel did not take): its client then
        finds the kernel dead within a second and saves what ran.
        """
        if self.signum is None:
            self.signum = signum
        self.settled = True
        try:
            if self.pgid and hasattr(os, "killpg"):
                os.killpg(self.pgid, signal.SIGKILL)
            elif self.pid:
                os.kill(self.pid, signal.SIGKILL)
        except OSError:  # already gone
            pass

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


def engine() -> str:
    """Register (once) and name the papermill engine that lets a run be interrupted cleanly."""
    from workbench.reports._engine import register

    return register()


@contextlib.contextmanager
def kernel_env(run_dir: str | os.PathLike[str] | None = None) -> Iterator[None]:
    """The environment kernels start in: inline figures, and the run folder.

    ipykernel only installs its inline backend when ``MPLBACKEND`` is unset; kernels inherit
    our environment, so a headless ``MPLBACKEND`` would leave the report without figures.
    ``run_dir`` is passed as ``WORKBENCH_RUN_DIR`` (where :func:`workbench.reports.takeaway`
    writes).
    """
    from workbench.reports._record import RUN_DIR_ENV

    wanted = {"MPLBACKEND": INLINE_BACKEND}
    if run_dir is not None:
        wanted[RUN_DIR_ENV] = str(run_dir)
    old = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def check_kernel(kernel: str) -> bool:
    """Check that ``kernel`` is installed; True when it is an IPython kernel (ipykernel).

    Raises
    ------
    WorkbenchError
        When no kernel of that name is installed.
    """
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
def kernel_dir() -> Iterator[Path]:
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
