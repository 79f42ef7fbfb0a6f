"""Time one EM iteration of gmm_lab against scikit-learn's GaussianMixture.

Run it with the project's environment, from the repository root::

    python benchmarks/bench_em.py              # every case, a few minutes
    python benchmarks/bench_em.py --quick      # a smoke test, well under a minute
    python benchmarks/bench_em.py --cases 'iter-n100000-*,history*'
    python benchmarks/bench_em.py --list       # the case names

It prints a table to stdout and writes every sample to ``build/bench/em.json``.

What is timed, and why it is fair
---------------------------------
One EM iteration is an E-step at theta_t followed by the M-step that makes
theta_{t+1}. Both libraries start every repeat from the *same* theta_t, on
the *same* data, so that they do the same arithmetic:

* scikit-learn: a ``sklearn.mixture.GaussianMixture`` is set to theta_t
  (``weights_``, ``means_``, ``covariances_`` and its ``precisions_cholesky_``)
  and its own ``_e_step(X)`` then ``_m_step(X, log_resp)`` are timed. That
  is exactly the body of its ``fit`` loop, without the convergence check and
  the per-fit input validation.
* gmm_lab: ``_Engine.expectation(...)`` (E-step plus the sufficient
  statistics, one chunked pass) then ``_Engine.maximisation(...)`` are
  timed, with ``keep=False`` as ``GaussianMixture.fit`` runs it, and again
  with ``keep=True`` as a history for the scrubber runs it. The engine's
  per-fit set-up (centred feature columns) is timed separately.

Samples are taken in three rounds of blocks (gmm_lab, gmm_lab keep=True,
scikit-learn; the order rotates), each block after a short pause and an
untimed warm-up call (see ``measure`` for why: the two libraries' BLAS
thread pools must not spill into each other's timing). The median is the
figure, the min-max spread says how noisy the run was, and the ratio is
gmm_lab's median over scikit-learn's. The new parameters of both are
compared once per case, to show that the same work was done.

Threads and noise
-----------------
The run prints every thread pool that threadpoolctl finds (numpy and scipy
each ship an OpenBLAS, scikit-learn an OpenMP runtime) and the BLAS/thread
variables that are set; it changes none of them unless asked. This machine
has two cores shared with other work, so two further runs say more than
one: ``--blas-threads 1`` limits every pool to one thread (scikit-learn's
'full' path calls scipy's LAPACK and then numpy's BLAS each iteration, and
with two threads per pool its time was seen to vary by 2x between runs), and
``--clock cpu`` times the process's CPU time instead of the wall clock,
which moves less when other processes take the cores. Where
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set (some machines here set them),
run once as is and once with both unset in that command only, e.g.
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_em.py``,
and compare the kernel names printed.

Data
----
N = 1520 is the real vowel data (``gmm_lab.load_vowels().X``: F1, F2 in
Hz). Larger N are formant-like: points drawn from a 10-component
GaussianMixture fitted to the vowel data, so scales, correlations and
overlaps are those of real formants. D = 4 uses F0..F3 the same way.
theta_t comes from 20 scikit-learn EM iterations on (a subsample of) the
data: a realistic mid-fit state, neither the initial guess nor a fixed point.
"""

from __future__ import annotations

import argparse
import fnmatch
import gc
import json
import math
import os
import platform
import re
import statistics
import sys
import time
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
import scipy.linalg  # loaded before threadpool_info(), so its OpenBLAS is listed
import sklearn
import threadpoolctl
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.mixture._gaussian_mixture import _compute_precision_cholesky
from sklearn.preprocessing import normalize

import gmm_lab
from gmm_lab import History
from gmm_lab._engine import Engine as _Engine
from gmm_lab._statistics import compact_covariances, expand_covariances

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPOSITORY / "build" / "bench" / "em.json"

# The targets (medians, same run): gmm_lab / scikit-learn per
# iteration for N >= 10,000; a whole 100-iteration vowel history; one
# iteration at a million points; the peak memory of that iteration.
TARGET_RATIO = 0.2
TARGET_RATIO_MIN_SAMPLES = 10_000
TARGET_HISTORY_SECONDS = 0.040
TARGET_MILLION_SECONDS = 0.200
TARGET_PEAK_OVER_RESPONSIBILITIES = 4.0

# A sample is several back-to-back calls when one call is short, so that
# the timer's resolution and Python's call overhead do not dominate.
MIN_SAMPLE_SECONDS = 0.02
MAX_CALLS_PER_SAMPLE = 200
# Pause before each block of samples, longer than OpenBLAS's busy-wait after
# a call (see ``measure``), so that no library's threads still spin.
SETTLE_SECONDS = 0.2

