"""Run the tests under each supported Python found on this machine.

Each interpreter gets its own virtual environment (``.venv-python3.X``) with
gmm_lab and its lesson, test and teaching extras, then runs the unit tests
and the notebooks (the browser tests need only one Python and are left to
``make test``). Interpreters are looked for on PATH and, where pyenv is used,
among its installed versions.

    python tools/test_pythons.py              # python3.11 and python3.13
    python tools/test_pythons.py python3.12   # any others
"""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ["python3.11", "python3.13"]  # the oldest claimed and the newest tried
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg",
         "--nbval-cell-timeout=300"]


def find_python(name: str):
    """Path of a working interpreter called ``name``, or None."""
    candidates = [shutil.which(name)]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "*", "bin", name)))
    for candidate in filter(None, candidates):
        # A pyenv shim exists for every version but runs only the selected ones.
        if subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    return None


def run(command, **options) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, **options)


def test_with(name: str) -> None:
    python = find_python(name)
    if python is None:
        print(f"{name}: not found on this machine, skipped")
        return
    venv = ROOT / f".venv-{name}"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    run([python, "-m", "venv", str(venv)])
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    run([bin_dir / "python", "-m", "pip", "install", "--quiet", "-e", ".[lab,test,teacher]"])
    run([bin_dir / "python", "-m", "pytest", "-q", *NBVAL, "-m", "not e2e", "tests", "notebooks"])


def main(names) -> int:
    try:
        for name in names or DEFAULT:
            print(f"== {name}", flush=True)
            test_with(name)
    except subprocess.CalledProcessError as error:
        print(f"failed: {' '.join(map(str, error.cmd))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
