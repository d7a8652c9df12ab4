"""Baselines that any recommender must beat, behind the face :func:`~gnn_mlc.evaluation.report.evaluate_classifier`
reads (:class:`~gnn_mlc.fitted.ScoringModel`: ``label_names``, ``feature_names``, ``label_counts``,
``decision_rule``, ``has_known_term``, ``predict_proba``).

* :class:`PopularityBaseline`: every row gets the training label frequencies as scores, so its ranking is the
  labels by popularity; decisions are the ``round(training label cardinality)`` most popular labels (at least one).
  Label-wise mAP can hide that a ranking is mostly popularity, so ``gnn-mlc evaluate`` shows it beside every
  model.
* :class:`ItemKNNBaseline` and :class:`EASEBaseline`: the item-item anchors of recommendation, scoring a row from
  its known labels (a user's history) with the model's own training co-occurrence counts ``G`` (the training rows
  and the label-only log, ``FittedModel.cooccurrence``): ItemKNN's cosine
  ``S = G / sqrt(g_i g_j)`` (no self-similarity), EASE^R's closed form ``P = (G + lambda I)^-1``,
  ``B = I - P / diag(P)`` (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019; lambda 100,
  dense, at most :data:`MAX_EASE_LABELS` labels); ``score = known @ S`` (or ``@ B``), popularity breaking ties (a
  row without history is ranked by popularity).
* :class:`HistoryBaseline`: a row's own known labels first (by popularity), then the others by popularity: what
  re-recommending the history gives. Every other model has the known labels left out of its figures (they are
  never recommended), which would make this anchor popularity itself; so its figures count them
  (``counts_known``): read it as how much of the targets a user already had, a sanity anchor, not a competitor.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import Matrix
from gnn_mlc.errors import GnnMlcError
from gnn_mlc.thresholds import DecisionRule

if TYPE_CHECKING:
    from gnn_mlc.fitted import FittedModel

MAX_EASE_LABELS = 20_000
"""EASE^R inverts a dense (labels, labels) matrix: 20,000 labels take 3.2 GB in float64 and minutes of CPU."""
EASE_REGULARISATION = 100.0
"""EASE^R's lambda: the value its paper reports as robust on MovieLens-scale data."""


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


class ItemItemBaseline(PopularityBaseline):
    """Scores ``known @ weights`` (rows, num_labels) plus a popularity tie-break: the face of the item-item
    baselines (see the module docstring), which take the known labels as evidence.

    Args:
        label_names, label_counts, num_rows, feature_names: as :class:`PopularityBaseline`.
        weights: (num_labels, num_labels) item-item weights, ``w[j, t]`` from known label ``j`` to label ``t``.
    """

    has_known_term = True
    counts_known = False

    def __init__(self, label_names: Sequence[str], label_counts: np.ndarray, num_rows: int,
                 feature_names: Sequence[str] | None, weights: np.ndarray | sp.csr_matrix) -> None:
        super().__init__(label_names, label_counts, num_rows, feature_names)
        self.weights = weights

    def predict_proba(self, X: Matrix, *, known: Matrix | None = None) -> np.ndarray:
        """(rows, num_labels) float32 ``known @ weights + 1e-6 * frequency`` (rank scores, not probabilities).

        Raises:
            GnnMlcError: no known labels (the baseline scores from them).
        """
        if known is None:
            raise GnnMlcError("baseline: itemknn, ease and history score a row from its known labels; expected the "
                              "data's known-label column. Hint: add --known-column, or use --baseline popularity")
        scores = sp.csr_matrix(known, dtype=np.float32) @ self.weights
        scores = scores.toarray() if sp.issparse(scores) else np.asarray(scores)
        return (scores + 1e-6 * self.frequency).astype(np.float32)


def itemknn_baseline(model: FittedModel) -> ItemItemBaseline:
    """ItemKNN on ``model``'s co-occurrence counts ``G``: cosine ``S = G / sqrt(g_i g_j)``, zero diagonal."""
    G = sp.csr_matrix(model.cooccurrence, dtype=np.float64)
    norms = np.sqrt(np.maximum(G.diagonal(), 1.0))
    S = sp.csr_matrix(sp.diags(1.0 / norms) @ G @ sp.diags(1.0 / norms))
    S.setdiag(0.0)
    S.eliminate_zeros()
    return ItemItemBaseline(model.label_names, model.label_counts, model.num_rows, model.feature_names,
                            S.astype(np.float32))


def ease_baseline(model: FittedModel, *, regularisation: float = EASE_REGULARISATION) -> ItemItemBaseline:
    """EASE^R on ``model``'s co-occurrence counts: ``P = (G + lambda I)^-1``, ``B = I - P / diag(P)`` (columns).

    Raises:
        GnnMlcError: more than :data:`MAX_EASE_LABELS` labels.
    """
    num_labels = len(model.label_names)
    if num_labels > MAX_EASE_LABELS:
        raise GnnMlcError(f"baseline ease: the model has {num_labels:,} labels; expected at most "
                          f"{MAX_EASE_LABELS:,} (a dense inverse). Hint: use --baseline itemknn")
    G = sp.csr_matrix(model.cooccurrence, dtype=np.float64).toarray()
    P = np.linalg.inv(G + regularisation * np.eye(num_labels))
    B = np.eye(num_labels) - P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return ItemItemBaseline(model.label_names, model.label_counts, model.num_rows, model.feature_names,
                            B.astype(np.float32))


def history_baseline(model: FittedModel) -> ItemItemBaseline:
    """A row's known labels first (ties by popularity), then the rest by popularity; its figures count the known
    labels (``counts_known``): see the module docstring."""
    baseline = ItemItemBaseline(model.label_names, model.label_counts, model.num_rows, model.feature_names,
                                sp.identity(len(model.label_names), dtype=np.float32, format="csr"))
    baseline.counts_known = True
    return baseline
