"""Time to solution: each solver's time to reach a 1e-8 relative objective gap.

    python -m benchmarks.bench_solvers [--problem well|narrow|ill|wide|cancer|digits|classes10]
                                       [--rows N] [--C C] [--l1-ratio R]

For one problem (default ``well``: 1,000,000 x 100, standard normal features, labels
drawn from a logistic model) and penalty (default L2 with C = 1; ``--l1-ratio`` 1 for
L1, between 0 and 1 for an elastic net), the reference optimum ``f*`` is the lowest
objective among two tight reference fits and every run below. The reference fits:
with L2, clogreg's and scikit-learn's Newton solvers at tol 1e-12; with an L1 part,
clogreg's newton at tol 1e-12 and scikit-learn's saga at tol 1e-10. Every contender
runs on a ladder of tolerances, loosest first, until a run's objective is
``f <= f* (1 + 1e-8)`` (scikit-learn's summed objective, binary or multinomial,
computed by one independent NumPy formula, outside the timing) or its time budget is
spent; its "time to 1e-8" is the wall time of that first successful setting: the
median of ``--repeat`` runs (more for fits of milliseconds, two for fits over 5 s).

Contenders: clogreg's solvers and its default ``"auto"`` (not lbfgs with an L1 part,
which it refuses); scikit-learn's (L2: lbfgs, newton-cholesky, saga, and liblinear on
binary problems; L1 or elastic net: saga, and liblinear on binary pure L1); and, where
installed, what a user looking for speed would try: scikit-learn-intelex
(``sklearnex``, oneDAL's lbfgs; L2 only; it runs multinomial problems in oneDAL too,
no fallback to scikit-learn's) and glum on binary problems (it has no multinomial
family: its IRLS with coordinate descent, with any penalty, and its L-BFGS, L2 only).
Every library runs on one thread: threadpoolctl limits BLAS and OpenMP, and oneDAL is
initialised with one thread (``daal4py.daalinit(1)``).
Binary problems: ``well``; ``narrow`` (1,000,000 x 10); ``ill`` (200,000 x 200,
correlated features with scales from 1e-3 to 1e3); ``wide`` (20,000 x 1,000: n = 20 d);
``cancer`` (scikit-learn's breast-cancer data, standardised). Multinomial (10 classes):
``digits`` (scikit-learn's digits, 1,797 x 61 once its constant pixels are dropped,
standardised); ``classes10`` (``make_classification``, 20,000 x 50, standardised).
"""
import argparse
import functools
import time

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression, _rows

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
# The multinomial problems and their number of classes; the others are binary.
CLASSES = {"digits": 10, "classes10": 10}


def make_problem(name, rows, seed=0):
    """``(X, y)``, y the integers 0..K-1 (what `objective` expects)."""
    rng = np.random.default_rng(seed)
    if name == "cancer":
        X, y = load_breast_cancer(return_X_y=True)
        return StandardScaler().fit_transform(X), y
    if name == "digits":  # 64 pixels, 3 of them 0 in every image: dropped
        X, y = load_digits(return_X_y=True)
        return StandardScaler().fit_transform(X[:, np.ptp(X, axis=0) > 0]), y
    if name == "classes10":
        # make_classification's default n_redundant=2 kept on purpose: those columns are
        # exact linear combinations of the informative ones, collinear columns such as
        # one-hot data with every category has (only the penalty makes the optimum unique)
        X, y = make_classification(rows or 20_000, 50, n_informative=25,
                                   n_classes=CLASSES[name], random_state=seed)
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


def objective(X, y, coef, intercept, C, l1_ratio=0.0):
    """scikit-learn's summed objective: the log-loss, binary (coef of shape (1, d) or,
    glum's, (d,)) or multinomial (coef (K, d), y in 0..K-1), plus
    ``(1 - l1_ratio) / (2 C) ||W||^2 + l1_ratio / C ||W||_1`` (never the intercept)."""
    W = np.atleast_2d(coef)
    z = X @ W.T + intercept
    if W.shape[0] == 1:  # log(1 + e^z) - y z, stable
        loss = np.sum(np.logaddexp(0.0, z[:, 0]) - y * z[:, 0])
    else:  # log sum_k e^(z_k) - z_y, stable
        loss = np.sum(logsumexp(z, axis=1) - z[np.arange(len(y)), y])
    return loss + ((1 - l1_ratio) / (2 * C) * np.sum(W * W)
                   + l1_ratio / C * np.sum(np.abs(W)))