# The clock of every sample: wall time by default (what a user waits for);
# ``--clock cpu`` switches to the process's CPU time (all its threads), which
# moves less when other processes share the machine's two cores.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
clock = CLOCKS["wall"]

REG_COVAR = 1e-6


# ---------------------------------------------------------------------------
# environment: what BLAS, how many threads, what the machine was doing


def environment() -> dict:
    """Versions, CPU, BLAS thread pools and thread-related variables.

    numpy and scipy wheels each bundle their own OpenBLAS, and scikit-learn
    its own OpenMP runtime: ``threadpool_info()`` lists every pool that is
    loaded, with its thread count and the CPU kernel OpenBLAS picked.
    """
    try:
        from numpy._core._multiarray_umath import (
            __cpu_baseline__,
            __cpu_dispatch__,
            __cpu_features__,
        )

        simd = {
            "baseline": list(__cpu_baseline__),
            "dispatched": [name for name in __cpu_dispatch__ if __cpu_features__.get(name)],
        }
    except ImportError:  # numpy < 2 keeps these elsewhere; not essential
        simd = {}
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            cpu = next(
                line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    pattern = re.compile(r"BLAS|OMP|MKL|NUM_THREADS|^NPY_|GOTO|NVPL")
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "threadpoolctl": threadpoolctl.__version__,
        "gmm_lab": gmm_lab.__version__,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "numpy_simd": simd,
        "thread_variables": {k: v for k, v in sorted(os.environ.items()) if pattern.search(k)},
        "threadpools": [
            {
                key: pool.get(key)
                for key in (
                    "user_api",
                    "internal_api",
                    "prefix",
                    "version",
                    "num_threads",
                    "architecture",
                    "threading_layer",
                    "filepath",
                )
            }
            for pool in threadpoolctl.threadpool_info()
        ],
        "load_average_start": os.getloadavg(),
    }


def print_environment(info: dict, blas_threads, clock_name="wall") -> None:
    print("gmm_lab EM benchmark")
    print(
        f"  python {info['python']}, numpy {info['numpy']}, scipy {info['scipy']}, "
        f"scikit-learn {info['sklearn']}, gmm_lab {info['gmm_lab']}"
    )
    print(
        f"  CPU: {info['cpu']}, {info['cpu_count']} logical cores; numpy SIMD: {info['numpy_simd']}"
    )
    variables = info["thread_variables"]
    print(
        "  thread/BLAS variables: "
        + (", ".join(f"{k}={v}" for k, v in variables.items()) or "none set")
    )
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name not in variables:
            print(f"    {name} is not set (OpenBLAS picks its kernel from the CPU)")
    print("  thread pools (threadpoolctl):")
    for pool in info["threadpools"]:
        library = Path(pool["filepath"] or "?").name
        owner = Path(pool["filepath"] or "?").parent.name
        print(
            f"    {pool['internal_api']:8s} {pool['version'] or '':14s} threads={pool['num_threads']} "
            f"kernel={pool['architecture'] or '-'}  ({owner}/{library})"
        )
    if blas_threads:
        print(f"  this run limits every pool to {blas_threads} thread(s) (--blas-threads)")
    print(f"  load average at start: {' '.join(f'{x:.2f}' for x in info['load_average_start'])}")
    print(
        "  scikit-learn is timed as its own _e_step(X) + _m_step(X, log_resp) on a model "
        "set to the same parameters;\n  gmm_lab as _Engine.expectation + _Engine.maximisation "
        "(keep=False unless said). Times are per iteration."
    )
    if clock_name != "wall":
        print("  clock: CPU time of the whole process (all threads), not wall time (--clock cpu)")
    print()


# ---------------------------------------------------------------------------
# data: the vowels, and formant-like samples of any size


_SOURCE_MODELS: dict = {}
_SAMPLES: dict = {}


def vowel_data(n_features: int) -> np.ndarray:
    """F1, F2 (D = 2) or F0..F3 (D = 4) of the 1520 vowel tokens, in Hz."""
    features = ("f1", "f2") if n_features == 2 else ("f0", "f1", "f2", "f3")[:n_features]
    return gmm_lab.load_vowels(features=features).X


def formant_like(n_samples: int, n_features: int, seed: int = 0) -> np.ndarray:
    """Points drawn from a 10-component mixture fitted to the vowel data.

    The real data for N = 1520 (D = 2); otherwise a sample, shuffled because
    scikit-learn's ``sample`` returns the points grouped by component.
    """
    real = vowel_data(n_features)
    if n_samples == real.shape[0] and n_features == 2:
        return real
    if (n_samples, n_features, seed) in _SAMPLES:  # several cases share one data set
        return _SAMPLES[n_samples, n_features, seed]
    if n_features not in _SOURCE_MODELS:
        _SOURCE_MODELS[n_features] = SklearnGaussianMixture(10, random_state=0).fit(real)
    source = _SOURCE_MODELS[n_features]
    source.random_state = seed
    X, _ = source.sample(n_samples)
    X = X[np.random.default_rng(seed).permutation(n_samples)]
    _SAMPLES[n_samples, n_features, seed] = X
    return X


