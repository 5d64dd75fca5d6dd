"""What every solver hands back, the one set of stop reasons, and what they mean to
a user (`check_result`: an error or a warning)."""
import enum
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._rows import Status


class StopReason(str, enum.Enum):
    """Why a solver stopped; ``value`` is what ``stop_reason_`` holds.

    The kernel's epoch loops report the first three as ``Status`` codes
    (`from_status`); ``LINE_SEARCH`` comes from the Python solvers only.
    """

    CONVERGED = "converged"
    MAX_ITER = "max_iter"
    NONFINITE = "nonfinite"
    LINE_SEARCH = "line_search"   # no decrease possible in floating point

    @classmethod
    def from_status(cls, status):
        return _FROM_STATUS[status]


#: Epochs per call of a kernel epoch loop: bounds its history buffer (24 bytes an
#: epoch), whatever max_iter is (`run_in_segments`).
SEGMENT_EPOCHS = 1 << 16


def run_in_segments(run, max_iter, progress=None):
    """Call ``run(hist, n, on_epoch)`` (a kernel epoch loop of at most n epochs
    writing its history into hist) until max_iter epochs ran or it stopped for another
    reason; return ``(n_iter, status, history)``. One call unless max_iter >
    SEGMENT_EPOCHS. With ``progress`` (see `History`), ``on_epoch(k)`` reports each
    epoch's history column as the loop writes it; else ``on_epoch`` is None."""
    parts, n_iter = [], 0
    while True:
        n = min(max_iter - n_iter, SEGMENT_EPOCHS)
        hist = np.empty((3, n))
        on_epoch = None if progress is None else \
            (lambda k, hist=hist, first=n_iter: progress(first + k, *hist[:, k]))
        k, status = run(hist, n, on_epoch)
        parts.append(hist[:, :k])
        n_iter += k
        if StopReason.from_status(status) != StopReason.MAX_ITER or n_iter >= max_iter:
            return n_iter, status, parts[0] if len(parts) == 1 else np.hstack(parts)


class History(list):
    """A solver's history entries ``(loss, accuracy, grad_norm)``, one per iteration
    at the parameters entering it; ``progress(k, loss, accuracy, grad_norm)``, when
    given, hears of each entry k as it is appended (live ``verbose`` output, the
    estimator's callbacks). An exception it raises stops the solver and propagates."""

    def __init__(self, progress=None):
        super().__init__()
        self.progress = progress

    def append(self, entry):
        super().append(entry)
        if self.progress is not None:
            self.progress(len(self) - 1, *entry)


_FROM_STATUS = {Status.STATUS_CONVERGED: StopReason.CONVERGED,
                Status.STATUS_MAX_ITER: StopReason.MAX_ITER,
                Status.STATUS_NONFINITE: StopReason.NONFINITE}


@dataclass
class SolverResult:
    """What a solver hands back to the estimator."""

    coef: np.ndarray         # (n_out, d) in X's dtype; n_out = 1 binary, K multinomial
    intercept: np.ndarray    # (n_out,) float64
    n_iter: int
    stop_reason: StopReason
    loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    accuracy: np.ndarray = field(default_factory=lambda: np.empty(0))
    grad_norm: np.ndarray = field(default_factory=lambda: np.empty(0))
    step: float | None = None  # the learning rate "gd" / "sgd" used

    @classmethod
    def from_history(cls, coef, intercept, n_iter, status, hist, step=None):
        """From a kernel epoch loop: ``hist`` (3, max_iter) holds n_iter entries."""
        loss, accuracy, grad_norm = hist[:, :n_iter].copy()  # one copy, three rows
        return cls(coef, intercept, n_iter, StopReason.from_status(status), loss,
                   accuracy, grad_norm, step)

    def blame_start(self, objective, coef, intercept):
        """A step-based solver that failed in its first epoch: if the objective is
        already non-finite at the start, say so (``step=None``) instead of blaming
        the step size. One extra pass, on this failure path only."""
        if self.stop_reason == StopReason.NONFINITE and self.n_iter == 0:
            w = np.asarray(coef, dtype=objective.dtype).ravel()
            with np.errstate(over="ignore", invalid="ignore"):
                loss = objective.loss_grad(w, np.asarray(intercept, float).ravel())[0]
                loss += objective.penalty(w)
            if not np.isfinite(loss):
                self.step = None
        return self


def penalty_not_finite(objective, coef):
    """Whether the penalty alone is not finite at ``coef`` (O(d), no pass over X).

    The epoch loops of "gd" and "sgd" stop on a non-finite loss or step, but the
    penalty of a warm start from huge coefficients can overflow while both stay
    finite: they would then run, and return, with an infinite objective."""
    if not np.count_nonzero(coef):  # a cold start: zero penalty
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        return not np.isfinite(objective.penalty(np.asarray(coef, np.float64).ravel()))


def check_result(result, *, solver, tol, C, max_iter, stacklevel=2):
    """Raise FloatingPointError for a non-finite result; warn (ConvergenceWarning)
    when the solver stopped short of ``tol`` or the data proved separable."""
    if result.stop_reason == StopReason.NONFINITE and result.n_iter == 0 and \
            result.step is None:
        raise FloatingPointError(
            "the objective is not finite at the starting coefficients (a warm start "
            "from coefficients too large for this data?); nothing was fitted")
    if result.stop_reason == StopReason.NONFINITE:
        step = "" if result.step is None else f" with learning_rate={result.step:g}"
        raise FloatingPointError(
            f"the loss or the update became non-finite at iteration "
            f"{result.n_iter}{step}: the step is too large for this data "
            f"(try learning_rate='auto' or a smaller value, or rescale X)")
    if tol > 0 and np.isinf(C) and solver != "sgd" \
            and np.any(result.accuracy == 100.0):
        # An iterate that classifies every row correctly certifies that the data
        # are linearly separable: without a penalty the loss then has no minimum.
        # (tol=0 asks for max_iter epochs, not a minimum: no warning. SGD's
        # accuracy mixes several iterates, so it certifies nothing.)
        warnings.warn(
            f"the training data are linearly separable: with C=np.inf the loss has "
            f"no minimum and the coefficients would grow without bound; stopped "
            f"after {result.n_iter} iterations with finite coefficients whose size "
            f"is set by tol and max_iter (use a finite C)",
            ConvergenceWarning, stacklevel=stacklevel)
    elif result.stop_reason == StopReason.MAX_ITER and tol > 0:
        warnings.warn(
            f"solver={solver!r} did not reach tol={tol:g} in max_iter="
            f"{max_iter} iterations; increase max_iter or rescale X",
            ConvergenceWarning, stacklevel=stacklevel)
