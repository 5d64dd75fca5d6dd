"""Training kernels for binary logistic regression.

Design
------
Python validates the data, encodes the labels as 0.0 / 1.0, picks the dtype and
allocates every array; this module only does arithmetic, without the GIL.

* ``_chunk_loss_grad`` is the one pass over the data. For each row it computes
  ``z = x.w + b``, the log-loss, the probability ``p = sigmoid(z)``, whether the
  row is classified correctly, and adds ``s * (p - y) * x`` to the gradient. It
  works a tile of rows at a time: ``z = X_tile @ w`` (BLAS), the per-row
  arithmetic, ``g += X_tile.T @ r`` (BLAS) while the tile is still in cache, so X is
  read from memory once per pass; the next tile is prefetched meanwhile.
* The per-row arithmetic is a few short, branch-free loops over the tile without
  library calls: ``exp(-|z|)`` and ``log1p`` are written out (range reduction and a
  polynomial, accurate to a few ulp) so that the compiler emits packed SIMD
  instructions even for the baseline x86-64 (SSE2) of a portable wheel, and float32
  data gets float32 arithmetic. (setup.py compiles with ``-fno-trapping-math``, which
  lets gcc turn the selects ``a if c else b`` into blends.)
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
from libc.math cimport fabs, isfinite
from libc.stdint cimport uint32_t, uint64_t
from scipy.linalg.cython_blas cimport dgemv, sgemv

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define CLOGREG_PREFETCH(p) __builtin_prefetch((p), 0, 3)
    #else
    #define CLOGREG_PREFETCH(p) ((void)(p))
    #endif
    """
    void _prefetch "CLOGREG_PREFETCH"(const void* p) noexcept nogil

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
    _LANES = 8          # partial sums per statistic (fixed: it fixes the order too)

# Status codes returned by gd_fit; clogreg._estimator turns them into messages.
cpdef enum Status:
    STATUS_CONVERGED = 0
    STATUS_MAX_ITER = 1
    STATUS_NONFINITE = 2


cdef union _Bits64:      # reinterpret a double's bits (type punning through a union)
    double f
    uint64_t u


cdef union _Bits32:
    float f
    uint32_t u


cdef inline floating _exp_neg_abs(floating z) noexcept nogil:
    """Return exp(-|z|), in [0, 1], in plain arithmetic that the compiler vectorises.

    ``exp(-a) = 2**-k * exp(r)`` with ``a = |z|``, ``k = round(a / ln 2)`` and
    ``r = k ln 2 - a`` in [-ln2/2, ln2/2]. exp(r) is its Pade approximant (degree
    6/6 in float64, 3/3 in float32: fewer operations than a polynomial of the same
    accuracy) and ``2**-k`` is built from its exponent bits. Where exp(-a) would be
    subnormal, and for a = inf or NaN, it returns 0 (the caller's loss then still
    carries the inf or NaN of z).
    """
    cdef floating a = fabs(z)  # (float)fabs((double)z) compiles to a float abs
    cdef floating t, k, r, p, t2, ev, od
    cdef _Bits64 b64
    cdef _Bits32 b32
    if floating is double:
        # Adding 1.5 * 2**52 rounds a / ln 2 to the integer k, kept in t's low bits.
        t = a * 1.4426950408889634 + 6755399441055744.0
        k = t - 6755399441055744.0
        # r = k ln2 - a, with ln2 split in two (its high part times k is exact)
        r = (k * 0.6931471803691238 - a) + k * 1.9082149292705877e-10
        # exp(r) by its [6/6] Pade approximant (E + r O) / (E - r O), E and O even
        # polynomials, written 1 + 2 r O / (E - r O) (error below 1e-18)
        t2 = r * r
        ev = ((t2 * (1.0 / 665280.0) + 1.0 / 792.0) * t2 + 5.0 / 44.0) * t2 + 1.0
        od = ((t2 * (1.0 / 15840.0) + 1.0 / 66.0) * t2 + 0.5) * r
        p = 1.0 + 2.0 * od / (ev - od)
        # times 2**-k: the exponent field 1023 - k (t's low 12 bits hold k)
        b64.f = t
        b64.u = (<uint64_t>1023 - b64.u) << 52
        p = p * b64.f
        return p if a < 708.0 else 0.0
    else:
        t = a * <float>1.442695 + <float>12582912.0  # 1.5 * 2**23
        k = t - <float>12582912.0
        r = (k * <float>0.693145752 - a) + k * <float>1.42860677e-06
        # the [3/3] Pade approximant (error below 1e-8)
        t2 = r * r
        ev = t2 * <float>0.1 + <float>1.0
        od = (t2 * <float>(1.0 / 120.0) + <float>0.5) * r
        p = <float>1.0 + <float>2.0 * od / (ev - od)
        b32.f = t
        b32.u = (<uint32_t>127 - b32.u) << 23
        p = p * b32.f
        return p if a < <float>87.0 else <float>0.0


