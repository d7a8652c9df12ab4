"""Evaluation on data that lacks some of the model's labels: a warning names them and no figure counts them."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.evaluation.metrics import evaluate, per_label_metrics
from gnn_mlc.evaluation.report import evaluate_classifier

FAST = {"max_epochs": 2, "hidden_channels": 8, "embedding_dim": 4, "random_state": 0}


def write_arff(path, X: np.ndarray, Y: np.ndarray, labels: list[str]) -> None:
    header = "".join(f"@attribute f{j} numeric\n" for j in range(X.shape[1]))
    header += "".join(f"@attribute {name} {{0,1}}\n" for name in labels)
    rows = "".join(",".join([*(f"{value:.4f}" for value in x), *(str(value) for value in y)]) + "\n"
                   for x, y in zip(X, Y))
    path.write_text(f"@relation r\n{header}@data\n{rows}")
    path.with_suffix(".xml").write_text("<labels>" + "".join(f'<label name="{name}"/>' for name in labels)
                                        + "</labels>")


def test_metrics_with_a_label_of_no_known_value_equal_those_without_its_column():
    rng = np.random.default_rng(0)
    y_true = (rng.random((40, 6)) < 0.4).astype(np.uint8)
    y_score = rng.random((40, 6))
    y_pred = (rng.random((40, 6)) < 0.5).astype(np.uint8)
    train_counts = np.array([5, 1, 9, 3, 7, 2])
    missing = np.zeros_like(y_true)
    missing[:, 2] = 1  # label 2: no known value at all
    missing[3, 4] = 1  # and one unknown entry elsewhere
    keep = [0, 1, 3, 4, 5]
    result = evaluate(y_true, y_score, y_pred=y_pred, train_counts=train_counts, missing=missing)
    reference = evaluate(y_true[:, keep], y_score[:, keep], y_pred=y_pred[:, keep], train_counts=train_counts[keep],
                         missing=missing[:, keep])
    assert result == pytest.approx(reference)
    figures = per_label_metrics(y_true, y_score, y_pred, missing=missing)
    assert np.isnan([figures[name][2] for name in ("precision", "recall", "f1", "average_precision")]).all()
    assert figures["support"][2] == figures["tp"][2] == figures["fp"][2] == figures["tn"][2] == 0


def test_evaluate_classifier_leaves_out_and_names_the_labels_the_data_lacks(tmp_path, caplog):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, rng.random(60) < 0.9]).astype(np.uint8)  # c: mostly on
    model = LabelGCNClassifier(**FAST).fit(X, Y, label_names=["a", "b", "c"], feature_names=["f0", "f1", "f2"])
    write_arff(tmp_path / "test.arff", X[:20], Y[:20, :2], ["a", "b"])  # label c removed, from the XML too
    data = read_dataset(tmp_path / "test.arff")
    with caplog.at_level(logging.WARNING, logger="gnn_mlc.evaluation.report"):
        evaluation = evaluate_classifier(model, data, name="m")
    messages = [record.getMessage() for record in caplog.records if record.name == "gnn_mlc.evaluation.report"]
    assert len(messages) == 1 and "has no values for 1 of the model's 3 labels ('c')" in messages[0]
    # Reference: the metrics on the data's own labels only.
    scores = model.predict_proba(data.X)
    decisions = model.decision_rule_.decide(scores)
    reference = evaluate(data.Y, scores[:, :2], y_pred=decisions[:, :2], train_counts=model.label_counts_[:2])
    assert evaluation.metrics == pytest.approx(reference)
    # Counted as all-zero truth, label c's predictions would have been false positives.
    assert decisions[:, 2].any()
    assert evaluation.per_label.column("fp").to_pylist()[2] == 0
