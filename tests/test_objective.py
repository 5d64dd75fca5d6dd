"""The objective, for every rows layout: loss vs gradient vs Hessian vs finite
differences vs the NumPy reference (in the manner of scikit-learn's
``test_linear_loss.py``). Every layout must give the same objective, whatever the
layout, the dtype, the weights or the number of classes."""
import numpy as np
import pytest
import scipy.sparse as sp
from reference import multinomial_objective, objective

from clogreg._objective import LogisticObjective
from clogreg._rows import DenseRows
from clogreg._rows_sparse import SparseRows

LAYOUTS = {
    "dense": lambda X, y, sw, n_out: DenseRows(X, y, sw, n_out),
    "csr": lambda X, y, sw, n_out: SparseRows(sp.csr_matrix(X), y, sw, n_out),
}


def problem(n_out, dtype, weighted, seed=0, n=700, d=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random((n, d)) < 0.3] = 0.0  # some structure for the sparse layout
    y = (rng.random(n) < 0.4) if n_out == 1 else rng.integers(0, n_out, n)
    sw = rng.uniform(0.2, 2.0, n) if weighted else None
    return X.astype(dtype), y.astype(dtype), None if sw is None else sw.astype(dtype)


def reference_objective(X, y, sw, W, b, alpha_l2, n_out):
    if n_out == 1:
        return objective(X, y, W[0], b[0], sw, alpha_l2)
    return multinomial_objective(X, y.astype(int), W, b, sw, alpha_l2)


def build(layout, X, y, sw, n_out, alpha_l2):
    sw = np.empty(0, X.dtype) if sw is None else sw
    return LogisticObjective(LAYOUTS[layout](X, y, sw, n_out), True, alpha_l2, 0.0)


CASES = [(layout, n_out, dtype, weighted)
         for layout in LAYOUTS for n_out in (1, 3) for dtype in (np.float64, np.float32)
         for weighted in (False, True)]


