"""Known labels: the EASE^R weights, the message-passing term, training with them, and every path that scores."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import DataError, LabelGCNClassifier, Scorer, load_model
from gnn_mlc.cli import _known_summary, main
from gnn_mlc.evaluation import evaluate
from gnn_mlc.training import ease
from gnn_mlc.training.blend import (
    BLENDS,
    BlendFigures,
    HeldOutRows,
    blend_figures,
)
from gnn_mlc.training.ease import (
    ease_scores_by_regularisation,
    ease_weights,
    gram,
    gram_spectrum,
    neighbourhood_ease_weights,
    rows_spectrum,
)
from gnn_mlc.training.known_labels import calibrate, fit_held_out_term
from gnn_mlc.training.regularisation import choose_regularisation, random_known_split

FAST = {"max_epochs": 8, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64, "random_state": 0}


def test_ease_weights_solve_one_ridge_regression_per_label():
    rng = np.random.default_rng(0)
    X = (rng.random((60, 6)) < 0.4).astype(np.float64)
    B = ease_weights(gram(sp.csr_matrix(X)), 3.0)
    assert np.all(np.diag(B) == 0)
    for j in range(6):  # column j: label j regressed on the others with penalty 3 (Steck 2019's definition)
        others = np.delete(np.arange(6), j)
        ridge = np.linalg.solve(X[:, others].T @ X[:, others] + 3.0 * np.eye(5), X[:, others].T @ X[:, j])
        np.testing.assert_allclose(B[others, j], ridge, rtol=1e-8, atol=1e-10)


def test_every_regularisation_from_one_eigendecomposition_equals_the_inverse():
    rng = np.random.default_rng(0)
    rows = sp.csr_matrix((rng.random((80, 7)) < 0.4).astype(np.float64))
    known = sp.csr_matrix((rng.random((10, 7)) < 0.3).astype(np.float64))
    scores = ease_scores_by_regularisation(gram_spectrum(gram(rows).toarray()), known, (1.0, 30.0, 3000.0))
    for value in (1.0, 30.0):
        np.testing.assert_allclose(scores[value], known @ ease_weights(gram(rows), value), rtol=1e-4, atol=1e-5)
    # at a large lambda the scores are small differences: they must hold to the float32 they are returned in
    np.testing.assert_allclose(scores[3000.0], (known @ ease_weights(gram(rows), 3000.0)).astype(np.float32),
                               rtol=1e-5, atol=1e-9)


def test_with_fewer_rows_than_labels_the_rows_svd_gives_the_same_scores_as_the_gram_matrix():
    rng = np.random.default_rng(1)
    dense = (rng.random((9, 30)) < 0.3).astype(np.uint8)  # rank <= 9 of 30: 21 eigenvalues are 0
    dense[4] = 0  # an empty row adds nothing
    rows = sp.csr_matrix(dense)
    known = sp.csr_matrix((rng.random((6, 30)) < 0.2).astype(np.float64))
    eigenvalues, V = rows_spectrum(rows)
    assert V.shape == (30, 8)
    np.testing.assert_allclose(V.T @ V, np.eye(8), atol=1e-12)
    for value, scores in ease_scores_by_regularisation((eigenvalues, V), known, (1.0, 30.0, 3000.0)).items():
        np.testing.assert_allclose(scores, (known @ ease_weights(gram(rows), value)).astype(np.float32),
                                   rtol=1e-5, atol=1e-9)


def test_lambda_is_chosen_the_same_from_the_rows_as_from_their_gram_matrix(monkeypatch):
    import gnn_mlc.training.regularisation as regularisation

    rng = np.random.default_rng(2)
    every = sp.csr_matrix((rng.random((40, 60)) < 0.15).astype(np.uint8))  # 40 rows + 10 log rows < 60 labels
    log_rows = sp.csr_matrix((rng.random((10, 60)) < 0.15).astype(np.uint8))
    calls = []
    spectrum_of_rows = regularisation.rows_spectrum
    monkeypatch.setattr(regularisation, "rows_spectrum",
                        lambda rows: calls.append(rows.shape) or spectrum_of_rows(rows))
    by_rows = choose_regularisation(every, log_rows, seed=0)
    assert len(calls) == regularisation.FOLDS
    # the Gram matrix's route: each fold's G is the whole Gram matrix less the fold's rows', built independently
    monkeypatch.setattr(regularisation.ease, "solved_from_rows", lambda num_rows, num_labels: False)
    assert by_rows == pytest.approx(choose_regularisation(every, log_rows, seed=0), abs=1e-6)
    assert len(calls) == regularisation.FOLDS
    given = gram(every) + gram(log_rows)
    assert by_rows == pytest.approx(choose_regularisation(every, log_rows, seed=0, total=given), abs=1e-6)


def test_calibration_recovers_the_scale_and_bias_from_a_sample_of_rows(monkeypatch):
    import gnn_mlc.training.known_labels as known_labels

    rng = np.random.default_rng(0)
    evidence = rng.normal(size=(4000, 50)).astype(np.float32)
    targets = sp.csr_matrix((rng.random((4000, 50)) < 1 / (1 + np.exp(-(2.0 * evidence - 1.0)))).astype(np.uint8))
    known = sp.csr_matrix((4000, 50), dtype=np.uint8)
    whole = calibrate(evidence, targets, known)
    np.testing.assert_allclose(whole, (2.0, -1.0), atol=0.1)
    monkeypatch.setattr(known_labels, "CALIBRATION_VALUES", 50_000)  # a quarter of the rows
    np.testing.assert_allclose(calibrate(evidence, targets, known), whole, atol=0.1)


def test_calibration_on_chosen_rows_is_calibration_on_their_copy(monkeypatch):
    import gnn_mlc.training.known_labels as known_labels

    rng = np.random.default_rng(1)
    evidence = rng.normal(size=(600, 30)).astype(np.float32)
    targets = sp.csr_matrix((rng.random((600, 30)) < 1 / (1 + np.exp(-(1.5 * evidence - 2.0)))).astype(np.uint8))
    known = sp.csr_matrix((rng.random((600, 30)) < 0.05).astype(np.uint8))
    rows = np.flatnonzero(rng.random(600) < 0.6)
    for values in (2**22, 3_000):  # every chosen row, then a sample of 100 of them
        monkeypatch.setattr(known_labels, "CALIBRATION_VALUES", values)
        copied = calibrate(evidence[rows], targets[rows], known[rows])
        assert calibrate(evidence, targets, known, rows=rows) == copied


def test_held_out_logits_in_row_blocks_are_the_dense_formula(monkeypatch):
    import gnn_mlc.training.blend as blend_module

    rng = np.random.default_rng(2)
    every = sp.csr_matrix((rng.random((300, 40)) < 0.15).astype(np.uint8))
    known = random_known_split(every[:25], rng)
    held = HeldOutRows(rows=np.arange(25), known=known, targets=sp.csr_matrix(every[:25] - known, dtype=np.uint8))
    # exact EASE^R (dense B), from fewer rows than labels (their inner products), then the neighbourhood form
    for dense_budget, fitted in ((64, every[25:]), (64, every[25:50]), (8, every[25:])):
        G = gram(fitted)
        monkeypatch.setattr(ease, "DENSE_TERM_LABELS", dense_budget)
        monkeypatch.setattr(blend_module, "BLOCK_ROWS", 1024)
        whole = fit_held_out_term(fitted, lambda: G, held, 10.0)  # noqa: B023 (called at once)
        monkeypatch.setattr(blend_module, "BLOCK_ROWS", 4)  # 7 blocks
        term = fit_held_out_term(fitted, lambda: G, held, 10.0)  # noqa: B023
        B = ease.term_weights(G, 10.0)
        B = B.toarray() if sp.issparse(B) else B
        expected = term.weights.scale * (known.toarray() @ B) + term.weights.bias
        np.testing.assert_allclose(term.logits, expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(term.logits, whole.logits)


def _baskets(seed: int = 0):
    """Rows whose labels come from 3 latent tastes; the features are pure noise, so only known labels can help."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 3, 900)
    Y = np.zeros((900, 12), dtype=np.uint8)
    for row, group in enumerate(taste):
        Y[row, group * 4 + rng.choice(4, 3, replace=False)] = 1
        Y[row, rng.integers(0, 12)] = 1
    return rng.normal(size=(900, 5)).astype(np.float32), Y


