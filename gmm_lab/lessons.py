"""The lessons, from the installed package: copy them out, open JupyterLab on them.

A student or teacher on JupyterHub, or on Windows without ``make``, has no
clone of the project; the wheel carries the lesson notebooks, and two
commands (plain Python, nothing Unix-only) put them to use::

    gmm-lab-lessons copy [FOLDER]    # copy the lessons into FOLDER (default: gmm_lab_lessons)
    gmm-lab-lessons open [FOLDER]    # copy them if FOLDER has none yet, then start JupyterLab

``python -m gmm_lab.lessons ...`` does the same where the script is not on PATH.
"""

import argparse
import os
import shutil
import subprocess
import sys
from importlib import resources
from importlib.util import find_spec
from pathlib import Path

__all__ = ["lessons_path", "lesson_names", "copy_lessons", "open_lessons", "main"]

DEFAULT_FOLDER = "gmm_lab_lessons"


def lessons_path() -> Path:
    """Folder holding the lesson notebooks.

    In an installed wheel they live in ``gmm_lab/_lessons/``; in a source
    checkout (editable install) in the project's ``notebooks/`` folder.
    """
    packaged = resources.files("gmm_lab") / "_lessons"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "notebooks"


def lesson_names() -> list:
    """File names of the lessons, in teaching order (``01_...ipynb`` first)."""
    return sorted(path.name for path in lessons_path().glob("[0-9][0-9]_*.ipynb"))


def copy_lessons(folder=DEFAULT_FOLDER, *, overwrite: bool = False) -> list:
    """Copy the lessons (and their README) into ``folder``.

    Parameters
    ----------
    folder : str or path-like
        Created if missing.
    overwrite : bool
        A lesson already in ``folder`` is a student's work: it is kept unless
        ``overwrite`` is true.

    Returns
    -------
    list of Path
        The notebooks now in ``folder`` that came from this copy.
    """
    source = lessons_path()
    names = lesson_names()
    if not names:
        raise FileNotFoundError(
            f"no lesson notebooks found in {source}; reinstall gmm_lab "
            "(pip install --force-reinstall gmm_lab)."
        )
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(f"{target} is a file; give a folder name for the lessons.")
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in names + ["README.md"]:
        if not (source / name).is_file():
            continue
        destination = target / name
        if destination.exists() and not overwrite:
            continue
        shutil.copyfile(source / name, destination)
        if name.endswith(".ipynb"):
            copied.append(destination)
    return copied


def open_lessons(folder=DEFAULT_FOLDER) -> int:
    """Copy the lessons into ``folder`` if needed and start JupyterLab there.

    Returns JupyterLab's exit status.
    """
    copy_lessons(folder)
    command = [sys.executable, "-m", "jupyter", "lab", str(folder)]
    # JupyterLab refuses to start as root without --allow-root (containers
    # and CI machines often run as root); os.getuid does not exist on Windows.
    if getattr(os, "getuid", lambda: 1)() == 0:
        command.append("--allow-root")
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 130


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="gmm-lab-lessons",
        description="Copy gmm_lab's lesson notebooks into a folder, or open JupyterLab on them.",
    )
    parser.add_argument("action", choices=["copy", "open", "list"],
                        help="copy: copy the lessons; open: copy if needed, then start JupyterLab; "
                             "list: print the lessons' names")
    parser.add_argument("folder", nargs="?", default=DEFAULT_FOLDER,
                        help=f"where the lessons go (default: {DEFAULT_FOLDER})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace lessons already in the folder (your edits are lost)")
    args = parser.parse_args(argv)
    if args.action == "list":
        print("\n".join(lesson_names()))
        return 0
    try:
        if args.action == "copy":
            copied = copy_lessons(args.folder, overwrite=args.overwrite)
            kept = len(lesson_names()) - len(copied)
            print(f"copied {len(copied)} lessons into {args.folder}"
                  + (f" ({kept} already there kept; --overwrite replaces them)" if kept else ""))
            return 0
        if find_spec("jupyterlab") is None:
            print("gmm-lab-lessons: JupyterLab is not installed; install it with "
                  "pip install 'gmm_lab[lab]'", file=sys.stderr)
            return 1
        return open_lessons(args.folder)
    except OSError as error:
        print(f"gmm-lab-lessons: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
