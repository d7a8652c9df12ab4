"""Inspecting label embeddings: nearest labels with their evidence, the agreement score, exports, plots, a report."""

from gnn_mlc.inspection.neighbours import (
    Neighbour,
    agreement_score,
    cooccurrence_neighbours,
    export_embeddings,
    export_graph,
    nearest_labels,
)

__all__ = ["Neighbour", "agreement_score", "cooccurrence_neighbours", "export_embeddings", "export_graph",
           "nearest_labels"]
