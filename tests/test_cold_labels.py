"""Cold and rare labels scored through the graph: the message-passing teacher, the distilled vectors, the model
directory, and labels added to a trained model without retraining."""

from __future__ import annotations

import logging

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.special import expit, logit

from gnn_mlc import DataError, LabelGCNClassifier, load_model
from gnn_mlc.evaluation import per_label_metrics
from gnn_mlc.nn.label_propagation import LabelLogitPropagation, propagation_edges
from gnn_mlc.training.graph_labels import distil_label_vectors, fit_label_teacher, teacher_probabilities

FAST = {"max_epochs": 15, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64, "random_state": 0}


def test_the_teacher_module_equals_the_dense_formula_through_both_propagation_paths():
    torch.manual_seed(0)
    edges = propagation_edges(np.array([0, 1, 2]), np.array([2, 3]), sp.csr_matrix((4, 4)))
    module = LabelLogitPropagation(torch.from_numpy(edges), 4, torch.tensor([0.5, 0.2, 0.1, 0.3]))
    with torch.no_grad():
        module.weight.copy_(torch.randn(edges.shape[1]))
        module.beta.copy_(torch.randn(4))
    z = torch.rand(4, 7)
    dense = torch.from_numpy(module.weight_matrix()) @ z + module.bias()[:, None]
    torch.testing.assert_close(module(z), dense)
    plain = module.bias()[:, None] + module.propagate(module.edge_index, x=z, edge_weight=module.weight, size=(4, 4))
    torch.testing.assert_close(plain, dense)  # message() + aggregation, without the fused sparse product
    assert sorted(map(tuple, edges.T.tolist())) == [(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]  # no self-loop 2 -> 2


def test_above_the_cap_each_target_is_scored_from_its_most_similar_and_the_most_frequent_inputs():
    rng = np.random.default_rng(0)
    rows = sp.csr_matrix((rng.random((500, 30)) < np.linspace(0.5, 0.02, 30)).astype(np.float64))
    cooccurrence = sp.csr_matrix(rows.T @ rows)
    inputs, targets = np.arange(20), np.array([5, 20, 25])
    assert propagation_edges(inputs, targets, cooccurrence, max_inputs=20).shape[1] == 20 * 3 - 1  # complete
    edges = propagation_edges(inputs, targets, cooccurrence, max_inputs=8)
    counts = cooccurrence.diagonal()
    by_frequency = inputs[np.argsort(-counts[inputs], kind="stable")]
    for target in targets:
        chosen = edges[0, edges[1] == target]
        assert len(chosen) == len(set(chosen)) == 8 and target not in chosen
        others = inputs[inputs != target]
        similarity = cooccurrence[others, target].toarray().ravel() / np.sqrt(counts[others])
        near = others[np.argsort(-similarity, kind="stable")[:4]]
        assert set(near) <= set(chosen)  # the half most similar (no ties among these counts)
        frequent = [label for label in by_frequency if label not in near and label != target][:4]
        assert set(chosen) == set(near) | set(frequent)  # the rest: the most frequent inputs not chosen yet


def test_the_teachers_evidence_in_dense_rows_and_edge_by_edge_equals_the_dense_formula(monkeypatch):
    import gnn_mlc.training.graph_labels as graph_labels

    rng = np.random.default_rng(2)
    rows = sp.csr_matrix((rng.random((300, 40)) < np.linspace(0.6, 0.05, 40)).astype(np.float32))
    inputs, targets = np.arange(30), np.arange(30, 40)
    edges = propagation_edges(inputs, targets, sp.csr_matrix(rows.T @ rows), max_inputs=8)
    teacher = LabelLogitPropagation(torch.from_numpy(edges), 40, torch.full((40,), 0.2))
    with torch.no_grad():
        teacher.weight.copy_(torch.randn(edges.shape[1]))
        teacher.beta.copy_(torch.randn(40))
    dense = rows.toarray() @ teacher.weight_matrix()[targets].T + teacher.bias()[targets].detach().numpy()
    expected = 1 / (1 + np.exp(-dense))
    # the frequent inputs dense, the others edge by edge
    degree = np.bincount(edges[0], minlength=40)[inputs]
    assert (degree >= 0.25 * len(targets)).any() and ((degree > 0) & (degree < 0.25 * len(targets))).any()
    np.testing.assert_allclose(teacher_probabilities(teacher, rows, inputs, targets, batch_rows=64), expected,
                               rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(graph_labels, "EDGE_PAIRS", 5)  # the edge-by-edge sums expanded a few rows at a time
    np.testing.assert_allclose(teacher_probabilities(teacher, rows, inputs, targets, batch_rows=64), expected,
                               rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(graph_labels, "DENSE_INPUT_SHARE", 0.0)  # every input's weights dense
    np.testing.assert_allclose(teacher_probabilities(teacher, rows, inputs, targets), expected, rtol=1e-5, atol=1e-6)


def test_a_teacher_on_a_cut_graph_is_the_regression_on_each_targets_chosen_inputs(monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import gnn_mlc.nn.label_propagation as label_propagation
    import gnn_mlc.training.graph_labels as graph_labels

    monkeypatch.setattr(label_propagation, "TEACHER_INPUTS", 4)  # 6 inputs: each target keeps 2 similar + 2 frequent
    monkeypatch.setattr(graph_labels, "DENSE_INPUT_SHARE", 0.75)  # inputs reaching both targets dense, others by edge
    rng = np.random.default_rng(3)
    inputs = (rng.random((1500, 6)) < np.array([0.6, 0.5, 0.3, 0.2, 0.15, 0.1])).astype(np.uint8)
    logits = inputs @ np.array([[0.5, -0.5], [-1.0, 0.5], [1.5, 0.0], [0.0, 1.5], [1.0, -1.0], [-1.0, 1.0]]) - 1.0
    targets = (rng.random((1500, 2)) < 1 / (1 + np.exp(-logits))).astype(np.uint8)
    rows = sp.csr_matrix(np.column_stack([inputs, targets]))
    teacher = fit_label_teacher(rows, None, np.arange(6), np.array([6, 7]), sp.csr_matrix(rows.T @ rows))
    source, target = teacher.edge_index.numpy()
    degree = np.bincount(source, minlength=8)[:6]
    assert (degree == 2).any() and (degree == 1).any()  # both parts of the evidence are used
    for label in (6, 7):
        chosen = np.sort(source[target == label])
        assert len(chosen) == 4
        reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(inputs[:, chosen], targets[:, label - 6])
        np.testing.assert_allclose(teacher.weight_matrix()[label, chosen], reference.coef_[0], atol=1e-2)


@pytest.mark.parametrize("path", ["dense blocks", "sparse blocks", "edge by edge"])
def test_the_teacher_is_an_l2_logistic_regression_per_target(path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import gnn_mlc.training.graph_labels as graph_labels

    if path == "sparse blocks":
        monkeypatch.setattr(graph_labels, "DENSE_SIGNAL_SHARE", 1.1)  # no block is dense enough
    if path == "edge by edge":  # no input reaching enough targets for a dense row of weights
        monkeypatch.setattr(graph_labels, "DENSE_INPUT_SHARE", 1.1)

    rng = np.random.default_rng(0)
    inputs = (rng.random((400, 4)) < 0.4).astype(np.uint8)
    target = (rng.random(400) < 1 / (1 + np.exp(-(inputs @ [2.0, -1.0, 0.5, 0.0] - 0.5)))).astype(np.uint8)
    rows = sp.csr_matrix(np.column_stack([inputs, target]))
    teacher = fit_label_teacher(rows, None, np.arange(4), np.array([4]), sp.csr_matrix(rows.T @ rows))
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(inputs, target)
    # Equal but for the intercept: scikit-learn leaves it free, the teacher starts it at the label's log-odds and
    # penalises the offset lightly (1e-3 beta^2), which moves the weights by less than 0.01.
    np.testing.assert_allclose(teacher.weight_matrix()[4, :4], reference.coef_[0], atol=1e-2)
    dense = teacher.weight_matrix()[4] @ rows.toarray().T + teacher.bias()[4].item()  # the rule, written out
    np.testing.assert_allclose(teacher_probabilities(teacher, rows, np.arange(4), np.array([4]))[:, 0],
                               1 / (1 + np.exp(-dense)), rtol=1e-5, atol=1e-6)
    unknown_rows = sp.csr_matrix(np.ones((300, 5), dtype=np.uint8))  # rows where the target is unknown: no effect
    padded = fit_label_teacher(sp.vstack([rows, unknown_rows]).tocsr(),
                               sp.vstack([sp.csr_matrix(rows.shape, dtype=np.uint8), unknown_rows]).tocsr(),
                               np.arange(4), np.array([4]), sp.csr_matrix(rows.T @ rows))
    np.testing.assert_allclose(padded.weight_matrix(), teacher.weight_matrix(), atol=1e-5)


def test_cold_and_rare_labels_fitted_apart_equal_one_fit_with_the_cold_values_masked():
    rng = np.random.default_rng(1)
    inputs = (rng.random((900, 4)) < 0.4).astype(np.uint8)
    logits = inputs @ np.array([[1.5, 0.5], [-1.0, 1.0], [0.5, -1.0], [0.0, 0.5]]) - 0.5
    targets = (rng.random((900, 2)) < 1 / (1 + np.exp(-logits))).astype(np.uint8)
    targets[600:, 0] = 0  # label 4 is cold: absent from the feature rows (600 on); label 5 is known there (rare)
    rows = sp.csr_matrix(np.column_stack([inputs, targets]))
    masked = np.zeros((900, 6), dtype=np.uint8)
    masked[600:, 4] = 1
    cooccurrence = sp.csr_matrix(rows.T @ rows)
    joint = fit_label_teacher(rows, sp.csr_matrix(masked), np.arange(4), np.array([4, 5]), cooccurrence)
    cold = fit_label_teacher(rows[:600], None, np.arange(4), np.array([4]), cooccurrence)
    rare = fit_label_teacher(rows, None, np.arange(4), np.array([5]), cooccurrence)
    # the same regressions: only the light penalty on the bias offset (1e-3 beta^2, not divided by the rows) differs
    np.testing.assert_allclose(cold.weight_matrix()[4], joint.weight_matrix()[4], atol=1e-2)
    np.testing.assert_allclose(rare.weight_matrix()[5], joint.weight_matrix()[5], atol=1e-2)


@pytest.mark.parametrize("path", ["dense blocks", "edge by edge"])
def test_the_mini_batch_teacher_reaches_the_same_regression(path, monkeypatch):
    from sklearn.linear_model import LogisticRegression

    import gnn_mlc.training.graph_labels as graph_labels

    monkeypatch.setattr(graph_labels, "FULL_BATCH_ENTRIES", 0)  # as a log too large for full-batch L-BFGS
    monkeypatch.setattr(graph_labels, "MINIBATCH_ROWS", 256)
    if path == "edge by edge":
        monkeypatch.setattr(graph_labels, "DENSE_INPUT_SHARE", 1.1)
    rng = np.random.default_rng(0)
    inputs = (rng.random((3000, 4)) < 0.4).astype(np.uint8)
    logits = inputs @ np.array([[2.0, -1.0], [-1.0, 1.0], [0.5, 0.0], [0.0, 1.5]]) - 0.5
    targets = (rng.random((3000, 2)) < 1 / (1 + np.exp(-logits))).astype(np.uint8)
    unknown = np.zeros((3000, 6), dtype=np.uint8)
    unknown[:500, 5] = 1  # the second target unknown in some rows: left out of its loss
    rows = sp.csr_matrix(np.column_stack([inputs, targets]))
    teacher = fit_label_teacher(rows, sp.csr_matrix(unknown), np.arange(4), np.array([4, 5]),
                                sp.csr_matrix(rows.T @ rows))
    for column, target in enumerate((4, 5)):
        seen = unknown[:, target] == 0
        reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(inputs[seen], targets[seen, column])
        np.testing.assert_allclose(teacher.weight_matrix()[target, :4], reference.coef_[0], atol=0.05)


def test_mini_batch_steps_grow_with_the_rows_only_to_their_budget():
    from gnn_mlc.training.graph_labels import EPOCHS, MINIBATCH_ROWS, STEPS, minibatch_rows

    assert minibatch_rows(5_000, 400) == MINIBATCH_ROWS  # few rows: the smallest step, STEPS steps
    rows = minibatch_rows(1_000_000, 1_600)
    assert STEPS <= EPOCHS * -(-1_000_000 // rows) < STEPS + EPOCHS  # about STEPS steps of EPOCHS passes
    assert minibatch_rows(1_000_000, 5_000) == 2**25 // 5_000  # a block of at most 2^25 values


def test_mini_batch_distillation_reaches_the_full_batch_heads(monkeypatch):
    import gnn_mlc.training.graph_labels as graph_labels

    rng = np.random.default_rng(0)
    encodings = rng.normal(size=(3000, 6)).astype(np.float32)
    soft = 1 / (1 + np.exp(-(encodings @ rng.normal(size=(6, 3)) - 1.0)))
    full = distil_label_vectors(encodings, soft)
    monkeypatch.setattr(graph_labels, "FULL_BATCH_ENTRIES", 0)
    monkeypatch.setattr(graph_labels, "MINIBATCH_ROWS", 256)
    mini = distil_label_vectors(encodings, soft)
    np.testing.assert_allclose(mini[0], full[0], atol=0.05)
    np.testing.assert_allclose(mini[1], full[1], atol=0.05)


def _data(seed: int = 0):
    """Features that carry 5 labels; label 5 always comes with label 0 and label 6 with label 2 (in every row)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(900, 10)).astype(np.float32)
    base = (X[:, :5] + 0.5 * rng.normal(size=(900, 5)) > 0.6).astype(np.uint8)
    Y = np.column_stack([base, base[:, 0], base[:, 2]])
    return X, Y


def _log(Y: np.ndarray, rows: slice) -> np.ndarray:
    log = Y[rows]
    return log[log.sum(axis=1) > 0]


def _ap(truth: np.ndarray, scores: np.ndarray) -> float:
    return float(per_label_metrics(truth[:, None], scores[:, None], np.zeros((len(truth), 1), np.uint8))
                 ["average_precision"][0])


@pytest.fixture(scope="module")
def cold_model():
    X, Y = _data()
    names = [f"l{j}" for j in range(7)]
    model = LabelGCNClassifier(**FAST).fit(X[:600], Y[:600, :5], label_names=names[:5],
                                           feature_names=[f"f{j}" for j in range(10)],
                                           graph_data=_log(Y, slice(600, 900)), graph_label_names=names)
    return model, X, Y


def test_cold_labels_join_the_model_and_are_scored_from_the_log(cold_model):
    model, X, Y = cold_model
    assert list(model.classes_) == [f"l{j}" for j in range(7)]
    assert list(model.label_sources_) == ["trained"] * 5 + ["log"] * 2
    assert model.label_counts_.tolist()[5:] == [0, 0] and list(model.trained_labels_) == [0, 1, 2, 3, 4]
    scores = model.predict_proba(X)
    for cold, twin in ((5, 0), (6, 2)):  # a cold label that always travels with a warm one ranks like it
        assert _ap(Y[:, cold], scores[:, cold]) > 0.9 * _ap(Y[:, twin], scores[:, twin])
        assert _ap(Y[:, cold], scores[:, cold]) > 0.6


def test_cold_labels_survive_the_model_directory_and_the_scorer(cold_model, tmp_path):
    import pyarrow as pa

    from gnn_mlc import Scorer

    model, X, _ = cold_model
    model.to_directory(tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(reloaded.predict_proba(X[:50]), model.predict_proba(X[:50]))
    assert list(reloaded.label_sources_) == list(model.label_sources_)
    table = pa.table({"id": pa.array(np.arange(50)), **{f"f{j}": pa.array(X[:50, j]) for j in range(10)}})
    scored, _ = Scorer(tmp_path / "m", top_k=7, device="cpu").score_table(table)
    best = np.argsort(-model.predict_proba(X[:50]), axis=1, kind="stable")
    assert scored.column("labels").to_pylist() == [[model.classes_[j] for j in row] for row in best]


@pytest.mark.parametrize("num_gcn_layers", [0, 1])
def test_labels_added_later_score_as_if_trained_as_cold_labels(num_gcn_layers):
    X, Y = _data(1)
    names = [f"l{j}" for j in range(7)]
    log = _log(Y, slice(600, 900))
    parameters = {**FAST, "num_gcn_layers": num_gcn_layers, "rare_label_positives": 0}
    together = LabelGCNClassifier(**parameters).fit(X[:600], Y[:600, :5], label_names=names[:5], graph_data=log,
                                                    graph_label_names=names)
    warm_log = log[:, :5][log[:, :5].sum(axis=1) > 0]  # the same graph over the warm labels, without the new ones
    before = LabelGCNClassifier(**parameters).fit(X[:600], Y[:600, :5], label_names=names[:5], graph_data=warm_log,
                                                  graph_label_names=names[:5])
    after = before.add_labels(graph_data=log, graph_label_names=names)
    assert list(before.classes_) == names[:5] and list(after.classes_) == names  # the trained model is untouched
    # Stated tolerance: probabilities within 1e-3 (both are L-BFGS solutions of the same convex problems).
    np.testing.assert_allclose(after.predict_proba(X[600:]), together.predict_proba(X[600:]), atol=1e-3)
    assert after.thresholds_[5] == after.decision_rule_.default
    with pytest.raises(DataError, match=r"every label the sources name is already in the model"):
        after.add_labels(graph_data=log, graph_label_names=names)


def test_the_graph_changes_nothing_the_network_learns_about_the_trained_labels(cold_model):
    model, X, Y = cold_model
    plain = LabelGCNClassifier(use_graph=False, **FAST).fit(X[:600], Y[:600, :5], label_names=[f"l{j}" for j in
                                                                                                range(5)])
    np.testing.assert_array_equal(model.predict_proba(X)[:, :5], plain.predict_proba(X))
    with pytest.raises(DataError, match=r"graph sources .* or known labels were given with use_graph=False; expected use_graph=True"):
        LabelGCNClassifier(use_graph=False, **FAST).fit(X[:600], Y[:600, :5], graph_data=_log(Y, slice(600, 900)),
                                                        graph_label_names=[f"l{j}" for j in range(7)])


def test_labels_from_edges_and_from_label_features(caplog):
    X, Y = _data(2)
    names = [f"l{j}" for j in range(5)]
    model = LabelGCNClassifier(**FAST).fit(X[:600], Y[:600, :5], label_names=names)
    edges = nx.Graph([("twin-of-l0", "l0"), ("l1", "l3"), ("orphan", "stranger")])
    with caplog.at_level(logging.WARNING):
        extended = model.add_labels(graph_edges=edges)
    assert "linked to nothing the model knows ('orphan', 'stranger')" in caplog.text
    index = list(extended.classes_).index("twin-of-l0")
    assert extended.label_sources_[index] == "edges"
    scores = extended.predict_proba(X[600:])
    assert np.corrcoef(scores[:, index], scores[:, 0])[0, 1] > 0.99  # its one neighbour's direction
    features = np.vstack([np.eye(5), [[1.0, 0, 0, 0, 0]]])  # the new label is described like l0
    described = model.add_labels(graph_edges=nx.Graph([("like-l0", "also-new")]),
                                 label_features=(features, [*names, "like-l0"]))
    assert list(described.classes_[5:]) == ["also-new", "like-l0"]  # linked only to a new label: by its features
    assert described.label_sources_[-1] == "features"
    assert np.corrcoef(described.predict_proba(X[600:])[:, -1], scores[:, 0])[0, 1] > 0.9
    with pytest.raises(DataError, match=r"label_features: 3 values per label; expected 5"):
        described.add_labels(graph_edges=nx.Graph([("wider", "l0")]), label_features=(np.ones((1, 3)), ["wider"]))


def test_catalogue_items_with_only_features_become_labels(tmp_path, capsys):
    """A catalogue-wide features file at add-labels: the items only it names are added, scored from their features
    (as the Python add_labels scores them, reloaded), and its incomplete rows are skipped and counted; at fit, a
    label only the features name is a cold label scored the same way."""
    from gnn_mlc.cli import main
    from gnn_mlc.graph.sources import read_label_features

    X, Y = _data(4)
    names = [f"l{j}" for j in range(5)]
    model = LabelGCNClassifier(**FAST).fit(X[:600], Y[:600, :5], label_names=names,
                                           label_features=(np.eye(5), names))
    model.to_directory(tmp_path / "model")
    rows = ["label,f0,f1,f2,f3,f4", "like-l0,1,0,0,0,0", "like-l3,0,0,0,1,0",  # two new catalogue items
            ",0,1,0,0,0", "no-f2,0,0,,0,1", "nan-f1,0,nan,0,0,0"]  # no label name, a missing and a NaN feature
    (tmp_path / "catalogue.csv").write_text("\n".join(rows) + "\n")
    assert main(["add-labels", "--model", str(tmp_path / "model"), "--output", str(tmp_path / "added"),
                 "--label-features", str(tmp_path / "catalogue.csv")]) == 0
    out = capsys.readouterr().out
    assert "added 2 labels" in out and "features 2" in out
    assert f"3 rows of {tmp_path / 'catalogue.csv'} skipped: no label name, or a missing or non-finite feature" in out
    added = load_model(tmp_path / "added")
    assert list(added.classes_) == [*names, "like-l0", "like-l3"]
    assert list(added.label_sources_[5:]) == ["features", "features"]
    features = read_label_features(tmp_path / "catalogue.csv", skip_incomplete=True)
    assert features.label_names == ["like-l0", "like-l3"] and features.skipped == 3
    reference = model.add_labels(label_features=features).predict_proba(X[600:])
    np.testing.assert_allclose(added.predict_proba(X[600:]), reference, rtol=1e-5, atol=1e-6)
    assert np.corrcoef(reference[:, 5], reference[:, 0])[0, 1] > 0.9  # described like l0
    with pytest.raises(DataError, match=r"catalogue\.csv: column 'f\d' is null at row"):
        read_label_features(tmp_path / "catalogue.csv")  # training reads refuse what add-labels skips
    at_fit = LabelGCNClassifier(**FAST).fit(X[:600], Y[:600, :5], label_names=names,
                                            label_features=(np.vstack([np.eye(5), np.eye(5)[:1]]), [*names, "like-l0"]))
    assert list(at_fit.classes_) == [*names, "like-l0"] and at_fit.label_sources_[5] == "features"


def test_a_rare_label_takes_its_vector_from_the_log():
    X, Y = _data(3)
    names = [f"l{j}" for j in range(7)]
    Y_train = Y[:600].copy()
    positives = np.flatnonzero(Y_train[:, 5])
    Y_train[positives[2:], 5] = 0  # label 5 keeps two positive training rows
    model = LabelGCNClassifier(**FAST).fit(X[:600], Y_train, label_names=names, graph_data=_log(Y, slice(600, 900)),
                                           graph_label_names=names)
    assert model.label_sources_[5] == "log" and 5 in model.trained_labels_
    assert _ap(Y[:, 5], model.predict_proba(X)[:, 5]) > 0.6


def test_a_cold_labels_logit_mixes_its_vector_and_its_teacher_on_the_networks_probabilities(cold_model):
    """The served rule against the dense formula: ``z_c <- logit((1 - s) sigmoid(z_c) + s sigmoid(u_c))``,
    ``u = sigmoid(z_inputs) T + c``, with ``T`` and ``c`` the teacher refitted on the log (the weights served are
    the regression fitted)."""
    from dataclasses import replace

    from gnn_mlc.graph.cooccurrence import cooccurrence_counts

    model, X, Y = cold_model
    fitted = model.fitted_
    teacher = fitted.cold_teacher
    assert teacher.targets.tolist() == [5, 6] and teacher.share == 0.5
    vectors_alone = replace(fitted, cold_teacher=None).decision_function(X)
    inputs = np.arange(5)
    log = sp.csr_matrix(_log(Y, slice(600, 900)))
    refit = fit_label_teacher(log, None, inputs, teacher.targets, cooccurrence_counts(log))
    T = refit.weight_matrix().T  # [j, c]
    np.testing.assert_allclose(teacher.matrix.toarray(), T, atol=1e-6)
    z = vectors_alone.astype(np.float64)
    evidence = expit(z[:, inputs]) @ T[inputs] + refit.bias().detach().numpy()
    expected = z.copy()
    expected[:, 5:] = logit(0.5 * expit(z[:, 5:]) + 0.5 * expit(evidence[:, 5:]))
    np.testing.assert_allclose(fitted.decision_function(X), expected, atol=1e-4)


def test_the_mix_stays_finite_where_both_probabilities_underflow():
    from gnn_mlc.fitted import ColdLabelTeacher, TeacherParts

    matrix = sp.csr_matrix(np.array([[0.0, -400.0], [0.0, 0.0]], dtype=np.float32))
    teacher = ColdLabelTeacher(matrix=matrix, bias=np.zeros(2, np.float32), targets=np.array([1]), share=0.5)
    logits = torch.tensor([[50.0, -200.0], [-50.0, 300.0]])
    TeacherParts.of(teacher, torch.device("cpu")).mix_into(logits)
    # row 0: log(0.5 e^-200 + 0.5 e^-400) = -200 - log 2; row 1: sigmoid(-50) ~ 0 as input, u = 0: logit(0.75)
    torch.testing.assert_close(logits[:, 1], torch.tensor([-200.0 - np.log(2.0), np.log(3.0)], dtype=torch.float32))


def test_a_teacher_costing_more_than_the_label_vectors_is_not_served(caplog):
    """5 trained labels x 2 cold ones = 10 teacher values: not served with 1-wide vectors (1 x 7 labels = 7);
    add_labels grows a served teacher within the budget and scores new labels beyond it by their vectors alone."""
    X, Y = _data()
    names = [f"l{j}" for j in range(7)]
    log = _log(Y, slice(600, 900))
    with caplog.at_level(logging.INFO, logger="gnn_mlc.training.label_vectors"):
        narrow = LabelGCNClassifier(**{**FAST, "embedding_dim": 1}).fit(
            X[:600], Y[:600, :5], label_names=names[:5], graph_data=log, graph_label_names=names)
    assert narrow.fitted_.cold_teacher is None and list(narrow.label_sources_[5:]) == ["log", "log"]
    assert "2 cold label(s) scored by their vectors alone" in caplog.text
    wide = LabelGCNClassifier(**{**FAST, "embedding_dim": 2}).fit(
        X[:600], Y[:600, :5], label_names=names[:5], graph_data=log[:, :6][log[:, :6].sum(axis=1) > 0],
        graph_label_names=names[:6])  # 5 x 1 = 5 values, budget 2 x 6 = 12
    grown = wide.add_labels(graph_data=log, graph_label_names=names)  # 5 x 2 = 10 <= 2 x 7 = 14: served
    assert grown.fitted_.cold_teacher.targets.tolist() == [5, 6]
    wider = wide.add_labels(graph_data=np.column_stack([log, log[:, 1:4]]),
                            graph_label_names=names + ["n7", "n8", "n9"])  # 5 x 5 = 25 > 2 x 10 = 20
    assert wider.fitted_.cold_teacher.targets.tolist() == [5]
    np.testing.assert_allclose(wider.predict_proba(X[:50])[:, :6], wide.predict_proba(X[:50]), atol=1e-6)


def test_a_directory_without_the_teacher_scores_by_the_vectors(cold_model, tmp_path):
    from dataclasses import replace

    from gnn_mlc.model_directory import write_manifest

    model, X, _ = cold_model
    model.to_directory(tmp_path / "m")
    (tmp_path / "m" / "cold_teacher.safetensors").unlink()  # as written before the teacher was served
    write_manifest(tmp_path / "m")
    np.testing.assert_allclose(load_model(tmp_path / "m").decision_function(X),
                               replace(model.fitted_, cold_teacher=None).decision_function(X), atol=1e-6)


def test_rare_labels_are_inputs_of_the_cold_labels_teacher_at_fit_and_at_add_labels():
    """Label 4 has 2 labelled feature rows (rare, its vector partly from the log): it is known in every row, so the
    cold labels' regression reads it, in a fit and in labels added later alike."""
    X, Y = _data()
    Y = Y.copy()
    Y[np.flatnonzero(Y[:600, 4])[2:], 4] = 0  # 2 positive feature rows left
    names = [f"l{j}" for j in range(7)]
    log = _log(Y, slice(600, 900))
    fitted = LabelGCNClassifier(**FAST).fit(X[:600], Y[:600, :5], label_names=names[:5], graph_data=log,
                                            graph_label_names=names)
    assert fitted.label_sources_[4] == "log"  # rare: its vector mixes the log's
    assert fitted.fitted_.cold_teacher.inputs.tolist() == [0, 1, 2, 3, 4]
    warm_log = log[:, :5][log[:, :5].sum(axis=1) > 0]
    before = LabelGCNClassifier(**FAST).fit(X[:600], Y[:600, :5], label_names=names[:5], graph_data=warm_log,
                                            graph_label_names=names[:5])
    assert before.label_sources_[4] == "log" and before.fitted_.cold_teacher is None
    assert before.add_labels(graph_data=log, graph_label_names=names).fitted_.cold_teacher.inputs.tolist() == \
        [0, 1, 2, 3, 4]


def test_teachers_scoring_a_label_in_common_are_not_merged():
    from gnn_mlc.fitted import ColdLabelTeacher

    teacher = ColdLabelTeacher(matrix=sp.csr_matrix((3, 3), dtype=np.float32), bias=np.zeros(3, np.float32),
                               targets=np.array([2]), share=0.5)
    with pytest.raises(ValueError, match="score a label in common"):
        teacher.merged(teacher)


@pytest.mark.parametrize(("tensors", "message"), [
    ({"edge_index": torch.tensor([[0], [9]])}, r"invalid \(edges outside the labels\)"),
    ({"weight": torch.tensor([1e300], dtype=torch.float64)}, r"invalid \(weights not finite\)"),
    ({"targets": torch.tensor([5.0, 6.0])}, r"invalid \(edges or targets not integers\)"),
    ({"share": torch.tensor([0.0], dtype=torch.float64)}, r"invalid \(biases, targets or share outside the labels\)"),
])
def test_a_hostile_teacher_file_is_one_clear_error(cold_model, tmp_path, tensors, message):
    model, _, _ = cold_model
    model.to_directory(tmp_path / "m")
    _refused_teacher(tmp_path / "m", tensors, message)


def test_a_teacher_file_above_the_serving_budget_is_refused(tmp_path):
    """1-wide vectors over 7 labels: at most 7 teacher values; 5 inputs x 2 targets is 10."""
    X, Y = _data()
    names = [f"l{j}" for j in range(7)]
    narrow = LabelGCNClassifier(**{**FAST, "embedding_dim": 1}).fit(
        X[:600], Y[:600, :5], label_names=names[:5], graph_data=_log(Y, slice(600, 900)), graph_label_names=names)
    narrow.to_directory(tmp_path / "m")
    edges = torch.stack([torch.arange(5).repeat(2), torch.tensor([5] * 5 + [6] * 5)])
    _refused_teacher(tmp_path / "m", {"edge_index": edges, "weight": torch.ones(10)},
                     r"a teacher of 10 values; expected at most embedding_dim x labels = 7")


def _refused_teacher(directory, tensors: dict, message: str) -> None:
    """Write a cold_teacher.safetensors of these tensors (the others valid) into ``directory`` and check that loading
    it is one ModelDirectoryError matching ``message``."""
    from safetensors.torch import save_file

    from gnn_mlc.errors import ModelDirectoryError
    from gnn_mlc.model_directory import write_manifest

    values = {"edge_index": torch.zeros((2, 1), dtype=torch.int64), "weight": torch.tensor([1.0]),
              "bias": torch.zeros(7), "targets": torch.tensor([5, 6]), "share": torch.tensor([0.5], dtype=torch.float64),
              **tensors}
    save_file(values, str(directory / "cold_teacher.safetensors"))
    write_manifest(directory)
    with pytest.raises(ModelDirectoryError, match=r"cold_teacher\.safetensors: " + message):
        load_model(directory)
