"""Independent references: the same maths written plainly with NumPy/SciPy, float64.

Nothing here calls clogreg; tests compare clogreg against these.
"""
import numpy as np
from scipy.special import expit


def objective(X, y01, w, b, sample_weight=None, alpha_l2=0.0, alpha_l1=0.0):
    """sum_i s_i * logloss_i + alpha_l2/2 ||w||^2 + alpha_l1 ||w||_1 (float64)."""
    X = np.asarray(X, dtype=np.float64)
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    z = X @ w + b
    loss = np.sum(s * (np.logaddexp(0.0, z) - y01 * z))
    return loss + 0.5 * alpha_l2 * np.dot(w, w) + alpha_l1 * np.abs(w).sum()


def gradient_descent(X, y01, *, lr, epochs, sample_weight=None, alpha_l2=0.0,
                     alpha_l1=0.0, fit_intercept=True):
    """Full-batch proximal gradient descent on the summed objective, in float64.

    Returns (w, b, losses, accuracies) with entry k measured before step k.
    """
    X = np.asarray(X, dtype=np.float64)
    y01 = np.asarray(y01, dtype=np.float64)
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    w, b = np.zeros(X.shape[1]), 0.0
    losses, accuracies = [], []
    for _ in range(epochs):
        z = X @ w + b
        losses.append(objective(X, y01, w, b, s, alpha_l2, alpha_l1))
        accuracies.append(100.0 * np.mean((z > 0) == (y01 > 0.5)))
        r = s * (expit(z) - y01)
        w = w - lr * (X.T @ r + alpha_l2 * w)
        w = np.sign(w) * np.maximum(np.abs(w) - lr * alpha_l1, 0.0)
        if fit_intercept:
            b = b - lr * r.sum()
    return w, b, np.array(losses), np.array(accuracies)


def multinomial_objective(X, y_index, W, b, sample_weight=None, alpha_l2=0.0,
                          alpha_l1=0.0):
    """sum_i s_i * -log softmax(x_i W.T + b)[y_i] + penalty on W (float64)."""
    from scipy.special import logsumexp

    X = np.asarray(X, dtype=np.float64)
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    Z = X @ W.T + b
    nll = logsumexp(Z, axis=1) - Z[np.arange(len(y_index)), y_index]
    return np.sum(s * nll) + 0.5 * alpha_l2 * np.sum(W * W) + alpha_l1 * np.abs(W).sum()


def sklearn_objective(clf, X, y, sample_weight=None):
    """The summed objective of a fitted scikit-learn-style estimator, in float64."""
    C = clf.C
    alpha = 0.0 if np.isinf(C) else 1.0 / C
    l1_ratio = clf.l1_ratio or 0.0
    a1, a2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    classes, y_index = np.unique(y, return_inverse=True)
    W = np.asarray(clf.coef_, dtype=np.float64)
    b = np.atleast_1d(np.asarray(clf.intercept_, dtype=np.float64))
    if classes.size == 2:
        return objective(X, y_index, W[0], b[0], sample_weight, a2, a1)
    return multinomial_objective(X, y_index, W, b, sample_weight, a2, a1)
