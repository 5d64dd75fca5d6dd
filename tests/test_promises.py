"""README promises that had no test of their own (issue 18), one test each.

References are NumPy re-implementations (tests/reference.py, which imports no clogreg
code), scikit-learn's utilities, closed forms, or the data's construction.
"""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from reference import gradient_descent_multi, objective, sgd_epochs
from scipy.special import expit
from sklearn.datasets import load_breast_cancer
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

import clogreg
from clogreg import LogisticRegression, _rows
from clogreg._solvers import check_solver


def blobs(n=300, d=4, k=2, seed=0, dtype=np.float64):
    """A problem with an optimum (overlapping classes), unit scale."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    scores = X @ rng.standard_normal((d, k)) + rng.gumbel(size=(n, k)) * 1.5
    y = np.argmax(scores, axis=1)
    y[:k] = np.arange(k)
    return X.astype(dtype), y


def seed_of(random_state):
    """The generator's seed the estimator documents: drawn from random_state."""
    return int(check_random_state(random_state).randint(1, 2**62)) | 1


def assert_same_fit(a, b):
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(a.n_iter_, b.n_iter_)
    for key in ("loss", "accuracy", "grad_norm"):
        np.testing.assert_array_equal(a.history_[key], b.history_[key])


# ------------------------------------------------------------------ X's dtypes
def test_float16_X_is_trained_in_float64():
    X, y = blobs()
    X16 = X.astype(np.float16)
    clf = LogisticRegression(solver="gd", max_iter=5, tol=0).fit(X16, y)
    ref = LogisticRegression(solver="gd", max_iter=5, tol=0).fit(
        X16.astype(np.float64), y)
    assert clf.coef_.dtype == np.float64
    assert_same_fit(clf, ref)


def test_structured_X_is_refused():
    X = np.zeros(10, dtype=[("a", "f8"), ("b", "f8")])
    with pytest.raises(TypeError, match="which is not a number type"):
        LogisticRegression().fit(X.reshape(5, 2), [0, 1, 0, 1, 0])


@pytest.mark.parametrize("make", [
    lambda X: X.astype("S8"),
    lambda X: np.array([[b"1.5"] * X.shape[1]] * X.shape[0], dtype=object),
])
def test_bytes_X_is_refused_as_strings(make):
    X, y = blobs(n=10)
    with pytest.raises(ValueError, match="X holds strings"):
        LogisticRegression().fit(make(X), y)


@pytest.mark.parametrize("labels", [[None, "a"], [None, 1], [None, "a", 2]])
def test_labels_with_none_are_refused(labels):
    X, _ = blobs(n=12)
    y = np.array((labels * 12)[:12], dtype=object)
    with pytest.raises(ValueError, match="y mixes label types"):
        LogisticRegression().fit(X, y)


def test_integers_beyond_2_53_are_rounded_to_float64():
    # 2**53 + 1 is not a float64: converted to float64 it becomes 2**53, so the two
    # integer matrices below are the same float64 data and must train identically
    rng = np.random.default_rng(1)
    big = np.int64(2**53)
    X = rng.integers(0, 4, (40, 2)).astype(np.int64) + big
    y = (X[:, 0] - big + rng.integers(0, 2, 40) > 2).astype(int)
    y[:2] = [0, 1]
    X_plus = X.copy()
    X_plus[:, 0] = np.where(X[:, 0] == big, big + 1, X[:, 0])  # 2**53 + 1 -> 2**53
    assert not np.array_equal(X_plus, X)
    np.testing.assert_array_equal(X_plus.astype(np.float64), X.astype(np.float64))
    params = {"solver": "gd", "max_iter": 3, "tol": 0}
    a = LogisticRegression(**params).fit(X, y)
    b = LogisticRegression(**params).fit(X_plus, y)
    assert a.coef_.dtype == np.float64
    assert_same_fit(a, b)


# ---------------------------------------------------------------- predict time
@pytest.mark.parametrize("method", ["predict", "predict_proba", "predict_log_proba",
                                    "decision_function", "score"])
