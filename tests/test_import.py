"""``import gmm_lab`` is quick: the heavy libraries load when first needed."""

import subprocess
import sys

HEAVY = ("sklearn", "matplotlib", "scipy.linalg", "scipy.stats", "threadpoolctl")


def _modules_after(code):
    result = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True,
    )
    return set(result.stdout.split())


def test_import_loads_no_heavy_library():
    loaded = _modules_after("import gmm_lab")
    assert not loaded & set(HEAVY), f"import gmm_lab loaded {sorted(loaded & set(HEAVY))}"


def test_lazy_names_still_import():
    loaded = _modules_after(
        "from gmm_lab import GaussianMixture, GMMClassifier, speaker_split, mass_within, plot_state\n"
        "import gmm_lab\n"
        "assert gmm_lab.GaussianMixture is GaussianMixture and gmm_lab.mixture.GaussianMixture is GaussianMixture\n"
        "assert set(gmm_lab.__all__) <= set(dir(gmm_lab))"
    )
    assert {"sklearn", "gmm_lab.mixture", "gmm_lab.classify", "gmm_lab.ellipses", "gmm_lab.plotting"} <= loaded


def test_gmm_lab_em_is_only_the_function():
    """The loop's module is private (gmm_lab._em), so ``gmm_lab.em`` never
    means a module: ``import gmm_lab.em`` fails instead of shadowing it."""
    import importlib.util
    import inspect

    import gmm_lab

    assert inspect.isfunction(gmm_lab.em) and gmm_lab.em.__module__ == "gmm_lab._em"
    assert importlib.util.find_spec("gmm_lab.em") is None
