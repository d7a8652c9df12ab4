"""Multi-label evaluation: example-based, label-based and ranking metrics, vectorised and chunked.

Every figure scikit-learn also computes equals it (tests check to 1e-6). We compute them ourselves because
scikit-learn's ranking metrics loop over rows in Python (minutes at 200k rows x 1000 labels); here rows and labels are
processed in bounded chunks with batched sorts, so memory stays a few hundred MB above the inputs.

Conventions (``y_true``, ``y_pred`` 0/1; ``y_score`` any real scores; N rows, L labels):

* ``hamming_loss``: wrong (row, label) decisions / (N L). ``subset_accuracy``: rows whose decisions are all right.
* ``{micro,macro}_{precision,recall,f1}``, ``samples_f1``, ``jaccard_samples``: as scikit-learn with
  ``zero_division=0``: macro averages every label, also those with no positive and no prediction (scoring 0).
* ``map``: mean over labels of average precision (scikit-learn's step-wise AP, tied scores form one step), over the
  labels with at least one positive in ``y_true``; the others are counted in ``map_labels_excluded``.
* ``lrap``: label ranking average precision (a row with no or all labels scores 1, as in scikit-learn).
* ``coverage``: scikit-learn's ``coverage_error``: mean over rows of how far down the ranking one must go to cover all
  true labels, counting from 1 and counting ties pessimistically; a row with no label counts 0. Mulan's coverage is
  this minus 1.
* ``ranking_loss``: scikit-learn's ``label_ranking_loss``: share of (true, false) label pairs with the false label
  scored at least as high; rows with no or all labels count 0.
* ``one_error``: share of rows, among those with at least one label, whose top-scored label is false.
* ``p@k``: mean over all rows of (true labels among the k best scored) / k. ``r@k``: the same divided by the row's
  number of true labels instead of k, over rows with at least one label. ``ndcg@k``: binary-gain nDCG@k over rows with
  at least one label (scikit-learn's ``ndcg_score`` on those rows).
* Ties in top-k rankings are broken by label order (the lower column index first).
* ``tail_map``, ``tail_macro_f1`` (with ``train_counts``): ``map`` and ``macro_f1`` over the third of labels
  (at least one) with the fewest training positives.
* Unknown label values (``missing``, MEKA's ``?``) are left out of every figure: they are neither true nor false,
  count in no denominator (Hamming loss divides by the known entries), and rank below every known label. A label
  with no known value at all (one the evaluation data lacks) is left out like an absent column: of the label
  averages (macro, ``map``, tail) too, and its per-label precision, recall and F1 are NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import scipy.sparse as sp
import torch

from gnn_mlc._typing import Matrix
from gnn_mlc.errors import DataError

_CHUNK_ELEMENTS = 1 << 22  # ~4M scores per chunk: 16 MB of float32, ~100 MB of sort workspace


def evaluate(
    y_true: Matrix,
    y_score: np.ndarray,
    *,
    y_pred: Matrix | None = None,
    ks: Sequence[int] = (1, 3, 5, 10),
    train_counts: np.ndarray | None = None,
    missing: Matrix | None = None,
) -> dict[str, float]:
    """Every headline metric in one flat dict (see the module docstring for each convention).

    Args:
        y_true: (N, L) 0/1 ground truth, ndarray or SciPy sparse.
        y_score: (N, L) scores; only their order matters for the ranking metrics.
        y_pred: (N, L) 0/1 decisions; default ``y_score >= 0.5``.
        ks: the k of ``p@k``, ``r@k`` and ``ndcg@k``.
        train_counts: (L,) training positives per label, for ``tail_map`` and ``tail_macro_f1``.
        missing: (N, L) 1 where the true value is unknown; those entries are left out of every figure, and a label
            with no known value at all is evaluated as if its column were absent.

    Returns:
        ``{metric name: value}``.

    Raises:
        DataError: the arrays' shapes disagree, scores are not finite, or no label value is known.
    """
    y_true, y_score, y_pred = _check(y_true, y_score, y_pred)
    if train_counts is not None:
        train_counts = np.asarray(train_counts)
        if train_counts.shape != (y_true.shape[1],):
            raise DataError(f"train_counts: shape {train_counts.shape}; expected ({y_true.shape[1]},), one per label")
    missing = None if missing is None else _dense(missing).astype(bool)
    if missing is not None and missing.shape == y_score.shape and missing.all(axis=0).any():
        # A label with no known value is evaluated as if its column were absent.
        keep = np.flatnonzero(~missing.all(axis=0))
        if keep.size == 0:
            raise DataError("missing: every label value is unknown; expected at least one known value to evaluate")
        return evaluate(y_true[:, keep], y_score[:, keep], y_pred=y_pred[:, keep], ks=ks, missing=missing[:, keep],
                        train_counts=None if train_counts is None else train_counts[keep])
    y_true, y_score, y_pred, known = _mask_missing(y_true, y_score, y_pred, missing)
    per_label = _per_label_figures(y_true, y_score, y_pred, known)
    result = _decision_metrics(y_true, y_pred, per_label)
    result.update(_ranking_metrics(y_true, y_score, ks, known_per_row=None if known is None else known.sum(axis=1)))
    if known is not None:  # unknown entries were made agreeing zeros: only the denominators need the known count
        result["hamming_loss"] = float((per_label["fp"].sum() + per_label["fn"].sum()) / max(known.sum(), 1))
    ap = per_label["average_precision"]
    result["map"] = _nanmean(ap)
    result["map_labels_excluded"] = int(np.isnan(ap).sum())
    if train_counts is not None:
        tail = tail_labels(train_counts)
        result["tail_map"] = _nanmean(ap[tail])
        result["tail_macro_f1"] = float(per_label["f1"][tail].mean())
    return result


def _mask_missing(
    y_true: Matrix, y_score: np.ndarray, y_pred: Matrix | None, missing: Matrix | None
) -> tuple[Matrix, np.ndarray, Matrix | None, np.ndarray | None]:
    """Make unknown entries harmless: not true, not predicted, and scored below every known entry."""
    if missing is None:
        return y_true, y_score, y_pred, None
    missing_mask = (missing.toarray() if sp.issparse(missing) else np.asarray(missing)).astype(bool)
    if missing_mask.shape != y_score.shape:
        raise DataError(f"missing: shape {missing_mask.shape}; expected {y_score.shape}, the shape of y_score")
    lowest = float(np.min(y_score)) - 1.0
    y_true = np.where(missing_mask, 0, _dense(y_true)).astype(np.uint8)
    y_pred = None if y_pred is None else np.where(missing_mask, 0, _dense(y_pred)).astype(np.uint8)
    return y_true, np.where(missing_mask, lowest, y_score), y_pred, ~missing_mask


def tail_labels(train_counts: np.ndarray) -> np.ndarray:
    """Indices of the third of labels (at least one) with the fewest training positives; ties by label order."""
    size = max(1, len(train_counts) // 3)
    return np.sort(np.argsort(train_counts, kind="stable")[:size])


def per_label_metrics(
    y_true: Matrix, y_score: np.ndarray, y_pred: Matrix, *, missing: Matrix | None = None
) -> dict[str, np.ndarray]:
    """Per-label figures, each an (L,) array: ``support``, ``tp``, ``fp``, ``fn``, ``tn``, ``precision``,
    ``recall``, ``f1`` (zero_division=0) and ``average_precision`` (NaN for labels with no positive); entries
    marked in ``missing`` count nowhere, and a label with no known entry has NaN precision, recall and F1."""
    y_true, y_score, y_pred = _check(y_true, y_score, y_pred)
    return _per_label_figures(*_mask_missing(y_true, y_score, y_pred, missing))


def _per_label_figures(
    y_true: Matrix, y_score: np.ndarray, y_pred: Matrix, known: np.ndarray | None
) -> dict[str, np.ndarray]:
    """:func:`per_label_metrics` on checked arrays whose unknown entries are already masked (``known``)."""
    num_rows = y_true.shape[0]
    known_per_label = num_rows if known is None else known.sum(axis=0)
    tp = np.zeros(y_true.shape[1], dtype=np.int64)
    support = np.zeros_like(tp)
    predicted = np.zeros_like(tp)
    for rows in _chunks(num_rows, y_true.shape[1]):
        truth, decision = _dense(y_true[rows]).astype(bool), _dense(y_pred[rows]).astype(bool)
        tp += (truth & decision).sum(axis=0)
        support += truth.sum(axis=0)
        predicted += decision.sum(axis=0)
    fp, fn = predicted - tp, support - tp
    figures = {
        "support": support,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": known_per_label - tp - fp - fn,
        "precision": _divide(tp, tp + fp),
        "recall": _divide(tp, tp + fn),
        "f1": _divide(2 * tp, 2 * tp + fp + fn),
        "average_precision": average_precision_per_label(y_true, y_score),
    }
    if known is not None:  # a label with no known entry has no figure (0 would read as "always wrong")
        for name in ("precision", "recall", "f1"):
            figures[name][known_per_label == 0] = np.nan
    return figures


def average_precision_per_label(y_true: Matrix, y_score: np.ndarray) -> np.ndarray:
    """(L,) average precision of each label (scikit-learn's definition); NaN for labels with no positive."""
    y_true = sp.csc_matrix(y_true) if sp.issparse(y_true) else y_true
    num_rows, num_labels = y_score.shape
    result = np.full(num_labels, np.nan)
    # Wide column blocks: copying y_score[:, block] then reads contiguous runs of each row.
    step = max(1, 4 * _CHUNK_ELEMENTS // max(num_rows, 1))
    for start in range(0, num_labels, step):
        columns = slice(start, min(start + step, num_labels))
        truth = torch.from_numpy(np.ascontiguousarray(_dense(y_true[:, columns]).T)).bool()
        scores = torch.from_numpy(np.ascontiguousarray(y_score[:, columns].T))
        # AP of a label is the mean, over its positive rows, of the precision among the rows scored at least as high.
        truth_sorted, true_cumulative, rank, _ = _rank_rows(scores, truth)
        result[columns] = _precision_at_positives(truth_sorted, true_cumulative, rank).numpy()
    return result


def mean_average_precision_by_blocks(y_true: Matrix, scores_of: Callable[[slice], np.ndarray], num_labels: int, *,
                                     missing: Matrix | None = None) -> float:
    """:func:`mean_average_precision` without ever holding all (rows, num_labels) scores: ``scores_of(columns)``
    gives the (rows, block) scores of a slice of labels, blocks of about 4M scores (a 50,000-label model on
    10,000 rows needs 2 GB at once otherwise).

    Args:
        y_true: (rows, num_labels) 0/1, dense or sparse.
        scores_of: the scores of a slice of label columns.
        num_labels: the number of labels.
        missing: (rows, num_labels) 1 where a value is unknown, or ``None``.
    """
    y_true = sp.csc_matrix(y_true)
    missing = None if missing is None else sp.csc_matrix(missing)
    step = max(1, _CHUNK_ELEMENTS // max(y_true.shape[0], 1))
    precision = []
    for start in range(0, num_labels, step):
        columns = slice(start, min(start + step, num_labels))
        truth, scores = y_true[:, columns], np.asarray(scores_of(columns))
        if missing is not None:
            truth, scores, _, _ = _mask_missing(truth, scores, None, missing[:, columns])
        precision.append(average_precision_per_label(truth, scores))
    return _nanmean(np.concatenate(precision)) if precision else 0.0


def mean_average_precision(y_true: Matrix, y_score: np.ndarray, *, missing: Matrix | None = None) -> float:
    """Mean AP over the labels with at least one positive (0.0 when none has one); ``missing`` entries left out."""
    if missing is not None:
        y_true, y_score, _, _ = _mask_missing(y_true, np.asarray(y_score), None, missing)
    return _nanmean(average_precision_per_label(y_true, y_score))


def _rank_rows(
    scores: torch.Tensor, truth: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sort each row of ``scores`` (B, M) best first and return, in that order, ``truth_sorted`` (bool),
    ``true_cumulative`` (true entries at or before each position), ``rank`` (entries scored >= this one, ties
    counted pessimistically as scikit-learn's ``rankdata(..., "max")``) and the negated sorted scores; all (B, M)."""
    descending, order = torch.sort(scores, dim=1, descending=True, stable=True)
    truth_sorted = truth.gather(1, order)
    negated = -descending  # ascending, as searchsorted needs
    rank = torch.searchsorted(negated, negated, right=True, out_int32=True)
    return truth_sorted, truth_sorted.cumsum(dim=1, dtype=torch.int32), rank, negated


def _precision_at_positives(truth_sorted: torch.Tensor, true_cumulative: torch.Tensor, rank: torch.Tensor
                            ) -> torch.Tensor:
    """(B,) mean over each row's true entries j of |{true k : s_k >= s_j}| / |{k : s_k >= s_j}|; NaN for a row with
    no true entry. On rows this is label ranking average precision; on columns, average precision."""
    true_at_or_above = true_cumulative.gather(1, rank.long() - 1)
    precision = torch.where(truth_sorted, true_at_or_above.double() / rank.double(), 0.0)
    num_true = true_cumulative[:, -1]
    return precision.sum(dim=1) / torch.where(num_true > 0, num_true.double(), torch.nan)


def _decision_metrics(y_true: Matrix, y_pred: Matrix, per_label: dict[str, np.ndarray]) -> dict[str, float]:
    num_rows, num_labels = y_true.shape
    tp, fp, fn = per_label["tp"], per_label["fp"], per_label["fn"]
    exact = 0
    samples_f1 = samples_jaccard = 0.0
    for rows in _chunks(num_rows, num_labels):
        truth, decision = _dense(y_true[rows]).astype(bool), _dense(y_pred[rows]).astype(bool)
        row_tp = (truth & decision).sum(axis=1)
        row_wrong = (truth ^ decision).sum(axis=1)
        exact += int((row_wrong == 0).sum())
        samples_f1 += float(_divide(2 * row_tp, 2 * row_tp + row_wrong).sum())
        samples_jaccard += float(_divide(row_tp, row_tp + row_wrong).sum())
    micro_tp, micro_fp, micro_fn = tp.sum(), fp.sum(), fn.sum()
    return {
        "hamming_loss": float((fp.sum() + fn.sum()) / (num_rows * num_labels)),
        "subset_accuracy": exact / num_rows,
        "micro_precision": float(_divide(micro_tp, micro_tp + micro_fp)),
        "micro_recall": float(_divide(micro_tp, micro_tp + micro_fn)),
        "micro_f1": float(_divide(2 * micro_tp, 2 * micro_tp + micro_fp + micro_fn)),
        "macro_precision": float(per_label["precision"].mean()),
        "macro_recall": float(per_label["recall"].mean()),
        "macro_f1": float(per_label["f1"].mean()),
        "samples_f1": samples_f1 / num_rows,
        "jaccard_samples": samples_jaccard / num_rows,
    }


def _ranking_metrics(
    y_true: Matrix, y_score: np.ndarray, ks: Sequence[int], *, known_per_row: np.ndarray | None = None
) -> dict[str, float]:
    num_rows, num_labels = y_score.shape
    ks = [int(k) for k in ks]
    if any(k < 1 for k in ks):
        raise DataError(f"ks: got {ks}; expected positive integers")
    discounts = 1.0 / torch.log2(torch.arange(2, num_labels + 2, dtype=torch.float64))
    ideal = discounts.cumsum(0)  # ideal DCG with n true labels is ideal[n - 1]
    totals = {name: 0.0 for name in ("lrap", "coverage", "ranking_loss", "one_error")}
    totals.update({f"{name}@{k}": 0.0 for k in ks for name in ("p", "r", "ndcg")})
    rows_with_labels = 0
    for rows in _chunks(num_rows, num_labels):
        truth = torch.from_numpy(_dense(y_true[rows]).astype(bool))
        scores = torch.from_numpy(np.ascontiguousarray(y_score[rows]))
        num_true = truth.sum(dim=1)
        num_known = torch.full_like(num_true, num_labels) if known_per_row is None else \
            torch.from_numpy(np.asarray(known_per_row[rows], dtype=np.int64))
        has_labels = num_true > 0
        rows_with_labels += int(has_labels.sum())
        trivial = (num_true == 0) | (num_true == num_known)
        truth_sorted, true_cumulative, rank, negated = _rank_rows(scores, truth)
        lrap = _precision_at_positives(truth_sorted, true_cumulative, rank)
        totals["lrap"] += float(torch.where(trivial, 1.0, lrap).sum())
        totals["coverage"] += float(torch.where(truth_sorted, rank, 0).max(dim=1).values.sum())
        # A (true, false) pair is misordered when the false label scores >= the true one: count, for each false
        # label, the true labels not scored strictly above it (``above`` = entries scored strictly higher).
        above = torch.searchsorted(negated, negated, right=False, out_int32=True)
        true_strictly_above = torch.where(above > 0, true_cumulative.gather(1, (above.long() - 1).clamp(min=0)), 0)
        misordered = torch.where(~truth_sorted, num_true[:, None] - true_strictly_above, 0).sum(dim=1)
        pairs = num_true * (num_known - num_true)  # unknown labels (scored lowest) are in no pair
        totals["ranking_loss"] += float(torch.where(trivial, 0.0, misordered.double() / pairs.clamp(min=1)).sum())
        totals["one_error"] += float((has_labels & ~truth_sorted[:, 0]).sum())
        for k in ks:
            hits = true_cumulative[:, min(k, num_labels) - 1].double()
            totals[f"p@{k}"] += float(hits.sum() / k)
            totals[f"r@{k}"] += float((hits[has_labels] / num_true[has_labels]).sum())
            depth = min(k, num_labels)
            dcg = (truth_sorted[:, :depth].double() * discounts[:depth]).sum(dim=1)
            ideal_dcg = ideal[(num_true.clamp(max=depth) - 1).clamp(min=0)]
            totals[f"ndcg@{k}"] += float((dcg[has_labels] / ideal_dcg[has_labels]).sum())
    result = {
        "lrap": totals["lrap"] / num_rows,
        "coverage": totals["coverage"] / num_rows,
        "ranking_loss": totals["ranking_loss"] / num_rows,
        "one_error": totals["one_error"] / rows_with_labels if rows_with_labels else math.nan,
    }
    for k in ks:
        result[f"p@{k}"] = totals[f"p@{k}"] / num_rows
        result[f"r@{k}"] = totals[f"r@{k}"] / rows_with_labels if rows_with_labels else math.nan
        result[f"ndcg@{k}"] = totals[f"ndcg@{k}"] / rows_with_labels if rows_with_labels else math.nan
    return result


def _check(y_true: Matrix, y_score: np.ndarray, y_pred: Matrix | None) -> tuple[Matrix, np.ndarray, Matrix]:
    y_true = sp.csr_matrix(y_true) if sp.issparse(y_true) else np.asarray(y_true)
    y_score = np.asarray(y_score)
    if y_score.dtype not in (np.float32, np.float64):
        y_score = y_score.astype(np.float64)
    if y_pred is None:
        y_pred = (y_score >= 0.5).astype(np.uint8)
    y_pred = sp.csr_matrix(y_pred) if sp.issparse(y_pred) else np.asarray(y_pred)
    if not (y_true.shape == y_score.shape == y_pred.shape) or y_score.ndim != 2:
        raise DataError(
            f"y_true {y_true.shape}, y_score {y_score.shape} and y_pred {y_pred.shape}; "
            "expected three 2-D arrays of the same (rows, num_labels) shape"
        )
    if y_score.shape[0] == 0 or y_score.shape[1] == 0:
        raise DataError(f"y_true: shape {y_true.shape}; expected at least one row and one label to evaluate")
    if not np.isfinite(y_score).all():
        raise DataError("y_score: contains NaN or infinite values; expected finite scores")
    return y_true, y_score, y_pred


def _chunks(num_rows: int, num_labels: int) -> Iterator[slice]:
    step = max(1, _CHUNK_ELEMENTS // max(num_labels, 1))
    for start in range(0, num_rows, step):
        yield slice(start, min(start + step, num_rows))


def _dense(block: Matrix) -> np.ndarray:
    return block.toarray() if sp.issparse(block) else np.asarray(block)


def _divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator > 0)


def _nanmean(values: np.ndarray) -> float:
    return float(np.nanmean(values)) if np.isfinite(values).any() else 0.0
