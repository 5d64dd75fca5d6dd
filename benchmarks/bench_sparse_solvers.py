"""Sparse input: time to a 1e-8 relative objective gap, and peak extra memory of a fit.

    python -m benchmarks.bench_sparse_solvers [--scale 1.0] [--budget 25] [--repeat 3]
        [--problems text onehot hashed] [--penalties l2 l1] [--no-memory]
        [--profile] [--write]

Three sparse binary problems (float64 CSR, int32 indices; ``--scale`` multiplies the
rows):

* ``text``: 100,000 x 50,000, a bag of words: 60 draws a row of Zipf-distributed
  columns (``benchmarks/bench_sparse.py``'s ``text_like``; about 50 stored entries a
  row once repeated words are merged), exponential positive values, labels from a
  linear model;
* ``onehot``: 200,000 x 10,000, 10 categorical columns of 1,000 levels each (level
  of rank k drawn with probability proportional to 1 / k), one-hot encoded: 10 ones a
  row, labels drawn from a logistic model with an effect per level;
* ``hashed``: 20,000 x 1,000,000, 120 Zipf draws a row over 1,000,000 hashed columns
  (about 100 stored entries a row), each column with a random sign (as
  ``HashingVectorizer(alternate_sign=True)``); more columns than rows.

The objective is scikit-learn's and clogreg's, with an unpenalised intercept:
``sum_i logloss_i + 1/(2C) ||w||^2`` (L2, C = 1) or ``sum_i logloss_i + 1/C ||w||_1``
(L1, ``L1_C``: per problem, a C whose solution keeps some but not all coefficients).
It is evaluated for every fit by `objective` below (NumPy / SciPy, not clogreg's code),
outside the timing. The reference optimum ``f*`` is the lowest objective reached by
any run: reference solvers at a tight tolerance (L2: clogreg's Newton-CG at 1e-12 and
glum's L-BFGS at 1e-10; L1: liblinear and, up to 20,000 features, glum's IRLS-CD at
1e-10), then every contender's ladder.

Time to solution: every contender runs a ladder of tolerances, loosest first, until
its objective is ``f <= f* (1 + 1e-8)``, its time budget (``--budget`` seconds) is
spent, or a fit stops at its iteration cap. The contenders that reached the gap then
run again at that tolerance, side by side, taking turns (``--repeat`` turns; fits
of more than 10 s once, in the first turn); the table gives the medians and the ratio to the fastest clogreg. One thread
for BLAS and OpenMP (threadpoolctl), ``n_jobs=1``. Contenders: clogreg ``"auto"`` (which
picks ``"newton"``, trust-region Newton-CG, for L2 and ``"gd"``, proximal gradient,
for L1 on these shapes), ``"lbfgs"``, ``"gd"``; scikit-learn's lbfgs, newton-cg,
newton-cholesky (only where its dense d x d Hessian fits in memory), liblinear (with
``intercept_scaling=1e4``: liblinear penalises the intercept as a feature of that
value, so its penalty is ``(b / 1e4)^2 / (2C)``, below 1e-8 of the objective), saga;
and glum where it is installed (its L-BFGS for L2; for L1 its IRLS with coordinate
descent, which forms the Hessian of the active set, up to 20,000 features).

Memory (``--no-memory`` skips it): the peak extra memory of one fit (L2, C = 1, at
most 10 iterations, default tol: the peak comes in the first), each in a fresh
subprocess that loads the problem from an ``.npz`` file (so that building it leaves
no high-water mark), in bytes per stored entry and per row: the peak Python + NumPy
allocations traced by ``tracemalloc`` and the growth of the resident set (``VmHWM``
after the fit minus ``VmRSS`` before, the high-water mark reset through
``/proc/self/clear_refs`` after loading), which also sees C allocations (LIBLINEAR's
copy of the data).

``--write`` puts the tables into BENCHMARKS.md's "Sparse input" section (which
``benchmarks/run_all.py`` keeps when it rewrites the file). ``--profile`` runs
clogreg's fastest fit of each table under cProfile and prints where the time went.
"""
import argparse
import cProfile
import io
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression

from ._common import ROOT, machine, side_by_side, timed_fit
from .bench_solvers import _ms
from .bench_sparse import text_like

try:
    import glum
except ImportError:  # glum is optional
    glum = None

