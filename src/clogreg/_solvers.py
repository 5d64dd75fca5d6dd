"""Solvers: the glue between validated arrays and the Cython kernel.

Each solver receives data that `clogreg._estimator` already validated (C-contiguous
float32 or float64 X, labels encoded as 0.0 / 1.0 in X's dtype, sample weights or an
empty array), allocates the kernel's outputs and work arrays, and calls the kernel.
No Python code here touches single rows.
"""
from dataclasses import dataclass

import numpy as np

from . import _kernel


@dataclass
class SolverResult:
    """What a solver hands back to the estimator."""

    coef: np.ndarray  # (d,) in X's dtype
    intercept: float
    n_iter: int
    status: int  # one of _kernel.Status.STATUS_*
    loss: np.ndarray  # (n_iter,) objective entering each iteration
    accuracy: np.ndarray  # (n_iter,) training accuracy (%) likewise


def work_arrays(n_samples, n_features, dtype):
    """Allocate the per-chunk partial sums of one pass (O(n / CHUNK_ROWS * d))."""
    n_chunks = -(-n_samples // _kernel.CHUNK_ROWS)
    chunk_grad = np.empty((n_chunks, n_features), dtype=dtype)
    chunk_stats = np.empty((n_chunks, 3), dtype=np.float64)
    return chunk_grad, chunk_stats


def lipschitz_bound(X, sample_weight, fit_intercept, alpha_l2):
    """Upper bound on the Lipschitz constant of the summed objective's gradient.

    The Hessian is ``A.T @ diag(s * p * (1 - p)) @ A + alpha_l2 * I`` with
    ``A = [X, 1]`` and ``p * (1 - p) <= 1/4``, so its largest eigenvalue is at most
    ``(sum_i s_i * ||a_i||^2) / 4 + alpha_l2`` (the squared Frobenius norm bounds the
    squared spectral norm). Computed without a temporary copy of X, in float64.
    Returns inf when the bound overflows, or, for float32 X, when the summed gradient
    could overflow float32.
    """
    flat = X.ravel()  # a view: X is C-contiguous
    with np.errstate(over="ignore"):  # an overflow gives inf, which the caller reports
        if sample_weight.size:
            frob = float(np.einsum("ij,ij,i->", X, X, sample_weight, dtype=np.float64))
            total = float(sample_weight.sum(dtype=np.float64))
        else:
            frob = float(np.dot(flat, flat))  # BLAS, no temporary
            if not np.isfinite(frob) and X.dtype != np.float64:
                # float32 squares overflow from |x| ~ 1e19 on; the bound is a float64
                frob = float(np.einsum("i,i->", flat, flat, dtype=np.float64))
            total = float(X.shape[0])
    if X.dtype == np.float32 and not total * frob <= float(np.finfo(np.float32).max) ** 2:
        # The float32 gradient sum_i s_i |x_ij| <= sqrt(total * frob) could overflow.
        return np.inf
    if fit_intercept:
        frob += total
    return 0.25 * frob + alpha_l2


def gradient_descent(X, y, sample_weight, coef, intercept, *, learning_rate, alpha_l2,
                     alpha_l1, fit_intercept, max_iter, tol, n_threads):
    """Run `_kernel.gd_fit` from (coef, intercept); see its docstring for the maths."""
    n_samples, n_features = X.shape
    w = np.array(coef, dtype=X.dtype, copy=True)
    b = np.array([intercept], dtype=np.float64)
    loss = np.empty(max_iter, dtype=np.float64)
    accuracy = np.empty(max_iter, dtype=np.float64)
    grad = np.empty(n_features, dtype=X.dtype)
    chunk_grad, chunk_stats = work_arrays(n_samples, n_features, X.dtype)
    grad_scale = float(sample_weight.sum(dtype=np.float64)) if sample_weight.size else n_samples
    n_iter, status = _kernel.gd_fit(
        X, y, sample_weight, w, b, loss, accuracy, grad, chunk_grad, chunk_stats,
        float(learning_rate), float(alpha_l2), float(alpha_l1), bool(fit_intercept),
        int(max_iter), float(tol), grad_scale, int(n_threads),
    )
    return SolverResult(w, float(b[0]), n_iter, status, loss[:n_iter], accuracy[:n_iter])
