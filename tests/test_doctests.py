"""The examples in the library's docstrings run, and print what they show."""

import doctest
import importlib
import pkgutil

import pytest

import gmm_lab

# __main__ runs the command line when imported.
MODULES = sorted(info.name for info in pkgutil.walk_packages(gmm_lab.__path__, "gmm_lab.")
                 if not info.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples in {name} failed"


def test_there_are_examples_to_run():
    finder = doctest.DocTestFinder()
    examples = sum(len(test.examples) for name in MODULES
                   for test in finder.find(importlib.import_module(name)))
    assert examples >= 5
