"""Fit a Gaussian mixture to a million formant-like points, for ``/usr/bin/time -v``.

The issue's memory target is about one EM iteration at N = 1,000,000,
K = 10, D = 2: its peak must stay under 4 times the size of the N x K
responsibility matrix (80 MB here). ``/usr/bin/time -v`` reports the peak
resident memory of the whole process, so this script also prints what is
resident before the fit (interpreter, numpy, scikit-learn, the data) and
the peak after it, and the difference in units of the responsibility
matrix::

    /usr/bin/time -v python benchmarks/fit_million.py
    /usr/bin/time -v python benchmarks/fit_million.py --library sklearn
    /usr/bin/time -v python benchmarks/fit_million.py --init given

``--init given`` starts from explicit parameters (means_init, weights_init,
precisions_init), so that only EM itself is measured; the default
``kmeans`` is what ``GaussianMixture()`` does when given nothing.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

import numpy as np

import gmm_lab

MIB = 2**20


def resident_bytes() -> int:
    """Current resident set size of this process (VmRSS), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def peak_resident_bytes() -> int:
    """Peak resident set size so far (what ``/usr/bin/time -v`` reports), in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def formant_like(n_samples: int, seed: int = 0) -> np.ndarray:
    """F1/F2-like points, drawn component by component into one preallocated array.

    The mixture is a 10-component fit to the vowel data; drawing in place
    keeps the temporaries to one component's share, so that the resident
    memory before the fit is the data and the libraries, not the sampler.
    """
    from sklearn.mixture import GaussianMixture

    source = GaussianMixture(10, random_state=0).fit(gmm_lab.load_vowels().X)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n_samples, source.weights_)
    X = np.empty((n_samples, 2))
    start = 0
    for count, mean, covariance in zip(counts, source.means_, source.covariances_, strict=True):
        factor = np.linalg.cholesky(covariance)
        block = X[start : start + count]
        block[:] = rng.standard_normal((count, 2)) @ factor.T
        block += mean
        start += count
    return X


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--n-components", type=int, default=10)
    parser.add_argument("--max-iter", type=int, default=5)
    parser.add_argument("--library", choices=("gmm_lab", "sklearn"), default="gmm_lab")
    parser.add_argument(
        "--init",
        choices=("kmeans", "k-means++", "given"),
        default="kmeans",
        help="initialisation; 'given' passes explicit parameters so only EM is measured",
    )
    args = parser.parse_args(argv)

    X = formant_like(args.n_samples)
    K = args.n_components
    responsibility_bytes = args.n_samples * K * X.itemsize
    options = dict(max_iter=args.max_iter, tol=0.0, random_state=0)
    if args.init == "given":
        # Evenly spaced data points as means, the data's covariance for all:
        # a cheap, deterministic theta_0 that needs no N x K array.
        covariance = np.cov(X.T)
        options.update(
            means_init=X[:: args.n_samples // K][:K],
            weights_init=np.full(K, 1.0 / K),
            precisions_init=np.repeat(np.linalg.inv(covariance)[np.newaxis], K, axis=0),
        )
    else:
        options["init_params"] = args.init
    if args.library == "gmm_lab":
        model = gmm_lab.GaussianMixture(K, keep_responsibilities=False, **options)
    else:
        from sklearn.mixture import GaussianMixture

        model = GaussianMixture(K, **options)

    before = resident_bytes()
    peak_before = peak_resident_bytes()
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tol=0: a fixed number of iterations, never "converged"
        model.fit(X)
    seconds = time.perf_counter() - started
    peak = peak_resident_bytes()

    print(
        f"{args.library} GaussianMixture(n_components={K}, max_iter={args.max_iter}, init={args.init}) "
        f"on N = {args.n_samples:,}, D = 2: fit took {seconds:.2f} s"
    )
    print(f"  responsibility matrix N x K: {responsibility_bytes / MIB:8.1f} MiB")
    print(f"  X:                           {X.nbytes / MIB:8.1f} MiB")
    print(
        f"  resident before the fit:     {before / MIB:8.1f} MiB (peak so far {peak_before / MIB:.1f} MiB)"
    )
    print(
        f"  peak resident (time -v):     {peak / MIB:8.1f} MiB = {peak / responsibility_bytes:.2f} x resp"
    )
    print(
        f"  peak - resident before fit:  {(peak - before) / MIB:8.1f} MiB = "
        f"{(peak - before) / responsibility_bytes:.2f} x resp"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
