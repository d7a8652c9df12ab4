"""Metrics equal scikit-learn's or a hand count, including the edge cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from gnn_mlc.metrics import evaluate, mean_average_precision, precision_at_k


def test_evaluate_equals_sklearn_on_random_data():
    rng = np.random.default_rng(0)
    y_true = (rng.random((200, 12)) < 0.2).astype(np.uint8)
    y_true[:, 3] = 0  # a label never positive
    y_true[7] = 0  # a row with no labels
    y_score = rng.random((200, 12))
    result = evaluate(y_true, y_score)
    y_pred = (y_score >= 0.5).astype(np.uint8)
    assert result["hamming_loss"] == pytest.approx(sk.hamming_loss(y_true, y_pred), abs=1e-12)
    assert result["subset_accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred), abs=1e-12)
    for average in ("micro", "macro", "samples"):
        assert result[f"{average}_f1"] == pytest.approx(
            sk.f1_score(y_true, y_pred, average=average, zero_division=0), abs=1e-12)
    kept = y_true.any(axis=0)
    expected_map = sk.average_precision_score(y_true[:, kept], y_score[:, kept], average="macro")
    assert result["map"] == pytest.approx(expected_map, abs=1e-12)
    assert result["map_labels_excluded"] == 1
    assert result["lrap"] == pytest.approx(sk.label_ranking_average_precision_score(y_true, y_score), abs=1e-12)


def test_precision_at_k_by_hand():
    y_true = np.array([[1, 0, 1, 0], [0, 0, 0, 1]])
    y_score = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4]])
    assert precision_at_k(y_true, y_score, 1) == pytest.approx((1 + 1) / 2)
    assert precision_at_k(y_true, y_score, 2) == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert precision_at_k(y_true, y_score, 3) == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_all_zero_predictions_and_no_positive_labels():
    y_true = np.array([[1, 0], [0, 0]])
    result = evaluate(y_true, np.zeros((2, 2)) + 0.1)
    assert result["micro_f1"] == 0.0 and result["macro_f1"] == 0.0
    assert result["hamming_loss"] == pytest.approx(1 / 4)
    assert mean_average_precision(np.zeros((2, 2)), np.ones((2, 2))) == 0.0