# Iteration caps keep one fit of a first-order method on an ill-conditioned problem
# to about a minute here (gd: at most 1e11 multiply-adds of passes, saga: 3e10 of
# epochs, as an epoch costs it more than a pass costs gd); a contender that hits its
# cap is reported as not reaching the gap. Both caps grow as the problem shrinks, up to
# the values here, so that on small problems they are fair peers of the rest (saga:
# 300 epochs on 1,000,000 x 100, about 1,500 on 20,000 x 1,000, 5,000 on small ones).
MAX_ITER = {"newton": 100, "lbfgs": 1_000, "gd": 20_000, "newton-cholesky": 100,
            "liblinear": 1_000, "saga": 5_000, "auto": 1_000, "newton-cg": 100,
            "irls-cd": 100}


def max_iter(solver, shape, n_classes=2):
    # a multinomial pass costs about K binary ones
    size = shape[0] * shape[1] * (n_classes if n_classes > 2 else 1)
    if solver == "gd":
        return int(min(MAX_ITER["gd"], max(100, 1e11 / size)))
    if solver == "saga":
        return int(min(MAX_ITER["saga"], max(300, 3e10 / size)))
    return MAX_ITER[solver]


def contenders(C, shape, l1_ratio=0.0, n_classes=2):
    """{name: make(tol) -> unfitted estimator}; a name is "library solver". Only the
    solvers that take the penalty (``l1_ratio``) and the number of classes."""
    l2, binary = l1_ratio == 0, n_classes == 2
    ours = {f"clogreg {s}": (lambda tol, s=s: LogisticRegression(
        C=C, l1_ratio=l1_ratio, solver=s, tol=tol, max_iter=max_iter(s, shape, n_classes)))
        for s in ("auto", "newton", "lbfgs", "gd") if l2 or s != "lbfgs"}
    # scikit-learn >= 1.8 spells the penalty by l1_ratio alone (penalty= is deprecated,
    # a FutureWarning); liblinear has no multinomial loss and no elastic net
    sk_solvers = (["lbfgs", "newton-cholesky"] + ["liblinear"] * binary + ["saga"] if l2
                  else ["liblinear"] * (binary and l1_ratio == 1) + ["saga"])
    sk = {f"sklearn {s}": (lambda tol, s=s: SkLogisticRegression(
        C=C, l1_ratio=l1_ratio, solver=s, tol=tol, max_iter=max_iter(s, shape, n_classes)))
        for s in sk_solvers}
    # sklearnex: lbfgs only (L2); its newton-cg falls back to scikit-learn's on the CPU
    # (SKLEARNEX_VERBOSE=INFO: "fallback to original Scikit-learn", sklearnex 2026.2);
    # its lbfgs runs multinomial problems in oneDAL ("running accelerated version")
    ex = {} if ExLogisticRegression is None or not l2 else {
        "sklearnex lbfgs": lambda tol: ExLogisticRegression(
            C=C, solver="lbfgs", tol=tol, max_iter=max_iter("lbfgs", shape, n_classes))}
    # glum minimises the mean loss + alpha (l1_ratio |w|_1 + (1 - l1_ratio) |w|^2 / 2):
    # alpha = 1 / (C n) is C's objective. Binary only (no multinomial family); its
    # lbfgs takes no L1 part
    gl = {} if glum is None or not binary else {
        f"glum {s}": (lambda tol, s=s: glum.GeneralizedLinearRegressor(
            family="binomial", alpha=1.0 / (C * shape[0]), l1_ratio=l1_ratio, solver=s,
            gradient_tol=tol, max_iter=max_iter(s, shape, n_classes)))
        for s in ("irls-cd", "lbfgs") if l2 or s != "lbfgs"}
    return {**ours, **sk, **ex, **gl}


