"""Reading, validating and splitting multi-label data (ARFF, CSV, Parquet, NumPy/SciPy arrays)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from gnn_mlc.data.arff import read_arff, read_label_xml
from gnn_mlc.data.categories import CategoricalColumn, CategoryCounts
from gnn_mlc.data.dataset import Dataset, as_feature_matrix, as_label_matrix
from gnn_mlc.data.items import ItemColumn, ItemCounts
from gnn_mlc.data.label_lists import DEFAULT_LABEL_DELIMITER, NameCounts, read_label_lists
from gnn_mlc.data.split import (
    iterative_stratification,
    stratified_split_indices,
    train_test_split_indices,
)
from gnn_mlc.data.svmlight import SVMLIGHT_SUFFIXES, read_svmlight
from gnn_mlc.data.table_options import TableOptions
from gnn_mlc.data.tabular import feature_matrix, read_table, read_tabular_dataset
from gnn_mlc.errors import DataError, GnnMlcError

__all__ = [
    "DEFAULT_LABEL_DELIMITER",
    "CategoricalColumn",
    "CategoryCounts",
    "Dataset",
    "ItemColumn",
    "ItemCounts",
    "NameCounts",
    "TableOptions",
    "as_feature_matrix",
    "as_label_matrix",
    "concatenate",
    "is_table",
    "feature_matrix",
    "iterative_stratification",
    "read_arff",
    "read_dataset",
    "read_label_lists",
    "read_label_xml",
    "read_svmlight",
    "read_table",
    "stratified_split_indices",
    "train_test_split_indices",
]

_ARFF_SUFFIXES = (".arff", ".arff.bz2", ".arff.gz")
_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def read_dataset(
    path: str | Path,
    *,
    labels: str | Path | Sequence[str] | None = None,
    options: TableOptions | None = None,
    training_id_column: str | None = None,
    vocabularies: Sequence[ItemColumn] = (),
    categories: Sequence[CategoricalColumn] = (),
    **table_options: Any,
) -> Dataset:
    """Read a multi-label data set from a file, choosing the format by its suffix.

    Args:
        path: ``.arff`` (also ``.arff.bz2``/``.arff.gz``; Mulan or MEKA), ``.csv`` or ``.parquet``, or the extreme
            classification repository's text format (``.txt``, ``.svm``, ``.svmlight``, ``.libsvm``; see
            :mod:`gnn_mlc.data.svmlight`).
        labels: which labels. ARFF: a Mulan label XML path or a list of attribute names (default: the XML beside
            the file, else MEKA's ``-C n``). CSV/Parquet: the label vocabulary in column order (default: the sorted
            names found).
        options: CSV/Parquet: the column choices (:class:`~gnn_mlc.data.TableOptions`: ``label_column``,
            ``id_column``, ``label_delimiter``, ``feature_columns``, ``exclude_columns``, ``known_column``,
            ``item_columns``, ``item_weighting``, ``max_categories``); ARFF and XC files refuse the column ones.
        training_id_column: CSV/Parquet: the id column a model was trained with (its default when present).
        vocabularies: CSV/Parquet: a model's fitted item columns, applied instead of fitting.
        categories: CSV/Parquet: a model's fitted categorical columns, applied instead of fitting.
        **table_options: the fields of :class:`~gnn_mlc.data.TableOptions` as keywords, when ``options`` is not
            given (``read_dataset(path, label_column="tags")``).

    Returns:
        A :class:`Dataset`; ``X`` and ``Y`` are SciPy CSR when the source is sparse ARFF or a table with item
        columns, dense ndarrays otherwise.

    Raises:
        DataError: unknown format, unreadable or malformed file; the message names the file and line or column.
        GnnMlcError: ``options`` and keyword table options together, or invalid options.
    """
    if options is not None and table_options:
        raise GnnMlcError(f"read_dataset: got options= and {', '.join(sorted(table_options))}=; expected one of them")
    options = options if options is not None else TableOptions(**table_options)
    column_options = (options.feature_columns is not None or options.exclude_columns
                      or options.known_column is not None or options.item_columns)
    name = Path(path).name.lower()
    if name.endswith(SVMLIGHT_SUFFIXES):
        if column_options or labels:
            raise DataError(f"{path}: labels, feature_columns, exclude_columns, known_column and item_columns do not "
                            "apply to the XC/svmlight format; expected none (its lines give the labels and features)")
        return read_svmlight(path)
    if name.endswith(_ARFF_SUFFIXES):
        if column_options:
            raise DataError(f"{path}: feature_columns, exclude_columns, known_column and item_columns name columns "
                            "of a CSV/Parquet table; expected none for ARFF, whose attribute types choose the features")
        return read_arff(path, labels=labels)
    if name.endswith(_TABLE_SUFFIXES):
        if isinstance(labels, (str, Path)):
            raise DataError(f"labels: got the path {labels!r} for a table; expected a list of label names")
        return read_tabular_dataset(path, labels=labels, options=options, training_id_column=training_id_column,
                                    vocabularies=vocabularies, categories=categories)
    raise DataError(f"{path}: unknown data format; expected a file ending in "
                    f"{', '.join(_ARFF_SUFFIXES + _TABLE_SUFFIXES + SVMLIGHT_SUFFIXES)}")


def is_table(path: str | Path) -> bool:
    """Whether ``path`` is a CSV or Parquet table (whose columns the column options name), by its suffix."""
    return Path(path).name.lower().endswith(_TABLE_SUFFIXES)


def concatenate(datasets: Sequence[Dataset]) -> Dataset:
    """Stack datasets with the same label and feature names row-wise (e.g. a train and a test file)."""
    first = datasets[0]
    for other in datasets[1:]:
        if other.label_names != first.label_names or other.feature_names != first.feature_names:
            raise DataError(
                f"{other.source}: its labels or features differ from {first.source}'s; expected the same names"
            )
    stack = sp.vstack if first.is_sparse else np.vstack
    ids = None if any(d.ids is None for d in datasets) else np.concatenate([d.ids for d in datasets])
    return Dataset(
        X=sp.csr_matrix(stack([d.X for d in datasets])) if first.is_sparse else stack([d.X for d in datasets]),
        Y=sp.csr_matrix(stack([d.Y for d in datasets])) if first.is_sparse else stack([d.Y for d in datasets]),
        label_names=first.label_names,
        feature_names=first.feature_names,
        ids=ids,
        dropped_attributes=first.dropped_attributes,
        source=" + ".join(d.source for d in datasets),
        Y_missing=None if all(d.Y_missing is None for d in datasets) else _stack_missing(datasets, first.is_sparse),
        unlisted_labels_are_negative=all(d.unlisted_labels_are_negative for d in datasets),
        item_columns=first.item_columns,
        categorical_columns=first.categorical_columns,
    )


def _stack_missing(datasets: Sequence[Dataset], sparse: bool) -> np.ndarray | sp.csr_matrix:
    parts = [sp.csr_matrix(d.Y.shape, dtype=np.uint8) if d.Y_missing is None else sp.csr_matrix(d.Y_missing)
             for d in datasets]
    stacked = sp.csr_matrix(sp.vstack(parts))
    return stacked if sparse else stacked.toarray()