@pytest.mark.parametrize("bad, error, message", [
    (np.inf, ValueError, "Input X contains infinity"),
    (-np.inf, ValueError, "Input X contains infinity"),
    (np.nan, ValueError, "Input X contains NaN"),
    ("1.5", ValueError, "X holds strings"),
    (b"1.5", ValueError, "X holds strings"),
    ({}, TypeError, "not a number"),
    (None, ValueError, "Input X contains NaN"),
])
def test_predict_refuses_non_finite_and_non_numbers(method, bad, error, message):
    X, y = blobs(n=20)
    clf = LogisticRegression().fit(X, y)
    Xb = X.astype(object if not isinstance(bad, float) else np.float64)
    Xb[3, 1] = bad
    args = (Xb, y) if method == "score" else (Xb,)
    with pytest.raises(error, match=message):
        getattr(clf, method)(*args)


# --------------------------------------------------------------- no copy of X
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["gd", "sgd", "lbfgs", "newton"])
def test_memory_mapped_and_read_only_X_are_used_without_a_copy(tmp_path, monkeypatch,
                                                               dtype, solver):
    X, y = blobs(n=500, d=3, dtype=dtype)
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    read_only = X.copy()
    read_only.setflags(write=False)
    seen = []
    init = _rows.DenseRows.__init__

    def capture(self, X, *args, **kwargs):
        seen.append(X)
        init(self, X, *args, **kwargs)

    monkeypatch.setattr(_rows.DenseRows, "__init__", capture)
    for source in (mapped, read_only):
        seen.clear()
        clf = LogisticRegression(solver=solver, max_iter=3, tol=0 if solver in ("gd", "sgd")
                                 else 1e-2)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "solver=.* did not reach", ConvergenceWarning)
            clf.fit(source, y)
        assert seen and all(np.shares_memory(rows_X, source) for rows_X in seen)
        assert clf.coef_.dtype == dtype


# ------------------------------------------------------------------------- sgd
def test_sgd_tol_stops_after_5_epochs_without_improvement():
    X, y = blobs(n=400, d=3)
    clf = LogisticRegression(solver="sgd", tol=1e-3, max_iter=500, random_state=0,
                             learning_rate=0.5, C=10.0).fit(X, y)
    # the rule, applied to the recorded history: stop at the first epoch that ends
    # 5 epochs in a row whose mean loss did not improve on the best by tol
    mean = clf.history_["loss"] / len(y)
    best, stale, stop = np.inf, 0, None
    for epoch, value in enumerate(mean):
        stale = stale + 1 if value > best - 1e-3 else 0
        best = min(best, value)
        if stale >= 5:
            stop = epoch + 1
            break
    assert stop is not None and stop < 500
    assert clf.n_iter_[0] == stop and clf.stop_reason_ == "converged"
    # and the whole run follows the algorithm written out in NumPy
    W, b, losses, _, _ = sgd_epochs(X, y, 1, np.zeros((1, 3)), np.zeros(1),
                                    seed=seed_of(0), epochs=500, eta0=0.5,
                                    alpha_l2=0.1, tol=1e-3)
    assert len(losses) == stop
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10)


def test_sgd_without_improvement_rule_hits_max_iter_and_warns():
    X, y = blobs(n=100, d=3)
    with pytest.warns(ConvergenceWarning, match="solver='sgd' did not reach tol"):
        clf = LogisticRegression(solver="sgd", tol=1e-12, max_iter=3, learning_rate=1e-4,
                                 random_state=0).fit(X, y)
    assert clf.stop_reason_ == "max_iter" and clf.n_iter_[0] == 3


