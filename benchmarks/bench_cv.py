"""LogisticRegressionCV beside scikit-learn's: wall time, chosen C and peak memory.

    python benchmarks/bench_cv.py [--rows 500000] [--cols 100] [--repeat 2]
                                  [--jobs 1 2] [--problems wide cancer]

Both cross-validate the same grid (``np.logspace(-4, 4, 10)``, L2) on the same 5
stratified folds, with their default tol and max_iter, scoring the held-out log-loss
(scikit-learn: ``scoring="neg_log_loss"``; its lbfgs solver), then refit the best C.
``wide``: ``--rows`` x ``--cols`` float64 from a logistic model; ``cancer``: breast
cancer, standardised. BLAS runs on one thread (threadpoolctl); ``n_jobs`` is the
parallelism: threads for clogreg, joblib's processes for scikit-learn. The contenders
take turns; times are medians of ``--repeat`` turns. Peak memory: the peak traced by
tracemalloc during ``fit`` with ``n_jobs=1`` (NumPy reports its allocations to it;
with more jobs scikit-learn's work happens in other processes), beside the size of X.
"""
import argparse
import os
import platform
import time
import tracemalloc
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegressionCV

CS = np.logspace(-4, 4, 10)


def problems(names, rows, cols):
    out = {}
    if "wide" in names:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((rows, cols))
        w = 2 * rng.standard_normal(cols) / np.sqrt(cols)
        y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
        out[f"{rows:,} x {cols}"] = (X, y)
    if "cancer" in names:
        X, y = load_breast_cancer(return_X_y=True)
        out["breast cancer (569 x 30)"] = (StandardScaler().fit_transform(X), y)
    return out


def contenders(folds, n_jobs, newton):
    out = {
        "clogreg": lambda: LogisticRegressionCV(Cs=CS, cv=folds, n_jobs=n_jobs),
        "sklearn lbfgs": lambda: SkLogisticRegressionCV(
            Cs=CS, cv=folds, n_jobs=n_jobs, solver="lbfgs", scoring="neg_log_loss",
            l1_ratios=(0.0,), use_legacy_attributes=False),
    }
    if newton:  # few features: a Hessian costs a few passes, Newton's path is short
        out["clogreg newton"] = lambda: LogisticRegressionCV(Cs=CS, cv=folds, n_jobs=n_jobs,
                                                             solver="newton")
    return out


def peak_memory(make, X, y):
    tracemalloc.start()
    try:
        model = make().fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--cols", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--problems", nargs="+", default=["wide", "cancer"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}, numpy {np.__version__}")
    print(f"10 Cs x 5 folds, L2, default tol and max_iter; median of {args.repeat} turns\n")
    print("| problem | clogreg solver | n_jobs | clogreg (s) | sklearn lbfgs (s) | speed-up | "
          "C_ clogreg | C_ sklearn | iterations clogreg / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|")
    memory_rows = []
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=1, user_api="blas"):
        for name, (X, y) in problems(args.problems, args.rows, args.cols).items():
            folds = list(StratifiedKFold(5).split(X, y))
            newton = X.shape[1] <= 50
            for n_jobs in args.jobs:
                makers = contenders(folds, n_jobs, newton)
                times = {key: [] for key in makers}
                models = {}
                for make in makers.values():  # warm-up: lazy imports, joblib's workers
                    make().set_params(cv=3).fit(X[:3000], y[:3000])
                for _ in range(args.repeat):
                    for key, make in makers.items():
                        start = time.perf_counter()
                        models[key] = make().fit(X, y)
                        times[key].append(time.perf_counter() - start)
                theirs = float(np.median(times["sklearn lbfgs"]))
                m_sk = models["sklearn lbfgs"]
                for key in [k for k in makers if k.startswith("clogreg")]:
                    ours = float(np.median(times[key]))
                    ratios = np.array(times["sklearn lbfgs"]) / np.array(times[key])
                    m_ours = models[key]
                    solver = key.removeprefix("clogreg").strip() or "auto"
                    print(f"| {name} | {solver} | {n_jobs} | {ours:.3f} | {theirs:.3f} | "
                          f"{np.median(ratios):.2f}x | {m_ours.C_:.4g} | {m_sk.C_:.4g} | "
                          f"{int(m_ours.n_iter_.sum())} / {int(m_sk.n_iter_.sum())} |",
                          flush=True)
            makers = contenders(folds, 1, False)
            peaks = {key: peak_memory(make, X, y)[0] for key, make in makers.items()}
            memory_rows.append((name, X.nbytes, peaks))
    print("\n| problem | X (MB) | clogreg peak (MB) | sklearn lbfgs peak (MB) |")
    print("|---|---|---|---|")
    for name, nbytes, peaks in memory_rows:
        print(f"| {name} | {nbytes / 1e6:.1f} | {peaks['clogreg'] / 1e6:.1f} | "
              f"{peaks['sklearn lbfgs'] / 1e6:.1f} |")


if __name__ == "__main__":
    main()
