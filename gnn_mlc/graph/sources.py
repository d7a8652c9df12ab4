"""The graph sources bundled for the label graph: one :class:`GraphSources` of a label-only log, external edges and
label features (each read and checked by :mod:`gnn_mlc.data.graph_sources`), and the label space they make with the
training labels (:mod:`gnn_mlc.graph.label_space`).

The readers and the source types are re-exported here (their home is :mod:`gnn_mlc.data.graph_sources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np

from gnn_mlc._typing import Matrix
from gnn_mlc.data.graph_sources import (
    ExternalEdges,
    LabelFeatures,
    LabelLog,
    as_label_log,
    read_graph_edges,
    read_label_features,
    read_label_log,
)
from gnn_mlc.errors import DataError

__all__ = ["ExternalEdges", "GraphSources", "LabelFeatures", "LabelLog", "as_label_log", "read_graph_edges",
           "read_label_features", "read_label_log"]


@dataclass(frozen=True)
class GraphSources:
    """Everything besides the labelled feature rows that the label graph is built from (each part optional)."""

    log: LabelLog | None = None
    edges: ExternalEdges | None = None
    features: LabelFeatures | None = None

    @classmethod
    def resolve(
        cls,
        graph_data: LabelLog | Matrix | str | Path | None = None,
        graph_label_names: Sequence[str] | None = None,
        graph_edges: ExternalEdges | nx.Graph | str | Path | None = None,
        label_features: LabelFeatures | tuple[np.ndarray, Sequence[str]] | str | Path | None = None,
    ) -> GraphSources:
        """Read or check each source given as an object, a file path or (log) a 0/1 matrix with its label names.

        Raises:
            DataError: a malformed source (see the readers), or a matrix log without ``graph_label_names``.
        """
        log = None
        if isinstance(graph_data, LabelLog):
            log = graph_data
        elif isinstance(graph_data, (str, Path)):
            log = read_label_log(graph_data)
        elif graph_data is not None:
            if graph_label_names is None:
                raise DataError("graph_label_names: required with a graph_data matrix; expected one label name per "
                                "column")
            log = as_label_log(graph_data, graph_label_names)
        edges = graph_edges if isinstance(graph_edges, ExternalEdges) or graph_edges is None \
            else read_graph_edges(graph_edges)
        features = label_features if isinstance(label_features, LabelFeatures) or label_features is None \
            else read_label_features(label_features)
        return cls(log=log, edges=edges, features=features)

    def __bool__(self) -> bool:
        return any(part is not None for part in (self.log, self.edges, self.features))

    def label_space(self, train_labels: Sequence[str]) -> list[str]:
        """The training labels in their order, then every other label the log, the edges or the label features
        name, sorted. A label only the label features name (a catalogue item with metadata and no log row or edge)
        is a label like the others: at ``fit`` a cold label, at ``add_labels`` a new one, scored from its features
        by the ridge map of :func:`~gnn_mlc.training.graph_labels.feature_label_vectors` in both."""
        others = {*(self.log.label_names if self.log else []), *(self.edges.label_names if self.edges else []),
                  *(self.features.label_names if self.features else [])}
        return [*train_labels, *sorted(others - set(train_labels))]

    def feature_matrix(self, label_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
        """(L, f) label features over ``label_names`` (zero rows where none) and the (L,) mask of labels that have
        them; ``(None, None)`` without label features."""
        if self.features is None:
            return None, None
        position = {name: index for index, name in enumerate(label_names)}
        matrix = np.zeros((len(label_names), self.features.X.shape[1]), dtype=np.float32)
        rows = np.array([position[name] for name in self.features.label_names], dtype=np.int64)
        matrix[rows] = self.features.X
        mask = np.zeros(len(label_names), dtype=bool)
        mask[rows] = True
        return matrix, mask
