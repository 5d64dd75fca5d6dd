"""Solvers: each minimises a `clogreg._objective.LogisticObjective`.

The estimator calls `solve` once; what it hands back is a `SolverResult`. Every
solver minimises the *summed* objective (see `clogreg._objective`) and reads the data
only through the objective, so it runs unchanged on any layout of the rows.

History: entry k of ``loss``, ``accuracy`` and ``grad_norm`` is measured at the
parameters entering iteration k. ``grad_norm`` is the max-norm of the gradient of the
*mean* objective (for L1: of the proximal gradient mapping or the minimum-norm
subgradient), the quantity compared with ``tol``.

Modules: `_result` (SolverResult, StopReason), `_policy` (``"auto"`` and what each
solver supports), `_gd`, `_sgd`, `_lbfgs`, `_newton`, `_tron` (trust-region
Newton-CG: "newton" on sparse X with L2 or no penalty), `_newton_multinomial`
("newton" for the multinomial model: block-diagonal proximal Newton).
"""
from ._gd import gradient_descent
from ._lbfgs import lbfgs
from ._newton import REUSE_FACTOR, REUSE_MIN_FLOPS, newton
from ._newton_multinomial import multinomial_newton
from ._policy import AUTO_NEWTON_MAX_FEATURES, NEWTON_L1_MAX_FEATURES, SOLVERS, check_solver
from ._result import History, SolverResult, StopReason, check_result
from ._sgd import SGDState, sgd
from ._tron import tron

__all__ = ["AUTO_NEWTON_MAX_FEATURES", "NEWTON_L1_MAX_FEATURES", "REUSE_FACTOR",
           "REUSE_MIN_FLOPS", "SOLVERS", "History", "SGDState", "SolverResult", "StopReason",
           "check_result", "check_solver",
           "gradient_descent", "lbfgs", "multinomial_newton", "newton", "sgd", "solve",
           "tron", "uses_tron"]


def uses_tron(objective):
    """Whether "newton" runs as trust-region Newton-CG (`tron`): on rows that give
    Hessian-vector products (sparse X) with L2 or no penalty, where a d x d Hessian
    would not fit."""
    return objective.alpha_l1 == 0 and hasattr(objective.rows, "hessp")


def solve(objective, solver, coef, intercept, *, max_iter, tol, learning_rate="auto",
          batch_size=256, lr_schedule="invscaling", sgd_state=None, progress=None,
          l1_prev=None):
    """Minimise ``objective`` from (coef, intercept) with ``solver`` (already resolved
    by `check_solver`); return a `SolverResult`.

    ``learning_rate``, ``batch_size``, ``lr_schedule`` and ``sgd_state`` (an
    `SGDState`, required for "sgd") apply to "gd" and "sgd" only. ``progress(k,
    loss, accuracy, grad_norm)``, if given, hears of each history entry as the solver
    records it (see `History`). ``l1_prev``: on a regularisation path, the L1 strength
    of the previous point, whose solution is the warm start (``"newton"`` screens
    with it: `clogreg._solvers._newton.newton`).
    """
    if solver == "gd":
        return gradient_descent(objective, coef, intercept, learning_rate=learning_rate,
                                max_iter=max_iter, tol=tol, progress=progress)
    if solver == "sgd":
        return sgd(objective, coef, intercept, state=sgd_state,
                   learning_rate=learning_rate, lr_schedule=lr_schedule,
                   batch_size=batch_size, max_iter=max_iter, tol=tol, progress=progress)
    if solver == "newton" and objective.n_out > 1:
        return multinomial_newton(objective, coef, intercept, max_iter=max_iter, tol=tol,
                                  progress=progress)
    if solver == "newton" and uses_tron(objective):
        return tron(objective, coef, intercept, max_iter=max_iter, tol=tol,
                    progress=progress)
    if solver == "newton":
        return newton(objective, coef, intercept, max_iter=max_iter, tol=tol,
                      progress=progress, l1_prev=l1_prev)
    return lbfgs(objective, coef, intercept, max_iter=max_iter, tol=tol, progress=progress)