@pytest.mark.parametrize("schedule, power_t", [("invscaling", 0.5), ("constant", 0.0)])
def test_sgd_step_schedule(schedule, power_t):
    X, y = blobs(n=150, d=3, k=3)
    clf = LogisticRegression(solver="sgd", lr_schedule=schedule, learning_rate=0.3,
                             batch_size=32, max_iter=6, tol=0, random_state=5).fit(X, y)
    W, b, losses, _, _ = sgd_epochs(X, y, 3, np.zeros((3, 3)), np.zeros(3),
                                    seed=seed_of(5), epochs=6, eta0=0.3, power_t=power_t,
                                    batch_size=32, alpha_l2=1.0)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(clf.history_["loss"], losses, rtol=1e-12)
    other = sgd_epochs(X, y, 3, np.zeros((3, 3)), np.zeros(3), seed=seed_of(5), epochs=6,
                       eta0=0.3, power_t=0.5 - power_t, batch_size=32, alpha_l2=1.0)[0]
    assert np.abs(other - W).max() > 1e-3  # the schedule matters: the test can fail


@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_sgd_auto_learning_rate_is_one_over_the_largest_row_lipschitz_constant(k,
                                                                               weighted):
    X, y = blobs(n=200, d=5, k=k)
    sw = np.random.default_rng(2).uniform(0.1, 3.0, len(y)) if weighted else None
    s = np.ones(len(y)) if sw is None else sw
    c = 0.25 if k == 2 else 0.5  # the largest curvature of the log-loss (softmax: 1/2)
    C = 2.0
    # without an intercept (whose own, longer step tests/test_objective.py and
    # tests/test_reliability.py check): no "+ 1" for the intercept's column
    eta0 = 1.0 / (c * np.max(s * np.einsum("ij,ij->i", X, X)) + 1 / C / len(y))
    params = {"solver": "sgd", "C": C, "max_iter": 2, "tol": 0, "random_state": 1,
              "fit_intercept": False}
    auto = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    given = LogisticRegression(learning_rate=eta0, **params).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(auto.coef_, given.coef_, rtol=1e-12)
    slower = LogisticRegression(learning_rate=eta0 / 2, **params).fit(X, y, sample_weight=sw)
    assert np.abs(slower.coef_ - auto.coef_).max() > 1e-6


