"""The whole benchmark suite: one command, a table per problem, BENCHMARKS.md and a plot.

    python -m benchmarks.run_all [--quick] [--out BENCHMARKS.md]

Every table is measured in one run, peers side by side (they take turns, so that a
change in the machine's load hits them alike): median, min and max wall time and the
ratio of each median to clogreg's. BLAS (and PyTorch) use one thread unless a
row says otherwise. The problems:

1. one epoch (loss, accuracy, gradient, step) on 1,000,000 x 100, float64 and float32,
   against NumPy, PyTorch, scikit-learn (lbfgs per iteration, SGDClassifier per epoch)
   and the read-bandwidth probes ``X.sum()`` (the issue's yardstick) and a BLAS dot
   product of X with itself; clogreg also with ``n_jobs=2``;
2. the same on narrow data, 1,000,000 x 10;
3. epoch time against the number of rows (100 columns, float64): the plot;
4. the tutorial's fit (80 x 2, 20 epochs) end to end, also with the validation fast
   path switched off (scikit-learn's full ``validate_data``, as before the fast path):
   20 fits of each contender a turn (a loop of fits), then one fit a turn;
5. peak extra memory of a fit (tracemalloc), bytes per row;
6. time to a 1e-8 relative objective gap, every clogreg solver and ``"auto"`` against
   scikit-learn's, scikit-learn-intelex's and glum's (where installed), on the problems
   of ``benchmarks/bench_solvers.py``: the five binary ones with L2, the two
   multinomial (10-class) ones with L2 and with L1 (``--no-solvers`` skips it).

It writes the tables, the machine and the targets of the performance issue to
BENCHMARKS.md, and for each missed target the measurements of this run that bound it
(the epoch on X's first column alone: the per-row arithmetic; X.sum() on two
threads: the memory bandwidth of two cores; for a solver problem, clogreg's fastest
fit again with its kernel passes counted and timed: ``bench_solvers.pass_profile``),
keeping the sections that other scripts write (see `kept_sections`), and the plot to
benchmarks/epoch_vs_rows.png. About 19 minutes on 2 cores with ``--solver-budget 20``
(more with the default 30 s), 1 without the solvers
(``--quick``: smaller problems, for a smoke test; ``--repeat``: turns).
"""
import argparse
import re
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.linear_model import SGDClassifier
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression, _dispatch, _validation, load_tutorial_data

from ._common import (
    ROOT,
    baseline_kernel,
    clogreg_epochs,
    machine,
    make_problem,
    numpy_epochs,
    side_by_side,
    table,
    torch,
)
from .bench_memory import measure as measure_memory
from .bench_solvers import CLASSES
from .bench_solvers import _ms as solvers_ms
from .bench_solvers import fastest
from .bench_solvers import heading as solvers_heading
from .bench_solvers import label as solvers_label
from .bench_solvers import markdown as solvers_markdown
from .bench_solvers import pass_profile
from .bench_solvers import time_to_solution


