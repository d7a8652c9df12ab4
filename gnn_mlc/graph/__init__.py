"""The label graph: co-occurrence counts, edge weightings, networkx and PyG views."""

from gnn_mlc.graph.cooccurrence import (
    conditional_probabilities,
    cooccurrence_counts,
    mlgcn_adjacency,
    weighted_adjacency,
)
from gnn_mlc.graph.label_graph import (
    LabelGraph,
    build_label_graph,
    label_graph_from_counts,
)

__all__ = [
    "LabelGraph",
    "build_label_graph",
    "conditional_probabilities",
    "cooccurrence_counts",
    "label_graph_from_counts",
    "mlgcn_adjacency",
    "weighted_adjacency",
]
