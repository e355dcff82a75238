"""Exercises inside the notebooks: finding them, and cutting handouts and solutions out of them.

An exercise is three kinds of cells, in this order, in the notebook itself:

- a question: a Markdown cell tagged ``exercise-question``, whose metadata
  ``workbench.exercise`` says its id, points, kind (``number``, ``text`` or ``open``), tolerance
  (numbers) and whether its right answer depends on the student's world;
- a student cell, tagged ``exercise-student``: a start for the student ending in
  ``answer("q1", ...)``;
- a solution, tagged ``exercise-solution``: code that computes the answer from the student's own
  world and records it (or, for an open question, Markdown notes for the instructor). In the
  notebooks themselves the solution's source is collapsed, so it is not read by accident.

All three are also tagged ``remove-cell``: the stakeholders' report leaves exercises out. A
handout keeps the questions and student cells; a solution keeps the questions and solutions.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from workbench.errors import WorkbenchError

QUESTION, STUDENT, SOLUTION = "exercise-question", "exercise-student", "exercise-solution"
"""The tags of an exercise's three kinds of cells."""

KINDS = ("number", "text", "open")
"""Kinds of question: graded numbers (within a tolerance), graded texts (exact, case ignored),
and open questions the instructor reads (never graded automatically)."""


@dataclass(frozen=True)
class Question:
    """One exercise of a notebook.

    Attributes
    ----------
    id : str
        Unique within its notebook (``"q1"``).
    points : float
        What a right answer earns (0 for open questions).
    kind : str
        One of :data:`KINDS`.
    tolerance : float
        Largest distance from the key still counted right (numbers).
    world_specific : bool
        Whether the right answer depends on the student's world: answers computed in another
        student's world earn nothing.
    title : str
        The question's first line.
    """

    id: str
    points: float
    kind: str
    tolerance: float
    world_specific: bool
    title: str

    @property
    def graded(self) -> bool:
        """Whether the grader scores it (numbers and texts)."""
        return self.kind != "open"


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def role(cell: Mapping[str, Any]) -> str | None:
    """The cell's part in an exercise (one of the three tags), or ``None``."""
    found = [t for t in _tags(cell) if t in (QUESTION, STUDENT, SOLUTION)]
    return found[0] if found else None


def questions(nb: Mapping[str, Any], name: str = "notebook") -> list[Question]:
    """The exercises of a notebook, in order, each checked.

    Raises
    ------
    WorkbenchError
        A question without its metadata, a repeated id, an unknown kind, or a graded question
        whose student cell or solution does not record ``answer("<id>", ...)``.
    """
    out: list[Question] = []
    cells = list(nb.get("cells", []))
    for i, cell in enumerate(cells):
        if role(cell) != QUESTION:
            continue
        spec = cell.get("metadata", {}).get("workbench", {}).get("exercise")
        if not isinstance(spec, Mapping) or "id" not in spec:
            raise WorkbenchError(f"{name}: question cell {i + 1} has no workbench.exercise.id")
        kind = str(spec.get("kind", "number"))
        if kind not in KINDS:
            raise WorkbenchError(f"{name}: question {spec['id']} has unknown kind {kind!r}")
        title = "".join(cell.get("source", "")).strip().splitlines()[0].strip("# *")
        q = Question(
            id=str(spec["id"]),
            points=float(spec.get("points", 1 if kind != "open" else 0)),
            kind=kind,
            tolerance=float(spec.get("tolerance", 0.0)),
            world_specific=bool(spec.get("world_specific", kind != "open")),
            title=title,
        )
        if any(p.id == q.id for p in out):
            raise WorkbenchError(f"{name}: question id {q.id} is used twice")
        following = [role(c) for c in cells[i + 1 : i + 3]]
        if following != [STUDENT, SOLUTION]:
            raise WorkbenchError(
                f"{name}: question {q.id} must be followed by its student cell and its solution"
            )
        if q.graded:
            call = re.compile(rf"answer\(\s*[\"']{re.escape(q.id)}[\"']")
            for offset, what in ((1, "student cell"), (2, "solution")):
                if not call.search("".join(cells[i + offset].get("source", ""))):
                    raise WorkbenchError(
                        f"{name}: the {what} of question {q.id} does not call answer({q.id!r}, ...)"
                    )
        out.append(q)
    return out


_PARAM = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?P<ann>\s*:\s*[^=]+?)?\s*=\s*(?P<value>.*?)"
                    r"(?P<comment>\s+#.*)?$")  # fmt: skip


def set_parameters(nb: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``nb`` whose ``parameters`` cell gives ``values`` (each already declared there).

    The lines are rewritten in place, comments kept, so a student sees one parameters cell with
    their own values (papermill would add a second cell instead).

    Raises
    ------
    WorkbenchError
        No ``parameters`` cell, or a value for a parameter the cell does not declare.
    """
    out = copy.deepcopy(dict(nb))
    cells = [c for c in out["cells"] if "parameters" in _tags(c)]
    if not cells:
        raise WorkbenchError("the notebook has no cell tagged 'parameters'")
    cell = cells[0]
    lines = "".join(cell["source"]).splitlines()
    left = dict(values)
    for j, line in enumerate(lines):
        m = _PARAM.match(line)
        if m and m["name"] in left:
            literal = json.dumps(left.pop(m["name"]), ensure_ascii=False)
            lines[j] = f"{m['name']}{m['ann'] or ''} = {literal}{m['comment'] or ''}"
    if left:
        raise WorkbenchError(f"the parameters cell does not declare {', '.join(sorted(left))}")
    cell["source"] = "\n".join(lines)
    _check_values(cell["source"], values)
    return out


def _check_values(source: str, values: Mapping[str, Any]) -> None:
    """Check that ``source`` now assigns each of ``values`` (a value written over several lines
    would have been cut)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise WorkbenchError(f"the parameters cell no longer parses ({exc.msg}): keep each "
                             "parameter on one line") from None  # fmt: skip
    got = {}
    for node in tree.body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and getattr(node, "value", None) is not None:
            with contextlib.suppress(ValueError, SyntaxError):
                got[target.id] = ast.literal_eval(node.value)
    wrong = [k for k, v in values.items() if got.get(k, object()) != v]
    if wrong:
        raise WorkbenchError(f"parameter {wrong[0]} could not be set: keep it on one line")


def _clean(cell: dict[str, Any]) -> dict[str, Any]:
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return cell


def handout(nb: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The student's notebook: parameters set to ``values``, solutions removed, no outputs."""
    out = set_parameters(nb, values)
    out["cells"] = [_clean(c) for c in out["cells"] if role(c) != SOLUTION]
    return out


def solution(nb: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The instructor's notebook: parameters set to ``values``, student cells replaced by the
    solutions (shown, not collapsed), no outputs."""
    out = set_parameters(nb, values)
    cells = []
    for c in out["cells"]:
        if role(c) == STUDENT:
            continue
        if role(c) == SOLUTION:
            c.get("metadata", {}).pop("jupyter", None)  # un-collapse
        cells.append(_clean(c))
    out["cells"] = cells
    return out