def _ndcg(model, X, known, targets, *, with_known: bool) -> float:
    scores = model.predict_proba(X, known_labels=known if with_known else None)
    return evaluate(targets, scores, ks=(10,), missing=known)["ndcg@10"]


@pytest.fixture(scope="module")
def known_model():
    X, Y = _baskets()
    model = LabelGCNClassifier(**FAST).fit(X[:700], Y[:700], known_labels="split",
                                           feature_names=[f"f{j}" for j in range(5)])
    known = random_known_split(sp.csr_matrix(Y[700:]), np.random.default_rng(1)).toarray()
    return model, X[700:], known, Y[700:] - known


def test_the_network_s_share_is_recorded_and_said_where_it_keeps_the_term(known_model):
    model, *_ = known_model
    figures = model.fitted_.metrics["known_term"]
    means = figures["blend_ndcg@10"]
    assert figures["network_share"] == pytest.approx(means["term 0 + network 1"] / means["term 1 + network 0"])
    assert figures["network_share"] < 0.8 and figures["blend"] == [1.0, 0.0]  # noise features: a weak network
    share = f"{figures['network_share']:.2f}"
    assert _known_summary(model.fitted_.metrics).endswith(
        f"; the network alone at {share} of the term alone (< 0.8) is not blended in")
    older = {"known_term": {key: value for key, value in figures.items() if key != "network_share"}}
    assert "not blended in" not in _known_summary(older)  # a model saved before the share was recorded
    reloaded = {"known_term": {**figures, "network_share": None}}  # inf, as metrics.json writes it: null
    assert "not blended in" not in _known_summary(reloaded)
    empty_term = BlendFigures(per_row={blend: np.array([0.0, 0.5 * (blend == BLENDS[-1])]) for blend in BLENDS},
                              rows=np.arange(2), with_history=np.ones(2, dtype=bool))
    assert empty_term.network_share == float("inf")  # the term alone ranks nothing right: the network may blend
    no_rows = BlendFigures(per_row={blend: np.zeros(0) for blend in BLENDS}, rows=np.zeros(0, dtype=int),
                           with_history=np.zeros(0, dtype=bool))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no empty-mean warning
        assert no_rows.network_share == float("inf")


