"""``gmm-lab`` / ``python -m gmm_lab``: fit EM on the vowels and render the run.

Runs EM on the bundled Peterson & Barney formants (by default vowels IY and
IH, all speakers, K = 2 full covariances, as in the handout) from several
starts (by default 10, each from random responsibilities, seeds 0..9),
prints one line per start, keeps the start with the highest final
log-likelihood and writes

- ``final_fit.png``: the data, the final n-sigma ellipses and the
  log-likelihood curve;
- ``em_iterations.gif``: one frame per EM state of the kept start,
  iteration 0 first;

into the output folder, with a progress bar while the GIF renders and a
summary of the run at the end. ``gmm-lab --help`` lists the options.

Why several starts, and why random ones: EM climbs to the nearest local
maximum of L. On IY and IH the k-means start (on raw Hz, where F2
dominates) ends in the speaker split, men against women and children
(L = -4036.5 at tol 1e-3, -4035.8 at 1e-5, seeds 0..9), while the vowel
split is higher (L = -4020.1, 93 % of tokens in their vowel's component).
From random responsibilities nearly every start reaches the vowel split
(99 of seeds 0..99 at tol 1e-5), and keeping the best of 10 makes the
default run reach it. tests/test_cli.py checks each of these numbers.

Writing is atomic: each file is rendered under a temporary name in the
output folder and renamed over the old one only when every file of the
run is complete, so a full disk, a folder in the way, a read-only folder
or Ctrl-C leaves the old files (or none), never a partial one. Every
failure is one line on stderr and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import secrets
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

from gmm_lab.data import SPEAKER_GROUPS, VOWELS, load_vowels, vowel_info
from gmm_lab._validation import COVARIANCE_TYPES, INIT_METHODS

__all__ = ["build_parser", "fit_starts", "main"]

PROG = "gmm-lab"
PNG_NAME = "final_fit.png"
GIF_NAME = "em_iterations.gif"

# Bounds of the options: wide enough for any sensible run, narrow enough
# that nothing downstream overflows (a GIF frame lasts int(1000 / fps) ms,
# matplotlib draws an ellipse n_std * sqrt(eigenvalue) wide).
MAX_COMPONENTS = 20  # the component palette repeats after 20 colours
MAX_STARTS = 100
MAX_ITER = 1000  # one GIF frame per iteration
FPS_RANGE = (0.1, 50.0)
N_STD_RANGE = (0.1, 10.0)
TOL_RANGE = (0.0, 1.0)
MAX_SEED = 2**32 - 1  # numpy's seeds

EXIT_INTERRUPTED = 130  # the shell's code for a process ended by Ctrl-C (128 + SIGINT)


# ---------------------------------------------------------------------------
# argument types: each names what it expected and what it got


def _vowel(text: str) -> str:
    try:
        return vowel_info(int(text) if text.isdecimal() else text).label
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _speaker_group(text: str) -> str:
    key = text.strip().upper()
    if key not in SPEAKER_GROUPS:
        valid = ", ".join(f"{k} ({name})" for k, name in SPEAKER_GROUPS.items())
        raise argparse.ArgumentTypeError(f"unknown speaker group {text!r}; use {valid}")
    return key


def _whole_number(minimum: int, maximum: int):
    """An argparse type: a whole number from ``minimum`` to ``maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"expected a whole number from {minimum} to {maximum}, got {value}")
        return value

    return parse


