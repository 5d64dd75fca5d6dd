"""Full-batch (proximal) gradient descent: the tutorial's algorithm."""
import numpy as np

from ._result import SolverResult


def gradient_descent(objective, coef, intercept, *, learning_rate, max_iter, tol):
    """Gradient descent on the summed objective from (coef, intercept).

    ``learning_rate`` is the step applied to the summed gradient; ``"auto"`` is
    ``1 / L`` for the gradient's Lipschitz bound (`step_size`). The epochs run inside
    the kernel where the rows' layout has that loop (``gd_epochs``).
    """
    lr = step_size(objective) if learning_rate == "auto" else float(learning_rate)
    b = np.array(intercept, dtype=np.float64, ndmin=1, copy=True)
    w = np.array(coef, dtype=objective.dtype, copy=True).reshape(-1)
    hist = np.empty((3, max_iter), dtype=np.float64)
    n_iter, status = objective.rows.gd_epochs(
        w, b, hist, lr=lr, alpha_l2=objective.alpha_l2, alpha_l1=objective.alpha_l1,
        fit_intercept=objective.fit_intercept, max_iter=max_iter, tol=tol)
    return SolverResult.from_history(w.reshape(b.shape[0], -1), b, n_iter, status, hist,
                                     step=lr)


def step_size(objective):
    """``1 / L`` for the Lipschitz bound ``L`` of the summed gradient (ValueError when
    X is too large for the bound to be represented)."""
    bound = objective.lipschitz_bound()
    if not np.isfinite(bound):
        raise objective.scale_error()
    return 1.0 / bound if bound > 0 else 1.0
