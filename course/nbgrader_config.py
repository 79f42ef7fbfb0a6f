"""nbgrader configuration of the gmm_lab course (this folder is the course root).

`make release` copies each lesson with exercises from notebooks/ to
source/<lesson>/<lesson>.ipynb and runs `nbgrader generate_assignment`;
`make grade` runs `nbgrader autograde`, `nbgrader generate_feedback` and
`nbgrader export` on what students handed in under submitted/. See
TEACHING.md.
"""

import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, TagRemovePreprocessor
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearSolutions,
    ComputeChecksums,
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    SaveCells,
)

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.course_id = "gmm_lab"

# --- release: the student edition ------------------------------------------
# nbgrader's default pipeline, with its ClearOutput (which empties every code
# cell) replaced: the lessons' figures and runs are part of the teaching and
# stay; only the exercise cells (tagged "exercise": solution and check) lose
# their outputs, so no solution's result and no "✓" reaches the student.
# Saved widget state (notebook metadata "widgets") is dropped with the rest
# of the notebook metadata but the kernel and language.
c.GenerateAssignment.preprocessors = [
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
    ClearSolutions,
    TagRemovePreprocessor,
    ClearMetadataPreprocessor,
    CheckCellMetadata,
    ComputeChecksums,
    SaveCells,
    ClearHiddenTests,
    ClearMarkScheme,
    ComputeChecksums,
    CheckCellMetadata,
]
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_all_outputs_tags = {"exercise"}
c.ClearMetadataPreprocessor.enabled = True
c.ClearMetadataPreprocessor.clear_cell_metadata = False
c.ClearMetadataPreprocessor.clear_notebook_metadata = True
c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = {"kernelspec", "language_info"}

# --- autograde ---------------------------------------------------------------
# Every check stops the student's code after gmm_lab.exercises.TIME_LIMIT
# seconds (20 s; 60 s for the BIC check, which fits 20 models per case) and
# says so; nbgrader's own per-cell timeout is the backstop above that.
c.Execute.timeout = 120
