"""The student edition: solutions become stubs, checks fail on them, the rest runs.

``tools/make_student.py`` is run here as the Makefile runs it, on the
instructor notebooks in ``notebooks/``; each student notebook with an
exercise is then executed in a fresh kernel of this environment. Every
check cell must fail with its "not filled in yet" message, and every other
cell must run without error. A small notebook made here exercises the same
machinery when ``notebooks/`` has no exercises yet.
"""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import ipykernel.kernelspec
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

pytest.importorskip("nbgrader", reason="the student edition is made with nbgrader's preprocessors")

# Each test here runs nbgrader or a notebook kernel: `make test` runs them,
# `make check` (the fast loop) leaves them out.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
TOOL = ROOT / "tools" / "make_student.py"

NBGRADER_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"
NOT_FILLED_IN = re.compile(
    r"^(?P<name>\w+) is not filled in yet: replace `raise NotImplementedError\(\)` with your code\."
)
CHECK_CALL = re.compile(r"^\s*(?P<check>check_\w+)\((?P<function>\w+)", re.MULTILINE)
DEFINED_FUNCTION = re.compile(r"^\s*def (\w+)\(", re.MULTILINE)


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_student", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_student = _load_tool()


def exercise_notebooks() -> list:
    """Instructor notebooks with at least one solution cell."""
    found = []
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if any(make_student.is_solution_cell(cell) for cell in notebook.cells):
            found.append(path.name)
    return found


# ---------------------------------------------------------------------------
# running a notebook in this environment


CURRENT_ENVIRONMENT = "gmm-lab-current-environment"


class CurrentEnvironmentKernels(KernelSpecManager):
    """Kernel specs, plus one that runs ipykernel with this very Python.

    A kernel named "python3" could be any Python on the machine; the tests
    must import the gmm_lab installed where pytest runs.
    """

    def get_kernel_spec(self, kernel_name):
        if kernel_name == CURRENT_ENVIRONMENT:
            return self.kernel_spec_class(
                resource_dir=ipykernel.kernelspec.RESOURCES,
                **ipykernel.kernelspec.get_kernel_dict(),
            )
        return super().get_kernel_spec(kernel_name)


def execute(notebook, working_directory):
    """Run every cell, errors included, and return the notebook with its outputs."""
    kernel_manager = AsyncKernelManager(
        kernel_name=CURRENT_ENVIRONMENT, kernel_spec_manager=CurrentEnvironmentKernels()
    )
    client = NotebookClient(
        notebook,
        km=kernel_manager,
        timeout=120,
        allow_errors=True,
        resources={"metadata": {"path": str(working_directory)}},
    )
    client.execute()
    return notebook


def errors_of(cell) -> list:
    return [output for output in cell.get("outputs", []) if output.output_type == "error"]


def check_student_run(instructor, executed) -> int:
    """Assert what a student sees after "Run All" on an untouched student notebook.

    Returns the number of check cells seen.
    """
    solution_functions = set()
    for cell in instructor.cells:
        if make_student.is_solution_cell(cell):
            solution_functions.update(DEFINED_FUNCTION.findall(cell.source))

    n_checks = 0
    for index, (original, cell) in enumerate(zip(instructor.cells, executed.cells)):
        if cell.cell_type != "code":
            continue
        errors = errors_of(cell)
        where = f"cell {index}:\n{cell.source}"
        if make_student.is_check_cell(cell):
            n_checks += 1
            call = CHECK_CALL.search(cell.source)
            assert call, f"a grade cell that calls no check_...(function), {where}"
            assert len(errors) == 1, f"the check should fail on the stub, {where}"
            error = errors[0]
            assert error.ename == "ExerciseFailed", f"{where}\n{error.ename}: {error.evalue}"
            message = NOT_FILLED_IN.match(error.evalue)
            assert message, f"not the 'not filled in yet' message, {where}\n{error.evalue}"
            named = message["name"]
            # The stub that raised is the checked function, or an earlier
            # exercise that it calls (and then the message says so).
            says_who_calls_it = f"({call['function']} calls {named}.)" in error.evalue
            assert named == call["function"] or (
                named in solution_functions and says_who_calls_it
            ), f"{where}\n{error.evalue}"
        elif make_student.is_solution_cell(original):
            # A stub inside a def runs; a stub at the top level of a cell
            # raises NotImplementedError, which is the exercise, not a crash.
            assert all(e.ename == "NotImplementedError" for e in errors), f"{where}\n{errors}"
        else:
            assert not errors, f"{where}\n{errors[0].ename}: {errors[0].evalue}"
    return n_checks


