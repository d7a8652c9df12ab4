"""The training loop: mini-batch AdamW on weighted BCE-with-logits, early stopping on validation mAP.

Training is deterministic on CPU for a fixed seed: parameters are initialised and batches shuffled from a
seeded generator, and nothing else draws random numbers.

Data-parallel training: when a ``torch.distributed`` process group is initialised (``gnn-mlc train`` under
``torchrun`` does it, see :mod:`gnn_mlc.training.distributed`), the model is wrapped in ``DistributedDataParallel``
and every global batch (the same seeded permutation on every rank) is split across the ranks, each rank taking rows
``rank::world_size``. Each rank's loss is its BCE sum scaled by ``world_size / (global batch rows x num_labels)``, so
DDP's gradient average is exactly the gradient of the global batch mean: without dropout, training on N processes
follows single-process training up to floating-point summation order.
"""

from __future__ import annotations

import copy
import gc
import logging
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from gnn_mlc._torch import (
    dense_float,
    encode,
    iterate_batches,
    to_tensor,
)
from gnn_mlc._typing import Matrix
from gnn_mlc.evaluation.metrics import mean_average_precision_by_blocks
from gnn_mlc.nn.label_models import LabelScoringModel
from gnn_mlc.training.checkpoint import Checkpoint
from gnn_mlc.training.loss import sample_label_columns

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingSettings:
    """How to optimise: AdamW's ``learning_rate`` and ``weight_decay``, ``batch_size`` rows per step, at most
    ``max_epochs`` epochs, stopping after ``patience`` epochs without a better validation mAP; with
    ``negative_samples``, each step scores the batch's positive labels and that many others
    (:func:`~gnn_mlc.training.loss.sample_label_columns`), not every label."""

    learning_rate: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    patience: int
    negative_samples: int = 0


@dataclass(frozen=True)
class TrainingSplit:
    """The rows to train on and the held-out rows for early stopping.

    Attributes:
        X_train, Y_train: (rows, features) and (rows, num_labels) training arrays (dense or CSR).
        X_validation, Y_validation: the validation rows, same layout.
        missing_train, missing_validation: 1 where a label value is unknown: left out of the loss and of the
            validation mAP (``None``: every value is known).
    """

    X_train: Matrix
    Y_train: Matrix
    X_validation: Matrix
    Y_validation: Matrix
    missing_train: Matrix | None = None
    missing_validation: Matrix | None = None


@dataclass
class TrainingResult:
    """What a training run reports: the epoch kept, its validation score, and per-epoch history.

    The validation score is the mAP of the validation rows (``validation_metric`` names it).
    """

    best_epoch: int
    best_validation: float
    epochs_run: int
    history: list[dict[str, float]] = field(default_factory=list)
    validation_metric: str = "map"

    def to_metrics(self) -> dict[str, Any]:
        """The report as a model directory's ``metrics.json`` holds it."""
        return {"validation": self.best_validation, "validation_metric": self.validation_metric,
                "best_epoch": self.best_epoch, "epochs_run": self.epochs_run, "history": self.history}

    @classmethod
    def from_metrics(cls, metrics: dict[str, Any]) -> TrainingResult:
        """The report of a model directory's ``metrics.json`` (missing entries: zero, NaN, ``map``)."""
        return cls(best_epoch=int(metrics.get("best_epoch", 0)),
                   best_validation=float(metrics.get("validation") or float("nan")),
                   validation_metric=str(metrics.get("validation_metric", "map")),
                   epochs_run=int(metrics.get("epochs_run", 0)), history=list(metrics.get("history", [])))


