"""What a notebook tells its report: :func:`record` and :func:`skip` in a notebook,
:func:`read_headlines` and :func:`read_skipped` in the runner.

A headline is one number (or short text) a notebook wants in the report's manifest, e.g. the
uplift of the winning arm. A skipped section is a part of a notebook the data does not allow (no
ground truth to score against, no experiment of a kind), with the reason in one sentence. Both are
displayed as small bundles with their own MIME types, so the executed notebook carries them in its
outputs and the runner reads them back. This module imports nothing heavy: notebooks import it
first thing.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Container, Iterator, Mapping
from typing import Any

from workbench.errors import WorkbenchError

HEADLINE_MIME = "application/vnd.workbench.headline+json"
"""MIME type of the display bundle :func:`record` emits."""

SKIPPED_MIME = "application/vnd.workbench.skipped+json"
"""MIME type of the display bundle :func:`skip` emits."""

Headline = dict[str, Any]  # {"value": float | int | str | bool | None, "caption": str}


def _jsonable(name: str, value: object) -> float | int | str | bool | None:
    """Plain JSON scalar for ``value`` (NumPy scalars unwrapped; NaN and infinities -> None)."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "shape", None) == ():
        value = item()  # NumPy scalar or 0-d array
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        f = float(value)
        return f if math.isfinite(f) else None
    raise WorkbenchError(
        f"record({name!r}, ...): value must be a number or a string, not {type(value).__name__}"
    )


def record(name: str, value: float | int | str, caption: str = "") -> None:
    """Record a headline number of the notebook for the report's manifest.

    Parameters
    ----------
    name : str
        Short identifier, unique within the notebook (``"best_arm_uplift"``). Recording the same
        name twice keeps the last value.
    value : float, int or str
        The number (NumPy scalars are accepted) or a short text. NaN and infinities are stored as
        ``null`` since JSON has no such numbers.
    caption : str, optional
        What the number means, in plain words; shown in the HTML report next to it.

    Notes
    -----
    Inside a Jupyter kernel this displays a bundle of MIME type :data:`HEADLINE_MIME` (plus a
    ``text/plain`` line ``name = value  (caption)``); outside one it prints that line.

    Examples
    --------
    >>> record("n_segments", 6, "segments found by k-means")
    n_segments = 6  (segments found by k-means)
    """
    if not isinstance(name, str) or not name.strip():
        raise WorkbenchError(f"record(): name must be a non-empty string, got {name!r}")
    v = _jsonable(name, value)
    shown = f"{v:.4g}" if isinstance(v, float) else v  # the bundle keeps every digit
    text = f"{name} = {shown}" + (f"  ({caption})" if caption else "")
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        print(text)
        return
    from IPython.display import display

    bundle = {HEADLINE_MIME: {"name": name, "value": v, "caption": str(caption)}}
    display({**bundle, "text/plain": text}, raw=True)


def read_headlines(nb: Mapping[str, Any]) -> dict[str, Headline]:
    """Headlines recorded in an executed notebook, in the order they were first recorded.

    Parameters
    ----------
    nb : notebook (nbformat node or dict)
        An executed notebook.

    Returns
    -------
    dict
        ``{name: {"value": ..., "caption": ...}}``; a name recorded twice keeps its last value.
    """
    out: dict[str, Headline] = {}
    for payload in _bundles(nb, HEADLINE_MIME, "name"):
        out[str(payload["name"])] = {
            "value": payload.get("value"),
            "caption": str(payload.get("caption", "")),
        }
    return out


def _bundles(nb: Mapping[str, Any], mime: str, key: str) -> Iterator[Mapping[str, Any]]:
    """The payloads of MIME type ``mime`` (with ``key``) an executed notebook displayed."""
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            payload = output.get("data", {}).get(mime)
            if isinstance(payload, Mapping) and key in payload:
                yield payload


