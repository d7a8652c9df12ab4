"""Feature scaling fitted on training rows and stored in the model directory as two arrays (no pickle)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import min_max_axis

from gnn_mlc.data.dataset import Matrix


@dataclass(frozen=True)
class FeatureScaler:
    """``x -> (x - offset) * scale`` per feature.

    Dense features are standardised (offset = mean, scale = 1 / std). Sparse features keep their zeros: offset 0 and
    scale = 1 / max |x| per column, so 0/1 word features stay 0/1 and counts land in [-1, 1]. Constant columns get
    scale 1.

    Attributes:
        offset: (num_features,) float32.
        scale: (num_features,) float32.
    """

    offset: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X: Matrix) -> FeatureScaler:
        """Fit on training features ``X`` (rows, num_features)."""
        if sp.issparse(X):
            low, high = min_max_axis(X, axis=0)
            spread = np.maximum(np.abs(low), np.abs(high)).astype(np.float64)
            offset = np.zeros(X.shape[1])
        else:
            spread = X.std(axis=0, dtype=np.float64)
            offset = X.mean(axis=0, dtype=np.float64)
        scale = np.divide(1.0, spread, out=np.ones_like(spread), where=spread > 1e-12)
        return cls(offset=offset.astype(np.float32), scale=scale.astype(np.float32))

    def transform(self, X: Matrix) -> Matrix:
        """Scale ``X`` (rows, num_features); sparse stays sparse."""
        if sp.issparse(X):
            return sp.csr_matrix(X @ sp.diags(self.scale), dtype=np.float32)
        return ((X - self.offset) * self.scale).astype(np.float32, copy=False)
