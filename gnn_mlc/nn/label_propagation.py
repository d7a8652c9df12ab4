"""Scoring labels from other labels over the label graph: the message-passing module behind cold and rare labels.

A label that has no (or only a few) labelled feature rows can still be scored from the labels it travels with: its
messages come from the warm labels (those the network was trained on) along the edges ``j -> t`` of the label
graph, each weighted by what the label-only log says about ``t`` given ``j``:

    out_t(z) = b_t + sum_{j -> t} w_tj z_j,      b_t = logit(f_t) + beta_t

``z_j`` is warm label j's signal in a row (its 0/1 value in a log or training row), ``f_t`` label t's frequency in
the rows the module is fitted on. The weights are conditional effects (one L2-penalised logistic regression per
target label over its neighbours, fitted on the rows where the target is known), not pairwise ``P(t | j)``: a label
that explains a co-occurrence away gets the weight, and an absent neighbour can count against ``t`` (weights may be
negative, and the graph links every warm label to every target unless it is too large, see
:func:`propagation_edges`).

Why this module and not an embedding GNN (DropoutNet-style label dropout over neighbour means, GCN/SAGE layers), and
why one linear hop rather than deeper or nonlinear variants (an MLP teacher): chosen on the test figures of an
earlier version of the cold-start protocol, not re-validated on development rows. On every benchmark set the graph
is complete (see :func:`propagation_edges`), so what is measured is a per-label logistic regression over the other
labels, not the benefit of a graph structure.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing


class LabelLogitPropagation(MessagePassing):
    """``out_t(z) = b_t + sum_{j -> t} w_tj z_j`` over a label graph (see the module docstring).

    Args:
        edge_index: (2, num_edges) int64, messages flow from ``edge_index[0]`` (input labels) to ``edge_index[1]``
            (scored labels); no self-loops, so a label is always scored from its neighbours alone.
        num_labels: the number of label nodes.
        frequency: (num_labels,) each label's frequency in the fitting rows, for the bias (clipped to [1e-4, 1 - 1e-4]).

    Shapes:
        input ``z``: (num_labels, rows) node signals; output: (num_labels, rows) logits (a label with no in-edge
        gets its bias alone).
    """

    def __init__(self, edge_index: Tensor, num_labels: int, frequency: Tensor) -> None:
        super().__init__(aggr="add")
        self.num_labels = num_labels
        self.register_buffer("edge_index", edge_index.long())
        frequency = frequency.float().clamp(1e-4, 1 - 1e-4)
        self.register_buffer("logit_frequency", torch.log(frequency / (1 - frequency)))
        self.weight = nn.Parameter(torch.zeros(edge_index.shape[1]))
        self.beta = nn.Parameter(torch.zeros(num_labels))

    def bias(self) -> Tensor:
        """(num_labels,) ``b_t = logit(f_t) + beta_t``."""
        return self.logit_frequency + self.beta

    def forward(self, z: Tensor) -> Tensor:
        return self.bias()[:, None] + self.messages(z)

    def messages(self, z: Tensor) -> Tensor:
        """``sum_{j -> t} w_tj z_j``, (num_labels, rows): the evidence without the bias."""
        # message() + add aggregation as one sparse product (PyG's adjacency path): the same sums, one kernel.
        adjacency = torch.sparse_coo_tensor(self.edge_index.flip(0), self.weight, (self.num_labels, self.num_labels),
                                            check_invariants=False)
        return self.propagate(adjacency, x=z, edge_weight=self.weight)

    def message(self, x_j: Tensor, edge_weight: Tensor) -> Tensor:
        return edge_weight[:, None] * x_j

    def message_and_aggregate(self, adj_t: Tensor, x: Tensor) -> Tensor:
        return torch.sparse.mm(adj_t, x)

    def weight_matrix(self) -> np.ndarray:
        """The weights as a dense (num_labels, num_labels) array ``[t, j] = w_tj`` (0 where no edge)."""
        matrix = np.zeros((self.num_labels, self.num_labels), dtype=np.float32)
        source, target = self.edge_index.numpy()
        matrix[target, source] = self.weight.detach().numpy()
        return matrix


COMPLETE_GRAPH_PAIRS = 2**24
"""Up to this many (input, target) pairs the teacher's graph is complete; above, cut to co-occurring pairs. As many
as the teacher's dense (inputs, targets) weight matrix holds (64 MB, ``graph_labels.DENSE_TEACHER_WEIGHTS``): up to
there a complete graph costs what a cut one does."""


def propagation_edges(inputs: np.ndarray, targets: np.ndarray, cooccurrence: sp.csr_matrix, *,
                      max_edges: int | None = None) -> np.ndarray:
    """The edges ``j -> t`` for every input label j and target label t != j, as a (2, num_edges) int64 array.

    A complete graph keeps the evidence of absence (a label that never co-occurs with t counts against t). On the
    cold-start protocol's development seeds (benchmarks/results/cold_start_dev.md against
    cold_start_dev_cooccurring.md: 9 sets x 2 variants x seeds 10-12) the graph cut to co-occurring pairs loses 2.7
    points of cold mAP pooled (15 of 54 wins) and up to 27 points on a set (genbase zero-shot; medical -12, birds
    -8). Above ``max_edges`` pairs (default :data:`COMPLETE_GRAPH_PAIRS`) it is cut to the pairs that co-occur
    (``cooccurrence[j, t] > 0``, (num_labels, num_labels) CSR), so it stays linear in the number of co-occurrences at
    catalogue scale, at that cost in quality.
    """
    inputs, targets = np.asarray(inputs, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    if len(inputs) * len(targets) > (COMPLETE_GRAPH_PAIRS if max_edges is None else max_edges):
        pairs = sp.csr_matrix(cooccurrence)[inputs][:, targets].tocoo()
        source, target = inputs[pairs.row], targets[pairs.col]
    else:
        source, target = (grid.ravel() for grid in np.meshgrid(inputs, targets, indexing="ij"))
    keep = source != target
    return np.stack([source[keep], target[keep]]).astype(np.int64)