def mid_fit_parameters(X, n_components, covariance_type, seed=0):
    """theta_t after 20 scikit-learn iterations on up to 20,000 points of X.

    Returns
    -------
    weights : ndarray of shape (n_components,)
    means : ndarray of shape (n_components, n_features)
    covariances : ndarray in scikit-learn's per-type shape
    """
    subset = X[:20_000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 20 iterations need not converge
        model = SklearnGaussianMixture(
            n_components,
            covariance_type=covariance_type,
            max_iter=20,
            random_state=seed,
            reg_covar=REG_COVAR,
        ).fit(subset)
    return model.weights_.copy(), model.means_.copy(), model.covariances_.copy()


# ---------------------------------------------------------------------------
# timing


def _calls_per_sample(function) -> int:
    """How many back-to-back calls make one sample of at least MIN_SAMPLE_SECONDS."""
    started = clock()
    function()  # also the warm-up call
    elapsed = clock() - started
    return int(
        min(MAX_CALLS_PER_SAMPLE, max(1, math.ceil(MIN_SAMPLE_SECONDS / max(elapsed, 1e-7))))
    )


def measure(functions: dict, repeats: int, rounds: int = 3, settle: float = None) -> dict:
    """Seconds per call of each function, ``repeats`` samples each.

    The samples are taken in ``rounds`` rounds; in each round every function
    runs a block of consecutive samples, in a rotated order. Rounds spread
    the machine's bursts of load over all functions alike. Blocks, with a
    pause of ``settle`` seconds and an untimed call before each, keep one
    library's BLAS threads out of the other's timing: OpenBLAS workers
    busy-wait for a while after each call, and scikit-learn's M-step runs
    scipy's OpenBLAS pool, whose spinning threads can slow the gmm_lab
    iteration right after it (numpy's pool): 88 ms against 52 ms, medians,
    at N = 100,000 on this 2-core machine. Inside a block each library runs
    back to back, as in its own fit loop.
    The garbage collector is off while timing, as in ``timeit``.

    Returns
    -------
    dict mapping each name to a list of ``repeats`` seconds-per-call samples.
    """
    settle = SETTLE_SECONDS if settle is None else settle
    calls = {name: _calls_per_sample(function) for name, function in functions.items()}
    samples = {name: [] for name in functions}
    names = list(functions)
    rounds = max(1, min(rounds, repeats))
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for round_index in range(rounds):
            # This round's share of the repeats (the first rounds take the remainder).
            block = repeats // rounds + (round_index < repeats % rounds)
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                function, number = functions[name], calls[name]
                time.sleep(settle)
                function()  # untimed: wakes this library's thread pool
                for _ in range(block):
                    started = clock()
                    for _ in range(number):
                        function()
                    samples[name].append((clock() - started) / number)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def summary(seconds: list) -> dict:
    """Median, min and max in milliseconds, and the raw samples."""
    return {
        "median_ms": 1e3 * statistics.median(seconds),
        "min_ms": 1e3 * min(seconds),
        "max_ms": 1e3 * max(seconds),
        "samples_ms": [1e3 * s for s in seconds],
    }


def _relative_difference(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), np.finfo(float).tiny))


# ---------------------------------------------------------------------------
# case 1: one iteration, gmm_lab against scikit-learn


@dataclass
class IterationCase:
    n_samples: int
    n_components: int
    n_features: int
    covariance_type: str

    @property
    def name(self) -> str:
        return (
            f"iter-n{self.n_samples}-k{self.n_components}-d{self.n_features}-{self.covariance_type}"
        )


def sklearn_iteration_at(X, weights, means, compact, covariance_type):
    """A scikit-learn model and a function that runs one of its EM iterations from theta_t.

    The function resets theta_t (four attribute stores, ~1 us) so every
    repeat does the same work, then runs scikit-learn's own ``_e_step`` and
    ``_m_step``; it returns the mean log-likelihood at theta_t.
    """
    model = SklearnGaussianMixture(
        weights.shape[0], covariance_type=covariance_type, reg_covar=REG_COVAR
    )
    precisions_cholesky = _compute_precision_cholesky(compact, covariance_type)

    def sklearn_iteration():
        model.weights_, model.means_ = weights, means
        model.covariances_, model.precisions_cholesky_ = compact, precisions_cholesky
        mean_log_likelihood, log_resp = model._e_step(X)
        model._m_step(X, log_resp)
        return mean_log_likelihood

    return model, sklearn_iteration


