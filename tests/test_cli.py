"""``gmm-lab`` / ``python -m gmm_lab``: files written, frames counted, bad options refused,
and the default run reaching the better optimum (the vowel split).

The expected number of GIF frames comes from independent ``run_em`` runs
with the same settings: one frame per EM state of the start with the
highest final log-likelihood. Failures of the output files are in
tests/test_cli_outputs.py.
"""


import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import gmm_lab.cli as cli
from gmm_lab.cli import GIF_NAME, PNG_NAME, main
from gmm_lab.data import data_path, load_vowels
from gmm_lab import run_em


def best_number_of_states(vowels, n_components, seeds, **options):
    """len(history) of the seed whose run ends with the highest L."""
    data = load_vowels(vowels, options.pop("speakers", None))
    with warnings.catch_warnings():
        # short max_iter runs warn that they did not converge; not what is tested here
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        runs = [run_em(data.X, n_components, random_state=seed, **options) for seed in seeds]
    return len(max(runs, key=lambda history: history.final.log_likelihood))


def test_defaults_write_png_and_gif_with_one_frame_per_state(tmp_path, capsys):
    out = tmp_path / "render"
    assert main(["--out", str(out), "--no-progress"]) == 0
    expected = best_number_of_states(["IY", "IH"], 2, range(10), covariance_type="full",
                                     init_params="random", tol=1e-5, max_iter=100)
    with Image.open(out / PNG_NAME) as png:
        assert png.format == "PNG"
        assert png.size[0] > 800 and png.size[1] > 300
    with Image.open(out / GIF_NAME) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == expected
    printed = capsys.readouterr().out
    assert "vowels IY IH" in printed
    assert "best of 10 starts (seeds 0..9)" in printed
    assert len(re.findall(r"^  start +\d+/10  seed \d+ +L = ", printed, re.M)) == 10
    assert f"iterations: {expected - 1}" in printed
    assert "converged: yes" in printed
    assert "final log-likelihood" in printed
    assert f"({expected} frames" in printed
    assert sorted(p.name for p in out.iterdir()) == [GIF_NAME, PNG_NAME]  # no temporary files


@pytest.fixture
def default_run(monkeypatch, capsys):
    """The history main() would render with no options (rendering skipped)."""
    rendered = []
    monkeypatch.setattr(cli, "_render", lambda args, history, *rest: rendered.append(history) or 0)
    assert main(["--no-progress"]) == 0
    (history,) = rendered
    return history, capsys.readouterr().out


def test_default_run_finds_the_vowel_split_not_the_speaker_split(default_run):
    """The best fit of two full Gaussians to IY+IH splits the vowels (L = -4020.1);
    the k-means start ends in the speaker split (L = -4036.5). The reference is
    scikit-learn's best of 30 k-means++ starts; the agreement is recomputed here
    from the final parameters with scipy."""
    from sklearn.mixture import GaussianMixture

    history, printed = default_run
    data = load_vowels(["IY", "IH"])
    # One BLAS/OpenMP thread: on a busy machine scikit-learn's threads make
    # this 25 times slower (24 s against 1 s).
    with threadpool_limits(1):
        reference = GaussianMixture(2, n_init=30, init_params="k-means++", random_state=0,
                                    tol=1e-6, max_iter=1000).fit(data.X)
    best_L = reference.score(data.X) * len(data)
    assert best_L == pytest.approx(-4020.1, abs=0.1)
    final = history.final
    log_joint = np.column_stack([
        np.log(final.weights[k]) + stats.multivariate_normal(final.means[k],
                                                               final.covariances[k]).logpdf(data.X)
        for k in range(2)])
    L = logsumexp(log_joint, axis=1).sum()
    assert L == pytest.approx(final.log_likelihood, rel=1e-9)
    assert abs(L - best_L) < 0.1
    component = log_joint.argmax(axis=1)
    agreement = max(np.mean(component == (data.vowel == "IH")),
                    np.mean(component == (data.vowel == "IY")))
    assert agreement >= 0.90
    assert round(100 * agreement) == 93  # the README's "93 %"
    assert f"final log-likelihood L = {final.log_likelihood:,.2f}" in printed


def test_default_run_reports_every_start_and_keeps_the_highest(default_run):
    history, printed = default_run
    finals = [float(value.replace(",", ""))
              for value in re.findall(r"^  start .* L = +(-[\d,.]+) after", printed, re.M)]
    assert len(finals) == 10
    assert round(history.final.log_likelihood, 2) == max(finals)


