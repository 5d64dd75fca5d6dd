# Newton: loss, gradient and Hessian of the binary model in one cache-blocked pass,
# and coordinate descent for the proximal Newton step. Included by _kernel.pyx.

from cython cimport floating
from libc.math cimport INFINITY, fabs, isfinite, sqrt
from scipy.linalg.cython_lapack cimport dpocon, dpotrf, dpotrs
from libc.stdlib cimport free, malloc

import numpy as np


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
    and ``H += V.T @ V`` with ``V = sqrt(h) * X_t`` over the tile's rows of nonzero
    weight (syrk, lower triangle). Serial:
    the Hessian is accumulated in one (d, d) array.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    _check_newton_pass("newton_pass", n, d, y.shape[0], sw.shape[0], w.shape[0],
                       grad.shape[0], H.shape[0], H.shape[1], H_wb.shape[0])
    cdef double sums[4]
    cdef int rc
    with nogil:
        rc = _newton_pass(X, y, sw, w, b, grad, H, H_wb, sums)
    if rc != 0:
        raise MemoryError()
    return sums[0], sums[1], sums[2], sums[3]


cdef void _check_newton_pass(str where, Py_ssize_t n, Py_ssize_t d, Py_ssize_t ny,
                             Py_ssize_t nsw, Py_ssize_t nw, Py_ssize_t ngrad,
                             Py_ssize_t h0, Py_ssize_t h1, Py_ssize_t nhwb) except *:
    _check_data(where, n, d, ny, nsw)
    _check_vector(where, "w", nw, d)
    _check_vector(where, "grad", ngrad, d)
    _check_matrix(where, "H", h0, h1, d, d)
    _check_vector(where, "H_wb", nhwb, d)