def _number(low: float, high: float):
    """An argparse type: a finite number from ``low`` to ``high``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            raise argparse.ArgumentTypeError(
                f"expected a number from {low:g} to {high:g}, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``gmm-lab``."""
    from gmm_lab import __version__

    vowel_list = ", ".join(f"{v.label} ({v.word})" for v in VOWELS)
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Fit a Gaussian mixture by EM to Peterson & Barney's vowel formants "
            "(F1, F2 in Hz) and render the run: a PNG of the final fit and an "
            "animated GIF with one frame per iteration. EM runs from several "
            "starts and the one with the highest final log-likelihood is drawn."
        ),
        epilog="Example: gmm-lab --vowels IY IH AA UW -k 4 --vowel-chart --out runs/four",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    data_group = parser.add_argument_group("data")
    data_group.add_argument(
        "--vowels", nargs="+", type=_vowel, default=["IY", "IH"], metavar="VOWEL",
        help=f"vowels to fit, by label or id 1..10 (default: IY IH). Labels: {vowel_list}.")
    data_group.add_argument(
        "--speakers", nargs="+", type=_speaker_group, default=None, metavar="GROUP",
        help="speaker groups: M (men), W (women), C (children) (default: all three).")
    data_group.add_argument(
        "--data", type=Path, default=None, metavar="FILE",
        help="a data file of your own in the bundled file's format: UTF-8, tab-separated, "
             "header 'type speaker vowel_id vowel f0 f1 f2 f3' (default: the bundled "
             "Peterson & Barney file).")

    model = parser.add_argument_group("model")
    model.add_argument("-k", "--components", type=_whole_number(1, MAX_COMPONENTS), default=2,
                       metavar="K",
                       help=f"number of Gaussian components K, 1 to {MAX_COMPONENTS} "
                            "(default: 2).")
    model.add_argument("--covariance-type", choices=COVARIANCE_TYPES, default="full",
                       help="restriction on each covariance Sigma_k (default: full).")
    # From random responsibilities every component starts near the whole
    # data's mean and spread, so iteration 0 shows K overlapping ellipses
    # that EM pulls apart. On IY+IH 99 of 100 such starts (seeds 0..99,
    # tol 1e-5) reach the vowel split, no k-means start does (tests/test_cli.py).
    model.add_argument("--init", choices=INIT_METHODS, default="random",
                       help="how each start's initial guess (iteration 0) is made: random "
                            "(random responsibilities), kmeans (hard k-means clusters), "
                            "k-means++ (single seed points) or random_from_data "
                            "(default: random).")
    model.add_argument("--n-init", type=_whole_number(1, MAX_STARTS), default=10,
                       metavar="N",
                       help=f"run EM from N starts, 1 to {MAX_STARTS}, with seeds SEED, "
                            "SEED+1, ...; keep the one with the highest final "
                            "log-likelihood (default: 10).")
    model.add_argument("--seed", type=_whole_number(0, MAX_SEED), default=0,
                       help="random seed of the first start, 0 to 2**32-1 (default: 0).")
    model.add_argument("--max-iter", type=_whole_number(0, MAX_ITER), default=100,
                       help=f"most EM iterations per start, 0 to {MAX_ITER} (default: 100).")
    model.add_argument("--tol", type=_number(*TOL_RANGE), default=1e-5,
                       help="stop when the mean log-likelihood per point changes by less "
                            "than this, 0 to 1 (default: 1e-5; at 1e-3, scikit-learn's "
                            "default, runs stop about 0.5 short of the maximum of L).")

    picture = parser.add_argument_group("pictures")
    picture.add_argument("--n-std", type=_number(*N_STD_RANGE), default=2.0,
                         help="draw ellipses at this Mahalanobis distance, 0.1 to 10 "
                              "(default: 2, which holds 86.5%% of each 2-D Gaussian).")
    picture.add_argument("--vowel-chart", action="store_true",
                         help="phoneticians' axes: F2 across decreasing to the right, "
                              "F1 down (default: F1 across, F2 up).")
    picture.add_argument("--color-by", choices=("vowel", "responsibility"), default="vowel",
                         help="colour points by their true vowel or by EM's "
                              "responsibilities (default: vowel).")
    picture.add_argument("--fps", type=_number(*FPS_RANGE), default=4.0,
                         help="GIF frames (iterations) per second, 0.1 to 50 (default: 4).")
    picture.add_argument("--out", type=Path, default=Path("gmm_lab_output"), metavar="DIR",
                         help=f"folder for {PNG_NAME} and {GIF_NAME} "
                              "(default: ./gmm_lab_output, created if missing).")
    picture.add_argument("--no-gif", action="store_true",
                         help="write only the PNG of the final fit.")
    picture.add_argument("--html", type=Path, metavar="FILE",
                         help="also write the run as one self-contained web page (opens "
                              "offline in any browser): scrub the iterations, look into "
                              "each E- and M-step, compare the starts.")
    picture.add_argument("--no-progress", action="store_true",
                         help="no progress bars while fitting and rendering.")
    return parser


# ---------------------------------------------------------------------------
# the fit: EM from several starts, the highest final L kept