def test_why_the_default_starts_from_random_responsibilities(iy_ih_X):
    """gmm_lab.cli's docstring: at tol 1e-5, 99 of 100 random starts (seeds 0..99)
    reach the vowel split (L = -4020.1); every k-means start of seeds 0..9 ends in
    the speaker split (L = -4035.8)."""
    X = iy_ih_X
    random_finals = [run_em(X, 2, init_params="random", random_state=seed,
                            tol=1e-5).final.log_likelihood for seed in range(100)]
    assert sum(abs(L + 4020.1) < 0.1 for L in random_finals) == 99
    kmeans_finals = [run_em(X, 2, init_params="kmeans", random_state=seed,
                            tol=1e-5).final.log_likelihood for seed in range(10)]
    assert all(abs(L + 4035.8) < 0.1 for L in kmeans_finals)


def test_one_kmeans_start_ends_in_the_speaker_split(monkeypatch, capsys):
    """Why the default is not the handout's k-means start: on raw Hz it splits speakers."""
    rendered = []
    monkeypatch.setattr(cli, "_render", lambda args, history, *rest: rendered.append(history) or 0)
    assert main(["--init", "kmeans", "--n-init", "1", "--tol", "1e-3", "--no-progress"]) == 0
    final = rendered[0].final
    data = load_vowels(["IY", "IH"])
    assert final.log_likelihood == pytest.approx(-4036.5, abs=0.1)
    component = final.responsibilities.argmax(axis=1)
    men = data.speaker_type == "M"
    assert max(np.mean(component == men), np.mean(component != men)) > 0.8