@dataclass
class _Progress:
    """The loop's state between epochs: everything a checkpoint must restore."""

    best_map: float
    best_epoch: int
    best_state: dict[str, Tensor]
    history: list[dict[str, float]]
    epoch: int = 0

    def record(self, epoch: int, loss: float, validation: float, model: torch.nn.Module) -> None:
        self.epoch = epoch
        self.history.append({"epoch": epoch, "loss": loss, "validation": validation})
        if validation > self.best_map:
            self.best_map, self.best_epoch, self.best_state = validation, epoch, copy.deepcopy(model.state_dict())

    def stale(self, patience: int) -> bool:
        return self.epoch > 0 and self.epoch - self.best_epoch >= patience


def train_model(
    model: LabelScoringModel,
    split: TrainingSplit,
    settings: TrainingSettings,
    *,
    device: torch.device,
    generator: torch.Generator,
    pos_weight: Tensor | None = None,
    checkpoint: Checkpoint | None = None,
    progress: bool = True,
) -> TrainingResult:
    """Train ``model`` in place and leave it with the weights of its best validation epoch.

    Args:
        model: a :class:`~gnn_mlc.nn.LabelGCNModel` or :class:`~gnn_mlc.nn.IndependentLabelModel`.
        split: the training and validation rows.
        settings: optimiser, batch size and early stopping.
        device: where to train.
        generator: seeded CPU generator for shuffling.
        pos_weight: (num_labels,) weight of each label's positive terms in the loss
            (see :func:`~gnn_mlc.training.loss.positive_weights`).
        checkpoint: where to save the loop's state after every epoch, and whether to resume from it.
        progress: show a tqdm bar (one step per epoch, with the loss and the validation mAP early stopping
            watches, named in the bar) on stderr.

    Returns:
        A :class:`TrainingResult`.
    """
    network = model.to(device)
    rank, world_size = _rank_and_world_size()
    trained = _wrap_distributed(network, device) if _distributed() else network
    # fused: one kernel per parameter (8x faster on a 100,000 x 256 input layer than the per-tensor loop)
    optimizer = torch.optim.AdamW(trained.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay,
                                  fused=device.type in ("cpu", "cuda"))
    pos_weight = None if pos_weight is None else pos_weight.float().to(device)
    state = _Progress(best_map=-1.0, best_epoch=0, best_state=copy.deepcopy(network.state_dict()), history=[])
    if checkpoint is not None and checkpoint.resume and checkpoint.path.exists():
        state = _restore(checkpoint, network, optimizer, generator)
    remaining = range(state.epoch + 1, settings.max_epochs + 1) if not state.stale(settings.patience) else range(0)
    bar = tqdm(remaining, desc="training (early stopping on validation map)", unit="epoch",
               disable=not progress or rank != 0, mininterval=1.0, initial=state.epoch, total=settings.max_epochs)
    for epoch in bar:
        loss = _train_epoch(trained, optimizer, split, settings.batch_size, generator=generator, device=device,
                            pos_weight=pos_weight, rank=rank, world_size=world_size,
                            negative_samples=settings.negative_samples)
        validation = validation_score(
            model, split.X_validation, split.Y_validation, split.missing_validation,
            batch_size=max(settings.batch_size, 1024), device=device)
        state.record(epoch, loss, validation, network)
        bar.set_postfix({"loss": f"{loss:.4f}", "validation map": f"{validation:.4f}"}, refresh=False)
        if checkpoint is not None and rank == 0:
            _save(checkpoint, state, network, optimizer, generator)
        if state.stale(settings.patience):
            logger.info("early stopping at epoch %d; best epoch %d (validation map %.4f)", epoch, state.best_epoch,
                        state.best_map)
            break
    bar.close()
    if _distributed():
        # Drop the DDP wrapper and optimizer before the process group is destroyed: a live gloo reducer can
        # deadlock the teardown.
        del trained, optimizer
        gc.collect()
    network.load_state_dict(state.best_state)
    network.eval()
    return TrainingResult(best_epoch=state.best_epoch, best_validation=state.best_map,
                          epochs_run=len(state.history), history=state.history, validation_metric="map")


