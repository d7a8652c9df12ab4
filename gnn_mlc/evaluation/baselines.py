"""Baselines that any recommender must beat, behind the face :func:`~gnn_mlc.evaluation.report.evaluate_classifier`
reads (:class:`~gnn_mlc.fitted.ScoringModel`: ``label_names``, ``feature_names``, ``label_counts``,
``decision_rule``, ``has_known_term``, ``predict_proba``).

* :class:`PopularityBaseline`: every row gets the training label frequencies as scores, so its ranking is the
  labels by popularity; decisions are the ``round(training label cardinality)`` most popular labels (at least one).
  Label-wise mAP can hide that a ranking is mostly popularity, so ``gnn-mlc evaluate`` shows it beside every
  model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gnn_mlc._typing import Matrix
from gnn_mlc.thresholds import DecisionRule


class PopularityBaseline:
    """Scores every row with the training label frequencies ``label_counts / num_rows``.

    Args:
        label_names: the ``num_labels`` label names.
        label_counts: (num_labels,) training positives per label.
        num_rows: number of training rows the counts come from.
        feature_names: the feature names of the model it stands beside (the data is aligned to them).
    """

    has_known_term = False

    def __init__(self, label_names: Sequence[str], label_counts: np.ndarray, num_rows: int,
                 feature_names: Sequence[str] | None = None) -> None:
        self.label_names = [str(name) for name in label_names]
        self.label_counts = np.asarray(label_counts, dtype=np.int64)
        self.frequency = (self.label_counts / max(num_rows, 1)).astype(np.float32)
        self.feature_names = None if feature_names is None else list(feature_names)
        cardinality = float(self.label_counts.sum()) / max(num_rows, 1)
        self.decision_rule = DecisionRule(strategy="top_k", thresholds=np.full(len(self.label_names), 0.5, np.float32),
                                          k=max(1, int(round(cardinality))))

    def predict_proba(self, X: Matrix, *, known: Matrix | None = None) -> np.ndarray:
        """(rows, num_labels) float32: the training frequencies, the same for every row (``known`` is ignored)."""
        return np.tile(self.frequency, (X.shape[0], 1))
