"""Predictions of a fitted linear logistic model: scores, probabilities, labels."""
import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.linear_model._base import LinearClassifierMixin

from . import _validation


class LogisticPredictMixin(LinearClassifierMixin):
    """``decision_function``, ``predict_proba``, ``predict_log_proba`` (and, from
    scikit-learn's mixin, ``predict`` and ``score``) from ``coef_``, ``intercept_``
    and ``classes_``: the binary model when ``coef_`` has one row, the multinomial
    (softmax) one otherwise."""

    def decision_function(self, X):
        """Signed distance to the decision boundary, ``X @ coef_.T + intercept_``.

        X is checked as in ``fit`` (strings and other non-numbers are refused), then
        by scikit-learn (NaN, inf, number of features).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return super().decision_function(_validation.check_numeric(X, "X"))

    def predict_proba(self, X):
        """Probability of each class, shape (n_samples, n_classes), as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        z = self.decision_function(X)
        if z.ndim == 1:
            p1 = expit(z)
            return np.column_stack([1.0 - p1, p1])
        return softmax(z, axis=1)

    def predict_log_proba(self, X):
        """Log of ``predict_proba``, computed stably (no log(0) for large |z|).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        z = self.decision_function(X)
        if z.ndim == 1:  # log sigmoid(z) = -log(1 + exp(-z)); logaddexp never overflows
            return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
        return log_softmax(z, axis=1)
