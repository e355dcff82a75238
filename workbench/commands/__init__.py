"""Verbs of the ``workbench`` command line, one module each.

Each module defines ``HELP`` (one line), ``ORDER`` (position in ``workbench --help``),
``configure(parser)`` to add its options and ``run(args) -> int``. Modules import heavy
libraries inside ``run`` so that ``workbench --help`` stays fast. :mod:`workbench.cli` discovers
them; adding a verb needs no edit elsewhere.
"""
