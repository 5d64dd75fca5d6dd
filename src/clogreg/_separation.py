"""Complete and quasi-complete separation of the classes (binary and multinomial).

`detect_separation` finds, by a linear program (after Konis 2007, R's
``safeBinaryRegression`` / ``detectseparation``; SciPy's HiGHS), a direction that
predicts as many rows perfectly as possible; `clogreg._inference` uses it to mark the
statistics of separated fits as unreliable.
"""
from collections import namedtuple

import numpy as np
from scipy import optimize, sparse

#: Margins and direction components below this count as 0 in the LPs (scaled data).
_LP_TOL = 1e-7

SeparationResult = namedtuple("SeparationResult",
                              "kind direction columns rows")
SeparationResult.__doc__ = """Result of `detect_separation`.

kind : ``"none"``, ``"quasi-complete"`` or ``"complete"``.
direction : ndarray of shape (n_params,), the separating direction ``b`` (scaled to
    max-norm 1; zeros when ``kind == "none"``), parameters ordered ``[const, x1...]``.
columns : list of the parameter names (or indices) with a nonzero component: the
    estimates that diverge.
rows : ndarray of int, the rows predicted perfectly (``y_i x_i b > 0``).
"""


def _with_const(Xb, fit_intercept):
    if not fit_intercept:
        return Xb
    return np.hstack([np.ones((Xb.shape[0], 1)), Xb])


def detect_separation(X, y, sample_weight=None, *, fit_intercept=True, names=None):
    """Detect complete and quasi-complete separation (Konis 2007; also multinomial).

    The maximum-likelihood estimate of a logistic regression exists if and only if
    no direction ``b != 0`` has ``t_i x1_i @ b >= 0`` for every row (``t_i = +1`` for
    the positive class, ``-1`` for the other, ``x1_i = [1, x_i]``; rows with zero
    weight do not count). As in Konis's ``safeBinaryRegression`` (R's
    ``detectseparation``) a linear program finds it, here the one that makes as many
    inequalities strict as possible: maximise ``sum_i s_i`` subject to ``t_i x1_i @ b
    >= s_i``, ``0 <= s_i <= 1`` (columns scaled to max-norm 1; SciPy's HiGHS). Since
    such directions can be scaled and added, ``s_i = 1`` for exactly the rows that some
    direction predicts perfectly. *Complete* separation: all of them; *quasi-complete*:
    some.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Two classes (the larger, ``np.unique(y)[1]``, is the positive one) or more:
        then a row and another class ``k`` give the constraint ``(b_{y_i} - b_k) @
        x1_i >= 0`` with ``b_0 = 0`` (reference class ``np.unique(y)[0]``), and ``b``
        stacks ``b_1 ... b_{K-1}``.
    sample_weight : array-like of shape (n_samples,), default=None
    fit_intercept : bool, default=True
        Whether the model has an intercept (the constant column ``x1_i[0] = 1``).
    names : list of str, default=None
        Names of the parameters (``[const, x1, ...]``, per class for K > 2) for
        ``columns``.

    Returns
    -------
    result : SeparationResult
        ``kind``, ``direction``, ``columns``, ``rows``.

    Examples
    --------
    >>> import numpy as np
    >>> from clogreg import detect_separation
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> detect_separation(X, [0, 0, 1, 1]).kind
    'complete'
    >>> detect_separation(X[:, :1], [0, 1, 0, 1]).kind
    'none'
    >>> detect_separation(np.array([[0.0], [1.0], [1.0], [2.0]]), [0, 0, 1, 1]).kind
    'quasi-complete'
    """
    y = np.asarray(y)
    classes, t = np.unique(y, return_inverse=True)
    K = classes.size
    if K < 2:
        raise ValueError(f"detect_separation needs two or more classes, got {K}")
    X1 = X.toarray() if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
    X1 = _with_const(np.asarray(X1, np.float64), fit_intercept)
    if sample_weight is not None:
        keep = np.asarray(sample_weight) > 0
        X1, t = X1[keep], t[keep]
    n_rows, p1 = X1.shape
    p = (K - 1) * p1
    if names is None or len(names) != p:
        names = [str(j) for j in range(p1)] if K == 2 else \
            [f"{c}:{j}" for c in classes[1:] for j in range(p1)]
    scale = np.abs(X1).max(axis=0)
    scale[scale == 0] = 1.0
    X1s = X1 / scale
    # one constraint per row i and other class k: eta_{t_i}(x_i) - eta_k(x_i) >= 0,
    # eta_0 = 0 (reference class), eta_c = x1_i @ b_c; for two classes t_i x1_i @ b >= 0
    blocks, owner = [], []
    for k in range(K):
        idx = np.flatnonzero(t != k)
        R = np.zeros((idx.size, p))
        for c in range(1, K):
            R[t[idx] == c, (c - 1) * p1:c * p1] += X1s[idx[t[idx] == c]]
        if k >= 1:
            R[:, (k - 1) * p1:k * p1] -= X1s[idx]
        blocks.append(R)
        owner.append(idx)
    M, owner = np.vstack(blocks), np.concatenate(owner)
    n = M.shape[0]
    # maximise sum_i s_i subject to M b >= s, 0 <= s <= 1, b free: the cone of the
    # M b >= 0 directions is closed under scaling and sums, so s_i = 1 exactly for
    # every constraint that some direction makes strict (the largest such set)
    A_ub = sparse.hstack([-sparse.csr_matrix(M), sparse.identity(n)]).tocsr()
    res = optimize.linprog(np.r_[np.zeros(p), -np.ones(n)], A_ub=A_ub, b_ub=np.zeros(n),
                           bounds=[(None, None)] * p + [(0.0, 1.0)] * n, method="highs")
    if res.status != 0:
        raise RuntimeError(f"the separation LP failed: {res.message}")
    direction = res.x[:p]
    strict = res.x[p:] > 0.5
    if not np.any(strict):
        return SeparationResult("none", np.zeros(p), [], np.array([], dtype=np.intp))
    # a row is predicted perfectly when all its constraints hold strictly
    loose = np.zeros(n_rows, bool)
    loose[owner[~strict]] = True
    rows = np.flatnonzero(~loose)
    complete = bool(np.all(strict))
    b = direction / np.tile(scale, K - 1)
    b = b / np.abs(b).max()
    b[np.abs(b) < _LP_TOL] = 0.0
    cols = [names[j] for j in np.flatnonzero(b)]
    if sample_weight is not None:
        rows = np.flatnonzero(keep)[rows]
    return SeparationResult("complete" if complete else "quasi-complete", b, cols, rows)
