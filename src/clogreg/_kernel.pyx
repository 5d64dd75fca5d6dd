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
from cython.view cimport array as cvarray
from cython.parallel cimport prange
from libc.math cimport fabs, isfinite
from libc.stdint cimport uint32_t, uint64_t
from scipy.linalg.cython_blas cimport dgemv, sgemv

from libc.math cimport INFINITY, NAN, exp, expf, log, logf, sqrt
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_blas cimport dgemm, dsyrk, sgemm, ssyrk

import numpy as np

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define CLOGREG_PREFETCH(p) __builtin_prefetch((p), 0, 3)
    #else
    #define CLOGREG_PREFETCH(p) ((void)(p))
    #endif
    """
    void _prefetch "CLOGREG_PREFETCH"(const void* p) noexcept nogil

cdef extern from *:
    """
    #if defined(__AVX2__)
    #include <immintrin.h>
    #endif

    /* float32: z[i] = x[i, :] @ w for the t rows of a row-major tile of d columns,
       every row summed in one fixed order: lane k of 8 (one AVX2 register) adds the
       products of columns k, k + 8, k + 16, ... in turn, then the lanes are added as
       ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). The AVX2 build does it in
       registers (where a row ends mid-register, masked loads add 0 * 0 to the idle
       lanes: no change, as a lane that starts at +0 never holds -0); any other
       build in plain C: the same sums in the same order, so the same bits.
       On 1,000,000 x 10 float32 the AVX2 code takes 0.88x the time of the 4-row
       loops of _small_matvec; the plain C takes 1.2x, so float64 keeps those. */
    static void clogreg_rows_dot_f(const float* x, const float* w, Py_ssize_t t,
                                   Py_ssize_t d, float* z) {
        Py_ssize_t i, j;
    #if defined(__AVX2__)
        const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(d % 8)),
                                                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        for (i = 0; i < t; i++) {
            const float* xi = x + i * d;
            __m256 acc = _mm256_setzero_ps();
            __m128 s, u;
            for (j = 0; j + 8 <= d; j += 8)
                acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(xi + j),
                                                       _mm256_loadu_ps(w + j)));
            if (j < d)
                acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_maskload_ps(xi + j, mask),
                                                       _mm256_maskload_ps(w + j, mask)));
            s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            u = _mm_add_ps(s, _mm_movehl_ps(s, s));
            z[i] = _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
        }
    #else
        for (i = 0; i < t; i++) {
            const float* xi = x + i * d;
            float l0 = 0.0f, l1 = 0.0f, l2 = 0.0f, l3 = 0.0f;
            float l4 = 0.0f, l5 = 0.0f, l6 = 0.0f, l7 = 0.0f;
            for (j = 0; j + 8 <= d; j += 8) {
                l0 = l0 + xi[j] * w[j];
                l1 = l1 + xi[j + 1] * w[j + 1];
                l2 = l2 + xi[j + 2] * w[j + 2];
                l3 = l3 + xi[j + 3] * w[j + 3];
                l4 = l4 + xi[j + 4] * w[j + 4];
                l5 = l5 + xi[j + 5] * w[j + 5];
                l6 = l6 + xi[j + 6] * w[j + 6];
                l7 = l7 + xi[j + 7] * w[j + 7];
            }
            switch (d - j) {  /* the last columns (idle lanes: see above) */
            case 7: l6 = l6 + xi[j + 6] * w[j + 6]; /* fall through */
            case 6: l5 = l5 + xi[j + 5] * w[j + 5]; /* fall through */
            case 5: l4 = l4 + xi[j + 4] * w[j + 4]; /* fall through */
            case 4: l3 = l3 + xi[j + 3] * w[j + 3]; /* fall through */
            case 3: l2 = l2 + xi[j + 2] * w[j + 2]; /* fall through */
            case 2: l1 = l1 + xi[j + 1] * w[j + 1]; /* fall through */
            case 1: l0 = l0 + xi[j] * w[j]; /* fall through */
            default: break;
            }
            z[i] = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));
        }
    #endif
    }

    """
    void _rows_dot_f "clogreg_rows_dot_f"(const float* x, const float* w, Py_ssize_t t,
                                          Py_ssize_t d, float* z) noexcept nogil


cdef extern from *:
    """
    static int clogreg_cpu_avx2_fma(void) {
    #if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();  /* gcc: needed if called before constructors ran */
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    """
    int _cpu_avx2_fma "clogreg_cpu_avx2_fma"() noexcept nogil


def cpu_supports_avx2_fma():
    """Whether this CPU and OS run AVX2 and FMA code (False off x86, or without gcc/clang).

    ``clogreg._dispatch`` uses the ``_kernel_avx2`` build only where this is True.
    """
    return bool(_cpu_avx2_fma())


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
    # Up to this many columns the binary pass does its two matrix-vector products in
    # its own loops: OpenBLAS's gemv spends more on a 10-element row than the row's
    # logistic arithmetic (benchmarks/bench_epoch.py --cols 10: 1.5x the X.sum()
    # time in float64 instead of 1.75x). From 12 columns on, BLAS is as fast or faster.
    _SMALL_D = 10
    # Rows per tile of the Newton pass: up to this many values (256 KiB in float64;
    # the tile's work arrays are on the heap, not the stack). Fewer, larger syrk
    # calls: 1.2x faster than 8,192-value tiles on 569 x 30, 1.07x on 200,000 x 200.
    _NEWTON_TILE_ELEMS = 32768

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


cdef inline void _small_matvec(const floating* x, const floating* w, Py_ssize_t t,
                               Py_ssize_t d, floating* z) noexcept nogil:
    """z = X_t @ w for a tile of t rows of d (few) columns. float32: a row per
    register (clogreg_rows_dot_f above). float64: four rows at a time, each an in-order
    sum over its columns (the four chains run in parallel)."""
    cdef Py_ssize_t i, j, t4 = t - t % 4
    cdef floating a0, a1, a2, a3, wj
    cdef const floating* x0
    if floating is float:
        _rows_dot_f(x, w, t, d, z)
        return
    for i in range(0, t4, 4):
        x0 = x + i * d
        a0 = 0
        a1 = 0
        a2 = 0
        a3 = 0
        for j in range(d):
            wj = w[j]
            a0 = a0 + x0[j] * wj
            a1 = a1 + x0[d + j] * wj
            a2 = a2 + x0[2 * d + j] * wj
            a3 = a3 + x0[3 * d + j] * wj
        z[i] = a0
        z[i + 1] = a1
        z[i + 2] = a2
        z[i + 3] = a3
    for i in range(t4, t):
        a0 = 0
        for j in range(d):
            a0 = a0 + x[i * d + j] * w[j]
        z[i] = a0


cdef inline void _small_matvec_t(const floating* x, const floating* r, Py_ssize_t t,
                                 Py_ssize_t d, floating* g) noexcept nogil:
    """g += X_t.T @ r for a tile of t rows of d (few) columns: four rows at a time,
    the columns independent (packed instructions)."""
    cdef Py_ssize_t i, j, t4 = t - t % 4
    cdef floating r0, r1, r2, r3
    cdef const floating* x0
    for i in range(0, t4, 4):
        x0 = x + i * d
        r0 = r[i]
        r1 = r[i + 1]
        r2 = r[i + 2]
        r3 = r[i + 3]
        for j in range(d):
            g[j] = g[j] + ((r0 * x0[j] + r1 * x0[d + j]) +
                           (r2 * x0[2 * d + j] + r3 * x0[3 * d + j]))
    for i in range(t4, t):
        for j in range(d):
            g[j] = g[j] + r[i] * x[i * d + j]


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
        # zr = X[t0:t0 + t_rows] @ w
        if d <= _SMALL_D:
            _small_matvec(&X[t0, 0], &w[0], t_rows, d, zr)
        else:
            _gemv(c'T', <int>d, <int>t_rows, <floating>1, &X[t0, 0], &w[0], <floating>0, zr)
        # Ask for the next tile now, so that it streams in during the arithmetic.
        if t0 + t_rows < stop:
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
        # g += X[t0:t0 + t_rows].T @ r   (the tile is still in cache)
        if d <= _SMALL_D:
            _small_matvec_t(&X[t0, 0], zr, t_rows, d, g)
        else:
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
    grad_b[0] = _sum_chunk_stat(chunk_stats, 1)
    n_correct[0] = _sum_chunk_stat(chunk_stats, 2)
    return _sum_chunk_stat(chunk_stats, 0)


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


def column_stats(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    const floating[::1] y,        # IN  (n,) 0.0 / 1.0 labels, or (0,) for none
    double[:, ::1] chunk_sums,    # WORK (n_chunks, k d), k = 3 with y, else 2
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
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t k = 3 if y.shape[0] > 0 else 2
    cdef Py_ssize_t n_chunks = chunk_sums.shape[0], c, j
    if sw.shape[0] not in (0, n) or y.shape[0] not in (0, n) or \
            n_chunks != (n + _CHUNK_ROWS - 1) // _CHUNK_ROWS or \
            chunk_sums.shape[1] != k * d or out.shape[0] != k or out.shape[1] != d:
        raise ValueError("column_stats: inconsistent shapes")
    cdef double acc
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


cdef bint _propose_step(
    const floating[::1] w,        # IN  (p,) current coefficients
    const double[::1] b,          # IN  (K,) current intercepts
    floating[::1] grad,           # IN: gradient of the data term; OUT: proposed w
    double[::1] grad_b,           # IN: intercepts' gradient; OUT: proposed b
    double step,
    double grad_div,              # the gradients are divided by this (batch rows)
    double alpha_l2,
    double alpha_l1,
    bint fit_intercept,
    double* gmax,                 # OUT max |change|
) noexcept nogil:
    """Write the proximal gradient step into grad / grad_b; return whether finite.

        w' = soft_threshold(w - step * (grad / grad_div + alpha_l2 * w), step * alpha_l1)
        b' = b - step * grad_b / grad_div

    The proposal replaces the gradients (no longer needed), so that w and b are only
    overwritten (``_take_step``) once the whole step is known to be finite.
    """
    cdef Py_ssize_t j, k
    cdef double wj, new_wj, thresh = step * alpha_l1
    cdef bint finite = True
    gmax[0] = 0.0
    for j in range(w.shape[0]):
        wj = w[j]
        new_wj = wj - step * (grad[j] / grad_div + alpha_l2 * wj)
        if new_wj > thresh:               # soft threshold: the L1 proximal step
            new_wj -= thresh
        elif new_wj < -thresh:
            new_wj += thresh
        else:
            new_wj = 0.0
        finite = finite and isfinite(new_wj)
        gmax[0] = max(gmax[0], fabs(wj - new_wj))
        grad[j] = <floating>new_wj
    for k in range(b.shape[0]):
        grad_b[k] = b[k] - step * grad_b[k] / grad_div if fit_intercept else b[k]
        finite = finite and isfinite(grad_b[k])
        gmax[0] = max(gmax[0], fabs(b[k] - grad_b[k]))
    return finite


cdef void _take_step(floating[::1] w, double[::1] b, const floating[::1] new_w,
                     const double[::1] new_b) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(w.shape[0]):
        w[j] = new_w[j]
    for j in range(b.shape[0]):
        b[j] = new_b[j]


def gd_fit(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) binary: 0.0 / 1.0; multinomial: class index
    const floating[::1] sw,       # IN  (n,) sample weights, or (0,) for all ones
    floating[::1] w,              # IN/OUT (K * d,) coefficients, class k in w[k*d:(k+1)*d]
    double[::1] b,                # IN/OUT (K,) intercepts; K = 1 means binary
    double[::1] loss_hist,        # OUT (max_iter,) objective entering each epoch
    double[::1] acc_hist,         # OUT (max_iter,) training accuracy (%) likewise
    double[::1] gnorm_hist,       # OUT (max_iter,) gradient mapping max-norm / grad_scale
    floating[::1] grad,           # WORK (K * d,)
    floating[:, ::1] chunk_grad,  # WORK (n_chunks, K * d)
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 3) binary, (n_chunks, 2 + K) multinomial
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
    (intercepts not penalised); ``b.shape[0] == 1`` trains the binary model,
    ``K > 1`` the multinomial one. Each epoch makes one pass over X at the entering
    parameters, records the objective and the accuracy there, then steps::

        w <- soft_threshold(w - lr * (grad_w + alpha_l2 * w), lr * alpha_l1)
        b <- b - lr * grad_b

    It stops after the step of the first epoch whose gradient mapping
    ``max|old - new| / lr``, divided by ``grad_scale``, is <= tol (tol = 0: never),
    after ``max_iter`` epochs, or before the step of an epoch whose loss or step is
    not finite (the parameters then stay those entering that epoch).

    Returns ``(n_iter, status)``: the number of steps taken (also the number of
    history entries written) and one of the STATUS_* codes.
    """
    cdef Py_ssize_t K = b.shape[0]
    if K == 1:
        _check_shapes(X, y, sw, w, chunk_grad, chunk_stats)
    else:
        _check_multinomial_shapes(X, y, sw, w, b, chunk_grad, chunk_stats)
    if grad.shape[0] != w.shape[0] or loss_hist.shape[0] < max_iter or \
            acc_hist.shape[0] < max_iter or gnorm_hist.shape[0] < max_iter:
        raise ValueError("output arrays have the wrong shape")
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")

    cdef Py_ssize_t n = X.shape[0], p = w.shape[0], j
    cdef int epoch, n_iter = 0
    cdef Status status = STATUS_MAX_ITER
    cdef double loss, penalty, correct, gmax
    cdef double[::1] grad_b = cvarray(shape=(K,), itemsize=sizeof(double), format="d")
    cdef bint finite
    with nogil:
        for epoch in range(max_iter):
            if K == 1:
                loss = _loss_grad(X, y, sw, w, b[0], grad, &grad_b[0], &correct,
                                  chunk_grad, chunk_stats, n_threads)
            else:
                loss = _multinomial_loss_grad(X, y, sw, w, b, grad, grad_b, &correct,
                                              chunk_grad, chunk_stats, n_threads)
            penalty = 0.0
            for j in range(p):
                penalty += 0.5 * alpha_l2 * w[j] * w[j] + alpha_l1 * fabs(w[j])
            finite = isfinite(loss) and _propose_step(
                w, b, grad, grad_b, lr, 1.0, alpha_l2, alpha_l1, fit_intercept, &gmax)
            if not finite:
                status = STATUS_NONFINITE
                break
            gmax = gmax / lr
            loss_hist[epoch] = loss + penalty
            acc_hist[epoch] = 100.0 * correct / n
            gnorm_hist[epoch] = gmax / grad_scale
            _take_step(w, b, grad, grad_b)
            n_iter = epoch + 1
            if tol > 0 and gmax <= tol * grad_scale:
                status = STATUS_CONVERGED
                break
    return n_iter, int(status)


# --------------------------------------------------------------------------------
# Multinomial (softmax) regression: K classes, one pass over X for loss + gradient.
# --------------------------------------------------------------------------------

cdef inline void _gemm(char transa, char transb, int m, int n, int k, floating alpha,
                       const floating* a, int lda, const floating* b, int ldb,
                       floating beta, floating* c, int ldc) noexcept nogil:
    """C <- alpha * op(A) @ op(B) + beta * C, column-major (BLAS)."""
    if floating is float:
        sgemm(&transa, &transb, &m, &n, &k, &alpha, <float*>a, &lda, <float*>b, &ldb,
              &beta, c, &ldc)
    else:
        dgemm(&transa, &transb, &m, &n, &k, &alpha, <double*>a, &lda, <double*>b, &ldb,
              &beta, c, &ldc)


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef void _chunk_multinomial(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) class index 0 .. K-1
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] W,        # IN  (K * d,) row-major (K, d)
    const double[::1] b,          # IN  (K,)
    Py_ssize_t c,
    floating[:, ::1] chunk_grad,  # OUT row c: (R.T @ X[rows]).ravel(), R = s * (P - Y)
    double[:, ::1] chunk_stats,   # OUT row c: [sum s*loss, n_correct, sum R[:, k] ...]
) noexcept nogil:
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = b.shape[0]
    cdef Py_ssize_t start = c * _CHUNK_ROWS
    cdef Py_ssize_t stop = min(start + _CHUNK_ROWS, n)
    cdef Py_ssize_t tile = max(1, min(_MAX_TILE_ROWS, _TILE_ELEMS // d))
    cdef bint weighted = sw.shape[0] > 0
    cdef floating* G = &chunk_grad[c, 0]
    cdef floating* Z = <floating*>malloc(tile * K * sizeof(floating))
    cdef floating* zi
    cdef floating m, total, zy, r, si
    cdef double loss = 0.0, correct = 0.0
    cdef Py_ssize_t i, k, t0, t_rows, yi, kmax
    if Z == NULL:               # reported as a non-finite loss
        chunk_stats[c, 0] = NAN
        return
    for k in range(K * d):
        G[k] = 0
    for k in range(K):
        chunk_stats[c, 2 + k] = 0.0
    t0 = start
    while t0 < stop:
        t_rows = min(tile, stop - t0)
        # Z = X[t0:t0 + t_rows] @ W.T        (t_rows, K), row-major
        _gemm(c'T', c'N', <int>K, <int>t_rows, <int>d, <floating>1, &W[0], <int>d,
              &X[t0, 0], <int>d, <floating>0, Z, <int>K)
        for i in range(t_rows):
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
            # softmax with the largest logit subtracted: every exp() is <= 1, and the
            # sum is >= 1, so log(total) never sees 0 or overflow
            total = 0
            for k in range(K):
                zi[k] = _exp(zi[k] - m)
                total += zi[k]
            loss += si * (_log(total) + m - zy)      # -log softmax(z)[y]
            correct += kmax == yi
            for k in range(K):
                r = si * (zi[k] / total - (k == yi))  # s * (p_k - [k == y])
                zi[k] = r
                chunk_stats[c, 2 + k] += r
        # G += R.T @ X[t0:t0 + t_rows]       (K, d), row-major
        _gemm(c'N', c'T', <int>d, <int>K, <int>t_rows, <floating>1, &X[t0, 0], <int>d,
              Z, <int>K, <floating>1, G, <int>d)
        t0 += t_rows
    free(Z)
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
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 2 + K)
    int n_threads,
) noexcept nogil:
    """Return sum(s * -log softmax) and fill the gradients: one pass over X."""
    cdef Py_ssize_t n_chunks = chunk_grad.shape[0], K = b.shape[0]
    cdef Py_ssize_t c, j
    if n_threads > 1 and n_chunks > 1:
        for c in prange(n_chunks, num_threads=n_threads, schedule="dynamic"):
            _chunk_multinomial(X, y, sw, W, b, c, chunk_grad, chunk_stats)
    else:
        for c in range(n_chunks):
            _chunk_multinomial(X, y, sw, W, b, c, chunk_grad, chunk_stats)
    _sum_chunk_grads(chunk_grad, grad)
    for j in range(K):
        grad_b[j] = _sum_chunk_stat(chunk_stats, 2 + j)
    n_correct[0] = _sum_chunk_stat(chunk_stats, 1)
    return _sum_chunk_stat(chunk_stats, 0)


