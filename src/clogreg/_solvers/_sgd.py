"""Mini-batch (proximal) stochastic gradient descent, also behind ``partial_fit``."""
import numpy as np

from ._result import SolverResult, Status, penalty_not_finite, run_in_segments


class SGDState:
    """What mini-batch SGD carries from one call to the next (``partial_fit``)."""

    def __init__(self, seed):
        self.rng_state = np.array([seed or 0x9E3779B97F4A7C15], dtype=np.uint64)
        self.epochs_seen = np.zeros(1)


def sgd(objective, coef, intercept, *, state, learning_rate, lr_schedule, batch_size,
        max_iter, tol, n_iter_no_change=5, progress=None):
    """Mini-batch SGD on the mean objective (all epochs inside the kernel).

    ``learning_rate`` is the first step on the *mean* objective (``"auto"``: the
    objective's `sgd_step_bound`); ``lr_schedule="invscaling"`` decays it as
    ``eta0 / sqrt(1 + epochs seen)``, ``"constant"`` keeps it. ``tol``:
    scikit-learn's SGD rule, stop when the epoch's mean loss has not improved by tol
    for ``n_iter_no_change`` epochs. ``progress``: see `History`.
    """
    eta0, ratio = objective.sgd_step_bound() if learning_rate == "auto" \
        else (float(learning_rate), 1.0)
    b = np.array(intercept, dtype=np.float64, ndmin=1, copy=True)
    w = np.array(coef, dtype=objective.dtype, copy=True).reshape(-1)
    if penalty_not_finite(objective, w):  # not finite where it starts: nothing fitted
        return SolverResult.from_history(w.reshape(objective.n_out, -1), b, 0,
                                         Status.STATUS_NONFINITE, np.empty((3, 0)),
                                         step=eta0).blame_start(objective, coef, intercept)
    # (in segments of SEGMENT_EPOCHS epochs: the tol rule's count restarts at each)
    n_iter, status, hist = run_in_segments(lambda hist, n, on_epoch: objective.rows.sgd_epochs(
        w, b, hist, rng_state=state.rng_state, epochs_seen=state.epochs_seen, eta0=eta0,
        power_t=0.5 if lr_schedule == "invscaling" else 0.0,
        alpha_l2=objective.alpha_l2, alpha_l1=objective.alpha_l1,
        fit_intercept=objective.fit_intercept, batch_size=batch_size, max_iter=n,
        tol=tol, n_iter_no_change=n_iter_no_change, intercept_step_ratio=ratio,
        on_epoch=on_epoch), max_iter, progress)
    return SolverResult.from_history(w.reshape(objective.n_out, -1), b, n_iter, status,
                                     hist, step=eta0).blame_start(objective, coef, intercept)
