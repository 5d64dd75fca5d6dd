"""Where the rows live: the passes over the data, one implementation per layout.

A *rows* object owns a validated X, the encoded labels y (0.0 / 1.0 for the binary
model, class indices for the multinomial one, in X's dtype) and the sample weights
(an empty array: all ones), and makes every pass over them that the objective
(`clogreg._objective.LogisticObjective`) needs. It is the seam where data layouts plug
in: `DenseRows` (a C-contiguous array in memory, the Cython kernel's dense passes) is
the one here; a sparse (CSR) layout and one over Dask blocks implement the same
methods. Solvers never see a rows object, only the objective.

The methods every layout provides:

* ``loss_grad(w, b)``: the data term's loss, gradient and n_correct (one fused pass);
* ``hessian(w, b, cols=None)``: the binary model's Hessian pieces (one pass), of all
  columns or of the columns ``cols`` (``w`` zero outside them);
* ``column_stats(labels)``: weighted column sums and sums of squares (one pass);
* ``gram(fit_intercept)``, ``squared_norm_sum()``, ``max_row_norm(fit_intercept)``:
  the quantities behind step-size bounds.

and, optionally, whole epoch loops run inside the kernel (``gd_epochs``,
``sgd_epochs``): a layout without them is driven by the solvers' Python loops.
"""
from typing import NamedTuple

import numpy as np
import scipy.linalg.blas
import scipy.sparse as sp

from . import _dispatch

#: The status codes of the epoch loops (the kernel's; the Python epoch loops of layouts
#: without the kernel's return the same), which `clogreg._solvers.StopReason` maps.
Status = _dispatch.kernel.Status


#: `DenseRows.hessian` of a subset of columns gathers tiles of about this many values
#: (8 MiB of float64; the kernel then works through a tile in 256-row pieces).
HESSIAN_GATHER_ELEMS = 1 << 20


class ColumnStats(NamedTuple):
    """Weighted column sums of X, in float64 (``column_stats``)."""

    sums: np.ndarray                # sum_i s_i x_i
    squares: np.ndarray             # sum_i s_i x_i**2
    label_sums: np.ndarray | None   # sum_i s_i y_i x_i (binary labels), or None
    label_sum: float | None         # sum_i s_i y_i
    positives: float | None         # the number of rows with y_i = 1
    all_finite: bool | None = None  # whether the kernel pass found every sum finite

    def finite(self):
        if self.all_finite is not None:
            return self.all_finite
        return bool(np.isfinite(self.sums).all() and np.isfinite(self.squares).all()
                    and (self.label_sums is None or np.isfinite(self.label_sums).all()))

    @classmethod
    def from_pass(cls, out, sample_weight, y, all_finite=None):
        """From a column-statistics pass's ``out`` (rows: sums, squares and, with
        labels ``y``, label sums), adding the label totals."""
        if y is None:
            return cls(out[0], out[1], None, None, None, all_finite)
        positives = float(np.count_nonzero(y))  # y is 0.0 / 1.0
        label_sum = float(np.dot(sample_weight.astype(np.float64), y)) \
            if sample_weight.size else positives
        return cls(out[0], out[1], out[2], label_sum, positives, all_finite)


def weight_sum(sample_weight, n_samples):
    """``sum(s)`` in float64, or ``n_samples`` for the empty array (all ones)."""
    return float(sample_weight.sum(dtype=np.float64)) if sample_weight.size \
        else float(n_samples)


