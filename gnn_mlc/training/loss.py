"""The training objective's per-label parts: positive weights of the loss, the starting biases, and the labels a
sampled-negatives step scores."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from gnn_mlc._typing import Matrix


def positive_weights(Y: Matrix, power: float, missing: Matrix | None = None) -> Tensor:
    """Per-label weights ``max(1, negatives / positives) ** power`` for the positive terms of the loss, (num_labels,).

    Rare labels otherwise learn to stay below any decision threshold. ``power = 0.5`` was chosen on the test figures
    of an earlier protocol (benchmarks/results/model_selection.md) and holds on development rows
    (benchmarks/results/training_choices_dev.md, 11 sets x 3 seeds, the features-only network): against plain BCE
    (``power = 0``) and ``power = 1``, its mean mAP is higher by 0.5 and 1.6 points, micro-F1 by 0.8 and 6.0,
    macro-F1 by 3.2 and 1.4 (``power = 0`` has the better mAP on 6 of the 11 sets, the better macro-F1 on none).
    Counts are over known label values (``missing`` marks unknown ones); a label with no positive gets weight 1.
    """
    Y = sp.csr_matrix(Y, dtype=np.float64)
    known = np.full(Y.shape[1], float(Y.shape[0]))
    if missing is not None:
        known -= np.asarray(sp.csr_matrix(missing, dtype=np.float64).sum(axis=0)).ravel()
    positives = np.asarray(Y.sum(axis=0)).ravel()
    ratio = np.divide(known - positives, positives, out=np.ones_like(positives), where=positives > 0)
    return torch.from_numpy(np.maximum(ratio, 1.0) ** power).float()


def log_odds_bias(Y: Matrix) -> Tensor:
    """(num_labels,) float32 log-odds of each label's training frequency, clipped to [1/2n, 1 - 1/2n].

    The starting bias of every label: with a zero bias the first epochs only learn that most labels are rare, and
    early stopping on a small validation set can then stop before the features are used at all (seen on medical,
    stopping at epoch 1).
    """
    num_rows = Y.shape[0]
    frequency = np.asarray(Y.sum(axis=0), dtype=np.float64).ravel() / num_rows
    frequency = np.clip(frequency, 0.5 / num_rows, 1.0 - 0.5 / num_rows)
    return torch.from_numpy(np.log(frequency / (1.0 - frequency))).float()


def sample_label_columns(targets: Matrix, samples: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """The labels one sampled-negatives training step scores, and each one's weight in the loss.

    Every label positive in the batch ``targets`` (rows, num_labels) is scored (weight 1: every row's loss on it is
    exact), then ``samples`` of the other labels drawn uniformly with replacement, each weighted ``(L - |P|) /
    samples``, so the weighted sum is an unbiased estimate of the loss summed over all ``L`` labels. At 50,000 labels
    8,192 samples trained to the same P@5 as the full loss in 2.8x less time on 2 CPU cores (3.6x on a GPU), 2,048
    lost 4 points, after one epoch, one seed, on synthetic data (benchmarks/results/sampled_loss_cpu.md,
    sampled_loss_cuda.md).

    Args:
        targets: (rows, num_labels) 0/1 labels of the batch, dense or CSR.
        samples: how many other labels to draw.
        generator: the training generator (seeded and checkpointed with the run).

    Returns:
        ``columns`` (n,) int64 label indices (positives first) and ``weights`` (n,) float32.
    """
    num_labels = targets.shape[1]
    positive = torch.from_numpy(np.flatnonzero(np.asarray((targets != 0).sum(axis=0)).ravel()).astype(np.int64))
    mask = torch.ones(num_labels, dtype=torch.bool)
    mask[positive] = False
    others = torch.nonzero(mask).ravel()
    samples = samples if len(others) else 0
    drawn = others[torch.randint(max(len(others), 1), (samples,), generator=generator)]
    weights = torch.cat([torch.ones(len(positive)),
                         torch.full((samples,), (num_labels - len(positive)) / max(samples, 1))])
    return torch.cat([positive, drawn]), weights.float()
