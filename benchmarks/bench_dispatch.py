"""One epoch through each build of the kernel: baseline against AVX2+FMA.

    python -m benchmarks.bench_dispatch [--rows 1000000] [--repeat 25]

For 1,000,000 x 10 and 1,000,000 x 100, float64 and float32, times one epoch of
``benchmarks._common.clogreg_epochs`` (the same call as benchmarks/bench_epoch.py)
with ``clogreg._kernel`` and with ``clogreg._kernel_avx2`` in the same process, and
``X.sum()`` (reading X once, the memory-speed bound). Runs are paired: each repeat
times the three in turn, so drifts of the machine hit all of them alike. Prints the
medians as a markdown table. BLAS is held to one thread. It also checks that both
builds give bit-identical coefficients.
"""
import argparse
import functools
import platform

import numpy as np
from threadpoolctl import threadpool_limits

from clogreg import _dispatch, _kernel

from ._common import clogreg_epochs, paired_medians


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
                a = clogreg_epochs(X, y, lr, 1, kernel=_kernel)
                b = clogreg_epochs(X, y, lr, 1, kernel=avx2)
                assert np.array_equal(a.coef, b.coef) and np.array_equal(a.loss, b.loss), \
                    "the two builds disagree"
                t = paired_medians({"baseline": functools.partial(clogreg_epochs, X, y, lr, 1,
                                                                   kernel=_kernel),
                                    "avx2": functools.partial(clogreg_epochs, X, y, lr, 1,
                                                               kernel=avx2),
                                    "sum": X.sum}, args.repeat)
                print(f"| {np.dtype(dtype).name} | {args.rows:,} x {cols} "
                      f"| {t['baseline'] * 1e3:.2f} | {t['avx2'] * 1e3:.2f} "
                      f"| {t['sum'] * 1e3:.2f} | {t['avx2'] / t['baseline']:.2f} "
                      f"| {t['baseline'] / t['sum']:.2f} | {t['avx2'] / t['sum']:.2f} |")


if __name__ == "__main__":
    main()
