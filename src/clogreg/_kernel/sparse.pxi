# The passes over a CSR matrix (scipy.sparse). Included by _kernel.pyx.
#
# Design
# ------
# X is given by its three CSR arrays: ``data`` (nnz,) float32/float64, ``indices``
# (nnz,) column of each stored entry and ``indptr`` (n + 1,) where row i's entries
# start, both int32 or int64 (``csr_index``). Sorted or unsorted indices, explicit
# zeros and duplicate entries are all fine: a row is the sum of its stored entries.
#
# * Rows are cut into FIXED blocks (``csr_block_rows``: a function of n, nnz, d and the
#   number of classes only, never of n_threads). Each block writes its own partial
#   gradient (float64, d or K d values) and statistics; the partials are then added
#   in block order, column by column. The blocks run on OpenMP threads, so results
#   are bit-identical for any number of threads. The number of blocks is bounded (at
#   most 16, at most one per 2 d stored entries, at most 256 MiB of partials), so the
#   extra memory is O(n) + O(d) per block: never a dense copy of X, never an
#   (n / 4096) x d array.
# * Within a block, rows go by tiles of _CSR_TILE: ``z = x_i . w`` per row (four
#   partial sums per row in a fixed order, so the gathers of w overlap), then the
#   dense pass's per-row arithmetic (_logistic_rows: _exp_neg_abs, _log1p_unit, the
#   same z-sign formulas), its lanes, then ``g[indices] += r_i * data`` per row while
#   the tile's entries are still in cache. X is read from memory once per pass.
# * The def wrappers check shapes, dtypes, ``indptr[0] == 0`` and ``indptr[n] == nnz``
#   and allocate every work array with NumPy. The kernel checks the rest as it reads
#   (branch-free): a row whose indptr entries decrease or leave [0, nnz] stops its
#   block, a column index outside [0, d) is never dereferenced (it reads w[0]
#   instead) and flags the block; the wrapper then raises a ValueError naming the
#   problem. A malformed matrix never crashes the interpreter.
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport INFINITY, fabs, isfinite, log, sqrt
from libc.stdint cimport int32_t, int64_t

import numpy as np

ctypedef fused csr_index:
    int32_t
    int64_t

cdef enum:
    # Rows per tile: the binary pass keeps a tile's z, loss, e and ok on the stack.
    _CSR_TILE = 64
    # Rows per tile of the multinomial pass (their K logits each in a work array).
    _CSR_TILE_MULTI = 64
# Block layout: at least _CHUNK_ROWS rows a block, at most _CSR_MAX_BLOCKS blocks, at
# least _CSR_NNZ_PER_COL stored entries per column of a block's partial gradient (so
# that adding the partials costs less than the pass), and at most _CSR_PARTIAL_BYTES
# bytes of partials in all.
cdef Py_ssize_t _CSR_MAX_BLOCKS = 16
cdef Py_ssize_t _CSR_NNZ_PER_COL = 2
cdef Py_ssize_t _CSR_PARTIAL_BYTES = 1 << 28
# The final additions of the partials run on threads from this many columns on.
cdef Py_ssize_t _CSR_PARALLEL_REDUCE = 65536

# Status of a block (and of the pass: the largest over the blocks).
cdef enum:
    _CSR_OK = 0
    _CSR_BAD_INDPTR = 1
    _CSR_BAD_INDEX = 2


