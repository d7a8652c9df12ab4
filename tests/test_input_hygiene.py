"""Reading refuses what would silently corrupt a data set: null or empty label names, repeated indices, attributes or
columns, label names that break the outputs, values float32 cannot hold; and reads what is valid (a UTF-8 BOM)."""

from __future__ import annotations

import codecs

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from gnn_mlc import DataError, Dataset, read_dataset
from gnn_mlc.data import read_arff

ARFF = "@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n"


def write_parquet(tmp_path, columns: dict) -> str:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_null_and_empty_names_in_a_label_list_are_no_label(tmp_path):
    labels = pa.array([["a", None], [None], ["", "b", " "], None], pa.list_(pa.string()))
    data = read_dataset(write_parquet(tmp_path, {"x": [1.0, 2.0, 3.0, 4.0], "labels": labels}))
    assert data.label_names == ["a", "b"]  # no label "None", "" or " "
    np.testing.assert_array_equal(data.Y, [[1, 0], [0, 0], [0, 1], [0, 0]])


def test_empty_names_in_a_delimited_label_string_are_no_label(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,labels\n1,a||b\n2,|\n")
    data = read_dataset(path)
    assert data.label_names == ["a", "b"]
    np.testing.assert_array_equal(data.Y, [[1, 1], [0, 0]])


@pytest.mark.parametrize(("name", "shown"), [("a|b", r"'\|'"), ("a\nb", r"'\\n'"), ("tab\there", r"'\\t'"),
                                             ("nul\x00", r"'\\x00'")])
def test_label_names_with_the_output_delimiter_or_control_characters_are_refused(tmp_path, name, shown):
    path = write_parquet(tmp_path, {"x": [1.0, 2.0], "labels": [["ok"], ["ok", name]]})
    with pytest.raises(DataError, match=rf"d\.parquet: row 1, column 'labels': label name .* contains {shown}; "
                                        r"expected no '\|' \(it separates labels in CSV output\)"):
        read_dataset(path)


def test_label_names_given_as_a_vocabulary_are_checked(tmp_path):
    path = write_parquet(tmp_path, {"x": [1.0], "labels": [["ok"]]})
    with pytest.raises(DataError, match=r"labels: label name 'a\|b' contains '\|'"):
        read_dataset(path, labels=["ok", "a|b"])


def test_arff_label_attribute_with_the_output_delimiter_is_refused_at_its_line(tmp_path):
    path = tmp_path / "t.arff"
    path.write_text("@relation 'r: -C -1'\n@attribute x numeric\n@attribute 'y|z' {0,1}\n@data\n1,0\n")
    with pytest.raises(DataError, match=r"t\.arff:3: label name 'y\|z' contains '\|'"):
        read_arff(path)


def test_arff_duplicate_sparse_index_is_an_error_not_last_wins(tmp_path):
    path = tmp_path / "t.arff"
    path.write_text(ARFF + "{0 1,1 1}\n{1 1, 1 0}\n")
    with pytest.raises(DataError, match=r"t\.arff:6: sparse index 1 appears twice in the row"):
        read_arff(path, labels=["y"])


def test_arff_duplicate_attribute_names_are_an_error(tmp_path):
    path = tmp_path / "t.arff"
    path.write_text("@relation r\n@attribute x numeric\n@attribute 'x' real\n@attribute y {0,1}\n@data\n1,2,0\n")
    with pytest.raises(DataError, match=r"t\.arff:3: attribute 'x' is declared again \(first at line 2\)"):
        read_arff(path, labels=["y"])


def test_csv_duplicate_column_names_are_an_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("id,x,x,labels\nu1,1,2,a\n")
    with pytest.raises(DataError, match=r"d\.csv:1 \(the header\): column name 'x' appears 2 times; expected unique"):
        read_dataset(path)


def test_parquet_duplicate_column_names_are_one_line_data_error(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([["a"]])],
                                        names=["x", "x", "labels"]), path)
    with pytest.raises(DataError, match=r"d\.parquet \(its schema\): column name 'x' appears 2 times"):
        read_dataset(path)


def test_features_beyond_float32_are_not_called_nan_or_infinite():
    dense = np.array([[1.0, 2.0], [3.0, -1e39]])
    with pytest.raises(DataError, match=r"X: 1 value\(s\) beyond the float32 range \(\|x\| > 3\.4e38\), first -1e\+39 "
                                        r"at row 1, column 1; .*Hint: rescale"):
        Dataset.from_arrays(dense, np.eye(2))
    with pytest.raises(DataError, match=r"X: 1 value\(s\) beyond the float32 range.*first 1e\+300 at row 1, column 0"):
        Dataset.from_arrays(sp.csr_matrix(np.array([[0.0, 1.0], [1e300, 0.0]])), np.eye(2))
    with pytest.raises(DataError, match=r"X: 1 NaN or infinite value\(s\), first at row 0, column 1"):
        Dataset.from_arrays(np.array([[1.0, np.inf], [3.0, 4.0]]), np.eye(2))


def test_table_feature_beyond_float32_names_column_and_row(tmp_path):
    path = write_parquet(tmp_path, {"x": [1.0, 2.0, 5e38], "labels": [["a"]] * 3})
    with pytest.raises(DataError, match=r"column 'x' is 5e\+38 at row 2, beyond the float32 range"):
        read_dataset(path)


@pytest.mark.parametrize(("value", "message"), [("1e39", r"has value '1e39', beyond the float32 range"),
                                                ("nan", r"has value 'nan'; expected a finite number")])
def test_arff_feature_beyond_float32_or_not_finite_names_the_line(tmp_path, value, message):
    path = tmp_path / "t.arff"
    path.write_text(ARFF + f"1,0\n{value},1\n")
    with pytest.raises(DataError, match=rf"t\.arff:6: feature 'x' {message}"):
        read_arff(path, labels=["y"])


def test_arff_with_a_utf8_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "bom.arff"
    path.write_bytes(codecs.BOM_UTF8 + (ARFF + "1.5,1\n2,0\n").encode())
    data = read_arff(path, labels=["y"])
    np.testing.assert_array_equal(data.X, [[1.5], [2.0]])
    np.testing.assert_array_equal(data.Y, [[1], [0]])