def penalty(l1_ratio):
    """``L2``, ``L1`` or ``elastic net 0.5``."""
    if l1_ratio in (0, 1):
        return "L1" if l1_ratio else "L2"
    return f"elastic net {l1_ratio:g}"


def label(problem, l1_ratio):
    """The problem and its penalty, e.g. ``digits L1`` (the plain name for L2): a key
    of run_all's results and the start of a table's heading."""
    return problem if l1_ratio == 0 else f"{problem} {penalty(l1_ratio)}"


def heading(problem, shape, C=1.0, l1_ratio=0.0):
    """A table's markdown heading: ``### classes10 L1 (C = 1): 20,000 x 50, 10
    classes``; the binary L2 problems at C = 1 as before (``### well: 1,000,000 x 100``)."""
    k = CLASSES.get(problem, 2)
    if k == 2 and l1_ratio == 0 and C == 1:
        return f"### {problem}: {shape[0]:,} x {shape[1]}"
    return (f"### {label(problem, l1_ratio)} (C = {C:g}): {shape[0]:,} x {shape[1]}"
            + (f", {k} classes" if k > 2 else ""))


def one_thread():
    """Every library on one thread: BLAS and OpenMP (threadpoolctl), oneDAL."""
    if ExLogisticRegression is not None:
        daal4py.daalinit(1)
    return threadpool_limits(limits=1)


def time_to_solution(problem, rows=None, C=1.0, repeat=3, budget=60.0, only=None,
                     log=print, l1_ratio=0.0):
    """Run every contender's tolerance ladder on one problem and time the first
    setting that reaches the gap. Returns ``(shape, f_star, results)``; each result is
    ``(name, tol or None, times or None, gap)``."""
    X, y = make_problem(problem, rows)
    n_classes = np.unique(y).size
    log(f"problem {problem}: {X.shape[0]:,} x {X.shape[1]}, {n_classes} classes, "
        f"{penalty(l1_ratio)}, C = {C}")

    def make(name):
        return contenders(C, X.shape, l1_ratio, n_classes)[name]

    def f_of(clf):
        return objective(X, y, clf.coef_, np.atleast_1d(clf.intercept_), C, l1_ratio)

    with one_thread():
        # The reference: two tight fits, then the lowest objective anyone reaches. L2:
        # two Newton methods at tol 1e-12 (quadratic convergence: both agree to the
        # last digits); with an L1 part scikit-learn has no Newton solver: saga, at tol
        # 1e-10 (its tol bounds the change of the coefficients between epochs).
        tight = ({"clogreg newton": 1e-12, "sklearn newton-cholesky": 1e-12}
                 if l1_ratio == 0 else {"clogreg newton": 1e-12, "sklearn saga": 1e-10})
        f_ref = min(f_of(timed_fit(make(name), tol, X, y)[1])
                    for name, tol in tight.items())
        log(f"  reference objective ({', '.join(f'{k} tol {v:g}' for k, v in tight.items())}"
            f"): {f_ref:.12g}")
        runs = {}
        for name, make_at in contenders(C, X.shape, l1_ratio, n_classes).items():
            if only and name not in only:
                continue
            spent, ladder = 0.0, []
            for tol in TOLS:  # loosest first, up to the first that reaches the gap
                if spent > budget:
                    break
                seconds, clf = timed_fit(make_at, tol, X, y)
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
                times.append(timed_fit(make(name), hit[0], X, y)[0])
            log(f"  timed {name} at tol {hit[0]:g} ({len(times)} runs)")
            results.append((name, hit[0], np.array(times), hit[2] / f_star - 1))
    return X.shape, f_star, results


