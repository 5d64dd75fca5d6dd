"""Fit bookkeeping shared by clogreg's estimators: transactions and cheap re-validation."""
import threading

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

#: parameter types whose values compare by value (the cached validation's condition)
_SCALAR_TYPES = frozenset((bool, int, float, str, type(None)))
#: ids of the estimators being fitted right now (`FitTransactionMixin._transaction`)
_FITTING, _FITTING_LOCK = set(), threading.Lock()


class _Transaction:
    """`FitTransactionMixin._transaction`'s context (a class, not a generator: a
    small fit's microseconds)."""

    __slots__ = ("before", "estimator", "keep_on_error")

    def __init__(self, estimator, keep_on_error):
        self.estimator, self.keep_on_error, self.before = estimator, keep_on_error, None

    def __enter__(self):
        est = self.estimator
        with _FITTING_LOCK:
            if id(est) in _FITTING:
                raise RuntimeError(
                    f"this {type(est).__name__} is already being fitted (in another "
                    f"thread); fit separate estimators, e.g. sklearn.base.clone(est)")
            _FITTING.add(id(est))
        if self.keep_on_error:
            self.before = dict(est.__dict__)

    def __exit__(self, exc_type, exc, tb):
        est = self.estimator
        try:
            if exc_type is not None:
                if not self.keep_on_error:
                    est._forget_fit()
                else:
                    est.__dict__.clear()
                    est.__dict__.update(self.before)
        finally:
            with _FITTING_LOCK:
                _FITTING.discard(id(est))
        return False  # the exception, if any, propagates


class FitTransactionMixin:
    """A fit either completes or leaves no trace; one fit of an object at a time.

    Fitted attributes end in ``_``; private state that a fit sets (``_sgd_state``)
    is dropped with them. Put it before ``BaseEstimator`` in the bases (its
    ``_validate_params`` wraps scikit-learn's). Subclasses run the body of ``fit`` / ``partial_fit`` in
    ``with self._transaction(...)`` and assign their fitted attributes at its end.
    """

    #: integer parameters where a bool (an Integral to scikit-learn) is refused
    _integer_params = ()

    def _transaction(self, keep_on_error):
        """A context that runs a fit that either completes or leaves no trace: on any
        exception the estimator is left unfitted (``keep_on_error=False``, ``fit``)
        or exactly as it was (``partial_fit``). A second fit of the same object while
        one runs (from another thread) raises RuntimeError instead of mixing two fits'
        results."""
        return _Transaction(self, keep_on_error)

    def _validate_params(self):
        """scikit-learn's parameter validation (``InvalidParameterError``), skipped
        when every parameter is a number, bool, string or None of the same type and
        value as at the last validation that passed (saves ~40 us a fit)."""
        values = [getattr(self, name) for name in self._parameter_constraints]
        values = (tuple(map(type, values)), tuple(values))
        if values == self.__dict__.get("_validated_params") and \
                _SCALAR_TYPES.issuperset(values[0]):
            return
        for name in self._integer_params:
            if isinstance(getattr(self, name), (bool, np.bool_)):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {type(self).__name__} must be an int, "
                    f"not a bool; got {getattr(self, name)!r}")
        super()._validate_params()
        self._validated_params = values

    def _forget_fit(self):
        """Drop every fitted attribute and the SGD state: the estimator is unfitted."""
        for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
            delattr(self, name)
        self.__dict__.pop("_sgd_state", None)

    def __sklearn_is_fitted__(self):
        # fitted means coefficients exist (a fit assigns them last)
        return hasattr(self, "coef_")
