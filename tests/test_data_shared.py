"""Every ARFF data set in ../shared/datasets loads to the N, D, L and cardinality its README states."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from gnn_mlc import concatenate, read_dataset

# folder: (files, N, D, L, cardinality, one-hot attributes and their value counts). D counts source attributes as
# the README does. The feature columns are D, less identifier attributes (genbase: `protein`), plus one column per
# extra value of a one-hot encoded attribute (birds: `location` has 12 values, so 260 - 1 + 12 = 271 columns).
EXPECTED = {
    "emotions": (["emotions-train.arff", "emotions-test.arff"], 593, 72, 6, 1.87, {}),
    "yeast": (["yeast-train.arff", "yeast-test.arff"], 2417, 103, 14, 4.24, {}),
    "scene": (["scene-train.arff", "scene-test.arff"], 2407, 294, 6, 1.07, {}),
    "medical": (["medical-train.arff", "medical-test.arff"], 978, 1449, 45, 1.25, {}),
    "enron": (["enron-train.arff", "enron-test.arff"], 1702, 1001, 53, 3.38, {}),
    "genbase": (["genbase-train.arff", "genbase-test.arff"], 662, 1186, 27, 1.25, {}),
    "birds": (["birds-train.arff", "birds-test.arff"], 645, 260, 19, 1.01, {"location": 12}),
    "bibtex": (["bibtex-train.arff", "bibtex-test.arff"], 7395, 1836, 159, 2.40, {}),
    "mediamill_small": (["mediamill_small.arff"], 2500, 120, 101, 4.35, {}),
    "yeast-meka": (["Yeast.arff.bz2"], 2417, 103, 14, 4.24, {}),
}
SPARSE = {"medical", "enron", "bibtex"}


@pytest.mark.parametrize("folder", sorted(EXPECTED))
def test_shared_arff_dataset_matches_readme(shared_datasets, folder):
    files, rows, attributes, labels, cardinality, one_hot = EXPECTED[folder]
    data = concatenate([read_dataset(shared_datasets / folder / name) for name in files])
    assert data.num_rows == rows
    assert data.num_labels == labels
    for attribute, values in one_hot.items():
        assert sum(name.startswith(f"{attribute}=") for name in data.feature_names) == values
    extra_columns = sum(values - 1 for values in one_hot.values())
    assert data.num_features == attributes - len(data.dropped_attributes) + extra_columns
    assert round(data.cardinality, 2) == cardinality
    assert sp.issparse(data.X) == (folder in SPARSE)
    assert data.X.dtype == np.float32 and data.Y.dtype == np.uint8


def test_shared_bibtex_stays_sparse_end_to_end(shared_datasets):
    data = read_dataset(shared_datasets / "bibtex" / "bibtex-train.arff")
    assert sp.issparse(data.X) and data.X.nnz < 0.05 * data.num_rows * data.num_features


def test_shared_yeast_meka_equals_yeast(shared_datasets):
    mulan = concatenate([read_dataset(shared_datasets / "yeast" / f"yeast-{split}.arff") for split in ("train", "test")])
    meka = read_dataset(shared_datasets / "yeast-meka" / "Yeast.arff.bz2")
    assert meka.label_names == mulan.label_names
    assert meka.feature_names == mulan.feature_names
    # Same rows, possibly in another order: match rows by their exact feature vector.
    mulan_order = np.lexsort(mulan.X.T[::-1])
    meka_order = np.lexsort(meka.X.T[::-1])
    np.testing.assert_array_equal(meka.X[meka_order], mulan.X[mulan_order])
    np.testing.assert_array_equal(meka.Y[meka_order], mulan.Y[mulan_order])


def test_shared_genbase_protein_identifier_is_not_a_feature(shared_datasets):
    data = read_dataset(shared_datasets / "genbase" / "genbase-train.arff")
    assert data.dropped_attributes == ["protein"]
    assert len(set(data.ids)) == data.num_rows
    # YES/NO is mapped by name: YES -> 1, whatever the declared order.
    assert set(np.unique(data.X)) <= {0.0, 1.0}


def test_shared_enron_labels_follow_arff_not_xml_order(shared_datasets):
    from gnn_mlc.data import read_label_xml

    data = read_dataset(shared_datasets / "enron" / "enron-train.arff")
    xml_names = read_label_xml(shared_datasets / "enron" / "enron.xml")
    assert sorted(data.label_names) == sorted(xml_names)
    assert data.label_names != xml_names
