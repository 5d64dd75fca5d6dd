"""Which solver runs: the ``"auto"`` policy and what each solver supports."""
import numpy as np

SOLVERS = ("auto", "gd", "sgd", "lbfgs", "newton")
#: "newton" forming a d x d Hessian is refused above this many features when there
#: are more features than rows (costly, and singular without a penalty).
AUTO_NEWTON_MAX_FEATURES = 200


#: Without an L1 part, "auto" uses Newton for binary problems on dense X of at most
#: this many values (n_samples * n_features, and at most AUTO_NEWTON_MAX_FEATURES
#: features), L-BFGS above. On so few values a pass costs less than the Python around
#: an iteration, and Newton takes half of L-BFGS's iterations: 569 x 30 (tol 1e-6,
#: one thread) 0.95 ms against 1.29 ms, 1.00 ms against 1.90 ms with correlated
#: columns of scales 1e-3 to 1e3. From 2,000 x 50 (1e5 values) up L-BFGS was as fast
#: or faster: 0.64x to 0.99x Newton's time there, 0.15x to 1.06x on 10 shapes up to
#: 100,000 x 50 and 20,000 x 200.
AUTO_NEWTON_MAX_VALUES = 30_000


#: With an L1 part on dense X, "auto" uses proximal Newton for binary problems with up
#: to this many features (and no more features than rows, or at most
#: AUTO_NEWTON_MAX_FEATURES), gradient descent above. Its Hessian is formed for a
#: working set of columns only (`clogreg._solvers._newton`); on 20,000 x 300 to
#: 20,000 x 2,000 problems "gd" stopped at max_iter=100 far from the optimum (up to
#: 1.9x its objective) where Newton converged in 4-6 iterations. On sparse X the L1
#: Newton step forms no Hessian (coordinate descent over the columns, newGLMNET:
#: `clogreg._objective.CoordinateModel`), so "auto" takes it for any binary problem.
NEWTON_L1_MAX_FEATURES = 2000


def check_solver(solver, *, C, l1_ratio, learning_rate, n_out, n_classes, n_features,
                 n_samples, sparse=False, multinomial_newton=False):
    """Resolve ``"auto"`` and refuse what the chosen solver cannot do.

    ``"auto"``: ``"lbfgs"`` for L2 or no penalty (binary problems of at most
    AUTO_NEWTON_MAX_VALUES values on dense X, and any binary problem on sparse X:
    ``"newton"``, which runs on sparse X as trust-region Newton-CG); with an L1 part,
    ``"newton"`` for binary problems on sparse X (coordinate descent, no Hessian) and
    on dense X with at most NEWTON_L1_MAX_FEATURES features (and at most as many
    features as rows, or at most AUTO_NEWTON_MAX_FEATURES), else ``"gd"``.
    ``"newton"`` forming a dense d x d Hessian (dense X) is refused on wide problems
    with more than AUTO_NEWTON_MAX_FEATURES features and more features than rows: the
    Hessian costs O(d^3) a step there and is singular without a penalty.
    ``multinomial_newton``: whether the rows give their columns to the multinomial
    proximal Newton (`clogreg._solvers.multinomial_newton`; the in-memory layouts do,
    Dask does not); then ``"newton"`` takes multinomial problems, and ``"auto"`` picks
    it for multinomial ones with an L1 part.
    """
    has_l1 = l1_ratio > 0 and not np.isinf(C)
    if solver == "auto":
        if not has_l1:
            small = n_samples * n_features <= AUTO_NEWTON_MAX_VALUES and \
                n_features <= AUTO_NEWTON_MAX_FEATURES
            solver = "newton" if n_out == 1 and (sparse or small) else "lbfgs"
        elif (n_out == 1 and (sparse or n_features <= NEWTON_L1_MAX_FEATURES and
                              n_features <= max(n_samples, AUTO_NEWTON_MAX_FEATURES))) \
                or (n_out > 1 and multinomial_newton):
            solver = "newton"
        else:
            solver = "gd"
    if solver == "lbfgs" and has_l1:
        raise ValueError(
            f"solver='lbfgs' supports only L2 or no penalty, got l1_ratio={l1_ratio}; "
            f"use solver='newton' (binary) or solver='gd', which handle L1 and "
            f"elastic-net")
    if solver == "newton" and n_out > 1 and not multinomial_newton:
        raise ValueError(
            f"Only binary classification is supported by solver='newton' here, got "
            f"{n_classes} classes; use solver='lbfgs' or solver='gd'")
    # on sparse X "newton" forms no d x d matrix (Newton-CG; coordinate descent for L1)
    if solver == "newton" and not sparse and n_out == 1 and \
            n_features > max(n_samples, AUTO_NEWTON_MAX_FEATURES):
        raise ValueError(
            f"solver='newton' forms a {n_features} x {n_features} Hessian, costly and "
            f"singular with {n_features} features and only {n_samples} rows; use "
            f"solver='lbfgs' (L2 or no penalty) or solver='gd' (L1)")
    if solver not in ("gd", "sgd") and learning_rate != "auto":
        raise ValueError(
            f"learning_rate={learning_rate!r} applies to solver='gd' or 'sgd' only "
            f"(solver={solver!r} chooses its own steps)")
    return solver
