# The multinomial (softmax) pass: K classes, loss + gradient in one read of X.
# Included by _kernel.pyx.
#
# Per tile of rows: the logits ``Z = X_tile @ W.T + b``, per row the stable softmax,
# the loss and ``R = s * (P - Y)``, then ``G += R.T @ X_tile`` while the tile is in
# cache. The two products are the kernel's own loops (simd.h: ``clogreg_tile_scores``
# and ``clogreg_tile_grad``), not BLAS; the exponentials are `_exp_neg_abs`, in plain
# arithmetic that the compiler vectorises. The logits of a tile live in a scratch row
# of the caller's ``logits`` array, one row per thread.

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport INFINITY, NAN

import numpy as np


cdef void _chunk_multinomial(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) class index 0 .. K-1
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] W,        # IN  (K * d,) row-major (K, d)
    const double[::1] b,          # IN  (K,)
    Py_ssize_t c,
    floating[:, ::1] chunk_grad,  # OUT row c: (R.T @ X[rows]).ravel(), R = s * (P - Y)
    double[:, ::1] chunk_stats,   # OUT row c: [sum s*loss, n_correct, sum R[:, k] ...]
    floating* Z,                  # WORK (tile * (K + 5),) a tile's logits, then R;
                                  #      per row: 5 values of the softmax
) noexcept nogil:
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = b.shape[0]
    cdef Py_ssize_t start = c * _CHUNK_ROWS
    cdef Py_ssize_t stop = min(start + _CHUNK_ROWS, n)
    cdef Py_ssize_t tile = _tile_rows(d)
    cdef bint weighted = sw.shape[0] > 0
    cdef floating* G = &chunk_grad[c, 0]
    cdef floating* zi
    cdef floating* row_max = Z + tile * K     # the largest logit
    cdef floating* row_arg = row_max + tile   # its class
    cdef floating* row_bad = row_arg + tile   # 0, or NaN for an inf or NaN logit
    cdef floating* row_zy = row_bad + tile    # the logit of the row's class
    cdef floating* row_total = row_zy + tile  # sum_k exp(z_k - m)
    cdef double* stats = &chunk_stats[c, 2]   # sum_i R[i, k]
    cdef floating m, total, si, z
    cdef double loss = 0.0, correct = 0.0
    cdef Py_ssize_t i, k, t0, t_rows, yi
    for k in range(K * d):
        G[k] = 0
    for k in range(K):
        stats[k] = 0.0
    t0 = start
    while t0 < stop:
        t_rows = min(tile, stop - t0)
        # Z = X[t0:t0 + t_rows] @ W.T        (t_rows, K)
        if floating is double:
            _tile_scores_d(&X[t0, 0], &W[0], t_rows, d, K, Z)
        else:
            _tile_scores_f(&X[t0, 0], &W[0], t_rows, d, K, Z)
        # 1. the intercepts, each row's largest logit m (the first, and its class) and
        #    whether a logit is inf or NaN; class by class across the rows, so that
        #    the rows' compare chains run side by side (each row's order is k = 0..K-1)
        for i in range(t_rows):
            row_max[i] = -INFINITY
            row_arg[i] = 0
            row_bad[i] = 0
        for k in range(K):
            for i in range(t_rows):
                z = Z[i * K + k] + <floating>b[k]
                Z[i * K + k] = z
                row_bad[i] += z - z     # NaN where a logit is inf or NaN
                if z > row_max[i]:
                    row_max[i] = z
                    row_arg[i] = k
        for i in range(t_rows):
            zi = Z + i * K
            yi = <Py_ssize_t>y[t0 + i]
            correct += <Py_ssize_t>row_arg[i] == yi
            row_zy[i] = zi[yi]
            m = row_max[i]
            for k in range(K):
                zi[k] = zi[k] - m
        # 2. softmax numerators of the whole tile in one loop without a reduction,
        #    which the compiler vectorises: every exponent is <= 0, so
        #    exp(-|z - m|) is exp(z - m) <= 1
        for i in range(t_rows * K):
            Z[i] = _exp_neg_abs(Z[i])
        # 3. each row's sum (>= 1: the largest logit's exp(0) = 1 exactly, so the log
        #    never sees 0 or overflow), class by class across the rows as in 1
        for i in range(t_rows):
            row_total[i] = 0
        for k in range(K):
            for i in range(t_rows):
                row_total[i] += Z[i * K + k]
        # 4. per row: the loss and R = s * (P - Y)
        for i in range(t_rows):
            zi = Z + i * K
            yi = <Py_ssize_t>y[t0 + i]
            si = sw[t0 + i] if weighted else 1
            if row_bad[i] != 0:
                # an infinite or NaN logit: NaN loss and gradient (the solvers stop),
                # not the wrong finite values that _exp_neg_abs(NaN) = 0 would give
                loss += NAN
                for k in range(K):
                    zi[k] = NAN
                    stats[k] += NAN
                continue
            total = row_total[i]
            loss += si * (_log(total) + row_max[i] - row_zy[i])  # -log softmax(z)[y]
            for k in range(K):
                zi[k] = si * (zi[k] / total - (k == yi))  # s * (p_k - [k == y])
            for k in range(K):
                stats[k] += zi[k]
        # G += R.T @ X[t0:t0 + t_rows]       (K, d)
        if floating is double:
            _tile_grad_d(Z, &X[t0, 0], t_rows, d, K, G)
        else:
            _tile_grad_f(Z, &X[t0, 0], t_rows, d, K, G)
        t0 += t_rows
    chunk_stats[c, 0] = loss
    chunk_stats[c, 1] = correct


