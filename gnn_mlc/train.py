"""The training loop: mini-batch AdamW on BCE-with-logits, early stopping on validation mAP, device choice.

Training is deterministic on CPU for a fixed seed: parameters are initialised and batches shuffled from a
seeded generator, and nothing else draws random numbers.

Data-parallel training: when a ``torch.distributed`` process group is initialised (``gnn-mlc train`` under
``torchrun`` does it, see :mod:`gnn_mlc.distributed`), the model is wrapped in ``DistributedDataParallel`` and every
global batch (the same seeded permutation on every rank) is split across the ranks, each rank taking rows
``rank::world_size``. Each rank's loss is its BCE sum scaled by ``world_size / (global batch rows x num_labels)``, so
DDP's gradient average is exactly the gradient of the global batch mean: without dropout, training on N processes
follows single-process training up to floating-point summation order.
"""

from __future__ import annotations

import copy
import gc
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from gnn_mlc.checkpoint import load_checkpoint, save_checkpoint
from gnn_mlc.choices import DEVICES
from gnn_mlc.data.dataset import Matrix
from gnn_mlc.errors import GnnMlcError
from gnn_mlc.metrics import mean_average_precision
from gnn_mlc.model import LabelScoringModel, score_logits

logger = logging.getLogger(__name__)


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
    """A (rows, features) float32 tensor on ``device``: sparse COO for SciPy sparse input, dense otherwise."""
    if sp.issparse(X):
        coo = X.tocoo()
        indices = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
        values = torch.from_numpy(coo.data.astype(np.float32))
        return torch.sparse_coo_tensor(indices, values, coo.shape, device=device, check_invariants=False).coalesce()
    return torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)).to(device)


def iterate_batches(num_rows: int, batch_size: int, *, generator: torch.Generator | None = None) -> Iterator[np.ndarray]:
    """Row indices of consecutive batches; shuffled with ``generator`` when given."""
    order = torch.randperm(num_rows, generator=generator).numpy() if generator is not None else np.arange(num_rows)
    for start in range(0, num_rows, batch_size):
        yield order[start : start + batch_size]


@torch.no_grad()
def predict_logits(model: LabelScoringModel, X: Matrix, *, batch_size: int, device: torch.device) -> np.ndarray:
    """Logits (rows, num_labels) of ``X``; the label embeddings are computed once, not per batch."""
    model.eval()
    label_embeddings, bias = model.label_embeddings(), model.bias
    chunks = [
        score_logits(model.encoder(to_tensor(X[rows], device)), label_embeddings, bias).cpu().numpy()
        for rows in iterate_batches(X.shape[0], batch_size)
    ]
    return np.concatenate(chunks, axis=0)


def positive_weights(Y: Matrix, power: float, missing: Matrix | None = None) -> Tensor:
    """Per-label weights ``max(1, negatives / positives) ** power`` for the positive terms of the loss, (num_labels,).

    Rare labels otherwise learn to stay below any decision threshold: with ``power = 0.5`` macro-F1 rose on 7 of 9
    Mulan data sets (genbase 0.67 -> 0.72, enron 0.18 -> 0.23; the other two fell by 0.2 and 0.5 points) at the same
    mean mAP (benchmarks/results/model_selection.md).
    Counts are over known label values (``missing`` marks unknown ones); a label with no positive gets weight 1.
    """
    Y = sp.csr_matrix(Y, dtype=np.float64)
    known = np.full(Y.shape[1], float(Y.shape[0]))
    if missing is not None:
        known -= np.asarray(sp.csr_matrix(missing, dtype=np.float64).sum(axis=0)).ravel()
    positives = np.asarray(Y.sum(axis=0)).ravel()
    ratio = np.divide(known - positives, positives, out=np.ones_like(positives), where=positives > 0)
    return torch.from_numpy(np.maximum(ratio, 1.0) ** power).float()


@dataclass
class TrainingResult:
    """What a training run reports: the epoch kept, its validation mAP, and per-epoch history."""

    best_epoch: int
    best_validation_map: float
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)


