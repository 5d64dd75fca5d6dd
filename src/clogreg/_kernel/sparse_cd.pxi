# Coordinate descent for the L1 proximal Newton step on a CSC matrix (newGLMNET,
# without forming the Hessian). Included by _kernel.pyx.
#
# Design
# ------
# The step minimises the binary model's quadratic model plus the L1 term,
#
#     q(delta) = g . delta + delta . (A.T diag(h) A + alpha_l2 I_w) . delta / 2
#                + sum_t l1_t |theta_t + delta_t|,
#
# over the coordinates of a working set (columns of X, and the intercept, whose
# column is all ones), A = [X, 1]. The Hessian is never formed: the sweep keeps
# r = A . delta (one float64 value per row) and reads column j's stored entries for
# ``sum_i h_i x_ij r_i``, so a sweep costs the working set's stored entries once, as
# LIBLINEAR's newGLMNET does (Yuan, Ho and Lin 2012). h_i and r_i lie side by side
# (``hr``, (n, 2)): one cache line serves both gathers of an entry.
#
# * Cyclic order, one thread: the result depends on X and the arguments only.
# * The columns' CSC arrays are checked as their diagonals are summed, before any
#   sweep: a column index outside [0, d), an indptr that decreases or leaves [0, nnz],
#   or a row index outside [0, n) stops the call with a status; the wrapper raises a
#   ValueError naming the problem. The sweeps then read only checked entries.
# * float32 data and weights are read as they are; every sum is in float64.
from cython cimport floating
from libc.math cimport fabs

import numpy as np

cdef enum:
    _CD_OK = 0
    _CD_BAD_COLUMN = 1
    _CD_BAD_INDPTR = 2
    _CD_BAD_ROW = 3

# Added to each diagonal entry (LIBLINEAR's nu): a column with no stored entry and no
# L2 penalty still has a finite coordinate step (to 0 under L1).
cdef double _CD_NU = 1e-12


cdef int _csc_cd_sweeps(
    const floating[::1] data,         # IN  (nnz,) CSC values
    const csr_index[::1] indices,     # IN  (nnz,) row of each entry
    const csr_index[::1] indptr,      # IN  (d + 1,) where column j starts
    const Py_ssize_t[::1] cols,       # IN  (k,) the working set's columns
    const floating[::1] h,            # IN  (n,) Hessian weights s p (1 - p)
    const double[::1] g,              # IN  (m,) gradient at theta, m = k + fit_b
    const double[::1] theta,          # IN  (m,)
    const double[::1] l1,             # IN  (m,)
    double alpha_l2, bint fit_b,
    double[::1] delta,                # OUT (m,)
    double[:, ::1] hr,                # WORK (n, 2): h_i, r_i
    double[::1] diag,                 # WORK (m,)
    int max_sweeps, double tol,
    int* sweeps, double* viol_out,
) noexcept nogil:
    cdef Py_ssize_t n = h.shape[0], nnz = data.shape[0], d = indptr.shape[0] - 1
    cdef Py_ssize_t k = cols.shape[0], m = k + (1 if fit_b else 0)
    cdef Py_ssize_t t, j, p, p0, p1, i
    cdef double acc, q, u, move, viol, v, x, c
    for i in range(n):
        hr[i, 0] = h[i]
        hr[i, 1] = 0.0
    for t in range(k):                      # check the columns, sum their diagonals
        j = cols[t]
        if j < 0 or j >= d:
            return _CD_BAD_COLUMN
        p0 = indptr[j]
        p1 = indptr[j + 1]
        if p0 < 0 or p0 > p1 or p1 > nnz:
            return _CD_BAD_INDPTR
        acc = 0.0
        for p in range(p0, p1):
            i = indices[p]
            if i < 0 or i >= n:
                return _CD_BAD_ROW
            x = data[p]
            acc += hr[i, 0] * x * x
        diag[t] = acc + alpha_l2 + _CD_NU
    if fit_b:
        acc = 0.0
        for i in range(n):
            acc += hr[i, 0]
        diag[k] = acc + _CD_NU
    for t in range(m):
        delta[t] = 0.0
    sweeps[0] = 0
    viol_out[0] = 0.0
    while sweeps[0] < max_sweeps:
        sweeps[0] += 1
        viol = 0.0
        for t in range(m):
            if t < k:
                j = cols[t]
                p0 = indptr[j]
                p1 = indptr[j + 1]
                acc = 0.0
                for p in range(p0, p1):
                    i = indices[p]
                    acc += hr[i, 0] * hr[i, 1] * data[p]
                q = g[t] + alpha_l2 * delta[t] + acc
            else:                           # the intercept: a column of ones
                acc = 0.0
                for i in range(n):
                    acc += hr[i, 0] * hr[i, 1]
                q = g[t] + acc
            u = theta[t] + delta[t]
            c = l1[t]
            # the smallest subgradient of q in this coordinate: its optimality measure
            v = _cd_violation(u, q, c)
            if v > viol:
                viol = v
            move = _cd_update(u, q, c, diag[t]) - u
            if move == 0.0:
                continue
            delta[t] += move
            if t < k:
                for p in range(p0, p1):
                    hr[indices[p], 1] += move * data[p]
            else:
                for i in range(n):
                    hr[i, 1] += move
        viol_out[0] = viol
        if viol <= tol:
            break
    return _CD_OK