GAP = 1e-8
TOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-10, 1e-12]
#: L1: C per problem (sum-of-losses objective), chosen so that the solution keeps
#: some but not all coefficients (the tables give the count)
L1_C = {"text": 0.1, "onehot": 0.1, "hashed": 0.3}
#: liblinear penalises the intercept as the weight of a constant feature of this value
INTERCEPT_SCALING = 1e4
#: the largest dense d x d Hessian a contender may form (newton-cholesky, glum's IRLS)
MAX_HESSIAN_BYTES = 3.2e9
SLOW_FIT = 10.0  # seconds: such a fit runs once in the timed turns


# ------------------------------------------------------------------- problems
ROWS = {"text": 100_000, "onehot": 200_000, "hashed": 20_000}


def make_problem(name, scale=1.0, seed=0, rows=None):
    """(X CSR float64 with int32 indices, y int64 0/1); ``rows`` (default ROWS[name])
    times ``scale`` rows."""
    rng = np.random.default_rng(seed)
    n = int((rows or ROWS[name]) * scale)
    if name == "text":
        X, y = text_like(n, 50_000, 60, seed=seed)
        return X, y.astype(np.int64)
    if name == "onehot":
        k, levels = 10, 1_000
        cdf = np.cumsum(1.0 / np.arange(1, levels + 1))
        cdf /= cdf[-1]
        rank_to_level = np.array([rng.permutation(levels) for _ in range(k)])
        codes = rank_to_level[np.arange(k), np.minimum(
            np.searchsorted(cdf, rng.random((n, k))), levels - 1)]   # (n, k)
        indices = (codes + levels * np.arange(k)).astype(np.int32).ravel()
        X = sp.csr_matrix((np.ones(n * k), indices, np.arange(0, n * k + 1, k)),
                          shape=(n, k * levels))
        effect = rng.standard_normal(k * levels) * 0.5
        z = X @ effect - 0.3
        y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int64)
        return X, y
    if name == "hashed":
        X, y = text_like(n, 1_000_000, 120, seed=seed)
        sign = np.where(rng.random(X.shape[1]) < 0.5, -1.0, 1.0)
        X.data *= sign[X.indices]
        w_true = rng.standard_normal(X.shape[1]) / np.sqrt(120)
        y = (X @ w_true + rng.logistic(size=X.shape[0]) > 0).astype(np.int64)
        return X, y
    raise ValueError(name)


def objective(X, y, coef, intercept, C, l1=False):
    """The objective in NumPy / SciPy: ``sum_i log(1 + e^z_i) - y_i z_i`` plus
    ``||w||_1 / C`` (l1) or ``||w||^2 / (2C)``, intercept unpenalised; float64."""
    w = np.asarray(coef, np.float64).ravel()
    z = X @ w + float(np.ravel(intercept)[0])
    loss = float(np.sum(np.logaddexp(0.0, z) - np.asarray(y, np.float64) * z))
    return loss + (np.abs(w).sum() / C if l1 else 0.5 / C * float(w @ w))


# ----------------------------------------------------------------- contenders
def max_iter(name, X):
    """Iteration caps that keep one fit to about a minute here; a contender that hits
    its cap is reported as not reaching the gap."""
    if name.endswith(" gd"):                       # epochs of about 6 ns an entry
        return int(min(20_000, max(100, 2e9 / X.nnz)))
    if name.endswith(" saga"):                     # epochs of about 20 ns an entry
        return int(min(1_000, max(20, 1e9 / X.nnz)))
    if "lbfgs" in name:   # iterations of L-BFGS-B cost O(d) too: 0.2-0.3 s at 1e6 columns
        return 5_000 if X.shape[1] <= 100_000 else 300
    return 200  # Newton methods, liblinear (outer iterations), glum's IRLS


