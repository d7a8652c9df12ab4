"""One label space for the training labels and the graph's: which labels the network learns and which the graph
scores.

The space is the training labels in their column order, then every other label the label-only log or the external
edges name, sorted (:meth:`~gnn_mlc.graph.sources.GraphSources.label_space`). Then:

* the network learns exactly the columns of ``Y`` (**trained** labels), as the no-graph network would: the graph
  changes nothing of what it learns about them, so a trained label keeps the network's own vector;
* a **cold** label has no positive feature row (absent from ``Y``, or an all-zero column) and appears in the graph
  sources: its vector is inferred from the graph (:mod:`gnn_mlc.training.graph_labels`). For the graph, its values
  in the feature rows are unknown, not negative;
* a **rare** label has 1 to ``max_rare_positives`` positive feature rows and positive rows in the log: its vector is
  the mean of the network's own and the one inferred from the log with its few positives as shots
  (:data:`gnn_mlc.training.label_vectors.RARE_OWN_SHARE`, with its development figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import Matrix


@dataclass(frozen=True)
class LabelPlan:
    """Which labels of a label space the network learns, and which the graph scores.

    Attributes:
        label_names: the label space.
        trained: sorted indices of the labels the network learns (the columns of ``Y``, the first of the space).
        cold: sorted indices of the cold labels.
        rare: sorted indices of the rare labels.
    """

    label_names: list[str]
    trained: np.ndarray
    cold: np.ndarray
    rare: np.ndarray

    @property
    def graph_scored(self) -> np.ndarray:
        """Sorted indices of the labels whose vectors come from the graph (cold and rare)."""
        return np.union1d(self.cold, self.rare)


def plan_labels(label_names: Sequence[str], num_trained: int, positives: np.ndarray, graph_labels: set[str],
                log_positives: np.ndarray, *, max_rare_positives: int) -> LabelPlan:
    """Sort the labels of a space into trained, cold and rare (see the module docstring).

    Args:
        label_names: the label space; its first ``num_trained`` labels are the columns of ``Y``.
        positives: (L,) positive feature rows per label.
        graph_labels: the labels the log or the edges name, or that have label features.
        log_positives: (L,) positive log rows per label.
        max_rare_positives: the most positive feature rows a rare label has.
    """
    in_graph = np.array([name in graph_labels for name in label_names], dtype=bool)
    cold = np.flatnonzero(in_graph & (positives == 0))
    rare = np.flatnonzero((positives >= 1) & (positives <= max_rare_positives) & (log_positives > 0))
    return LabelPlan(label_names=list(label_names), trained=np.arange(num_trained), cold=cold, rare=rare)


def place_columns(Y: Matrix, names: Sequence[str], space: Sequence[str]) -> sp.csr_matrix:
    """``Y`` (rows, len(names)) as a (rows, len(space)) uint8 CSR over ``space`` (which holds every name); the other
    columns are zero."""
    position = {name: index for index, name in enumerate(space)}
    columns = np.array([position[name] for name in names], dtype=np.int64)
    placement = sp.csr_matrix((np.ones(len(columns), dtype=np.uint8), (np.arange(len(columns)), columns)),
                              shape=(len(columns), len(space)))
    return sp.csr_matrix(sp.csr_matrix(Y, dtype=np.uint8) @ placement, dtype=np.uint8)
