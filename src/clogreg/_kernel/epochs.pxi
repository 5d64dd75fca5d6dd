# The epoch drivers: full-batch gradient descent and mini-batch SGD, every epoch inside
# one nogil block; the proximal step they share, the row shuffler's generator, and the
# check between epochs for Ctrl-C and the caller's per-epoch report.
# Included by _kernel.pyx.

from cpython.exc cimport PyErr_CheckSignals
from cpython.ref cimport PyObject
from cython cimport floating
from libc.math cimport INFINITY, fabs, isfinite
from libc.stdint cimport int64_t, uint64_t

import numpy as np

# Values read (rows x columns x outputs, summed over epochs) between two checks for
# pending signals when nobody asked for a report every epoch: 2**24 is about 10 to 40
# ms of a pass on one core, so Ctrl-C stops a fit within one pass or those few ms,
# and the GIL is taken a few dozen times a second at most.
cdef double _POLL_WORK = 16777216.0


cdef class _EpochMonitor:
    """What the epoch loops check between epochs, with the GIL (`_poll`): Python's
    pending signal handlers (Ctrl-C raises ``KeyboardInterrupt`` there) and the
    caller's ``on_epoch(k)``, called as epoch k ends, its history column written. The
    first exception either raises is kept in ``error``; the loop stops and its def
    function raises it once it holds the GIL again."""
    cdef object on_epoch
    cdef object error

    def __cinit__(self, on_epoch):
        self.on_epoch = on_epoch
        self.error = None


cdef bint _poll(PyObject* monitor, int epoch) noexcept with gil:
    """True when the loop must stop: a signal handler or ``on_epoch`` raised."""
    cdef _EpochMonitor m = <_EpochMonitor>monitor
    try:
        PyErr_CheckSignals()
        if m.on_epoch is not None:
            m.on_epoch(epoch)
    except BaseException as exc:
        m.error = exc
        return True
    return False


cdef inline bint _between_epochs(PyObject* monitor, bint every_epoch, double* work,
                                 double epoch_work, int epoch) noexcept nogil:
    """At the end of epoch ``epoch``: `_poll` every epoch when a report is due each
    epoch, else once ``_POLL_WORK`` values were read since the last check. True: stop."""
    work[0] += epoch_work
    if not every_epoch and work[0] < _POLL_WORK:
        return False
    work[0] = 0.0
    return _poll(monitor, epoch)


