"""ARFF reading on tiny hand-built files: layouts, attribute kinds, label selection, and every error message."""

from __future__ import annotations

import bz2
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from gnn_mlc import DataError, read_dataset
from gnn_mlc.data import read_arff

MULAN_DENSE = """% a comment
@relation 'tiny'
@attribute f1 numeric
@attribute 'f two' REAL
@attribute colour {red,green,blue}
@attribute flag {YES,NO}
@attribute name string
@attribute 'lab\\'b' {0,1}
@attribute laba {0,1}
@data
1.5,2,red,YES,'x, y',1,0
-1,0.25,blue,NO,z,0,1
% trailing comment
0,0,green,YES,w,1,1
"""

LABEL_XML = """<?xml version="1.0" encoding="utf-8"?>
<labels xmlns="http://mulan.sourceforge.net/labels">
<label name="laba"></label>
<label name="lab'b"></label>
</labels>
"""

SPARSE = """@relation sparse
@attribute w0 {0,1}
@attribute w1 numeric
@attribute w2 numeric
@attribute y0 {0,1}
@attribute y1 {0,1}
@data
{0 1,2 3.5,4 1}
{}
{1 2,3 1}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_arff_mulan_dense_encodes_each_attribute_kind(tmp_path):
    path = write(tmp_path, "tiny.arff", MULAN_DENSE)
    write(tmp_path, "tiny.xml", LABEL_XML)
    data = read_dataset(path)
    # Labels keep ARFF order even though the XML lists them the other way round.
    assert data.label_names == ["lab'b", "laba"]
    assert data.feature_names == ["f1", "f two", "colour=red", "colour=green", "colour=blue", "flag"]
    assert data.dropped_attributes == ["name"]
    assert data.ids.tolist() == ["x, y", "z", "w"]
    expected_X = np.array([[1.5, 2, 1, 0, 0, 1], [-1, 0.25, 0, 0, 1, 0], [0, 0, 0, 1, 0, 1]], dtype=np.float32)
    np.testing.assert_array_equal(data.X, expected_X)
    np.testing.assert_array_equal(data.Y, [[1, 0], [0, 1], [1, 1]])
    assert data.X.dtype == np.float32 and data.Y.dtype == np.uint8


def test_read_arff_xml_beside_train_file_is_found_without_split_suffix(tmp_path):
    path = write(tmp_path, "tiny-train.arff", MULAN_DENSE)
    write(tmp_path, "tiny.xml", LABEL_XML)
    assert read_arff(path).num_labels == 2


def test_read_arff_labels_by_name_list(tmp_path):
    path = write(tmp_path, "tiny.arff", MULAN_DENSE)
    data = read_arff(path, labels=["laba"])
    assert data.label_names == ["laba"]
    assert "lab'b" in data.feature_names


def test_read_arff_sparse_rows_stay_sparse(tmp_path):
    path = write(tmp_path, "s.arff", SPARSE)
    data = read_arff(path, labels=["y0", "y1"])
    assert sp.issparse(data.X) and sp.issparse(data.Y)
    np.testing.assert_array_equal(data.X.toarray(), [[1, 0, 3.5], [0, 0, 0], [0, 2, 0]])
    np.testing.assert_array_equal(data.Y.toarray(), [[0, 1], [0, 0], [1, 0]])



def test_read_arff_sparse_nominal_declared_one_zero_reads_by_value(tmp_path):
    """ARFF: a sparse row's omitted entry is value 0, the first declared value: '1' for ``{1,0}``."""
    path = write(tmp_path, "s.arff", "@relation 'r: -C -1'\n@attribute x numeric\n@attribute f {1,0}\n"
                                     "@attribute y {1,0}\n@data\n{0 2,1 1,2 1}\n{0 3}\n{0 3,1 0,2 0}\n{2 ?}\n")
    data = read_arff(path)
    np.testing.assert_array_equal(data.X.toarray(), [[2, 1], [3, 1], [3, 0], [0, 1]])
    np.testing.assert_array_equal(data.Y.toarray(), [[1], [1], [0], [0]])
    np.testing.assert_array_equal(data.Y_missing.toarray(), [[0], [0], [0], [1]])

@pytest.mark.parametrize(("count", "labels"), [(2, ["a", "b"]), (-2, ["c", "d"])])
def test_read_arff_meka_label_count_sign(tmp_path, count, labels):
    text = (f"@relation 'M: -C {count} -other x'\n" + "".join(f"@attribute {n} numeric\n" for n in "abcd")
            + "@data\n1,0,1,1\n0,1,0,0\n")
    data = read_arff(write(tmp_path, "m.arff", text))
    assert data.label_names == labels
    assert data.num_features == 2


def test_read_arff_bz2(tmp_path):
    text = "@relation 'M: -C 1'\n@attribute y {0,1}\n@attribute x numeric\n@data\n1,3\n0,4\n"
    path = tmp_path / "m.arff.bz2"
    path.write_bytes(bz2.compress(text.encode()))
    data = read_dataset(path)
    np.testing.assert_array_equal(data.X, [[3], [4]])
    np.testing.assert_array_equal(data.Y, [[1], [0]])


