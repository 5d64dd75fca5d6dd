# BLAS wrappers and the hand-written small matrix-vector products. Included by
# _kernel.pyx.
#
# The wrappers take the storage order of the matrices as an argument, as
# scikit-learn's sklearn/utils/_cython_blas.pyx does: a row-major call is turned into
# the column-major BLAS call on the transposed matrices (the same Fortran call that the
# kernel used to spell out by hand, so the same bits). Every call site here is
# row-major: X, V and H are C arrays. (The multinomial pass's products are the
# kernel's own loops in simd.h, not gemm: issue 12.)

from cython cimport floating
from scipy.linalg.cython_blas cimport dgemv, dsyrk, sgemv, ssyrk


cdef enum BLAS_Order:
    RowMajor
    ColMajor

cdef enum BLAS_Trans:
    NoTrans = 78    # 'N'
    Trans = 84      # 'T'

cdef enum BLAS_UpLo:
    Upper = 85      # 'U'
    Lower = 76      # 'L'


cdef inline void _gemv(BLAS_Order order, BLAS_Trans ta, int m, int n, floating alpha,
                       const floating* A, int lda, const floating* x, floating beta,
                       floating* y) noexcept nogil:
    """y <- alpha * op(A) @ x + beta * y for an (m, n) matrix A in ``order``, unit strides.

    Row-major A is the column-major (n, m) matrix A.T: the opposite transpose flag.
    """
    cdef char trans
    cdef int rows = m, cols = n, one = 1
    if order == RowMajor:
        trans = c'N' if ta == Trans else c'T'
        rows, cols = n, m
    else:
        trans = c'T' if ta == Trans else c'N'
    if floating is float:
        sgemv(&trans, &rows, &cols, &alpha, <float*>A, &lda, <float*>x, &one, &beta, y,
              &one)
    else:
        dgemv(&trans, &rows, &cols, &alpha, <double*>A, &lda, <double*>x, &one, &beta, y,
              &one)


cdef inline void _syrk(BLAS_Order order, BLAS_UpLo uplo, BLAS_Trans ta, int n, int k,
                       floating alpha, const floating* A, int lda, floating beta,
                       floating* C, int ldc) noexcept nogil:
    """C <- alpha * op(A) @ op(A).T + beta * C on the ``uplo`` triangle of the (n, n) C;
    ``op(A)`` is (n, k).

    Row-major: the lower triangle of C is the upper one of the column-major C.T, and A is
    the column-major A.T: both flags flip.
    """
    cdef char u, trans
    if order == RowMajor:
        u = c'U' if uplo == Lower else c'L'
        trans = c'N' if ta == Trans else c'T'
    else:
        u = c'U' if uplo == Upper else c'L'
        trans = c'T' if ta == Trans else c'N'
    if floating is float:
        ssyrk(&u, &trans, &n, &k, &alpha, <float*>A, &lda, &beta, C, &ldc)
    else:
        dsyrk(&u, &trans, &n, &k, &alpha, <double*>A, &lda, &beta, C, &ldc)


cdef inline void _small_matvec(const floating* x, const floating* w, Py_ssize_t t,
                               Py_ssize_t d, floating* z) noexcept nogil:
    """z = X_t @ w for a tile of t rows of d columns. float32: a row per register
    (clogreg_rows_dot_f in simd.h). float64: up to _SMALL_D columns four rows at a
    time, each an in-order sum over its columns (the four chains run in parallel);
    above, 8-lane sums (clogreg_rows_dot_d in simd.h)."""
    cdef Py_ssize_t i, j, t4 = t - t % 4
    cdef floating a0, a1, a2, a3, wj
    cdef const floating* x0
    if floating is float:
        _rows_dot_f(x, w, t, d, z)
        return
    if d > _SMALL_D:
        _rows_dot_d(x, w, t, d, z)
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
    """g += X_t.T @ r for a tile of t rows of d columns: four rows at a time, the
    columns independent (packed instructions, the same sums in every build)."""
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
