"""pytest plumbing for the browser tests."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item (``item.rep_call`` ...), so
    a fixture's teardown can tell that its test failed and save a screenshot
    of the page as it was at the failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