def test_the_term_alone_skips_the_network_and_scores_as_the_rule_says(known_model):
    from dataclasses import replace

    model, X, known, _ = known_model
    fitted = replace(model.fitted_, known_term=replace(model.fitted_.known_term, network_weight=0.0))
    term = fitted.known_term
    rows = np.flatnonzero(known.sum(axis=1) > 0)
    parts = fitted.on_device("cpu")

    def refused(*_):
        raise AssertionError("the network ran")
    network = parts.encoder.forward
    object.__setattr__(parts.encoder, "forward", refused)  # the term alone must not run the network
    try:
        alone = fitted.logits(X[rows], known=sp.csr_matrix(known[rows])).numpy()
    finally:
        object.__setattr__(parts.encoder, "forward", network)
    weights = (np.asarray(term.matrix) * np.float32(term.scale)).astype(np.float16)  # scale * B in float16
    evidence = known[rows] @ weights.astype(np.float64)
    assert np.all(np.abs(alone - (evidence + term.bias)) <= 1e-5 + np.abs(evidence) * 2.0**-11)  # one rounding
    mixed = np.vstack([known[rows], np.zeros((1, known.shape[1]))])  # a row without history: the general path
    general = fitted.logits(np.vstack([X[rows], X[:1]]), known=sp.csr_matrix(mixed)).numpy()
    np.testing.assert_allclose(alone, general[:-1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(general[-1], fitted.logits(X[:1]).numpy()[0], rtol=1e-5, atol=1e-5)


def test_known_labels_are_used_as_evidence(known_model):
    model, X, known, targets = known_model
    assert _ndcg(model, X, known, targets, with_known=True) > _ndcg(model, X, known, targets, with_known=False) + 0.2
    figures = model.fitted_.metrics["known_term"]
    chosen = figures["blend"]
    assert chosen[0] == 1.0  # the features are noise: the term keeps its whole weight (the network's label biases,
    # a popularity prior, may still add to it where the held-out rows say so)
    assert figures["blend_ndcg@10"][f"term 1 + network {chosen[1]:g}"] >= figures["blend_ndcg@10"]["term 1 + network 0"]
    term = model.fitted_.known_term
    assert term.network_weight == chosen[1]  # the served model is the chosen one
    with pytest.raises(DataError, match=r"known_labels: shape \(200, 3\); expected \(200, 12\)"):
        model.predict_proba(X, known_labels=known[:, :3])
    plain = LabelGCNClassifier(**FAST).fit(X, targets)
    with pytest.raises(DataError, match=r"this model was not fitted with known labels"):
        plain.predict_proba(X, known_labels=known)


def test_the_served_term_is_the_one_chosen_refitted_on_every_training_row(known_model):
    model, *_ = known_model
    figures, term = model.fitted_.metrics["known_term"], model.fitted_.known_term
    by_regularisation = figures["term_ndcg@10_by_regularisation"]
    assert term.regularisation == figures["regularisation"] == float(max(by_regularisation, key=by_regularisation.get))
    blend = figures["blend"]
    assert (term.scale, term.bias, term.network_weight) == pytest.approx(
        (blend[0] * figures["held_out_scale"], blend[0] * figures["held_out_bias"], blend[1]))
    _, Y = _baskets()  # the fixture's training rows: the served B is EASE^R of all of them, not of the fitting part
    np.testing.assert_allclose(np.asarray(term.matrix), ease_weights(gram(sp.csr_matrix(Y[:700])), term.regularisation),
                               rtol=1e-5, atol=1e-6)


def test_out_of_fold_figures_score_each_fold_by_a_term_and_a_network_fitted_without_it():
    from gnn_mlc.training.known_labels import FOLDS, held_out_rows, out_of_fold_figures

    rng = np.random.default_rng(8)
    Y = sp.csr_matrix((rng.random((61, 8)) < 0.4).astype(np.uint8))
    X, W = rng.normal(size=(61, 3)), rng.normal(size=(3, 8))
    seen: list[np.ndarray] = []

    class Network:  # a stand-in for the fold's fitted network: fixed logits of the features
        def decision_function(self, features, device):
            return (features @ W).astype(np.float32)

    def fold_parts(rows):
        seen.append(rows)
        return held_out_rows(Y, None, rows, seed=0), Network()

    figures, calibration = out_of_fold_figures(gram(Y), Y, 10.0, X, fold_parts, device="cpu", seed=4)
    assert len(seen) == FOLDS and sorted(np.concatenate(seen).tolist()) == list(range(61))
    folds, calibrations = [], []
    for rows in seen[:FOLDS]:  # by hand: dense EASE^R of the other rows, calibrated on the fold
        held = held_out_rows(Y, None, rows, seed=0)
        evidence = (held.known @ ease_weights(gram(Y[np.setdiff1d(np.arange(61), rows)]).toarray(), 10.0))
        calibrations.append(calibrate(evidence.astype(np.float32), held.targets, held.known,
                                      rows=np.flatnonzero(held.known.getnnz(axis=1) > 0)))
        folds.append((held, evidence))
    assert calibration == pytest.approx(tuple(np.mean(calibrations, axis=0)), rel=1e-4)  # served: the folds' mean
    assert len({round(scale, 4) for scale, _ in calibrations}) > 1  # the folds' own calibrations differ ...
    scale, bias = calibration
    expected = []
    for held, evidence in folds:  # ... and every fold is scored under the served one, with the stand-in's logits
        expected.append(blend_figures((scale * evidence + bias).astype(np.float32),
                                      (X[held.rows] @ W).astype(np.float32), held))
        assert held.pairs == expected[-1].pairs  # the held-out rows count what the figures count
    for blend in BLENDS:
        np.testing.assert_allclose(figures.per_row[blend], np.concatenate([part.per_row[blend] for part in expected]),
                                   atol=1e-6)
    np.testing.assert_array_equal(figures.rows, np.concatenate([part.rows for part in expected]))
    assert figures.pairs == len(np.unique(np.concatenate([part.rows[part.with_history] for part in expected])))


def test_out_of_fold_without_a_history_in_any_fold_serves_no_calibration():
    from gnn_mlc.training.known_labels import held_out_rows, out_of_fold_figures

    rng = np.random.default_rng(9)
    Y = sp.csr_matrix((rng.random((30, 6)) < 0.4).astype(np.uint8))
    nothing_known = sp.csr_matrix(Y.shape, dtype=np.uint8)  # histories given, every one empty

    class Network:
        def decision_function(self, features, device):
            return np.zeros((len(features), 6), dtype=np.float32)

    figures, calibration = out_of_fold_figures(gram(Y), Y, 10.0, np.zeros((30, 2)),
                                               lambda rows: (held_out_rows(Y, nothing_known, rows, seed=0), Network()),
                                               device="cpu", seed=0)
    assert calibration is None and not figures.with_history.any()  # each fold took its default: nothing to serve
    assert len(figures.rows) == int((Y.getnnz(axis=1) > 0).sum())  # every row with a target, once


def test_few_held_out_pairs_choose_the_blend_out_of_fold_on_networks_that_never_saw_their_rows(monkeypatch, caplog):
    import gnn_mlc.training.fit as fit
    import gnn_mlc.training.known_labels as known_labels

    X, Y = _baskets(3)
    X, Y = X[:300], Y[:300].copy()
    Y[:, 11] = 0  # a label with no positive: its warning is logged once, not again by each fold's fit
    fold_inputs, fold_rows, calibrations = [], [], []
    original_fit, original_figures = fit.fit_model, known_labels.out_of_fold_figures

    def recording_fit(inputs, settings, **options):  # the estimator holds the original: only fold fits come here
        fold_inputs.append((inputs, options["validation_rows"]))
        return original_fit(inputs, settings, **options)

    def recording_figures(total, every, regularisation, X, fold_parts, **options):
        def parts(rows):
            fold_rows.append(rows)
            return fold_parts(rows)
        result = original_figures(total, every, regularisation, X, parts, **options)
        calibrations.append(result[1])
        return result

    monkeypatch.setattr(fit, "fit_model", recording_fit)
    monkeypatch.setattr(known_labels, "out_of_fold_figures", recording_figures)
    monkeypatch.setattr(known_labels, "CROSS_FIT_ROWS", 0)  # every validation set is enough: no fold fit
    figures = LabelGCNClassifier(**FAST).fit(X, Y, known_labels="split").fitted_.metrics["known_term"]
    assert figures["blend_chosen_on"] == "held-out rows" and not fold_inputs
    validation_pairs = figures["blend_rows"]
    monkeypatch.setattr(known_labels, "CROSS_FIT_ROWS", 10_000)  # none is: every training row, out of fold
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gnn_mlc"):
        model = LabelGCNClassifier(**FAST).fit(X, Y, known_labels="split")
    assert sum("with no positive" in record.getMessage() for record in caplog.records) == 1
    figures = model.fitted_.metrics["known_term"]
    assert figures["blend_chosen_on"] == "out of fold" and figures["blend_rows"] > 3 * validation_pairs
    assert len(fold_rows) == len(fold_inputs) == known_labels.FOLDS
    np.testing.assert_array_equal(np.sort(np.concatenate(fold_rows)), np.arange(300))  # the folds cover every row once
    for rows, (inputs, held_out) in zip(fold_rows, fold_inputs):
        np.testing.assert_array_equal(held_out, rows)  # the fold's rows early-stop its network, which never trains on them
        assert inputs.known is None  # a features-only network, as the served one
    assert model.fitted_.known_term.network_weight == figures["blend"][1]  # the served blend is the one chosen
    served = model.fitted_.known_term  # with the calibration the folds chose it with
    assert (served.scale, served.bias) == pytest.approx(tuple(figures["blend"][0] * v for v in calibrations[0]))
    assert f"chosen out of fold on {figures['blend_rows']} training rows" in _known_summary(model.fitted_.metrics)


def test_fit_model_refuses_validation_rows_that_leave_nothing_to_train_or_to_validate(monkeypatch):
    import gnn_mlc.training.fit as fit
    import gnn_mlc.training.known_labels as known_labels

    captured = {}

    class Captured(Exception):
        pass

    def capture(inputs, settings, **options):  # a fold's fit: its inputs and settings, then stop
        captured.update(inputs=inputs, settings=settings)
        raise Captured

    monkeypatch.setattr(fit, "fit_model", capture)
    monkeypatch.setattr(known_labels, "CROSS_FIT_ROWS", 10_000)
    X, Y = _baskets(3)
    with pytest.raises(Captured):
        LabelGCNClassifier(**FAST).fit(X[:120], Y[:120], known_labels="split")
    monkeypatch.undo()
    for rows in (np.arange(120), np.zeros(0, dtype=np.int64)):
        with pytest.raises(ValueError, match=r"validation_rows: \d+ of 120 rows; expected some rows for each"):
            fit.fit_model(captured["inputs"], captured["settings"], validation_rows=rows)


def test_known_labels_with_no_known_label_are_one_clear_error():
    X, Y = _baskets()
    with pytest.raises(DataError, match=r"known_labels: none of the 900 rows has a known label; expected at least "
                                        r"one\. Hint: leave known_labels out"):
        LabelGCNClassifier(**FAST).fit(X, Y, known_labels=np.zeros_like(Y))


def test_the_term_survives_the_directory_and_the_scorer_ranks_like_the_model(known_model, tmp_path):
    model, X, known, _ = known_model
    model.to_directory(tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(reloaded.predict_proba(X, known_labels=known), model.predict_proba(X, known_labels=known))
    names = np.asarray(model.classes_, dtype=object)
    table = pa.table({"id": pa.array(np.arange(len(X))), **{f"f{j}": pa.array(X[:, j]) for j in range(5)},
                      "owned": pa.array([list(names[row > 0]) for row in known], pa.list_(pa.string()))})
    scores = model.predict_proba(X, known_labels=known)
    scored, _ = Scorer(tmp_path / "m", top_k=4, known_column="owned", device="cpu").score_table(table)
    position = {name: j for j, name in enumerate(names)}
    for row, labels, owned in zip(scores, scored.column("labels").to_pylist(), known):
        chosen = [position[name] for name in labels]
        assert not owned[chosen].any()  # known labels are evidence and never recommended
        # the model's 4 best of the others, in order (equal scores, ties of float16 sums, may come in either order)
        np.testing.assert_array_equal(row[chosen], np.sort(row[owned == 0])[::-1][:4])
    kept, _ = Scorer(tmp_path / "m", top_k=12, known_column="owned", keep_known=True, device="cpu").score_table(table)
    assert all(len(row) == 12 for row in kept.column("labels").to_pylist())
    np.testing.assert_allclose(np.sort(np.array(kept.column("scores").to_pylist()), axis=1)[:, ::-1],
                               np.sort(scores, axis=1)[:, ::-1], rtol=1e-5, atol=1e-6)


def test_the_scorer_in_blocks_reads_histories_as_sets_in_any_order(known_model, tmp_path, monkeypatch):
    import gnn_mlc.serving.scorer as scorer_module

    model, X, known, _ = known_model
    model.to_directory(tmp_path / "m")
    names = np.asarray(model.classes_, dtype=object)
    rng = np.random.default_rng(5)
    histories = []
    for row in known:  # each name twice, shuffled: the same history
        owned = list(names[row > 0]) * 2
        rng.shuffle(owned)
        histories.append(owned)
    table = pa.table({"id": pa.array(np.arange(len(X))), **{f"f{j}": pa.array(X[:, j]) for j in range(5)},
                      "owned": pa.array(histories, pa.list_(pa.string()))})
    monkeypatch.setattr(scorer_module, "MAX_SCORES", 7 * len(names))  # blocks of 7 rows, the last one short
    scored, _ = Scorer(tmp_path / "m", top_k=len(names), known_column="owned", keep_known=True,
                       device="cpu").score_table(table)
    scores = model.predict_proba(X, known_labels=known)
    position = {name: j for j, name in enumerate(names)}
    for row, labels, values in zip(scores, scored.column("labels").to_pylist(), scored.column("scores").to_pylist()):
        np.testing.assert_allclose(values, row[[position[name] for name in labels]], rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(values, np.sort(row)[::-1], rtol=1e-6, atol=1e-7)


def test_the_scorer_takes_known_pairs_in_any_row_order(known_model, tmp_path):
    model, X, known, _ = known_model
    model.to_directory(tmp_path / "m")
    scorer = Scorer(tmp_path / "m", top_k=3, known_column="owned", device="cpu")
    rows, labels = np.nonzero(known)
    order = np.random.default_rng(0).permutation(len(rows))
    expected = model.fitted_.logits(X, known=sp.csr_matrix(known)).numpy()
    np.testing.assert_array_equal(scorer.logits(X, known=(rows, labels)).numpy(), expected)
    np.testing.assert_array_equal(scorer.logits(X, known=(rows[order], labels[order])).numpy(), expected)


def test_the_command_line_trains_scores_and_evaluates_with_a_known_column(tmp_path, capsys):
    X, Y = _baskets(2)
    known = random_known_split(sp.csr_matrix(Y), np.random.default_rng(3)).toarray()
    names = np.array([f"item{j}" for j in range(12)], dtype=object)

    def table(rows: slice) -> pa.Table:
        return pa.table({"id": pa.array([f"u{i}" for i in range(900)][rows]),
                         **{f"f{j}": pa.array(X[rows, j]) for j in range(5)},
                         "history": pa.array([list(names[row > 0]) for row in known[rows]], pa.list_(pa.string())),
                         "labels": pa.array([list(names[row > 0]) for row in (Y - known)[rows]],
                                            pa.list_(pa.string()))})

    pq.write_table(table(slice(0, 700)), tmp_path / "train.parquet")
    pq.write_table(table(slice(700, 900)), tmp_path / "test.parquet")
    assert main(["train", "--data", str(tmp_path / "train.parquet"), "--output", str(tmp_path / "m"),
                 "--known-column", "history", "--max-epochs", "5", "--quiet"]) == 0
    assert "known labels: term " in capsys.readouterr().out
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "test.parquet"),
                 "--known-column", "history", "--output", str(tmp_path / "report")]) == 0
    assert main(["score", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "test.parquet"),
                 "--output", str(tmp_path / "recs"), "--known-column", "history", "--top-k", "3", "--quiet"]) == 0
    recommended = pq.read_table(tmp_path / "recs").column("labels").to_pylist()
    history = pq.read_table(tmp_path / "test.parquet").column("history").to_pylist()
    assert all(not set(rec) & set(owned) for rec, owned in zip(recommended, history))


