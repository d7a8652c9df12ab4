"""The extreme-classification text format: what scikit-learn's writer writes reads back exactly, with and without
the XC header, and a model trains and predicts from such files."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
from sklearn.datasets import dump_svmlight_file

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.cli import main
from tests.conftest import SHARED_DATASETS


def _random_xc(rows: int = 300, features: int = 40, labels: int = 7, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = sp.random(rows, features, density=0.15, format="csr", random_state=seed, dtype=np.float64)
    X.data = np.round(X.data, 3) + 0.001
    Y = (rng.random((rows, labels)) < 0.25).astype(np.uint8)
    Y[:, -1] = 0  # a label no row has: only the header can say it exists
    Y[0] = 0  # a row without labels
    return sp.csr_matrix(X, dtype=np.float32), Y


def _write_xc(path, X, Y, *, header: bool) -> None:
    """The XC format as the repository ships it: scikit-learn's multi-label svmlight lines after a header."""
    body = path.with_suffix(".body")
    dump_svmlight_file(X, sp.csr_matrix(Y), str(body), zero_based=True, multilabel=True)
    text = body.read_text()
    path.write_text((f"{X.shape[0]} {X.shape[1]} {Y.shape[1]}\n" if header else "") + text)


def test_xc_file_reads_back_what_scikit_learn_wrote(tmp_path):
    X, Y = _random_xc()
    _write_xc(tmp_path / "train.txt", X, Y, header=True)
    data = read_dataset(tmp_path / "train.txt")
    assert sp.isspmatrix_csr(data.X) and sp.isspmatrix_csr(data.Y)
    np.testing.assert_allclose(data.X.toarray(), X.toarray(), rtol=1e-6)
    np.testing.assert_array_equal(data.Y.toarray(), Y)
    assert data.label_names == [str(j) for j in range(7)] and data.feature_names[:2] == ["f0", "f1"]
    _write_xc(tmp_path / "plain.svm", X, Y, header=False)  # headerless: the labels and features seen
    plain = read_dataset(tmp_path / "plain.svm")
    assert plain.num_labels == 6 and plain.num_features <= 40
    np.testing.assert_array_equal(plain.Y.toarray(), Y[:, :6])


def test_shared_bibtex_through_the_xc_format_equals_the_arff(tmp_path):
    arff = SHARED_DATASETS / "bibtex" / "bibtex-train.arff"
    if not arff.exists():
        pytest.skip(f"shared data set not found at {arff}")
    data = read_dataset(arff)
    _write_xc(tmp_path / "bibtex.txt", data.X, data.Y.toarray() if sp.issparse(data.Y) else data.Y, header=True)
    again = read_dataset(tmp_path / "bibtex.txt")
    assert (again.X != sp.csr_matrix(data.X)).nnz == 0
    assert (again.Y != sp.csr_matrix(data.Y)).nnz == 0


def test_train_and_predict_from_xc_files(tmp_path, capsys):
    X, Y = _random_xc(rows=400)
    _write_xc(tmp_path / "train.txt", X[:300], Y[:300], header=True)
    _write_xc(tmp_path / "test.txt", X[300:], Y[300:], header=True)
    model = tmp_path / "model"
    assert main(["train", "--data", str(tmp_path / "train.txt"), "--output", str(model), "--quiet",
                 "--epochs", "3"]) == 0
    assert main(["predict", "--model", str(model), "--input", str(tmp_path / "test.txt"), "--output",
                 str(tmp_path / "recs.parquet"), "--top-k", "2"]) == 0
    assert main(["evaluate", "--model", str(model), "--data", str(tmp_path / "test.txt")]) == 0
    classifier = LabelGCNClassifier.from_directory(model)
    probabilities = classifier.predict_proba(read_dataset(tmp_path / "test.txt").X)
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :2]
    recommendations = pq.read_table(tmp_path / "recs.parquet")
    assert recommendations.column("row").to_pylist() == list(range(100))
    assert recommendations.column("labels").to_pylist() == [list(classifier.classes_[row]) for row in best]


