"""Live progress and Ctrl-C: what reporting costs, and how soon SIGINT stops a fit.

    python -m benchmarks.bench_progress [--rounds 5]

1. Epoch time of ``"gd"`` and ``"sgd"`` (100,000 x 50, 40 epochs, one thread) with
   nothing listening, with ``verbose=1`` (lines to /dev/null), and with a no-op
   scikit-learn callback: the kernel reports every epoch only when somebody listens,
   otherwise it only takes the GIL to check for signals about every 2**24 values.
   Medians over rounds that take turns, so the machine's load hits all alike. (For
   the cost of the check itself against the build without it, see
   ``python -m benchmarks.compare_installs``.)
2. Interruption latency: a subprocess starts a long fit (one that would run for
   minutes) of each solver; SIGINT is sent once its first iteration line arrives; the
   table gives the seconds from the signal to ``KeyboardInterrupt`` reaching Python,
   beside the time of one pass (one iteration) of that fit.
"""
import argparse
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
from threadpoolctl import threadpool_limits

from clogreg import LogisticRegression

from ._common import machine


class _NoOp:
    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass

    def on_fit_task_end(self, estimator, context):
        pass


def reporting_cost(rounds):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 50))
    y = (X[:, 0] + rng.standard_normal(100_000) > 0).astype(int)
    epochs = 40
    modes = {"nothing listens": {}, "verbose=1": {"verbose": 1}, "callback": "callback"}
    times = {(s, m): [] for s in ("gd", "sgd") for m in modes}
    with open(os.devnull, "w") as sink, threadpool_limits(limits=1, user_api="blas"):
        for _ in range(rounds):
            for (solver, mode), out in times.items():
                est = LogisticRegression(solver=solver, max_iter=epochs, tol=0,
                                         random_state=0)
                if modes[mode] == "callback":
                    if not hasattr(est, "set_callbacks"):
                        continue
                    est.set_callbacks(_NoOp())
                else:
                    est.set_params(**modes[mode])
                with contextlib.redirect_stdout(sink):
                    t0 = time.perf_counter()
                    est.fit(X, y)
                    out.append((time.perf_counter() - t0) / epochs)
    print("\nPer-epoch time, 100,000 x 50 float64, 40 epochs, one thread "
          f"(median of {rounds} rounds)")
    print("| solver | listening | ms / epoch | ratio to nothing listening |")
    print("|---|---|---:|---:|")
    for (solver, mode), t in times.items():
        if not t:
            continue
        base = np.median(times[(solver, "nothing listens")])
        print(f"| {solver} | {mode} | {np.median(t) * 1e3:.3f} | "
              f"{np.median(t) / base:.3f} |")


LONG = {
    "gd": ("X = rng.standard_normal((100_000, 50)); y = (X[:, 0] > 0).astype(int)",
           "LogisticRegression(solver='gd', tol=0, max_iter=10**6, verbose=1)"),
    "sgd": ("X = rng.standard_normal((100_000, 50)); y = (X[:, 0] > 0).astype(int)",
            "LogisticRegression(solver='sgd', tol=0, max_iter=10**6, verbose=1)"),
    # separable, no penalty: lbfgs and newton keep going until interrupted
    "lbfgs (multinomial, 10 classes)":
        (("X = rng.standard_normal((60_000, 40)); "
          "y = np.argmax(X @ rng.standard_normal((40, 10)), axis=1)"),
         "LogisticRegression(C=np.inf, tol=0, max_iter=10**6, verbose=1)"),
    "newton (400 features)":
        ("X = rng.standard_normal((40_000, 400)); y = (X[:, 0] > 0).astype(int)",
         "LogisticRegression(solver='newton', C=np.inf, tol=0, max_iter=10**6, verbose=1)"),
    "gd, sparse 100,000 x 200 (5% nonzero)":
        (("import scipy.sparse as sp; X = sp.random(100_000, 200, density=0.05, "
          "format='csr', random_state=0); y = (rng.random(100_000) < .3).astype(int)"),
         "LogisticRegression(solver='gd', tol=0, max_iter=10**6, verbose=1)"),
}

CHILD = """
import signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
import numpy as np
from threadpoolctl import threadpool_limits
from clogreg import LogisticRegression
rng = np.random.default_rng(0)
{data}
m = {est}
with threadpool_limits(limits=1, user_api="blas"):
    try:
        m.fit(X, y)
    except KeyboardInterrupt:
        print("stopped", flush=True)
"""


def interruption_latency():
    print("\nCtrl-C: SIGINT once the first iteration line arrives, one thread")
    print("| fit | one iteration (s) | signal to KeyboardInterrupt (s) |")
    print("|---|---:|---:|")
    for name, (data, est) in LONG.items():
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CHILD).format(
            data=data, est=est)], stdout=subprocess.PIPE, text=True)
        first = child.stdout.readline()
        t1 = time.perf_counter()
        second = child.stdout.readline()   # one iteration's time, from the parent
        per_iter = time.perf_counter() - t1
        assert first.startswith("Epoch") and second.startswith("Epoch"), (first, second)
        sent = time.perf_counter()
        child.send_signal(signal.SIGINT)
        while True:  # the lines of the iterations that ended meanwhile, then "stopped"
            line = child.stdout.readline()
            if not line or line.startswith("stopped"):
                break
        latency = time.perf_counter() - sent
        child.communicate(timeout=120)
        assert line.startswith("stopped"), f"{name}: the fit was not interrupted"
        print(f"| {name} | {per_iter:.3f} | {latency:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(machine()))
    reporting_cost(args.rounds)
    interruption_latency()


if __name__ == "__main__":
    main()
