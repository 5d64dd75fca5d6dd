# Column statistics of a CSR matrix and its repeated-entry check, over the fixed row
# blocks of sparse.pxi. Included by _kernel.pyx after sparse.pxi.

from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, isfinite, log, sqrt
from libc.stdint cimport int32_t, int64_t

import numpy as np


# --------------------------------------------------------------------------------
# Column statistics (float64): sums, sums of squares, label-weighted sums.
# --------------------------------------------------------------------------------

cdef int _csr_block_column_stats(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d,
    const floating[::1] sw,         # IN  (n,) or (0,)
    const floating[::1] y,          # IN  (n,) or (0,)
    Py_ssize_t n, Py_ssize_t rows, Py_ssize_t c,
    double[:, ::1] part,            # OUT row c: [s x | s x**2 (| s y x)], each (d,)
) noexcept nogil:
    cdef Py_ssize_t nnz = data.shape[0], r0 = c * rows, r1 = min(r0 + rows, n)
    cdef double* s1 = &part[c, 0]
    cdef double* s2 = &part[c, d]
    cdef double* s3 = &part[c, 2 * d] if y.shape[0] > 0 else NULL
    cdef double x, si, syi
    cdef size_t j, ud = <size_t>d
    cdef Py_ssize_t i, k, start, stop
    for k in range(part.shape[1]):
        part[c, k] = 0.0
    for i in range(r0, r1):
        start = indptr[i]
        stop = indptr[i + 1]
        if not _csr_row_ok(start, stop, nnz):
            return _CSR_BAD_INDPTR
        for k in range(start, stop):
            if <size_t>indices[k] >= ud:
                return _CSR_BAD_INDEX
        si = sw[i] if sw.shape[0] > 0 else 1.0
        if s3 == NULL:
            for k in range(start, stop):
                j = <size_t>indices[k]
                x = data[k]
                s1[j] += si * x
                s2[j] += si * (x * x)
        else:
            syi = si * y[i]
            for k in range(start, stop):
                j = <size_t>indices[k]
                x = data[k]
                s1[j] += si * x
                s2[j] += si * (x * x)
                s3[j] += syi * x
    return _CSR_OK


def _csr_column_stats_run(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d, const floating[::1] sw, const floating[::1] y, Py_ssize_t n,
    Py_ssize_t rows, double[:, ::1] part, double[::1] out, int[::1] status, int n_threads,
):
    cdef Py_ssize_t c, n_blocks = part.shape[0]
    cdef int worst = 0
    with nogil:
        if n_threads > 1 and n_blocks > 1:
            for c in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
                status[c] = _csr_block_column_stats(data, indices, indptr, d, sw, y, n,
                                                    rows, c, part)
        else:
            for c in range(n_blocks):
                status[c] = _csr_block_column_stats(data, indices, indptr, d, sw, y, n,
                                                    rows, c, part)
        for c in range(n_blocks):
            worst = max(worst, status[c])
        if worst == 0:
            _csr_reduce(part, out, n_threads)
    return worst


def csr_column_stats(data, indices, indptr, n_features, sw, y, out, n_threads=1):
    """Weighted column sums, sums of squares and label-weighted sums of a CSR X.

    The sparse ``column_stats``: fills ``out`` (k, n_features) float64 with
    ``sum_i s_i x_ij``, ``sum_i s_i x_ij**2`` and, when ``y`` (0.0 / 1.0, or (0,) for
    none) is given (k = 3), ``sum_i s_i y_i x_ij``. ``sw`` and ``y`` are in data's
    dtype; ``sw`` (0,) means all ones. The number of rows is ``len(indptr) - 1``.
    Bit-identical for any ``n_threads``. The squares are taken per stored entry: a
    matrix with repeated (row, column) entries must be summed first
    (``sum_duplicates``); the other passes are linear in X and take it as it is.
    """
    indptr_a = np.asarray(indptr)
    if indptr_a.ndim != 1 or indptr_a.shape[0] < 2:
        raise ValueError("CSR indptr must have n_samples + 1 >= 2 entries")
    n = indptr_a.shape[0] - 1
    data, indices, indptr = _csr_arrays(data, indices, indptr_a, n_features, n)
    d = n_features
    _csr_same_dtype(data.dtype, sample_weight=sw, y=y)
    k = 3 if np.shape(y)[0] > 0 else 2
    if np.shape(sw)[0] not in (0, n) or np.shape(y)[0] not in (0, n):
        raise ValueError("csr_column_stats: sample_weight and y must have n_samples "
                         "entries (or none)")
    if not isinstance(out, np.ndarray) or out.dtype != np.float64 or \
            out.shape != (k, d) or not out.flags.c_contiguous:
        raise ValueError(f"csr_column_stats: out must be a C-contiguous float64 array "
                         f"of shape ({k}, {d})")
    rows = csr_block_rows(n, data.shape[0], d, k)
    n_blocks = _csr_n_blocks(n, rows)
    part = np.empty((n_blocks, k * d), np.float64)
    status = np.zeros(n_blocks, np.intc)
    worst = _csr_column_stats_run(data, indices, indptr, d, sw, y, n, rows, part,
                                  out.reshape(-1), status, n_threads)
    _csr_raise(worst, indices, d)


# --------------------------------------------------------------------------------
# Repeated entries: whether any row stores a column twice (sorted or not).
# --------------------------------------------------------------------------------

def _csr_has_duplicates_run(const csr_index[::1] indices, const csr_index[::1] indptr,
                            int64_t[::1] last_row):
    cdef Py_ssize_t n = indptr.shape[0] - 1, d = last_row.shape[0], i, k, j
    cdef bint found = False
    with nogil:
        for j in range(d):
            last_row[j] = -1
        for i in range(n):
            for k in range(indptr[i], indptr[i + 1]):
                j = indices[k]
                if last_row[j] == i:
                    found = True
                    break
                last_row[j] = i
            if found:
                break
    return found


def csr_has_duplicates(data, indices, indptr, n_features):
    """Whether a row of the CSR matrix stores some column more than once.

    One pass over ``indices`` with an O(n_features) work array (no sorting, no copy
    of X): a matrix with unsorted indices is answered as it is. The arrays are
    checked as by the other passes (ValueError for indices outside [0, n_features)
    or a decreasing indptr).
    """
    n = np.shape(indptr)[0] - 1
    data, indices, indptr = _csr_arrays(data, indices, indptr, n_features, n)
    if data.shape[0] and (indices.min() < 0 or indices.max() >= n_features):
        _csr_raise(_CSR_BAD_INDEX, indices, n_features)
    if np.any(indptr[1:] < indptr[:-1]):
        _csr_raise(_CSR_BAD_INDPTR, indices, n_features)
    return bool(_csr_has_duplicates_run(indices, indptr, np.empty(n_features, np.int64)))
