"""Evaluation: every multi-label metric (checked against scikit-learn) and the reports built from them."""

from gnn_mlc.evaluation.metrics import (
    evaluate,
    mean_average_precision,
    per_label_metrics,
    tail_labels,
)

__all__ = ["evaluate", "mean_average_precision", "per_label_metrics", "tail_labels"]
