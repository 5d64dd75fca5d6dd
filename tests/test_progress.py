"""Live progress and interruption: ``verbose`` lines as iterations end (also from
inside the kernel's epoch loops), scikit-learn's callback API, and Ctrl-C (SIGINT)
stopping a long fit within about one pass and leaving the estimator unfitted."""
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.sparse as sp

from clogreg import LogisticRegression, _kernel

LINE = re.compile(r"^Epoch: (\d+) \| Accuracy: (\d+\.\d{4}) \| Cost: (-?\d+\.\d{4})$")


def _problem(n=600, d=6, n_classes=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    W = rng.standard_normal((d, n_classes))
    y = np.argmax(X @ W + rng.gumbel(size=(n, n_classes)), axis=1)
    return X, y


SOLVER_CASES = [  # (solver, sparse, n_classes)
    ("gd", False, 2), ("gd", False, 3), ("sgd", False, 2), ("sgd", False, 3),
    ("lbfgs", False, 2), ("lbfgs", False, 3), ("newton", False, 2),
    ("gd", True, 2), ("sgd", True, 2), ("lbfgs", True, 3), ("newton", True, 2),
]


@pytest.mark.parametrize("solver, sparse, n_classes", SOLVER_CASES)
def test_verbose_prints_one_line_per_history_entry(capsys, solver, sparse, n_classes):
    X, y = _problem(n_classes=n_classes)
    X = sp.csr_matrix(X) if sparse else X
    # tol=0: gd and sgd run their 30 epochs (no warning); the others converge
    m = LogisticRegression(solver=solver, max_iter=30, tol=0 if "gd" in solver else 1e-4,
                           verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert lines and all(parsed), lines[:3]
    assert [int(p.group(1)) for p in parsed] == list(range(len(m.history_["loss"])))
    for p, loss, acc in zip(parsed, m.history_["loss"], m.history_["accuracy"]):
        assert p.group(3) == f"{loss:.4f}" and p.group(2) == f"{acc:.4f}"


def test_partial_fit_prints_its_epoch_numbered_after_the_previous_ones(capsys):
    X, y = _problem()
    m = LogisticRegression(verbose=1, random_state=0)
    for _ in range(3):
        m.partial_fit(X, y, classes=[0, 1])
    lines = capsys.readouterr().out.splitlines()
    assert [int(LINE.match(line).group(1)) for line in lines] == [0, 1, 2]
    assert lines[-1].endswith(f"Cost: {m.history_['loss'][-1]:.4f}")


def test_no_output_without_verbose(capsys):
    X, y = _problem()
    LogisticRegression(solver="gd", max_iter=5, tol=0).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("name", ["gd_fit", "sgd_fit"])
def test_kernel_on_epoch_reports_each_epoch_and_an_exception_stops_the_loop(name):
    X, y = _problem(n=300, d=4)
    y = y.astype(np.float64)
    epochs = 8

    def run(on_epoch, hist):
        w, b = np.zeros(4), np.zeros(1)
        if name == "gd_fit":
            out = _kernel.gd_fit(X, y, np.empty(0), w, b, hist, 1e-3, 0.0, 0.0, True,
                                 epochs, 0.0, 300.0, 1, 1.0, on_epoch)
        else:
            out = _kernel.sgd_fit(X, y, np.empty(0), w, b, hist, np.array([7], np.uint64),
                                  np.zeros(1), 0.1, 0.5, 0.0, 0.0, True, 32, epochs, 0.0,
                                  5, 1.0, on_epoch)
        return out, w

    hist, seen = np.full((3, epochs), np.nan), []
    # when epoch k is reported, its history column is written and the next is not
    out, w = run(lambda k: seen.append(
        (k, bool(np.isfinite(hist[:, k]).all()),
         bool(k + 1 == epochs or np.isnan(hist[:, k + 1]).all()))), hist)
    assert seen == [(k, True, True) for k in range(epochs)] and out[0] == epochs
    plain_hist = np.empty((3, epochs))
    plain = run(None, plain_hist)
    # reporting changes nothing
    assert plain[0] == out and plain[1].tobytes() == w.tobytes()
    assert plain_hist.tobytes() == hist.tobytes()

    class Stop(Exception):
        pass

    def stop_at_3(k):
        if k == 3:
            raise Stop(k)

    with pytest.raises(Stop):
        run(stop_at_3, np.empty((3, epochs)))


def _sigint_script(body):
    """A child that fits once (quickly), then starts a long refit with verbose=1 and
    reports how the refit ended."""
    return textwrap.dedent("""
        import signal, sys, time
        # Python's own Ctrl-C handler, even where this child was started with SIGINT
        # ignored (a CI job in the background), as an interactive session has it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import numpy as np
        import scipy.sparse as sp
        from clogreg import LogisticRegression
        rng = np.random.default_rng(0)
        VERBOSE = 1
    """) + textwrap.dedent(body) + textwrap.dedent("""
        m.set_params(max_iter=5, verbose=0).fit(X, y)
        m.set_params(max_iter=LONG, verbose=VERBOSE)
        print("fitting", flush=True)
        try:
            m.fit(X, y)
            print("finished", flush=True)
        except KeyboardInterrupt:
            print(f"interrupted fitted={hasattr(m, 'coef_')}", flush=True)
    """)


LONG_FITS = {
    # each would run well over 30 s (max_iter is never reached in the test)
    "gd": """
        X = rng.standard_normal((100_000, 50)); y = (X[:, 0] > 0).astype(int)
        m = LogisticRegression(solver="gd", tol=0); LONG = 10**6
    """,
    # nobody listens: the kernel checks for signals only every 2**24 values read
    "gd-quiet": """
        X = rng.standard_normal((100_000, 50)); y = (X[:, 0] > 0).astype(int)
        m = LogisticRegression(solver="gd", tol=0); LONG = 10**6; VERBOSE = 0
    """,
    "sgd": """
        X = rng.standard_normal((100_000, 50)); y = (X[:, 0] > 0).astype(int)
        m = LogisticRegression(solver="sgd", tol=0, random_state=0); LONG = 10**6
    """,
    "gd-sparse": """
        X = sp.random(100_000, 200, density=0.05, format="csr", random_state=0)
        y = (rng.random(100_000) < 0.3).astype(int)
        m = LogisticRegression(solver="gd", tol=0); LONG = 10**6
    """,
    # separable data without a penalty: the loss has no minimum, so lbfgs and newton
    # keep making progress (no relative-decrease stop) until interrupted
    "lbfgs-multinomial": """
        X = rng.standard_normal((60_000, 40))
        y = np.argmax(X @ rng.standard_normal((40, 10)), axis=1)
        m = LogisticRegression(solver="lbfgs", C=np.inf, tol=0); LONG = 10**6
    """,
    "newton": """
        X = rng.standard_normal((40_000, 400)); y = (X[:, 0] > 0).astype(int)
        m = LogisticRegression(solver="newton", C=np.inf, tol=0); LONG = 10**6
    """,
}


@pytest.mark.parametrize("case", sorted(LONG_FITS))
def test_ctrl_c_stops_a_long_fit_and_leaves_it_unfitted(case):
    """SIGINT once the long refit has printed its first iterations (so it is running,
    and its lines arrive live; the quiet one: a second after it started): the refit
    raises KeyboardInterrupt within about one pass and the estimator is left
    unfitted, as after any failed fit."""
    # the context manager closes the pipes and reaps the child, whatever happens
    with subprocess.Popen([sys.executable, "-c", _sigint_script(LONG_FITS[case])],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout.readline() == "fitting\n"
            if "quiet" in case:
                time.sleep(1.0)
            else:
                for _ in range(2):
                    line = child.stdout.readline()
                    assert LINE.match(line.strip()), line
            assert child.poll() is None  # the lines came while the fit was running
            sent = time.perf_counter()
            child.send_signal(signal.SIGINT)
            rest, err = child.communicate(timeout=60)
            latency = time.perf_counter() - sent
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 0, err[-2000:]
    assert rest.splitlines()[-1] == "interrupted fitted=False", (rest[-500:], err[-2000:])
    # about one pass: every pass here takes well under a second, whatever the load
    assert latency < 10.0, latency


class _Recorder:
    """A scikit-learn FitCallback that records the hooks it hears."""

    def __init__(self):
        self.events = []

    def setup(self, estimator, context):
        self.events.append("setup")

    def teardown(self, estimator, context):
        self.events.append("teardown")

    def on_fit_task_begin(self, estimator, context, *, X=None):
        self.events.append(("begin", context.task_name, X is not None))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, fitted_estimator is not None))


@pytest.mark.parametrize("solver", ["gd", "sgd", "lbfgs", "newton"])
def test_sklearn_callbacks_hear_one_task_per_iteration(solver):
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9: no callback API")
    X, y = _problem()
    rec = _Recorder()
    m = LogisticRegression(solver=solver, max_iter=25, tol=0 if "gd" in solver else 1e-4,
                           random_state=0)
    m.set_callbacks(rec).fit(X, y)
    n = len(m.history_["loss"])
    iterations = [("begin", "iteration", True), ("end", "iteration", False)] * n
    assert rec.events == ["setup", ("begin", "fit", True), *iterations,
                          ("end", "fit", True), "teardown"]


def test_sklearn_callbacks_are_torn_down_when_the_fit_fails():
    pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9: no callback API")
    X, y = _problem()
    rec = _Recorder()
    # a step of 1e300 on X ~ 1e150: z = X w overflows
    m = LogisticRegression(solver="gd", learning_rate=1e300, max_iter=50, tol=0)
    with pytest.raises(FloatingPointError, match="became non-finite at iteration"):
        m.set_callbacks(rec).fit(X * 1e150, y)
    assert rec.events[0] == "setup" and rec.events[-1] == "teardown"
    assert ("end", "fit", True) not in rec.events
    assert not hasattr(m, "coef_") and not hasattr(m, "_callback_fit_ctx")


def test_sklearn_progress_bar_runs_to_the_end(capsys):
    callback = pytest.importorskip("sklearn.callback", reason="scikit-learn < 1.9")
    pytest.importorskip("rich", reason="sklearn's ProgressBar needs rich")
    X, y = _problem()
    ref = LogisticRegression(solver="gd", max_iter=40, tol=0).fit(X, y)
    m = LogisticRegression(solver="gd", max_iter=40, tol=0)
    m.set_callbacks(callback.ProgressBar()).fit(X, y)
    assert m.coef_.tobytes() == ref.coef_.tobytes()
    assert "100%" in capsys.readouterr().out
