"""Run the lessons as an nbgrader course: release them, grade what comes back.

    python tools/course.py release [--course course] [--lessons notebooks]
    python tools/course.py grade [--course course]

``release`` copies every lesson of ``notebooks/`` that has graded exercises
to ``course/source/<lesson>/<lesson>.ipynb`` (one nbgrader assignment per
lesson, named after the notebook) and runs ``nbgrader generate_assignment``
for each: the student edition lands in ``course/release/<lesson>/``, the
gradebook (``course/gradebook.db``) learns the assignment, its cells and
points. The course's ``nbgrader_config.py`` keeps the outputs of every cell
that is not an exercise and drops saved widget state.

``grade`` finds the hand-ins under ``course/submitted/<student>/<lesson>/``
and runs ``nbgrader autograde`` (the hidden tests decide the points),
``nbgrader generate_feedback`` (HTML in ``course/feedback/``) and
``nbgrader export`` (``course/grades.csv``).

Every step is nbgrader's own command, run in the course directory, so a
teacher can run the same commands by hand (TEACHING.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
COURSE = ROOT / "course"
LESSONS = ROOT / "notebooks"
CONFIG = "nbgrader_config.py"


def nbgrader_command() -> list:
    """nbgrader of this environment (the one next to this Python)."""
    script = Path(sys.executable).parent / ("nbgrader.exe" if sys.platform == "win32" else "nbgrader")
    return [str(script)] if script.exists() else [sys.executable, "-m", "nbgrader"]


def nbgrader(course: Path, *arguments: str) -> subprocess.CompletedProcess:
    """Run one nbgrader command in the course directory; fail loudly with its log."""
    # nbgrader runs `alembic` (its database migrations) from PATH: put this
    # environment's scripts first, as activating it would.
    environment = dict(os.environ)
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent),
                                           environment.get("PATH", "")])
    completed = subprocess.run([*nbgrader_command(), *arguments], cwd=course,
                               capture_output=True, text=True, env=environment)
    if completed.returncode != 0:
        raise RuntimeError(
            f"nbgrader {' '.join(arguments)} failed ({completed.returncode}):\n"
            f"{completed.stdout}\n{completed.stderr}")
    return completed


def graded_points(notebook) -> float:
    """Total points of a notebook's nbgrader grade cells."""
    return sum(float(cell.metadata.get("nbgrader", {}).get("points", 0))
               for cell in notebook.cells
               if cell.metadata.get("nbgrader", {}).get("grade"))


def lessons_with_exercises(lessons: Path, names=None) -> list:
    """The lesson notebooks that hold at least one graded exercise."""
    found = []
    for path in sorted(Path(lessons).glob("[0-9][0-9]_*.ipynb")):
        if names and path.stem not in names and path.name not in names:
            continue
        if graded_points(nbformat.read(path, as_version=4)) > 0:
            found.append(path)
    return found


def prepare(course: Path, lessons: Path, names=None) -> list:
    """Make ``course`` a course directory: the config and one source assignment per lesson.

    Returns the assignment names.
    """
    course = Path(course)
    course.mkdir(parents=True, exist_ok=True)
    if (course / CONFIG).resolve() != (COURSE / CONFIG).resolve():
        shutil.copy(COURSE / CONFIG, course / CONFIG)
    assignments = []
    for path in lessons_with_exercises(lessons, names):
        folder = course / "source" / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / path.name)
        assignments.append(path.stem)
    return assignments


def release(course: Path = COURSE, lessons: Path = LESSONS, names=None) -> list:
    """Generate the student edition of every lesson with exercises; returns the assignments."""
    assignments = prepare(course, lessons, names)
    for assignment in assignments:
        nbgrader(course, "generate_assignment", assignment, "--force")
        released = Path(course) / "release" / assignment / f"{assignment}.ipynb"
        notebook = nbformat.read(released, as_version=4)
        if "widgets" in notebook.metadata:
            raise RuntimeError(f"{released} still holds saved widget state")
        print(f"released {released} (points: {graded_points(notebook):g})")
    return assignments


def submitted_assignments(course: Path) -> list:
    """Assignment names that at least one student handed in."""
    return sorted({folder.name for student in (Path(course) / "submitted").glob("*")
                   for folder in student.glob("*") if folder.is_dir()})


def grade(course: Path = COURSE, csv_name: str = "grades.csv") -> Path:
    """Autograde every hand-in, write feedback, export the grades; returns the CSV's path."""
    course = Path(course)
    assignments = submitted_assignments(course)
    if not assignments:
        raise FileNotFoundError(
            f"No hand-ins in {course / 'submitted'}: expected "
            "submitted/<student>/<lesson>/<lesson>.ipynb.")
    for assignment in assignments:
        nbgrader(course, "autograde", assignment, "--force")
        nbgrader(course, "generate_feedback", assignment, "--force")
    nbgrader(course, "export", "--to", csv_name)
    print(f"grades: {course / csv_name}")
    return course / csv_name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["release", "grade"])
    parser.add_argument("--course", type=Path, default=COURSE, help="the nbgrader course folder")
    parser.add_argument("--lessons", type=Path, default=LESSONS, help="the instructor lessons")
    parser.add_argument("--only", nargs="*", help="release only these lessons (notebook names)")
    arguments = parser.parse_args(argv)
    try:
        if arguments.command == "release":
            release(arguments.course, arguments.lessons, arguments.only)
        else:
            grade(arguments.course)
    except (RuntimeError, FileNotFoundError) as error:
        print(f"course: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
