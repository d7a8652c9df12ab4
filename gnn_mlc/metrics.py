"""Multi-label evaluation: example, label and ranking metrics on (rows, num_labels) arrays.

Conventions: F1 figures use ``zero_division=0`` (scikit-learn); ``map`` is the mean over labels of average
precision, over the labels that have at least one positive in ``y_true`` (the others are counted in
``map_labels_excluded``); ``p@k`` is the mean over rows of (true labels among the k best scored) / k.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn import metrics as sk_metrics

from gnn_mlc.data.dataset import Matrix
from gnn_mlc.errors import DataError


def average_precision_per_label(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """(num_labels,) average precision of each label; NaN for labels with no positive in ``y_true``."""
    result = np.full(y_true.shape[1], np.nan)
    for label in np.flatnonzero(y_true.any(axis=0)):
        result[label] = sk_metrics.average_precision_score(y_true[:, label], y_score[:, label])
    return result


def mean_average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Mean over labels with a positive of their average precision (0.0 when no label has one)."""
    per_label = average_precision_per_label(y_true, y_score)
    return float(np.nanmean(per_label)) if np.isfinite(per_label).any() else 0.0


def precision_at_k(y_true: np.ndarray, y_score: np.ndarray, k: int) -> float:
    """Mean over rows of |true labels among the top-k scores| / k."""
    k = min(k, y_score.shape[1])
    top = np.argpartition(-y_score, k - 1, axis=1)[:, :k]
    return float(np.take_along_axis(y_true, top, axis=1).sum(axis=1).mean() / k)


def evaluate(
    y_true: Matrix,
    y_score: np.ndarray,
    *,
    y_pred: np.ndarray | None = None,
    ks: Sequence[int] = (1, 3, 5),
) -> dict[str, float]:
    """All headline metrics in one flat dict.

    Args:
        y_true: (rows, num_labels) 0/1 ground truth, ndarray or sparse.
        y_score: (rows, num_labels) scores (probabilities or logits: only their order matters for ranking metrics).
        y_pred: (rows, num_labels) 0/1 decisions; default ``y_score >= 0.5``.
        ks: the k of ``p@k``.

    Returns:
        ``hamming_loss``, ``subset_accuracy``, ``{micro,macro}_{precision,recall,f1}``, ``samples_f1``, ``map``,
        ``map_labels_excluded``, ``lrap`` and ``p@k`` for each k.
    """
    y_true = y_true.toarray() if sp.issparse(y_true) else np.asarray(y_true)
    y_score = np.asarray(y_score, dtype=np.float64)
    y_pred = (y_score >= 0.5).astype(np.uint8) if y_pred is None else np.asarray(y_pred)
    if not (y_true.shape == y_score.shape == y_pred.shape) or y_true.ndim != 2:
        raise DataError(
            f"y_true {y_true.shape}, y_score {y_score.shape} and y_pred {y_pred.shape}; "
            "expected three 2-D arrays of the same (rows, num_labels) shape"
        )
    if y_true.shape[0] == 0:
        raise DataError("y_true: no rows; expected at least one row to evaluate")
    result: dict[str, float] = {
        "hamming_loss": float(sk_metrics.hamming_loss(y_true, y_pred)),
        "subset_accuracy": float(sk_metrics.accuracy_score(y_true, y_pred)),
    }
    for average in ("micro", "macro"):
        precision, recall, f1, _ = sk_metrics.precision_recall_fscore_support(
            y_true, y_pred, average=average, zero_division=0
        )
        result.update({f"{average}_precision": float(precision), f"{average}_recall": float(recall),
                       f"{average}_f1": float(f1)})
    result["samples_f1"] = float(sk_metrics.f1_score(y_true, y_pred, average="samples", zero_division=0))
    result["map"] = mean_average_precision(y_true, y_score)
    result["map_labels_excluded"] = int((~y_true.any(axis=0)).sum())
    result["lrap"] = float(sk_metrics.label_ranking_average_precision_score(y_true, y_score))
    for k in ks:
        result[f"p@{k}"] = precision_at_k(y_true, y_score, k)
    return result