class Start(NamedTuple):
    """One EM run of :func:`fit_starts`: its seed and its history or its error."""

    seed: int
    history: object  # History, or None when the run failed
    error: str | None
    caught: tuple  # the warnings.WarningMessage records of the run

    @property
    def log_likelihood(self) -> float:
        return -math.inf if self.history is None else self.history.final.log_likelihood


def fit_starts(X, n_components, seeds, *, on_start=None, **options) -> tuple:
    """Run EM from each seed; return the index of the best start and all starts.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    n_components : int
    seeds : sequence of int
        ``random_state`` of each start.
    on_start : callable, optional
        Called as ``on_start(index, start)`` after each start.
    **options
        Passed to :func:`gmm_lab.em` (covariance_type, init_params, tol, ...).

    Returns
    -------
    best : int
        Index of the start with the highest final log-likelihood (the first
        of equals).
    starts : list of Start

    Raises
    ------
    ValueError
        When the inputs are invalid (``em`` checks them before iterating), or
        when every start fails (the first start's error).
    """
    from gmm_lab import History, em

    starts = []
    for index, seed in enumerate(seeds):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            states = em(X, n_components, random_state=seed, **options)  # checks the inputs
            try:
                start = Start(seed, History(states=list(states), X=X), None, ())
            except ValueError as error:  # e.g. a covariance that became singular
                start = Start(seed, None, str(error), ())
        starts.append(start._replace(caught=tuple(caught)))
        if on_start is not None:
            on_start(index, starts[-1])
    scores = [start.log_likelihood for start in starts]
    best = max(range(len(starts)), key=scores.__getitem__)
    if starts[best].history is None:
        raise ValueError(starts[0].error)
    return best, starts


def _start_line(index, n_starts, start) -> str:
    head = f"  start {index + 1:{len(str(n_starts))}d}/{n_starts}  seed {start.seed:<4d}"
    if start.history is None:
        return f"{head}  failed: {start.error}"
    final = start.history.final
    stop = "converged" if start.history.converged else "not converged (max-iter reached)"
    return f"{head}  L = {final.log_likelihood:12,.2f} after {final.iteration:3d} iterations, {stop}"


def _warning_lines(records, limit=3) -> list:
    """One line per distinct warning; more than ``limit`` of a kind become a count."""
    lines, by_kind = [], {}
    for record in records:
        by_kind.setdefault(record.category.__name__, []).append(str(record.message))
    for kind, messages in by_kind.items():
        distinct = list(dict.fromkeys(messages))
        for message in distinct[:limit]:
            lines.append(f"{PROG}: warning: {message}")
        if len(distinct) > limit:
            lines.append(f"{PROG}: warning: ... and {len(distinct) - limit} more {kind}s "
                         "like these.")
    return lines


