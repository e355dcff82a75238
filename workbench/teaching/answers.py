"""Answers a student records in a notebook, and the grader reading them back.

:func:`answer` displays a small bundle of its own MIME type (as :func:`workbench.reports.record`
does for headline numbers), so the executed notebook carries every recorded answer in its outputs
and :func:`read_answers` finds them again; nothing is written anywhere else. This module imports
nothing heavy: a handout imports it first thing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workbench.errors import WorkbenchError

ANSWER_MIME = "application/vnd.workbench.answer+json"
"""MIME type of the display bundle :func:`answer` emits."""

Value = float | int | str | None

_world: dict[str, Any] = {}  # the class world this kernel uses (set by worlds.use_world)


def set_world(info: Mapping[str, Any] | None) -> None:
    """Remember which student's world this kernel reads (``None``: not a class world).

    Called by :func:`workbench.teaching.use_world`; every later :func:`answer` carries it, so the
    grader can tell answers computed in another student's world.
    """
    _world.clear()
    _world.update(info or {})


def _plain(question: str, value: object) -> Value:
    """A JSON scalar for ``value`` (as a headline's, :func:`workbench.reports._record._jsonable`);
    ``...``, ``None``, NaN and empty text are no answer, a yes/no answer is the text true/false."""
    from workbench.reports._record import _jsonable

    if value is Ellipsis:
        return None
    if isinstance(value, str):
        return value.strip() or None
    try:
        v = _jsonable(question, value)
    except WorkbenchError:
        raise WorkbenchError(
            f"answer({question!r}, ...): the answer must be a number or a short text, not "
            f"{type(value).__name__} (pick one value out of it, e.g. with .loc[...] or .iloc[0])"
        ) from None
    return str(v).lower() if isinstance(v, bool) else v


def answer(question: str, value: object) -> None:
    """Record the answer to an exercise, so that it can be graded.

    Parameters
    ----------
    question : str
        The exercise's id, as its cell says (``"q1"``).
    value : number or str
        The answer: a number (NumPy scalars are fine) or a short text. ``...`` (the placeholder
        of a handout), ``None`` and NaN record "no answer yet". Answering the same question
        twice keeps the last answer.

    Notes
    -----
    Inside a Jupyter kernel this displays a bundle of MIME type :data:`ANSWER_MIME` and one line
    for the student; outside one it prints the line.

    Examples
    --------
    >>> answer("q1", 0.4213)
    Answer to q1 recorded: 0.4213
    """
    if not isinstance(question, str) or not question.strip():
        raise WorkbenchError(f"answer(): the question must be its id, e.g. 'q1', not {question!r}")
    v = _plain(question, value)
    shown = f"{v:.6g}" if isinstance(v, float) else v
    text = (
        f"Answer to {question} recorded: {shown}"
        if v is not None
        else f"No answer to {question} yet: replace ... with your answer"
    )
    from IPython.core.interactiveshell import InteractiveShell

    if not InteractiveShell.initialized():
        print(text)
        return
    from IPython.display import display

    payload = {"question": question, "value": v, "world": dict(_world) or None}
    display({ANSWER_MIME: payload, "text/plain": text}, raw=True)


def read_answers(nb: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The answers recorded in an executed notebook.

    Parameters
    ----------
    nb : notebook (nbformat node or dict)

    Returns
    -------
    dict
        ``{question: {"value": ..., "world": {...} or None}}``; a question answered twice keeps
        its last answer.
    """
    out: dict[str, dict[str, Any]] = {}
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") not in ("display_data", "execute_result"):
                continue
            payload = output.get("data", {}).get(ANSWER_MIME)
            if isinstance(payload, Mapping) and "question" in payload:
                out[str(payload["question"])] = {
                    "value": payload.get("value"),
                    "world": payload.get("world"),
                }
    return out