def skip(section: str, reason: str) -> None:
    """Say that a section of the notebook does not apply to this data, and why.

    Call it from the section's code cell instead of the analysis. The executed notebook shows the
    sentence "*section*: not shown: *reason*"; the report lists the section under its notebook
    (manifest ``skipped``, and the notebook's part of ``report.html``) and leaves the section's
    cell and the prose right before it out of the page, so that a report on real data has no
    empty "against the truth" sections.

    Parameters
    ----------
    section : str
        The section's title, as in its heading (``"Agreement with the true personas"``).
    reason : str
        Why, in one plain sentence (``"this world has no ground truth (real data)"``).

    Examples
    --------
    >>> skip("The lifecycle", "this world has no ground truth")
    The lifecycle: not shown: this world has no ground truth.
    """
    for what, text in (("section", section), ("reason", reason)):
        if not isinstance(text, str) or not text.strip():
            raise WorkbenchError(f"skip(): {what} must be a non-empty string, got {text!r}")
    sentence = f"{section.strip()}: not shown: {reason.strip().rstrip('.')}."
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        print(sentence)
        return
    from IPython.display import display

    bundle = {SKIPPED_MIME: {"section": section.strip(), "reason": reason.strip()}}
    display({**bundle, "text/markdown": f"_{sentence}_", "text/plain": sentence}, raw=True)


def read_skipped(nb: Mapping[str, Any]) -> list[dict[str, str]]:
    """Sections an executed notebook skipped (:func:`skip`), in order: ``{section, reason}``."""
    return [
        {"section": str(p["section"]), "reason": str(p.get("reason", ""))}
        for p in _bundles(nb, SKIPPED_MIME, "section")
    ]


def needs(world: Container[str], *tables: str, section: str) -> bool:
    """Whether ``world`` has every one of ``tables``; if not, :func:`skip` ``section``, saying
    which tables are missing.

    Notebooks guard each section that reads a table real data may lack::

        if needs(w, "orders", section="What they buy"):
            ...

    Parameters
    ----------
    world : World or container of str
        A loaded world (``name in world`` tells whether it has a table).
    *tables : str
        The tables the section reads.
    section : str
        The section's title, as in its heading.
    """
    missing = [t for t in tables if t not in world]
    if missing:
        skip(section, missing_tables(missing))
    return not missing


def missing_tables(missing: list[str]) -> str:
    """The reason a section or notebook is skipped when the world lacks ``missing`` tables."""
    which = " or ".join(f"'{t}'" for t in missing)
    return f"this world has no {which} table"


TAKEAWAY_MIME = "application/vnd.workbench.takeaway+json"
"""MIME type of the display bundle :func:`takeaway` emits."""

RUN_DIR_ENV = "WORKBENCH_RUN_DIR"
"""Set by the report runner in its kernels: the run folder take-away files go to."""

_TAKEAWAY_NAME = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")


def takeaway(frame: Any, name: str, caption: str) -> None:
    """Write a table a stakeholder can forward into the report's run folder (``NAME.csv``).

    In a report run (the runner sets :data:`RUN_DIR_ENV` in its kernels) the table is written
    as ``<run folder>/<name>`` (complete or not at all) and listed in the manifest and at the top
    of ``report.html``; a notebook run on its own writes nothing and says so.

    Parameters
    ----------
    frame : DataFrame
        The table (its index is written when it is named).
    name : str
        File name, lowercase, ending in ``.csv`` (``"segments.csv"``).
    caption : str
        What the file holds, in plain words.
    """
    import os
    from pathlib import Path

    if not name.endswith(".csv") or not set(name) <= _TAKEAWAY_NAME or name.startswith("."):
        raise WorkbenchError(f"takeaway(): name must be lowercase and end in .csv, got {name!r}")
    run_dir = os.environ.get(RUN_DIR_ENV)
    if not run_dir:
        print(f"({name}: written to the run folder when this notebook runs in a report)")
        return
    from workbench._io import atomic_file

    index = any(n is not None for n in getattr(frame.index, "names", [None]))
    with atomic_file(Path(run_dir) / name) as tmp:
        frame.to_csv(tmp, index=index)
    from IPython.core.interactiveshell import InteractiveShell

    payload = {"name": name, "caption": str(caption), "rows": int(len(frame))}
    if not InteractiveShell.initialized():
        return
    from IPython.display import display

    text = f"{name}: {caption} ({len(frame):,} rows)"
    display({TAKEAWAY_MIME: payload, "text/plain": text}, raw=True)


def read_takeaways(nb: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Take-away files an executed notebook wrote (:func:`takeaway`): ``{name, caption, rows}``."""
    return [dict(p) for p in _bundles(nb, TAKEAWAY_MIME, "name")]
