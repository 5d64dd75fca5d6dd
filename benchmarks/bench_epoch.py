"""Time one training epoch and the tutorial fit, clogreg beside its references.

    python -m benchmarks.bench_epoch [--rows 1000000] [--cols 100] [--repeat 7]

Prints one table per problem: median, min and max wall time of each contender
and the ratio of its median to clogreg's, all measured in the same run:

* ``read X once (X.sum())``: NumPy reading the array once, the memory-speed bound;
* ``clogreg epoch``: one pass of the kernel (loss, accuracy, gradient, update);
* ``NumPy epoch``: the same epoch written with NumPy (``X @ w``, ``X.T @ r``).

and then the tutorial's fit (80 x 2, 20 epochs) through ``fit()`` end to end (2,000
fits in a row, each timed), also with the validation fast path switched off
(scikit-learn's ``validate_data``), against the same loop in NumPy. BLAS is limited
to one thread (threadpoolctl), so every number is single-threaded.
"""
import argparse
import platform

import numpy as np
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression, _validation, load_tutorial_data

from ._common import clogreg_epochs, numpy_epochs, timeit


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
        def full_validation():  # the fast path off: scikit-learn's validate_data
            fast = _validation.passes_unchanged
            _validation.passes_unchanged = lambda X, y: False
            try:
                tutorial.fit(X_train, y_train)
            finally:
                _validation.passes_unchanged = fast

        rows = {
            "clogreg fit()": timeit(lambda: tutorial.fit(X_train, y_train), 2000),
            "clogreg fit(), full validation": timeit(full_validation, 2000),
            "NumPy loop": timeit(lambda: numpy_epochs(X_train, yf, 0.1, 20), 2000),
        }
        table("Tutorial fit: 80 x 2, 20 epochs, end to end", rows, "us", 1e6,
              "clogreg fit()")


if __name__ == "__main__":
    main()