def _csc_cd_run(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    const Py_ssize_t[::1] cols, const floating[::1] h, const double[::1] g,
    const double[::1] theta, const double[::1] l1, double alpha_l2, bint fit_b,
    double[::1] delta, double[:, ::1] hr, double[::1] diag, int max_sweeps, double tol,
):
    cdef int status, sweeps = 0
    cdef double viol = 0.0
    with nogil:
        status = _csc_cd_sweeps(data, indices, indptr, cols, h, g, theta, l1, alpha_l2,
                                fit_b, delta, hr, diag, max_sweeps, tol, &sweeps, &viol)
    return status, sweeps, viol


def csc_cd_step(data, indices, indptr, cols, h, g, theta, l1, double alpha_l2,
                bint fit_b, delta, int max_sweeps, double tol):
    """The L1 proximal Newton step of the binary model on a CSC matrix, by cyclic
    coordinate descent without forming the Hessian (newGLMNET).

    Minimises ``g . delta + delta . H . delta / 2 + sum_t l1[t] |theta[t] + delta[t]|``
    with ``H = A.T diag(h) A + alpha_l2`` (on the columns only), ``A = X[:, cols]``
    and, with ``fit_b``, a last column of ones (the intercept, the last coordinate).
    ``g``, ``theta``, ``l1`` and ``delta`` (float64) have ``len(cols) + fit_b``
    entries; ``h`` (X's dtype, one per row) are the Hessian weights ``s p (1 - p)``
    (``csr_loss_grad``'s ``h_out``). ``delta`` receives the step (from 0).

    Stops after the first sweep in which every coordinate's smallest subgradient of
    the model, measured before its update, was at most ``tol``, or after
    ``max_sweeps``. Returns ``(sweeps, that measure in the last sweep)``. One thread;
    a sweep reads the working set's stored entries once.
    """
    data = np.asarray(data)
    n = np.shape(h)[0]
    k = np.shape(cols)[0]
    m = k + (1 if fit_b else 0)
    if data.dtype not in (np.float32, np.float64):
        raise ValueError(f"CSC data must be float32 or float64, got {data.dtype}")
    _csr_same_dtype(data.dtype, h=h)
    if np.asarray(indices).dtype != np.asarray(indptr).dtype:
        raise ValueError("CSC indices and indptr must have the same integer dtype")
    if np.shape(indices)[0] != data.shape[0]:
        raise ValueError("CSC data and indices must have the same length")
    for name, a in (("g", g), ("theta", theta), ("l1", l1), ("delta", delta)):
        if np.shape(a)[0] != m:
            raise ValueError(f"csc_cd_step: {name} must have len(cols) + fit_b = {m} "
                             f"entries, got {np.shape(a)[0]}")
    if max_sweeps < 1:
        raise ValueError(f"max_sweeps must be >= 1, got {max_sweeps}")
    hr = np.empty((n, 2))
    diag = np.empty(max(m, 1))
    status, sweeps, viol = _csc_cd_run(
        data, np.asarray(indices), np.asarray(indptr), np.ascontiguousarray(cols, np.intp),
        h, g, theta, l1, alpha_l2, fit_b, delta, hr, diag, max_sweeps, tol)
    if status == _CD_BAD_COLUMN:
        raise ValueError(f"csc_cd_step: cols must lie in [0, n_features = "
                         f"{np.shape(indptr)[0] - 1})")
    if status == _CD_BAD_INDPTR:
        raise ValueError("CSC indptr must be non-decreasing within [0, nnz]")
    if status == _CD_BAD_ROW:
        raise ValueError(f"CSC row indices must lie in [0, n_samples = {n})")
    return sweeps, viol