def run_iteration_case(case: IterationCase, repeats: int) -> dict:
    """Time one EM iteration of both libraries from the same theta_t."""
    X = formant_like(case.n_samples, case.n_features)
    K, D, covariance_type = case.n_components, case.n_features, case.covariance_type
    weights, means, compact = mid_fit_parameters(X, K, covariance_type)
    full = expand_covariances(compact, covariance_type, K, D)

    started = time.perf_counter()
    engine = _Engine(X, covariance_type, REG_COVAR)
    setup_seconds = time.perf_counter() - started

    def gmm_lab_iteration(keep=False):
        _, _, sufficient = engine.expectation(weights, means, full, keep=keep, iteration=1)
        return engine.maximisation(sufficient, 2)

    model, sklearn_iteration = sklearn_iteration_at(X, weights, means, compact, covariance_type)

    # Same work? Compare theta_{t+1} and L(theta_t) once, outside the timing.
    new_weights, new_means, new_full = gmm_lab_iteration()
    log_likelihood, _, _ = engine.expectation(weights, means, full, keep=False, iteration=1)
    sklearn_mean_log_likelihood = sklearn_iteration()
    agreement = max(
        _relative_difference(new_weights, model.weights_),
        _relative_difference(new_means, model.means_),
        _relative_difference(compact_covariances(new_full, covariance_type), model.covariances_),
        abs(log_likelihood / case.n_samples - sklearn_mean_log_likelihood)
        / abs(sklearn_mean_log_likelihood),
    )

    samples = measure(
        {
            "gmm_lab": gmm_lab_iteration,
            "gmm_lab_keep": lambda: gmm_lab_iteration(keep=True),
            "sklearn": sklearn_iteration,
        },
        repeats,
    )
    result = {
        "case": case.name,
        "kind": "iteration",
        "n_samples": case.n_samples,
        "n_components": K,
        "n_features": D,
        "covariance_type": covariance_type,
        "data": "vowels (real)" if case.n_samples == 1520 and D == 2 else "formant-like sample",
        "repeats": repeats,
        "gmm_lab": summary(samples["gmm_lab"]),
        "gmm_lab_keep": summary(samples["gmm_lab_keep"]),
        "sklearn": summary(samples["sklearn"]),
        "gmm_lab_setup_ms": 1e3 * setup_seconds,
        "max_relative_difference": agreement,
    }
    result["ratio"] = result["gmm_lab"]["median_ms"] / result["sklearn"]["median_ms"]
    result["ratio_of_minimums"] = result["gmm_lab"]["min_ms"] / result["sklearn"]["min_ms"]
    targets = {}
    if case.n_samples >= TARGET_RATIO_MIN_SAMPLES:
        targets["ratio <= 0.2"] = result["ratio"] <= TARGET_RATIO
    if case.n_samples >= 1_000_000 and K == 10 and D == 2:
        targets["< 200 ms"] = result["gmm_lab"]["median_ms"] < 1e3 * TARGET_MILLION_SECONDS
    result["targets"] = targets
    return result


# ---------------------------------------------------------------------------
# case 2: a whole 100-iteration history on the vowels


def _history_bytes(history: History) -> dict:
    """Bytes held by the arrays of every state (the responsibilities dominate)."""
    responsibilities = sum(
        s.responsibilities.nbytes for s in history if s.responsibilities is not None
    )
    parameters = sum(
        s.weights.nbytes + s.means.nbytes + s.covariances.nbytes + s.component_counts.nbytes
        for s in history
    )
    return {
        "responsibilities": responsibilities,
        "parameters": parameters,
        "total": responsibilities + parameters,
    }