# ---------------------------------------------------------------------------
# the lesson notebooks


@pytest.fixture(scope="module")
def student_edition(tmp_path_factory):
    """The student edition of notebooks/, made by the command the Makefile runs."""
    target = tmp_path_factory.mktemp("student")
    completed = subprocess.run([sys.executable, str(TOOL), str(NOTEBOOKS), str(target)],
                               capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    # Warnings, such as a check of a function the stub removed, are failures here.
    assert completed.stderr == "", completed.stderr
    return target


NOTEBOOK_NAMES = exercise_notebooks() or [
    pytest.param(None, marks=pytest.mark.skip(reason="notebooks/ has no exercise notebooks yet"))
]


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_every_check_fails_on_the_stub_and_the_rest_runs(name, student_edition, tmp_path):
    instructor = nbformat.read(NOTEBOOKS / name, as_version=4)
    student = nbformat.read(student_edition / name, as_version=4)
    assert len(student.cells) == len(instructor.cells)
    executed = execute(student, tmp_path)
    assert check_student_run(instructor, executed) >= 1


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_no_solution_reaches_the_student(name, student_edition):
    instructor = nbformat.read(NOTEBOOKS / name, as_version=4)
    student = nbformat.read(student_edition / name, as_version=4)
    for original, cell in zip(instructor.cells, student.cells):
        assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
        assert "HIDDEN TESTS" not in cell.source and "graded=True" not in cell.source
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
        for line in _solution_lines(original):
            assert line not in cell.source.splitlines(), f"solution line kept: {line!r}"


def _solution_lines(cell) -> list:
    """The non-trivial lines between the markers of an instructor cell."""
    lines, inside = [], False
    for line in cell.source.splitlines():
        if "BEGIN SOLUTION" in line:
            inside = True
        elif "END SOLUTION" in line:
            inside = False
        elif inside and len(line.strip()) > 8:
            lines.append(line)
    return lines


# ---------------------------------------------------------------------------
# the tool itself, on a small notebook made here


def small_instructor_notebook():
    """Two exercises in the forms the lessons use, with the clutter a saved notebook carries."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python"
    }
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# A small lesson\n\nImplement the M-step."),
        nbformat.v4.new_code_cell(
            "# NBVAL_IGNORE_OUTPUT\nimport numpy as np\nfrom gmm_lab import load_vowels, m_step\n"
            "from gmm_lab.exercises import check_m_step, check_log_density",
            outputs=[nbformat.v4.new_output("stream", text="loaded\n")],
            execution_count=1,
            metadata={
                "execution": {"iopub.execute_input": "2025-01-01T00:00:00Z"},
                "scrolled": True,
                "tags": ["nbval-ignore-output", "keep-me"],
            },
        ),
        # Marked by the markers only, no nbgrader metadata.
        nbformat.v4.new_code_cell(
            "def my_m_step(X, responsibilities):\n"
            "    ### BEGIN SOLUTION\n"
            "    counts = responsibilities.sum(axis=0)\n"
            "    means = responsibilities.T @ X / counts[:, None]\n"
            "    covariances = np.array([(r[:, None] * (X - m)).T @ (X - m) / n\n"
            "                            for r, m, n in zip(responsibilities.T, means, counts)])\n"
            "    return counts / len(X), means, covariances\n"
            "    ### END SOLUTION",
            execution_count=2,
        ),
        nbformat.v4.new_code_cell(
            "check_m_step(my_m_step)",
            execution_count=3,
            outputs=[nbformat.v4.new_output("stream", text="✓ check_m_step: ...\n")],
        ),
        # The lessons' form: nbgrader metadata and markers inside the def.
        nbformat.v4.new_code_cell(
            "def my_log_density(X, mean, covariance):\n"
            "    ### BEGIN SOLUTION\n"
            "    L = np.linalg.cholesky(covariance)\n"
            "    z = np.linalg.solve(L, (X - mean).T)\n"
            "    return -0.5 * (len(mean) * np.log(2 * np.pi) + (z**2).sum(axis=0)) - np.log(np.diag(L)).sum()\n"
            "    ### END SOLUTION",
            metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "log_density",
                                   "locked": False, "schema_version": 3}},
        ),
        nbformat.v4.new_code_cell(
            "check_log_density(my_log_density)\n### BEGIN HIDDEN TESTS\n"
            "check_log_density(my_log_density, graded=True)\n### END HIDDEN TESTS",
            metadata={"nbgrader": {"solution": False, "grade": True, "points": 1, "locked": True,
                                   "grade_id": "check_log_density", "schema_version": 3}},
        ),
        # A whole cell marked as a solution by metadata alone: nbgrader
        # replaces all of it, so at the top level the stub raises when run.
        nbformat.v4.new_code_cell(
            "n_points = 304",
            metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "count",
                                   "locked": False, "schema_version": 3}},
        ),
        # Later cells use the library, not the student's function.
        nbformat.v4.new_code_cell(
            "X = load_vowels(['IY', 'IH']).X\n"
            "weights, means, covariances = m_step(X, np.ones((len(X), 1)))\n"
            "print(means.round())"
        ),
    ]
    return notebook


def test_solutions_become_nbgraders_stub():
    student = make_student.student_notebook(small_instructor_notebook())
    indented_stub = "    " + NBGRADER_STUB.replace("\n", "\n    ")
    assert student.cells[2].source == "def my_m_step(X, responsibilities):\n" + indented_stub
    assert student.cells[4].source == "def my_log_density(X, mean, covariance):\n" + indented_stub
    assert student.cells[6].source == NBGRADER_STUB
    assert student.cells[3].source == "check_m_step(my_m_step)"
    # The hidden test, the graded check, does not reach the student.
    assert student.cells[5].source == "check_log_density(my_log_density)"
    assert student.cells[0].source == "# A small lesson\n\nImplement the M-step."


def test_outputs_and_run_records_are_cleared():
    instructor = small_instructor_notebook()
    student = make_student.student_notebook(instructor)
    assert instructor.cells[1].outputs, "the instructor notebook is left as it was"
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        assert not {"execution", "scrolled", "collapsed", "ExecuteTime"} & set(cell.metadata)
    assert "widgets" not in student.metadata
    assert student.metadata["kernelspec"]["name"] == "python3"
    assert student.cells[1].source.startswith("import numpy as np")
    assert student.cells[1].metadata["tags"] == ["keep-me"]


def test_check_cells_let_run_all_continue():
    student = make_student.student_notebook(small_instructor_notebook())
    tagged = [
        index
        for index, cell in enumerate(student.cells)
        if "raises-exception" in cell.metadata.get("tags", [])
    ]
    assert tagged == [3, 5]


def test_a_missing_end_marker_is_reported(tmp_path, capsys):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 1")]
    (tmp_path / "source").mkdir()
    nbformat.write(notebook, tmp_path / "source" / "broken.ipynb")
    assert make_student.main([str(tmp_path / "source"), str(tmp_path / "target")]) == 1
    assert "no end solution statement found" in capsys.readouterr().err


def test_the_small_student_notebook_runs_as_a_student_sees_it(tmp_path):
    instructor = small_instructor_notebook()
    executed = execute(make_student.student_notebook(instructor), tmp_path)
    assert check_student_run(instructor, executed) == 2
    assert executed.cells[6].outputs[0].ename == "NotImplementedError"
    assert executed.cells[7].outputs[0].text == "[[ 370. 2483.]]\n"


def test_a_check_of_a_function_the_stub_removed_is_flagged():
    notebook = small_instructor_notebook()
    assert make_student.undefined_checked_functions(make_student.student_notebook(notebook)) == []
    # A solution cell without markers is replaced whole, `def` line included,
    # so the check after it would fail with a NameError.
    notebook.cells[4].source = "def my_log_density(X, mean, covariance):\n    return 0.0 * X[:, 0]"
    student = make_student.student_notebook(notebook)
    assert make_student.undefined_checked_functions(student) == [(5, "my_log_density")]
