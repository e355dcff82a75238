"""A class: handouts, solutions and a key per student (:func:`make_class`), and grading
(:func:`grade_class`).

The key is never typed in: :func:`make_class` executes each student's solution notebooks on that
student's world and keeps what the solutions recorded with :func:`~workbench.teaching.answer`.
:func:`grade_class` executes each returned notebook as it was handed in (its own parameters, so
its own world), in a clean kernel with a time limit for the whole notebook, reads the answers it
recorded before it ended, stopped with an error or ran out of time, and scores them against the
student's key with :func:`score`.

Layout of a class folder::

    CLASS/class.json                  settings: scenario, size, class seed, notebooks, version
    CLASS/roster.csv                  the roster (student_id, name)
    CLASS/answers.csv                 the key: student_id, notebook, question, kind, correct,
                                      tolerance, points, world_specific
    CLASS/handouts/<student_id>/      the notebooks to hand out (no solutions, no outputs)
    CLASS/solutions/<student_id>/     the same notebooks with the solutions
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from workbench.errors import DataError, WorkbenchError
from workbench.teaching.answers import read_answers
from workbench.teaching.exercises import Question, handout, questions, solution
from workbench.teaching.worlds import DEFAULT_CLASS_SEED, check_student_id, student_world

CLASS_FILE = "class.json"
"""The file that marks a folder as a class made by :func:`make_class`."""

KEY_COLUMNS = (
    "student_id", "notebook", "question", "kind", "correct", "tolerance", "points",
    "world_specific",
)  # fmt: skip
"""Columns of ``answers.csv``."""

GRADE_COLUMNS = ("student_id", "notebook", "question", "points", "max_points", "feedback")
"""Columns of the grades table."""

DEFAULT_TIMEOUT_S = 600.0
"""Seconds a notebook may run when grading or making the key (notebook 02 takes about a minute
on a 2-core machine; the margin covers a loaded machine and PyMC's first compilation)."""

CLASS_PARAMETERS = ("student_id", "class_scenario", "class_size", "class_seed")
"""Parameters every notebook handed out declares: who the student is and the class's worlds."""

Progress = Callable[[str], None]


def _say(progress: bool) -> Progress:
    def say(line: str) -> None:
        if progress:
            print(line, file=sys.stderr, flush=True)

    return say


# ----------------------------------------------------------------------------------- roster


def read_roster(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a roster CSV: a ``student_id`` column (required) and ``name`` (optional).

    Returns
    -------
    DataFrame
        ``student_id`` and ``name`` (empty when not given), as text, in file order.

    Raises
    ------
    DataError
        No ``student_id`` column, no students, or ids that are empty, repeated or cannot name a
        folder (the first offending lines are named).
    """
    from workbench._read import read_csv, row_labels

    roster = read_csv(path, text=True)
    source = str(path)
    cols = {c.strip().lower(): c for c in roster.columns}
    if "student_id" not in cols:
        have = ", ".join(map(str, roster.columns))
        raise DataError(source, "student_id", f"missing column (the roster has: {have})")
    ids = roster[cols["student_id"]].fillna("").astype(str).str.strip()
    names = roster[cols["name"]].fillna("").astype(str) if "name" in cols else ""
    if ids.empty:
        raise DataError(source, "student_id", "no students (the roster has a header only)")
    rows = list(range(len(ids)))
    bad = []
    for i in rows:
        try:
            check_student_id(ids.iloc[i])
        except WorkbenchError:
            bad.append(i)
    if bad:
        raise DataError(
            source, "student_id", "empty ids or ids that cannot name a folder "
            "(use letters, digits, '-', '_' or '.')", len(bad), row_labels(roster, bad),
        )  # fmt: skip
    dup = [i for i in rows if ids.duplicated(keep="first").iloc[i]]
    if dup:
        where = row_labels(roster, dup)
        labels = [f"{lab}: {ids.iloc[i]}" for lab, i in zip(where, dup, strict=True)]
        raise DataError(source, "student_id", "repeated ids", len(dup), labels)
    return pd.DataFrame({"student_id": ids.to_numpy(), "name": names}).reset_index(drop=True)


# -------------------------------------------------------------------------------- notebooks


@dataclass(frozen=True)
class ClassNotebook:
    """A notebook of the class: its name, file, exercises and report defaults."""

    name: str
    path: Path
    questions: tuple[Question, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)

    def read(self) -> dict[str, Any]:
        """The notebook, as a plain dict."""
        return json.loads(self.path.read_text(encoding="utf-8"))


def class_notebooks(
    only: Sequence[str] | None = None, registry: str | os.PathLike[str] | None = None
) -> list[ClassNotebook]:
    """The registered notebooks to hand out (``only``: names or number prefixes, e.g. ``01``).

    Raises
    ------
    WorkbenchError
        An unknown or ambiguous name, or a notebook without exercises or without the class
        parameters (:data:`CLASS_PARAMETERS`).
    """
    from workbench.reports import load_registry, notebook_parameters

    entries = load_registry(registry)
    chosen = list(entries)
    if only:
        chosen = []
        for want in only:
            w = Path(want.strip()).stem if want.strip().endswith(".ipynb") else want.strip()
            hits = [e for e in entries if e.name == w or e.name.split("-")[0] == w]
            if len(hits) != 1:
                names = ", ".join(e.name for e in entries)
                what = "matches several" if hits else "is not"
                raise WorkbenchError(
                    f"--notebooks: {want!r} {what} a registered notebook (registered: {names})"
                )
            if hits[0] not in chosen:
                chosen.append(hits[0])
    out = []
    for e in chosen:
        nb = json.loads(e.path.read_text(encoding="utf-8"))
        qs = questions(nb, e.path.name)
        if not qs:
            raise WorkbenchError(f"{e.path.name}: has no exercises to hand out")
        missing = [p for p in CLASS_PARAMETERS if p not in notebook_parameters(e.path)]
        if missing:
            raise WorkbenchError(
                f"{e.path.name}: its parameters cell lacks {', '.join(missing)}, "
                "so it cannot give a student their own world"
            )
        out.append(ClassNotebook(e.name, e.path, tuple(qs), dict(e.parameters)))
    return out


# -------------------------------------------------------------------------------- execution


@dataclass
class Execution:
    """How one notebook ran: ``status`` is ok, failed or timeout; ``stopped`` says where a
    notebook that did not finish stopped; ``answers`` are those it recorded."""

    status: str
    seconds: float
    stopped: str | None = None
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)


class _Stops:
    """The kernel stops of notebooks running side by side: killed together on Ctrl-C."""

    def __init__(self) -> None:
        from workbench.reports._kernel import KernelStop

        self._new = KernelStop
        self.stops: list[Any] = []

    def new(self) -> Any:
        stop = self._new()
        stop.active = True
        self.stops.append(stop)
        return stop

    def kill(self) -> None:
        for stop in self.stops:
            if stop.active:
                stop.kill(signal.SIGTERM)


@contextlib.contextmanager
def _kernels_env() -> Iterator[None]:
    """Kernels see the project this process uses (worlds are cached there) and draw inline."""
    from workbench.paths import project_root
    from workbench.reports._kernel import kernel_env

    old = os.environ.get("WORKBENCH_HOME")
    os.environ["WORKBENCH_HOME"] = str(project_root())
    try:
        with kernel_env():
            yield
    finally:
        if old is None:
            os.environ.pop("WORKBENCH_HOME", None)
        else:
            os.environ["WORKBENCH_HOME"] = old


def execute(
    source: Path,
    output: Path,
    *,
    timeout: float = DEFAULT_TIMEOUT_S,
    kernel: str = "python3",
    stops: _Stops | None = None,
) -> Execution:
    """Execute a notebook as it is (no parameters injected) in a new kernel.

    The kernel runs in the notebook's folder; the whole notebook gets ``timeout`` seconds. A
    notebook that raises or runs out of time is not an error here: the executed copy keeps what
    ran, and its answers are read from it.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from workbench.reports._kernel import check_kernel, engine, kernel_dir

    stop = (stops or _Stops()).new()
    t0 = time.perf_counter()
    status, stopped = "ok", None
    with kernel_dir() as kdir:
        try:
            pm.execute_notebook(
                str(source), str(output), engine_name=engine(), kernel_name=kernel,
                progress_bar=False, stop=stop, kernel_dir=kdir, ipc=check_kernel(kernel),
                kernel_cwd=str(source.parent), deadline=time.monotonic() + timeout,
            )  # fmt: skip
        except PapermillExecutionError as exc:
            first = (str(exc.evalue).strip().splitlines() or [""])[0]
            status, stopped = "failed", f"cell {exc.cell_index + 1} raised {exc.ename}: {first}"
        except TimeoutError:
            status, stopped = "timeout", f"the notebook ran out of its {timeout:g} s"
        except Exception as exc:  # the kernel died or could not start
            status, stopped = "failed", f"the kernel stopped: {type(exc).__name__}: {exc}"
        finally:
            stop.detach()
    seconds = time.perf_counter() - t0
    answers: dict[str, dict[str, Any]] = {}
    if output.is_file():
        with contextlib.suppress(Exception):  # a notebook cut short may be unreadable
            answers = read_answers(nbformat.read(output, as_version=4))
    return Execution(status, round(seconds, 2), stopped, answers)


def _run_all(
    jobs: list[tuple[str, Path, Path]],
    n_jobs: int,
    timeout: float,
    kernel: str,
    say: Progress,
) -> dict[str, Execution]:
    """Execute ``(key, source, output)`` jobs, ``n_jobs`` side by side."""
    stops = _Stops()
    results: dict[str, Execution] = {}
    with _kernels_env(), ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        futures = {
            key: pool.submit(execute, src, out, timeout=timeout, kernel=kernel, stops=stops)
            for key, src, out in jobs
        }
        try:
            for i, (key, fut) in enumerate(futures.items(), start=1):
                r = results[key] = fut.result()
                extra = f": {r.stopped}" if r.stopped else ""
                say(f"[{i}/{len(jobs)}] {key}: {r.status} ({r.seconds:.1f} s){extra}")
        except BaseException:
            for fut in futures.values():
                fut.cancel()
            stops.kill()
            raise
    return results


def default_jobs() -> int:
    """Notebooks run side by side by default: as many as cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


def _parameters(nb: ClassNotebook, sid: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **nb.parameters,
        "student_id": sid,
        "class_scenario": settings["scenario"],
        "class_size": settings["n_subscribers"],
        "class_seed": settings["class_seed"],
    }


def _write_nb(nb: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------- making


@dataclass
class ClassResult:
    """What :func:`make_class` wrote: the folder, the key, and each solution run's seconds."""

    path: Path
    key: pd.DataFrame
    seconds: dict[str, float]


def make_class(
    roster: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    notebooks: Sequence[str] | None = None,
    scenario: str = "tiny",
    n_subscribers: int = 0,
    class_seed: int = DEFAULT_CLASS_SEED,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    kernel: str = "python3",
    overwrite: bool = False,
    progress: bool = False,
    flag: str = "overwrite=True",
) -> ClassResult:
    """Write a class folder: handouts, solutions and the key computed from each student's world.

    Parameters
    ----------
    roster : path
        CSV with a ``student_id`` column and optionally ``name`` (:func:`read_roster`).
    out : path
        The class folder to create (see the module docstring); an existing class folder is
        replaced only with ``overwrite``.
    notebooks : sequence of str, optional
        Registered notebooks to hand out, by name or number (``["01", "02"]``); default all.
    scenario, n_subscribers, class_seed
        The students' worlds: a scenario (built-in name or TOML file), its size (0: the
        scenario's) and the class seed from which each student's seed is derived.
    jobs : int, optional
        Solution notebooks executed side by side (default :func:`default_jobs`).
    timeout : float
        Seconds each solution notebook may run.
    kernel : str
        Jupyter kernel.
    overwrite : bool
    progress : bool
        Say each step on stderr.
    flag : str
        How the caller spells ``overwrite`` in messages (the command line: ``--overwrite``).

    Returns
    -------
    ClassResult

    Raises
    ------
    WorkbenchError
        Bad roster, notebooks or scenario; an output that exists or would replace an input; or
        a solution that fails on a student's world (nothing is written then).
    """
    from workbench._io import atomic_dir, check_not_input, check_output_dir
    from workbench.synth.scenario import load_scenario

    say = _say(progress)
    chosen = class_notebooks(notebooks)
    load_scenario(scenario)  # a bad scenario fails before anything runs
    students = read_roster(roster)
    scenario_text = str(Path(scenario).resolve()) if Path(scenario).is_file() else str(scenario)
    check_not_input(out, {"--roster": roster}, replaces_folder=True)
    check_output_dir(out, overwrite=overwrite, marker=CLASS_FILE, kind="class folder", flag=flag)
    settings = {
        "scenario": scenario_text,
        "n_subscribers": int(n_subscribers),
        "class_seed": int(class_seed),
    }
    for sid in students["student_id"]:  # one at a time: notebooks then only read them
        sw = student_world(sid, scenario_text, n_subscribers, class_seed)
        say(f"world of {sid}: {sw.path()}")
    with atomic_dir(out, overwrite, marker=CLASS_FILE, kind="class folder", flag=flag) as tmp:
        runs = []
        for sid in students["student_id"]:
            for nb in chosen:
                values = _parameters(nb, sid, settings)
                master = nb.read()
                _write_nb(handout(master, values), tmp / "handouts" / sid / nb.path.name)
                sol = tmp / "solutions" / sid / nb.path.name
                _write_nb(solution(master, values), sol)
                runs.append((sid, nb, sol))
        with tempfile.TemporaryDirectory(prefix="workbench-key-") as work:
            jobs_list = []
            for sid, nb, sol in runs:
                d = Path(work) / sid
                d.mkdir(exist_ok=True)
                shutil.copy(sol, d / sol.name)
                jobs_list.append((f"{sid} {nb.name}", d / sol.name, d / f"executed-{sol.name}"))
            say(f"computing the key: {len(jobs_list)} solution notebooks")
            done = _run_all(jobs_list, jobs or default_jobs(), timeout, kernel, say)
        rows, seconds = [], {}
        for sid, nb, _ in runs:
            r = done[f"{sid} {nb.name}"]
            seconds[f"{sid} {nb.name}"] = r.seconds
            if r.status != "ok":
                raise WorkbenchError(
                    f"the solution of {nb.name} failed on student {sid}'s world ({r.stopped}); "
                    "no class was written"
                )
            for q in nb.questions:
                if not q.graded:
                    continue
                got = r.answers.get(q.id, {}).get("value")
                if got is None:
                    raise WorkbenchError(
                        f"the solution of {nb.name} recorded no answer to {q.id} on student "
                        f"{sid}'s world; no class was written"
                    )
                rows.append({
                    "student_id": sid, "notebook": nb.name, "question": q.id, "kind": q.kind,
                    "correct": got, "tolerance": q.tolerance, "points": q.points,
                    "world_specific": q.world_specific,
                })  # fmt: skip
        key = pd.DataFrame(rows, columns=list(KEY_COLUMNS))
        key.to_csv(tmp / "answers.csv", index=False)
        students.to_csv(tmp / "roster.csv", index=False)
        from workbench import __version__

        meta = {
            **settings,
            "notebooks": [nb.name for nb in chosen],
            "timeout_s": timeout,
            "workbench_version": __version__,
        }
        (tmp / CLASS_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return ClassResult(Path(out), key, seconds)


# --------------------------------------------------------------------------------- grading


def load_class(path: str | os.PathLike[str]) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """Read a class folder: its settings, roster and key.

    Raises
    ------
    WorkbenchError
        Not a class folder (no ``class.json``), or a key without its columns.
    """
    from workbench._read import read_csv

    p = Path(path)
    if not (p / CLASS_FILE).is_file():
        raise WorkbenchError(f"{p}: not a class folder (no {CLASS_FILE}; make one with "
                             "`workbench class make`)")  # fmt: skip
    try:
        settings = json.loads((p / CLASS_FILE).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise WorkbenchError(f"{p / CLASS_FILE}: not valid JSON ({exc})") from None
    key = read_csv(p / "answers.csv", text=True)
    missing = [c for c in KEY_COLUMNS if c not in key.columns]
    if missing:
        raise DataError(str(p / "answers.csv"), missing[0], "missing column")
    key["tolerance"] = pd.to_numeric(key["tolerance"])
    key["points"] = pd.to_numeric(key["points"])
    key["world_specific"] = key["world_specific"].str.lower().eq("true")
    roster = read_roster(p / "roster.csv")
    return settings, roster, key


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _same_world(world: Mapping[str, Any] | None, expected: Mapping[str, Any]) -> bool:
    if not world:
        return False
    return all(str(world.get(k)) == str(v) for k, v in expected.items())


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def score(
    key: pd.DataFrame,
    answers: Mapping[str, Mapping[str, Any]],
    world: Mapping[str, Any],
    stopped: str | None = None,
) -> list[dict[str, Any]]:
    """Score one notebook's recorded answers against its key.

    Parameters
    ----------
    key : DataFrame
        The rows of ``answers.csv`` for one student and notebook.
    answers : mapping
        ``{question: {"value": ..., "world": ...}}`` as :func:`read_answers` returns.
    world : mapping
        The student's world (``student_id``, ``seed``, ``scenario``, ``n_subscribers``,
        ``class_seed``): a world-specific answer recorded in any other world earns nothing.
    stopped : str, optional
        Where the notebook stopped when it did not finish (said in the feedback of the questions
        it did not reach).

    Returns
    -------
    list of dict
        One row per question: :data:`GRADE_COLUMNS` without ``student_id`` and ``notebook``.
    """
    rows = []
    for k in key.itertuples(index=False):
        full = float(k.points)
        got = answers.get(k.question)
        value = None if got is None else got.get("value")
        points, feedback = 0.0, ""
        if value is None:
            feedback = "not answered"
            if stopped:
                feedback += f": the notebook stopped before it ({stopped})"
        elif k.world_specific and not _same_world(got.get("world"), world):
            other = (got.get("world") or {}).get("student_id")
            feedback = (
                f"answered in student {other}'s world, not in {world['student_id']}'s"
                if other
                else "not answered in the student's own world (the notebook's student_id "
                "parameter is empty)"
            )
        elif k.kind == "number":
            v, c = _number(value), _number(k.correct)
            if v is None or c is None:
                feedback = f"expected a number, got {value!r}"
            elif abs(v - c) <= float(k.tolerance) + 1e-9 * max(1.0, abs(c)):
                points, feedback = full, "right"
            elif abs(v / 100 - c) <= float(k.tolerance) + 1e-9 * max(1.0, abs(c)):
                feedback = f"{_fmt(v)} looks like a percentage: answer as a share between 0 and 1"
            else:
                feedback = (
                    f"{_fmt(v)} is not within {_fmt(float(k.tolerance))} of the right answer "
                    f"{_fmt(c)}"
                )
        else:
            v_text, c_text = str(value).strip().casefold(), str(k.correct).strip().casefold()
            vn, cn = _number(value), _number(k.correct)
            same = v_text == c_text or (vn is not None and cn is not None and vn == cn)
            if same:
                points, feedback = full, "right"
            else:
                feedback = f"{str(value)!r} is not the right answer ({str(k.correct)!r})"
        rows.append({"question": k.question, "points": points, "max_points": full,
                     "feedback": feedback})  # fmt: skip
    return rows


def _submitted(folder: Path, nb: str) -> tuple[Path | None, str]:
    """The notebook ``nb`` a student handed in, or ``None`` and why not."""
    if not folder.is_dir():
        return None, "not handed in (no folder for this student)"
    exact = folder / f"{nb}.ipynb"
    if exact.is_file():
        return exact, ""
    prefix = nb.split("-")[0]
    hits = sorted(p for p in folder.glob("*.ipynb") if p.name.startswith(prefix))
    if len(hits) == 1:
        return hits[0], ""
    if hits:
        return None, f"several notebooks start with {prefix}: {', '.join(p.name for p in hits)}"
    return None, f"not handed in (no {nb}.ipynb)"


def grade_class(
    class_dir: str | os.PathLike[str],
    submissions: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    timeout: float | None = None,
    kernel: str = "python3",
    overwrite: bool = False,
    progress: bool = False,
    flag: str = "overwrite=True",
) -> pd.DataFrame:
    """Execute and grade every returned notebook; write the grades and their summary figure.

    Parameters
    ----------
    class_dir : path
        The class folder of :func:`make_class`.
    submissions : path
        ``<student_id>/`` folders holding the returned notebooks (named as handed out).
    out : path
        The grades CSV (:data:`GRADE_COLUMNS`); the figure is written beside it (``.png``).
    jobs : int, optional
        Notebooks executed side by side (default :func:`default_jobs`).
    timeout : float, optional
        Seconds each notebook may run (default: the class's).
    kernel : str
    overwrite : bool
        Replace existing grades.
    progress : bool
    flag : str
        How the caller spells ``overwrite`` in messages.

    Returns
    -------
    DataFrame
        The grades: one row per student of the roster, notebook of the class and graded
        question (a missing or broken notebook scores 0 with the reason as feedback).
    """
    import nbformat

    from workbench._io import atomic_file, check_not_input, check_output_file

    say = _say(progress)
    settings, roster, key = load_class(class_dir)
    sub = Path(submissions)
    if not sub.is_dir():
        raise WorkbenchError(f"{sub}: no such folder (--submissions holds one folder a student)")
    out = Path(out)
    figure = out.with_suffix(".png")
    check_not_input(out, {"--submissions": sub, "--class answers": Path(class_dir, "answers.csv")})
    check_output_file(out, overwrite=overwrite, flag=flag)
    check_output_file(figure, overwrite=overwrite, flag=flag)
    known = set(roster["student_id"])
    for d in sorted(p for p in sub.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if d.name not in known:
            say(f"warning: {d}: {d.name} is not on the class's roster; not graded")
    notebooks = list(settings["notebooks"])
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="workbench-grade-") as work:
        jobs_list, problems = [], {}
        for sid in roster["student_id"]:
            for nb in notebooks:
                path, why = _submitted(sub / sid, nb)
                if path is not None:
                    try:
                        nbformat.read(path, as_version=4)
                    except Exception as exc:
                        path, why = None, f"{path.name} cannot be read as a notebook ({exc})"
                if path is None:
                    problems[(sid, nb)] = why
                    continue
                d = Path(work) / sid
                d.mkdir(exist_ok=True)
                shutil.copy(path, d / f"{nb}.ipynb")
                jobs_list.append((f"{sid} {nb}", d / f"{nb}.ipynb", d / f"executed-{nb}.ipynb"))
        for sid in sorted({key.split(" ")[0] for key, _, _ in jobs_list}):
            # generated here, once: two notebooks of a student must not both generate it
            student_world(sid, settings["scenario"], settings["n_subscribers"],
                          settings["class_seed"]).path()  # fmt: skip
        say(f"grading {len(jobs_list)} notebooks of {len(roster)} students")
        limit = float(timeout or settings.get("timeout_s") or DEFAULT_TIMEOUT_S)
        done = _run_all(jobs_list, jobs or default_jobs(), limit, kernel, say)
    for sid in roster["student_id"]:
        sw = student_world(sid, settings["scenario"], settings["n_subscribers"],
                           settings["class_seed"])  # fmt: skip
        world = asdict(sw)  # as use_world records it with each answer
        for nb in notebooks:
            k = key[(key["student_id"] == sid) & (key["notebook"] == nb)]
            if (sid, nb) in problems:
                scored = [
                    {"question": q, "points": 0.0, "max_points": float(p),
                     "feedback": problems[(sid, nb)]}
                    for q, p in zip(k["question"], k["points"], strict=True)
                ]  # fmt: skip
            else:
                r = done[f"{sid} {nb}"]
                scored = score(k, r.answers, world, r.stopped)
            rows += [{"student_id": sid, "notebook": nb, **row} for row in scored]
    grades = pd.DataFrame(rows, columns=list(GRADE_COLUMNS))
    with atomic_file(out, overwrite=overwrite, flag=flag) as tmp:
        grades.to_csv(tmp, index=False)
    fig = grades_figure(grades)
    with atomic_file(figure, overwrite=overwrite, flag=flag) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return grades


def grades_figure(grades: pd.DataFrame) -> Any:
    """The instructor's summary: per question, the share of students who got it right.

    One bar per question (notebook and id), longest first among the hardest at the top; the
    title names the hardest question.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from workbench.widgets import percent_text

    g = grades.assign(q=grades["notebook"].str.split("-").str[0] + " " + grades["question"])
    share = g.groupby("q", sort=False).apply(
        lambda d: d["points"].sum() / d["max_points"].sum() if d["max_points"].sum() else 0.0
    )
    right = g.assign(full=g["points"] >= g["max_points"]).groupby("q", sort=False)["full"].sum()
    n = g["student_id"].nunique()
    order = share.sort_values(kind="stable").index
    fig = Figure(figsize=(7.5, 0.45 * len(order) + 1.6), layout="constrained")
    ax = fig.subplots()
    y = range(len(order))
    colors = ["#c0392b" if share[q] < 0.5 else "#2a9d8f" for q in order]
    ax.barh(list(y), [share[q] for q in order], color=colors)
    ax.set_yticks(list(y), list(order))
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    for i, q in enumerate(order):
        ax.text(min(share[q] + 0.01, 0.86), i, f"{int(right[q])} of {n} right", va="center",
                fontsize=9)  # fmt: skip
    ax.set_xlabel("share of the points earned by the class (red: below half)")
    if len(order):
        low = share[order[0]]
        hardest = [q for q in order if share[q] == low]
        names = ", ".join(hardest[:3]) + (
            f" and {len(hardest) - 3} more" if len(hardest) > 3 else ""
        )
        what = "Hardest question" if len(hardest) == 1 else "Hardest questions"
        ax.set_title(f"{what}: {names} ({percent_text(low, 0)} of the points earned)",
                     loc="left", fontsize=11)  # fmt: skip
    ax.spines[["top", "right"]].set_visible(False)
    return fig