def _summary(history, data, args, starts, best) -> str:
    final = history.final
    speakers = " ".join(args.speakers) if args.speakers else "M W C"
    source = f"; data {args.data}" if args.data is not None else ""
    seeds = (f"seed {args.seed}" if len(starts) == 1
             else f"best of {len(starts)} starts (seeds {starts[0].seed}..{starts[-1].seed}), "
                  f"kept start {best + 1}, seed {starts[best].seed}")
    lines = [
        f"{PROG}: EM on {len(data)} tokens (vowels {' '.join(args.vowels)}; "
        f"speakers {speakers}; features {', '.join(f.upper() for f in data.features)}{source})",
        f"  K = {final.n_components}, {args.covariance_type} covariances, "
        f"init {args.init}, {seeds}",
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
    if final.responsibilities is not None:
        labels = [vowel.label for vowel in data.vowels]
        component = final.responsibilities.argmax(axis=1)
        lines.append("  tokens by most responsible component and vowel:")
        lines.append("  component " + "".join(f"{label:>6}" for label in labels))
        for k in range(final.n_components):
            row = "".join(f"{int(((component == k) & (data.vowel == label)).sum()):6d}"
                          for label in labels)
            lines.append(f"  {k:9d} {row}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# atomic output: render under temporary names, rename all when all are complete


class OutputError(Exception):
    """A file of the run could not be written; the message names it."""


class _AtomicFiles:
    """Temporary names beside the final files, renamed into place together.

    ``temporary(final)`` gives a hidden name in the same folder (same file
    system, so ``os.replace`` is atomic) that keeps the final suffix (Pillow
    picks the format from it). ``commit()`` renames every temporary file
    over its final name; leaving the ``with`` block deletes whatever was not
    committed, whatever the reason (an error, Ctrl-C).
    """

    def __init__(self, committed: list):
        self.pending = []  # (temporary, final)
        self.committed = committed  # final paths renamed into place so far

    def temporary(self, final: Path) -> Path:
        temp = final.with_name(f".{final.stem}.{secrets.token_hex(4)}.partial{final.suffix}")
        self.pending.append((temp, final))
        return temp

    def commit(self) -> None:
        while self.pending:
            temp, final = self.pending[0]
            try:
                os.replace(temp, final)
            except OSError as error:
                raise OutputError(_cannot_write(final, error)) from None
            self.pending.pop(0)
            self.committed.append(final)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for temp, _ in self.pending:
            try:
                temp.unlink(missing_ok=True)
            except OSError:
                pass
        self.pending.clear()
        return False


def _cannot_write(path: Path, error: OSError) -> str:
    reason = error.strerror or str(error) or type(error).__name__
    return f"cannot write {path}: {reason}"


def _exception_chain(error: BaseException) -> list:
    """``error`` and the exceptions it was raised while handling, outermost first."""
    chain = []
    while error is not None and all(error is not link for link in chain):
        chain.append(error)
        error = error.__context__
    return chain


@contextlib.contextmanager
def _writing(final: Path):
    """Turn a failure while writing ``final`` into one OutputError naming it.

    matplotlib's movie writer finishes the file even when a frame failed (it
    writes the frames so far, or raises IndexError when there are none), so
    the first cause, an interruption or an OSError, is looked for in the
    chain of exceptions.
    """
    try:
        yield
    except Exception as error:
        chain = _exception_chain(error)
        if any(isinstance(link, KeyboardInterrupt) for link in chain):
            raise KeyboardInterrupt from None
        for link in chain:
            if isinstance(link, OSError):
                raise OutputError(_cannot_write(final, link)) from None
        raise


def _check_output_paths(out: Path, names) -> None:
    """Fail early, before fitting, where a folder stands in a file's way."""
    for name in names:
        if (out / name).is_dir():
            raise OutputError(f"cannot write {out / name}: a folder of that name is in the "
                              "way; remove it or choose another --out.")


def _import_plotting():
    """matplotlib, imported only when pictures are made (a bad MPLBACKEND is one line)."""
    try:
        from matplotlib.figure import Figure

        from gmm_lab.plotting import EMView, save_animation
    except ValueError as error:  # e.g. MPLBACKEND=bogus
        raise OutputError(f"matplotlib cannot start: {error}. Unset MPLBACKEND or set it "
                          "to Agg.") from None
    return Figure, EMView, save_animation


def _write_png(path, history, data, view_options) -> None:
    Figure, EMView, _ = _import_plotting()
    # A plain Figure, never a pyplot one: renders on any machine, nothing to close.
    figure = Figure(figsize=(9.5, 4.2))
    view = EMView(data, history, figure=figure, **view_options)
    view.show(len(history) - 1, draw=False)
    figure.savefig(path, dpi=120, format="png")


def _write_html(path, starts, kept, data, args) -> None:
    from gmm_lab.viewer import write_viewer_html
    from gmm_lab.viewer.colors import start_summaries

    finished = [start for start in starts if start.history is not None]
    summaries, current = None, None
    if len(finished) > 1:
        titles = [f"seed {start.seed}" + (" (kept)" if start is kept else "") for start in finished]
        summaries = start_summaries([start.history for start in finished], titles,
                                    reference=finished.index(kept))
        current = finished.index(kept)
    write_viewer_html(path, kept.history, data, n_std=args.n_std, vowel_chart=args.vowel_chart,
                      color_by=args.color_by, fps=args.fps, starts=summaries,
                      current_start=current)


def _render(args, history, data, view_options, committed: list, starts=(), kept=None) -> int:
    """Write the PNG (and the GIF and the web page) atomically; return the number of GIF frames.

    ``committed`` collects the files renamed into place, so an interruption
    can say which were.
    """
    from tqdm import tqdm

    _, _, save_animation = _import_plotting()
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot create the output folder {args.out}: "
                          f"{error.strerror or error}") from None
    n_frames = 0
    with _AtomicFiles(committed) as files:
        png_path = args.out / PNG_NAME
        with _writing(png_path):
            _write_png(files.temporary(png_path), history, data, view_options)
        if not args.no_gif:
            gif_path = args.out / GIF_NAME
            with tqdm(total=len(history), desc="rendering GIF", unit="frame",
                      disable=args.no_progress, file=sys.stderr) as bar, _writing(gif_path):
                n_frames = save_animation(
                    history, files.temporary(gif_path), data, fps=args.fps,
                    progress_callback=lambda frame, total: bar.update(1), **view_options)
        if args.html is not None:
            with _writing(args.html):
                _write_html(files.temporary(args.html), starts, kept, data, args)
        files.commit()
    return n_frames


# ---------------------------------------------------------------------------
# the command


def main(argv=None) -> int:
    """Run the command line; returns the exit code.

    0 on success, 2 for bad options (argparse's message and usage on
    stderr), 1 when the data, the fit or a file cannot be made (one line on
    stderr says why), 130 when interrupted (Ctrl-C). A file is replaced only
    when it is complete; on any failure the old files are left as they were.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.seed + args.n_init - 1 > MAX_SEED:
            parser.error(f"--seed: the last start's seed, SEED + N - 1 = "
                         f"{args.seed + args.n_init - 1}, is above {MAX_SEED}")
    except SystemExit as exit_request:  # --help, --version (0) or a bad option (2)
        return int(exit_request.code or 0)

    files_written = []
    try:
        return _run(args, files_written)
    except KeyboardInterrupt:
        kept = (f"wrote only {', '.join(map(str, files_written))}" if files_written
                else "no file was written or changed")
        print(f"\n{PROG}: interrupted; {kept}.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OutputError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 1


def _run(args, files_written) -> int:
    from tqdm import tqdm

    data = load_vowels(args.vowels, args.speakers, path=args.data)
    names = (PNG_NAME,) if args.no_gif else (PNG_NAME, GIF_NAME)
    _check_output_paths(args.out, names)
    if args.html is not None and args.html.is_dir():
        raise OutputError(f"cannot write {args.html}: it is a folder; give --html a file name "
                          "such as run.html.")

    _import_plotting()  # a matplotlib that cannot start fails here, before the fit
    seeds = range(args.seed, args.seed + args.n_init)
    which = (f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}")
    print(f"{PROG}: EM from {args.n_init} start{'s' * (args.n_init > 1)} "
          f"(init {args.init}, {which}), K = {args.components}")
    with tqdm(total=args.n_init, desc="fitting", unit="start", disable=args.no_progress,
              file=sys.stderr) as bar:

        def report(index, start):
            tqdm.write(_start_line(index, args.n_init, start), file=sys.stdout)
            bar.update(1)

        best, starts = fit_starts(
            data.X, args.components, seeds, on_start=report,
            covariance_type=args.covariance_type, init_params=args.init,
            max_iter=args.max_iter, tol=args.tol)
    kept = starts[best]
    history = kept.history
    for line in _warning_lines(kept.caught):
        print(line, file=sys.stderr)
    if not history.converged and args.max_iter > 0:
        print(f"{PROG}: warning: the kept start did not converge in {args.max_iter} "
              f"iterations (tol {args.tol:g}); increase --max-iter or --tol.", file=sys.stderr)

    view_options = {"n_std": args.n_std, "vowel_chart": args.vowel_chart,
                    "color_by": args.color_by}
    n_frames = _render(args, history, data, view_options, files_written, starts, kept)

    from gmm_lab.ellipses import mass_within

    print(_summary(history, data, args, starts, best))
    print(f"  ellipses: {args.n_std:g}-sigma, holding {100 * mass_within(args.n_std):.1f} % "
          "of each Gaussian")
    print(f"wrote {args.out / PNG_NAME}")
    if not args.no_gif:
        print(f"wrote {args.out / GIF_NAME} ({n_frames} frames, one per state "
              f"0..{len(history) - 1})")
    if args.html is not None:
        print(f"wrote {args.html} (open it in a browser; it needs no network)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
