"""The ``workbench`` console script: one verb per capability (see :mod:`workbench.commands`).

Errors a user can cause print one line on stderr and exit with status 2: bad arguments (every
number is range-checked when parsed, see :mod:`workbench.commands._args`) and
:class:`~workbench.errors.WorkbenchError` from the work itself. SIGINT (Ctrl-C) and SIGTERM stop
the work cleanly (temporary outputs removed, worker processes stopped, a report's manifest says
``interrupted``) and exit with 130 and 143.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

import workbench.commands
from workbench import __version__
from workbench._signals import exit_status, raise_if_received, signal_name, signals_raise
from workbench.errors import WorkbenchError


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), status 2."""

    def error(self, message: str) -> NoReturn:
        msg = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {msg} (see {self.prog} --help)\n")


def _verbs() -> list[tuple[str, ModuleType]]:
    mods = []
    for info in pkgutil.iter_modules(workbench.commands.__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"workbench.commands.{info.name}")
        if hasattr(mod, "run") and hasattr(mod, "configure"):
            name = getattr(mod, "VERB", info.name.replace("_", "-"))
            mods.append((getattr(mod, "ORDER", 99), name, mod))
    return [(name, mod) for _, name, mod in sorted(mods, key=lambda t: (t[0], t[1]))]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the console script, with one sub-command per verb."""
    parser = _Parser(
        prog="workbench",
        description="Micro-segmentation workbench for email marketing.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, mod in _verbs():
        p = sub.add_parser(
            name, help=mod.HELP, description=mod.__doc__, epilog=getattr(mod, "OUTPUTS", None)
        )
        mod.configure(p)
        p.set_defaults(_run=mod.run, _parser=p)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join([str(exc), *getattr(exc, "__notes__", [])])
    return " ".join(text.split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 2 bad input, 128 + signal)."""
    try:
        args, extra = build_parser().parse_known_args(argv)
        if extra:  # blamed on the verb, whose --help lists its options
            args._parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # --help, --version, or a bad argument (already reported)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        with signals_raise():
            status = int(args._run(args) or 0)
            # a signal someone caught (a sampler stopping early) still ends the command
            raise_if_received()
            return status
    except WorkbenchError as exc:
        # the verb's own name: "workbench segment", "workbench class make"
        print(f"{args._parser.prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # SIGINT or SIGTERM (workbench._signals.Interrupted)
        status = exit_status(exc)
        notes = " ".join(getattr(exc, "__notes__", []))
        msg = f"{args._parser.prog}: interrupted by {signal_name(status - 128)}"
        print(" ".join(f"{msg}; {notes}".split()) if notes else msg, file=sys.stderr)
        return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
