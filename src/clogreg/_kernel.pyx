"""Training kernels for binary logistic regression.

Design
------
Python validates the data, encodes the labels as 0.0 / 1.0, picks the dtype and
allocates every array; this module only does arithmetic, without the GIL.

* ``_chunk_loss_grad`` is the one pass over the data. For each row it computes
  ``z = x.w + b``, the log-loss, the probability ``p = sigmoid(z)``, whether the
  row is classified correctly, and adds ``s * (p - y) * x`` to the gradient: the row
  is read from memory once and is still in L1 cache for the gradient update.
* Rows are cut into fixed chunks of ``CHUNK_ROWS``. Each chunk writes its own partial
  gradient and statistics; the partials are then added in chunk order. The chunks
  are spread over OpenMP threads, but the order of every addition is fixed by the
  chunk layout alone, so the result is bit-identical for any number of threads.
* ``gd_fit`` runs all epochs of full-batch (proximal) gradient descent inside one
  ``nogil`` block. Trouble (a non-finite loss or step) is reported as a status code
  and turned into an exception by the caller, in Python.

Arrays are marked ``# IN`` (read only: ``const`` memoryviews, so read-only and
memory-mapped arrays work without a copy), ``# OUT`` (written) and ``# WORK``
(scratch, allocated by the caller). ``floating`` is float32 or float64: float32 data
trains in float32, with the loss and the chunk totals accumulated in float64.
"""
from cython cimport floating
from cython.parallel cimport prange
from libc.math cimport exp, expf, log1p, log1pf, fabs, isfinite
from scipy.linalg.cython_blas cimport dgemv, sgemv

# Rows per chunk. It fixes the order of the floating-point additions, so changing it
# changes results in the last bits; it never depends on the number of threads.
cdef Py_ssize_t _CHUNK_ROWS = 4096
CHUNK_ROWS = _CHUNK_ROWS
# Rows per tile: at most _TILE_ELEMS values (64 KiB in float64), so that a tile read
# by the first matrix-vector product is still in cache for the second. Below about
# 9,000 values OpenBLAS also keeps a matrix-vector product on the calling thread.
cdef enum:
    _MAX_TILE_ROWS = 256
    _TILE_ELEMS = 8192

# Status codes returned by gd_fit; clogreg._estimator turns them into messages.
cpdef enum Status:
    STATUS_CONVERGED = 0
    STATUS_MAX_ITER = 1
    STATUS_NONFINITE = 2


cdef inline floating _exp_neg_abs(floating z) noexcept nogil:
    """Return exp(-|z|), which lies in (0, 1]: it never overflows."""
    if floating is float:
        return expf(-fabs(z))
    else:
        return exp(-fabs(z))


cdef inline floating _log1p(floating e) noexcept nogil:
    if floating is float:
        return log1pf(e)
    else:
        return log1p(e)


cdef inline void _gemv(char trans, int m, int n, floating alpha, const floating* a,
                       const floating* x, floating beta, floating* y) noexcept nogil:
    """y <- alpha * op(A) @ x + beta * y, A column-major (m, n), lda = m (BLAS)."""
    cdef int one = 1
    if floating is float:
        sgemv(&trans, &m, &n, &alpha, <float*>a, &m, <float*>x, &one, &beta, y, &one)
    else:
        dgemv(&trans, &m, &n, &alpha, <double*>a, &m, <double*>x, &one, &beta, y, &one)


