"""The Cython kernel against independent references (NumPy, finite differences)."""
import numpy as np
import pytest
from helpers import dense_objective, work_arrays
from reference import gradient_descent as numpy_gd
from reference import objective

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
    chunk_grad, chunk_stats = work_arrays(500, 4, np.float64)
    loss, grad_b, _ = _kernel.loss_grad(X, y, sw, w, b, grad, chunk_grad, chunk_stats)
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
    cg, cs = work_arrays(4, 1, dtype)
    loss, _, correct = _kernel.loss_grad(X, y, np.empty(0, dtype),
                                              np.ones(1, dtype), 0.0, grad, cg, cs)
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
    cg, cs = work_arrays(10, 2, np.float64)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _kernel.loss_grad(X, y[:5], np.empty(0), np.zeros(2), 0.0, np.empty(2), cg, cs)
    with pytest.raises(ValueError, match="inconsistent shapes"):
        _kernel.loss_grad(X, y, np.empty(0), np.zeros(3), 0.0, np.empty(3), cg, cs)


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
    sums, squares, label_sums, label_sum, positives = column_stats(X, sw, 1, y)
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
    sums, squares, *_ = column_stats(X, np.empty(0))
    assert np.isinf(squares[0]) and np.isfinite(sums[0])
    assert np.isnan(sums[1]) and np.isnan(squares[1])
    assert sums[2] == 10 and squares[2] == 10


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
