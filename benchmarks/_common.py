"""What the benchmarks share: the contenders' timing, tables, problems, machine facts.

Every script of this package imports it (``from ._common import ...``); run the
scripts as modules from the repository root, e.g. ``python -m benchmarks.run_all``.
"""
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from scipy.special import expit
from threadpoolctl import threadpool_info

import clogreg
from clogreg import _dispatch, _solvers
from clogreg._objective import LogisticObjective
from clogreg._rows import DenseRows

try:
    import torch
except ImportError:  # PyTorch is an optional peer
    torch = None

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------- contenders
def clogreg_epochs(X, y, lr, epochs, n_threads=1, kernel=None):
    """clogreg's kernel alone (no input validation): ``epochs`` passes of gradient
    descent. ``kernel``: a build of the kernel (``clogreg._kernel`` or
    ``clogreg._kernel_avx2``); default the one ``clogreg._dispatch`` chose."""
    rows = DenseRows(X, y, np.empty(0, X.dtype), 1, n_threads, kernel=kernel)
    objective = LogisticObjective(rows, True, 0.0, 0.0)
    return _solvers.gradient_descent(objective, np.zeros(X.shape[1], X.dtype), 0.0,
                                     learning_rate=lr, max_iter=epochs, tol=0.0)


def baseline_kernel():
    """The baseline (any x86-64) build of the kernel, which a CPU without AVX2 runs."""
    return _dispatch.select("baseline")[1]


def numpy_epochs(X, y, lr, epochs):
    """The tutorial's loop in NumPy: summed loss and gradient, fixed step."""
    w = np.zeros(X.shape[1], dtype=X.dtype)
    b = 0.0
    for _ in range(epochs):
        z = X @ w + b
        p = expit(z)
        loss = np.sum(np.logaddexp(0.0, z) - y * z)  # stable log(1 + e^z) - y z
        acc = 100.0 * np.mean((p > 0.5) == y)
        r = p - y
        w -= lr * (X.T @ r)
        b -= lr * r.sum()
    return w, b, loss, acc



# -------------------------------------------------------------------- timing
def timeit(fn, repeat):
    """Wall times of ``repeat`` calls of fn after one warm-up call."""
    return side_by_side({"fn": fn}, repeat)["fn"]


def timed_fit(make, tol, X, y):
    """``(seconds, fitted estimator)`` of ``make(tol).fit(X, y)``, warnings (such as
    ConvergenceWarning) silenced."""
    est = make(tol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        est.fit(X, y)
        return time.perf_counter() - t0, est


def side_by_side(contenders, repeat, warmup=True, block=1):
    """{name: wall times}: after one warm-up each, the contenders take turns, so that a
    change in the machine's load hits them alike. A contender is ``fn`` or
    ``(fn, repeats, own_time)``: fewer repeats for slow ones (they run in the first
    turns); with own_time, fn returns its own time (e.g. per iteration). ``warmup=False``
    skips the warm-up calls (for fits of seconds that have already run once).

    ``block``: each turn, a contender makes this many calls in a row (each one timed),
    so that all but the first of them find their code and data in the caches, as a
    loop of fits does; with 1, every call follows the other contenders' calls."""
    specs = {name: c if isinstance(c, tuple) else (c, repeat, False)
             for name, c in contenders.items()}
    times = {name: [] for name in specs}
    for fn, _, _ in specs.values() if warmup else ():
        fn()
    for turn in range(max(r for _, r, _ in specs.values())):
        for name, (fn, reps, own_time) in specs.items():
            for _ in range(block if turn < reps else 0):
                t0 = time.perf_counter()
                own = fn()
                times[name].append(own if own_time else time.perf_counter() - t0)
    return {name: np.array(t) for name, t in times.items()}


def paired_medians(fns, repeat):
    """{name: median seconds} of `side_by_side`."""
    return {name: float(np.median(t)) for name, t in side_by_side(fns, repeat).items()}


def table(title, rows, unit, scale, reference="clogreg epoch"):
    """Print a markdown table and return its lines."""
    ref = np.median(rows[reference])
    lines = [f"### {title}", "",
             f"| contender | median {unit} | min {unit} | max {unit} | ratio to {reference} |",
             "|---|---:|---:|---:|---:|"]
    for name, t in rows.items():
        lines.append(f"| {name} | {np.median(t) * scale:.1f} | {t.min() * scale:.1f} | "
                     f"{t.max() * scale:.1f} | {np.median(t) / ref:.2f} |")
    print("\n" + "\n".join(lines), flush=True)
    return lines + [""]


def make_problem(rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols))
    true_w = rng.standard_normal(cols) / np.sqrt(cols)
    y = (X @ true_w + 0.5 * rng.standard_normal(rows) > 0).astype(np.float64)
    return X, y



# ------------------------------------------------------------------ machine
def cpu_flags():
    """The SIMD levels this CPU reports that matter here (AVX2, FMA, AVX-512F)."""
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "unknown"
    return ", ".join(f for f in ("avx2", "fma", "avx512f") if f in flags) or "none of avx2/fma/avx512f"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = sorted({f"{i['internal_api']} {i.get('version') or ''} ({i.get('architecture')})"
                   for i in threadpool_info() if i["user_api"] == "blas"})
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=False,
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        rev = "?"
    versions = (f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy "
                f"{scipy.__version__}, scikit-learn {sklearn.__version__}"
                + (f", PyTorch {torch.__version__}" if torch is not None else ""))
    return [(f"- CPU: {cpu}, {os.cpu_count()} logical cores ({platform.system()} "
             f"{platform.machine()}; {cpu_flags()})"),
            f"- {versions}",
            f"- BLAS: {'; '.join(blas)}"
            + (f" (OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']})"
               if "OPENBLAS_CORETYPE" in os.environ else ""),
            (f"- clogreg {clogreg.__version__}, kernel: {_dispatch.KERNEL_NAME} "
             f"(`clogreg._dispatch`)"),
            f"- clogreg commit {rev}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]