@pytest.mark.parametrize("layout, n_out, dtype, weighted", CASES)
def test_loss_and_gradient_match_numpy_and_finite_differences(layout, n_out, dtype,
                                                              weighted):
    X, y, sw = problem(n_out, dtype, weighted)
    d, alpha_l2 = X.shape[1], 0.7
    obj = build(layout, X, y, sw, n_out, alpha_l2)
    rng = np.random.default_rng(1)
    W = rng.standard_normal((n_out, d)) * 0.3
    b = rng.standard_normal(n_out) * 0.2
    w = W.ravel().astype(dtype)
    loss, grad_w, grad_b, correct = obj.loss_grad(w, b)
    f = loss + obj.penalty(w.astype(np.float64))
    X64 = X.astype(np.float64)
    W64 = w.astype(np.float64).reshape(n_out, d)
    ref = reference_objective(X64, y, sw, W64, b, alpha_l2, n_out)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert f == pytest.approx(ref, rel=rtol)
    z = X64 @ W64.T + b
    predicted = (z[:, 0] > 0) if n_out == 1 else np.argmax(z, axis=1)
    assert correct == pytest.approx(np.sum(predicted == y), abs=2)  # ties at z = 0
    if dtype == np.float32:
        return  # finite differences need float64 arithmetic
    theta = np.concatenate([W64.ravel(), b])
    g = np.concatenate([grad_w + alpha_l2 * W64.ravel(), grad_b])
    h = 1e-6
    for j in range(theta.size):
        e = np.zeros_like(theta)
        e[j] = h
        up = reference_objective(X64, y, sw, (theta + e)[:n_out * d].reshape(n_out, d),
                                 (theta + e)[n_out * d:], alpha_l2, n_out)
        down = reference_objective(X64, y, sw, (theta - e)[:n_out * d].reshape(n_out, d),
                                   (theta - e)[n_out * d:], alpha_l2, n_out)
        assert g[j] == pytest.approx((up - down) / (2 * h), rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_matches_finite_differences_of_the_gradient(layout, weighted):
    X, y, sw = problem(1, np.float64, weighted)
    d, alpha_l2 = X.shape[1], 0.7
    obj = build(layout, X, y, sw, 1, alpha_l2)
    w = np.linspace(-0.3, 0.4, d)
    b = 0.1
    l1 = np.zeros(d + 1)
    model = obj.quadratic_model(w, b, l1)
    s = model.scale
    H = model.A / np.outer(s, s)  # undo the Jacobi scaling: the (d+1, d+1) Hessian

    def gradient(theta):
        _, gw, gb, _ = obj.loss_grad(theta[:d], np.array([theta[d]]))
        return np.concatenate([gw + alpha_l2 * theta[:d], gb])

    theta, h = np.concatenate([w, [b]]), 1e-5
    for j in range(d + 1):
        e = np.zeros(d + 1)
        e[j] = h
        fd = (gradient(theta + e) - gradient(theta - e)) / (2 * h)
        np.testing.assert_allclose(H[:, j], fd, rtol=1e-6, atol=1e-6 * np.abs(H).max())
    if layout == "csr":  # the Hessian-vector product Newton-CG uses
        hw = np.empty(X.shape[0], X.dtype)
        obj.rows.loss_grad(w, np.array([b]), h_out=hw)
        v = np.linspace(1.0, -1.0, d + 1)
        hv, hv_b = obj.rows.hessp(hw, v[:d], v[d])
        np.testing.assert_allclose(np.concatenate([hv + alpha_l2 * v[:d], [hv_b]]), H @ v,
                                   rtol=1e-10, atol=1e-10 * np.abs(H).max())


@pytest.mark.parametrize("n_out", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_every_layout_gives_the_same_objective(n_out, weighted):
    X, y, sw = problem(n_out, np.float64, weighted, seed=3)
    w = np.random.default_rng(4).standard_normal(n_out * X.shape[1]) * 0.2
    b = np.linspace(-0.1, 0.1, n_out)
    values = {name: build(name, X, y, sw, n_out, 0.3).loss_grad(w, b) for name in LAYOUTS}
    dense = values["dense"]
    for name, (loss, gw, gb, correct) in values.items():
        assert loss == pytest.approx(dense[0], rel=1e-12), name
        np.testing.assert_allclose(gw, dense[1], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(gb, dense[2], rtol=1e-10, atol=1e-12)
        assert correct == dense[3]


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_value_at_zero_from_column_stats_equals_a_pass(layout):
    X, y, sw = problem(1, np.float64, True, seed=5)
    obj = build(layout, X, y, sw, 1, 0.0)
    obj.check_scale()  # computes the column statistics (with label sums)
    fast = obj.loss_grad(np.zeros(X.shape[1]), np.zeros(1))
    slow = build(layout, X, y, sw, 1, 0.0).loss_grad(np.zeros(X.shape[1]), np.zeros(1))
    for a, c in zip(fast, slow):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_step_bounds_bound_the_curvature(layout):
    # the Lipschitz bound is at least the largest eigenvalue of the Hessian at zero
    # (where p (1 - p) = 1/4 is largest), and the intercepts' longer step is >= 1
    X, y, sw = problem(1, np.float64, True, seed=6)
    obj = build(layout, X, y, sw, 1, 2.0)
    bound, intercept_curvature = obj.lipschitz_bounds()
    model = obj.quadratic_model(np.zeros(X.shape[1]), 0.0, np.zeros(X.shape[1] + 1))
    H = model.A / np.outer(model.scale, model.scale)
    assert np.linalg.eigvalsh(H).max() <= bound * (1 + 1e-12)
    ratio = obj.intercept_step_ratio(bound, intercept_curvature)
    assert intercept_curvature <= bound and ratio >= 1.0
    # the steps' preconditioned Hessian stays below 1.5 (the ratio's promise)
    P = np.full(H.shape[0], 1.0 / bound)
    P[-1] *= ratio
    assert np.linalg.eigvalsh(np.sqrt(P)[:, None] * H * np.sqrt(P)).max() <= 1.5
    eta0, ratio = obj.sgd_step_bound()
    assert eta0 > 0 and ratio >= 1.0


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_hessian_of_a_column_subset_is_the_numpy_submatrix(layout, dtype, weighted,
                                                           monkeypatch):
    """The working set of L1 proximal Newton: ``hessian(w, b, cols)`` with w zero
    outside cols is X[:, cols].T diag(s p (1 - p)) X[:, cols] (lower triangle), from
    NumPy in float64; gathered in many small tiles here."""
    from clogreg import _rows
    monkeypatch.setattr(_rows, "HESSIAN_GATHER_ELEMS", 40)  # 10 rows a tile
    X, y, sw = problem(1, dtype, weighted, n=503, d=9)
    cols = np.array([0, 3, 4, 8])
    w = np.zeros(X.shape[1])
    w[cols] = np.linspace(-0.3, 0.4, cols.size)
    b = 0.2
    rows = build(layout, X, y, sw, 1, 0.0).rows
    H, H_wb, h_sum = rows.hessian(w.astype(dtype), b, cols)
    X64 = X.astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-(X64 @ w + b)))
    h = (np.ones(X.shape[0]) if sw is None else sw.astype(np.float64)) * p * (1 - p)
    Xc = X64[:, cols]
    ref = Xc.T @ (h[:, None] * Xc)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(np.tril(H), np.tril(ref), rtol=0, atol=tol * np.abs(ref).max())
    np.testing.assert_allclose(H_wb, Xc.T @ h, rtol=0, atol=tol * np.abs(Xc.T @ h).max())
    assert h_sum == pytest.approx(h.sum(), rel=tol)
    # no columns: only the intercept's curvature, z = b on every row
    H0, H_wb0, h_sum0 = rows.hessian(np.zeros(X.shape[1], dtype), b, cols[:0])
    assert H0.shape == (0, 0) and H_wb0.shape == (0,)
    p0 = 1.0 / (1.0 + np.exp(-b))
    s_sum = X.shape[0] if sw is None else float(sw.astype(np.float64).sum())
    assert h_sum0 == pytest.approx(s_sum * p0 * (1 - p0), rel=tol)


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("n_out", [1, 3])
def test_a_pass_at_the_last_point_is_not_repeated(layout, n_out):
    """``loss_grad`` at the (w, b) of its last pass returns that pass's values (fresh
    arrays: a caller adding its penalty in place changes nothing kept) without a pass;
    any other point makes one, whatever the penalty in between."""
    X, y, sw = problem(n_out, np.float64, True)
    obj = build(layout, X, y, sw, n_out, 0.5)
    passes = []
    rows_pass = obj.rows.loss_grad
    obj.rows.loss_grad = lambda *a, **k: passes.append(1) or rows_pass(*a, **k)
    w = np.linspace(-0.5, 0.5, n_out * X.shape[1])
    b = np.linspace(-0.2, 0.2, n_out)
    ref = objective(X, y, w, b[0], sw) if n_out == 1 else \
        multinomial_objective(X, y.astype(int), w.reshape(n_out, -1), b, sw)
    first = obj.loss_grad(w, b)
    grad_w = first[1]
    grad_w += 1.0  # the caller's in-place use
    obj.alpha_l2 = 2.0
    again = obj.loss_grad(w.copy(), b.copy())
    assert len(passes) == 1
    assert again[0] == pytest.approx(ref, rel=1e-12)
    np.testing.assert_array_equal(again[1], grad_w - 1.0)
    w[0] += 1e-12
    obj.loss_grad(w, b)
    assert len(passes) == 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_l1_newton_model_weights_and_step_match_numpy(dtype, weighted):
    # sparse X with L1: the model is a CoordinateModel over (w[cols], b); its Hessian
    # weights h = s p (1 - p) (kept from the last pass at that point, else a pass of
    # their own) and its step solve NumPy's formed model
    X, y, sw = problem(1, dtype, weighted, seed=4, n=500, d=8)
    rows = SparseRows(sp.csr_matrix(X), y, np.empty(0, dtype) if sw is None else sw, 1)
    obj = LogisticObjective(rows, True, 0.3, 0.7)
    assert not obj.forms_hessian and build("dense", X, y, sw, 1, 0.3).forms_hessian
    rng = np.random.default_rng(1)
    w, b = (rng.standard_normal(8) * 0.5).astype(dtype), 0.2
    w[[2, 5]] = 0.0
    s = np.ones(500) if sw is None else sw.astype(np.float64)
    p = 1 / (1 + np.exp(-(X.astype(np.float64) @ w + b)))
    h_ref = s * p * (1 - p)
    cols = np.array([0, 1, 2, 4, 6, 7])
    rows.columns()
    obj.loss_grad(w, np.array([b]))          # the pass whose h the model reuses
    kept = obj.quadratic_model(w, b, np.r_[np.full(6, 0.7), 0.0], cols)
    fresh = obj.quadratic_model(w, b, np.r_[np.full(6, 0.7), 0.0], cols)  # own pass
    np.testing.assert_array_equal(kept.h, fresh.h)
    np.testing.assert_allclose(kept.h, h_ref, rtol=1e-12 if dtype == np.float64 else 1e-5)
    _, gw, gb, _ = obj.loss_grad(w, np.array([b]))
    g = np.r_[gw[cols] + 0.3 * w[cols], gb]
    theta = np.r_[w[cols], b].astype(np.float64)
    l1 = np.r_[np.full(6, 0.7), 0.0]
    fresh.INNER_FORCING = 0.0
    delta = fresh.step(g, theta)
    A = np.column_stack([X[:, cols].astype(np.float64), np.ones(500)])
    H = A.T @ (fresh.h.astype(np.float64)[:, None] * A) + np.diag(np.r_[np.full(6, 0.3), 0])
    grad = g + H @ delta
    u = theta + delta
    sub = np.where(u != 0, grad + l1 * np.sign(u),
                   np.sign(grad) * np.maximum(np.abs(grad) - l1, 0.0))
    assert np.abs(sub).max() < 1e-8 * max(1.0, np.abs(g).max())


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_hessian_over_a_working_set_is_the_numpy_matrix(layout, dtype,
                                                                   weighted, monkeypatch):
    """``multinomial_hessian(P, sel)``: the submatrix, over each class's coordinates
    ``sel[k]`` (columns of [X, 1]), of sum_i s_i kron(diag(p_i) - p_i p_i.T,
    x_i x_i.T), from NumPy's softmax in float64; gathered in many small tiles here."""
    from scipy.special import softmax

    from clogreg import _rows
    monkeypatch.setattr(_rows, "HESSIAN_GATHER_ELEMS", 40)
    K, n, d = 3, 503, 7
    X, y, sw = problem(K, dtype, weighted, n=n, d=d)
    rows = build(layout, X, y, sw, K, 0.0).rows
    rng = np.random.default_rng(1)
    W, b = 0.3 * rng.standard_normal((K, d)), np.array([0.1, -0.2, 0.3])
    sel = [np.array([0, 2, d]), np.array([1, 2, 3, 4, 6]), np.array([d])]  # d: intercept
    H = rows.multinomial_hessian(rows.class_probabilities(W.astype(dtype), b), sel)
    Xa = np.hstack([X.astype(np.float64), np.ones((n, 1))])
    P = softmax(Xa @ np.hstack([W.astype(dtype).astype(np.float64), b[:, None]]).T, axis=1)
    s = np.ones(n) if sw is None else sw.astype(np.float64)
    M = np.einsum("ik,kl->ikl", P, np.eye(K)) - P[:, :, None] * P[:, None, :]
    full = np.einsum("i,ikl,ij,ih->kjlh", s, M, Xa, Xa).reshape(K * (d + 1), K * (d + 1))
    flat = np.concatenate([k * (d + 1) + c for k, c in enumerate(sel)])
    ref = full[np.ix_(flat, flat)]
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(H, ref, rtol=0, atol=tol * np.abs(ref).max())


def test_l1_model_step_solves_the_model_where_coordinate_descent_crawls():
    """A singular A (two collinear columns) with L1: coordinate descent cut to 10
    sweeps misses the inner tolerance, ADMM takes over and meets it (optimality from
    NumPy's A); run to a tight tolerance, ADMM reaches the model's minimum, as SciPy's
    L-BFGS-B on the split form u = a - c, a, c >= 0 finds it."""
    from scipy.optimize import minimize

    from clogreg import _dispatch
    from clogreg._objective import (
        INNER_FORCING,
        QuadraticModel,
        admm_l1,
        min_norm_subgradient,
    )
    rng = np.random.default_rng(1)
    B = rng.standard_normal((200, 6))
    B = np.hstack([B, B[:, :2] @ rng.standard_normal((2, 2)) + B[:, 2:4]])  # rank 6 of 8
    A = B.T @ B / 200
    g = A @ rng.standard_normal(8)                       # in A's range: bounded model
    theta, l1 = 0.5 * rng.standard_normal(8), np.full(8, 0.3)
    model = QuadraticModel(np.tril(A), l1, _dispatch.kernel, cd_sweeps=10)
    delta = model.step(g, theta)
    assert model.admm_iterations > 0
    assert min_norm_subgradient(g + A @ delta, theta + delta, l1) <= \
        INNER_FORCING * min_norm_subgradient(g, theta, l1)

    def value(u):                                        # the model at u = theta + delta
        e = u - theta
        return g @ e + 0.5 * e @ A @ e + l1 @ np.abs(u)

    def split(ac):
        a, c = ac[:8], ac[8:]
        e = a - c - theta
        grad = g + A @ e
        return g @ e + 0.5 * e @ A @ e + l1 @ (a + c), np.concatenate([grad + l1, -grad + l1])

    start = np.concatenate([np.maximum(theta, 0), np.maximum(-theta, 0)])
    res = minimize(split, start, jac=True, method="L-BFGS-B", bounds=[(0, None)] * 16,
                   options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 10_000})
    best = res.x[:8] - res.x[8:]
    u, iterations = admm_l1(A, g, theta, l1, theta.copy(), lambda u_: min_norm_subgradient(
        g + A @ (u_ - theta), u_, l1) <= 1e-10, max_iter=100_000)
    assert iterations < 100_000
    assert value(u) <= value(best) + 1e-9 * (1 + abs(value(best)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept, alpha_l2", [(True, 0.0), (True, 3.0), (False, 3.0)])
def test_one_call_newton_step_is_the_numpy_newton_step(dtype, weighted, fit_intercept,
                                                       alpha_l2):
    # the kernel's Hessian pass and Cholesky solve in one call, against the Newton step
    # solved by NumPy from NumPy's Hessian [X, 1].T diag(s p (1 - p)) [X, 1] + alpha_l2
    # on the weights; and bit for bit the step of the model that it stands in for
    X, y, sw = problem(1, dtype, weighted)
    n, d = X.shape
    obj = LogisticObjective(DenseRows(X, y, np.empty(0, dtype) if sw is None else sw, 1),
                            fit_intercept, alpha_l2, 0.0)
    rng = np.random.default_rng(1)
    w, b = (0.3 * rng.standard_normal(d)).astype(dtype), -0.2
    m = d + 1 if fit_intercept else d
    g = rng.standard_normal(m)
    delta = obj.newton_direction(w, b, g)

    X64 = X.astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-(X64 @ w.astype(np.float64) + b)))
    h = p * (1.0 - p) * (1.0 if sw is None else sw.astype(np.float64))
    Z = np.column_stack([X64, np.ones(n)]) if fit_intercept else X64
    A = Z.T @ (h[:, None] * Z)
    A[np.arange(d), np.arange(d)] += alpha_l2
    expected = -np.linalg.solve(A, g)
    tol = 1e-10 if dtype == np.float64 else 1e-4  # float32 sums in the Hessian pass
    np.testing.assert_allclose(delta, expected, rtol=tol, atol=tol * np.abs(expected).max())

    theta = np.append(w.astype(np.float64), b) if fit_intercept else w.astype(np.float64)
    model = obj.quadratic_model(w, b, np.zeros(m))
    np.testing.assert_array_equal(delta, model.step(g, theta))


