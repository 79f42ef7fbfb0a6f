"""The graded exercises of the lessons, and the script that puts them in place.

    python tools/lesson_exercises.py notebooks/        # insert or update, in place
    python tools/lesson_exercises.py notebooks/ --out build/with_exercises

Each exercise is three cells: a Markdown cell that asks, a solution cell
(nbgrader ``solution``, the answer between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, scaffolding comments outside the markers so that the
student's stub keeps them) and a check cell (nbgrader ``grade`` with its
points, locked). The check cell shows the student the practice check; the
graded check, with the hidden test cases, sits between nbgrader's
``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS`` markers, so the
released notebook does not show it. Both code cells carry the tag
``exercise``: the course's release configuration clears those cells'
outputs (and only those).

An exercise is inserted where its lesson teaches the idea: before or after
the first cell that matches its anchor (a Markdown heading found inside a
longer cell splits that cell). Running the script again updates the cells
with the same ``grade_id`` in place; nothing is inserted twice.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

EXERCISE_TAG = "exercise"


@dataclass(frozen=True)
class Exercise:
    grade_id: str
    points: int
    anchor: str        # a regular expression matched against cell sources (MULTILINE)
    position: str      # "before" or "after" the anchor cell; "heading": before that heading
    markdown: str
    solution: str
    check: str


def _graded(call: str) -> str:
    """'check_x(f)' -> 'check_x(f, graded=True)'; 'check_prediction(v, "id")' likewise."""
    return call[:-1] + ", graded=True)"


def _check_cell(call: str, imports: str = "") -> str:
    head = f"{imports}\n\n" if imports else ""
    return f"{head}{call}\n### BEGIN HIDDEN TESTS\n{_graded(call)}\n### END HIDDEN TESTS"


LESSONS = {
    "01_vowel_data.ipynb": [
        Exercise(
            "vowel_means", 1, r"^## Men, women and children", "heading",
            "### Exercise · the mean formants of each vowel\n\n"
            "The large markers in the chart are the vowels' means. Write "
            "`my_vowel_means(X, labels, vowels)` that returns, for each label in `vowels` "
            "(in that order), the mean of every column of `X` over the tokens with that "
            "label: an array of shape `(len(vowels), n_features)`. The check runs it on "
            "small hand-made cases and on the vowel data, with two, three and four formants.",
            "import numpy as np\n\n\n"
            "def my_vowel_means(X, labels, vowels):\n"
            "    \"\"\"Mean of the rows of X with each label in `vowels`, in that order.\"\"\"\n"
            "    # for each vowel: select its rows of X (a boolean mask), average them over the rows\n"
            "    ### BEGIN SOLUTION\n"
            "    return np.array([X[labels == vowel].mean(axis=0) for vowel in vowels])\n"
            "    ### END SOLUTION",
            _check_cell("check_vowel_means(my_vowel_means)",
                        "from gmm_lab.exercises import check_vowel_means"),
        ),
        Exercise(
            "f2_prediction", 1, r"^## Men, women and children", "heading",
            "### Predict, then run\n\n"
            "A shorter vocal tract resonates at higher frequencies. Before you look at the "
            "next section: from men to women to children, does the mean F2 of IY (\"heed\") "
            "**rise** or **fall**? Write `\"rises\"` or `\"falls\"` in `f2_prediction`; the "
            "check computes the three means and compares.",
            "f2_prediction = None  # \"rises\" or \"falls\"\n"
            "### BEGIN SOLUTION\n"
            "f2_prediction = \"rises\"\n"
            "### END SOLUTION",
            _check_cell('check_prediction(f2_prediction, "iy_f2_by_group")',
                        "from gmm_lab.exercises import check_prediction"),
        ),
    ],
    "02_gaussians_and_the_e_step.ipynb": [],  # exercises 1 and 2 are there; see UPDATES
    "03_em_step_by_step.ipynb": [
        Exercise(
            "em_loop", 2, r"^## EM on ", "heading",
            "### Exercise · the EM loop\n\n"
            "Now put the two steps together, as the handout's loop does. Write "
            "`my_em(X, weights, means, covariances, e_step, m_step, tol, max_iter)` that starts "
            "from $\\theta_0$ = `(weights, means, covariances)` and, for $t = 0, 1, \\dots$:\n\n"
            "1. runs the E-step at $\\theta_t$, `responsibilities, log_likelihood = "
            "e_step(X, weights, means, covariances)`, and records $L(\\theta_t)$;\n"
            "2. stops if $t \\ge 1$ and $|L(\\theta_t) - L(\\theta_{t-1})| / N <$ `tol`, or if "
            "$t$ = `max_iter`;\n"
            "3. otherwise runs the M-step, `weights, means, covariances = m_step(X, "
            "responsibilities)`.\n\n"
            "It returns `(weights, means, covariances, log_likelihoods)`: $\\theta_T$ and the list "
            "$[L(\\theta_0), \\dots, L(\\theta_T)]$. The check passes gmm_lab's own `e_step` and "
            "`m_step` (a slip in your M-step does not cost you twice) and compares your run with "
            "`run_em` from the same start: the same $L(\\theta_t)$, never falling, the same number "
            "of iterations, the same final parameters. A loop that calls `run_em` or a "
            "`GaussianMixture` earns no points. (2 points)",
            "def my_em(X, weights, means, covariances, e_step, m_step, tol=1e-3, max_iter=100):\n"
            "    \"\"\"EM from theta_0; returns (weights, means, covariances, log_likelihoods).\"\"\"\n"
            "    log_likelihoods = []\n"
            "    # for t = 0, 1, ..., max_iter: the E-step at theta_t, record L(theta_t);\n"
            "    # stop when t >= 1 and the change of L per point is below tol, or at t == max_iter;\n"
            "    # otherwise the M-step gives theta_(t+1)\n"
            "    ### BEGIN SOLUTION\n"
            "    for t in range(max_iter + 1):\n"
            "        responsibilities, log_likelihood = e_step(X, weights, means, covariances)\n"
            "        log_likelihoods.append(log_likelihood)\n"
            "        if t > 0 and abs(log_likelihoods[-1] - log_likelihoods[-2]) / X.shape[0] < tol:\n"
            "            break\n"
            "        if t < max_iter:\n"
            "            weights, means, covariances = m_step(X, responsibilities)\n"
            "    ### END SOLUTION\n"
            "    return weights, means, covariances, log_likelihoods",
            _check_cell("check_em_loop(my_em)", "from gmm_lab.exercises import check_em_loop"),
        ),
        Exercise(
            "split_prediction", 1, r"^## Which optimum\?", "after",
            "**Predict, then run.** The next cell fits two full Gaussians to these 304 tokens in "
            "Hz, started from k-means (`init_params=\"kmeans\"`, `random_state=0`, `tol=1e-6`). "
            "Will its two components separate the **vowels** (\"heed\" from \"hid\") or the "
            "**speakers** (men from women and children)? Write `\"vowels\"` or `\"speakers\"` in "
            "`split_prediction`; the check runs that fit and compares.",
            "split_prediction = None  # \"vowels\" or \"speakers\"\n"
            "### BEGIN SOLUTION\n"
            "split_prediction = \"speakers\"\n"
            "### END SOLUTION",
            _check_cell('check_prediction(split_prediction, "two_vowel_split")',
                        "from gmm_lab.exercises import check_prediction"),
        ),
    ],
    "04_what_can_go_wrong.ipynb": [
        Exercise(
            "trend_prediction", 1, r"^What `reg_covar` is \*not\*|^## How many components", "before",
            "### Predict, then run\n\n"
            "The same start once more (\"hod\", $K=5$, `init_params=\"kmeans\"`, "
            "`random_state=5`), now with a much larger floor, `reg_covar` = 4000 Hz². Will "
            "$L(\\theta_t)$ **rise** at every iteration, as it did with $10^{-6}$ and 25 Hz², or "
            "**fall**? Write `\"rises\"` or `\"falls\"` in `trend_prediction`; the check runs it "
            "and compares.",
            "trend_prediction = None  # \"rises\" or \"falls\"\n"
            "### BEGIN SOLUTION\n"
            "trend_prediction = \"falls\"\n"
            "### END SOLUTION",
            _check_cell('check_prediction(trend_prediction, "reg_covar_trend")',
                        "from gmm_lab.exercises import check_prediction"),
        ),
        Exercise(
            "n_parameters", 1, r"^## (A mixture is a density|A singular covariance)", "heading",
            "### Exercise · counting the free parameters\n\n"
            "BIC charges $p \\log N$ for the $p$ free parameters. Write "
            "`my_n_parameters(n_components, n_features, covariance_type)` that counts them for "
            "each covariance type: `\"full\"` (one symmetric $D \\times D$ matrix per "
            "component), `\"diag\"` (a diagonal one per component), `\"tied\"` (one full matrix "
            "shared by all components) and `\"spherical\"` ($\\sigma_k^2 I$ per component), "
            "besides the means and the weights (which sum to 1). Asking the estimator "
            "(`_n_parameters`, `bic`) earns no points.",
            "def my_n_parameters(n_components, n_features, covariance_type):\n"
            "    \"\"\"The number of free parameters p of a Gaussian mixture.\"\"\"\n"
            "    K, D = n_components, n_features\n"
            "    # weights: how many are free, given that they sum to 1? means: how many numbers?\n"
            "    # covariances: how many free entries does each covariance type have?\n"
            "    ### BEGIN SOLUTION\n"
            "    covariance = {\"full\": K * D * (D + 1) // 2, \"diag\": K * D,\n"
            "                  \"tied\": D * (D + 1) // 2, \"spherical\": K}[covariance_type]\n"
            "    return (K - 1) + K * D + covariance\n"
            "    ### END SOLUTION",
            _check_cell("check_n_parameters(my_n_parameters)",
                        "from gmm_lab.exercises import check_n_parameters"),
        ),
        Exercise(
            "choose_by_bic", 1, r"^## (A mixture is a density|A singular covariance)", "heading",
            "### Exercise · choosing $K$ and the covariance type by BIC\n\n"
            "Write `my_choose_by_bic(X, ks, covariance_types)` that fits "
            "`GaussianMixture(k, covariance_type=t, init_params=\"kmeans\", random_state=0)` for "
            "every `k` in `ks` and `t` in `covariance_types` and returns the pair `(k, t)` with "
            "the lowest BIC $= -2L + p\\log N$ (`model.bic(X)` computes it; "
            "`model.score(X)` is $L/N$). The check runs it on small vowel sets, $K$ up to 6 "
            "and all four covariance types.",
            "from gmm_lab import GaussianMixture\n\n\n"
            "def my_choose_by_bic(X, ks, covariance_types):\n"
            "    \"\"\"(k, covariance_type) with the lowest BIC.\"\"\"\n"
            "    # fit one model per pair (k, t), compute its BIC, keep the lowest\n"
            "    ### BEGIN SOLUTION\n"
            "    best = None\n"
            "    for k in ks:\n"
            "        for covariance_type in covariance_types:\n"
            "            model = GaussianMixture(k, covariance_type=covariance_type, init_params=\"kmeans\",\n"
            "                                    random_state=0).fit(X)\n"
            "            bic = model.bic(X)\n"
            "            if best is None or bic < best[0]:\n"
            "                best = (bic, k, covariance_type)\n"
            "    return best[1], best[2]\n"
            "    ### END SOLUTION",
            _check_cell("check_choose_by_bic(my_choose_by_bic)",
                        "from gmm_lab.exercises import check_choose_by_bic"),
        ),
        Exercise(
            "zero_variance_direction", 1, r"^## Summary", "heading",
            "### Exercise · diagnosing the singular model\n\n"
            "Find the direction in which the data have no variance, whatever the derived "
            "feature is. Write `my_zero_variance_direction(X)` that returns the unit vector "
            "along which `X` varies least: the eigenvector of the covariance of `X` "
            "(`np.cov(X.T, bias=True)`) with the smallest eigenvalue (`np.linalg.eigh`). For F1, "
            "F2, F1 + F2 it is $(1, 1, -1)/\\sqrt3$, up to its sign.",
            "def my_zero_variance_direction(X):\n"
            "    \"\"\"Unit vector of shape (n_features,) along which X varies least.\"\"\"\n"
            "    # the covariance of X; its eigenvalues and eigenvectors; the one that belongs to the smallest\n"
            "    ### BEGIN SOLUTION\n"
            "    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X.T, bias=True))\n"
            "    return eigenvectors[:, 0]\n"
            "    ### END SOLUTION",
            _check_cell("check_zero_variance_direction(my_zero_variance_direction)",
                        "from gmm_lab.exercises import check_zero_variance_direction"),
        ),
        Exercise(
            "fix_features", 1, r"^## Summary", "heading",
            "### Exercise · fixing it\n\n"
            "Write `my_fix_features(X)` that returns features without that direction: one column "
            "fewer, a covariance of full rank, and no information lost (every column of `X` must "
            "still be a linear function of your features). The check then runs EM on your "
            "features with `reg_covar=0`. Noise or a regulariser only hides the redundancy; it "
            "does not pass.",
            "def my_fix_features(X):\n"
            "    \"\"\"X without its direction of zero variance: shape (n_samples, n_features - 1).\"\"\"\n"
            "    # keep every direction that has variance, drop the one that has none\n"
            "    ### BEGIN SOLUTION\n"
            "    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(X.T, bias=True))\n"
            "    return X @ eigenvectors[:, 1:]\n"
            "    ### END SOLUTION",
            _check_cell("check_fix_features(my_fix_features)",
                        "from gmm_lab.exercises import check_fix_features"),
        ),
    ],
    "05_classifying_vowels.ipynb": [
        Exercise(
            "class_posteriors", 1, r"^## Testing on speakers", "heading",
            "### Exercise · Bayes' rule\n\n"
            "Write `my_class_posteriors(mixtures, log_priors, X)` that returns "
            "$P(c \\mid x_n) = p(x_n \\mid c)\\,P(c) / \\sum_{c'} p(x_n \\mid c')\\,P(c')$ for "
            "every token and class, shape `(n_samples, n_classes)`, from one fitted mixture per "
            "class (`mixtures[c].score_samples(X)` is $\\log p(x_n \\mid c)$) and the log priors. "
            "Stay in log space: the check includes tokens far from every vowel. Using "
            "`GMMClassifier` earns no points.",
            "def my_class_posteriors(mixtures, log_priors, X):\n"
            "    \"\"\"P(c | x_n) for every token and class, shape (n_samples, n_classes).\"\"\"\n"
            "    # a_nc = log p(x_n | c) + log P(c); then normalise each row in log space\n"
            "    ### BEGIN SOLUTION\n"
            "    a = np.column_stack([mixture.score_samples(X) for mixture in mixtures]) + log_priors\n"
            "    a = a - a.max(axis=1, keepdims=True)\n"
            "    return np.exp(a) / np.exp(a).sum(axis=1, keepdims=True)\n"
            "    ### END SOLUTION",
            _check_cell("check_class_posteriors(my_class_posteriors)",
                        "from gmm_lab.exercises import check_class_posteriors"),
        ),
        Exercise(
            "heldout_accuracy", 1, r"^## All ten vowels", "heading",
            "### Exercise · the handout's task, by hand\n\n"
            "Write `my_heldout_accuracy(X, y, train, test, n_components)`: fit one "
            "`GaussianMixture(n_components, covariance_type=\"full\", init_params=\"k-means++\", "
            "random_state=0)` per vowel on that vowel's training tokens (`train` and `test` are "
            "boolean masks over the rows), classify the test tokens with equal priors, and "
            "return the fraction classified correctly. The check runs it on \"heed\" and "
            "\"hid\" with $K=3$ and $K=6$, holding out the speakers of one of the folds above.",
            "from gmm_lab import GaussianMixture\n\n\n"
            "def my_heldout_accuracy(X, y, train, test, n_components):\n"
            "    \"\"\"Fraction of the test tokens classified correctly by one mixture per vowel.\"\"\"\n"
            "    # one mixture per vowel, fitted on the training rows of that vowel only;\n"
            "    # each test token gets the vowel whose mixture gives it the highest log-likelihood\n"
            "    ### BEGIN SOLUTION\n"
            "    vowels = np.unique(y[train])\n"
            "    mixtures = [GaussianMixture(n_components, covariance_type=\"full\", init_params=\"k-means++\",\n"
            "                                random_state=0).fit(X[train & (y == vowel)]) for vowel in vowels]\n"
            "    log_likelihoods = np.column_stack([mixture.score_samples(X[test]) for mixture in mixtures])\n"
            "    return np.mean(vowels[log_likelihoods.argmax(axis=1)] == y[test])\n"
            "    ### END SOLUTION",
            _check_cell("check_heldout_accuracy(my_heldout_accuracy)",
                        "from gmm_lab.exercises import check_heldout_accuracy"),
        ),
    ],
}

# The exercises already in the lessons: their check cells get the hidden
# test, their solution cells scaffolding comments (kept in the stub), and the
# text of exercise 1 says what the check refuses.
UPDATES = {
    "02_gaussians_and_the_e_step.ipynb": {
        "log_density": "check_log_density(my_log_density)",
        "responsibilities": "check_responsibilities(my_responsibilities)",
    },
    "03_em_step_by_step.ipynb": {"m_step": "check_m_step(my_m_step)"},
}
SCAFFOLDING = {
    "log_density": (
        "    # 1. L, the Cholesky factor of the covariance (lower triangular)\n"
        "    # 2. z: solve L z = x - mu for every point at once (a triangular solve, lower=True)\n"
        "    # 3. combine -1/2 D log(2 pi), -1/2 ||z||^2 and -1/2 log|Sigma| = -sum_d log L_dd\n"
    ),
    "responsibilities": (
        "    # 1. a_nk = log pi_k + log N(x_n | mu_k, Sigma_k), with your my_log_density\n"
        "    # 2. log sum_j exp(a_nj) for each row, the row's largest a_nj shifted out first\n"
        "    # 3. gamma_nk = exp(a_nk - that log-sum-exp)\n"
    ),
    "m_step": (
        "    # N_k = sum_n gamma_nk; then pi_k, mu_k, and Sigma_k around the new mu_k\n"
    ),
}
REFUSED = {
    "log_density": " The check says so if your code calls `inv`, `pinv`, `det` or `scipy.stats`, "
                   "or gmm_lab's own `log_gaussian_density`.",
}


# What each lesson's opening cell says about its exercises (replacing a
# sentence like "One exercise: the M-step." or added at its end).
INTROS = {
    "01_vowel_data.ipynb": "Two graded exercises: the mean formants of each vowel, and a "
                           "prediction to make before you see the speaker groups.",
    "02_gaussians_and_the_e_step.ipynb": "Two exercises: the log density of one Gaussian, and "
                                         "the responsibilities of a mixture.",
    "03_em_step_by_step.ipynb": "Three graded exercises: the M-step, the EM loop, and a "
                                "prediction of the split EM finds from a k-means start.",
    "04_what_can_go_wrong.ipynb": "Five graded exercises: a prediction about a large "
                                  "`reg_covar`, counting a mixture's free parameters, choosing "
                                  "$K$ and the covariance type by BIC, and diagnosing and fixing "
                                  "the singular model.",
    "05_classifying_vowels.ipynb": "Two graded exercises: the class posteriors by Bayes' rule, "
                                   "and the handout's task by hand (the accuracy on held-out "
                                   "speakers with $K=3$ and $K=6$).",
}
INTRO_SENTENCE = re.compile(r"^(One|Two|Three|Four|Five|Six)( graded)? exercises?:.*$", re.MULTILINE)


def _set_intro(notebook, name: str) -> None:
    intro = INTROS.get(name)
    if not intro or not notebook.cells or notebook.cells[0].cell_type != "markdown":
        return
    cell = notebook.cells[0]
    if INTRO_SENTENCE.search(cell.source):
        cell.source = INTRO_SENTENCE.sub(lambda match: intro, cell.source, count=1)
    else:
        cell.source = cell.source.rstrip() + "\n\n" + intro


def _nbgrader(grade_id, *, solution, points=None):
    metadata = {"grade": points is not None, "grade_id": grade_id, "locked": not solution,
                "schema_version": 3, "solution": solution}
    if points is not None:
        metadata["points"] = points
    return metadata


def exercise_cells(exercise: Exercise) -> list:
    """The three cells of one exercise, with nbgrader metadata and the exercise tag."""
    cells = [
        nbformat.v4.new_markdown_cell(exercise.markdown, metadata={"exercise": exercise.grade_id}),
        nbformat.v4.new_code_cell(
            exercise.solution,
            metadata={"nbgrader": _nbgrader(exercise.grade_id, solution=True),
                      "tags": [EXERCISE_TAG]}),
        nbformat.v4.new_code_cell(
            exercise.check,
            metadata={"nbgrader": _nbgrader(f"check_{exercise.grade_id}", solution=False,
                                            points=exercise.points),
                      "tags": [EXERCISE_TAG]}),
    ]
    for cell, part in zip(cells, ("text", "solution", "check")):
        cell.id = f"exercise-{exercise.grade_id}-{part}".replace("_", "-")[:64]
    return cells


def _find(notebook, pattern: str) -> int | None:
    regex = re.compile(pattern, re.MULTILINE)
    for index, cell in enumerate(notebook.cells):
        if regex.search(cell.source) and "exercise" not in cell.metadata:
            return index
    return None


def _insertion_point(notebook, exercise: Exercise) -> int:
    index = _find(notebook, exercise.anchor)
    if index is None:
        index = _find(notebook, r"^## Summary")
        print(f"lesson_exercises: {exercise.grade_id}: anchor {exercise.anchor!r} not found; "
              "inserted before the summary", file=sys.stderr)
        return index if index is not None else len(notebook.cells)
    if exercise.position == "after":
        return index + 1
    if exercise.position == "heading":
        cell = notebook.cells[index]
        match = re.compile(exercise.anchor, re.MULTILINE).search(cell.source)
        if match.start() > 0 and cell.cell_type == "markdown":
            # Split the cell so that the exercise ends the section before the heading.
            head, tail = cell.source[:match.start()].rstrip(), cell.source[match.start():]
            cell.source = head
            tail_cell = nbformat.v4.new_markdown_cell(tail)
            tail_cell.id = f"{cell.get('id', 'cell')[:58]}-tail"
            notebook.cells.insert(index + 1, tail_cell)
            return index + 1
    return index


def _existing(notebook, grade_id: str) -> int | None:
    for index, cell in enumerate(notebook.cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    return None


def apply(notebook, name: str) -> list:
    """Insert (or update) the exercises of lesson ``name``; returns the grade ids touched."""
    touched = []
    for grade_id, call in UPDATES.get(name, {}).items():
        solution = _existing(notebook, grade_id)
        check = _existing(notebook, f"check_{grade_id}")
        if solution is None or check is None:
            raise ValueError(f"{name}: the exercise {grade_id!r} is missing")
        notebook.cells[solution].metadata["tags"] = [EXERCISE_TAG]
        source = notebook.cells[solution].source
        scaffold = SCAFFOLDING.get(grade_id, "")
        if scaffold and scaffold not in source and "    ### BEGIN SOLUTION" in source:
            notebook.cells[solution].source = source.replace(
                "    ### BEGIN SOLUTION", scaffold + "    ### BEGIN SOLUTION", 1)
        before = notebook.cells[solution - 1]
        refused = REFUSED.get(grade_id, "")
        if refused and before.cell_type == "markdown" and refused not in before.source:
            before.source = before.source.rstrip() + refused
        cell = notebook.cells[check]
        cell.source = _check_cell(call)
        cell.metadata["tags"] = [EXERCISE_TAG]
        touched.append(grade_id)
    for exercise in LESSONS.get(name, []):
        new = exercise_cells(exercise)
        solution = _existing(notebook, exercise.grade_id)
        if solution is not None:  # already there: update the three cells in place
            for old, cell in zip(notebook.cells[solution - 1:solution + 2], new):
                if old.source == cell.source and old.metadata == cell.metadata:
                    continue  # unchanged: keep its outputs
                old.source, old.metadata = cell.source, cell.metadata
                if old.cell_type == "code":
                    old.outputs, old.execution_count = [], None
        else:
            index = _insertion_point(notebook, exercise)
            notebook.cells[index:index] = new
        touched.append(exercise.grade_id)
    _set_intro(notebook, name)
    return touched


EXERCISE_HEADING = re.compile(r"^### Exercise(?: \d+)? · ", re.MULTILINE)


EXERCISE_REFERENCE = re.compile(r"\b([Ee])xercise (\d+)\b(?! ·)")


def renumber(notebooks: list) -> None:
    """Number the exercise headings 1, 2, ... across the lessons, in order.

    References in a lesson's text ("from exercise 1") follow their heading.
    """
    number = 0
    for notebook in notebooks:
        renamed = {}
        for cell in notebook.cells:
            if cell.cell_type != "markdown":
                continue
            for match in re.finditer(r"^### Exercise(?: (\d+))? · ", cell.source, re.MULTILINE):
                number += 1
                if match.group(1):
                    renamed[match.group(1)] = str(number)
            cell.source = _number_headings(cell.source, number)
        for cell in notebook.cells:
            if cell.cell_type == "markdown" and renamed:
                cell.source = EXERCISE_REFERENCE.sub(
                    lambda match: f"{match.group(1)}xercise {renamed.get(match.group(2), match.group(2))}",
                    cell.source)


def _number_headings(source: str, last: int) -> str:
    """Give the headings of one cell the numbers up to ``last``, in order."""
    count = len(EXERCISE_HEADING.findall(source))
    numbers = iter(range(last - count + 1, last + 1))
    return EXERCISE_HEADING.sub(lambda match: f"### Exercise {next(numbers)} · ", source)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Insert the graded exercises into the lessons.")
    parser.add_argument("lessons", type=Path, help="folder of lesson notebooks")
    parser.add_argument("--out", type=Path, help="write here instead of in place")
    parser.add_argument("--only", nargs="*", help="lesson file names to change")
    arguments = parser.parse_args(argv)
    target = arguments.out or arguments.lessons
    target.mkdir(parents=True, exist_ok=True)
    names = sorted(set(LESSONS) | set(UPDATES))
    notebooks = [nbformat.read(arguments.lessons / name, as_version=4) for name in names]
    touched = [apply(notebook, name) for notebook, name in zip(notebooks, names)]
    renumber(notebooks)
    for name, notebook, grade_ids in zip(names, notebooks, touched):
        if arguments.only and name not in arguments.only:
            continue
        nbformat.validate(notebook)
        nbformat.write(notebook, target / name)
        print(f"{target / name}: {', '.join(grade_ids) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