cdef bint _propose_step(
    const floating[::1] w,        # IN  (p,) current coefficients
    const double[::1] b,          # IN  (K,) current intercepts
    floating[::1] grad,           # IN: gradient of the data term; OUT: proposed w
    double[::1] grad_b,           # IN: intercepts' gradient; OUT: proposed b
    double step,
    double b_ratio,               # the intercepts' step is b_ratio * step
    double grad_div,              # the gradients are divided by this (batch rows)
    double alpha_l2,
    double alpha_l1,
    bint fit_intercept,
    double* gmax,                 # OUT max |change|, an intercept's divided by b_ratio
) noexcept nogil:
    """Write the proximal gradient step into grad / grad_b; return whether finite.

        w' = soft_threshold(w - step * (grad / grad_div + alpha_l2 * w), step * alpha_l1)
        b' = b - b_ratio * step * grad_b / grad_div

    The intercepts are not penalised, so their step may be longer than the
    coefficients' (b_ratio >= 1: see clogreg._objective's step bounds); ``gmax`` then
    measures each block's change in units of its own step (exactly the plain max
    |change| when b_ratio is 1).

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
        grad_b[k] = b[k] - (b_ratio * step) * grad_b[k] / grad_div if fit_intercept \
            else b[k]
        finite = finite and isfinite(grad_b[k])
        gmax[0] = max(gmax[0], fabs(b[k] - grad_b[k]) / b_ratio)
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
    double[:, ::1] hist,          # OUT (3, max_iter) per epoch, at the entering parameters:
                                  #     objective, training accuracy (%), and the gradient
                                  #     mapping's max-norm / grad_scale
    double lr,
    double alpha_l2,
    double alpha_l1,
    bint fit_intercept,
    int max_iter,
    double tol,
    double grad_scale,
    int n_threads=1,
    double intercept_step_ratio=1.0,
    on_epoch=None,
):
    """Full-batch proximal gradient descent on the summed objective.

    Minimises ``sum(s * logloss) + alpha_l2/2 * ||w||^2 + alpha_l1 * ||w||_1``
    (intercepts not penalised); ``b.shape[0] == 1`` trains the binary model,
    ``K > 1`` the multinomial one. Each epoch makes one pass over X at the entering
    parameters, records the objective and the accuracy there, then steps::

        w <- soft_threshold(w - lr * (grad_w + alpha_l2 * w), lr * alpha_l1)
        b <- b - intercept_step_ratio * lr * grad_b

    It stops after the step of the first epoch whose gradient mapping
    ``max|old - new| / lr``, divided by ``grad_scale``, is <= tol (tol = 0: never),
    after ``max_iter`` epochs, or before the step of an epoch whose loss or step is
    not finite (the parameters then stay those entering that epoch).

    Between epochs it takes the GIL now and then to run Python's signal handlers, so
    that Ctrl-C raises ``KeyboardInterrupt`` within about one pass (w and b then hold
    the last epoch's step); ``on_epoch(k)``, if given, is called with the GIL as each
    epoch k ends (its history column written, its step taken), and an exception it
    raises stops the loop and propagates.

    Returns ``(n_iter, status)``: the number of steps taken (also the number of
    history columns written) and one of the STATUS_* codes.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = b.shape[0], p = w.shape[0], j
    _check_data("gd_fit", n, d, y.shape[0], sw.shape[0])
    if K != 1:
        _check_classes("gd_fit", K, y)
    _check_vector("gd_fit", "w", p, K * d)
    _check_matrix("gd_fit", "hist", hist.shape[0], hist.shape[1], 3, max_iter)
    if not lr > 0:
        raise ValueError(f"gd_fit: lr must be positive, got {lr}")
    if not 1.0 <= intercept_step_ratio < INFINITY:
        raise ValueError(f"gd_fit: intercept_step_ratio must be finite and >= 1, got "
                         f"{intercept_step_ratio}")
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] grad = np.empty(p, dtype=dtype)                 # WORK
    cdef double[::1] grad_b = np.empty(K)                              # WORK
    cdef floating[:, ::1] chunk_grad
    cdef double[:, ::1] chunk_stats
    chunk_grad, chunk_stats = _chunk_work(n, p, K, dtype)              # WORK
    cdef floating[:, ::1] logits = _logits_work(n, d, K, n_threads, dtype) if K > 1 \
        else np.empty((1, 1), dtype=dtype)                             # WORK

    cdef int epoch, n_iter = 0
    cdef Status status = STATUS_MAX_ITER
    cdef double loss, penalty, correct, gmax
    cdef bint finite
    cdef _EpochMonitor monitor = _EpochMonitor(on_epoch)
    cdef bint every_epoch = on_epoch is not None
    cdef double work = 0.0, epoch_work = <double>n * d * K
    with nogil:
        for epoch in range(max_iter):
            if K == 1:
                loss = _loss_grad(X, y, sw, w, b[0], grad, &grad_b[0], &correct,
                                  chunk_grad, chunk_stats, n_threads)
            else:
                loss = _multinomial_loss_grad(X, y, sw, w, b, grad, grad_b, &correct,
                                              chunk_grad, chunk_stats, logits, n_threads)
            penalty = 0.0
            for j in range(p):
                penalty += 0.5 * alpha_l2 * w[j] * w[j] + alpha_l1 * fabs(w[j])
            finite = isfinite(loss) and _propose_step(
                w, b, grad, grad_b, lr, intercept_step_ratio, 1.0, alpha_l2, alpha_l1,
                fit_intercept, &gmax)
            if not finite:
                status = STATUS_NONFINITE
                break
            gmax = gmax / lr
            hist[0, epoch] = loss + penalty
            hist[1, epoch] = 100.0 * correct / n
            hist[2, epoch] = gmax / grad_scale
            _take_step(w, b, grad, grad_b)
            n_iter = epoch + 1
            if _between_epochs(<PyObject*>monitor, every_epoch, &work, epoch_work, epoch):
                break
            if tol > 0 and gmax <= tol * grad_scale:
                status = STATUS_CONVERGED
                break
    if monitor.error is not None:
        raise monitor.error
    return n_iter, int(status)


