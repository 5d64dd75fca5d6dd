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
    # scikit-learn < 1.8 chooses the penalty by `penalty` (l1_ratio only counts for
    # "elasticnet"); 1.8+ (and clogreg) by l1_ratio alone
    penalty = getattr(clf, "penalty", "deprecated")
    if penalty is None or penalty == "none":
        alpha, l1_ratio = 0.0, 0.0
    elif penalty in ("l1", "l2"):
        l1_ratio = 1.0 if penalty == "l1" else 0.0
    else:
        l1_ratio = clf.l1_ratio or 0.0
    a1, a2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    classes, y_index = np.unique(y, return_inverse=True)
    W = np.asarray(clf.coef_, dtype=np.float64)
    b = np.atleast_1d(np.asarray(clf.intercept_, dtype=np.float64))
    if classes.size == 2:
        return objective(X, y_index, W[0], b[0], sample_weight, a2, a1)
    return multinomial_objective(X, y_index, W, b, sample_weight, a2, a1)


def xorshift64star_shuffle(order, state):
    """Shuffle ``order`` in place with Fisher-Yates driven by xorshift64* (Vigna), as
    documented for clogreg's SGD; ``state`` is a one-element list (the generator's
    64-bit state), advanced in place."""
    mask = (1 << 64) - 1
    x = state[0]
    for i in range(len(order) - 1, 0, -1):
        x ^= x >> 12
        x ^= (x << 25) & mask
        x ^= x >> 27
        j = ((x * 0x2545F4914F6CDD1D) & mask) % (i + 1)
        order[i], order[j] = order[j], order[i]
    state[0] = x


def _data_term(X, y_index, W, b, s, n_out):
    """(sum_i s_i loss_i, grad_W (n_out, d), grad_b (n_out,), n_correct) in float64."""
    from scipy.special import logsumexp, softmax

    Z = X @ W.T + b
    if n_out == 1:
        z = Z[:, 0]
        loss = np.sum(s * (np.logaddexp(0.0, z) - y_index * z))
        R = (s * (expit(z) - y_index))[:, None]
        correct = np.sum((z > 0) == (y_index > 0.5))
    else:
        loss = np.sum(s * (logsumexp(Z, axis=1) - Z[np.arange(len(y_index)), y_index]))
        P = softmax(Z, axis=1)
        P[np.arange(len(y_index)), y_index] -= 1.0
        R = s[:, None] * P
        correct = np.sum(np.argmax(Z, axis=1) == y_index)
    return loss, R.T @ X, R.sum(axis=0), correct


def sgd_epochs(X, y_index, n_out, W, b, *, seed, epochs, eta0, power_t=0.5,
               epochs_seen=0.0, batch_size=256, sample_weight=None, alpha_l2=0.0,
               alpha_l1=0.0, fit_intercept=True, tol=0.0, n_iter_no_change=5):
    """Shuffled mini-batch proximal SGD on the mean objective, in float64.

    Every epoch shuffles ``arange(n)`` (restarted at each call) with
    `xorshift64star_shuffle`; each batch of m rows steps with
    ``eta = eta0 / (1 + epochs_seen) ** power_t`` (``epochs_seen`` grows by m / n a
    batch) on the batch's mean gradient plus ``alpha_l2 / n * W`` and soft-thresholds
    at ``eta * alpha_l1 / n``. The loss of an epoch is the sum of its batches' losses
    (each before its step) plus the penalty entering the epoch. With tol > 0 it stops
    when that loss / n has not improved on the best by tol for n_iter_no_change
    epochs in a row (scikit-learn's SGD rule). ``y_index``: 0/1 (binary, n_out = 1)
    or class indices. Returns (W, b, losses, epochs_seen, state).
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    W = np.array(W, dtype=np.float64).reshape(n_out, -1)
    b = np.array(b, dtype=np.float64).reshape(n_out)
    state, losses, best, stale = [seed], [], np.inf, 0
    order = list(range(n))
    for _ in range(epochs):
        xorshift64star_shuffle(order, state)
        penalty = 0.5 * alpha_l2 * np.sum(W * W) + alpha_l1 * np.abs(W).sum()
        epoch_loss = 0.0
        for start in range(0, n, batch_size):
            rows = np.array(order[start:start + batch_size])
            m = len(rows)
            eta = eta0 / (1.0 + epochs_seen) ** power_t
            loss, gW, gb, _ = _data_term(X[rows], y_index[rows], W, b, s[rows], n_out)
            epoch_loss += loss
            W = W - eta * (gW / m + alpha_l2 / n * W)
            W = np.sign(W) * np.maximum(np.abs(W) - eta * alpha_l1 / n, 0.0)
            if fit_intercept:
                b = b - eta * gb / m
            epochs_seen += m / n
        losses.append(epoch_loss + penalty)
        if tol > 0:
            stale = stale + 1 if losses[-1] / n > best - tol else 0
            best = min(best, losses[-1] / n)
            if stale >= n_iter_no_change:
                break
    return W, b, np.array(losses), epochs_seen, state[0]


def gradient_descent_multi(X, y_index, n_out, *, lr, epochs, sample_weight=None,
                           alpha_l2=0.0, alpha_l1=0.0, fit_intercept=True, lr_b=None):
    """Full-batch proximal gradient descent on the summed objective (binary, n_out = 1,
    or multinomial), float64, from zero; the intercepts step by ``lr_b`` (default lr).
    Returns (W, b, losses)."""
    lr_b = lr if lr_b is None else lr_b
    X = np.asarray(X, dtype=np.float64)
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    W, b, losses = np.zeros((n_out, X.shape[1])), np.zeros(n_out), []
    for _ in range(epochs):
        loss, gW, gb, _ = _data_term(X, y_index, W, b, s, n_out)
        losses.append(loss + 0.5 * alpha_l2 * np.sum(W * W) + alpha_l1 * np.abs(W).sum())
        W = W - lr * (gW + alpha_l2 * W)
        W = np.sign(W) * np.maximum(np.abs(W) - lr * alpha_l1, 0.0)
        if fit_intercept:
            b = b - lr_b * gb
    return W, b, np.array(losses)


def mean_gradient(X, y_index, n_out, W, b, sample_weight=None, alpha_l2=0.0,
                  fit_intercept=True):
    """Gradient (W part, b part) of the *mean* smooth objective (summed / sum of
    weights), float64."""
    X = np.asarray(X, dtype=np.float64)
    s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    W = np.asarray(W, dtype=np.float64).reshape(n_out, -1)
    b = np.asarray(b, dtype=np.float64).reshape(n_out)
    _, gW, gb, _ = _data_term(X, y_index, W, b, s, n_out)
    gW = (gW + alpha_l2 * W) / s.sum()
    gb = gb / s.sum() if fit_intercept else np.zeros(n_out)
    return gW, gb