@pytest.mark.parametrize("d, k", [(1001, 2), (1001, 3), (30, 2), (30, 3)])
def test_gd_auto_learning_rate(d, k):
    # up to 1,000 features: 1 / (c * top eigenvalue of [X, 1]' S [X, 1] + alpha);
    # above: the Frobenius bound, 1 / (c * sum_i s_i (||x_i||^2 + 1) + alpha)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, d)) + 0.3
    y = np.arange(60) % k
    sw = rng.uniform(0.5, 2.0, 60)
    A = np.column_stack([X, np.ones(60)])
    c = 0.25 if k == 2 else 0.5
    if d > 1000:
        top = np.sum(sw * np.einsum("ij,ij->i", A, A))
    else:
        top = np.linalg.eigvalsh(A.T @ (A * sw[:, None]))[-1]
    lr = 1.0 / (c * top + 1.0)
    # the intercepts are not penalised: their step is the longer of lr and
    # 0.5 / (c * sum of the weights), a bound on their own curvature
    lr_b = max(lr, 0.5 / (c * sw.sum()))
    params = {"solver": "gd", "max_iter": 3, "tol": 0, "C": 1.0}
    auto = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    W, b, losses = gradient_descent_multi(X, y, 1 if k == 2 else k, lr=lr, epochs=3,
                                          sample_weight=sw, alpha_l2=1.0, lr_b=lr_b)
    np.testing.assert_allclose(auto.coef_, W, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(auto.intercept_, b, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(auto.history_["loss"], losses, rtol=1e-12)


# ------------------------------------------------------------ stop reasons
def test_lbfgs_stops_on_a_relative_objective_change_below_64_eps():
    X, y = blobs(n=400, d=6)
    # tol=0: the gradient test never passes, only SciPy's ftol = 64 eps can stop it
    clf = LogisticRegression(solver="lbfgs", tol=0, max_iter=1000, C=1.0).fit(X, y)
    assert clf.stop_reason_ == "converged" and clf.n_iter_[0] < 1000
    f = clf.history_["loss"] / len(y)  # SciPy sees the mean objective
    last = (f[-2] - f[-1]) / max(abs(f[-2]), abs(f[-1]), 1.0)
    assert last <= 64 * np.finfo(float).eps
    before = (f[:-2] - f[1:-1]) / np.maximum(np.maximum(abs(f[:-2]), abs(f[1:-1])), 1.0)
    assert np.all(before > 64 * np.finfo(float).eps)  # no earlier stop was due


@pytest.mark.parametrize("solver", ["gd", "sgd", "lbfgs", "newton"])
def test_stop_reason_max_iter_with_the_warning(solver):
    X, y = blobs()
    with pytest.warns(ConvergenceWarning, match=f"solver='{solver}' did not reach "
                                                f"tol=1e-12 in max_iter=2"):
        clf = LogisticRegression(solver=solver, max_iter=2, tol=1e-12,
                                 random_state=0).fit(X, y)
    assert clf.stop_reason_ == "max_iter" and clf.n_iter_[0] == 2


def _elastic_net_optimum(X, y, a2, a1):
    """min over (w, b) of sum logloss + a2/2 ||w||^2 + a1 ||w||_1, in float64, with
    SciPy's L-BFGS-B on the smooth split w = u - v, u, v >= 0 (independent of
    clogreg). Returns the minimum."""
    from scipy.optimize import minimize

    X = X.astype(np.float64)
    d = X.shape[1]

    def f(t):
        u, v, b = t[:d], t[d:2 * d], t[-1]
        w = u - v
        z = X @ w + b
        r = expit(z) - y
        g = X.T @ r + a2 * w
        value = np.sum(np.logaddexp(0, z) - y * z) + a2 / 2 * w @ w + a1 * np.sum(u + v)
        return value, np.concatenate([g + a1, -g + a1, [r.sum()]])

    res = minimize(f, np.zeros(2 * d + 1), jac=True, method="L-BFGS-B",
                   bounds=[(0, None)] * (2 * d) + [(None, None)],
                   options={"ftol": 0, "gtol": 1e-12, "maxiter": 10_000})
    return res.fun


def test_stop_reason_line_search_at_machine_precision():
    # tol=0 asks for more than floating point can give. float32 Newton with an L1
    # part ends (on some draws) when its line search finds no decrease at all:
    # "at the optimum to machine precision". Whichever seeds end so, the objective
    # there must be the optimum's up to float32 rounding of the loss (the kernel
    # sums per-row losses computed in float32: ~1e-7 relative each; 1e-6 allows it)
    reasons = []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        X = rng.standard_normal((200, 3)).astype(np.float32)
        y = (X[:, 0] + 2 * rng.standard_normal(200) > 0).astype(int)
        clf = LogisticRegression(solver="newton", tol=0, max_iter=60, C=1.0,
                                 l1_ratio=0.5).fit(X, y)
        reasons.append(clf.stop_reason_)
        if clf.stop_reason_ != "line_search":
            continue
        assert clf.n_iter_[0] < 60
        best = _elastic_net_optimum(X, y, 0.5, 0.5)
        ours = objective(X, y, clf.coef_[0], clf.intercept_[0], alpha_l2=0.5,
                         alpha_l1=0.5)
        assert ours <= best * (1 + 1e-6), (ours, best)
    assert "line_search" in reasons, reasons
    assert set(reasons) <= {"line_search", "max_iter"}  # tol=0: gradient never <= 0


def test_auto_picks_newton_for_binary_l1_up_to_2000_dense_features_no_more_than_rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 301))
    y = (X[:, 0] + rng.standard_normal(300) > 0).astype(int)
    params = {"l1_ratio": 0.5, "max_iter": 20, "tol": 0}
    assert LogisticRegression(**params).fit(X, y).solver_ == "gd"          # d > n > 200
    assert LogisticRegression(**params).fit(X[:, :300], y).solver_ == "newton"
    assert LogisticRegression(**params).fit(X[:100, :200], y[:100]).solver_ == "newton"
    assert LogisticRegression(l1_ratio=0.0).fit(X, y).solver_ == "lbfgs"
    # the 2,000-feature limit, from the policy itself (a fit that wide is slow here)
    shape = {"n_out": 1, "n_classes": 2, "n_samples": 10_000, "C": 1.0, "l1_ratio": 1.0,
             "learning_rate": "auto"}
    assert check_solver("auto", n_features=2000, **shape) == "newton"
    assert check_solver("auto", n_features=2001, **shape) == "gd"
    # sparse X: the L1 Newton step forms no Hessian (coordinate descent), any width
    for d in (2001, 10**6):
        assert check_solver("auto", n_features=d, sparse=True, **shape) == "newton"
        assert check_solver("newton", n_features=d, sparse=True, **shape) == "newton"
    assert check_solver("auto", n_features=10**6, sparse=True,
                        **{**shape, "n_out": 3, "n_classes": 3}) == "gd"


