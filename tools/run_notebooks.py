"""Execute lesson notebooks in place, as they are committed.

Each notebook runs top to bottom in a fresh kernel of this environment; the
outputs are stored, but not the widget state (a saved state would make
JupyterLab and nbconvert's HTML export draw from it instead of the outputs)
nor the per-cell timing records (they would change every run).

    python tools/run_notebooks.py notebooks/03_em_step_by_step.ipynb ...
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_notebook(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
        record_timing=False,
    )
    client.execute()
    notebook.metadata.pop("widgets", None)
    notebook.metadata["language_info"] = {"name": "python"}  # no interpreter version
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, path)


def main(paths) -> int:
    for name in paths:
        start = time.perf_counter()
        run_notebook(Path(name))
        print(f"{name}: ran in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
