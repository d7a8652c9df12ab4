"""The instance encoder and the scoring rule every model shares: ``logits = h W^T + b``."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class InputLayer(nn.Module):
    """``x -> x A + a`` with ``A`` stored (in_features, out_features), so that a sparse batch is a bag of rows.

    A wide sparse input (100,000 words or items, ~50 non-zeros a row) is summed row by row from the rows of ``A``
    it holds (``embedding_bag``): 3x faster than a sparse matrix product against ``nn.Linear``'s transposed weight,
    which copies the whole matrix every step. Initialised as ``nn.Linear``.

    Shapes:
        input: (batch, in_features), dense, ``torch.sparse_csr`` or ``torch.sparse_coo``; output: (batch, out_features).
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.empty(in_features, out_features).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def forward(self, x: Tensor) -> Tensor:
        if x.layout == torch.sparse_csr:
            return F.embedding_bag(x.col_indices(), self.weight, x.crow_indices()[:-1], mode="sum",
                                   per_sample_weights=x.values()) + self.bias
        if x.is_sparse:
            return torch.sparse.mm(x, self.weight) + self.bias
        return torch.addmm(self.bias, x, self.weight)


class MLPEncoder(nn.Module):
    """Two-layer perceptron ``x -> ReLU(x A + a) -> dropout -> (.) B + c`` mapping instances to vectors ``h``.

    Args:
        in_features: number of input features.
        hidden_channels: width of the hidden layer.
        embedding_dim: size of ``h`` (the label embedding size).
        dropout: dropout probability on the input and hidden layer during training.

    Shapes:
        input: (batch, in_features), dense or sparse (CSR, COO); output: (batch, embedding_dim).
    """

    def __init__(self, in_features: int, *, hidden_channels: int, embedding_dim: int, dropout: float) -> None:
        super().__init__()
        self.input = InputLayer(in_features, hidden_channels)
        self.output = nn.Linear(hidden_channels, embedding_dim)
        self.dropout = dropout

    def forward(self, x: Tensor) -> Tensor:
        if x.layout != torch.strided:  # sparse rows (text, items) are never densified
            hidden = self.input(x)
        else:
            hidden = self.input(F.dropout(x, self.dropout, self.training))
        hidden = F.dropout(F.relu(hidden), self.dropout, self.training)
        return self.output(hidden)


def score_logits(h: Tensor, label_embeddings: Tensor, bias: Tensor) -> Tensor:
    """``logits = h W^T + b``: (batch, dim) x (num_labels, dim) + (num_labels,) -> (batch, num_labels)."""
    return torch.addmm(bias, h, label_embeddings.t())