def _check_multinomial_shapes(X, y, sw, W, b, chunk_grad, chunk_stats):
    n, d, K = X.shape[0], X.shape[1], b.shape[0]
    n_chunks = (n + _CHUNK_ROWS - 1) // _CHUNK_ROWS
    if n < 1 or d < 1 or K < 2:
        raise ValueError(f"need n >= 1, d >= 1 and K >= 2, got {n}, {d}, {K}")
    if y.shape[0] != n or sw.shape[0] not in (0, n) or W.shape[0] != K * d:
        raise ValueError("X, y, sample_weight and coefficients have inconsistent shapes")
    if tuple(chunk_grad.shape[:2]) != (n_chunks, K * d) or \
            tuple(chunk_stats.shape[:2]) != (n_chunks, 2 + K):
        raise ValueError("work arrays have the wrong shape")
    _check_class_indices(y, K)


def _check_class_indices(y, K):
    labels = np.asarray(y)
    if not (labels.min() >= 0 and labels.max() < K):   # they index the logits
        raise ValueError(f"class indices must lie in [0, {K})")


def multinomial_loss_grad(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) class index 0 .. K-1
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] W,        # IN  (K * d,) row-major (K, d)
    const double[::1] b,          # IN  (K,)
    floating[::1] grad,           # OUT (K * d,)
    double[::1] grad_b,           # OUT (K,)
    floating[:, ::1] chunk_grad,  # WORK (n_chunks, K * d)
    double[:, ::1] chunk_stats,   # WORK (n_chunks, 2 + K)
    int n_threads=1,
):
    """Multinomial log-loss and its gradient in one pass over X.

    Returns ``(loss, n_correct)`` with ``loss = sum(s * -log softmax(X W.T + b)[y])``
    and fills ``grad = (R.T @ X).ravel()``, ``grad_b = R.sum(0)``, where
    ``R = s * (softmax - onehot(y))``. No penalty is included.
    """
    _check_multinomial_shapes(X, y, sw, W, b, chunk_grad, chunk_stats)
    if grad.shape[0] != W.shape[0] or grad_b.shape[0] != b.shape[0]:
        raise ValueError("gradient arrays have the wrong shape")
    cdef double loss, correct = 0.0
    with nogil:
        loss = _multinomial_loss_grad(X, y, sw, W, b, grad, grad_b, &correct,
                                      chunk_grad, chunk_stats, n_threads)
    return loss, correct


