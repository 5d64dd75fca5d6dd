# The multinomial (softmax) pass over a CSR matrix, over the fixed row blocks of
# sparse.pxi. Included by _kernel.pyx after sparse.pxi.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, isfinite, log, sqrt
from libc.stdint cimport int32_t, int64_t

import numpy as np


# --------------------------------------------------------------------------------
# Multinomial: loss and gradient of K classes in one pass.
# --------------------------------------------------------------------------------

cdef int _csr_block_multinomial(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d,
    const floating[::1] y,          # IN  (n,) class index 0 .. K-1
    const floating[::1] sw,         # IN  (n,) or (0,)
    const floating[::1] W,          # IN  (K * d,) row-major (K, d)
    const double[::1] b,            # IN  (K,)
    Py_ssize_t rows, Py_ssize_t c,
    floating[:, ::1] zwork,         # WORK row c: (_CSR_TILE_MULTI * K,) logits of a tile
    double[:, ::1] part,            # OUT row c: (R.T @ X[block]).ravel(), R = s (P - Y)
    double[:, ::1] stats,           # OUT row c: [sum s*loss, n_correct, sum R[:, k] ...]
) noexcept nogil:
    cdef Py_ssize_t n = y.shape[0], nnz = data.shape[0], K = b.shape[0]
    cdef Py_ssize_t r0 = c * rows, r1 = min(r0 + rows, n)
    cdef bint weighted = sw.shape[0] > 0, bad = False
    cdef double* G = &part[c, 0]
    cdef floating* Z = &zwork[c, 0]
    cdef floating* zi
    cdef floating m, total, zy, r, si, x
    cdef double loss = 0.0, correct = 0.0, xd
    cdef size_t j, ud = <size_t>d
    cdef Py_ssize_t i, k, kk, t0, t, start, stop, yi, kmax
    for k in range(K * d):
        G[k] = 0.0
    for k in range(K):
        stats[c, 2 + k] = 0.0
    t0 = r0
    while t0 < r1:
        t = min(<Py_ssize_t>_CSR_TILE_MULTI, r1 - t0)
        # Z = X[t0:t0 + t] @ W.T   (t, K), row-major
        for i in range(t):
            start = indptr[t0 + i]
            stop = indptr[t0 + i + 1]
            if not _csr_row_ok(start, stop, nnz):
                return _CSR_BAD_INDPTR
            zi = Z + i * K
            for k in range(K):
                zi[k] = 0
            for kk in range(start, stop):
                j = <size_t>indices[kk]
                bad = bad | (j >= ud)
                j = j if j < ud else 0
                x = data[kk]
                for k in range(K):
                    zi[k] = zi[k] + x * W[k * d + j]
        if bad:
            return _CSR_BAD_INDEX
        # the per-row arithmetic of the dense pass (_chunk_multinomial)
        for i in range(t):
            zi = Z + i * K
            yi = <Py_ssize_t>y[t0 + i]
            si = sw[t0 + i] if weighted else 1
            m = -INFINITY
            kmax = 0
            for k in range(K):
                zi[k] += <floating>b[k]
                if zi[k] > m:
                    m = zi[k]
                    kmax = k
            zy = zi[yi]
            # softmax with the largest logit subtracted: every exp() is <= 1, the sum >= 1
            total = 0
            for k in range(K):
                zi[k] = _exp(zi[k] - m)
                total += zi[k]
            loss += si * (_log(total) + m - zy)      # -log softmax(z)[y]
            correct += kmax == yi
            for k in range(K):
                r = si * (zi[k] / total - (k == yi))  # s * (p_k - [k == y])
                zi[k] = r
                stats[c, 2 + k] += r
        # G += R.T @ X[t0:t0 + t]
        for i in range(t):
            zi = Z + i * K
            for kk in range(indptr[t0 + i], indptr[t0 + i + 1]):
                j = <size_t>indices[kk]
                xd = <double>data[kk]
                for k in range(K):
                    G[k * d + j] += <double>zi[k] * xd
        t0 += t
    stats[c, 0] = loss
    stats[c, 1] = correct
    return _CSR_OK


def _csr_multinomial_run(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d, const floating[::1] y, const floating[::1] sw, const floating[::1] W,
    const double[::1] b, floating[::1] grad, double[::1] grad_b, Py_ssize_t rows,
    floating[:, ::1] zwork, double[:, ::1] part, double[:, ::1] stats, int[::1] status,
    int n_threads,
):
    cdef Py_ssize_t c, k, n_blocks = part.shape[0], K = b.shape[0]
    cdef int worst = 0
    with nogil:
        if n_threads > 1 and n_blocks > 1:
            for c in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
                status[c] = _csr_block_multinomial(data, indices, indptr, d, y, sw, W, b,
                                                   rows, c, zwork, part, stats)
        else:
            for c in range(n_blocks):
                status[c] = _csr_block_multinomial(data, indices, indptr, d, y, sw, W, b,
                                                   rows, c, zwork, part, stats)
        for c in range(n_blocks):
            worst = max(worst, status[c])
        if worst == 0:
            _csr_reduce(part, grad, n_threads)
            for k in range(K):
                grad_b[k] = _sum_chunk_stat(stats, 2 + k)
    if worst:
        return worst, 0.0, 0.0
    return 0, _sum_chunk_stat(stats, 0), _sum_chunk_stat(stats, 1)


def csr_multinomial_loss_grad(data, indices, indptr, n_features, y, sw, W, b, grad,
                              grad_b, n_threads=1):
    """Multinomial log-loss and its gradient in one pass over a CSR matrix X.

    ``y`` holds class indices 0 .. K-1 in data's dtype, ``W`` (K * n_features,) is
    row-major (K, n_features) in data's dtype, ``b`` (K,) float64. Returns
    ``(loss, n_correct)`` with ``loss = sum(s * -log softmax(X W.T + b)[y])`` and fills
    ``grad = (R.T @ X).ravel()`` (data's dtype) and ``grad_b = R.sum(0)`` (float64),
    ``R = s * (softmax - onehot(y))``. No penalty. Bit-identical for any ``n_threads``.
    """
    data, indices, indptr = _csr_arrays(data, indices, indptr, n_features, np.shape(y)[0])
    n, d, K = indptr.shape[0] - 1, n_features, np.shape(b)[0]
    _csr_same_dtype(data.dtype, y=y, sample_weight=sw, W=W, grad=grad)
    _csr_same_dtype(np.float64, b=b, grad_b=grad_b)
    if K < 2:
        raise ValueError(f"csr_multinomial_loss_grad needs K >= 2 classes, got {K}")
    if np.shape(sw)[0] not in (0, n) or np.shape(W)[0] != K * d or \
            np.shape(grad)[0] != K * d or np.shape(grad_b)[0] != K:
        raise ValueError("csr_multinomial_loss_grad: y, sample_weight, W, b, grad and "
                         "grad_b have inconsistent shapes")
    _check_classes("csr_multinomial_loss_grad", K, y)
    rows = csr_block_rows(n, data.shape[0], d, K)
    n_blocks = _csr_n_blocks(n, rows)
    zwork = np.empty((n_blocks, _CSR_TILE_MULTI * K), data.dtype)
    part = np.empty((n_blocks, K * d), np.float64)
    stats = np.empty((n_blocks, 2 + K), np.float64)
    status = np.zeros(n_blocks, np.intc)
    worst, loss, correct = _csr_multinomial_run(
        data, indices, indptr, d, y, sw, W, b, grad, grad_b, rows, zwork, part, stats,
        status, n_threads)
    _csr_raise(worst, indices, d)
    return loss, correct
