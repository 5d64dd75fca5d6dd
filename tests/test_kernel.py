"""The Cython kernel against independent references (NumPy, finite differences)."""
import subprocess
import sys

import numpy as np
import pytest
from helpers import dense_objective
from reference import gradient_descent as numpy_gd
from reference import multinomial_objective, objective, sgd_epochs
from scipy.special import expit

import clogreg
from clogreg import LogisticRegression, _kernel, _solvers
from clogreg._rows import column_stats

RTOL = {np.float64: 1e-10, np.float32: 1e-4}


def make_data(n=300, d=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(np.float64)
    return X.astype(dtype), y


def run_kernel(X, y, lr, epochs, sample_weight=None, alpha_l2=0.0, alpha_l1=0.0,
               fit_intercept=True, n_threads=1):
    sw = np.empty(0, X.dtype) if sample_weight is None else sample_weight.astype(X.dtype)
    objective = dense_objective(X, y.astype(X.dtype), sw, fit_intercept=fit_intercept,
                                alpha_l2=alpha_l2, alpha_l1=alpha_l1, n_threads=n_threads)
    return _solvers.gradient_descent(objective, np.zeros(X.shape[1], X.dtype), 0.0,
                                     learning_rate=lr, max_iter=epochs, tol=0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha_l2, alpha_l1", [(0.0, 0.0), (2.0, 0.0), (1.0, 1.5)])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n", [300, 9000])  # 9000 rows: several chunks and tiles
def test_epochs_match_numpy(dtype, fit_intercept, alpha_l2, alpha_l1, weighted, n):
    X, y = make_data(n=n, dtype=dtype)
    sw = np.random.default_rng(1).uniform(0.1, 3.0, n) if weighted else None
    lr = 0.5 / n
    res = run_kernel(X, y, lr, 30, sw, alpha_l2, alpha_l1, fit_intercept)
    # Reference sees the same (float32-rounded) data and weights, in float64.
    sw_ref = None if sw is None else sw.astype(dtype)
    w, b, losses, accs = numpy_gd(X, y, lr=lr, epochs=30, sample_weight=sw_ref,
                                  alpha_l2=alpha_l2, alpha_l1=alpha_l1,
                                  fit_intercept=fit_intercept)
    rtol = RTOL[dtype]
    assert res.coef.dtype == dtype and res.coef.shape == (1, X.shape[1])
    np.testing.assert_allclose(res.loss, losses, rtol=rtol)
    np.testing.assert_allclose(res.coef[0], w, rtol=rtol, atol=rtol * np.abs(w).max())
    np.testing.assert_allclose(res.intercept, [b], rtol=rtol, atol=rtol)
    # float32 may classify a row with z ~ 0 differently: allow three rows
    atol = 1e-9 if dtype == np.float64 else 300.0 / n
    np.testing.assert_allclose(res.accuracy, accs, atol=atol)
    if alpha_l1 > 0:  # the proximal step zeroes coefficients exactly where NumPy does
        np.testing.assert_array_equal(res.coef[0] == 0, w == 0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d", [1, 3, 10, 11, 37])
def test_both_matrix_vector_paths_match_numpy(dtype, d):
    # up to _SMALL_D (10) columns the pass uses its own loops, above it BLAS gemv;
    # 9,003 rows: several chunks, and tiles whose row count is not a multiple of 4
    X, y = make_data(n=9_003, d=d, seed=d, dtype=dtype)
    sw = np.random.default_rng(4).uniform(0.1, 3.0, 9_003)
    lr = 0.5 / 9_003
    res = run_kernel(X, y, lr, 5, sw)
    w, b, losses, _ = numpy_gd(X, y, lr=lr, epochs=5, sample_weight=sw.astype(dtype))
    rtol = RTOL[dtype]
    np.testing.assert_allclose(res.loss, losses, rtol=rtol)
    np.testing.assert_allclose(res.coef[0], w, rtol=rtol, atol=rtol * np.abs(w).max())
    np.testing.assert_allclose(res.intercept, [b], rtol=rtol, atol=rtol)


@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_matches_finite_differences(weighted):
    X, y = make_data(n=500, d=4, seed=3)
    sw = np.random.default_rng(2).uniform(0.5, 2.0, 500) if weighted else np.empty(0)
    rng = np.random.default_rng(4)
    w, b = rng.standard_normal(4), 0.3
    grad = np.empty(4)
    loss, grad_b, _ = _kernel.loss_grad(X, y, sw, w, b, grad)
    s = None if not weighted else sw
    assert loss == pytest.approx(objective(X, y, w, b, s), rel=1e-12)
    h = 1e-6
    for j in range(4):
        e = np.zeros(4)
        e[j] = h
        fd = (objective(X, y, w + e, b, s) - objective(X, y, w - e, b, s)) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    fd_b = (objective(X, y, w, b + h, s) - objective(X, y, w, b - h, s)) / (2 * h)
    assert grad_b == pytest.approx(fd_b, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_stable_for_huge_margins(dtype):
    # |z| = 1e4: a naive log(sigmoid) gives -inf and exp(-z) overflows.
    X = np.array([[1e4], [-1e4], [1e4], [-1e4]], dtype=dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)  # two right, two badly wrong
    grad = np.empty(1, dtype)
    loss, _, correct = _kernel.loss_grad(X, y, np.empty(0, dtype), np.ones(1, dtype), 0.0,
                                         grad)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx(objective(X, y, np.ones(1), 0.0), rel=1e-6)  # = 2e4
    assert correct == 2

    # And training on rows scaled so that |z| reaches 1e4 stays finite.
    Xs, ys = make_data(n=200, d=3, seed=5)
    Xs = (Xs * 1e4).astype(dtype)
    clf = LogisticRegression(C=1.0, solver="gd", learning_rate=1e-6, max_iter=50,
                             tol=0).fit(Xs, ys)
    z = Xs.astype(np.float64) @ clf.coef_.ravel() + clf.intercept_[0]
    assert np.abs(z).max() >= 1e4
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.history_["loss"]))


def test_threads_bit_identical():
    X, y = make_data(n=20_000, d=7, seed=6)
    one = run_kernel(X, y, 1e-5, 10, n_threads=1)
    two = run_kernel(X, y, 1e-5, 10, n_threads=2)
    three = run_kernel(X, y, 1e-5, 10, n_threads=3)
    for other in (two, three):
        np.testing.assert_array_equal(one.coef, other.coef)
        np.testing.assert_array_equal(one.loss, other.loss)
        np.testing.assert_array_equal(one.intercept, other.intercept)


def test_nonfinite_step_is_reported_not_returned():
    X, y = make_data(n=100, d=3)
    with pytest.raises(FloatingPointError, match="non-finite"):
        LogisticRegression(C=np.inf, solver="gd", learning_rate=1e306, max_iter=50,
                           tol=0).fit(X * 1e3, y)


def test_kernel_rejects_inconsistent_shapes():
    X, y = make_data(n=10, d=2)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _kernel.loss_grad(X, y[:5], np.empty(0), np.zeros(2), 0.0, np.empty(2))
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _kernel.loss_grad(X, y, np.empty(0), np.zeros(3), 0.0, np.empty(3))


def kernel_call(name, **changed):
    """Call ``_kernel.<name>`` on consistent arrays (n = 10, d = 2; K = 3 classes for
    the multinomial calls), with the arguments in ``changed`` replaced."""
    n, d, K = 10, 2, 3
    X, y = make_data(n=n, d=d)
    multinomial = name == "multinomial_loss_grad" or changed.pop("multinomial", False)
    if multinomial:
        y = np.arange(n, dtype=np.float64) % K
    p, n_out = (K * d, K) if multinomial else (d, 1)
    data = {"X": X, "y": y, "sw": np.empty(0)}
    args = {
        "loss_grad": {**data, "w": np.zeros(d), "b": 0.0, "grad": np.empty(d)},
        "multinomial_loss_grad": {**data, "W": np.zeros(p), "b": np.zeros(K),
                                  "grad": np.empty(p), "grad_b": np.empty(K)},
        "column_stats": {"X": X, "sw": np.empty(0), "y": y, "out": np.empty((3, d))},
        "newton_pass": {**data, "w": np.zeros(d), "b": 0.0, "grad": np.empty(d),
                        "H": np.empty((d, d)), "H_wb": np.empty(d)},
        "cd_quadratic": {"A": np.eye(d), "g": np.ones(d), "theta": np.zeros(d),
                         "l1": np.zeros(d), "delta": np.zeros(d), "max_sweeps": 10,
                         "tol": 1e-12},
        "gd_fit": {**data, "w": np.zeros(p), "b": np.zeros(n_out),
                   "hist": np.empty((3, 5)), "lr": 0.1, "alpha_l2": 0.0, "alpha_l1": 0.0,
                   "fit_intercept": True, "max_iter": 5, "tol": 0.0, "grad_scale": 1.0,
                   "n_threads": 1, "intercept_step_ratio": 1.0},
        "sgd_fit": {**data, "w": np.zeros(p), "b": np.zeros(n_out),
                    "hist": np.empty((3, 5)), "rng_state": np.array([7], dtype=np.uint64),
                    "epochs_seen": np.zeros(1), "eta0": 0.1, "power_t": 0.0,
                    "alpha_l2": 0.0, "alpha_l1": 0.0, "fit_intercept": True,
                    "batch_size": 4, "max_epochs": 5, "tol": 0.0, "n_iter_no_change": 5,
                    "intercept_step_ratio": 1.0},
    }[name]
    assert set(changed) <= set(args)
    args.update(changed)
    return getattr(_kernel, name)(*args.values())


def test_kernel_calls_are_consistent_as_built():
    # the helper's baseline: every call below fails only by what it changes
    for name in ("loss_grad", "multinomial_loss_grad", "column_stats", "newton_pass",
                 "cd_quadratic", "gd_fit", "sgd_fit"):
        kernel_call(name)
    kernel_call("gd_fit", multinomial=True)
    kernel_call("sgd_fit", multinomial=True)


@pytest.mark.parametrize("name, changed, message", [
    ("loss_grad", {"y": np.zeros(5)},
     r"loss_grad: inconsistent shapes: y has shape \(5,\), expected \(10,\)$"),
    ("loss_grad", {"sw": np.ones(7)}, r"sw has shape \(7,\), expected \(10,\) or \(0,\)"),
    ("loss_grad", {"w": np.zeros(3)}, r"w has shape \(3,\), expected \(2,\)"),
    ("loss_grad", {"grad": np.empty(1)}, r"grad has shape \(1,\), expected \(2,\)"),
    ("loss_grad", {"X": np.empty((0, 2))},
     r"X must have at least one row and one column, got shape \(0, 2\)"),
    ("multinomial_loss_grad", {"W": np.zeros(4)}, r"W has shape \(4,\), expected \(6,\)"),
    ("multinomial_loss_grad", {"grad": np.empty(4)},
     r"grad has shape \(4,\), expected \(6,\)"),
    ("multinomial_loss_grad", {"grad_b": np.empty(2)},
     r"grad_b has shape \(2,\), expected \(3,\)"),
    ("multinomial_loss_grad", {"b": np.zeros(1), "W": np.zeros(2), "grad_b": np.empty(1)},
     r"b must have one entry per class, K >= 2, got shape \(1,\)"),
    ("multinomial_loss_grad", {"y": np.full(10, 3.0)}, r"class indices must lie in \[0, 3\)"),
    ("column_stats", {"out": np.empty((2, 2))}, r"out has shape \(2, 2\), expected \(3, 2\)"),
    ("column_stats", {"y": np.zeros(4)}, r"y has shape \(4,\), expected \(10,\) or \(0,\)"),
    ("newton_pass", {"H": np.empty((2, 3))}, r"H has shape \(2, 3\), expected \(2, 2\)"),
    ("newton_pass", {"H_wb": np.empty(3)}, r"H_wb has shape \(3,\), expected \(2,\)"),
    ("cd_quadratic", {"A": np.ones((3, 2))}, r"A has shape \(3, 2\), expected \(3, 3\)"),
    ("cd_quadratic", {"delta": np.zeros(3)}, r"delta has shape \(3,\), expected \(2,\)"),
    ("gd_fit", {"hist": np.empty((3, 4))},
     r"gd_fit: inconsistent shapes: hist has shape \(3, 4\), expected \(3, 5\)"),
    ("gd_fit", {"multinomial": True, "w": np.zeros(2)}, r"w has shape \(2,\), expected \(6,\)"),
    ("gd_fit", {"lr": 0.0}, r"lr must be positive"),
    ("sgd_fit", {"hist": np.empty((2, 5))}, r"hist has shape \(2, 5\), expected \(3, 5\)"),
    ("sgd_fit", {"w": np.zeros(3)},
     r"sgd_fit: inconsistent shapes: w has shape \(3,\), expected \(2,\)"),
    ("sgd_fit", {"multinomial": True, "y": np.full(10, -1.0)}, r"class indices must lie in"),
    ("sgd_fit", {"rng_state": np.zeros(2, np.uint64)},
     r"rng_state has shape \(2,\), expected \(1,\)"),
    ("sgd_fit", {"rng_state": np.zeros(1, np.uint64)}, r"rng_state must be nonzero"),
    ("sgd_fit", {"epochs_seen": np.zeros(0)}, r"epochs_seen has shape \(0,\), expected \(1,\)"),
    ("sgd_fit", {"batch_size": 0}, r"batch_size must be positive, got 0"),
    ("gd_fit", {"intercept_step_ratio": 0.5},
     r"gd_fit: intercept_step_ratio must be finite and >= 1, got 0.5"),
    ("sgd_fit", {"intercept_step_ratio": np.inf},
     r"sgd_fit: intercept_step_ratio must be finite and >= 1, got inf"),
])
def test_kernel_names_the_array_and_both_shapes(name, changed, message):
    with pytest.raises(ValueError, match=message):
        kernel_call(name, **changed)


MEMORY_SCRIPT = """
import resource, sys
import numpy as np
from clogreg import _kernel

# n = 64 chunks, K * d = 2**18: per-chunk gradients of 64 x 2**18 float64 (128 MiB) and
# a tile's logits (256 x 2**18: 512 MiB), from inputs of a few MiB
n, d, K = 64 * _kernel.CHUNK_ROWS, 1, 2**18
X, y, sw = np.ones((n, d)), np.zeros(n), np.empty(0)
W, b = np.zeros(K * d), np.zeros(K)
calls = {
    "multinomial_loss_grad": lambda: _kernel.multinomial_loss_grad(
        X, y, sw, W, b, np.empty(K * d), np.empty(K)),
    "gd_fit": lambda: _kernel.gd_fit(X, y, sw, W.copy(), b.copy(), np.empty((3, 1)), 0.1,
                                     0.0, 0.0, True, 1, 0.0, 1.0),
    "sgd_fit": lambda: _kernel.sgd_fit(X, y, sw, W.copy(), b.copy(), np.empty((3, 1)),
                                       np.array([7], np.uint64), np.zeros(1), 0.1, 0.0,
                                       0.0, 0.0, True, n, 1, 0.0, 5),
}
with open("/proc/self/statm") as f:
    used = int(f.read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 64 * 2**20, resource.RLIM_INFINITY))
for name, call in calls.items():
    try:
        call()
    except MemoryError:
        print(name, "MemoryError")
    else:
        print(name, "returned")
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs RLIMIT_AS and /proc")
def test_failed_work_allocation_raises_memory_error():
    # Under a limit on the address space, the kernel's work arrays cannot be allocated:
    # a MemoryError before any loop (it once came back as a NaN loss, reported as a
    # step "too large"). A subprocess, so that the limit binds nothing else.
    proc = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["multinomial_loss_grad MemoryError",
                                           "gd_fit MemoryError", "sgd_fit MemoryError"]


def test_tests_use_the_installed_package():
    from pathlib import Path

    source_tree = Path(__file__).resolve().parents[1] / "src"
    assert source_tree not in Path(clogreg.__file__).resolve().parents


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_column_stats_match_numpy_for_any_thread_count(dtype, weighted):
    rng = np.random.default_rng(5)
    X = (rng.standard_normal((9_000, 7)) * [1e-3, 1, 1, 10, 1e3, 1, 1] + 3).astype(dtype)
    sw = rng.random(9_000).astype(dtype) if weighted else np.empty(0, dtype)
    s = sw.astype(np.float64) if weighted else np.ones(9_000)
    X64 = X.astype(np.float64)
    y = (rng.random(9_000) < 0.3).astype(dtype)
    sums, squares, label_sums, label_sum, positives, all_finite = column_stats(X, sw, 1, y)
    assert all_finite is True
    np.testing.assert_allclose(sums, s @ X64, rtol=1e-12)
    np.testing.assert_allclose(squares, s @ (X64 * X64), rtol=1e-12)
    np.testing.assert_allclose(label_sums, (s * y) @ X64, rtol=1e-12)
    assert label_sum == pytest.approx(s @ y, rel=1e-12) and positives == y.sum()
    assert column_stats(X, sw).label_sums is None
    for n_threads in (2, 3):
        threaded = column_stats(X, sw, n_threads, y)
        for a, b in zip(threaded[:3], (sums, squares, label_sums)):
            np.testing.assert_array_equal(a, b)


def test_column_stats_overflow_to_inf_and_nan_propagates():
    X = np.ones((10, 3))
    X[2, 0], X[4, 1] = 1e200, np.nan
    sums, squares, *_, all_finite = column_stats(X, np.empty(0))
    assert np.isinf(squares[0]) and np.isfinite(sums[0])
    assert np.isnan(sums[1]) and np.isnan(squares[1])
    assert sums[2] == 10 and squares[2] == 10
    assert all_finite is False  # the kernel's flag, as validation reads it
    # an overflow alone (no NaN) clears the flag too; finite sums set it
    X[4, 1] = 1.0
    assert column_stats(X, np.empty(0)).finite() is False
    X[2, 0] = 1.0
    assert column_stats(X, np.empty(0), 1, np.ones(10)).finite() is True


def test_multinomial_sgd_with_batches_of_fewer_chunks_than_x():
    # sgd_fit's work arrays are sized for one batch; the multinomial check once
    # compared them with all of X ("work arrays have the wrong shape").
    rng = np.random.default_rng(7)
    X = rng.standard_normal((3 * _kernel.CHUNK_ROWS + 5, 4))
    y = rng.integers(0, 3, X.shape[0])
    clf = LogisticRegression(solver="sgd", batch_size=_kernel.CHUNK_ROWS + 1, max_iter=3,
                             tol=0, random_state=0)
    clf.fit(X, y)
    assert clf.coef_.shape == (3, 4) and np.all(np.isfinite(clf.coef_))
    assert clf.n_iter_ == 3


# ---------------------------------------------------------------- small, traced cases
# (.ci/run measures the kernel's line coverage on these tests: keep them small)
def test_sgd_fit_follows_the_reference_with_weights_l1_and_tol():
    """Weighted mini-batches, an L1 penalty that zeroes a coefficient, scikit-learn's
    stopping rule: the kernel's sgd against reference.sgd_epochs (NumPy)."""
    rng = np.random.default_rng(11)
    n, d = 60, 3
    X = rng.standard_normal((n, d))
    y = (X[:, 0] - X[:, 1] + 0.5 * rng.standard_normal(n) > 0).astype(np.float64)
    sw = rng.uniform(0.5, 2.0, n)
    kw = {"eta0": 0.2, "power_t": 0.5, "alpha_l2": 0.5, "alpha_l1": 4.0,
          "fit_intercept": True}
    W, b, losses, seen, _ = sgd_epochs(X, y, 1, np.zeros((1, d)), np.zeros(1), seed=12345,
                                       epochs=200, batch_size=16, sample_weight=sw,
                                       tol=1e-3, **kw)
    w, b_k, hist = np.zeros(d), np.zeros(1), np.empty((3, 200))
    epochs_seen = np.zeros(1)
    n_epochs, status = _kernel.sgd_fit(
        X, y, sw, w, b_k, hist, np.array([12345], np.uint64), epochs_seen, kw["eta0"],
        kw["power_t"], kw["alpha_l2"], kw["alpha_l1"], True, 16, 200, 1e-3, 5)
    assert status == _kernel.Status.STATUS_CONVERGED and n_epochs == len(losses) < 200
    np.testing.assert_allclose(hist[0, :n_epochs], losses, rtol=1e-12)
    np.testing.assert_allclose(w, W[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b_k, b, rtol=1e-10)
    assert epochs_seen[0] == pytest.approx(seen, rel=1e-12)
    assert np.sum(w == 0) == np.sum(W[0] == 0) >= 1  # the L1 step zeroes exactly


def test_sgd_fit_stops_before_a_nonfinite_step():
    X, y = make_data(n=40, d=3)
    w, b, hist = np.zeros(3), np.zeros(1), np.empty((3, 5))
    n_epochs, status = _kernel.sgd_fit(X * 1e3, y, np.empty(0), w, b, hist,
                                       np.array([7], np.uint64), np.zeros(1), 1e306, 0.0,
                                       0.0, 0.0, True, 8, 5, 0.0, 5)
    assert status == _kernel.Status.STATUS_NONFINITE and n_epochs == 0
    assert np.all(np.isfinite(w)) and np.all(np.isfinite(b))


def test_gd_fit_stops_at_the_first_epoch_whose_gradient_mapping_meets_tol():
    X, y = make_data(n=50, d=2, seed=13)
    lr, tol, grad_scale = 0.02, 1e-3, 50.0
    # plain gradient descent in NumPy; the gradient mapping max|old - new| / lr
    theta, path, losses, mapping = np.zeros(3), [np.zeros(3)], [], []
    for _ in range(400):
        z = X @ theta[:2] + theta[2]
        losses.append(objective(X, y, theta[:2], theta[2]))
        r = expit(z) - y
        new = theta - lr * np.concatenate([X.T @ r, [r.sum()]])
        mapping.append(np.abs(new - theta).max() / lr / grad_scale)
        theta = new
        path.append(theta)
    mapping = np.array(mapping)
    expected = int(np.argmax(mapping <= tol)) + 1
    assert 1 < expected < 400 and mapping[expected - 1] <= tol < mapping[:expected - 1].min()
    w, b, hist = np.zeros(2), np.zeros(1), np.empty((3, 400))
    n_iter, status = _kernel.gd_fit(X, y, np.empty(0), w, b, hist, lr, 0.0, 0.0, True,
                                    400, tol, grad_scale)
    assert status == _kernel.Status.STATUS_CONVERGED and n_iter == expected
    np.testing.assert_allclose(np.concatenate([w, b]), path[expected], rtol=1e-10)
    np.testing.assert_allclose(hist[2, :n_iter], mapping[:n_iter], rtol=1e-8)
    np.testing.assert_allclose(hist[0, :n_iter], losses[:n_iter], rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_weighted_newton_pass_matches_numpy(dtype):
    X, y = make_data(n=200, d=4, seed=14, dtype=dtype)
    sw = np.random.default_rng(15).uniform(0.2, 3.0, 200).astype(dtype)
    w = np.array([0.3, -0.2, 0.1, 0.5], dtype)
    b = -0.25
    grad, H, H_wb = np.empty(4, dtype), np.empty((4, 4), dtype), np.empty(4, dtype)
    loss, grad_b, h_sum, correct = _kernel.newton_pass(X, y.astype(dtype), sw, w, b, grad,
                                                       H, H_wb)
    X64, s = X.astype(np.float64), sw.astype(np.float64)
    z = X64 @ w.astype(np.float64) + b
    p = expit(z)
    h = s * p * (1 - p)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert loss == pytest.approx(objective(X64, y, w.astype(np.float64), b, s), rel=rtol)
    assert grad_b == pytest.approx(np.sum(s * (p - y)), rel=rtol)
    assert h_sum == pytest.approx(h.sum(), rel=rtol)
    assert correct == np.sum((z > 0) == (y > 0.5))
    np.testing.assert_allclose(grad, X64.T @ (s * (p - y)), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(H_wb, X64.T @ h, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(H, np.tril((X64 * h[:, None]).T @ X64), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_newton_pass_with_zero_weights_matches_numpy(dtype):
    """Rows of weight 0 (a cross-validation fold's held-out rows) are left out of the
    Hessian's rank-k updates: every third row, and the whole second tile of 256 rows
    (150 columns: tiles of 256 rows), against NumPy over all rows."""
    n, d = 700, 150
    X, y = make_data(n=n, d=d, seed=17, dtype=dtype)
    sw = np.random.default_rng(18).uniform(0.2, 3.0, n).astype(dtype)
    sw[::3] = 0
    sw[256:512] = 0
    w = (np.random.default_rng(19).standard_normal(d) / np.sqrt(d)).astype(dtype)
    b = 0.1
    grad, H, H_wb = np.empty(d, dtype), np.empty((d, d), dtype), np.empty(d, dtype)
    _, _, h_sum, _ = _kernel.newton_pass(X, y.astype(dtype), sw, w, b, grad, H, H_wb)
    X64, s = X.astype(np.float64), sw.astype(np.float64)
    p = expit(X64 @ w.astype(np.float64) + b)
    h = s * p * (1 - p)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    assert h_sum == pytest.approx(h.sum(), rel=rtol)
    np.testing.assert_allclose(H_wb, X64.T @ h, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(H, np.tril((X64 * h[:, None]).T @ X64), rtol=rtol,
                               atol=rtol * np.abs(H).max())
    # the same pass on the rows of nonzero weight alone
    keep = sw > 0
    H_kept = np.empty_like(H)
    _kernel.newton_pass(np.ascontiguousarray(X[keep]), y[keep].astype(dtype), sw[keep], w,
                        b, grad, H_kept, H_wb)
    np.testing.assert_allclose(H, H_kept, rtol=rtol, atol=rtol * np.abs(H).max())


def test_cd_quadratic_with_l1_meets_the_optimality_conditions():
    """The proximal Newton subproblem's KKT conditions at the returned step: with
    u = theta + delta and q = g + A delta, q_j = -l1_j sign(u_j) where u_j != 0 and
    |q_j| <= l1_j where u_j = 0; a coordinate with no curvature is left alone."""
    rng = np.random.default_rng(16)
    B = rng.standard_normal((5, 5))
    B[4] = 0.0                                 # A[4, :] = A[:, 4] = 0
    A = B @ B.T + np.diag([1.0, 1.0, 1.0, 1.0, 0.0])
    g = np.array([-6.0, 6.0, 0.1, 1.0, 2.0])
    theta = np.array([0.2, -0.1, 0.05, 0.3, 0.7])
    l1 = np.array([0.5, 0.5, 5.0, 0.0, 0.3])
    delta = np.zeros(5)
    delta[4] = 0.125
    sweeps = _kernel.cd_quadratic(A, g, theta, l1, delta, 1000, 1e-15)
    assert 1 <= sweeps < 1000
    u, q = theta + delta, g + A @ delta
    assert delta[4] == 0.125
    assert u[0] != 0 and u[1] != 0 and np.sign(u[0]) != np.sign(u[1])
    assert u[2] == 0.0 and abs(q[2]) <= l1[2]  # soft-thresholded to exactly zero
    for j in (0, 1):
        assert q[j] == pytest.approx(-l1[j] * np.sign(u[j]), abs=1e-9)
    assert q[3] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("d, K", [(1, 3), (5, 4), (9, 7), (50, 10), (33, 13)])
def test_multinomial_pass_matches_numpy_for_every_shape(dtype, d, K):
    # the kernel's own tile products (no BLAS): remainders of classes and columns,
    # weighted, against NumPy in float64
    n = 700
    rng = np.random.default_rng(d * K)
    X = (rng.standard_normal((n, d)) * 2).astype(dtype)
    y = rng.integers(0, K, n).astype(dtype)
    sw = rng.uniform(0.1, 2.0, n).astype(dtype)
    W = (rng.standard_normal(K * d) / np.sqrt(d)).astype(dtype)
    b = rng.standard_normal(K)
    grad, grad_b = np.empty(K * d, dtype), np.empty(K)
    loss, correct = _kernel.multinomial_loss_grad(X, y, sw, W, b, grad, grad_b)
    X64, W64, s64 = X.astype(np.float64), W.astype(np.float64).reshape(K, d), \
        sw.astype(np.float64)
    Z = X64 @ W64.T + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    R = s64[:, None] * (P - np.eye(K)[y.astype(int)])
    rtol = 1e-12 if dtype == np.float64 else 2e-5
    assert loss == pytest.approx(multinomial_objective(X64, y.astype(int), W64, b, s64),
                                 rel=rtol)
    assert correct == np.sum(Z.argmax(1) == y)
    scale = np.abs(R).T @ np.abs(X64)  # the size of each sum's terms
    assert np.all(np.abs(grad - (R.T @ X64).ravel()) <= rtol * 10 * scale.ravel() + 1e-300)
    np.testing.assert_allclose(grad_b, R.sum(0), rtol=rtol * 10, atol=rtol * n)


def test_multinomial_pass_gives_nan_not_a_wrong_loss_for_an_infinite_logit():
    # 1e200 * 1e200 overflows: that row's loss is NaN (the solvers then stop), not
    # the finite value that an exp of NaN read as 0 would give
    X = np.array([[1.0], [1e200], [2.0]])
    y = np.array([0.0, 1.0, 2.0])
    W, b = np.array([1.0, 1e200, -1.0]), np.zeros(3)
    grad, grad_b = np.empty(3), np.empty(3)
    with np.errstate(all="ignore"):
        loss, _ = _kernel.multinomial_loss_grad(X, y, np.empty(0), W, b, grad, grad_b)
    assert np.isnan(loss) and np.isnan(grad).any() and np.isnan(grad_b).all()
    W[1] = 1.0  # finite logits: a finite loss
    loss, _ = _kernel.multinomial_loss_grad(X[[0, 2]], y[[0, 2]], np.empty(0), W, b,
                                            grad, grad_b)
    assert np.isfinite(loss)


def test_multinomial_pass_on_threads_matches_numpy_and_one_thread():
    n, d, K = _kernel.CHUNK_ROWS + 37, 2, 3   # two chunks: the threaded loop runs
    rng = np.random.default_rng(17)
    X = rng.standard_normal((n, d))
    y = rng.integers(0, K, n).astype(np.float64)
    W, b = rng.standard_normal(K * d) * 0.5, np.array([0.1, -0.2, 0.3])
    out = {}
    for n_threads in (1, 2):
        grad, grad_b = np.empty(K * d), np.empty(K)
        loss, correct = _kernel.multinomial_loss_grad(X, y, np.empty(0), W, b, grad, grad_b,
                                                      n_threads)
        out[n_threads] = (loss, correct, grad, grad_b)
    assert out[1][:2] == out[2][:2]
    for a, c in zip(out[1][2:], out[2][2:]):
        np.testing.assert_array_equal(a, c)
    Z = X @ W.reshape(K, d).T + b
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    R = P - np.eye(K)[y.astype(int)]
    loss = multinomial_objective(X, y.astype(int), W.reshape(K, d), b)
    assert out[2][0] == pytest.approx(loss, rel=1e-12)
    assert out[2][1] == np.sum(Z.argmax(1) == y)
    np.testing.assert_allclose(out[2][2], (R.T @ X).ravel(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(out[2][3], R.sum(0), rtol=1e-10, atol=1e-10)
