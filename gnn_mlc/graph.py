"""The label co-occurrence graph: counts, conditional probabilities, the ML-GCN adjacency, networkx and PyG views.

From the training labels ``Y`` (rows, labels):

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

Labels with no positive, labels that co-occur with nothing and a single label simply get no edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from torch_geometric.utils import from_scipy_sparse_matrix

from gnn_mlc.choices import WEIGHTINGS, Weighting
from gnn_mlc.data.dataset import Matrix
from gnn_mlc.errors import DataError



def cooccurrence_counts(Y: Matrix) -> sp.csr_matrix:
    """Return ``Y^T Y`` as an int64 CSR matrix of shape (num_labels, num_labels), computed sparsely."""
    Y = sp.csr_matrix(Y, dtype=np.int64)
    return sp.csr_matrix(Y.T @ Y)


def conditional_probabilities(counts: sp.csr_matrix, unknown: sp.csr_matrix | None = None) -> sp.csr_matrix:
    """Return ``P(j | i) = counts[i, j] / counts[i, i]`` as float64 CSR (num_labels, num_labels); rows of labels
    with no positive are empty, and the diagonal (always 1 where defined) is dropped.

    ``unknown[i, j]`` (optional, ``Y^T Y_missing``) counts rows with label i where label j is unknown; they are
    taken out of the denominator: ``P(j | i) = counts[i, j] / (counts[i, i] - unknown[i, j])``.
    """
    frequency = counts.diagonal().astype(np.float64)
    if unknown is not None:
        probabilities = sp.csr_matrix(counts, dtype=np.float64).tocoo()
        denominator = frequency[probabilities.row] - np.asarray(
            sp.csr_matrix(unknown)[probabilities.row, probabilities.col]).ravel()
        probabilities.data = np.divide(probabilities.data, denominator, out=np.zeros_like(probabilities.data),
                                       where=denominator > 0)
        probabilities = probabilities.tocsr()
        probabilities.setdiag(0.0)
        probabilities.eliminate_zeros()
        return probabilities
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


@dataclass(frozen=True)
class LabelGraph:
    """A weighted, directed label graph built from training labels.

    Attributes:
        label_names: the ``num_labels`` node names, in label-column order.
        counts: ``(num_labels, num_labels)`` int64 CSR co-occurrence counts; the diagonal holds label frequencies.
        adjacency: ``(num_labels, num_labels)`` float CSR edge weights, ``adjacency[i, j]`` for edge ``i -> j``;
            no self-loops (the propagation adds them, see :class:`~gnn_mlc.model.LabelGCNModel`).
        num_rows: number of training rows the counts come from.
        weighting, tau, p: how ``adjacency`` was made (see the module docstring).
    """

    label_names: list[str]
    counts: sp.csr_matrix
    adjacency: sp.csr_matrix
    num_rows: int
    weighting: Weighting
    tau: float
    p: float

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def frequencies(self) -> np.ndarray:
        """(num_labels,) int64: number of training rows carrying each label."""
        return self.counts.diagonal()

    def edge_index(self) -> tuple[torch.Tensor, torch.Tensor]:
        """PyG ``edge_index`` (2, num_edges) int64 and ``edge_weight`` (num_edges,) float32 of the adjacency."""
        edge_index, edge_weight = from_scipy_sparse_matrix(self.adjacency)
        return edge_index, edge_weight.to(torch.float32)

    def to_networkx(self) -> nx.DiGraph:
        """The graph as a ``networkx.DiGraph`` keyed by label name.

        Nodes carry ``index`` and ``frequency``; edges carry ``weight`` (the GCN edge weight), ``count``
        (co-occurrences) and ``probability`` (``P(target | source)``). All attributes are scalars, so the graph can
        be written to GraphML or GEXF as it is.
        """
        graph = nx.DiGraph(weighting=self.weighting, tau=self.tau, p=self.p, num_rows=self.num_rows)
        frequencies = self.frequencies
        for index, name in enumerate(self.label_names):
            graph.add_node(name, index=index, frequency=int(frequencies[index]))
        adjacency = self.adjacency.tocoo()
        for source, target, weight in zip(adjacency.row, adjacency.col, adjacency.data):
            count = int(self.counts[source, target])
            graph.add_edge(
                self.label_names[source],
                self.label_names[target],
                weight=float(weight),
                count=count,
                probability=count / int(frequencies[source]),
            )
        return graph

    def write_graphml(self, path: str | Path) -> None:
        """Write the networkx view to ``path`` as GraphML."""
        nx.write_graphml(self.to_networkx(), path)

    def statistics(self) -> dict[str, float | int]:
        """Counts a reader wants first: labels, edges, isolated labels, labels with no positive, components."""
        graph = self.to_networkx()
        undirected = graph.to_undirected()
        degrees = [degree for _, degree in undirected.degree()]
        return {
            "num_labels": self.num_labels,
            "num_edges": graph.number_of_edges(),
            "num_rows": self.num_rows,
            "labels_without_positives": int((self.frequencies == 0).sum()),
            "isolated_labels": int(sum(degree == 0 for degree in degrees)),
            "connected_components": nx.number_connected_components(undirected),
            "mean_degree": float(np.mean(degrees)) if degrees else 0.0,
            "max_degree": int(max(degrees)) if degrees else 0,
        }


def build_label_graph(
    Y: Matrix,
    label_names: list[str],
    *,
    weighting: Weighting = "mlgcn",
    tau: float = 0.4,
    p: float = 0.25,
    Y_missing: Matrix | None = None,
) -> LabelGraph:
    """Build the label graph of training labels ``Y`` (rows, num_labels) with the given edge weighting.

    Args:
        Y: 0/1 labels, ndarray or sparse, shape (rows, num_labels).
        label_names: one name per column of ``Y``.
        weighting: ``"mlgcn"`` (default), ``"probability"`` or ``"count"``; see the module docstring.
        tau: ``"mlgcn"`` keeps the edge ``i -> j`` when ``P(j | i) >= tau``; in (0, 1].
        p: ``"mlgcn"`` total weight of each label's incoming edges; in [0, 1].
        Y_missing: 1 where a label value is unknown (those entries count as neither positive nor negative).

    Returns:
        The :class:`LabelGraph`.
    """
    if Y.shape[1] != len(label_names):
        raise DataError(f"label_names: {len(label_names)} names for {Y.shape[1]} label columns; expected one each")
    unknown = None
    if Y_missing is not None:
        Y = sp.csr_matrix(Y, dtype=np.int64)
        Y = sp.csr_matrix(Y - Y.multiply(sp.csr_matrix(Y_missing, dtype=np.int64)))  # unknown is not positive
        unknown = sp.csr_matrix(Y.T @ sp.csr_matrix(Y_missing, dtype=np.int64))
    return label_graph_from_counts(
        cooccurrence_counts(Y), label_names, num_rows=int(Y.shape[0]), weighting=weighting, tau=tau, p=p,
        unknown=unknown,
    )


def label_graph_from_counts(
    counts: sp.csr_matrix,
    label_names: list[str],
    *,
    num_rows: int,
    weighting: Weighting = "mlgcn",
    tau: float = 0.4,
    p: float = 0.25,
    unknown: sp.csr_matrix | None = None,
) -> LabelGraph:
    """Build the label graph from co-occurrence ``counts`` (num_labels, num_labels), e.g. a model's saved counts.

    Args are as for :func:`build_label_graph`; ``num_rows`` is the number of rows the counts come from, ``unknown``
    as for :func:`conditional_probabilities`.
    """
    if weighting not in WEIGHTINGS:
        raise DataError(f"weighting: got {weighting!r}; expected one of {', '.join(WEIGHTINGS)}")
    if not 0.0 < tau <= 1.0:
        raise DataError(f"tau: got {tau}; expected a number in (0, 1]")
    if not 0.0 <= p <= 1.0:
        raise DataError(f"p: got {p}; expected a number in [0, 1]")
    counts = sp.csr_matrix(counts, dtype=np.int64)
    probabilities = conditional_probabilities(counts, unknown)
    if weighting == "count":
        adjacency = counts.astype(np.float64).tocsr()
        adjacency.setdiag(0.0)
        adjacency.eliminate_zeros()
    elif weighting == "probability":
        adjacency = probabilities
    else:
        adjacency = mlgcn_adjacency(probabilities, tau=tau, p=p)
    return LabelGraph(
        label_names=list(label_names),
        counts=counts,
        adjacency=sp.csr_matrix(adjacency, dtype=np.float32),
        num_rows=num_rows,
        weighting=weighting,
        tau=tau,
        p=p,
    )