def run_history_case(
    repeats: int, sklearn_repeats: int = 5, n_iterations: int = 100, n_components: int = 10
) -> dict:
    """100 iterations of EM on the vowel data, kept as a History with responsibilities.

    tol=0 makes every run take all ``n_iterations`` M-steps. Timed twice:
    ``run_em`` from the call (k-means++ initialisation included), and the
    iterations alone from a fixed theta_0 (engine set-up and the states
    loop, which is what the target is about). scikit-learn's ``fit`` for
    the same 100 iterations from the same theta_0 is given for scale
    (``sklearn_repeats`` samples, none when 0: it can take seconds when its
    thread pools fight); it keeps no history.
    """
    X = vowel_data(2)
    options = dict(max_iter=n_iterations, tol=0.0, random_state=0, keep_responsibilities=True)
    parameters = gmm_lab.initial_parameters(X, n_components, random_state=0)
    weights, means, covariances = parameters
    precisions = np.linalg.inv(covariances)

    def whole_run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=0 never converges, by design
            return gmm_lab.run_em(X, n_components, **options)

    def iterations_only():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            engine = _Engine(X, "full", REG_COVAR)
            states = list(engine.states(parameters, max_iter=n_iterations, tol=0.0, keep=True))
            return History(states=states, X=X)

    def sklearn_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return SklearnGaussianMixture(
                n_components,
                max_iter=n_iterations,
                tol=0.0,
                reg_covar=REG_COVAR,
                weights_init=weights,
                means_init=means,
                precisions_init=precisions,
            ).fit(X)

    history = iterations_only()
    assert len(history) == n_iterations + 1
    tracemalloc.start()
    iterations_only()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    samples = measure({"gmm_lab_run_em": whole_run, "gmm_lab_iterations": iterations_only}, repeats)
    if sklearn_repeats:
        samples.update(measure({"sklearn_fit": sklearn_fit}, sklearn_repeats, rounds=1))
    stored = _history_bytes(history)
    result = {
        "case": f"history-vowels-k{n_components}",
        "kind": "history",
        "n_samples": X.shape[0],
        "n_components": n_components,
        "n_iterations": n_iterations,
        "repeats": repeats,
        "gmm_lab_iterations": summary(samples["gmm_lab_iterations"]),
        "gmm_lab_run_em": summary(samples["gmm_lab_run_em"]),
        "sklearn_fit": summary(samples["sklearn_fit"]) if sklearn_repeats else None,
        "history_bytes": stored,
        "traced_peak_bytes": traced_peak,
    }
    if sklearn_repeats:
        result["ratio"] = (
            result["gmm_lab_iterations"]["median_ms"] / result["sklearn_fit"]["median_ms"]
        )
    result["targets"] = {
        "< 40 ms": result["gmm_lab_iterations"]["median_ms"] < 1e3 * TARGET_HISTORY_SECONDS
    }
    return result


# ---------------------------------------------------------------------------
# case 3: the seed's linear-space E-step, for the "why this matters" figure
#
# ---- 'seed' variant: the lecture handout's code, copied verbatim from
# ---- /work/shared/seed/ (pinv, det, raw densities, then l1-normalised).
# ---- Not gmm_lab code; kept only to time it.
# fmt: off


def seed_get_predictions(mu, s, p, X):
    """
    :param mu: means of GMM components
    :param s: covariances of GMM components
    :param p: weights of GMM components
    :param X: 2D array of our dataset
    """

    # get number of GMM components
    k = s.shape[0]
    # get number of data samples
    N = X.shape[0]
    # get dimensionality of our dataset
    D = X.shape[1]

    Z = np.zeros((N, k))
    for i in range(k):
        mu_i = mu[i, :]
        mu_i = np.expand_dims(mu_i, axis=1)
        mu_i_repeated = np.repeat(mu_i, N, axis=1)
        X_minus_mu = X - mu_i_repeated.transpose()
        inverse_s = scipy.linalg.pinv(s[i])
        inverse_s = np.squeeze(inverse_s)
        s_i_det = scipy.linalg.det(s[i])
        x_s_x = np.matmul(X_minus_mu, inverse_s) * X_minus_mu
        Z[:, i] = p[i] * (1 / np.power((2 * np.pi) ** D * np.abs(s_i_det), 0.5)) * np.exp(-0.5 * np.sum(x_s_x, axis=1))
    return Z


def seed_iteration(mu, s, p, X):
    """One iteration of the handout's loop (its E-step, then its diagonal M-step), plotting left out."""
    k = s.shape[0]
    N = X.shape[0]
    # Do the E-step
    Z = seed_get_predictions(mu, s, p, X)
    Z = normalize(Z, axis=1, norm='l1')

    # Do the M-step:
    for i in range(k):
        mu[i,:] = np.matmul(X.transpose(), Z[:,i]) / np.sum(Z[:,i])
        # We will fit Gaussians with diagonal covariance matrices
        mu_i = mu[i,:]
        mu_i = np.expand_dims(mu_i, axis=1)
        mu_i_repeated = np.repeat(mu_i, N, axis=1)
        X_minus_mu = (X.transpose() - mu_i_repeated)**2
        res_1 = np.squeeze( np.matmul(X_minus_mu, np.expand_dims(Z[:,i], axis=1)) / np.sum(Z[:,i]) )
        s[i,:,:] = np.diag(res_1)
        p[i] = np.mean(Z[:,i])
    return mu, s, p


# fmt: on
# ---- end of the seed variant.