# Measured once, when the kernel's constants were chosen (the kernel's comments point to
# this section of BENCHMARKS.md); kept verbatim in every rewrite of the file.
KERNEL_TUNING = """\
## Kernel tuning constants

Measured when each constant and layout choice of the kernel was made; the comments in
`src/clogreg/_kernel.pyx` and `src/clogreg/_kernel/simd.h` point here (run_all.py does not
re-measure them).

| where | choice | measured then |
|---|---|---|
| `_SMALL_D = 10` (`_kernel.pyx`) | float64 rows of up to 10 columns: `X @ w` as four in-order row sums at a time (`_small_matvec`); above, `clogreg_rows_dot_d` | `benchmarks/bench_epoch.py --cols 10`, float64: the epoch took 1.5x the `X.sum()` time with these loops, 1.75x with gemv (first host) |
| `clogreg_rows_dot_f` (`simd.h`) | float32 rows, any width: one row per AVX2 register, the same sums in plain C in the baseline build | 1,000,000 x 10 float32: the AVX2 code took 0.88x the time of the 4-row loops, the plain C 1.2x (first host) |
| `clogreg_rows_dot_d` (`simd.h`), no BLAS in the binary pass (issue 12) | float64 rows of more than 10 columns: one row after the other, its 8 lanes in two AVX2 registers (plain C in the baseline build, same bits); `X.T @ r` in the kernel's 4-row loops; until then both were OpenBLAS gemv calls | `gcc -O3 -mavx2 -mfma -ffp-contract=off benchmarks/tuning_rows_dot.c -o /tmp/rows_dot && /tmp/rows_dot 500000 100` (second host, AMD EPYC with AVX-512, idle; 5 rounds, ms): reading X once 20.4-21.6; `X @ w` one row after the other 21.9-25.6; four rows interleaved, as gemv reads a row-major X, 48.7-55.2 (2.5x) |
| `_WIDE_TILE_BYTES = 8192`, at least 4 rows (`_kernel.pyx`, `_binary_tile_rows`) | tiles of the binary pass above 10 columns: 8 KiB, so that `X.T @ r` reads the tile from L1; never fewer than 4 rows (the 4-row loops) | same command, both products of the pass, 500,000 x 96: 25.7-30.8 ms with 8 KiB tiles, 29.6-38.8 with 16 KiB, 33.7-34.8 with 64 KiB (the old `_TILE_ELEMS`); 200,000 x 1000: 1 or 2 rows a tile (8 or 16 KiB) took 113-168 ms, 4 or 8 rows 102-123 ms |
| `_NEWTON_TILE_ELEMS = 32768` (`_kernel.pyx`) | Newton tiles of up to 32,768 values, work arrays on the heap | 1.2x faster than 8,192-value tiles on 569 x 30, 1.07x on 200,000 x 200 |
| `newton_pass` scratch (`_kernel/newton.pxi`) | malloc (MemoryError on failure, before nogil), not NumPy | 80 x 2 float64: with the scratch from `np.empty` the pass took 1.16x the CPU time of the previous commit's, with malloc 1.05x (the rest: the shape checks); 569 x 30: 1.03x against 1.01x |
| `_sgd_epochs` (`_kernel/epochs.pxi`) | the SGD epochs in a cdef function of their own, the work arrays its parameters, called by `sgd_fit` after it allocates them | one epoch, batches of 256, 1,000,000 x 10: the same loop inside `sgd_fit` beside the NumPy allocations took 1.12x (float32) to 1.23x (float64) the CPU time (paired, same process, against the previous commit); in a function of its own 0.97x to 0.98x |
"""


# ----------------------------------------------------------------- contenders
def torch_epochs(X, y, lr, epochs):
    """The tutorial's loop in PyTorch: summed BCE on logits, autograd, plain step."""
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)  # shares memory: no copy
    w = torch.zeros(X.shape[1], dtype=Xt.dtype, requires_grad=True)
    b = torch.zeros(1, dtype=Xt.dtype, requires_grad=True)
    for _ in range(epochs):
        z = Xt @ w + b
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z, yt, reduction="sum")
        acc = ((z > 0) == (yt > 0.5)).double().mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
            w.grad.zero_()
            b.grad.zero_()
    return w, b, float(loss.detach()), float(acc)


def sklearn_lbfgs_iteration(X, y):
    """scikit-learn's lbfgs, 5 iterations from scratch, per iteration (fit / n_iter_)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        est = SkLogisticRegression(max_iter=5).fit(X, y)
        return (time.perf_counter() - t0) / max(1, int(est.n_iter_[0]))


def sgd_epoch(X, y):
    """scikit-learn's SGDClassifier (log-loss), one epoch."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        SGDClassifier(loss="log_loss", max_iter=1, tol=None, shuffle=False,
                      random_state=0).fit(X, y)


