"""Metrics equal scikit-learn's (random, tied and hand-built cases, edge cases) or an exact hand count."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import metrics as sk

from gnn_mlc import DataError
from gnn_mlc.evaluation.metrics import evaluate, per_label_metrics, tail_labels


def sklearn_reference(y_true: np.ndarray, y_score: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    kept = y_true.any(axis=0)
    has = y_true.any(axis=1)
    reference = {
        "hamming_loss": sk.hamming_loss(y_true, y_pred),
        "subset_accuracy": sk.accuracy_score(y_true, y_pred),
        "jaccard_samples": sk.jaccard_score(y_true, y_pred, average="samples", zero_division=0),
        "samples_f1": sk.f1_score(y_true, y_pred, average="samples", zero_division=0),
        "map": np.mean([sk.average_precision_score(y_true[:, j], y_score[:, j]) for j in np.flatnonzero(kept)]),
        "lrap": sk.label_ranking_average_precision_score(y_true, y_score),
        "coverage": sk.coverage_error(y_true, y_score),
        "ranking_loss": sk.label_ranking_loss(y_true, y_score),
    }
    for average in ("micro", "macro"):
        precision, recall, f1, _ = sk.precision_recall_fscore_support(y_true, y_pred, average=average,
                                                                      zero_division=0)
        reference.update({f"{average}_precision": precision, f"{average}_recall": recall, f"{average}_f1": f1})
    for k in (1, 3, 5):
        reference[f"ndcg@{k}"] = sk.ndcg_score(y_true[has], y_score[has], k=k)
    return reference


def random_case(seed: int, rows: int = 300, labels: int = 15, ties: bool = False):
    rng = np.random.default_rng(seed)
    y_true = (rng.random((rows, labels)) < 0.2).astype(np.uint8)
    y_true[5] = 0  # a row with no labels
    y_true[6] = 1  # a row with every label but the next one
    y_true[:, 2] = 0  # a label never positive
    y_score = rng.random((rows, labels))
    if ties:
        y_score = np.round(y_score, 1)
    return y_true, y_score, (y_score >= 0.5).astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_evaluate_equals_sklearn_on_random_data(seed):
    y_true, y_score, y_pred = random_case(seed)
    result = evaluate(y_true, y_score, y_pred=y_pred)
    for name, expected in sklearn_reference(y_true, y_score, y_pred).items():
        assert result[name] == pytest.approx(expected, abs=1e-6), name
    assert result["map_labels_excluded"] == 1


def test_evaluate_equals_sklearn_with_tied_scores():
    y_true, y_score, y_pred = random_case(3, ties=True)
    result = evaluate(y_true, y_score, y_pred=y_pred)
    reference = sklearn_reference(y_true, y_score, y_pred)
    # nDCG breaks ties by label order, scikit-learn averages over them: only the tie-free figures are compared.
    for name in ("map", "lrap", "coverage", "ranking_loss", "macro_f1", "micro_f1"):
        assert result[name] == pytest.approx(reference[name], abs=1e-6), name


def test_sparse_inputs_give_the_same_figures():
    y_true, y_score, y_pred = random_case(4)
    dense = evaluate(y_true, y_score, y_pred=y_pred)
    sparse = evaluate(sp.csr_matrix(y_true), y_score, y_pred=sp.csr_matrix(y_pred))
    assert sparse == pytest.approx(dense)


def test_evaluate_is_chunk_independent(monkeypatch):
    import gnn_mlc.evaluation.metrics as metrics

    y_true, y_score, y_pred = random_case(5, rows=500, labels=40)
    whole = evaluate(y_true, y_score, y_pred=y_pred)
    monkeypatch.setattr(metrics, "_CHUNK_ELEMENTS", 97)  # many small row and column chunks
    assert evaluate(y_true, y_score, y_pred=y_pred) == pytest.approx(whole, abs=1e-12)


def test_ranking_metrics_by_hand():
    y_true = np.array([[1, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]])
    y_score = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    result = evaluate(y_true, y_score, ks=(1, 2, 3))
    assert result["p@1"] == pytest.approx((1 + 1 + 0) / 3)
    assert result["p@2"] == pytest.approx((1 / 2 + 1 / 2 + 0) / 3)
    assert result["p@3"] == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert result["r@1"] == pytest.approx((1 / 2 + 1) / 2)  # rows with labels only
    assert result["r@3"] == pytest.approx(1.0)
    assert result["one_error"] == pytest.approx(0.0)
    # Row 0: true labels at ranks 1 and 3 -> coverage 3; row 1: rank 1; row 2: none -> 0.
    assert result["coverage"] == pytest.approx((3 + 1 + 0) / 3)
    ideal = 1 + 1 / np.log2(3)
    assert result["ndcg@3"] == pytest.approx(((1 + 1 / np.log2(4)) / ideal + 1.0) / 2)


def test_rows_with_every_label_or_none_follow_sklearn():
    y_true = np.array([[1, 1, 1], [0, 0, 0], [1, 0, 0]])
    y_score = np.array([[0.1, 0.5, 0.9], [0.3, 0.2, 0.1], [0.2, 0.5, 0.1]])
    result = evaluate(y_true, y_score)
    assert result["lrap"] == pytest.approx(sk.label_ranking_average_precision_score(y_true, y_score))
    assert result["ranking_loss"] == pytest.approx(sk.label_ranking_loss(y_true, y_score))
    assert result["coverage"] == pytest.approx(sk.coverage_error(y_true, y_score))
    assert result["lrap"] == pytest.approx((1 + 1 + 1 / 2) / 3)


def test_decision_metrics_by_hand():
    y_true = np.array([[1, 0], [0, 0], [1, 1]])
    y_pred = np.array([[1, 1], [0, 0], [0, 1]])
    result = evaluate(y_true, y_true * 0.9 + 0.05, y_pred=y_pred)
    assert result["hamming_loss"] == pytest.approx(2 / 6)
    assert result["subset_accuracy"] == pytest.approx(1 / 3)
    assert result["micro_precision"] == pytest.approx(2 / 3)
    assert result["micro_recall"] == pytest.approx(2 / 3)
    per_label = per_label_metrics(y_true, y_true * 1.0, y_pred)
    assert per_label["tp"].tolist() == [1, 1] and per_label["fp"].tolist() == [0, 1]
    assert per_label["fn"].tolist() == [1, 0] and per_label["tn"].tolist() == [1, 1]
    np.testing.assert_array_equal(
        np.stack([per_label[k] for k in ("tn", "fp", "fn", "tp")], axis=1).reshape(2, 2, 2),
        sk.multilabel_confusion_matrix(y_true, y_pred),
    )


def test_all_zero_predictions_and_labels_never_positive():
    y_true = np.array([[1, 0], [0, 0]])
    result = evaluate(y_true, np.full((2, 2), 0.1))
    assert result["micro_f1"] == 0.0 and result["macro_f1"] == 0.0 and result["samples_f1"] == 0.0
    assert result["hamming_loss"] == pytest.approx(1 / 4)
    assert result["map_labels_excluded"] == 1
    nothing = evaluate(np.zeros((2, 2)), np.full((2, 2), 0.7))
    assert nothing["map"] == 0.0 and nothing["map_labels_excluded"] == 2
    assert np.isnan(nothing["one_error"]) and np.isnan(nothing["ndcg@1"])


def test_tail_metrics_use_the_rarest_third():
    assert tail_labels(np.array([5, 1, 9, 1, 3, 7])).tolist() == [1, 3]
    y_true, y_score, y_pred = random_case(6, labels=9)
    counts = np.array([90, 80, 70, 3, 2, 1, 60, 50, 40])
    result = evaluate(y_true, y_score, y_pred=y_pred, train_counts=counts)
    tail = [3, 4, 5]
    assert result["tail_macro_f1"] == pytest.approx(
        sk.f1_score(y_true[:, tail], y_pred[:, tail], average="macro", zero_division=0), abs=1e-9)
    assert result["tail_map"] == pytest.approx(
        sk.average_precision_score(y_true[:, tail], y_score[:, tail], average="macro"), abs=1e-9)


def test_evaluate_rejects_bad_input():
    with pytest.raises(DataError, match=r"expected three 2-D arrays of the same"):
        evaluate(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(DataError, match=r"expected at least one row"):
        evaluate(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(DataError, match=r"NaN or infinite"):
        evaluate(np.zeros((1, 2)), np.array([[0.1, np.nan]]))
    with pytest.raises(DataError, match=r"train_counts: shape \(3,\)"):
        evaluate(np.zeros((1, 2)), np.zeros((1, 2)), train_counts=np.ones(3))