def run_seed_case(repeats: int, n_samples: int = 10_000, n_components: int = 10) -> dict:
    """The handout's E-step numerator against gmm_lab's and scikit-learn's iterations.

    Also counts the points whose raw densities all underflow to 0 under the
    same parameters: the handout's normalisation divides those by 0.
    """
    X = formant_like(n_samples, 2)
    # Diagonal parameters: the handout's M-step fits diagonal covariances.
    weights, means, compact = mid_fit_parameters(X, n_components, "diag")
    full = expand_covariances(compact, "diag", n_components, 2)
    engine = _Engine(X, "diag", REG_COVAR)
    model, sklearn_iteration = sklearn_iteration_at(X, weights, means, compact, "diag")

    def gmm_lab_iteration():
        _, _, sufficient = engine.expectation(weights, means, full, keep=False, iteration=1)
        engine.maximisation(sufficient, 2)

    with np.errstate(all="ignore"):  # the seed divides 0 by 0 on underflowed rows
        densities = seed_get_predictions(means, full, weights, X)
        underflowed = int(np.count_nonzero(densities.sum(axis=1) == 0))
        # The seed's numerator agrees with gmm_lab's wherever it did not underflow.
        ours = gmm_lab.get_predictions(means, full, weights, X)
        seed_difference = _relative_difference(densities, ours)
        samples = measure(
            {
                "seed_get_predictions": lambda: seed_get_predictions(means, full, weights, X),
                "seed_iteration": lambda: seed_iteration(
                    means.copy(), full.copy(), weights.copy(), X
                ),
                "gmm_lab_get_predictions": lambda: gmm_lab.get_predictions(means, full, weights, X),
                "gmm_lab_iteration": gmm_lab_iteration,
                "sklearn_iteration": sklearn_iteration,
            },
            repeats,
        )
    result = {
        "case": f"seed-n{n_samples}-k{n_components}",
        "kind": "seed",
        "n_samples": n_samples,
        "n_components": n_components,
        "n_features": 2,
        "covariance_type": "diag",
        "repeats": repeats,
        "underflowed_rows": underflowed,
        "seed_vs_gmm_lab_get_predictions_relative_difference": seed_difference,
    }
    for name, seconds in samples.items():
        result[name] = summary(seconds)
    result["ratio"] = (
        result["seed_iteration"]["median_ms"] / result["sklearn_iteration"]["median_ms"]
    )
    result["targets"] = {}
    return result


# ---------------------------------------------------------------------------
# case 4: peak memory of one iteration at a million points