def _log_with_a_new_item(seed: int = 0):
    """Feature rows over items 0..10 (three tastes) and a label-only log where a new item, 'new', travels with the
    third taste's items (8, 9, 10)."""
    X, Y = _baskets(seed)
    Y[:, 11] = 0  # item 11 is never in a feature row
    rng = np.random.default_rng(seed + 5)
    log = np.zeros((300, 12), dtype=np.uint8)
    for row in range(300):
        taste = rng.integers(0, 3)
        log[row, taste * 4 + rng.choice(3, 2, replace=False)] = 1
        log[row, 11] = taste == 2
    names = [f"l{j}" for j in range(11)] + ["new"]
    return X, Y[:, :11], log, names


def test_a_new_item_of_the_log_is_scored_from_the_history():
    X, Y, log, names = _log_with_a_new_item()
    model = LabelGCNClassifier(**FAST).fit(X, Y, label_names=names[:11], known_labels="split", graph_data=log,
                                           graph_label_names=names)
    new = list(model.classes_).index("new")
    assert model.fitted_.known_term.matrix[[8, 9, 10], new].min() > 0  # incoming weights from its taste
    histories = np.zeros((2, 12), dtype=np.uint8)
    histories[0, [8, 9]] = 1  # the new item's taste
    histories[1, [0, 1]] = 1  # another taste
    scores = model.predict_proba(X[:1].repeat(2, axis=0), known_labels=histories)
    assert scores[0, new] > scores[1, new] + 0.05
    assert (np.argsort(-scores[0]) == new).nonzero()[0][0] < 4  # among the first recommendations of its taste