def contenders(X, C, l1):
    """{name: (make(tol) -> unfitted estimator, or None; why not, or '')}"""
    n, d = X.shape
    l1_ratio = 1.0 if l1 else 0.0
    hessian_fits = 8.0 * d * d <= MAX_HESSIAN_BYTES
    out = {}
    for s in (["auto", "newton", "gd"] if l1 else ["auto", "lbfgs", "gd"]):
        name = f"clogreg {s}"
        # "auto" picks newton here (Newton-CG for L2, coordinate descent for L1)
        cap = max_iter("clogreg newton" if s == "auto" else name, X)
        out[name] = (lambda tol, s=s, cap=cap: LogisticRegression(
            C=C, l1_ratio=l1_ratio, solver=s, tol=tol, max_iter=cap, n_jobs=1), "")
    sk = ["liblinear", "saga"] if l1 else ["lbfgs", "newton-cg", "newton-cholesky",
                                           "liblinear", "saga"]
    for s in sk:
        name = f"sklearn {s}"
        extra = {"intercept_scaling": INTERCEPT_SCALING} if s == "liblinear" else {}
        if s == "saga":
            extra["random_state"] = 0
        if s == "newton-cholesky" and not hessian_fits:
            out[name] = (None, f"its dense {d:,} x {d:,} Hessian takes "
                               f"{8.0 * d * d / 1e9:,.0f} GB")
            continue
        out[name] = (lambda tol, s=s, name=name, extra=extra: SkLogisticRegression(
            C=C, l1_ratio=l1_ratio, solver=s, tol=tol, max_iter=max_iter(name, X),
            **extra), "")
    if glum is not None:
        # glum minimises the mean loss + alpha (l1_ratio |w|_1 + (1 - l1_ratio) |w|^2 / 2).
        # Its IRLS forms the d x d Hessian (of the active set, with L1): for L2 it took
        # 91 s at tol 1e-3 on onehot with 10,000 rows, so L2 runs its L-BFGS only.
        solvers = ["irls-cd"] if l1 and hessian_fits else [] if l1 else ["lbfgs"]
        for s in solvers:
            name = f"glum {s}"
            out[name] = (lambda tol, s=s, name=name: glum.GeneralizedLinearRegressor(
                family="binomial", alpha=1.0 / (C * n), l1_ratio=l1_ratio, solver=s,
                gradient_tol=tol, max_iter=max_iter(name, X)), "")
        if l1 and not hessian_fits:
            out["glum irls-cd"] = (None, f"its IRLS forms a dense Hessian, up to "
                                         f"{d:,} x {d:,}")
    return out


def coef_of(est):
    return np.ravel(est.coef_), np.ravel(est.intercept_)


def time_to_gap(problem, X, y, l1, repeat=3, budget=40.0, log=print):
    """Run every contender's ladder, then time the first tolerance that reached the
    gap, side by side. Returns a dict of the results (see `markdown`)."""
    C = L1_C[problem] if l1 else 1.0
    f = lambda est: objective(X, y, *coef_of(est), C, l1)
    cands = contenders(X, C, l1)
    log(f"{problem} {'L1' if l1 else 'L2'}: {X.shape[0]:,} x {X.shape[1]:,}, "
        f"{X.nnz:,} entries, C = {C:g}")
    # The reference: tight fits of independent solvers (then the best any run reaches)
    refs = [name for name in (["sklearn liblinear", "glum irls-cd"] if l1 else
                              ["clogreg auto", "glum lbfgs"])
            if cands.get(name, (None,))[0] is not None]
    f_ref, nnz_ref = np.inf, 0
    for name in refs:
        seconds, est = timed_fit(cands[name][0], 1e-12 if "clogreg" in name else 1e-10, X, y)
        fr = f(est)
        log(f"  reference {name}: {fr:.12g} ({seconds:.1f} s)")
        if fr < f_ref:
            f_ref, nnz_ref = fr, int(np.count_nonzero(coef_of(est)[0]))
    ladders, solver_of, skipped = {}, {}, {}
    for name, (make, why) in cands.items():
        if make is None:
            skipped[name] = why
            continue
        spent, ladder = 0.0, []
        for tol in TOLS:
            if spent > budget:
                break
            seconds, est = timed_fit(make, tol, X, y)
            spent += seconds
            ladder.append((tol, seconds, f(est), int(np.ravel(est.n_iter_)[0])))
            solver_of[name] = getattr(est, "solver_", None)
            log(f"  {name}, tol {tol:g}: {seconds:.2f} s, {ladder[-1][3]} iterations, "
                f"objective {ladder[-1][2]:.12g}")
            if ladder[-1][2] <= f_ref * (1 + GAP):
                break
            if ladder[-1][3] >= getattr(est, "max_iter", np.inf):
                break  # it hit its iteration cap: a tighter tol will not help
        ladders[name] = ladder
    f_star = min([f_ref] + [r[2] for ladder in ladders.values() for r in ladder])
    hits, results = {}, {}
    for name, ladder in ladders.items():
        hit = next((r for r in ladder if r[2] <= f_star * (1 + GAP)), None)
        if hit is None:
            results[name] = dict(tol=None, gap=min(r[2] for r in ladder) / f_star - 1,
                                 spent=sum(r[1] for r in ladder), last_tol=ladder[-1][0],
                                 n_iter=ladder[-1][3])
        else:
            hits[name] = hit
            results[name] = dict(tol=hit[0], gap=hit[2] / f_star - 1, n_iter=hit[3])
    specs = {name: ((lambda make=cands[name][0], tol=hit[0]: timed_fit(make, tol, X, y)[0]),
                    1 if hit[1] > SLOW_FIT else repeat, True)
             for name, hit in hits.items()}
    log(f"  timing {', '.join(specs)} side by side")
    for name, t in (side_by_side(specs, repeat, warmup=False) if specs else {}).items():
        results[name]["times"] = t
    return dict(problem=problem, l1=l1, C=C, shape=X.shape, nnz=X.nnz, f_star=f_star,
                nnz_coef=nnz_ref, results=results, skipped=skipped, solver_of=solver_of,
                cands=cands)


