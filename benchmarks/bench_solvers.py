"""Time to solution: each solver's time to reach a 1e-8 relative objective gap.

    python -m benchmarks.bench_solvers [--problem well|narrow|ill|wide|cancer] [--rows N]

For one problem (default ``well``: 1,000,000 x 100, standard normal features, labels
drawn from a logistic model, L2 with C = 1), the reference optimum ``f*`` is the
lowest objective among clogreg's and scikit-learn's Newton solvers at tol 1e-12 and
every run below. Every contender runs on a ladder of tolerances, loosest first, until
a run's objective is ``f <= f* (1 + 1e-8)`` (objectives computed by one independent
NumPy formula, outside the timing) or its time budget is spent; its "time to 1e-8"
is the wall time of that first successful setting: the median of ``--repeat`` runs
(more for fits of milliseconds, two for fits over 5 s).

Contenders: clogreg's solvers and its default ``"auto"``; scikit-learn's; and, where
installed, what a user looking for speed would try: scikit-learn-intelex
(``sklearnex``, oneDAL's lbfgs) and glum (its IRLS with coordinate
descent, and its L-BFGS). Every library runs on one thread: threadpoolctl limits BLAS
and OpenMP, and oneDAL is initialised with one thread (``daal4py.daalinit(1)``).
Problems: ``well``; ``narrow`` (1,000,000 x 10); ``ill`` (200,000 x 200, correlated
features with scales from 1e-3 to 1e3); ``wide`` (20,000 x 1,000: n = 20 d);
``cancer`` (scikit-learn's breast-cancer data, standardised).
"""
import argparse

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression

from ._common import timed_fit

try:  # optional peers: pip install scikit-learn-intelex glum
    import daal4py
    from sklearnex.linear_model import LogisticRegression as ExLogisticRegression
except ImportError:
    ExLogisticRegression = None
try:
    import glum
except ImportError:
    glum = None

GAP = 1e-8
TOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10, 1e-12]


def make_problem(name, rows, seed=0):
    rng = np.random.default_rng(seed)
    if name == "cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    d = {"well": 100, "ill": 200, "narrow": 10, "wide": 1_000}[name]
    n = rows or {"well": 1_000_000, "ill": 200_000, "narrow": 1_000_000,
                 "wide": 20_000}[name]
    X = rng.standard_normal((n, d))
    if name == "ill":  # correlated features with scales from 1e-3 to 1e3
        mix = np.eye(d) + 0.5 * rng.standard_normal((d, d)) / np.sqrt(d)
        X = (X @ mix) * np.logspace(-3, 3, d)
    w = rng.standard_normal(d) / np.sqrt(d)
    w /= np.std(X @ w) / 2  # margins of order 2: a noisy, non-separable problem
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(np.int64)
    return X, y


def objective(X, y, coef, intercept, C):
    z = X @ coef.ravel() + intercept[0]
    return np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 / C * np.dot(coef.ravel(),
                                                                    coef.ravel())


# Iteration caps keep one fit of a first-order method on an ill-conditioned problem
# to about a minute here (gd: at most 1e11 multiply-adds of passes); a contender that
# hits its cap is reported as not reaching the gap.
MAX_ITER = {"newton": 100, "lbfgs": 1_000, "gd": 20_000, "newton-cholesky": 100,
            "liblinear": 1_000, "saga": 300, "auto": 1_000, "newton-cg": 100,
            "irls-cd": 100}


def max_iter(solver, shape):
    if solver == "gd":
        return int(min(MAX_ITER["gd"], max(100, 1e11 / (shape[0] * shape[1]))))
    return MAX_ITER[solver]


def contenders(C, shape):
    """{name: make(tol) -> unfitted estimator}; a name is "library solver"."""
    ours = {f"clogreg {s}": (lambda tol, s=s: LogisticRegression(
        C=C, solver=s, tol=tol, max_iter=max_iter(s, shape)))
        for s in ("auto", "newton", "lbfgs", "gd")}
    sk = {f"sklearn {s}": (lambda tol, s=s: SkLogisticRegression(
        C=C, solver=s, tol=tol, max_iter=max_iter(s, shape))) for s in
        ("lbfgs", "newton-cholesky", "liblinear", "saga")}
    # sklearnex: lbfgs only; its newton-cg falls back to scikit-learn's on the CPU
    # (SKLEARNEX_VERBOSE=INFO: "fallback to original Scikit-learn", sklearnex 2026.2)
    ex = {} if ExLogisticRegression is None else {
        "sklearnex lbfgs": lambda tol: ExLogisticRegression(
            C=C, solver="lbfgs", tol=tol, max_iter=max_iter("lbfgs", shape))}
    # glum minimises the mean loss + alpha |w|^2 / 2: alpha = 1 / (C n) is C's objective
    gl = {} if glum is None else {
        f"glum {s}": (lambda tol, s=s: glum.GeneralizedLinearRegressor(
            family="binomial", alpha=1.0 / (C * shape[0]), l1_ratio=0.0, solver=s,
            gradient_tol=tol, max_iter=max_iter(s, shape)))
        for s in ("irls-cd", "lbfgs")}
    return {**ours, **sk, **ex, **gl}


