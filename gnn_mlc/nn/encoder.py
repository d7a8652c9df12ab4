"""The instance encoder and the scoring rule every model shares: ``logits = h W^T + b``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MLPEncoder(nn.Module):
    """Two-layer perceptron ``x -> ReLU(x A + a) -> dropout -> (.) B + c`` mapping instances to vectors ``h``.

    Args:
        in_features: number of input features.
        hidden_channels: width of the hidden layer.
        out_channels: size of ``h`` (the label embedding size).
        dropout: dropout probability on the input and hidden layer during training.

    Shapes:
        input: (batch, in_features), dense or ``torch.sparse_coo``; output: (batch, out_channels).
    """

    def __init__(self, in_features: int, *, hidden_channels: int, out_channels: int, dropout: float) -> None:
        super().__init__()
        self.input = nn.Linear(in_features, hidden_channels)
        self.output = nn.Linear(hidden_channels, out_channels)
        self.dropout = dropout

    def forward(self, x: Tensor) -> Tensor:
        if x.is_sparse:
            # Sparse rows (text features) go through a sparse matmul: never densified.
            hidden = torch.sparse.mm(x, self.input.weight.t()) + self.input.bias
        else:
            hidden = self.input(F.dropout(x, self.dropout, self.training))
        hidden = F.dropout(F.relu(hidden), self.dropout, self.training)
        return self.output(hidden)


def score_logits(h: Tensor, label_embeddings: Tensor, bias: Tensor) -> Tensor:
    """``logits = h W^T + b``: (batch, dim) x (num_labels, dim) + (num_labels,) -> (batch, num_labels)."""
    return torch.addmm(bias, h, label_embeddings.t())
