"""Two installs of clogreg side by side: is a change slower? Public API only.

    python -m benchmarks.compare_installs OLD_PYTHON NEW_PYTHON [--rounds 5] [--quick] [--only TEXT]

Each Python must import the clogreg to compare (e.g. a virtual environment with the
commit before a refactor installed, and one with the commit after). The workloads
run in fresh subprocesses, OLD and NEW taking turns round after round, so that a
change in the machine's load hits both alike; the table gives the median of each
workload's per-round times and NEW / OLD. BLAS runs on one thread; OpenBLAS's core
type is whatever the environment gives both.
"""
import argparse
import json
import subprocess
import sys

import numpy as np

# Each workload: (name, setup, statement, repeats per round). The statement's time is
# the median of its repeats in that round.
WORKLOADS = [
    ("tutorial fit (80 x 2, gd, 20 epochs)",
     "from clogreg import load_tutorial_data\n"
     "X, _, y, _ = load_tutorial_data()\n"
     "m = LogisticRegression(C=np.inf, solver='gd', learning_rate=0.1, max_iter=20, tol=0)",
     "m.fit(X, y)", 300),
    ("gd 10 epochs, 1,000,000 x 100 float64",
     "X, y = problem(1_000_000, 100)\n"
     "m = LogisticRegression(solver='gd', learning_rate=1e-7, max_iter=10, tol=0)",
     "m.fit(X, y)", 3),
    ("gd 10 epochs, 1,000,000 x 100 float32",
     "X, y = problem(1_000_000, 100, np.float32)\n"
     "m = LogisticRegression(solver='gd', learning_rate=1e-7, max_iter=10, tol=0)",
     "m.fit(X, y)", 3),
    ("gd 10 epochs, 1,000,000 x 10 float64",
     "X, y = problem(1_000_000, 10)\n"
     "m = LogisticRegression(solver='gd', learning_rate=1e-7, max_iter=10, tol=0)",
     "m.fit(X, y)", 5),
    ("lbfgs fit, 300,000 x 100 (tol 1e-6)",
     "X, y = problem(300_000, 100)\nm = LogisticRegression(tol=1e-6)", "m.fit(X, y)", 3),
    ("newton fit, 300,000 x 30 (tol 1e-8)",
     "X, y = problem(300_000, 30)\nm = LogisticRegression(solver='newton', tol=1e-8)",
     "m.fit(X, y)", 3),
    ("newton L1 fit, breast cancer",
     "from sklearn.datasets import load_breast_cancer\n"
     "from sklearn.preprocessing import scale\n"
     "X, y = load_breast_cancer(return_X_y=True); X = scale(X)\n"
     "m = LogisticRegression(solver='newton', C=0.5, l1_ratio=1.0, tol=1e-8)",
     "m.fit(X, y)", 30),
    ("lbfgs multinomial, 100,000 x 50, 10 classes",
     "X, y = problem(100_000, 50, classes=10)\nm = LogisticRegression(tol=1e-5)",
     "m.fit(X, y)", 3),
    ("gd 2,000 epochs, 1,000 x 10 (per-epoch overhead)",
     "X, y = problem(1_000, 10)\n"
     "m = LogisticRegression(solver='gd', max_iter=2000, tol=0)",
     "m.fit(X, y)", 20),
    ("sgd 200 epochs, 2,000 x 5 (per-epoch overhead)",
     "X, y = problem(2_000, 5)\n"
     "m = LogisticRegression(solver='sgd', max_iter=200, tol=0, random_state=0)",
     "m.fit(X, y)", 20),
    ("sgd 5 epochs, 200,000 x 20",
     "X, y = problem(200_000, 20)\n"
     "m = LogisticRegression(solver='sgd', max_iter=5, tol=0, random_state=0)",
     "m.fit(X, y)", 3),
]
QUICK = {"tutorial fit (80 x 2, gd, 20 epochs)", "newton L1 fit, breast cancer"}

RUNNER = r'''
import json, sys, time, warnings
import numpy as np
from threadpoolctl import threadpool_limits
from clogreg import LogisticRegression
warnings.simplefilter("ignore")

def problem(rows, cols, dtype=np.float64, classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, cols)).astype(dtype)
    z = X @ (rng.standard_normal((cols, max(classes, 2) - 1)) / np.sqrt(cols))
    if classes == 2:
        y = (z[:, 0] + rng.standard_normal(rows) > 0).astype(int)
    else:
        y = np.argmax(np.column_stack([z, np.zeros(rows)]) + rng.gumbel(size=(rows, classes)), 1)
    return X, y

setup, stmt, repeat = json.loads(sys.argv[1])
with threadpool_limits(limits=1, user_api="blas"):
    exec(setup)
    exec(stmt)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        exec(stmt)
        times.append(time.perf_counter() - t0)
print(json.dumps(float(np.median(times))))
'''


def run(python, workload):
    _, setup, stmt, repeat = workload
    out = subprocess.run([python, "-c", RUNNER, json.dumps([setup, stmt, repeat])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="two small workloads only")
    parser.add_argument("--only", default="", help="workloads whose name contains this")
    args = parser.parse_args()
    workloads = [w for w in WORKLOADS if (not args.quick or w[0] in QUICK)
                 and args.only in w[0]]
    times = {w[0]: {"old": [], "new": []} for w in workloads}
    for r in range(args.rounds):
        for w in workloads:
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for side in order:
                times[w[0]][side].append(run(getattr(args, side), w))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print("\n| workload | old ms | new ms | new / old |\n|---|---:|---:|---:|")
    for name, t in times.items():
        old, new = np.median(t["old"]), np.median(t["new"])
        print(f"| {name} | {old * 1e3:.3f} | {new * 1e3:.3f} | {new / old:.3f} |")


if __name__ == "__main__":
    main()
