"""The term's columns of labels only a label-only log carries: EASE^R's column mixed with the conditional
probabilities, against the dense formulas, in the served term, the held-out term, the directory and added labels."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import LabelGCNClassifier, load_model
from gnn_mlc.cli import _known_summary
from gnn_mlc.training.cold_columns import CONDITIONAL_SHARE, cold_labels, conditional_columns, mixed_columns
from gnn_mlc.training.ease import ease_columns_of_rows, ease_weights, gram, rows_solved

FAST = {"max_epochs": 6, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64, "random_state": 0}
LABELS = 10
NEW = 9
"""The label the feature rows never carry; the log does, with labels 1 and 2 mostly."""
NAMES = [f"i{j}" for j in range(LABELS)]


def _rows(rows: int, seed: int) -> np.ndarray:
    """(rows, LABELS) 0/1: every row has 3 labels of one of two groups (labels 0-4 or 5-8), none has :data:`NEW`."""
    rng = np.random.default_rng(seed)
    Y = np.zeros((rows, LABELS), np.uint8)
    for row in range(rows):
        group = np.arange(5) if rng.random() < 0.5 else np.arange(5, NEW)
        Y[row, rng.choice(group, 3, replace=False)] = 1
    return Y


def _log(rows: int, seed: int) -> np.ndarray:
    """Label-only rows: :data:`NEW` with labels 1 and 2 in most, with label 5 in a few, beside random others."""
    Y = _rows(rows, seed)
    Y[: rows // 2, [1, 2, NEW]] = 1
    Y[rows // 2: rows // 2 + 5, [5, NEW]] = 1
    return Y


@pytest.fixture(scope="module")
def cold_model():
    Y, log = _rows(300, 0), _log(80, 1)
    X = np.random.default_rng(2).normal(size=(300, 4)).astype(np.float32)
    model = LabelGCNClassifier(**FAST).fit(X, Y, label_names=NAMES, known_labels="split", graph_data=log,
                                           graph_label_names=NAMES)
    return model, Y, log


def test_ease_columns_of_fewer_rows_than_labels_are_the_columns_of_the_whole_solution():
    rows = sp.csr_matrix(_rows(6, 3))
    rows = sp.csr_matrix(sp.vstack([rows, sp.csr_matrix((2, LABELS))]))  # empty rows add nothing
    labels = np.array([2, 7, NEW])  # NEW: no positive, its column 0
    assert rows_solved(rows, LABELS) and not rows_solved(sp.csr_matrix(_rows(LABELS, 3)), LABELS)
    for regularisation in (0.5, 5.0, 3000.0):
        np.testing.assert_allclose(ease_columns_of_rows(rows, labels, regularisation),
                                   ease_weights(gram(rows), regularisation)[:, labels], atol=1e-10)


def test_conditional_columns_count_each_label_with_every_other():
    rows = _log(40, 4)
    rows[:, 0] = 0  # a label with no positive: no conditional probability from it
    G = gram(sp.csr_matrix(rows))
    expected = np.zeros((LABELS, 2))
    for place, c in enumerate((NEW, 1)):
        for j in range(1, LABELS):
            if j != c:
                expected[j, place] = (rows[:, j] & rows[:, c]).sum() / rows[:, j].sum()  # P(c | j)
    np.testing.assert_allclose(conditional_columns(G, np.array([NEW, 1])), expected)
    np.testing.assert_allclose(conditional_columns(G.toarray(), np.array([NEW, 1])), expected)
    # counted over other rows (the log's, where the feature rows never carry a cold label): divided by their counts
    counts = np.arange(LABELS, dtype=np.float64) + 100.0
    counted = conditional_columns(G, np.array([NEW, 1]), counts)
    np.testing.assert_allclose(counted, expected * rows.sum(axis=0)[:, None] / counts[:, None])


def test_the_mix_points_between_the_two_columns_and_keeps_eases_mean_score_on_the_labels_rows():
    rows = _log(40, 5).astype(np.float64)
    G = gram(sp.csr_matrix(rows)).toarray()
    labels = np.array([NEW, 3])
    b = ease_weights(G, 10.0)[:, labels]
    p = conditional_columns(G, labels)
    np.testing.assert_allclose(mixed_columns(b, G, labels, p, share=0.0), b, rtol=1e-5, atol=1e-7)  # EASE^R's own
    mixed = mixed_columns(b, G, labels, p)
    direction = (1 - CONDITIONAL_SHARE) * b / np.linalg.norm(b, axis=0) + CONDITIONAL_SHARE * p / np.linalg.norm(
        p, axis=0)
    for place, label in enumerate(labels):
        column = mixed[:, place]
        np.testing.assert_allclose(column / np.linalg.norm(column), direction[:, place] / np.linalg.norm(
            direction[:, place]), rtol=1e-5)
        carriers = rows[rows[:, label] > 0]  # the rows that have the label: the same mean score as EASE^R's column
        np.testing.assert_allclose((carriers @ column).mean(), (carriers @ b[:, place]).mean(), rtol=1e-5)
    np.testing.assert_allclose(mixed_columns(b, sp.csr_matrix(G), labels, p), mixed, rtol=1e-6)
    alone = rows.copy()
    alone[:, NEW] = 0
    alone[:3] = 0
    alone[:3, NEW] = 1  # a label that never comes with another: no column either way
    G = gram(sp.csr_matrix(alone)).toarray()
    assert not mixed_columns(ease_weights(G, 10.0)[:, [NEW]], G, np.array([NEW]),
                             conditional_columns(G, np.array([NEW]))).any()


def test_a_fit_with_a_log_serves_the_new_labels_column_mixed_and_the_others_as_ease(cold_model):
    model, Y, log = cold_model
    term = model.fitted_.known_term
    np.testing.assert_array_equal(cold_labels(sp.csr_matrix(Y), sp.csr_matrix(log)), [NEW])
    np.testing.assert_array_equal(term.cold_labels, [NEW])
    assert model.fitted_.metrics["known_term"]["cold_labels"] == 1
    assert "; 1 label(s) only the log carries, their columns mixed" in _known_summary(model.fitted_.metrics)
    G = gram(sp.csr_matrix(np.vstack([Y, log])))
    B = ease_weights(G, term.regularisation)
    np.testing.assert_allclose(term.matrix[:, :NEW], B[:, :NEW], rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(term.log_counts, log.sum(axis=0))
    cold = np.array([NEW])
    expected = mixed_columns(B[:, cold], G, cold, conditional_columns(G, cold, log.sum(axis=0)))[:, 0]
    np.testing.assert_allclose(term.matrix[:, NEW], expected, rtol=1e-4, atol=1e-6)
    assert not np.allclose(expected, B[:, NEW], rtol=1e-2)  # the mix moved it
    every_row = mixed_columns(B[:, cold], G, cold, conditional_columns(G, cold))[:, 0]
    assert not np.allclose(expected, every_row, rtol=1e-3)  # counted over the log's rows, not every row
    # a new item's score follows the history: above for a user with labels 1 and 2 than for one with 5 and 6
    X = np.zeros((2, 4), np.float32)
    histories = np.zeros((2, LABELS), np.uint8)
    histories[0, [1, 2]] = 1
    histories[1, [6, 7]] = 1
    scores = model.predict_proba(X, known_labels=histories)
    assert scores[0, NEW] > scores[1, NEW]


@pytest.mark.parametrize("others", [7, 100])  # fewer rows than labels (decomposed from the rows), and more
def test_the_held_out_term_mixes_the_new_labels_column_of_the_other_rows_then_adds_the_transition(others):
    from gnn_mlc.training.blend import HeldOutRows
    from gnn_mlc.training.known_labels import fit_held_out_term
    from gnn_mlc.training.transition import TransitionTerm, column_factors, transition_weights

    Y, log = _rows(20 + others, 6), _log(60 if others > LABELS else 2, 7)
    K = sp.csr_matrix(Y * (np.random.default_rng(8).random(Y.shape) < 0.5), dtype=np.uint8)
    T = sp.csr_matrix(Y - K.toarray(), dtype=np.uint8)
    held = HeldOutRows(rows=np.arange(20), known=K[:20], targets=T[:20])
    fitted_on = sp.csr_matrix(np.vstack([Y[20:], log]))
    G = gram(fitted_on)  # the held-out rows left out: with them, the check below fails
    transition = TransitionTerm(known=K, targets=T, regularisation=30.0, share=0.2, weight=0.5)
    cold, counts = np.array([NEW]), log.sum(axis=0)
    fitted = fit_held_out_term(fitted_on, lambda: G, held, 10.0, calibration=(1.0, 0.0), transition=transition,
                               cold=cold, log_counts=counts)
    B = ease_weights(G, 10.0)
    B[:, cold] = mixed_columns(B[:, cold], G, cold, conditional_columns(G, cold, counts))
    factors = column_factors(T[20:].getnnz(axis=0) > 0, 0.2)  # NEW is no row's target: scaled by 1 / 0.8
    assert factors[NEW] == pytest.approx(1.25)
    expected = K[:20].toarray() @ (B * factors + 0.5 * transition_weights(K[20:], T[20:], 30.0))
    np.testing.assert_allclose(fitted.logits, expected, rtol=1e-4, atol=1e-5)


def test_the_cold_labels_survive_the_directory_and_a_bad_list_is_one_clear_error(cold_model, tmp_path):
    from safetensors.torch import load_file, save_file

    from gnn_mlc.errors import ModelDirectoryError
    from gnn_mlc.model_directory import write_manifest

    model, Y, _ = cold_model
    model.to_directory(tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(reloaded.fitted_.known_term.cold_labels, [NEW])
    np.testing.assert_array_equal(reloaded.fitted_.known_term.log_counts, model.fitted_.known_term.log_counts)
    X = np.zeros((4, 4), np.float32)
    np.testing.assert_array_equal(reloaded.predict_proba(X, known_labels=Y[:4]),
                                  model.predict_proba(X, known_labels=Y[:4]))
    bad = [("cold_labels", name, value, "invalid \\(cold_labels.*increasing indices below 10") for name, value in (
        ("unsorted", torch.tensor([NEW, 2])), ("outside", torch.tensor([LABELS])), ("negative", torch.tensor([-1, 2])),
        ("empty", torch.zeros(0, dtype=torch.int64)), ("table", torch.tensor([[2, 3]])),
        ("fractions", torch.tensor([2.5, 3.0])))]
    bad += [("log_counts", name, value, "invalid \\(log_counts.*10 finite counts >= 0") for name, value in (
        ("short", torch.ones(LABELS - 1, dtype=torch.float64)), ("minus", torch.full((LABELS,), -1.0).double()))]
    bad.append(("log_counts", "nan", torch.full((LABELS,), float("nan")).double(), "'log_counts' holds NaN"))
    for key, name, value, message in bad:
        model.to_directory(tmp_path / name)
        tensors = load_file(str(tmp_path / name / "known_labels.safetensors"))
        tensors[key] = value
        save_file(tensors, str(tmp_path / name / "known_labels.safetensors"))
        write_manifest(tmp_path / name)
        with pytest.raises(ModelDirectoryError, match=message):
            load_model(tmp_path / name)


def test_labels_added_from_a_log_join_the_cold_labels_and_are_mixed_too(cold_model):
    model, *_ = cold_model
    log = np.zeros((30, LABELS + 1), np.uint8)
    log[:, [3, 4, LABELS]] = 1  # a label added later, travelling with labels 3 and 4
    log[:10, NEW] = 1
    extended = model.add_labels(graph_data=log, graph_label_names=NAMES + ["added"])
    term = extended.fitted_.known_term
    np.testing.assert_array_equal(term.cold_labels, [NEW, LABELS])
    cold = np.array([NEW, LABELS])
    counts = np.append(model.fitted_.known_term.log_counts, 0) + log.sum(axis=0)  # the fit's log and this one
    np.testing.assert_array_equal(term.log_counts, counts)
    B = ease_weights(term.gram, term.regularisation)
    np.testing.assert_allclose(term.matrix[:, cold], mixed_columns(B[:, cold], term.gram, cold, conditional_columns(
        term.gram, cold, counts)), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(term.matrix[:, :NEW], B[:, :NEW], rtol=1e-4, atol=1e-6)
    assert term.matrix[[3, 4], LABELS].min() > 0


def test_a_directory_written_before_the_log_counts_counts_its_cold_labels_over_every_row(cold_model, tmp_path):
    from safetensors.torch import load_file, save_file

    from gnn_mlc.model_directory import write_manifest

    model, *_ = cold_model
    model.to_directory(tmp_path / "older")
    tensors = load_file(str(tmp_path / "older" / "known_labels.safetensors"))
    del tensors["log_counts"]  # as written before them: cold labels, no counts
    save_file(tensors, str(tmp_path / "older" / "known_labels.safetensors"))
    write_manifest(tmp_path / "older")
    older = load_model(tmp_path / "older")
    assert older.fitted_.known_term.log_counts is None
    log = np.zeros((30, LABELS + 1), np.uint8)
    log[:, [3, 4, LABELS]] = 1
    term = older.add_labels(graph_data=log, graph_label_names=NAMES + ["added"]).fitted_.known_term
    assert term.log_counts is None
    cold = np.array([NEW, LABELS])
    B = ease_weights(term.gram, term.regularisation)
    np.testing.assert_allclose(term.matrix[:, cold], mixed_columns(B[:, cold], term.gram, cold, conditional_columns(
        term.gram, cold)), rtol=1e-4, atol=1e-6)


def test_above_the_dense_budget_the_new_labels_keep_the_neighbourhood_column(monkeypatch):
    import gnn_mlc.training.ease as ease_module
    from gnn_mlc.training.known_labels import served_weights

    monkeypatch.setattr(ease_module, "DENSE_TERM_LABELS", LABELS - 1)
    G = gram(sp.csr_matrix(np.vstack([_rows(50, 9), _log(30, 10)])))
    sparse = ease_module.term_weights(G, 10.0)
    assert sp.issparse(sparse)
    served = served_weights(G, 10.0, np.array([NEW]), None)
    assert sp.issparse(served) and (served != sparse).nnz == 0
