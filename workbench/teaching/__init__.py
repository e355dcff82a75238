"""The teaching kit: exercises with answers, a world per student, handouts, keys and grading.

In a notebook: :func:`use_world` (a student's own world from their id) and :func:`answer` (record
an answer for the grader). For the instructor: :func:`make_class` and :func:`grade_class` (also
``workbench class make`` and ``workbench class grade``). ``docs/teaching.md`` is the guide.
"""

from __future__ import annotations

from typing import Any

from workbench.teaching.answers import answer, read_answers
from workbench.teaching.worlds import StudentWorld, student_seed, student_world, use_world

__all__ = [
    "StudentWorld",
    "answer",
    "grade_class",
    "make_class",
    "read_answers",
    "student_seed",
    "student_world",
    "use_world",
]


def __getattr__(name: str) -> Any:  # the classroom (pandas, papermill) loads on first use
    if name in ("make_class", "grade_class"):
        from workbench.teaching import classroom

        return getattr(classroom, name)
    raise AttributeError(f"module 'workbench.teaching' has no attribute {name!r}")
