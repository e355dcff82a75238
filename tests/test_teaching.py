"""The teaching kit: answers, a world per student, exercises, and a class made and graded.

The class test is the issue's "done when": a roster gets handouts, solutions and a key computed
from each student's world; the grader gives full marks to each student's solutions, zero to an
untouched handout, fewer to one student's solutions handed in under another's id, keeps the
points earned before an error, and stops a notebook at its time limit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from workbench.cli import main
from workbench.errors import DataError, WorkbenchError
from workbench.reports import load_registry, notebook_parameters
from workbench.teaching import answer, read_answers, student_seed, student_world
from workbench.teaching.answers import ANSWER_MIME
from workbench.teaching.classroom import read_roster, score
from workbench.teaching.exercises import (
    QUESTION,
    SOLUTION,
    STUDENT,
    handout,
    questions,
    role,
    set_parameters,
    solution,
)
from workbench.teaching.worlds import check_student_id

ENTRIES = load_registry()


# ----------------------------------------------------------------------------- answers


def test_answer_prints_outside_a_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    answer("q1", 0.25)
    answer("q2", ...)
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Answer to q1 recorded: 0.25",
        "No answer to q2 yet: replace ... with your answer",
    ]


def test_answer_refuses_a_table() -> None:
    with pytest.raises(WorkbenchError, match="number or a short text"):
        answer("q1", pd.Series([1.0, 2.0]))
    with pytest.raises(WorkbenchError, match="question must be its id"):
        answer("", 1)


def _nb_with(*payloads: dict) -> dict:
    outputs = [{"output_type": "display_data", "data": {ANSWER_MIME: p}} for p in payloads]
    return {"cells": [{"cell_type": "code", "outputs": outputs}]}


def test_read_answers_keeps_the_last_answer() -> None:
    nb = _nb_with(
        {"question": "q1", "value": None, "world": None},
        {"question": "q1", "value": 3, "world": {"student_id": "a"}},
        {"question": "q2", "value": "x", "world": None},
    )
    got = read_answers(nb)
    assert got["q1"] == {"value": 3, "world": {"student_id": "a"}}
    assert got["q2"]["value"] == "x"


# ----------------------------------------------------------------------------- worlds


def test_student_seeds_are_stable_distinct_and_change_with_the_class_seed() -> None:
    ids = [f"s{i:03d}" for i in range(200)]
    seeds = [student_seed(s) for s in ids]
    assert len(set(seeds)) == len(ids)
    assert seeds == [student_seed(s) for s in ids]
    assert all(0 <= s < 2**31 for s in seeds)
    assert student_seed("s001", 1) != student_seed("s001", 2)
    assert student_world("s001").seed == student_seed("s001")


@pytest.mark.parametrize("bad", ["", " ", "a/b", "..", "x:y", "tab\there"])
def test_a_student_id_must_name_a_folder(bad: str) -> None:
    with pytest.raises(WorkbenchError, match="cannot name a folder"):
        check_student_id(bad)


# -------------------------------------------------------------------------- exercises


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_every_notebook_has_exercises_and_the_class_parameters(entry) -> None:
    nb = json.loads(entry.path.read_text())
    qs = questions(nb, entry.path.name)
    graded = [q for q in qs if q.graded]
    assert len(graded) >= 2 and any(q.kind == "open" for q in qs)
    assert all(q.world_specific for q in graded if q.kind == "number")
    declared = notebook_parameters(entry.path)
    assert {"student_id", "class_scenario", "class_size", "class_seed"} <= set(declared)
    for cell in nb["cells"]:
        if role(cell):  # the stakeholders' report leaves exercises out
            assert "remove-cell" in cell["metadata"]["tags"]
        if role(cell) == SOLUTION:  # collapsed in the notebook itself
            assert cell["metadata"]["jupyter"]["source_hidden"] is True


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_handouts_lose_the_solutions_and_solutions_the_student_cells(entry, tmp_path) -> None:
    nb = json.loads(entry.path.read_text())
    values = {"student_id": "s042", "class_scenario": "tiny", "class_size": 0, "class_seed": 7}
    h, s = handout(nb, values), solution(nb, values)
    assert not [c for c in h["cells"] if role(c) == SOLUTION]
    assert not [c for c in s["cells"] if role(c) == STUDENT]
    n_questions = sum(role(c) == QUESTION for c in nb["cells"])
    assert sum(role(c) == QUESTION for c in h["cells"]) == n_questions
    assert not any("jupyter" in c["metadata"] for c in s["cells"] if role(c) == SOLUTION)
    path = tmp_path / entry.path.name
    path.write_text(json.dumps(h))
    declared = notebook_parameters(path)  # papermill reads the student's values
    assert {k: declared[k]["default"] for k in values} == {
        "student_id": '"s042"',
        "class_scenario": '"tiny"',
        "class_size": "0",
        "class_seed": "7",
    }


def _question(qid: str, student: str, sol: str) -> list[dict]:
    spec = {"id": qid, "kind": "number", "tolerance": 0.1}
    meta = {"tags": [QUESTION], "workbench": {"exercise": spec}}
    return [
        {"cell_type": "markdown", "metadata": meta, "source": f"### {qid}"},
        {"cell_type": "code", "metadata": {"tags": [STUDENT]}, "source": student},
        {"cell_type": "code", "metadata": {"tags": [SOLUTION]}, "source": sol},
    ]


def test_a_malformed_exercise_is_named() -> None:
    ok = _question("q1", 'answer("q1", ...)', 'answer("q1", 2)')
    assert [q.id for q in questions({"cells": ok})] == ["q1"]
    with pytest.raises(WorkbenchError, match="used twice"):
        questions({"cells": ok + ok})
    with pytest.raises(WorkbenchError, match="solution of question q1 does not call"):
        questions({"cells": _question("q1", 'answer("q1", ...)', "x = 2")})
    with pytest.raises(WorkbenchError, match="must be followed"):
        questions({"cells": ok[:1] + ok[2:]})


def test_set_parameters_refuses_an_undeclared_parameter() -> None:
    nb = {"cells": [{"cell_type": "code", "metadata": {"tags": ["parameters"]},
                     "source": 'a: int = 1  # help: x\nb = "y"'}]}  # fmt: skip
    out = set_parameters(nb, {"a": 5, "b": "z"})
    assert out["cells"][0]["source"] == 'a: int = 5  # help: x\nb = "z"'
    assert nb["cells"][0]["source"].startswith("a: int = 1")  # the original is untouched
    with pytest.raises(WorkbenchError, match="does not declare c"):
        set_parameters(nb, {"c": 1})


# ---------------------------------------------------------------------------- scoring

WORLD = {"student_id": "s1", "seed": 11, "scenario": "tiny", "n_subscribers": 0, "class_seed": 1}
KEY = pd.DataFrame(
    {
        "question": ["n", "t", "s", "free"],
        "kind": ["number", "text", "number", "text"],
        "correct": ["0.4213", "Loyal_Buyer", "12", "first"],
        "tolerance": [0.001, 0.0, 0.0, 0.0],
        "points": [2.0, 1.0, 1.0, 1.0],
        "world_specific": [True, True, True, False],
    }
)


def _score(answers: dict, stopped: str | None = None) -> dict[str, tuple[float, str]]:
    return {
        r["question"]: (r["points"], r["feedback"]) for r in score(KEY, answers, WORLD, stopped)
    }


def test_score_within_tolerance_and_case() -> None:
    got = _score(
        {
            "n": {"value": 0.4218, "world": WORLD},
            "t": {"value": " loyal_buyer ", "world": WORLD},
            "s": {"value": 12, "world": WORLD},
            "free": {"value": "First", "world": None},
        }
    )
    assert got == {"n": (2.0, "right"), "t": (1.0, "right"), "s": (1.0, "right"),
                   "free": (1.0, "right")}  # fmt: skip


def test_score_says_what_is_wrong() -> None:
    got = _score(
        {
            "n": {"value": 0.4225, "world": WORLD},
            "t": {"value": "caregiver", "world": WORLD},
            "s": {"value": "twelve", "world": WORLD},
        },
        stopped="cell 9 raised ValueError: boom",
    )
    assert got["n"][0] == 0 and "not within 0.001 of the right answer 0.4213" in got["n"][1]
    assert got["t"] == (0.0, "'caregiver' is not the right answer ('Loyal_Buyer')")
    assert got["s"] == (0.0, "expected a number, got 'twelve'")
    assert got["free"] == (0.0, "not answered: the notebook stopped before it (cell 9 raised "
                                "ValueError: boom)")  # fmt: skip
    assert "looks like a percentage" in _score({"n": {"value": 42.13, "world": WORLD}})["n"][1]


def test_answers_from_another_world_lose_the_world_specific_points() -> None:
    other = {**WORLD, "student_id": "s2", "seed": 12}
    got = _score({q: {"value": v, "world": other} for q, v in
                  [("n", 0.4213), ("t", "loyal_buyer"), ("s", 12), ("free", "first")]})  # fmt: skip
    assert got["n"] == (0.0, "answered in student s2's world, not in s1's")
    assert got["t"][0] == got["s"][0] == 0.0
    assert got["free"] == (1.0, "right")  # not world-specific
    empty = _score({"n": {"value": 0.4213, "world": None}})["n"]
    assert empty[0] == 0.0 and "student_id parameter is empty" in empty[1]


# ----------------------------------------------------------------------------- roster


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("name\nAda\n", "column 'student_id': missing column"),
        ("student_id\n", "no students"),
        ("student_id,name\na1,A\nb/2,B\n\n", r"cannot name a folder.*line 3"),
        ("student_id\na1\nb2\na1\n", r"repeated ids in 1 row \(first: line 4: a1\)"),
    ],
)
def test_a_bad_roster_is_one_line_naming_file_column_and_rows(tmp_path, text, match) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(text)
    with pytest.raises(DataError, match=match):
        read_roster(roster)


def test_class_make_with_a_bad_roster_exits_2_and_writes_nothing(tmp_path, capsys) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\na1\na1\n")
    status = main(["class", "make", "--roster", str(roster), "--out", str(tmp_path / "C")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "roster.csv, column 'student_id'" in err[0]
    assert not (tmp_path / "C").exists()
    status = main(["class", "make", "--roster", str(tmp_path / "no.csv"), "--out", "x",
                   "--notebooks", "99"])  # fmt: skip
    assert status == 2


# ------------------------------------------------------------------------ a whole class

ROSTER = ["s001", "s002", "s003", "s004", "s005"]
NOTEBOOKS = "01,04"  # the two quick notebooks; 02 and 03 run in the notebook tests


@pytest.fixture(scope="module")
def made_class(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("class")
    roster = root / "roster.csv"
    roster.write_text("student_id,name\n" + "".join(f"{s},Student {s}\n" for s in ROSTER))
    out = root / "CLASS"
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "class", "make", "--roster", str(roster),
         "--out", str(out), "--notebooks", NOTEBOOKS, "--jobs", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.mark.slow
def test_class_make_writes_handouts_solutions_and_a_key_per_world(made_class: Path) -> None:
    key = pd.read_csv(made_class / "answers.csv")
    assert set(key["student_id"]) == set(ROSTER)
    names = ["01-synthetic-subscribers", "04-attribution"]
    for sid in ROSTER:
        for name in names:
            h = nbformat.read(made_class / "handouts" / sid / f"{name}.ipynb", as_version=4)
            s = nbformat.read(made_class / "solutions" / sid / f"{name}.ipynb", as_version=4)
            assert f'student_id: str = "{sid}"' in h.cells[1].source
            assert not [c for c in h.cells if role(c) == SOLUTION]
            assert [c for c in s.cells if role(c) == SOLUTION]
            assert all(not c.get("outputs") for c in h.cells + s.cells)
    # the key comes from each student's world: world-specific numbers differ between neighbours
    numbers = key[(key["kind"] == "number") & key["world_specific"]]
    spread = numbers.groupby(["notebook", "question"])["correct"].nunique()
    assert (spread == len(ROSTER)).all(), spread
    meta = json.loads((made_class / "class.json").read_text())
    assert meta["notebooks"] == names and meta["scenario"] == "tiny"


def _insert_after_answer(path: Path, qid: str, source: str) -> None:
    nb = nbformat.read(path, as_version=4)
    at = next(
        i for i, c in enumerate(nb.cells) if role(c) == SOLUTION and f'answer("{qid}"' in c.source
    )
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
    nbformat.write(nb, path)


@pytest.mark.slow
def test_the_grader(made_class: Path, tmp_path: Path) -> None:
    subs = tmp_path / "submissions"
    sol, hand = made_class / "solutions", made_class / "handouts"
    shutil.copytree(sol / "s001", subs / "s001")  # full marks
    shutil.copytree(hand / "s002", subs / "s002")  # untouched: zero, no crash
    shutil.copytree(sol / "s001", subs / "s003")  # s001's work under s003's id: fewer
    shutil.copytree(sol / "s004", subs / "s004")  # raises after q1 of notebook 01
    _insert_after_answer(subs / "s004" / "01-synthetic-subscribers.ipynb", "q1", "1 / 0")
    shutil.copytree(sol / "s005", subs / "s005")  # never ends after q1 of notebook 01
    _insert_after_answer(subs / "s005" / "01-synthetic-subscribers.ipynb", "q1",
                         "import time\ntime.sleep(3600)")  # fmt: skip
    (subs / "s005" / "04-attribution.ipynb").unlink()  # not handed in
    out = tmp_path / "grades.csv"
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "class", "grade", "--class", str(made_class),
         "--submissions", str(subs), "--out", str(out), "--timeout", "40", "--jobs", "2"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    grades = pd.read_csv(out)
    assert list(grades.columns) == ["student_id", "notebook", "question", "points", "max_points",
                                    "feedback"]  # fmt: skip
    assert (out.with_suffix(".png")).stat().st_size > 10_000
    total = grades.groupby("student_id")[["points", "max_points"]].sum()
    assert total.loc["s001", "points"] == total.loc["s001", "max_points"] > 0
    assert total.loc["s002", "points"] == 0
    assert 0 < total.loc["s003", "points"] < total.loc["s003", "max_points"]
    s3 = grades[grades["student_id"] == "s003"].set_index(["notebook", "question"])
    key = pd.read_csv(made_class / "answers.csv")
    specific = key[(key["student_id"] == "s003") & key["world_specific"]]
    for nb, q in zip(specific["notebook"], specific["question"], strict=True):
        assert s3.loc[(nb, q), "points"] == 0
        assert "s001's world" in s3.loc[(nb, q), "feedback"]
    nb01 = "01-synthetic-subscribers"
    s4 = grades[(grades["student_id"] == "s004") & (grades["notebook"] == nb01)]
    s4 = s4.set_index("question")
    assert s4.loc["q1", "points"] == 1
    assert (s4.drop(index="q1")["points"] == 0).all()
    assert "ZeroDivisionError" in s4.loc["q2", "feedback"]
    s5 = grades[grades["student_id"] == "s005"].set_index(["notebook", "question"])
    assert s5.loc[(nb01, "q1"), "points"] == 1
    assert "ran out of its 40 s" in s5.loc[(nb01, "q2"), "feedback"]
    assert (s5.loc["04-attribution", "feedback"].str.startswith("not handed in")).all()
    assert "s001: " in done.stdout and "s002: 0 of" in done.stdout


def _fake_class(root: Path) -> Path:
    """A class folder written by hand (no notebook is executed by what uses it)."""
    cls = root / "CLASS"
    cls.mkdir()
    meta = {"scenario": "tiny", "n_subscribers": 0, "class_seed": 5,
            "notebooks": ["01-synthetic-subscribers"], "timeout_s": 30}  # fmt: skip
    (cls / "class.json").write_text(json.dumps(meta))
    (cls / "roster.csv").write_text("student_id,name\ns1,A\ns2,B\n")
    rows = ["student_id,notebook,question,kind,correct,tolerance,points,world_specific"]
    rows += [f"{s},01-synthetic-subscribers,q1,number,0.5,0.01,1.0,True" for s in ("s1", "s2")]
    (cls / "answers.csv").write_text("\n".join(rows) + "\n")
    return cls


def test_grading_unreadable_missing_and_unknown_submissions(tmp_path, capsys) -> None:
    from workbench.teaching.classroom import grade_class

    cls = _fake_class(tmp_path)
    subs = tmp_path / "subs"
    (subs / "s1").mkdir(parents=True)
    (subs / "s1" / "01-synthetic-subscribers.ipynb").write_text("{not json")
    (subs / "stranger").mkdir()
    out = tmp_path / "grades.csv"
    grades = grade_class(cls, subs, out, progress=True)
    err = capsys.readouterr().err
    assert "stranger is not on the class's roster" in err
    fb = dict(zip(grades["student_id"], grades["feedback"], strict=True))
    assert "cannot be read as a notebook" in fb["s1"]
    assert fb["s2"] == "not handed in (no folder for this student)"
    assert grades["points"].sum() == 0 and out.is_file() and out.with_suffix(".png").is_file()
    before = out.read_bytes()
    with pytest.raises(WorkbenchError, match="already exists"):
        grade_class(cls, subs, out)
    assert out.read_bytes() == before  # nothing of the user's overwritten
    with pytest.raises(WorkbenchError, match="inside the input folder"):
        grade_class(cls, subs, subs / "grades.csv")
    with pytest.raises(WorkbenchError, match="not a class folder"):
        grade_class(tmp_path, subs, tmp_path / "g2.csv")
