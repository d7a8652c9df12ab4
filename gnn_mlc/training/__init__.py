"""Training: the loop (early stopping, checkpoints, data-parallel under torchrun) and the objective's parts."""

from gnn_mlc.training.checkpoint import Checkpoint
from gnn_mlc.training.loop import (
           TrainingResult,
           TrainingSettings,
           TrainingSplit,
           train_model,
)
from gnn_mlc.training.loss import log_odds_bias, positive_weights

__all__ = ["Checkpoint", "TrainingResult", "TrainingSettings", "TrainingSplit", "log_odds_bias",
           "positive_weights", "train_model"]