def train_model(
    model: LabelScoringModel,
    X_train: Matrix,
    Y_train: Matrix,
    X_validation: Matrix,
    Y_validation: Matrix,
    *,
    learning_rate: float,
    weight_decay: float,
    batch_size: int,
    max_epochs: int,
    patience: int,
    device: torch.device,
    generator: torch.Generator,
    progress: bool = True,
    checkpoint: Path | None = None,
    resume: bool = False,
    missing_train: Matrix | None = None,
    missing_validation: Matrix | None = None,
    pos_weight: Tensor | None = None,
) -> TrainingResult:
    """Train ``model`` in place and leave it with the weights of its best validation epoch.

    Args:
        model: a :class:`~gnn_mlc.model.LabelGCNModel` or :class:`~gnn_mlc.model.IndependentLabelModel`.
        X_train, Y_train: (rows, features) and (rows, num_labels) training arrays (dense or CSR).
        X_validation, Y_validation: the held-out rows used for early stopping (mAP, higher is better).
        learning_rate, weight_decay: AdamW settings.
        batch_size: rows per step.
        max_epochs: upper bound on epochs.
        patience: stop after this many epochs without a better validation mAP.
        device: where to train.
        generator: seeded CPU generator for shuffling.
        progress: show a tqdm bar (one step per epoch, with loss and validation mAP) on stderr.
        checkpoint: write the training state here after every epoch (see :mod:`gnn_mlc.checkpoint`).
        resume: start from ``checkpoint`` when it exists; the run then ends as an uninterrupted one would.
        missing_train, missing_validation: 1 where a label value is unknown: left out of the loss and of the
            validation mAP.
        pos_weight: (num_labels,) weight of each label's positive terms in the loss (see :func:`positive_weights`).

    Returns:
        A :class:`TrainingResult`.
    """
    model.to(device)
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank, world_size = (torch.distributed.get_rank(), torch.distributed.get_world_size()) if distributed else (0, 1)
    trained = model
    if distributed:
        device_ids = [device.index if device.index is not None else torch.cuda.current_device()] \
            if device.type == "cuda" else None
        trained = torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=learning_rate, weight_decay=weight_decay)
    num_labels = Y_train.shape[1]
    pos_weight = None if pos_weight is None else pos_weight.float().to(device)
    Y_validation_dense = Y_validation.toarray() if sp.issparse(Y_validation) else np.asarray(Y_validation)
    best_map, best_epoch, best_state = -1.0, 0, copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    first_epoch = 1
    if resume and checkpoint is not None and checkpoint.exists():
        state = load_checkpoint(checkpoint)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        best_map, best_epoch, best_state = state["best_map"], state["best_epoch"], state["best_state"]
        history, first_epoch = state["history"], state["epoch"] + 1
        logger.info("resuming from %s after epoch %d", checkpoint, state["epoch"])
    stopped = first_epoch > 1 and first_epoch - 1 - best_epoch >= patience
    bar = tqdm(range(first_epoch, max_epochs + 1 if not stopped else first_epoch), desc="training", unit="epoch",
               disable=not progress or rank != 0, mininterval=1.0, initial=first_epoch - 1, total=max_epochs)
    for epoch in bar:
        trained.train()
        total_loss, total_rows = 0.0, 0
        for rows in iterate_batches(X_train.shape[0], batch_size, generator=generator):
            mine = rows[rank::world_size]
            targets = Y_train[mine]
            targets = torch.from_numpy(targets.toarray() if sp.issparse(targets) else targets).float().to(device)
            losses = F.binary_cross_entropy_with_logits(trained(to_tensor(X_train[mine], device)), targets,
                                                        reduction="none", pos_weight=pos_weight)
            if missing_train is not None:  # unknown label values add nothing to the loss
                unknown = missing_train[mine]
                losses = losses * (1.0 - torch.from_numpy(
                    unknown.toarray() if sp.issparse(unknown) else np.asarray(unknown)).float().to(device))
            loss_sum = losses.sum()
            loss = loss_sum * (world_size / (len(rows) * num_labels))  # see the module docstring
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += float(loss_sum.detach()) / num_labels
            total_rows += len(mine)
        logits = predict_logits(model, X_validation, batch_size=max(batch_size, 1024), device=device)
        validation_map = mean_average_precision(Y_validation_dense, logits, missing=missing_validation)
        loss_mean = total_loss / max(total_rows, 1)  # this rank's rows
        history.append({"epoch": epoch, "loss": loss_mean, "validation_map": validation_map})
        bar.set_postfix(loss=f"{loss_mean:.4f}", val_map=f"{validation_map:.4f}", refresh=False)
        if validation_map > best_map:
            best_map, best_epoch, best_state = validation_map, epoch, copy.deepcopy(model.state_dict())
        if checkpoint is not None and rank == 0:
            save_checkpoint(checkpoint, {
                "epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "best_state": best_state, "best_map": best_map, "best_epoch": best_epoch, "history": history,
                "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
            })
        if epoch - best_epoch >= patience:
            logger.info("early stopping at epoch %d; best epoch %d (validation mAP %.4f)", epoch, best_epoch, best_map)
            break
    bar.close()
    if distributed:
        # Drop the DDP wrapper and optimizer before the process group is destroyed: a live gloo reducer can
        # deadlock the teardown.
        del trained, optimizer
        gc.collect()
    model.load_state_dict(best_state)
    model.eval()
    return TrainingResult(best_epoch=best_epoch, best_validation_map=best_map, epochs_run=len(history),
                          history=history)
