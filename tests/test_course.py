"""The course workflow, for real: nbgrader's own commands in a course directory.

A small course made here from the real lesson 2 (two graded exercises) goes
through ``tools/course.py release`` (``nbgrader generate_assignment``) and
``tools/course.py grade`` (``nbgrader autograde``, ``generate_feedback``,
``export``) with three hand-ins: the instructor edition (full marks), the
released stubs (zero) and the instructor edition with one typical mistake in
the E-step (partial credit, and feedback that names the mistake).
"""

import csv
import html
import importlib.util
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbgrader", reason="the course workflow is nbgrader's")

# Runs nbgrader and five kernels: in `make test`, not in `make check`.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
LESSON = "02_gaussians_and_the_e_step"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


course_tool = _load("course")
lesson_exercises = _load("lesson_exercises")

# The lesson's E-step with the row *minimum* shifted out: a typical mistake.
MINIMUM_SHIFT_E_STEP = '''def my_responsibilities(X, weights, means, covariances):
    log_weighted = np.column_stack(
        [np.log(w) + my_log_density(X, m, c) for w, m, c in zip(weights, means, covariances)]
    )
    shift = log_weighted.min(axis=1, keepdims=True)
    log_norm = shift + np.log(np.exp(log_weighted - shift).sum(axis=1, keepdims=True))
    return np.exp(log_weighted - log_norm)'''


def _cell(notebook, grade_id):
    return next(cell for cell in notebook.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _text(path) -> str:
    """An HTML page as plain text."""
    return html.unescape(re.sub(r"<[^>]+>", "", Path(path).read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """Release lesson 2, hand in three submissions, grade them; returns (course, seconds)."""
    start = time.perf_counter()
    lessons = tmp_path_factory.mktemp("lessons")
    notebook = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    lesson_exercises.apply(notebook, f"{LESSON}.ipynb")  # a no-op once the lesson has them
    nbformat.write(notebook, lessons / f"{LESSON}.ipynb")

    course = tmp_path_factory.mktemp("course")
    assert course_tool.release(course, lessons) == [LESSON]

    source = course / "source" / LESSON / f"{LESSON}.ipynb"
    released = course / "release" / LESSON / f"{LESSON}.ipynb"
    for student in ("instructor", "stubs", "mistake"):
        (course / "submitted" / student / LESSON).mkdir(parents=True)
    shutil.copy(source, course / "submitted" / "instructor" / LESSON)
    shutil.copy(released, course / "submitted" / "stubs" / LESSON)
    mistaken = nbformat.read(source, as_version=4)
    _cell(mistaken, "responsibilities").source = MINIMUM_SHIFT_E_STEP
    nbformat.write(mistaken, course / "submitted" / "mistake" / LESSON / f"{LESSON}.ipynb")

    course_tool.grade(course)
    return course, time.perf_counter() - start


def test_the_release_keeps_the_lessons_outputs_and_hides_the_answers(graded_course):
    course, _ = graded_course
    source = nbformat.read(course / "source" / LESSON / f"{LESSON}.ipynb", as_version=4)
    released = nbformat.read(course / "release" / LESSON / f"{LESSON}.ipynb", as_version=4)
    assert len(released.cells) == len(source.cells)
    assert "widgets" not in released.metadata
    kept = 0
    for original, cell in zip(source.cells, released.cells):
        assert "BEGIN SOLUTION" not in cell.source and "BEGIN HIDDEN TESTS" not in cell.source
        assert "graded=True" not in cell.source
        if cell.cell_type != "code":
            continue
        if "exercise" in cell.metadata.get("tags", []):
            assert cell.outputs == []  # no solution's result, no "✓"
        else:
            assert cell.outputs == original.outputs  # figures and runs stay
            kept += bool(cell.outputs)
    assert kept >= 5
    checks = [cell for cell in released.cells if cell.metadata.get("nbgrader", {}).get("grade")]
    assert [cell.source for cell in checks] == [
        "check_log_density(my_log_density)", "check_responsibilities(my_responsibilities)"]
    assert (course / "gradebook.db").exists()


def _scores(course):
    with open(course / "grades.csv", newline="") as handle:
        return {row["student_id"]: (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(handle) if row["assignment"] == LESSON}


def test_full_marks_zero_and_partial_credit(graded_course):
    course, seconds = graded_course
    print(f"course workflow (release, 3 hand-ins autograded, feedback, export): {seconds:.0f} s")
    assert _scores(course) == {"instructor": (2.0, 2.0), "stubs": (0.0, 2.0), "mistake": (1.0, 2.0)}


def test_the_feedback_names_the_mistake(graded_course):
    course, _ = graded_course
    feedback = _text(course / "feedback" / "mistake" / LESSON / f"{LESSON}.html")
    assert "you subtracted each row's smallest term, m_n = min_k a_nk" in feedback
    assert "Subtract the largest term" in feedback
    stubs = _text(course / "feedback" / "stubs" / LESSON / f"{LESSON}.html")
    assert "my_log_density is not filled in yet" in stubs
    assert "my_responsibilities is not filled in yet" in stubs or "(my_responsibilities calls my_log_density.)" in stubs


def test_the_workflow_is_quick_enough(graded_course):
    _, seconds = graded_course
    assert seconds < 240, f"the course test took {seconds:.0f} s"
