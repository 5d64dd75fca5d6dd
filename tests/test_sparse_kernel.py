"""The CSR kernel passes against independent references (NumPy/SciPy, finite differences).

Random CSR matrices cover densities 0 to 1, empty rows and columns, explicit zeros,
unsorted and repeated column indices, int32 and int64 indices, float32 and float64.
"""
import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp
from reference import multinomial_objective, objective
from scipy.special import expit, logsumexp

from clogreg import _kernel

RTOL = {np.float64: 1e-10, np.float32: 2e-5}


def make_csr(n=600, d=40, density=0.1, seed=0, dtype=np.float64, index_dtype=np.int32,
             unsorted=True, duplicates=True, explicit_zeros=True):
    """CSR arrays built by hand (not by SciPy's canonical constructors), with the
    last three columns and every seventh row empty, some stored zeros, repeated
    column indices within a row and rows in random column order."""
    rng = np.random.default_rng(seed)
    counts = rng.binomial(d - 3, density, n)
    counts[::7] = 0
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(index_dtype)
    cols = []
    for c in counts:
        row = rng.choice(d - 3, c, replace=False)
        if duplicates and c > 2:
            row[-1] = row[0]          # one repeated column: the entries add up
        if not unsorted:
            row = np.sort(row)
        cols.append(row)
    indices = np.concatenate(cols + [np.empty(0, int)]).astype(index_dtype)
    data = rng.standard_normal(indices.shape[0])
    if explicit_zeros:
        data[::5] = 0.0
    data = data.astype(dtype)
    dense = sp.csr_matrix((data.astype(np.float64), indices, indptr), shape=(n, d)).toarray()
    return data, indices, indptr, dense


def labels(n, seed, dtype, K=None):
    rng = np.random.default_rng(seed)
    if K is None:
        return (rng.random(n) < 0.4).astype(dtype)
    return rng.integers(0, K, n).astype(dtype)


def weights(n, seed, dtype, weighted):
    if not weighted:
        return np.empty(0, dtype)
    return np.random.default_rng(seed).uniform(0.2, 3.0, n).astype(dtype)


def binary_pass(data, indices, indptr, d, y, sw, w, b, n_threads=1):
    grad = np.empty(d, data.dtype)
    h = np.empty(y.shape[0], data.dtype)
    loss, grad_b, correct = _kernel.csr_loss_grad(data, indices, indptr, d, y, sw, w, b,
                                                  grad, n_threads=n_threads, h_out=h)
    return loss, grad_b, correct, grad, h


def multinomial_pass(data, indices, indptr, d, y, sw, W, b, n_threads=1):
    grad = np.empty(W.shape[0], data.dtype)
    grad_b = np.empty(b.shape[0])
    loss, correct = _kernel.csr_multinomial_loss_grad(data, indices, indptr, d, y, sw, W,
                                                      b, grad, grad_b, n_threads=n_threads)
    return loss, correct, grad, grad_b


