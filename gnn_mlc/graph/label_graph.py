"""The label graph: co-occurrence counts and edge weights of training labels, with networkx and PyG views.

How counts become weights is in :mod:`gnn_mlc.graph.cooccurrence`. Labels with no positive, labels that co-occur with
nothing and a single label simply get no edges. Everything the model uses (counts -> weights -> PyG
``edge_index``) stays SciPy sparse and vectorised; the networkx graph is built in bulk only when asked for.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.csgraph import connected_components
from torch_geometric.utils import from_scipy_sparse_matrix

from gnn_mlc._typing import Matrix, Weighting
from gnn_mlc.errors import DataError
from gnn_mlc.graph.cooccurrence import cooccurrence_counts, weighted_adjacency


@dataclass(frozen=True)
class LabelGraph:
    """A weighted, directed label graph built from training labels.

    Attributes:
        label_names: the ``num_labels`` node names, in label-column order.
        counts: ``(num_labels, num_labels)`` int64 CSR co-occurrence counts; the diagonal holds label frequencies.
        adjacency: ``(num_labels, num_labels)`` float CSR edge weights, ``adjacency[i, j]`` for edge ``i -> j``;
            no self-loops (the propagation adds them, see :class:`~gnn_mlc.nn.LabelGCNModel`).
        num_rows: number of training rows the counts come from.
        weighting, tau, p: how ``adjacency`` was made (see :mod:`gnn_mlc.graph.cooccurrence`).
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
        be written to GraphML or GEXF as it is. Built in bulk from aligned arrays (no per-edge matrix lookups).
        """
        graph = nx.DiGraph(weighting=self.weighting, tau=self.tau, p=self.p, num_rows=self.num_rows)
        frequencies = self.frequencies
        names = self.label_names
        graph.add_nodes_from((name, {"index": index, "frequency": int(frequency)})
                             for index, (name, frequency) in enumerate(zip(names, frequencies.tolist())))
        adjacency = self.adjacency.tocoo()
        # counts has a superset of the adjacency's pattern: read the counts of exactly those entries, vectorised.
        counts = np.asarray(self.counts[adjacency.row, adjacency.col], dtype=np.int64).ravel() if adjacency.nnz \
            else np.zeros(0, dtype=np.int64)
        source_frequency = frequencies[adjacency.row]
        probability = np.divide(counts, source_frequency, out=np.zeros(len(counts)), where=source_frequency > 0)
        graph.add_edges_from(
            (names[source], names[target], {"weight": weight, "count": count, "probability": chance})
            for source, target, weight, count, chance in zip(
                adjacency.row.tolist(), adjacency.col.tolist(), adjacency.data.astype(np.float64).tolist(),
                counts.tolist(), probability.tolist())
        )
        return graph

    def write_graphml(self, path: str | Path) -> None:
        """Write the networkx view to ``path`` as GraphML."""
        nx.write_graphml(self.to_networkx(), path)

    def statistics(self) -> dict[str, float | int]:
        """Counts a reader wants first: labels, edges, isolated labels, labels with no positive, components."""
        undirected = sp.csr_matrix(self.adjacency + self.adjacency.T)
        undirected.setdiag(0)
        undirected.eliminate_zeros()
        degrees = np.diff(undirected.indptr)
        components, _ = connected_components(undirected, directed=False)
        return {
            "num_labels": self.num_labels,
            "num_edges": int(self.adjacency.nnz),
            "num_rows": self.num_rows,
            "labels_without_positives": int((self.frequencies == 0).sum()),
            "isolated_labels": int((degrees == 0).sum()),
            "connected_components": int(components),
            "mean_degree": float(degrees.mean()) if len(degrees) else 0.0,
            "max_degree": int(degrees.max()) if len(degrees) else 0,
        }


def build_label_graph(
    Y: Matrix,
    label_names: list[str],
    *,
    weighting: Weighting = "mlgcn",
    tau: float = 0.4,
    p: float = 0.25,
    Y_missing: Matrix | None = None,
    log_rows: Matrix | None = None,
    external: sp.csr_matrix | None = None,
) -> LabelGraph:
    """Build the label graph of training labels ``Y`` (rows, num_labels) with the given edge weighting.

    Args:
        Y: 0/1 labels, ndarray or sparse, shape (rows, num_labels).
        label_names: one name per column of ``Y``.
        weighting: ``"mlgcn"`` (default), ``"probability"`` or ``"count"``; see :mod:`gnn_mlc.graph.cooccurrence`.
        tau: ``"mlgcn"`` keeps the edge ``i -> j`` when ``P(j | i) >= tau``; in (0, 1].
        p: ``"mlgcn"`` total weight of each label's incoming edges; in [0, 1].
        Y_missing: 1 where a label value is unknown (those entries count as neither positive nor negative).
        log_rows: (log rows, num_labels) label-only rows, merged into the co-occurrence counts.
        external: (num_labels, num_labels) external edge weights ``[i, j]`` for i -> j, merged by the rule of
            :func:`~gnn_mlc.graph.cooccurrence.weighted_adjacency`.

    Returns:
        The :class:`LabelGraph`.
    """
    if Y.shape[1] != len(label_names):
        raise DataError(f"label_names: {len(label_names)} names for {Y.shape[1]} label columns; expected one each")
    missing_counts = None
    if Y_missing is not None:
        Y = sp.csr_matrix(Y, dtype=np.int64)
        Y = sp.csr_matrix(Y - Y.multiply(sp.csr_matrix(Y_missing, dtype=np.int64)))  # unknown is not positive
        missing_counts = sp.csr_matrix(Y.T @ sp.csr_matrix(Y_missing, dtype=np.int64))
    counts, num_rows = cooccurrence_counts(Y), int(Y.shape[0])
    if log_rows is not None:
        counts, num_rows = sp.csr_matrix(counts + cooccurrence_counts(log_rows)), num_rows + int(log_rows.shape[0])
    return label_graph_from_counts(counts, label_names, num_rows=num_rows, weighting=weighting, tau=tau, p=p,
                                   missing_counts=missing_counts, external=external)


def label_graph_from_counts(
    counts: sp.csr_matrix,
    label_names: list[str],
    *,
    num_rows: int,
    weighting: Weighting = "mlgcn",
    tau: float = 0.4,
    p: float = 0.25,
    missing_counts: sp.csr_matrix | None = None,
    external: sp.csr_matrix | None = None,
) -> LabelGraph:
    """Build the label graph from co-occurrence ``counts`` (num_labels, num_labels), e.g. a model's saved counts.

    Args are as for :func:`build_label_graph`; ``num_rows`` is the number of rows the counts come from,
    ``missing_counts`` as for :func:`~gnn_mlc.graph.cooccurrence.conditional_probabilities`.
    """
    counts = sp.csr_matrix(counts, dtype=np.int64)
    adjacency = weighted_adjacency(counts, weighting=weighting, tau=tau, p=p, missing_counts=missing_counts,
                                   external=external)
    return LabelGraph(label_names=list(label_names), counts=counts, adjacency=adjacency, num_rows=num_rows,
                      weighting=weighting, tau=tau, p=p)