def test_added_labels_refit_the_term_with_their_log():
    X, Y, log, names = _log_with_a_new_item(1)
    model = LabelGCNClassifier(**FAST).fit(X, Y, label_names=names[:11], known_labels="split")
    extended = model.add_labels(graph_data=log, graph_label_names=names)
    new = list(extended.classes_).index("new")
    assert extended.fitted_.known_term.matrix[[8, 9, 10], new].min() > 0
    assert model.fitted_.known_term.matrix.shape == (11, 11)  # the source model is unchanged
    histories = np.zeros((2, 12), dtype=np.uint8)
    histories[0, [8, 9]] = 1
    histories[1, [0, 1]] = 1
    logits = extended.decision_function(X[:1].repeat(2, axis=0), known_labels=histories)
    assert logits[0, new] > logits[1, new] + 0.5  # the same features: the history alone moves it


def test_a_directory_of_the_older_term_format_loads_as_network_plus_term(known_model, tmp_path):
    """Before the blend, known_labels.safetensors held edges over the trained labels and a scale only."""
    from safetensors.torch import save_file

    from gnn_mlc.model_directory import write_manifest

    model, X, known, _ = known_model
    model.to_directory(tmp_path / "m")
    B = sp.coo_matrix(np.where(np.abs(model.fitted_.known_term.matrix) > 0.05, model.fitted_.known_term.matrix, 0))
    save_file({"edge_index": torch.from_numpy(np.stack([B.row, B.col]).astype(np.int64)),
               "weight": torch.from_numpy(B.data.astype(np.float32)), "scale": torch.tensor([2.0])},
              str(tmp_path / "m" / "known_labels.safetensors"))
    write_manifest(tmp_path / "m")
    term = load_model(tmp_path / "m").fitted_.known_term
    assert (term.scale, term.bias, term.network_weight, term.gram) == (2.0, 0.0, 1.0, None)
    assert (term.transition, term.transition_share) == (None, 0.0)
    np.testing.assert_allclose(term.matrix.toarray(), B.toarray())


