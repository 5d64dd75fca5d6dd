# Newton: loss, gradient and Hessian of the binary model in one cache-blocked pass,
# and coordinate descent for the proximal Newton step. Included by _kernel.pyx.

from cython cimport floating
from libc.math cimport fabs
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
    _check_data("newton_pass", n, d, y.shape[0], sw.shape[0])
    _check_vector("newton_pass", "w", w.shape[0], d)
    _check_vector("newton_pass", "grad", grad.shape[0], d)
    _check_matrix("newton_pass", "H", H.shape[0], H.shape[1], d, d)
    _check_vector("newton_pass", "H_wb", H_wb.shape[0], d)
    cdef Py_ssize_t tile = max(1, min(n, max(_NEWTON_TILE_ELEMS // d, _NEWTON_MIN_TILE_ROWS)))
    cdef bint weighted = sw.shape[0] > 0
    # WORK: V and five vectors of a tile. malloc, not NumPy: a small problem's pass is
    # a few microseconds, and NumPy's allocation added a measurable share (BENCHMARKS.md,
    # "Kernel tuning constants"); a failed malloc raises MemoryError here, before nogil.
    cdef floating* V = <floating*>malloc(tile * d * sizeof(floating))  # sqrt(h) * X_t
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
    cdef Py_ssize_t i, j, k, t0 = 0, t_rows, v_rows
    cdef int di = <int>d
    cdef floating f_one = 1, f_zero = 0
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
    return _sum_lanes(acc_loss), _sum_lanes(acc_r), _sum_lanes(acc_h), _sum_lanes(acc_ok)


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