#: The kernel passes of a dense fit (methods of clogreg._rows' layouts), by kind.
PASS_KINDS = {"loss_grad": "gradient", "hessian": "Hessian", "newton_direction": "Hessian",
              "multinomial_hessian": "Hessian", "class_probabilities": "Hessian",
              "hessian_weights": "Hessian", "columns": "set-up", "column_stats": "set-up",
              "gram": "set-up", "squared_norm_sum": "set-up", "max_row_norm": "set-up"}


def pass_profile(problem, name, tol, rows=None, C=1.0, l1_ratio=0.0, repeat=5):
    """Where the time of one clogreg contender's fit goes: ``{"fit": median seconds,
    "read": seconds to read X once (the faster of X.sum() and a BLAS dot, best of 5),
    kind: (passes, seconds in them) per fit}``, kinds from `PASS_KINDS`. The rows'
    pass methods are wrapped with a counter and a clock for these fits only (not for
    the timed ones of `time_to_solution`); the rest of a fit's time is Python,
    LAPACK and SciPy between the passes."""
    X, y = make_problem(problem, rows)
    make_at = contenders(C, X.shape, l1_ratio, np.unique(y).size)[name]
    spent = {}

    def counted(fn, kind):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                entry = spent.setdefault(kind, [0, 0.0])
                entry[0] += 1
                entry[1] += time.perf_counter() - t0
        return wrapper

    patched = [(cls, attr, cls.__dict__[attr]) for cls in (_rows.DenseRows, _rows.RowsBase)
               for attr in PASS_KINDS if attr in cls.__dict__]
    with one_thread():
        timed_fit(make_at, tol, X, y)  # warm-up, not counted
        fits = []
        try:
            for cls, attr, fn in patched:
                setattr(cls, attr, counted(fn, PASS_KINDS[attr]))
            for _ in range(repeat):
                fits.append(timed_fit(make_at, tol, X, y)[0])
        finally:
            for cls, attr, fn in patched:
                setattr(cls, attr, fn)
        read = min(min(_clock(X.sum), _clock(lambda: np.dot(X.ravel(), X.ravel())))
                   for _ in range(5))
    out = {"fit": float(np.median(fits)), "read": read}
    out.update({kind: (count / repeat, seconds / repeat)
                for kind, (count, seconds) in spent.items()})
    return out


def _clock(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


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


def markdown(results, budget, shape, n_classes=2):
    """The table of `time_to_solution`'s results, ratios to the fastest clogreg."""
    best_ours = fastest(results, lambda name: name.startswith("clogreg "))[0]
    lines = [("| contender | tol used | time to 1e-8 gap: median ms | min | max | runs | "
              "ratio to fastest clogreg | gap reached |"),
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for name, tol, t, gap in results:
        if t is None:
            lines.append(f"| {name} | - | not reached (budget {budget:.0f} s, max_iter "
                         f"{max_iter(name.split()[1], shape, n_classes):,}) | | | | | {gap:.1e} |")
        else:
            ms = [_ms(np.median(t)), _ms(t.min()), _ms(t.max())]
            lines.append(f"| {name} | {tol:g} | {' | '.join(ms)} | {t.size} | "
                         f"{np.median(t) / best_ours:.2f} | {gap:.1e} |")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--problem", default="well",
                        choices=["well", "narrow", "ill", "wide", "cancer", "digits",
                                 "classes10"])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--l1-ratio", type=float, default=0.0,
                        help="share of the penalty that is L1 (0: L2, 1: L1)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--budget", type=float, default=60.0,
                        help="seconds per contender for its tolerance ladder")
    parser.add_argument("--only", nargs="*", help="names of contenders to run")
    args = parser.parse_args()
    shape, f_star, results = time_to_solution(args.problem, args.rows, args.C, args.repeat,
                                              args.budget, args.only,
                                              log=lambda m: print(m, flush=True),
                                              l1_ratio=args.l1_ratio)
    print(f"f* = {f_star:.12g}\n")
    print(heading(args.problem, shape, args.C, args.l1_ratio) + "\n")
    print("\n".join(markdown(results, args.budget, shape, CLASSES.get(args.problem, 2))))


if __name__ == "__main__":
    main()