# --------------------------------------------------------------------------------
# The multinomial model: the whole softmax Hessian, its classes coupled.
# --------------------------------------------------------------------------------
#
# H = sum_i s_i (a_i a_i.T) (x) (diag(p_i) - p_i p_i.T), a_i = [x_i, 1]. With
# R[k, i] = a_i . delta_k (every class's step so far) and q_i = sum_l p_il R[l, i],
#
#     (H delta)_(k, j) = sum_i a_ij s_i p_ik (R[k, i] - q_i),
#     H_(k, j),(k, j)  = sum_i a_ij^2 s_i p_ik (1 - p_ik),
#
# so a coordinate's exact minimisation reads its column once (three gathers an entry)
# and its move updates R[k] and q along the same entries.

cdef int _csc_cd_multi_sweeps(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    const Py_ssize_t[::1] cols,       # IN  every class's columns, class by class
    const Py_ssize_t[::1] offsets,    # IN  (K + 1,) class k's are cols[offsets[k]:offsets[k + 1]]
    const double[:, ::1] P,           # IN  (K, n) probabilities
    const double[:, ::1] PS,          # IN  (K, n) s_i p_ik
    const double[::1] g, const double[::1] theta, const double[::1] l1,
    double alpha_l2, bint fit_b,
    double[::1] delta,                # OUT (m,) coordinates class by class, each class's
                                      #     columns then (fit_b) its intercept
    double[:, ::1] R,                 # WORK (K, n)
    double[::1] q,                    # WORK (n,)
    double[::1] diag,                 # WORK (m,)
    int max_sweeps, double tol, int* sweeps, double* viol_out,
) noexcept nogil:
    cdef Py_ssize_t K = P.shape[0], n = P.shape[1], nnz = data.shape[0]
    cdef Py_ssize_t d = indptr.shape[0] - 1
    cdef Py_ssize_t k, t, c, j, p, p0, p1, i, m = 0
    cdef double acc, qv, u, move, viol, v, x
    for k in range(K):
        for i in range(n):
            R[k, i] = 0.0
    for i in range(n):
        q[i] = 0.0
    for k in range(K):                      # check the columns, sum their diagonals
        for t in range(offsets[k], offsets[k + 1]):
            j = cols[t]
            if j < 0 or j >= d:
                return _CD_BAD_COLUMN
            p0 = indptr[j]
            p1 = indptr[j + 1]
            if p0 < 0 or p0 > p1 or p1 > nnz:
                return _CD_BAD_INDPTR
            acc = 0.0
            for p in range(p0, p1):
                i = indices[p]
                if i < 0 or i >= n:
                    return _CD_BAD_ROW
                x = data[p]
                acc += PS[k, i] * (1.0 - P[k, i]) * x * x
            diag[m] = acc + alpha_l2 + _CD_NU
            m += 1
        if fit_b:
            acc = 0.0
            for i in range(n):
                acc += PS[k, i] * (1.0 - P[k, i])
            diag[m] = acc + _CD_NU
            m += 1
    for c in range(m):
        delta[c] = 0.0
    sweeps[0] = 0
    viol_out[0] = 0.0
    while sweeps[0] < max_sweeps:
        sweeps[0] += 1
        viol = 0.0
        c = 0
        for k in range(K):
            for t in range(offsets[k], offsets[k + 1] + (1 if fit_b else 0)):
                if t < offsets[k + 1]:
                    j = cols[t]
                    p0 = indptr[j]
                    p1 = indptr[j + 1]
                    acc = 0.0
                    for p in range(p0, p1):
                        i = indices[p]
                        acc += PS[k, i] * (R[k, i] - q[i]) * data[p]
                    qv = g[c] + alpha_l2 * delta[c] + acc
                else:                       # class k's intercept: a column of ones
                    acc = 0.0
                    for i in range(n):
                        acc += PS[k, i] * (R[k, i] - q[i])
                    qv = g[c] + acc
                u = theta[c] + delta[c]
                v = _cd_violation(u, qv, l1[c])
                if v > viol:
                    viol = v
                move = _cd_update(u, qv, l1[c], diag[c]) - u
                if move != 0.0:
                    delta[c] += move
                    if t < offsets[k + 1]:
                        for p in range(p0, p1):
                            i = indices[p]
                            x = move * data[p]
                            R[k, i] += x
                            q[i] += P[k, i] * x
                    else:
                        for i in range(n):
                            R[k, i] += move
                            q[i] += P[k, i] * move
                c += 1
        viol_out[0] = viol
        if viol <= tol:
            break
    return _CD_OK