def csr_block_rows(Py_ssize_t n, Py_ssize_t nnz, Py_ssize_t n_features, Py_ssize_t n_out=1):
    """Rows per block of the CSR passes for an (n, n_features) matrix with nnz entries.

    ``n_out`` is the number of values per column in a block's partial sums (1 binary,
    K multinomial, 2 or 3 for column_stats). The layout depends on these numbers only,
    never on n_threads, which is what makes the results bit-identical for any
    n_threads. Blocks: ``ceil(n / rows)``.
    """
    cdef Py_ssize_t width = max(1, n_features) * max(1, n_out)
    cdef Py_ssize_t n_blocks = min((n + _CHUNK_ROWS - 1) // _CHUNK_ROWS, _CSR_MAX_BLOCKS)
    n_blocks = min(n_blocks, nnz // (_CSR_NNZ_PER_COL * max(1, n_features)))
    n_blocks = min(n_blocks, _CSR_PARTIAL_BYTES // (8 * width))
    n_blocks = max(1, n_blocks)
    return max(1, (n + n_blocks - 1) // n_blocks)


# --------------------------------------------------------------------------------
# Helpers: one row's dot product, the status of a row, the final additions.
# --------------------------------------------------------------------------------

cdef inline floating _csr_row_dot(const floating[::1] data, const csr_index[::1] indices,
                                  Py_ssize_t start, Py_ssize_t stop,
                                  const floating[::1] w, size_t d,
                                  bint* bad) noexcept nogil:
    """Return sum_k data[k] * w[indices[k]] over start <= k < stop.

    Four partial sums (entry k goes to sum (k - start) % 4), added as
    ``(a0 + a2) + (a1 + a3)``: a fixed order that lets four gathers be in flight.
    An index outside [0, d) reads w[0] and sets ``bad``.
    """
    cdef floating a0 = 0, a1 = 0, a2 = 0, a3 = 0
    cdef size_t j0, j1, j2, j3
    cdef bint flag = False
    cdef Py_ssize_t k = start
    while k + 4 <= stop:
        j0 = <size_t>indices[k]
        j1 = <size_t>indices[k + 1]
        j2 = <size_t>indices[k + 2]
        j3 = <size_t>indices[k + 3]
        flag = flag | (j0 >= d) | (j1 >= d) | (j2 >= d) | (j3 >= d)
        j0 = j0 if j0 < d else 0
        j1 = j1 if j1 < d else 0
        j2 = j2 if j2 < d else 0
        j3 = j3 if j3 < d else 0
        a0 = a0 + data[k] * w[j0]
        a1 = a1 + data[k + 1] * w[j1]
        a2 = a2 + data[k + 2] * w[j2]
        a3 = a3 + data[k + 3] * w[j3]
        k += 4
    if k < stop:
        j0 = <size_t>indices[k]
        flag = flag | (j0 >= d)
        a0 = a0 + data[k] * w[j0 if j0 < d else 0]
    if k + 1 < stop:
        j1 = <size_t>indices[k + 1]
        flag = flag | (j1 >= d)
        a1 = a1 + data[k + 1] * w[j1 if j1 < d else 0]
    if k + 2 < stop:
        j2 = <size_t>indices[k + 2]
        flag = flag | (j2 >= d)
        a2 = a2 + data[k + 2] * w[j2 if j2 < d else 0]
    bad[0] = bad[0] | flag
    return (a0 + a2) + (a1 + a3)


cdef inline bint _csr_row_ok(Py_ssize_t start, Py_ssize_t stop, Py_ssize_t nnz) noexcept nogil:
    """Whether a row's entries [start, stop) are a (possibly empty) range of [0, nnz)."""
    return 0 <= start and start <= stop and stop <= nnz


cdef inline void _csr_scatter(const floating[::1] data, const csr_index[::1] indices,
                              Py_ssize_t start, Py_ssize_t stop, double r,
                              double* g) noexcept nogil:
    """g[indices[k]] += r * data[k] over the row (its indices already checked)."""
    cdef Py_ssize_t k
    for k in range(start, stop):
        g[indices[k]] += r * <double>data[k]


cdef inline double _csr_column_total(const double[:, ::1] part, Py_ssize_t j) noexcept nogil:
    """part[:, j].sum() in block order."""
    cdef double acc = 0.0
    cdef Py_ssize_t c
    for c in range(part.shape[0]):
        acc += part[c, j]
    return acc


cdef void _csr_reduce(const double[:, ::1] part,   # IN  (n_blocks, p)
                      floating[::1] out,           # OUT (p,)
                      int n_threads) noexcept nogil:
    """out = part.sum(axis=0), each column in block order (whatever the threads)."""
    cdef Py_ssize_t j, p = part.shape[1]
    if n_threads > 1 and p >= _CSR_PARALLEL_REDUCE:
        for j in prange(p, num_threads=n_threads, schedule="static"):
            out[j] = <floating>_csr_column_total(part, j)
    else:
        for j in range(p):
            out[j] = <floating>_csr_column_total(part, j)


def _csr_arrays(data, indices, indptr, n_features, n_rows):
    """Check the three CSR arrays against (n_rows, n_features); return them as arrays.

    indices and indptr end up with one integer dtype (int32 or int64): indptr (n + 1
    values) is converted to that of indices when they differ, indices only when
    indptr's values do not fit in it.
    """
    data = np.asarray(data)
    indices = np.asarray(indices)
    indptr = np.asarray(indptr)
    if data.dtype not in (np.float32, np.float64):
        raise ValueError(f"CSR data must be float32 or float64, got {data.dtype}")
    for name, a in (("indices", indices), ("indptr", indptr)):
        if a.dtype not in (np.int32, np.int64):
            raise ValueError(f"CSR {name} must be int32 or int64, got {a.dtype}")
        if a.ndim != 1:
            raise ValueError(f"CSR {name} must be one-dimensional, got shape {a.shape}")
    if data.ndim != 1:
        raise ValueError(f"CSR data must be one-dimensional, got shape {data.shape}")
    if n_rows < 1 or n_features < 1:
        raise ValueError(f"X must have at least one row and one column, "
                         f"got {n_rows} x {n_features}")
    if indptr.shape[0] != n_rows + 1:
        raise ValueError(f"CSR indptr must have n_samples + 1 = {n_rows + 1} entries, "
                         f"got {indptr.shape[0]}")
    if data.shape[0] != indices.shape[0]:
        raise ValueError(f"CSR data and indices must have the same length, got "
                         f"{data.shape[0]} and {indices.shape[0]}")
    if indptr[0] != 0:
        raise ValueError(f"CSR indptr[0] must be 0, got {indptr[0]}")
    if indptr[n_rows] != data.shape[0]:
        raise ValueError(f"CSR indptr[-1] = {indptr[n_rows]} disagrees with the number of "
                         f"stored entries, {data.shape[0]}")
    if indptr.dtype != indices.dtype:
        if indices.dtype == np.int32 and data.shape[0] > np.iinfo(np.int32).max:
            indices = indices.astype(np.int64)
        indptr = indptr.astype(indices.dtype)
    return (np.ascontiguousarray(data), np.ascontiguousarray(indices),
            np.ascontiguousarray(indptr))


def _csr_same_dtype(dtype, **arrays):
    for name, a in arrays.items():
        if a is not None and np.asarray(a).dtype != dtype:
            raise ValueError(f"{name} must have the dtype of the CSR data ({dtype}), "
                             f"got {np.asarray(a).dtype}")


def _csr_raise(status, indices, n_features):
    """Turn the largest block status into the ValueError that names the problem."""
    if status == _CSR_BAD_INDPTR:
        raise ValueError("CSR indptr must be non-decreasing (row i's entries are "
                         "indptr[i]:indptr[i + 1])")
    if status == _CSR_BAD_INDEX:
        bad = indices[(indices < 0) | (indices >= n_features)]
        raise ValueError(f"CSR column indices must lie in [0, n_features = {n_features}), "
                         f"found {bad.min() if bad.min() < 0 else bad.max()}")


cdef Py_ssize_t _csr_n_blocks(Py_ssize_t n, Py_ssize_t rows) noexcept nogil:
    return (n + rows - 1) // rows


# --------------------------------------------------------------------------------
# Binary: loss, gradient (and optionally the Hessian weights h) in one pass.
# --------------------------------------------------------------------------------

cdef int _csr_block_binary(
    const floating[::1] data,       # IN  (nnz,)
    const csr_index[::1] indices,   # IN  (nnz,)
    const csr_index[::1] indptr,    # IN  (n + 1,)
    Py_ssize_t d,
    const floating[::1] y,          # IN  (n,) 0.0 / 1.0
    const floating[::1] sw,         # IN  (n,) or (0,)
    const floating[::1] w,          # IN  (d,)
    floating b,
    Py_ssize_t rows,                # rows per block
    Py_ssize_t c,                   # block index
    double[:, ::1] part,            # OUT row c: X[block].T @ (s * (p - y))
    double[:, ::1] stats,           # OUT row c: [sum s*loss, sum s*(p - y), n_correct]
    floating[::1] h_out,            # OUT (n,) s * p * (1 - p), or (0,) for none
) noexcept nogil:
    cdef Py_ssize_t n = y.shape[0], nnz = data.shape[0]
    cdef Py_ssize_t r0 = c * rows, r1 = min(r0 + rows, n)
    cdef bint weighted = sw.shape[0] > 0, want_h = h_out.shape[0] > 0, bad = False
    cdef floating zr[_CSR_TILE]       # z, then r = s * (p - y)
    cdef floating e_t[_CSR_TILE]      # exp(-|z|)
    cdef floating loss_t[_CSR_TILE]
    cdef floating ok_t[_CSR_TILE]
    cdef double acc_loss[_LANES]
    cdef double acc_r[_LANES]
    cdef double acc_ok[_LANES]
    cdef double* g = &part[c, 0]
    cdef floating q
    cdef Py_ssize_t i, j, k, t0, t, start, stop
    for j in range(d):
        g[j] = 0.0
    for k in range(_LANES):
        acc_loss[k] = 0.0
        acc_r[k] = 0.0
        acc_ok[k] = 0.0
    t0 = r0
    while t0 < r1:
        t = min(<Py_ssize_t>_CSR_TILE, r1 - t0)
        # zr = X[t0:t0 + t] @ w
        for i in range(t):
            start = indptr[t0 + i]
            stop = indptr[t0 + i + 1]
            if not _csr_row_ok(start, stop, nnz):
                return _CSR_BAD_INDPTR
            zr[i] = _csr_row_dot(data, indices, start, stop, w, <size_t>d, &bad)
        if bad:
            return _CSR_BAD_INDEX
        _logistic_rows(zr, &y[t0], t, b, e_t, loss_t, ok_t)
        if want_h:
            # p (1 - p) = e / (1 + e)**2 for either sign of z (as newton_pass)
            for i in range(t):
                q = <floating>1 / (<floating>1 + e_t[i])
                h_out[t0 + i] = e_t[i] * q * q
                if weighted:
                    h_out[t0 + i] = h_out[t0 + i] * sw[t0 + i]
        if weighted:
            for i in range(t):
                zr[i] = zr[i] * sw[t0 + i]
                loss_t[i] = loss_t[i] * sw[t0 + i]
        _add_to_lanes(acc_loss, loss_t, t)
        _add_to_lanes(acc_r, zr, t)
        _add_to_lanes(acc_ok, ok_t, t)
        # g += X[t0:t0 + t].T @ r
        for i in range(t):
            _csr_scatter(data, indices, indptr[t0 + i], indptr[t0 + i + 1], zr[i], g)
        t0 += t
    stats[c, 0] = _sum_lanes(acc_loss)
    stats[c, 1] = _sum_lanes(acc_r)
    stats[c, 2] = _sum_lanes(acc_ok)
    return _CSR_OK


def _csr_binary_run(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d, const floating[::1] y, const floating[::1] sw, const floating[::1] w,
    double b, floating[::1] grad, floating[::1] h_out, Py_ssize_t rows,
    double[:, ::1] part, double[:, ::1] stats, int[::1] status, int n_threads,
):
    cdef Py_ssize_t c, n_blocks = part.shape[0]
    cdef floating bf = <floating>b
    cdef int worst = 0
    with nogil:
        if n_threads > 1 and n_blocks > 1:
            for c in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
                status[c] = _csr_block_binary(data, indices, indptr, d, y, sw, w, bf,
                                              rows, c, part, stats, h_out)
        else:
            for c in range(n_blocks):
                status[c] = _csr_block_binary(data, indices, indptr, d, y, sw, w, bf,
                                              rows, c, part, stats, h_out)
        for c in range(n_blocks):
            worst = max(worst, status[c])
        if worst == 0:
            _csr_reduce(part, grad, n_threads)
    if worst:
        return worst, 0.0, 0.0, 0.0
    return 0, _sum_chunk_stat(stats, 0), _sum_chunk_stat(stats, 1), _sum_chunk_stat(stats, 2)


def csr_loss_grad(data, indices, indptr, n_features, y, sw, w, double b, grad,
                  n_threads=1, h_out=None):
    """Log-loss and its gradient at (w, b) in one pass over a CSR matrix X.

    Parameters
    ----------
    data, indices, indptr : ndarray
        The CSR arrays of X, shape (n, n_features): data float32 or float64, indices
        and indptr int32 or int64. Indices may be unsorted or repeated.
    n_features : int
    y : ndarray (n,)
        Labels 0.0 / 1.0 in data's dtype.
    sw : ndarray (n,) or (0,)
        Sample weights in data's dtype, or an empty array for all ones.
    w : ndarray (n_features,)
    b : float
    grad : ndarray (n_features,)
        OUT: ``X.T @ (s * (p - y))``, in data's dtype.
    n_threads : int
        OpenMP threads; the result is bit-identical for any value.
    h_out : ndarray (n,), optional
        OUT: the Hessian weights ``s * p * (1 - p)`` at (w, b), for ``csr_hessp``.

    Returns
    -------
    (loss, grad_b, n_correct) : ``sum(s * logloss)``, ``sum(s * (p - y))`` and the
    number of rows with ``(z > 0) == (y > 0.5)``. No penalty is included.
    """
    data, indices, indptr = _csr_arrays(data, indices, indptr, n_features, np.shape(y)[0])
    n, d = indptr.shape[0] - 1, n_features
    h = np.empty(0, data.dtype) if h_out is None else h_out
    _csr_same_dtype(data.dtype, y=y, sample_weight=sw, w=w, grad=grad, h_out=h)
    if np.shape(sw)[0] not in (0, n) or np.shape(w)[0] != d or np.shape(grad)[0] != d or \
            np.shape(h)[0] not in (0, n):
        raise ValueError("csr_loss_grad: y, sample_weight, w, grad and h_out have "
                         "inconsistent shapes")
    rows = csr_block_rows(n, data.shape[0], d)
    n_blocks = _csr_n_blocks(n, rows)
    part = np.empty((n_blocks, d), np.float64)
    stats = np.empty((n_blocks, 3), np.float64)
    status = np.zeros(n_blocks, np.intc)
    worst, loss, grad_b, correct = _csr_binary_run(
        data, indices, indptr, d, y, sw, w, b, grad, h, rows, part, stats, status,
        n_threads)
    _csr_raise(worst, indices, d)
    return loss, grad_b, correct


# --------------------------------------------------------------------------------
# Binary Hessian-vector product: H @ (v, v_b) with H = [X 1].T diag(h) [X 1].
# --------------------------------------------------------------------------------

cdef int _csr_block_hessp(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d,
    const floating[::1] h,          # IN  (n,) Hessian weights s * p * (1 - p)
    const floating[::1] v,          # IN  (d,)
    floating v_b,
    Py_ssize_t rows, Py_ssize_t c,
    double[:, ::1] part,            # OUT row c: X[block].T @ (h * (X v + v_b))
    double[:, ::1] stats,           # OUT row c: [sum h * (X v + v_b)]
) noexcept nogil:
    cdef Py_ssize_t n = h.shape[0], nnz = data.shape[0]
    cdef Py_ssize_t r0 = c * rows, r1 = min(r0 + rows, n)
    cdef floating u_t[_CSR_TILE]
    cdef double acc[_LANES]
    cdef double* g = &part[c, 0]
    cdef bint bad = False
    cdef Py_ssize_t i, j, k, t0, t, start, stop
    for j in range(d):
        g[j] = 0.0
    for k in range(_LANES):
        acc[k] = 0.0
    t0 = r0
    while t0 < r1:
        t = min(<Py_ssize_t>_CSR_TILE, r1 - t0)
        # u = h * (X[t0:t0 + t] @ v + v_b)
        for i in range(t):
            start = indptr[t0 + i]
            stop = indptr[t0 + i + 1]
            if not _csr_row_ok(start, stop, nnz):
                return _CSR_BAD_INDPTR
            u_t[i] = h[t0 + i] * (_csr_row_dot(data, indices, start, stop, v, <size_t>d,
                                               &bad) + v_b)
        if bad:
            return _CSR_BAD_INDEX
        _add_to_lanes(acc, u_t, t)
        # g += X[t0:t0 + t].T @ u
        for i in range(t):
            _csr_scatter(data, indices, indptr[t0 + i], indptr[t0 + i + 1], u_t[i], g)
        t0 += t
    stats[c, 0] = _sum_lanes(acc)
    return _CSR_OK


def _csr_hessp_run(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    Py_ssize_t d, const floating[::1] h, const floating[::1] v, double v_b,
    floating[::1] out, Py_ssize_t rows, double[:, ::1] part, double[:, ::1] stats,
    int[::1] status, int n_threads,
):
    cdef Py_ssize_t c, n_blocks = part.shape[0]
    cdef floating vb = <floating>v_b
    cdef int worst = 0
    with nogil:
        if n_threads > 1 and n_blocks > 1:
            for c in prange(n_blocks, num_threads=n_threads, schedule="dynamic"):
                status[c] = _csr_block_hessp(data, indices, indptr, d, h, v, vb, rows, c,
                                             part, stats)
        else:
            for c in range(n_blocks):
                status[c] = _csr_block_hessp(data, indices, indptr, d, h, v, vb, rows, c,
                                             part, stats)
        for c in range(n_blocks):
            worst = max(worst, status[c])
        if worst == 0:
            _csr_reduce(part, out, n_threads)
    if worst:
        return worst, 0.0
    return 0, _sum_chunk_stat(stats, 0)


def csr_hessp(data, indices, indptr, n_features, h, v, double v_b, out, n_threads=1):
    """Hessian-vector product of the binary log-loss on a CSR matrix X.

    With ``h = s * p * (1 - p)`` from ``csr_loss_grad(..., h_out=h)`` and
    ``u = h * (X @ v + v_b)``, fills ``out = X.T @ u`` and returns ``sum(u)``: the
    product of the Hessian in (w, b) with the direction (v, v_b). For a model without
    intercept pass ``v_b = 0`` and ignore the return value. No penalty is included.
    One pass over X; bit-identical for any ``n_threads``.
    """
    data, indices, indptr = _csr_arrays(data, indices, indptr, n_features, np.shape(h)[0])
    n, d = indptr.shape[0] - 1, n_features
    _csr_same_dtype(data.dtype, h=h, v=v, out=out)
    if np.shape(v)[0] != d or np.shape(out)[0] != d:
        raise ValueError("csr_hessp: v and out must have n_features entries")
    rows = csr_block_rows(n, data.shape[0], d)
    n_blocks = _csr_n_blocks(n, rows)
    part = np.empty((n_blocks, d), np.float64)
    stats = np.empty((n_blocks, 1), np.float64)
    status = np.zeros(n_blocks, np.intc)
    worst, out_b = _csr_hessp_run(data, indices, indptr, d, h, v, v_b, out, rows, part,
                                  stats, status, n_threads)
    _csr_raise(worst, indices, d)
    return out_b
