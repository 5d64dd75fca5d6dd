"""L1 single fits with 300 to 2,000 features: what ``"auto"`` should pick.

    python -m benchmarks.bench_l1 [--rows 20000] [--cols 300 1000 2000] [--Cs 0.01 0.1]

Binary L1 (``l1_ratio=1``), default ``tol`` and ``max_iter`` (100), one BLAS thread,
on two problems per width: ``iid`` (independent standard normal columns, 20 of them in
the true model) and ``make_cls`` (scikit-learn's ``make_classification`` with 30
informative columns and correlated redundant ones). For each: clogreg ``"gd"`` (what
``"auto"`` picked above 200 features until issue 16), clogreg ``"newton"`` (proximal
Newton on a working set of columns) and scikit-learn's liblinear, with the seconds,
iterations and the objective ``sum_i logloss_i + ||w||_1 / C`` each reached (one NumPy
function), so a fast fit that stopped far from the optimum shows as such (liblinear
penalises the intercept as a column of ones, so its f is that of a slightly different
problem).
"""
import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression

from ._common import machine


def l1_objective(X, y, w, b, C):
    z = X @ np.ravel(w) + float(np.ravel(b)[0])
    return float(np.logaddexp(0.0, np.where(y == 1, -z, z)).sum() + np.abs(w).sum() / C)


def problems(rows, cols):
    rng = np.random.default_rng(cols)
    X = rng.standard_normal((rows, cols))
    w = np.zeros(cols)
    w[:20] = rng.standard_normal(20)
    y = (rng.random(rows) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
    Xc, yc = make_classification(rows, cols, n_informative=30, random_state=cols)
    return {"iid": (X, y), "make_cls": (Xc, yc)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--cols", type=int, nargs="+", default=[300, 1000, 2000])
    parser.add_argument("--Cs", type=float, nargs="+", default=[0.01, 0.1])
    args = parser.parse_args()
    print("\n".join(machine()))
    print("\n| problem | C | clogreg gd | clogreg newton | liblinear |\n|---|---|---|---|---|")
    warnings.simplefilter("ignore")
    with threadpool_limits(limits=1, user_api="blas"):
        for d in args.cols:
            for name, (X, y) in problems(args.rows, d).items():
                for C in args.Cs:
                    cells = []
                    for est in (LogisticRegression(C=C, l1_ratio=1.0, solver="gd"),
                                LogisticRegression(C=C, l1_ratio=1.0, solver="newton"),
                                SkLogisticRegression(C=C, l1_ratio=1.0, solver="liblinear")):
                        start = time.perf_counter()
                        est.fit(X, y)
                        seconds = time.perf_counter() - start
                        f = l1_objective(X, y, est.coef_, est.intercept_, C)
                        cells.append(f"{seconds:.2f} s, {int(np.max(est.n_iter_))} it, "
                                     f"f = {f:.1f}")
                    print(f"| {args.rows:,} x {d:,} {name} | {C} | " + " | ".join(cells) + " |",
                          flush=True)


if __name__ == "__main__":
    main()