def _csc_cd_multi_run(
    const floating[::1] data, const csr_index[::1] indices, const csr_index[::1] indptr,
    const Py_ssize_t[::1] cols, const Py_ssize_t[::1] offsets, const double[:, ::1] P,
    const double[:, ::1] PS, const double[::1] g, const double[::1] theta,
    const double[::1] l1, double alpha_l2, bint fit_b, double[::1] delta,
    double[:, ::1] R, double[::1] q, double[::1] diag, int max_sweeps, double tol,
):
    cdef int status, sweeps = 0
    cdef double viol = 0.0
    with nogil:
        status = _csc_cd_multi_sweeps(data, indices, indptr, cols, offsets, P, PS, g,
                                      theta, l1, alpha_l2, fit_b, delta, R, q, diag,
                                      max_sweeps, tol, &sweeps, &viol)
    return status, sweeps, viol


def csc_cd_multinomial_step(data, indices, indptr, cols, offsets, P, sample_weight, g,
                            theta, l1, double alpha_l2, bint fit_b, delta,
                            int max_sweeps, double tol):
    """The proximal Newton step of the multinomial model on a CSC matrix, by cyclic
    coordinate descent on its whole Hessian (the classes coupled), never formed.

    ``P`` (K, n) float64: the probabilities at the current point; ``sample_weight``
    (n,) or (0,) (all ones). Class k moves the columns ``cols[offsets[k]:offsets[k +
    1]]`` and, with ``fit_b``, its intercept; ``g``, ``theta``, ``l1`` and ``delta``
    (float64) list those coordinates class by class (each class's columns, then its
    intercept). Minimises ``g . delta + delta . H . delta / 2 + sum l1 |theta +
    delta|`` with H the softmax Hessian plus ``alpha_l2`` on the coefficients, as
    `csc_cd_step` does for the binary model (same stopping rule). Returns
    ``(sweeps, the optimality measure of the last sweep)``.
    """
    data = np.asarray(data)
    P = np.ascontiguousarray(P, dtype=np.float64)
    K, n = P.shape
    offsets = np.ascontiguousarray(offsets, dtype=np.intp)
    cols = np.ascontiguousarray(cols, dtype=np.intp)
    if offsets.shape[0] != K + 1 or offsets[0] != 0 or offsets[K] != cols.shape[0] or \
            np.any(np.diff(offsets) < 0):
        raise ValueError(f"offsets must rise from 0 to len(cols) = {cols.shape[0]} in "
                         f"K + 1 = {K + 1} entries")
    m = cols.shape[0] + (K if fit_b else 0)
    if data.dtype not in (np.float32, np.float64):
        raise ValueError(f"CSC data must be float32 or float64, got {data.dtype}")
    if np.asarray(indices).dtype != np.asarray(indptr).dtype:
        raise ValueError("CSC indices and indptr must have the same integer dtype")
    if np.shape(indices)[0] != data.shape[0]:
        raise ValueError("CSC data and indices must have the same length")
    for name, a in (("g", g), ("theta", theta), ("l1", l1), ("delta", delta)):
        if np.shape(a)[0] != m:
            raise ValueError(f"csc_cd_multinomial_step: {name} must have len(cols) + "
                             f"K * fit_b = {m} entries, got {np.shape(a)[0]}")
    if max_sweeps < 1:
        raise ValueError(f"max_sweeps must be >= 1, got {max_sweeps}")
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.shape[0] not in (0, n):
        raise ValueError(f"sample_weight must have n = {n} entries or none")
    PS = P * sw if sw.shape[0] else P
    status, sweeps, viol = _csc_cd_multi_run(
        data, np.asarray(indices), np.asarray(indptr), cols, offsets, P, PS, g, theta,
        l1, alpha_l2, fit_b, delta, np.empty((K, n)), np.empty(n), np.empty(max(m, 1)),
        max_sweeps, tol)
    if status == _CD_BAD_COLUMN:
        raise ValueError(f"csc_cd_multinomial_step: cols must lie in [0, n_features = "
                         f"{np.shape(indptr)[0] - 1})")
    if status == _CD_BAD_INDPTR:
        raise ValueError("CSC indptr must be non-decreasing within [0, nnz]")
    if status == _CD_BAD_ROW:
        raise ValueError(f"CSC row indices must lie in [0, n_samples = {n})")
    return sweeps, viol
