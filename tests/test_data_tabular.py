"""CSV and Parquet reading: list and delimited label columns, ids, vocabulary, and the error messages."""

from __future__ import annotations

import logging

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
        ({"x": [b"s"], "labels": [["a"]]}, {}, r"column 'x' has type binary; expected a numeric feature column"),
        ({"x": [1.0, None], "labels": [["a"], ["a"]]}, {}, r"column 'x' is null at row 1"),
        ({"x": [1.0, float("nan")], "labels": [["a"], ["a"]]}, {}, r"column 'x' is nan at row 1; expected finite"),
        ({"x": [1.0], "labels": [[]]}, {}, r"holds no label at all"),
        ({"x": [1.0], "labels": [3]}, {}, r"column 'labels' has type int64; expected a list of label names"),
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


def test_dataset_align_marks_labels_the_data_lacks_as_unknown():
    # An ARFF file or an array declares its label columns: a model label it lacks has no values.
    for Y in (np.array([[1, 0], [0, 1]]), sp.csr_matrix(np.array([[1, 0], [0, 1]]))):
        data = Dataset.from_arrays(np.ones((2, 1)), Y, label_names=["b", "a"], feature_names=["x"])
        assert data.missing_labels(["a", "b", "c", "d"]) == ["c", "d"]
        aligned = data.align(["c", "a", "b", "d"], ["x"])
        missing = aligned.Y_missing.toarray() if sp.issparse(aligned.Y_missing) else aligned.Y_missing
        np.testing.assert_array_equal(missing, [[1, 0, 0, 1], [1, 0, 0, 1]])
        np.testing.assert_array_equal(aligned.Y.toarray() if sp.issparse(aligned.Y) else aligned.Y,
                                      [[0, 0, 1, 0], [0, 1, 0, 0]])


def test_dataset_align_keeps_unmentioned_labels_of_a_table_as_negatives(tmp_path):
    # A table's rows list all their labels: a label no row mentions is 0 everywhere, not unknown.
    path = tmp_path / "d.csv"
    path.write_text("x,labels\n1,a\n2,\n")
    data = read_dataset(path)
    assert data.missing_labels(["a", "b"]) == []
    aligned = data.align(["a", "b"], ["x"])
    assert aligned.Y_missing is None
    np.testing.assert_array_equal(aligned.Y, [[1, 0], [0, 0]])


def test_feature_and_exclude_columns_choose_the_features(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("userId,a,b,c,labels\n10,1,2,3,x\n11,4,5,6,y\n")
    data = read_dataset(path, exclude_columns=["userId"])
    assert data.feature_names == ["a", "b", "c"] and data.dropped_attributes == ["userId"]
    data = read_dataset(path, feature_columns=["c", "a"])
    assert data.feature_names == ["c", "a"]
    np.testing.assert_array_equal(data.X, [[3, 1], [6, 4]])
    assert read_dataset(path, feature_columns=["a", "b"], exclude_columns=["b"]).feature_names == ["a"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exclude_columns": ["usrId"]}, (r"exclude_columns names 'usrId', which is not a column \(did you mean "
                                          r"'userId'\?\).*Hint: check --exclude-columns")),
        ({"feature_columns": ["a", "bb"]}, r"feature_columns names 'bb', which is not a column"),
        ({"feature_columns": ["a", "labels"]}, r"feature_columns names 'labels', the label column"),
        ({"feature_columns": ["a", "a"]}, r"feature_columns names 'a' twice"),
    ],
)
def test_feature_and_exclude_columns_errors(tmp_path, kwargs, message):
    path = tmp_path / "d.csv"
    path.write_text("userId,a,b,labels\n10,1,2,x\n")
    with pytest.raises(DataError, match=message):
        read_dataset(path, **kwargs)


def test_feature_columns_are_for_tables_only(tmp_path):
    path = tmp_path / "m.arff"
    path.write_text("@relation 'M: -C 1'\n@attribute y {0,1}\n@attribute x numeric\n@data\n1,3\n")
    with pytest.raises(DataError, match=r"m\.arff: feature_columns, exclude_columns, known_column and item_columns name columns of a CSV"):
        read_dataset(path, exclude_columns=["x"])


