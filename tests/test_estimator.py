"""LabelGCNClassifier: fit/predict contract, determinism, sparse input kept sparse, and input errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import DataError, GnnMlcError, LabelGCNClassifier, read_dataset

FAST = {"max_epochs": 4, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64}


@pytest.fixture(scope="module")
def small():
    from tests.conftest import DEMO

    data = read_dataset(DEMO / "shop_train.parquet")
    return data.X[:600], data.Y[:600], data.label_names, data.feature_names


def test_fit_predict_shapes_and_types(small):
    X, Y, labels, features = small
    classifier = LabelGCNClassifier(random_state=0, **FAST).fit(X, Y, label_names=labels, feature_names=features)
    scores = classifier.predict_proba(X[:10])
    assert scores.shape == (10, Y.shape[1]) and scores.dtype == np.float32
    assert ((scores > 0) & (scores < 1)).all()
    decisions = classifier.predict(X[:10])
    # Default decisions: one global threshold tuned on the validation rows.
    assert classifier.decision_rule_.strategy == "global" and len(set(classifier.thresholds_.tolist())) == 1
    np.testing.assert_array_equal(decisions, (scores >= classifier.thresholds_).astype(np.uint8))
    assert list(classifier.classes_) == labels
    assert classifier.label_embeddings_.shape == (Y.shape[1], 16)
    assert classifier.graph_ is not None and classifier.graph_.num_labels == Y.shape[1]
    assert 1 <= classifier.training_.best_epoch <= 4


def test_fit_is_deterministic_on_cpu(small):
    X, Y, _, _ = small
    first = LabelGCNClassifier(random_state=3, device="cpu", **FAST).fit(X, Y)
    second = LabelGCNClassifier(random_state=3, device="cpu", **FAST).fit(X, Y)
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    for (name, a), (_, b) in zip(first.model_.state_dict().items(), second.model_.state_dict().items()):
        assert torch.equal(a, b), name
    other = LabelGCNClassifier(random_state=4, device="cpu", **FAST).fit(X, Y)
    assert not np.array_equal(first.predict_proba(X), other.predict_proba(X))


def test_fit_does_not_touch_the_global_torch_seed(small):
    X, Y, _, _ = small
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    LabelGCNClassifier(random_state=0, **{**FAST, "max_epochs": 1}).fit(X, Y)
    assert torch.equal(torch.rand(3), expected)


def test_no_graph_baseline(small):
    X, Y, _, _ = small
    baseline = LabelGCNClassifier(use_graph=False, random_state=0, **FAST).fit(X, Y)
    assert baseline.graph_ is None
    assert baseline.predict_proba(X[:5]).shape == (5, Y.shape[1])


def test_sparse_input_is_never_densified(monkeypatch):
    rng = np.random.default_rng(0)
    X = sp.random(300, 5000, density=0.01, format="csr", random_state=0, dtype=np.float32)
    Y = (rng.random((300, 6)) < 0.3).astype(np.uint8)
    Y[:, 0] = (X[:, :50].sum(axis=1).A1 > 0)

    def guard(method):
        def refuse_matrices(self, *args, **kwargs):
            # Per-column statistics (1, num_features) may be densified; a matrix of feature rows may not, not even a
            # batch (a batch of label rows is: the loss takes dense targets).
            if self.shape[0] > 1 and self.shape[1] == X.shape[1]:
                raise AssertionError(f"a sparse {self.shape} feature matrix was densified")
            return method(self, *args, **kwargs)

        return refuse_matrices

    for cls in (sp.csr_matrix, sp.coo_matrix, sp.csr_array, sp.coo_array):
        monkeypatch.setattr(cls, "toarray", guard(cls.toarray))
        monkeypatch.setattr(cls, "todense", guard(cls.todense))
    classifier = LabelGCNClassifier(random_state=0, **FAST).fit(X, Y)
    assert classifier.predict_proba(X[:20]).shape == (20, 6)


def test_input_errors(small):
    X, Y, _, _ = small
    classifier = LabelGCNClassifier(random_state=0, **{**FAST, "max_epochs": 1}).fit(X, Y)
    with pytest.raises(DataError, match=r"X: has 31 features; expected 32, as in training"):
        classifier.predict_proba(X[:, :31])
    bad = X[:5].copy()
    bad[2, 4] = np.inf
    with pytest.raises(DataError, match=r"first at row 2, column 4"):
        classifier.predict(bad)
    with pytest.raises(DataError, match=r"X has 600 rows but Y has 599"):
        LabelGCNClassifier(**FAST).fit(X, Y[:-1])
    with pytest.raises(DataError, match=r"Y: has 1 dimension"):
        LabelGCNClassifier(**FAST).fit(X, Y[:, 0])
    with pytest.raises(DataError, match=r"The 'hidden_channels' parameter of LabelGCNClassifier must be an integer "
                       r"in \[1, 65536\]; got 0 instead"):
        LabelGCNClassifier(hidden_channels=0).fit(X, Y)
    with pytest.raises(DataError, match=r"The 'embedding_dim' parameter of LabelGCNClassifier must be an integer "
                       r"in \[1, 65536\]; got 1000000000000 instead"):
        LabelGCNClassifier(embedding_dim=10**12).fit(X, Y)
    with pytest.raises(DataError, match=r"no rows"):
        LabelGCNClassifier(**FAST).fit(X[:0], Y[:0])


def test_not_fitted_error():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LabelGCNClassifier().predict_proba(np.zeros((1, 3)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_cuda_requested_without_cuda(small):
    X, Y, _, _ = small
    with pytest.raises(GnnMlcError, match=r"device: 'cuda' was requested but CUDA is not available"):
        LabelGCNClassifier(device="cuda", **FAST).fit(X, Y)
