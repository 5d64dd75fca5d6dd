"""Rows held as a scipy.sparse CSR matrix: the kernel's CSR passes behind the seam.

`SparseRows` has the methods of `clogreg._rows.DenseRows` (see there), so every solver
runs on it unchanged, plus the Hessian-vector product that truncated Newton
(`clogreg._solvers.tron`) needs. X is used as it is: its ``data``, ``indices`` and
``indptr`` arrays go to the kernel without a copy (float32 or float64 data, int32 or
int64 indices, sorted or not). The passes are the kernel's ``csr_*`` functions: fixed
row blocks, bit-identical for any ``n_threads``, extra memory O(n) + O(d) per block.

The epoch loops of "gd" and "sgd" run in Python here, one kernel pass per epoch
(gd) or per mini-batch (sgd), with the arithmetic of the dense kernel's loops.
"""
import numpy as np
import scipy.sparse as sp

from . import _dispatch
from ._objective import proximal_step
from ._rows import ColumnStats, RowsBase


class SparseRows(RowsBase):
    """Rows of a CSR matrix (scipy.sparse ``csr_matrix`` or ``csr_array``).

    Parameters
    ----------
    X : scipy.sparse CSR matrix or array of shape (n_samples, n_features)
        float32 or float64 data, no repeated (row, column) entries (validation sums
        them), any int32 / int64 indices.
    y, sample_weight, n_out, n_threads, kernel
        As for `clogreg._rows.DenseRows`.
    """

    is_sparse = True

    def __init__(self, X, y, sample_weight, n_out, n_threads=1, kernel=None):
        super().__init__(X, y, sample_weight, n_out, n_threads, kernel)
        self._csr = (X.data, X.indices, X.indptr, self.n_features)
        self._kept_h = None   # (w, b, h) of the last full pass, once `columns` is made

    # ------------------------------------------------------------------ passes
    def loss_grad(self, w, b, h_out=None, rows=None):
        """``(sum s*loss, grad_w, grad_b, n_correct)`` at (w, b): one pass.

        As `DenseRows.loss_grad`. ``h_out`` (binary model, (n,) in X's dtype) also
        receives the Hessian weights ``s p (1 - p)``. ``rows`` (a CSR matrix, labels
        and weights) replaces X, y and the weights: the mini-batches of "sgd".
        """
        k = self.kernel
        if rows is None:
            csr, y, sw = self._csr, self.y, self.sample_weight
        else:
            Xb, y, sw = rows
            csr = (Xb.data, Xb.indices, Xb.indptr, self.n_features)
        keep = h_out is None and rows is None and self._columns is not None and \
            self.n_out == 1
        if keep:  # an L1 Newton fit: keep h for `hessian_weights` at this point
            h_out = np.empty(self.n_samples, self.dtype)
        if self.n_out == 1:
            loss, gb, correct = k.csr_loss_grad(*csr, y, sw, w, float(b[0]), self._grad,
                                                self.n_threads, h_out)
            if keep:
                self._kept_h = (w.copy(), float(b[0]), h_out)
            self._grad_b[0] = gb
        else:
            loss, correct = k.csr_multinomial_loss_grad(
                *csr, y, sw, w, np.asarray(b, dtype=np.float64), self._grad, self._grad_b,
                self.n_threads)
        return loss, self._grad, self._grad_b, correct

    def hessp(self, h, v, v_b):
        """``(X.T @ u, sum(u))`` with ``u = h * (X @ v + v_b)``: the binary model's
        Hessian (of the data term, in (w, b)) times (v, v_b), for Hessian weights
        ``h`` from `loss_grad`'s ``h_out``. One pass; a fresh float64 array."""
        out = np.empty(self.n_features, self.dtype)
        out_b = self.kernel.csr_hessp(*self._csr, h, np.ascontiguousarray(v, self.dtype),
                                      float(v_b), out, self.n_threads)
        return out.astype(np.float64), out_b

    def hessian_weights(self, w, b):
        """``h = s p (1 - p)`` (X's dtype, (n,)) at (w, b) of the binary model: one
        pass (`loss_grad`'s ``h_out``), none where the last pass was at (w, b) after
        `columns` was made (the L1 Newton step: every pass then keeps its h, so the
        line search's last pass gives the next step's weights)."""
        w = np.ascontiguousarray(w, self.dtype)
        kept, self._kept_h = self._kept_h, None
        if kept is not None and kept[1] == b and np.array_equal(kept[0], w):
            return kept[2]  # from the last pass, at this very point (a line search's)
        h = np.empty(self.n_samples, self.dtype)
        self.loss_grad(w, np.array([b]), h_out=h)
        return h

    def hessian_diagonal(self, h):
        """``sum_i h_i x_ij^2`` (float64, (d,)): the diagonal of the data term's
        Hessian for weights ``h`` from `loss_grad`'s ``h_out``. One pass."""
        out = np.empty((2, self.n_features))
        with np.errstate(over="ignore", invalid="ignore"):
            self.kernel.csr_column_stats(*self._csr, h, np.empty(0, self.dtype), out,
                                         self.n_threads)
        return out[1]

    def hessian(self, w, b, cols=None):
        """``(H, H_wb, h_sum)`` as `DenseRows.hessian`, from a pass for ``h`` and
        SciPy's sparse product ``X.T @ diag(h) @ X`` (a dense (d, d) result: for
        moderate n_features only); with ``cols``, of ``X[:, cols]`` only (a copy of
        those columns' nonzeros)."""
        h = np.empty(self.n_samples, self.dtype)
        self.loss_grad(np.ascontiguousarray(w, self.dtype), np.array([b]), h_out=h)
        X = sp.csr_matrix(self.X)
        if cols is not None:
            X = X[:, cols]
        Xh = X.multiply(h[:, None]).tocsr()
        H = np.tril(np.asarray((X.T @ Xh).todense(), dtype=self.dtype))
        H_wb = np.asarray(X.T @ h, dtype=self.dtype).ravel()
        return H, H_wb, float(h.sum(dtype=np.float64))

    def column_stats(self, labels):
        """`ColumnStats` (float64), as `DenseRows.column_stats`: one pass."""
        y = self.y if labels else None
        return csr_column_stats(self.X, self.sample_weight, self.n_threads, y, self.kernel)

    def gram(self, fit_intercept):
        """``A.T @ diag(s) @ A`` for ``A = [X, 1]`` (or X) in float64 (dense; the
        caller asks for it up to `clogreg._objective.GRAM_MAX_FEATURES` features)."""
        n, d = self.X.shape
        X64 = sp.csr_matrix(self.X, dtype=np.float64)
        s = self.sample_weight.astype(np.float64) if self.sample_weight.size else np.ones(n)
        m = d + 1 if fit_intercept else d
        gram = np.zeros((m, m))
        with np.errstate(over="ignore", invalid="ignore"):
            gram[:d, :d] = (X64.T @ X64.multiply(s[:, None]).tocsr()).toarray()
            if fit_intercept:
                gram[:d, d] = gram[d, :d] = X64.T @ s
                gram[d, d] = s.sum()
        return gram

    def squared_norm_sum(self):
        """``sum_i s_i ||x_i||^2`` in float64: the column statistics' squares."""
        with np.errstate(over="ignore", invalid="ignore"):
            return float(self.column_stats(labels=False).squares.sum())

    def max_row_norm(self, fit_intercept):
        """``max_i s_i (||x_i||^2 + fit_intercept)`` in float64 (O(n) memory)."""
        data = self.X.data.astype(np.float64) ** 2
        norms = np.zeros(self.n_samples)
        indptr = self.X.indptr
        # per row: the sum of its squares (np.add.reduceat, empty rows kept at 0)
        nonempty = indptr[1:] > indptr[:-1]
        if data.size:
            norms[nonempty] = np.add.reduceat(data, indptr[:-1][nonempty])
        norms += 1.0 if fit_intercept else 0.0
        if self.sample_weight.size:
            norms *= self.sample_weight
        return float(norms.max()) if norms.size else 0.0

    # ------------------------------------------------- epoch loops (Python)
    def sgd_epochs(self, w, b, hist, *, rng_state, epochs_seen, eta0, power_t, alpha_l2,
                   alpha_l1, fit_intercept, batch_size, max_iter, tol, n_iter_no_change,
                   intercept_step_ratio=1.0, on_epoch=None):
        """Mini-batch proximal SGD on the mean objective, as `DenseRows.sgd_epochs`
        (the dense kernel's ``sgd_fit``: same steps, history and stopping rule), one
        CSR pass per mini-batch of rows gathered from X. The row order of each epoch
        is a NumPy permutation seeded from ``rng_state``, which then advances."""
        Status = self.kernel.Status
        n = self.n_samples
        B = int(min(batch_size, n))
        weighted = self.sample_weight.size > 0
        status, n_epochs, stale, best, gmax, eta = Status.STATUS_MAX_ITER, 0, 0, np.inf, \
            0.0, eta0
        for epoch in range(max_iter):
            gen = np.random.default_rng(int(rng_state[0]))
            order = gen.permutation(n)
            rng_state[0] = np.uint64(int(gen.integers(1, 2**63)))
            epoch_loss, epoch_correct = 0.0, 0.0
            penalty = _penalty(w, alpha_l2, alpha_l1)
            finite = True
            for start in range(0, n, B):
                idx = order[start:start + B]
                m = idx.shape[0]
                rows = (self.X[idx], self.y[idx],
                        self.sample_weight[idx] if weighted else self.sample_weight)
                eta = eta0 / (1.0 + epochs_seen[0]) ** power_t
                loss, grad, grad_b, correct = self.loss_grad(w, b, rows=rows)
                epoch_loss += loss
                epoch_correct += correct
                step = proximal_step(w, b, grad, grad_b, eta, grad_div=float(m),
                                     alpha_l2=alpha_l2 / n, alpha_l1=alpha_l1 / n,
                                     fit_intercept=fit_intercept,
                                     b_ratio=intercept_step_ratio)
                if not np.isfinite(loss) or step is None:
                    finite = False
                    break
                new_w, new_b, gmax = step
                w[:] = new_w
                b[:] = new_b
                epochs_seen[0] += m / n
            if not finite:
                status = Status.STATUS_NONFINITE
                break
            hist[0, epoch] = epoch_loss + penalty
            hist[1, epoch] = 100.0 * epoch_correct / n
            hist[2, epoch] = gmax / eta
            n_epochs = epoch + 1
            if on_epoch is not None:
                on_epoch(epoch)
            if tol > 0:
                mean_obj = hist[0, epoch] / n
                stale = stale + 1 if mean_obj > best - tol else 0
                best = min(best, mean_obj)
                if stale >= n_iter_no_change:
                    status = Status.STATUS_CONVERGED
                    break
        return n_epochs, int(status)


def _penalty(w, alpha_l2, alpha_l1):
    w64 = w.astype(np.float64)
    return float(np.sum(0.5 * alpha_l2 * w64 * w64 + alpha_l1 * np.abs(w64)))


def csr_column_stats(X, sample_weight, n_threads=1, y=None, kernel=None):
    """`ColumnStats` of a CSR X: one kernel pass (``csr_column_stats``)."""
    kernel = _dispatch.kernel if kernel is None else kernel
    k = 2 if y is None else 3
    out = np.empty((k, X.shape[1]))
    kernel.csr_column_stats(X.data, X.indices, X.indptr, X.shape[1], sample_weight,
                            np.empty(0, X.dtype) if y is None else y, out, n_threads)
    return ColumnStats.from_pass(out, sample_weight, y)


def is_sparse(X):
    """Whether X is a scipy.sparse matrix or array."""
    return sp.issparse(X)