cdef double _multinomial_loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,)
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] W,        # IN  (K * d,)
    const double[::1] b,          # IN  (K,)
    floating[::1] grad,           # OUT (K * d,)
    double[::1] grad_b,           # OUT (K,)
    double* n_correct,            # OUT
    floating[:, ::1] chunk_grad,  # WORK (n_chunks, K * d)
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 2 + K): see _chunk_work
    floating[:, ::1] logits,      # WORK (_n_workers(n_threads, n_chunks), tile * K)
    int n_threads,
) noexcept nogil:
    """Return sum(s * -log softmax) and fill the gradients: one pass over X."""
    cdef Py_ssize_t n_chunks = chunk_grad.shape[0], K = b.shape[0]
    cdef Py_ssize_t c, j
    if n_threads > 1 and n_chunks > 1:
        # the scratch row is the thread's own; which thread runs a chunk never changes
        # the result
        for c in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            _chunk_multinomial(X, y, sw, W, b, c, chunk_grad, chunk_stats,
                               &logits[threadid(), 0])
    else:
        for c in range(n_chunks):
            _chunk_multinomial(X, y, sw, W, b, c, chunk_grad, chunk_stats, &logits[0, 0])
    _sum_chunk_grads(chunk_grad, grad)
    for j in range(K):
        grad_b[j] = _sum_chunk_stat(chunk_stats, 2 + j)
    n_correct[0] = _sum_chunk_stat(chunk_stats, 1)
    return _sum_chunk_stat(chunk_stats, 0)


cdef _logits_work(Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_classes, int n_threads, dtype):
    """The softmax pass's scratch: a tile's logits (and five values a row) per thread
    that can run a chunk."""
    return np.empty((_n_workers(n_threads, _n_chunks(n)), _tile_rows(d) * (n_classes + 5)),
                    dtype=dtype)


def multinomial_loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) class index 0 .. K-1
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] W,        # IN  (K * d,) row-major (K, d)
    const double[::1] b,          # IN  (K,)
    floating[::1] grad,           # OUT (K * d,)
    double[::1] grad_b,           # OUT (K,)
    int n_threads=1,
):
    """Multinomial log-loss and its gradient in one pass over X.

    Returns ``(loss, n_correct)`` with ``loss = sum(s * -log softmax(X W.T + b)[y])``
    and fills ``grad = (R.T @ X).ravel()``, ``grad_b = R.sum(0)``, where
    ``R = s * (softmax - onehot(y))``. No penalty is included.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = b.shape[0]
    _check_data("multinomial_loss_grad", n, d, y.shape[0], sw.shape[0])
    _check_classes("multinomial_loss_grad", K, y)
    _check_vector("multinomial_loss_grad", "W", W.shape[0], K * d)
    _check_vector("multinomial_loss_grad", "grad", grad.shape[0], K * d)
    _check_vector("multinomial_loss_grad", "grad_b", grad_b.shape[0], K)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] chunk_grad
    cdef double[:, ::1] chunk_stats
    chunk_grad, chunk_stats = _chunk_work(n, K * d, K, dtype)
    cdef floating[:, ::1] logits = _logits_work(n, d, K, n_threads, dtype)
    cdef double loss, correct = 0.0
    with nogil:
        loss = _multinomial_loss_grad(X, y, sw, W, b, grad, grad_b, &correct,
                                      chunk_grad, chunk_stats, logits, n_threads)
    return loss, correct
