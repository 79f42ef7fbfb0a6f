"""Shared fixtures. Plots run on the Agg backend: no display in CI."""

import matplotlib

# Set in this process only: an MPLBACKEND variable would be inherited by the
# notebook kernels nbval starts, and they must keep their inline backend.
matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gmm_lab import load_vowels


@pytest.fixture(autouse=True)
def close_figures():
    """No figure outlives its test (pyplot keeps them all otherwise)."""
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def data():
    """The handout's two vowels, IY and IH, as VowelData (for the plots)."""
    return load_vowels(["IY", "IH"])


@pytest.fixture(scope="session")
def vowel_X():
    """F1/F2 of all 1520 tokens, in Hz."""
    return load_vowels().X


@pytest.fixture(scope="session")
def iy_ih_X():
    """F1/F2 of the handout's two vowels, IY and IH (304 tokens)."""
    return load_vowels(["IY", "IH"]).X


@pytest.fixture(scope="session")
def synthetic_3d():
    """Three well-separated elongated clusters in 3-D (a general-path case)."""
    rng = np.random.default_rng(7)
    parts = []
    for center, scale in [((0, 0, 0), (1.0, 0.3, 0.5)), ((6, 2, -3), (0.5, 2.0, 0.4)), ((-4, 5, 2), (1.5, 0.5, 1.0))]:
        A = rng.normal(size=(3, 3)) * 0.3 + np.diag(scale)
        parts.append(rng.normal(size=(200, 3)) @ A + center)
    return np.vstack(parts)


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory):
    """The project built as a wheel and unpacked, as pip would install it.

    Returns the folder to put on PYTHONPATH: what a user gets from
    ``pip install gmm_lab``, without the source checkout beside it.
    """
    import subprocess
    import sys
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", str(folder / "dist"), str(root)],
        check=True,
    )
    (wheel,) = (folder / "dist").glob("gmm_lab-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder / "site")
    return folder / "site"
