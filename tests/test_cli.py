"""``gmm-lab`` / ``python -m gmm_lab``: files written, frames counted, bad options refused.

The expected number of GIF frames comes from an independent ``run_em``
with the same settings: one frame per EM state.
"""


import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gmm_lab.cli import GIF_NAME, PNG_NAME, main
from gmm_lab.data import load_vowels
from gmm_lab.em import run_em


def number_of_states(vowels, n_components, **options):
    data = load_vowels(vowels, options.pop("speakers", None))
    return len(run_em(data.X, n_components, **options))


def test_defaults_write_png_and_gif_with_one_frame_per_state(tmp_path, capsys):
    out = tmp_path / "render"
    assert main(["--out", str(out), "--no-progress"]) == 0
    expected = number_of_states(["IY", "IH"], 2, covariance_type="full",
                                init_params="kmeans", random_state=0)
    with Image.open(out / PNG_NAME) as png:
        assert png.format == "PNG"
        assert png.size[0] > 800 and png.size[1] > 300
    with Image.open(out / GIF_NAME) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == expected
    printed = capsys.readouterr().out
    assert "vowels IY IH" in printed
    assert f"iterations: {expected - 1}" in printed
    assert "converged: yes" in printed
    assert "final log-likelihood" in printed
    assert f"({expected} frames" in printed


def test_options_reach_the_fit_and_the_pictures(tmp_path, capsys):
    out = tmp_path / "three"
    argv = ["--vowels", "IY", "AA", "UW", "--speakers", "W", "C", "-k", "3",
            "--covariance-type", "diag", "--seed", "2", "--n-std", "1.5", "--vowel-chart",
            "--max-iter", "6", "--fps", "8", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    expected = number_of_states(["IY", "AA", "UW"], 3, speakers=["W", "C"],
                                covariance_type="diag", init_params="kmeans",
                                random_state=2, max_iter=6)
    with Image.open(out / GIF_NAME) as gif:
        assert gif.n_frames == expected
        # GIF stores durations in hundredths of a second: 125 ms becomes 120.
        assert gif.info["duration"] == pytest.approx(1000 / 8, abs=10)
    printed = capsys.readouterr().out
    assert "speakers W C" in printed and "K = 3, diag covariances" in printed
    assert "1.5-sigma" in printed


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--max-iter", "2"]) == 0
    assert "rendering GIF" in capsys.readouterr().err


def test_no_gif_writes_only_the_png(tmp_path):
    assert main(["--out", str(tmp_path), "--no-gif"]) == 0
    assert (tmp_path / PNG_NAME).is_file()
    assert not (tmp_path / GIF_NAME).exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-k", "0"], r"-k/--components: expected a whole number >= 1, got 0"),
        (["-k", "two"], r"-k/--components: expected a whole number, got 'two'"),
        (["--covariance-type", "round"], r"--covariance-type: invalid choice: 'round'"),
        (["--vowels", "XX"], r"--vowels: Unknown vowel 'XX'.*IY"),
        (["--speakers", "kids"], r"--speakers: unknown speaker group 'kids'"),
        (["--n-std", "-1"], r"--n-std: expected a number > 0"),
        (["--no-such-option"], r"unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_options_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gmm-lab")
    assert re.search(message, err), err


def test_a_fit_that_cannot_be_made_exits_1(tmp_path, capsys):
    # Children said IY 30 times: 500 components are more than the points.
    assert main(["--vowels", "IY", "--speakers", "C", "-k", "500",
                 "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gmm-lab: error:")
    assert "500" in err
    assert not (tmp_path / PNG_NAME).exists()


def test_help_explains_every_option(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for option in ("--vowels", "--speakers", "-k K, --components K", "--covariance-type",
                   "--init", "--seed", "--max-iter", "--n-std", "--out", "--vowel-chart",
                   "--fps"):
        assert option in text


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gmm_lab", "--vowels", "XX"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Unknown vowel 'XX'" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "gmm_lab", "--out", str(tmp_path), "--max-iter", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / GIF_NAME) as gif:
        assert gif.n_frames == 2  # states 0 and 1


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("gmm-lab")
    if not script.exists():
        script = shutil.which("gmm-lab")
        if script is None:
            pytest.skip("the gmm-lab console script is not installed here")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert "usage: gmm-lab" in result.stdout
