"""The lessons travel in the wheel, and two commands copy and open them."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gmm_lab import lessons

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def test_the_lessons_are_the_projects_notebooks_in_order():
    expected = sorted(path.name for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert len(expected) >= 5
    assert lessons.lesson_names() == expected


def test_copy_puts_every_lesson_and_the_readme_in_the_folder(tmp_path):
    copied = lessons.copy_lessons(tmp_path / "course")
    assert sorted(path.name for path in copied) == lessons.lesson_names()
    assert (tmp_path / "course" / "README.md").is_file()
    for path in copied:
        assert json.loads(path.read_text())["cells"], f"{path.name} is empty"


def test_copy_keeps_a_students_edited_lesson_unless_told(tmp_path):
    first = lessons.lesson_names()[0]
    (tmp_path / first).write_text("my work")
    copied = lessons.copy_lessons(tmp_path)
    assert (tmp_path / first).read_text() == "my work"
    assert first not in [path.name for path in copied]
    lessons.copy_lessons(tmp_path, overwrite=True)
    assert (tmp_path / first).read_text() != "my work"


def test_copy_into_a_file_says_so(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(NotADirectoryError, match="is a file"):
        lessons.copy_lessons(tmp_path / "taken")
    assert lessons.main(["copy", str(tmp_path / "taken")]) == 1


def test_the_command_lists_and_copies(tmp_path, capsys):
    assert lessons.main(["list"]) == 0
    assert capsys.readouterr().out.split() == lessons.lesson_names()
    assert lessons.main(["copy", str(tmp_path / "mine")]) == 0
    assert f"copied {len(lessons.lesson_names())} lessons" in capsys.readouterr().out


@pytest.mark.slow
def test_the_wheel_carries_the_lessons(installed_wheel, tmp_path):
    """Installed from the wheel, with no checkout beside it, the lessons copy out."""
    result = subprocess.run(
        [sys.executable, "-m", "gmm_lab.lessons", "copy", str(tmp_path / "course")],
        cwd=tmp_path, env={"PYTHONPATH": str(installed_wheel), "PATH": ""},
        capture_output=True, text=True, check=True,
    )
    assert "copied" in result.stdout
    assert (installed_wheel / "gmm_lab" / "_lessons").is_dir()
    names = sorted(path.name for path in (tmp_path / "course").glob("*.ipynb"))
    assert names == lessons.lesson_names()


def test_the_readmes_count_the_graded_exercises():
    """README.md and notebooks/README.md say how many graded exercises (and
    points) the lessons hold; count them from nbgrader's cell metadata."""
    checks = [cell["metadata"]["nbgrader"] for path in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")
              for cell in json.loads(path.read_text())["cells"]
              if cell["metadata"].get("nbgrader", {}).get("grade")]
    points = sum(check["points"] for check in checks)
    root = NOTEBOOKS.parent
    assert f"with {len(checks)} graded exercises" in " ".join((root / "README.md").read_text().split())
    assert (f"There are {len(checks)} graded exercises ({points} points)"
            in " ".join((NOTEBOOKS / "README.md").read_text().split()))
