# The binary pass: log-loss, gradient and accuracy in one read of X. Included by
# _kernel.pyx.
#
# For each row: ``z = x.w + b``, the log-loss, ``p = sigmoid(z)``, whether the row is
# classified correctly, and ``s * (p - y) * x`` added to the gradient.

from cython cimport floating
from cython.parallel cimport prange

import numpy as np


cdef inline void _logistic_rows(floating* zr, const floating* yt, Py_ssize_t t_rows,
                                floating b, floating* e_t, floating* loss_t,
                                floating* ok_t) noexcept nogil:
    """The per-row arithmetic of a tile of rows, in short branch-free loops (short
    loops keep many rows in flight; each one compiles to packed instructions).

    In: ``zr = X_t @ w``. Out, with ``z = zr + b``: ``zr = expit(z) - y``,
    ``e_t = exp(-|z|)``, ``loss_t`` the log-loss and ``ok_t`` 1.0 where
    ``(z > 0) == (y > 0.5)``.
    """
    cdef Py_ssize_t i
    cdef floating z, e, q, zpos, zero = 0, half = 0.5
    # z = zr + b;  e = np.exp(-np.abs(z))  (in [0, 1]: never overflows)
    for i in range(t_rows):
        zr[i] = zr[i] + b
        e_t[i] = _exp_neg_abs(zr[i])
    # loss = np.logaddexp(0, z) - y * z, as log1p(e) + (max(z, 0) - y z): the
    # bracket is exact for y in {0, 1}, so no cancellation for large |z|
    for i in range(t_rows):
        z = zr[i]
        zpos = z if z > zero else zero
        loss_t[i] = _log1p_unit(e_t[i]) + (zpos - yt[i] * z)
    # r = expit(z) - y, with expit(z) = 1 / (1 + e) for z > 0 and e / (1 + e) otherwise
    for i in range(t_rows):
        z = zr[i]
        e = e_t[i]
        q = <floating>1 / (<floating>1 + e)
        ok_t[i] = 1 if (z > zero) == (yt[i] > half) else 0
        zr[i] = (q if z > zero else e * q) - yt[i]


