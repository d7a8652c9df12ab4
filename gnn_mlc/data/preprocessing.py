"""Feature scaling fitted on training rows and stored in the model directory as plain arrays (no pickle).

NumPy and SciPy only: the scoring path (:mod:`gnn_mlc.serving`) applies it without importing scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import Matrix


@dataclass(frozen=True)
class FeatureScaler:
    """``x -> (x - offset) * scale`` per feature, then, for sparse features, each row rescaled to a common L2 norm.

    Dense features are standardised (offset = mean, scale = 1 / std). Sparse features keep their zeros: offset 0 and,
    for a column reaching beyond [-1, 1] (counts), scale = 1 / max |x|, so it lands in [-1, 1]; a column already
    within [-1, 1] (0/1 indicators, tf-idf weights of :mod:`gnn_mlc.data.items`) keeps its values, so a weighting
    chosen on purpose is not undone column by column; then every row is
    L2-normalised and multiplied by ``row_norm``, the mean row norm of the scaled training rows. Long and short
    documents then weigh alike while the typical input stays at the scale the network's initialisation and learning
    rate expect (plain unit-norm rows trained far worse: medical mAP 0.33 vs 0.45,
    benchmarks/results/model_selection.md).
    Constant columns get scale 1.

    Attributes:
        offset: (num_features,) float32.
        scale: (num_features,) float32.
        row_norm: the common row norm of sparse input; 0 for dense input (no row normalisation).
    """

    offset: np.ndarray
    scale: np.ndarray
    row_norm: float = 0.0

    @classmethod
    def fit(cls, X: Matrix) -> FeatureScaler:
        """Fit on training features ``X`` (rows, num_features)."""
        if sp.issparse(X):
            spread = np.asarray(abs(sp.csr_matrix(X)).max(axis=0).todense(), dtype=np.float64).ravel()
            spread = np.where(spread > 1.0, spread, 1.0)
            offset = np.zeros(X.shape[1])
        else:
            spread = X.std(axis=0, dtype=np.float64)
            offset = X.mean(axis=0, dtype=np.float64)
        scale = np.divide(1.0, spread, out=np.ones_like(spread), where=spread > 1e-12)
        row_norm = 0.0
        if sp.issparse(X):
            norms = _row_norms(sp.csr_matrix(X @ sp.diags(scale)))
            row_norm = float(norms[norms > 0].mean()) if np.any(norms > 0) else 0.0
        return cls(offset=offset.astype(np.float32), scale=scale.astype(np.float32), row_norm=row_norm)

    def transform(self, X: Matrix) -> Matrix:
        """Scale ``X`` (rows, num_features); sparse stays sparse. Rows are normalised whenever the scaler was fitted
        on sparse features, whatever the type of ``X``, so dense and sparse copies of the same rows score alike."""
        if sp.issparse(X):
            scaled = sp.csr_matrix(X @ sp.diags(self.scale), dtype=np.float32)
        else:
            scaled = ((X - self.offset) * self.scale).astype(np.float32, copy=False)
        if self.row_norm > 0:
            norms = _row_norms(scaled)
            factor = np.divide(self.row_norm, norms, out=np.zeros_like(norms), where=norms > 0).astype(np.float32)
            scaled = sp.csr_matrix(sp.diags(factor) @ scaled) if sp.issparse(scaled) else scaled * factor[:, None]
        return scaled


def _row_norms(X: Matrix) -> np.ndarray:
    """(rows,) float64 Euclidean norm of each row of a dense or CSR matrix."""
    if sp.issparse(X):
        return np.sqrt(np.asarray(X.multiply(X).sum(axis=1), dtype=np.float64).ravel())
    return np.linalg.norm(X.astype(np.float64, copy=False), axis=1)
