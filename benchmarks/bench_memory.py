"""Peak extra memory of a fit, in bytes per row (tracemalloc), clogreg beside scikit-learn.

    python -m benchmarks.bench_memory [--rows 200000] [--cols 50]

NumPy reports its array allocations to tracemalloc, so the peak traced while ``fit``
runs is the memory that fit added on top of X and y (C-contiguous, no sample weights):
copies of X, encoded labels, per-row work arrays.
"""
import argparse
import tracemalloc
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from clogreg import LogisticRegression


def peak_bytes_per_row(estimator, X, y):
    """Peak memory traced during ``estimator.fit(X, y)``, divided by the rows."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tracemalloc.start()
        try:
            estimator.fit(X, y)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return peak / X.shape[0]


def measure(rows=200_000, cols=50, seed=0):
    """Return {(dtype name, contender): bytes per row}."""
    rng = np.random.default_rng(seed)
    X64 = rng.standard_normal((rows, cols))
    y = (X64[:, 0] + rng.standard_normal(rows) > 0).astype(np.int64)
    out = {}
    for dtype in (np.float64, np.float32):
        X = X64.astype(dtype)
        contenders = {
            "clogreg (gd)": LogisticRegression(solver="gd", max_iter=5, tol=0),
            "clogreg (lbfgs)": LogisticRegression(solver="lbfgs", max_iter=5, tol=0),
            "clogreg (newton)": LogisticRegression(solver="newton", max_iter=5, tol=0),
            "scikit-learn lbfgs": SkLogisticRegression(max_iter=5),
        }
        for name, est in contenders.items():
            out[np.dtype(dtype).name, name] = peak_bytes_per_row(est, X, y)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=50)
    args = parser.parse_args()
    print(f"Peak extra memory during fit, {args.rows:,} x {args.cols}, bytes per row")
    for (dtype, name), b in measure(args.rows, args.cols).items():
        print(f"  {dtype:8} {name:20} {b:6.1f}")


if __name__ == "__main__":
    main()
