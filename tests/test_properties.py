"""Property-based tests (hypothesis): loaders read back what was written; metrics stay in range, do not depend on
label order, and equal scikit-learn's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn import metrics as sk

from gnn_mlc import read_dataset
from gnn_mlc.evaluation.metrics import evaluate

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def labelled_data(draw, max_rows: int = 12, max_features: int = 5, max_labels: int = 5):
    rows = draw(st.integers(1, max_rows))
    features = draw(st.integers(1, max_features))
    labels = draw(st.integers(1, max_labels))
    X = draw(arrays(np.float32, (rows, features), elements=st.floats(-1e4, 1e4, width=32)))
    Y = draw(arrays(np.uint8, (rows, labels), elements=st.integers(0, 1)))
    return X, Y


def write_arff(path, X, Y, *, sparse: bool) -> None:
    lines = ["@relation 'prop: -C %d'" % -Y.shape[1]]
    lines += [f"@attribute f{j} numeric" for j in range(X.shape[1])]
    lines += [f"@attribute 'label {j}' {{0,1}}" for j in range(Y.shape[1])]
    lines.append("@data")
    for x, y in zip(X, Y):
        values = [repr(float(v)) for v in x] + [str(int(v)) for v in y]
        if sparse:
            lines.append("{" + ",".join(f"{i} {v}" for i, v in enumerate(values) if float(v) != 0) + "}")
        else:
            lines.append(",".join(values))
    path.write_text("\n".join(lines) + "\n")


@PROPERTY
@given(data=labelled_data(), sparse=st.booleans())
def test_arff_written_and_read_back_gives_the_same_arrays(tmp_path, data, sparse):
    X, Y = data
    path = tmp_path / "prop.arff"
    write_arff(path, X, Y, sparse=sparse)
    back = read_dataset(path)
    dense_X = back.X.toarray() if sparse else back.X
    dense_Y = back.Y.toarray() if sparse else back.Y
    np.testing.assert_array_equal(dense_X, X)
    np.testing.assert_array_equal(dense_Y, Y)
    assert back.label_names == [f"label {j}" for j in range(Y.shape[1])]


@PROPERTY
@given(data=labelled_data())
def test_parquet_written_and_read_back_gives_the_same_arrays(tmp_path, data):
    X, Y = data
    names = [f"tag|{j}".replace("|", "-") for j in range(Y.shape[1])]
    columns = {f"x{j}": pa.array(X[:, j]) for j in range(X.shape[1])}
    columns["labels"] = pa.array([[names[j] for j in np.flatnonzero(row)] for row in Y], pa.list_(pa.string()))
    path = tmp_path / "prop.parquet"
    pq.write_table(pa.table(columns), path)
    back = read_dataset(path, labels=names)
    np.testing.assert_array_equal(back.X, X)
    np.testing.assert_array_equal(back.Y, Y)


@st.composite
def scored_labels(draw):
    rows = draw(st.integers(1, 15))
    labels = draw(st.integers(2, 6))
    y_true = draw(arrays(np.uint8, (rows, labels), elements=st.integers(0, 1)))
    # Distinct scores (a random permutation of a grid), so rankings have no ties.
    order = draw(st.permutations(range(rows * labels)))
    y_score = (np.array(order, dtype=np.float64).reshape(rows, labels) + 0.5) / (rows * labels)
    return y_true, y_score


@PROPERTY
@given(case=scored_labels(), seed=st.integers(0, 1000))
def test_metrics_in_range_label_order_invariant_and_equal_to_sklearn(case, seed):
    y_true, y_score = case
    y_pred = (y_score >= 0.5).astype(np.uint8)
    result = evaluate(y_true, y_score, y_pred=y_pred, ks=(1, 2))
    for name, value in result.items():
        if name in ("coverage", "map_labels_excluded"):
            assert 0 <= value <= y_true.shape[1]
        elif np.isfinite(value):
            assert 0.0 <= value <= 1.0 + 1e-12, name
    permutation = np.random.default_rng(seed).permutation(y_true.shape[1])
    permuted = evaluate(y_true[:, permutation], y_score[:, permutation], y_pred=y_pred[:, permutation], ks=(1, 2))
    for name, value in result.items():
        assert np.isclose(permuted[name], value, equal_nan=True), name
    assert np.isclose(result["hamming_loss"], sk.hamming_loss(y_true, y_pred))
    assert np.isclose(result["micro_f1"], sk.f1_score(y_true, y_pred, average="micro", zero_division=0))
    assert np.isclose(result["macro_f1"], sk.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert np.isclose(result["lrap"], sk.label_ranking_average_precision_score(y_true, y_score))
    assert np.isclose(result["coverage"], sk.coverage_error(y_true, y_score))
    assert np.isclose(result["ranking_loss"], sk.label_ranking_loss(y_true, y_score))
    kept = y_true.any(axis=0)
    if kept.any():
        expected = np.mean([sk.average_precision_score(y_true[:, j], y_score[:, j]) for j in np.flatnonzero(kept)])
        assert np.isclose(result["map"], expected)
