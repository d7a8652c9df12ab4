"""CSV and Parquet reading: list and delimited label columns, ids, vocabulary, and the error messages."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from gnn_mlc import DataError, Dataset, read_dataset


def test_read_csv_with_delimited_labels(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,a,b,labels\nu1,1.0,2,hiking|camping\nu2,3.5,4,\nu3,0,0,camping\n")
    data = read_dataset(path)
    assert data.label_names == ["camping", "hiking"]
    assert data.feature_names == ["a", "b"]
    assert data.ids.tolist() == ["u1", "u2", "u3"]
    np.testing.assert_array_equal(data.X, [[1, 2], [3.5, 4], [0, 0]])
    np.testing.assert_array_equal(data.Y, [[1, 1], [0, 0], [1, 0]])


def test_read_parquet_with_list_labels_and_given_vocabulary(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0], "tags": [["b"], ["a", "b"]]}), path)
    data = read_dataset(path, labels=["b", "a", "c"], label_column="tags")
    assert data.label_names == ["b", "a", "c"]
    np.testing.assert_array_equal(data.Y, [[1, 0, 0], [1, 1, 0]])
    assert data.ids is None


def test_demo_data_loads(demo_train):
    data = read_dataset(demo_train)
    assert data.num_rows == 3000 and data.num_features == 32 and data.num_labels == 48
    assert 3.0 < data.cardinality < 5.0


@pytest.mark.parametrize(
    ("table", "kwargs", "message"),
    [
        ({"x": [1.0], "labels": [["a"]]}, {"label_column": "tags"}, r"no label column 'tags'"),
        ({"x": [1.0], "labels": [["z"]]}, {"labels": ["a", "b"]}, r"row 0, column 'labels': unknown label 'z'"),
        ({"x": ["s"], "labels": [["a"]]}, {}, r"column 'x' has type string; expected a numeric feature column"),
        ({"x": [1.0, None], "labels": [["a"], ["a"]]}, {}, r"column 'x' is null at row 1"),
        ({"x": [1.0, float("nan")], "labels": [["a"], ["a"]]}, {}, r"column 'x' is nan at row 1; expected finite"),
        ({"x": [1.0], "labels": [[]]}, {}, r"holds no label at all"),
        ({"x": [1.0], "labels": [3]}, {}, r"label column 'labels' has type int64"),
        ({"x": [1.0], "labels": [["a"]]}, {"id_column": "user"}, r"no id column 'user'"),
    ],
)
def test_read_parquet_errors(tmp_path, table, kwargs, message):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table(table), path)
    with pytest.raises(DataError, match=message):
        read_dataset(path, **kwargs)


def test_read_corrupted_parquet(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot be read as PARQUET"):
        read_dataset(path)


def test_dataset_from_arrays_validates():
    with pytest.raises(DataError, match=r"X has 3 rows but Y has 2"):
        Dataset.from_arrays(np.zeros((3, 2)), np.zeros((2, 1)))
    with pytest.raises(DataError, match=r"Y: contains the value 2; expected only 0 and 1"):
        Dataset.from_arrays(np.zeros((2, 2)), np.array([[0], [2]]))
    with pytest.raises(DataError, match=r"X: 1 NaN or infinite value\(s\), first at row 1, column 0"):
        Dataset.from_arrays(np.array([[0.0, 1], [np.nan, 1]]), np.zeros((2, 1)))
    with pytest.raises(DataError, match=r"no label columns"):
        Dataset.from_arrays(np.zeros((2, 2)), np.zeros((2, 0)))
    sparse = Dataset.from_arrays(sp.random(4, 10, density=0.2, format="csr", random_state=0), np.eye(4)[:, :2])
    assert sp.issparse(sparse.X) and sparse.X.dtype == np.float32


def test_dataset_align_reorders_and_rejects_unknown_labels():
    data = Dataset.from_arrays(np.array([[1.0, 2.0]]), np.array([[1, 0]]), label_names=["b", "a"],
                               feature_names=["x", "y"])
    aligned = data.align(["a", "b", "c"], ["y", "x"])
    np.testing.assert_array_equal(aligned.Y, [[0, 1, 0]])
    np.testing.assert_array_equal(aligned.X, [[2.0, 1.0]])
    with pytest.raises(DataError, match=r"label 'b' is not known to the model"):
        data.align(["a"], ["x", "y"])
    with pytest.raises(DataError, match=r"has 2 features, the model expects 3; feature 'z' is missing"):
        data.align(["a", "b"], ["x", "y", "z"])
