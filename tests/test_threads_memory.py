"""Threads (the kernel releases the GIL; concurrent fits are independent) and memory."""
import gc
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import dense_objective

from clogreg import LogisticRegression, _solvers


def make_problem(seed, n=3000, d=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(np.int64)
    dtype = np.float32 if seed % 2 else np.float64
    return X.astype(dtype), y


def fit(problem):
    X, y = problem
    clf = LogisticRegression(C=1.0, max_iter=60, tol=0).fit(X, y)
    return clf.coef_.copy(), clf.intercept_.copy(), clf.history_["loss"].copy()


def test_eight_threads_give_bit_identical_results_to_serial_fits():
    problems = [make_problem(seed) for seed in range(16)]
    serial = [fit(p) for p in problems]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(fit, problems))
    for (c1, b1, l1), (c2, b2, l2) in zip(serial, threaded):
        assert c1.dtype == c2.dtype
        np.testing.assert_array_equal(c1, c2)
        np.testing.assert_array_equal(b1, b2)
        np.testing.assert_array_equal(l1, l2)


def test_one_fitted_estimator_predicts_from_eight_threads():
    X, y = make_problem(0)
    clf = LogisticRegression(max_iter=20, tol=0).fit(X, y)
    expected = clf.predict_proba(X)
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: clf.predict_proba(X), range(32)))
    for proba in results:
        np.testing.assert_array_equal(proba, expected)


def test_kernel_releases_the_gil():
    # While the kernel runs in another thread, this thread must keep running: the
    # longest pause between two of its loop iterations stays far below the kernel's
    # run time (it would be all of it if the kernel held the GIL).
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 20))
    y = (X[:, 0] > 0).astype(np.float64)
    sw = np.empty(0)
    run = {}

    def kernel():
        start = time.perf_counter()
        _solvers.gradient_descent(dense_objective(X, y, sw), np.zeros(20), 0.0,
                                  learning_rate=1e-5, max_iter=20, tol=0.0)
        run["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=kernel)
    longest, last = 0.0, time.perf_counter()
    thread.start()
    while thread.is_alive():
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    thread.join()
    assert run["seconds"] > 0.02, "the kernel ran too briefly to tell"
    assert longest < run["seconds"] / 2


def resident_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_5000_fits_and_predictions_do_not_grow_memory():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    y = (X[:, 0] + 0.5 * rng.standard_normal(50) > 0).astype(np.int64)
    sw = rng.uniform(0.5, 2.0, 50)

    def fit_and_predict(i):
        X_i = X.astype(np.float32) if i % 2 else X
        clf = LogisticRegression(max_iter=5, tol=0).fit(X_i, y, sample_weight=sw)
        clf.predict_proba(X_i)
        clf.predict(X_i)

    for i in range(200):  # warm up: caches, allocator arenas, lazy imports
        fit_and_predict(i)
    gc.collect()
    before = resident_bytes()
    for i in range(5000):
        fit_and_predict(i)
    gc.collect()
    grown = resident_bytes() - before
    assert grown < 2 * 2**20, f"resident memory grew by {grown / 2**20:.2f} MiB"
