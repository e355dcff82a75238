"""A world per student: a student's id gives them their own seed, so their own truth.

Neighbours in a lab then get different right answers: copying a number from the next screen
earns nothing. The seed comes from the class seed and the student's id through SHA-256, so it is
the same on every machine and every run, and a new class seed (a new term) gives everyone new
worlds.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from workbench.errors import WorkbenchError
from workbench.teaching.answers import set_world

DEFAULT_CLASS_SEED = 20261126
"""Class seed of ``workbench class make`` unless ``--seed`` says otherwise."""


@dataclass(frozen=True)
class StudentWorld:
    """Which world one student of a class works on.

    Attributes
    ----------
    student_id : str
    scenario : str
        Built-in scenario name or scenario TOML file.
    n_subscribers : int
        Subscribers (0: the scenario's own size).
    class_seed : int
    seed : int
        The generator seed of this student's world (:func:`student_seed`).
    """

    student_id: str
    scenario: str
    n_subscribers: int
    class_seed: int
    seed: int

    def path(self) -> Path:
        """The world's folder, generated the first time (cached in ``datasets/generated/``)."""
        from workbench.synth.cache import cached_world

        return cached_world(self.scenario, self.n_subscribers or None, self.seed)


def check_student_id(student_id: str) -> str:
    """``student_id`` stripped, or a :class:`WorkbenchError` when it cannot name a folder."""
    sid = str(student_id).strip()
    bad = not sid or sid in (".", "..") or any(c in sid for c in '/\\:*?"<>|') or sid != sid.strip()
    if bad or any(ord(c) < 32 for c in sid):
        raise WorkbenchError(
            f"student id {student_id!r} cannot name a folder: use letters, digits, '-', '_' or '.'"
        )
    return sid


def student_seed(student_id: str, class_seed: int = DEFAULT_CLASS_SEED) -> int:
    """The generator seed of a student's world: 31 bits of SHA-256 of class seed and id.

    Examples
    --------
    >>> student_seed("s001") == student_seed("s001")
    True
    >>> student_seed("s001") != student_seed("s002")
    True
    """
    sid = check_student_id(student_id)
    digest = hashlib.sha256(f"workbench-class:{int(class_seed)}:{sid}".encode()).digest()
    return int.from_bytes(digest[:4], "big") >> 1


def student_world(
    student_id: str,
    scenario: str = "tiny",
    n_subscribers: int = 0,
    class_seed: int = DEFAULT_CLASS_SEED,
) -> StudentWorld:
    """The world of ``student_id`` in a class (its folder: :meth:`StudentWorld.path`)."""
    sid = check_student_id(student_id)
    return StudentWorld(sid, str(scenario), int(n_subscribers), int(class_seed),
                        student_seed(sid, class_seed))  # fmt: skip


def use_world(
    world: str,
    student_id: str = "",
    scenario: str = "tiny",
    n_subscribers: int = 0,
    class_seed: int = DEFAULT_CLASS_SEED,
) -> str:
    """The world folder a notebook reads: the student's own when ``student_id`` is set.

    Every notebook calls this first with its parameters. Without a student id it returns
    ``world`` unchanged (a folder, or ``""`` for the notebook's usual default). With one, it
    generates (once) the student's world and returns its folder; the answers recorded after this
    call carry the student's id and seed, so the grader can tell work done in another
    student's world.

    Parameters
    ----------
    world : str
        The notebook's ``world`` parameter (ignored for a student: their world is theirs).
    student_id : str
        The notebook's ``student_id`` parameter, set by ``workbench class make``.
    scenario, n_subscribers, class_seed
        The class's world settings (the notebook's ``class_*`` parameters).

    Returns
    -------
    str
    """
    if not str(student_id).strip():
        set_world(None)
        return world
    sw = student_world(student_id, scenario, n_subscribers, class_seed)
    set_world(asdict(sw))
    return str(sw.path())
