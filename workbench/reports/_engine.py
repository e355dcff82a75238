"""papermill's nbclient engine with a client that honours a :class:`~._kernel.KernelStop`.

Imports papermill at the top: :func:`workbench.reports._kernel.engine` loads this module only
when a report runs.
"""

from __future__ import annotations

import functools
import math
import os
import time
from pathlib import Path
from typing import Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger
from papermill.utils import merge_kwargs, remove_args

from workbench.reports._kernel import KernelStop

NAME = "workbench"
"""The engine's name in papermill's registry."""

SHUTDOWN_WAIT_S = 1.0
"""Seconds a kernel gets to exit after its last cell and the shutdown request: SIGTERM after half,
SIGKILL at the end (jupyter_client's default is 5 s). Every output has been received by then;
what remains is the interpreter's teardown, which took 1.7-2.4 s after notebook 03's compiled
models (0.6 s for the other notebooks)."""


class Client(PapermillNotebookClient):
    """papermill's client, with the kernel's stderr in ``kernel_dir`` and a stop before a cell.

    Parameters
    ----------
    nb_man : papermill NotebookExecutionManager
        The notebook being executed.
    stop : KernelStop
        Told about the kernel once it runs, asked before each cell, told when a cell ends.
    kernel_dir : Path or None
        Folder of the kernel's log (``kernel.log``); ``None``: the kernel's stderr is ours.
    deadline : float or None
        ``time.monotonic()`` by which the whole notebook must end: each cell gets what remains as
        its timeout (nbclient then raises ``CellTimeoutError`` and the executed notebook keeps
        what ran). ``None``: the per-cell ``timeout`` alone.
    **kw
        As for :class:`papermill.clientwrap.PapermillNotebookClient`.
    """

    def __init__(
        self,
        nb_man: Any,
        *,
        stop: KernelStop,
        kernel_dir: Path | None,
        deadline: float | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(nb_man, **kw)
        self._stop = stop
        self._kernel_dir = kernel_dir
        self._deadline = deadline

    def start_new_kernel(self, **kwargs: Any) -> None:
        """Start the kernel (its stderr into ``kernel.log``) and attach it to the stop."""
        if self._kernel_dir is None:
            super().start_new_kernel(**kwargs)
        else:
            with open(self._kernel_dir / "kernel.log", "ab") as log:
                super().start_new_kernel(stderr=log, **kwargs)
        self._stop.attach(self.km)

    def execute_cell(self, cell: Any, cell_index: int, *args: Any, **kwargs: Any) -> Any:
        """Execute one cell, unless a stop was requested before it."""
        self._stop.check(cell_index)
        if self._deadline is not None:
            self.timeout = max(1, math.ceil(self._deadline - time.monotonic()))
        try:
            return super().execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            self._stop.cell_done()


class Engine(NBClientEngine):
    """papermill's nbclient engine with a client that honours a :class:`KernelStop`."""

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
        stop: KernelStop,
        kernel_dir: Path | None = None,
        ipc: bool = False,
        kernel_cwd: str | None = None,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """As ``NBClientEngine.execute_managed_notebook``, with our client (over IPC if asked).

        ``kernel_cwd`` is the kernel's working folder, given to the kernel alone (papermill's
        own ``cwd`` changes the whole process's folder while the notebook runs, which two
        notebooks running side by side cannot share). ``deadline`` bounds the whole notebook
        (see :class:`Client`).
        """
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
        if kernel_cwd is not None:
            final_kwargs["resources"] = {"metadata": {"path": kernel_cwd}}
        from traitlets.config import Config

        manager: dict[str, Any] = {"shutdown_wait_time": SHUTDOWN_WAIT_S}
        if ipc and kernel_dir is not None and os.name == "posix":
            manager |= {"transport": "ipc", "ip": str(kernel_dir / "kernel")}
        final_kwargs["config"] = Config({"KernelManager": manager})
        client = Client(nb_man, stop=stop, kernel_dir=kernel_dir, deadline=deadline, **final_kwargs)
        return client.execute()


@functools.cache
def register() -> str:
    """Register the engine with papermill (once) and return its name."""
    papermill_engines.register(NAME, Engine)
    return NAME
