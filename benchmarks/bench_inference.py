"""Fit + full summary table: clogreg against statsmodels, side by side in one run.

    python benchmarks/bench_inference.py [--shapes 1000000x50,200000x200] [--repeat 1]

For each shape (float64, a logistic model with an intercept and known coefficients),
times in the same process, in turn:

* clogreg: ``LogisticRegression(C=np.inf, solver=...).fit(X, y)``, then
  ``summary(X, y, print_table=False)`` (covariance, z, p-values, intervals, the
  log-likelihoods, the separation certificate) and ``summary(..., kind="HC0")``;
  for "newton" (tol=1e-8, the MLE to statsmodels' accuracy) and "auto" (lbfgs,
  the default tol=1e-4);
* one Hessian pass alone (``clogreg._inference.hessian_pass``), the unit the
  statistics' cost is quoted in;
* statsmodels: ``Logit(y, add_constant(X)).fit(disp=0)`` (Newton, its default) and
  ``summary()`` (the text table: it computes bse, p-values, intervals, llnull).

Prints one markdown table of medians (seconds) and the ratios, and checks that the
two give the same standard errors (1e-5 relative). BLAS keeps its threads.
"""
import argparse
import os
import platform
import time

import numpy as np


def _time(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def run(n, d, repeat, rng):
    import statsmodels.api as sm

    from clogreg import LogisticRegression
    from clogreg._inference import hessian_pass

    X = rng.normal(size=(n, d))
    beta = rng.normal(size=d) / np.sqrt(d)
    y = (X @ beta + 0.2 + rng.logistic(size=n) > 0).astype(np.int64)
    rows = {}

    for solver, tol in (("newton", 1e-8), ("auto", 1e-4)):
        clf = LogisticRegression(C=np.inf, solver=solver, tol=tol)
        t_fit, _ = _time(lambda clf=clf: clf.fit(X, y), repeat)
        t_sum, table = _time(lambda clf=clf: clf.summary(X, y, print_table=False), repeat)
        t_hc0, _ = _time(lambda clf=clf: clf.summary(X, y, kind="HC0", print_table=False),
                         repeat)
        rows[solver] = (t_fit, t_sum, t_hc0, table)
    w, b = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    y01 = y.astype(np.float64)
    t_pass, _ = _time(lambda: hessian_pass(X, y01, np.empty(0), w, b), repeat)

    def statsmodels_fit_summary():
        res = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
        t0 = time.perf_counter()
        str(res.summary())
        return res, time.perf_counter() - t0
    t_sm, (res, t_sm_summary) = _time(statsmodels_fit_summary, repeat)
    se_ours = rows["newton"][3]["std err"].to_numpy()
    worst = float(np.max(np.abs(se_ours / res.bse - 1)))
    return rows, t_pass, t_sm, t_sm_summary, worst


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="1000000x50,200000x200")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    cpu = platform.processor() or platform.machine()
    print(f"CPU: {cpu}, {os.cpu_count()} logical CPUs; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE', '(unset)')}; median of {args.repeat}\n")
    print("| n x d | clogreg fit (newton) | + summary | summary HC0 | 1 Hessian pass | "
          "clogreg fit (auto) | + summary | statsmodels fit + summary (summary alone) | "
          "speed-up fit+summary (newton / auto) | max rel. diff. of SEs |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for shape in args.shapes.split(","):
        n, d = map(int, shape.split("x"))
        rows, t_pass, t_sm, t_sm_summary, worst = run(n, d, args.repeat, rng)
        nf, ns, nh, _ = rows["newton"]
        af, as_, _, _ = rows["auto"]
        print(f"| {n:,} x {d} | {nf:.2f} | {ns:.2f} | {nh:.2f} | {t_pass:.2f} | {af:.2f} | "
              f"{as_:.2f} | {t_sm:.2f} ({t_sm_summary:.2f}) | "
              f"{t_sm / (nf + ns):.1f}x / {t_sm / (af + as_):.1f}x | {worst:.1e} |",
              flush=True)


if __name__ == "__main__":
    main()
