# The README's two commands: `make lab` and `make test`. Both create .venv and
# install gmm_lab into it first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: lab test e2e bench student clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall when the package metadata changes; the install is editable, so
# edits to gmm_lab/ are seen without it.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

lab: $(INSTALLED)
	$(BIN)/jupyter lab notebooks/

test: $(INSTALLED)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache
