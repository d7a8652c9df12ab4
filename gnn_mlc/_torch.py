"""Device choice and the tensor helpers that training, the estimator and serving share (private)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from gnn_mlc._typing import DEVICES, Matrix
from gnn_mlc.errors import GnnMlcError
from gnn_mlc.nn.encoder import score_logits

if TYPE_CHECKING:
    from gnn_mlc.nn.label_models import LabelScoringModel


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"``; ``"cuda"`` (or ``"cuda:N"``) only when available."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if device == "cuda" or device.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise GnnMlcError(
                f"device: {device!r} was requested but CUDA is not available (torch {torch.__version__}); "
                "expected a machine with a CUDA GPU. Hint: use device 'auto' or 'cpu'"
            )
        return torch.device(device)
    raise GnnMlcError(f"device: got {device!r}; expected one of {', '.join(DEVICES)}")


def to_tensor(X: Matrix, device: torch.device) -> Tensor:
    """A (rows, features) float32 tensor on ``device``: sparse CSR for SciPy sparse input (its arrays as they are: no
    conversion, no coalescing), dense otherwise."""
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        with warnings.catch_warnings():  # torch calls its sparse CSR support "beta" once per process
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(torch.from_numpy(X.indptr.astype(np.int64)),
                                           torch.from_numpy(X.indices.astype(np.int64)),
                                           torch.from_numpy(X.data.astype(np.float32, copy=False)), X.shape,
                                           device=device)
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)


def dense_float(Y: Matrix, device: torch.device) -> Tensor:
    """A (rows, columns) dense float32 tensor of a 0/1 (or weight) matrix, dense or CSR."""
    return torch.from_numpy(Y.toarray() if sp.issparse(Y) else np.asarray(Y)).float().to(device)


def iterate_batches(
    num_rows: int, batch_size: int, *, generator: torch.Generator | None = None
) -> Iterator[np.ndarray]:
    """Row indices of consecutive batches; shuffled with ``generator`` when given."""
    order = torch.randperm(num_rows, generator=generator).numpy() if generator is not None else np.arange(num_rows)
    for start in range(0, num_rows, batch_size):
        yield order[start : start + batch_size]


@torch.no_grad()
def predict_logits(model: LabelScoringModel, X: Matrix, *, batch_size: int, device: torch.device) -> np.ndarray:
    """Logits (rows, num_labels) float32 of ``X`` (rows, features); the label embeddings are computed once."""
    model.eval()
    label_embeddings, bias = model.label_embeddings(), model.bias
    chunks = [
        score_logits(model.encoder(to_tensor(X[rows], device)), label_embeddings, bias).cpu().numpy()
        for rows in iterate_batches(X.shape[0], batch_size)
    ]
    return np.concatenate(chunks, axis=0)


@torch.no_grad()
def encode(encoder: torch.nn.Module, X: Matrix, *, batch_size: int, device: torch.device) -> np.ndarray:
    """The encoder's outputs ``h(x)`` (rows, embedding_dim) float32 of scaled features ``X`` (rows, features)."""
    encoder.eval()
    chunks = [encoder(to_tensor(X[rows], device)).cpu().numpy() for rows in iterate_batches(X.shape[0], batch_size)]
    return np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 0), dtype=np.float32)