@pytest.mark.parametrize(("value", "message"), [(np.nan, "contains the value nan"), (-1, r"contains the value -1\.0")])
def test_a_known_matrix_of_other_values_is_one_clear_error(known_model, value, message):
    model, X, known, _ = known_model
    bad = known.astype(np.float64)
    bad[0, 0] = value
    with pytest.raises(DataError, match=f"known_labels: {message}; expected only 0 and 1"):
        model.predict_proba(X, known_labels=bad)
    with pytest.raises(DataError, match=f"known_labels: {message}; expected only 0 and 1"):
        LabelGCNClassifier(**FAST).fit(X, known, known_labels=bad)


def test_a_label_both_known_and_a_target_counts_as_known():
    from gnn_mlc.training.known_labels import held_out_rows

    Y = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=np.uint8))
    known = sp.csr_matrix(np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0]], dtype=np.uint8))
    held = held_out_rows(Y, known, np.array([0, 1, 2]), seed=0)
    np.testing.assert_array_equal(held.targets.toarray(), [[0, 1, 0], [0, 0, 0], [1, 0, 1]])
    np.testing.assert_array_equal(held.known.toarray(), known.toarray())
    X, Y = _baskets(3)
    known = random_known_split(sp.csr_matrix(Y), np.random.default_rng(4)).toarray()
    model = LabelGCNClassifier(**FAST).fit(X, Y, known_labels=known)  # Y holds the known labels too: no error
    assert model.fitted_.known_term is not None