def test_one_call_newton_step_leaves_singular_and_overflowing_hessians_to_the_model():
    X, y, _ = problem(1, np.float64, False)
    w, g = np.zeros(X.shape[1] + 1), np.ones(X.shape[1] + 2)
    # a repeated column, no penalty: singular, so no Cholesky; None sends the solver
    # to the model's least-squares step
    X2 = np.column_stack([X, X[:, 0]])
    obj = LogisticObjective(DenseRows(X2, y, np.empty(0), 1), True, 0.0, 0.0)
    assert obj.newton_direction(w, 0.0, g) is None
    assert obj.quadratic_model(w, 0.0, np.zeros(g.size)).chol is None  # it agrees
    # sums of squares that overflow: the model's error, before any solve
    huge = LogisticObjective(DenseRows(X * 1e160, y, np.empty(0), 1), True, 0.0, 0.0)
    with pytest.raises(ValueError, match="the Hessian's sums of squares"):
        huge.newton_direction(w[:-1], 0.0, g[:-1])
    with pytest.raises(ValueError, match="the Hessian's sums of squares"):
        huge.quadratic_model(w[:-1], 0.0, np.zeros(g.size - 1))
    # a step of the wrong length: refused by the kernel before its pass
    with pytest.raises(ValueError, match="delta must have d = 6 or d \\+ 1 entries"):
        obj.rows.kernel.newton_direction(X, y, np.empty(0), w[:-2], 0.0, g, 0.0, 1e-13,
                                         np.empty(3))