def test_read_arff_nominal_identifier_is_dropped_and_becomes_ids(tmp_path):
    values = ",".join(f"P{i}" for i in range(120))
    rows = "".join(f"P{i},{i % 2},{(i + 1) % 2}\n" for i in range(5))
    text = f"@relation r\n@attribute protein {{{values}}}\n@attribute x numeric\n@attribute y {{0,1}}\n@data\n{rows}"
    data = read_arff(write(tmp_path, "g.arff", text), labels=["y"])
    assert data.feature_names == ["x"]
    assert data.dropped_attributes == ["protein"]
    assert data.ids.tolist() == [f"P{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n", r"without an @data section.*truncated"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n1,0\n2\n", r"t\.arff:6: row has 1 values; expected 2"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\nabc,1\n", r"t\.arff:5: feature 'x' has value 'abc'; expected a number"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n1,2\n",
         r"t\.arff:5: label 'y' has value '2'; expected 0, 1 or \? \(unknown\)"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n?,1\n", r"t\.arff:5: feature 'x' is missing"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n", r"no rows"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n{0 1,1 1\n", r"t\.arff:5: sparse row lacks"),
        ("@relation r\n@attribute x numeric\n@attribute y {0,1}\n@data\n{7 1}\n", r"t\.arff:5: sparse index 7 out of range"),
        ("@relation r\n@attribute x blob\n@data\n", r"t\.arff:2: attribute 'x' has type 'blob'"),
        ("", r"without an @data section"),
    ],
)
def test_read_arff_errors_name_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "t.arff", text)
    with pytest.raises(DataError, match=message):
        read_arff(path, labels=["y"])


def test_read_arff_unknown_label_suggests_close_name(tmp_path):
    path = write(tmp_path, "tiny.arff", MULAN_DENSE)
    with pytest.raises(DataError, match=r"label 'labz' is not an attribute of the file \(did you mean 'laba'\?\)"):
        read_arff(path, labels=["labz"])


def test_read_arff_without_xml_or_meka_header_explains(tmp_path):
    path = write(tmp_path, "tiny.arff", MULAN_DENSE)
    with pytest.raises(DataError, match=r"no label XML beside it \(tried tiny\.xml; no other \.xml file is there\) "
                                        r"and no MEKA '-C n'"):
        read_arff(path)


def test_read_arff_finds_mulan_xml_of_sparse_split_files(tmp_path):
    # Mulan ships Corel5k-train-sparse.arff, Corel5k-test-sparse.arff and one Corel5k.xml.
    write(tmp_path, "Corel5k.xml", LABEL_XML)
    write(tmp_path, "other.xml", "<labels/>")  # not the folder's only XML: the name decides
    for split in ("train", "test"):
        data = read_dataset(write(tmp_path, f"Corel5k-{split}-sparse.arff", MULAN_DENSE))
        assert data.label_names == ["lab'b", "laba"]


def test_read_arff_prefers_the_most_specific_xml_name(tmp_path):
    write(tmp_path, "tiny.xml", LABEL_XML)
    write(tmp_path, "tiny-sparse.xml", LABEL_XML.replace('<label name="laba"></label>', ""))
    assert read_arff(write(tmp_path, "tiny-train-sparse.arff", MULAN_DENSE)).label_names == ["lab'b"]


def test_read_arff_falls_back_to_the_folder_s_only_xml(tmp_path):
    write(tmp_path, "labels.xml", LABEL_XML)
    assert read_arff(write(tmp_path, "data_2024.arff", MULAN_DENSE)).label_names == ["lab'b", "laba"]


def test_read_arff_without_xml_names_every_name_tried(tmp_path):
    write(tmp_path, "a.xml", LABEL_XML)
    write(tmp_path, "b.xml", LABEL_XML)  # two XML files: neither is guessed
    path = write(tmp_path, "Corel5k-train-sparse.arff", MULAN_DENSE)
    tried = r"Corel5k-train-sparse\.xml, Corel5k-train\.xml, Corel5k-sparse\.xml, Corel5k\.xml"
    with pytest.raises(DataError, match=rf"no label XML beside it \(tried {tried}; 2 other \.xml files are there\)"):
        read_arff(path)


def test_read_label_xml_errors(tmp_path):
    path = write(tmp_path, "tiny.arff", MULAN_DENSE)
    broken = write(tmp_path, "broken.xml", "<labels><label name='a'>")
    with pytest.raises(DataError, match=r"broken\.xml: not well-formed XML"):
        read_arff(path, labels=broken)
    with pytest.raises(DataError, match=r"missing\.xml: no such label XML file"):
        read_arff(path, labels=tmp_path / "missing.xml")


def test_read_dataset_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"unknown data format"):
        read_dataset(write(tmp_path, "x.data", "hello"))
    with pytest.raises(DataError, match=r"no such file"):
        read_dataset(tmp_path / "absent.arff")


def test_read_arff_ids_come_from_the_first_unique_dropped_attribute(tmp_path):
    header = ("@relation 'r: -C -1'\n@attribute day date\n@attribute note string\n@attribute code string\n"
              "@attribute x numeric\n@attribute y {0,1}\n@data\n")
    rows = "2024-01-01,a,c1,1,0\n2024-01-01,?,c2,2,1\n2024-01-02,b,c3,3,1\n"
    data = read_arff(write(tmp_path, "ids.arff", header + rows))
    assert data.dropped_attributes == ["day", "note", "code"]
    assert data.ids.tolist() == ["c1", "c2", "c3"]  # day repeats a value, note has an unknown one
    data = read_arff(write(tmp_path, "none.arff", header + rows.replace("c3", "c1")))
    assert data.ids is None  # no attribute identifies the rows: predict numbers them
