"""The ``workbench`` console script: one verb per capability (see :mod:`workbench.commands`).

Errors a user can cause (:class:`~workbench.errors.WorkbenchError`) print one line on stderr and
exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import workbench.commands
from workbench import __version__
from workbench.errors import WorkbenchError


def _verbs() -> list[tuple[str, ModuleType]]:
    mods = []
    for info in pkgutil.iter_modules(workbench.commands.__path__):
        mod = importlib.import_module(f"workbench.commands.{info.name}")
        if hasattr(mod, "run") and hasattr(mod, "configure"):
            mods.append((getattr(mod, "ORDER", 99), info.name.replace("_", "-"), mod))
    return [(name, mod) for _, name, mod in sorted(mods, key=lambda t: (t[0], t[1]))]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the console script, with one sub-command per verb."""
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Micro-segmentation workbench for email marketing.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for name, mod in _verbs():
        p = sub.add_parser(name, help=mod.HELP, description=mod.__doc__)
        mod.configure(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except WorkbenchError as exc:
        msg = " ".join(str(exc).split())
        print(f"workbench {args.verb}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"workbench {args.verb}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
