"""The known -> target transition beside EASE^R: its weights against the dense formula, the out-of-fold choice on
rows whose targets follow their known labels, and the served model (refit, directory, added labels)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import LabelGCNClassifier, load_model
from gnn_mlc.cli import _known_summary
from gnn_mlc.training import transition
from gnn_mlc.training.blend import row_ndcg
from gnn_mlc.training.cold_columns import conditional_columns, mixed_columns
from gnn_mlc.training.ease import ease_scores, ease_weights, gram, term_weights
from gnn_mlc.training.regularisation import choose_regularisation, fold_of_rows
from gnn_mlc.training.transition import TRANSITION_REGULARISATIONS, choose_transition, transition_weights

FAST = {"max_epochs": 8, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64, "random_state": 0}
ITEMS = 16


def _sequences(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (noise), known labels and targets of rows that walk a cycle of :data:`ITEMS` items: a row knows
    items p, p+1, p+2 and its targets are p+3, p+4 (mod the cycle), with one random item known in a fifth of them.
    Every row's labels are a window, so EASE^R scores the items before the known ones as high as those after."""
    rng = np.random.default_rng(seed)
    known, targets = np.zeros((rows, ITEMS), np.uint8), np.zeros((rows, ITEMS), np.uint8)
    for row, start in enumerate(rng.integers(0, ITEMS, rows)):
        known[row, (start + np.arange(3)) % ITEMS] = 1
        targets[row, (start + np.arange(3, 5)) % ITEMS] = 1
        if rng.random() < 0.2:
            known[row, rng.integers(0, ITEMS)] = 1
    targets[known > 0] = 0
    return rng.normal(size=(rows, 4)).astype(np.float32), known, targets


def _folds(rows: int) -> np.ndarray:
    return fold_of_rows(rows, 0)


def test_the_spectra_kept_from_the_choice_of_lambda_choose_as_the_transition_would_alone():
    _, known, targets = _sequences(12, 12)  # a fold's other rows are fewer than the labels: decomposed from rows
    K, Y = sp.csr_matrix(known), sp.csr_matrix(targets)
    every = sp.csr_matrix(K + Y)
    spectra: dict = {}
    choose_regularisation(every, None, seed=0, spectra=spectra)
    assert sorted(spectra) == [0, 1, 2]
    alone = choose_transition(K, Y, every, None, gram(every), 10.0, fold=_folds(12), seed=0)
    shared = choose_transition(K, Y, every, None, gram(every), 10.0, fold=_folds(12), seed=0, spectra=spectra)
    assert alone[1].keys() == shared[1].keys()
    for key, figure in alone[1].items():
        assert shared[1][key] == pytest.approx(figure, abs=1e-9)