def test_predict_decides_on_the_scores_with_the_history(known_model):
    model, X, known, _ = known_model
    np.testing.assert_array_equal(model.predict(X, known_labels=known),
                                  model.decision_rule_.decide(model.predict_proba(X, known_labels=known)))


def test_neighbourhood_ease_is_ease_with_every_label_and_the_local_ridge_with_fewer():
    rows = sp.random(2000, 12, density=0.3, random_state=1, format="csr")
    rows.data[:] = 1.0
    G = gram(rows)
    np.testing.assert_allclose(neighbourhood_ease_weights(G, 5.0, 11).toarray(), ease_weights(G, 5.0), atol=1e-6)
    B = neighbourhood_ease_weights(G, 5.0, 4).toarray()
    for core in (0, 3):  # the systems gathered from the sparse rows (all, or beside a dense core): the same
        np.testing.assert_allclose(neighbourhood_ease_weights(G, 5.0, 4, core_labels=core).toarray(), B, atol=1e-6)
    dense = G.toarray()
    chain = gram(sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]])))
    sparse = neighbourhood_ease_weights(chain, 2.0, 3, core_labels=1).toarray()  # 0-1, 1-2; 3 alone
    assert sparse[0, 2] == sparse[2, 0] == 0.0 and not sparse[:, 3].any() and not sparse[3].any()
    dense_chain = chain.toarray()
    for target, hood in ((0, [1]), (1, [0, 2]), (2, [1])):  # the ridge on the labels that co-occur with it
        np.testing.assert_allclose(sparse[hood, target], np.linalg.solve(
            dense_chain[np.ix_(hood, hood)] + 2.0 * np.eye(len(hood)), dense_chain[hood, target]), rtol=1e-6)
    checked = 0
    for target in range(12):  # a dense reference: label t regressed on the 4 labels of largest cosine with it
        counts = np.where(np.arange(12) == target, -np.inf, dense[target] / np.sqrt(np.diag(dense)))
        hood = np.argsort(-counts, kind="stable")[:4]
        if counts[hood][-1] == np.sort(counts)[-5]:
            continue  # a tie at the neighbourhood's edge: either label may be taken
        local = np.linalg.solve(dense[np.ix_(hood, hood)] + 5.0 * np.eye(4), dense[hood, target])  # ridge
        np.testing.assert_allclose(B[hood, target], local, rtol=1e-5)
        assert np.count_nonzero(B[:, target]) <= 4
        checked += 1
    assert checked >= 8


