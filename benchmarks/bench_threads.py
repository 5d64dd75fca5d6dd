"""Wall time of independent fits run from 1 and from 2 (or more) Python threads.

    python -m benchmarks.bench_threads [--rows 200000] [--cols 50] [--fits 8]
                                       [--epochs 10] [--threads 1 2] [--repeat 3]

Each thread fits its own estimator (``n_jobs=None``: one OpenMP thread per fit) on
the same read-only X; BLAS is held to one thread (threadpoolctl), so the only
parallelism is the Python threads, which run concurrently because the kernel
releases the GIL. Prints, per thread count, the median wall time of ``--fits`` fits,
the speed-up over one thread, and the process's CPU time over wall time (how many
cores it kept busy: close to the thread count when nothing else competes for them).

A control runs first: the same number of jobs of ``X.sum()`` (NumPy, which also
releases the GIL and reads X once like an epoch). Its speed-up is what the machine
offers at that moment; on a machine shared with other work, read clogreg's speed-up
against it.
"""
import argparse
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--fits", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''}, "
          f"{os.cpu_count()} CPUs, python {platform.python_version()}, "
          f"numpy {np.__version__}")

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.rows, args.cols))
    y = (X @ rng.standard_normal(args.cols) + rng.standard_normal(args.rows) > 0)
    X.setflags(write=False)

    def one_fit(_):
        LogisticRegression(solver="gd", max_iter=args.epochs, tol=0).fit(X, y)

    def one_control(_):
        for _ in range(args.epochs):
            X.sum()

    print(f"{args.fits} jobs on {args.rows:,} x {args.cols} float64, {args.epochs} passes "
          f"each; median of {args.repeat}")
    print("| job | threads | wall time (s) | speed-up | CPU time / wall time |")
    print("|---|---|---|---|---|")
    with threadpool_limits(limits=1, user_api="blas"):
        one_fit(0)  # warm-up: page faults, lazy imports
        for name, job in [("control: X.sum()", one_control), ("clogreg fit", one_fit)]:
            base = None
            for n_threads in args.threads:
                times, cpu = [], []
                for _ in range(args.repeat):
                    start, start_cpu = time.perf_counter(), time.process_time()
                    with ThreadPoolExecutor(max_workers=n_threads) as pool:
                        list(pool.map(job, range(args.fits)))
                    times.append(time.perf_counter() - start)
                    cpu.append(time.process_time() - start_cpu)
                median = float(np.median(times))
                base = base or median
                print(f"| {name} | {n_threads} | {median:.3f} | {base / median:.2f} | "
                      f"{np.median(np.array(cpu) / np.array(times)):.2f} |")


if __name__ == "__main__":
    main()
