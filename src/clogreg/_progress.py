"""Live reports from a fit: ``verbose`` lines as each iteration ends, and scikit-learn's
callbacks (``est.set_callbacks(...)``: the experimental API of scikit-learn >= 1.9,
whose ``ProgressBar`` draws a progress bar) where the installed scikit-learn has them.

A solver calls ``progress(k, loss, accuracy, grad_norm)`` as it records history entry
k (`clogreg._solvers.History`; the kernel's epoch loops through ``on_epoch``), so a
line appears when its iteration ends, not when the fit does. Ctrl-C needs nothing
here: the kernel's epoch loops run Python's signal handlers between epochs, the other
solvers return to Python after every pass.
"""
import contextlib

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin
    from sklearn.callback._callback_support import callback_management_context
except ImportError:  # pragma: no cover - scikit-learn < 1.9 has no callback API
    callback_management_context = None

    class CallbackSupportMixin:
        """scikit-learn < 1.9: no ``set_callbacks``."""


def print_line(k, loss, accuracy):
    """The tutorial's line for iteration k, flushed at once (``verbose >= 1``)."""
    print(f"Epoch: {k} | Accuracy: {accuracy:.4f} | Cost: {loss:.4f}", flush=True)


class FitProgress:
    """``progress`` for one fit: prints the verbose line and drives the callbacks'
    tasks, one root task for the fit and one subtask per iteration (iteration k's
    task begins when entry k is recorded and ends when entry k + 1 is, or the fit
    ends). Iteration tasks carry no ``fitted_estimator`` (None); the root task's end
    carries the fitted estimator."""

    def __init__(self, estimator, X, y, sample_weight, first=0):
        self.verbose = bool(estimator.verbose)
        self.first = first
        self._ctx = self._task = None
        if getattr(estimator, "_skl_callbacks", None) and \
                callback_management_context is not None:
            metadata = None if sample_weight is None else {"sample_weight": sample_weight}
            self._hook_args = {"estimator": estimator, "X": X, "y": y, "metadata": metadata}
            max_iter = int(getattr(estimator, "max_iter", 0) or 0)
            self._ctx = estimator._init_callback_context(max_subtasks=max(max_iter, 1) + 1)
            self._ctx.call_on_fit_task_begin(**self._hook_args)

    def __bool__(self):
        return self.verbose or self._ctx is not None

    def __call__(self, k, loss, accuracy, grad_norm):
        if self.verbose:
            print_line(self.first + k, loss, accuracy)
        if self._ctx is not None:
            if self._task is not None:
                self._task.call_on_fit_task_end(**self._hook_args)
            self._task = self._ctx.subcontext(task_name="iteration")
            self._task.call_on_fit_task_begin(**self._hook_args)

    def finish(self):
        """End the last iteration's task and the fit's (the estimator is fitted)."""
        if self._ctx is not None:
            if self._task is not None:
                self._task.call_on_fit_task_end(**self._hook_args)
            self._ctx.call_on_fit_task_end(**self._hook_args, reconstruction_attributes={})


#: `fit_progress` when nothing listens: a context that yields None
_SILENT = contextlib.nullcontext()


def fit_progress(estimator, X, y, sample_weight, first=0):
    """A context yielding the fit's ``progress`` (None when nothing listens: no verbose
    output, no callbacks, so the solvers skip every report). The callbacks are torn
    down however the fit ends; their tasks end only if it succeeds (as scikit-learn's
    own)."""
    callbacks = bool(getattr(estimator, "_skl_callbacks", None)) and \
        callback_management_context is not None
    if not callbacks and not estimator.verbose:
        return _SILENT  # (a small fit's microseconds: no generator, no ExitStack)
    return _listened(estimator, X, y, sample_weight, first, callbacks)


@contextlib.contextmanager
def _listened(estimator, X, y, sample_weight, first, callbacks):
    with contextlib.ExitStack() as stack:
        if callbacks:
            stack.enter_context(callback_management_context(estimator))
        progress = FitProgress(estimator, X, y, sample_weight, first)
        yield progress if progress else None
        progress.finish()
