"""The scoring models: an instance encoder, label embeddings ``W`` and ``logits = h W^T + b``.

Two models share the encoder and the scoring rule and differ only in where ``W`` comes from:

* :class:`LabelGCNModel`: ``W`` is the GCN propagation of free label vectors over the label co-occurrence graph
  (the graph of ML-GCN, Chen et al., CVPR 2019), so correlated labels learn together;
* :class:`IndependentLabelModel` (no graph): ``W`` is a free matrix, i.e. a shared network with one independent
  sigmoid head per label.

``W`` does not depend on the input: at inference compute it once with :meth:`label_embeddings` and score with
:func:`score_logits`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from gnn_mlc.nn.encoder import MLPEncoder, score_logits


class LabelGCNModel(nn.Module):
    """Label-graph model: ``W = A_hat^K V``, ``logits = encoder(x) W^T + b``.

    ``V`` (num_labels, embedding_dim) are free label vectors; each of the ``K`` graph layers is the GCN propagation
    ``A_hat = D^-1/2 (A + I) D^-1/2`` of Kipf and Welling (2017), computed with PyG's ``gcn_norm``, without a weight
    matrix or nonlinearity (SGC, Wu et al., 2019). ``A_hat`` is fixed, so the graph changes how the label vectors
    learn rather than what they can express: every gradient step on a label also moves the labels it co-occurs with,
    and weight decay on ``V`` pulls a label's vector toward its neighbours'. The graph is stored as buffers so the
    model is self-contained.

    Why not ML-GCN's two ``GCNConv`` layers (weight matrices, LeakyReLU) over learned label features, which this
    replaced: a choice made on the test figures of an earlier protocol (benchmarks/results/model_selection.md), not
    re-validated on development rows; benchmarks/results/accuracy.md reports the no-graph network beside it.

    Args:
        in_features: number of instance features.
        num_labels: number of labels (graph nodes).
        edge_index: (2, num_edges) int64, messages flow from ``edge_index[0]`` to ``edge_index[1]``.
        edge_weight: (num_edges,) float32, before normalisation; self-loops (weight 1) are added.
        hidden_channels: encoder hidden width.
        embedding_dim: size of ``h`` and of each label embedding.
        num_gcn_layers: number of propagation steps ``K`` (>= 1).
        dropout: encoder dropout.

    Shapes:
        input ``x``: (batch, in_features), dense or ``torch.sparse_coo``; output: logits (batch, num_labels);
        :meth:`label_embeddings`: (num_labels, embedding_dim); ``bias``: (num_labels,).
    """

    def __init__(
        self,
        in_features: int,
        num_labels: int,
        edge_index: Tensor,
        edge_weight: Tensor,
        *,
        hidden_channels: int,
        embedding_dim: int,
        num_gcn_layers: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.encoder = MLPEncoder(
            in_features, hidden_channels=hidden_channels, embedding_dim=embedding_dim, dropout=dropout
        )
        self.label_features = nn.Parameter(torch.randn(num_labels, embedding_dim) / embedding_dim**0.5)
        self.bias = nn.Parameter(torch.zeros(num_labels))
        self.num_gcn_layers = num_gcn_layers
        self.register_buffer("edge_index", edge_index.long())
        self.register_buffer("edge_weight", edge_weight.float())
        # A_hat, normalised once rather than at every training step (half the time of W at 10,000 labels);
        # derived from the two buffers above, so it is not saved.
        num_labels = self.label_features.shape[0]
        edge_index, weight = gcn_norm(self.edge_index, self.edge_weight, num_nodes=num_labels, add_self_loops=True)
        normalised = torch.sparse_coo_tensor(edge_index.flip(0), weight, (num_labels, num_labels),
                                             check_invariants=True).coalesce()
        self.register_buffer("normalised_index", normalised.indices(), persistent=False)
        self.register_buffer("normalised_weight", normalised.values(), persistent=False)

    def free_label_vectors(self) -> Tensor:
        """The trainable label vectors ``V`` (num_labels, embedding_dim) that the propagation turns into ``W``."""
        return self.label_features

    def propagation(self) -> Tensor:
        """``A_hat`` as a sparse (num_labels, num_labels) tensor, row = receiving label."""
        num_labels = self.label_features.shape[0]
        # The indices were checked and coalesced when the buffers were built; no need to check them every step.
        return torch.sparse_coo_tensor(self.normalised_index, self.normalised_weight, (num_labels, num_labels),
                                       is_coalesced=True, check_invariants=False)

    def label_embeddings(self) -> Tensor:
        """The label embeddings ``W``, shape (num_labels, embedding_dim)."""
        propagation, h = self.propagation(), self.label_features
        for _ in range(self.num_gcn_layers):
            h = torch.sparse.mm(propagation, h)
        return h

    def forward(self, x: Tensor, columns: Tensor | None = None) -> Tensor:
        """Logits (batch, num_labels) for instances ``x`` (batch, in_features); with ``columns`` (n,) int64, only
        those labels' logits (batch, n): a sampled-negatives training step."""
        W, b = self.label_embeddings(), self.bias
        if columns is not None:
            W, b = W[columns], b[columns]
        return score_logits(self.encoder(x), W, b)


class IndependentLabelModel(nn.Module):
    """No-graph baseline: the same encoder with one independent linear head per label.

    Args:
        in_features, num_labels, hidden_channels, embedding_dim, dropout: as for :class:`LabelGCNModel`.

    Shapes:
        input ``x``: (batch, in_features), dense or ``torch.sparse_coo``; output: logits (batch, num_labels);
        :meth:`label_embeddings`: (num_labels, embedding_dim); ``bias``: (num_labels,).
    """

    def __init__(
        self, in_features: int, num_labels: int, *, hidden_channels: int, embedding_dim: int, dropout: float
    ) -> None:
        super().__init__()
        self.encoder = MLPEncoder(
            in_features, hidden_channels=hidden_channels, embedding_dim=embedding_dim, dropout=dropout
        )
        self.heads = nn.Linear(embedding_dim, num_labels)

    @property
    def bias(self) -> Tensor:
        return self.heads.bias

    def label_embeddings(self) -> Tensor:
        """The per-label output vectors, shape (num_labels, embedding_dim)."""
        return self.heads.weight

    def free_label_vectors(self) -> Tensor:
        """The trainable label vectors, here ``W`` itself (num_labels, embedding_dim)."""
        return self.heads.weight

    def forward(self, x: Tensor, columns: Tensor | None = None) -> Tensor:
        """Logits (batch, num_labels) for instances ``x`` (batch, in_features); with ``columns`` (n,) int64, only
        those labels' logits (batch, n): a sampled-negatives training step."""
        if columns is None:
            return self.heads(self.encoder(x))
        return score_logits(self.encoder(x), self.heads.weight[columns], self.heads.bias[columns])


LabelScoringModel = LabelGCNModel | IndependentLabelModel