cdef inline uint64_t _xorshift64star(uint64_t* state) noexcept nogil:
    """Next draw of xorshift64* (Vigna): small and fast, enough to shuffle rows."""
    cdef uint64_t x = state[0]
    x ^= x >> 12
    x ^= x << 25
    x ^= x >> 27
    state[0] = x
    return x * <uint64_t>0x2545F4914F6CDD1D


cdef Status _sgd_epochs(
    const floating[:, ::1] X, const floating[::1] y, const floating[::1] sw,
    floating[::1] w, double[::1] b, double[:, ::1] hist,
    int64_t[::1] order, floating[:, ::1] Xb, floating[::1] yb, floating[::1] swb,
    floating[::1] grad, double[::1] grad_b, floating[:, ::1] chunk_grad,
    double[:, ::1] chunk_stats, floating[:, ::1] logits, uint64_t* state,
    double* epochs_seen, double eta0, double power_t, double alpha_l2, double alpha_l1,
    bint fit_intercept, int max_epochs, double tol, int n_iter_no_change,
    double b_ratio,               # the intercepts' step over the coefficients'
    PyObject* monitor,            # an _EpochMonitor (see _between_epochs)
    bint every_epoch,
    int* n_epochs,                # OUT epochs completed
) noexcept nogil:
    """The epochs of sgd_fit (which checks and allocates): returns the status.

    A function of its own, the arrays its parameters: the same loop written inside
    sgd_fit, beside the allocations, compiled to slower code (BENCHMARKS.md, "Kernel
    tuning constants").
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = b.shape[0], p = w.shape[0]
    cdef Py_ssize_t B = Xb.shape[0], i, j, start, m
    cdef bint weighted = sw.shape[0] > 0, finite = True
    cdef int64_t tmp
    cdef int epoch, stale = 0
    cdef Status status = STATUS_MAX_ITER
    cdef double eta, loss, epoch_loss, correct, epoch_correct, penalty, mean_obj
    cdef double best = INFINITY, gmax = 0.0
    cdef double work = 0.0, epoch_work = <double>n * d * K
    cdef floating[:, ::1] X_m              # the first m rows of the batch buffers
    cdef floating[::1] y_m, sw_m
    n_epochs[0] = 0
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
                                              &correct, chunk_grad, chunk_stats,
                                              logits, 1)
            epoch_loss += loss
            epoch_correct += correct
            # the batch's mean gradient; the penalty per row of the mean objective
            finite = isfinite(loss) and _propose_step(
                w, b, grad, grad_b, eta, b_ratio, <double>m, alpha_l2 / n, alpha_l1 / n,
                fit_intercept, &gmax)
            if not finite:
                break
            _take_step(w, b, grad, grad_b)
            epochs_seen[0] += <double>m / n
            start += m
        if not finite:
            status = STATUS_NONFINITE
            break
        hist[0, epoch] = epoch_loss + penalty
        hist[1, epoch] = 100.0 * epoch_correct / n
        hist[2, epoch] = gmax / eta
        n_epochs[0] = epoch + 1
        if _between_epochs(monitor, every_epoch, &work, epoch_work, epoch):
            break
        if tol > 0:
            mean_obj = hist[0, epoch] / n
            if mean_obj > best - tol:
                stale += 1
            else:
                stale = 0
            best = min(best, mean_obj)
            if stale >= n_iter_no_change:
                status = STATUS_CONVERGED
                break
    return status


def sgd_fit(
    const floating[:, ::1] X,     # IN  (n, d)
    const floating[::1] y,        # IN  (n,) binary 0.0 / 1.0, or class index
    const floating[::1] sw,       # IN  (n,) or (0,)
    floating[::1] w,              # IN/OUT (K * d,)
    double[::1] b,                # IN/OUT (K,), K = 1: binary
    double[:, ::1] hist,          # OUT (3, max_epochs) per epoch: the sum of its batch
                                  #     losses (each before its step) + the penalty
                                  #     entering it; accuracy (%) likewise; the last
                                  #     step's max|change| / eta
    uint64_t[::1] rng_state,      # IN/OUT (1,) generator state, nonzero
    double[::1] epochs_seen,      # IN/OUT (1,) epochs done before (drives the schedule)
    double eta0,
    double power_t,
    double alpha_l2,
    double alpha_l1,
    bint fit_intercept,
    Py_ssize_t batch_size,
    int max_epochs,
    double tol,
    int n_iter_no_change,
    double intercept_step_ratio=1.0,
    on_epoch=None,
):
    """Mini-batch (proximal) SGD on the mean objective ``F = objective / n``.

    Each epoch shuffles the rows (Fisher-Yates with xorshift64*), then for each batch
    of B = min(batch_size, n) rows gathers them into a buffer, makes one pass for the
    batch loss and gradient, and steps with ``eta = eta0 / (1 + epochs_seen) ** power_t``
    (``power_t = 0``: constant)::

        w <- soft_threshold(w - eta * (grad_w / m + alpha_l2 / n * w), eta * alpha_l1 / n)
        b <- b - intercept_step_ratio * eta * grad_b / m    (m rows in the batch)

    Stops after ``max_epochs`` or, with tol > 0, when the epoch's mean loss has not
    improved on the best one by tol for ``n_iter_no_change`` epochs in a row
    (scikit-learn's SGDClassifier rule), or before a non-finite step. Ctrl-C and
    ``on_epoch`` as in `gd_fit`.
    Returns ``(n_epochs, status)``.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], K = b.shape[0], p = w.shape[0]
    _check_data("sgd_fit", n, d, y.shape[0], sw.shape[0])
    if K != 1:
        _check_classes("sgd_fit", K, y)
    _check_vector("sgd_fit", "w", p, K * d)
    _check_matrix("sgd_fit", "hist", hist.shape[0], hist.shape[1], 3, max_epochs)
    _check_vector("sgd_fit", "rng_state", rng_state.shape[0], 1)
    _check_vector("sgd_fit", "epochs_seen", epochs_seen.shape[0], 1)
    if rng_state[0] == 0:
        raise ValueError("sgd_fit: rng_state must be nonzero (xorshift64* stays at 0)")
    if batch_size < 1:
        raise ValueError(f"sgd_fit: batch_size must be positive, got {batch_size}")
    if not 1.0 <= intercept_step_ratio < INFINITY:
        raise ValueError(f"sgd_fit: intercept_step_ratio must be finite and >= 1, got "
                         f"{intercept_step_ratio}")
    cdef Py_ssize_t B = min(batch_size, n)
    cdef bint weighted = sw.shape[0] > 0, finite = True
    dtype = np.float32 if floating is float else np.float64
    cdef int64_t[::1] order = np.arange(n, dtype=np.int64)   # WORK row order, reshuffled
    cdef floating[:, ::1] Xb = np.empty((B, d), dtype=dtype)  # WORK the rows of a batch
    cdef floating[::1] yb = np.empty(B, dtype=dtype)          # WORK
    cdef floating[::1] swb = np.empty(B if weighted else 0, dtype=dtype)  # WORK
    cdef floating[::1] grad = np.empty(p, dtype=dtype)        # WORK
    cdef double[::1] grad_b = np.empty(K)                     # WORK
    cdef floating[:, ::1] chunk_grad
    cdef double[:, ::1] chunk_stats
    chunk_grad, chunk_stats = _chunk_work(B, p, K, dtype)     # WORK, for one batch
    cdef floating[:, ::1] logits = _logits_work(B, d, K, 1, dtype) if K > 1 \
        else np.empty((1, 1), dtype=dtype)                    # WORK
    cdef int n_epochs = 0
    cdef Status status
    cdef _EpochMonitor monitor = _EpochMonitor(on_epoch)
    cdef bint every_epoch = on_epoch is not None
    with nogil:
        status = _sgd_epochs(X, y, sw, w, b, hist, order, Xb, yb, swb, grad, grad_b,
                             chunk_grad, chunk_stats, logits, &rng_state[0],
                             &epochs_seen[0], eta0, power_t, alpha_l2, alpha_l1,
                             fit_intercept, max_epochs, tol, n_iter_no_change,
                             intercept_step_ratio, <PyObject*>monitor, every_epoch,
                             &n_epochs)
    if monitor.error is not None:
        raise monitor.error
    return n_epochs, int(status)