def _train_epoch(
    trained: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    split: TrainingSplit,
    batch_size: int,
    *,
    generator: torch.Generator,
    device: torch.device,
    pos_weight: Tensor | None,
    rank: int,
    world_size: int,
    negative_samples: int,
) -> float:
    """One pass over the shuffled training rows; returns this rank's mean loss per row and label (with
    ``negative_samples``, its unbiased estimate)."""
    trained.train()
    num_labels = split.Y_train.shape[1]
    total_loss, total_rows = 0.0, 0
    for rows in iterate_batches(split.X_train.shape[0], batch_size, generator=generator):
        mine = rows[rank::world_size]
        x, targets = to_tensor(split.X_train[mine], device), split.Y_train[mine]
        missing = None if split.missing_train is None else split.missing_train[mine]
        if negative_samples:  # the batch's positive labels and a weighted sample of the others, drawn from the
            # global batch: every rank scores the same columns and its generator stays in step with the others
            columns, weights = sample_label_columns(split.Y_train[rows] if world_size > 1 else targets,
                                                    negative_samples, generator)
            targets, missing = targets[:, columns.numpy()], None if missing is None else missing[:, columns.numpy()]
            columns = columns.to(device)
            logits = trained(x, columns)
            losses = F.binary_cross_entropy_with_logits(
                logits, dense_float(targets, device), reduction="none",
                pos_weight=None if pos_weight is None else pos_weight[columns]) * weights.to(device)
        else:
            losses = F.binary_cross_entropy_with_logits(trained(x), dense_float(targets, device), reduction="none",
                                                        pos_weight=pos_weight)
        if missing is not None:  # unknown label values add nothing to the loss
            losses = losses * (1.0 - dense_float(missing, device))
        loss_sum = losses.sum()
        loss = loss_sum * (world_size / (len(rows) * num_labels))  # see the module docstring
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total_loss += float(loss_sum.detach()) / num_labels
        total_rows += len(mine)
    return total_loss / max(total_rows, 1)


def validation_score(
    model: LabelScoringModel, X: Matrix, Y: Matrix, missing: Matrix | None, *, batch_size: int, device: torch.device,
) -> float:
    """The model's early-stopping score on validation rows ``X`` (rows, features), ``Y`` (rows, num_labels): their
    mAP, computed label block by label block (unknown values left out)."""
    with torch.no_grad():
        model.eval()
        encodings = torch.from_numpy(encode(model.encoder, X, batch_size=batch_size, device=device))
        vectors, bias = model.label_embeddings().detach().cpu(), model.bias.detach().cpu()
    return mean_average_precision_by_blocks(
        Y, lambda columns: torch.addmm(bias[columns], encodings, vectors[columns].t()).numpy(), Y.shape[1],
        missing=missing)


def _distributed() -> bool:
    """Whether a process group is joined (torchrun): training then goes through ``DistributedDataParallel``."""
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def _rank_and_world_size() -> tuple[int, int]:
    if _distributed():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _wrap_distributed(model: LabelScoringModel, device: torch.device) -> torch.nn.Module:
    device_ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def _save(checkpoint: Checkpoint, state: _Progress, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
          generator: torch.Generator) -> None:
    checkpoint.save({
        "epoch": state.epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "best_state": state.best_state, "best_map": state.best_map, "best_epoch": state.best_epoch,
        "history": state.history, "generator": generator.get_state(), "torch_rng": torch.get_rng_state(),
    })


def _restore(checkpoint: Checkpoint, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             generator: torch.Generator) -> _Progress:
    saved: dict[str, Any] = checkpoint.load()
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    generator.set_state(saved["generator"])
    torch.set_rng_state(saved["torch_rng"])
    logger.info("resuming from %s after epoch %d", checkpoint.path, saved["epoch"])
    return _Progress(best_map=saved["best_map"], best_epoch=saved["best_epoch"], best_state=saved["best_state"],
                     history=saved["history"], epoch=saved["epoch"])