@pytest.mark.parametrize("name", ["userId", "user_id", "ID"])
def test_an_identifier_like_feature_is_logged(tmp_path, caplog, name):
    path = tmp_path / "d.csv"
    path.write_text(f"{name},a,labels\n7,1,x\n3,2,y\n12,1,x\n")
    with caplog.at_level(logging.WARNING, logger="gnn_mlc.data.tabular"):
        assert name in read_dataset(path).feature_names
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert f"feature column {name!r} looks like an identifier" in messages[0]
    assert messages[0].endswith(f"Hint: --id-column {name} or --exclude-columns {name}")


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("userId,a,labels\n7,1,x\n7,2,y\n", {}),  # repeated values: not an identifier
        ("userId,a,labels\n7.5,1,x\n3,2,y\n", {}),  # not integers
        ("grid,a,labels\n7,1,x\n3,2,y\n", {"id_column": "a"}),  # an id column is there
        ("userId,a,labels\n7,1,x\n3,2,y\n", {"feature_columns": ["userId", "a"]}),  # features chosen explicitly
    ],
)
def test_no_identifier_warning_otherwise(tmp_path, caplog, text, kwargs):
    path = tmp_path / "d.csv"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="gnn_mlc.data.tabular"):
        read_dataset(path, **kwargs)
    assert not caplog.records


def test_csv_ids_are_read_as_written(tmp_path):
    path = tmp_path / "d.csv"
    long_id = "12345678901234567890123"  # beyond int64 and float64 precision
    path.write_text(f"id,x,labels\n007,1,a\n7,2,a\n0007,3,a\n{long_id},4,a\n1.10,5,a\n1.1,6,a\n")
    assert read_dataset(path).ids.tolist() == ["007", "7", "0007", long_id, "1.10", "1.1"]


def test_csv_ids_of_the_training_id_column_are_read_as_written(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("user,x,labels\n007,1,a\n7,2,a\n")
    data = read_dataset(path, training_id_column="user")
    assert data.id_column == "user" and data.ids.tolist() == ["007", "7"] and data.feature_names == ["x"]
    # Absent from the file, it is no error: 'id', or else no id column, as before.
    assert read_dataset(path, training_id_column="account").id_column is None


def test_a_missing_id_is_an_error_naming_the_row(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("id,x,labels\nu1,1,a\n,2,a\n")
    with pytest.raises(DataError, match=r"d\.csv: row 1 has no id \(null or empty\) in column 'id'"):
        read_dataset(csv)
    parquet = tmp_path / "d.parquet"
    pq.write_table(pa.table({"id": [1, 2, None, None], "x": [1.0] * 4, "labels": [["a"]] * 4}), parquet)
    with pytest.raises(DataError, match=r"d\.parquet: row 2 has no id \(null or empty\) in column 'id'"):
        read_dataset(parquet)


@pytest.mark.parametrize("index", ["__index_level_0__", "row_key"])
def test_a_saved_pandas_index_is_never_a_feature_and_dropped_columns_are_logged(tmp_path, caplog, index):
    """df[df.x > 0].to_parquet() keeps the filtered index as a column: it must not become a silent feature."""
    import json

    table = pa.table({"x": [1.0, 2.0, 3.0], "note": ["a", "b", "c"], index: pa.array([4, 9, 11]),
                      "labels": [["a"], ["b"], ["a"]]})
    metadata = {"index_columns": [index], "columns": [], "pandas_version": "2.2.0"}
    pq.write_table(table.replace_schema_metadata({b"pandas": json.dumps(metadata).encode()}), tmp_path / "d.parquet")
    with caplog.at_level(logging.INFO, logger="gnn_mlc.data.tabular"):
        data = read_dataset(tmp_path / "d.parquet", exclude_columns=["note"])
    assert data.feature_names == ["x"]
    assert index in data.dropped_attributes
    messages = [record.getMessage() for record in caplog.records]
    assert any(f"columns that are not features: 'note' (excluded), '{index}' (pandas index)" in message
               for message in messages), messages
    with pytest.raises(DataError, match=rf"feature_columns names '{index}', the pandas index column; expected "
                                        "feature columns only"):
        read_dataset(tmp_path / "d.parquet", feature_columns=["x", index])


def test_a_range_index_and_foreign_metadata_are_no_columns(tmp_path):
    import json

    from gnn_mlc.data.tabular import pandas_index_columns

    ranged = {"index_columns": [{"kind": "range", "start": 0, "stop": 2, "step": 1}]}
    assert pandas_index_columns(pa.schema([("x", pa.float64())], metadata={b"pandas": json.dumps(ranged)})) == []
    assert pandas_index_columns(pa.schema([("x", pa.float64())], metadata={b"pandas": b"not json"})) == []
    assert pandas_index_columns(pa.schema([("x", pa.float64())])) == []