def test_auto_picks_newton_for_small_binary_l2_problems_on_dense_x():
    shape = {"n_out": 1, "n_classes": 2, "C": 1.0, "l1_ratio": 0.0,
             "learning_rate": "auto"}
    assert check_solver("auto", n_samples=1_000, n_features=30, **shape) == "newton"
    assert check_solver("auto", n_samples=1_001, n_features=30, **shape) == "lbfgs"
    assert check_solver("auto", n_samples=100, n_features=201, **shape) == "lbfgs"
    assert check_solver("auto", n_samples=10**6, n_features=30, sparse=True,
                        **shape) == "newton"  # sparse: Newton-CG at any size
    many = {**shape, "n_out": 3, "n_classes": 3}
    assert check_solver("auto", n_samples=100, n_features=3, **many) == "lbfgs"
    X, y = load_breast_cancer(return_X_y=True)  # 569 x 30: 17,070 values
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    assert LogisticRegression().fit(X, y).solver_ == "newton"
    assert LogisticRegression().fit(np.tile(X, (2, 1)), np.tile(y, 2)).solver_ == "lbfgs"


# --------------------------------------------------------------- n_jobs
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver, k", [("gd", 2), ("gd", 3), ("sgd", 2), ("sgd", 3),
                                       ("lbfgs", 3), ("newton", 2)])
def test_n_jobs_results_are_bit_identical(dtype, solver, k):
    # 9,000 rows: three 4,096-row chunks, the last one partial
    X, y = blobs(n=9_000, d=12, k=k, dtype=dtype)
    sw = np.random.default_rng(0).uniform(0, 2, len(y))
    params = {"solver": solver, "max_iter": 5, "tol": 0 if solver in ("gd", "sgd") else 1e-12,
                  "random_state": 0, "batch_size": 5_000}
    fits = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "solver=.* did not reach", ConvergenceWarning)
        for n_jobs in (None, 1, 2, 3, -1, 2**31 - 1):
            fits.append(LogisticRegression(n_jobs=n_jobs, **params).fit(X, y, sw))
    for other in fits[1:]:
        assert_same_fit(fits[0], other)


def _kernel_modules():
    names = ["clogreg._kernel"]
    if clogreg._dispatch.avx2_module() is not None:
        names.append("clogreg._kernel_avx2")
    return [sys.modules[name] for name in names if name in sys.modules] or \
        [clogreg._dispatch.kernel]


openmp_promised = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.environ.get("CLOGREG_OPENMP") == "0",
    reason="OpenMP is promised for Linux builds (CLOGREG_OPENMP=0: a serial build)")


@openmp_promised
def test_the_linux_kernel_is_built_with_openmp():
    for module in _kernel_modules():
        with open(module.__file__, "rb") as f:
            binary = f.read()
        # gcc's OpenMP runtime (libgomp) or LLVM's (libomp): a parallel region calls it
        assert b"GOMP_parallel" in binary or b"__kmpc_fork_call" in binary, module.__file__