@pytest.mark.parametrize("rows", [8, 200])  # fewer rows than labels (an (n, n) system), and more
def test_transition_weights_are_the_ridge_regression_of_the_targets_on_the_known_labels(rows):
    _, known, targets = _sequences(rows, 0)
    K, Y = known.astype(np.float64), targets.astype(np.float64)
    expected = np.linalg.solve(K.T @ K + 30.0 * np.eye(ITEMS), K.T @ Y)
    np.testing.assert_allclose(transition_weights(sp.csr_matrix(known), sp.csr_matrix(targets), 30.0), expected,
                               rtol=1e-4, atol=1e-5)
    given = sp.csr_matrix(_sequences(10, 11)[1])
    np.testing.assert_allclose(transition_weights(sp.csr_matrix(known), sp.csr_matrix(targets), 30.0, given=given),
                               given.toarray() @ expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rows", [8, 200])  # fewer rows than labels (their inner products), and more (the Gram)
def test_every_lambda_t_from_one_decomposition_equals_the_solve(rows):
    _, known, targets = _sequences(rows, 1)
    given = sp.csr_matrix(_sequences(20, 2)[1])
    scores = transition._transition_scores(sp.csr_matrix(known), sp.csr_matrix(targets), given,
                                           TRANSITION_REGULARISATIONS + (30.0, 3000.0))
    for value in TRANSITION_REGULARISATIONS + (30.0, 3000.0):
        expected = given.toarray() @ transition_weights(sp.csr_matrix(known), sp.csr_matrix(targets), value)
        np.testing.assert_allclose(scores[value], expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rows", [8, 200])  # fewer rows than labels (their inner products), and more
def test_the_folds_item_item_scores_are_ease_of_their_rows(rows):
    _, known, targets = _sequences(rows, 9)
    every = sp.csr_matrix(known + targets)
    given = sp.csr_matrix(_sequences(20, 10)[1], dtype=np.float32)
    np.testing.assert_allclose(ease_scores(every, lambda: gram(every), given, 10.0, [slice(0, 7), slice(7, 20)]),
                               given.toarray() @ ease_weights(gram(every), 10.0), rtol=1e-4, atol=1e-5)


def test_the_transition_is_chosen_where_the_targets_follow_the_known_labels_and_ranks_them_first():
    _, known, targets = _sequences(600, 3)
    K, Y = sp.csr_matrix(known), sp.csr_matrix(targets)
    every = sp.csr_matrix(K + Y)
    chosen, figures = choose_transition(K, Y, every, None, gram(every), 10.0, fold=_folds(K.shape[0]), seed=0)
    assert chosen is not None and chosen.weight > 0
    assert figures[f"lambda {chosen.regularisation:g} share {0:g}"] < max(figures.values())
    _, new_known, new_targets = _sequences(200, 4)
    given = sp.csr_matrix(new_known, dtype=np.float32)
    alone = np.asarray(given @ ease_weights(gram(every), 10.0))
    mixed = alone + given @ chosen.weights_without()
    assert row_ndcg(mixed, given, sp.csr_matrix(new_targets)).mean() > row_ndcg(
        alone, given, sp.csr_matrix(new_targets)).mean() + 0.1


def test_a_label_without_a_transition_keeps_its_place_beside_the_others():
    B = np.array([[0.0, 2.0, 2.0], [1.0, 0.0, 1.0], [1.0, 1.0, 0.0]], np.float32)
    T = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)  # only into label 1
    np.testing.assert_allclose(transition.with_transition(B, T, 0.2),
                               [[0.0, 3.0, 2.5], [1.25, 0.0, 1.25], [1.25, 2.0, 0.0]])  # labels 0 and 2 scaled


def test_without_rows_is_the_transition_of_the_other_rows_and_rows_lacking_targets_count_for_nothing():
    _, known, targets = _sequences(300, 5)
    targets[:40] = 0  # these rows know labels but say nothing of what follows
    K, Y = sp.csr_matrix(known), sp.csr_matrix(targets)
    chosen, _ = choose_transition(K, Y, sp.csr_matrix(K + Y), None, gram(sp.csr_matrix(K + Y)), 10.0,
                                  fold=_folds(K.shape[0]), seed=0)
    assert chosen is not None
    left_out = np.arange(40, 90)
    kept = np.setdiff1d(np.arange(40, 300), left_out)
    np.testing.assert_allclose(
        chosen.weights_without(left_out),
        chosen.weight * transition_weights(K[kept], Y[kept], chosen.regularisation), rtol=1e-5, atol=1e-6)


def test_no_transition_above_the_dense_budget_or_without_rows_that_have_both(monkeypatch):
    _, known, targets = _sequences(100, 6)
    K, Y = sp.csr_matrix(known), sp.csr_matrix(targets)
    every = sp.csr_matrix(K + Y)
    assert choose_transition(K, sp.csr_matrix(Y.shape, dtype=np.uint8), every, None, gram(every), 10.0,
                             fold=_folds(K.shape[0]), seed=0) == (None, {})
    monkeypatch.setattr(transition, "DENSE_TERM_LABELS", ITEMS - 1)
    assert choose_transition(K, Y, every, None, gram(every), 10.0, fold=_folds(K.shape[0]), seed=0) == (None, {})


@pytest.fixture(scope="module")
def sequence_model():
    X, known, targets = _sequences(600, 7)
    model = LabelGCNClassifier(**FAST).fit(X, known + targets, known_labels=known,
                                           label_names=[f"i{j}" for j in range(ITEMS)])
    return model, known, targets


def test_the_served_term_is_ease_plus_the_chosen_transition_refitted_on_every_row(sequence_model):
    model, known, targets = sequence_model
    term, figures = model.fitted_.known_term, model.fitted_.metrics["known_term"]
    assert term.transition is not None
    assert figures["transition"]["weight"] > 0 and figures["transition_ndcg@10"]
    every = sp.csr_matrix(known + targets)
    expected = ease_weights(gram(every), term.regularisation) + figures["transition"]["weight"] * transition_weights(
        sp.csr_matrix(known), sp.csr_matrix(targets), figures["transition"]["regularisation"])
    np.testing.assert_allclose(term.matrix, expected, rtol=1e-4, atol=1e-5)  # every label is some row's target
    assert term.transition_share == figures["transition"]["share"] > 0
    history = np.zeros((1, ITEMS), np.uint8)
    history[0, [5, 6, 7]] = 1
    scores = model.predict_proba(np.zeros((1, 4), np.float32), known_labels=history)[0]
    assert scores[8] > scores[4] and scores[9] > scores[3]  # what follows, not what came before
    chosen = figures["transition"]
    assert (f"lambda {figures['regularisation']} + transition (lambda_T {chosen['regularisation']:g}, weight "
            f"{chosen['weight']:.3g})") in _known_summary(model.fitted_.metrics)


def test_a_random_known_split_fits_no_transition():
    X, known, targets = _sequences(400, 8)
    model = LabelGCNClassifier(**FAST).fit(X, known + targets, known_labels="split")
    assert model.fitted_.known_term.transition is None
    assert model.fitted_.metrics["known_term"]["transition"] is None


def test_the_transition_survives_the_directory_and_added_labels_keep_it(sequence_model, tmp_path):
    model, known, _ = sequence_model
    model.to_directory(tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(reloaded.fitted_.known_term.transition, model.fitted_.known_term.transition)
    X = np.zeros((5, 4), np.float32)
    np.testing.assert_array_equal(reloaded.predict_proba(X, known_labels=known[:5]),
                                  model.predict_proba(X, known_labels=known[:5]))
    log = np.zeros((50, ITEMS + 1), np.uint8)
    log[:, [2, 3, ITEMS]] = 1  # a new item travelling with items 2 and 3
    extended = model.add_labels(graph_data=log, graph_label_names=[f"i{j}" for j in range(ITEMS)] + ["new"])
    term = extended.fitted_.known_term
    grown = np.pad(model.fitted_.known_term.transition, (0, 1))
    np.testing.assert_array_equal(term.transition, grown)
    assert reloaded.fitted_.known_term.transition_share == term.transition_share > 0
    B = term_weights(term.gram, term.regularisation)
    np.testing.assert_allclose(term.matrix[:, :ITEMS], B[:, :ITEMS] + grown[:, :ITEMS], rtol=1e-5, atol=1e-6)
    # the new item has no transition: its item-item column (a cold label's mix) stands in for it, in the mix's units
    cold = np.array([ITEMS])
    np.testing.assert_array_equal(term.cold_labels, cold)
    np.testing.assert_array_equal(term.log_counts, log.sum(axis=0))  # the fit had no log: this one's counts
    conditional = conditional_columns(term.gram, cold, log.sum(axis=0))
    np.testing.assert_allclose(term.matrix[:, cold], mixed_columns(B[:, cold], term.gram, cold, conditional)
                               / (1 - term.transition_share), rtol=1e-5, atol=1e-7)
    assert term.matrix[[2, 3], ITEMS].min() > 0  # the new item is scored from the history


def test_a_held_out_term_adds_the_transition_of_the_other_rows_and_scales_the_labels_it_lacks():
    from gnn_mlc.training.blend import HeldOutRows
    from gnn_mlc.training.known_labels import fit_held_out_term

    _, known, targets = _sequences(300, 13)
    targets[:, 15] = 0  # label 15 is never a target: the transition has no weight into it
    K, Y = sp.csr_matrix(known), sp.csr_matrix(targets)
    every = sp.csr_matrix(K + Y)
    term = transition.TransitionTerm(known=K, targets=Y, regularisation=300.0, share=0.2, weight=0.7)
    held_rows = np.arange(40)
    held = HeldOutRows(rows=held_rows, known=K[held_rows], targets=Y[held_rows])
    others = every[40:]
    fitted = fit_held_out_term(others, lambda: gram(others), held, 10.0, calibration=(1.0, 0.0), transition=term)
    T = 0.7 * transition_weights(K[40:], Y[40:], 300.0)  # the other rows' only: the held-out rows' targets unseen
    factors = np.where(np.arange(ITEMS) == 15, 1 / 0.8, 1.0)
    expected = K[held_rows].toarray() @ (ease_weights(gram(others), 10.0) * factors + T)
    np.testing.assert_allclose(fitted.logits, expected, rtol=1e-4, atol=1e-5)


def test_labels_added_above_the_dense_budget_drop_the_transition_with_a_warning(sequence_model, monkeypatch, caplog):
    import gnn_mlc.training.ease as ease_module

    model, *_ = sequence_model
    monkeypatch.setattr(ease_module, "DENSE_TERM_LABELS", ITEMS)  # the added label takes the term above the budget
    log = np.zeros((50, ITEMS + 1), np.uint8)
    log[:, [2, 3, ITEMS]] = 1
    with caplog.at_level("WARNING", logger="gnn_mlc"):
        extended = model.add_labels(graph_data=log, graph_label_names=[f"i{j}" for j in range(ITEMS)] + ["new"])
    term = extended.fitted_.known_term
    assert "without the transition" in caplog.text
    assert sp.issparse(term.matrix) and term.transition is None and term.transition_share == 0.0
    assert np.isfinite(term.matrix.data).all() and not term.matrix.diagonal().any()
    with pytest.raises(TypeError, match="must be dense"):
        transition.with_transition(term.matrix, np.zeros((ITEMS + 1, ITEMS + 1), np.float32), 0.2)


def test_a_directory_with_a_transition_of_another_shape_or_share_is_one_clear_error(sequence_model, tmp_path,
                                                                                     capsys):
    from safetensors.torch import load_file, save_file

    from gnn_mlc.cli import main
    from gnn_mlc.errors import ModelDirectoryError
    from gnn_mlc.model_directory import write_manifest

    model, *_ = sequence_model
    for name, value in (("transition", torch.zeros((3, 3))), ("transition_share", torch.tensor([1.0], dtype=torch.float64))):
        model.to_directory(tmp_path / name)
        tensors = load_file(str(tmp_path / name / "known_labels.safetensors"))
        tensors[name] = value
        save_file(tensors, str(tmp_path / name / "known_labels.safetensors"))
        write_manifest(tmp_path / name)
        with pytest.raises(ModelDirectoryError, match=f"invalid \\({name}.*any transition as a matrix"):
            load_model(tmp_path / name)
        capsys.readouterr()
        assert main(["inspect", "--model", str(tmp_path / name), "--label", "i0"]) == 2  # the CLI: one line, code 2
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and f"invalid ({name}" in error[0] and "Traceback" not in error[0]


def test_out_of_fold_each_fold_adds_the_transition_of_the_other_rows():
    from gnn_mlc.training.known_labels import calibrate, held_out_rows, out_of_fold_figures

    X, known, targets = _sequences(90, 14)
    K, Y = sp.csr_matrix(known), sp.csr_matrix(targets)
    every = sp.csr_matrix(K + Y)
    term = transition.TransitionTerm(known=K, targets=Y, regularisation=300.0, share=0.2, weight=0.5)
    seen: list[np.ndarray] = []

    class Network:  # a stand-in for the fold's fitted network
        def decision_function(self, features, device):
            return np.zeros((len(features), ITEMS), np.float32)

    def fold_parts(rows):
        seen.append(rows)
        return held_out_rows(every, K, rows, seed=0), Network()

    _, calibration = out_of_fold_figures(gram(every), every, 10.0, X, fold_parts, device="cpu", seed=4,
                                         transition=term)
    calibrations = []
    for rows in seen[:3]:  # by hand: EASE^R and the transition of the other rows, calibrated on the fold
        others = np.setdiff1d(np.arange(90), rows)
        held = held_out_rows(every, K, rows, seed=0)
        weights = transition.with_transition(ease_weights(gram(every[others]), 10.0).astype(np.float32),
                                             0.5 * transition_weights(K[others], Y[others], 300.0), 0.2)
        evidence = (held.known @ weights).astype(np.float32)
        calibrations.append(calibrate(evidence, held.targets, held.known,
                                      rows=np.flatnonzero(held.known.getnnz(axis=1) > 0)))
    assert calibration == pytest.approx(tuple(np.mean(calibrations, axis=0)), rel=1e-4)