cdef int _newton_pass(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sw,
    const floating[::1] w, double b, floating[::1] grad, floating[:, ::1] H,
    floating[::1] H_wb,
    double* sums,                 # OUT [loss, grad_b, h_sum, n_correct]
) noexcept nogil:
    """The pass of `newton_pass` (shapes checked by the caller). Returns 0, or -1
    when its scratch cannot be allocated (nothing written then)."""
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1]
    cdef Py_ssize_t tile = max(1, min(n, max(_NEWTON_TILE_ELEMS // d, _NEWTON_MIN_TILE_ROWS)))
    cdef bint weighted = sw.shape[0] > 0
    # WORK: V and five vectors of a tile. malloc, not NumPy: a small problem's pass is
    # a few microseconds, and NumPy's allocation added a measurable share (BENCHMARKS.md,
    # "Kernel tuning constants").
    cdef floating* V = <floating*>malloc(tile * d * sizeof(floating))  # sqrt(h) * X_t
    cdef floating* work = <floating*>malloc(5 * tile * sizeof(floating))
    if V == NULL or work == NULL:
        free(V)
        free(work)
        return -1
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
    cdef const floating* st = NULL
    cdef floating q, sq, bf = <floating>b
    cdef Py_ssize_t i, j, k, t0 = 0, t_rows, v_rows
    cdef int di = <int>d
    cdef floating f_one = 1, f_zero = 0
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
        _gemv(RowMajor, NoTrans, <int>t_rows, di, f_one, &X[t0, 0], di, &w[0], f_zero,
              r_t)
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
        # V = sqrt(h_i) * x_i for the rows of nonzero weight: a zero-weight row (a
        # held-out row of a cross-validation fold) adds nothing to H but would cost
        # its d^2 / 2 multiply-adds in syrk
        v_rows = 0
        for i in range(t_rows):
            if weighted and st[i] == 0:
                continue
            sq = _sqrt(h_t[i])
            for j in range(d):
                V[v_rows * d + j] = sq * X[t0 + i, j]
            v_rows += 1
        _gemv(RowMajor, Trans, <int>t_rows, di, f_one, &X[t0, 0], di, r_t, f_one,
              &grad[0])
        _gemv(RowMajor, Trans, <int>t_rows, di, f_one, &X[t0, 0], di, h_t, f_one,
              &H_wb[0])
        # H += V.T @ V   (lower triangle)
        if v_rows > 0:
            _syrk(RowMajor, Lower, Trans, di, <int>v_rows, f_one, V, di, f_one,
                  &H[0, 0], di)
        t0 += t_rows
    free(V)
    free(work)
    sums[0] = _sum_lanes(acc_loss)
    sums[1] = _sum_lanes(acc_r)
    sums[2] = _sum_lanes(acc_h)
    sums[3] = _sum_lanes(acc_ok)
    return 0


cpdef enum NewtonStatus:  # newton_direction's outcomes
    NEWTON_STEP = 0          # the step is written
    NEWTON_NONFINITE = 1     # the Hessian's sums are not finite (inf or NaN)
    NEWTON_NO_CHOLESKY = 2   # not positive definite, or its rcond <= rcond_min


def newton_direction(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) 0.0 / 1.0
    const floating[::1] sw,       # IN  (n,) or (0,)
    const floating[::1] w,        # IN  (d,)
    double b,
    const double[::1] g,          # IN  (m,) the objective's gradient at (w, b), m = d
                                  #     or d + 1 (the intercept's last)
    double alpha_l2,              # the weights' L2 strength (not the intercept's)
    double rcond_min,
    double[::1] delta,            # OUT (m,) the Newton step, where NEWTON_STEP
):
    """The Newton step of the binary objective with an L2 penalty or none, in one
    call: the Hessian pass of `newton_pass`, then the solve of
    ``clogreg._objective.QuadraticModel`` without L1, the same operations in the same
    order on the same LAPACK, so the same bits: ``A = [X, 1].T diag(h) [X, 1]``
    (the intercept's row and column only for m = d + 1) plus ``alpha_l2`` on the
    weights' diagonal, scaled to a unit diagonal, Cholesky (dpotrf) accepted where
    LAPACK's estimate of its reciprocal condition number (dpocon, 1-norm) is above
    ``rcond_min``, and ``delta = -A^-1 g`` (dpotrs).

    For small problems, where the Python around the same steps (the model object,
    NumPy's small-array calls) cost as much as the pass. Returns NEWTON_STEP,
    NEWTON_NONFINITE or NEWTON_NO_CHOLESKY (then ``delta`` is not written, and the
    caller takes QuadraticModel's least-squares path).
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], m = delta.shape[0]
    if m != d and m != d + 1:
        raise ValueError(f"newton_direction: delta must have d = {d} or d + 1 entries, "
                         f"got {m}")
    _check_vector("newton_direction", "g", g.shape[0], m)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] grad = np.empty(d, dtype)                        # WORK
    cdef floating[:, ::1] H = np.empty((d, d), dtype)                   # WORK
    cdef floating[::1] H_wb = np.empty(d, dtype)                        # WORK
    _check_newton_pass("newton_direction", n, d, y.shape[0], sw.shape[0], w.shape[0],
                       d, d, d, d)
    # A (m, m) row-major, its lower triangle filled, then the scale, the right-hand
    # side and dpocon's work (3 m doubles, m ints)
    cdef double* A = <double*>malloc((m * m + 5 * m) * sizeof(double))
    cdef int* iwork = <int*>malloc(m * sizeof(int))
    if A == NULL or iwork == NULL:
        free(A)
        free(iwork)
        raise MemoryError()
    cdef double sums[4]
    cdef int rc
    cdef NewtonStatus status = NEWTON_NO_CHOLESKY
    with nogil:
        rc = _newton_pass(X, y, sw, w, b, grad, H, H_wb, sums)
        if rc == 0:
            status = _newton_solve(H, H_wb, sums[2], m == d + 1, alpha_l2, g, rcond_min,
                                   A, iwork, delta)
    free(A)
    free(iwork)
    if rc != 0:
        raise MemoryError()
    return int(status)


cdef NewtonStatus _newton_solve(
    floating[:, ::1] H, floating[::1] H_wb, double h_sum, bint fit_b, double a2,
    const double[::1] g, double rcond_min,
    double* A,                    # WORK (m * m + 5 * m,)
    int* iwork,                   # WORK (m,)
    double[::1] delta,
) noexcept nogil:
    """The solve of `newton_direction` (see there)."""
    cdef Py_ssize_t d = H.shape[0], m = d + 1 if fit_b else d, i, j
    cdef double* s = A + m * m
    cdef double* rhs = s + m
    cdef double* work = rhs + m
    cdef double dg, norm1, col, rcond
    cdef char up = b'U'
    cdef int mi = <int>m, one = 1, info = 0
    # QuadraticModel.binary refuses a Hessian whose sums are not finite
    for i in range(d):
        if not isfinite(H_wb[i]):
            return NEWTON_NONFINITE
        for j in range(i + 1):
            if not isfinite(H[i, j]):
                return NEWTON_NONFINITE
    # A: lower triangle [[H, 0], [H_wb, h_sum]], the strict upper one 0
    for i in range(m):
        for j in range(m):
            A[i * m + j] = 0.0
    for i in range(d):
        for j in range(i + 1):
            A[i * m + j] = H[i, j]
        if a2:
            A[i * m + i] += a2
    if fit_b:
        for j in range(d):
            A[d * m + j] = H_wb[j]
        A[d * m + d] = h_sum
    # Jacobi scaling: s = 1 / sqrt(diag), a diagonal entry that is 0, tiny or not
    # finite counting as 1; A[i, j] * s[j], then * s[i]
    for i in range(m):
        dg = A[i * m + i]
        if not (dg > 1e-300 and dg < INFINITY):
            dg = 1.0
        s[i] = 1.0 / sqrt(dg)
    for i in range(m):
        for j in range(m):
            A[i * m + j] = (A[i * m + j] * s[j]) * s[i]
    # the 1-norm of the symmetric matrix, from its lower triangle
    norm1 = 0.0
    for j in range(m):
        col = 0.0
        for i in range(j, m):
            col += fabs(A[i * m + j])
        for i in range(j):
            col += fabs(A[j * m + i])
        norm1 = max(norm1, col)
    # Row-major A is the column-major A.T: LAPACK's upper triangle is A's lower
    dpotrf(&up, &mi, A, &mi, &info)
    if info != 0:
        return NEWTON_NO_CHOLESKY
    dpocon(&up, &mi, A, &mi, &norm1, &rcond, work, iwork, &info)
    if info != 0 or not rcond > rcond_min:
        return NEWTON_NO_CHOLESKY
    for i in range(m):
        rhs[i] = s[i] * g[i]
    dpotrs(&up, &mi, &one, A, &mi, rhs, &mi, &info)
    if info != 0:
        return NEWTON_NO_CHOLESKY
    for i in range(m):
        delta[i] = -s[i] * rhs[i]
    return NEWTON_STEP


cdef inline double _cd_update(double u, double q, double c, double a) noexcept nogil:
    """One coordinate's exact minimiser in coordinate descent for a quadratic plus L1:
    ``u - q / a`` (q the smooth part's derivative there, a its curvature), soft
    thresholded at ``c / a`` where the L1 strength c is positive."""
    cdef double u_new = u - q / a
    if c > 0:
        if u_new > c / a:
            u_new -= c / a
        elif u_new < -c / a:
            u_new += c / a
        else:
            u_new = 0.0
    return u_new


cdef inline double _cd_violation(double u, double q, double c) noexcept nogil:
    """The smallest |subgradient| of a quadratic plus ``c |u|`` in one coordinate (q
    the smooth part's derivative there): the coordinate's optimality measure."""
    if c > 0:
        if u > 0:
            return fabs(q + c)
        if u < 0:
            return fabs(q - c)
        return fabs(q) - c if fabs(q) > c else 0.0
    return fabs(q)


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
    _check_matrix("cd_quadratic", "A", m, A.shape[1], m, m)
    _check_vector("cd_quadratic", "g", g.shape[0], m)
    _check_vector("cd_quadratic", "theta", theta.shape[0], m)
    _check_vector("cd_quadratic", "l1", l1.shape[0], m)
    _check_vector("cd_quadratic", "delta", delta.shape[0], m)
    cdef double[::1] Ad = np.empty(max(m, 1))     # WORK A @ delta
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
                u_new = _cd_update(u, q, l1[j], a)
                move = u_new - u
                if move != 0.0:
                    delta[j] += move
                    for i in range(m):          # column j of A is its row j: contiguous
                        Ad[i] += A[j, i] * move
                max_move = max(max_move, fabs(move))
                max_u = max(max_u, fabs(u_new))
            if max_move <= tol * max(max_u, 1.0):
                break
    return sweep