@openmp_promised
@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="one CPU: n_jobs is capped at the CPUs available")
def test_a_fit_with_n_jobs_3_starts_threads():
    # in a fresh interpreter: the OpenMP runtime keeps its threads after a parallel
    # region, so the process's thread count shows that the pass ran on several
    code = (
        "import os, numpy as np\n"
        "from clogreg import LogisticRegression\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.standard_normal((20_000, 5)); y = X[:, 0] > 0\n"
        "LogisticRegression(solver='gd', max_iter=2, tol=0, n_jobs=1).fit(X, y)\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "LogisticRegression(solver='gd', max_iter=2, tol=0, n_jobs=3).fit(X, y)\n"
        "print(before, len(os.listdir('/proc/self/task')))\n")
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True).stdout.split()
    before, after = int(out[0]), int(out[1])
    assert after >= before + 1, (before, after)


# -------------------------------------------------------------- partial_fit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_partial_fit_over_several_batches_follows_numpy(dtype, k, weighted):
    X, y = blobs(n=600, d=4, k=k, dtype=dtype)
    sw = np.random.default_rng(1).uniform(0, 2, len(y)) if weighted else None
    cw = {c: 1.0 + c for c in range(k)}
    clf = LogisticRegression(learning_rate=0.2, batch_size=50, random_state=7, C=3.0,
                             l1_ratio=0.2, class_weight=cw)
    parts = [slice(0, 250), slice(250, 260), slice(260, 600), slice(0, 600)]
    W, b = np.zeros((1 if k == 2 else k, 4)), np.zeros(1 if k == 2 else k)
    state, seen, losses = seed_of(7), 0.0, []
    for part in parts:
        s = None if sw is None else sw[part]
        clf.partial_fit(X[part], y[part], classes=np.arange(k), sample_weight=s)
        s = (np.ones(len(y[part])) if s is None else s) * (1.0 + y[part])
        n = len(y[part])
        W, b, loss, seen, state = sgd_epochs(
            X[part], y[part], W.shape[0], W, b, seed=state, epochs=1, eta0=0.2,
            epochs_seen=seen, batch_size=50, sample_weight=s, alpha_l2=0.8 / 3.0,
            alpha_l1=0.2 / 3.0)
        losses.extend(loss)
        assert n == len(y[part])
    # float32: a few dozen steps of size 0.2 on unit-scale rows, each rounding to
    # ~sqrt(50) eps32 of its terms: 1e-4 of the coefficients' scale is ~100x that
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    scale = max(1.0, np.abs(W).max())
    assert clf.coef_.dtype == dtype and clf.n_iter_[0] == len(parts)
    np.testing.assert_allclose(clf.coef_, W, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(clf.intercept_, b, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(clf.history_["loss"], losses, rtol=max(rtol, 1e-12))


# --------------------------------------------------------------- warm_start
def test_warm_start_sgd_continues_from_the_previous_coefficients():
    X, y = blobs(n=200, d=3, k=3)
    clf = LogisticRegression(solver="sgd", warm_start=True, learning_rate=0.1,
                             max_iter=2, tol=0, random_state=3, lr_schedule="constant")
    first = clf.fit(X, y).coef_.copy()
    b0 = clf.intercept_.copy()
    clf.fit(X, y)
    # a new fit starts a fresh generator from random_state and the schedule at 0
    W, b, _, _, _ = sgd_epochs(X, y, 3, first, b0, seed=seed_of(3), epochs=2, eta0=0.1,
                               power_t=0.0, alpha_l2=1.0)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-10, atol=1e-13)
    cold = LogisticRegression(solver="sgd", learning_rate=0.1, max_iter=2, tol=0,
                              random_state=3, lr_schedule="constant").fit(X, y)
    np.testing.assert_array_equal(cold.coef_, first)  # and without warm_start: afresh


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_warm_start_multinomial_gd_continues_where_it_stopped(dtype):
    # gradient descent has no state beyond (W, b): 3 epochs, then 4 more from there,
    # are 7 epochs
    X, y = blobs(n=300, d=4, k=4, dtype=dtype)
    params = {"solver": "gd", "tol": 0, "C": 2.0}
    clf = LogisticRegression(warm_start=True, max_iter=3, **params).fit(X, y)
    clf.set_params(max_iter=4).fit(X, y)
    seven = LogisticRegression(max_iter=7, **params).fit(X, y)
    if dtype == np.float64:
        np.testing.assert_array_equal(clf.coef_, seven.coef_)
        np.testing.assert_array_equal(clf.intercept_, seven.intercept_)
        np.testing.assert_array_equal(clf.history_["loss"], seven.history_["loss"][3:])
    else:  # intercept_ is stored in X's dtype: the warm start rounds b to float32
        np.testing.assert_allclose(clf.coef_, seven.coef_, rtol=1e-6)
        np.testing.assert_allclose(clf.intercept_, seven.intercept_, rtol=1e-6)
        np.testing.assert_allclose(clf.history_["loss"], seven.history_["loss"][3:],
                                   rtol=1e-7)


def test_warm_start_multinomial_lbfgs_from_the_optimum_needs_no_iteration():
    X, y = blobs(n=300, d=4, k=3)
    clf = LogisticRegression(solver="lbfgs", warm_start=True, tol=1e-6).fit(X, y)
    assert clf.n_iter_[0] > 0
    coef = clf.coef_.copy()
    clf.fit(X, y)
    assert clf.n_iter_[0] == 0 and clf.stop_reason_ == "converged"
    np.testing.assert_array_equal(clf.coef_, coef)


# --------------------------------------------------------------- class_weight
@pytest.mark.parametrize("solver, k", [("sgd", 2), ("sgd", 3), ("gd", 3), ("lbfgs", 4),
                                       ("newton", 2)])
def test_class_weight_is_multiplied_into_sample_weight(solver, k):
    X, y = blobs(n=500, d=5, k=k)
    sw = np.random.default_rng(3).uniform(0, 2, len(y))
    cw = {c: 0.5 + c for c in range(k)}
    params = {"solver": solver, "max_iter": 10 if solver in ("gd", "sgd") else 500,
                  "tol": 0 if solver in ("gd", "sgd") else 1e-8, "random_state": 0}
    ours = LogisticRegression(class_weight=cw, **params).fit(X, y, sample_weight=sw)
    folded = LogisticRegression(**params).fit(X, y, sample_weight=sw * (0.5 + y))
    assert_same_fit(ours, folded)
    plain = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    assert np.abs(plain.coef_ - ours.coef_).max() > 1e-4  # the weights matter


# ------------------------------------- refusals the line coverage found untested
@pytest.mark.parametrize("fit, message", [
    (lambda X, y: LogisticRegression().fit(None, y), "Expected 2D array"),
    (lambda X, y: LogisticRegression().fit([[1.0, 2.0], [3.0]] * 10, y),
     "inhomogeneous shape"),
    (lambda X, y: LogisticRegression(class_weight={0: 0.0, 1: 0.0}).fit(X, y),
     "sample_weight times class_weight is zero for every row"),
    (lambda X, y: LogisticRegression().partial_fit(X, y, classes=[[0, 1]]),
     r"classes must be 1-D, got shape \(1, 2\)"),
    (lambda X, y: LogisticRegression().partial_fit(X, y, classes=[0, 1]).partial_fit(
        X, y, classes=[0, 1, 2]), r"classes \[0, 1, 2\] differ from the ones fitted before"),
])
def test_further_refusals_name_the_problem(fit, message):
    X, y = blobs(n=20, d=2)
    with pytest.raises(ValueError, match=message):
        fit(X, y)


@pytest.mark.parametrize("argv, message", [(["--epochs", "0"], "--epochs must be at least 1"),
                                           (["--lr", "0"], "--lr must be positive")])
def test_demo_refuses_bad_arguments(argv, message, capsys):
    from clogreg import demo

    with pytest.raises(SystemExit):
        demo.main(argv)
    assert message in capsys.readouterr().err