cdef void _chunk_loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 or 1.0
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    const floating[::1] w,        # IN  (d,)
    double b,
    Py_ssize_t c,                 # chunk index
    floating[:, ::1] chunk_grad,  # OUT row c: X[rows].T @ (s * (p - y))
    double[:, ::1] chunk_stats,   # OUT row c: [sum s*loss, sum s*(p - y), n_correct]
) noexcept nogil:
    """One pass over the rows of chunk c, a tile of rows at a time.

    A tile of rows is small enough to stay in cache (TILE_ELEMS values) between the
    two matrix-vector products that read it; the BLAS calls are the inner products,
    the loop between them the per-row logistic arithmetic.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t start = c * _CHUNK_ROWS
    cdef Py_ssize_t stop = min(start + _CHUNK_ROWS, n)
    cdef Py_ssize_t tile = max(1, min(_MAX_TILE_ROWS, _TILE_ELEMS // d))
    cdef bint weighted = sw.shape[0] > 0
    cdef floating zr[_MAX_TILE_ROWS]   # z, then r, for the rows of one tile
    cdef floating* g = &chunk_grad[c, 0]
    cdef floating z, e, yi, p, r, loss_i
    cdef double loss = 0.0, grad_b = 0.0, correct = 0.0
    cdef Py_ssize_t i, j, t0, t_rows

    for j in range(d):
        g[j] = 0
    t0 = start
    while t0 < stop:
        t_rows = min(tile, stop - t0)
        # zr = X[t0:t0 + t_rows] @ w
        _gemv(c'T', <int>d, <int>t_rows, <floating>1, &X[t0, 0], &w[0], <floating>0, zr)
        for i in range(t_rows):
            yi = y[t0 + i]
            z = zr[i] + <floating>b
            # log(1 + exp(z)) - y*z written with e = exp(-|z|) <= 1, so that neither
            # the exponential nor the logarithm overflows for any finite z:
            #   z > 0:  log1p(e) + (1 - y) * z        z <= 0:  log1p(e) - y * z
            e = _exp_neg_abs(z)
            if z > 0:
                loss_i = _log1p(e) + (1 - yi) * z
                p = 1 / (1 + e)          # sigmoid(z)
            else:
                loss_i = _log1p(e) - yi * z
                p = e / (1 + e)          # sigmoid(z), without exp(-z) overflowing
            r = p - yi
            if weighted:
                r = r * sw[t0 + i]
                loss_i = loss_i * sw[t0 + i]
            loss += loss_i
            grad_b += r
            correct += (z > 0) == (yi > 0.5)
            zr[i] = r
        # g += X[t0:t0 + t_rows].T @ r   (the tile is still in cache)
        _gemv(c'N', <int>d, <int>t_rows, <floating>1, &X[t0, 0], zr, <floating>1, g)
        t0 += t_rows
    chunk_stats[c, 0] = loss
    chunk_stats[c, 1] = grad_b
    chunk_stats[c, 2] = correct


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
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 3)
    int n_threads,
) noexcept nogil:
    """Return sum(s * logloss) and fill the gradient: one pass over X."""
    cdef Py_ssize_t n_chunks = chunk_grad.shape[0], d = X.shape[1]
    cdef Py_ssize_t c, j
    cdef double loss = 0.0, gb = 0.0, correct = 0.0
    cdef double acc_j

    if n_threads > 1 and n_chunks > 1:
        for c in prange(n_chunks, num_threads=n_threads, schedule="static"):
            _chunk_loss_grad(X, y, sw, w, b, c, chunk_grad, chunk_stats)
    else:
        for c in range(n_chunks):
            _chunk_loss_grad(X, y, sw, w, b, c, chunk_grad, chunk_stats)

    # Add the chunk partials in chunk order (float64), whatever thread made them.
    for j in range(d):
        acc_j = 0.0
        for c in range(n_chunks):
            acc_j += chunk_grad[c, j]
        grad[j] = <floating>acc_j
    for c in range(n_chunks):
        loss += chunk_stats[c, 0]
        gb += chunk_stats[c, 1]
        correct += chunk_stats[c, 2]
    grad_b[0] = gb
    n_correct[0] = correct
    return loss


def _check_shapes(X, y, sw, w, chunk_grad, chunk_stats):
    """Refuse mismatched arrays before any pointer is taken (callers are private)."""
    n, d = X.shape[0], X.shape[1]
    n_chunks = (n + _CHUNK_ROWS - 1) // _CHUNK_ROWS
    if n < 1 or d < 1:
        raise ValueError(f"X must have at least one row and one column, got {n} x {d}")
    if y.shape[0] != n or sw.shape[0] not in (0, n) or w.shape[0] != d:
        raise ValueError("X, y, sample_weight and coefficients have inconsistent shapes")
    if tuple(chunk_grad.shape[:2]) != (n_chunks, d) or \
            tuple(chunk_stats.shape[:2]) != (n_chunks, 3):
        raise ValueError("work arrays have the wrong shape")


def loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 or 1.0
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    const floating[::1] w,        # IN  (d,)
    double b,
    floating[::1] grad,           # OUT (d,)
    floating[:, ::1] chunk_grad,  # WORK (n_chunks, d)
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 3)
    int n_threads=1,
):
    """Log-loss and its gradient at (w, b) in one pass over X.

    Returns ``(loss, grad_b, n_correct)`` with ``loss = sum(s * logloss)``,
    ``grad_b = sum(s * (p - y))``, and fills ``grad = X.T @ (s * (p - y))``.
    No penalty is included.
    """
    _check_shapes(X, y, sw, w, chunk_grad, chunk_stats)
    if grad.shape[0] != X.shape[1]:
        raise ValueError("grad has the wrong shape")
    cdef double loss, gb = 0.0, correct = 0.0
    with nogil:
        loss = _loss_grad(X, y, sw, w, b, grad, &gb, &correct,
                          chunk_grad, chunk_stats, n_threads)
    return loss, gb, correct


def gd_fit(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 or 1.0
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    floating[::1] w,              # IN/OUT (d,) start and final coefficients
    double[::1] b,                # IN/OUT (1,) start and final intercept
    double[::1] loss_hist,        # OUT (max_iter,) objective entering each epoch
    double[::1] acc_hist,         # OUT (max_iter,) training accuracy (%) likewise
    floating[::1] grad,           # WORK (d,)
    floating[:, ::1] chunk_grad,  # WORK (n_chunks, d)
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 3)
    double lr,
    double alpha_l2,
    double alpha_l1,
    bint fit_intercept,
    int max_iter,
    double tol,
    double grad_scale,
    int n_threads=1,
):
    """Full-batch proximal gradient descent on the summed objective.

    Minimises ``sum(s * logloss) + alpha_l2/2 * ||w||^2 + alpha_l1 * ||w||_1``
    (intercept not penalised). Each epoch makes one pass over X at the entering
    parameters, records the objective and the accuracy there, then steps::

        w <- soft_threshold(w - lr * (X.T @ (s * (p - y)) + alpha_l2 * w), lr * alpha_l1)
        b <- b - lr * sum(s * (p - y))

    It stops after the step of the first epoch whose gradient mapping
    ``max|old - new| / lr``, divided by ``grad_scale``, is <= tol (tol = 0: never),
    after ``max_iter`` epochs, or before the step of an epoch whose loss or step is
    not finite (the parameters then stay those entering that epoch).

    Returns ``(n_iter, status)``: the number of steps taken (also the number of
    history entries written) and one of the STATUS_* codes.
    """
    _check_shapes(X, y, sw, w, chunk_grad, chunk_stats)
    if grad.shape[0] != X.shape[1] or b.shape[0] != 1 or \
            loss_hist.shape[0] < max_iter or acc_hist.shape[0] < max_iter:
        raise ValueError("output arrays have the wrong shape")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")

    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], j
    cdef int k, n_iter = 0
    cdef Status status = STATUS_MAX_ITER
    cdef double loss, penalty, gb, correct, gmax, wj, new_wj, new_b, thresh
    cdef bint finite
    with nogil:
        for k in range(max_iter):
            loss = _loss_grad(X, y, sw, w, b[0], grad, &gb, &correct,
                              chunk_grad, chunk_stats, n_threads)
            penalty = 0.0
            for j in range(d):
                penalty += 0.5 * alpha_l2 * w[j] * w[j] + alpha_l1 * fabs(w[j])
            # The proposed step goes into `grad` (no longer needed), so that w is
            # only overwritten once the whole step is known to be finite.
            thresh = lr * alpha_l1
            gmax = 0.0
            finite = isfinite(loss) and isfinite(gb)
            for j in range(d):
                wj = w[j]
                new_wj = wj - lr * (grad[j] + alpha_l2 * wj)
                if new_wj > thresh:           # soft threshold: the L1 proximal step
                    new_wj -= thresh
                elif new_wj < -thresh:
                    new_wj += thresh
                else:
                    new_wj = 0.0
                finite = finite and isfinite(new_wj)
                gmax = max(gmax, fabs(wj - new_wj))
                grad[j] = <floating>new_wj
            new_b = b[0] - lr * gb if fit_intercept else b[0]
            finite = finite and isfinite(new_b)
            if not finite:
                status = STATUS_NONFINITE
                break
            gmax = max(gmax, fabs(b[0] - new_b)) / lr
            loss_hist[k] = loss + penalty
            acc_hist[k] = 100.0 * correct / n
            for j in range(d):
                w[j] = grad[j]
            b[0] = new_b
            n_iter = k + 1
            if tol > 0 and gmax <= tol * grad_scale:
                status = STATUS_CONVERGED
                break
    return n_iter, int(status)
