"""Shared test helpers that build clogreg's internal objects (not references: those
are in reference.py, which imports no clogreg code)."""
import numpy as np

from clogreg._objective import LogisticObjective
from clogreg._rows import DenseRows


def dense_objective(X, y, sample_weight=None, *, n_out=1, fit_intercept=True,
                    alpha_l2=0.0, alpha_l1=0.0, n_threads=1, stats=None):
    """A `LogisticObjective` over `DenseRows` of validated arrays (y in X's dtype)."""
    sw = np.empty(0, X.dtype) if sample_weight is None else sample_weight
    rows = DenseRows(X, y, sw, n_out, n_threads)
    return LogisticObjective(rows, fit_intercept, alpha_l2, alpha_l1, stats)

