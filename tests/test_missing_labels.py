"""MEKA's unknown label value '?': masked out of the loss, the label graph counts and the metrics, not taken as 0."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from gnn_mlc import LabelGCNClassifier, build_label_graph, read_dataset
from gnn_mlc.evaluation.metrics import evaluate

MEKA = """@relation 'shop: -C 3'
@attribute hiking {0,1}
@attribute camping {0,1}
@attribute baking {0,1}
@attribute x1 numeric
@attribute x2 numeric
@data
1,1,0,0.9,0.1
1,?,0,0.8,0.2
1,0,?,0.7,0.1
0,1,1,0.1,0.9
?,0,1,0.2,0.8
"""


def test_question_marks_are_read_as_unknown(tmp_path):
    path = tmp_path / "shop.arff"
    path.write_text(MEKA)
    data = read_dataset(path)
    np.testing.assert_array_equal(data.Y, [[1, 1, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(data.Y_missing, [[0, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]])
    subset = data.subset(np.array([1, 4]))
    np.testing.assert_array_equal(subset.Y_missing, [[0, 1, 0], [1, 0, 0]])


def test_unknown_entries_leave_the_graph_denominators(tmp_path):
    path = tmp_path / "shop.arff"
    path.write_text(MEKA)
    data = read_dataset(path)
    graph = build_label_graph(data.Y, data.label_names, weighting="probability", Y_missing=data.Y_missing)
    # P(camping | hiking): hiking rows 0, 1, 2; camping unknown in row 1 -> 1 of 2, not 1 of 3.
    assert graph.adjacency[0, 1] == pytest.approx(1 / 2)
    # P(baking | camping): camping rows 0, 3 (row 1 unknown is not a positive) -> 1 of 2.
    assert graph.adjacency[1, 2] == pytest.approx(1 / 2)
    assert graph.frequencies.tolist() == [3, 2, 2]


def test_metrics_ignore_unknown_entries():
    rng = np.random.default_rng(0)
    y_true = (rng.random((60, 5)) < 0.3).astype(np.uint8)
    y_score = rng.random((60, 5))
    missing = (rng.random((60, 5)) < 0.2).astype(np.uint8)
    result = evaluate(y_true, y_score, missing=missing)
    known = missing == 0
    aps = [sk.average_precision_score(y_true[known[:, j], j], y_score[known[:, j], j])
           for j in range(5) if y_true[known[:, j], j].any()]
    assert result["map"] == pytest.approx(np.mean(aps))
    y_pred = y_score >= 0.5
    assert result["hamming_loss"] == pytest.approx(((y_true != y_pred) & known).sum() / known.sum())
    lrap = [sk.label_ranking_average_precision_score(y_true[i, known[i]][None], y_score[i, known[i]][None])
            if 0 < y_true[i, known[i]].sum() < known[i].sum() else 1.0 for i in range(60)]
    assert result["lrap"] == pytest.approx(np.mean(lrap))
    # Whatever the true value written at an unknown entry, the figures do not move.
    flipped = np.where(missing == 1, 1 - y_true, y_true)
    assert evaluate(flipped, y_score, missing=missing) == pytest.approx(result)


def test_unknown_entries_do_not_train_the_model():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 6)).astype(np.float32)
    Y = (X[:, :4] > 0.3).astype(np.uint8)
    missing = (rng.random(Y.shape) < 0.2).astype(np.uint8)
    settings = {"max_epochs": 3, "hidden_channels": 16, "embedding_dim": 8, "random_state": 0}
    zeros = LabelGCNClassifier(**settings).fit(X, np.where(missing == 1, 0, Y), Y_missing=missing)
    ones = LabelGCNClassifier(**settings).fit(X, np.where(missing == 1, 1, Y), Y_missing=missing)
    np.testing.assert_array_equal(zeros.predict_proba(X), ones.predict_proba(X))
    np.testing.assert_array_equal(zeros.thresholds_, ones.thresholds_)
    plain = LabelGCNClassifier(**settings).fit(X, np.where(missing == 1, 1, Y))
    assert not np.array_equal(plain.predict_proba(X), ones.predict_proba(X))  # without the mask they would count