def test_above_the_dense_budget_lambda_is_chosen_on_the_most_frequent_labels(monkeypatch):
    import gnn_mlc.training.regularisation as regularisation

    _, Y = _baskets(5)
    every = sp.csr_matrix(Y)
    whole = choose_regularisation(every, None, seed=0)
    monkeypatch.setattr(ease, "DENSE_TERM_LABELS", 4)
    monkeypatch.setattr(regularisation, "LAMBDA_LABELS", Y.shape[1])  # the sub-catalogue is every label: same
    assert choose_regularisation(every, None, seed=0) == pytest.approx(whole)
    monkeypatch.setattr(regularisation, "LAMBDA_LABELS", 3)
    cut = choose_regularisation(every, None, seed=0)
    frequent = np.sort(np.argsort(-Y.sum(axis=0), kind="stable")[:3])  # no log: frequency in the rows alone
    assert cut == pytest.approx(choose_regularisation(every[:, frequent], None, seed=0))
    assert cut != pytest.approx(whole)
    rare = int(np.argmin(Y.sum(axis=0)))  # a label the log makes the most frequent: it joins the sub-catalogue
    log_rows = np.zeros((Y.sum(axis=0).max() + 50, Y.shape[1]), dtype=np.uint8)
    log_rows[:, rare] = 1
    log_rows[::2, frequent[0]] = 1
    kept = np.sort(np.argsort(-(Y.sum(axis=0) + log_rows.sum(axis=0)), kind="stable")[:3])
    assert rare in kept
    log_rows = sp.csr_matrix(log_rows)
    assert choose_regularisation(every, log_rows, seed=0) == pytest.approx(
        choose_regularisation(every[:, kept], log_rows[:, kept], seed=0))


def test_above_the_dense_budget_the_term_is_neighbourhood_ease_and_survives_the_directory(monkeypatch, tmp_path):

    monkeypatch.setattr(ease, "DENSE_TERM_LABELS", 4)
    monkeypatch.setattr(ease, "NEIGHBOURS", 3)
    X, Y = _baskets(5)
    model = LabelGCNClassifier(**FAST).fit(X, Y, known_labels="split")
    term = model.fitted_.known_term
    assert sp.issparse(term.matrix) and np.diff(sp.csc_matrix(term.matrix).indptr).max() <= 3
    np.testing.assert_allclose(term.matrix.toarray(), neighbourhood_ease_weights(
        term.gram, term.regularisation, 3).toarray(), rtol=1e-6)  # the served form: the Gram matrix of every row
    known = random_known_split(sp.csr_matrix(Y[:50]), np.random.default_rng(0)).toarray()
    model.to_directory(tmp_path / "m")
    np.testing.assert_array_equal(load_model(tmp_path / "m").predict_proba(X[:50], known_labels=known),
                                  model.predict_proba(X[:50], known_labels=known))
