"""``gmm-lab`` / ``python -m gmm_lab``: fit EM on the vowels and render the run.

Runs EM on the bundled Peterson & Barney formants (by default vowels IY and
IH, all speakers, K = 2 full covariances, as in the handout), then writes

- ``final_fit.png``: the data, the final n-sigma ellipses and the
  log-likelihood curve;
- ``em_iterations.gif``: one frame per EM state, iteration 0 first;

into the output folder, with a progress bar while the GIF renders and a
summary of the run at the end. ``gmm-lab --help`` lists the options.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

# Figures here are plain matplotlib Figures, never pyplot ones, so they
# render to files on any machine (no display, no backend switch) and the
# module is safe to import inside a notebook.
from matplotlib.figure import Figure
from tqdm import tqdm

from gmm_lab.data import SPEAKER_GROUPS, VOWELS, load_vowels, vowel_info
from gmm_lab.ellipses import mass_within
from gmm_lab.em import COVARIANCE_TYPES, INIT_METHODS, run_em
from gmm_lab.plotting import EMView, save_animation

__all__ = ["build_parser", "main"]

PROG = "gmm-lab"
PNG_NAME = "final_fit.png"
GIF_NAME = "em_iterations.gif"


# ---------------------------------------------------------------------------
# argument types: each names what it expected and what it got


def _vowel(text: str) -> str:
    try:
        return vowel_info(int(text) if text.isdigit() else text).label
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _speaker_group(text: str) -> str:
    key = text.strip().upper()
    if key not in SPEAKER_GROUPS:
        valid = ", ".join(f"{k} ({name})" for k, name in SPEAKER_GROUPS.items())
        raise argparse.ArgumentTypeError(f"unknown speaker group {text!r}; use {valid}")
    return key


def _whole_number(minimum: int):
    """An argparse type: a whole number >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``gmm-lab``."""
    vowel_list = ", ".join(f"{v.label} ({v.word})" for v in VOWELS)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Fit a Gaussian mixture by EM to Peterson & Barney's vowel formants "
            "(F1, F2 in Hz) and render the run: a PNG of the final fit and an "
            "animated GIF with one frame per iteration."
        ),
        epilog="Example: gmm-lab --vowels IY IH AA UW -k 4 --vowel-chart --out runs/four",
    )
    data_group = parser.add_argument_group("data")
    data_group.add_argument(
        "--vowels", nargs="+", type=_vowel, default=["IY", "IH"], metavar="VOWEL",
        help=f"vowels to fit, by label or id 1..10 (default: IY IH). Labels: {vowel_list}.")
    data_group.add_argument(
        "--speakers", nargs="+", type=_speaker_group, default=None, metavar="GROUP",
        help="speaker groups: M (men), W (women), C (children) (default: all three).")

    model = parser.add_argument_group("model")
    model.add_argument("-k", "--components", type=_whole_number(1), default=2, metavar="K",
                       help="number of Gaussian components K (default: 2).")
    model.add_argument("--covariance-type", choices=COVARIANCE_TYPES, default="full",
                       help="restriction on each covariance Sigma_k (default: full).")
    # k-means starts from whole clusters, so iteration 0 already has
    # ellipses to look at; k-means++ starts from single points whose
    # covariances are only reg_covar (invisible ellipses, L near -1e13).
    model.add_argument("--init", choices=INIT_METHODS, default="kmeans",
                       help="how the initial guess (iteration 0) is made: kmeans (hard "
                            "k-means clusters), k-means++ (single seed points), random "
                            "or random_from_data (default: kmeans).")
    model.add_argument("--seed", type=int, default=0,
                       help="random seed of the initialisation (default: 0).")
    model.add_argument("--max-iter", type=_whole_number(0), default=100,
                       help="most EM iterations (default: 100).")
    model.add_argument("--tol", type=_positive_float, default=1e-3,
                       help="stop when the mean log-likelihood per point changes by "
                            "less than this (default: 1e-3).")

    picture = parser.add_argument_group("pictures")
    picture.add_argument("--n-std", type=_positive_float, default=2.0,
                         help="draw ellipses at this Mahalanobis distance (default: 2, "
                              "which holds 86.5%% of each 2-D Gaussian).")
    picture.add_argument("--vowel-chart", action="store_true",
                         help="phoneticians' axes: F2 across decreasing to the right, "
                              "F1 down (default: F1 across, F2 up).")
    picture.add_argument("--color-by", choices=("vowel", "responsibility"), default="vowel",
                         help="colour points by their true vowel or by EM's "
                              "responsibilities (default: vowel).")
    picture.add_argument("--fps", type=_positive_float, default=4.0,
                         help="GIF frames (iterations) per second (default: 4).")
    picture.add_argument("--out", type=Path, default=Path("gmm_lab_output"), metavar="DIR",
                         help=f"folder for {PNG_NAME} and {GIF_NAME} "
                              "(default: ./gmm_lab_output, created if missing).")
    picture.add_argument("--no-gif", action="store_true",
                         help="write only the PNG of the final fit.")
    picture.add_argument("--no-progress", action="store_true",
                         help="no progress bar while rendering.")
    return parser


# ---------------------------------------------------------------------------
# the run


def _summary(history, data, args) -> str:
    final = history.final
    speakers = " ".join(args.speakers) if args.speakers else "M W C"
    lines = [
        f"{PROG}: EM on {len(data)} tokens (vowels {' '.join(args.vowels)}; "
        f"speakers {speakers}; features {', '.join(f.upper() for f in data.features)})",
        f"  K = {final.n_components}, {args.covariance_type} covariances, "
        f"init {args.init}, seed {args.seed}",
        f"  iterations: {final.iteration}   converged: {'yes' if history.converged else 'no'} "
        f"(tol {args.tol:g})",
        f"  final log-likelihood L = {final.log_likelihood:,.2f} "
        f"({final.mean_log_likelihood:.4f} per token)",
        "  component   weight pi_k      N_k   mean " + ", ".join(f.upper() for f in data.features)
        + " (Hz)",
    ]
    counts = final.component_counts
    for k in range(final.n_components):
        mean = ", ".join(f"{value:7.1f}" for value in final.means[k])
        lines.append(f"  {k:9d}   {final.weights[k]:11.3f}  {counts[k]:7.1f}   ({mean})")
    return "\n".join(lines)


def _save_final_png(history, data, path, view_options) -> None:
    figure = Figure(figsize=(9.5, 4.2))
    view = EMView(data, history, figure=figure, **view_options)
    view.show(len(history) - 1, draw=False)
    figure.savefig(path, dpi=120)


def main(argv=None) -> int:
    """Run the command line; returns the exit code.

    0 on success, 2 for bad options (argparse's message and usage on
    stderr), 1 when the data or the fit cannot be made (the message says
    why).
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help (0) or a bad option (2)
        return int(exit_request.code or 0)

    try:
        data = load_vowels(args.vowels, args.speakers)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = run_em(
                data.X, args.components, covariance_type=args.covariance_type,
                init_params=args.init, random_state=args.seed, max_iter=args.max_iter,
                tol=args.tol,
            )
    except ValueError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1
    for warning in caught:
        print(f"{PROG}: warning: {warning.message}", file=sys.stderr)

    view_options = {"n_std": args.n_std, "vowel_chart": args.vowel_chart,
                    "color_by": args.color_by}
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"{PROG}: error: cannot create the output folder {args.out}: {error}",
              file=sys.stderr)
        return 1
    png_path = args.out / PNG_NAME
    _save_final_png(history, data, png_path, view_options)

    gif_path = args.out / GIF_NAME
    n_frames = 0
    if not args.no_gif:
        with tqdm(total=len(history), desc="rendering GIF", unit="frame",
                  disable=args.no_progress, file=sys.stderr) as bar:
            n_frames = save_animation(
                history, gif_path, data, fps=args.fps,
                progress_callback=lambda frame, total: bar.update(1), **view_options)

    print(_summary(history, data, args))
    print(f"  ellipses: {args.n_std:g}-sigma, holding {100 * mass_within(args.n_std):.1f} % "
          "of each Gaussian")
    print(f"wrote {png_path}")
    if not args.no_gif:
        print(f"wrote {gif_path} ({n_frames} frames, one per state 0..{len(history) - 1})")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