def test_options_reach_the_fit_and_the_pictures(tmp_path, capsys):
    out = tmp_path / "three"
    argv = ["--vowels", "IY", "AA", "UW", "--speakers", "W", "C", "-k", "3",
            "--covariance-type", "diag", "--init", "kmeans", "--n-init", "1", "--seed", "2",
            "--n-std", "1.5", "--vowel-chart", "--max-iter", "6", "--tol", "1e-3",
            "--fps", "8", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    expected = best_number_of_states(["IY", "AA", "UW"], 3, [2], speakers=["W", "C"],
                                     covariance_type="diag", init_params="kmeans",
                                     max_iter=6, tol=1e-3)
    with Image.open(out / GIF_NAME) as gif:
        assert gif.n_frames == expected
        # GIF stores durations in hundredths of a second: 125 ms becomes 120.
        assert gif.info["duration"] == pytest.approx(1000 / 8, abs=10)
    printed = capsys.readouterr().out
    assert "speakers W C" in printed and "K = 3, diag covariances" in printed
    assert "init kmeans, seed 2" in printed
    assert "1.5-sigma" in printed


def test_progress_bars_go_to_stderr(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--max-iter", "2", "--n-init", "2"]) == 0
    err = capsys.readouterr().err
    assert "fitting" in err and "rendering GIF" in err


def test_no_gif_writes_only_the_png(tmp_path):
    assert main(["--out", str(tmp_path), "--no-gif", "--no-progress"]) == 0
    assert (tmp_path / PNG_NAME).is_file()
    assert not (tmp_path / GIF_NAME).exists()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["-k", "0"], r"-k/--components: expected a whole number from 1 to 20, got 0"),
        (["-k", "21"], r"-k/--components: expected a whole number from 1 to 20, got 21"),
        (["-k", "two"], r"-k/--components: expected a whole number, got 'two'"),
        (["--covariance-type", "round"], r"--covariance-type: invalid choice: 'round'"),
        (["--vowels", "XX"], r"--vowels: Unknown vowel 'XX'.*IY"),
        (["--vowels", "²"], r"--vowels: Unknown vowel '²'"),
        (["--speakers", "kids"], r"--speakers: unknown speaker group 'kids'"),
        (["--n-std", "-1"], r"--n-std: expected a number from 0.1 to 10, got -1"),
        (["--n-std", "0"], r"--n-std: expected a number from 0.1 to 10, got 0"),
        (["--n-std", "1e308"], r"--n-std: expected a number from 0.1 to 10, got 1e308"),
        (["--n-std", "inf"], r"--n-std: expected a number from 0.1 to 10, got inf"),
        (["--fps", "inf"], r"--fps: expected a number from 0.1 to 50, got inf"),
        (["--fps", "nan"], r"--fps: expected a number from 0.1 to 50, got nan"),
        (["--fps", "1e-9"], r"--fps: expected a number from 0.1 to 50, got 1e-9"),
        (["--fps", "0"], r"--fps: expected a number from 0.1 to 50, got 0"),
        (["--fps", "-4"], r"--fps: expected a number from 0.1 to 50, got -4"),
        (["--fps", "fast"], r"--fps: expected a number, got 'fast'"),
        (["--tol", "inf"], r"--tol: expected a number from 0 to 1, got inf"),
        (["--tol", "-0.001"], r"--tol: expected a number from 0 to 1, got -0.001"),
        (["--max-iter", "-1"], r"--max-iter: expected a whole number from 0 to 1000, got -1"),
        (["--max-iter", "10**9"], r"--max-iter: expected a whole number, got '10\*\*9'"),
        (["--n-init", "0"], r"--n-init: expected a whole number from 1 to 100, got 0"),
        (["--seed", "-1"], r"--seed: expected a whole number from 0 to 4294967295, got -1"),
        (["--seed", "4294967295"], r"--seed: the last start's seed, SEED \+ N - 1 = "
                                   r"4294967304, is above 4294967295"),
        (["--no-such-option"], r"unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_options_exit_2_with_a_message(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: gmm-lab")
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_a_fit_that_cannot_be_made_exits_1(tmp_path, capsys):
    # A file of three tokens cannot hold five components.
    own = tmp_path / "three.tsv"
    own.write_text("type\tspeaker\tvowel_id\tvowel\tf0\tf1\tf2\tf3\n"
                   "M\t1\t1\tIY\t160\t240\t2280\t2850\n"
                   "M\t1\t2\tIH\t160\t390\t2000\t2700\n"
                   "W\t2\t1\tIY\t230\t310\t2790\t3300\n")
    assert main(["--data", str(own), "-k", "5", "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gmm-lab: error:")
    assert "5" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_own_data_file_is_fitted_and_named(tmp_path, capsys):
    own = tmp_path / "men.tsv"
    lines = data_path().read_text(encoding="utf-8").splitlines(keepends=True)
    own.write_text("".join(line for line in lines if line[0] in "tM"), encoding="utf-8")
    assert main(["--data", str(own), "--out", str(tmp_path), "--no-gif", "--no-progress",
                 "--n-init", "1"]) == 0
    printed = capsys.readouterr().out
    assert "EM on 132 tokens" in printed and f"data {own}" in printed


def test_a_bad_data_file_is_one_line_naming_file_and_line(tmp_path, capsys):
    own = tmp_path / "broken.tsv"
    own.write_text("type\tspeaker\tvowel_id\tvowel\tf0\tf1\tf2\tf3\n"
                   "M\t1\t1\tIY\t160\t240\t2280\n")
    assert main(["--data", str(own), "--out", str(tmp_path / "o"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"gmm-lab: error: {own}, line 2: expected 8 tab-separated fields")
    assert len(err.strip().splitlines()) == 1
    assert main(["--data", str(tmp_path / "nope.tsv"), "--no-progress"]) == 1
    assert "nope.tsv: no such file" in capsys.readouterr().err


def test_help_explains_every_option_and_its_bounds(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    # Not "-k K, --components K": Python 3.13 writes "-k, --components K".
    for option in ("--vowels", "--speakers", "--data", "-k", "--components", "--covariance-type",
                   "--init", "--n-init", "--seed", "--max-iter", "--tol", "--n-std", "--out",
                   "--vowel-chart", "--fps", "--version"):
        assert option in text
    flat = " ".join(text.split())
    for bounds in ("1 to 20", "1 to 100", "0 to 1000", "0 to 1 ", "0.1 to 10", "0.1 to 50"):
        assert bounds in flat


def test_version(capsys):
    from gmm_lab import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"gmm-lab {__version__}"


def test_warnings_of_a_kind_are_capped():
    records = [warnings.WarningMessage(f"component {k} collapsed", UserWarning, "f", 1)
               for k in range(305)]
    records.append(warnings.WarningMessage("component 0 collapsed", UserWarning, "f", 1))
    lines = cli._warning_lines(records)
    assert lines[:3] == [f"gmm-lab: warning: component {k} collapsed" for k in range(3)]
    assert lines[3:] == ["gmm-lab: warning: ... and 302 more UserWarnings like these."]


def test_python_dash_m_runs_the_same_command(tmp_path):
    result = subprocess.run([sys.executable, "-m", "gmm_lab", "--vowels", "XX"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "Unknown vowel 'XX'" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "gmm_lab", "--out", str(tmp_path), "--max-iter", "1",
         "--n-init", "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with Image.open(tmp_path / GIF_NAME) as gif:
        assert gif.n_frames == 2  # states 0 and 1


def test_a_bad_matplotlib_backend_is_one_line(tmp_path):
    import os

    env = dict(os.environ, MPLBACKEND="bogus")
    result = subprocess.run(
        [sys.executable, "-m", "gmm_lab", "--out", str(tmp_path / "o"), "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("gmm-lab: error: matplotlib cannot start")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


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


def test_the_readme_caption_states_what_the_runs_give(default_run, monkeypatch):
    """Every number in the README's story of its picture, recomputed: the
    default run (10 random starts) ends at the vowel split, one raw-Hz k-means
    start at the speaker split."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    caption = " ".join(readme[readme.index("The picture is the default run"):].split("\n\n")[0].split())
    history, printed = default_run
    data = load_vowels(["IY", "IH"])
    component = history.final.responsibilities.argmax(axis=1)
    agreement = max(np.mean(component == (data.vowel == "IY")), np.mean(component == (data.vowel == "IH")))
    assert f"({len(data)} tokens, all speakers), EM from 10 random starts" in caption
    assert "best of 10 starts" in printed and "init random" in printed
    assert f"L = {history.final.log_likelihood:.1f}, with {100 * agreement:.0f} % of the tokens" in caption

    rendered = []
    monkeypatch.setattr(cli, "_render", lambda args, history, *rest: rendered.append(history) or 0)
    assert main(["--init", "kmeans", "--n-init", "1", "--tol", "1e-3", "--no-progress"]) == 0
    kmeans_final = rendered[0].final
    men = data.speaker_type == "M"
    kmeans_component = kmeans_final.responsibilities.argmax(axis=1)
    assert max(np.mean(kmeans_component == men), np.mean(kmeans_component != men)) > 0.8
    assert "(`python -m gmm_lab --init kmeans --n-init 1 --tol 1e-3`)" in caption
    assert f"local optimum, L = {kmeans_final.log_likelihood:.1f}, that splits men" in caption
    # "F2's spread dominates the distance k-means uses, and each of the ten
    # k-means seeds tried lands in that split"
    assert data.X[:, 1].std() > 2 * data.X[:, 0].std()
    assert "each of the ten k-means seeds tried lands in that split" in caption
    for seed in range(10):
        run = run_em(data.X, 2, init_params="kmeans", random_state=seed, tol=1e-3)
        labels = run.final.responsibilities.argmax(axis=1)
        assert max(np.mean(labels == men), np.mean(labels != men)) > 0.8, seed


def test_html_writes_an_offline_page_of_the_kept_run_with_every_start(tmp_path, capsys):
    """--html: one self-contained page (no address to fetch) holding the kept
    run's states and a summary of each start, the kept one framed."""
    from gmm_lab.viewer.payload import decode_array

    page = tmp_path / "run.html"
    argv = ["--n-init", "3", "--max-iter", "30", "--no-gif", "--out", str(tmp_path / "out"),
            "--html", str(page), "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"wrote {page}" in printed
    text = page.read_text(encoding="utf-8")
    assert "<script" in text and not re.search(r"(src|href)=\"https?://", text)
    payload = json.loads(re.search(r'<script type="application/json"[^>]*>(.*?)</script>', text, re.S).group(1))
    expected = best_number_of_states(["IY", "IH"], 2, range(3), covariance_type="full",
                                     init_params="random", tol=1e-5, max_iter=30)
    assert decode_array(payload["log_likelihoods"]).shape == (expected,)
    assert len(payload["starts"]) == 3
    kept = int(re.search(r"kept start (\d+)", printed).group(1)) - 1
    assert payload["current_start"] == kept
    finals = [start["log_likelihood"] for start in payload["starts"]]
    assert finals[kept] == max(finals) == decode_array(payload["log_likelihoods"])[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "run.html"]  # no temporary files


def test_html_into_a_folder_is_refused_before_fitting(tmp_path, capsys):
    assert main(["--html", str(tmp_path), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    assert "it is a folder" in capsys.readouterr().err
