"""Decision strategies: how scores (probabilities) become 0/1 label decisions.

* ``fixed``: every label at ``threshold`` (0.5 by default).
* ``global`` (the estimator's default): one threshold for all labels, the one that maximises micro-F1 on the
  validation rows: one parameter fitted on all validation scores does not overfit a small validation split. It was
  made the default on the test figures of an earlier protocol; on development rows
  (``benchmarks/results/thresholds_dev.md``: eight Mulan sets, seeds 10-12) it has the best mean micro-F1 (0.613;
  ``pcut`` 0.610, ``fixed`` 0.588, ``per_label`` 0.582) and example-F1 of the five strategies.
* ``per_label``: each label's own threshold, the one that maximises its F1 on the validation rows; a label with fewer
  than ``min_positives`` validation positives keeps the tuned global threshold, since an F1 optimum over one or two
  positives is noise. It gives the best macro-F1 when the validation split is large enough.
* ``pcut``: one threshold chosen so that the validation rows receive, on average, the training label cardinality
  (Yang, 2001, "proportional cut").
* ``top_k``: the ``k`` best-scored labels of every row, whatever their score.

With ``at_least_one=True`` a row that would get no label gets its best-scored one.

Every tuned threshold is the midpoint between the lowest score it accepts and the next lower score, so it does not
sit on a validation score.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from gnn_mlc._typing import STRATEGIES, Strategy
from gnn_mlc.errors import DataError


@dataclass(frozen=True)
class DecisionRule:
    """A fitted decision strategy: per-label thresholds, or top-k.

    Attributes:
        strategy: which strategy produced it (see the module docstring).
        thresholds: (num_labels,) float32: label j is given when its score >= thresholds[j] (unused by top_k).
        k: labels per row for ``top_k``.
        at_least_one: give each row its best label when nothing passes.
        default: the threshold of a label with no validation evidence (the tuned global one; the fixed one), given
            to labels added later.
    """

    strategy: Strategy
    thresholds: np.ndarray
    k: int = 1
    at_least_one: bool = False
    default: float = 0.5

    def extended(self, count: int) -> DecisionRule:
        """This rule for ``count`` more labels, each with the default threshold."""
        thresholds = np.concatenate([self.thresholds, np.full(count, self.default, dtype=np.float32)])
        return DecisionRule(strategy=self.strategy, thresholds=thresholds, k=self.k, at_least_one=self.at_least_one,
                            default=self.default)

    def decide(self, y_score: np.ndarray) -> np.ndarray:
        """0/1 decisions (rows, num_labels) uint8 for scores (rows, num_labels)."""
        if self.strategy == "top_k":
            k = min(self.k, y_score.shape[1])
            decisions = np.zeros(y_score.shape, dtype=np.uint8)
            best = np.argpartition(-y_score, k - 1, axis=1)[:, :k]
            np.put_along_axis(decisions, best, 1, axis=1)
            return decisions
        decisions = (y_score >= self.thresholds).astype(np.uint8)
        if self.at_least_one and y_score.shape[0]:
            empty = ~decisions.any(axis=1)
            decisions[empty, np.argmax(y_score[empty], axis=1)] = 1
        return decisions

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "k": self.k, "at_least_one": self.at_least_one,
                "default": float(self.default), "thresholds": [float(value) for value in self.thresholds]}

    @classmethod
    def from_json(cls, value: dict[str, Any], *, num_labels: int) -> DecisionRule:
        """Validate and rebuild a rule written by :meth:`to_json`."""
        strategy = value.get("strategy")
        thresholds = np.asarray(value.get("thresholds", []), dtype=np.float32)
        k, at_least_one, default = value.get("k", 1), value.get("at_least_one", False), value.get("default", 0.5)
        if (strategy not in STRATEGIES or thresholds.shape != (num_labels,) or not np.isfinite(thresholds).all()
                or not isinstance(k, int) or k < 1 or not isinstance(at_least_one, bool)
                or not isinstance(default, (int, float)) or not np.isfinite(default)):
            raise DataError(
                f"thresholds: strategy {strategy!r}, {thresholds.shape[0] if thresholds.ndim else 0} thresholds, "
                f"k={k!r}; expected one of {', '.join(STRATEGIES)}, {num_labels} finite thresholds, k >= 1"
            )
        return cls(strategy=strategy, thresholds=thresholds, k=k, at_least_one=at_least_one, default=float(default))


def fit_decision_rule(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    strategy: Strategy = "global",
    threshold: float = 0.5,
    k: int = 1,
    at_least_one: bool = False,
    train_cardinality: float | None = None,
    min_positives: int = 3,
    missing: np.ndarray | None = None,
) -> DecisionRule:
    """Fit a decision strategy on validation labels ``y_true`` and scores ``y_score``, both (rows, num_labels).

    Args:
        strategy: see the module docstring.
        threshold: the ``fixed`` threshold.
        k: labels per row for ``top_k``.
        at_least_one: give each row at least its best label.
        train_cardinality: mean labels per training row, required by ``pcut``.
        min_positives: ``per_label`` tunes only labels with at least this many validation positives.
        missing: 1 where a validation label value is unknown; those entries are left out of the tuning.

    Returns:
        The fitted :class:`DecisionRule`.
    """
    if strategy not in STRATEGIES:
        raise DataError(f"strategy: got {strategy!r}; expected one of {', '.join(STRATEGIES)}")
    num_labels = y_score.shape[1]
    known = np.ones(y_score.shape, dtype=bool) if missing is None else ~(
        missing.toarray() if hasattr(missing, "toarray") else np.asarray(missing)).astype(bool)
    if strategy in ("fixed", "top_k"):
        default = threshold
    elif strategy == "pcut":
        if train_cardinality is None:
            raise DataError("train_cardinality: required by the 'pcut' strategy; expected the mean labels per row")
        default = cardinality_threshold(y_score, train_cardinality)
    else:  # global, and per_label's fallback
        default = best_f1_threshold(y_true[known], y_score[known])
    thresholds = np.full(num_labels, default, dtype=np.float32)
    if strategy == "per_label":
        for label in np.flatnonzero((y_true * known).sum(axis=0) >= min_positives):
            rows = known[:, label]
            thresholds[label] = best_f1_threshold(y_true[rows, label], y_score[rows, label])
    return DecisionRule(strategy=strategy, thresholds=thresholds, k=k, at_least_one=at_least_one,
                        default=float(thresholds.dtype.type(default)))


def best_f1_threshold_by_blocks(y_true: sp.csr_matrix, scores_of: Callable[[slice], np.ndarray], *,
                                missing: sp.csr_matrix | None = None, block_rows: int = 1024) -> float:
    """:func:`best_f1_threshold` over every (row, label) pair of ``y_true`` (rows, num_labels), without holding all
    scores: ``scores_of(rows)`` gives the (block, num_labels) scores of a slice of rows. Exact: F1 can only peak at a
    positive's score, so the candidates are the positives' scores and each pass counts, per candidate, the scores
    at or above it.
    """
    y_true = sp.csr_matrix(y_true, dtype=np.uint8)
    known = None if missing is None else 1 - sp.csr_matrix(missing, dtype=np.uint8).toarray()
    blocks = [slice(start, min(start + block_rows, y_true.shape[0])) for start in range(0, y_true.shape[0], block_rows)]
    positives = []
    for rows in blocks:
        scores, truth = scores_of(rows), y_true[rows].toarray() > 0
        if known is not None:
            truth &= known[rows] > 0
        positives.append(scores[truth])
    candidates = np.sort(np.concatenate(positives))  # ascending
    if not len(candidates):
        return 0.5
    at_or_above = np.zeros(len(candidates) + 1, dtype=np.int64)
    for rows in blocks:
        scores = scores_of(rows)
        if known is not None:
            scores = scores[known[rows] > 0]
        # how many candidates each score is at or above: it counts for every candidate up to that one
        at_or_above += np.bincount(np.searchsorted(candidates, scores.ravel(), side="right"),
                                   minlength=len(candidates) + 1)
    predicted = np.cumsum(at_or_above[::-1])[::-1][1:]  # scores >= candidates[i]
    true_positives = len(candidates) - np.searchsorted(candidates, candidates, side="left")
    f1 = 2 * true_positives / (predicted + len(candidates))
    best = candidates[int(np.argmax(f1))]
    below = max((float(block[block < best].max()) for block in (
        scores_of(rows)[known[rows] > 0] if known is not None else scores_of(rows).ravel() for rows in blocks)
        if (block < best).any()), default=best - 1e-6)
    return float((best + below) / 2)


def best_f1_threshold(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """The threshold that maximises F1 of decisions ``y_score >= t`` against ``y_true`` (1-D arrays).

    Candidates are the distinct scores; the result is the midpoint between the best accepted score and the next
    lower one. With no positive, the threshold lies above every score (nothing is predicted).
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_score = np.asarray(y_score, dtype=np.float64)
    if not y_true.any():
        return float(np.nextafter(np.float32(y_score.max()), np.float32(np.inf))) if y_score.size else 0.5
    order = np.argsort(-y_score, kind="stable")
    scores, truth = y_score[order], y_true[order]
    # Only the last position of each group of tied scores is a possible cut.
    ends = np.flatnonzero(np.append(scores[1:] != scores[:-1], True))
    true_positives = np.cumsum(truth)[ends]
    predicted = ends + 1
    f1 = 2 * true_positives / (predicted + truth.sum())
    best = int(np.argmax(f1))
    accepted = scores[ends[best]]
    below = scores[ends[best] + 1] if ends[best] + 1 < len(scores) else accepted - 1e-6
    return float((accepted + below) / 2)


def cardinality_threshold(y_score: np.ndarray, cardinality: float) -> float:
    """The threshold at which rows get ``cardinality`` labels on average (PCut over all scores)."""
    count = int(round(cardinality * y_score.shape[0]))
    flat = np.sort(y_score.ravel())[::-1]
    if count <= 0:
        return float(flat[0]) + 1e-6
    if count >= flat.size:
        return float(flat[-1])
    return float((flat[count - 1] + flat[count]) / 2)
