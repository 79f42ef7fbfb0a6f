"""A one-cell notebook that shows gmm_lab's browser viewer, for the browser tests.

The run is small (IY and IH, K = 2, k-means++ from seed 0) so that the
notebook executes in a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

CELLS = [
    "from gmm_lab import load_vowels, run_em\n"
    "from gmm_lab.viewer import EMViewerWidget",
    'data = load_vowels(["IY", "IH"])\n'
    'history = run_em(data.X, 2, init_params="k-means++", random_state=0)\n'
    "viewer = EMViewerWidget(history, data)\n"
    "viewer",
]


def write_viewer_notebook(path: Path) -> Path:
    """Write the (unexecuted) notebook to ``path`` and return the path."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    path = Path(path)
    nbformat.write(notebook, path)
    return path


def execute_without_widget_state(path: Path) -> Path:
    """Run the notebook in place in a fresh kernel, storing outputs but no widget state
    (as tools/run_notebooks.py does for the lessons)."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}},
                   store_widget_state=False, record_timing=False).execute()
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)
    return path