class RowsBase:
    """What every in-process layout holds: the arrays, their sizes, the weight sum,
    the kernel build and the buffers a pass returns its gradients in."""

    def __init__(self, X, y, sample_weight, n_out, n_threads=1, kernel=None):
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.n_out, self.n_threads = n_out, n_threads
        self.kernel = _dispatch.kernel if kernel is None else kernel
        self.n_samples, self.n_features = X.shape
        self.dtype = X.dtype
        self.sum_weights = weight_sum(sample_weight, self.n_samples)
        self.weighted = sample_weight.size > 0  # (optional: error messages only)
        self._grad = np.empty(n_out * self.n_features, dtype=X.dtype)
        self._grad_b = np.empty(n_out, dtype=np.float64)
        self._columns = None  # X as CSC, made by `columns` on first use

    #: Whether X is a scipy.sparse matrix (the binary L1 Newton step then forms no
    #: Hessian: `clogreg._objective.LogisticObjective.forms_hessian`).
    is_sparse = False

    def columns(self):
        """X in CSC form: ``(data, indices, indptr)`` (indices and indptr of one integer
        dtype), for the coordinate descent of the Newton steps that form no Hessian
        (`clogreg._objective.CoordinateModel`). Made on first use (one copy of the
        stored entries, as LIBLINEAR makes for its L1 solvers: for dense X every value,
        12 bytes each in float64) and kept for the fit's later steps."""
        if self._columns is None:
            Xc = sp.csc_matrix(self.X)
            index = np.promote_types(Xc.indices.dtype, Xc.indptr.dtype)
            self._columns = (Xc.data, Xc.indices.astype(index, copy=False),
                             Xc.indptr.astype(index, copy=False))
        return self._columns

    def class_probabilities(self, W, b):
        """``P[k, i]``, the multinomial model's probability of class k for row i, at
        (W (K, d), b (K,)): (K, n) float64. One product ``X @ W.T`` (BLAS, or SciPy's
        for sparse X) and a softmax in NumPy; O(n K) memory."""
        Z = np.asarray(self.X @ np.asarray(W, self.dtype).T, dtype=np.float64)
        Z += np.asarray(b, np.float64)
        Z -= Z.max(axis=1, keepdims=True)
        np.exp(Z, out=Z)
        Z /= Z.sum(axis=1, keepdims=True)
        return np.ascontiguousarray(Z.T)

    def multinomial_hessian(self, P, sel):
        """The multinomial model's Hessian over a working set, formed: (p, p) float64.

        ``P`` (K, n): the class probabilities (`class_probabilities`); ``sel[k]``: class
        k's coordinates, column indices of ``[X, 1]`` (index d: its intercept). The
        coordinates are ordered class by class, ``sel[0]`` first; the entry of
        coordinates (k, j) and (l, j') is ``sum_i s_i x_ij x_ij' p_ik (delta_kl -
        p_il)`` (no penalty). Formed in tiles of rows, about ``HESSIAN_GATHER_ELEMS``
        values of ``V`` each: per tile, each class's diagonal block
        ``Z_k.T diag(s p_k) Z_k`` (BLAS gemm) minus ``V.T V`` for ``V = [sqrt(s) p_k Z_k]_k``
        (BLAS syrk), ``Z_k`` the tile's columns ``sel[k]``. O(n p^2) multiply-adds,
        O(p^2 + tile) memory; the rows of a sparse X are densified tile by tile.
        """
        n, d = self.n_samples, self.n_features
        sel = [np.asarray(c, np.intp) for c in sel]
        starts = np.concatenate([[0], np.cumsum([c.size for c in sel])])
        p = int(starts[-1])
        union = np.unique(np.concatenate(sel))
        feat = union[union < d]                       # the X columns any class needs
        pos = [np.searchsorted(union, c) for c in sel]
        H = np.zeros((p, p), order="F")               # syrk fills its upper triangle
        s_all = self.sample_weight
        tile = max(1, HESSIAN_GATHER_ELEMS // max(p, union.size, 1))
        for i0 in range(0, n, tile):
            i1 = min(n, i0 + tile)
            Xt = self.X[i0:i1][:, feat]
            Xt = Xt.toarray() if sp.issparse(Xt) else Xt
            Z = np.empty((i1 - i0, union.size))
            Z[:, :feat.size] = Xt
            Z[:, feat.size:] = 1.0                    # the intercepts' column, if any
            s = np.asarray(s_all[i0:i1], np.float64) if s_all.size else None
            root_s = None if s is None else np.sqrt(s)
            V = np.empty((i1 - i0, p))
            for k in range(len(sel)):
                Zk, p_k = Z[:, pos[k]], P[k, i0:i1]
                blk = slice(starts[k], starts[k + 1])
                H[blk, blk] += (Zk * (p_k if s is None else s * p_k)[:, None]).T @ Zk
                V[:, blk] = Zk * (p_k if s is None else root_s * p_k)[:, None]
            # V is C-ordered (t, p): V.T is Fortran (p, t), and syrk forms V.T V
            H = scipy.linalg.blas.dsyrk(-1.0, V.T, beta=1.0, c=H, trans=0, lower=0,
                                        overwrite_c=1)
        iu = np.triu_indices(p, 1)
        H[iu[1], iu[0]] = H[iu]                       # syrk left the lower part
        return H


class DenseRows(RowsBase):
    """Rows held in memory as a C-contiguous float32 or float64 array.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features), C-contiguous, float32 or float64
    y : ndarray of shape (n_samples,), X's dtype; 0.0 / 1.0 or class indices
    sample_weight : ndarray of shape (n_samples,) or (0,), X's dtype
    n_out : int
        1 for the binary model, K >= 3 for the multinomial one.
    n_threads : int
        OpenMP threads for the passes (results do not depend on it).
    kernel : module, optional
        The kernel build to run (``clogreg._kernel`` or ``clogreg._kernel_avx2``);
        default: the one ``clogreg._dispatch`` chose.
    """

    # ------------------------------------------------------------------ passes
    def loss_grad(self, w, b):
        """``(sum s*loss, grad_w, grad_b, n_correct)`` at (w, b): one pass.

        ``w`` is the flat (n_out * d,) coefficient vector in X's dtype. The gradients
        are this object's buffers (overwritten by the next pass): copy to keep them.
        """
        k = self.kernel
        if self.n_out == 1:
            loss, gb, correct = k.loss_grad(self.X, self.y, self.sample_weight, w,
                                            float(b[0]), self._grad, self.n_threads)
            self._grad_b[0] = gb
        else:
            loss, correct = k.multinomial_loss_grad(
                self.X, self.y, self.sample_weight, w, np.asarray(b, dtype=np.float64),
                self._grad, self._grad_b, self.n_threads)
        return loss, self._grad, self._grad_b, correct

    def hessian(self, w, b, cols=None):
        """``(H, H_wb, h_sum)`` of the binary model at (w, b): one pass (serial).

        ``H = X.T @ diag(h) @ X`` (lower triangle; the strict upper one is 0),
        ``H_wb = X.T @ h`` and ``h_sum = sum(h)`` with ``h = s p (1 - p)``.

        ``cols`` (sorted column indices; ``w`` must be 0 outside them): the same for
        ``X[:, cols]`` only, in float64 (the working set of proximal Newton with L1).
        The rows are gathered a tile of about HESSIAN_GATHER_ELEMS values at a time
        and run through the same kernel pass; X is not copied.
        """
        if cols is not None:
            return self._hessian_cols(w, b, cols)
        d = self.n_features
        grad, H_wb = np.empty(d, self.dtype), np.empty(d, self.dtype)
        H = np.empty((d, d), self.dtype)
        h_sum = self.kernel.newton_pass(self.X, self.y, self.sample_weight, w, b, grad,
                                        H, H_wb)[2]
        return H, H_wb, h_sum

    def newton_direction(self, w, b, g, alpha_l2, rcond_min, delta):
        """The binary L2 Newton step at (w, b) in one kernel call (the Hessian pass and
        its Cholesky solve, `_kernel.newton_direction`): fills ``delta`` and returns
        the kernel's status (``NEWTON_STEP``, ``NEWTON_NONFINITE`` or
        ``NEWTON_NO_CHOLESKY``)."""
        return self.kernel.newton_direction(self.X, self.y, self.sample_weight, w, b, g,
                                            alpha_l2, rcond_min, delta)

    def _hessian_cols(self, w, b, cols):
        k, n, sw = cols.size, self.n_samples, self.sample_weight
        H, H_wb, h_sum = np.zeros((k, k)), np.zeros(k), 0.0
        if k == 0:  # z = b on every row
            p = 1.0 / (1.0 + np.exp(-b))
            return H, H_wb, self.sum_weights * p * (1.0 - p)
        w_cols = np.ascontiguousarray(np.asarray(w)[cols], dtype=self.dtype)
        grad, H_t, H_wb_t = (np.empty(k, self.dtype), np.empty((k, k), self.dtype),
                             np.empty(k, self.dtype))
        rows = max(1, HESSIAN_GATHER_ELEMS // k)
        for start in range(0, n, rows):
            part = slice(start, min(start + rows, n))
            X_t = self.X[part].take(cols, axis=1)  # C-contiguous (rows, k)
            h_sum += self.kernel.newton_pass(X_t, self.y[part], sw[part] if sw.size else sw,
                                             w_cols, b, grad, H_t, H_wb_t)[2]
            H += H_t
            H_wb += H_wb_t
        return H, H_wb, h_sum

    def column_stats(self, labels):
        """`ColumnStats` (inf on overflow, NaN where X has one): one pass without a
        copy; with ``labels`` (binary model only) also the label-weighted sums, which
        give the gradient at w = 0 (`LogisticObjective.loss_grad`)."""
        y = self.y if labels else None
        return column_stats(self.X, self.sample_weight, self.n_threads, y, self.kernel)

    def gram(self, fit_intercept):
        """``A.T @ diag(s) @ A`` for ``A = [X, 1]`` (or X) in float64, in row chunks."""
        X, sample_weight = self.X, self.sample_weight
        n, d = X.shape
        m = d + 1 if fit_intercept else d
        gram = np.zeros((m, m))
        if not sample_weight.size:
            with np.errstate(over="ignore", invalid="ignore"):
                gram[:d, :d] = X.T @ X  # BLAS on X itself, no copy
            if np.isfinite(gram).all() or X.dtype == np.float64:
                if fit_intercept:
                    gram[:d, d] = gram[d, :d] = X.sum(axis=0, dtype=np.float64)
                    gram[d, d] = n
                return gram
            gram[:] = 0.0  # float32 products overflowed: redo in float64, below
        rows_per_chunk = 1024  # bounded float64 temporaries, no copy of X
        for start in range(0, n, rows_per_chunk):
            rows = slice(start, start + rows_per_chunk)
            Xs = X[rows].astype(np.float64)
            s = sample_weight[rows].astype(np.float64) if sample_weight.size \
                else np.ones(Xs.shape[0])
            gram[:d, :d] += Xs.T @ (Xs * s[:, None])
            if fit_intercept:
                gram[:d, d] += Xs.T @ s
        if fit_intercept:
            gram[d, :d] = gram[:d, d]
            gram[d, d] = sample_weight.sum(dtype=np.float64) if sample_weight.size else n
        return gram

    def squared_norm_sum(self):
        """``sum_i s_i ||x_i||^2`` in float64, one pass without a copy (inf on
        overflow)."""
        X, sample_weight = self.X, self.sample_weight
        with np.errstate(over="ignore", invalid="ignore"):
            if sample_weight.size:
                return float(np.einsum("ij,ij,i->", X, X, sample_weight, dtype=np.float64))
            flat = X.ravel()  # a view: X is C-contiguous
            frob = float(np.dot(flat, flat))  # BLAS, no temporary
            if not np.isfinite(frob) and X.dtype != np.float64:
                # float32 squares overflow from |x| ~ 1e19 on; the sum is wanted in float64
                frob = float(np.einsum("i,i->", flat, flat, dtype=np.float64))
            return frob

    def max_row_norm(self, fit_intercept):
        """``max_i s_i (||x_i||^2 + fit_intercept)`` in float64, bounded temporaries."""
        X, sw, chunk = self.X, self.sample_weight, self.kernel.CHUNK_ROWS
        top = 0.0
        for start in range(0, X.shape[0], chunk):
            rows = slice(start, start + chunk)
            norms = np.einsum("ij,ij->i", X[rows], X[rows], dtype=np.float64)
            norms += 1.0 if fit_intercept else 0.0
            if sw.size:
                norms *= sw[rows]
            top = max(top, float(norms.max()))
        return top

    # ------------------------------------------------- epoch loops in the kernel
    def gd_epochs(self, w, b, hist, *, lr, alpha_l2, alpha_l1, fit_intercept, max_iter,
                  tol, intercept_step_ratio=1.0, on_epoch=None):
        """Full-batch proximal gradient descent, all epochs in one kernel call.

        ``w`` (flat, X's dtype) and ``b`` (float64) are updated in place; ``hist`` is
        a (3, max_iter) float64 array (loss, accuracy, gradient norm);
        ``on_epoch(k)``, if given, is called as epoch k ends. Ctrl-C raises
        ``KeyboardInterrupt`` within about one pass. Returns the kernel's
        ``(n_iter, status)``.
        """
        return self.kernel.gd_fit(
            self.X, self.y, self.sample_weight, w, b, hist, float(lr), float(alpha_l2),
            float(alpha_l1), bool(fit_intercept), int(max_iter), float(tol),
            self.sum_weights, int(self.n_threads), float(intercept_step_ratio), on_epoch)

    def sgd_epochs(self, w, b, hist, *, rng_state, epochs_seen, eta0, power_t, alpha_l2,
                   alpha_l1, fit_intercept, batch_size, max_iter, tol, n_iter_no_change,
                   intercept_step_ratio=1.0, on_epoch=None):
        """Mini-batch proximal SGD, all epochs in one kernel call (see
        ``_kernel.sgd_fit``); same conventions as `gd_epochs`."""
        return self.kernel.sgd_fit(
            self.X, self.y, self.sample_weight, w, b, hist, rng_state, epochs_seen,
            float(eta0), float(power_t), alpha_l2, alpha_l1, bool(fit_intercept),
            int(batch_size), int(max_iter), float(tol), int(n_iter_no_change),
            float(intercept_step_ratio), on_epoch)


def column_stats(X, sample_weight, n_threads=1, y=None, kernel=None):
    """`ColumnStats` of a dense X: one kernel pass (see `DenseRows.column_stats`)."""
    kernel = _dispatch.kernel if kernel is None else kernel
    out = np.empty((2 if y is None else 3, X.shape[1]))
    finite = kernel.column_stats(X, sample_weight,
                                 np.empty(0, X.dtype) if y is None else y, out, n_threads)
    return ColumnStats.from_pass(out, sample_weight, y, bool(finite))
