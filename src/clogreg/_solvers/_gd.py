"""Full-batch (proximal) gradient descent: the tutorial's algorithm."""
import functools

import numpy as np

from .._objective import proximal_step
from ._result import SolverResult, Status, penalty_not_finite, run_in_segments


def gradient_descent(objective, coef, intercept, *, learning_rate, max_iter, tol,
                     progress=None):
    """Gradient descent on the summed objective from (coef, intercept).

    ``learning_rate`` is the step applied to the summed gradient; ``"auto"`` is
    ``1 / L`` for the gradient's Lipschitz bound (`step_size`). The epochs run inside
    the kernel where the rows' layout has that loop (``gd_epochs``); otherwise (a
    layout over Dask blocks, say) in `gd_epochs_python`, the same loop in Python
    with one loss-and-gradient pass per epoch. ``progress``: see `History`.
    """
    lr, ratio = step_size(objective) if learning_rate == "auto" \
        else (float(learning_rate), 1.0)
    b = np.array(intercept, dtype=np.float64, ndmin=1, copy=True)
    w = np.array(coef, dtype=objective.dtype, copy=True).reshape(-1)
    if penalty_not_finite(objective, w):  # not finite where it starts: nothing fitted
        return SolverResult.from_history(w.reshape(b.shape[0], -1), b, 0,
                                         Status.STATUS_NONFINITE, np.empty((3, 0)),
                                         step=lr).blame_start(objective, coef, intercept)
    # the epochs inside the kernel where the rows' layout has that loop, else in Python
    epochs = getattr(objective.rows, "gd_epochs", None)
    if epochs is None:
        epochs = functools.partial(gd_epochs_python, objective)
    n_iter, status, hist = run_in_segments(lambda hist, n, on_epoch: epochs(
        w, b, hist, lr=lr, alpha_l2=objective.alpha_l2, alpha_l1=objective.alpha_l1,
        fit_intercept=objective.fit_intercept, max_iter=n, tol=tol,
        intercept_step_ratio=ratio, on_epoch=on_epoch), max_iter, progress)
    return SolverResult.from_history(w.reshape(b.shape[0], -1), b, n_iter, status, hist,
                                     step=lr).blame_start(objective, coef, intercept)


def gd_epochs_python(objective, w, b, hist, *, lr, alpha_l2, alpha_l1, fit_intercept,
                     max_iter, tol, intercept_step_ratio=1.0, on_epoch=None):
    """The kernel's ``gd_fit`` loop in Python, for layouts without ``gd_epochs``.

    Same semantics: epoch k makes one pass at the entering (w, b), records the
    objective, the accuracy and the gradient mapping's max-norm (divided by the sum
    of the weights) in ``hist[:, k]``, then takes the proximal step
    (`clogreg._objective.proximal_step`, in float64, stored in w's dtype). A
    non-finite loss or step stops the loop before the step (w, b unchanged); with
    tol > 0 the loop stops after the first step whose gradient mapping is <= tol
    times the weight sum; ``on_epoch(k)`` is called as epoch k ends. ``w`` and ``b`` are updated in place; returns the kernel's
    ``(n_iter, status)``.
    """
    if not lr > 0:
        raise ValueError(f"lr must be positive, got {lr}")
    grad_scale = objective.sum_weights
    status, n_iter = Status.STATUS_MAX_ITER, 0
    for epoch in range(max_iter):
        loss, grad_w, grad_b, correct = objective.loss_grad(w, b)
        step = proximal_step(w, b, grad_w, grad_b, lr, grad_div=1.0, alpha_l2=alpha_l2,
                             alpha_l1=alpha_l1, fit_intercept=fit_intercept,
                             b_ratio=intercept_step_ratio)
        if not np.isfinite(loss) or step is None:
            status = Status.STATUS_NONFINITE
            break
        new_w, new_b, gmax = step
        gmax = gmax / lr
        w64 = w.astype(np.float64)
        hist[0, epoch] = loss + 0.5 * alpha_l2 * float(w64 @ w64) + \
            alpha_l1 * float(np.abs(w64).sum())
        hist[1, epoch] = objective.accuracy(correct)
        hist[2, epoch] = gmax / grad_scale
        w[:] = new_w
        b[:] = new_b
        n_iter = epoch + 1
        if on_epoch is not None:
            on_epoch(epoch)
        if tol > 0 and gmax <= tol * grad_scale:
            status = Status.STATUS_CONVERGED
            break
    return n_iter, int(status)


def step_size(objective):
    """``(1 / L, ratio)`` for the Lipschitz bound ``L`` of the summed gradient and the
    intercepts' longer step (`LogisticObjective.intercept_step_ratio`); ValueError
    when X is too large for the bound to be represented."""
    bound, intercept_curvature = objective.lipschitz_bounds()
    if not np.isfinite(bound):
        raise objective.scale_error()
    return (1.0 / bound if bound > 0 else 1.0), \
        objective.intercept_step_ratio(bound, intercept_curvature)