cdef void _chunk_loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 or 1.0
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    const floating[::1] w,        # IN  (d,)
    double b,
    Py_ssize_t c,                 # chunk index
    floating[:, ::1] chunk_grad,  # OUT row c: X[rows].T @ (s * (p - y))
    double[:, ::1] chunk_stats,   # OUT row c: [sum s*loss, n_correct, sum s*(p - y)]
) noexcept nogil:
    """One pass over the rows of chunk c, a tile of rows at a time.

    A tile of rows is small enough to stay in cache (`_binary_tile_rows`) between the
    two matrix-vector products that read it (the kernel's own loops, not BLAS). Between them, the per-row logistic
    arithmetic is one branch-free loop without library calls, so that the compiler
    turns it into packed SIMD instructions; its sums go to a few partial sums (lanes)
    in a fixed order, so the result does not depend on the instruction set either.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t start = c * _CHUNK_ROWS
    cdef Py_ssize_t stop = min(start + _CHUNK_ROWS, n)
    cdef Py_ssize_t tile = _binary_tile_rows(d, sizeof(floating))
    cdef bint weighted = sw.shape[0] > 0
    cdef floating zr[_MAX_TILE_ROWS]     # z, then r = s * (p - y), per row of a tile
    cdef floating loss_t[_MAX_TILE_ROWS]  # s * logloss per row of a tile
    cdef floating ok_t[_MAX_TILE_ROWS]    # 1.0 where the row is classified correctly
    cdef floating e_t[_MAX_TILE_ROWS]     # exp(-|z|) per row of a tile
    cdef double acc_loss[_LANES]
    cdef double acc_r[_LANES]
    cdef double acc_ok[_LANES]
    cdef floating* g = &chunk_grad[c, 0]
    cdef const floating* yt
    cdef const floating* st
    cdef const char* nxt
    cdef floating bf = <floating>b
    cdef Py_ssize_t i, j, k, t0, t_rows

    for j in range(d):
        g[j] = 0
    for k in range(_LANES):
        acc_loss[k] = 0.0
        acc_r[k] = 0.0
        acc_ok[k] = 0.0
    t0 = start
    while t0 < stop:
        t_rows = min(tile, stop - t0)
        yt = &y[t0]
        # zr = X[t0:t0 + t_rows] @ w. (Both branches make the same call: in the first
        # the compiler knows d <= _SMALL_D and lays out the loops for short rows;
        # with one call, 200 gd epochs of 2,000 x 5 took 5.0% more instructions.)
        if d <= _SMALL_D:
            _small_matvec(&X[t0, 0], &w[0], t_rows, d, zr)
        else:
            _small_matvec(&X[t0, 0], &w[0], t_rows, d, zr)
        # Narrow float64 rows: ask for the next tile now, so that it streams in during
        # the arithmetic (wider rows ask for theirs inside the loops of simd.h).
        if d <= _SMALL_D and t0 + t_rows < stop:
            nxt = <const char*>&X[t0 + t_rows, 0]
            for i in range(0, min(tile, stop - t0 - t_rows) * d * sizeof(floating), 64):
                _prefetch(nxt + i)
        _logistic_rows(zr, yt, t_rows, bf, e_t, loss_t, ok_t)
        if weighted:
            st = &sw[t0]
            for i in range(t_rows):
                zr[i] = zr[i] * st[i]
                loss_t[i] = loss_t[i] * st[i]
        _add_to_lanes(acc_loss, loss_t, t_rows)
        _add_to_lanes(acc_r, zr, t_rows)
        _add_to_lanes(acc_ok, ok_t, t_rows)
        # g += X[t0:t0 + t_rows].T @ r   (the tile is still in cache; two branches as
        # above)
        if d <= _SMALL_D:
            _small_matvec_t(&X[t0, 0], zr, t_rows, d, g)
        else:
            _small_matvec_t(&X[t0, 0], zr, t_rows, d, g)
        t0 += t_rows
    chunk_stats[c, 0] = _sum_lanes(acc_loss)
    chunk_stats[c, 1] = _sum_lanes(acc_ok)
    chunk_stats[c, 2] = _sum_lanes(acc_r)


cdef double _loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,)
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] w,        # IN  (d,)
    double b,
    floating[::1] grad,           # OUT (d,) X.T @ (s * (p - y))
    double* grad_b,               # OUT sum(s * (p - y))
    double* n_correct,            # OUT number of rows with (p > 0.5) == y
    floating[:, ::1] chunk_grad,  # WORK (n_chunks, d)
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 3): see _chunk_work
    int n_threads,
) noexcept nogil:
    """Return sum(s * logloss) and fill the gradient: one pass over X."""
    cdef Py_ssize_t n_chunks = chunk_grad.shape[0]
    cdef Py_ssize_t c

    if n_threads > 1 and n_chunks > 1:
        # dynamic: a thread that the OS pauses (a busy machine) does not hold up the
        # others; which thread computes a chunk never changes the result
        for c in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            _chunk_loss_grad(X, y, sw, w, b, c, chunk_grad, chunk_stats)
    else:
        for c in range(n_chunks):
            _chunk_loss_grad(X, y, sw, w, b, c, chunk_grad, chunk_stats)

    _sum_chunk_grads(chunk_grad, grad)
    n_correct[0] = _sum_chunk_stat(chunk_stats, 1)
    grad_b[0] = _sum_chunk_stat(chunk_stats, 2)
    return _sum_chunk_stat(chunk_stats, 0)


def loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 or 1.0
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    const floating[::1] w,        # IN  (d,)
    double b,
    floating[::1] grad,           # OUT (d,)
    int n_threads=1,
):
    """Log-loss and its gradient at (w, b) in one pass over X.

    Returns ``(loss, grad_b, n_correct)`` with ``loss = sum(s * logloss)``,
    ``grad_b = sum(s * (p - y))``, and fills ``grad = X.T @ (s * (p - y))``.
    No penalty is included.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    _check_data("loss_grad", n, d, y.shape[0], sw.shape[0])
    _check_vector("loss_grad", "w", w.shape[0], d)
    _check_vector("loss_grad", "grad", grad.shape[0], d)
    cdef floating[:, ::1] chunk_grad
    cdef double[:, ::1] chunk_stats
    chunk_grad, chunk_stats = _chunk_work(n, d, 1, np.float32 if floating is float else np.float64)
    cdef double loss, gb = 0.0, correct = 0.0
    with nogil:
        loss = _loss_grad(X, y, sw, w, b, grad, &gb, &correct,
                          chunk_grad, chunk_stats, n_threads)
    return loss, gb, correct