# --------------------------------------------------------------------------------
# Newton: loss, gradient and Hessian of the binary model in one cache-blocked pass.
# --------------------------------------------------------------------------------

def newton_pass(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 / 1.0
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] w,        # IN  (d,)
    double b,
    floating[::1] grad,           # OUT (d,)   X.T @ r,  r = s * (p - y)
    floating[:, ::1] H,           # OUT (d, d) X.T @ diag(h) @ X: the lower triangle
                                  #     (row-major); the strict upper one is set to 0
    floating[::1] H_wb,           # OUT (d,)   X.T @ h,  h = s * p * (1 - p)
):
    """Returns ``(loss, grad_b, h_sum, n_correct)``; fills the gradient and Hessian.

    Per tile of rows: ``z = X_t @ w`` (gemv); per row the loss, ``r`` and
    ``h = s * p * (1 - p)``; then ``grad += X_t.T @ r``, ``H_wb += X_t.T @ h`` (gemv)
    and ``H += V.T @ V`` with ``V = sqrt(h) * X_t`` (syrk, lower triangle). Serial:
    the Hessian is accumulated in one (d, d) array.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    if y.shape[0] != n or sw.shape[0] not in (0, n) or w.shape[0] != d or \
            grad.shape[0] != d or H_wb.shape[0] != d or \
            H.shape[0] != d or H.shape[1] != d or n < 1:
        raise ValueError("newton_pass: inconsistent shapes")
    cdef Py_ssize_t tile = max(1, min(n, _NEWTON_TILE_ELEMS // d))
    cdef bint weighted = sw.shape[0] > 0
    cdef floating* V = <floating*>malloc(tile * d * sizeof(floating))
    cdef floating* work = <floating*>malloc(5 * tile * sizeof(floating))
    if V == NULL or work == NULL:
        free(V)
        free(work)
        raise MemoryError()
    cdef floating* r_t = work              # z, then r = s * (p - y)
    cdef floating* h_t = work + tile       # h = s * p * (1 - p)
    cdef floating* e_t = work + 2 * tile   # exp(-|z|)
    cdef floating* loss_t = work + 3 * tile
    cdef floating* ok_t = work + 4 * tile
    cdef double acc_loss[_LANES]
    cdef double acc_r[_LANES]
    cdef double acc_h[_LANES]
    cdef double acc_ok[_LANES]
    cdef const floating* yt
    cdef const floating* st
    cdef floating q, sq, bf = <floating>b
    cdef Py_ssize_t i, j, k, t0 = 0, t_rows
    cdef int di = <int>d
    cdef floating f_one = 1, f_zero = 0
    cdef char uplo = c'U', trans = c'N'
    with nogil:
        for j in range(d):
            grad[j] = 0
            H_wb[j] = 0
            for i in range(d):
                H[j, i] = 0
        for k in range(_LANES):
            acc_loss[k] = 0.0
            acc_r[k] = 0.0
            acc_h[k] = 0.0
            acc_ok[k] = 0.0
        while t0 < n:
            t_rows = min(tile, n - t0)
            yt = &y[t0]
            # z = X_t @ w  (into r_t)
            _gemv(c'T', di, <int>t_rows, f_one, &X[t0, 0], &w[0], f_zero, r_t)
            # the per-row arithmetic of _chunk_loss_grad, then p (1 - p) = e / (1 + e)**2
            # for either sign of z
            _logistic_rows(r_t, yt, t_rows, bf, e_t, loss_t, ok_t)
            for i in range(t_rows):
                q = <floating>1 / (<floating>1 + e_t[i])
                h_t[i] = e_t[i] * q * q
            if weighted:
                st = &sw[t0]
                for i in range(t_rows):
                    r_t[i] = r_t[i] * st[i]
                    h_t[i] = h_t[i] * st[i]
                    loss_t[i] = loss_t[i] * st[i]
            _add_to_lanes(acc_loss, loss_t, t_rows)
            _add_to_lanes(acc_r, r_t, t_rows)
            _add_to_lanes(acc_h, h_t, t_rows)
            _add_to_lanes(acc_ok, ok_t, t_rows)
            for i in range(t_rows):                     # V[i] = sqrt(h_i) * x_i
                sq = _sqrt(h_t[i])
                for j in range(d):
                    V[i * d + j] = sq * X[t0 + i, j]
            _gemv(c'N', di, <int>t_rows, f_one, &X[t0, 0], r_t, f_one, &grad[0])
            _gemv(c'N', di, <int>t_rows, f_one, &X[t0, 0], h_t, f_one, &H_wb[0])
            # H += V.T @ V   (column-major upper = row-major lower triangle)
            _syrk(uplo, trans, di, <int>t_rows, f_one, V, di, f_one, &H[0, 0], di)
            t0 += t_rows
    free(V)
    free(work)
    return _sum_lanes(acc_loss), _sum_lanes(acc_r), _sum_lanes(acc_h), _sum_lanes(acc_ok)


cdef inline floating _sqrt(floating x) noexcept nogil:
    return <floating>sqrt(x)


cdef inline void _syrk(char uplo, char trans, int n, int k, floating alpha,
                       const floating* a, int lda, floating beta, floating* c,
                       int ldc) noexcept nogil:
    """C <- alpha * A @ A.T + beta * C on one triangle, column-major (BLAS)."""
    if floating is float:
        ssyrk(&uplo, &trans, &n, &k, &alpha, <float*>a, &lda, &beta, c, &ldc)
    else:
        dsyrk(&uplo, &trans, &n, &k, &alpha, <double*>a, &lda, &beta, c, &ldc)


def cd_quadratic(
    const double[:, ::1] A,       # IN  (m, m) symmetric positive semi-definite
    const double[::1] g,          # IN  (m,)
    const double[::1] theta,      # IN  (m,) current parameters
    const double[::1] l1,         # IN  (m,) L1 strength per coordinate (0: none)
    double[::1] delta,            # IN/OUT (m,) the step, start value in, result out
    int max_sweeps,
    double tol,
):
    """Coordinate descent for the proximal Newton step (glmnet / newGLMNET).

    Minimises ``g @ delta + delta @ A @ delta / 2 + sum_j l1[j] * |theta_j + delta_j|``
    by cyclic exact coordinate minimisation, keeping ``A @ delta`` up to date.
    Stops when a sweep moves no coordinate by more than ``tol`` (relative to the
    largest |theta_j + delta_j|), or after ``max_sweeps``. Returns the sweeps made.
    """
    cdef Py_ssize_t m = A.shape[0], j, i
    if A.shape[1] != m or g.shape[0] != m or theta.shape[0] != m or \
            l1.shape[0] != m or delta.shape[0] != m:
        raise ValueError("cd_quadratic: inconsistent shapes")
    cdef double[::1] Ad = cvarray(shape=(max(m, 1),), itemsize=sizeof(double), format="d")
    cdef double a, u, u_new, q, move, max_move, max_u
    cdef int sweep = 0
    with nogil:
        for i in range(m):                      # Ad = A @ delta
            Ad[i] = 0.0
            for j in range(m):
                Ad[i] += A[i, j] * delta[j]
        while sweep < max_sweeps:
            sweep += 1
            max_move = 0.0
            max_u = 0.0
            for j in range(m):
                a = A[j, j]
                if a <= 0:
                    continue
                u = theta[j] + delta[j]
                q = g[j] + Ad[j]                # d/d delta_j of the smooth part
                u_new = u - q / a
                if l1[j] > 0:                   # soft threshold at l1 / a
                    if u_new > l1[j] / a:
                        u_new -= l1[j] / a
                    elif u_new < -l1[j] / a:
                        u_new += l1[j] / a
                    else:
                        u_new = 0.0
                move = u_new - u
                if move != 0.0:
                    delta[j] += move
                    for i in range(m):
                        Ad[i] += A[i, j] * move
                max_move = max(max_move, fabs(move))
                max_u = max(max_u, fabs(u_new))
            if max_move <= tol * max(max_u, 1.0):
                break
    return sweep


# --------------------------------------------------------------------------------
# Mini-batch stochastic gradient descent: epochs of shuffled mini-batches.
# --------------------------------------------------------------------------------

cdef inline uint64_t _xorshift64star(uint64_t* state) noexcept nogil:
    """Next draw of xorshift64* (Vigna): small and fast, enough to shuffle rows."""
    cdef uint64_t x = state[0]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    state[0] = x
    return x * <uint64_t>0x2545F4914F6CDD1D


def sgd_fit(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) binary 0.0 / 1.0, or class index
    const floating[::1] sw,       # IN  (n,) or (0,)
    floating[::1] w,              # IN/OUT (K * d,)
    double[::1] b,                # IN/OUT (K,), K = 1: binary
    double[::1] loss_hist,        # OUT (max_epochs,) sum of the epoch's batch losses (each
                                  #     before its step) + the penalty entering the epoch
    double[::1] acc_hist,         # OUT (max_epochs,) accuracy (%) likewise
    double[::1] gnorm_hist,       # OUT (max_epochs,) last step's max|change| / eta
    int64_t[::1] order,           # WORK (n,) row order, reshuffled every epoch
    floating[:, ::1] Xb,          # WORK (B, d) the rows of one mini-batch
    floating[::1] yb,             # WORK (B,)
    floating[::1] swb,            # WORK (B,), or (0,) when sw is empty
    floating[::1] grad,           # WORK (K * d,)
    floating[:, ::1] chunk_grad,  # WORK (ceil(B / CHUNK_ROWS), K * d)
    double[:, ::1] chunk_stats,   # WORK (ceil(B / CHUNK_ROWS), 3 or 2 + K)
    uint64_t[::1] rng_state,      # IN/OUT (1,) generator state, nonzero
    double[::1] epochs_seen,      # IN/OUT (1,) epochs done before (drives the schedule)
    double eta0,
    double power_t,
    double alpha_l2,
    double alpha_l1,
    bint fit_intercept,
    int max_epochs,
    double tol,
    int n_iter_no_change,
):
    """Mini-batch (proximal) SGD on the mean objective ``F = objective / n``.

    Each epoch shuffles the rows (Fisher-Yates with xorshift64*), then for each batch
    of B rows gathers them into ``Xb``, makes one pass for the batch loss and
    gradient, and steps with ``eta = eta0 / (1 + epochs_seen) ** power_t``
    (``power_t = 0``: constant)::

        w <- soft_threshold(w - eta * (grad_w / m + alpha_l2 / n * w), eta * alpha_l1 / n)
        b <- b - eta * grad_b / m                           (m rows in the batch)

    Stops after ``max_epochs`` or, with tol > 0, when the epoch's mean loss has not
    improved on the best one by tol for ``n_iter_no_change`` epochs in a row
    (scikit-learn's SGDClassifier rule), or before a non-finite step.
    Returns ``(n_epochs, status)``.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], B = Xb.shape[0], K = b.shape[0]
    cdef Py_ssize_t p = w.shape[0]
    if n < 1 or d < 1 or y.shape[0] != n or sw.shape[0] not in (0, n) or \
            p != K * d or order.shape[0] != n or B < 1 or Xb.shape[1] != d or \
            yb.shape[0] != B or swb.shape[0] != (B if sw.shape[0] else 0) or \
            grad.shape[0] != p or chunk_grad.shape[1] != p or \
            chunk_grad.shape[0] != (B + _CHUNK_ROWS - 1) // _CHUNK_ROWS or \
            chunk_stats.shape[0] != chunk_grad.shape[0] or \
            chunk_stats.shape[1] != (3 if K == 1 else 2 + K) or \
            loss_hist.shape[0] < max_epochs or acc_hist.shape[0] < max_epochs or \
            gnorm_hist.shape[0] < max_epochs or rng_state[0] == 0:
        raise ValueError("sgd_fit: inconsistent shapes or state")
    if K > 1:  # the shapes are checked above (work arrays: one batch, not all of X)
        _check_class_indices(y, K)
    cdef double[::1] grad_b = cvarray(shape=(K,), itemsize=sizeof(double), format="d")
    cdef Py_ssize_t i, j, start, m
    cdef int64_t tmp
    cdef int epoch, n_epochs = 0, stale = 0
    cdef Status status = STATUS_MAX_ITER
    cdef double eta, loss, epoch_loss, correct, epoch_correct, penalty, mean_obj
    cdef double best = INFINITY, gmax = 0.0
    cdef bint weighted = sw.shape[0] > 0, finite = True
    cdef uint64_t* state = &rng_state[0]
    cdef floating[:, ::1] X_m              # the first m rows of the batch buffers
    cdef floating[::1] y_m, sw_m
    with nogil:
        for epoch in range(max_epochs):
            for i in range(n - 1, 0, -1):                 # Fisher-Yates shuffle
                j = <Py_ssize_t>(_xorshift64star(state) % <uint64_t>(i + 1))
                tmp = order[i]
                order[i] = order[j]
                order[j] = tmp
            epoch_loss = 0.0
            epoch_correct = 0.0
            penalty = 0.0                                 # at the epoch's entering w
            for j in range(p):
                penalty += 0.5 * alpha_l2 * w[j] * w[j] + alpha_l1 * fabs(w[j])
            start = 0
            while start < n and finite:
                m = min(B, n - start)
                for i in range(m):                        # gather the batch's rows
                    for j in range(d):
                        Xb[i, j] = X[order[start + i], j]
                    yb[i] = y[order[start + i]]
                    if weighted:
                        swb[i] = sw[order[start + i]]
                eta = eta0 / (1.0 + epochs_seen[0]) ** power_t
                X_m = Xb[:m]
                y_m = yb[:m]
                if weighted:
                    sw_m = swb[:m]
                else:
                    sw_m = swb
                if K == 1:
                    loss = _loss_grad(X_m, y_m, sw_m, w, b[0], grad, &grad_b[0],
                                      &correct, chunk_grad, chunk_stats, 1)
                else:
                    loss = _multinomial_loss_grad(X_m, y_m, sw_m, w, b, grad, grad_b,
                                                  &correct, chunk_grad, chunk_stats, 1)
                epoch_loss += loss
                epoch_correct += correct
                # the batch's mean gradient; the penalty per row of the mean objective
                finite = isfinite(loss) and _propose_step(
                    w, b, grad, grad_b, eta, <double>m, alpha_l2 / n, alpha_l1 / n,
                    fit_intercept, &gmax)
                if not finite:
                    break
                _take_step(w, b, grad, grad_b)
                epochs_seen[0] += <double>m / n
                start += m
            if not finite:
                status = STATUS_NONFINITE
                break
            loss_hist[epoch] = epoch_loss + penalty
            acc_hist[epoch] = 100.0 * epoch_correct / n
            gnorm_hist[epoch] = gmax / eta
            n_epochs = epoch + 1
            if tol > 0:
                mean_obj = loss_hist[epoch] / n
                if mean_obj > best - tol:
                    stale += 1
                else:
                    stale = 0
                best = min(best, mean_obj)
                if stale >= n_iter_no_change:
                    status = STATUS_CONVERGED
                    break
    return n_epochs, int(status)


include "_kernel_sparse.pxi"
