"""Scoring labels from other labels over the label graph: the message-passing module behind cold and rare labels.

A label that has no (or only a few) labelled feature rows can still be scored from the labels it travels with: its
messages come from the warm labels (those the network was trained on) along the edges ``j -> t`` of the label
graph, each weighted by what the label-only log says about ``t`` given ``j``:

    out_t(z) = b_t + sum_{j -> t} w_tj z_j,      b_t = logit(f_t) + beta_t

``z_j`` is warm label j's signal in a row (its 0/1 value in a log or training row), ``f_t`` label t's frequency in
the rows the module is fitted on. The weights are conditional effects (one L2-penalised logistic regression per
target label over its neighbours, fitted on the rows where the target is known), not pairwise ``P(t | j)``: a label
that explains a co-occurrence away gets the weight, and an absent neighbour can count against ``t`` (weights may be
negative, and the graph links every warm label to every target up to :data:`TEACHER_INPUTS` of them; above, each
target to its most similar and the most frequent ones, see :func:`propagation_edges`).

Why this module and not an embedding GNN (DropoutNet-style label dropout over neighbour means, GCN/SAGE layers), and
why one linear hop rather than deeper or nonlinear variants (an MLP teacher): chosen on the test figures of an
earlier version of the cold-start protocol, not re-validated on development rows. On every benchmark set the graph
is complete (see :func:`propagation_edges`), so what is measured is a per-label logistic regression over the other
labels, not the benefit of a graph structure. What cutting the graph costs is measured with a smaller cap forced onto
every set (``benchmarks/cold_start.py --teacher-inputs``, see :func:`propagation_edges`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing


class LabelLogitPropagation(MessagePassing):
    """``out_t(z) = b_t + sum_{j -> t} w_tj z_j`` over a label graph (see the module docstring).

    ``forward`` (message passing over dense (labels, rows) signals) is the rule's reference form; the teacher is
    fitted and applied on sparse rows instead (``gnn_mlc.training.graph_labels``: dense weight rows for inputs that
    reach many targets, edge-by-edge sums for the others), which the tests hold equal to it.

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


TEACHER_INPUTS = 512
"""The most input labels a target is scored from (see :func:`propagation_edges`): with at most this many inputs the
graph is complete."""


def propagation_edges(inputs: np.ndarray, targets: np.ndarray, cooccurrence: sp.csr_matrix, *,
                      max_inputs: int | None = None) -> np.ndarray:
    """The edges ``j -> t`` from input labels to each target label ``t`` (never ``t`` itself), as a (2, num_edges)
    int64 array: one rule at every size.

    With at most ``max_inputs`` (default :data:`TEACHER_INPUTS`) inputs, every input (the complete graph). With more,
    ``max_inputs`` of them per target: the half most similar to ``t`` among those that co-occur with it (cosine of
    co-occurrence, ``cooccurrence[j, t] / sqrt(count_j)``; the counts of ``cooccurrence``, (num_labels, num_labels)
    CSR, its diagonal the labels' counts), the rest the most frequent inputs not chosen yet. The frequent inputs keep
    the evidence of absence (a frequent label that never travels with ``t`` counts against it), which a graph of
    co-occurring pairs loses. The cost is ``max_inputs`` weights per target, whatever the catalogue's size.

    Measured on the cold-start protocol's development seeds (10-12, 9 sets x 2 variants), where every set has fewer
    than 512 warm labels (so the package's graph is complete there): with a cap of 8 forced onto every set (4 similar
    + 4 frequent inputs; the sets have 14 to 159 labels, and the package's 512 is 1% of 50,000), cold mAP is 1.6
    points below the complete graph's pooled (11 of 54 wins; genbase zero-shot -13.3 and few-shot -7.7, bibtex
    zero-shot -3.0, MovieLens zero-shot -2.3; benchmarks/results/cold_start_dev_inputs8.md against
    cold_start_dev.md). The rule this one replaced, a graph cut to co-occurring pairs above 2^24 pairs, lost 2.7
    points pooled and 27 on genbase zero-shot (cold_start_dev_cooccurring.md, at 6d17db2, against the development
    figures of that day). Where the cap applies at its own size (synthetic topic baskets,
    2,000 labels, 1,600 warm and 400 new; benchmarks/teacher_inputs.py, a measurement, not a choice), 512 inputs
    are 0.19 points of new-label mAP below every warm label (below on all 3 seeds) and 64 are 0.17 above (above on
    all 3): within 0.3 points either way, not monotone in the cap.
    """
    inputs, targets = np.asarray(inputs, dtype=np.int64), np.asarray(targets, dtype=np.int64)
    size = TEACHER_INPUTS if max_inputs is None else max_inputs
    if len(inputs) <= size:
        source, target = (grid.ravel() for grid in np.meshgrid(inputs, targets, indexing="ij"))
        keep = source != target
        return np.stack([source[keep], target[keep]]).astype(np.int64)
    cooccurrence = sp.csr_matrix(cooccurrence)
    cooccurrence.eliminate_zeros()  # a stored 0 is no co-occurrence
    counts = cooccurrence.diagonal().astype(np.float64)
    by_frequency = inputs[np.argsort(-counts[inputs], kind="stable")][: size + 1]
    pairs = sp.csc_matrix(cooccurrence[inputs][:, targets], dtype=np.float64)
    similarity = pairs.data / np.sqrt(np.maximum(counts[inputs[pairs.indices]], 1.0))
    sources, chosen_targets = [], []
    for column, label in enumerate(targets):
        span = slice(pairs.indptr[column], pairs.indptr[column + 1])
        near, strength = inputs[pairs.indices[span]], similarity[span]
        strength, near = strength[near != label], near[near != label]
        if len(near) > size // 2:
            near = near[np.argpartition(-strength, size // 2 - 1)[: size // 2]]
        frequent = by_frequency[~np.isin(by_frequency, near) & (by_frequency != label)][: size - len(near)]
        sources.append(np.concatenate([near, frequent]))
        chosen_targets.append(np.full(len(near) + len(frequent), label))
    return np.stack([np.concatenate(sources), np.concatenate(chosen_targets)]).astype(np.int64)
