"""Label co-occurrence statistics and the edge weightings built from them; SciPy sparse throughout.

From 0/1 labels ``Y`` (rows, labels):

* ``counts = Y^T Y`` (labels, labels): ``counts[i, j]`` rows with both labels, ``counts[i, i]`` label i's frequency;
* ``P(j | i) = counts[i, j] / counts[i, i]`` (0 when label i has no positive); when some label values are unknown
  (``Y_missing``), the denominator counts only the rows of label i where label j is known;
* the edge ``i -> j`` carries label i's message to label j (PyG's ``source_to_target`` flow), weighted by one of

  - ``"count"``: ``counts[i, j]``;
  - ``"probability"``: ``P(j | i)``;
  - ``"mlgcn"`` (Chen et al., ML-GCN, CVPR 2019): keep the edge when ``P(j | i) >= tau`` and give each label's
    incoming edges the weights ``p / (number of incoming edges)``, so they sum to ``p``; the self-loop, added by
    the GCN propagation, keeps weight 1. ML-GCN then normalises by out-degree; PyG's ``gcn_norm`` uses in-degree,
    which is what we use (equal for symmetric graphs).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import WEIGHTINGS, Matrix, Weighting
from gnn_mlc.errors import DataError


def cooccurrence_counts(Y: Matrix) -> sp.csr_matrix:
    """Return ``Y^T Y`` as an int64 CSR matrix of shape (num_labels, num_labels), computed sparsely."""
    Y = sp.csr_matrix(Y, dtype=np.int64)
    return sp.csr_matrix(Y.T @ Y)


def conditional_probabilities(counts: sp.csr_matrix, missing_counts: sp.csr_matrix | None = None) -> sp.csr_matrix:
    """Return ``P(j | i) = counts[i, j] / counts[i, i]`` as float64 CSR (num_labels, num_labels); rows of labels
    with no positive are empty, and the diagonal (always 1 where defined) is dropped.

    ``missing_counts[i, j]`` (optional, ``Y^T Y_missing``) counts rows with label i where label j is unknown; they
    are taken out of the denominator: ``P(j | i) = counts[i, j] / (counts[i, i] - missing_counts[i, j])``.
    """
    frequency = counts.diagonal().astype(np.float64)
    if missing_counts is not None:
        probabilities = sp.csr_matrix(counts, dtype=np.float64).tocoo()
        denominator = frequency[probabilities.row] - np.asarray(
            sp.csr_matrix(missing_counts)[probabilities.row, probabilities.col]).ravel()
        probabilities.data = np.divide(probabilities.data, denominator, out=np.zeros_like(probabilities.data),
                                       where=denominator > 0)
        probabilities = probabilities.tocsr()
    else:
        inverse = np.divide(1.0, frequency, out=np.zeros_like(frequency), where=frequency > 0)
        probabilities = sp.csr_matrix(sp.diags(inverse) @ counts.astype(np.float64))
    probabilities.setdiag(0.0)
    probabilities.eliminate_zeros()
    return probabilities


def mlgcn_adjacency(probabilities: sp.csr_matrix, *, tau: float, p: float) -> sp.csr_matrix:
    """ML-GCN re-weighted adjacency (num_labels, num_labels) without self-loops.

    ``A[i, j] = p / |{k : P(j | k) >= tau}|`` when ``P(j | i) >= tau``, else 0: each label's incoming weights sum to p.
    """
    binary = sp.csr_matrix((probabilities >= tau).astype(np.float64))
    binary.setdiag(0.0)
    binary.eliminate_zeros()
    incoming = np.asarray(binary.sum(axis=0)).ravel()
    scale = np.divide(p, incoming, out=np.zeros_like(incoming), where=incoming > 0)
    return sp.csr_matrix(binary @ sp.diags(scale))


def weighted_adjacency(
    counts: sp.csr_matrix,
    *,
    weighting: Weighting,
    tau: float,
    p: float,
    missing_counts: sp.csr_matrix | None = None,
    external: sp.csr_matrix | None = None,
) -> sp.csr_matrix:
    """The (num_labels, num_labels) float32 CSR edge weights of ``weighting`` (see the module docstring); no
    self-loops.

    ``external`` (num_labels, num_labels), external edges ``[i, j]`` for i -> j (a taxonomy, bought-together pairs),
    is merged by one rule: with ``"mlgcn"`` an external edge is an edge like one with ``P(j | i) >= tau`` (before
    each label's incoming weights are set to sum to p); with ``"probability"`` and ``"count"`` its weight is added.

    Raises:
        DataError: an unknown weighting, ``tau`` outside (0, 1] or ``p`` outside [0, 1].
    """
    if weighting not in WEIGHTINGS:
        raise DataError(f"weighting: got {weighting!r}; expected one of {', '.join(WEIGHTINGS)}")
    if not 0.0 < tau <= 1.0:
        raise DataError(f"tau: got {tau}; expected a number in (0, 1]")
    if not 0.0 <= p <= 1.0:
        raise DataError(f"p: got {p}; expected a number in [0, 1]")
    external = None if external is None else sp.csr_matrix(external, dtype=np.float64)
    if weighting == "count":
        adjacency = counts.astype(np.float64).tocsr()
        adjacency.setdiag(0.0)
        adjacency.eliminate_zeros()
    else:
        probabilities = conditional_probabilities(counts, missing_counts)
        if weighting == "probability":
            adjacency = probabilities
        else:
            if external is not None:  # an external edge passes the threshold
                probabilities = sp.csr_matrix(probabilities.maximum((external > 0).astype(np.float64) * tau))
            return sp.csr_matrix(mlgcn_adjacency(probabilities, tau=tau, p=p), dtype=np.float32)
    if external is not None:
        adjacency = adjacency + external
    return sp.csr_matrix(adjacency, dtype=np.float32)
