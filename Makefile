# The README's two commands: `make lab` opens the lessons, `make test` runs
# every test. Both first create .venv and install gmm_lab into it, so a fresh
# clone needs nothing else (Python 3.11+, make, git). Each target is a plain
# Python command too (see the README), for machines without make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LAB_INSTALLED := $(VENV)/.installed-lab
TEST_INSTALLED := $(VENV)/.installed-test
# Notebooks under strict nbval: every text output compared with the committed one.
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=300

.PHONY: lab test check e2e bench student pythons clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package metadata changes; the install is editable, so
# edits to gmm_lab/ are seen without it. `make lab` installs what the lessons
# need, `make test` adds the test, browser-test and teaching tools.
$(LAB_INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[lab]"
	touch $@

# nbgrader (teaching tools, for the student edition) adds course-management
# menus to JupyterLab; the lessons and the browser tests do not use them, so
# they are switched off in this environment.
$(TEST_INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[lab,test,e2e,teacher]"
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1 || true
	for extension in formgrader assignment_list course_list validate_assignment; do \
	  $(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$extension >/dev/null 2>&1 || true; \
	done
	touch $(LAB_INSTALLED) $@

# The lessons, opened from the project's notebooks/ folder.
lab: $(LAB_INSTALLED)
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Everything: unit and property tests, the notebooks (nbval), the student
# edition, the browser tests.
test: $(TEST_INSTALLED)
	$(BIN)/python -m pytest $(NBVAL) tests notebooks

# The fast inner loop: the unit tests and the docstrings' examples (tests/test_doctests.py),
# no notebooks, no kernels, no browser.
check: $(TEST_INSTALLED)
	$(BIN)/python -m pytest -q -m "not slow and not e2e" tests

e2e: $(TEST_INSTALLED)
	$(BIN)/python -m pytest -m e2e tests/e2e

# The teacher's page: the live runner (controls and picture, no code) served
# by Voila on this machine only; Ctrl-C stops it.
.PHONY: app
app: $(TEST_INSTALLED)
	$(BIN)/voila apps/explorer.ipynb --Voila.ip=127.0.0.1 --port=8866 --theme=light

bench: $(TEST_INSTALLED)
	$(BIN)/python benchmarks/bench_em.py
	$(BIN)/python benchmarks/bench_frame.py
	$(BIN)/python benchmarks/bench_viewer.py

student: $(TEST_INSTALLED)
	$(BIN)/python tools/make_student.py notebooks build/student

# The tests (all but the browser's) under Python 3.11 and 3.13, each in its
# own environment; not part of `make test` (a machine may have one Python).
pythons:
	$(PYTHON) tools/test_pythons.py

clean:
	rm -rf $(VENV) .venv-python3.* build dist .pytest_cache .hypothesis

# The course, with nbgrader's own commands in the course folder course/
# (see TEACHING.md): `make release` writes the student edition of every
# lesson with exercises to course/release/ and fills course/gradebook.db;
# `make grade` autogrades course/submitted/, writes feedback HTML to
# course/feedback/ and the grades to course/grades.csv.
.PHONY: release grade
release: $(TEST_INSTALLED)
	$(BIN)/python tools/course.py release

grade: $(TEST_INSTALLED)
	$(BIN)/python tools/course.py grade
