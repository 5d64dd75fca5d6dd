"""Time one pass over a text-like CSR matrix: clogreg's sparse kernel beside its peers.

    python benchmarks/bench_sparse.py [--rows 1000000] [--cols 100000] [--per-row 50]
                                      [--repeat 7]

The problem: a CSR matrix like a bag of words, ``--per-row`` entries a row (before
repeated columns are merged) whose columns follow Zipf's law (probability of the
column of rank k proportional to 1 / k, ranks shuffled over the columns), positive
values, labels from a linear model. One table per dtype: median, min and max wall time
and the ratio of each median to "read data + indices once", all in the same run,
taking turns (so a change in the machine's load hits them alike):

* ``read data + indices once``: NumPy summing ``data`` and ``indices``, the memory
  bound (the issue's yardstick: the epoch should take at most 1.3x this);
* ``clogreg epoch``: one call of the kernel's ``csr_loss_grad`` (loss, accuracy,
  gradient: the pass of a gd epoch or of one lbfgs iteration), 1 and 2 threads;
* ``clogreg Hessian-vector product``: ``csr_hessp`` (one per CG step of truncated Newton);
* ``SciPy X @ w, X.T @ r``: the two sparse products of scikit-learn's lbfgs iteration,
  without the logistic arithmetic (SciPy's own C++ loops, one thread).
"""
import argparse
import platform
import time

import numpy as np
import scipy
import scipy.sparse as sp
from scipy.special import expit
from threadpoolctl import threadpool_limits

from clogreg import _dispatch

kernel = _dispatch.kernel


def text_like(n_rows, n_cols, per_row, seed=0, batch=100_000):
    """A float64 CSR matrix with Zipf-distributed columns and labels 0.0 / 1.0."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(1.0 / np.arange(1, n_cols + 1))
    cdf /= cdf[-1]
    rank_to_col = rng.permutation(n_cols).astype(np.int32)
    parts = []
    for start in range(0, n_rows, batch):
        m = min(batch, n_rows - start)
        ranks = np.minimum(np.searchsorted(cdf, rng.random(m * per_row)), n_cols - 1)
        block = sp.csr_matrix(
            (rng.exponential(1.0, m * per_row), rank_to_col[ranks],
             np.arange(0, m * per_row + 1, per_row)), shape=(m, n_cols))
        block.sum_duplicates()      # a word counted once per document, sorted columns
        parts.append(block)
    X = sp.vstack(parts, format="csr")
    w_true = rng.standard_normal(n_cols) / np.sqrt(per_row)
    y = (X @ w_true + rng.logistic(size=n_rows) > 0).astype(np.float64)
    return X, y


def take_turns(contenders, repeat):
    """Median-ready times: every contender once per turn, after one warm-up each."""
    for fn in contenders.values():
        fn()
    times = {name: [] for name in contenders}
    for _ in range(repeat):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: np.array(t) for name, t in times.items()}


def table(title, times, reference):
    ref = np.median(times[reference])
    lines = [f"\n### {title}\n",
             f"| contender | median ms | min ms | max ms | ratio to {reference} |",
             "|---|---:|---:|---:|---:|"]
    for name, t in times.items():
        lines.append(f"| {name} | {np.median(t) * 1e3:.1f} | {t.min() * 1e3:.1f} | "
                     f"{t.max() * 1e3:.1f} | {np.median(t) / ref:.2f} |")
    return "\n".join(lines)


def contenders(X, y, dtype):
    n, d = X.shape
    data, indices, indptr = X.data.astype(dtype), X.indices, X.indptr
    Xt = sp.csr_matrix((data, indices, indptr), shape=X.shape)  # same arrays, no copy
    yd = y.astype(dtype)
    sw = np.empty(0, dtype)
    w = (np.random.default_rng(1).standard_normal(d) * 0.01).astype(dtype)
    grad, h = np.empty(d, dtype), np.empty(n, dtype)
    kernel.csr_loss_grad(data, indices, indptr, d, yd, sw, w, 0.0, grad, h_out=h)

    def scipy_products():
        r = expit(Xt @ w) - yd
        return Xt.T @ r

    return {
        "read data + indices once": lambda: (data.sum(), indices.sum()),
        "clogreg epoch": lambda: kernel.csr_loss_grad(data, indices, indptr, d, yd, sw,
                                                      w, 0.0, grad),
        "clogreg epoch, n_threads=2": lambda: kernel.csr_loss_grad(
            data, indices, indptr, d, yd, sw, w, 0.0, grad, n_threads=2),
        "clogreg Hessian-vector product": lambda: kernel.csr_hessp(
            data, indices, indptr, d, h, w, 0.0, grad),
        "SciPy X @ w, X.T @ r": scipy_products,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=100_000)
    parser.add_argument("--per-row", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python "
          f"{platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"clogreg kernel {_dispatch.KERNEL_NAME}")
    X, y = text_like(args.rows, args.cols, args.per_row)
    print(f"text-like CSR: {args.rows:,} x {args.cols:,}, {X.nnz:,} stored entries "
          f"({X.nnz / args.rows:.1f} a row), indices {X.indices.dtype}")
    with threadpool_limits(limits=1, user_api="blas"):
        for dtype in (np.float64, np.float32):
            times = take_turns(contenders(X, y, dtype), args.repeat)
            print(table(f"One pass, {args.rows:,} x {args.cols:,} CSR, "
                        f"{np.dtype(dtype).name}", times, "read data + indices once"))


if __name__ == "__main__":
    main()
