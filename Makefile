# The README's two commands: `make lab` opens the lessons, `make test` runs
# every test. Both first create .venv and install gmm_lab into it, so a fresh
# clone needs nothing else (Python 3.10+, make, git).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: lab test e2e bench student clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package metadata changes; the install is editable, so
# edits to gmm_lab/ are seen without it. nbgrader (in the test extra, for the
# student edition) would add its course-management menus to JupyterLab;
# the lessons do not use them, so they are switched off in this environment.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null 2>&1 || true
	for extension in formgrader assignment_list course_list validate_assignment; do \
	  $(BIN)/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$extension >/dev/null 2>&1 || true; \
	done
	touch $@

# JupyterLab refuses to start as root without --allow-root (containers and
# CI machines often run as root).
lab: $(INSTALLED)
	$(BIN)/jupyter lab notebooks/ $$([ "$$(id -u)" = 0 ] && echo --allow-root)

# Unit and property tests, the notebooks (nbval) and the browser test.
test: $(INSTALLED)
	$(BIN)/python -m pytest

e2e: $(INSTALLED)
	$(BIN)/python -m pytest -m e2e tests/e2e

bench: $(INSTALLED)
	$(BIN)/python benchmarks/bench_em.py
	$(BIN)/python benchmarks/bench_frame.py

student: $(INSTALLED)
	$(BIN)/python tools/make_student.py notebooks build/student

clean:
	rm -rf $(VENV) build dist .pytest_cache