def test_a_headerless_file_that_stops_short_of_the_last_features_scores(tmp_path, capsys):
    X, Y = _random_xc(rows=400)
    X = X.tolil()
    X[300:, 35:] = 0  # the test rows never reach the last 5 features: a headerless file cannot say they exist
    X = X.tocsr()
    _write_xc(tmp_path / "train.txt", X[:300], Y[:300], header=True)
    _write_xc(tmp_path / "test.txt", X[300:], Y[300:], header=False)
    assert read_dataset(tmp_path / "test.txt").num_features < 40
    model = tmp_path / "model"
    assert main(["train", "--data", str(tmp_path / "train.txt"), "--output", str(model), "--quiet",
                 "--max-epochs", "2"]) == 0
    assert main(["predict", "--model", str(model), "--input", str(tmp_path / "test.txt"), "--output",
                 str(tmp_path / "recs.parquet"), "--top-k", "2"]) == 0
    assert main(["evaluate", "--model", str(model), "--data", str(tmp_path / "test.txt")]) == 0
    classifier = LabelGCNClassifier.from_directory(model)
    probabilities = classifier.predict_proba(X[300:])  # the full-width rows
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :2]
    labels = pq.read_table(tmp_path / "recs.parquet").column("labels").to_pylist()
    assert labels == [list(classifier.classes_[row]) for row in best]


def test_a_headerless_file_past_the_models_last_feature_is_refused(tmp_path):
    from gnn_mlc.errors import DataError

    X, Y = _random_xc(rows=50, features=10)
    _write_xc(tmp_path / "wide.txt", sp.hstack([X, sp.csr_matrix(np.ones((50, 1), np.float32))]).tocsr(), Y,
              header=False)
    data = read_dataset(tmp_path / "wide.txt")
    with pytest.raises(DataError, match="feature 'f10' is not the model's"):
        data.features_as([f"f{j}" for j in range(10)])


def test_predict_sends_xc_rows_with_nan_infinite_or_huge_features_to_the_rejects(tmp_path, capsys):
    X, Y = _random_xc(rows=320)
    _write_xc(tmp_path / "train.txt", X[:300], Y[:300], header=True)
    model = tmp_path / "model"
    assert main(["train", "--data", str(tmp_path / "train.txt"), "--output", str(model), "--quiet",
                 "--epochs", "1"]) == 0
    (tmp_path / "test.txt").write_text("4 40 7\n0 1:0.5\n1 2:nan 3:1\n 0:1 4:inf\n2 5:1e39\n")
    assert main(["predict", "--model", str(model), "--input", str(tmp_path / "test.txt"), "--output",
                 str(tmp_path / "recs.parquet"), "--top-k", "2"]) == 0
    assert "1 rows" in capsys.readouterr().out
    recommendations = pq.read_table(tmp_path / "recs.parquet")
    assert recommendations.column("row").to_pylist() == [0]
    assert np.isfinite(np.concatenate(recommendations.column("scores").to_pylist())).all()
    assert pq.read_table(tmp_path / "recs.rejects.parquet").to_pylist() == [
        {"row": 1, "reason": "f2: missing or NaN"}, {"row": 2, "reason": "f4: infinite or beyond the float32 range"},
        {"row": 3, "reason": "f5: infinite or beyond the float32 range"}]


def test_a_file_wider_than_the_cap_is_refused_before_anything_that_wide_is_made(tmp_path):
    from gnn_mlc.errors import DataError

    (tmp_path / "header.txt").write_text("10 1000000000 5\n0 1:1\n")
    (tmp_path / "index.svm").write_text("0 1:1\n1 999999999:1\n")
    (tmp_path / "label.svm").write_text("0,99999999 1:1\n")
    for name, message in (("header.txt", r"the header says 1,000,000,000 features; expected at most 4,194,304"),
                          ("index.svm", r"its indices give 1,000,000,000 features; expected at most 4,194,304"),
                          ("label.svm", r"its indices give 100,000,000 labels; expected at most 4,194,304")):
        with pytest.raises(DataError, match=message):
            read_dataset(tmp_path / name)