def epoch_rows(X, y, repeat, peers=True, threads=True):
    """{contender: times} for one epoch on (X, y), all in this call."""
    lr = 1.0 / (0.25 * X.shape[0] * X.shape[1])
    yi = y.astype(np.int64)
    flat = X.reshape(-1)  # a view; dot(flat, flat) reads X once, in BLAS (SIMD)
    slow = max(2, repeat // 2)
    fns = {"clogreg epoch": lambda: clogreg_epochs(X, y, lr, 1)}
    if threads:
        fns["clogreg epoch, n_jobs=2"] = lambda: clogreg_epochs(X, y, lr, 1, n_threads=2)
        if _dispatch.KERNEL_NAME != "baseline":
            fns["clogreg epoch, baseline kernel"] = lambda: clogreg_epochs(
                X, y, lr, 1, kernel=baseline_kernel())
    fns["NumPy epoch"] = lambda: numpy_epochs(X, y, lr, 1)
    if peers:
        if torch is not None:
            fns["PyTorch epoch (autograd)"] = lambda: torch_epochs(X, y, lr, 1)
        fns["scikit-learn lbfgs, per iteration"] = (
            lambda: sklearn_lbfgs_iteration(X, yi), slow, True)
        fns["scikit-learn SGDClassifier epoch"] = (lambda: sgd_epoch(X, yi), slow, False)
    fns["read X once (X.sum())"] = X.sum
    fns["read X once (BLAS dot)"] = lambda: np.dot(flat, flat)
    if threads:
        # the ceiling of n_jobs=2: X.sum() of each half of the rows on its own thread
        # (NumPy releases the GIL), the memory bandwidth that two cores get here
        halves = (X[:X.shape[0] // 2], X[X.shape[0] // 2:])
        fns[READ2] = lambda: list(pool.map(np.sum, halves))
        # the per-row arithmetic (exp, log, the sums) with almost nothing to read: the
        # epoch on X's first column alone
        X1 = np.ascontiguousarray(X[:, :1])
        fns[ARITH] = lambda: clogreg_epochs(X1, y, lr, 1)
    with ThreadPoolExecutor(2) as pool:
        return side_by_side(fns, repeat)


READ2 = "read X once, two threads (X.sum() of each half)"
ARITH = "clogreg epoch on X's first column only"


# --------------------------------------------------------------------- main
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small problems (smoke test)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--repeat", type=int, default=15, help="turns per table (default 15)")
    parser.add_argument("--solver-budget", type=float, default=30.0,
                        help="seconds per contender's tolerance ladder in the "
                             "time-to-solution tables (default 30)")
    parser.add_argument("--no-solvers", action="store_true",
                        help="skip the time-to-solution tables (about 6 minutes)")
    args = parser.parse_args()
    t_start = time.perf_counter()
    big = 100_000 if args.quick else 1_000_000
    repeat = 3 if args.quick else args.repeat
    if torch is not None:
        torch.set_num_threads(1)
    info = machine()
    print("\n".join(info))
    md = ["# Benchmarks", "",
          ("Written by `python -m benchmarks.run_all`; every table is one run, peers side "
           "by side, taking turns (median, min, max of the turns; ratio = median / "
           "clogreg's median). One thread unless a row says otherwise."), "",
          "## Machine", "", *info, ""]
    results = {}

    with threadpool_limits(limits=1, user_api="blas"):
        # 1 and 2: wide and narrow epochs
        md += ["## One epoch", ""]
        for cols in (100, 10):
            X64, y64 = make_problem(big, cols)
            for dtype in (np.float64, np.float32):
                X, y = X64.astype(dtype), y64.astype(dtype)
                rows = epoch_rows(X, y, repeat, peers=(cols == 100))
                results[cols, np.dtype(dtype).name] = rows
                md += table(f"{big:,} x {cols}, {np.dtype(dtype).name}", rows, "ms", 1e3)
                del X, y
            del X64, y64

        # 3: epoch time against rows, float64, 100 columns
        sizes = [1_000, 10_000, 100_000] + ([] if args.quick else [1_000_000])
        Xall, yall = make_problem(sizes[-1], 100)
        sweep = {}
        for n in sizes:
            rows = epoch_rows(Xall[:n], yall[:n], repeat, threads=False)
            for name, t in rows.items():
                sweep.setdefault(name, []).append(np.median(t))
        del Xall, yall
        md += ["## Epoch time against rows (100 columns, float64)", "",
               "| rows | " + " | ".join(sweep) + " |",
               "|---:|" + "---:|" * len(sweep)]
        for k, n in enumerate(sizes):
            md.append(f"| {n:,} | " + " | ".join(f"{sweep[c][k] * 1e3:.3g} ms" for c in sweep)
                      + " |")
        md += ["", "![epoch time against rows](benchmarks/epoch_vs_rows.png)", ""]
        plot_sweep(sizes, sweep, ROOT / "benchmarks" / "epoch_vs_rows.png")

        # 4: the tutorial's fit end to end
        X_train, _, y_train, _ = load_tutorial_data()
        yf = y_train.astype(np.float64)
        tutorial = LogisticRegression(C=np.inf, solver="gd", learning_rate=0.1, max_iter=20,
                                      tol=0)
        def full_validation():  # the fast path off: scikit-learn's validate_data
            fast = _validation.passes_unchanged
            _validation.passes_unchanged = lambda X, y: False  # (no mock: its own us)
            try:
                tutorial.fit(X_train, y_train)
            finally:
                _validation.passes_unchanged = fast

        fns = {"clogreg fit()": lambda: tutorial.fit(X_train, y_train),
               "clogreg fit(), full validation": full_validation,
               "NumPy loop": lambda: numpy_epochs(X_train, yf, 0.1, 20)}
        if torch is not None:
            fns["PyTorch loop"] = (lambda: torch_epochs(X_train, yf, 0.1, 20), 5, False)
        fns["scikit-learn lbfgs fit(), max_iter=20"] = (
            lambda: SkLogisticRegression(max_iter=20).fit(X_train, y_train), 5, False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # a loop of fits (a cross-validation, a script run twice): each turn, 20
            # calls of each contender in a row, each timed
            rows = side_by_side(fns, 15, block=20)
            # and one call at a time, each after the other contenders' code: the
            # caches then hold theirs
            single = side_by_side({k: fns[k] for k in list(fns)[:3]}, 300)
        results["tutorial"], results["tutorial, single"] = rows, single
        md += ["## The tutorial's fit: 80 x 2, 20 epochs, end to end", "",
               ("Each turn, every contender makes 20 calls in a row, each one timed (as "
                "a loop of fits runs); the second table has one call a turn, each after "
                "the other contenders' code, so that it starts with their code and "
                "data in the caches."), ""]
        md += table("fit() against the same loop, 20 calls a turn", rows, "us", 1e6,
                    "clogreg fit()")
        md += table("One call a turn", single, "us", 1e6, "clogreg fit()")

    # 5: memory
    mem_rows = 20_000 if args.quick else 200_000
    memory = measure_memory(mem_rows, 50)
    results["memory"] = memory
    md += [f"## Peak extra memory during fit ({mem_rows:,} x 50, tracemalloc)", "",
           "| dtype | contender | bytes per row |", "|---|---|---:|"]
    md += [f"| {dt} | {name} | {b:.1f} |" for (dt, name), b in memory.items()]
    md += [""]
    print("\n" + "\n".join(md[-len(memory) - 3:]))

    # 6: time to a 1e-8 objective gap, every solver (benchmarks/bench_solvers.py)
    if not args.no_solvers:
        budget = 5.0 if args.quick else args.solver_budget
        md += ["## Time to solution: a 1e-8 relative objective gap", "",
               ("Each contender climbs a ladder of tolerances (1e-3, 1e-4, ..., loosest "
                "first) until its objective is within 1e-8 of the optimum (computed by "
                "NumPy outside the timing) or its budget "
                f"({budget:.0f} s) is spent; the time is that fit's (median of 3 or more "
                "runs, 2 for fits over 5 s). The five binary problems (well to cancer): "
                "L2, C = 1; the two multinomial (10-class) problems, digits and "
                "classes10: L2 with C = 1, then L1 (C = 0.1 on digits, 1 on classes10). "
                "Every library on one thread (BLAS, OpenMP and oneDAL). See "
                "benchmarks/bench_solvers.py."),
               ""]
        quick_rows = {"well": 100_000, "narrow": 100_000, "ill": 20_000, "wide": 4_000,
                      "classes10": 4_000}
        # (problem, l1_ratio, C). L1 on digits at C = 0.1: a sparser optimum, 151 of its
        # 610 coefficients nonzero (240 at C = 1)
        problems = [(p, 0.0, 1.0) for p in ("well", "narrow", "ill", "wide", "cancer")]
        problems += [("digits", 0.0, 1.0), ("classes10", 0.0, 1.0), ("digits", 1.0, 0.1),
                     ("classes10", 1.0, 1.0)]
        for problem, l1_ratio, C in problems:
            shape, _, res = time_to_solution(
                problem, quick_rows.get(problem) if args.quick else None, C=C,
                budget=budget, log=lambda m: print(m, flush=True), l1_ratio=l1_ratio)
            results["solvers", solvers_label(problem, l1_ratio)] = (shape, res)
            # where the time goes, for a problem whose target (>= 3x the fastest peer)
            # is missed: clogreg's fastest fit again, its kernel passes counted
            ours, our_name = fastest(res, lambda name: name.startswith("clogreg "))
            peer, peer_name = fastest(res, lambda name: not name.startswith("clogreg "))
            if our_name is not None and peer_name is not None and peer < 3 * ours:
                tol = next(t for name, t, _, _ in res if name == our_name)
                results["profile", solvers_label(problem, l1_ratio)] = (
                    our_name, tol, pass_profile(
                        problem, our_name, tol,
                        quick_rows.get(problem) if args.quick else None, C=C,
                        l1_ratio=l1_ratio))
            md += [solvers_heading(problem, shape, C, l1_ratio), "",
                   *solvers_markdown(res, budget, shape, CLASSES.get(problem, 2)), ""]
            print("\n".join(md[-len(res) - 5:]), flush=True)

    md += targets(results, big)
    md += misses(results, big)
    md += kept_sections(Path(args.out))
    md += KERNEL_TUNING.splitlines() + [""]
    elapsed = time.perf_counter() - t_start
    md += [f"Suite run time: {elapsed / 60:.1f} min.", ""]
    Path(args.out).write_text("\n".join(md))
    print(f"\nwrote {args.out} and benchmarks/epoch_vs_rows.png in {elapsed / 60:.1f} min")


def kept_sections(path):
    """Sections that other scripts write into BENCHMARKS.md and this one keeps as they
    are: "Sparse input" (``benchmarks/bench_sparse_solvers.py --write``), "The
    binary pass without BLAS" (``benchmarks/bench_pass.py``) and "The multinomial
    pass without BLAS" (``benchmarks/bench_multinomial.py``), written by hand."""
    try:
        text = path.read_text()
    except OSError:
        return []
    kept = []
    for title in ("Sparse input", "The binary pass without BLAS",
                  "The multinomial pass without BLAS"):
        m = re.search(rf"^## {title}\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
        if m:
            kept += m.group(0).rstrip("\n").splitlines() + [""]
    return kept


def targets(results, big):
    """The performance issue's targets, judged on this run.

    A ratio is the median over turns of the two contenders' times in the same turn
    (they ran back to back), which a machine whose load changes disturbs least; the
    ratio of the medians is beside it.
    """
    def ratio(rows, a, b):
        paired = np.median(rows[a] / rows[b])
        return paired, np.median(rows[a]) / np.median(rows[b])

    lines = ["## Targets of the performance issue (this run)", "",
             "Ratios: median over turns of the paired ratio (ratio of medians in brackets).",
             "", "| target | measured | met |", "|---|---|---|"]
    xsum, xdot = "read X once (X.sum())", "read X once (BLAS dot)"
    for cols in (100, 10):
        for dt in ("float64", "float32"):
            rows = results[cols, dt]
            # the fastest single-thread read, turn by turn
            read = np.minimum(rows[xsum], rows[xdot])
            r = np.median(rows["clogreg epoch"] / read)
            rm = np.median(rows["clogreg epoch"]) / np.median(read)
            ns = np.median(rows["clogreg epoch"]) / big * 1e9
            lines.append(f"| epoch {big:,} x {cols} {dt} <= 1.15x the fastest read of X "
                         f"(X.sum() or BLAS dot) | {r:.2f}x [{rm:.2f}] ({ns:.1f} ns/row) | "
                         f"{'yes' if r <= 1.15 else 'no'} |")
    fit = np.median(results["tutorial"]["clogreg fit()"]) * 1e6
    full = np.median(results["tutorial"]["clogreg fit(), full validation"]) * 1e6
    single = np.median(results["tutorial, single"]["clogreg fit()"]) * 1e6
    lines.append(f"| tutorial fit <= 50 us | {fit:.0f} us, 20 fits a turn (full "
                 f"validation: {full:.0f} us); one fit a turn, after the other "
                 f"contenders: {single:.0f} us | {'yes' if fit <= 50 else 'no'} |")
    for cols in (100, 10):
        for dt in ("float64", "float32"):
            r, rm = ratio(results[cols, dt], "clogreg epoch", "clogreg epoch, n_jobs=2")
            lines.append(f"| 2 threads >= 1.7x ({big:,} x {cols} {dt}) | speed-up {r:.2f}x "
                         f"[{rm:.2f}] | {'yes' if r >= 1.7 else 'no'} |")
    for key, (shape, res) in ((k, v) for k, v in results.items()
                              if isinstance(k, tuple) and k[0] == "solvers"):
        where = f"{key[1]} ({shape[0]:,} x {shape[1]:,})"
        ours, our_name = fastest(res, lambda name: name.startswith("clogreg "))
        auto = fastest(res, lambda name: name == "clogreg auto")[0]
        peer, peer_name = fastest(res, lambda name: not name.startswith("clogreg "))
        if peer_name is None:  # e.g. saga, the only peer on multinomial L1, out of budget
            peer, vs = np.inf, "no peer reached the gap"
        else:
            vs = f"{peer_name} {solvers_ms(peer)} ms"
        r = peer / ours
        lines.append(f"| time to 1e-8 gap, {where}: >= 3x faster than the fastest peer | "
                     f"{our_name} {solvers_ms(ours)} ms vs {vs}: {r:.2f}x | "
                     f"{'yes' if r >= 3 else 'no'} |")
        lines.append(f"| {where}: \"auto\" within 1.2x of clogreg's fastest | auto "
                     f"{solvers_ms(auto)} ms, {auto / ours:.2f}x {our_name} | "
                     f"{'yes' if auto <= 1.2 * ours else 'no'} |")
        r_auto = peer / auto
        lines.append(f"| {where}: \"auto\" >= 3x faster than the fastest peer | "
                     f"{r_auto:.2f}x | {'yes' if r_auto >= 3 else 'no'} |")
    for (dt, name), b in results["memory"].items():
        if name.startswith("clogreg"):
            lines.append(f"| fit memory <= 12 B/row ({dt}, {name}) | {b:.1f} B/row | "
                         f"{'yes' if b <= 12 else 'no'} |")
    lines.append("")
    print("\n" + "\n".join(lines))
    return lines


def misses(results, big):
    """Why the missed targets are missed: measurements of this run that bound them."""
    lines = ["## Where the missed targets stand (this run)", ""]
    xsum, xdot = "read X once (X.sum())", "read X once (BLAS dot)"
    for cols in (100, 10):
        for dt in ("float64", "float32"):
            rows = results[cols, dt]
            med = {name: np.median(t) * 1e3 for name, t in rows.items()}
            read = min(med[xsum], med[xdot])
            epoch, arith = med["clogreg epoch"], med.get(ARITH)
            if arith is None:
                continue
            lines.append(
                f"- Epoch, {big:,} x {cols} {dt}: {epoch:.1f} ms against a read of "
                f"{read:.1f} ms ({epoch / read:.2f}x). The per-row arithmetic alone "
                f"(the same epoch on X's first column: exp, log, the sigmoid and the "
                f"sums, a 1/{cols} of the reading) takes {arith:.1f} ms, "
                f"{arith / read:.2f}x the read; the two products over the {cols} "
                f"columns take the rest, {epoch - arith:.1f} ms "
                f"({(epoch - arith) / read:.2f}x the read).")
    for cols in (100, 10):
        for dt in ("float64", "float32"):
            rows = results[cols, dt]
            if READ2 not in rows:
                continue
            read1 = np.median(np.minimum(rows[xsum], rows[xdot]))
            read2 = np.median(rows[READ2])
            e1, e2 = (np.median(rows[k]) for k in ("clogreg epoch",
                                                   "clogreg epoch, n_jobs=2"))
            lines.append(
                f"- Two threads, {big:,} x {cols} {dt}: X.sum() on two threads (each a "
                f"half of the rows) reads X {read1 / read2:.2f}x as fast as one thread "
                f"(the memory bandwidth two cores get here); the epoch goes "
                f"{e1 / e2:.2f}x faster with n_jobs=2 and takes {e2 / read2:.2f}x the "
                f"two-thread read.")
    t = results.get("tutorial")
    if t is not None:
        fit = np.median(t["clogreg fit()"]) * 1e6
        single = np.median(results["tutorial, single"]["clogreg fit()"]) * 1e6
        lines.append(
            f"- The tutorial's fit: {fit:.0f} us a fit in a loop of fits, {single:.0f} us "
            f"when each fit follows the other contenders' code (which then fills the "
            f"caches).")
    for key, (our_name, tol, prof) in ((k, v) for k, v in results.items()
                                       if isinstance(k, tuple) and k[0] == "profile"):
        fit, read = prof["fit"] * 1e3, prof["read"] * 1e3
        parts, in_passes = [], 0.0
        for kind in ("gradient", "Hessian", "set-up"):
            if kind in prof:
                count, sec = prof[kind]
                in_passes += sec * 1e3
                parts.append(f"{count:.0f} {kind} passes of {sec * 1e3 / count:.3g} ms "
                             f"({sec / count / prof['read']:.1f}x a read of X)")
        _, res = results["solvers", key[1]]
        peer, peer_name = fastest(res, lambda name: not name.startswith("clogreg "))
        n_grad = prof.get("gradient", (0, 0))[0]
        lines.append(
            f"- {key[1]}: {our_name} at tol {tol:g}, {fit:.3g} ms a fit (counted "
            f"again): {', '.join(parts)}; {in_passes:.3g} ms in passes, "
            f"{fit - in_passes:.3g} ms between them (Python, LAPACK, SciPy's L-BFGS). "
            f"3x {peer_name} ({solvers_ms(peer)} ms) needs {peer * 1e3 / 3:.3g} ms"
            + (f" (2x, the multinomial target: {peer * 1e3 / 2:.3g} ms)"
               if CLASSES.get(key[1].split()[0], 2) > 2 else "")
            + f"; {n_grad:.0f} reads of X alone take {n_grad * read:.3g} ms"
            + (f", and with the time between the passes {n_grad * read + fit - in_passes:.3g}"
               f" ms: out of reach at this number of passes even at the speed of reading X."
               if n_grad * read + fit - in_passes > peer * 1e3 / 3 else
               f"; with the time between the passes {n_grad * read + fit - in_passes:.3g} "
               f"ms: passes at the speed of reading X would reach it."))
    lines.append("")
    print("\n" + "\n".join(lines))
    return lines


def plot_sweep(sizes, sweep, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, t in sweep.items():
        style = {"lw": 2.5, "color": "black"} if name == "clogreg epoch" else {"lw": 1.2}
        if name.startswith("read X"):
            style = {"lw": 1.2, "ls": "--"}
        ax.loglog(sizes, np.array(t) * 1e3, marker="o", label=name, **style)
    ax.set_xlabel("rows (100 columns, float64)")
    ax.set_ylabel("time per epoch (ms), median")
    ax.set_title("One epoch against rows, one thread")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
