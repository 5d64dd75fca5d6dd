"""Time one training epoch and the tutorial fit, clogreg beside its references.

    python benchmarks/bench_epoch.py [--rows 1000000] [--cols 100] [--repeat 7]

Prints one table per problem: median, min and max wall time of each contender
and the ratio of its median to clogreg's, all measured in the same run:

* ``read X once (X.sum())``: NumPy reading the array once, the memory-speed bound;
* ``clogreg epoch``: one pass of the kernel (loss, accuracy, gradient, update);
* ``NumPy epoch``: the same epoch written with NumPy (``X @ w``, ``X.T @ r``).

and then the tutorial's fit (80 x 2, 20 epochs) through ``fit()`` end to end against
the same loop in NumPy. BLAS is limited to one thread (threadpoolctl), so every
number is single-threaded.
"""
import argparse
import platform
import time

import numpy as np
from scipy.special import expit
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression, _solvers, load_tutorial_data


def numpy_epochs(X, y, lr, epochs):
    """The tutorial's loop in NumPy: summed loss and gradient, fixed step."""
    w = np.zeros(X.shape[1], dtype=X.dtype)
    b = 0.0
    for _ in range(epochs):
        z = X @ w + b
        p = expit(z)
        loss = np.sum(np.logaddexp(0.0, z) - y * z)  # stable log(1 + e^z) - y z
        acc = 100.0 * np.mean((p > 0.5) == y)
        r = p - y
        w -= lr * (X.T @ r)
        b -= lr * r.sum()
    return w, b, loss, acc


def clogreg_epochs(X, y, lr, epochs, n_threads=1):
    """clogreg's kernel alone (no input validation): `epochs` passes."""
    return _solvers.gradient_descent(
        X, y, np.empty(0, X.dtype), np.zeros(X.shape[1], X.dtype), 0.0,
        learning_rate=lr, alpha_l2=0.0, alpha_l1=0.0, fit_intercept=True,
        max_iter=epochs, tol=0.0, n_threads=n_threads)


def timeit(fn, repeat):
    fn()  # warm-up: page faults, caches, lazy imports
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return np.array(times)


def table(title, rows, unit, scale, reference):
    print(f"\n{title}")
    print(f"| {'contender':<28} | median {unit:>3} | min {unit:>3} | max {unit:>3} | "
          f"ratio to {reference} |")
    print(f"|{'-' * 30}|{'-' * 12}|{'-' * 9}|{'-' * 9}|{'-' * (12 + len(reference))}|")
    ref = np.median(rows[reference])
    for name, t in rows.items():
        print(f"| {name:<28} | {np.median(t) * scale:10.1f} | {t.min() * scale:7.1f} | "
              f"{t.max() * scale:7.1f} | {np.median(t) / ref:{10 + len(reference)}.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"python {platform.python_version()}, numpy {np.__version__}")

    rng = np.random.default_rng(0)
    X64 = rng.standard_normal((args.rows, args.cols))
    true_w = rng.standard_normal(args.cols) / np.sqrt(args.cols)
    y64 = (X64 @ true_w + 0.5 * rng.standard_normal(args.rows) > 0).astype(np.float64)
    lr = 1.0 / (0.25 * args.rows * args.cols)
    with threadpool_limits(limits=1, user_api="blas"):
        for dtype in (np.float64, np.float32):
            X, y = X64.astype(dtype), y64.astype(dtype)
            rows = {
                "clogreg epoch": timeit(lambda X=X, y=y: clogreg_epochs(X, y, lr, 1), args.repeat),
                "NumPy epoch": timeit(lambda X=X, y=y: numpy_epochs(X, y, lr, 1), args.repeat),
                "read X once (X.sum())": timeit(X.sum, args.repeat),
            }
            table(f"One epoch, {args.rows:,} x {args.cols} {np.dtype(dtype).name}",
                  rows, "ms", 1e3, "clogreg epoch")

        X_train, _, y_train, _ = load_tutorial_data()
        yf = y_train.astype(np.float64)
        tutorial = LogisticRegression(C=np.inf, solver="gd", learning_rate=0.1, max_iter=20,
                                      tol=0)
        rows = {
            "clogreg fit()": timeit(lambda: tutorial.fit(X_train, y_train), 200),
            "NumPy loop": timeit(lambda: numpy_epochs(X_train, yf, 0.1, 20), 200),
        }
        table("Tutorial fit: 80 x 2, 20 epochs, end to end", rows, "us", 1e6,
              "clogreg fit()")


if __name__ == "__main__":
    main()