def one_thread():
    """Every library on one thread: BLAS and OpenMP (threadpoolctl), oneDAL."""
    if ExLogisticRegression is not None:
        daal4py.daalinit(1)
    return threadpool_limits(limits=1)


def time_to_solution(problem, rows=None, C=1.0, repeat=3, budget=60.0, only=None,
                     log=print):
    """Run every contender's tolerance ladder on one problem and time the first
    setting that reaches the gap. Returns ``(shape, f_star, results)``; each result is
    ``(name, tol or None, times or None, gap)``."""
    X, y = make_problem(problem, rows)
    log(f"problem {problem}: {X.shape[0]:,} x {X.shape[1]}, C = {C}")

    def f_of(clf):
        return objective(X, y, clf.coef_, np.atleast_1d(clf.intercept_), C)

    with one_thread():
        # The reference: two Newton methods run to tol 1e-12 (quadratic convergence:
        # both agree to the last digits), then the lowest objective anyone reaches.
        f_ref = min(f_of(timed_fit(contenders(C, X.shape)[name], 1e-12, X, y)[1])
                    for name in ("clogreg newton", "sklearn newton-cholesky"))
        log(f"  reference objective (Newton, tol 1e-12): {f_ref:.12g}")
        runs = {}
        for name, make in contenders(C, X.shape).items():
            if only and name not in only:
                continue
            spent, ladder = 0.0, []
            for tol in TOLS:  # loosest first, up to the first that reaches the gap
                if spent > budget:
                    break
                seconds, clf = timed_fit(make, tol, X, y)
                spent += seconds
                ladder.append((tol, seconds, f_of(clf)))
                log(f"  {name}, tol {tol:g}: {seconds:.3f} s, objective "
                    f"{ladder[-1][2]:.12g}")
                if ladder[-1][2] <= f_ref * (1 + GAP):
                    break
            runs[name] = ladder
        f_star = min([f_ref] + [f for ladder in runs.values() for _, _, f in ladder])
        results = []
        for name, ladder in runs.items():
            hit = next(((tol, s, f) for tol, s, f in ladder if f <= f_star * (1 + GAP)),
                       None)
            if hit is None:
                gap = min(f for _, _, f in ladder) / f_star - 1
                results.append((name, None, None, gap))
                continue
            # The ladder's run counts as the first; then at least `repeat` runs, more
            # (up to 200) until they add up to 0.5 s, so that a millisecond fit's
            # median rests on enough runs; a fit slower than 5 s is run twice only.
            times = [hit[1]]
            target = 2 if hit[1] > 5.0 else repeat
            while len(times) < target or (sum(times) < 0.5 and len(times) < 200):
                times.append(timed_fit(contenders(C, X.shape)[name], hit[0], X, y)[0])
            log(f"  timed {name} at tol {hit[0]:g} ({len(times)} runs)")
            results.append((name, hit[0], np.array(times), hit[2] / f_star - 1))
    return X.shape, f_star, results


def _ms(seconds):
    """Milliseconds with three significant digits (no exponent)."""
    ms = 1e3 * seconds
    return f"{ms:.3g}" if ms < 100 else f"{ms:.0f}"


def fastest(results, which):
    """``(median seconds, name)`` of the fastest contender whose name passes ``which``
    and that reached the gap; ``(nan, None)`` if none did."""
    times = [(np.median(t), name) for name, _, t, _ in results
             if t is not None and which(name)]
    return min(times) if times else (np.nan, None)


def markdown(results, budget, shape):
    """The table of `time_to_solution`'s results, ratios to the fastest clogreg."""
    best_ours = fastest(results, lambda name: name.startswith("clogreg "))[0]
    lines = [("| contender | tol used | time to 1e-8 gap: median ms | min | max | runs | "
              "ratio to fastest clogreg | gap reached |"),
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, tol, t, gap in results:
        if t is None:
            lines.append(f"| {name} | - | not reached (budget {budget:.0f} s, max_iter "
                         f"{max_iter(name.split()[1], shape):,}) | | | | | {gap:.1e} |")
        else:
            ms = [_ms(np.median(t)), _ms(t.min()), _ms(t.max())]
            lines.append(f"| {name} | {tol:g} | {' | '.join(ms)} | {t.size} | "
                         f"{np.median(t) / best_ours:.2f} | {gap:.1e} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default="well",
                        choices=["well", "narrow", "ill", "wide", "cancer"])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per contender for its tolerance ladder")
    parser.add_argument("--only", nargs="*", help="names of contenders to run")
    args = parser.parse_args()
    shape, f_star, results = time_to_solution(args.problem, args.rows, args.C, args.repeat,
                                          args.budget, args.only,
                                          log=lambda m: print(m, flush=True))
    print(f"f* = {f_star:.12g}\n")
    print("\n".join(markdown(results, args.budget, shape)))


if __name__ == "__main__":
    main()
