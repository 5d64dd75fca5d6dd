"""One epoch through each build of the kernel: baseline against AVX2+FMA.

    python benchmarks/bench_dispatch.py [--rows 1000000] [--repeat 25]

For 1,000,000 x 10 and 1,000,000 x 100, float64 and float32, times one epoch of
``clogreg._solvers.gradient_descent`` (the same call as benchmarks/bench_epoch.py)
with ``clogreg._kernel`` and with ``clogreg._kernel_avx2`` in the same process, and
``X.sum()`` (reading X once, the memory-speed bound). Runs are paired: each repeat
times the three in turn, so drifts of the machine hit all of them alike. Prints the
medians as a markdown table. BLAS is held to one thread. It also checks that both
builds give bit-identical coefficients.
"""
import argparse
import contextlib
import functools
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from clogreg import _dispatch, _kernel, _solvers


@contextlib.contextmanager
def kernel_module(module):
    """Route clogreg._solvers' kernel calls through `module` for a while."""
    saved = _solvers._kernel
    _solvers._kernel = module
    try:
        yield
    finally:
        _solvers._kernel = saved


def epoch(module, X, y, lr):
    with kernel_module(module):
        return _solvers.gradient_descent(
            X, y, np.empty(0, X.dtype), np.zeros(X.shape[1], X.dtype), 0.0,
            learning_rate=lr, alpha_l2=0.0, alpha_l1=0.0, fit_intercept=True,
            max_iter=1, tol=0.0, n_threads=1)


def paired_medians(fns, repeat):
    for fn in fns.values():
        fn()  # warm-up: page faults, caches, lazy imports
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(t)) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=25)
    args = parser.parse_args()
    avx2 = _dispatch.avx2_module()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"python {platform.python_version()}, numpy {np.__version__}; "
          f"dispatch chooses: {_dispatch.KERNEL_NAME}; medians of {args.repeat} paired runs")
    if avx2 is None:
        print("no AVX2 kernel here (not built, or this CPU lacks AVX2/FMA): nothing to compare")
        return

    print("\n| dtype | shape | baseline ms | avx2 ms | X.sum() ms | avx2 / baseline "
          "| baseline / X.sum() | avx2 / X.sum() |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=1, user_api="blas"):
        for cols in (10, 100):
            X64 = rng.standard_normal((args.rows, cols))
            true_w = rng.standard_normal(cols) / np.sqrt(cols)
            y64 = (X64 @ true_w + 0.5 * rng.standard_normal(args.rows) > 0).astype(np.float64)
            for dtype in (np.float64, np.float32):
                X, y = X64.astype(dtype), y64.astype(dtype)
                lr = 1e-7
                a, b = epoch(_kernel, X, y, lr), epoch(avx2, X, y, lr)
                assert np.array_equal(a.coef, b.coef) and np.array_equal(a.loss, b.loss), \
                    "the two builds disagree"
                t = paired_medians({"baseline": functools.partial(epoch, _kernel, X, y, lr),
                                    "avx2": functools.partial(epoch, avx2, X, y, lr),
                                    "sum": X.sum}, args.repeat)
                print(f"| {np.dtype(dtype).name} | {args.rows:,} x {cols} "
                      f"| {t['baseline'] * 1e3:.2f} | {t['avx2'] * 1e3:.2f} "
                      f"| {t['sum'] * 1e3:.2f} | {t['avx2'] / t['baseline']:.2f} "
                      f"| {t['baseline'] / t['sum']:.2f} | {t['avx2'] / t['sum']:.2f} |")


if __name__ == "__main__":
    main()
