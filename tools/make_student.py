"""Write the student edition of the lesson notebooks.

    python tools/make_student.py notebooks build/student

The notebooks in ``notebooks/`` are the instructor edition: each exercise
holds its solution between nbgrader's markers, inside a code cell::

    def my_m_step(X, responsibilities):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION

The student edition of each notebook

- replaces every solution with nbgrader's stub, ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` (a cell marked as an nbgrader solution cell
  without markers is replaced whole, as nbgrader does);
- removes the hidden tests (``### BEGIN HIDDEN TESTS`` .. ``### END HIDDEN
  TESTS``), the graded checks that decide the points;
- keeps the check cells, and tags them ``raises-exception`` so that
  JupyterLab's "Run All" carries on past an exercise that is not done yet;
- clears all outputs and execution counts;
- drops metadata that only records a past run (timings, saved widget
  state, scroll state) and the nbval markers that only the test suite reads.

Solutions, hidden tests and outputs are cleared by nbgrader's own
preprocessors (``ClearSolutions``, ``ClearHiddenTests``, ``ClearOutput``),
used standalone: no nbgrader course directory or configuration is needed.
This is the quick edition for a folder of notebooks (``make student``); the
graded course, with its gradebook and with the lessons' outputs kept, is
``make release`` (tools/course.py, TEACHING.md).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearHiddenTests, ClearOutput, ClearSolutions

# Notebook metadata that describes a past session, not the lesson.
VOLATILE_NOTEBOOK_METADATA = ("widgets", "celltoolbar", "toc", "varInspector", "vscode", "colab")
# Cell metadata that describes a past run: JupyterLab's execution timings,
# the ExecuteTime extension, scroll and collapse state of outputs.
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled")

# "# NBVAL_IGNORE_OUTPUT" and friends: instructions to nbval in CI.
NBVAL_COMMENT = re.compile(r"^[ \t]*#[ \t]*NBVAL_[A-Z_]+[ \t]*\n?", re.MULTILINE)
NBVAL_TAG_PREFIX = "nbval-"

SOLUTION_MARKER = "### BEGIN SOLUTION"
# A check cell calls one of gmm_lab.exercises' checkers, at the start of a line.
CHECK_CALL = re.compile(r"^\s*check_\w+\(", re.MULTILINE)
CHECKED_FUNCTION = re.compile(r"^\s*check_\w+\(\s*(\w+)", re.MULTILINE)
# IPython magics and shell escapes are not Python; skip them when parsing.
IPYTHON_LINE = re.compile(r"^\s*[%!].*$", re.MULTILINE)


def is_solution_cell(cell) -> bool:
    """A cell with a solution: nbgrader metadata says so, or it holds the marker."""
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution")) or (
        SOLUTION_MARKER in cell.source
    )


def is_check_cell(cell) -> bool:
    """A code cell that calls an exercise checker (or an nbgrader grade cell)."""
    if cell.cell_type != "code":
        return False
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    if nbgrader.get("grade") and not nbgrader.get("solution"):
        return True
    return bool(CHECK_CALL.search(cell.source))


def _strip_run_records(notebook) -> None:
    for key in VOLATILE_NOTEBOOK_METADATA:
        notebook.metadata.pop(key, None)
    for cell in notebook.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
        tags = cell.metadata.get("tags", [])
        tags = [tag for tag in tags if not tag.startswith(NBVAL_TAG_PREFIX)]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
        if cell.cell_type == "code":
            cell.source = NBVAL_COMMENT.sub("", cell.source)


def _let_run_all_continue(notebook) -> None:
    # JupyterLab sends stop_on_error=False for a cell tagged
    # "raises-exception", so the queued cells after a failing check still run.
    for cell in notebook.cells:
        if is_check_cell(cell):
            tags = cell.metadata.setdefault("tags", [])
            if "raises-exception" not in tags:
                tags.append("raises-exception")


def undefined_checked_functions(notebook) -> list:
    """Check cells whose function is no longer defined in the student edition.

    nbgrader replaces a solution cell without markers whole, ``def`` line
    included; a later ``check_...(my_function)`` then fails with a NameError
    instead of the "not filled in yet" message. Keep the ``def`` line
    outside the markers.

    Returns
    -------
    list of (int, str)
        Cell index and function name of each such check.
    """
    defined, problems = set(), []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        if is_check_cell(cell):
            for name in CHECKED_FUNCTION.findall(cell.source):
                if name not in defined:
                    problems.append((index, name))
        defined.update(_defined_names(cell.source))
    return problems


def _defined_names(source: str) -> set:
    """Names a cell binds at its top level: functions, classes, assignments, imports."""
    try:
        tree = ast.parse(IPYTHON_LINE.sub("", source))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def student_notebook(notebook):
    """Return the student edition of one instructor notebook.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
        The instructor notebook; it is not modified.

    Returns
    -------
    nbformat.NotebookNode
        Solutions replaced by the stub, outputs cleared, run records removed.
    """
    notebook = nbformat.from_dict(notebook)  # a deep copy
    # enforce_metadata=False: a solution region is recognised by its markers
    # alone, so a cell needs no nbgrader metadata (nbgrader's full pipeline
    # needs it for grading; this edition is not graded by nbgrader).
    notebook, resources = ClearSolutions(enforce_metadata=False).preprocess(notebook, {})
    notebook, resources = ClearHiddenTests().preprocess(notebook, resources)
    notebook, resources = ClearOutput().preprocess(notebook, resources)
    _strip_run_records(notebook)
    _let_run_all_continue(notebook)
    return notebook


def make_student_edition(source: Path, target: Path) -> list:
    """Write the student edition of every notebook in ``source`` to ``target``.

    Parameters
    ----------
    source : Path
        Folder of instructor notebooks (``*.ipynb``, not searched recursively).
    target : Path
        Folder to write to; created if missing. Existing notebooks of the
        same name are overwritten.

    Returns
    -------
    list of Path
        The notebooks written, in name order.
    """
    source, target = Path(source), Path(target)
    if not source.is_dir():
        raise FileNotFoundError(f"No folder of notebooks at {source}.")
    if source.resolve() == target.resolve():
        raise ValueError(
            "source and target are the same folder: that would overwrite the solutions."
        )
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for path in sorted(source.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        student = student_notebook(notebook)
        nbformat.validate(student)
        for index, name in undefined_checked_functions(student):
            print(
                f"make_student: warning: {path.name}, cell {index} checks {name}, which the "
                "student edition no longer defines (a solution cell replaced whole?). Keep "
                f"the line `def {name}(...):` outside the solution markers.",
                file=sys.stderr,
            )
        destination = target / path.name
        nbformat.write(student, destination)
        written.append(destination)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Write the student edition of the lesson notebooks: solutions "
        "replaced by a stub, checks kept, outputs cleared."
    )
    parser.add_argument("source", type=Path, help="folder of instructor notebooks, e.g. notebooks")
    parser.add_argument("target", type=Path, help="folder to write to, e.g. build/student")
    arguments = parser.parse_args(argv)
    try:
        written = make_student_edition(arguments.source, arguments.target)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        # RuntimeError: nbgrader's message for a BEGIN SOLUTION without END SOLUTION.
        print(f"make_student: {error}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"make_student: no notebooks in {arguments.source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
