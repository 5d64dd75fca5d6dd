"""LogisticRegressionCV beside scikit-learn's: wall time, chosen C and peak memory.

    python benchmarks/bench_cv.py [--rows 500000] [--cols 100] [--repeat 2]
                                  [--jobs 1 2] [--problems wide cancer l1]

Both cross-validate the same grid on the same 5 stratified folds, with their default
tol and max_iter, scoring the held-out log-loss (scikit-learn:
``scoring="neg_log_loss"``), then refit the best C. ``wide``: ``--rows`` x
``--cols`` float64 from a logistic model; ``cancer``: breast cancer, standardised;
both L2 on ``np.logspace(-4, 4, 10)`` against scikit-learn's lbfgs. ``l1``: 20,000 x
2,000 independent standard normal columns, 20 of them in the true model, L1 on
``np.logspace(-4, 0, 10)`` (from all coefficients zero to nearly all nonzero) against
scikit-learn's saga and liblinear (clogreg's ``"auto"`` is proximal Newton there, on
a working set with strong-rule screening). BLAS runs on one thread
(threadpoolctl); ``n_jobs`` is the parallelism: threads for clogreg, joblib's
processes for scikit-learn. The contenders take turns; times are medians of
``--repeat`` turns; the speed-up is against scikit-learn's fastest. Peak memory: the
peak traced by tracemalloc during ``fit`` with ``n_jobs=1`` (NumPy reports its
allocations to it; with more jobs scikit-learn's work happens in other processes),
beside the size of X.
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
CS_L1 = np.logspace(-4, 0, 10)


def problems(names, rows, cols):
    """name -> (X, y, penalty)."""
    out = {}
    if "wide" in names:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((rows, cols))
        w = 2 * rng.standard_normal(cols) / np.sqrt(cols)
        y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
        out[f"{rows:,} x {cols}"] = (X, y, "l2")
    if "cancer" in names:
        X, y = load_breast_cancer(return_X_y=True)
        out["breast cancer (569 x 30)"] = (StandardScaler().fit_transform(X), y, "l2")
    if "l1" in names:
        rng = np.random.default_rng(0)
        X = rng.standard_normal((20_000, 2_000))
        w = np.zeros(2_000)
        w[:20] = rng.standard_normal(20)
        y = (rng.random(X.shape[0]) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
        out["20,000 x 2,000, 20 informative"] = (X, y, "l1")
    return out


def contenders(folds, n_jobs, newton, penalty):
    """name -> a function making the estimator; scikit-learn's names start "sklearn"."""
    if penalty == "l1":
        ours = dict(Cs=CS_L1, cv=folds, n_jobs=n_jobs, l1_ratios=[1.0])
        theirs = dict(Cs=CS_L1, cv=folds, n_jobs=n_jobs, scoring="neg_log_loss",
                      l1_ratios=(1.0,), use_legacy_attributes=False)
        return {
            "clogreg": lambda: LogisticRegressionCV(**ours),
            "sklearn saga": lambda: SkLogisticRegressionCV(**theirs, solver="saga"),
            "sklearn liblinear": lambda: SkLogisticRegressionCV(**theirs,
                                                                solver="liblinear"),
        }
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
    parser.add_argument("--problems", nargs="+", default=["wide", "cancer", "l1"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}, numpy {np.__version__}")
    print(f"10 Cs x 5 folds, default tol and max_iter; median of {args.repeat} turns\n")
    print("| problem | penalty | clogreg solver | n_jobs | clogreg (s) | fastest sklearn (s) "
          "| speed-up | C_ clogreg | C_ sklearn | iterations clogreg / sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    memory_rows = []
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(limits=1, user_api="blas"):
        for name, (X, y, penalty) in problems(args.problems, args.rows, args.cols).items():
            folds = list(StratifiedKFold(5).split(X, y))
            newton = X.shape[1] <= 50
            for n_jobs in args.jobs:
                makers = contenders(folds, n_jobs, newton, penalty)
                times = {key: [] for key in makers}
                models = {}
                for make in makers.values():  # warm-up: lazy imports, joblib's workers
                    make().set_params(cv=3).fit(X[:3000], y[:3000])
                for _ in range(args.repeat):
                    for key, make in makers.items():
                        start = time.perf_counter()
                        models[key] = make().fit(X, y)
                        times[key].append(time.perf_counter() - start)
                peers = [k for k in makers if k.startswith("sklearn")]
                ref = min(peers, key=lambda k: np.median(times[k]))
                theirs = float(np.median(times[ref]))
                m_sk = models[ref]
                for key in peers:
                    print(f"  {key}: {np.median(times[key]):.3f} s, C_ {models[key].C_:.4g}")
                for key in [k for k in makers if k.startswith("clogreg")]:
                    ours = float(np.median(times[key]))
                    ratios = np.array(times[ref]) / np.array(times[key])
                    m_ours = models[key]
                    solver = key.removeprefix("clogreg").strip() or "auto"
                    print(f"| {name} | {penalty.upper()} | {solver} | {n_jobs} | {ours:.3f} | "
                          f"{theirs:.3f} ({ref.removeprefix('sklearn ')}) | "
                          f"{np.median(ratios):.2f}x | {m_ours.C_:.4g} | {m_sk.C_:.4g} | "
                          f"{int(m_ours.n_iter_.sum())} / {int(np.sum(m_sk.n_iter_))} |",
                          flush=True)
            makers = contenders(folds, 1, False, penalty)
            peaks = {key: peak_memory(make, X, y)[0] for key, make in makers.items()}
            memory_rows.append((name, X.nbytes, peaks))
    print("\n| problem | X (MB) | peak (MB) per contender |")
    print("|---|---|---|")
    for name, nbytes, peaks in memory_rows:
        listed = ", ".join(f"{key} {peak / 1e6:.1f}" for key, peak in peaks.items())
        print(f"| {name} | {nbytes / 1e6:.1f} | {listed} |")


if __name__ == "__main__":
    main()
