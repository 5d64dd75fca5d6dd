# Fixed-order sums: lanes within a tile, chunk partials across the chunks, and the
# column statistics pass. Included by _kernel.pyx.
#
# Every sum here is added in an order fixed by the data's shape alone (never by the
# thread that made a partial, nor by the instruction set), so results are
# bit-identical for any n_threads and for both builds.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport isfinite

import numpy as np


cdef inline void _add_to_lanes(double* acc, const floating* v, Py_ssize_t n) noexcept nogil:
    """acc[k] += sum(v[k::_LANES]): partial sums in a fixed order, vectorisable."""
    cdef Py_ssize_t i, k, n_full = n - n % _LANES
    for i in range(0, n_full, 8):  # 8 == _LANES
        for k in range(_LANES):
            acc[k] += v[i + k]
    for i in range(n_full, n):
        acc[i - n_full] += v[i]


cdef inline double _sum_lanes(const double* acc) noexcept nogil:
    cdef double total = 0.0
    cdef Py_ssize_t k
    for k in range(_LANES):
        total += acc[k]
    return total


cdef void _sum_chunk_grads(const floating[:, ::1] chunk_grad,  # IN  (n_chunks, p)
                           floating[::1] grad) noexcept nogil:  # OUT (p,)
    """grad = chunk_grad.sum(axis=0), in chunk order and float64, whatever thread
    made each chunk: the order of the additions never depends on the threads."""
    cdef Py_ssize_t j, c
    cdef double acc
    for j in range(chunk_grad.shape[1]):
        acc = 0.0
        for c in range(chunk_grad.shape[0]):
            acc += chunk_grad[c, j]
        grad[j] = <floating>acc


cdef double _sum_chunk_stat(const double[:, ::1] chunk_stats, Py_ssize_t col) noexcept nogil:
    """chunk_stats[:, col].sum(), in chunk order."""
    cdef double acc = 0.0
    cdef Py_ssize_t c
    for c in range(chunk_stats.shape[0]):
        acc += chunk_stats[c, col]
    return acc


def column_stats(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    const floating[::1] y,        # IN  (n,) 0.0 / 1.0 labels, or (0,) for none
    double[:, ::1] out,           # OUT (k, d): sum_i s_i x_ij, sum_i s_i x_ij**2
                                  #     and, with y, sum_i s_i y_i x_ij
    int n_threads=1,
):
    """Weighted column sums, sums of squares and label-weighted sums in float64: one
    pass over X.

    What the solvers need before their first step: the standardisation and the scale
    check (sums and squares), and the gradient at w = 0 (``X.T @ (s * (1/2 - y))``
    from the sums and the label-weighted sums). Each chunk of rows has its own
    partial sums, added in chunk order, so the result does not depend on
    ``n_threads``. Overflow gives inf, never a trap.

    Returns whether every value written to ``out`` is finite (NaN or inf in X, or
    sums that overflow, make it False): the finiteness test of a fit's validation.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t k = 3 if y.shape[0] > 0 else 2
    _check_vector("column_stats", "sw", sw.shape[0], n, True)
    _check_vector("column_stats", "y", y.shape[0], n, True)
    _check_matrix("column_stats", "out", out.shape[0], out.shape[1], k, d)
    cdef Py_ssize_t n_chunks = _n_chunks(n), c, j
    cdef double[:, ::1] chunk_sums = np.empty((n_chunks, k * d))  # WORK
    cdef double acc
    cdef bint finite = True
    with nogil:
        if n_threads > 1 and n_chunks > 1:
            for c in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
                _chunk_column_stats(X, sw, y, c, chunk_sums)
        else:
            for c in range(n_chunks):
                _chunk_column_stats(X, sw, y, c, chunk_sums)
        for j in range(k * d):
            acc = 0.0
            for c in range(n_chunks):
                acc += chunk_sums[c, j]
            out[j // d, j % d] = acc
            finite = finite and isfinite(acc)
    return finite


cdef void _chunk_column_stats(const floating[:, ::1] X, const floating[::1] sw,
                              const floating[::1] y, Py_ssize_t c,
                              double[:, ::1] chunk_sums) noexcept nogil:
    """Row c of chunk_sums: [sum s x, sum s x**2 (, sum s y x)] over chunk c's rows."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], i, j
    cdef Py_ssize_t start = c * _CHUNK_ROWS, stop = min(start + _CHUNK_ROWS, n)
    cdef double* s1 = &chunk_sums[c, 0]
    cdef double* s2 = &chunk_sums[c, d]
    cdef double* s3 = &chunk_sums[c, 2 * d] if y.shape[0] > 0 else NULL
    cdef double x, si, syi
    cdef const floating* row
    for j in range(d):
        s1[j] = 0.0
        s2[j] = 0.0
        if s3 != NULL:
            s3[j] = 0.0
    for i in range(start, stop):
        row = &X[i, 0]
        si = sw[i] if sw.shape[0] > 0 else 1.0
        if s3 == NULL:
            for j in range(d):      # independent columns: packed instructions
                x = row[j]
                s1[j] += si * x
                s2[j] += si * (x * x)
        else:
            syi = si * y[i]
            for j in range(d):
                x = row[j]
                s1[j] += si * x
                s2[j] += si * (x * x)
                s3[j] += syi * x
