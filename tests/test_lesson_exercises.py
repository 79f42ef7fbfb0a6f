"""The lessons' exercise cells (tools/lesson_exercises.py): metadata, hidden tests, answers.

Each exercise's solution, run outside its notebook, passes its check with the
hidden cases; its stub fails with the "not filled in yet" message. Inserting
the exercises into the lessons twice changes nothing the second time.
"""

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from gmm_lab import exercises
from gmm_lab.exercises import ExerciseFailed

ROOT = Path(__file__).resolve().parent.parent


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


lesson_exercises = _load("lesson_exercises")
ALL = [(name, exercise) for name, found in lesson_exercises.LESSONS.items() for exercise in found]
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _stub(source: str) -> str:
    """What nbgrader's ClearSolutions makes of a solution."""
    return re.sub(r"^( *)### BEGIN SOLUTION\n.*?^ *### END SOLUTION",
                  lambda match: match.group(1) + STUB.replace("\n", "\n" + match.group(1)),
                  source, flags=re.MULTILINE | re.DOTALL)


def _visible(check: str) -> str:
    return check.split("### BEGIN HIDDEN TESTS")[0]


def test_there_are_at_least_ten_exercises_in_at_least_four_lessons():
    per_lesson = {name: len(found) + len(lesson_exercises.UPDATES.get(name, {}))
                  for name, found in lesson_exercises.LESSONS.items()}
    assert sum(per_lesson.values()) >= 10
    assert sum(1 for count in per_lesson.values() if count) >= 4


@pytest.mark.parametrize("name, exercise", ALL, ids=[e.grade_id for _, e in ALL])
def test_cells_carry_nbgrader_metadata_and_a_hidden_test(name, exercise):
    markdown, solution, check = lesson_exercises.exercise_cells(exercise)
    assert solution.metadata.nbgrader == {"grade": False, "grade_id": exercise.grade_id,
                                          "locked": False, "schema_version": 3, "solution": True}
    assert check.metadata.nbgrader["grade"] and check.metadata.nbgrader["locked"]
    assert check.metadata.nbgrader["points"] == exercise.points
    assert solution.metadata.tags == check.metadata.tags == ["exercise"]
    assert solution.source.count("### BEGIN SOLUTION") == 1
    visible, hidden = check.source.split("### BEGIN HIDDEN TESTS\n")
    assert re.search(r"^check_\w+\(\w+", visible, re.MULTILINE)
    assert hidden.endswith("### END HIDDEN TESTS") and "graded=True" in hidden


@pytest.mark.slow
@pytest.mark.parametrize("name, exercise", ALL, ids=[e.grade_id for _, e in ALL])
def test_the_solution_passes_and_the_stub_fails(name, exercise, capsys):
    namespace = {"np": np, **{key: getattr(exercises, key) for key in exercises.__all__}}
    exec(exercise.solution, namespace)
    exec(exercise.check.replace("### BEGIN HIDDEN TESTS\n", "").replace("### END HIDDEN TESTS", ""),
         namespace)
    assert capsys.readouterr().out.count("✓") == 2
    stub = {"np": np, **{key: getattr(exercises, key) for key in exercises.__all__}}
    try:
        exec(_stub(exercise.solution), stub)
    except NotImplementedError:  # a prediction's stub raises at the top level
        pass
    with pytest.raises(ExerciseFailed, match=r"^\w+ is not filled in yet"):
        exec(_visible(exercise.check), stub)


def test_inserting_twice_changes_nothing(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert lesson_exercises.main([str(ROOT / "notebooks"), "--out", str(first)]) == 0
    assert lesson_exercises.main([str(first), "--out", str(second)]) == 0
    for path in sorted(first.glob("*.ipynb")):
        assert path.read_text() == (second / path.name).read_text(), path.name


def test_every_lesson_gets_its_exercises_and_the_points_add_up(tmp_path):
    lesson_exercises.main([str(ROOT / "notebooks"), "--out", str(tmp_path)])
    points, headings = 0, []
    for path in sorted(tmp_path.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        grade_ids = {cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells}
        wanted = [e.grade_id for e in lesson_exercises.LESSONS.get(path.name, [])]
        wanted += list(lesson_exercises.UPDATES.get(path.name, {}))
        assert set(wanted) <= grade_ids, path.name
        points += sum(cell.metadata.get("nbgrader", {}).get("points", 0) for cell in notebook.cells)
        headings += re.findall(r"^### Exercise (\d+) · ", "\n".join(
            cell.source for cell in notebook.cells if cell.cell_type == "markdown"), re.MULTILINE)
        nbformat.validate(notebook)
    assert points == 15
    assert headings == [str(n) for n in range(1, len(headings) + 1)]
