"""Feature scaling fitted on training rows and stored in the model directory as plain arrays (no pickle).

NumPy and SciPy only: the scoring path (:mod:`gnn_mlc.serving`) applies it without importing scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import Matrix

NORM_ROWS = 4096
"""Dense rows whose norms are summed at once (:func:`_row_norms`)."""


@dataclass(frozen=True)
class FeatureScaler:
    """``x -> (x - offset) * scale`` per feature, then, for sparse features, each row rescaled to a common L2 norm.

    Dense features are standardised (offset = mean, scale = 1 / std). Sparse features keep their zeros: offset 0 and,
    for a column reaching beyond [-1, 1] (counts), scale = 1 / max |x|, so it lands in [-1, 1]; a column already
    within [-1, 1] (0/1 indicators, tf-idf weights of :mod:`gnn_mlc.data.items`) keeps its values, so a weighting
    chosen on purpose is not undone column by column; then every row is
    L2-normalised and multiplied by ``row_norm``, the mean row norm of the scaled training rows. Long and short
    documents then weigh alike while the typical input stays at the scale the network's initialisation and learning
    rate expect (chosen over plain unit-norm rows on the test figures of an earlier protocol,
    benchmarks/results/model_selection.md; on development rows, benchmarks/results/training_choices_dev.md, unit
    rows are below on each of the 3 sets with sparse features, medical, enron and bibtex, by 3.8 points of mAP, 10.1
    of micro-F1 and 5.4 of macro-F1 on the mean).
    Constant columns get scale 1.

    A sparse matrix may start with ``dense_columns`` numeric columns (a table's numeric features before its bags of
    items, :mod:`gnn_mlc.data.tabular`): those are standardised like dense features and left out of the row
    normalisation, so a user's age does not shrink as their history grows.

    Attributes:
        offset: (num_features,) float32.
        scale: (num_features,) float32.
        row_norm: the common row norm of sparse input (over the columns from ``dense_columns`` on); 0 for dense
            input (no row normalisation).
        dense_columns: the leading numeric columns of sparse input, standardised and not row-normalised.
    """

    offset: np.ndarray
    scale: np.ndarray
    row_norm: float = 0.0
    dense_columns: int = 0

    @classmethod
    def fit(cls, X: Matrix, *, dense_columns: int = 0) -> FeatureScaler:
        """Fit on training features ``X`` (rows, num_features); ``dense_columns``: see the class docstring (sparse
        ``X`` only)."""
        if not sp.issparse(X):
            return cls(offset=X.mean(axis=0, dtype=np.float64).astype(np.float32),
                       scale=_inverse(X.std(axis=0, dtype=np.float64)).astype(np.float32))
        X = _canonical(X)
        numeric = X[:, :dense_columns].toarray()
        spread = np.asarray(abs(X[:, dense_columns:]).max(axis=0).todense(), dtype=np.float64).ravel()
        offset = np.concatenate([numeric.mean(axis=0, dtype=np.float64), np.zeros(len(spread))])
        scale = np.concatenate([_inverse(numeric.std(axis=0, dtype=np.float64)),
                                _inverse(np.where(spread > 1.0, spread, 1.0))])
        norms = _row_norms(_scale_columns(X[:, dense_columns:], scale[dense_columns:]))
        row_norm = float(norms[norms > 0].mean()) if np.any(norms > 0) else 0.0
        return cls(offset=offset.astype(np.float32), scale=scale.astype(np.float32), row_norm=row_norm,
                   dense_columns=dense_columns)

    def transform(self, X: Matrix) -> Matrix:
        """Scale ``X`` (rows, num_features); sparse stays sparse. Rows are normalised whenever the scaler was fitted
        on sparse features, whatever the type of ``X``, so dense and sparse copies of the same rows score alike."""
        k = self.dense_columns
        if sp.issparse(X):
            X = _canonical(X)
            numeric = sp.csr_matrix((X[:, :k].toarray() - self.offset[:k]) * self.scale[:k], dtype=np.float32)
            rest = _scale_columns(X[:, k:] if k else X, self.scale[k:])
        else:
            scaled = ((X - self.offset) * self.scale).astype(np.float32, copy=False)
            numeric, rest = scaled[:, :k], scaled[:, k:]
        if self.row_norm > 0:
            norms = _row_norms(rest)
            factor = np.divide(self.row_norm, norms, out=np.zeros_like(norms), where=norms > 0).astype(np.float32)
            if sp.issparse(rest):  # in place on the fresh copy: a diagonal product would be a sparse-sparse one
                rest.data *= np.repeat(factor, np.diff(rest.indptr))
            else:
                rest *= factor[:, None]  # in place: a view of the fresh scaled copy
        if k == 0:
            return rest
        if sp.issparse(rest):
            return sp.csr_matrix(sp.hstack([numeric, rest], format="csr"), dtype=np.float32)
        return scaled  # numeric and rest are its column blocks


def _inverse(spread: np.ndarray) -> np.ndarray:
    """(n,) float64 ``1 / spread``, 1 where the spread is (near) zero (a constant column)."""
    return np.divide(1.0, spread, out=np.ones_like(spread), where=spread > 1e-12)


def _canonical(X: Matrix) -> sp.csr_matrix:
    """``X`` as CSR with each entry stored once (duplicates summed, on a copy): value-by-value scaling and row norms
    then see the matrix's values, not its storage."""
    X = sp.csr_matrix(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _scale_columns(X: sp.csr_matrix, scale: np.ndarray) -> sp.csr_matrix:
    """A float32 copy of CSR ``X`` (rows, n) with column j multiplied by ``scale[j]``, value by value (O(nnz); a
    product with a diagonal matrix costs a sparse-sparse multiplication)."""
    data = X.data.astype(np.float32) * scale.astype(np.float32)[X.indices]
    return sp.csr_matrix((data, X.indices.copy(), X.indptr.copy()), shape=X.shape)


def _row_norms(X: Matrix) -> np.ndarray:
    """(rows,) float64 Euclidean norm of each row of a dense or CSR matrix; dense rows are summed
    :data:`NORM_ROWS` at a time (a float64 copy of 50,000 rows x 2,000 features would be 800 MB, and on a machine
    whose fresh memory is slow to touch such copies took seconds)."""
    if sp.issparse(X):
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        return np.sqrt(np.bincount(rows, weights=np.square(X.data, dtype=np.float64), minlength=X.shape[0]))
    return np.sqrt(np.concatenate([np.zeros(0)] + [np.square(X[start:start + NORM_ROWS], dtype=np.float64).sum(axis=1)
                                                   for start in range(0, X.shape[0], NORM_ROWS)]))