def _traced_peak(function) -> int:
    """Peak bytes allocated (by numpy and Python) while ``function`` runs, above the start."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    function()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - start


def run_memory_case(n_samples: int = 1_000_000, n_components: int = 10) -> dict:
    """tracemalloc peak of one iteration, relative to the N x K responsibilities.

    numpy reports its data buffers to tracemalloc, so the peak counts every
    temporary of the iteration. The engine's precomputed feature columns and
    X exist before the iteration and are reported separately (engine set-up
    peak); ``benchmarks/fit_million.py`` measures a whole fit's resident
    memory for ``/usr/bin/time -v``.
    """
    X = formant_like(n_samples, 2)
    weights, means, compact = mid_fit_parameters(X, n_components, "full")
    responsibility_bytes = n_samples * n_components * X.itemsize
    engine_holder = {}
    setup_peak = _traced_peak(
        lambda: engine_holder.setdefault("engine", _Engine(X, "full", REG_COVAR))
    )
    engine = engine_holder["engine"]

    def iteration(keep):
        _, _, sufficient = engine.expectation(weights, means, compact, keep=keep, iteration=1)
        engine.maximisation(sufficient, 2)

    model, sklearn_iteration = sklearn_iteration_at(X, weights, means, compact, "full")

    iteration(False)  # warm-up: the first call pays for one-off allocations
    peaks = {
        "gmm_lab_keep_false": _traced_peak(lambda: iteration(False)),
        "gmm_lab_keep_true": _traced_peak(lambda: iteration(True)),
        "sklearn": _traced_peak(sklearn_iteration),
        "gmm_lab_engine_setup": setup_peak,
    }
    result = {
        "case": f"memory-n{n_samples}-k{n_components}-d2",
        "kind": "memory",
        "n_samples": n_samples,
        "n_components": n_components,
        "n_features": 2,
        "covariance_type": "full",
        "responsibility_bytes": responsibility_bytes,
        "X_bytes": X.nbytes,
        "engine_columns_bytes": engine.features.nbytes,
        "peak_bytes": peaks,
        "peak_over_responsibilities": {k: v / responsibility_bytes for k, v in peaks.items()},
    }
    result["targets"] = {
        "peak < 4x resp": result["peak_over_responsibilities"]["gmm_lab_keep_false"]
        < TARGET_PEAK_OVER_RESPONSIBILITIES
    }
    return result


# ---------------------------------------------------------------------------
# the plan, the table, the JSON


def plan(quick: bool) -> list:
    """(name, runner) for every case, in the order they run and print."""
    if quick:
        sizes, components, covariances = (1520, 10_000), (10,), ("full", "diag")
    else:
        sizes, components, covariances = (
            (1520, 10_000, 100_000, 1_000_000),
            (2, 10),
            ("full", "diag"),
        )
    repeats_for = (
        (lambda n: 3) if quick else (lambda n: 5 if n >= 1_000_000 else (9 if n >= 100_000 else 15))
    )
    cases = []
    for n_samples in sizes:
        for n_components in components:
            for covariance_type in covariances:
                case = IterationCase(n_samples, n_components, 2, covariance_type)
                cases.append(
                    (case.name, lambda c=case: run_iteration_case(c, repeats_for(c.n_samples)))
                )
    general = IterationCase(10_000 if quick else 100_000, 10, 4, "full")
    cases.append(
        (general.name, lambda: run_iteration_case(general, repeats_for(general.n_samples)))
    )
    cases.append(
        ("history-vowels-k10", lambda: run_history_case(3 if quick else 11, 0 if quick else 5))
    )
    cases.append(("seed-n10000-k10", lambda: run_seed_case(3 if quick else 9)))
    memory_n = 100_000 if quick else 1_000_000
    cases.append((f"memory-n{memory_n}-k10-d2", lambda: run_memory_case(memory_n)))
    return cases


def selected(name: str, patterns) -> bool:
    """True when ``name`` matches a glob or contains a substring from ``patterns``."""
    return not patterns or any(fnmatch.fnmatch(name, p) or p in name for p in patterns)


def _ms(stats: dict) -> str:
    return f"{stats['median_ms']:9.3f} ({stats['min_ms']:.3g}-{stats['max_ms']:.3g})"


def _verdict(targets: dict) -> str:
    return " ".join(f"{'ok' if met else 'MISS'}[{name}]" for name, met in targets.items()) or "-"


def print_iteration_table(results: list) -> None:
    rows = [r for r in results if r["kind"] == "iteration"]
    if not rows:
        return
    print("One EM iteration (E-step + M-step), ms per iteration: median (min-max)")
    header = (
        f"{'N':>8} {'K':>3} {'D':>2} {'cov':4} | {'gmm_lab':>26} | {'gmm_lab keep=True':>26} | "
        f"{'scikit-learn':>26} | {'ratio':>6} {'r(min)':>6} | {'agree':>7} | targets"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['n_samples']:>8} {r['n_components']:>3} {r['n_features']:>2} {r['covariance_type']:4} | "
            f"{_ms(r['gmm_lab']):>26} | {_ms(r['gmm_lab_keep']):>26} | {_ms(r['sklearn']):>26} | "
            f"{r['ratio']:6.3f} {r['ratio_of_minimums']:6.3f} | {r['max_relative_difference']:7.1e} | "
            f"{_verdict(r['targets'])}"
        )
    print(
        "  ratio = gmm_lab median / scikit-learn median; r(min) = ratio of the minimums (least noisy);\n"
        "  agree = max relative difference of theta_{t+1} and L(theta_t) between the two; N = 1520 is the\n"
        "  real vowel data, larger N formant-like samples. gmm_lab's per-fit set-up is in the JSON."
    )
    print()


def print_other_cases(results: list) -> None:
    for r in results:
        if r["kind"] == "history":
            stored = r["history_bytes"]
            print(
                f"History: {r['n_iterations']} iterations, K = {r['n_components']}, "
                f"vowels (N = {r['n_samples']}), "
                f"responsibilities kept; ms per whole run, median (min-max)"
            )
            print(
                f"  gmm_lab iterations from theta_0 : {_ms(r['gmm_lab_iterations'])}   {_verdict(r['targets'])}"
            )
            print(f"  gmm_lab run_em (with k-means++) : {_ms(r['gmm_lab_run_em'])}")
            if r["sklearn_fit"]:
                print(
                    f"  scikit-learn fit, same theta_0  : {_ms(r['sklearn_fit'])}   (no history kept)"
                )
            print(
                f"  stored history: {stored['total'] / 2**20:.2f} MiB "
                f"({stored['responsibilities'] / 2**20:.2f} MiB responsibilities, "
                f"{stored['parameters'] / 2**10:.1f} KiB parameters); traced peak while running "
                f"{r['traced_peak_bytes'] / 2**20:.2f} MiB"
            )
            print()
        elif r["kind"] == "seed":
            print(
                f"Seed (the handout's linear-space code, copied from shared/seed), N = {r['n_samples']}, "
                f"K = {r['n_components']}, diag parameters; ms per call"
            )
            for name, label in (
                ("seed_get_predictions", "seed get_predictions (pinv, det, exp)"),
                ("gmm_lab_get_predictions", "gmm_lab get_predictions (log space)"),
                ("seed_iteration", "seed iteration (E + l1 normalise + M)"),
                ("gmm_lab_iteration", "gmm_lab iteration"),
                ("sklearn_iteration", "scikit-learn iteration"),
            ):
                print(f"  {label:40s}: {_ms(r[name])}")
            sk = r["sklearn_iteration"]["median_ms"]
            print(
                f"  seed iteration / scikit-learn = {r['seed_iteration']['median_ms'] / sk:.2f}, "
                f"gmm_lab / scikit-learn = {r['gmm_lab_iteration']['median_ms'] / sk:.3f}; "
                f"rows whose raw densities all underflow to 0: {r['underflowed_rows']}"
            )
            print()
        elif r["kind"] == "memory":
            mib = 2**20
            print(
                f"Memory of one iteration (tracemalloc peak above the start), N = {r['n_samples']}, "
                f"K = {r['n_components']}, D = 2, full; responsibilities N x K = "
                f"{r['responsibility_bytes'] / mib:.1f} MiB"
            )
            for name, label in (
                ("gmm_lab_keep_false", "gmm_lab keep=False"),
                ("gmm_lab_keep_true", "gmm_lab keep=True"),
                ("sklearn", "scikit-learn _e_step + _m_step"),
                ("gmm_lab_engine_setup", "gmm_lab engine set-up (once per fit)"),
            ):
                print(
                    f"  {label:38s}: {r['peak_bytes'][name] / mib:8.1f} MiB = "
                    f"{r['peak_over_responsibilities'][name]:.2f} x resp"
                )
            print(
                f"  held for the whole fit: X {r['X_bytes'] / mib:.1f} MiB, engine feature columns "
                f"{r['engine_columns_bytes'] / mib:.1f} MiB.   {_verdict(r['targets'])}"
            )
            print()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a small subset with few repeats (smoke test)"
    )
    parser.add_argument(
        "--cases", default="", help="comma-separated globs or substrings of case names"
    )
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help=f"JSON file (default {DEFAULT_OUTPUT})"
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit every BLAS/OpenMP pool to this many threads",
    )
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="wall time (default) or the process's CPU time (steadier on a shared machine)",
    )
    args = parser.parse_args(argv)
    global clock, SETTLE_SECONDS
    clock = CLOCKS[args.clock]
    if args.quick:
        SETTLE_SECONDS = 0.02  # a smoke test: the figures only need to exist
    patterns = [p.strip() for p in args.cases.split(",") if p.strip()]
    cases = [(name, runner) for name, runner in plan(args.quick) if selected(name, patterns)]
    if args.list:
        print("\n".join(name for name, _ in cases))
        return 0
    if not cases:
        parser.error(f"no case matches --cases {args.cases!r}; see --list")

    info = environment()
    print_environment(info, args.blas_threads, args.clock)
    limits = threadpoolctl.threadpool_limits(args.blas_threads) if args.blas_threads else None
    results = []
    started = time.perf_counter()
    try:
        for name, runner in cases:
            print(f"  running {name} ...", file=sys.stderr, flush=True)
            with warnings.catch_warnings():
                # A collapsed component warns once per engine; not news here.
                warnings.simplefilter("ignore", gmm_lab.CollapsedComponentWarning)
                results.append(runner())
    finally:
        if limits is not None:
            limits.restore_original_limits()
    info["load_average_end"] = os.getloadavg()
    info["wall_seconds"] = time.perf_counter() - started

    print_iteration_table(results)
    print_other_cases(results)
    print(
        f"load average at end: {' '.join(f'{x:.2f}' for x in info['load_average_end'])}; "
        f"benchmark took {info['wall_seconds']:.0f} s"
    )

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "command": [Path(sys.executable).name, *sys.argv],
        "quick": args.quick,
        "blas_threads": args.blas_threads,
        "clock": args.clock,
        "timed_as": {
            "sklearn": "GaussianMixture set to theta_t; _e_step(X) + _m_step(X, log_resp)",
            "gmm_lab": "_Engine.expectation(theta_t, keep=...) + _Engine.maximisation",
        },
        "environment": info,
        "results": results,
    }
    args.output.write_text(json.dumps(report, indent=1, default=float))
    print(f"JSON written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