CASES = [  # (n, d, density): empty, very sparse, sparse over several blocks, full
    (300, 20, 0.0), (9_000, 40, 0.01), (9_000, 40, 0.3), (700, 25, 1.0)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n, d, density", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_loss_grad_and_hessian_weights_match_numpy(dtype, index_dtype, n, d, density,
                                                   weighted):
    data, indices, indptr, X = make_csr(n, d, density, seed=d, dtype=dtype,
                                        index_dtype=index_dtype)
    y, sw = labels(n, 1, dtype), weights(n, 2, dtype, weighted)
    rng = np.random.default_rng(3)
    w, b = (rng.standard_normal(d) * 0.5).astype(dtype), 0.3
    loss, grad_b, correct, grad, h = binary_pass(data, indices, indptr, d, y, sw, w, b)
    s = np.ones(n) if not weighted else sw.astype(np.float64)
    z = X @ w.astype(np.float64) + b
    p = expit(z)
    rtol = RTOL[dtype]
    ref_grad = X.T @ (s * (p - y))
    assert loss == pytest.approx(objective(X, y, w.astype(np.float64), b, s), rel=rtol)
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol,
                               atol=rtol * max(1.0, np.abs(ref_grad).max()))
    assert grad_b == pytest.approx(np.sum(s * (p - y)), rel=rtol, abs=rtol * s.sum())
    np.testing.assert_allclose(h, s * p * (1 - p), rtol=rtol, atol=rtol * 1e-3)
    ref_correct = np.sum((z > 0) == (y > 0.5))
    assert abs(correct - ref_correct) <= (0 if dtype == np.float64 else 2)
    assert grad.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n, d, density", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_loss_grad_matches_numpy(dtype, index_dtype, n, d, density, weighted):
    K = 3
    data, indices, indptr, X = make_csr(n, d, density, seed=d + 1, dtype=dtype,
                                        index_dtype=index_dtype)
    y, sw = labels(n, 4, dtype, K), weights(n, 5, dtype, weighted)
    rng = np.random.default_rng(6)
    W = (rng.standard_normal(K * d) * 0.5).astype(dtype)
    b = rng.standard_normal(K)
    loss, correct, grad, grad_b = multinomial_pass(data, indices, indptr, d, y, sw, W, b)
    s = np.ones(n) if not weighted else sw.astype(np.float64)
    yi = y.astype(int)
    Z = X @ W.astype(np.float64).reshape(K, d).T + b
    R = s[:, None] * (np.exp(Z - logsumexp(Z, axis=1)[:, None]) - np.eye(K)[yi])
    rtol = RTOL[dtype]
    assert loss == pytest.approx(
        multinomial_objective(X, yi, W.astype(np.float64).reshape(K, d), b, s), rel=rtol)
    ref = (R.T @ X).ravel()
    np.testing.assert_allclose(grad, ref, rtol=rtol, atol=rtol * max(1.0, np.abs(ref).max()))
    np.testing.assert_allclose(grad_b, R.sum(0), rtol=rtol, atol=rtol * s.sum())
    assert abs(correct - np.sum(Z.argmax(1) == yi)) <= (0 if dtype == np.float64 else 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n, d, density", CASES)
def test_hessp_matches_numpy(dtype, index_dtype, n, d, density):
    data, indices, indptr, X = make_csr(n, d, density, seed=d + 2, dtype=dtype,
                                        index_dtype=index_dtype)
    rng = np.random.default_rng(7)
    h = rng.uniform(0.0, 0.25, n).astype(dtype)
    v = rng.standard_normal(d).astype(dtype)
    out = np.empty(d, dtype)
    out_b = _kernel.csr_hessp(data, indices, indptr, d, h, v, -0.7, out)
    u = h.astype(np.float64) * (X @ v.astype(np.float64) - 0.7)
    rtol = RTOL[dtype]
    np.testing.assert_allclose(out, X.T @ u, rtol=rtol,
                               atol=rtol * max(1.0, np.abs(X.T @ u).max()))
    assert out_b == pytest.approx(u.sum(), rel=rtol, abs=rtol * np.abs(u).sum())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("n, d, density", CASES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("with_y", [False, True])
def test_column_stats_match_numpy(dtype, index_dtype, n, d, density, weighted, with_y):
    # squares are per stored entry: a matrix with repeated entries is summed first
    data, indices, indptr, X = make_csr(n, d, density, seed=d + 3, dtype=dtype,
                                        index_dtype=index_dtype, duplicates=False)
    sw = weights(n, 8, dtype, weighted)
    y = labels(n, 9, dtype) if with_y else np.empty(0, dtype)
    out = np.full((3 if with_y else 2, d), np.nan)
    _kernel.csr_column_stats(data, indices, indptr, d, sw, y, out)
    s = np.ones(n) if not weighted else sw.astype(np.float64)
    ref = [s @ X, s @ X**2] + ([(s * y) @ X] if with_y else [])
    np.testing.assert_allclose(out, np.array(ref), rtol=1e-12, atol=1e-12 * n)


def test_gradient_and_hessp_match_central_finite_differences():
    n, d = 800, 12
    data, indices, indptr, _X = make_csr(n, d, 0.4, seed=11)
    y, sw = labels(n, 12, np.float64), weights(n, 13, np.float64, True)
    rng = np.random.default_rng(14)
    w, b = rng.standard_normal(d) * 0.3, -0.2

    def loss_grad(w, b):
        loss, grad_b, _, grad, h = binary_pass(data, indices, indptr, d, y, sw, w, b)
        return loss, grad, grad_b, h

    _loss, grad, grad_b, h = loss_grad(w, b)
    eps = 1e-6
    for j in range(d):
        e = np.zeros(d)
        e[j] = eps
        fd = (loss_grad(w + e, b)[0] - loss_grad(w - e, b)[0]) / (2 * eps)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    fd_b = (loss_grad(w, b + eps)[0] - loss_grad(w, b - eps)[0]) / (2 * eps)
    assert grad_b == pytest.approx(fd_b, rel=1e-6, abs=1e-6)
    # Hessian-vector product in (w, b) against differences of the gradient
    v, v_b = rng.standard_normal(d), 0.8
    out = np.empty(d)
    out_b = _kernel.csr_hessp(data, indices, indptr, d, h, v, v_b, out)
    plus, minus = loss_grad(w + eps * v, b + eps * v_b), loss_grad(w - eps * v, b - eps * v_b)
    np.testing.assert_allclose(out, (plus[1] - minus[1]) / (2 * eps), rtol=1e-6, atol=1e-6)
    assert out_b == pytest.approx((plus[2] - minus[2]) / (2 * eps), rel=1e-6, abs=1e-6)


def test_multinomial_gradient_matches_central_finite_differences():
    n, d, K = 500, 8, 4
    data, indices, indptr, _ = make_csr(n, d, 0.5, seed=15)
    y, sw = labels(n, 16, np.float64, K), weights(n, 17, np.float64, True)
    rng = np.random.default_rng(18)
    W, b = rng.standard_normal(K * d) * 0.3, rng.standard_normal(K)
    _, _, grad, grad_b = multinomial_pass(data, indices, indptr, d, y, sw, W, b)
    eps = 1e-6
    for j in range(K * d):
        e = np.zeros(K * d)
        e[j] = eps
        fd = (multinomial_pass(data, indices, indptr, d, y, sw, W + e, b)[0] -
              multinomial_pass(data, indices, indptr, d, y, sw, W - e, b)[0]) / (2 * eps)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    for k in range(K):
        e = np.zeros(K)
        e[k] = eps
        fd = (multinomial_pass(data, indices, indptr, d, y, sw, W, b + e)[0] -
              multinomial_pass(data, indices, indptr, d, y, sw, W, b - e)[0]) / (2 * eps)
        assert grad_b[k] == pytest.approx(fd, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_and_dense_passes_agree_to_rounding(dtype):
    # the same arithmetic per row as the dense kernel (_exp_neg_abs, _log1p_unit):
    # only the order of the sums differs
    n, d, K = 9_000, 30, 3
    data, indices, indptr, X = make_csr(n, d, 0.2, seed=19, dtype=dtype, duplicates=False)
    Xd = X.astype(dtype)  # exact: X holds data's values
    y, sw = labels(n, 20, dtype), weights(n, 21, dtype, True)
    w = (np.random.default_rng(22).standard_normal(d) * 0.4).astype(dtype)
    loss, grad_b, correct, grad, _ = binary_pass(data, indices, indptr, d, y, sw, w, 0.1)
    dense_grad = np.empty(d, dtype)
    dl, dgb, dc = _kernel.loss_grad(Xd, y, sw, w, 0.1, dense_grad)
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    assert loss == pytest.approx(dl, rel=rtol)
    np.testing.assert_allclose(grad, dense_grad, rtol=50 * rtol,
                               atol=50 * rtol * np.abs(dense_grad).max())
    assert grad_b == pytest.approx(dgb, rel=50 * rtol, abs=rtol * n)
    if dtype == np.float64:
        assert correct == dc
    ym = labels(n, 23, dtype, K)
    W = (np.random.default_rng(24).standard_normal(K * d) * 0.4).astype(dtype)
    b = np.array([0.1, -0.2, 0.3])
    ml, _mc, mg, mgb = multinomial_pass(data, indices, indptr, d, ym, sw, W, b)
    dense_mg, dense_mgb = np.empty(K * d, dtype), np.empty(K)
    dml, _dmc = _kernel.multinomial_loss_grad(Xd, ym, sw, W, b, dense_mg, dense_mgb)
    assert ml == pytest.approx(dml, rel=rtol)
    np.testing.assert_allclose(mg, dense_mg, rtol=50 * rtol,
                               atol=50 * rtol * np.abs(dense_mg).max())
    np.testing.assert_allclose(mgb, dense_mgb, rtol=50 * rtol, atol=rtol * n)
    out, dense_out = np.empty((3, d)), np.empty((3, d))
    _kernel.csr_column_stats(data, indices, indptr, d, sw, y, out)
    _kernel.column_stats(Xd, sw, y, dense_out)
    np.testing.assert_allclose(out, dense_out, rtol=1e-12, atol=1e-12 * n)


def test_results_are_bit_identical_for_any_thread_count_and_index_dtype():
    n, d, K = 40_000, 50, 3
    data, indices, indptr, _ = make_csr(n, d, 0.1, seed=25)
    assert -(-n // _kernel.csr_block_rows(n, data.shape[0], d)) > 4   # several blocks
    y, sw = labels(n, 26, np.float64), weights(n, 27, np.float64, True)
    ym = labels(n, 28, np.float64, K)
    rng = np.random.default_rng(29)
    w, W, b = rng.standard_normal(d), rng.standard_normal(K * d), rng.standard_normal(K)
    v = rng.standard_normal(d)

    def run(n_threads, index_dtype):
        ind, ptr = indices.astype(index_dtype), indptr.astype(index_dtype)
        loss, grad_b, correct, grad, h = binary_pass(data, ind, ptr, d, y, sw, w, 0.2,
                                                     n_threads)
        out = np.empty(d)
        out_b = _kernel.csr_hessp(data, ind, ptr, d, h, v, 0.5, out, n_threads=n_threads)
        ml, mc, mg, mgb = multinomial_pass(data, ind, ptr, d, ym, sw, W, b, n_threads)
        stats = np.empty((3, d))
        _kernel.csr_column_stats(data, ind, ptr, d, sw, y, stats, n_threads=n_threads)
        return [loss, grad_b, correct, out_b, ml, mc], [grad, h, out, mg, mgb, stats]

    scalars, arrays = run(1, np.int32)
    for n_threads, index_dtype in [(2, np.int32), (3, np.int32), (1, np.int64),
                                   (3, np.int64)]:
        other_scalars, other_arrays = run(n_threads, index_dtype)
        assert other_scalars == scalars
        for a, o in zip(arrays, other_arrays):
            np.testing.assert_array_equal(o, a)


def test_read_only_arrays_and_mixed_index_dtypes_work():
    n, d = 500, 10
    data, indices, indptr, _X = make_csr(n, d, 0.3, seed=30)
    y, sw = labels(n, 31, np.float64), weights(n, 32, np.float64, True)
    w = np.random.default_rng(33).standard_normal(d)
    expected = binary_pass(data, indices, indptr, d, y, sw, w, 0.0)
    for a in (data, indices, indptr, y, sw, w):
        a.setflags(write=False)
    got = binary_pass(data, indices, indptr, d, y, sw, w, 0.0)
    assert got[:3] == expected[:3]
    np.testing.assert_array_equal(got[3], expected[3])
    mixed = binary_pass(data, indices, indptr.astype(np.int64), d, y, sw, w, 0.0)
    np.testing.assert_array_equal(mixed[3], expected[3])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_huge_margins_stay_finite(dtype):
    # |z| = 1e4: a naive log(sigmoid) gives -inf and exp(-z) overflows
    X = sp.csr_matrix(np.array([[1e4, 0], [0, -1e4], [1e4, 0], [0, -1e4]], dtype=dtype))
    y = np.array([1, 0, 0, 1], dtype=dtype)
    loss, _, correct, grad, h = binary_pass(X.data, X.indices, X.indptr, 2, y,
                                            np.empty(0, dtype), np.ones(2, dtype), 0.0)
    assert loss == pytest.approx(2e4, rel=1e-6) and correct == 2
    assert np.all(np.isfinite(grad)) and np.all(h >= 0)


def test_empty_matrix_gives_the_loss_at_zero():
    n, d = 50, 7
    indptr = np.zeros(n + 1, np.int32)
    y = labels(n, 34, np.float64)
    loss, grad_b, _, grad, h = binary_pass(np.empty(0), np.empty(0, np.int32), indptr, d,
                                           y, np.empty(0), np.ones(d), 0.0)
    assert loss == pytest.approx(n * np.log(2), rel=1e-15)
    assert np.all(grad == 0) and grad_b == pytest.approx(n / 2 - y.sum())
    np.testing.assert_allclose(h, 0.25)


def test_a_million_hashed_columns_use_memory_of_order_d_not_blocks_times_d():
    # 20,000 rows x 10**6 columns, 20 entries a row: one block's partial gradient
    # (8 MB) plus O(n); an (n / 4096) x d array would be 40 MB
    n, d = 20_000, 10**6
    rng = np.random.default_rng(35)
    indptr = np.arange(0, 20 * n + 1, 20, dtype=np.int64)
    indices = rng.integers(0, d, 20 * n).astype(np.int32)
    data = rng.random(20 * n)
    y, sw = labels(n, 36, np.float64), np.empty(0)
    w, grad = rng.standard_normal(d) * 0.01, np.empty(d)
    tracemalloc.start()
    try:
        loss, _, _ = _kernel.csr_loss_grad(data, indices, indptr, d, y, sw, w, 0.0, grad)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * d + 16 * n + 2**20
    z = sp.csr_matrix((data, indices, indptr), shape=(n, d)) @ w
    assert loss == pytest.approx(np.sum(np.logaddexp(0, z) - y * z), rel=1e-12)
    # the layout bounds the partial sums for any size: at most 256 MiB of them
    for n_rows, nnz, n_out in [(10**6, 5 * 10**7, 1), (10**7, 10**9, 10), (10**5, 10**5, 1)]:
        blocks = -(-n_rows // _kernel.csr_block_rows(n_rows, nnz, d, n_out))
        assert 1 <= blocks <= 16 and (blocks == 1 or blocks * n_out * d * 8 <= 2**28)


def _valid():
    data, indices, indptr, _ = make_csr(40, 6, 0.5, seed=37)
    return {"data": data, "indices": indices, "indptr": indptr, "n_features": 6,
            "y": labels(40, 38, np.float64), "sw": np.empty(0), "w": np.zeros(6), "b": 0.0,
            "grad": np.empty(6)}


def _broken(**changes):
    args = _valid()
    for k, f in changes.items():
        args[k] = f(args[k]) if callable(f) else f
    return args


def _decreasing(indptr):
    indptr = indptr.copy()
    indptr[5], indptr[6] = indptr[6], indptr[5]
    return indptr


def _with_index(value):
    def change(indices):
        indices = indices.copy()
        indices[len(indices) // 2] = value
        return indices
    return change


@pytest.mark.parametrize("changes, message", [
    ({"indptr": lambda p: p[:-1]}, "indptr must have n_samples \\+ 1 = 41 entries"),
    ({"indptr": lambda p: p + 1}, "indptr\\[0\\] must be 0"),
    ({"data": lambda a: a[:-1], "indices": lambda a: a[:-1]}, "disagrees with the number"),
    ({"data": lambda a: a[:-1]}, "data and indices must have the same length"),
    ({"indptr": _decreasing}, "indptr must be non-decreasing"),
    ({"indices": _with_index(6)}, "must lie in \\[0, n_features = 6\\), found 6"),
    ({"indices": _with_index(-1)}, "must lie in \\[0, n_features = 6\\), found -1"),
    ({"indices": lambda a: _with_index(2**40)(a.astype(np.int64))}, "found 1099511627776"),
    ({"data": lambda a: a.astype(np.float16)}, "must be float32 or float64"),
    ({"indices": lambda a: a.astype(np.int16)}, "indices must be int32 or int64"),
    ({"y": lambda a: a.astype(np.float32)}, "y must have the dtype of the CSR data"),
    ({"w": np.zeros(5)}, "inconsistent shapes"),
    ({"n_features": 0}, "at least one row and one column"),
    ({"indptr": lambda p: p.reshape(1, -1)}, "CSR indptr must be one-dimensional, got shape "
                                             "\\(1, 41\\)"),
    ({"data": lambda a: a.reshape(-1, 1)}, "CSR data must be one-dimensional"),
])
def test_malformed_input_is_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        _kernel.csr_loss_grad(**_broken(**changes))


def test_every_pass_checks_the_indices():
    data, indices, indptr, _ = make_csr(40, 6, 0.5, seed=39)
    bad = _with_index(9)(indices)
    h, v, out = np.full(40, 0.25), np.ones(6), np.empty(6)
    with pytest.raises(ValueError, match="found 9"):
        _kernel.csr_hessp(data, bad, indptr, 6, h, v, 0.0, out)
    with pytest.raises(ValueError, match="found 9"):
        _kernel.csr_column_stats(data, bad, indptr, 6, np.empty(0), np.empty(0),
                                 np.empty((2, 6)))
    y = labels(40, 40, np.float64, 3)
    args = (np.zeros(18), np.zeros(3), np.empty(18), np.empty(3))
    with pytest.raises(ValueError, match="found 9"):
        _kernel.csr_multinomial_loss_grad(data, bad, indptr, 6, y, np.empty(0), *args)
    with pytest.raises(ValueError, match="non-decreasing"):
        _kernel.csr_multinomial_loss_grad(data, indices, _decreasing(indptr), 6, y,
                                          np.empty(0), *args)
    with pytest.raises(ValueError, match="class indices must lie in \\[0, 3\\)"):
        _kernel.csr_multinomial_loss_grad(data, indices, indptr, 6, y + 1, np.empty(0),
                                          *args)
    with pytest.raises(ValueError, match="out must be a C-contiguous float64 array"):
        _kernel.csr_column_stats(data, indices, indptr, 6, np.empty(0), np.empty(0),
                                 np.empty((3, 6)))


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_repeated_entries_are_found_in_sorted_and_unsorted_rows(index_dtype):
    for unsorted in (False, True):
        data, indices, indptr, _ = make_csr(300, 20, 0.3, seed=41, index_dtype=index_dtype,
                                            unsorted=unsorted, duplicates=True)
        assert _kernel.csr_has_duplicates(data, indices, indptr, 20)
        data, indices, indptr, _ = make_csr(300, 20, 0.3, seed=41, index_dtype=index_dtype,
                                            unsorted=unsorted, duplicates=False)
        assert not _kernel.csr_has_duplicates(data, indices, indptr, 20)
    # the same column in two different rows is no repeat
    assert not _kernel.csr_has_duplicates(np.ones(2), np.array([3, 3], index_dtype),
                                          np.array([0, 1, 2], index_dtype), 5)
    with pytest.raises(ValueError, match="found 5"):
        _kernel.csr_has_duplicates(np.ones(2), np.array([3, 5], index_dtype),
                                   np.array([0, 1, 2], index_dtype), 5)


def test_every_pass_checks_indptr_and_the_other_shapes():
    data, indices, indptr, _ = make_csr(40, 6, 0.5, seed=39)
    h, v, out = np.full(40, 0.25), np.ones(6), np.empty(6)
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        _kernel.csr_hessp(data, indices, _decreasing(indptr), 6, h, v, 0.0, out)
    with pytest.raises(ValueError, match="csr_hessp: v and out must have n_features entries"):
        _kernel.csr_hessp(data, indices, indptr, 6, h, np.ones(5), 0.0, out)
    y = labels(40, 40, np.float64, 3)
    with pytest.raises(ValueError, match="csr_multinomial_loss_grad needs K >= 2 classes, "
                                         "got 1"):
        _kernel.csr_multinomial_loss_grad(data, indices, indptr, 6, y * 0, np.empty(0),
                                          np.zeros(6), np.zeros(1), np.empty(6), np.empty(1))
    with pytest.raises(ValueError, match="y, sample_weight, W, b, grad and grad_b have "
                                         "inconsistent shapes"):
        _kernel.csr_multinomial_loss_grad(data, indices, indptr, 6, y, np.empty(0),
                                          np.zeros(12), np.zeros(3), np.empty(18), np.empty(3))
    stats = np.empty((2, 6))
    with pytest.raises(ValueError, match="CSR indptr must have n_samples \\+ 1 >= 2 entries"):
        _kernel.csr_column_stats(data[:0], indices[:0], indptr[:1], 6, np.empty(0),
                                 np.empty(0), stats)
    with pytest.raises(ValueError, match="sample_weight and y must have n_samples entries"):
        _kernel.csr_column_stats(data, indices, indptr, 6, np.ones(39), np.empty(0), stats)
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        _kernel.csr_column_stats(data, indices, _decreasing(indptr), 6, np.empty(0),
                                 np.empty(0), stats)
    with pytest.raises(ValueError, match="indptr must be non-decreasing"):
        _kernel.csr_has_duplicates(data, indices, _decreasing(indptr), 6)


def test_a_wide_gradient_is_added_up_on_threads_bit_identically():
    """From 65,536 columns on, the blocks' partial gradients are added on threads:
    the same bits as on one thread, and SciPy's X.T @ r."""
    n, d = 30, 70_000
    rng = np.random.default_rng(42)
    X = sp.random(n, d, density=2e-4, format="csr", random_state=42)
    y = labels(n, 43, np.float64)
    w = rng.standard_normal(d) * (rng.random(d) < 0.01)
    grads = []
    for n_threads in (1, 2):
        grad = np.empty(d)
        loss, grad_b, _ = _kernel.csr_loss_grad(X.data, X.indices, X.indptr, d, y,
                                                np.empty(0), w, 0.5, grad, n_threads)
        grads.append(grad)
    np.testing.assert_array_equal(grads[0], grads[1])
    z = X @ w + 0.5
    np.testing.assert_allclose(grads[1], X.T @ (expit(z) - y), rtol=1e-12, atol=1e-15)
    assert loss == pytest.approx(objective(X.toarray(), y, w, 0.5), rel=1e-12)


# ------------------------------------------------------- coordinate descent (CSC)
def _model_subgradient(A, h, g, theta, l1, a2, delta):
    """NumPy: the smallest subgradient (max-norm) of the proximal Newton model
    g.delta + delta.H.delta/2 + sum l1 |theta + delta|, H = A.T diag(h) A + a2 on
    the coefficients (the last column of A the intercept's ones, unpenalised)."""
    H = A.T @ (h[:, None] * A)
    H[np.arange(A.shape[1] - 1), np.arange(A.shape[1] - 1)] += a2
    grad = g + H @ delta
    u = theta + delta
    sub = np.where(u != 0, grad + l1 * np.sign(u),
                   np.sign(grad) * np.maximum(np.abs(grad) - l1, 0.0))
    return np.abs(sub).max()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("density", [0.0, 0.05, 0.5])
def test_csc_coordinate_descent_solves_the_proximal_newton_model(dtype, index_dtype,
                                                                   density):
    X = make_csr(n=300, d=40, density=density, seed=11, dtype=dtype)[3]
    Xc = sp.csc_matrix(X.astype(dtype))
    rng = np.random.default_rng(3)
    cols = np.array(sorted(rng.choice(40, 25, replace=False)))
    h = rng.uniform(0.0, 0.25, 300).astype(dtype)
    m = cols.size + 1
    g = rng.standard_normal(m) * 5
    theta = np.where(rng.random(m) < 0.5, 0.0, rng.standard_normal(m))
    theta[-1] = 0.3                              # the intercept
    l1 = np.full(m, 2.0)
    l1[-1] = 0.0
    delta = np.empty(m)
    sweeps, viol = _kernel.csc_cd_step(
        Xc.data, Xc.indices.astype(index_dtype), Xc.indptr.astype(index_dtype), cols, h,
        g, theta, l1, 0.5, True, delta, 10_000, 1e-11)
    A = np.column_stack([X[:, cols].astype(dtype).astype(np.float64), np.ones(300)])
    # optimal to the requested tolerance, by NumPy's own Hessian
    assert viol <= 1e-11 and sweeps < 10_000
    assert _model_subgradient(A, h.astype(np.float64), g, theta, l1, 0.5, delta) < 1e-8
    # L1 zeros are exact zeros of theta + delta; a zero start gives zero at g = 0
    assert np.any(theta[:-1] + delta[:-1] == 0.0)
    zero = np.empty(m)
    _kernel.csc_cd_step(Xc.data, Xc.indices, Xc.indptr, cols, h, np.zeros(m),
                        np.zeros(m), l1, 0.5, True, zero, 100, 0.0)
    assert not zero.any()


def test_csc_coordinate_descent_matches_the_dense_models_coordinate_descent():
    # the same algorithm on the formed (unscaled) Hessian: kernel.cd_quadratic
    rng = np.random.default_rng(5)
    X = sp.random(200, 30, density=0.2, random_state=5, format="csc")
    h = rng.uniform(0.01, 0.25, 200)
    cols = np.arange(30)
    g, theta = rng.standard_normal(30) * 3, np.zeros(30)
    l1 = np.full(30, 1.0)
    A = X.toarray()
    H = A.T @ (h[:, None] * A) + 0.1 * np.eye(30)
    dense = np.zeros(30)
    _kernel.cd_quadratic(H, g, theta, l1, dense, 10_000, 1e-14)
    delta = np.empty(30)
    _kernel.csc_cd_step(X.data, X.indices, X.indptr, cols, h, g, theta, l1, 0.1, False,
                        delta, 10_000, 1e-12)
    np.testing.assert_allclose(delta, dense, rtol=1e-9, atol=1e-11)


def test_csc_coordinate_descent_stops_at_the_tolerance_or_the_sweep_cap():
    X = sp.random(500, 50, density=0.3, random_state=1, format="csc")
    rng = np.random.default_rng(1)
    h, g = rng.uniform(0.1, 0.25, 500), rng.standard_normal(50) * 10
    args = (X.data, X.indices, X.indptr, np.arange(50), h, g, np.zeros(50),
            np.full(50, 0.5), 0.0, False)
    delta = np.empty(50)
    sweeps, viol = _kernel.csc_cd_step(*args, delta, 3, 0.0)
    assert sweeps == 3 and viol > 0
    loose, viol_loose = _kernel.csc_cd_step(*args, delta, 1000, 0.5 * viol)
    tight, viol_tight = _kernel.csc_cd_step(*args, delta, 1000, 1e-10)
    assert 3 < loose < tight < 1000 and viol_loose <= 0.5 * viol and viol_tight <= 1e-10


@pytest.mark.parametrize("change, message", [
    (lambda a: {**a, "cols": np.array([0, 40])}, "cols must lie in"),
    (lambda a: {**a, "cols": np.array([-1])}, "cols must lie in"),
    (lambda a: {**a, "indices": np.where(a["indices"] == a["indices"].max(), 10**6,
                                         a["indices"])}, "row indices must lie in"),
    (lambda a: {**a, "indptr": a["indptr"][::-1].copy()}, "indptr must be non-decreasing"),
    (lambda a: {**a, "h": a["h"].astype(np.float32)}, "dtype of the CSR data"),
    (lambda a: {**a, "g": a["g"][:-1]}, "g must have len"),
    (lambda a: {**a, "max_sweeps": 0}, "max_sweeps must be"),
])
def test_csc_coordinate_descent_refuses_malformed_input(change, message):
    X = sp.random(60, 40, density=0.3, random_state=2, format="csc")
    k = 5
    args = {"data": X.data, "indices": X.indices, "indptr": X.indptr,
            "cols": np.arange(k), "h": np.full(60, 0.2), "g": np.ones(k + 1),
            "theta": np.zeros(k + 1), "l1": np.ones(k + 1), "alpha_l2": 0.0,
            "fit_b": True, "delta": np.empty(k + 1), "max_sweeps": 10, "tol": 0.0}
    bad = change(args)
    if bad["cols"].size != k:   # keep the vectors' lengths consistent with cols
        m = bad["cols"].size + 1
        bad = {**bad, "g": np.ones(m), "theta": np.zeros(m), "l1": np.ones(m),
               "delta": np.empty(m)}
    with pytest.raises(ValueError, match=message):
        _kernel.csc_cd_step(*bad.values())


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_b", [True, False])
def test_csc_multinomial_coordinate_descent_solves_the_coupled_newton_model(weighted,
                                                                           fit_b):
    # against NumPy's own (K m, K m) softmax Hessian: sum_i s_i a_i a_i.T (x)
    # (diag(p_i) - p_i p_i.T), every class with its own working set
    rng = np.random.default_rng(8)
    n, d, K = 250, 12, 4
    X = sp.random(n, d, density=0.4, random_state=8, format="csc")
    Z = rng.standard_normal((n, K))
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    s = rng.uniform(0.3, 2.0, n) if weighted else np.ones(n)
    cols = [np.array(sorted(rng.choice(d, c, replace=False))) for c in (12, 7, 0, 5)]
    m = d + 1
    G, theta = rng.standard_normal((K, m)) * 20, rng.standard_normal((K, m))
    theta[rng.random((K, m)) < 0.4] = 0.0
    # the softmax ignores one shift of every intercept: a model gradient has no part
    # along it (sum_k (p_k - y_k) = 0), else the unpenalised model is unbounded
    G[:, d] -= G[:, d].mean()
    l1 = np.full((K, m), 3.0)
    l1[:, d] = 0.0
    a2 = 0.2
    sel = [np.append(c, d) if fit_b else c for c in cols]
    flat = np.concatenate([k * m + c for k, c in enumerate(sel)]).astype(int)
    step = np.empty(flat.size)
    sweeps, viol = _kernel.csc_cd_multinomial_step(
        X.data, X.indices, X.indptr, np.concatenate(cols), np.cumsum([0, 12, 7, 0, 5]),
        P.T, s if weighted else np.empty(0), G.ravel()[flat], theta.ravel()[flat],
        l1.ravel()[flat], a2, fit_b, step, 100_000, 1e-11)
    assert viol <= 1e-11 and sweeps < 100_000
    A = np.column_stack([X.toarray(), np.ones(n)])               # (n, m)
    H = np.zeros((K * m, K * m))
    for i in range(n):
        H += s[i] * np.kron(np.diag(P[i]) - np.outer(P[i], P[i]), np.outer(A[i], A[i]))
    pen = np.tile(np.r_[np.full(d, a2), 0.0], K)
    H += np.diag(pen)
    Hs = H[np.ix_(flat, flat)]
    g, th, c1 = G.ravel()[flat], theta.ravel()[flat], l1.ravel()[flat]
    grad = g + Hs @ step
    u = th + step
    sub = np.where(u != 0, grad + c1 * np.sign(u),
                   np.sign(grad) * np.maximum(np.abs(grad) - c1, 0.0))
    assert np.abs(sub).max() < 1e-8 * np.abs(g).max()
    with pytest.raises(ValueError, match="offsets must rise"):
        _kernel.csc_cd_multinomial_step(
            X.data, X.indices, X.indptr, np.concatenate(cols), [0, 12, 7, 19, 24], P.T,
            np.empty(0), G.ravel()[flat], theta.ravel()[flat], l1.ravel()[flat], a2,
            fit_b, step, 10, 0.0)
