"""SIGINT and SIGTERM as exceptions, so that an interrupted command cleans up after itself.

Python turns SIGINT into :class:`KeyboardInterrupt`, but SIGTERM (what ``kill``, process managers
and CI runners send) ends the process at once: temporary outputs stay behind and worker processes
run on. Inside :func:`signals_raise` both raise :class:`Interrupted`, a ``KeyboardInterrupt``
that remembers the signal, so ``finally`` blocks run and the command line exits with
``128 + signal number`` (130 for SIGINT, 143 for SIGTERM).

A signal that arrives while an output is being published or a temporary one removed waits until
that step is over (:func:`deferred`), and no output is published once a signal has been received
(:func:`raise_if_received`): code that catches ``KeyboardInterrupt`` to stop early (a sampler
returning the draws it has) can never turn an interruption into a result.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)
"""The signals handled: an interactive Ctrl-C and a polite request to stop."""

_received: int | None = None


class Interrupted(KeyboardInterrupt):
    """The work was stopped by a signal.

    Parameters
    ----------
    signum : int
        The signal received (``signal.SIGINT`` or ``signal.SIGTERM``).
    """

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(signal_name(self.signum))


def signal_name(signum: int) -> str:
    """``"SIGTERM"`` for 15 and so on (the number itself for an unknown signal)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


def exit_status(exc: BaseException) -> int:
    """Shell convention for a process stopped by a signal: 128 + its number (SIGINT: 130)."""
    return 128 + getattr(exc, "signum", signal.SIGINT)


def received() -> int | None:
    """The signal received inside the current :func:`signals_raise` block, if any."""
    return _received


def raise_if_received() -> None:
    """Raise :class:`Interrupted` when a signal was received (even if someone caught it)."""
    if _received is not None:
        raise Interrupted(_received)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


_Handler = Callable[[int, FrameType | None], object]


@contextlib.contextmanager
def _handled_by(handler: _Handler) -> Iterator[dict[int, Any]]:
    """Install ``handler`` for :data:`SIGNALS` inside the block; yield the handlers it replaced.

    The previous handlers are put back on exit, before anything the caller does after the block.
    """
    previous = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, handler)
    try:
        yield previous
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


@contextlib.contextmanager
def signals_raise(
    on_signal: Callable[[int], bool] | None = None,
) -> Iterator[None]:
    """Turn SIGINT and SIGTERM into :class:`Interrupted` inside the block.

    Parameters
    ----------
    on_signal : callable, optional
        Called with the signal number first; when it returns True the signal is considered
        handled (it asked the work to stop gracefully) and nothing is raised. A later signal is
        passed to it again, so it decides when to give up being graceful.

    Notes
    -----
    Signal handlers can only be installed from the main thread; elsewhere the block runs
    unchanged. The previous handlers and state are restored on exit.
    """
    global _received
    if not _main_thread():
        yield
        return
    before = _received

    def handler(signum: int, frame: FrameType | None) -> None:
        global _received
        _received = signum
        if on_signal is not None and on_signal(signum):
            return
        raise Interrupted(signum)

    try:
        with _handled_by(handler):
            yield
    finally:
        _received = before


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the block runs (publishing or removing an output).

    A signal that arrives meanwhile is passed to the handler that was in place, as soon as the
    block ends (so it raises then; with the default SIGTERM action the process ends then).
    Outside the main thread the block runs unchanged.

    Notes
    -----
    Blocking the signal in the kernel (``pthread_sigmask``) is not enough: it blocks one
    thread, and the signal goes to another (numpy's and Arrow's threads); the Python-level
    handler, which always runs in the main thread, is what is swapped here.
    """
    if not _main_thread():
        yield
        return
    pending: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    try:
        with _handled_by(hold) as previous:
            yield
    finally:
        if pending:
            _deliver(pending[0], previous[pending[0]])


def _deliver(signum: int, handler: object) -> None:
    """Pass a held signal to ``handler`` as the interpreter would have."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)  # the default action: SIGINT raises, SIGTERM ends