def fastest(res, lib):
    timed = {n: np.median(r["times"]) for n, r in res["results"].items()
             if "times" in r and n.startswith(lib)}
    return min(timed.items(), key=lambda kv: kv[1]) if timed else (None, np.nan)


def markdown(res, budget):
    """The table of one problem and penalty, ratios to the fastest clogreg."""
    _, best = fastest(res, "clogreg")
    lines = ["| contender | tol used | time to 1e-8 gap: median ms | min | max | runs | "
             "iterations | ratio to fastest clogreg | gap reached |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for name, r in res["results"].items():
        label = name
        if name == "clogreg auto" and res["solver_of"].get(name):
            label = f"clogreg auto (= {res['solver_of'][name]})"
        if "times" in r:
            t = r["times"]
            ratio = f"{np.median(t) / best:.2f}" if np.isfinite(best) else "-"
            lines.append(f"| {label} | {r['tol']:g} | {_ms(np.median(t))} | {_ms(t.min())} | "
                         f"{_ms(t.max())} | {t.size} | {r['n_iter']} | {ratio} | "
                         f"{r['gap']:.1e} |")
        else:
            lines.append(f"| {label} | - | not reached (tol down to {r['last_tol']:g}, "
                         f"{r['spent']:.0f} s of ladder, budget {budget:.0f} s) | | | | "
                         f"{r['n_iter']} | | {r['gap']:.1e} |")
    for name, why in res["skipped"].items():
        lines.append(f"| {name} | - | does not run: {why} | | | | | | |")
    return lines


def target_line(res):
    ours, t_ours = fastest(res, "clogreg")
    peers = {n: np.median(r["times"]) for n, r in res["results"].items()
             if "times" in r and not n.startswith("clogreg")}
    theirs = fastest(res, "sklearn")
    best_peer = min(peers.items(), key=lambda kv: kv[1]) if peers else (None, np.nan)
    pen = "L1" if res["l1"] else "L2"
    peer = f"{theirs[0]} {_ms(theirs[1])} ms" if theirs[0] else "none reached the gap"
    if ours is None:
        return (f"| {res['problem']} {pen} | clogreg did not reach the gap | {peer} | - "
                f"| no |")
    other = (f"; glum ({best_peer[0]}) {_ms(best_peer[1])} ms"
             if best_peer[0] and best_peer[0].startswith("glum") else "")
    if theirs[0] is None:   # none of scikit-learn's solvers reached it within the budget
        return (f"| {res['problem']} {pen} | {ours} {_ms(t_ours)} ms | {peer}{other} | "
                f"- | yes (scikit-learn: not within its budget) |")
    r = theirs[1] / t_ours
    return (f"| {res['problem']} {pen} | {ours} {_ms(t_ours)} ms | "
            f"{peer}{other} | {r:.2f}x | "
            f"{'yes' if r >= 2 else 'no'} |")


def profile(res, X, y, top=12):
    """cProfile of clogreg's fastest fit: the functions with the most own time."""
    name, _ = fastest(res, "clogreg")
    if name is None:
        return []
    make, tol = res["cands"][name][0], res["results"][name]["tol"]
    prof = cProfile.Profile()
    prof.enable()
    seconds, _ = timed_fit(make, tol, X, y)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    print(f"\nprofile of {name} (tol {tol:g}) on {res['problem']}, "
          f"{'L1' if res['l1'] else 'L2'}: {seconds:.2f} s\n{text}", flush=True)
    return text


# --------------------------------------------------------------------- memory
MEMORY_CONTENDERS = {
    "clogreg auto (newton)": lambda: LogisticRegression(solver="auto", max_iter=10,
                                                        n_jobs=1),
    "clogreg lbfgs": lambda: LogisticRegression(solver="lbfgs", max_iter=10, n_jobs=1),
    "clogreg gd": lambda: LogisticRegression(solver="gd", max_iter=10, n_jobs=1),
    "sklearn lbfgs": lambda: SkLogisticRegression(solver="lbfgs", max_iter=10),
    "sklearn newton-cg": lambda: SkLogisticRegression(solver="newton-cg", max_iter=10),
    "sklearn liblinear": lambda: SkLogisticRegression(
        solver="liblinear", max_iter=10, intercept_scaling=INTERCEPT_SCALING),
}


def _status_kib(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def memory_child(path, name, mode):
    """In a fresh process: load the problem, fit once, print the extra bytes (JSON)."""
    import gc
    with np.load(path) as z:
        X = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        y = z["y"]
    est = MEMORY_CONTENDERS[name]()
    gc.collect()
    with threadpool_limits(limits=1):
        if mode == "tracemalloc":
            tracemalloc.start()
            timed_fit(lambda tol: est, None, X, y)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            extra, reset = peak, True
        else:
            try:
                Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to VmRSS
                reset = True
            except OSError:
                reset = False
            before = _status_kib("VmRSS") if reset else _status_kib("VmHWM")
            timed_fit(lambda tol: est, None, X, y)
            extra = (_status_kib("VmHWM") - before) * 1024
    print(json.dumps({"extra": extra, "reset": reset}))


def measure_memory(problems, scale, rows=None, log=print):
    """{(problem, contender): (shape, nnz, tracemalloc bytes, RSS bytes, reset)}"""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for problem in problems:
            X, y = make_problem(problem, scale, rows=(rows or {}).get(problem))
            path = os.path.join(tmp, f"{problem}.npz")
            np.savez(path, data=X.data, indices=X.indices, indptr=X.indptr,
                     shape=np.array(X.shape), y=y)
            for name in MEMORY_CONTENDERS:
                got = {}
                for mode in ("tracemalloc", "rss"):
                    cmd = [sys.executable, "-m", "benchmarks.bench_sparse_solvers",
                           "--memory-child", path, name, mode]
                    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                         check=True)
                    got[mode] = json.loads(run.stdout.strip().splitlines()[-1])
                out[problem, name] = (X.shape, X.nnz, got["tracemalloc"]["extra"],
                                      got["rss"]["extra"], got["rss"]["reset"])
                log(f"  memory {problem} {name}: tracemalloc {got['tracemalloc']['extra']:,}"
                    f" B, RSS {got['rss']['extra']:,} B")
    return out


def memory_markdown(memory):
    lines = ["| problem | contender | tracemalloc B/entry | B/row | RSS growth B/entry | "
             "B/row | RSS MB |", "|---|---|---:|---:|---:|---:|---:|"]
    for (problem, name), (shape, nnz, traced, rss, reset) in memory.items():
        lines.append(f"| {problem} | {name} | {traced / nnz:.2f} | {traced / shape[0]:.0f} | "
                     f"{rss / nnz:.2f} | {rss / shape[0]:.0f} | {rss / 1e6:.0f}"
                     f"{'' if reset else ' (HWM not reset)'} |")
    return lines


# ----------------------------------------------------------------------- main
SECTION = "## Sparse input"


def write_section(lines, path=ROOT / "BENCHMARKS.md"):
    """Replace BENCHMARKS.md's "Sparse input" section (or insert it before the kernel's
    tuning constants, or at the end)."""
    text = Path(path).read_text()
    block = "\n".join(lines).rstrip("\n") + "\n\n"
    m = re.search(r"^## Sparse input\n.*?(?=^## |\Z)", text, flags=re.DOTALL | re.MULTILINE)
    if m:
        text = text[:m.start()] + block + text[m.end():]
    elif "## Kernel tuning constants" in text:
        i = text.index("## Kernel tuning constants")
        text = text[:i] + block + text[i:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    Path(path).write_text(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the rows")
    parser.add_argument("--rows", nargs="*", default=[], metavar="PROBLEM=N",
                        help="rows of a problem (default text=100000 onehot=200000 "
                             "hashed=20000)")
    parser.add_argument("--budget", type=float, default=25.0,
                        help="seconds per contender's tolerance ladder")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--problems", nargs="*", default=["text", "onehot", "hashed"])
    parser.add_argument("--penalties", nargs="*", default=["l2", "l1"])
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--no-glum", nargs="*", default=None, metavar="PROBLEM",
                        help="leave glum out (of the problems named; all if none)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--write", action="store_true",
                        help="write the tables into BENCHMARKS.md's Sparse input section")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = {k: int(v) for k, v in (r.split("=") for r in args.rows)}
    global glum
    glum_module = glum
    if args.memory_child:
        memory_child(*args.memory_child)
        return
    t_start = time.perf_counter()
    log = lambda m: print(m, flush=True)
    info = machine()
    log("\n".join(info))
    command = "python -m benchmarks.bench_sparse_solvers " + " ".join(sys.argv[1:])
    md = [SECTION, "",
          f"Written by `{command.strip()}` (`benchmarks/bench_sparse_solvers.py`; its "
          "docstring describes the problems, the ladder of tolerances and the "
          "contenders). One thread (BLAS and OpenMP limited by threadpoolctl, "
          "`n_jobs=1`); contenders side by side, taking turns; the time is the median "
          "of the turns. glum: "
          + (f"{glum.__version__}." if glum is not None else "not installed."), "",
          *info, ""]
    targets = []
    for problem in args.problems:
        X, y = make_problem(problem, args.scale, rows=rows.get(problem))
        glum = None if args.no_glum is not None and (
            not args.no_glum or problem in args.no_glum) else glum_module
        for pen in args.penalties:
            with threadpool_limits(limits=1):
                res = time_to_gap(problem, X, y, pen == "l1", args.repeat, args.budget,
                                  log)
            n, d = res["shape"]
            title = (f"### {problem} {pen.upper()}: {n:,} x {d:,}, {res['nnz']:,} entries "
                     f"({res['nnz'] / n:.1f} a row), C = {res['C']:g}; the optimum has "
                     f"{res['nnz_coef']:,} nonzero coefficients of {d:,}")
            table = markdown(res, args.budget)
            log("\n" + title + "\n\n" + "\n".join(table) + "\n")
            md += [title, "", *table, ""]
            targets.append(target_line(res))
            if args.profile:
                with threadpool_limits(limits=1):
                    profile(res, X, y)
        del X, y
    md += ["### Target: clogreg's fastest at least 2x faster than scikit-learn's fastest",
           "", "| problem | clogreg's fastest | scikit-learn's fastest | ratio | met |",
           "|---|---|---|---:|---|", *targets, ""]
    log("\n".join(md[-len(targets) - 4:]))
    if not args.no_memory:
        log("memory")
        memory = measure_memory(args.problems, args.scale, rows, log)
        n_text = ", ".join(f"{p} {s[0]:,} x {s[1]:,} ({nnz:,} entries)"
                           for (p, name), (s, nnz, *_) in memory.items()
                           if name == next(iter(MEMORY_CONTENDERS)))
        md += ["### Peak extra memory of a fit (L2, C = 1, at most 10 iterations)", "",
               f"Each fit in a fresh process; {n_text}; float64 data, int32 indices "
               "(the data themselves: 12 B an entry + 4 B a row).", "",
               *memory_markdown(memory), ""]
        log("\n".join(md[-len(memory) - 3:]))
    elapsed = time.perf_counter() - t_start
    md += [f"Run time: {elapsed / 60:.1f} min.", ""]
    if args.write:
        write_section(md)
        log("wrote BENCHMARKS.md's Sparse input section")
    log(f"done in {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
