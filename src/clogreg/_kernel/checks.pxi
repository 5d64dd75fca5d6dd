# The Python side of every def function: shape checks and work arrays. Included by
# _kernel.pyx.
#
# Python validated the data already (clogreg._validation); these checks only guard the
# pointers against a caller's mistake, before ``with nogil``. A mismatch raises a
# ValueError that names the function, the array and both shapes. Work arrays are NumPy
# arrays allocated with the GIL (newton_pass's scratch: malloc, checked likewise): a
# failed allocation is a MemoryError, never a NULL pointer inside the loops.

import numpy as np


cdef inline Py_ssize_t _n_chunks(Py_ssize_t n) noexcept nogil:
    """Chunks of CHUNK_ROWS rows that n rows make (the last one may be short)."""
    return (n + _CHUNK_ROWS - 1) // _CHUNK_ROWS


cdef inline Py_ssize_t _tile_rows(Py_ssize_t d) noexcept nogil:
    """Rows per tile of a pass over d columns (at most _TILE_ELEMS values)."""
    return max(1, min(_MAX_TILE_ROWS, _TILE_ELEMS // d))


cdef inline Py_ssize_t _binary_tile_rows(Py_ssize_t d, Py_ssize_t itemsize) noexcept nogil:
    """Rows per tile of the binary pass: as `_tile_rows` up to _SMALL_D columns; above,
    at most _WIDE_TILE_BYTES, so that the tile read from memory by the first product
    is still in the L1 cache for the second, but at least 4 rows (the second product
    adds four rows at a time into the gradient)."""
    if d <= _SMALL_D:
        return _tile_rows(d)
    return max(4, min(_MAX_TILE_ROWS, _WIDE_TILE_BYTES // (d * itemsize)))


cdef inline Py_ssize_t _n_workers(int n_threads, Py_ssize_t n_chunks) noexcept nogil:
    """Threads that can run a pass's chunks at once: one scratch buffer each."""
    return max(1, min(<Py_ssize_t>n_threads, n_chunks)) if n_chunks > 1 else 1


cdef int _check_vector(str func, str name, Py_ssize_t got, Py_ssize_t expected,
                       bint or_empty=False) except -1:
    """Raise ValueError unless a vector has ``expected`` entries (or 0 if or_empty)."""
    if got == expected or (or_empty and got == 0):
        return 0
    want = f"({expected},) or (0,)" if or_empty else f"({expected},)"
    raise ValueError(f"{func}: inconsistent shapes: {name} has shape ({got},), "
                     f"expected {want}")


cdef int _check_matrix(str func, str name, Py_ssize_t rows, Py_ssize_t cols,
                       Py_ssize_t expected_rows, Py_ssize_t expected_cols) except -1:
    """Raise ValueError unless a matrix has shape (expected_rows, expected_cols)."""
    if rows == expected_rows and cols == expected_cols:
        return 0
    raise ValueError(f"{func}: inconsistent shapes: {name} has shape ({rows}, {cols}), "
                     f"expected ({expected_rows}, {expected_cols})")


cdef int _check_data(str func, Py_ssize_t n, Py_ssize_t d, Py_ssize_t n_y,
                     Py_ssize_t n_sw) except -1:
    """X has rows and columns; y has one entry per row; sw one per row or none."""
    if n < 1 or d < 1:
        raise ValueError(f"{func}: X must have at least one row and one column, "
                         f"got shape ({n}, {d})")
    _check_vector(func, "y", n_y, n)
    _check_vector(func, "sw", n_sw, n, True)
    return 0


cdef int _check_classes(str func, Py_ssize_t n_classes, labels) except -1:
    """Multinomial: K >= 2 intercepts and labels (class indices) in [0, K)."""
    if n_classes < 2:
        raise ValueError(f"{func}: b must have one entry per class, K >= 2, "
                         f"got shape ({n_classes},)")
    y = np.asarray(labels)
    if not (y.min() >= 0 and y.max() < n_classes):   # they index the logits
        raise ValueError(f"{func}: class indices must lie in [0, {n_classes})")
    return 0


cdef tuple _chunk_work(Py_ssize_t n, Py_ssize_t n_params, Py_ssize_t n_out, dtype):
    """The per-chunk partials of one pass over n rows: gradient (n_chunks, n_params) in
    X's dtype and statistics (n_chunks, 2 + n_out) in float64, laid out for both
    passes as [loss, n_correct, grad_b[0], ..., grad_b[n_out - 1]]."""
    cdef Py_ssize_t n_chunks = _n_chunks(n)
    return (np.empty((n_chunks, n_params), dtype=dtype),
            np.empty((n_chunks, 2 + n_out), dtype=np.float64))
