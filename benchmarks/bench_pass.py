"""The binary pass (loss, gradient, accuracy: one read of X) against reading X.

    python -m benchmarks.bench_pass [--repeat 15] [--shapes 500000x100 ...]

For each shape and dtype, in turns: NumPy reading X once (``X.sum()``), OpenBLAS's
gemv reading X once (``X @ w``) and clogreg's binary pass (``DenseRows.loss_grad``,
the pass every gd epoch and lbfgs evaluation makes). Prints the median time of each
and the median of the paired ratios to ``X.sum()`` (each pass timed right after its
own ``X.sum()``, so that a busy machine shifts both). One thread (threadpoolctl). The
host's CPU flags and OpenBLAS core type are printed first: the gemv column depends on
them, the clogreg column should not (it calls no BLAS above 10 columns).
"""
import argparse
import platform
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from clogreg import _dispatch
from clogreg._rows import DenseRows

SHAPES = ["500000x100", "200000x1000", "1000000x30", "1000000x12", "1000000x10"]


def host():
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = {w for w in line.split() if w.startswith("avx")}
                    break
    except OSError:
        pass
    blas = sorted({f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                   for i in threadpool_info() if i.get("user_api") == "blas"})
    return (f"machine: {platform.machine()}, {platform.processor() or 'cpu ?'}; "
            f"AVX flags: {' '.join(sorted(flags)) or 'none'}\nBLAS: {'; '.join(blas)}\n"
            f"clogreg kernel: {_dispatch.KERNEL_NAME}")


def paired(read, run, repeat):
    """Median time of ``run`` and the median of its ratio to ``read`` timed just before."""
    times, ratios = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        read()
        a = time.perf_counter() - t
        t = time.perf_counter()
        run()
        b = time.perf_counter() - t
        times.append(b)
        ratios.append(b / a)
    return np.median(times), np.median(ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--shapes", nargs="+", default=SHAPES)
    args = parser.parse_args()
    print(host())
    print("\n| shape | dtype | X.sum() ms | gemv ms | clogreg pass ms | gemv / X.sum() "
          "| pass / X.sum() |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for shape in args.shapes:
        n, d = map(int, shape.split("x"))
        for dtype in (np.float64, np.float32):
            X = rng.standard_normal((n, d)).astype(dtype)
            w = (rng.standard_normal(d) / np.sqrt(d)).astype(dtype)
            y = (rng.random(n) < 0.5).astype(dtype)
            rows = DenseRows(X, y, np.empty(0, dtype), 1, 1)
            b = np.zeros(1)
            def gemv(X=X, w=w):
                return X @ w

            def binary_pass(rows=rows, w=w, b=b):
                return rows.loss_grad(w, b)

            with threadpool_limits(1):
                t_read, _ = paired(X.sum, X.sum, args.repeat)
                t_gemv, r_gemv = paired(X.sum, gemv, args.repeat)
                t_pass, r_pass = paired(X.sum, binary_pass, args.repeat)
            print(f"| {n:,} x {d} | {np.dtype(dtype).name} | {t_read * 1e3:.1f} | "
                  f"{t_gemv * 1e3:.1f} | {t_pass * 1e3:.1f} | {r_gemv:.2f} | {r_pass:.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