cdef inline floating _log1p_unit(floating e) noexcept nogil:
    """Return log(1 + e) for e in [0, 1], in plain arithmetic that the compiler vectorises.

    ``log(1 + e) = 2 atanh(s) = s P(s**2)`` with ``s = e / (2 + e)`` in [0, 1/3]: no
    cancellation for small e. P is a polynomial in t = s**2 on [0, 1/9] (degree 9 in
    float64, 4 in float32; relative error below 0.4 ulp), nearly the atanh series
    ``2 + 2t/3 + 2t**2/5 + ...``.
    """
    cdef floating s = e / (<floating>2 + e)
    cdef floating t = s * s
    cdef floating p
    # mpmath.chebyfit(lambda t: 2 atanh(sqrt t) / sqrt t, [0, 1/9], degree + 1)
    if floating is double:
        p = 0.17780763826113302
        p = p * t + 0.09880789048764786
        p = p * t + 0.13591305485579894
        p = p * t + 0.15363676248891633
        p = p * t + 0.1818285980047391
        p = p * t + 0.22222190861346283
        p = p * t + 0.2857142911165716
        p = p * t + 0.399999999952876
        p = p * t + 0.6666666666668257
        p = p * t + 2.0
    else:
        p = <float>0.2815778
        p = p * t + <float>0.27965158
        p = p * t + <float>0.40024596
        p = p * t + <float>0.6666632
        p = p * t + <float>2.0
    p = s * p
    # e = 1 (z = 0) is where every fit starts (w = 0): return log 2 there exactly
    if floating is double:
        return p if e < 1 else 0.6931471805599453
    else:
        return p if e < 1 else <float>0.6931472


cdef inline void _gemv(char trans, int m, int n, floating alpha, const floating* a,
                       const floating* x, floating beta, floating* y) noexcept nogil:
    """y <- alpha * op(A) @ x + beta * y, A column-major (m, n), lda = m (BLAS)."""
    cdef int one = 1
    if floating is float:
        sgemv(&trans, &m, &n, &alpha, <float*>a, &m, <float*>x, &one, &beta, y, &one)
    else:
        dgemv(&trans, &m, &n, &alpha, <double*>a, &m, <double*>x, &one, &beta, y, &one)


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
    two matrix-vector products that read it (BLAS). Between them, the per-row logistic
    arithmetic is one branch-free loop without library calls, so that the compiler
    turns it into packed SIMD instructions; its sums go to a few partial sums (lanes)
    in a fixed order, so the result does not depend on the instruction set either.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t start = c * _CHUNK_ROWS
    cdef Py_ssize_t stop = min(start + _CHUNK_ROWS, n)
    cdef Py_ssize_t tile = max(1, min(_MAX_TILE_ROWS, _TILE_ELEMS // d))
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
    cdef floating bf = <floating>b, zero = 0, half = 0.5
    cdef floating z, e, q, eq, zpos
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
        # zr = X[t0:t0 + t_rows] @ w
        _gemv(c'T', <int>d, <int>t_rows, <floating>1, &X[t0, 0], &w[0], <floating>0, zr)
        # Ask for the next tile now, so that it streams in during the arithmetic.
        if t0 + t_rows < stop:
            nxt = <const char*>&X[t0 + t_rows, 0]
            for i in range(0, min(tile, stop - t0 - t_rows) * d * sizeof(floating), 64):
                _prefetch(nxt + i)
        # The per-row arithmetic, in short branch-free loops over the tile (short
        # loops keep many rows in flight; each one compiles to packed instructions).
        # z = zr + b;  e = np.exp(-np.abs(z))  (in [0, 1]: never overflows)
        for i in range(t_rows):
            zr[i] = zr[i] + bf
            e_t[i] = _exp_neg_abs(zr[i])
        # loss = np.logaddexp(0, z) - y * z, as log1p(e) + (max(z, 0) - y z): the
        # bracket is exact for y in {0, 1}, so no cancellation for large |z|
        for i in range(t_rows):
            z = zr[i]
            zpos = z if z > zero else zero
            loss_t[i] = _log1p_unit(e_t[i]) + (zpos - yt[i] * z)
        # ok = (z > 0) == (y > 0.5);  r = expit(z) - y, with expit(z) = 1 / (1 + e)
        # for z > 0 and e / (1 + e) otherwise
        for i in range(t_rows):
            z = zr[i]
            e = e_t[i]
            q = <floating>1 / (<floating>1 + e)
            eq = e * q
            ok_t[i] = 1 if (z > zero) == (yt[i] > half) else 0
            zr[i] = (q if z > zero else eq) - yt[i]
        if weighted:
            st = &sw[t0]
            for i in range(t_rows):
                zr[i] = zr[i] * st[i]
                loss_t[i] = loss_t[i] * st[i]
        _add_to_lanes(acc_loss, loss_t, t_rows)
        _add_to_lanes(acc_r, zr, t_rows)
        _add_to_lanes(acc_ok, ok_t, t_rows)
        # g += X[t0:t0 + t_rows].T @ r   (the tile is still in cache)
        _gemv(c'N', <int>d, <int>t_rows, <floating>1, &X[t0, 0], zr, <floating>1, g)
        t0 += t_rows
    chunk_stats[c, 0] = _sum_lanes(acc_loss)
    chunk_stats[c, 1] = _sum_lanes(acc_r)
    chunk_stats[c, 2] = _sum_lanes(acc_ok)


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
        # dynamic: a thread that the OS pauses (a busy machine) does not hold up the
        # others; which thread computes a chunk never changes the result
        for c in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
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
