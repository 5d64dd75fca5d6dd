"""One multinomial (softmax) pass against reading X once, and against another build.

    python -m benchmarks.bench_multinomial [--against PATH/_kernel_avx2....so] [--repeat 11]

For each shape (rows x columns, K classes) and dtype, times the kernel's
``multinomial_loss_grad`` (loss, accuracy and gradient: one pass) and the fastest
single-thread read of X (a BLAS dot of X with itself), taking turns; with
``--against``, also the same pass of another build of the kernel (a ``.so`` file of
``clogreg._kernel_avx2`` or ``clogreg._kernel`` from an older commit), so that a
change is measured side by side in one process. Prints median milliseconds and the
paired ratios. BLAS runs on one thread; set ``OPENBLAS_CORETYPE`` (e.g. Haswell) to
see how a build that calls BLAS fares with another CPU's kernels.
"""
import argparse
import importlib.util
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from clogreg import _dispatch

SHAPES = [(300_000, 50, 10), (300_000, 20, 3), (100_000, 200, 5)]


def load_build(path):
    """The kernel module in ``path`` (its file name gives the module's name)."""
    name = "clogreg." + Path(path).name.split(".")[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", help="another build of the kernel (.so)")
    parser.add_argument("--repeat", type=int, default=11)
    args = parser.parse_args()
    builds = {"this": _dispatch.kernel}
    if args.against:
        builds["other"] = load_build(args.against)
    rng = np.random.default_rng(0)
    print("| shape | dtype | " + " | ".join(f"{b} ms" for b in builds) + " | read ms | "
          "this / read | " + ("this / other |" if args.against else ""))
    print("|---|---|" + "---:|" * (len(builds) + 2 + bool(args.against)))
    for n, d, K in SHAPES:
        for dtype in (np.float64, np.float32):
            X = rng.standard_normal((n, d)).astype(dtype)
            y = rng.integers(0, K, n).astype(dtype)
            W = (rng.standard_normal(K * d) / 10).astype(dtype)
            b, sw = np.zeros(K), np.empty(0, dtype)
            g, gb = np.empty(K * d, dtype), np.empty(K)
            flat = X.reshape(-1)
            times = {name: [] for name in [*builds, "read"]}
            with threadpool_limits(limits=1, user_api="blas"):
                for _ in range(args.repeat):
                    for name, module in builds.items():
                        t0 = time.perf_counter()
                        module.multinomial_loss_grad(X, y, sw, W, b, g, gb, 1)
                        times[name].append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    np.dot(flat, flat)
                    times["read"].append(time.perf_counter() - t0)
            t = {name: np.array(v) for name, v in times.items()}
            cells = [f"{np.median(t[name]) * 1e3:.1f}" for name in [*builds, "read"]]
            cells.append(f"{np.median(t['this'] / t['read']):.2f}x")
            if args.against:
                cells.append(f"{np.median(t['this'] / t['other']):.2f}")
            print(f"| {n:,} x {d}, K = {K} | {np.dtype(dtype).name} | " + " | ".join(cells)
                  + " |", flush=True)


if __name__ == "__main__":
    main()
